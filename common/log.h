/* common/log.h: the one logger of both programs.
 *
 * A message is one line: "2026-11-28T17:50:29.123Z blobfs[42] warn: cannot ...". It goes to
 * stderr, to a file, or to syslog (daemons), as log_open() chose. Every line passes through
 * log_redact() first, so a SAS signature that slipped into a URL never reaches a log.
 *
 * log_open() runs once in main() before any thread exists; afterwards the logger is read-only
 * and every call is thread-safe (one write(2) per line). */
#ifndef COMMON_LOG_H
#define COMMON_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level { LOG_LV_ERROR, LOG_LV_WARN, LOG_LV_INFO, LOG_LV_DEBUG };

/* Longest line written; longer messages are cut and end in "...". */
#define LOG_LINE_MAX 1024

/* Direct the log. dest: NULL or "-" for stderr, "syslog", or a file path (appended to).
 * Lines above level are dropped. Returns 0, or -errno when the file cannot be opened. */
int log_open(const char *prog, const char *dest, enum log_level level);

/* Switch a stderr log to syslog, for a daemon whose stderr is about to become /dev/null.
 * A file or syslog destination is kept. */
void log_detach(void);

/* Open a log file again at the path given to log_open() (after rotation, on SIGHUP); lines
 * go to the new file from then on. stderr and syslog need nothing. dest must still be valid
 * (log_open() keeps the pointer). Returns 0 or -errno (the old file stays in use). */
int log_reopen(void);

/* Close a log file opened by log_open(). */
void log_close(void);

/* Whether a message at level would be written: guards costly debug formatting. */
bool log_enabled(enum log_level level);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_error(...) log_msg(LOG_LV_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LV_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LV_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LV_DEBUG, __VA_ARGS__)

/* Copy in[0..len) to out (capacity cap, always NUL-terminated) with the value of every secret
 * query parameter ("sig=") replaced by "REDACTED". Returns the length written. Pure. */
size_t log_redact(const char *in, size_t len, char *out, size_t cap);

/* Parse a level name ("error", "warn", "info", "debug"). Returns 0 or -EINVAL. */
int log_parse_level(const char *name, enum log_level *out);

#endif
