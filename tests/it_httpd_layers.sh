#!/usr/bin/env bash
# Layers and conditionals through blobhttpd on a real blobfs mount of Azurite: a watermark lands
# where lx/ly say, a text layer and a conditional render, a text layer's font file comes from
# the container, replacing the logo on the container changes the derived image (its identity
# is in the cache key: never old pixels), and the errors: a missing layer or font 404 naming
# it, a layer that is not an image or a font 422, a removed overlay key 400 naming l-image.
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/httpd_lib.sh"
. "$(dirname "$0")/metrics_lib.sh"

azurite_start
src=$T/src
mkdir -p "$src/photos" "$src/logos" "$src/docs"
photo "$src/photos/cat.jpg" 1200 800
vips black "$T/b.v" 40 20 --bands 3
vips linear "$T/b.v" "$src/logos/mark.png" "1 1 1" "255 0 0" --uchar
vips linear "$T/b.v" "$T/blue.png" "1 1 1" "0 0 255" --uchar
printf 'not an image\n' >"$src/logos/notes.png"
mkdir -p "$src/fonts"
cp /usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf "$src/fonts/brand.ttf"
printf 'not a font\n' >"$src/fonts/notes.ttf"
az container media >/dev/null
az upload media "$src" >/dev/null
MNT=$T/mnt
blobfs_mount media "$MNT" --attr-timeout 1
httpd_start --endpoint "/demo=$MNT" --recheck 0
U=$HTTPD_URL/demo

# pixel FILE X Y: "R G B" of a decoded image
pixel() { vips getpoint "$1" "$2" "$3" | awk '{print $1, $2, $3}'; }

mark='w-300,h-200,f-png,lo-true,l-image,i-logos@@mark.png,lx-10,ly-20,l-end'
ok "/metrics before" scrape "$HTTPD_URL/metrics" m1
is "a watermarked photo" "$(status "$U/tr:$mark/photos/cat.jpg" -o "$T/a.png" -D "$T/h1")" 200
is "its size is the base's" "$(dims "$T/a.png")" 300x200
is "the logo's top left corner at 10,20" "$(pixel "$T/a.png" 10 20)" "255 0 0"
is "and its bottom right at 49,39" "$(pixel "$T/a.png" 49 39)" "255 0 0"
ok "the photo left of it" test "$(pixel "$T/a.png" 9 20)" != "255 0 0"
is "lfo-bottom_right: the corner pixel" "$(status \
    "$U/tr:w-300,h-200,f-png,lo-true,l-image,i-logos@@mark.png,lfo-bottom_right,l-end/photos/cat.jpg" \
    -o "$T/c.png")" 200
is "is the logo's" "$(pixel "$T/c.png" 299 199)" "255 0 0"
ok "/metrics after" scrape "$HTTPD_URL/metrics" m2
# layers SCRAPE: layer images decoded/taken from the cache since m1
layers() {
    echo "$(moved m1 "$1" 'blobkit_layer_images_total{source="decoded"}')/$(
        moved m1 "$1" 'blobkit_layer_images_total{source="cache"}')"
}
is "two transforms with the logo: decoded once, then from the cache" "$(layers m2)" 1/1
is "the SDK's query form, literal commas" \
    "$(status "$U/photos/cat.jpg?tr=$mark" -o "$T/q.png")" 200
ok "gives the same image" cmp -s "$T/a.png" "$T/q.png"

# Replace the logo on the container: the mount shows the new version within its attribute
# timeout, and the derived image follows (a new identity, so a new cache key and ETag).
az put media logos/mark.png "$T/blue.png" >/dev/null
ok "the mount sees the new logo" wait_until 20 cmp -s "$MNT/logos/mark.png" "$T/blue.png"
is "the same URL again" "$(status "$U/tr:$mark/photos/cat.jpg" -o "$T/b.png" -D "$T/h2")" 200
is "shows the new logo" "$(pixel "$T/b.png" 10 20)" "0 0 255"
ok "/metrics" scrape "$HTTPD_URL/metrics" m3
is "the new logo decoded" "$(layers m3)" 2/1
ok "under a new ETag" test "$(header ETag "$T/h1")" != "$(header ETag "$T/h2")"
is "the old ETag no longer matches: 200, not 304" \
    "$(status "$U/tr:$mark/photos/cat.jpg" -H "If-None-Match: $(header ETag "$T/h1")")" 200

text='w-400,f-png,l-text,i-Hello,fs-40,co-FFFFFF,bg-000000,pa-10,lfo-bottom,l-end'
is "a text layer" "$(status "$U/tr:$text/photos/cat.jpg" -o "$T/t.png")" 200
is "on the 400x267 base" "$(dims "$T/t.png")" 400x267
is "its box (black) at the bottom" "$(pixel "$T/t.png" 200 264)" "0 0 0"
is "a caption in base64 (ie-), as @imagekit/nodejs writes it" \
    "$(status "$U/photos/cat.jpg?tr=w-400,l-text,ie-w6l0w6kg5p2x5LqsIPCfmIA%3D,fs-30,l-end")" 200

font='w-400,f-png,lo-true,l-text,i-Hello,fs-40,co-000000'
is "a caption in the endpoint's font file" \
    "$(status "$U/tr:$font,ff-fonts@@brand.ttf,l-end/photos/cat.jpg" -o "$T/f1.png")" 200
is "in the installed family that file holds" \
    "$(status "$U/tr:$font,ff-DejaVuSerif,l-end/photos/cat.jpg" -o "$T/f2.png")" 200
ok "the same pixels" cmp -s "$T/f1.png" "$T/f2.png"
is "the default font" "$(status "$U/tr:$font,l-end/photos/cat.jpg" -o "$T/f3.png")" 200
ok "is another" test "$(sha "$T/f1.png")" != "$(sha "$T/f3.png")"
is "a missing font file: 404" \
    "$(status "$U/tr:$font,ff-fonts@@none.ttf,l-end/photos/cat.jpg" -o "$T/body")" 404
ok "naming it" grep -q 'l-text,ff-fonts/none.ttf: not found' "$T/body"
is "a font file that is none: 422" \
    "$(status "$U/tr:$font,ff-fonts@@notes.ttf,l-end/photos/cat.jpg" -o "$T/body")" 422
ok "saying so" grep -q 'not a font' "$T/body"

cond='if-w_gt_1000,w-100,if-else,w-50,if-end'
is "a conditional" "$(status "$U/tr:$cond/photos/cat.jpg" -o "$T/k.jpg")" 200
is "takes its first branch on a 1200 px photo" "$(dims "$T/k.jpg")" 100x67
is "and the else branch on a 300 px one" \
    "$(status "$U/tr:w-300:$cond/photos/cat.jpg" -o "$T/k2.jpg")" 200
is "50 wide" "$(dims "$T/k2.jpg")" 50x33

is "a missing layer: 404" \
    "$(status "$U/tr:l-image,i-logos@@nope.png,l-end/photos/cat.jpg" -D "$T/h" -o "$T/body")" 404
ok "naming the layer" grep -q 'logos/nope.png' "$T/body"
ok "in ik-error too" grep -q 'nope.png' <<<"$(header ik-error "$T/h")"
is "a layer that is not an image: 422" \
    "$(status "$U/tr:l-image,i-logos@@notes.png,l-end/photos/cat.jpg" -o "$T/body")" 422
ok "naming it" grep -q 'notes.png: not an image' "$T/body"
is "a layer path out of the origin: 400" \
    "$(status "$U/tr:l-image,i-..@@..@@etc@@passwd,l-end/photos/cat.jpg")" 400
is "a removed overlay key: 400" "$(status "$U/tr:oi-logos@@mark.png/photos/cat.jpg" -o "$T/body")" 400
ok "naming l-image" grep -q 'l-image' "$T/body"
is "an unclosed layer: 400" "$(status "$U/tr:l-image,i-logos@@mark.png/photos/cat.jpg")" 400
is "still up" "$(status "$HTTPD_URL/healthz")" 200
ok "SIGTERM: exits 0" httpd_stop
