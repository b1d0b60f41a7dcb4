/* Unit tests for common/log.c: secrets never survive redaction. */
#include "log.h"

#include "check.h"

static void redacts(const char *in, const char *want)
{
    char out[256];
    const char *g = check_guard(in, strlen(in));

    log_redact(g, strlen(in), out, sizeof(out));
    ok_str(out, want, "redact %s", in);
}

int main(void)
{
    char small[10];

    redacts("GET /c/b?sv=2024&sig=abc%2Bdef%3D&sp=r", "GET /c/b?sv=2024&sig=REDACTED&sp=r");
    redacts("?sig=xyz", "?sig=REDACTED");
    redacts("sig=xyz", "sig=REDACTED");
    redacts("url 'http://h/c?SIG=abc' failed", "url 'http://h/c?sig=REDACTED' failed");
    redacts("token sig=", "token sig=REDACTED");
    redacts("a=1&ik-sig=keep&design=keep", "a=1&ik-sig=keep&design=keep");
    redacts("no secret here", "no secret here");
    redacts("?a=1&sig=x&sig=y", "?a=1&sig=REDACTED&sig=REDACTED");

    log_redact("sig=averylongsecret", 19, small, sizeof(small));
    ok(strlen(small) == sizeof(small) - 1 && strstr(small, "avery") == NULL,
       "a short buffer is filled but never shows the secret: '%s'", small);

    enum log_level lv;
    ok(log_parse_level("debug", &lv) == 0 && lv == LOG_LV_DEBUG, "parses debug");
    ok(log_parse_level("loud", &lv) < 0, "rejects an unknown level");
    return check_done();
}
