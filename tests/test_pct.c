/* Unit tests for common/pct.c: one decoding, with the caller's refusals; encoding back. */
#include "pct.h"

#include <errno.h>

#include "check.h"

static void decodes(const char *in, unsigned flags, const char *want)
{
    char out[64];
    ssize_t n = pct_decode(check_guard(in, strlen(in)), strlen(in), flags, out, sizeof(out));

    ok(n == (ssize_t)strlen(want) && strcmp(out, want) == 0, "'%s' (flags %u) decodes to '%s'", in,
       flags, want);
}

static void refuses(const char *in, unsigned flags, ssize_t want)
{
    char out[64];
    ssize_t n = pct_decode(check_guard(in, strlen(in)), strlen(in), flags, out, sizeof(out));

    ok(n == want, "'%s' (flags %u) is refused with %zd (got %zd)", in, flags, want, n);
}

static void encodes(const char *in, const char *keep, const char *want)
{
    char out[128];
    ssize_t n = pct_encode(check_guard(in, strlen(in)), strlen(in), keep, out, sizeof(out));

    ok(n == (ssize_t)strlen(want) && strcmp(out, want) == 0, "'%s' (keeping '%s') encodes to '%s'",
       in, keep, want);
}

int main(void)
{
    char small[4];

    decodes("a%20b%2Fc%26d", 0, "a b/c&d");
    decodes("%e2%82%ac+x", 0, "\xe2\x82\xac+x");
    decodes("%E2%82%AC+x", PCT_FORM, "\xe2\x82\xac x");
    decodes("%252e", 0, "%2e");
    decodes("a+b%41", PCT_FORM, "a bA");
    decodes("a+b", 0, "a+b");
    decodes("a%20b%2f%C3%A9%25", 0, "a b/\xC3\xA9%");
    decodes("", 0, "");
    decodes("%09tab", 0, "\ttab");
    refuses("%09tab", PCT_REJECT_CTRL, -EINVAL);
    refuses("a\x01", PCT_REJECT_CTRL, -EINVAL);
    refuses("a%7f", PCT_REJECT_CTRL, -EINVAL);
    refuses("a%00b", 0, -EINVAL);
    refuses("%", 0, -EINVAL);
    refuses("%4", 0, -EINVAL);
    refuses("ab%4", 0, -EINVAL);
    refuses("%zz", 0, -EINVAL);
    refuses("%4g", 0, -EINVAL);

    ok(pct_decode("abcd", 4, 0, small, sizeof(small)) == -ENAMETOOLONG, "a full buffer says so");
    ok(pct_decode("abc", 3, 0, small, sizeof(small)) == 3 && strcmp(small, "abc") == 0,
       "an exact fit decodes");
    ok(pct_decode("a", 1, 0, small, 0) == -ENAMETOOLONG, "no room at all");
    char inplace[] = "x%41%42y";
    ok(pct_decode(inplace, strlen(inplace), 0, inplace, sizeof(inplace)) == 4 &&
           strcmp(inplace, "xABy") == 0,
       "decodes in place");
    ok(pct_hex_value('f') == 15 && pct_hex_value('F') == 15 && pct_hex_value('9') == 9 &&
           pct_hex_value('g') == -1,
       "hex values");
    encodes("cat.jpg", "/", "cat.jpg");
    encodes("a b/c&d?e#f%g+h", "/", "a%20b/c%26d%3Fe%23f%25g%2Bh");
    encodes("a b/c", "", "a%20b%2Fc");
    encodes("w-300,h-300:rt-90", ",:", "w-300,h-300:rt-90");
    encodes("<img src=x onerror=\"a\">'", "/", "%3Cimg%20src%3Dx%20onerror%3D%22a%22%3E%27");
    encodes("\xc3\xa9\x01\x7f\xff~", "", "%C3%A9%01%7F%FF~");
    encodes("", "/", "");
    ok(pct_encode("a b", 3, "", small, sizeof(small)) == -ENAMETOOLONG && small[0] == '\0',
       "encoding: a full buffer says so");
    ok(pct_encode("abc", 3, "", small, sizeof(small)) == 3, "encoding: an exact fit");
    char back[64];
    const char raw[] = "x%y/\xe6\xbc\xa2 +";
    char enc[64];
    ssize_t n = pct_encode(raw, strlen(raw), "/", enc, sizeof(enc));
    ok(n > 0 && pct_decode(enc, (size_t)n, PCT_FORM, back, sizeof(back)) >= 0 &&
           strcmp(back, raw) == 0,
       "encoding then decoding (even as a form) gives the bytes back");
    return check_done();
}
