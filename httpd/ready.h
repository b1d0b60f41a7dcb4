/* httpd/ready.h: whether the origins answer, for GET /readyz, without ever blocking the
 * request that asks.
 *
 * One thread stats every origin folder in turn (origin_check()), then waits a second and
 * starts over; ready_check() only reads what it found. An origin whose stat failed (a blobfs
 * mount that died or was unmounted: ENOTCONN) makes the server not ready, and so does one
 * whose stat has not come back within a second (a hung mount) until it does. */
#ifndef HTTPD_READY_H
#define HTTPD_READY_H

#include <stdbool.h>
#include <stddef.h>

#define READY_WHY_LEN 320

struct origin;
struct ready;

/* Start checking origins[0..n) (transfer none: they must outlive the checker). Returns
 * (transfer full) a checker to free with ready_free(), or NULL. */
struct ready *ready_new(struct origin *const *origins, size_t n);

/* 0 when every origin answered its last stat, within a second; else -errno with why set
 * ("origin /mnt/media: Transport endpoint is not connected"). No I/O. */
int ready_check(struct ready *r, char why[READY_WHY_LEN]);

/* Whether a stat has been waited for longer than a second now (a hung mount). */
bool ready_is_stuck(struct ready *r);

/* Stop the thread and free r, waiting at most wait_s seconds for a stat in progress; past
 * that (a mount hung for good) the thread is left to the process's exit, with r. NULL is a
 * no-op. */
void ready_free(struct ready *r, unsigned wait_s);

#endif
