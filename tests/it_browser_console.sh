#!/usr/bin/env bash
# The console (/_blobkit/) in headless Chromium, as a person uses it (tests/browser/console.mjs):
# the demo's folders listed, every thumbnail decoded at 160x160, a video's poster from the video
# engine, a 12,000-entry folder open in under 2 s with its pages and filter, a file's facts,
# the playground (typing w-123 makes the preview 123 px wide; a bad chain shows the server's
# error; a preset), hostile names shown as text that runs nothing, a phone-width page, and
# Basic auth with the signing key (401 without, 401 with a wrong key, 200 with the key, signed
# thumbnails).
#
# The demo's media and the hostile names are blobs in Azurite behind a blobfs mount. The
# 12,000-entry folder is in the endpoint's second origin, a local folder: uploading 12,000 blobs
# takes Azurite over 100 s on this machine (measured), more than this whole test may; blobfs's
# listing of such a folder is it_blobfs_corpus's. The second origin also shows the console
# merging an endpoint's origins.
# run alone: it opens a 12,000-entry folder within 2 s (tests/run.sh)
set -eu
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/httpd_lib.sh"
. "$ROOT/tests/browser/lib.sh"

browser_setup
azurite_start
media=$T/media local=$T/local mnt=$T/mnt
"$ROOT/scripts/sample-media.sh" demo "$media"
mkdir -p "$media/odd" "$local/big"
for name in '<img src=x onerror=alert(document.domain)>.jpg' '<svg onload=window.__pwned=1>.jpg' \
    "\"&quot;&amp; 'q'.jpg" 'été 漢字 🎉.jpg'; do
    cp "$media/photos/cat.jpg" "$media/odd/$name"
done
az container media >/dev/null
az upload media "$media" >/dev/null
(cd "$local/big" && seq -f 'f%05g.txt' 1 12000 | xargs touch)
blobfs_mount media "$mnt"

httpd_start --endpoint "/demo=$mnt,$local" --console on
open_url=$HTTPD_URL
head -c 24 /dev/urandom | base64 | tr '+/' 'xy' | sed 's/^/private_/' >"$T/key"
httpd_start --public-endpoint "/demo=$mnt" --endpoint "/private=$mnt" --sign-key-file "$T/key" \
    --console on
keyed_url=$HTTPD_URL

CONSOLE_URL=$open_url CONSOLE_KEYED_URL=$keyed_url CONSOLE_KEY_FILE=$T/key \
    LANDSCAPE_SIZE=$(dims "$media/photos/landscape.jpg") \
    node "$ROOT/tests/browser/console.mjs" "$BROWSER_OUT" "$BROWSER_PIDFILE" >"$T/run.out" 2>&1 &
node_pid=$!
at_exit "kill -TERM $node_pid 2>/dev/null; wait $node_pid"
rc=0
wait "$node_pid" || rc=$?

browser_relay "$T/run.out"
is "the browser test exits 0" "$rc" 0
[ "$rc" = 0 ] || grep -v -E '^(ok|not ok|#)' "$T/run.out" | tail -20 | sed 's/^/#   /'
ok "a screenshot of the folder view is kept" \
    test "$(vipsheader -f width "$BROWSER_OUT/console-folder.png" 2>/dev/null)" = 1200
ok "a screenshot of the playground is kept" test -s "$BROWSER_OUT/console-file.png"
fails "no browser left running" test -s "$BROWSER_PIDFILE"
