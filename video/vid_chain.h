/* video/vid_chain.h: what a video URL's chain asks of the engine. The URL's text is parsed once,
 * by the image engine's parser (tr_parse(), transform/tr.h), into one chain; these functions
 * read that chain as video parameters (a transcode), renditions (HLS/DASH), or a frame and the
 * image chain to run on it (a thumbnail). Pure; the one part of the video module that reads
 * the image engine's chains. Errors name the key: "bl: not supported on video". */
#ifndef VIDEO_VID_CHAIN_H
#define VIDEO_VID_CHAIN_H

#include "tr.h"
#include "vid.h"

/* The parameters of a transcode from c: w h ar c cm fo bg rt from the one step that resizes
 * (rt in it or a later step: video turns after resizing, by multiples of 90), q f vc ac so eo
 * du from the last step that gives each. Numbers that are expressions (w-iw_div_2) are worked
 * out on the source's displayed size src_w x src_h; with 0, 0 (not known yet) they are only
 * checked, and p gets 0 for them. The format is c's f-mp4 or f-webm; f-auto leaves the
 * default (MP4) for the caller's vid_chain_pick_format(). fo-auto and fo-face mean centre (no
 * detector for video). Returns 0, or -EINVAL with err set for a key video does not take, or
 * a value it cannot use (then vid_params_check() is run too). Pure. */
int vid_chain_params(const struct tr_chain *c, int src_w, int src_h, struct vid_params *p,
                     char err[VID_ERR_LEN]);

/* The renditions of c's sr- for kind. c may give sr- and nothing else (ImageKit's rule: each
 * rendition has its own size, codec and quality). Returns 0, or -EINVAL with err set. Pure. */
int vid_chain_abr(const struct tr_chain *c, enum vid_abr_kind kind, struct vid_abr *abr,
                  char err[VID_ERR_LEN]);

/* A thumbnail's chain: *so the time of the frame (so-; -1 when absent: the first frame), and
 * image a copy of c without its video keys (so eo du vc ac: they describe a video output, the
 * frame is at so), for the image engine. sr- and f-mp4/f-webm are refused. Returns 0 or
 * -EINVAL with err set. Pure. */
int vid_chain_thumb(const struct tr_chain *c, struct tr_chain *image, double *so,
                    char err[VID_ERR_LEN]);

/* The name of the first video key c gives ("so", "vc", "f-mp4"...), or NULL when it gives none:
 * such a chain on an image is an error. (transfer none): static. Pure. */
const char *vid_chain_video_key(const struct tr_chain *c);

/* Whether c names an output format of its own (f-mp4, f-webm), rather than f-auto. */
bool vid_chain_format_given(const struct tr_chain *c);

/* The format of a video output: c's f-mp4 or f-webm; else MP4 when c names H.264 or AAC
 * (they do not go into WebM); else WebM when accept lists video/webm, or when user_agent is a
 * browser that plays VP9 and Opus in WebM (Chrome, Chromium, Edge, Opera, Firefox, and
 * Android's: "Chrome/" or "Firefox/" in it, but not on iOS: "CriOS", "FxiOS", "EdgiOS"); else
 * MP4, which every browser plays. accept and user_agent may be NULL. Responses of f-auto vary
 * on both headers. Deterministic and pure (docs/video.md, "f-auto"). */
enum vid_format vid_chain_pick_format(const struct tr_chain *c, const char *accept,
                                      const char *user_agent);

/* Set rq->fit_w and rq->fit_h from chain c when a frame shrunk by a whole factor gives the
 * same result: the first step that does something resizes to literal w and/or h, and nothing
 * in the chain depends on the frame's own size or pixels (fractions, expressions, ar, dpr,
 * extract, x/y, trim, fo-auto/face, conditionals, layers). Else both stay 0: the whole frame. */
void vid_chain_fit(const struct tr_chain *c, struct vid_thumb_req *rq);

#endif
