/* fs/prefetch.c: per-file runs of sequential reads, fed by parallel segments (see
 * prefetch.h).
 *
 * A run is a stretch of a file being read in order; [base, end) is what its streams fetch or
 * fetched. A stream is one ranged GET of a segment of the run, whose memory is reserved in
 * the budget when the segment is queued: a segment without room is not queued, so a stream
 * never waits for memory and the one the reader needs next always has its room. Bytes land
 * in chunks of at most CHUNK as they arrive (buffers of a few sizes, reused while hot), and a
 * read waits for the bytes it needs, not for whole chunks. Chunks carry the run they belong
 * to (gen): those of an earlier run are dropped as soon as nobody uses them.
 *
 * Streams run on pool workers, each on its own connection: a run's first GET (the probe)
 * before any segment, so a first byte never waits behind another file's segments; at most
 * parallel segments at once, and of those queued, the one whose file has the fewest on a
 * worker goes first, so files read at once share them.
 *
 * Lock order: a file's lock, then the pool's. Streams hold neither while copying bytes or
 * waiting for the network. */
#include "prefetch.h"
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
/* How far past the furthest read of a run its segments may reach: GROWTH times what the run
 * has read, EAGER times while its reads wait for bytes (the reader keeps up with the
 * network), at least MIN_WINDOW, at most the file's share of the memory budget; so a short
 * or slow sequential read costs little, and a fast long one gets every connection soon. */
#define GROWTH 4
#define EAGER 16
#define MIN_WINDOW (8 * MIB)
/* A segment: the window over the parallel streams, within these bounds, in whole MiB. */
#define SEGMENT_MIN MIB
#define SEGMENT_MAX (16 * MIB)
/* A link on which one connection brings FAST_RATE (as the runs' first GETs, 1.125 MiB alone,
 * measure it) needs no parallel GETs to keep up with a reader: there, FAST_STREAMS GETs of
 * FAST_SEGMENT do what many short ones would, each paying the origin's cost per request. Over
 * any latency, such a GET is still in TCP slow start and measures far below it (50 MB/s
 * through the 20 ms profile of bench-fs.sh --wan); the origin on the same host measures 100
 * to 150 MB/s. */
#define FAST_RATE 90e6
#define FAST_STREAMS 2u
#define FAST_SEGMENT (64 * MIB)
#define PROBE_WORKERS 2  /* workers beyond the parallel ones, for first GETs only */
#define SLACK (16 * MIB) /* how far past the run a read still belongs to it */
#define RECENT 8         /* read ends remembered, to tell reads in order from random ones */
/* Chunks this far behind the furthest read of the run are dropped even if not all read:
 * the kernel's read-ahead sends reads tens of MiB out of order. */
#define BEHIND (64 * MIB)
/* After a failed read the kernel at once asks again for the same pages (its read-ahead
 * failed, now it reads synchronously): that second try fails at once, so an origin that is
 * down costs one retry budget, not two. */
#define FAILURE_MEMORY_S 1.0
/* Freed chunk buffers kept for reuse, at most this much and half the budget: a fresh 4 MiB
 * buffer costs 1024 page faults, each zeroing a page, for every chunk of every read. */
#define SPARE_MAX (64 * MIB)

/* Why a sink ends its stream: never an errno blob_stream() returns of its own. */
#define STOP_UNWANTED (-ECANCELED) /* file closed, another run, or the pool stopping */

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
    size_t reserved; /* bytes of the budget it holds */
    char *data;      /* cap bytes, from buffer_get() */
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
    size_t reserved;   /* bytes of the budget reserved for chunks not made yet */
    off_t first;       /* where it began */
    double first_at;   /* when its first byte came, 0 before */
    bool live;         /* one of the file's streams; false: end at once */
    bool probe;        /* a run's first GET, not a segment */
};

struct prefetch_file {
    struct prefetch_pool *pool;
    struct prefetch_file *prev, *next; /* the pool's open files */
    char *name;
    char etag[BLOB_ETAG_MAX];
    off_t size;
    pthread_mutex_t lock; /* guards everything below and the fields of its chunks, streams
                             and waiters */
    struct chunk *chunks;
    struct stream *streams; /* live streams of the current run */
    unsigned gen;           /* the current run */
    bool running;           /* a run is under way: [base, end) */
    bool probing;           /* it began with a small first GET, not segments at once */
    bool streaming;         /* reads go on in order: segments follow them */
    bool eager;             /* the last read in order waited for its bytes */
    off_t tail;             /* the length of the run's last segments, once set; 0 before */
    off_t base, end;
    off_t furthest;     /* end of the furthest read of the run */
    off_t last_end;     /* where the previous read ended; -1 before the first */
    off_t ends[RECENT]; /* where recent reads ended, -1 for none */
    unsigned next_end;
    int stale;  /* -ESTALE once the blob has changed */
    int failed; /* the error of the last failed fetch, until failed_at + FAILURE_MEMORY_S */
    double failed_at;
    unsigned refs;     /* the opener, one per stream, one per span pinning chunks: the kernel may
                          release a file as soon as the last reply is written, before the span
                          of that reply is released */
    unsigned segments; /* segment streams queued or running */
    bool closed;
    unsigned on_workers; /* segment streams on a worker; guarded by the pool's lock */
};

struct prefetch_pool {
    struct prefetch_source src;
    size_t budget;
    size_t segment;       /* a fixed segment size; 0: adaptive */
    unsigned parallel;    /* segments running at once, all files together */
    pthread_mutex_t lock; /* guards used, spares, spare_bytes, the queue, files, running,
                             active, rate, the files' on_workers; stopping and active are also
                             read atomically without it */
    pthread_cond_t work;  /* a stream was queued, a segment ended, or stopping */
    size_t used;          /* bytes of the budget reserved */
    struct spare *spares; /* buffers kept for reuse */
    size_t spare_bytes;
    struct stream *queue;
    struct prefetch_file *files;
    unsigned running; /* segments on a worker */
    double rate;      /* bytes per second one GET brought, averaged; 0: none yet */
    double fast_rate; /* see FAST_RATE */
    unsigned active;  /* files with a segment queued or running */
    bool stopping;
    pthread_t *threads;
    unsigned nthreads;
};

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

/* Reserve len bytes of the budget. Returns false when they do not fit. */
static bool reserve(struct prefetch_pool *p, size_t len)
{
    pthread_mutex_lock(&p->lock);
    bool ok = p->used + len <= p->budget;
    if (ok)
        p->used += len;
    pthread_mutex_unlock(&p->lock);
    return ok;
}

static void unreserve(struct prefetch_pool *p, size_t len)
{
    pthread_mutex_lock(&p->lock);
    p->used -= len;
    pthread_mutex_unlock(&p->lock);
}

/* A buffer of cap bytes (within a reservation), a spare one when there is. */
static char *buffer_get(struct prefetch_pool *p, size_t cap)
{
    pthread_mutex_lock(&p->lock);
    char *buf = take_spare(p, cap);
    pthread_mutex_unlock(&p->lock);
    return buf ? buf : malloc(cap);
}

static void buffer_put(struct prefetch_pool *p, char *buf, size_t cap)
{
    pthread_mutex_lock(&p->lock);
    bool keep = p->spare_bytes + cap <= SPARE_MAX && p->spare_bytes + cap <= p->budget / 2;
    if (keep) {
        struct spare *s = (struct spare *)(void *)buf;
        s->next = p->spares;
        s->cap = cap;
        p->spares = s;
        p->spare_bytes += cap;
    }
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
    unreserve(f->pool, ch->reserved);
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

/* How far past the furthest read the run's streams may fetch (see GROWTH). */
static off_t window(const struct prefetch_file *f)
{
    struct prefetch_pool *p = f->pool;
    unsigned active = __atomic_load_n(&p->active, __ATOMIC_RELAXED);
    off_t share = (off_t)(p->budget / (active ? active : 1));
    off_t want = (f->furthest - f->base) * (f->eager ? EAGER : GROWTH);

    if (share < MIN_WINDOW)
        share = MIN_WINDOW;
    return want < MIN_WINDOW ? MIN_WINDOW : want > share ? share : want;
}

static bool is_wanted(const struct stream *s)
{
    return s->live && !__atomic_load_n(&s->file->pool->stopping, __ATOMIC_ACQUIRE);
}

static void chunk_link(struct prefetch_file *f, struct chunk *ch)
{
    struct chunk **link = &f->chunks;

    while (*link && (*link)->off <= ch->off)
        link = &(*link)->next;
    ch->next = *link;
    *link = ch;
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

/* Give the stream a chunk to fill at its position, out of its reservation (the file's lock
 * held). Returns 0 or -ENOMEM. */
static int chunk_new(struct prefetch_file *f, struct stream *s)
{
    size_t len = (size_t)min_off(CHUNK, s->end - s->pos), cap = capacity(len);
    struct chunk *ch = calloc(1, sizeof(*ch));
    char *data = ch ? buffer_get(f->pool, cap) : NULL;

    if (!data) {
        free(ch);
        return -ENOMEM;
    }
    *ch = (struct chunk){.writer = s,
                         .gen = f->gen,
                         .off = s->pos,
                         .len = len,
                         .reserved = len,
                         .data = data,
                         .cap = cap};
    s->reserved -= len;
    chunk_link(f, ch);
    s->cur = ch;
    return 0;
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

/* The blob_sink_fn of streams: bytes into chunks, while the run wants them. */
static int sink(void *arg, const char *data, size_t len)
{
    struct stream *s = arg;
    struct prefetch_file *f = s->file;

    pthread_mutex_lock(&f->lock);
    int ret = is_wanted(s) ? 0 : STOP_UNWANTED;
    if (len > 0 && s->first_at == 0)
        s->first_at = clock_now_s();
    while (!ret && len > 0 && s->pos < s->end) {
        if (!s->cur)
            ret = chunk_new(f, s);
        if (!ret) {
            size_t n = fill(f, s, data, len);
            data += n;
            len -= n;
        }
    }
    pthread_mutex_unlock(&f->lock);
    return ret ? ret : len ? -EIO : 0; /* more than asked for: blob_stream() never sends it */
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
    for (struct stream *s = f->streams; s; s = s->next) {
        s->live = false;
        wake(s, true);
    }
    f->streams = NULL;
    f->running = false;
    f->gen++;
}

/* A stream is over (the file's lock held): its chunk keeps what it got, the rest of its
 * reservation goes back; a failure ends the run. */
static void stream_end(struct prefetch_file *f, struct stream *s, int ret)
{
    struct chunk *ch = s->cur;

    unreserve(f->pool, s->reserved);
    s->reserved = 0;
    if (ch) {
        ch->writer = NULL;
        ch->len = ch->filled;
        if (chunk_is_done(f, ch))
            chunk_free(f, ch);
    }
    if (s->live) {
        stream_unlink(f, s);
        if (ret) {
            note_failure(f, ret);
            run_end(f);
        }
    }
    wake(s, true);
}

static void schedule_segments(struct prefetch_file *f, off_t need);

/* A run's first GET, on its own, tells how fast one connection is (the time to its first
 * byte, a round trip and the origin's start, left out). */
static void note_rate(struct prefetch_pool *p, const struct stream *s)
{
    double took = clock_now_s() - s->first_at;
    off_t got = s->pos - s->first;

    if (!s->probe || s->first_at == 0 || got < 256 * 1024 || took <= 0)
        return;
    double rate = (double)got / took;
    pthread_mutex_lock(&p->lock);
    p->rate = rate > p->rate ? rate : 0.9 * p->rate + 0.1 * rate; /* a busy origin dips */
    pthread_mutex_unlock(&p->lock);
}

/* A segment stream is off the queue and its worker (the file's lock held). */
static void segment_done(struct prefetch_file *f)
{
    struct prefetch_pool *p = f->pool;

    f->segments--;
    pthread_mutex_lock(&p->lock);
    p->running--;
    f->on_workers--;
    if (f->segments == 0)
        __atomic_store_n(&p->active, p->active - 1, __ATOMIC_RELAXED);
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->lock);
}

static void run_stream(struct prefetch_pool *p, struct stream *s)
{
    struct prefetch_file *f = s->file;

    pthread_mutex_lock(&f->lock);
    bool wanted = is_wanted(s);
    off_t off = s->pos;
    size_t len = (size_t)(s->end - s->pos);
    pthread_mutex_unlock(&f->lock);
    int ret =
        wanted ? p->src.stream(p->src.arg, f->name, f->etag, off, len, sink, s) : STOP_UNWANTED;
    if (ret == 0)
        note_rate(p, s);
    pthread_mutex_lock(&f->lock);
    stream_end(f, s, ret);
    if (!s->probe)
        segment_done(f);
    if (ret == 0 && f->running && f->streaming && !f->closed)
        schedule_segments(f, 0); /* keep the run's connections busy */
    file_put_unlock(f);
    free(s);
}

/* Take the next stream off the queue (the pool's lock held): a probe first, else, while fewer
 * than parallel segments run, the segment whose file has the fewest on a worker. */
static struct stream *pick(struct prefetch_pool *p)
{
    struct stream **best = NULL;

    for (struct stream **link = &p->queue; *link; link = &(*link)->next_job) {
        struct stream *s = *link;
        if (s->probe) {
            best = link;
            break;
        }
        if (p->running < p->parallel && (!best || s->file->on_workers < (*best)->file->on_workers))
            best = link;
    }
    if (!best)
        return NULL;
    struct stream *s = *best;
    *best = s->next_job;
    if (!s->probe) {
        p->running++;
        s->file->on_workers++;
    }
    return s;
}

static struct stream *next_job(struct prefetch_pool *p)
{
    pthread_mutex_lock(&p->lock);
    struct stream *s = pick(p);
    while (!s && !p->stopping) {
        pthread_cond_wait(&p->work, &p->lock);
        s = pick(p);
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

static void enqueue(struct prefetch_pool *p, struct stream *s)
{
    struct stream **link = &p->queue;

    while (*link)
        link = &(*link)->next_job;
    *link = s;
    pthread_cond_broadcast(&p->work);
}

/* Queue a stream of len bytes at the end of the run, the probe or a segment (the file's lock
 * held). Returns false when there is no room for it in the budget. */
static bool stream_start(struct prefetch_file *f, off_t len, bool probe)
{
    struct prefetch_pool *p = f->pool;
    struct stream *s = calloc(1, sizeof(*s));

    if (!s)
        return false;
    *s = (struct stream){.file = f,
                         .pos = f->end,
                         .first = f->end,
                         .end = f->end + len,
                         .need = NO_NEED,
                         .live = true,
                         .probe = probe,
                         .reserved = (size_t)len};
    if (p->nthreads == 0 || !reserve(p, (size_t)len)) {
        free(s);
        return false;
    }
    pthread_mutex_lock(&p->lock);
    enqueue(p, s);
    if (!probe && f->segments++ == 0)
        __atomic_store_n(&p->active, p->active + 1, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&p->lock);
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

struct prefetch_pool *prefetch_pool_new(const struct prefetch_source *src,
                                        const struct prefetch_opts *o)
{
    struct prefetch_pool *p = calloc(1, sizeof(*p));
    unsigned workers = o->parallel + PROBE_WORKERS;

    if (!p)
        return NULL;
    p->src = *src;
    p->budget = o->budget;
    p->segment = o->segment;
    p->parallel = o->parallel ? o->parallel : 1;
    p->fast_rate = o->fast_rate > 0 ? o->fast_rate : FAST_RATE;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->work, NULL);
    p->threads = calloc(workers ? workers : 1, sizeof(*p->threads));
    if (!p->threads) {
        prefetch_pool_free(p);
        return NULL;
    }
    for (; p->budget && p->nthreads < workers; p->nthreads++) {
        if (pthread_create(&p->threads[p->nthreads], NULL, worker, p) != 0)
            break;
    }
    return p;
}

void prefetch_pool_stats(struct prefetch_pool *p, struct prefetch_stats *out)
{
    pthread_mutex_lock(&p->lock);
    out->used = p->used;
    out->running = p->running;
    pthread_mutex_unlock(&p->lock);
}

void prefetch_pool_free(struct prefetch_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    __atomic_store_n(&p->stopping, true, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&p->work);
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
    for (size_t i = 0; i < RECENT; i++)
        f->ends[i] = -1;
    memcpy(f->etag, etag, sizeof(f->etag));
    pthread_mutex_init(&f->lock, NULL);
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

/* How far the run reaches: its segments, or its window. */
static off_t frontier(const struct prefetch_file *f)
{
    off_t edge = f->furthest + window(f);

    return f->end > edge ? f->end : edge;
}

/* Begin a run at base; a probe run starts with a small GET, another with a stream at once. */
static void run_begin(struct prefetch_file *f, off_t base, bool probe)
{
    run_end(f);
    f->running = true;
    f->probing = probe;
    f->streaming = !probe;
    f->base = f->end = f->furthest = base;
    f->tail = 0;
}

/* Whether a read at off belongs to the run, beginning one when the reader just moved on
 * from where it stopped (it reads in order: segments at once), or when a first read is at
 * the start (a probe from 0). */
static bool in_run(struct prefetch_file *f, off_t off)
{
    if (f->running && off >= f->base && off <= frontier(f) + SLACK)
        return true;
    bool follows = off == f->last_end;
    if (!follows && (f->running || off != 0))
        return false;
    run_begin(f, off, !follows);
    return true;
}

/* Whether a read at off continues the run in order: it starts where a recent read ended, or,
 * once the run streams, near its furthest read (the kernel's read-ahead sends its reads out
 * of order, within its window). A random read does neither, however close it lands. */
static bool is_sequential(const struct prefetch_file *f, off_t off)
{
    for (size_t i = 0; i < RECENT; i++) {
        if (f->ends[i] == off)
            return true;
    }
    return f->streaming && off + SLACK >= f->furthest && off <= f->furthest + SLACK;
}

/* The first GET of a probe run: 1.125 MiB, or the whole rest of a small blob. */
static off_t probe_len(const struct prefetch_file *f)
{
    off_t rest = f->size - f->base;

    return rest <= 2 * FIRST_CHUNK ? rest : FIRST_CHUNK;
}

static bool probe_running(const struct prefetch_file *f)
{
    for (const struct stream *s = f->streams; s; s = s->next) {
        if (s->probe)
            return true;
    }
    return false;
}

/* Whether one connection alone keeps up with a reader (see FAST_RATE). */
static bool link_is_fast(struct prefetch_pool *p)
{
    pthread_mutex_lock(&p->lock);
    bool fast = p->rate >= p->fast_rate;
    pthread_mutex_unlock(&p->lock);
    return fast;
}

/* Segments a file may have queued or running: the parallel ones, or FAST_STREAMS. */
static unsigned streams_for(struct prefetch_pool *p)
{
    return link_is_fast(p) && FAST_STREAMS < p->parallel ? FAST_STREAMS : p->parallel;
}

/* The length of the next segment: a fixed size, or the window spread over the parallel
 * streams (over FAST_STREAMS, up to FAST_SEGMENT, on a fast link). Once the rest of the blob
 * is no more than a segment for each stream, it is split evenly among them, once, so the
 * last segments run side by side and end about together. A segment ends on a whole MiB, and
 * takes the rest of the blob rather than leave less than SEGMENT_MIN after it. */
static off_t segment_len(struct prefetch_file *f)
{
    struct prefetch_pool *p = f->pool;
    bool fast = link_is_fast(p);
    off_t streams = fast ? (off_t)streams_for(p) : (off_t)p->parallel;
    off_t len = p->segment ? (off_t)p->segment : window(f) / streams;
    off_t rest = f->size - f->end;

    if (!p->segment && f->tail) {
        len = f->tail;
    } else if (!p->segment) {
        off_t most = fast ? FAST_SEGMENT : SEGMENT_MAX;
        len = len < SEGMENT_MIN ? SEGMENT_MIN : len > most ? most : len;
        if (rest <= len * streams)
            len = f->tail = (rest + streams - 1) / streams > SEGMENT_MIN
                                ? (rest + streams - 1) / streams
                                : SEGMENT_MIN;
    }
    off_t end = (f->end + len + MIB - 1) / MIB * MIB;
    if (end >= f->size || f->size - end < SEGMENT_MIN)
        end = f->size;
    return end - f->end;
}

/* Queue segments at the end of the run while its window and the file's share of the
 * parallel streams allow, and, while the run's first GET is under way (it tells how fast
 * the link is), only what reads wait for; a read waiting for bytes before need is served
 * whatever the share (the fair pick among files still decides when its segment runs). */
static void schedule_segments(struct prefetch_file *f, off_t need)
{
    unsigned most = probe_running(f) ? 0 : streams_for(f->pool);

    while (f->end < f->size && f->end < f->furthest + window(f) &&
           (f->segments < most || f->end < need)) {
        if (!stream_start(f, segment_len(f), false))
            break;
    }
}

/* Start what the run needs for a read of it: the probe, then, once reads go on in order (or
 * at once when the read goes past the probe), segments up to the window. */
static void schedule(struct prefetch_file *f, off_t off, size_t len)
{
    off_t need = off + (off_t)len;

    if (f->end == f->base && f->probing)
        stream_start(f, probe_len(f), true);
    if (f->streaming || f->end < need)
        schedule_segments(f, need);
}

enum place { NO_RUN, OUT_OF_ORDER, IN_ORDER };

/* Place a read at off (the file's lock held): reads in order move the run on and get
 * read-ahead; others in its range are served from what it fetched, or go direct. */
static enum place plan(struct prefetch_file *f, off_t off, size_t len)
{
    bool in = in_run(f, off);
    bool seq = in && (f->end == f->base || is_sequential(f, off));

    f->last_end = off + (off_t)len;
    f->ends[f->next_end++ % RECENT] = f->last_end;
    if (!in)
        return NO_RUN;
    if (seq) {
        f->streaming = f->streaming || f->end > f->base; /* a second read in order */
        if (f->furthest < f->last_end)
            f->furthest = f->last_end;
    } else if (off + SLACK < f->furthest || off > f->furthest + SLACK) {
        f->streaming = false; /* random access: no more read-ahead */
    }
    reclaim(f);
    if (seq)
        schedule(f, off, len);
    return seq ? IN_ORDER : OUT_OF_ORDER;
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

/* Wait until the run's chunks hold the read, then take it; a read in order that had to wait
 * makes the run eager (see EAGER), one that did not calms it. Returns 0, DIRECT or -errno. */
static int serve(struct prefetch_file *f, off_t off, size_t len, bool seq,
                 struct prefetch_span *out)
{
    off_t end = off + (off_t)len;

    for (bool waited = false;; waited = true) {
        int err = file_error(f);
        if (err)
            return err;
        struct stream *s;
        off_t until;
        enum avail a = lookup(f, off, end, &s, &until);
        if (a == MISSING)
            return DIRECT;
        if (a == READY) {
            f->eager = seq ? waited : f->eager;
            take(f, off, end, out);
            return 0;
        }
        if (seq && !f->eager && f->streaming) {
            f->eager = true; /* the reader keeps up: widen the window now */
            schedule_segments(f, 0);
        }
        wait_for(f, s, until);
    }
}

static ssize_t read_direct(struct prefetch_file *f, off_t off, size_t len, struct prefetch_span *s)
{
    s->own = malloc(len);
    if (!s->own)
        return -ENOMEM;
    struct prefetch_source *src = &f->pool->src;
    ssize_t n = src->read(src->arg, f->name, f->etag, s->own, len, off);
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
    enum place at = ret ? NO_RUN : plan(f, off, len);
    if (!ret)
        ret = at == NO_RUN ? DIRECT : serve(f, off, len, at == IN_ORDER, out);
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
