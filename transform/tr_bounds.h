/* transform/tr_bounds.h: what one tr_apply() call may use, and keeping it to that: bytes of
 * memory, counted from what the pipeline allocates (tr_apply.c charges each allocation before
 * it happens); a deadline; a cancel flag; and a helper thread for a library call that cannot
 * be stopped once started, so that the caller still returns on time. No libvips.
 *
 * What is counted, in bytes (docs/transformations.md, "Limits"): every image rendered whole
 * into memory (w x h x bands x sample size); the decoded source when it is held whole (the
 * direct JPEG decoder's buffer, an animation, a padded tr_pixels copy, a progressive JPEG's
 * coefficients); one strip of every image a pipeline streams through (tr_bounds_strip());
 * the encoder's own memory (tr_bounds_encoder()); the encoded output. libvips's own
 * tracked-memory counters are process-wide and cannot say which request allocated what, so
 * these are computed from sizes, as upper bounds of what libvips 8.14 and its savers were
 * measured to hold. */
#ifndef TRANSFORM_TR_BOUNDS_H
#define TRANSFORM_TR_BOUNDS_H

#include "tr.h"

/* The bounds of one call, from its tr_request. Not shared between calls; stop is read by
 * callbacks on libvips's and libjpeg's threads. */
struct tr_bounds {
    size_t max_mem;            /* 0: no limit */
    uint64_t used;             /* bytes counted so far */
    uint64_t deadline_ns;      /* CLOCK_MONOTONIC; 0: none */
    const atomic_bool *cancel; /* NULL: none */
    atomic_int stop;           /* 0 until the deadline or cancel is seen: then its -errno */
};

void tr_bounds_init(struct tr_bounds *b, const struct tr_request *rq);

/* Whether b has a deadline or a cancel flag: callbacks are worth installing. */
bool tr_bounds_watched(const struct tr_bounds *b);

/* Count bytes more against max_mem, held until the call ends (what names them in the
 * message). Returns 0, or -E2BIG with err set and nothing counted. */
int tr_bounds_charge(struct tr_bounds *b, uint64_t bytes, const char *what, char err[TR_ERR_LEN]);

/* Whether bytes more fit now, for memory held only a while (a pipeline's strips while it is
 * computed): 0, or -E2BIG with err set. Counts nothing. */
int tr_bounds_room(const struct tr_bounds *b, uint64_t bytes, const char *what,
                   char err[TR_ERR_LEN]);

/* 0 while the call may go on; -ETIMEDOUT once the deadline has passed, -ECANCELED once cancel
 * is set, from then on. From any thread; cheap (one clock read). */
int tr_bounds_expired(struct tr_bounds *b);

/* tr_bounds_expired() with err set: between the stages of the call. */
int tr_bounds_check(struct tr_bounds *b, char err[TR_ERR_LEN]);

/* The bytes a streaming pipeline holds for one image of this width (a strip of rows, in
 * libvips's double-buffered sinks). */
uint64_t tr_bounds_strip(int width, int bands, int sample_bytes);

/* The bytes an encoder holds of its own for a w x h image (times frames) beyond the pipeline
 * feeding it: a JPEG's coefficients (optimised Huffman tables buffer them all), a palette
 * PNG's or GIF's whole image and indexes, libwebp's and libaom's working memory. */
uint64_t tr_bounds_encoder(const struct tr_output *out, enum tr_format f, int w, int h, int bands,
                           int frames);

/* Whether f's encoder runs as one call that nothing can stop (libwebp, libheif's AV1
 * encoder, libimagequant's palette, a progressive JPEG's final pass), once its pixels are
 * computed. */
bool tr_bounds_unstoppable(const struct tr_output *out, enum tr_format f);

/* A library call that cannot be stopped, on a helper thread. run(arg) runs there; the caller
 * waits until it returns, or until b expires: then the helper is left to finish on its own,
 * calls release(arg) and thread_exit() (per-thread library state) itself, and the caller gets
 * -ETIMEDOUT or -ECANCELED at once. Returns 0 when run(arg) finished (the caller then owns arg
 * and releases it), or that error with err set. At most TR_BOUNDS_MAX_LEFT helpers are left
 * running at once, process-wide: past that the caller waits for its own, as if it had run the
 * call itself, and gets 0 when it ends (the work is done: its result is as good as late).
 * -EAGAIN: no thread could be started (the call did not run). */
typedef void (*tr_bounds_fn)(void *arg);
#define TR_BOUNDS_MAX_LEFT 2
int tr_bounds_run(struct tr_bounds *b, tr_bounds_fn run, tr_bounds_fn release,
                  void (*thread_exit)(void), void *arg, char err[TR_ERR_LEN]);

/* Wait until every helper left running has finished: before the libraries shut down. */
void tr_bounds_drain(void);

#endif
