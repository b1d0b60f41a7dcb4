/* fs/fsmetrics.h: blobfs's metrics, named blobkit_blobfs_* (docs/operating.md lists them):
 * requests to the origin by operation and HTTP status, their durations and bytes, retries,
 * read-ahead memory and metadata entries, and the process's own.
 *
 * blob.c reports each attempt of a request as it ends; the gauges are read from the cache and
 * the read-ahead pool at each scrape. Every function takes NULL for "metrics off". */
#ifndef FS_FSMETRICS_H
#define FS_FSMETRICS_H

#include <stdint.h>

struct cache;
struct fsmetrics;
struct metrics;
struct prefetch_pool;

/* The origin's operations: List Blobs, Get Blob Properties, Get Blob (ranged). */
enum fsmetrics_op { FSMETRICS_LIST, FSMETRICS_PROPS, FSMETRICS_GET };

/* Add blobfs's families to m (and the process ones). Returns (transfer full) the metrics to
 * free with fsmetrics_free() once m renders no more, or NULL. */
struct fsmetrics *fsmetrics_new(struct metrics *m);
void fsmetrics_free(struct fsmetrics *fm);

/* One attempt of a request to the origin ended: its HTTP status (0: no answer: a connection
 * or transfer failure), how long it took and the body bytes it brought. */
void fsmetrics_origin(struct fsmetrics *fm, enum fsmetrics_op op, long status, double seconds,
                      uint64_t bytes);

/* A failed attempt of op is tried again. */
void fsmetrics_retry(struct fsmetrics *fm, enum fsmetrics_op op);

/* Read the gauges from c and p at each scrape from now on (NULL, NULL: no more). Call it only
 * while no scrape can run (before the listener starts, after it stopped). */
void fsmetrics_watch(struct fsmetrics *fm, struct cache *c, struct prefetch_pool *p);

#endif
