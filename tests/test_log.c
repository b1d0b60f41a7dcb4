/* Unit tests for common/log.c: secrets never survive redaction; a reopened log file takes the
 * lines that follow (log rotation). */
#include "log.h"

#include "check.h"

static void redacts(const char *in, const char *want)
{
    char out[256];
    const char *g = check_guard(in, strlen(in));

    log_redact(g, strlen(in), out, sizeof(out));
    ok_str(out, want, "redact %s", in);
}

/* The whole of a small file, or "" when it cannot be read. */
static const char *slurp(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, cap - 1, f) : 0;

    buf[n] = '\0';
    if (f)
        fclose(f);
    return buf;
}

/* Log to a file, rotate it by renaming, reopen: the next line goes to a new file of that name
 * and the old one keeps what it had. */
static void test_reopen(void)
{
    char dir[] = "/tmp/test_log.XXXXXX", path[64], rotated[64], buf[512];

    if (!mkdtemp(dir)) {
        ok(false, "mkdtemp");
        return;
    }
    snprintf(path, sizeof(path), "%s/log", dir);
    snprintf(rotated, sizeof(rotated), "%s/log.1", dir);
    ok(log_open("test", path, LOG_LV_INFO) == 0, "open a log file");
    log_info("before rotation");
    ok(rename(path, rotated) == 0, "rotate it");
    ok(log_reopen() == 0, "reopen");
    log_info("after rotation");
    log_close();
    ok(strstr(slurp(rotated, buf, sizeof(buf)), "before rotation") &&
           !strstr(buf, "after rotation"),
       "the rotated file has the line from before");
    ok(strstr(slurp(path, buf, sizeof(buf)), "after rotation") && !strstr(buf, "before rotation"),
       "the new file has the line from after");
    unlink(path);
    unlink(rotated);
    rmdir(dir);
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
    test_reopen();
    return check_done();
}
