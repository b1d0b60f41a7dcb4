/* httpd/route.h: from (Host, raw request target) to an endpoint, a transformation text and a
 * confined relative file path. Pure: no I/O, no allocation.
 *
 *   /demo/tr:w-300,h-300/photos/cat%20one.jpg?tr=rt-90&ik-attachment=true
 *    ^^^^ endpoint prefix (optionally bound to a Host)
 *         ^^^^^^^^^^^^^^^ path steps       ^^^^^^^^ query steps
 *                         ^^^^^^^^^^^^^^^^ file path: "photos/cat one.jpg"
 *
 * The path is percent-decoded exactly once; NUL and control bytes, backslashes, and empty,
 * "." or ".." segments are refused, so the result can be opened beneath an origin folder. */
#ifndef HTTPD_ROUTE_H
#define HTTPD_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

#define ROUTE_MAX_TARGET 4096 /* bytes of a request target; longer is 414 */
#define ROUTE_MAX_PATH 2048   /* bytes of a decoded file path */
#define ROUTE_MAX_TR 2048     /* bytes of decoded transformation text (TR_MAX_TEXT) */
#define ROUTE_ERR_LEN 128

/* One URL endpoint. host: NULL for any Host, else a lowercase name without port ("cdn.x.com").
 * prefix: "/" or "/name[/more]" without a trailing slash. Both owned by the caller. */
struct route_endpoint {
    const char *host;
    const char *prefix;
};

struct route {
    size_t endpoint;  /* index of the endpoint that matched */
    const char *rest; /* (transfer none) the raw target after "PREFIX/": what ik-s signs */
    size_t rest_len;
    char path[ROUTE_MAX_PATH];   /* decoded relative file path, "a/b.jpg" */
    char tr_path[ROUTE_MAX_TR];  /* decoded text of the "tr:" segment, "" when none */
    char tr_query[ROUTE_MAX_TR]; /* decoded text of the tr= query parameter(s), joined by ':' */
    bool attachment;             /* ik-attachment=true */
};

/* Route target[0..len) (raw, as sent; the query included) for the Host header host (may be
 * NULL). An endpoint bound to the request's Host wins over one for any host; among those, the
 * longest prefix that ends at a '/' boundary wins. Returns 0; -ENOENT when no endpoint
 * matches or no file is named; -ENAMETOOLONG when a part exceeds its cap; -EINVAL with err set
 * for a malformed or unsafe path ("'..' segment in path"). */
int route_match(const struct route_endpoint *eps, size_t n, const char *host, const char *target,
                size_t len, struct route *out, char err[ROUTE_ERR_LEN]);

/* Check a decoded relative path (a di- default image, or a configured name) as route_match()
 * checks URL paths, copying it to out. Returns 0, -ENAMETOOLONG or -EINVAL with err set. */
int route_clean_path(const char *in, size_t len, char *out, size_t cap, char err[ROUTE_ERR_LEN]);

#endif
