#!/usr/bin/env bash
# make demo, non-interactively: scripts/demo.sh --check starts Azurite, uploads the demo's
# photographs, mounts them with blobfs, serves them with blobhttpd, checks every URL it prints
# and every URL of the page as a browser resolves it, and tears everything down. Afterwards
# nothing may be left mounted or running.
set -eu
. "$(dirname "$0")/lib.sh"

dir=$T/demo
out=$T/demo.out
rc=0
DEMO_PORT=0 DEMO_DIR=$dir BLOBKIT_BIN=$BIN "$ROOT/scripts/demo.sh" --check >"$out" 2>&1 || rc=$?
is "demo --check exits 0" "$rc" 0
[ "$rc" = 0 ] || { grep '^not ok' "$out"; tail -20 "$out"; } | sed 's/^/#   /'
checks=$(grep -c '^ok - ' "$out" || true)
ok "demo checked its URLs ($checks)" test "$checks" -ge 25
fails "no check failed" grep -q '^not ok' "$out"
for what in "original bytes:" "resized:" "cropped:" "trimmed and padded:" "animated GIF:" \
    "f-auto" "signed (SDK" "video range:" "The mount:" "The console:" \
    "write these URLs from the root"; do
    ok "demo prints: $what" grep -qF "$what" "$out"
done
fails "nothing left mounted" findmnt -n "$dir/mnt"
fails "no process left" pgrep -f "$dir/"
