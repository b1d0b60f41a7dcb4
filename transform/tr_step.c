/* transform/tr_step.c: the steps of a chain on the pixels (tr_step.h), each a libvips
 * pipeline on the previous result: trim, geometry as tr_geom.c planned it, the step's layers
 * (tr_layer.c), rotate, flip, the effects, opacity, border, radius, background. */
#include "tr_step.h"
#include "tr_layer.h"

#include <errno.h>
#include <math.h>
#include <string.h>

/* Where t- finds the box to keep, on the first frame: the background is the top-left pixel,
 * or transparency when the image has alpha (then only alpha is measured). */
static int find_trim(struct tr_run *r, const struct tr_step *s, VipsImage *img, struct tr_memo *m)
{
    VipsImage **t = tr_run_local(r, 1);
    VipsImage *probe = img;
    VipsArrayDouble *bg;
    double *px = NULL, clear = 0;
    int n = 1, rc;

    if (vips_image_hasalpha(img)) {
        if (vips_extract_band(img, &t[0], img->Bands - 1, NULL))
            return tr_run_lib_fail(r, "cannot trim");
        probe = t[0];
    } else if (vips_getpoint(img, &px, &n, 0, 0, NULL)) {
        return tr_run_lib_fail(r, "cannot trim");
    }
    bg = vips_array_double_new(px ? px : &clear, n);
    rc = vips_find_trim(probe, &m->trim_left, &m->trim_top, &m->trim_width, &m->trim_height,
                        "threshold", (double)s->trim, "background", bg, NULL);
    vips_area_unref(VIPS_AREA(bg));
    g_free(px);
    if (rc)
        return tr_run_lib_fail(r, "cannot trim");
    m->trim_set = true;
    return 0;
}

/* t-: cut a flat border; an image that is all background is left alone. */
int tr_step_trim(struct tr_run *r, const struct tr_step *s, struct tr_memo *m, VipsImage **img)
{
    VipsImage **t = tr_run_local(r, 1);
    int rc;

    if ((rc = tr_run_materialise(r, img)) || (!m->trim_set && (rc = find_trim(r, s, *img, m))))
        return rc;
    if (m->trim_width == 0 || m->trim_height == 0)
        return 0;
    if (vips_extract_area(*img, &t[0], m->trim_left, m->trim_top, m->trim_width, m->trim_height,
                          NULL))
        return tr_run_lib_fail(r, "cannot trim");
    *img = t[0];
    return 0;
}

/* fo-auto (and fo-face, until there is a face detector): libvips's attention crop, placed on
 * the first frame and reused for the others. */
static int smart_crop(struct tr_run *r, struct tr_memo *m, const struct tr_geom *g, VipsImage **img)
{
    VipsImage **t = tr_run_local(r, 2);
    int rc;

    if (!m->crop_set) {
        if ((rc = tr_run_materialise(r, img)))
            return rc;
        if (vips_smartcrop(*img, &t[0], g->ow, g->oh, "interesting", VIPS_INTERESTING_ATTENTION,
                           NULL))
            return tr_run_lib_fail(r, "cannot crop");
        m->crop_left = -t[0]->Xoffset;
        m->crop_top = -t[0]->Yoffset;
        m->crop_set = true;
        *img = t[0];
        return 0;
    }
    if (vips_extract_area(*img, &t[1], m->crop_left, m->crop_top, g->ow, g->oh, NULL))
        return tr_run_lib_fail(r, "cannot crop");
    *img = t[1];
    return 0;
}

/* w h ar c cm fo x y xc yc dpr: resize, then crop or pad, as planned. */
static int geometry(struct tr_run *r, const struct tr_step *s, struct tr_memo *m,
                    const struct tr_geom *g, VipsImage **img)
{
    VipsImage **t = tr_run_local(r, 1);
    int rc = g->rw ? tr_run_resize(r, img, g->rw, g->rh) : 0;

    if (rc)
        return rc;
    switch (g->op) {
    case TR_GEOM_KEEP:
        return 0;
    case TR_GEOM_SMART:
        return smart_crop(r, m, g, img);
    case TR_GEOM_PAD:
        return tr_run_embed(r, img, g->x, g->y, g->ow, g->oh, tr_run_step_bg(s));
    case TR_GEOM_CROP:
        break;
    }
    if (vips_extract_area(*img, &t[0], g->x, g->y, g->ow, g->oh, NULL))
        return tr_run_lib_fail(r, "cannot crop");
    *img = t[0];
    return 0;
}

/* rt- at an angle that is not a multiple of 90: the corners are bg when the step gives one,
 * transparent when the output format has alpha or inside a layer, black otherwise. The result is
 * rendered into memory: a later resize reads it in thin strips, each of which an affine transform
 * computes from a region spanning the image (rt-45:h-900 of 12 MP took over 30 s, 1.2 s now). */
static int rotate_any(struct tr_run *r, const struct tr_step *s, double deg, VipsImage **img)
{
    static const struct tr_color clear = {0, 0, 0, 0};
    VipsImage **t = tr_run_local(r, 2);
    VipsImage *in = *img;
    struct tr_color c = tr_step_has(s, TR_BG) || !(tr_run_has_alpha(r->format) || r->layer_depth)
                            ? tr_run_step_bg(s)
                            : clear;
    VipsArrayDouble *bg;
    int rc;

    if ((rc = tr_run_fit_colour(r, &in, c)))
        return rc;
    if (c.a < 255 && !vips_image_hasalpha(in)) {
        if (vips_addalpha(in, &t[0], NULL))
            return tr_run_lib_fail(r, "cannot add alpha");
        in = t[0];
    }
    bg = tr_run_colour_array(in, c, true);
    rc = vips_rotate(in, &t[1], -deg, "background", bg, NULL); /* libvips turns anticlockwise */
    vips_area_unref(VIPS_AREA(bg));
    if (rc)
        return tr_run_lib_fail(r, "cannot rotate");
    *img = t[1];
    rc = tr_run_check_size(r, t[1]->Xsize, t[1]->Ysize);
    return rc ? rc : tr_run_materialise(r, img);
}

/* rt-: degrees clockwise; rt-auto is a no-op, EXIF orientation is always applied. */
int tr_step_rotate(struct tr_run *r, const struct tr_step *s, VipsImage **img)
{
    static const VipsAngle right[] = {VIPS_ANGLE_D0, VIPS_ANGLE_D90, VIPS_ANGLE_D180,
                                      VIPS_ANGLE_D270};
    VipsImage **t = tr_run_local(r, 1);
    double deg = fmod(s->rotate, 360);
    int rc;

    deg = deg < 0 ? deg + 360 : deg;
    if (s->rotate_auto || deg == 0)
        return 0;
    if ((rc = tr_run_materialise(r, img)))
        return rc;
    if (fmod(deg, 90) != 0)
        return rotate_any(r, s, deg, img);
    if (vips_rot(*img, &t[0], right[(int)(deg / 90)], NULL))
        return tr_run_lib_fail(r, "cannot rotate");
    *img = t[0];
    return 0;
}

/* fl-: a horizontal mirror streams; a vertical one reads bottom-up. */
int tr_step_flip(struct tr_run *r, enum tr_flip how, VipsImage **img)
{
    VipsImage **t = tr_run_local(r, 2);
    int rc;

    if (how & TR_FLIP_H) {
        if (vips_flip(*img, &t[0], VIPS_DIRECTION_HORIZONTAL, NULL))
            return tr_run_lib_fail(r, "cannot flip");
        *img = t[0];
    }
    if (how & TR_FLIP_V) {
        if ((rc = tr_run_materialise(r, img)))
            return rc;
        if (vips_flip(*img, &t[1], VIPS_DIRECTION_VERTICAL, NULL))
            return tr_run_lib_fail(r, "cannot flip");
        *img = t[1];
    }
    return 0;
}

/* e-contrast: stretch the 1st..99th percentile of luminance to the full range. */
static int contrast(struct tr_run *r, VipsImage **img)
{
    VipsImage **t = tr_run_local(r, 3);
    VipsImage *colour, *alpha;
    int lo, hi, rc;

    if ((rc = tr_run_materialise(r, img)) || (rc = tr_run_split_alpha(r, *img, &colour, &alpha)))
        return rc;
    if (vips_colourspace(colour, &t[0], VIPS_INTERPRETATION_B_W, NULL) ||
        vips_percent(t[0], 1, &lo, NULL) || vips_percent(t[0], 99, &hi, NULL))
        return tr_run_lib_fail(r, "cannot measure contrast");
    if (hi - lo < 2)
        return 0;
    if (vips_linear1(colour, &t[1], 255.0 / (hi - lo), -255.0 * lo / (hi - lo), NULL))
        return tr_run_lib_fail(r, "cannot stretch contrast");
    return tr_run_join_alpha(r, t[1], alpha, img);
}

/* A Gaussian blur of img, premultiplied so that transparent pixels lend no colour. */
static int gauss(struct tr_run *r, double sigma, VipsImage **img)
{
    VipsImage **t = tr_run_local(r, 4);
    VipsImage *in = *img;
    bool alpha = vips_image_hasalpha(in);

    if (alpha && vips_premultiply(in, &t[0], NULL))
        return tr_run_lib_fail(r, "cannot premultiply");
    if (vips_gaussblur(alpha ? t[0] : in, &t[1], sigma, NULL))
        return tr_run_lib_fail(r, "cannot blur");
    if (alpha && vips_unpremultiply(t[1], &t[2], NULL))
        return tr_run_lib_fail(r, "cannot unpremultiply");
    if (vips_cast_uchar(alpha ? t[2] : t[1], &t[3], NULL))
        return tr_run_lib_fail(r, "cannot blur");
    *img = t[3];
    return 0;
}

/* A Gaussian blur of any width at a bounded cost (tr_geom_blur_shrink()). */
static int blur(struct tr_run *r, double sigma, VipsImage **img)
{
    VipsImage **t = tr_run_local(r, 1);
    int w = (*img)->Xsize, h = (*img)->Ysize, k = tr_geom_blur_shrink(sigma, w, h);
    int rc;

    if (k == 1)
        return gauss(r, sigma, img);
    if (vips_shrink(*img, &t[0], k, k, NULL))
        return tr_run_lib_fail(r, "cannot blur");
    *img = t[0];
    if ((rc = gauss(r, sigma / k, img)))
        return rc;
    return tr_run_resize(r, img, w, h);
}

/* e-sharpen[-n]: libvips's sharpen on lightness; n sets its jaggy-area slope m2 to n/10 (the
 * bare key keeps libvips's default, m2 3, as n 30 would). */
static int sharpen(struct tr_run *r, const struct tr_step *s, VipsImage **img)
{
    VipsImage **t = tr_run_local(r, 2);
    double m2 = s->sharpen > 0 ? s->sharpen / 10 : 3;

    if (vips_sharpen(*img, &t[0], "m2", m2, NULL) || vips_cast_uchar(t[0], &t[1], NULL))
        return tr_run_lib_fail(r, "cannot sharpen");
    *img = t[1];
    return 0;
}

/* e-usm-radius-sigma-amount-threshold, as ImageMagick's -unsharp: where a pixel differs from its
 * blur (sigma; radius only sizes the kernel, which libvips derives from sigma) by more than
 * threshold (a fraction of the range), add amount times the difference. Alpha is untouched.
 * The image is read three times over; a wide blur reads it far ahead of the other two. */
static int unsharp(struct tr_run *r, const double usm[4], VipsImage **img)
{
    VipsImage **t = tr_run_local(r, 7);
    VipsImage *colour, *alpha, *blurred;
    double sigma = usm[1] > 0 ? usm[1] : usm[0] > 0 ? usm[0] / 2 : 1;
    int rc;

    if ((tr_geom_blur_shrink(sigma, (*img)->Xsize, (*img)->Ysize) > 1 &&
         (rc = tr_run_materialise(r, img))) ||
        (rc = tr_run_split_alpha(r, *img, &colour, &alpha)))
        return rc;
    blurred = colour;
    if ((rc = blur(r, sigma, &blurred)))
        return rc;
    if (vips_subtract(colour, blurred, &t[1], NULL) || vips_linear1(t[1], &t[2], usm[2], 0, NULL) ||
        vips_add(colour, t[2], &t[3], NULL) || vips_abs(t[1], &t[4], NULL) ||
        vips_more_const1(t[4], &t[5], usm[3] * 255, NULL) ||
        vips_ifthenelse(t[5], t[3], colour, &t[6], NULL))
        return tr_run_lib_fail(r, "cannot sharpen");
    return tr_run_join_alpha(r, t[6], alpha, img);
}

/* e-grayscale, e-contrast, bl-, e-sharpen, e-usm, in that order. */
static int effects(struct tr_run *r, const struct tr_step *s, VipsImage **img)
{
    VipsImage **t = tr_run_local(r, 1);
    int rc;

    if (tr_step_has(s, TR_E_GRAYSCALE)) {
        if (vips_colourspace(*img, &t[0], VIPS_INTERPRETATION_B_W, NULL))
            return tr_run_lib_fail(r, "cannot make grayscale");
        *img = t[0];
    }
    if (tr_step_has(s, TR_E_CONTRAST) && (rc = contrast(r, img)))
        return rc;
    if (tr_step_has(s, TR_BL) && s->blur > 0 && (rc = blur(r, s->blur / 2, img))) /* a radius */
        return rc;
    if (tr_step_has(s, TR_E_SHARPEN) && (rc = sharpen(r, s, img)))
        return rc;
    if (tr_step_has(s, TR_E_USM) && (rc = unsharp(r, s->usm, img)))
        return rc;
    return 0;
}

/* o-: scale alpha (adding an opaque one first) by opacity / 100. */
int tr_step_opacity(struct tr_run *r, int percent, VipsImage **img)
{
    VipsImage **t = tr_run_local(r, 2);
    VipsImage *colour, *alpha;
    int rc;

    if (!vips_image_hasalpha(*img)) {
        if (vips_addalpha(*img, &t[0], NULL))
            return tr_run_lib_fail(r, "cannot add alpha");
        *img = t[0];
    }
    if ((rc = tr_run_split_alpha(r, *img, &colour, &alpha)))
        return rc;
    if (vips_linear1(alpha, &t[1], percent / 100.0, 0, "uchar", TRUE, NULL))
        return tr_run_lib_fail(r, "cannot apply opacity");
    return tr_run_join_alpha(r, colour, t[1], img);
}

/* b-width_colour: a border drawn inside the edge, so that w and h stay exact. */
static int border(struct tr_run *r, const struct tr_step *s, VipsImage **img)
{
    VipsImage **t = tr_run_local(r, 1);
    int w = (*img)->Xsize, h = (*img)->Ysize;
    struct tr_color c = s->border_color;
    double b;

    if (tr_run_size_px(r, &s->border_width, *img, "b", &b))
        return -EINVAL;
    if (b <= 0)
        return 0;
    c.a = 255;
    if (2 * b >= w || 2 * b >= h)
        return tr_run_embed(r, img, w, h, w, h, c); /* nothing of the image is left */
    if (vips_extract_area(*img, &t[0], (int)b, (int)b, w - 2 * (int)b, h - 2 * (int)b, NULL))
        return tr_run_lib_fail(r, "cannot draw the border");
    *img = t[0];
    return tr_run_embed(r, img, (int)b, (int)b, w, h, c);
}

/* One axis of the rounded-corner distance: how far (in radii) a pixel centre lies beyond the
 * straight part of the edge, 0 inside it. max(v, 0) is (v + |v|) / 2. */
static int corner_axis(struct tr_run *r, VipsImage *xyz, int band, int size, double radius,
                       VipsImage **out)
{
    VipsImage **t = tr_run_local(r, 5);
    double half = size / 2.0;

    if (vips_extract_band(xyz, &t[0], band, NULL) ||
        vips_linear1(t[0], &t[1], 1, 0.5 - half, NULL) || vips_abs(t[1], &t[2], NULL) ||
        vips_linear1(t[2], &t[3], 1, radius - half, NULL) || vips_abs(t[3], &t[4], NULL) ||
        vips_add(t[3], t[4], out, NULL))
        return tr_run_lib_fail(r, "cannot round corners");
    return 0;
}

/* An 8-bit mask, 255 inside a w x h rectangle with elliptical corners of radii rx, ry and 0
 * outside, anti-aliased over one pixel. */
static int corner_mask(struct tr_run *r, int w, int h, double rx, double ry, VipsImage **out)
{
    VipsImage **t = tr_run_local(r, 9);
    double k = fmin(rx, ry);
    int rc;

    if (vips_xyz(&t[0], w, h, NULL))
        return tr_run_lib_fail(r, "cannot round corners");
    if ((rc = corner_axis(r, t[0], 0, w, rx, &t[1])) ||
        (rc = corner_axis(r, t[0], 1, h, ry, &t[2])))
        return rc;
    if (vips_linear1(t[1], &t[3], 0.5 / rx, 0, NULL) ||
        vips_linear1(t[2], &t[4], 0.5 / ry, 0, NULL) || vips_multiply(t[3], t[3], &t[5], NULL) ||
        vips_multiply(t[4], t[4], &t[6], NULL) || vips_add(t[5], t[6], &t[7], NULL) ||
        vips_pow_const1(t[7], &t[8], 0.5, NULL) ||
        vips_linear1(t[8], out, -255 * k, 255 * (k + 0.5), "uchar", TRUE, NULL))
        return tr_run_lib_fail(r, "cannot round corners");
    return 0;
}

/* r-: round the corners (r-max: an ellipse) by multiplying alpha with a mask; formats without
 * alpha get bg there when encoding. */
int tr_step_radius(struct tr_run *r, const struct tr_step *s, VipsImage **img)
{
    VipsImage **t = tr_run_local(r, 4);
    VipsImage *colour, *alpha, *mask;
    int w = (*img)->Xsize, h = (*img)->Ysize;
    double rx = w / 2.0, ry = h / 2.0, rr;
    int rc;

    if (!s->radius_max) {
        if (tr_run_size_px(r, &s->radius, *img, "r", &rr))
            return -EINVAL;
        rx = ry = fmin(rr, fmin(rx, ry));
    }
    if (rx < 1 || ry < 1)
        return 0;
    if ((rc = corner_mask(r, w, h, rx, ry, &t[0])) ||
        (rc = tr_run_split_alpha(r, *img, &colour, &alpha)))
        return rc;
    mask = t[0];
    if (alpha && (vips_multiply(alpha, t[0], &t[1], NULL) ||
                  vips_linear1(t[1], &t[2], 1 / 255.0, 0, "uchar", TRUE, NULL)))
        return tr_run_lib_fail(r, "cannot round corners");
    mask = alpha ? t[2] : mask;
    return tr_run_join_alpha(r, colour, mask, img);
}

/* bg- given and opaque: whatever is transparent at the end of the step shows bg. */
static int background(struct tr_run *r, const struct tr_step *s, VipsImage **img)
{
    VipsImage **t = tr_run_local(r, 2);
    VipsArrayDouble *bg;
    int rc;

    if (!tr_step_has(s, TR_BG) || s->bg.a < 255 || !vips_image_hasalpha(*img))
        return 0;
    if ((rc = tr_run_fit_colour(r, img, s->bg)))
        return rc;
    bg = tr_run_colour_array(*img, s->bg, false);
    rc = vips_flatten(*img, &t[0], "background", bg, NULL);
    vips_area_unref(VIPS_AREA(bg));
    if (rc || vips_cast_uchar(t[0], &t[1], NULL))
        return tr_run_lib_fail(r, "cannot flatten");
    *img = t[1];
    return 0;
}

/* Everything of a step after its geometry and layers, on one frame, in the documented order. */
static int finish(struct tr_run *r, const struct tr_step *s, VipsImage **img)
{
    int rc = 0;

    if (tr_step_has(s, TR_RT))
        rc = tr_step_rotate(r, s, img);
    if (!rc && tr_step_has(s, TR_FL))
        rc = tr_step_flip(r, s->flip, img);
    if (!rc)
        rc = effects(r, s, img);
    if (!rc && tr_step_has(s, TR_O) && s->opacity < 100) /* o-100 changes nothing */
        rc = tr_step_opacity(r, s->opacity, img);
    if (!rc && tr_step_has(s, TR_B))
        rc = border(r, s, img);
    if (!rc && tr_step_has(s, TR_R))
        rc = tr_step_radius(r, s, img);
    return rc ? rc : background(r, s, img);
}

/* The variant of step id for an image of cw x ch entering it (its conditional decided). */
static int variant(struct tr_run *r, unsigned id, int cw, int ch, const struct tr_step **s,
                   enum tr_branch *taken)
{
    struct tr_vars v = {r->iw, r->ih, cw, ch, r->bw, r->bh};

    *s = tr_chain_variant(r->rq->chain, id, &v, taken);
    if (!*s)
        return tr_run_fail(r, -EINVAL, "if-: the condition cannot be evaluated on a %dx%d image",
                           cw, ch);
    return 0;
}

/* One step (its variant s, which took branch taken) on frame[0..n): trim, geometry as g plans
 * it (planned here when g is NULL), the layers of step id, then the rest. */
static int run_step(struct tr_run *r, unsigned id, const struct tr_step *s, enum tr_branch taken,
                    struct tr_memo *m, const struct tr_geom *g, VipsImage **frame, int n)
{
    struct tr_geom plan;
    int rc = 0;

    if (tr_step_has(s, TR_T))
        for (int f = 0; f < n && !rc; f++)
            rc = tr_step_trim(r, s, m, &frame[f]);
    if (!rc && !g)
        rc = tr_run_plan(r, s, frame[0]->Xsize, frame[0]->Ysize, &plan);
    for (int f = 0; f < n && !rc; f++)
        rc = geometry(r, s, m, g ? g : &plan, &frame[f]);
    if (!rc && tr_chain_step(r->rq->chain, id)->nlayers)
        rc = tr_layer_draw(r, id, taken, frame, n);
    for (int f = 0; f < n && !rc; f++)
        rc = finish(r, s, &frame[f]);
    return rc;
}

/* Every step on every frame: a step's size is planned once, from the first frame. Step 0 runs
 * as planned before loading (the variant and plan load() took). */
int tr_step_run(struct tr_run *r, VipsImage **frame, int n)
{
    const struct tr_step *s;
    enum tr_branch taken;
    int rc = 0;

    for (unsigned i = 0; i < r->nsteps && !rc; i++) {
        rc = tr_bounds_check(&r->bounds, r->err);
        if (!rc && i == 0 && r->plan0_valid)
            rc =
                run_step(r, r->step_id[0], r->step[0], r->taken0, &r->memo[0], &r->plan0, frame, n);
        else if (!rc &&
                 !(rc = variant(r, r->step_id[i], frame[0]->Xsize, frame[0]->Ysize, &s, &taken)))
            rc = run_step(r, r->step_id[i], s, taken, &r->memo[i], NULL, frame, n);
    }
    return rc;
}

int tr_step_one(struct tr_run *r, unsigned id, VipsImage **img)
{
    const struct tr_chain *c = r->rq->chain;
    const struct tr_step *s = tr_chain_step(c, id);
    struct tr_memo m = {0};
    enum tr_branch taken;
    int rc;

    if (!s || tr_step_is_noop(s)) /* as tr_canonical() writes nothing for it */
        return 0;
    rc = tr_bounds_check(&r->bounds, r->err);
    if (!rc)
        rc = variant(r, id, (*img)->Xsize, (*img)->Ysize, &s, &taken);
    return rc ? rc : run_step(r, id, s, taken, &m, NULL, img, 1);
}
