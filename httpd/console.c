/* httpd/console.c: the console (see console.h): requests under /_blobkit/, Basic auth, the
 * built-in page, and the JSON API that lists folders, tells a file's facts and hands out URLs.
 * Calls go one way, as for files: srv -> console -> console_dir, console_url, reply. */
#include "console.h"

#include "console_dir.h"
#include "console_url.h"
#include "http.h"
#include "httpdate.h"
#include "json.h"
#include "log.h"
#include "pct.h"
#include "srv_i.h"
#include "str.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PAGE_DEFAULT 200
#define PAGE_MAX 500   /* entries in one answer of /api/list */
#define LISTINGS_MAX 4 /* folder reads at once: each may hold CONSOLE_DIR_MAX_BYTES of names */
#define FILTER_MAX 256 /* bytes of a filter */
#define OFFSET_MAX 1000000000u
#define JSON_MAX (16u << 20) /* PAGE_MAX entries of the longest names and URLs fit */
#define SNIFF_BYTES 4096
#define THUMB_CHAIN "w-160,h-160"
#define URL_CAP (ROUTE_MAX_TARGET + 1)
#define CSP                                                                                        \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; "              \
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
#define CHALLENGE "Basic realm=\"blobkit console\", charset=\"UTF-8\""
#define LAYER_PROBE "l-text,i-blobkit,l-end" /* parses once the engine has layers */

/* The page, its style and script, and an icon: built in by console_assets.S. */
extern const char console_index_html[], console_index_html_end[];
extern const char console_css[], console_css_end[];
extern const char console_js[], console_js_end[];
extern const char console_icon[], console_icon_end[];

struct asset {
    const char *path, *type;
    const char *start, *end;
};

static const struct asset assets[] = {
    {"", "text/html; charset=utf-8", console_index_html, console_index_html_end},
    {"/", "text/html; charset=utf-8", console_index_html, console_index_html_end},
    {"/console.css", "text/css; charset=utf-8", console_css, console_css_end},
    {"/console.js", "text/javascript; charset=utf-8", console_js, console_js_end},
    {"/favicon.svg", "image/svg+xml", console_icon, console_icon_end},
};

struct console {
    struct srv *srv;
    atomic_uint listings; /* folder reads queued or running */
    bool layers;          /* the engine parses layers: the page offers a watermark preset */
    bool video;           /* video URLs are served: the page shows posters for videos. Off until
                           * blobhttpd serves VIDEO/ik-thumbnail.jpg */
};

/* A copy of the signing key for one answer's URLs, wiped when done. */
struct signer {
    unsigned char key[SRV_MAX_KEY];
    size_t len;
};

/* What the API's query parameters say. */
struct args {
    size_t ep;
    char path[ROUTE_MAX_PATH]; /* decoded, clean; "" is the endpoint's top */
    char chain[ROUTE_MAX_TR];
    char filter[FILTER_MAX];
    size_t offset, limit;
};

/* A request of the API on the pools. */
struct job {
    struct console *con;
    struct conn *c;
    struct args a;
    int fd; /* the file API: the file, read and probed on a worker */
    struct stat st;
    const char *type; /* (transfer none): static */
    bool image;
    const char *probe_msg; /* (transfer none): static; why there are no pixel facts */
    bool listing;          /* counted in the console's listings */
};

/* ---- Responses ----------------------------------------------------------------------------- */

/* Every answer of the console is never stored, may load nothing but its own origin's files,
 * and sends no Referer (its URLs name files). resp NULL: out of memory. */
static enum MHD_Result respond(struct conn *c, unsigned status, struct MHD_Response *resp,
                               const char *type, size_t len)
{
    if (!resp)
        return reply_queue(c, status, NULL, 0);
    MHD_add_response_header(resp, "Content-Type", type);
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_add_response_header(resp, "Content-Security-Policy", CSP);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    if (status == 401)
        MHD_add_response_header(resp, "WWW-Authenticate", CHALLENGE);
    if (status == 503)
        MHD_add_response_header(resp, "Retry-After", "1");
    return reply_queue(c, status, resp, len);
}

/* Send j's text (released here) with status; ikerr, when set, as ImageKit's ik-error. */
static enum MHD_Result send_json(struct conn *c, unsigned status, struct json *j, const char *ikerr)
{
    size_t len;
    char *text = json_take(j, &len);

    if (!text) {
        log_warn("console: an answer of %s is over %u bytes", c->target, JSON_MAX);
        status = 500;
        text = strdup("{\"error\":\"the answer is too large\",\"code\":\"E2BIG\"}\n");
        len = text ? strlen(text) : 0;
    }
    struct MHD_Response *resp =
        text ? MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE) : NULL;
    if (!resp)
        free(text);
    else if (ikerr)
        MHD_add_response_header(resp, "ik-error", ikerr);
    return respond(c, status, resp, "application/json", len);
}

/* An error as JSON, {"error": msg, "code": "ENOENT"}, with the status of err (-errno). */
static enum MHD_Result fail(struct conn *c, int err, const char *msg)
{
    struct json j;
    char ikerr[256];

    msg = msg ? msg : strerror(-err);
    snprintf(ikerr, sizeof(ikerr), "%s - %s", http_error_code(err), msg);
    json_init(&j, 4096);
    json_raw(&j, "{\"error\":");
    json_cstr(&j, msg);
    json_raw(&j, ",\"code\":");
    json_cstr(&j, http_error_code(err));
    json_raw(&j, "}\n");
    return send_json(c, (unsigned)http_status_for_errno(err), &j, ikerr);
}

static enum MHD_Result send_asset(struct conn *c, const struct asset *a)
{
    size_t len = (size_t)(a->end - a->start);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)(uintptr_t)a->start, MHD_RESPMEM_PERSISTENT);

    return respond(c, 200, resp, a->type, len);
}

/* ---- Keys and URLs ------------------------------------------------------------------------- */

/* Whether a equals b, in a time that tells nothing about either: both are hashed first, so
 * neither their bytes nor their lengths meet in a comparison that can stop early. */
static bool same_secret(const void *a, size_t alen, const void *b, size_t blen)
{
    unsigned char da[EVP_MAX_MD_SIZE], db[EVP_MAX_MD_SIZE];
    unsigned int na = 0, nb = 0;

    bool same = EVP_Digest(a, alen, da, &na, EVP_sha256(), NULL) &&
                EVP_Digest(b, blen, db, &nb, EVP_sha256(), NULL) && na == nb &&
                CRYPTO_memcmp(da, db, na) == 0;
    OPENSSL_cleanse(da, sizeof(da));
    OPENSSL_cleanse(db, sizeof(db));
    return same;
}

static void wipe_free(char *s)
{
    if (s) {
        OPENSSL_cleanse(s, strlen(s));
        MHD_free(s);
    }
}

/* Whether the request may use the console: always without a signing key; with one, its
 * Basic credentials must name the key as the user (the password is not looked at). */
static bool authorized(struct conn *c)
{
    struct srv_key *k = &c->srv->key;
    char *pass = NULL;
    char *user = MHD_basic_auth_get_username_password(c->mhd, &pass);

    pthread_rwlock_rdlock(&k->lock);
    bool ok = k->len == 0 || (user && same_secret(user, strlen(user), k->bytes, k->len));
    pthread_rwlock_unlock(&k->lock);
    wipe_free(user);
    wipe_free(pass);
    return ok;
}

static void signer_load(struct srv *s, struct signer *k)
{
    pthread_rwlock_rdlock(&s->key.lock);
    memcpy(k->key, s->key.bytes, s->key.len);
    k->len = s->key.len;
    pthread_rwlock_unlock(&s->key.lock);
}

static void signer_wipe(struct signer *k)
{
    OPENSSL_cleanse(k, sizeof(*k));
}

/* The URL of path on endpoint ep with chain and query (console_url.h), signed when k holds a
 * key, into out[URL_CAP]. *here says whether it reaches ep from the request's Host: not for an
 * endpoint bound to another host, or a path another endpoint's prefix covers. Returns its
 * length, or -ENAMETOOLONG. */
static int endpoint_url(struct conn *c, const struct signer *k, size_t ep, const char *chain,
                        const char *path, const char *query, char *out, bool *here)
{
    struct srv *s = c->srv;
    struct console_url u = {s->route[ep].prefix, chain, path, query, k->key, k->len};
    char err[ROUTE_ERR_LEN];

    *here = false;
    int n = console_url_build(&u, out, URL_CAP);
    struct route *rt = n > 0 ? malloc(sizeof(*rt)) : NULL;
    if (!rt)
        return n > 0 ? -ENOMEM : n;
    int rc = route_match(s->route, s->nep, reply_header(c, "Host"), out, (size_t)n, rt, err);
    *here = rc == 0 && rt->endpoint == ep && strcmp(rt->path, path) == 0;
    free(rt);
    return n;
}

/* rel + "/" + name (or name alone at the top) into out[ROUTE_MAX_PATH]; false when too long. */
static bool join_path(const char *rel, const char *name, char *out)
{
    int n = snprintf(out, ROUTE_MAX_PATH, "%s%s%s", rel, rel[0] ? "/" : "", name);

    return n > 0 && n < ROUTE_MAX_PATH;
}

/* "key":"percent-encoded path" (ASCII whatever the name's bytes: the page hands it back). */
static void put_path(struct json *j, const char *key, const char *path)
{
    char enc[3 * ROUTE_MAX_PATH];

    if (pct_encode(path, strlen(path), "/", enc, sizeof(enc)) < 0)
        enc[0] = '\0';
    json_raw(j, key);
    json_cstr(j, enc);
}

/* ,"key":"URL" when the URL can be made and reaches its endpoint from here; nothing otherwise. */
static void put_url(struct json *j, struct conn *c, const struct signer *k, const char *key,
                    size_t ep, const char *chain, const char *path, const char *query)
{
    char url[URL_CAP];
    bool here;

    if (endpoint_url(c, k, ep, chain, path, query, url, &here) < 0 || !here)
        return;
    json_raw(j, key);
    json_cstr(j, url);
}

/* ---- Arguments ----------------------------------------------------------------------------- */

/* A number parameter: def when absent; -EINVAL unless decimal and at most max. */
static int param_uint(struct str q, const char *name, size_t def, size_t max, size_t *out)
{
    char v[24], *end;

    ssize_t n = console_url_param(q.p, q.len, name, v, sizeof(v));
    if (n == -ENOENT) {
        *out = def;
        return 0;
    }
    errno = 0;
    unsigned long long x = n > 0 ? strtoull(v, &end, 10) : 0;
    if (n <= 0 || v[0] < '0' || v[0] > '9' || *end || errno || x > max)
        return -EINVAL;
    *out = (size_t)x;
    return 0;
}

/* A text parameter, "" when absent. */
static int param_text(struct str q, const char *name, char *out, size_t cap)
{
    ssize_t n = console_url_param(q.p, q.len, name, out, cap);

    if (n == -ENOENT)
        out[0] = '\0';
    return n == -ENOENT || n >= 0 ? 0 : (int)n;
}

/* path=, decoded once and checked as URL paths are. */
static int param_path(struct str q, char *out, const char **msg)
{
    char raw[ROUTE_MAX_PATH], err[ROUTE_ERR_LEN];
    int rc = param_text(q, "path", raw, sizeof(raw));

    *msg = rc == -ENAMETOOLONG ? "path too long" : "bad percent-escape or control byte in path";
    if (rc || !raw[0]) {
        out[0] = '\0';
        return rc;
    }
    rc = route_clean_path(raw, strlen(raw), out, ROUTE_MAX_PATH, err);
    *msg = rc == -ENAMETOOLONG        ? "path too long"
           : strstr(err, "segment")   ? "empty, '.' or '..' segment in path"
           : strstr(err, "backslash") ? "backslash in path"
                                      : "bad path";
    return rc;
}

/* Every parameter: ep (required), path, tr, q, offset, limit (clamped to 1..PAGE_MAX). */
static int parse_args(struct srv *s, struct str q, struct args *a, const char **msg)
{
    size_t ep = SIZE_MAX;

    *msg = "ep: give an endpoint's number (/_blobkit/api/endpoints)";
    if (param_uint(q, "ep", SIZE_MAX, SIZE_MAX - 1, &ep) || ep == SIZE_MAX)
        return -EINVAL;
    *msg = "no such endpoint";
    if (ep >= s->nep)
        return -ENOENT;
    a->ep = ep;
    int rc = param_path(q, a->path, msg);
    if (rc)
        return rc;
    *msg = "tr or q: bad percent-escape, control byte, or too long";
    if (param_text(q, "tr", a->chain, sizeof(a->chain)) ||
        param_text(q, "q", a->filter, sizeof(a->filter)))
        return -EINVAL;
    *msg = "offset or limit: not a number, or too large";
    if (param_uint(q, "offset", 0, OFFSET_MAX, &a->offset) ||
        param_uint(q, "limit", PAGE_DEFAULT, OFFSET_MAX, &a->limit))
        return -EINVAL;
    a->limit = a->limit < 1 ? 1 : a->limit > PAGE_MAX ? PAGE_MAX : a->limit;
    return 0;
}

/* ---- Jobs on the pools --------------------------------------------------------------------- */

/* The end of a job: its answer waits in c->pending (reply_queue() keeps it there while
 * c->in_job), and the connection resumes to send it. c is not touched after the resume. */
static void job_free(struct job *j)
{
    if (j->fd >= 0)
        close(j->fd);
    if (j->listing)
        atomic_fetch_sub(&j->con->listings, 1);
    free(j);
}

static void finish(struct job *j)
{
    struct conn *c = j->c;

    job_free(j);
    c->in_job = false;
    atomic_store(&c->woken, true);
    MHD_resume_connection(c->mhd);
}

/* Suspend the connection and queue fn(j) on the origin pool. One endpoint may hold at most
 * ep_job_cap origin jobs, as for files. j is the job's from here on. */
static enum MHD_Result start_job(struct conn *c, struct job *j, pool_job_fn fn)
{
    struct srv *s = c->srv;
    atomic_uint *jobs = &s->ep[j->a.ep].jobs;

    if (atomic_fetch_add(jobs, 1) >= s->ep_job_cap) {
        atomic_fetch_sub(jobs, 1);
        job_free(j);
        return fail(c, -EBUSY, "too many requests waiting on this origin");
    }
    MHD_suspend_connection(c->mhd);
    c->suspended = true;
    atomic_store(&c->woken, false);
    int rc = pool_submit(s->io_pool, fn, j);
    if (rc) {
        atomic_fetch_sub(jobs, 1);
        c->err = -EBUSY;
        c->err_msg = rc == -EBUSY ? "too many requests waiting on origins" : "shutting down";
        finish(j);
    }
    return MHD_YES;
}

static struct job *job_new(struct console *con, struct conn *c, const struct args *a)
{
    struct job *j = malloc(sizeof(*j));

    if (j)
        *j = (struct job){.con = con, .c = c, .a = *a, .fd = -1};
    return j;
}

/* What the page calls an entry: dir, image (one the engine decodes: it gets a thumbnail),
 * video, file, or other (a symlink, FIFO, device: never served). */
static const char *kind_name(enum console_kind kind, const char *type)
{
    static const char *const decoded[] = {"image/jpeg", "image/png",  "image/gif",  "image/webp",
                                          "image/avif", "image/heif", "image/heic", "image/tiff"};

    if (kind != CONSOLE_KIND_FILE)
        return kind == CONSOLE_KIND_DIR ? "dir" : "other";
    for (size_t i = 0; i < sizeof(decoded) / sizeof(decoded[0]); i++) {
        if (strcmp(type, decoded[i]) == 0)
            return "image";
    }
    return strncmp(type, "video/", 6) == 0 ? "video" : "file";
}

/* A video's poster, its first frame through the video engine (VIDEO/ik-thumbnail.jpg). */
static void put_poster(struct json *o, const struct job *j, const struct signer *k, const char *rel)
{
    char poster[ROUTE_MAX_PATH];

    if (join_path(rel, "ik-thumbnail.jpg", poster))
        put_url(o, j->c, k, ",\"poster\":", j->a.ep, "", poster, "tr=" THUMB_CHAIN);
}

/* One entry of a listing, with its thumbnail (or a video's poster) as a URL of the engine. */
static void put_entry(struct json *o, const struct job *j, const struct signer *k,
                      const struct console_entry *e)
{
    char rel[ROUTE_MAX_PATH];
    const char *type = http_mime_for_path(e->name);
    const char *kind = kind_name(e->kind, type ? type : "");
    bool whole = join_path(j->a.path, e->name, rel);

    json_raw(o, "{\"name\":");
    json_cstr(o, e->name);
    json_raw(o, ",\"kind\":");
    json_cstr(o, whole ? kind : "other");
    if (whole)
        put_path(o, ",\"path\":", rel);
    if (e->kind == CONSOLE_KIND_FILE) {
        json_raw(o, ",\"type\":");
        json_cstr(o, type ? type : "application/octet-stream");
    }
    if (e->stat_ok && e->kind != CONSOLE_KIND_DIR) {
        json_raw(o, ",\"size\":");
        json_i64(o, (int64_t)e->size);
    }
    if (e->stat_ok) {
        json_raw(o, ",\"mtime\":");
        json_i64(o, (int64_t)e->mtime);
    }
    if (whole && strcmp(kind, "image") == 0)
        put_url(o, j->c, k, ",\"thumb\":", j->a.ep, THUMB_CHAIN, rel, "");
    if (whole && strcmp(kind, "video") == 0 && j->con->video)
        put_poster(o, j, k, rel);
    json_raw(o, "}");
}

static enum MHD_Result send_listing(const struct job *j, const struct console_page *pg)
{
    struct json o;
    struct signer k;

    signer_load(j->c->srv, &k);
    json_init(&o, JSON_MAX);
    json_raw(&o, "{\"ep\":");
    json_u64(&o, j->a.ep);
    put_path(&o, ",\"path\":", j->a.path);
    json_raw(&o, ",\"total\":");
    json_u64(&o, pg->total);
    json_raw(&o, ",\"offset\":");
    json_u64(&o, j->a.offset);
    json_raw(&o, ",\"limit\":");
    json_u64(&o, j->a.limit);
    json_raw(&o, pg->truncated ? ",\"truncated\":true" : ",\"truncated\":false");
    json_raw(&o, j->con->video ? ",\"video\":true" : ",\"video\":false");
    json_raw(&o, ",\"entries\":[");
    for (size_t i = 0; i < pg->n; i++) {
        json_raw(&o, i ? "," : "");
        put_entry(&o, j, &k, &pg->entry[i]);
    }
    json_raw(&o, "]}\n");
    signer_wipe(&k);
    return send_json(j->c, 200, &o, NULL);
}

static const char *origin_msg(int err)
{
    switch (-err) {
    case ENOENT:
        return "no such folder or file in the endpoint's origins";
    case ELOOP:
        return "symlinks are not followed";
    case EXDEV:
        return "path leads outside the origin";
    case EACCES:
    case EPERM:
        return "permission denied";
    default:
        return "the origin failed";
    }
}

/* On an origin thread: one page of a folder. */
static void list_job(void *arg)
{
    struct job *j = arg;
    struct conn *c = j->c;
    struct endpoint *ep = &c->srv->ep[j->a.ep];
    struct console_query q = {j->a.path, j->a.filter, j->a.offset, j->a.limit, 0};
    struct console_page pg;

    c->in_job = true;
    int rc = console_dir_read(ep->origin, ep->norigins, &q, &pg);
    atomic_fetch_sub(&ep->jobs, 1);
    if (rc && http_status_for_errno(rc) >= 500)
        log_warn("console: cannot list %s: %s", j->a.path[0] ? j->a.path : "/", strerror(-rc));
    if (rc)
        fail(c, rc, origin_msg(rc));
    else
        send_listing(j, &pg);
    console_dir_release(&pg);
    finish(j);
}

/* The first origin of the endpoint that has the file, as for serving it. */
static int open_file(struct endpoint *ep, const char *rel, struct stat *st)
{
    int fd = -ENOENT;

    for (size_t i = 0; i < ep->norigins && (fd == -ENOENT || fd == -ENOTDIR); i++)
        fd = origin_open(ep->origin[i], rel, st);
    return fd == -ENOTDIR ? -ENOENT : fd;
}

static const char *sniffed_type(enum tr_source_type t)
{
    static const char *const types[] = {
        [TR_SRC_JPEG] = "image/jpeg",    [TR_SRC_PNG] = "image/png",
        [TR_SRC_GIF] = "image/gif",      [TR_SRC_WEBP] = "image/webp",
        [TR_SRC_AVIF] = "image/avif",    [TR_SRC_HEIF] = "image/heif",
        [TR_SRC_TIFF] = "image/tiff",    [TR_SRC_SVG] = "image/svg+xml",
        [TR_SRC_PDF] = "application/pdf"};

    return (size_t)t < sizeof(types) / sizeof(types[0]) ? types[t] : NULL;
}

/* What the file is, as blobhttpd decides when it serves it: by extension, and for images (or
 * no known extension) by its first bytes. Sets j->type and j->image; returns 0 or -errno. */
static int sniff(struct job *j)
{
    unsigned char head[SNIFF_BYTES];
    const char *ext = http_mime_for_path(j->a.path);
    struct tr_sniff sn;

    j->type = ext ? ext : "application/octet-stream";
    j->probe_msg = "not an image the engine decodes";
    if (ext && strncmp(ext, "image/", 6) != 0 && strcmp(ext, "application/pdf") != 0)
        return 0;
    ssize_t n = pread(j->fd, head, sizeof(head), 0);
    if (n < 0)
        return -errno;
    tr_sniff(head, (size_t)n, &sn);
    j->image = tr_sniff_is_image(&sn) && sn.type != TR_SRC_SVG && sn.type != TR_SRC_PDF;
    if (tr_sniff_is_image(&sn) && sniffed_type(sn.type))
        j->type = sniffed_type(sn.type);
    return 0;
}

/* The original's ETag exactly as blobhttpd sends it with the file (deliver.c): its identity. */
static void file_etag(const struct stat *st, char out[REPLY_ETAG_LEN])
{
    uint64_t mtime = (uint64_t)((int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec);

    snprintf(out, REPLY_ETAG_LEN, "\"%" PRIx64 "-%" PRIx64 "-%" PRIx64 "-%" PRIx64 "\"",
             (uint64_t)st->st_dev, (uint64_t)st->st_ino, (uint64_t)st->st_size, mtime);
}

/* The pixel facts, or why there are none. */
static void put_pixels(struct json *o, const struct tr_info *info, const char *why)
{
    if (info) {
        json_raw(o, ",\"width\":");
        json_i64(o, info->width);
        json_raw(o, ",\"height\":");
        json_i64(o, info->height);
        json_raw(o, ",\"frames\":");
        json_i64(o, info->frames);
        json_raw(o, ",\"orientation\":");
        json_i64(o, info->orientation);
    }
    json_raw(o, ",\"probe_error\":");
    json_cstr(o, why);
}

/* The file's facts; info NULL when it was not probed (j->probe_msg says why). */
static enum MHD_Result send_facts(const struct job *j, const struct tr_info *info,
                                  const char *probe_err)
{
    char etag[REPLY_ETAG_LEN], date[HTTPDATE_LEN];
    const char *slash = strrchr(j->a.path, '/');
    struct json o;
    struct signer k;

    file_etag(&j->st, etag);
    httpdate_format(j->st.st_mtim.tv_sec, date);
    signer_load(j->c->srv, &k);
    json_init(&o, JSON_MAX);
    json_raw(&o, "{\"ep\":");
    json_u64(&o, j->a.ep);
    json_raw(&o, ",\"name\":");
    json_cstr(&o, slash ? slash + 1 : j->a.path);
    put_path(&o, ",\"path\":", j->a.path);
    json_raw(&o, ",\"kind\":");
    json_cstr(&o, j->image ? "image" : kind_name(CONSOLE_KIND_FILE, j->type));
    json_raw(&o, ",\"type\":");
    json_cstr(&o, j->type);
    json_raw(&o, ",\"size\":");
    json_i64(&o, (int64_t)j->st.st_size);
    json_raw(&o, ",\"etag\":");
    json_cstr(&o, etag);
    json_raw(&o, ",\"last_modified\":");
    json_cstr(&o, date);
    put_pixels(&o, info, info ? NULL : probe_err ? probe_err : j->probe_msg);
    put_url(&o, j->c, &k, ",\"original\":", j->a.ep, "", j->a.path, "tr=orig-true");
    json_raw(&o, "}\n");
    signer_wipe(&k);
    return send_json(j->c, 200, &o, NULL);
}

static int read_all(int fd, char *buf, size_t len)
{
    for (size_t got = 0; got < len;) {
        ssize_t n = pread(fd, buf + got, len - got, (off_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        got += (size_t)n;
    }
    return 0;
}

/* On a worker: the whole file (within --max-input-mb), then its header through libvips. */
static void probe_job(void *arg)
{
    struct job *j = arg;
    struct tr_info info;
    char err[TR_ERR_LEN] = "";
    size_t len = (size_t)j->st.st_size;
    char *src = malloc(len ? len : 1);

    int rc = src ? read_all(j->fd, src, len) : -ENOMEM;
    if (rc == 0)
        rc = tr_probe(src, len, &j->c->srv->limits, &info, err);
    free(src);
    if (rc && !err[0])
        snprintf(err, sizeof(err), "cannot read the file: %s", strerror(-rc));
    send_facts(j, rc ? NULL : &info, rc ? err : NULL);
    finish(j);
}

/* On an origin thread: open and sniff the file; an image goes on to a worker to be probed. */
static void file_job(void *arg)
{
    struct job *j = arg;
    struct conn *c = j->c;
    struct srv *s = c->srv;
    struct endpoint *ep = &s->ep[j->a.ep];

    c->in_job = true;
    j->fd = open_file(ep, j->a.path, &j->st);
    int rc = j->fd < 0 ? j->fd : sniff(j);
    atomic_fetch_sub(&ep->jobs, 1);
    if (rc) {
        fail(c, rc, origin_msg(rc));
        finish(j);
        return;
    }
    if (j->image && (uint64_t)j->st.st_size > s->limits.max_input_bytes) {
        j->probe_msg = "larger than --max-input-mb: not probed";
    } else if (j->image) {
        rc = pool_submit(s->pool, probe_job, j);
        if (rc == 0)
            return;
        j->probe_msg = rc == -EBUSY ? "too many transforms waiting: not probed" : "shutting down";
    }
    send_facts(j, NULL, NULL);
    finish(j);
}

/* ---- The API ------------------------------------------------------------------------------- */

/* GET /_blobkit/api/endpoints: what there is to browse, and what the server can do. */
static enum MHD_Result api_endpoints(struct console *con, struct conn *c)
{
    struct srv *s = c->srv;
    struct signer k;
    struct json o;

    signer_load(s, &k);
    json_init(&o, JSON_MAX);
    json_raw(&o, "{\"endpoints\":[");
    for (size_t i = 0; i < s->nep; i++) {
        json_raw(&o, i ? ",{\"id\":" : "{\"id\":");
        json_u64(&o, i);
        json_raw(&o, ",\"prefix\":");
        json_cstr(&o, s->route[i].prefix);
        json_raw(&o, ",\"host\":");
        json_cstr(&o, s->route[i].host);
        json_raw(&o, s->ep[i].require_sig ? ",\"public\":false}" : ",\"public\":true}");
    }
    json_raw(&o, k.len ? "],\"signed\":true" : "],\"signed\":false");
    json_raw(&o, con->layers ? ",\"layers\":true" : ",\"layers\":false");
    json_raw(&o, con->video ? ",\"video\":true}\n" : ",\"video\":false}\n");
    signer_wipe(&k);
    return send_json(c, 200, &o, NULL);
}

/* GET /_blobkit/api/list?ep=N&path=P&q=FILTER&offset=K&limit=L: a page of a folder. */
static enum MHD_Result api_list(struct console *con, struct conn *c, struct str q)
{
    struct args a;
    const char *msg;

    int rc = parse_args(c->srv, q, &a, &msg);
    if (rc)
        return fail(c, rc, msg);
    if (atomic_fetch_add(&con->listings, 1) >= LISTINGS_MAX) {
        atomic_fetch_sub(&con->listings, 1);
        return fail(c, -EBUSY, "too many folder listings at once");
    }
    struct job *j = job_new(con, c, &a);
    if (!j) {
        atomic_fetch_sub(&con->listings, 1);
        return fail(c, -ENOMEM, NULL);
    }
    j->listing = true;
    return start_job(c, j, list_job);
}

/* GET /_blobkit/api/file?ep=N&path=P: a file's facts. */
static enum MHD_Result api_file(struct console *con, struct conn *c, struct str q)
{
    struct args a;
    const char *msg;

    int rc = parse_args(c->srv, q, &a, &msg);
    if (rc)
        return fail(c, rc, msg);
    if (!a.path[0])
        return fail(c, -EINVAL, "path: give a file");
    struct job *j = job_new(con, c, &a);
    return j ? start_job(c, j, file_job) : fail(c, -ENOMEM, NULL);
}

/* GET /_blobkit/api/url?ep=N&path=P&tr=CHAIN: the URL of a file with a chain, signed when a
 * key is set. No origin call: whether the chain parses, the URL's own answer says. */
static enum MHD_Result api_url(struct conn *c, struct str q)
{
    struct args a;
    const char *msg;
    char url[URL_CAP];
    struct signer k;
    bool here;
    struct json o;

    int rc = parse_args(c->srv, q, &a, &msg);
    if (rc || !a.path[0])
        return fail(c, rc ? rc : -EINVAL, rc ? msg : "path: give a file");
    signer_load(c->srv, &k);
    bool is_signed = k.len > 0;
    int n = endpoint_url(c, &k, a.ep, a.chain, a.path, "", url, &here);
    signer_wipe(&k);
    if (n < 0)
        return fail(c, n, n == -ENAMETOOLONG ? "the URL would be over 4 KiB" : NULL);
    json_init(&o, 3 * URL_CAP);
    json_raw(&o, "{\"url\":");
    json_cstr(&o, url);
    json_raw(&o, here ? ",\"here\":true" : ",\"here\":false");
    json_raw(&o, is_signed ? ",\"signed\":true}\n" : ",\"signed\":false}\n");
    return send_json(c, 200, &o, NULL);
}

/* ---- Entry points -------------------------------------------------------------------------- */

bool console_owns(const char *target, size_t len)
{
    size_t n = strlen(CONSOLE_PREFIX);

    return len >= n && memcmp(target, CONSOLE_PREFIX, n) == 0 &&
           (len == n || target[n] == '/' || target[n] == '?');
}

enum MHD_Result console_handle(struct console *con, struct conn *c)
{
    struct str rest = {c->target + strlen(CONSOLE_PREFIX), c->target_len - strlen(CONSOLE_PREFIX)},
               path;

    if (!con)
        return reply_error(c, -ENOENT, "file not found");
    if (!authorized(c))
        return fail(c, -EKEYREJECTED, "the console asks for the signing key as the user name");
    str_cut(&rest, '?', &path);
    for (size_t i = 0; i < sizeof(assets) / sizeof(assets[0]); i++) {
        if (str_eq(path, assets[i].path))
            return send_asset(c, &assets[i]);
    }
    if (str_eq(path, "/api/endpoints"))
        return api_endpoints(con, c);
    if (str_eq(path, "/api/list"))
        return api_list(con, c, rest);
    if (str_eq(path, "/api/file"))
        return api_file(con, c, rest);
    if (str_eq(path, "/api/url"))
        return api_url(c, rest);
    return fail(c, -ENOENT, "no such page in the console");
}

struct console *console_new(struct srv *s)
{
    struct console *con = calloc(1, sizeof(*con));
    struct tr_chain *probe = malloc(sizeof(*probe));
    char err[TR_ERR_LEN];

    if (!con || !probe) {
        free(con);
        free(probe);
        return NULL;
    }
    con->srv = s;
    tr_chain_init(probe);
    con->layers = tr_parse(probe, LAYER_PROBE, strlen(LAYER_PROBE), NULL, err) == 0;
    free(probe);
    if (s->key.len)
        log_info("console on %s/: Basic auth with the signing key as the user name",
                 CONSOLE_PREFIX);
    else
        log_warn("console on %s/ without a signing key: anyone who reaches the server can "
                 "browse every origin",
                 CONSOLE_PREFIX);
    return con;
}

void console_free(struct console *con)
{
    free(con);
}
