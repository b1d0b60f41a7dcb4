#!/usr/bin/env bash
# blobfs side by side with curl straight from the origin and with rclone mount (Debian's
# rclone, read-only, azureblob sas_url), on one Azurite, in one run. Prints every figure and
# the ratios. A benchmark, not a test: on a shared machine the figures are noisy, so each
# one is the median of RUNS runs, interleaved.
#
#   scripts/bench-fs.sh [RUNS]      (as root: it drops the page cache before each cold run)
#
#   cold sequential read of a 256 MiB blob   blobfs vs curl (target >= 0.9x) and vs rclone;
#                                            again with the origin's cache warm (blobfs only)
#   warm re-read                             page-cache speed, origin requests counted
#   ls -l of a 12,000-blob folder            cold (List calls counted) and warm, vs rclone
#   open + first 1 MiB, stat                 time to first byte, stat of a file cold and warm
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
runs=${1:-5}
[ "$(id -u)" = 0 ] || { echo "bench-fs: run as root (drop_caches, read-ahead)" >&2; exit 1; }
scripts/setup.sh bench >&2
make -s bin/blobfs >&2

T=$(mktemp -d "${TMPDIR:-/tmp}/blobkit-bench-fs.XXXXXX")
blobfs_pid= rclone_pid=
unmount() {
    mountpoint -q "$1" 2>/dev/null && { fusermount3 -u "$1" 2>/dev/null || umount -l "$1"; }
    if [ -n "$2" ]; then
        for _ in $(seq 200); do kill -0 "$2" 2>/dev/null || break; sleep 0.05; done
        kill "$2" 2>/dev/null || true
    fi
}
cleanup() {
    set +e
    unmount "$T/blobfs" "$blobfs_pid"
    unmount "$T/rclone" "$rclone_pid"
    scripts/azurite.sh stop "$T/azurite"
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- origin and corpus ----
export AZURITE_DEBUG=1
ep=$(scripts/azurite.sh start "$T/azurite")
az() { node tests/node/azure.mjs "$ep" "$@"; }
az container bench >/dev/null
mkdir -p "$T/src/big" "$T/src/many"
head -c $((256 << 20)) /dev/urandom >"$T/src/big/video.bin"
for i in $(seq -w 1 12000); do printf 'blob %s\n' "$i" >"$T/src/many/f$i.txt"; done
echo "bench-fs: seeding Azurite (a 256 MiB blob, 12,000 small ones)..." >&2
az upload bench "$T/src" >/dev/null
sas=$(az sas service rl bench)
size=$((256 << 20))
url="$ep/bench/big/video.bin?$sas"

# ---- helpers ----
# Drop the page cache, then load the programs timed again: only the data is to be cold.
drop() {
    sync
    echo 3 >/proc/sys/vm/drop_caches
    curl --version >/dev/null
    cat --version >/dev/null
    dd --version >/dev/null
    ls --version >/dev/null
}
now() { date +%s%N; }
ms() { local t0; t0=$(now); "$@" >/dev/null 2>&1; echo $((($(now) - t0) / 1000000)); }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
mbs() { awk -v b="$size" -v ms="$1" 'BEGIN { printf "%.0f", (ms > 0 ? b / ms / 1000 : 0) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
syncs=0
az_sync() { # every request before this one is in Azurite's log when it returns
    syncs=$((syncs + 1))
    curl -s -o /dev/null "$ep/bench-sync-$syncs"
    for _ in $(seq 500); do grep -q "bench-sync-$syncs" "$T/azurite/debug.log" && return; sleep 0.02; done
}
mark() { az_sync; wc -l <"$T/azurite/debug.log"; }
count() { # count MARK URL_ERE: requests since MARK
    az_sync
    tail -n +"$(($1 + 1))" "$T/azurite/debug.log" | grep -E "RequestMethod=[A-Z]+ RequestURL=" |
        grep -v bench-sync- | grep -cE "RequestURL=[^ ]*${2:-}" || true
}

mount_blobfs() {
    unmount "$T/blobfs" "$blobfs_pid"
    mkdir -p "$T/blobfs"
    AZURE_STORAGE_SAS_TOKEN=$sas bin/blobfs --endpoint "$ep" --container bench \
        --log-file "$T/blobfs.log" "$T/blobfs"
    for _ in $(seq 200); do
        blobfs_pid=$(sed -n "s|.* blobfs\[\([0-9]*\)\] info: mounted .* on $T/blobfs\$|\1|p" \
            "$T/blobfs.log" | tail -n 1)
        [ -n "$blobfs_pid" ] && kill -0 "$blobfs_pid" 2>/dev/null && break
        sleep 0.05
    done
}
mount_rclone() {
    unmount "$T/rclone" "$rclone_pid"
    mkdir -p "$T/rclone"
    RCLONE_CONFIG_AZ_TYPE=azureblob RCLONE_CONFIG_AZ_SAS_URL="$ep/bench?$sas" \
        rclone mount az:bench "$T/rclone" --read-only --vfs-cache-mode off \
        --config "$T/rclone.conf" --log-file "$T/rclone.log" &
    rclone_pid=$!
    for _ in $(seq 400); do mountpoint -q "$T/rclone" && return; sleep 0.05; done
    echo "bench-fs: rclone did not mount" >&2
    exit 1
}
mount_blobfs
mount_rclone
echo "bench-fs: $(bin/blobfs --version); $(rclone version | head -n 1); $runs runs, medians" >&2
printf '%-34s %s\n' "read-ahead of the blobfs mount" \
    "$(cat "/sys/class/bdi/$(mountpoint -d "$T/blobfs")/read_ahead_kb") KiB"

# ---- cold sequential read ----
: >"$T/curl" >"$T/fs" >"$T/rc"
for _ in $(seq "$runs"); do
    drop; ms curl -sf -o /dev/null "$url" >>"$T/curl"
    drop; ms cat "$T/blobfs/big/video.bin" >>"$T/fs"
    drop; ms cat "$T/rclone/big/video.bin" >>"$T/rc"
done
c=$(median <"$T/curl") f=$(median <"$T/fs") r=$(median <"$T/rc")
printf '%-34s curl %s MB/s | blobfs %s MB/s = %sx curl | rclone %s MB/s, blobfs %sx rclone\n' \
    "cold read, 256 MiB" "$(mbs "$c")" "$(mbs "$f")" "$(ratio "$c" "$f")" "$(mbs "$r")" \
    "$(ratio "$r" "$f")"

# ---- cold read, origin warm ----
# The same, without dropping the origin's own cache: curl warms Azurite's copy of the blob and
# a fresh mount leaves blobfs's page cache empty, so the ratio shows blobfs's own cost without
# the disk under Azurite, whose speed swings most from run to run on a shared machine.
: >"$T/curl" >"$T/fs"
curl -sf -o /dev/null "$url"
for _ in $(seq "$runs"); do
    ms curl -sf -o /dev/null "$url" >>"$T/curl"
    mount_blobfs
    ms cat "$T/blobfs/big/video.bin" >>"$T/fs"
done
c=$(median <"$T/curl") f=$(median <"$T/fs")
printf '%-34s curl %s MB/s | blobfs %s MB/s = %sx curl\n' \
    "cold read, origin warm" "$(mbs "$c")" "$(mbs "$f")" "$(ratio "$c" "$f")"

# ---- warm re-read ----
cat "$T/blobfs/big/video.bin" >/dev/null
m=$(mark)
: >"$T/fs"
for _ in $(seq "$runs"); do ms cat "$T/blobfs/big/video.bin" >>"$T/fs"; done
fn=$(count "$m" 'GET|HEAD')
m=$(mark)
: >"$T/rc"
for _ in $(seq "$runs"); do ms cat "$T/rclone/big/video.bin" >>"$T/rc"; done
rn=$(count "$m")
f=$(median <"$T/fs") r=$(median <"$T/rc")
printf '%-34s blobfs %s MB/s, %s origin requests in %s reads | rclone %s MB/s, %s requests\n' \
    "warm re-read, 256 MiB" "$(mbs "$f")" "$fn" "$runs" "$(mbs "$r")" "$rn"

# ---- ls -l of the 12,000-blob folder ----
: >"$T/fs" >"$T/rc" >"$T/fsw" >"$T/rcw"
for _ in $(seq "$runs"); do
    mount_blobfs
    mount_rclone
    drop
    m=$(mark)
    ms ls -l "$T/blobfs/many" >>"$T/fs"
    fl=$(count "$m" 'comp=list')
    m=$(mark)
    ms ls -l "$T/rclone/many" >>"$T/rc"
    rl=$(count "$m" 'comp=list')
    ms ls -l "$T/blobfs/many" >>"$T/fsw"
    ms ls -l "$T/rclone/many" >>"$T/rcw"
done
n=$(ls -l "$T/blobfs/many" | grep -c '^-')
f=$(median <"$T/fs") r=$(median <"$T/rc")
printf '%-34s blobfs %s ms, %s List calls, %s entries | rclone %s ms, %s List calls | %sx\n' \
    "ls -l 12,000 blobs, cold" "$f" "$fl" "$n" "$r" "$rl" "$(ratio "$r" "$f")"
f=$(median <"$T/fsw") r=$(median <"$T/rcw")
printf '%-34s blobfs %s ms | rclone %s ms | %sx\n' "ls -l 12,000 blobs, warm" "$f" "$r" \
    "$(ratio "$r" "$f")"

# ---- open + first 1 MiB ----
: >"$T/curl" >"$T/fs" >"$T/rc"
for _ in $(seq "$runs"); do
    drop; ms curl -sf -r 0-1048575 -o /dev/null "$url" >>"$T/curl"
    drop; ms dd if="$T/blobfs/big/video.bin" of=/dev/null bs=1M count=1 >>"$T/fs"
    drop; ms dd if="$T/rclone/big/video.bin" of=/dev/null bs=1M count=1 >>"$T/rc"
done
printf '%-34s curl %s ms | blobfs %s ms | rclone %s ms\n' "open + first 1 MiB, cold" \
    "$(median <"$T/curl")" "$(median <"$T/fs")" "$(median <"$T/rc")"

# ---- stat ----
# [ -e ] is a shell builtin calling stat(): no process start in the timing.
stat_us() { # stat_us DIR [PASSES]: microseconds per stat of 100 files of DIR/many
    local t0 i p
    t0=$(now)
    for p in $(seq "${2:-1}"); do
        for i in $(seq -w 101 100 10001); do [ -e "$1/many/f$i.txt" ]; done
    done
    echo $((($(now) - t0) / 100000 / ${2:-1}))
}
mount_blobfs
mount_rclone
m=$(mark)
fc=$(stat_us "$T/blobfs")
fl=$(count "$m" 'comp=list')
rc=$(stat_us "$T/rclone")
fw=$(stat_us "$T/blobfs" 20)
rw=$(stat_us "$T/rclone" 20)
printf '%-34s blobfs %s us (%s List calls for 100) | rclone %s us\n' \
    "stat of a file, first time" "$fc" "$fl" "$rc"
printf '%-34s blobfs %s us | rclone %s us\n' "stat of a file, cached" "$fw" "$rw"
