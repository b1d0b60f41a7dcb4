// The URLs ImageKit's own SDKs build, for tests/test_tr_sdk.c. Never shipped.
//
//   node tests/node/ik-urls.mjs
//
// For every case below, prints one line per URL, tab-separated:
//   CASE  EXPECT  FORM  URL
// FORM is v6-path, v6-query (npm imagekit 6: the query value is URLSearchParams-encoded, so
// ',' is %2C and ':' is %3A), v7-path, v7-query (npm @imagekit/nodejs 7: literal commas).
// EXPECT is the canonical text blobkit's parser must give (tr_canonical), or "!" and a part of
// the error message it must give. A case lists the transformation in the v7 names (`tr`) and,
// where the legacy SDK names a key differently or lacks it, in v6 names (`v6`, or null to skip
// the legacy SDK).
import ImageKit7 from "@imagekit/nodejs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const ImageKit6 = require("imagekit");

const ENDPOINT = "https://ik.example.com/demo";
const PATH = "/photos/a cat.jpg";

const cases = [
    { name: "resize chain", tr: [{ width: 300, height: 300, crop: "at_max" }, { rotation: 90 }, { format: "webp" }],
      expect: "w-300,h-300,c-at_max:rt-90,f-webp" },
    { name: "fraction", tr: [{ width: 0.4 }], expect: "w-0.4" },
    { name: "decimal px", tr: [{ width: 300.5 }], expect: "w-301" },
    { name: "expressions", tr: [{ width: "iw_div_2", height: "ih_mul_0.5_add_N10" }],
      expect: "w-iw_div_2,h-ih_mul_0.5_add_N10" },
    { name: "aspect ratio", tr: [{ aspectRatio: "4-3", width: 400 }], expect: "w-400,ar-4-3" },
    { name: "aspect ratio _", tr: [{ height: 300, aspectRatio: "16_9" }], expect: "h-300,ar-16-9" },
    { name: "aspect ratio number", tr: [{ height: 300, aspectRatio: 1.5 }], expect: "h-300,ar-1.5-1" },
    { name: "aspect ratio expr", tr: [{ width: 300, aspectRatio: "iar_div_2" }],
      expect: "w-300,ar-iar_div_2" },
    { name: "pad resize", tr: [{ width: 300, height: 200, cropMode: "pad_resize", background: "FF0000", focus: "left" }],
      expect: "w-300,h-200,cm-pad_resize,fo-left,bg-FF0000" },
    { name: "extract xy", tr: [{ width: 100, height: 100, cropMode: "extract", x: 10, y: 20 }],
      expect: "w-100,h-100,cm-extract,x-10,y-20" },
    { name: "extract centre", tr: [{ width: 100, height: 100, cropMode: "extract", xCenter: 50, yCenter: 60 }],
      v6: null, expect: "w-100,h-100,cm-extract,xc-50,yc-60" },
    { name: "quality and format", tr: [{ quality: 50, progressive: true, format: "jpg" }],
      expect: "q-50,f-jpeg,pr-true" },
    { name: "output flags", tr: [{ lossless: true, metadata: true, colorProfile: true }],
      expect: "lo-true,md-true,cp-true" },
    { name: "colour name", tr: [{ width: 50, height: 50, cropMode: "pad_resize", background: "red" }],
      expect: "w-50,h-50,cm-pad_resize,bg-FF0000" },
    { name: "colour opacity", tr: [{ background: "FF000050" }], expect: "bg-FF000050" },
    { name: "border", tr: [{ border: "5_FF0000" }], expect: "b-5_FF0000" },
    { name: "border expr", tr: [{ border: "cw_mul_0.05_yellow" }], expect: "b-cw_mul_0.05_FFFF00" },
    { name: "radius", tr: [{ radius: 20 }, { radius: "max" }], expect: "r-20:r-max" },
    { name: "blur", tr: [{ blur: 10 }], expect: "bl-10" },
    { name: "rotation N", tr: [{ rotation: "N40" }], expect: "rt-320" },
    { name: "rotation auto", tr: [{ rotation: "auto", width: 10 }], expect: "w-10" }, // rt-auto changes nothing
    { name: "flip", tr: [{ flip: "h_v" }], v6: null, expect: "fl-h_v" },
    { name: "opacity", tr: [{ opacity: 50 }], v6: null, expect: "o-50" },
    { name: "trim", tr: [{ trim: true }, { trim: 20 }], expect: "t-10:t-20" },
    { name: "dpr", tr: [{ width: 100, dpr: 2 }], expect: "w-100,dpr-2" },
    { name: "dpr auto", tr: [{ width: "auto", dpr: "auto" }], expect: "w-auto,dpr-auto" },
    { name: "effects", tr: [{ grayscale: true, contrastStretch: true }],
      v6: [{ effectGray: "-", effectContrast: "-" }], expect: "e-grayscale,e-contrast" },
    { name: "sharpen", tr: [{ sharpen: true }, { sharpen: 10 }],
      v6: [{ effectSharpen: "-" }, { effectSharpen: 10 }], expect: "e-sharpen:e-sharpen-10" },
    { name: "unsharp mask", tr: [{ unsharpMask: "2-2-0.8-0.024" }],
      v6: [{ effectUSM: "2-2-0.8-0.024" }], expect: "e-usm-2-2-0.8-0.024" },
    { name: "unsharp mask default", tr: [{ unsharpMask: true }], v6: [{ effectUSM: "-" }],
      expect: "e-usm-2-2-0.8-0.024" },
    { name: "default image", tr: [{ width: 100, defaultImage: "/folder/sub/def.jpg" }],
      expect: "w-100:di-folder@@sub@@def.jpg" },
    { name: "named", tr: [{ named: "thumb" }, { rotation: 90 }], expect: "w-200,h-200:rt-90" },
    { name: "original", tr: [{ width: 100 }, { original: true }], expect: "orig-true" },
    { name: "page", tr: [{ page: 2 }], v6: null, expect: "pg-2" },
    { name: "zoom face", tr: [{ width: 200, height: 200, focus: "face", zoom: 1.5 }], v6: null,
      expect: "w-200,h-200,fo-face,z-1.5" },
    { name: "raw", tr: [{ raw: "h-100,w-100" }], expect: "w-100,h-100" },
    { name: "empty step", tr: [{ width: 300 }, {}], expect: "w-300" },
    // Layers: @imagekit/nodejs 7 builds them from overlay objects, the legacy SDK takes them raw.
    { name: "text layer",
      tr: [{ width: 300, overlay: { type: "text", text: "Hello World!", position: { x: 10, y: 20 } } }],
      v6: [{ width: 300, raw: "l-text,i-Hello World,lx-10,ly-20,l-end" }],
      v6expect: "w-300,l-text,i-Hello World,lx-10,ly-20,l-end",
      expect: "w-300,l-text,ie-SGVsbG8gV29ybGQh,lx-10,ly-20,l-end" },
    { name: "text layer style",
      tr: [{ overlay: { type: "text", text: "Sale 50%", position: { focus: "bottom" },
        transformation: [{ fontSize: 40, fontColor: "FFFFFF", background: "FF000080", padding: "10_20",
          typography: "b", innerAlignment: "left", fontFamily: "DejaVuSerif", lineHeight: 50, alpha: 8 }] } }],
      v6: [{ raw: "l-text,i-Sale,fs-40,co-FFFFFF,bg-FF000080,pa-10_20,tg-b,ia-left,ff-DejaVuSerif,lh-50,al-8,lfo-bottom,l-end" }],
      v6expect: "l-text,i-Sale,bg-FF000080,lfo-bottom,al-8,fs-40,ff-DejaVuSerif,co-FFFFFF,tg-b,ia-left,lh-50,pa-10_20,l-end",
      expect: "l-text,ie-U2FsZSA1MCU=,bg-FF000080,lfo-bottom,al-8,fs-40,ff-DejaVuSerif,co-FFFFFF,tg-b,ia-left,lh-50,pa-10_20,l-end" },
    { name: "text layer unicode",
      tr: [{ overlay: { type: "text", text: "été 東京 😀", transformation: [{ fontSize: 30 }] } }],
      v6: null, expect: "l-text,ie-w6l0w6kg5p2x5LqsIPCfmIA=,fs-30,l-end" },
    { name: "image layer",
      tr: [{ width: 300, height: 300 }, { overlay: { type: "image", input: "logo/ik.png", position: { focus: "bottom_right" },
        transformation: [{ width: 50, rotation: 90 }] } }],
      v6: [{ width: 300, height: 300 }, { raw: "l-image,i-logo@@ik.png,lfo-bottom_right,w-50,rt-90,l-end" }],
      expect: "w-300,h-300:l-image,i-logo@@ik.png,w-50,rt-90,lfo-bottom_right,l-end" },
    { name: "image layer N offsets",
      tr: [{ overlay: { type: "image", input: "/logo.png", position: { x: "N10", y: "bh_sub_40" } } }],
      v6: [{ raw: "l-image,i-logo.png,lx-N10,ly-bh_sub_40,l-end" }],
      expect: "l-image,i-logo.png,lx-N10,ly-bh_sub_40,l-end" },
    { name: "image layer base64",
      tr: [{ overlay: { type: "image", input: "logos/ik logo+1.png", encoding: "base64" } }],
      v6: null, expect: "l-image,ie-bG9nb3MvaWsgbG9nbysxLnBuZw==,l-end" },
    { name: "solid colour layer",
      tr: [{ overlay: { type: "solidColor", color: "FF0000", transformation: [{ width: 100, height: 50, radius: 10, alpha: 5 }],
        position: { x: 10, y: 20 } } }],
      v6: [{ raw: "l-image,i-ik_canvas,bg-FF0000,w-100,h-50,r-10,al-5,lx-10,ly-20,l-end" }],
      expect: "l-image,i-ik_canvas,w-100,h-50,bg-FF0000,r-10,lx-10,ly-20,al-5,l-end" },
    { name: "nested layers",
      tr: [{ overlay: { type: "image", input: "card.png", transformation: [{ width: 200,
        overlay: { type: "text", text: "Hi", position: { focus: "top" } } }] } }],
      v6: [{ raw: "l-image,i-card.png,w-200,l-text,i-Hi,lfo-top,l-end,l-end" }],
      expect: "l-image,i-card.png,w-200,l-text,i-Hi,lfo-top,l-end,l-end" },
    { name: "conditional",
      tr: [{ raw: "if-w_gt_400,w-400,if-else,w-200,if-end" }],
      expect: "if-w_gt_400,w-400,if-else,w-200,if-end" },
    { name: "conditional layer",
      tr: [{ raw: "if-ar_lt_4-3,l-image,i-logo.png,lfo-top_left,l-end,if-end" }],
      expect: "if-ar_lt_4-3,l-image,i-logo.png,lfo-top_left,l-end,if-else,if-end" },
    { name: "legacy overlay", tr: [{ raw: "oi-logo.png,ox-10" }],
      expect: "!use l-image,i-PATH,...,l-end or l-text" },
    { name: "video layer", v6: null,
      tr: [{ overlay: { type: "video", input: "clip.mp4" } }], expect: "!l-video: video layers are not supported" },
    { name: "AI", tr: [{ aiRemoveBackground: true }], v6: null,
      expect: "!e-bgremove is an AI transformation, not supported" },
    { name: "AI background", tr: [{ cropMode: "pad_resize", background: "genfill" }],
      expect: "!'genfill' is an AI transformation, not supported" },
    { name: "shadow", tr: [{ shadow: true }], v6: [{ effectShadow: "-" }], expect: "!e-shadow is not supported" },
    { name: "video cut", tr: [{ startOffset: 5, endOffset: 9.5 }], v6: null, expect: "so-5,eo-9.5" },
    { name: "video resize and cut", tr: [{ width: 640, startOffset: 2, duration: 3 }], v6: null,
      expect: "w-640,so-2,du-3" },
    { name: "video codecs", tr: [{ format: "webm", videoCodec: "vp9", audioCodec: "opus" }], v6: null,
      expect: "vc-vp9,ac-opus,f-webm" },
    { name: "video format", tr: [{ format: "mp4" }], expect: "f-mp4" },
    { name: "audio only", tr: [{ videoCodec: "none" }], v6: null, expect: "vc-none" },
    { name: "streaming", tr: [{ streamingResolutions: ["720", "240", "360"] }], v6: null,
      expect: "sr-240_360_720" },
    { name: "bad rendition", tr: [{ streamingResolutions: ["250"] }], v6: null,
      expect: "!is not a rendition height" },
    { name: "svg", tr: [{ format: "svg" }], expect: "!'svg' is not supported: output is raster only" },
    { name: "blurred bg", tr: [{ cropMode: "pad_resize", background: "blurred_25_N15" }],
      expect: "!is a blurred background, not supported yet" },
    { name: "bad quality", tr: [{ quality: 0 }], expect: "!q: 0 is out of range 1-100" },
];

const ik6 = new ImageKit6({ publicKey: "public_test", privateKey: "private_test", urlEndpoint: ENDPOINT });
const ik7 = new ImageKit7({ privateKey: "private_test" });

function emit(c, form, url) {
    if (!url)
        throw new Error(`${c.name}: ${form} built no URL`);
    console.log([c.name, c.expect, form, url].join("\t"));
}

for (const c of cases) {
    const v6 = c.v6 === undefined ? c.tr : c.v6;
    if (v6) {
        const e6 = { ...c, expect: c.v6expect ?? c.expect };
        emit(e6, "v6-path", ik6.url({ path: PATH, transformation: v6 }));
        emit(e6, "v6-query", ik6.url({ path: PATH, transformation: v6, transformationPosition: "query" }));
    }
    for (const position of ["path", "query"])
        emit(c, `v7-${position}`, ik7.helper.buildSrc({
            urlEndpoint: ENDPOINT, src: PATH, transformation: c.tr, transformationPosition: position,
        }));
}
