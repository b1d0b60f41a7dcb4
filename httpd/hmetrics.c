/* httpd/hmetrics.c: blobhttpd's metric families (see hmetrics.h). */
#include "hmetrics.h"

#include "addr.h"
#include "log.h"
#include "metrics.h"
#include "procstat.h"
#include "scrape.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const codes[] = {"200", "204", "206", "301", "302", "304",  "400",
                                    "401", "403", "404", "405", "406", "408",  "412",
                                    "413", "414", "416", "422", "429", "431",  "500",
                                    "501", "502", "503", "504", "505", "other"};
static const unsigned code_values[] = {200, 204, 206, 301, 302, 304, 400, 401, 403,
                                       404, 405, 406, 408, 412, 413, 414, 416, 422,
                                       429, 431, 500, 501, 502, 503, 504, 505};
#define NCODES (sizeof(codes) / sizeof(codes[0]))
static const char *const kinds[] = {"original", "derived", "error"};
static const char *const purge_results[] = {"completed", "failed"};
static const char *const errnos[] = {"EIO",    "ETIMEDOUT", "ENOTCONN", "EACCES", "EPERM",
                                     "ELOOP",  "EXDEV",     "EMFILE",   "ENFILE", "ENOMEM",
                                     "ESTALE", "EBUSY",     "other"};
static const int errno_values[] = {EIO,   ETIMEDOUT, ENOTCONN, EACCES, EPERM,  ELOOP,
                                   EXDEV, EMFILE,    ENFILE,   ENOMEM, ESTALE, EBUSY};
#define NERRNOS (sizeof(errnos) / sizeof(errnos[0]))
static const char *const layer_sources[] = {"decoded", "cache"}; /* indexed by cached */
static const char *const versions[] = {BLOBKIT_VERSION};
static const double request_s[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                   0.25,  0.5,    1,     2.5,  5,     10,   30};
static const double transform_s[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
#define N(a) (sizeof(a) / sizeof(a[0]))

struct hmetrics {
    struct metrics *m;
    struct procstat *proc;
    struct scrape *scrape;
    hmetrics_gauges_fn gauges;
    void *gauges_arg;
    char *endpoint_text[CONF_MAX_ENDPOINTS + 1];
    const char *endpoint_value[CONF_MAX_ENDPOINTS + 1]; /* the endpoints, then "-" */
    size_t nendpoints;
    const char *format_value[TR_FMT_ORIG + 1];
    struct metrics_family *requests, *duration, *transform, *origin_errors, *purges, *layers;
    struct metrics_family *inflight, *tqueue, *trunning, *oqueue, *orunning;
    struct metrics_family *hits, *misses, *coalesced, *evictions, *bytes, *entries, *build;
    struct metrics_family *vqueue, *vrunning, *vwaiting, *vdone, *vfailed, *vjoined;
    struct metrics_family *vhits, *vmisses, *vevictions, *vbytes, *ventries;
};

/* The index of status in codes: its own, or "other". */
static size_t code_index(unsigned status)
{
    size_t i = 0;

    while (i < NCODES - 1 && code_values[i] != status)
        i++;
    return i;
}

void hmetrics_request(struct hmetrics *hm, size_t endpoint, unsigned status,
                      enum hmetrics_kind kind, double seconds)
{
    if (!hm)
        return;
    metrics_inc(hm->requests, endpoint < hm->nendpoints ? endpoint : hm->nendpoints,
                code_index(status), 1);
    metrics_observe(hm->duration, kind, seconds);
}

void hmetrics_transform(struct hmetrics *hm, enum tr_format f, double seconds)
{
    if (hm)
        metrics_observe(hm->transform, (size_t)f, seconds);
}

void hmetrics_layer(struct hmetrics *hm, bool cached)
{
    if (hm)
        metrics_inc(hm->layers, cached, 0, 1);
}

void hmetrics_origin_error(struct hmetrics *hm, int err)
{
    size_t i = 0;

    if (!hm || err == -ENOENT)
        return;
    while (i < N(errno_values) && errno_values[i] != -err)
        i++;
    metrics_inc(hm->origin_errors, i, 0, 1);
}

void hmetrics_purge(struct hmetrics *hm, bool completed)
{
    if (hm)
        metrics_inc(hm->purges, completed ? 0 : 1, 0, 1);
}

static void collect_video(struct hmetrics *hm, const struct hmetrics_video *v)
{
    metrics_gauge_set(hm->vqueue, 0, 0, (double)v->jobs_queued);
    metrics_gauge_set(hm->vrunning, 0, 0, (double)v->jobs_running);
    metrics_gauge_set(hm->vwaiting, 0, 0, (double)v->waiting);
    metrics_counter_set(hm->vdone, 0, 0, v->jobs_done);
    metrics_counter_set(hm->vfailed, 0, 0, v->jobs_failed);
    metrics_counter_set(hm->vjoined, 0, 0, v->jobs_joined);
    metrics_counter_set(hm->vhits, 0, 0, v->cache_hits);
    metrics_counter_set(hm->vmisses, 0, 0, v->cache_misses);
    metrics_counter_set(hm->vevictions, 0, 0, v->cache_evictions);
    metrics_gauge_set(hm->vbytes, 0, 0, (double)v->cache_bytes);
    metrics_gauge_set(hm->ventries, 0, 0, (double)v->cache_entries);
}

static void collect(void *arg)
{
    struct hmetrics *hm = arg;
    struct hmetrics_gauges g;

    memset(&g, 0, sizeof(g));
    hm->gauges(hm->gauges_arg, &g);
    metrics_gauge_set(hm->inflight, 0, 0, (double)g.inflight);
    metrics_gauge_set(hm->tqueue, 0, 0, (double)g.transforms_queued);
    metrics_gauge_set(hm->trunning, 0, 0, (double)g.transforms_running);
    metrics_gauge_set(hm->oqueue, 0, 0, (double)g.origin_queued);
    metrics_gauge_set(hm->orunning, 0, 0, (double)g.origin_running);
    metrics_counter_set(hm->hits, 0, 0, g.cache.hits);
    metrics_counter_set(hm->misses, 0, 0, g.cache.misses);
    metrics_counter_set(hm->coalesced, 0, 0, g.cache.coalesced);
    metrics_counter_set(hm->evictions, 0, 0, g.cache.evictions);
    metrics_gauge_set(hm->bytes, 0, 0, (double)g.cache.bytes);
    metrics_gauge_set(hm->entries, 0, 0, (double)g.cache.entries);
    metrics_gauge_set(hm->build, 0, 0, 1);
    collect_video(hm, &g.video);
}

/* The endpoint label's values: "[host]/prefix" of each endpoint, then "-" (no endpoint). */
static int endpoint_values(struct hmetrics *hm, const struct conf *conf)
{
    for (size_t i = 0; i < conf->nendpoints; i++) {
        const struct conf_endpoint *e = &conf->endpoint[i];
        size_t len = (e->host ? strlen(e->host) : 0) + strlen(e->prefix) + 1;
        hm->endpoint_text[i] = malloc(len);
        if (!hm->endpoint_text[i])
            return -ENOMEM;
        snprintf(hm->endpoint_text[i], len, "%s%s", e->host ? e->host : "", e->prefix);
        hm->endpoint_value[i] = hm->endpoint_text[i];
    }
    hm->nendpoints = conf->nendpoints;
    hm->endpoint_value[hm->nendpoints] = "-";
    for (int f = 0; f <= TR_FMT_ORIG; f++)
        hm->format_value[f] = tr_format_name((enum tr_format)f);
    return 0;
}

static bool add_events(struct hmetrics *hm)
{
    struct metrics_label endpoint = {"endpoint", hm->endpoint_value, hm->nendpoints + 1};
    struct metrics_label code = {"code", codes, NCODES}, kind = {"kind", kinds, N(kinds)};
    struct metrics_label format = {"format", hm->format_value, TR_FMT_ORIG + 1};
    struct metrics_label err = {"errno", errnos, NERRNOS};
    struct metrics_label from = {"source", layer_sources, N(layer_sources)};

    hm->requests = metrics_add_counter(hm->m, "blobkit_http_requests_total",
                                       "Requests answered, by endpoint (-: none) and status.", 1,
                                       &endpoint, &code);
    hm->duration = metrics_add_histogram(
        hm->m, "blobkit_http_request_duration_seconds",
        "Time from the request line to the response sent, by what was answered.", request_s,
        N(request_s), &kind);
    hm->transform = metrics_add_histogram(hm->m, "blobkit_transform_duration_seconds",
                                          "Time of each transform (failed ones too), by output "
                                          "format.",
                                          transform_s, N(transform_s), &format);
    hm->origin_errors = metrics_add_counter(hm->m, "blobkit_origin_errors_total",
                                            "Origin files that could not be opened or read "
                                            "(missing ones are not errors), by errno.",
                                            1, &err, NULL);
    struct metrics_label result = {"result", purge_results, N(purge_results)};
    hm->purges = metrics_add_counter(hm->m, "blobkit_purges_total",
                                     "Purge requests this node worked through (its own and "
                                     "forwarded ones), by result.",
                                     1, &result, NULL);
    hm->layers = metrics_add_counter(hm->m, "blobkit_layer_images_total",
                                     "Layer images transforms used, by where the decoded image "
                                     "came from (the cache, or its file decoded).",
                                     1, &from, NULL);
    return hm->requests && hm->duration && hm->transform && hm->origin_errors && hm->purges &&
           hm->layers;
}

static struct metrics_family *gauge(struct hmetrics *hm, const char *name, const char *help)
{
    return metrics_add_gauge(hm->m, name, help, NULL, NULL);
}

static struct metrics_family *counter(struct hmetrics *hm, const char *name, const char *help)
{
    return metrics_add_counter(hm->m, name, help, 1, NULL, NULL);
}

static bool add_state(struct hmetrics *hm)
{
    static const struct metrics_label version = {"version", versions, 1};

    hm->inflight = gauge(hm, "blobkit_http_requests_in_flight", "Requests begun, not ended.");
    hm->tqueue = gauge(hm, "blobkit_transform_queue_length", "Transforms waiting for a worker.");
    hm->trunning = gauge(hm, "blobkit_transforms_in_progress", "Transforms running.");
    hm->oqueue = gauge(hm, "blobkit_origin_queue_length", "Origin calls waiting for a thread.");
    hm->orunning = gauge(hm, "blobkit_origin_jobs_in_progress", "Origin calls running.");
    hm->hits = counter(hm, "blobkit_cache_hits_total", "Derived-image cache hits.");
    hm->misses = counter(hm, "blobkit_cache_misses_total", "Derived-image cache misses.");
    hm->coalesced = counter(hm, "blobkit_cache_coalesced_total",
                            "Misses that joined a transform already running (single flight).");
    hm->evictions = counter(hm, "blobkit_cache_evictions_total",
                            "Entries evicted to stay within the cache's budget.");
    hm->bytes = gauge(hm, "blobkit_cache_bytes", "Bytes the derived-image cache holds.");
    hm->entries = gauge(hm, "blobkit_cache_entries", "Entries the derived-image cache holds.");
    hm->build = metrics_add_gauge(hm->m, "blobkit_build_info", "The version running (always 1).",
                                  &version, NULL);
    return hm->inflight && hm->tqueue && hm->trunning && hm->oqueue && hm->orunning && hm->hits &&
           hm->misses && hm->coalesced && hm->evictions && hm->bytes && hm->entries && hm->build;
}

static bool add_video(struct hmetrics *hm)
{
    hm->vqueue = gauge(hm, "blobkit_video_jobs_queued", "Video jobs waiting for a worker.");
    hm->vrunning = gauge(hm, "blobkit_video_jobs_running", "Video jobs running.");
    hm->vwaiting = gauge(hm, "blobkit_video_requests_waiting",
                         "Requests waiting for their video job (up to --video-wait).");
    hm->vdone = counter(hm, "blobkit_video_jobs_done_total", "Video jobs that made their result.");
    hm->vfailed = counter(hm, "blobkit_video_jobs_failed_total",
                          "Video jobs that ended with an error (bad input, a limit, stopped).");
    hm->vjoined = counter(hm, "blobkit_video_jobs_joined_total",
                          "Requests that joined a video job already queued or running (single "
                          "flight).");
    hm->vhits = counter(hm, "blobkit_video_cache_hits_total",
                        "Video requests answered from the disk cache.");
    hm->vmisses = counter(hm, "blobkit_video_cache_misses_total",
                          "Video requests not in the disk cache (they joined or started a job).");
    hm->vevictions = counter(hm, "blobkit_video_cache_evictions_total",
                             "Results removed from the video disk cache to stay within its size.");
    hm->vbytes = gauge(hm, "blobkit_video_cache_bytes", "Bytes the video disk cache holds.");
    hm->ventries = gauge(hm, "blobkit_video_cache_entries", "Results the video disk cache holds.");
    return hm->vqueue && hm->vrunning && hm->vwaiting && hm->vdone && hm->vfailed && hm->vjoined &&
           hm->vhits && hm->vmisses && hm->vevictions && hm->vbytes && hm->ventries;
}

/* --metrics-listen: bound now, so that a busy address fails the start. */
static int listen_apart(struct hmetrics *hm, const char *spec, char err[HMETRICS_ERR_LEN])
{
    struct sockaddr_storage ss;
    char why[ADDR_ERR_LEN], where[ADDR_TEXT_LEN] = "?";

    if (addr_parse_listen(spec, &ss, why) != 0) {
        snprintf(err, HMETRICS_ERR_LEN, "metrics-listen: %s", why);
        return -EINVAL;
    }
    int fd = addr_listen(&ss);
    if (fd < 0) {
        snprintf(err, HMETRICS_ERR_LEN, "metrics-listen: cannot listen on %.100s: %s", spec,
                 strerror(-fd));
        return fd;
    }
    addr_local(fd, where);
    hm->scrape = scrape_start(fd, hm->m);
    if (!hm->scrape) {
        snprintf(err, HMETRICS_ERR_LEN, "metrics-listen: cannot start the listener");
        return -ENOMEM;
    }
    log_info("serving metrics on http://%s/metrics", where);
    return 0;
}

struct hmetrics *hmetrics_new(const struct conf *conf, hmetrics_gauges_fn gauges, void *arg,
                              char err[HMETRICS_ERR_LEN])
{
    struct hmetrics *hm = calloc(1, sizeof(*hm));

    snprintf(err, HMETRICS_ERR_LEN, "out of memory");
    if (!hm)
        return NULL;
    hm->gauges = gauges;
    hm->gauges_arg = arg;
    hm->m = metrics_new();
    if (!hm->m || endpoint_values(hm, conf) || !add_events(hm) || !add_state(hm) ||
        !add_video(hm) || !(hm->proc = procstat_new(hm->m)) ||
        metrics_on_collect(hm->m, collect, hm) != 0)
        goto out_free;
    if (conf->metrics_listen && listen_apart(hm, conf->metrics_listen, err) != 0)
        goto out_free;
    return hm;

out_free:
    hmetrics_free(hm);
    return NULL;
}

void hmetrics_free(struct hmetrics *hm)
{
    if (!hm)
        return;
    scrape_stop(hm->scrape);
    procstat_free(hm->proc);
    metrics_free(hm->m);
    for (size_t i = 0; i < CONF_MAX_ENDPOINTS; i++)
        free(hm->endpoint_text[i]);
    free(hm);
}

struct metrics *hmetrics_registry(struct hmetrics *hm)
{
    return hm->m;
}

bool hmetrics_has_listener(const struct hmetrics *hm)
{
    return hm->scrape != NULL;
}
