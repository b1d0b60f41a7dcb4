#!/usr/bin/env bash
# blobfs and credentials: a read-only SAS (no listing) still reads known paths; expired,
# tampered and misdirected tokens are refused at mount with one clear message and nothing
# mounted, and while mounted (SIGHUP swaps --sas-file) with EACCES and a log line naming the
# cause; anonymous access to a public container; the token never shows in logs, ps or environ.
set -eu
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/blobfs_lib.sh"

azurite_start
az container media >/dev/null
az container pub --public blob >/dev/null
src=$T/src mnt=$T/mnt
mkdir -p "$src/a/b" "$mnt"
head -c 300000 /dev/urandom >"$src/a/b/img.bin"
printf 'hello\n' >"$src/top.txt"
printf 'other\n' >"$src/other.txt"
az upload media "$src" >/dev/null
az upload pub "$src" >/dev/null
want=$(sha256sum <"$src/a/b/img.bin")
unset AZURE_STORAGE_SAS_TOKEN

# refused DESC ERE [ENV=VALUE...] -- ARGS...: the mount fails with one line matching ERE.
refused() {
    local desc=$1 ere=$2 rc=0
    shift 2
    local envs=()
    while [ "$1" != -- ]; do envs+=("$1"); shift; done
    shift
    env "${envs[@]}" "$BIN/blobfs" --endpoint "$AZ_ENDPOINT" --connect-timeout 1 \
        --retry-timeout 2 "$@" "$mnt" 2>"$T/err" || rc=$?
    if [ "$rc" != 0 ] && [ "$(wc -l <"$T/err")" = 1 ] && grep -qE "$ere" "$T/err" &&
        ! mountpoint -q "$mnt"; then
        _pass "$desc"
    else
        _fail "$desc"; echo "#   status $rc, mounted: $(mountpoint -q "$mnt" && echo yes || echo no)"
        sed 's/^/#   /' "$T/err"
    fi
}

expired=$(az sas service rl media --expired)
tampered=$(az sas service rl media --tampered)
good=$(az sas service rl media)
refused "an expired SAS is refused at mount, naming the expiry" \
    "cannot mount container 'media' of .*: access denied \(.*\): the SAS token expired at 20" \
    AZURE_STORAGE_SAS_TOKEN="$expired" -- --container media
refused "a tampered SAS is refused at mount" "the SAS token was refused" \
    AZURE_STORAGE_SAS_TOKEN="$tampered" -- --container media
refused "a missing container is refused at mount" "container 'nosuch' does not exist" \
    AZURE_STORAGE_SAS_TOKEN="$(az sas account rl)" -- --container nosuch
refused "a private container without a token is refused at mount" \
    "anonymous access is not allowed here" -- --container media
refused "an unreachable endpoint is refused at mount" "cannot reach http://127.0.0.1:9/x" \
    AZURE_STORAGE_SAS_TOKEN="$good" -- --container media --endpoint http://127.0.0.1:9/x
refused "a token that is no SAS is refused" "unusable SAS token" \
    AZURE_STORAGE_SAS_TOKEN="not a token" -- --container media
refused "an invalid container name is refused" "invalid container name" -- --container 'Bad,Name'
ok "no token in those messages" eval "! grep -rq 'sig=' '$T/err'"

# A read-only SAS (sp=r, no l): known paths stat and read, listing is refused.
printf '%s\n' "$(az sas service r media)" >"$T/sas-r"
blobfs_mount "$mnt" --container media --sas-file "$T/sas-r"
ok "read-only SAS: mounted without listing, saying why" \
    grep -q "listing container 'media' is not allowed" "$BLOBFS_LOG"
is "read-only SAS: stat of a nested path" "$(stat -c '%s %F' "$mnt/a/b/img.bin")" "300000 regular file"
is "read-only SAS: sha256sum of a nested path" "$(sha256sum <"$mnt/a/b/img.bin")" "$want"
is "read-only SAS: cat" "$(cat "$mnt/top.txt")" hello
ok "read-only SAS: ls answers EACCES" eval "ls '$mnt' 2>&1 | grep -q 'Permission denied'"
ok "read-only SAS: ls of a folder answers EACCES" eval "ls '$mnt/a' 2>&1 | grep -q 'Permission denied'"
is "read-only SAS: a name that is no blob acts as a folder" "$(stat -c %F "$mnt/nosuch")" directory
ok "read-only SAS: opening it is refused like any folder" \
    eval "cat '$mnt/nosuch' 2>&1 | grep -q 'Permission denied'"
blobfs_umount "$mnt" "$(blobfs_pid "$mnt")"
AZURE_STORAGE_SAS_TOKEN=$(az sas account r) blobfs_mount "$mnt" --container media
is "read-only account SAS: sha256sum of a nested path" "$(sha256sum <"$mnt/a/b/img.bin")" "$want"
blobfs_umount "$mnt" "$(blobfs_pid "$mnt")"

# Anonymous access to a container public at blob level: no listing, but reads.
blobfs_mount "$mnt" --container pub
is "anonymous, public blobs: sha256sum of a nested path" "$(sha256sum <"$mnt/a/b/img.bin")" "$want"
blobfs_umount "$mnt" "$(blobfs_pid "$mnt")"

# While mounted: SIGHUP re-reads --sas-file. Expired, then tampered, then good again.
printf '?%s\n' "$good" >"$T/sas"
blobfs_mount "$mnt" --container media --sas-file "$T/sas"
pid=$(blobfs_pid "$mnt")
is "mounted with a good token" "$(cat "$mnt/top.txt")" hello
printf '%s' "$expired" >"$T/sas"
kill -HUP "$pid"
ok "an expired token while mounted: EACCES" \
    wait_until 10 eval "cat '$mnt/other.txt' 2>&1 | grep -q 'Permission denied'"
ok "logged with its cause" grep -qE "cannot (list|stat|read) .*: access denied \(.*\): the SAS token expired at 20" "$BLOBFS_LOG"
printf '%s' "$tampered" >"$T/sas"
kill -HUP "$pid"
ok "a tampered token while mounted: EACCES" \
    wait_until 10 eval "stat '$mnt/a/b/img.bin' 2>&1 | grep -q 'Permission denied'"
ok "logged with its cause" grep -q "access denied (AuthorizationFailure): the SAS token was refused" "$BLOBFS_LOG"
printf '%s' "$good" >"$T/sas"
kill -HUP "$pid"
ok "a good token again: reads again" wait_until 10 eval "[ \"\$(cat '$mnt/other.txt' 2>/dev/null)\" = other ]"
blobfs_umount "$mnt" "$pid"

# The token never shows: not in the log (even --debug), ps or /proc/PID/environ.
sig=$(printf '%s' "$good" | sed 's/.*sig=\([^&]*\).*/\1/')
AZURE_STORAGE_SAS_TOKEN=$good blobfs_mount "$mnt" --container media --debug
pid=$(blobfs_pid "$mnt")
cat "$mnt/top.txt" >/dev/null
ok "the signature is not in /proc/PID/environ" eval "! tr '\\0' '\\n' </proc/$pid/environ | grep -qF -e '$sig' -e 'sig='"
ok "nor in ps" eval "! ps -ww -o args= -p $pid | grep -qF -e '$sig' -e 'sig='"
ok "nor in the log" eval "! grep -qF -e '$sig' '$BLOBFS_LOG'"
ok "the log has debug lines" grep -q "debug: read 'top.txt' \[0+6\]: HTTP 206" "$BLOBFS_LOG"
