/* httpd/pool.c: a ring of jobs under one mutex, N workers on one condition variable. */
#include "pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

struct job {
    pool_job_fn fn;
    void *arg;
};

struct pool {
    pthread_t *threads;
    unsigned nthreads; /* running workers: 0 once joined */
    void (*thread_exit)(void);
    pthread_mutex_t lock; /* guards ring, head, count, running, stopping */
    pthread_cond_t ready; /* a job was queued, or stopping was set */
    struct job *ring;
    size_t cap, head, count, running;
    bool stopping;
};

/* The next job, or false once the pool stops and the queue is empty. */
static bool take(struct pool *p, struct job *out)
{
    pthread_mutex_lock(&p->lock);
    while (p->count == 0 && !p->stopping)
        pthread_cond_wait(&p->ready, &p->lock);
    bool have = p->count > 0;
    if (have) {
        *out = p->ring[p->head];
        p->head = (p->head + 1) % p->cap;
        p->count--;
        p->running++;
    }
    pthread_mutex_unlock(&p->lock);
    return have;
}

static void *worker(void *arg)
{
    struct pool *p = arg;
    struct job job;

    while (take(p, &job)) {
        job.fn(job.arg);
        pthread_mutex_lock(&p->lock);
        p->running--;
        pthread_mutex_unlock(&p->lock);
    }
    if (p->thread_exit)
        p->thread_exit();
    return NULL;
}

/* Set stopping, wake everyone and join the first n workers. */
static void stop_workers(struct pool *p, unsigned n)
{
    pthread_mutex_lock(&p->lock);
    p->stopping = true;
    pthread_cond_broadcast(&p->ready);
    pthread_mutex_unlock(&p->lock);
    for (unsigned i = 0; i < n; i++)
        pthread_join(p->threads[i], NULL);
}

struct pool *pool_new(unsigned nthreads, unsigned queue_cap, void (*thread_exit)(void))
{
    struct pool *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->cap = queue_cap ? queue_cap : 1;
    p->thread_exit = thread_exit;
    p->ring = calloc(p->cap, sizeof(*p->ring));
    p->threads = calloc(nthreads, sizeof(*p->threads));
    if (!p->ring || !p->threads)
        goto out_free;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->ready, NULL);
    for (p->nthreads = 0; p->nthreads < nthreads; p->nthreads++) {
        if (pthread_create(&p->threads[p->nthreads], NULL, worker, p) != 0)
            goto out_stop;
    }
    return p;

out_stop:
    stop_workers(p, p->nthreads);
    pthread_cond_destroy(&p->ready);
    pthread_mutex_destroy(&p->lock);
out_free:
    free(p->threads);
    free(p->ring);
    free(p);
    return NULL;
}

int pool_submit(struct pool *p, pool_job_fn fn, void *arg)
{
    int rc = 0;

    pthread_mutex_lock(&p->lock);
    if (p->stopping) {
        rc = -ESHUTDOWN;
    } else if (p->count == p->cap) {
        rc = -EBUSY;
    } else {
        p->ring[(p->head + p->count) % p->cap] = (struct job){fn, arg};
        p->count++;
        pthread_cond_signal(&p->ready);
    }
    pthread_mutex_unlock(&p->lock);
    return rc;
}

void pool_load(struct pool *p, size_t *queued, size_t *running)
{
    pthread_mutex_lock(&p->lock);
    *queued = p->count;
    *running = p->running;
    pthread_mutex_unlock(&p->lock);
}

void pool_stop(struct pool *p)
{
    if (!p)
        return;
    stop_workers(p, p->nthreads);
    p->nthreads = 0;
}

void pool_free(struct pool *p)
{
    if (!p)
        return;
    pool_stop(p);
    pthread_cond_destroy(&p->ready);
    pthread_mutex_destroy(&p->lock);
    free(p->threads);
    free(p->ring);
    free(p);
}
