/* libFuzzer target for URL routing (httpd/route.c) and percent-decoding (common/pct.c).
 *
 * Input: "HOST\nTARGET" (no newline: TARGET alone, no Host header). route_match() must return
 * one of its documented errors, or a route whose endpoint really covers the target and whose
 * path is confined: no empty, "." or ".." segment, no backslash or control byte, what
 * route_clean_path() accepts again unchanged. pct_decode() is compared with a plain reference
 * decoder written here, for every flag combination, in place and not, and must refuse an
 * output buffer one byte too small; route_clean_path() with a reference segment check.
 *
 *   make fuzz && build/fuzz/fuzz_route -dict=tests/fuzz/route.dict CORPUS tests/fuzz/route */
#include "pct.h"
#include "route.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static const struct route_endpoint eps[] = {
    {NULL, "/demo"}, {NULL, "/demo/private"},    {"static.example.com", "/"},
    {NULL, "/"},     {"img.example.com", "/v1"}, {"img.example.com", "/v1/x"},
};
#define NEPS (sizeof(eps) / sizeof(eps[0]))

static void fail(const char *what)
{
    fprintf(stderr, "invariant broken: %s\n", what);
    abort();
}

/* The reference decoder: one byte at a time, as the RFC says, with the same refusals. */
static ssize_t ref_decode(const char *in, size_t len, unsigned flags, char *out)
{
    size_t n = 0;

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c == '%') {
            if (i + 2 >= len || !isxdigit((unsigned char)in[i + 1]) ||
                !isxdigit((unsigned char)in[i + 2]))
                return -EINVAL;
            char hex[3] = {in[i + 1], in[i + 2], '\0'};
            c = (unsigned char)strtoul(hex, NULL, 16);
            i += 2;
        } else if (c == '+' && (flags & PCT_FORM)) {
            c = ' ';
        }
        if (c == '\0' || ((flags & PCT_REJECT_CTRL) && (c < 0x20 || c == 0x7f)))
            return -EINVAL;
        out[n++] = (char)c;
    }
    return (ssize_t)n;
}

/* pct_decode() against the reference, out of place, in place, and with a buffer too small. */
static void check_pct(const char *in, size_t len, unsigned flags, char *a, char *b)
{
    ssize_t want = ref_decode(in, len, flags, b);
    ssize_t got = pct_decode(in, len, flags, a, len + 1);

    if (got != want || (got >= 0 && (memcmp(a, b, (size_t)got) != 0 || a[got] != '\0')))
        fail("pct_decode differs from the reference decoder");
    if (got < 0 && a[0] != '\0')
        fail("pct_decode left a partial result after an error");
    memcpy(b, in, len);
    if (pct_decode(b, len, flags, b, len + 1) != got || (got >= 0 && strcmp(a, b) != 0))
        fail("pct_decode in place differs");
    if (got >= 0 && pct_decode(in, len, flags, b, (size_t)got) != -ENAMETOOLONG)
        fail("pct_decode wrote past a buffer one byte too small");
}

/* The reference confinement rule: segments not empty, ".", ".."; no NUL, '\\' or control. */
static bool ref_clean(const char *p, size_t len)
{
    size_t seg = 0;

    for (size_t i = 0; i <= len; i++) {
        if (i == len || p[i] == '/') {
            size_t n = i - seg;
            if (n == 0 || (n == 1 && p[seg] == '.') ||
                (n == 2 && p[seg] == '.' && p[seg + 1] == '.'))
                return false;
            seg = i + 1;
        } else if (p[i] == '\\' || (unsigned char)p[i] < 0x20 || p[i] == 0x7f) {
            return false;
        }
    }
    return true;
}

static void check_clean_path(const char *in, size_t len, char *out)
{
    char err[ROUTE_ERR_LEN];
    int rc = route_clean_path(in, len, out, len + 1, err);

    if ((rc == 0) != ref_clean(in, len))
        fail("route_clean_path disagrees with the reference rule");
    if (rc == 0 && (memcmp(out, in, len) != 0 || out[len] != '\0'))
        fail("route_clean_path changed an accepted path");
    if (rc != 0 && (rc != -EINVAL || err[0] == '\0'))
        fail("route_clean_path refused without -EINVAL and a message");
}

/* The Host name as route_match() compares it: lowercase, without port; "" when over 255. */
static void ref_host(const char *host, char *out, size_t cap)
{
    size_t n = 0;

    out[0] = '\0';
    if (!host)
        return;
    const char *close = host[0] == '[' ? strchr(host, ']') : NULL;
    size_t len = close ? (size_t)(close - host) + 1 : strcspn(host, ":");
    if (len >= cap)
        return;
    while (n < len) {
        out[n] = (char)tolower((unsigned char)host[n]);
        n++;
    }
    out[n] = '\0';
}

/* Bytes of path[0..len) that endpoint e covers (0: none), as the prefix rule says. */
static size_t ref_covered(const struct route_endpoint *e, const char *path, size_t len)
{
    size_t plen = strlen(e->prefix);

    if (len == 0 || path[0] != '/')
        return 0;
    if (strcmp(e->prefix, "/") == 0)
        return 1;
    if (plen > len || memcmp(e->prefix, path, plen) != 0 || (plen < len && path[plen] != '/'))
        return 0;
    return plen;
}

/* The endpoint route_match() must pick: bound to this Host first, then the longest prefix. */
static long ref_endpoint(const char *host, const char *target, size_t len)
{
    const char *q = memchr(target, '?', len);
    size_t plen = q ? (size_t)(q - target) : len, best_len = 0;
    long best = -1;
    bool best_bound = false;
    char h[256];

    ref_host(host, h, sizeof(h));
    for (size_t i = 0; i < NEPS; i++) {
        bool bound = eps[i].host != NULL;
        size_t c = ref_covered(&eps[i], target, plen);
        if (!c || (bound && strcmp(eps[i].host, h) != 0))
            continue;
        if (best < 0 || (bound && !best_bound) || (bound == best_bound && c > best_len)) {
            best = (long)i;
            best_len = c;
            best_bound = bound;
        }
    }
    return best;
}

/* A string holds no byte that decoding with PCT_REJECT_CTRL refuses. */
static bool clean_text(const char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    }
    return true;
}

static void check_route(const char *host, const char *target, size_t len, char *buf)
{
    static struct route rt;
    char err[ROUTE_ERR_LEN];
    int rc = route_match(eps, NEPS, host, target, len, &rt, err);
    long want = len > ROUTE_MAX_TARGET ? -1 : ref_endpoint(host, target, len);

    if (rc == -ENAMETOOLONG || (rc == -ENOENT && want < 0))
        return;
    if (want < 0 || rt.endpoint != (size_t)want)
        fail("route_match picked another endpoint than the prefix rule");
    if (rt.rest < target || rt.rest + rt.rest_len != target + len)
        fail("the signed part is not the end of the target");
    if (rc == -EINVAL && (err[0] == '\0' || !memchr(err, '\0', sizeof(err))))
        fail("-EINVAL without a message");
    if (rc != 0 && rc != -ENOENT && rc != -EINVAL)
        fail("route_match returned an undocumented error");
    if (rc != 0)
        return;
    if (!ref_clean(rt.path, strlen(rt.path)) || !clean_text(rt.tr_path) || !clean_text(rt.tr_query))
        fail("route_match let a refused byte or segment through");
    check_clean_path(rt.path, strlen(rt.path), buf);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    const char *in = (const char *)data, *nl = memchr(in, '\n', size);
    char *host = NULL, *a = malloc(size + 1), *b = malloc(size + 1);

    if (!a || !b)
        abort();
    for (unsigned flags = 0; flags < 4; flags++)
        check_pct(in, size, flags, a, b);
    check_clean_path(in, size, a);
    if (nl) {
        host = strndup(in, (size_t)(nl - in));
        if (!host)
            abort();
        size -= (size_t)(nl + 1 - in);
        in = nl + 1;
    }
    check_route(host, in, size, a);
    free(host);
    free(a);
    free(b);
    return 0;
}
