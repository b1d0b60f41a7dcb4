#!/usr/bin/env bash
# Smaller hardening of blobhttpd: SIGHUP reopens both logs and re-reads the signing key (and the
# server stays up); the access log escapes every field a client controls; originals a browser
# could render as a document are sandboxed, and nothing is content-sniffed.
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/httpd_lib.sh"

M=$T/media
mkdir -p "$M/photos" "$M/docs"
photo "$M/photos/p.jpg" 300 200
printf '<html><script>alert(document.cookie)</script></html>\n' >"$M/docs/page.html"
printf '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>\n' \
    >"$M/docs/a.svg"
printf '<?xml version="1.0"?><x/>\n' >"$M/docs/data.xml"
printf 'plain\n' >"$M/docs/x.txt"
printf 'first-key\n' >"$T/key"
httpd_start --endpoint "/s=$M" --public-endpoint "/pub=$M" --public-endpoint "/site=$M" \
    --trusted-documents /site --sign-key-file "$T/key" --access-log "$T/access.log"
sign() { node "$ROOT/tests/node/imagekit.mjs" sign "$HTTPD_URL/s" "$T/key" "$1"; }

# ---- security headers
hdrs() { curl -s -o /dev/null -D "$T/h" "$HTTPD_URL/pub/$1"; }
for f in docs/page.html docs/a.svg docs/data.xml; do
    hdrs "$f"
    is "$f: Content-Security-Policy: sandbox" "$(header Content-Security-Policy "$T/h")" sandbox
    is "$f: nosniff" "$(header X-Content-Type-Options "$T/h")" nosniff
done
curl -s -o /dev/null -D "$T/h" "$HTTPD_URL/site/docs/page.html"
is "a page of a --trusted-documents endpoint: no sandbox" \
    "$(header Content-Security-Policy "$T/h")" ""
is "and still nosniff" "$(header X-Content-Type-Options "$T/h")" nosniff
hdrs docs/x.txt
is "text/plain: nosniff" "$(header X-Content-Type-Options "$T/h")" nosniff
is "text/plain: no sandbox needed" "$(header Content-Security-Policy "$T/h")" ""
hdrs "tr:w-100/photos/p.jpg"
is "a derived image: nosniff" "$(header X-Content-Type-Options "$T/h")" nosniff
is "a derived image: no sandbox" "$(header Content-Security-Policy "$T/h")" ""
hdrs "docs/none.html"
is "an error: nosniff" "$(header X-Content-Type-Options "$T/h")" nosniff

# ---- the access log: one well-formed line per request, whatever the client sent
raw() { # send one raw request, wait for the answer
    exec 3<>"/dev/tcp/127.0.0.1/${HTTPD_URL##*:}"
    printf '%b' "$1" >&3
    timeout 5 cat <&3 >/dev/null || true
    exec 3<&-
}
raw 'G"ET /pub/docs/x.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
raw 'GET /pub/docs/x.txt HTTP/1.1\r\nHost: x\r\nUser-Agent: a" "b\r\nReferer: \\"\r\nConnection: close\r\n\r\n'
curl -s -o /dev/null "$HTTPD_URL/pub/docs/x.txt?q=%22a%22"
field='"([^"\\]|\\.)*"'
line_re="^[^ ]+ - - \\[[^]]+\\] $field [0-9]{3} [0-9]+ $field $field\$"
wait_until 5 grep -q 'q=' "$T/access.log"
is "every access-log line is well formed" "$(grep -cvE "$line_re" "$T/access.log")" 0
ok "a '\"' in the method is escaped" grep -q '"G\\x22ET /pub/docs/x.txt' "$T/access.log"
ok "and in the User-Agent" grep -q '"a\\x22 \\x22b"$' "$T/access.log"

# ---- SIGHUP: logs reopened, key re-read, still serving
first=$(sign /photos/p.jpg)
is "signed with the first key: 200" "$(status "$first")" 200
mv "$T/access.log" "$T/access.log.1"
mv "$HTTPD_LOG" "$HTTPD_LOG.1"
printf 'second-key\n' >"$T/key"
kill -HUP "$HTTPD_PID"
ok "the diagnostic log is reopened" wait_until 10 grep -qs 'SIGHUP' "$HTTPD_LOG"
ok "still running after SIGHUP" kill -0 "$HTTPD_PID"
is "the first key no longer verifies: 401" "$(status "$first")" 401
is "the second key does: 200" "$(status "$(sign /photos/p.jpg)")" 200
ok "the access log is reopened: new lines go to the new file" \
    wait_until 5 grep -q 'HTTP/1.1" 200' "$T/access.log"
ok "and none after the rotation to the old one" test "$(grep -c ' 401 ' "$T/access.log.1")" = 0
: >"$T/key"
kill -HUP "$HTTPD_PID"
ok "an empty key file is refused on reload" wait_until 10 grep -qs 'old key stays' "$HTTPD_LOG"
is "and the last good key stays" "$(status "$(printf 'second-key\n' >"$T/k2" && node \
    "$ROOT/tests/node/imagekit.mjs" sign "$HTTPD_URL/s" "$T/k2" /photos/p.jpg)")" 200
ok "SIGTERM: exits 0" httpd_stop
