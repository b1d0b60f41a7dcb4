#!/usr/bin/env bash
# A failing origin: Azurite stopped under blobfs -> 502/504, blobfs killed -> 502, and
# blobhttpd stays up throughout (other endpoints and /healthz answer). However many requests
# fail meanwhile, and though one comes between a lazy unmount and the remount, once the
# container is mounted again the same server serves it again (the folder is reopened).
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/httpd_lib.sh"

azurite_start
seed_media media "$T/src"
MNT=$T/mnt
fast=(--connect-timeout 1 --stall-timeout 2 --retry-timeout 3)
blobfs_mount media "$MNT" "${fast[@]}"
mkdir -p "$T/local"
echo "local file" >"$T/local/x.txt"
httpd_start --endpoint "/demo=$MNT" --endpoint "/local=$T/local"
U=$HTTPD_URL/demo

is "served from the mount" "$(status "$U/docs/readme.txt")" 200
is "a transform from the mount" "$(status "$U/tr:w-100/photos/cat.jpg")" 200

"$ROOT/scripts/azurite.sh" stop "$AZ_DIR"
t0=$(date +%s)
code=$(status "$U/video/clip.mp4" -D "$T/h")
ok "Azurite stopped: 502 or 504 ($code)" test "$code" = 502 -o "$code" = 504
ok "within the mount's retry budget ($(($(date +%s) - t0)) s)" test $(($(date +%s) - t0)) -lt 20
ok "ik-error names the origin" grep -q 'origin' <<<"$(header ik-error "$T/h")"
is "no-store on 5xx" "$(header Cache-Control "$T/h")" no-store
is "still up: /healthz" "$(status "$HTTPD_URL/healthz")" 200
is "still up: another endpoint" "$(curl -s "$HTTPD_URL/local/x.txt")" "local file"

kill -9 "$BLOBFS_PID"
wait_until 10 eval "! kill -0 $BLOBFS_PID 2>/dev/null"
is "blobfs killed: 502" "$(status "$U/docs/style.css" -D "$T/h")" 502
ok "ik-error ENOTCONN" grep -q '^ENOTCONN' <<<"$(header ik-error "$T/h")"
is "blobfs killed: a transform 502s too" "$(status "$U/tr:w-50/photos/cat.jpg")" 502
is "a small file served before is still served from memory" "$(status "$U/docs/readme.txt")" 200
is "but one derived before is still served from the cache" \
    "$(status "$U/tr:w-100/photos/cat.jpg" -o "$T/img")" 200
is "the right one" "$(dims "$T/img")" 100x67
is "still up after that" "$(status "$HTTPD_URL/local/x.txt")" 200

codes=$(for i in $(seq 70); do status "$U/docs/style.css"; echo; done | sort | uniq -c | xargs)
is "70 requests during the outage: each a 502" "$codes" "70 502"

"$ROOT/scripts/azurite.sh" start "$AZ_DIR" "$(cat "$AZ_DIR/port")" >/dev/null
umount -l "$MNT"
code=$(status "$U/docs/style.css" -D "$T/h")
ok "lazily unmounted, not yet mounted again: 502 or 503, never the empty folder's 404 ($code)" \
    test "$code" = 502 -o "$code" = 503
is "no-store, so no cache keeps it" "$(header Cache-Control "$T/h")" no-store
blobfs_mount media "$MNT" "${fast[@]}"
is "mounted again: the same server serves it" "$(status "$U/docs/style.css")" 200
is "and transforms again" "$(status "$U/tr:w-60/photos/cat.jpg" -o "$T/img")" 200
is "60x40" "$(dims "$T/img")" 60x40
ok "SIGTERM: exits 0" httpd_stop
