/* transform/tr_nest.c: the nested parts of the language, layers and conditionals.
 *
 * A layer (l-image,...,l-end or l-text,...,l-end) is read into its own steps, which live in
 * the chain's pool (tr_chain.lstep[]) rather than in arrays of arrays: struct tr_chain stays
 * one flat value that a caller can keep on its stack. A conditional (if-...,if-else,...,if-end)
 * makes two variants of its step as it is read: the step itself, with the keys that hold when
 * the condition does, and the conditional's alt, with those that hold when it does not; keys
 * outside the branches go into both. Its layers say which branch they belong to. Pure: no
 * allocation, no libvips. */
#include "pct.h"
#include "tr_parse_i.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- Layers -------------------------------------------------------------------------------- */

static enum tr_branch branch_of(enum tr_mode m)
{
    return m == TR_MODE_THEN   ? TR_BRANCH_THEN
           : m == TR_MODE_ELSE ? TR_BRANCH_ELSE
                               : TR_BRANCH_ALWAYS;
}

/* A new step of layer li in frame f, its id taken from the pool now: a layer nested in it takes
 * the next ones, so a layer's steps are listed by index (tr_layer.step[]). */
static int start_layer_step(struct tr_parser *p, struct tr_frame *f, int li, unsigned no)
{
    struct tr_chain *c = p->chain;
    struct tr_layer *l = &c->layer[li];

    if (c->nlsteps == TR_MAX_LAYER_STEPS)
        return tr_parse_fail(p, "more than %d steps inside layers", TR_MAX_LAYER_STEPS);
    l->step[l->nsteps++] = (uint8_t)c->nlsteps;
    tr_frame_init(f, TR_STEP_LAYER + c->nlsteps, li, no);
    c->nlsteps++;
    return 0;
}

static int open_layer(struct tr_parser *p, enum tr_layer_type type)
{
    struct tr_chain *c = p->chain;
    struct tr_frame *f = &p->fr[p->depth];

    if (p->depth == TR_MAX_DEPTH)
        return tr_parse_fail(p, "l-: layers nest at most %d deep", TR_MAX_DEPTH);
    if (c->nlayers == TR_MAX_LAYERS)
        return tr_parse_fail(p, "l-: more than %d layers", TR_MAX_LAYERS);
    if (f->layer >= 0 && c->layer[f->layer].type == TR_LAYER_TEXT)
        return tr_parse_fail(p, "l-: a text layer cannot hold layers");
    c->layer[c->nlayers] = (struct tr_layer){.type = type,
                                             .owner = (uint8_t)f->id,
                                             .branch = (uint8_t)branch_of(f->mode),
                                             .depth = (uint8_t)(p->depth + 1)};
    f->step.nlayers++;
    p->depth++;
    return start_layer_step(p, &p->fr[p->depth], (int)c->nlayers++, 0);
}

/* The frame's step into the pool, its conditional closed. */
static int store_layer_step(struct tr_parser *p, struct tr_frame *f)
{
    if (tr_nest_end_step(p, f))
        return -EINVAL;
    p->chain->lstep[f->id - TR_STEP_LAYER] = f->step;
    return 0;
}

static int close_layer(struct tr_parser *p)
{
    struct tr_chain *c = p->chain;
    struct tr_frame *f = &p->fr[p->depth];
    const struct tr_layer *l;
    const struct tr_step *first;

    if (p->depth == 0)
        return tr_parse_fail(p, "l-end without l-image or l-text");
    l = &c->layer[f->layer];
    if (!l->canvas && l->in_len == 0)
        return tr_parse_fail(p, "l-%s: needs its input, i- or ie-",
                             l->type == TR_LAYER_TEXT ? "text" : "image");
    if (store_layer_step(p, f))
        return -EINVAL;
    first = &c->lstep[l->step[0]];
    if (l->canvas && !(tr_step_has(first, TR_W) && tr_step_has(first, TR_H)))
        return tr_parse_fail(p, "i-ik_canvas: needs w- and h- in the layer's first step");
    p->depth--;
    return 0;
}

int tr_nest_layer(struct tr_parser *p, struct str v)
{
    char buf[TR_SHOW_LEN];

    if (str_eq(v, "end"))
        return close_layer(p);
    if (str_eq(v, "image"))
        return open_layer(p, TR_LAYER_IMAGE);
    if (str_eq(v, "text"))
        return open_layer(p, TR_LAYER_TEXT);
    if (str_eq(v, "video") || str_eq(v, "subtitles") || str_eq(v, "audio"))
        return tr_parse_fail(p, "l-%s: video layers are not supported", tr_parse_show(v, buf));
    return tr_parse_fail(p, "l: '%s' is not a layer type (image text)", tr_parse_show(v, buf));
}

int tr_nest_next_step(struct tr_parser *p)
{
    struct tr_frame *f = &p->fr[p->depth];
    int li = f->layer;
    unsigned no = f->lstep_no + 1;

    if (p->chain->layer[li].type == TR_LAYER_TEXT)
        return tr_parse_fail(p, "l-text: a text layer has one step (no ':' inside)");
    if (store_layer_step(p, f))
        return -EINVAL;
    return start_layer_step(p, f, li, no);
}

/* ---- Inputs: i- and ie- -------------------------------------------------------------------- */

static int b64_value(char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '+' || ch == '-')
        return 62;
    if (ch == '/' || ch == '_')
        return 63;
    return -1;
}

/* Standard or URL-safe base64, padding optional, into out[0..cap). Returns the length or -1. */
static long b64_decode(struct str s, char *out, size_t cap)
{
    unsigned acc = 0, bits = 0;
    size_t n = 0;

    while (s.len && s.p[s.len - 1] == '=')
        s.len--;
    for (size_t i = 0; i < s.len; i++) {
        int v = b64_value(s.p[i]);

        if (v < 0)
            return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n == cap)
                return -1;
            out[n++] = (char)((acc >> bits) & 0xff);
        }
    }
    return bits >= 6 ? -1 : (long)n;
}

void tr_out_base64(struct tr_outbuf *o, const char *s, size_t len)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    for (size_t i = 0; i < len; i += 3) {
        unsigned v = (unsigned char)s[i] << 16;
        size_t n = len - i < 3 ? len - i : 3;

        v |= n > 1 ? (unsigned)(unsigned char)s[i + 1] << 8 : 0;
        v |= n > 2 ? (unsigned char)s[i + 2] : 0;
        tr_out_printf(o, "%c%c%c%c", abc[v >> 18], abc[(v >> 12) & 63],
                      n > 1 ? abc[(v >> 6) & 63] : '=', n > 2 ? abc[v & 63] : '=');
    }
}

/* Whether s is UTF-8 with no control character but a line break. */
static bool is_text(const char *s, size_t len)
{
    for (size_t i = 0; i < len;) {
        unsigned char ch = (unsigned char)s[i];
        size_t n = ch < 0x80         ? 1
                   : (ch >> 5) == 6  ? 2
                   : (ch >> 4) == 14 ? 3
                   : (ch >> 3) == 30 ? 4
                                     : 0;

        if (n == 0 || i + n > len || (n == 1 && ((ch < 0x20 && ch != '\n') || ch == 0x7f)))
            return false;
        for (size_t k = 1; k < n; k++)
            if (((unsigned char)s[i + k] >> 6) != 2)
                return false;
        if ((n == 2 && ch < 0xc2) || (n == 4 && ch > 0xf4))
            return false; /* overlong, or past U+10FFFF */
        i += n;
    }
    return true;
}

/* A path from i-/ie- in place: "@@" is '/', a leading '/' or "@@" dropped. Returns its new
 * length, or -1 if it is not clean. */
static long clean_layer_path(char *s, size_t len)
{
    size_t i = 0, n = 0;

    if (len >= 2 && s[0] == '@' && s[1] == '@')
        i = 2;
    else if (len && s[0] == '/')
        i = 1;
    for (; i < len; i++, n++) {
        bool at2 = s[i] == '@' && i + 1 < len && s[i + 1] == '@';

        s[n] = at2 ? '/' : s[i];
        i += at2;
    }
    if (n >= TR_MAX_PATH || !tr_path_is_clean(s, n))
        return -1;
    return (long)n;
}

/* v decoded (percent-decoded again when the SDK encoded it twice, then base64 for ie-) into
 * the chain's strings. Returns the length, or -EINVAL with the message set. */
static long decode_input(struct tr_parser *p, bool b64, struct str v)
{
    struct tr_chain *c = p->chain;
    char tmp[TR_MAX_TEXT + 1], *dst = c->strings + c->strings_len;
    size_t room = TR_MAX_STRINGS - c->strings_len;
    ssize_t n = (ssize_t)v.len;
    long got;

    if (v.len > TR_MAX_TEXT)
        return tr_parse_fail(p, "i-: longer than %d bytes", TR_MAX_TEXT);
    memcpy(tmp, v.p, v.len);
    if (memchr(v.p, '%', v.len) && (n = pct_decode(v.p, v.len, 0, tmp, sizeof(tmp))) < 0)
        return tr_parse_fail(p, "i%s-: a bad percent escape", b64 ? "e" : "");
    if (b64) {
        got = b64_decode((struct str){tmp, (size_t)n}, dst, room);
        if (got < 0)
            return tr_parse_fail(p,
                                 "ie-: not base64, or longer than the room left for inputs "
                                 "(%d bytes)",
                                 TR_MAX_STRINGS);
        return got;
    }
    if ((size_t)n > room)
        return tr_parse_fail(p, "i-: inputs take more than %d bytes", TR_MAX_STRINGS);
    memcpy(dst, tmp, (size_t)n);
    return (long)n;
}

/* The decoded input of layer l, as its type wants it. */
static int take_input(struct tr_parser *p, struct tr_layer *l, long n)
{
    struct tr_chain *c = p->chain;
    char *s = c->strings + c->strings_len;

    if (l->type == TR_LAYER_TEXT) {
        if (n == 0 || n > TR_MAX_LAYER_TEXT || !is_text(s, (size_t)n))
            return tr_parse_fail(p, "i-: a text layer's text is UTF-8 text of 1-%d bytes",
                                 TR_MAX_LAYER_TEXT);
    } else if ((n = clean_layer_path(s, (size_t)n)) < 0) {
        return tr_parse_fail(p,
                             "i-: the layer's image is not a clean relative path of at most "
                             "%d bytes",
                             TR_MAX_PATH - 1);
    }
    l->in_off = (uint16_t)c->strings_len;
    l->in_len = (uint16_t)n;
    c->strings_len += (unsigned)n;
    return 0;
}

int tr_nest_input(struct tr_parser *p, struct str key, struct str v)
{
    struct tr_frame *f = &p->fr[p->depth];
    bool b64 = str_eq(key, "ie");
    struct tr_layer *l;
    long n;

    if (f->layer < 0)
        return tr_parse_fail(p, "%s: only inside a layer (l-image or l-text)", b64 ? "ie" : "i");
    if (f->lstep_no > 0)
        return tr_parse_fail(p, "%s: only in a layer's first step", b64 ? "ie" : "i");
    l = &p->chain->layer[f->layer];
    if (l->canvas || l->in_len)
        return tr_parse_fail(p, "%s: the layer's input is given twice", b64 ? "ie" : "i");
    if (!b64 && l->type == TR_LAYER_IMAGE && str_eq(v, "ik_canvas")) {
        l->canvas = true;
        return 0;
    }
    if ((n = decode_input(p, b64, v)) < 0)
        return -EINVAL;
    return take_input(p, l, n);
}

/* Whether path ends with a font file's extension, any case. */
static bool is_font_name(const char *path, size_t len)
{
    static const char *const exts[] = {".ttf", ".otf", ".ttc"};

    for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++)
        if (len > 4 && strncasecmp(path + len - 4, exts[i], 4) == 0)
            return true;
    return false;
}

int tr_nest_font(struct tr_parser *p, struct str v)
{
    struct tr_chain *c = p->chain;
    struct tr_frame *f = &p->fr[p->depth];
    struct tr_layer *l = &c->layer[f->layer]; /* ff is a text layer's key: f is one */
    char *dst = c->strings + c->strings_len;
    long n;

    if (f->mode != TR_MODE_BOTH)
        return tr_parse_fail(p, "ff: a font file is not taken inside a conditional");
    for (size_t i = 0; i < v.len; i++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/@", v.p[i]))
            return tr_parse_fail(p,
                                 "ff: a font file's path takes letters, digits, . _ - and @@ only");
    if (v.len > TR_MAX_STRINGS - c->strings_len)
        return tr_parse_fail(p, "ff: inputs take more than %d bytes", TR_MAX_STRINGS);
    memcpy(dst, v.p, v.len);
    n = clean_layer_path(dst, v.len);
    if (n < 0 || !is_font_name(dst, (size_t)n) || memchr(dst, '@', (size_t)n))
        return tr_parse_fail(p, "ff: a font file is a clean relative path to a .ttf, .otf or "
                                ".ttc file");
    l->font_off = (uint16_t)c->strings_len;
    l->font_len = (uint16_t)n;
    c->strings_len += (unsigned)n;
    return 0;
}

/* ---- Conditionals -------------------------------------------------------------------------- */

static const struct {
    const char *name;
    enum tr_var var;
} props[] = {
    {"w", TR_VAR_CW},  {"h", TR_VAR_CH},  {"ar", TR_VAR_CAR},
    {"iw", TR_VAR_IW}, {"ih", TR_VAR_IH}, {"iar", TR_VAR_IAR},
    {"cw", TR_VAR_CW}, {"ch", TR_VAR_CH}, {"car", TR_VAR_CAR},
};

static const char *const cmps[] = {
    [TR_CMP_EQ] = "eq",   [TR_CMP_NE] = "ne", [TR_CMP_GT] = "gt",
    [TR_CMP_GTE] = "gte", [TR_CMP_LT] = "lt", [TR_CMP_LTE] = "lte",
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* The value of a term: W-H (ar_lt_4-3) kept as a pair, else a number or an expression,
 * computed now when it has no variable. */
static int cond_value(struct tr_parser *p, struct str v, struct tr_num *n)
{
    struct str w, h = v;
    struct tr_num_error e;
    double a, b, x;
    char buf[TR_SHOW_LEN];

    if (str_cut(&h, '-', &w)) {
        if (tr_num_decimal(w, &a, &e) || tr_num_decimal(h, &b, &e) || a <= 0 || b <= 0)
            return tr_parse_fail(p, "if-: '%s' is not W-H (ar_lt_4-3)", tr_parse_show(v, buf));
        tr_num_literal(n, a);
        n->kind = TR_NUM_EXPR;
        n->nops = 2;
        n->op[0] = TR_OP_DIV;
        n->value[1] = b;
        return 0;
    }
    if (tr_num_parse(v, n, &e))
        return tr_parse_fail(p, "if-: '%s' %s", tr_parse_show(e.token.len ? e.token : v, buf),
                             e.why);
    if (tr_num_is_constant(n) && n->kind == TR_NUM_EXPR) {
        if (tr_num_eval(n, NULL, &x))
            return tr_parse_fail(p, "if-: '%s' divides by zero", tr_parse_show(v, buf));
        tr_num_literal(n, round(x * 1e6) / 1e6);
    }
    return 0;
}

/* The tokens of the value that starts *rest, up to "_and_" or "_or_" (then *or says which). */
static struct str take_value(struct str *rest, bool *joined, bool * or)
{
    struct str v = {rest->p, 0}, tok, r = *rest;

    *joined = false;
    while (r.len) {
        struct str before = r;

        str_cut(&r, '_', &tok);
        if (v.len && (str_eq(tok, "and") || str_eq(tok, "or"))) {
            *joined = true;
            * or = str_eq(tok, "or");
            *rest = r;
            return v;
        }
        v.len = (size_t)(before.p - v.p) + tok.len;
    }
    *rest = r;
    return v;
}

static int parse_term(struct tr_parser *p, struct str *rest, struct tr_cond *cd, bool *joined)
{
    struct str prop, cmp;
    char buf[TR_SHOW_LEN];
    size_t i, j;
    unsigned t = cd->nterms;

    if (t == TR_MAX_COND_TERMS)
        return tr_parse_fail(p, "if-: more than %d conditions joined", TR_MAX_COND_TERMS);
    str_cut(rest, '_', &prop);
    for (i = 0; i < COUNT(props) && !str_eq(prop, props[i].name); i++)
        ;
    if (i == COUNT(props))
        return tr_parse_fail(p, "if-: '%s' is not a property (w h ar iw ih iar)",
                             tr_parse_show(prop, buf));
    str_cut(rest, '_', &cmp);
    for (j = 0; j < COUNT(cmps) && !str_eq(cmp, cmps[j]); j++)
        ;
    if (j == COUNT(cmps))
        return tr_parse_fail(p, "if-: '%s' is not a comparison (eq ne gt gte lt lte)",
                             tr_parse_show(cmp, buf));
    cd->term[t].prop = props[i].var;
    cd->term[t].cmp = (enum tr_cmp)j;
    cd->term[t].or_next = false;
    struct str v = take_value(rest, joined, &cd->term[t].or_next);
    if (v.len == 0)
        return tr_parse_fail(p, "if-: a condition without a value");
    cd->nterms++;
    return cond_value(p, v, &cd->term[t].value);
}

static int parse_condition(struct tr_parser *p, struct str v, struct tr_cond *cd)
{
    bool joined = true;

    memset(cd, 0, sizeof(*cd));
    while (joined)
        if (parse_term(p, &v, cd, &joined))
            return -EINVAL;
    return 0;
}

int tr_nest_cond(struct tr_parser *p, struct str v)
{
    struct tr_chain *c = p->chain;
    struct tr_frame *f = &p->fr[p->depth];

    if (str_eq(v, "else") || str_eq(v, "end")) {
        bool els = str_eq(v, "else");

        if (els ? f->mode != TR_MODE_THEN : f->mode == TR_MODE_BOTH)
            return tr_parse_fail(p, "if-%s without if-", els ? "else" : "end");
        f->mode = els ? TR_MODE_ELSE : TR_MODE_BOTH;
        return 0;
    }
    if (f->cond >= 0)
        return tr_parse_fail(p, "if-: one conditional per step (this one has one)");
    if (c->nconds == TR_MAX_CONDS)
        return tr_parse_fail(p, "if-: more than %d conditionals", TR_MAX_CONDS);
    if (parse_condition(p, v, &c->cond[c->nconds]))
        return -EINVAL;
    f->cond = (int)c->nconds++;
    f->alt = f->step;
    f->alt_seen = f->seen;
    f->mode = TR_MODE_THEN;
    f->step.cond = (uint8_t)(f->cond + 1);
    return 0;
}

/* Whether step id draws a layer of one branch only. */
static bool has_branch_layers(const struct tr_chain *c, unsigned id)
{
    for (unsigned i = 0; i < c->nlayers; i++)
        if (c->layer[i].owner == id && c->layer[i].branch != TR_BRANCH_ALWAYS)
            return true;
    return false;
}

int tr_nest_end_step(struct tr_parser *p, struct tr_frame *f)
{
    struct tr_cond *cd;

    if (f->cond < 0)
        return 0;
    if (f->mode != TR_MODE_BOTH)
        return tr_parse_fail(p, "if-: not closed by if-end");
    cd = &p->chain->cond[f->cond];
    cd->alt = f->alt;
    cd->alt.cond = 0;
    cd->alt.nlayers = 0;
    if (tr_step_same(&f->step, &f->alt) && !has_branch_layers(p->chain, f->id))
        f->step.cond = 0; /* both branches do the same: the condition changes nothing */
    return 0;
}

/* ---- Evaluation and canonical text --------------------------------------------------------- */

static double prop_value(enum tr_var v, const struct tr_vars *x)
{
    switch (v) {
    case TR_VAR_IW:
        return x->iw;
    case TR_VAR_IH:
        return x->ih;
    case TR_VAR_IAR:
        return x->iw / x->ih;
    case TR_VAR_CW:
        return x->cw;
    case TR_VAR_CH:
        return x->ch;
    default:
        return x->cw / x->ch;
    }
}

/* Comparisons within 1e-6: an aspect ratio is rarely exact. */
static bool compare(enum tr_cmp cmp, double a, double b)
{
    double eps = 1e-6 * fmax(1, fabs(b));
    bool eq = fabs(a - b) <= eps;

    switch (cmp) {
    case TR_CMP_EQ:
        return eq;
    case TR_CMP_NE:
        return !eq;
    case TR_CMP_GT:
        return a > b && !eq;
    case TR_CMP_GTE:
        return a > b || eq;
    case TR_CMP_LT:
        return a < b && !eq;
    default:
        return a < b || eq;
    }
}

/* Terms joined by _and_ (first) and _or_: the or of runs of ands. -EINVAL: not computable. */
static int cond_holds(const struct tr_cond *cd, const struct tr_vars *v, bool *out)
{
    bool any = false, run = true;
    double x;

    for (unsigned i = 0; i < cd->nterms && i < TR_MAX_COND_TERMS; i++) {
        if (tr_num_eval(&cd->term[i].value, v, &x))
            return -EINVAL;
        run = run && compare(cd->term[i].cmp, prop_value(cd->term[i].prop, v), x);
        if (cd->term[i].or_next || i + 1 == cd->nterms) {
            any = any || run;
            run = true;
        }
    }
    *out = any;
    return 0;
}

const struct tr_step *tr_chain_variant(const struct tr_chain *c, unsigned id,
                                       const struct tr_vars *v, enum tr_branch *taken)
{
    const struct tr_step *s = tr_chain_step(c, id);
    bool holds;

    *taken = TR_BRANCH_ALWAYS;
    if (!s || !s->cond)
        return s;
    if (s->cond > c->nconds || cond_holds(&c->cond[s->cond - 1], v, &holds))
        return NULL;
    *taken = holds ? TR_BRANCH_THEN : TR_BRANCH_ELSE;
    return holds ? s : &c->cond[s->cond - 1].alt;
}

static const char *prop_name(enum tr_var v)
{
    for (size_t i = 0; i < COUNT(props); i++)
        if (props[i].var == v)
            return props[i].name;
    return "?";
}

void tr_out_cond(struct tr_outbuf *o, const struct tr_cond *c)
{
    for (unsigned i = 0; i < c->nterms && i < TR_MAX_COND_TERMS; i++) {
        const struct tr_num *n = &c->term[i].value;

        tr_out_printf(o, "%s_%s_", prop_name(c->term[i].prop), cmps[c->term[i].cmp]);
        if (n->kind == TR_NUM_EXPR && n->nops == 2 && n->op[0] == TR_OP_DIV && !n->var[0] &&
            !n->var[1]) {
            tr_out_decimal(o, n->value[0]);
            tr_out_printf(o, "-");
            tr_out_decimal(o, n->value[1]);
        } else {
            tr_out_num(o, n);
        }
        if (i + 1 < c->nterms)
            tr_out_printf(o, "_%s_", c->term[i].or_next ? "or" : "and");
    }
}
