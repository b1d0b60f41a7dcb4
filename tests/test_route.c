/* Unit test of httpd/route: endpoints, Host binding, tr text, one decoding, path confinement.
 * Every target sits at the end of a readable page (check_guard), so an over-read faults. */
#include "check.h"
#include "route.h"

#include <errno.h>

static const struct route_endpoint eps[] = {
    {NULL, "/demo"}, {NULL, "/demo/private"},    {"static.example.com", "/"},
    {NULL, "/"},     {"img.example.com", "/v1"},
};
#define NEPS (sizeof(eps) / sizeof(eps[0]))

static struct route rt;
static char err[ROUTE_ERR_LEN];

static int match(const char *host, const char *target)
{
    const char *t = check_guard(target, strlen(target));
    return route_match(eps, NEPS, host, t, strlen(target), &rt, err);
}

static void test_endpoints(void)
{
    ok(match("x", "/demo/a/b.jpg") == 0 && rt.endpoint == 0, "prefix /demo");
    ok_str(rt.path, "a/b.jpg", "path after the prefix");
    ok(match("x", "/demo/private/k.jpg") == 0 && rt.endpoint == 1, "longest prefix wins");
    ok(match("x", "/demox/a.jpg") == 0 && rt.endpoint == 3, "/demox is not under /demo");
    ok_str(rt.path, "demox/a.jpg", "the catch-all / endpoint serves it");
    ok(match("static.example.com", "/demo/a.jpg") == 0 && rt.endpoint == 2,
       "a Host-bound endpoint wins over any-host ones");
    ok(match("STATIC.Example.COM:8080", "/a.jpg") == 0 && rt.endpoint == 2,
       "Host compared without case and port");
    ok(match("img.example.com", "/v1/a.jpg") == 0 && rt.endpoint == 4, "bound prefix /v1");
    ok(match("img.example.com", "/other.jpg") == 0 && rt.endpoint == 3,
       "a bound host falls back to any-host endpoints");
    ok(match(NULL, "/demo/a.jpg") == 0 && rt.endpoint == 0, "no Host header");
    ok(match("x", "/demo") == -ENOENT, "the endpoint alone names no file");
    ok(match("x", "/demo/") == -ENOENT, "nor with a slash");
    ok(match("x", "/demo/tr:w-10") == -ENOENT, "nor a tr: segment alone");
    ok(route_match(eps, 1, "x", "/other", 6, &rt, err) == -ENOENT, "no endpoint matches");
}

static void test_transformations(void)
{
    ok(match("x", "/demo/tr:w-300,h-300/a.jpg") == 0, "path form");
    ok_str(rt.tr_path, "w-300,h-300", "path steps");
    ok_str(rt.tr_query, "", "no query steps");
    ok(match("x", "/demo/a.jpg?tr=w-300%2Ch-300%3Art-90&x=1") == 0, "query form, encoded");
    ok_str(rt.tr_query, "w-300,h-300:rt-90", "query steps decoded once");
    ok_str(rt.path, "a.jpg", "query is not part of the path");
    ok(match("x", "/demo/tr:w-1/a.jpg?tr=rt-90&tr=f-png") == 0, "both forms, two tr params");
    ok_str(rt.tr_path, "w-1", "path steps kept");
    ok_str(rt.tr_query, "rt-90:f-png", "query steps joined");
    ok(match("x", "/demo/tr:w-1%252C/a.jpg") == 0, "double encoding");
    ok_str(rt.tr_path, "w-1%2C", "is decoded once only");
    ok(match("x", "/demo/a/tr:w-1/b.jpg") == 0, "tr: later in the path");
    ok_str(rt.path, "a/tr:w-1/b.jpg", "is a file name");
    ok(match("x", "/demo/a.jpg?ik-attachment=true") == 0 && rt.attachment, "ik-attachment=true");
    ok(match("x", "/demo/a.jpg?ik-attachment=false") == 0 && !rt.attachment, "=false");
    ok(match("x", "/demo/a.jpg?tr=%zz") == -EINVAL, "bad escape in tr: %s", err);
    ok(match("x", "/demo/tr:w-1%0a/a.jpg") == -EINVAL, "control byte in tr: %s", err);
    ok(match("x", "/demo/a.jpg?%zz=1&tr=w-2") == 0, "a bad unknown parameter is ignored");
    ok_str(rt.tr_query, "w-2", "and tr still read");
}

static void test_signed_part(void)
{
    ok(match("x", "/demo/tr:w-1/a.jpg?ik-s=ab") == 0, "signed URL");
    ok(rt.rest_len == strlen("tr:w-1/a.jpg?ik-s=ab") &&
           memcmp(rt.rest, "tr:w-1/a.jpg?ik-s=ab", rt.rest_len) == 0,
       "rest is the raw target after ENDPOINT/");
    ok(match("static.example.com", "//a.jpg?tr=w-1") == 0, "legacy SDK double slash");
    ok(rt.rest_len == 13 && memcmp(rt.rest, "/a.jpg?tr=w-1", 13) == 0,
       "rest keeps it, as the SDK signed it");
    ok_str(rt.path, "a.jpg", "the path does not");
}

static void test_confinement(void)
{
    static const char *const bad[] = {
        "/demo/../etc/passwd",   "/demo/a/../../x", "/demo/%2e%2e/x",   "/demo/%2E%2e%2Fetc",
        "/demo/.%2e/x",          "/demo/a/./b",     "/demo/a//b",       "/demo/a%00b",
        "/demo/a%0Ab",           "/demo/a\\b",      "/demo/a%5c..%5cb", "/demo/..",
        "/demo/a%2f..%2f..%2fx", "/demo/a%",        "/demo/a%4",        "/demo/a%7fb",
        "/demo/tr:w-1/../x.jpg",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = match("x", bad[i]);
        ok(rc == -EINVAL && err[0], "refused: %s (%s)", bad[i], err);
    }
    ok(match("x", "/demo/b%20c%20%C3%A9.png") == 0, "spaces and UTF-8");
    ok_str(rt.path, "b c \xc3\xa9.png", "decoded");
    ok(match("x", "/demo/a%2fb.jpg") == 0, "an encoded slash");
    ok_str(rt.path, "a/b.jpg", "is a slash, checked like one");
    ok(match("x", "/demo/..a/b..") == 0, "dots inside names are fine");
}

static void test_limits(void)
{
    char big[ROUTE_MAX_TARGET + 64];

    memset(big, 'a', sizeof(big));
    memcpy(big, "/demo/", 6);
    big[sizeof(big) - 1] = '\0';
    ok(match("x", big) == -ENAMETOOLONG, "target over the cap");
    big[6 + ROUTE_MAX_PATH + 10] = '\0';
    ok(match("x", big) == -ENAMETOOLONG, "path over the cap");
    char out[8];
    ok(route_clean_path("a/b", 3, out, sizeof(out), err) == 0, "clean path");
    ok(route_clean_path("/a", 2, out, sizeof(out), err) == -EINVAL, "absolute path refused");
    ok(route_clean_path("a\0b", 3, out, sizeof(out), err) == -EINVAL, "NUL refused");
}

int main(void)
{
    test_endpoints();
    test_transformations();
    test_signed_part();
    test_confinement();
    test_limits();
    return check_done();
}
