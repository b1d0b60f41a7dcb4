/* Tests for the bounds tr_apply() keeps, whatever the source and the chain: the pixel limits
 * on the page actually loaded, arithmetic that never overflows on the way to a clean error.
 * Sources are made here with libvips. */
#include "tr.h"

#include "check.h"

#include <errno.h>

#include <vips/vips.h>

/* An encoded source, g_malloc'ed. */
struct src {
    void *data;
    size_t len;
};

/* Stop when making a test image fails: nothing else could be trusted. */
static void check_setup(int rc, const char *what)
{
    if (rc) {
        fprintf(stderr, "test setup failed: %s: %s\n", what, vips_error_buffer());
        exit(2);
    }
}

/* A w x h grey image of value v, encoded by the saver suffix names (".png"), unreffed. */
static struct src flat(int w, int h, int v, const char *suffix)
{
    struct src s = {NULL, 0};
    VipsImage *black = NULL, *im = NULL;

    check_setup(vips_black(&black, w, h, NULL), "black");
    check_setup(vips_linear1(black, &im, 1, v, "uchar", TRUE, NULL), "linear");
    check_setup(vips_image_write_to_buffer(im, suffix, &s.data, &s.len, NULL), suffix);
    g_object_unref(black);
    g_object_unref(im);
    return s;
}

/* text on s with limits lim; the result's rc and message, the image released. */
static int run(const char *text, struct src s, const struct tr_limits *lim, char err[TR_ERR_LEN])
{
    struct tr_chain c;
    struct tr_sniff sn;
    struct tr_image img;
    int rc;

    tr_chain_init(&c);
    rc = tr_parse(&c, text, strlen(text), NULL, err);
    if (rc)
        return rc;
    tr_sniff(s.data, s.len, &sn);
    struct tr_request rq = {.chain = &c,
                            .src = s.data,
                            .len = s.len,
                            .format = tr_pick_format(&c, &sn, NULL, false),
                            .limits = lim};
    rc = tr_apply(&rq, &img, err);
    if (rc == 0)
        tr_image_release(&img);
    return rc;
}

/* Crop planning on extreme sizes ends in a clean error, never a signed overflow (which aborts
 * the sanitizer build): a 1x70000 PNG covered to 16383x1 would be resized to 16383 x 1.1e9. */
static void test_extreme_geometry(const struct tr_limits *lim)
{
    struct src tall = flat(1, 70000, 200, ".png");
    char err[TR_ERR_LEN];
    int rc;

    rc = run("w-16383,h-1,fo-bottom", tall, lim, err);
    ok(rc == -E2BIG, "1x70000, w-16383,h-1,fo-bottom: -E2BIG (%d: %s)", rc, err);
    rc = run("w-16383,h-1,fo-bottom,c-at_least", tall, lim, err);
    ok(rc == -E2BIG, "1x70000, c-at_least: -E2BIG (%d: %s)", rc, err);
    rc = run("w-16383,h-1,cm-pad_resize,fo-bottom_right", tall, lim, err);
    ok(rc == 0, "1x70000, cm-pad_resize to 16383x1 plans and runs (%d: %s)", rc, err);
    rc = run("w-10,h-10,cm-extract,y-ih_pow_9", tall, lim, err);
    ok(rc == -EINVAL, "1x70000, an extract at y 70000^9: -EINVAL (%d: %s)", rc, err);
    g_free(tall.data);
}

int main(int argc, char **argv)
{
    struct tr_limits lim = TR_LIMITS_DEFAULT;

    (void)argc;
    if (tr_init(argv[0], 1))
        return 2;
    test_extreme_geometry(&lim);
    tr_shutdown();
    return check_done();
}
