/* httpd/ikurl.c: ImageKit SDK URLs, byte for byte (see ikurl.h). The path is built as the
 * WHATWG URL parser builds a pathname, one segment at a time on a stack whose first entries
 * (the endpoint's path and "tr:CHAIN") a ".." may not pop. */
#include "ikurl.h"

#include "sign.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SEGMENTS_MAX 1024 /* path segments a URL may have */

/* The URL being written: out[0..len), and where each path segment begins. */
struct url {
    char *out;
    size_t len, cap;
    bool full;
    size_t seg[SEGMENTS_MAX];
    size_t nseg, fixed; /* segments; how many belong to the endpoint and the chain */
};

static void put(struct url *u, const char *s, size_t n)
{
    if (u->full || n >= u->cap - u->len) {
        u->full = true;
        return;
    }
    memcpy(u->out + u->len, s, n);
    u->len += n;
    u->out[u->len] = '\0';
}

static void puts_(struct url *u, const char *s)
{
    put(u, s, strlen(s));
}

/* The path percent-encode set: C0 controls, space, " # < > ? ` { } and every byte over '~'. */
static bool encoded(unsigned char c)
{
    return c <= 0x20 || c > 0x7e || strchr("\"#<>?`{}", c) != NULL;
}

static bool is_dot(const char *s, size_t n)
{
    return (n == 1 && s[0] == '.') || (n == 3 && strncasecmp(s, "%2e", 3) == 0);
}

static bool is_dotdot(const char *s, size_t n)
{
    return (n == 2 && s[0] == '.' && s[1] == '.') ||
           (n == 4 && (strncasecmp(s, ".%2e", 4) == 0 || strncasecmp(s, "%2e.", 4) == 0)) ||
           (n == 6 && strncasecmp(s, "%2e%2e", 6) == 0);
}

/* Open a new segment "/" at the end of the URL. */
static int push(struct url *u)
{
    if (u->nseg == SEGMENTS_MAX)
        return -ENAMETOOLONG;
    u->seg[u->nseg++] = u->len;
    put(u, "/", 1);
    return 0;
}

/* The segment just written (from its '/' to the end): a "." or ".." is resolved as the URL
 * parser does; at_end says whether it was the path's last. */
static int settle(struct url *u, bool at_end)
{
    size_t start = u->seg[u->nseg - 1] + 1;
    const char *s = u->out + start;
    size_t n = u->len - start;

    if (!is_dot(s, n) && !is_dotdot(s, n))
        return 0;
    u->len = u->seg[--u->nseg]; /* the dot segment itself goes */
    if (is_dotdot(s, n)) {
        if (u->nseg <= u->fixed)
            return -EXDEV;
        u->len = u->seg[--u->nseg];
    }
    u->out[u->len] = '\0';
    return at_end ? push(u) : 0;
}

/* One byte of the file's path into the current segment (tabs and newlines vanish). */
static void path_byte(struct url *u, unsigned char c)
{
    char hex[4];

    if (c == '\t' || c == '\n' || c == '\r')
        return;
    if (!encoded(c)) {
        put(u, (const char *)&c, 1);
        return;
    }
    snprintf(hex, sizeof(hex), "%%%02X", c);
    put(u, hex, 3);
}

/* The file's path after the fixed segments: leading and repeated slashes collapse (the SDKs
 * join with a slash and squeeze runs of them), a backslash also ends a segment. */
static int add_path(struct url *u, const char *path)
{
    const char *p = path + strspn(path, "/");
    int err = push(u);

    for (; !err && *p; p++) {
        if (*p == '/' || *p == '\\') {
            err = settle(u, false);
            err = err ? err : push(u);
            p += *p == '/' ? strspn(p + 1, "/") : 0;
        } else
            path_byte(u, (unsigned char)*p);
    }
    return err ? err : settle(u, true);
}

/* Whether s is UTF-8 as a JavaScript string can hold it: no overlong forms, no surrogates,
 * nothing over U+10FFFF. */
static bool utf8_valid(const unsigned char *s)
{
    while (*s) {
        unsigned c = *s, n = c < 0x80                ? 0
                             : c >= 0xc2 && c < 0xe0 ? 1
                             : (c & 0xf0) == 0xe0    ? 2
                             : c >= 0xf0 && c < 0xf5 ? 3
                                                     : 9;
        if (n == 9)
            return false;
        for (unsigned i = 1; i <= n; i++) {
            if ((s[i] & 0xc0) != 0x80)
                return false;
        }
        if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] >= 0xa0) ||
            (c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] >= 0x90))
            return false;
        s += n + 1;
    }
    return true;
}

/* The length of the endpoint's scheme and "://", or 0. */
static size_t scheme_len(const char *e)
{
    return strncmp(e, "https://", 8) == 0 ? 8 : strncmp(e, "http://", 7) == 0 ? 7 : 0;
}

/* A dotted IPv4 address as the URL parser writes it: four decimal parts, no leading zero. */
static bool canonical_ipv4(const char *h, size_t n)
{
    unsigned parts = 0;

    for (size_t i = 0; i < n; parts++) {
        size_t d = 0;
        unsigned v = 0;
        while (i + d < n && h[i + d] >= '0' && h[i + d] <= '9' && d < 4)
            v = v * 10 + (unsigned)(h[i + d++] - '0');
        if (d == 0 || v > 255 || (d > 1 && h[i] == '0'))
            return false;
        i += d;
        if (i < n && (h[i] != '.' || i + 1 == n))
            return false;
        i += i < n;
    }
    return parts == 4;
}

/* A host the URL parser keeps as is: lowercase letters, digits, '-' and '.'; when its last
 * label is a number, an IPv4 address. */
static bool plain_host(const char *h, size_t n)
{
    size_t last = n;

    if (n == 0 || strspn(h, "abcdefghijklmnopqrstuvwxyz0123456789-.") < n || h[0] == '.')
        return false;
    while (last > 0 && h[last - 1] != '.')
        last--;
    if (last < n && h[last] >= '0' && h[last] <= '9')
        return canonical_ipv4(h, n);
    return true;
}

static bool plain_port(const char *p, size_t n, bool https)
{
    unsigned long v = 0;

    if (n == 0 || n > 5 || p[0] == '0' || strspn(p, "0123456789") < n)
        return false;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (unsigned long)(p[i] - '0');
    return v <= 65535 && v != (https ? 443UL : 80UL);
}

/* A path the URL parser keeps as is, and the SDKs' slash squeezing too. */
static bool plain_path(const char *p)
{
    static const char ok[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                             "-._~!$&'()*+,;=:@/";

    if (strspn(p, ok) < strlen(p) || strstr(p, "//"))
        return false;
    for (const char *s = p; *s; s = strchr(s + 1, '/') ? strchr(s + 1, '/') : s + strlen(s)) {
        const char *seg = s + (*s == '/');
        size_t n = strcspn(seg, "/");
        if (is_dot(seg, n) || is_dotdot(seg, n))
            return false;
    }
    return true;
}

/* What is wrong with endpoint e, or NULL. */
static const char *endpoint_fault(const char *e)
{
    size_t s = scheme_len(e), hn = s ? strcspn(e + s, ":/") : 0, pn = 0;
    const char *host = e + s, *port = host + hn, *path = port;

    if (*port == ':') {
        pn = strcspn(port + 1, "/");
        path = port + 1 + pn;
    }
    if (!s)
        return "it is not http:// or https://";
    if (!plain_host(host, hn))
        return "its host is not a plain lowercase name or IPv4 address";
    if (*port == ':' && !plain_port(port + 1, pn, s == 8))
        return "its port is not plain or is the scheme's default";
    if (!plain_path(path))
        return "its path has bytes to encode, '//', '.' or '..', a query or a fragment";
    return NULL;
}

int ikurl_check_endpoint(const char *e, char *why, size_t cap)
{
    const char *bad = endpoint_fault(e);

    if (!bad)
        return 0;
    snprintf(why, cap, "endpoint '%.60s': %s", e, bad);
    return -EINVAL;
}

int ikurl_check_chain(const char *tr, char *why, size_t cap)
{
    size_t n = tr ? strlen(tr) : 0;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)tr[i];
        if (c <= 0x20 || c > 0x7e || strchr("\"#&/<>?[\\]^`{|}", c)) {
            snprintf(why, cap, "--tr: byte 0x%02x at %zu cannot be in a chain", c, i);
            return -EINVAL;
        }
    }
    if (n && (tr[0] == ':' || tr[n - 1] == ':' || strstr(tr, "::"))) {
        snprintf(why, cap, "--tr: '%.60s' has an empty step", tr);
        return -EINVAL;
    }
    return 0;
}

/* Scheme, host and port as written, then the endpoint's path segments and "tr:CHAIN": the
 * segments a ".." of the file's path may not pop. */
static int add_fixed(struct url *u, const struct ikurl_opts *o)
{
    const char *e = o->endpoint, *path = e + scheme_len(e);
    int err = 0;

    path += strcspn(path, "/");
    put(u, e, (size_t)(path - e));
    for (const char *s = path; !err && *s;) {
        size_t n = strcspn(++s, "/");
        if (n)
            err = push(u);
        put(u, s, n);
        s += n;
    }
    if (!err && o->in_path && o->tr && o->tr[0]) {
        err = push(u);
        puts_(u, "tr:");
        puts_(u, o->tr);
    }
    u->fixed = u->nseg;
    return err;
}

/* ik-t (when the URL expires) and ik-s: the signed text is what sign_string() makes of the URL
 * after "ENDPOINT/", the text blobhttpd verifies. */
static int add_signature(struct url *u, const struct ikurl_opts *o, bool has_query)
{
    size_t elen = strlen(o->endpoint), skip = elen + (o->endpoint[elen - 1] != '/');
    char text[IKURL_MAX], hex[SIGN_HEX_LEN], t[24];

    if (o->expires) {
        snprintf(t, sizeof(t), "%sik-t=%" PRIdMAX, has_query ? "&" : "?", (intmax_t)o->expires);
        puts_(u, t);
    }
    if (u->full)
        return -ENAMETOOLONG;
    if (u->len < skip || memcmp(u->out, o->endpoint, elen) != 0)
        return -EINVAL; /* cannot be: the URL begins with its endpoint */
    int n = sign_string(u->out + skip, u->len - skip, text, sizeof(text));
    if (n < 0)
        return n;
    int err = sign_hmac_hex(o->key, o->keylen, text, (size_t)n, hex);
    if (err)
        return err;
    puts_(u, o->expires || has_query ? "&ik-s=" : "?ik-s=");
    puts_(u, hex);
    return 0;
}

int ikurl_build(const struct ikurl_opts *o, const char *path, char *out, size_t cap)
{
    struct url *u = calloc(1, sizeof(*u));
    bool query = o->tr && o->tr[0] && !o->in_path;
    int err = 0;

    if (!u)
        return -ENOMEM;
    *u = (struct url){.out = out, .cap = cap};
    out[0] = '\0';
    err = !path[0] ? -EINVAL : !utf8_valid((const unsigned char *)path) ? -EILSEQ : 0;
    err = err ? err : add_fixed(u, o);
    err = err ? err : add_path(u, path);
    if (!err && query) {
        puts_(u, "?tr=");
        puts_(u, o->tr);
    }
    if (!err && o->key)
        err = add_signature(u, o, query);
    if (!err && u->full)
        err = -ENAMETOOLONG;
    int len = err ? err : (int)u->len;
    free(u);
    return len;
}
