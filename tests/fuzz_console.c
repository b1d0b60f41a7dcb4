/* libFuzzer target for what the console does with what a client sends (httpd/console_url.c,
 * httpd/json.c).
 *
 * The input is read three ways. As a query string: console_url_param() returns a documented
 * error or a NUL-terminated value of that length with no control byte. As "CHAIN\nPATH": when
 * PATH is a clean path, the URL console_url_build() makes routes back through route_match() to
 * the same endpoint, path and chain, and a signed one passes sign_verify(). As a name:
 * json_str() writes a JSON string with no raw control byte, '<', '>' or '&', which decodes to
 * valid UTF-8, and to exactly the input when the input was valid UTF-8.
 *
 *   make fuzz && build/fuzz/fuzz_console CORPUS tests/fuzz/console */
#include "console_url.h"
#include "json.h"
#include "route.h"
#include "sign.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static const struct route_endpoint eps[] = {{NULL, "/demo"}, {NULL, "/"}};
static const char key[] = "private_fuzz_key";

static void fail(const char *what)
{
    fprintf(stderr, "invariant broken: %s\n", what);
    abort();
}

static void check_params(const char *q, size_t len)
{
    static const char *const names[] = {"ep", "path", "tr", "q", "offset", "limit", ""};
    char out[64];

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        ssize_t n = console_url_param(q, len, names[i], out, sizeof(out));
        if (n == -ENOENT || n == -EINVAL || n == -ENAMETOOLONG)
            continue;
        if (n < 0 || (size_t)n >= sizeof(out) || out[n] != '\0' || strlen(out) != (size_t)n)
            fail("console_url_param: a value of the wrong length");
        for (ssize_t k = 0; k < n; k++) {
            if ((unsigned char)out[k] < 0x20 || out[k] == 0x7f)
                fail("console_url_param: a control byte got through");
        }
    }
}

static bool has_ctrl(const char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return true;
    }
    return false;
}

/* Endpoint "/demo" shadows the files of "/" under demo/ (the longest prefix wins, as
 * docs/blobhttpd.md says): a URL of such a file with no chain is one of "/demo". */
static bool shadowed(size_t e, const char *chain, const char *path)
{
    size_t n = strlen("demo");

    return e == 1 && *chain == '\0' && strncmp(path, "demo", n) == 0 &&
           (path[n] == '\0' || path[n] == '/');
}

/* The URL of (chain, path) on each endpoint, with and without the key, routes back, unless
 * another endpoint shadows it. */
static void check_url(const char *chain, const char *path)
{
    static struct route rt;
    char url[ROUTE_MAX_TARGET + 1], err[ROUTE_ERR_LEN];

    for (size_t e = 0; e < 2; e++) {
        for (int signed_ = 0; signed_ < 2; signed_++) {
            struct console_url u = {eps[e].prefix, chain, path, "", key, signed_ ? strlen(key) : 0};
            int n = console_url_build(&u, url, sizeof(url));
            if (n == -ENAMETOOLONG)
                continue;
            if (n <= 0 || strlen(url) != (size_t)n)
                fail("console_url_build: no URL");
            if (shadowed(e, chain, path))
                continue;
            if (route_match(eps, 2, NULL, url, (size_t)n, &rt, err) != 0 || rt.endpoint != e ||
                strcmp(rt.path, path) != 0 || strcmp(rt.tr_path, chain) != 0)
                fail("a built URL does not route back to its endpoint, path and chain");
            if (signed_ && sign_verify(key, strlen(key), rt.rest, rt.rest_len, 0) != 0)
                fail("a signed URL does not verify");
        }
    }
}

/* The UTF-8 sequence length at s, 0 when invalid (the same rules as json.c, written apart). */
static size_t utf8_ok(const unsigned char *s, size_t len)
{
    unsigned cp;
    size_t n = s[0] < 0x80         ? 1
               : (s[0] >> 5) == 6  ? 2
               : (s[0] >> 4) == 14 ? 3
               : (s[0] >> 3) == 30 ? 4
                                   : 0;
    if (n == 0 || n > len)
        return 0;
    cp = n == 1 ? s[0] : s[0] & (0x7f >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    static const unsigned min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

static bool valid_utf8(const unsigned char *s, size_t len)
{
    for (size_t i = 0; i < len;) {
        size_t n = utf8_ok(s + i, len - i);
        if (!n)
            return false;
        i += n;
    }
    return true;
}

/* Append code point cp (below 0x10000) as UTF-8. */
static size_t put_cp(unsigned cp, unsigned char *out)
{
    if (cp < 0x80) {
        out[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (unsigned char)(0xc0 | cp >> 6);
        out[1] = (unsigned char)(0x80 | (cp & 0x3f));
        return 2;
    }
    out[0] = (unsigned char)(0xe0 | cp >> 12);
    out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
    out[2] = (unsigned char)(0x80 | (cp & 0x3f));
    return 3;
}

/* Decode a JSON string "..." (the escapes json.c writes) into out; its length. */
static size_t json_unquote(const char *s, size_t len, unsigned char *out)
{
    size_t n = 0;

    if (len < 2 || s[0] != '"' || s[len - 1] != '"')
        fail("json_str: not a quoted string");
    for (size_t i = 1; i < len - 1; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || c == '<' || c == '>' || c == '&' || c == '"')
            fail("json_str: a byte that must be escaped went out raw");
        if (c != '\\') {
            out[n++] = c;
            continue;
        }
        if (s[i + 1] == '"' || s[i + 1] == '\\') {
            out[n++] = (unsigned char)s[++i];
            continue;
        }
        char hex[5] = {0}, *end;
        if (s[i + 1] != 'u' || i + 6 > len - 1)
            fail("json_str: an escape json.c does not write");
        memcpy(hex, s + i + 2, 4);
        unsigned long cp = strtoul(hex, &end, 16);
        if (*end)
            fail("json_str: a \\u escape without four hex digits");
        n += put_cp((unsigned)cp, out + n);
        i += 5;
    }
    return n;
}

static void check_json(const char *s, size_t len)
{
    struct json j;
    size_t n;

    json_init(&j, 16 * len + 64);
    json_str(&j, s, len);
    char *text = json_take(&j, &n);
    if (!text)
        fail("json_str: no text within 16 bytes per input byte");
    unsigned char *back = malloc(3 * n + 1);
    if (!back)
        abort();
    size_t m = json_unquote(text, n, back);
    if (!valid_utf8(back, m))
        fail("json_str: the text is not valid UTF-8");
    if (valid_utf8((const unsigned char *)s, len) && (m != len || memcmp(back, s, len) != 0))
        fail("json_str: valid UTF-8 did not come back as it was");
    free(back);
    free(text);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    char *s = malloc(size + 1), path[ROUTE_MAX_PATH], err[ROUTE_ERR_LEN];

    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    check_params(s, size);
    check_json(s, size);
    char *nl = memchr(s, '\n', size);
    if (nl && strlen(s) == size) {
        *nl = '\0';
        if (!has_ctrl(s) && strlen(s) < ROUTE_MAX_TR &&
            route_clean_path(nl + 1, strlen(nl + 1), path, sizeof(path), err) == 0)
            check_url(s, path);
    }
    free(s);
    return 0;
}
