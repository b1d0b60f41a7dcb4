#!/usr/bin/env bash
# The documentation's links: every relative link and image in README.md and docs/*.md names a
# file or folder of the repository, and a #anchor names a heading of its target as GitHub
# slugs it. The checker runs first on a fixture with known good and broken links, so a checker
# that stopped finding links (or slugging headings right) fails here too. Every docs/*.md is
# linked from README.md. Needs node only; no server, no mount.
set -eu
. "$(dirname "$0")/lib.sh"

# The checker: prints one line per relative link, "ok FILE:LINE TARGET" or
# "broken FILE:LINE TARGET: REASON". Links in code blocks and code spans are not links;
# external ones (a scheme, or //host) are not checked.
cat >"$T/links.mjs" <<'EOF'
import fs from "node:fs";
import path from "node:path";

// GitHub's heading anchors (github-slugger): lowercase, drop every character that is not a
// letter, mark, number, connector ('_'), '-' or space, then spaces become '-'. Markdown is
// rendered first: code spans keep their text, links their label, emphasis loses its marks.
function headingText(md) {
    return md.replace(/\s+#+\s*$/, "").replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
        .replace(/<[^>]+>/g, "").replace(/`([^`]*)`/g, "$1").trim();
}
function slug(text) {
    return text.toLowerCase().replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "").replace(/ /g, "-");
}

// Lines outside fenced and indented code blocks, with their numbers.
function proseLines(text) {
    const out = [];
    let fence = null, prevBlank = true, inIndented = false;
    text.split("\n").forEach((line, i) => {
        const f = line.match(/^ {0,3}(`{3,}|~{3,})/);
        if (fence) {
            if (f && f[1][0] === fence[0] && f[1].length >= fence.length) fence = null;
        } else if (f) {
            fence = f[1];
        } else if (/^( {4}|\t)/.test(line) && (prevBlank || inIndented) && line.trim()) {
            inIndented = true;
        } else {
            if (line.trim()) inIndented = false;
            out.push([i + 1, line]);
        }
        prevBlank = !line.trim();
    });
    return out;
}

const anchorCache = new Map();
function anchors(file) {
    if (!anchorCache.has(file)) {
        const seen = new Map(), set = new Set();
        for (const [, line] of proseLines(fs.readFileSync(file, "utf8"))) {
            const h = line.match(/^ {0,3}#{1,6}\s+(.*)$/);
            if (!h) continue;
            const base = slug(headingText(h[1]));
            let s = base, n = seen.get(base) || 0;
            while (set.has(s)) s = `${base}-${++n}`;
            seen.set(base, n);
            set.add(s);
        }
        anchorCache.set(file, set);
    }
    return anchorCache.get(file);
}

function links(line) {
    const bare = line.replace(/`[^`]*`/g, "code");
    const out = [];
    for (const m of bare.matchAll(/!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)/g))
        out.push(m[1]);
    const def = bare.match(/^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(\s|$)/);
    if (def) out.push(def[1]);
    return out;
}

function check(file, target) {
    if (target === "" ) return "empty link";
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith("//")) return null;
    const hash = target.indexOf("#");
    const rel = decodeURIComponent(hash < 0 ? target : target.slice(0, hash));
    const frag = hash < 0 ? null : decodeURIComponent(target.slice(hash + 1));
    const dest = rel === "" ? file
        : rel.startsWith("/") ? path.join(process.cwd(), rel) : path.join(path.dirname(file), rel);
    if (!fs.existsSync(dest)) return "no such file";
    if (frag === null) return "";
    if (!/\.md$/i.test(dest)) return /^L\d+(-L\d+)?$/.test(frag) ? "" : "anchor in a non-Markdown file";
    return anchors(dest).has(frag) ? "" : `no heading '${frag}' in ${path.relative(process.cwd(), dest)}`;
}

for (const file of process.argv.slice(2)) {
    for (const [n, line] of proseLines(fs.readFileSync(file, "utf8"))) {
        for (const target of links(line)) {
            const why = check(file, target);
            if (why === null) continue;
            console.log(why ? `broken ${file}:${n} ${target}: ${why}` : `ok ${file}:${n} ${target}`);
        }
    }
}
EOF
check_links() { node "$T/links.mjs" "$@"; }

# ---- the checker itself, on a fixture whose broken links are known -----------------------
mkdir -p "$T/fix/sub"
cat >"$T/fix/a.md" <<'EOF'
# Title
## `blobkit-transform`: the CLI (v2)
## Caching and consistency
## Caching and consistency
### Errors, limits & the 5 xx's!

Good: [b](sub/b.md), [b's head](sub/b.md#über-straße), [dup](#caching-and-consistency-1),
[code](#blobkit-transform-the-cli-v2), [self](#errors-limits--the-5-xxs), [dir](sub/),
![img](sub/b.md "a title") and [ext](https://example.com/x.md#nothing).
Not links: `[x](nope.md)` and

    [y](nope-either.md)

```
[z](nor-this.md)
```
Broken: [gone](gone.md), [bad anchor](sub/b.md#nope), [dup2](#caching-and-consistency-2).

[ref]: sub/missing.md
EOF
printf '# Über Straße\n' >"$T/fix/sub/b.md"

(cd "$T/fix" && check_links a.md) >"$T/fix.out"
is "the checker finds exactly the fixture's broken links" \
    "$(grep '^broken' "$T/fix.out")" \
    "broken a.md:17 gone.md: no such file
broken a.md:17 sub/b.md#nope: no heading 'nope' in sub/b.md
broken a.md:17 #caching-and-consistency-2: no heading 'caching-and-consistency-2' in a.md
broken a.md:19 sub/missing.md: no such file"
is "the checker accepts the fixture's good links (GitHub slugs, duplicates, folders, images)" \
    "$(grep -c '^ok' "$T/fix.out")" 7

# ---- the repository's documentation ------------------------------------------------------
cd "$ROOT"
docs=(README.md docs/*.md)
check_links "${docs[@]}" >"$T/links.out"
for f in "${docs[@]}"; do
    is "every relative link in $f resolves" "$(grep "^broken $f:" "$T/links.out" || true)" ""
done
for f in docs/*.md; do
    ok "README.md links to $f" grep -q "^ok README.md:[0-9]* $f\(#\|$\)" "$T/links.out"
done
