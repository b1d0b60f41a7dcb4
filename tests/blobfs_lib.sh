# tests/blobfs_lib.sh: what the blobfs integration tests (it_blobfs_*.sh) share. Sourced after
# tests/lib.sh.
#
#   blobfs_mount MNT ARGS...    mount (daemon mode) with the build under test, log in
#                               $BLOBFS_LOG; unmounted on exit, waiting for the daemon;
#                               started under $BLOBFS_WRAP when set
#   blobfs_pid MNT              PID of the daemon serving MNT
#   az_sync; n=$(az_mark) ... az_sync; az_count $n GET 'comp=list'
#                               count the requests Azurite saw (needs AZURITE_DEBUG=1)
#   cold_read FILE URL_ERE      read FILE from a cold page cache, checking its GETs
#   mem_has PID STRING          whether STRING is in the process's writable memory

BLOBFS_LOG=$T/blobfs.log

# The daemon logs "blobfs[PID] info: mounted ... on MNT" once it serves MNT.
_blobfs_mount_lines() {
    awk -v m=" on $1" 'index($0, "info: mounted ") && substr($0, length($0) - length(m) + 1) == m' \
        "$BLOBFS_LOG" 2>/dev/null
}
_blobfs_mounted_since() { [ "$(_blobfs_mount_lines "$1" | wc -l)" -gt "$2" ]; }

blobfs_pid() { cat "$T/pid.$(echo "$1" | tr / _)"; }

# blobfs_umount MNT PID: unmount and wait for the daemon to exit (its sanitizer report is
# written at exit); kill it if it does not.
blobfs_umount() {
    fusermount3 -u "$1" 2>/dev/null || umount -l "$1" 2>/dev/null || true
    wait_until 30 eval "! kill -0 $2 2>/dev/null" || kill -9 "$2" 2>/dev/null || true
}

blobfs_mount() {
    local mnt=$1 pid before
    shift
    mkdir -p "$mnt"
    before=$(_blobfs_mount_lines "$mnt" | wc -l)
    # BLOBFS_WRAP: a command the daemon is started under (e.g. setpriv ...), word-split.
    ${BLOBFS_WRAP:-} "$BIN/blobfs" --endpoint "$AZ_ENDPOINT" --log-file "$BLOBFS_LOG" "$@" "$mnt" ||
        return
    wait_until 20 _blobfs_mounted_since "$mnt" "$before" ||
        { echo "# blobfs did not log its mount of $mnt"; return 1; }
    pid=$(_blobfs_mount_lines "$mnt" | tail -n 1 | sed -n 's/.* blobfs\[\([0-9]*\)\] info: .*/\1/p')
    echo "$pid" >"$T/pid.$(echo "$mnt" | tr / _)"
    at_exit "blobfs_umount '$mnt' $pid"
}

# Azurite logs every request (AZURITE_DEBUG=1) a little after answering it. az_sync sends a
# request of its own and waits for it in the log, so everything before it is counted.
_az_syncs=0
az_sync() {
    _az_syncs=$((_az_syncs + 1))
    curl -s -o /dev/null "$AZ_ENDPOINT/blobfs-sync-$_az_syncs-$$"
    wait_until 10 grep -q "blobfs-sync-$_az_syncs-$$" "$AZ_DIR/debug.log"
}
az_mark() { wc -l <"$AZ_DIR/debug.log"; }
# az_count MARK METHOD_ERE [URL_ERE]: requests since MARK whose method and URL match.
az_count() {
    tail -n +"$(($1 + 1))" "$AZ_DIR/debug.log" | grep -E "RequestMethod=($2) RequestURL=" |
        grep -v blobfs-sync- | grep -cE "RequestURL=[^ ]*${3:-}" || true
}
# az_requests MARK: the requests since MARK, one line each (method, URL without the token,
# range), to show what a count counted.
az_requests() {
    tail -n +"$(($1 + 1))" "$AZ_DIR/debug.log" | grep -E "RequestMethod=[A-Z]+ RequestURL=" |
        grep -v blobfs-sync- |
        sed -E 's/.*RequestMethod=([A-Z]+) RequestURL=([^ ?]*)[^ ]* .*"x-ms-range":"([^"]*)".*/\1 \2 \3/;
                s/.*RequestMethod=([A-Z]+) RequestURL=([^ ?]*).*/\1 \2/'
}

# Reading a file cold fetches every byte once, but this host's kernel may evict page cache
# while it is being read: DAMON proactive reclaim pages out cold unmapped pages, even
# read-ahead ones the reader has not reached. The kernel then reads those pages again, each
# read (at most max_read, 1 MiB) a ranged GET of its own, and counts refaults.
#
# cold_read FILE URL_ERE: drop FILE's page cache, read it whole and collect the GETs whose URL
# matches; sets COLD_SUM (its sha256), COLD_GETS (how many), COLD_TILES (yes when their
# ranges cover the file exactly once: no byte twice, none missing), COLD_FIRST (the first
# range, "FIRST-LAST") and COLD_MARK. A run whose GETs do not tile the file is repeated, at
# most 3 times, only when the kernel refaulted file pages meanwhile or every GET too many was
# one kernel read re-served (under 1 MiB + 1, within another GET): a re-read of evicted pages,
# never a second fetch of what was fetched. The last run counts as is.
_refaults() { awk '$1 == "workingset_refault_file" { print $2 }' /proc/vmstat; }
# _ranges MARK URL_ERE: "FIRST LAST" of each matching GET since MARK, in the order sent.
_ranges() {
    az_requests "$1" | grep -E "$2" | sed -n 's/.* bytes=\([0-9]*\)-\([0-9]*\)$/\1 \2/p'
}
# _tiles SIZE [REREADS]: whether the ranges on stdin cover [0, SIZE) exactly once; with
# REREADS=1, after dropping ranges of at most 1 MiB that another range holds.
_tiles() {
    sort -n | awk -v size="$1" -v rereads="${2:-0}" '
        { s[NR] = $1; e[NR] = $2 }
        END {
            for (i = 1; i <= NR; i++) {
                keep[i] = 1
                if (!rereads || e[i] - s[i] + 1 > 1048576) continue
                for (j = 1; j <= NR; j++)
                    if (j != i && keep[j] && s[j] <= s[i] && e[j] >= e[i]) { keep[i] = 0; break }
            }
            at = 0
            for (i = 1; i <= NR; i++) {
                if (!keep[i]) continue
                if (s[i] != at) exit 1
                at = e[i] + 1
            }
            exit at != size
        }'
}
cold_read() {
    local file=$1 url=$2 try r0 r1 size
    size=$(stat -c %s "$file")
    for try in 1 2 3 4; do
        # POSIX_FADV_DONTNEED: the file's clean pages leave the page cache.
        dd if="$file" iflag=nocache count=0 status=none
        COLD_MARK=$(az_mark)
        r0=$(_refaults)
        COLD_SUM=$(sha256sum <"$file")
        r1=$(_refaults)
        az_sync
        COLD_GETS=$(_ranges "$COLD_MARK" "$url" | wc -l)
        COLD_FIRST=$(_ranges "$COLD_MARK" "$url" | head -n 1 | tr ' ' -)
        COLD_TILES=no
        _ranges "$COLD_MARK" "$url" | _tiles "$size" && COLD_TILES=yes
        [ "$COLD_TILES" = yes ] || [ "$try" = 4 ] && return 0
        [ "$r1" != "$r0" ] || _ranges "$COLD_MARK" "$url" | _tiles "$size" 1 || return 0
        echo "# try $try: $COLD_GETS GETs, $((r1 - r0)) file pages refaulted meanwhile: again"
        az_requests "$COLD_MARK" | grep -E "$url" | sed 's/^/#   /'
    done
}

# mem_has PID STRING: whether STRING is anywhere in the writable memory of process PID (heap,
# stacks, anonymous maps), read through /proc/PID/mem (root may, whether or not the process is
# dumpable). Maps over 256 MiB are skipped: the sanitizer's shadow memory reserves terabytes.
mem_has() {
    local range perms start end
    while read -r range perms _; do
        [[ $perms == rw* ]] || continue
        start=$((16#${range%-*})) end=$((16#${range#*-}))
        [ $((end - start)) -le $((256 << 20)) ] || continue
        dd if="/proc/$1/mem" bs=1M iflag=skip_bytes,count_bytes skip="$start" \
            count=$((end - start)) status=none 2>/dev/null | grep -qaF -- "$2" && return 0
    done <"/proc/$1/maps"
    return 1
}
