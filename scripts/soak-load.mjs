// The load of scripts/soak.sh: a mixed stream of requests against blobhttpd for a while, with
// origin faults injected through tests/blobfs_proxy.mjs part of the time, every answer checked.
// Loopback only; bounded in time and in concurrency; stops by itself.
//
//   node scripts/soak-load.mjs BASE_URL PROXY_URL KEY_FILE SECONDS WORKERS SLOW_CLIENTS COLD_N
//
// BASE_URL serves the same mount as /demo (public) and /signed (signature required). Kinds:
// original, range, 304, cache hit, miss (random width), bad chain, signed, unsigned, cold (a
// file not read before: taken in turn, so the first pass over them reads the origin), slow (a client reading 1 KiB every
// 100 ms). Faults: each minute, 500s on every origin request from second 10 to 25, and the
// cold files' reads held (stalled) from 35 to 47. While a fault lasts and for GRACE seconds
// after, an answer that had to reach the origin may be 502, 503 or 504; anything else must be
// exactly right at all times, and no request may take longer than 40 s. Prints a JSON summary
// on stdout; exits 1 when any answer was wrong.
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";

const [base, proxy, keyFile, secondsArg, workersArg, slowArg, coldArg] = process.argv.slice(2);
const seconds = Number(secondsArg), workers = Number(workersArg), slowN = Number(slowArg);
const coldN = Number(coldArg);
const key = fs.readFileSync(keyFile, "utf8").replace(/[\r\n]+$/, "");
const GRACE = 20;
const agent = new http.Agent({ keepAlive: true, maxSockets: workers + slowN });
const t0 = Date.now();
const now = () => (Date.now() - t0) / 1000;
const stats = {};
const wrong = [];
let lastFaultEnd = -1e9, faulting = false;

function count(kind, what) {
    stats[kind] ??= {};
    stats[kind][what] = (stats[kind][what] ?? 0) + 1;
}

function get(path, headers = {}, slow = false) {
    return new Promise((resolve) => {
        const started = Date.now();
        const req = http.get(base + path, { agent, headers, timeout: 40000 }, (res) => {
            const chunks = [];
            const done = () => resolve({ status: res.statusCode, headers: res.headers,
                body: Buffer.concat(chunks), ms: Date.now() - started });
            res.on("data", (d) => {
                chunks.push(d);
                if (slow) {
                    res.pause();
                    setTimeout(() => res.resume(), 100);
                }
            });
            res.on("end", done);
            res.on("error", () => resolve({ status: -1, headers: {}, body: Buffer.alloc(0),
                ms: Date.now() - started }));
        });
        req.on("timeout", () => req.destroy(new Error("timeout")));
        req.on("error", (e) => resolve({ status: e.message === "timeout" ? -2 : -1, headers: {},
            body: Buffer.alloc(0), ms: Date.now() - started }));
    });
}

// Width of a JPEG from its SOF marker, or -1.
function jpegWidth(b) {
    for (let i = 2; i + 9 < b.length;) {
        if (b[i] !== 0xff) return -1;
        const m = b[i + 1], len = b.readUInt16BE(i + 2);
        if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc)
            return b.readUInt16BE(i + 7);
        i += 2 + len;
    }
    return -1;
}

function sign(rest) {
    const s = crypto.createHmac("sha1", key).update(rest + "9999999999").digest("hex");
    return `${rest}${rest.includes("?") ? "&" : "?"}ik-s=${s}`;
}

const files = {
    readme: fs.readFileSync(process.env.SOAK_SRC + "/docs/readme.txt"),
    clip: fs.readFileSync(process.env.SOAK_SRC + "/video/clip.mp4"),
};
let etagHit = null;
let coldNext = 0; /* cold files in turn: each is read from the origin on the first pass */

// Whether a failed answer is excused: it needed the origin while a fault lasted (or just after).
const excused = (r, origin) =>
    origin && (faulting || now() - lastFaultEnd < GRACE) && [502, 503, 504].includes(r.status);

function check(kind, r, good, origin) {
    if (r.status === -2) {
        count(kind, "hung");
        wrong.push(`${kind}: no answer within 40 s`);
    } else if (good(r)) {
        count(kind, "ok");
    } else if (excused(r, origin)) {
        count(kind, `fault ${r.status}`);
    } else {
        count(kind, `wrong ${r.status}`);
        if (wrong.length < 50) wrong.push(`${kind}: status ${r.status} at ${now().toFixed(0)} s`);
    }
}

const kinds = [
    ["original", async () => {
        const r = await get("/demo/docs/readme.txt");
        check("original", r, (x) => x.status === 200 && x.body.equals(files.readme), true);
    }],
    ["range", async () => {
        const r = await get("/demo/video/clip.mp4", { Range: "bytes=1000-1999" });
        check("range", r, (x) => x.status === 206 && x.body.equals(files.clip.subarray(1000, 2000)),
            true);
    }],
    ["hit", async () => {
        const r = await get("/demo/tr:w-120/photos/cat.jpg");
        const good = (x) => x.status === 200 && jpegWidth(x.body) === 120 &&
            (etagHit === null || x.headers.etag === etagHit);
        check("hit", r, good, false);
        if (r.status === 200 && etagHit === null) etagHit = r.headers.etag;
    }],
    ["304", async () => {
        if (!etagHit) return;
        const r = await get("/demo/tr:w-120/photos/cat.jpg", { "If-None-Match": etagHit });
        check("304", r, (x) => x.status === 304 && x.body.length === 0, false);
    }],
    ["miss", async () => {
        const w = 40 + Math.floor(Math.random() * 600);
        const r = await get(`/demo/tr:w-${w},q-${50 + Math.floor(Math.random() * 40)}/photos/cat.jpg`);
        check("miss", r, (x) => x.status === 200 && jpegWidth(x.body) === w, true);
    }],
    ["bad chain", async () => {
        const r = await get("/demo/tr:wx-10/photos/cat.jpg");
        check("bad chain", r, (x) => x.status === 400 && /^EINVAL/.test(x.headers["ik-error"] ?? ""),
            false);
    }],
    ["signed", async () => {
        const r = await get("/signed/" + sign("tr:w-80/photos/cat.jpg"));
        check("signed", r, (x) => x.status === 200 && jpegWidth(x.body) === 80, true);
    }],
    ["unsigned", async () => {
        const r = await get("/signed/tr:w-80/photos/cat.jpg");
        check("unsigned", r, (x) => x.status === 401, false);
    }],
    ["cold", async () => {
        const n = coldNext++ % coldN;
        const r = await get(`/demo/cold/${n}.txt`);
        check("cold", r, (x) => x.status === 200 && x.body.toString() === `cold ${n}\n`, true);
    }],
];

async function worker(end) {
    while (now() < end) {
        const [, run] = kinds[Math.floor(Math.random() * kinds.length)];
        await run();
    }
}

async function slowClient(end) {
    while (now() < end) {
        const r = await get("/demo/video/clip.mp4", {}, true);
        check("slow", r, (x) => x.status === 200 && x.body.equals(files.clip), true);
    }
}

function control(path) {
    return new Promise((resolve) => {
        http.get(proxy + path, (res) => { res.resume(); res.on("end", resolve); })
            .on("error", resolve);
    });
}

// Each minute: 500s on every origin request from 10 s to 25 s, cold reads stalled 35 s to 47 s.
async function faults(end) {
    const sleep = (s) => new Promise((r) => setTimeout(r, s * 1000));
    while (now() < end - 60) {
        const m = Math.floor(now() / 60) * 60;
        await sleep(Math.max(0, m + 10 - now()));
        faulting = true;
        await control("/__fail?status=500&count=-1&match=/media/");
        await sleep(15);
        await control("/__fail?count=0");
        faulting = false;
        lastFaultEnd = now();
        await sleep(Math.max(0, m + 35 - now()));
        faulting = true;
        await control("/__stall?match=/media/cold/");
        await sleep(12);
        await control("/__stall");
        faulting = false;
        lastFaultEnd = now();
        await sleep(Math.max(0, m + 60 - now()));
    }
}

const end = seconds;
await Promise.all([
    ...Array.from({ length: workers }, () => worker(end)),
    ...Array.from({ length: slowN }, () => slowClient(end)),
    faults(end),
]);
await control("/__fail?count=0");
await control("/__stall");
console.log(JSON.stringify({ seconds: now(), stats, wrong }));
process.exit(wrong.length ? 1 : 0);
