#!/usr/bin/env bash
# blobfs side by side with curl straight from the origin and with rclone mount (Debian's
# rclone, read-only, azureblob sas_url), on one Azurite, in one run. Prints every figure and
# the ratios. A benchmark, not a test: on a shared machine the figures are noisy, so each
# one is the median of RUNS runs, interleaved.
#
#   scripts/bench-fs.sh [--wan] [--delay-ms MS] [--mbps MBS] [RUNS]     (as root)
#
# Loopback rows (always; blobfs straight on Azurite, the page cache dropped before each cold
# run):
#   cold sequential read of a 256 MiB blob   blobfs vs curl (target >= 0.9x) and vs rclone;
#                                            again with the origin's cache warm (blobfs only)
#   warm re-read                             page-cache speed, origin requests counted
#   ls -l of a 12,000-blob folder            cold (List calls counted) and warm, vs rclone
#   open + first 1 MiB, stat                 time to first byte, stat of a file cold and warm
#
# --wan rows first: every program reaches Azurite through tests/blobfs_proxy.mjs, which holds
# each request MS ms (default 20: a round trip across a region) and lets each response flow
# at MBS MB/s (default 50: one connection's throughput to a blob), and counts what passes:
#   cold sequential read of 256 MiB          blobfs vs 8 parallel ranged curls of 32 MiB (the
#                                            attainable limit; target >= 0.9x) and vs rclone
#   first MiB of zdeep/a/b/c/file.bin,     blobfs and rclone vs one curl (one round trip and
#   on a fresh mount                         the transfer; target <= 4 round trips + that)
#   4 KiB random reads, 16 threads, 20 s     fio on blobfs and rclone vs 16 curl loops of
#                                            ranged 4 KiB GETs (target >= 0.7x)
#   mount + stat of p/x.txt                  beside 3,000 names p-*: List calls (target <= 3,
#                                            the mount's check included), listing bytes, time
set -euo pipefail
cd "$(dirname "$0")/.."
wan=0 delay=20 mbps=50 runs=
while [ $# -gt 0 ]; do
    case $1 in
    --wan) wan=1 ;;
    --delay-ms) delay=$2; shift ;;
    --mbps) mbps=$2; shift ;;
    *) runs=$1 ;;
    esac
    shift
done
runs=${runs:-$([ $wan = 1 ] && echo 3 || echo 5)}
[ "$(id -u)" = 0 ] || { echo "bench-fs: run as root (drop_caches, read-ahead)" >&2; exit 1; }
scripts/setup.sh bench >&2
make -s bin/blobfs >&2

T=$(mktemp -d "${TMPDIR:-/tmp}/blobkit-bench-fs.XXXXXX")
blobfs_pid= rclone_pid= proxy_pid=
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
    [ -z "$proxy_pid" ] || kill "$proxy_pid"
    scripts/azurite.sh stop "$T/azurite"
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- origin and corpus ----
export AZURITE_DEBUG=1
ep=$(scripts/azurite.sh start "$T/azurite")
origin=$ep
az() { node tests/node/azure.mjs "$ep" "$@"; }
az container bench >/dev/null
mkdir -p "$T/src/big" "$T/src/many"
head -c $((256 << 20)) /dev/urandom >"$T/src/big/video.bin"
for i in $(seq -w 1 12000); do printf 'blob %s\n' "$i" >"$T/src/many/f$i.txt"; done
if [ $wan = 1 ]; then
    # zdeep sorts after the names the mount's check lists (its first 8); ten names in
    # zdeep/a/ sort before b/, so the lookup of b is a List call of its own.
    mkdir -p "$T/src/zdeep/a/b/c" "$T/src/p"
    head -c $((4 << 20)) /dev/urandom >"$T/src/zdeep/a/b/c/file.bin"
    for i in $(seq -w 1 10); do printf 'a %s\n' "$i" >"$T/src/zdeep/a/a-$i.txt"; done
    printf 'x\n' >"$T/src/p/x.txt"
    for i in $(seq -w 1 3000); do printf 'p %s\n' "$i" >"$T/src/p-$i"; done
fi
echo "bench-fs: seeding Azurite..." >&2
for try in 1 2 3; do # uploads are idempotent; a busy machine sometimes drops one
    az upload bench "$T/src" >/dev/null && break
    [ "$try" = 3 ] && { echo "bench-fs: cannot seed Azurite" >&2; exit 1; }
    echo "bench-fs: seeding again" >&2
done
sas=$(az sas service rl bench)
size=$((256 << 20))

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
    AZURE_STORAGE_SAS_TOKEN=$sas bin/blobfs --endpoint "$origin" --container bench \
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
    RCLONE_CONFIG_AZ_TYPE=azureblob RCLONE_CONFIG_AZ_SAS_URL="$origin/bench?$sas" \
        rclone mount az:bench "$T/rclone" --read-only --vfs-cache-mode off \
        --config "$T/rclone.conf" --log-file "$T/rclone.log" &
    rclone_pid=$!
    for _ in $(seq 2000); do mountpoint -q "$T/rclone" && return; sleep 0.01; done
    echo "bench-fs: rclone did not mount" >&2
    exit 1
}

# ---- the WAN profile ----
proxy_stat() { curl -s "$proxy/__stats" | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"; }
proxy_reset() { curl -s "$proxy/__reset" >/dev/null; }

# Cold sequential read: 8 ranged curls of 32 MiB at once, blobfs, rclone.
wan_read() {
    local url="$origin/bench/big/video.bin?$sas" i seg=$((32 << 20)) pids
    : >"$T/curl" >"$T/fs" >"$T/rc"
    for _ in $(seq "$runs"); do
        t0=$(now) pids=()
        for i in $(seq 0 7); do
            curl -sf -r $((i * seg))-$(((i + 1) * seg - 1)) -o /dev/null "$url" &
            pids+=($!)
        done
        wait "${pids[@]}"
        echo $((($(now) - t0) / 1000000)) >>"$T/curl"
        mount_blobfs # a fresh mount: nothing cached
        ms cat "$T/blobfs/big/video.bin" >>"$T/fs"
        mount_rclone
        ms cat "$T/rclone/big/video.bin" >>"$T/rc"
    done
    c=$(median <"$T/curl") f=$(median <"$T/fs") r=$(median <"$T/rc")
    printf '%-34s 8 curls %s MB/s | blobfs %s MB/s = %sx | rclone %s MB/s, blobfs %sx rclone\n' \
        "cold read, 256 MiB" "$(mbs "$c")" "$(mbs "$f")" "$(ratio "$c" "$f")" "$(mbs "$r")" \
        "$(ratio "$r" "$f")"
}

# Time to the first MiB of deep/a/b/c/file.bin on a fresh mount, and the requests it took.
wan_first() {
    local url="$origin/bench/zdeep/a/b/c/file.bin?$sas" file=zdeep/a/b/c/file.bin
    : >"$T/curl" >"$T/fs" >"$T/rc" >"$T/fsn"
    for _ in $(seq "$runs"); do
        ms curl -sf -r 0-1048575 -o /dev/null "$url" >>"$T/curl"
        mount_blobfs
        proxy_reset
        ms dd if="$T/blobfs/$file" of=/dev/null bs=1M count=1 >>"$T/fs"
        echo "$(proxy_stat lists) $(proxy_stat gets) $(proxy_stat heads)" >>"$T/fsn"
        mount_rclone
        ms dd if="$T/rclone/$file" of=/dev/null bs=1M count=1 >>"$T/rc"
    done
    c=$(median <"$T/curl") f=$(median <"$T/fs") r=$(median <"$T/rc")
    read -r l g h < <(tail -n 1 "$T/fsn")
    # The lookups' calls come one after another, then the first GET: one round trip each.
    printf '%-34s curl %s ms | blobfs %s ms: %s round trips (%s List, %s HEAD, then GET; %s GETs in all) | rclone %s ms\n' \
        "first MiB of a deep file, fresh" "$c" "$f" $((l + h + 1)) "$l" "$h" "$g" "$r"
}

# 16 loops of ranged 4 KiB GETs at random offsets for 20 s, each on one kept-alive
# connection: completed requests per second.
curl_iops() {
    local url="$origin/bench/big/video.bin?$sas" i pids=()
    for i in $(seq 16); do
        awk -v n=4000 -v max=$((size / 4096)) -v url="$url" -v seed="$i" 'BEGIN {
            srand(seed)
            for (k = 0; k < n; k++) {
                s = int(rand() * max) * 4096
                if (k) print "next"
                printf "url = \"%s\"\nrange = %d-%d\noutput = /dev/null\n", url, s, s + 4095
            } }' >"$T/curl$i.cfg"
    done
    proxy_reset
    for i in $(seq 16); do
        timeout 20 curl -s -K "$T/curl$i.cfg" >/dev/null 2>&1 &
        pids+=($!)
    done
    wait "${pids[@]}" || true
    echo $(($(proxy_stat gets) / 20)) # counted by the proxy: curl's own output dies with it
}
# fio, 16 threads of 4 KiB random reads for 20 s: the IOPS it reports.
fio_iops() {
    fio --name=rand --filename="$1" --rw=randread --bs=4k --numjobs=16 --thread \
        --time_based --runtime=20 --ioengine=psync --group_reporting \
        --output-format=terse --terse-version=3 2>/dev/null | awk -F';' '{ print $8 }'
}
wan_random() {
    mount_blobfs
    mount_rclone
    local c f r
    c=$(curl_iops)
    proxy_reset
    f=$(fio_iops "$T/blobfs/big/video.bin")
    local gets=$(proxy_stat gets) bytes=$(proxy_stat bytes)
    r=$(fio_iops "$T/rclone/big/video.bin")
    printf '%-34s 16 curls %s IOPS | blobfs %s IOPS = %sx (%s B per GET) | rclone %s IOPS\n' \
        "4 KiB random reads, 16 threads" "$c" "$f" "$(ratio "$f" "$c")" \
        "$((bytes / (gets > 0 ? gets : 1)))" "$r"
}

# Mount and stat p/x.txt beside p-0001 ... p-3000: List calls, listing bytes, time. blobfs
# returns once mounted (the daemon is ready), so it is timed as it runs.
wan_stat() {
    : >"$T/fs" >"$T/rc"
    for _ in $(seq "$runs"); do
        unmount "$T/blobfs" "$blobfs_pid"
        proxy_reset
        t0=$(now)
        AZURE_STORAGE_SAS_TOKEN=$sas bin/blobfs --endpoint "$origin" --container bench \
            --log-file "$T/blobfs.log" "$T/blobfs"
        stat "$T/blobfs/p/x.txt" >/dev/null
        echo $((($(now) - t0) / 1000000)) >>"$T/fs"
        fl=$(proxy_stat lists) fb=$(proxy_stat listBytes)
        blobfs_pid=$(sed -n "s|.* blobfs\[\([0-9]*\)\] info: mounted .* on $T/blobfs\$|\1|p" \
            "$T/blobfs.log" | tail -n 1)
        unmount "$T/rclone" "$rclone_pid"
        proxy_reset
        t0=$(now)
        mount_rclone
        stat "$T/rclone/p/x.txt" >/dev/null
        echo $((($(now) - t0) / 1000000)) >>"$T/rc"
        rl=$(proxy_stat lists) rb=$(proxy_stat listBytes)
    done
    printf '%-34s blobfs %s ms, %s List calls, %s KB listed | rclone %s ms, %s List calls, %s KB\n' \
        "mount + stat p/x.txt (3,000 p-*)" "$(median <"$T/fs")" "$fl" "$((fb / 1000))" \
        "$(median <"$T/rc")" "$rl" "$((rb / 1000))"
}

if [ $wan = 1 ]; then
    node tests/blobfs_proxy.mjs "$(cat "$T/azurite/port")" --delay-ms "$delay" --mbps "$mbps" \
        >"$T/proxy.port" &
    proxy_pid=$!
    for _ in $(seq 200); do [ -s "$T/proxy.port" ] && break; sleep 0.05; done
    proxy=http://127.0.0.1:$(cat "$T/proxy.port")
    origin=$proxy/devstoreaccount1
    echo "bench-fs --wan: $delay ms per request, $mbps MB/s per connection; $(bin/blobfs --version | head -n 1); $(rclone version | head -n 1); $runs runs, medians" >&2
    wan_read
    wan_first
    wan_random
    wan_stat
    unmount "$T/blobfs" "$blobfs_pid"
    unmount "$T/rclone" "$rclone_pid"
    origin=$ep
    runs=${BENCH_LOOPBACK_RUNS:-5}
    [ "$runs" != 0 ] || exit 0
fi

mount_blobfs
mount_rclone
echo "bench-fs: $(bin/blobfs --version); $(rclone version | head -n 1); $runs runs, medians" >&2
printf '%-34s %s\n' "read-ahead of the blobfs mount" \
    "$(cat "/sys/class/bdi/$(mountpoint -d "$T/blobfs")/read_ahead_kb") KiB"
url="$ep/bench/big/video.bin?$sas"

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
    m=$(mark)
    ms cat "$T/blobfs/big/video.bin" >>"$T/fs"
done
gets=$(count "$m" 'bench/big/video\.bin')
c=$(median <"$T/curl") f=$(median <"$T/fs")
printf '%-34s curl %s MB/s | blobfs %s MB/s = %sx curl (%s GETs)\n' \
    "cold read, origin warm" "$(mbs "$c")" "$(mbs "$f")" "$(ratio "$c" "$f")" "$gets"

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
