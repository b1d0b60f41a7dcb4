/* httpd/conf.h: blobhttpd's settings, from the command line and from a config file alike.
 *
 * Every setting is one named option with one value; "--cache-mb 64" on the command line and the
 * line "cache-mb 64" (or "cache-mb = 64") in a --config file go through the same conf_set().
 * Repeatable options (endpoint, public-endpoint, named) accumulate. main() fills one struct
 * conf, checks it, and it stays read-only afterwards. */
#ifndef HTTPD_CONF_H
#define HTTPD_CONF_H

#include "log.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define CONF_ERR_LEN 256
#define CONF_MAX_ENDPOINTS 64
#define CONF_MAX_ORIGINS 8
#define CONF_MAX_NAMED 256

/* One URL endpoint: [host]/prefix mapped to an ordered list of origin folders. */
struct conf_endpoint {
    char *host;   /* lowercase, NULL for any Host */
    char *prefix; /* "/" or "/name", no trailing slash */
    char *origin[CONF_MAX_ORIGINS];
    size_t norigins;
    bool public;            /* unsigned URLs are served even when a signing key is set */
    bool trusted_documents; /* HTML, SVG and XML originals served without the sandbox CSP */
};

/* A named transformation: "n-thumb" stands for "w-200,h-200". */
struct conf_named {
    char *name, *value;
};

struct conf {
    char *listen; /* "127.0.0.1:8080" */
    struct conf_endpoint endpoint[CONF_MAX_ENDPOINTS];
    size_t nendpoints;
    struct conf_named named[CONF_MAX_NAMED];
    size_t nnamed;
    char *sign_key_file;
    unsigned cache_mb;
    char *cache_control, *error_cache_control;
    bool auto_optimize, avif_auto;
    bool console; /* the console under /_blobkit/ */
    unsigned workers, queue, io_threads, vips_threads;
    unsigned max_connections, max_connections_per_ip, timeout, header_timeout, shutdown_timeout;
    unsigned origin_threads, origin_queue, recheck;
    unsigned max_input_mb, max_megapixels, max_transform_mb, transform_timeout;
    char *access_log;     /* NULL: none; "-": stdout */
    bool access_log_json; /* --access-log-format json: one JSON object a line, else combined */
    char *metrics_listen; /* NULL: GET /metrics on the main listener; else its own listener */
    char *log;            /* NULL or "-": stderr, "syslog", or a file */
    enum log_level log_level;
    unsigned config_depth; /* --config nesting, to refuse loops */
};

/* Defaults: listen 127.0.0.1:8080, cache 256 MiB, ImageKit's Cache-Control, one worker and one
 * I/O thread per core, ... (conf_usage() prints them all). */
void conf_init(struct conf *c);
void conf_release(struct conf *c);

/* Set option name (long name without "--") to value. "config" reads a file. Returns 0, or
 * -EINVAL (or the file's -errno) with err saying what is wrong with which option. */
int conf_set(struct conf *c, const char *name, const char *value, char err[CONF_ERR_LEN]);

/* Read a config file: one "name value" or "name = value" per line; blank lines and lines
 * starting with '#' are skipped. Errors name the file and line. */
int conf_load(struct conf *c, const char *path, char err[CONF_ERR_LEN]);

/* The final check once all options are in: at least one endpoint, a key file for signing...
 * Returns 0 or -EINVAL with err set. */
int conf_check(const struct conf *c, char err[CONF_ERR_LEN]);

/* The options, for getopt_long(): every one takes an argument. conf_option_name() returns
 * NULL past the last; (transfer none): static strings. */
const char *conf_option_name(size_t i);

/* Print every option with its argument and help text (for --help). */
void conf_usage(FILE *out);

#endif
