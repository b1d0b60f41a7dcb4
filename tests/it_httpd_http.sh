#!/usr/bin/env bash
# blobhttpd with curl, serving a real blobfs mount of Azurite: originals, Range, HEAD,
# conditional requests, Vary, transformations, errors, path confinement, origin preference,
# Host routing, limits, access log, SIGTERM. (Symlinks need a local folder: blobs have none.)
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/httpd_lib.sh"

azurite_start
SRC=$T/src
seed_media media "$SRC"
mkdir -p "$T/ab/a" "$T/ab/b" "$T/local/sub" "$T/outside"
echo "from a" >"$T/ab/a/both.txt"
echo "from b" >"$T/ab/b/both.txt"
echo "only in b" >"$T/ab/b/only-b.txt"
az container prefs >/dev/null
az upload prefs "$T/ab" >/dev/null
M=$T/mnt/media
blobfs_mount media "$M"
blobfs_mount prefs "$T/mnt/ab"
echo "secret" >"$T/outside/secret.txt"
ln -s "$T/outside" "$T/local/out"
ln -s "$T/outside/secret.txt" "$T/local/sub/secret.txt"
echo "inside" >"$T/local/inside.txt"

httpd_start --endpoint "/demo=$M" --endpoint "/multi=$T/mnt/ab/a,$T/mnt/ab/b" \
    --endpoint "static.example.com/=$M" --endpoint "/local=$T/local" \
    --named thumb=w-100,h-100 --access-log "$T/access.log" --cache-mb 16
U=$HTTPD_URL/demo
D=$T/dl
mkdir -p "$D"

# ---- originals, HEAD, Range ------------------------------------------------------------------
txt=$M/docs/readme.txt
size=$(stat -c %s "$txt")
is "text file: 200" "$(status "$U/docs/readme.txt" -D "$D/h")" 200
curl -s -o "$D/readme" "$U/docs/readme.txt"
is "text file: same bytes" "$(sha "$D/readme")" "$(sha "$SRC/docs/readme.txt")"
is "text file: Content-Type" "$(header Content-Type "$D/h")" "text/plain; charset=utf-8"
is "Accept-Ranges" "$(header Accept-Ranges "$D/h")" bytes
etag=$(header ETag "$D/h")
lm=$(header Last-Modified "$D/h")
ok "strong ETag" grep -q '^"[0-9a-f-]*"$' <<<"$etag"
is "Last-Modified is the file's mtime" "$lm" \
    "$(TZ=GMT date -d "@$(stat -c %Y "$txt")" '+%a, %d %b %Y %H:%M:%S GMT')"
is "default Cache-Control (ImageKit's 180 days)" "$(header Cache-Control "$D/h")" \
    "public, s-maxage=15552000, max-age=15552000, must-revalidate"
curl -s -I -o "$D/head" "$U/docs/readme.txt"
is "HEAD: Content-Length" "$(header Content-Length "$D/head")" "$size"
is "HEAD: same ETag" "$(header ETag "$D/head")" "$etag"
is "HEAD: no body" "$(curl -s -I "$U/docs/readme.txt" -o /dev/null -w '%{size_download}')" 0

is "Range: 206" "$(status "$U/video/clip.mp4" -H 'Range: bytes=1000-1999' -D "$D/h")" 206
curl -s -H 'Range: bytes=1000-1999' -o "$D/part" "$U/video/clip.mp4"
dd if="$SRC/video/clip.mp4" of="$D/want" bs=1000 skip=1 count=1 status=none
is "Range: the right bytes" "$(sha "$D/part")" "$(sha "$D/want")"
is "Range: Content-Range" "$(header Content-Range "$D/h")" "bytes 1000-1999/65536"
is "video Content-Type" "$(header Content-Type "$D/h")" video/mp4
curl -s -H 'Range: bytes=-100' -o "$D/part" "$U/video/clip.mp4"
tail -c 100 "$SRC/video/clip.mp4" >"$D/want"
is "suffix Range" "$(sha "$D/part")" "$(sha "$D/want")"
is "open Range" "$(curl -s -H 'Range: bytes=65000-' "$U/video/clip.mp4" | wc -c)" 536
is "Range past the end: 416" "$(status "$U/video/clip.mp4" -H 'Range: bytes=70000-' -D "$D/h")" 416
is "416 Content-Range" "$(header Content-Range "$D/h")" "bytes */65536"
# Originals up to 512 KiB go out from a copy in memory, larger ones by sendfile(): both paths
# give the same bytes, whole and ranged.
head -c 524288 /dev/urandom >"$T/local/copied.bin"
head -c 524289 /dev/urandom >"$T/local/sent.bin"
for f in copied sent; do
    curl -s -o "$D/$f" "$HTTPD_URL/local/$f.bin"
    is "$f.bin: same bytes" "$(sha "$D/$f")" "$(sha "$T/local/$f.bin")"
    curl -s -H 'Range: bytes=100000-' -o "$D/$f.part" "$HTTPD_URL/local/$f.bin"
    tail -c +100001 "$T/local/$f.bin" >"$D/$f.want"
    is "$f.bin: open Range" "$(sha "$D/$f.part")" "$(sha "$D/$f.want")"
done
is "several ranges: whole body" "$(status "$U/video/clip.mp4" -H 'Range: bytes=0-1,5-6')" 200
is "If-Range with another ETag: whole body" \
    "$(status "$U/docs/readme.txt" -H 'Range: bytes=0-1' -H 'If-Range: "other"')" 200
is "If-Range with this ETag: range" \
    "$(status "$U/docs/readme.txt" -H 'Range: bytes=0-1' -H "If-Range: $etag")" 206

# ---- conditional requests --------------------------------------------------------------------
is "If-None-Match: 304" "$(status "$U/docs/readme.txt" -H "If-None-Match: $etag" -D "$D/h")" 304
is "304 keeps the ETag" "$(header ETag "$D/h")" "$etag"
is "If-None-Match other: 200" "$(status "$U/docs/readme.txt" -H 'If-None-Match: "x"')" 200
is "If-Modified-Since same: 304" "$(status "$U/docs/readme.txt" -H "If-Modified-Since: $lm")" 304
is "If-Modified-Since older: 200" \
    "$(status "$U/docs/readme.txt" -H 'If-Modified-Since: Sat, 01 Jan 2000 00:00:00 GMT')" 200
is "If-None-Match wins over If-Modified-Since" \
    "$(status "$U/docs/readme.txt" -H 'If-None-Match: "x"' -H "If-Modified-Since: $lm")" 200

# ---- transformations -------------------------------------------------------------------------
is "tr:w-300: 200" "$(status "$U/tr:w-300/photos/cat.jpg" -D "$D/h" -o "$D/img")" 200
is "tr:w-300: 300x200" "$(dims "$D/img")" 300x200
is "tr:w-300: JPEG without Accept" "$(header Content-Type "$D/h")" image/jpeg
is "f-auto varies on Accept" "$(header Vary "$D/h")" Accept
jpeg_etag=$(header ETag "$D/h")
curl -s -D "$D/h" -o "$D/img" -H 'Accept: image/avif,image/webp,*/*' "$U/tr:w-300/photos/cat.jpg"
is "Accept webp: WebP" "$(header Content-Type "$D/h")" image/webp
is "WebP is really WebP" "$(vipsheader -f vips-loader "$D/img")" webpload
ok "the WebP has its own ETag" test "$(header ETag "$D/h")" != "$jpeg_etag"
is "transformed If-None-Match: 304" \
    "$(status "$U/tr:w-300/photos/cat.jpg" -H "If-None-Match: $jpeg_etag")" 304
curl -s -D "$D/h" -o "$D/img" "$U/tr:h-300,w-300/photos/cat.jpg"
curl -s -D "$D/h2" -o /dev/null "$U/tr:w-300,h-300/photos/cat.jpg"
is "one ETag for two spellings of a chain" "$(header ETag "$D/h")" "$(header ETag "$D/h2")"
curl -s -D "$D/h" -o "$D/img" "$U/tr:w-160,f-png/photos/cat.jpg"
is "explicit f-png: PNG" "$(header Content-Type "$D/h")" image/png
is "explicit format: no Vary" "$(header Vary "$D/h")" ""
curl -s -o "$D/img" "$U/tr:w-400/photos/cat.jpg?tr=rt-90"
is "path then query steps" "$(dims "$D/img")" 267x400
curl -s -o "$D/img" "$U/photos/cat.jpg?tr=w-240%2Ch-120"
is "query form, encoded commas" "$(dims "$D/img")" 240x120
curl -s -o "$D/img" "$U/tr:n-thumb/photos/cat.jpg"
is "named transformation" "$(dims "$D/img")" 100x100
curl -s -o "$D/img" "$U/tr:w-50/photos/big%20cat%20%C3%A9.jpg"
is "encoded UTF-8 file name" "$(dims "$D/img")" 50x33
curl -s -o "$D/img" "$U/photos/cat.jpg?tr=orig-true"
is "orig-true: the original bytes" "$(sha "$D/img")" "$(sha "$SRC/photos/cat.jpg")"
curl -s -D "$D/h" -o "$D/img" -H 'Accept: image/webp' "$U/photos/cat.jpg"
is "no tr: ImageKit's default optimisation (f-auto)" "$(header Content-Type "$D/h")" image/webp
is "no tr: size kept" "$(dims "$D/img")" 1200x800
curl -s -D "$D/h" -o "$D/img" "$U/tr:w-20/photos/logo.png"
is "PNG with alpha stays PNG" "$(header Content-Type "$D/h")" image/png
is "alpha kept" "$(vipsheader -f bands "$D/img")" 4
curl -s -D "$D/h" -o "$D/img" "$U/tr:w-300/docs/style.css"
is "a non-image with tr: as it is" "$(sha "$D/img")" "$(sha "$SRC/docs/style.css")"
is "CSS Content-Type" "$(header Content-Type "$D/h")" "text/css; charset=utf-8"
curl -s -D "$D/h" -o /dev/null "$U/tr:w-100/photos/cat.jpg?ik-attachment=true"
is "ik-attachment" "$(header Content-Disposition "$D/h")" \
    "attachment; filename=\"cat.jpg\"; filename*=UTF-8''cat.jpg"
curl -s -D "$D/h" -o "$D/img" "$U/tr:w-120,di-photos@@cat.jpg/photos/missing.jpg"
is "di-: the default image when missing" "$(sed -n '1s/\r$//p' "$D/h")" "HTTP/1.1 200 OK"
is "di-: transformed too" "$(dims "$D/img")" 120x80
is "di-: short Cache-Control" "$(header Cache-Control "$D/h")" "public, max-age=60"
curl -s -D "$D/h" -o "$D/img" -H 'Sec-CH-Width: 240' "$U/tr:w-auto/photos/cat.jpg"
is "w-auto: Sec-CH-Width 240 rounded up to 100s, as ImageKit" "$(dims "$D/img")" 300x200
is "client hints: Vary" "$(header Vary "$D/h")" "Accept, Sec-CH-DPR, Sec-CH-Width"
is "client hints: Accept-CH" "$(header Accept-CH "$D/h")" "Sec-CH-DPR, Sec-CH-Width"
hint_etag=$(header ETag "$D/h")
curl -s -D "$D/h" -o "$D/img" -H 'Sec-CH-DPR: 2' "$U/tr:w-100,dpr-auto/photos/cat.jpg"
is "dpr-auto from Sec-CH-DPR" "$(dims "$D/img")" 200x133
curl -s -D "$D/h" -o /dev/null -H 'Sec-CH-Width: 300' "$U/tr:w-auto/photos/cat.jpg"
is "a hint that rounds to the same 300 px, the same ETag" "$(header ETag "$D/h")" "$hint_etag"
curl -s -D "$D/h" -o /dev/null -H 'Sec-CH-Width: 301' "$U/tr:w-auto/photos/cat.jpg"
ok "another hint, another ETag" test "$(header ETag "$D/h")" != "$hint_etag"
curl -s -D "$D/h" -o "$D/img" -r 0-9 "$U/tr:w-300/photos/cat.jpg"
is "Range on a derived image" "$(wc -c <"$D/img")" 10

# ---- errors ----------------------------------------------------------------------------------
is "bad chain: 400" "$(status "$U/tr:wx-300/photos/cat.jpg" -D "$D/h" -o "$D/body")" 400
ok "bad chain: parser message in ik-error" grep -q "unknown parameter 'wx'" <<<"$(header ik-error "$D/h")"
ok "bad chain: parser message in the body" grep -q "unknown parameter 'wx'" "$D/body"
is "errors: short Cache-Control" "$(header Cache-Control "$D/h")" "public, max-age=60"
is "bad value: 400" "$(status "$U/photos/cat.jpg?tr=q-0")" 400
is "missing: 404" "$(status "$U/photos/nope.jpg" -D "$D/h")" 404
ok "missing: ik-error ENOENT" grep -q '^ENOENT' <<<"$(header ik-error "$D/h")"
is "missing di- too: 404" "$(status "$U/tr:di-nope.jpg/nope.jpg")" 404
is "a folder is not a file" "$(status "$U/photos")" 404
is "the endpoint alone: 404" "$(status "$U/")" 404
is "no endpoint: 404" "$(status "$HTTPD_URL/elsewhere/x.jpg")" 404
is "corrupt image: 422" "$(status "$U/tr:w-10/photos/broken.jpg" -D "$D/h")" 422
ok "corrupt image: ik-error EBADMSG" grep -q '^EBADMSG' <<<"$(header ik-error "$D/h")"
is "corrupt image as original: 200" "$(status "$U/photos/broken.jpg?tr=orig-true")" 200
is "POST: 405" "$(status "$U/docs/readme.txt" -X POST -d x -D "$D/h")" 405
is "405 Allow" "$(header Allow "$D/h")" "GET, HEAD"
long=$(head -c 5000 /dev/zero | tr '\0' a)
is "URL too long: 414" "$(status "$U/$long.jpg")" 414
is "headers too large: 431" "$(status "$U/docs/readme.txt" -H "X-Big: $long$long$long")" 431
is "still serving after errors" "$(status "$U/docs/readme.txt")" 200

# ---- confinement -----------------------------------------------------------------------------
for bad in "../etc/passwd" "%2e%2e/%2e%2e/etc/passwd" "docs/..%2f..%2f..%2fetc%2fpasswd" \
    "docs/%2E%2E/%2E%2E/etc/passwd" "docs%5c..%5c..%5cetc%5cpasswd" 'docs\..\x' \
    "docs/readme.txt%00.jpg" "docs//readme.txt" "./docs/readme.txt" "docs/%0d%0aX:1"; do
    code=$(curl -s --path-as-is -o "$D/body" -w '%{http_code}' "$U/$bad")
    ok "refused with 4xx: $bad ($code)" test "${code:0:1}" = 4
    fails "nothing leaked: $bad" grep -q 'root:' "$D/body"
done
is "symlink out of the origin: 403" "$(status "$HTTPD_URL/local/out/secret.txt" -D "$D/h")" 403
ok "symlink: ik-error says why" grep -q 'symlink' <<<"$(header ik-error "$D/h")"
is "symlinked file: 403" "$(status "$HTTPD_URL/local/sub/secret.txt")" 403
is "a plain file next to them: 200" "$(status "$HTTPD_URL/local/inside.txt")" 200

# ---- origins and hosts -----------------------------------------------------------------------
is "origin preference: first origin wins" "$(curl -s "$HTTPD_URL/multi/both.txt")" "from a"
is "origin preference: falls through" "$(curl -s "$HTTPD_URL/multi/only-b.txt")" "only in b"
is "origin preference: missing everywhere" "$(status "$HTTPD_URL/multi/none.txt")" 404
is "custom domain at /" "$(status "$HTTPD_URL/docs/readme.txt" -H 'Host: static.example.com')" 200
is "custom domain with port, any case" \
    "$(status "$HTTPD_URL/docs/readme.txt" -H 'Host: Static.Example.COM:8080')" 200
is "other hosts have no / endpoint" "$(status "$HTTPD_URL/docs/readme.txt")" 404
curl -s -o "$D/img" -H 'Host: static.example.com' "$HTTPD_URL/tr:w-30/photos/cat.jpg"
is "custom domain transforms" "$(dims "$D/img")" 30x20

# ---- single flight ---------------------------------------------------------------------------
before=$(curl -s "$HTTPD_URL/healthz")
pids=()
for i in $(seq 8); do
    curl -s -o "$D/sf.$i" "$U/tr:w-333,bl-3/photos/cat.jpg" &
    pids+=($!)
done
wait "${pids[@]}"
after=$(curl -s "$HTTPD_URL/healthz")
field() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" <<<"$2"; }
is "8 identical concurrent misses: one transform" \
    "$(($(field cache_misses "$after") - $(field cache_misses "$before")))" 1
is "all 8 got the image" "$(cat "$D"/sf.* | sha256sum)" "$(for i in $(seq 8); do cat "$D/sf.1"; done | sha256sum)"

# ---- access log, SIGTERM ---------------------------------------------------------------------
ok "access log in combined format" grep -qE \
    '^127\.0\.0\.1 - - \[[0-9]{2}/[A-Z][a-z]{2}/[0-9]{4}:[0-9:]{8} [+-][0-9]{4}\] "GET /demo/docs/readme\.txt HTTP/1\.1" 200 [0-9]+ "-" "curl/[^"]*"$' \
    "$T/access.log"
ok "access log has the 431" grep -q '" 431 ' "$T/access.log"
running() { curl -s "$HTTPD_URL/healthz" | grep -q '"transforms_running":1'; }
curl -s -o "$D/slow" "$U/tr:w-1100,bl-40/photos/cat.jpg" &
slow=$!
ok "a slow transform is running" wait_until 10 running
ok "SIGTERM: exits 0" httpd_stop
wait $slow
is "SIGTERM: the request in flight finished" "$(dims "$D/slow")" 1100x733
fails "SIGTERM: no longer listening" curl -s -o /dev/null "$HTTPD_URL/healthz"
ok "no secrets or errors logged" test -z "$(grep -E ' error: ' "$HTTPD_LOG" || true)"
