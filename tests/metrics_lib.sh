# tests/metrics_lib.sh: reading the programs' /metrics in tests, with Prometheus's own parser
# (tests/prom.py on python3-prometheus-client). Sourced after tests/lib.sh.
#
#   scrape URL NAME          fetch URL into $T/NAME.txt, its samples into $T/NAME (one per line,
#                            labels sorted); fails when the fetch or the parse fails
#   val NAME SAMPLE          SAMPLE's value in scrape NAME ('name{a="x"}'), 0 when absent
#   sum NAME PREFIX          the sum of every sample of NAME that starts with PREFIX
#   moved A B SAMPLE         B's value minus A's

scrape() {
    curl -sf -o "$T/$2.txt" "$1" && /usr/bin/python3 "$ROOT/tests/prom.py" "$T/$2.txt" >"$T/$2"
}

# A sample's line is "KEY VALUE", KEY possibly holding spaces inside label values.
val() {
    awk -v k="$2" '{ v = $NF; sub(/ [^ ]*$/, "") } $0 == k { print v; f = 1 } END { if (!f) print 0 }' \
        "$T/$1"
}
sum() {
    awk -v p="$2" '{ v = $NF; sub(/ [^ ]*$/, "") } index($0, p) == 1 { s += v } END { print s + 0 }' \
        "$T/$1"
}
moved() { awk -v a="$(val "$1" "$3")" -v b="$(val "$2" "$3")" 'BEGIN { print b - a }'; }
