#!/usr/bin/env bash
# Run every test and end with one summary line: "N passed, N failed".
#
#   tests/run.sh [PATTERN]     only the tests whose name contains PATTERN
#
# Style: tests/style.sh (lint, formatting).
# Unit tests: build/rel/tests/test_* and build/san/tests/test_* (make check builds both).
# Fuzz smoke: every libFuzzer target of build/fuzz/ for 30 s, when clang is present.
# Integration tests: tests/it_*.sh, run against the sanitizer build's programs, TEST_JOBS (2)
# at a time: most of their time is spent waiting on servers and mounts. A test whose file has
# a line "# run alone" (it measures throughput, or counts what load would change) runs with
# nothing beside it. Each picks its own ports and temp dirs, so they do not collide.
# Each test prints TAP; every "ok"/"not ok" line counts, and a test that exits non-zero or
# breaks its plan counts as one more failure. Logs: build/test-logs/.
set -u
cd "$(dirname "$0")/.."
pattern=${1:-}
logs=build/test-logs
mkdir -p "$logs"
export BLOBKIT_BIN=${BLOBKIT_BIN:-$PWD/build/san/bin}
# The sanitizer build's unit tests get the library suppressions the integration tests get
# (tests/lib.sh): fontconfig, under libvips's text, keeps its configuration for good.
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp:print_suppressions=0}

jobs=${TEST_JOBS:-2}
counts=$(mktemp)
trap 'rm -f "$counts" "$counts".*' EXIT

run_one() {
    local name=$1; shift
    local log="$logs/${name//\//_}.log" t0 rc p f plan
    t0=$(date +%s)
    timeout -k 10 "${TEST_TIMEOUT:-600}" "$@" >"$log" 2>&1
    rc=$?
    p=$(grep -c '^ok ' "$log")
    f=$(grep -c '^not ok ' "$log")
    plan=$(sed -n 's/^1\.\.\([0-9][0-9]*\)$/\1/p' "$log" | tail -n 1)
    if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
        f=1; echo "not ok - $name exited with status $rc" >>"$log"
    elif [ -z "$plan" ] || [ "$plan" != $((p + f)) ]; then
        f=$((f + 1)); echo "not ok - $name: plan '${plan:-none}' but $((p + f - 1)) results" >>"$log"
    fi
    echo "$p $f" >>"$counts"
    if [ "$f" = 0 ]; then
        printf 'PASS %-34s %4d ok  %3ds\n' "$name" "$p" $(($(date +%s) - t0))
    else
        printf 'FAIL %-34s %4d ok %3d failed  %3ds  (%s)\n' "$name" "$p" "$f" \
            $(($(date +%s) - t0)) "$log"
        grep -B2 -A8 '^not ok' "$log" | sed 's/^/    /' | head -60
    fi
}

[[ "style" == *"$pattern"* ]] && run_one style tests/style.sh
for build in rel san; do
    for t in build/$build/tests/test_*; do
        [ -x "$t" ] || continue
        name="unit/$build/$(basename "$t")"
        [[ "$name" == *"$pattern"* ]] || continue
        run_one "$name" "$t"
    done
done
# The fuzz smoke (tests/fuzz_smoke.sh) runs where clang built the targets (make check does).
if command -v clang >/dev/null && [[ "fuzz/smoke" == *"$pattern"* ]]; then
    run_one fuzz/smoke tests/fuzz_smoke.sh
fi
# Integration tests in the background, each reporting into $counts.N, printed as it ends.
declare -A running=()
reap() {
    local done_pid
    wait -n -p done_pid "${!running[@]}" || true
    cat "$counts.${running[$done_pid]}"
    unset "running[$done_pid]"
}
n=0
for t in tests/it_*.sh; do
    [ -f "$t" ] || continue
    name="it/$(basename "$t" .sh)"
    [[ "$name" == *"$pattern"* ]] || continue
    alone=$(grep -c '^# run alone' "$t")
    while [ "${#running[@]}" -gt 0 ] && { [ "$alone" != 0 ] || [ "${#running[@]}" -ge "$jobs" ]; }; do
        reap
    done
    n=$((n + 1))
    if [ "$alone" != 0 ]; then
        run_one "$name" bash "$t"
    else
        run_one "$name" bash "$t" >"$counts.$n" &
        running[$!]=$n
    fi
done
while [ "${#running[@]}" -gt 0 ]; do
    reap
done

read -r passed failed < <(awk '{ p += $1; f += $2 } END { print p + 0, f + 0 }' "$counts")
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
