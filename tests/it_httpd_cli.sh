#!/usr/bin/env bash
# blobhttpd's command line and config file: help, version, refusals with clear messages, and
# a server configured by a file alone.
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/httpd_lib.sh"

H=$BIN/blobhttpd
quiet() { "$@" >/dev/null; }
ok "--help exits 0" quiet "$H" --help
ok "--help lists --endpoint" grep -q -- '--endpoint' <("$H" --help)
ok "--version" grep -q '^blobhttpd [0-9]' <("$H" --version)
refused() { # DESCRIPTION WANT_IN_STDERR ARGS...
    local desc=$1 want=$2 rc=0; shift 2
    "$H" "$@" >/dev/null 2>"$T/err" || rc=$?
    ok "$desc: exits non-zero ($rc)" test "$rc" != 0
    ok "$desc: says '$want'" grep -qF -- "$want" "$T/err"
}
refused "no endpoint" "no endpoint" --listen 127.0.0.1:0
refused "unknown option" "unrecognized option" --bogus 1 --endpoint /a=/tmp
refused "stray argument" "unexpected argument 'extra'" --endpoint /a=/tmp extra
refused "bad endpoint" "is not [HOST]/PREFIX=DIR" --endpoint demo=/tmp
refused "bad number" "workers: 'many'" --workers many --endpoint /a=/tmp
refused "missing origin" "cannot open origin $T/nope" --endpoint "/a=$T/nope" --listen 127.0.0.1:0
: >"$T/empty.key"
refused "empty key file" "file is empty" --endpoint /a=/tmp --sign-key-file "$T/empty.key"
refused "bad named chain" "named 'x'" --endpoint /a=/tmp --named x=wx-1 --listen 127.0.0.1:0
printf 'endpoint /a=/tmp\nworkers zero\n' >"$T/bad.conf"
refused "bad config line" "$T/bad.conf:2: workers" --config "$T/bad.conf"

mkdir -p "$T/media/photos"
photo "$T/media/photos/p.jpg" 600 400
photo "$T/media/photos/big.jpg" 1500 1000
cat >"$T/blobhttpd.conf" <<CONF
# blobhttpd configured by a file alone
endpoint = /site=$T/media
named = card=w-120,h-90
cache-control   public, max-age=77
error-cache-control = no-cache
max-megapixels 1
CONF
httpd_start --config "$T/blobhttpd.conf"
is "config: endpoint" "$(status "$HTTPD_URL/site/tr:n-card/photos/p.jpg" -o "$T/img" -D "$T/h")" 200
is "config: named transformation" "$(dims "$T/img")" 120x90
is "config: cache-control" "$(header Cache-Control "$T/h")" "public, max-age=77"
status "$HTTPD_URL/site/none.jpg" -D "$T/h" >/dev/null
is "config: error-cache-control" "$(header Cache-Control "$T/h")" no-cache
is "config: a source over max-megapixels: 413" \
    "$(status "$HTTPD_URL/site/tr:w-10/photos/big.jpg" -D "$T/h")" 413
ok "413: ik-error ELIMIT" grep -q '^ELIMIT' <<<"$(header ik-error "$T/h")"
refused "address in use" "cannot listen" --endpoint /a=/tmp --listen "${HTTPD_URL#http://}"
ok "SIGTERM: exits 0" httpd_stop
