#!/usr/bin/env bash
# blobfs read-ahead: a sequential read fetches every byte once, in ranged GETs that grow with
# the read and run several at once, each with If-Match; through a slow link (the proxy caps
# each connection) they overlap, and two files read at once both progress; a reader that
# pauses longer than the stall timeout is no stalled origin; closing the file ends its GETs
# at once; random reads, from one thread or many, are GETs of about what was asked, never
# read-ahead; memory stays within --prefetch-mem.
# run alone: it measures GETs in flight and throughput through a throttled link (tests/run.sh)
set -eu
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/blobfs_lib.sh"

export AZURITE_DEBUG=1
azurite_start
az container media >/dev/null
src=$T/src mnt=$T/mnt slow=$T/slow
mkdir -p "$src"
head -c $((64 << 20)) /dev/urandom >"$src/big.bin"
head -c $((24 << 20)) /dev/urandom >"$src/a.bin"
head -c $((24 << 20)) /dev/urandom >"$src/b.bin"
az upload media "$src" >/dev/null
export AZURE_STORAGE_SAS_TOKEN=$(az sas service rl media)
want=$(sha256sum <"$src/big.bin")
mib=$((1 << 20))

# A proxy that lets each connection carry 20 MB/s: GETs take long enough to overlap.
node "$ROOT/tests/blobfs_proxy.mjs" "$(cat "$AZ_DIR/port")" --mbps 20 >"$T/proxy.port" &
at_exit "kill $!"
wait_until 10 test -s "$T/proxy.port"
proxy=http://127.0.0.1:$(cat "$T/proxy.port")
stats() { curl -s "$proxy/__stats" | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"; }

remount() { # a fresh mount: nothing of the blobs in the page cache
    [ -z "${pid:-}" ] || blobfs_umount "$mnt" "$pid"
    blobfs_mount "$mnt" --container media --stall-timeout 2 --debug "$@"
    pid=$(blobfs_pid "$mnt")
}
gets() { az_sync; az_count "$1" GET 'media/big\.bin'; }
# The debug lines of GETs that blobfs ended itself since log line $1.
stopped() { [ "$(tail -n +"$(($1 + 1))" "$BLOBFS_LOG" | grep -c "streamed .* (stopped)$")" -ge 1 ]; }
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status"; }

# A sequential read: the first 1.125 MiB, then segments growing with the read, every byte
# once (cold_read: read again only when this host's kernel evicted pages meanwhile).
remount
cold_read "$mnt/big.bin" 'media/big\.bin'
is "a sequential read of 64 MiB reads right" "$COLD_SUM" "$want"
is "its $COLD_GETS GETs fetch every byte once" "$COLD_TILES" yes
[ "$COLD_TILES" = yes ] || az_requests "$COLD_MARK" | grep 'big\.bin' | sed 's/^/#   /'
is "the first is 1.125 MiB" "$COLD_FIRST" 0-1179647
sizes=$(_ranges "$COLD_MARK" 'media/big\.bin' | awk '
    $1 == 1179648 { first = $2 - $1 + 1 } { n = $2 - $1 + 1; if (n > m) m = n } END { print first, m }')
read -r second largest <<<"$sizes"
# How much they grow depends on how fast the pool measured the link (fast: a few GETs of up to
# 64 MiB; slow: the window over --parallel streams, 6 to 8 MiB here), which the machine's load
# decides; that they grow past the second does not.
ok "the next grow with the read: $((second >> 10)) KiB, up to $((largest >> 10)) KiB" \
    [ "$largest" -gt "$second" ]
if_match=$(tail -n +"$((COLD_MARK + 1))" "$AZ_DIR/debug.log" | grep 'RequestURL=[^ ]*media/big\.bin' |
    grep -c '"if-match":"\\"0x' || true)
is "every one with If-Match" "$if_match" "$COLD_GETS"

# Through the slow link: several GETs at once, and no more than --parallel (and a first GET).
blobfs_mount "$slow" --container media --endpoint "$proxy/devstoreaccount1" --parallel 6
curl -s "$proxy/__reset" >/dev/null
is "through a slow link, it reads right" "$(sha256sum <"$slow/big.bin")" "$want"
most=$(stats maxInflight)
ok "with GETs in flight at once: $most (>= 4)" [ "$most" -ge 4 ]
ok "never more than --parallel 6 and a first GET" [ "$most" -le 7 ]

# Two files read at once share the GETs: when one is done, the other has come a long way.
cat "$slow/a.bin" >/dev/null &
ra=$!
cat "$slow/b.bin" >/dev/null &
rb=$!
rchar() { awk '/^rchar:/ { print $2 }' "/proc/$1/io" 2>/dev/null || echo done; }
wait_until 120 eval "! kill -0 $ra 2>/dev/null || ! kill -0 $rb 2>/dev/null"
ga=$(rchar $ra) gb=$(rchar $rb)
wait $ra $rb
[ "$ga" = done ] && other=$gb || other=$ga
[ "$other" = done ] && other=$((24 * mib))
ok "two files read at once: when one was done, the other had read $((other / mib)) of 24 MiB" \
    [ "$other" -ge $((6 * mib)) ]

# Closing the file mid-read ends its GETs at once. Through a link of 1 MB/s per connection, a
# reader that stops early (2 MiB, and what the kernel reads ahead) leaves the segments started
# beside the one it read with most of their bytes to go, seconds of transfer on their own:
# they end "(stopped)" instead. (Reading further would not do: segments run side by side, so
# when a reader is done with one, the others are nearly done too.) The 10 s bound only limits
# the wait.
node "$ROOT/tests/blobfs_proxy.mjs" "$(cat "$AZ_DIR/port")" --mbps 1 >"$T/proxy2.port" &
at_exit "kill $!"
wait_until 10 test -s "$T/proxy2.port"
line=$(wc -l <"$BLOBFS_LOG")
blobfs_umount "$slow" "$(blobfs_pid "$slow")"
blobfs_mount "$slow" --container media --endpoint "http://127.0.0.1:$(cat "$T/proxy2.port")/devstoreaccount1" --debug
head -c $((2 * mib)) "$slow/big.bin" >/dev/null
ok "closing mid-read ends the GETs under way" wait_until 10 stopped "$line" ||
    tail -n +"$((line + 1))" "$BLOBFS_LOG" | grep -E 'GET|streamed' | tail -n 12 | sed 's/^/#   /'

# A reader that pauses 3 s (longer than --stall-timeout 2): no retry, no error; meanwhile
# blobfs holds no more than its read-ahead memory (the sanitizer keeps freed memory in
# quarantine, counted in RSS: none here).
ASAN_OPTIONS=$ASAN_OPTIONS:quarantine_size_mb=0 remount --prefetch-mem 32
rss0=$(rss_kib)
{
    dd bs=1M count=8 iflag=fullblock 2>/dev/null
    sleep 3
    rss_kib >"$T/rss"
    cat
} <"$mnt/big.bin" 2>"$T/err" | sha256sum >"$T/paused" || true
is "a paused reader reads right" "$(cat "$T/paused")" "$want"
is "without an error" "$(cat "$T/err")" ""
ok "no transfer was taken for stalled and retried" eval "! grep -q 'retrying' '$BLOBFS_LOG'"
grow=$((($(cat "$T/rss") - rss0) / 1024))
ok "blobfs grew by $grow MiB while the reader paused (< 32 + 16)" [ "$grow" -lt 48 ]

# Random reads, each on its own open: a ranged GET each of what was asked, no read-ahead.
remount
mark=$(az_mark)
line=$(wc -l <"$BLOBFS_LOG")
for at in 40 17 5 33 60; do
    dd if="$mnt/big.bin" bs=4k skip=$((at * 256 + 3)) count=1 2>/dev/null
done | sha256sum >"$T/random"
for at in 40 17 5 33 60; do
    dd if="$src/big.bin" bs=4k skip=$((at * 256 + 3)) count=1 2>/dev/null
done | sha256sum >"$T/random-want"
ok "random reads read right" cmp -s "$T/random" "$T/random-want"
is "with one GET each" "$(gets "$mark")" 5
is "of 4 KiB each" "$(_ranges "$mark" 'media/big\.bin' | awk '{ print $2 - $1 + 1 }' | sort -u)" 4096
is "and no read-ahead" "$(tail -n +"$((line + 1))" "$BLOBFS_LOG" | grep -c 'streamed')" 0

# Many threads at once (fio, 8 jobs, 4 KiB random reads): each GET about what was asked,
# about one per read (two jobs may read one block: the page cache serves the second, unless
# this host's kernel evicted it meanwhile).
remount
mark=$(az_mark)
fio --name=rand --filename="$mnt/big.bin" --rw=randread --bs=4k --numjobs=8 --thread \
    --number_ios=25 --ioengine=psync --group_reporting --output="$T/fio" >/dev/null 2>&1 ||
    { sed 's/^/#   /' "$T/fio"; false; }
az_sync
n=$(_ranges "$mark" 'media/big\.bin' | wc -l)
big=$(_ranges "$mark" 'media/big\.bin' | awk '$2 - $1 + 1 > 65536' | wc -l)
ok "fio, 8 threads: $n GETs for 200 reads of 4 KiB" [ "$n" -le 210 ] && [ "$n" -ge 150 ]
is "none over 64 KiB" "$big" 0

# A budget smaller than the window: the read is right.
remount --prefetch-mem 12
is "with --prefetch-mem 12, a sequential read reads right" "$(sha256sum <"$mnt/big.bin")" "$want"
