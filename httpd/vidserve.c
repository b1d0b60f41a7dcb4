/* httpd/vidserve.c: video requests (see vidserve.h): which are the video engine's, their keys
 * and ETags, the answer from the disk cache, a job and the wait for it, and the answers of a
 * job that is not done yet. The work of a job is vidserve_job.c's. */
#include "vidserve_i.h"

#include "clock.h"
#include "http.h"
#include "log.h"
#include "sign.h"
#include "vid_chain.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SNIFF_BYTES 4096
#define MASTER_MAX (256 * 1024) /* a master manifest read to be rewritten */
#define RETRY_AFTER "5"         /* seconds, as ImageKit's players poll */

struct vidreq {
    struct vidurl url;
    size_t full_len; /* c->name's length before the suffix was cut off */
    size_t rest_off; /* where c->target's part after "PREFIX/" starts */
    bool sig;        /* the URL carries ik-s */
    enum vid_op op;
    bool gif;                       /* an animated GIF as MP4 */
    char res[VIDCACHE_NAME_LEN];    /* the result in the cache */
    char prefix[VIDURL_PREFIX_MAX]; /* a master's references: "ik-hls/CHAIN/[ik-sig-...]" */
    atomic_bool waiting;            /* a job will wake the connection */
    atomic_int state;               /* how it woke: enum vidjob_state */
};

/* ---- The server's part --------------------------------------------------------------------- */

static void set_limits(struct vidserve *v, const struct conf *conf)
{
    v->limits = VID_LIMITS_DEFAULT;
    v->limits.max_input_bytes = (uint64_t)conf->max_video_mb << 20;
    v->limits.max_duration = conf->max_video_duration;
    v->limits.max_frames = conf->max_video_frames;
    v->limits.max_job_seconds = conf->video_timeout;
    v->tr_limits = TR_LIMITS_DEFAULT;
    v->tr_limits.max_input_pixels = (uint64_t)conf->max_megapixels * 1000000u;
    v->tr_limits.max_output_pixels = (uint64_t)conf->max_megapixels * 1000000u;
}

struct vidserve *vidserve_new(const struct conf *conf, char err[VIDSERVE_ERR_LEN])
{
    struct vidserve *v = calloc(1, sizeof(*v));
    char why[VIDCACHE_ERR_LEN];

    if (!v) {
        snprintf(err, VIDSERVE_ERR_LEN, "out of memory");
        return NULL;
    }
    v->conf = conf;
    set_limits(v, conf);
    v->cache = vidcache_new(conf->video_cache_dir, conf->video_cache_bytes, why);
    if (!v->cache)
        snprintf(err, VIDSERVE_ERR_LEN, "%s", why);
    v->jobs = v->cache ? vidjobs_new(conf->video_workers, conf->video_queue, tr_thread_done) : NULL;
    if (v->cache && !v->jobs)
        snprintf(err, VIDSERVE_ERR_LEN, "cannot start %u video workers", conf->video_workers);
    if (!v->jobs) {
        vidserve_free(v);
        return NULL;
    }
    return v;
}

void vidserve_stop(struct vidserve *v)
{
    if (v && v->jobs)
        vidjobs_stop(v->jobs);
}

void vidserve_drain(struct vidserve *v)
{
    if (v)
        vidjobs_drain(v->jobs);
}

void vidserve_free(struct vidserve *v)
{
    if (!v)
        return;
    vidjobs_free(v->jobs); /* before the cache: jobs remove their partial files */
    vidcache_free(v->cache);
    free(v);
}

void vidserve_stats(struct vidserve *v, struct vidserve_stats *out)
{
    vidjobs_get_stats(v->jobs, &out->jobs);
    vidcache_get_stats(v->cache, &out->cache);
    out->hits = atomic_load(&v->hits);
    out->misses = atomic_load(&v->misses);
}

void vidserve_health(struct vidserve *v, char *out, size_t cap)
{
    struct vidjobs_stats js;
    struct vidcache_stats cs;

    vidjobs_get_stats(v->jobs, &js);
    vidcache_get_stats(v->cache, &cs);
    snprintf(out, cap,
             ",\"video_jobs_running\":%zu,\"video_jobs_queued\":%zu,\"video_waiting\":%zu,"
             "\"video_jobs_started\":%" PRIu64 ",\"video_jobs_failed\":%" PRIu64
             ",\"video_cache_bytes\":%" PRIu64 ",\"video_cache_entries\":%" PRIu64,
             js.running, js.queued, js.waiting, js.started, js.failed, cs.bytes, cs.entries);
}

/* ---- Routing (I/O thread) ------------------------------------------------------------------ */

/* Whether the raw query of target carries an ik-s pair. */
static bool has_signature(const char *target)
{
    const char *q = strchr(target, '?');

    for (const char *p = q; p; p = strchr(p + 1, '&'))
        if (strncmp(p + 1, "ik-s=", 5) == 0)
            return true;
    return false;
}

/* A package file's chain is the one in its URL (FILE/ik-hls/CHAIN/NAME). */
static int parse_package_chain(struct conn *c, const struct vidurl *u, char err[TR_ERR_LEN])
{
    tr_chain_init(&c->chain);
    return tr_parse(&c->chain, u->chain.p, u->chain.len, NULL, err);
}

int vidserve_route(struct conn *c, const struct route *rt, char err[TR_ERR_LEN])
{
    struct vidurl u;
    bool suffixed = vidurl_parse(c->name, strlen(c->name), &u);

    if (!suffixed && tr_chain_is_empty(&c->chain))
        return 0; /* an original, or an image's default optimisation: never video */
    if (suffixed && u.kind == VIDURL_PACKAGE && parse_package_chain(c, &u, err))
        return -EINVAL;
    c->vid = calloc(1, sizeof(*c->vid));
    if (!c->vid) {
        snprintf(err, TR_ERR_LEN, "out of memory");
        return -ENOMEM;
    }
    c->vid->url = u;
    c->vid->full_len = strlen(c->name);
    c->vid->rest_off = (size_t)(rt->rest - c->target);
    c->vid->sig = has_signature(c->target);
    c->name[u.file_len] = '\0'; /* FILE; the byte was the '/' before the suffix */
    return 0;
}

bool vidserve_suffixed(const struct conn *c)
{
    return c->vid && c->vid->url.kind != VIDURL_NONE;
}

bool vidserve_unsuffix(struct conn *c)
{
    struct vidreq *v = c->vid;

    if (!vidserve_suffixed(c) || c->used_default)
        return false;
    c->name[v->url.file_len] = '/';
    c->name[v->full_len] = '\0';
    v->url = (struct vidurl){.kind = VIDURL_NONE, .file_len = v->full_len};
    return true;
}

void vidserve_cleanup(struct conn *c)
{
    free(c->vid);
    c->vid = NULL;
}

/* ---- What the request asks for (origin thread) --------------------------------------------- */

static const char *container_type(enum vid_container ct)
{
    switch (ct) {
    case VID_CT_MP4:
        return "video/mp4";
    case VID_CT_MOV:
        return "video/quicktime";
    case VID_CT_WEBM:
        return "video/webm";
    case VID_CT_MATROSKA:
        return "video/x-matroska";
    case VID_CT_GIF:
        return "image/gif";
    case VID_CT_MPEG_PS:
        return "video/mpeg";
    default:
        return NULL;
    }
}

/* The container of fd's first bytes. Returns 0, or the read's -errno. */
static int sniff(int fd, enum vid_container *ct)
{
    unsigned char head[SNIFF_BYTES];
    ssize_t n = pread(fd, head, sizeof(head), 0);

    if (n < 0)
        return -errno;
    *ct = vid_sniff(head, (size_t)n);
    return 0;
}

/* The operation of a suffixed URL. */
static void suffix_op(struct vidreq *v)
{
    switch (v->url.kind) {
    case VIDURL_THUMB:
        v->op = VID_OP_THUMB;
        break;
    case VIDURL_HLS:
    case VIDURL_DASH:
    case VIDURL_PACKAGE:
        v->op = VID_OP_PACKAGE;
        break;
    default:
        v->op = VID_OP_TRANSCODE;
        v->gif = v->url.kind == VIDURL_GIF_VIDEO;
        break;
    }
}

/* An unsuffixed URL with a chain: 1 a transcode (a video, or a GIF with f-mp4), 0 not ours,
 * or -errno with *msg. */
static int plain_op(struct conn *c, enum vid_container ct, const struct tr_sniff *sn,
                    const char **type, const char **msg)
{
    struct vidreq *v = c->vid;
    const char *key = vid_chain_video_key(&c->chain);

    if (sn->type == TR_SRC_GIF && vid_chain_format_given(&c->chain)) {
        v->op = VID_OP_TRANSCODE;
        v->gif = true;
        return 1;
    }
    if (tr_sniff_is_image(sn) && key) {
        *msg = "a video parameter on an image (an animated GIF takes f-mp4 or ik-gif-video.mp4)";
        return -EINVAL;
    }
    if (!vid_container_is_video(ct)) {
        if (!*type || strncmp(*type, "video/", 6) != 0)
            return 0; /* not media: the chain changes nothing, as for any file */
        *msg = "the file is not a video (its first bytes are no video container)";
        return -EBADMSG;
    }
    v->op = VID_OP_TRANSCODE;
    return 1;
}

/* Whether the request is the video engine's: 1 yes (c->vid->op set), 0 no (*type perhaps set
 * for a video original), or -errno with *msg. */
static int classify(struct conn *c, int fd, const struct stat *st, const struct tr_sniff *sn,
                    const char **type, const char **msg)
{
    struct vidreq *v = c->vid;
    bool suffixed = v->url.kind != VIDURL_NONE;
    enum vid_container ct = VID_CT_UNKNOWN;
    int rc = 0;

    if (tr_chain_wants_original(&c->chain) && !suffixed)
        return 0;
    if (st->st_size > 0)
        rc = sniff(fd, &ct);
    if (rc)
        return rc;
    if (!suffixed)
        return tr_chain_wants_original(&c->chain) ? 0 : plain_op(c, ct, sn, type, msg);
    if (ct == VID_CT_UNKNOWN || (ct == VID_CT_GIF && v->op == VID_OP_PACKAGE)) {
        *msg = st->st_size == 0 ? "the file is empty"
                                : "the file is not a video (its first bytes are no video "
                                  "container)";
        return -EBADMSG;
    }
    suffix_op(v);
    if (tr_chain_wants_original(&c->chain) ||
        (v->url.kind == VIDURL_VIDEO && tr_chain_is_empty(&c->chain))) {
        *type = container_type(ct); /* the file as it is, as what it is */
        return 0;
    }
    return 1;
}

/* ---- Keys, ETags, types -------------------------------------------------------------------- */

/* c->key: the kind, the engine's version, the source's identity, then what. Returns 0 or
 * -ENAMETOOLONG. */
static int key_start(struct conn *c, const struct stat *st, const char *kind, const char *fmt)
{
    int n = snprintf(c->key, sizeof(c->key),
                     "%s|" VIDSERVE_VERSION "|%" PRIx64 "|%" PRIx64 "|%" PRIx64 "|%" PRIx64
                     ".%09ld|%s|",
                     kind, (uint64_t)st->st_dev, (uint64_t)st->st_ino, (uint64_t)st->st_size,
                     (uint64_t)st->st_mtim.tv_sec, st->st_mtim.tv_nsec, fmt);

    c->key_len = (size_t)n;
    return n > 0 && (size_t)n < sizeof(c->key) ? 0 : -ENAMETOOLONG;
}

static int key_chain(struct conn *c, const struct tr_chain *chain)
{
    int m = tr_canonical(chain, c->key + c->key_len, sizeof(c->key) - c->key_len);

    if (m < 0)
        return -ENAMETOOLONG;
    c->key_len += (size_t)m;
    return 0;
}

/* A strong ETag: SHA-256 of the key and extra (a package file's name, a master's prefix). */
static void set_etag(struct conn *c, const char *extra)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();

    if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) ||
        !EVP_DigestUpdate(ctx, c->key, c->key_len) ||
        !EVP_DigestUpdate(ctx, extra, strlen(extra)) || !EVP_DigestFinal_ex(ctx, md, &mdlen))
        mdlen = 0;
    EVP_MD_CTX_free(ctx);
    c->reply.etag[0] = '"';
    for (unsigned i = 0; i < 16; i++) {
        c->reply.etag[1 + 2 * i] = i < mdlen ? hex[md[i] >> 4] : '0';
        c->reply.etag[2 + 2 * i] = i < mdlen ? hex[md[i] & 15] : '0';
    }
    memcpy(c->reply.etag + 33, "\"", 2);
}

/* A thumbnail: its image chain and format (f-auto from Accept, as for images). */
static int thumb_key(struct conn *c, const struct stat *st, struct vidwork *w, char *msg)
{
    static const struct tr_sniff frame = {.type = TR_SRC_JPEG};
    struct srv *s = c->srv;

    if (vid_chain_thumb(&c->chain, &w->chain, &w->so, msg))
        return -EINVAL;
    w->image = tr_pick_format(&w->chain, &frame, reply_header(c, "Accept"), s->conf->avif_auto);
    if (w->image == TR_FMT_GIF) {
        snprintf(msg, VID_ERR_LEN, "f: a thumbnail is a still image, not a GIF");
        return -EINVAL;
    }
    c->reply.vary_accept = tr_format_varies(&w->chain);
    c->reply.content_type = tr_format_mime(w->image);
    if (key_start(c, st, "thumbnail", tr_format_name(w->image)) || key_chain(c, &w->chain))
        return -ENAMETOOLONG;
    vidcache_name(c->key, c->key_len, tr_format_name(w->image), w->res);
    return 0;
}

/* A video: its parameters checked now (a 400 before any job), its format chosen. */
static int video_key(struct conn *c, const struct stat *st, struct vidwork *w, char *msg)
{
    static const char *const exts[2][2] = {{"mp4", "webm"}, {"m4a", "weba"}};
    struct vid_params p;

    if (vid_chain_params(&c->chain, 0, 0, &p, msg))
        return -EINVAL;
    p.format = c->vid->gif ? VID_FMT_MP4
                           : vid_chain_pick_format(&c->chain, reply_header(c, "Accept"),
                                                   reply_header(c, "User-Agent"));
    if (vid_params_check(&p, msg))
        return -EINVAL;
    w->format = p.format;
    w->chain = c->chain;
    c->reply.vary_accept = c->reply.vary_agent = !c->vid->gif && !vid_chain_format_given(&c->chain);
    c->reply.content_type = vid_params_mime(&p);
    const char *ext = exts[p.vcodec == VID_VC_NONE][p.format == VID_FMT_WEBM];
    if (key_start(c, st, c->vid->gif ? "gif-video" : "video", ext) || key_chain(c, &c->chain))
        return -ENAMETOOLONG;
    vidcache_name(c->key, c->key_len, ext, w->res);
    return 0;
}

/* A package (its master, or one of its files). */
static int package_key(struct conn *c, const struct stat *st, struct vidwork *w, char *msg)
{
    const struct vidurl *u = &c->vid->url;
    bool dash = u->kind == VIDURL_DASH || (u->kind == VIDURL_PACKAGE && u->dash);
    struct vid_abr abr;

    w->abr = dash ? VID_ABR_DASH : VID_ABR_HLS;
    if (vid_chain_abr(&c->chain, w->abr, &abr, msg))
        return -EINVAL;
    w->chain = c->chain;
    c->reply.content_type = u->kind == VIDURL_PACKAGE
                                ? vidurl_package_type(u->name)
                                : (dash ? "application/dash+xml" : "application/vnd.apple.mpegurl");
    if (!c->reply.content_type)
        return -ENOENT;
    if (key_start(c, st, dash ? "dash" : "hls", "") || key_chain(c, &c->chain))
        return -ENAMETOOLONG;
    vidcache_name(c->key, c->key_len, dash ? "dash" : "hls", w->res);
    return 0;
}

/* ---- Masters: references under the package's own URLs ------------------------------------- */

/* The raw value of the query pair name in target, or a view of length 0. */
static struct str query_value(const char *target, const char *name)
{
    size_t n = strlen(name);

    for (const char *p = strchr(target, '?'); p; p = strchr(p + 1, '&'))
        if (strncmp(p + 1, name, n) == 0 && p[1 + n] == '=')
            return (struct str){p + 2 + n, strcspn(p + 2 + n, "&")};
    return (struct str){NULL, 0};
}

/* The package's signature for prefix (raw, after "PREFIX/"), with the URL's own ik-t, appended
 * to v->prefix. Returns 0 or -errno. */
static int sign_prefix(struct conn *c, const char *raw, size_t len)
{
    struct srv *s = c->srv;
    struct vidreq *v = c->vid;
    struct str t = query_value(c->target, "ik-t");
    char expiry[20] = "", sig[VIDURL_SIG_MAX];
    int rc = -EINVAL;

    if (t.len && t.len < sizeof(expiry))
        snprintf(expiry, sizeof(expiry), "%.*s", (int)t.len, t.p);
    pthread_rwlock_rdlock(&s->key.lock);
    if (s->key.len)
        rc = vidurl_sign(s->key.bytes, s->key.len, raw, len, expiry[0] ? expiry : NULL, sig);
    pthread_rwlock_unlock(&s->key.lock);
    size_t n = strlen(v->prefix);
    if (rc == 0 && n + strlen(sig) >= sizeof(v->prefix))
        rc = -ENAMETOOLONG;
    if (rc == 0)
        snprintf(v->prefix + n, sizeof(v->prefix) - n, "%s", sig);
    return rc;
}

/* A master's references: "ik-hls/CHAIN/", signed when the master's URL is (its folder's raw
 * path is the start of what each reference resolves to). */
static int master_prefix(struct conn *c, bool dash)
{
    struct vidreq *v = c->vid;
    const char *rest = c->target + v->rest_off;
    const char *slash = memrchr(rest, '/', strcspn(rest, "?"));
    size_t dir = slash ? (size_t)(slash + 1 - rest) : 0;
    char canon[256], raw[ROUTE_MAX_TARGET + sizeof(v->prefix)];

    if (tr_canonical(&c->chain, canon, sizeof(canon)) < 0)
        return -ENAMETOOLONG;
    snprintf(v->prefix, sizeof(v->prefix), "ik-%s/%s/", dash ? "dash" : "hls", canon);
    if (!v->sig)
        return 0;
    int n = snprintf(raw, sizeof(raw), "%.*s%s", (int)dir, rest, v->prefix);
    return n > 0 && (size_t)n < sizeof(raw) ? sign_prefix(c, raw, (size_t)n) : -ENAMETOOLONG;
}

/* ---- Answers ------------------------------------------------------------------------------- */

/* A result from the cache as it is: Range, HEAD, sendfile() from fd (which the response owns). */
static enum MHD_Result respond_fd(struct conn *c, int fd, const struct stat *st)
{
    uint64_t size = (uint64_t)st->st_size, start = 0, len = size;
    int ranged = reply_range(c, size, &start, &len);
    struct MHD_Response *resp = NULL;

    if (ranged < 0) {
        close(fd);
        return reply_unsatisfiable(c, size);
    }
    if (size == 0)
        close(fd);
    resp = size ? MHD_create_response_from_fd_at_offset64(len, fd, (int64_t)start)
                : MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    if (!resp && size)
        close(fd);
    return reply_body(c, resp, ranged, start, len, size);
}

/* The master on fd with its references made the package's URLs (vidurl.h): its length, with
 * *out the text (transfer full: free()), or -errno. */
static int rewrite_master(const struct vidreq *v, int fd, size_t size, char **out)
{
    size_t cap = size + 64 * (strlen(v->prefix) + 16) + 256;
    char *in = size <= MASTER_MAX ? malloc(size + 1) : NULL;
    int n = -ENOMEM;

    *out = in ? malloc(cap) : NULL;
    if (*out)
        n = pread(fd, in, size, 0) == (ssize_t)size ? 0 : -EIO;
    if (n == 0 && v->url.kind == VIDURL_DASH)
        n = vidurl_rewrite_dash(in, size, v->prefix, *out, cap);
    else if (n == 0)
        n = vidurl_rewrite_hls(in, size, v->prefix, *out, cap);
    free(in);
    if (n < 0) {
        free(*out);
        *out = NULL;
    }
    return n;
}

/* A master from the cache, rewritten; Range applies to the rewritten text. */
static enum MHD_Result respond_master(struct conn *c, int fd, const struct stat *st)
{
    char *text = NULL;
    int n = rewrite_master(c->vid, fd, (size_t)st->st_size, &text);
    uint64_t start = 0, len = n > 0 ? (uint64_t)n : 0;
    int ranged = n > 0 ? reply_range(c, len, &start, &len) : 0;

    close(fd);
    if (n < 0 || ranged < 0) {
        free(text);
        if (n < 0)
            log_warn("cannot rewrite the manifest %s: %s", c->vid->res, strerror(-n));
        return n < 0 ? reply_error(c, -EIO, "cannot read the manifest from the video cache")
                     : reply_unsatisfiable(c, (uint64_t)n);
    }
    memmove(text, text + start, len);
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (!resp)
        free(text);
    return reply_body(c, resp, ranged, start, len, (uint64_t)n);
}

static bool is_master(const struct vidreq *v)
{
    return v->url.kind == VIDURL_HLS || v->url.kind == VIDURL_DASH;
}

/* The result when the cache has it: returns whether it answered, *out its result. */
static bool respond_result(struct conn *c, enum MHD_Result *out)
{
    struct vidreq *v = c->vid;
    const char *name = v->url.kind == VIDURL_PACKAGE ? v->url.name
                       : v->url.kind == VIDURL_HLS   ? "ik-master.m3u8"
                       : v->url.kind == VIDURL_DASH  ? "ik-master.mpd"
                                                     : NULL;
    struct stat st;
    int fd = vidcache_open(c->srv->video->cache, v->res, name, &st);

    if (fd == -ENOENT)
        return false;
    if (fd == -ENODATA) {
        *out = reply_error(c, -ENOENT, "no such file in the video's package");
    } else if (fd < 0) {
        log_warn("cannot open %s in the video cache: %s", v->res, strerror(-fd));
        *out = reply_error(c, -EIO, "cannot read the video cache");
    } else {
        *out = is_master(v) ? respond_master(c, fd, &st) : respond_fd(c, fd, &st);
    }
    return true;
}

/* Append s[0..n) to out at *len; false when it does not fit. */
static bool append(char *out, size_t cap, size_t *len, const char *s, size_t n)
{
    if (*len + n + 1 > cap)
        return false;
    memcpy(out + *len, s, n);
    *len += n;
    out[*len] = '\0';
    return true;
}

/* The target with its query's signature pairs left out, then tr=orig-true. */
static bool original_url(const char *target, char *out, size_t cap, size_t *len)
{
    static const char *const skip[] = {"ik-s=", "ik-t=", "ik-sdk-version=", "sdk-version="};
    size_t plen = strcspn(target, "?");
    bool ok = append(out, cap, len, target, plen), first = true;

    for (const char *p = target[plen] ? target + plen + 1 : NULL; ok && p && *p;) {
        size_t n = strcspn(p, "&");
        bool keep = n > 0;

        for (size_t i = 0; keep && i < sizeof(skip) / sizeof(skip[0]); i++)
            keep = strncmp(p, skip[i], strlen(skip[i])) != 0;
        if (keep)
            ok = append(out, cap, len, first ? "?" : "&", 1) && append(out, cap, len, p, n);
        first = first && !keep;
        p = p[n] ? p + n + 1 : NULL;
    }
    return ok && append(out, cap, len, first ? "?tr=orig-true" : "&tr=orig-true", 13);
}

/* "the same URL with tr=orig-true", signed again (with its own ik-t) when it was signed. */
static bool location(struct conn *c, char *out, size_t cap)
{
    struct srv *s = c->srv;
    struct str t = query_value(c->target, "ik-t");
    char msg[ROUTE_MAX_TARGET + 64], hex[SIGN_HEX_LEN];
    size_t len = 0;
    int n, rc = -EINVAL;

    if (!original_url(c->target, out, cap, &len))
        return false;
    if (!c->vid->sig)
        return true;
    n = snprintf(msg, sizeof(msg), "%s%.*s", out + c->vid->rest_off, (int)(t.len ? t.len : 10),
                 t.len ? t.p : SIGN_NO_EXPIRY);
    pthread_rwlock_rdlock(&s->key.lock);
    if (s->key.len && n > 0 && (size_t)n < sizeof(msg))
        rc = sign_hmac_hex(s->key.bytes, s->key.len, msg, (size_t)n, hex);
    pthread_rwlock_unlock(&s->key.lock);
    if (rc)
        return false;
    n = snprintf(out + len, cap - len, "%s%.*s&ik-s=%s", t.len ? "&ik-t=" : "", (int)t.len,
                 t.len ? t.p : "", hex);
    return n > 0 && (size_t)n < cap - len;
}

/* Not ready yet: a video answers 302 to its original, anything else 202 (ImageKit's way);
 * neither may be kept by a cache. */
static enum MHD_Result not_ready(struct conn *c)
{
    static const char accepted[] = "Accepted: being prepared, retry in " RETRY_AFTER " s\n";
    static const char found[] = "Found: the video is being prepared; meanwhile the original\n";
    bool redirect = c->vid->op == VID_OP_TRANSCODE;
    const char *body = redirect ? found : accepted;
    char where[ROUTE_MAX_TARGET + 160];
    struct MHD_Response *resp;

    if (redirect && !location(c, where, sizeof(where)))
        return reply_error(c, -ENAMETOOLONG, "cannot make the original's URL");
    resp = MHD_create_response_from_buffer(strlen(body), (void *)(uintptr_t)body,
                                           MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return reply_error(c, -ENOMEM, NULL);
    MHD_add_response_header(resp, "Content-Type", "text/plain; charset=utf-8");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, redirect ? "Location" : "Retry-After",
                            redirect ? where : RETRY_AFTER);
    return reply_queue(c, redirect ? 302 : 202, resp, strlen(body));
}

/* ---- Jobs ---------------------------------------------------------------------------------- */

/* From the job's thread or the timer's: the job ended, or the wait did. */
static void on_wake(void *arg, enum vidjob_state state)
{
    struct conn *c = arg;

    atomic_store(&c->vid->state, (int)state);
    atomic_store(&c->woken, true);
    MHD_resume_connection(c->mhd);
}

/* What the log says a job is: "thumbnail of video/clip.mp4". */
static void describe(struct conn *c, struct vidwork *w)
{
    const char *what = w->op == VID_OP_THUMB       ? "thumbnail"
                       : w->op == VID_OP_TRANSCODE ? (c->vid->gif ? "MP4 of a GIF" : "video")
                       : w->abr == VID_ABR_DASH    ? "DASH package"
                                                   : "HLS package";

    snprintf(w->what, sizeof(w->what), "%s of %s", what, c->name);
}

/* The job of c's key, joined or started with w (which it takes), and a wait of --video-wait.
 * Returns 1 when the job will wake the connection (c is then not touched here), 0 when it
 * answered. */
static int schedule(struct conn *c, int fd, struct vidwork *w)
{
    struct vidserve *v = c->srv->video;
    struct vidjob_spec spec = {vidserve_work_run, vidserve_work_release, w};
    struct vidjob_result res;
    enum MHD_Result out;

    w->v = v;
    w->op = c->vid->op;
    w->fd = dup(fd);
    close(fd);
    if (w->fd < 0) {
        free(w);
        reply_error(c, -errno, "out of file descriptors");
        return 0;
    }
    describe(c, w);
    atomic_store(&c->vid->waiting, true);
    c->in_job = false; /* from now on the wake's I/O thread answers */
    int rc = vidjob_wait(v->jobs, c->key, c->key_len,
                         clock_now_ns() + (uint64_t)v->conf->video_wait * 1000000000u, on_wake, c,
                         &spec, &res);
    if (rc == VIDJOB_WAITING)
        return 1;
    c->in_job = true;
    atomic_store(&c->vid->waiting, false);
    if (rc == VIDJOB_DONE && res.rc)
        reply_error(c, res.rc, res.msg);
    else if (rc == VIDJOB_DONE && respond_result(c, &out))
        return 0;
    else if (rc == VIDJOB_DONE || rc == VIDJOB_PENDING)
        not_ready(c);
    else
        reply_error(c, rc, rc == -EBUSY ? "too many video jobs waiting" : NULL);
    return 0;
}

/* The key, type and ETag of what c asks for (400 for a chain video cannot take). */
static int prepare(struct conn *c, const struct stat *st, struct vidwork *w, char *msg)
{
    struct vidreq *v = c->vid;
    int rc = v->op == VID_OP_THUMB       ? thumb_key(c, st, w, msg)
             : v->op == VID_OP_TRANSCODE ? video_key(c, st, w, msg)
                                         : package_key(c, st, w, msg);

    if (rc == 0 && is_master(v))
        rc = master_prefix(c, v->url.kind == VIDURL_DASH);
    if (rc)
        return rc;
    snprintf(v->res, sizeof(v->res), "%s", w->res);
    set_etag(c, v->url.kind == VIDURL_PACKAGE ? v->url.name : is_master(v) ? v->prefix : "");
    c->reply.mtime = st->st_mtim.tv_sec;
    c->reply.cache_control = c->used_default ? c->srv->error_cache_control : c->srv->cache_control;
    c->reply.document = false;
    return 0;
}

/* A source over --max-video-mb is refused before anything reads it. */
static int over_limit(struct conn *c, const struct stat *st, char *msg)
{
    unsigned max = c->srv->conf->max_video_mb;

    if ((uint64_t)st->st_size <= (uint64_t)max << 20)
        return 0;
    snprintf(msg, VID_ERR_LEN, "the video is %" PRIu64 " MiB, over the limit of %u MiB",
             (uint64_t)st->st_size >> 20, max);
    return -E2BIG;
}

/* c is the video engine's: answer from the cache, or wait for the job. */
static int serve_video(struct conn *c, int fd, const struct stat *st)
{
    char msg[VID_ERR_LEN] = "";
    struct vidwork *w = calloc(1, sizeof(*w));
    enum MHD_Result out;
    int rc = w ? over_limit(c, st, msg) : -ENOMEM;

    if (rc == 0)
        rc = prepare(c, st, w, msg);
    if (rc == 0 && reply_is_not_modified(c)) {
        reply_not_modified(c);
    } else if (rc == 0 && !respond_result(c, &out)) {
        atomic_fetch_add(&c->srv->video->misses, 1);
        w->fd = -1;
        return schedule(c, fd, w);
    } else if (rc == 0) {
        atomic_fetch_add(&c->srv->video->hits, 1);
    } else {
        reply_error(c, rc,
                    msg[0]          ? msg
                    : rc == -ENOENT ? "no such file in the video's package"
                                    : NULL);
    }
    close(fd);
    free(w);
    return 0;
}

int vidserve_serve(struct conn *c, int fd, const struct stat *st, const struct tr_sniff *sn,
                   const char **type)
{
    const char *msg = NULL;
    int rc = c->vid ? classify(c, fd, st, sn, type, &msg) : 0;

    if (rc == 0)
        return -1;
    if (rc < 0) {
        close(fd);
        reply_error(c, rc, msg);
        return 0;
    }
    return serve_video(c, fd, st);
}

bool vidserve_resumed(struct conn *c, enum MHD_Result *out)
{
    struct vidreq *v = c->vid;
    struct vidjob_result res;

    if (!v || !atomic_load(&v->waiting))
        return false;
    atomic_store(&v->waiting, false);
    if (atomic_load(&v->state) == VIDJOB_DONE &&
        vidjob_result(c->srv->video->jobs, c->key, c->key_len, &res) && res.rc) {
        *out = reply_error(c, res.rc, res.msg);
        return true;
    }
    if (atomic_load(&v->state) != VIDJOB_DONE || !respond_result(c, out))
        *out = not_ready(c);
    return true;
}
