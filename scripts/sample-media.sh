#!/usr/bin/env bash
# Sample media for the demo and the benchmarks, made with libvips' command line tools.
#
#   scripts/sample-media.sh photo OUT WIDTH HEIGHT [GRAIN]   a photo-like JPEG (Q85): smooth
#       colour fields plus grain; GRAIN 8 gives ~3.3 MB at 4000x3000, 2 gives ~290 KB at
#       1920x1080 (the sizes of performance.md's large and medium JPEGs)
#   scripts/sample-media.sh logo OUT TEXT                     a PNG with transparency
#   scripts/sample-media.sh demo DIR                          the demo's whole tree
#
# The demo's video, scripts/demo-media/clip.mp4 (6 s, 480x270 H.264 + AAC, 218 KB), is shipped:
# it was made once with
#   ffmpeg -f lavfi -i testsrc2=size=480x270:rate=24:duration=6 \
#          -f lavfi -i sine=frequency=440:duration=6 -c:v libx264 -profile:v main \
#          -pix_fmt yuv420p -crf 30 -g 24 -c:a aac -b:a 48k -movflags +faststart clip.mp4
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

photo() {
    local out=$1 w=$2 h=$3 grain=${4:-8} t
    t=$(mktemp -d)
    for c in r g b; do
        vips gaussnoise "$t/$c.v" 64 48 --mean 128 --sigma 60
    done
    vips bandjoin "$t/r.v $t/g.v $t/b.v" "$t/small.v"
    vips resize "$t/small.v" "$t/big.v" "$(echo "$w / 64" | bc -l)" \
        --vscale "$(echo "$h / 48" | bc -l)" --kernel cubic
    vips gaussnoise "$t/grain.v" "$w" "$h" --mean 0 --sigma "$grain"
    vips add "$t/big.v" "$t/grain.v" "$t/sum.v"
    vips cast "$t/sum.v" "$t/u8.v" uchar
    vips copy "$t/u8.v" "$t/srgb.v" --interpretation srgb
    vips copy "$t/srgb.v" "$out[Q=85,strip]"
    rm -rf "$t"
}

logo() {
    local out=$1 text=$2 t
    t=$(mktemp -d)
    vips text "$t/mask.v" "<b>$text</b>" --dpi 300 --font "sans 24"
    vips linear "$t/mask.v" "$t/r.v" 0 30 --uchar
    vips linear "$t/mask.v" "$t/g.v" 0 120 --uchar
    vips linear "$t/mask.v" "$t/b.v" 0 220 --uchar
    vips bandjoin "$t/r.v $t/g.v $t/b.v $t/mask.v" "$t/rgba.v"
    vips copy "$t/rgba.v" "$t/srgb.v" --interpretation srgb
    vips copy "$t/srgb.v" "$out"
    rm -rf "$t"
}

demo() {
    local dir=$1
    mkdir -p "$dir/photos" "$dir/video" "$dir/docs"
    photo "$dir/photos/landscape.jpg" 2400 1600 6
    photo "$dir/photos/portrait.jpg" 1200 1800 4
    photo "$dir/photos/square.jpg" 1000 1000 3
    logo "$dir/photos/logo.png" blobkit
    cp "$root/scripts/demo-media/clip.mp4" "$dir/video/clip.mp4"
    cp "$root/scripts/demo-media/index.html" "$dir/index.html"
    printf 'blobkit demo: these files live in an Azure Blob container (Azurite),\n%s\n' \
        'mounted with blobfs and served by blobhttpd.' >"$dir/docs/readme.txt"
}

case "${1:-}" in
photo) photo "$2" "$3" "$4" "${5:-8}" ;;
logo) logo "$2" "$3" ;;
demo) demo "$2" ;;
*) sed -n '2,15p' "$0" >&2; exit 2 ;;
esac
