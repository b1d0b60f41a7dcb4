/* transform/tr_run.h: one tr_apply() call, as the files that run it share it: tr_apply.c
 * (the call: load, prepare, frames, encode), tr_step.c (the steps) and tr_run.c (what all of
 * them use). Together with them, the one header of blobkit that includes <vips/vips.h>; not an
 * API: other modules include tr.h. */
#ifndef TRANSFORM_TR_RUN_H
#define TRANSFORM_TR_RUN_H

#include "tr.h"
#include "tr_bounds.h"
#include "tr_geom.h"
#include "tr_jpeg.h"

#include <vips/vips.h>

/* Decisions taken from the first frame's pixels, reused for every later frame. */
struct tr_memo {
    bool trim_set, crop_set;
    int trim_left, trim_top, trim_width, trim_height;
    int crop_left, crop_top;
};

/* One tr_apply() call. */
struct tr_run {
    const struct tr_request *rq;
    const struct tr_limits *lim;
    char *err;
    VipsObject *ctx; /* owns every intermediate image (style rule 22) */
    struct tr_sniff src;
    struct tr_output out;                     /* q pr lo md cp, resolved over the chain */
    const struct tr_step *step[TR_MAX_STEPS]; /* the steps that do something (tr_step_is_noop) */
    unsigned step_id[TR_MAX_STEPS];           /* their ids in the chain */
    enum tr_branch taken0;                    /* step[0]: the variant load() planned */
    unsigned nsteps;
    enum tr_format format;    /* never AUTO or ORIG */
    int iw, ih;               /* the source frame, oriented: iw and ih of expressions; while
                               * a layer is made, its own source (tr_layer.c) */
    int bw, bh;               /* while a layer is made, the image it goes on; else 0 */
    unsigned layer_depth;     /* layers being made (nested): their corners stay transparent */
    int orientation;          /* EXIF 1..8 */
    int page;                 /* pg-: the 0-based frame to load */
    bool pg;                  /* a step says pg-2 or later: one frame, even of an animation */
    int frames;               /* frames decoded and kept */
    int shrink;               /* shrink-on-load factor used */
    bool direct;              /* decoded by tr_jpeg.c rather than a libvips loader */
    struct tr_jpeg_info jpeg; /* a JPEG source's markers */
    struct tr_bounds bounds;  /* memory counted, deadline, cancel */
    VipsImage *borrowed;      /* wraps the caller's tr_pixels: never left to a helper thread */
    bool plan0_valid;         /* plan0 was sized before loading (shrink-on-load) */
    struct tr_geom plan0;
    struct tr_color flatten; /* behind transparency when the format has none */
    struct tr_memo memo[TR_MAX_STEPS];
};

/* ---- Errors: each sets r->err and returns rc, or its -errno ------------------------------ */

__attribute__((format(printf, 3, 4))) int tr_run_fail(struct tr_run *r, int rc, const char *fmt,
                                                      ...);

/* "<what>: " and the last line of libvips's error buffer into err, which is cleared. */
void tr_run_lib_message(const char *what, char err[TR_ERR_LEN]);

/* A libvips call failed: -ETIMEDOUT or -ECANCELED when the kill flag stopped it, else
 * -EBADMSG (the source cannot be decoded: our own checks run first). */
int tr_run_lib_fail(struct tr_run *r, const char *what);

/* ---- Bounds (tr_bounds.h) ---------------------------------------------------------------- */

/* Have img, an image computed from nothing of ours (a source, a memory image), stop every
 * computation reading from it once r's deadline passes or r is cancelled. */
void tr_run_watch(struct tr_run *r, VipsImage *img);

/* Count w x h pixels of img's bands and format, n times, as held: 0 or -E2BIG. */
int tr_run_charge(struct tr_run *r, const VipsImage *img, int w, int h, uint64_t n,
                  const char *what);

/* ---- Images ------------------------------------------------------------------------------ */

/* n image slots owned by the call's context: the images put there go when the call ends.
 * (transfer none) */
VipsImage **tr_run_local(struct tr_run *r, int n);

/* Render *img into memory (counted, watched) unless it is there already: for operations that
 * read out of order or more than once. 0 or an -errno. */
int tr_run_materialise(struct tr_run *r, VipsImage **img);

/* Resize *img to exactly w x h, premultiplied when it has alpha. */
int tr_run_resize(struct tr_run *r, VipsImage **img, int w, int h);

/* Pad or extend *img to w x h with it at (x, y), filling with c (an alpha band added when c is
 * not opaque). */
int tr_run_embed(struct tr_run *r, VipsImage **img, int x, int y, int w, int h, struct tr_color c);

/* img's colour bands and alpha band (*alpha NULL when it has none), and back as 8 bits. */
int tr_run_split_alpha(struct tr_run *r, VipsImage *img, VipsImage **colour, VipsImage **alpha);
int tr_run_join_alpha(struct tr_run *r, VipsImage *colour, VipsImage *alpha, VipsImage **out);

/* Colour c as one value per band of img (luma for grey; alpha when img has it and with_alpha).
 * (transfer full): vips_area_unref(). */
VipsArrayDouble *tr_run_colour_array(VipsImage *img, struct tr_color c, bool with_alpha);

/* A grey *img about to receive colour c becomes sRGB. */
int tr_run_fit_colour(struct tr_run *r, VipsImage **img, struct tr_color c);

bool tr_run_has_alpha(enum tr_format f);                 /* whether f keeps transparency */
struct tr_color tr_run_step_bg(const struct tr_step *s); /* bg-, black when not given */

/* ---- Geometry (tr_geom.h) with the call's limits, source size and hints ------------------ */

int tr_run_check_size(struct tr_run *r, int w, int h);
int tr_run_plan(struct tr_run *r, const struct tr_step *s, int cw, int ch, struct tr_geom *g);
int tr_run_place(struct tr_run *r, const struct tr_step *s, int bw, int bh, int lw, int lh, int *x,
                 int *y);
int tr_run_size_px(struct tr_run *r, const struct tr_num *n, VipsImage *img, const char *key,
                   double *out);

#endif
