// Test-bed helper: an HTTP proxy in front of Azurite that answers requests with an error on
// command, for the blobfs retry tests (Azurite itself never throttles). Never shipped.
//
//   node tests/blobfs_proxy.mjs TARGET_PORT      prints the port it listens on (127.0.0.1)
//
//   GET /__fail?status=503&count=2[&after=1][&afterms=300][&match=SUBSTRING]
//       answer the next count requests (-1: all) with status, Retry-After: after and/or
//       x-ms-retry-after-ms: afterms, and x-ms-error-code: ServerBusy; with match, only
//       requests whose path contains SUBSTRING (the others pass)
//   GET /__stall?match=SUBSTRING    hold every request whose path contains SUBSTRING (a stalled
//       origin) without answering; GET /__stall (no match) lets the held ones through
//   GET /__count      {"seen": requests proxied or failed, "failed": failed, "held": held now}
import http from "node:http";

const target = Number(process.argv[2]);
const agent = new http.Agent({ keepAlive: true });
let plan = { status: 503, count: 0 };
let seen = 0, failed = 0;
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

function forward(req, res) {
    const up = http.request({
        host: "127.0.0.1", port: target, method: req.method, path: req.url,
        headers: req.headers, agent,
    }, (answer) => {
        res.writeHead(answer.statusCode, answer.headers);
        answer.pipe(res);
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
    forward(req, res);
});
server.listen(0, "127.0.0.1", () => console.log(server.address().port));
