/* httpd/vidjob.c: video jobs by key, their waiting requests, and the timer that wakes requests
 * whose deadline passed (see vidjob.h). One mutex guards the list of jobs; jobs are few (those
 * running or queued, plus those that ended in the last VIDJOB_LINGER_S), so it is a list. */
#include "vidjob.h"

#include "clock.h"
#include "pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define TIMER_IDLE_MS 60000 /* the timer's longest sleep when nothing is due */

struct waiter {
    vidjob_wake_fn wake;
    void *arg;
    uint64_t deadline_ns;
    struct waiter *next;
};

struct job {
    struct vidjobs *owner;
    struct job *next;
    bool done;
    uint64_t done_ns;
    struct vidjob_result res;
    struct waiter *waiters;
    atomic_bool cancel;
    struct vidjob_spec spec;
    size_t klen;
    char key[];
};

struct vidjobs {
    struct pool *pool;
    pthread_t timer;
    bool timer_started;
    pthread_mutex_t lock; /* guards everything below and every job's fields but cancel */
    pthread_cond_t tick;  /* CLOCK_MONOTONIC: a new deadline, a job ended, or quit */
    struct job *jobs;
    bool stopping, quit;
    size_t running, queued, waiting;
    uint64_t started, joined, done, failed;
};

/* ---- Jobs ---------------------------------------------------------------------------------- */

static struct job *find(struct vidjobs *j, const char *key, size_t klen)
{
    for (struct job *jb = j->jobs; jb; jb = jb->next)
        if (jb->klen == klen && memcmp(jb->key, key, klen) == 0)
            return jb;
    return NULL;
}

static void unlink_job(struct vidjobs *j, struct job *jb)
{
    for (struct job **p = &j->jobs; *p; p = &(*p)->next) {
        if (*p == jb) {
            *p = jb->next;
            return;
        }
    }
}

/* Wake every waiter of list with state, and free them. No lock held. */
static void wake_all(struct waiter *list, enum vidjob_state state)
{
    while (list) {
        struct waiter *next = list->next;

        list->wake(list->arg, state);
        free(list);
        list = next;
    }
}

/* A pool thread: run the job, record how it ended, wake its waiters. The job stays in the list
 * (done) for the timer to drop after VIDJOB_LINGER_S; nothing here touches it after that. */
static void job_main(void *arg)
{
    struct job *jb = arg;
    struct vidjobs *j = jb->owner;
    struct vidjob_result res = {0, ""};
    struct waiter *woken;

    pthread_mutex_lock(&j->lock);
    j->queued--;
    j->running++;
    pthread_mutex_unlock(&j->lock);
    res.rc = jb->spec.run(jb->spec.arg, &jb->cancel, res.msg);
    jb->spec.release(jb->spec.arg);
    pthread_mutex_lock(&j->lock);
    j->running--;
    j->done += res.rc == 0;
    j->failed += res.rc != 0;
    jb->res = res;
    jb->done = true;
    jb->done_ns = clock_now_ns();
    woken = jb->waiters;
    jb->waiters = NULL;
    for (struct waiter *w = woken; w; w = w->next)
        j->waiting--;
    pthread_cond_signal(&j->tick);
    pthread_mutex_unlock(&j->lock);
    wake_all(woken, VIDJOB_DONE);
}

/* A new job for key on the pool (the lock held). Returns it, or NULL with *rc set. */
static struct job *start(struct vidjobs *j, const char *key, size_t klen,
                         const struct vidjob_spec *spec, int *rc)
{
    struct job *jb = calloc(1, sizeof(*jb) + klen);

    *rc = -ENOMEM;
    if (!jb)
        return NULL;
    jb->owner = j;
    jb->spec = *spec;
    jb->klen = klen;
    memcpy(jb->key, key, klen);
    *rc = pool_submit(j->pool, job_main, jb);
    if (*rc) {
        free(jb);
        return NULL;
    }
    jb->next = j->jobs;
    j->jobs = jb;
    j->queued++;
    j->started++;
    return jb;
}

/* The request waits on jb until deadline (the lock held). Returns its state. */
static int add_waiter(struct vidjobs *j, struct job *jb, uint64_t deadline_ns, vidjob_wake_fn wake,
                      void *warg)
{
    struct waiter *w;

    if (deadline_ns <= clock_now_ns())
        return VIDJOB_PENDING;
    w = malloc(sizeof(*w));
    if (!w)
        return VIDJOB_PENDING; /* no memory to wait: answered as not ready yet */
    *w = (struct waiter){wake, warg, deadline_ns, jb->waiters};
    jb->waiters = w;
    j->waiting++;
    pthread_cond_signal(&j->tick);
    return VIDJOB_WAITING;
}

int vidjob_wait(struct vidjobs *j, const char *key, size_t klen, uint64_t deadline_ns,
                vidjob_wake_fn wake, void *warg, const struct vidjob_spec *spec,
                struct vidjob_result *res)
{
    bool owned = false; /* spec went to a new job */
    int rc;

    pthread_mutex_lock(&j->lock);
    struct job *jb = j->stopping ? NULL : find(j, key, klen);
    if (j->stopping) {
        rc = -ESHUTDOWN;
    } else if (jb && jb->done) {
        *res = jb->res;
        rc = VIDJOB_DONE;
    } else {
        if (jb) {
            j->joined++;
        } else {
            jb = start(j, key, klen, spec, &rc);
            owned = jb != NULL;
        }
        rc = jb ? add_waiter(j, jb, deadline_ns, wake, warg) : rc;
    }
    pthread_mutex_unlock(&j->lock);
    if (!owned)
        spec->release(spec->arg);
    return rc;
}

bool vidjob_result(struct vidjobs *j, const char *key, size_t klen, struct vidjob_result *res)
{
    pthread_mutex_lock(&j->lock);
    struct job *jb = find(j, key, klen);
    bool known = jb && jb->done;
    if (known)
        *res = jb->res;
    pthread_mutex_unlock(&j->lock);
    return known;
}

/* ---- The timer ----------------------------------------------------------------------------- */

/* Take the waiters of jb whose deadline passed into *woken; the earliest other deadline into
 * *next (the lock held). */
static void expire_waiters(struct vidjobs *j, struct job *jb, uint64_t now, uint64_t *next,
                           struct waiter **woken)
{
    struct waiter **p = &jb->waiters;

    while (*p) {
        struct waiter *w = *p;

        if (w->deadline_ns <= now) {
            *p = w->next;
            w->next = *woken;
            *woken = w;
            j->waiting--;
        } else {
            *next = w->deadline_ns < *next ? w->deadline_ns : *next;
            p = &w->next;
        }
    }
}

/* One pass over the jobs (the lock held): expired waiters out, ended jobs past their linger
 * dropped. Returns when the next thing is due. */
static uint64_t sweep(struct vidjobs *j, struct waiter **woken)
{
    uint64_t now = clock_now_ns(), linger = (uint64_t)VIDJOB_LINGER_S * 1000000000u;
    uint64_t next = now + (uint64_t)TIMER_IDLE_MS * 1000000u;
    struct job *jb = j->jobs;

    while (jb) {
        struct job *after = jb->next;

        expire_waiters(j, jb, now, &next, woken);
        if (jb->done && jb->done_ns + linger <= now) {
            unlink_job(j, jb);
            free(jb);
        } else if (jb->done && jb->done_ns + linger < next) {
            next = jb->done_ns + linger;
        }
        jb = after;
    }
    return next;
}

static void *timer_main(void *arg)
{
    struct vidjobs *j = arg;

    pthread_mutex_lock(&j->lock);
    while (!j->quit) {
        struct waiter *woken = NULL;
        uint64_t next = sweep(j, &woken);

        if (woken) {
            pthread_mutex_unlock(&j->lock);
            wake_all(woken, VIDJOB_PENDING);
            pthread_mutex_lock(&j->lock);
            continue;
        }
        uint64_t now = clock_now_ns(), wait_ms = next > now ? (next - now) / 1000000u + 1 : 1;
        struct timespec at = clock_deadline_ms((long)wait_ms);
        pthread_cond_timedwait(&j->tick, &j->lock, &at);
    }
    pthread_mutex_unlock(&j->lock);
    return NULL;
}

/* ---- Life ---------------------------------------------------------------------------------- */

struct vidjobs *vidjobs_new(unsigned workers, unsigned queue, void (*thread_exit)(void))
{
    struct vidjobs *j = calloc(1, sizeof(*j));
    pthread_condattr_t ca;

    if (!j)
        return NULL;
    pthread_mutex_init(&j->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&j->tick, &ca);
    pthread_condattr_destroy(&ca);
    j->pool = pool_new(workers, queue, thread_exit);
    j->timer_started = j->pool && pthread_create(&j->timer, NULL, timer_main, j) == 0;
    if (!j->timer_started) {
        vidjobs_free(j);
        return NULL;
    }
    return j;
}

void vidjobs_stop(struct vidjobs *j)
{
    struct waiter *woken = NULL;

    pthread_mutex_lock(&j->lock);
    j->stopping = true;
    for (struct job *jb = j->jobs; jb; jb = jb->next) {
        atomic_store(&jb->cancel, true);
        while (jb->waiters) {
            struct waiter *w = jb->waiters;

            jb->waiters = w->next;
            w->next = woken;
            woken = w;
        }
    }
    j->waiting = 0;
    pthread_mutex_unlock(&j->lock);
    wake_all(woken, VIDJOB_PENDING);
}

void vidjobs_drain(struct vidjobs *j)
{
    if (!j)
        return;
    vidjobs_stop(j);
    pool_stop(j->pool); /* queued jobs run, see their cancel flag and return at once */
}

void vidjobs_free(struct vidjobs *j)
{
    if (!j)
        return;
    vidjobs_drain(j);
    pool_free(j->pool);
    if (j->timer_started) {
        pthread_mutex_lock(&j->lock);
        j->quit = true;
        pthread_cond_signal(&j->tick);
        pthread_mutex_unlock(&j->lock);
        pthread_join(j->timer, NULL);
    }
    while (j->jobs) {
        struct job *next = j->jobs->next;

        free(j->jobs);
        j->jobs = next;
    }
    pthread_cond_destroy(&j->tick);
    pthread_mutex_destroy(&j->lock);
    free(j);
}

void vidjobs_get_stats(struct vidjobs *j, struct vidjobs_stats *out)
{
    pthread_mutex_lock(&j->lock);
    *out = (struct vidjobs_stats){j->running, j->queued, j->waiting, j->started,
                                  j->joined,  j->done,   j->failed};
    pthread_mutex_unlock(&j->lock);
}
