#!/usr/bin/env bash
# The console's HTTP side with curl: off by default (404, and /_blobkit/ reserved even then),
# its page and JSON API with no-store and a self-only Content-Security-Policy on every answer,
# listings paged within their caps, names confined exactly as URL paths ('..', encoded or not,
# symlinks, NUL), a file's facts matching what the file is served with, URLs that route back
# (signed ones verified by the server itself), and Basic auth with the signing key: 401 without
# or with a wrong one, 200 with it, the new key after SIGHUP, the key in no answer or log.
# The browser side is it_browser_console.
set -eu
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/httpd_lib.sh"

root=$T/root
make_images "$root"
mkdir -p "$root/many" "$root/_blobkit" "$T/outside"
(cd "$root/many" && seq -f 'n%04g.txt' 1 1234 | xargs touch)
echo reserved >"$root/_blobkit/x.txt"
echo secret >"$T/outside/secret.txt"
ln -s "$T/outside" "$root/out"
ln -s ../docs/readme.txt "$root/photos/link.txt"
cp "$root/photos/cat.jpg" "$root/photos/<b> \"q\" & é.jpg"

get() { curl -s -o "$T/body" -D "$T/head" -w '%{http_code}' "$@"; }
hdr() { header "$1" "$T/head"; }
j() { jq -r "$1" "$T/body"; }

# ---- off by default ---------------------------------------------------------------------------
httpd_start --endpoint "/=$root"
is "off by default: /_blobkit/ is 404" "$(get "$HTTPD_URL/_blobkit/")" 404
is "off by default: the API is 404" "$(get "$HTTPD_URL/_blobkit/api/endpoints")" 404
is "reserved even when off: a root endpoint's _blobkit/ folder is not served" \
    "$(get "$HTTPD_URL/_blobkit/x.txt")" 404
is "the rest of the root endpoint is served" "$(get "$HTTPD_URL/docs/readme.txt")" 200
httpd_stop

# ---- on, no key -------------------------------------------------------------------------------
httpd_start --endpoint "/demo=$root" --console on
u=$HTTPD_URL/_blobkit
csp="default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
for page in / /console.css /console.js /favicon.svg /api/endpoints /api/list?ep=0 /nope \
    '/api/list?ep=0&path=..'; do
    get "$u$page" >/dev/null
    ok "$page: no-store and the self-only CSP" \
        test "$(hdr Cache-Control)|$(hdr Content-Security-Policy)" = "no-store|$csp"
done
is "the page" "$(get "$u/")" 200
is "the page is HTML" "$(hdr Content-Type)" "text/html; charset=utf-8"
ok "the page loads its script and style from the console only" \
    grep -q 'src="/_blobkit/console.js"' "$T/body"
fails "and nothing from elsewhere" grep -qE '(src|href)="(https?:)?//' "$T/body"
is "/_blobkit without the slash is the page too" "$(get "$u")" 200
is "the script" "$(get "$u/console.js")|$(hdr Content-Type)" "200|text/javascript; charset=utf-8"
ok "the script is the one in the tree" cmp -s "$T/body" "$ROOT/httpd/console/console.js"
is "the style" "$(get "$u/console.css")|$(hdr Content-Type)" "200|text/css; charset=utf-8"
is "HEAD of the page" "$(curl -s -I -o /dev/null -w '%{http_code}' "$u/")" 200
is "POST is refused" "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$u/api/endpoints")" 405
is "an unknown console page" "$(get "$u/nope")|$(j .code)" "404|ENOENT"

is "endpoints" "$(get "$u/api/endpoints")" 200
is "endpoints: JSON" "$(hdr Content-Type)" application/json
is "endpoints: /demo, unsigned" "$(j '.endpoints[0].prefix, .signed' | tr '\n' ' ')" "/demo false "

# Listings: folders first, then names; paging within the caps.
is "the top" "$(get "$u/api/list?ep=0")" 200
is "the top: folders first" "$(j '[.entries[].name] | join(" ")')" \
    "_blobkit docs many photos video out"
is "a symlink to a folder is shown as other" "$(j '.entries[] | select(.name == "out") | .kind')" other
is "many: the default page is 200 of 1234" "$(get "$u/api/list?ep=0&path=many")|$(j '.total, .limit, (.entries | length)' | tr '\n' ' ')" \
    "200|1234 200 200 "
is "limit=100000 is capped at 500" "$(get "$u/api/list?ep=0&path=many&limit=100000")|$(j '.limit, (.entries | length)' | tr '\n' ' ')" \
    "200|500 500 "
is "limit=0 is 1" "$(get "$u/api/list?ep=0&path=many&limit=0")|$(j '(.entries | length)')" "200|1"
is "offset 1200: the last 34" "$(get "$u/api/list?ep=0&path=many&offset=1200")|$(j '.entries[0].name, (.entries | length)' | tr '\n' ' ')" \
    "200|n1201.txt 34 "
is "past the end: none, the total still said" "$(get "$u/api/list?ep=0&path=many&offset=5000")|$(j '.total, (.entries | length)' | tr '\n' ' ')" \
    "200|1234 0 "
is "a filter, letters in any case" "$(get "$u/api/list?ep=0&path=many&q=N123")|$(j '[.entries[].name] | join(" ")')" \
    "200|n1230.txt n1231.txt n1232.txt n1233.txt n1234.txt"
for bad in 'offset=-1' 'offset=x' 'limit=1e3' 'offset=99999999999' 'q=%zz'; do
    is "list with $bad: 400" "$(get "$u/api/list?ep=0&path=many&$bad")" 400
done
for bad in 'ep=' 'ep=x' 'ep=-1' 'path=many'; do
    is "list with $bad and no other ep: 400" "$(get "$u/api/list?$bad")" 400
done
is "an unknown endpoint: 404" "$(get "$u/api/list?ep=7")" 404

# Confinement: the same rules as URL paths.
for bad in .. '%2e%2e' '%2E%2E%2Fetc' 'many/../..' 'many/./x' 'a//b' '%00' 'a%5Cb' 'a%0Ab' '%zz'; do
    is "path=$bad is refused (400)" "$(get "$u/api/list?ep=0&path=$bad")|$(j .code)" "400|EINVAL"
done
is "a symlinked folder is not followed (403)" "$(get "$u/api/list?ep=0&path=out")" 403
fails "nothing of it is listed" grep -q secret "$T/body"
is "a missing folder: 404" "$(get "$u/api/list?ep=0&path=nope")" 404
is "a file is no folder: 404" "$(get "$u/api/list?ep=0&path=docs/readme.txt")" 404
is "facts of a symlink: 403" "$(get "$u/api/file?ep=0&path=photos/link.txt")" 403
is "facts through a symlinked folder: 403" "$(get "$u/api/file?ep=0&path=out/secret.txt")" 403
is "facts of ..: 400" "$(get "$u/api/file?ep=0&path=photos/../../outside/secret.txt")" 400

# A file's facts are what the file is served with.
is "facts of cat.jpg" "$(get "$u/api/file?ep=0&path=photos/cat.jpg")" 200
cp "$T/body" "$T/facts"
get "$HTTPD_URL/demo/photos/cat.jpg?tr=orig-true" >/dev/null
is "its ETag is the one served" "$(jq -r .etag "$T/facts")" "$(hdr ETag)"
is "its Last-Modified too" "$(jq -r .last_modified "$T/facts")" "$(hdr Last-Modified)"
is "type, size and pixels" "$(jq -r '[.type, .size, .width, .height, .orientation] | join(" ")' "$T/facts")" \
    "image/jpeg $(stat -c %s "$root/photos/cat.jpg") 1200 800 1"
is "its original's URL answers with the bytes" "$(get "$HTTPD_URL$(jq -r .original "$T/facts")")|$(sha "$T/body")" \
    "200|$(sha "$root/photos/cat.jpg")"
is "a text file: its type, no pixels" "$(get "$u/api/file?ep=0&path=docs/readme.txt")|$(j '.type, .kind, .width' | tr '\n' ' ')" \
    "200|text/plain; charset=utf-8 file null "
is "a broken JPEG: facts, and why there are no pixels" "$(get "$u/api/file?ep=0&path=photos/broken.jpg")|$(j '.kind, (.probe_error | length > 0)' | tr '\n' ' ')" \
    "200|image true "
is "facts need a file" "$(get "$u/api/file?ep=0")" 400

# Thumbnails and URLs route back to the file, odd names included.
get "$u/api/list?ep=0&path=photos" >/dev/null
odd=$(j '.entries[] | select(.name == "<b> \"q\" & é.jpg") | .thumb')
ok "the names in JSON are escaped for HTML too" grep -qF '\u003cb\u003e \"q\" \u0026' "$T/body"
is "an odd name has a thumbnail URL" "${odd:0:28}" "/demo/tr:w-160,h-160/photos/"
is "which decodes at 160x160" "$(get "$HTTPD_URL$odd")|$(dims "$T/body")" "200|160x160"
is "url: a chain" "$(get "$u/api/url?ep=0&path=photos/cat.jpg&tr=w-123%2Ch-45")|$(j '.url, .here, .signed' | tr '\n' ' ')" \
    "200|/demo/tr:w-123,h-45/photos/cat.jpg true false "
is "and it answers 123x45" "$(get "$HTTPD_URL$(j .url)")|$(dims "$T/body")" "200|123x45"
is "url: a path that is too long: 414" "$(get "$u/api/url?ep=0&path=$(printf 'a%.0s' $(seq 2100))")" 414
httpd_stop

# ---- with a key -------------------------------------------------------------------------------
printf 'private_first_key\n' >"$T/key"
httpd_start --endpoint "/private=$root" --console on --sign-key-file "$T/key" \
    --access-log "$T/access2.log"
u=$HTTPD_URL/_blobkit
is "no credentials: 401" "$(get "$u/api/endpoints")" 401
is "with a Basic challenge" "$(hdr WWW-Authenticate)" 'Basic realm="blobkit console", charset="UTF-8"'
is "the page too" "$(get "$u/")" 401
is "a wrong key: 401" "$(get -u private_first_kex: "$u/api/endpoints")" 401
is "a longer one: 401" "$(get -u private_first_key2: "$u/api/endpoints")" 401
is "the key as the user name: 200" "$(get -u private_first_key: "$u/api/endpoints")" 200
is "the URLs handed out are signed" "$(j .signed)" true
get -u private_first_key: "$u/api/url?ep=0&path=photos/cat.jpg&tr=w-50" >/dev/null
signed=$(j .url)
ok "a signed URL ($signed)" grep -qE '^/private/tr:w-50/photos/cat.jpg\?ik-s=[0-9a-f]{40}$' <<<"$signed"
is "the server takes its signature" "$(get "$HTTPD_URL$signed")|$(dims "$T/body")" "200|50x33"
is "and refuses the URL unsigned" "$(get "$HTTPD_URL${signed%%\?*}")" 401
get -u private_first_key: "$u/api/list?ep=0&path=photos" >/dev/null
thumb=$(j '.entries[] | select(.name == "cat.jpg") | .thumb')
is "signed thumbnails answer" "$(get "$HTTPD_URL$thumb")" 200
printf 'private_second_key\n' >"$T/key"
kill -HUP "$HTTPD_PID"
wait_until 10 grep -q 'SIGHUP' "$HTTPD_LOG"
is "after SIGHUP the old key is refused" "$(get -u private_first_key: "$u/api/endpoints")" 401
is "and the new one taken" "$(get -u private_second_key: "$u/api/endpoints")" 200
httpd_stop
fails "no key in the access log" grep -qE 'private_(first|second)_key' "$T/access2.log"
fails "no key in the log" grep -qE 'private_(first|second)_key' "$HTTPD_LOG"
