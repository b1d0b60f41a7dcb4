/* video/vid_graph.c: the filter graphs of a job (vid_graph.h). A graph is described in
 * libavfilter's text syntax, built from numbers we computed (no text from a request reaches
 * it), then parsed and configured. */
#include "vid_graph.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavutil/channel_layout.h>
#include <libavutil/pixdesc.h>

#define DESC_MAX 4096 /* a graph of 7 renditions needs about 1 KiB */

/* A graph description being written: bounded, and an overflow is remembered. */
struct desc {
    char text[DESC_MAX];
    size_t len;
    bool overflow;
};

__attribute__((format(printf, 2, 3))) static void put(struct desc *d, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (d->overflow)
        return;
    va_start(ap, fmt);
    n = vsnprintf(d->text + d->len, sizeof(d->text) - d->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(d->text) - d->len)
        d->overflow = true;
    else
        d->len += (size_t)n;
}

/* trim and setpts (asetpts for audio, prefix "a"): the cut, moved to start at 0. */
static void put_cut(struct desc *d, const char *a, const struct vid_cut *cut)
{
    if (cut->so <= 0 && cut->eo <= 0)
        return;
    put(d, "%strim=start=%.6f", a, cut->so > 0 ? cut->so : 0);
    if (cut->eo > 0)
        put(d, ":end=%.6f", cut->eo);
    put(d, ",%ssetpts=PTS-%.6f/TB,", a, cut->so > 0 ? cut->so : 0);
}

/* A clockwise quarter, half or three-quarter turn. */
static void put_turn(struct desc *d, int degrees)
{
    if (degrees == 90)
        put(d, "transpose=clock,");
    else if (degrees == 180)
        put(d, "hflip,vflip,");
    else if (degrees == 270)
        put(d, "transpose=cclock,");
}

/* One output's branch: resize in the stored orientation (fewer pixels to turn), turn, crop,
 * pad, rt, then the encoders' pixel format. */
static void put_branch(struct desc *d, const struct vid_geom *g, int rotation, const uint8_t bg[3])
{
    bool turned = rotation % 180 != 0;

    if (vid_geom_scales(g))
        put(d, "scale=%d:%d:flags=bicubic,", turned ? g->scale_h : g->scale_w,
            turned ? g->scale_w : g->scale_h);
    put_turn(d, rotation);
    if (vid_geom_crops(g))
        put(d, "crop=%d:%d:%d:%d:exact=1,", g->crop_w, g->crop_h, g->crop_x, g->crop_y);
    if (vid_geom_pads(g))
        put(d, "pad=%d:%d:%d:%d:color=0x%02x%02x%02x,", g->pad_w, g->pad_h, g->pad_x, g->pad_y,
            bg[0], bg[1], bg[2]);
    put_turn(d, g->rotate);
    put(d, "format=yuv420p");
}

static void describe_video(struct desc *d, int rotation, const struct vid_geom *geom, int n,
                           const uint8_t bg[3], const struct vid_cut *cut)
{
    put(d, "[in]");
    put_cut(d, "", cut);
    if (n > 1) {
        put(d, "split=%d", n);
        for (int i = 0; i < n; i++)
            put(d, "[s%d]", i);
        for (int i = 0; i < n; i++) {
            put(d, ";[s%d]", i);
            put_branch(d, &geom[i], rotation, bg);
            put(d, "[out%d]", i);
        }
        return;
    }
    put_branch(d, &geom[0], rotation, bg);
    put(d, "[out0]");
}

/* The graph with its source (filter src_name, arguments args) and n sinks of sink_name. */
static int make_ends(struct vid_run *r, struct vid_graph *g, const char *src_name, const char *args,
                     const char *sink_name, int n)
{
    int rc;

    g->graph = avfilter_graph_alloc();
    if (!g->graph)
        return vid_fail(r, -ENOMEM, "out of memory");
    g->graph->nb_threads = r->lim.threads;
    rc = avfilter_graph_create_filter(&g->src, avfilter_get_by_name(src_name), "in", args, NULL,
                                      g->graph);
    for (int i = 0; rc >= 0 && i < n; i++) {
        char name[16];

        snprintf(name, sizeof(name), "out%d", i);
        rc = avfilter_graph_create_filter(&g->sink[i], avfilter_get_by_name(sink_name), name, NULL,
                                          NULL, g->graph);
    }
    g->nsinks = n;
    return rc < 0 ? vid_fail_output(r, rc, "cannot set the filters up") : 0;
}

/* The open ends of the description, tied to our source and sinks. */
static int link_ends(struct vid_graph *g, AVFilterInOut **outs, AVFilterInOut **ins)
{
    *outs = avfilter_inout_alloc();
    if (!*outs)
        return AVERROR(ENOMEM);
    (*outs)->name = av_strdup("in");
    (*outs)->filter_ctx = g->src;
    for (int i = g->nsinks - 1; i >= 0; i--) {
        AVFilterInOut *io = avfilter_inout_alloc();
        char name[16];

        if (!io)
            return AVERROR(ENOMEM);
        snprintf(name, sizeof(name), "out%d", i);
        io->name = av_strdup(name);
        io->filter_ctx = g->sink[i];
        io->next = *ins;
        *ins = io;
    }
    return (*outs)->name ? 0 : AVERROR(ENOMEM);
}

static int parse_and_config(struct vid_run *r, struct vid_graph *g, const struct desc *d)
{
    AVFilterInOut *outs = NULL, *ins = NULL;
    int rc;

    if (d->overflow)
        return vid_fail(r, -E2BIG, "the filter graph is longer than %d bytes", DESC_MAX);
    rc = link_ends(g, &outs, &ins);
    if (rc >= 0)
        rc = avfilter_graph_parse_ptr(g->graph, d->text, &ins, &outs, NULL);
    if (rc >= 0)
        rc = avfilter_graph_config(g->graph, NULL);
    avfilter_inout_free(&ins);
    avfilter_inout_free(&outs);
    return rc < 0 ? vid_fail_output(r, rc, "cannot build the filter graph") : 0;
}

int vid_graph_video(struct vid_run *r, const AVFrame *first, AVRational tb, int rotation,
                    const struct vid_geom *geom, int n, const uint8_t bg[3],
                    const struct vid_cut *cut, struct vid_graph *g)
{
    struct desc d = {.len = 0};
    AVRational sar =
        first->sample_aspect_ratio.num ? first->sample_aspect_ratio : (AVRational){1, 1};
    char args[256];
    int rc;

    *g = (struct vid_graph){0};
    snprintf(args, sizeof(args), "video_size=%dx%d:pix_fmt=%d:time_base=%d/%d:pixel_aspect=%d/%d",
             first->width, first->height, first->format, tb.num, tb.den, sar.num, sar.den);
    rc = make_ends(r, g, "buffer", args, "buffersink", n);
    if (rc)
        return rc;
    describe_video(&d, rotation, geom, n, bg, cut);
    return parse_and_config(r, g, &d);
}

/* A channel layout as text; an unordered one ("2 channels") as the default layout of its
 * channel count. */
static void layout_text(const AVChannelLayout *l, char *out, size_t cap)
{
    AVChannelLayout def;

    if (l->order != AV_CHANNEL_ORDER_UNSPEC) {
        av_channel_layout_describe(l, out, cap);
        return;
    }
    av_channel_layout_default(&def, l->nb_channels);
    av_channel_layout_describe(&def, out, cap);
    av_channel_layout_uninit(&def);
}

int vid_graph_audio(struct vid_run *r, const AVFrame *first, AVRational tb,
                    const AVCodecContext *enc, const struct vid_cut *cut, struct vid_graph *g)
{
    struct desc d = {.len = 0};
    char args[256], in_layout[64], out_layout[64];
    int rc;

    *g = (struct vid_graph){0};
    layout_text(&first->ch_layout, in_layout, sizeof(in_layout));
    layout_text(&enc->ch_layout, out_layout, sizeof(out_layout));
    snprintf(args, sizeof(args), "time_base=%d/%d:sample_rate=%d:sample_fmt=%s:channel_layout=%s",
             tb.num, tb.den, first->sample_rate, av_get_sample_fmt_name(first->format), in_layout);
    rc = make_ends(r, g, "abuffer", args, "abuffersink", 1);
    if (rc)
        return rc;
    put(&d, "[in]");
    put_cut(&d, "a", cut);
    put(&d, "aresample=%d,aformat=sample_fmts=%s:channel_layouts=%s[out0]", enc->sample_rate,
        av_get_sample_fmt_name(enc->sample_fmt), out_layout);
    rc = parse_and_config(r, g, &d);
    if (!rc && !(enc->codec->capabilities & AV_CODEC_CAP_VARIABLE_FRAME_SIZE))
        av_buffersink_set_frame_size(g->sink[0], (unsigned)enc->frame_size);
    return rc;
}

void vid_graph_free(struct vid_graph *g)
{
    avfilter_graph_free(&g->graph);
    *g = (struct vid_graph){0};
}
