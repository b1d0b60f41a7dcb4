/* httpd/srv.h: the HTTP server: libmicrohttpd set up for blobhttpd, with its endpoints,
 * origins, derived-image cache and transform worker pool.
 *
 *     struct srv *s = srv_new(&conf, key, keylen, err);   // listening when it returns
 *     ... wait for SIGTERM ...
 *     srv_drain(s);                                       // stop accepting, finish requests
 *     srv_free(s);
 *
 * libmicrohttpd's I/O threads (one per core, epoll) parse requests and send responses
 * (sendfile for files); transforms run on the worker pool while their connection is
 * suspended. */
#ifndef HTTPD_SRV_H
#define HTTPD_SRV_H

#include "conf.h"

#include <stdbool.h>
#include <stddef.h>

#define SRV_ERR_LEN 320

struct srv;

/* Open the origins, check named transformations, start the pool and the daemon listening on
 * conf->listen. conf must outlive the server; key[0..keylen) is copied (keylen 0: no signing).
 * libvips must be initialised (tr_init()). Returns: (transfer full) free with srv_free(), or
 * NULL with err saying what failed ("cannot open origin /mnt/x: No such file or directory"). */
struct srv *srv_new(const struct conf *conf, const void *key, size_t keylen, char err[SRV_ERR_LEN]);

/* The TCP port it listens on (useful with port 0). */
unsigned srv_port(const struct srv *s);

/* Graceful stop: /readyz answers 503 from now on, no new connections, then wait up to
 * conf->shutdown_timeout seconds for requests in flight to finish. Returns the number still in
 * flight (0 when all finished). */
long srv_drain(struct srv *s);

/* Stop the daemon (waiting for running transforms first) and free everything. NULL is a
 * no-op. */
void srv_free(struct srv *s);

/* Whether origin or transform jobs are still queued or running, or the readiness check of an
 * origin is stuck: after srv_drain() timed out, they may be stuck on a hung mount, and
 * srv_free() would wait for them. */
bool srv_busy(struct srv *s);

/* Replace the signing key with key[0..keylen) (SIGHUP). The old one is wiped. Whether URLs
 * must be signed is decided at startup and does not change. */
void srv_set_key(struct srv *s, const void *key, size_t keylen);

/* Reopen the access log file at its configured path (SIGHUP, after rotation). Returns 0 or
 * -errno (the old file stays in use). */
int srv_reopen_access_log(struct srv *s);

#endif
