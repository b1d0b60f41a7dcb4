#!/usr/bin/env bash
# The fuzz smoke: every libFuzzer target of build/fuzz/ (make fuzz) for FUZZ_SECONDS (30) each,
# FUZZ_JOBS (2) at a time, from its seeds in tests/fuzz/NAME/ with tests/fuzz/NAME.dict when
# there is one. A target passes when libFuzzer ends its run cleanly: a crash, a sanitizer
# report, a leak, an RSS over 2 GiB or an input slower than FUZZ_TIMEOUT fails it (30 s: a
# hang, not a slow input on a shared machine; no input takes a second when the machine is
# idle). The inputs it finds go to a scratch corpus, never into tests/fuzz/; a failing input
# is kept in build/fuzz/artifacts/ and named in the output (replay: build/fuzz/fuzz_NAME FILE).
#
#   tests/fuzz_smoke.sh [NAME...]      (tests/run.sh runs it when clang is present)
set -eu
. "$(dirname "$0")/lib.sh"

seconds=${FUZZ_SECONDS:-30}
jobs=${FUZZ_JOBS:-2}
per_input=${FUZZ_TIMEOUT:-30}
artifacts=$ROOT/build/fuzz/artifacts
# Reports stay in each target's log, where libFuzzer names the input that caused them.
export ASAN_OPTIONS="detect_leaks=1${ASAN_EXTRA:+:$ASAN_EXTRA}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

names=("$@")
if [ ${#names[@]} = 0 ]; then
    for b in "$ROOT"/build/fuzz/fuzz_*; do
        [ -f "$b" ] && [ -x "$b" ] && names+=("$(basename "$b")")
    done
fi
[ ${#names[@]} -gt 0 ] || { echo "# no target in build/fuzz/: run make fuzz"; exit 1; }
mkdir -p "$artifacts"

# Start target $1 in the background: its log is $T/$1.log; pid[$1] is its process.
declare -A pid=() rc=()
start() {
    local name=$1 short=${1#fuzz_} opts=() dirs=("$T/$1.corpus")
    mkdir -p "$T/$name.corpus"
    [ -f "$ROOT/tests/fuzz/$short.dict" ] && opts+=("-dict=$ROOT/tests/fuzz/$short.dict")
    [ -d "$ROOT/tests/fuzz/$short" ] && dirs+=("$ROOT/tests/fuzz/$short")
    timeout -k 5 $((seconds + 60)) "$ROOT/build/fuzz/$name" -max_total_time="$seconds" \
        -timeout="$per_input" -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$artifacts/$name-" "${opts[@]}" "${dirs[@]}" </dev/null \
        >"$T/$name.log" 2>&1 &
    pid[$name]=$!
    at_exit "kill ${pid[$name]}"
}

# Wait for one running target; record its status in rc[NAME].
reap() {
    local done_pid status=0 name
    wait -n -p done_pid "${pid[@]}" || status=$?
    for name in "${!pid[@]}"; do
        if [ "${pid[$name]}" = "$done_pid" ]; then
            rc[$name]=$status
            unset "pid[$name]"
        fi
    done
}

# One TAP line for a finished target, with libFuzzer's own figures: runs, cov:, ft:.
report() {
    local name=$1 log=$T/$1.log status=${rc[$1]} runs cov ft
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
    ft=$(grep -o 'ft: [0-9]*' "$log" | tail -n 1)
    if [ "$status" = 0 ] && ! grep -qE '^==[0-9]+==ERROR|runtime error:' "$log"; then
        _pass "$name: ${seconds}s, ${runs:-?} runs, ${cov:-cov: ?}, ${ft:-ft: ?}"
    else
        _fail "$name: libFuzzer stopped with status $status"
        grep -E 'invariant broken|ERROR|runtime error|SUMMARY|Test unit written|^ +#[0-9]+ .* in .* /' \
            "$log" | grep -vE 'in (fuzzer::|__libc|_start|main )' | head -30 | sed 's/^/#   /'
        cp "$log" "$artifacts/$name.log"
        echo "#   log: $artifacts/$name.log"
    fi
}

for name in "${names[@]}"; do
    [ "${#pid[@]}" -lt "$jobs" ] || reap
    start "$name"
done
while [ "${#pid[@]}" -gt 0 ]; do
    reap
done
for name in "${names[@]}"; do
    report "$name"
done
