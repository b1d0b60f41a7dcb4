/* httpd/accesslog.h: blobhttpd's access log, one line per request, in one of two formats:
 *
 *   combined (Apache's and nginx's, what log tools read by position):
 *     127.0.0.1 - - [28/Nov/2026:18:10:21 +0000] "GET /demo/x.txt HTTP/1.1" 200 6 "-" "curl/7.88.1"
 *   json (one object a line, for log shippers), with the request id and the duration:
 *     {"time":"2026-11-28T18:10:21.123Z","remote":"127.0.0.1","method":"GET",
 *      "target":"/demo/x.txt","protocol":"HTTP/1.1","status":200,"bytes":6,"referer":"-",
 *      "user_agent":"curl/7.88.1","request_id":"3f2a9c0d4e5b6a71","duration":0.000412}
 *
 * Every field a client controls is escaped the same way in both (http_log_escape(): '"', '\\'
 * and bytes outside printable ASCII as \xHH), so a line is always well formed and a JSON line
 * always parses. Each line is one write(2), so lines from threads never mix. */
#ifndef HTTPD_ACCESSLOG_H
#define HTTPD_ACCESSLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define ACCESSLOG_LINE_MAX 4096
#define ACCESSLOG_ERR_LEN 256

enum accesslog_format { ACCESSLOG_COMBINED, ACCESSLOG_JSON };

/* One request, as it ended. The strings are raw (escaped here); (transfer none). */
struct accesslog_entry {
    const char *addr, *method, *target, *version, *referer, *agent, *request_id;
    struct timespec start; /* CLOCK_REALTIME */
    double seconds;
    unsigned status;
    uint64_t bytes;
};

/* The line for e in format f, ending in '\n', into out (cap at least ACCESSLOG_LINE_MAX, which
 * every line fits: each field is cut at its own cap before it is escaped). Returns its length.
 * Pure (but for the local time zone of the combined format's date). */
size_t accesslog_format(enum accesslog_format f, const struct accesslog_entry *e, char *out,
                        size_t cap);

struct accesslog;

/* Open path for appending ("-": stdout). Returns (transfer full) a log to free with
 * accesslog_free(), or NULL with err set. */
struct accesslog *accesslog_open(const char *path, enum accesslog_format f,
                                 char err[ACCESSLOG_ERR_LEN]);

/* Write e's line (a failed write is logged at debug level: a full disk must not stop serving). */
void accesslog_write(struct accesslog *al, const struct accesslog_entry *e);

/* Open the file again at its path (after rotation, on SIGHUP); a line being written goes whole
 * to the old file or the new one. stdout needs nothing. Returns 0 or -errno (the old file
 * stays in use). */
int accesslog_reopen(struct accesslog *al);

/* NULL is a no-op. */
void accesslog_free(struct accesslog *al);

#endif
