#!/usr/bin/env bash
# The blobkit demo (README's main command: make demo). Everything runs on this machine:
#
#   1. Azurite (the official Azure Storage emulator) starts on 127.0.0.1;
#   2. the demo's photographs, a logo, a video and a page (scripts/demo-media/, credits in its
#      CREDITS) are uploaded to the container "media" with the official Azure SDK;
#   3. blobfs mounts the container read-only with a freshly minted read+list SAS;
#   4. blobhttpd serves the mount on http://127.0.0.1:8080 with endpoint /demo (unsigned URLs)
#      and /private (signed URLs only, the key in a file), and its console on /_blobkit/ (the
#      key is its Basic auth user name);
#   5. the URLs to try and the mount path are printed; Ctrl-C tears everything down.
#
#   scripts/demo.sh                  interactive: wait for Ctrl-C
#   scripts/demo.sh --check          run the printed URLs with curl, check the answers, tear down
#   scripts/demo.sh --run CMD [ARG]  run CMD while the demo is up (DEMO_URL is the server's
#                                    base URL, DEMO_MOUNT the mount), tear down, exit with
#                                    CMD's status: how the browser tests load the page
#
# Environment: DEMO_PORT (8080; 0 picks a free one), DEMO_DIR (work folder, default
# tmp/demo in the repository), BLOBKIT_BIN (programs, default bin/).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${BLOBKIT_BIN:-$root/bin}
port=${DEMO_PORT:-8080}
dir=${DEMO_DIR:-$root/tmp/demo}
check=0 run=()
case "${1:-}" in
--check) check=1 ;;
--run) shift; run=("$@"); [ ${#run[@]} -gt 0 ] || { echo "demo: --run needs a command" >&2; exit 2; } ;;
'') ;;
*) sed -n '2,20p' "$0" >&2; exit 2 ;;
esac
quiet=$((check || ${#run[@]}))

say() { printf '\033[1m%s\033[0m\n' "$*"; }
die() { echo "demo: $*" >&2; exit 1; }

for p in blobfs blobhttpd; do
    [ -x "$bin/$p" ] || die "$bin/$p is missing: run 'make demo' (or make) first"
done
for c in node vips fusermount3 curl; do
    command -v "$c" >/dev/null || die "$c is missing: run 'make demo' (it runs scripts/setup.sh)"
done

# ---- teardown: whatever was started, newest first, by PID -----------------------------------
httpd_pid='' blobfs_pid='' run_pid='' azurite_up=0 mnt=$dir/mnt
cleanup() {
    trap - EXIT INT TERM
    set +e
    if [ -n "$run_pid" ]; then
        kill -TERM "$run_pid" 2>/dev/null
        wait "$run_pid" 2>/dev/null
    fi
    if [ -n "$httpd_pid" ]; then
        kill -TERM "$httpd_pid" 2>/dev/null
        wait "$httpd_pid" 2>/dev/null
    fi
    if mountpoint -q "$mnt" 2>/dev/null; then
        fusermount3 -u "$mnt" 2>/dev/null || umount -l "$mnt"
    fi
    if [ -n "$blobfs_pid" ]; then
        for _ in $(seq 50); do kill -0 "$blobfs_pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$blobfs_pid" 2>/dev/null
    fi
    [ "$azurite_up" = 1 ] && "$root/scripts/azurite.sh" stop "$dir/azurite"
    [ "$quiet" = 1 ] || say "demo stopped: nothing mounted, nothing left running"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A previous demo killed hard may have left its server, mount and Azurite behind.
old=$(cat "$dir/blobhttpd.pid" 2>/dev/null || true)
if [ -n "$old" ] && grep -qs blobhttpd "/proc/$old/cmdline"; then
    kill -TERM "$old" 2>/dev/null || true
fi
if mountpoint -q "$mnt" 2>/dev/null || [ -n "$(findmnt -n "$mnt" 2>/dev/null)" ]; then
    fusermount3 -u "$mnt" 2>/dev/null || umount -l "$mnt"
fi
[ -d "$dir/azurite" ] && "$root/scripts/azurite.sh" stop "$dir/azurite"
rm -rf "$dir/azurite" "$dir/media" "$dir/check" "$dir/blobhttpd.log" "$dir/blobfs.log" \
    "$dir/blobhttpd.pid"
mkdir -p "$dir" "$mnt"
chmod 700 "$dir"

say "1/5 starting Azurite"
endpoint=$("$root/scripts/azurite.sh" start "$dir/azurite")
azurite_up=1
az() { node "$root/tests/node/azure.mjs" "$endpoint" "$@"; }

say "2/5 uploading the demo's photographs, video and page to the container 'media'"
"$root/scripts/sample-media.sh" demo "$dir/media"
az container media >/dev/null
az upload media "$dir/media"

say "3/5 mounting it read-only with blobfs (read+list SAS minted for the demo)"
az sas service rl media --ttl 86400 >"$dir/sas"
chmod 600 "$dir/sas"
"$bin/blobfs" --account devstoreaccount1 --container media --endpoint "$endpoint" \
    --sas-file "$dir/sas" -f --log-file "$dir/blobfs.log" "$mnt" &
blobfs_pid=$!
for _ in $(seq 100); do mountpoint -q "$mnt" && break; sleep 0.1; done
mountpoint -q "$mnt" || die "blobfs did not mount; see $dir/blobfs.log"

say "4/5 starting blobhttpd"
head -c 24 /dev/urandom | base64 | tr '+/' 'xy' | sed 's/^/private_/' >"$dir/ik-private.key"
chmod 600 "$dir/ik-private.key"
"$bin/blobhttpd" --listen "127.0.0.1:$port" --public-endpoint "/demo=$mnt" \
    --trusted-documents /demo --endpoint "/private=$mnt" --sign-key-file "$dir/ik-private.key" \
    --named thumb=w-200,h-200 --console on --access-log "$dir/access.log" \
    --log "$dir/blobhttpd.log" &
httpd_pid=$!
echo "$httpd_pid" >"$dir/blobhttpd.pid"
for _ in $(seq 100); do grep -qs 'listening on' "$dir/blobhttpd.log" && break; sleep 0.1; done
port=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$dir/blobhttpd.log" | head -n 1)
[ -n "$port" ] || die "blobhttpd did not start: $(cat "$dir/blobhttpd.log")"
base=http://127.0.0.1:$port
signed=$(node "$root/tests/node/imagekit.mjs" sign "$base/private" "$dir/ik-private.key" \
    /photos/astronaut.jpg w-300,h-300,fo-auto 3600)

say "5/5 ready"
cat <<EOF

  The mount:           ls -l $mnt $mnt/photos
  A page using it all: $base/demo/index.html
  The console:         $base/_blobkit/
                       (user name: the key in $dir/ik-private.key; no password)

  original bytes:      $base/demo/photos/landscape.jpg?tr=orig-true
  resized:             $base/demo/tr:w-400/photos/landscape.jpg
  cropped:             $base/demo/tr:w-300,h-300,fo-auto/photos/astronaut.jpg
  trimmed and padded:  $base/demo/tr:t-true,w-300,h-300,cm-pad_resize,bg-FFFFFF/photos/product.jpg
  animated GIF:        $base/demo/tr:w-240/photos/rocket.gif
  f-auto (WebP here):  curl -sI -H 'Accept: image/webp' $base/demo/tr:w-600/photos/landscape.jpg
  named (n-thumb):     $base/demo/tr:n-thumb/photos/cat.jpg
  signed (SDK, 1 h):   $signed
  unsigned -> 401:     $base/private/tr:w-300/photos/astronaut.jpg
  video range:         curl -s -r 0-1023 -D - -o /dev/null $base/demo/video/clip.mp4
  health:              $base/healthz

  In HTML, write these URLs from the root (/demo/tr:w-400/...): a relative URL that starts
  with tr: is a URL of the scheme "tr" to a browser.

EOF

if [ ${#run[@]} -gt 0 ]; then
    DEMO_URL=$base DEMO_MOUNT=$mnt "${run[@]}" &
    run_pid=$!
    rc=0
    wait "$run_pid" || rc=$?
    run_pid=''
    exit "$rc"
fi

if [ "$check" = 0 ]; then
    say "Ctrl-C stops the demo (unmounts, stops every process)."
    wait "$httpd_pid" || true
    exit 0
fi

# ---- --check: every printed URL, with what it must answer -----------------------------------
fail=0
expect() { # DESCRIPTION WANT GOT
    if [ "$2" = "$3" ]; then echo "ok - $1"; else echo "not ok - $1: got '$3', want '$2'"; fail=1; fi
}
t=$dir/check
mkdir -p "$t"
get() { curl -s -o "$t/body" -D "$t/head" -w '%{http_code}' "$@"; }
hdr() { sed -n "s/^$1: *\(.*\)\r$/\1/Ip" "$t/head" | head -n 1; }
size() { echo "$(vipsheader -f width "$t/body")x$(vipsheader -f height "$t/body")"; }

expect "the mount lists the photos" "$(ls "$dir/media/photos" | tr '\n' ' ')" \
    "$(ls "$mnt/photos" | tr '\n' ' ')"
expect "page" 200 "$(get "$base/demo/index.html")"
expect "page type" "text/html; charset=utf-8" "$(hdr Content-Type)"
expect "original" 200 "$(get "$base/demo/photos/landscape.jpg?tr=orig-true")"
expect "original bytes" "$(sha256sum <"$dir/media/photos/landscape.jpg")" "$(sha256sum <"$t/body")"
expect "resized" 200 "$(get "$base/demo/tr:w-400/photos/landscape.jpg")"
expect "resized size" 400x250 "$(size)"
expect "cropped" 200 "$(get "$base/demo/tr:w-300,h-300,fo-auto/photos/astronaut.jpg")"
expect "cropped size" 300x300 "$(size)"
expect "trimmed" 200 "$(get "$base/demo/tr:t-true,w-300,h-300,cm-pad_resize,bg-FFFFFF/photos/product.jpg")"
expect "trimmed size" 300x300 "$(size)"
expect "animated" 200 "$(get "$base/demo/tr:w-240/photos/rocket.gif")"
expect "animated type" image/gif "$(hdr Content-Type)"
expect "animated size and frames" 240x160x18 "$(size)x$(vipsheader -f n-pages "$t/body")"
expect "f-auto" 200 "$(get -H 'Accept: image/webp' "$base/demo/tr:w-600/photos/landscape.jpg")"
expect "f-auto type" image/webp "$(hdr Content-Type)"
expect "f-auto Vary" Accept "$(hdr Vary)"
expect "named" 200 "$(get "$base/demo/tr:n-thumb/photos/cat.jpg")"
expect "named size" 200x200 "$(size)"
expect "signed" 200 "$(get "$signed")"
expect "signed size" 300x300 "$(size)"
expect "unsigned on /private" 401 "$(get "$base/private/tr:w-300/photos/astronaut.jpg")"
expect "video range" 206 "$(get -r 0-1023 "$base/demo/video/clip.mp4")"
expect "video range bytes" "$(head -c 1024 "$dir/media/video/clip.mp4" | sha256sum)" \
    "$(sha256sum <"$t/body")"
expect "video type" video/mp4 "$(hdr Content-Type)"
# Each URL of the page as a browser resolves it against the page's address: a relative URL
# that starts with tr: would come out as a "tr:" URL and fail here.
for url in $(node "$root/tests/browser/page-urls.mjs" "$dir/media/index.html" "$base/demo/index.html"); do
    expect "page URL $url" 200 "$(get "$url")"
done
expect "health" 200 "$(get "$base/healthz")"
# The console: the key as the Basic auth user name, given to curl on its stdin (never in ps).
expect "console without the key" 401 "$(get "$base/_blobkit/")"
expect "console with the key" 200 \
    "$(get -K - "$base/_blobkit/api/endpoints" <<<"user = \"$(cat "$dir/ik-private.key"):\"")"
expect "console lists the endpoints" 2 "$(grep -o '"prefix"' "$t/body" | wc -l)"
exit $fail
