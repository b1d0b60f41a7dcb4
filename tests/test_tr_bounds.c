/* Tests for the bounds tr_apply() keeps, whatever the source and the chain: the pixel limits
 * on the page actually loaded, arithmetic that never overflows on the way to a clean error,
 * the memory budget, the deadline and the cancel flag of one call, progressive JPEGs.
 * Sources are made here with libvips (and one with libjpeg). */
#include "tr.h"

#include "check.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/resource.h>
#include <time.h>

#include <jpeglib.h>
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

/* The bounds of one call (tr_request's), and what it said about its source. */
struct call {
    size_t max_mem;
    uint64_t deadline_ns;
    const atomic_bool *cancel;
    bool direct; /* out: the JPEG was decoded by tr_jpeg.c */
};

/* text on s with limits lim and the bounds of k; the result's rc and message, the image
 * released. */
static int run_call(const char *text, struct src s, const struct tr_limits *lim, struct call *k,
                    char err[TR_ERR_LEN])
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
                            .limits = lim,
                            .max_mem = k->max_mem,
                            .deadline_ns = k->deadline_ns,
                            .cancel = k->cancel};
    rc = tr_apply(&rq, &img, err);
    k->direct = rc == 0 && img.load_direct;
    if (rc == 0)
        tr_image_release(&img);
    return rc;
}

static int run(const char *text, struct src s, const struct tr_limits *lim, char err[TR_ERR_LEN])
{
    return run_call(text, s, lim, &(struct call){0}, err);
}

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* w x h of RGB noise, encoded by the saver suffix names. */
static struct src noise(int w, int h, const char *suffix)
{
    VipsImage *n[3] = {NULL}, *rgb = NULL, *u = NULL;
    struct src s = {NULL, 0};

    for (int i = 0; i < 3; i++)
        check_setup(vips_gaussnoise(&n[i], w, h, "sigma", 40.0, NULL), "noise");
    check_setup(vips_bandjoin(n, &rgb, 3, NULL), "bandjoin");
    check_setup(vips_cast_uchar(rgb, &u, NULL), "cast");
    u->Type = VIPS_INTERPRETATION_sRGB;
    check_setup(vips_image_write_to_buffer(u, suffix, &s.data, &s.len, NULL), suffix);
    for (int i = 0; i < 3; i++)
        g_object_unref(n[i]);
    g_object_unref(rgb);
    g_object_unref(u);
    return s;
}

static long peak_rss_mb(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024;
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

/* step, eight times, ':'-joined, into buf. */
static const char *eight(const char *step, char *buf, size_t cap)
{
    size_t n = 0;

    for (int i = 0; i < 8; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%s", i ? ":" : "", step);
    return buf;
}

/* The memory budget counts what a call renders into memory, and refuses the allocation that
 * would go past it, before it happens: a chain of eight steps that each hold their image no
 * longer multiplies memory. */
static void test_budget(const struct tr_limits *lim)
{
    struct src small = noise(100, 100, ".png"), photo = noise(2000, 1500, ".jpg");
    char text[512], err[TR_ERR_LEN];
    long before = peak_rss_mb();
    int rc;

    rc = run_call(eight("w-9999,h-9999,c-force,fl-v,e-contrast", text, sizeof(text)), small, lim,
                  &(struct call){.max_mem = 256 << 20}, err);
    ok(rc == -E2BIG && strstr(err, "256 MB of memory"),
       "8 x w-9999,h-9999,fl-v,e-contrast in "
       "256 MB: -E2BIG (%d: %s)",
       rc, err);
    ok(peak_rss_mb() - before < 100, "refused before the 300 MB image is allocated (+%ld MB)",
       peak_rss_mb() - before);
    eight("w-500,h-500,c-force,fl-v,e-contrast", text, sizeof(text));
    rc = run_call(text, small, lim, &(struct call){.max_mem = 4 << 20}, err);
    ok(rc == -E2BIG, "8 x w-500,h-500,fl-v,e-contrast (0.75 MB each time) in 4 MB: -E2BIG (%d: %s)",
       rc, err);
    rc = run(text, small, lim, err);
    ok(rc == 0, "the same without a budget runs (%d: %s)", rc, err);
    rc = run_call("w-300", small, lim, &(struct call){.max_mem = 16 << 20}, err);
    ok(rc == 0, "w-300 runs in 16 MB (%d: %s)", rc, err);
    rc = run_call("w-2000", photo, lim, &(struct call){.max_mem = 4 << 20}, err);
    ok(rc == -E2BIG && strstr(err, "decoded source"),
       "a 2000x1500 JPEG decoded whole in 4 MB: -E2BIG (%s)", err);
    g_free(small.data);
    g_free(photo.data);
}

struct canceller {
    atomic_bool flag;
    uint64_t at_ns; /* when it was set */
};

/* The client leaves a while after the transform started. */
static void *cancel_soon(void *arg)
{
    struct canceller *c = arg;

    nanosleep(&(struct timespec){0, 200000000}, NULL);
    c->at_ns = now_ns();
    atomic_store(&c->flag, true);
    return NULL;
}

/* The deadline and the cancel flag stop a transform through libvips's kill flag, and an
 * encoder nothing can stop (AVIF) is left to finish on a helper thread: either way the call
 * returns about when it should, not when the encode would have ended (seconds later). */
static void test_deadline(const struct tr_limits *lim)
{
    struct src small = noise(200, 200, ".png");
    const char *slow = "w-6000,h-6000,c-force,f-png,lo-true"; /* 36 MP of zlib: many seconds */
    struct canceller c = {.flag = false};
    char err[TR_ERR_LEN];
    uint64_t t0 = now_ns();
    pthread_t t;
    int rc;

    rc = run_call("w-100", small, lim, &(struct call){.deadline_ns = 1}, err);
    ok(rc == -ETIMEDOUT && strstr(err, "deadline"), "a deadline already past: -ETIMEDOUT (%s)",
       err);
    t0 = now_ns();
    rc = run_call(slow, small, lim, &(struct call){.deadline_ns = t0 + 300000000}, err);
    ok(rc == -ETIMEDOUT, "a 36 MP PNG encode with a deadline 0.3 s away: -ETIMEDOUT (%d: %s)", rc,
       err);
    ok(now_ns() - t0 < 5000000000, "returned %.2f s after it started (the kill flag stopped it)",
       (now_ns() - t0) / 1e9);
    t0 = now_ns();
    rc = run_call("w-1000,h-800,c-force,f-avif", small, lim,
                  &(struct call){.deadline_ns = t0 + 200000000}, err);
    ok(rc == -ETIMEDOUT, "a 0.8 MP AVIF encode with a deadline 0.2 s away: -ETIMEDOUT (%d: %s)", rc,
       err);
    ok(now_ns() - t0 < 1500000000, "returned %.2f s after it started (libaom goes on without it)",
       (now_ns() - t0) / 1e9);
    pthread_create(&t, NULL, cancel_soon, &c);
    rc = run_call(slow, small, lim, &(struct call){.cancel = &c.flag}, err);
    pthread_join(t, NULL);
    ok(rc == -ECANCELED && strstr(err, "cancelled"),
       "cancelled from another thread: -ECANCELED (%d: %s)", rc, err);
    ok(now_ns() - c.at_ns < 5000000000, "returned %.2f s after the flag was set",
       (now_ns() - c.at_ns) / 1e9);
    g_free(small.data);
}

/* A JPEG of 64x64 noise whose scan script codes every AC coefficient of every component in a
 * scan of its own: 190 scans, a valid progressive file. */
static struct src many_scans(void)
{
    static jpeg_scan_info script[1 + 3 * 63];
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr e;
    unsigned char *out = NULL, row[64 * 3];
    unsigned long len = 0;
    int n = 0;

    script[n++] = (jpeg_scan_info){3, {0, 1, 2, 0}, 0, 0, 0, 0};
    for (int k = 0; k < 3; k++)
        for (int ss = 1; ss < 64; ss++)
            script[n++] = (jpeg_scan_info){1, {k, 0, 0, 0}, ss, ss, 0, 0};
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &out, &len);
    c.image_width = c.image_height = 64;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    c.scan_info = script;
    c.num_scans = n;
    jpeg_start_compress(&c, TRUE);
    for (int y = 0; c.next_scanline < 64; y++) {
        for (int x = 0; x < 64 * 3; x++)
            row[x] = (unsigned char)(x * 7 + y * 13 + (x * y) % 31);
        JSAMPROW rows[1] = {row};
        jpeg_write_scanlines(&c, rows, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    return (struct src){out, len};
}

/* Progressive JPEGs: libjpeg holds every coefficient whatever the output size, and spends a
 * pass over them per scan. A 100 MP one shrunk to 300 px goes to libvips's loader, its
 * 200 MB of coefficients counted; too many scans are refused before any decoder runs. */
static void test_progressive(const struct tr_limits *lim)
{
    VipsImage *black = NULL;
    struct src big = {NULL, 0}, scans = many_scans();
    struct call k = {0};
    char err[TR_ERR_LEN];
    int rc;

    check_setup(vips_black(&black, 10000, 10000, NULL), "black");
    check_setup(vips_jpegsave_buffer(black, &big.data, &big.len, "interlace", TRUE, "Q", 50, NULL),
                "progressive jpeg");
    g_object_unref(black);
    rc = run_call("w-300", big, lim, &k, err);
    ok(rc == 0 && !k.direct, "a 100 MP progressive JPEG to w-300: libvips's loader (%d: %s)", rc,
       err);
    rc = run_call("w-300", big, lim, &(struct call){.max_mem = 128 << 20}, err);
    ok(rc == -E2BIG && strstr(err, "coefficients"), "in 128 MB: -E2BIG (%s)", err);
    rc = run("w-32", scans, lim, err);
    ok(rc == -E2BIG && strstr(err, "190 scans"), "a JPEG of 190 scans: -E2BIG (%s)", err);
    free(scans.data);
    g_free(big.data);
}

/* Three 48x32 frames of noise, an animated GIF. */
static struct src animation(void)
{
    VipsImage *f[3] = {NULL}, *strip = NULL, *copy = NULL;
    struct src s = {NULL, 0};

    for (int i = 0; i < 3; i++) {
        struct src one = noise(48, 32, ".png");

        f[i] = vips_image_new_from_buffer(one.data, one.len, "", NULL);
        check_setup(!f[i] || vips_image_wio_input(f[i]), "frame");
        g_free(one.data);
    }
    check_setup(vips_arrayjoin(f, &strip, 3, "across", 1, NULL), "arrayjoin");
    check_setup(vips_copy(strip, &copy, NULL), "copy");
    vips_image_set_int(copy, VIPS_META_PAGE_HEIGHT, 32);
    check_setup(vips_image_write_to_buffer(copy, ".gif", &s.data, &s.len, NULL), "gif");
    for (int i = 0; i < 3; i++)
        g_object_unref(f[i]);
    g_object_unref(strip);
    g_object_unref(copy);
    return s;
}

/* text on s, its output into img (release it). */
static int output(const char *text, struct src s, const struct tr_limits *lim, uint64_t deadline,
                  struct tr_image *img, char err[TR_ERR_LEN])
{
    struct tr_chain c;
    struct tr_sniff sn;

    tr_chain_init(&c);
    tr_sniff(s.data, s.len, &sn);
    if (tr_parse(&c, text, strlen(text), NULL, err))
        return -EINVAL;
    struct tr_request rq = {.chain = &c,
                            .src = s.data,
                            .len = s.len,
                            .format = tr_pick_format(&c, &sn, NULL, false),
                            .limits = lim,
                            .deadline_ns = deadline};
    return tr_apply(&rq, img, err);
}

/* A deadline far away changes no byte: an encoder nothing can stop runs on a helper thread,
 * from the image rendered into memory first, and gives what it gives inline. */
static void test_same_bytes(const struct tr_limits *lim)
{
    struct src photo = noise(200, 150, ".jpg"), gif = animation();
    const char *texts[] = {"w-64,f-avif", "w-64,f-webp",        "w-64,f-webp,lo-true",
                           "w-64,f-png",  "w-64,f-jpg,pr-true", "w-64,f-png,lo-true",
                           "w-30,f-gif",  "w-30,f-webp"};

    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        struct src s = strstr(texts[i], "w-30") ? gif : photo;
        struct tr_image a = {0}, b = {0};
        char err[TR_ERR_LEN];
        int rc = output(texts[i], s, lim, 0, &a, err);

        rc = rc ? rc : output(texts[i], s, lim, now_ns() + 60000000000u, &b, err);
        ok(rc == 0 && a.len == b.len && memcmp(a.data, b.data, a.len) == 0 && a.height == b.height,
           "%s: the same bytes with a deadline (%zu, %zu; %s)", texts[i], a.len, b.len, err);
        tr_image_release(&a);
        tr_image_release(&b);
    }
    g_free(photo.data);
    g_free(gif.data);
}

int main(int argc, char **argv)
{
    struct tr_limits lim = TR_LIMITS_DEFAULT;

    (void)argc;
    if (tr_init(argv[0], 1))
        return 2;
    test_page_limits(&lim);
    test_extreme_geometry(&lim);
    test_budget(&lim);
    test_same_bytes(&lim);
    test_deadline(&lim);
    test_progressive(&lim);
    tr_shutdown();
    return check_done();
}
