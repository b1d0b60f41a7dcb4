#!/usr/bin/env bash
# Soak blobhttpd over a real blobfs mount on Azurite for MINUTES, with origin faults.
#
#   scripts/soak.sh MINUTES          (release build, bin/; BLOBKIT_BIN=build/san/bin for ASan)
#   SOAK_WORKERS=8 SOAK_SLOW=4 SOAK_COLD=4000
#
# The load (scripts/soak-load.mjs): originals, Range, 304, cache hits, misses, bad chains,
# signed and unsigned URLs, files read for the first time, and slow clients, every answer
# checked; each minute, 500s from the origin for 15 s and the cold files' reads stalled for
# 12 s (tests/blobfs_proxy.mjs between blobfs and Azurite). Every 10 s it prints the RSS,
# open descriptors and threads of blobhttpd and blobfs. It fails when an answer was wrong or
# hung, or when one of those figures trends upward after the first fill: the samples after
# the first third of the run are split in three, and the median of the last third may exceed
# the first third's by at most 10 % plus 16 MiB (RSS), 8 descriptors or 4 threads.
set -eu
minutes=${1:?usage: scripts/soak.sh MINUTES}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export BLOBKIT_BIN=${BLOBKIT_BIN:-$ROOT/bin}
make -C "$ROOT" -s all >/dev/null
. "$ROOT/tests/lib.sh"
. "$ROOT/tests/httpd_lib.sh"
workers=${SOAK_WORKERS:-8} slow=${SOAK_SLOW:-4} cold=${SOAK_COLD:-4000}

echo "# setting up: Azurite, $cold cold files, blobfs through the fault proxy, blobhttpd"
azurite_start
make_images "$T/src"
mkdir -p "$T/src/cold"
for ((i = 0; i < cold; i++)); do printf 'cold %d\n' "$i" >"$T/src/cold/$i.txt"; done
az container media >/dev/null
az upload media "$T/src" >/dev/null
node "$ROOT/tests/blobfs_proxy.mjs" "$(cat "$AZ_DIR/port")" >"$T/proxy.port" &
at_exit "kill $!"
wait_until 10 test -s "$T/proxy.port"
proxy=http://127.0.0.1:$(cat "$T/proxy.port")
MNT=$T/mnt
AZ_ENDPOINT=$proxy/devstoreaccount1 blobfs_mount media "$MNT" --connect-timeout 2 \
    --stall-timeout 4 --retry-timeout 6 --attr-timeout 5
printf 'soak-signing-key\n' >"$T/key"
httpd_start --public-endpoint "/demo=$MNT" --endpoint "/signed=$MNT" --sign-key-file "$T/key" \
    --cache-mb 64 --access-log "$T/access.log"

# ---- every 10 s: RSS (KiB), descriptors and threads of both processes
sample() { # PID -> "RSS FDS THREADS"
    local rss thr
    rss=$(awk '/^VmRSS/ {print $2}' "/proc/$1/status")
    thr=$(awk '/^Threads/ {print $2}' "/proc/$1/status")
    echo "$rss $(find "/proc/$1/fd" -mindepth 1 -maxdepth 1 | wc -l) $thr"
}
monitor() {
    local t=0
    printf '%6s  %-28s %-28s\n' time "blobhttpd rss/fds/threads" "blobfs rss/fds/threads"
    while kill -0 "$HTTPD_PID" 2>/dev/null; do
        local h f
        h=$(sample "$HTTPD_PID") f=$(sample "$BLOBFS_PID")
        echo "$t $h $f" >>"$T/samples"
        printf '%5ss  %-28s %-28s\n' "$t" "$(awk '{printf "%d MiB / %d / %d", $1/1024, $2, $3}' <<<"$h")" \
            "$(awk '{printf "%d MiB / %d / %d", $1/1024, $2, $3}' <<<"$f")"
        sleep 10 # the sampling period itself, not a readiness wait
        t=$((t + 10))
    done
}
monitor &
monitor_pid=$!
at_exit "kill $monitor_pid"

echo "# load: $minutes min, $workers workers, $slow slow clients"
rc=0
SOAK_SRC=$T/src node "$ROOT/scripts/soak-load.mjs" "$HTTPD_URL" "$proxy" "$T/key" \
    $((minutes * 60)) "$workers" "$slow" "$cold" >"$T/load.json" || rc=$?
kill "$monitor_pid" 2>/dev/null || true
node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
let n = 0;
for (const [k, v] of Object.entries(r.stats)) {
    console.log(`  ${k.padEnd(10)} ${Object.entries(v).map(([a, b]) => `${a} ${b}`).join(", ")}`);
    n += Object.values(v).reduce((a, b) => a + b, 0);
}
console.log(`  ${n} requests in ${r.seconds.toFixed(0)} s; wrong: ${r.wrong.length}`);
for (const w of r.wrong.slice(0, 20)) console.log(`  wrong: ${w}`);' "$T/load.json"
ok "every answer right, none hung" test "$rc" = 0

# ---- trend after the first fill
trend() { # COLUMN NAME SLACK_ABS
    awk -v col="$1" -v name="$2" -v slack="$3" '
        { v[NR] = $col }
        function median(a, b,   i, n, s, t) {
            n = 0; for (i = a; i <= b; i++) s[++n] = v[i]
            for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (s[j] < s[i]) { t = s[i]; s[i] = s[j]; s[j] = t }
            return n % 2 ? s[(n + 1) / 2] : (s[n / 2] + s[n / 2 + 1]) / 2
        }
        END {
            start = int(NR / 3) + 1; k = int((NR - start + 1) / 3)
            if (k < 1) { printf "%s: too few samples (%d)\n", name, NR; exit 0 }
            first = median(start, start + k - 1); last = median(NR - k + 1, NR)
            printf "%s: median %g then %g\n", name, first, last
            exit !(last <= first * 1.10 + slack)
        }' "$T/samples"
}
for spec in "2 blobhttpd-RSS-KiB 16384" "3 blobhttpd-descriptors 8" "4 blobhttpd-threads 4" \
    "5 blobfs-RSS-KiB 16384" "6 blobfs-descriptors 8" "7 blobfs-threads 4"; do
    read -r col name slack <<<"$spec"
    rc=0
    said=$(trend "$col" "$name" "$slack") || rc=$?
    ok "no upward trend: $said" test "$rc" = 0
done
cp "$T/samples" "${SOAK_SAMPLES:-/dev/null}" 2>/dev/null || true
ok "blobhttpd exits 0 on SIGTERM" httpd_stop
