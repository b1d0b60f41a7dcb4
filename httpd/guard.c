/* httpd/guard.c: header deadlines and hang-ups of suspended clients (see guard.h). */
#include "guard.h"

#include "clock.h"
#include "log.h"
#include "srv_i.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>

#define GUARD_TICK_MS 200 /* how late a deadline or a hang-up may be noticed */

struct guard {
    pthread_t thread;
    pthread_mutex_t lock; /* guards the list, stop, and each listed conn's guard fields */
    pthread_cond_t tick;  /* on CLOCK_MONOTONIC: stop was set */
    struct conn *head;    /* every open connection */
    uint64_t header_timeout_ns;
    bool stop;
};

/* Whether the peer of a suspended connection closed its end: a read would say end of file. */
static bool peer_closed(int sock)
{
    char b;
    ssize_t n = recv(sock, &b, 1, MSG_PEEK | MSG_DONTWAIT);

    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

/* One look at every connection, the lock held. */
static void sweep_locked(struct guard *g, uint64_t now)
{
    for (struct conn *c = g->head; c; c = c->gnext) {
        if (c->head_deadline_ns && now >= c->head_deadline_ns) {
            c->head_deadline_ns = 0;
            log_debug("request head not complete within the header timeout: closing");
            shutdown(c->sock, SHUT_RDWR);
        }
        if (c->watched && !c->hung_up && peer_closed(c->sock)) {
            c->hung_up = true;
            deliver_client_left(c);
        }
    }
}

static void *run(void *arg)
{
    struct guard *g = arg;

    pthread_mutex_lock(&g->lock);
    while (!g->stop) {
        sweep_locked(g, clock_now_ns());
        struct timespec next = clock_deadline_ms(GUARD_TICK_MS);
        pthread_cond_timedwait(&g->tick, &g->lock, &next);
    }
    pthread_mutex_unlock(&g->lock);
    return NULL;
}

struct guard *guard_new(unsigned header_timeout_s)
{
    struct guard *g = calloc(1, sizeof(*g));
    pthread_condattr_t attr;

    if (!g)
        return NULL;
    g->header_timeout_ns = (uint64_t)header_timeout_s * 1000000000u;
    pthread_mutex_init(&g->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&g->tick, &attr);
    pthread_condattr_destroy(&attr);
    if (pthread_create(&g->thread, NULL, run, g) != 0) {
        pthread_cond_destroy(&g->tick);
        pthread_mutex_destroy(&g->lock);
        free(g);
        return NULL;
    }
    return g;
}

void guard_free(struct guard *g)
{
    if (!g)
        return;
    pthread_mutex_lock(&g->lock);
    g->stop = true;
    pthread_cond_signal(&g->tick);
    pthread_mutex_unlock(&g->lock);
    pthread_join(g->thread, NULL);
    pthread_cond_destroy(&g->tick);
    pthread_mutex_destroy(&g->lock);
    free(g);
}

void guard_add(struct guard *g, struct conn *c)
{
    pthread_mutex_lock(&g->lock);
    c->gprev = NULL;
    c->gnext = g->head;
    if (g->head)
        g->head->gprev = c;
    g->head = c;
    c->head_deadline_ns = clock_now_ns() + g->header_timeout_ns;
    c->watched = c->hung_up = false;
    pthread_mutex_unlock(&g->lock);
}

void guard_remove(struct guard *g, struct conn *c)
{
    pthread_mutex_lock(&g->lock);
    *(c->gprev ? &c->gprev->gnext : &g->head) = c->gnext;
    if (c->gnext)
        c->gnext->gprev = c->gprev;
    c->gprev = c->gnext = NULL;
    pthread_mutex_unlock(&g->lock);
}

void guard_expect_head(struct guard *g, struct conn *c, bool head)
{
    pthread_mutex_lock(&g->lock);
    c->head_deadline_ns = head ? clock_now_ns() + g->header_timeout_ns : 0;
    pthread_mutex_unlock(&g->lock);
}

void guard_watch(struct guard *g, struct conn *c, bool on)
{
    pthread_mutex_lock(&g->lock);
    c->watched = on;
    c->hung_up = false;
    pthread_mutex_unlock(&g->lock);
}
