/* httpd/pool.h: a bounded pool of worker threads for transforms.
 *
 * libmicrohttpd's I/O threads must never run a transform: they hand the job to this pool and
 * suspend the connection; the job resumes it. When the queue is full, pool_submit() says so at
 * once and the server answers 503 with Retry-After instead of queueing without bound. */
#ifndef HTTPD_POOL_H
#define HTTPD_POOL_H

#include <stddef.h>

struct pool;

typedef void (*pool_job_fn)(void *arg);

/* Start nthreads workers with room for queue_cap waiting jobs. thread_exit (may be NULL) runs
 * in each worker before it exits (libvips per-thread cleanup). Returns: (transfer full) free
 * with pool_free(), or NULL. */
struct pool *pool_new(unsigned nthreads, unsigned queue_cap, void (*thread_exit)(void));

/* Queue fn(arg) for a worker. Returns 0, -EBUSY when the queue is full, or -ESHUTDOWN once
 * pool_free() has begun. */
int pool_submit(struct pool *p, pool_job_fn fn, void *arg);

/* Jobs waiting, and jobs running, right now (for /healthz). */
void pool_load(struct pool *p, size_t *queued, size_t *running);

/* Refuse new jobs (-ESHUTDOWN), run every job already queued, then join the workers. Safe to
 * call twice; NULL is a no-op. */
void pool_stop(struct pool *p);

/* pool_stop(), then free p. NULL is a no-op. */
void pool_free(struct pool *p);

#endif
