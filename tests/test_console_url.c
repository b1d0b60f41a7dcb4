/* Unit test of httpd/console_url: the URLs the console builds route back to the same endpoint,
 * file and chain (route_match(), the server's own router), and the signed ones pass the
 * server's own sign_verify(); query parameters decode once, at a guard-page edge. */
#include "check.h"
#include "console_url.h"
#include "route.h"
#include "sign.h"

#include <errno.h>

static const struct route_endpoint eps[] = {{NULL, "/demo"}, {NULL, "/"}};
static const char key[] = "private_key_for_tests";

/* Build u, route the result, and check it names the same endpoint, path and chain. */
static void round_trip(const struct console_url *u, size_t ep, const char *what)
{
    char url[4096], err[ROUTE_ERR_LEN];
    static struct route rt;

    int n = console_url_build(u, url, sizeof(url));
    int rc = n > 0 ? route_match(eps, 2, "h", url, (size_t)n, &rt, err) : n;
    ok(rc == 0 && rt.endpoint == ep && strcmp(rt.path, u->path) == 0 &&
           strcmp(rt.tr_path, u->chain) == 0,
       "%s: routes back (%s)", what, url);
    if (u->keylen)
        ok(rc == 0 && sign_verify(key, strlen(key), rt.rest, rt.rest_len, 0) == 0,
           "%s: the signature verifies", what);
}

static void builds(void)
{
    char url[256];
    struct console_url u = {"/demo", "w-160,h-160", "photos/cat.jpg", "", NULL, 0};

    ok(console_url_build(&u, url, sizeof(url)) > 0 &&
           strcmp(url, "/demo/tr:w-160,h-160/photos/cat.jpg") == 0,
       "path form: %s", url);
    u = (struct console_url){"/", "", "a b/<x>&'\".jpg", "tr=orig-true", NULL, 0};
    ok(console_url_build(&u, url, sizeof(url)) > 0 &&
           strcmp(url, "/a%20b/%3Cx%3E%26%27%22.jpg?tr=orig-true") == 0,
       "every odd byte encoded, at the root, with a query: %s", url);
    u = (struct console_url){"/demo", "w-10", "tr:x/y.jpg", "", NULL, 0};
    ok(console_url_build(&u, url, sizeof(url)) > 0 &&
           strcmp(url, "/demo/tr:w-10/tr%3Ax/y.jpg") == 0,
       "a folder named tr:x is no chain: %s", url);
    ok(console_url_build(&u, url, 12) == -ENAMETOOLONG, "too small a buffer says so");
}

static void routes(void)
{
    struct console_url u = {"/demo", "w-300,h-300:rt-90", "photos/été 漢字 🎉.jpg", "", NULL, 0};

    round_trip(&u, 0, "unicode name");
    u = (struct console_url){
        "/demo", "l-text,i-Hi there/x,l-end", "<img src=x onerror=a()>.jpg", "", NULL, 0};
    round_trip(&u, 0, "a chain with a space and a slash, a hostile name");
    u = (struct console_url){"/", "w-100", "100%+a&b=c?d#e.jpg", "", key, strlen(key)};
    round_trip(&u, 1, "signed, at the root");
    u = (struct console_url){"/demo", "", "a/b.jpg", "tr=orig-true", key, strlen(key)};
    round_trip(&u, 0, "signed, with a query");
}

static void params(void)
{
    const char q[] = "ep=2&path=photos%2Fa%20b%26c.jpg&q=x+y&empty=&bare&tr=w-1&tr=w-2";
    const char *g = check_guard(q, strlen(q));
    char out[64];

    ok(console_url_param(g, strlen(q), "ep", out, sizeof(out)) == 1 && strcmp(out, "2") == 0,
       "a parameter");
    ok(console_url_param(g, strlen(q), "path", out, sizeof(out)) == 16 &&
           strcmp(out, "photos/a b&c.jpg") == 0,
       "decoded once: %s", out);
    ok(console_url_param(g, strlen(q), "q", out, sizeof(out)) == 3 && strcmp(out, "x y") == 0,
       "'+' is a space");
    ok(console_url_param(g, strlen(q), "empty", out, sizeof(out)) == 0, "an empty value");
    ok(console_url_param(g, strlen(q), "bare", out, sizeof(out)) == 0, "no '=' is empty");
    ok(console_url_param(g, strlen(q), "tr", out, sizeof(out)) == 3 && strcmp(out, "w-1") == 0,
       "the first one wins");
    ok(console_url_param(g, strlen(q), "nope", out, sizeof(out)) == -ENOENT, "absent: ENOENT");
    ok(console_url_param(g, strlen(q), "pat", out, sizeof(out)) == -ENOENT, "no prefix match");
    ok(console_url_param(g, strlen(q), "path", out, 8) == -ENAMETOOLONG, "too long");
    ok(console_url_param("p=%00", 5, "p", out, sizeof(out)) == -EINVAL, "NUL refused");
    ok(console_url_param("p=%0a", 5, "p", out, sizeof(out)) == -EINVAL, "control byte refused");
    ok(console_url_param("p=%zz", 5, "p", out, sizeof(out)) == -EINVAL, "bad escape refused");
    ok(console_url_param("", 0, "p", out, sizeof(out)) == -ENOENT, "an empty query");
}

int main(void)
{
    builds();
    routes();
    params();
    return check_done();
}
