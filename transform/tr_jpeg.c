/* transform/tr_jpeg.c: tr_jpeg.h's decoder, on libjpeg(-turbo) alone, and its marker walk.
 *
 * libjpeg reports a fatal error by calling the error manager's error_exit, which must not
 * return. Ours longjmps back to decode(), the one function that calls setjmp; every libjpeg
 * call runs below it, and everything it touches lives in struct job rather than in its locals,
 * so nothing is lost across the jump. tr_jpeg_decode() then frees libjpeg's state whichever
 * way decode() returned. Bounds, as libjpeg-turbo's documentation advises for untrusted
 * files: its memory manager's max_memory_to_use (with no backing store, a buffer that does
 * not fit is a fatal error, before it is allocated), and a progress monitor that stops at
 * too many scans, or when the call's deadline passes or it is cancelled. */
#include "tr_jpeg.h"

#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>

/* Rows handed to one jpeg_read_scanlines() call. */
#define ROWS_PER_READ 16

/* Warnings after which a file is too corrupt to decode: libvips 8.14's jpegload gives up at
 * 100 too (a damaged progressive file can warn at every block, for a long time). */
#define MAX_WARNINGS 100

/* One decode: libjpeg's state, the error channel and the output. */
struct job {
    struct jpeg_decompress_struct cinfo;
    struct jpeg_error_mgr jerr;
    struct jpeg_progress_mgr progress;
    jmp_buf jmp;
    int rc; /* what decode() returns after a longjmp: -EBADMSG, -ENOMEM, -E2BIG, ... */
    char *err;
    const void *src;
    size_t len;
    int shrink;
    const struct tr_jpeg_bounds *lim;
    struct tr_jpeg_pixels *out;
};

/* Put msg in err and jump back to decode(). */
_Noreturn static void stop(j_common_ptr c, int rc, const char *msg)
{
    struct job *j = c->client_data;

    snprintf(j->err, TR_ERR_LEN, "%s", msg);
    j->rc = rc;
    longjmp(j->jmp, 1);
}

/* The same with libjpeg's message for the current error or warning. */
_Noreturn static void fail(j_common_ptr c, int rc)
{
    char msg[JMSG_LENGTH_MAX], line[TR_ERR_LEN];

    c->err->format_message(c, msg);
    snprintf(line, sizeof(line), "cannot decode the JPEG: %.100s", msg);
    stop(c, rc, line);
}

/* libjpeg's fatal errors: corrupt headers or tables, running out of memory, and a buffer over
 * max_memory_to_use (there is no backing store to put it in). */
static void error_exit(j_common_ptr c)
{
    struct job *j = c->client_data;
    char msg[TR_ERR_LEN];

    if (c->err->msg_code == JERR_NO_BACKING_STORE) {
        snprintf(msg, sizeof(msg), "the JPEG needs more than %.1f MB to decode",
                 j->lim->max_mem / 1048576.0);
        stop(c, -E2BIG, msg);
    }
    fail(c, c->err->msg_code == JERR_OUT_OF_MEMORY ? -ENOMEM : -EBADMSG);
}

/* Called by libjpeg as it reads (per row of blocks, and per scan of a progressive file). */
static void monitor(j_common_ptr c)
{
    struct job *j = c->client_data;
    int scan = j->cinfo.input_scan_number, rc = j->lim->call ? tr_bounds_expired(j->lim->call) : 0;
    char msg[TR_ERR_LEN];

    if (rc)
        stop(c, rc,
             rc == -ETIMEDOUT ? "the transform did not finish before its deadline"
                              : "the transform was cancelled");
    if (j->lim->max_scans && scan > j->lim->max_scans) {
        snprintf(msg, sizeof(msg), "the JPEG has more than %d scans", j->lim->max_scans);
        stop(c, -E2BIG, msg);
    }
}

/* Warnings (level < 0): a source that ends early fails, as libvips's fail_on=truncated makes it
 * fail (jpeg_mem_src warns and pads with an EOI marker, which would leave the rest of the
 * image grey); other warnings are corrupt data that libjpeg recovers from, which libvips
 * decodes too, up to MAX_WARNINGS of them. Trace messages (level >= 0) are dropped. */
static void emit_message(j_common_ptr c, int level)
{
    if (level >= 0)
        return;
    if (c->err->msg_code == JWRN_JPEG_EOF || ++c->err->num_warnings >= MAX_WARNINGS)
        fail(c, -EBADMSG);
}

/* libjpeg never prints: messages only reach err. */
static void output_message(j_common_ptr c)
{
    (void)c;
}

/* 8-bit YCbCr or greyscale: what libvips too hands to libjpeg as is, asking for RGB or grey
 * out. CMYK and YCCK (libvips inverts Adobe's), RGB-coded and 12-bit files go elsewhere. */
static bool takes(const struct jpeg_decompress_struct *ci)
{
    if (ci->data_precision != 8)
        return false;
    if (ci->num_components == 1)
        return ci->jpeg_color_space == JCS_GRAYSCALE;
    return ci->num_components == 3 && ci->jpeg_color_space == JCS_YCbCr;
}

/* The pixel limit, on the size in the header, then the buffer for what libjpeg writes (the
 * scaled size rounded up), and the size libvips keeps (rounded down). */
static int alloc_out(struct job *j)
{
    const struct jpeg_decompress_struct *ci = &j->cinfo;
    uint64_t px = (uint64_t)ci->image_width * ci->image_height;
    size_t row, n;

    if (px > j->lim->max_pixels) {
        snprintf(j->err, TR_ERR_LEN, "the source is %ux%u pixels, over the limit of %llu",
                 ci->image_width, ci->image_height, (unsigned long long)j->lim->max_pixels);
        return -E2BIG;
    }
    j->out->width = (int)(ci->image_width / (JDIMENSION)j->shrink);
    j->out->height = (int)(ci->image_height / (JDIMENSION)j->shrink);
    j->out->bands = ci->output_components;
    if (j->out->width == 0 || j->out->height == 0)
        return -ENOTSUP;
    if (__builtin_mul_overflow((size_t)ci->output_width, (size_t)ci->output_components, &row) ||
        __builtin_mul_overflow(row, (size_t)ci->output_height, &n))
        n = SIZE_MAX;
    if (j->lim->max_mem && n >= j->lim->max_mem) {
        snprintf(j->err, TR_ERR_LEN, "the JPEG needs more than %.1f MB to decode",
                 j->lim->max_mem / 1048576.0);
        return -E2BIG;
    }
    if (j->lim->max_mem) /* what is left is libjpeg's */
        j->cinfo.mem->max_memory_to_use = (long)(j->lim->max_mem - n);
    j->out->data = n < SIZE_MAX ? malloc(n) : NULL;
    if (!j->out->data)
        snprintf(j->err, TR_ERR_LEN, "out of memory for a %ux%u image", ci->output_width,
                 ci->output_height);
    return j->out->data ? 0 : -ENOMEM;
}

/* Decode up to ROWS_PER_READ rows into place; returns how many came. */
static JDIMENSION read_rows(struct job *j)
{
    struct jpeg_decompress_struct *ci = &j->cinfo;
    size_t stride = (size_t)ci->output_width * (size_t)ci->output_components;
    JDIMENSION n = ci->output_height - ci->output_scanline;
    JSAMPROW rows[ROWS_PER_READ];

    n = n < ROWS_PER_READ ? n : ROWS_PER_READ;
    for (JDIMENSION i = 0; i < n; i++)
        rows[i] = j->out->data + (ci->output_scanline + i) * stride;
    return jpeg_read_scanlines(ci, rows, n);
}

/* Drop the column libjpeg's rounding up added: rows move down to their kept width (the row it
 * added is left behind, past the kept ones). */
static void pack_rows(struct job *j)
{
    size_t from = (size_t)j->cinfo.output_width * (size_t)j->out->bands;
    size_t to = (size_t)j->out->width * (size_t)j->out->bands;

    for (size_t y = 1; from != to && y < (size_t)j->out->height; y++)
        memmove(j->out->data + y * to, j->out->data + y * from, to);
}

/* Header, checks, then every row at 1/shrink. libjpeg's defaults stay as libvips leaves them
 * (JDCT_ISLOW, fancy upsampling), so that the pixels are the ones libvips would decode.
 * libjpeg rounds the scaled size up; libvips 8.14 decodes all of it (so a cut in the data of
 * the extra row is an error there too) and keeps the size rounded down; so do we. */
static int decode(struct job *j)
{
    struct jpeg_decompress_struct *ci = &j->cinfo;
    int rc;

    if (setjmp(j->jmp))
        return j->rc;
    jpeg_create_decompress(ci);
    ci->progress = &j->progress; /* jpeg_create_decompress() clears it */
    jpeg_mem_src(ci, j->src, (unsigned long)j->len);
    jpeg_read_header(ci, TRUE);
    if (!takes(ci))
        return -ENOTSUP;
    ci->scale_num = 1;
    ci->scale_denom = (unsigned)j->shrink;
    ci->out_color_space = ci->num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_calc_output_dimensions(ci);
    rc = alloc_out(j);
    if (rc)
        return rc;
    jpeg_start_decompress(ci);
    while (ci->output_scanline < ci->output_height)
        if (read_rows(j) == 0) {
            snprintf(j->err, TR_ERR_LEN, "cannot decode the JPEG: no rows at row %u",
                     ci->output_scanline);
            return -EBADMSG;
        }
    pack_rows(j);
    return 0;
}

int tr_jpeg_decode(const void *src, size_t len, int shrink, const struct tr_jpeg_bounds *lim,
                   struct tr_jpeg_pixels *out, char err[TR_ERR_LEN])
{
    struct job j = {.err = err, .src = src, .len = len, .shrink = shrink, .lim = lim, .out = out};
    int rc;

    memset(out, 0, sizeof(*out));
    if (shrink != 1 && shrink != 2 && shrink != 4 && shrink != 8)
        return -ENOTSUP;
    j.cinfo.err = jpeg_std_error(&j.jerr);
    j.jerr.error_exit = error_exit;
    j.jerr.emit_message = emit_message;
    j.jerr.output_message = output_message;
    j.progress.progress_monitor = monitor;
    j.cinfo.client_data = &j;
    rc = decode(&j);
    jpeg_destroy_decompress(&j.cinfo);
    if (rc) {
        free(out->data);
        memset(out, 0, sizeof(*out));
    }
    return rc;
}

void tr_jpeg_free(unsigned char *data)
{
    free(data);
}

/* ---- The marker walk ---------------------------------------------------------------------- */

static unsigned be16(const unsigned char *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

static bool is_sof(unsigned m)
{
    return m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc;
}

/* A progressive frame header's coefficients: each component's blocks, rounded up to whole
 * MCUs as libjpeg's coefficient buffer is, 64 coefficients of 2 bytes each. */
static uint64_t coef_bytes(const unsigned char *sof, unsigned seglen)
{
    unsigned h = be16(sof + 3), w = be16(sof + 5), n = sof[7], hmax = 1, vmax = 1;
    uint64_t total = 0;

    if (seglen < 8 + 3 * n)
        return 0;
    for (unsigned i = 0; i < n; i++) {
        hmax = (sof[9 + 3 * i] >> 4) > hmax ? sof[9 + 3 * i] >> 4 : hmax;
        vmax = (sof[9 + 3 * i] & 15) > vmax ? sof[9 + 3 * i] & 15 : vmax;
    }
    for (unsigned i = 0; i < n; i++) {
        uint64_t hs = sof[9 + 3 * i] >> 4, vs = sof[9 + 3 * i] & 15;
        uint64_t bw = ((uint64_t)w * hs + hmax * 8 - 1) / (hmax * 8);
        uint64_t bh = ((uint64_t)h * vs + vmax * 8 - 1) / (vmax * 8);

        if (hs && vs)
            total += (bw + hs - 1) / hs * hs * ((bh + vs - 1) / vs * vs) * 128;
    }
    return total;
}

/* The offset of the marker after entropy-coded data starting at i: the first 0xFF that is
 * not a stuffed 0xFF00 nor a restart marker. len when there is none. */
static size_t skip_data(const unsigned char *p, size_t len, size_t i)
{
    while (i + 1 < len) {
        const unsigned char *ff = memchr(p + i, 0xff, len - i - 1);

        if (!ff)
            return len;
        i = (size_t)(ff - p);
        if (p[i + 1] != 0 && p[i + 1] != 0xff && (p[i + 1] < 0xd0 || p[i + 1] > 0xd7))
            return i;
        i += 1 + (p[i + 1] != 0xff);
    }
    return len;
}

int tr_jpeg_scan(const void *src, size_t len, struct tr_jpeg_info *out)
{
    const unsigned char *p = src;
    size_t i = 2;
    bool sof = false;

    *out = (struct tr_jpeg_info){0};
    while (i + 4 <= len && p[i] == 0xff) {
        unsigned m = p[i + 1], seglen;

        if (m == 0xff || m == 0x01 || (m >= 0xd0 && m <= 0xd7)) { /* fill byte, standalone */
            i += 1 + (m != 0xff);
            continue;
        }
        if (m == 0xd9)
            break;
        seglen = be16(p + i + 2);
        if (seglen < 2 || i + 2 + seglen > len)
            break;
        if (is_sof(m)) {
            sof = true;
            out->progressive = m == 0xc2 || m == 0xc6 || m == 0xca || m == 0xce;
            out->coef_bytes = out->progressive ? coef_bytes(p + i + 2, seglen) : 0;
            if (!out->progressive)
                break;
        }
        out->scans += m == 0xda;
        i = m == 0xda ? skip_data(p, len, i + 2 + seglen) : i + 2 + seglen;
    }
    return sof ? 0 : -EBADMSG;
}
