// The URLs ImageKit's own SDKs build for tests/it_httpd_url.sh (blobkit-url). Never shipped.
//
//   node tests/node/ik-build.mjs ENDPOINT KEY NOW EXPIRE
//
// With the SDKs' clock fixed at NOW (Unix seconds), prints one record per case below, fields
// separated by NUL and ended by NUL (a path may hold tabs and newlines):
//   PATH  CHAIN  POSITION  SIGN  V7  V6
// SIGN is "-" (unsigned), "key" (signed, never expires) or "exp" (signed, expiring EXPIRE
// seconds after NOW). V7 is @imagekit/nodejs 7's buildSrc; V6 the legacy imagekit 6's url for
// the path position, or "-" where v6 is not compared, its known quirks: an endpoint without a
// path (v6 writes "//" before the file's path when there is no transformation), a path
// without a leading slash (v6 glues it to the endpoint), and the paths marked v6: false (v6
// squeezes slashes and resolves a trailing "." or ".." differently when there is no
// transformation).
import ImageKit7 from "@imagekit/nodejs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const ImageKit6 = require("imagekit");
const [endpoint, key, now, expire] = process.argv.slice(2);

const RealDate = Date;
globalThis.Date = class extends RealDate {
    constructor(...a) { super(...(a.length ? a : [Number(now) * 1000])); }
    static now() { return Number(now) * 1000; }
};

const paths = [
    { p: "/a cat.jpg" }, { p: "p/\u00e9 \u65e5\u672c.jpg" }, { p: "/e\u0301 nfd/\u{1F600}.png" },
    { p: "/q?x=1&y=2.jpg" }, { p: "/h#frag.jpg" }, { p: "/100%.jpg" }, { p: "/pc%20t%2F.jpg" },
    { p: "/a+b=c.jpg" }, { p: "/x@@y/z.jpg" }, { p: "/a//b.jpg", v6: false },
    { p: "/~!$&'()*,;:.jpg" }, { p: "/[x]{y}|\\^`\"<>.jpg" }, { p: "/a\tb\n.jpg" },
    { p: " /sp .jpg " }, { p: "/a/./b/../c.jpg" }, { p: "/a/%2e%2E/c.jpg" }, { p: "/d/" },
    { p: "/x/.", v6: false }, { p: "/\x7f\x01.jpg" },
];
const chains = ["", "w-300,h-300:rt-90", "di-folder@@sub@@def.jpg,w-100,q-50:f-webp"];

const ik6 = new ImageKit6({ publicKey: "public_test", privateKey: key, urlEndpoint: endpoint });
const ik7 = new ImageKit7({ privateKey: key });
const endpointHasPath = new URL(endpoint).pathname !== "/";
const out = [];
for (const { p, v6 = true } of paths) {
    for (const chain of chains) {
        const tr = chain ? chain.split(":").map((raw) => ({ raw })) : [];
        for (const position of ["query", "path"]) {
            for (const sign of ["-", "key", "exp"]) {
                const s7 = sign === "-" ? {} : { signed: true, expiresIn: sign === "exp" ? Number(expire) : 0 };
                const s6 = sign === "-" ? {} : { signed: true, expireSeconds: sign === "exp" ? Number(expire) : 0 };
                const u7 = ik7.helper.buildSrc({ urlEndpoint: endpoint, src: p, transformation: tr,
                                                 transformationPosition: position, ...s7 });
                const u6 = position === "path" && v6 && p.startsWith("/") && endpointHasPath
                    ? ik6.url({ path: p, transformation: tr, ...s6 }) : "-";
                out.push(p, chain, position, sign, u7, u6);
            }
        }
    }
}
process.stdout.write(out.join("\0") + "\0");
