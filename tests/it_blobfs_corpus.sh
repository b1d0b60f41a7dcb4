#!/usr/bin/env bash
# blobfs over a seeded corpus: every name, size, mode and byte as uploaded (nested folders,
# odd names, a zero-byte blob, a 12,000-blob folder, a 256 MiB blob whose every byte is
# fetched once),
# folder-vs-blob collisions, hidden names, concurrent readers, writes refused without a
# request to the origin, and a clean unmount on SIGTERM.
# run alone: it counts GETs, which pages evicted under load would change (tests/run.sh)
set -eu
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/blobfs_lib.sh"

export AZURITE_DEBUG=1
azurite_start
az container media >/dev/null

src=$T/src mnt=$T/mnt
mkdir -p "$src/photos/2024/deep/er" "$src/odd names" "$src/big" "$src/huge" "$src/par"
printf 'deep\n' >"$src/photos/2024/deep/er/x.txt"
printf 'cat\n' >"$src/photos/2024/cat.jpg"
printf 'top\n' >"$src/top.txt"
: >"$src/empty.bin"
for n in 'sp ace.txt' '100%.txt' 'a+b.txt' 'hash#tag.txt' 'why?.txt' 'amp&er=1.txt' \
    'été 漢字.txt' 'emoji 🎉.txt' "quote'\".txt" 'semi;colon,comma.txt' '~tilde.txt'; do
    printf 'name %s\n' "$n" >"$src/odd names/$n"
done
for i in $(seq -w 1 12000); do printf 'blob %s\n' "$i" >"$src/big/f$i.txt"; done
head -c $((256 << 20)) /dev/urandom >"$src/huge/video.bin"
for i in 1 2 3 4; do head -c $((6 << 20)) /dev/urandom >"$src/par/p$i.bin"; done
az upload media "$src" >/dev/null
# Not files of $src: a blob beside a folder of its name, a folder marker, names that cannot
# be paths (an empty segment, a 300-byte segment).
printf 'shadowed\n' | az put media clash -
printf 'inner\n' | az put media clash/inner.txt -
az put media marked - hdi_isfolder=true </dev/null
printf 'in\n' | az put media marked/in.txt -
printf 'x\n' | az put media 'dbl//hidden.txt' -
long=$(printf 'L%.0s' $(seq 300))
printf 'x\n' | az put media "$long/hidden.txt" -

export AZURE_STORAGE_SAS_TOKEN=$(az sas service rl media)
az_sync
mark=$(az_mark)
blobfs_mount "$mnt" --container media
az_sync
is "the mount probe costs one List call" "$(az_count "$mark" GET 'comp=list')" 1

# The 12,000-blob folder: complete, cold in at most 3 List calls (5000 per page), warm in none.
mark=$(az_mark)
ls -l "$mnt/big" >"$T/ls-big"
az_sync
is "ls -l lists all 12,000 blobs of big/" "$(grep -c '^-r--r--r-- ' "$T/ls-big")" 12000
lists=$(az_count "$mark" GET 'comp=list')
ok "cold ls -l big/ costs at most 3 List calls ($lists)" [ "$lists" -le 3 ]
is "and no other request" "$(az_count "$mark" 'GET|HEAD' '')" "$lists"
mark=$(az_mark)
ls -l "$mnt/big" >/dev/null
az_sync
is "a warm ls -l costs nothing" "$(az_count "$mark" 'GET|HEAD|PUT|POST|DELETE')" 0

# Names, sizes and modes as uploaded.
(cd "$src" && find . -type f -printf '%s %p\n') >"$T/want"
printf '%s\n' '6 ./clash/inner.txt' '3 ./marked/in.txt' >>"$T/want"
(cd "$mnt" && find . -type f -printf '%s %p\n') >"$T/got"
sort -o "$T/want" "$T/want"
sort -o "$T/got" "$T/got"
ok "find: every file, name and size as uploaded" cmp "$T/want" "$T/got"
is "files are 0444, folders 0555, owned by the mounting user" \
    "$(find "$mnt" \( -type f ! -perm 0444 \) -o \( -type d ! -perm 0555 \) -o ! -user "$(id -u)" | wc -l)" 0
is "find sees the folders" "$(cd "$mnt" && find . -mindepth 1 -type d | sort | tr '\n' ' ')" \
    "./big ./clash ./dbl ./huge ./marked ./odd names ./par ./photos ./photos/2024 ./photos/2024/deep ./photos/2024/deep/er "
is "stat of a nested file" "$(stat -c '%s %F' "$mnt/photos/2024/deep/er/x.txt")" "5 regular file"
mtime=$(stat -c %Y "$mnt/top.txt")
ok "mtime is the blob's Last-Modified" [ $((mtime - $(date +%s))) -le 5 ] && [ "$mtime" -gt $(($(date +%s) - 3600)) ]

# Bytes as uploaded: every file but those of big/, where names and sizes are checked above
# for all 12,000 and bytes for every 100th (12,000 GETs cost Azurite half a minute).
(cd "$src" && find . -type f ! -path './big/*' ! -path './huge/*' -print0 | sort -z |
    xargs -0 sha256sum) >"$T/want-sum"
(cd "$mnt" && find . -type f ! -path './big/*' ! -path './huge/*' ! -path './clash/*' \
    ! -path './marked/*' -print0 | sort -z | xargs -0 sha256sum) >"$T/got-sum"
ok "sha256sum of every file outside big/ as uploaded" cmp "$T/want-sum" "$T/got-sum"
(cd "$src/big" && ls | awk 'NR % 100 == 1 || NR == 12000' | xargs sha256sum) >"$T/want-big"
(cd "$mnt/big" && ls | awk 'NR % 100 == 1 || NR == 12000' | xargs sha256sum) >"$T/got-big"
is "a sample of big/ to check" "$(wc -l <"$T/want-big")" 121
ok "sha256sum of every 100th file of big/ as uploaded" cmp "$T/want-big" "$T/got-big"
cold_read "$mnt/huge/video.bin" 'media/huge/video\.bin'
is "the 256 MiB blob reads back" "$COLD_SUM" "$(sha256sum <"$src/huge/video.bin")"
is "its $COLD_GETS GETs fetch every byte once" "$COLD_TILES" yes
is "the first 1.125 MiB" "$COLD_FIRST" 0-1179647
[ "$COLD_TILES" = yes ] || az_requests "$COLD_MARK" | sed 's/^/#   /'
is "ranged read at 100 MiB" "$(dd if="$mnt/huge/video.bin" bs=1M skip=100 count=3 2>/dev/null | sha256sum)" \
    "$(dd if="$src/huge/video.bin" bs=1M skip=100 count=3 2>/dev/null | sha256sum)"

# The zero-byte blob: empty, without a GET (a Range on 0 bytes is an error on Azure).
mark=$(az_mark)
is "the zero-byte blob is empty" "$(stat -c %s "$mnt/empty.bin")/$(wc -c <"$mnt/empty.bin")" "0/0"
az_sync
is "reading it sends no GET" "$(az_count "$mark" GET 'media/empty\.bin')" 0

# Collisions and hidden names.
is "a blob beside a folder of its name: the folder, once" "$(ls "$mnt" | grep -c '^clash$')" 1
ok "clash is the folder" [ -d "$mnt/clash" ]
is "the folder's file reads" "$(cat "$mnt/clash/inner.txt")" inner
ok "the shadowed blob is logged" grep -q "hiding blob 'clash': a folder has the same name" "$BLOBFS_LOG"
is "a folder marker and its folder: once" "$(ls "$mnt" | grep -c '^marked$')" 1
is "an empty segment is hidden" "$(ls -A "$mnt/dbl" | wc -l)" 0
ok "and logged" grep -q "hiding 'dbl//': it cannot be a file name" "$BLOBFS_LOG"
ok "a 300-byte segment is hidden and logged" grep -q "hiding '$long/': it cannot be a file name" "$BLOBFS_LOG"
is "each hidden name is logged once" "$(grep -c "hiding 'dbl//'" "$BLOBFS_LOG")" 1

# Concurrent readers, cold: four blobs at once, then one blob four times at once.
for i in 1 2 3 4; do sha256sum <"$mnt/par/p$i.bin" >"$T/par$i" & done
wait
for i in 1 2 3 4; do sha256sum <"$src/par/p$i.bin" >"$T/want$i"; done
ok "four readers of four blobs" eval 'for i in 1 2 3 4; do cmp -s "$T/par$i" "$T/want$i" || exit 1; done'
blobfs_umount "$mnt" "$(blobfs_pid "$mnt")"
blobfs_mount "$mnt" --container media
for i in 1 2 3 4; do sha256sum <"$mnt/par/p1.bin" >"$T/same$i" & done
wait
ok "four readers of one blob" eval 'for i in 1 2 3 4; do cmp -s "$T/same$i" "$T/want1" || exit 1; done'

# Writes: EROFS, and not one request that writes.
mark=$(az_mark)
erofs() { "$@" 2>&1 | grep -q 'Read-only file system'; }
ok "create: EROFS" erofs touch "$mnt/new.txt"
ok "overwrite: EROFS" erofs sh -c "echo x >'$mnt/top.txt'"
ok "append: EROFS" erofs sh -c "echo x >>'$mnt/top.txt'"
ok "truncate: EROFS" erofs truncate -s 0 "$mnt/top.txt"
ok "mkdir: EROFS" erofs mkdir "$mnt/newdir"
ok "rm: EROFS" erofs rm -f "$mnt/top.txt"
ok "rmdir: EROFS" erofs rmdir "$mnt/photos/2024/deep/er"
ok "mv: EROFS" erofs mv "$mnt/top.txt" "$mnt/top2.txt"
ok "chmod: EROFS" erofs chmod 600 "$mnt/top.txt"
ok "symlink: EROFS" erofs ln -s x "$mnt/link"
is "the file is intact" "$(cat "$mnt/top.txt")" top
az_sync
is "no request that writes reached the origin" "$(az_count "$mark" 'PUT|POST|DELETE|PATCH')" 0

# SIGTERM unmounts cleanly.
pid=$(blobfs_pid "$mnt")
kill -TERM "$pid"
ok "SIGTERM unmounts" wait_until 20 eval "! mountpoint -q '$mnt'"
ok "and the daemon exits" wait_until 20 eval "! kill -0 $pid 2>/dev/null"
ok "saying so" grep -q "blobfs\[$pid\] info: unmounted $mnt" "$BLOBFS_LOG"
