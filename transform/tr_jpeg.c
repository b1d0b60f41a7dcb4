/* transform/tr_jpeg.c: tr_jpeg.h's decoder, on libjpeg(-turbo) alone.
 *
 * libjpeg reports a fatal error by calling the error manager's error_exit, which must not
 * return. Ours longjmps back to decode(), the one function that calls setjmp; every libjpeg
 * call runs below it, and everything it touches lives in struct job rather than in its locals,
 * so nothing is lost across the jump. tr_jpeg_decode() then frees libjpeg's state whichever
 * way decode() returned. */
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
    jmp_buf jmp;
    int rc; /* what decode() returns after a longjmp: -EBADMSG or -ENOMEM */
    char *err;
    const void *src;
    size_t len;
    int shrink;
    uint64_t max_pixels;
    struct tr_jpeg_pixels *out;
};

/* Put libjpeg's message for the current error or warning in err and jump back to decode(). */
_Noreturn static void fail(j_common_ptr c, int rc)
{
    struct job *j = c->client_data;
    char msg[JMSG_LENGTH_MAX];

    c->err->format_message(c, msg);
    snprintf(j->err, TR_ERR_LEN, "cannot decode the JPEG: %.100s", msg);
    j->rc = rc;
    longjmp(j->jmp, 1);
}

/* libjpeg's fatal errors: corrupt headers or tables, and running out of memory. */
static void error_exit(j_common_ptr c)
{
    fail(c, c->err->msg_code == JERR_OUT_OF_MEMORY ? -ENOMEM : -EBADMSG);
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

    if (px > j->max_pixels) {
        snprintf(j->err, TR_ERR_LEN, "the source is %ux%u pixels, over the limit of %llu",
                 ci->image_width, ci->image_height, (unsigned long long)j->max_pixels);
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

int tr_jpeg_decode(const void *src, size_t len, int shrink, uint64_t max_pixels,
                   struct tr_jpeg_pixels *out, char err[TR_ERR_LEN])
{
    struct job j = {
        .err = err, .src = src, .len = len, .shrink = shrink, .max_pixels = max_pixels, .out = out};
    int rc;

    memset(out, 0, sizeof(*out));
    if (shrink != 1 && shrink != 2 && shrink != 4 && shrink != 8)
        return -ENOTSUP;
    j.cinfo.err = jpeg_std_error(&j.jerr);
    j.jerr.error_exit = error_exit;
    j.jerr.emit_message = emit_message;
    j.jerr.output_message = output_message;
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
