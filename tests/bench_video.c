/* tests/bench_video.c: in-process figures for scripts/bench-video.sh.
 *
 *   bench_video thumb FILE SO CHAIN ROUNDS OUT
 *
 * Makes the thumbnail at SO seconds with the image CHAIN ROUNDS times in one process, exactly as
 * blobhttpd will (vid_thumbnail, then tr_apply on the frame into a JPEG), writes the last one to
 * OUT and prints "<best ms> <median ms> <CPU ms per thumbnail> <peak RSS KiB> <mean ms in
 * vid_thumbnail>": the latency without a process start, which a server never pays per request,
 * and how much of it is the video part (the rest is the image engine's). */
#include "tr.h"
#include "vid.h"
#include "vid_chain.h"

#include "log.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define MAX_ROUNDS 1000

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double cpu_ms(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3 + ru.ru_stime.tv_sec * 1e3 +
           ru.ru_stime.tv_usec / 1e3;
}

static double frame_ms; /* of all rounds: time spent in vid_thumbnail() */
static struct vid_limits limits;
static const struct vid_job job = {.limits = &limits};

/* The frame, as blobhttpd takes it: shrunk as much as the chain allows. */
static int frame_of(int fd, double so, const struct tr_chain *chain, struct vid_frame *f)
{
    struct vid_thumb_req rq = {.so = so};
    char err[VID_ERR_LEN];
    double t0 = now_ms();
    int rc;

    vid_chain_fit(chain, &rq);
    rc = vid_thumbnail(fd, &rq, &job, f, err);
    frame_ms += now_ms() - t0;
    if (rc)
        fprintf(stderr, "bench_video: %s\n", err);
    return rc;
}

/* One thumbnail, as blobhttpd makes it. Returns 0, or -1 after saying why. */
static int one(int fd, double so, const struct tr_chain *chain, struct tr_image *img)
{
    struct tr_limits lim = TR_LIMITS_DEFAULT;
    struct vid_frame f;
    struct tr_pixels px;
    struct tr_request rq = {.chain = chain, .format = TR_FMT_JPEG, .limits = &lim, .pixels = &px};
    char err[TR_ERR_LEN];
    int rc;

    if (frame_of(fd, so, chain, &f))
        return -1;
    px = (struct tr_pixels){f.data, f.width, f.height, 3, f.stride};
    rc = tr_apply(&rq, img, err);
    vid_frame_release(&f);
    if (rc)
        fprintf(stderr, "bench_video: %s\n", err);
    return rc ? -1 : 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static int write_file(const char *path, const struct tr_image *img)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int rc = fd < 0 || write(fd, img->data, img->len) != (ssize_t)img->len;

    if (fd >= 0)
        close(fd);
    return rc ? -1 : 0;
}

static int thumb(const char *path, double so, const char *text, int rounds, const char *out)
{
    static double ms[MAX_ROUNDS];
    struct tr_chain chain;
    struct tr_image img = {0};
    struct rusage ru;
    char err[TR_ERR_LEN];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    double cpu0 = cpu_ms();

    tr_chain_init(&chain);
    if (fd < 0 || tr_parse(&chain, text, strlen(text), NULL, err))
        return 2;
    for (int i = 0; i < rounds; i++) {
        double t0 = now_ms();

        tr_image_release(&img);
        if (one(fd, so, &chain, &img))
            return 1;
        ms[i] = now_ms() - t0;
    }
    qsort(ms, (size_t)rounds, sizeof(ms[0]), cmp_double);
    getrusage(RUSAGE_SELF, &ru);
    printf("%.1f %.1f %.1f %ld %.1f\n", ms[0], ms[rounds / 2], (cpu_ms() - cpu0) / rounds,
           ru.ru_maxrss, frame_ms / rounds);
    close(fd);
    return write_file(out, &img) ? 1 : 0;
}

int main(int argc, char **argv)
{
    char *end;
    int rounds = argc == 7 ? (int)strtol(argv[5], &end, 10) : 0;
    int rc;

    if (argc != 7 || strcmp(argv[1], "thumb") != 0 || rounds < 1 || rounds > MAX_ROUNDS) {
        fprintf(stderr, "usage: bench_video thumb FILE SO CHAIN ROUNDS OUT\n");
        return 2;
    }
    limits = VID_LIMITS_DEFAULT;
    limits.threads = getenv("BENCH_THREADS") ? (int)strtol(getenv("BENCH_THREADS"), &end, 10) : 2;
    log_open("bench_video", NULL, LOG_LV_WARN);
    vid_init();
    if (tr_init(argv[0], 1))
        return 1;
    rc = thumb(argv[2], strtod(argv[3], NULL), argv[4], rounds, argv[6]);
    tr_shutdown();
    return rc;
}
