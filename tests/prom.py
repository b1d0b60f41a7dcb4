#!/usr/bin/python3
"""Test-bed helper: read a /metrics text with Prometheus's own parser (Debian's
python3-prometheus-client) and print every sample on a line of its own, labels sorted:

    tests/prom.py FILE          name{a="x",b="y"} VALUE   (exit 1 when the text is not valid)

Besides what the parser enforces (syntax, types, escaping), it checks what the parser does
not: every histogram's buckets are cumulative and end in +Inf, whose count is _count; a
counter's family name (as the parser gives it, without _total) has no sample below zero;
no family has two samples with the same labels.
"""
import sys

from prometheus_client.parser import text_string_to_metric_families


def number(v):
    return str(int(v)) if v == int(v) and abs(v) < 2**53 else repr(v)


def key(sample):
    labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
    return f"{sample.name}{{{labels}}}" if labels else sample.name


def check_histogram(family, problems):
    series = {}
    for s in family.samples:
        base = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
        series.setdefault(base, {"buckets": [], "count": None})
        if s.name.endswith("_bucket"):
            series[base]["buckets"].append((float(s.labels["le"]), s.value))
        elif s.name.endswith("_count"):
            series[base]["count"] = s.value
    for base, h in series.items():
        bounds = [b for b, _ in h["buckets"]]
        counts = [c for _, c in h["buckets"]]
        if bounds != sorted(bounds) or not bounds or bounds[-1] != float("inf"):
            problems.append(f"{family.name}{base}: buckets out of order or no +Inf")
        if counts != sorted(counts):
            problems.append(f"{family.name}{base}: buckets not cumulative")
        if counts and h["count"] != counts[-1]:
            problems.append(f"{family.name}{base}: _count {h['count']} but +Inf {counts[-1]}")


def main():
    text = open(sys.argv[1], encoding="utf-8").read()
    problems, lines, seen = [], [], set()
    try:
        families = list(text_string_to_metric_families(text))
    except Exception as e:  # the parser's own complaint, whatever its type
        print(f"not valid exposition text: {e}", file=sys.stderr)
        return 1
    for family in families:
        if family.type == "histogram":
            check_histogram(family, problems)
        for s in family.samples:
            k = key(s)
            if k in seen:
                problems.append(f"{k}: twice")
            seen.add(k)
            if family.type == "counter" and s.value < 0:
                problems.append(f"{k}: a counter below zero")
            lines.append(f"{k} {number(s.value)}")
    for p in problems:
        print(p, file=sys.stderr)
    print("\n".join(lines))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
