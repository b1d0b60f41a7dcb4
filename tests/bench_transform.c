/* tests/bench_transform.c: one throughput measurement for scripts/bench-transform.sh.
 *
 *   bench_transform MODE FILE W H THREADS SECONDS [LOGO]
 *
 * THREADS threads turn FILE (a JPEG, in memory) into a W-wide JPEG (W x H, centre crop, when H
 * is not 0) for SECONDS, and the program prints "<images/s> <peak RSS KiB> <CPU ms/image>"
 * (CPU time is the steadier figure on a shared machine). MODE is
 *   blobkit    tr_apply() on "w-W[,h-H]", exactly what blobhttpd runs;
 *   blobkit-vips  the same with max_direct_pixels 0: JPEG decoded by libvips's loader rather
 *              than by tr_jpeg.c, to measure what the direct decoder saves;
 *   blobkit-bounded  the same with a memory budget (512 MiB), a deadline (30 s away) and a
 *              cancel flag, as blobhttpd sets them: what watching a call costs;
 *   blobkit-watermark  tr_apply() on "w-W,h-H,l-image,i-LOGO,lfo-bottom_right,l-end", LOGO
 *              decoded once beforehand, as blobhttpd's cache of decoded layers holds it;
 *   blobkit-text  tr_apply() on the crop with a caption (l-text, white on a translucent box);
 *   thumbnail  bare vips_thumbnail_buffer();
 *   shrink     bare libvips with our shrink-on-load: jpegload shrink 2/4/8, resize, crop.
 * All three encode alike (Q 80, optimised Huffman, stripped) with the same libvips settings
 * (tr_init: cache off, one libvips thread per request thread). */
#include "tr.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <vips/vips.h>

struct bench {
    const char *mode;
    void *src;
    size_t len;
    int w, h;
    struct tr_chain chain;
    const struct tr_source *layers[TR_MAX_LAYERS];
    double deadline;
    long done;            /* images made, all threads */
    pthread_mutex_t lock; /* guards done */
};

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int save_jpeg(VipsImage *im)
{
    void *buf = NULL;
    size_t len;
    int rc =
        vips_jpegsave_buffer(im, &buf, &len, "Q", 80, "optimize_coding", TRUE, "strip", TRUE, NULL);

    g_free(buf);
    return rc;
}

static int one_blobkit(struct bench *b)
{
    static const atomic_bool never = false;
    struct tr_request rq = {.chain = &b->chain,
                            .src = b->src,
                            .len = b->len,
                            .format = TR_FMT_JPEG,
                            .layer_src = b->layers};
    struct tr_limits lim = TR_LIMITS_DEFAULT;
    struct tr_image img;
    char err[TR_ERR_LEN];
    int rc;

    if (strcmp(b->mode, "blobkit-vips") == 0)
        lim.max_direct_pixels = 0;
    if (strcmp(b->mode, "blobkit-bounded") == 0) {
        rq.max_mem = (size_t)512 << 20;
        rq.deadline_ns = (uint64_t)((now() + 30) * 1e9);
        rq.cancel = &never;
    }
    rq.limits = &lim;
    rc = tr_apply(&rq, &img, err);
    if (rc)
        fprintf(stderr, "bench: %s\n", err);
    tr_image_release(&img);
    return rc;
}

static int one_thumbnail(struct bench *b)
{
    VipsImage *im = NULL;
    int rc =
        vips_thumbnail_buffer(b->src, b->len, &im, b->w, "height", b->h ? b->h : 10000000, "crop",
                              b->h ? VIPS_INTERESTING_CENTRE : VIPS_INTERESTING_NONE, NULL);

    rc = rc ? rc : save_jpeg(im);
    if (im)
        g_object_unref(im);
    return rc;
}

/* The largest JPEG shrink (2/4/8) that leaves the image at least the size to resize to. */
static int jpeg_shrink(double factor)
{
    return factor >= 8 ? 8 : factor >= 4 ? 4 : factor >= 2 ? 2 : 1;
}

static int one_shrink(struct bench *b)
{
    VipsObject *ctx = VIPS_OBJECT(vips_image_new());
    VipsImage **t = (VipsImage **)vips_object_local_array(ctx, 4);
    double scale;
    int rc = vips_jpegload_buffer(b->src, b->len, &t[0], "access", VIPS_ACCESS_SEQUENTIAL, NULL);

    if (!rc) {
        scale = b->h ? fmax((double)b->w / t[0]->Xsize, (double)b->h / t[0]->Ysize)
                     : (double)b->w / t[0]->Xsize;
        rc = vips_jpegload_buffer(b->src, b->len, &t[1], "access", VIPS_ACCESS_SEQUENTIAL, "shrink",
                                  jpeg_shrink(1 / scale), NULL);
    }
    if (!rc)
        rc = vips_resize(t[1], &t[2], scale * t[0]->Xsize / t[1]->Xsize, NULL);
    if (!rc && b->h)
        rc = vips_crop(t[2], &t[3], (t[2]->Xsize - b->w) / 2, (t[2]->Ysize - b->h) / 2, b->w, b->h,
                       NULL);
    if (!rc)
        rc = save_jpeg(b->h ? t[3] : t[2]);
    g_object_unref(ctx);
    return rc;
}

static void *worker(void *arg)
{
    struct bench *b = arg;
    int (*one)(struct bench *) = strncmp(b->mode, "blobkit", 7) == 0 ? one_blobkit
                                 : strcmp(b->mode, "thumbnail") == 0 ? one_thumbnail
                                                                     : one_shrink;
    long n = 0;

    while (now() < b->deadline) {
        if (one(b)) {
            fprintf(stderr, "bench: %s failed: %s\n", b->mode, vips_error_buffer());
            exit(1);
        }
        n++;
    }
    pthread_mutex_lock(&b->lock);
    b->done += n;
    pthread_mutex_unlock(&b->lock);
    tr_thread_done();
    return NULL;
}

/* User + system CPU seconds of the process so far. */
static double cpu_seconds(struct rusage *ru)
{
    getrusage(RUSAGE_SELF, ru);
    return (double)(ru->ru_utime.tv_sec + ru->ru_stime.tv_sec) +
           (ru->ru_utime.tv_usec + ru->ru_stime.tv_usec) / 1e6;
}

static void *read_file(const char *path, size_t *len)
{
    gchar *data = NULL;
    gsize n = 0;

    if (!g_file_get_contents(path, &data, &n, NULL))
        return NULL;
    *len = n;
    return data;
}

/* The chain of b's mode; for blobkit-watermark, the logo decoded (once, as blobhttpd caches
 * it). Returns 0, or -1 after saying why. */
static int set_chain(struct bench *b, const char *logo, struct tr_source **src)
{
    char text[256], err[TR_ERR_LEN];
    int n = snprintf(text, sizeof(text), b->h ? "w-%d,h-%d" : "w-%d", b->w, b->h);
    size_t len = 0;
    void *data = NULL;

    if (strcmp(b->mode, "blobkit-watermark") == 0)
        snprintf(text + n, sizeof(text) - (size_t)n, ",l-image,i-logo.png,lfo-bottom_right,l-end");
    if (strcmp(b->mode, "blobkit-text") == 0)
        snprintf(text + n, sizeof(text) - (size_t)n,
                 ",l-text,i-Photo by blobkit,fs-18,co-FFFFFF,bg-00000080,pa-6,lfo-bottom,l-end");
    tr_chain_init(&b->chain);
    if (tr_parse(&b->chain, text, strlen(text), NULL, err)) {
        fprintf(stderr, "bench: %s\n", err);
        return -1;
    }
    if (b->chain.nlayers == 0 || b->chain.layer[0].type != TR_LAYER_IMAGE)
        return 0;
    const struct tr_limits lim = TR_LIMITS_DEFAULT;
    if (!logo || !(data = read_file(logo, &len)) || tr_source_new(data, len, &lim, src, err)) {
        fprintf(stderr, "bench: the watermark mode needs a LOGO image\n");
        g_free(data);
        return -1;
    }
    g_free(data);
    b->layers[0] = *src;
    return 0;
}

int main(int argc, char **argv)
{
    struct bench b = {.lock = PTHREAD_MUTEX_INITIALIZER};
    struct tr_source *logo = NULL;
    pthread_t t[16];
    struct rusage ru;
    int threads;
    double secs, t0, cpu0;

    if ((argc != 7 && argc != 8) || tr_init(argv[0], 1)) {
        fprintf(stderr, "usage: bench_transform blobkit|blobkit-vips|blobkit-bounded|"
                        "blobkit-watermark|blobkit-text|thumbnail|shrink FILE W H THREADS SECONDS "
                        "[LOGO]\n");
        return 2;
    }
    b.mode = argv[1];
    b.src = read_file(argv[2], &b.len);
    b.w = (int)strtol(argv[3], NULL, 10);
    b.h = (int)strtol(argv[4], NULL, 10);
    threads = (int)strtol(argv[5], NULL, 10);
    secs = strtod(argv[6], NULL);
    if (!b.src || b.w < 1 || threads < 1 || threads > 16 || !(secs > 0) ||
        set_chain(&b, argc == 8 ? argv[7] : NULL, &logo)) {
        fprintf(stderr, "bench: bad arguments\n");
        return 2;
    }
    b.deadline = now() + 0.3; /* warm up: page in the code, settle malloc */
    worker(&b);
    b.done = 0;
    cpu0 = cpu_seconds(&ru);
    t0 = now();
    b.deadline = t0 + secs;
    for (int i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, worker, &b);
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    secs = now() - t0;
    cpu0 = cpu_seconds(&ru) - cpu0;
    printf("%.1f %ld %.2f\n", b.done / secs, ru.ru_maxrss, b.done ? 1000 * cpu0 / b.done : 0);
    g_free(b.src);
    tr_source_free(logo);
    tr_shutdown();
    return 0;
}
