#!/usr/bin/env bash
# Start or stop a local Azurite blob service (the official emulator) on 127.0.0.1.
#
#   scripts/azurite.sh start DIR [PORT]   start it, data and log in DIR; prints the endpoint
#   scripts/azurite.sh stop DIR           stop the one started with DIR, by its PID
#
# The port is a free one unless given. DIR/pid, DIR/port and DIR/endpoint tell where it runs;
# with AZURITE_DEBUG=1 every request is logged to DIR/debug.log (benchmarks count them).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

free_port() {
    node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{
        console.log(s.address().port); s.close(); })'
}

start() {
    local dir=$1 port=${2:-$(free_port)}
    mkdir -p "$dir/data"
    local args=(--blobHost 127.0.0.1 --blobPort "$port" --location "$dir/data" --loose
                --skipApiVersionCheck --disableProductStyleUrl)
    [ "${AZURITE_DEBUG:-0}" = 1 ] && args+=(--debug "$dir/debug.log") || args+=(--silent)
    "$root/node_modules/.bin/azurite-blob" "${args[@]}" >"$dir/azurite.log" 2>&1 &
    local pid=$!
    echo "$pid" >"$dir/pid"
    echo "$port" >"$dir/port"
    local endpoint="http://127.0.0.1:$port/devstoreaccount1"
    # Ready when it answers HTTP at all (403 without credentials is an answer).
    local deadline=$((SECONDS + 30))
    until curl -s -o /dev/null --max-time 1 "$endpoint?comp=list"; do
        if ! kill -0 "$pid" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
            echo "azurite: did not start on port $port:" >&2
            cat "$dir/azurite.log" >&2
            stop "$dir"
            return 1
        fi
        sleep 0.05
    done
    echo "$endpoint" >"$dir/endpoint"
    echo "$endpoint"
}

stop() {
    local dir=$1 pid
    pid=$(cat "$dir/pid" 2>/dev/null) || return 0
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$dir/pid"
}

case "${1:-}" in
start) start "$2" "${3:-}" ;;
stop) stop "$2" ;;
*) echo "usage: $0 start DIR [PORT] | stop DIR" >&2; exit 2 ;;
esac
