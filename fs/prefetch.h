/* fs/prefetch.h: read-ahead for blobs being read sequentially.
 *
 * Each open file has its own stream. The first read fetches 1 MiB + 128 KiB (the kernel
 * asks for 128 KiB beyond a 1 MiB read) or the whole blob when it is small; while reads
 * stay sequential, chunks double to 2, 4 and 8 MiB and several are fetched ahead on the
 * pool's worker threads. Chunk data is written by libcurl straight into the chunk and handed
 * to the kernel from there. A random read is one ranged GET of exactly what was asked. All
 * chunks together stay within the pool's memory budget; past it, reads go direct.
 *
 * Every GET carries If-Match with the ETag seen at open: once the blob has changed, every
 * read of the file fails with -ESTALE and never returns bytes of two versions. */
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

/* Start workers threads fetching chunks with blob (transfer none: it must outlive the pool),
 * with at most budget bytes of chunks at once (0: no read-ahead). Returns (transfer full) a
 * pool to free with prefetch_pool_free(), or NULL. */
struct prefetch_pool *prefetch_pool_new(struct blob_client *blob, size_t budget, unsigned workers);

/* Stop the workers, free every file still open. NULL is a no-op. */
void prefetch_pool_free(struct prefetch_pool *p);

/* Open version etag (size bytes) of blob name for reading; the strings are copied. Returns
 * (transfer full) a file to close with prefetch_close(), or NULL when out of memory. */
struct prefetch_file *prefetch_open(struct prefetch_pool *p, const char *name, const char *etag,
                                    off_t size);

/* Close a file whose spans are all released. Chunks still being fetched finish in the
 * background. NULL is a no-op. */
void prefetch_close(struct prefetch_file *f);

/* Read len bytes at off into *out (exactly len unless the blob ends first). Returns the
 * number of bytes, 0 at the end, or -errno (-ESTALE: the blob changed; -EIO, -EACCES).
 * Release *out with prefetch_span_release() in every case. */
ssize_t prefetch_read(struct prefetch_file *f, off_t off, size_t len, struct prefetch_span *out);

void prefetch_span_release(struct prefetch_span *s);

#endif
