// The browser harness: pages loaded the way people see them, in headless Chromium (Debian's
// /usr/bin/chromium) driven by puppeteer-core. Test tooling only; it never downloads a browser.
//
//   import { launch, report } from "./harness.mjs";
//   const t = report();
//   const browser = await launch({ out: DIR, pidFile: FILE });   // FILE gets the browser's PID
//   const page = await browser.open(url);       // loads it, recording what goes wrong
//   const imgs = await page.images();           // every <img>, once all have settled
//   const media = await page.media(1);          // every <video>/<audio>, at readyState >= 1
//   await page.statusOf(url);                    // a GET from the page: 200, or the error
//   await page.evaluate(fn, ...args);            // and page.$eval, page.page (puppeteer's Page)
//   t.is(page.problems(), [], "no page error, console error, dialog or failed request");
//   page.problems([/HTTP 400: .*tr:wx-1/]);      // the same, less the failures a test expects
//   await page.screenshot("demo");               // DIR/demo.png
//   await page.close();                          // the tab (the browser stays)
//   await browser.close();                       // also done on exit and on SIGTERM/INT/HUP
//   process.exitCode = t.done();
//
// Results are printed as "ok - ..." / "not ok - ..." lines with "#" diagnostics; the calling
// tests/it_browser_*.sh relays them to TAP. Chromium runs with a fresh profile in a temp
// folder, and with its background connections off: this machine's closed network refuses
// them, and they would only add noise. The browser is a process group leader (puppeteer
// starts it detached), so killing -PID ends its renderers too.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import puppeteer from "puppeteer-core";

const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
// puppeteer adds --headless (new mode) itself, with its own set of --disable-* defaults.
const FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const SETTLE_MS = 20000;

// Kill the browser's process group, then the browser itself; quietly, as it may be gone.
function kill(pid) {
    for (const target of [-pid, pid]) {
        try {
            process.kill(target, "SIGKILL");
        } catch {
            /* already gone */
        }
    }
}

// Start Chromium. opts.out: where screenshots go (made if missing); opts.pidFile: a file that
// gets the browser's PID at once, so a shell trap can kill it even if node itself is killed.
export async function launch(opts = {}) {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "blobkit-chromium-"));
    const out = opts.out || tmp;
    fs.mkdirSync(out, { recursive: true });
    const browser = await puppeteer.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: [...FLAGS, `--user-data-dir=${path.join(tmp, "profile")}`],
        handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false,
        protocolTimeout: 60000,
    });
    const pid = browser.process().pid;
    if (opts.pidFile) fs.writeFileSync(opts.pidFile, `${pid}\n`);
    return wrapBrowser(browser, pid, tmp, out, opts.pidFile);
}

// The browser is killed by PID on every way out of node: a normal exit, an uncaught error, or
// a signal (then node exits with 128 + the signal's number, as a shell would).
function wrapBrowser(browser, pid, tmp, out, pidFile) {
    let closed = false;
    const cleanup = () => {
        if (closed) return;
        closed = true;
        kill(pid);
        try {
            fs.rmSync(tmp, { recursive: true, force: true, maxRetries: 5 });
            if (pidFile) fs.rmSync(pidFile, { force: true });
        } catch (e) {
            console.log(`# cannot remove ${tmp}: ${e.message}`);
        }
    };
    process.on("exit", cleanup);
    for (const [sig, n] of [["SIGTERM", 15], ["SIGINT", 2], ["SIGHUP", 1]])
        process.on(sig, () => { cleanup(); process.exit(128 + n); });
    return {
        browser, out,
        open: (url, o) => openPage(browser, url, out, o),
        async close() {
            await browser.close().catch(() => {});
            cleanup();
        },
    };
}

// Whether URL, resolved against BASE as a browser would, is an http(s) URL.
export function isHttp(url, base) {
    try {
        return /^https?:$/.test(new URL(url, base).protocol);
    } catch {
        return false;
    }
}

// A request counts as failed when it gets no answer, an HTTP status of 400 or more, or a
// Location that resolves to no http(s) URL. Chromium itself aborts a <video>'s range request
// once it has the bytes it wanted (net::ERR_ABORTED on a "media" request): that is no failure.
function watch(page) {
    const problems = [];
    const responses = [];
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    // A dialog (alert, confirm, prompt) is a problem: no page of ours opens one, and a script
    // injected through a name would. Dismissed, so the page goes on.
    page.on("dialog", (d) => {
        problems.push(`dialog: ${d.type()} '${d.message()}'`);
        d.dismiss().catch(() => {});
    });
    page.on("console", (m) => {
        if (m.type() === "error")
            problems.push(`console error: ${m.text()} (${m.location().url || "?"})`);
    });
    page.on("requestfailed", (r) => {
        const err = r.failure()?.errorText || "failed";
        if (r.resourceType() === "media" && err === "net::ERR_ABORTED") return;
        problems.push(`request failed: ${r.url()} (${r.resourceType()}): ${err}`);
    });
    page.on("response", (r) => {
        if (r.url().startsWith("data:")) return;
        const type = r.headers()["content-type"] || "";
        responses.push({ url: r.url(), status: r.status(), type });
        if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
        for (const h of ["location", "content-location"]) {
            const v = r.headers()[h];
            if (v && !isHttp(v, r.url()))
                problems.push(`${h} that is no http URL: '${v}' from ${r.url()}`);
        }
    });
    return { problems, responses };
}

// Open a page and wait for its load event (every <img> and stylesheet settled or failed).
// o.width, o.height, o.dpr: the viewport (1200x900 at 1x: srcset picks its 1x candidate);
// o.auth: { username, password } answers an HTTP Basic challenge.
async function openPage(browser, url, out, o = {}) {
    const page = await browser.newPage();
    await page.setViewport({ width: o.width || 1200, height: o.height || 900,
        deviceScaleFactor: o.dpr || 1 });
    if (o.auth) await page.authenticate(o.auth);
    const seen = watch(page);
    const resp = await page.goto(url, { waitUntil: "load", timeout: SETTLE_MS });
    return {
        page, status: resp?.status(),
        responses: seen.responses,
        problems: (allow = []) => seen.problems.filter((p) => !allow.some((re) => re.test(p))),
        images: () => images(page),
        media: (min) => media(page, min),
        links: () => links(page),
        evaluate: (...args) => page.evaluate(...args),
        $eval: (...args) => page.$eval(...args),
        statusOf: (u) => statusOf(page, u),
        screenshot: (name) =>
            page.screenshot({ path: path.join(out, `${name}.png`), fullPage: true }),
        close: () => page.close(),
    };
}

// Every <img> once none is still loading: its src attribute, the URL the browser resolved
// and chose (currentSrc, after srcset), natural size and data- attributes. An off-screen
// loading="lazy" image never loads: scroll it into view first.
async function images(page) {
    await page.waitForFunction(() => [...document.images].every((i) => i.complete),
        { timeout: SETTLE_MS, polling: 50 });
    return page.$$eval("img", (all) => all.map((i) => ({
        src: i.getAttribute("src"), url: i.currentSrc || i.src, alt: i.alt,
        width: i.naturalWidth, height: i.naturalHeight, data: { ...i.dataset },
    })));
}

// Every <video> and <audio> once each has reached readyState MIN or failed.
async function media(page, min = 1) {
    await page.waitForFunction((min) => [...document.querySelectorAll("video, audio")]
        .every((m) => m.readyState >= min || m.error), { timeout: SETTLE_MS, polling: 50 }, min);
    return page.$$eval("video, audio", (all) => all.map((m) => ({
        url: m.currentSrc, readyState: m.readyState, error: m.error ? m.error.code : null,
        duration: m.duration, width: m.videoWidth, height: m.videoHeight,
    })));
}

// The status of a GET of URL from the page, its body read to the end. Not a HEAD: Chromium
// reports a HEAD fetch to DevTools as aborted (net::ERR_ABORTED) even when it succeeds.
function statusOf(page, url) {
    return page.evaluate((u) => fetch(u).then(async (r) => (await r.arrayBuffer(), r.status),
        (e) => String(e)), url);
}

// Every link's href as the browser resolved it.
function links(page) {
    return page.$$eval("a[href]",
        (all) => all.map((a) => ({ href: a.getAttribute("href"), url: a.href })));
}

// "ok - ..." / "not ok - ..." lines; done() is the exit code (1 after any failure).
export function report() {
    let failed = 0;
    const line = (pass, desc, diag) => {
        if (!pass) failed++;
        console.log(`${pass ? "ok" : "not ok"} - ${desc}`);
        if (pass || diag === undefined) return pass;
        const text = typeof diag === "string" ? diag : JSON.stringify(diag, null, 1);
        for (const d of text.split("\n")) console.log(`#   ${d}`);
        return pass;
    };
    return {
        ok: (cond, desc, diag) => line(Boolean(cond), desc, diag),
        is: (got, want, desc) => line(JSON.stringify(got) === JSON.stringify(want), desc,
            `got:  ${JSON.stringify(got)}\nwant: ${JSON.stringify(want)}`),
        done: () => (failed ? 1 : 0),
    };
}
