/* tests/vid_clip.c: test clips through FFmpeg's libraries (vid_clip.h). */
#include "vid_clip.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/display.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>

/* LeakSanitizer's hook for built-in suppressions (a test binary has no LSAN_OPTIONS): x265 3.5
 * leaks part of every encoder it opens (FrameFilter::init), a library frame as in lsan.supp. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libx265.so\n";
}

struct clip {
    const struct clip_spec *s;
    AVFormatContext *oc;
    AVCodecContext *venc, *aenc;
    AVStream *vst, *ast;
    AVFrame *vf, *af;
    AVPacket *pkt;
    uint8_t *rgb, *stored; /* the displayed frame, and as stored (turned back) */
    int sw, sh;            /* stored size */
    int64_t samples;       /* audio samples written */
    char *err;
    size_t errlen;
};

__attribute__((format(printf, 2, 3))) static int fail(struct clip *c, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(c->err, c->errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* ---- Pictures ----------------------------------------------------------------------------- */

static void fill(uint8_t *rgb, size_t stride, int x0, int y0, int x1, int y1, const uint8_t c[3])
{
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++)
            memcpy(rgb + (size_t)y * stride + (size_t)x * 3, c, 3);
}

void clip_draw(int i, int w, int h, uint8_t *rgb, size_t stride)
{
    static const uint8_t grey[3] = {128, 128, 128}, red[3] = {230, 20, 20}, blue[3] = {20, 20, 230},
                         white[3] = {250, 250, 250}, black[3] = {5, 5, 5};

    fill(rgb, stride, 0, 0, w, h, grey);
    fill(rgb, stride, 0, 0, w, h / 4, red);
    fill(rgb, stride, 0, h / 4, w / 8, h, blue);
    for (int b = 0; b < 8; b++)
        fill(rgb, stride, w * b / 8, h / 2, w * (b + 1) / 8, h * 3 / 4,
             (i >> (7 - b)) & 1 ? white : black);
}

static const uint8_t *at(const uint8_t *rgb, size_t stride, int x, int y)
{
    return rgb + (size_t)y * stride + (size_t)x * 3;
}

int clip_index_of(const uint8_t *rgb, int w, int h, size_t stride)
{
    int index = 0;

    for (int b = 0; b < 8; b++) {
        const uint8_t *p = at(rgb, stride, w * (2 * b + 1) / 16, h * 5 / 8);
        int level = (p[0] + p[1] + p[2]) / 3;

        if (level > 70 && level < 185)
            return -1;
        index = index << 1 | (level >= 185);
    }
    return index;
}

bool clip_is_upright(const uint8_t *rgb, int w, int h, size_t stride)
{
    const uint8_t *top = at(rgb, stride, w / 2, h / 8), *left = at(rgb, stride, w / 16, h * 3 / 8);

    return top[0] > 150 && top[2] < 100 && left[2] > 150 && left[0] < 100;
}

double clip_time(const struct clip_spec *s, int i)
{
    double period = 1.0 / s->fps;

    if (!s->vfr)
        return i * period;
    return (i / 2) * 2 * period + (i % 2) * 0.5 * period; /* 0.5 T, then 1.5 T */
}

/* The displayed frame turned anticlockwise by the rotation: what the file stores. */
static void store(struct clip *c)
{
    const struct clip_spec *s = c->s;
    size_t dstride = (size_t)s->width * 3, sstride = (size_t)c->sw * 3;

    for (int y = 0; y < s->height; y++)
        for (int x = 0; x < s->width; x++) {
            int sx = s->rotation == 90    ? y
                     : s->rotation == 180 ? s->width - 1 - x
                     : s->rotation == 270 ? s->height - 1 - y
                                          : x;
            int sy = s->rotation == 90    ? s->width - 1 - x
                     : s->rotation == 180 ? s->height - 1 - y
                     : s->rotation == 270 ? x
                                          : y;

            memcpy(c->stored + (size_t)sy * sstride + (size_t)sx * 3,
                   c->rgb + (size_t)y * dstride + (size_t)x * 3, 3);
        }
}

/* A GIF frame: palette indices of grey (transparent when alpha), red, blue, white, black. */
static void to_pal8(struct clip *c, AVFrame *f)
{
    uint32_t *pal = (uint32_t *)f->data[1];

    pal[0] = c->s->alpha ? 0x00808080 : 0xff808080;
    pal[1] = 0xffe61414;
    pal[2] = 0xff1414e6;
    pal[3] = 0xfffafafa;
    pal[4] = 0xff050505;
    for (int i = 5; i < 256; i++)
        pal[i] = 0xff000000;
    for (int y = 0; y < c->sh; y++)
        for (int x = 0; x < c->sw; x++) {
            const uint8_t *p = c->stored + ((size_t)y * (size_t)c->sw + (size_t)x) * 3;
            uint8_t v = p[0] > 200 && p[1] < 50   ? 1
                        : p[2] > 200 && p[0] < 50 ? 2
                        : p[0] > 200              ? 3
                        : p[0] < 20               ? 4
                                                  : 0;

            f->data[0][(size_t)y * (size_t)f->linesize[0] + (size_t)x] = v;
        }
}

static int picture(struct clip *c, int i)
{
    AVFrame *f = c->vf;
    int stride = c->sw * 3;
    const uint8_t *src[1] = {c->stored};

    clip_draw(i, c->s->width, c->s->height, c->rgb, (size_t)c->s->width * 3);
    store(c);
    if (av_frame_make_writable(f) < 0)
        return fail(c, "frame not writable");
    if (f->format == AV_PIX_FMT_PAL8) {
        to_pal8(c, f);
        return 0;
    }
    struct SwsContext *sws = sws_getContext(c->sw, c->sh, AV_PIX_FMT_RGB24, c->sw, c->sh, f->format,
                                            SWS_BICUBIC, NULL, NULL, NULL);
    if (!sws)
        return fail(c, "no scaler");
    sws_scale(sws, src, &stride, 0, c->sh, f->data, f->linesize);
    sws_freeContext(sws);
    return 0;
}

/* ---- Encoders and muxer ------------------------------------------------------------------- */

static void encoder_options(const struct clip_spec *s, AVDictionary **o)
{
    if (strcmp(s->vcodec, "libx264") == 0)
        av_dict_set(o, "preset", "veryfast", 0); /* B-frames, as cameras and ffmpeg make */
    else if (strcmp(s->vcodec, "libx265") == 0) {
        av_dict_set(o, "preset", "ultrafast", 0);
        av_dict_set(o, "x265-params", "log-level=error", 0);
    } else if (strcmp(s->vcodec, "libsvtav1") == 0)
        av_dict_set(o, "preset", "12", 0);
    else if (strncmp(s->vcodec, "libvpx", 6) == 0) {
        av_dict_set(o, "deadline", "realtime", 0);
        av_dict_set(o, "cpu-used", "8", 0);
    }
}

static AVCodecContext *encoder(struct clip *c, const char *name)
{
    const AVCodec *codec = avcodec_find_encoder_by_name(name);
    AVCodecContext *e = codec ? avcodec_alloc_context3(codec) : NULL;

    if (!e)
        fail(c, "no encoder %s", name);
    else if (c->oc->oformat->flags & AVFMT_GLOBALHEADER)
        e->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    return e;
}

static int open_video(struct clip *c)
{
    const struct clip_spec *s = c->s;
    AVDictionary *o = NULL;
    AVCodecContext *e = c->venc = encoder(c, s->vcodec);
    bool gif = strcmp(s->vcodec, "gif") == 0;
    int rc;

    if (!e)
        return -1;
    e->width = c->sw;
    e->height = c->sh;
    e->pix_fmt = gif ? AV_PIX_FMT_PAL8 : AV_PIX_FMT_YUV420P;
    e->time_base = s->vfr ? (AVRational){1, 1000}
                   : gif  ? (AVRational){1, 100}
                          : (AVRational){1, s->fps};
    e->framerate = (AVRational){s->fps, 1};
    e->gop_size = s->gop ? s->gop : 250;
    e->bit_rate = gif ? 0 : 400000;
    encoder_options(s, &o);
    rc = avcodec_open2(e, e->codec, &o);
    av_dict_free(&o);
    if (rc < 0)
        return fail(c, "cannot open %s: %s", s->vcodec, av_err2str(rc));
    c->vf = av_frame_alloc();
    c->vf->format = e->pix_fmt;
    c->vf->width = e->width;
    c->vf->height = e->height;
    return av_frame_get_buffer(c->vf, 0) < 0 ? fail(c, "no frame") : 0;
}

static int open_audio(struct clip *c)
{
    AVCodecContext *e = c->aenc = encoder(c, c->s->acodec);
    int rc;

    if (!e)
        return -1;
    e->sample_rate = 48000;
    e->sample_fmt = e->codec->sample_fmts[0];
    av_channel_layout_default(&e->ch_layout, 2);
    e->bit_rate = 96000;
    e->time_base = (AVRational){1, 48000};
    rc = avcodec_open2(e, e->codec, NULL);
    if (rc < 0)
        return fail(c, "cannot open %s: %s", c->s->acodec, av_err2str(rc));
    c->af = av_frame_alloc();
    c->af->format = e->sample_fmt;
    c->af->nb_samples = e->frame_size;
    c->af->sample_rate = 48000;
    av_channel_layout_copy(&c->af->ch_layout, &e->ch_layout);
    return av_frame_get_buffer(c->af, 0) < 0 ? fail(c, "no audio frame") : 0;
}

static AVStream *stream(struct clip *c, AVCodecContext *e)
{
    AVStream *st = avformat_new_stream(c->oc, NULL);

    avcodec_parameters_from_context(st->codecpar, e);
    st->time_base = e->time_base;
    return st;
}

static void rotate_stream(struct clip *c)
{
    uint8_t *m;

    if (!c->s->rotation || !c->vst)
        return;
    m = av_stream_new_side_data(c->vst, AV_PKT_DATA_DISPLAYMATRIX, 9 * sizeof(int32_t));
    if (m) /* clockwise, as a phone's portrait video (ffprobe: "rotation of -90.00 degrees") */
        av_display_rotation_set((int32_t *)m, c->s->rotation);
}

/* ---- Writing ------------------------------------------------------------------------------ */

static int drain(struct clip *c, AVCodecContext *e, AVStream *st)
{
    int rc;

    while ((rc = avcodec_receive_packet(e, c->pkt)) == 0) {
        if (!c->pkt->duration && e == c->venc) /* the last frame's: 1.5 periods when vfr */
            c->pkt->duration = av_rescale_q(
                c->s->vfr ? 3 : 1, (AVRational){1, c->s->fps * (c->s->vfr ? 2 : 1)}, e->time_base);
        av_packet_rescale_ts(c->pkt, e->time_base, st->time_base);
        c->pkt->stream_index = st->index;
        rc = c->s->late_audio ? av_write_frame(c->oc, c->pkt)
                              : av_interleaved_write_frame(c->oc, c->pkt);
        if (rc < 0)
            return fail(c, "cannot write: %s", av_err2str(rc));
    }
    return rc == AVERROR(EAGAIN) || rc == AVERROR_EOF ? 0 : fail(c, "cannot encode");
}

static int encode(struct clip *c, AVCodecContext *e, AVStream *st, AVFrame *f)
{
    if (avcodec_send_frame(e, f) < 0)
        return fail(c, "cannot encode a frame");
    return drain(c, e, st);
}

/* Audio up to time t: a 440 Hz tone. */
static int audio_until(struct clip *c, double t)
{
    AVFrame *f = c->af;

    while (c->aenc && c->samples < t * 48000) {
        if (av_frame_make_writable(f) < 0)
            return fail(c, "audio frame not writable");
        for (int i = 0; i < f->nb_samples; i++) {
            double v = 0.3 * sin(2 * M_PI * 440 * (double)(c->samples + i) / 48000);

            for (int ch = 0; ch < 2; ch++) {
                if (f->format == AV_SAMPLE_FMT_FLTP)
                    ((float *)f->data[ch])[i] = (float)v;
                else if (f->format == AV_SAMPLE_FMT_FLT)
                    ((float *)f->data[0])[2 * i + ch] = (float)v;
                else
                    ((int16_t *)f->data[0])[2 * i + ch] = (int16_t)(v * 32767);
            }
        }
        f->pts = c->samples;
        c->samples += f->nb_samples;
        if (encode(c, c->aenc, c->ast, f))
            return -1;
    }
    return 0;
}

static int write_frames(struct clip *c)
{
    const struct clip_spec *s = c->s;
    AVRational tb = c->venc ? c->venc->time_base : (AVRational){1, 1};

    if (!c->venc)
        return audio_until(c, clip_time(s, s->frames)) || encode(c, c->aenc, c->ast, NULL);
    for (int i = 0; i < s->frames; i++) {
        if (picture(c, i))
            return -1;
        c->vf->pts = llround(clip_time(s, i) / av_q2d(tb));
        if (encode(c, c->venc, c->vst, c->vf) ||
            (!s->late_audio && audio_until(c, clip_time(s, i + 1))))
            return -1;
    }
    if (encode(c, c->venc, c->vst, NULL) || audio_until(c, clip_time(s, s->frames)))
        return -1;
    return c->aenc ? encode(c, c->aenc, c->ast, NULL) : 0;
}

static int make(struct clip *c, const char *path)
{
    const struct clip_spec *s = c->s;
    AVDictionary *opts = NULL;
    int rc;

    c->sw = s->rotation % 180 ? s->height : s->width;
    c->sh = s->rotation % 180 ? s->width : s->height;
    c->rgb = malloc((size_t)s->width * (size_t)s->height * 3);
    c->stored = malloc((size_t)s->width * (size_t)s->height * 3);
    c->pkt = av_packet_alloc();
    rc = avformat_alloc_output_context2(&c->oc, NULL, s->format, path);
    if (rc < 0 || !c->rgb || !c->stored || !c->pkt)
        return fail(c, "cannot set %s up", path);
    if ((s->vcodec && open_video(c)) || (s->acodec && open_audio(c)))
        return -1;
    c->vst = c->venc ? stream(c, c->venc) : NULL;
    c->ast = c->aenc ? stream(c, c->aenc) : NULL;
    rotate_stream(c);
    if (s->faststart)
        av_dict_set(&opts, "movflags", "+faststart", 0);
    rc = avio_open(&c->oc->pb, path, AVIO_FLAG_WRITE);
    if (rc >= 0)
        rc = avformat_write_header(c->oc, &opts);
    av_dict_free(&opts);
    if (rc < 0)
        return fail(c, "cannot write %s", path);
    if (write_frames(c))
        return -1;
    return av_write_trailer(c->oc) < 0 ? fail(c, "cannot finish %s", path) : 0;
}

int clip_make(const struct clip_spec *s, const char *path, char *err, size_t errlen)
{
    struct clip c = {.s = s, .err = err, .errlen = errlen};
    int rc = make(&c, path);

    if (c.oc && c.oc->pb)
        avio_closep(&c.oc->pb);
    avformat_free_context(c.oc);
    avcodec_free_context(&c.venc);
    avcodec_free_context(&c.aenc);
    av_frame_free(&c.vf);
    av_frame_free(&c.af);
    av_packet_free(&c.pkt);
    free(c.rgb);
    free(c.stored);
    return rc;
}

/* ---- A test's folder ---------------------------------------------------------------------- */

int clip_dir_make(char *dir, size_t cap, const char *test)
{
    const char *tmp = getenv("TMPDIR");

    if (snprintf(dir, cap, "%s/%s.XXXXXX", tmp ? tmp : "/tmp", test) >= (int)cap)
        return -1;
    return mkdtemp(dir) ? 0 : -1;
}

void clip_dir_remove(const char *dir)
{
    DIR *d;
    struct dirent *e;

    if (getenv("BLOBKIT_KEEP") && strcmp(getenv("BLOBKIT_KEEP"), "1") == 0)
        return;
    d = opendir(dir);
    while (d && (e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            unlinkat(dirfd(d), e->d_name, 0);
    if (d)
        closedir(d);
    rmdir(dir);
}

/* ---- Reading back ------------------------------------------------------------------------- */

struct reader {
    AVFormatContext *fmt;
    AVCodecContext *dec;
    AVPacket *pkt;
    AVFrame *f;
    int stream;
};

static int reader_open(struct reader *r, const char *path)
{
    const AVCodec *codec;
    int rc = avformat_open_input(&r->fmt, path, NULL, NULL);

    if (rc >= 0)
        rc = avformat_find_stream_info(r->fmt, NULL);
    if (rc >= 0)
        rc = av_find_best_stream(r->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    r->stream = rc;
    r->dec = rc >= 0 ? avcodec_alloc_context3(codec) : NULL;
    if (rc >= 0 && !r->dec)
        rc = AVERROR(ENOMEM);
    if (rc >= 0)
        rc = avcodec_parameters_to_context(r->dec, r->fmt->streams[r->stream]->codecpar);
    if (rc >= 0)
        rc = avcodec_open2(r->dec, codec, NULL);
    r->pkt = av_packet_alloc();
    r->f = av_frame_alloc();
    return rc < 0 || !r->pkt || !r->f ? -1 : 0;
}

/* Decode until a frame at or after ts (in the stream's time base) comes out. */
static int reader_seek_frame(struct reader *r, int64_t ts)
{
    bool eof = false;

    while (!eof) {
        int rc = av_read_frame(r->fmt, r->pkt);

        eof = rc < 0;
        if (!eof && r->pkt->stream_index != r->stream) {
            av_packet_unref(r->pkt);
            continue;
        }
        avcodec_send_packet(r->dec, eof ? NULL : r->pkt);
        av_packet_unref(r->pkt);
        while (avcodec_receive_frame(r->dec, r->f) == 0) {
            if (r->f->best_effort_timestamp == AV_NOPTS_VALUE || r->f->best_effort_timestamp >= ts)
                return 0;
            av_frame_unref(r->f);
        }
    }
    return -1;
}

/* The frame as packed RGB. swscale writes whole vectors, past a row's end when the width is
 * not a multiple of its vector size: it gets rows with room to spare, copied out after. */
static int to_rgb(AVFrame *f, uint8_t **rgb)
{
    int row = f->width * 3, stride = (row + 63) & ~63;
    uint8_t *wide = malloc((size_t)stride * (size_t)(f->height + 1));
    struct SwsContext *sws = sws_getContext(f->width, f->height, f->format, f->width, f->height,
                                            AV_PIX_FMT_RGB24, SWS_BICUBIC, NULL, NULL, NULL);

    *rgb = malloc((size_t)row * (size_t)f->height);
    if (sws && wide && *rgb) {
        sws_scale(sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, &wide, &stride);
        for (int y = 0; y < f->height; y++)
            memcpy(*rgb + (size_t)y * (size_t)row, wide + (size_t)y * (size_t)stride, (size_t)row);
    }
    sws_freeContext(sws);
    free(wide);
    return sws && *rgb ? 0 : -1;
}

int clip_read_frame(const char *path, double t, uint8_t **rgb, int *w, int *h, char *err,
                    size_t errlen)
{
    struct reader r = {0};
    AVStream *st;
    int64_t start;
    int rc = reader_open(&r, path);

    *rgb = NULL;
    if (!rc) {
        st = r.fmt->streams[r.stream];
        start = st->start_time == AV_NOPTS_VALUE ? 0 : st->start_time;
        rc = reader_seek_frame(&r, start + llround(t / av_q2d(st->time_base)));
    }
    if (!rc)
        rc = to_rgb(r.f, rgb);
    *w = rc ? 0 : r.f->width;
    *h = rc ? 0 : r.f->height;
    if (rc)
        snprintf(err, errlen, "cannot read a frame at %.3f s of %s", t, path);
    av_frame_free(&r.f);
    av_packet_free(&r.pkt);
    avcodec_free_context(&r.dec);
    avformat_close_input(&r.fmt);
    return rc;
}
