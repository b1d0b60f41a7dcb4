#!/usr/bin/env bash
# blobkit-transform, the pipeline on the command line (sanitizer build): formats from f- and
# from the output name, --json, --info, --accept, stdin/stdout, orig-true, errors and limits.
# run alone: it bounds how long --timeout lets a transform run (tests/run.sh)
set -eu
. "$(dirname "$0")/lib.sh"

bt="$BIN/blobkit-transform"
cd "$T"
vips black k.v 640 480 --bands 3
vips linear k.v red.v "1 1 1" "200 40 40" --uchar
vips copy red.v in.jpg
vips gaussnoise n.v 64 64
vips copy n.v grain.png
printf 'hello, world\n' >text.txt

head() { vipsheader -f "$2" "$1" 2>/dev/null; }

ok "w-300,h-300:rt-90 to .webp" "$bt" 'w-300,h-300:rt-90' in.jpg out.webp
is "webp from the extension" "$(head out.webp vips-loader)" webpload
is "300 wide" "$(head out.webp width)x$(head out.webp height)" 300x300
ok "h-120 to .png" "$bt" h-120 in.jpg out.png
is "png, 160x120" "$(head out.png vips-loader) $(head out.png width)x$(head out.png height)" \
    "pngload 160x120"
ok "f-webp wins over a .jpg name" "$bt" w-50,f-webp in.jpg out.jpg
is "the .jpg holds WebP" "$(head out.jpg vips-loader)" webpload

json=$("$bt" --json w-200 in.jpg j.avif)
is "--json names the format and size" \
    "$(echo "$json" | sed 's/"bytes":[0-9]*,//')" \
    '{"format":"avif","mime":"image/avif","width":200,"height":150,"load_shrink":2,"load_direct":true}'
is "--json bytes is the file size" "$(echo "$json" | sed 's/.*"bytes":\([0-9]*\).*/\1/')" \
    "$(stat -c %s j.avif)"
json=$("$bt" --json --max-direct-pixels 0 w-200 in.jpg v.jpg)
is "--max-direct-pixels 0: libvips's JPEG loader" "$(echo "$json" | sed 's/.*"load_direct"://')" \
    'false}'
"$bt" w-200 in.jpg d.jpg
ok "the same bytes as the direct JPEG decoder's" cmp v.jpg d.jpg
is "--info" "$("$bt" --info in.jpg)" "jpeg 640x480 frames=1 alpha=false animated=false orientation=1"
is "--info --json" "$("$bt" --info --json grain.png | sed 's/,"alpha.*//')" \
    '{"type":"png","width":64,"height":64,"frames":1'

"$bt" --accept 'image/avif,image/webp' w-64 in.jpg - >auto.out
is "no name and no f-: f-auto with --accept picks WebP" "$(command head -c 4 auto.out; \
    dd if=auto.out bs=1 skip=8 count=4 2>/dev/null)" RIFFWEBP
"$bt" --avif --accept 'image/avif,image/webp' w-64 in.jpg - >avif.out
is "--avif lets f-auto pick AVIF" "$(dd if=avif.out bs=1 skip=4 count=8 2>/dev/null)" ftypavif
"$bt" w-64 - out2.png <in.jpg
is "reads stdin" "$(head out2.png width)" 64
ok "orig-true copies the source" "$bt" orig-true,w-10 in.jpg orig.jpg
ok "byte for byte" cmp in.jpg orig.jpg

"$bt" w-10 text.txt x.jpg 2>err.txt && rc=0 || rc=$?
is "a text file fails (1)" "$rc" 1
ok "and says why" grep -q "not an image" err.txt
"$bt" 'w-10,wx-3' in.jpg x.jpg 2>err.txt && rc=0 || rc=$?
is "a bad transformation fails (1)" "$rc" 1
ok "naming the parameter" grep -q "wx" err.txt
"$bt" --max-input-pixels 1000 w-10 in.jpg x.jpg 2>err.txt && rc=0 || rc=$?
is "a source over --max-input-pixels fails" "$rc" 1
ok "saying so" grep -q "over the limit" err.txt
"$bt" w-10 missing.jpg x.jpg 2>err.txt && rc=0 || rc=$?
ok "a missing file fails" grep -q "cannot read missing.jpg" err.txt
"$bt" w-10 in.jpg 2>/dev/null && rc=0 || rc=$?
is "a missing operand is a usage error (2)" "$rc" 2
"$bt" --max-frames x w-10 in.jpg x.jpg 2>/dev/null && rc=0 || rc=$?
is "a bad option value is a usage error (2)" "$rc" 2

# Bounds of one transform: memory and time (blobhttpd's defaults, 512 MiB and 30 s).
step='w-9999,h-9999,c-force,fl-v,e-contrast'
"$bt" --max-mem-mb 256 "$step:$step:$step:$step:$step:$step:$step:$step" grain.png x.jpg \
    2>err.txt && rc=0 || rc=$?
is "--max-mem-mb 256: eight 300 MB steps fail (1)" "$rc" 1
ok "over the memory budget, it says" grep -q "256 MB of memory" err.txt
ms=$(elapsed_ms "$bt" --timeout 0.3 'w-6000,h-6000,c-force,lo-true' grain.png slow.png) && rc=0 ||
    rc=$?
is "--timeout 0.3 on a 36 MP PNG encode fails (1)" "$rc" 1
ok "past the deadline, it says" grep -q "deadline" "$T/elapsed.out"
ok "and stops well before the encode would end (${ms} ms)" test "$ms" -lt 5000
"$bt" --timeout x w-10 in.jpg x.jpg 2>/dev/null && rc=0 || rc=$?
is "a bad --timeout is a usage error (2)" "$rc" 2
