/* httpd/reply.c: building and queueing responses (see reply.h). */
#include "reply.h"

#include "http.h"
#include "httpdate.h"
#include "srv_i.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *reply_header(struct conn *c, const char *name)
{
    return MHD_lookup_connection_value(c->mhd, MHD_HEADER_KIND, name);
}

enum MHD_Result reply_queue(struct conn *c, unsigned status, struct MHD_Response *resp,
                            uint64_t body)
{
    if (c->in_job && !resp) {
        c->err = -ENOMEM;
        c->err_msg = NULL;
        return MHD_NO;
    }
    if (c->in_job) {
        c->pending = resp;
        c->pending_status = status;
        c->pending_body = body;
        return MHD_YES;
    }
    if (!resp)
        return MHD_NO;
    if (c->request_id[0])
        MHD_add_response_header(resp, "X-Request-Id", c->request_id);
    c->body_bytes = strcmp(c->method, "HEAD") == 0 ? 0 : body;
    enum MHD_Result rc = MHD_queue_response(c->mhd, status, resp);
    MHD_destroy_response(resp);
    return rc;
}

/* msg with control bytes replaced, so it is safe in a header. */
static void header_safe(char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = '?';
    }
}

enum MHD_Result reply_error(struct conn *c, int err, const char *msg)
{
    int status = http_status_for_errno(err);
    char body[256], ikerr[TR_ERR_LEN + 32];

    snprintf(body, sizeof(body), "%s: %s\n", http_reason(status),
             msg && *msg ? msg : strerror(-err));
    snprintf(ikerr, sizeof(ikerr), "%s - %s", http_error_code(err),
             msg && *msg ? msg : strerror(-err));
    header_safe(ikerr);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", "text/plain; charset=utf-8");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "ik-error", ikerr);
    MHD_add_response_header(resp, "Cache-Control",
                            status < 500 ? c->srv->error_cache_control : "no-store");
    if (status == 503)
        MHD_add_response_header(resp, "Retry-After", "1");
    return reply_queue(c, (unsigned)status, resp, strlen(body));
}

enum MHD_Result reply_not_allowed(struct conn *c)
{
    static const char body[] = "Method Not Allowed: only GET and HEAD\n";
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        sizeof(body) - 1, (void *)(uintptr_t)body, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Allow", "GET, HEAD");
    MHD_add_response_header(resp, "Content-Type", "text/plain; charset=utf-8");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    return reply_queue(c, 405, resp, sizeof(body) - 1);
}

/* Content-Disposition for ik-attachment=true: an ASCII fallback name and the exact UTF-8 one. */
static void add_disposition(struct MHD_Response *resp, const char *path)
{
    const char *base = strrchr(path, '/');
    char ascii[256], exact[3 * 256], value[sizeof(ascii) + sizeof(exact) + 64];
    size_t a = 0, e = 0;

    base = base ? base + 1 : path;
    for (const unsigned char *p = (const unsigned char *)base; *p && a < 255 && e < 3 * 255 - 3;
         p++) {
        bool plain = *p > 0x20 && *p < 0x7f && *p != '"' && *p != '\\' && *p != '%' && *p != ';' &&
                     *p != '\'';
        ascii[a++] = plain ? (char)*p : '_';
        e += (size_t)snprintf(exact + e, sizeof(exact) - e, plain ? "%c" : "%%%02X", *p);
    }
    ascii[a] = '\0';
    exact[e] = '\0';
    snprintf(value, sizeof(value), "attachment; filename=\"%s\"; filename*=UTF-8''%s", ascii,
             exact);
    MHD_add_response_header(resp, "Content-Disposition", value);
}

static void add_headers(struct conn *c, struct MHD_Response *resp)
{
    const struct reply *rp = &c->reply;
    char date[HTTPDATE_LEN];

    httpdate_format(rp->mtime, date);
    MHD_add_response_header(resp, "ETag", rp->etag);
    MHD_add_response_header(resp, "Last-Modified", date);
    MHD_add_response_header(resp, "Cache-Control", rp->cache_control);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (rp->document)
        MHD_add_response_header(resp, "Content-Security-Policy", "sandbox");
    if (rp->vary_accept || rp->vary_hints)
        MHD_add_response_header(resp, "Vary",
                                rp->vary_accept && rp->vary_hints
                                    ? "Accept, Sec-CH-DPR, Sec-CH-Width"
                                : rp->vary_accept ? "Accept"
                                                  : "Sec-CH-DPR, Sec-CH-Width");
    if (rp->vary_hints)
        MHD_add_response_header(resp, "Accept-CH", "Sec-CH-DPR, Sec-CH-Width");
    if (c->attachment)
        add_disposition(resp, c->name);
}

/* If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2). */
bool reply_is_not_modified(struct conn *c)
{
    const char *inm = reply_header(c, "If-None-Match");
    const char *ims = reply_header(c, "If-Modified-Since");
    time_t t;

    if (inm)
        return http_etag_matches(inm, c->reply.etag);
    return ims && httpdate_parse(ims, &t) == 0 && c->reply.mtime <= t;
}

enum MHD_Result reply_not_modified(struct conn *c)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    add_headers(c, resp);
    return reply_queue(c, 304, resp, 0);
}

/* The Range to honour: 1 with *start and *len, 0 for the whole body, -ERANGE for 416. A Range
 * is ignored when If-Range names another version. */
int reply_range(struct conn *c, uint64_t size, uint64_t *start, uint64_t *len)
{
    const char *range = reply_header(c, "Range");
    const char *if_range = reply_header(c, "If-Range");
    time_t t;

    if (!range)
        return 0;
    if (if_range && if_range[0] == '"' && strcmp(if_range, c->reply.etag) != 0)
        return 0;
    if (if_range && if_range[0] != '"' &&
        (httpdate_parse(if_range, &t) != 0 || t != c->reply.mtime))
        return 0;
    return http_parse_range(range, size, start, len);
}

enum MHD_Result reply_unsatisfiable(struct conn *c, uint64_t size)
{
    char cr[48];
    struct MHD_Response *resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);

    if (!resp)
        return MHD_NO;
    snprintf(cr, sizeof(cr), "bytes */%" PRIu64, size);
    MHD_add_response_header(resp, "Content-Range", cr);
    MHD_add_response_header(resp, "Accept-Ranges", "bytes");
    add_headers(c, resp);
    return reply_queue(c, 416, resp, 0);
}

/* Headers common to a 200 or 206 body, then queue it. */
enum MHD_Result reply_body(struct conn *c, struct MHD_Response *resp, int ranged, uint64_t start,
                           uint64_t len, uint64_t size)
{
    char cr[80];

    if (!resp)
        return reply_error(c, -ENOMEM, NULL);
    MHD_add_response_header(resp, "Content-Type", c->reply.content_type);
    MHD_add_response_header(resp, "Accept-Ranges", "bytes");
    add_headers(c, resp);
    if (ranged) {
        snprintf(cr, sizeof(cr), "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, start, start + len - 1,
                 size);
        MHD_add_response_header(resp, "Content-Range", cr);
    }
    return reply_queue(c, ranged ? 206 : 200, resp, len);
}
