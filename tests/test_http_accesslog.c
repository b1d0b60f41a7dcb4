/* Unit test of httpd/accesslog: the exact combined and JSON lines for a request, every field a
 * client controls escaped the same way in both, the longest fields still one line, and the file
 * reopened after a rotation. The integration tests parse real lines with a JSON parser. */
#include "accesslog.h"
#include "check.h"

#include <stdlib.h>

static struct accesslog_entry entry(void)
{
    return (struct accesslog_entry){.addr = "127.0.0.1",
                                    .method = "GET",
                                    .target = "/demo/x.txt",
                                    .version = "HTTP/1.1",
                                    .referer = "-",
                                    .agent = "curl/7.88.1",
                                    .request_id = "3f2a9c0d4e5b6a71",
                                    .start = {1795889421, 123456789},
                                    .seconds = 0.000412,
                                    .status = 200,
                                    .bytes = 6};
}

static void formats(void)
{
    char line[ACCESSLOG_LINE_MAX];
    struct accesslog_entry e = entry();

    accesslog_format(ACCESSLOG_COMBINED, &e, line, sizeof(line));
    ok_str(line,
           "127.0.0.1 - - [28/Nov/2026:18:10:21 +0000] \"GET /demo/x.txt HTTP/1.1\" 200 6 \"-\" "
           "\"curl/7.88.1\"\n",
           "combined, as Apache and nginx write it");
    accesslog_format(ACCESSLOG_JSON, &e, line, sizeof(line));
    ok_str(line,
           "{\"time\":\"2026-11-28T18:10:21.123Z\",\"remote\":\"127.0.0.1\",\"method\":\"GET\","
           "\"target\":\"/demo/x.txt\",\"protocol\":\"HTTP/1.1\",\"status\":200,\"bytes\":6,"
           "\"referer\":\"-\",\"user_agent\":\"curl/7.88.1\",\"request_id\":\"3f2a9c0d4e5b6a71\","
           "\"duration\":0.000412}\n",
           "json: one object, numbers as numbers");
    e.agent = "a\"b\\c\n\x01\xc3\xa9";
    e.method = "G\"ET";
    e.request_id = "";
    accesslog_format(ACCESSLOG_COMBINED, &e, line, sizeof(line));
    ok(strstr(line, "\"G\\x22ET /demo") && strstr(line, "\"a\\x22b\\x5Cc\\x0A\\x01\\xC3\\xA9\"\n"),
       "combined: quotes, backslashes, control and non-ASCII bytes as \\xHH");
    accesslog_format(ACCESSLOG_JSON, &e, line, sizeof(line));
    ok(strstr(line, "\"method\":\"G\\\\x22ET\"") &&
           strstr(line, "\"user_agent\":\"a\\\\x22b\\\\x5Cc\\\\x0A\\\\x01\\\\xC3\\\\xA9\"") &&
           strstr(line, "\"request_id\":\"-\""),
       "json: the same text, its backslashes escaped; no id is \"-\"");
}

static void longest(void)
{
    char line[ACCESSLOG_LINE_MAX], *big = malloc(20000);
    struct accesslog_entry e = entry();

    memset(big, '\\', 19999);
    big[19999] = '\0';
    e.target = e.referer = e.agent = e.method = e.version = e.request_id = big;
    size_t n = accesslog_format(ACCESSLOG_JSON, &e, line, sizeof(line));
    ok(n < sizeof(line) && line[n - 1] == '\n' && strchr(line, '\n') == line + n - 1 &&
           strcmp(line + n - 2, "}\n") == 0,
       "json: the longest fields, all escapes, still one whole object (%zu bytes)", n);
    n = accesslog_format(ACCESSLOG_COMBINED, &e, line, sizeof(line));
    ok(n < sizeof(line) && strchr(line, '\n') == line + n - 1 && line[n - 2] == '"',
       "combined: still one whole line (%zu bytes)", n);
    free(big);
}

static void file(void)
{
    char dir[] = "/tmp/test_accesslog.XXXXXX", path[64], old[80], err[ACCESSLOG_ERR_LEN];
    struct accesslog_entry e = entry();

    ok(mkdtemp(dir) != NULL, "a temporary folder");
    snprintf(path, sizeof(path), "%s/access.log", dir);
    snprintf(old, sizeof(old), "%s.1", path);
    struct accesslog *al = accesslog_open(path, ACCESSLOG_JSON, err);
    ok(al != NULL, "opened");
    accesslog_write(al, &e);
    rename(path, old);
    ok(accesslog_reopen(al) == 0, "reopened after a rotation");
    accesslog_write(al, &e);
    accesslog_write(al, &e);
    accesslog_free(al);
    FILE *a = fopen(old, "r"), *b = fopen(path, "r");
    int na = 0, nb = 0;
    for (int ch; a && (ch = fgetc(a)) != EOF;)
        na += ch == '\n';
    for (int ch; b && (ch = fgetc(b)) != EOF;)
        nb += ch == '\n';
    ok(na == 1 && nb == 2, "one line went to the old file, two to the new (%d, %d)", na, nb);
    if (a)
        fclose(a);
    if (b)
        fclose(b);
    ok(!accesslog_open("/nonexistent/dir/access.log", ACCESSLOG_COMBINED, err) &&
           strstr(err, "cannot open access log /nonexistent/dir/access.log"),
       "a path that cannot be opened: %s", err);
    remove(old);
    remove(path);
    rmdir(dir);
}

int main(void)
{
    setenv("TZ", "UTC", 1);
    formats();
    longest();
    file();
    return check_done();
}
