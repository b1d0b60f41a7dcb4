// Every URL an HTML file names (src, href, poster, srcset), resolved against the page's address
// the way a browser resolves it, one per line. A relative "tr:w-300/x.jpg" comes out as a URL
// of the scheme "tr:", which no server answers: that is the point of resolving them here.
//
//   node tests/browser/page-urls.mjs FILE.html PAGE-URL
//
// A pattern scan, not an HTML parser: good for pages we write (quoted attributes); the browser
// tests (tests/browser/harness.mjs) see what Chromium itself requests.
import fs from "node:fs";

const [file, page] = process.argv.slice(2);
if (!file || !page) {
    console.error("usage: node tests/browser/page-urls.mjs FILE.html PAGE-URL");
    process.exit(2);
}
const entities = { amp: "&", quot: '"', apos: "'", lt: "<", gt: ">" };
const unescape = (s) => s.replace(/&(amp|quot|apos|lt|gt);/g, (_, e) => entities[e]);

const html = fs.readFileSync(file, "utf8").replace(/<!--[\s\S]*?-->/g, "");
const raw = [];
for (const m of html.matchAll(/\s(src|href|poster|srcset)\s*=\s*(["'])(.*?)\2/gis)) {
    const value = unescape(m[3]);
    if (m[1].toLowerCase() === "srcset")
        for (const candidate of value.split(",")) raw.push(candidate.trim().split(/\s+/)[0]);
    else raw.push(value.trim());
}
const seen = new Set();
for (const r of raw) {
    if (!r || r.startsWith("#") || r.startsWith("data:")) continue;
    const url = new URL(r, page).href;
    if (!seen.has(url)) {
        seen.add(url);
        console.log(url);
    }
}
