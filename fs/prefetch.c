/* fs/prefetch.c: per-file runs of sequential reads, fed by streams (see prefetch.h).
 *
 * A run is a stretch of a file being read in order; [base, end) is what its streams fetch or
 * fetched. A stream is one ranged GET whose bytes land in chunks as they arrive, and a read
 * waits for the bytes it needs, not for whole chunks. A stream runs on a pool worker; it
 * waits (flow control) while it is ahead() past the furthest read of its run, or while the
 * memory budget is spent, and ends cleanly when that lasts. Chunks carry the run they belong
 * to (gen): those of an earlier run are dropped as soon as nobody uses them.
 *
 * Lock order: a file's lock, then the pool's. Streams hold neither while copying bytes or
 * waiting for the network. */
#include "prefetch.h"

#include "blob.h"
#include "clock.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MIB (1024 * 1024)
#define FIRST_CHUNK (MIB + 128 * 1024) /* the kernel reads 128 KiB past a 1 MiB read */
#define CHUNK (4 * MIB)                /* a stream's bytes land in chunks of this size */
/* A stream may run this far past the furthest read of its run: as far as the run has been
 * read, within these bounds, so a short sequential read costs little. */
#define MIN_AHEAD (4 * MIB)
#define MAX_AHEAD (32 * MIB)
#define SLACK (16 * MIB) /* how far past the run a read still belongs to it */
/* Chunks this far behind the furthest read of the run are dropped even if not all read:
 * the kernel's read-ahead sends reads tens of MiB out of order. */
#define BEHIND (64 * MIB)
/* A stream waiting this long for its reader to move on, or 1 s for memory, ends; the next
 * read that needs more starts another where it stopped. */
#define IDLE_S 5
#define BUDGET_WAIT_S 1
#define WAIT_SLICE_MS 200 /* waits are cut into slices to notice prefetch_pool_free() */
/* After a failed read the kernel at once asks again for the same pages (its read-ahead
 * failed, now it reads synchronously): that second try fails at once, so an origin that is
 * down costs one retry budget, not two. */
#define FAILURE_MEMORY_S 1.0
/* Freed chunk buffers kept for reuse, at most this much: a fresh 4 MiB buffer costs 1024 page
 * faults, each zeroing a page, for every chunk of every read. */
#define SPARE_MAX (64 * MIB)

/* Why a sink ends its stream: never an errno blob_stream() returns of its own. */
#define STOP_UNWANTED (-ECANCELED) /* file closed, another run, or the pool stopping */
#define STOP_IDLE (-EAGAIN)        /* the reader or the memory did not come in time */

#define NO_NEED INT64_MAX
#define DIRECT 1 /* serve(): the read is for a GET of its own */

struct chunk {
    struct chunk *next;    /* in the file, by offset */
    struct stream *writer; /* the stream filling it; NULL once complete */
    unsigned gen;          /* the run it belongs to */
    off_t off;
    size_t len;    /* bytes it holds once complete */
    size_t filled; /* bytes present from off */
    size_t delivered;
    char *data; /* cap bytes, from buffer_get() */
    size_t cap;
    unsigned pins; /* spans pointing into data */
};

/* A read waiting for a stream to bring the bytes before until. Whoever wakes it unlinks it. */
struct waiter {
    struct waiter *next;
    off_t until;
    bool linked;
    pthread_cond_t cond;
};

struct stream {
    struct prefetch_file *file;
    struct stream *next;     /* the file's live streams */
    struct stream *next_job; /* the pool's queue */
    off_t pos, end;          /* bytes before pos have arrived; the GET ends at end */
    struct waiter *waiters;
    off_t need;        /* the least until of the waiters */
    struct chunk *cur; /* being filled */
    bool live;         /* one of the file's streams; false: end at once */
    bool counted;      /* counts against the pool's max_streams */
};

struct prefetch_file {
    struct prefetch_pool *pool;
    struct prefetch_file *prev, *next; /* the pool's open files */
    char *name;
    char etag[BLOB_ETAG_MAX];
    off_t size;
    pthread_mutex_t lock; /* guards everything below and the fields of its chunks, streams
                             and waiters */
    pthread_cond_t room;  /* the furthest read moved on or a stream is unwanted */
    struct chunk *chunks;
    struct stream *streams; /* live streams of the current run */
    unsigned gen;           /* the current run */
    bool running;           /* a run is under way: [base, end) */
    bool probing;           /* it began with a small first GET, not a stream for the rest */
    off_t base, end;
    off_t furthest; /* end of the furthest read of the run */
    off_t last_end; /* where the previous read ended; -1 before the first */
    int stale;      /* -ESTALE once the blob has changed */
    int failed;     /* the error of the last failed fetch, until failed_at + FAILURE_MEMORY_S */
    double failed_at;
    unsigned refs; /* the opener, one per stream, one per span pinning chunks: the kernel may
                      release a file as soon as the last reply is written, before the span
                      of that reply is released */
    bool closed;
};

struct prefetch_pool {
    struct blob_client *blob;
    size_t budget;
    pthread_mutex_t lock; /* guards used, spares, spare_bytes, the queue, files, nstreams,
                             waiting; stopping is also read atomically without it */
    pthread_cond_t work;  /* a stream was queued, or stopping */
    pthread_cond_t freed; /* budget came back */
    size_t used;          /* bytes of chunk buffers in use */
    struct spare *spares; /* buffers kept for reuse */
    size_t spare_bytes;
    struct stream *qhead, *qtail;
    struct prefetch_file *files;
    unsigned nstreams, max_streams; /* counted streams queued or running, and their cap */
    unsigned waiting;               /* streams waiting for budget */
    bool stopping;
    pthread_t *threads;
    unsigned nthreads;
};

static bool is_past(const struct timespec *t)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > t->tv_sec || (now.tv_sec == t->tv_sec && now.tv_nsec >= t->tv_nsec);
}

/* The sooner of a deadline and one slice from now. */
static struct timespec slice_until(const struct timespec *deadline)
{
    struct timespec slice = clock_deadline_ms(WAIT_SLICE_MS);

    if (slice.tv_sec > deadline->tv_sec ||
        (slice.tv_sec == deadline->tv_sec && slice.tv_nsec > deadline->tv_nsec))
        return *deadline;
    return slice;
}

static void cond_init_monotonic(pthread_cond_t *c)
{
    pthread_condattr_t a;

    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(c, &a);
    pthread_condattr_destroy(&a);
}

static off_t min_off(off_t a, off_t b)
{
    return a < b ? a : b;
}

/* Remember a failed fetch (the file's lock is held). */
static void note_failure(struct prefetch_file *f, int err)
{
    if (err == -ESTALE) {
        f->stale = -ESTALE;
    } else {
        f->failed = err;
        f->failed_at = clock_now_s();
    }
}

/* The error every read of the file gets for now, or 0. */
static int file_error(const struct prefetch_file *f)
{
    if (f->stale)
        return f->stale;
    if (f->failed && clock_now_s() - f->failed_at < FAILURE_MEMORY_S)
        return f->failed;
    return 0;
}

/* A spare buffer: its first bytes link it and say how big it is. */
struct spare {
    struct spare *next;
    size_t cap;
};

/* Chunk buffers come in whole MiB, so a buffer fits later chunks of its size class. */
static size_t capacity(size_t len)
{
    return (len + MIB - 1) / MIB * MIB;
}

static char *take_spare(struct prefetch_pool *p, size_t cap)
{
    for (struct spare **s = &p->spares; *s; s = &(*s)->next) {
        if ((*s)->cap == cap) {
            char *buf = (char *)*s;
            *s = (*s)->next;
            p->spare_bytes -= cap;
            return buf;
        }
    }
    return NULL;
}

/* A buffer of cap bytes counted in the budget, a spare one when there is. When the budget is
 * spent and a deadline is given, waits for it once, at most until then. Returns 0, -EAGAIN
 * (the budget is spent) or -ENOMEM. */
static int buffer_get(struct prefetch_pool *p, size_t cap, const struct timespec *until, char **out)
{
    pthread_mutex_lock(&p->lock);
    if (p->used + cap > p->budget && until) {
        p->waiting++;
        pthread_cond_timedwait(&p->freed, &p->lock, until);
        p->waiting--;
    }
    bool ok = p->used + cap <= p->budget;
    if (ok)
        p->used += cap;
    *out = ok ? take_spare(p, cap) : NULL;
    pthread_mutex_unlock(&p->lock);
    if (!ok)
        return -EAGAIN;
    if (!*out)
        *out = malloc(cap);
    if (*out)
        return 0;
    pthread_mutex_lock(&p->lock);
    p->used -= cap;
    pthread_mutex_unlock(&p->lock);
    return -ENOMEM;
}

static void buffer_put(struct prefetch_pool *p, char *buf, size_t cap)
{
    pthread_mutex_lock(&p->lock);
    p->used -= cap;
    bool keep = p->spare_bytes + cap <= SPARE_MAX;
    if (keep) {
        struct spare *s = (struct spare *)(void *)buf;
        s->next = p->spares;
        s->cap = cap;
        p->spares = s;
        p->spare_bytes += cap;
    }
    if (p->waiting)
        pthread_cond_broadcast(&p->freed);
    pthread_mutex_unlock(&p->lock);
    if (!keep)
        free(buf);
}

static void chunk_free(struct prefetch_file *f, struct chunk *ch)
{
    struct chunk **link = &f->chunks;

    while (*link && *link != ch)
        link = &(*link)->next;
    if (*link)
        *link = ch->next;
    buffer_put(f->pool, ch->data, ch->cap);
    free(ch);
}

/* Whether nobody will read the chunk again (it is neither pinned nor being filled). */
static bool chunk_is_done(const struct prefetch_file *f, const struct chunk *ch)
{
    return !ch->pins && !ch->writer &&
           (f->closed || ch->gen != f->gen || ch->filled == 0 || ch->delivered >= ch->len);
}

static void file_free(struct prefetch_file *f)
{
    struct prefetch_pool *p = f->pool;

    while (f->chunks)
        chunk_free(f, f->chunks);
    pthread_mutex_lock(&p->lock);
    if (f->prev)
        f->prev->next = f->next;
    else
        p->files = f->next;
    if (f->next)
        f->next->prev = f->prev;
    pthread_mutex_unlock(&p->lock);
    pthread_cond_destroy(&f->room);
    pthread_mutex_destroy(&f->lock);
    free(f->name);
    free(f);
}

/* Drop one reference to f (its lock held) and unlock it; the last one frees f. */
static void file_put_unlock(struct prefetch_file *f)
{
    bool last = --f->refs == 0;

    pthread_mutex_unlock(&f->lock);
    if (last)
        file_free(f);
}

/* How far a stream may run: as far past the furthest read as the run has been read. */
static off_t ahead(const struct prefetch_file *f)
{
    off_t read = f->furthest - f->base;

    return read < MIN_AHEAD ? MIN_AHEAD : read > MAX_AHEAD ? MAX_AHEAD : read;
}

static bool is_wanted(const struct stream *s)
{
    return s->live && !__atomic_load_n(&s->file->pool->stopping, __ATOMIC_ACQUIRE);
}

static bool must_wait(const struct prefetch_file *f, const struct stream *s)
{
    return is_wanted(s) && s->pos >= f->furthest + ahead(f);
}

/* Flow control (the file's lock held): wait while the stream is too far ahead of the reads,
 * at most IDLE_S. Returns 0, STOP_IDLE or STOP_UNWANTED. */
static int wait_for_reader(struct prefetch_file *f, struct stream *s)
{
    struct timespec deadline = clock_deadline_ms(IDLE_S * 1000L);

    while (must_wait(f, s) && !is_past(&deadline)) {
        struct timespec until = slice_until(&deadline);
        pthread_cond_timedwait(&f->room, &f->lock, &until);
    }
    if (!is_wanted(s))
        return STOP_UNWANTED;
    return must_wait(f, s) ? STOP_IDLE : 0;
}

static void chunk_link(struct prefetch_file *f, struct chunk *ch)
{
    struct chunk **link = &f->chunks;

    while (*link && (*link)->off <= ch->off)
        link = &(*link)->next;
    ch->next = *link;
    *link = ch;
}

/* Give the stream a chunk to fill at its position (the file's lock held, dropped while
 * waiting for the budget, at most BUDGET_WAIT_S). Returns 0, STOP_IDLE or STOP_UNWANTED. */
static int new_chunk(struct prefetch_file *f, struct stream *s)
{
    size_t len = (size_t)min_off(CHUNK, s->end - s->pos), cap = capacity(len);
    struct timespec deadline = clock_deadline_ms(BUDGET_WAIT_S * 1000L);
    char *data;

    int err = buffer_get(f->pool, cap, NULL, &data);
    while (err == -EAGAIN && is_wanted(s) && !is_past(&deadline)) {
        struct timespec until = slice_until(&deadline);
        pthread_mutex_unlock(&f->lock);
        err = buffer_get(f->pool, cap, &until, &data);
        pthread_mutex_lock(&f->lock);
    }
    struct chunk *ch = err ? NULL : calloc(1, sizeof(*ch));
    if (!ch || !is_wanted(s)) {
        if (!err)
            buffer_put(f->pool, data, cap);
        free(ch);
        return is_wanted(s) ? STOP_IDLE : STOP_UNWANTED;
    }
    *ch = (struct chunk){
        .writer = s, .gen = f->gen, .off = s->pos, .len = len, .data = data, .cap = cap};
    chunk_link(f, ch);
    s->cur = ch;
    return 0;
}

/* Wake the reads waiting for the stream that now have their bytes, or all of them. */
static void wake(struct stream *s, bool all)
{
    off_t need = NO_NEED;

    for (struct waiter **link = &s->waiters; *link;) {
        struct waiter *w = *link;
        if (all || w->until <= s->pos) {
            *link = w->next;
            w->linked = false;
            pthread_cond_signal(&w->cond);
        } else {
            need = min_off(need, w->until);
            link = &w->next;
        }
    }
    s->need = need;
}

/* Copy what fits of data into the stream's chunk, outside the lock: the chunk is the
 * stream's until complete, and readers only look below filled. Returns the bytes taken. */
static size_t fill(struct prefetch_file *f, struct stream *s, const char *data, size_t len)
{
    struct chunk *ch = s->cur;
    size_t n = ch->len - ch->filled < len ? ch->len - ch->filled : len;
    char *dst = ch->data + ch->filled;

    pthread_mutex_unlock(&f->lock);
    memcpy(dst, data, n);
    pthread_mutex_lock(&f->lock);
    ch->filled += n;
    s->pos += (off_t)n;
    if (ch->filled == ch->len) {
        ch->writer = NULL;
        s->cur = NULL;
    }
    if (s->pos >= s->need)
        wake(s, false);
    return n;
}

/* The blob_sink_fn of streams: bytes into chunks, as the reader and the budget allow. */
static int sink(void *arg, const char *data, size_t len)
{
    struct stream *s = arg;
    struct prefetch_file *f = s->file;

    pthread_mutex_lock(&f->lock);
    int ret = is_wanted(s) ? 0 : STOP_UNWANTED;
    while (!ret && len > 0) {
        ret = wait_for_reader(f, s);
        if (!ret && !s->cur)
            ret = new_chunk(f, s);
        if (!ret) {
            size_t n = fill(f, s, data, len);
            data += n;
            len -= n;
        }
    }
    pthread_mutex_unlock(&f->lock);
    return ret;
}

static void stream_unlink(struct prefetch_file *f, struct stream *s)
{
    struct stream **link = &f->streams;

    while (*link && *link != s)
        link = &(*link)->next;
    if (*link)
        *link = s->next;
    s->live = false;
}

/* End the run: its streams stop, its chunks are dropped once unused. */
static void run_end(struct prefetch_file *f)
{
    struct prefetch_pool *p = f->pool;

    for (struct stream *s = f->streams; s; s = s->next) {
        s->live = false;
        wake(s, true);
    }
    f->streams = NULL;
    f->running = false;
    f->gen++;
    pthread_cond_broadcast(&f->room);
    pthread_mutex_lock(&p->lock);
    pthread_cond_broadcast(&p->freed);
    pthread_mutex_unlock(&p->lock);
}

/* A stream is over (the file's lock held): complete its chunk with what it got; a stream
 * that waited too long leaves the run where it stopped; a failure ends the run. */
static void stream_end(struct prefetch_file *f, struct stream *s, int ret)
{
    struct chunk *ch = s->cur;

    if (ch) {
        ch->writer = NULL;
        ch->len = ch->filled;
        if (chunk_is_done(f, ch))
            chunk_free(f, ch);
    }
    if (s->live) {
        stream_unlink(f, s);
        if (ret == STOP_IDLE && s->end == f->end) {
            f->end = s->pos;
        } else if (ret) {
            if (ret != STOP_IDLE)
                note_failure(f, ret);
            run_end(f);
        }
    }
    wake(s, true);
}

static void run_stream(struct prefetch_pool *p, struct stream *s)
{
    struct prefetch_file *f = s->file;

    pthread_mutex_lock(&f->lock);
    bool wanted = is_wanted(s);
    off_t off = s->pos;
    size_t len = (size_t)(s->end - s->pos);
    pthread_mutex_unlock(&f->lock);
    int ret = wanted ? blob_stream(p->blob, f->name, f->etag, off, len, sink, s) : STOP_UNWANTED;
    pthread_mutex_lock(&f->lock);
    stream_end(f, s, ret);
    file_put_unlock(f);
    if (s->counted) {
        pthread_mutex_lock(&p->lock);
        p->nstreams--;
        pthread_mutex_unlock(&p->lock);
    }
    free(s);
}

static struct stream *next_job(struct prefetch_pool *p)
{
    pthread_mutex_lock(&p->lock);
    while (!p->qhead && !p->stopping)
        pthread_cond_wait(&p->work, &p->lock);
    struct stream *s = p->qhead;
    if (s) {
        p->qhead = s->next_job;
        if (!p->qhead)
            p->qtail = NULL;
    }
    pthread_mutex_unlock(&p->lock);
    return s;
}

static void *worker(void *arg)
{
    struct prefetch_pool *p = arg;

    for (;;) {
        struct stream *s = next_job(p);
        if (!s)
            return NULL;
        run_stream(p, s);
    }
}

/* Start a stream of len bytes at the end of the run (the file's lock held). A counted one
 * (for the rest of a blob) only while fewer than max_streams run. */
static bool stream_start(struct prefetch_file *f, off_t len, bool counted)
{
    struct prefetch_pool *p = f->pool;
    struct stream *s = calloc(1, sizeof(*s));

    if (!s)
        return false;
    *s = (struct stream){.file = f,
                         .pos = f->end,
                         .end = f->end + len,
                         .need = NO_NEED,
                         .live = true,
                         .counted = counted};
    pthread_mutex_lock(&p->lock);
    bool ok = p->nthreads > 0 && !p->stopping && (!counted || p->nstreams < p->max_streams);
    if (ok) {
        p->nstreams += counted;
        if (p->qtail)
            p->qtail->next_job = s;
        else
            p->qhead = s;
        p->qtail = s;
        pthread_cond_signal(&p->work);
    }
    pthread_mutex_unlock(&p->lock);
    if (!ok) {
        free(s);
        return false;
    }
    s->next = f->streams;
    f->streams = s;
    f->refs++;
    f->end += len;
    return true;
}

size_t prefetch_pool_bytes(struct prefetch_pool *p)
{
    pthread_mutex_lock(&p->lock);
    size_t n = p->used + p->spare_bytes;
    pthread_mutex_unlock(&p->lock);
    return n;
}

struct prefetch_pool *prefetch_pool_new(struct blob_client *blob, size_t budget, unsigned workers)
{
    struct prefetch_pool *p = calloc(1, sizeof(*p));

    if (!p)
        return NULL;
    p->blob = blob;
    p->budget = budget;
    size_t fit = budget / (MAX_AHEAD + 2 * CHUNK);
    p->max_streams = workers > 2 ? workers - 2 : 1;
    if (fit < p->max_streams)
        p->max_streams = fit ? (unsigned)fit : 1;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->work, NULL);
    cond_init_monotonic(&p->freed);
    p->threads = calloc(workers ? workers : 1, sizeof(*p->threads));
    if (!p->threads) {
        prefetch_pool_free(p);
        return NULL;
    }
    for (; budget && p->nthreads < workers; p->nthreads++) {
        if (pthread_create(&p->threads[p->nthreads], NULL, worker, p) != 0)
            break;
    }
    return p;
}

void prefetch_pool_free(struct prefetch_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    __atomic_store_n(&p->stopping, true, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&p->work);
    pthread_cond_broadcast(&p->freed);
    pthread_mutex_unlock(&p->lock);
    for (unsigned i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    while (p->files)
        file_free(p->files);
    while (p->spares) {
        struct spare *s = p->spares;
        p->spares = s->next;
        free(s);
    }
    pthread_cond_destroy(&p->freed);
    pthread_cond_destroy(&p->work);
    pthread_mutex_destroy(&p->lock);
    free(p->threads);
    free(p);
}

struct prefetch_file *prefetch_open(struct prefetch_pool *p, const char *name, const char *etag,
                                    off_t size)
{
    struct prefetch_file *f = calloc(1, sizeof(*f));

    if (!f)
        return NULL;
    f->name = strdup(name);
    if (!f->name) {
        free(f);
        return NULL;
    }
    f->pool = p;
    f->size = size;
    f->refs = 1;
    f->last_end = -1;
    memcpy(f->etag, etag, sizeof(f->etag));
    pthread_mutex_init(&f->lock, NULL);
    cond_init_monotonic(&f->room);
    pthread_mutex_lock(&p->lock);
    f->next = p->files;
    if (p->files)
        p->files->prev = f;
    p->files = f;
    pthread_mutex_unlock(&p->lock);
    return f;
}

void prefetch_close(struct prefetch_file *f)
{
    if (!f)
        return;
    pthread_mutex_lock(&f->lock);
    f->closed = true;
    run_end(f);
    for (struct chunk *ch = f->chunks, *next; ch; ch = next) {
        next = ch->next;
        if (chunk_is_done(f, ch))
            chunk_free(f, ch);
    }
    file_put_unlock(f);
}

/* Drop chunks nobody will read: consumed, of an earlier run, or far behind the run. */
static void reclaim(struct prefetch_file *f)
{
    for (struct chunk *ch = f->chunks, *next; ch; ch = next) {
        next = ch->next;
        if (chunk_is_done(f, ch) ||
            (!ch->pins && !ch->writer && ch->off + (off_t)ch->len + BEHIND <= f->furthest))
            chunk_free(f, ch);
    }
}

static struct chunk *chunk_at(const struct prefetch_file *f, off_t pos)
{
    for (struct chunk *ch = f->chunks; ch; ch = ch->next) {
        if (ch->gen == f->gen && ch->off <= pos && pos < ch->off + (off_t)ch->len)
            return ch;
    }
    return NULL;
}

/* The live stream that will bring the byte at pos, if any. */
static struct stream *stream_at(const struct prefetch_file *f, off_t pos)
{
    for (struct stream *s = f->streams; s; s = s->next) {
        if (s->pos <= pos && pos < s->end)
            return s;
    }
    return NULL;
}

/* How far the run reaches: as far as its last stream may go (or went). */
static off_t frontier(const struct prefetch_file *f)
{
    off_t front = f->end;

    for (const struct stream *s = f->streams; s; s = s->next) {
        if (s->end == f->end)
            front = s->pos;
    }
    return front > f->furthest + ahead(f) ? front : f->furthest + ahead(f);
}

/* Begin a run at base; a probe run starts with a small GET, another with a stream at once. */
static void run_begin(struct prefetch_file *f, off_t base, bool probe)
{
    run_end(f);
    f->running = true;
    f->probing = probe;
    f->base = f->end = f->furthest = base;
}

/* Whether a read at off belongs to the run, beginning one when the reader just moved on
 * from where it stopped (it reads in order: a stream at once), or when a first read lands
 * near the start (a probe from 0). */
static bool in_run(struct prefetch_file *f, off_t off)
{
    if (f->running && off >= f->base && off <= frontier(f) + SLACK)
        return true;
    bool follows = off == f->last_end;
    if (!follows && (f->running || off >= FIRST_CHUNK))
        return false;
    run_begin(f, follows ? off : 0, !follows);
    return true;
}

/* The first GET of a probe run: 1.125 MiB, or the whole rest of a small blob. */
static off_t probe_len(const struct prefetch_file *f)
{
    off_t rest = f->size - f->base;

    return rest <= 2 * FIRST_CHUNK ? rest : FIRST_CHUNK;
}

/* Start what the run needs for a read of it: the probe, then, from the next read on (or at
 * once when the read goes past the probe), one stream for the rest of the blob, restarted
 * after it stopped once the reader is near where it did. */
static void schedule(struct prefetch_file *f, off_t off, size_t len)
{
    bool first = f->end == f->base;

    if (first && f->probing)
        stream_start(f, probe_len(f), false);
    bool more = !first || !f->probing || f->end < off + (off_t)len;
    if (more && f->end < f->size && f->end < f->furthest + ahead(f))
        stream_start(f, f->size - f->end, true);
}

/* Place a read at off (the file's lock held). Returns false when it is no run's. */
static bool plan(struct prefetch_file *f, off_t off, size_t len)
{
    bool in = in_run(f, off);

    f->last_end = off + (off_t)len;
    if (!in)
        return false;
    if (f->furthest < off + (off_t)len) {
        f->furthest = off + (off_t)len;
        pthread_cond_broadcast(&f->room);
    }
    reclaim(f);
    schedule(f, off, len);
    return true;
}

enum avail { READY, WAIT, MISSING };

/* Whether the chunks hold [off, end): READY; WAIT for *s to reach *until; MISSING when no
 * chunk holds a part and no stream will bring it, or the read spans too many chunks. */
static enum avail lookup(const struct prefetch_file *f, off_t off, off_t end, struct stream **s,
                         off_t *until)
{
    off_t pos = off;

    for (int i = 0; pos < end; i++) {
        struct chunk *ch = chunk_at(f, pos);
        struct stream *w = ch ? ch->writer : stream_at(f, pos);
        if (i == PREFETCH_MAX_IOV || (!ch && !w))
            return MISSING;
        off_t stop = ch ? min_off(end, ch->off + (off_t)ch->len) : min_off(end, w->end);
        if (w && (!ch || ch->off + (off_t)ch->filled < stop)) {
            *s = w;
            *until = stop;
            return WAIT;
        }
        pos = ch->off + (off_t)ch->len;
    }
    return READY;
}

/* Pin the chunks holding [off, end), all present, and point the span into them. */
static void take(struct prefetch_file *f, off_t off, off_t end, struct prefetch_span *out)
{
    for (off_t pos = off; pos < end;) {
        struct chunk *ch = chunk_at(f, pos);
        assert(ch); /* the caller's scan found every chunk present */
        size_t from = (size_t)(pos - ch->off);
        size_t n = (size_t)(min_off(end, ch->off + (off_t)ch->len) - pos);
        ch->pins++;
        ch->delivered += n;
        out->pin[out->npin++] = ch;
        out->iov[out->niov++] = (struct iovec){.iov_base = ch->data + from, .iov_len = n};
        pos += (off_t)n;
    }
    f->refs++; /* dropped by prefetch_span_release() */
}

/* Wait until stream s has brought the bytes before until, or ended (the file's lock held).
 * The stream may be gone on return. */
static void wait_for(struct prefetch_file *f, struct stream *s, off_t until)
{
    struct waiter w = {.next = s->waiters, .until = until, .linked = true};

    pthread_cond_init(&w.cond, NULL);
    s->waiters = &w;
    s->need = min_off(s->need, until);
    while (w.linked)
        pthread_cond_wait(&w.cond, &f->lock);
    pthread_cond_destroy(&w.cond);
}

/* Wait until the run's chunks hold the read, then take it. Returns 0, DIRECT or -errno. */
static int serve(struct prefetch_file *f, off_t off, size_t len, struct prefetch_span *out)
{
    off_t end = off + (off_t)len;

    for (;;) {
        int err = file_error(f);
        if (err)
            return err;
        struct stream *s;
        off_t until;
        enum avail a = lookup(f, off, end, &s, &until);
        if (a == MISSING)
            return DIRECT;
        if (a == READY) {
            take(f, off, end, out);
            return 0;
        }
        wait_for(f, s, until);
    }
}

static ssize_t read_direct(struct prefetch_file *f, off_t off, size_t len, struct prefetch_span *s)
{
    s->own = malloc(len);
    if (!s->own)
        return -ENOMEM;
    ssize_t n = blob_read(f->pool->blob, f->name, f->etag, s->own, len, off);
    if (n >= 0 && (size_t)n != len)
        n = -EIO; /* the blob is not the size it was listed with */
    if (n < 0) {
        pthread_mutex_lock(&f->lock);
        note_failure(f, (int)n);
        pthread_mutex_unlock(&f->lock);
        return n;
    }
    s->iov[0] = (struct iovec){.iov_base = s->own, .iov_len = len};
    s->niov = 1;
    return n;
}

ssize_t prefetch_read(struct prefetch_file *f, off_t off, size_t len, struct prefetch_span *out)
{
    memset(out, 0, sizeof(*out));
    out->file = f;
    if (off >= f->size || len == 0)
        return 0;
    if ((off_t)len > f->size - off)
        len = (size_t)(f->size - off);
    pthread_mutex_lock(&f->lock);
    int ret = file_error(f);
    if (!ret)
        ret = plan(f, off, len) ? serve(f, off, len, out) : DIRECT;
    pthread_mutex_unlock(&f->lock);
    if (ret == DIRECT)
        return read_direct(f, off, len, out);
    return ret < 0 ? ret : (ssize_t)len;
}

void prefetch_span_release(struct prefetch_span *s)
{
    struct prefetch_file *f = s->file;

    if (f && s->npin) {
        pthread_mutex_lock(&f->lock);
        for (size_t i = 0; i < s->npin; i++) {
            struct chunk *ch = s->pin[i];
            ch->pins--;
            if (chunk_is_done(f, ch))
                chunk_free(f, ch);
        }
        file_put_unlock(f);
    }
    free(s->own);
    memset(s, 0, sizeof(*s));
}
