# tests/blobfs_lib.sh: what the blobfs integration tests (it_blobfs_*.sh) share. Sourced after
# tests/lib.sh.
#
#   blobfs_mount MNT ARGS...    mount (daemon mode) with the build under test, log in
#                               $BLOBFS_LOG; unmounted on exit, waiting for the daemon;
#                               started under $BLOBFS_WRAP when set
#   blobfs_pid MNT              PID of the daemon serving MNT
#   az_sync; n=$(az_mark) ... az_sync; az_count $n GET 'comp=list'
#                               count the requests Azurite saw (needs AZURITE_DEBUG=1)
#   cold_read FILE URL_ERE WANT read FILE from a cold page cache, counting its GETs
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

# Reading a file cold costs a known number of GETs, but this host's kernel may evict page
# cache while it is being read: DAMON proactive reclaim pages out cold unmapped pages, even
# read-ahead ones the reader has not reached. The kernel then reads those pages again, each
# read (at most max_read, 1 MiB) a ranged GET of its own, and counts refaults.
#
# cold_read FILE URL_ERE WANT: drop FILE's page cache, read it whole and count the GETs
# whose URL matches; sets COLD_SUM (its sha256), COLD_GETS and COLD_MARK. A run with
# another count than WANT is repeated, at most 3 times, only when the kernel refaulted file
# pages meanwhile or every GET past the first WANT was one kernel read re-served (under
# 1 MiB + 1): a re-read of evicted pages, never a second stream. The last run counts as is.
_refaults() { awk '$1 == "workingset_refault_file" { print $2 }' /proc/vmstat; }
_only_rereads() { # MARK URL_ERE WANT
    az_requests "$1" | grep -E "$2" | tail -n +"$(($3 + 1))" |
        awk -F'bytes=' '{ split($2, r, "-"); if (r[2] - r[1] + 1 > 1048576) bad = 1 }
                        END { exit bad }'
}
cold_read() {
    local file=$1 url=$2 want=$3 try r0 r1
    for try in 1 2 3 4; do
        # POSIX_FADV_DONTNEED: the file's clean pages leave the page cache.
        dd if="$file" iflag=nocache count=0 status=none
        COLD_MARK=$(az_mark)
        r0=$(_refaults)
        COLD_SUM=$(sha256sum <"$file")
        r1=$(_refaults)
        az_sync
        COLD_GETS=$(az_count "$COLD_MARK" GET "$url")
        [ "$COLD_GETS" = "$want" ] || [ "$try" = 4 ] && return 0
        [ "$r1" != "$r0" ] || _only_rereads "$COLD_MARK" "$url" "$want" || return 0
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
