/* httpd/srv_i.h: the server and connection state that srv.c (daemon, connections, routing),
 * deliver.c (files, transforms) and reply.c (responses) share, and deliver.c's entry points.
 * Internal to blobhttpd, like libfuse's fuse_i.h. Calls go one way: srv -> deliver -> reply. */
#ifndef HTTPD_SRV_I_H
#define HTTPD_SRV_I_H

#include "conf.h"
#include "imgcache.h"
#include "origin.h"
#include "pool.h"
#include "reply.h"
#include "route.h"
#include "srv.h"
#include "tr.h"

#include <microhttpd.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <time.h>

#define SRV_MAX_KEY 1024
#define SRV_KEY_LEN (TR_CANONICAL_MAX + 256) /* cache key: identity, format, canonical chain */

struct endpoint {
    struct origin *origin[CONF_MAX_ORIGINS];
    size_t norigins;
    bool require_sig; /* a key is set and the endpoint is not public */
};

struct srv {
    const struct conf *conf;
    struct MHD_Daemon *mhd;
    struct route_endpoint route[CONF_MAX_ENDPOINTS];
    struct endpoint ep[CONF_MAX_ENDPOINTS];
    size_t nep;
    struct tr_named named[CONF_MAX_NAMED];
    struct tr_names names;
    unsigned char key[SRV_MAX_KEY];
    size_t keylen;
    struct imgcache *cache;
    struct pool *pool;
    struct tr_limits limits;
    const char *cache_control, *error_cache_control;
    int listen_fd; /* after srv_drain(): ours to close once the daemon stopped; else -1 */
    int access_fd; /* -1: no access log */
    bool own_access_fd;
    atomic_long inflight;     /* requests begun and not completed */
    atomic_ulong served;      /* requests completed */
    atomic_size_t copy_bytes; /* small originals held in memory until sent (deliver.c) */
};

/* One per connection (libmicrohttpd's socket context), reused by each request on it. Only the
 * connection's I/O thread touches it, except a transform job while the connection is
 * suspended. */
struct conn {
    struct srv *srv;
    struct MHD_Connection *mhd;
    /* the request */
    char target[ROUTE_MAX_TARGET + 1]; /* raw, cut at the cap */
    size_t target_len;                 /* as sent: > ROUTE_MAX_TARGET means too long */
    char method[8], version[12], referer[256], agent[256];
    struct timespec start;
    uint64_t body_bytes;
    bool headers_seen; /* the access handler was called once already */
    bool attachment, used_default;
    char name[ROUTE_MAX_PATH]; /* the file served, for Content-Disposition */
    /* a transform */
    bool suspended;
    atomic_bool woken; /* the job or fill it waited for is done: it will be resumed */
    struct tr_chain chain;
    struct reply reply;
    char key[SRV_KEY_LEN];
    size_t key_len;
    struct imgcache_entry *entry; /* held while suspended */
    int err;                      /* when entry is NULL after a resume */
    int fd;                       /* the source, read by the job; -1 otherwise */
    off_t size;
    enum tr_format format;
    double hint_dpr;
    int hint_width;
};

/* deliver.c */

/* Serve the routed request: find the file in the endpoint's origins, then send it as is, or
 * transform it (from the cache, or on the pool with the connection suspended). */
enum MHD_Result deliver_file(struct conn *c, const struct route *rt);

/* Finish a request whose connection was suspended for a transform. */
enum MHD_Result deliver_resumed(struct conn *c);

/* Release what a request still holds (an open source, a cache entry) when it ends early. */
void deliver_cleanup(struct conn *c);

#endif
