/* transform/tr_canon.c: the canonical text of a chain (the cache key and ETag input), and the
 * names of output formats.
 *
 * One text per meaning: keys in enum tr_key order; numbers normalised (tr_out_decimal); values that
 * change nothing left out (c-maintain_ratio, fo-center, z-1, dpr-1, o-100, pg-1, q-80,
 * f-auto, false flags), and steps left empty by that dropped; the output settings, which
 * tr_chain_output() resolves over the whole chain, written once at the end of the last step;
 * orig-true alone when it is given, since it ignores every other parameter; di- last. */
#include "tr_parse_i.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

void tr_out_printf(struct tr_outbuf *o, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (o->full)
        return;
    va_start(ap, fmt);
    n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= o->cap - o->len) {
        o->full = true;
        o->p[o->len] = '\0';
        return;
    }
    o->len += (size_t)n;
}

struct canon {
    struct tr_outbuf o;
    bool new_step; /* the next param starts a step: ':' rather than ',' */
};

/* Start a param: its separator, then its key. */
static void key(struct canon *k, const char *name)
{
    if (k->o.len)
        tr_out_printf(&k->o, "%c", k->new_step ? ':' : ',');
    k->new_step = false;
    tr_out_printf(&k->o, "%s", name);
}

static bool is_literal(const struct tr_num *n, double v)
{
    return n->kind == TR_NUM_LITERAL && n->operand[0].value == v;
}

static double gcd(double a, double b)
{
    while (b > 0) {
        double t = fmod(a, b);

        a = b;
        b = t;
    }
    return a;
}

/* ar as W-H: 8-6 and 4_div_3 are 4-3, a lone 1.5 is 1.5-1; other expressions as they are. */
static void out_ratio(struct tr_outbuf *o, const struct tr_num *n)
{
    double w = n->operand[0].value, h = n->operand[1].value, g;

    if (n->kind == TR_NUM_LITERAL) {
        tr_out_decimal(o, w);
        tr_out_printf(o, "-1");
        return;
    }
    if (n->nops != 2 || n->op[0] != TR_OP_DIV || n->operand[0].var || n->operand[1].var) {
        tr_out_num(o, n);
        return;
    }
    if (w == floor(w) && h == floor(h)) {
        g = gcd(w, h);
        w /= g;
        h /= g;
    }
    tr_out_decimal(o, w);
    tr_out_printf(o, "-");
    tr_out_decimal(o, h);
}

/* Whether key t of s changes nothing: ImageKit's defaults and no-op values. */
static bool is_default(const struct tr_step *s, enum tr_key t)
{
    switch (t) {
    case TR_C:
        return s->crop == TR_CROP_MAINTAIN_RATIO;
    case TR_FO:
        return s->focus == TR_FO_CENTER;
    case TR_Z:
        return s->zoom == 1;
    case TR_DPR:
        return is_literal(&s->dpr, 1);
    case TR_RT:
        return !s->rotate_auto && s->rotate == 0;
    case TR_O:
        return s->opacity == 100;
    case TR_PG:
        return s->page == 1;
    case TR_Q:
    case TR_F:
    case TR_PR:
    case TR_LO:
    case TR_MD:
    case TR_CP:
    case TR_ORIG:
        return true; /* output settings: written once for the chain */
    default:
        return false;
    }
}

static const char *const key_names[TR_KEY_COUNT] = {
    [TR_W] = "w",
    [TR_H] = "h",
    [TR_AR] = "ar",
    [TR_C] = "c",
    [TR_CM] = "cm",
    [TR_FO] = "fo",
    [TR_Z] = "z",
    [TR_X] = "x",
    [TR_Y] = "y",
    [TR_XC] = "xc",
    [TR_YC] = "yc",
    [TR_DPR] = "dpr",
    [TR_RT] = "rt",
    [TR_FL] = "fl",
    [TR_T] = "t",
    [TR_BG] = "bg",
    [TR_B] = "b",
    [TR_R] = "r",
    [TR_BL] = "bl",
    [TR_O] = "o",
    [TR_E_GRAYSCALE] = "e-grayscale",
    [TR_E_CONTRAST] = "e-contrast",
    [TR_E_SHARPEN] = "e-sharpen",
    [TR_E_USM] = "e-usm",
    [TR_PG] = "pg",
    [TR_Q] = "q",
    [TR_F] = "f",
    [TR_PR] = "pr",
    [TR_LO] = "lo",
    [TR_MD] = "md",
    [TR_CP] = "cp",
    [TR_ORIG] = "orig",
};

static const struct tr_num *amount_of(const struct tr_step *s, enum tr_key t)
{
    switch (t) {
    case TR_W:
        return &s->w;
    case TR_H:
        return &s->h;
    case TR_X:
        return &s->x;
    case TR_Y:
        return &s->y;
    case TR_XC:
        return &s->xc;
    case TR_YC:
        return &s->yc;
    default:
        return &s->dpr;
    }
}

/* The value of key t of s, after "<key>-". Bare effects have none. */
static void out_value(struct tr_outbuf *o, const struct tr_step *s, enum tr_key t)
{
    switch (t) {
    case TR_W:
    case TR_H:
    case TR_X:
    case TR_Y:
    case TR_XC:
    case TR_YC:
    case TR_DPR:
        tr_out_num(o, amount_of(s, t));
        break;
    case TR_AR:
        out_ratio(o, &s->ar);
        break;
    case TR_C:
        tr_out_printf(o, "%s", tr_word_name(tr_crop_words, (int)s->crop));
        break;
    case TR_CM:
        tr_out_printf(o, "%s", tr_word_name(tr_crop_mode_words, (int)s->crop_mode));
        break;
    case TR_FO:
        tr_out_printf(o, "%s", tr_word_name(tr_focus_words, (int)s->focus));
        break;
    case TR_Z:
        tr_out_decimal(o, s->zoom);
        break;
    case TR_RT:
        if (s->rotate_auto)
            tr_out_printf(o, "auto");
        else
            tr_out_decimal(o, s->rotate);
        break;
    case TR_FL:
        tr_out_printf(o, "%s", tr_word_name(tr_flip_words, (int)s->flip));
        break;
    case TR_T:
        tr_out_printf(o, "%d", s->trim);
        break;
    case TR_BG:
        tr_out_color(o, &s->bg);
        break;
    case TR_B:
        tr_out_num(o, &s->border_width);
        tr_out_printf(o, "_");
        tr_out_color(o, &s->border_color);
        break;
    case TR_R:
        if (s->radius_max)
            tr_out_printf(o, "max");
        else
            tr_out_num(o, &s->radius);
        break;
    case TR_BL:
        tr_out_decimal(o, s->blur);
        break;
    case TR_O:
        tr_out_printf(o, "%d", s->opacity);
        break;
    case TR_E_SHARPEN:
        tr_out_decimal(o, s->sharpen);
        break;
    case TR_E_USM:
        for (int i = 0; i < 4; i++) {
            if (i)
                tr_out_printf(o, "-");
            tr_out_decimal(o, s->usm[i]);
        }
        break;
    case TR_PG:
        tr_out_printf(o, "%d", s->page);
        break;
    default:
        break;
    }
}

static bool is_bare(const struct tr_step *s, enum tr_key t)
{
    return t == TR_E_GRAYSCALE || t == TR_E_CONTRAST || (t == TR_E_SHARPEN && s->sharpen == 0);
}

static void out_step(struct canon *k, const struct tr_step *s)
{
    k->new_step = true;
    for (int t = 0; t < TR_KEY_COUNT; t++) {
        if (!tr_step_has(s, (enum tr_key)t) || is_default(s, (enum tr_key)t))
            continue;
        key(k, key_names[t]);
        if (is_bare(s, (enum tr_key)t))
            continue;
        tr_out_printf(&k->o, "-");
        out_value(&k->o, s, (enum tr_key)t);
    }
}

/* The output settings resolved over the chain, in the last step written. */
static void out_output(struct canon *k, const struct tr_chain *c)
{
    struct tr_output out;

    tr_chain_output(c, &out);
    k->new_step = false;
    if (out.quality != 80) {
        key(k, "q-");
        tr_out_printf(&k->o, "%d", out.quality);
    }
    if (out.format != TR_FMT_AUTO) {
        key(k, "f-");
        tr_out_printf(&k->o, "%s", tr_format_name(out.format));
    }
    if (out.progressive)
        key(k, "pr-true");
    if (out.lossless)
        key(k, "lo-true");
    if (out.metadata)
        key(k, "md-true");
    if (out.color_profile)
        key(k, "cp-true");
}

static void out_default_image(struct canon *k, const char *path)
{
    k->new_step = true;
    key(k, "di-");
    for (const char *slash = strchr(path, '/'); slash; slash = strchr(path, '/')) {
        tr_out_printf(&k->o, "%.*s@@", (int)(slash - path), path);
        path = slash + 1;
    }
    tr_out_printf(&k->o, "%s", path);
}

int tr_canonical(const struct tr_chain *c, char *buf, size_t cap)
{
    struct canon k = {.o = {buf, cap, 0, cap == 0}};

    if (cap)
        buf[0] = '\0';
    if (tr_chain_wants_original(c)) {
        key(&k, "orig-true");
    } else {
        for (unsigned i = 0; i < c->nsteps && i < TR_MAX_STEPS; i++)
            out_step(&k, &c->step[i]);
        out_output(&k, c);
    }
    if (c->default_image[0])
        out_default_image(&k, c->default_image);
    return k.o.full ? -ENOSPC : (int)k.o.len;
}

/* ---- Formats ------------------------------------------------------------------------------- */

const char *tr_format_name(enum tr_format f)
{
    return tr_word_name(tr_format_words, (int)f);
}

const char *tr_format_mime(enum tr_format f)
{
    switch (f) {
    case TR_FMT_JPEG:
        return "image/jpeg";
    case TR_FMT_PNG:
        return "image/png";
    case TR_FMT_WEBP:
        return "image/webp";
    case TR_FMT_AVIF:
        return "image/avif";
    case TR_FMT_GIF:
        return "image/gif";
    default:
        return "application/octet-stream";
    }
}

bool tr_format_varies(const struct tr_chain *c)
{
    struct tr_output out;

    if (tr_chain_wants_original(c))
        return false;
    tr_chain_output(c, &out);
    return out.format == TR_FMT_AUTO;
}
