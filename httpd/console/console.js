// The blobkit console's script (docs/blobhttpd.md, "Console"). Plain DOM, no framework, no
// build step. Every name it shows goes into the page as text (textContent, Text nodes), never
// as HTML: blob names can hold "<", quotes and "&". Every URL it loads comes from the server's
// API, which builds (and, with a key, signs) it: the page never holds the key.
//
// Its own URL says what it shows, so links, Back and bookmarks work:
//   /_blobkit/                        the endpoints
//   /_blobkit/?ep=0&path=P[&q=F][&offset=N]   a folder of endpoint 0 (P percent-encoded)
//   /_blobkit/?ep=0&file=P[&tr=CHAIN]          a file, its facts and the playground
"use strict";

const API = "/_blobkit/api/";
const PAGE = 200; // entries per page of a folder (the server caps it at 500)
const TYPE_DELAY_MS = 300; // the preview waits this long after the last key
const FILTER_DELAY_MS = 250;
// What an <img> asks for in Chromium: the playground's fetch sends the same, so f-auto picks
// the format the browser would get.
const IMG_ACCEPT = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8";

// Presets: a label and a chain. An entry with `needs` shows only when /api/endpoints says the
// server has that feature. To add one, add a line.
const PRESETS = [
    { label: "Thumbnail", chain: "w-200,h-200" },
    { label: "Square crop, fo-auto", chain: "w-300,h-300,fo-auto" },
    { label: "WebP", chain: "f-webp" },
    { label: "Blur placeholder", chain: "w-40,bl-6,q-40" },
    // The same chain as LAYER_PROBE in httpd/console.c, which decides "layers".
    { label: "Watermark", chain: "l-text,i-blobkit,l-end", needs: "layers" },
];

const ICONS = { dir: "📁", video: "🎬", file: "📄", other: "🔗", image: "🖼" };

const $ = (id) => document.getElementById(id);

// An element with properties (text goes in as text) and children (strings become Text nodes).
function el(tag, props = {}, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(props)) {
        if (v === undefined || v === null) continue;
        if (k === "text") e.textContent = v;
        else if (k === "class") e.className = v;
        else if (k.startsWith("aria-") || k.startsWith("data-")) e.setAttribute(k, v);
        else e[k] = v;
    }
    e.append(...children.filter((c) => c !== null && c !== undefined));
    return e;
}

// The page's own query, values kept as sent: paths come percent-encoded from the server and go
// back to it as they are, whatever bytes the names hold.
function params() {
    const out = new Map();
    for (const pair of location.search.slice(1).split("&")) {
        if (!pair) continue;
        const i = pair.indexOf("=");
        out.set(i < 0 ? pair : pair.slice(0, i), i < 0 ? "" : pair.slice(i + 1));
    }
    return out;
}

// A percent-encoded path as the server writes it: anything else in it is encoded now, so a
// hand-made link cannot add parameters or leave the page.
const cleanPath = (p) => (p || "").replace(/[^A-Za-z0-9\-._~%/]/g, (c) => encodeURIComponent(c));
const cleanEp = (v) => (/^\d{1,6}$/.test(v || "") ? v : null);

function decode(s) {
    try {
        return decodeURIComponent(s);
    } catch {
        return s; // not UTF-8: show the escapes
    }
}

// GET an API call; its JSON, or an Error with the server's message.
async function api(call, query) {
    const r = await fetch(`${API}${call}?${query}`, { cache: "no-store" });
    let body = null;
    try {
        body = await r.json();
    } catch {
        /* not JSON: the status says it */
    }
    if (!r.ok) throw new Error(body?.error || `${r.status} ${r.statusText}`);
    return body;
}

function status(text, error = false) {
    const s = $("status");
    s.textContent = text;
    s.classList.toggle("error", error);
    s.hidden = !text;
}

function show(view) {
    for (const v of ["endpoints-view", "folder-view", "file-view"]) $(v).hidden = v !== view;
}

function bytes(n) {
    if (n === undefined) return "";
    const units = ["bytes", "KB", "MB", "GB", "TB"];
    let i = 0;
    for (; n >= 1000 && i < units.length - 1; i++) n /= 1000;
    return i ? `${n.toFixed(n < 10 ? 1 : 0)} ${units[i]}` : `${n} bytes`;
}

const count = (n) => n.toLocaleString("en");

// ---- Breadcrumbs ------------------------------------------------------------------------------

// Endpoints › /demo › photos › 2024: every step a link, the last one the current page.
function crumbs(ep, prefix, path, isFile) {
    const ol = $("crumbs");
    const items = [["Endpoints", "/_blobkit/"]];
    if (ep !== null) items.push([prefix, `?ep=${ep}`]);
    const segs = path ? path.split("/") : [];
    segs.forEach((seg, i) => {
        const p = segs.slice(0, i + 1).join("/");
        const last = i === segs.length - 1;
        items.push([decode(seg), last && isFile ? `?ep=${ep}&file=${p}` : `?ep=${ep}&path=${p}`]);
    });
    ol.replaceChildren(...items.map(([text, href], i) => {
        const current = i === items.length - 1;
        return el("li", {}, el("a", { href, text, "aria-current": current ? "page" : null }));
    }));
}

// ---- The endpoints ----------------------------------------------------------------------------

async function showEndpoints() {
    const data = await api("endpoints", "");
    crumbs(null, "", "", false);
    document.title = "Endpoints · blobkit console";
    $("endpoints").replaceChildren(...data.endpoints.map((e) => el("li", {},
        el("a", { href: `?ep=${e.id}`, text: e.prefix }),
        el("span", { class: "meta", text: [e.host ? `host ${e.host}` : "any host",
            e.public ? "unsigned URLs allowed" : "signed URLs only"].join(" · ") }))));
    show("endpoints-view");
    status(data.endpoints.length ? "" : "No endpoint is configured.");
}

// ---- A folder ---------------------------------------------------------------------------------

function entryMeta(e) {
    if (e.kind === "dir") return "folder";
    if (e.kind === "other") return "not a file (a link, or a device)";
    return [e.type, bytes(e.size)].filter(Boolean).join(" · ");
}

function entryTile(ep, e, video) {
    const picture = e.thumb || (video && e.poster);
    const face = picture
        ? el("img", { src: picture, alt: "", loading: "lazy", decoding: "async", width: 160,
            height: 160 })
        : el("span", { class: "icon", "aria-hidden": "true", text: ICONS[e.kind] || "📄" });
    const body = [face, el("span", { class: "name", text: e.kind === "dir" ? `${e.name}/` : e.name }),
        el("span", { class: "meta", text: entryMeta(e) })];
    const linked = e.path && e.kind !== "other";
    const href = e.kind === "dir" ? `?ep=${ep}&path=${e.path}` : `?ep=${ep}&file=${e.path}`;
    return el("li", { class: `entry ${e.kind}` },
        linked ? el("a", { href }, ...body) : el("span", {}, ...body));
}

function pageLink(a, ep, path, q, offset, show_) {
    a.hidden = !show_;
    if (show_) a.href = `?ep=${ep}&path=${path}${q ? `&q=${encodeURIComponent(q)}` : ""}` +
        (offset ? `&offset=${offset}` : "");
    else a.removeAttribute("href");
}

let listSeq = 0;

async function loadFolder(ep, path, q, offset) {
    const seq = ++listSeq;
    const query = `ep=${ep}&path=${path}&offset=${offset}&limit=${PAGE}` +
        (q ? `&q=${encodeURIComponent(q)}` : "");
    status("Loading…");
    const data = await api("list", query);
    if (seq !== listSeq) return; // a newer filter won
    $("entries").replaceChildren(...data.entries.map((e) => entryTile(ep, e, data.video)));
    const first = data.entries.length ? data.offset + 1 : 0;
    const last = data.offset + data.entries.length;
    $("count").textContent = (q ? `${count(data.total)} match “${q}”` :
        `${count(data.total)} entries`) + (data.total > data.entries.length ?
        ` · showing ${count(first)}–${count(last)}` : "") +
        (data.truncated ? " · the folder holds more than the console reads" : "");
    pageLink($("prev"), ep, path, q, Math.max(0, data.offset - PAGE), data.offset > 0);
    pageLink($("next"), ep, path, q, last, last < data.total);
    status(data.total ? "" : q ? "Nothing matches." : "This folder is empty.");
}

async function showFolder(ep, path, q, offset) {
    const { endpoints } = await api("endpoints", "");
    const prefix = endpoints[ep]?.prefix ?? `#${ep}`;
    crumbs(ep, prefix, path, false);
    const title = path ? decode(path.split("/").pop()) : prefix;
    $("folder-title").textContent = title;
    document.title = `${title} · blobkit console`;
    const filter = $("filter");
    filter.value = q;
    let timer = 0;
    filter.addEventListener("input", () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
            const v = filter.value;
            history.replaceState(null, "", `?ep=${ep}&path=${path}` +
                (v ? `&q=${encodeURIComponent(v)}` : ""));
            loadFolder(ep, path, v, 0).catch((e) => status(e.message, true));
        }, FILTER_DELAY_MS);
    });
    show("folder-view");
    await loadFolder(ep, path, q, offset);
}

// ---- A file and the playground ----------------------------------------------------------------

function facts(dl, rows) {
    dl.replaceChildren(...rows.filter(([, v]) => v !== undefined && v !== null && v !== "")
        .flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: String(v) })]));
}

const ORIENTATION = ["", "1 (as stored)", "2 (mirrored)", "3 (turned 180°)", "4 (flipped)",
    "5 (mirrored, turned 270°)", "6 (turned 90°)", "7 (mirrored, turned 90°)", "8 (turned 270°)"];

function fileFacts(f) {
    facts($("facts"), [
        ["Type", f.type],
        ["Pixel size", f.width ? `${f.width} × ${f.height}` : undefined],
        ["Frames", f.frames > 1 ? f.frames : undefined],
        ["Bytes", `${count(f.size)} (${bytes(f.size)})`],
        ["ETag", f.etag],
        ["Last-Modified", f.last_modified],
        ["EXIF orientation", f.orientation ? ORIENTATION[f.orientation] || f.orientation : undefined],
        ["Not probed", f.probe_error],
    ]);
}

// The server's time for the last response of url: from its first request byte to its first
// response byte (Resource Timing), or, when the browser has no entry, the whole wait.
function serverTime(url, waited) {
    const entries = performance.getEntriesByName(new URL(url, location.href).href);
    performance.clearResourceTimings();
    const t = entries.at(-1);
    return t && t.responseStart > 0 ? t.responseStart - t.requestStart : waited;
}

function loadImage(img, src) {
    return new Promise((resolve, reject) => {
        img.onload = () => resolve();
        img.onerror = () => reject(new Error("the browser cannot show this image"));
        img.src = src;
    });
}

function playground(ep, path, features) {
    const chain = $("chain");
    let seq = 0;
    let shown = null; // the object URL of the preview now on screen
    const update = async () => {
        const mine = ++seq;
        const text = chain.value.trim();
        history.replaceState(null, "", `?ep=${ep}&file=${path}` +
            (text ? `&tr=${encodeURIComponent(text)}` : ""));
        try {
            const u = await api("url", `ep=${ep}&path=${path}&tr=${encodeURIComponent(text)}`);
            if (mine !== seq) return;
            $("url").textContent = new URL(u.url, location.href).href;
            $("url").href = u.url;
            if (!u.here) throw new Error("this endpoint does not answer on this host name");
            const t0 = performance.now();
            const r = await fetch(u.url, { headers: { Accept: IMG_ACCEPT }, cache: "no-store" });
            const waited = performance.now() - t0;
            if (!r.ok) {
                const why = r.headers.get("ik-error") || (await r.text()).trim();
                throw new Error(why || `${r.status} ${r.statusText}`);
            }
            const blob = await r.blob();
            if (mine !== seq) return;
            const obj = URL.createObjectURL(blob);
            await loadImage($("preview"), obj);
            if (shown) URL.revokeObjectURL(shown);
            shown = obj;
            $("preview").classList.remove("stale");
            $("chain-error").textContent = "";
            const img = $("preview");
            facts($("output"), [
                ["Output type", r.headers.get("content-type")],
                ["Output pixel size", `${img.naturalWidth} × ${img.naturalHeight}`],
                ["Output bytes", `${count(blob.size)} (${bytes(blob.size)})`],
                ["Server time", `${serverTime(u.url, waited).toFixed(1)} ms`],
            ]);
        } catch (e) {
            if (mine !== seq) return;
            $("chain-error").textContent = e.message;
            $("preview").classList.add("stale");
        }
    };
    let timer = 0;
    chain.addEventListener("input", () => {
        clearTimeout(timer);
        timer = setTimeout(update, TYPE_DELAY_MS);
    });
    $("presets").replaceChildren(...PRESETS.filter((p) => !p.needs || features[p.needs])
        .map((p) => el("button", { type: "button", text: p.label, title: p.chain,
            onclick: () => { chain.value = p.chain; update(); } })));
    $("copy").addEventListener("click", async () => {
        try {
            await navigator.clipboard.writeText($("url").textContent);
            status("The URL is copied.");
        } catch {
            getSelection().selectAllChildren($("url"));
            status("Press Ctrl+C to copy the selected URL.");
        }
    });
    return update;
}

async function showFile(ep, path, tr) {
    const features = await api("endpoints", "");
    const prefix = features.endpoints[ep]?.prefix ?? `#${ep}`;
    crumbs(ep, prefix, path, true);
    const f = await api("file", `ep=${ep}&path=${path}`);
    $("file-title").textContent = f.name;
    document.title = `${f.name} · blobkit console`;
    fileFacts(f);
    show("file-view");
    status("");
    if (f.kind !== "image" || !f.original) {
        $("open-file").hidden = !f.original;
        if (f.original) $("open-link").href = f.original;
        return;
    }
    $("playground").hidden = false;
    $("original").src = f.original;
    $("chain").value = tr;
    await playground(ep, path, features)();
}

// ---- Start ------------------------------------------------------------------------------------

async function main() {
    const p = params();
    const ep = cleanEp(p.get("ep"));
    try {
        if (ep === null) await showEndpoints();
        else if (p.has("file")) await showFile(ep, cleanPath(p.get("file")), decode(p.get("tr") || ""));
        else await showFolder(ep, cleanPath(p.get("path")), decode(p.get("q") || ""),
            Number(p.get("offset")) || 0);
    } catch (e) {
        status(e.message, true);
    }
    document.addEventListener("keydown", (e) => {
        const typing = /^(INPUT|TEXTAREA)$/.test(document.activeElement?.tagName);
        if (e.key === "/" && !typing && !$("folder-view").hidden) {
            e.preventDefault();
            $("filter").focus();
        }
    });
}

main();
