/* Unit tests for video/vid_geom.c and video/vid_params.c (pure): each c-/cm-/fo- mode, w/h/ar,
 * fractions, rt, even sizes, limits, renditions; the parameter checks and MIME types. */
#include "vid_geom.h"

#include "check.h"

#include <errno.h>

static struct vid_limits lim;

/* What a plan should be: scale, crop (x y w h), pad (x y w h), output. */
struct want {
    int sw, sh, cx, cy, cw, ch, px, py, pw, ph, ow, oh;
};

static struct vid_params params(double w, double h)
{
    struct vid_params p;

    vid_params_init(&p);
    p.w = w;
    p.h = h;
    return p;
}

static void plan_is(const char *what, const struct vid_params *p, int src_w, int src_h,
                    struct want w)
{
    struct vid_geom g;
    char err[VID_ERR_LEN] = "";
    int rc = vid_geom_plan(p, src_w, src_h, &lim, &g, err);

    if (!ok(rc == 0 && g.scale_w == w.sw && g.scale_h == w.sh && g.crop_x == w.cx &&
                g.crop_y == w.cy && g.crop_w == w.cw && g.crop_h == w.ch && g.pad_x == w.px &&
                g.pad_y == w.py && g.pad_w == w.pw && g.pad_h == w.ph && g.out_w == w.ow &&
                g.out_h == w.oh,
            "%s", what))
        printf("#   rc %d (%s): scale %dx%d crop %d,%d %dx%d pad %d,%d %dx%d out %dx%d\n", rc, err,
               g.scale_w, g.scale_h, g.crop_x, g.crop_y, g.crop_w, g.crop_h, g.pad_x, g.pad_y,
               g.pad_w, g.pad_h, g.out_w, g.out_h);
}

static void fails_with(const char *what, const struct vid_params *p, int src_w, int src_h,
                       const struct vid_limits *l, int want_rc, const char *needle)
{
    struct vid_geom g;
    char err[VID_ERR_LEN] = "";
    int rc = vid_geom_plan(p, src_w, src_h, l, &g, err);

    ok(rc == want_rc && strstr(err, needle), "%s: %d '%s'", what, rc, err);
}

static void test_sizes(void)
{
    struct vid_params p = params(0, 0);

    plan_is("nothing given: as it is", &p, 320, 240,
            (struct want){320, 240, 0, 0, 320, 240, 0, 0, 320, 240, 320, 240});
    p = params(160, 0);
    plan_is("w-160: height follows", &p, 320, 240,
            (struct want){160, 120, 0, 0, 160, 120, 0, 0, 160, 120, 160, 120});
    p = params(0, 120);
    plan_is("h-120: width follows", &p, 320, 240,
            (struct want){160, 120, 0, 0, 160, 120, 0, 0, 160, 120, 160, 120});
    p = params(0.5, 0);
    plan_is("w-0.5: half the source", &p, 320, 240,
            (struct want){160, 120, 0, 0, 160, 120, 0, 0, 160, 120, 160, 120});
    p = params(161, 0);
    plan_is("w-161: even, 160", &p, 320, 240,
            (struct want){160, 120, 0, 0, 160, 120, 0, 0, 160, 120, 160, 120});
    p = params(0, 0);
    plan_is("an odd source loses a line by cropping, not by resampling", &p, 101, 99,
            (struct want){101, 99, 0, 0, 100, 98, 0, 0, 100, 98, 100, 98});
    p = params(320, 0);
    p.ar = 16.0 / 9;
    plan_is("w-320,ar-16-9: 320x180 out of the middle", &p, 320, 240,
            (struct want){320, 240, 0, 30, 320, 180, 0, 0, 320, 180, 320, 180});
    p = params(0, 0);
    p.ar = 2;
    plan_is("ar alone changes nothing", &p, 320, 240,
            (struct want){320, 240, 0, 0, 320, 240, 0, 0, 320, 240, 320, 240});
}

static void test_crops(void)
{
    struct vid_params p = params(200, 200);

    plan_is("c-maintain_ratio: cover, then the middle", &p, 320, 240,
            (struct want){266, 200, 32, 0, 200, 200, 0, 0, 200, 200, 200, 200});
    p.focus = VID_FO_LEFT;
    plan_is("fo-left keeps the left", &p, 320, 240,
            (struct want){266, 200, 0, 0, 200, 200, 0, 0, 200, 200, 200, 200});
    p.focus = VID_FO_RIGHT;
    plan_is("fo-right keeps the right", &p, 320, 240,
            (struct want){266, 200, 66, 0, 200, 200, 0, 0, 200, 200, 200, 200});
    p = params(200, 200);
    p.crop = VID_CROP_FORCE;
    plan_is("c-force squeezes", &p, 320, 240,
            (struct want){200, 200, 0, 0, 200, 200, 0, 0, 200, 200, 200, 200});
    p.crop = VID_CROP_AT_MAX;
    plan_is("c-at_max fits inside", &p, 320, 240,
            (struct want){200, 150, 0, 0, 200, 150, 0, 0, 200, 150, 200, 150});
    p = params(640, 640);
    p.crop = VID_CROP_AT_MAX;
    plan_is("c-at_max never enlarges", &p, 320, 240,
            (struct want){320, 240, 0, 0, 320, 240, 0, 0, 320, 240, 320, 240});
    p.crop = VID_CROP_AT_MAX_ENLARGE;
    plan_is("c-at_max_enlarge does", &p, 320, 240,
            (struct want){640, 480, 0, 0, 640, 480, 0, 0, 640, 480, 640, 480});
    p = params(200, 200);
    p.crop = VID_CROP_AT_LEAST;
    plan_is("c-at_least covers, no crop", &p, 320, 240,
            (struct want){266, 200, 0, 0, 266, 200, 0, 0, 266, 200, 266, 200});
}

static void test_modes(void)
{
    struct vid_params p = params(200, 200);

    p.crop_mode = VID_CM_PAD_RESIZE;
    plan_is("cm-pad_resize: fit, pad the middle", &p, 320, 240,
            (struct want){200, 150, 0, 0, 200, 150, 0, 24, 200, 200, 200, 200});
    p.focus = VID_FO_TOP;
    plan_is("cm-pad_resize,fo-top: all padding below", &p, 320, 240,
            (struct want){200, 150, 0, 0, 200, 150, 0, 0, 200, 200, 200, 200});
    p.focus = VID_FO_BOTTOM;
    plan_is("cm-pad_resize,fo-bottom: all padding above", &p, 320, 240,
            (struct want){200, 150, 0, 0, 200, 150, 0, 50, 200, 200, 200, 200});
    p = params(100, 100);
    p.crop_mode = VID_CM_EXTRACT;
    plan_is("cm-extract: the middle, no resize", &p, 320, 240,
            (struct want){320, 240, 110, 70, 100, 100, 0, 0, 100, 100, 100, 100});
    p.focus = VID_FO_BOTTOM_RIGHT;
    plan_is("cm-extract,fo-bottom_right", &p, 320, 240,
            (struct want){320, 240, 220, 140, 100, 100, 0, 0, 100, 100, 100, 100});
    p = params(400, 300);
    p.crop_mode = VID_CM_PAD_EXTRACT;
    plan_is("cm-pad_extract: a larger canvas", &p, 320, 240,
            (struct want){320, 240, 0, 0, 320, 240, 40, 30, 400, 300, 400, 300});
    p = params(200, 300);
    p.crop_mode = VID_CM_PAD_EXTRACT;
    plan_is("cm-pad_extract: narrower canvas crops, taller pads", &p, 320, 240,
            (struct want){320, 240, 60, 0, 200, 240, 0, 30, 200, 300, 200, 300});
    p = params(160, 0);
    p.rotate = 90;
    plan_is("rt-90 turns the output", &p, 320, 240,
            (struct want){160, 120, 0, 0, 160, 120, 0, 0, 160, 120, 120, 160});
}

static void test_limits(void)
{
    struct vid_params p = params(400, 0);
    struct vid_limits small = lim;

    p.crop_mode = VID_CM_EXTRACT;
    fails_with("cm-extract larger than the frame", &p, 320, 240, &lim, -EINVAL, "does not fit");
    p = params(5000, 0);
    fails_with("w over the output limit", &p, 320, 240, &lim, -E2BIG, "limit");
    p = params(3000, 3000);
    p.crop = VID_CROP_AT_MAX_ENLARGE;
    fails_with("a frame over the output pixels", &p, 3000, 3000, &lim, -E2BIG, "pixels");
    small.max_output_dim = 1000;
    p = params(900, 900);
    fails_with("covering scales past the side limit", &p, 3200, 900, &small, -E2BIG, "limit");
    p = params(0, 0);
    fails_with("a source with no size", &p, 0, 0, &lim, -EBADMSG, "no size");
}

static void test_renditions(void)
{
    struct vid_geom g;

    vid_geom_rendition(1920, 1080, 360, &g);
    ok(g.scale_w == 640 && g.scale_h == 360 && g.out_w == 640 && g.out_h == 360,
       "1080p to 360p: 640x360 (%dx%d)", g.out_w, g.out_h);
    vid_geom_rendition(320, 240, 240, &g);
    ok(g.out_w == 320 && g.out_h == 240 && !vid_geom_scales(&g), "240p of 240p: as it is");
    vid_geom_rendition(1080, 1920, 480, &g);
    ok(g.out_w == 270 && g.out_h == 480, "a portrait source: 270x480 (%dx%d)", g.out_w, g.out_h);
}

static void check_is(const char *what, const struct vid_params *p, int want)
{
    char err[VID_ERR_LEN] = "";
    int rc = vid_params_check(p, err);

    ok(rc == want && (want == 0 || err[0]), "%s: %d '%s'", what, rc, err);
}

static void test_params(void)
{
    struct vid_params p = params(0, 0);

    check_is("defaults are valid", &p, 0);
    p.format = VID_FMT_WEBM;
    p.vcodec = VID_VC_H264;
    check_is("vc-h264 in WebM", &p, -EINVAL);
    p.vcodec = VID_VC_AV1;
    p.acodec = VID_AC_AAC;
    check_is("ac-aac in WebM", &p, -EINVAL);
    p.acodec = VID_AC_OPUS;
    check_is("AV1 and Opus in WebM", &p, 0);
    p = params(0, 0);
    p.vcodec = VID_VC_NONE;
    p.acodec = VID_AC_NONE;
    check_is("vc-none with ac-none", &p, -EINVAL);
    p = params(0, 0);
    p.quality = 101;
    check_is("q-101", &p, -EINVAL);
    p.quality = 0;
    p.rotate = 45;
    check_is("rt-45", &p, -EINVAL);
    p.rotate = 270;
    p.so = 3;
    p.eo = 2;
    check_is("eo before so", &p, -EINVAL);
    p.eo = -1;
    p.du = 0;
    check_is("du-0", &p, -EINVAL);
    p.du = 1.5;
    check_is("so-3,du-1.5,rt-270", &p, 0);
    p.w = -1;
    check_is("a negative width", &p, -EINVAL);
    p = params(0, 0);
    ok_str(vid_params_mime(&p), "video/mp4", "MIME of the default");
    p.format = VID_FMT_WEBM;
    p.vcodec = VID_VC_NONE;
    ok_str(vid_params_mime(&p), "audio/webm", "MIME of WebM audio only");
}

int main(void)
{
    lim = VID_LIMITS_DEFAULT;
    test_sizes();
    test_crops();
    test_modes();
    test_limits();
    test_renditions();
    test_params();
    return check_done();
}
