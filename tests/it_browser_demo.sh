#!/usr/bin/env bash
# The demo page in a real browser: scripts/demo.sh --run starts the whole demo (Azurite, blobfs,
# blobhttpd) and runs tests/browser/demo.mjs against it, which loads /demo/index.html in
# headless Chromium: every image decodes at the size its chain asks for, the video has its
# metadata, every link answers, no page error and no failed request. The screenshot is kept in
# build/test-logs/it_browser_demo/demo.png. Afterwards nothing may be left running.
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/browser/lib.sh"

browser_setup
dir=$T/demo
DEMO_PORT=0 DEMO_DIR=$dir BLOBKIT_BIN=$BIN "$ROOT/scripts/demo.sh" --run \
    node "$ROOT/tests/browser/demo.mjs" "$BROWSER_OUT" "$BROWSER_PIDFILE" >"$T/run.out" 2>&1 &
demo_pid=$!
# Killed half-way, the demo tears itself down on TERM (and stops the browser test first).
at_exit "kill -TERM $demo_pid 2>/dev/null; wait $demo_pid"
rc=0
wait "$demo_pid" || rc=$?

browser_relay "$T/run.out"
is "the browser test exits 0" "$rc" 0
[ "$rc" = 0 ] || grep -v -E '^(ok|not ok|#)' "$T/run.out" | tail -20 | sed 's/^/#   /'
ok "a screenshot of the page is kept" \
    test "$(vipsheader -f width "$BROWSER_OUT/demo.png" 2>/dev/null)" = 1200
fails "no browser left running" test -s "$BROWSER_PIDFILE"
fails "nothing left mounted" findmnt -n "$dir/mnt"
fails "no process left" pgrep -f "$dir/"
