#!/usr/bin/env bash
# The cache tier measured: Varnish 7.1 (deploy/varnish/blobkit.vcl, as scripts/cluster.sh
# runs it) against nginx 1.22 (hash ... consistent, proxy_cache, proxy_cache_lock; the
# configuration below) in front of the same N blobhttpd nodes (release build), in one run,
# with the ratio of each figure:
#
#   1. hits: one cached derived image (w-300 of a 2400x1600 JPEG), wrk -c64: req/s, p99, and
#      the front's own CPU per request (its processes' ticks), steadier on a shared box;
#   2. misses: every request a chain never asked before (w-N,h-M of the same JPEG), wrk -c8,
#      so each is a transform on a node: req/s, p99, the front's CPU per request;
#   3. single flight: 50 identical concurrent misses, BENCH_ROUNDS times: how many reached
#      the nodes (their access logs), and the slowest client's time;
#   4. small misses: 3,000 requests over 300 small files, each a new URL (16 at a time): req/s;
#   5. failover: the same load, one node's blobhttpd killed with SIGKILL after 500 requests:
#      client errors, and how long the load took.
#
#   scripts/setup.sh bench && make && scripts/bench-cluster.sh   # about 3 minutes
#   BENCH_NODES=3 BENCH_SECONDS=5 BENCH_ROUNDS=2
#
# Rounds alternate between the two fronts; each req/s is the best round, with its p99.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
nodes=${BENCH_NODES:-3}
secs=${BENCH_SECONDS:-5}
rounds=${BENCH_ROUNDS:-2}
export BLOBKIT_BIN=${BLOBKIT_BIN:-$root/bin}
for c in wrk nginx varnishd node curl; do
    command -v "$c" >/dev/null ||
        { echo "bench-cluster: $c missing: scripts/setup.sh bench" >&2; exit 1; }
done
work=$(mktemp -d "${TMPDIR:-/tmp}/blobkit-bench-cluster.XXXXXX")
C=$work/cluster
N=$work/nginx
ngx_pid=''
cleanup() {
    set +e
    [ -n "$ngx_pid" ] && kill -TERM "$ngx_pid" 2>/dev/null && wait "$ngx_pid" 2>/dev/null
    "$root/scripts/cluster.sh" down --dir "$C" >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{
        console.log(s.address().port); s.close(); })'
}

echo "bench-cluster: $nodes nodes (release build), Varnish and nginx in front" >&2
"$root/scripts/cluster.sh" up --nodes "$nodes" --dir "$C" --port 0 --front-ttl 3600 >"$work/up.out"
V=$(sed -n 's/^FRONT=//p' "$work/up.out")

# nginx as the issue describes it: the same routing key and Accept classes as the VCL, signed
# URLs not cached (nginx cannot cap a TTL by ik-t), X-Cache-Status and X-Upstream.
nginx_conf() {
    local port=$1 k addr p rest
    cat <<EOF
worker_processes 2;
pid $N/nginx.pid;
error_log $N/error.log warn;
events { worker_connections 2048; }
http {
    access_log off;
    proxy_temp_path $N/tmp;
    proxy_cache_path $N/cache levels=1:2 keys_zone=blobkit:32m max_size=1g inactive=7d
                     use_temp_path=off;
    map \$request_uri \$blobkit_path { "~^(?<p>[^?#]*)" \$p; }
    map \$blobkit_path \$blobkit_src {
        "~^(?<a>.*?)/tr:[^/]*(?<b>/.*)?\$" \$a\$b;
        default \$blobkit_path;
    }
    map \$http_accept \$blobkit_accept {
        "~*(^|,)[ \\t]*image/webp(?![^,]*;[ \\t]*q=0*\\.?0*([ \\t;,]|\$))([ \\t;,]|\$)"
            "image/webp";
        default "";
    }
    upstream blobkit_nodes {
        hash \$host\$blobkit_src consistent;
EOF
    while IFS=$'\t' read -r k addr p rest; do
        echo "        server $addr:$p max_fails=1 fail_timeout=5s;"
    done <"$C/nodes.tsv"
    cat <<EOF
        keepalive 64;
    }
    server {
        listen 127.0.0.1:$port;
        location / {
            proxy_pass http://blobkit_nodes;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$host;
            proxy_set_header Accept \$blobkit_accept;
            proxy_cache blobkit;
            proxy_cache_key
                "\$host\$request_uri|\$blobkit_accept|\$http_sec_ch_dpr|\$http_sec_ch_width";
            proxy_cache_lock on;
            proxy_cache_lock_timeout 30s;
            proxy_cache_lock_age 30s;
            proxy_cache_revalidate on;
            proxy_no_cache \$arg_ik_s;
            proxy_cache_bypass \$arg_ik_s;
            proxy_next_upstream error timeout;
            proxy_next_upstream_tries 2;
            add_header X-Cache-Status \$upstream_cache_status always;
            add_header X-Upstream \$upstream_addr always;
        }
    }
}
EOF
}
mkdir -p "$N/tmp" "$N/cache"
chmod 755 "$work" "$N"
ngx_port=$(free_port)
nginx_conf "$ngx_port" >"$N/nginx.conf"
setsid nginx -p "$N" -c "$N/nginx.conf" -g 'daemon off;' </dev/null >"$N/out" 2>&1 &
ngx_pid=$!
X=http://127.0.0.1:$ngx_port
for _ in $(seq 100); do curl -s -o /dev/null "$X/healthz" && break; sleep 0.1; done
nginx_reload() {
    nginx_conf "$ngx_port" >"$N/nginx.conf"
    nginx -p "$N" -c "$N/nginx.conf" -s reload
    sleep 1 # nginx gives no signal when new workers took over; this is a benchmark, not a test
}

# ---- wrk ----------------------------------------------------------------------------------
cat >"$work/miss.lua" <<'EOF'
-- Every request a chain never asked before: w-(100..599), h-(100..) from a counter and the
-- run's offset (each run its own 20,000 chains), all within the source's 2400x1600.
local ids = 0
function setup(thread) ids = ids + 1; thread:set("id", ids) end
function init(args) n = 0; offset = tonumber(args[1]) end
function request()
    n = n + 1
    local k = offset + n * 4 + id
    return wrk.format("GET", string.format("/demo/tr:w-%d,h-%d/photos/landscape.jpg",
        100 + k % 500, 100 + math.floor(k / 500)))
end
EOF
# cpu_ticks PID: CPU ticks (user + system) of PID and its children: the front's own CPU,
# the steadier figure when other work shares the cores.
cpu_ticks() {
    local p t=0
    for p in $1 $(pgrep -P "$1"); do
        t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)))
    done
    echo "$t"
}
# wrk_run PID URL CONNS [LUA_SCRIPT OFFSET]: prints "req/s p99_ms cpu_us_per_request" (PID:
# the front's master process); any answer but 2xx/3xx or any socket error ends the benchmark,
# since its figures would measure errors.
wrk_run() {
    local pid=$1 url=$2 c=$3 out t0 t1
    t0=$(cpu_ticks "$pid")
    if [ $# -gt 3 ]; then
        out=$(wrk -t2 -c"$c" -d"${secs}s" --timeout 30s --latency -s "$4" "$url" -- "$5")
    else
        out=$(wrk -t2 -c"$c" -d"${secs}s" --timeout 30s --latency "$url")
    fi
    t1=$(cpu_ticks "$pid")
    if echo "$out" | grep -qE 'Non-2xx|Socket errors'; then
        echo "bench-cluster: errors in a run on $url:" >&2; echo "$out" >&2; exit 1
    fi
    echo "$out" | awk -v ticks=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" '
        /Requests\/sec/ { rps = $2 }
        / requests in / { n = $1 }
        $1 == "99%" { v = $2; if (v ~ /us$/) p = v / 1000; else if (v ~ /ms$/) p = v + 0;
                      else if (v ~ /s$/) p = v * 1000; }
        END { printf "%.0f %.1f %.0f\n", rps, p, n ? ticks * 1e6 / hz / n : 0 }'
}
best() { sort -k1,1nr "$1" | head -n 1; }

vpid=$(cat "$C/front.pid")
hit=/demo/tr:w-300/photos/landscape.jpg
for f in "$V" "$X"; do curl -s -o /dev/null "$f$hit"; curl -s -o /dev/null "$f$hit"; done
: >"$work/hit.v"; : >"$work/hit.x"; : >"$work/miss.v"; : >"$work/miss.x"
for r in $(seq "$rounds"); do
    echo "bench-cluster: round $r of $rounds (hits, misses)" >&2
    wrk_run "$vpid" "$V$hit" 64 >>"$work/hit.v"
    wrk_run "$ngx_pid" "$X$hit" 64 >>"$work/hit.x"
    wrk_run "$vpid" "$V" 8 "$work/miss.lua" $((r * 40000)) >>"$work/miss.v"
    wrk_run "$ngx_pid" "$X" 8 "$work/miss.lua" $((r * 40000 + 20000)) >>"$work/miss.x"
done

# ---- single flight ------------------------------------------------------------------------
node_hits() { cat "$C"/node*/access.log | grep -cF "\"GET $1 HTTP" || true; }
flight() { # FRONT PATH: "requests_at_nodes slowest_ms"
    local i
    for i in $(seq 50); do echo "url = \"$1$2\""; echo "output = /dev/null"; done >"$work/50.cfg"
    curl -s -Z --parallel-max 50 -K "$work/50.cfg" -w '%{time_total}\n' 2>/dev/null >"$work/50.out"
    echo "$(node_hits "$2") $(sort -n "$work/50.out" | tail -n 1 |
        awk '{ printf "%.0f", $1 * 1000 }')"
}
: >"$work/flight.v"; : >"$work/flight.x"
for r in $(seq "$rounds"); do
    flight "$V" "/demo/tr:w-$((700 + r)),h-333/photos/landscape.jpg" >>"$work/flight.v"
    flight "$X" "/demo/tr:w-$((800 + r)),h-333/photos/landscape.jpg" >>"$work/flight.x"
done

# ---- failover -----------------------------------------------------------------------------
# 300 small files, so the load spreads over the nodes by source as real traffic does.
mkdir -p "$work/many"
for i in $(seq -w 1 300); do echo "file $i" >"$work/many/f$i.txt"; done
node "$root/tests/node/azure.mjs" "$(cat "$C/azurite/endpoint")" upload media "$work/many" many/ \
    >/dev/null
for i in $(seq -w 1 300); do echo "/demo/many/f$i.txt"; done >"$work/src.urls"
failover() { # FRONT TAG: "errors ms"
    local victim t0 lp
    victim=$(awk -F'\t' 'NR == 2 { print $4 }' "$C/nodes.tsv")
    t0=$(date +%s%N)
    node "$root/tests/cluster/load.mjs" "$1" "$work/src.urls" --repeat 10 --concurrency 16 \
        --bust "$2" --progress "$work/progress" >"$work/load.$2" &
    lp=$!
    until [ "$(cat "$work/progress" 2>/dev/null || true)" -ge 500 ] 2>/dev/null; do sleep 0.02; done
    kill -KILL "$victim"
    wait "$lp"
    rm -f "$work/progress"
    echo "$(awk '$2 != 200' "$work/load.$2" | wc -l) $((($(date +%s%N) - t0) / 1000000))"
}
# replace_killed: the killed node out, a fresh one in, both fronts told.
replace_killed() {
    local k
    k=$(awk -F'\t' 'NR == 2 { print $1 }' "$C/nodes.tsv")
    "$root/scripts/cluster.sh" remove-node --dir "$C" --index "$k" >/dev/null
    "$root/scripts/cluster.sh" add-node --dir "$C" >/dev/null
    nginx_reload
}
# Small misses: the same load without a kill, the front's cost on a miss of a small file.
small() { # FRONT TAG: req/s
    local t0 t1
    t0=$(date +%s%N)
    node "$root/tests/cluster/load.mjs" "$1" "$work/src.urls" --repeat 10 --concurrency 16 \
        --bust "$2" >"$work/small.$2"
    t1=$(date +%s%N)
    awk -v ns=$((t1 - t0)) '$2 == 200 { n++ } END { printf "%.0f", n * 1e9 / ns }' "$work/small.$2"
}
echo "bench-cluster: small misses, failover" >&2
: >"$work/small.v.all"; : >"$work/small.x.all"
for r in $(seq "$rounds"); do
    small "$V" "sv$r" >>"$work/small.v.all"; echo >>"$work/small.v.all"
    small "$X" "sx$r" >>"$work/small.x.all"; echo >>"$work/small.x.all"
done
fo_v=$(failover "$V" v)
replace_killed
fo_x=$(failover "$X" x)

# ---- report -------------------------------------------------------------------------------
read -r hv hvp hvc <<<"$(best "$work/hit.v")"
read -r hx hxp hxc <<<"$(best "$work/hit.x")"
read -r mv mvp mvc <<<"$(best "$work/miss.v")"
read -r mx mxp mxc <<<"$(best "$work/miss.x")"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
row() { printf '%-44s %-22s %-22s %s\n' "$@"; }
echo
echo "$nodes nodes, $(date +%F), wrk -t2 ${secs}s rounds, best of $rounds; front CPU in us/request"
row "" Varnish nginx "Varnish/nginx"
row "hit, req/s (p99 ms), 64 conns" "$hv ($hvp)" "$hx ($hxp)" "$(ratio "$hv" "$hx")"
row "hit, front CPU us/request" "$hvc" "$hxc" "$(ratio "$hvc" "$hxc")"
row "miss, req/s (p99 ms), 8 conns" "$mv ($mvp)" "$mx ($mxp)" "$(ratio "$mv" "$mx")"
row "miss, front CPU us/request" "$mvc" "$mxc" "$(ratio "$mvc" "$mxc")"
sv=$(sort -n "$work/small.v.all" | tail -n 1)
sx=$(sort -n "$work/small.x.all" | tail -n 1)
row "small-file misses, req/s, 16 conns" "$sv" "$sx" "$(ratio "$sv" "$sx")"
row "50 identical misses: at nodes, slowest ms" \
    "$(paste -sd' ' "$work/flight.v" | sed 's/ \([0-9]*\) / \1, /g')" \
    "$(paste -sd' ' "$work/flight.x" | sed 's/ \([0-9]*\) / \1, /g')"
row "SIGKILL under load: errors of 3000, ms" "$fo_v" "$fo_x"
