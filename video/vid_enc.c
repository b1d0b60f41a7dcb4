/* video/vid_enc.c: encoders and their on-the-fly settings (vid_enc.h; the figures behind each
 * choice are in docs/video.md, "Encoders"). */
#include "vid_enc.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>

#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>

#define X264_PRESET "veryfast"
#define VP9_DEADLINE "realtime"
#define VP9_CPU_USED "6"
#define SVTAV1_PRESET "10"
#define AAC_RATE 128000 /* bits/s for stereo; half for mono */
#define OPUS_RATE 96000

int vid_enc_crf(enum vid_vcodec codec, int quality)
{
    double q = quality > 0 ? quality : 80;
    double crf = codec == VID_VC_H264 ? 51 - 0.35 * q : 63 - 0.4 * q;
    int max = codec == VID_VC_H264 ? 51 : 63;

    return crf < 1 ? 1 : crf > max ? max : (int)lround(crf);
}

const char *vid_enc_name(enum vid_vcodec vc, enum vid_acodec ac)
{
    switch (vc) {
    case VID_VC_H264:
        return "libx264";
    case VID_VC_VP9:
        return "libvpx-vp9";
    case VID_VC_AV1:
        return "libsvtav1";
    default:
        break;
    }
    return ac == VID_AC_OPUS ? "libopus" : ac == VID_AC_AAC ? "aac" : "";
}

/* The encoder's own options: preset and quality. */
static void video_options(const struct vid_run *r, const struct vid_enc_video *cfg,
                          AVDictionary **opts)
{
    char crf[8], lp[16];

    snprintf(crf, sizeof(crf), "%d", vid_enc_crf(cfg->codec, cfg->quality));
    av_dict_set(opts, "crf", crf, 0);
    if (cfg->codec == VID_VC_H264) {
        av_dict_set(opts, "preset", X264_PRESET, 0);
        av_dict_set(opts, "forced-idr", "1", 0); /* a forced keyframe starts a segment */
    } else if (cfg->codec == VID_VC_VP9) {
        av_dict_set(opts, "deadline", VP9_DEADLINE, 0);
        av_dict_set(opts, "cpu-used", VP9_CPU_USED, 0);
        av_dict_set(opts, "row-mt", "1", 0);
    } else {
        snprintf(lp, sizeof(lp), "lp=%d", r->lim.threads);
        av_dict_set(opts, "preset", SVTAV1_PRESET, 0);
        av_dict_set(opts, "svtav1-params", lp, 0);
    }
}

static void video_context(const struct vid_run *r, const struct vid_enc_video *cfg,
                          AVCodecContext *c)
{
    c->width = cfg->width;
    c->height = cfg->height;
    c->pix_fmt = AV_PIX_FMT_YUV420P;
    c->sample_aspect_ratio = (AVRational){1, 1};
    c->time_base = cfg->time_base;
    c->framerate = cfg->frame_rate;
    c->gop_size = cfg->keyint;
    c->thread_count = r->lim.threads;
    c->bit_rate = 0; /* constant quality; libvpx needs 0 for it */
    if (cfg->max_rate) {
        c->rc_max_rate = cfg->max_rate;
        c->rc_buffer_size = (int)(2 * cfg->max_rate);
    }
    if (cfg->global_header)
        c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
}

static int open_codec(struct vid_run *r, const char *name, AVCodecContext **out,
                      const AVCodec **codec)
{
    *codec = avcodec_find_encoder_by_name(name);
    if (!*codec)
        return vid_fail(r, -ENOTSUP, "this FFmpeg has no %s encoder", name);
    *out = avcodec_alloc_context3(*codec);
    return *out ? 0 : vid_fail(r, -ENOMEM, "out of memory");
}

int vid_enc_open_video(struct vid_run *r, const struct vid_enc_video *cfg, AVCodecContext **out)
{
    const AVCodec *codec;
    AVDictionary *opts = NULL;
    int rc = open_codec(r, vid_enc_name(cfg->codec, VID_AC_NONE), out, &codec);

    if (rc)
        return rc;
    video_context(r, cfg, *out);
    video_options(r, cfg, &opts);
    rc = avcodec_open2(*out, codec, &opts);
    av_dict_free(&opts);
    if (rc < 0)
        return vid_fail_output(r, rc, "cannot open the video encoder");
    return 0;
}

/* The source's rate when the encoder takes it, else 48 kHz (Opus takes nothing else). */
static int pick_rate(const AVCodec *codec, int want)
{
    for (const int *p = codec->supported_samplerates; p && *p; p++)
        if (*p == want)
            return want;
    return 48000;
}

int vid_enc_open_audio(struct vid_run *r, const struct vid_enc_audio *cfg, AVCodecContext **out)
{
    const AVCodec *codec;
    int rc = open_codec(r, vid_enc_name(VID_VC_NONE, cfg->codec), out, &codec);
    AVCodecContext *c = *out;
    int channels = cfg->channels >= 2 ? 2 : 1;

    if (rc)
        return rc;
    c->sample_rate = pick_rate(codec, cfg->sample_rate);
    c->sample_fmt = codec->sample_fmts ? codec->sample_fmts[0] : AV_SAMPLE_FMT_FLTP;
    av_channel_layout_default(&c->ch_layout, channels);
    c->bit_rate = (cfg->codec == VID_AC_OPUS ? OPUS_RATE : AAC_RATE) / (3 - channels);
    c->time_base = (AVRational){1, c->sample_rate};
    c->thread_count = 1;
    if (cfg->global_header)
        c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    rc = avcodec_open2(c, codec, NULL);
    if (rc < 0)
        return vid_fail_output(r, rc, "cannot open the audio encoder");
    return 0;
}
