/* httpd/srv_i.h: the server and connection state that srv.c (daemon, connections, routing),
 * deliver.c (files, transforms) and reply.c (responses) share, and deliver.c's entry points.
 * Internal to blobhttpd, like libfuse's fuse_i.h. Calls go one way: srv -> deliver -> reply. */
#ifndef HTTPD_SRV_I_H
#define HTTPD_SRV_I_H

#include "conf.h"
#include "fonts.h"
#include "http.h"
#include "imgcache.h"
#include "origin.h"
#include "pool.h"
#include "reply.h"
#include "route.h"
#include "srv.h"
#include "tr.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <time.h>

#define SRV_MAX_KEY 1024
#define SRV_KEY_LEN (TR_CANONICAL_MAX + 1024) /* cache key: identities, format, canonical chain */
#define SRV_ALIAS_LEN (SRV_KEY_LEN + ROUTE_MAX_PATH + 1024) /* a URL's memo key (deliver.c) */

struct console;
struct purge;
struct accesslog;
struct guard;
struct vidserve;
struct vidreq;
struct hmetrics;
struct ready;

struct endpoint {
    struct origin *origin[CONF_MAX_ORIGINS];
    size_t norigins;
    bool require_sig;       /* a key is set and the endpoint is not public */
    bool trusted_documents; /* its HTML, SVG, XML originals go out without the sandbox CSP */
    atomic_uint jobs;       /* origin jobs queued or running for this endpoint (deliver.c) */
};

/* The signing key, replaced on SIGHUP (srv_reload_key()). */
struct srv_key {
    pthread_rwlock_t lock; /* guards bytes and len: readers verify, the reload writes */
    unsigned char bytes[SRV_MAX_KEY];
    size_t len;
};

struct srv {
    const struct conf *conf;
    struct MHD_Daemon *mhd;
    struct route_endpoint route[CONF_MAX_ENDPOINTS];
    struct endpoint ep[CONF_MAX_ENDPOINTS];
    size_t nep;
    unsigned ep_job_cap; /* most origin jobs one endpoint may hold when there are several */
    struct tr_named named[CONF_MAX_NAMED];
    struct tr_names names;
    struct srv_key key;
    struct imgcache *cache;
    struct pool *pool;       /* transforms */
    struct pool *io_pool;    /* file-system calls on origins */
    struct guard *guard;     /* header deadlines, clients that leave a transform */
    struct console *console; /* NULL: --console off */
    struct purge *purge;     /* the purge API (purge.h) */
    struct vidserve *video;  /* video jobs and their disk cache (vidserve.h) */
    struct fonts *fonts;     /* text layers' font files, copied for fontconfig */
    struct tr_limits limits;
    const char *cache_control, *error_cache_control;
    int listen_fd;          /* after srv_drain(): ours to close once the daemon stopped; else -1 */
    struct accesslog *alog; /* NULL: no access log */
    struct hmetrics *metrics;
    struct ready *ready; /* checks every origin of all_origin */
    struct origin *all_origin[CONF_MAX_ENDPOINTS * CONF_MAX_ORIGINS];
    size_t nall_origin;
    uint64_t id_seed; /* request ids: id_seed + n * an odd constant, unique per process */
    atomic_ullong id_next;
    atomic_long inflight;     /* requests begun and not completed */
    atomic_ulong served;      /* requests completed */
    atomic_size_t copy_bytes; /* small originals held in memory until sent (deliver.c) */
    atomic_bool abandoned;    /* srv_drain() gave up on requests stuck in flight */
    atomic_bool draining;     /* srv_drain() began: /readyz says so */
};

/* One per connection (libmicrohttpd's socket context), reused by each request on it. Only the
 * connection's I/O thread touches it, except an origin or transform job while the connection
 * is suspended, and the guard (guard.h) for the fields it says. */
struct conn {
    struct srv *srv;
    struct MHD_Connection *mhd;
    int sock; /* the client socket, for the guard */
    /* the request */
    char target[ROUTE_MAX_TARGET + 1]; /* raw, cut at the cap */
    size_t target_len;                 /* as sent: > ROUTE_MAX_TARGET means too long */
    char method[16], version[12], referer[256], agent[256];
    struct timespec start;
    uint64_t start_ns;                        /* monotonic, for the duration */
    char request_id[HTTP_REQUEST_ID_MAX + 1]; /* X-Request-Id, the client's or ours; "" before */
    bool routed;                              /* endpoint is the request's */
    bool derived;                             /* the answer is a derived image (for the metrics) */
    uint64_t body_bytes;
    char body[4096]; /* a purge request's body (purge.h: PURGE_MAX_BODY) */
    size_t body_len;
    bool body_over;    /* it was longer */
    bool headers_seen; /* the access handler was called once already */
    bool attachment, used_default;
    size_t endpoint;           /* the routed endpoint */
    char name[ROUTE_MAX_PATH]; /* the file served, for Content-Disposition */
    /* while suspended: an origin job, then perhaps a transform */
    bool suspended;
    atomic_bool woken; /* the job or fill it waited for is done: it will be resumed */
    bool in_job;       /* on an origin thread: reply_queue() keeps the response in pending */
    struct MHD_Response *pending;
    unsigned pending_status;
    uint64_t pending_body;
    struct tr_chain chain;
    struct reply reply;
    char key[SRV_KEY_LEN];
    size_t key_len;
    char alias[SRV_ALIAS_LEN]; /* the URL's memo key (deliver.c) */
    size_t alias_len;
    struct imgcache_entry *entry; /* held while suspended */
    int err;                      /* when entry and pending are NULL after a resume */
    const char *err_msg;          /* (transfer none): static, or NULL */
    int fd;                       /* the source, read by the job; -1 otherwise */
    off_t size;
    unsigned nlayer_open;                /* layer_fd[0..nlayer_open) are set (-1: none) */
    int layer_fd[TR_MAX_LAYERS];         /* chain.layer[i]'s image, read by the job */
    struct stat layer_st[TR_MAX_LAYERS]; /* its identity: in the cache key */
    enum tr_format format;
    double hint_dpr;
    int hint_width;
    struct vidreq *vid; /* a request the video engine may serve (vidserve.c); NULL otherwise */
    /* the guard's (guard.c), under its lock */
    struct conn *gprev, *gnext;
    uint64_t head_deadline_ns; /* 0: not reading a request head */
    bool watched;              /* suspended on a transform: a hang-up leaves the entry */
    bool hung_up;
};

/* deliver.c */

/* Serve the routed request: suspend the connection and find the file in the endpoint's
 * origins on the origin pool, then send it as is, or transform it (from the cache, or on the
 * transform pool). A cache hit whose source was checked recently is answered at once. */
enum MHD_Result deliver_file(struct conn *c, const struct route *rt);

/* Finish a request whose connection was suspended. */
enum MHD_Result deliver_resumed(struct conn *c);

/* Release what a request still holds (an open source, a cache entry) when it ends early. */
void deliver_cleanup(struct conn *c);

/* A client waiting on a transform hung up (from the guard, conn suspended): leave the entry. */
void deliver_client_left(struct conn *c);

/* Evict what the derived-image cache holds for endpoint ep's file path (with prefix: every
 * path that begins so): each URL's memo and the images and originals it points to. Images no
 * memo points to are keyed by their source's identity, which a changed blob no longer has: no
 * request finds them again and they age out. Returns how many entries went. */
size_t deliver_forget(struct srv *s, size_t ep, const char *path, bool prefix);

#endif
