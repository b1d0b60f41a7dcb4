/* httpd/hmetrics.h: blobhttpd's metrics (docs/operating.md lists them): requests by endpoint
 * and status, their durations by kind, transforms by output format, the queues, the
 * derived-image cache, video jobs and their disk cache, origin errors by errno, and the
 * process's own. Labels take only values fixed at startup (the configured endpoints, known
 * statuses, formats, errno names), never a path or a chain.
 *
 * srv.c, deliver.c report events as one call each (lock-free); the gauges come from a callback
 * at each scrape. GET /metrics answers on the main listener, or on --metrics-listen's. */
#ifndef HTTPD_HMETRICS_H
#define HTTPD_HMETRICS_H

#include "conf.h"
#include "imgcache.h"
#include "tr.h"

#include <stdbool.h>
#include <stddef.h>

#define HMETRICS_ERR_LEN 256
#define HMETRICS_NO_ENDPOINT ((size_t)-1)

struct hmetrics;
struct metrics;

/* What a response was: an original file, a derived image, or an error (status >= 400). */
enum hmetrics_kind { HMETRICS_ORIGINAL, HMETRICS_DERIVED, HMETRICS_ERROR };

/* Video jobs and their disk cache (docs/video.md): gauges now, counters since start. */
struct hmetrics_video {
    size_t jobs_queued, jobs_running, waiting;
    uint64_t jobs_done, jobs_failed, jobs_joined;
    uint64_t cache_hits, cache_misses, cache_evictions, cache_bytes, cache_entries;
};

/* The gauges, read at each scrape. */
struct hmetrics_gauges {
    size_t transforms_queued, transforms_running, origin_queued, origin_running;
    long inflight;
    struct imgcache_stats cache;
    struct hmetrics_video video;
};
typedef void (*hmetrics_gauges_fn)(void *arg, struct hmetrics_gauges *out);

/* Families for conf's endpoints, the process metrics, and, with conf->metrics_listen, a
 * listener of their own (bound here). gauges(arg) fills the gauges at each scrape. conf must
 * outlive it. Returns (transfer full) metrics to free with hmetrics_free(), or NULL with err. */
struct hmetrics *hmetrics_new(const struct conf *conf, hmetrics_gauges_fn gauges, void *arg,
                              char err[HMETRICS_ERR_LEN]);

/* Stop the listener and free hm. No other call may run meanwhile. NULL is a no-op. */
void hmetrics_free(struct hmetrics *hm);

/* (transfer none) The registry, for GET /metrics on the main listener. */
struct metrics *hmetrics_registry(struct hmetrics *hm);

/* Whether /metrics has a listener of its own (the main one then answers 404 for it). */
bool hmetrics_has_listener(const struct hmetrics *hm);

/* A request ended: its endpoint's index (HMETRICS_NO_ENDPOINT when not routed to one), status,
 * kind and duration. */
void hmetrics_request(struct hmetrics *hm, size_t endpoint, unsigned status,
                      enum hmetrics_kind kind, double seconds);

/* A tr_apply() call into format f took seconds (failed ones too). */
void hmetrics_transform(struct hmetrics *hm, enum tr_format f, double seconds);

/* A transform took a layer's decoded image from the cache (cached) or read and decoded its
 * file: a watermark every request uses should be decoded once. */
void hmetrics_layer(struct hmetrics *hm, bool cached);

/* An origin failed to open or read a file with err (-errno; -ENOENT is no failure and not
 * counted). */
void hmetrics_origin_error(struct hmetrics *hm, int err);

/* A purge was worked through (purge.c): completed, or failed. */
void hmetrics_purge(struct hmetrics *hm, bool completed);

#endif
