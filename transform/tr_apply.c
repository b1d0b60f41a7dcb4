/* transform/tr_apply.c: runs a chain on an encoded image with libvips: tr.h's tr_init(),
 * tr_apply(), tr_probe(). With tr_step.c (the steps) and tr_run.c (what every stage uses),
 * sharing tr_run.h, the only files of blobkit that call libvips.
 *
 * One request goes through five stages (docs/transformations.md, "Pipeline, formats and limits"):
 *   check    input bytes, source type and output format, before any libvips call;
 *   load     the header alone first (pixel and frame limits, EXIF orientation), then the
 *            source again with shrink-on-load sized from the first step: a JPEG that decodes
 *            small enough is decoded whole by tr_jpeg.c (libjpeg on the in-memory source, the
 *            faster path, with the same result), anything else, damaged JPEGs included, by
 *            libvips's loader with sequential access, failing on truncation;
 *   prepare  the first step's resize (premultiplied), 8-bit sRGB or grey (an ICC profile is
 *            imported unless cp-true), EXIF orientation applied;
 *   steps    each step in order: trim, geometry (resize, crop, pad, extract), rotate, flip,
 *            grayscale, contrast, blur, sharpen, unsharp mask, opacity, border, radius, bg;
 *   encode   alpha flattened for formats without it, metadata kept or stripped, saved.
 * An animated source kept as GIF or WebP runs prepare and steps frame by frame; decisions taken
 * from pixels (trim box, attention crop) come from the first frame so that all frames match.
 * What a step does to the size of the image is planned, before a pixel is touched, by
 * tr_geom.c (pure arithmetic). Every intermediate image hangs off one context object, unreffed
 * once at the end. */
#include "tr.h"
#include "tr_run.h"
#include "tr_step.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* libheif's AV1 encoder (aom) at libvips effort 2 of 9: 3-4x faster than libvips's default
 * of 4 (measured: 60 ms against 170 ms for 300x300, 0.19 s against 0.86 s for 1200x900), for
 * files about 10 % larger. */
#define AVIF_EFFORT 2

/* GIF quantisation (libimagequant) at effort 1 of 10: 40 frames of 200x200 encode in 0.7 s
 * against 5.3 s at libvips's default of 7, for files about 8 % larger. */
#define GIF_EFFORT 1

/* " x 12 frames" for an animation, "" otherwise: for messages. */
static const char *frames_note(const struct tr_run *r, char buf[32])
{
    buf[0] = '\0';
    if (r->frames > 1)
        snprintf(buf, 32, " x %d frames", r->frames);
    return buf;
}

/* ---- Load: JPEG decoded directly --------------------------------------------------------- */

/* Whether tr_jpeg.c should decode the source: a JPEG whose shrunk size stays within
 * max_direct_pixels, since it is held whole in memory where libvips's loader streams it, and
 * whose coefficients, if it is progressive (libjpeg holds them all, whatever the output size),
 * are no more than those of a max_direct_pixels image. */
static bool wants_direct(const struct tr_run *r, const VipsImage *hdr)
{
    uint64_t w = (uint64_t)(hdr->Xsize / r->shrink), h = (uint64_t)(hdr->Ysize / r->shrink);

    return r->src.type == TR_SRC_JPEG && w * h <= r->lim->max_direct_pixels &&
           r->jpeg.coef_bytes <= r->lim->max_direct_pixels * 6;
}

/* The pixels of tr_jpeg_decode() go when the image wrapping them closes. */
static void free_pixels(VipsImage *img, void *data)
{
    (void)img;
    tr_jpeg_free(data);
}

/* Every metadata field of the header read (EXIF, XMP, IPTC, ICC profile, orientation, ...)
 * that img lacks; img has its own header fields (width, bands, ...) already. */
static void copy_metadata(VipsImage *from, VipsImage *img)
{
    char **names = vips_image_get_fields(from);

    for (char **n = names; *n; n++) {
        GValue v = G_VALUE_INIT;

        if (vips_image_get_typeof(img, *n))
            continue;
        if (vips_image_get(from, *n, &v)) {
            vips_error_clear();
            continue;
        }
        vips_image_set(img, *n, &v);
        g_value_unset(&v);
    }
    g_strfreev(names);
}

/* Decode the JPEG at 1/shrink with tr_jpeg.c into memory that a new image owns, and give that
 * image the header read's interpretation, resolution and metadata: downstream sees what
 * libvips's loader would have given (the same libjpeg with the same settings makes the same
 * pixels). Returns -ENOTSUP when libvips's loader should decode instead: tr_jpeg.c does not
 * take the file, or finds it damaged. libvips then gives the verdict it always gave; the
 * two agree whenever every row is needed, but libvips streams, and serves a crop of the
 * intact top of a cut file where a whole decode fails. */
static int load_direct(struct tr_run *r, VipsImage *hdr, VipsImage **out)
{
    VipsImage **t = tr_run_local(r, 1);
    uint64_t bytes = (uint64_t)(hdr->Xsize / r->shrink) * (uint64_t)(hdr->Ysize / r->shrink) *
                         (uint64_t)hdr->Bands +
                     r->jpeg.coef_bytes;
    struct tr_jpeg_bounds lim = {r->lim->max_input_pixels, bytes + (4 << 20), TR_JPEG_MAX_SCANS,
                                 &r->bounds}; /* 4 MB: libjpeg's tables and row buffers */
    struct tr_jpeg_pixels px;
    int rc = tr_bounds_room(&r->bounds, bytes, "the decoded source", r->err);

    rc = rc ? rc : tr_jpeg_decode(r->rq->src, r->rq->len, r->shrink, &lim, &px, r->err);
    if (rc == -EBADMSG)
        r->err[0] = '\0';
    if (rc)
        return rc == -EBADMSG ? -ENOTSUP : rc;
    tr_bounds_charge(&r->bounds, bytes, "the decoded source", r->err);
    if (px.bands != hdr->Bands || px.width != hdr->Xsize / r->shrink ||
        px.height != hdr->Ysize / r->shrink) { /* not what libvips's loader would give */
        tr_jpeg_free(px.data);
        return -ENOTSUP;
    }
    t[0] = vips_image_new_from_memory(px.data, (size_t)px.width * px.height * px.bands, px.width,
                                      px.height, px.bands, VIPS_FORMAT_UCHAR);
    if (!t[0]) {
        tr_jpeg_free(px.data);
        return tr_run_lib_fail(r, "cannot decode the image");
    }
    g_signal_connect(t[0], "postclose", G_CALLBACK(free_pixels), px.data);
    vips_image_init_fields(t[0], px.width, px.height, px.bands, VIPS_FORMAT_UCHAR, VIPS_CODING_NONE,
                           hdr->Type, hdr->Xres, hdr->Yres);
    copy_metadata(hdr, t[0]);
    tr_run_watch(r, t[0]);
    r->direct = true;
    *out = t[0];
    return 0;
}

/* ---- Load -------------------------------------------------------------------------------- */

/* libvips's buffer loaders take void * but only read from it. */
static void *unconst(const void *p)
{
    return (void *)(uintptr_t)p;
}

/* Open the source with the loader of its type; pixels are decoded later, on demand. shrink:
 * JPEG DCT scaling (1 2 4 8) or WebP scale 1/shrink; page, n: the frames to decode (n -1:
 * all). Truncated data is an error, never grey pixels (fail_on truncated). */
static int open_source(struct tr_run *r, int shrink, int page, int n, VipsImage **out)
{
    void *b = unconst(r->rq->src);
    size_t len = r->rq->len;
    VipsAccess acc = n == 1 ? VIPS_ACCESS_SEQUENTIAL : VIPS_ACCESS_RANDOM;
    VipsFailOn fo = VIPS_FAIL_ON_TRUNCATED;

    switch (r->src.type) {
    case TR_SRC_JPEG:
        return vips_jpegload_buffer(b, len, out, "access", acc, "fail_on", fo, "shrink", shrink,
                                    NULL);
    case TR_SRC_PNG:
        return vips_pngload_buffer(b, len, out, "access", acc, "fail_on", fo, NULL);
    case TR_SRC_WEBP:
        return vips_webpload_buffer(b, len, out, "access", acc, "fail_on", fo, "page", page, "n", n,
                                    "scale", 1.0 / shrink, NULL);
    case TR_SRC_GIF:
        return vips_gifload_buffer(b, len, out, "access", acc, "fail_on", fo, "page", page, "n", n,
                                   NULL);
    case TR_SRC_AVIF:
    case TR_SRC_HEIF:
        return vips_heifload_buffer(b, len, out, "access", acc, "fail_on", fo, "page", page, "n", n,
                                    NULL);
    case TR_SRC_TIFF:
        return vips_tiffload_buffer(b, len, out, "access", acc, "fail_on", fo, "page", page, "n", n,
                                    NULL);
    default:
        vips_error("blobkit", "no loader for this type");
        return -1;
    }
}

/* The input limits, from the header alone: nothing has been decoded yet. */
static int check_input(struct tr_run *r, VipsImage *hdr, int pages)
{
    uint64_t px = (uint64_t)hdr->Xsize * (uint64_t)hdr->Ysize * (uint64_t)r->frames;
    char note[32];

    if (r->page >= pages)
        return tr_run_fail(r, -EINVAL, "pg-%d: the source has %d frame%s", r->page + 1, pages,
                           pages == 1 ? "" : "s");
    if (r->frames > r->lim->max_frames)
        return tr_run_fail(r, -E2BIG, "the source has %d frames, over the limit of %d", r->frames,
                           r->lim->max_frames);
    if (px > r->lim->max_input_pixels)
        return tr_run_fail(r, -E2BIG, "the source is %dx%d pixels%s, over the limit of %llu",
                           hdr->Xsize, hdr->Ysize, frames_note(r, note),
                           (unsigned long long)r->lim->max_input_pixels);
    if (r->src.type == TR_SRC_JPEG && !tr_jpeg_scan(r->rq->src, r->rq->len, &r->jpeg) &&
        r->jpeg.scans > TR_JPEG_MAX_SCANS) /* each scan is a pass over the whole image */
        return tr_run_fail(r, -E2BIG, "the JPEG has %d scans, over the limit of %d", r->jpeg.scans,
                           TR_JPEG_MAX_SCANS);
    return 0;
}

/* Step 0 is sized from the header, before loading, so that the loader can shrink; a step that
 * trims first cannot be, since its size depends on pixels. */
static int plan_first_step(struct tr_run *r)
{
    struct tr_vars v = {r->iw, r->ih, r->iw, r->ih, 0, 0};
    const struct tr_step *s;

    if (r->nsteps == 0)
        return 0;
    s = tr_chain_variant(r->rq->chain, r->step_id[0], &v, &r->taken0);
    if (!s)
        return tr_run_fail(r, -EINVAL, "if-: the condition cannot be evaluated on the source");
    if (tr_step_has(s, TR_T))
        return 0;
    r->step[0] = s;
    r->plan0_valid = true;
    return tr_run_plan(r, s, r->iw, r->ih, &r->plan0);
}

/* Decoded pixels (a video frame): wrapped when the rows are packed, else copied row by row.
 * The caller keeps them until we return. No shrink-on-load: the first step's resize runs on
 * them in prepare(). */
static int load_pixels(struct tr_run *r, VipsImage **img)
{
    const struct tr_pixels *p = r->rq->pixels;
    VipsImage **t = tr_run_local(r, 1);
    size_t row = (size_t)p->width * (size_t)p->bands;
    int rc;

    if (p->width < 1 || p->height < 1 || (p->bands != 3 && p->bands != 4) || p->stride < row)
        return tr_run_fail(r, -EINVAL, "decoded frame: bad geometry %dx%d, %d bands", p->width,
                           p->height, p->bands);
    rc = check_input(r, &(VipsImage){.Xsize = p->width, .Ysize = p->height}, 1);
    if (rc)
        return rc;
    if (p->stride == row) {
        t[0] = vips_image_new_from_memory(p->data, row * (size_t)p->height, p->width, p->height,
                                          p->bands, VIPS_FORMAT_UCHAR);
    } else {
        if (tr_bounds_charge(&r->bounds, row * (size_t)p->height, "the frame's copy", r->err))
            return -E2BIG;
        t[0] = vips_image_new_memory();
        vips_image_init_fields(t[0], p->width, p->height, p->bands, VIPS_FORMAT_UCHAR,
                               VIPS_CODING_NONE, VIPS_INTERPRETATION_sRGB, 1.0, 1.0);
        if (vips_image_write_prepare(t[0]))
            return tr_run_lib_fail(r, "cannot copy the decoded frame");
        for (int y = 0; y < p->height; y++)
            memcpy(VIPS_IMAGE_ADDR(t[0], 0, y), p->data + (size_t)y * p->stride, row);
    }
    if (!t[0])
        return tr_run_lib_fail(r, "cannot wrap the decoded frame");
    tr_run_watch(r, t[0]);
    r->borrowed = p->stride == row ? t[0] : NULL;
    t[0]->Type = VIPS_INTERPRETATION_sRGB;
    r->orientation = 1;
    r->iw = p->width;
    r->ih = p->height;
    *img = t[0];
    return plan_first_step(r);
}

/* The header of the page that will be loaded (page 0's says how many there are), so that the
 * limits are checked on what is decoded: pg-2 of a TIFF may be far larger than page 1. */
static int read_header(struct tr_run *r, VipsImage **hdr, int *pages)
{
    VipsImage **t = tr_run_local(r, 2);

    if (open_source(r, 1, 0, 1, &t[0]))
        return tr_run_lib_fail(r, "cannot read the image header");
    *pages = vips_image_get_n_pages(t[0]);
    *hdr = t[0];
    if (r->page == 0 || r->page >= *pages)
        return 0;
    if (open_source(r, 1, r->page, 1, &t[1]))
        return tr_run_lib_fail(r, "cannot read the header of the page");
    *hdr = t[1];
    return 0;
}

/* libvips's loader: the header's image itself when nothing is shrunk and one frame is read,
 * else the source opened again as the first step needs it. Counted: a progressive JPEG's
 * coefficients and an animation are held whole; the rest streams in strips. */
static int load_vips(struct tr_run *r, VipsImage *hdr, VipsImage **img)
{
    VipsImage **t = tr_run_local(r, 1);
    int w = hdr->Xsize / r->shrink, h = hdr->Ysize / r->shrink,
        sample = VIPS_IMAGE_SIZEOF_ELEMENT(hdr);
    int rc = tr_bounds_charge(&r->bounds, r->jpeg.coef_bytes, "a progressive JPEG's coefficients",
                              r->err);

    if (!rc && r->frames > 1)
        rc = tr_run_charge(r, hdr, w, h, (uint64_t)r->frames, "the decoded animation");
    else if (!rc)
        rc = tr_bounds_room(&r->bounds, tr_bounds_strip(w, hdr->Bands, sample),
                            "the decoded source", r->err);
    if (rc)
        return rc;
    *img = hdr;
    if (r->shrink > 1 || r->frames > 1) {
        if (open_source(r, r->shrink, r->page, r->frames == 1 ? 1 : -1, &t[0]))
            return tr_run_lib_fail(r, "cannot open the image");
        *img = t[0];
    }
    tr_run_watch(r, *img);
    return 0;
}

/* Read the header, check the limits, then open the source as the first step needs it. */
static int load(struct tr_run *r, VipsImage **img)
{
    VipsImage *hdr = NULL;
    int pages = 0, rc;

    if (r->rq->pixels)
        return load_pixels(r, img);
    if ((rc = read_header(r, &hdr, &pages)))
        return rc;
    if (pages > 1 && !r->pg && (r->format == TR_FMT_GIF || r->format == TR_FMT_WEBP) &&
        (r->src.type == TR_SRC_GIF || r->src.type == TR_SRC_WEBP)) /* TIFF pages: no animation */
        r->frames = pages;
    rc = check_input(r, hdr, pages);
    if (rc)
        return rc;
    r->orientation = vips_image_get_orientation(hdr);
    r->iw = vips_image_get_orientation_swap(hdr) ? hdr->Ysize : hdr->Xsize;
    r->ih = vips_image_get_orientation_swap(hdr) ? hdr->Xsize : hdr->Ysize;
    rc = plan_first_step(r);
    if (rc)
        return rc;
    r->shrink = r->plan0_valid ? tr_geom_shrink(r->src.type, r->iw, r->ih, &r->plan0) : 1;
    rc = wants_direct(r, hdr) ? load_direct(r, hdr, img) : -ENOTSUP;
    return rc == -ENOTSUP ? load_vips(r, hdr, img) : rc;
}

/* ---- Prepare: first resize, colour, orientation ------------------------------------------ */

/* 8-bit sRGB, or 8-bit grey for one-band sources; an embedded ICC profile is converted to
 * sRGB unless cp-true keeps it (CMYK always is converted). */
static int to_srgb(struct tr_run *r, VipsImage **img)
{
    VipsImage **t = tr_run_local(r, 3);
    VipsImage *in = *img;
    bool cmyk = in->Type == VIPS_INTERPRETATION_CMYK;
    VipsInterpretation want = in->Bands - vips_image_hasalpha(in) < 3 && !cmyk
                                  ? VIPS_INTERPRETATION_B_W
                                  : VIPS_INTERPRETATION_sRGB;

    if ((!r->out.color_profile || cmyk) && vips_image_get_typeof(in, VIPS_META_ICC_NAME)) {
        if (!vips_icc_transform(in, &t[0], "srgb", "embedded", TRUE, "depth", 8, NULL)) {
            *img = t[0];
            return 0;
        }
        vips_error_clear(); /* a broken profile: convert without it */
    }
    if (in->Type == want && in->BandFmt == VIPS_FORMAT_UCHAR)
        return 0; /* the usual case: both calls below would only copy */
    if (vips_colourspace(in, &t[1], want, NULL) || vips_cast_uchar(t[1], &t[2], NULL))
        return tr_run_lib_fail(r, "cannot convert to sRGB");
    *img = t[2];
    return 0;
}

/* Apply EXIF orientation; a mirror alone (2) streams, every other one reads out of order. */
static int autorotate(struct tr_run *r, VipsImage **img)
{
    VipsImage **t = tr_run_local(r, 1);
    int rc;

    if (r->orientation <= 1 || r->orientation > 8)
        return 0;
    if (r->orientation != 2 && (rc = tr_run_materialise(r, img)))
        return rc;
    if (vips_autorot(*img, &t[0], NULL))
        return tr_run_lib_fail(r, "cannot apply the EXIF orientation");
    *img = t[0];
    return 0;
}

/* The first step's resize happens here, before orientation, on the image as stored: the loader
 * has already shrunk it, and the resize needs no random access. */
static int prepare(struct tr_run *r, VipsImage **img)
{
    bool swap = r->orientation >= 5 && r->orientation <= 8;
    int rc;

    if (r->plan0_valid && r->plan0.rw) {
        rc = swap ? tr_run_resize(r, img, r->plan0.rh, r->plan0.rw)
                  : tr_run_resize(r, img, r->plan0.rw, r->plan0.rh);
        if (rc)
            return rc;
    }
    rc = to_srgb(r, img);
    return rc ? rc : autorotate(r, img);
}

/* ---- Frames ------------------------------------------------------------------------------ */

/* Cut an animation (one tall image, "page-height" high frames) into frames. */
static int split_frames(struct tr_run *r, VipsImage *img, VipsImage **frame)
{
    VipsImage **t = tr_run_local(r, r->frames);
    int ph = vips_image_get_page_height(img);

    for (int f = 0; f < r->frames; f++) {
        if (vips_crop(img, &t[f], 0, f * ph, img->Xsize, ph, NULL))
            return tr_run_lib_fail(r, "cannot split frames");
        frame[f] = t[f];
    }
    return 0;
}

/* Join frames again; timing and loop count come along from the first frame's metadata. */
static int join_frames(struct tr_run *r, VipsImage **frame, VipsImage **out)
{
    VipsImage **t = tr_run_local(r, 2);

    if (vips_arrayjoin(frame, &t[0], r->frames, "across", 1, NULL) || vips_copy(t[0], &t[1], NULL))
        return tr_run_lib_fail(r, "cannot join frames");
    vips_image_set_int(t[1], VIPS_META_PAGE_HEIGHT, frame[0]->Ysize);
    *out = t[1];
    return 0;
}

/* prepare and every step, frame by frame for an animation. */
static int transform(struct tr_run *r, VipsImage **img)
{
    VipsImage **frame = g_new0(VipsImage *, r->frames); /* borrowed: ctx owns the images */
    int rc = 0;

    if (r->frames > 1)
        rc = split_frames(r, *img, frame);
    else
        frame[0] = *img;
    for (int f = 0; f < r->frames && !rc; f++)
        rc = prepare(r, &frame[f]);
    if (!rc)
        rc = tr_step_run(r, frame, r->frames);
    if (!rc && r->frames > 1)
        rc = join_frames(r, frame, img);
    else if (!rc)
        *img = frame[0];
    g_free(frame);
    return rc;
}

/* ---- Encode ------------------------------------------------------------------------------ */

/* md-/cp-: strip everything (the default), or keep what was asked for. Returns whether the
 * saver should strip; when it should not, the unwanted fields are removed from a copy. */
static int metadata(struct tr_run *r, VipsImage **img, gboolean *strip)
{
    VipsImage **t = tr_run_local(r, 1);
    char **names;

    *strip = !r->out.metadata && !r->out.color_profile;
    if (*strip || (r->out.metadata && r->out.color_profile))
        return 0;
    if (vips_copy(*img, &t[0], NULL))
        return tr_run_lib_fail(r, "cannot copy metadata");
    names = vips_image_get_fields(t[0]);
    for (char **n = names; *n; n++) {
        bool icc = strcmp(*n, VIPS_META_ICC_NAME) == 0;
        bool meta = g_str_has_prefix(*n, "exif-") || g_str_has_prefix(*n, "xmp-") ||
                    g_str_has_prefix(*n, "iptc-") || g_str_has_prefix(*n, "ipct-");

        if (r->out.metadata ? icc : meta)
            vips_image_remove(t[0], *n);
    }
    g_strfreev(names);
    *img = t[0];
    return 0;
}

/* Flatten alpha onto bg for JPEG, and give AVIF the three bands libheif wants. */
static int output_bands(struct tr_run *r, VipsImage **img)
{
    VipsImage **t = tr_run_local(r, 3);
    VipsArrayDouble *bg;
    int rc;

    if (!tr_run_has_alpha(r->format) && vips_image_hasalpha(*img)) {
        if ((rc = tr_run_fit_colour(r, img, r->flatten)))
            return rc;
        bg = tr_run_colour_array(*img, r->flatten, false);
        rc = vips_flatten(*img, &t[0], "background", bg, NULL);
        vips_area_unref(VIPS_AREA(bg));
        if (rc || vips_cast_uchar(t[0], &t[1], NULL))
            return tr_run_lib_fail(r, "cannot flatten");
        *img = t[1];
    }
    if (r->format == TR_FMT_AVIF && (*img)->Bands < 3) {
        if (vips_colourspace(*img, &t[2], VIPS_INTERPRETATION_sRGB, NULL))
            return tr_run_lib_fail(r, "cannot convert to sRGB");
        *img = t[2];
    }
    return 0;
}

/* One encode, on whichever thread runs it: its own reference to the image, the settings,
 * the result. */
struct save_job {
    VipsImage *img; /* (transfer full) */
    enum tr_format format;
    struct tr_output out;
    gboolean strip;
    void *buf; /* the encoded image, g_malloc'ed */
    size_t len;
    int rc;
    char err[TR_ERR_LEN];
};

/* Encode: this is where libvips decodes and runs the whole pipeline. */
static void save(void *arg)
{
    struct save_job *j = arg;
    const struct tr_output *o = &j->out;
    VipsImage *img = j->img;
    int rc;

    if (j->format == TR_FMT_PNG)
        rc = vips_pngsave_buffer(img, &j->buf, &j->len, "palette", !o->lossless, "Q", o->quality,
                                 "strip", j->strip, NULL);
    else if (j->format == TR_FMT_WEBP)
        rc = vips_webpsave_buffer(img, &j->buf, &j->len, "Q", o->quality, "lossless", o->lossless,
                                  "strip", j->strip, NULL);
    else if (j->format == TR_FMT_AVIF)
        rc = vips_heifsave_buffer(img, &j->buf, &j->len, "Q", o->quality, "lossless", o->lossless,
                                  "compression", VIPS_FOREIGN_HEIF_COMPRESSION_AV1, "effort",
                                  AVIF_EFFORT, "strip", j->strip, NULL);
    else if (j->format == TR_FMT_GIF)
        rc = vips_gifsave_buffer(img, &j->buf, &j->len, "effort", GIF_EFFORT, "strip", j->strip,
                                 NULL);
    else
        rc = vips_jpegsave_buffer(img, &j->buf, &j->len, "Q", o->quality, "optimize_coding", TRUE,
                                  "interlace", o->progressive, "strip", j->strip, NULL);
    if (rc)
        tr_run_lib_message("cannot transform the image", j->err);
    j->rc = rc ? -EBADMSG : 0;
}

static void save_release(void *arg)
{
    struct save_job *j = arg;

    g_free(j->buf);
    g_object_unref(j->img);
    g_free(j);
}

/* The saver on a helper thread, so that the call returns on time even when nothing can stop
 * the encoder (tr_bounds_unstoppable()): j's image is in memory, and reads nothing of the
 * caller's. Returns 0 when j is done, or -ETIMEDOUT / -ECANCELED when the helper was left to
 * finish j and release it. */
static int save_on_helper(struct tr_run *r, struct save_job *j)
{
    int rc;

    g_signal_handlers_disconnect_by_data(j->img, &r->bounds); /* r is gone when j ends */
    rc = tr_bounds_run(&r->bounds, save, save_release, tr_thread_done, j, r->err);
    if (rc == -EAGAIN)
        save(j);
    return rc == -EAGAIN ? 0 : rc;
}

/* A copy of img in memory of our own. */
static int own_copy(struct tr_run *r, VipsImage **img)
{
    VipsImage **t = tr_run_local(r, 1);

    if (vips_copy(*img, &t[0], NULL))
        return tr_run_lib_fail(r, "cannot copy the image");
    *img = t[0];
    return tr_run_materialise(r, img);
}

/* Counted for the encode: a strip of the image and the encoder's own memory. */
static int charge_encode(struct tr_run *r, VipsImage *img)
{
    int h = r->frames > 1 ? vips_image_get_page_height(img) : img->Ysize;
    uint64_t bytes = tr_bounds_strip(img->Xsize, img->Bands, VIPS_IMAGE_SIZEOF_ELEMENT(img)) +
                     tr_bounds_encoder(&r->out, r->format, img->Xsize, h, img->Bands, r->frames);

    return tr_bounds_charge(&r->bounds, bytes, "the encoder", r->err);
}

/* The result of j into out: a saver stopped by the kill flag is the deadline or the cancel. */
static int take_result(struct tr_run *r, struct save_job *j, struct tr_image *out)
{
    int rc = j->rc;

    if (rc && tr_bounds_expired(&r->bounds))
        return tr_bounds_check(&r->bounds, r->err);
    if (rc) {
        memcpy(r->err, j->err, TR_ERR_LEN);
        return rc;
    }
    rc = tr_bounds_charge(&r->bounds, j->len, "the encoded image", r->err);
    if (rc)
        return rc;
    *out = (struct tr_image){.data = j->buf,
                             .len = j->len,
                             .format = r->format,
                             .width = j->img->Xsize,
                             .height = j->img->Ysize,
                             .load_shrink = r->shrink,
                             .load_direct = r->direct};
    if (r->frames > 1)
        out->height = vips_image_get_page_height(j->img);
    j->buf = NULL;
    return 0;
}

/* libvips 8.14's WebP saver leaks its encoder and its reference to the whole pipeline when the
 * pipeline fails under it (a frame of the source that does not decode): a WebP result is
 * rendered into memory first, so that such a failure comes before the saver starts. A saver
 * that runs on the helper thread always gets rendered pixels. */
static bool render_first(const struct tr_run *r, bool helper)
{
    return helper || r->format == TR_FMT_WEBP;
}

/* The result meets the output limits too: a source that no step resized (no chain, or only
 * flips and effects) was never planned against them. */
static int encode(struct tr_run *r, VipsImage *img, struct tr_image *out)
{
    bool helper = tr_bounds_watched(&r->bounds) && tr_bounds_unstoppable(&r->out, r->format);
    struct save_job *j;
    gboolean strip = TRUE;
    int rc = tr_run_check_size(r, img->Xsize,
                               r->frames > 1 ? vips_image_get_page_height(img) : img->Ysize);

    if (!rc)
        rc = output_bands(r, &img);
    if (!rc)
        rc = metadata(r, &img, &strip);
    if (!rc)
        rc = charge_encode(r, img);
    if (!rc && render_first(r, helper))
        rc = img == r->borrowed ? own_copy(r, &img) : tr_run_materialise(r, &img);
    if (rc || (rc = tr_bounds_check(&r->bounds, r->err)))
        return rc;
    j = g_new0(struct save_job, 1);
    *j = (struct save_job){
        .img = g_object_ref(img), .format = r->format, .out = r->out, .strip = strip};
    if (helper && (rc = save_on_helper(r, j)))
        return rc; /* the helper releases j */
    if (!helper)
        save(j);
    rc = take_result(r, j, out);
    save_release(j);
    return rc;
}

/* ---- API --------------------------------------------------------------------------------- */

/* The cheap checks, before libvips is involved. */
static int check_request(struct tr_run *r)
{
    const struct tr_request *rq = r->rq;
    const struct tr_chain *c = rq->chain;

    if (rq->pixels) { /* a decoded frame: it has the properties of a PNG source */
        r->src = (struct tr_sniff){.type = TR_SRC_PNG, .alpha = rq->pixels->bands == 4};
    } else {
        if (rq->len > r->lim->max_input_bytes)
            return tr_run_fail(r, -E2BIG, "the source is %zu bytes, over the limit of %zu", rq->len,
                               r->lim->max_input_bytes);
        tr_sniff(rq->src, rq->len, &r->src);
        if (!tr_sniff_is_image(&r->src))
            return tr_run_fail(r, -EBADMSG, "the source is not an image this server decodes");
    }
    tr_chain_output(c, &r->out);
    r->format = rq->format;
    if (r->format == TR_FMT_AUTO || r->format == TR_FMT_ORIG)
        r->format = tr_pick_format(c, &r->src, NULL, false);
    if (r->format == TR_FMT_MP4 || r->format == TR_FMT_WEBM)
        return tr_run_fail(r, -EINVAL, "f-%s: a video format, for a video or an animated GIF",
                           tr_format_name(r->format));
    if (r->out.format == TR_FMT_GIF && r->src.type != TR_SRC_GIF) /* f-auto may pick GIF */
        return tr_run_fail(r, -EINVAL, "f-gif: only a GIF source can be served as GIF");
    r->page = tr_chain_page(c) - 1; /* pg-1 changes nothing, as in tr_canonical() */
    r->pg = r->page > 0;
    for (unsigned i = 0; i < c->nsteps && i < TR_MAX_STEPS; i++) {
        if (!tr_step_is_noop(&c->step[i])) {
            r->step_id[r->nsteps] = i;
            r->step[r->nsteps++] = &c->step[i];
        }
        if (tr_step_has(&c->step[i], TR_BG))
            r->flatten = c->step[i].bg;
    }
    r->flatten.a = 255;
    return 0;
}

int tr_apply(const struct tr_request *rq, struct tr_image *out, char err[TR_ERR_LEN])
{
    struct tr_run r = {.rq = rq, .lim = rq->limits, .err = err, .frames = 1, .shrink = 1};
    VipsImage *img = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    err[0] = '\0';
    tr_bounds_init(&r.bounds, rq);
    rc = check_request(&r);
    if (!rc)
        rc = tr_bounds_check(&r.bounds, err);
    if (rc)
        return rc;
    r.ctx = VIPS_OBJECT(vips_image_new());
    rc = load(&r, &img);
    if (!rc)
        rc = transform(&r, &img);
    if (!rc)
        rc = encode(&r, img, out);
    g_object_unref(r.ctx);
    return rc;
}

int tr_probe(const void *src, size_t len, const struct tr_limits *limits, struct tr_info *out,
             char err[TR_ERR_LEN])
{
    static const struct tr_chain none; /* no steps */
    struct tr_request rq = {
        .chain = &none, .src = src, .len = len, .format = TR_FMT_JPEG, .limits = limits};
    struct tr_run r = {.rq = &rq, .lim = limits, .err = err, .frames = 1};
    VipsImage **t;
    int rc;

    memset(out, 0, sizeof(*out));
    err[0] = '\0';
    rc = check_request(&r);
    if (rc)
        return rc;
    r.ctx = VIPS_OBJECT(vips_image_new());
    t = tr_run_local(&r, 1);
    rc = open_source(&r, 1, 0, 1, &t[0]) ? tr_run_lib_fail(&r, "cannot read the image header") : 0;
    if (!rc) {
        bool swap = vips_image_get_orientation_swap(t[0]);

        *out = (struct tr_info){r.src, swap ? t[0]->Ysize : t[0]->Xsize,
                                swap ? t[0]->Xsize : t[0]->Ysize, vips_image_get_n_pages(t[0]),
                                vips_image_get_orientation(t[0])};
    }
    g_object_unref(r.ctx);
    return rc;
}

void tr_image_release(struct tr_image *img)
{
    g_free(img->data);
    memset(img, 0, sizeof(*img));
}

/* Only the loaders of the formats we serve stay reachable; libvips's untrusted ones (magick,
 * svg, pdf, ...) are blocked twice over. */
static void block_loaders(void)
{
    static const char *const allowed[] = {"VipsForeignLoadJpeg", "VipsForeignLoadPng",
                                          "VipsForeignLoadWebp", "VipsForeignLoadNsgif",
                                          "VipsForeignLoadHeif", "VipsForeignLoadTiff"};

    vips_block_untrusted_set(TRUE);
    vips_operation_block_set("VipsForeignLoad", TRUE);
    for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
        vips_operation_block_set(allowed[i], FALSE);
}

/* libvips's warnings ("error in tile ...", "ignoring nclx profile") repeat what tr_apply()
 * returns in err or are harmless; they must not reach a server's stderr once per request. */
static void drop_warning(const char *domain, GLogLevelFlags level, const char *msg, void *data)
{
    (void)domain;
    (void)level;
    (void)msg;
    (void)data;
}

int tr_init(const char *argv0, int vips_threads)
{
    if (VIPS_INIT(argv0))
        return -1;
    g_log_set_handler("VIPS", G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO,
                      drop_warning, NULL);
    block_loaders();
    vips_cache_set_max(0);
    vips_cache_set_max_mem(0);
    vips_concurrency_set(vips_threads > 0 ? vips_threads : 1);
    return 0;
}

void tr_shutdown(void)
{
    tr_bounds_drain();
    vips_shutdown();
}

void tr_thread_done(void)
{
    vips_thread_shutdown();
}
