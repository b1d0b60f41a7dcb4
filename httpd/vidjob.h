/* httpd/vidjob.h: video jobs, one per key, on a bounded pool (httpd/pool.h), and the requests
 * that wait for them, each until its own deadline (docs/video.md, "Delivery").
 *
 * A request asks for the job of a key with vidjob_wait(): it joins the job running for that
 * key (single flight), or starts one on the pool, and is woken once, from another thread,
 * when the job ends or its deadline passes first, whichever comes first; the job carries on
 * either way. A job that ended is remembered for a few seconds (VIDJOB_LINGER_S), so that a
 * request racing with its end sees the outcome rather than starting the work again.
 *
 *     rc = vidjob_wait(j, key, klen, deadline, wake, conn, &spec, &res);
 *     VIDJOB_DONE:    res says how it ended (0, or an error and its message); no wake
 *     VIDJOB_WAITING: wake(conn, state) follows, state VIDJOB_DONE (then vidjob_result())
 *                     or VIDJOB_PENDING (the deadline passed)
 *     VIDJOB_PENDING: the job runs, the deadline has passed already; no wake
 *     -EBUSY:         the queue is full; -ESHUTDOWN: stopping */
#ifndef HTTPD_VIDJOB_H
#define HTTPD_VIDJOB_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VIDJOB_MSG_LEN 192
#define VIDJOB_LINGER_S 10 /* how long the outcome of a job stays known */

enum vidjob_state { VIDJOB_DONE, VIDJOB_WAITING, VIDJOB_PENDING };

struct vidjobs;

/* How a job ended: 0 or -errno, and a message. */
struct vidjob_result {
    int rc;
    char msg[VIDJOB_MSG_LEN];
};

/* The work of a job, on a pool thread: returns 0 or -errno with msg set. cancel is set when
 * the server stops. */
typedef int (*vidjob_run_fn)(void *arg, const atomic_bool *cancel, char msg[VIDJOB_MSG_LEN]);

/* What a new job runs: run(arg), then release(arg). */
struct vidjob_spec {
    vidjob_run_fn run;
    void (*release)(void *arg);
    void *arg;
};

/* Called once for a VIDJOB_WAITING request, with no lock held, from the job's thread or the
 * timer's: state is VIDJOB_DONE or VIDJOB_PENDING. */
typedef void (*vidjob_wake_fn)(void *arg, enum vidjob_state state);

/* Start workers threads with room for queue waiting jobs, and the timer thread. thread_exit
 * (may be NULL) runs in each worker before it exits. Returns: (transfer full) free with
 * vidjobs_free(), or NULL. */
struct vidjobs *vidjobs_new(unsigned workers, unsigned queue, void (*thread_exit)(void));

/* Join or start the job of key[0..klen) for a request that waits until deadline_ns
 * (CLOCK_MONOTONIC). spec is (transfer full) in every case: it runs if the job starts, else
 * it is released at once. Returns a state (see above), with *res set for VIDJOB_DONE, or
 * -EBUSY / -ESHUTDOWN / -ENOMEM (nothing started). */
int vidjob_wait(struct vidjobs *j, const char *key, size_t klen, uint64_t deadline_ns,
                vidjob_wake_fn wake, void *warg, const struct vidjob_spec *spec,
                struct vidjob_result *res);

/* The outcome of the job of key, known for VIDJOB_LINGER_S after it ended: returns whether it
 * is known, with *res set. */
bool vidjob_result(struct vidjobs *j, const char *key, size_t klen, struct vidjob_result *res);

/* Stop: no new waits (-ESHUTDOWN), every waiting request woken (VIDJOB_PENDING), every job's
 * cancel flag set. Jobs end on their own soon after; vidjobs_free() waits for them. */
void vidjobs_stop(struct vidjobs *j);

/* vidjobs_stop(), then wait for the jobs (queued ones return at once). vidjobs_result() and
 * vidjobs_get_stats() still answer. NULL is a no-op. */
void vidjobs_drain(struct vidjobs *j);

/* vidjobs_drain(), then free. NULL is a no-op. */
void vidjobs_free(struct vidjobs *j);

struct vidjobs_stats {
    size_t running, queued, waiting;        /* now */
    uint64_t started, joined, done, failed; /* since start; done: ended with their result */
};
void vidjobs_get_stats(struct vidjobs *j, struct vidjobs_stats *out);

#endif
