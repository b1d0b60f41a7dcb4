// The demo page (scripts/demo-media/index.html) as a person sees it in Chromium: every image
// decodes at the size its chain asks for (its data-size; the video's poster from
// ik-thumbnail.jpg too), the original video and the 360p MP4 and WebM have their metadata at
// their sizes, hls.js plays the HLS stream, every link answers, nothing fails on the way, and a
// screenshot is kept. scripts/demo.sh has made the derived videos before the page is opened
// (their jobs done: no 302 or 202 left).
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

// Every <video> (data-video: original, mp4, webm, hls) once each has its metadata: the sizes
// and types the URLs ask for; then hls.js plays the HLS stream.
async function checkVideos(page) {
    await page.media(1);
    const videos = await page.page.$$eval("video", (all) => all.map((v) => ({
        kind: v.dataset.video, url: v.currentSrc, readyState: v.readyState,
        error: v.error ? v.error.code : null, width: v.videoWidth, height: v.videoHeight,
    })));
    t.is(videos.map((v) => v.kind).join(" "), "original mp4 webm hls", "the page has its videos");
    const want = { original: "480x270", mp4: "640x360", webm: "640x360" };
    for (const v of videos.filter((v) => want[v.kind]))
        t.ok(v.readyState >= 1 && v.error === null && `${v.width}x${v.height}` === want[v.kind],
            `${v.kind}: metadata loaded (readyState ${v.readyState}), ${v.width}x${v.height}`, v);
    const typeOf = (re) => page.responses.find((r) => re.test(r.url) && r.status < 300)?.type;
    t.is(typeOf(/tr=h-360,f-mp4$/), "video/mp4", "the MP4 comes as video/mp4 (200 or 206), no redirect");
    t.is(typeOf(/tr=h-360,f-webm$/), "video/webm", "the WebM comes as video/webm (200 or 206), no redirect");
    await checkHls(page);
}

// hls.js (not a player of Chromium's own) loads the master, then plays: readyState
// 2 or more, or the time moving, within a bound of 20 s polled every 100 ms.
async function checkHls(page) {
    const got = await page.evaluate(async () => {
        const v = document.getElementById("hls");
        const player = Boolean(window.demoHls) && v.src.startsWith("blob:"); // MSE, hls.js's
        const t0 = v.currentTime, end = performance.now() + 20000;
        await v.play().catch(() => {});
        while (performance.now() < end && !(v.readyState >= 2 && v.currentTime > t0))
            await new Promise((r) => setTimeout(r, 100));
        return { player, readyState: v.readyState, moved: v.currentTime > t0, width: v.videoWidth };
    });
    t.ok(got.player, "hls.js is the HLS player (through Media Source Extensions)", got);
    t.ok(got.readyState >= 2 || got.moved,
        `hls.js plays the stream (readyState ${got.readyState}, time moved: ${got.moved})`, got);
    const master = page.responses.find((r) => r.url.includes("/ik-master.m3u8?tr=sr-240_360"));
    t.is(master && `${master.status} ${master.type}`, "200 application/vnd.apple.mpegurl",
        "the master answers 200 with its type");
    const segments = page.responses.filter((r) => /\/ik-hls\/sr-240_360\/ik-\w+-\d+\.ts$/.test(r.url));
    t.ok(segments.length >= 1 && segments.every((r) => r.status === 200 && r.type === "video/mp2t"),
        `segments fetched under the package's URLs (${segments.length})`, segments.slice(0, 3));
}

const browser = await launch({ out, pidFile });
try {
    const page = await browser.open(`${base}/demo/index.html`);
    t.is(page.status, 200, "the page loads");
    checkImages(await page.images());
    await checkVideos(page);
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
