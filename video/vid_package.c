/* video/vid_package.c: HLS and DASH renditions into a folder (vid.h).
 *
 * libavformat's own hls and dash muxers write the manifests, playlists and segments: one
 * muxer takes every rendition's stream, so the source is decoded once, split into one scaled
 * branch per rendition, and each rendition's keyframes are forced on the same 4 s boundaries,
 * which keeps segments aligned for switching. HLS variants carry their own copy of the audio
 * (MPEG-TS segments, the most widely played); DASH has one audio adaptation set (fragmented
 * MP4). Every name is relative, so the folder can be served under any URL. */
#include "vid.h"

#include "vid_pipe.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SEGMENT_SECONDS 4
#define NAME_PREFIX "ik-"

/* ImageKit's rendition heights and the video bit rates it gives them, bits/s. */
static const struct {
    int height;
    int64_t rate;
} renditions[] = {
    {240, 200000},   {360, 400000},    {480, 800000},    {720, 3300000},
    {1080, 5500000}, {1440, 12000000}, {2160, 18000000},
};

const char *vid_abr_master(enum vid_abr_kind kind)
{
    return kind == VID_ABR_DASH ? NAME_PREFIX "master.mpd" : NAME_PREFIX "master.m3u8";
}

static int64_t rate_of(int height)
{
    for (size_t i = 0; i < sizeof(renditions) / sizeof(renditions[0]); i++)
        if (renditions[i].height == height)
            return renditions[i].rate;
    return 0;
}

/* The heights asked for, known ones only, ascending, each once, those above the source's
 * height left out (all of them: the source's own height). */
static int pick_heights(struct vid_run *r, const struct vid_abr *abr, int src_h, int *out)
{
    int n = 0;

    if (abr->n < 1 || abr->n > VID_MAX_RENDITIONS)
        return vid_fail(r, -EINVAL, "sr: %d renditions, between 1 and %d are allowed", abr->n,
                        VID_MAX_RENDITIONS);
    for (int i = 0; i < abr->n; i++)
        if (!rate_of(abr->heights[i]))
            return vid_fail(r, -EINVAL,
                            "sr: %d is not a rendition height (240 360 480 720 1080 "
                            "1440 2160)",
                            abr->heights[i]);
    for (size_t k = 0; k < sizeof(renditions) / sizeof(renditions[0]); k++)
        for (int i = 0; i < abr->n; i++)
            if (abr->heights[i] == renditions[k].height && renditions[k].height <= src_h) {
                out[n++] = renditions[k].height;
                break;
            }
    if (n == 0)
        out[n++] = src_h & ~1;
    return n;
}

static int hls_options(struct vid_pipe *p, const char *dir, const int *heights, int n)
{
    AVDictionary **o = vid_pipe_muxer_options(p);
    char map[VID_MAX_RENDITIONS * 32], seg[PATH_MAX + 32];
    size_t len = 0;

    for (int i = 0; i < n; i++) { /* "v:0,a:0,name:240p v:1,a:1,name:360p": at most 32 a piece */
        len += (size_t)snprintf(map + len, sizeof(map) - len, "%sv:%d", i ? " " : "", i);
        if (p->na)
            len += (size_t)snprintf(map + len, sizeof(map) - len, ",a:%d", i);
        len += (size_t)snprintf(map + len, sizeof(map) - len, ",name:%dp", heights[i]);
    }
    if (snprintf(seg, sizeof(seg), "file:%s/" NAME_PREFIX "%%v-%%05d.ts", dir) >= (int)sizeof(seg))
        return vid_fail(p->run, -ENAMETOOLONG, "the output folder's name is too long");
    av_dict_set(o, "hls_time", "4", 0);
    av_dict_set(o, "hls_playlist_type", "vod", 0);
    av_dict_set(o, "hls_segment_type", "mpegts", 0);
    av_dict_set(o, "hls_segment_filename", seg, 0);
    av_dict_set(o, "hls_flags", "independent_segments", 0);
    av_dict_set(o, "master_pl_name", vid_abr_master(VID_ABR_HLS), 0);
    av_dict_set(o, "var_stream_map", map, 0);
    return 0;
}

static void dash_options(struct vid_pipe *p)
{
    AVDictionary **o = vid_pipe_muxer_options(p);

    av_dict_set(o, "seg_duration", "4", 0);
    av_dict_set(o, "use_template", "1", 0);
    av_dict_set(o, "use_timeline", "1", 0);
    av_dict_set(o, "init_seg_name", NAME_PREFIX "init-$RepresentationID$.m4s", 0);
    av_dict_set(o, "media_seg_name", NAME_PREFIX "chunk-$RepresentationID$-$Number%05d$.m4s", 0);
    av_dict_set(o, "adaptation_sets", p->na ? "id=0,streams=v id=1,streams=a" : "id=0,streams=v",
                0);
}

/* One H.264 rendition per height, keyframes every SEGMENT_SECONDS. */
static int add_renditions(struct vid_pipe *p, const int *heights, int n, struct vid_result *res)
{
    AVRational fr = av_guess_frame_rate(p->in.fmt, p->in.vst, NULL);
    double fps = fr.num && fr.den ? av_q2d(fr) : 25;
    int w, h, rc = 0;

    vid_pipe_source_size(p, &w, &h);
    p->key_every = SEGMENT_SECONDS;
    for (int i = 0; !rc && i < n; i++) {
        struct vid_enc_video cfg = {
            .codec = VID_VC_H264,
            .max_rate = rate_of(heights[i]) ? rate_of(heights[i]) : rate_of(240),
            .keyint = (int)fmin(fmax(round(fps * SEGMENT_SECONDS), 1), 600),
        };
        struct vid_geom g;

        vid_geom_rendition(w, h, heights[i], &g);
        res->width = g.out_w;
        res->height = g.out_h;
        rc = vid_pipe_add_video(p, &g, cfg);
    }
    return rc;
}

static int set_up(struct vid_pipe *p, const struct vid_abr *abr, const char *dir,
                  struct vid_result *res)
{
    int heights[VID_MAX_RENDITIONS], w, h, n, rc;
    char url[PATH_MAX + 32];

    vid_pipe_source_size(p, &w, &h);
    n = pick_heights(p->run, abr, h, heights);
    if (n < 0)
        return n;
    if (snprintf(url, sizeof(url), "file:%s/%s", dir,
                 abr->kind == VID_ABR_DASH ? vid_abr_master(VID_ABR_DASH)
                                           : NAME_PREFIX "%v.m3u8") >= (int)sizeof(url))
        return vid_fail(p->run, -ENAMETOOLONG, "the output folder's name is too long");
    rc = vid_pipe_output(p, abr->kind == VID_ABR_DASH ? "dash" : "hls", url);
    if (!rc)
        rc = add_renditions(p, heights, n, res);
    if (!rc && p->in.ast)
        rc = vid_pipe_add_audio(p, VID_AC_AAC, abr->kind == VID_ABR_HLS ? n : 1);
    if (!rc && abr->kind == VID_ABR_HLS)
        rc = hls_options(p, dir, heights, n);
    if (!rc && abr->kind == VID_ABR_DASH)
        dash_options(p);
    snprintf(res->vcodec, sizeof(res->vcodec), "libx264");
    snprintf(res->acodec, sizeof(res->acodec), "%s", p->in.ast ? "aac" : "");
    return rc;
}

/* The files of a failed job: every "ik-" name in dir. Sizes of a finished one: the total. */
static uint64_t sweep(const char *dir, bool remove)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    uint64_t total = 0;
    struct stat st;

    while (d && (e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, NAME_PREFIX, strlen(NAME_PREFIX)) != 0)
            continue;
        if (remove)
            unlinkat(dirfd(d), e->d_name, 0);
        else if (fstatat(dirfd(d), e->d_name, &st, 0) == 0)
            total += (uint64_t)st.st_size;
    }
    if (d)
        closedir(d);
    return total;
}

int vid_package(int fd, const struct vid_abr *abr, const struct vid_job *job, const char *dir,
                struct vid_result *out, char err[VID_ERR_LEN])
{
    struct vid_run run;
    struct vid_pipe pipe;
    struct vid_result res = {0};
    struct vid_cut cut = {0, 0};
    int rc;

    vid_run_init(&run, job, err);
    rc = vid_pipe_open(&pipe, fd, &run, &cut, true, true);
    if (!rc)
        rc = set_up(&pipe, abr, dir, &res);
    if (!rc)
        rc = vid_pipe_run(&pipe);
    res.frames = pipe.frames_out;
    res.duration = pipe.end_time;
    vid_pipe_close(&pipe);
    if (rc && pipe.opened)
        sweep(dir, true);
    if (!rc)
        res.bytes = sweep(dir, false);
    if (!rc && out)
        *out = res;
    return rc;
}
