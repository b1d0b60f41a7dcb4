/* httpd/conf.c: one table of options serves the command line, config files and --help. */
#include "conf.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define CONF_LINE_MAX 4096
#define CONF_MAX_DEPTH 4

enum kind { K_STR, K_UINT, K_BOOL, K_CUSTOM };

struct option_def {
    const char *name, *arg, *help;
    enum kind kind;
    size_t off;        /* K_STR, K_UINT, K_BOOL: the field */
    unsigned min, max; /* K_UINT */
    int (*set)(struct conf *c, const char *value, char *err);
};

static int set_config(struct conf *c, const char *v, char *err);
static int set_endpoint(struct conf *c, const char *v, char *err);
static int set_public_endpoint(struct conf *c, const char *v, char *err);
static int set_trusted_documents(struct conf *c, const char *v, char *err);
static int set_named(struct conf *c, const char *v, char *err);
static int set_log_level(struct conf *c, const char *v, char *err);
static int set_access_log_format(struct conf *c, const char *v, char *err);

#define F(field) offsetof(struct conf, field)

static const struct option_def defs[] = {
    {"config", "FILE", "read options from FILE, one \"name value\" per line", K_CUSTOM, 0, 0, 0,
     set_config},
    {"listen", "ADDR:PORT", "address to listen on (default 127.0.0.1:8080)", K_STR, F(listen), 0, 0,
     NULL},
    {"endpoint", "[HOST]/PREFIX=DIR[,DIR...]",
     "serve DIRs (first that has the file wins) under /PREFIX, for HOST only if given; "
     "repeatable",
     K_CUSTOM, 0, 0, 0, set_endpoint},
    {"public-endpoint", "[HOST]/PREFIX=DIR[,DIR...]",
     "like --endpoint, but unsigned URLs are served even with a signing key", K_CUSTOM, 0, 0, 0,
     set_public_endpoint},
    {"trusted-documents", "[HOST]/PREFIX",
     "serve that endpoint's (given before) HTML, SVG and XML originals without "
     "Content-Security-Policy: sandbox, so its pages may run scripts; repeatable",
     K_CUSTOM, 0, 0, 0, set_trusted_documents},
    {"named", "NAME=CHAIN", "named transformation: tr:n-NAME means CHAIN; repeatable", K_CUSTOM, 0,
     0, 0, set_named},
    {"sign-key-file", "FILE",
     "ImageKit private key for signed URLs (ik-s, ik-t); unsigned URLs then get 401", K_STR,
     F(sign_key_file), 0, 0, NULL},
    {"cache-mb", "N", "derived-image cache budget in MiB; 0 turns it off (default 256)", K_UINT,
     F(cache_mb), 0, 1 << 20, NULL},
    {"cache-control", "VALUE",
     "Cache-Control of successful responses "
     "(default \"public, s-maxage=15552000, max-age=15552000, must-revalidate\")",
     K_STR, F(cache_control), 0, 0, NULL},
    {"error-cache-control", "VALUE",
     "Cache-Control of 4xx responses and default images (default \"public, max-age=60\")", K_STR,
     F(error_cache_control), 0, 0, NULL},
    {"auto-optimize", "on|off",
     "images without tr get ImageKit's default f-auto,q-80 (default on; orig-true opts out)",
     K_BOOL, F(auto_optimize), 0, 0, NULL},
    {"avif-auto", "on|off", "let f-auto choose AVIF when accepted (default off, as ImageKit)",
     K_BOOL, F(avif_auto), 0, 0, NULL},
    {"console", "on|off",
     "serve the console (browse the origins, try transformations) under /_blobkit/; with a "
     "signing key it asks for it as the Basic auth user name (default off)",
     K_BOOL, F(console), 0, 0, NULL},
    {"workers", "N", "transform threads (default: one per core, plus one)", K_UINT, F(workers), 1,
     256, NULL},
    {"queue", "N", "transforms that may wait for a worker; beyond that 503 (default 256)", K_UINT,
     F(queue), 1, 100000, NULL},
    {"io-threads", "N", "HTTP I/O threads (default: one per core)", K_UINT, F(io_threads), 1, 256,
     NULL},
    {"vips-threads", "N", "libvips threads per transform (default 1)", K_UINT, F(vips_threads), 1,
     64, NULL},
    {"max-connections", "N", "concurrent connections (default 1024)", K_UINT, F(max_connections), 1,
     100000, NULL},
    {"max-connections-per-ip", "N",
     "concurrent connections from one client address; beyond that refused (default 256)", K_UINT,
     F(max_connections_per_ip), 1, 100000, NULL},
    {"header-timeout", "SECONDS",
     "a request head must arrive within this long of the connection opening or of the previous "
     "response (default 10)",
     K_UINT, F(header_timeout), 1, 3600, NULL},
    {"origin-threads", "N",
     "threads for file-system calls on origins (open, stat, small reads); default 32", K_UINT,
     F(origin_threads), 1, 1024, NULL},
    {"origin-queue", "N", "origin calls that may wait for a thread; beyond that 503 (default 256)",
     K_UINT, F(origin_queue), 1, 100000, NULL},
    {"recheck", "SECONDS",
     "a derived image's source is checked on its origin at most this often per URL; cache hits "
     "in between never touch the origin (default 5)",
     K_UINT, F(recheck), 0, 86400, NULL},
    {"max-transform-mb", "N",
     "pixel memory one transform may hold, in MiB; beyond 413 (default 512)", K_UINT,
     F(max_transform_mb), 1, 1 << 20, NULL},
    {"transform-timeout", "SECONDS", "longest a transform may run; beyond 504 (default 30)", K_UINT,
     F(transform_timeout), 1, 3600, NULL},
    {"timeout", "SECONDS", "idle connection timeout (default 30)", K_UINT, F(timeout), 1, 3600,
     NULL},
    {"shutdown-timeout", "SECONDS",
     "on SIGTERM, how long in-flight requests may take to finish (default 10)", K_UINT,
     F(shutdown_timeout), 0, 3600, NULL},
    {"max-input-mb", "N", "largest source image transformed, in MiB (default 40)", K_UINT,
     F(max_input_mb), 1, 2048, NULL},
    {"max-megapixels", "N", "largest source or result image, in megapixels (default 100)", K_UINT,
     F(max_megapixels), 1, 1000, NULL},
    {"access-log", "FILE|-", "access log (\"-\": stdout; default none)", K_STR, F(access_log), 0, 0,
     NULL},
    {"access-log-format", "combined|json",
     "combined (default: Apache's and nginx's) or json (one object a line, with the request id "
     "and duration)",
     K_CUSTOM, 0, 0, 0, set_access_log_format},
    {"metrics-listen", "ADDR:PORT",
     "serve GET /metrics on this address instead of the main one, which then answers 404 for "
     "it (default: on the main listener)",
     K_STR, F(metrics_listen), 0, 0, NULL},
    {"log", "FILE|-|syslog", "diagnostic log (default stderr)", K_STR, F(log), 0, 0, NULL},
    {"log-level", "LEVEL", "error, warn, info (default) or debug", K_CUSTOM, 0, 0, 0,
     set_log_level},
};

#define NDEFS (sizeof(defs) / sizeof(defs[0]))

void conf_init(struct conf *c)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned n = cores > 0 && cores < 256 ? (unsigned)cores : 1;

    memset(c, 0, sizeof(*c));
    c->cache_mb = 256;
    c->auto_optimize = true;
    /* One worker more than cores: a worker spends part of each job not computing (handing the
     * pipeline to libvips's thread and back, reading the source, resuming the connection), and
     * with one per core those gaps left the cores 8 % idle under load (bench-httpd.sh: 2
     * workers 65 / 265 req/s on the 4000x3000 / 1920x1080 w-300, 3 workers 69 / 330). */
    c->workers = n + 1;
    c->io_threads = n;
    c->queue = 256;
    c->vips_threads = 1;
    c->max_connections = 1024;
    c->max_connections_per_ip = 256;
    c->header_timeout = 10;
    c->origin_threads = 32;
    c->origin_queue = 256;
    c->recheck = 5;
    c->max_transform_mb = 512;
    c->transform_timeout = 30;
    c->timeout = 30;
    c->shutdown_timeout = 10;
    c->max_input_mb = 40;
    c->max_megapixels = 100;
    c->log_level = LOG_LV_INFO;
}

static void endpoint_release(struct conf_endpoint *e)
{
    free(e->host);
    free(e->prefix);
    for (size_t i = 0; i < e->norigins; i++)
        free(e->origin[i]);
    memset(e, 0, sizeof(*e));
}

void conf_release(struct conf *c)
{
    for (size_t i = 0; i < c->nendpoints; i++)
        endpoint_release(&c->endpoint[i]);
    for (size_t i = 0; i < c->nnamed; i++) {
        free(c->named[i].name);
        free(c->named[i].value);
    }
    for (size_t i = 0; i < NDEFS; i++) {
        if (defs[i].kind == K_STR) {
            char **field = (char **)((char *)c + defs[i].off);
            free(*field);
        }
    }
    memset(c, 0, sizeof(*c));
}

static int parse_bool(const char *v, bool *out)
{
    static const char *const yes[] = {"on", "true", "yes", "1"}, *const no[] = {"off", "false",
                                                                                "no", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0 || strcasecmp(v, no[i]) == 0) {
            *out = strcasecmp(v, yes[i]) == 0;
            return 0;
        }
    }
    return -EINVAL;
}

static int parse_uint(const char *v, unsigned min, unsigned max, unsigned *out)
{
    char *end;

    errno = 0;
    unsigned long n = strtoul(v, &end, 10);
    if (!isdigit((unsigned char)v[0]) || *end || errno || n < min || n > max)
        return -EINVAL;
    *out = (unsigned)n;
    return 0;
}

static int set_simple(struct conf *c, const struct option_def *d, const char *v, char *err)
{
    void *field = (char *)c + d->off;
    char *copy;

    switch (d->kind) {
    case K_STR:
        copy = strdup(v);
        if (!copy)
            return -ENOMEM;
        free(*(char **)field);
        *(char **)field = copy;
        return 0;
    case K_UINT:
        if (parse_uint(v, d->min, d->max, field) == 0)
            return 0;
        snprintf(err, CONF_ERR_LEN, "%s: '%s' is not a number from %u to %u", d->name, v, d->min,
                 d->max);
        return -EINVAL;
    case K_BOOL:
        if (parse_bool(v, field) == 0)
            return 0;
        snprintf(err, CONF_ERR_LEN, "%s: '%s' is not on or off", d->name, v);
        return -EINVAL;
    case K_CUSTOM:
        return d->set(c, v, err);
    }
    return -EINVAL;
}

int conf_set(struct conf *c, const char *name, const char *value, char err[CONF_ERR_LEN])
{
    for (size_t i = 0; i < NDEFS; i++) {
        if (strcmp(defs[i].name, name) == 0)
            return set_simple(c, &defs[i], value, err);
    }
    snprintf(err, CONF_ERR_LEN, "unknown option '%s'", name);
    return -EINVAL;
}

static int set_log_level(struct conf *c, const char *v, char *err)
{
    if (log_parse_level(v, &c->log_level) == 0)
        return 0;
    snprintf(err, CONF_ERR_LEN, "log-level: '%s' is not error, warn, info or debug", v);
    return -EINVAL;
}

static int set_access_log_format(struct conf *c, const char *v, char *err)
{
    if (strcmp(v, "combined") == 0 || strcmp(v, "json") == 0) {
        c->access_log_json = v[0] == 'j';
        return 0;
    }
    snprintf(err, CONF_ERR_LEN, "access-log-format: '%s' is not combined or json", v);
    return -EINVAL;
}

static int set_config(struct conf *c, const char *v, char *err)
{
    return conf_load(c, v, err);
}

/* A prefix: "/" or "/seg[/seg...]" (a trailing '/' dropped); no empty, "." or ".." segment, and
 * none of "?#%\\" or spaces. Returns a malloc'd copy, or NULL. */
static char *clean_prefix(const char *p, size_t len)
{
    while (len > 1 && p[len - 1] == '/')
        len--;
    if (len == 0 || p[0] != '/')
        return NULL;
    for (size_t i = 0; i < len; i++) {
        if (strchr("?#%\\ \t", p[i]) || (unsigned char)p[i] < 0x20)
            return NULL;
        if (p[i] == '/' && i + 1 < len &&
            (p[i + 1] == '/' ||
             (p[i + 1] == '.' && (i + 2 == len || p[i + 2] == '/' ||
                                  (p[i + 2] == '.' && (i + 3 == len || p[i + 3] == '/'))))))
            return NULL;
    }
    return strndup(p, len);
}

/* "HOST" before the prefix: lowercase, no port, letters, digits, '.', '-'; NULL when empty. */
static int clean_host(const char *h, size_t len, char **out)
{
    *out = NULL;
    if (len == 0)
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (!isalnum((unsigned char)h[i]) && h[i] != '.' && h[i] != '-')
            return -EINVAL;
    }
    *out = strndup(h, len);
    if (!*out)
        return -ENOMEM;
    for (char *p = *out; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return 0;
}

static int add_origins(struct conf_endpoint *e, const char *list)
{
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, ",");
        if (len == 0 || e->norigins == CONF_MAX_ORIGINS)
            return -EINVAL;
        e->origin[e->norigins] = strndup(p, len);
        if (!e->origin[e->norigins++])
            return -ENOMEM;
        p += len;
        if (*p == ',' && !*++p)
            return -EINVAL;
    }
    return e->norigins ? 0 : -EINVAL;
}

static bool same_endpoint(const struct conf_endpoint *a, const struct conf_endpoint *b)
{
    bool same_host = (!a->host && !b->host) || (a->host && b->host && !strcmp(a->host, b->host));
    return same_host && strcmp(a->prefix, b->prefix) == 0;
}

static int parse_endpoint(const char *v, struct conf_endpoint *e)
{
    const char *eq = strchr(v, '=');
    const char *slash = eq ? memchr(v, '/', (size_t)(eq - v)) : NULL;

    if (!slash || clean_host(v, (size_t)(slash - v), &e->host))
        return -EINVAL;
    e->prefix = clean_prefix(slash, (size_t)(eq - slash));
    if (!e->prefix)
        return -EINVAL;
    return add_origins(e, eq + 1);
}

static int add_endpoint(struct conf *c, const char *v, bool public, char *err)
{
    const char *opt = public ? "public-endpoint" : "endpoint";
    struct conf_endpoint *e = &c->endpoint[c->nendpoints];

    if (c->nendpoints == CONF_MAX_ENDPOINTS) {
        snprintf(err, CONF_ERR_LEN, "%s: more than %d endpoints", opt, CONF_MAX_ENDPOINTS);
        return -EINVAL;
    }
    memset(e, 0, sizeof(*e));
    e->public = public;
    int rc = parse_endpoint(v, e);
    for (size_t i = 0; rc == 0 && i < c->nendpoints; i++)
        rc = same_endpoint(&c->endpoint[i], e) ? -EEXIST : 0;
    if (rc) {
        snprintf(err, CONF_ERR_LEN,
                 rc == -EEXIST ? "%s: '%s' is already configured"
                               : "%s: '%s' is not [HOST]/PREFIX=DIR[,DIR...] "
                                 "(at most %d DIRs)",
                 opt, v, CONF_MAX_ORIGINS);
        endpoint_release(e);
        return -EINVAL;
    }
    c->nendpoints++;
    return 0;
}

static int set_endpoint(struct conf *c, const char *v, char *err)
{
    return add_endpoint(c, v, false, err);
}

static int set_public_endpoint(struct conf *c, const char *v, char *err)
{
    return add_endpoint(c, v, true, err);
}

/* An endpoint's own pages (a site, the demo) are trusted to run scripts; by default every
 * document-like original is sandboxed, since uploads may be anyone's. */
static int set_trusted_documents(struct conf *c, const char *v, char *err)
{
    struct conf_endpoint want = {0};
    const char *slash = strchr(v, '/');
    int rc = slash && !clean_host(v, (size_t)(slash - v), &want.host) ? 0 : -EINVAL;

    want.prefix = rc ? NULL : clean_prefix(slash, strlen(slash));
    rc = want.prefix ? -ENOENT : -EINVAL;
    for (size_t i = 0; rc == -ENOENT && i < c->nendpoints; i++)
        if (same_endpoint(&c->endpoint[i], &want)) {
            c->endpoint[i].trusted_documents = true;
            rc = 0;
        }
    if (rc)
        snprintf(err, CONF_ERR_LEN,
                 rc == -ENOENT ? "trusted-documents: no endpoint '%s' was given before it"
                               : "trusted-documents: '%s' is not [HOST]/PREFIX",
                 v);
    endpoint_release(&want);
    return rc ? -EINVAL : 0;
}

static int set_named(struct conf *c, const char *v, char *err)
{
    const char *eq = strchr(v, '=');
    const char *name = strncmp(v, "n-", 2) == 0 ? v + 2 : v;

    if (!eq || eq == name || !eq[1] || c->nnamed == CONF_MAX_NAMED ||
        strcspn(name, ",:/=") != (size_t)(eq - name)) {
        snprintf(err, CONF_ERR_LEN, "named: '%s' is not NAME=CHAIN (at most %d names)", v,
                 CONF_MAX_NAMED);
        return -EINVAL;
    }
    struct conf_named *n = &c->named[c->nnamed];
    n->name = strndup(name, (size_t)(eq - name));
    n->value = strdup(eq + 1);
    if (!n->name || !n->value) {
        free(n->name);
        free(n->value);
        return -ENOMEM;
    }
    c->nnamed++;
    return 0;
}

/* One config line into (name, value), trimmed; false for a blank or comment line. */
static bool split_line(char *line, char **name, char **value)
{
    line[strcspn(line, "\r\n")] = '\0';
    while (isspace((unsigned char)*line))
        line++;
    if (!*line || *line == '#')
        return false;
    *name = line;
    line += strcspn(line, " \t=");
    char *name_end = line;
    while (isspace((unsigned char)*line))
        line++;
    if (*line == '=')
        line++;
    while (isspace((unsigned char)*line))
        line++;
    *name_end = '\0';
    char *end = line + strlen(line);
    while (end > line && isspace((unsigned char)end[-1]))
        *--end = '\0';
    *value = line;
    return true;
}

int conf_load(struct conf *c, const char *path, char err[CONF_ERR_LEN])
{
    char line[CONF_LINE_MAX], *name, *value, why[CONF_ERR_LEN];
    unsigned lineno = 0;
    int rc = 0;

    if (c->config_depth >= CONF_MAX_DEPTH) {
        snprintf(err, CONF_ERR_LEN, "%s: config files nested too deep", path);
        return -ELOOP;
    }
    FILE *f = fopen(path, "re");
    if (!f) {
        rc = -errno;
        snprintf(err, CONF_ERR_LEN, "cannot read config %s: %s", path, strerror(-rc));
        return rc;
    }
    c->config_depth++;
    while (rc == 0 && fgets(line, sizeof(line), f)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            snprintf(why, sizeof(why), "line longer than %d bytes", CONF_LINE_MAX - 2);
            rc = -EINVAL;
        } else if (split_line(line, &name, &value)) {
            rc = conf_set(c, name, value, why);
        }
        if (rc)
            snprintf(err, CONF_ERR_LEN, "%.100s:%u: %.140s", path, lineno, why);
    }
    c->config_depth--;
    fclose(f);
    return rc;
}

int conf_check(const struct conf *c, char err[CONF_ERR_LEN])
{
    if (c->nendpoints == 0) {
        snprintf(err, CONF_ERR_LEN, "no endpoint: give at least one --endpoint /PREFIX=DIR");
        return -EINVAL;
    }
    for (size_t i = 0; i < c->nnamed; i++) {
        for (size_t j = 0; j < i; j++) {
            if (strcmp(c->named[i].name, c->named[j].name) == 0) {
                snprintf(err, CONF_ERR_LEN, "named: '%s' is defined twice", c->named[i].name);
                return -EINVAL;
            }
        }
    }
    return 0;
}

const char *conf_option_name(size_t i)
{
    return i < NDEFS ? defs[i].name : NULL;
}

void conf_usage(FILE *out)
{
    for (size_t i = 0; i < NDEFS; i++) {
        char head[80];
        int n = snprintf(head, sizeof(head), "--%s %s", defs[i].name, defs[i].arg);
        if (n < 28)
            fprintf(out, "  %-28s %s\n", head, defs[i].help);
        else
            fprintf(out, "  %s\n  %-28s %s\n", head, "", defs[i].help);
    }
}
