# tests/browser/lib.sh: what the browser tests (tests/it_browser_*.sh) share. Sourced after
# tests/lib.sh. The pages are checked by a node script on tests/browser/harness.mjs, which
# prints "ok - ..." / "not ok - ..." lines; this relays them as the test's own TAP lines.
#
#   browser_setup              BROWSER_OUT (screenshots, kept in build/test-logs/TEST-NAME/,
#                              emptied first) and BROWSER_PIDFILE (the harness writes Chromium's
#                              PID there; on exit the browser's process group is killed by it)
#   browser_relay FILE         each result line of FILE as an ok/not ok of this test

browser_setup() {
    BROWSER_OUT=$ROOT/build/test-logs/$(basename "$0" .sh)
    BROWSER_PIDFILE=$T/chromium.pid
    rm -rf "$BROWSER_OUT"
    mkdir -p "$BROWSER_OUT"
    at_exit "[ -s '$BROWSER_PIDFILE' ] && kill -9 -- -\$(cat '$BROWSER_PIDFILE') \$(cat '$BROWSER_PIDFILE')"
}

browser_relay() {
    local line
    while IFS= read -r line; do
        case $line in
        "ok - "*) ok "${line#ok - }" true ;;
        "not ok - "*) ok "${line#not ok - }" false ;;
        "#"*) echo "$line" ;;
        esac
    done <"$1"
}
