/* video/vid_graph.h: libavfilter graphs between the decoders and the encoders of a job.
 * Internal.
 *
 * Video: one source of decoded frames, one sink per output (a rendition), each branch
 *   trim, setpts (the cut starts at 0), scale, the source's rotation, crop, pad, rt, yuv420p.
 * Audio: one source, one sink: trim, setpts, resample to what the encoder takes, in frames of
 *   the encoder's size. */
#ifndef VIDEO_VID_GRAPH_H
#define VIDEO_VID_GRAPH_H

#include "vid_geom.h"
#include "vid_run.h"

#include <libavcodec/avcodec.h>
#include <libavfilter/avfilter.h>

#define VID_MAX_OUTPUTS VID_MAX_RENDITIONS

/* The cut, in seconds from the start of the file: from so, to eo (eo <= 0: to the end). */
struct vid_cut {
    double so, eo;
};

struct vid_graph {
    AVFilterGraph *graph;
    AVFilterContext *src;
    AVFilterContext *sink[VID_MAX_OUTPUTS];
    int nsinks;
};

/* The video graph for frames like first (size, pixel format, time base tb), one branch per
 * geometry, the source turned by rotation (clockwise) first, pad colour bg (RGB).
 * Returns 0 or -errno with err set; vid_graph_free() in every case. */
int vid_graph_video(struct vid_run *r, const AVFrame *first, AVRational tb, int rotation,
                    const struct vid_geom *geom, int n, const uint8_t bg[3],
                    const struct vid_cut *cut, struct vid_graph *g);

/* The audio graph for frames like first (time base tb) into encoder enc. */
int vid_graph_audio(struct vid_run *r, const AVFrame *first, AVRational tb,
                    const AVCodecContext *enc, const struct vid_cut *cut, struct vid_graph *g);

void vid_graph_free(struct vid_graph *g);

#endif
