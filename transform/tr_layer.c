/* transform/tr_layer.c: layers (tr_layer.h) and the decoded layer sources of tr.h. With
 * tr_apply.c, tr_step.c and tr_run.c, one of the files that call libvips.
 *
 * A layer is made once per step that draws it, for the size of the image it goes on: its
 * source (a decoded image the caller resolved, a solid block for i-ik_canvas, or text that
 * libvips renders with Pango), an image layer's default trim, then its own steps, which may
 * draw layers of their own; the result is rendered into memory (counted) and composited over
 * each frame where tr_geom_place() says. While a layer is made, the run's iw ih are the
 * layer's source and bw bh the image below it, so its expressions see both. */
#include "tr_layer.h"
#include "tr_step.h"

#include <errno.h>
#include <fontconfig/fontconfig.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEXT_SIZE 16    /* fs- when not given, px */
#define TEXT_SIDE 16383 /* ImageKit's cap on a text layer's side */
#define TRIM_DEFAULT 10 /* an image layer's trim unless t-false, as t-true */

/* ---- Decoded sources ----------------------------------------------------------------------- */

struct tr_source {
    VipsImage *img; /* 8-bit sRGB, with alpha if it has any, in memory: read by many calls */
    size_t bytes;
    atomic_int refs;
};

/* The header of data, checked against the limits before anything is decoded. */
static int source_header(const void *data, size_t len, const struct tr_limits *lim, VipsImage **out,
                         char err[TR_ERR_LEN])
{
    uint64_t cap =
        lim->max_input_pixels < TR_MAX_LAYER_PIXELS ? lim->max_input_pixels : TR_MAX_LAYER_PIXELS;
    struct tr_sniff sn;

    if (len > lim->max_input_bytes) {
        snprintf(err, TR_ERR_LEN, "the layer's image is %zu bytes, over the limit of %zu", len,
                 lim->max_input_bytes);
        return -E2BIG;
    }
    tr_sniff(data, len, &sn);
    if (!tr_sniff_is_image(&sn)) {
        snprintf(err, TR_ERR_LEN, "the layer's file is not an image this server decodes");
        return -EBADMSG;
    }
    *out = vips_image_new_from_buffer(data, len, "", "access", VIPS_ACCESS_SEQUENTIAL, "fail_on",
                                      VIPS_FAIL_ON_TRUNCATED, NULL);
    if (!*out) {
        tr_run_lib_message("cannot read the layer's image", err);
        return -EBADMSG;
    }
    if ((uint64_t)(*out)->Xsize * (uint64_t)(*out)->Ysize > cap) {
        snprintf(err, TR_ERR_LEN, "the layer's image is %dx%d pixels, over the limit of %llu",
                 (*out)->Xsize, (*out)->Ysize, (unsigned long long)cap);
        g_object_unref(*out);
        return -E2BIG;
    }
    return 0;
}

/* in oriented, as 8-bit sRGB (its ICC profile applied), decoded into memory. */
static int source_pixels(VipsImage *in, VipsImage **out, char err[TR_ERR_LEN])
{
    VipsObject *ctx = VIPS_OBJECT(vips_image_new());
    VipsImage **t = (VipsImage **)vips_object_local_array(ctx, 4), *x;
    int rc = -EBADMSG;

    if (vips_autorot(in, &t[0], NULL))
        goto out_fail;
    x = t[0];
    if (vips_image_get_typeof(x, VIPS_META_ICC_NAME) &&
        !vips_icc_transform(x, &t[1], "srgb", "embedded", TRUE, "depth", 8, NULL)) {
        x = t[1];
    } else {
        vips_error_clear(); /* no profile, or a broken one: convert without it */
        if (vips_colourspace(x, &t[2], VIPS_INTERPRETATION_sRGB, NULL))
            goto out_fail;
        x = t[2];
    }
    if (vips_cast_uchar(x, &t[3], NULL) || !(*out = vips_image_copy_memory(t[3])))
        goto out_fail;
    rc = 0;
    goto out_unref;
out_fail:
    tr_run_lib_message("cannot decode the layer's image", err);
out_unref:
    g_object_unref(ctx);
    return rc;
}

int tr_source_new(const void *data, size_t len, const struct tr_limits *lim, struct tr_source **out,
                  char err[TR_ERR_LEN])
{
    VipsImage *hdr = NULL, *img = NULL;
    int rc;

    err[0] = '\0';
    *out = NULL;
    if ((rc = source_header(data, len, lim, &hdr, err)))
        return rc;
    rc = source_pixels(hdr, &img, err);
    g_object_unref(hdr);
    if (rc)
        return rc;
    if (!(*out = malloc(sizeof(**out)))) {
        g_object_unref(img);
        return -ENOMEM;
    }
    (*out)->img = img;
    (*out)->bytes = VIPS_IMAGE_SIZEOF_IMAGE(img);
    atomic_init(&(*out)->refs, 1);
    return 0;
}

struct tr_source *tr_source_ref(struct tr_source *s)
{
    atomic_fetch_add(&s->refs, 1);
    return s;
}

void tr_source_free(struct tr_source *s)
{
    if (!s || atomic_fetch_sub(&s->refs, 1) > 1)
        return;
    g_object_unref(s->img); /* a call still using the image holds its own reference */
    free(s);
}

size_t tr_source_size(const struct tr_source *s)
{
    return s->bytes;
}

void tr_source_dims(const struct tr_source *s, int *w, int *h)
{
    *w = s->img->Xsize;
    *h = s->img->Ysize;
}

/* ---- Sources of one layer ------------------------------------------------------------------ */

/* The decoded image the caller gave for image layer li; the call keeps a reference. */
static int image_source(struct tr_run *r, unsigned li, VipsImage **out)
{
    const struct tr_source *src = r->rq->layer_src ? r->rq->layer_src[li] : NULL;
    const struct tr_layer *l = &r->rq->chain->layer[li];
    VipsImage **t = tr_run_local(r, 1);

    if (!src)
        return tr_run_fail(r, -ENOENT, "l-image: no image given for '%.*s'", (int)l->in_len,
                           r->rq->chain->strings + l->in_off);
    t[0] = g_object_ref(src->img);
    *out = t[0];
    return 0;
}

/* i-ik_canvas: a block of bg (black unless given) as big as the base, which the layer's first
 * step then sizes with its w and h like any image (a fraction is of the base). */
static int canvas_source(struct tr_run *r, const struct tr_step *first, VipsImage **out)
{
    VipsImage **t = tr_run_local(r, 2);
    struct tr_color c = tr_run_step_bg(first);
    double one[4] = {1, 1, 1, 1}, v[4] = {c.r, c.g, c.b, c.a};

    if (vips_black(&t[0], r->bw, r->bh, "bands", 4, NULL) ||
        vips_linear(t[0], &t[1], one, v, 4, "uchar", TRUE, NULL))
        return tr_run_lib_fail(r, "cannot make the canvas");
    t[1]->Type = VIPS_INTERPRETATION_sRGB;
    *out = t[1];
    return 0;
}

/* ---- Text ---------------------------------------------------------------------------------- */

/* fontconfig's names of the families enum tr_font lists (scripts/setup.sh installs them). */
static const char *const families[] = {
    [TR_FONT_SANS] = "DejaVu Sans",
    [TR_FONT_SERIF] = "DejaVu Serif",
    [TR_FONT_MONO] = "DejaVu Sans Mono",
    [TR_FONT_CJK_SANS] = "Noto Sans CJK SC",
    [TR_FONT_CJK_SERIF] = "Noto Serif CJK SC",
};

/* The family of the font in file path (ff-PATH), which the font description must name: the
 * file is handed to Pango (libvips's fontfile), the family picks it. */
static int file_family(struct tr_run *r, const char *path, char *out, size_t cap)
{
    int count = 0;
    FcPattern *pat = path ? FcFreeTypeQuery((const FcChar8 *)path, 0, NULL, &count) : NULL;
    FcChar8 *family = NULL;
    int rc = 0;

    if (!path)
        return tr_run_fail(r, -ENOENT, "ff: no font file given");
    if (!pat || FcPatternGetString(pat, FC_FAMILY, 0, &family) != FcResultMatch)
        rc = tr_run_fail(r, -EBADMSG, "ff: the font file is not a font");
    else
        snprintf(out, cap, "%s", (const char *)family);
    if (pat)
        FcPatternDestroy(pat);
    return rc;
}

/* The font description of text layer li's step s: family, typography, size. */
static int text_font(struct tr_run *r, unsigned li, const struct tr_step *s, double fs, char *out,
                     size_t cap, const char **file)
{
    char family[64];
    int rc = 0;

    *file = NULL;
    if (tr_step_has(s, TR_FF) && s->font == TR_FONT_FILE) {
        *file = r->rq->layer_font ? r->rq->layer_font[li] : NULL;
        rc = file_family(r, *file, family, sizeof(family));
    } else {
        snprintf(family, sizeof(family), "%s", families[tr_step_has(s, TR_FF) ? s->font : 0]);
    }
    if (!rc)
        snprintf(out, cap, "%s%s%s %d", family, s->typo & TR_TG_BOLD ? " Bold" : "",
                 s->typo & TR_TG_ITALIC ? " Italic" : "", (int)fs);
    return rc;
}

/* n in px on the base (a fraction below 1 is of the base's width), or -1 if it cannot be. */
static double base_px(const struct tr_run *r, const struct tr_num *n)
{
    struct tr_vars v = {r->iw, r->ih, r->bw, r->bh, r->bw, r->bh};
    double x;

    if (tr_num_eval(n, &v, &x))
        return -1;
    return round(n->kind == TR_NUM_LITERAL && x > 0 && x < 1 ? x * r->bw : x);
}

/* Before Pango allocates anything: the box the text can take at size fs (a glyph is at most
 * 1.2 em wide, a line 1.5 em high), within ImageKit's side of 16383 and the call's memory
 * (Pango's surface and our copy: 8 bytes a pixel). */
static int check_text_size(struct tr_run *r, const char *s, size_t len, double fs, double wrap)
{
    size_t chars = 0, lines = 1, line = 0, longest = 0;
    double w, h;

    for (size_t i = 0; i < len; i++) {
        if (((unsigned char)s[i] >> 6) == 2)
            continue; /* a UTF-8 continuation byte */
        chars++;
        line = s[i] == '\n' ? 0 : line + 1;
        lines += s[i] == '\n';
        longest = line > longest ? line : longest;
    }
    w = longest * fs * 1.2 + fs;
    h = lines * fs * 1.5 + fs;
    if (wrap > 0 && w > wrap) {
        h += chars * fs * 1.2 / wrap * fs * 1.5;
        w = wrap + fs;
    }
    if (w > TEXT_SIDE || h > TEXT_SIDE)
        return tr_run_fail(r, -E2BIG, "l-text: the text may take %.0fx%.0f px, over %d a side", w,
                           h, TEXT_SIDE);
    return tr_bounds_charge(&r->bounds, (uint64_t)(w * h * 8), "the text layer", r->err);
}

/* The markup that colours the text: co- with its opacity. (transfer full): g_free(). */
static char *text_markup(const char *s, size_t len, struct tr_color co)
{
    char *esc = g_markup_escape_text(s, (gssize)len);
    char *m = g_strdup_printf("<span foreground=\"#%02X%02X%02X\" fgalpha=\"%d%%\">%s</span>", co.r,
                              co.g, co.b, (co.a * 100 + 127) / 255, esc);

    g_free(esc);
    return m;
}

/* One libvips text operation's arguments. */
struct text_args {
    const char *markup, *font, *file; /* file: a font file, or NULL */
    int wrap;
    VipsAlign align;
    int spacing;
};

/* libvips's text, as vips_text() runs it, but keep (a font file's first operation) leaves the
 * operation alive for the life of the process (text_with_file() says why). */
static int text_op(const struct text_args *a, bool keep, VipsImage **out)
{
    VipsOperation *op = vips_operation_new("text");
    int rc;

    if (!op)
        return -1;
    g_object_set(op, "text", a->markup, "font", a->font, "width", a->wrap, "dpi", 72, "rgba", TRUE,
                 "align", a->align, "spacing", a->spacing, NULL);
    if (a->file)
        g_object_set(op, "fontfile", a->file, NULL);
    rc = vips_cache_operation_buildp(&op);
    if (!rc)
        g_object_get(op, "out", out, NULL);
    if (rc || !keep) {
        vips_object_unref_outputs(VIPS_OBJECT(op));
        g_object_unref(op);
    }
    return rc;
}

/* libvips 8.14's text keys its table of loaded font files with the path string of the
 * operation that loaded each, not a copy: once that operation is freed, every later lookup of
 * a font file reads freed memory (AddressSanitizer found it). So the first operation of each
 * font file is ours, made under this lock, and is never freed: the key stays valid. The set
 * of such files is process-wide as fontconfig's is, and as bounded. */
#define PINNED_MAX 64
static pthread_mutex_t pin_lock = PTHREAD_MUTEX_INITIALIZER;
static char pinned[PINNED_MAX][256]; /* guarded by pin_lock, with npinned */
static unsigned npinned;

static int text_with_file(struct tr_run *r, const struct text_args *a, VipsImage **out)
{
    bool known = false;
    int rc = 0;

    if (strlen(a->file) >= sizeof(pinned[0]))
        return tr_run_fail(r, -ENAMETOOLONG, "ff: the font file's path is too long");
    pthread_mutex_lock(&pin_lock);
    for (unsigned i = 0; i < npinned && !known; i++)
        known = strcmp(pinned[i], a->file) == 0;
    if (!known && npinned == PINNED_MAX)
        rc = -E2BIG;
    else if (!known && !(rc = text_op(a, true, out)))
        snprintf(pinned[npinned++], sizeof(pinned[0]), "%s", a->file);
    pthread_mutex_unlock(&pin_lock);
    if (rc == -E2BIG)
        return tr_run_fail(r, rc, "ff: more than %d font files in this process", PINNED_MAX);
    return known ? text_op(a, false, out) : rc;
}

/* The text of layer l, rendered at its font, size, colour, wrap width, alignment and line
 * spacing: RGBA, as tight as Pango makes it. */
static int render_text(struct tr_run *r, unsigned li, const struct tr_step *s, VipsImage **out)
{
    static const VipsAlign aligns[] = {[TR_ALIGN_LEFT] = VIPS_ALIGN_LOW,
                                       [TR_ALIGN_CENTER] = VIPS_ALIGN_CENTRE,
                                       [TR_ALIGN_RIGHT] = VIPS_ALIGN_HIGH};
    static const struct tr_color black = {0, 0, 0, 255};
    const struct tr_layer *l = &r->rq->chain->layer[li];
    const char *text = r->rq->chain->strings + l->in_off, *file;
    double fs = tr_step_has(s, TR_FS) ? base_px(r, &s->font_size) : TEXT_SIZE;
    double wrap = tr_step_has(s, TR_W) ? base_px(r, &s->w) : 0;
    VipsImage **t = tr_run_local(r, 1);
    char font[96], *markup;
    int rc;

    if (!(fs >= 1 && fs <= TR_MAX_FONT_SIZE) || wrap < 0 || wrap > TEXT_SIDE)
        return tr_run_fail(r, -EINVAL, "l-text: fs- or w- is out of range on a %dx%d image", r->bw,
                           r->bh);
    if ((rc = check_text_size(r, text, l->in_len, fs, wrap)) ||
        (rc = text_font(r, li, s, fs, font, sizeof(font), &file)))
        return rc;
    markup = text_markup(text, l->in_len, tr_step_has(s, TR_CO) ? s->color : black);
    struct text_args a = {markup,
                          font,
                          file,
                          (int)wrap,
                          aligns[tr_step_has(s, TR_IA) ? s->align : TR_ALIGN_CENTER],
                          tr_step_has(s, TR_LH) ? s->line_height : 0};
    rc = file ? text_with_file(r, &a, &t[0]) : text_op(&a, false, &t[0]);
    g_free(markup);
    if (rc)
        return tr_run_lib_fail(r, "l-text: cannot render the text");
    t[0]->Type = VIPS_INTERPRETATION_sRGB;
    *out = t[0];
    return tr_run_check_size(r, t[0]->Xsize, t[0]->Ysize);
}

/* pa- and bg-: the text on a box of bg (clear unless given), padded on each side. */
static int text_box(struct tr_run *r, const struct tr_step *s, VipsImage **img)
{
    static const int none[4];
    static const struct tr_color clear = {0, 0, 0, 0};
    const int *pa = tr_step_has(s, TR_PA) ? s->pad : none;
    struct tr_color bg = tr_step_has(s, TR_BG) ? s->bg : clear;
    VipsImage **t = tr_run_local(r, 4);
    double one[4] = {1, 1, 1, 1}, v[4] = {bg.r, bg.g, bg.b, bg.a};
    int w = (*img)->Xsize + pa[1] + pa[3], h = (*img)->Ysize + pa[0] + pa[2], rc;

    if (!tr_step_has(s, TR_PA) && !tr_step_has(s, TR_BG))
        return 0;
    if ((rc = tr_run_check_size(r, w, h)))
        return rc;
    if (vips_black(&t[0], w, h, "bands", 4, NULL) ||
        vips_linear(t[0], &t[1], one, v, 4, "uchar", TRUE, NULL))
        return tr_run_lib_fail(r, "cannot make the text's box");
    t[1]->Type = VIPS_INTERPRETATION_sRGB;
    if (vips_composite2(t[1], *img, &t[2], VIPS_BLEND_MODE_OVER, "x", pa[3], "y", pa[0], NULL) ||
        vips_cast_uchar(t[2], &t[3], NULL))
        return tr_run_lib_fail(r, "cannot draw the text on its box");
    *img = t[3];
    return 0;
}

/* A text layer: its text on its box, then r- rt- fl-, in that order. */
static int text_layer(struct tr_run *r, unsigned li, const struct tr_step *s, VipsImage **img)
{
    int rc = render_text(r, li, s, img);

    if (!rc)
        rc = text_box(r, s, img);
    if (!rc && tr_step_has(s, TR_R))
        rc = tr_step_radius(r, s, img);
    if (!rc && tr_step_has(s, TR_RT))
        rc = tr_step_rotate(r, s, img);
    if (!rc && tr_step_has(s, TR_FL))
        rc = tr_step_flip(r, s->flip, img);
    return rc;
}

/* ---- Making and drawing -------------------------------------------------------------------- */

/* An image layer (a file or a canvas): its source, trimmed by default, then its steps. */
static int image_layer(struct tr_run *r, unsigned li, const struct tr_step *first, VipsImage **img)
{
    const struct tr_layer *l = &r->rq->chain->layer[li];
    struct tr_step trim = {.trim = TRIM_DEFAULT};
    struct tr_memo m = {0};
    int rc = l->canvas ? canvas_source(r, first, img) : image_source(r, li, img);

    if (rc)
        return rc;
    r->iw = (*img)->Xsize;
    r->ih = (*img)->Ysize;
    if (!l->canvas && !l->no_trim && !tr_step_has(first, TR_T) &&
        (rc = tr_step_trim(r, &trim, &m, img)))
        return rc;
    for (unsigned j = 0; j < l->nsteps && j < TR_MAX_LAYER_STEPS && !rc; j++)
        rc = tr_step_one(r, TR_STEP_LAYER + l->step[j], img);
    return rc;
}

/* Layer li for a bw x bh base, in memory, with al- applied. */
static int make_layer(struct tr_run *r, unsigned li, int bw, int bh, VipsImage **img)
{
    const struct tr_layer *l = &r->rq->chain->layer[li];
    const struct tr_step *first = &r->rq->chain->lstep[l->step[0]];
    int iw = r->iw, ih = r->ih, obw = r->bw, obh = r->bh, rc;

    r->bw = bw;
    r->bh = bh;
    r->layer_depth++;
    rc = l->type == TR_LAYER_TEXT ? text_layer(r, li, first, img) : image_layer(r, li, first, img);
    if (!rc && tr_step_has(first, TR_AL))
        rc = tr_step_opacity(r, first->alpha * 10, img);
    if (!rc)
        rc = tr_run_materialise(r, img);
    r->layer_depth--;
    r->iw = iw;
    r->ih = ih;
    r->bw = obw;
    r->bh = obh;
    return rc;
}

/* The part of the base under the layer, the layer over it, with the base's bands (alpha only
 * if the base has it). */
static int patch(struct tr_run *r, VipsImage *base, VipsImage *layer, const VipsRect *box, int x,
                 int y, VipsImage **out)
{
    VipsImage **t = tr_run_local(r, 5);
    bool alpha = vips_image_hasalpha(base);

    if (vips_extract_area(base, &t[0], box->left, box->top, box->width, box->height, NULL) ||
        vips_extract_area(layer, &t[1], box->left - x, box->top - y, box->width, box->height,
                          NULL) ||
        vips_composite2(t[0], t[1], &t[2], VIPS_BLEND_MODE_OVER, NULL) ||
        vips_cast_uchar(t[2], &t[3], NULL))
        return tr_run_lib_fail(r, "cannot draw a layer");
    *out = t[3];
    if (alpha || !vips_image_hasalpha(t[3]))
        return 0;
    if (vips_extract_band(t[3], &t[4], 0, "n", t[3]->Bands - 1, NULL))
        return tr_run_lib_fail(r, "cannot draw a layer");
    *out = t[4];
    return 0;
}

/* layer over *img at (x, y); what falls outside is cut off. Only the part under the layer is
 * composited (blending works in floats: over a whole 300x300 image it cost 10 % of a watermark
 * request) and put back in place; a grey image becomes sRGB first. */
static int composite(struct tr_run *r, VipsImage **img, VipsImage *layer, int x, int y)
{
    VipsImage **t = tr_run_local(r, 2), *base = *img, *p = NULL;
    VipsRect whole = {0, 0, base->Xsize, base->Ysize}, at = {x, y, layer->Xsize, layer->Ysize};
    VipsRect box;
    int rc;

    vips_rect_intersectrect(&whole, &at, &box);
    if (vips_rect_isempty(&box))
        return 0;
    if (base->Bands - vips_image_hasalpha(base) < 3) {
        if (vips_colourspace(base, &t[0], VIPS_INTERPRETATION_sRGB, NULL))
            return tr_run_lib_fail(r, "cannot convert to sRGB");
        base = t[0];
    }
    if ((rc = patch(r, base, layer, &box, x, y, &p)))
        return rc;
    if (vips_insert(base, p, &t[1], box.left, box.top, NULL))
        return tr_run_lib_fail(r, "cannot draw a layer");
    *img = t[1];
    return 0;
}

static int draw_one(struct tr_run *r, unsigned li, VipsImage **frame, int n)
{
    const struct tr_layer *l = &r->rq->chain->layer[li];
    const struct tr_step *first = &r->rq->chain->lstep[l->step[0]];
    int bw = frame[0]->Xsize, bh = frame[0]->Ysize, x, y;
    VipsImage *layer = NULL;
    int rc = make_layer(r, li, bw, bh, &layer);

    if (!rc)
        rc = tr_run_place(r, first, bw, bh, layer->Xsize, layer->Ysize, &x, &y);
    for (int f = 0; f < n && !rc; f++)
        rc = composite(r, &frame[f], layer, x, y);
    return rc;
}

/* The layers of every branch first, then those of the branch taken: the canonical text's
 * order. */
int tr_layer_draw(struct tr_run *r, unsigned id, enum tr_branch taken, VipsImage **frame, int n)
{
    const struct tr_chain *c = r->rq->chain;
    int rc = 0;

    for (int pass = 0; pass < 2 && !rc; pass++) {
        for (unsigned i = 0; i < c->nlayers && i < TR_MAX_LAYERS && !rc; i++) {
            const struct tr_layer *l = &c->layer[i];

            if (l->owner != id || !tr_layer_drawn(l, taken) ||
                (l->branch == TR_BRANCH_ALWAYS) != (pass == 0))
                continue;
            rc = tr_bounds_check(&r->bounds, r->err);
            if (!rc)
                rc = draw_one(r, i, frame, n);
        }
    }
    return rc;
}
