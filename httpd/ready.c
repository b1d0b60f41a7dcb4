/* httpd/ready.c: the origins' readiness, checked on a thread of its own (see ready.h). */
#include "ready.h"

#include "clock.h"
#include "origin.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define READY_INTERVAL_MS 1000
#define READY_STAT_LIMIT_NS 1000000000u /* a stat must answer within a second */

struct ready {
    struct origin *const *origin;
    size_t n;
    atomic_int *result;       /* per origin: its last check, 0 or -errno */
    atomic_long current;      /* the origin being checked, or -1 */
    atomic_ullong started_ns; /* when that check began */
    atomic_bool stopping;
    pthread_t thread;
    pthread_mutex_t lock; /* guards done; with wake, which also tells of stopping */
    pthread_cond_t wake;
    bool done;
};

static bool wait_or_stop(struct ready *r)
{
    struct timespec until = clock_deadline_ms(READY_INTERVAL_MS);
    bool stop;

    pthread_mutex_lock(&r->lock);
    while (!atomic_load(&r->stopping) && pthread_cond_timedwait(&r->wake, &r->lock, &until) == 0)
        ;
    stop = atomic_load(&r->stopping);
    pthread_mutex_unlock(&r->lock);
    return stop;
}

static void *check_loop(void *arg)
{
    struct ready *r = arg;

    do {
        for (size_t i = 0; i < r->n && !atomic_load(&r->stopping); i++) {
            atomic_store(&r->started_ns, clock_now_ns());
            atomic_store(&r->current, (long)i);
            atomic_store(&r->result[i], origin_check(r->origin[i]));
            atomic_store(&r->current, -1L);
        }
    } while (!wait_or_stop(r));
    pthread_mutex_lock(&r->lock);
    r->done = true;
    pthread_cond_broadcast(&r->wake);
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

struct ready *ready_new(struct origin *const *origins, size_t n)
{
    struct ready *r = calloc(1, sizeof(*r));
    pthread_condattr_t attr;

    if (!r || !(r->result = calloc(n ? n : 1, sizeof(*r->result)))) {
        free(r);
        return NULL;
    }
    r->origin = origins;
    r->n = n;
    atomic_store(&r->current, -1L);
    pthread_mutex_init(&r->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&r->wake, &attr);
    pthread_condattr_destroy(&attr);
    if (pthread_create(&r->thread, NULL, check_loop, r) != 0) {
        pthread_cond_destroy(&r->wake);
        pthread_mutex_destroy(&r->lock);
        free(r->result);
        free(r);
        return NULL;
    }
    return r;
}

bool ready_is_stuck(struct ready *r)
{
    long cur = atomic_load(&r->current);

    return cur >= 0 && clock_now_ns() - atomic_load(&r->started_ns) > READY_STAT_LIMIT_NS;
}

int ready_check(struct ready *r, char why[READY_WHY_LEN])
{
    long cur = atomic_load(&r->current);

    if (cur >= 0 && ready_is_stuck(r)) {
        snprintf(why, READY_WHY_LEN, "origin %s does not answer a stat within 1 s",
                 origin_path(r->origin[cur]));
        return -ETIMEDOUT;
    }
    for (size_t i = 0; i < r->n; i++) {
        int rc = atomic_load(&r->result[i]);
        if (rc) {
            snprintf(why, READY_WHY_LEN, "origin %s: %s", origin_path(r->origin[i]),
                     rc == -ENOTCONN ? "not mounted (Transport endpoint is not connected)"
                                     : strerror(-rc));
            return rc;
        }
    }
    return 0;
}

void ready_free(struct ready *r, unsigned wait_s)
{
    if (!r)
        return;
    struct timespec until = clock_deadline_ms(wait_s * 1000u);
    pthread_mutex_lock(&r->lock);
    atomic_store(&r->stopping, true);
    pthread_cond_broadcast(&r->wake);
    while (!r->done && pthread_cond_timedwait(&r->wake, &r->lock, &until) == 0)
        ;
    bool done = r->done;
    pthread_mutex_unlock(&r->lock);
    if (!done) {
        pthread_detach(r->thread); /* stuck in a stat: r stays for it, until the exit */
        return;
    }
    pthread_join(r->thread, NULL);
    pthread_cond_destroy(&r->wake);
    pthread_mutex_destroy(&r->lock);
    free(r->result);
    free(r);
}
