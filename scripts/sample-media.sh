#!/usr/bin/env bash
# Sample media for the demo and the benchmarks, made with libvips' command line tools.
#
#   scripts/sample-media.sh photo OUT WIDTH HEIGHT [GRAIN]   a photo-like JPEG (Q85): smooth
#       colour fields plus grain; GRAIN 8 gives ~3.3 MB at 4000x3000, 2 gives ~290 KB at
#       1920x1080 (the sizes of performance.md's large and medium JPEGs)
#   scripts/sample-media.sh logo OUT TEXT                     a PNG with transparency
#   scripts/sample-media.sh demo DIR                          the demo's whole tree
#   scripts/sample-media.sh photos DIR                        remake the demo's photographs
#
# The demo shows real photographs, shipped in scripts/demo-media/photos/ (credits and licences
# in scripts/demo-media/CREDITS). They were made once by `photos`, which takes the originals
# from four Debian packages (downloaded with apt-get download, never installed), checks each
# original's sha256, and re-encodes them with libvips (and the GIF with ffmpeg).
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
    local dir=$1 media=$root/scripts/demo-media
    mkdir -p "$dir/photos" "$dir/video" "$dir/docs" "$dir/js"
    cp "$media"/photos/* "$dir/photos/"
    # hls.js (npm, pinned in package.json), served as a plain file for the page's HLS player.
    cp "$root/node_modules/hls.js/dist/hls.min.js" "$dir/js/hls.min.js"
    logo "$dir/photos/logo.png" blobkit
    cp "$media/clip.mp4" "$dir/video/clip.mp4"
    cp "$media/index.html" "$dir/index.html"
    cp "$media/CREDITS" "$dir/docs/credits.txt"
    printf 'blobkit demo: these files live in an Azure Blob container (Azurite),\n%s\n' \
        'mounted with blobfs and served by blobhttpd.' >"$dir/docs/readme.txt"
}

# ---- photos: the originals, where they come from, and how each is re-encoded ----------------
# PACKAGE PATH-IN-PACKAGE SHA256: the originals scripts/demo-media/CREDITS credits.
skimage=usr/lib/python3/dist-packages/skimage/data
originals=(
    "python3-skimage $skimage/astronaut.png 88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5"
    "python3-skimage $skimage/chelsea.png 596aa1e7cb875eb79f437e310381d26b338a81c2da23439704a73c4651e8c4bb"
    "python3-skimage $skimage/coffee.png cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7"
    "python3-skimage $skimage/rocket.jpg c2dd0de7c538df8d111e479619b129464d0269d0ae5fd18ca91d33a7fdfea95c"
    "desktop-base usr/share/icons/desktop-base/256x256/emblems/emblem-debian.png 4ce94b89396b8e863a6b235a7f14ec2be8107a51330814a5c060187928ae8530"
    "mate-backgrounds usr/share/backgrounds/mate/nature/Dune.jpg 8a67c2cb0be8c46b70c237311a4fa4d2b4ac7d39568135384787801fa5cc9a91"
    "tuxpaint-stamps-default usr/share/tuxpaint/stamps/household/Lightbulb.png 11186e55e41e04453fc6555fcf822b3f1a0113117578f9aaddd4a788fef7da81"
)

# Download the packages (about 240 MB, into T), unpack them and check every original.
fetch_originals() {
    local t=$1 line pkg path sum
    local pkgs=(python3-skimage mate-backgrounds tuxpaint-stamps-default desktop-base)
    (cd "$t" && apt-get download "${pkgs[@]}")
    for pkg in "${pkgs[@]}"; do
        dpkg-deb -x "$t/${pkg}"_*.deb "$t/x"
    done
    for line in "${originals[@]}"; do
        read -r pkg path sum <<<"$line"
        echo "$sum  $t/x/$path" | sha256sum -c --quiet ||
            { echo "sample-media: $path in $pkg is not the original CREDITS names" >&2; return 1; }
    done
}

# A 10-frame zoom onto the rocket and back (18 frames, 300x200, 5 per second, looping).
rocket_gif() {
    local src=$1 out=$2 t=$3 i n=0 w h l top
    for i in 0 1 2 3 4 5 6 7 8 9 8 7 6 5 4 3 2 1; do
        w=$((640 - i * 32)) && h=$((w * 2 / 3))
        l=$((316 - w / 2)) && top=$((200 - h / 2))
        [ "$l" -ge 0 ] || l=0
        [ "$top" -ge 0 ] || top=0
        [ $((l + w)) -le 640 ] || l=$((640 - w))
        [ $((top + h)) -le 427 ] || top=$((427 - h))
        vips crop "$src" "$t/crop.v" "$l" "$top" "$w" "$h"
        vips thumbnail_image "$t/crop.v" "$t/f$(printf %02d $n).png" 300 --height 200 --size force
        n=$((n + 1))
    done
    ffmpeg -v error -y -framerate 5 -i "$t/f%02d.png" -vf \
        'split[a][b];[a]palettegen=max_colors=128:stats_mode=full[p];[b][p]paletteuse=dither=bayer:bayer_scale=3' \
        -loop 0 "$out"
}

photos() {
    local out=$1 t x
    t=$(mktemp -d)
    trap 'rm -rf "$t"' RETURN
    fetch_originals "$t"
    x=$t/x
    mkdir -p "$out"
    vips copy "$x/usr/share/backgrounds/mate/nature/Dune.jpg" "$out/landscape.jpg[Q=85,optimize_coding,strip]"
    vips copy "$x/$skimage/astronaut.png" "$out/astronaut.jpg[Q=90,optimize_coding,strip]"
    vips copy "$x/$skimage/chelsea.png" "$out/cat.jpg[Q=90,optimize_coding,strip]"
    vips copy "$x/$skimage/coffee.png" "$out/coffee.jpg[Q=90,optimize_coding,strip]"
    vips flatten "$x/usr/share/tuxpaint/stamps/household/Lightbulb.png" "$t/bulb.v" --background 255
    vips embed "$t/bulb.v" "$t/product.v" 150 50 600 600 --extend background --background 255
    vips copy "$t/product.v" "$out/product.jpg[Q=90,optimize_coding,strip]"
    cp "$x/usr/share/icons/desktop-base/256x256/emblems/emblem-debian.png" "$out/logo-debian.png"
    rocket_gif "$x/$skimage/rocket.jpg" "$out/rocket.gif" "$t"
}

case "${1:-}" in
photo) photo "$2" "$3" "$4" "${5:-8}" ;;
logo) logo "$2" "$3" ;;
demo) demo "$2" ;;
photos) photos "$2" ;;
*) sed -n '2,14p' "$0" >&2; exit 2 ;;
esac
