/* Unit test of httpd/pool: jobs run on workers, a full queue says -EBUSY at once, stopping
 * runs what was queued and refuses the rest, thread_exit runs in every worker. */
#include "check.h"
#include "pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>

static atomic_int done, exits;
static pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;

static void job(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&gate); /* held by the test to keep workers busy */
    pthread_mutex_unlock(&gate);
    atomic_fetch_add(&done, 1);
}

static void on_exit_worker(void)
{
    atomic_fetch_add(&exits, 1);
}

int main(void)
{
    struct pool *p = pool_new(2, 3, on_exit_worker);
    size_t queued, running;
    int accepted = 0, busy = 0;

    ok(p != NULL, "pool of 2 workers, queue of 3");
    pthread_mutex_lock(&gate);
    for (int i = 0; i < 10; i++) {
        int rc = pool_submit(p, job, NULL);
        accepted += rc == 0;
        busy += rc == -EBUSY;
    }
    ok(accepted >= 3 && accepted <= 5, "%d jobs accepted (2 running + 3 queued at most)", accepted);
    ok(busy == 10 - accepted, "the rest refused with -EBUSY at once");
    pool_load(p, &queued, &running);
    ok(queued + running == (size_t)accepted, "load: %zu queued, %zu running", queued, running);
    pthread_mutex_unlock(&gate);
    pool_stop(p);
    ok(atomic_load(&done) == accepted, "stopping ran every accepted job (%d)", atomic_load(&done));
    ok(pool_submit(p, job, NULL) == -ESHUTDOWN, "a stopped pool refuses jobs");
    ok(atomic_load(&exits) == 2, "thread_exit ran in both workers");
    pool_free(p);
    pool_free(NULL);
    return check_done();
}
