/* video/vid_chain.c: an image chain's needs of a video frame (vid_chain.h). */
#include "vid_chain.h"

/* Whether a number is a plain literal (or not given): no expression, no client hint. */
static bool plain(const struct tr_num *n)
{
    return n->kind == TR_NUM_UNSET || n->kind == TR_NUM_LITERAL;
}

static bool step_is_plain(const struct tr_step *s)
{
    const struct tr_num *nums[] = {&s->w,  &s->h,   &s->ar,           &s->x,     &s->y, &s->xc,
                                   &s->yc, &s->dpr, &s->border_width, &s->radius};

    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
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

    for (size_t i = 0; i < sizeof(frame_bound) / sizeof(frame_bound[0]); i++)
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
    const struct tr_step *s = &c->step[0];
    int w, h;

    rq->fit_w = rq->fit_h = 0;
    /* A conditional or a layer may read the input's own size (iw, ih): the whole frame. */
    if (c->nsteps == 0 || c->nconds || c->nlayers || !first_step_ok(s))
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
