/* transform/tr_layer.h: the layers of a step, made and drawn (tr_layer.c), and the decoded
 * layer sources of tr.h (struct tr_source). Not an API: other modules include tr.h. */
#ifndef TRANSFORM_TR_LAYER_H
#define TRANSFORM_TR_LAYER_H

#include "tr_run.h"

/* Draw on frame[0..n) every layer step id draws in branch taken, in the chain's order: each is
 * made once (its source, trimmed unless t-false, its own steps, nested layers; a text layer's
 * text rendered) for the first frame's size, and composited over every frame where
 * tr_geom_place() puts it. 0 or an -errno with r->err set. */
int tr_layer_draw(struct tr_run *r, unsigned id, enum tr_branch taken, VipsImage **frame, int n);

#endif
