#!/usr/bin/env bash
# blobfs and credentials: a read-only SAS (no listing) still reads known paths; expired,
# tampered and misdirected tokens are refused at mount with one clear message and nothing
# mounted, and while mounted (SIGHUP swaps --sas-file) with EACCES and a log line naming the
# cause; anonymous access to a public container; the token never shows in logs, ps, cmdline or
# environ, and no copy of an old token is left in memory after a reload; no core dumps, the
# daemon not dumpable, allow_other.
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

# The token never shows: not in the log (even --debug), ps, /proc/PID/cmdline or
# /proc/PID/environ, whether it came from the environment or from --sas-file.
sig_of() { printf '%s' "$1" | sed 's/.*sig=\([^&]*\).*/\1/'; }
sig=$(sig_of "$good")
shows_token() { # PID: the signature or any sig= in ps, cmdline or environ
    ps -ww -o args= -p "$1" | grep -qF -e "$sig" -e 'sig=' ||
        tr '\0' '\n' <"/proc/$1/cmdline" | grep -qF -e "$sig" -e 'sig=' ||
        tr '\0' '\n' <"/proc/$1/environ" | grep -qF -e "$sig" -e 'sig='
}
AZURE_STORAGE_SAS_TOKEN=$good blobfs_mount "$mnt" --container media --debug
pid=$(blobfs_pid "$mnt")
cat "$mnt/top.txt" >/dev/null
ok "a token from the environment: not in ps, cmdline or environ" eval "! shows_token $pid"
ok "nor in the log" eval "! grep -qF -e '$sig' '$BLOBFS_LOG'"
ok "the log has debug lines" grep -q "debug: read 'top.txt' \[0+6\]: HTTP 206" "$BLOBFS_LOG"
is "no core dumps" "$(awk '/^Max core file size/ { print $5, $6 }' "/proc/$pid/limits")" "0 0"
blobfs_umount "$mnt" "$pid"
printf '%s\n' "$good" >"$T/sas"
blobfs_mount "$mnt" --container media --sas-file "$T/sas"
pid=$(blobfs_pid "$mnt")
cat "$mnt/top.txt" >/dev/null
ok "a token from --sas-file: not in ps, cmdline or environ" eval "! shows_token $pid"

# A reload leaves no copy of the old token in blobfs's memory: every copy is wiped when freed,
# blobfs's own and libcurl's (of request URLs). The scan must find the token in use, or it
# proves nothing.
newer=$(az sas service rl media --ttl 7200)
cat "$mnt/a/b/img.bin" >/dev/null
ok "the memory scan finds the token in use" mem_has "$pid" "$sig"
reloads=$(grep -c "re-read the SAS token" "$BLOBFS_LOG" || true)
printf '%s\n' "$newer" >"$T/sas"
kill -HUP "$pid"
wait_until 10 eval '[ "$(grep -c "re-read the SAS token" "$BLOBFS_LOG")" -gt "$reloads" ]'
is "after SIGHUP, reads work with the new token" "$(cat "$mnt/other.txt")" other
ok "the new token is in memory" mem_has "$pid" "$(sig_of "$newer")"
ok "and not one copy of the old one" eval "! mem_has $pid '$sig'"

# Not dumpable: a process without CAP_SYS_PTRACE may open the memory of another with no more
# capabilities than itself only while that one is dumpable (a sleep shows it may).
blind() { setpriv --bounding-set=-sys_ptrace "$@"; }
setpriv --bounding-set=-sys_ptrace sleep 60 &
sleeper=$!
at_exit "kill $sleeper"
wait_until 10 eval "[ \"\$(cat /proc/$sleeper/comm)\" = sleep ]" # setpriv has exec'd it
ok "a dumpable process: its memory opens" blind dd if="/proc/$sleeper/mem" count=0 status=none
blobfs_umount "$mnt" "$pid"
BLOBFS_WRAP=blind blobfs_mount "$mnt" --container media --sas-file "$T/sas"
pid=$(blobfs_pid "$mnt")
is "blobfs reads" "$(cat "$mnt/top.txt")" hello
ok "but its memory does not open: not dumpable" \
    eval "! blind dd if=/proc/$pid/mem count=0 status=none 2>/dev/null"

# allow_other lets other users read the mount; without it they cannot.
chmod 711 "$T"
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
blobfs_umount "$mnt" "$pid"
blobfs_mount "$mnt" --container media --sas-file "$T/sas" -o allow_other
ok "allow_other: another user reads" eval "[ \"\$(as_nobody cat '$mnt/top.txt')\" = hello ]"
blobfs_umount "$mnt" "$(blobfs_pid "$mnt")"
blobfs_mount "$mnt" --container media --sas-file "$T/sas"
ok "without it, another user cannot" eval "! as_nobody cat '$mnt/top.txt' 2>/dev/null"
blobfs_umount "$mnt" "$(blobfs_pid "$mnt")"

# Configuration from the environment alone, --prefix, -o passed through with ro forced.
AZURE_STORAGE_SAS_TOKEN=$good AZURE_STORAGE_ACCOUNT_CONTAINER=media \
    AZURE_STORAGE_BLOB_ENDPOINT=$AZ_ENDPOINT "$BIN/blobfs" --log-file "$BLOBFS_LOG" \
    --prefix /a/b/ -o rw,noatime "$mnt"
wait_until 20 eval "grep -q 'folder a/b on $mnt' '$BLOBFS_LOG'"
pid=$(_blobfs_mount_lines "$mnt" | tail -n 1 | sed -n 's/.* blobfs\[\([0-9]*\)\] info: .*/\1/p')
at_exit "blobfs_umount '$mnt' $pid"
is "--prefix mounts one folder, configured by the environment" "$(ls "$mnt")" img.bin
is "its files read" "$(sha256sum <"$mnt/img.bin")" "$want"
opts=$(awk -v m="$mnt" '$2 == m { print $4 }' /proc/mounts)
ok "-o options reach the mount ($opts)" eval "echo '$opts' | grep -q noatime"
ok "and ro wins over rw" eval "echo '$opts' | grep -qE '(^|,)ro(,|$)'"
blobfs_umount "$mnt" "$pid"

# Foreground: SIGINT unmounts and the exit status is 0. (A background job of a script starts
# with SIGINT ignored, which libfuse respects: restore it, as a terminal would have it.)
AZURE_STORAGE_SAS_TOKEN=$good env --default-signal=INT "$BIN/blobfs" -f --endpoint "$AZ_ENDPOINT" \
    --container media "$mnt" 2>"$T/fg.log" &
fg=$!
at_exit "kill $fg"
ok "-f: mounted in the foreground" wait_until 20 mountpoint -q "$mnt"
is "-f: reads" "$(cat "$mnt/top.txt")" hello
kill -INT "$fg"
rc=0
wait_until 20 eval "! kill -0 $fg 2>/dev/null" && wait "$fg" || rc=$?
is "-f: SIGINT ends it with status 0" "$rc" 0
ok "and unmounts" eval "! mountpoint -q '$mnt'"
ok "-f logs to stderr" grep -q "info: unmounted $mnt" "$T/fg.log"

# The command line itself.
help=$("$BIN/blobfs" --help)
for o in --account --container --endpoint --sas-file --prefix --attr-timeout --negative-timeout \
    --connect-timeout --stall-timeout --retry-timeout --prefetch-mem --parallel --chunk-mb \
    --read-ahead --log-file \
    --debug --foreground -o --help --version; do
    echo "$help" | grep -q -- "$o" || echo "# --help lacks $o"
done
ok "--help names every option" eval "! echo \"\$help\" | grep -q '^# '"
ok "--version" eval "'$BIN/blobfs' --version | grep -qE '^blobfs [0-9]+\.[0-9]+\.[0-9]+ \(libfuse 3\.'"
rc=0
"$BIN/blobfs" --bogus "$mnt" 2>"$T/err" || rc=$?
is "an unknown option: status 2" "$rc" 2
rc=0
"$BIN/blobfs" --container media --attr-timeout soon "$mnt" 2>"$T/err" || rc=$?
ok "a bad number is named" eval "[ $rc = 2 ] && grep -q \"attr-timeout wants a number\" '$T/err'"
rc=0
"$BIN/blobfs" --container media --parallel 0 "$mnt" 2>"$T/err" || rc=$?
ok "--parallel 0 is refused, named" eval "[ $rc = 2 ] && grep -q 'parallel wants a whole number' '$T/err'"
