/* fs/blob.h: the Azure Blob client of blobfs: List Blobs, Get Blob Properties, ranged Get Blob.
 *
 * URLs are "ENDPOINT/CONTAINER/NAME?SAS" with NAME percent-encoded (blob_name.h) and the SAS
 * token appended byte for byte; every request pins x-ms-version. libcurl easy handles are
 * pooled, so a kept-alive connection serves the next request of any thread. Transient
 * failures are retried (blob_retry.h); every transfer has a connect timeout and a stall
 * timeout. This module is the one place where HTTP and curl results become errno values:
 *
 *     404 -> -ENOENT   401/403 -> -EACCES   412 -> -ESTALE   other or exhausted -> -EIO
 *
 * Each failure other than -ENOENT is logged once, as one line naming the cause (an expired
 * SAS token is named as such). All functions are thread-safe. */
#ifndef FS_BLOB_H
#define FS_BLOB_H

#include "blob_retry.h"
#include "blob_xml.h"

#include <stdbool.h>
#include <sys/types.h>

/* How a probe message is sized. */
#define BLOB_ERR_LEN 512

struct blob_client;
struct fsmetrics;

struct blob_opts {
    const char *endpoint;  /* "https://acct.blob.core.windows.net" or a path-style URL */
    const char *container; /* container name */
    long connect_timeout_ms;
    long stall_timeout_s; /* a transfer slower than 1 KiB/s for this long is dropped */
    struct blob_retry_policy retry;
    struct fsmetrics *metrics; /* each attempt and retry is counted here; NULL: not counted */
};

/* What Get Blob Properties tells about one blob. */
struct blob_attr {
    off_t size;
    time_t mtime;
    bool is_folder; /* a folder marker (metadata hdi_isfolder=true) */
    char etag[BLOB_ETAG_MAX];
};

/* Set up libcurl once, in main() before any thread exists, so that every block it frees is
 * wiped first (it keeps copies of request URLs, which end in the token). Returns 0 or
 * -ENOMEM. blob_global_cleanup() undoes it at exit. */
int blob_global_init(void);
void blob_global_cleanup(void);

/* Make a client; sas is a cleaned token (blob_sas_clean) or NULL for anonymous access. The
 * strings are copied; every copy of the token is wiped when freed. blob_global_init() must
 * have run. Returns (transfer full) a client to
 * free with blob_client_free(), or NULL when out of memory. */
struct blob_client *blob_client_new(const struct blob_opts *o, const char *sas);

/* Free the client and its pooled connections. No request may be in flight. NULL is a no-op. */
void blob_client_free(struct blob_client *c);

/* Use another token from now on (SIGHUP). Returns 0 or -ENOMEM (the old one stays). */
int blob_client_set_sas(struct blob_client *c, const char *sas);

/* Called with each page of a listing; page is (transfer none), valid during the call. Return
 * 0 for the next page, > 0 to stop, < 0 to stop with that error. */
typedef int (*blob_page_fn)(void *arg, const struct blob_page *page);

/* List the names under prefix ("" or "dir/") with delimiter '/' and include=metadata, up to
 * max_results per page (0: the service's 5000), following NextMarker until it is empty.
 * Returns 0, the callback's error, or -errno as above. */
int blob_list(struct blob_client *c, const char *prefix, unsigned max_results, blob_page_fn fn,
              void *arg);

/* List one page of at most max_results names under prefix without delimiter, with
 * include=metadata: full names of blobs at any depth below it, in order. Fills *out (release
 * with blob_page_release(); next_marker says whether more follow). Returns 0 or -errno. */
int blob_list_flat(struct blob_client *c, const char *prefix, unsigned max_results,
                   struct blob_page *out);

/* Get Blob Properties of name into *out. Returns 0 or -errno as above. */
int blob_head(struct blob_client *c, const char *name, struct blob_attr *out);

/* Read up to len bytes at off of the version etag of name into dst, with If-Match, resuming
 * after a dropped connection. Never call it for a 0-byte blob. Returns the bytes read (fewer
 * than len only at the end of the blob), or -errno as above (-ESTALE: the blob changed). */
ssize_t blob_read(struct blob_client *c, const char *name, const char *etag, char *dst, size_t len,
                  off_t off);

/* Takes the bytes of blob_stream() in order as they arrive (len > 0), and is polled with
 * (NULL, 0) about twice a second while none arrive and between retries. Returns 0 to go on,
 * or a negative value to end the transfer, which blob_stream() then returns. It may block:
 * time spent in it never counts as a stall of the origin. */
typedef int (*blob_sink_fn)(void *arg, const char *data, size_t len);

/* Read [off, off + len) of the version etag of name with one ranged GET (If-Match), handing
 * the bytes to fn as they arrive. A dropped or stalled connection is resumed where it stopped
 * and retried as by blob_read(), the retry budget starting over whenever bytes arrived; a
 * stall is less than 1 KiB/s for stall_timeout_s outside the sink. Returns 0 once all len
 * bytes went to fn, the sink's value when it ended the transfer, or -errno as above. */
int blob_stream(struct blob_client *c, const char *name, const char *etag, off_t off, size_t len,
                blob_sink_fn fn, void *arg);

/* Names the mount-time check lists at most: it never downloads a folder. */
#define BLOB_PROBE_PAGE 8

/* The mount-time check of endpoint, container and token. Lists a small first page under
 * prefix (BLOB_PROBE_PAGE names, flat as blob_list_flat()): on success *can_list is true and
 * *first holds that page (release with blob_page_release()). When listing is refused for lack of
 * permission (a SAS token without 'l', or anonymous access to a container public at blob level) but
 * reading works, *can_list is false. Any other outcome returns -errno with one message in err. */
int blob_probe(struct blob_client *c, const char *prefix, bool *can_list, struct blob_page *first,
               char err[BLOB_ERR_LEN]);

#endif
