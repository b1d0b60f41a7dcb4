/* fs/service.h: what a blobfs daemon tells the system beside the mount itself: its metrics on
 * a listener of their own (--metrics-listen, off by default: libmicrohttpd's thread answers,
 * never a FUSE thread), and readiness to systemd (Type=notify: READY=1 once the mount serves,
 * STOPPING=1 when it ends; nothing without $NOTIFY_SOCKET).
 *
 *     s = service_new(cfg.metrics_listen, err);     // before the daemon forks: the socket
 *     bo.metrics = service_metrics(s);              // blob.c counts requests
 *     service_start(s, cache, pool);                // the mount serves: listener, READY=1
 *     ... the FUSE loop ...
 *     service_stop(s);                              // STOPPING=1, listener closed
 *     service_free(s);
 */
#ifndef FS_SERVICE_H
#define FS_SERVICE_H

#define SERVICE_ERR_LEN 200

struct cache;
struct fsmetrics;
struct prefetch_pool;
struct service;

/* listen: "ADDR:PORT" for metrics, or NULL for none. The socket is bound here, before the
 * daemon forks, so that a bad or busy address fails with a message on stderr and no mount.
 * Returns (transfer full) a service to free with service_free(), or NULL with err set. */
struct service *service_new(const char *listen, char err[SERVICE_ERR_LEN]);

/* (transfer none) The metrics blob.c counts into (struct blob_opts), or NULL when off. */
struct fsmetrics *service_metrics(struct service *s);

/* The mount serves: answer scrapes (gauges read from c and p) and tell systemd it is ready.
 * Returns 0 or -errno (logged; the mount goes on without metrics). */
int service_start(struct service *s, struct cache *c, struct prefetch_pool *p);

/* The mount is ending: tell systemd, stop answering scrapes. Before c and p are freed. */
void service_stop(struct service *s);

/* NULL is a no-op. */
void service_free(struct service *s);

#endif
