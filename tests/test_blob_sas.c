/* Unit tests of fs/blob_sas.c: token hygiene and expiry. */
#include "blob_sas.h"

#include "check.h"

#include <errno.h>

static ssize_t clean(const char *in, char *out, size_t cap)
{
    return blob_sas_clean(check_guard(in, strlen(in)), strlen(in), out, cap);
}

static void test_clean(void)
{
    char out[BLOB_SAS_MAX];
    const char *tok = "sv=2021-12-02&sp=rl&se=2026-11-28T19%3A02%3A46Z&sig=a%2Bb%2Fc%3D";

    ok(clean(tok, out, sizeof(out)) == (ssize_t)strlen(tok), "a token is accepted");
    ok_str(out, tok, "its bytes are kept exactly (no decoding)");
    ok(clean("?sv=1&sig=x\n", out, sizeof(out)) == 10, "a leading ? and a newline are dropped");
    ok_str(out, "sv=1&sig=x", "what is left");
    ok(clean("  sig=x  ", out, sizeof(out)) == 5, "surrounding blanks are dropped");
    ok(clean("sv=1&sig=a b", out, sizeof(out)) == -EINVAL, "a blank inside is refused");
    ok(clean("sv=1&sig=a\x01", out, sizeof(out)) == -EINVAL, "a control byte is refused");
    ok(clean("sv=1&sig=a#b", out, sizeof(out)) == -EINVAL, "a # is refused");
    ok(clean("sv=1&sp=r", out, sizeof(out)) == -EINVAL, "a token without sig= is refused");
    ok(clean("sv=1&xsig=a", out, sizeof(out)) == -EINVAL, "xsig= is not sig=");
    ok(clean("?", out, sizeof(out)) == -EINVAL, "an empty token is refused");
    ok(clean("sig=abc", out, 7) == -E2BIG, "a token too long for the buffer");
}

static void test_expiry(void)
{
    time_t t;

    ok(blob_sas_expiry("sv=1&se=2026-11-28T19%3A02%3A46Z&sig=x", &t) == 0 && t == 1795892566,
       "se with %%3A");
    ok(blob_sas_expiry("se=2026-11-28T19:02:46Z&sig=x", &t) == 0 && t == 1795892566,
       "se first, with ':'");
    ok(blob_sas_expiry("sig=x&se=2026-11-28T19:02:46.1234567Z", &t) == 0 && t == 1795892566,
       "se with a fraction");
    ok(blob_sas_expiry("sig=x&se=2026-11-28T19:02Z", &t) == 0 && t == 1795892520,
       "se without seconds");
    ok(blob_sas_expiry("sig=x&se=2026-11-28", &t) == 0 && t == 1795824000, "se as a date");
    ok(blob_sas_expiry("sig=x&sse=2026-11-28", &t) == -ENOENT, "sse= is not se=");
    ok(blob_sas_expiry("sig=x", &t) == -ENOENT, "no se");
    ok(blob_sas_expiry("se=tomorrow&sig=x", &t) == -EINVAL, "a malformed se");
    ok(blob_sas_expiry("se=2026-11-28T19:02:46Zjunk&sig=x", &t) == -EINVAL, "trailing junk");
}

int main(void)
{
    test_clean();
    test_expiry();
    return check_done();
}
