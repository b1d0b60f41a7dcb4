/* Unit tests for video/vid_chain.c (pure): which image chains let a video frame come shrunk
 * (struct vid_thumb_req's fit_w, fit_h), parsed by the image engine's own parser. */
#include "vid_chain.h"

#include "check.h"

static void fit_is(const char *text, int w, int h)
{
    struct tr_chain c;
    struct vid_thumb_req rq = {.so = 1, .fit_w = -1, .fit_h = -1};
    char err[TR_ERR_LEN];
    int rc;

    tr_chain_init(&c);
    rc = tr_parse(&c, text, strlen(text), NULL, err);
    vid_chain_fit(&c, &rq);
    ok(rc == 0 && rq.fit_w == w && rq.fit_h == h && rq.so == 1, "'%s': fit %dx%d (%d %dx%d %s)",
       text, w, h, rc, rq.fit_w, rq.fit_h, rc ? err : "");
}

int main(void)
{
    fit_is("w-300", 300, 0);
    fit_is("h-200,q-60,f-webp", 0, 200);
    fit_is("w-300,h-300,fo-top", 300, 300);
    fit_is("w-300,h-300,cm-pad_resize,bg-red", 300, 300);
    fit_is("w-300,h-300,c-at_max:rt-90:bl-5", 300, 300);
    fit_is("w-300:w-100", 300, 0);
    fit_is("", 0, 0);
    fit_is("f-png", 0, 0);
    fit_is("w-0.5", 0, 0);                  /* a fraction of the frame */
    fit_is("w-iw_div_2", 0, 0);             /* the frame's own size */
    fit_is("w-300:h-ih_div_2", 0, 0);       /* iw/ih in a later step too */
    fit_is("w-300,ar-4-3", 0, 0);           /* ar derives a side from the frame */
    fit_is("w-300,dpr-2", 0, 0);            /* dpr multiplies */
    fit_is("w-100,h-100,cm-extract", 0, 0); /* a region in the frame's pixels */
    fit_is("w-100,h-100,x-10", 0, 0);
    fit_is("w-300,h-300,fo-auto", 0, 0);                  /* attention reads the pixels */
    fit_is("t-true,w-300", 0, 0);                         /* trim too */
    fit_is("rt-90", 0, 0);                                /* no resize */
    fit_is("w-300,if-iw_gt_1000,bl-5,if-end", 0, 0);      /* a condition on the frame's size */
    fit_is("w-300:if-ih_lt_500,rt-90,if-end", 0, 0);      /* in a later step too */
    fit_is("w-300,l-text,i-Hi,lx-iw_div_10,l-end", 0, 0); /* a layer may read it */
    return check_done();
}
