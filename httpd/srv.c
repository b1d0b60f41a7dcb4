/* httpd/srv.c: libmicrohttpd setup, request dispatch, access log, health, reload, graceful
 * stop. */
#include "srv.h"
#include "srv_i.h"

#include "guard.h"
#include "http.h"
#include "log.h"
#include "sign.h"

#include <limits.h>
#include <openssl/crypto.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SRV_CONN_MEMORY (9 * 1024) /* per connection: caps the request head near 8 KiB */
#define SRV_LOG_LINE 2048
#define DEFAULT_CACHE_CONTROL "public, s-maxage=15552000, max-age=15552000, must-revalidate"
#define DEFAULT_ERROR_CACHE_CONTROL "public, max-age=60"

/* GET /healthz: liveness and a few gauges, never cached. */
static enum MHD_Result healthz(struct conn *c)
{
    struct srv *s = c->srv;
    struct imgcache_stats cs;
    size_t queued, running, oqueued, orunning;
    char body[640];

    imgcache_get_stats(s->cache, &cs);
    pool_load(s->pool, &queued, &running);
    pool_load(s->io_pool, &oqueued, &orunning);
    int n = snprintf(body, sizeof(body),
                     "{\"status\":\"ok\",\"inflight\":%ld,\"served\":%lu,"
                     "\"origin_running\":%zu,\"origin_queued\":%zu,"
                     "\"transforms_running\":%zu,\"transforms_queued\":%zu,"
                     "\"cache_bytes\":%zu,\"cache_entries\":%zu,\"cache_hits\":%" PRIu64
                     ",\"cache_misses\":%" PRIu64 ",\"cache_coalesced\":%" PRIu64 "}\n",
                     atomic_load(&s->inflight), atomic_load(&s->served), orunning, oqueued, running,
                     queued, cs.bytes, cs.entries, cs.hits, cs.misses, cs.coalesced);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer((size_t)n, body, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", "application/json");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    return reply_queue(c, 200, resp, (uint64_t)n);
}

/* ik-s / ik-t: verified whenever a key is set and the URL carries them; required on endpoints
 * that are not public. */
static int check_signature(struct conn *c, const struct route *rt, const char **msg)
{
    struct srv *s = c->srv;

    pthread_rwlock_rdlock(&s->key.lock);
    int rc =
        s->key.len ? sign_verify(s->key.bytes, s->key.len, rt->rest, rt->rest_len, time(NULL)) : 0;
    pthread_rwlock_unlock(&s->key.lock);
    if (rc == 0)
        return 0;
    if (rc == -ENOKEY && !s->ep[rt->endpoint].require_sig)
        return 0;
    *msg = rc == -ENOKEY        ? "unsigned URL: this endpoint requires ik-s"
           : rc == -EKEYEXPIRED ? "signed URL expired (ik-t)"
                                : "signature (ik-s) does not match the URL";
    return rc == -ENOKEY ? -EKEYREJECTED : rc;
}

static void copy_header(struct conn *c, const char *name, char *out, size_t cap)
{
    const char *v = reply_header(c, name);
    snprintf(out, cap, "%s", v ? v : "-");
}

/* A new request: method, routing, signature, then deliver.c. */
static enum MHD_Result begin(struct conn *c, const char *method, const char *version)
{
    struct route rt;
    char err[ROUTE_ERR_LEN];
    const char *msg = NULL;

    snprintf(c->method, sizeof(c->method), "%s", method);
    snprintf(c->version, sizeof(c->version), "%s", version);
    copy_header(c, "Referer", c->referer, sizeof(c->referer));
    copy_header(c, "User-Agent", c->agent, sizeof(c->agent));
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return reply_not_allowed(c);
    if (c->target_len > ROUTE_MAX_TARGET)
        return reply_error(c, -ENAMETOOLONG, "request target too long");
    if (strcmp(c->target, "/healthz") == 0)
        return healthz(c);
    int rc = route_match(c->srv->route, c->srv->nep, reply_header(c, "Host"), c->target,
                         c->target_len, &rt, err);
    if (rc)
        return reply_error(c, rc, err[0] ? err : rc == -ENOENT ? "no such file" : NULL);
    rc = check_signature(c, &rt, &msg);
    if (rc)
        return reply_error(c, rc, msg);
    c->attachment = rt.attachment;
    return deliver_file(c, &rt);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *mc, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls)
{
    struct conn *c = *con_cls;

    (void)cls;
    (void)url; /* decoded by libmicrohttpd: we route the raw target instead */
    (void)upload_data;
    if (!c) {
        struct MHD_Response *resp =
            MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
        enum MHD_Result rc = MHD_queue_response(mc, 503, resp);
        MHD_destroy_response(resp);
        return rc;
    }
    if (c->suspended)
        return deliver_resumed(c);
    if (!c->headers_seen || *upload_size) {
        /* libmicrohttpd 0.9.75 closes the connection when the first call queues a response
         * (it cannot know the body was read), so answer once the (empty) body is done. */
        if (!c->headers_seen)
            guard_expect_head(c->srv->guard, c, false);
        c->headers_seen = true;
        *upload_size = 0;
        return MHD_YES;
    }
    return begin(c, method, version);
}

/* Called by libmicrohttpd with the raw request target, before it decodes anything: the start
 * of every request. Returns the request context (our connection). */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *mc)
{
    struct srv *s = cls;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    struct conn *c = ci ? ci->socket_context : NULL;

    atomic_fetch_add(&s->inflight, 1);
    if (!c)
        return NULL;
    c->target_len = strlen(uri);
    snprintf(c->target, sizeof(c->target), "%s", uri);
    snprintf(c->method, sizeof(c->method), "-");
    c->version[0] = '\0';
    snprintf(c->referer, sizeof(c->referer), "-");
    snprintf(c->agent, sizeof(c->agent), "-");
    c->body_bytes = 0;
    c->attachment = c->used_default = c->suspended = c->headers_seen = false;
    c->entry = NULL;
    c->pending = NULL;
    c->in_job = false;
    c->err_msg = NULL;
    c->alias_len = 0;
    c->fd = -1;
    c->nlayer_open = 0;
    clock_gettime(CLOCK_REALTIME, &c->start);
    return c;
}

static void client_address(struct MHD_Connection *mc, char *out, size_t cap)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;

    snprintf(out, cap, "-");
    if (sa && sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
                  (socklen_t)cap);
    else if (sa && sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
                  (socklen_t)cap);
}

/* One line of the combined log format, written with one write(2). */
static void access_log(struct srv *s, struct conn *c, struct MHD_Connection *mc)
{
    char addr[INET6_ADDRSTRLEN], when[40], line[SRV_LOG_LINE];
    char method[64], version[48], target[1024], referer[512], agent[512];
    struct tm tm;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(mc, MHD_CONNECTION_INFO_HTTP_STATUS);

    client_address(mc, addr, sizeof(addr));
    localtime_r(&c->start.tv_sec, &tm);
    strftime(when, sizeof(when), "%d/%b/%Y:%H:%M:%S %z", &tm);
    http_log_escape(c->method, method, sizeof(method));
    http_log_escape(c->version, version, sizeof(version));
    http_log_escape(c->target, target, sizeof(target));
    http_log_escape(c->referer, referer, sizeof(referer));
    http_log_escape(c->agent, agent, sizeof(agent));
    int n = snprintf(line, sizeof(line), "%s - - [%s] \"%s %s %s\" %u %" PRIu64 " \"%s\" \"%s\"\n",
                     addr, when, method, target, version, ci ? ci->http_status : 0, c->body_bytes,
                     referer, agent);
    if (n > (int)sizeof(line) - 1) {
        n = (int)sizeof(line) - 1;
        line[n - 1] = '\n';
    }
    if (write(s->access_fd, line, (size_t)n) < 0)
        log_debug("cannot write the access log: %s", strerror(errno));
}

static void on_completed(void *cls, struct MHD_Connection *mc, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct srv *s = cls;
    struct conn *c = *con_cls;

    (void)toe;
    if (c) {
        deliver_cleanup(c);
        if (s->access_fd >= 0)
            access_log(s, c, mc);
        guard_expect_head(s->guard, c, true);
    }
    atomic_fetch_add(&s->served, 1);
    atomic_fetch_sub(&s->inflight, 1);
}

static void on_connection(void *cls, struct MHD_Connection *mc, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    struct srv *s = cls;
    struct conn *c = *socket_context;

    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
        c = ci ? calloc(1, sizeof(*c)) : NULL;
        if (c) {
            c->srv = s;
            c->mhd = mc;
            c->fd = -1;
            c->sock = ci->connect_fd;
            guard_add(s->guard, c);
        }
        *socket_context = c;
    } else if (c) {
        guard_remove(s->guard, c); /* before libmicrohttpd closes the socket */
        free(c);
        *socket_context = NULL;
    }
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[LOG_LINE_MAX];

    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    log_debug("libmicrohttpd: %s", msg);
}

/* "ADDR:PORT", "[V6]:PORT", ":PORT" or "PORT" into ss. */
static int resolve_listen(const char *spec, struct sockaddr_storage *ss, char err[SRV_ERR_LEN])
{
    char host[256] = "";
    const char *colon = strrchr(spec, ':');
    const char *port = colon ? colon + 1 : spec;
    size_t hlen = colon ? (size_t)(colon - spec) : 0;
    struct addrinfo hints = {.ai_flags = AI_PASSIVE | AI_NUMERICSERV, .ai_socktype = SOCK_STREAM};
    struct addrinfo *ai = NULL;

    if (hlen >= 2 && spec[0] == '[' && spec[hlen - 1] == ']') {
        spec++;
        hlen -= 2;
    }
    if (hlen >= sizeof(host) || !*port) {
        snprintf(err, SRV_ERR_LEN, "listen: '%s' is not ADDR:PORT", spec);
        return -EINVAL;
    }
    memcpy(host, spec, hlen);
    host[hlen] = '\0';
    int rc = getaddrinfo(hlen ? host : NULL, port, &hints, &ai);
    if (rc) {
        snprintf(err, SRV_ERR_LEN, "listen: cannot resolve '%s': %s", spec, gai_strerror(rc));
        return -EINVAL;
    }
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    freeaddrinfo(ai);
    return 0;
}

static int start_daemon(struct srv *s, char err[SRV_ERR_LEN])
{
    const struct conf *conf = s->conf;
    struct sockaddr_storage ss;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ERROR_LOG | MHD_USE_TURBO;

    if (resolve_listen(conf->listen ? conf->listen : "127.0.0.1:8080", &ss, err))
        return -EINVAL;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    struct MHD_OptionItem opts[] = {
        {MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)on_mhd_log, NULL},
        {MHD_OPTION_SOCK_ADDR, 0, &ss},
        {MHD_OPTION_THREAD_POOL_SIZE, conf->io_threads, NULL},
        {MHD_OPTION_CONNECTION_LIMIT, conf->max_connections, NULL},
        {MHD_OPTION_PER_IP_CONNECTION_LIMIT, conf->max_connections_per_ip, NULL},
        {MHD_OPTION_CONNECTION_TIMEOUT, conf->timeout, NULL},
        {MHD_OPTION_CONNECTION_MEMORY_LIMIT, SRV_CONN_MEMORY, NULL},
        {MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)on_uri, s},
        {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, s},
        {MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, s},
        {MHD_OPTION_END, 0, NULL},
    };
    s->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s, MHD_OPTION_ARRAY, opts,
                              MHD_OPTION_END);
    if (!s->mhd) {
        snprintf(err, SRV_ERR_LEN, "cannot listen on %s (in use, or not a local address?)",
                 conf->listen ? conf->listen : "127.0.0.1:8080");
        return -EADDRINUSE;
    }
    return 0;
}

static int open_endpoints(struct srv *s, char err[SRV_ERR_LEN])
{
    const struct conf *conf = s->conf;

    for (s->nep = 0; s->nep < conf->nendpoints; s->nep++) {
        const struct conf_endpoint *ce = &conf->endpoint[s->nep];
        struct endpoint *ep = &s->ep[s->nep];
        s->route[s->nep] = (struct route_endpoint){ce->host, ce->prefix};
        ep->require_sig = s->key.len > 0 && !ce->public;
        for (ep->norigins = 0; ep->norigins < ce->norigins; ep->norigins++) {
            int rc = 0;
            ep->origin[ep->norigins] = origin_new(ce->origin[ep->norigins], &rc);
            if (!ep->origin[ep->norigins]) {
                snprintf(err, SRV_ERR_LEN, "cannot open origin %s of %s%s: %s",
                         ce->origin[ep->norigins], ce->host ? ce->host : "", ce->prefix,
                         strerror(-rc));
                s->nep++;
                return rc;
            }
        }
    }
    return 0;
}

/* Named transformations, each parsed once now so a typo fails at startup. */
static int load_names(struct srv *s, char err[SRV_ERR_LEN])
{
    const struct conf *conf = s->conf;
    struct tr_chain *chain = malloc(sizeof(*chain));
    char why[TR_ERR_LEN];
    int rc = 0;

    if (!chain)
        return -ENOMEM;
    for (size_t i = 0; i < conf->nnamed; i++)
        s->named[i] = (struct tr_named){conf->named[i].name, conf->named[i].value};
    s->names = (struct tr_names){s->named, conf->nnamed};
    for (size_t i = 0; rc == 0 && i < conf->nnamed; i++) {
        tr_chain_init(chain);
        rc = tr_parse(chain, s->named[i].value, strlen(s->named[i].value), NULL, why);
        if (rc)
            snprintf(err, SRV_ERR_LEN, "named '%s': %s", s->named[i].name, why);
    }
    free(chain);
    return rc;
}

static int open_access_log(struct srv *s, char err[SRV_ERR_LEN])
{
    const char *path = s->conf->access_log;

    s->access_fd = -1;
    if (!path || !*path)
        return 0;
    if (strcmp(path, "-") == 0) {
        s->access_fd = STDOUT_FILENO;
        return 0;
    }
    s->access_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (s->access_fd < 0) {
        snprintf(err, SRV_ERR_LEN, "cannot open access log %s: %s", path, strerror(errno));
        return -errno;
    }
    s->own_access_fd = true;
    return 0;
}

/* The cache, the transform and origin pools and the guard. With several endpoints, one may
 * hold at most three quarters of the origin threads, so a stalled one leaves the rest to the
 * others. */
static int start_pools(struct srv *s, char err[SRV_ERR_LEN])
{
    const struct conf *conf = s->conf;

    s->ep_job_cap = s->nep > 1 ? conf->origin_threads - conf->origin_threads / 4 : UINT_MAX;
    s->cache = imgcache_new((size_t)conf->cache_mb << 20);
    s->pool = pool_new(conf->workers, conf->queue, tr_thread_done);
    s->io_pool = pool_new(conf->origin_threads, conf->origin_queue, NULL);
    s->guard = guard_new(conf->header_timeout);
    int rc = 0;
    s->fonts = fonts_new(&rc);
    if (!s->fonts) {
        snprintf(err, SRV_ERR_LEN, "cannot make a folder for font files: %s", strerror(-rc));
        return rc;
    }
    if (!s->cache || !s->pool || !s->io_pool || !s->guard) {
        snprintf(err, SRV_ERR_LEN, "cannot start the cache, %u workers and %u origin threads",
                 conf->workers, conf->origin_threads);
        return -ENOMEM;
    }
    return 0;
}

static void set_limits(struct srv *s)
{
    const struct conf *conf = s->conf;

    s->limits = TR_LIMITS_DEFAULT;
    s->limits.max_input_pixels = (uint64_t)conf->max_megapixels * 1000000u;
    s->limits.max_output_pixels = (uint64_t)conf->max_megapixels * 1000000u;
    s->limits.max_input_bytes = (size_t)conf->max_input_mb << 20;
    s->cache_control = conf->cache_control ? conf->cache_control : DEFAULT_CACHE_CONTROL;
    s->error_cache_control =
        conf->error_cache_control ? conf->error_cache_control : DEFAULT_ERROR_CACHE_CONTROL;
}

struct srv *srv_new(const struct conf *conf, const void *key, size_t keylen, char err[SRV_ERR_LEN])
{
    struct srv *s = calloc(1, sizeof(*s));

    if (!s || keylen > sizeof(s->key.bytes)) {
        snprintf(err, SRV_ERR_LEN, s ? "signing key longer than %d bytes" : "out of memory",
                 SRV_MAX_KEY);
        free(s);
        return NULL;
    }
    s->conf = conf;
    s->listen_fd = -1;
    s->access_fd = -1;
    pthread_rwlock_init(&s->key.lock, NULL);
    memcpy(s->key.bytes, key, keylen);
    s->key.len = keylen;
    set_limits(s);
    if (open_endpoints(s, err) || load_names(s, err) || open_access_log(s, err))
        goto out_free;
    if (start_pools(s, err))
        goto out_free;
    if (start_daemon(s, err))
        goto out_free;
    return s;

out_free:
    srv_free(s);
    return NULL;
}

unsigned srv_port(const struct srv *s)
{
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
    return di ? di->port : 0;
}

long srv_drain(struct srv *s)
{
    struct timespec tick = {0, 20 * 1000 * 1000};
    long left;

    if (s->listen_fd < 0)
        s->listen_fd = MHD_quiesce_daemon(s->mhd);
    left = atomic_load(&s->inflight);

    for (unsigned i = 0; left > 0 && i < s->conf->shutdown_timeout * 50u; i++) {
        nanosleep(&tick, NULL);
        left = atomic_load(&s->inflight);
    }
    return left;
}

void srv_free(struct srv *s)
{
    if (!s)
        return;
    pool_stop(s->io_pool); /* origin jobs finish (some hand over to transforms) */
    pool_stop(s->pool);    /* queued transforms finish and resume their connections */
    if (s->mhd)
        MHD_stop_daemon(s->mhd);
    if (s->listen_fd >= 0)
        close(s->listen_fd); /* only now, as MHD_quiesce_daemon() requires */
    guard_free(s->guard);    /* after the daemon, whose connections leave its list as they close */
    pool_free(s->io_pool);
    pool_free(s->pool);
    imgcache_free(s->cache);
    fonts_free(s->fonts);
    for (size_t i = 0; i < s->nep; i++) {
        for (size_t j = 0; j < s->ep[i].norigins; j++)
            origin_free(s->ep[i].origin[j]);
    }
    if (s->own_access_fd)
        close(s->access_fd);
    OPENSSL_cleanse(s->key.bytes, sizeof(s->key.bytes));
    pthread_rwlock_destroy(&s->key.lock);
    free(s);
}

bool srv_busy(struct srv *s)
{
    size_t oq, orun, q, run;

    pool_load(s->io_pool, &oq, &orun);
    pool_load(s->pool, &q, &run);
    return oq + orun + q + run > 0;
}

void srv_set_key(struct srv *s, const void *key, size_t keylen)
{
    pthread_rwlock_wrlock(&s->key.lock);
    OPENSSL_cleanse(s->key.bytes, sizeof(s->key.bytes));
    keylen = keylen < sizeof(s->key.bytes) ? keylen : sizeof(s->key.bytes);
    memcpy(s->key.bytes, key, keylen);
    s->key.len = keylen;
    pthread_rwlock_unlock(&s->key.lock);
}

int srv_reopen_access_log(struct srv *s)
{
    if (!s->own_access_fd)
        return 0;
    int fd = open(s->conf->access_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    /* dup2() swaps the file under the same descriptor at once: a line being written goes
     * whole to the old file or to the new one. */
    int rc = dup2(fd, s->access_fd) < 0 ? -errno : 0;
    close(fd);
    return rc;
}
