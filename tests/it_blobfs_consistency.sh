#!/usr/bin/env bash
# blobfs and changing blobs: a blob overwritten during a read never yields bytes of two
# versions: GETs already made deliver the version they began with, and the first GET made
# after the change (If-Match) fails the read with ESTALE, after which the next open sees the
# new version; between reads, a new version (same size too) shows after the attribute timeout
# or at once after SIGHUP; a warm re-read costs no request; new and deleted blobs show in
# listings after the timeout.
# run alone: it counts requests that pages evicted under load would change (tests/run.sh)
set -eu
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/blobfs_lib.sh"

export AZURITE_DEBUG=1
azurite_start
az container media >/dev/null
src=$T/src mnt=$T/mnt
mkdir -p "$src/d"
head -c $((64 << 20)) /dev/urandom >"$T/v1"
head -c $((64 << 20)) /dev/urandom >"$T/v2"
cp "$T/v1" "$src/big.bin"
cp "$T/v1" "$src/running.bin"
printf 'aaaa\n' >"$src/d/short.txt"
printf 'first\n' >"$src/d/hup.txt"
printf 'gone\n' >"$src/d/gone.txt"
az upload media "$src" >/dev/null
export AZURE_STORAGE_SAS_TOKEN=$(az sas service rl media)
# Overwritten while the reader pauses: the read goes on with new GETs, which the changed blob
# refuses (If-Match). What it returned is a prefix of the old version. (--prefetch-mem 8
# keeps the read-ahead from fetching all 64 MiB before the overwrite, as it may on loopback.)
blobfs_mount "$mnt" --container media --debug --prefetch-mem 8
exec 3<"$mnt/big.bin"
dd bs=1M count=2 <&3 >"$T/got" 2>/dev/null
az put media big.bin "$T/v2"
cat <&3 >>"$T/got" 2>"$T/err" && rc=0 || rc=$?
exec 3<&-
ok "overwritten during a read: the read fails" [ "$rc" != 0 ]
ok "with ESTALE" grep -q "Stale file handle" "$T/err"
n=$(stat -c %s "$T/got")
ok "before failing it returned only old bytes ($n)" cmp -s -n "$n" "$T/got" "$T/v1"
ok "and not all of them" [ "$n" -lt $((64 << 20)) ]
ok "logged once" [ "$(grep -c "cannot read 'big.bin': it changed while being read" "$BLOBFS_LOG")" = 1 ]
is "the next open reads the new version" "$(sha256sum <"$mnt/big.bin")" "$(sha256sum <"$T/v2")"

# Overwritten while GETs run: one GET is one version, so the read returns the old one whole,
# or fails with ESTALE; never bytes of both.
exec 3<"$mnt/running.bin"
dd bs=1M count=2 <&3 >"$T/got" 2>/dev/null
az put media running.bin "$T/v2"
cat <&3 >>"$T/got" 2>"$T/err" && rc=0 || rc=$?
exec 3<&-
n=$(stat -c %s "$T/got")
ok "overwritten while GETs run: only old bytes ($n)" cmp -s -n "$n" "$T/got" "$T/v1"
ok "all of them, or ESTALE" eval '[ "$rc" = 0 ] && [ "$n" = $((64 << 20)) ] ||
    grep -q "Stale file handle" "$T/err"'

# A warm re-read is served by the page cache: no request at all. This host's kernel runs
# DAMON proactive reclaim, which pages out cold unmapped page cache (a few 128 KiB folios of
# a file read a second ago, now and then), so the re-read is timed for a moment when fincore
# finds the whole file resident: then every byte must come from the cache. fincore opens the
# file too, so a cache dropped at open would never be found whole.
resident=0 n=
for _ in 1 2 3 4 5; do
    cat "$mnt/big.bin" >/dev/null
    resident=$(fincore -b -n -o RES "$mnt/big.bin")
    [ "$resident" = $((64 << 20)) ] || continue
    az_sync
    mark=$(az_mark)
    is "a warm re-read" "$(sha256sum <"$mnt/big.bin")" "$(sha256sum <"$T/v2")"
    az_sync
    n=$(az_count "$mark" 'GET|HEAD')
    break
done
is "the file stays in the page cache across opens" "$resident" $((64 << 20))
is "a warm re-read costs no request" "$n" 0
[ "$n" = 0 ] || az_requests "$mark" | sed 's/^/#   /'
blobfs_umount "$mnt" "$(blobfs_pid "$mnt")"

# Between reads, with a 2 s attribute timeout: the same size overwritten shows after it.
blobfs_mount "$mnt" --container media --attr-timeout 2 --negative-timeout 1
is "read" "$(cat "$mnt/d/short.txt")" aaaa
ls "$mnt/d" >/dev/null
printf 'bbbb\n' | az put media d/short.txt -
ok "after the timeout, the new version of the same size" \
    wait_until 10 eval '[ "$(cat "$mnt/d/short.txt")" = bbbb ]'
printf 'new\n' | az put media d/new.txt -
az rm media d/gone.txt
ok "a new blob shows in the listing" wait_until 10 eval 'ls "$mnt/d" | grep -qx new.txt'
ok "a deleted blob leaves it" wait_until 10 eval '! ls "$mnt/d" | grep -qx gone.txt'
ok "and cannot be opened" eval "! cat '$mnt/d/gone.txt' 2>/dev/null"
blobfs_umount "$mnt" "$(blobfs_pid "$mnt")"

# With the default timeout (120 s), SIGHUP forgets at once.
blobfs_mount "$mnt" --container media
is "read" "$(cat "$mnt/d/hup.txt")" first
printf 'secnd\n' | az put media d/hup.txt -
is "within the timeout the cached version is read" "$(cat "$mnt/d/hup.txt")" first
kill -HUP "$(blobfs_pid "$mnt")"
ok "after SIGHUP, the new version" wait_until 5 eval '[ "$(cat "$mnt/d/hup.txt")" = secnd ]'
ok "SIGHUP is logged" grep -q "forgot all cached metadata" "$BLOBFS_LOG"
