/* transform/tr_run.c: one tr_apply() call's state and what every stage of it uses (tr_run.h):
 * errors, the bounds' hooks into libvips, rendering into memory, the pixel helpers. */
#include "tr_run.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int tr_run_fail(struct tr_run *r, int rc, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(r->err, TR_ERR_LEN, fmt, ap);
    va_end(ap);
    return rc;
}

/* "<what>: " and the last line of libvips's message into err (earlier lines may be left over
 * from failures libvips recovered from). The buffer is shared by all threads, so the text is
 * advisory; copying also clears it. */
void tr_run_lib_message(const char *what, char err[TR_ERR_LEN])
{
    char *msg = vips_error_buffer_copy();
    char *line = msg;
    size_t n;

    g_strchomp(msg);
    for (char *nl = strchr(msg, '\n'); nl; nl = strchr(nl + 1, '\n'))
        line = nl + 1;
    n = strlen(line);
    snprintf(err, TR_ERR_LEN, "%s: %.*s", what, (int)(n > 80 ? 80 : n), line);
    g_free(msg);
}

/* A libvips call failed: stopped by the deadline or the cancel flag (the kill flag, below), or
 * else the source could not be decoded, since our own checks run first. */
int tr_run_lib_fail(struct tr_run *r, const char *what)
{
    if (tr_bounds_expired(&r->bounds)) {
        vips_error_clear();
        return tr_bounds_check(&r->bounds, r->err);
    }
    tr_run_lib_message(what, r->err);
    return -EBADMSG;
}

/* libvips's eval signal, from a sink computing an image downstream of img: a call past its
 * deadline or cancelled kills img, and so every computation that still reads from it. */
static void on_eval(VipsImage *img, VipsProgress *progress, void *bounds)
{
    (void)progress;
    if (tr_bounds_expired(bounds))
        vips_image_set_kill(img, TRUE);
}

/* Have img, an image that reads from nothing of ours (a source, a memory image), signal
 * progress to on_eval(): every image computed from it does so through it. */
void tr_run_watch(struct tr_run *r, VipsImage *img)
{
    if (!tr_bounds_watched(&r->bounds))
        return;
    vips_image_set_progress(img, TRUE);
    g_signal_connect(img, "eval", G_CALLBACK(on_eval), &r->bounds);
}

/* Count the memory of a w x h image of img's bands and format (times n) as held. */
int tr_run_charge(struct tr_run *r, const VipsImage *img, int w, int h, uint64_t n,
                  const char *what)
{
    uint64_t bytes = (uint64_t)w * (uint64_t)h * VIPS_IMAGE_SIZEOF_PEL(img) * n;

    return tr_bounds_charge(&r->bounds, bytes, what, r->err);
}

VipsImage **tr_run_local(struct tr_run *r, int n)
{
    return (VipsImage **)vips_object_local_array(r->ctx, n);
}

/* The planning context of this request (tr_geom.h). */
static struct tr_geom_ctx geom_ctx(const struct tr_run *r)
{
    return (struct tr_geom_ctx){r->lim, r->iw, r->ih, r->frames, r->rq->hint_dpr, r->rq->hint_width,
                                r->bw,  r->bh, r->err};
}

/* Whether w x h (times the frames) fits the output limits. */
int tr_run_check_size(struct tr_run *r, int w, int h)
{
    struct tr_geom_ctx c = geom_ctx(r);

    return tr_geom_check_size(&c, w, h);
}

/* Where a lw x lh layer whose first step is s goes on a bw x bh image. */
int tr_run_place(struct tr_run *r, const struct tr_step *s, int bw, int bh, int lw, int lh, int *x,
                 int *y)
{
    struct tr_geom_ctx c = geom_ctx(r);

    return tr_geom_place(&c, s, bw, bh, lw, lh, x, y);
}

/* Work out what step s does to a cw x ch image. */
int tr_run_plan(struct tr_run *r, const struct tr_step *s, int cw, int ch, struct tr_geom *g)
{
    struct tr_geom_ctx c = geom_ctx(r);

    return tr_geom_plan(&c, s, cw, ch, g);
}

/* A number of pixels for b- and r-, from a literal or an expression on img's size. */
int tr_run_size_px(struct tr_run *r, const struct tr_num *n, VipsImage *img, const char *key,
                   double *out)
{
    struct tr_geom_ctx c = geom_ctx(r);

    return tr_geom_px(&c, n, img->Xsize, img->Ysize, key, out);
}

/* ---- Pixel helpers ----------------------------------------------------------------------- */

/* Before an operation that reads out of order or more than once (rotation, vertical flip, trim,
 * contrast, attention crop, a wide unsharp mask), render what we have into memory (a no-op
 * for an image that is there already). A sequential loader can only be read top to bottom,
 * once; and a pipeline under an operation that reads scattered regions (an affine rotation)
 * would be computed again for every region (rt-45:h-900 took over 30 s). The
 * image is usually small by then, and the limits bound it. */
int tr_run_materialise(struct tr_run *r, VipsImage **img)
{
    VipsImage **t = tr_run_local(r, 1), *in = *img;
    uint64_t strip = tr_bounds_strip(in->Xsize, in->Bands, VIPS_IMAGE_SIZEOF_ELEMENT(in));

    if (in->dtype == VIPS_IMAGE_SETBUF || in->dtype == VIPS_IMAGE_SETBUF_FOREIGN)
        return 0; /* in memory already: copy_memory would return it */
    if (tr_run_charge(r, in, in->Xsize, in->Ysize, 1, "an image held in memory") ||
        tr_bounds_room(&r->bounds, strip, "the strips that compute it", r->err))
        return -E2BIG;
    t[0] = vips_image_copy_memory(in);
    if (!t[0])
        return tr_run_lib_fail(r, "cannot decode the image");
    tr_run_watch(r, t[0]);
    *img = t[0];
    return 0;
}

/* Colour c as one value per band of img: luma for grey images, then alpha when img has it
 * and with_alpha (vips_flatten wants the colour bands alone). */
VipsArrayDouble *tr_run_colour_array(VipsImage *img, struct tr_color c, bool with_alpha)
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
int tr_run_fit_colour(struct tr_run *r, VipsImage **img, struct tr_color c)
{
    VipsImage **t = tr_run_local(r, 1);

    if ((*img)->Bands - vips_image_hasalpha(*img) >= 3 || (c.r == c.g && c.g == c.b))
        return 0;
    if (vips_colourspace(*img, &t[0], VIPS_INTERPRETATION_sRGB, NULL))
        return tr_run_lib_fail(r, "cannot convert to sRGB");
    *img = t[0];
    return 0;
}

bool tr_run_has_alpha(enum tr_format f)
{
    return f != TR_FMT_JPEG;
}

struct tr_color tr_run_step_bg(const struct tr_step *s)
{
    static const struct tr_color black = {0, 0, 0, 255};

    return tr_step_has(s, TR_BG) ? s->bg : black;
}

/* Pad or extend img to w x h with img at (x, y), filling with c; an alpha band is added first
 * when c is not opaque. */
int tr_run_embed(struct tr_run *r, VipsImage **img, int x, int y, int w, int h, struct tr_color c)
{
    VipsImage **t = tr_run_local(r, 2);
    VipsImage *in = *img;
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
    rc =
        vips_embed(in, &t[1], x, y, w, h, "extend", VIPS_EXTEND_BACKGROUND, "background", bg, NULL);
    vips_area_unref(VIPS_AREA(bg));
    if (rc)
        return tr_run_lib_fail(r, "cannot pad");
    *img = t[1];
    return 0;
}

/* Split img into its colour bands and its alpha band (NULL when it has none). */
int tr_run_split_alpha(struct tr_run *r, VipsImage *img, VipsImage **colour, VipsImage **alpha)
{
    VipsImage **t = tr_run_local(r, 2);

    *colour = img;
    *alpha = NULL;
    if (!vips_image_hasalpha(img))
        return 0;
    if (vips_extract_band(img, &t[0], 0, "n", img->Bands - 1, NULL) ||
        vips_extract_band(img, &t[1], img->Bands - 1, NULL))
        return tr_run_lib_fail(r, "cannot split alpha");
    *colour = t[0];
    *alpha = t[1];
    return 0;
}

/* colour and alpha (may be NULL) as one 8-bit image. */
int tr_run_join_alpha(struct tr_run *r, VipsImage *colour, VipsImage *alpha, VipsImage **out)
{
    VipsImage **t = tr_run_local(r, 2);

    if (vips_cast_uchar(colour, &t[0], NULL))
        return tr_run_lib_fail(r, "cannot convert to 8 bits");
    if (!alpha) {
        *out = t[0];
        return 0;
    }
    if (vips_bandjoin2(t[0], alpha, &t[1], NULL))
        return tr_run_lib_fail(r, "cannot join alpha");
    *out = t[1];
    return 0;
}

/* Resize img to exactly w x h: premultiplied when it has alpha, so transparent pixels do not
 * bleed their colour; a libvips rounding difference of a pixel is cropped or extended. */
int tr_run_resize(struct tr_run *r, VipsImage **img, int w, int h)
{
    VipsImage **t = tr_run_local(r, 5);
    VipsImage *in = *img, *x = in;
    bool alpha = vips_image_hasalpha(in);

    if (in->Xsize == w && in->Ysize == h)
        return 0;
    if (alpha && vips_premultiply(in, &t[0], NULL))
        return tr_run_lib_fail(r, "cannot premultiply");
    x = alpha ? t[0] : in;
    if (vips_resize(x, &t[1], (double)w / in->Xsize, "vscale", (double)h / in->Ysize, NULL))
        return tr_run_lib_fail(r, "cannot resize");
    x = t[1];
    if (alpha && (vips_unpremultiply(x, &t[2], NULL) || vips_cast(t[2], &t[3], in->BandFmt, NULL)))
        return tr_run_lib_fail(r, "cannot unpremultiply");
    x = alpha ? t[3] : x;
    if ((x->Xsize != w || x->Ysize != h) &&
        vips_embed(x, &t[4], 0, 0, w, h, "extend", VIPS_EXTEND_COPY, NULL))
        return tr_run_lib_fail(r, "cannot resize");
    *img = x->Xsize != w || x->Ysize != h ? t[4] : x;
    return 0;
}
