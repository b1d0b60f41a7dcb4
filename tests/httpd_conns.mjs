// Test-bed helper for blobhttpd's connection limits (tests/it_httpd_conn.sh): raw sockets that
// behave as an attacker's would. Prints one line of JSON. Never shipped.
//
//   node tests/httpd_conns.mjs trickle PORT N INTERVAL_MS MAX_MS
//       N sockets each send a request head one byte every INTERVAL_MS, never finishing it;
//       {"closed": sockets the server closed, "ms": when the last of them closed (or MAX_MS)}
//   node tests/httpd_conns.mjs hold PORT N MS
//       N keep-alive connections, each answered once (so the server accepted it), then held
//       idle for MS; {"held": connections answered} once all are, then exits after MS
//   node tests/httpd_conns.mjs exhaust PORT PATH MAX
//       open keep-alive connections (each answered once) until the server stops answering new
//       ones (out of descriptors) or MAX, then GET PATH on the first one:
//       {"held": answered connections, "status": its status, "ikerror": its ik-error}
import net from "node:net";

const [mode, port, ...rest] = process.argv.slice(2);
const out = (o) => console.log(JSON.stringify(o));

function trickle(n, interval, max) {
    const head = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    const t0 = Date.now();
    let closed = 0, last = 0, done = false;
    const finish = () => {
        if (done) return;
        done = true;
        out({ closed, ms: closed === n ? last : max });
        process.exit(0);
    };
    for (let i = 0; i < n; i++) {
        const s = net.connect(Number(port), "127.0.0.1");
        let k = 0;
        const timer = setInterval(() => {
            s.write(k < head.length ? head[k] : "a");
            k++;
        }, interval);
        s.on("error", () => {});
        s.on("close", () => {
            clearInterval(timer);
            closed++;
            last = Date.now() - t0;
            if (closed === n) finish();
        });
    }
    setTimeout(finish, max);
}

// One keep-alive request on s; resolves with [status, ik-error] or null after ms.
function ask(s, path, ms) {
    return new Promise((resolve) => {
        let buf = "";
        const timer = setTimeout(() => { s.removeAllListeners("data"); resolve(null); }, ms);
        s.on("data", (d) => {
            buf += d.toString("latin1");
            const end = buf.indexOf("\r\n\r\n");
            if (end < 0) return;
            const len = Number((/content-length: *(\d+)/i.exec(buf) || [0, 0])[1]);
            if (buf.length < end + 4 + len) return;
            clearTimeout(timer);
            s.removeAllListeners("data");
            const status = Number(buf.split(" ")[1]);
            const ik = (/\r\nik-error: *([^\r]*)/i.exec(buf) || [null, ""])[1];
            resolve([status, ik]);
        });
        s.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
    });
}

function connect() {
    return new Promise((resolve) => {
        const s = net.connect(Number(port), "127.0.0.1", () => resolve(s));
        s.on("error", () => resolve(null));
    });
}

async function hold(n, ms) {
    const socks = [];
    for (let i = 0; i < n; i++) {
        const s = await connect();
        if (s && (await ask(s, "/healthz", 5000))) socks.push(s);
    }
    out({ held: socks.length });
    setTimeout(() => process.exit(0), ms);
}

async function exhaust(path, max) {
    const socks = [];
    for (let i = 0; i < max; i++) {
        const s = await connect();
        if (!s || !(await ask(s, "/healthz", 1500))) {
            if (s) s.destroy();
            break;
        }
        socks.push(s);
    }
    const got = socks.length ? await ask(socks[0], path, 10000) : null;
    out({ held: socks.length, status: got ? got[0] : 0, ikerror: got ? got[1] : "" });
    process.exit(0);
}

if (mode === "trickle") trickle(Number(rest[0]), Number(rest[1]), Number(rest[2]));
else if (mode === "hold") hold(Number(rest[0]), Number(rest[1]));
else if (mode === "exhaust") exhaust(rest[0], Number(rest[1]));
