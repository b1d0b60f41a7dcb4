#!/usr/bin/env bash
# A stalled origin never freezes blobhttpd. A real blobfs mount reads Azurite through a proxy
# that holds the requests of one blob without answering. With a single I/O thread, requests
# for that blob wait on origin threads while /healthz, a cache hit and another endpoint answer
# at once; a full share of origin threads answers 503 with Retry-After; once the origin
# answers again the waiting requests get the whole file. Then: an original whose read fails
# is a complete 502, never a truncated 200; and SIGTERM with a request stuck on the mount
# exits within --shutdown-timeout.
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/httpd_lib.sh"

azurite_start
seed_media media "$T/src"
node "$ROOT/tests/blobfs_proxy.mjs" "$(cat "$AZ_DIR/port")" >"$T/proxy.port" &
at_exit "kill $!"
wait_until 10 test -s "$T/proxy.port"
proxy=http://127.0.0.1:$(cat "$T/proxy.port")
held() { curl -s "$proxy/__count" | sed 's/.*"held":\([0-9]*\).*/\1/'; }
MNT=$T/mnt
AZ_ENDPOINT=$proxy/devstoreaccount1 blobfs_mount media "$MNT" --stall-timeout 60 \
    --retry-timeout 90
ls -lR "$MNT" >/dev/null # every attribute cached: only reads reach the proxy now
mkdir -p "$T/local"
echo "local file" >"$T/local/x.txt"
httpd_start --io-threads 1 --origin-threads 4 --shutdown-timeout 2 --recheck 600 \
    --endpoint "/demo=$MNT" --endpoint "/local=$T/local"
U=$HTTPD_URL/demo
gauge() { curl -s --max-time 5 "$HTTPD_URL/healthz" | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"; }
holding() { test "$(held)" -ge 1; }
running() { test "$(gauge origin_running)" = "$1"; }
fast() { curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$@"; }

is "a transform, cached" "$(status "$U/tr:w-100/photos/cat.jpg")" 200

curl -s "$proxy/__stall?match=clip.mp4" >/dev/null
waiting=()
for i in 1 2 3; do
    curl -s --max-time 120 -o "$T/clip.$i" -w '%{http_code}' "$U/video/clip.mp4" >"$T/code.$i" &
    waiting+=($!)
done
ok "the origin holds the blob's read" wait_until 20 holding
ok "three requests wait on origin threads" wait_until 20 running 3
is "meanwhile /healthz answers at once" "$(fast "$HTTPD_URL/healthz")" 200
is "and a cache hit" "$(fast "$U/tr:w-100/photos/cat.jpg")" 200
is "and another endpoint" "$(fast "$HTTPD_URL/local/x.txt")" 200
code=$(fast -D "$T/h" "$U/docs/readme.txt")
is "the stalled endpoint's share of origin threads is full: 503" "$code" 503
is "with Retry-After" "$(header Retry-After "$T/h")" 1
is "and no-store" "$(header Cache-Control "$T/h")" no-store

curl -s "$proxy/__stall" >/dev/null
wait "${waiting[@]}"
is "the origin answers again: every waiting request got 200" "$(cat "$T"/code.*)" "200200200"
ok "with the whole file" cmp "$T/clip.1" "$T/src/video/clip.mp4"
is "the endpoint serves again" "$(status "$U/docs/readme.txt")" 200

curl -s "$proxy/__fail?status=403&count=-1&match=style.css" >/dev/null
rc=0
code=$(curl -s -o "$T/css" -w '%{http_code}' --max-time 20 "$U/docs/style.css") || rc=$?
is "a read that fails: 502" "$code" 502
is "a complete response (curl exit status)" "$rc" 0
curl -s "$proxy/__fail?count=0" >/dev/null

curl -s "$proxy/__stall?match=logo.png" >/dev/null
curl -s --max-time 60 -o /dev/null "$U/photos/logo.png" &
at_exit "kill $! 2>/dev/null"
ok "a request stuck on the mount" wait_until 20 running 1
t0=$(date +%s%N)
rc=0
httpd_stop || rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
ok "SIGTERM with it stuck: gone within --shutdown-timeout 2 s ($ms ms)" test "$ms" -lt 8000
is "exit status 0" "$rc" 0
ok "and said why" grep -q 'stuck on an origin' "$HTTPD_LOG"
curl -s "$proxy/__stall" >/dev/null
