#!/usr/bin/env bash
# Every program make builds (make progs, so a new program needs its page) has a man page in
# man/, which groff and man(1) format without a warning and which names every option its
# --help prints; a PROG.conf.5 page names every option of PROG's --help as a config key.
# Every program's --version prints the version of VERSION.
set -eu
. "$(dirname "$0")/lib.sh"

version=$(cat "$ROOT/VERSION")
render() { groff -mandoc -Tascii -P-cbou "$1" 2>/dev/null; }
# The options a --help names: words starting with - or --, at a line's start or after a blank
# or a comma.
options() { grep -oE '(^|[ ,])--?[A-Za-z][A-Za-z0-9-]*' | sed 's/^[ ,]*//' | sort -u; }
# missing TEXT_FILE WORDS...: the words not found in the text as whole words.
missing() {
    local text=$1 w out=
    shift
    for w in "$@"; do
        grep -qE -- "(^|[^A-Za-z0-9_-])${w}([^A-Za-z0-9_-]|\$)" "$text" || out="$out $w"
    done
    echo "${out# }"
}

for p in $(make -s -C "$ROOT" progs); do
    page=$(ls "$ROOT"/man/"$p".[1-8] 2>/dev/null | head -n 1 || true)
    ok "$p: a man page in man/" test -n "$page"
    [ -n "$page" ] || continue
    is "$p: groff -ww -z prints no warning" "$(groff -mandoc -ww -z "$page" 2>&1)" ""
    is "$p: man --warnings prints none" \
        "$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$page" 2>&1 >/dev/null)" ""
    render "$page" >"$T/$p.txt"
    "$BIN/$p" --help >"$T/$p.help"
    mapfile -t opts < <(options <"$T/$p.help")
    ok "$p: --help names options (${#opts[@]})" [ "${#opts[@]}" -ge 3 ]
    is "$p: every option of --help is in its page" "$(missing "$T/$p.txt" "${opts[@]}")" ""
    ok "$p: --version prints $version" grep -qE "^$p $version( |\$)" <("$BIN/$p" --version)
    conf=$ROOT/man/$p.conf.5
    [ -f "$conf" ] || continue
    is "$p.conf(5): groff -ww -z prints no warning" "$(groff -mandoc -ww -z "$conf" 2>&1)" ""
    render "$conf" >"$T/$p.conf.txt"
    keys=()
    for o in "${opts[@]}"; do
        [[ $o == --* && $o != --help && $o != --version ]] && keys+=("${o#--}")
    done
    is "$p.conf(5): every option is a key in it" "$(missing "$T/$p.conf.txt" "${keys[@]}")" ""
done

# The check itself finds what is missing: a page without one option.
sed '/^\.It Fl -prefix/,/^\.It Fl -attr-timeout/{/^\.It Fl -attr-timeout/!d}' \
    "$ROOT/man/blobfs.1" >"$T/cut.1"
render "$T/cut.1" >"$T/cut.txt"
is "the check finds an option left out" "$(missing "$T/cut.txt" --prefix --attr-timeout)" --prefix
