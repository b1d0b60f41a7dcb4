#!/usr/bin/env bash
# Regenerate the seeds of fuzz_tr_apply (tests/fuzz/tr_apply/): "CHAIN\nMODE IMAGE", each small
# image type tr_apply() decodes (tests/data's, and a few made here with libvips: progressive,
# CMYK and EXIF-rotated JPEG, 16-bit and grey PNG, multi-page TIFF) under a few chains, and
# decoded-pixel sources (tests/fuzz_tr_apply.c says the layout). Needs libvips-tools and
# python3. The seeds are committed; regression inputs (regress-*) are kept when regenerating.
set -eu
cd "$(dirname "$0")"
data=../data
out=tr_apply
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
mkdir -p "$out"
rm -f "$out"/seed-*

vips xyz "$t/xy.v" 32 24
vips linear "$t/xy.v" "$t/xy8.v" "7 9" "0 40" --uchar
vips bandjoin_const "$t/xy8.v" "$t/rgb.v" 160
vips bandjoin_const "$t/rgb.v" "$t/rgba.v" 200
vips jpegsave "$t/rgb.v" "$t/progressive.jpg" --interlace --Q 40
vips colourspace "$t/rgb.v" "$t/cmyk.v" cmyk
vips jpegsave "$t/cmyk.v" "$t/cmyk.jpg" --Q 40 --strip
vips colourspace "$t/rgb.v" "$t/grey.v" b-w
vips pngsave "$t/grey.v" "$t/grey16.png" --bitdepth 16
vips bandjoin_const "$t/grey.v" "$t/greya.v" 128
vips pngsave "$t/greya.v" "$t/grey-alpha.png"
vips tiffsave "$t/rgb.v" "$t/pages.tif" --page-height 8 --compression deflate
vips jpegsave "$t/rgb.v" "$t/plain.jpg" --Q 40 --strip
# EXIF orientation 6 (rotate 90 clockwise to show): an APP1 segment after SOI.
python3 - "$t/plain.jpg" "$t/exif6.jpg" <<'EOF'
import struct, sys
jpg = open(sys.argv[1], "rb").read()
tiff = b"MM\x00\x2a" + struct.pack(">I", 8) + struct.pack(">H", 1) + \
       struct.pack(">HHIHH", 0x0112, 3, 1, 6, 0) + struct.pack(">I", 0)
app1 = b"Exif\x00\x00" + tiff
open(sys.argv[2], "wb").write(jpg[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) +
                              app1 + jpg[2:])
EOF

chains=(
    "w-4,h-4"
    "w-0.5,h-0.5,c-at_max:rt-90:fl-h_v"
    "w-12,h-6,cm-pad_resize,bg-FF000080"
    "h-16,ar-4-3,fo-bottom:e-grayscale,e-contrast"
    "w-16,h-16,fo-auto:r-max,f-webp,q-50"
    "cm-extract,w-4,h-4,x-2,y-2:b-2_FF00FF"
    "cm-pad_extract,w-20,h-10,fo-top_left:o-50,f-png"
    "t-true:rt-45,bg-00FF00"
    "e-usm-2-1-0.8-0.05,bl-3:e-sharpen-5"
    "f-avif,q-30,w-8,lo-true"
    "pg-2,f-png,md-true,cp-true"
    "w-auto,dpr-auto:c-force,w-30,h-2"
    "w-iw_div_2,h-ih_mul_0.5,c-at_least:z-0.5,fo-face,w-8,h-8"
    "n-thumb:pr-true,f-jpg,q-10"
)
i=0
seed() { # NAME MODE FILE: the next chain on this source
    { printf '%s\n' "${chains[$((i % ${#chains[@]}))]}"; printf "\\x$2"; cat "$3"; } \
        >"$out/seed-$1"
    i=$((i + 1))
}
for f in "$data"/sniff-{rgb.jpg,rgb.png,rgba.png,palette-trns.png,still.gif,anim.gif}; do
    seed "$(basename "$f" | sed 's/^sniff-//')" 00 "$f"
done
for f in "$data"/sniff-{lossy.webp,lossless-alpha.webp,anim.webp,rgb.avif,rgba.avif,rgb.heic,rgb.tif}; do
    seed "$(basename "$f" | sed 's/^sniff-//')" 04 "$f"
done
for f in progressive.jpg cmyk.jpg grey16.png grey-alpha.png pages.tif exif6.jpg; do
    seed "$f" 01 "$t/$f"
done
seed exif6-hints.jpg 32 "$t/exif6.jpg"
# Decoded pixels: flags, width - 1, height - 1 (little-endian), values.
printf 'w-8,h-8,fo-auto:rt-30\n\x00\x01\x0f\x00\x0b\x00\x10\x80\xf0\x40' >"$out/seed-pixels-rgb"
printf 'o-40,r-2:f-png\n\x00\x03\x0b\x00\x07\x00\x10\x80\xf0\x40\x00' >"$out/seed-pixels-rgba-padded"
printf 'h-1,w-2000,c-force\n\x00\x00\x00\x00\xff\xff\x55' >"$out/seed-pixels-thin"
printf 'w-100,h-1,fo-bottom\n\x00\x08\x00\x00\xff\xff\x55' >"$out/seed-pixels-tall"
printf 'h-50,w-3,fo-right:cm-extract,w-2,h-2\n\x00\x04\xff\xff\x00\x00\x66' >"$out/seed-pixels-wide"
ls "$out" | wc -l
