/* Unit test of httpd/http: errno -> status, Range, entity tags, types, log escaping. */
#include "check.h"
#include "http.h"

#include <errno.h>

/* A NUL-terminated copy at the edge of a guarded page. */
static const char *guarded(const char *s)
{
    return check_guard(s, strlen(s) + 1);
}

static void test_status(void)
{
    static const struct {
        int err, status;
    } table[] = {
        {-ENOENT, 404},       {-ENOTDIR, 404},      {-EINVAL, 400},  {-EKEYREJECTED, 401},
        {-EKEYEXPIRED, 401},  {-EACCES, 403},       {-ELOOP, 403},   {-EXDEV, 403},
        {-E2BIG, 413},        {-ENAMETOOLONG, 414}, {-EBADMSG, 422}, {-EBUSY, 503},
        {-ENOMEM, 503},       {-ETIMEDOUT, 504},    {-EIO, 502},     {-ENOTCONN, 502},
        {-ECONNREFUSED, 502}, {-EPROTO, 500},       {-EMFILE, 503},  {-ENFILE, 503},
        {-ECANCELED, 503},    {-ESHUTDOWN, 503},
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        ok(http_status_for_errno(table[i].err) == table[i].status, "%s -> %d",
           http_error_code(table[i].err), table[i].status);
    ok_str(http_error_code(-ENOENT), "ENOENT", "ik-error code ENOENT");
    ok_str(http_error_code(-E2BIG), "ELIMIT", "limits are ImageKit's ELIMIT");
    ok_str(http_reason(416), "Range Not Satisfiable", "reason phrase");
}

static void test_range(void)
{
    uint64_t start = 99, len = 99;

    ok(http_parse_range(NULL, 100, &start, &len) == 0, "no Range header");
    ok(http_parse_range(guarded("bytes=0-9"), 100, &start, &len) == 1 && start == 0 && len == 10,
       "first ten bytes");
    ok(http_parse_range(guarded("bytes=90-"), 100, &start, &len) == 1 && start == 90 && len == 10,
       "open end");
    ok(http_parse_range(guarded("bytes=-30"), 100, &start, &len) == 1 && start == 70 && len == 30,
       "suffix");
    ok(http_parse_range(guarded("bytes=-300"), 100, &start, &len) == 1 && start == 0 && len == 100,
       "suffix longer than the body");
    ok(http_parse_range(guarded("bytes=50-1000"), 100, &start, &len) == 1 && len == 50,
       "end clipped");
    ok(http_parse_range(guarded("bytes=100-"), 100, &start, &len) == -ERANGE, "past the end");
    ok(http_parse_range(guarded("bytes=-0"), 100, &start, &len) == -ERANGE, "empty suffix");
    ok(http_parse_range(guarded("bytes=0-"), 0, &start, &len) == -ERANGE, "empty body");
    ok(http_parse_range(guarded("bytes=5-1"), 100, &start, &len) == 0, "inverted: ignored");
    ok(http_parse_range(guarded("bytes=0-1,5-6"), 100, &start, &len) == 0,
       "several ranges: whole body");
    ok(http_parse_range(guarded("items=0-1"), 100, &start, &len) == 0, "other unit: ignored");
    ok(http_parse_range(guarded("bytes=x-1"), 100, &start, &len) == 0, "garbage: ignored");
    ok(http_parse_range(guarded("bytes=99999999999999999999-"), 100, &start, &len) == 0,
       "overflow: ignored");
    ok(http_parse_range(guarded("bytes="), 100, &start, &len) == 0, "empty spec: ignored");
}

static void test_etags(void)
{
    ok(http_etag_matches(guarded("\"abc\""), "\"abc\""), "same tag");
    ok(http_etag_matches(guarded("W/\"abc\""), "\"abc\""), "weak comparison");
    ok(http_etag_matches(guarded("\"x\", \"abc\""), "\"abc\""), "in a list");
    ok(http_etag_matches(guarded("*"), "\"abc\""), "star");
    ok(!http_etag_matches(guarded("\"abcd\""), "\"abc\""), "longer tag");
    ok(!http_etag_matches(guarded("\"ab\""), "\"abc\""), "shorter tag");
    ok(!http_etag_matches(guarded("\"unterminated"), "\"abc\""), "unterminated tag");
    ok(!http_etag_matches(guarded(""), "\"abc\""), "empty header");
}

static void test_types_and_log(void)
{
    char out[64];

    ok_str(http_mime_for_path("a/b.MP4"), "video/mp4", "extension without case");
    ok_str(http_mime_for_path("x.css"), "text/css; charset=utf-8", "css");
    ok_str(http_mime_for_path("f.woff2"), "font/woff2", "woff2");
    static const char *const documents[] = {
        "text/html; charset=utf-8", "image/svg+xml", "application/xml",
        "application/xhtml+xml",    "text/xml",      "application/rss+xml"};
    for (size_t i = 0; i < sizeof(documents) / sizeof(documents[0]); i++)
        ok(http_type_is_document(documents[i]), "%s is a document", documents[i]);
    static const char *const inert[] = {"image/jpeg", "text/plain; charset=utf-8", "text/css",
                                        "video/mp4",  "application/pdf",           "font/woff2"};
    for (size_t i = 0; i < sizeof(inert) / sizeof(inert[0]); i++)
        ok(!http_type_is_document(inert[i]), "%s is no document", inert[i]);
    ok(http_mime_for_path("a.b/c") == NULL, "a dot in a folder name is no extension");
    ok(http_mime_for_path("noext") == NULL, "no extension");
    http_log_escape("a\"b\\c\x01\xff", out, sizeof(out));
    ok_str(out, "a\\x22b\\x5Cc\\x01\\xFF", "log escaping");
    http_log_escape("abcdef", out, 4);
    ok_str(out, "abc", "log escaping respects the cap");
}

static bool request_id(const char *s)
{
    return http_request_id_is_sane(check_guard(s, strlen(s) + 1));
}

static void test_request_id(void)
{
    char longest[HTTP_REQUEST_ID_MAX + 2];

    ok(request_id("7c9e6679-7425-40de-944b-e07fc1f90ae7"), "a UUID is a sane request id");
    ok(request_id("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"), "a traceparent");
    ok(request_id("aGVsbG8+d29ybGQ/=="), "base64");
    ok(request_id("req_1.2:3@host"), "letters, digits, -_.:@");
    ok(!request_id(""), "empty is not");
    ok(!request_id("a b"), "a space is not");
    ok(!request_id("a\"b"), "a quote is not");
    ok(!request_id("a\r\nSet-Cookie: x=1"), "a header injection is not");
    ok(!request_id("caf\xc3\xa9"), "non-ASCII is not");
    ok(!request_id("<script>"), "markup is not");
    memset(longest, 'a', HTTP_REQUEST_ID_MAX);
    longest[HTTP_REQUEST_ID_MAX] = '\0';
    ok(request_id(longest), "%d bytes is", HTTP_REQUEST_ID_MAX);
    longest[HTTP_REQUEST_ID_MAX] = 'a';
    longest[HTTP_REQUEST_ID_MAX + 1] = '\0';
    ok(!request_id(longest), "%d is not", HTTP_REQUEST_ID_MAX + 1);
}

int main(void)
{
    test_status();
    test_request_id();
    test_range();
    test_etags();
    test_types_and_log();
    return check_done();
}
