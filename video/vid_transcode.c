/* video/vid_transcode.c: one source into one MP4 or WebM file (vid.h). */
#include "vid.h"

#include "vid_pipe.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY_SECONDS 4 /* a keyframe at least this often: players seek within 4 s */

static enum vid_vcodec video_codec(const struct vid_params *p)
{
    if (p->vcodec != VID_VC_DEFAULT)
        return p->vcodec;
    return p->format == VID_FMT_WEBM ? VID_VC_VP9 : VID_VC_H264;
}

static enum vid_acodec audio_codec(const struct vid_params *p)
{
    if (p->acodec != VID_AC_DEFAULT)
        return p->acodec;
    return p->format == VID_FMT_WEBM ? VID_AC_OPUS : VID_AC_AAC;
}

/* so, eo and du as one cut: eo and so + du, the earlier end wins. */
static struct vid_cut cut_of(const struct vid_params *p)
{
    struct vid_cut c = {.so = p->so > 0 ? p->so : 0, .eo = p->eo > 0 ? p->eo : 0};

    if (p->du > 0 && (c.eo <= 0 || c.so + p->du < c.eo))
        c.eo = c.so + p->du;
    return c;
}

/* The video output: geometry from the parameters on the displayed source. */
static int add_video(struct vid_pipe *pipe, const struct vid_params *p, enum vid_vcodec vc,
                     struct vid_result *res)
{
    AVRational fr = av_guess_frame_rate(pipe->in.fmt, pipe->in.vst, NULL);
    double fps = fr.num && fr.den ? av_q2d(fr) : 25;
    struct vid_enc_video cfg = {
        .codec = vc,
        .quality = p->quality,
        .keyint = (int)fmin(fmax(round(fps * KEY_SECONDS), 1), 600),
    };
    struct vid_geom g;
    int w, h, rc;

    vid_pipe_source_size(pipe, &w, &h);
    rc = vid_geom_plan(p, w, h, &pipe->run->lim, &g, pipe->run->err);
    if (rc)
        return rc;
    res->width = g.out_w;
    res->height = g.out_h;
    return vid_pipe_add_video(pipe, &g, cfg);
}

/* The output file and its streams. */
static int set_up(struct vid_pipe *pipe, const struct vid_params *p, const char *path,
                  struct vid_result *res)
{
    enum vid_vcodec vc = video_codec(p);
    enum vid_acodec ac = audio_codec(p);
    char url[PATH_MAX + 8];
    int rc;

    if (snprintf(url, sizeof(url), "file:%s", path) >= (int)sizeof(url))
        return vid_fail(pipe->run, -ENAMETOOLONG, "the output path is too long");
    rc = vid_pipe_output(pipe, p->format == VID_FMT_WEBM ? "webm" : "mp4", url);
    if (!rc && p->format == VID_FMT_MP4)
        av_dict_set(vid_pipe_muxer_options(pipe), "movflags", "+faststart", 0);
    memcpy(pipe->bg, p->bg, sizeof(pipe->bg));
    if (!rc && pipe->in.vst) {
        rc = add_video(pipe, p, vc, res);
        snprintf(res->vcodec, sizeof(res->vcodec), "%s", vid_enc_name(vc, VID_AC_NONE));
    }
    if (!rc && pipe->in.ast) {
        rc = vid_pipe_add_audio(pipe, ac, 1);
        snprintf(res->acodec, sizeof(res->acodec), "%s", vid_enc_name(VID_VC_NONE, ac));
    }
    return rc;
}

int vid_transcode(int fd, const struct vid_params *p, const struct vid_job *job, const char *path,
                  struct vid_result *out, char err[VID_ERR_LEN])
{
    struct vid_run run;
    struct vid_pipe pipe;
    struct vid_result res = {0};
    struct vid_cut cut = cut_of(p);
    struct stat st;
    int rc;

    vid_run_init(&run, job, err);
    rc = vid_params_check(p, err);
    if (rc)
        return rc;
    rc = vid_pipe_open(&pipe, fd, &run, &cut, video_codec(p) != VID_VC_NONE,
                       audio_codec(p) != VID_AC_NONE);
    if (!rc)
        rc = set_up(&pipe, p, path, &res);
    if (!rc)
        rc = vid_pipe_run(&pipe);
    res.frames = pipe.frames_out;
    res.duration = pipe.end_time;
    vid_pipe_close(&pipe);
    if (rc && pipe.opened)
        unlink(path);
    else if (stat(path, &st) == 0)
        res.bytes = (uint64_t)st.st_size;
    if (!rc && out)
        *out = res;
    return rc;
}
