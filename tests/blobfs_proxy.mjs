// Test-bed helper: an HTTP proxy in front of Azurite, for the blobfs tests and benchmarks. It
// answers requests with an error on command (Azurite itself never throttles), can stand in
// for a wide-area network (a delay per request, a bandwidth cap per response), and counts
// what passes. Never shipped.
//
//   node tests/blobfs_proxy.mjs TARGET_PORT [--delay-ms N] [--mbps N]
//       prints the port it listens on (127.0.0.1). --delay-ms: each request waits N ms before
//       it is forwarded (a round trip); --mbps: each response body flows at most N MB/s
//       (10^6 bytes), as one connection across a region would.
//
//   GET /__fail?status=503&count=2[&after=1][&afterms=300][&match=SUBSTRING]
//       answer the next count requests (-1: all) with status, Retry-After: after and/or
//       x-ms-retry-after-ms: afterms, and x-ms-error-code: ServerBusy; with match, only
//       requests whose path contains SUBSTRING (the others pass)
//   GET /__stall?match=SUBSTRING    hold every request whose path contains SUBSTRING (a stalled
//       origin) without answering; GET /__stall (no match) lets the held ones through
//   GET /__count      {"seen": requests proxied or failed, "failed": failed, "held": held now}
//   GET /__stats      {"requests", "lists", "listBytes", "gets", "heads", "bytes",
//                      "inflight", "maxInflight"}: since start or the last /__reset;
//                      inflight counts reads of blobs (GET or HEAD, not List) under way
//   GET /__reset      zero those counters
import http from "node:http";
import { Transform } from "node:stream";

const target = Number(process.argv[2]);
const opt = (name, dflt) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const delayMs = opt("--delay-ms", 0);
const bytesPerMs = opt("--mbps", 0) * 1000; // MB/s = 10^6 B/s = 1000 B/ms
const agent = new http.Agent({ keepAlive: true });
let plan = { status: 503, count: 0 };
let seen = 0, failed = 0;
const zero = () => ({
    requests: 0, lists: 0, listBytes: 0, gets: 0, heads: 0, bytes: 0, inflight: 0, maxInflight: 0,
});
let stats = zero();
let stall = null;
let held = [];

function control(req, res) {
    const q = new URL(req.url, "http://proxy").searchParams;
    if (req.url.startsWith("/__fail")) {
        plan = {
            status: Number(q.get("status") ?? 503), count: Number(q.get("count") ?? 1),
            after: q.get("after"), afterMs: q.get("afterms"), match: q.get("match"),
        };
    }
    if (req.url.startsWith("/__stall")) {
        stall = q.get("match");
        if (!stall) {
            const go = held;
            held = [];
            for (const [r, s] of go) forward(r, s);
        }
    }
    if (req.url.startsWith("/__stats")) return res.end(JSON.stringify(stats));
    if (req.url.startsWith("/__reset")) {
        const inflight = stats.inflight;
        stats = zero();
        stats.inflight = inflight;
    }
    res.end(JSON.stringify({ seen, failed, held: held.length }));
}

function fail(req, res) {
    if (plan.count > 0) plan.count--;
    failed++;
    const headers = { "x-ms-error-code": "ServerBusy", "content-length": "0" };
    if (plan.after) headers["retry-after"] = plan.after;
    if (plan.afterMs) headers["x-ms-retry-after-ms"] = plan.afterMs;
    req.resume();
    res.writeHead(plan.status, headers);
    res.end();
}

// Paces a body to bytesPerMs: each piece leaves when the bytes before it may have.
function pace() {
    let start = 0, sent = 0;
    return new Transform({
        transform(piece, _enc, done) {
            start ||= Date.now();
            sent += piece.length;
            const wait = start + sent / bytesPerMs - Date.now();
            if (wait >= 1) setTimeout(() => done(null, piece), wait);
            else done(null, piece);
        },
    });
}

function count(req, res) {
    const list = req.url.includes("comp=list");
    stats.requests++;
    if (list) stats.lists++;
    else if (req.method === "HEAD") stats.heads++;
    else stats.gets++;
    if (list) return (n) => { stats.listBytes += n; stats.bytes += n; };
    stats.inflight++;
    stats.maxInflight = Math.max(stats.maxInflight, stats.inflight);
    let over = false; // the last byte went out, or the client left
    const done = () => { if (!over) { over = true; stats.inflight--; } };
    res.on("finish", done);
    res.on("close", done);
    return (n) => { stats.bytes += n; };
}

function forward(req, res) {
    const add = count(req, res);
    const up = http.request({
        host: "127.0.0.1", port: target, method: req.method, path: req.url,
        headers: req.headers, agent,
    }, (answer) => {
        res.writeHead(answer.statusCode, answer.headers);
        answer.on("data", (piece) => add(piece.length));
        if (bytesPerMs > 0) answer.pipe(pace()).pipe(res);
        else answer.pipe(res);
    });
    up.on("error", () => res.destroy());
    req.pipe(up);
}

function matches(req, what) {
    return !what || new URL(req.url, "http://proxy").pathname.includes(what);
}

const server = http.createServer((req, res) => {
    if (req.url.startsWith("/__")) return control(req, res);
    seen++;
    if (stall && matches(req, stall)) {
        held.push([req, res]);
        res.on("close", () => { held = held.filter(([, s]) => s !== res); });
        return;
    }
    if (plan.count !== 0 && matches(req, plan.match)) return fail(req, res);
    if (delayMs > 0) setTimeout(() => forward(req, res), delayMs);
    else forward(req, res);
});
server.listen(0, "127.0.0.1", () => console.log(server.address().port));
