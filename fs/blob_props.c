/* fs/blob_props.c: a blob's properties as one record, and their extended attributes (see
 * blob_props.h).
 *
 * The record is a run of entries "K key NUL value NUL", K the kind as one byte ('0' + enum
 * blob_prop, or REFUSED for the note of what was refused), key empty but for metadata. A
 * lookup is a scan: a record is at most BLOB_PROPS_MAX bytes. */
#include "blob_props.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REFUSED 'R'
#define META_PREFIX "user.blob.meta."
#define GROW_FIRST 256

struct blob_props {
    size_t len, cap;   /* bytes used in and allocated for rec[] */
    size_t meta_bytes; /* metadata keys and values, as Azure counts its 8 KiB */
    unsigned nrefused; /* properties not kept */
    char rec[];
};

static char kind_byte(enum blob_prop kind)
{
    return (char)('0' + (int)kind);
}

/* The next entry at *at: its kind, key and value; false at the end. */
static bool next_entry(const struct blob_props *p, size_t *at, char *kind, const char **key,
                       const char **value)
{
    if (!p || *at >= p->len)
        return false;
    const char *e = p->rec + *at;
    *kind = e[0];
    *key = e + 1;
    *value = *key + strlen(*key) + 1;
    *at = (size_t)(*value + strlen(*value) + 1 - p->rec);
    return true;
}

static const char *find(const struct blob_props *p, char kind, const char *key)
{
    const char *k, *v;
    size_t at = 0;
    char c;

    while (next_entry(p, &at, &c, &k, &v)) {
        if (c == kind && strcmp(k, key ? key : "") == 0)
            return v;
    }
    return NULL;
}

const char *blob_props_get(const struct blob_props *p, enum blob_prop kind, const char *key)
{
    return find(p, kind_byte(kind), kind == BLOB_PROP_META ? key : NULL);
}

bool blob_props_archived(const struct blob_props *p)
{
    const char *tier = blob_props_get(p, BLOB_PROP_TIER, NULL);

    return tier && strcmp(tier, "Archive") == 0;
}

const char *blob_props_refused(const struct blob_props *p, unsigned *count)
{
    if (count)
        *count = p ? p->nrefused : 0;
    return p && p->nrefused ? find(p, REFUSED, NULL) : NULL;
}

/* Room for need more bytes, growing up to BLOB_PROPS_MAX. Returns 0, -E2BIG or -ENOMEM. */
static int reserve(struct blob_props **pp, size_t need)
{
    struct blob_props *p = *pp;
    size_t len = p ? p->len : 0, cap = p ? p->cap : 0;

    if (need > BLOB_PROPS_MAX - len)
        return -E2BIG;
    if (len + need <= cap && p)
        return 0;
    size_t want = cap ? cap : GROW_FIRST;
    while (want < len + need)
        want *= 2;
    if (want > BLOB_PROPS_MAX)
        want = BLOB_PROPS_MAX;
    p = realloc(p, sizeof(*p) + want);
    if (!p)
        return -ENOMEM;
    if (!*pp)
        memset(p, 0, sizeof(*p));
    p->cap = want;
    *pp = p;
    return 0;
}

static int append(struct blob_props **pp, char kind, const char *key, const char *value)
{
    size_t klen = strlen(key), vlen = strlen(value);
    int err = reserve(pp, 1 + klen + 1 + vlen + 1);

    if (err)
        return err;
    char *e = (*pp)->rec + (*pp)->len;
    e[0] = kind;
    memcpy(e + 1, key, klen + 1);
    memcpy(e + 2 + klen, value, vlen + 1);
    (*pp)->len += klen + vlen + 3;
    return 0;
}

/* s as a quoted, printable excerpt: bytes outside ASCII's printable range as \xHH. */
static void excerpt(const char *s, char *out, size_t cap)
{
    size_t n = 0;

    for (const unsigned char *c = (const unsigned char *)s; *c && n + 8 < cap; c++) {
        if (n >= 40) {
            n += (size_t)snprintf(out + n, cap - n, "...");
            break;
        }
        if (*c >= 0x20 && *c < 0x7f && *c != '\\' && *c != '\'')
            out[n++] = (char)*c;
        else
            n += (size_t)snprintf(out + n, cap - n, "\\x%02x", *c);
    }
    out[n] = '\0';
}

/* Count a refused property; the first is described in the record (when it fits). */
static int refuse(struct blob_props **pp, const char *why)
{
    int err = reserve(pp, 0);

    if (err)
        return err == -E2BIG ? 0 : err;
    if ((*pp)->nrefused++ == 0 && append(pp, REFUSED, "", why) == -ENOMEM)
        return -ENOMEM;
    return 0;
}

static bool all_of(const char *s, const char *set)
{
    return s[strspn(s, set)] == '\0';
}

#define ALNUM "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

/* Why a metadata pair is refused, into why; false when it is fine. */
static bool meta_refused(const struct blob_props *p, const char *key, const char *value, char *why,
                         size_t cap)
{
    char shown[BLOB_PROPS_NOTE_MAX];
    size_t klen = strlen(key), used = p ? p->meta_bytes : 0;

    excerpt(key, shown, sizeof(shown));
    if (klen == 0 || klen > BLOB_META_KEY_MAX)
        snprintf(why, cap, "metadata key '%s' (%zu bytes, at most %d)", shown, klen,
                 BLOB_META_KEY_MAX);
    else if (!all_of(key, ALNUM "_"))
        snprintf(why, cap, "metadata key '%s' (not A-Z a-z 0-9 _)", shown);
    else if (klen + strlen(value) > BLOB_META_MAX - used)
        snprintf(why, cap, "metadata key '%s' (metadata over %d bytes)", shown, BLOB_META_MAX);
    else if (find(p, kind_byte(BLOB_PROP_META), key))
        snprintf(why, cap, "metadata key '%s' (given twice)", shown);
    else
        return false;
    return true;
}

static const char *const prop_names[] = {"content type", "Content-MD5", "cache control",
                                         "blob type",    "access tier", "metadata"};

/* Why a property other than metadata is refused, into why; false when it is fine. */
static bool prop_refused(const struct blob_props *p, enum blob_prop kind, const char *value,
                         char *why, size_t cap)
{
    bool word = kind == BLOB_PROP_TYPE || kind == BLOB_PROP_TIER || kind == BLOB_PROP_CONTENT_MD5;
    size_t len = strlen(value), max = word ? BLOB_PROPS_WORD_MAX : BLOB_PROPS_VALUE_MAX;
    const char *set = kind == BLOB_PROP_CONTENT_MD5 ? ALNUM "+/=" : ALNUM;

    if (len > max)
        snprintf(why, cap, "%s (%zu bytes, at most %zu)", prop_names[kind], len, max);
    else if (word && !all_of(value, set))
        snprintf(why, cap, "%s (not a word)", prop_names[kind]);
    else if (find(p, kind_byte(kind), NULL))
        snprintf(why, cap, "%s (given twice)", prop_names[kind]);
    else
        return false;
    return true;
}

int blob_props_add(struct blob_props **p, enum blob_prop kind, const char *key, const char *value)
{
    char why[BLOB_PROPS_NOTE_MAX + 64];
    bool meta = kind == BLOB_PROP_META;

    if (!value[0] || (unsigned)kind > BLOB_PROP_META)
        return 0;
    if (meta ? meta_refused(*p, key ? key : "", value, why, sizeof(why))
             : prop_refused(*p, kind, value, why, sizeof(why)))
        return refuse(p, why);
    int err = append(p, kind_byte(kind), meta ? key : "", value);
    if (err == -E2BIG) {
        snprintf(why, sizeof(why), "%s (properties over %d bytes)", prop_names[kind],
                 BLOB_PROPS_MAX);
        return refuse(p, why);
    }
    if (!err && meta)
        (*p)->meta_bytes += strlen(key) + strlen(value);
    return err;
}

struct blob_props *blob_props_dup(const struct blob_props *p)
{
    if (!p)
        return NULL;
    struct blob_props *q = malloc(sizeof(*q) + p->len);
    if (!q)
        return NULL;
    memcpy(q, p, sizeof(*q) + p->len);
    q->cap = p->len;
    return q;
}

bool blob_props_equal(const struct blob_props *a, const struct blob_props *b)
{
    size_t alen = a ? a->len : 0, blen = b ? b->len : 0;

    if (alen != blen || (a ? a->nrefused : 0) != (b ? b->nrefused : 0))
        return false;
    return alen == 0 || memcmp(a->rec, b->rec, alen) == 0;
}

size_t blob_props_size(const struct blob_props *p)
{
    return p ? sizeof(*p) + p->cap : 0;
}

void blob_props_free(struct blob_props *p)
{
    free(p);
}

/* ---- extended attributes ---- */

/* One attribute: its name (prefix, then key when not NULL) and value. */
struct attr {
    const char *name, *key, *value;
};

/* Called for each attribute in order; returns false to stop. */
typedef bool (*attr_fn)(void *arg, const struct attr *a);

static void rfc3339(time_t t, char out[32])
{
    struct tm tm;

    if (!gmtime_r(&t, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
        out[0] = '\0';
}

static const struct {
    enum blob_prop kind;
    const char *name;
} fixed[] = {
    {BLOB_PROP_CONTENT_TYPE, "user.blob.content_type"},
    {BLOB_PROP_CONTENT_MD5, "user.blob.content_md5"},
    {BLOB_PROP_CACHE_CONTROL, "user.blob.cache_control"},
};

static void visit_file(const struct blob_xattr *x, attr_fn fn, void *arg)
{
    char date[32], kind;
    const char *k, *v;
    size_t at = 0;

    if (!fn(arg, &(struct attr){"user.blob.etag", NULL, x->etag ? x->etag : ""}))
        return;
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        v = blob_props_get(x->props, fixed[i].kind, NULL);
        if (v && !fn(arg, &(struct attr){fixed[i].name, NULL, v}))
            return;
    }
    rfc3339(x->mtime, date);
    if (!fn(arg, &(struct attr){"user.blob.last_modified", NULL, date}))
        return;
    v = blob_props_get(x->props, BLOB_PROP_TIER, NULL);
    if (v && !fn(arg, &(struct attr){"user.blob.access_tier", NULL, v}))
        return;
    v = blob_props_get(x->props, BLOB_PROP_TYPE, NULL);
    if (v && !fn(arg, &(struct attr){"user.blob.type", NULL, v}))
        return;
    while (next_entry(x->props, &at, &kind, &k, &v)) {
        if (kind == kind_byte(BLOB_PROP_META) && !fn(arg, &(struct attr){META_PREFIX, k, v}))
            return;
    }
}

static void visit(const struct blob_xattr *x, attr_fn fn, void *arg)
{
    if (x->is_dir)
        fn(arg, &(struct attr){"user.blob.prefix", NULL, x->prefix ? x->prefix : ""});
    else
        visit_file(x, fn, arg);
}

/* Copy len bytes of s to buf by the xattr size protocol. */
static ssize_t give(const char *s, size_t len, char *buf, size_t size)
{
    if (size == 0)
        return (ssize_t)len;
    if (size < len)
        return -ERANGE;
    memcpy(buf, s, len);
    return (ssize_t)len;
}

struct lister {
    char *buf;
    size_t size, len;
};

static bool add_name(void *arg, const struct attr *a)
{
    struct lister *l = arg;
    size_t n = strlen(a->name), k = a->key ? strlen(a->key) : 0;

    if (l->size && l->len + n + k + 1 <= l->size) {
        memcpy(l->buf + l->len, a->name, n);
        memcpy(l->buf + l->len + n, a->key ? a->key : "", k + 1);
    }
    l->len += n + k + 1;
    return true;
}

ssize_t blob_xattr_list(const struct blob_xattr *x, char *buf, size_t size)
{
    struct lister l = {buf, size, 0};

    visit(x, add_name, &l);
    return size && l.len > size ? -ERANGE : (ssize_t)l.len;
}

struct getter {
    const char *name;
    const char *value; /* found */
};

static bool match(void *arg, const struct attr *a)
{
    struct getter *g = arg;
    size_t n = strlen(a->name);

    if (strncmp(g->name, a->name, n) != 0 || strcmp(g->name + n, a->key ? a->key : "") != 0)
        return true;
    g->value = a->value;
    return false;
}

ssize_t blob_xattr_get(const struct blob_xattr *x, const char *name, char *buf, size_t size)
{
    struct getter g = {name, NULL};
    char date[32];

    visit(x, match, &g);
    if (!g.value)
        return -ENODATA;
    if (strcmp(name, "user.blob.last_modified") == 0) {
        rfc3339(x->mtime, date); /* the visit's copy is gone with its frame */
        g.value = date;
    }
    return give(g.value, strlen(g.value), buf, size);
}
