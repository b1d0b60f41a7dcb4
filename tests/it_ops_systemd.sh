#!/usr/bin/env bash
# The systemd units, as installed by "make install PREFIX=/usr" (in a mount namespace whose /usr
# and /etc are overlays, tests/ops_lib.sh): systemd-analyze verify passes on them (and fails on
# a broken unit), their exposure stays low, blobhttpd speaks the readiness protocol over a real
# $NOTIFY_SOCKET (READY=1 once it listens, RELOADING=1 and READY=1 around SIGHUP, STOPPING=1;
# blobfs's is in it_blobfs_metrics), and every system call each program makes under a test
# load (strace, the release build the units run) is in its unit's SystemCallFilter=.
set -eu
. "$(dirname "$0")/ops_lib.sh"
ops_overlay usr etc

make -s -C "$ROOT" "${OPS_BUILD[@]}" install PREFIX=/usr >/dev/null
cp /usr/share/doc/blobkit/examples/blobfs-media.conf /etc/blobkit/blobfs/media.conf
units=(blobfs@media.service blobhttpd.service blobfs.target)
out=$(systemd-analyze verify "${units[@]}" 2>&1) && rc=0 || rc=$?
is "systemd-analyze verify: the three units pass" "$rc" 0
is "without a word (man pages found, commands executable)" "$out" ""
sed 's/^Type=notify$/Type=notifyy/; s|^ExecStop=/bin/fusermount3|ExecStop=/bin/nosuch|' \
    /usr/lib/systemd/system/blobfs@.service >/etc/systemd/system/blobtest@.service
fails "and it fails on a broken copy" systemd-analyze verify blobtest@media.service
rm /etc/systemd/system/blobtest@.service
ok "blobhttpd.service: exposure at most 2.5 (systemd-analyze security)" \
    systemd-analyze security --offline=yes --threshold=25 blobhttpd.service
ok "blobfs@.service: at most 5, without a mount namespace" \
    systemd-analyze security --offline=yes --threshold=50 blobfs@media.service
ok "blobhttpd's unit: notify, its user, hardening" eval \
    "grep -qx 'Type=notify' /usr/lib/systemd/system/blobhttpd.service &&
     grep -qx 'User=blobhttpd' /usr/lib/systemd/system/blobhttpd.service &&
     grep -qx 'ProtectSystem=strict' /usr/lib/systemd/system/blobhttpd.service"
fails "blobfs's unit has no mount namespace (its mount would not be seen)" \
    grep -qE '^(ProtectSystem|ProtectHome|PrivateTmp|PrivateDevices|ReadOnlyPaths|TemporaryFileSystem)=' \
    /usr/lib/systemd/system/blobfs@.service

# ---- blobhttpd's readiness over a real NOTIFY_SOCKET ---------------------------------------
/usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "ab", buffering=0) as f:
    while True:
        f.write(s.recv(4096).replace(b"\n", b" ") + b"\n")
' "$T/notify.sock" "$T/notify.log" &
at_exit "kill $!"
wait_until 10 test -S "$T/notify.sock"
mkdir -p "$T/www"
printf 'hi\n' >"$T/www/a.txt"
NOTIFY_SOCKET=$T/notify.sock "$BIN/blobhttpd" --listen 127.0.0.1:0 --endpoint "/w=$T/www" \
    --log "$T/httpd.log" &
pid=$!
at_exit "kill -9 $pid 2>/dev/null"
ok "READY=1" wait_until 20 grep -q '^READY=1' "$T/notify.log"
port=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$T/httpd.log")
is "listening when it says so" "$(curl -s "http://127.0.0.1:$port/w/a.txt")" hi
kill -HUP "$pid"
ok "SIGHUP: RELOADING=1, then READY=1" \
    wait_until 10 eval "[ \"\$(tail -n 2 '$T/notify.log' | cut -d' ' -f1 | tr '\n' ' ')\" = 'RELOADING=1 READY=1 ' ]"
kill -TERM "$pid"
ok "SIGTERM: STOPPING=1" wait_until 10 grep -q '^STOPPING=1' "$T/notify.log"
ok "and it exits 0" wait "$pid"

# ---- the system calls of the release build against the units' filters -----------------------
allowed() { # GROUP|NAME...: the syscall names, groups expanded
    local w
    for w in "$@"; do
        case $w in
        @*) allowed $(systemd-analyze syscall-filter "$w" | tail -n +2 | sed 's/^ *//' | grep -v '^#') ;;
        *) echo "$w" ;;
        esac
    done
}
# The syscalls a strace -c summary counted.
counted() { awk '/^-+/ { n++; next } n == 1 && NF >= 5 { print $NF }' "$1" | sort -u; }
# outside FILTER_WORDS -- STRACE_SUMMARY: what was called but is not allowed
outside() {
    local words=()
    while [ "$1" != -- ]; do words+=("$1"); shift; done
    comm -23 <(counted "$2") <(allowed "${words[@]}" | sort -u)
}
filter() { sed -n "s/^SystemCallFilter=//p" "/usr/lib/systemd/system/$1"; }
rel=$ROOT/bin
ok "the release build is there (make)" test -x "$rel/blobhttpd" -a -x "$rel/blobfs"

photo() { vips gaussnoise "$T/n.v" "$2" "$3" && vips copy "$T/n.v" "$1[Q=85]"; }
photo "$T/www/p.jpg" 640 480
vips black "$T/www/l.png" 64 64 --bands 4
strace -f -qq -c -o "$T/httpd.strace" "$rel/blobhttpd" --listen 127.0.0.1:0 \
    --endpoint "/w=$T/www" --log "$T/httpd2.log" --metrics-listen 127.0.0.1:0 \
    --access-log "$T/access.log" --access-log-format json &
spid=$!
at_exit "kill -9 $spid 2>/dev/null"
wait_until 30 grep -qs 'listening on' "$T/httpd2.log"
u=http://127.0.0.1:$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$T/httpd2.log")
for path in w/a.txt w/p.jpg "w/tr:w-100/p.jpg" "w/tr:w-90,f-webp/p.jpg" "w/tr:w-80,f-avif/p.jpg" \
    "w/tr:w-32,f-png/l.png" "w/tr:w-32,f-gif/l.png" w/nosuch readyz healthz metrics; do
    curl -s -o /dev/null -H 'Accept: image/webp' "$u/$path"
done
curl -s -o /dev/null -r 0-1 "$u/w/p.jpg"
curl -s -o /dev/null "$(sed -n 's|.*serving metrics on \(http://[^ ]*\)$|\1|p' "$T/httpd2.log")"
kill -HUP "$(pgrep -P "$spid" -x blobhttpd)"
wait_until 10 grep -q 'SIGHUP: logs reopened' "$T/httpd2.log"
kill -TERM "$(pgrep -P "$spid" -x blobhttpd)"
wait "$spid" || true
ok "blobhttpd ran a load under strace" [ "$(counted "$T/httpd.strace" | wc -l)" -gt 30 ]
is "every system call of blobhttpd is in its unit's filter ($(filter blobhttpd.service))" \
    "$(outside $(filter blobhttpd.service) -- "$T/httpd.strace" | tr '\n' ' ')" ""
ok "(the check finds calls outside a narrower filter: @basic-io @network-io)" \
    test -n "$(outside @basic-io @network-io -- "$T/httpd.strace")"

azurite_start
mkdir -p "$T/src/d" "$T/mnt"
printf 'blob\n' >"$T/src/d/x.txt"
head -c 3000000 /dev/urandom >"$T/src/d/big.bin"
az container media >/dev/null
az upload media "$T/src" >/dev/null
az sas service rl media >"$T/sas"
strace -f -qq -c -o "$T/fs.strace" "$rel/blobfs" media "$T/mnt" -f -o \
    "endpoint=$AZ_ENDPOINT,sas_file=$T/sas,metrics_listen=127.0.0.1:0,log_file=$T/fs.log" &
fpid=$!
at_exit "fusermount3 -u '$T/mnt' 2>/dev/null; kill -9 $fpid 2>/dev/null"
wait_until 30 grep -qs 'serving metrics on' "$T/fs.log"
ls -l "$T/mnt/d" >/dev/null
cat "$T/mnt/d/x.txt" "$T/mnt/d/big.bin" >/dev/null
curl -s -o /dev/null "$(sed -n 's|.*serving metrics on \(http://[^ ]*\)$|\1|p' "$T/fs.log")"
kill -HUP "$(pgrep -P "$fpid" -x blobfs)"
wait_until 10 grep -q 're-read the SAS token' "$T/fs.log"
fusermount3 -u "$T/mnt"
wait "$fpid" || true
ok "blobfs served a mount under strace" [ "$(counted "$T/fs.strace" | wc -l)" -gt 30 ]
is "every system call of blobfs is in its unit's filter ($(filter blobfs@.service))" \
    "$(outside $(filter blobfs@.service) -- "$T/fs.strace" | tr '\n' ' ')" ""
ok "blobfs mounted with mount(2), which @system-service alone would refuse" \
    eval "counted '$T/fs.strace' | grep -qx mount && outside @system-service -- '$T/fs.strace' | grep -qx mount"
