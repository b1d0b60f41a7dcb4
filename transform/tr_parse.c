/* transform/tr_parse.c: ImageKit transformation text -> struct tr_chain, and the descriptor
 * table of every key (tr_keys[]: its name, field, parser, printer and default).
 *
 * Table-driven: one row per key names how its value is read and written back (tr_keys[]),
 * one row per chain-level key says what it does to the chain (chain_keys[]: n, di), one row
 * per key we refuse names the reason (refused[]). Text is read through bounded views of the
 * caller's bytes, which are never NUL-terminated. A named transformation (n-) is read in
 * place, as if its text stood there, so it may add params to the current step and add steps.
 * Pure: no allocation, no libvips, no globals but constant tables. */
#include "tr_parse_i.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define MAX_PX 65535   /* ImageKit ignores larger dimensions; we refuse them (docs/) */
#define MAX_PAGE 10000 /* pg- */
#define SHOW_LEN TR_SHOW_LEN

/* ---- Views and messages -------------------------------------------------------------------- */

/* User text for a message: printable ASCII only, cut to SHOW_LEN with "...". */
const char *tr_parse_show(struct str s, char buf[SHOW_LEN])
{
    size_t n = s.len < SHOW_LEN - 1 ? s.len : SHOW_LEN - 4;

    for (size_t i = 0; i < n; i++)
        buf[i] = s.p[i] >= 0x20 && s.p[i] < 0x7f ? s.p[i] : '?';
    if (s.len > n)
        memcpy(buf + n, "...", 4);
    else
        buf[n] = '\0';
    return buf;
}

/* Set the error message, then say where: " (step 2)" or " (step 1 of n-thumb)". */
int tr_parse_fail(struct tr_parser *p, const char *fmt, ...)
{
    char where[24 + SHOW_LEN], name[SHOW_LEN];
    size_t n;
    va_list ap;

    if (p->named.len)
        snprintf(where, sizeof(where), " (step %u of n-%s)", p->step_no,
                 tr_parse_show(p->named, name));
    else
        snprintf(where, sizeof(where), " (step %u)", p->step_no);
    va_start(ap, fmt);
    vsnprintf(p->err, TR_ERR_LEN - strlen(where), fmt, ap);
    va_end(ap);
    n = strlen(p->err);
    memcpy(p->err + n, where, strlen(where) + 1);
    return -EINVAL;
}

/* "<key>: '<value>' <why>". */
static int bad(struct tr_parser *p, const struct tr_key_def *d, struct str v, const char *why)
{
    char buf[SHOW_LEN];

    return tr_parse_fail(p, "%s: '%s' %s", d->name, tr_parse_show(v, buf), why);
}

static int bad_num(struct tr_parser *p, const struct tr_key_def *d, const struct tr_num_error *e)
{
    if (e->token.len == 0)
        return tr_parse_fail(p, "%s: %s", d->name, e->why);
    return bad(p, d, e->token, e->why);
}

/* ---- Values: one parser and one printer per kind, side by side -------------------------------
 *
 * A parser reads v into the field of the step being read that its row names, or says why not;
 * a printer writes that field's canonical text, which its parser reads back to the same value.
 * Enumerations are int fields (enum tr_crop and its kind), read and written as int. */

static void *field(struct tr_parser *p, const struct tr_key_def *d)
{
    return (char *)p->st + d->field;
}

static const void *value(const struct tr_step *s, const struct tr_key_def *d)
{
    return (const char *)s + d->field;
}

static int parse_word(struct tr_parser *p, const struct tr_key_def *d, struct str v)
{
    const struct tr_word_set *set = d->arg;

    for (const struct tr_word *w = set->words; w->name; w++) {
        if (str_eq(v, w->name)) {
            *(int *)field(p, d) = w->value;
            return 0;
        }
    }
    return bad(p, d, v, set->why);
}

static void print_word(struct tr_outbuf *o, const struct tr_key_def *d, const struct tr_step *s)
{
    const struct tr_word_set *set = d->arg;

    tr_out_printf(o, "%s", tr_word_name(set->words, *(const int *)value(s, d)));
}

/* Sizes and positions (struct tr_num): a literal, a fraction or an expression. */
struct range {
    double lo, hi;
    bool fraction; /* a value in (0, 1) is a fraction of the image */
    bool whole;    /* other values are rounded to whole pixels */
    const char *why;
};

static const struct range size_range = {1, MAX_PX, true, true,
                                        "is out of range (a fraction below 1, or 1-65535 px)"};
static const struct range pos_range = {0, MAX_PX, true, true,
                                       "is out of range (a fraction below 1, or 0-65535 px)"};
static const struct range border_range = {1, MAX_PX, false, true, "is out of range 1-65535 px"};
static const struct range dpr_range = {0.1, 5, false, false, "is out of range 0.1-5"};
static const struct range layer_pos_range = {-MAX_PX, MAX_PX, false, true,
                                             "is out of range N65535-65535 px"};
static const struct range font_size_range = {1, TR_MAX_FONT_SIZE, false, true,
                                             "is out of range 1-" TR_STR(TR_MAX_FONT_SIZE) " px"};

/* A literal or an expression into n. Expressions of literals only are computed here, so that
 * "w-100_mul_2" is "w-200" (one canonical text) and its range is checked now. */
static int parse_amount(struct tr_parser *p, const struct tr_key_def *d, struct str v,
                        struct tr_num *n, const struct range *r)
{
    struct tr_num_error e;
    double x;

    if (tr_num_parse(v, n, &e))
        return bad_num(p, d, &e);
    if (!tr_num_is_constant(n))
        return 0;
    if (tr_num_eval(n, NULL, &x))
        return bad(p, d, v, "divides by zero or overflows");
    x = round(x * 1e6) / 1e6; /* as literals are: the canonical text says what we compute */
    if (!(r->fraction && x > 0 && x < 1)) {
        if (x < r->lo || x > r->hi)
            return bad(p, d, v, r->why);
        if (r->whole)
            x = round(x);
    }
    tr_num_literal(n, x);
    return 0;
}

/* A struct tr_num field; "auto" (a client hint) where the row allows it. */
static int parse_num(struct tr_parser *p, const struct tr_key_def *d, struct str v)
{
    struct tr_num *n = field(p, d);

    if ((d->flags & TR_KEY_AUTO) && str_eq(v, "auto")) {
        n->kind = TR_NUM_AUTO;
        return 0;
    }
    return parse_amount(p, d, v, n, d->arg);
}

static void print_num(struct tr_outbuf *o, const struct tr_key_def *d, const struct tr_step *s)
{
    tr_out_num(o, value(s, d));
}

/* Whole numbers (int fields) in [lo, hi]. */
struct whole {
    long lo, hi;
};

static const struct whole percent_whole = {0, 100};
static const struct whole quality_whole = {1, 100};
static const struct whole blur_whole = {1, 100};
static const struct whole trim_whole = {1, 99};
static const struct whole page_whole = {1, MAX_PAGE};
static const struct whole radius_whole = {1, MAX_PX};
static const struct whole alpha_whole = {1, 9};
static const struct whole line_whole = {0, 1000};
static const struct whole pad_whole = {0, 1000};

static int parse_whole_in(struct tr_parser *p, const struct tr_key_def *d, struct str v,
                          const struct whole *r, int *out)
{
    struct tr_num_error e;
    long x;

    if (tr_num_whole(v, &x, &e))
        return bad_num(p, d, &e);
    if (x < r->lo || x > r->hi)
        return tr_parse_fail(p, "%s: %ld is out of range %ld-%ld", d->name, x, r->lo, r->hi);
    *out = (int)x;
    return 0;
}

static int parse_whole(struct tr_parser *p, const struct tr_key_def *d, struct str v)
{
    return parse_whole_in(p, d, v, d->arg, field(p, d));
}

static void print_whole(struct tr_outbuf *o, const struct tr_key_def *d, const struct tr_step *s)
{
    tr_out_printf(o, "%d", *(const int *)value(s, d));
}

/* Decimals (double fields): [lo, hi], or (lo, hi] when lo_open. */
struct span {
    double lo, hi;
    bool lo_open;
    const char *why;
};

static const struct span zoom_span = {0, 10, true, "is out of range 0-10 (above 0)"};
static const struct span degrees_span = {-360, 360, false, "is out of range N360-360"};
static const struct span strength_span = {0, 100, true, "is out of range 0-100 (above 0)"};
static const struct span threshold_span = {0, 1, false, "is out of range 0-1"};

static int parse_decimal_in(struct tr_parser *p, const struct tr_key_def *d, struct str v,
                            const struct span *r, double *out)
{
    struct tr_num_error e;

    if (tr_num_decimal(v, out, &e))
        return bad_num(p, d, &e);
    if (*out < r->lo || (r->lo_open && *out == r->lo) || *out > r->hi)
        return bad(p, d, v, r->why);
    return 0;
}

static int parse_decimal(struct tr_parser *p, const struct tr_key_def *d, struct str v)
{
    return parse_decimal_in(p, d, v, d->arg, field(p, d));
}

static void print_decimal(struct tr_outbuf *o, const struct tr_key_def *d, const struct tr_step *s)
{
    tr_out_decimal(o, *(const double *)value(s, d));
}

/* true or false (bool fields). */
static int parse_bool(struct tr_parser *p, const struct tr_key_def *d, struct str v)
{
    bool x = str_eq(v, "true");

    if (!x && !str_eq(v, "false"))
        return bad(p, d, v, "is not true or false");
    *(bool *)field(p, d) = x;
    return 0;
}

static void print_bool(struct tr_outbuf *o, const struct tr_key_def *d, const struct tr_step *s)
{
    tr_out_printf(o, "%s", *(const bool *)value(s, d) ? "true" : "false");
}

/* A colour (struct tr_color fields). */
static int parse_color_in(struct tr_parser *p, const struct tr_key_def *d, struct str v,
                          struct tr_color *out)
{
    int rc = tr_color_parse(v, out);

    if (rc == -ERANGE)
        return bad(p, d, v, "has an opacity (last two digits) outside 00-99");
    if (rc)
        return bad(p, d, v, "is not a colour (RRGGBB, RRGGBBAA, RGB or a CSS colour name)");
    return 0;
}

static int parse_color(struct tr_parser *p, const struct tr_key_def *d, struct str v)
{
    return parse_color_in(p, d, v, field(p, d));
}

static void print_color(struct tr_outbuf *o, const struct tr_key_def *d, const struct tr_step *s)
{
    tr_out_color(o, value(s, d));
}

/* A flag that takes no value (e-grayscale): the key alone says it. */
static int parse_flag(struct tr_parser *p, const struct tr_key_def *d, struct str v)
{
    (void)p;
    (void)d;
    (void)v;
    return 0;
}

static void print_nothing(struct tr_outbuf *o, const struct tr_key_def *d, const struct tr_step *s)
{
    (void)o;
    (void)d;
    (void)s;
}

/* ---- Values of one key each ---------------------------------------------------------------- */

/* "W-H" or "W_H" (4-3, 16_9): W and H positive; n becomes W div H. -EINVAL if v is not that
 * shape. */
static int ratio_pair(struct str v, char sep, struct tr_num *n)
{
    struct str w, h = v;
    struct tr_num_error e;
    double a, b;

    if (!str_cut(&h, sep, &w) || tr_num_decimal(w, &a, &e) || tr_num_decimal(h, &b, &e))
        return -EINVAL;
    tr_num_literal(n, a);
    n->kind = TR_NUM_EXPR;
    n->nops = 2;
    n->op[0] = TR_OP_DIV;
    n->value[1] = b;
    return 0;
}

/* ar-4-3, ar-16_9, ar-1.5 or an expression (ar-iar_div_2). W-H stays a pair, so that ar-8-6
 * and ar-4_div_3 can be written as ar-4-3 by print_ratio(). */
static int parse_ar(struct tr_parser *p, const struct tr_key_def *d, struct str v)
{
    struct tr_num *n = &p->st->ar;
    struct tr_num_error e;
    bool pair;
    double x;

    if (ratio_pair(v, '-', n) && ratio_pair(v, '_', n)) {
        if (memchr(v.p, '-', v.len))
            return bad(p, d, v, "is not W-H (ar-4-3) or an expression");
        if (tr_num_parse(v, n, &e))
            return bad_num(p, d, &e);
    }
    if (!tr_num_is_constant(n))
        return 0;
    pair = n->nops == 2 && n->op[0] == TR_OP_DIV;
    if (pair && (n->value[0] <= 0 || n->value[1] <= 0))
        return bad(p, d, v, "needs a width and a height above 0");
    if (tr_num_eval(n, NULL, &x))
        return bad(p, d, v, "divides by zero or overflows");
    if (!pair)
        x = round(x * 1e6) / 1e6;
    if (x < 1.0 / MAX_PX || x > MAX_PX)
        return bad(p, d, v, "is out of range (1-65535 to 65535-1)");
    if (!pair)
        tr_num_literal(n, x);
    return 0;
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
static void print_ratio(struct tr_outbuf *o, const struct tr_key_def *d, const struct tr_step *s)
{
    const struct tr_num *n = value(s, d);
    double w = n->value[0], h = n->value[1], g;

    if (n->kind == TR_NUM_LITERAL) {
        tr_out_decimal(o, w);
        tr_out_printf(o, "-1");
        return;
    }
    if (n->nops != 2 || n->op[0] != TR_OP_DIV || n->var[0] || n->var[1]) {
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

static int parse_blur(struct tr_parser *p, const struct tr_key_def *d, struct str v)
{
    int x = 0;

    if (parse_whole_in(p, d, v, &blur_whole, &x))
        return -EINVAL;
    p->st->blur = x;
    return 0;
}

static int parse_page(struct tr_parser *p, const struct tr_key_def *d, struct str v)
{
    if (memchr(v.p, '-', v.len) || memchr(v.p, '_', v.len))
        return bad(p, d, v, "is a page range, list or name, not supported");
    return parse_whole(p, d, v);
}

static int parse_trim(struct tr_parser *p, const struct tr_key_def *d, struct str v)
{
    if (str_eq(v, "true")) {
        p->st->trim = 10;
        return 0;
    }
    if (str_eq(v, "false")) { /* in a layer: no trim, where layers trim by default */
        if (p->fr[p->depth].layer >= 0)
            p->chain->layer[p->fr[p->depth].layer].no_trim = true;
        return TR_NO_EFFECT;
    }
    return parse_whole(p, d, v);
}

/* Degrees clockwise, N for counter-clockwise, kept in [0, 360): rt-N90 is rt-270. */
static int parse_rotate(struct tr_parser *p, const struct tr_key_def *d, struct str v)
{
    double deg;

    if (str_eq(v, "auto")) { /* EXIF orientation is always applied: it changes nothing */
        p->st->rotate_auto = true;
        return TR_NO_EFFECT;
    }
    if (parse_decimal_in(p, d, v, &degrees_span, &deg))
        return -EINVAL;
    deg = round(fmod(deg + 360, 360) * 1e6) / 1e6;
    p->st->rotate = deg >= 360 ? 0 : deg;
    return p->st->rotate == 0 ? TR_NO_EFFECT : 0;
}

static void print_rotate(struct tr_outbuf *o, const struct tr_key_def *d, const struct tr_step *s)
{
    (void)d;
    if (s->rotate_auto)
        tr_out_printf(o, "auto");
    else
        tr_out_decimal(o, s->rotate);
}

/* orig-true; orig-false sets nothing. */
static int parse_orig(struct tr_parser *p, const struct tr_key_def *d, struct str v)
{
    int rc = parse_bool(p, d, v);

    return rc ? rc : p->st->orig ? 0 : TR_NO_EFFECT;
}

/* b-<width>_<colour>; the width may be an expression, itself made of '_': cut at the last. */
static int parse_border(struct tr_parser *p, const struct tr_key_def *d, struct str v)
{
    const char *u = memrchr(v.p, '_', v.len);
    struct str width, colour;

    if (!u)
        return bad(p, d, v, "is not <width>_<colour> (b-5_FF0000)");
    width = (struct str){v.p, (size_t)(u - v.p)};
    colour = (struct str){u + 1, v.len - width.len - 1};
    if (parse_color_in(p, d, colour, &p->st->border_color))
        return -EINVAL;
    return parse_amount(p, d, width, &p->st->border_width, &border_range);
}

static void print_border(struct tr_outbuf *o, const struct tr_key_def *d, const struct tr_step *s)
{
    (void)d;
    tr_out_num(o, &s->border_width);
    tr_out_printf(o, "_");
    tr_out_color(o, &s->border_color);
}

static int parse_radius(struct tr_parser *p, const struct tr_key_def *d, struct str v)
{
    int px;

    if (str_eq(v, "max")) {
        p->st->radius_max = true;
        return 0;
    }
    if (memchr(v.p, '_', v.len))
        return bad(p, d, v, "is per-corner radii or an expression, not supported yet");
    if (parse_whole_in(p, d, v, &radius_whole, &px))
        return -EINVAL;
    tr_num_literal(&p->st->radius, px);
    return 0;
}

static void print_radius(struct tr_outbuf *o, const struct tr_key_def *d, const struct tr_step *s)
{
    (void)d;
    if (s->radius_max)
        tr_out_printf(o, "max");
    else
        tr_out_num(o, &s->radius);
}

/* e-sharpen bare is e-sharpen-30 (libvips's own strength): one value, one canonical text. */
#define SHARPEN_DEFAULT 30

static int parse_sharpen(struct tr_parser *p, const struct tr_key_def *d, struct str v)
{
    p->st->sharpen = SHARPEN_DEFAULT;
    if (v.len == 0)
        return 0;
    return parse_decimal_in(p, d, v, &strength_span, &p->st->sharpen);
}

static void print_sharpen(struct tr_outbuf *o, const struct tr_key_def *d, const struct tr_step *s)
{
    if (s->sharpen != SHARPEN_DEFAULT)
        print_decimal(o, d, s);
}

/* e-usm-<radius>-<sigma>-<amount>-<threshold>; bare e-usm takes ImageKit's documented example,
 * 2-2-0.8-0.024 (docs/transformations.md). */
static int parse_usm(struct tr_parser *p, const struct tr_key_def *d, struct str v)
{
    static const double dflt[4] = {2, 2, 0.8, 0.024};
    static const struct span *const spans[4] = {&strength_span, &strength_span, &strength_span,
                                                &threshold_span};
    struct str rest = v, part;

    memcpy(p->st->usm, dflt, sizeof(dflt));
    if (v.len == 0)
        return 0;
    for (int i = 0; i < 4; i++) {
        if (str_cut(&rest, '-', &part) != (i < 3))
            return bad(p, d, v, "is not <radius>-<sigma>-<amount>-<threshold>");
        if (parse_decimal_in(p, d, part, spans[i], &p->st->usm[i]))
            return -EINVAL;
    }
    return 0;
}

static void print_usm(struct tr_outbuf *o, const struct tr_key_def *d, const struct tr_step *s)
{
    (void)d;
    for (int i = 0; i < 4; i++) {
        if (i)
            tr_out_printf(o, "-");
        tr_out_decimal(o, s->usm[i]);
    }
}

/* ---- Video values (docs/video.md) ---------------------------------------------------------- */

static const struct span start_span = {0, 86400, false, "is out of range 0-86400 s"};
static const struct span length_span = {0, 86400, true, "is out of range 0-86400 s (above 0)"};

/* so, eo, du: seconds, a decimal or an expression of numbers (du-10_div_4), kept to 1e-6 as
 * literals are. Image variables (iw, ch...) mean nothing for a time: refused. */
static int parse_seconds(struct tr_parser *p, const struct tr_key_def *d, struct str v)
{
    const struct span *r = d->arg;
    struct tr_num_error e;
    struct tr_num n;
    double x;

    if (tr_num_parse(v, &n, &e) || !tr_num_is_constant(&n))
        return bad(p, d, v, "is not a number of seconds");
    if (tr_num_eval(&n, NULL, &x))
        return bad(p, d, v, "divides by zero or overflows");
    x = round(x * 1e6) / 1e6;
    if (x < r->lo || (r->lo_open && x == r->lo) || x > r->hi)
        return bad(p, d, v, r->why);
    *(double *)field(p, d) = x;
    return 0;
}

/* ImageKit's rendition heights, ascending: sr- takes these only. */
static const int rendition_heights[TR_MAX_RENDITIONS] = {240, 360, 480, 720, 1080, 1440, 2160};

/* sr-240_360_720: each height once, in ascending order whatever the order given, so that one
 * set of renditions has one canonical text (the packager sorts them the same way). */
static int parse_renditions(struct tr_parser *p, const struct tr_key_def *d, struct str v)
{
    struct str rest = v, part;
    bool more = true, want[TR_MAX_RENDITIONS] = {false};
    struct tr_num_error e;
    long h;

    while (more) {
        int i = 0;

        more = str_cut(&rest, '_', &part);
        if (part.len == 0)
            return bad(p, d, v, "has an empty height");
        if (tr_num_whole(part, &h, &e))
            return bad_num(p, d, &e);
        while (i < TR_MAX_RENDITIONS && rendition_heights[i] != h)
            i++;
        if (i == TR_MAX_RENDITIONS)
            return bad(p, d, part, "is not a rendition height (240 360 480 720 1080 1440 2160)");
        want[i] = true;
    }
    p->st->sr.n = 0;
    for (int i = 0; i < TR_MAX_RENDITIONS; i++)
        if (want[i])
            p->st->sr.height[p->st->sr.n++] = rendition_heights[i];
    return 0;
}

static void print_renditions(struct tr_outbuf *o, const struct tr_key_def *d,
                             const struct tr_step *s)
{
    (void)d;
    for (int i = 0; i < s->sr.n && i < TR_MAX_RENDITIONS; i++)
        tr_out_printf(o, "%s%d", i ? "_" : "", s->sr.height[i]);
}

/* ff-: an installed family by the name ImageKit-style URLs use, any case; or a font file of
 * the endpoint (ff-fonts@@x.ttf: a path, tr_nest.c keeps it with the layer). */
static int parse_font(struct tr_parser *p, const struct tr_key_def *d, struct str v)
{
    for (const struct tr_word *w = tr_fonts.words; w->name; w++) {
        if (v.len == strlen(w->name) && strncasecmp(v.p, w->name, v.len) == 0) {
            p->st->font = (enum tr_font)w->value;
            return 0;
        }
    }
    if (memmem(v.p, v.len, "@@", 2) || memchr(v.p, '.', v.len) || memchr(v.p, '/', v.len)) {
        p->st->font = TR_FONT_FILE;
        return tr_nest_font(p, v);
    }
    return bad(p, d, v, tr_fonts.why);
}

/* pa-: CSS's shorthand with '_': 1 to 4 values, top right bottom left. */
static int parse_pad(struct tr_parser *p, const struct tr_key_def *d, struct str v)
{
    static const int from[4][4] = {{0, 0, 0, 0}, {0, 1, 0, 1}, {0, 1, 2, 1}, {0, 1, 2, 3}};
    struct str rest = v, part;
    int val[4], n = 0;
    bool more = true;

    while (more) {
        more = str_cut(&rest, '_', &part);
        if (n == 4)
            return bad(p, d, v, "has more than 4 values (top right bottom left)");
        if (parse_whole_in(p, d, part, &pad_whole, &val[n++]))
            return -EINVAL;
    }
    for (int i = 0; i < 4; i++)
        p->st->pad[i] = val[from[n - 1][i]];
    return 0;
}

/* The shortest shorthand of the same four values. */
static void print_pad(struct tr_outbuf *o, const struct tr_key_def *d, const struct tr_step *s)
{
    const int *a = s->pad;
    int n = a[3] != a[1] ? 4 : a[2] != a[0] ? 3 : a[1] != a[0] ? 2 : 1;

    (void)d;
    for (int i = 0; i < n; i++)
        tr_out_printf(o, i ? "_%d" : "%d", a[i]);
}

/* ---- The descriptor table ------------------------------------------------------------------
 *
 * One row per key, indexed by enum tr_key (whose order is the canonical order): its name, the
 * field of struct tr_step it fills, its parser and printer with what they share, the canonical
 * text of the value that changes nothing (tr_canonical() leaves such a key out), and flags.
 * A new key is one row here, its enum tr_key and field in tr.h, and its pipeline code. */

#define F(member) offsetof(struct tr_step, member)

const struct tr_key_def tr_keys[TR_KEY_COUNT] = {
    [TR_W] = {"w", F(w), parse_num, print_num, &size_range, NULL, TR_KEY_AUTO | TR_KEY_TEXT_TOO},
    [TR_H] = {"h", F(h), parse_num, print_num, &size_range, NULL, 0},
    [TR_AR] = {"ar", F(ar), parse_ar, print_ratio, NULL, NULL, 0},
    [TR_C] = {"c", F(crop), parse_word, print_word, &tr_crops, "maintain_ratio", 0},
    [TR_CM] = {"cm", F(crop_mode), parse_word, print_word, &tr_crop_modes, NULL, 0},
    [TR_FO] = {"fo", F(focus), parse_word, print_word, &tr_focuses, "center", 0},
    [TR_Z] = {"z", F(zoom), parse_decimal, print_decimal, &zoom_span, "1", 0},
    [TR_X] = {"x", F(x), parse_num, print_num, &pos_range, NULL, 0},
    [TR_Y] = {"y", F(y), parse_num, print_num, &pos_range, NULL, 0},
    [TR_XC] = {"xc", F(xc), parse_num, print_num, &pos_range, NULL, 0},
    [TR_YC] = {"yc", F(yc), parse_num, print_num, &pos_range, NULL, 0},
    [TR_DPR] = {"dpr", F(dpr), parse_num, print_num, &dpr_range, "1", TR_KEY_AUTO},
    [TR_RT] = {"rt", F(rotate), parse_rotate, print_rotate, NULL, "0", TR_KEY_TEXT_TOO},
    [TR_FL] = {"fl", F(flip), parse_word, print_word, &tr_flips, NULL, TR_KEY_TEXT_TOO},
    [TR_T] = {"t", F(trim), parse_trim, print_whole, &trim_whole, NULL, 0},
    [TR_BG] = {"bg", F(bg), parse_color, print_color, NULL, NULL, TR_KEY_TEXT_TOO},
    [TR_B] = {"b", F(border_width), parse_border, print_border, NULL, NULL, 0},
    [TR_R] = {"r", F(radius), parse_radius, print_radius, NULL, NULL, TR_KEY_TEXT_TOO},
    [TR_BL] = {"bl", F(blur), parse_blur, print_decimal, NULL, NULL, 0},
    [TR_O] = {"o", F(opacity), parse_whole, print_whole, &percent_whole, "100", 0},
    [TR_E_GRAYSCALE] = {"e-grayscale", 0, parse_flag, print_nothing, NULL, NULL, TR_KEY_BARE_ONLY},
    [TR_E_CONTRAST] = {"e-contrast", 0, parse_flag, print_nothing, NULL, NULL, TR_KEY_BARE_ONLY},
    [TR_E_SHARPEN] = {"e-sharpen", F(sharpen), parse_sharpen, print_sharpen, NULL, NULL,
                      TR_KEY_BARE},
    [TR_E_USM] = {"e-usm", F(usm), parse_usm, print_usm, NULL, NULL, TR_KEY_BARE},
    [TR_SO] = {"so", F(so), parse_seconds, print_decimal, &start_span, NULL, TR_KEY_CHAIN},
    [TR_EO] = {"eo", F(eo), parse_seconds, print_decimal, &length_span, NULL, TR_KEY_CHAIN},
    [TR_DU] = {"du", F(du), parse_seconds, print_decimal, &length_span, NULL, TR_KEY_CHAIN},
    [TR_VC] = {"vc", F(vcodec), parse_word, print_word, &tr_vcodecs, NULL, TR_KEY_CHAIN},
    [TR_AC] = {"ac", F(acodec), parse_word, print_word, &tr_acodecs, NULL, TR_KEY_CHAIN},
    [TR_SR] = {"sr", F(sr), parse_renditions, print_renditions, NULL, NULL, TR_KEY_CHAIN},
    [TR_PG] = {"pg", F(page), parse_page, print_whole, &page_whole, "1", TR_KEY_CHAIN},
    [TR_Q] = {"q", F(quality), parse_whole, print_whole, &quality_whole, TR_STR(TR_QUALITY_DEFAULT),
              TR_KEY_CHAIN},
    [TR_F] = {"f", F(format), parse_word, print_word, &tr_formats, "auto", TR_KEY_CHAIN},
    [TR_PR] = {"pr", F(progressive), parse_bool, print_bool, NULL, "false", TR_KEY_CHAIN},
    [TR_LO] = {"lo", F(lossless), parse_bool, print_bool, NULL, "false", TR_KEY_CHAIN},
    [TR_MD] = {"md", F(metadata), parse_bool, print_bool, NULL, "false", TR_KEY_CHAIN},
    [TR_CP] = {"cp", F(color_profile), parse_bool, print_bool, NULL, "false", TR_KEY_CHAIN},
    [TR_ORIG] = {"orig", F(orig), parse_orig, print_bool, NULL, "false", TR_KEY_CHAIN},
    [TR_LX] = {"lx", F(lx), parse_num, print_num, &layer_pos_range, NULL, TR_KEY_LAYER},
    [TR_LY] = {"ly", F(ly), parse_num, print_num, &layer_pos_range, NULL, TR_KEY_LAYER},
    [TR_LXC] = {"lxc", F(lxc), parse_num, print_num, &layer_pos_range, NULL, TR_KEY_LAYER},
    [TR_LYC] = {"lyc", F(lyc), parse_num, print_num, &layer_pos_range, NULL, TR_KEY_LAYER},
    [TR_LFO] = {"lfo", F(layer_focus), parse_word, print_word, &tr_layer_focuses, "center",
                TR_KEY_LAYER},
    [TR_AL] = {"al", F(alpha), parse_whole, print_whole, &alpha_whole, NULL, TR_KEY_LAYER},
    [TR_FS] = {"fs", F(font_size), parse_num, print_num, &font_size_range, NULL, TR_KEY_TEXT},
    [TR_FF] = {"ff", F(font), parse_font, print_word, &tr_fonts, "DejaVuSans", TR_KEY_TEXT},
    [TR_CO] = {"co", F(color), parse_color, print_color, NULL, "000000", TR_KEY_TEXT},
    [TR_TG] = {"tg", F(typo), parse_word, print_word, &tr_typos, NULL, TR_KEY_TEXT},
    [TR_IA] = {"ia", F(align), parse_word, print_word, &tr_aligns, "center", TR_KEY_TEXT},
    [TR_LH] = {"lh", F(line_height), parse_whole, print_whole, &line_whole, NULL, TR_KEY_TEXT},
    [TR_PA] = {"pa", F(pad), parse_pad, print_pad, NULL, "0", TR_KEY_TEXT},
};

/* ---- Chain-level keys ---------------------------------------------------------------------- */

static int parse_text(struct tr_parser *p, struct str text);

/* n-<name>: the stored text is read here, in place (one level: it cannot name another). */
static int parse_named(struct tr_parser *p, const struct tr_key_def *d, struct str v)
{
    const struct tr_named *nt = NULL;
    unsigned step_no = p->step_no;
    size_t len;
    int rc;

    if (p->named.len)
        return bad(p, d, v, "is named inside a named transformation, which is not allowed");
    for (size_t i = 0; p->names && i < p->names->n && !nt; i++)
        if (str_eq(v, p->names->v[i].name))
            nt = &p->names->v[i];
    if (!nt)
        return bad(p, d, v, "is not a known named transformation");
    len = strnlen(nt->value, TR_MAX_TEXT + 1);
    if (len > TR_MAX_TEXT)
        return bad(p, d, v, "is longer than 2048 bytes");
    p->named = v;
    rc = parse_text(p, (struct str){nt->value, len});
    if (!rc && p->depth > 0)
        rc = tr_parse_fail(p, "n-%.*s: a layer it opens is not closed", (int)v.len, v.p);
    p->named = (struct str){0};
    p->step_no = step_no;
    return rc;
}

/* A relative path with no empty, "." or ".." segment. "@/" is refused too: its '@' would
 * merge with the "@@" that tr_canonical() writes for the '/'. */
bool tr_path_is_clean(const char *path, size_t len)
{
    struct str rest = {path, len}, seg;
    bool more = true;

    if (len == 0)
        return false;
    while (more) {
        more = str_cut(&rest, '/', &seg);
        if (seg.len == 0 || str_eq(seg, ".") || str_eq(seg, "..") ||
            (more && seg.p[seg.len - 1] == '@'))
            return false;
    }
    return true;
}

/* di-<path>: "@@" stands for '/'; a leading "@@" or '/' is dropped (both forms are used). */
static int parse_default_image(struct tr_parser *p, const struct tr_key_def *d, struct str v)
{
    char *dst = p->chain->default_image;
    size_t n = 0, i = 0;

    if (dst[0])
        return tr_parse_fail(p, "di: a default image is given twice");
    if (v.len >= 2 && v.p[0] == '@' && v.p[1] == '@')
        i = 2;
    else if (v.p[0] == '/')
        i = 1;
    for (; i < v.len; i++, n++) {
        if (n == TR_MAX_PATH - 1)
            return bad(p, d, v, "is longer than 511 bytes");
        if (v.p[i] == '@' && i + 1 < v.len && v.p[i + 1] == '@') {
            dst[n] = '/';
            i++;
        } else {
            dst[n] = v.p[i];
        }
    }
    dst[n] = '\0';
    if (!tr_path_is_clean(dst, n)) {
        dst[0] = '\0';
        return bad(p, d, v, "is not a clean relative path");
    }
    return 0;
}
/* Keys that act on the chain rather than fill a field of the step: a named transformation is
 * read in place, a default image belongs to the chain. The keys that open and close a nested
 * context (l-, if-, and a layer's i-/ie-) are read by parse_nest() and tr_nest.c instead. */
static const struct tr_key_def chain_keys[] = {
    {"n", 0, parse_named, NULL, NULL, NULL, 0},
    {"di", 0, parse_default_image, NULL, NULL, NULL, 0},
};

/* ---- Finding a key ---------------------------------------------------------------------- */

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* The row of key: a step key (*k its enum tr_key) or a chain-level one (*k -1); NULL if none. */
static const struct tr_key_def *find_param(struct str key, int *k)
{
    for (int i = 0; i < TR_KEY_COUNT && key.len; i++) {
        if (tr_keys[i].name[0] == key.p[0] && str_eq(key, tr_keys[i].name)) {
            *k = i;
            return &tr_keys[i];
        }
    }
    *k = -1;
    for (size_t i = 0; i < COUNT(chain_keys) && key.len; i++)
        if (str_eq(key, chain_keys[i].name))
            return &chain_keys[i];
    return NULL;
}

/* ---- Steps and params ---------------------------------------------------------------------- */

/* The key is the text before the first '-'; for effects it is "e-<effect>". Returns whether a
 * value follows (then *v is the value). */
static bool split_key(struct str *v, struct str *key)
{
    struct str effect;
    bool has_value = str_cut(v, '-', key);

    if (has_value && str_eq(*key, "e")) {
        has_value = str_cut(v, '-', &effect);
        key->len += 1 + effect.len;
    }
    return has_value;
}

/* Whether key d may stand where the parser is: the chain's step, or a layer's. */
static int check_place(struct tr_parser *p, const struct tr_key_def *d)
{
    const struct tr_frame *f = &p->fr[p->depth];
    const struct tr_layer *l = f->layer >= 0 ? &p->chain->layer[f->layer] : NULL;

    if (!l && (d->flags & (TR_KEY_LAYER | TR_KEY_TEXT)))
        return tr_parse_fail(p, "%s: only inside a layer (l-image or l-text ... l-end)", d->name);
    if ((d->flags & TR_KEY_CHAIN) && (l || f->mode != TR_MODE_BOTH))
        return tr_parse_fail(p, "%s: applies to the whole image, not inside a %s", d->name,
                             l ? "layer" : "conditional");
    if (!l)
        return 0;
    if ((d->flags & (TR_KEY_LAYER | TR_KEY_TEXT)) && f->lstep_no > 0)
        return tr_parse_fail(p, "%s: only in a layer's first step", d->name);
    if (l->type == TR_LAYER_TEXT && !(d->flags & (TR_KEY_LAYER | TR_KEY_TEXT | TR_KEY_TEXT_TOO)))
        return tr_parse_fail(p, "%s: not in a text layer", d->name);
    if (l->type == TR_LAYER_IMAGE && (d->flags & TR_KEY_TEXT))
        return tr_parse_fail(p, "%s: only in a text layer", d->name);
    return 0;
}

/* Read v for key k into st, one variant of the step being read. */
static int parse_into(struct tr_parser *p, struct tr_step *st, uint64_t *seen,
                      const struct tr_key_def *d, int k, struct str v)
{
    int rc;

    if (*seen >> k & 1)
        return tr_parse_fail(p, "%s: given twice in one step", d->name);
    p->st = st;
    rc = d->parse(p, d, v);
    if (rc < 0)
        return tr_refuse_value(p, d, v);
    *seen |= UINT64_C(1) << k;
    if (rc != TR_NO_EFFECT)
        st->has |= UINT64_C(1) << k;
    return 0;
}

/* A step key into the variants the frame's mode says: outside a conditional the step, inside
 * one both variants (before if- or after if-end) or one branch's. */
static int parse_key(struct tr_parser *p, const struct tr_key_def *d, int k, struct str v)
{
    struct tr_frame *f = &p->fr[p->depth];
    int rc = 0;

    if (f->mode != TR_MODE_ELSE)
        rc = parse_into(p, &f->step, &f->seen, d, k, v);
    if (!rc && f->cond >= 0 && f->mode != TR_MODE_THEN)
        rc = parse_into(p, &f->alt, &f->alt_seen, d, k, v);
    return rc;
}

/* The keys that open, close or fill a nesting (tr_nest.c); -ENOENT when key is none. */
static int parse_nest(struct tr_parser *p, struct str key, bool has_value, struct str v)
{
    bool input = str_eq(key, "i") || str_eq(key, "ie");

    if (!input && !str_eq(key, "l") && !str_eq(key, "if"))
        return -ENOENT;
    if (!has_value || v.len == 0) {
        char buf[SHOW_LEN];

        return tr_parse_fail(p, "%s: missing value", tr_parse_show(key, buf));
    }
    if (input)
        return tr_nest_input(p, key, v);
    return str_eq(key, "l") ? tr_nest_layer(p, v) : tr_nest_cond(p, v);
}

static int parse_param(struct tr_parser *p, struct str param)
{
    struct str key, v = param;
    bool has_value = split_key(&v, &key);
    int k, rc;
    const struct tr_key_def *d;

    if (++p->fr[p->depth].nparams > TR_MAX_PARAMS)
        return tr_parse_fail(p, "more than %d parameters in one step", TR_MAX_PARAMS);
    if ((rc = parse_nest(p, key, has_value, v)) != -ENOENT)
        return rc;
    if (!(d = find_param(key, &k)))
        return tr_refuse_key(p, key);
    if (has_value && (d->flags & (TR_KEY_BARE | TR_KEY_BARE_ONLY)) && str_eq(v, "true")) {
        has_value = false; /* e-grayscale-true, what the legacy SDK writes for true */
        v.len = 0;
    }
    if (has_value && (d->flags & TR_KEY_BARE_ONLY))
        return tr_parse_fail(p, "%s takes no value", d->name);
    if (has_value ? v.len == 0 : !(d->flags & (TR_KEY_BARE | TR_KEY_BARE_ONLY)))
        return tr_parse_fail(p, "%s: missing value", d->name);
    if (k < 0 && (p->depth > 0 || p->fr[0].mode != TR_MODE_BOTH))
        return tr_parse_fail(p, "%s: not inside a layer or a conditional", d->name);
    if (k < 0)
        return d->parse(p, d, v);
    return check_place(p, d) ? -EINVAL : parse_key(p, d, k, v);
}

void tr_frame_init(struct tr_frame *f, unsigned id, int layer, unsigned lstep_no)
{
    memset(f, 0, sizeof(*f));
    f->id = id;
    f->layer = layer;
    f->lstep_no = lstep_no;
    f->cond = -1;
}

/* ':' in the chain: the step read is added (unless it does nothing at all), the next begins.
 * Inside a layer it is the layer's next step. */
static int finish_step(struct tr_parser *p)
{
    struct tr_chain *c = p->chain;
    struct tr_frame *f = &p->fr[0];

    if (p->depth > 0)
        return tr_nest_next_step(p);
    if (tr_nest_end_step(p, f))
        return -EINVAL;
    if (f->step.has || f->step.nlayers || f->step.cond) {
        if (c->nsteps == TR_MAX_STEPS)
            return tr_parse_fail(p, "more than %d steps", TR_MAX_STEPS);
        c->step[c->nsteps++] = f->step;
    }
    tr_frame_init(f, c->nsteps, -1, 0);
    return 0;
}

/* The next param of *rest, up to ',' or ':'; returns that separator, or 0 at the end. */
static char take_param(struct str *rest, struct str *param)
{
    size_t i = 0;

    while (i < rest->len && rest->p[i] != ',' && rest->p[i] != ':')
        i++;
    *param = (struct str){rest->p, i};
    if (i == rest->len) {
        *rest = (struct str){rest->p + i, 0};
        return 0;
    }
    *rest = (struct str){rest->p + i + 1, rest->len - i - 1};
    return param->p[i];
}

static int check_bytes(struct tr_parser *p, struct str text)
{
    for (size_t i = 0; i < text.len; i++) {
        unsigned char c = (unsigned char)text.p[i];

        if (c < 0x20 || c == 0x7f)
            return tr_parse_fail(p, "control character 0x%02x at byte %zu", c, i);
    }
    return 0;
}

/* Steps by ':', params by ','. An empty step is skipped (an empty "tr:" is no transformation;
 * the legacy SDK writes one for an empty object); an empty param is an error. */
static int parse_text(struct tr_parser *p, struct str text)
{
    struct str rest = text, param;
    unsigned in_step = 0;
    char sep;

    p->step_no = 1;
    if (check_bytes(p, text))
        return -EINVAL;
    do {
        sep = take_param(&rest, &param);
        if (param.len == 0 && (in_step > 0 || sep == ','))
            return tr_parse_fail(p, "empty parameter");
        if (param.len && parse_param(p, param))
            return -EINVAL;
        in_step += param.len > 0;
        if (sep == ':') {
            if (finish_step(p))
                return -EINVAL;
            in_step = 0;
            p->step_no++;
        }
    } while (sep);
    return 0;
}

/* ---- API ----------------------------------------------------------------------------------- */

void tr_chain_init(struct tr_chain *c)
{
    memset(c, 0, sizeof(*c));
}

int tr_parse(struct tr_chain *c, const char *s, size_t len, const struct tr_names *names,
             char err[TR_ERR_LEN])
{
    struct tr_parser p = {.chain = c, .names = names, .step_no = 1, .err = err};

    tr_frame_init(&p.fr[0], c->nsteps, -1, 0);
    err[0] = '\0';
    if (len > TR_MAX_TEXT) {
        snprintf(err, TR_ERR_LEN, "transformation is longer than %d bytes", TR_MAX_TEXT);
        return -EINVAL;
    }
    if (len == 0)
        return 0;
    if (!s)
        return tr_parse_fail(&p, "no text");
    if (parse_text(&p, (struct str){s, len}))
        return -EINVAL;
    if (p.depth > 0)
        return tr_parse_fail(&p, "l-%s: not closed by l-end",
                             c->layer[p.fr[p.depth].layer].type == TR_LAYER_TEXT ? "text"
                                                                                 : "image");
    return finish_step(&p);
}

const struct tr_step *tr_chain_step(const struct tr_chain *c, unsigned id)
{
    if (id < TR_STEP_LAYER)
        return id < c->nsteps ? &c->step[id] : NULL;
    id -= TR_STEP_LAYER;
    return id < c->nlsteps && id < TR_MAX_LAYER_STEPS ? &c->lstep[id] : NULL;
}

const char *tr_key_name(enum tr_key k)
{
    return (unsigned)k < TR_KEY_COUNT && tr_keys[k].name ? tr_keys[k].name : "?";
}

bool tr_chain_is_empty(const struct tr_chain *c)
{
    return c->nsteps == 0 && c->default_image[0] == '\0';
}

bool tr_chain_wants_original(const struct tr_chain *c)
{
    for (unsigned i = 0; i < c->nsteps; i++)
        if (tr_step_has(&c->step[i], TR_ORIG) && c->step[i].orig)
            return true;
    return false;
}

int tr_chain_page(const struct tr_chain *c)
{
    int page = 1;

    for (unsigned i = 0; i < c->nsteps; i++)
        if (tr_step_has(&c->step[i], TR_PG))
            page = c->step[i].page;
    return page;
}

void tr_chain_output(const struct tr_chain *c, struct tr_output *out)
{
    *out = (struct tr_output){.format = TR_FMT_AUTO, .quality = TR_QUALITY_DEFAULT};
    for (unsigned i = 0; i < c->nsteps; i++) {
        const struct tr_step *s = &c->step[i];

        if (tr_step_has(s, TR_F))
            out->format = s->format;
        if (tr_step_has(s, TR_Q))
            out->quality = s->quality;
        if (tr_step_has(s, TR_PR))
            out->progressive = s->progressive;
        if (tr_step_has(s, TR_LO))
            out->lossless = s->lossless;
        if (tr_step_has(s, TR_MD))
            out->metadata = s->metadata;
        if (tr_step_has(s, TR_CP))
            out->color_profile = s->color_profile;
    }
}
