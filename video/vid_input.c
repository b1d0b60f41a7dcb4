/* video/vid_input.c: demuxing a source from a file descriptor (vid_input.h). */
#include "vid_input.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavutil/display.h>
#include <libavutil/opt.h>

#define AVIO_BUFFER (64 * 1024)
#define SNIFF_BYTES 4096
#define PROBE_BYTES (4 * 1024 * 1024) /* what find_stream_info may read */
#define MAX_STREAMS 64                /* a hostile file may declare thousands */

static int read_source(void *opaque, uint8_t *buf, int size)
{
    struct vid_input *in = opaque;
    ssize_t n;

    if (vid_run_check(in->run))
        return AVERROR_EXIT;
    do
        n = pread(in->fd, buf, (size_t)size, in->pos);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return AVERROR(errno);
    if (n == 0)
        return AVERROR_EOF;
    in->pos += n;
    return (int)n;
}

static int64_t seek_source(void *opaque, int64_t offset, int whence)
{
    struct vid_input *in = opaque;
    int64_t to;

    switch (whence & ~AVSEEK_FORCE) {
    case AVSEEK_SIZE:
        return in->size;
    case SEEK_SET:
        to = offset;
        break;
    case SEEK_CUR:
        to = in->pos + offset;
        break;
    case SEEK_END:
        to = in->size + offset;
        break;
    default:
        return AVERROR(EINVAL);
    }
    if (to < 0)
        return AVERROR(EINVAL);
    in->pos = to;
    return to;
}

/* Blocking calls inside the demuxer ask this whether to give up. */
static int interrupted(void *opaque)
{
    struct vid_input *in = opaque;

    return vid_run_check(in->run) != 0;
}

/* A demuxer that wants another file (an HLS playlist, a QuickTime reference) gets none. */
static int refuse_open(struct AVFormatContext *s, AVIOContext **pb, const char *url, int flags,
                       AVDictionary **options)
{
    (void)s, (void)pb, (void)flags, (void)options;
    (void)url;
    return AVERROR(EPERM);
}

/* Size limit, then the container from the first bytes. */
static int check_file(struct vid_input *in)
{
    struct vid_run *r = in->run;
    unsigned char head[SNIFF_BYTES];
    struct stat st;
    ssize_t n;

    if (fstat(in->fd, &st))
        return vid_fail(r, -errno, "cannot read the source: %s", strerror(errno));
    if (!S_ISREG(st.st_mode))
        return vid_fail(r, -EBADMSG, "the source is not a regular file");
    if (st.st_size == 0)
        return vid_fail(r, -EBADMSG, "the source is empty (0 bytes)");
    if ((uint64_t)st.st_size > r->lim.max_input_bytes)
        return vid_fail(r, -E2BIG, "the source is %lld bytes, over the limit of %llu",
                        (long long)st.st_size, (unsigned long long)r->lim.max_input_bytes);
    in->size = st.st_size;
    do
        n = pread(in->fd, head, sizeof(head), 0);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return vid_fail(r, -errno, "cannot read the source: %s", strerror(errno));
    in->container = vid_sniff(head, (size_t)n);
    if (in->container == VID_CT_UNKNOWN)
        return vid_fail(r, -EBADMSG, "not a video: no container we read starts like this");
    return 0;
}

static const AVInputFormat *demuxer(enum vid_container c)
{
    switch (c) {
    case VID_CT_MP4:
    case VID_CT_MOV:
        return av_find_input_format("mov");
    case VID_CT_WEBM:
    case VID_CT_MATROSKA:
        return av_find_input_format("matroska");
    case VID_CT_GIF:
        return av_find_input_format("gif");
    case VID_CT_MPEG_PS:
        return av_find_input_format("mpeg");
    default:
        return NULL;
    }
}

/* The format context over our AVIOContext, with every bound a hostile file could abuse. */
static int open_demuxer(struct vid_input *in)
{
    uint8_t *buf = av_malloc(AVIO_BUFFER);
    int rc;

    if (!buf)
        return vid_fail(in->run, -ENOMEM, "out of memory");
    in->avio = avio_alloc_context(buf, AVIO_BUFFER, 0, in, read_source, NULL, seek_source);
    in->fmt = avformat_alloc_context();
    if (!in->avio || !in->fmt) {
        if (!in->avio)
            av_free(buf);
        return vid_fail(in->run, -ENOMEM, "out of memory");
    }
    in->fmt->pb = in->avio;
    in->fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
    in->fmt->interrupt_callback = (AVIOInterruptCB){interrupted, in};
    in->fmt->io_open = refuse_open;
    in->fmt->probesize = PROBE_BYTES;
    in->fmt->max_analyze_duration = 5 * AV_TIME_BASE;
    in->fmt->max_streams = MAX_STREAMS;
    rc = avformat_open_input(&in->fmt, NULL, demuxer(in->container), NULL);
    if (rc < 0)
        return vid_fail_input(in->run, rc, "cannot read the container");
    return 0;
}

/* Clockwise display rotation from the stream's display matrix, to the nearest quarter turn. */
static int rotation_of(const AVStream *st)
{
    const uint8_t *m = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, NULL);
    double deg;

    if (!m)
        return 0;
    deg = -av_display_rotation_get((const int32_t *)m);
    if (isnan(deg))
        return 0;
    deg = fmod(round(deg / 90) * 90, 360);
    return (int)(deg < 0 ? deg + 360 : deg);
}

/* The first stream of a type, cover art aside; every other stream is discarded unread. */
static void pick_streams(struct vid_input *in)
{
    for (unsigned i = 0; i < in->fmt->nb_streams; i++) {
        AVStream *st = in->fmt->streams[i];
        enum AVMediaType t = st->codecpar->codec_type;

        st->discard = AVDISCARD_ALL;
        if (t == AVMEDIA_TYPE_VIDEO && !in->vst && !(st->disposition & AV_DISPOSITION_ATTACHED_PIC))
            in->vst = st;
        else if (t == AVMEDIA_TYPE_AUDIO && !in->ast)
            in->ast = st;
        else
            continue;
        st->discard = AVDISCARD_DEFAULT;
    }
}

/* The file's start time (as ffmpeg -ss counts from it), else the earliest start of the streams
 * used: without avformat_find_stream_info() only the streams have one. */
static int64_t start_of(const struct vid_input *in)
{
    const AVStream *st[2] = {in->vst, in->ast};
    int64_t start = INT64_MAX;

    if (in->fmt->start_time != AV_NOPTS_VALUE)
        return in->fmt->start_time;
    for (int i = 0; i < 2; i++)
        if (st[i] && st[i]->start_time != AV_NOPTS_VALUE)
            start = FFMIN(start, av_rescale_q(st[i]->start_time, st[i]->time_base, AV_TIME_BASE_Q));
    return start == INT64_MAX ? 0 : start;
}

/* The file's duration, else the longest of the streams used (headers alone give no total). */
static double duration_of(const struct vid_input *in)
{
    const AVStream *st[2] = {in->vst, in->ast};
    double d = 0;

    if (in->fmt->duration > 0)
        return in->fmt->duration / (double)AV_TIME_BASE;
    for (int i = 0; i < 2; i++)
        if (st[i] && st[i]->duration > 0)
            d = fmax(d, (double)st[i]->duration * av_q2d(st[i]->time_base));
    return d;
}

/* Duration and resolution against the limits. */
static int check_streams(struct vid_input *in)
{
    struct vid_run *r = in->run;
    const AVCodecParameters *v = in->vst ? in->vst->codecpar : NULL;

    in->start = start_of(in);
    in->duration = duration_of(in);
    if (!in->vst && !in->ast)
        return vid_fail(r, -EBADMSG, "the file holds neither video nor audio");
    if (in->duration > r->lim.max_duration)
        return vid_fail(r, -E2BIG, "the video lasts %.1f s, over the limit of %.0f s", in->duration,
                        r->lim.max_duration);
    if (v && (v->width > r->lim.max_input_dim || v->height > r->lim.max_input_dim ||
              (uint64_t)v->width * (uint64_t)v->height > r->lim.max_input_pixels))
        return vid_fail(r, -E2BIG, "the video is %dx%d, over the limit of %d pixels a side",
                        v->width, v->height, r->lim.max_input_dim);
    in->rotation = in->vst ? rotation_of(in->vst) : 0;
    return 0;
}

int vid_input_open(struct vid_input *in, int fd, struct vid_run *r, bool find_info)
{
    int rc;

    *in = (struct vid_input){.run = r, .fd = fd};
    rc = check_file(in);
    if (!rc)
        rc = open_demuxer(in);
    if (rc)
        return rc;
    if (find_info || (in->fmt->ctx_flags & AVFMTCTX_NOHEADER)) { /* MPEG-PS: streams come later */
        rc = avformat_find_stream_info(in->fmt, NULL);
        if (rc < 0)
            return vid_fail_input(r, rc, "cannot read the streams");
    }
    pick_streams(in);
    return check_streams(in);
}

/* A stream not wanted is not read at all. */
static void drop(AVStream **st, bool wanted)
{
    if (*st && !wanted) {
        (*st)->discard = AVDISCARD_ALL;
        *st = NULL;
    }
}

void vid_input_keep(struct vid_input *in, bool video, bool audio)
{
    drop(&in->vst, video);
    drop(&in->ast, audio);
}

static const AVCodec *decoder_for(enum AVCodecID id)
{
    const AVCodec *c = id == AV_CODEC_ID_AV1 ? avcodec_find_decoder_by_name("libdav1d") : NULL;

    return c ? c : avcodec_find_decoder(id);
}

static int open_decoder(struct vid_input *in, AVStream *st, AVCodecContext **out)
{
    const AVCodec *codec = decoder_for(st->codecpar->codec_id);
    AVCodecContext *c;
    int rc;

    if (!codec)
        return vid_fail(in->run, -EBADMSG, "no decoder for the %s stream",
                        avcodec_get_name(st->codecpar->codec_id));
    c = avcodec_alloc_context3(codec);
    *out = c;
    if (!c)
        return vid_fail(in->run, -ENOMEM, "out of memory");
    rc = avcodec_parameters_to_context(c, st->codecpar);
    if (rc < 0)
        return vid_fail_input(in->run, rc, "cannot set the decoder up");
    c->pkt_timebase = st->time_base;
    c->thread_count = in->run->lim.threads;
    c->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
    c->max_pixels = (int64_t)in->run->lim.max_input_pixels;
    rc = avcodec_open2(c, codec, NULL);
    if (rc < 0)
        return vid_fail_input(in->run, rc, "cannot open the decoder");
    return 0;
}

int vid_input_open_video(struct vid_input *in)
{
    if (!in->vst)
        return vid_fail(in->run, -EBADMSG, "the file has no video stream");
    return open_decoder(in, in->vst, &in->vdec);
}

int vid_input_open_audio(struct vid_input *in)
{
    if (!in->ast)
        return vid_fail(in->run, -EBADMSG, "the file has no audio stream");
    return open_decoder(in, in->ast, &in->adec);
}

void vid_input_close(struct vid_input *in)
{
    avcodec_free_context(&in->vdec);
    avcodec_free_context(&in->adec);
    if (in->fmt)
        avformat_close_input(&in->fmt);
    if (in->avio) {
        av_freep(&in->avio->buffer);
        avio_context_free(&in->avio);
    }
}

int vid_input_read(struct vid_input *in, AVPacket *pkt)
{
    int rc;

    for (;;) {
        rc = av_read_frame(in->fmt, pkt);
        if (rc == AVERROR_EOF)
            return 1;
        if (rc < 0)
            return vid_fail_input(in->run, rc, "cannot read the file");
        if ((in->vst && pkt->stream_index == in->vst->index) ||
            (in->ast && pkt->stream_index == in->ast->index))
            return 0;
        av_packet_unref(pkt);
    }
}

int vid_input_send(struct vid_input *in, AVCodecContext *dec, const AVPacket *pkt)
{
    int rc = avcodec_send_packet(dec, pkt);

    if (rc >= 0 || rc == AVERROR_EOF)
        return 0;
    if (rc == AVERROR(ENOMEM) || rc == AVERROR_EXIT || ++in->bad_packets > VID_MAX_BAD_PACKETS)
        return vid_fail_input(in->run, rc, "cannot decode the source");
    return 0;
}

int vid_input_check_frame(struct vid_input *in, const AVFrame *f)
{
    const struct vid_limits *lim = &in->run->lim;

    if (f->width > lim->max_input_dim || f->height > lim->max_input_dim ||
        (uint64_t)f->width * (uint64_t)f->height > lim->max_input_pixels)
        return vid_fail(in->run, -E2BIG, "a %dx%d frame is over the limit of %d pixels a side",
                        f->width, f->height, lim->max_input_dim);
    if (++in->frames > lim->max_frames)
        return vid_fail(in->run, -E2BIG, "the video has more than %lld frames, the limit",
                        (long long)lim->max_frames);
    return 0;
}

double vid_input_seconds(const struct vid_input *in, const AVStream *st, int64_t ts)
{
    int64_t start = av_rescale_q(in->start, AV_TIME_BASE_Q, st->time_base);

    return (double)(ts - start) * av_q2d(st->time_base);
}

int64_t vid_input_ts(const struct vid_input *in, const AVStream *st, double t)
{
    int64_t start = av_rescale_q(in->start, AV_TIME_BASE_Q, st->time_base);

    return start + llround(t / av_q2d(st->time_base));
}

int vid_input_seek(struct vid_input *in, const AVStream *st, double t)
{
    int64_t ts = vid_input_ts(in, st, t);
    int rc = avformat_seek_file(in->fmt, st->index, INT64_MIN, ts, ts, 0);

    if (rc < 0)
        return vid_fail_input(in->run, rc, "cannot seek in the file");
    return 0;
}
