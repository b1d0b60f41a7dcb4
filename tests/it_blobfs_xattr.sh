#!/usr/bin/env bash
# blobfs's read-only extended attributes (getfattr/setfattr on a real mount over Azurite): the
# properties and metadata of a listed folder cost no request; without list permission one Get
# Blob Properties per lookup; the size protocol (ERANGE), ENODATA, EROFS; an overwrite
# changes the ETag attribute after the attribute timeout; an Archive-tier blob refuses reads
# with one log line and still shows its attributes. Azurite accepts Hot, Cool, Cold and
# Archive, and answers a read of an Archive blob 409 BlobArchived as Azure does.
set -eu
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/blobfs_lib.sh"

export AZURITE_DEBUG=1
azurite_start
az container media >/dev/null
mnt=$T/mnt
printf 'jpeg\n' | az put media d/a.jpg - 'author=Zo e "q" <x>' camera_2=X100 \
    --content-type image/jpeg --cache-control 'public, max-age=60' --tier Cool
printf 'one\n' | az put media d/over.txt -
printf 'cold\n' | az put media d/arch.bin - --tier Archive
export AZURE_STORAGE_SAS_TOKEN=$(az sas service rl media)

xget() { getfattr --only-values -n "$1" "$2" 2>"$T/xerr"; }
# What Azure says of blob NAME: its ETag (unquoted) and its MD5, from a HEAD of our own.
remote() {
    curl -sfI "$AZ_ENDPOINT/media/$1?$AZURE_STORAGE_SAS_TOKEN" |
        sed -n "s/^$2: \"\{0,1\}\([^\"]*\)\"\{0,1\}\r$/\1/Ip"
}

blobfs_mount "$mnt" --container media --attr-timeout 2
ls "$mnt/d" >/dev/null
az_sync
mark=$(az_mark)
getfattr -d -m - "$mnt/d/a.jpg" >"$T/dump" 2>/dev/null
xget user.blob.meta.author "$mnt/d/a.jpg" >"$T/author"
az_sync
is "a listed folder's attributes cost no request" "$(az_count "$mark" 'GET|HEAD')" 0
names=$(python3 -c 'import os, sys; print(*os.listxattr(sys.argv[1]), end=" ")' "$mnt/d/a.jpg")
is "the names, in order" "$names" "user.blob.etag user.blob.content_type \
user.blob.content_md5 user.blob.cache_control user.blob.last_modified user.blob.access_tier \
user.blob.type user.blob.meta.author user.blob.meta.camera_2 "
is "metadata byte for byte" "$(cat "$T/author")" 'Zo e "q" <x>'
is "content type" "$(xget user.blob.content_type "$mnt/d/a.jpg")" image/jpeg
is "cache control" "$(xget user.blob.cache_control "$mnt/d/a.jpg")" 'public, max-age=60'
is "access tier" "$(xget user.blob.access_tier "$mnt/d/a.jpg")" Cool
is "blob type" "$(xget user.blob.type "$mnt/d/a.jpg")" BlockBlob
is "ETag as the service gives it" "$(xget user.blob.etag "$mnt/d/a.jpg")" "$(remote d/a.jpg etag)"
is "Content-MD5" "$(xget user.blob.content_md5 "$mnt/d/a.jpg")" "$(remote d/a.jpg content-md5)"
ok "last_modified in RFC 3339 UTC" eval \
    "xget user.blob.last_modified '$mnt/d/a.jpg' | grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$'"
is "a folder's prefix" "$(xget user.blob.prefix "$mnt/d")" d/
fails "a missing name" xget user.blob.nope "$mnt/d/a.jpg"
ok "is ENODATA" grep -q "No such attribute" "$T/xerr"
fails "setfattr" setfattr -n user.blob.meta.author -v x "$mnt/d/a.jpg" 2>"$T/xerr"
ok "is EROFS" grep -q "Read-only file system" "$T/xerr"
fails "removing" setfattr -x user.blob.etag "$mnt/d/a.jpg" 2>"$T/xerr"
ok "is EROFS too" grep -q "Read-only file system" "$T/xerr"
# The size protocol through the kernel: size 0 gives the length, one byte short is ERANGE.
sizes=$(python3 - "$mnt/d/a.jpg" <<'PY'
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
p, n = sys.argv[1].encode(), b"user.blob.content_type"
need = libc.getxattr(p, n, None, 0)
buf = ctypes.create_string_buffer(64)
short = libc.getxattr(p, n, buf, need - 1)
err = ctypes.get_errno()
lneed = libc.listxattr(p, None, 0)
lshort = libc.listxattr(p, ctypes.create_string_buffer(lneed), lneed - 1)
names = os.listxattr(sys.argv[1])
print(need, short, os.strerror(err), lneed == sum(len(x) + 1 for x in names), lshort)
PY
)
is "getxattr and listxattr sizes" "$sizes" "10 -1 Numerical result out of range True -1"

# An Archive blob: reading fails with a clear errno and one log line; its attributes remain.
fails "reading an Archive blob" cat "$mnt/d/arch.bin" 2>"$T/err"
ok "fails with ENODATA" grep -q "No data available" "$T/err"
fails "again" cat "$mnt/d/arch.bin" 2>/dev/null
is "logged once, naming the tier and rehydration" \
    "$(grep -c "cannot read 'd/arch.bin': the blob is in the Archive access tier; rehydrate" "$BLOBFS_LOG")" 1
is "its tier shows" "$(xget user.blob.access_tier "$mnt/d/arch.bin")" Archive

# An overwrite: after the attribute timeout the ETag attribute follows the new version.
old=$(xget user.blob.etag "$mnt/d/over.txt")
printf 'two\n' | az put media d/over.txt - note=new
new=$(remote d/over.txt etag)
ok "the new version has another ETag" [ "$old" != "$new" ]
ok "the ETag attribute follows the overwrite" \
    wait_until 10 eval '[ "$(xget user.blob.etag "$mnt/d/over.txt")" = "$new" ]'
is "and its metadata" "$(xget user.blob.meta.note "$mnt/d/over.txt")" new
blobfs_umount "$mnt" "$(blobfs_pid "$mnt")"

# Without list permission every lookup is one Get Blob Properties, which brings the
# attributes: getfattr asks nothing more of the service.
export AZURE_STORAGE_SAS_TOKEN=$(az sas service r media)
blobfs_mount "$mnt" --container media
stat "$mnt/d/a.jpg" >/dev/null
az_sync
mark=$(az_mark)
is "after a HEAD lookup, metadata" "$(xget user.blob.meta.camera_2 "$mnt/d/a.jpg")" X100
is "tier" "$(xget user.blob.access_tier "$mnt/d/a.jpg")" Cool
az_sync
is "with no further request" "$(az_count "$mark" 'GET|HEAD')" 0
