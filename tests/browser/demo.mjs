// The demo page (scripts/demo-media/index.html) as a person sees it in Chromium: every image
// decodes at the size its chain asks for (its data-size), the video has its metadata, every
// link answers, nothing fails on the way, and a screenshot is kept.
//
//   DEMO_URL=http://127.0.0.1:PORT node tests/browser/demo.mjs OUT-DIR [PIDFILE]
//
// Run by tests/it_browser_demo.sh under scripts/demo.sh --run.
import { isHttp, launch, report } from "./harness.mjs";

const base = process.env.DEMO_URL;
const [out, pidFile] = process.argv.slice(2);
if (!base || !out) {
    console.error("usage: DEMO_URL=http://HOST:PORT node tests/browser/demo.mjs OUT-DIR [PIDFILE]");
    process.exit(2);
}
const t = report();


// data-size is "WxH", where "*" leaves a side to the source's aspect.
function sizeMatches(img) {
    const m = /^(\*|\d+)x(\*|\d+)$/.exec(img.data.size || "");
    if (!m) return false;
    const fits = (want, got) => want === "*" || Number(want) === got;
    return fits(m[1], img.width) && fits(m[2], img.height);
}

function checkImages(imgs) {
    t.ok(imgs.length >= 10, `the page shows its images (${imgs.length})`);
    for (const img of imgs) {
        const name = img.url.replace(base, "");
        t.ok(isHttp(img.url), `${img.src}: resolves to an http URL`, img.url);
        t.ok(img.width > 0 && img.height > 0, `${name}: decodes`, img);
        t.ok(sizeMatches(img), `${name}: ${img.width}x${img.height}, as asked (${img.data.size})`,
            img);
    }
}

async function checkLinks(page) {
    const links = await page.links();
    t.ok(links.length >= 3, `the page has its links (${links.length})`);
    for (const l of links) {
        const status = isHttp(l.url) ? await page.statusOf(l.url) : l.url;
        t.is(status, 200, `link ${l.href} answers 200`);
    }
}

// What only a browser shows: the format it is sent follows its Accept header, the animated
// GIF still has all its frames when Chromium's own decoder reads it, and the logo's
// transparency survives into the pixels Chromium paints.
async function checkFormats(page) {
    const plain = page.responses.find((r) => r.url.endsWith("/demo/tr:w-400/photos/landscape.jpg"));
    t.ok(plain && /^image\/(webp|avif)$/.test(plain.type),
        "an image without f- comes as WebP or AVIF (Chromium's Accept)", plain);
    const frames = await page.evaluate(async (u) => {
        const d = new ImageDecoder({ data: (await fetch(u)).body, type: "image/gif" });
        await d.completed;
        return d.tracks.selectedTrack.frameCount;
    }, `${base}/demo/tr:w-240/photos/rocket.gif`);
    t.is(frames, 18, "the resized GIF is still animated for Chromium (18 frames)");
    const alpha = await page.$eval("img.checker", (img) => {
        const c = document.createElement("canvas");
        [c.width, c.height] = [img.naturalWidth, img.naturalHeight];
        const g = c.getContext("2d");
        g.drawImage(img, 0, 0);
        const px = g.getImageData(0, 0, c.width, c.height).data;
        let clear = 0, solid = 0;
        for (let i = 3; i < px.length; i += 4) (px[i] === 0 ? clear++ : px[i] === 255 && solid++);
        const some = (count) => count > px.length / 4 / 40;
        return { corner: px[3], clear: some(clear), solid: some(solid) };
    });
    t.is(alpha, { corner: 0, clear: true, solid: true },
        "the logo keeps its transparency in the browser: a clear corner, clear and opaque areas");
}

const browser = await launch({ out, pidFile });
try {
    const page = await browser.open(`${base}/demo/index.html`);
    t.is(page.status, 200, "the page loads");
    checkImages(await page.images());
    const media = await page.media(1);
    t.is(media.length, 1, "the page has its video");
    for (const m of media)
        t.ok(m.readyState >= 1 && m.error === null && m.width === 480,
            `${m.url.replace(base, "")}: metadata loaded (readyState ${m.readyState}), 480 wide`,
            m);
    await checkLinks(page);
    await checkFormats(page);
    t.is(page.problems(), [], "no page error, console error or failed request");
    await page.screenshot("demo");
} catch (e) {
    t.ok(false, `the browser test ran to the end: ${e.message}`);
} finally {
    await browser.close();
}
process.exitCode = t.done();
