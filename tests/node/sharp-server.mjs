// A minimal image server on sharp (npm), the peer scripts/bench-httpd.sh measures blobhttpd
// against: the same resize as tr:w-W[,h-H] (cover crop, centred), JPEG quality 80.
//
//   node tests/node/sharp-server.mjs PORT DIR
//   GET /W/H/FILE    H 0: width only. Every request decodes (sharp's cache is off, as
//                    blobhttpd runs with --cache-mb 0 for the cache-miss figures).
import http from "node:http";
import path from "node:path";
import sharp from "sharp";

const [port, dir] = process.argv.slice(2);
sharp.cache(false);

http.createServer(async (req, res) => {
    const m = /^\/(\d+)\/(\d+)\/([\w.-]+)$/.exec(req.url);
    if (!m) {
        res.writeHead(404).end();
        return;
    }
    const [w, h] = [Number(m[1]), Number(m[2])];
    try {
        const out = await sharp(path.join(dir, m[3]))
            .resize({ width: w, height: h || undefined, fit: "cover" })
            .jpeg({ quality: 80 })
            .toBuffer();
        res.writeHead(200, { "Content-Type": "image/jpeg", "Content-Length": out.length });
        res.end(out);
    } catch (e) {
        res.writeHead(500).end(String(e.message));
    }
}).listen(Number(port), "127.0.0.1", () => console.log(`sharp server on ${port}`));
