/* transform/tr_jpeg.h: decode a JPEG held in memory with libjpeg(-turbo), scaled in the DCT.
 *
 * The fast path of tr_apply.c's shrink-on-load. libvips's jpegload feeds libjpeg from its
 * source in small pieces, which keeps libjpeg-turbo off its fast Huffman decoder most of the
 * time; here libjpeg reads the whole buffer (jpeg_mem_src), and the pixels land in one buffer
 * that tr_apply.c hands to libvips as a memory image. Pure libjpeg: no libvips.
 *
 * The decode is libvips 8.14's jpegload with fail_on=truncated, as far as pixels go: the same
 * library and settings (libjpeg's defaults: islow IDCT, fancy upsampling), a source that ends
 * early is an error, corrupt data that libjpeg only warns about is decoded as libjpeg
 * recovers it, and the 100th warning is an error. Metadata (EXIF, ICC profile, resolution) is not
 * read here: the caller has it from libvips's header read. */
#ifndef TRANSFORM_TR_JPEG_H
#define TRANSFORM_TR_JPEG_H

#include "tr.h"
#include "tr_bounds.h"

/* Standard encoders write 6 to 12 scans (jpegtran's progressive script: 10 for colour); a file
 * with many more spends the decoder's time in passes over the whole coefficient buffer, one per
 * scan (libjpeg-turbo's advice: limit them). */
#define TR_JPEG_MAX_SCANS 100

/* What the markers of a JPEG say, read without decoding (tr_jpeg_scan()). */
struct tr_jpeg_info {
    bool progressive;
    int scans;           /* start-of-scan markers, for a progressive file (0 otherwise) */
    uint64_t coef_bytes; /* a progressive file's coefficients, which libjpeg holds whole,
                          * whatever the output size: 2 bytes per coefficient (0 otherwise) */
};

/* Walk the markers of src[0..len) as far as they go (no libjpeg, no allocation, never past
 * len): sequential files stop at their frame header, progressive ones are read through, every
 * scan counted. Returns 0, or -EBADMSG when there is no frame header. Pure. */
int tr_jpeg_scan(const void *src, size_t len, struct tr_jpeg_info *out);

/* What one decode may use. */
struct tr_jpeg_bounds {
    uint64_t max_pixels;    /* of the source, from its header: checked before anything is
                             * allocated */
    size_t max_mem;         /* bytes of libjpeg's memory and the output together; 0: no limit */
    int max_scans;          /* of a progressive file; 0: no limit */
    struct tr_bounds *call; /* the deadline and cancel flag of the call, or NULL */
};

/* Decoded pixels: 8-bit, interleaved, rows top to bottom, no padding. */
struct tr_jpeg_pixels {
    unsigned char *data; /* width * height * bands bytes */
    int width, height;
    int bands; /* 1: grey, 3: RGB */
};

/* Decode src[0..len) at 1/shrink of its size (shrink 1, 2, 4 or 8): width / shrink by
 * height / shrink pixels, rounded down as libvips does (libjpeg rounds up: the extra column
 * and row are decoded, then cut off). Returns 0 with out filled, out->data (transfer full):
 * free with tr_jpeg_free(); or, with out->data NULL:
 * -ENOTSUP  not a JPEG this decoder takes exactly (only 8-bit YCbCr and greyscale are: CMYK,
 *           YCCK, RGB-coded and 12-bit files are not, nor one smaller than shrink); use
 *           another decoder; err is untouched;
 * -EBADMSG  it cannot be decoded: corrupt, or it ends early (err says why);
 * -E2BIG    over lim: more than max_pixels pixels, more memory than max_mem (libjpeg's own
 *           allocations are capped, so a progressive file's coefficients fail before they
 *           are allocated), more scans than max_scans;
 * -ETIMEDOUT, -ECANCELED  lim->call expired (libjpeg's progress monitor looks, per row);
 * -ENOMEM   out of memory.
 * Never prints, never exits. Thread-safe: each call has its own libjpeg state. */
int tr_jpeg_decode(const void *src, size_t len, int shrink, const struct tr_jpeg_bounds *lim,
                   struct tr_jpeg_pixels *out, char err[TR_ERR_LEN]);

/* Free the data of a tr_jpeg_pixels (NULL is fine). */
void tr_jpeg_free(unsigned char *data);

#endif
