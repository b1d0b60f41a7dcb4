/* fs/prefetch.h: read-ahead for blobs being read sequentially.
 *
 * Each open file has its own read-ahead. A first read at the start fetches 1 MiB + 128 KiB
 * (the kernel asks for 128 KiB beyond a 1 MiB read) or the whole blob when it is small. From
 * the next read in order on, the rest is fetched in segments, several ranged GETs at once,
 * each on its own connection, their bytes landing in chunks as they arrive and handed to the
 * kernel in order, a read waiting only for the bytes it needs. The window they fill grows
 * with what the run has read (4 times it, 16 times while reads wait for bytes, from 8 MiB up
 * to the file's share of the memory budget), so a short or slow read costs little and a fast
 * long one keeps every connection it may use busy; a segment is the window spread over the
 * parallel GETs (1 to 16 MiB), or a fixed size, and the last ones split the rest evenly. On a
 * link where one connection alone is fast (measured by those first GETs), two GETs of up to
 * 64 MiB at a time do instead. A segment reserves its memory in the budget when it is
 * queued, so memory stays bounded whatever the origin's speed and no GET waits for it.
 * Reads count as in order only when they start where a recent one ended (or near the
 * furthest of a run in order): random reads are GETs of exactly what was asked, and a read
 * far from the run stops its read-ahead; two reads in order there start a new run. At most
 * parallel segments are in flight, all files together, shared among the files being read
 * (the one with the fewest goes next); a run's first GET never waits behind them.
 *
 * Every GET carries If-Match with the ETag seen at open: once a GET finds the blob changed,
 * every read of the file fails with -ESTALE and never returns bytes of two versions (a GET
 * that is already running still delivers the version it began with, whole). */
#ifndef FS_PREFETCH_H
#define FS_PREFETCH_H

#include "blob.h"

#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

struct prefetch_pool;
struct prefetch_file;

/* Where a pool's bytes come from: blob_read() and blob_stream() of a Blob client, or a
 * stand-in in the unit tests. Both behave as those two do, with arg first. */
struct prefetch_source {
    ssize_t (*read)(void *arg, const char *name, const char *etag, char *dst, size_t len,
                    off_t off);
    int (*stream)(void *arg, const char *name, const char *etag, off_t off, size_t len,
                  blob_sink_fn fn, void *fn_arg);
    void *arg;
};

#define PREFETCH_MAX_IOV 4

/* The bytes of one read, as pieces of chunks (or of a buffer of its own). Filled by
 * prefetch_read(); the pieces stay valid until prefetch_span_release(). */
struct prefetch_span {
    struct iovec iov[PREFETCH_MAX_IOV];
    size_t niov;
    struct prefetch_file *file; /* private below */
    void *pin[PREFETCH_MAX_IOV];
    size_t npin;
    char *own;
};

struct prefetch_opts {
    size_t budget;     /* bytes of chunks at once, all files together; 0: no read-ahead */
    unsigned parallel; /* segments (ranged GETs) in flight at once, all files together */
    size_t segment;    /* bytes of a segment; 0: as the window grows */
    double fast_rate;  /* bytes/s of one connection past which a few long GETs do; 0: 90 MB/s */
};

/* Start a pool reading from src (copied; what it points to must outlive the pool). Returns
 * (transfer full) a pool to free with prefetch_pool_free(), or NULL. */
struct prefetch_pool *prefetch_pool_new(const struct prefetch_source *src,
                                        const struct prefetch_opts *o);

/* What a pool holds now: bytes of chunks (within the budget) and segments on a worker. */
struct prefetch_stats {
    size_t used;
    unsigned running;
};

void prefetch_pool_stats(struct prefetch_pool *p, struct prefetch_stats *out);

/* Bytes of read-ahead buffers held now, spare ones included (for metrics). */
size_t prefetch_pool_bytes(struct prefetch_pool *p);

/* End the streams, stop the workers, free every file still open. NULL is a no-op. */
void prefetch_pool_free(struct prefetch_pool *p);

/* Open version etag (size bytes) of blob name for reading; the strings are copied. Returns
 * (transfer full) a file to close with prefetch_close(), or NULL when out of memory. */
struct prefetch_file *prefetch_open(struct prefetch_pool *p, const char *name, const char *etag,
                                    off_t size);

/* Close a file whose spans are all released; its streams end in the background. NULL is a
 * no-op. */
void prefetch_close(struct prefetch_file *f);

/* Read len bytes at off into *out (exactly len unless the blob ends first). Returns the
 * number of bytes, 0 at the end, or -errno (-ESTALE: the blob changed; -EIO, -EACCES).
 * Release *out with prefetch_span_release() in every case. */
ssize_t prefetch_read(struct prefetch_file *f, off_t off, size_t len, struct prefetch_span *out);

void prefetch_span_release(struct prefetch_span *s);

#endif
