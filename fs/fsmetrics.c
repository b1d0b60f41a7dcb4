/* fs/fsmetrics.c: blobfs's metric families (see fsmetrics.h). */
#include "fsmetrics.h"

#include "cache.h"
#include "metrics.h"
#include "prefetch.h"
#include "procstat.h"

#include <stdlib.h>

static const char *const ops[] = {"list", "props", "get"};
/* Every status the Blob service answers blobfs with, as far as blob.c tells them apart;
 * "error": no HTTP answer at all. */
static const char *const statuses[] = {"200", "206", "304", "400",   "401",  "403",
                                       "404", "409", "412", "416",   "429",  "500",
                                       "502", "503", "504", "other", "error"};
static const long codes[] = {200, 206, 304, 400, 401, 403, 404, 409,
                             412, 416, 429, 500, 502, 503, 504};
#define NSTATUS (sizeof(statuses) / sizeof(statuses[0]))
#define NCODES (sizeof(codes) / sizeof(codes[0]))
static const struct metrics_label op_label = {"op", ops, 3};
static const struct metrics_label status_label = {"status", statuses, NSTATUS};
static const double seconds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                 0.25,  0.5,    1,     2.5,  5,     10,   30};
static const char *const versions[] = {BLOBKIT_VERSION};
static const struct metrics_label version_label = {"version", versions, 1};

struct fsmetrics {
    struct metrics_family *requests, *duration, *bytes, *retries, *prefetch, *entries, *build;
    struct procstat *proc;
    struct cache *cache;
    struct prefetch_pool *pool;
};

/* The index of status in statuses: its own, "other", or "error" for 0. */
static size_t status_index(long status)
{
    if (status == 0)
        return NSTATUS - 1;
    for (size_t i = 0; i < NCODES; i++) {
        if (codes[i] == status)
            return i;
    }
    return NCODES;
}

void fsmetrics_origin(struct fsmetrics *fm, enum fsmetrics_op op, long status, double secs,
                      uint64_t bytes)
{
    if (!fm)
        return;
    metrics_inc(fm->requests, op, status_index(status), 1);
    metrics_observe(fm->duration, op, secs);
    metrics_inc(fm->bytes, op, 0, bytes);
}

void fsmetrics_retry(struct fsmetrics *fm, enum fsmetrics_op op)
{
    if (fm)
        metrics_inc(fm->retries, op, 0, 1);
}

static void collect(void *arg)
{
    struct fsmetrics *fm = arg;

    metrics_gauge_set(fm->prefetch, 0, 0, fm->pool ? (double)prefetch_pool_bytes(fm->pool) : 0);
    metrics_gauge_set(fm->entries, 0, 0, fm->cache ? (double)cache_entries(fm->cache) : 0);
    metrics_gauge_set(fm->build, 0, 0, 1);
}

void fsmetrics_watch(struct fsmetrics *fm, struct cache *c, struct prefetch_pool *p)
{
    if (fm) {
        fm->cache = c;
        fm->pool = p;
    }
}

static void add_families(struct fsmetrics *fm, struct metrics *m)
{
    fm->requests = metrics_add_counter(m, "blobkit_blobfs_origin_requests_total",
                                       "Requests to the Blob service (each attempt), by "
                                       "operation and HTTP status (error: no answer).",
                                       1, &op_label, &status_label);
    fm->duration = metrics_add_histogram(m, "blobkit_blobfs_origin_request_duration_seconds",
                                         "Time of each request to the Blob service.", seconds,
                                         sizeof(seconds) / sizeof(seconds[0]), &op_label);
    fm->bytes =
        metrics_add_counter(m, "blobkit_blobfs_origin_bytes_total",
                            "Body bytes received from the Blob service.", 1, &op_label, NULL);
    fm->retries = metrics_add_counter(m, "blobkit_blobfs_retries_total",
                                      "Failed requests tried again (throttling, server errors, "
                                      "dropped connections).",
                                      1, &op_label, NULL);
    fm->prefetch = metrics_add_gauge(m, "blobkit_blobfs_prefetch_bytes",
                                     "Memory held by read-ahead buffers.", NULL, NULL);
    fm->entries = metrics_add_gauge(m, "blobkit_blobfs_metadata_entries",
                                    "Names and folders in the metadata cache.", NULL, NULL);
    fm->build = metrics_add_gauge(m, "blobkit_build_info", "The version running (always 1).",
                                  &version_label, NULL);
}

struct fsmetrics *fsmetrics_new(struct metrics *m)
{
    struct fsmetrics *fm = calloc(1, sizeof(*fm));

    if (!fm)
        return NULL;
    add_families(fm, m);
    fm->proc = procstat_new(m);
    if (!fm->requests || !fm->duration || !fm->bytes || !fm->retries || !fm->prefetch ||
        !fm->entries || !fm->build || !fm->proc || metrics_on_collect(m, collect, fm) != 0) {
        fsmetrics_free(fm);
        return NULL;
    }
    return fm;
}

void fsmetrics_free(struct fsmetrics *fm)
{
    if (!fm)
        return;
    procstat_free(fm->proc);
    free(fm);
}
