/* httpd/purge.h: ImageKit's purge API (docs/blobhttpd.md, "Purge").
 *
 *     POST /v1/files/purge  {"url": "https://HOST/PREFIX/path.jpg"}   ("...*": a prefix)
 *       -> 201 {"requestId": "..."}
 *     GET /v1/files/purge/REQUEST_ID  -> {"status": "Pending" | "Completed" | "Failed"}
 *
 * Both need the private key (--sign-key-file) as the HTTP Basic user name with an empty
 * password; without a key set, every call is 401. A purge is worked through on a thread of
 * its own, in this order, each layer acknowledging before the next: every blobfs control
 * socket (--blobfs-control) forgets the source's metadata; the derived-image cache drops
 * every variant of it (and the video cache, once it has a hook); every --peer does the same
 * (a forwarded purge, which that node does for itself only); then every --purge-front gets a
 * BAN of the source's key. "Completed" means all of them answered so; "Failed" that one did
 * not (logged), after which the purge may be sent again. */
#ifndef HTTPD_PURGE_H
#define HTTPD_PURGE_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>

#define PURGE_PATH "/v1/files/purge"
#define PURGE_MAX_BODY 4096   /* bytes of a request's JSON; larger is 413 */
#define PURGE_MAX_URL 2048    /* bytes of its url */
#define PURGE_REMEMBER 1024   /* request IDs remembered for status; the oldest go first */
#define PURGE_MAX_PENDING 256 /* purges queued at once; beyond that 429 */

struct conn;
struct srv;
struct purge;

/* Whether the raw target target[0..len) is the purge API's (reserved: never an endpoint's
 * file). */
bool purge_owns(const char *target, size_t len);

/* The purge API of s (after its endpoints, key and cache exist; s must outlive it): starts its
 * thread. Returns (transfer full) free with purge_free(), or NULL. */
struct purge *purge_new(struct srv *s);

/* Stop the thread (a purge under way finishes first). NULL is a no-op. */
void purge_free(struct purge *p);

/* Keep data[0..len) of a purge request's body (on the connection, up to PURGE_MAX_BODY). */
void purge_body(struct conn *c, const char *data, size_t len);

/* Answer a request purge_owns() (the body, if any, complete). */
enum MHD_Result purge_handle(struct purge *p, struct conn *c);

#endif
