/* video/vid_probe.c: what a source holds, from its headers and first packets (vid.h). */
#include "vid.h"

#include "vid_input.h"

#include <stdio.h>

static void codec_name(const AVStream *st, char *out, size_t cap)
{
    snprintf(out, cap, "%s", st ? avcodec_get_name(st->codecpar->codec_id) : "");
}

static void fill(const struct vid_input *in, struct vid_info *out)
{
    const AVCodecParameters *v = in->vst ? in->vst->codecpar : NULL;
    const AVCodecParameters *a = in->ast ? in->ast->codecpar : NULL;
    AVRational fr = v ? av_guess_frame_rate(in->fmt, in->vst, NULL) : (AVRational){0, 1};
    bool turned = in->rotation % 180 != 0;

    *out = (struct vid_info){
        .container = in->container,
        .has_video = v != NULL,
        .has_audio = a != NULL,
        .rotation = in->rotation,
        .duration = in->duration,
        .bit_rate = in->fmt->bit_rate > 0 ? in->fmt->bit_rate : 0,
    };
    codec_name(in->vst, out->vcodec, sizeof(out->vcodec));
    codec_name(in->ast, out->acodec, sizeof(out->acodec));
    if (v) {
        out->width = turned ? v->height : v->width;
        out->height = turned ? v->width : v->height;
        out->fps = fr.num > 0 && fr.den > 0 ? av_q2d(fr) : 0;
    }
    if (a) {
        out->sample_rate = a->sample_rate;
        out->channels = a->ch_layout.nb_channels;
    }
}

int vid_probe(int fd, const struct vid_job *job, struct vid_info *out, char err[VID_ERR_LEN])
{
    struct vid_run run;
    struct vid_input in;
    int rc;

    vid_run_init(&run, job, err);
    rc = vid_input_open(&in, fd, &run, true);
    if (!rc)
        fill(&in, out);
    vid_input_close(&in);
    return rc;
}
