/* video/vid_geom.c: c-, cm-, fo-, w, h, ar and rt as a resize, crop and pad plan (pure). The
 * decisions are the image engine's (transform/tr_apply.c, plan_geometry), then every size and
 * offset is rounded down to even. */
#include "vid_geom.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>

/* One step's geometry before rounding: resize to rw x rh, then cut (crop) or place (pad) at
 * x, y on an ow x oh frame. */
struct box {
    int rw, rh, ow, oh, x, y;
    bool pad;
};

__attribute__((format(printf, 3, 4))) static int fail(char *err, int rc, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, VID_ERR_LEN, fmt, ap);
    va_end(ap);
    return rc;
}

static int even(int v)
{
    return v < 2 ? 2 : v & ~1;
}

static int imin(int a, int b)
{
    return a < b ? a : b;
}

static int scaled(int v, double s)
{
    double n = round(v * s);

    return n < 1 ? 1 : n > INT_MAX / 2 ? INT_MAX / 2 : (int)n;
}

/* fo- as halves of the free space: 0 left/top, 1 centre, 2 right/bottom. */
static void focus_halves(enum vid_focus f, int *fx, int *fy)
{
    static const signed char halves[][2] = {
        [VID_FO_CENTER] = {1, 1},    [VID_FO_TOP] = {1, 0},         [VID_FO_LEFT] = {0, 1},
        [VID_FO_BOTTOM] = {1, 2},    [VID_FO_RIGHT] = {2, 1},       [VID_FO_TOP_LEFT] = {0, 0},
        [VID_FO_TOP_RIGHT] = {2, 0}, [VID_FO_BOTTOM_LEFT] = {0, 2}, [VID_FO_BOTTOM_RIGHT] = {2, 2},
    };
    unsigned i = (unsigned)f < sizeof(halves) / sizeof(halves[0]) ? (unsigned)f : 0;

    *fx = halves[i][0];
    *fy = halves[i][1];
}

/* w or h in whole pixels: a value in (0, 1) is a fraction of the source side; 0 not given. */
static int side(double v, int src, const char *key, const struct vid_limits *lim, int *out,
                char *err)
{
    double px = v > 0 && v < 1 ? v * src : v;

    *out = 0;
    if (v == 0)
        return 0;
    if (!(px >= 1))
        return fail(err, -EINVAL, "%s: %g is not a size in pixels", key, v);
    if (px > lim->max_output_dim)
        return fail(err, -E2BIG, "%s: %.0f is over the limit of %d pixels", key, px,
                    lim->max_output_dim);
    *out = (int)round(px);
    return 0;
}

/* The requested width and height (0: not given), ar filling in the missing one. */
static int requested(const struct vid_params *p, int sw, int sh, const struct vid_limits *lim,
                     int *w, int *h, char *err)
{
    int rc = side(p->w, sw, "w", lim, w, err);

    if (!rc)
        rc = side(p->h, sh, "h", lim, h, err);
    if (rc || !(p->ar > 0) || (*w && *h) || (!*w && !*h))
        return rc;
    if (*w)
        *h = scaled(*w, 1 / p->ar);
    else
        *w = scaled(*h, p->ar);
    if (*w > lim->max_output_dim || *h > lim->max_output_dim)
        return fail(err, -E2BIG, "ar: %dx%d is over the limit of %d pixels a side", *w, *h,
                    lim->max_output_dim);
    return 0;
}

/* One side given: the other follows the aspect ratio; at_max never enlarges. */
static void plan_one_side(const struct vid_params *p, int sw, int sh, int w, int h, struct box *b)
{
    double sc = w ? (double)w / sw : (double)h / sh;

    if (p->crop == VID_CROP_AT_MAX && p->crop_mode != VID_CM_PAD_RESIZE && sc > 1)
        sc = 1;
    b->rw = w && sc == (double)w / sw ? w : scaled(sw, sc);
    b->rh = h && sc == (double)h / sh ? h : scaled(sh, sc);
    b->ow = b->rw;
    b->oh = b->rh;
}

/* Both sides given: cm-pad_resize, then the c- modes. Fitting modes scale by the smaller ratio,
 * covering modes by the larger. */
static void plan_box(const struct vid_params *p, int sw, int sh, int w, int h, struct box *b)
{
    double sx = (double)w / sw, sy = (double)h / sh;
    bool pad = p->crop_mode == VID_CM_PAD_RESIZE;
    bool fit = pad || p->crop == VID_CROP_AT_MAX || p->crop == VID_CROP_AT_MAX_ENLARGE;
    double sc = fit ? fmin(sx, sy) : fmax(sx, sy);
    int rw, rh, fx, fy;

    if (!pad && p->crop == VID_CROP_AT_MAX && sc > 1)
        sc = 1;
    rw = sc == sx ? w : scaled(sw, sc);
    rh = sc == sy ? h : scaled(sh, sc);
    rw = fit || rw > w ? rw : w;
    rh = fit || rh > h ? rh : h;
    focus_halves(p->focus, &fx, &fy);
    if (pad)
        *b = (struct box){rw, rh, w, h, (w - rw) * fx / 2, (h - rh) * fy / 2, true};
    else if (p->crop == VID_CROP_FORCE)
        *b = (struct box){w, h, w, h, 0, 0, false};
    else if (p->crop == VID_CROP_MAINTAIN_RATIO)
        *b = (struct box){rw, rh, w, h, (rw - w) * fx / 2, (rh - h) * fy / 2, false};
    else
        *b = (struct box){rw, rh, rw, rh, 0, 0, false};
}

/* cm-extract cuts w x h out of the frame, which must contain it; cm-pad_extract places the
 * frame on a w x h canvas at fo, cropping where the canvas is smaller. */
static int plan_extract(const struct vid_params *p, int sw, int sh, int w, int h, struct box *b,
                        char *err)
{
    int fx, fy;

    focus_halves(p->focus, &fx, &fy);
    if (p->crop_mode == VID_CM_PAD_EXTRACT) {
        *b = (struct box){sw, sh, w, h, (w - sw) * fx / 2, (h - sh) * fy / 2, true};
        return 0;
    }
    if (w > sw || h > sh)
        return fail(err, -EINVAL, "cm-extract: a %dx%d region does not fit in the %dx%d frame", w,
                    h, sw, sh);
    *b = (struct box){sw, sh, w, h, (sw - w) * fx / 2, (sh - h) * fy / 2, false};
    return 0;
}

/* The box as resize, crop and pad, everything even. A side that is not resized keeps its odd
 * size until the crop evens it, which costs no resampling. A pad with a negative offset crops
 * the frame to the canvas first. */
static void to_plan(const struct box *b, struct vid_geom *g)
{
    g->scale_w = b->rw == g->in_w ? g->in_w : even(b->rw);
    g->scale_h = b->rh == g->in_h ? g->in_h : even(b->rh);
    g->pad_w = even(b->ow);
    g->pad_h = even(b->oh);
    g->crop_x = b->pad ? (b->x < 0 ? (-b->x) & ~1 : 0) : (b->x > 0 ? b->x & ~1 : 0);
    g->crop_y = b->pad ? (b->y < 0 ? (-b->y) & ~1 : 0) : (b->y > 0 ? b->y & ~1 : 0);
    g->pad_x = b->pad && b->x > 0 ? b->x & ~1 : 0;
    g->pad_y = b->pad && b->y > 0 ? b->y & ~1 : 0;
    g->crop_w = even(imin(g->scale_w - g->crop_x, g->pad_w - g->pad_x));
    g->crop_h = even(imin(g->scale_h - g->crop_y, g->pad_h - g->pad_y));
}

static int check_out(const struct vid_geom *g, const struct vid_limits *lim, char *err)
{
    int big = g->scale_w > g->scale_h ? g->scale_w : g->scale_h;
    int obig = g->pad_w > g->pad_h ? g->pad_w : g->pad_h;

    if (big > lim->max_output_dim || obig > lim->max_output_dim)
        return fail(err, -E2BIG, "a %dx%d frame (resized to %dx%d) is over the limit of %d pixels",
                    g->pad_w, g->pad_h, g->scale_w, g->scale_h, lim->max_output_dim);
    if ((uint64_t)g->pad_w * (uint64_t)g->pad_h > lim->max_output_pixels)
        return fail(err, -E2BIG, "a %dx%d frame is over the limit of %llu pixels", g->pad_w,
                    g->pad_h, (unsigned long long)lim->max_output_pixels);
    return 0;
}

int vid_geom_plan(const struct vid_params *p, int src_w, int src_h, const struct vid_limits *lim,
                  struct vid_geom *g, char err[VID_ERR_LEN])
{
    struct box b = {src_w, src_h, src_w, src_h, 0, 0, false};
    int w, h, rc;

    if (src_w < 1 || src_h < 1)
        return fail(err, -EBADMSG, "the video has no size (%dx%d)", src_w, src_h);
    rc = requested(p, src_w, src_h, lim, &w, &h, err);
    if (rc)
        return rc;
    w = w ? even(w) : 0;
    h = h ? even(h) : 0;
    if (p->crop_mode == VID_CM_EXTRACT || p->crop_mode == VID_CM_PAD_EXTRACT)
        rc = plan_extract(p, src_w, src_h, w ? w : even(src_w), h ? h : even(src_h), &b, err);
    else if (w && h)
        plan_box(p, src_w, src_h, w, h, &b);
    else if (w || h)
        plan_one_side(p, src_w, src_h, w, h, &b);
    if (rc)
        return rc;
    *g = (struct vid_geom){.in_w = src_w, .in_h = src_h, .rotate = p->rotate};
    to_plan(&b, g);
    g->out_w = g->rotate % 180 ? g->pad_h : g->pad_w;
    g->out_h = g->rotate % 180 ? g->pad_w : g->pad_h;
    return check_out(g, lim, err);
}

void vid_geom_rendition(int src_w, int src_h, int h, struct vid_geom *g)
{
    struct box b = {scaled(src_w, (double)h / src_h), h, 0, 0, 0, 0, false};

    b.ow = b.rw;
    b.oh = b.rh;
    *g = (struct vid_geom){.in_w = src_w, .in_h = src_h};
    to_plan(&b, g);
    g->out_w = g->pad_w;
    g->out_h = g->pad_h;
}

bool vid_geom_scales(const struct vid_geom *g)
{
    return g->scale_w != g->in_w || g->scale_h != g->in_h;
}

bool vid_geom_crops(const struct vid_geom *g)
{
    return g->crop_x || g->crop_y || g->crop_w != g->scale_w || g->crop_h != g->scale_h;
}

bool vid_geom_pads(const struct vid_geom *g)
{
    return g->pad_x || g->pad_y || g->pad_w != g->crop_w || g->pad_h != g->crop_h;
}
