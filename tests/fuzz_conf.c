/* libFuzzer target for blobhttpd's config file parser (httpd/conf.c).
 *
 * The input is a config file, read with conf_load() from a memfd. It must load, or fail with
 * a message naming the line; what loads must hold only what the options allow: endpoint
 * prefixes that are clean paths, lowercase hosts, 1 to CONF_MAX_ORIGINS origins, no endpoint
 * twice, named transformations with a name and a value, numbers within their ranges.
 * conf_check() runs on the result, and conf_release() must free everything.
 *
 * A "config FILE" line makes conf_load() open FILE: the build wraps fopen() (-Wl,--wrap) so
 * that the target opens its own input only (a line naming it nests until the depth limit)
 * and never waits on a pipe or device it happened to name.
 *
 *   make fuzz && build/fuzz/fuzz_conf -dict=tests/fuzz/conf.dict CORPUS tests/fuzz/conf */
#include "conf.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);
FILE *__wrap_fopen64(const char *path, const char *mode);
FILE *__real_fopen64(const char *path, const char *mode);

#define INPUT_FD 99

static char input_path[64];
static int input_fd = -1;

static void fail(const char *what)
{
    fprintf(stderr, "invariant broken: %s\n", what);
    abort();
}

FILE *__wrap_fopen64(const char *path, const char *mode)
{
    if (strcmp(path, input_path) != 0) {
        errno = ENOENT;
        return NULL;
    }
    return __real_fopen64(path, mode);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    int fd = memfd_create("fuzz_conf", MFD_CLOEXEC);

    /* a fixed descriptor, so that a seed can name the input (tests/fuzz/conf/nested.conf) */
    input_fd = fd < 0 ? -1 : dup2(fd, INPUT_FD);
    if (input_fd != INPUT_FD)
        abort();
    close(fd);
    snprintf(input_path, sizeof(input_path), "/proc/self/fd/%d", INPUT_FD);
    return 0;
}

/* "/" or "/seg[/seg...]": no empty, "." or ".." segment, no trailing '/', no byte a URL
 * prefix cannot hold as is. */
static bool clean_prefix(const char *p)
{
    size_t len = strlen(p), seg = 1;

    if (p[0] != '/' || (len > 1 && p[len - 1] == '/'))
        return false;
    for (size_t i = 1; len > 1 && i <= len; i++) {
        if (i == len || p[i] == '/') {
            size_t n = i - seg;
            if (n == 0 || (n == 1 && p[seg] == '.') || (n == 2 && !memcmp(p + seg, "..", 2)))
                return false;
            seg = i + 1;
        } else if (strchr("?#%\\ \t", p[i]) || (unsigned char)p[i] < 0x20) {
            return false;
        }
    }
    return true;
}

static bool clean_host(const char *h)
{
    if (!h)
        return true;
    if (!h[0])
        return false;
    for (; *h; h++) {
        if (!(islower((unsigned char)*h) || isdigit((unsigned char)*h) || *h == '.' || *h == '-'))
            return false;
    }
    return true;
}

static void check_endpoints(const struct conf *c)
{
    for (size_t i = 0; i < c->nendpoints; i++) {
        const struct conf_endpoint *e = &c->endpoint[i];
        if (!e->prefix || !clean_prefix(e->prefix) || !clean_host(e->host))
            fail("an endpoint with an unclean prefix or host");
        if (e->norigins < 1 || e->norigins > CONF_MAX_ORIGINS)
            fail("an endpoint without origins or with too many");
        for (size_t k = 0; k < e->norigins; k++) {
            if (!e->origin[k] || !e->origin[k][0] || strchr(e->origin[k], ','))
                fail("an empty origin, or one with a comma");
        }
        for (size_t j = 0; j < i; j++) {
            const struct conf_endpoint *o = &c->endpoint[j];
            bool same_host =
                (!e->host && !o->host) || (e->host && o->host && strcmp(e->host, o->host) == 0);
            if (same_host && strcmp(e->prefix, o->prefix) == 0)
                fail("one endpoint configured twice");
        }
    }
}

static bool within(unsigned v, unsigned min, unsigned max)
{
    return v >= min && v <= max;
}

static void check_conf(const struct conf *c)
{
    check_endpoints(c);
    for (size_t i = 0; i < c->nnamed; i++) {
        const struct conf_named *n = &c->named[i];
        if (!n->name || !n->name[0] || strpbrk(n->name, ",:/=") || !n->value || !n->value[0])
            fail("a named transformation without a clean name or a value");
    }
    if (!within(c->cache_mb, 0, 1 << 20) || !within(c->workers, 1, 256) ||
        !within(c->queue, 1, 100000) || !within(c->io_threads, 1, 256) ||
        !within(c->vips_threads, 1, 64) || !within(c->max_connections, 1, 100000) ||
        !within(c->timeout, 1, 3600) || !within(c->shutdown_timeout, 0, 3600) ||
        !within(c->max_input_mb, 1, 2048) || !within(c->max_megapixels, 1, 1000) ||
        c->log_level > LOG_LV_DEBUG)
        fail("a number outside its range");
    if (c->config_depth != 0)
        fail("the config nesting depth was not unwound");
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    static struct conf c;
    char err[CONF_ERR_LEN];
    int rc;

    if (ftruncate(input_fd, 0) || pwrite(input_fd, data, size, 0) != (ssize_t)size)
        abort();
    conf_init(&c);
    err[0] = '\0';
    rc = conf_load(&c, input_path, err);
    if (rc != 0 && (err[0] == '\0' || !memchr(err, '\0', sizeof(err))))
        fail("conf_load failed without a message");
    check_conf(&c);
    if (conf_check(&c, err) != 0 && err[0] == '\0')
        fail("conf_check failed without a message");
    conf_release(&c);
    return 0;
}
