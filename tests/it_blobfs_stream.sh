#!/usr/bin/env bash
# blobfs read-ahead streams: a sequential read of a big blob costs a first small GET and one
# GET for the rest; a reader that pauses longer than the stall timeout is no stalled origin
# (no retry, no EIO), and one that stays away ends its stream, which starts again where it
# stopped; a stream stays within its window (flow control) and blobfs within its memory;
# closing the file ends the stream at once; random reads are GETs of their own; a small
# memory budget still reads right.
set -eu
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/blobfs_lib.sh"

export AZURITE_DEBUG=1
azurite_start
az container media >/dev/null
src=$T/src mnt=$T/mnt
mkdir -p "$src"
head -c $((128 << 20)) /dev/urandom >"$src/big.bin"
az upload media "$src" >/dev/null
export AZURE_STORAGE_SAS_TOKEN=$(az sas service rl media)
want=$(sha256sum <"$src/big.bin")
mib=$((1 << 20))

remount() { # a fresh mount: nothing of big.bin in the page cache
    [ -z "${pid:-}" ] || blobfs_umount "$mnt" "$pid"
    blobfs_mount "$mnt" --container media --stall-timeout 2 --debug "$@"
    pid=$(blobfs_pid "$mnt")
}
gets() { az_sync; az_count "$1" GET 'media/big\.bin'; }
show_gets() { az_requests "$1" | grep 'big\.bin' | sed 's/^/#   /'; }
# The debug lines of streams since log line $1: "OFFSET STREAMED stopped|done".
streams() {
    tail -n +"$(($1 + 1))" "$BLOBFS_LOG" |
        sed -n "s/.* read 'big\.bin' \[\([0-9]*\)+[0-9]*\]: HTTP [0-9]*.*, streamed \([0-9]*\) bytes\( (stopped)\)\{0,1\}$/\1 \2 \3/p" |
        awk '{ print $1, $2, ($3 == "" ? "done" : "stopped") }'
}
stopped_streams() { [ "$(streams "$1" | grep -c stopped)" -ge "$2" ]; }
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status"; }

# A sequential read: the first 1.125 MiB, then one GET for the rest (cold_read: read again
# only when this host's kernel evicted pages meanwhile).
remount
cold_read "$mnt/big.bin" 'media/big\.bin' 2
is "a sequential read of 128 MiB reads right" "$COLD_SUM" "$want"
is "in 2 GETs" "$COLD_GETS" 2
[ "$COLD_GETS" = 2 ] || show_gets "$COLD_MARK"

# A reader that pauses: 3 s (longer than --stall-timeout 2) while its stream waits for it,
# then long enough for the stream to give up (5 s), then reads on. The pauses are the test.
remount
mark=$(az_mark)
line=$(wc -l <"$BLOBFS_LOG")
rss0=$(rss_kib)
{
    dd bs=1M count=8 iflag=fullblock 2>/dev/null
    sleep 3
    dd bs=1M count=8 iflag=fullblock 2>/dev/null
    wait_until 20 stopped_streams "$line" 1 && echo "$(rss_kib)" >"$T/rss"
    cat
} <"$mnt/big.bin" 2>"$T/err" | sha256sum >"$T/paused" || true
is "a paused reader reads right" "$(cat "$T/paused")" "$want"
is "without an error" "$(cat "$T/err")" ""
ok "no transfer was taken for stalled and retried" eval "! grep -q 'retrying' '$BLOBFS_LOG'"
streams "$line" >"$T/streams"
sed 's/^/#   stream /' "$T/streams"
is "its stream gave up while the reader stayed away, another read the rest" \
    "$(awk '{ print $3 }' "$T/streams" | tr '\n' ' ')" "done stopped done "
read -r off1 got1 _ < <(sed -n 2p "$T/streams")
read -r off2 _ < <(sed -n 3p "$T/streams")
is "the new stream began where the first stopped" "$off2" $((off1 + got1))
# 16 MiB read, two read-ahead windows of the kernel (2 x 16 MiB) past it, the stream's
# window (at most 32 MiB) past that, and a chunk (4 MiB) being filled: 84 MiB of 128.
ok "flow control: the stream stopped $((got1 / mib)) MiB in (< 88)" [ "$got1" -lt $((88 * mib)) ]
grow=$((($(cat "$T/rss") - rss0) / 1024))
ok "blobfs grew by $grow MiB while the stream waited (< 100)" [ "$grow" -lt 100 ]

# Closing the file ends its stream at once, not after the idle time.
remount
line=$(wc -l <"$BLOBFS_LOG")
head -c $((4 * mib)) "$mnt/big.bin" >/dev/null
ok "closing mid-stream ends the stream within 2 s" wait_until 2 stopped_streams "$line" 1

# Random reads, each on its own open: a ranged GET each, no stream.
remount
mark=$(az_mark)
line=$(wc -l <"$BLOBFS_LOG")
for at in 100 37 5 90 64; do
    dd if="$mnt/big.bin" bs=4k skip=$((at * 256 + 3)) count=1 2>/dev/null
done | sha256sum >"$T/random"
for at in 100 37 5 90 64; do
    dd if="$src/big.bin" bs=4k skip=$((at * 256 + 3)) count=1 2>/dev/null
done | sha256sum >"$T/random-want"
ok "random reads read right" cmp -s "$T/random" "$T/random-want"
is "with one GET each" "$(gets "$mark")" 5
is "and no stream" "$(streams "$line" | wc -l)" 0

# A budget smaller than the window: the stream waits for memory, the read is right.
remount --prefetch-mem 12
line=$(wc -l <"$BLOBFS_LOG")
is "with --prefetch-mem 12, a sequential read reads right" "$(sha256sum <"$mnt/big.bin")" "$want"
is "with the first GET and one stream" "$(streams "$line" | awk '{ print $3 }' | tr '\n' ' ')" \
    "done done "
