/* Unit tests for video/vid_chain.c (pure): a video URL's chain, parsed by the image engine's own
 * parser, as transcode parameters, renditions or a thumbnail; the f-auto rule; which image
 * chains let a video frame come shrunk (struct vid_thumb_req's fit_w, fit_h). */
#include "vid_chain.h"

#include "check.h"

#include <errno.h>

static void fit_is(const char *text, int w, int h)
{
    struct tr_chain c;
    struct vid_thumb_req rq = {.so = 1, .fit_w = -1, .fit_h = -1};
    char err[TR_ERR_LEN];
    int rc;

    tr_chain_init(&c);
    rc = tr_parse(&c, text, strlen(text), NULL, err);
    vid_chain_fit(&c, &rq);
    ok(rc == 0 && rq.fit_w == w && rq.fit_h == h && rq.so == 1, "'%s': fit %dx%d (%d %dx%d %s)",
       text, w, h, rc, rq.fit_w, rq.fit_h, rc ? err : "");
}

static int parse(const char *text, struct tr_chain *c)
{
    char err[TR_ERR_LEN];
    int rc;

    tr_chain_init(c);
    rc = tr_parse(c, check_guard(text, strlen(text)), strlen(text), NULL, err);
    if (rc)
        printf("# cannot parse '%s': %s\n", text, err);
    return rc;
}

/* text as transcode parameters on a 640x480 source: "w h ar crop cm fo bg q f vc ac so eo du
 * rt" with %g numbers. */
static void params_are(const char *text, const char *want)
{
    struct tr_chain c;
    struct vid_params p;
    char err[VID_ERR_LEN] = "", got[512];
    int rc = parse(text, &c);

    if (!rc)
        rc = vid_chain_params(&c, 640, 480, &p, err);
    snprintf(got, sizeof(got), "%g %g %g %d %d %d %02x%02x%02x %d %d %d %d %g %g %g %d", p.w, p.h,
             p.ar, p.crop, p.crop_mode, p.focus, p.bg[0], p.bg[1], p.bg[2], p.quality, p.format,
             p.vcodec, p.acodec, p.so, p.eo, p.du, p.rotate);
    if (rc)
        snprintf(got, sizeof(got), "error %s", err);
    ok_str(got, want, "params of '%s'", text);
}

static void params_fail(const char *text, const char *msg)
{
    struct tr_chain c;
    struct vid_params p;
    char err[VID_ERR_LEN] = "";
    int rc = parse(text, &c);

    ok(rc == 0 && vid_chain_params(&c, 640, 480, &p, err) == -EINVAL, "'%s' is refused", text);
    ok_str(err, msg, "  with its message");
}

static void test_params(void)
{
    /*                  w h ar c cm fo bg q f vc ac so eo du rt */
    params_are("", "0 0 0 0 0 0 000000 80 0 0 0 -1 -1 -1 0");
    params_are("w-320", "320 0 0 0 0 0 000000 80 0 0 0 -1 -1 -1 0");
    params_are("w-0.5,h-180,c-at_max", "0.5 180 0 2 0 0 000000 80 0 0 0 -1 -1 -1 0");
    params_are("w-iw_div_2,ar-16-9", "320 0 1.77778 0 0 0 000000 80 0 0 0 -1 -1 -1 0");
    params_are("w-300,h-300,cm-pad_resize,bg-FF8000,fo-top",
               "300 300 0 0 1 1 ff8000 80 0 0 0 -1 -1 -1 0");
    params_are("w-300,h-200,fo-auto", "300 200 0 0 0 0 000000 80 0 0 0 -1 -1 -1 0");
    params_are("w-320:rt-90", "320 0 0 0 0 0 000000 80 0 0 0 -1 -1 -1 90");
    params_are("rt-N90", "0 0 0 0 0 0 000000 80 0 0 0 -1 -1 -1 270");
    params_are("rt-90:rt-180", "0 0 0 0 0 0 000000 80 0 0 0 -1 -1 -1 270");
    params_are("f-webm,q-50", "0 0 0 0 0 0 000000 50 1 0 0 -1 -1 -1 0");
    params_are("f-mp4,vc-av1,ac-opus", "0 0 0 0 0 0 000000 80 0 3 2 -1 -1 -1 0");
    params_are("vc-none", "0 0 0 0 0 0 000000 80 0 4 0 -1 -1 -1 0");
    params_are("so-2,du-3:eo-4", "0 0 0 0 0 0 000000 80 0 0 0 2 4 3 0");
    params_are("so-1:so-2.5", "0 0 0 0 0 0 000000 80 0 0 0 2.5 -1 -1 0");
    params_are("orig-false,w-10", "10 0 0 0 0 0 000000 80 0 0 0 -1 -1 -1 0");
    params_fail("bl-5", "bl: not supported on video");
    params_fail("w-100,e-grayscale", "e-grayscale: not supported on video");
    params_fail("w-100,dpr-2", "dpr: not supported on video");
    params_fail("pg-2", "pg: not supported on video");
    params_fail("sr-240", "sr: renditions are for ik-master.m3u8 and ik-master.mpd");
    params_fail("w-100:h-100", "h: a video is resized once: give w h ar c cm fo bg in one step");
    params_fail("rt-45", "rt: a video turns by 0, 90, 180 or 270 degrees, not 45");
    params_fail("rt-90:w-100", "rt: a video turns after it is resized: give rt- in the step that "
                               "resizes or a later one");
    params_fail("w-auto", "w: w-auto reads a client hint, which is for images");
    params_fail("f-jpg", "f: 'jpeg' is an image format: a video's is mp4, webm or auto (a frame "
                         "of it: ik-thumbnail.jpg)");
    params_fail("f-webm,vc-h264", "vc-h264 cannot go into WebM (f-webm): use vc-vp9 or vc-av1");
    params_fail("vc-none,ac-none", "vc-none with ac-none leaves nothing to encode");
    params_fail("so-5,eo-3", "eo (3.000 s) is not after so (5.000 s)");
    params_fail("w-iw_sub_640", "w: the expression gives no usable value on this 640x480 video");
}

static void test_unknown_size(void)
{
    struct tr_chain c;
    struct vid_params p;
    char err[VID_ERR_LEN];

    ok(parse("w-iw_div_2,h-ih_sub_1000", &c) == 0 && vid_chain_params(&c, 0, 0, &p, err) == 0 &&
           p.w == 0 && p.h == 0,
       "expressions are only checked while the source's size is not known");
}

static void test_abr(void)
{
    struct tr_chain c;
    struct vid_abr abr;
    char err[VID_ERR_LEN];

    ok(parse("sr-1080_240_360", &c) == 0 && vid_chain_abr(&c, VID_ABR_HLS, &abr, err) == 0 &&
           abr.kind == VID_ABR_HLS && abr.n == 3 && abr.heights[0] == 240 && abr.heights[2] == 1080,
       "sr- as HLS renditions, ascending");
    ok(parse("sr-720", &c) == 0 && vid_chain_abr(&c, VID_ABR_DASH, &abr, err) == 0 &&
           abr.kind == VID_ABR_DASH && abr.n == 1,
       "and as DASH");
    ok(parse("", &c) == 0 && vid_chain_abr(&c, VID_ABR_HLS, &abr, err) == -EINVAL, "sr- is needed");
    ok_str(err, "sr: ik-master.m3u8 needs the renditions' heights (sr-240_360_720)",
           "  with its message");
    ok(parse("sr-240,w-100", &c) == 0 && vid_chain_abr(&c, VID_ABR_DASH, &abr, err) == -EINVAL,
       "nothing else with sr-");
    ok_str(err, "w: not allowed with sr- (each rendition has its own size, codec and quality)",
           "  with its message");
}

static void test_thumb(void)
{
    struct tr_chain c, image;
    double so = 0;
    char err[VID_ERR_LEN], canon[TR_CANONICAL_MAX];

    ok(parse("so-5,w-300,du-2,vc-vp9:q-50", &c) == 0 &&
           vid_chain_thumb(&c, &image, &so, err) == 0 && so == 5,
       "a thumbnail's time is so-");
    tr_canonical(&image, canon, sizeof(canon));
    ok_str(canon, "w-300,so-5,q-50", "  its image chain keeps so- and drops du vc ac eo");
    ok(parse("w-300", &c) == 0 && vid_chain_thumb(&c, &image, &so, err) == 0 && so == -1,
       "no so-: the first frame");
    ok(parse("sr-240", &c) == 0 && vid_chain_thumb(&c, &image, &so, err) == -EINVAL,
       "sr- is refused");
    ok(parse("f-mp4", &c) == 0 && vid_chain_thumb(&c, &image, &so, err) == -EINVAL,
       "f-mp4 is refused");
    ok_str(err, "f: a thumbnail is an image (jpg png webp avif), not mp4", "  with its message");
}

static void video_key_is(const char *text, const char *want)
{
    struct tr_chain c;
    const char *got = parse(text, &c) ? "?" : vid_chain_video_key(&c);

    ok_str(got ? got : "(none)", want, "the video key of '%s'", text);
}

static void format_is(const char *text, const char *accept, const char *ua, enum vid_format f)
{
    struct tr_chain c;

    ok(parse(text, &c) == 0 && vid_chain_pick_format(&c, accept, ua) == f,
       "'%s' with Accept '%s', User-Agent '%s': %s", text, accept ? accept : "(none)",
       ua ? ua : "(none)", f == VID_FMT_WEBM ? "WebM" : "MP4");
}

#define CHROME                                                                                     \
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "                      \
    "Chrome/120.0.0.0 Safari/537.36"
#define SAFARI                                                                                     \
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 (KHTML, "                   \
    "like Gecko) Version/17.1 Safari/605.1.15"
#define FIREFOX "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"
#define CRIOS                                                                                      \
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "                 \
    "(KHTML, like Gecko) CriOS/120.0.6099.119 Mobile/15E148 Safari/604.1"

static void test_formats(void)
{
    video_key_is("w-300", "(none)");
    video_key_is("w-300,so-2", "so");
    video_key_is("w-300:vc-vp9", "vc");
    video_key_is("f-mp4", "f-mp4");
    video_key_is("f-webm:w-1", "f-webm");
    video_key_is("f-webm:f-jpg", "(none)");
    format_is("", NULL, NULL, VID_FMT_MP4);
    format_is("", "*/*", CHROME, VID_FMT_WEBM);
    format_is("", "*/*", FIREFOX, VID_FMT_WEBM);
    format_is("", "*/*", SAFARI, VID_FMT_MP4);
    format_is("", "*/*", CRIOS, VID_FMT_MP4);
    format_is("", "video/webm,video/mp4", "curl/7.88.1", VID_FMT_WEBM);
    format_is("", "video/WebM;q=0.5", NULL, VID_FMT_WEBM);
    format_is("", "video/webm;q=0", CHROME, VID_FMT_WEBM);
    format_is("", "video/webm; q=0", NULL, VID_FMT_MP4);
    format_is("", "video/webmx", NULL, VID_FMT_MP4);
    format_is("f-mp4", "video/webm", CHROME, VID_FMT_MP4);
    format_is("f-webm", NULL, SAFARI, VID_FMT_WEBM);
    format_is("vc-h264", NULL, CHROME, VID_FMT_MP4);
    format_is("ac-aac", "video/webm", NULL, VID_FMT_MP4);
    format_is("vc-vp9", NULL, CHROME, VID_FMT_WEBM);
    ok(!vid_chain_format_given(&(struct tr_chain){0}), "no f-: not given");
}

int main(void)
{
    test_params();
    test_unknown_size();
    test_abr();
    test_thumb();
    test_formats();
    fit_is("w-300", 300, 0);
    fit_is("h-200,q-60,f-webp", 0, 200);
    fit_is("w-300,h-300,fo-top", 300, 300);
    fit_is("w-300,h-300,cm-pad_resize,bg-red", 300, 300);
    fit_is("w-300,h-300,c-at_max:rt-90:bl-5", 300, 300);
    fit_is("w-300:w-100", 300, 0);
    fit_is("", 0, 0);
    fit_is("f-png", 0, 0);
    fit_is("w-0.5", 0, 0);                  /* a fraction of the frame */
    fit_is("w-iw_div_2", 0, 0);             /* the frame's own size */
    fit_is("w-300:h-ih_div_2", 0, 0);       /* iw/ih in a later step too */
    fit_is("w-300,ar-4-3", 0, 0);           /* ar derives a side from the frame */
    fit_is("w-300,dpr-2", 0, 0);            /* dpr multiplies */
    fit_is("w-100,h-100,cm-extract", 0, 0); /* a region in the frame's pixels */
    fit_is("w-100,h-100,x-10", 0, 0);
    fit_is("w-300,h-300,fo-auto", 0, 0); /* attention reads the pixels */
    fit_is("t-true,w-300", 0, 0);        /* trim too */
    fit_is("rt-90", 0, 0);               /* no resize */
    fit_is("so-5:w-300", 300, 0);        /* a step the image engine skips */
    fit_is("so-5,w-300,h-100", 300, 100);
    fit_is("w-300,if-iw_gt_1000,bl-5,if-end", 0, 0);      /* a condition on the frame's size */
    fit_is("w-300:if-ih_lt_500,rt-90,if-end", 0, 0);      /* in a later step too */
    fit_is("w-300,l-text,i-Hi,lx-iw_div_10,l-end", 0, 0); /* a layer may read it */
    return check_done();
}
