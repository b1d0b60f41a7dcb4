// URLs built by ImageKit's official SDKs, for blobhttpd's tests. Never shipped.
//
//   node tests/node/imagekit.mjs vectors KEY_FILE
//       signed URLs for several urlEndpoints, one per line: "ENDPOINT<TAB>URL<TAB>ok|expired"
//   node tests/node/imagekit.mjs urls URL_ENDPOINT KEY_FILE SRC_PATH SRC_W SRC_H
//       test cases on one source image, one per line:
//       "SDK<TAB>NAME<TAB>CONTENT_TYPE|-<TAB>WIDTH<TAB>HEIGHT<TAB>URL"; the expected size is
//       computed here from the source size and the transformation asked for
//   node tests/node/imagekit.mjs sign URL_ENDPOINT KEY_FILE PATH [TR] [EXPIRE_SECONDS] [legacy-path]
//       one signed URL (current SDK, transformation in the query; or the legacy SDK, in the
//       path), for the demo and the video tests
//
// Both SDKs are used as a site would: the current @imagekit/nodejs (client.helper.buildSrc) and
// the legacy imagekit 6 (ik.url). The private key is read from a file, never from argv.
import fs from "node:fs";
import ImageKitLegacy from "imagekit";
import ImageKit from "@imagekit/nodejs";

function die(msg) {
    console.error(`imagekit.mjs: ${msg}`);
    process.exit(2);
}

function readKey(file) {
    return fs.readFileSync(file, "utf8").replace(/[\r\n]+$/, "");
}

// One builder per SDK with the same shape: build({path, transformation, position, signed, expire}).
function builders(urlEndpoint, privateKey) {
    const legacy = new ImageKitLegacy({ publicKey: "unused", privateKey, urlEndpoint });
    const current = new ImageKit({ privateKey });
    return {
        legacy: (o) => legacy.url({
            path: o.path, transformation: o.transformation, queryParameters: o.query,
            transformationPosition: o.position, signed: o.signed, expireSeconds: o.expire,
        }),
        current: (o) => current.helper.buildSrc({
            urlEndpoint, src: o.path, transformation: o.transformation, queryParameters: o.query,
            transformationPosition: o.position, signed: o.signed, expiresIn: o.expire,
        }),
    };
}

function vectors(keyFile) {
    const key = readKey(keyFile);
    const endpoints = ["http://127.0.0.1:8080/demo", "https://cdn.example.com",
                       "http://localhost:9/a/b/"];
    const tr = [{ width: 300, height: 200 }, { rotation: 90 }];
    for (const ep of endpoints) {
        const b = builders(ep, key);
        const cases = [
            { path: "/photos/cat.jpg", transformation: tr, position: "path", signed: true },
            { path: "/photos/cat.jpg", transformation: tr, position: "query", signed: true },
            { path: "/dir/b c é.png", transformation: [{ width: 50 }], signed: true,
              query: { v: "2", x: "a b" } },
            { path: "/plain.txt", signed: true, expire: 600 },
            { path: "/photos/cat.jpg", transformation: tr, position: "query", signed: true,
              expire: 3600 },
        ];
        for (const [sdk, build] of Object.entries(b)) {
            for (const c of cases)
                console.log(`${ep}\t${build(c)}\tok`);
        }
        // Only the legacy SDK lets a URL be signed already expired (a negative lifetime).
        console.log(`${ep}\t${b.legacy({ path: "/old.jpg", signed: true, expire: -100 })}\texpired`);
    }
}

// Expected output size of w/h on a source of sw x sh (ImageKit: one side given keeps the ratio,
// both give exactly that size); rotation by 90 or 270 swaps the sides.
function expect(sw, sh, steps) {
    let w = sw, h = sh;
    for (const s of steps) {
        if (s.width && s.height) { w = s.width; h = s.height; }
        else if (s.width) { h = Math.round((h * s.width) / w); w = s.width; }
        else if (s.height) { w = Math.round((w * s.height) / h); h = s.height; }
        if (s.rotation === 90 || s.rotation === 270) [w, h] = [h, w];
    }
    return [w, h];
}

function urls(endpoint, keyFile, src, sw, sh) {
    const b = builders(endpoint, readKey(keyFile));
    const cases = [
        ["path-width", { transformation: [{ width: 300 }], position: "path" }],
        ["query-width-height", { transformation: [{ width: 300, height: 200 }], position: "query" }],
        ["path-chain", { transformation: [{ width: 400, height: 300 }, { rotation: 90 }],
                         position: "path" }],
        ["query-chain", { transformation: [{ height: 240 }, { rotation: 270 }], position: "query" }],
        ["path-png", { transformation: [{ width: 160, format: "png" }], position: "path" },
         "image/png"],
        ["query-webp", { transformation: [{ height: 90, format: "webp" }], position: "query" },
         "image/webp"],
        ["signed-path", { transformation: [{ width: 120 }], position: "path", signed: true }],
        ["signed-query-expiring", { transformation: [{ height: 100 }], position: "query",
                                    signed: true, expire: 600 }],
        ["signed-params", { transformation: [{ width: 64, height: 64 }], signed: true,
                            query: { v: "3" } }],
        ["original", { transformation: [{ original: true }] }, null, [sw, sh]],
    ];
    for (const [sdk, build] of Object.entries(b)) {
        for (const [name, o, type, size] of cases) {
            const [w, h] = size ?? expect(sw, sh, o.transformation);
            const url = build({ ...o, path: src });
            console.log([sdk, name, type ?? "-", w, h, url].join("\t"));
        }
    }
}

function sign(endpoint, keyFile, path, tr, expire, how) {
    const b = builders(endpoint, readKey(keyFile));
    const transformation = tr ? [{ raw: tr }] : undefined;
    const build = how === "legacy-path" ? b.legacy : b.current;
    console.log(build({
        path, transformation, signed: true, expire: expire ? Number(expire) : undefined,
        position: how === "legacy-path" ? "path" : "query",
    }));
}

const [cmd, ...args] = process.argv.slice(2);
switch (cmd) {
case "vectors":
    vectors(args[0]);
    break;
case "urls":
    urls(args[0], args[1], args[2], Number(args[3]), Number(args[4]));
    break;
case "sign":
    sign(...args);
    break;
default:
    die("usage: imagekit.mjs vectors KEY_FILE | urls ENDPOINT KEY_FILE SRC W H | sign ...");
}
