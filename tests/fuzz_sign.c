/* libFuzzer target for signed-URL verification (httpd/sign.c).
 *
 * Input: one byte of key length (mod 64), the key, then the raw target after the endpoint
 * ("tr:w-300/a.jpg?ik-t=...&ik-s=..."). sign_verify() must return 0 or one of its documented
 * errors, and sign_string() stay inside its buffer. Then the target is signed as the SDKs
 * sign it (ik-s appended): it must verify, or be expired exactly when its ik-t is past, or be
 * rejected exactly when its ik-t is malformed; with any byte of its path changed, it must never
 * verify, expired or not.
 *
 *   make fuzz && build/fuzz/fuzz_sign -dict=tests/fuzz/sign.dict CORPUS tests/fuzz/sign */
#include "sign.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOW 1767225600 /* 2026-01-01 */

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static void fail(const char *what)
{
    fprintf(stderr, "invariant broken: %s\n", what);
    abort();
}

/* The value of the last ik-t pair of the query of rest, as the SDKs put it; NULL if none. */
static const char *last_ik_t(const char *rest, size_t len, size_t *vlen)
{
    const char *q = memchr(rest, '?', len), *found = NULL;

    for (const char *p = q ? q + 1 : rest + len; p < rest + len;) {
        const char *amp = memchr(p, '&', (size_t)(rest + len - p));
        const char *end = amp ? amp : rest + len;
        if (end - p >= 4 && memcmp(p, "ik-t", 4) == 0 && (end - p == 4 || p[4] == '=')) {
            found = end - p == 4 ? end : p + 5;
            *vlen = (size_t)(end - found);
        }
        p = end + 1;
    }
    return found;
}

/* What verifying a correctly signed rest must give, from its ik-t alone. */
static int expected(const char *rest, size_t len)
{
    size_t vlen = 0;
    const char *t = last_ik_t(rest, len, &vlen);
    int64_t expiry = 0;

    if (!t)
        return 0; /* never expires */
    if (vlen == 0 || vlen > 18)
        return -EKEYREJECTED;
    for (size_t i = 0; i < vlen; i++) {
        if (t[i] < '0' || t[i] > '9')
            return -EKEYREJECTED;
        expiry = expiry * 10 + (t[i] - '0');
    }
    return NOW > expiry ? -EKEYEXPIRED : 0;
}

/* rest with the ik-s the SDKs would append for key. (transfer full): free() it; NULL when
 * rest is longer than what can be signed. */
static char *sign_url(const void *key, size_t keylen, const char *rest, size_t len, size_t *out)
{
    static char text[16384];
    char hex[SIGN_HEX_LEN];
    int n = sign_string(rest, len, text, sizeof(text));
    char *url;

    if (n < 0)
        return NULL;
    if ((size_t)n >= sizeof(text) || text[n] != '\0')
        fail("sign_string overran or miscounted");
    if (sign_hmac_hex(key, keylen, text, (size_t)n, hex) != 0)
        fail("sign_hmac_hex failed");
    if (sign_string(rest, len, text, (size_t)n) != -ENAMETOOLONG)
        fail("sign_string wrote past a buffer one byte too small");
    url = malloc(len + 7 + SIGN_HEX_LEN);
    if (!url)
        abort();
    memcpy(url, rest, len);
    *out = len + (size_t)snprintf(url + len, 7 + SIGN_HEX_LEN, "%sik-s=%s",
                                  memchr(rest, '?', len) ? "&" : "?", hex);
    return url;
}

static void check_signed(const void *key, size_t keylen, const char *rest, size_t len)
{
    size_t n;
    char *url = sign_url(key, keylen, rest, len, &n);
    size_t plen;

    if (!url)
        return;
    if (sign_verify(key, keylen, url, n, NOW) != expected(rest, len)) {
        fprintf(stderr, "url: %.*s\n", (int)n, url);
        fail("a URL signed as the SDKs sign it does not verify as its ik-t says");
    }
    plen = memchr(url, '?', n) ? (size_t)((char *)memchr(url, '?', n) - url) : n;
    for (size_t k = 0; k < 8 && k < plen; k++) { /* 8 bytes spread over the path */
        size_t i = k * plen / 8;
        url[i] ^= 1;
        int rc = sign_verify(key, keylen, url, n, NOW);
        if (rc == 0 || rc == -EKEYEXPIRED) /* -ENOKEY: a new '?' swallowed the ik-s */
            fail("a URL with a changed path still verifies");
        url[i] ^= 1;
    }
    free(url);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    size_t keylen = size ? data[0] % 64 : 0;
    const char *key, *rest;
    int rc;

    if (size < 1 + keylen)
        return 0;
    key = (const char *)data + 1;
    rest = key + keylen;
    size -= 1 + keylen;
    rc = sign_verify(key, keylen, rest, size, NOW);
    if (rc != 0 && rc != -ENOKEY && rc != -EKEYREJECTED && rc != -EKEYEXPIRED)
        fail("sign_verify returned an undocumented error");
    check_signed(key, keylen, rest, size);
    return 0;
}
