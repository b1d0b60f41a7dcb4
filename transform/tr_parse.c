/* transform/tr_parse.c: ImageKit transformation text -> struct tr_chain.
 *
 * Table-driven: one row per key names its value parser (params[]), one row per key we refuse
 * names the reason (refused[]). Text is read through bounded views of the caller's bytes,
 * which are never NUL-terminated. A named transformation (n-) is read in place, as if its
 * text stood there, so it may add params to the current step and add steps. Pure: no
 * allocation, no libvips, no globals but constant tables. */
#include "tr_parse_i.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define MAX_PX 65535   /* ImageKit ignores larger dimensions; we refuse them (README) */
#define MAX_PAGE 10000 /* pg- */
#define SHOW_LEN 28    /* bytes of user text quoted in a message, "..." included */
#define NO_EFFECT 1    /* a value parser's "valid, but sets nothing" (t-false, rt-0) */

struct parser {
    struct tr_chain *chain;
    const struct tr_names *names;
    struct tr_step step; /* the step being read */
    uint64_t seen;       /* keys given in step, whether they set anything: duplicates */
    unsigned nparams;    /* params in step */
    unsigned step_no;    /* 1-based, in the text being read: for messages */
    struct str named;    /* the n- name being expanded (len 0 at the top level) */
    char *err;
};

struct param_def;
typedef int (*param_fn)(struct parser *p, const struct param_def *d, struct str v);

enum { VALUE = 0, BARE = 1, BARE_ONLY = 2, AUTO = 4 };

struct param_def {
    const char *name;
    int key; /* enum tr_key, or -1 for chain-level params (n, di) */
    param_fn parse;
    unsigned flags; /* BARE: may come without a value; BARE_ONLY: never takes one; AUTO: w-auto */
};

/* ---- Views and messages -------------------------------------------------------------------- */

static const char *show(struct str s, char buf[SHOW_LEN])
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
__attribute__((format(printf, 2, 3))) static int fail(struct parser *p, const char *fmt, ...)
{
    char where[24 + SHOW_LEN], name[SHOW_LEN];
    size_t n;
    va_list ap;

    if (p->named.len)
        snprintf(where, sizeof(where), " (step %u of n-%s)", p->step_no, show(p->named, name));
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
static int bad(struct parser *p, const struct param_def *d, struct str v, const char *why)
{
    char buf[SHOW_LEN];

    return fail(p, "%s: '%s' %s", d->name, show(v, buf), why);
}

static int bad_num(struct parser *p, const struct param_def *d, const struct num_error *e)
{
    if (e->token.len == 0)
        return fail(p, "%s: %s", d->name, e->why);
    return bad(p, d, e->token, e->why);
}

/* ---- Words --------------------------------------------------------------------------------- */

const struct tr_word tr_crop_words[] = {
    {"maintain_ratio", TR_CROP_MAINTAIN_RATIO},
    {"force", TR_CROP_FORCE},
    {"at_max", TR_CROP_AT_MAX},
    {"at_max_enlarge", TR_CROP_AT_MAX_ENLARGE},
    {"at_least", TR_CROP_AT_LEAST},
    {NULL, 0},
};

const struct tr_word tr_crop_mode_words[] = {
    {"pad_resize", TR_CM_PAD_RESIZE},
    {"extract", TR_CM_EXTRACT},
    {"pad_extract", TR_CM_PAD_EXTRACT},
    {NULL, 0},
};

const struct tr_word tr_focus_words[] = {
    {"center", TR_FO_CENTER},
    {"top", TR_FO_TOP},
    {"left", TR_FO_LEFT},
    {"bottom", TR_FO_BOTTOM},
    {"right", TR_FO_RIGHT},
    {"top_left", TR_FO_TOP_LEFT},
    {"top_right", TR_FO_TOP_RIGHT},
    {"bottom_left", TR_FO_BOTTOM_LEFT},
    {"bottom_right", TR_FO_BOTTOM_RIGHT},
    {"auto", TR_FO_AUTO},
    {"face", TR_FO_FACE},
    {NULL, 0},
};

const struct tr_word tr_flip_words[] = {
    {"h", TR_FLIP_H}, {"v", TR_FLIP_V}, {"h_v", TR_FLIP_HV}, {"v_h", TR_FLIP_HV}, {NULL, 0},
};

const struct tr_word tr_format_words[] = {
    {"auto", TR_FMT_AUTO}, {"jpeg", TR_FMT_JPEG}, {"jpg", TR_FMT_JPEG},
    {"png", TR_FMT_PNG},   {"webp", TR_FMT_WEBP}, {"avif", TR_FMT_AVIF},
    {"gif", TR_FMT_GIF},   {"orig", TR_FMT_ORIG}, {NULL, 0},
};

const char *tr_word_name(const struct tr_word *words, int value)
{
    for (; words->name; words++)
        if (words->value == value)
            return words->name;
    return "?";
}

static int parse_word(struct parser *p, const struct param_def *d, struct str v,
                      const struct tr_word *words, const char *why, int *out)
{
    for (; words->name; words++) {
        if (str_eq(v, words->name)) {
            *out = words->value;
            return 0;
        }
    }
    return bad(p, d, v, why);
}

/* ---- Numbers ------------------------------------------------------------------------------- */

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

/* A literal or an expression into n. Expressions of literals only are computed here, so that
 * "w-100_mul_2" is "w-200" (one canonical text) and its range is checked now. */
static int parse_amount(struct parser *p, const struct param_def *d, struct str v, struct tr_num *n,
                        const struct range *r)
{
    struct num_error e;
    double x;

    if (num_parse(v, n, &e))
        return bad_num(p, d, &e);
    if (!num_is_constant(n))
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
    num_literal(n, x);
    return 0;
}

static int parse_whole(struct parser *p, const struct param_def *d, struct str v, long lo, long hi,
                       int *out)
{
    struct num_error e;
    long x;

    if (num_whole(v, &x, &e))
        return bad_num(p, d, &e);
    if (x < lo || x > hi)
        return fail(p, "%s: %ld is out of range %ld-%ld", d->name, x, lo, hi);
    *out = (int)x;
    return 0;
}

/* Decimals: [lo, hi], or (lo, hi] when lo_open. */
struct span {
    double lo, hi;
    bool lo_open;
    const char *why;
};

static const struct span zoom_span = {0, 10, true, "is out of range 0-10 (above 0)"};
static const struct span degrees_span = {-360, 360, false, "is out of range N360-360"};
static const struct span strength_span = {0, 100, true, "is out of range 0-100 (above 0)"};
static const struct span threshold_span = {0, 1, false, "is out of range 0-1"};

static int parse_decimal(struct parser *p, const struct param_def *d, struct str v,
                         const struct span *r, double *out)
{
    struct num_error e;

    if (num_decimal(v, out, &e))
        return bad_num(p, d, &e);
    if (*out < r->lo || (r->lo_open && *out == r->lo) || *out > r->hi)
        return bad(p, d, v, r->why);
    return 0;
}

/* ---- Value parsers, one per kind of key ---------------------------------------------------- */

static struct tr_num *num_field(struct tr_step *s, int key)
{
    switch (key) {
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
        return NULL;
    }
}

static int parse_size(struct parser *p, const struct param_def *d, struct str v)
{
    struct tr_num *n = num_field(&p->step, d->key);

    if ((d->flags & AUTO) && str_eq(v, "auto")) {
        n->kind = TR_NUM_AUTO;
        return 0;
    }
    return parse_amount(p, d, v, n, &size_range);
}

static int parse_pos(struct parser *p, const struct param_def *d, struct str v)
{
    return parse_amount(p, d, v, num_field(&p->step, d->key), &pos_range);
}

static int parse_dpr(struct parser *p, const struct param_def *d, struct str v)
{
    if (str_eq(v, "auto")) {
        p->step.dpr.kind = TR_NUM_AUTO;
        return 0;
    }
    return parse_amount(p, d, v, &p->step.dpr, &dpr_range);
}

/* "W-H" or "W_H" (4-3, 16_9): W and H positive; n becomes W div H. -EINVAL if v is not that
 * shape. */
static int ratio_pair(struct str v, char sep, struct tr_num *n)
{
    struct str w, h = v;
    struct num_error e;
    double a, b;

    if (!str_cut(&h, sep, &w) || num_decimal(w, &a, &e) || num_decimal(h, &b, &e))
        return -EINVAL;
    num_literal(n, a);
    n->kind = TR_NUM_EXPR;
    n->nops = 2;
    n->op[0] = TR_OP_DIV;
    n->operand[1].value = b;
    return 0;
}

/* ar-4-3, ar-16_9, ar-1.5 or an expression (ar-iar_div_2). W-H stays a pair, so that ar-8-6
 * and ar-4_div_3 can be written as ar-4-3 by tr_canonical(). */
static int parse_ar(struct parser *p, const struct param_def *d, struct str v)
{
    struct tr_num *n = &p->step.ar;
    struct num_error e;
    bool pair;
    double x;

    if (ratio_pair(v, '-', n) && ratio_pair(v, '_', n)) {
        if (memchr(v.p, '-', v.len))
            return bad(p, d, v, "is not W-H (ar-4-3) or an expression");
        if (num_parse(v, n, &e))
            return bad_num(p, d, &e);
    }
    if (!num_is_constant(n))
        return 0;
    pair = n->nops == 2 && n->op[0] == TR_OP_DIV;
    if (pair && (n->operand[0].value <= 0 || n->operand[1].value <= 0))
        return bad(p, d, v, "needs a width and a height above 0");
    if (tr_num_eval(n, NULL, &x))
        return bad(p, d, v, "divides by zero or overflows");
    if (!pair)
        x = round(x * 1e6) / 1e6;
    if (x < 1.0 / MAX_PX || x > MAX_PX)
        return bad(p, d, v, "is out of range (1-65535 to 65535-1)");
    if (!pair)
        num_literal(n, x);
    return 0;
}

static int parse_crop(struct parser *p, const struct param_def *d, struct str v)
{
    int x = 0;

    if (parse_word(p, d, v, tr_crop_words,
                   "is not a crop (maintain_ratio force at_max at_max_enlarge at_least)", &x))
        return -EINVAL;
    p->step.crop = (enum tr_crop)x;
    return 0;
}

static int parse_crop_mode(struct parser *p, const struct param_def *d, struct str v)
{
    int x = 0;

    if (parse_word(p, d, v, tr_crop_mode_words,
                   "is not a crop mode (pad_resize extract pad_extract)", &x))
        return -EINVAL;
    p->step.crop_mode = (enum tr_crop_mode)x;
    return 0;
}

static int parse_focus(struct parser *p, const struct param_def *d, struct str v)
{
    int x = 0;

    if (parse_word(p, d, v, tr_focus_words,
                   "is not a supported focus (a position such as top_left, auto or face)", &x))
        return -EINVAL;
    p->step.focus = (enum tr_focus)x;
    return 0;
}

static int parse_flip(struct parser *p, const struct param_def *d, struct str v)
{
    int x = 0;

    if (parse_word(p, d, v, tr_flip_words, "is not a flip (h v h_v v_h)", &x))
        return -EINVAL;
    p->step.flip = (enum tr_flip)x;
    return 0;
}

static int parse_format(struct parser *p, const struct param_def *d, struct str v)
{
    int x = 0;

    if (parse_word(p, d, v, tr_format_words,
                   "is not a format (auto jpg jpeg png webp avif gif orig)", &x))
        return -EINVAL;
    p->step.format = (enum tr_format)x;
    return 0;
}

static int parse_zoom(struct parser *p, const struct param_def *d, struct str v)
{
    return parse_decimal(p, d, v, &zoom_span, &p->step.zoom);
}

static int parse_quality(struct parser *p, const struct param_def *d, struct str v)
{
    return parse_whole(p, d, v, 1, 100, &p->step.quality);
}

static int parse_opacity(struct parser *p, const struct param_def *d, struct str v)
{
    return parse_whole(p, d, v, 0, 100, &p->step.opacity);
}

static int parse_blur(struct parser *p, const struct param_def *d, struct str v)
{
    int x = 0;

    if (parse_whole(p, d, v, 1, 100, &x))
        return -EINVAL;
    p->step.blur = x;
    return 0;
}

static int parse_page(struct parser *p, const struct param_def *d, struct str v)
{
    if (memchr(v.p, '-', v.len) || memchr(v.p, '_', v.len))
        return bad(p, d, v, "is a page range, list or name, not supported");
    return parse_whole(p, d, v, 1, MAX_PAGE, &p->step.page);
}

static int parse_trim(struct parser *p, const struct param_def *d, struct str v)
{
    if (str_eq(v, "true")) {
        p->step.trim = 10;
        return 0;
    }
    if (str_eq(v, "false"))
        return NO_EFFECT;
    return parse_whole(p, d, v, 1, 99, &p->step.trim);
}

/* Degrees clockwise, N for counter-clockwise, kept in [0, 360): rt-N90 is rt-270. */
static int parse_rotate(struct parser *p, const struct param_def *d, struct str v)
{
    double deg;

    if (str_eq(v, "auto")) {
        p->step.rotate_auto = true;
        return 0;
    }
    if (parse_decimal(p, d, v, &degrees_span, &deg))
        return -EINVAL;
    deg = round(fmod(deg + 360, 360) * 1e6) / 1e6;
    p->step.rotate = deg >= 360 ? 0 : deg;
    return p->step.rotate == 0 ? NO_EFFECT : 0;
}

static int parse_bool(struct parser *p, const struct param_def *d, struct str v)
{
    bool x = str_eq(v, "true");

    if (!x && !str_eq(v, "false"))
        return bad(p, d, v, "is not true or false");
    switch (d->key) {
    case TR_PR:
        p->step.progressive = x;
        return 0;
    case TR_LO:
        p->step.lossless = x;
        return 0;
    case TR_MD:
        p->step.metadata = x;
        return 0;
    case TR_CP:
        p->step.color_profile = x;
        return 0;
    default:
        p->step.orig = x;
        return x ? 0 : NO_EFFECT;
    }
}

static int parse_color(struct parser *p, const struct param_def *d, struct str v,
                       struct tr_color *out)
{
    int rc = color_parse(v, out);

    if (rc == -ERANGE)
        return bad(p, d, v, "has an opacity (last two digits) outside 00-99");
    if (rc)
        return bad(p, d, v, "is not a colour (RRGGBB, RRGGBBAA, RGB or a CSS colour name)");
    return 0;
}

static int parse_bg(struct parser *p, const struct param_def *d, struct str v)
{
    return parse_color(p, d, v, &p->step.bg);
}

/* b-<width>_<colour>; the width may be an expression, itself made of '_': cut at the last. */
static int parse_border(struct parser *p, const struct param_def *d, struct str v)
{
    const char *u = memrchr(v.p, '_', v.len);
    struct str width, colour;

    if (!u)
        return bad(p, d, v, "is not <width>_<colour> (b-5_FF0000)");
    width = (struct str){v.p, (size_t)(u - v.p)};
    colour = (struct str){u + 1, v.len - width.len - 1};
    if (parse_color(p, d, colour, &p->step.border_color))
        return -EINVAL;
    return parse_amount(p, d, width, &p->step.border_width, &border_range);
}

static int parse_radius(struct parser *p, const struct param_def *d, struct str v)
{
    int px;

    if (str_eq(v, "max")) {
        p->step.radius_max = true;
        return 0;
    }
    if (memchr(v.p, '_', v.len))
        return bad(p, d, v, "is per-corner radii or an expression, not supported yet");
    if (parse_whole(p, d, v, 1, MAX_PX, &px))
        return -EINVAL;
    num_literal(&p->step.radius, px);
    return 0;
}

static int parse_effect_flag(struct parser *p, const struct param_def *d, struct str v)
{
    (void)p;
    (void)d;
    (void)v;
    return 0;
}

static int parse_sharpen(struct parser *p, const struct param_def *d, struct str v)
{
    p->step.sharpen = 0;
    if (v.len == 0)
        return 0;
    return parse_decimal(p, d, v, &strength_span, &p->step.sharpen);
}

/* e-usm-<radius>-<sigma>-<amount>-<threshold>; bare e-usm takes ImageKit's documented example,
 * 2-2-0.8-0.024 (README). */
static int parse_usm(struct parser *p, const struct param_def *d, struct str v)
{
    static const double dflt[4] = {2, 2, 0.8, 0.024};
    static const struct span *const spans[4] = {&strength_span, &strength_span, &strength_span,
                                                &threshold_span};
    struct str rest = v, part;

    memcpy(p->step.usm, dflt, sizeof(dflt));
    if (v.len == 0)
        return 0;
    for (int i = 0; i < 4; i++) {
        if (str_cut(&rest, '-', &part) != (i < 3))
            return bad(p, d, v, "is not <radius>-<sigma>-<amount>-<threshold>");
        if (parse_decimal(p, d, part, spans[i], &p->step.usm[i]))
            return -EINVAL;
    }
    return 0;
}

static int parse_text(struct parser *p, struct str text);

/* n-<name>: the stored text is read here, in place (one level: it cannot name another). */
static int parse_named(struct parser *p, const struct param_def *d, struct str v)
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
    p->named = (struct str){0};
    p->step_no = step_no;
    return rc;
}

/* A relative path with no empty, "." or ".." segment. "@/" is refused too: its '@' would
 * merge with the "@@" that tr_canonical() writes for the '/'. */
static bool is_clean_path(const char *path, size_t len)
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
static int parse_default_image(struct parser *p, const struct param_def *d, struct str v)
{
    char *dst = p->chain->default_image;
    size_t n = 0, i = 0;

    if (dst[0])
        return fail(p, "di: a default image is given twice");
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
    if (!is_clean_path(dst, n)) {
        dst[0] = '\0';
        return bad(p, d, v, "is not a clean relative path");
    }
    return 0;
}

/* ---- The tables ---------------------------------------------------------------------------- */

static const struct param_def params[] = {
    {"w", TR_W, parse_size, AUTO},
    {"h", TR_H, parse_size, VALUE},
    {"ar", TR_AR, parse_ar, VALUE},
    {"c", TR_C, parse_crop, VALUE},
    {"cm", TR_CM, parse_crop_mode, VALUE},
    {"fo", TR_FO, parse_focus, VALUE},
    {"z", TR_Z, parse_zoom, VALUE},
    {"x", TR_X, parse_pos, VALUE},
    {"y", TR_Y, parse_pos, VALUE},
    {"xc", TR_XC, parse_pos, VALUE},
    {"yc", TR_YC, parse_pos, VALUE},
    {"dpr", TR_DPR, parse_dpr, VALUE},
    {"rt", TR_RT, parse_rotate, VALUE},
    {"fl", TR_FL, parse_flip, VALUE},
    {"t", TR_T, parse_trim, VALUE},
    {"bg", TR_BG, parse_bg, VALUE},
    {"b", TR_B, parse_border, VALUE},
    {"r", TR_R, parse_radius, VALUE},
    {"bl", TR_BL, parse_blur, VALUE},
    {"o", TR_O, parse_opacity, VALUE},
    {"e-grayscale", TR_E_GRAYSCALE, parse_effect_flag, BARE_ONLY},
    {"e-contrast", TR_E_CONTRAST, parse_effect_flag, BARE_ONLY},
    {"e-sharpen", TR_E_SHARPEN, parse_sharpen, BARE},
    {"e-usm", TR_E_USM, parse_usm, BARE},
    {"pg", TR_PG, parse_page, VALUE},
    {"q", TR_Q, parse_quality, VALUE},
    {"f", TR_F, parse_format, VALUE},
    {"pr", TR_PR, parse_bool, VALUE},
    {"lo", TR_LO, parse_bool, VALUE},
    {"md", TR_MD, parse_bool, VALUE},
    {"cp", TR_CP, parse_bool, VALUE},
    {"orig", TR_ORIG, parse_bool, VALUE},
    {"n", -1, parse_named, VALUE},
    {"di", -1, parse_default_image, VALUE},
};

/* ImageKit keys we know and refuse: each of names (space-separated) gets "<key><why>". */
static const struct refused_key {
    const char *names, *why;
} refused[] = {
    {"l i ie lx ly lxc lyc lfo lap lm lso leo ldu fs ff co ia pa al tg lh fol fsh",
     ": layers (l-) are not supported yet"},
    {"if", ": conditional transformations are not supported"},
    {"e-bgremove e-removedotbg e-changebg e-edit e-dropshadow e-retouch e-upscale e-genvar",
     " is an AI transformation, not supported"},
    {"e-shadow e-gradient e-distort e-colorize", " is not supported"},
    {"cr", " (colour replace) is not supported"},
    {"dn", " (vector density) is not supported"},
    {"so eo du vc ac sr", " is a video parameter, not supported"},
    {"oi ox oy ow oh ot ots otc otf oa obg ofo oiar oic oicm oifo ote otw otbg otp otia or ott",
     " is a removed ImageKit overlay parameter (layers replaced it)"},
};

/* Values ImageKit has and we refuse, by key: exact, or any value starting so when prefix.
 * None of them parses, so they are looked up only to explain a failure. */
static const struct refused_value {
    const char *key, *value;
    bool prefix;
    const char *why;
} refused_values[] = {
    {"c", "maintain_ratio_no_enlarge", false, "is not supported yet"},
    {"cm", "pad_resize_no_enlarge", false, "is not supported yet"},
    {"cm", "pad_extract_no_shrink", false, "is not supported yet"},
    {"fo", "custom", false, "needs a focus area stored with the file, not supported"},
    {"f", "svg", false, "is not supported: output is raster only"},
    {"f", "mp4", false, "is a video format, not supported"},
    {"f", "webm", false, "is a video format, not supported"},
    {"bg", "blurred", true, "is a blurred background, not supported yet"},
    {"bg", "dominant", false, "is a dominant-colour background, not supported yet"},
    {"bg", "gradient_dominant", true, "is a gradient background, not supported yet"},
    {"bg", "genfill", true, "is an AI transformation, not supported"},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const struct param_def *find_param(struct str key)
{
    for (size_t i = 0; i < COUNT(params) && key.len; i++)
        if (params[i].name[0] == key.p[0] && str_eq(key, params[i].name))
            return &params[i];
    return NULL;
}

/* Whether key is one of the space-separated words of list. */
static bool is_listed(struct str key, const char *list)
{
    struct str rest = {list, strlen(list)}, word;
    bool more = true;

    while (more) {
        more = str_cut(&rest, ' ', &word);
        if (word.len == key.len && memcmp(word.p, key.p, key.len) == 0)
            return true;
    }
    return false;
}

static int refuse_key(struct parser *p, struct str key)
{
    char buf[SHOW_LEN];

    for (size_t i = 0; i < COUNT(refused); i++)
        if (is_listed(key, refused[i].names))
            return fail(p, "%s%s", show(key, buf), refused[i].why);
    return fail(p, "unknown parameter '%s'", show(key, buf));
}

/* After v failed to parse: the reason ImageKit's value is refused, if it is one. */
static int refuse_value(struct parser *p, const struct param_def *d, struct str v)
{
    for (size_t i = 0; i < COUNT(refused_values); i++) {
        const struct refused_value *r = &refused_values[i];
        size_t n = strlen(r->value);

        if (strcmp(r->key, d->name) == 0 && v.len >= n && memcmp(v.p, r->value, n) == 0 &&
            (v.len == n || r->prefix))
            return bad(p, d, v, r->why);
    }
    return -EINVAL;
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

static int parse_param(struct parser *p, struct str param)
{
    struct str key, v = param;
    bool has_value = split_key(&v, &key);
    const struct param_def *d = find_param(key);
    int rc;

    if (++p->nparams > TR_MAX_PARAMS)
        return fail(p, "more than %d parameters in one step", TR_MAX_PARAMS);
    if (!d)
        return refuse_key(p, key);
    if (d->key >= 0 && (p->seen >> d->key & 1))
        return fail(p, "%s: given twice in one step", d->name);
    if (has_value && (d->flags & (BARE | BARE_ONLY)) && str_eq(v, "true")) {
        has_value = false; /* e-grayscale-true, what the legacy SDK writes for true */
        v.len = 0;
    }
    if (has_value && (d->flags & BARE_ONLY))
        return fail(p, "%s takes no value", d->name);
    if (has_value ? v.len == 0 : !(d->flags & (BARE | BARE_ONLY)))
        return fail(p, "%s: missing value", d->name);
    rc = d->parse(p, d, v);
    if (rc < 0)
        return refuse_value(p, d, v);
    if (d->key < 0)
        return rc;
    p->seen |= UINT64_C(1) << d->key;
    if (rc != NO_EFFECT)
        p->step.has |= UINT64_C(1) << d->key;
    return 0;
}

static int finish_step(struct parser *p)
{
    struct tr_chain *c = p->chain;

    if (p->step.has) {
        if (c->nsteps == TR_MAX_STEPS)
            return fail(p, "more than %d steps", TR_MAX_STEPS);
        c->step[c->nsteps++] = p->step;
    }
    memset(&p->step, 0, sizeof(p->step));
    p->seen = 0;
    p->nparams = 0;
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

static int check_bytes(struct parser *p, struct str text)
{
    for (size_t i = 0; i < text.len; i++) {
        unsigned char c = (unsigned char)text.p[i];

        if (c < 0x20 || c == 0x7f)
            return fail(p, "control character 0x%02x at byte %zu", c, i);
    }
    return 0;
}

/* Steps by ':', params by ','. An empty step is skipped (an empty "tr:" is no transformation;
 * the legacy SDK writes one for an empty object); an empty param is an error. */
static int parse_text(struct parser *p, struct str text)
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
            return fail(p, "empty parameter");
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
    struct parser p = {.chain = c, .names = names, .step_no = 1, .err = err};

    err[0] = '\0';
    if (len > TR_MAX_TEXT) {
        snprintf(err, TR_ERR_LEN, "transformation is longer than %d bytes", TR_MAX_TEXT);
        return -EINVAL;
    }
    if (len == 0)
        return 0;
    if (!s)
        return fail(&p, "no text");
    if (parse_text(&p, (struct str){s, len}) || finish_step(&p))
        return -EINVAL;
    return 0;
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

void tr_chain_output(const struct tr_chain *c, struct tr_output *out)
{
    *out = (struct tr_output){.format = TR_FMT_AUTO, .quality = 80};
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
