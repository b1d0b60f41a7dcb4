#!/usr/bin/env bash
# blobfs for operators: its options as fstab gives them (CONTAINER MOUNTPOINT -o key=value),
# readiness told to systemd (READY=1 once mounted, STOPPING=1 at the end, over a real
# $NOTIFY_SOCKET), and --metrics-listen: the text parses with Prometheus's own parser, and the
# counters move with the requests this test makes (list, props, get, a retry through a
# fault-injecting proxy, bytes), beside the gauges and the process metrics. Bad options fail
# before anything is mounted, without echoing a token.
set -eu
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/blobfs_lib.sh"
. "$ROOT/tests/metrics_lib.sh"

azurite_start
az container media >/dev/null
src=$T/src mnt=$T/mnt ro=$T/ro
mkdir -p "$src/dir" "$mnt" "$ro"
for i in 1 2 3 4 5; do printf 'small %s\n' "$i" >"$src/dir/s$i.txt"; done
head -c $((3 << 20)) /dev/urandom >"$src/dir/big.bin"
az upload media "$src" >/dev/null
az sas service rl media >"$T/sas"
az sas service r media >"$T/sas.r"

node "$ROOT/tests/blobfs_proxy.mjs" "$(cat "$AZ_DIR/port")" >"$T/proxy.port" &
at_exit "kill $!"
wait_until 10 test -s "$T/proxy.port"
proxy=http://127.0.0.1:$(cat "$T/proxy.port")

# systemd's side of Type=notify: a datagram socket whose messages go to a file.
/usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "ab", buffering=0) as f:
    while True:
        f.write(s.recv(4096) + b"\n")
' "$T/notify.sock" "$T/notify.log" &
at_exit "kill $!"
wait_until 10 test -S "$T/notify.sock"

# mount(8) runs "blobfs CONTAINER MOUNTPOINT -o OPTIONS" for an fstab line (mount.fuse).
NOTIFY_SOCKET=$T/notify.sock "$BIN/blobfs" media "$mnt" -f -o \
    "rw,endpoint=$proxy/devstoreaccount1,sas_file=$T/sas,metrics_listen=127.0.0.1:0,log_file=$T/fs.log,attr_timeout=60,nofail,_netdev" &
pid=$!
at_exit "blobfs_umount '$mnt' $pid"
ok "READY=1 reaches the notify socket" wait_until 20 grep -q '^READY=1' "$T/notify.log"
ok "once the container is mounted" mountpoint -q "$mnt"
ok "read-only whatever -o said (rw)" eval "! touch '$mnt/x' 2>/dev/null"
ok "the metrics address is logged" wait_until 10 grep -q 'serving metrics on http://127.0.0.1:' "$T/fs.log"
url=$(sed -n 's|.*serving metrics on \(http://[^ ]*\)$|\1|p' "$T/fs.log" | head -n 1)

ok "the text parses (Prometheus's parser)" scrape "$url" m0
is "Content-Type: the text format 0.0.4" \
    "$(curl -s -o /dev/null -w '%{content_type}' "$url")" "text/plain; version=0.0.4; charset=utf-8"

ls "$mnt/dir" >/dev/null
cat "$mnt/dir/s1.txt" "$mnt/dir/s2.txt" >/dev/null
curl -s "$proxy/__fail?status=500&count=1&match=big.bin" >/dev/null
is "a 3 MiB blob reads back whole through one failure" "$(sha256sum <"$mnt/dir/big.bin")" \
    "$(sha256sum <"$src/dir/big.bin")"
ok "after" scrape "$url" m1
ok "a listing of dir/: list requests answered 200" \
    [ "$(moved m0 m1 'blobkit_blobfs_origin_requests_total{op="list",status="200"}')" -ge 1 ]
ok "reads: ranged GETs answered 206" \
    [ "$(moved m0 m1 'blobkit_blobfs_origin_requests_total{op="get",status="206"}')" -ge 3 ]
is "the injected failure: one GET answered 500" \
    "$(moved m0 m1 'blobkit_blobfs_origin_requests_total{op="get",status="500"}')" 1
is "and one retry" "$(moved m0 m1 'blobkit_blobfs_retries_total{op="get"}')" 1
ok "bytes of GETs: at least what was read" \
    [ "$(moved m0 m1 'blobkit_blobfs_origin_bytes_total{op="get"}')" -ge $(((3 << 20) + 16)) ]
is "each GET timed once: histogram count = requests" \
    "$(val m1 'blobkit_blobfs_origin_request_duration_seconds_count{op="get"}')" \
    "$(sum m1 'blobkit_blobfs_origin_requests_total{op="get",')"
ok "metadata entries: the names seen" [ "$(val m1 blobkit_blobfs_metadata_entries)" -ge 7 ]
ok "read-ahead memory is a gauge" grep -qx 'blobkit_blobfs_prefetch_bytes [0-9]*' "$T/m1"
is "the version" "$(val m1 "blobkit_build_info{version=\"$(cat "$ROOT/VERSION")\"}")" 1
ok "process: open descriptors" [ "$(val m1 process_open_fds)" -ge 4 ]
ok "process: resident memory" [ "$(val m1 process_resident_memory_bytes)" -gt 1000000 ]
ok "process: started in the last 10 minutes" \
    awk -v s="$(val m1 process_start_time_seconds)" -v now="$(date +%s)" \
    'BEGIN { exit !(s > now - 600 && s <= now + 1) }'
ok "process: cpu seconds" grep -q '^process_cpu_seconds_total [0-9.e-]*$' "$T/m1"
is "labels: only op, status (and le, version); never a name" \
    "$(grep '^blobkit_' "$T/m1" | grep -o '[a-z_]*="' | sort -u | tr -d '="\n' | tr -s ' ')" \
    "leopstatusversion"
missing=$(grep -oE 'blobkit_(blobfs|build)_[a-z_]+|process_[a-z_]+' "$ROOT/docs/grafana-blobkit.json" |
    sed 's/_bucket$//' | sort -u | while read -r name; do
        grep -q "^# TYPE $name " "$T/m1.txt" || echo "$name"
    done)
is "every blobfs metric of the Grafana dashboard is exposed" "$missing" ""
ok "no token in the text" eval "! grep -q 'sig=' '$T/m1.txt'"
is "another path: 404" "$(curl -s -o /dev/null -w '%{http_code}' "${url%/metrics}/")" 404
is "another method: 405" "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$url")" 405

# A token without list permission: names resolve with Get Blob Properties.
blobfs_mount "$ro" --container media --sas-file "$T/sas.r" --metrics-listen 127.0.0.1:0
url_ro=$(sed -n 's|.*serving metrics on \(http://[^ ]*\)$|\1|p' "$BLOBFS_LOG" | head -n 1)
cat "$ro/dir/s3.txt" >/dev/null
scrape "$url_ro" r1
ok "read-only token: properties requests counted" \
    [ "$(val r1 'blobkit_blobfs_origin_requests_total{op="props",status="200"}')" -ge 1 ]

# Bad options: refused before mounting, with one line that names the problem.
port=${url#http://127.0.0.1:}
port=${port%/metrics}
mkdir -p "$T/m3"
"$BIN/blobfs" media "$T/m3" --endpoint "$AZ_ENDPOINT" --sas-file "$T/sas" \
    --metrics-listen "127.0.0.1:$port" 2>"$T/out" && rc=0 || rc=$?
is "a metrics port in use: exit 1" "$rc" 1
ok "saying so" grep -q -- "--metrics-listen: cannot listen on 127.0.0.1:$port" "$T/out"
fails "and nothing is mounted" mountpoint -q "$T/m3"
"$BIN/blobfs" media "$T/m3" --endpoint "$AZ_ENDPOINT" --metrics-listen nonsense 2>"$T/out" &&
    rc=0 || rc=$?
is "a bad metrics address: exit 1" "$rc" 1
ok "naming it" grep -q -- "--metrics-listen: cannot resolve 'nonsense'" "$T/out"
"$BIN/blobfs" media "$T/m3" -o 'sas=?sv=1&sig=s3cr3t' 2>"$T/out" && rc=0 || rc=$?
is "an inline token in -o: exit 2" "$rc" 2
ok "with a message that points to sas_file" grep -q 'use sas_file=FILE' "$T/out"
fails "and does not repeat the token" grep -q s3cr3t "$T/out"
"$BIN/blobfs" other "$T/m3" --container media 2>"$T/out" && rc=0 || rc=$?
ok "two different containers are refused ($rc)" grep -q "two containers" "$T/out"

# Unmounting: STOPPING=1, then the listener is gone with the daemon.
fusermount3 -u "$mnt"
ok "the daemon exits once unmounted" wait_until 20 eval "! kill -0 $pid 2>/dev/null"
ok "STOPPING=1 was sent" grep -q '^STOPPING=1' "$T/notify.log"
fails "the metrics listener is closed" curl -sf -o /dev/null "$url"
