/* Tests for layers and conditionals on pixels (transform/tr_layer.c, tr_step.c): where a layer
 * lands (lx ly, N offsets, lxc lyc, lfo), its own steps and default trim, canvases, nesting,
 * text (the box grows with fs, the glyph's colour, bg in the padding, Unicode), conditionals
 * (both branches), decoded sources (tr_source_new). Images are made here with libvips; every
 * result is decoded and read back pixel by pixel. */
#include "tr.h"

#include "check.h"

#include <errno.h>
#include <math.h>

#include <vips/vips.h>

static struct tr_limits limits;
static const char *font_file; /* every text layer's ff-PATH file, when set */

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

/* in on a border of b px of colour (r, g, b), unreffed. */
static VipsImage *framed(VipsImage *in, int b, int r, int g, int bl)
{
    double bg[3] = {r, g, bl};
    VipsArrayDouble *a = vips_array_double_new(bg, 3);
    VipsImage *out = NULL;

    check_setup(vips_embed(in, &out, b, b, in->Xsize + 2 * b, in->Ysize + 2 * b, "extend",
                           VIPS_EXTEND_BACKGROUND, "background", a, NULL),
                "embed");
    vips_area_unref(VIPS_AREA(a));
    g_object_unref(in);
    return out;
}

struct src {
    void *data;
    size_t len;
};

/* Encode and unref im as PNG. */
static struct src png(VipsImage *im)
{
    struct src s = {NULL, 0};

    check_setup(vips_image_write_to_buffer(im, ".png", &s.data, &s.len, NULL), "png");
    g_object_unref(im);
    return s;
}

static struct tr_source *source(struct src s)
{
    struct tr_source *out = NULL;
    char err[TR_ERR_LEN];

    check_setup(tr_source_new(s.data, s.len, &limits, &out, err), err);
    g_free(s.data);
    return out;
}

/* Result of one run: rc, message, the output decoded. */
struct res {
    int rc;
    char err[TR_ERR_LEN];
    struct tr_image img;
    VipsImage *im;
};

static void res_free(struct res *r)
{
    if (r->im)
        g_object_unref(r->im);
    tr_image_release(&r->img);
}

/* Run text on base as PNG, every image layer's source being src (NULL: none given). */
static struct res run(const char *text, struct src base, struct tr_source *src)
{
    const struct tr_source *layers[TR_MAX_LAYERS] = {src, src, src, src, src, src, src, src};
    const char *fonts[TR_MAX_LAYERS] = {font_file, font_file, font_file, font_file,
                                        font_file, font_file, font_file, font_file};
    struct res r = {0};
    struct tr_chain c;

    tr_chain_init(&c);
    r.rc = tr_parse(&c, text, strlen(text), NULL, r.err);
    if (r.rc) {
        printf("# cannot parse '%s': %s\n", text, r.err);
        return r;
    }
    struct tr_request rq = {.chain = &c,
                            .src = base.data,
                            .len = base.len,
                            .format = TR_FMT_PNG,
                            .limits = &limits,
                            .layer_src = layers,
                            .layer_font = fonts};
    r.rc = tr_apply(&rq, &r.img, r.err);
    if (r.rc == 0 && !(r.im = vips_image_new_from_buffer(r.img.data, r.img.len, "", NULL)))
        r.rc = -EPROTO;
    if (r.rc)
        printf("# '%s': %d %s\n", text, r.rc, r.err);
    return r;
}

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

static bool rgb_near(VipsImage *im, int x, int y, int r, int g, int b, double tol)
{
    bool near = fabs(px(im, x, y, 0) - r) <= tol && fabs(px(im, x, y, 1) - g) <= tol &&
                fabs(px(im, x, y, 2) - b) <= tol;

    if (!near)
        printf("#   pixel %d,%d is %.0f,%.0f,%.0f, want %d,%d,%d\n", x, y, px(im, x, y, 0),
               px(im, x, y, 1), px(im, x, y, 2), r, g, b);
    return near;
}

/* Pixels of text's result, each exactly (r, g, b) or not: {x, y, is}. */
struct probe {
    int x, y;
    bool red; /* the layer's red (true) or the base's blue */
};

#define BASE_R 40
#define BASE_G 80
#define BASE_B 200

static void probes(const char *text, struct src base, struct tr_source *src, const struct probe *p,
                   size_t n, const char *what)
{
    struct res r = run(text, base, src);
    bool good = r.rc == 0;

    for (size_t i = 0; i < n && good; i++)
        good = p[i].red ? rgb_near(r.im, p[i].x, p[i].y, 255, 0, 0, 0)
                        : rgb_near(r.im, p[i].x, p[i].y, BASE_R, BASE_G, BASE_B, 0);
    ok(good, "%s: %s", text, what);
    res_free(&r);
}

#define PROBES(text, base, src, what, ...)                                                         \
    do {                                                                                           \
        static const struct probe p_[] = {__VA_ARGS__};                                            \
        probes(text, base, src, p_, sizeof(p_) / sizeof(p_[0]), what);                             \
    } while (0)

/* ---- Placement ------------------------------------------------------------------------------ */

/* A 30x20 red logo on a 300x200 blue base. */
static void test_placement(struct src base, struct tr_source *logo)
{
    PROBES("l-image,i-logo.png,lx-10,ly-20,l-end", base, logo, "the layer's corners at 10,20",
           {10, 20, true}, {39, 39, true}, {9, 20, false}, {10, 19, false}, {40, 39, false},
           {39, 40, false});
    PROBES("l-image,i-logo.png,lfo-bottom_right,l-end", base, logo, "at the bottom right corner",
           {299, 199, true}, {270, 180, true}, {269, 199, false}, {299, 179, false});
    PROBES("l-image,i-logo.png,lfo-top_left,l-end", base, logo, "at the top left corner",
           {0, 0, true}, {29, 19, true}, {30, 0, false}, {0, 20, false});
    PROBES("l-image,i-logo.png,l-end", base, logo, "centred by default", {135, 90, true},
           {164, 109, true}, {134, 90, false}, {165, 109, false});
    PROBES("l-image,i-logo.png,lx-N10,ly-N20,l-end", base, logo,
           "N offsets: right edge 10 px, bottom edge 20 px from the base's", {289, 179, true},
           {260, 160, true}, {290, 179, false}, {289, 180, false}, {259, 160, false});
    PROBES("l-image,i-logo.png,lxc-100,lyc-50,l-end", base, logo, "centred on 100,50",
           {85, 40, true}, {114, 59, true}, {84, 40, false}, {115, 59, false});
    PROBES("l-image,i-logo.png,lx-bw_sub_30,ly-bh_div_2,l-end", base, logo,
           "expressions on the base (bw bh)", {270, 100, true}, {299, 119, true},
           {269, 100, false});
    PROBES("l-image,i-logo.png,lx-285,ly-190,l-end", base, logo, "cut off at the base's edge",
           {299, 199, true}, {285, 190, true}, {284, 190, false});
    PROBES("l-image,i-logo.png,lx-400,ly-0,l-end", base, logo, "off the base: nothing drawn",
           {299, 0, false}, {0, 0, false});
    PROBES("w-150,l-image,i-logo.png,lfo-bottom_right,l-end", base, logo,
           "after the step's geometry: on the 150x100 image", {149, 99, true}, {120, 80, true},
           {119, 99, false});
    PROBES("l-image,i-logo.png,lx-0,ly-0,l-end,rt-180", base, logo, "before the step's rotation",
           {299, 199, true}, {270, 180, true}, {0, 0, false});
}

/* ---- What a layer holds --------------------------------------------------------------------- */

static void test_layer_steps(struct src base, struct tr_source *logo, struct tr_source *bordered)
{
    PROBES("l-image,i-logo.png,w-60,lx-0,ly-0,l-end", base, logo, "its own w: 60x40",
           {59, 39, true}, {60, 39, false}, {59, 40, false});
    PROBES("l-image,i-logo.png,w-bw_div_5,lx-0,ly-0,l-end", base, logo, "w-bw_div_5: 60x40",
           {59, 39, true}, {60, 39, false});
    PROBES("l-image,i-logo.png,rt-90,lx-0,ly-0,l-end", base, logo, "rt-90: 20x30", {19, 29, true},
           {20, 29, false}, {19, 30, false});
    PROBES("l-image,i-logo.png,w-60,lx-0,ly-0:rt-90,l-end", base, logo,
           "two steps inside: 60x40 turned, 40x60", {39, 59, true}, {40, 59, false});
    PROBES("l-image,i-logo.png,lx-0,ly-0,l-end", base, bordered,
           "trimmed by default: the white border is gone", {0, 0, true}, {29, 19, true},
           {30, 20, false});
    struct res r = run("l-image,i-logo.png,t-false,lx-0,ly-0,l-end", base, bordered);
    ok(r.rc == 0 && rgb_near(r.im, 0, 0, 255, 255, 255, 0) && rgb_near(r.im, 5, 5, 255, 0, 0, 0),
       "t-false keeps the border");
    res_free(&r);
    PROBES("l-image,i-ik_canvas,bg-FF0000,w-50,h-40,lx-5,ly-6,l-end", base, NULL,
           "i-ik_canvas: a 50x40 block", {5, 6, true}, {54, 45, true}, {4, 6, false},
           {55, 46, false});
    PROBES("l-image,i-ik_canvas,bg-FF0000,w-0.5,h-20,lfo-top_left,l-end", base, NULL,
           "a canvas w-0.5 is half the base", {149, 19, true}, {150, 19, false});
    PROBES("l-image,i-ik_canvas,bg-0000FF,w-100,h-100,lx-0,ly-0,l-image,i-logo.png,lx-10,ly-10,"
           "l-end,l-end",
           base, logo, "a nested layer lands on its parent", {10, 10, true}, {39, 29, true},
           {100, 100, false});
    PROBES("l-image,i-logo.png,lx-0,ly-0,l-end,l-image,i-ik_canvas,bg-28"
           "50C8,w-10,h-10,lx-0,ly-0,l-end",
           base, logo, "layers are drawn in order", {0, 0, false}, {10, 10, true});
    r = run("l-image,i-ik_canvas,bg-FF0000,w-10,h-10,al-5,lx-0,ly-0,l-end", base, NULL);
    ok(r.rc == 0 && rgb_near(r.im, 5, 5, (255 + BASE_R) / 2, BASE_G / 2, BASE_B / 2, 2),
       "al-5: half opaque");
    res_free(&r);
    r = run("l-image,i-logo.png,l-end", base, NULL);
    ok(r.rc == -ENOENT && strstr(r.err, "logo.png"), "a layer without its image: %s", r.err);
    res_free(&r);
}

/* ---- Text ----------------------------------------------------------------------------------- */

/* The box of text's result that is not the base's blue. */
static bool ink_box(const char *text, struct src base, int box[4])
{
    double bg[3] = {BASE_R, BASE_G, BASE_B};
    VipsArrayDouble *a = vips_array_double_new(bg, 3);
    struct res r = run(text, base, NULL);
    bool good = r.rc == 0 && !vips_find_trim(r.im, &box[0], &box[1], &box[2], &box[3], "background",
                                             a, "threshold", 1.0, NULL);

    vips_area_unref(VIPS_AREA(a));
    res_free(&r);
    return good && box[2] > 0;
}

/* Whether two texts on base give the same pixels. */
static bool same_pixels(const char *a, const char *b, struct src base)
{
    struct res x = run(a, base, NULL), y = run(b, base, NULL);
    double mx = 1, mn = 0;
    VipsImage *d = NULL;

    if (x.rc == 0 && y.rc == 0 && !vips_subtract(x.im, y.im, &d, NULL)) {
        vips_max(d, &mx, NULL);
        vips_min(d, &mn, NULL);
        g_object_unref(d);
    }
    res_free(&x);
    res_free(&y);
    return mx == 0 && mn == 0;
}

static void test_text(struct src big)
{
    int a[4] = {0}, b[4] = {0};

    ok(ink_box("l-text,i-Hello,fs-20,co-FFFFFF,l-end", big, a) &&
           ink_box("l-text,i-Hello,fs-40,co-FFFFFF,l-end", big, b) && b[2] > a[2] * 3 / 2 &&
           b[3] > a[3] * 3 / 2,
       "the text grows with fs: %dx%d at fs-20, %dx%d at fs-40", a[2], a[3], b[2], b[3]);
    /* U+25A0, a solid square: its middle is the text colour */
    struct res r = run("l-text,ie-4pagIA==,fs-100,co-00FF00,lx-0,ly-0,l-end", big, NULL);
    ok(r.rc == 0 && ink_box("l-text,ie-4pagIA==,fs-100,co-00FF00,lx-0,ly-0,l-end", big, a) &&
           rgb_near(r.im, a[0] + a[2] / 2, a[1] + a[3] / 2, 0, 255, 0, 0),
       "co-00FF00 is the colour of the glyph");
    res_free(&r);
    r = run("l-text,i-Hi,fs-20,bg-FF0000,pa-10_30,lx-0,ly-0,l-end", big, NULL);
    ok(r.rc == 0 && rgb_near(r.im, 2, 2, 255, 0, 0, 0) && rgb_near(r.im, 25, 12, 255, 0, 0, 0),
       "bg fills the padding (10 px top, 30 px left)");
    res_free(&r);
    ok(ink_box("l-text,i-Hi,fs-20,bg-FF0000,pa-10_30,l-end", big, a) &&
           ink_box("l-text,i-Hi,fs-20,bg-FF0000,l-end", big, b) && a[2] == b[2] + 60 &&
           a[3] == b[3] + 20,
       "pa-10_30 adds 60 px across and 20 down: %dx%d and %dx%d", a[2], a[3], b[2], b[3]);
    ok(ink_box("l-text,i-Hello,fs-30,co-FFFFFF,tg-b,l-end", big, a) &&
           ink_box("l-text,i-Hello,fs-30,co-FFFFFF,l-end", big, b) && a[2] > b[2],
       "tg-b is wider: %d against %d", a[2], b[2]);
    ok(ink_box("l-text,i-a b c d e f g h i j k l,fs-20,w-60,co-FFFFFF,l-end", big, a) &&
           ink_box("l-text,i-a b c d e f g h i j k l,fs-20,co-FFFFFF,l-end", big, b) &&
           a[3] > 2 * b[3] && a[2] < b[2],
       "w- wraps: %dx%d against %dx%d on one line", a[2], a[3], b[2], b[3]);
    /* Unicode: different letters give different pixels (missing glyphs would be alike boxes) */
    ok(!same_pixels("l-text,ie-w6k=,fs-40,co-FFFFFF,l-end", "l-text,i-e,fs-40,co-FFFFFF,l-end",
                    big),
       "é is not e");
    ok(!same_pixels("l-text,ie-5p2x,fs-40,co-FFFFFF,l-end", "l-text,ie-5Lqs,fs-40,co-FFFFFF,l-end",
                    big),
       "東 and 京 differ (a CJK font is installed)");
    ok(!same_pixels("l-text,ie-8J+YgA==,fs-40,l-end", "l-text,ie-8J+YgQ==,fs-40,l-end", big),
       "two emoji differ (an emoji font is installed)");
    ok(same_pixels("l-text,i-Hi,fs-40,l-end", "l-text,i-Hi,fs-40,ff-DejaVuSans,ia-center,l-end",
                   big),
       "the defaults change nothing (as the canonical text says)");
    /* a font file (ff-PATH) renders as the family it holds */
    font_file = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf";
    ok(same_pixels("l-text,i-Hello,fs-40,ff-fonts@@brand.ttf,l-end",
                   "l-text,i-Hello,fs-40,ff-DejaVuSerif,l-end", big),
       "ff-fonts@@brand.ttf holding DejaVu Serif renders as ff-DejaVuSerif");
    ok(!same_pixels("l-text,i-Hello,fs-40,ff-fonts@@brand.ttf,l-end", "l-text,i-Hello,fs-40,l-end",
                    big),
       "and not as the default font");
    font_file = "tests/data/sniff.txt";
    r = run("l-text,i-Hello,ff-fonts@@brand.ttf,l-end", big, NULL);
    ok(r.rc == -EBADMSG && strstr(r.err, "not a font"), "a font file that is none: %s", r.err);
    res_free(&r);
    font_file = NULL;
    r = run("l-text,i-Hello,ff-fonts@@brand.ttf,l-end", big, NULL);
    ok(r.rc == -ENOENT, "a font file not given: %s", r.err);
    res_free(&r);
    r = run("l-text,i-Hello World Hello World,fs-1000,l-end", big, NULL);
    ok(r.rc == -E2BIG && strstr(r.err, "16383"), "a text over 16383 px a side: %s", r.err);
    res_free(&r);
}

/* ---- Conditionals --------------------------------------------------------------------------- */

static void test_conditionals(struct src base, struct src square, struct tr_source *logo)
{
    static const char *const text = "if-w_gt_250,w-100,if-else,w-50,if-end";
    struct res r = run(text, base, NULL), s = run(text, square, NULL);

    ok(r.rc == 0 && r.img.width == 100, "%s on 300x200: the first branch (%d)", text, r.img.width);
    ok(s.rc == 0 && s.img.width == 50, "%s on 200x200: the else branch (%d)", text, s.img.width);
    res_free(&r);
    res_free(&s);
    PROBES("if-ar_gt_1,l-image,i-logo.png,lx-0,ly-0,l-end,if-end", base, logo,
           "a landscape image gets the layer", {0, 0, true});
    r = run("if-ar_gt_1,l-image,i-logo.png,lx-0,ly-0,l-end,if-end", square, logo);
    ok(r.rc == 0 && rgb_near(r.im, 0, 0, BASE_R, BASE_G, BASE_B, 0), "a square one does not");
    res_free(&r);
    r = run("w-150:if-w_eq_150_and_iw_eq_300,h-10,if-end", base, NULL);
    ok(r.rc == 0 && r.img.width == 15 && r.img.height == 10,
       "evaluated on the image entering its step (w 150, iw 300): %dx%d", r.img.width,
       r.img.height);
    res_free(&r);
    r = run("if-w_gt_iw_div_0,w-10,if-end", base, NULL);
    ok(r.rc == -EINVAL && strstr(r.err, "if-"), "a condition that divides by zero: %s", r.err);
    res_free(&r);
}

/* ---- Sources -------------------------------------------------------------------------------- */

static void test_sources(void)
{
    static const char text[] = "not an image";
    struct tr_source *s = NULL;
    struct tr_limits small = limits;
    struct src p = png(solid(100, 100, 1, 2, 3, -1));
    char err[TR_ERR_LEN];
    int w = 0, h = 0;

    ok(tr_source_new(text, sizeof(text), &limits, &s, err) == -EBADMSG && !s,
       "not an image: -EBADMSG (%s)", err);
    small.max_input_pixels = 9999;
    ok(tr_source_new(p.data, p.len, &small, &s, err) == -E2BIG && !s,
       "over the pixel limit: -E2BIG (%s)", err);
    small = limits;
    small.max_input_bytes = p.len - 1;
    ok(tr_source_new(p.data, p.len, &small, &s, err) == -E2BIG, "over the byte limit (%s)", err);
    ok(tr_source_new(p.data, p.len / 2, &limits, &s, err) == -EBADMSG, "cut in half (%s)", err);
    ok(tr_source_new(p.data, p.len, &limits, &s, err) == 0 && tr_source_size(s) == 100 * 100 * 3,
       "decoded: 30000 bytes held");
    if (s)
        tr_source_dims(s, &w, &h);
    ok(w == 100 && h == 100, "100x100");
    tr_source_free(s);
    tr_source_free(NULL);
    g_free(p.data);
}

int main(int argc, char **argv)
{
    (void)argc;
    limits = TR_LIMITS_DEFAULT;
    if (tr_init(argv[0], 1))
        return 2;
    struct src base = png(solid(300, 200, BASE_R, BASE_G, BASE_B, -1));
    struct src square = png(solid(200, 200, BASE_R, BASE_G, BASE_B, -1));
    struct src big = png(solid(1200, 400, BASE_R, BASE_G, BASE_B, -1));
    struct tr_source *logo = source(png(solid(30, 20, 255, 0, 0, -1)));
    struct tr_source *bordered =
        source(png(framed(solid(30, 20, 255, 0, 0, -1), 5, 255, 255, 255)));

    test_placement(base, logo);
    test_layer_steps(base, logo, bordered);
    test_text(big);
    test_conditionals(base, square, logo);
    test_sources();
    tr_source_free(logo);
    tr_source_free(bordered);
    g_free(base.data);
    g_free(square.data);
    g_free(big.data);
    tr_shutdown();
    return check_done();
}
