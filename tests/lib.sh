# tests/lib.sh: what every integration test (tests/it_*.sh) shares. Sourced, bash only.
#
#   #!/usr/bin/env bash
#   set -eu
#   . "$(dirname "$0")/lib.sh"
#   azurite_start                       # AZ_ENDPOINT, AZ_DIR; stopped on exit
#   az container media
#   ok "a blob reads back" cmp "$T/in" "$T/mnt/x"
#
# Output is TAP, counted by tests/run.sh. On exit, whether the script ends or dies half-way,
# the cleanups registered with at_exit run newest first (unmount, kill by PID), sanitizer
# reports of the programs run are checked, and the plan line is printed.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Integration tests run the sanitizer build unless told otherwise (tests/run.sh sets it).
BIN=${BLOBKIT_BIN:-$ROOT/build/san/bin}
T=$(mktemp -d "${TMPDIR:-/tmp}/blobkit-$(basename "$0" .sh).XXXXXX")

# Sanitizer reports land in $T, one file per process, and fail the test (see _finish).
export ASAN_OPTIONS="log_path=$T/asan:detect_leaks=1:abort_on_error=0${ASAN_EXTRA:+:$ASAN_EXTRA}"
export UBSAN_OPTIONS="log_path=$T/ubsan:print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="suppressions=$ROOT/tests/lsan.supp:print_suppressions=0"

_t_count=0
_t_failed=0
_t_cleanups=()

# Register a cleanup command (a string for eval); cleanups run newest first on exit.
at_exit() { _t_cleanups+=("$*"); }

_pass() { _t_count=$((_t_count + 1)); echo "ok $_t_count - $1"; }
_fail() {
    _t_count=$((_t_count + 1)); _t_failed=$((_t_failed + 1))
    echo "not ok $_t_count - $1"
    echo "#   at ${BASH_SOURCE[2]##*/}:${BASH_LINENO[1]}"
}

# ok DESCRIPTION COMMAND [ARGS...]: passes when the command succeeds.
ok() {
    local desc=$1; shift
    if "$@"; then _pass "$desc"; else _fail "$desc"; fi
}

# is DESCRIPTION GOT WANT: passes when the two strings are equal.
is() {
    if [ "$2" = "$3" ]; then _pass "$1"; else
        _fail "$1"; echo "#   got:  '$2'"; echo "#   want: '$3'"
    fi
}

# fails DESCRIPTION COMMAND [ARGS...]: passes when the command fails.
fails() {
    local desc=$1; shift
    if "$@"; then _fail "$desc"; else _pass "$desc"; fi
}

# wait_until SECONDS COMMAND [ARGS...]: poll the command every 20 ms until it succeeds.
# Returns 1 when the deadline passes first. A readiness check, never a fixed sleep.
wait_until() {
    local limit=$1; shift
    local deadline=$(($(date +%s%N) + limit * 1000000000))
    until "$@"; do
        [ "$(date +%s%N)" -lt $deadline ] || return 1
        sleep 0.02
    done
}

# elapsed_ms COMMAND...: run the command, print how long it took in ms to stdout (the command's
# own stdout goes to $T/elapsed.out); returns the command's status.
elapsed_ms() {
    local t0 t1 rc=0
    t0=$(date +%s%N)
    "$@" >"$T/elapsed.out" 2>&1 || rc=$?
    t1=$(date +%s%N)
    echo $(((t1 - t0) / 1000000))
    return $rc
}

# Start Azurite for this test: sets AZ_ENDPOINT and AZ_DIR, stops it on exit.
azurite_start() {
    AZ_DIR=$T/azurite
    mkdir -p "$AZ_DIR"
    at_exit "'$ROOT/scripts/azurite.sh' stop '$AZ_DIR'"
    AZ_ENDPOINT=$("$ROOT/scripts/azurite.sh" start "$AZ_DIR")
    AZ_ACCOUNT=devstoreaccount1
    export AZ_ENDPOINT AZ_ACCOUNT
}

# az COMMAND ARGS...: tests/node/azure.mjs against this test's Azurite (see that file).
az() { node "$ROOT/tests/node/azure.mjs" "$AZ_ENDPOINT" "$@"; }

_finish() {
    local rc=$? i
    set +e
    for ((i = ${#_t_cleanups[@]} - 1; i >= 0; i--)); do
        eval "${_t_cleanups[$i]}" >/dev/null 2>&1
    done
    if [ "$rc" != 0 ]; then
        _fail "script ran to the end (it stopped with status $rc)"
    fi
    local reports
    reports=$(cat "$T"/asan.* "$T"/ubsan.* 2>/dev/null)
    if [ -n "$reports" ]; then
        _fail "no sanitizer reports"
        echo "$reports" | sed 's/^/#   /' | head -80
    fi
    echo "1..$_t_count"
    [ "${BLOBKIT_KEEP:-0}" = 1 ] && echo "# kept $T" || rm -rf "$T"
    [ "$_t_failed" = 0 ] && [ "$rc" = 0 ] || exit 1
    exit 0
}
trap _finish EXIT
trap 'exit 130' INT TERM
