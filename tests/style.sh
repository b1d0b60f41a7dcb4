#!/usr/bin/env bash
# House-style checks as tests: banned functions and #if in .c files (make lint), formatting
# (make fmt-check, .clang-format).
set -u
cd "$(dirname "$0")/.."
n=0 failed=0
check() {
    n=$((n + 1))
    if out=$("$@" 2>&1); then echo "ok $n - $*"; else
        failed=1; echo "not ok $n - $*"; echo "$out" | head -20 | sed 's/^/#   /'
    fi
}
check make -s lint
check make -s fmt-check
echo "1..$n"
exit $failed
