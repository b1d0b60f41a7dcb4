#!/usr/bin/env bash
# blobfs's control socket (--control-socket): mode 0600, outside the mount; 'forget PATH' and
# 'forget PREFIX*' make the next lookup see a blob's current version at once, however long
# --attr-timeout and --negative-timeout are, and names outside stay cached; bad requests get
# an error line, never a crash; the mount stays read-only.
set -eu
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/blobfs_lib.sh"

# ctl SOCKET LINE: send one request line, print the answer line.
ctl() {
    python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(20); s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n"); print(s.makefile().readline().strip())' "$1" "$2"
}

azurite_start
az container media >/dev/null
src=$T/src mnt=$T/mnt sock=$T/ctl.sock
mkdir -p "$src/d"
printf 'one\n' >"$src/d/a.txt"
printf 'bbb\n' >"$src/d/b.txt"
printf 'top\n' >"$src/top.txt"
az upload media "$src" >/dev/null
export AZURE_STORAGE_SAS_TOKEN=$(az sas service rl media)
blobfs_mount "$mnt" --container media --attr-timeout 3600 --negative-timeout 3600 \
    --control-socket "$sock"
is "the socket is the owner's only" "$(stat -c '%F %a' "$sock")" "socket 600"
is "d/a.txt" "$(cat "$mnt/d/a.txt")" "one"
stat "$mnt/d/b.txt" "$mnt/top.txt" >/dev/null
fails "d/new.txt is missing" stat "$mnt/d/new.txt"

printf 'second\n' >"$T/v2"
az put media d/a.txt "$T/v2" >/dev/null
az put media d/new.txt "$T/v2" >/dev/null
az put media d/b.txt "$T/v2" >/dev/null
az put media top.txt "$T/v2" >/dev/null
is "overwritten: the cached size stays (attr-timeout 1 h)" "$(stat -c %s "$mnt/d/a.txt")" 4
fails "a new blob stays missing (negative-timeout 1 h)" stat "$mnt/d/new.txt"

is "forget d/a.txt" "$(ctl "$sock" 'forget d/a.txt')" "ok 1"
is "the next stat sees the new version" "$(stat -c %s "$mnt/d/a.txt")" 7
is "and the next read its bytes" "$(cat "$mnt/d/a.txt")" "second"
is "forget d/new.txt: nothing cached" "$(ctl "$sock" 'forget d/new.txt')" "ok 0"
is "the new blob shows at once" "$(cat "$mnt/d/new.txt")" "second"
is "d/b.txt stays cached" "$(stat -c %s "$mnt/d/b.txt")" 4

ans=$(ctl "$sock" "forget $mnt/d/*")
ok "forget MOUNT/d/* (an absolute path): $ans" eval '[[ "$ans" =~ ^ok\ [1-9] ]]'
is "d/b.txt: the new version" "$(cat "$mnt/d/b.txt")" "second"
is "top.txt outside the prefix stays cached" "$(stat -c %s "$mnt/top.txt")" 4
is "an absolute path outside the mount: not ours" "$(ctl "$sock" 'forget /elsewhere/top.txt')" \
    "ok 0"
is "the prefix '' is everything" "$(ctl "$sock" 'forget *')" "$(ctl "$sock" 'forget *')"
is "top.txt then too" "$(stat -c %s "$mnt/top.txt")" 7

ok "an unknown request: an error line" eval '[[ "$(ctl "$sock" "write x")" == error* ]]'
is "a line too long: an error line" "$(ctl "$sock" "forget $(head -c 5000 /dev/zero | tr '\0' a)")" \
    "error line too long"
ok "the daemon lives on" kill -0 "$(blobfs_pid "$mnt")"
fails "the mount stays read-only" touch "$mnt/d/x.txt"

mkdir -p "$T/m2"
fails "a socket inside the mount is refused" "$BIN/blobfs" --endpoint "$AZ_ENDPOINT" \
    --container media --control-socket "$T/m2/ctl.sock" "$T/m2"
touch "$T/plain"
fails "so is a path that holds a file" "$BIN/blobfs" --endpoint "$AZ_ENDPOINT" \
    --container media --control-socket "$T/plain" "$T/m2"
ok "which stays" test -f "$T/plain"
blobfs_umount "$mnt" "$(blobfs_pid "$mnt")"
fails "unmounted, the socket is removed" test -e "$sock"
