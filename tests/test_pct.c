/* Unit tests for common/pct.c: one decoding, with the caller's refusals. */
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
    return check_done();
}
