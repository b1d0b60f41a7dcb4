/* Tests for the bounds tr_apply() keeps, whatever the source and the chain: the pixel limits
 * on the page actually loaded, arithmetic that never overflows on the way to a clean error.
 * Sources are made here with libvips. */
#include "tr.h"

#include "check.h"

#include <errno.h>
#include <stdint.h>
#include <sys/resource.h>

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

/* ---- A TIFF whose pages differ in size ---------------------------------------------------- */

struct buf {
    uint8_t *p;
    size_t len, cap;
};

static void put(struct buf *b, const void *data, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2;
        b->p = g_realloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
}

static void put16(struct buf *b, unsigned v)
{
    uint8_t le[2] = {(uint8_t)v, (uint8_t)(v >> 8)};

    put(b, le, 2);
}

static void put32(struct buf *b, uint32_t v)
{
    uint8_t le[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};

    put(b, le, 4);
}

/* One IFD entry of one value: SHORT (type 3) or LONG (type 4). */
static void tag(struct buf *b, unsigned id, unsigned type, uint32_t v)
{
    put16(b, id);
    put16(b, type);
    put32(b, 1);
    if (type == 3) {
        put16(b, v);
        put16(b, 0);
    } else {
        put32(b, v);
    }
}

/* A grey page's IFD, its one strip at data (bytes long, compressed as compression says), the
 * next IFD at next (0: none). */
static void ifd(struct buf *b, uint32_t w, uint32_t h, unsigned compression, uint32_t data,
                uint32_t bytes, uint32_t next)
{
    put16(b, 9);
    tag(b, 256, 4, w), tag(b, 257, 4, h), tag(b, 258, 3, 8), tag(b, 259, 3, compression);
    tag(b, 262, 3, 1), tag(b, 273, 4, data), tag(b, 277, 3, 1), tag(b, 278, 4, h);
    tag(b, 279, 4, bytes);
    put32(b, next);
}

/* Rows of big x big black pixels, PackBits: runs of 128 (header 0x81), the rest of a row in one
 * shorter run. 2.2 MB of file for 144 MP. */
static void packbits_rows(struct buf *b, uint32_t big)
{
    uint8_t run128[2] = {0x81, 0}, tail[2] = {(uint8_t)(257 - big % 128), 0};

    for (uint32_t y = 0; y < big; y++) {
        for (uint32_t i = 0; i < big / 128; i++)
            put(b, run128, 2);
        if (big % 128)
            put(b, tail, 2);
    }
}

/* A two-page TIFF: page 1 is 10x10 grey, page 2 big x big, black. */
static struct src two_page_tiff(uint32_t big)
{
    const uint32_t ifd_len = 2 + 9 * 12 + 4, small_data = 8 + 2 * ifd_len;
    struct buf b = {0};
    uint8_t grey[100];
    size_t big_data = small_data + sizeof(grey), rows;

    put(&b, "II*\0", 4);
    put32(&b, 8);
    rows = (size_t)big * (big / 128 + (big % 128 != 0)) * 2;
    ifd(&b, 10, 10, 1, small_data, sizeof(grey), 8 + ifd_len);
    ifd(&b, big, big, 32773, (uint32_t)big_data, (uint32_t)rows, 0);
    memset(grey, 128, sizeof(grey));
    put(&b, grey, sizeof(grey));
    packbits_rows(&b, big);
    return (struct src){b.p, b.len};
}

static long peak_rss_mb(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024;
}

/* pg-N: the limits apply to page N, checked on its header before it is decoded. */
static void test_page_limits(const struct tr_limits *lim)
{
    struct src tiff = two_page_tiff(12000);
    char err[TR_ERR_LEN];
    long before = peak_rss_mb();
    int rc = run("pg-2,f-jpg,q-1", tiff, lim, err);

    ok(rc == -E2BIG && strstr(err, "12000x12000"),
       "pg-2 of a TIFF whose page 2 is 144 MP: -E2BIG "
       "(%d: %s)",
       rc, err);
    ok(peak_rss_mb() - before < 100, "without decoding it (peak RSS grew %ld MB)",
       peak_rss_mb() - before);
    rc = run("pg-1,f-png", tiff, lim, err);
    ok(rc == 0, "pg-1, the 10x10 page, is served (%d: %s)", rc, err);
    rc = run("pg-3,f-png", tiff, lim, err);
    ok(rc == -EINVAL && strstr(err, "pg-3"), "pg-3 of two pages: -EINVAL (%d: %s)", rc, err);
    g_free(tiff.data);
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
    test_page_limits(&lim);
    test_extreme_geometry(&lim);
    tr_shutdown();
    return check_done();
}
