/* httpd/srv.c: libmicrohttpd setup, request dispatch, access log, health, reload, graceful
 * stop. */
#include "srv.h"
#include "srv_i.h"

#include "accesslog.h"
#include "addr.h"
#include "clock.h"
#include "console.h"
#include "guard.h"
#include "hmetrics.h"
#include "http.h"
#include "log.h"
#include "purge.h"
#include "ready.h"
#include "scrape.h"
#include "sign.h"
#include "vidserve.h"
#include "vidurl.h"

#include <limits.h>
#include <openssl/crypto.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define SRV_CONN_MEMORY (9 * 1024) /* per connection: caps the request head near 8 KiB */
#define DEFAULT_CACHE_CONTROL "public, s-maxage=15552000, max-age=15552000, must-revalidate"
#define DEFAULT_ERROR_CACHE_CONTROL "public, max-age=60"

/* GET /healthz: liveness and a few gauges, never cached. */
static enum MHD_Result healthz(struct conn *c)
{
    struct srv *s = c->srv;
    struct imgcache_stats cs;
    size_t queued, running, oqueued, orunning;
    char body[1024], video[384];

    imgcache_get_stats(s->cache, &cs);
    vidserve_health(s->video, video, sizeof(video));
    pool_load(s->pool, &queued, &running);
    pool_load(s->io_pool, &oqueued, &orunning);
    int n = snprintf(body, sizeof(body),
                     "{\"status\":\"ok\",\"inflight\":%ld,\"served\":%lu,"
                     "\"origin_running\":%zu,\"origin_queued\":%zu,"
                     "\"transforms_running\":%zu,\"transforms_queued\":%zu,"
                     "\"cache_bytes\":%zu,\"cache_entries\":%zu,\"cache_hits\":%" PRIu64
                     ",\"cache_misses\":%" PRIu64 ",\"cache_coalesced\":%" PRIu64 "%s}\n",
                     atomic_load(&s->inflight), atomic_load(&s->served), orunning, oqueued, running,
                     queued, cs.bytes, cs.entries, cs.hits, cs.misses, cs.coalesced, video);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer((size_t)n, body, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", "application/json");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    return reply_queue(c, 200, resp, (uint64_t)n);
}

/* GET /readyz: 200 when every origin answers a stat within a second, the queues have room
 * and no stop began; else 503 with the reason. Never blocks (ready.h). */
static enum MHD_Result readyz(struct conn *c)
{
    struct srv *s = c->srv;
    char why[READY_WHY_LEN] = "";
    size_t q, run, oq, orun;

    pool_load(s->pool, &q, &run);
    pool_load(s->io_pool, &oq, &orun);
    if (atomic_load(&s->draining))
        snprintf(why, sizeof(why), "shutting down");
    else if (q >= s->conf->queue)
        snprintf(why, sizeof(why), "transform queue full (%zu waiting)", q);
    else if (oq >= s->conf->origin_queue)
        snprintf(why, sizeof(why), "origin queue full (%zu waiting)", oq);
    else
        ready_check(s->ready, why);
    char body[READY_WHY_LEN + 16];
    int n = snprintf(body, sizeof(body), "%s\n", why[0] ? why : "ready");
    struct MHD_Response *resp =
        MHD_create_response_from_buffer((size_t)n, body, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", "text/plain; charset=utf-8");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    return reply_queue(c, why[0] ? 503 : 200, resp, (uint64_t)n);
}

/* GET /metrics, unless --metrics-listen gave them a listener of their own. */
static enum MHD_Result metrics(struct conn *c)
{
    size_t len = 0;

    if (hmetrics_has_listener(c->srv->metrics))
        return reply_error(c, -ENOENT, "metrics are served on the --metrics-listen address");
    struct MHD_Response *resp = scrape_response(hmetrics_registry(c->srv->metrics), &len);
    return resp ? reply_queue(c, 200, resp, len)
                : reply_error(c, -ENOMEM, "cannot render the metrics");
}

/* X-Request-Id: the client's when it is a sane token, else one of ours. */
static void set_request_id(struct conn *c)
{
    const char *theirs = reply_header(c, "X-Request-Id");

    if (theirs && http_request_id_is_sane(theirs)) {
        snprintf(c->request_id, sizeof(c->request_id), "%s", theirs);
        return;
    }
    uint64_t n = atomic_fetch_add(&c->srv->id_next, 1);
    snprintf(c->request_id, sizeof(c->request_id), "%016" PRIx64,
             c->srv->id_seed + n * 0x9e3779b97f4a7c15u);
}

/* ik-s / ik-t: verified whenever a key is set and the URL carries them; required on endpoints
 * that are not public. */
static int check_signature(struct conn *c, const struct route *rt, const char **msg)
{
    struct srv *s = c->srv;

    pthread_rwlock_rdlock(&s->key.lock);
    int rc =
        s->key.len ? sign_verify(s->key.bytes, s->key.len, rt->rest, rt->rest_len, time(NULL)) : 0;
    if (rc == -ENOKEY) /* a file of a signed video package carries its signature in its path */
        rc = vidurl_verify(s->key.bytes, s->key.len, rt->rest, rt->rest_len, time(NULL));
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
    set_request_id(c);
    if (purge_owns(c->target, c->target_len))
        return purge_handle(c->srv->purge, c);
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return reply_not_allowed(c);
    if (c->target_len > ROUTE_MAX_TARGET)
        return reply_error(c, -ENAMETOOLONG, "request target too long");
    if (strcmp(c->target, "/healthz") == 0)
        return healthz(c);
    if (console_owns(c->target, c->target_len))
        return console_handle(c->srv->console, c);
    if (strcmp(c->target, "/readyz") == 0)
        return readyz(c);
    if (strcmp(c->target, "/metrics") == 0)
        return metrics(c);
    int rc = route_match(c->srv->route, c->srv->nep, reply_header(c, "Host"), c->target,
                         c->target_len, &rt, err);
    if (rc)
        return reply_error(c, rc, err[0] ? err : rc == -ENOENT ? "no such file" : NULL);
    c->endpoint = rt.endpoint;
    c->routed = true;
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
        if (*upload_size && purge_owns(c->target, c->target_len))
            purge_body(c, upload_data, *upload_size);
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
    c->body_len = 0;
    c->body_over = false;
    c->attachment = c->used_default = c->suspended = c->headers_seen = false;
    c->routed = c->derived = false;
    c->request_id[0] = '\0';
    c->start_ns = clock_now_ns();
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

/* The request's line in the access log (accesslog.h). */
static void access_log(struct srv *s, struct conn *c, struct MHD_Connection *mc, unsigned status,
                       double seconds)
{
    char addr[INET6_ADDRSTRLEN];
    struct accesslog_entry e = {.addr = addr,
                                .method = c->method,
                                .target = c->target,
                                .version = c->version,
                                .referer = c->referer,
                                .agent = c->agent,
                                .request_id = c->request_id,
                                .start = c->start,
                                .seconds = seconds,
                                .status = status,
                                .bytes = c->body_bytes};

    client_address(mc, addr, sizeof(addr));
    accesslog_write(s->alog, &e);
}

/* A request ended: its metrics and access-log line. */
static void count(struct srv *s, struct conn *c, struct MHD_Connection *mc)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(mc, MHD_CONNECTION_INFO_HTTP_STATUS);
    unsigned status = ci ? ci->http_status : 0;
    double seconds = (double)(clock_now_ns() - c->start_ns) / 1e9;
    enum hmetrics_kind kind = status >= 400 ? HMETRICS_ERROR
                              : c->derived  ? HMETRICS_DERIVED
                                            : HMETRICS_ORIGINAL;

    hmetrics_request(s->metrics, c->routed ? c->endpoint : HMETRICS_NO_ENDPOINT, status, kind,
                     seconds);
    if (s->alog)
        access_log(s, c, mc, status, seconds);
}

static void on_completed(void *cls, struct MHD_Connection *mc, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct srv *s = cls;
    struct conn *c = *con_cls;

    (void)toe;
    if (c) {
        deliver_cleanup(c);
        count(s, c, mc);
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
    char why[ADDR_ERR_LEN];
    int rc = addr_parse_listen(spec, ss, why);

    if (rc)
        snprintf(err, SRV_ERR_LEN, "listen: %s", why);
    return rc;
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
        ep->trusted_documents = ce->trusted_documents;
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
    char why[ACCESSLOG_ERR_LEN];

    if (!path || !*path)
        return 0;
    s->alog =
        accesslog_open(path, s->conf->access_log_json ? ACCESSLOG_JSON : ACCESSLOG_COMBINED, why);
    if (!s->alog) {
        snprintf(err, SRV_ERR_LEN, "%s", why);
        return -EINVAL;
    }
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
    s->video = vidserve_new(conf, err);
    return s->video ? 0 : -EINVAL;
}

static void read_video(struct srv *s, struct hmetrics_video *g)
{
    struct vidserve_stats vs;

    if (!s->video)
        return;
    vidserve_stats(s->video, &vs);
    *g = (struct hmetrics_video){vs.jobs.queued,   vs.jobs.running, vs.jobs.waiting, vs.jobs.done,
                                 vs.jobs.failed,   vs.jobs.joined,  vs.hits,         vs.misses,
                                 vs.cache.evicted, vs.cache.bytes,  vs.cache.entries};
}

/* What srv.c and the metrics' scrapes read of the server's state (hmetrics.h). */
static void read_gauges(void *arg, struct hmetrics_gauges *g)
{
    struct srv *s = arg;

    pool_load(s->pool, &g->transforms_queued, &g->transforms_running);
    pool_load(s->io_pool, &g->origin_queued, &g->origin_running);
    g->inflight = atomic_load(&s->inflight);
    imgcache_get_stats(s->cache, &g->cache);
    read_video(s, &g->video);
}

/* The metrics (and their listener) and the readiness checker of every origin; request ids. */
static int start_health(struct srv *s, char err[SRV_ERR_LEN])
{
    char why[HMETRICS_ERR_LEN];

    if (getrandom(&s->id_seed, sizeof(s->id_seed), 0) != sizeof(s->id_seed))
        s->id_seed = (uint64_t)clock_now_ns() ^ ((uint64_t)getpid() << 32);
    for (size_t i = 0; i < s->nep; i++) {
        for (size_t j = 0; j < s->ep[i].norigins; j++)
            s->all_origin[s->nall_origin++] = s->ep[i].origin[j];
    }
    s->metrics = hmetrics_new(s->conf, read_gauges, s, why);
    if (!s->metrics) {
        snprintf(err, SRV_ERR_LEN, "%s", why);
        return -EINVAL;
    }
    s->ready = ready_new(s->all_origin, s->nall_origin);
    if (!s->ready) {
        snprintf(err, SRV_ERR_LEN, "cannot start the readiness checker");
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
    pthread_rwlock_init(&s->key.lock, NULL);
    memcpy(s->key.bytes, key, keylen);
    s->key.len = keylen;
    set_limits(s);
    if (open_endpoints(s, err) || load_names(s, err) || open_access_log(s, err))
        goto out_free;
    if (start_pools(s, err) || start_health(s, err))
        goto out_free;
    s->console = conf->console ? console_new(s) : NULL;
    s->purge = purge_new(s);
    if (conf->console && !s->console) {
        snprintf(err, SRV_ERR_LEN, "cannot start the console: out of memory");
        goto out_free;
    }
    if (!s->purge) {
        snprintf(err, SRV_ERR_LEN, "cannot start the purge API: out of memory");
        goto out_free;
    }
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

    atomic_store(&s->draining, true);
    if (s->listen_fd < 0)
        s->listen_fd = MHD_quiesce_daemon(s->mhd);
    vidserve_stop(s->video); /* requests waiting for a video job answer now */
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
    pool_stop(s->io_pool);    /* origin jobs finish (some hand over to transforms) */
    vidserve_drain(s->video); /* video jobs stop, removing their partial files */
    pool_stop(s->pool);       /* queued transforms finish and resume their connections */
    if (s->mhd)
        MHD_stop_daemon(s->mhd);
    if (s->listen_fd >= 0)
        close(s->listen_fd); /* only now, as MHD_quiesce_daemon() requires */
    guard_free(s->guard);    /* after the daemon, whose connections leave its list as they close */
    console_free(s->console);
    purge_free(s->purge);
    hmetrics_free(s->metrics); /* no request left to count; its scrapes read the pools */
    vidserve_free(s->video);   /* after the scrapes, which read its counters */
    ready_free(s->ready, 2);
    pool_free(s->io_pool);
    pool_free(s->pool);
    imgcache_free(s->cache);
    fonts_free(s->fonts);
    for (size_t i = 0; i < s->nep; i++) {
        for (size_t j = 0; j < s->ep[i].norigins; j++)
            origin_free(s->ep[i].origin[j]);
    }
    accesslog_free(s->alog);
    OPENSSL_cleanse(s->key.bytes, sizeof(s->key.bytes));
    pthread_rwlock_destroy(&s->key.lock);
    free(s);
}

bool srv_busy(struct srv *s)
{
    size_t oq, orun, q, run;

    pool_load(s->io_pool, &oq, &orun);
    pool_load(s->pool, &q, &run);
    return oq + orun + q + run > 0 || ready_is_stuck(s->ready);
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
    return s->alog ? accesslog_reopen(s->alog) : 0;
}
