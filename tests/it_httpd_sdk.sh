#!/usr/bin/env bash
# URLs built by ImageKit's official SDKs (current @imagekit/nodejs and legacy imagekit), with
# urlEndpoint pointing at blobhttpd serving a blobfs mount: path and query placement, chains,
# formats, signed with and without expiry. Status, Content-Type and pixel size are checked.
# Then signatures: unsigned, tampered, expired, other key -> 401 on a signed endpoint.
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/httpd_lib.sh"

azurite_start
seed_media media "$T/src"
blobfs_mount media "$T/mnt"
printf 'private_%s\n' "$(head -c 18 /dev/urandom | base64 | tr '+/' 'xy')" >"$T/key"
chmod 600 "$T/key"
printf 'private_someone_else\n' >"$T/other.key"
httpd_start --endpoint "/signed=$T/mnt" --public-endpoint "/demo=$T/mnt" \
    --sign-key-file "$T/key"
D=$T/dl
mkdir -p "$D"
src_w=$(vipsheader -f width "$T/src/photos/big cat é.jpg")
src_h=$(vipsheader -f height "$T/src/photos/big cat é.jpg")

# Every case of both SDKs, on the public endpoint (signed ones are verified there too).
check_cases() { # ENDPOINT
    local sdk name type w h url n=0
    while IFS=$'\t' read -r sdk name type w h url; do
        n=$((n + 1))
        code=$(curl -s -D "$D/h" -o "$D/img" -w '%{http_code}' "$url")
        is "$sdk $name: 200 ($url)" "$code" 200
        is "$sdk $name: ${w}x$h" "$(dims "$D/img")" "${w}x$h"
        if [ "$type" != - ]; then
            is "$sdk $name: $type" "$(header Content-Type "$D/h")" "$type"
        else
            ok "$sdk $name: an image type" grep -q '^image/' <<<"$(header Content-Type "$D/h")"
        fi
    done < <(node "$ROOT/tests/node/imagekit.mjs" urls "$1" "$T/key" "/photos/big cat é.jpg" \
        "$src_w" "$src_h")
    ok "the SDKs made $n cases" test "$n" -ge 20
}
check_cases "$HTTPD_URL/demo"

# On the signed endpoint, every signed case passes and every unsigned one is refused.
signed=0 refused=0
while IFS=$'\t' read -r sdk name type w h url; do
    code=$(curl -s -o "$D/img" -w '%{http_code}' "$url")
    case $name in
    signed-*) is "$sdk $name on /signed: 200" "$code" 200
        is "$sdk $name on /signed: ${w}x$h" "$(dims "$D/img")" "${w}x$h"
        signed=$((signed + 1)) ;;
    *) is "$sdk $name unsigned on /signed: 401" "$code" 401
        refused=$((refused + 1)) ;;
    esac
done < <(node "$ROOT/tests/node/imagekit.mjs" urls "$HTTPD_URL/signed" "$T/key" \
    "/photos/big cat é.jpg" "$src_w" "$src_h")
ok "signed cases seen ($signed) and unsigned ones refused ($refused)" \
    test "$signed" -ge 6 -a "$refused" -ge 6

# Tampering, expiry, another key.
url=$(node "$ROOT/tests/node/imagekit.mjs" sign "$HTTPD_URL/signed" "$T/key" /photos/cat.jpg \
    w-200 600)
is "signed with expiry: 200" "$(status "$url" -o "$D/img")" 200
is "signed with expiry: 200x133" "$(dims "$D/img")" 200x133
is "tampered transformation: 401" "$(status "${url/w-200/w-201}" -D "$D/h")" 401
ok "401 says why" grep -qi 'signature' <<<"$(header ik-error "$D/h")"
is "tampered expiry: 401" "$(status "$(sed 's/ik-t=\([0-9]*\)/ik-t=9\1/' <<<"$url")")" 401
is "signature removed: 401" "$(status "${url%&ik-s=*}")" 401
is "signature in capitals: 200" "$(status "$(sed 's/ik-s=.*/\U&/; s/IK-S=/ik-s=/' <<<"$url")")" 200
other=$(node "$ROOT/tests/node/imagekit.mjs" sign "$HTTPD_URL/signed" "$T/other.key" \
    /photos/cat.jpg w-200 600)
is "another key: 401" "$(status "$other")" 401
expired=$(cd "$ROOT" && node -e '
    const IK = require("imagekit");
    const fs = require("fs");
    const ik = new IK({publicKey: "x", urlEndpoint: process.argv[1],
                       privateKey: fs.readFileSync(process.argv[2], "utf8").trim()});
    console.log(ik.url({path: "/photos/cat.jpg", transformation: [{width: 100}], signed: true,
                        expireSeconds: -30}));' "$HTTPD_URL/signed" "$T/key")
is "expired: 401" "$(status "$expired" -D "$D/h")" 401
ok "expired: says so" grep -qi 'expired' <<<"$(header ik-error "$D/h")"
is "expired on the public endpoint too: 401" "$(status "${expired/\/signed\//\/demo\/}")" 401
ok "the key never reaches the log" test -z "$(grep -F "$(cat "$T/key")" "$HTTPD_LOG" || true)"
fails "the key is not on blobhttpd's command line" grep -qF "$(cat "$T/key")" "/proc/$HTTPD_PID/cmdline"
