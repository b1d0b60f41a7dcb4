#!/usr/bin/env bash
# blobhttpd for operators, on a blobfs mount: GET /metrics parses with Prometheus's own parser
# and its counters move exactly with the requests this test makes (by endpoint and status, by
# kind, transforms by format, the cache, origin errors), never labelled by a path or chain;
# --metrics-listen moves it to a listener of its own. /readyz follows the origins (a blobfs
# killed, then mounted again; one that stops answering) and the drain after SIGTERM.
# X-Request-Id is echoed or made, and found in the JSON access log and the diagnostics.
set -eu
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/httpd_lib.sh"
. "$ROOT/tests/metrics_lib.sh"

azurite_start
seed_media media "$T/src"
mnt=$T/mnt local=$T/local
mkdir -p "$local"
head -c $((32 << 20)) /dev/zero >"$local/big.bin"
blobfs_mount media "$mnt" --attr-timeout 1
fs_pid=$BLOBFS_PID
httpd_start --endpoint "/demo=$mnt" --endpoint "/local=$local" --cache-mb 16 \
    --access-log "$T/access.log" --access-log-format json --shutdown-timeout 5
U=$HTTPD_URL/demo
M=$HTTPD_URL/metrics

ok "/metrics parses (Prometheus's parser)" scrape "$M" m0
is "Content-Type: the text format 0.0.4" \
    "$(curl -s -o /dev/null -w '%{content_type}' "$M")" "text/plain; version=0.0.4; charset=utf-8"

# ---- counters move with the requests ----------------------------------------------------------
scrape "$M" m1
status "$U/docs/readme.txt" >/dev/null
status "$U/docs/readme.txt" >/dev/null
status "$U/tr:w-100/photos/cat.jpg" -H 'Accept: image/webp' >/dev/null
status "$U/tr:w-100/photos/cat.jpg" -H 'Accept: image/webp' >/dev/null
status "$U/tr:w-120,f-png/photos/cat.jpg" >/dev/null
etag=$(curl -s -o /dev/null -D - "$U/docs/style.css" | header ETag /dev/stdin)
status "$U/docs/style.css" -H "If-None-Match: $etag" >/dev/null
status "$U/photos/nosuch.jpg" >/dev/null
status "$U/tr:wx-1/photos/cat.jpg" >/dev/null
status "$HTTPD_URL/nowhere/x" >/dev/null
scrape "$M" m2
req() { moved m1 m2 "blobkit_http_requests_total{code=\"$1\",endpoint=\"$2\"}"; }
is "200s of /demo: 2 originals + 2 derived + 1 png + the css fetch" "$(req 200 /demo)" 6
is "a 304" "$(req 304 /demo)" 1
is "a 404 and a 400 in /demo" "$(req 404 /demo)/$(req 400 /demo)" 1/1
is "a 404 outside any endpoint: endpoint \"-\"" "$(req 404 -)" 1
is "and the scrape before: 200 on \"-\"" "$(req 200 -)" 1
is "transforms: one webp (the second was a hit), one png" \
    "$(moved m1 m2 'blobkit_transform_duration_seconds_count{format="webp"}')/$(moved m1 m2 'blobkit_transform_duration_seconds_count{format="png"}')" \
    1/1
is "cache: 2 misses (the two transforms)" "$(moved m1 m2 blobkit_cache_misses_total)" 2
ok "hits: at least the webp's second request" [ "$(moved m1 m2 blobkit_cache_hits_total)" -ge 1 ]
is "durations by kind: 3 derived, 5 originals (the 304 and the scrape too), 3 errors" \
    "$(moved m1 m2 'blobkit_http_request_duration_seconds_count{kind="derived"}')/$(moved m1 m2 'blobkit_http_request_duration_seconds_count{kind="original"}')/$(moved m1 m2 'blobkit_http_request_duration_seconds_count{kind="error"}')" \
    3/5/3
ok "the cache holds bytes" [ "$(val m2 blobkit_cache_bytes)" -gt 0 ]
is "queues idle" "$(val m2 blobkit_transform_queue_length)/$(val m2 blobkit_transforms_in_progress)" 0/0
is "the version" "$(val m2 "blobkit_build_info{version=\"$(cat "$ROOT/VERSION")\"}")" 1
ok "process metrics" eval "[ \$(val m2 process_open_fds) -gt 5 ] && [ \$(val m2 process_resident_memory_bytes) -gt 1000000 ]"

# docs/grafana-blobkit.json queries only what blobhttpd exposes (blobfs's: it_blobfs_metrics).
missing=$(grep -oE '(blobkit|process)_[a-z_]+' "$ROOT/docs/grafana-blobkit.json" | sed 's/_bucket$//' |
    grep -v '^blobkit_blobfs_' | sort -u | while read -r name; do
        grep -q "^# TYPE $name " "$T/m2.txt" || echo "$name"
    done)
is "every blobhttpd metric of the Grafana dashboard is exposed" "$missing" ""

# Bounded cardinality: new paths and chains add no series.
series() { grep -c '^blobkit_' "$T/$1"; }
for i in $(seq 20); do
    status "$U/tr:w-$((100 + i))/photos/cat.jpg" -H 'Accept: image/webp' >/dev/null
    status "$U/photos/missing-$i.jpg" >/dev/null
done
scrape "$M" m3
is "40 new URLs: no new series" "$(series m3)" "$(series m2)"
fails "no path or chain in any label" grep -E 'cat\.jpg|missing-|w-1[0-9]{2}' "$T/m3"
is "labels: only endpoint, code, kind, format, errno, version (and le)" \
    "$(grep '^blobkit_' "$T/m3" | grep -o '[a-z_]*="' | tr -d '="' | sort -u |
        grep -cvxE 'code|endpoint|errno|format|kind|le|version')" 0

# ---- X-Request-Id and the JSON access log -----------------------------------------------------
curl -s -o /dev/null -D "$T/h1" -H 'X-Request-Id: 7c9e6679-7425-40de-944b-e07fc1f90ae7' \
    "$U/docs/readme.txt"
is "a sane X-Request-Id is echoed" "$(header X-Request-Id "$T/h1")" \
    7c9e6679-7425-40de-944b-e07fc1f90ae7
curl -s -o /dev/null -D "$T/h2" -H 'X-Request-Id: a b"<x>' "$U/docs/readme.txt"
curl -s -o /dev/null -D "$T/h3" -A 'a"b' "$U/docs/readme.txt"
id2=$(header X-Request-Id "$T/h2") id3=$(header X-Request-Id "$T/h3")
ok "an insane one is replaced by ours ($id2)" grep -qxE '[0-9a-f]{16}' <<<"$id2"
ok "none: ours, another one ($id3)" eval "grep -qxE '[0-9a-f]{16}' <<<'$id3' && [ '$id2' != '$id3' ]"
ok "errors carry one too" grep -qi '^X-Request-Id: ' <(curl -s -o /dev/null -D - "$U/nosuch")
wait_until 5 grep -q "$id3" "$T/access.log"
ok "every access-log line is one JSON object with the fields" /usr/bin/python3 -c '
import json, sys
want = {"time", "remote", "method", "target", "protocol", "status", "bytes", "referer",
        "user_agent", "request_id", "duration"}
for line in open(sys.argv[1]):
    o = json.loads(line)
    assert set(o) == want, o
    assert isinstance(o["status"], int) and isinstance(o["bytes"], int), o
' "$T/access.log"
ok "the client's id is in its line" grep -q '"request_id":"7c9e6679-7425-40de-944b-e07fc1f90ae7"' \
    "$T/access.log"
ok "and ours in its" grep -q "\"request_id\":\"$id3\"" "$T/access.log"
ok "a quote in a header is escaped as in the combined format (a\\x22b)" \
    grep -qF "\"user_agent\":\"a\\\\x22b\",\"request_id\":\"$id3\"" "$T/access.log"

# ---- /readyz and origin errors -----------------------------------------------------------------
is "/readyz: ready" "$(curl -s "$HTTPD_URL/readyz")" ready
is "/readyz: 200" "$(status "$HTTPD_URL/readyz")" 200
scrape "$M" e1
kill -9 "$fs_pid"
wait_until 10 eval "! kill -0 $fs_pid 2>/dev/null"
ok "blobfs killed: /readyz turns 503" wait_until 10 eval "[ \$(status '$HTTPD_URL/readyz') = 503 ]"
ok "saying which origin and why" \
    grep -q "origin $mnt: not mounted" <(curl -s "$HTTPD_URL/readyz")
is "a file not asked for before: 502" \
    "$(status "$U/photos/logo.png?tr=orig-true" -H 'X-Request-Id: dead-origin-1')" 502
scrape "$M" e2
is "origin_errors_total{errno=ENOTCONN} moved" \
    "$(moved e1 e2 'blobkit_origin_errors_total{errno="ENOTCONN"}')" 1
ok "the diagnostic line names the request" wait_until 5 grep -q "request dead-origin-1: cannot open" \
    "$HTTPD_LOG"
umount -l "$mnt" 2>/dev/null || true
blobfs_mount media "$mnt" --attr-timeout 1
ok "mounted again: ready again" wait_until 10 eval "[ \$(status '$HTTPD_URL/readyz') = 200 ]"

# An origin that stops answering: blobfs stopped, its root's attributes expire after 1 s.
at_exit "kill -CONT $BLOBFS_PID 2>/dev/null"
kill -STOP "$BLOBFS_PID"
ok "a stat that does not come back within a second: 503" \
    wait_until 15 eval "curl -s '$HTTPD_URL/readyz' | grep -q 'origin $mnt does not answer a stat within 1 s'"
ok "/healthz still answers meanwhile" eval "[ \$(status '$HTTPD_URL/healthz') = 200 ]"
kill -CONT "$BLOBFS_PID"
ok "answering again: ready" wait_until 15 eval "[ \$(status '$HTTPD_URL/readyz') = 200 ]"

# ---- draining after SIGTERM, seen on a connection already open -------------------------------
curl -s -o /dev/null --limit-rate 256k "$HTTPD_URL/local/big.bin" &
slow=$!
at_exit "kill $slow 2>/dev/null"
wait_until 10 eval "[ \$(curl -s '$HTTPD_URL/healthz' | sed 's/.*\"inflight\":\\([0-9]*\\).*/\\1/') -ge 2 ]"
# A client polls /readyz on one keep-alive connection (new ones are no longer accepted).
/usr/bin/python3 -c '
import http.client, os, sys, time
port, flag = int(sys.argv[1]), sys.argv[2]
c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
def readyz():
    c.request("GET", "/readyz")
    r = c.getresponse()
    return f"{r.status} {r.read().decode().strip()}"
print(readyz())
open(flag, "w").close()
while os.path.exists(flag):
    time.sleep(0.02)
deadline = time.time() + 5
last = readyz()
while not last.startswith("503") and time.time() < deadline:
    time.sleep(0.02)
    last = readyz()
print(last)
' "${HTTPD_URL##*:}" "$T/flag" >"$T/drain.out" &
probe=$!
wait_until 10 test -e "$T/flag"
kill -TERM "$HTTPD_PID"
wait_until 10 grep -q 'stopping' "$HTTPD_LOG"
rm -f "$T/flag"
wait "$probe" || true
is "a keep-alive connection sees ready, then 503 while draining" "$(cat "$T/drain.out")" \
    "$(printf '200 ready\n503 shutting down')"
kill "$slow" 2>/dev/null || true
ok "then it exits 0" wait "$HTTPD_PID"

# ---- --metrics-listen: a listener of their own -----------------------------------------------
httpd_start --endpoint "/local=$local" --metrics-listen 127.0.0.1:0
ml=$(sed -n 's|.*serving metrics on \(http://[^ ]*\)$|\1|p' "$HTTPD_LOG" | head -n 1)
ok "the metrics address is logged" test -n "$ml"
is "the main listener answers 404 for /metrics" "$(status "$HTTPD_URL/metrics")" 404
ok "their own listener answers, and the text parses" scrape "$ml" s1
is "it serves /metrics only" "$(status "${ml%/metrics}/healthz")" 404
is "/readyz stays on the main listener" "$(status "$HTTPD_URL/readyz")" 200
ok "stops with the server" httpd_stop
fails "the metrics listener is closed" curl -sf -o /dev/null "$ml"
"$BIN/blobhttpd" --endpoint "/l=$local" --listen 127.0.0.1:0 \
    --metrics-listen "127.0.0.1:$(cat "$AZ_DIR/port")" >"$T/busy.out" 2>&1 && rc=0 || rc=$?
is "a busy --metrics-listen address fails the start" "$rc" 1
ok "saying so" grep -q 'metrics-listen: cannot listen on 127.0.0.1:' "$T/busy.out"
