/* video/vid_chain.c: a video URL's chain as the engine's parameters (vid_chain.h). */
#include "vid_chain.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* The keys a video output takes: its geometry, in the one step that resizes, and the rest. */
#define BIT(k) (UINT64_C(1) << (k))
#define GEOMETRY                                                                                   \
    (BIT(TR_W) | BIT(TR_H) | BIT(TR_AR) | BIT(TR_C) | BIT(TR_CM) | BIT(TR_FO) | BIT(TR_BG))
#define VIDEO_KEYS (BIT(TR_SO) | BIT(TR_EO) | BIT(TR_DU) | BIT(TR_VC) | BIT(TR_AC) | BIT(TR_SR))
#define TRANSCODE_KEYS                                                                             \
    (GEOMETRY | BIT(TR_RT) | BIT(TR_Q) | BIT(TR_F) | (VIDEO_KEYS & ~BIT(TR_SR)) | BIT(TR_ORIG))

__attribute__((format(printf, 2, 3))) static int invalid(char *err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, VID_ERR_LEN, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

static const char *key_name(int k)
{
    return tr_key_name((enum tr_key)k);
}

/* The chain's enumerations are the engine's, value for value. */
_Static_assert((int)TR_CROP_AT_LEAST == (int)VID_CROP_AT_LEAST, "c- values");
_Static_assert((int)TR_CM_PAD_EXTRACT == (int)VID_CM_PAD_EXTRACT, "cm- values");
_Static_assert((int)TR_FO_BOTTOM_RIGHT == (int)VID_FO_BOTTOM_RIGHT, "fo- values");

/* The first key of c outside allowed, or -1. */
static int first_key_outside(const struct tr_chain *c, uint64_t allowed)
{
    for (unsigned i = 0; i < c->nsteps; i++) {
        uint64_t extra = c->step[i].has & ~allowed;

        if (extra)
            return __builtin_ctzll(extra);
    }
    return -1;
}

/* The last step of c that gives key k, or NULL. */
static const struct tr_step *last_with(const struct tr_chain *c, enum tr_key k)
{
    const struct tr_step *s = NULL;

    for (unsigned i = 0; i < c->nsteps; i++)
        if (tr_step_has(&c->step[i], k))
            s = &c->step[i];
    return s;
}

/* ---- Transcodes --------------------------------------------------------------------------- */

/* A size or ratio of the chain as a number for the engine: a literal as it is (a fraction of
 * the source stays one), an expression worked out on the source's size (0 while not known). */
static int number(const struct tr_num *n, const char *key, int src_w, int src_h, double *out,
                  char *err)
{
    struct tr_vars v = {src_w, src_h, src_w, src_h, 0, 0};

    *out = 0;
    if (n->kind == TR_NUM_UNSET)
        return 0;
    if (n->kind == TR_NUM_AUTO)
        return invalid(err, "%s: %s-auto reads a client hint, which is for images", key, key);
    if (n->kind == TR_NUM_LITERAL) {
        *out = n->value[0];
        return 0;
    }
    if (src_w <= 0 || src_h <= 0)
        return 0;
    if (tr_num_eval(n, &v, out) || !(*out > 0) || *out > 65535)
        return invalid(err, "%s: the expression gives no usable value on this %dx%d video", key,
                       src_w, src_h);
    return 0;
}

/* The index of the step that resizes (the only one with geometry keys), or -1. */
static int geometry_step(const struct tr_chain *c, char *err)
{
    int at = -1;

    for (unsigned i = 0; i < c->nsteps; i++) {
        if (!(c->step[i].has & GEOMETRY))
            continue;
        if (at >= 0)
            return invalid(err, "%s: a video is resized once: give w h ar c cm fo bg in one step",
                           key_name(__builtin_ctzll(c->step[i].has & GEOMETRY)));
        at = (int)i;
    }
    return at;
}

static int set_geometry(const struct tr_step *s, int src_w, int src_h, struct vid_params *p,
                        char *err)
{
    if (number(&s->w, "w", src_w, src_h, &p->w, err) ||
        number(&s->h, "h", src_w, src_h, &p->h, err) ||
        number(&s->ar, "ar", src_w, src_h, &p->ar, err))
        return -EINVAL;
    p->crop = tr_step_has(s, TR_C) ? (enum vid_crop)s->crop : VID_CROP_MAINTAIN_RATIO;
    p->crop_mode = tr_step_has(s, TR_CM) ? (enum vid_crop_mode)s->crop_mode : VID_CM_NONE;
    p->focus = VID_FO_CENTER;
    if (tr_step_has(s, TR_FO) && s->focus <= TR_FO_BOTTOM_RIGHT)
        p->focus = (enum vid_focus)s->focus;
    if (tr_step_has(s, TR_BG)) {
        p->bg[0] = s->bg.r;
        p->bg[1] = s->bg.g;
        p->bg[2] = s->bg.b;
    }
    return 0;
}

/* rt of every step, summed: each a multiple of 90, none before the step that resizes. */
static int set_rotation(const struct tr_chain *c, int geom, struct vid_params *p, char *err)
{
    double total = 0;

    for (unsigned i = 0; i < c->nsteps; i++) {
        const struct tr_step *s = &c->step[i];

        if (!tr_step_has(s, TR_RT))
            continue;
        if (fmod(s->rotate, 90) != 0)
            return invalid(err, "rt: a video turns by 0, 90, 180 or 270 degrees, not %g",
                           s->rotate);
        if (geom >= 0 && (int)i < geom)
            return invalid(err, "rt: a video turns after it is resized: give rt- in the step "
                                "that resizes or a later one");
        total += s->rotate;
    }
    p->rotate = (int)fmod(total, 360);
    return 0;
}

static int set_output(const struct tr_chain *c, struct vid_params *p, char *err)
{
    static const enum vid_vcodec vcodecs[] = {VID_VC_H264, VID_VC_VP9, VID_VC_AV1, VID_VC_NONE};
    static const enum vid_acodec acodecs[] = {VID_AC_AAC, VID_AC_OPUS, VID_AC_NONE};
    const struct tr_step *s;
    struct tr_output o;

    tr_chain_output(c, &o);
    p->quality = o.quality;
    if (o.format == TR_FMT_WEBM)
        p->format = VID_FMT_WEBM;
    else if (o.format != TR_FMT_MP4 && o.format != TR_FMT_AUTO)
        return invalid(err,
                       "f: '%s' is an image format: a video's is mp4, webm or auto (a frame "
                       "of it: ik-thumbnail.jpg)",
                       tr_format_name(o.format));
    s = last_with(c, TR_VC);
    if (s && (unsigned)s->vcodec < COUNT(vcodecs))
        p->vcodec = vcodecs[s->vcodec];
    s = last_with(c, TR_AC);
    if (s && (unsigned)s->acodec < COUNT(acodecs))
        p->acodec = acodecs[s->acodec];
    s = last_with(c, TR_SO);
    p->so = s ? s->so : -1;
    s = last_with(c, TR_EO);
    p->eo = s ? s->eo : -1;
    s = last_with(c, TR_DU);
    p->du = s ? s->du : -1;
    return 0;
}

int vid_chain_params(const struct tr_chain *c, int src_w, int src_h, struct vid_params *p,
                     char err[VID_ERR_LEN])
{
    int k = first_key_outside(c, TRANSCODE_KEYS), geom;

    vid_params_init(p);
    if (k == TR_SR)
        return invalid(err, "sr: renditions are for ik-master.m3u8 and ik-master.mpd");
    if (k >= 0)
        return invalid(err, "%s: not supported on video", key_name(k));
    geom = geometry_step(c, err);
    if (geom < -1 || (geom >= 0 && set_geometry(&c->step[geom], src_w, src_h, p, err)))
        return -EINVAL;
    if (set_rotation(c, geom, p, err) || set_output(c, p, err))
        return -EINVAL;
    return vid_params_check(p, err);
}

/* ---- Renditions and thumbnails ------------------------------------------------------------ */

int vid_chain_abr(const struct tr_chain *c, enum vid_abr_kind kind, struct vid_abr *abr,
                  char err[VID_ERR_LEN])
{
    int k = first_key_outside(c, BIT(TR_SR));
    const struct tr_step *s = last_with(c, TR_SR);

    *abr = (struct vid_abr){.kind = kind};
    if (k >= 0)
        return invalid(err,
                       "%s: not allowed with sr- (each rendition has its own size, codec "
                       "and quality)",
                       key_name(k));
    if (!s || s->sr.n < 1)
        return invalid(err, "sr: %s needs the renditions' heights (sr-240_360_720)",
                       kind == VID_ABR_DASH ? "ik-master.mpd" : "ik-master.m3u8");
    for (int i = 0; i < s->sr.n && i < VID_MAX_RENDITIONS; i++)
        abr->heights[abr->n++] = s->sr.height[i];
    return 0;
}

int vid_chain_thumb(const struct tr_chain *c, struct tr_chain *image, double *so,
                    char err[VID_ERR_LEN])
{
    const struct tr_step *s = last_with(c, TR_SO);
    struct tr_output o;

    tr_chain_output(c, &o);
    if (last_with(c, TR_SR))
        return invalid(err, "sr: renditions are for ik-master.m3u8 and ik-master.mpd, not a "
                            "thumbnail");
    if (o.format == TR_FMT_MP4 || o.format == TR_FMT_WEBM)
        return invalid(err, "f: a thumbnail is an image (jpg png webp avif), not %s",
                       tr_format_name(o.format));
    *so = s ? s->so : -1;
    *image = *c;
    for (unsigned i = 0; i < image->nsteps; i++)
        image->step[i].has &= ~(VIDEO_KEYS & ~BIT(TR_SO));
    return 0;
}

const char *vid_chain_video_key(const struct tr_chain *c)
{
    struct tr_output o;
    int k = -1;

    for (unsigned i = 0; i < c->nsteps && k < 0; i++)
        if (c->step[i].has & VIDEO_KEYS)
            k = __builtin_ctzll(c->step[i].has & VIDEO_KEYS);
    if (k >= 0)
        return key_name(k);
    tr_chain_output(c, &o);
    if (o.format == TR_FMT_MP4 || o.format == TR_FMT_WEBM)
        return o.format == TR_FMT_MP4 ? "f-mp4" : "f-webm";
    return NULL;
}

bool vid_chain_format_given(const struct tr_chain *c)
{
    struct tr_output o;

    tr_chain_output(c, &o);
    return o.format == TR_FMT_MP4 || o.format == TR_FMT_WEBM;
}

/* ---- f-auto ------------------------------------------------------------------------------- */

/* The q= of a media range's parameters [p, end): 1 when absent. */
static double quality_of(const char *p, const char *end)
{
    for (; p < end; p++) {
        if (*p == ';') {
            p += 1 + strspn(p + 1, " \t");
            if (end - p > 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=')
                return strtod(p + 2, NULL);
        }
    }
    return 1;
}

/* Whether an Accept header lists type (exactly, any case) with a q above 0. */
static bool accepts(const char *accept, const char *type)
{
    size_t n = strlen(type);

    for (const char *p = accept; p && *p;) {
        p += strspn(p, " \t,");
        size_t len = strcspn(p, ","), tlen = strcspn(p, ";,");
        const char *q = p + tlen;

        while (tlen && (p[tlen - 1] == ' ' || p[tlen - 1] == '\t'))
            tlen--;
        if (tlen == n && strncasecmp(p, type, n) == 0)
            return quality_of(q, p + len) > 0;
        p += len;
    }
    return false;
}

/* Whether a User-Agent names a browser that plays VP9 and Opus in WebM. */
static bool plays_webm(const char *ua)
{
    static const char *const ios[] = {"CriOS/", "FxiOS/", "EdgiOS/"};

    if (!ua || !(strstr(ua, "Chrome/") || strstr(ua, "Firefox/")))
        return false;
    for (size_t i = 0; i < COUNT(ios); i++)
        if (strstr(ua, ios[i]))
            return false;
    return true;
}

enum vid_format vid_chain_pick_format(const struct tr_chain *c, const char *accept,
                                      const char *user_agent)
{
    const struct tr_step *vc = last_with(c, TR_VC), *ac = last_with(c, TR_AC);
    struct tr_output o;

    tr_chain_output(c, &o);
    if (o.format == TR_FMT_MP4 || o.format == TR_FMT_WEBM)
        return o.format == TR_FMT_WEBM ? VID_FMT_WEBM : VID_FMT_MP4;
    if ((vc && vc->vcodec == TR_VC_H264) || (ac && ac->acodec == TR_AC_AAC))
        return VID_FMT_MP4;
    if (accepts(accept, "video/webm") || plays_webm(user_agent))
        return VID_FMT_WEBM;
    return VID_FMT_MP4;
}

/* ---- Thumbnails: shrinking the frame ------------------------------------------------------ */

/* Whether a number is a plain literal (or not given): no expression, no client hint. */
static bool plain(const struct tr_num *n)
{
    return n->kind == TR_NUM_UNSET || n->kind == TR_NUM_LITERAL;
}

static bool step_is_plain(const struct tr_step *s)
{
    const struct tr_num *nums[] = {&s->w,  &s->h,   &s->ar,           &s->x,     &s->y, &s->xc,
                                   &s->yc, &s->dpr, &s->border_width, &s->radius};

    for (size_t i = 0; i < COUNT(nums); i++)
        if (!plain(nums[i]))
            return false;
    return true;
}

/* A literal size in whole pixels (a fraction of the frame is not one), else 0. */
static int pixels(const struct tr_step *s, enum tr_key k, const struct tr_num *n)
{
    double v = n->value[0];

    return tr_step_has(s, k) && n->kind == TR_NUM_LITERAL && v >= 1 && v < 65536 ? (int)v : 0;
}

/* The first step must resize, and decide nothing from the frame's own size or pixels. */
static bool first_step_ok(const struct tr_step *s)
{
    static const enum tr_key frame_bound[] = {TR_AR, TR_X, TR_Y, TR_XC, TR_YC, TR_DPR, TR_T};

    for (size_t i = 0; i < COUNT(frame_bound); i++)
        if (tr_step_has(s, frame_bound[i]))
            return false;
    if (s->crop_mode == TR_CM_EXTRACT || s->crop_mode == TR_CM_PAD_EXTRACT)
        return false;
    if (tr_step_has(s, TR_FO) && (s->focus == TR_FO_AUTO || s->focus == TR_FO_FACE))
        return false;
    return true;
}

void vid_chain_fit(const struct tr_chain *c, struct vid_thumb_req *rq)
{
    unsigned first = 0;
    const struct tr_step *s;
    int w, h;

    rq->fit_w = rq->fit_h = 0;
    while (first < c->nsteps && tr_step_is_noop(&c->step[first]))
        first++; /* so- alone, q-, f-...: a step the image engine skips */
    s = &c->step[first];
    /* A conditional or a layer may read the input's own size (iw, ih): the whole frame. */
    if (first == c->nsteps || c->nconds || c->nlayers || !first_step_ok(s))
        return;
    for (unsigned i = 0; i < c->nsteps; i++)
        if (!step_is_plain(&c->step[i]))
            return;
    w = pixels(s, TR_W, &s->w);
    h = pixels(s, TR_H, &s->h);
    if ((tr_step_has(s, TR_W) && !w) || (tr_step_has(s, TR_H) && !h))
        return;
    rq->fit_w = w;
    rq->fit_h = h;
}
