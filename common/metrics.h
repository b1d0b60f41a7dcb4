/* common/metrics.h: counters, gauges and histograms, written out in Prometheus's text exposition
 * format 0.0.4 (what GET /metrics answers).
 *
 *     static const char *const codes[] = {"200", "404", "other"};
 *     struct metrics_label code = {"code", codes, 3};
 *     struct metrics *m = metrics_new();
 *     struct metrics_family *req = metrics_add_counter(m, "blobkit_http_requests_total",
 *                                                      "Requests answered.", &code, NULL);
 *     metrics_inc(req, 1, 0, 1);                     // on the request path: one atomic add
 *     metrics_render(m, &text, &len);                // on a scrape
 *
 * A family's labels and every value they may take are fixed when it is made, so the series are
 * every combination of at most two labels: the cardinality is bounded by construction, and no
 * request can add a series (nothing is ever labelled by a path). Updates are lock-free (relaxed
 * atomics); a scrape takes the registry's lock only against other scrapes. Families are made
 * once at startup, before other threads update them. */
#ifndef COMMON_METRICS_H
#define COMMON_METRICS_H

#include <stddef.h>
#include <stdint.h>

/* The most values one label may take, and the most buckets of a histogram. */
#define METRICS_MAX_VALUES 256
#define METRICS_MAX_BUCKETS 32
/* The largest text a scrape returns; a registry that would write more fails the render. */
#define METRICS_TEXT_MAX (4u << 20)

struct metrics;
struct metrics_family;

/* A label and the values it may take, in the order of the index passed to updates.
 * (transfer none): the strings and the array must outlive the registry. */
struct metrics_label {
    const char *name;
    const char *const *values;
    size_t n;
};

/* An empty registry. Returns (transfer full) a registry to free with metrics_free(), or NULL. */
struct metrics *metrics_new(void);

/* Free m and its families. NULL is a no-op. */
void metrics_free(struct metrics *m);

/* Make a family in m, written out in the order made. name and help: (transfer none), static.
 * a and b (each may be NULL) are its labels; the label structs are copied, their strings not.
 * A counter counts integers and is written as count x scale (1 for events, 1e-6 for a counter
 * of microseconds written as seconds). Returns (transfer none) the family, valid until
 * metrics_free(m), or NULL when out of memory or given more values than METRICS_MAX_VALUES. */
struct metrics_family *metrics_add_counter(struct metrics *m, const char *name, const char *help,
                                           double scale, const struct metrics_label *a,
                                           const struct metrics_label *b);
struct metrics_family *metrics_add_gauge(struct metrics *m, const char *name, const char *help,
                                         const struct metrics_label *a,
                                         const struct metrics_label *b);

/* A histogram of observations, with the upper bounds of its buckets in increasing order
 * (bounds: copied; at most METRICS_MAX_BUCKETS; +Inf is implied). One label at most. */
struct metrics_family *metrics_add_histogram(struct metrics *m, const char *name, const char *help,
                                             const double *bounds, size_t nbounds,
                                             const struct metrics_label *a);

/* Updates of the series (a, b): the indexes of the values of labels a and b, 0 for a label
 * the family lacks. A NULL family, or an index past its label's values, is ignored: callers
 * need no check when metrics are off. Lock-free, from any thread. */
void metrics_inc(struct metrics_family *f, size_t a, size_t b, uint64_t n);
/* A counter kept elsewhere (a cache's hit count), copied in when a scrape collects. */
void metrics_counter_set(struct metrics_family *f, size_t a, size_t b, uint64_t v);
void metrics_gauge_set(struct metrics_family *f, size_t a, size_t b, double v);
void metrics_observe(struct metrics_family *f, size_t a, double v);

/* Called at every render, before anything is written, to set gauges and copied counters.
 * At most 8 per registry. Returns 0 or -ENOSPC. */
typedef void (*metrics_collect_fn)(void *arg);
int metrics_on_collect(struct metrics *m, metrics_collect_fn fn, void *arg);

/* Run the collect callbacks and write every family out. Series of a labelled counter or
 * histogram that never moved are left out; unlabelled ones and gauges are always there.
 * Returns 0 with *text (transfer full, NUL-terminated, free with metrics_text_free()) and its
 * length, -ENOMEM, or -E2BIG past METRICS_TEXT_MAX. */
int metrics_render(struct metrics *m, char **text, size_t *len);
void metrics_text_free(char *text);

/* The media type of the text (for Content-Type). */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
