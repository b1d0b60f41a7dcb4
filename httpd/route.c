/* httpd/route.c: endpoint matching, one percent-decoding, path confinement (see route.h). */
#include "route.h"

#include "pct.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define HOST_MAX 256

/* One segment of a clean path: not empty, not "." or "..", no backslash or control byte. */
static int check_segment(const char *s, size_t len, char err[ROUTE_ERR_LEN])
{
    if (len == 0) {
        snprintf(err, ROUTE_ERR_LEN, "empty segment in path");
        return -EINVAL;
    }
    if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.')) {
        snprintf(err, ROUTE_ERR_LEN, "'%.*s' segment in path", (int)len, s);
        return -EINVAL;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\\' || c < 0x20 || c == 0x7f) {
            snprintf(err, ROUTE_ERR_LEN, "%s in path",
                     c == '\\' ? "backslash" : "control character");
            return -EINVAL;
        }
    }
    return 0;
}

int route_clean_path(const char *in, size_t len, char *out, size_t cap, char err[ROUTE_ERR_LEN])
{
    if (len + 1 > cap) {
        snprintf(err, ROUTE_ERR_LEN, "path longer than %zu bytes", cap - 1);
        return -ENAMETOOLONG;
    }
    if (memchr(in, '\0', len)) {
        snprintf(err, ROUTE_ERR_LEN, "NUL in path");
        return -EINVAL;
    }
    for (size_t start = 0;;) {
        const char *slash = memchr(in + start, '/', len - start);
        size_t end = slash ? (size_t)(slash - in) : len;
        int rc = check_segment(in + start, end - start, err);
        if (rc)
            return rc;
        if (!slash)
            break;
        start = end + 1;
    }
    memcpy(out, in, len);
    out[len] = '\0';
    return 0;
}

/* The Host header's name, lowercase and without the port, into out; "" when absent or too long. */
static void normalise_host(const char *host, char out[HOST_MAX])
{
    size_t n = 0;

    out[0] = '\0';
    if (!host)
        return;
    const char *end = host[0] == '[' ? strchr(host, ']') : NULL;
    end = end ? end + 1 : host + strcspn(host, ":");
    if ((size_t)(end - host) >= HOST_MAX)
        return;
    for (const char *p = host; p < end; p++)
        out[n++] = (char)tolower((unsigned char)*p);
    out[n] = '\0';
}

/* Length of the part of path[0..len) that prefix covers, or 0 when it does not match. */
static size_t prefix_match(const char *prefix, const char *path, size_t len)
{
    size_t plen = strlen(prefix);

    if (len == 0 || path[0] != '/')
        return 0;
    if (plen == 1 && prefix[0] == '/')
        return 1;
    if (plen > len || memcmp(prefix, path, plen) != 0)
        return 0;
    if (plen < len && path[plen] != '/')
        return 0;
    return plen < len ? plen + 1 : plen;
}

/* The best endpoint for (host, path); sets *skip to the bytes it covers. -1 when none. */
static long find_endpoint(const struct route_endpoint *eps, size_t n, const char *host,
                          const char *path, size_t len, size_t *skip)
{
    long best = -1;
    size_t best_score = 0;

    for (size_t i = 0; i < n; i++) {
        bool bound = eps[i].host && eps[i].host[0];
        if (bound && strcmp(eps[i].host, host) != 0)
            continue;
        size_t covered = prefix_match(eps[i].prefix, path, len);
        size_t score = covered + (bound ? ROUTE_MAX_TARGET : 0);
        if (covered && score > best_score) {
            best = (long)i;
            best_score = score;
            *skip = covered;
        }
    }
    return best;
}

/* Append the decoded value of one tr= parameter to out->tr_query, ':'-joined. */
static int add_query_tr(struct route *out, const char *v, size_t vlen, char err[ROUTE_ERR_LEN])
{
    size_t used = strlen(out->tr_query);

    if (used && vlen) {
        if (used + 2 > sizeof(out->tr_query))
            return -ENAMETOOLONG;
        out->tr_query[used++] = ':';
    }
    int n = pct_decode(v, vlen, PCT_REJECT_CTRL | PCT_FORM, out->tr_query + used,
                       sizeof(out->tr_query) - used);
    if (n == -EINVAL)
        snprintf(err, ROUTE_ERR_LEN, "bad percent-escape in tr query parameter");
    return n < 0 ? n : 0;
}

/* The query string: tr= (steps) and ik-attachment=true; other parameters are ignored. */
static int parse_query(const char *q, size_t len, struct route *out, char err[ROUTE_ERR_LEN])
{
    for (size_t start = 0; start < len;) {
        const char *amp = memchr(q + start, '&', len - start);
        size_t end = amp ? (size_t)(amp - q) : len;
        const char *pair = q + start, *eq = memchr(pair, '=', end - start);
        size_t nlen = eq ? (size_t)(eq - pair) : end - start;
        const char *v = eq ? eq + 1 : pair + nlen;
        size_t vlen = (size_t)(q + end - v);
        char name[16];

        if (pct_decode(pair, nlen, PCT_REJECT_CTRL | PCT_FORM, name, sizeof(name)) >= 0) {
            if (strcmp(name, "tr") == 0) {
                int rc = add_query_tr(out, v, vlen, err);
                if (rc)
                    return rc;
            } else if (strcmp(name, "ik-attachment") == 0) {
                out->attachment = vlen == 4 && strncasecmp(v, "true", 4) == 0;
            }
        }
        start = end + 1;
    }
    return 0;
}

/* The part after the endpoint: an optional "tr:" segment, then the file path. Leading slashes
 * are skipped: the legacy SDK writes "ENDPOINT//path" when its urlEndpoint ends in '/'. */
static int parse_rest_path(const char *p, size_t len, struct route *out, char err[ROUTE_ERR_LEN])
{
    char decoded[ROUTE_MAX_PATH];
    int n;

    while (len && *p == '/') {
        p++;
        len--;
    }
    if (len >= 3 && memcmp(p, "tr:", 3) == 0) {
        const char *slash = memchr(p, '/', len);
        if (!slash)
            return -ENOENT;
        n = pct_decode(p + 3, (size_t)(slash - p) - 3, PCT_REJECT_CTRL, out->tr_path,
                       sizeof(out->tr_path));
        if (n == -EINVAL)
            snprintf(err, ROUTE_ERR_LEN, "bad percent-escape or control character in tr:");
        if (n < 0)
            return n;
        len -= (size_t)(slash + 1 - p);
        p = slash + 1;
    }
    if (len == 0)
        return -ENOENT;
    if (memchr(p, '\\', len)) {
        snprintf(err, ROUTE_ERR_LEN, "backslash in path");
        return -EINVAL;
    }
    n = pct_decode(p, len, PCT_REJECT_CTRL, decoded, sizeof(decoded));
    if (n == -EINVAL)
        snprintf(err, ROUTE_ERR_LEN, "bad percent-escape, NUL or control character in path");
    if (n < 0)
        return n;
    return route_clean_path(decoded, (size_t)n, out->path, sizeof(out->path), err);
}

int route_match(const struct route_endpoint *eps, size_t n, const char *host, const char *target,
                size_t len, struct route *out, char err[ROUTE_ERR_LEN])
{
    char lhost[HOST_MAX];
    size_t skip = 0;

    err[0] = '\0';
    memset(out, 0, sizeof(*out));
    if (len > ROUTE_MAX_TARGET)
        return -ENAMETOOLONG;
    const char *q = memchr(target, '?', len);
    size_t plen = q ? (size_t)(q - target) : len;
    normalise_host(host, lhost);
    long ep = find_endpoint(eps, n, lhost, target, plen, &skip);
    if (ep < 0)
        return -ENOENT;
    out->endpoint = (size_t)ep;
    out->rest = target + skip;
    out->rest_len = len - skip;
    int rc = parse_rest_path(target + skip, plen - skip, out, err);
    if (rc == 0 && q)
        rc = parse_query(q + 1, len - plen - 1, out, err);
    return rc;
}
