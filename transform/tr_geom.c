/* transform/tr_geom.c: the arithmetic of a step's geometry (tr_geom.h). Pure: no libvips, no
 * allocation; every function reads its inputs and writes its outputs, nothing else. */
#include "tr_geom.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

__attribute__((format(printf, 3, 4))) static int fail(const struct tr_geom_ctx *c, int rc,
                                                      const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(c->err, TR_ERR_LEN, fmt, ap);
    va_end(ap);
    return rc;
}

/* " x 12 frames" for an animation, "" otherwise: for messages. */
static const char *frames_note(const struct tr_geom_ctx *c, char buf[32])
{
    buf[0] = '\0';
    if (c->frames > 1)
        snprintf(buf, 32, " x %d frames", c->frames);
    return buf;
}

int tr_geom_check_size(const struct tr_geom_ctx *c, int w, int h)
{
    uint64_t px = (uint64_t)w * (uint64_t)h * (uint64_t)c->frames;
    char note[32];

    if (w > c->lim->max_output_dim || h > c->lim->max_output_dim)
        return fail(c, -E2BIG, "a %dx%d image exceeds the limit of %d px a side", w, h,
                    c->lim->max_output_dim);
    if (px > c->lim->max_output_pixels)
        return fail(c, -E2BIG, "a %dx%d image%s exceeds the limit of %llu pixels", w, h,
                    frames_note(c, note), (unsigned long long)c->lim->max_output_pixels);
    return 0;
}

/* n in pixels: a literal in (0,1) is that fraction of ref; auto is the Sec-CH-Width hint
 * rounded up to the next 100 px, as ImageKit does (fewer variants to make and cache). */
static int num_px(const struct tr_geom_ctx *c, const struct tr_num *n, double ref,
                  const struct tr_vars *v, const char *key, double *out)
{
    double val = n->value[0];

    if (n->kind == TR_NUM_AUTO) {
        *out = tr_hint_width(c->hint_width);
        return 0;
    }
    if (n->kind == TR_NUM_LITERAL && n->var[0] == TR_VAR_NONE && val > 0 && val < 1) {
        *out = val * ref;
        return 0;
    }
    if (tr_num_eval(n, v, out))
        return fail(c, -EINVAL, "%s: the expression cannot be evaluated (division by zero?)", key);
    return 0;
}

/* A size (w, h, border, radius) as whole pixels: at least 1, at most the output limit. */
static int whole_px(const struct tr_geom_ctx *c, const char *key, double *v)
{
    if (!(*v >= 0.5))
        return fail(c, -EINVAL, "%s: %g is not a size in pixels", key, *v);
    if (*v > c->lim->max_output_dim)
        return fail(c, -E2BIG, "%s: %.10g exceeds the limit of %d px", key, *v,
                    c->lim->max_output_dim);
    *v = round(*v);
    return 0;
}

/* dpr scales w and h unless a result would leave 1..5000 px, when ImageKit ignores it. */
static int apply_dpr(const struct tr_geom_ctx *c, const struct tr_step *s, const struct tr_vars *v,
                     double *w, double *h)
{
    double d = 1;

    if (s->dpr.kind == TR_NUM_AUTO)
        d = c->hint_dpr > 0 ? tr_hint_dpr(c->hint_dpr) : 1;
    else if (tr_num_eval(&s->dpr, v, &d) || !(d > 0))
        return fail(c, -EINVAL, "dpr: not a positive number");
    if ((*w && (*w * d < 1 || *w * d > 5000)) || (*h && (*h * d < 1 || *h * d > 5000)))
        return 0;
    *w *= d;
    *h *= d;
    return 0;
}

/* w or h of a step in pixels: 0 when not given (or w-auto without a hint). */
static int side_px(const struct tr_geom_ctx *c, const struct tr_step *s, enum tr_key k,
                   const struct tr_vars *v, double *out)
{
    const struct tr_num *n = k == TR_W ? &s->w : &s->h;
    const char *key = k == TR_W ? "w" : "h";

    *out = 0;
    if (!tr_step_has(s, k))
        return 0;
    if (num_px(c, n, k == TR_W ? v->cw : v->ch, v, key, out))
        return -EINVAL;
    if (n->kind == TR_NUM_AUTO && *out == 0)
        return 0;
    return whole_px(c, key, out);
}

/* The step's requested width and height in pixels (0: not given), after ar and dpr. */
static int step_size(const struct tr_geom_ctx *c, const struct tr_step *s, const struct tr_vars *v,
                     double *w, double *h)
{
    double ar;
    int rc = side_px(c, s, TR_W, v, w);

    if (!rc)
        rc = side_px(c, s, TR_H, v, h);
    if (rc)
        return rc;
    if (tr_step_has(s, TR_AR) && (*w > 0) != (*h > 0)) {
        if (tr_num_eval(&s->ar, v, &ar) || !(ar > 0))
            return fail(c, -EINVAL, "ar: not a positive ratio");
        if (*w > 0)
            *h = *w / ar;
        else
            *w = *h * ar;
    }
    if ((*w > 0 || *h > 0) && tr_step_has(s, TR_DPR) && apply_dpr(c, s, v, w, h))
        return -EINVAL;
    rc = *w > 0 ? whole_px(c, "w", w) : 0;
    return rc || *h == 0 ? rc : whole_px(c, "h", h);
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

static bool focus_is_smart(const struct tr_step *s)
{
    return s->focus == TR_FO_AUTO || s->focus == TR_FO_FACE;
}

/* v scaled by s, in [1, INT_MAX]: a size beyond the limits stays beyond them, never wraps. */
static int scaled(int v, double s)
{
    double x = round(v * s);

    return !(x >= 1) ? 1 : x >= INT_MAX ? INT_MAX : (int)x;
}

/* Where fo puts a thing in a room of this many pixels (negative: it overhangs), given in
 * halves. The product is taken in 64 bits: sizes are checked against the limits after this
 * for padding and extracts, and a 1x70000 source resized to cover 16383x1 has a room of a
 * billion rows. */
static int offset(int room, int halves)
{
    return (int)((int64_t)room * halves / 2);
}

/* One side given: the other follows the aspect ratio; at_max never enlarges. */
static void plan_one_side(const struct tr_step *s, int cw, int ch, double w, double h,
                          struct tr_geom *g)
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
 * exact, and a covering side never rounds below what it must cover. The resize is checked
 * against the limits before anything is computed from it. */
static int plan_box(const struct tr_geom_ctx *c, const struct tr_step *s, int cw, int ch, int w,
                    int h, struct tr_geom *g)
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
    if (s->crop != TR_CROP_FORCE && tr_geom_check_size(c, rw, rh))
        return -E2BIG;
    focus_halves(s->focus, &fx, &fy);
    if (pad)
        *g = (struct tr_geom){rw, rh, w, h, TR_GEOM_PAD, offset(w - rw, fx), offset(h - rh, fy)};
    else if (s->crop == TR_CROP_FORCE)
        *g = (struct tr_geom){w, h, w, h, TR_GEOM_KEEP, 0, 0};
    else if (s->crop == TR_CROP_MAINTAIN_RATIO)
        *g = (struct tr_geom){rw,
                              rh,
                              w,
                              h,
                              focus_is_smart(s) ? TR_GEOM_SMART : TR_GEOM_CROP,
                              offset(rw - w, fx),
                              offset(rh - h, fy)};
    else
        *g = (struct tr_geom){rw, rh, rw, rh, TR_GEOM_KEEP, 0, 0};
    return 0;
}

/* One coordinate of cm-extract: from x (left), else xc (centre), else fo. A coordinate that
 * puts the region's corner outside the image is an error here, before it becomes an int. */
static int extract_origin(const struct tr_geom_ctx *c, const struct tr_step *s, bool vertical,
                          const struct tr_vars *v, int size, int *out)
{
    enum tr_key k = vertical ? TR_Y : TR_X, kc = vertical ? TR_YC : TR_XC;
    const struct tr_num *n = vertical ? &s->y : &s->x, *nc = vertical ? &s->yc : &s->xc;
    const char *key = vertical ? "y" : "x";
    double ref = vertical ? v->ch : v->cw, val;
    int fx, fy;

    if (tr_step_has(s, k) || tr_step_has(s, kc)) {
        if (num_px(c, tr_step_has(s, k) ? n : nc, ref, v, key, &val))
            return -EINVAL;
        val = round(tr_step_has(s, k) ? val : val - size / 2.0);
        if (!(val >= 0 && val <= ref))
            return fail(c, -EINVAL, "cm-extract: %s %g is outside the %.0f px of the image", key,
                        val, ref);
        *out = (int)val;
        return 0;
    }
    focus_halves(s->focus, &fx, &fy);
    *out = offset((int)ref - size, vertical ? fy : fx);
    return 0;
}

/* cm-extract cuts w x h out of the image, which must contain it; cm-pad_extract places the
 * image on a w x h canvas of bg at fo, cropping where the canvas is smaller. */
static int plan_extract(const struct tr_geom_ctx *c, const struct tr_step *s,
                        const struct tr_vars *v, int w, int h, struct tr_geom *g)
{
    int cw = (int)v->cw, ch = (int)v->ch, fx, fy;
    bool pos = tr_step_has(s, TR_X) || tr_step_has(s, TR_Y) || tr_step_has(s, TR_XC) ||
               tr_step_has(s, TR_YC);

    focus_halves(s->focus, &fx, &fy);
    *g = (struct tr_geom){0, 0, w, h, TR_GEOM_PAD, offset(w - cw, fx), offset(h - ch, fy)};
    if (s->crop_mode == TR_CM_PAD_EXTRACT)
        return 0;
    g->op = focus_is_smart(s) && !pos ? TR_GEOM_SMART : TR_GEOM_CROP;
    if (extract_origin(c, s, false, v, w, &g->x) || extract_origin(c, s, true, v, h, &g->y))
        return -EINVAL;
    if (g->x < 0 || g->y < 0 || w > cw - g->x || h > ch - g->y)
        return fail(c, -EINVAL, "cm-extract: the %dx%d region at %d,%d is outside the %dx%d image",
                    w, h, g->x, g->y, cw, ch);
    return 0;
}

int tr_geom_plan(const struct tr_geom_ctx *c, const struct tr_step *s, int cw, int ch,
                 struct tr_geom *g)
{
    struct tr_vars v = {c->iw, c->ih, cw, ch, c->bw, c->bh};
    double w, h;
    int rc;

    *g = (struct tr_geom){0, 0, cw, ch, TR_GEOM_KEEP, 0, 0};
    rc = step_size(c, s, &v, &w, &h);
    if (rc)
        return rc;
    if (s->crop_mode == TR_CM_EXTRACT || s->crop_mode == TR_CM_PAD_EXTRACT)
        rc = plan_extract(c, s, &v, w > 0 ? (int)w : cw, h > 0 ? (int)h : ch, g);
    else if (w > 0 && h > 0)
        rc = plan_box(c, s, cw, ch, (int)w, (int)h, g);
    else if (w > 0 || h > 0)
        plan_one_side(s, cw, ch, w, h, g);
    if (rc)
        return rc;
    if (g->rw && (rc = tr_geom_check_size(c, g->rw, g->rh)))
        return rc;
    return tr_geom_check_size(c, g->ow, g->oh);
}

/* The largest shrink-on-load factor that keeps the decoded image at least as big as the first
 * resize: JPEG decodes at 1/2, 1/4 or 1/8 in the DCT; WebP scales while decoding. Unlike
 * vips_thumbnail in libvips 8.14 we leave no factor of two for the resize, which is what makes
 * a 1920x1080 to 300x300 cover decode at half size instead of full size. */
int tr_geom_shrink(enum tr_source_type type, int iw, int ih, const struct tr_geom *first)
{
    double f;

    if (!first->rw)
        return 1;
    f = fmin((double)iw / first->rw, (double)ih / first->rh);
    if (type == TR_SRC_JPEG)
        return f >= 8 ? 8 : f >= 4 ? 4 : f >= 2 ? 2 : 1;
    if (type == TR_SRC_WEBP && f >= 2)
        return (int)f;
    return 1;
}

int tr_geom_px(const struct tr_geom_ctx *c, const struct tr_num *n, int cw, int ch, const char *key,
               double *out)
{
    struct tr_vars v = {c->iw, c->ih, cw, ch, c->bw, c->bh};

    if (tr_num_eval(n, &v, out))
        return fail(c, -EINVAL, "%s: the expression cannot be evaluated", key);
    *out = round(*out);
    return 0;
}

/* A kernel grows with sigma (bl-100 took 9 s on 12 MP), so a wide blur runs on the image shrunk
 * k times, with sigma / k, and is resized back: what a wide blur removes, the shrink cannot
 * lose (mean error under 0.5 levels). */
int tr_geom_blur_shrink(double sigma, int w, int h)
{
    int k = sigma >= 8 ? (int)(sigma / 4) : 1;

    return k > w / 4 || k > h / 4 ? 1 : k;
}

/* Positions past this are off any image we make; it keeps the arithmetic in int. */
#define PLACE_MAX 1000000

/* One axis of a layer's place: at (lx/ly: from the left/top edge, or with a negative value the
 * right/bottom edge |at| from the base's, as CSS right: 10px), else centre (lxc/lyc: where
 * its centre goes), else the side lfo names (-1 left/top, 0 centre, 1 right/bottom). */
static int place_axis(const struct tr_geom_ctx *c, const struct tr_vars *v, const struct tr_num *at,
                      const struct tr_num *centre, int side, int base, int size, int *out)
{
    double x;

    if (at->kind == TR_NUM_UNSET && centre->kind == TR_NUM_UNSET) {
        *out = side < 0 ? 0 : side > 0 ? base - size : (int)floor((base - size) / 2.0);
        return 0;
    }
    if (tr_num_eval(at->kind != TR_NUM_UNSET ? at : centre, v, &x))
        return fail(c, -EINVAL, "%s: the expression cannot be evaluated",
                    at->kind != TR_NUM_UNSET ? "lx/ly" : "lxc/lyc");
    x = fmax(-PLACE_MAX, fmin(PLACE_MAX, round(x)));
    if (at->kind == TR_NUM_UNSET)
        *out = (int)x - (int)floor(size / 2.0);
    else
        *out = x < 0 ? base - size + (int)x : (int)x;
    return 0;
}

int tr_geom_place(const struct tr_geom_ctx *c, const struct tr_step *s, int bw, int bh, int lw,
                  int lh, int *x, int *y)
{
    static const signed char hside[] = {
        [TR_FO_LEFT] = -1, [TR_FO_TOP_LEFT] = -1, [TR_FO_BOTTOM_LEFT] = -1,
        [TR_FO_RIGHT] = 1, [TR_FO_TOP_RIGHT] = 1, [TR_FO_BOTTOM_RIGHT] = 1,
        [TR_FO_FACE] = 0};
    static const signed char vside[] = {
        [TR_FO_TOP] = -1,   [TR_FO_TOP_LEFT] = -1,   [TR_FO_TOP_RIGHT] = -1,
        [TR_FO_BOTTOM] = 1, [TR_FO_BOTTOM_LEFT] = 1, [TR_FO_BOTTOM_RIGHT] = 1,
        [TR_FO_FACE] = 0};
    struct tr_vars v = {c->iw, c->ih, bw, bh, bw, bh};
    int fo = tr_step_has(s, TR_LFO) ? (int)s->layer_focus : TR_FO_CENTER;
    const struct tr_num *lx = tr_step_has(s, TR_LX) ? &s->lx : &(struct tr_num){0};
    const struct tr_num *ly = tr_step_has(s, TR_LY) ? &s->ly : &(struct tr_num){0};
    const struct tr_num *lxc = tr_step_has(s, TR_LXC) ? &s->lxc : &(struct tr_num){0};
    const struct tr_num *lyc = tr_step_has(s, TR_LYC) ? &s->lyc : &(struct tr_num){0};

    if (fo < 0 || fo > TR_FO_FACE)
        fo = TR_FO_CENTER;
    if (place_axis(c, &v, lx, lxc, hside[fo], bw, lw, x) ||
        place_axis(c, &v, ly, lyc, vside[fo], bh, lh, y))
        return -EINVAL;
    return 0;
}
