/* libFuzzer target for tr_apply(): random chains on small images, limits on.
 *
 * Input: CHAIN '\n' MODE IMAGE. CHAIN is transformation text (tr_parse(); a chain that does
 * not parse ends the run, fuzz_tr covers the parser). MODE is one byte: bit 0 turns the direct
 * JPEG decoder off, bit 1 sends client hints (DPR and width from its high nibble), bit 2 an
 * Accept header that lets f-auto pick AVIF or WebP. IMAGE is an encoded image of any type
 * tr_apply() decodes; bytes that are none become decoded pixels (struct tr_pixels, a video
 * frame): a flags byte (bit 0: 4 bands, bit 1: padded rows, bits 2 and 3: the 17th bit of
 * width - 1 and height - 1), width - 1 and height - 1 in two bytes each (little-endian), then
 * the pixel values, repeated to fill.
 *
 * The limits are small (128 Ki pixels in, 256 Ki out, 16 frames; the 16383 px side of
 * ImageKit stays, so that a 1 x 131072 frame scaled to 16383 px wide reaches sizes near
 * INT_MAX in the geometry) so that no run holds more than a few MB. tr_apply() must return 0
 * or a documented error with a message; a result must be within the limits, in the format
 * asked for, and decode to the size it claims; the chain's canonical text must give the same
 * result.
 *
 *   make fuzz && build/fuzz/fuzz_tr_apply -dict=tests/fuzz/tr_apply.dict CORPUS \
 *       tests/fuzz/tr_apply */
#include "tr.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vips/vips.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static const struct tr_limits limits = {
    .max_input_pixels = 1u << 17,
    .max_output_pixels = 1u << 18,
    .max_output_dim = 16383,
    .max_input_bytes = 1u << 20,
    .max_frames = 16,
    .max_direct_pixels = 1u << 16,
};

static const struct tr_named named_list[] = {{"thumb", "w-20,h-20"}};
static const struct tr_names names = {named_list, 1};

static void fail(const char *what, const char *err)
{
    fprintf(stderr, "invariant broken: %s (%s)\n", what, err);
    abort();
}

/* Every image layer's image: a 12x8 PNG, red with a transparent column, decoded once. */
static const struct tr_source *layer_src[TR_MAX_LAYERS];

static void make_layer_source(void)
{
    static struct tr_source *logo;
    double red[4] = {255, 0, 0, 255};
    VipsImage *im = NULL;
    void *buf = NULL;
    size_t len = 0;
    char err[TR_ERR_LEN];

    if (vips_black(&im, 12, 8, "bands", 4, NULL) ||
        vips_draw_rect(im, red, 4, 0, 0, 11, 8, "fill", TRUE, NULL) ||
        vips_image_write_to_buffer(im, ".png", &buf, &len, NULL) ||
        tr_source_new(buf, len, &limits, &logo, err))
        abort();
    g_object_unref(im);
    g_free(buf);
    for (int i = 0; i < TR_MAX_LAYERS; i++)
        layer_src[i] = logo;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    if (tr_init((*argv)[0], 1)) /* once, as main() does: libvips, its loaders blocked */
        abort();
    make_layer_source();
    return 0;
}

/* Decoded pixels from bytes that are no image (the header above). Returns the buffer to free
 * after tr_apply(), NULL when the bytes are too few to describe a frame. A frame over the
 * input limit gets no pixels at all: tr_apply() must refuse it before reading any. */
static uint8_t *make_pixels(const uint8_t *b, size_t len, struct tr_pixels *px)
{
    uint8_t *data;
    size_t row, need;

    if (len < 5)
        return NULL;
    px->bands = b[0] & 1 ? 4 : 3;
    px->width = 1 + (b[1] | b[2] << 8 | (b[0] & 4) << 14);
    px->height = 1 + (b[3] | b[4] << 8 | (b[0] & 8) << 13);
    row = (size_t)px->width * (size_t)px->bands;
    px->stride = row + (b[0] & 2 ? 3 : 0);
    need = (uint64_t)px->width * (uint64_t)px->height <= limits.max_input_pixels
               ? px->stride * (size_t)px->height
               : 1;
    data = malloc(need);
    if (!data)
        abort();
    for (size_t i = 0; i < need; i++)
        data[i] = len > 5 ? b[5 + i % (len - 5)] : (uint8_t)i;
    px->data = data;
    return data;
}

/* The request for a chain and a source, the way blobhttpd makes it: format from the chain,
 * the source and Accept; hints; limits; a deadline and a memory budget. */
static void make_request(struct tr_request *rq, const struct tr_chain *c, unsigned mode,
                         const struct tr_sniff *src, struct tr_limits *lim)
{
    const char *accept = mode & 4 ? "image/avif,image/webp,*/*" : NULL;
    struct timespec now;

    *lim = limits;
    if (mode & 1)
        lim->max_direct_pixels = 0;
    clock_gettime(CLOCK_MONOTONIC, &now);
    rq->chain = c;
    rq->limits = lim;
    rq->layer_src = layer_src;
    rq->format = tr_pick_format(c, src, accept, mode & 4);
    rq->hint_dpr = mode & 2 ? 1 + (mode >> 4) / 4.0 : 0;
    rq->hint_width = mode & 2 ? 100 * (int)(mode >> 4) : 0;
    rq->max_mem = 64u << 20;
    rq->deadline_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec + 5000000000u;
}

/* A result within the limits, in the format asked for, that decodes to its claimed size. */
static void check_result(const struct tr_request *rq, const struct tr_image *img)
{
    VipsImage *back;

    if (!img->data || img->len == 0 || img->format != rq->format)
        fail("an empty result, or not in the format asked for", "");
    if (img->width < 1 || img->height < 1 || img->width > limits.max_output_dim ||
        img->height > limits.max_output_dim ||
        (uint64_t)img->width * (uint64_t)img->height > limits.max_output_pixels)
        fail("a result outside the output limits", "");
    back = vips_image_new_from_buffer(img->data, img->len, "", NULL);
    if (!back)
        fail("a result that does not decode", vips_error_buffer());
    if (back->Xsize != img->width || vips_image_get_page_height(back) != img->height) {
        fprintf(stderr, "claims %dx%d, decodes to %dx%d\n", img->width, img->height, back->Xsize,
                vips_image_get_page_height(back));
        fail("a result of another size than it claims", "");
    }
    g_object_unref(back);
}

/* Run c on the source with mode; img is filled (release it) and the result checked. */
static int run(const struct tr_chain *c, unsigned mode, const uint8_t *src, size_t len,
               struct tr_image *img)
{
    struct tr_request rq = {0};
    struct tr_pixels px;
    struct tr_limits lim;
    struct tr_sniff sniff;
    char err[TR_ERR_LEN];
    uint8_t *pixels = NULL;
    int rc;

    memset(img, 0, sizeof(*img));
    tr_sniff(src, len, &sniff);
    if (!tr_sniff_is_image(&sniff)) {
        pixels = make_pixels(src, len, &px);
        if (!pixels)
            return -ENODATA;
        sniff = (struct tr_sniff){.type = TR_SRC_PNG, .alpha = px.bands == 4};
        rq.pixels = &px;
    }
    rq.src = src;
    rq.len = len;
    make_request(&rq, c, mode, &sniff, &lim);
    rc = tr_apply(&rq, img, err);
    if (rc == 0)
        check_result(&rq, img);
    else if (rc != -EBADMSG && rc != -E2BIG && rc != -EINVAL && rc != -ENOMEM && rc != -ETIMEDOUT)
        fail("tr_apply returned an undocumented error", err);
    else if (rc != -ENOMEM && err[0] == '\0')
        fail("tr_apply failed without a message", "");
    free(pixels);
    return rc;
}

/* blobhttpd caches a result under the chain's canonical text: a chain and its canonical text
 * must give the same result, byte for byte (or the same error). */
static void check_canonical(const struct tr_chain *c, const char *text, size_t len, unsigned mode,
                            const uint8_t *src, size_t n, const struct tr_image *img, int rc)
{
    static struct tr_chain again;
    static char canon[TR_CANONICAL_MAX];
    char err[TR_ERR_LEN];
    struct tr_image other;
    int m = tr_canonical(c, canon, sizeof(canon)), rc2;

    if (m < 0)
        fail("no canonical text", "");
    if ((size_t)m == len && memcmp(canon, text, len) == 0)
        return;
    tr_chain_init(&again);
    if (tr_parse(&again, canon, (size_t)m, &names, err))
        fail("the canonical text does not parse", err);
    rc2 = run(&again, mode, src, n, &other);
    if (rc != -ETIMEDOUT && rc2 != -ETIMEDOUT &&
        (rc != rc2 ||
         (rc == 0 && (img->len != other.len || memcmp(img->data, other.data, img->len) != 0)))) {
        fprintf(stderr, "'%.*s' (%d) and its canonical text '%s' (%d)\n", (int)len, text, rc, canon,
                rc2);
        fail("a chain and its canonical text (the cache key) give different results", "");
    }
    tr_image_release(&other);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    static struct tr_chain c;
    const unsigned char *nl = memchr(data, '\n', size);
    const char *text = (const char *)data;
    size_t len = nl ? (size_t)(nl - data) : 0, n = nl ? (size_t)(data + size - nl - 2) : 0;
    char err[TR_ERR_LEN];
    struct tr_image img;
    int rc;

    if (!nl || nl + 1 == data + size)
        return 0;
    tr_chain_init(&c);
    if (tr_parse(&c, text, len, &names, err))
        return 0;
    rc = run(&c, nl[1], nl + 2, n, &img);
    if (rc != -ENODATA)
        check_canonical(&c, text, len, nl[1], nl + 2, n, &img, rc);
    tr_image_release(&img);
    return 0;
}
