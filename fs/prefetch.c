/* fs/prefetch.c: per-file streams of chunks fetched by a worker pool (see prefetch.h).
 *
 * Lock order: a file's lock, then the pool's. Workers hold neither while fetching. */
#include "prefetch.h"

#include "blob.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MIB (1024 * 1024)
#define FIRST_CHUNK (MIB + 128 * 1024) /* the kernel reads 128 KiB past a 1 MiB read */
#define MAX_CHUNK (8 * MIB)
#define MAX_AHEAD (24 * MIB) /* fetched ahead of a long sequential stream */
#define MAX_CHUNKS 8         /* per file */
#define SLACK (16 * MIB)     /* how far past the stream a read still counts as sequential */
/* Chunks this far behind the furthest read of the stream are dropped even if not all read:
 * the kernel's read-ahead sends reads tens of MiB out of order. */
#define BEHIND (64 * MIB)
/* After a failed read the kernel at once asks again for the same pages (its read-ahead
 * failed, now it reads synchronously): that second try fails at once, so an origin that is
 * down costs one retry budget, not two. */
#define FAILURE_MEMORY_S 1.0

enum chunk_state { PENDING, READY, FAILED };

struct chunk {
    struct prefetch_file *file;
    struct chunk *next;     /* in the file, by offset */
    struct chunk *next_job; /* in the pool's queue */
    off_t off;
    size_t len, delivered;
    char *data;
    enum chunk_state state;
    int err;
    unsigned pins; /* spans pointing into data */
};

struct prefetch_file {
    struct prefetch_pool *pool;
    struct prefetch_file *prev, *next; /* the pool's open files */
    char *name;
    char etag[BLOB_ETAG_MAX];
    off_t size;
    pthread_mutex_t lock; /* guards everything below and the chunks' fields */
    pthread_cond_t ready; /* a chunk left PENDING */
    struct chunk *chunks;
    unsigned nchunks;
    bool streaming; /* a sequential stream runs: chunks scheduled over [base, end) */
    off_t base, end;
    off_t furthest;  /* end of the furthest read of the stream */
    size_t next_len; /* size of the stream's next chunk */
    off_t last_end;  /* where the previous read ended */
    int stale;       /* -ESTALE once the blob has changed */
    int failed;      /* the error of the last failed fetch, until failed_at + FAILURE_MEMORY_S */
    double failed_at;
    unsigned refs; /* the opener, one per chunk a worker has yet to finish, one per span
                      pinning chunks: the kernel may release a file as soon as the last
                      reply is written, before the span of that reply is released */
    bool closed;
};

struct prefetch_pool {
    struct blob_client *blob;
    size_t budget;
    pthread_mutex_t lock; /* guards used, queue, files, stopping */
    pthread_cond_t work;
    size_t used;
    struct chunk *qhead, *qtail;
    struct prefetch_file *files;
    bool stopping;
    pthread_t *threads;
    unsigned nthreads;
};

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Remember a failed fetch (the file's lock is held). */
static void note_failure(struct prefetch_file *f, int err)
{
    if (err == -ESTALE) {
        f->stale = -ESTALE;
    } else if (err != -ECANCELED) {
        f->failed = err;
        f->failed_at = now_s();
    }
}

static bool reserve(struct prefetch_pool *p, size_t len)
{
    pthread_mutex_lock(&p->lock);
    bool ok = p->used + len <= p->budget;
    if (ok)
        p->used += len;
    pthread_mutex_unlock(&p->lock);
    return ok;
}

static void chunk_free(struct prefetch_file *f, struct chunk *ch)
{
    struct chunk **link = &f->chunks;

    while (*link && *link != ch)
        link = &(*link)->next;
    if (*link)
        *link = ch->next;
    f->nchunks--;
    pthread_mutex_lock(&f->pool->lock);
    f->pool->used -= ch->len;
    pthread_mutex_unlock(&f->pool->lock);
    free(ch->data);
    free(ch);
}

/* Queue a fetch of [off, off + len); the file's lock is held. */
static bool schedule(struct prefetch_file *f, off_t off, size_t len)
{
    struct prefetch_pool *p = f->pool;

    if (!reserve(p, len))
        return false;
    struct chunk *ch = calloc(1, sizeof(*ch));
    char *data = ch ? malloc(len) : NULL;
    if (!data) {
        free(ch);
        pthread_mutex_lock(&p->lock);
        p->used -= len;
        pthread_mutex_unlock(&p->lock);
        return false;
    }
    *ch = (struct chunk){.file = f, .off = off, .len = len, .data = data, .state = PENDING};
    struct chunk **link = &f->chunks;
    while (*link && (*link)->off <= off)
        link = &(*link)->next;
    ch->next = *link;
    *link = ch;
    f->nchunks++;
    f->refs++;
    pthread_mutex_lock(&p->lock);
    if (p->qtail)
        p->qtail->next_job = ch;
    else
        p->qhead = ch;
    p->qtail = ch;
    pthread_cond_signal(&p->work);
    pthread_mutex_unlock(&p->lock);
    return true;
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
    pthread_cond_destroy(&f->ready);
    pthread_mutex_destroy(&f->lock);
    free(f->name);
    free(f);
}

static struct chunk *next_job(struct prefetch_pool *p)
{
    pthread_mutex_lock(&p->lock);
    while (!p->qhead && !p->stopping)
        pthread_cond_wait(&p->work, &p->lock);
    struct chunk *ch = p->qhead;
    if (ch) {
        p->qhead = ch->next_job;
        if (!p->qhead)
            p->qtail = NULL;
    }
    pthread_mutex_unlock(&p->lock);
    return ch;
}

/* Fetch one chunk into its own buffer, outside every lock; then publish the result. */
static void fetch(struct prefetch_pool *p, struct chunk *ch)
{
    struct prefetch_file *f = ch->file;

    pthread_mutex_lock(&f->lock);
    bool wanted = !f->closed && !f->stale;
    pthread_mutex_unlock(&f->lock);
    ssize_t n =
        wanted ? blob_read(p->blob, f->name, f->etag, ch->data, ch->len, ch->off) : -ECANCELED;
    pthread_mutex_lock(&f->lock);
    ch->state = n == (ssize_t)ch->len ? READY : FAILED;
    ch->err = n < 0 ? (int)n : -EIO; /* short: the blob is not the size it was listed with */
    if (ch->state == FAILED) {
        note_failure(f, ch->err);
        f->streaming = false; /* the next read starts afresh */
    }
    if (f->closed)
        chunk_free(f, ch);
    pthread_cond_broadcast(&f->ready);
    bool last = --f->refs == 0;
    pthread_mutex_unlock(&f->lock);
    if (last)
        file_free(f);
}

static void *worker(void *arg)
{
    struct prefetch_pool *p = arg;

    for (;;) {
        struct chunk *ch = next_job(p);
        if (!ch)
            return NULL;
        fetch(p, ch);
    }
}

struct prefetch_pool *prefetch_pool_new(struct blob_client *blob, size_t budget, unsigned workers)
{
    struct prefetch_pool *p = calloc(1, sizeof(*p));

    if (!p)
        return NULL;
    p->blob = blob;
    p->budget = budget;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->work, NULL);
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
    p->stopping = true;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->lock);
    for (unsigned i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    while (p->qhead) { /* queued and never started: their files still count them */
        struct chunk *ch = p->qhead;
        p->qhead = ch->next_job;
        ch->file->refs--;
    }
    while (p->files)
        file_free(p->files);
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
    f->next_len = FIRST_CHUNK;
    memcpy(f->etag, etag, sizeof(f->etag));
    pthread_mutex_init(&f->lock, NULL);
    pthread_cond_init(&f->ready, NULL);
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
    for (struct chunk *ch = f->chunks, *next; ch; ch = next) {
        next = ch->next;
        if (ch->state != PENDING && ch->pins == 0)
            chunk_free(f, ch);
    }
    bool last = --f->refs == 0;
    pthread_mutex_unlock(&f->lock);
    if (last)
        file_free(f);
}

/* Drop chunks nobody will read: consumed, failed, left over from an earlier stream, or far
 * behind the stream's furthest read. */
static void reclaim(struct prefetch_file *f)
{
    for (struct chunk *ch = f->chunks, *next; ch; ch = next) {
        next = ch->next;
        off_t end = ch->off + (off_t)ch->len;
        if (ch->state == PENDING || ch->pins)
            continue;
        if (ch->state == FAILED || ch->delivered >= ch->len || !f->streaming || end <= f->base ||
            ch->off >= f->end || end + BEHIND <= f->furthest)
            chunk_free(f, ch);
    }
}

static struct chunk *chunk_at(struct prefetch_file *f, off_t pos)
{
    for (struct chunk *ch = f->chunks; ch; ch = ch->next) {
        if (ch->off <= pos && pos < ch->off + (off_t)ch->len)
            return ch;
    }
    return NULL;
}

/* Whether chunks (at most PREFETCH_MAX_IOV of them) hold [off, off + len). */
static bool covered(struct prefetch_file *f, off_t off, size_t len)
{
    off_t pos = off, end = off + (off_t)len;

    for (int i = 0; pos < end && i < PREFETCH_MAX_IOV; i++) {
        struct chunk *ch = chunk_at(f, pos);
        if (!ch)
            return false;
        pos = ch->off + (off_t)ch->len;
    }
    return pos >= end;
}

/* Whether a read at off belongs to the stream, (re)starting it when the reader just moved on
 * from where it stopped, or when the very first reads land near the start. */
static bool in_stream(struct prefetch_file *f, off_t off)
{
    if (f->streaming && off >= f->base && off <= f->end + SLACK)
        return true;
    if (off != f->last_end && (f->streaming || off >= FIRST_CHUNK))
        return false;
    f->streaming = true;
    f->base = f->end = f->furthest = off == f->last_end ? off : 0;
    f->next_len = FIRST_CHUNK;
    return true;
}

/* Schedule the stream's next chunk: 1.125, 2, 4, then 8 MiB, or the whole rest of a small
 * blob (or of the tail) in one GET. Returns false when out of budget or at the end. */
static bool extend(struct prefetch_file *f)
{
    size_t n = f->next_len;
    off_t rest = f->size - f->end;

    if (rest <= 0)
        return false;
    if (rest <= 2 * (off_t)n)
        n = (size_t)rest;
    if (!schedule(f, f->end, n))
        return false;
    f->end += (off_t)n;
    f->next_len = f->next_len < 2 * MIB ? 2 * MIB : f->next_len * 2;
    if (f->next_len > MAX_CHUNK)
        f->next_len = MAX_CHUNK;
    return true;
}

/* Cover the read itself, whatever it takes (else its bytes would be fetched twice: once
 * directly, once by the stream); then keep the stream ahead of it by as much as the reader
 * has already read from it, so the window doubles as it goes, within MAX_CHUNKS. */
static void schedule_ahead(struct prefetch_file *f, off_t off, size_t len)
{
    off_t ahead = off - f->base < MAX_AHEAD ? off - f->base : MAX_AHEAD;

    while (f->end < off + (off_t)len && extend(f))
        ;
    while (f->end < off + (off_t)len + ahead && f->nchunks < MAX_CHUNKS && extend(f))
        ;
}

/* Pin the chunks holding [off, off + len) (all first, so none is reclaimed while waiting for
 * another), wait for them, and point the span into them. */
static int collect(struct prefetch_file *f, off_t off, size_t len, struct prefetch_span *s)
{
    off_t pos = off, end = off + (off_t)len;

    while (pos < end) {
        struct chunk *ch = chunk_at(f, pos);
        ch->pins++;
        s->pin[s->npin++] = ch;
        pos = ch->off + (off_t)ch->len;
    }
    pos = off;
    for (size_t i = 0; i < s->npin; i++) {
        struct chunk *ch = s->pin[i];
        while (ch->state == PENDING)
            pthread_cond_wait(&f->ready, &f->lock);
        if (ch->state == FAILED)
            return f->stale ? f->stale : ch->err;
        size_t from = (size_t)(pos - ch->off);
        size_t n = ch->len - from < (size_t)(end - pos) ? ch->len - from : (size_t)(end - pos);
        s->iov[s->niov++] = (struct iovec){.iov_base = ch->data + from, .iov_len = n};
        ch->delivered += n;
        pos += (off_t)n;
    }
    return 0;
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
    int err = f->stale;
    if (!err && f->failed && now_s() - f->failed_at < FAILURE_MEMORY_S)
        err = f->failed;
    bool direct = false;
    if (!err) {
        bool streaming = in_stream(f, off);
        if (streaming && f->furthest < off + (off_t)len)
            f->furthest = off + (off_t)len;
        reclaim(f);
        if (streaming)
            schedule_ahead(f, off, len);
        direct = !covered(f, off, len);
        f->last_end = off + (off_t)len;
        if (!direct) {
            f->refs++; /* dropped by prefetch_span_release() */
            err = collect(f, off, len, out);
        }
    }
    pthread_mutex_unlock(&f->lock);
    if (err)
        return err;
    return direct ? read_direct(f, off, len, out) : (ssize_t)len;
}

void prefetch_span_release(struct prefetch_span *s)
{
    struct prefetch_file *f = s->file;

    if (f && s->npin) {
        pthread_mutex_lock(&f->lock);
        for (size_t i = 0; i < s->npin; i++) {
            struct chunk *ch = s->pin[i];
            if (--ch->pins == 0 && (ch->state == FAILED || ch->delivered >= ch->len || f->closed))
                chunk_free(f, ch);
        }
        bool last = --f->refs == 0;
        pthread_mutex_unlock(&f->lock);
        if (last)
            file_free(f);
    }
    free(s->own);
    memset(s, 0, sizeof(*s));
}
