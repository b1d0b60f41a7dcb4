/* fs/blob.c: the Blob service over libcurl (see blob.h). */
#include "blob.h"

#include "blob_name.h"
#include "blob_sas.h"
#include "clock.h"
#include "fsmetrics.h"
#include "httpdate.h"
#include "log.h"

#include <curl/curl.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The REST version every request pins: it fixes the response schema (quoted ETags,
 * Encoded names, open-ended ranges). */
#define API_VERSION "2021-12-02"
#define URL_MAX (24 * 1024)
#define ERR_BODY_MAX 4096
#define CODE_MAX 64
#define POOL_MAX 64
#define PROBE_LEAF ".blobfs-mount-probe"

struct blob_client {
    char *endpoint, *container; /* owned copies; o's pointers point at them */
    struct blob_opts o;
    CURLSH *share; /* DNS cache and TLS sessions, shared by every handle */
    pthread_mutex_t share_lock[CURL_LOCK_DATA_LAST];
    pthread_mutex_t lock; /* guards sas, sas_expiry, sas_gen, idle, nidle */
    char *sas;            /* NULL: anonymous */
    time_t sas_expiry;    /* 0: unknown */
    unsigned sas_gen;     /* bumped with each new token */
    CURL *idle[POOL_MAX]; /* handles with their kept-alive connection */
    size_t nidle;
    uint64_t rng; /* jitter state, updated atomically */
};

/* A growable buffer; every one has a cap given at each append. */
struct buf {
    char *p;
    size_t len, cap;
};

/* One logical request and what came back for it; retried attempts reuse it. */
struct request {
    struct blob_client *c;
    CURL *h;
    const char *what, *name; /* for the log line: "read", "list", ... */
    char *url;
    unsigned sas_gen; /* the token the URL ends in */
    bool head, quiet;
    const char *etag; /* reads: If-Match */
    off_t off;        /* reads: first byte wanted */
    char *dst;        /* reads: the caller's buffer, dst_len long, got filled */
    size_t dst_len, got;
    blob_sink_fn sink; /* streams: where the bytes go instead of dst (dst_len, got as above) */
    void *sink_arg;
    int sink_err;          /* what the sink stopped the stream with */
    uint64_t mark_ms;      /* streams: the stall window started here, with got at mark_got */
    size_t mark_got;       /* (time spent in the sink shifts the window, see on_progress) */
    uint64_t last_byte_ms; /* when the sink last took bytes (or the attempt began) */
    uint64_t last_sink_ms; /* when the sink was last called */
    bool stalled;
    struct buf body, err_body;
    long status; /* 0: no HTTP answer (see res) */
    CURLcode res;
    unsigned attempts;
    char code[CODE_MAX]; /* x-ms-error-code */
    char curl_err[CURL_ERROR_SIZE];
};

static int buf_add(struct buf *b, const char *s, size_t n, size_t max)
{
    if (b->len > max || n > max - b->len)
        return -E2BIG;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return -ENOMEM;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

static void buf_release(struct buf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* splitmix64 over an atomic counter: lock-free jitter for any thread. */
static uint32_t next_random(struct blob_client *c)
{
    uint64_t z = __atomic_add_fetch(&c->rng, 0x9E3779B97F4A7C15ull, __ATOMIC_RELAXED);

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return (uint32_t)(z ^ (z >> 31));
}

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *arg)
{
    struct blob_client *c = arg;

    (void)h;
    (void)access;
    pthread_mutex_lock(&c->share_lock[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *arg)
{
    struct blob_client *c = arg;

    (void)h;
    pthread_mutex_unlock(&c->share_lock[data]);
}

static int init_share(struct blob_client *c)
{
    c->share = curl_share_init();
    if (!c->share)
        return -ENOMEM;
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&c->share_lock[i], NULL);
    curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, share_lock);
    curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
    curl_share_setopt(c->share, CURLSHOPT_USERDATA, c);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    return 0;
}

/* Free a copy of the token, wiped first: freed memory is reused, not cleared. */
static void sas_free(char *sas)
{
    if (sas)
        explicit_bzero(sas, strlen(sas));
    free(sas);
}

static void set_sas_locked(struct blob_client *c, char *sas)
{
    time_t se = 0;

    sas_free(c->sas);
    c->sas = sas;
    c->sas_expiry = sas && blob_sas_expiry(sas, &se) == 0 ? se : 0;
}

/* libcurl's allocator: every block is wiped before it is freed or moved, because libcurl
 * keeps copies of each request's URL, which ends in the token. */
static void wipe_free(void *p)
{
    if (p)
        explicit_bzero(p, malloc_usable_size(p));
    free(p);
}

static void *wipe_realloc(void *p, size_t len)
{
    if (!p)
        return malloc(len);
    size_t old = malloc_usable_size(p);
    void *q = malloc(len ? len : 1);
    if (q) {
        memcpy(q, p, old < len ? old : len);
        wipe_free(p);
    }
    return q;
}

int blob_global_init(void)
{
    CURLcode res =
        curl_global_init_mem(CURL_GLOBAL_DEFAULT, malloc, wipe_free, wipe_realloc, strdup, calloc);

    return res == CURLE_OK ? 0 : -ENOMEM;
}

void blob_global_cleanup(void)
{
    curl_global_cleanup();
}

struct blob_client *blob_client_new(const struct blob_opts *o, const char *sas)
{
    struct blob_client *c = calloc(1, sizeof(*c));

    if (!c)
        return NULL;
    c->o = *o;
    c->endpoint = strdup(o->endpoint);
    c->container = strdup(o->container);
    char *sas_copy = sas ? strdup(sas) : NULL;
    if (!c->endpoint || !c->container || (sas && !sas_copy) || init_share(c)) {
        sas_free(sas_copy);
        blob_client_free(c);
        return NULL;
    }
    size_t len = strlen(c->endpoint);
    while (len > 0 && c->endpoint[len - 1] == '/')
        c->endpoint[--len] = '\0';
    c->o.endpoint = c->endpoint;
    c->o.container = c->container;
    pthread_mutex_init(&c->lock, NULL);
    set_sas_locked(c, sas_copy);
    c->rng = (uint64_t)clock_now_ms() ^ (uint64_t)(uintptr_t)c;
    return c;
}

void blob_client_free(struct blob_client *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nidle; i++)
        curl_easy_cleanup(c->idle[i]);
    if (c->share) {
        curl_share_cleanup(c->share);
        for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
            pthread_mutex_destroy(&c->share_lock[i]);
        pthread_mutex_destroy(&c->lock);
    }
    sas_free(c->sas);
    free(c->endpoint);
    free(c->container);
    free(c);
}

/* The pooled handles are closed too: libcurl keeps the last URL of each, old token included
 * (wiped as it frees it, see blob_global_init). Handles in use are closed when they return. */
int blob_client_set_sas(struct blob_client *c, const char *sas)
{
    char *copy = sas ? strdup(sas) : NULL;
    CURL *idle[POOL_MAX];

    if (sas && !copy)
        return -ENOMEM;
    pthread_mutex_lock(&c->lock);
    set_sas_locked(c, copy);
    c->sas_gen++;
    size_t n = c->nidle;
    memcpy(idle, c->idle, n * sizeof(idle[0]));
    c->nidle = 0;
    pthread_mutex_unlock(&c->lock);
    for (size_t i = 0; i < n; i++)
        curl_easy_cleanup(idle[i]);
    return 0;
}

/* A read (blob_read or blob_stream), as opposed to a listing or a HEAD. */
static bool is_read(const struct request *rq)
{
    return rq->dst_len > 0;
}

/* Hand bytes to a stream's sink. The time it takes (it may wait for its reader) moves the
 * start of the stall window along: a slow reader is never a stalled origin. */
static size_t to_sink(struct request *rq, const char *data, size_t len)
{
    uint64_t t0 = clock_now_ms();
    int ret = rq->sink(rq->sink_arg, data, len);

    rq->last_sink_ms = rq->last_byte_ms = clock_now_ms();
    rq->mark_ms += rq->last_sink_ms - t0;
    if (ret < 0) {
        rq->sink_err = ret;
        return 0;
    }
    rq->got += len;
    return len;
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    struct request *rq = arg;
    size_t len = size * n;
    long status = 0;

    curl_easy_getinfo(rq->h, CURLINFO_RESPONSE_CODE, &status);
    bool ok = is_read(rq) ? status == 206 : status >= 200 && status < 300;
    if (!ok) {
        buf_add(&rq->err_body, data, len, ERR_BODY_MAX); /* the start is enough */
        return len;
    }
    if (!is_read(rq))
        return buf_add(&rq->body, data, len, BLOB_XML_MAX_BYTES) == 0 ? len : 0;
    if (len > rq->dst_len - rq->got)
        return 0; /* more than was asked for: abort, never overrun */
    if (rq->sink)
        return to_sink(rq, data, len);
    memcpy(rq->dst + rq->got, data, len);
    rq->got += len;
    return len;
}

/* Stall detection of streams (curl's low-speed check would count the time the sink waits
 * for its reader): no byte for stall_timeout_s since the sink last returned, or less than
 * 1 KiB/s over a window of stall_timeout_s whose start moves on by the time spent in the
 * sink. An idle stream also asks its sink, about every 500 ms, whether it is still wanted.
 * Returns non-zero to end the transfer. */
static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    struct request *rq = arg;
    uint64_t now = clock_now_ms(), window = (uint64_t)rq->c->o.stall_timeout_s * 1000;

    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    if (!rq->sink)
        return 0;
    if (now - rq->last_sink_ms >= 500) {
        rq->last_sink_ms = now;
        int ret = rq->sink(rq->sink_arg, NULL, 0);
        if (ret < 0) {
            rq->sink_err = ret;
            return 1;
        }
    }
    bool silent = now >= rq->last_byte_ms + window;
    if (!silent && now < rq->mark_ms + window)
        return 0;
    if (!silent && rq->got - rq->mark_got >= (size_t)rq->c->o.stall_timeout_s * 1024) {
        rq->mark_ms = now;
        rq->mark_got = rq->got;
        return 0;
    }
    rq->stalled = true;
    snprintf(rq->curl_err, sizeof(rq->curl_err),
             "transfer stalled (less than 1024 bytes/s for %ld s)", rq->c->o.stall_timeout_s);
    return 1;
}

/* Options every transfer needs: no signals, bounded connect, stall detection, the path sent
 * as built (no dot-segment squashing), and no decompression (offsets are of stored bytes). */
static CURL *new_handle(struct blob_client *c)
{
    CURL *h = curl_easy_init();

    if (!h)
        return NULL;
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->o.connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1024L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, c->o.stall_timeout_s);
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_SHARE, c->share);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "blobfs/" BLOBKIT_VERSION);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 256L * 1024);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    return h;
}

static CURL *handle_get(struct blob_client *c)
{
    CURL *h = NULL;

    pthread_mutex_lock(&c->lock);
    if (c->nidle > 0)
        h = c->idle[--c->nidle];
    pthread_mutex_unlock(&c->lock);
    return h ? h : new_handle(c);
}

/* Back to the pool, unless its last URL ended in a token no longer in use. */
static void handle_put(struct blob_client *c, CURL *h, unsigned sas_gen)
{
    if (!h)
        return;
    pthread_mutex_lock(&c->lock);
    if (c->nidle < POOL_MAX && sas_gen == c->sas_gen) {
        c->idle[c->nidle++] = h;
        h = NULL;
    }
    pthread_mutex_unlock(&c->lock);
    curl_easy_cleanup(h);
}

static int req_init(struct request *rq, struct blob_client *c, const char *what, const char *name)
{
    memset(rq, 0, sizeof(*rq));
    rq->c = c;
    rq->what = what;
    rq->name = name;
    rq->url = malloc(URL_MAX);
    rq->h = handle_get(c);
    if (!rq->url || !rq->h)
        return -ENOMEM;
    return 0;
}

/* The URL ends in the token: wiped before it is freed. */
static void req_release(struct request *rq)
{
    handle_put(rq->c, rq->h, rq->sas_gen);
    if (rq->url)
        explicit_bzero(rq->url, strnlen(rq->url, URL_MAX));
    free(rq->url);
    buf_release(&rq->body);
    buf_release(&rq->err_body);
}

/* Appending to the URL; false when it would not fit. */
static bool url_add(char *url, size_t *len, const char *s)
{
    size_t n = strlen(s);

    if (n >= URL_MAX - *len)
        return false;
    memcpy(url + *len, s, n + 1);
    *len += n;
    return true;
}

static bool url_add_encoded(char *url, size_t *len, const char *s, bool query)
{
    ssize_t n = query ? blob_name_encode_query(s, strlen(s), url + *len, URL_MAX - *len)
                      : blob_name_encode_path(s, strlen(s), url + *len, URL_MAX - *len);
    if (n < 0)
        return false;
    *len += (size_t)n;
    return true;
}

/* The token is appended last, as given; sep is '?' or '&'. */
static bool url_add_sas(struct request *rq, size_t *len, const char *sep)
{
    struct blob_client *c = rq->c;
    bool ok = true;

    pthread_mutex_lock(&c->lock);
    if (c->sas)
        ok = url_add(rq->url, len, sep) && url_add(rq->url, len, c->sas);
    rq->sas_gen = c->sas_gen;
    pthread_mutex_unlock(&c->lock);
    return ok;
}

static int url_blob(struct request *rq, const char *name)
{
    size_t len = 0;
    bool ok = url_add(rq->url, &len, rq->c->endpoint) && url_add(rq->url, &len, "/") &&
              url_add(rq->url, &len, rq->c->container) && url_add(rq->url, &len, "/") &&
              url_add_encoded(rq->url, &len, name, false) && url_add_sas(rq, &len, "?");
    return ok ? 0 : -ENAMETOOLONG;
}

/* A listing URL; flat: without delimiter (every blob below prefix, by full name). */
static int url_list(struct request *rq, const char *prefix, const char *marker, unsigned max,
                    bool flat)
{
    char num[32];
    size_t len = 0;
    bool ok = url_add(rq->url, &len, rq->c->endpoint) && url_add(rq->url, &len, "/") &&
              url_add(rq->url, &len, rq->c->container) &&
              url_add(rq->url, &len, "?restype=container&comp=list") &&
              url_add(rq->url, &len, flat ? "" : "&delimiter=%2F") &&
              url_add(rq->url, &len, "&include=metadata");
    if (ok && *prefix)
        ok = url_add(rq->url, &len, "&prefix=") && url_add_encoded(rq->url, &len, prefix, true);
    if (ok && marker)
        ok = url_add(rq->url, &len, "&marker=") && url_add_encoded(rq->url, &len, marker, true);
    snprintf(num, sizeof(num), "&maxresults=%u", max);
    if (ok && max)
        ok = url_add(rq->url, &len, num);
    ok = ok && url_add_sas(rq, &len, "&");
    return ok ? 0 : -ENAMETOOLONG;
}

static const char *header(CURL *h, const char *name)
{
    struct curl_header *hdr;

    if (curl_easy_header(h, name, 0, CURLH_HEADER, -1, &hdr) != CURLHE_OK)
        return NULL;
    return hdr->value;
}

/* Request headers of one attempt: a read resumes after the bytes it already has. */
static struct curl_slist *attempt_headers(struct request *rq)
{
    char line[BLOB_ETAG_MAX + 64];
    struct curl_slist *l = curl_slist_append(NULL, "x-ms-version: " API_VERSION);

    if (l && is_read(rq)) {
        snprintf(line, sizeof(line), "x-ms-range: bytes=%lld-%lld",
                 (long long)(rq->off + (off_t)rq->got),
                 (long long)(rq->off + (off_t)rq->dst_len - 1));
        struct curl_slist *more = curl_slist_append(l, line);
        snprintf(line, sizeof(line), "If-Match: \"%s\"", rq->etag);
        more = more ? curl_slist_append(more, line) : NULL;
        if (!more) {
            curl_slist_free_all(l);
            return NULL;
        }
    }
    return l;
}

static void read_error_code(struct request *rq)
{
    const char *code = header(rq->h, "x-ms-error-code");

    rq->code[0] = '\0';
    if (code)
        snprintf(rq->code, sizeof(rq->code), "%s", code);
    else if (rq->err_body.len)
        blob_xml_parse_error(rq->err_body.p, rq->err_body.len, rq->code, sizeof(rq->code));
}

static bool transport_is_transient(CURLcode res)
{
    return res == CURLE_COULDNT_CONNECT || res == CURLE_OPERATION_TIMEDOUT ||
           res == CURLE_RECV_ERROR || res == CURLE_SEND_ERROR || res == CURLE_PARTIAL_FILE ||
           res == CURLE_GOT_NOTHING || res == CURLE_SSL_CONNECT_ERROR || res == CURLE_HTTP2 ||
           res == CURLE_HTTP2_STREAM;
}

enum outcome { DONE, RETRY, FAIL };

/* Per attempt, as handles are pooled: a stream measures stalls itself (on_progress). */
static void attempt_options(struct request *rq, struct curl_slist *hdrs)
{
    CURL *h = rq->h;

    curl_easy_setopt(h, CURLOPT_URL, rq->url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, rq->head ? CURLOPT_NOBODY : CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, rq);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, rq->curl_err);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, rq->sink ? 0L : rq->c->o.stall_timeout_s);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, rq->sink ? 0L : 1L);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, rq);
    rq->mark_ms = rq->last_sink_ms = rq->last_byte_ms = clock_now_ms();
    rq->mark_got = rq->got;
    rq->stalled = false;
}

static enum outcome attempt(struct request *rq)
{
    struct curl_slist *hdrs = attempt_headers(rq);

    if (!hdrs)
        return FAIL;
    rq->body.len = 0;
    rq->err_body.len = 0;
    rq->curl_err[0] = '\0';
    attempt_options(rq, hdrs);
    rq->res = curl_easy_perform(rq->h);
    rq->attempts++;
    curl_slist_free_all(hdrs);
    rq->status = 0;
    if (rq->sink_err) {
        curl_easy_getinfo(rq->h, CURLINFO_RESPONSE_CODE, &rq->status); /* for the log */
        return FAIL;
    }
    if (rq->res != CURLE_OK)
        return transport_is_transient(rq->res) || rq->stalled ? RETRY : FAIL;
    curl_easy_getinfo(rq->h, CURLINFO_RESPONSE_CODE, &rq->status);
    read_error_code(rq);
    if (rq->status >= 200 && rq->status < 300)
        return is_read(rq) && rq->status != 206 ? FAIL : DONE;
    return blob_retry_status_is_transient(rq->status) ? RETRY : FAIL;
}

/* Whether a stream's sink no longer wants it (asked between attempts). */
static bool sink_stopped(struct request *rq)
{
    if (rq->sink && !rq->sink_err) {
        int ret = rq->sink(rq->sink_arg, NULL, 0);
        rq->sink_err = ret < 0 ? ret : 0;
    }
    return rq->sink_err < 0;
}

static enum fsmetrics_op op_of(const struct request *rq)
{
    return rq->head ? FSMETRICS_PROPS : is_read(rq) ? FSMETRICS_GET : FSMETRICS_LIST;
}

/* An attempt ended: its status, time and the body bytes it brought, for the metrics. */
static void count_attempt(struct request *rq, uint64_t t0_ns, size_t got0)
{
    uint64_t bytes = is_read(rq) ? rq->got - got0 : rq->body.len;

    fsmetrics_origin(rq->c->o.metrics, op_of(rq), rq->status,
                     (double)(clock_now_ns() - t0_ns) / 1e9, bytes);
}

/* Try, and try again while the failure is transient and the policy allows. A stream that
 * received bytes in an attempt starts over with a full policy: it is a new operation. */
static enum outcome perform(struct request *rq)
{
    const struct blob_retry_policy *p = &rq->c->o.retry;
    uint64_t start = clock_now_ms();
    size_t got = rq->got;

    for (unsigned n = 0;; n++) {
        uint64_t t0 = clock_now_ns();
        size_t got0 = rq->got;
        enum outcome out = attempt(rq);
        count_attempt(rq, t0, got0);
        if (rq->sink && rq->got > got) {
            n = 0;
            start = clock_now_ms();
            got = rq->got;
        }
        if (out != RETRY || n + 1 >= p->max_attempts)
            return out;
        long asked = rq->status
                         ? blob_retry_after_ms(header(rq->h, "Retry-After"),
                                               header(rq->h, "x-ms-retry-after-ms"), time(NULL))
                         : -1;
        unsigned delay = blob_retry_delay_ms(p, n, asked, next_random(rq->c));
        if (clock_now_ms() - start + delay > p->budget_ms)
            return out;
        log_debug("%s '%s': retrying in %u ms (attempt %u)", rq->what, rq->name, delay, n + 2);
        fsmetrics_retry(rq->c->o.metrics, op_of(rq));
        sleep_ms(delay);
        if (sink_stopped(rq))
            return FAIL;
    }
}

static void describe_denied(struct request *rq, char *out, size_t cap)
{
    struct blob_client *c = rq->c;
    char when[32] = "";

    pthread_mutex_lock(&c->lock);
    bool anonymous = !c->sas;
    time_t se = c->sas_expiry;
    pthread_mutex_unlock(&c->lock);
    if (se && se <= time(NULL)) {
        struct tm tm;
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&se, &tm));
    }
    const char *code = rq->code[0] ? rq->code : "no error code";
    if (anonymous)
        snprintf(out, cap,
                 "access denied (%s): anonymous access is not allowed here, give a SAS "
                 "token",
                 code);
    else if (when[0])
        snprintf(out, cap, "access denied (%s): the SAS token expired at %s", code, when);
    else if (strcmp(code, "AuthorizationPermissionMismatch") == 0)
        snprintf(out, cap, "access denied (%s): the SAS token lacks the permission (sp=)", code);
    else if (strcmp(code, "AuthorizationResourceTypeMismatch") == 0)
        snprintf(out, cap,
                 "access denied (%s): the account SAS token lacks the resource type "
                 "(srt=)",
                 code);
    else
        snprintf(out, cap,
                 "access denied (%s): the SAS token was refused: wrong signature, "
                 "another account or container, or not valid yet",
                 code);
}

/* One line saying what went wrong, for the log or the mount error. */
static void describe(struct request *rq, char *out, size_t cap)
{
    const char *code = rq->code;

    if (rq->status == 0 && rq->res == CURLE_WRITE_ERROR)
        snprintf(out, cap, "the answer was longer than asked for or allowed");
    else if (rq->status == 0)
        snprintf(out, cap, "cannot reach %s: %s (%u attempt%s)", rq->c->endpoint,
                 rq->curl_err[0] ? rq->curl_err : curl_easy_strerror(rq->res), rq->attempts,
                 rq->attempts == 1 ? "" : "s");
    else if (rq->status == 401 || rq->status == 403)
        describe_denied(rq, out, cap);
    else if (strcmp(code, "ContainerNotFound") == 0)
        snprintf(out, cap, "container '%s' does not exist at %s", rq->c->container,
                 rq->c->endpoint);
    else if (strcmp(code, "ResourceNotFound") == 0)
        snprintf(out, cap, "no such account or container at %s, or it is private (%s)",
                 rq->c->endpoint, code);
    else if (rq->status >= 200 && rq->status < 300)
        snprintf(out, cap, "unexpected answer HTTP %ld", rq->status);
    else
        snprintf(out, cap, "HTTP %ld %s%s", rq->status, code,
                 rq->attempts > 1 ? " (after retries)" : "");
}

/* The errno of a finished request: the one HTTP-to-errno table of blobfs. */
static int request_errno(const struct request *rq, enum outcome out)
{
    if (rq->sink_err)
        return rq->sink_err;
    if (out == DONE)
        return 0;
    switch (rq->status) {
    case 404:
        return -ENOENT;
    case 401:
    case 403:
        return -EACCES;
    case 412:
        return -ESTALE;
    case 409:
        return strncmp(rq->code, "Blob", 4) == 0 ? -EACCES : -EIO; /* archived, rehydrating */
    default:
        return -EIO;
    }
}

static int finish(struct request *rq, enum outcome out)
{
    int err = request_errno(rq, out);

    /* ESTALE: the caller's to log; a sink's own stop is no failure */
    if (err && err != -ENOENT && err != -ESTALE && !rq->sink_err && !rq->quiet) {
        char why[BLOB_ERR_LEN];
        describe(rq, why, sizeof(why));
        log_warn("cannot %s '%s': %s", rq->what, rq->name, why);
    }
    if (log_enabled(LOG_LV_DEBUG) && rq->sink)
        log_debug("%s '%s' [%lld+%zu]: HTTP %ld%s%s, streamed %zu bytes%s", rq->what, rq->name,
                  (long long)rq->off, rq->dst_len, rq->status, rq->code[0] ? " " : "", rq->code,
                  rq->got, rq->sink_err ? " (stopped)" : "");
    else if (log_enabled(LOG_LV_DEBUG) && is_read(rq))
        log_debug("%s '%s' [%lld+%zu]: HTTP %ld %s", rq->what, rq->name, (long long)rq->off,
                  rq->dst_len, rq->status, rq->code);
    else if (log_enabled(LOG_LV_DEBUG))
        log_debug("%s '%s': HTTP %ld %s", rq->what, rq->name, rq->status, rq->code);
    return err;
}

static int list_page(struct request *rq, const char *prefix, const char *marker, unsigned max,
                     bool flat, struct blob_page *page)
{
    int err = url_list(rq, prefix, marker, max, flat);

    if (err)
        return err;
    err = finish(rq, perform(rq));
    if (err)
        return err;
    err = blob_xml_parse_page(rq->body.p ? rq->body.p : "", rq->body.len, page);
    if (err) {
        log_warn("cannot list '%s': the service sent a malformed listing (%s)", prefix,
                 strerror(-err));
        return -EIO;
    }
    return 0;
}

int blob_list(struct blob_client *c, const char *prefix, unsigned max_results, blob_page_fn fn,
              void *arg)
{
    char *marker = NULL;
    int ret;

    do {
        struct request rq;
        struct blob_page page;
        ret = req_init(&rq, c, "list", prefix);
        if (!ret)
            ret = list_page(&rq, prefix, marker, max_results, false, &page);
        req_release(&rq);
        if (ret)
            break;
        ret = fn(arg, &page);
        bool looping = marker && page.next_marker && strcmp(marker, page.next_marker) == 0;
        free(marker);
        marker = page.next_marker;
        page.next_marker = NULL;
        blob_page_release(&page);
        if (looping) {
            log_warn("cannot list '%s': the service repeats its NextMarker", prefix);
            ret = -EIO;
        }
    } while (ret == 0 && marker);
    free(marker);
    return ret < 0 ? ret : 0;
}

int blob_list_flat(struct blob_client *c, const char *prefix, unsigned max_results,
                   struct blob_page *out)
{
    struct request rq;
    int err = req_init(&rq, c, "list", prefix);

    memset(out, 0, sizeof(*out));
    if (!err)
        err = list_page(&rq, prefix, NULL, max_results, true, out);
    req_release(&rq);
    return err;
}

static int head_request(struct request *rq, const char *name, struct blob_attr *out)
{
    int err = url_blob(rq, name);

    if (err)
        return err;
    rq->head = true;
    err = finish(rq, perform(rq));
    if (err)
        return err;
    const char *len = header(rq->h, "Content-Length");
    const char *mtime = header(rq->h, "Last-Modified");
    const char *etag = header(rq->h, "ETag");
    const char *folder = header(rq->h, "x-ms-meta-hdi_isfolder");
    memset(out, 0, sizeof(*out));
    char *end = NULL;
    long long size = len ? strtoll(len, &end, 10) : -1;
    if (size < 0 || *end || !etag || !mtime || httpdate_parse(mtime, &out->mtime)) {
        log_warn("cannot read the properties of '%s': incomplete answer", name);
        return -EIO;
    }
    out->size = (off_t)size;
    out->is_folder = folder && strcasecmp(folder, "true") == 0;
    size_t n = strlen(etag);
    if (n >= 2 && etag[0] == '"' && etag[n - 1] == '"')
        snprintf(out->etag, sizeof(out->etag), "%.*s", (int)(n - 2), etag + 1);
    else
        snprintf(out->etag, sizeof(out->etag), "%s", etag);
    return 0;
}

int blob_head(struct blob_client *c, const char *name, struct blob_attr *out)
{
    struct request rq;
    int err = req_init(&rq, c, "stat", name);

    if (!err)
        err = head_request(&rq, name, out);
    req_release(&rq);
    return err;
}

/* A ranged GET of len bytes at off of version etag: what blob_read() and blob_stream()
 * share. rq is to be released with req_release() whatever this returns. */
static int read_init(struct request *rq, struct blob_client *c, const char *name, const char *etag,
                     off_t off, size_t len)
{
    int err = req_init(rq, c, "read", name);

    rq->etag = etag;
    rq->off = off;
    rq->dst_len = len;
    return err ? err : url_blob(rq, name);
}

ssize_t blob_read(struct blob_client *c, const char *name, const char *etag, char *dst, size_t len,
                  off_t off)
{
    struct request rq;

    if (len == 0)
        return 0;
    int err = read_init(&rq, c, name, etag, off, len);
    rq.dst = dst;
    if (!err) {
        enum outcome out = perform(&rq);
        err = rq.status == 416 ? 0 : finish(&rq, out); /* 416: nothing left at off */
    }
    size_t got = rq.got;
    req_release(&rq);
    return err ? err : (ssize_t)got;
}

int blob_stream(struct blob_client *c, const char *name, const char *etag, off_t off, size_t len,
                blob_sink_fn fn, void *arg)
{
    struct request rq;

    if (len == 0)
        return 0;
    int err = read_init(&rq, c, name, etag, off, len);
    rq.sink = fn;
    rq.sink_arg = arg;
    if (!err)
        err = finish(&rq, perform(&rq));
    if (!err && rq.got != len) {
        log_warn("cannot read '%s': the blob is shorter than listed", name);
        err = -EIO;
    }
    req_release(&rq);
    return err;
}

/* Whether a refused listing still leaves reading possible: a SAS token without 'l' (or an
 * account SAS without srt=c), or anonymous access to a container public at blob level
 * (Azure answers 404 ResourceNotFound, Azurite 403 AuthorizationFailure). */
static bool listing_refused(struct request *rq)
{
    const char *code = rq->code;

    if (rq->status == 403 && (strcmp(code, "AuthorizationPermissionMismatch") == 0 ||
                              strcmp(code, "AuthorizationResourceTypeMismatch") == 0))
        return true;
    pthread_mutex_lock(&rq->c->lock);
    bool anonymous = !rq->c->sas;
    pthread_mutex_unlock(&rq->c->lock);
    return anonymous && ((rq->status == 403 && strcmp(code, "AuthorizationFailure") == 0) ||
                         (rq->status == 404 && strcmp(code, "ResourceNotFound") == 0));
}

/* Listing is refused: reading must work, or the mount is useless. A HEAD of a name that does
 * not exist answers BlobNotFound only when the container exists and the token reads. */
static int probe_read(struct blob_client *c, const char *prefix, char err[BLOB_ERR_LEN])
{
    char name[1100];
    struct request rq;
    struct blob_attr attr;

    snprintf(name, sizeof(name), "%s%s", prefix, PROBE_LEAF);
    int ret = req_init(&rq, c, "probe", name);
    rq.quiet = true;
    if (!ret)
        ret = head_request(&rq, name, &attr);
    if (ret == -ENOENT && strcmp(rq.code, "BlobNotFound") == 0)
        ret = 0;
    if (ret)
        describe(&rq, err, BLOB_ERR_LEN);
    req_release(&rq);
    return ret;
}

int blob_probe(struct blob_client *c, const char *prefix, bool *can_list, struct blob_page *first,
               char err[BLOB_ERR_LEN])
{
    struct request rq;
    int ret = req_init(&rq, c, "list", prefix);

    memset(first, 0, sizeof(*first));
    rq.quiet = true;
    if (!ret)
        ret = list_page(&rq, prefix, NULL, BLOB_PROBE_PAGE, true, first);
    *can_list = ret == 0;
    if (ret && rq.h && listing_refused(&rq)) {
        req_release(&rq);
        return probe_read(c, prefix, err);
    }
    if (ret)
        describe(&rq, err, BLOB_ERR_LEN);
    req_release(&rq);
    return ret;
}
