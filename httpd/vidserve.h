/* httpd/vidserve.h: video in blobhttpd (docs/video.md): which requests are the video engine's,
 * their jobs (httpd/vidjob.h) and the disk cache of results (httpd/vidcache.h), and the
 * answers: a result from disk (Range, HEAD, ETag, 304, sendfile), a master manifest rewritten
 * for its package's URLs, or, while the job runs past --video-wait, a 302 to the original
 * (a video) or a 202 with Retry-After (a thumbnail, a manifest, a package's file).
 *
 * Called by deliver.c at three points of a request: when it is routed (I/O thread), when its
 * source is open (origin thread), and when a job it waited for woke it (I/O thread). */
#ifndef HTTPD_VIDSERVE_H
#define HTTPD_VIDSERVE_H

#include "srv_i.h"
#include "vidcache.h"
#include "vidjob.h"

#include <microhttpd.h>
#include <stdbool.h>
#include <sys/stat.h>

#define VIDSERVE_ERR_LEN 320

/* The jobs' pool and the disk cache, from conf's --video-* options. Returns: (transfer full)
 * free with vidserve_free(), or NULL with err set. */
struct vidserve *vidserve_new(const struct conf *conf, char err[VIDSERVE_ERR_LEN]);

/* Shutting down: every request waiting for a job is answered as not ready, every job is told
 * to stop (it removes its partial files). NULL is a no-op. */
void vidserve_stop(struct vidserve *v);

/* vidserve_stop(), then wait for the jobs. Requests and vidserve_stats() may still call in
 * (a request that waited is answered from the cache or as not ready). NULL is a no-op. */
void vidserve_drain(struct vidserve *v);

/* vidserve_drain(), close the cache, free. NULL is a no-op. */
void vidserve_free(struct vidserve *v);

/* What the metrics read (hmetrics.h): the jobs, the disk cache, and the requests that found
 * their result in it (hits) or not (misses: they joined or started a job). */
struct vidserve_stats {
    struct vidjobs_stats jobs;
    struct vidcache_stats cache;
    uint64_t hits, misses;
};
void vidserve_stats(struct vidserve *v, struct vidserve_stats *out);

/* The video gauges for /healthz, as JSON members after a comma (",\"video_jobs_running\":0..."),
 * into out (capacity cap). */
void vidserve_health(struct vidserve *v, char *out, size_t cap);

/* I/O thread, once c->chain is parsed and c->name is the routed path: read a video suffix
 * (FILE/ik-thumbnail.jpg ...), after which c->name is FILE; a package file's chain is its URL
 * segment's, parsed into c->chain. Returns 0, or -EINVAL / -ENOMEM with err set. */
int vidserve_route(struct conn *c, const struct route *rt, char err[TR_ERR_LEN]);

/* Whether the URL had a video suffix (its answers never come from the image memo). */
bool vidserve_suffixed(const struct conn *c);

/* FILE of FILE/ik-... is no file: make c->name the whole path again, to be served as it is.
 * Returns whether it did. */
bool vidserve_unsuffix(struct conn *c);

/* Origin thread, the source open on fd (attributes st, sniffed as an image in sn): serve the
 * request if it is the video engine's. Returns -1 when it is not (fd untouched; *type may be
 * set to the Content-Type of a video original), 0 when it answered (fd closed), 1 when a job
 * will wake the connection (fd handed over). */
int vidserve_serve(struct conn *c, int fd, const struct stat *st, const struct tr_sniff *sn,
                   const char **type);

/* I/O thread, after a resume: answer a request that waited for a job. Returns whether it
 * did, with *out the result. */
bool vidserve_resumed(struct conn *c, enum MHD_Result *out);

/* The request ends: free its video state. */
void vidserve_cleanup(struct conn *c);

#endif
