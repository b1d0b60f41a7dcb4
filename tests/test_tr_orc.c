/* Unit test for transform/tr_orc.c: threads building and dropping resize pipelines at once,
 * the pattern that corrupts liborc 0.4.33's code memory without the lock (without it, 8 runs
 * of 8 crashed here within 5 s, about 1,200 resizes). Each thread makes a fixed number of
 * resizes (TR_ORC_RESIZES, 300 by default), however long that takes on a busy machine. */
#include "tr.h"
#include "tr_orc.h"

#include <pthread.h>
#include <vips/vips.h>

#include "check.h"

#define THREADS 4

struct job {
    unsigned long count; /* resizes to make */
    unsigned long done, failed;
};

/* Resize a small image (vips_resize builds a vips_reducev, which compiles orc programs and
 * frees them when the pipeline goes) count times; each resize is evaluated. */
static void *resizer(void *arg)
{
    struct job *j = arg;
    VipsImage *black = NULL, *img = NULL;

    if (vips_black(&black, 64, 64, "bands", 3, NULL) || vips_cast_uchar(black, &img, NULL)) {
        j->failed++;
        goto out;
    }
    for (unsigned long i = 0; i < j->count; i++) {
        VipsImage *small = NULL;
        size_t len;
        void *px = NULL;
        if (vips_resize(img, &small, 0.37 + (double)(i % 7) / 100, NULL) == 0)
            px = vips_image_write_to_memory(small, &len);
        if (px)
            j->done++;
        else
            j->failed++;
        g_free(px);
        if (small)
            g_object_unref(small);
    }
out:
    if (img)
        g_object_unref(img);
    if (black)
        g_object_unref(black);
    tr_thread_done();
    return NULL;
}

int main(int argc, char **argv)
{
    const char *env = getenv("TR_ORC_RESIZES");
    unsigned long count = env ? strtoul(env, NULL, 10) : 300;
    struct job jobs[THREADS];
    pthread_t t[THREADS];
    unsigned long done = 0, failed = 0;

    (void)argc;
    if (!ok(tr_init(argv[0], 1) == 0, "libvips starts"))
        return check_done();
    ok(tr_orc_guarded(), "libvips's orc_program_compile/free calls go through tr_orc.c's lock");
    unsigned long before = tr_orc_compiled();
    for (int i = 0; i < THREADS; i++) {
        jobs[i] = (struct job){.count = count};
        pthread_create(&t[i], NULL, resizer, &jobs[i]);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        done += jobs[i].done;
        failed += jobs[i].failed;
    }
    ok(failed == 0 && done == count * THREADS,
       "%d threads: %lu resizes, none failed (%lu failed), no crash", THREADS, done, failed);
    ok(tr_orc_compiled() - before >= done,
       "every resize compiled its orc programs through the lock, so the test means something "
       "(%lu programs for %lu resizes; VIPS_NOVECTOR must be unset)",
       tr_orc_compiled() - before, done);
    tr_shutdown();
    return check_done();
}
