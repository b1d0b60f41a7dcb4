/* libFuzzer target for blobkit-url's URLs (httpd/ikurl.c).
 *
 * Input: one byte of flags (the chain's position, signed or not, expiring or not, which of
 * four endpoints), a chain up to the first NUL (used when ikurl_check_chain() takes it), then
 * the file's path. ikurl_build() must return a documented error or the URL's length; the URL
 * must begin with its endpoint, hold only bytes a URL may carry unencoded, have at most the
 * one '?' it adds, carry the chain where asked, and, when signed, verify with sign_verify()
 * as blobhttpd verifies it.
 *
 *   make fuzz && build/fuzz/fuzz_ikurl -dict=tests/fuzz/ikurl.dict CORPUS tests/fuzz/ikurl */
#include "ikurl.h"
#include "sign.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOW 1767225600 /* 2026-01-01 */

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static void fail(const char *what, const char *url)
{
    fprintf(stderr, "invariant broken: %s\nurl: %s\n", what, url);
    abort();
}

static const char *const endpoints[] = {"https://ik.example.com/demo", "http://127.0.0.1:8080/",
                                        "https://ik.example.com", "https://a.b/x/y/"};

static void check_url(const struct ikurl_opts *o, const char *url, size_t len)
{
    size_t elen = strlen(o->endpoint);
    const char *q = strchr(url, '?');

    if (strlen(url) != len)
        fail("the length returned is not the URL's", url);
    if (strncmp(url, o->endpoint, elen) != 0)
        fail("the URL does not begin with its endpoint", url);
    for (const unsigned char *c = (const unsigned char *)url; *c; c++) {
        if (*c <= 0x20 || *c > 0x7e || strchr("\"#<>`{}", *c))
            fail("a byte that must be encoded", url);
    }
    if (q && strchr(q + 1, '?'))
        fail("more than one '?'", url);
    if (o->tr && o->tr[0] && !o->in_path && (!q || strncmp(q, "?tr=", 4) != 0))
        fail("no ?tr= in the query position", url);
    if (o->tr && o->tr[0] && o->in_path && !strstr(url, "/tr:"))
        fail("no /tr: in the path position", url);
    if (!o->key)
        return;
    size_t skip = elen + (o->endpoint[elen - 1] != '/');
    int rc = sign_verify(o->key, o->keylen, url + skip, len - skip, NOW);
    if (rc != (o->expires && o->expires < NOW ? -EKEYEXPIRED : 0))
        fail("a signed URL does not verify", url);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    static char buf[IKURL_MAX + 1], url[IKURL_MAX];
    char why[IKURL_WHY_MAX];

    if (size < 1 || size > IKURL_MAX)
        return 0;
    unsigned flags = data[0];
    memcpy(buf, data + 1, size - 1);
    buf[size - 1] = '\0';
    const char *tr = buf, *path = buf + strlen(buf) + (strlen(buf) < size - 1);
    struct ikurl_opts o = {
        .endpoint = endpoints[(flags >> 4) & 3],
        .tr = ikurl_check_chain(tr, why, sizeof(why)) == 0 ? tr : NULL,
        .in_path = flags & 1,
        .key = flags & 2 ? "private_test" : NULL,
        .keylen = 12,
        .expires = flags & 4 ? (flags & 8 ? NOW - 60 : NOW + 60) : 0,
    };
    if (ikurl_check_endpoint(o.endpoint, why, sizeof(why)) != 0)
        fail("a sound endpoint is refused", o.endpoint);
    int n = ikurl_build(&o, path, url, sizeof(url));
    if (n < 0 && n != -EINVAL && n != -EILSEQ && n != -EXDEV && n != -ENAMETOOLONG)
        fail("an undocumented error", path);
    if (n >= 0)
        check_url(&o, url, (size_t)n);
    return 0;
}
