/* Tests for transform/tr_jpeg.c, the direct JPEG decoder: libjpeg alone, no libvips. The
 * sources are made here with libjpeg's own encoder; the decoder's pixels are compared with a
 * plain libjpeg decode of the same bytes, and every damaged input sits at the end of a page
 * followed by a PROT_NONE page, so that reading past the buffer faults. (test_tr_apply.c
 * compares the decoder with libvips's loader, through the whole pipeline.) */
#include "tr_jpeg.h"

#include "check.h"

#include <errno.h>
#include <sys/resource.h>
#include <time.h>

#include <jpeglib.h>

static const struct tr_jpeg_bounds unbounded = {UINT64_MAX, 0, 0, NULL};

/* A JPEG made by encode(): malloc'ed by libjpeg's memory destination. */
struct jpeg {
    unsigned char *data;
    size_t len;
};

/* What to encode: in_space/comps is what the pixels are, jpeg_space how they are stored. */
struct spec {
    int w, h, comps;
    J_COLOR_SPACE in_space, jpeg_space;
    bool full_chroma; /* 4:4:4 instead of libjpeg's default 4:2:0 */
    bool progressive;
    int restart; /* restart interval in MCU, 0: none */
};

/* A deterministic busy pattern (gradients and hashed noise), so that the data is long. */
static unsigned char sample(int x, int y, int c)
{
    uint32_t v = (uint32_t)x * 73856093u ^ (uint32_t)y * 19349663u ^ (uint32_t)c * 83492791u;

    v ^= v >> 13;
    return (unsigned char)((x * 2 + y + c * 60) / 2 + (v & 31));
}

static struct jpeg encode(const struct spec *sp)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr e;
    unsigned char *out = NULL, *row = malloc((size_t)sp->w * (size_t)sp->comps);
    unsigned long len = 0;

    c.err = jpeg_std_error(&e); /* a failure here exits: nothing else could be trusted */
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &out, &len);
    c.image_width = (JDIMENSION)sp->w;
    c.image_height = (JDIMENSION)sp->h;
    c.input_components = sp->comps;
    c.in_color_space = sp->in_space;
    jpeg_set_defaults(&c);
    jpeg_set_colorspace(&c, sp->jpeg_space);
    jpeg_set_quality(&c, 90, TRUE);
    if (sp->full_chroma)
        c.comp_info[0].h_samp_factor = c.comp_info[0].v_samp_factor = 1;
    if (sp->progressive)
        jpeg_simple_progression(&c);
    c.restart_interval = (unsigned)sp->restart;
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        for (int x = 0; x < sp->w; x++)
            for (int k = 0; k < sp->comps; k++)
                row[x * sp->comps + k] = sample(x, (int)c.next_scanline, k);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    free(row);
    return (struct jpeg){out, len};
}

/* The reference: libjpeg's plain decode at 1/shrink, RGB or grey out, its default settings,
 * at the size libjpeg rounds up to; *width is its width in pixels. */
static unsigned char *reference(const struct jpeg *j, int shrink, int *width)
{
    struct jpeg_decompress_struct d;
    struct jpeg_error_mgr e;
    unsigned char *out;
    size_t stride;

    d.err = jpeg_std_error(&e);
    jpeg_create_decompress(&d);
    jpeg_mem_src(&d, j->data, j->len);
    jpeg_read_header(&d, TRUE);
    d.scale_num = 1;
    d.scale_denom = (unsigned)shrink;
    d.out_color_space = d.num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_start_decompress(&d);
    stride = (size_t)d.output_width * (size_t)d.output_components;
    *width = (int)d.output_width;
    out = malloc(stride * d.output_height);
    while (d.output_scanline < d.output_height) {
        unsigned char *row = out + d.output_scanline * stride;

        jpeg_read_scanlines(&d, &row, 1);
    }
    jpeg_destroy_decompress(&d);
    return out;
}

/* Whether px is the top left of the reference decode ref, ref_width pixels wide. */
static bool same_pixels(const struct tr_jpeg_pixels *px, const unsigned char *ref, int ref_width)
{
    size_t row = (size_t)px->width * (size_t)px->bands;

    for (int y = 0; y < px->height; y++)
        if (memcmp(px->data + y * row, ref + (size_t)y * (size_t)ref_width * px->bands, row))
            return false;
    return true;
}

/* j at every scale: the size rounded down (libvips), the bands, the reference's pixels. */
static void decodes(const struct spec *sp, const char *what)
{
    struct jpeg j = encode(sp);
    char err[TR_ERR_LEN] = "";

    for (int s = 1; s <= 8; s *= 2) {
        struct tr_jpeg_pixels px;
        int rc = tr_jpeg_decode(j.data, j.len, s, &unbounded, &px, err), ref_width = 0;
        unsigned char *ref = rc == 0 ? reference(&j, s, &ref_width) : NULL;

        ok(rc == 0 && px.width == sp->w / s && px.height == sp->h / s && px.bands == sp->comps &&
               same_pixels(&px, ref, ref_width),
           "%s %dx%d at 1/%d: %dx%dx%d, libjpeg's own pixels (rc %d %s)", what, sp->w, sp->h, s,
           px.width, px.height, px.bands, rc, err);
        free(ref);
        tr_jpeg_free(px.data);
    }
    free(j.data);
}

/* rc of decoding j[0..len) placed against a guard page at 1/shrink. */
static int decode_guarded(const struct jpeg *j, size_t len, int shrink, char err[TR_ERR_LEN])
{
    const char *in = check_guard((const char *)j->data, len);
    struct tr_jpeg_pixels px;
    int rc = tr_jpeg_decode(in, len, shrink, &unbounded, &px, err);

    tr_jpeg_free(px.data);
    return rc;
}

/* Where the first scan's entropy-coded data starts: after the SOS marker segment. */
static size_t scan_start(const struct jpeg *j)
{
    for (size_t i = 2; i + 3 < j->len; i++)
        if (j->data[i] == 0xff && j->data[i + 1] == 0xda)
            return i + 2 + ((size_t)j->data[i + 2] << 8 | j->data[i + 3]);
    return j->len;
}

/* Every cut of j that loses data, at every length, is an error (never pixels padded grey)
 * and never reads past the buffer; the whole file decodes. (A cut inside the final EOI marker
 * loses no pixel: whether libjpeg notices depends on how far its bit reader looked ahead, and
 * test_tr_apply.c checks that libvips's loader then says the same.) */
static void truncations(const struct spec *sp, const char *what)
{
    struct jpeg j = encode(sp);
    char err[TR_ERR_LEN] = "";
    size_t wrong = 0, first_wrong = 0;

    for (size_t len = 0; len < j.len - 2; len++)
        if (decode_guarded(&j, len, len % 2 ? 8 : 1, err) != -EBADMSG && wrong++ == 0)
            first_wrong = len;
    ok(wrong == 0,
       "%s: all %zu cuts before the EOI marker are -EBADMSG (%zu are not, the first "
       "at %zu)",
       what, j.len - 2, wrong, first_wrong);
    ok(decode_guarded(&j, j.len, 8, err) == 0, "%s: the whole file decodes, against a guard page",
       what);
    decode_guarded(&j, scan_start(&j) + 40, 8, err);
    ok(strstr(err, "Premature end") != NULL, "%s: a cut says why: %s", what, err);
    free(j.data);
}

/* Bytes overwritten all over j (a cheap xorshift): pixels, an error, or (a header now
 * claiming CMYK, or a size below the scale) left to libvips; never a crash, an over-read or a
 * leak. The header bytes, where most damage is fatal, are hit too. */
static void corruptions(const struct spec *sp, const char *what)
{
    struct jpeg j = encode(sp);
    unsigned char *copy = malloc(j.len);
    uint32_t x = 2463534242u;
    char err[TR_ERR_LEN];
    int counts[4] = {0, 0, 0, 0}; /* decoded, -EBADMSG, -ENOTSUP, other */

    for (int i = 0; i < 600; i++) {
        memcpy(copy, j.data, j.len);
        for (int k = 0; k < 1 + i % 4; k++) {
            x ^= x << 13, x ^= x >> 17, x ^= x << 5;
            copy[2 + x % (j.len - 2)] = (unsigned char)(x >> 24);
        }
        struct jpeg c = {copy, j.len};
        int rc = decode_guarded(&c, c.len, 1 << (i % 4), err);

        counts[rc == 0 ? 0 : rc == -EBADMSG ? 1 : rc == -ENOTSUP ? 2 : 3]++;
    }
    ok(counts[3] == 0 && counts[0] > 0 && counts[1] > 0,
       "%s: 600 corrupted copies: %d decode, %d are -EBADMSG, %d -ENOTSUP, %d anything else", what,
       counts[0], counts[1], counts[2], counts[3]);
    free(copy);
    free(j.data);
}

/* j with its first n restart markers replaced by ones four ahead, each a warning. */
static struct jpeg misplace_restarts(const struct jpeg *j, int n)
{
    struct jpeg c = {malloc(j->len), j->len};

    memcpy(c.data, j->data, j->len);
    for (size_t i = scan_start(j); i + 1 < c.len && n > 0; i++)
        if (c.data[i] == 0xff && c.data[i + 1] >= 0xd0 && c.data[i + 1] <= 0xd7) {
            c.data[i + 1] = (unsigned char)(0xd0 + ((c.data[i + 1] - 0xd0 + 4) & 7));
            n--;
        }
    return c;
}

/* Data libjpeg warns about decodes as libjpeg recovers it, up to 99 warnings; the 100th is an
 * error, as in libvips 8.14. */
static void warnings(void)
{
    struct spec sp = {256, 256, 3, JCS_RGB, JCS_YCbCr, false, false, 1}; /* 255 restarts */
    struct jpeg j = encode(&sp), w99 = misplace_restarts(&j, 99), w100 = misplace_restarts(&j, 100);
    char err[TR_ERR_LEN] = "";

    ok(decode_guarded(&w99, w99.len, 8, err) == 0, "99 misplaced restart markers still decode");
    ok(decode_guarded(&w100, w100.len, 8, err) == -EBADMSG && strstr(err, "RST"),
       "the 100th is an error: %s", err);
    free(j.data);
    free(w99.data);
    free(w100.data);
}

/* Files the decoder leaves to libvips: -ENOTSUP, and err untouched. */
static void declines(const struct spec *sp, const char *what)
{
    struct jpeg j = encode(sp);
    struct tr_jpeg_pixels px;
    char err[TR_ERR_LEN] = "untouched";
    int rc = tr_jpeg_decode(j.data, j.len, 8, &unbounded, &px, err);

    ok(rc == -ENOTSUP && px.data == NULL && strcmp(err, "untouched") == 0,
       "%s is left to libvips (rc %d)", what, rc);
    free(j.data);
}

/* The pixel limit holds on the header's size, before anything is allocated: a tiny file that
 * claims 60000x60000 is refused at once. */
static void limits(void)
{
    struct spec sp = {64, 48, 3, JCS_RGB, JCS_YCbCr, false, false, 0};
    struct jpeg j = encode(&sp);
    struct tr_jpeg_pixels px;
    char err[TR_ERR_LEN] = "";

    ok(tr_jpeg_decode(j.data, j.len, 8, &(struct tr_jpeg_bounds){64 * 48 - 1, 0, 0, NULL}, &px,
                      err) == -E2BIG &&
           strstr(err, "64x48"),
       "one pixel over max_pixels: -E2BIG (%s)", err);
    ok(tr_jpeg_decode(j.data, j.len, 8, &(struct tr_jpeg_bounds){64 * 48, 0, 0, NULL}, &px, err) ==
               0 &&
           px.width == 8,
       "exactly max_pixels decodes");
    tr_jpeg_free(px.data);
    for (size_t i = 2; i + 8 < j.len; i++)
        if (j.data[i] == 0xff && j.data[i + 1] == 0xc0) {
            memcpy(j.data + i + 5, "\xea\x60\xea\x60", 4);
            break;
        }
    ok(tr_jpeg_decode(j.data, j.len, 8, &(struct tr_jpeg_bounds){100000000u, 0, 0, NULL}, &px,
                      err) == -E2BIG &&
           strstr(err, "60000x60000"),
       "a 60000x60000 header is refused before decoding: %s", err);
    ok(tr_jpeg_decode(j.data, j.len, 3, &unbounded, &px, err) == -ENOTSUP,
       "a scale libjpeg's DCT does not offer (1/3) is left to libvips");
    free(j.data);
}

/* j with its frame header saying w x h: a small file whose header claims a big image. */
static void claim_size(struct jpeg *j, int w, int h)
{
    for (size_t i = 2; i + 8 < j->len; i++)
        if (j->data[i] == 0xff && (j->data[i + 1] == 0xc0 || j->data[i + 1] == 0xc2)) {
            j->data[i + 5] = (unsigned char)(h >> 8), j->data[i + 6] = (unsigned char)h;
            j->data[i + 7] = (unsigned char)(w >> 8), j->data[i + 8] = (unsigned char)w;
            return;
        }
}

static long peak_rss_mb(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024;
}

/* The marker walk: scans and coefficients worked out by hand from libjpeg's layout. */
static void scan_info(void)
{
    struct jpeg base = encode(&(struct spec){64, 48, 3, JCS_RGB, JCS_YCbCr, false, false, 0});
    struct jpeg prog = encode(&(struct spec){64, 48, 3, JCS_RGB, JCS_YCbCr, false, true, 2});
    struct jpeg grey = encode(&(struct spec){61, 47, 1, JCS_GRAYSCALE, JCS_GRAYSCALE, 0, 1, 0});
    struct tr_jpeg_info in;

    int rc = tr_jpeg_scan(check_guard((char *)base.data, base.len), base.len, &in);

    ok(rc == 0 && !in.progressive && in.coef_bytes == 0, "a baseline JPEG is not progressive");
    /* 4:2:0: Y 8x6 blocks, Cb and Cr 4x3 each: 72 blocks of 64 2-byte coefficients */
    rc = tr_jpeg_scan(check_guard((char *)prog.data, prog.len), prog.len, &in);
    ok(rc == 0 && in.progressive && in.scans == 10 && in.coef_bytes == 72 * 128,
       "a progressive 64x48 JPEG: 10 scans, 9216 bytes of coefficients (%d, %llu)", in.scans,
       (unsigned long long)in.coef_bytes);
    rc = tr_jpeg_scan(check_guard((char *)grey.data, grey.len), grey.len, &in);
    ok(rc == 0 && in.scans == 6 && in.coef_bytes == 8 * 6 * 128,
       "a progressive 61x47 grey JPEG: 6 scans, 8x6 blocks (%d, %llu)", in.scans,
       (unsigned long long)in.coef_bytes);
    claim_size(&prog, 10000, 10000);
    rc = tr_jpeg_scan(prog.data, prog.len, &in);
    ok(rc == 0 && in.coef_bytes == 1250ull * 1250 * 128 * 3 / 2,
       "one claiming 10000x10000: 300 MB of coefficients (%llu)",
       (unsigned long long)in.coef_bytes);
    for (size_t n = 0; n < prog.len; n += 7)
        tr_jpeg_scan(check_guard((char *)prog.data, n), n, &in);
    ok(tr_jpeg_scan(check_guard("\xff\xd8\xff", 3), 3, &in) == -EBADMSG,
       "no frame header: -EBADMSG (and every cut of a file is walked within its bytes)");
    free(base.data), free(prog.data), free(grey.data);
}

/* What a decode may use: memory (libjpeg's own allocations included), scans, time. */
static void bounds(void)
{
    struct jpeg prog = encode(&(struct spec){203, 157, 3, JCS_RGB, JCS_YCbCr, false, true, 0});
    struct tr_bounds call = {0};
    struct tr_jpeg_pixels px;
    char err[TR_ERR_LEN] = "";
    long before;
    atomic_bool stop = true;

    ok(tr_jpeg_decode(prog.data, prog.len, 8,
                      &(struct tr_jpeg_bounds){UINT64_MAX, 1 << 20, 0, NULL}, &px, err) == 0,
       "a progressive 203x157 decodes in 1 MB (%s)", err);
    tr_jpeg_free(px.data);
    ok(tr_jpeg_decode(prog.data, prog.len, 8,
                      &(struct tr_jpeg_bounds){UINT64_MAX, 8 << 10, 0, NULL}, &px, err) == -E2BIG &&
           px.data == NULL,
       "not in 8 KB, less than its coefficients: -E2BIG (%s)", err);
    ok(tr_jpeg_decode(prog.data, prog.len, 8, &(struct tr_jpeg_bounds){UINT64_MAX, 0, 10, NULL},
                      &px, err) == 0,
       "its 10 scans decode with max_scans 10");
    tr_jpeg_free(px.data);
    ok(tr_jpeg_decode(prog.data, prog.len, 8, &(struct tr_jpeg_bounds){UINT64_MAX, 0, 9, NULL}, &px,
                      err) == -E2BIG &&
           strstr(err, "9 scans"),
       "not with max_scans 9: -E2BIG (%s)", err);
    call.deadline_ns = 1; /* long past */
    ok(tr_jpeg_decode(prog.data, prog.len, 8, &(struct tr_jpeg_bounds){UINT64_MAX, 0, 0, &call},
                      &px, err) == -ETIMEDOUT,
       "past the call's deadline: -ETIMEDOUT (%s)", err);
    call = (struct tr_bounds){.cancel = &stop};
    ok(tr_jpeg_decode(prog.data, prog.len, 8, &(struct tr_jpeg_bounds){UINT64_MAX, 0, 0, &call},
                      &px, err) == -ECANCELED,
       "cancelled: -ECANCELED (%s)", err);
    claim_size(&prog, 10000, 10000);
    before = peak_rss_mb();
    ok(tr_jpeg_decode(prog.data, prog.len, 8,
                      &(struct tr_jpeg_bounds){UINT64_MAX, 64 << 20, 0, NULL}, &px, err) == -E2BIG,
       "a header claiming a 100 MP progressive image, in 64 MB: -E2BIG (%s)", err);
    ok(peak_rss_mb() - before < 64, "before its 300 MB of coefficients are allocated (%ld MB)",
       peak_rss_mb() - before);
    free(prog.data);
}

int main(void)
{
    const struct spec s420 = {203, 157, 3, JCS_RGB, JCS_YCbCr, false, false, 0};
    const struct spec s444 = {203, 157, 3, JCS_RGB, JCS_YCbCr, true, false, 0};
    const struct spec grey = {203, 157, 1, JCS_GRAYSCALE, JCS_GRAYSCALE, false, false, 0};
    const struct spec prog = {203, 157, 3, JCS_RGB, JCS_YCbCr, false, true, 0};
    const struct spec rst = {203, 157, 3, JCS_RGB, JCS_YCbCr, false, false, 2};
    const struct spec small = {48, 40, 3, JCS_RGB, JCS_YCbCr, false, false, 0};
    const struct spec small_prog = {48, 40, 3, JCS_RGB, JCS_YCbCr, false, true, 1};

    decodes(&s420, "4:2:0");
    decodes(&s444, "4:4:4");
    decodes(&grey, "greyscale");
    decodes(&prog, "progressive");
    decodes(&rst, "restart markers");
    truncations(&small, "baseline");
    truncations(&small_prog, "progressive with restart markers");
    corruptions(&small, "baseline");
    corruptions(&small_prog, "progressive");
    warnings();
    declines(&(struct spec){32, 32, 4, JCS_CMYK, JCS_CMYK, false, false, 0}, "CMYK");
    declines(&(struct spec){32, 32, 4, JCS_CMYK, JCS_YCCK, false, false, 0}, "YCCK");
    declines(&(struct spec){32, 32, 3, JCS_RGB, JCS_RGB, false, false, 0}, "RGB-coded");
    limits();
    scan_info();
    bounds();
    return check_done();
}
