// A bounded HTTP load for tests/it_cluster.sh and scripts/bench-cluster.sh. Never shipped.
//
//   node tests/cluster/load.mjs BASE URL_FILE [--concurrency C] [--repeat R] [--bust TAG]
//                               [--progress FILE] [--header 'Name: value']...
//
// GETs BASE + each path of URL_FILE (one a line), R times over (default 1), C at a time
// (default 8) on kept-alive connections. With --bust TAG each request gets "?TAG=i" (or
// "&TAG=i") so it is a cache miss at the front, while blobhttpd ignores the parameter. Prints
// one line per request, tab-separated: path status x-upstream x-cache-status ms, where status
// is ERR for a request that got no complete answer (refused, reset, truncated, timed out).
// --progress FILE: the number of requests done so far, rewritten every 20 requests.
import fs from "node:fs";
import http from "node:http";

function die(msg) {
    console.error(`load.mjs: ${msg}`);
    process.exit(2);
}

function parse(argv) {
    const o = { concurrency: 8, repeat: 1, headers: {} };
    const rest = [];
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === "--concurrency") o.concurrency = Number(argv[++i]);
        else if (a === "--repeat") o.repeat = Number(argv[++i]);
        else if (a === "--bust") o.bust = argv[++i];
        else if (a === "--progress") o.progress = argv[++i];
        else if (a === "--header") {
            const [k, ...v] = argv[++i].split(":");
            o.headers[k.trim()] = v.join(":").trim();
        } else rest.push(a);
    }
    if (rest.length !== 2) die("usage: load.mjs BASE URL_FILE [options]");
    [o.base, o.file] = rest;
    return o;
}

// One GET; resolves to [status|"ERR", upstream, cache, ms]. The body is read to the end:
// a response cut short by a dying node counts as an error, as a client would see it.
function get(agent, url, headers) {
    const t0 = process.hrtime.bigint();
    return new Promise((resolve) => {
        const done = (s, res) => resolve([s, res?.headers["x-upstream"] ?? "-",
            res?.headers["x-cache-status"] ?? "-",
            Number(process.hrtime.bigint() - t0) / 1e6]);
        const req = http.get(url, { agent, headers, timeout: 30000 }, (res) => {
            res.on("data", () => {});
            res.on("end", () => done(res.complete ? res.statusCode : "ERR", res));
            res.on("error", () => done("ERR", res));
        });
        req.on("timeout", () => req.destroy(new Error("timeout")));
        req.on("error", () => done("ERR"));
    });
}

async function main() {
    const o = parse(process.argv.slice(2));
    const paths = fs.readFileSync(o.file, "utf8").split("\n").filter(Boolean);
    const jobs = [];
    for (let r = 0; r < o.repeat; r++) jobs.push(...paths);
    const agent = new http.Agent({ keepAlive: true, maxSockets: o.concurrency });
    let next = 0, done = 0;
    const lines = [];
    async function worker() {
        while (next < jobs.length) {
            const i = next++;
            const p = jobs[i];
            const url = o.bust ? `${o.base}${p}${p.includes("?") ? "&" : "?"}${o.bust}=${i}` : o.base + p;
            const [s, up, cache, ms] = await get(agent, url, o.headers);
            lines.push(`${p}\t${s}\t${up}\t${cache}\t${ms.toFixed(1)}`);
            if (++done % 20 === 0 && o.progress) fs.writeFileSync(o.progress, `${done}\n`);
        }
    }
    await Promise.all(Array.from({ length: o.concurrency }, worker));
    agent.destroy();
    process.stdout.write(lines.join("\n") + "\n");
}

main().catch((e) => die(e.message));
