#!/usr/bin/env bash
# Connections an attacker holds: a request head trickled a byte at a time is cut off at
# --header-timeout (libmicrohttpd's idle timeout alone never fires); one address gets at most
# --max-connections-per-ip; descriptors start at the hard limit; and running out of them
# answers 503, never 500. Scaled down with small option values so it runs in seconds.
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/httpd_lib.sh"

conns() { node "$ROOT/tests/httpd_conns.mjs" "$@"; }
json() { sed -n "s/.*\"$1\":\"\{0,1\}\([^,\"}]*\).*/\1/p"; }
mkdir -p "$T/local"
echo "local file" >"$T/local/x.txt"

HTTPD_PREFIX="prlimit --nofile=256:4096" httpd_start --endpoint "/local=$T/local" \
    --header-timeout 1 --timeout 30 --max-connections 4 --max-connections-per-ip 3
port=${HTTPD_URL##*:}
is "descriptors raised from the soft limit to the hard one" \
    "$(awk '/Max open files/ {print $4, $5}' "/proc/$HTTPD_PID/limits")" "4096 4096"
is "no core dumps" "$(awk '/Max core file size/ {print $5}' "/proc/$HTTPD_PID/limits")" 0

conns trickle "$port" 3 300 15000 >"$T/trickle"
is "3 sockets trickling a request head a byte every 0.3 s: all closed by the server" \
    "$(json closed <"$T/trickle")" 3
ms=$(json ms <"$T/trickle")
ok "soon after --header-timeout 1 s, though each byte came well within --timeout ($ms ms)" \
    test "$ms" -lt 6000
is "a normal request is served afterwards" "$(status "$HTTPD_URL/local/x.txt")" 200

conns hold "$port" 3 8000 >"$T/hold" &
holder=$!
at_exit "kill $holder 2>/dev/null"
wait_until 20 grep -q held "$T/hold"
is "3 connections from 127.0.0.1 held" "$(json held <"$T/hold")" 3
rc=0
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$HTTPD_URL/local/x.txt") || rc=$?
ok "a 4th from the same address is refused (status $code, curl $rc)" test "$code" = 000
is "another address is still served" \
    "$(curl -s -o /dev/null -w '%{http_code}' --interface 127.0.0.2 "$HTTPD_URL/local/x.txt")" 200
kill "$holder" 2>/dev/null || true
ok "SIGTERM: exits 0" httpd_stop

HTTPD_PREFIX="prlimit --nofile=96:96" httpd_start --endpoint "/local=$T/local" \
    --header-timeout 60 --max-connections 1000 --max-connections-per-ip 1000 --io-threads 1 \
    --origin-threads 2 --workers 1
conns exhaust "${HTTPD_URL##*:}" /local/x.txt 400 >"$T/exhaust"
held=$(json held <"$T/exhaust")
ok "connections held until descriptors ran out ($held)" test "$held" -gt 10 -a "$held" -lt 96
is "then a file needs one: 503" "$(json status <"$T/exhaust")" 503
ok "ik-error says so ($(json ikerror <"$T/exhaust"))" grep -q '^EMFILE' <(json ikerror <"$T/exhaust")
is "descriptors back: served again" "$(status "$HTTPD_URL/local/x.txt")" 200
ok "SIGTERM: exits 0" httpd_stop
