#!/usr/bin/env bash
# blobfs when the origin misbehaves: throttling and server errors are retried, honouring
# Retry-After, within a bound (a fault-injecting proxy stands in front of Azurite, which
# never throttles); an origin stopped (SIGSTOP) or killed mid-read gives EIO in seconds,
# never a hang; and reads work again once it is back.
# run alone: it bounds how long stalled and failing reads take (tests/run.sh)
set -eu
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/blobfs_lib.sh"

azurite_start
az container media >/dev/null
src=$T/src mnt=$T/mnt direct=$T/direct
mkdir -p "$src"
for i in 1 2 3 4 5 6; do printf 'small %s\n' "$i" >"$src/s$i.txt"; done
head -c $((48 << 20)) /dev/urandom >"$src/mid.bin"
az upload media "$src" >/dev/null
export AZURE_STORAGE_SAS_TOKEN=$(az sas service rl media)

node "$ROOT/tests/blobfs_proxy.mjs" "$(cat "$AZ_DIR/port")" >"$T/proxy.port" &
proxy_pid=$!
at_exit "kill $proxy_pid"
wait_until 10 test -s "$T/proxy.port"
proxy=http://127.0.0.1:$(cat "$T/proxy.port")
plan() { curl -s "$proxy/__fail?$1" >/dev/null; }
failed() { curl -s "$proxy/__count" | sed 's/.*"failed":\([0-9]*\).*/\1/'; }

blobfs_mount "$mnt" --container media --endpoint "$proxy/devstoreaccount1" \
    --stall-timeout 2 --retry-timeout 4 --connect-timeout 1

plan "status=503&count=2&after=1"
t=$(elapsed_ms cat "$mnt/s1.txt") || true
is "503 twice with Retry-After: 1, then the read succeeds" "$(cat "$T/elapsed.out")" "small 1"
ok "after waiting as asked (${t} ms >= 2000)" [ "$t" -ge 2000 ]
is "both failures were seen" "$(failed)" 2
plan "status=500&count=2"
t=$(elapsed_ms cat "$mnt/s2.txt") || true
is "500 twice without Retry-After: retried" "$(cat "$T/elapsed.out")" "small 2"
ok "with short jittered waits (${t} ms < 2500)" [ "$t" -lt 2500 ]
plan "status=429&count=1&afterms=700"
t=$(elapsed_ms cat "$mnt/s3.txt") || true
is "429 with x-ms-retry-after-ms: retried" "$(cat "$T/elapsed.out")" "small 3"
ok "after waiting as asked (${t} ms >= 700)" [ "$t" -ge 700 ]
plan "status=503&count=-1"
t=$(elapsed_ms cat "$mnt/s4.txt") && rc=0 || rc=$?
ok "503 forever: the read fails" [ "$rc" != 0 ]
ok "with EIO" grep -q "Input/output error" "$T/elapsed.out"
ok "within the retry budget (${t} ms < 8000)" [ "$t" -lt 8000 ]
ok "logged" grep -q "cannot read 's4.txt': HTTP 503 ServerBusy (after retries)" "$BLOBFS_LOG"
plan "count=0"
is "the origin answers again: the read works" "$(cat "$mnt/s4.txt")" "small 4"
before=$(failed)
plan "status=403&count=1"
ok "a 403 is not retried" eval "! cat '$mnt/s5.txt' 2>/dev/null"
is "one failure" "$(failed)" $((before + 1))

# Stopped mid-read (SIGSTOP): the transfer stalls, blobfs gives up in seconds.
azurite=$(cat "$AZ_DIR/pid")
blobfs_mount "$direct" --container media --stall-timeout 2 --retry-timeout 4 --connect-timeout 1
want=$(sha256sum <"$src/mid.bin")
exec 3<"$direct/mid.bin"
dd bs=1M count=1 <&3 >/dev/null 2>&1
kill -STOP "$azurite"
at_exit "kill -CONT $azurite"
t=$(elapsed_ms cat <&3) && rc=0 || rc=$?
kill -CONT "$azurite"
exec 3<&-
ok "origin stopped mid-read: the read fails" [ "$rc" != 0 ]
ok "with EIO" grep -q "Input/output error" "$T/elapsed.out"
ok "in seconds (${t} ms < 20000)" [ "$t" -lt 20000 ]
is "the origin resumed: the file reads whole" "$(sha256sum <"$direct/mid.bin")" "$want"

# Killed mid-read: connections are refused, blobfs gives up in seconds; restarted, it reads.
blobfs_umount "$direct" "$(blobfs_pid "$direct")"
blobfs_mount "$direct" --container media --stall-timeout 2 --retry-timeout 4 --connect-timeout 1
exec 3<"$direct/mid.bin"
dd bs=1M count=1 <&3 >/dev/null 2>&1
"$ROOT/scripts/azurite.sh" stop "$AZ_DIR"
t=$(elapsed_ms cat <&3) && rc=0 || rc=$?
exec 3<&-
ok "origin killed mid-read: the read fails" [ "$rc" != 0 ]
ok "with EIO" grep -q "Input/output error" "$T/elapsed.out"
ok "in seconds (${t} ms < 20000)" [ "$t" -lt 20000 ]
ok "logged" grep -q "cannot read 'mid.bin': cannot reach" "$BLOBFS_LOG"
"$ROOT/scripts/azurite.sh" start "$AZ_DIR" "$(cat "$AZ_DIR/port")" >/dev/null
is "the origin is back: the file reads whole" "$(sha256sum <"$direct/mid.bin")" "$want"
