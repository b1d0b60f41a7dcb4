/* transform/tr_step.h: the steps of a chain, run on pixels (tr_step.c). */
#ifndef TRANSFORM_TR_STEP_H
#define TRANSFORM_TR_STEP_H

#include "tr_run.h"

/* Every step of r on frame[0..n) in place, in order; a step's size is planned once, from the
 * first frame, and what is decided from pixels (trim box, attention crop) is taken on the first
 * frame and reused. 0 or an -errno with r->err set. */
int tr_step_run(struct tr_run *r, VipsImage **frame, int n);

#endif
