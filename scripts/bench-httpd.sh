#!/usr/bin/env bash
# blobhttpd against its peers, side by side in one run, with wrk on loopback.
#
#   scripts/setup.sh bench && scripts/bench-httpd.sh
#   BENCH_SECONDS=10 (per measurement)  BENCH_SOAK=60 (memory soak)  BENCH_ROUNDS=2
#
# 1. Cache miss: tr:w-300 and tr:w-300,h-300 on a 4000x3000 and a 1920x1080 photo-like JPEG,
#    blobhttpd with --cache-mb 0 so every request transforms, against
#    (a) the faster bare libvips loop of scripts/bench-transform.sh (bench_transform shrink or
#        thumbnail, 2 threads, the same JPEG in memory): target >= 0.9x;
#    (b) a minimal Node server on sharp (tests/node/sharp-server.mjs, same resize, JPEG q80,
#        sharp's cache off): target >= 1.0x on 4000x3000.
#    Peak RSS of blobhttpd and of the sharp server over these runs: target <= 0.5x.
# 2. Cache hit (a derived image from blobhttpd's cache) and original files (?tr=orig-true)
#    against nginx serving the same bytes from disk (sendfile): target >= 0.8x.
# 3. Memory soak: BENCH_SOAK seconds of mixed cache-miss transforms (large and small outputs,
#    JPEG/WebP/PNG), RSS sampled every 5 s.
# Every figure is the best of BENCH_ROUNDS runs (interference on a shared machine only ever
# slows a run down); p50/p99 come from that run. wrk and the servers share the cores.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
seconds=${BENCH_SECONDS:-10}
soak=${BENCH_SOAK:-60}
rounds=${BENCH_ROUNDS:-2}
dir=$root/tmp/bench-httpd
mkdir -p "$dir/media" "$dir/nginx"
for c in wrk nginx node vips; do
    command -v "$c" >/dev/null || { echo "bench: $c is missing: scripts/setup.sh bench" >&2; exit 1; }
done
make -s all >/dev/null
bare=$root/build/rel/bench/bench_transform
[ -x "$bare" ] || { echo "bench: $bare missing (transform/module.mk)" >&2; exit 1; }

# ---- processes, killed by PID on exit --------------------------------------------------------
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{
        console.log(s.address().port); s.close(); })'
}

wait_http() { # URL
    for _ in $(seq 200); do curl -s -o /dev/null "$1" && return 0; sleep 0.05; done
    echo "bench: $1 does not answer" >&2
    return 1
}

# ---- media -----------------------------------------------------------------------------------
[ -s "$dir/media/large.jpg" ] || scripts/sample-media.sh photo "$dir/media/large.jpg" 4000 3000 8
[ -s "$dir/media/medium.jpg" ] || scripts/sample-media.sh photo "$dir/media/medium.jpg" 1920 1080 2

# ---- servers ---------------------------------------------------------------------------------
start_blobhttpd() { # NAME ARGS...: sets HPORT, HPID
    local name=$1; shift
    HPORT=$(free_port)
    bin/blobhttpd --listen "127.0.0.1:$HPORT" --endpoint "/b=$dir/media" \
        --log "$dir/$name.log" "$@" &
    HPID=$!
    pids+=("$HPID")
    wait_http "http://127.0.0.1:$HPORT/healthz"
}

stop() { # PID
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

peak_mb() { # PID
    awk '/^VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"
}

rss_mb() { # PID
    awk '/^VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"
}

# CPU time of a process so far, in ms (utime + stime of /proc/PID/stat).
cpu_ms() {
    awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); printf "%.0f", ($12 + $13) * 1000 / hz }' \
        "/proc/$1/stat"
}

# wrk_best URL CONNS PID: "<req/s> <p50 ms> <p99 ms> <CPU ms/request of PID>" of the best of
# the rounds.
wrk_best() {
    local url=$1 conns=$2 pid=$3 best="0 0 0 0" r out rps p50 p99 n c0 c1
    for ((r = 0; r < rounds; r++)); do
        c0=$(cpu_ms "$pid")
        out=$(wrk -t2 -c"$conns" -d"${seconds}s" --latency "$url")
        c1=$(cpu_ms "$pid")
        rps=$(awk '/^Requests\/sec/ { print $2 }' <<<"$out")
        n=$(awk '/requests in/ { print $1 }' <<<"$out")
        p50=$(awk '$1 == "50%" { print $2 }' <<<"$out")
        p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
        if awk -v a="$rps" -v b="${best%% *}" 'BEGIN { exit !(a > b) }'; then
            best="$rps $(ms "$p50") $(ms "$p99") $(awk -v c=$((c1 - c0)) -v n="$n" \
                'BEGIN { printf "%.1f", (n > 0) ? c / n : 0 }')"
        fi
        if grep -q 'Non-2xx' <<<"$out"; then
            echo "bench: $url: $(grep 'Non-2xx' <<<"$out")" >&2
        fi
    done
    echo "$best"
}

# wrk prints latencies as 1.23ms, 456.00us or 1.02s: in ms.
ms() {
    awk -v v="$1" 'BEGIN {
        if (v ~ /us$/) printf "%.1f", v / 1000; else if (v ~ /ms$/) printf "%.1f", v + 0;
        else if (v ~ /s$/) printf "%.0f", v * 1000; else print "-" }'
}

bare_best() { # FILE W H: "<images/s> <CPU ms/image>" of the faster bare loop, best round
    local best=0 cpu=0 r mode ips ms
    for ((r = 0; r < rounds; r++)); do
        for mode in shrink thumbnail; do
            read -r ips _ ms < <("$bare" "$mode" "$1" "$2" "$3" 2 "$seconds")
            if awk -v a="$ips" -v b="$best" 'BEGIN { exit !(a > b) }'; then
                best=$ips cpu=$ms
            fi
        done
    done
    echo "$best $cpu"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }'; }

# ---- 1. cache miss ---------------------------------------------------------------------------
echo "1. cache miss: every request transforms (blobhttpd --cache-mb 0; sharp cache off)"
start_blobhttpd miss --cache-mb 0
hpid=$HPID hport=$HPORT
sport=$(free_port)
node tests/node/sharp-server.mjs "$sport" "$dir/media" >"$dir/sharp.log" 2>&1 &
spid=$!
pids+=("$spid")
wait_http "http://127.0.0.1:$sport/1/0/medium.jpg"
printf '%-10s %-12s | %9s %6s %6s %6s | %9s %6s %5s | %9s %6s %6s %6s %5s\n' image \
    transform blobhttpd p50ms p99ms cpu_ms "bare vips" cpu_ms ratio sharp p50ms p99ms cpu_ms ratio
for img in large medium; do
    file=$dir/media/$img.jpg
    size=$(vipsheader -f width "$file")x$(vipsheader -f height "$file")
    for tr in "300 0" "300 300"; do
        read -r w h <<<"$tr"
        chain="w-$w"; [ "$h" = 0 ] || chain="$chain,h-$h"
        read -r ours o50 o99 ocpu < <(wrk_best "http://127.0.0.1:$hport/b/tr:$chain/$img.jpg" 8 \
            "$hpid")
        read -r theirs s50 s99 scpu < <(wrk_best "http://127.0.0.1:$sport/$w/$h/$img.jpg" 8 \
            "$spid")
        read -r vips vcpu < <(bare_best "$file" "$w" "$h")
        printf '%-10s %-12s | %9s %6s %6s %6s | %9s %6s %5s | %9s %6s %6s %6s %5s\n' "$size" \
            "$chain" "$ours" "$o50" "$o99" "$ocpu" "$vips" "$vcpu" "$(ratio "$ours" "$vips")" \
            "$theirs" "$s50" "$s99" "$scpu" "$(ratio "$ours" "$theirs")"
    done
done
ours_peak=$(peak_mb "$hpid")
sharp_peak=$(peak_mb "$spid")
echo "peak RSS: blobhttpd $ours_peak MB, sharp server $sharp_peak MB, ratio" \
    "$(ratio "$ours_peak" "$sharp_peak") (target <= 0.5)"
echo "targets: ratio to bare libvips >= 0.9; to sharp >= 1.0 on 4000x3000. cpu_ms: CPU time"
echo "per image (servers: whole process, HTTP included; bare: the loop's own figure)"
stop "$spid"
stop "$hpid"

# ---- 2. cache hit and originals vs nginx -----------------------------------------------------
echo
echo "2. cache hit and original files, against nginx serving the same bytes from disk"
start_blobhttpd hit
hpid=$HPID hport=$HPORT
mkdir -p "$dir/media/derived"
curl -s -o "$dir/media/derived/large-w300.jpg" "http://127.0.0.1:$hport/b/tr:w-300/large.jpg"
curl -s -o "$dir/media/derived/medium-w300.jpg" "http://127.0.0.1:$hport/b/tr:w-300/medium.jpg"
nport=$(free_port)
cat >"$dir/nginx/nginx.conf" <<EOF
user root;
worker_processes auto;
daemon off;
pid $dir/nginx/nginx.pid;
error_log $dir/nginx/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    default_type image/jpeg;
    etag on;
    server { listen 127.0.0.1:$nport; root $dir/media; }
}
EOF
nginx -c "$dir/nginx/nginx.conf" -p "$dir/nginx" &
npid=$!
pids+=("$npid")
wait_http "http://127.0.0.1:$nport/medium.jpg"
printf '%-28s %9s | %9s %6s %6s | %9s %6s %6s | %5s\n' case bytes blobhttpd p50ms p99ms \
    nginx p50ms p99ms ratio
row() { # NAME OUR_PATH NGINX_PATH
    local bytes ours o50 o99 theirs n50 n99
    bytes=$(curl -s "http://127.0.0.1:$hport$2" | wc -c)
    cmp -s <(curl -s "http://127.0.0.1:$hport$2") <(curl -s "http://127.0.0.1:$nport$3") ||
        echo "bench: $1: blobhttpd and nginx bytes differ" >&2
    read -r ours o50 o99 _ < <(wrk_best "http://127.0.0.1:$hport$2" 64 "$hpid")
    read -r theirs n50 n99 _ < <(wrk_best "http://127.0.0.1:$nport$3" 64 "$npid")
    printf '%-28s %9s | %9s %6s %6s | %9s %6s %6s | %5s\n' "$1" "$bytes" "$ours" "$o50" "$o99" \
        "$theirs" "$n50" "$n99" "$(ratio "$ours" "$theirs")"
}
row "cache hit tr:w-300 (4000x3000)" /b/tr:w-300/large.jpg /derived/large-w300.jpg
row "cache hit tr:w-300 (1920x1080)" /b/tr:w-300/medium.jpg /derived/medium-w300.jpg
row "original 1920x1080 JPEG" "/b/medium.jpg?tr=orig-true" /medium.jpg
row "original 4000x3000 JPEG" "/b/large.jpg?tr=orig-true" /large.jpg
echo "target: ratio >= 0.8"
stop "$npid"
stop "$hpid"

# ---- 3. memory soak --------------------------------------------------------------------------
echo
echo "3. memory: ${soak}s of mixed cache-miss transforms, RSS every 5 s (glibc, 2 arenas)"
cat >"$dir/mix.lua" <<'EOF'
local paths = {
  "/b/tr:w-300/large.jpg", "/b/tr:w-300,h-300/medium.jpg", "/b/tr:w-800,f-webp/medium.jpg",
  "/b/tr:w-300,h-300/large.jpg", "/b/tr:w-1200,q-70/medium.jpg", "/b/tr:h-500,f-png/medium.jpg",
  "/b/tr:w-2000/large.jpg", "/b/medium.jpg",
}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1], {["Accept"] = "image/webp"})
end
EOF
start_blobhttpd soak --cache-mb 0
samples=()
wrk -t2 -c16 -d"${soak}s" -s "$dir/mix.lua" "http://127.0.0.1:$HPORT" >"$dir/soak.wrk" &
wpid=$!
pids+=("$wpid")
for ((t = 5; t <= soak; t += 5)); do
    sleep 5
    samples+=("$(rss_mb "$HPID")")
done
wait "$wpid" || true
echo "RSS MB every 5 s: ${samples[*]}"
echo "first $(echo "${samples[0]}") MB, last ${samples[-1]} MB, peak $(peak_mb "$HPID") MB;" \
    "$(awk '/^Requests\/sec/ { print $2 }' "$dir/soak.wrk") req/s"
stop "$HPID"
