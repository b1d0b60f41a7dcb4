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

/* Big enough for the value of any one key (e-usm's four decimals are the longest). */
#define VALUE_MAX 256

/* The canonical text of key d's value in s into buf; false when s lacks the key, or its value
 * is the row's default (it changes nothing) or too long (then k is full). */
static bool value_text(struct canon *k, const struct tr_key_def *d, const struct tr_step *s,
                       char buf[VALUE_MAX])
{
    struct tr_outbuf v = {buf, VALUE_MAX, 0, false};

    buf[0] = '\0';
    d->print(&v, d, s);
    if (v.full)
        k->o.full = true;
    return !v.full && !(d->dflt && strcmp(buf, d->dflt) == 0);
}

static bool key_text(struct canon *k, const struct tr_key_def *d, const struct tr_step *s, int t,
                     char buf[VALUE_MAX])
{
    buf[0] = '\0';
    if (!s || !tr_step_has(s, (enum tr_key)t) || (d->flags & TR_KEY_CHAIN))
        return false;
    return value_text(k, d, s, buf);
}

/* Which keys of a step with a conditional to write: those both variants give alike, or those
 * of one variant that the other does not give alike. */
enum pick { PICK_ALL, PICK_COMMON, PICK_OWN };

static void out_keys(struct canon *k, const struct tr_step *s, const struct tr_step *other,
                     enum pick pick)
{
    char a[VALUE_MAX], b[VALUE_MAX];

    for (int t = 0; t < TR_KEY_COUNT; t++) {
        const struct tr_key_def *d = &tr_keys[t];
        bool has = key_text(k, d, s, t, a);
        bool same = has && key_text(k, d, other, t, b) && strcmp(a, b) == 0;

        if (!has || (pick == PICK_COMMON && !same) || (pick == PICK_OWN && same))
            continue;
        if (t == TR_FF && s->font == TR_FONT_FILE)
            continue; /* a font file is its layer's, written after its input */
        key(k, d->name);
        if (a[0])
            tr_out_printf(&k->o, "-%s", a);
    }
}

static void out_step_id(struct canon *k, const struct tr_chain *c, unsigned id, bool new_step);

/* i-<text or path, '/' as "@@"> when every byte is plain, else ie-<base64>. */
static void out_input(struct canon *k, const struct tr_chain *c, const struct tr_layer *l)
{
    const char *s = c->strings + l->in_off;
    size_t n = l->in_len;
    bool plain = n > 0 && !(n == 9 && memcmp(s, "ik_canvas", 9) == 0);

    if (l->canvas) {
        key(k, "i-ik_canvas");
        return;
    }
    for (size_t i = 0; i < n && plain; i++)
        plain = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
                (s[i] >= '0' && s[i] <= '9') || strchr("._ -", s[i]) ||
                (s[i] == '/' && l->type == TR_LAYER_IMAGE);
    key(k, plain ? "i-" : "ie-");
    for (size_t i = 0; i < n && plain; i++)
        tr_out_printf(&k->o, s[i] == '/' ? "@@" : "%c", s[i]);
    if (!plain)
        tr_out_base64(&k->o, s, n);
}

static void out_layer(struct canon *k, const struct tr_chain *c, const struct tr_layer *l)
{
    key(k, l->type == TR_LAYER_TEXT ? "l-text" : "l-image");
    out_input(k, c, l);
    if (l->type == TR_LAYER_IMAGE && !l->canvas && l->no_trim)
        key(k, "t-false");
    if (l->font_len) {
        key(k, "ff-");
        for (const char *p = c->strings + l->font_off; p < c->strings + l->font_off + l->font_len;
             p++)
            tr_out_printf(&k->o, *p == '/' ? "@@" : "%c", *p);
    }
    for (unsigned j = 0; j < l->nsteps && j < TR_MAX_LAYER_STEPS; j++)
        out_step_id(k, c, TR_STEP_LAYER + l->step[j], j > 0);
    k->new_step = false;
    key(k, "l-end");
}

/* The layers step id draws in one branch, in order. */
static void out_layers(struct canon *k, const struct tr_chain *c, unsigned id, enum tr_branch b)
{
    for (unsigned i = 0; i < c->nlayers && i < TR_MAX_LAYERS; i++)
        if (c->layer[i].owner == id && c->layer[i].branch == (uint8_t)b)
            out_layer(k, c, &c->layer[i]);
}

/* A step: its keys and layers; with a conditional, what both branches share, then
 * "if-COND,<then>,if-else,<else>,if-end" with what each does on its own. */
static void out_step_id(struct canon *k, const struct tr_chain *c, unsigned id, bool new_step)
{
    const struct tr_step *s = tr_chain_step(c, id);
    const struct tr_cond *cd = s && s->cond && s->cond <= c->nconds ? &c->cond[s->cond - 1] : NULL;

    if (!s)
        return;
    k->new_step = new_step;
    out_keys(k, s, cd ? &cd->alt : NULL, cd ? PICK_COMMON : PICK_ALL);
    out_layers(k, c, id, TR_BRANCH_ALWAYS);
    if (!cd)
        return;
    key(k, "if-");
    tr_out_cond(&k->o, cd);
    out_keys(k, s, &cd->alt, PICK_OWN);
    out_layers(k, c, id, TR_BRANCH_THEN);
    key(k, "if-else");
    out_keys(k, &cd->alt, s, PICK_OWN);
    out_layers(k, c, id, TR_BRANCH_ELSE);
    key(k, "if-end");
}

static void out_step(struct canon *k, const struct tr_step *s)
{
    k->new_step = true;
    out_keys(k, s, NULL, PICK_ALL);
}

bool tr_step_same(const struct tr_step *a, const struct tr_step *b)
{
    char x[TR_CANONICAL_MAX / 4], y[TR_CANONICAL_MAX / 4];
    struct canon ka = {.o = {x, sizeof(x), 0, false}}, kb = {.o = {y, sizeof(y), 0, false}};

    x[0] = y[0] = '\0';
    out_step(&ka, a);
    out_step(&kb, b);
    return !ka.o.full && !kb.o.full && strcmp(x, y) == 0;
}

/* A step whose canonical text is empty: what it gives is all defaults or chain-level, and it
 * draws no layer and has no conditional. Any key written fills buf, so a small one is enough. */
bool tr_step_is_noop(const struct tr_step *s)
{
    char buf[8];
    struct canon k = {.o = {buf, sizeof(buf), 0, false}};

    if (s->nlayers || s->cond)
        return false;
    out_step(&k, s);
    return k.o.len == 0 && !k.o.full;
}

/* The chain-level keys, each with the value of the last step that gives it, in the last step
 * written. */
static void out_chain_keys(struct canon *k, const struct tr_chain *c)
{
    k->new_step = false;
    for (int t = 0; t < TR_KEY_COUNT; t++) {
        const struct tr_step *last = NULL;

        if (!(tr_keys[t].flags & TR_KEY_CHAIN))
            continue;
        for (unsigned i = 0; i < c->nsteps && i < TR_MAX_STEPS; i++)
            if (tr_step_has(&c->step[i], (enum tr_key)t))
                last = &c->step[i];
        char buf[VALUE_MAX];

        if (last && value_text(k, &tr_keys[t], last, buf)) {
            key(k, tr_keys[t].name);
            tr_out_printf(&k->o, "-%s", buf);
        }
    }
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
            out_step_id(&k, c, i, true);
        out_chain_keys(&k, c);
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
    case TR_FMT_MP4:
        return "video/mp4";
    case TR_FMT_WEBM:
        return "video/webm";
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
