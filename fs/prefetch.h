/* fs/prefetch.h: read-ahead for blobs being read sequentially.
 *
 * Each open file has its own read-ahead. The first read fetches 1 MiB + 128 KiB (the kernel
 * asks for 128 KiB beyond a 1 MiB read) or the whole blob when it is small; the next
 * sequential read starts one GET for the whole rest of the blob (as mountpoint-s3 does),
 * whose bytes land in chunks as they arrive and are handed to the kernel from there, a read
 * waiting only for the bytes it needs. That stream is metered (flow control): it runs at most
 * 4 to 32 MiB (as much as has been read) past the furthest read, so memory stays bounded
 * whatever the origin's speed; when its reader stays away for 5 s it ends, and a later read
 * starts a new one where it stopped. A read far from the stream (a seek) starts a new one
 * after two reads in a row there; a random read is one ranged GET of exactly what was asked.
 * All chunks together stay within the pool's memory budget, and at most workers - 2 streams
 * (fewer if the budget cannot hold them) run at once; past either, reads go direct.
 *
 * Every GET carries If-Match with the ETag seen at open: once the blob has changed, every
 * read of the file fails with -ESTALE and never returns bytes of two versions (a stream that
 * is already running still delivers the version it began with, whole). */
#ifndef FS_PREFETCH_H
#define FS_PREFETCH_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

struct blob_client;
struct prefetch_pool;
struct prefetch_file;

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

/* Start workers threads running streams with blob (transfer none: it must outlive the pool),
 * with at most budget bytes of chunks at once (0: no read-ahead). Returns (transfer full) a
 * pool to free with prefetch_pool_free(), or NULL. */
struct prefetch_pool *prefetch_pool_new(struct blob_client *blob, size_t budget, unsigned workers);

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
