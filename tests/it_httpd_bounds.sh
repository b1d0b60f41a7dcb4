#!/usr/bin/env bash
# Per-request bounds of a transform: --transform-timeout (504), --max-transform-mb (413), and
# a client that hangs up cancels its transform, unless another client waits on the same one.
# An AVIF encode of 2 MP of colour noise (about eight seconds of one worker) stands in for an
# expensive request. Passes once tr_apply() honours tr_request's max_mem, deadline_ns and cancel.
# run alone: it bounds how long a transform runs after its client left (tests/run.sh)
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/httpd_lib.sh"

mkdir -p "$T/m"
for b in r g b; do vips gaussnoise "$T/$b.v" 1400 1400 --sigma 60; done
vips bandjoin "$T/r.v $T/g.v $T/b.v" "$T/rgb.v" && vips copy "$T/rgb.v" "$T/m/big.jpg[Q=90]"
rm -f "$T"/*.v
photo "$T/m/small.jpg" 200 100
gauge() { curl -s --max-time 5 "$HTTPD_URL/healthz" | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"; }
running() { test "$(gauge transforms_running)" = "$1"; }

httpd_start --endpoint "/m=$T/m" --workers 1 --transform-timeout 120 --log-level debug
curl -s -o /dev/null -w '%{http_code}' --max-time 60 "$HTTPD_URL/m/tr:f-avif,q-90/big.jpg" \
    >"$T/first" &
waiter=$!
at_exit "kill $waiter 2>/dev/null"
ok "a slow transform runs" wait_until 20 running 1
curl -s -o /dev/null --max-time 1 "$HTTPD_URL/m/tr:f-avif,q-90/big.jpg" || true
rc=0
wait "$waiter" || rc=$?
is "a second client of the same transform hangs up: the first still gets it" \
    "$rc $(cat "$T/first")" "0 200"
fails "and it was never cancelled" grep -q 'cancelling it' "$HTTPD_LOG"
curl -s -o /dev/null --max-time 1 "$HTTPD_URL/m/tr:f-avif,q-91/big.jpg" || true
ok "a transform's only client hangs up: blobhttpd cancels it" \
    wait_until 5 grep -q 'cancelling it' "$HTTPD_LOG"
ok "a transform's only client hangs up: it stops within 3 s" wait_until 3 running 0
t=$(elapsed_ms curl -s -o /dev/null "$HTTPD_URL/m/tr:w-50/small.jpg")
ok "and the one worker is free for the next request ($t ms)" test "$t" -lt 3000
ok "SIGTERM: exits 0" httpd_stop

# Each bound alone: the AVIF encode's own memory (counted by tr_apply) is over 8 MB, so with
# both set the budget would answer first.
httpd_start --endpoint "/m=$T/m" --workers 1 --transform-timeout 1
code=$(status "$HTTPD_URL/m/tr:f-avif,q-90/big.jpg" -D "$T/h" --max-time 30)
is "over --transform-timeout: 504" "$code" 504
ok "ik-error ETIMEDOUT" grep -q '^ETIMEDOUT' <<<"$(header ik-error "$T/h")"
ok "SIGTERM: exits 0" httpd_stop

httpd_start --endpoint "/m=$T/m" --workers 1 --max-transform-mb 8
is "over --max-transform-mb: 413" "$(status "$HTTPD_URL/m/tr:w-2000,bl-5/big.jpg" -D "$T/h")" 413
ok "ik-error ELIMIT" grep -q '^ELIMIT' <<<"$(header ik-error "$T/h")"
is "a small transform fits both" "$(status "$HTTPD_URL/m/tr:w-50/small.jpg")" 200
ok "SIGTERM: exits 0" httpd_stop
