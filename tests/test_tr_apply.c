/* Tests for transform/tr_apply.c: the libvips pipeline, on images this program makes with
 * libvips (and a few it damages on purpose). Every expected size is worked out from the source
 * size and the mode's definition; pixels are read back by decoding the output. */
#include "tr.h"
#include "tr_jpeg.h"

#include "check.h"

#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <pthread.h>

#include <vips/vips.h>

/* An encoded source, g_malloc'ed. */
struct src {
    void *data;
    size_t len;
};

/* A decoded result: its pixels and what tr_apply said. */
struct res {
    int rc;
    char err[TR_ERR_LEN];
    struct tr_image img;
    VipsImage *im; /* the output decoded, NULL when rc != 0 */
};

static struct tr_limits limits;
static const struct tr_jpeg_bounds unbounded = {UINT64_MAX, 0, 0, NULL};

/* ---- Making sources --------------------------------------------------------------------- */

/* Stop when making a test image fails: nothing else could be trusted. */
static void check_setup(int rc, const char *what)
{
    if (rc) {
        fprintf(stderr, "test setup failed: %s: %s\n", what, vips_error_buffer());
        exit(2);
    }
}

/* A w x h image of one colour (3 bands, or 4 with alpha a >= 0). */
static VipsImage *solid(int w, int h, int r, int g, int b, int a)
{
    double add[4] = {r, g, b, a}, mul[4] = {1, 1, 1, 1};
    int bands = a >= 0 ? 4 : 3;
    VipsImage *black = NULL, *lin = NULL, *out = NULL;

    check_setup(vips_black(&black, w, h, "bands", bands, NULL), "black");
    check_setup(vips_linear(black, &lin, mul, add, bands, NULL), "linear");
    check_setup(vips_cast_uchar(lin, &out, NULL), "cast");
    g_object_unref(black);
    g_object_unref(lin);
    out->Type = VIPS_INTERPRETATION_sRGB;
    return out;
}

/* Images in an a x b grid (across first), unreffed. */
static VipsImage *grid(VipsImage **im, int n, int across)
{
    VipsImage *out = NULL;

    check_setup(vips_arrayjoin(im, &out, n, "across", across, NULL), "arrayjoin");
    for (int i = 0; i < n; i++)
        g_object_unref(im[i]);
    return out;
}

/* 400x300: red top left, green top right, blue bottom left, white bottom right. */
static VipsImage *quadrants(int w, int h)
{
    VipsImage *q[4] = {solid(w / 2, h / 2, 255, 0, 0, -1), solid(w / 2, h / 2, 0, 255, 0, -1),
                       solid(w / 2, h / 2, 0, 0, 255, -1), solid(w / 2, h / 2, 255, 255, 255, -1)};

    return grid(q, 4, 2);
}

/* Encode and unref im; suffix picks the saver (".png", ".jpg[Q=90]"). */
static struct src save(VipsImage *im, const char *suffix)
{
    struct src s = {NULL, 0};

    check_setup(vips_image_write_to_buffer(im, suffix, &s.data, &s.len, NULL), suffix);
    g_object_unref(im);
    return s;
}

/* Noise (so that JPEG data is long enough to cut) at w x h. */
static VipsImage *noise(int w, int h)
{
    VipsImage *n = NULL, *c = NULL, *rgb = NULL;

    check_setup(vips_gaussnoise(&n, w, h, "sigma", 40.0, NULL), "noise");
    check_setup(vips_cast_uchar(n, &c, NULL), "cast");
    check_setup(vips_bandjoin_const1(c, &rgb, 128, NULL), "bandjoin");
    g_object_unref(n);
    check_setup(vips_bandjoin_const1(rgb, &n, 64, NULL), "bandjoin");
    g_object_unref(c);
    g_object_unref(rgb);
    n->Type = VIPS_INTERPRETATION_sRGB;
    return n;
}

/* An animation of frames 60x40 in red, green and blue, 100 ms each; suffix: ".gif", ".webp". */
static struct src animation(const char *suffix)
{
    VipsImage *f[3] = {solid(60, 40, 255, 0, 0, -1), solid(60, 40, 0, 255, 0, -1),
                       solid(60, 40, 0, 0, 255, -1)};
    VipsImage *strip = grid(f, 3, 1), *copy = NULL;
    int delay[3] = {100, 100, 100};

    check_setup(vips_copy(strip, &copy, NULL), "copy");
    g_object_unref(strip);
    vips_image_set_int(copy, VIPS_META_PAGE_HEIGHT, 40);
    vips_image_set_array_int(copy, "delay", delay, 3);
    vips_image_set_int(copy, "loop", 0);
    return save(copy, suffix);
}

/* A copy of im with metadata field name set to an int. */
static VipsImage *with_int(VipsImage *im, const char *name, int v)
{
    VipsImage *copy = NULL;

    check_setup(vips_copy(im, &copy, NULL), "copy");
    g_object_unref(im);
    vips_image_set_int(copy, name, v);
    return copy;
}

/* A source whose header claims w x h: a tiny JPEG with its SOF dimensions patched. */
static struct src jpeg_bomb(int w, int h)
{
    struct src s = save(solid(16, 16, 9, 9, 9, -1), ".jpg");
    unsigned char *p = s.data;

    for (size_t i = 2; i + 8 < s.len; i++)
        if (p[i] == 0xff && (p[i + 1] == 0xc0 || p[i + 1] == 0xc2)) {
            p[i + 5] = (unsigned char)(h >> 8), p[i + 6] = (unsigned char)h;
            p[i + 7] = (unsigned char)(w >> 8), p[i + 8] = (unsigned char)w;
            break;
        }
    return s;
}

/* The same for a GIF: logical screen and first image descriptor. */
static struct src gif_bomb(int w, int h)
{
    struct src s = save(solid(16, 16, 9, 9, 9, -1), ".gif");
    unsigned char *p = s.data;

    p[6] = (unsigned char)w, p[7] = (unsigned char)(w >> 8);
    p[8] = (unsigned char)h, p[9] = (unsigned char)(h >> 8);
    for (size_t i = 13; i + 9 < s.len; i++)
        if (p[i] == 0x2c && p[i + 1] == 0 && p[i + 2] == 0 && p[i + 3] == 0 && p[i + 4] == 0) {
            p[i + 5] = (unsigned char)w, p[i + 6] = (unsigned char)(w >> 8);
            p[i + 7] = (unsigned char)h, p[i + 8] = (unsigned char)(h >> 8);
            break;
        }
    return s;
}

/* ---- Running ---------------------------------------------------------------------------- */

static void res_free(struct res *r)
{
    if (r->im)
        g_object_unref(r->im);
    tr_image_release(&r->img);
}

/* Client hints: Sec-CH-DPR and Sec-CH-Width (0: absent). */
struct hints {
    double dpr;
    int width;
};

/* Run text on s, as blobhttpd would with f-auto resolved for no Accept header. */
static struct res run_full(const char *text, struct src s, const struct tr_limits *lim,
                           struct hints h)
{
    struct res r = {0};
    struct tr_chain c;
    struct tr_sniff sn;

    tr_chain_init(&c);
    r.rc = tr_parse(&c, text, strlen(text), NULL, r.err);
    if (r.rc) {
        printf("# cannot parse '%s': %s\n", text, r.err);
        return r;
    }
    tr_sniff(s.data, s.len, &sn);
    struct tr_request rq = {.chain = &c,
                            .src = s.data,
                            .len = s.len,
                            .format = tr_pick_format(&c, &sn, NULL, false),
                            .limits = lim,
                            .hint_dpr = h.dpr,
                            .hint_width = h.width};
    r.rc = tr_apply(&rq, &r.img, r.err);
    if (r.rc == 0)
        r.im = vips_image_new_from_buffer(
            r.img.data, r.img.len,
            r.img.format == TR_FMT_GIF || r.img.format == TR_FMT_WEBP ? "[n=-1]" : "", NULL);
    if (r.rc == 0 && !r.im)
        r.rc = -EPROTO;
    if (r.rc)
        printf("# '%s': %d %s\n", text, r.rc, r.err);
    return r;
}

static struct res run_lim(const char *text, struct src s, const struct tr_limits *lim)
{
    return run_full(text, s, lim, (struct hints){0, 0});
}

static struct res run(const char *text, struct src s)
{
    return run_lim(text, s, &limits);
}

/* Whether text on s with client hints h is w x h. */
static void hinted_size_is(const char *text, struct src s, struct hints hi, int w, int h)
{
    struct res r = run_full(text, s, &limits, hi);

    ok(r.rc == 0 && r.img.width == w && r.img.height == h,
       "%s with DPR %g, width %d: %dx%d (got %dx%d)", text, hi.dpr, hi.width, w, h, r.img.width,
       r.img.height);
    res_free(&r);
}

/* Whether the output of text on s is w x h (per frame). */
static void size_is(const char *text, struct src s, int w, int h)
{
    struct res r = run(text, s);

    ok(r.rc == 0 && r.img.width == w && r.img.height == h && r.im->Xsize == w &&
           vips_image_get_page_height(r.im) == h,
       "%s: %dx%d (got %dx%d)", text, w, h, r.img.width, r.img.height);
    res_free(&r);
}

/* Band b of the pixel at (x, y); alpha is band 3 of an RGBA image, grey images repeat. */
static double px(VipsImage *im, int x, int y, int b)
{
    double *v = NULL, out;
    int n = 0;

    if (vips_getpoint(im, &v, &n, x, y, NULL))
        return -1;
    out = b < n ? v[b] : b < 3 ? v[0] : 255;
    g_free(v);
    return out;
}

/* Whether the pixel at (x, y) is within tol of (r, g, b). */
static bool rgb_near(VipsImage *im, int x, int y, int r, int g, int b, double tol)
{
    bool near = fabs(px(im, x, y, 0) - r) <= tol && fabs(px(im, x, y, 1) - g) <= tol &&
                fabs(px(im, x, y, 2) - b) <= tol;

    if (!near)
        printf("#   pixel %d,%d is %.0f,%.0f,%.0f, want %d,%d,%d\n", x, y, px(im, x, y, 0),
               px(im, x, y, 1), px(im, x, y, 2), r, g, b);
    return near;
}

/* The top-left pixel of text on s is near (r, g, b) (lossless output). */
static void corner_is(const char *text, struct src s, int r, int g, int b, const char *what)
{
    struct res o = run(text, s);

    ok(o.rc == 0 && rgb_near(o.im, 2, 2, r, g, b, 2), "%s: %s", text, what);
    res_free(&o);
}

static bool has_bytes(const struct tr_image *img, const void *needle, size_t n)
{
    return img->len >= n && memmem(img->data, img->len, needle, n) != NULL;
}

/* ---- Tests ------------------------------------------------------------------------------ */

/* Every crop mode with w only, h only, both, ar and dpr, on a 400x300 source. */
static void test_sizes(struct src q)
{
    const int W = 400, H = 300;

    size_is("w-200", q, 200, (int)lround(H * 200.0 / W));
    size_is("h-100", q, (int)lround(W * 100.0 / H), 100);
    size_is("w-0.5", q, W / 2, H / 2);
    size_is("w-iw_div_4", q, W / 4, H / 4);
    size_is("w-200,h-200", q, 200, 200);
    size_is("w-200,h-200,c-maintain_ratio", q, 200, 200);
    size_is("w-200,h-200,c-force", q, 200, 200);
    size_is("w-200,h-200,c-at_max", q, 200, (int)lround(H * 200.0 / W));
    size_is("w-800,h-800,c-at_max", q, W, H);
    size_is("w-800,h-800,c-at_max_enlarge", q, 800, (int)lround(H * 800.0 / W));
    size_is("w-200,h-200,c-at_least", q, (int)lround(W * 200.0 / H), 200);
    size_is("w-200,h-200,cm-pad_resize", q, 200, 200);
    size_is("w-200,h-200,cm-extract", q, 200, 200);
    size_is("w-500,h-100,cm-pad_extract", q, 500, 100);
    size_is("w-200,c-force", q, 200, (int)lround(H * 200.0 / W));
    size_is("w-800,c-at_max", q, W, H);
    size_is("h-600,c-at_max_enlarge", q, 800, 600);
    size_is("h-150,c-at_least", q, 200, 150);
    size_is("w-200,cm-pad_resize", q, 200, (int)lround(H * 200.0 / W));
    size_is("w-100,cm-extract", q, 100, H);
    size_is("h-100,cm-pad_extract", q, W, 100);
    size_is("w-200,ar-2-1", q, 200, 100);
    size_is("h-100,ar-1-1,c-at_max", q, 100, (int)lround(H * 100.0 / W));
    size_is("w-200,h-50,ar-1-1", q, 200, 50); /* ar is ignored when both are given */
    size_is("w-100,dpr-2", q, 200, (int)lround(H * 200.0 / W));
    size_is("w-100,h-100,dpr-2,c-force", q, 200, 200);
    size_is("w-100,h-100,dpr-1.5,cm-pad_resize", q, 150, 150);
    size_is("w-3000,dpr-2,f-jpg", q, 3000, (int)lround(H * 3000.0 / W)); /* over 5000: ignored */
    hinted_size_is("w-auto", q, (struct hints){0, 250}, 300, (int)lround(H * 300.0 / W));
    hinted_size_is("w-auto", q, (struct hints){0, 0}, W, H);
    hinted_size_is("w-100,dpr-auto", q, (struct hints){1.5, 0}, 150, (int)lround(H * 150.0 / W));
    hinted_size_is("w-100,dpr-auto", q, (struct hints){0, 0}, 100, (int)lround(H * 100.0 / W));
    size_is("w-200:h-50", q, (int)lround(200 * 50.0 / (H * 200.0 / W)), 50);
    size_is("rt-90", q, H, W);
    size_is("w-200,rt-90", q, (int)lround(H * 200.0 / W), 200);
    size_is("b-10_FF0000", q, W, H);
}

/* rt, fl and EXIF orientation, read from the corner colours (lossless PNG out). */
static void test_orientation(struct src q, struct src exif)
{
    struct res o;

    corner_is("f-png,lo-true", q, 255, 0, 0, "the source's top left is red");
    corner_is("rt-90,f-png,lo-true", q, 0, 0, 255, "rt-90 turns clockwise (blue to top left)");
    corner_is("rt-180,f-png,lo-true", q, 255, 255, 255, "rt-180: white top left");
    corner_is("rt-N90,f-png,lo-true", q, 0, 255, 0, "rt-N90 turns anticlockwise");
    corner_is("fl-h,f-png,lo-true", q, 0, 255, 0, "fl-h mirrors left-right");
    corner_is("fl-v,f-png,lo-true", q, 0, 0, 255, "fl-v mirrors top-bottom");
    corner_is("fl-h_v,f-png,lo-true", q, 255, 255, 255, "fl-h_v does both");
    corner_is("w-200,h-100,rt-90,fl-h,f-png,lo-true", q, 255, 0, 0,
              "resize, then rotate, then flip");
    o = run("", exif);
    ok(o.rc == 0 && o.im->Xsize == 300 && o.im->Ysize == 400 && rgb_near(o.im, 5, 5, 0, 0, 255, 40),
       "EXIF orientation 6 is applied (300x400, blue top left)");
    ok(o.rc == 0 && !vips_image_get_typeof(o.im, VIPS_META_EXIF_NAME),
       "metadata is stripped by default");
    res_free(&o);
    o = run("w-100,h-100,cm-extract,fo-top_left,f-png,lo-true", exif);
    ok(o.rc == 0 && rgb_near(o.im, 50, 50, 0, 0, 255, 40),
       "cm-extract works on the oriented image");
    res_free(&o);
    o = run("rt-45,f-png", q);
    ok(o.rc == 0 && o.im->Xsize > 400 && px(o.im, 0, 0, 3) == 0 &&
           px(o.im, o.im->Xsize / 2, o.im->Ysize / 2, 3) == 255,
       "rt-45 grows the canvas, corners transparent for PNG");
    res_free(&o);
    o = run("rt-45,f-jpg", q);
    ok(o.rc == 0 && rgb_near(o.im, 0, 0, 0, 0, 0, 8), "rt-45 corners are black for JPEG");
    res_free(&o);
    o = run("rt-45,bg-FFFF00,f-jpg", q);
    ok(o.rc == 0 && rgb_near(o.im, 0, 0, 255, 255, 0, 8), "rt-45 corners take bg");
    res_free(&o);
}

/* Crops, pads and focus, read from pixels. */
static void test_crops(struct src q)
{
    corner_is("w-200,h-200,cm-pad_resize,bg-00FF00,f-png,lo-true", q, 0, 255, 0,
              "pad_resize pads with bg (centred: padding on top)");
    corner_is("w-200,h-200,cm-pad_resize,bg-00FF00,fo-top,f-png,lo-true", q, 255, 0, 0,
              "pad_resize fo-top puts the image at the top");
    corner_is("w-200,h-200,cm-pad_resize,f-png,lo-true", q, 0, 0, 0, "the default bg is black");
    corner_is("w-500,h-400,cm-pad_extract,bg-0000FF,f-png,lo-true", q, 0, 0, 255,
              "pad_extract pads with bg");
    corner_is("w-100,h-100,cm-extract,x-250,y-200,f-png,lo-true", q, 255, 255, 255,
              "extract at x, y");
    corner_is("w-50,h-50,cm-extract,xc-100,yc-75,f-png,lo-true", q, 255, 0, 0,
              "extract centred on xc, yc");
    corner_is("w-100,h-100,cm-extract,fo-bottom_right,f-png,lo-true", q, 255, 255, 255,
              "extract at fo-bottom_right");
    corner_is("w-100,h-300,fo-right,f-png,lo-true", q, 0, 255, 0, "maintain_ratio crop at fo");
    corner_is("w-100,h-300,f-png,lo-true", q, 255, 0, 0, "maintain_ratio crops the centre");

    VipsImage *g[2] = {solid(300, 200, 128, 128, 128, -1), solid(100, 200, 128, 128, 128, -1)};
    VipsImage *spot = solid(40, 40, 250, 20, 20, -1), *both = NULL, *scene = grid(g, 2, 2);

    check_setup(vips_insert(scene, spot, &both, 340, 80, NULL), "insert");
    g_object_unref(scene);
    g_object_unref(spot);
    struct src sal = save(both, ".png");
    struct res o = run("w-100,h-200,fo-auto,f-png,lo-true", sal);
    double maxr = 0;

    for (int x = 0; o.rc == 0 && x < o.im->Xsize; x += 4)
        maxr = fmax(maxr, px(o.im, x, 100, 0));
    ok(o.rc == 0 && o.im->Xsize == 100 && maxr > 200, "fo-auto crops around the salient spot");
    res_free(&o);
    g_free(sal.data);
}

/* Effects: grayscale, contrast, blur, sharpen, usm, opacity, border, radius, trim. */
static void test_effects(struct src q, struct src alpha)
{
    struct res o = run("e-grayscale,f-png,lo-true", q);

    ok(o.rc == 0 && px(o.im, 10, 10, 0) == px(o.im, 10, 10, 1) &&
           px(o.im, 10, 10, 1) == px(o.im, 10, 10, 2) && px(o.im, 10, 10, 0) > 20,
       "e-grayscale: R = G = B");
    res_free(&o);
    o = run("bl-10,f-png,lo-true", q);
    ok(o.rc == 0 && px(o.im, 199, 75, 0) > 30 && px(o.im, 199, 75, 1) > 30,
       "bl-10 mixes red and green at their edge");
    res_free(&o);
    o = run("bl-60,f-png,lo-true", q);
    ok(o.rc == 0 && o.im->Xsize == 400 && o.im->Ysize == 300 && px(o.im, 199, 75, 0) > 60 &&
           px(o.im, 199, 75, 1) > 60 && px(o.im, 100, 75, 0) > px(o.im, 100, 75, 1),
       "bl-60 (shrunk, blurred, resized back): same size, wide mixing, colours stay put");
    res_free(&o);
    o = run("o-50,f-png,lo-true", q);
    ok(o.rc == 0 && o.im->Bands == 4 && fabs(px(o.im, 10, 10, 3) - 127.5) <= 1,
       "o-50 halves alpha");
    res_free(&o);
    o = run("o-100,f-png,lo-true", q);
    ok(o.rc == 0 && o.im->Bands == 3, "o-100 changes nothing (no alpha band added)");
    res_free(&o);
    o = run("b-10_FF0000,f-png,lo-true", q);
    ok(o.rc == 0 && rgb_near(o.im, 395, 295, 255, 0, 0, 0) &&
           rgb_near(o.im, 385, 285, 255, 255, 255, 0),
       "b-10 draws a red border inside the edge");
    res_free(&o);
    o = run("e-grayscale,b-4_00FF00,f-png,lo-true", q);
    ok(o.rc == 0 && rgb_near(o.im, 1, 150, 0, 255, 0, 0), "a coloured border on a grey image");
    res_free(&o);
    o = run("r-max,f-png,lo-true", q);
    ok(o.rc == 0 && px(o.im, 0, 0, 3) == 0 && px(o.im, 200, 150, 3) == 255 &&
           px(o.im, 200, 1, 3) > 200,
       "r-max: transparent corners, opaque centre and edge middles");
    res_free(&o);
    o = run("r-40,f-jpg,bg-0000FF", q);
    ok(o.rc == 0 && rgb_near(o.im, 1, 1, 0, 0, 255, 30) && rgb_near(o.im, 60, 60, 255, 0, 0, 30),
       "r-40 on JPEG: corners take bg");
    res_free(&o);
    o = run("r-40,f-png,lo-true", alpha);
    ok(o.rc == 0 && px(o.im, 0, 0, 3) == 0 && px(o.im, 50, 50, 3) == 255 &&
           px(o.im, 150, 50, 3) == 0,
       "r-40 keeps the source's own transparency");
    res_free(&o);
    o = run("w-100,f-jpg", alpha);
    ok(o.rc == 0 && o.im->Bands == 3 && rgb_near(o.im, 90, 10, 0, 0, 0, 12),
       "alpha flattened onto black for JPEG");
    res_free(&o);
    o = run("w-100,bg-FFFFFF,f-png", alpha);
    ok(o.rc == 0 && rgb_near(o.im, 90, 10, 255, 255, 255, 4), "bg fills transparency");
    res_free(&o);
    o = run("w-100", alpha);
    ok(o.rc == 0 && o.img.format == TR_FMT_PNG && o.im->Bands == 4 && px(o.im, 90, 10, 3) == 0,
       "f-auto keeps PNG alpha");
    res_free(&o);
}

static void test_trim_contrast_sharpen(void)
{
    VipsImage *inner = solid(100, 80, 0, 0, 255, -1), *page = solid(200, 160, 255, 255, 255, -1);
    VipsImage *framed = NULL;

    check_setup(vips_insert(page, inner, &framed, 30, 40, NULL), "insert");
    g_object_unref(page);
    g_object_unref(inner);
    struct src t = save(framed, ".png");
    size_is("t-true", t, 100, 80);
    size_is("t-true,w-50", t, 50, 40);
    g_free(t.data);

    VipsImage *lo = solid(100, 50, 100, 100, 100, -1), *hi = solid(100, 50, 150, 150, 150, -1);
    VipsImage *pair[2] = {lo, hi};
    struct src edge = save(grid(pair, 2, 2), ".png");
    struct res o = run("e-contrast,f-png,lo-true", edge);

    ok(o.rc == 0 && px(o.im, 10, 10, 0) < 10 && px(o.im, 190, 10, 0) > 245,
       "e-contrast stretches 100..150 to the full range");
    res_free(&o);
    o = run("e-sharpen-60,f-png,lo-true", edge);
    ok(o.rc == 0 && px(o.im, 100, 25, 0) > 152 && px(o.im, 99, 25, 0) < 98,
       "e-sharpen overshoots at an edge");
    res_free(&o);
    o = run("e-usm-2-2-0.8-0.024,f-png,lo-true", edge);
    ok(o.rc == 0 && px(o.im, 101, 25, 0) > 152 && px(o.im, 98, 25, 0) < 98,
       "e-usm overshoots at an edge");
    res_free(&o);
    o = run("e-usm-2-2-0.8-0.5,f-png,lo-true", edge);
    ok(o.rc == 0 && px(o.im, 101, 25, 0) == 150, "e-usm leaves edges under its threshold alone");
    res_free(&o);
    g_free(edge.data);
}

/* Output formats and their options. */
static void test_formats(struct src q, struct src jpeg)
{
    static const struct {
        const char *text, *magic;
        size_t off;
        enum tr_format f;
    } fmts[] = {{"w-100,f-jpg", "\xff\xd8\xff", 0, TR_FMT_JPEG},
                {"w-100,f-png", "\x89PNG", 0, TR_FMT_PNG},
                {"w-100,f-webp", "WEBP", 8, TR_FMT_WEBP},
                {"w-100,f-avif", "ftypavif", 4, TR_FMT_AVIF}};
    struct res o, p;

    for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
        o = run(fmts[i].text, q);
        ok(o.rc == 0 && o.img.format == fmts[i].f && o.img.len > 20 &&
               memcmp((char *)o.img.data + fmts[i].off, fmts[i].magic, strlen(fmts[i].magic)) ==
                   0 &&
               o.im->Xsize == 100,
           "%s: encoded as %s", fmts[i].text, tr_format_name(fmts[i].f));
        res_free(&o);
    }
    o = run("w-200,f-jpg,pr-true", jpeg);
    p = run("w-200,f-jpg", jpeg);
    ok(o.rc == 0 && has_bytes(&o.img, "\xff\xc2", 2) && p.rc == 0 &&
           !has_bytes(&p.img, "\xff\xc2", 2),
       "pr-true makes a progressive JPEG, only then");
    res_free(&o);
    res_free(&p);
    o = run("w-200,f-webp,lo-true", q);
    p = run("w-200,f-webp", q);
    ok(o.rc == 0 && has_bytes(&o.img, "VP8L", 4) && p.rc == 0 && has_bytes(&p.img, "VP8 ", 4),
       "lo-true makes lossless WebP, lossy otherwise");
    res_free(&o);
    res_free(&p);
    o = run("q-10", jpeg);
    p = run("q-95", jpeg);
    ok(o.rc == 0 && p.rc == 0 && o.img.len * 2 < p.img.len, "q-10 is much smaller than q-95");
    res_free(&o);
    res_free(&p);
}

/* A source in every format we decode; f-orig keeps it. */
static void test_sources(struct src q)
{
    static const char *const suffix[] = {".jpg", ".png", ".webp", ".avif", ".tif", ".gif"};
    static const enum tr_format orig[] = {TR_FMT_JPEG, TR_FMT_PNG, TR_FMT_WEBP,
                                          TR_FMT_AVIF, TR_FMT_PNG, TR_FMT_GIF};

    for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
        VipsImage *im = vips_image_new_from_buffer(q.data, q.len, "", NULL);

        check_setup(im ? 0 : -1, "reload");
        struct src s = save(im, suffix[i]);
        struct res o = run("w-50,f-orig", s);

        ok(o.rc == 0 && o.img.width == 50 && o.img.height == 38 && o.img.format == orig[i],
           "a %s source decodes; f-orig serves it as %s", suffix[i] + 1, tr_format_name(orig[i]));
        res_free(&o);
        g_free(s.data);
    }
}

/* An animated WebP of two 120x80 noise frames whose second frame's VP8 data is damaged: its
 * header reads, the second frame's pixels do not decode. */
static struct src broken_animation(void)
{
    VipsImage *f[2] = {noise(120, 80), noise(120, 80)};
    VipsImage *strip = grid(f, 2, 1), *copy = NULL;
    struct src s;
    unsigned char *p;
    int frame = 0;

    check_setup(vips_copy(strip, &copy, NULL), "copy");
    g_object_unref(strip);
    vips_image_set_int(copy, VIPS_META_PAGE_HEIGHT, 80);
    s = save(copy, ".webp");
    p = s.data;
    for (size_t i = 12; i + 8 <= s.len;
         i += 8 + ((p[i + 4] | p[i + 5] << 8 | p[i + 6] << 16) + 1) / 2 * 2) {
        if (memcmp(p + i, "ANMF", 4) == 0 && ++frame == 2 && i + 52 <= s.len) {
            for (size_t k = i + 42; k < i + 52; k++) /* chunk 8, ANMF 16, "VP8 " 8, VP8 data */
                p[k] ^= 0xff;
        }
    }
    return s;
}

/* Bytes the program holds on the heap: the sanitizer's count in the sanitizer build (its
 * runtime defines the function), glibc's otherwise. */
size_t __sanitizer_get_current_allocated_bytes(void) __attribute__((weak));
static size_t heap_in_use(void)
{
    if (__sanitizer_get_current_allocated_bytes)
        return __sanitizer_get_current_allocated_bytes();
    return mallinfo2().uordblks;
}

/* A source that fails while the WebP saver runs must cost nothing once the call returns:
 * libvips 8.14's saver would keep its encoder and the pipeline (tr_apply renders first). */
static void test_failed_save_frees(void)
{
    struct src bad = broken_animation();
    size_t before = 0;
    bool all_fail = true;

    for (int i = 0; i < 13; i++) {
        struct res o = run("w-100,f-webp", bad);
        all_fail = all_fail && o.rc == -EBADMSG;
        res_free(&o);
        if (i == 2) /* after warming up libvips's per-thread buffers */
            before = heap_in_use();
    }
    ok(all_fail, "a WebP animation whose second frame is damaged is an error");
    ok(heap_in_use() < before + 512 * 1024,
       "ten failed WebP saves hold no memory: %zu bytes more after them",
       heap_in_use() > before ? heap_in_use() - before : 0);
    g_free(bad.data);
}

static void test_animation(struct src gif)
{
    struct res o = run("w-30,f-gif", gif);

    ok(o.rc == 0 && vips_image_get_n_pages(o.im) == 3 && o.img.width == 30 && o.img.height == 20 &&
           o.im->Ysize == 60,
       "an animated GIF stays animated as GIF (3 frames of 30x20)");
    ok(o.rc == 0 && rgb_near(o.im, 15, 30, 0, 255, 0, 8), "frame 2 is green");
    res_free(&o);
    o = run("w-30,h-30,f-webp", gif);
    ok(o.rc == 0 && vips_image_get_n_pages(o.im) == 3 && o.img.height == 30,
       "and as WebP, each frame cropped alike");
    res_free(&o);
    o = run("w-30,f-jpg", gif);
    ok(o.rc == 0 && o.im->Ysize == 20 && rgb_near(o.im, 15, 10, 255, 0, 0, 12),
       "as JPEG it is its first frame");
    res_free(&o);
    o = run("w-30,pg-1,f-gif", gif);
    ok(o.rc == 0 && vips_image_get_n_pages(o.im) == 3,
       "pg-1 changes nothing (tr_canonical drops it): still animated");
    res_free(&o);
    o = run("pg-3,f-png,lo-true", gif);
    ok(o.rc == 0 && o.im->Ysize == 40 && rgb_near(o.im, 5, 5, 0, 0, 255, 0), "pg-3 is frame 3");
    res_free(&o);
    o = run("w-20", gif);
    ok(o.rc == 0 && o.img.format == TR_FMT_GIF && vips_image_get_n_pages(o.im) == 3,
       "f-auto without Accept keeps an animated GIF a GIF");
    res_free(&o);

    struct src webp = animation(".webp");

    o = run("w-30,f-webp", webp);
    ok(o.rc == 0 && vips_image_get_n_pages(o.im) == 3 && o.img.height == 20 &&
           o.img.load_shrink == 2 && rgb_near(o.im, 15, 50, 0, 0, 255, 12),
       "an animated WebP keeps its frames, scaled while decoding (shrink %d)", o.img.load_shrink);
    res_free(&o);
    o = run("w-30", webp);
    ok(o.rc == 0 && o.img.format == TR_FMT_GIF && vips_image_get_n_pages(o.im) == 3,
       "f-auto without Accept makes an animated WebP a GIF, still animated");
    res_free(&o);
    g_free(webp.data);
}

/* Whether im carries the EXIF Artist tag the metadata test writes. */
static bool has_artist(VipsImage *im)
{
    const char *v = NULL;

    return vips_image_get_typeof(im, "exif-ifd0-Artist") &&
           !vips_image_get_string(im, "exif-ifd0-Artist", &v) && strstr(v, "blobkit");
}

/* md- and cp-: metadata and the ICC profile. (libvips writes a minimal EXIF block, resolution
 * only, whenever it does not strip; the source's own tags are what md- is about.) */
static void test_metadata(void)
{
    VipsImage *q = with_int(quadrants(200, 100), VIPS_META_ORIENTATION, 1), *icc = NULL;

    check_setup(vips_icc_transform(q, &icc, "srgb", "input_profile", "srgb", NULL), "icc");
    g_object_unref(q);
    vips_image_set_string(icc, "exif-ifd0-Artist", "blobkit");
    struct src s = save(icc, ".jpg");
    struct res o = run("w-100", s), m = run("w-100,md-true", s), c = run("w-100,cp-true", s);

    ok(o.rc == 0 && !vips_image_get_typeof(o.im, VIPS_META_ICC_NAME) &&
           !vips_image_get_typeof(o.im, VIPS_META_EXIF_NAME),
       "by default neither the profile nor EXIF is kept");
    ok(m.rc == 0 && has_artist(m.im) && !vips_image_get_typeof(m.im, VIPS_META_ICC_NAME),
       "md-true keeps EXIF, not the profile");
    ok(c.rc == 0 && vips_image_get_typeof(c.im, VIPS_META_ICC_NAME) && !has_artist(c.im),
       "cp-true keeps the profile, not EXIF");
    res_free(&o);
    res_free(&m);
    res_free(&c);
    g_free(s.data);
}

/* Limits and bad input: clear errors, never a crash or a huge allocation. */
static void test_limits(struct src q, struct src gif)
{
    struct src bomb = jpeg_bomb(20000, 20000), gbomb = gif_bomb(20000, 20000);
    struct src text = {g_strdup("hello, world\n"), 13}, noisy = save(noise(400, 300), ".jpg");
    struct src cut = {noisy.data, noisy.len / 2}, stub = {noisy.data, 200};
    struct tr_limits small = limits;
    struct res o;

    o = run("w-100", bomb);
    ok(o.rc == -E2BIG && strstr(o.err, "20000x20000"), "a 400 MP JPEG header is refused: %s",
       o.err);
    res_free(&o);
    o = run("w-100", gbomb);
    ok(o.rc == -E2BIG, "a 400 MP GIF header is refused: %s", o.err);
    res_free(&o);
    o = run("w-100", cut);
    ok(o.rc == -EBADMSG, "a truncated JPEG is an error, not grey: %s", o.err);
    res_free(&o);
    o = run("w-100", stub);
    ok(o.rc == -EBADMSG, "a JPEG cut inside its header: %s", o.err);
    res_free(&o);
    o = run("w-100", text);
    ok(o.rc == -EBADMSG, "a text file: %s", o.err);
    res_free(&o);
    small.max_input_bytes = q.len - 1;
    o = run_lim("w-100", q, &small);
    ok(o.rc == -E2BIG, "over max_input_bytes: %s", o.err);
    small = limits;
    small.max_input_pixels = 400 * 300 - 1;
    res_free(&o);
    o = run_lim("w-100", q, &small);
    ok(o.rc == -E2BIG, "over max_input_pixels: %s", o.err);
    res_free(&o);
    small = limits;
    small.max_frames = 2;
    o = run_lim("w-30,f-gif", gif, &small);
    ok(o.rc == -E2BIG, "over max_frames: %s", o.err);
    res_free(&o);
    o = run_lim("w-30,f-png", gif, &small);
    ok(o.rc == 0, "max_frames does not count frames that are not kept");
    res_free(&o);
    small = limits;
    small.max_output_pixels = 100 * 100;
    o = run_lim("w-200", q, &small);
    ok(o.rc == -E2BIG, "over max_output_pixels: %s", o.err);
    res_free(&o);
    o = run("w-20000", q);
    ok(o.rc == -E2BIG, "over max_output_dim: %s", o.err);
    res_free(&o);
    small = limits;
    small.max_output_dim = 399;
    o = run_lim("", q, &small);
    ok(o.rc == -E2BIG, "a chain of no steps on a source over max_output_dim: %s", o.err);
    res_free(&o);
    struct src tall = save(solid(1, 70000, 9, 9, 9, -1), ".png");
    struct src wide = save(solid(70000, 1, 9, 9, 9, -1), ".png");
    o = run("w-16383,h-1,fo-bottom", tall);
    ok(o.rc == -E2BIG, "a cover of a 1x70000 image, 16383 px wide, is refused (no overflow): %s",
       o.err);
    res_free(&o);
    o = run("w-1,h-16383,fo-right", wide);
    ok(o.rc == -E2BIG, "and of a 70000x1 image, 16383 px high: %s", o.err);
    res_free(&o);
    g_free(tall.data);
    g_free(wide.data);
    o = run("rt-45:w-16000", q);
    ok(o.rc == -E2BIG, "an upscale over the limit in a later step: %s", o.err);
    res_free(&o);
    o = run("w-300,h-300,cm-extract,x-200", q);
    ok(o.rc == -EINVAL && strstr(o.err, "cm-extract"), "an extract outside the image: %s", o.err);
    res_free(&o);
    o = run("f-gif", q);
    ok(o.rc == -EINVAL, "f-gif needs a GIF source: %s", o.err);
    res_free(&o);
    o = run("f-mp4", gif);
    ok(o.rc == -EINVAL && strstr(o.err, "f-mp4"), "f-mp4 is the video engine's, not ours: %s",
       o.err);
    res_free(&o);
    o = run("pg-5", gif);
    ok(o.rc == -EINVAL && strstr(o.err, "pg-5"), "pg past the last frame: %s", o.err);
    res_free(&o);
    o = run("w-iw_sub_400", q);
    ok(o.rc == -EINVAL, "an expression that comes to 0 px: %s", o.err);
    res_free(&o);
    g_free(bomb.data);
    g_free(gbomb.data);
    g_free(text.data);
    g_free(noisy.data);
}

/* Shrink-on-load: the decoder does the first reduction. */
static void test_shrink_on_load(void)
{
    struct src big = save(noise(6000, 4000), ".jpg");
    struct src hd = save(noise(1920, 1080), ".jpg");
    struct src rot = save(with_int(noise(4000, 3000), VIPS_META_ORIENTATION, 6), ".jpg");
    struct res o;

    o = run("w-300", big);
    ok(o.rc == 0 && o.img.load_shrink == 8 && o.img.width == 300 && o.img.height == 200,
       "a 24 MP JPEG to w-300 decodes at 1/8 (shrink %d)", o.img.load_shrink);
    res_free(&o);
    o = run("w-300,h-300", hd);
    ok(o.rc == 0 && o.img.load_shrink == 2 && o.img.width == 300,
       "1920x1080 to a 300x300 cover decodes at 1/2 (shrink %d)", o.img.load_shrink);
    res_free(&o);
    o = run("w-2000", big);
    ok(o.rc == 0 && o.img.load_shrink == 2, "w-2000 of 6000 decodes at 1/2 (shrink %d)",
       o.img.load_shrink);
    res_free(&o);
    o = run("h-300", rot);
    ok(o.rc == 0 && o.img.load_shrink == 8 && o.img.width == 225 && o.img.height == 300,
       "an EXIF-rotated 4000x3000 to h-300 is 225x300 (shrink %d)", o.img.load_shrink);
    res_free(&o);
    o = run("e-usm-2-100-1-0.01,q-20", big);
    ok(o.rc == 0 && o.img.width == 6000, "a wide unsharp mask on a streamed 6000x4000: %s", o.err);
    res_free(&o);
    o = run("t-true,w-300", hd);
    ok(o.rc == 0 && o.img.load_shrink == 1, "trim first: no shrink-on-load");
    res_free(&o);
    g_free(big.data);
    g_free(hd.data);
    g_free(rot.data);
}

/* ---- The direct JPEG decoder (tr_jpeg.c) against libvips's loader ------------------------ */

/* The noise of photo(): the same every run. */
#define PHOTO_SEED 7

/* A photo-like w x h source: a red and a green gradient, noise in blue. */
static VipsImage *photo(int w, int h)
{
    double mul[2] = {255.0 / w, 255.0 / h}, add[2] = {0, 0};
    VipsImage *xy = NULL, *grad = NULL, *n = NULL, *nu = NULL, *out = NULL;

    check_setup(vips_xyz(&xy, w, h, NULL), "xyz");
    check_setup(vips_linear(xy, &grad, mul, add, 2, "uchar", TRUE, NULL), "linear");
    check_setup(vips_gaussnoise(&n, w, h, "sigma", 50.0, "seed", PHOTO_SEED, NULL), "noise");
    check_setup(vips_cast_uchar(n, &nu, NULL), "cast");
    check_setup(vips_bandjoin2(grad, nu, &out, NULL), "bandjoin");
    g_object_unref(xy);
    g_object_unref(grad);
    g_object_unref(n);
    g_object_unref(nu);
    out->Type = VIPS_INTERPRETATION_sRGB;
    return out;
}

/* im converted (to "b-w", or through ICC to "p3" or "cmyk", which attaches the profile). */
static VipsImage *converted(VipsImage *im, const char *to)
{
    VipsImage *out = NULL;

    if (strcmp(to, "b-w") == 0)
        check_setup(vips_colourspace(im, &out, VIPS_INTERPRETATION_B_W, NULL), "colourspace");
    else
        check_setup(vips_icc_transform(im, &out, to, "input_profile", "srgb", NULL), to);
    g_object_unref(im);
    return out;
}

/* Largest and mean absolute difference between two decoded results of one size (-1: sizes
 * differ). */
static void pixel_diff(VipsImage *a, VipsImage *b, double *max, double *mean)
{
    VipsImage *d = NULL, *ad = NULL;

    *max = *mean = -1;
    if (a->Xsize != b->Xsize || a->Ysize != b->Ysize || a->Bands != b->Bands)
        return;
    if (!vips_subtract(a, b, &d, NULL) && !vips_abs(d, &ad, NULL))
        vips_max(ad, max, NULL), vips_avg(ad, mean, NULL);
    if (d)
        g_object_unref(d);
    if (ad)
        g_object_unref(ad);
}

static bool same_bytes(const struct res *a, const struct res *b)
{
    return a->img.len == b->img.len && memcmp(a->img.data, b->img.data, a->img.len) == 0;
}

/* text on s through libvips's loader alone (max_direct_pixels 0). */
static struct res run_vips(const char *text, struct src s)
{
    struct tr_limits lim = limits;

    lim.max_direct_pixels = 0;
    return run_lim(text, s, &lim);
}

/* text on s with the direct decoder and without it: the direct decoder ran, at the same
 * shrink, and the results are the same bytes (pixels, metadata and all). */
static void same_as_vips(const char *text, struct src s, const char *what)
{
    struct res d = run(text, s), v = run_vips(text, s);
    double max = -1, mean = -1;

    if (d.rc == 0 && v.rc == 0)
        pixel_diff(d.im, v.im, &max, &mean);
    ok(d.rc == 0 && v.rc == 0 && d.img.load_direct && !v.img.load_direct &&
           d.img.load_shrink == v.img.load_shrink && same_bytes(&d, &v),
       "%s, %s: decoded directly at 1/%d, %zu bytes, the same as libvips's loader (%dx%d, "
       "pixels differ by max %g, mean %g)",
       what, text, d.img.load_shrink, d.img.len, d.img.width, d.img.height, max, mean);
    res_free(&d);
    res_free(&v);
}

/* Every kind of JPEG tr_jpeg.c takes, with chains that shrink on load by 8, 4, 2 and 1. */
static void test_direct_jpeg(void)
{
    static const char *const chains[] = {"w-80", "h-100,f-png", "w-300,h-200,fo-top",
                                         "w-500,h-500,cm-pad_resize,bg-FF0000"};
    const struct {
        const char *what;
        struct src s;
    } src[] = {
        {"4:2:0", save(photo(640, 480), ".jpg")},
        {"4:4:4", save(photo(640, 480), ".jpg[Q=90,subsample_mode=off]")},
        {"greyscale", save(converted(photo(640, 480), "b-w"), ".jpg")},
        {"progressive", save(photo(640, 480), ".jpg[interlace]")},
        {"restart markers", save(photo(640, 480), ".jpg[restart_interval=3]")},
        {"EXIF orientation 6", save(with_int(photo(640, 480), VIPS_META_ORIENTATION, 6), ".jpg")},
        {"EXIF orientation 3", save(with_int(photo(640, 480), VIPS_META_ORIENTATION, 3), ".jpg")},
        {"a Display P3 profile", save(converted(photo(640, 480), "p3"), ".jpg")},
        {"643x481 (shrunk sizes round down)", save(photo(643, 481), ".jpg")},
    };

    for (size_t i = 0; i < sizeof(src) / sizeof(src[0]); i++)
        for (size_t k = 0; k < sizeof(chains) / sizeof(chains[0]); k++)
            same_as_vips(chains[k], src[i].s, src[i].what);
    same_as_vips("w-80,md-true", src[5].s, "EXIF kept");
    same_as_vips("w-80,cp-true", src[7].s, "profile kept");
    same_as_vips("w-80,md-true,cp-true", src[7].s, "everything kept");
    for (size_t i = 0; i < sizeof(src) / sizeof(src[0]); i++)
        g_free(src[i].s.data);
}

/* What the direct decoder leaves to libvips: CMYK, and images that decode too big. */
static void test_direct_limits(void)
{
    struct src cmyk = save(converted(photo(320, 240), "cmyk"), ".jpg");
    struct src j = save(photo(203, 157), ".jpg");
    struct tr_limits lim = limits;
    struct res o = run("w-40", cmyk), v = run_vips("w-40", cmyk);

    ok(o.rc == 0 && !o.img.load_direct && o.img.load_shrink == 8 && o.img.width == 40 &&
           same_bytes(&o, &v),
       "a CMYK JPEG is left to libvips's loader (shrink %d)", o.img.load_shrink);
    res_free(&o);
    res_free(&v);
    lim.max_direct_pixels = 25 * 19; /* 203x157 at 1/8, rounded down as libvips does */
    o = run_lim("w-25", j, &lim);
    ok(o.rc == 0 && o.img.load_shrink == 8 && o.img.load_direct,
       "decoded directly when the decoded size is exactly max_direct_pixels");
    res_free(&o);
    lim.max_direct_pixels--;
    o = run_lim("w-25", j, &lim);
    ok(o.rc == 0 && !o.img.load_direct, "one pixel over: libvips's loader");
    res_free(&o);
    g_free(cmyk.data);
    g_free(j.data);
}

/* One damaged source, w-32 at 1/8 (every row is needed): tr_apply() gives the same result
 * with and without the direct decoder (the same error, or the same bytes, decoded directly),
 * and when the source gets past the header read, tr_jpeg_decode()'s own verdict is libvips's
 * loader's, so tr_apply() never has to hand a file it found damaged to libvips's loader and
 * see it decode. *rc: tr_apply()'s result. */
static bool damage_agrees(struct src s, int *rc)
{
    struct res d = run("w-32", s), v = run_vips("w-32", s);
    struct tr_jpeg_pixels px;
    struct tr_info info;
    char err[TR_ERR_LEN] = "";
    int own = tr_jpeg_decode(s.data, s.len, 8, &unbounded, &px, err);
    bool header = tr_probe(s.data, s.len, &limits, &info, err) == 0;
    bool same = d.rc == v.rc && (d.rc != 0 || (same_bytes(&d, &v) && d.img.load_direct)) &&
                (!header || own == -ENOTSUP || (own == 0) == (v.rc == 0));

    if (!same)
        printf("#   %zu bytes: tr_apply %d (%s), libvips alone %d (%s), tr_jpeg %d (%s)\n", s.len,
               d.rc, d.err, v.rc, v.err, own, err);
    *rc = d.rc;
    tr_jpeg_free(px.data);
    res_free(&d);
    res_free(&v);
    return same;
}

/* Copies of s cut at many lengths (in 40ths, then 1 to 256 bytes from the end) and with
 * bytes overwritten at many places (a cheap xorshift): the direct decoder agrees with
 * libvips's loader on every one (damage_agrees), and a cut in the first 80 % is -EBADMSG,
 * never an image padded grey. (A cut that loses only part of the final EOI marker loses no pixel:
 * whether libjpeg notices depends on how far its bit reader looked ahead; both say the same.) */
static void damage(struct src s, const char *what)
{
    unsigned char *copy = g_malloc(s.len);
    uint32_t x = 88172645u;
    int rc, disagree = 0, cut_ok = 0, decoded = 0;

    for (size_t k = 1; k <= 48; k++) {
        size_t len = k < 40 ? s.len * k / 40 : s.len - ((size_t)1 << (k - 40));

        disagree += !damage_agrees((struct src){s.data, len}, &rc);
        cut_ok += k <= 32 && rc == -EBADMSG;
    }
    for (int i = 0; i < 120; i++) {
        memcpy(copy, s.data, s.len);
        for (int k = 0; k < 1 + i % 3; k++) {
            x ^= x << 13, x ^= x >> 17, x ^= x << 5;
            copy[2 + x % (s.len - 2)] = (unsigned char)(x >> 24);
        }
        disagree += !damage_agrees((struct src){copy, s.len}, &rc);
        decoded += rc == 0;
    }
    ok(disagree == 0 && cut_ok == 32 && decoded > 0,
       "%s: 48 cuts and 120 corrupted copies: the direct decoder and libvips agree on each "
       "(%d do not); the 32 cuts in the first 80 %% are -EBADMSG (%d are); %d corrupted "
       "copies still decode",
       what, disagree, cut_ok, decoded);
    g_free(copy);
}

/* s with its first n restart markers replaced by ones four ahead: a warning each. */
static struct src misplace_restarts(struct src s, int n)
{
    struct src c = {g_memdup2(s.data, s.len), s.len};
    unsigned char *p = c.data;

    for (size_t i = 2; i + 1 < c.len && n > 0; i++)
        if (p[i] == 0xff && p[i + 1] >= 0xd0 && p[i + 1] <= 0xd7) {
            p[i + 1] = (unsigned char)(0xd0 + ((p[i + 1] - 0xd0 + 4) & 7));
            n--;
        }
    return c;
}

/* Cut, corrupted and warned-about JPEGs, on the direct decoder and on libvips's loader. The
 * baseline source is 256x161: at 1/8 libjpeg makes 21 rows, of which libvips keeps 20, and
 * the last MCU row only feeds the 21st (a cut there is an error all the same). */
static void test_direct_damage(void)
{
    struct src base = save(photo(256, 161), ".jpg");
    struct src prog = save(photo(256, 192), ".jpg[interlace]");
    struct src rst = save(photo(256, 256), ".jpg[restart_interval=1]"); /* 255 restart markers */
    struct src cut = {base.data, base.len * 3 / 4};
    struct src w99 = misplace_restarts(rst, 99), w100 = misplace_restarts(rst, 100);
    struct res o = run("w-32", base), v;
    struct tr_jpeg_pixels px;
    char err[TR_ERR_LEN] = "";
    int rc;

    ok(o.rc == 0 && o.img.load_direct && o.img.load_shrink == 8 && o.img.height == 20,
       "the damage tests run on the direct decoder at 1/8 (32x%d)", o.img.height);
    res_free(&o);
    ok(tr_jpeg_decode(cut.data, cut.len, 8, &unbounded, &px, err) == -EBADMSG &&
           strstr(err, "Premature end"),
       "a cut JPEG, decoded directly: %s", err);
    o = run("w-32", cut);
    ok(o.rc == -EBADMSG && damage_agrees(cut, &rc), "and through tr_apply(), as before: %s", o.err);
    res_free(&o);
    o = run("w-256,h-40,cm-extract,fo-top,f-png", cut);
    v = run_vips("w-256,h-40,cm-extract,fo-top,f-png", cut);
    ok(o.rc == 0 && !o.img.load_direct && v.rc == 0 && same_bytes(&o, &v),
       "a crop of the intact top of a cut JPEG is served as before: the direct decoder finds the "
       "file cut and leaves it to libvips's loader, which streams and stops at row 40");
    res_free(&o);
    res_free(&v);
    ok(damage_agrees(w99, &rc) && rc == 0,
       "99 misplaced restart markers (a warning each) decode, as with libvips");
    ok(damage_agrees(w100, &rc) && rc == -EBADMSG,
       "the 100th warning is an error, as with libvips");
    damage(base, "baseline");
    damage(prog, "progressive");
    g_free(base.data);
    g_free(prog.data);
    g_free(rst.data);
    g_free(w99.data);
    g_free(w100.data);
}

static void test_probe(struct src exif, struct src gif)
{
    struct tr_info in;
    char err[TR_ERR_LEN];

    ok(tr_probe(exif.data, exif.len, &limits, &in, err) == 0 && in.sniff.type == TR_SRC_JPEG &&
           in.width == 300 && in.height == 400 && in.orientation == 6,
       "tr_probe: an EXIF-rotated JPEG is 300x400");
    ok(tr_probe(gif.data, gif.len, &limits, &in, err) == 0 && in.frames == 3 && in.width == 60,
       "tr_probe: a GIF has 3 frames");
    ok(tr_probe("hello", 5, &limits, &in, err) == -EBADMSG, "tr_probe: not an image");
}

/* Decoded pixels (a video frame) as the source: packed and padded rows, RGB and RGBA. The
 * left half is red, the right half blue; the padding bytes are green, so reading them would
 * show. */
static void pixels_run(int bands, size_t pad, const char *text, struct res *r)
{
    int w = 64, h = 48;
    size_t stride = (size_t)w * (size_t)bands + pad;
    uint8_t *buf = malloc(stride * (size_t)h);
    struct tr_pixels px = {buf, w, h, bands, stride};
    struct tr_chain c;

    for (int y = 0; y < h; y++) {
        uint8_t *row = buf + (size_t)y * stride;
        for (int x = 0; x < w; x++) {
            uint8_t *p = row + (size_t)x * (size_t)bands;
            p[0] = x < w / 2 ? 255 : 0, p[1] = 0, p[2] = x < w / 2 ? 0 : 255;
            if (bands == 4)
                p[3] = y < h / 2 ? 255 : 0;
        }
        memset(row + (size_t)w * (size_t)bands, 0, pad);
        for (size_t k = 1; k < pad; k += 3)
            row[(size_t)w * (size_t)bands + k] = 255;
    }
    tr_chain_init(&c);
    r->rc = tr_parse(&c, text, strlen(text), NULL, r->err);
    struct tr_request rq = {.chain = &c,
                            .format = bands == 4 ? TR_FMT_PNG : TR_FMT_JPEG,
                            .limits = &limits,
                            .pixels = &px};
    if (!r->rc)
        r->rc = tr_apply(&rq, &r->img, r->err);
    if (!r->rc)
        r->im = vips_image_new_from_buffer(r->img.data, r->img.len, "", NULL);
    free(buf);
}

static void test_pixels(void)
{
    size_t pads[] = {0, 7};

    for (size_t i = 0; i < 2; i++) {
        struct res r = {0};

        pixels_run(3, pads[i], "w-32", &r);
        ok(r.rc == 0 && r.im && r.img.width == 32 && r.img.height == 24 &&
               rgb_near(r.im, 4, 12, 255, 0, 0, 40) && rgb_near(r.im, 28, 12, 0, 0, 255, 40),
           "RGB pixels, row padding %zu: w-32 is 32x24, red left, blue right", pads[i]);
        res_free(&r);
    }
    struct res a = {0};
    pixels_run(4, 5, "w-32", &a);
    ok(a.rc == 0 && a.im && a.im->Bands == 4 && px(a.im, 4, 4, 3) > 250 && px(a.im, 4, 20, 3) < 5,
       "RGBA pixels keep their alpha in PNG");
    res_free(&a);
    struct tr_limits tiny = limits;
    tiny.max_input_pixels = 1000;
    struct res b = {0};
    struct tr_limits saved = limits;
    limits = tiny;
    pixels_run(3, 0, "w-32", &b);
    limits = saved;
    ok(b.rc == -E2BIG, "a decoded frame over max_input_pixels is -E2BIG (%d: %s)", b.rc, b.err);
    res_free(&b);
}

/* A soak test: several threads running tr_apply at once obtain what one thread obtains. */
#define SOAK_KINDS 4 /* sources, each with its chain; the JPEG one is decoded directly */

struct soak {
    struct src src[SOAK_KINDS];
    const char *text[SOAK_KINDS];
    struct tr_image want[SOAK_KINDS];
    int bad;
};

static void *soak_worker(void *arg)
{
    struct soak *s = arg;

    for (int i = 0; i < 30; i++) {
        struct res o = run(s->text[i % SOAK_KINDS], s->src[i % SOAK_KINDS]);

        if (o.rc || o.img.len != s->want[i % SOAK_KINDS].len ||
            memcmp(o.img.data, s->want[i % SOAK_KINDS].data, o.img.len))
            __atomic_add_fetch(&s->bad, 1, __ATOMIC_RELAXED);
        res_free(&o);
    }
    tr_thread_done();
    return NULL;
}

static void test_threads(struct src q, struct src alpha, struct src gif, struct src jpeg)
{
    struct soak s = {.src = {q, alpha, gif, jpeg},
                     .text = {"w-150,h-150,f-webp", "r-max,w-80,f-png", "w-30,f-gif", "w-100"}};
    pthread_t t[4];

    for (int i = 0; i < SOAK_KINDS; i++) {
        struct res o = run(s.text[i], s.src[i]);

        s.want[i] = o.img;
        o.img.data = NULL;
        res_free(&o);
    }
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, soak_worker, &s);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    ok(s.bad == 0 && s.want[3].load_direct,
       "4 threads x 30 requests, JPEG decoded directly among them: every result equals the "
       "single-thread one (%d not)",
       s.bad);
    for (int i = 0; i < SOAK_KINDS; i++)
        tr_image_release(&s.want[i]);
}

int main(int argc, char **argv)
{
    (void)argc;
    limits = TR_LIMITS_DEFAULT;
    if (tr_init(argv[0], 1))
        return 2;
    struct src q = save(quadrants(400, 300), ".png");
    struct src jpeg = save(quadrants(400, 300), ".jpg[Q=95]");
    struct src exif = save(with_int(quadrants(400, 300), VIPS_META_ORIENTATION, 6), ".jpg[Q=95]");
    VipsImage *half[2] = {solid(100, 100, 255, 0, 0, 255), solid(100, 100, 255, 0, 0, 0)};
    struct src alpha = save(grid(half, 2, 2), ".png");
    struct src gif = animation(".gif");

    test_sizes(q);
    test_orientation(q, exif);
    test_crops(q);
    test_effects(q, alpha);
    test_trim_contrast_sharpen();
    test_formats(q, jpeg);
    test_sources(q);
    test_animation(gif);
    test_failed_save_frees();
    test_metadata();
    test_limits(q, gif);
    test_shrink_on_load();
    test_direct_jpeg();
    test_direct_limits();
    test_direct_damage();
    test_probe(exif, gif);
    test_pixels();
    test_threads(q, alpha, gif, jpeg);
    g_free(q.data);
    g_free(jpeg.data);
    g_free(exif.data);
    g_free(alpha.data);
    g_free(gif.data);
    tr_shutdown();
    return check_done();
}
