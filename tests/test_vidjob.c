/* Unit tests for httpd/vidjob.c with real threads: identical requests share one job, each is
 * woken once (when the job ends, or at its own deadline while the job carries on), an ended
 * job's outcome is known for a while, a full queue is -EBUSY, stopping wakes every request
 * and cancels the jobs. The jobs here wait on a gate the test opens; no test waits on time
 * but for the deadlines under test, which it polls. */
#include "vidjob.h"

#include "check.h"
#include "clock.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>

static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static bool gate_open;
static atomic_int runs, releases, cancelled;

struct request {
    atomic_int woken; /* times woken */
    atomic_int state; /* the state it was woken with */
};

static void wake(void *arg, enum vidjob_state state)
{
    struct request *r = arg;

    atomic_store(&r->state, (int)state);
    atomic_fetch_add(&r->woken, 1);
}

/* A job that waits for the gate (or its cancel flag), then ends with the rc it was given. */
static int run(void *arg, const atomic_bool *cancel, char msg[VIDJOB_MSG_LEN])
{
    atomic_fetch_add(&runs, 1);
    pthread_mutex_lock(&gate_lock);
    while (!gate_open && !atomic_load(cancel)) {
        struct timespec at = {0, 0};

        clock_gettime(CLOCK_REALTIME, &at);
        at.tv_nsec += 5000000;
        if (at.tv_nsec >= 1000000000) {
            at.tv_sec++;
            at.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&gate_cond, &gate_lock, &at);
    }
    pthread_mutex_unlock(&gate_lock);
    if (atomic_load(cancel)) {
        atomic_fetch_add(&cancelled, 1);
        snprintf(msg, VIDJOB_MSG_LEN, "cancelled");
        return -ECANCELED;
    }
    snprintf(msg, VIDJOB_MSG_LEN, "done %d", *(int *)arg);
    return *(int *)arg;
}

static void release(void *arg)
{
    (void)arg;
    atomic_fetch_add(&releases, 1);
}

static void open_gate(bool open)
{
    pthread_mutex_lock(&gate_lock);
    gate_open = open;
    pthread_cond_broadcast(&gate_cond);
    pthread_mutex_unlock(&gate_lock);
}

static bool all_woken(struct request *r, int n)
{
    uint64_t until = clock_now_ns() + 10000000000u;

    for (int i = 0; i < n; i++)
        while (atomic_load(&r[i].woken) == 0 && clock_now_ns() < until)
            nanosleep(&(struct timespec){0, 1000000}, NULL);
    for (int i = 0; i < n; i++)
        if (atomic_load(&r[i].woken) == 0)
            return false;
    return true;
}

static uint64_t in_s(double s)
{
    return clock_now_ns() + (uint64_t)(s * 1e9);
}

static void test_single_flight(struct vidjobs *j)
{
    static int zero = 0;
    struct request r[5] = {0};
    struct vidjob_result res;
    struct vidjobs_stats st;
    struct vidjob_spec spec = {run, release, &zero};

    open_gate(false);
    for (int i = 0; i < 5; i++)
        ok(vidjob_wait(j, "k1", 2, in_s(60), wake, &r[i], &spec, &res) == VIDJOB_WAITING,
           "request %d waits", i);
    vidjobs_get_stats(j, &st);
    ok(st.started == 1 && st.joined == 4 && st.waiting == 5, "one job for five requests");
    ok(atomic_load(&releases) == 4, "the four specs not run are released at once");
    open_gate(true);
    ok(all_woken(r, 5), "every request is woken when it ends");
    for (int i = 0; i < 5; i++)
        ok(r[i].woken == 1 && r[i].state == VIDJOB_DONE, "  request %d once, done", i);
    ok(atomic_load(&runs) == 1 && atomic_load(&releases) == 5, "it ran once, its spec released");
    ok(vidjob_result(j, "k1", 2, &res) && res.rc == 0 && strcmp(res.msg, "done 0") == 0,
       "its outcome is known afterwards");
    ok(vidjob_wait(j, "k1", 2, in_s(60), wake, &r[0], &spec, &res) == VIDJOB_DONE && res.rc == 0,
       "a request now gets the outcome at once, with no new job");
    vidjobs_get_stats(j, &st);
    ok(st.started == 1 && st.waiting == 0, "  still one job");
    ok(st.done == 1 && st.failed == 0, "  counted done, not failed");
}

static void test_deadlines(struct vidjobs *j)
{
    static int fail = -EBADMSG;
    struct request r[2] = {0};
    struct vidjobs_stats st;
    struct vidjob_result res;
    struct vidjob_spec spec = {run, release, &fail};

    open_gate(false);
    ok(vidjob_wait(j, "k2", 2, in_s(0.05), wake, &r[0], &spec, &res) == VIDJOB_WAITING,
       "a request waits 50 ms");
    ok(vidjob_wait(j, "k2", 2, in_s(60), wake, &r[1], &spec, &res) == VIDJOB_WAITING,
       "another one 60 s");
    ok(all_woken(r, 1) && r[0].state == VIDJOB_PENDING, "the first is woken at its deadline");
    ok(atomic_load(&r[1].woken) == 0, "  the other still waits");
    ok(vidjob_wait(j, "k2", 2, in_s(-1), wake, &r[0], &spec, &res) == VIDJOB_PENDING,
       "a request whose deadline passed is pending at once");
    open_gate(true);
    ok(all_woken(&r[1], 1) && r[1].state == VIDJOB_DONE, "the job carried on; the second is done");
    ok(vidjob_result(j, "k2", 2, &res) && res.rc == -EBADMSG, "a failure is known too: %s",
       res.msg);
    vidjobs_get_stats(j, &st);
    ok(st.failed == 1 && st.done == 1, "  counted failed (the first job done)");
    ok(r[0].woken == 1, "the first was woken once only");
}

static void test_queue_and_stop(void)
{
    static int zero = 0;
    struct vidjobs *j = vidjobs_new(1, 1, NULL);
    struct request r[3] = {0};
    struct vidjob_result res;
    struct vidjob_spec spec = {run, release, &zero};

    open_gate(false);
    atomic_store(&cancelled, 0);
    ok(vidjob_wait(j, "a", 1, in_s(60), wake, &r[0], &spec, &res) == VIDJOB_WAITING, "a job");
    while (atomic_load(&runs) < 3) /* "a" is running: the queue is empty again */
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    ok(vidjob_wait(j, "b", 1, in_s(60), wake, &r[1], &spec, &res) == VIDJOB_WAITING,
       "a second, queued");
    ok(vidjob_wait(j, "c", 1, in_s(60), wake, &r[2], &spec, &res) == -EBUSY,
       "a third: the queue is full");
    vidjobs_stop(j);
    ok(all_woken(r, 2) && r[0].state == VIDJOB_PENDING && r[1].state == VIDJOB_PENDING,
       "stopping wakes every request as not ready");
    ok(vidjob_wait(j, "d", 1, in_s(60), wake, &r[2], &spec, &res) == -ESHUTDOWN,
       "no new request once stopping");
    vidjobs_free(j);
    ok(atomic_load(&cancelled) == 2, "both jobs saw their cancel flag");
}

int main(void)
{
    struct vidjobs *j = vidjobs_new(2, 4, NULL);

    ok(j != NULL, "started");
    test_single_flight(j);
    test_deadlines(j);
    vidjobs_free(j);
    test_queue_and_stop();
    return check_done();
}
