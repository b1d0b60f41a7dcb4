/* httpd/sign.c: ik-s / ik-t verification (see sign.h). */
#include "sign.h"

#include "str.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#define SIGN_MAX_TEXT 8192

/* The query pairs a signature never covers: the SDKs add them after signing, or they are the
 * signature itself. */
static bool is_signature_pair(struct str name)
{
    static const char *const names[] = {"ik-s", "ik-t", "ik-sdk-version", "sdk-version"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (name.len == strlen(names[i]) && memcmp(name.p, names[i], name.len) == 0)
            return true;
    }
    return false;
}

/* Append s to out at *n; false when it does not fit (one byte stays for the NUL). */
static bool put(char *out, size_t cap, size_t *n, const char *s, size_t len)
{
    if (*n + len + 1 > cap)
        return false;
    memcpy(out + *n, s, len);
    *n += len;
    return true;
}

/* Split rest into the signed text (without the expiry) in out, and the values of ik-s and
 * ik-t. Returns the text's length or -ENAMETOOLONG. */
static int split_signed(const char *rest, size_t len, char *out, size_t cap, struct str *ik_s,
                        struct str *ik_t)
{
    const char *q = memchr(rest, '?', len);
    size_t n = 0, plen = q ? (size_t)(q - rest) : len;
    bool first = true;

    if (!put(out, cap, &n, rest, plen))
        return -ENAMETOOLONG;
    for (size_t start = plen + 1; q && start <= len;) {
        const char *amp = memchr(rest + start, '&', len - start);
        size_t end = amp ? (size_t)(amp - rest) : len;
        struct str pair = {rest + start, end - start};
        const char *eq = memchr(pair.p, '=', pair.len);
        struct str name = {pair.p, eq ? (size_t)(eq - pair.p) : pair.len};
        struct str value = {eq ? eq + 1 : pair.p + pair.len, eq ? pair.len - name.len - 1 : 0};

        if (is_signature_pair(name)) {
            if (name.len == 4)
                *(name.p[3] == 's' ? ik_s : ik_t) = value;
        } else if (!put(out, cap, &n, first ? "?" : "&", 1) ||
                   !put(out, cap, &n, pair.p, pair.len)) {
            return -ENAMETOOLONG;
        }
        first = first && is_signature_pair(name);
        start = end + 1;
    }
    out[n] = '\0';
    return (int)n;
}

int sign_string(const char *rest, size_t len, char *out, size_t cap)
{
    struct str ik_s = {NULL, 0}, ik_t = {SIGN_NO_EXPIRY, strlen(SIGN_NO_EXPIRY)};
    int n = split_signed(rest, len, out, cap, &ik_s, &ik_t);
    size_t used = (size_t)n;

    if (n < 0)
        return n;
    if (!put(out, cap, &used, ik_t.p, ik_t.len))
        return -ENAMETOOLONG;
    out[used] = '\0';
    return (int)used;
}

int sign_hmac_hex(const void *key, size_t keylen, const char *msg, size_t len,
                  char out[SIGN_HEX_LEN])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    if (!HMAC(EVP_sha1(), key, (int)keylen, (const unsigned char *)msg, len, md, &mdlen) ||
        mdlen != 20)
        return -EINVAL;
    for (unsigned i = 0; i < mdlen; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[2 * mdlen] = '\0';
    return 0;
}

/* 40 hex digits, either case, to 20 bytes; false when s is anything else. */
static bool unhex_sha1(struct str s, unsigned char out[20])
{
    if (s.len != 40)
        return false;
    for (size_t i = 0; i < 40; i++) {
        char c = s.p[i];
        int v = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (v < 0)
            return false;
        out[i / 2] = (unsigned char)(i % 2 ? (out[i / 2] << 4) | v : v);
    }
    return true;
}

/* ik-t: 1 to 18 digits (no overflow; enough until the year 31 billion). */
static bool parse_expiry(struct str t, int64_t *out)
{
    int64_t v = 0;

    if (t.len == 0 || t.len > 18)
        return false;
    for (size_t i = 0; i < t.len; i++) {
        if (t.p[i] < '0' || t.p[i] > '9')
            return false;
        v = v * 10 + (t.p[i] - '0');
    }
    *out = v;
    return true;
}

int sign_verify(const void *key, size_t keylen, const char *rest, size_t len, time_t now)
{
    char text[SIGN_MAX_TEXT];
    struct str ik_s = {NULL, 0}, ik_t = {SIGN_NO_EXPIRY, strlen(SIGN_NO_EXPIRY)};
    unsigned char want[20], got[20], md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    int64_t expiry;

    int n = split_signed(rest, len, text, sizeof(text), &ik_s, &ik_t);
    if (n < 0 || !ik_s.p)
        return n < 0 ? -EKEYREJECTED : -ENOKEY;
    size_t used = (size_t)n;
    if (!unhex_sha1(ik_s, got) || !parse_expiry(ik_t, &expiry) ||
        !put(text, sizeof(text), &used, ik_t.p, ik_t.len))
        return -EKEYREJECTED;
    if (!HMAC(EVP_sha1(), key, (int)keylen, (const unsigned char *)text, used, md, &mdlen) ||
        mdlen != sizeof(want))
        return -EKEYREJECTED;
    memcpy(want, md, sizeof(want));
    if (CRYPTO_memcmp(want, got, sizeof(want)) != 0)
        return -EKEYREJECTED;
    return (int64_t)now > expiry ? -EKEYEXPIRED : 0;
}

int sign_read_key(const char *path, unsigned char *key, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, key, cap);
    int err = n < 0 ? -errno : 0;
    close(fd);
    if (err)
        return err;
    if ((size_t)n == cap)
        return -EFBIG;
    while (n > 0 && (key[n - 1] == '\n' || key[n - 1] == '\r'))
        n--;
    return n > 0 ? (int)n : -ENODATA;
}
