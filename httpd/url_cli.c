/* httpd/url_cli.c: blobkit-url, the URLs ImageKit's SDKs build, from the shell: one line per
 * PATH, signed with the key blobhttpd verifies when --key-file is given (ikurl.h). */
#include "ikurl.h"
#include "sign.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KEY_MAX 1024       /* the longest signing key, as blobhttpd's */
#define NEVER 9999999999LL /* the SDKs' "no expiry": an ik-t at or past it is refused */

static const char usage[] =
    "usage: blobkit-url --endpoint URL [OPTIONS] PATH...\n"
    "\n"
    "Print, one per line, the URL of each PATH that ImageKit's SDKs build for the same\n"
    "inputs (@imagekit/nodejs 7's buildSrc, imagekit 6's url), byte for byte.\n"
    "\n"
    "  --endpoint URL         the URL endpoint, e.g. https://ik.example.com/demo\n"
    "  --tr CHAIN             a transformation, e.g. 'w-300,h-300:rt-90'\n"
    "  --position query|path  ?tr=CHAIN (the default, as buildSrc) or /tr:CHAIN/ in the path\n"
    "  --key-file FILE        sign with the private key in FILE (ik-s)\n"
    "  --expire SECONDS       the signature expires SECONDS from now (ik-t)\n"
    "  --expires-at UNIX_TIME the signature expires at UNIX_TIME (ik-t)\n"
    "  --help                 this text\n"
    "  --version              print the version\n";

struct opts {
    struct ikurl_opts u;
    const char *key_file;
    long long expire, expires_at; /* 0: not given */
};

/* A whole decimal number in [min, max] into *v; -EINVAL otherwise. */
static int parse_ll(const char *s, long long min, long long max, long long *v)
{
    char *end;

    errno = 0;
    *v = strtoll(s, &end, 10);
    return errno || end == s || *end || *v < min || *v > max ? -EINVAL : 0;
}

static int set_option(struct opts *o, int key, const char *arg)
{
    switch (key) {
    case 'e':
        o->u.endpoint = arg;
        return 0;
    case 't':
        o->u.tr = arg;
        return 0;
    case 'p':
        o->u.in_path = strcmp(arg, "path") == 0;
        return strcmp(arg, "path") == 0 || strcmp(arg, "query") == 0 ? 0 : -EINVAL;
    case 'k':
        o->key_file = arg;
        return 0;
    case 'x':
        return parse_ll(arg, 1, NEVER / 2, &o->expire);
    case 'X':
        return parse_ll(arg, 1, NEVER - 1, &o->expires_at);
    }
    return -EINVAL;
}

/* Options into o; returns the index of the first PATH, 0 when --help or --version answered,
 * or -1 after printing why not. */
static int parse_options(int argc, char **argv, struct opts *o)
{
    static const struct option longopts[] = {
        {"endpoint", required_argument, NULL, 'e'},
        {"tr", required_argument, NULL, 't'},
        {"position", required_argument, NULL, 'p'},
        {"key-file", required_argument, NULL, 'k'},
        {"expire", required_argument, NULL, 'x'},
        {"expires-at", required_argument, NULL, 'X'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    int key, at = 0;

    while ((key = getopt_long(argc, argv, "", longopts, &at)) != -1) {
        if (key == 'h' || key == 'V') {
            key == 'h' ? fputs(usage, stdout) : printf("blobkit-url %s\n", BLOBKIT_VERSION);
            return 0;
        }
        if (key == '?' || set_option(o, key, optarg)) {
            if (key != '?')
                fprintf(stderr, "blobkit-url: bad value '%s' for --%s\n", optarg,
                        longopts[at].name);
            fputs(usage, stderr);
            return -1;
        }
    }
    if (!o->u.endpoint || optind == argc) {
        fprintf(stderr, "blobkit-url: %s\n",
                !o->u.endpoint ? "--endpoint is required" : "no PATH given");
        fputs(usage, stderr);
        return -1;
    }
    return optind;
}

/* What the options say beyond their own syntax; 0 or -1 after printing why not. */
static int check(struct opts *o)
{
    char why[IKURL_WHY_MAX];

    if (ikurl_check_endpoint(o->u.endpoint, why, sizeof(why)) ||
        ikurl_check_chain(o->u.tr, why, sizeof(why))) {
        fprintf(stderr, "blobkit-url: %s\n", why);
        return -1;
    }
    if ((o->expire || o->expires_at) && !o->key_file) {
        fprintf(stderr, "blobkit-url: an expiry needs --key-file (it is part of a signature)\n");
        return -1;
    }
    if (o->expire && o->expires_at) {
        fprintf(stderr, "blobkit-url: give --expire or --expires-at, not both\n");
        return -1;
    }
    o->u.expires = (time_t)(o->expires_at ? o->expires_at : o->expire ? time(NULL) + o->expire : 0);
    return 0;
}

static const char *build_error(int err)
{
    switch (err) {
    case -EINVAL:
        return "an empty path";
    case -EILSEQ:
        return "the path is not UTF-8";
    case -EXDEV:
        return "a '..' climbs out of the path (the SDKs would drop the endpoint's path or the "
               "transformation)";
    case -ENAMETOOLONG:
        return "the URL would be too long";
    default:
        return strerror(-err);
    }
}

/* Print each path's URL; returns the exit status. */
static int print_urls(const struct opts *o, char **paths, int n)
{
    char url[IKURL_MAX];
    int status = 0;

    for (int i = 0; i < n; i++) {
        int len = ikurl_build(&o->u, paths[i], url, sizeof(url));
        if (len < 0) {
            fprintf(stderr, "blobkit-url: '%s': %s\n", paths[i], build_error(len));
            status = 1;
            continue;
        }
        printf("%s\n", url);
    }
    return fflush(stdout) == 0 ? status : 1;
}

int main(int argc, char **argv)
{
    unsigned char key[KEY_MAX];
    struct opts o = {0};
    int first = parse_options(argc, argv, &o), rc;

    if (first <= 0)
        return first == 0 ? 0 : 2;
    if (check(&o))
        return 2;
    if (o.key_file) {
        int len = sign_read_key(o.key_file, key, sizeof(key));
        if (len < 0) {
            fprintf(stderr, "blobkit-url: cannot read key file %s: %s\n", o.key_file,
                    len == -EFBIG     ? "too large"
                    : len == -ENODATA ? "empty"
                                      : strerror(-len));
            return 2;
        }
        o.u.key = key;
        o.u.keylen = (size_t)len;
    }
    rc = print_urls(&o, argv + first, argc - first);
    OPENSSL_cleanse(key, sizeof(key)); /* the key leaves no copy behind */
    return rc;
}
