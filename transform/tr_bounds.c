/* transform/tr_bounds.c: tr_bounds.h. Memory is counted from sizes; the deadline and the
 * cancel flag are read here, for tr_apply.c's libvips callback and tr_jpeg.c's libjpeg
 * progress monitor alike; a helper thread carries a library call that cannot be stopped. */
#include "tr_bounds.h"
#include "clock.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* Rows of an image a streaming libvips 8.14 pipeline holds at once: its sinks compute strips
 * of up to about 300 rows, double-buffered (measured: a 16000-wide JPEG encode held 14.7 MB
 * of 8-bit RGB strips). */
#define STRIP_ROWS 384

/* How often a caller waiting on a helper looks at the cancel flag. */
#define POLL_NS 20000000

void tr_bounds_init(struct tr_bounds *b, const struct tr_request *rq)
{
    b->max_mem = rq->max_mem;
    b->used = 0;
    b->deadline_ns = rq->deadline_ns;
    b->cancel = rq->cancel;
    atomic_init(&b->stop, 0);
}

bool tr_bounds_watched(const struct tr_bounds *b)
{
    return b->deadline_ns || b->cancel;
}

static unsigned long long mb(uint64_t bytes)
{
    return (unsigned long long)((bytes + (1 << 20) - 1) >> 20);
}

int tr_bounds_room(const struct tr_bounds *b, uint64_t bytes, const char *what,
                   char err[TR_ERR_LEN])
{
    if (b->max_mem == 0 || (bytes <= b->max_mem && b->used <= b->max_mem - bytes))
        return 0;
    snprintf(err, TR_ERR_LEN, "the transform needs more than its %llu MB of memory (%s: %llu MB)",
             mb(b->max_mem), what, mb(bytes));
    return -E2BIG;
}

int tr_bounds_charge(struct tr_bounds *b, uint64_t bytes, const char *what, char err[TR_ERR_LEN])
{
    int rc = tr_bounds_room(b, bytes, what, err);

    if (rc == 0)
        b->used += bytes;
    return rc;
}

int tr_bounds_expired(struct tr_bounds *b)
{
    int stop = atomic_load(&b->stop), zero = 0;

    if (stop)
        return stop;
    if (b->cancel && atomic_load(b->cancel))
        stop = -ECANCELED;
    else if (b->deadline_ns && clock_now_ns() >= b->deadline_ns)
        stop = -ETIMEDOUT;
    if (stop && !atomic_compare_exchange_strong(&b->stop, &zero, stop))
        stop = zero; /* another thread saw the other one first */
    return stop;
}

int tr_bounds_check(struct tr_bounds *b, char err[TR_ERR_LEN])
{
    int rc = tr_bounds_expired(b);

    if (rc == -ETIMEDOUT)
        snprintf(err, TR_ERR_LEN, "the transform did not finish before its deadline");
    else if (rc == -ECANCELED)
        snprintf(err, TR_ERR_LEN, "the transform was cancelled");
    return rc;
}

uint64_t tr_bounds_strip(int width, int bands, int sample_bytes)
{
    return (uint64_t)width * (uint64_t)bands * (uint64_t)sample_bytes * STRIP_ROWS;
}

/* Bytes per pixel, measured with libvips 8.14's savers on 4 MP of noise (the worst case for
 * every encoder) and rounded up: JPEG Q 80 2.5 (Q 95, no chroma subsampling: 5.5), palette
 * PNG 22, GIF 20, WebP 13 (lossless 32), AVIF at effort 2 23 (lossless 25). */
uint64_t tr_bounds_encoder(const struct tr_output *out, enum tr_format f, int w, int h, int bands,
                           int frames)
{
    uint64_t px = (uint64_t)w * (uint64_t)h * (uint64_t)frames, per;

    switch (f) {
    case TR_FMT_JPEG: /* the coefficients, 2 bytes each; chroma at a quarter below Q 90 */
        per = bands < 3 ? 2 : out->quality < 90 ? 3 : 6;
        break;
    case TR_FMT_PNG:
        per = out->lossless ? 0 : 24;
        break;
    case TR_FMT_WEBP:
        per = out->lossless ? 36 : 16;
        break;
    case TR_FMT_AVIF:
        per = 28;
        break;
    default:
        per = 24;
        break;
    }
    return px * per;
}

bool tr_bounds_unstoppable(const struct tr_output *out, enum tr_format f)
{
    switch (f) {
    case TR_FMT_JPEG:
        return out->progressive;
    case TR_FMT_PNG:
        return !out->lossless;
    default:
        return true;
    }
}

/* ---- Helpers left running -------------------------------------------------------------- */

/* Process-wide, as the threads are: how many helpers run on after their caller returned. */
static struct {
    pthread_mutex_t lock; /* guards n */
    pthread_cond_t none;  /* n came to 0 */
    int n;
} left = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};

struct job {
    pthread_mutex_t lock; /* guards done, left */
    pthread_cond_t cond;  /* done was set */
    bool done, left;
    tr_bounds_fn run, release;
    void (*thread_exit)(void);
    void *arg;
};

/* Whether one more helper may be left running; counts it if so. */
static bool may_leave(void)
{
    bool ok;

    pthread_mutex_lock(&left.lock);
    ok = left.n < TR_BOUNDS_MAX_LEFT;
    left.n += ok;
    pthread_mutex_unlock(&left.lock);
    return ok;
}

static void job_free(struct job *j)
{
    pthread_cond_destroy(&j->cond);
    pthread_mutex_destroy(&j->lock);
    free(j);
}

/* A helper that finished after its caller left releases what the call held itself. */
static void *helper(void *p)
{
    struct job *j = p;
    void (*thread_exit)(void) = j->thread_exit;
    bool on_its_own;

    j->run(j->arg);
    pthread_mutex_lock(&j->lock);
    j->done = true;
    on_its_own = j->left;
    pthread_cond_signal(&j->cond);
    pthread_mutex_unlock(&j->lock);
    if (on_its_own) {
        j->release(j->arg);
        job_free(j);
        pthread_mutex_lock(&left.lock);
        if (--left.n == 0)
            pthread_cond_broadcast(&left.none);
        pthread_mutex_unlock(&left.lock);
    }
    thread_exit();
    return NULL;
}

static struct job *job_new(tr_bounds_fn run, tr_bounds_fn release, void (*thread_exit)(void),
                           void *arg)
{
    struct job *j = calloc(1, sizeof(*j));
    pthread_condattr_t attr;

    if (!j)
        return NULL;
    *j = (struct job){.run = run, .release = release, .thread_exit = thread_exit, .arg = arg};
    pthread_mutex_init(&j->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&j->cond, &attr);
    pthread_condattr_destroy(&attr);
    return j;
}

/* Wait for j until it is done (0) or b expires and j may be left running (its -errno). */
static int wait_job(struct tr_bounds *b, struct job *j)
{
    int rc = 0;

    pthread_mutex_lock(&j->lock);
    while (!j->done && rc == 0) {
        uint64_t t = clock_now_ns() + POLL_NS;
        struct timespec until = {(time_t)(t / 1000000000u), (long)(t % 1000000000u)};

        pthread_cond_timedwait(&j->cond, &j->lock, &until);
        if (!j->done && tr_bounds_expired(b) && may_leave()) {
            j->left = true;
            rc = tr_bounds_expired(b);
        }
    }
    pthread_mutex_unlock(&j->lock);
    return rc;
}

int tr_bounds_run(struct tr_bounds *b, tr_bounds_fn run, tr_bounds_fn release,
                  void (*thread_exit)(void), void *arg, char err[TR_ERR_LEN])
{
    struct job *j = job_new(run, release, thread_exit, arg);
    pthread_t tid;
    int rc;

    if (!j || pthread_create(&tid, NULL, helper, j)) {
        if (j)
            job_free(j);
        snprintf(err, TR_ERR_LEN, "cannot start a thread for the encoder");
        return -EAGAIN;
    }
    rc = wait_job(b, j);
    if (rc) {
        pthread_detach(tid);
        return tr_bounds_check(b, err);
    }
    pthread_join(tid, NULL);
    job_free(j);
    return 0;
}

void tr_bounds_drain(void)
{
    pthread_mutex_lock(&left.lock);
    while (left.n > 0)
        pthread_cond_wait(&left.none, &left.lock);
    pthread_mutex_unlock(&left.lock);
}
