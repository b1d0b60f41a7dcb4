/* common/procstat.h: the standard process metrics of Prometheus's client libraries, for a
 * registry of ours: process_cpu_seconds_total, process_resident_memory_bytes,
 * process_virtual_memory_bytes, process_open_fds, process_max_fds and
 * process_start_time_seconds, read from /proc and getrusage() at every scrape. */
#ifndef COMMON_PROCSTAT_H
#define COMMON_PROCSTAT_H

#include <stddef.h>
#include <stdint.h>

struct metrics;
struct procstat;

/* Add the process families to m, filled whenever m renders. Returns (transfer full) the state
 * to free with procstat_free() once m renders no more, or NULL. */
struct procstat *procstat_new(struct metrics *m);
void procstat_free(struct procstat *p);

/* Field 22 of /proc/PID/stat (starttime: clock ticks after boot) from its text. The command
 * name in parentheses may hold spaces and parentheses: fields are counted after its last ')'.
 * Returns 0 or -EINVAL. Pure. */
int procstat_parse_start(const char *stat, size_t len, uint64_t *ticks);

/* The first two fields of /proc/PID/statm (program size and resident set, in pages). Returns
 * 0 or -EINVAL. Pure. */
int procstat_parse_statm(const char *statm, size_t len, uint64_t *size, uint64_t *resident);

#endif
