/* video/vid_pipe.c: decode once, filter, encode, mux (vid_pipe.h).
 *
 * Timestamps: decoded frames are moved to start at the file's start (0 s), the graphs cut
 * [so, eo) and move the cut to 0, and encoders get the filtered frames' timestamps as they
 * are, so a variable frame rate stays variable. A frame whose timestamp does not increase is
 * dropped (a muxer would refuse it). The source is read in decode order and given up once
 * every stream is past eo: no later packet can hold a frame before eo. */
#include "vid_pipe.h"

#include <errno.h>
#include <math.h>

#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>

int vid_pipe_open(struct vid_pipe *p, int fd, struct vid_run *r, const struct vid_cut *cut,
                  bool want_video, bool want_audio)
{
    double end;
    int rc;

    *p = (struct vid_pipe){.run = r, .cut = *cut};
    rc = vid_input_open(&p->in, fd, r, true);
    if (rc)
        return rc;
    vid_input_keep(&p->in, want_video, want_audio);
    if (want_video && !p->in.vst)
        return vid_fail(r, -EBADMSG, "the file has no video stream");
    if (!p->in.vst && !p->in.ast)
        return vid_fail(r, -EINVAL, "vc-none: the file has no audio stream to keep");
    if (p->in.duration > 0 && cut->so >= p->in.duration)
        return vid_fail(r, -EINVAL, "so %.3f s is past the end of the video (%.3f s)", cut->so,
                        p->in.duration);
    end = cut->eo > 0 && (cut->eo < p->in.duration || !p->in.duration) ? cut->eo : p->in.duration;
    p->expect = end - fmax(cut->so, 0);
    rc = p->in.vst ? vid_input_open_video(&p->in) : 0;
    if (!rc && p->in.ast)
        rc = vid_input_open_audio(&p->in);
    p->pkt = av_packet_alloc();
    p->frame = av_frame_alloc();
    if (!rc && (!p->pkt || !p->frame))
        rc = vid_fail(r, -ENOMEM, "out of memory");
    return rc;
}

void vid_pipe_source_size(const struct vid_pipe *p, int *w, int *h)
{
    const AVCodecParameters *v = p->in.vst->codecpar;
    bool turned = p->in.rotation % 180 != 0;

    *w = turned ? v->height : v->width;
    *h = turned ? v->width : v->height;
}

int vid_pipe_output(struct vid_pipe *p, const char *muxer, const char *url)
{
    int rc = avformat_alloc_output_context2(&p->oc, NULL, muxer, url);

    if (rc < 0)
        return vid_fail_output(p->run, rc, "cannot set the output up");
    av_opt_set(p->oc, "protocol_whitelist", "file", 0);
    return 0;
}

AVDictionary **vid_pipe_muxer_options(struct vid_pipe *p)
{
    return &p->mux_opts;
}

/* A stream of the output for encoder c. */
static int add_stream(struct vid_pipe *p, const AVCodecContext *c, AVStream **out)
{
    AVStream *st = avformat_new_stream(p->oc, NULL);
    int rc;

    if (!st)
        return vid_fail(p->run, -ENOMEM, "out of memory");
    rc = avcodec_parameters_from_context(st->codecpar, c);
    if (rc < 0)
        return vid_fail_output(p->run, rc, "cannot set the output stream up");
    st->time_base = c->time_base;
    if (c->rc_max_rate) /* the rate a playlist announces (BANDWIDTH) for constant quality */
        st->codecpar->bit_rate = c->rc_max_rate;
    *out = st;
    return 0;
}

int vid_pipe_add_video(struct vid_pipe *p, const struct vid_geom *g, struct vid_enc_video cfg)
{
    AVStream *vst = p->in.vst;
    int i = p->nv, rc;

    if (i >= VID_MAX_OUTPUTS)
        return vid_fail(p->run, -E2BIG, "more than %d video outputs", VID_MAX_OUTPUTS);
    cfg.width = g->out_w;
    cfg.height = g->out_h;
    cfg.time_base = vst->time_base;
    cfg.frame_rate = av_guess_frame_rate(p->in.fmt, vst, NULL);
    cfg.global_header = p->oc->oformat->flags & AVFMT_GLOBALHEADER;
    rc = vid_enc_open_video(p->run, &cfg, &p->venc[i]);
    p->geom[i] = *g;
    p->last_pts[i] = INT64_MIN;
    p->nv++;
    return rc ? rc : add_stream(p, p->venc[i], &p->vost[i]);
}

int vid_pipe_add_audio(struct vid_pipe *p, enum vid_acodec codec, int copies)
{
    const AVCodecParameters *a = p->in.ast->codecpar;
    struct vid_enc_audio cfg = {
        .codec = codec,
        .sample_rate = a->sample_rate,
        .channels = a->ch_layout.nb_channels,
        .global_header = p->oc->oformat->flags & AVFMT_GLOBALHEADER,
    };
    int rc = vid_enc_open_audio(p->run, &cfg, &p->aenc);

    for (int i = 0; !rc && i < copies && i < VID_MAX_OUTPUTS; i++, p->na++)
        rc = add_stream(p, p->aenc, &p->aost[i]);
    return rc;
}

/* ---- Writing ------------------------------------------------------------------------------ */

/* Every packet encoder c has ready, into stream st (and into the copies of audio). A video
 * packet without a duration gets one frame period: MP4's edit list would otherwise end at the
 * last frame's start and players would drop that frame. */
static int drain_encoder(struct vid_pipe *p, AVCodecContext *c, AVStream **st, int n)
{
    int rc;

    while ((rc = avcodec_receive_packet(c, p->pkt)) == 0) {
        if (!p->pkt->duration && c->codec_type == AVMEDIA_TYPE_VIDEO && c->framerate.num)
            p->pkt->duration = av_rescale_q(1, av_inv_q(c->framerate), c->time_base);
        for (int i = 0; rc >= 0 && i < n; i++) {
            AVPacket *copy = i + 1 < n ? av_packet_clone(p->pkt) : p->pkt;

            if (!copy)
                return vid_fail(p->run, -ENOMEM, "out of memory");
            p->end_time = fmax(p->end_time, (copy->pts + copy->duration) * av_q2d(c->time_base));
            av_packet_rescale_ts(copy, c->time_base, st[i]->time_base);
            copy->stream_index = st[i]->index;
            rc = av_interleaved_write_frame(p->oc, copy);
            if (copy != p->pkt)
                av_packet_free(&copy);
        }
        if (rc < 0)
            return vid_fail_output(p->run, rc, "cannot write the output");
    }
    if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
        return 0;
    return vid_fail_output(p->run, rc, "cannot encode");
}

/* A filtered frame (NULL: the end) into encoder c. */
static int encode(struct vid_pipe *p, AVCodecContext *c, AVStream **st, int n, AVFrame *f)
{
    int rc = avcodec_send_frame(c, f);

    if (rc < 0 && rc != AVERROR_EOF)
        return vid_fail_output(p->run, rc, "cannot encode");
    return drain_encoder(p, c, st, n);
}

/* Frame f of output i: dropped unless its time increases; a keyframe on every boundary of
 * key_every seconds (segments of every rendition start together). */
static int encode_video(struct vid_pipe *p, int i, AVFrame *f)
{
    AVCodecContext *c = p->venc[i];
    double t;

    if (f->pts == AV_NOPTS_VALUE || f->pts <= p->last_pts[i])
        return 0;
    p->last_pts[i] = f->pts;
    f->pict_type = AV_PICTURE_TYPE_NONE;
    if (p->key_every > 0 && f->pts >= p->next_key[i]) {
        f->pict_type = AV_PICTURE_TYPE_I;
        t = (floor(f->pts * av_q2d(c->time_base) / p->key_every) + 1) * p->key_every;
        p->next_key[i] = llround(t / av_q2d(c->time_base));
    }
    if (i == 0) {
        p->frames_out++;
        p->out_time = f->pts * av_q2d(c->time_base);
        vid_run_progress(p->run, p->expect > 0 ? p->out_time / p->expect : 0);
    }
    return encode(p, c, &p->vost[i], 1, f);
}

/* Everything the video graph's sinks hold, through the encoders. */
static int drain_video(struct vid_pipe *p, AVFrame *f)
{
    int rc = 0;

    for (int i = 0; rc == 0 && i < p->nv; i++) {
        while (rc == 0 && av_buffersink_get_frame(p->vgraph.sink[i], f) >= 0) {
            rc = encode_video(p, i, f);
            av_frame_unref(f);
        }
    }
    return rc;
}

static int drain_audio(struct vid_pipe *p, AVFrame *f)
{
    AVRational tb = av_buffersink_get_time_base(p->agraph.sink[0]);
    int rc = 0;

    while (rc == 0 && av_buffersink_get_frame(p->agraph.sink[0], f) >= 0) {
        f->pts = av_rescale_q(f->pts, tb, p->aenc->time_base);
        if (!p->nv) {
            p->out_time = f->pts * av_q2d(p->aenc->time_base);
            vid_run_progress(p->run, p->expect > 0 ? p->out_time / p->expect : 0);
        }
        rc = encode(p, p->aenc, p->aost, p->na, f);
        av_frame_unref(f);
    }
    return rc;
}

/* ---- Decoded frames into the graphs -------------------------------------------------------- */

/* Transparent pixels of packed 8-bit RGBA (an animated GIF's frames) over bg: video has no
 * alpha, and what lies under a transparent pixel is undefined. */
static int flatten(AVFrame *f, const uint8_t bg[3])
{
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(f->format);
    int rc;

    if (!d || !(d->flags & AV_PIX_FMT_FLAG_ALPHA) || (d->flags & AV_PIX_FMT_FLAG_PLANAR) ||
        d->nb_components != 4 || d->comp[3].depth != 8 || d->comp[0].step != 4)
        return 0;
    rc = av_frame_make_writable(f);
    if (rc < 0)
        return rc;
    for (int y = 0; y < f->height; y++) {
        uint8_t *px = f->data[0] + (ptrdiff_t)y * f->linesize[0];

        for (int x = 0; x < f->width; x++, px += 4) {
            unsigned a = px[d->comp[3].offset];

            for (int c = 0; c < 3; c++)
                px[d->comp[c].offset] =
                    (uint8_t)((px[d->comp[c].offset] * a + bg[c] * (255 - a) + 127) / 255);
            px[d->comp[3].offset] = 255;
        }
    }
    return 0;
}

/* The first frame builds the graph; a later frame of another size is refused. */
static int video_graph_for(struct vid_pipe *p, const AVFrame *f)
{
    if (p->vgraph.graph && f->width == p->frame_w && f->height == p->frame_h &&
        f->format == p->frame_fmt)
        return 0;
    if (p->vgraph.graph)
        return vid_fail(p->run, -EBADMSG, "the video changes from %dx%d to %dx%d mid-stream",
                        p->frame_w, p->frame_h, f->width, f->height);
    p->frame_w = f->width;
    p->frame_h = f->height;
    p->frame_fmt = f->format;
    return vid_graph_video(p->run, f, p->in.vst->time_base, p->in.rotation, p->geom, p->nv, p->bg,
                           &p->cut, &p->vgraph);
}

/* A decoded video frame: limits, timestamps from the start, alpha, into the graph. */
static int on_video(struct vid_pipe *p, AVFrame *f)
{
    int64_t start = vid_input_ts(&p->in, p->in.vst, 0);
    int rc = vid_input_check_frame(&p->in, f);

    if (!rc)
        rc = video_graph_for(p, f);
    if (rc || f->best_effort_timestamp == AV_NOPTS_VALUE)
        return rc;
    f->pts = f->best_effort_timestamp - start;
    f->pict_type = AV_PICTURE_TYPE_NONE;
    rc = flatten(f, p->bg);
    if (rc >= 0)
        rc = av_buffersrc_add_frame(p->vgraph.src, f);
    if (rc < 0)
        return vid_fail_output(p->run, rc, "cannot filter the video");
    return 0;
}

static int on_audio(struct vid_pipe *p, AVFrame *f)
{
    int64_t start = vid_input_ts(&p->in, p->in.ast, 0);
    int rc = 0;

    if (!p->agraph.graph)
        rc = vid_graph_audio(p->run, f, p->in.ast->time_base, p->aenc, &p->cut, &p->agraph);
    if (rc || f->best_effort_timestamp == AV_NOPTS_VALUE)
        return rc;
    f->pts = f->best_effort_timestamp - start;
    rc = av_buffersrc_add_frame(p->agraph.src, f);
    if (rc < 0)
        return vid_fail_output(p->run, rc, "cannot filter the audio");
    return 0;
}

/* Every frame decoder dec has ready, through its graph and encoder(s). */
static int drain_decoder(struct vid_pipe *p, AVCodecContext *dec)
{
    bool video = dec == p->in.vdec;
    AVFrame *f = p->frame;
    int rc;

    while ((rc = avcodec_receive_frame(dec, f)) == 0) {
        rc = video ? on_video(p, f) : on_audio(p, f);
        av_frame_unref(f);
        if (!rc)
            rc = video ? drain_video(p, f) : drain_audio(p, f);
        if (!rc)
            rc = vid_run_check(p->run);
        if (rc)
            return rc;
    }
    if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
        return 0;
    return vid_fail_input(p->run, rc, "cannot decode the source");
}

/* ---- The loop ------------------------------------------------------------------------------ */

/* Whether a packet of st lies past the cut's end in decode order. */
static bool past_end(const struct vid_pipe *p, const AVStream *st, const AVPacket *pkt)
{
    int64_t ts = pkt->dts != AV_NOPTS_VALUE ? pkt->dts : pkt->pts;

    return p->cut.eo > 0 && ts != AV_NOPTS_VALUE && vid_input_seconds(&p->in, st, ts) > p->cut.eo;
}

/* One packet of the source: to its decoder, unless its stream is done. */
static int on_packet(struct vid_pipe *p, AVPacket *pkt)
{
    bool video = p->in.vst && pkt->stream_index == p->in.vst->index;
    AVCodecContext *dec = video ? p->in.vdec : p->in.adec;
    bool *done = video ? &p->vdone : &p->adone;
    int rc;

    *done = *done || past_end(p, video ? p->in.vst : p->in.ast, pkt);
    if (*done) {
        av_packet_unref(pkt);
        return 0;
    }
    rc = vid_input_send(&p->in, dec, pkt);
    av_packet_unref(pkt);
    return rc ? rc : drain_decoder(p, dec);
}

static int read_all(struct vid_pipe *p)
{
    AVPacket *pkt = av_packet_alloc();
    int rc = pkt ? 0 : vid_fail(p->run, -ENOMEM, "out of memory");

    while (!rc && ((p->in.vst && !p->vdone) || (p->in.ast && !p->adone))) {
        rc = vid_run_check(p->run);
        if (!rc)
            rc = vid_input_read(&p->in, pkt);
        if (rc == 1) {
            rc = 0;
            break;
        }
        if (!rc)
            rc = on_packet(p, pkt);
    }
    av_packet_free(&pkt);
    return rc;
}

/* A decoder (may be NULL) gives up the frames it holds. */
static int flush_decoder(struct vid_pipe *p, AVCodecContext *dec)
{
    int rc = dec ? vid_input_send(&p->in, dec, NULL) : 0;

    return rc || !dec ? rc : drain_decoder(p, dec);
}

/* The end: decoders, graphs and encoders give up what they hold. */
static int flush(struct vid_pipe *p)
{
    int rc = flush_decoder(p, p->in.vdec);

    if (!rc)
        rc = flush_decoder(p, p->in.adec);
    if (!rc && p->vgraph.graph && av_buffersrc_add_frame(p->vgraph.src, NULL) >= 0)
        rc = drain_video(p, p->frame);
    if (!rc && p->agraph.graph && av_buffersrc_add_frame(p->agraph.src, NULL) >= 0)
        rc = drain_audio(p, p->frame);
    for (int i = 0; !rc && i < p->nv; i++)
        rc = encode(p, p->venc[i], &p->vost[i], 1, NULL);
    if (!rc && p->aenc)
        rc = encode(p, p->aenc, p->aost, p->na, NULL);
    return rc;
}

static int start(struct vid_pipe *p)
{
    int rc = 0;

    p->opened = true; /* from here on, files may exist to remove on failure */
    if (!(p->oc->oformat->flags & AVFMT_NOFILE))
        rc = avio_open2(&p->oc->pb, p->oc->url, AVIO_FLAG_WRITE, NULL, NULL);
    if (rc >= 0)
        rc = avformat_write_header(p->oc, &p->mux_opts);
    if (rc < 0)
        return vid_fail_output(p->run, rc, "cannot start the output");
    p->header = true;
    return 0;
}

/* The trailer: MP4's index (moved to the front), the last HLS/DASH playlists. */
static int finish(struct vid_pipe *p)
{
    int rc;

    p->header = false;
    rc = av_write_trailer(p->oc);
    return rc < 0 ? vid_fail_output(p->run, rc, "cannot finish the output") : 0;
}

int vid_pipe_run(struct vid_pipe *p)
{
    int rc = start(p);

    if (!rc && p->cut.so > 0)
        rc = vid_input_seek(&p->in, p->in.vst ? p->in.vst : p->in.ast, p->cut.so);
    if (!rc)
        rc = read_all(p);
    if (!rc)
        rc = flush(p);
    if (!rc && p->nv && !p->frames_out)
        rc = vid_fail(p->run, p->in.frames ? -EINVAL : -EBADMSG, "%s",
                      p->in.frames ? "the cut holds no frame" : "no video frame could be decoded");
    if (!rc)
        rc = finish(p);
    if (!rc)
        vid_run_progress(p->run, 1);
    return rc;
}

void vid_pipe_close(struct vid_pipe *p)
{
    if (p->oc && p->header && (p->oc->oformat->flags & AVFMT_NOFILE))
        av_write_trailer(p->oc); /* closes the files the HLS/DASH muxer opened */
    if (p->oc && !(p->oc->oformat->flags & AVFMT_NOFILE))
        avio_closep(&p->oc->pb);
    avformat_free_context(p->oc);
    av_dict_free(&p->mux_opts);
    for (int i = 0; i < p->nv; i++)
        avcodec_free_context(&p->venc[i]);
    avcodec_free_context(&p->aenc);
    vid_graph_free(&p->vgraph);
    vid_graph_free(&p->agraph);
    av_frame_free(&p->frame);
    av_packet_free(&p->pkt);
    vid_input_close(&p->in);
}
