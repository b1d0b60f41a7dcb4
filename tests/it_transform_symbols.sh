#!/usr/bin/env bash
# transform/'s objects export only tr_ names (both builds), so nothing of it can clash with
# another module or a library linked into the same program. Two exceptions, on purpose:
# cli.o's main, and tr_orc.o's orc_program_compile/orc_program_free, which must carry liborc's
# names to take its calls (transform/tr_orc.c). And libvips stays inside the files that run a
# call: tr_apply.c, tr_step.c, tr_run.c, tr_layer.c and their tr_run.h (through tr_step.h and
# tr_layer.h).
set -eu
. "$(dirname "$0")/lib.sh"

for build in rel san; do
    objs=$(ls "$ROOT/build/$build/transform/"*.o)
    is "$build: transform/ has objects" "$(echo "$objs" | wc -w | awk '$1 > 5 {print "yes"}')" yes
    # "file.o: symbol" for every global symbol an object defines; ASan names its guard for a
    # global variable X "__odr_asan.X", which is X's name that counts
    syms=$(for o in $objs; do
        nm -g --defined-only "$o" | awk -v f="${o##*/}" 'NF == 3 {print f ": " $3}'
    done | sed 's/: __odr_asan\./: /')
    is "$build: tr_apply.o defines tr_apply" "$(echo "$syms" | grep -c '^tr_apply.o: tr_apply$')" 1
    stray=$(echo "$syms" | grep -v ': tr_' | grep -v '^cli.o: main$' |
        grep -v -E '^tr_orc.o: orc_program_(compile|free)$' || true)
    is "$build: every other global symbol starts with tr_" "$stray" ""
done

vips=$(cd "$ROOT" && grep -l -E '#include (<vips/|"tr_run.h")' transform/*.[ch] | tr '\n' ' ')
is "only tr_apply.c, tr_run.[ch], tr_step.[ch] and tr_layer.[ch] include libvips" "$vips" \
    "transform/tr_apply.c transform/tr_layer.h transform/tr_run.c transform/tr_run.h transform/tr_step.h "
