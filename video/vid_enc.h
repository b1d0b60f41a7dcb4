/* video/vid_enc.h: the encoders of a job and their settings for on-the-fly work (the presets
 * and the q-to-CRF mapping are measured in docs/video.md, "Encoders"). Internal. */
#ifndef VIDEO_VID_ENC_H
#define VIDEO_VID_ENC_H

#include "vid_run.h"

#include <libavcodec/avcodec.h>

/* One video encoder. */
struct vid_enc_video {
    enum vid_vcodec codec; /* H264, VP9 or AV1 */
    int width, height;
    AVRational time_base, frame_rate; /* frame_rate 0/1 when unknown */
    int quality;                      /* q-: 1..100 (0: 80) */
    int64_t max_rate;                 /* bits/s cap (adaptive streaming); 0: none */
    int keyint;                       /* frames between keyframes at most */
    bool global_header;               /* the container wants extradata (MP4, WebM, DASH) */
};

/* One audio encoder, for a source of sample_rate and channels. */
struct vid_enc_audio {
    enum vid_acodec codec; /* AAC or OPUS */
    int sample_rate, channels;
    bool global_header;
};

/* The CRF of codec for q (1..100; 0: 80): linear, q 80 at the codec's usual default. Pure. */
int vid_enc_crf(enum vid_vcodec codec, int quality);

/* Open the encoder; threads from the run's limits. Returns 0 or -errno (-ENOTSUP when this
 * FFmpeg lacks the encoder) with err set. (transfer full): avcodec_free_context(). */
int vid_enc_open_video(struct vid_run *r, const struct vid_enc_video *cfg, AVCodecContext **out);
int vid_enc_open_audio(struct vid_run *r, const struct vid_enc_audio *cfg, AVCodecContext **out);

/* The FFmpeg encoder name used for a codec ("libx264", "libvpx-vp9", "libsvtav1", "aac",
 * "libopus"). */
const char *vid_enc_name(enum vid_vcodec vc, enum vid_acodec ac);

#endif
