/* Unit test of httpd/sign: ImageKit's ik-s / ik-t.
 *
 * The vectors are made at test time by ImageKit's own SDKs (tests/node/imagekit.mjs, both the
 * current @imagekit/nodejs and the legacy imagekit), for several urlEndpoints, and every
 * signature is also recomputed with `openssl dgst -sha1 -hmac` over sign_string()'s text. */
#include "check.h"
#include "sign.h"

#include <ctype.h>
#include <errno.h>
#include <time.h>

#define KEY "private_blobkit_test_key"
#define LINE_MAX_LEN 4096

/* HMAC-SHA1 test cases 1 and 2 of RFC 2202. */
static void test_hmac(void)
{
    char hex[SIGN_HEX_LEN];
    unsigned char key1[20];

    memset(key1, 0x0b, sizeof(key1));
    ok(sign_hmac_hex(key1, sizeof(key1), "Hi There", 8, hex) == 0, "RFC 2202 case 1");
    ok_str(hex, "b617318655057264e28bc0b6fb378c8ef146be00", "RFC 2202 case 1 digest");
    ok(sign_hmac_hex("Jefe", 4, "what do ya want for nothing?", 28, hex) == 0, "case 2");
    ok_str(hex, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79", "RFC 2202 case 2 digest");
}

static void string_is(const char *rest, const char *want)
{
    char out[256];
    const char *g = check_guard(rest, strlen(rest));
    int n = sign_string(g, strlen(rest), out, sizeof(out));
    ok(n == (int)strlen(want), "sign_string(%s) length", rest);
    ok_str(n >= 0 ? out : "", want, "sign_string(%s)", rest);
}

/* What is signed, by reference section 4: no ik- pairs, other pairs kept in order, expiry. */
static void test_string(void)
{
    string_is("a.jpg", "a.jpg9999999999");
    string_is("a.jpg?ik-s=ab", "a.jpg9999999999");
    string_is("tr:w-1/a.jpg?x=1&ik-t=123&ik-s=ab", "tr:w-1/a.jpg?x=1123");
    string_is("a.jpg?ik-sdk-version=python-4&tr=w-1&ik-s=ab", "a.jpg?tr=w-19999999999");
    string_is("a.jpg?ik-t=5&x=1&sdk-version=php-1&y=2&ik-s=ab", "a.jpg?x=1&y=25");
    string_is("a.jpg?x=%2C&&y&ik-s=1", "a.jpg?x=%2C&&y9999999999");
    char small[8];
    ok(sign_string("abcdefgh", 8, small, sizeof(small)) == -ENAMETOOLONG, "capped output");
}

/* The raw target after the endpoint path and its '/', as the server's router finds it. */
static const char *rest_of(const char *endpoint, const char *url)
{
    const char *ep_path = strchr(strstr(endpoint, "://") + 3, '/');
    const char *target = strchr(strstr(url, "://") + 3, '/');
    size_t plen = ep_path ? strlen(ep_path) : 0;

    while (plen && ep_path[plen - 1] == '/')
        plen--;
    if (strncmp(target, ep_path ? ep_path : "", plen) != 0 || target[plen] != '/')
        return NULL;
    return target + plen + 1;
}

/* ik-s of url, or "". */
static void sig_of(const char *url, char out[SIGN_HEX_LEN])
{
    const char *s = strstr(url, "ik-s=");
    snprintf(out, SIGN_HEX_LEN, "%.40s", s ? s + 5 : "");
}

/* HMAC-SHA1 of text by the openssl command line tool. */
static void openssl_hmac(const char *text, char out[SIGN_HEX_LEN])
{
    char tmp[] = "/tmp/blobkit-sign-XXXXXX", cmd[128], line[256] = "";
    int fd = mkstemp(tmp);
    FILE *p = NULL;

    out[0] = '\0';
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
        goto out;
    snprintf(cmd, sizeof(cmd), "openssl dgst -sha1 -hmac %s -r < %s", KEY, tmp);
    p = popen(cmd, "r");
    if (p && fgets(line, sizeof(line), p))
        snprintf(out, SIGN_HEX_LEN, "%.40s", line);
out:
    if (p)
        pclose(p);
    if (fd >= 0)
        close(fd);
    unlink(tmp);
}

static void check_vector(const char *endpoint, const char *url, const char *expect)
{
    char text[LINE_MAX_LEN], want[SIGN_HEX_LEN], got[SIGN_HEX_LEN], tampered[LINE_MAX_LEN];
    const char *rest = rest_of(endpoint, url);

    if (!ok(rest != NULL, "URL under its endpoint: %s", url))
        return;
    const char *g = check_guard(rest, strlen(rest));
    int rc = sign_verify(KEY, strlen(KEY), g, strlen(rest), time(NULL));
    ok(rc == (strcmp(expect, "ok") == 0 ? 0 : -EKEYEXPIRED), "%s: %s (%d)", expect, url, rc);
    sign_string(rest, strlen(rest), text, sizeof(text));
    sig_of(url, want);
    openssl_hmac(text, got);
    ok_str(got, want, "openssl dgst agrees on %s", text);
    snprintf(tampered, sizeof(tampered), "%s", rest);
    tampered[strcspn(tampered, "?") / 2] ^= 1;
    ok(sign_verify(KEY, strlen(KEY), tampered, strlen(tampered), time(NULL)) == -EKEYREJECTED,
       "tampered path refused: %s", tampered);
    ok(sign_verify("other", 5, rest, strlen(rest), time(NULL)) == -EKEYREJECTED,
       "another key refused");
}

/* Vectors from the real SDKs, made now. */
static void test_sdk_vectors(void)
{
    char keyfile[] = "/tmp/blobkit-key-XXXXXX", cmd[256], line[LINE_MAX_LEN];
    int fd = mkstemp(keyfile), n = 0;

    if (!ok(fd >= 0 && write(fd, KEY "\n", sizeof(KEY)) == sizeof(KEY), "key file"))
        return;
    close(fd);
    snprintf(cmd, sizeof(cmd), "node tests/node/imagekit.mjs vectors %s", keyfile);
    FILE *p = popen(cmd, "r");
    while (p && fgets(line, sizeof(line), p)) {
        line[strcspn(line, "\n")] = '\0';
        char *tab1 = strchr(line, '\t'), *tab2 = tab1 ? strchr(tab1 + 1, '\t') : NULL;
        if (ok(tab2 != NULL, "vector line %d", n + 1)) {
            *tab1 = *tab2 = '\0';
            check_vector(line, tab1 + 1, tab2 + 1);
        }
        n++;
    }
    ok(p && pclose(p) == 0 && n >= 30, "the SDKs made %d vectors", n);
    unlink(keyfile);
}

static void test_refusals(void)
{
    time_t now = time(NULL);
    char url[256], hex[SIGN_HEX_LEN], text[256];

    ok(sign_verify(KEY, strlen(KEY), "a.jpg", 5, now) == -ENOKEY, "unsigned");
    ok(sign_verify(KEY, strlen(KEY), "a.jpg?ik-t=99", 13, now) == -ENOKEY, "ik-t alone");
    ok(sign_verify(KEY, strlen(KEY), "a.jpg?ik-s=zz", 13, now) == -EKEYREJECTED, "not hex");
    int n = sign_string("a.jpg?ik-t=1x", 13, text, sizeof(text));
    sign_hmac_hex(KEY, strlen(KEY), text, (size_t)n, hex);
    snprintf(url, sizeof(url), "a.jpg?ik-t=1x&ik-s=%s", hex);
    ok(sign_verify(KEY, strlen(KEY), url, strlen(url), now) == -EKEYREJECTED, "ik-t not digits");
    n = sign_string("a.jpg?ik-t=2000000000", 21, text, sizeof(text));
    sign_hmac_hex(KEY, strlen(KEY), text, (size_t)n, hex);
    for (char *p = hex; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    snprintf(url, sizeof(url), "a.jpg?ik-t=2000000000&ik-s=%s", hex);
    ok(sign_verify(KEY, strlen(KEY), url, strlen(url), 1999999999) == 0, "uppercase hex, valid");
    ok(sign_verify(KEY, strlen(KEY), url, strlen(url), 2000000001) == -EKEYEXPIRED,
       "one second after ik-t");
}

int main(void)
{
    test_hmac();
    test_string();
    test_refusals();
    test_sdk_vectors();
    return check_done();
}
