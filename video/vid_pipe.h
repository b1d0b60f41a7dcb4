/* video/vid_pipe.h: one transcoding job: the source decoded once, filtered into one or more
 * video outputs (renditions) and an audio output, encoded, and muxed into one output (a file,
 * or HLS/DASH files). Internal: vid_transcode() and vid_package() set a pipe up and run it.
 *
 *   vid_pipe_open()         source, decoders, the cut
 *   vid_pipe_output()       the muxer (mp4, webm, hls, dash) and its URL
 *   vid_pipe_add_video()    a video stream per rendition
 *   vid_pipe_add_audio()    the audio stream (copies: one per HLS variant)
 *   vid_pipe_run()          header, every frame, trailer
 *   vid_pipe_close()        always
 *
 * Memory per job is bounded by: the decoder's threads (one frame each, plus its references),
 * one frame per filter branch, each encoder's lookahead and threads, and the muxer's
 * interleaving queue (max_interleave_delta, 10 s of packets at most). */
#ifndef VIDEO_VID_PIPE_H
#define VIDEO_VID_PIPE_H

#include "vid_enc.h"
#include "vid_graph.h"
#include "vid_input.h"

struct vid_pipe {
    struct vid_run *run;
    struct vid_input in;
    struct vid_cut cut;
    double expect; /* seconds of output expected: progress */
    uint8_t bg[3];
    double key_every; /* seconds between forced keyframes (aligned segments); 0: none */

    int nv; /* video outputs */
    struct vid_geom geom[VID_MAX_OUTPUTS];
    AVCodecContext *venc[VID_MAX_OUTPUTS];
    AVStream *vost[VID_MAX_OUTPUTS];
    int64_t last_pts[VID_MAX_OUTPUTS];
    int64_t next_key[VID_MAX_OUTPUTS];
    struct vid_graph vgraph;
    int frame_w, frame_h, frame_fmt; /* of the frames the video graph was built for */

    AVCodecContext *aenc;
    AVStream *aost[VID_MAX_OUTPUTS];
    int na;
    struct vid_graph agraph;

    AVFormatContext *oc;
    AVDictionary *mux_opts;
    bool opened; /* output files may have been created */
    bool header;
    AVPacket *pkt;
    AVFrame *frame;
    bool vdone, adone; /* the source is read past the cut's end */
    int64_t frames_out;
    double out_time; /* time of the last frame encoded, seconds */
    double end_time; /* end of the last packet written, seconds */
};

/* Open the source on fd for a cut, with video and/or audio. Returns 0 or -errno with err set:
 * -EINVAL when the cut starts past the end, -EBADMSG when want_video finds no video. */
int vid_pipe_open(struct vid_pipe *p, int fd, struct vid_run *r, const struct vid_cut *cut,
                  bool want_video, bool want_audio);

/* The source's displayed size (rotation applied). */
void vid_pipe_source_size(const struct vid_pipe *p, int *w, int *h);

/* The output: muxer (FFmpeg's name) writing to url; opts (may be NULL) go to the muxer when
 * the header is written and are freed by vid_pipe_close(). */
int vid_pipe_output(struct vid_pipe *p, const char *muxer, const char *url);
AVDictionary **vid_pipe_muxer_options(struct vid_pipe *p);

/* A video output of geometry g encoded as cfg (its time base, rate and global header are
 * filled in here). */
int vid_pipe_add_video(struct vid_pipe *p, const struct vid_geom *g, struct vid_enc_video cfg);

/* The audio output, written to copies streams (1, or one per HLS variant). */
int vid_pipe_add_audio(struct vid_pipe *p, enum vid_acodec codec, int copies);

/* Run the job to the end. Returns 0 or -errno with err set. */
int vid_pipe_run(struct vid_pipe *p);

void vid_pipe_close(struct vid_pipe *p);

#endif
