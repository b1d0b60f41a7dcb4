/* common/metrics.c: lock-free counters, gauges and histograms and their text exposition (see
 * metrics.h). */
#include "metrics.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_COLLECT 8

enum kind { COUNTER, GAUGE, HISTOGRAM };

/* The series of a family are laid out one after another, stride slots each: a counter's count
 * or a gauge's value (as the bits of a double); for a histogram, one count per bucket (not
 * cumulative, +Inf last) and then the sum of the observations (the bits of a double). */
struct metrics_family {
    struct metrics_family *next;
    enum kind kind;
    const char *name, *help;
    struct metrics_label label[2];
    size_t nlabels;
    size_t n[2]; /* values of each label; 1 for a label the family lacks */
    double scale;
    double bound[METRICS_MAX_BUCKETS];
    size_t nbounds, stride;
    _Atomic uint64_t *v;
};

struct metrics {
    pthread_mutex_t lock; /* guards the list while families are added, and serializes renders */
    struct metrics_family *head, **tail;
    struct {
        metrics_collect_fn fn;
        void *arg;
    } collect[MAX_COLLECT];
    size_t ncollect;
};

/* A growing text with a hard cap; once an append fails, every later one does too. */
struct text {
    char *p;
    size_t len, cap;
    int err;
};

struct metrics *metrics_new(void)
{
    struct metrics *m = calloc(1, sizeof(*m));

    if (!m)
        return NULL;
    pthread_mutex_init(&m->lock, NULL);
    m->tail = &m->head;
    return m;
}

void metrics_free(struct metrics *m)
{
    if (!m)
        return;
    for (struct metrics_family *f = m->head, *next; f; f = next) {
        next = f->next;
        free(f->v);
        free(f);
    }
    pthread_mutex_destroy(&m->lock);
    free(m);
}

/* Prometheus's rule for metric and label names: [a-zA-Z_:][a-zA-Z0-9_:]*. */
static bool name_is_valid(const char *s)
{
    size_t ok = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_:");

    return s[0] && ok == strlen(s) && !(s[0] >= '0' && s[0] <= '9');
}

static bool label_is_valid(const struct metrics_label *l)
{
    return !l || (l->n > 0 && l->n <= METRICS_MAX_VALUES && l->values && name_is_valid(l->name) &&
                  strcmp(l->name, "le") != 0);
}

/* A family of kind with labels a and b and stride slots per series, appended to m. */
static struct metrics_family *add(struct metrics *m, enum kind kind, const char *name,
                                  const char *help, const struct metrics_label *a,
                                  const struct metrics_label *b, size_t stride)
{
    if (!name_is_valid(name) || !label_is_valid(a) || !label_is_valid(b) || (b && !a))
        return NULL;
    struct metrics_family *f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    *f = (struct metrics_family){.kind = kind, .name = name, .help = help, .scale = 1};
    f->n[0] = a ? a->n : 1;
    f->n[1] = b ? b->n : 1;
    f->label[0] = a ? *a : (struct metrics_label){0};
    f->label[1] = b ? *b : (struct metrics_label){0};
    f->nlabels = b ? 2 : a ? 1 : 0;
    f->stride = stride;
    f->v = calloc(f->n[0] * f->n[1] * stride, sizeof(*f->v));
    if (!f->v) {
        free(f);
        return NULL;
    }
    pthread_mutex_lock(&m->lock);
    *m->tail = f;
    m->tail = &f->next;
    pthread_mutex_unlock(&m->lock);
    return f;
}

struct metrics_family *metrics_add_counter(struct metrics *m, const char *name, const char *help,
                                           double scale, const struct metrics_label *a,
                                           const struct metrics_label *b)
{
    struct metrics_family *f = add(m, COUNTER, name, help, a, b, 1);

    if (f)
        f->scale = scale;
    return f;
}

struct metrics_family *metrics_add_gauge(struct metrics *m, const char *name, const char *help,
                                         const struct metrics_label *a,
                                         const struct metrics_label *b)
{
    return add(m, GAUGE, name, help, a, b, 1);
}

struct metrics_family *metrics_add_histogram(struct metrics *m, const char *name, const char *help,
                                             const double *bounds, size_t nbounds,
                                             const struct metrics_label *a)
{
    if (nbounds == 0 || nbounds > METRICS_MAX_BUCKETS)
        return NULL;
    for (size_t i = 1; i < nbounds; i++) {
        if (!(bounds[i] > bounds[i - 1]))
            return NULL;
    }
    struct metrics_family *f = add(m, HISTOGRAM, name, help, a, NULL, nbounds + 2);
    if (f) {
        memcpy(f->bound, bounds, nbounds * sizeof(*bounds));
        f->nbounds = nbounds;
    }
    return f;
}

/* The first slot of series (a, b), or NULL when f is NULL or an index is out of range. */
static _Atomic uint64_t *series(const struct metrics_family *f, size_t a, size_t b)
{
    if (!f || a >= f->n[0] || b >= f->n[1])
        return NULL;
    return &f->v[(a * f->n[1] + b) * f->stride];
}

static uint64_t bits_of(double d)
{
    uint64_t u;

    memcpy(&u, &d, sizeof(u));
    return u;
}

static double double_of(uint64_t u)
{
    double d;

    memcpy(&d, &u, sizeof(d));
    return d;
}

void metrics_inc(struct metrics_family *f, size_t a, size_t b, uint64_t n)
{
    _Atomic uint64_t *s = f && f->kind == COUNTER ? series(f, a, b) : NULL;

    if (s)
        atomic_fetch_add_explicit(s, n, memory_order_relaxed);
}

void metrics_counter_set(struct metrics_family *f, size_t a, size_t b, uint64_t v)
{
    _Atomic uint64_t *s = f && f->kind == COUNTER ? series(f, a, b) : NULL;

    if (s)
        atomic_store_explicit(s, v, memory_order_relaxed);
}

void metrics_gauge_set(struct metrics_family *f, size_t a, size_t b, double v)
{
    _Atomic uint64_t *s = f && f->kind == GAUGE ? series(f, a, b) : NULL;

    if (s)
        atomic_store_explicit(s, bits_of(v), memory_order_relaxed);
}

/* A bucket count, then the sum: a compare-and-swap loop on the bits of a double, lock-free. */
void metrics_observe(struct metrics_family *f, size_t a, double v)
{
    _Atomic uint64_t *s = f && f->kind == HISTOGRAM ? series(f, a, 0) : NULL;
    size_t i = 0;

    if (!s || isnan(v))
        return;
    while (i < f->nbounds && v > f->bound[i])
        i++;
    atomic_fetch_add_explicit(&s[i], 1, memory_order_relaxed);
    _Atomic uint64_t *sum = &s[f->nbounds + 1];
    uint64_t old = atomic_load_explicit(sum, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(sum, &old, bits_of(double_of(old) + v),
                                                  memory_order_relaxed, memory_order_relaxed))
        ;
}

int metrics_on_collect(struct metrics *m, metrics_collect_fn fn, void *arg)
{
    int rc = -ENOSPC;

    pthread_mutex_lock(&m->lock);
    if (m->ncollect < MAX_COLLECT) {
        m->collect[m->ncollect].fn = fn;
        m->collect[m->ncollect++].arg = arg;
        rc = 0;
    }
    pthread_mutex_unlock(&m->lock);
    return rc;
}

/* ---- the text ------------------------------------------------------------------------------ */

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct text *t, const char *fmt, ...)
{
    va_list ap;

    for (int tries = 0; !t->err && tries < 2; tries++) {
        va_start(ap, fmt);
        int n = vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->err = -EINVAL;
        } else if ((size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        } else {
            size_t cap = t->cap * 2 > t->len + (size_t)n + 1 ? t->cap * 2 : t->len + (size_t)n + 1;
            char *p = cap <= METRICS_TEXT_MAX ? realloc(t->p, cap) : NULL;
            t->err = cap > METRICS_TEXT_MAX ? -E2BIG : p ? 0 : -ENOMEM;
            t->p = p ? p : t->p;
            t->cap = p ? cap : t->cap;
        }
    }
}

/* s with '\\', '"' and newlines escaped, as label values (and, without quotes, help) want. */
static void put_escaped(struct text *t, const char *s, bool quote)
{
    for (; *s; s++) {
        size_t plain = strcspn(s, quote ? "\\\"\n" : "\\\n");
        put(t, "%.*s", (int)plain, s);
        s += plain;
        if (!*s)
            break;
        put(t, "%s", *s == '\n' ? "\\n" : *s == '\\' ? "\\\\" : "\\\"");
    }
}

static void put_number(struct text *t, double v)
{
    if (isnan(v))
        put(t, "NaN");
    else if (isinf(v))
        put(t, "%sInf", v > 0 ? "+" : "-");
    else
        put(t, "%.15g", v);
}

/* {a="x",b="y"} for series (a, b), with le="bound" last when le is not NULL. */
static void put_labels(struct text *t, const struct metrics_family *f, size_t a, size_t b,
                       const char *le)
{
    size_t idx[2] = {a, b};

    if (!f->nlabels && !le)
        return;
    put(t, "{");
    for (size_t i = 0; i < f->nlabels; i++) {
        put(t, "%s%s=\"", i ? "," : "", f->label[i].name);
        put_escaped(t, f->label[i].values[idx[i]], true);
        put(t, "\"");
    }
    if (le)
        put(t, "%s%s\"%s\"", f->nlabels ? "," : "", "le=", le);
    put(t, "}");
}

static void put_histogram(struct text *t, const struct metrics_family *f, size_t a,
                          _Atomic uint64_t *s)
{
    uint64_t cum = 0, count[METRICS_MAX_BUCKETS + 1];
    char le[32];

    for (size_t i = 0; i <= f->nbounds; i++)
        count[i] = atomic_load_explicit(&s[i], memory_order_relaxed);
    for (size_t i = 0; i <= f->nbounds; i++)
        cum += count[i];
    if (cum == 0 && f->nlabels)
        return;
    cum = 0;
    for (size_t i = 0; i <= f->nbounds; i++) {
        cum += count[i];
        if (i < f->nbounds)
            snprintf(le, sizeof(le), "%.15g", f->bound[i]);
        put(t, "%s_bucket", f->name);
        put_labels(t, f, a, 0, i < f->nbounds ? le : "+Inf");
        put(t, " %" PRIu64 "\n", cum);
    }
    put(t, "%s_sum", f->name);
    put_labels(t, f, a, 0, NULL);
    put(t, " ");
    put_number(t, double_of(atomic_load_explicit(&s[f->nbounds + 1], memory_order_relaxed)));
    put(t, "\n%s_count", f->name);
    put_labels(t, f, a, 0, NULL);
    put(t, " %" PRIu64 "\n", cum);
}

static void put_series(struct text *t, const struct metrics_family *f, size_t a, size_t b)
{
    _Atomic uint64_t *s = series(f, a, b);
    uint64_t v = atomic_load_explicit(s, memory_order_relaxed);

    if (f->kind == HISTOGRAM) {
        put_histogram(t, f, a, s);
        return;
    }
    if (f->kind == COUNTER && v == 0 && f->nlabels)
        return;
    put(t, "%s", f->name);
    put_labels(t, f, a, b, NULL);
    if (f->kind == COUNTER && f->scale == 1) {
        put(t, " %" PRIu64 "\n", v);
        return;
    }
    put(t, " ");
    put_number(t, f->kind == COUNTER ? (double)v * f->scale : double_of(v));
    put(t, "\n");
}

static void put_family(struct text *t, const struct metrics_family *f)
{
    static const char *const type[] = {"counter", "gauge", "histogram"};

    put(t, "# HELP %s ", f->name);
    put_escaped(t, f->help, false);
    put(t, "\n# TYPE %s %s\n", f->name, type[f->kind]);
    for (size_t a = 0; a < f->n[0]; a++) {
        for (size_t b = 0; b < f->n[1]; b++)
            put_series(t, f, a, b);
    }
}

int metrics_render(struct metrics *m, char **text, size_t *len)
{
    struct text t = {.p = malloc(8192), .cap = 8192};

    if (!t.p)
        return -ENOMEM;
    t.p[0] = '\0';
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < m->ncollect; i++)
        m->collect[i].fn(m->collect[i].arg);
    for (const struct metrics_family *f = m->head; f && !t.err; f = f->next)
        put_family(&t, f);
    pthread_mutex_unlock(&m->lock);
    if (t.err) {
        free(t.p);
        return t.err;
    }
    *text = t.p;
    *len = t.len;
    return 0;
}

void metrics_text_free(char *text)
{
    free(text);
}
