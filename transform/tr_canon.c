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

/* Key d of s: "<key>-<value>", "<key>" for a bare one, nothing when the value is the row's
 * default (it changes nothing). */
static void out_key(struct canon *k, const struct tr_key_def *d, const struct tr_step *s)
{
    char buf[VALUE_MAX];
    struct tr_outbuf v = {buf, sizeof(buf), 0, false};

    d->print(&v, d, s);
    if (v.full) {
        k->o.full = true;
        return;
    }
    if (d->dflt && strcmp(buf, d->dflt) == 0)
        return;
    key(k, d->name);
    if (v.len)
        tr_out_printf(&k->o, "-%s", buf);
}

static void out_step(struct canon *k, const struct tr_step *s)
{
    k->new_step = true;
    for (int t = 0; t < TR_KEY_COUNT; t++)
        if (tr_step_has(s, (enum tr_key)t) && !(tr_keys[t].flags & TR_KEY_CHAIN))
            out_key(k, &tr_keys[t], s);
}

/* A step whose canonical text is empty: what it gives is all defaults or chain-level. Any
 * key written fills buf, so a small one is enough. */
bool tr_step_is_noop(const struct tr_step *s)
{
    char buf[8];
    struct canon k = {.o = {buf, sizeof(buf), 0, false}};

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
        if (last)
            out_key(k, &tr_keys[t], last);
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
            out_step(&k, &c->step[i]);
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
