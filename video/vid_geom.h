/* video/vid_geom.h: the size a transcode gives each frame, worked out from the parameters and
 * the source's displayed size before any frame is decoded (pure). The mapping follows the
 * image engine's c-/cm-/fo- semantics (docs/video.md, "Geometry"); every size and offset is
 * even, since 4:2:0 video needs it. */
#ifndef VIDEO_VID_GEOM_H
#define VIDEO_VID_GEOM_H

#include "vid.h"

/* Per frame, in this order: resize the displayed frame to scale_w x scale_h; keep the
 * crop_w x crop_h region at crop_x, crop_y of it; place that at pad_x, pad_y on a
 * pad_w x pad_h canvas of bg; rotate by rotate degrees clockwise. A step that changes
 * nothing has the size of the step before it. */
struct vid_geom {
    int in_w, in_h;
    int scale_w, scale_h;
    int crop_x, crop_y, crop_w, crop_h;
    int pad_x, pad_y, pad_w, pad_h;
    int rotate;
    int out_w, out_h; /* the encoded size: pad_w x pad_h, swapped by a quarter turn */
};

/* Plan p on a src_w x src_h displayed source. Returns 0, -EINVAL (an extract region outside
 * the frame, a size that is not a size) or -E2BIG (over lim's output size), with err set. */
int vid_geom_plan(const struct vid_params *p, int src_w, int src_h, const struct vid_limits *lim,
                  struct vid_geom *g, char err[VID_ERR_LEN]);

/* The plan of one adaptive-streaming rendition: height h (even), the width following the
 * source's aspect ratio, as c-at_max_enlarge gives it. */
void vid_geom_rendition(int src_w, int src_h, int h, struct vid_geom *g);

/* Whether the plan resizes, crops or pads at all. */
bool vid_geom_scales(const struct vid_geom *g);
bool vid_geom_crops(const struct vid_geom *g);
bool vid_geom_pads(const struct vid_geom *g);

#endif
