#!/usr/bin/env bash
# 200 concurrent mixed requests against blobhttpd on a blobfs mount, three rounds: every
# answer is the expected one (originals, ranges, HEAD, 304, transforms new and cached, 404),
# the server stays up, and its memory stays bounded: the third round's peak RSS is within a
# margin of the first's (ASan's quarantine is capped so freed memory is really reused).
# run alone: it loads the server and checks its latency and memory (tests/run.sh)
set -eu
ASAN_EXTRA=quarantine_size_mb=16
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/httpd_lib.sh"

azurite_start
seed_media media "$T/src"
blobfs_mount media "$T/mnt"
httpd_start --endpoint "/demo=$T/mnt" --cache-mb 8 --queue 512
U=$HTTPD_URL/demo
etag=$(curl -s -D - -o /dev/null "$U/docs/readme.txt" | sed -n 's/^ETag: *\(.*\)\r$/\1/Ip')

# One round: a curl config of 200 transfers, each tagged with n=ID (ignored by the server),
# and the status each must get in $T/want.ROUND.
make_round() { # ROUND
    local r=$1 i kind
    : >"$T/cfg.$r"
    : >"$T/want.$r"
    for i in $(seq 200); do
        kind=$((i % 10))
        case $kind in
        0) echo "url = \"$U/docs/readme.txt?n=$i\"" ; echo "$i 200" >&3 ;;
        1) echo "url = \"$U/video/clip.mp4?n=$i\""; echo 'header = "Range: bytes=100-4195"'
           echo "$i 206" >&3 ;;
        2) echo "url = \"$U/tr:w-$((100 + r * 10 + i % 30))/photos/cat.jpg?n=$i\""
           echo "$i 200" >&3 ;;
        3) echo "url = \"$U/tr:w-64,h-64/photos/cat.jpg?n=$i\""; echo "$i 200" >&3 ;;
        4) echo "url = \"$U/photos/logo.png?tr=w-$((20 + i % 7)),f-webp&n=$i\""
           echo "$i 200" >&3 ;;
        5) echo "url = \"$U/docs/readme.txt?n=$i\""; echo "header = \"If-None-Match: ${etag//\"/\\\"}\""
           echo "$i 304" >&3 ;;
        6) echo "url = \"$U/photos/cat.jpg?tr=orig-true&n=$i\""; echo "head"
           echo "$i 200" >&3 ;;
        7) echo "url = \"$U/photos/missing-$i.jpg?n=$i\""; echo "$i 404" >&3 ;;
        8) echo "url = \"$U/tr:h-$((50 + i % 5)):rt-90/photos/big%20cat%20%C3%A9.jpg?n=$i\""
           echo "$i 200" >&3 ;;
        9) echo "url = \"$U/docs/style.css?n=$i\""; echo "$i 200" >&3 ;;
        esac
        echo 'output = "/dev/null"'
        echo 'write-out = "%{url_effective} %{http_code}\n"'
        [ "$i" = 200 ] || echo next
    done >"$T/cfg.$r" 3>"$T/want.$r"
}

peak_kb() { sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$HTTPD_PID/status"; }
rss_kb() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$HTTPD_PID/status"; }

for r in 1 2 3; do
    make_round "$r"
    curl -s --no-progress-meter --parallel --parallel-immediate --parallel-max 200 -K "$T/cfg.$r" >"$T/got.$r" || true
    sed -n 's/.*[?&]n=\([0-9]*\) \([0-9]*\)$/\1 \2/p' "$T/got.$r" | sort -n >"$T/got.$r.sorted"
    sort -n "$T/want.$r" >"$T/want.$r.sorted"
    is "round $r: 200 answers" "$(wc -l <"$T/got.$r.sorted")" 200
    diffs=$(diff "$T/want.$r.sorted" "$T/got.$r.sorted" | grep -c '^>' || true)
    is "round $r: every status as expected" "$diffs" 0
    [ "$diffs" = 0 ] || diff "$T/want.$r.sorted" "$T/got.$r.sorted" | head -10 | sed 's/^/#   /'
    eval "peak_$r=$(peak_kb) rss_$r=$(rss_kb)"
    echo "# round $r: VmHWM $(peak_kb) kB, VmRSS $(rss_kb) kB"
done
is "still up" "$(status "$HTTPD_URL/healthz")" 200
ok "memory bounded: round 3 peak ${peak_3} kB <= round 1 peak ${peak_1} kB + 25% + 32 MiB" \
    test "$peak_3" -le $((peak_1 * 125 / 100 + 32768))
ok "RSS after round 3 (${rss_3} kB) no more than after round 1 (${rss_1} kB) + 48 MiB" \
    test "$rss_3" -le $((rss_1 + 49152))
ok "SIGTERM: exits 0" httpd_stop

# A full queue answers 503 with Retry-After at once, and the server goes on.
httpd_start --endpoint "/demo=$T/mnt" --workers 1 --queue 1 --cache-mb 0
pids=()
for i in $(seq 12); do
    curl -s -D "$T/q.$i" -o /dev/null "$HTTPD_URL/demo/tr:w-$((200 + i)),bl-5/photos/cat.jpg" &
    pids+=($!)
done
wait "${pids[@]}"
busy=$(grep -l '^HTTP/1.1 503' "$T"/q.* | wc -l)
done200=$(grep -l '^HTTP/1.1 200' "$T"/q.* | wc -l)
ok "queue of 1: some of 12 concurrent transforms get 503 ($busy)" test "$busy" -ge 1
ok "the others are served ($done200)" test "$done200" -ge 2 -a $((busy + done200)) = 12
one=$(grep -l '^HTTP/1.1 503' "$T"/q.* | head -n 1)
is "503 Retry-After" "$(header Retry-After "$one")" 1
ok "503 ik-error EBUSY" grep -q '^EBUSY' <<<"$(header ik-error "$one")"
is "503 not cached" "$(header Cache-Control "$one")" no-store
is "serving again" "$(status "$HTTPD_URL/demo/tr:w-99/photos/cat.jpg")" 200
ok "SIGTERM: exits 0" httpd_stop
