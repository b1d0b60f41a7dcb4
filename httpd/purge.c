/* httpd/purge.c: the purge API (see purge.h). The request is checked and queued on the I/O
 * thread; the layers are told from one thread of our own, which may block on sockets. JSON is
 * read and written with jansson, URLs taken apart with libcurl's URL API and peers and fronts
 * reached with libcurl: libraries made for the job. */
#include "purge.h"

#include "auth.h"
#include "hmetrics.h"
#include "log.h"
#include "srv_i.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define PURGE_ID_LEN 32          /* hex digits of a request ID */
#define PURGE_IO_TIMEOUT_S 10    /* a blobfs socket, a peer or a front silent this long fails */
#define PURGE_PEER_WAIT_MS 30000 /* how long a peer's purge may stay Pending */
#define PURGE_POLL_MS 50
#define PURGE_CTL_LINE 4096 /* the longest line a blobfs control socket takes, newline included */
#define PURGE_SCOPE "X-Blobkit-Purge-Scope" /* "node": a forwarded purge, this node only */
#define CHALLENGE "Basic realm=\"blobkit purge\", charset=\"UTF-8\""

enum job_state { JOB_PENDING, JOB_COMPLETED, JOB_FAILED };

/* One purge request; owned by the ring that remembers it. */
struct job {
    char id[PURGE_ID_LEN + 1];
    enum job_state state; /* under the lock */
    bool node_only;       /* forwarded: neither peers nor fronts */
    bool prefix;
    size_t ep;                   /* the endpoint */
    char path[ROUTE_MAX_PATH];   /* below its origins, "" for a prefix of everything */
    char ban[PURGE_MAX_URL + 8]; /* the front's key, "host/prefix/path[*]" */
    char *url;                   /* as given, for peers */
    struct job *qnext;
};

struct purge {
    struct srv *s;
    pthread_mutex_t lock;
    pthread_cond_t cv;
    struct job *ring[PURGE_REMEMBER]; /* the jobs remembered, oldest at ring[next] */
    size_t next;
    struct job *qhead, *qtail; /* waiting for the thread */
    size_t pending;            /* queued or under way */
    bool stopping;
    atomic_bool stop; /* stopping, for the purge thread's waits */
    pthread_t thread;
};

bool purge_owns(const char *target, size_t len)
{
    size_t n = strlen(PURGE_PATH);
    return len >= n && memcmp(target, PURGE_PATH, n) == 0 &&
           (len == n || target[n] == '/' || target[n] == '?');
}

void purge_body(struct conn *c, const char *data, size_t len)
{
    if (len > sizeof(c->body) - c->body_len) {
        c->body_over = true;
        return;
    }
    memcpy(c->body + c->body_len, data, len);
    c->body_len += len;
}

/* ---- answers ---- */

/* j (released here) as the body, with status. */
static enum MHD_Result send_json(struct conn *c, unsigned status, json_t *j)
{
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    size_t len = text ? strlen(text) : 0;
    struct MHD_Response *resp =
        text ? MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE) : NULL;

    json_decref(j);
    if (!resp) {
        free(text);
        return reply_error(c, -ENOMEM, NULL);
    }
    MHD_add_response_header(resp, "Content-Type", "application/json");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    if (status == 401)
        MHD_add_response_header(resp, "WWW-Authenticate", CHALLENGE);
    if (status == 429 || status == 503)
        MHD_add_response_header(resp, "Retry-After", "1");
    return reply_queue(c, status, resp, len);
}

/* ImageKit's error body: {"message": msg}. */
static enum MHD_Result fail(struct conn *c, unsigned status, const char *msg)
{
    return send_json(c, status, json_pack("{s:s}", "message", msg));
}

/* ---- the remembered jobs ---- */

static struct job *find_locked(struct purge *p, const char *id)
{
    for (size_t i = 0; i < PURGE_REMEMBER; i++) {
        if (p->ring[i] && strcmp(p->ring[i]->id, id) == 0)
            return p->ring[i];
    }
    return NULL;
}

static void job_free(struct job *j)
{
    if (j) {
        free(j->url);
        free(j);
    }
}

/* Remember j and queue it for the thread; the oldest job is forgotten, unless it is still
 * pending. Returns 0 or -EBUSY. */
static int enqueue(struct purge *p, struct job *j)
{
    pthread_mutex_lock(&p->lock);
    struct job *old = p->ring[p->next];
    bool busy = p->pending >= PURGE_MAX_PENDING || (old && old->state == JOB_PENDING);
    if (!busy) {
        p->ring[p->next] = j;
        p->next = (p->next + 1) % PURGE_REMEMBER;
        *(p->qtail ? &p->qtail->qnext : &p->qhead) = j;
        p->qtail = j;
        p->pending++;
        pthread_cond_signal(&p->cv);
    }
    pthread_mutex_unlock(&p->lock);
    if (busy)
        return -EBUSY;
    job_free(old);
    return 0;
}

/* ---- taking the request apart ---- */

/* The url member of the body, a JSON object. Returns (transfer full) or NULL with *why. */
static char *body_url(const struct conn *c, const char **why)
{
    json_error_t err;
    json_t *root = json_loadb(c->body, c->body_len, JSON_REJECT_DUPLICATES, &err);
    const char *url = NULL;
    char *out = NULL;

    *why = "the body is not JSON";
    if (root && json_is_object(root)) {
        *why = "the body has no \"url\" string";
        url = json_string_value(json_object_get(root, "url"));
    }
    if (url && strlen(url) > PURGE_MAX_URL)
        *why = "url too long";
    else if (url && !(out = strdup(url)))
        *why = "out of memory";
    json_decref(root);
    return out;
}

/* The host (lower case, no port) and the raw path of an absolute http(s) URL, with libcurl's
 * parser. Returns 0 or -EINVAL. */
static int split_url(const char *url, char *host, size_t hcap, char *path, size_t pcap)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *h = NULL, *pa = NULL;
    int rc = -EINVAL;

    if (!u || curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK)
        goto out;
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PATH, &pa, 0) != CURLUE_OK)
        goto out;
    if ((strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) || strlen(h) >= hcap ||
        strlen(pa) >= pcap)
        goto out;
    for (size_t i = 0; h[i]; i++)
        host[i] = (char)(h[i] >= 'A' && h[i] <= 'Z' ? h[i] + 32 : h[i]);
    host[strlen(h)] = '\0';
    memcpy(path, pa, strlen(pa) + 1);
    rc = 0;
out:
    curl_free(scheme);
    curl_free(h);
    curl_free(pa);
    curl_url_cleanup(u);
    return rc;
}

/* The front's key, as the VCL's blobkit_route_key makes it: host, then the path without any
 * "/tr:..." segment; '*' kept for a prefix. */
static void front_key(struct job *j, const char *host, const char *path)
{
    size_t n = (size_t)snprintf(j->ban, sizeof(j->ban), "%s", host);

    for (const char *s = path; *s && n + 2 < sizeof(j->ban);) {
        size_t seg = 1 + strcspn(s + 1, "/");
        if (strncmp(s, "/tr:", 4) != 0) {
            size_t take = seg < sizeof(j->ban) - 2 - n ? seg : sizeof(j->ban) - 2 - n;
            memcpy(j->ban + n, s, take);
            n += take;
        }
        s += seg;
    }
    if (j->prefix)
        j->ban[n++] = '*';
    j->ban[n] = '\0';
}

/* Route the url as blobhttpd routes requests: which endpoint, which file path. A prefix is
 * routed with one byte more, taken off the path again, so "/demo/" plus a star names the endpoint's
 * whole origin. Returns 0, or -EINVAL with *why. */
static int resolve(struct srv *s, struct job *j, const char **why)
{
    char host[256], target[PURGE_MAX_URL + 2], err[ROUTE_ERR_LEN];
    size_t len = strlen(j->url);
    struct route *rt = malloc(sizeof(*rt));

    j->prefix = len > 0 && j->url[len - 1] == '*';
    if (j->prefix)
        j->url[len - 1] = '\0';
    int rc = rt ? split_url(j->url, host, sizeof(host), target, sizeof(target) - 1) : -ENOMEM;
    *why = rc ? "url: not an absolute http or https URL" : NULL;
    if (!rc && j->prefix)
        memcpy(target + strlen(target), "x", 2); /* room kept above */
    if (!rc && route_match(s->route, s->nep, host, target, strlen(target), rt, err) != 0) {
        *why = "url: no endpoint serves it";
        rc = -EINVAL;
    }
    if (!rc) {
        j->ep = rt->endpoint;
        size_t plen = strlen(rt->path) - (j->prefix ? 1 : 0);
        memcpy(j->path, rt->path, plen);
        j->path[plen] = '\0';
        if (j->prefix)
            target[strlen(target) - 1] = '\0';
        front_key(j, host, target);
    }
    if (j->prefix)
        j->url[len - 1] = '*';
    free(rt);
    return rc;
}

/* ---- the API ---- */

/* A request ID no one can guess (a status request is authenticated, but IDs are not
 * numbered so that none tells how many purges there were). Returns 0 or -EIO. */
static int new_id(char out[PURGE_ID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char r[PURGE_ID_LEN / 2];

    if (RAND_bytes(r, sizeof(r)) != 1)
        return -EIO;
    for (size_t i = 0; i < sizeof(r); i++) {
        out[2 * i] = hex[r[i] >> 4];
        out[2 * i + 1] = hex[r[i] & 15];
    }
    out[PURGE_ID_LEN] = '\0';
    return 0;
}

/* POST /v1/files/purge: check, remember, queue, answer 201 with the request ID. */
static enum MHD_Result start(struct purge *p, struct conn *c)
{
    const char *why = NULL;
    struct job *j = calloc(1, sizeof(*j));

    if (c->body_over) {
        free(j);
        return fail(c, 413, "the body is larger than 4096 bytes");
    }
    if (!j || !(j->url = body_url(c, &why)) || resolve(p->s, j, &why) != 0) {
        job_free(j);
        return fail(c, why ? 400 : 500, why ? why : "out of memory");
    }
    const char *scope = reply_header(c, PURGE_SCOPE);
    j->node_only = scope && strcmp(scope, "node") == 0;
    j->state = JOB_PENDING;
    char id[PURGE_ID_LEN + 1];
    if (new_id(j->id) != 0) {
        job_free(j);
        return fail(c, 500, "no random bytes for a request ID");
    }
    memcpy(id, j->id, sizeof(id));
    if (enqueue(p, j) != 0) {
        job_free(j);
        return fail(c, 429, "too many purges pending; try again");
    }
    log_info("purge %s: %s%s", id, j->node_only ? "(forwarded) " : "", j->ban);
    return send_json(c, 201, json_pack("{s:s}", "requestId", id));
}

/* GET /v1/files/purge/ID */
static enum MHD_Result status(struct purge *p, struct conn *c, const char *id)
{
    static const char *const names[] = {"Pending", "Completed", "Failed"};

    pthread_mutex_lock(&p->lock);
    struct job *j = strlen(id) == PURGE_ID_LEN ? find_locked(p, id) : NULL;
    const char *state = j ? names[j->state] : NULL;
    pthread_mutex_unlock(&p->lock);
    if (!state)
        return fail(c, 404, "no such purge request (or one too old to be remembered)");
    return send_json(c, 200, json_pack("{s:s}", "status", state));
}

enum MHD_Result purge_handle(struct purge *p, struct conn *c)
{
    bool post = strcmp(c->method, "POST") == 0;
    bool get = strcmp(c->method, "GET") == 0 || strcmp(c->method, "HEAD") == 0;
    size_t n = strlen(PURGE_PATH);
    const char *id = c->target_len > n && c->target[n] == '/' ? c->target + n + 1 : NULL;

    if (!p)
        return fail(c, 404, "the purge API is off");
    if (!auth_key_user(&p->s->key, c->mhd, false))
        return fail(c, 401, "the private key is wanted as the Basic auth user name");
    if (!id)
        return post ? start(p, c) : fail(c, 405, "POST /v1/files/purge");
    if (strchr(id, '/') || strchr(id, '?'))
        return fail(c, 404, "no such purge resource");
    return get ? status(p, c, id) : fail(c, 405, "GET /v1/files/purge/REQUEST_ID");
}

/* ---- the layers, on the purge thread ---- */

/* One request line to a blobfs control socket; 0 when it answered "ok". */
static int tell_blobfs(const char *sock, const char *line)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct timeval tv = {.tv_sec = PURGE_IO_TIMEOUT_S};
    char ans[128];
    size_t have = 0;
    int rc = -EIO;

    if (strlen(sock) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    memcpy(sa.sun_path, sock, strlen(sock) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        send(fd, line, strlen(line), MSG_NOSIGNAL) != (ssize_t)strlen(line))
        goto out;
    while (have < sizeof(ans) - 1 && !memchr(ans, '\n', have)) {
        ssize_t r = recv(fd, ans + have, sizeof(ans) - 1 - have, 0);
        if (r <= 0)
            goto out;
        have += (size_t)r;
    }
    ans[have] = '\0';
    rc = strncmp(ans, "ok ", 3) == 0 ? 0 : -EIO;
    if (rc)
        log_warn("purge: blobfs at %s answered: %.*s", sock, (int)strcspn(ans, "\n"), ans);
out:
    close(fd);
    return rc;
}

/* Every blobfs socket forgets the path below every origin folder of the endpoint (by its
 * real path: a mount that holds none of them answers "ok 0"). */
static int forget_metadata(struct purge *p, const struct job *j)
{
    const struct conf_list *socks = &p->s->conf->blobfs_control;
    const struct endpoint *e = &p->s->ep[j->ep];
    char line[PURGE_CTL_LINE];
    int rc = 0;

    for (size_t i = 0; i < e->norigins && socks->n; i++) {
        char *dir = realpath(origin_path(e->origin[i]), NULL);
        int n = dir ? snprintf(line, sizeof(line), "forget %s/%s%s\n", dir, j->path,
                               j->prefix ? "*" : "")
                    : -1;
        free(dir);
        if (n < 0 || (size_t)n >= sizeof(line)) {
            log_warn("purge: cannot name %s below origin %s", j->path, origin_path(e->origin[i]));
            rc = -ENAMETOOLONG;
            continue;
        }
        for (size_t k = 0; k < socks->n; k++) {
            int err = tell_blobfs(socks->item[k], line);
            if (err) {
                log_warn("purge: blobfs at %s: %s", socks->item[k], strerror(-err));
                rc = err;
            }
        }
    }
    return rc;
}

/* This node's layers: metadata first, so that what the caches refill with is current. The
 * video disk cache needs no call: its results are named by the source file's identity
 * (device, inode, size, mtime, vidserve.c), and blobfs gives a blob a new inode with each
 * ETag, so once blobfs has forgotten the path no old result can be found; they age out by
 * LRU. */
static int forget_here(struct purge *p, const struct job *j)
{
    int rc = forget_metadata(p, j);
    size_t n = deliver_forget(p->s, j->ep, j->path, j->prefix);

    log_info("purge: %s%s: %zu derived-cache entries dropped", j->path, j->prefix ? "*" : "", n);
    return rc;
}

/* "host!ADDR" when the node listens on one address: purges leave from it, the address the
 * front's ACL (blobkit_purgers) lists for the node; else "" (the kernel's choice). Set by
 * purge_new(), read by the purge thread only. */
static char call_source[64];

static void set_source(const char *listen)
{
    const char *end = listen ? strrchr(listen, ':') : NULL;
    char host[48];
    struct in_addr a4;

    call_source[0] = '\0';
    if (!end || listen[0] == '[' || (size_t)(end - listen) >= sizeof(host))
        return; /* no address, or IPv6: left to the kernel */
    memcpy(host, listen, (size_t)(end - listen));
    host[end - listen] = '\0';
    if (inet_pton(AF_INET, host, &a4) == 1 && a4.s_addr != htonl(INADDR_ANY))
        snprintf(call_source, sizeof(call_source), "host!%s", host);
}

/* What a peer or front answered: its status and the start of its body. */
struct answer {
    long status;
    char body[512];
    size_t len;
};

static size_t keep_body(char *data, size_t size, size_t n, void *arg)
{
    struct answer *a = arg;
    size_t take = size * n < sizeof(a->body) - 1 - a->len ? size * n : sizeof(a->body) - 1 - a->len;

    memcpy(a->body + a->len, data, take);
    a->len += take;
    a->body[a->len] = '\0';
    return size * n;
}

/* One HTTP request with the key as Basic user (when key is set) and one extra header line.
 * Returns 0 with *a filled, or -EIO (no answer). */
static int call(const char *method, const char *url, const char *key, const char *header,
                const char *body, struct answer *a)
{
    const char *source = call_source;
    CURL *h = curl_easy_init();
    struct curl_slist *hs = header ? curl_slist_append(NULL, header) : NULL;

    memset(a, 0, sizeof(*a));
    if (!h || (header && !hs)) {
        curl_easy_cleanup(h);
        curl_slist_free_all(hs);
        return -ENOMEM;
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hs);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)PURGE_IO_TIMEOUT_S);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)PURGE_IO_TIMEOUT_S);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, keep_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, a);
    if (source[0])
        curl_easy_setopt(h, CURLOPT_INTERFACE, source);
    if (body)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    if (key) {
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(h, CURLOPT_USERNAME, key);
        curl_easy_setopt(h, CURLOPT_PASSWORD, "");
    }
    CURLcode cc = curl_easy_perform(h);
    if (cc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &a->status);
    else
        log_warn("purge: %s %s: %s", method, url, curl_easy_strerror(cc));
    curl_easy_cleanup(h);
    curl_slist_free_all(hs);
    return cc == CURLE_OK ? 0 : -EIO;
}

/* The string member name of the JSON object a->body, copied to out. */
static bool answer_field(const struct answer *a, const char *name, char *out, size_t cap)
{
    json_t *root = json_loadb(a->body, a->len, 0, NULL);
    const char *v = json_string_value(json_object_get(root, name));
    bool found = v && strlen(v) < cap;

    if (found)
        memcpy(out, v, strlen(v) + 1);
    json_decref(root);
    return found;
}

/* Forward the purge to peer (for itself only) and wait until it says Completed. */
static int tell_peer(const char *peer, const char *key, const struct job *j,
                     const atomic_bool *stop)
{
    char url[1200], id[PURGE_ID_LEN + 1], state[16];
    struct answer a;
    json_t *jb = json_pack("{s:s}", "url", j->url);
    char *body = jb ? json_dumps(jb, JSON_COMPACT) : NULL;

    json_decref(jb);
    snprintf(url, sizeof(url), "%s%s", peer, PURGE_PATH);
    int rc = body ? call("POST", url, key, PURGE_SCOPE ": node", body, &a) : -ENOMEM;
    free(body);
    if (rc || a.status != 201 || !answer_field(&a, "requestId", id, sizeof(id))) {
        log_warn("purge: peer %s refused it (HTTP %ld)", peer, rc ? 0 : a.status);
        return -EIO;
    }
    snprintf(url, sizeof(url), "%s%s/%s", peer, PURGE_PATH, id);
    for (int waited = 0; waited < PURGE_PEER_WAIT_MS && !atomic_load(stop);
         waited += PURGE_POLL_MS) {
        if (call("GET", url, key, NULL, NULL, &a) != 0 || a.status != 200 ||
            !answer_field(&a, "status", state, sizeof(state)) || strcmp(state, "Failed") == 0)
            break;
        if (strcmp(state, "Completed") == 0)
            return 0;
        nanosleep(&(struct timespec){.tv_nsec = PURGE_POLL_MS * 1000000L}, NULL);
    }
    log_warn("purge: peer %s did not complete %s", peer, id);
    return -EIO;
}

/* BAN the source's key at one front replica (the VCL's blobkit_ban). */
static int ban_front(const char *front, const struct job *j)
{
    char url[1200], header[sizeof(j->ban) + 32];
    struct answer a;

    snprintf(url, sizeof(url), "%s/", front);
    snprintf(header, sizeof(header), "X-Blobkit-Ban: %s", j->ban);
    int rc = call("BAN", url, NULL, header, NULL, &a);
    if (!rc && a.status != 200) {
        log_warn("purge: front %s refused the ban (HTTP %ld)", front, a.status);
        rc = -EIO;
    }
    return rc;
}

/* Who is told: --peer and --purge-front, plus the lines "peer URL" and "front URL" of
 * --cluster-file, read at every purge so that nodes can come and go without a restart. */
struct targets {
    struct conf_list peer, front;
};

static void add_target(struct conf_list *l, const char *url)
{
    if (l->n < CONF_MAX_LIST && (l->item[l->n] = strdup(url)))
        l->n++;
}

static void read_cluster_file(const char *path, struct targets *t)
{
    FILE *f = fopen(path, "re");
    char line[1100];

    if (!f) {
        log_warn("purge: cannot read --cluster-file %s: %s", path, strerror(errno));
        return;
    }
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = '\0';
        bool http = strstr(line, " http://") || strstr(line, " https://");
        if (http && strncmp(line, "peer ", 5) == 0)
            add_target(&t->peer, line + 5);
        else if (http && strncmp(line, "front ", 6) == 0)
            add_target(&t->front, line + 6);
        else if (line[0] && line[0] != '#')
            log_warn("purge: %s: not 'peer URL' or 'front URL': %.60s", path, line);
    }
    fclose(f);
}

static void targets_load(const struct conf *cf, struct targets *t)
{
    memset(t, 0, sizeof(*t));
    for (size_t i = 0; i < cf->peer.n; i++)
        add_target(&t->peer, cf->peer.item[i]);
    for (size_t i = 0; i < cf->purge_front.n; i++)
        add_target(&t->front, cf->purge_front.item[i]);
    if (cf->cluster_file)
        read_cluster_file(cf->cluster_file, t);
}

static void targets_release(struct targets *t)
{
    for (size_t i = 0; i < t->peer.n; i++)
        free(t->peer.item[i]);
    for (size_t i = 0; i < t->front.n; i++)
        free(t->front.item[i]);
}

/* The whole purge: here, then every peer, then (nodes done: nothing refills the front with
 * old bytes) every front. */
static int work(struct purge *p, const struct job *j)
{
    char key[SRV_MAX_KEY + 1];
    struct targets t;
    int rc = forget_here(p, j);

    if (j->node_only)
        return rc;
    targets_load(p->s->conf, &t);
    pthread_rwlock_rdlock(&p->s->key.lock);
    memcpy(key, p->s->key.bytes, p->s->key.len);
    key[p->s->key.len] = '\0';
    pthread_rwlock_unlock(&p->s->key.lock);
    for (size_t i = 0; i < t.peer.n; i++)
        rc = tell_peer(t.peer.item[i], key, j, &p->stop) ? -EIO : rc;
    OPENSSL_cleanse(key, sizeof(key));
    for (size_t i = 0; rc == 0 && i < t.front.n; i++)
        rc = ban_front(t.front.item[i], j);
    targets_release(&t);
    return rc;
}

static void *run(void *arg)
{
    struct purge *p = arg;

    pthread_mutex_lock(&p->lock);
    while (!p->stopping) {
        struct job *j = p->qhead;
        if (!j) {
            pthread_cond_wait(&p->cv, &p->lock);
            continue;
        }
        p->qhead = j->qnext;
        p->qtail = p->qhead ? p->qtail : NULL;
        pthread_mutex_unlock(&p->lock);
        int rc = work(p, j);
        log_info("purge %s: %s", j->id, rc ? "failed" : "completed");
        hmetrics_purge(p->s->metrics, rc == 0);
        pthread_mutex_lock(&p->lock);
        j->state = rc ? JOB_FAILED : JOB_COMPLETED;
        p->pending--;
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

struct purge *purge_new(struct srv *s)
{
    struct purge *p = calloc(1, sizeof(*p));

    if (!p || curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
        free(p);
        return NULL;
    }
    p->s = s;
    set_source(s->conf->listen);
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cv, NULL);
    if (pthread_create(&p->thread, NULL, run, p) != 0) {
        pthread_cond_destroy(&p->cv);
        pthread_mutex_destroy(&p->lock);
        free(p);
        curl_global_cleanup();
        return NULL;
    }
    return p;
}

void purge_free(struct purge *p)
{
    if (!p)
        return;
    atomic_store(&p->stop, true);
    pthread_mutex_lock(&p->lock);
    p->stopping = true;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->thread, NULL);
    for (size_t i = 0; i < PURGE_REMEMBER; i++)
        job_free(p->ring[i]);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->lock);
    curl_global_cleanup();
    free(p);
}
