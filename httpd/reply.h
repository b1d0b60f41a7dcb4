/* httpd/reply.h: building and queueing responses, the bottom layer of blobhttpd's requests.
 *
 * srv.c (daemon, connections, routing) and deliver.c (files, transforms) both answer through
 * these; none of them calls back up. Every function takes the request's connection (srv_i.h)
 * and queues at most one response on it. */
#ifndef HTTPD_REPLY_H
#define HTTPD_REPLY_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define REPLY_ETAG_LEN 48

struct conn;

/* The headers of a successful response, worked out before its body exists. */
struct reply {
    char etag[REPLY_ETAG_LEN]; /* quoted */
    time_t mtime;
    const char *content_type;  /* (transfer none): static */
    const char *cache_control; /* (transfer none): from the conf */
    bool vary_accept, vary_hints;
    bool document; /* a non-image original a browser could render as a page */
};

/* A request header's value, or NULL. (transfer none): valid during the request. */
const char *reply_header(struct conn *c, const char *name);

/* Queue resp with status for the request, then drop our reference to it; it says the request's
 * X-Request-Id. body is what a GET sends (for the access log). resp NULL: MHD_NO (the connection
 * closes). On an origin thread (c->in_job), the response is kept in c->pending instead, for the
 * resume to queue. */
enum MHD_Result reply_queue(struct conn *c, unsigned status, struct MHD_Response *resp,
                            uint64_t body);

/* Answer err (-errno) with its status, a short text body and ImageKit's ik-error header.
 * msg may be NULL (then strerror's text). 5xx are never cacheable; 503 says Retry-After. */
enum MHD_Result reply_error(struct conn *c, int err, const char *msg);

/* 405 for a method other than GET and HEAD. */
enum MHD_Result reply_not_allowed(struct conn *c);

/* Whether the request's conditionals (If-None-Match, else If-Modified-Since) match c->reply,
 * so a 304 answers it. */
bool reply_is_not_modified(struct conn *c);

/* 304 with c->reply's validators. Every response of a file carries X-Content-Type-Options:
 * nosniff, and one with c->reply.document set also Content-Security-Policy: sandbox. */
enum MHD_Result reply_not_modified(struct conn *c);

/* The Range to honour for a body of size bytes: 1 with *start and *len, 0 for the whole body,
 * -ERANGE for 416. A Range is ignored when If-Range names another version than c->reply. */
int reply_range(struct conn *c, uint64_t size, uint64_t *start, uint64_t *len);

/* 416 for a body of size bytes. */
enum MHD_Result reply_unsatisfiable(struct conn *c, uint64_t size);

/* A 200 (ranged 0) or 206 of bytes [start, start + len) of a size-byte body, with c->reply's
 * headers. resp is (transfer full); NULL answers 503 (out of memory). */
enum MHD_Result reply_body(struct conn *c, struct MHD_Response *resp, int ranged, uint64_t start,
                           uint64_t len, uint64_t size);

#endif
