/* Unit tests of fs/prefetch.c over a stand-in source (struct prefetch_source), as test_cache
 * fakes the blob layer: bytes in order whatever the read pattern, what each read costs the
 * origin (every byte fetched once, GETs growing, several in flight, exactly what a random
 * read asks), files read at once sharing the GETs, references (a span outlives its file's
 * close), the memory budget, a blob changing mid-read (never bytes of two versions),
 * concurrent readers and errors. */
#include "prefetch.h"

#include "check.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>

#define MIB (1024 * 1024)
#define PARALLEL 4
#define MAX_GETS 512

/* ---- the stand-in origin: one blob, whose bytes depend on offset and version ---- */

struct fake {
    pthread_mutex_t lock; /* guards everything below */
    pthread_cond_t moved; /* paused changed */
    off_t size;
    unsigned version;
    int fail;                                   /* the errno of every new request, 0: none */
    bool paused;                                /* streams hold their next piece while set */
    unsigned holding;                           /* streams holding now */
    unsigned reads;                             /* direct reads asked */
    unsigned streams;                           /* streams begun */
    size_t read_len[64];                        /* the length of each direct read */
    off_t get_off[MAX_GETS], get_len[MAX_GETS]; /* each stream's range, in start order */
    unsigned active, max_active;                /* streams running now, and the most at once */
    unsigned piece_us;                          /* the time each 64 KiB piece takes */
    size_t max_used;                            /* the most the pool held, seen between pieces */
    unsigned max_running;                       /* the most segments the pool had on workers */
    struct prefetch_pool *pool;
};

static struct fake fake = {.lock = PTHREAD_MUTEX_INITIALIZER, .moved = PTHREAD_COND_INITIALIZER};

static unsigned char byte_at(unsigned version, off_t off)
{
    uint64_t x = (uint64_t)off * 0x9E3779B97F4A7C15ull + version * 0xBF58476D1CE4E5B9ull;

    return (unsigned char)(x >> 56);
}

static void etag_of(unsigned version, char *out)
{
    snprintf(out, BLOB_ETAG_MAX, "0xV%u", version);
}

static void fake_reset(off_t size)
{
    pthread_mutex_lock(&fake.lock);
    fake.size = size;
    fake.version = 1;
    fake.fail = 0;
    fake.paused = false;
    fake.reads = fake.streams = 0;
    fake.active = fake.max_active = fake.max_running = 0;
    fake.piece_us = 0;
    fake.max_used = 0;
    pthread_mutex_unlock(&fake.lock);
}

/* The start of a request: the error it gets, as If-Match and the failure plan say. */
static int fake_begin(const char *etag, unsigned *version)
{
    char now[BLOB_ETAG_MAX];

    etag_of(fake.version, now);
    *version = fake.version;
    if (fake.fail)
        return fake.fail;
    return strcmp(etag, now) == 0 ? 0 : -ESTALE;
}

static ssize_t fake_read(void *arg, const char *name, const char *etag, char *dst, size_t len,
                         off_t off)
{
    unsigned version;

    (void)arg;
    (void)name;
    pthread_mutex_lock(&fake.lock);
    if (fake.reads < 64)
        fake.read_len[fake.reads] = len;
    fake.reads++;
    int err = fake_begin(etag, &version);
    off_t size = fake.size;
    pthread_mutex_unlock(&fake.lock);
    if (err)
        return err;
    size_t n = off >= size ? 0 : (size_t)(size - off) < len ? (size_t)(size - off) : len;
    for (size_t i = 0; i < n; i++)
        dst[i] = (char)byte_at(version, off + (off_t)i);
    return (ssize_t)n;
}

static void note_pool(void)
{
    struct prefetch_stats st;

    prefetch_pool_stats(fake.pool, &st);
    pthread_mutex_lock(&fake.lock);
    if (st.used > fake.max_used)
        fake.max_used = st.used;
    if (st.running > fake.max_running)
        fake.max_running = st.running;
    pthread_mutex_unlock(&fake.lock);
}

/* Hold while paused, asking the sink now and then whether it still wants the bytes. */
static int wait_unpaused(blob_sink_fn fn, void *fn_arg)
{
    pthread_mutex_lock(&fake.lock);
    fake.holding++;
    while (fake.paused) {
        pthread_mutex_unlock(&fake.lock);
        int ret = fn(fn_arg, NULL, 0);
        pthread_mutex_lock(&fake.lock);
        if (ret < 0) {
            fake.holding--;
            pthread_mutex_unlock(&fake.lock);
            return ret;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 10000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&fake.moved, &fake.lock, &ts);
    }
    fake.holding--;
    pthread_mutex_unlock(&fake.lock);
    return 0;
}

/* One GET is one version: a stream delivers the version it began with, in 64 KiB pieces. */
static int fake_stream(void *arg, const char *name, const char *etag, off_t off, size_t len,
                       blob_sink_fn fn, void *fn_arg)
{
    static _Thread_local char piece[64 * 1024];
    unsigned version;

    (void)arg;
    (void)name;
    pthread_mutex_lock(&fake.lock);
    if (fake.streams < MAX_GETS) {
        fake.get_off[fake.streams] = off;
        fake.get_len[fake.streams] = (off_t)len;
    }
    fake.streams++;
    if (++fake.active > fake.max_active)
        fake.max_active = fake.active;
    int err = fake_begin(etag, &version);
    struct timespec pace = {.tv_nsec = (long)fake.piece_us * 1000};
    pthread_mutex_unlock(&fake.lock);
    for (size_t done = 0; !err && done < len;) {
        size_t n = len - done < sizeof(piece) ? len - done : sizeof(piece);
        for (size_t i = 0; i < n; i++)
            piece[i] = (char)byte_at(version, off + (off_t)(done + i));
        if (pace.tv_nsec)
            nanosleep(&pace, NULL); /* the origin's pace, per connection */
        err = wait_unpaused(fn, fn_arg);
        if (!err)
            err = fn(fn_arg, piece, n);
        note_pool();
        done += n;
    }
    pthread_mutex_lock(&fake.lock);
    fake.active--;
    pthread_mutex_unlock(&fake.lock);
    return err;
}

static const struct prefetch_source source = {.read = fake_read, .stream = fake_stream};

/* A pool that takes the stand-in for a slow link, unless fast_link: then any measured rate is
 * fast (1 byte/s), so the test does not hang on how fast a loaded machine runs the stand-in. */
static bool fast_link;

static struct prefetch_pool *pool_with(size_t budget, size_t segment)
{
    struct prefetch_opts o = {.budget = budget,
                              .parallel = PARALLEL,
                              .segment = segment,
                              .fast_rate = fast_link ? 1 : 1e15};
    struct prefetch_pool *p = prefetch_pool_new(&source, &o);

    fake.pool = p;
    return p;
}

static struct prefetch_pool *pool_new(size_t budget)
{
    return pool_with(budget, 0);
}

static struct prefetch_file *open_v(struct prefetch_pool *p, unsigned version)
{
    char etag[BLOB_ETAG_MAX];

    etag_of(version, etag);
    return prefetch_open(p, "blob", etag, fake.size);
}

static void set_paused(bool paused)
{
    pthread_mutex_lock(&fake.lock);
    fake.paused = paused;
    pthread_cond_broadcast(&fake.moved);
    pthread_mutex_unlock(&fake.lock);
}

/* ---- reading ---- */

/* Whether the span holds exactly the bytes of version at off. */
static bool span_is(const struct prefetch_span *s, unsigned version, off_t off, size_t len)
{
    size_t total = 0;

    for (size_t i = 0; i < s->niov; i++) {
        const unsigned char *b = s->iov[i].iov_base;
        for (size_t j = 0; j < s->iov[i].iov_len; j++, total++) {
            if (b[j] != byte_at(version, off + (off_t)total))
                return false;
        }
    }
    return total == len;
}

/* Read [off, off + len) and check it against version. Returns the read's result, or -EBADMSG
 * when the bytes are wrong. */
static ssize_t read_check(struct prefetch_file *f, unsigned version, off_t off, size_t len)
{
    struct prefetch_span s;
    ssize_t n = prefetch_read(f, off, len, &s);

    if (n > 0 && !span_is(&s, version, off, (size_t)n))
        n = -EBADMSG;
    prefetch_span_release(&s);
    return n;
}

/* Read the whole file in order, len at a time. Returns 0 or the first failure. */
static ssize_t read_all(struct prefetch_file *f, unsigned version, size_t len)
{
    for (off_t off = 0; off < fake.size; off += (off_t)len) {
        ssize_t n = read_check(f, version, off, len);
        if (n <= 0)
            return n ? n : -ENODATA;
    }
    return 0;
}

/* Whether the pool's memory all comes back: streams end in the background, so it is polled. */
static bool pool_drains(struct prefetch_pool *p, size_t *left)
{
    struct prefetch_stats st;

    for (int i = 0; i < 1000; i++) {
        prefetch_pool_stats(p, &st);
        *left = st.used;
        if (st.used == 0)
            return true;
        nanosleep(&(struct timespec){.tv_nsec = 2000000}, NULL);
    }
    return false;
}

/* ---- tests ---- */

/* Whether the GETs fetched [0, size) exactly once: no byte twice, none missing. */
static bool gets_tile(off_t size)
{
    off_t covered = 0;

    for (unsigned i = 0; i < fake.streams && i < MAX_GETS; i++) {
        bool found = false;
        for (unsigned j = 0; j < fake.streams && !found; j++) {
            if (fake.get_off[j] == covered) {
                covered += fake.get_len[j];
                found = true;
            }
        }
        if (!found)
            return false;
    }
    return covered == size && fake.streams <= MAX_GETS;
}

static off_t largest_get(void)
{
    off_t most = 0;

    for (unsigned i = 0; i < fake.streams && i < MAX_GETS; i++)
        most = fake.get_len[i] > most ? fake.get_len[i] : most;
    return most;
}

static void test_sequential(void)
{
    struct prefetch_pool *p = pool_new(256u * MIB);

    fake_reset(200 * MIB + 12345);
    struct prefetch_file *f = open_v(p, 1);
    ok(read_all(f, 1, MIB) == 0, "a sequential read returns every byte in order");
    ok(fake.reads == 0 && gets_tile(fake.size),
       "its GETs fetch every byte once (%u GETs, %u direct reads)", fake.streams, fake.reads);
    ok(fake.get_off[0] == 0 && fake.get_len[0] == MIB + 128 * 1024, "the first is 1.125 MiB (%lld)",
       (long long)fake.get_len[0]);
    ok(fake.get_len[1] < largest_get() && largest_get() >= 16 * MIB,
       "then segments grow with the read, from %lld KiB to 16 MiB (%lld)",
       (long long)fake.get_len[1] / 1024, (long long)largest_get());
    ok(fake.max_running > 0 && fake.max_running <= PARALLEL, "at most %d segments at once (%u)",
       PARALLEL, fake.max_running);
    ok(read_check(f, 1, fake.size - 100, 4096) == 100, "a read past the end is cut short");
    ok(read_check(f, 1, fake.size, 4096) == 0, "a read at the end returns 0");
    prefetch_close(f);
    fake_reset(3000);
    f = open_v(p, 1);
    ok(read_check(f, 1, 0, 4096) == 3000 && fake.streams == 1, "a small blob in one GET");
    prefetch_close(f);
    fake_reset(MIB);
    f = open_v(p, 1);
    ok(read_check(f, 1, 0, 4096) == 4096 && fake.streams == 1, "a first read of 4 KiB");
    ok(read_check(f, 1, 4096, 4096) == 4096 && fake.streams == 1,
       "and the next are served by the first GET");
    prefetch_close(f);
    prefetch_pool_free(p);
}

static void test_fixed_segment(void)
{
    struct prefetch_pool *p = pool_with(256u * MIB, 3 * MIB);
    bool sizes = true;

    fake_reset(40 * MIB);
    struct prefetch_file *f = open_v(p, 1);
    ok(read_all(f, 1, 128 * 1024) == 0 && gets_tile(fake.size), "with 3 MiB segments, right");
    for (unsigned i = 0; i < fake.streams && i < MAX_GETS; i++) {
        bool inner = fake.get_off[i] > 0 && fake.get_off[i] + fake.get_len[i] < fake.size;
        sizes = sizes && (!inner || (fake.get_len[i] >= 3 * MIB && fake.get_len[i] < 4 * MIB));
    }
    ok(sizes, "each GET after the first 3 MiB, to the next whole MiB (%u GETs)", fake.streams);
    for (unsigned i = 0; !sizes && i < fake.streams; i++)
        printf("#   GET %u: %lld+%lld\n", i, (long long)fake.get_off[i],
               (long long)fake.get_len[i]);
    prefetch_close(f);
    prefetch_pool_free(p);
}

/* A slow origin: the segments in flight reach the parallel limit and never pass it. */
static void test_parallel(void)
{
    struct prefetch_pool *p = pool_new(256u * MIB);

    fake_reset(48 * MIB);
    fake.piece_us = 200; /* 64 KiB per 0.2 ms: 320 MiB/s per connection */
    struct prefetch_file *f = open_v(p, 1);
    ok(read_all(f, 1, MIB) == 0 && gets_tile(fake.size), "a slow origin read right");
    ok(fake.max_running == PARALLEL, "%d segments in flight at once (%u)", PARALLEL,
       fake.max_running);
    ok(fake.max_active <= PARALLEL + 1, "and never more GETs than that and a first one (%u)",
       fake.max_active);
    prefetch_close(f);
    prefetch_pool_free(p);
}

/* A link fast enough for one connection (the stand-in, as fast as memory, once the first GET
 * has measured it): a few long GETs, two at a time, not many short ones. */
static void test_fast_link(void)
{
    fast_link = true;
    struct prefetch_pool *p = pool_new(256u * MIB);
    fast_link = false;

    fake_reset(200 * MIB);
    struct prefetch_file *f = open_v(p, 1);
    ok(read_all(f, 1, MIB) == 0 && gets_tile(fake.size), "a fast link: read right, once");
    ok(fake.streams <= 12 && largest_get() >= 32 * MIB && fake.max_running <= 2,
       "in %u GETs, up to %lld MiB, %u at once", fake.streams, (long long)largest_get() / MIB,
       fake.max_running);
    prefetch_close(f);
    prefetch_pool_free(p);
}

struct progress {
    struct prefetch_file *f;
    size_t done; /* bytes read so far, atomic */
    ssize_t result;
};

static void *read_progress(void *arg)
{
    struct progress *r = arg;

    r->result = 0;
    for (off_t off = MIB; off < fake.size && !r->result; off += MIB) {
        ssize_t n = read_check(r->f, 1, off, MIB);
        r->result = n < 0 ? n : 0;
        __atomic_add_fetch(&r->done, MIB, __ATOMIC_RELAXED);
    }
    return NULL;
}

/* Two files read at once share the parallel GETs: one that started first does not keep them
 * all, and the other progresses meanwhile. */
static void test_fair(void)
{
    struct prefetch_pool *p = pool_new(256u * MIB);
    struct progress a = {0}, b = {0};
    pthread_t ta, tb;

    fake_reset(128 * MIB);
    fake.piece_us = 100;
    a.f = open_v(p, 1);
    b.f = open_v(p, 1);
    ok(read_check(a.f, 1, 0, MIB) == MIB && read_check(a.f, 1, MIB, 4 * MIB) == 4 * MIB &&
           read_check(b.f, 1, 0, MIB) == MIB,
       "the first file's read is under way, the second's begun");
    pthread_create(&ta, NULL, read_progress, &a);
    pthread_create(&tb, NULL, read_progress, &b);
    pthread_join(ta, NULL);
    size_t b_done = __atomic_load_n(&b.done, __ATOMIC_RELAXED);
    pthread_join(tb, NULL);
    ok(a.result == 0 && b.result == 0, "both read right");
    ok(b_done >= (size_t)fake.size / 4, "when the first was done, the second had read %zu MiB",
       b_done / MIB);
    prefetch_close(a.f);
    prefetch_close(b.f);
    prefetch_pool_free(p);
}

static void test_random(void)
{
    struct prefetch_pool *p = pool_new(256u * MIB);
    bool right = true, sizes = true;

    fake_reset(64 * MIB);
    struct prefetch_file *f = open_v(p, 1);
    static const int at[] = {40, 17, 55, 3, 29, 61};
    for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++)
        right = right && read_check(f, 1, (off_t)at[i] * MIB + 8192, 4096) == 4096;
    ok(right, "random reads return the right bytes");
    for (unsigned i = 0; i < fake.reads && i < 64; i++)
        sizes = sizes && fake.read_len[i] == 4096;
    ok(fake.reads == 6 && fake.streams == 0 && sizes,
       "each one GET of exactly what was asked, no stream (%u reads, %u streams)", fake.reads,
       fake.streams);
    prefetch_close(f);
    fake_reset(64 * MIB);
    f = open_v(p, 1);
    ok(read_check(f, 1, 0, 4096) == 4096 && fake.streams == 1, "a first read at 0: one GET");
    right = true;
    for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++)
        right = right && read_check(f, 1, (off_t)(at[i] % 20) * MIB + 8192, 4096) == 4096;
    sizes = true;
    for (unsigned i = 0; i < fake.reads && i < 64; i++)
        sizes = sizes && fake.read_len[i] == 4096;
    ok(right && fake.streams == 1 && sizes,
       "random reads close to it after: still no read-ahead (%u reads, %u GETs)", fake.reads,
       fake.streams);
    prefetch_close(f);
    prefetch_pool_free(p);
}

/* The kernel may release a file before the span of its last reply is released. */
static void test_references(void)
{
    struct prefetch_pool *p = pool_new(256u * MIB);
    struct prefetch_span s;

    fake_reset(16 * MIB);
    struct prefetch_file *f = open_v(p, 1);
    ssize_t n = prefetch_read(f, 0, MIB, &s);
    ok(n == MIB && s.npin > 0, "a read pins the chunk it points into");
    prefetch_close(f);
    ok(span_is(&s, 1, 0, MIB), "the span still reads right after its file is closed");
    prefetch_span_release(&s);
    size_t left;
    bool drained = pool_drains(p, &left);
    ok(drained, "releasing the last span frees the file's chunks (%zu held)", left);
    f = open_v(p, 1);
    ok(read_check(f, 1, 0, MIB) == MIB && read_check(f, 1, MIB, MIB) == MIB,
       "a file left open with a stream running");
    prefetch_pool_free(p); /* frees it: the sanitizer build checks for leaks */
}

static void test_budget(void)
{
    size_t budget = 12u * MIB;
    struct prefetch_pool *p = pool_new(budget);

    fake_reset(96 * MIB);
    struct prefetch_file *f = open_v(p, 1);
    ok(read_all(f, 1, 128 * 1024) == 0, "with a 12 MiB budget, 96 MiB read right");
    ok(fake.max_used > 0 && fake.max_used <= budget,
       "the pool never held more than its budget (%zu MiB)", fake.max_used / MIB);
    prefetch_close(f);
    size_t left;
    bool drained = pool_drains(p, &left);
    ok(drained, "closed, the file gives all its chunks back (%zu held)", left);
    prefetch_pool_free(p);
    p = pool_new(0);
    fake_reset(8 * MIB);
    f = open_v(p, 1);
    ok(read_all(f, 1, MIB) == 0 && fake.streams == 0 && fake.reads == 8,
       "no budget: every read is a GET of its own");
    prefetch_close(f);
    prefetch_pool_free(p);
}

/* The blob is overwritten while a stream delivers it: the stream, one GET, delivers its
 * version whole; any GET made after the change fails, and so does every later read. */
/* Whether the pool goes quiet: no GET running or about to (polled, twice in a row). */
static bool wait_quiet(void)
{
    struct prefetch_stats st;
    int calm = 0;

    for (int i = 0; i < 1000 && calm < 2; i++) {
        nanosleep(&(struct timespec){.tv_nsec = 5000000}, NULL);
        prefetch_pool_stats(fake.pool, &st);
        pthread_mutex_lock(&fake.lock);
        calm = fake.active == 0 && st.running == 0 ? calm + 1 : 0;
        pthread_mutex_unlock(&fake.lock);
    }
    return calm == 2;
}

/* The blob is overwritten during a read: what GETs made before fetched is read as it was
 * (version 1); the first read that needs a GET made after fails with ESTALE, and so does
 * every later one, also of bytes already fetched: never bytes of version 2. */
static void test_etag_change(void)
{
    struct prefetch_pool *p = pool_new(64u * MIB); /* the window cannot hold the blob */
    off_t off = 2 * MIB;
    ssize_t n = 0;

    fake_reset(200 * MIB);
    struct prefetch_file *f = open_v(p, 1);
    ok(read_check(f, 1, 0, MIB) == MIB && read_check(f, 1, MIB, MIB) == MIB,
       "the first reads, segments under way");
    ok(wait_quiet(), "their GETs are done (%u)", fake.streams);
    unsigned before = fake.streams;
    pthread_mutex_lock(&fake.lock);
    fake.version = 2;
    pthread_mutex_unlock(&fake.lock);
    for (; off < fake.size; off += MIB) {
        n = read_check(f, 1, off, MIB);
        if (n != MIB)
            break;
    }
    ok(off > 2 * MIB && n == -ESTALE && fake.streams > before,
       "version 1 up to %lld MiB, fetched before the change, then ESTALE", (long long)off / MIB);
    ok(read_check(f, 1, 3 * MIB, MIB) == -ESTALE, "and every later read of the file");
    prefetch_close(f);
    f = open_v(p, 2);
    ok(read_all(f, 2, MIB) == 0, "the new version opens and reads");
    prefetch_close(f);
    fake_reset(32 * MIB);
    f = open_v(p, 1);
    ok(read_check(f, 1, 0, MIB) == MIB, "a first read");
    pthread_mutex_lock(&fake.lock);
    fake.version = 2;
    pthread_mutex_unlock(&fake.lock);
    ok(read_check(f, 1, 20 * MIB, 4096) == -ESTALE, "a read far away, after a change: ESTALE");
    prefetch_close(f);
    prefetch_pool_free(p);
}

struct reader {
    struct prefetch_file *f;
    unsigned first, step; /* reads MiB first, first + step, ... */
    ssize_t result;
};

static void *reader_run(void *arg)
{
    struct reader *r = arg;

    r->result = 0;
    for (off_t off = (off_t)r->first * MIB; off < fake.size && !r->result;
         off += (off_t)r->step * MIB) {
        ssize_t n = read_check(r->f, 1, off, MIB);
        r->result = n < 0 ? n : 0;
    }
    return NULL;
}

static bool run_readers(struct reader *r, size_t n)
{
    pthread_t t[8];
    bool right = true;

    for (size_t i = 0; i < n; i++)
        pthread_create(&t[i], NULL, reader_run, &r[i]);
    for (size_t i = 0; i < n; i++) {
        pthread_join(t[i], NULL);
        right = right && r[i].result == 0;
    }
    return right;
}

static void test_concurrent(void)
{
    struct prefetch_pool *p = pool_new(64u * MIB);
    struct reader r[4];

    fake_reset(48 * MIB);
    for (unsigned i = 0; i < 4; i++)
        r[i] = (struct reader){.f = open_v(p, 1), .first = 0, .step = 1};
    ok(run_readers(r, 4), "four files of one blob read at once, each in order");
    for (unsigned i = 0; i < 4; i++)
        prefetch_close(r[i].f);
    struct prefetch_file *f = open_v(p, 1);
    for (unsigned i = 0; i < 4; i++)
        r[i] = (struct reader){.f = f, .first = i, .step = 4};
    ok(run_readers(r, 4), "four threads reading one file, interleaved");
    prefetch_close(f);
    prefetch_pool_free(p);
}

static void test_errors(void)
{
    struct prefetch_pool *p = pool_new(256u * MIB);

    fake_reset(16 * MIB);
    pthread_mutex_lock(&fake.lock);
    fake.fail = -EIO;
    pthread_mutex_unlock(&fake.lock);
    struct prefetch_file *f = open_v(p, 1);
    ok(read_check(f, 1, 0, MIB) == -EIO, "an origin failing: the read fails with its error");
    unsigned asked = fake.reads + fake.streams;
    ok(read_check(f, 1, 0, MIB) == -EIO && fake.reads + fake.streams == asked,
       "the kernel's retry of that read fails at once, without a request");
    prefetch_close(f);
    pthread_mutex_lock(&fake.lock);
    fake.fail = -EACCES;
    pthread_mutex_unlock(&fake.lock);
    f = open_v(p, 1);
    ok(read_check(f, 1, 5 * MIB, 4096) == -EACCES, "access denied passes through");
    prefetch_close(f);
    pthread_mutex_lock(&fake.lock);
    fake.fail = 0;
    pthread_mutex_unlock(&fake.lock);
    f = open_v(p, 1);
    ok(read_all(f, 1, MIB) == 0, "the origin back: a new open reads");
    prefetch_close(f);
    prefetch_pool_free(p);
}

/* A stream held up by the origin: the reader waits for the bytes it needs, then gets them. */
static void *read_first(void *arg)
{
    struct reader *r = arg;

    r->result = read_check(r->f, 1, 0, MIB);
    return NULL;
}

static bool is_holding(void)
{
    for (int i = 0; i < 500; i++) { /* polled: the stream starts on a worker */
        pthread_mutex_lock(&fake.lock);
        bool yes = fake.holding > 0;
        pthread_mutex_unlock(&fake.lock);
        if (yes)
            return true;
        nanosleep(&(struct timespec){.tv_nsec = 2000000}, NULL);
    }
    return false;
}

static void test_waiting(void)
{
    struct prefetch_pool *p = pool_new(256u * MIB);
    struct reader r = {.result = 1};
    pthread_t t;

    fake_reset(8 * MIB);
    set_paused(true);
    r.f = open_v(p, 1);
    pthread_create(&t, NULL, read_first, &r);
    ok(is_holding(), "the origin holds the first GET's bytes");
    ok(__atomic_load_n(&r.result, __ATOMIC_SEQ_CST) == 1, "the read waits meanwhile");
    set_paused(false);
    pthread_join(t, NULL);
    ok(r.result == MIB, "then returns the bytes (%zd)", r.result);
    ok(read_all(r.f, 1, MIB) == 0, "and the rest follows");
    prefetch_close(r.f);
    prefetch_pool_free(p);
}

int main(void)
{
    test_sequential();
    test_fixed_segment();
    test_parallel();
    test_fast_link();
    test_fair();
    test_random();
    test_references();
    test_budget();
    test_etag_change();
    test_concurrent();
    test_errors();
    test_waiting();
    return check_done();
}
