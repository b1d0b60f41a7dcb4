/* httpd/deliver.c: from a routed request to a response. Every file-system call on an origin
 * runs on the origin pool while the connection is suspended, never on libmicrohttpd's I/O
 * threads: a stalled mount holds origin threads, not the server. Originals go out from memory
 * (small) or as file descriptors (sendfile) with Range and conditional requests; images are
 * transformed on the transform pool, through the derived-image cache. */
#include "srv_i.h"

#include "clock.h"
#include "guard.h"
#include "hmetrics.h"
#include "http.h"
#include "log.h"
#include "vidserve.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SNIFF_BYTES 4096
#define TAG_ORIGINAL (-1) /* a cache entry holding an original file's bytes, not a tr_format */
#define TAG_LAYER (-2)    /* a cache entry holding a decoded layer image (struct tr_source) */
#define ENGINE_VERSION "blobhttpd-2" /* part of every derived ETag: bump when output changes */

/* ---- Finding the file ---------------------------------------------------------------------- */

/* The first origin of ep that has rel; ENOENT falls through to the next, other errors stop. */
static int open_in_origins(const struct endpoint *ep, const char *rel, struct stat *st)
{
    int fd = -ENOENT;

    for (size_t i = 0; i < ep->norigins && (fd == -ENOENT || fd == -ENOTDIR); i++)
        fd = origin_open(ep->origin[i], rel, st);
    return fd == -ENOTDIR ? -ENOENT : fd;
}

/* The requested file (c->name), or the chain's default image (di-) when it is missing. */
static int open_source(struct conn *c, struct stat *st)
{
    const struct endpoint *ep = &c->srv->ep[c->endpoint];
    char err[ROUTE_ERR_LEN];

    int fd = open_in_origins(ep, c->name, st);
    if (fd != -ENOENT || !c->chain.default_image[0])
        return fd;
    if (route_clean_path(c->chain.default_image, strlen(c->chain.default_image), c->name,
                         sizeof(c->name), err))
        return -ENOENT;
    c->used_default = true;
    return open_in_origins(ep, c->name, st);
}

static void close_layers(struct conn *c)
{
    for (unsigned i = 0; i < c->nlayer_open; i++)
        if (c->layer_fd[i] >= 0)
            close(c->layer_fd[i]);
    c->nlayer_open = 0;
}

/* The file of layer i, as i- (an image layer) or ff- (a text layer's font file) gave it. */
static const char *layer_path(const struct conn *c, unsigned i, char out[TR_MAX_PATH])
{
    const struct tr_layer *l = &c->chain.layer[i];
    bool font = l->type == TR_LAYER_TEXT;

    snprintf(out, TR_MAX_PATH, "%.*s", (int)(font ? l->font_len : l->in_len),
             c->chain.strings + (font ? l->font_off : l->in_off));
    return out;
}

/* "l-image,i-" or "l-text,ff-", for messages. */
static const char *layer_key(const struct conn *c, unsigned i)
{
    return c->chain.layer[i].type == TR_LAYER_TEXT ? "l-text,ff-" : "l-image,i-";
}

/* Open every layer's file (an image layer's image, a text layer's font file) in the endpoint's
 * origins, as the requested file is (on this origin thread, confined the same way); their
 * sizes together count against the input limit.
 * Returns 0, or an -errno with msg naming the layer. */
static int open_layers(struct conn *c, char msg[TR_ERR_LEN])
{
    const struct endpoint *ep = &c->srv->ep[c->endpoint];
    char path[TR_MAX_PATH], rel[ROUTE_MAX_PATH], err[ROUTE_ERR_LEN];
    uint64_t total = 0;

    for (unsigned i = 0; i < c->chain.nlayers && i < TR_MAX_LAYERS; i++) {
        const struct tr_layer *l = &c->chain.layer[i];

        c->layer_fd[i] = -1;
        c->nlayer_open = i + 1;
        if (l->type == TR_LAYER_IMAGE ? l->canvas : !l->font_len)
            continue;
        layer_path(c, i, path);
        int fd = route_clean_path(path, strlen(path), rel, sizeof(rel), err)
                     ? -ENOENT
                     : open_in_origins(ep, rel, &c->layer_st[i]);
        if (fd < 0) {
            hmetrics_origin_error(c->srv->metrics, fd);
            snprintf(msg, TR_ERR_LEN, "layer %s%.60s: %s", layer_key(c, i), path,
                     fd == -ENOENT ? "not found" : strerror(-fd));
            return fd;
        }
        c->layer_fd[i] = fd;
        total += (uint64_t)c->layer_st[i].st_size;
        if (total > c->srv->limits.max_input_bytes) {
            snprintf(msg, TR_ERR_LEN, "layer images larger than %u MiB together",
                     c->srv->conf->max_input_mb);
            return -E2BIG;
        }
    }
    return 0;
}

/* The path steps, then the query steps, as one chain (with named transformations). */
static int parse_chain(struct conn *c, const struct route *rt, char err[TR_ERR_LEN])
{
    const struct tr_names *names = &c->srv->names;
    int rc = 0;

    tr_chain_init(&c->chain);
    if (rt->tr_path[0])
        rc = tr_parse(&c->chain, rt->tr_path, strlen(rt->tr_path), names, err);
    if (rc == 0 && rt->tr_query[0])
        rc = tr_parse(&c->chain, rt->tr_query, strlen(rt->tr_query), names, err);
    return rc;
}

/* Content-Type of an original image, from what its bytes say it is. */
static const char *source_mime(enum tr_source_type t)
{
    switch (t) {
    case TR_SRC_JPEG:
        return "image/jpeg";
    case TR_SRC_PNG:
        return "image/png";
    case TR_SRC_GIF:
        return "image/gif";
    case TR_SRC_WEBP:
        return "image/webp";
    case TR_SRC_AVIF:
        return "image/avif";
    case TR_SRC_HEIF:
        return "image/heif";
    case TR_SRC_TIFF:
        return "image/tiff";
    case TR_SRC_SVG:
        return "image/svg+xml";
    case TR_SRC_PDF:
        return "application/pdf";
    default:
        return NULL;
    }
}

/* What the file is: by extension, and for images (or no known extension) by its first bytes.
 * Returns 0 with *type set, or the read's -errno. */
static int sniff_source(int fd, const char *name, struct tr_sniff *sn, const char **type)
{
    unsigned char head[SNIFF_BYTES];
    const char *ext = http_mime_for_path(name);

    memset(sn, 0, sizeof(*sn));
    sn->type = TR_SRC_UNKNOWN;
    *type = ext ? ext : "application/octet-stream";
    if (ext && strncmp(ext, "image/", 6) != 0 && strcmp(ext, "application/pdf") != 0)
        return 0; /* video, CSS, fonts...: never transformed, not read here */
    ssize_t n = pread(fd, head, sizeof(head), 0);
    if (n < 0)
        return -errno;
    tr_sniff(head, (size_t)n, sn);
    if (tr_sniff_is_image(sn) && source_mime(sn->type))
        *type = source_mime(sn->type);
    return 0;
}

/* Transform when the file is an image we decode and the URL asks for it; an empty chain asks
 * for ImageKit's default optimisation when --auto-optimize is on, for web raster formats
 * only (an SVG or PDF without tr stays what it is). */
static bool wants_transform(const struct conn *c, const struct tr_sniff *sn)
{
    if (!tr_sniff_is_image(sn) || tr_chain_wants_original(&c->chain))
        return false;
    if (!tr_chain_is_empty(&c->chain))
        return true;
    return c->srv->conf->auto_optimize && sn->type != TR_SRC_SVG && sn->type != TR_SRC_PDF;
}

static int64_t mtime_ns(const struct stat *st)
{
    return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

/* An original's strong ETag: the file's identity. blobfs gives a blob a new inode number when
 * its ETag changes, so (dev, ino, size, mtime) changes exactly when the bytes do. */
static void reply_for_file(struct conn *c, const struct stat *st, const char *type)
{
    struct reply *rp = &c->reply;

    snprintf(rp->etag, sizeof(rp->etag), "\"%" PRIx64 "-%" PRIx64 "-%" PRIx64 "-%" PRIx64 "\"",
             (uint64_t)st->st_dev, (uint64_t)st->st_ino, (uint64_t)st->st_size,
             (uint64_t)mtime_ns(st));
    rp->mtime = st->st_mtim.tv_sec;
    rp->content_type = type;
    rp->cache_control = c->used_default ? c->srv->error_cache_control : c->srv->cache_control;
    rp->vary_accept = rp->vary_hints = false;
    rp->document = http_type_is_document(type) && !c->srv->ep[c->endpoint].trusted_documents;
}

/* ---- Originals ----------------------------------------------------------------------------- */

/* Read exactly len bytes at off into buf. Returns 0, -errno, or -EIO when the file ends first
 * (shorter than fstat said: it changed under us). */
static int pread_full(int fd, char *buf, size_t len, off_t off)
{
    for (size_t got = 0; got < len;) {
        ssize_t n = pread(fd, buf + got, len - got, off + (off_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        got += (size_t)n;
    }
    return 0;
}

/* A small original goes out from a copy in memory, a larger one by sendfile(). libmicrohttpd
 * sendfile()s 128 KiB at a time, and corks and uncorks the socket around each piece: a 300 KB
 * JPEG cost 3 sendfile() and 3 setsockopt() calls and went out at 0.55x nginx's rate, where one
 * pread() and one send of headers and body together match nginx (bench-httpd.sh, originals).
 * Copies in flight (slow clients hold theirs) stay within a budget; past it, sendfile(). */
#define COPY_MAX (512 * 1024)
#define COPY_BUDGET (64 * 1024 * 1024)

struct copy {
    struct srv *srv;
    size_t len;
    char data[];
};

static void copy_free(void *cls)
{
    struct copy *cp = cls;

    atomic_fetch_sub(&cp->srv->copy_bytes, cp->len);
    free(cp);
}

/* Returns a response holding bytes [start, start + len) of fd, or NULL: with *err 0 when the
 * range is too big, over the budget or memory ran out (then the caller sends the fd), or with
 * *err the read's -errno (then the file cannot be sent: a sendfile() of the same fd would fail
 * the same way, after a 200 went out). */
static struct MHD_Response *copied_body(struct srv *s, int fd, uint64_t start, uint64_t len,
                                        int *err)
{
    *err = 0;
    if (len > COPY_MAX)
        return NULL;
    if (atomic_fetch_add(&s->copy_bytes, len) + len > COPY_BUDGET) {
        atomic_fetch_sub(&s->copy_bytes, len);
        return NULL;
    }
    struct copy *cp = malloc(sizeof(*cp) + len);
    struct MHD_Response *resp = NULL;
    if (cp)
        *err = pread_full(fd, cp->data, len, (off_t)start);
    if (cp && *err == 0) {
        *cp = (struct copy){.srv = s, .len = len};
        resp = MHD_create_response_from_buffer_with_free_callback_cls(len, cp->data, copy_free, cp);
    }
    if (!resp) {
        atomic_fetch_sub(&s->copy_bytes, len);
        free(cp);
    }
    return resp;
}

static int keep_original(struct conn *c, int fd, const struct stat *st);

/* The file as it is: when small, whole from the cache (kept there now) or a ranged copy; else
 * from its fd (libmicrohttpd sendfile()s it and closes fd). */
static enum MHD_Result deliver_original(struct conn *c, int fd, const struct stat *st,
                                        const char *type)
{
    uint64_t size = (uint64_t)st->st_size, start = 0, len = size;

    reply_for_file(c, st, type);
    if (reply_is_not_modified(c)) {
        close(fd);
        return reply_not_modified(c);
    }
    int ranged = reply_range(c, size, &start, &len);
    if (ranged < 0 || size == 0) {
        close(fd);
        return ranged < 0
                   ? reply_unsatisfiable(c, size)
                   : reply_body(c, MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT),
                                0, 0, 0, 0);
    }
    int kept = ranged || size > COPY_MAX ? 1 : keep_original(c, fd, st);
    if (kept == 0) {
        close(fd);
        return MHD_YES; /* answered from the cache */
    }
    int err = kept < 0 ? kept : 0;
    struct MHD_Response *resp = err ? NULL : copied_body(c->srv, fd, start, len, &err);
    if (resp || err)
        close(fd);
    else if (!(resp = MHD_create_response_from_fd_at_offset64(len, fd, start)))
        close(fd);
    if (err) {
        hmetrics_origin_error(c->srv->metrics, err);
        log_warn("request %s: cannot read %s: %s", c->request_id, c->name, strerror(-err));
        return reply_error(c, -EIO, "cannot read the file from the origin");
    }
    return reply_body(c, resp, ranged, start, len, size);
}

/* ---- Transforms ---------------------------------------------------------------------------- */

static bool chain_uses_hints(const struct tr_chain *ch)
{
    for (unsigned i = 0; i < ch->nsteps; i++) {
        if (ch->step[i].w.kind == TR_NUM_AUTO || ch->step[i].dpr.kind == TR_NUM_AUTO)
            return true;
    }
    return false;
}

/* Sec-CH-DPR and Sec-CH-Width, for dpr-auto and w-auto; 0 when absent or out of range. */
static void read_hints(struct conn *c)
{
    const char *dpr = reply_header(c, "Sec-CH-DPR"), *width = reply_header(c, "Sec-CH-Width");
    char *end;

    c->hint_dpr = 0;
    c->hint_width = 0;
    if (!c->reply.vary_hints)
        return;
    double v = dpr ? strtod(dpr, &end) : 0;
    if (dpr && end != dpr && v > 0 && v <= 5)
        c->hint_dpr = tr_hint_dpr(v); /* the value tr_apply() uses, so the key says it */
    long w = width ? strtol(width, &end, 10) : 0;
    if (width && end != width && w > 0 && w <= 16383)
        c->hint_width = tr_hint_width(w);
}

/* The cache key of a derived image (source identity, format, hints, each layer image's
 * identity, canonical chain), and its ETag: a hash of the key. A logo replaced on the mount
 * has a new identity, so a new key. Returns 0 or -ENAMETOOLONG. */
static int derived_key(struct conn *c, const struct stat *st)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    int n = snprintf(c->key, sizeof(c->key),
                     "%s|%" PRIx64 "|%" PRIx64 "|%" PRIx64 "|%" PRIx64 "|%s|%a|%d|", ENGINE_VERSION,
                     (uint64_t)st->st_dev, (uint64_t)st->st_ino, (uint64_t)st->st_size,
                     (uint64_t)mtime_ns(st), tr_format_name(c->format), c->hint_dpr, c->hint_width);
    for (unsigned i = 0; i < c->nlayer_open; i++) {
        const struct stat *l = &c->layer_st[i];

        if (c->layer_fd[i] >= 0 && n > 0 && (size_t)n < sizeof(c->key))
            n += snprintf(c->key + n, sizeof(c->key) - (size_t)n,
                          "L%u:%" PRIx64 "-%" PRIx64 "-%" PRIx64 "-%" PRIx64 "|", i,
                          (uint64_t)l->st_dev, (uint64_t)l->st_ino, (uint64_t)l->st_size,
                          (uint64_t)mtime_ns(l));
    }
    int m = n > 0 && (size_t)n < sizeof(c->key)
                ? tr_canonical(&c->chain, c->key + n, sizeof(c->key) - (size_t)n)
                : -1;
    if (m < 0)
        return -ENAMETOOLONG;
    c->key_len = (size_t)(n + m);
    if (!EVP_Digest(c->key, c->key_len, md, &mdlen, EVP_sha256(), NULL))
        return -ENOMEM;
    c->reply.etag[0] = '"';
    for (unsigned i = 0; i < 16; i++) {
        c->reply.etag[1 + 2 * i] = hex[md[i] >> 4];
        c->reply.etag[2 + 2 * i] = hex[md[i] & 15];
    }
    memcpy(c->reply.etag + 33, "\"", 2);
    return 0;
}

static void put_entry(void *entry)
{
    imgcache_put(entry);
}

/* A derived image from a filled cache entry; the response holds the reference. */
static enum MHD_Result respond_entry(struct conn *c, struct imgcache_entry *e)
{
    const void *data;
    size_t size;
    int tag;
    const char *msg;
    uint64_t start = 0, len;

    imgcache_entry_result(e, &data, &size, &tag, &msg);
    c->derived = tag != TAG_ORIGINAL;
    if (tag != TAG_ORIGINAL)
        c->reply.content_type = tr_format_mime((enum tr_format)tag);
    len = size;
    int ranged = reply_range(c, size, &start, &len);
    if (ranged < 0) {
        imgcache_put(e);
        return reply_unsatisfiable(c, size);
    }
    struct MHD_Response *resp = MHD_create_response_from_buffer_with_free_callback_cls(
        (size_t)len, (void *)((uintptr_t)data + start), put_entry, e);
    if (!resp)
        imgcache_put(e);
    return reply_body(c, resp, ranged, start, len, size);
}

static void release_image(void *owner)
{
    tr_image_release(owner);
    free(owner);
}

/* The whole source in memory, as tr_apply() wants it. Returns 0 or -errno. */
static int read_source(int fd, off_t size, size_t cap, void **out)
{
    if ((uint64_t)size > cap)
        return -E2BIG;
    char *buf = malloc(size ? (size_t)size : 1);
    if (!buf)
        return -ENOMEM;
    int err = pread_full(fd, buf, (size_t)size, 0);
    if (err) {
        free(buf);
        return err;
    }
    *out = buf;
    return 0;
}

/* A message for a failed transform whose own err is empty. */
static void job_error(struct srv *s, int rc, char err[TR_ERR_LEN])
{
    if (err[0])
        return;
    if (rc == -E2BIG)
        snprintf(err, TR_ERR_LEN, "source larger than %u MiB", s->conf->max_input_mb);
    else if (rc == -ETIMEDOUT)
        snprintf(err, TR_ERR_LEN, "transform took longer than %u s", s->conf->transform_timeout);
    else if (rc == -ECANCELED)
        snprintf(err, TR_ERR_LEN, "every client waiting for this transform left");
    else
        snprintf(err, TR_ERR_LEN, "cannot read the source: %s", strerror(-rc));
}

static void release_source(void *owner)
{
    tr_source_free(owner);
}

/* Layer i's image decoded: from the cache of decoded layers, under the file's identity (a
 * watermark every request uses is decoded once), else read from its file, decoded and kept
 * there. *out is a reference for the caller to free. Returns 0 or an -errno with err set. */
static int layer_source(struct conn *c, unsigned i, struct tr_source **out, char err[TR_ERR_LEN])
{
    struct srv *s = c->srv;
    const struct stat *st = &c->layer_st[i];
    char key[128], path[TR_MAX_PATH], why[TR_ERR_LEN] = "";
    const void *data;
    size_t len;
    int tag;
    const char *msg;
    void *buf = NULL;

    int klen = snprintf(key, sizeof(key), "layer|%" PRIx64 "|%" PRIx64 "|%" PRIx64 "|%" PRIx64,
                        (uint64_t)st->st_dev, (uint64_t)st->st_ino, (uint64_t)st->st_size,
                        (uint64_t)mtime_ns(st));
    struct imgcache_entry *e = imgcache_get(s->cache, key, (size_t)klen);
    if (e) {
        imgcache_entry_result(e, &data, &len, &tag, &msg);
        *out = tr_source_ref((struct tr_source *)(uintptr_t)data);
        imgcache_put(e);
        hmetrics_layer(s->metrics, true);
        return 0;
    }
    int rc = read_source(c->layer_fd[i], st->st_size, s->limits.max_input_bytes, &buf);
    if (rc && rc != -E2BIG && rc != -ENOMEM)
        hmetrics_origin_error(s->metrics, rc);
    else if (!rc)
        rc = tr_source_new(buf, (size_t)st->st_size, &s->limits, out, why);
    free(buf);
    if (rc) {
        snprintf(err, TR_ERR_LEN, "layer %s%.36s: %.70s", layer_key(c, i), layer_path(c, i, path),
                 rc == -EBADMSG         ? "not an image"
                 : why[0] && rc != -EIO ? why
                                        : strerror(-rc));
        return rc;
    }
    hmetrics_layer(s->metrics, false);
    struct tr_source *kept = tr_source_ref(*out);
    if (imgcache_set(s->cache, key, (size_t)klen, kept, tr_source_size(kept), release_source, kept,
                     TAG_LAYER))
        tr_source_free(kept);
    return 0;
}

/* What tr_apply() takes of the layers' files: decoded images, font files' paths. */
struct layer_files {
    struct tr_source *src[TR_MAX_LAYERS];
    const char *font[TR_MAX_LAYERS];
    char font_path[TR_MAX_LAYERS][FONTS_PATH_MAX];
};

/* Text layer i's font file, copied for fontconfig (fonts.h). */
static int layer_font(struct conn *c, unsigned i, struct layer_files *lf, char err[TR_ERR_LEN])
{
    char path[TR_MAX_PATH];
    int rc = fonts_path(c->srv->fonts, c->layer_fd[i], &c->layer_st[i],
                        c->srv->limits.max_input_bytes, lf->font_path[i]);

    if (rc)
        snprintf(err, TR_ERR_LEN, "layer l-text,ff-%.40s: %s", layer_path(c, i, path),
                 rc == -E2BIG ? "too large, or too many font files" : strerror(-rc));
    else
        lf->font[i] = lf->font_path[i];
    return rc;
}

/* Every layer's file into lf, the files closed. */
static int layer_sources(struct conn *c, struct layer_files *lf, char err[TR_ERR_LEN])
{
    int rc = 0;

    for (unsigned i = 0; i < c->nlayer_open && !rc; i++) {
        if (c->layer_fd[i] < 0)
            continue;
        if (c->chain.layer[i].type == TR_LAYER_TEXT)
            rc = layer_font(c, i, lf, err);
        else
            rc = layer_source(c, i, &lf->src[i], err);
    }
    close_layers(c);
    return rc;
}

/* A worker: read, transform, fill the entry. The connection may be resumed (and gone) as soon
 * as the entry is filled or failed, so c is not touched after that. */
static void run_transform(void *arg)
{
    struct conn *c = arg;
    struct srv *s = c->srv;
    struct imgcache_entry *e = c->entry;
    char err[TR_ERR_LEN] = "";
    struct tr_image img, *owned;
    struct layer_files *lf = calloc(1, sizeof(*lf)); /* 2 KB of paths: off the stack */
    void *src = NULL;

    int rc = read_source(c->fd, c->size, s->limits.max_input_bytes, &src);
    close(c->fd);
    c->fd = -1;
    if (rc && rc != -E2BIG && rc != -ENOMEM)
        hmetrics_origin_error(s->metrics, rc);
    if (!rc && !lf)
        rc = -ENOMEM;
    if (rc)
        close_layers(c);
    else if ((rc = layer_sources(c, lf, err)))
        free(src);
    if (rc == 0) {
        struct tr_request rq = {.chain = &c->chain,
                                .src = src,
                                .len = (size_t)c->size,
                                .format = c->format,
                                .limits = &s->limits,
                                .hint_dpr = c->hint_dpr,
                                .hint_width = c->hint_width,
                                .max_mem = (size_t)s->conf->max_transform_mb << 20,
                                .deadline_ns = clock_now_ns() +
                                               (uint64_t)s->conf->transform_timeout * 1000000000u,
                                .cancel = imgcache_cancel_flag(e),
                                .layer_src = (const struct tr_source *const *)lf->src,
                                .layer_font = lf->font};
        uint64_t t0 = clock_now_ns();
        rc = tr_apply(&rq, &img, err);
        hmetrics_transform(s->metrics, c->format, (double)(clock_now_ns() - t0) / 1e9);
        free(src);
    }
    for (unsigned i = 0; lf && i < TR_MAX_LAYERS; i++)
        tr_source_free(lf->src[i]);
    free(lf);
    owned = rc == 0 ? malloc(sizeof(*owned)) : NULL;
    if (rc == 0 && !owned) {
        tr_image_release(&img);
        rc = -ENOMEM;
    }
    if (rc) {
        job_error(s, rc, err);
        imgcache_fail(s->cache, e, rc, err);
        return;
    }
    *owned = img;
    imgcache_fill(s->cache, e, owned->data, owned->len, release_image, owned, owned->format);
}

static void wake(void *arg)
{
    struct conn *c = arg;

    atomic_store(&c->woken, true);
    MHD_resume_connection(c->mhd);
}

/* A cache miss, on an origin thread: join or start the entry's fill. Returns true when the
 * cache now wakes the connection (the fill or the one it joined ends, or fails), after which
 * c is not touched here; false when the caller must (a hit that raced in, no memory). */
static bool schedule(struct conn *c)
{
    struct srv *s = c->srv;
    struct imgcache_entry *e = NULL;

    c->in_job = false; /* from now on the I/O thread answers, after the resume */
    int rc = imgcache_acquire(s->cache, c->key, c->key_len, wake, c, &e);
    c->entry = e;
    c->err = rc < 0 ? rc : 0;
    if (rc != IMGCACHE_FILL && rc != IMGCACHE_WAIT) {
        close(c->fd);
        c->fd = -1;
        close_layers(c);
        return false;
    }
    guard_watch(s->guard, c, true);
    if (rc == IMGCACHE_WAIT) {
        close(c->fd);
        c->fd = -1;
        close_layers(c);
        return true;
    }
    rc = pool_submit(s->pool, run_transform, c);
    if (rc == 0)
        return true; /* the job owns c->fd and the layers' files, and wakes us */
    close(c->fd);
    c->fd = -1;
    close_layers(c);
    imgcache_fail(s->cache, e, -EBUSY,
                  rc == -EBUSY ? "too many transforms waiting" : "shutting down");
    return true;
}

/* ---- Answering cache hits without the origin ------------------------------------------------ */

/* What a cache hit needs to be answered without touching the origin: written by the origin job
 * that last checked the source (its identity gives the derived key), read by later requests
 * for the same URL within --recheck seconds. Kept in the derived-image cache under the URL's
 * alias key, so it is evicted like anything else. */
struct memo {
    uint64_t checked_ns;
    struct reply reply;
    bool used_default;
    size_t key_len;
    char key[SRV_KEY_LEN];
    char name[ROUTE_MAX_PATH];
};

/* The alias key of a request: everything a derived image depends on except the source's
 * identity (endpoint, path, hints, Accept when f-auto looks at it, the canonical chain).
 * Variable parts carry their length, so no two requests share one. alias_len 0: too long. */
static void memo_key(struct conn *c)
{
    const char *accept = c->reply.vary_accept ? reply_header(c, "Accept") : NULL;
    size_t cap = sizeof(c->alias);

    accept = accept ? accept : "";
    int n = snprintf(c->alias, cap, "memo|%zu|%zu:%s|%a|%d|%zu:%s|", c->endpoint, strlen(c->name),
                     c->name, c->hint_dpr, c->hint_width, strlen(accept), accept);
    int m = n > 0 && (size_t)n < cap ? tr_canonical(&c->chain, c->alias + n, cap - (size_t)n) : -1;
    c->alias_len = m < 0 ? 0 : (size_t)(n + m);
}

static void memo_free(void *owner)
{
    free(owner);
}

/* Remember that c's URL maps to c->key as of now (on an origin thread, the source just
 * checked). Failing to remember only costs a later request an origin check. */
static void memo_store(struct conn *c)
{
    struct srv *s = c->srv;
    struct memo *mo;

    if (!s->conf->recheck || !c->alias_len || !(mo = malloc(sizeof(*mo))))
        return;
    mo->checked_ns = clock_now_ns();
    mo->reply = c->reply;
    mo->used_default = c->used_default;
    mo->key_len = c->key_len;
    memcpy(mo->key, c->key, c->key_len);
    snprintf(mo->name, sizeof(mo->name), "%s", c->name);
    if (imgcache_set(s->cache, c->alias, c->alias_len, mo, sizeof(*mo), memo_free, mo, 0))
        free(mo);
}

/* The derived image for c's URL when its memo is recent (any age when stale) and the image
 * is cached, with c's reply, key and name filled in from the memo; NULL otherwise. No I/O. */
static struct imgcache_entry *memo_lookup(struct conn *c, bool stale)
{
    struct srv *s = c->srv;
    const void *data;
    size_t len;
    int tag;
    const char *msg;
    struct imgcache_entry *e = NULL, *m;

    if (!s->conf->recheck || !c->alias_len || !(m = imgcache_get(s->cache, c->alias, c->alias_len)))
        return NULL;
    imgcache_entry_result(m, &data, &len, &tag, &msg);
    const struct memo *mo = data;
    if (stale || clock_now_ns() - mo->checked_ns < (uint64_t)s->conf->recheck * 1000000000u)
        e = imgcache_get(s->cache, mo->key, mo->key_len);
    if (e) {
        c->reply = mo->reply;
        c->used_default = mo->used_default;
        c->key_len = mo->key_len;
        memcpy(c->key, mo->key, mo->key_len);
        snprintf(c->name, sizeof(c->name), "%s", mo->name);
    }
    imgcache_put(m);
    return e;
}

/* Answer from a derived image that memo_lookup() found: 304 or the image. */
static enum MHD_Result respond_memo(struct conn *c, struct imgcache_entry *e)
{
    c->derived = strncmp(c->key, "orig|", 5) != 0;
    if (!reply_is_not_modified(c))
        return respond_entry(c, e);
    imgcache_put(e);
    return reply_not_modified(c);
}

/* ---- From the origin, on an origin thread ------------------------------------------------- */

/* A small original, read whole into the cache under its identity, with a memo: the URL's next
 * requests within --recheck are answered from memory on the I/O thread, like cache hits, with
 * no origin call and no thread hop. Returns 0 when it answered, the read's -errno, or 1 when
 * the caller sends the file as usual (cache or recheck off, no memory, too big to keep). */
static int keep_original(struct conn *c, int fd, const struct stat *st)
{
    struct srv *s = c->srv;
    size_t size = (size_t)st->st_size;
    char *buf;

    if (!s->conf->recheck || !s->conf->cache_mb || !c->alias_len || !(buf = malloc(size)))
        return 1;
    int err = pread_full(fd, buf, size, 0);
    if (err) {
        free(buf);
        return err;
    }
    c->key_len = (size_t)snprintf(c->key, sizeof(c->key), "orig|%s", c->reply.etag);
    if (imgcache_set(s->cache, c->key, c->key_len, buf, size, memo_free, buf, TAG_ORIGINAL)) {
        free(buf);
        return 1;
    }
    struct imgcache_entry *e = imgcache_get(s->cache, c->key, c->key_len);
    if (!e)
        return 1; /* larger than the whole budget: not kept */
    memo_store(c);
    respond_entry(c, e);
    return 0;
}

/* Returns true when the cache now wakes the connection (see schedule()). */
static bool deliver_transform(struct conn *c, int fd, const struct stat *st,
                              const struct tr_sniff *sn)
{
    struct srv *s = c->srv;
    struct reply *rp = &c->reply;

    c->derived = true;
    c->format = tr_pick_format(&c->chain, sn, reply_header(c, "Accept"), s->conf->avif_auto);
    rp->mtime = st->st_mtim.tv_sec;
    rp->content_type = tr_format_mime(c->format);
    rp->cache_control = c->used_default ? s->error_cache_control : s->cache_control;
    rp->document = false;
    int rc = derived_key(c, st);
    if (rc || reply_is_not_modified(c)) {
        close(fd);
        close_layers(c);
        rc ? reply_error(c, rc, "transformation too long") : reply_not_modified(c);
        return false;
    }
    memo_store(c);
    struct imgcache_entry *e = imgcache_get(s->cache, c->key, c->key_len);
    if (e) {
        close(fd);
        close_layers(c);
        respond_entry(c, e);
        return false;
    }
    c->fd = fd;
    c->size = st->st_size;
    return schedule(c);
}

static const char *open_error(struct conn *c, int err)
{
    switch (-err) {
    case ENOENT:
        return "file not found";
    case ELOOP:
        return "symlinks are not followed";
    case EXDEV:
        return "path leads outside the origin";
    case EACCES:
    case EPERM:
        return "permission denied";
    case EMFILE:
    case ENFILE:
        log_warn("request %s: cannot open %s: %s", c->request_id, c->name, strerror(-err));
        return "out of file descriptors";
    default:
        log_warn("request %s: cannot open %s: %s", c->request_id, c->name, strerror(-err));
        return "the origin failed";
    }
}

/* The origin failed (err): a derived image it gave this URL before is still better than an
 * error (stale-if-error); else the error. */
static void origin_failed(struct conn *c, int err)
{
    struct imgcache_entry *e = NULL;
    const char *msg = open_error(c, err);

    hmetrics_origin_error(c->srv->metrics, err);
    if (http_status_for_errno(err) >= 500)
        e = memo_lookup(c, true);
    if (e)
        respond_memo(c, e);
    else
        reply_error(c, err, msg);
}

/* Open, sniff, then answer or hand over to a transform. Returns true when the cache now
 * wakes the connection; otherwise a response (or c->err) waits for the resume. */
static bool serve(struct conn *c)
{
    struct stat st;
    struct tr_sniff sn;
    const char *type;

    int fd = open_source(c, &st);
    if ((fd == -ENOENT || fd == -ENOTDIR) && vidserve_unsuffix(c))
        fd = open_source(c, &st); /* FILE/ik-...: no FILE, perhaps a file of that name */
    if (fd < 0) {
        origin_failed(c, fd);
        return false;
    }
    int rc = sniff_source(fd, c->name, &sn, &type);
    if (rc) {
        close(fd);
        origin_failed(c, rc);
        return false;
    }
    rc = vidserve_serve(c, fd, &st, &sn, &type);
    if (rc >= 0)
        return rc == 1;
    if (!wants_transform(c, &sn)) {
        deliver_original(c, fd, &st, type);
        return false;
    }
    char msg[TR_ERR_LEN];
    if ((rc = open_layers(c, msg))) {
        close(fd);
        close_layers(c);
        reply_error(c, rc, msg);
        return false;
    }
    return deliver_transform(c, fd, &st, &sn);
}

static void origin_job(void *arg)
{
    struct conn *c = arg;
    atomic_uint *jobs = &c->srv->ep[c->endpoint].jobs;

    c->in_job = true;
    bool handed = serve(c);
    atomic_fetch_sub(jobs, 1);
    if (!handed) {
        c->in_job = false;
        wake(c);
    }
}

/* Suspend the connection and queue its origin job. One endpoint may hold at most
 * ep_job_cap jobs, so a stalled origin leaves threads to the others. */
static enum MHD_Result start_job(struct conn *c)
{
    struct srv *s = c->srv;
    struct endpoint *ep = &s->ep[c->endpoint];

    if (atomic_fetch_add(&ep->jobs, 1) >= s->ep_job_cap) {
        atomic_fetch_sub(&ep->jobs, 1);
        return reply_error(c, -EBUSY, "too many requests waiting on this origin");
    }
    MHD_suspend_connection(c->mhd);
    c->suspended = true;
    atomic_store(&c->woken, false);
    int rc = pool_submit(s->io_pool, origin_job, c);
    if (rc) {
        atomic_fetch_sub(&ep->jobs, 1);
        c->err = -EBUSY;
        c->err_msg = rc == -EBUSY ? "too many requests waiting on origins" : "shutting down";
        wake(c);
    }
    return MHD_YES;
}

/* ---- Entry points -------------------------------------------------------------------------- */

enum MHD_Result deliver_file(struct conn *c, const struct route *rt)
{
    char err[TR_ERR_LEN] = "";

    c->endpoint = rt->endpoint;
    snprintf(c->name, sizeof(c->name), "%s", rt->path);
    int rc = parse_chain(c, rt, err);
    if (rc == 0)
        rc = vidserve_route(c, rt, err);
    if (rc)
        return reply_error(c, rc, err);
    c->reply.vary_accept = tr_format_varies(&c->chain);
    c->reply.vary_hints = chain_uses_hints(&c->chain);
    c->reply.vary_agent = false;
    read_hints(c);
    memo_key(c);
    if (vidserve_suffixed(c))
        c->alias_len = 0; /* a frame or a package, never what the file's own URL is memo'd as */
    struct imgcache_entry *e = memo_lookup(c, false);
    return e ? respond_memo(c, e) : start_job(c);
}

enum MHD_Result deliver_resumed(struct conn *c)
{
    struct imgcache_entry *e = c->entry;
    struct MHD_Response *resp = c->pending;
    const void *data;
    size_t len;
    int tag;
    const char *msg;

    guard_watch(c->srv->guard, c, false);
    c->suspended = false;
    enum MHD_Result vr;
    if (vidserve_resumed(c, &vr))
        return vr;
    c->entry = NULL;
    c->pending = NULL;
    if (resp)
        return reply_queue(c, c->pending_status, resp, c->pending_body);
    if (!e)
        return reply_error(c, c->err, c->err_msg);
    int rc = imgcache_entry_result(e, &data, &len, &tag, &msg);
    if (rc == 0)
        return respond_entry(c, e);
    if (http_status_for_errno(rc) >= 500 && rc != -ECANCELED)
        log_warn("request %s: transform of %s failed: %s", c->request_id, c->name, msg);
    enum MHD_Result r = reply_error(c, rc, msg);
    imgcache_put(e);
    return r;
}

void deliver_cleanup(struct conn *c)
{
    if (c->suspended && !atomic_load(&c->woken))
        return; /* a job owns the request until it wakes the connection */
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    close_layers(c);
    if (c->pending)
        MHD_destroy_response(c->pending);
    c->pending = NULL;
    imgcache_put(c->entry);
    c->entry = NULL;
    vidserve_cleanup(c);
}

void deliver_client_left(struct conn *c)
{
    if (c->entry && imgcache_leave(c->entry, c))
        log_debug("request %s: every client of a transform of %s left: cancelling it",
                  c->request_id, c->name);
}

/* ---- Purging (purge.c) -------------------------------------------------------------------- */

#define FORGET_MAX_KEYS 4096 /* derived entries found through memos per purge; the rest age out */

/* What a purge evicts: first the memos of matching URLs (collecting the keys they point to),
 * then the entries under those keys. */
struct forget {
    char head[64]; /* "memo|EP|" */
    size_t head_len;
    const char *path;
    size_t path_len;
    bool prefix;
    char *keys[FORGET_MAX_KEYS];
    size_t key_len[FORGET_MAX_KEYS];
    size_t nkeys;
};

/* A memo of a matching URL: "memo|EP|LEN:NAME|..." (memo_key()). */
static bool forget_memo(void *arg, const char *key, size_t klen, const void *data, size_t len)
{
    struct forget *f = arg;
    const struct memo *mo = data;
    char *end;

    if (klen <= f->head_len || memcmp(key, f->head, f->head_len) != 0 || len != sizeof(*mo))
        return false;
    unsigned long nlen = strtoul(key + f->head_len, &end, 10);
    const char *name = end + 1;
    if (*end != ':' || nlen > (size_t)(key + klen - name) || nlen < f->path_len ||
        (!f->prefix && nlen != f->path_len) || memcmp(name, f->path, f->path_len) != 0)
        return false;
    if (f->nkeys < FORGET_MAX_KEYS && (f->keys[f->nkeys] = malloc(mo->key_len))) {
        memcpy(f->keys[f->nkeys], mo->key, mo->key_len);
        f->key_len[f->nkeys++] = mo->key_len;
    }
    return true;
}

static bool forget_target(void *arg, const char *key, size_t klen, const void *data, size_t len)
{
    struct forget *f = arg;

    (void)data;
    (void)len;
    for (size_t i = 0; i < f->nkeys; i++) {
        if (f->key_len[i] == klen && memcmp(f->keys[i], key, klen) == 0)
            return true;
    }
    return false;
}

size_t deliver_forget(struct srv *s, size_t ep, const char *path, bool prefix)
{
    struct forget *f = calloc(1, sizeof(*f));

    if (!f)
        return 0;
    f->head_len = (size_t)snprintf(f->head, sizeof(f->head), "memo|%zu|", ep);
    f->path = path;
    f->path_len = strlen(path);
    f->prefix = prefix;
    size_t n = imgcache_evict_if(s->cache, forget_memo, f);
    if (f->nkeys)
        n += imgcache_evict_if(s->cache, forget_target, f);
    for (size_t i = 0; i < f->nkeys; i++)
        free(f->keys[i]);
    free(f);
    return n;
}
