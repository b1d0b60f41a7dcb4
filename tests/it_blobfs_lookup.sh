#!/usr/bin/env bash
# blobfs on a fresh mount: few requests before the first byte, counted in Azurite's log. The
# mount-time check and every lookup list a few names (flat, maxresults 8), never a folder; a
# deep path resolves with one List that fills its parents; a folder behind many siblings costs
# two; a file's first byte costs its lookups and a GET; ls still lists folders in full.
set -eu
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/blobfs_lib.sh"

export AZURITE_DEBUG=1
azurite_start
az container media >/dev/null
src=$T/src mnt=$T/mnt
mkdir -p "$src/deep/a/b" "$src/p" "$src/q/r"
printf 'deep\n' >"$src/deep/a/b/c.jpg"
printf 'x\n' >"$src/p/x.txt"
for i in $(seq -w 1 40); do printf '%s\n' "$i" >"$src/p-$i"; done
for i in $(seq -w 1 10); do printf '%s\n' "$i" >"$src/a-$i"; done # first: the check's page
head -c 300000 /dev/urandom >"$src/q/r/img.bin"
for i in 1 2 3; do printf '%s\n' "$i" >"$src/q/r/img.bin.$i"; done
az upload media "$src" >/dev/null
export AZURE_STORAGE_SAS_TOKEN=$(az sas service rl media)

lists() { az_sync; az_count "$1" GET 'comp=list'; }
# Every List since MARK asked for at most 8 names, without delimiter.
all_small() {
    az_sync
    ! az_requests "$1" | grep 'comp=list' | grep -v 'maxresults=8' | grep -q . &&
        ! az_requests "$1" | grep 'comp=list' | grep -q 'delimiter'
}
az_requests() { # the full URLs (blobfs_lib.sh's version drops the query)
    tail -n +"$(($1 + 1))" "$AZ_DIR/debug.log" | grep -v blobfs-sync- |
        sed -n 's/.*RequestMethod=\([A-Z]*\) RequestURL=\([^ ]*\).*/\1 \2/p' | sed 's/&sig=[^&]*//'
}
show() { az_requests "$1" | sed 's/^/#   /'; }

mark=$(az_mark)
blobfs_mount "$mnt" --container media
is "the mount-time check is one List call" "$(lists "$mark")" 1
ok "of a few names" all_small "$mark"
mark=$(az_mark)
is "a name it listed" "$(cat "$mnt/a-01")" 01
is "costs no List call" "$(lists "$mark")" 0

mark=$(az_mark)
is "stat of deep/a/b/c.jpg on a fresh mount" "$(stat -c %s "$mnt/deep/a/b/c.jpg")" 5
is "costs one List call, which fills its parents" "$(lists "$mark")" 1
is "and no other request" "$(az_count "$mark" 'GET|HEAD')" 1
ok "of a few names" all_small "$mark"

mark=$(az_mark)
is "stat of p/x.txt beside 40 names p-*" "$(stat -c %s "$mnt/p/x.txt")" 2
is "costs two List calls (the siblings sort before p/)" "$(lists "$mark")" 2
ok "of a few names each" all_small "$mark"
[ "$(lists "$mark")" = 2 ] || show "$mark"

mark=$(az_mark)
is "the first bytes of q/r/img.bin" "$(head -c 1000 "$mnt/q/r/img.bin" | sha256sum)" \
    "$(head -c 1000 "$src/q/r/img.bin" | sha256sum)"
az_sync
is "cost one List call for the path and one GET" \
    "$(az_count "$mark" GET 'comp=list') $(az_count "$mark" GET 'media/q/r/img\.bin')" "1 1"
is "and nothing else" "$(az_count "$mark" 'GET|HEAD')" 2
[ "$(az_count "$mark" 'GET|HEAD')" = 2 ] || show "$mark"

mark=$(az_mark)
is "a missing name" "$(stat "$mnt/deep/nosuch" 2>&1 | grep -c 'No such file')" 1
ok "costs a List call or two" eval "[ \"\$(lists $mark)\" -le 2 ]"

# ls lists in full (delimiter, every page) and then answers lookups without a request.
mark=$(az_mark)
is "ls of the root lists every name" "$(ls "$mnt" | wc -l)" 53
az_sync
ok "with a delimited listing" eval "az_requests $mark | grep 'comp=list' | grep -q 'delimiter=%2F'"
mark=$(az_mark)
is "then a name the listing does not hold" "$(stat "$mnt/nosuch" 2>&1 | grep -c 'No such file')" 1
is "costs no request" "$(lists "$mark")" 0
