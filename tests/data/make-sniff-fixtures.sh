#!/usr/bin/env bash
# Regenerate the small images tests/test_tr_format.c sniffs (real headers from real encoders).
# Run from anywhere; needs libvips-tools. The files are committed, so the unit test needs no
# libvips.
set -eu
cd "$(dirname "$0")"
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
vips black "$t/k.v" 8 8 --bands 3
vips linear "$t/k.v" "$t/rgb.v" 1 90 --uchar
vips bandjoin_const "$t/rgb.v" "$t/rgba.v" 128
vips linear "$t/k.v" "$t/f2.v" 1 160 --uchar
vips linear "$t/k.v" "$t/f3.v" 1 230 --uchar
vips join "$t/rgb.v" "$t/f2.v" "$t/s2.v" vertical
vips join "$t/s2.v" "$t/f3.v" "$t/strip.v" vertical
vips copy "$t/rgb.v" sniff-rgb.jpg
vips copy "$t/rgb.v" sniff-rgb.png
vips copy "$t/rgba.v" sniff-rgba.png
vips pngsave "$t/rgba.v" sniff-palette-trns.png --palette
vips copy "$t/rgb.v" sniff-still.gif
vips gifsave "$t/strip.v" sniff-anim.gif --page-height 8
vips webpsave "$t/rgb.v" sniff-lossy.webp
vips webpsave "$t/rgba.v" sniff-lossless-alpha.webp --lossless
vips webpsave "$t/rgba.v" sniff-lossy-alpha.webp
vips webpsave "$t/strip.v" sniff-anim.webp --page-height 8
vips heifsave "$t/rgb.v" sniff-rgb.avif --compression av1
vips heifsave "$t/rgba.v" sniff-rgba.avif --compression av1
vips heifsave "$t/rgb.v" sniff-rgb.heic --compression hevc
vips copy "$t/rgb.v" sniff-rgb.tif
printf '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"/>\n' >sniff.svg
printf '%%PDF-1.4\n%%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n' >sniff.pdf
printf 'hello, world\n' >sniff.txt
