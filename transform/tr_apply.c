/* transform/tr_apply.c: runs a chain on an encoded image with libvips. The one file of blobkit
 * that includes <vips/vips.h>.
 *
 * One request goes through five stages (README, "Pipeline, formats and limits"):
 *   check    input bytes, source type and output format, before any libvips call;
 *   load     the header alone first (pixel and frame limits, EXIF orientation), then the
 *            source again with shrink-on-load sized from the first step: a JPEG that decodes
 *            small enough is decoded whole by tr_jpeg.c (libjpeg on the in-memory source, the
 *            faster path, with the same result), anything else, damaged JPEGs included, by
 *            libvips's loader with sequential access, failing on truncation;
 *   prepare  the first step's resize (premultiplied), 8-bit sRGB or grey (an ICC profile is
 *            imported unless cp-true), EXIF orientation applied;
 *   steps    each step in order: trim, geometry (resize, crop, pad, extract), rotate, flip,
 *            grayscale, contrast, blur, sharpen, unsharp mask, opacity, border, radius, bg;
 *   encode   alpha flattened for formats without it, metadata kept or stripped, saved.
 * An animated source kept as GIF or WebP runs prepare and steps frame by frame; decisions taken
 * from pixels (trim box, attention crop) come from the first frame so that all frames match.
 * Every intermediate image hangs off one context object, unreffed once at the end. */
#include "tr.h"
#include "tr_jpeg.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <vips/vips.h>

/* libheif's AV1 encoder (aom) at libvips effort 2 of 9: 3-4x faster than libvips's default
 * of 4 (measured: 60 ms against 170 ms for 300x300, 0.19 s against 0.86 s for 1200x900), for
 * files about 10 % larger. */
#define AVIF_EFFORT 2

/* GIF quantisation (libimagequant) at effort 1 of 10: 40 frames of 200x200 encode in 0.7 s
 * against 5.3 s at libvips's default of 7, for files about 8 % larger. */
#define GIF_EFFORT 1

enum geom_op {
    G_KEEP,  /* no crop or pad */
    G_CROP,  /* cut ow x oh at (x, y) */
    G_SMART, /* cut ow x oh where libvips's attention measure points */
    G_PAD,   /* place the image at (x, y) on an ow x oh canvas of bg (x, y < 0 crops) */
};

/* What one step does to the size of the image, worked out before any pixel is touched. */
struct geom {
    int rw, rh; /* resize to this first; 0 when the step does not resize */
    int ow, oh; /* the size after the crop or pad */
    enum geom_op op;
    int x, y;
};

/* Decisions taken from the first frame's pixels, reused for every later frame. */
struct memo {
    bool trim_set, crop_set;
    int trim_left, trim_top, trim_width, trim_height;
    int crop_left, crop_top;
};

/* One tr_apply() call. */
struct run {
    const struct tr_request *rq;
    const struct tr_limits *lim;
    char *err;
    VipsObject *ctx; /* owns every intermediate image (style rule 22) */
    struct tr_sniff src;
    struct tr_output out;  /* q pr lo md cp, resolved over the chain */
    enum tr_format format; /* never AUTO or ORIG */
    int iw, ih;            /* the source frame, oriented: iw and ih of expressions */
    int orientation;       /* EXIF 1..8 */
    int page;              /* pg-: the 0-based frame to load */
    bool pg;               /* a step says pg-2 or later: one frame, even of an animation */
    int frames;            /* frames decoded and kept */
    int shrink;            /* shrink-on-load factor used */
    bool direct;           /* decoded by tr_jpeg.c rather than a libvips loader */
    bool plan0_valid;      /* plan0 was sized before loading (shrink-on-load) */
    struct geom plan0;
    struct tr_color flatten; /* behind transparency when the format has none */
    struct memo memo[TR_MAX_STEPS];
};

/* ---- Errors ------------------------------------------------------------------------------ */

__attribute__((format(printf, 3, 4))) static int fail(struct run *r, int rc, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(r->err, TR_ERR_LEN, fmt, ap);
    va_end(ap);
    return rc;
}

/* A libvips call failed: report what we were doing and the last line of libvips's message
 * (earlier lines may be left over from failures libvips recovered from). The buffer is shared
 * by all threads, so the text is advisory; copying also clears it. Any libvips failure here
 * means the source could not be decoded: our own checks run first. */
static int vips_fail(struct run *r, const char *what)
{
    char *msg = vips_error_buffer_copy();
    char *line = msg;
    size_t n;

    g_strchomp(msg);
    for (char *nl = strchr(msg, '\n'); nl; nl = strchr(nl + 1, '\n'))
        line = nl + 1;
    n = strlen(line);
    fail(r, -EBADMSG, "%s: %.*s", what, (int)(n > 80 ? 80 : n), line);
    g_free(msg);
    return -EBADMSG;
}

static VipsImage **local(struct run *r, int n)
{
    return (VipsImage **)vips_object_local_array(r->ctx, n);
}

/* " x 12 frames" for an animation, "" otherwise: for messages. */
static const char *frames_note(const struct run *r, char buf[32])
{
    buf[0] = '\0';
    if (r->frames > 1)
        snprintf(buf, 32, " x %d frames", r->frames);
    return buf;
}

/* Whether w x h (times the frames) fits the output limits. */
static int check_size(struct run *r, int w, int h)
{
    uint64_t px = (uint64_t)w * (uint64_t)h * (uint64_t)r->frames;
    char note[32];

    if (w > r->lim->max_output_dim || h > r->lim->max_output_dim)
        return fail(r, -E2BIG, "a %dx%d image exceeds the limit of %d px a side", w, h,
                    r->lim->max_output_dim);
    if (px > r->lim->max_output_pixels)
        return fail(r, -E2BIG, "a %dx%d image%s exceeds the limit of %llu pixels", w, h,
                    frames_note(r, note), (unsigned long long)r->lim->max_output_pixels);
    return 0;
}

/* ---- Geometry: pure arithmetic on sizes ---------------------------------------------------- */

/* n in pixels: a literal in (0,1) is that fraction of ref; auto is the Sec-CH-Width hint
 * rounded up to the next 100 px, as ImageKit does (fewer variants to make and cache). */
static int num_px(struct run *r, const struct tr_num *n, double ref, const struct tr_vars *v,
                  const char *key, double *out)
{
    double val = n->operand[0].value;

    if (n->kind == TR_NUM_AUTO) {
        *out = r->rq->hint_width > 0 ? ceil(r->rq->hint_width / 100.0) * 100 : 0;
        return 0;
    }
    if (n->kind == TR_NUM_LITERAL && n->operand[0].var == TR_VAR_NONE && val > 0 && val < 1) {
        *out = val * ref;
        return 0;
    }
    if (tr_num_eval(n, v, out))
        return fail(r, -EINVAL, "%s: the expression cannot be evaluated (division by zero?)", key);
    return 0;
}

/* A size (w, h, border, radius) as whole pixels: at least 1, at most the output limit. */
static int whole_px(struct run *r, const char *key, double *v)
{
    if (!(*v >= 0.5))
        return fail(r, -EINVAL, "%s: %g is not a size in pixels", key, *v);
    if (*v > r->lim->max_output_dim)
        return fail(r, -E2BIG, "%s: %.0f exceeds the limit of %d px", key, *v,
                    r->lim->max_output_dim);
    *v = round(*v);
    return 0;
}

/* dpr scales w and h unless a result would leave 1..5000 px, when ImageKit ignores it. */
static int apply_dpr(struct run *r, const struct tr_step *s, const struct tr_vars *v, double *w,
                     double *h)
{
    double d = 1;

    if (s->dpr.kind == TR_NUM_AUTO)
        d = r->rq->hint_dpr > 0 ? fmin(fmax(r->rq->hint_dpr, 0.1), 5) : 1;
    else if (tr_num_eval(&s->dpr, v, &d) || !(d > 0))
        return fail(r, -EINVAL, "dpr: not a positive number");
    if ((*w && (*w * d < 1 || *w * d > 5000)) || (*h && (*h * d < 1 || *h * d > 5000)))
        return 0;
    *w *= d;
    *h *= d;
    return 0;
}

/* w or h of a step in pixels: 0 when not given (or w-auto without a hint). */
static int side_px(struct run *r, const struct tr_step *s, enum tr_key k, const struct tr_vars *v,
                   double *out)
{
    const struct tr_num *n = k == TR_W ? &s->w : &s->h;
    const char *key = k == TR_W ? "w" : "h";

    *out = 0;
    if (!tr_step_has(s, k))
        return 0;
    if (num_px(r, n, k == TR_W ? v->cw : v->ch, v, key, out))
        return -EINVAL;
    if (n->kind == TR_NUM_AUTO && *out == 0)
        return 0;
    return whole_px(r, key, out);
}

/* The step's requested width and height in pixels (0: not given), after ar and dpr. */
static int step_size(struct run *r, const struct tr_step *s, const struct tr_vars *v, double *w,
                     double *h)
{
    double ar;
    int rc = side_px(r, s, TR_W, v, w);

    if (!rc)
        rc = side_px(r, s, TR_H, v, h);
    if (rc)
        return rc;
    if (tr_step_has(s, TR_AR) && (*w > 0) != (*h > 0)) {
        if (tr_num_eval(&s->ar, v, &ar) || !(ar > 0))
            return fail(r, -EINVAL, "ar: not a positive ratio");
        if (*w > 0)
            *h = *w / ar;
        else
            *w = *h * ar;
    }
    if ((*w > 0 || *h > 0) && tr_step_has(s, TR_DPR) && apply_dpr(r, s, v, w, h))
        return -EINVAL;
    rc = *w > 0 ? whole_px(r, "w", w) : 0;
    return rc || *h == 0 ? rc : whole_px(r, "h", h);
}

/* Where fo puts things, in halves of the free room: 0 left/top, 1 centre, 2 right/bottom. */
static void focus_halves(enum tr_focus f, int *fx, int *fy)
{
    static const signed char halves[][2] = {
        [TR_FO_CENTER] = {1, 1},    [TR_FO_TOP] = {1, 0},         [TR_FO_LEFT] = {0, 1},
        [TR_FO_BOTTOM] = {1, 2},    [TR_FO_RIGHT] = {2, 1},       [TR_FO_TOP_LEFT] = {0, 0},
        [TR_FO_TOP_RIGHT] = {2, 0}, [TR_FO_BOTTOM_LEFT] = {0, 2}, [TR_FO_BOTTOM_RIGHT] = {2, 2},
        [TR_FO_AUTO] = {1, 1},      [TR_FO_FACE] = {1, 1},
    };

    *fx = halves[f][0];
    *fy = halves[f][1];
}

/* The offset that puts inner inside outer (or outer inside inner) at halves (focus_halves()),
 * in 64 bits: a cover of a thin image can make a side near INT_MAX before check_size()
 * refuses it, and twice the room overflowed an int. The result never exceeds the room. */
static int room(int outer, int inner, int halves)
{
    return (int)(((int64_t)outer - inner) * halves / 2);
}

static bool focus_is_smart(const struct tr_step *s)
{
    return s->focus == TR_FO_AUTO || s->focus == TR_FO_FACE;
}

static int scaled(int v, double s)
{
    long n = lround(v * s);

    return n < 1 ? 1 : n > INT_MAX ? INT_MAX : (int)n;
}

/* One side given: the other follows the aspect ratio; at_max never enlarges. */
static void plan_one_side(const struct tr_step *s, int cw, int ch, double w, double h,
                          struct geom *g)
{
    double sc = w > 0 ? w / cw : h / ch;

    if (s->crop == TR_CROP_AT_MAX && s->crop_mode != TR_CM_PAD_RESIZE && sc > 1)
        sc = 1;
    g->rw = w > 0 && sc == w / cw ? (int)w : scaled(cw, sc);
    g->rh = h > 0 && sc == h / ch ? (int)h : scaled(ch, sc);
    g->ow = g->rw;
    g->oh = g->rh;
}

/* Both sides given: cm-pad_resize, then the five c- modes (cm- wins over c-). Fitting modes
 * scale by the smaller ratio, covering modes by the larger; the side the ratio came from is
 * exact, and a covering side never rounds below what it must cover. */
static void plan_box(const struct tr_step *s, int cw, int ch, int w, int h, struct geom *g)
{
    double sx = (double)w / cw, sy = (double)h / ch;
    bool pad = s->crop_mode == TR_CM_PAD_RESIZE;
    bool fit = pad || s->crop == TR_CROP_AT_MAX || s->crop == TR_CROP_AT_MAX_ENLARGE;
    double sc = fit ? fmin(sx, sy) : fmax(sx, sy);
    int rw, rh, fx, fy;

    if (!pad && s->crop == TR_CROP_AT_MAX && sc > 1)
        sc = 1;
    rw = sc == sx ? w : scaled(cw, sc);
    rh = sc == sy ? h : scaled(ch, sc);
    rw = fit || rw > w ? rw : w;
    rh = fit || rh > h ? rh : h;
    focus_halves(s->focus, &fx, &fy);
    if (pad)
        *g = (struct geom){rw, rh, w, h, G_PAD, room(w, rw, fx), room(h, rh, fy)};
    else if (s->crop == TR_CROP_FORCE)
        *g = (struct geom){w, h, w, h, G_KEEP, 0, 0};
    else if (s->crop == TR_CROP_MAINTAIN_RATIO)
        *g = (struct geom){
            rw, rh, w, h, focus_is_smart(s) ? G_SMART : G_CROP, room(rw, w, fx), room(rh, h, fy)};
    else
        *g = (struct geom){rw, rh, rw, rh, G_KEEP, 0, 0};
}

/* One coordinate of cm-extract: from x (left), else xc (centre), else fo. */
static int extract_origin(struct run *r, const struct tr_step *s, bool vertical,
                          const struct tr_vars *v, int size, int *out)
{
    enum tr_key k = vertical ? TR_Y : TR_X, kc = vertical ? TR_YC : TR_XC;
    const struct tr_num *n = vertical ? &s->y : &s->x, *nc = vertical ? &s->yc : &s->xc;
    double ref = vertical ? v->ch : v->cw, val;
    int fx, fy;

    if (tr_step_has(s, k) || tr_step_has(s, kc)) {
        bool centre = !tr_step_has(s, k);

        if (num_px(r, centre ? nc : n, ref, v, vertical ? "y" : "x", &val))
            return -EINVAL;
        *out = (int)lround(centre ? val - size / 2.0 : val);
        return 0;
    }
    focus_halves(s->focus, &fx, &fy);
    *out = room((int)ref, size, vertical ? fy : fx);
    return 0;
}

/* cm-extract cuts w x h out of the image, which must contain it; cm-pad_extract places the
 * image on a w x h canvas of bg at fo, cropping where the canvas is smaller. */
static int plan_extract(struct run *r, const struct tr_step *s, const struct tr_vars *v, int w,
                        int h, struct geom *g)
{
    int cw = (int)v->cw, ch = (int)v->ch, fx, fy;
    bool pos = tr_step_has(s, TR_X) || tr_step_has(s, TR_Y) || tr_step_has(s, TR_XC) ||
               tr_step_has(s, TR_YC);

    focus_halves(s->focus, &fx, &fy);
    *g = (struct geom){0, 0, w, h, G_PAD, room(w, cw, fx), room(h, ch, fy)};
    if (s->crop_mode == TR_CM_PAD_EXTRACT)
        return 0;
    g->op = focus_is_smart(s) && !pos ? G_SMART : G_CROP;
    if (extract_origin(r, s, false, v, w, &g->x) || extract_origin(r, s, true, v, h, &g->y))
        return -EINVAL;
    if (g->x < 0 || g->y < 0 || w > cw - g->x || h > ch - g->y)
        return fail(r, -EINVAL, "cm-extract: the %dx%d region at %d,%d is outside the %dx%d image",
                    w, h, g->x, g->y, cw, ch);
    return 0;
}

/* Work out what step s does to a cw x ch image. */
static int plan_geometry(struct run *r, const struct tr_step *s, int cw, int ch, struct geom *g)
{
    struct tr_vars v = {r->iw, r->ih, cw, ch};
    double w, h;
    int rc;

    *g = (struct geom){0, 0, cw, ch, G_KEEP, 0, 0};
    rc = step_size(r, s, &v, &w, &h);
    if (rc)
        return rc;
    if (s->crop_mode == TR_CM_EXTRACT || s->crop_mode == TR_CM_PAD_EXTRACT)
        rc = plan_extract(r, s, &v, w > 0 ? (int)w : cw, h > 0 ? (int)h : ch, g);
    else if (w > 0 && h > 0)
        plan_box(s, cw, ch, (int)w, (int)h, g);
    else if (w > 0 || h > 0)
        plan_one_side(s, cw, ch, w, h, g);
    if (rc)
        return rc;
    if (g->rw && (rc = check_size(r, g->rw, g->rh)))
        return rc;
    return check_size(r, g->ow, g->oh);
}

/* ---- Pixel helpers ----------------------------------------------------------------------- */

/* Before an operation that reads out of order or more than once (rotation, vertical flip, trim,
 * contrast, attention crop, a wide unsharp mask), render what we have into memory (a no-op
 * for an image that is there already). A sequential loader can only be read top to bottom,
 * once; and a pipeline under an operation that reads scattered regions (an affine rotation)
 * would be computed again for every region (rt-45:h-900 took over 30 s). The
 * image is usually small by then, and the limits bound it. */
static int materialise(struct run *r, VipsImage **img)
{
    VipsImage **t = local(r, 1);

    t[0] = vips_image_copy_memory(*img);
    if (!t[0])
        return vips_fail(r, "cannot decode the image");
    *img = t[0];
    return 0;
}

/* Colour c as one value per band of img: luma for grey images, then alpha when img has it
 * and with_alpha (vips_flatten wants the colour bands alone). */
static VipsArrayDouble *colour_array(VipsImage *img, struct tr_color c, bool with_alpha)
{
    double v[4];
    int n = 0;
    bool alpha = vips_image_hasalpha(img);

    if (img->Bands - alpha < 3) {
        v[n++] = 0.2126 * c.r + 0.7152 * c.g + 0.0722 * c.b;
    } else {
        v[n++] = c.r;
        v[n++] = c.g;
        v[n++] = c.b;
    }
    if (alpha && with_alpha)
        v[n++] = c.a;
    return vips_array_double_new(v, n);
}

/* A grey image that is about to receive colour c (padding, border, corners) becomes sRGB. */
static int fit_colour(struct run *r, VipsImage **img, struct tr_color c)
{
    VipsImage **t = local(r, 1);

    if ((*img)->Bands - vips_image_hasalpha(*img) >= 3 || (c.r == c.g && c.g == c.b))
        return 0;
    if (vips_colourspace(*img, &t[0], VIPS_INTERPRETATION_sRGB, NULL))
        return vips_fail(r, "cannot convert to sRGB");
    *img = t[0];
    return 0;
}

static bool format_has_alpha(enum tr_format f)
{
    return f != TR_FMT_JPEG;
}

static struct tr_color step_bg(const struct tr_step *s)
{
    static const struct tr_color black = {0, 0, 0, 255};

    return tr_step_has(s, TR_BG) ? s->bg : black;
}

/* Pad or extend img to w x h with img at (x, y), filling with c; an alpha band is added first
 * when c is not opaque. */
static int embed(struct run *r, VipsImage **img, int x, int y, int w, int h, struct tr_color c)
{
    VipsImage **t = local(r, 2);
    VipsImage *in = *img;
    VipsArrayDouble *bg;
    int rc;

    if (fit_colour(r, &in, c))
        return -EBADMSG;
    if (c.a < 255 && !vips_image_hasalpha(in)) {
        if (vips_addalpha(in, &t[0], NULL))
            return vips_fail(r, "cannot add alpha");
        in = t[0];
    }
    bg = colour_array(in, c, true);
    rc =
        vips_embed(in, &t[1], x, y, w, h, "extend", VIPS_EXTEND_BACKGROUND, "background", bg, NULL);
    vips_area_unref(VIPS_AREA(bg));
    if (rc)
        return vips_fail(r, "cannot pad");
    *img = t[1];
    return 0;
}

/* Split img into its colour bands and its alpha band (NULL when it has none). */
static int split_alpha(struct run *r, VipsImage *img, VipsImage **colour, VipsImage **alpha)
{
    VipsImage **t = local(r, 2);

    *colour = img;
    *alpha = NULL;
    if (!vips_image_hasalpha(img))
        return 0;
    if (vips_extract_band(img, &t[0], 0, "n", img->Bands - 1, NULL) ||
        vips_extract_band(img, &t[1], img->Bands - 1, NULL))
        return vips_fail(r, "cannot split alpha");
    *colour = t[0];
    *alpha = t[1];
    return 0;
}

/* colour and alpha (may be NULL) as one 8-bit image. */
static int join_alpha(struct run *r, VipsImage *colour, VipsImage *alpha, VipsImage **out)
{
    VipsImage **t = local(r, 2);

    if (vips_cast_uchar(colour, &t[0], NULL))
        return vips_fail(r, "cannot convert to 8 bits");
    if (!alpha) {
        *out = t[0];
        return 0;
    }
    if (vips_bandjoin2(t[0], alpha, &t[1], NULL))
        return vips_fail(r, "cannot join alpha");
    *out = t[1];
    return 0;
}

/* Resize img to exactly w x h: premultiplied when it has alpha, so transparent pixels do not
 * bleed their colour; a libvips rounding difference of a pixel is cropped or extended. */
static int resize_to(struct run *r, VipsImage **img, int w, int h)
{
    VipsImage **t = local(r, 5);
    VipsImage *in = *img, *x = in;
    bool alpha = vips_image_hasalpha(in);

    if (in->Xsize == w && in->Ysize == h)
        return 0;
    if (alpha && vips_premultiply(in, &t[0], NULL))
        return vips_fail(r, "cannot premultiply");
    x = alpha ? t[0] : in;
    if (vips_resize(x, &t[1], (double)w / in->Xsize, "vscale", (double)h / in->Ysize, NULL))
        return vips_fail(r, "cannot resize");
    x = t[1];
    if (alpha && (vips_unpremultiply(x, &t[2], NULL) || vips_cast(t[2], &t[3], in->BandFmt, NULL)))
        return vips_fail(r, "cannot unpremultiply");
    x = alpha ? t[3] : x;
    if ((x->Xsize != w || x->Ysize != h) &&
        vips_embed(x, &t[4], 0, 0, w, h, "extend", VIPS_EXTEND_COPY, NULL))
        return vips_fail(r, "cannot resize");
    *img = x->Xsize != w || x->Ysize != h ? t[4] : x;
    return 0;
}

/* ---- Load: JPEG decoded directly --------------------------------------------------------- */

/* Whether tr_jpeg.c should decode the source: a JPEG whose shrunk size stays within
 * max_direct_pixels, since it is held whole in memory where libvips's loader streams it. */
static bool wants_direct(const struct run *r, const VipsImage *hdr)
{
    uint64_t w = (uint64_t)(hdr->Xsize / r->shrink), h = (uint64_t)(hdr->Ysize / r->shrink);

    return r->src.type == TR_SRC_JPEG && w * h <= r->lim->max_direct_pixels;
}

/* The pixels of tr_jpeg_decode() go when the image wrapping them closes. */
static void free_pixels(VipsImage *img, void *data)
{
    (void)img;
    tr_jpeg_free(data);
}

/* Every metadata field of the header read (EXIF, XMP, IPTC, ICC profile, orientation, ...)
 * that img lacks; img has its own header fields (width, bands, ...) already. */
static void copy_metadata(VipsImage *from, VipsImage *img)
{
    char **names = vips_image_get_fields(from);

    for (char **n = names; *n; n++) {
        GValue v = G_VALUE_INIT;

        if (vips_image_get_typeof(img, *n))
            continue;
        if (vips_image_get(from, *n, &v)) {
            vips_error_clear();
            continue;
        }
        vips_image_set(img, *n, &v);
        g_value_unset(&v);
    }
    g_strfreev(names);
}

/* Decode the JPEG at 1/shrink with tr_jpeg.c into memory that a new image owns, and give that
 * image the header read's interpretation, resolution and metadata: downstream sees what
 * libvips's loader would have given (the same libjpeg with the same settings makes the same
 * pixels). Returns -ENOTSUP when libvips's loader should decode instead: tr_jpeg.c does not
 * take the file, or finds it damaged. libvips then gives the verdict it always gave; the
 * two agree whenever every row is needed, but libvips streams, and serves a crop of the
 * intact top of a cut file where a whole decode fails. */
static int load_direct(struct run *r, VipsImage *hdr, VipsImage **out)
{
    VipsImage **t = local(r, 1);
    struct tr_jpeg_pixels px;
    int rc =
        tr_jpeg_decode(r->rq->src, r->rq->len, r->shrink, r->lim->max_input_pixels, &px, r->err);

    if (rc == -EBADMSG)
        r->err[0] = '\0';
    if (rc)
        return rc == -EBADMSG ? -ENOTSUP : rc;
    if (px.bands != hdr->Bands || px.width != hdr->Xsize / r->shrink ||
        px.height != hdr->Ysize / r->shrink) { /* not what libvips's loader would give */
        tr_jpeg_free(px.data);
        return -ENOTSUP;
    }
    t[0] = vips_image_new_from_memory(px.data, (size_t)px.width * px.height * px.bands, px.width,
                                      px.height, px.bands, VIPS_FORMAT_UCHAR);
    if (!t[0]) {
        tr_jpeg_free(px.data);
        return vips_fail(r, "cannot decode the image");
    }
    g_signal_connect(t[0], "postclose", G_CALLBACK(free_pixels), px.data);
    vips_image_init_fields(t[0], px.width, px.height, px.bands, VIPS_FORMAT_UCHAR, VIPS_CODING_NONE,
                           hdr->Type, hdr->Xres, hdr->Yres);
    copy_metadata(hdr, t[0]);
    r->direct = true;
    *out = t[0];
    return 0;
}

/* ---- Load -------------------------------------------------------------------------------- */

/* libvips's buffer loaders take void * but only read from it. */
static void *unconst(const void *p)
{
    return (void *)(uintptr_t)p;
}

/* Open the source with the loader of its type; pixels are decoded later, on demand. shrink:
 * JPEG DCT scaling (1 2 4 8) or WebP scale 1/shrink; page, n: the frames to decode (n -1:
 * all). Truncated data is an error, never grey pixels (fail_on truncated). */
static int open_source(struct run *r, int shrink, int page, int n, VipsImage **out)
{
    void *b = unconst(r->rq->src);
    size_t len = r->rq->len;
    VipsAccess acc = n == 1 ? VIPS_ACCESS_SEQUENTIAL : VIPS_ACCESS_RANDOM;
    VipsFailOn fo = VIPS_FAIL_ON_TRUNCATED;

    switch (r->src.type) {
    case TR_SRC_JPEG:
        return vips_jpegload_buffer(b, len, out, "access", acc, "fail_on", fo, "shrink", shrink,
                                    NULL);
    case TR_SRC_PNG:
        return vips_pngload_buffer(b, len, out, "access", acc, "fail_on", fo, NULL);
    case TR_SRC_WEBP:
        return vips_webpload_buffer(b, len, out, "access", acc, "fail_on", fo, "page", page, "n", n,
                                    "scale", 1.0 / shrink, NULL);
    case TR_SRC_GIF:
        return vips_gifload_buffer(b, len, out, "access", acc, "fail_on", fo, "page", page, "n", n,
                                   NULL);
    case TR_SRC_AVIF:
    case TR_SRC_HEIF:
        return vips_heifload_buffer(b, len, out, "access", acc, "fail_on", fo, "page", page, "n", n,
                                    NULL);
    case TR_SRC_TIFF:
        return vips_tiffload_buffer(b, len, out, "access", acc, "fail_on", fo, "page", page, "n", n,
                                    NULL);
    default:
        vips_error("blobkit", "no loader for this type");
        return -1;
    }
}

/* The input limits, from the header alone: nothing has been decoded yet. */
static int check_input(struct run *r, VipsImage *hdr, int pages)
{
    uint64_t px = (uint64_t)hdr->Xsize * (uint64_t)hdr->Ysize * (uint64_t)r->frames;
    char note[32];

    if (r->page >= pages)
        return fail(r, -EINVAL, "pg-%d: the source has %d frame%s", r->page + 1, pages,
                    pages == 1 ? "" : "s");
    if (r->frames > r->lim->max_frames)
        return fail(r, -E2BIG, "the source has %d frames, over the limit of %d", r->frames,
                    r->lim->max_frames);
    if (px > r->lim->max_input_pixels)
        return fail(r, -E2BIG, "the source is %dx%d pixels%s, over the limit of %llu", hdr->Xsize,
                    hdr->Ysize, frames_note(r, note), (unsigned long long)r->lim->max_input_pixels);
    return 0;
}

/* The largest shrink-on-load factor that keeps the decoded image at least as big as the first
 * resize: JPEG decodes at 1/2, 1/4 or 1/8 in the DCT; WebP scales while decoding. Unlike
 * vips_thumbnail in libvips 8.14 we leave no factor of two for the resize, which is what makes
 * a 1920x1080 to 300x300 cover decode at half size instead of full size. */
static int shrink_factor(const struct run *r)
{
    double f;

    if (!r->plan0_valid || !r->plan0.rw)
        return 1;
    f = fmin((double)r->iw / r->plan0.rw, (double)r->ih / r->plan0.rh);
    if (r->src.type == TR_SRC_JPEG)
        return f >= 8 ? 8 : f >= 4 ? 4 : f >= 2 ? 2 : 1;
    if (r->src.type == TR_SRC_WEBP && f >= 2)
        return (int)f;
    return 1;
}

/* Step 0 is sized from the header, before loading, so that the loader can shrink; a step that
 * trims first cannot be, since its size depends on pixels. */
static int plan_first_step(struct run *r)
{
    const struct tr_chain *c = r->rq->chain;

    if (c->nsteps == 0 || tr_step_has(&c->step[0], TR_T))
        return 0;
    r->plan0_valid = true;
    return plan_geometry(r, &c->step[0], r->iw, r->ih, &r->plan0);
}

/* Decoded pixels (a video frame): wrapped when the rows are packed, else copied row by row.
 * The caller keeps them until we return. No shrink-on-load: the first step's resize runs on
 * them in prepare(). */
static int load_pixels(struct run *r, VipsImage **img)
{
    const struct tr_pixels *p = r->rq->pixels;
    VipsImage **t = local(r, 1);
    size_t row = (size_t)p->width * (size_t)p->bands;
    int rc;

    if (p->width < 1 || p->height < 1 || (p->bands != 3 && p->bands != 4) || p->stride < row)
        return fail(r, -EINVAL, "decoded frame: bad geometry %dx%d, %d bands", p->width, p->height,
                    p->bands);
    rc = check_input(r, &(VipsImage){.Xsize = p->width, .Ysize = p->height}, 1);
    if (rc)
        return rc;
    if (p->stride == row) {
        t[0] = vips_image_new_from_memory(p->data, row * (size_t)p->height, p->width, p->height,
                                          p->bands, VIPS_FORMAT_UCHAR);
    } else {
        t[0] = vips_image_new_memory();
        vips_image_init_fields(t[0], p->width, p->height, p->bands, VIPS_FORMAT_UCHAR,
                               VIPS_CODING_NONE, VIPS_INTERPRETATION_sRGB, 1.0, 1.0);
        if (vips_image_write_prepare(t[0]))
            return vips_fail(r, "cannot copy the decoded frame");
        for (int y = 0; y < p->height; y++)
            memcpy(VIPS_IMAGE_ADDR(t[0], 0, y), p->data + (size_t)y * p->stride, row);
    }
    if (!t[0])
        return vips_fail(r, "cannot wrap the decoded frame");
    t[0]->Type = VIPS_INTERPRETATION_sRGB;
    r->orientation = 1;
    r->iw = p->width;
    r->ih = p->height;
    *img = t[0];
    return plan_first_step(r);
}

/* Read the header, check the limits, then open the source as the first step needs it. */
static int load(struct run *r, VipsImage **img)
{
    VipsImage **t = local(r, 2);
    int pages, rc;

    if (r->rq->pixels)
        return load_pixels(r, img);
    if (open_source(r, 1, 0, 1, &t[0]))
        return vips_fail(r, "cannot read the image header");
    pages = vips_image_get_n_pages(t[0]);
    if (pages > 1 && !r->pg && (r->format == TR_FMT_GIF || r->format == TR_FMT_WEBP) &&
        (r->src.type == TR_SRC_GIF || r->src.type == TR_SRC_WEBP)) /* TIFF pages: no animation */
        r->frames = pages;
    rc = check_input(r, t[0], pages);
    if (rc)
        return rc;
    r->orientation = vips_image_get_orientation(t[0]);
    r->iw = vips_image_get_orientation_swap(t[0]) ? t[0]->Ysize : t[0]->Xsize;
    r->ih = vips_image_get_orientation_swap(t[0]) ? t[0]->Xsize : t[0]->Ysize;
    rc = plan_first_step(r);
    if (rc)
        return rc;
    r->shrink = shrink_factor(r);
    *img = t[0];
    rc = wants_direct(r, t[0]) ? load_direct(r, t[0], img) : -ENOTSUP;
    if (rc != -ENOTSUP)
        return rc;
    if (r->shrink == 1 && r->page == 0 && r->frames == 1)
        return 0;
    if (open_source(r, r->shrink, r->page, r->frames == 1 ? 1 : -1, &t[1]))
        return vips_fail(r, "cannot open the image");
    *img = t[1];
    return 0;
}

/* ---- Prepare: first resize, colour, orientation ------------------------------------------ */

/* 8-bit sRGB, or 8-bit grey for one-band sources; an embedded ICC profile is converted to
 * sRGB unless cp-true keeps it (CMYK always is converted). */
static int to_srgb(struct run *r, VipsImage **img)
{
    VipsImage **t = local(r, 3);
    VipsImage *in = *img;
    bool cmyk = in->Type == VIPS_INTERPRETATION_CMYK;
    VipsInterpretation want = in->Bands - vips_image_hasalpha(in) < 3 && !cmyk
                                  ? VIPS_INTERPRETATION_B_W
                                  : VIPS_INTERPRETATION_sRGB;

    if ((!r->out.color_profile || cmyk) && vips_image_get_typeof(in, VIPS_META_ICC_NAME)) {
        if (!vips_icc_transform(in, &t[0], "srgb", "embedded", TRUE, "depth", 8, NULL)) {
            *img = t[0];
            return 0;
        }
        vips_error_clear(); /* a broken profile: convert without it */
    }
    if (in->Type == want && in->BandFmt == VIPS_FORMAT_UCHAR)
        return 0; /* the usual case: both calls below would only copy */
    if (vips_colourspace(in, &t[1], want, NULL) || vips_cast_uchar(t[1], &t[2], NULL))
        return vips_fail(r, "cannot convert to sRGB");
    *img = t[2];
    return 0;
}

/* Apply EXIF orientation; a mirror alone (2) streams, every other one reads out of order. */
static int autorotate(struct run *r, VipsImage **img)
{
    VipsImage **t = local(r, 1);

    if (r->orientation <= 1 || r->orientation > 8)
        return 0;
    if (r->orientation != 2 && materialise(r, img))
        return -EBADMSG;
    if (vips_autorot(*img, &t[0], NULL))
        return vips_fail(r, "cannot apply the EXIF orientation");
    *img = t[0];
    return 0;
}

/* The first step's resize happens here, before orientation, on the image as stored: the loader
 * has already shrunk it, and the resize needs no random access. */
static int prepare(struct run *r, VipsImage **img)
{
    bool swap = r->orientation >= 5 && r->orientation <= 8;
    int rc;

    if (r->plan0_valid && r->plan0.rw) {
        rc = swap ? resize_to(r, img, r->plan0.rh, r->plan0.rw)
                  : resize_to(r, img, r->plan0.rw, r->plan0.rh);
        if (rc)
            return rc;
    }
    rc = to_srgb(r, img);
    return rc ? rc : autorotate(r, img);
}

/* ---- Steps ------------------------------------------------------------------------------- */

/* Where t- finds the box to keep, on the first frame: the background is the top-left pixel,
 * or transparency when the image has alpha (then only alpha is measured). */
static int find_trim(struct run *r, const struct tr_step *s, VipsImage *img, struct memo *m)
{
    VipsImage **t = local(r, 1);
    VipsImage *probe = img;
    VipsArrayDouble *bg;
    double *px = NULL, clear = 0;
    int n = 1, rc;

    if (vips_image_hasalpha(img)) {
        if (vips_extract_band(img, &t[0], img->Bands - 1, NULL))
            return vips_fail(r, "cannot trim");
        probe = t[0];
    } else if (vips_getpoint(img, &px, &n, 0, 0, NULL)) {
        return vips_fail(r, "cannot trim");
    }
    bg = vips_array_double_new(px ? px : &clear, n);
    rc = vips_find_trim(probe, &m->trim_left, &m->trim_top, &m->trim_width, &m->trim_height,
                        "threshold", (double)s->trim, "background", bg, NULL);
    vips_area_unref(VIPS_AREA(bg));
    g_free(px);
    if (rc)
        return vips_fail(r, "cannot trim");
    m->trim_set = true;
    return 0;
}

/* t-: cut a flat border; an image that is all background is left alone. */
static int trim(struct run *r, const struct tr_step *s, int step, VipsImage **img)
{
    struct memo *m = &r->memo[step];
    VipsImage **t = local(r, 1);

    if (materialise(r, img))
        return -EBADMSG;
    if (!m->trim_set && find_trim(r, s, *img, m))
        return -EBADMSG;
    if (m->trim_width == 0 || m->trim_height == 0)
        return 0;
    if (vips_extract_area(*img, &t[0], m->trim_left, m->trim_top, m->trim_width, m->trim_height,
                          NULL))
        return vips_fail(r, "cannot trim");
    *img = t[0];
    return 0;
}

/* fo-auto (and fo-face, until there is a face detector): libvips's attention crop, placed on
 * the first frame and reused for the others. */
static int smart_crop(struct run *r, int step, const struct geom *g, VipsImage **img)
{
    struct memo *m = &r->memo[step];
    VipsImage **t = local(r, 2);

    if (!m->crop_set) {
        if (materialise(r, img))
            return -EBADMSG;
        if (vips_smartcrop(*img, &t[0], g->ow, g->oh, "interesting", VIPS_INTERESTING_ATTENTION,
                           NULL))
            return vips_fail(r, "cannot crop");
        m->crop_left = -t[0]->Xoffset;
        m->crop_top = -t[0]->Yoffset;
        m->crop_set = true;
        *img = t[0];
        return 0;
    }
    if (vips_extract_area(*img, &t[1], m->crop_left, m->crop_top, g->ow, g->oh, NULL))
        return vips_fail(r, "cannot crop");
    *img = t[1];
    return 0;
}

/* w h ar c cm fo x y xc yc dpr: resize, then crop or pad, as planned. */
static int geometry(struct run *r, const struct tr_step *s, int step, const struct geom *g,
                    VipsImage **img)
{
    VipsImage **t = local(r, 1);
    int rc = g->rw ? resize_to(r, img, g->rw, g->rh) : 0;

    if (rc)
        return rc;
    switch (g->op) {
    case G_KEEP:
        return 0;
    case G_SMART:
        return smart_crop(r, step, g, img);
    case G_PAD:
        return embed(r, img, g->x, g->y, g->ow, g->oh, step_bg(s));
    case G_CROP:
        break;
    }
    if (vips_extract_area(*img, &t[0], g->x, g->y, g->ow, g->oh, NULL))
        return vips_fail(r, "cannot crop");
    *img = t[0];
    return 0;
}

/* rt- at an angle that is not a multiple of 90: the corners are bg when the step gives one,
 * transparent when the output format has alpha, black otherwise. The result is rendered into
 * memory: a later resize reads it in thin strips, each of which an affine transform computes
 * from a region spanning the image (rt-45:h-900 of 12 MP took over 30 s, 1.2 s now). */
static int rotate_any(struct run *r, const struct tr_step *s, double deg, VipsImage **img)
{
    static const struct tr_color clear = {0, 0, 0, 0};
    VipsImage **t = local(r, 2);
    VipsImage *in = *img;
    struct tr_color c = tr_step_has(s, TR_BG) || !format_has_alpha(r->format) ? step_bg(s) : clear;
    VipsArrayDouble *bg;
    int rc;

    if (fit_colour(r, &in, c))
        return -EBADMSG;
    if (c.a < 255 && !vips_image_hasalpha(in)) {
        if (vips_addalpha(in, &t[0], NULL))
            return vips_fail(r, "cannot add alpha");
        in = t[0];
    }
    bg = colour_array(in, c, true);
    rc = vips_rotate(in, &t[1], -deg, "background", bg, NULL); /* libvips turns anticlockwise */
    vips_area_unref(VIPS_AREA(bg));
    if (rc)
        return vips_fail(r, "cannot rotate");
    *img = t[1];
    rc = check_size(r, t[1]->Xsize, t[1]->Ysize);
    return rc ? rc : materialise(r, img);
}

/* rt-: degrees clockwise; rt-auto is a no-op, EXIF orientation is always applied. */
static int rotate(struct run *r, const struct tr_step *s, VipsImage **img)
{
    static const VipsAngle right[] = {VIPS_ANGLE_D0, VIPS_ANGLE_D90, VIPS_ANGLE_D180,
                                      VIPS_ANGLE_D270};
    VipsImage **t = local(r, 1);
    double deg = fmod(s->rotate, 360);

    deg = deg < 0 ? deg + 360 : deg;
    if (s->rotate_auto || deg == 0)
        return 0;
    if (materialise(r, img))
        return -EBADMSG;
    if (fmod(deg, 90) != 0)
        return rotate_any(r, s, deg, img);
    if (vips_rot(*img, &t[0], right[(int)(deg / 90)], NULL))
        return vips_fail(r, "cannot rotate");
    *img = t[0];
    return 0;
}

/* fl-: a horizontal mirror streams; a vertical one reads bottom-up. */
static int flip(struct run *r, enum tr_flip how, VipsImage **img)
{
    VipsImage **t = local(r, 2);

    if (how & TR_FLIP_H) {
        if (vips_flip(*img, &t[0], VIPS_DIRECTION_HORIZONTAL, NULL))
            return vips_fail(r, "cannot flip");
        *img = t[0];
    }
    if (how & TR_FLIP_V) {
        if (materialise(r, img))
            return -EBADMSG;
        if (vips_flip(*img, &t[1], VIPS_DIRECTION_VERTICAL, NULL))
            return vips_fail(r, "cannot flip");
        *img = t[1];
    }
    return 0;
}

/* e-contrast: stretch the 1st..99th percentile of luminance to the full range. */
static int contrast(struct run *r, VipsImage **img)
{
    VipsImage **t = local(r, 3);
    VipsImage *colour, *alpha;
    int lo, hi;

    if (materialise(r, img) || split_alpha(r, *img, &colour, &alpha))
        return -EBADMSG;
    if (vips_colourspace(colour, &t[0], VIPS_INTERPRETATION_B_W, NULL) ||
        vips_percent(t[0], 1, &lo, NULL) || vips_percent(t[0], 99, &hi, NULL))
        return vips_fail(r, "cannot measure contrast");
    if (hi - lo < 2)
        return 0;
    if (vips_linear1(colour, &t[1], 255.0 / (hi - lo), -255.0 * lo / (hi - lo), NULL))
        return vips_fail(r, "cannot stretch contrast");
    return join_alpha(r, t[1], alpha, img);
}

/* A Gaussian blur of img, premultiplied so that transparent pixels lend no colour. */
static int gauss(struct run *r, double sigma, VipsImage **img)
{
    VipsImage **t = local(r, 4);
    VipsImage *in = *img;
    bool alpha = vips_image_hasalpha(in);

    if (alpha && vips_premultiply(in, &t[0], NULL))
        return vips_fail(r, "cannot premultiply");
    if (vips_gaussblur(alpha ? t[0] : in, &t[1], sigma, NULL))
        return vips_fail(r, "cannot blur");
    if (alpha && vips_unpremultiply(t[1], &t[2], NULL))
        return vips_fail(r, "cannot unpremultiply");
    if (vips_cast_uchar(alpha ? t[2] : t[1], &t[3], NULL))
        return vips_fail(r, "cannot blur");
    *img = t[3];
    return 0;
}

/* A Gaussian blur of any width at a bounded cost. A kernel grows with sigma (bl-100 took 9 s
 * on 12 MP), so a wide blur runs on the image shrunk k times, with sigma / k, and is resized
 * back: what a wide blur removes, the shrink cannot lose (mean error under 0.5 levels). */
static int blur_shrink(double sigma, const VipsImage *img)
{
    int k = sigma >= 8 ? (int)(sigma / 4) : 1;

    return k > img->Xsize / 4 || k > img->Ysize / 4 ? 1 : k;
}

static int blur(struct run *r, double sigma, VipsImage **img)
{
    VipsImage **t = local(r, 1);
    int k = blur_shrink(sigma, *img), w = (*img)->Xsize, h = (*img)->Ysize;

    if (k == 1)
        return gauss(r, sigma, img);
    if (vips_shrink(*img, &t[0], k, k, NULL))
        return vips_fail(r, "cannot blur");
    *img = t[0];
    if (gauss(r, sigma / k, img))
        return -EBADMSG;
    return resize_to(r, img, w, h);
}

/* e-sharpen[-n]: libvips's sharpen on lightness; n sets its jaggy-area slope m2 to n/10 (the
 * bare key keeps libvips's default, m2 3, as n 30 would). */
static int sharpen(struct run *r, const struct tr_step *s, VipsImage **img)
{
    VipsImage **t = local(r, 2);
    double m2 = s->sharpen > 0 ? s->sharpen / 10 : 3;

    if (vips_sharpen(*img, &t[0], "m2", m2, NULL) || vips_cast_uchar(t[0], &t[1], NULL))
        return vips_fail(r, "cannot sharpen");
    *img = t[1];
    return 0;
}

/* e-usm-radius-sigma-amount-threshold, as ImageMagick's -unsharp: where a pixel differs from its
 * blur (sigma; radius only sizes the kernel, which libvips derives from sigma) by more than
 * threshold (a fraction of the range), add amount times the difference. Alpha is untouched.
 * The image is read three times over; a wide blur reads it far ahead of the other two. */
static int unsharp(struct run *r, const double usm[4], VipsImage **img)
{
    VipsImage **t = local(r, 7);
    VipsImage *colour, *alpha, *blurred;
    double sigma = usm[1] > 0 ? usm[1] : usm[0] > 0 ? usm[0] / 2 : 1;

    if (blur_shrink(sigma, *img) > 1 && materialise(r, img))
        return -EBADMSG;
    if (split_alpha(r, *img, &colour, &alpha))
        return -EBADMSG;
    blurred = colour;
    if (blur(r, sigma, &blurred))
        return -EBADMSG;
    if (vips_subtract(colour, blurred, &t[1], NULL) || vips_linear1(t[1], &t[2], usm[2], 0, NULL) ||
        vips_add(colour, t[2], &t[3], NULL) || vips_abs(t[1], &t[4], NULL) ||
        vips_more_const1(t[4], &t[5], usm[3] * 255, NULL) ||
        vips_ifthenelse(t[5], t[3], colour, &t[6], NULL))
        return vips_fail(r, "cannot sharpen");
    return join_alpha(r, t[6], alpha, img);
}

/* e-grayscale, e-contrast, bl-, e-sharpen, e-usm, in that order. */
static int effects(struct run *r, const struct tr_step *s, VipsImage **img)
{
    VipsImage **t = local(r, 1);

    if (tr_step_has(s, TR_E_GRAYSCALE)) {
        if (vips_colourspace(*img, &t[0], VIPS_INTERPRETATION_B_W, NULL))
            return vips_fail(r, "cannot make grayscale");
        *img = t[0];
    }
    if (tr_step_has(s, TR_E_CONTRAST) && contrast(r, img))
        return -EBADMSG;
    if (tr_step_has(s, TR_BL) && s->blur > 0 && blur(r, s->blur / 2, img)) /* bl is a radius */
        return -EBADMSG;
    if (tr_step_has(s, TR_E_SHARPEN) && sharpen(r, s, img))
        return -EBADMSG;
    if (tr_step_has(s, TR_E_USM) && unsharp(r, s->usm, img))
        return -EBADMSG;
    return 0;
}

/* o-: scale alpha (adding an opaque one first) by opacity / 100. */
static int opacity(struct run *r, int percent, VipsImage **img)
{
    VipsImage **t = local(r, 2);
    VipsImage *colour, *alpha;

    if (!vips_image_hasalpha(*img)) {
        if (vips_addalpha(*img, &t[0], NULL))
            return vips_fail(r, "cannot add alpha");
        *img = t[0];
    }
    if (split_alpha(r, *img, &colour, &alpha))
        return -EBADMSG;
    if (vips_linear1(alpha, &t[1], percent / 100.0, 0, "uchar", TRUE, NULL))
        return vips_fail(r, "cannot apply opacity");
    return join_alpha(r, colour, t[1], img);
}

/* A number of pixels for b- and r-, from a literal or an expression on the current size. */
static int size_px(struct run *r, const struct tr_num *n, VipsImage *img, const char *key,
                   double *out)
{
    struct tr_vars v = {r->iw, r->ih, img->Xsize, img->Ysize};

    if (tr_num_eval(n, &v, out))
        return fail(r, -EINVAL, "%s: the expression cannot be evaluated", key);
    *out = round(*out);
    return 0;
}

/* b-width_colour: a border drawn inside the edge, so that w and h stay exact. */
static int border(struct run *r, const struct tr_step *s, VipsImage **img)
{
    VipsImage **t = local(r, 1);
    int w = (*img)->Xsize, h = (*img)->Ysize;
    struct tr_color c = s->border_color;
    double b;

    if (size_px(r, &s->border_width, *img, "b", &b))
        return -EINVAL;
    if (b <= 0)
        return 0;
    c.a = 255;
    if (2 * b >= w || 2 * b >= h)
        return embed(r, img, w, h, w, h, c); /* nothing of the image is left */
    if (vips_extract_area(*img, &t[0], (int)b, (int)b, w - 2 * (int)b, h - 2 * (int)b, NULL))
        return vips_fail(r, "cannot draw the border");
    *img = t[0];
    return embed(r, img, (int)b, (int)b, w, h, c);
}

/* One axis of the rounded-corner distance: how far (in radii) a pixel centre lies beyond the
 * straight part of the edge, 0 inside it. max(v, 0) is (v + |v|) / 2. */
static int corner_axis(struct run *r, VipsImage *xyz, int band, int size, double radius,
                       VipsImage **out)
{
    VipsImage **t = local(r, 5);
    double half = size / 2.0;

    if (vips_extract_band(xyz, &t[0], band, NULL) ||
        vips_linear1(t[0], &t[1], 1, 0.5 - half, NULL) || vips_abs(t[1], &t[2], NULL) ||
        vips_linear1(t[2], &t[3], 1, radius - half, NULL) || vips_abs(t[3], &t[4], NULL) ||
        vips_add(t[3], t[4], out, NULL))
        return vips_fail(r, "cannot round corners");
    return 0;
}

/* An 8-bit mask, 255 inside a w x h rectangle with elliptical corners of radii rx, ry and 0
 * outside, anti-aliased over one pixel. */
static int corner_mask(struct run *r, int w, int h, double rx, double ry, VipsImage **out)
{
    VipsImage **t = local(r, 9);
    double k = fmin(rx, ry);

    if (vips_xyz(&t[0], w, h, NULL))
        return vips_fail(r, "cannot round corners");
    if (corner_axis(r, t[0], 0, w, rx, &t[1]) || corner_axis(r, t[0], 1, h, ry, &t[2]))
        return -EBADMSG;
    if (vips_linear1(t[1], &t[3], 0.5 / rx, 0, NULL) ||
        vips_linear1(t[2], &t[4], 0.5 / ry, 0, NULL) || vips_multiply(t[3], t[3], &t[5], NULL) ||
        vips_multiply(t[4], t[4], &t[6], NULL) || vips_add(t[5], t[6], &t[7], NULL) ||
        vips_pow_const1(t[7], &t[8], 0.5, NULL) ||
        vips_linear1(t[8], out, -255 * k, 255 * (k + 0.5), "uchar", TRUE, NULL))
        return vips_fail(r, "cannot round corners");
    return 0;
}

/* r-: round the corners (r-max: an ellipse) by multiplying alpha with a mask; formats without
 * alpha get bg there when encoding. */
static int radius(struct run *r, const struct tr_step *s, VipsImage **img)
{
    VipsImage **t = local(r, 4);
    VipsImage *colour, *alpha, *mask;
    int w = (*img)->Xsize, h = (*img)->Ysize;
    double rx = w / 2.0, ry = h / 2.0, rr;

    if (!s->radius_max) {
        if (size_px(r, &s->radius, *img, "r", &rr))
            return -EINVAL;
        rx = ry = fmin(rr, fmin(rx, ry));
    }
    if (rx < 1 || ry < 1)
        return 0;
    if (corner_mask(r, w, h, rx, ry, &t[0]) || split_alpha(r, *img, &colour, &alpha))
        return -EBADMSG;
    mask = t[0];
    if (alpha && (vips_multiply(alpha, t[0], &t[1], NULL) ||
                  vips_linear1(t[1], &t[2], 1 / 255.0, 0, "uchar", TRUE, NULL)))
        return vips_fail(r, "cannot round corners");
    mask = alpha ? t[2] : mask;
    return join_alpha(r, colour, mask, img);
}

/* bg- given and opaque: whatever is transparent at the end of the step shows bg. */
static int background(struct run *r, const struct tr_step *s, VipsImage **img)
{
    VipsImage **t = local(r, 2);
    VipsArrayDouble *bg;
    int rc;

    if (!tr_step_has(s, TR_BG) || s->bg.a < 255 || !vips_image_hasalpha(*img))
        return 0;
    if (fit_colour(r, img, s->bg))
        return -EBADMSG;
    bg = colour_array(*img, s->bg, false);
    rc = vips_flatten(*img, &t[0], "background", bg, NULL);
    vips_area_unref(VIPS_AREA(bg));
    if (rc || vips_cast_uchar(t[0], &t[1], NULL))
        return vips_fail(r, "cannot flatten");
    *img = t[1];
    return 0;
}

/* Everything of a step after its trim, on one frame, in the documented order. */
static int run_step(struct run *r, int step, const struct geom *g, VipsImage **img)
{
    const struct tr_step *s = &r->rq->chain->step[step];
    int rc = geometry(r, s, step, g, img);

    if (!rc && tr_step_has(s, TR_RT))
        rc = rotate(r, s, img);
    if (!rc && tr_step_has(s, TR_FL))
        rc = flip(r, s->flip, img);
    if (!rc)
        rc = effects(r, s, img);
    if (!rc && tr_step_has(s, TR_O) && s->opacity < 100) /* o-100 changes nothing */
        rc = opacity(r, s->opacity, img);
    if (!rc && tr_step_has(s, TR_B))
        rc = border(r, s, img);
    if (!rc && tr_step_has(s, TR_R))
        rc = radius(r, s, img);
    return rc ? rc : background(r, s, img);
}

/* Every step on every frame: a step's size is planned once, from the first frame. */
static int run_steps(struct run *r, VipsImage **frame, int n)
{
    const struct tr_chain *c = r->rq->chain;
    struct geom g;
    int rc = 0;

    for (unsigned i = 0; i < c->nsteps && !rc; i++) {
        if (tr_step_has(&c->step[i], TR_T))
            for (int f = 0; f < n && !rc; f++)
                rc = trim(r, &c->step[i], (int)i, &frame[f]);
        if (!rc && i == 0 && r->plan0_valid)
            g = r->plan0;
        else if (!rc)
            rc = plan_geometry(r, &c->step[i], frame[0]->Xsize, frame[0]->Ysize, &g);
        for (int f = 0; f < n && !rc; f++)
            rc = run_step(r, (int)i, &g, &frame[f]);
    }
    return rc;
}

/* ---- Frames ------------------------------------------------------------------------------ */

/* Cut an animation (one tall image, "page-height" high frames) into frames. */
static int split_frames(struct run *r, VipsImage *img, VipsImage **frame)
{
    VipsImage **t = local(r, r->frames);
    int ph = vips_image_get_page_height(img);

    for (int f = 0; f < r->frames; f++) {
        if (vips_crop(img, &t[f], 0, f * ph, img->Xsize, ph, NULL))
            return vips_fail(r, "cannot split frames");
        frame[f] = t[f];
    }
    return 0;
}

/* Join frames again; timing and loop count come along from the first frame's metadata. */
static int join_frames(struct run *r, VipsImage **frame, VipsImage **out)
{
    VipsImage **t = local(r, 2);

    if (vips_arrayjoin(frame, &t[0], r->frames, "across", 1, NULL) || vips_copy(t[0], &t[1], NULL))
        return vips_fail(r, "cannot join frames");
    vips_image_set_int(t[1], VIPS_META_PAGE_HEIGHT, frame[0]->Ysize);
    *out = t[1];
    return 0;
}

/* prepare and every step, frame by frame for an animation. */
static int transform(struct run *r, VipsImage **img)
{
    VipsImage **frame = g_new0(VipsImage *, r->frames); /* borrowed: ctx owns the images */
    int rc = 0;

    if (r->frames > 1)
        rc = split_frames(r, *img, frame);
    else
        frame[0] = *img;
    for (int f = 0; f < r->frames && !rc; f++)
        rc = prepare(r, &frame[f]);
    if (!rc)
        rc = run_steps(r, frame, r->frames);
    if (!rc && r->frames > 1)
        rc = join_frames(r, frame, img);
    else if (!rc)
        *img = frame[0];
    g_free(frame);
    return rc;
}

/* ---- Encode ------------------------------------------------------------------------------ */

/* md-/cp-: strip everything (the default), or keep what was asked for. Returns whether the
 * saver should strip; when it should not, the unwanted fields are removed from a copy. */
static int metadata(struct run *r, VipsImage **img, gboolean *strip)
{
    VipsImage **t = local(r, 1);
    char **names;

    *strip = !r->out.metadata && !r->out.color_profile;
    if (*strip || (r->out.metadata && r->out.color_profile))
        return 0;
    if (vips_copy(*img, &t[0], NULL))
        return vips_fail(r, "cannot copy metadata");
    names = vips_image_get_fields(t[0]);
    for (char **n = names; *n; n++) {
        bool icc = strcmp(*n, VIPS_META_ICC_NAME) == 0;
        bool meta = g_str_has_prefix(*n, "exif-") || g_str_has_prefix(*n, "xmp-") ||
                    g_str_has_prefix(*n, "iptc-") || g_str_has_prefix(*n, "ipct-");

        if (r->out.metadata ? icc : meta)
            vips_image_remove(t[0], *n);
    }
    g_strfreev(names);
    *img = t[0];
    return 0;
}

/* Flatten alpha onto bg for JPEG, and give AVIF the three bands libheif wants. */
static int output_bands(struct run *r, VipsImage **img)
{
    VipsImage **t = local(r, 3);
    VipsArrayDouble *bg;
    int rc;

    if (!format_has_alpha(r->format) && vips_image_hasalpha(*img)) {
        if (fit_colour(r, img, r->flatten))
            return -EBADMSG;
        bg = colour_array(*img, r->flatten, false);
        rc = vips_flatten(*img, &t[0], "background", bg, NULL);
        vips_area_unref(VIPS_AREA(bg));
        if (rc || vips_cast_uchar(t[0], &t[1], NULL))
            return vips_fail(r, "cannot flatten");
        *img = t[1];
    }
    if (r->format == TR_FMT_AVIF && (*img)->Bands < 3) {
        if (vips_colourspace(*img, &t[2], VIPS_INTERPRETATION_sRGB, NULL))
            return vips_fail(r, "cannot convert to sRGB");
        *img = t[2];
    }
    return 0;
}

/* Encode: this is where libvips decodes and runs the whole pipeline. */
static int save(struct run *r, VipsImage *img, void **buf, size_t *len, gboolean strip)
{
    const struct tr_output *o = &r->out;

    switch (r->format) {
    case TR_FMT_PNG:
        return vips_pngsave_buffer(img, buf, len, "palette", !o->lossless, "Q", o->quality, "strip",
                                   strip, NULL);
    case TR_FMT_WEBP:
        return vips_webpsave_buffer(img, buf, len, "Q", o->quality, "lossless", o->lossless,
                                    "strip", strip, NULL);
    case TR_FMT_AVIF:
        return vips_heifsave_buffer(img, buf, len, "Q", o->quality, "lossless", o->lossless,
                                    "compression", VIPS_FOREIGN_HEIF_COMPRESSION_AV1, "effort",
                                    AVIF_EFFORT, "strip", strip, NULL);
    case TR_FMT_GIF:
        return vips_gifsave_buffer(img, buf, len, "effort", GIF_EFFORT, "strip", strip, NULL);
    default:
        return vips_jpegsave_buffer(img, buf, len, "Q", o->quality, "optimize_coding", TRUE,
                                    "interlace", o->progressive, "strip", strip, NULL);
    }
}

/* libvips 8.14's WebP saver leaks its encoder and its reference to the whole pipeline when the
 * pipeline fails under it (a frame of the source that does not decode): a WebP result is
 * rendered into memory first, so that such a failure comes before the saver starts. */
static int ready_to_save(struct run *r, VipsImage **img)
{
    return r->format == TR_FMT_WEBP ? materialise(r, img) : 0;
}

/* The result meets the output limits too: a source that no step resized (no chain, or only
 * flips and effects) was never planned against them. */
static int encode(struct run *r, VipsImage *img, struct tr_image *out)
{
    gboolean strip;
    int rc =
        check_size(r, img->Xsize, r->frames > 1 ? vips_image_get_page_height(img) : img->Ysize);

    if (!rc)
        rc = output_bands(r, &img);
    if (!rc)
        rc = metadata(r, &img, &strip);
    if (!rc)
        rc = ready_to_save(r, &img);
    if (rc)
        return rc;
    if (save(r, img, &out->data, &out->len, strip))
        return vips_fail(r, "cannot transform the image");
    out->format = r->format;
    out->width = img->Xsize;
    out->height = r->frames > 1 ? vips_image_get_page_height(img) : img->Ysize;
    out->load_shrink = r->shrink;
    out->load_direct = r->direct;
    return 0;
}

/* ---- API --------------------------------------------------------------------------------- */

/* The cheap checks, before libvips is involved. */
static int check_request(struct run *r)
{
    const struct tr_request *rq = r->rq;
    const struct tr_chain *c = rq->chain;

    if (rq->pixels) { /* a decoded frame: it has the properties of a PNG source */
        r->src = (struct tr_sniff){.type = TR_SRC_PNG, .alpha = rq->pixels->bands == 4};
    } else {
        if (rq->len > r->lim->max_input_bytes)
            return fail(r, -E2BIG, "the source is %zu bytes, over the limit of %zu", rq->len,
                        r->lim->max_input_bytes);
        tr_sniff(rq->src, rq->len, &r->src);
        if (!tr_sniff_is_image(&r->src))
            return fail(r, -EBADMSG, "the source is not an image this server decodes");
    }
    tr_chain_output(c, &r->out);
    r->format = rq->format;
    if (r->format == TR_FMT_AUTO || r->format == TR_FMT_ORIG)
        r->format = tr_pick_format(c, &r->src, NULL, false);
    if (r->out.format == TR_FMT_GIF && r->src.type != TR_SRC_GIF) /* f-auto may pick GIF */
        return fail(r, -EINVAL, "f-gif: only a GIF source can be served as GIF");
    for (unsigned i = 0; i < c->nsteps; i++) {
        if (tr_step_has(&c->step[i], TR_PG)) { /* pg-1 changes nothing, as in tr_canonical() */
            r->page = c->step[i].page > 1 ? c->step[i].page - 1 : 0;
            r->pg = r->page > 0;
        }
        if (tr_step_has(&c->step[i], TR_BG))
            r->flatten = c->step[i].bg;
    }
    r->flatten.a = 255;
    return 0;
}

int tr_apply(const struct tr_request *rq, struct tr_image *out, char err[TR_ERR_LEN])
{
    struct run r = {.rq = rq, .lim = rq->limits, .err = err, .frames = 1, .shrink = 1};
    VipsImage *img = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    err[0] = '\0';
    rc = check_request(&r);
    if (rc)
        return rc;
    r.ctx = VIPS_OBJECT(vips_image_new());
    rc = load(&r, &img);
    if (!rc)
        rc = transform(&r, &img);
    if (!rc)
        rc = encode(&r, img, out);
    g_object_unref(r.ctx);
    return rc;
}

int tr_probe(const void *src, size_t len, const struct tr_limits *limits, struct tr_info *out,
             char err[TR_ERR_LEN])
{
    static const struct tr_chain none; /* no steps */
    struct tr_request rq = {
        .chain = &none, .src = src, .len = len, .format = TR_FMT_JPEG, .limits = limits};
    struct run r = {.rq = &rq, .lim = limits, .err = err, .frames = 1};
    VipsImage **t;
    int rc;

    memset(out, 0, sizeof(*out));
    err[0] = '\0';
    rc = check_request(&r);
    if (rc)
        return rc;
    r.ctx = VIPS_OBJECT(vips_image_new());
    t = local(&r, 1);
    rc = open_source(&r, 1, 0, 1, &t[0]) ? vips_fail(&r, "cannot read the image header") : 0;
    if (!rc) {
        bool swap = vips_image_get_orientation_swap(t[0]);

        *out = (struct tr_info){r.src, swap ? t[0]->Ysize : t[0]->Xsize,
                                swap ? t[0]->Xsize : t[0]->Ysize, vips_image_get_n_pages(t[0]),
                                vips_image_get_orientation(t[0])};
    }
    g_object_unref(r.ctx);
    return rc;
}

void tr_image_release(struct tr_image *img)
{
    g_free(img->data);
    memset(img, 0, sizeof(*img));
}

/* Only the loaders of the formats we serve stay reachable; libvips's untrusted ones (magick,
 * svg, pdf, ...) are blocked twice over. */
static void block_loaders(void)
{
    static const char *const allowed[] = {"VipsForeignLoadJpeg", "VipsForeignLoadPng",
                                          "VipsForeignLoadWebp", "VipsForeignLoadNsgif",
                                          "VipsForeignLoadHeif", "VipsForeignLoadTiff"};

    vips_block_untrusted_set(TRUE);
    vips_operation_block_set("VipsForeignLoad", TRUE);
    for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
        vips_operation_block_set(allowed[i], FALSE);
}

/* libvips's warnings ("error in tile ...", "ignoring nclx profile") repeat what tr_apply()
 * returns in err or are harmless; they must not reach a server's stderr once per request. */
static void drop_warning(const char *domain, GLogLevelFlags level, const char *msg, void *data)
{
    (void)domain;
    (void)level;
    (void)msg;
    (void)data;
}

int tr_init(const char *argv0, int vips_threads)
{
    if (VIPS_INIT(argv0))
        return -1;
    g_log_set_handler("VIPS", G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO,
                      drop_warning, NULL);
    block_loaders();
    vips_cache_set_max(0);
    vips_cache_set_max_mem(0);
    vips_concurrency_set(vips_threads > 0 ? vips_threads : 1);
    return 0;
}

void tr_shutdown(void)
{
    vips_shutdown();
}

void tr_thread_done(void)
{
    vips_thread_shutdown();
}
