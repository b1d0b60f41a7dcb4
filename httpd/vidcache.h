/* httpd/vidcache.h: the disk cache of derived videos, thumbnails and HLS/DASH packages, beside
 * the in-memory imgcache (docs/video.md, "The disk cache").
 *
 *     DIR/lock          flock()ed by the server that uses DIR: one server per folder
 *     DIR/tmp/          results being written (a file, or a folder for a package); a server
 *                       empties it when it starts, so a crashed one leaves nothing behind
 *     DIR/res/HEX.EXT   results, HEX the SHA-256 of the key (vidcache_name()); a package is a
 *                       folder (HEX.hls, HEX.dash) of the files its manifests name
 *
 * A result is written under tmp/ and renamed into res/ whole: readers see all of it or
 * nothing. Its last use is its mtime, set when it is served (at most once a minute), so the
 * order survives restarts; when a commit takes the total past the budget, the least recently
 * used results go until it is under nine tenths of it. A result being sent when it is
 * evicted is still sent whole (its descriptor stays valid). Thread-safe. */
#ifndef HTTPD_VIDCACHE_H
#define HTTPD_VIDCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#define VIDCACHE_ERR_LEN 320
#define VIDCACHE_NAME_LEN 80   /* "HEX.ext": 64 hex digits, a dot, an extension */
#define VIDCACHE_PATH_MAX 4200 /* DIR, "/tmp/" and a name */

struct vidcache;

/* Use the folder dir (made if missing, mode 0700) with room for budget bytes: lock it, empty
 * its tmp/, and sum what res/ holds. dir NULL: a new private folder under $TMPDIR (or /tmp),
 * removed by vidcache_free(): results then do not outlive the server. Returns: (transfer
 * full) free with vidcache_free(), or NULL with err saying why ("video cache /x is in use by
 * another blobhttpd"). */
struct vidcache *vidcache_new(const char *dir, uint64_t budget, char err[VIDCACHE_ERR_LEN]);

/* Remove what is left in tmp/ (and, for a private folder, everything), unlock, free. Jobs
 * must have stopped. NULL is a no-op. */
void vidcache_free(struct vidcache *c);

/* The result name of key[0..klen): hex SHA-256 of the key, '.', ext ("mp4", "hls"). */
void vidcache_name(const char *key, size_t klen, const char *ext, char out[VIDCACHE_NAME_LEN]);

/* Open result res read-only (name NULL: res is a file), or the file name inside the package
 * folder res, with its attributes in *st, and mark res used. Returns an fd (the caller closes
 * it), -ENOENT when there is no such result, -ENODATA when the package res has no file name,
 * or -errno. */
int vidcache_open(struct vidcache *c, const char *res, const char *name, struct stat *st);

/* A new temporary place for a result, under tmp/: an empty file (mode 0644), or a folder when
 * folder is set; its absolute path in path. Returns 0 or -errno. */
int vidcache_begin(struct vidcache *c, bool folder, const char *ext, char path[VIDCACHE_PATH_MAX]);

/* Move the temporary tmp into res/ as res, count its size, and evict the least recently used
 * results beyond the budget (never res). Returns 0, or -errno (then tmp is removed). */
int vidcache_commit(struct vidcache *c, const char *tmp, const char *res);

/* Remove the temporary tmp (a failed or stopped job's). */
void vidcache_abort(struct vidcache *c, const char *tmp);

struct vidcache_stats {
    uint64_t bytes, budget; /* held now; allowed */
    uint64_t entries;       /* results held now */
    uint64_t evicted;       /* results removed for room since start */
};
void vidcache_get_stats(struct vidcache *c, struct vidcache_stats *out);

#endif
