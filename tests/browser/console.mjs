// The console (/_blobkit/) as a person uses it in Chromium: see tests/it_browser_console.sh,
// which sets up the servers and runs this.
//
//   CONSOLE_URL=http://127.0.0.1:P CONSOLE_KEYED_URL=http://127.0.0.1:Q CONSOLE_KEY_FILE=F \
//   LANDSCAPE_SIZE=WxH node tests/browser/console.mjs OUT-DIR [PIDFILE]
//
// CONSOLE_URL serves /demo (the demo's media and odd names on a blobfs mount, then a local
// folder with big/, 12,000 files) without a key; CONSOLE_KEYED_URL serves /demo and /private
// with the signing key in F.
import fs from "node:fs";
import { launch, report } from "./harness.mjs";

const base = process.env.CONSOLE_URL;
const keyed = process.env.CONSOLE_KEYED_URL;
const keyFile = process.env.CONSOLE_KEY_FILE;
const [out, pidFile] = process.argv.slice(2);
if (!base || !keyed || !keyFile || !out) {
    console.error("usage: CONSOLE_URL=... CONSOLE_KEYED_URL=... CONSOLE_KEY_FILE=... " +
        "node tests/browser/console.mjs OUT-DIR [PIDFILE]");
    process.exit(2);
}
const t = report();
const console_ = `${base}/_blobkit/`;
// The 12,000-entry folder must show its first page within this long of the click. A functional
// bound, not a benchmark: generous on this shared 2-core machine, where it takes a few hundred
// milliseconds when the machine is quiet.
const BIG_FOLDER_MS = 2000;
const HOSTILE = ["<img src=x onerror=alert(document.domain)>.jpg", "<svg onload=window.__pwned=1>.jpg",
    "\"&quot;&amp; 'q'.jpg", "été 漢字 🎉.jpg"];

const text = (page, sel) => page.$eval(sel, (e) => e.textContent);
const names = (page) => page.evaluate(() =>
    [...document.querySelectorAll("#entries .name")].map((e) => e.textContent));
const waitFor = (page, fn, ...args) => page.page.waitForFunction(fn, { timeout: 20000, polling: 20 },
    ...args);

// Every image on the page once the lazy ones are scrolled into view.
async function allImages(page) {
    await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
    return page.images();
}

async function checkTop(browser) {
    const page = await browser.open(console_);
    t.is(page.status, 200, "the console answers at /_blobkit/");
    await waitFor(page, () => document.querySelector("#endpoints a"));
    t.is(await text(page, "#endpoints a"), "/demo", "it lists the endpoint /demo");
    await page.page.click("#endpoints a");
    await waitFor(page, () => document.querySelectorAll("#entries li").length > 0);
    const got = await names(page);
    for (const want of ["big/", "docs/", "odd/", "photos/", "video/", "index.html"])
        t.ok(got.includes(want), `the top of /demo lists ${want}`, got);
    t.ok(got.indexOf("video/") < got.indexOf("index.html"), "folders come first", got);
    t.is(page.problems(), [], "the top: no page error, dialog or failed request");
    await page.close();
}

async function checkPhotos(browser) {
    const page = await browser.open(`${console_}?ep=0&path=photos`);
    await waitFor(page, () => document.querySelectorAll("#entries img").length >= 8);
    const imgs = (await allImages(page)).filter((i) => (i.src || "").includes("/tr:w-160,h-160/"));
    t.ok(imgs.length === 8, `every photo has a thumbnail from the engine (${imgs.length})`, imgs);
    for (const img of imgs)
        t.ok(img.width === 160 && img.height === 160, `${img.src}: decodes, 160x160`, img);
    t.is((await names(page)).length, 8, "the folder lists its 8 photos");
    t.ok((await text(page, "#count")).startsWith("8 entries"), "and says how many");
    t.ok(await page.$eval("#crumbs", (c) => c.textContent.includes("/demo") &&
        c.textContent.includes("photos")), "the breadcrumbs say /demo › photos");
    await page.screenshot("console-folder");
    await page.page.keyboard.press("/");
    t.is(await page.evaluate(() => document.activeElement.id), "filter", "'/' focuses the filter");
    await page.page.keyboard.press("Tab");
    t.ok(await page.evaluate(() => document.activeElement.closest("#entries") !== null),
        "Tab goes on to the first entry");
    t.is(page.problems(), [], "photos: no page error, dialog or failed request");
    await page.close();
}

async function checkBig(browser) {
    const t0 = Date.now();
    const page = await browser.open(`${console_}?ep=0&path=big`);
    await waitFor(page, () => document.querySelectorAll("#entries li").length === 200 &&
        document.querySelector("#count").textContent.startsWith("12,000 entries"));
    const ms = Date.now() - t0;
    t.ok(ms < BIG_FOLDER_MS, `the 12,000-entry folder shows its first page in ${ms} ms ` +
        `(bound ${BIG_FOLDER_MS})`);
    t.is((await names(page))[0], "f00001.txt", "its first entry");
    await page.page.click("#next");
    await waitFor(page, () => document.querySelector("#entries .name")?.textContent === "f00201.txt");
    t.ok(page.page.url().includes("offset=200"), "Next opens entries 201-400", page.page.url());
    await page.page.type("#filter", "f1199");
    await waitFor(page, () => document.querySelector("#count").textContent.startsWith("10 match"));
    t.is(await names(page), Array.from({ length: 10 }, (_, i) => `f1199${i}.txt`),
        "the filter finds the 10 names holding f1199");
    t.is(page.problems(), [], "big: no page error, dialog or failed request");
    await page.close();
}

// The facts of the landscape, and the playground: typing, a bad chain, a preset.
async function checkFile(browser) {
    const page = await browser.open(`${console_}?ep=0&file=photos/landscape.jpg`);
    await waitFor(page, () => document.querySelector("#facts dd") &&
        document.querySelector("#preview").naturalWidth > 0);
    const facts = await page.evaluate(() => Object.fromEntries([...document.querySelectorAll(
        "#facts dt")].map((dt) => [dt.textContent, dt.nextElementSibling.textContent])));
    t.is(facts.Type, "image/jpeg", "the facts: type");
    t.is(facts["Pixel size"], process.env.LANDSCAPE_SIZE.replace("x", " × "), "pixel size");
    const orig = await page.evaluate(async () => {
        const r = await fetch(document.querySelector("#original").src);
        return { etag: r.headers.get("etag"), modified: r.headers.get("last-modified"),
            bytes: (await r.arrayBuffer()).byteLength };
    });
    t.is(facts.ETag, orig.etag, "ETag: the one the original is served with");
    t.is(facts["Last-Modified"], orig.modified, "Last-Modified: the same");
    t.ok(facts.Bytes.startsWith(orig.bytes.toLocaleString("en")), "bytes", [facts.Bytes, orig]);
    t.ok(facts["EXIF orientation"]?.startsWith("1"), "EXIF orientation", facts);
    t.ok(await page.$eval("#original", (i) => i.naturalWidth > 0), "the original is shown beside");

    await page.page.type("#chain", "w-123");
    await waitFor(page, () => document.querySelector("#preview").naturalWidth === 123 &&
        !document.querySelector("#preview").classList.contains("stale"));
    t.is(await page.$eval("#preview", (i) => Math.round(i.getBoundingClientRect().width)), 123,
        "typing w-123 makes #preview 123 px wide");
    t.ok((await text(page, "#url")).startsWith(`${base}/demo/tr:w-123/photos/landscape.jpg`),
        "#url is the full URL", await text(page, "#url"));
    t.ok((await text(page, "#output")).includes("123 ×"), "the output's pixel size is shown");
    t.ok(/Server time\d+(\.\d)? ms/.test(await text(page, "#output")), "and the server's time");
    t.ok(page.page.url().includes("tr=w-123"), "the page's URL keeps the chain");

    await page.page.click("#chain", { clickCount: 3 });
    await page.page.type("#chain", "wx-1");
    await waitFor(page, () => document.querySelector("#chain-error").textContent.length > 0);
    t.ok((await text(page, "#chain-error")).includes("unknown parameter 'wx'"),
        "a bad chain shows the server's ik-error", await text(page, "#chain-error"));

    await page.page.evaluate(() => [...document.querySelectorAll("#presets button")]
        .find((b) => b.textContent.startsWith("Square crop")).click());
    await waitFor(page, () => document.querySelector("#preview").naturalWidth === 300 &&
        document.querySelector("#chain-error").textContent === "");
    t.is(await page.$eval("#preview", (i) => [i.naturalWidth, i.naturalHeight]), [300, 300],
        "the square-crop preset makes a 300x300 preview and clears the error");
    t.is(await page.$eval("#chain", (c) => c.value), "w-300,h-300,fo-auto", "and fills #chain");
    t.is(page.problems([/HTTP 400: .*\/tr:wx-1\//, /status of 400 .*tr:wx-1/]), [],
        "the file: nothing fails but the bad chain's 400");
    await page.screenshot("console-file");
    await page.close();
}

async function checkHostile(browser) {
    const page = await browser.open(`${console_}?ep=0&path=odd`);
    await waitFor(page, () => document.querySelectorAll("#entries li").length === 4);
    t.is((await names(page)).sort(), [...HOSTILE].sort(), "odd names are shown as they are");
    const imgs = (await allImages(page)).filter((i) => (i.src || "").includes("/tr:w-160,h-160/"));
    t.ok(imgs.length === 4 && imgs.every((i) => i.width === 160), "their thumbnails decode", imgs);
    const html = await page.evaluate(() => ({
        pwned: window.__pwned, injected: document.querySelectorAll("#entries img:not([src*='/tr:']), svg").length,
    }));
    t.is(html, { pwned: undefined, injected: 0 }, "no name became an element or ran");
    await page.page.click("#entries li a");
    await waitFor(page, () => document.querySelector("#file-title")?.textContent);
    t.ok(HOSTILE.includes(await text(page, "#file-title")), "a file page titles it as text");
    await waitFor(page, () => document.querySelector("#preview").naturalWidth > 0);
    t.is(await page.evaluate(() => window.__pwned), undefined, "and runs nothing");
    t.is(page.problems(), [], "odd names: no page error, dialog or failed request");
    await page.close();
}

async function checkPhone(browser) {
    const page = await browser.open(`${console_}?ep=0&file=photos/cat.jpg`, { width: 375 });
    await waitFor(page, () => document.querySelector("#preview").naturalWidth > 0);
    t.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 375),
        "at phone width (375 px) nothing is wider than the screen");
    await page.close();
}

// The status of a navigation to url with credentials: Chromium gives up on a Basic challenge
// it cannot answer (no credentials, or the ones it has were refused) with
// ERR_INVALID_AUTH_CREDENTIALS rather than a page: that counts as the 401 it got.
async function navStatus(browser, url, auth) {
    try {
        const page = await browser.open(url, { auth });
        const status = page.status;
        await page.close();
        return status;
    } catch (e) {
        return /ERR_INVALID_AUTH_CREDENTIALS/.test(e.message) ? 401 : e.message;
    }
}

// The console of a server with a key: Basic auth with the key as the user name.
async function checkAuth(browser) {
    const key = fs.readFileSync(keyFile, "utf8").trim();
    const probe = await browser.open(`${keyed}/healthz`);
    const fetched = await probe.evaluate(async (k) => {
        // credentials "omit": a 401 comes back as it is instead of asking for credentials.
        const get = async (user) => {
            const r = await fetch("/_blobkit/api/endpoints", { credentials: "omit",
                headers: user === null ? {} : { Authorization: `Basic ${btoa(`${user}:`)}` } });
            return [r.status, r.headers.get("www-authenticate")];
        };
        return { none: await get(null), wrong: await get(`${k}x`), right: await get(k) };
    }, key);
    await probe.close();
    t.is(fetched.none, [401, 'Basic realm="blobkit console", charset="UTF-8"'],
        "with a key set, no credentials: 401 with a Basic challenge");
    t.is(fetched.wrong[0], 401, "a wrong key: 401");
    t.is(fetched.right, [200, null], "the key as the user name, no password: 200");
    t.is(await navStatus(browser, `${keyed}/_blobkit/`), 401, "a page without credentials: 401");
    t.is(await navStatus(browser, `${keyed}/_blobkit/`, { username: `${key}x`, password: "" }),
        401, "a page with a wrong key: 401");
    const page = await browser.open(`${keyed}/_blobkit/?ep=1&path=photos`,
        { auth: { username: key, password: "" } });
    t.is(page.status, 200, "a page with the key: 200");
    await waitFor(page, () => document.querySelectorAll("#entries img").length >= 8);
    const imgs = (await allImages(page)).filter((i) => (i.src || "").includes("/private/tr:w-160,h-160/"));
    t.ok(imgs.length === 8 && imgs.every((i) => i.width === 160 && /[?&]ik-s=[0-9a-f]{40}$/.test(i.src)),
        "the thumbnails of /private (signed URLs only) are signed and decode", imgs);
    t.ok(!(await page.evaluate(() => document.documentElement.outerHTML)).includes(key),
        "the key is nowhere in the page");
    t.is(page.problems(), [], "keyed: no page error, dialog or failed request");
    await page.close();
}

const browser = await launch({ out, pidFile });
try {
    await checkTop(browser);
    await checkPhotos(browser);
    await checkBig(browser);
    await checkFile(browser);
    await checkHostile(browser);
    await checkPhone(browser);
    await checkAuth(browser);
} catch (e) {
    t.ok(false, `the browser test ran to the end: ${e.message}`);
} finally {
    await browser.close();
}
process.exitCode = t.done();
