/* transform/tr_geom.h: what a step does to the size of an image, worked out before a pixel is
 * touched: the size w h ar dpr ask for, the resize, the crop box or the padding and where fo
 * puts it, the cm-extract region, and the output limits on each; the shrink-on-load factor of
 * the first resize. Pure arithmetic, no libvips: tr_apply.c runs what these plan. */
#ifndef TRANSFORM_TR_GEOM_H
#define TRANSFORM_TR_GEOM_H

#include "tr.h"

enum tr_geom_op {
    TR_GEOM_KEEP,  /* no crop or pad */
    TR_GEOM_CROP,  /* cut ow x oh at (x, y) */
    TR_GEOM_SMART, /* cut ow x oh where libvips's attention measure points */
    TR_GEOM_PAD,   /* place the image at (x, y) on an ow x oh canvas of bg (x, y < 0 crops) */
};

/* What one step does to the size of the image. */
struct tr_geom {
    int rw, rh; /* resize to this first; 0 when the step does not resize */
    int ow, oh; /* the size after the crop or pad */
    enum tr_geom_op op;
    int x, y;
};

/* What planning needs besides the step. */
struct tr_geom_ctx {
    const struct tr_limits *lim;
    int iw, ih;      /* the source, oriented: iw and ih of expressions */
    int frames;      /* frames kept: the output pixel limit counts each */
    double hint_dpr; /* Sec-CH-DPR for dpr-auto, 0 when absent */
    int hint_width;  /* Sec-CH-Width for w-auto, 0 when absent */
    int bw, bh;      /* inside a layer, the image it is drawn on (bw bh of expressions); else 0 */
    char *err;       /* TR_ERR_LEN bytes: why a call failed, (transfer none) */
};

/* Plan step s on a cw x ch image into g. Returns 0, or with c->err set: -EINVAL (an expression
 * that cannot be evaluated, a size of 0 px or less, a cm-extract region outside the image) or
 * -E2BIG (a size over c->lim). */
int tr_geom_plan(const struct tr_geom_ctx *c, const struct tr_step *s, int cw, int ch,
                 struct tr_geom *g);

/* Whether a w x h image (times c->frames) fits the output limits: 0, or -E2BIG with c->err
 * set. */
int tr_geom_check_size(const struct tr_geom_ctx *c, int w, int h);

/* The shrink-on-load factor for a source of this type, iw x ih as stored, whose first step
 * plans first: 1, or for JPEG 2 4 8, for WebP any whole factor; the decoded image stays at least
 * as big as first's resize. */
int tr_geom_shrink(enum tr_source_type type, int iw, int ih, const struct tr_geom *first);

/* A number of pixels for b- and r- from n, a literal or an expression on a cw x ch image,
 * rounded. Returns 0, or -EINVAL with c->err set (key names the parameter). */
int tr_geom_px(const struct tr_geom_ctx *c, const struct tr_num *n, int cw, int ch, const char *key,
               double *out);

/* Where a lw x lh layer goes on a bw x bh image, from its first step s: lx/ly from the left/top
 * edge, a negative one (N) measuring the layer's right/bottom edge from the base's right/bottom
 * edge (lx-N10: 10 px of the base show right of the layer, as CSS right: 10px); else lxc/lyc,
 * where the layer's centre goes; else lfo (center by default), per axis: lx-10 alone keeps
 * lfo's vertical place. Expressions see bw bh (and cw ch) as the base. The layer may stick out
 * of the base: what does is cut off. Returns 0, or -EINVAL with c->err set. */
int tr_geom_place(const struct tr_geom_ctx *c, const struct tr_step *s, int bw, int bh, int lw,
                  int lh, int *x, int *y);

/* How many times a w x h image is shrunk for a Gaussian blur of sigma (1: not at all), so that
 * a wide blur costs what a narrow one does. */
int tr_geom_blur_shrink(double sigma, int w, int h);

#endif
