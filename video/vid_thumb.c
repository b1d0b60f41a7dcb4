/* video/vid_thumb.c: the exact frame at a time, as RGB (vid.h).
 *
 * Seek to the keyframe at or before so, then decode forward to the first frame whose time is
 * at or after so, as `ffmpeg -ss` does. Packets before so that no later frame refers to
 * (non-reference frames) are not decoded at all: the decoder is told to skip them, which is
 * exact and spares a good part of the work on a long GOP. */
#include "vid.h"

#include "vid_input.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libswscale/swscale.h>

/* The search for one frame: the target timestamp, the frame found, the last one before it. */
struct seek {
    struct vid_input *in;
    int64_t target; /* in the video stream's time base; INT64_MIN: the first frame */
    AVFrame *found, *last;
};

/* Skip the decoding of packets that cannot be the frame asked for, when nothing refers to
 * them. */
static void skip_before(struct seek *s, const AVPacket *pkt)
{
    bool early = pkt->pts != AV_NOPTS_VALUE && pkt->pts < s->target;

    s->in->vdec->skip_frame =
        early && !(pkt->flags & AV_PKT_FLAG_KEY) ? AVDISCARD_NONREF : AVDISCARD_DEFAULT;
}

/* Take the frames the decoder has ready. Returns 1 when the frame is found, 0 to go on, or
 * -errno. */
static int take_frames(struct seek *s, AVFrame *f)
{
    int rc;

    while ((rc = avcodec_receive_frame(s->in->vdec, f)) == 0) {
        rc = vid_input_check_frame(s->in, f);
        if (!rc)
            rc = vid_run_check(s->in->run);
        if (rc)
            return rc;
        if (s->target == INT64_MIN ||
            (f->best_effort_timestamp != AV_NOPTS_VALUE && f->best_effort_timestamp >= s->target)) {
            av_frame_move_ref(s->found, f);
            return 1;
        }
        av_frame_unref(s->last);
        av_frame_move_ref(s->last, f);
    }
    if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
        return 0;
    return vid_fail_input(s->in->run, rc, "cannot decode the video");
}

static int decode_until(struct seek *s, AVPacket *pkt, AVFrame *f)
{
    int rc = 0, eof = 0;

    while (!eof && rc == 0) {
        eof = vid_input_read(s->in, pkt);
        if (eof < 0)
            return eof;
        if (!eof && pkt->stream_index != s->in->vst->index) {
            av_packet_unref(pkt);
            continue;
        }
        if (!eof)
            skip_before(s, pkt);
        rc = vid_input_send(s->in, s->in->vdec, eof ? NULL : pkt);
        av_packet_unref(pkt);
        if (!rc)
            rc = take_frames(s, f);
    }
    return rc < 0 ? rc : 0;
}

/* No frame at or after so: the last one, when so falls within its duration (else the file
 * ends early: truncated, or its header claims more than it holds). */
static int take_last(struct seek *s, double so)
{
    const AVStream *st = s->in->vst;
    AVRational fr = av_guess_frame_rate(s->in->fmt, s->in->vst, NULL);
    double t = vid_input_seconds(s->in, st, s->last->best_effort_timestamp);
    double d = s->last->pkt_duration > 0 ? s->last->pkt_duration * av_q2d(st->time_base)
               : fr.num > 0              ? av_q2d(av_inv_q(fr))
                                         : 0.1;

    if (s->last->best_effort_timestamp == AV_NOPTS_VALUE)
        return vid_fail(s->in->run, -EBADMSG, "the video's frames have no timestamps");
    if (so > t + d * 1.01)
        return vid_fail(s->in->run, -EBADMSG,
                        "the video ends at %.3f s, before so %.3f s (is it truncated?)", t + d, so);
    av_frame_move_ref(s->found, s->last);
    return 0;
}

/* Seek, then decode to the frame: s->found, or s->last when so is within the last frame. */
static int find_frame(struct seek *s, double so)
{
    AVPacket *pkt = av_packet_alloc();
    AVFrame *f = av_frame_alloc();
    int rc = -ENOMEM;

    if (!pkt || !f)
        goto out_free;
    rc = so > 0 ? vid_input_seek(s->in, s->in->vst, so) : 0;
    if (!rc)
        rc = decode_until(s, pkt, f);
    if (!rc && !s->found->data[0] && s->last->data[0])
        rc = take_last(s, so);
    if (!rc && !s->found->data[0] && so > 0)
        rc = vid_fail(s->in->run, -EBADMSG,
                      "no frame from the keyframe before so %.3f s on: the file ends early or "
                      "is damaged",
                      so);
    else if (!rc && !s->found->data[0])
        rc = vid_fail(s->in->run, -EBADMSG, "no video frame could be decoded%s",
                      s->in->bad_packets ? " (the stream is corrupt)" : "");
out_free:
    if (rc == -ENOMEM && (!pkt || !f))
        vid_fail(s->in->run, rc, "out of memory");
    av_frame_free(&f);
    av_packet_free(&pkt);
    return rc;
}

/* Turn an RGB image a quarter, half or three quarters clockwise. */
static void rotate_rgb(const uint8_t *src, size_t sstride, int w, int h, int rotation, uint8_t *dst,
                       size_t dstride)
{
    for (int y = 0; y < h; y++) {
        const uint8_t *row = src + (size_t)y * sstride;

        for (int x = 0; x < w; x++) {
            int dx = rotation == 90 ? h - 1 - y : rotation == 180 ? w - 1 - x : y;
            int dy = rotation == 90 ? x : rotation == 180 ? h - 1 - y : w - 1 - x;

            memcpy(dst + (size_t)dy * dstride + (size_t)dx * 3, row + (size_t)x * 3, 3);
        }
    }
}

/* A w x h RGB buffer, rows 64-byte aligned for swscale's vector code. */
static uint8_t *rgb_alloc(int w, int h, size_t *stride)
{
    void *p = NULL;

    *stride = ((size_t)w * 3 + 63) & ~(size_t)63;
    if (posix_memalign(&p, 64, *stride * (size_t)h))
        return NULL;
    return p;
}

/* The largest whole factor that divides both sides of the displayed w x h frame and leaves it
 * at least twice the scale the caller's resize needs (1: none). */
static int shrink_factor(int w, int h, const struct vid_thumb_req *rq)
{
    double need =
        fmax(rq->fit_w > 0 ? (double)rq->fit_w / w : 0, rq->fit_h > 0 ? (double)rq->fit_h / h : 0);
    int k = need > 0 ? (int)floor(1 / (2 * need)) : 1;

    while (k > 1 && (w % k || h % k))
        k--;
    return k < 1 ? 1 : k;
}

/* The frame's YUV as full-range RGB of w x h with its own matrix (BT.601 when it names none),
 * as ffmpeg's scale filter converts it; a smaller w x h is a box (area) shrink. */
static int to_rgb(const AVFrame *f, int w, int h, uint8_t *dst, size_t stride)
{
    struct SwsContext *sws =
        sws_getContext(f->width, f->height, f->format, w, h, AV_PIX_FMT_RGB24,
                       w == f->width ? SWS_BILINEAR : SWS_AREA, NULL, NULL, NULL);
    int dst_stride = (int)stride, rc;
    const int *coefs = sws_getCoefficients(f->colorspace);

    if (!sws)
        return -ENOMEM;
    sws_setColorspaceDetails(sws, coefs, f->color_range == AVCOL_RANGE_JPEG, coefs, 1, 0, 1 << 16,
                             1 << 16);
    rc = sws_scale(sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, &dst,
                   &dst_stride);
    sws_freeContext(sws);
    return rc == h ? 0 : -ENOMEM;
}

/* The found frame as RGB in out, shrunk as rq allows, rotated for display. */
static int convert(struct vid_input *in, const AVFrame *f, const struct vid_thumb_req *rq,
                   struct vid_frame *out)
{
    bool turn = in->rotation % 180 != 0;
    int k = shrink_factor(turn ? f->height : f->width, turn ? f->width : f->height, rq);
    int w = f->width / k, h = f->height / k;
    size_t stride, rstride;
    uint8_t *rgb = rgb_alloc(w, h, &stride), *rot = NULL;

    if (!rgb || to_rgb(f, w, h, rgb, stride))
        goto out_nomem;
    out->full_width = turn ? f->height : f->width;
    out->full_height = turn ? f->width : f->height;
    out->width = turn ? h : w;
    out->height = turn ? w : h;
    out->time = vid_input_seconds(in, in->vst, f->best_effort_timestamp);
    out->data = rgb;
    out->stride = stride;
    if (!in->rotation)
        return 0;
    rot = rgb_alloc(out->width, out->height, &rstride);
    if (!rot)
        goto out_nomem;
    rotate_rgb(rgb, stride, w, h, in->rotation, rot, rstride);
    free(rgb);
    out->data = rot;
    out->stride = rstride;
    return 0;
out_nomem:
    free(rgb);
    out->data = NULL;
    return vid_fail(in->run, -ENOMEM, "cannot convert a %dx%d frame to RGB", f->width, f->height);
}

/* so against the length of the video, when the container says it. */
static int check_time(struct vid_input *in, double so)
{
    if (in->duration > 0 && so >= in->duration)
        return vid_fail(in->run, -EINVAL, "so %.3f s is past the end of the video (%.3f s)", so,
                        in->duration);
    return 0;
}

int vid_thumbnail(int fd, const struct vid_thumb_req *rq, const struct vid_job *job,
                  struct vid_frame *out, char err[VID_ERR_LEN])
{
    struct vid_run run;
    struct vid_input in;
    struct seek s = {.in = &in, .found = av_frame_alloc(), .last = av_frame_alloc()};
    int rc;

    *out = (struct vid_frame){0};
    vid_run_init(&run, job, err);
    rc = vid_input_open(&in, fd, &run, false);
    if (!rc)
        vid_input_keep(&in, true, false);
    if (!rc && (!s.found || !s.last))
        rc = vid_fail(&run, -ENOMEM, "out of memory");
    if (!rc)
        rc = vid_input_open_video(&in);
    if (!rc)
        rc = check_time(&in, rq->so);
    s.target = rq->so >= 0 && !rc ? vid_input_ts(&in, in.vst, rq->so) : INT64_MIN;
    if (!rc)
        rc = find_frame(&s, rq->so);
    if (!rc)
        rc = convert(&in, s.found, rq, out);
    av_frame_free(&s.found);
    av_frame_free(&s.last);
    vid_input_close(&in);
    return rc;
}

void vid_frame_release(struct vid_frame *f)
{
    free(f->data);
    f->data = NULL;
}
