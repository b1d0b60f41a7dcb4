/* transform/tr_step.h: the steps of a chain, run on pixels (tr_step.c). */
#ifndef TRANSFORM_TR_STEP_H
#define TRANSFORM_TR_STEP_H

#include "tr_run.h"

/* Every step of r on frame[0..n) in place, in order; a step's size is planned once, from the
 * first frame, and what is decided from pixels (trim box, attention crop) is taken on the first
 * frame and reused. 0 or an -errno with r->err set. */
int tr_step_run(struct tr_run *r, VipsImage **frame, int n);

/* Step id (one inside a layer) on one image, its conditional decided on that image. */
int tr_step_one(struct tr_run *r, unsigned id, VipsImage **img);

/* Parts of a step that layers use too: t- (s->trim, the box memo'ed in m), rt-, fl-, o-
 * (percent), r-. */
int tr_step_trim(struct tr_run *r, const struct tr_step *s, struct tr_memo *m, VipsImage **img);
int tr_step_rotate(struct tr_run *r, const struct tr_step *s, VipsImage **img);
int tr_step_flip(struct tr_run *r, enum tr_flip how, VipsImage **img);
int tr_step_opacity(struct tr_run *r, int percent, VipsImage **img);
int tr_step_radius(struct tr_run *r, const struct tr_step *s, VipsImage **img);

#endif
