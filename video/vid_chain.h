/* video/vid_chain.h: what an image chain will make of a video frame, so that the frame can be
 * handed to the image engine already shrunk (struct vid_thumb_req). Pure; the one part of the
 * video module that reads the image engine's chains (transform/tr.h). */
#ifndef VIDEO_VID_CHAIN_H
#define VIDEO_VID_CHAIN_H

#include "tr.h"
#include "vid.h"

/* Set rq->fit_w and rq->fit_h from chain c when a frame shrunk by a whole factor gives the
 * same result: the first step resizes to literal w and/or h, and nothing in the chain depends
 * on the frame's own size or pixels (fractions, expressions, ar, dpr, extract, x/y, trim,
 * fo-auto/face, conditionals, layers). Else both stay 0: the whole frame. */
void vid_chain_fit(const struct tr_chain *c, struct vid_thumb_req *rq);

#endif
