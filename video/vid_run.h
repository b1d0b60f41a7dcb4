/* video/vid_run.h: one call of the engine (a probe, a thumbnail, a job): its limits, its stop
 * conditions, its error message and its progress, shared by every stage. Internal. */
#ifndef VIDEO_VID_RUN_H
#define VIDEO_VID_RUN_H

#include "vid.h"

struct vid_run {
    struct vid_limits lim; /* the job's, or VID_LIMITS_DEFAULT */
    const atomic_bool *cancel;
    uint64_t deadline_ns; /* the earlier of the job's deadline and max_job_seconds; 0: none */
    vid_progress_fn progress;
    void *progress_arg;
    uint64_t progress_ns; /* when progress was last reported */
    int stop;             /* -ECANCELED or -ETIMEDOUT once seen, else 0 */
    char *err;            /* VID_ERR_LEN bytes, the caller's */
};

/* Start a run of job (may be NULL) now; err is where messages go. */
void vid_run_init(struct vid_run *r, const struct vid_job *job, char *err);

/* 0 to go on, or -ECANCELED / -ETIMEDOUT (with err set) once the cancel flag is set or the
 * deadline has passed; checked between frames and in every read of the source. */
int vid_run_check(struct vid_run *r);

/* Set err from fmt and return rc. */
int vid_fail(struct vid_run *r, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* An FFmpeg error code while reading or decoding the source: -ENOMEM, -EIO, the stop reason,
 * else -EBADMSG; err says "what: FFmpeg's text". */
int vid_fail_input(struct vid_run *r, int averr, const char *what);

/* An FFmpeg error code while encoding or writing: -ENOMEM, the stop reason, the errno it
 * carries, else -EIO. */
int vid_fail_output(struct vid_run *r, int averr, const char *what);

/* Report fraction (0..1) when a second has passed since the last report, or at 1. */
void vid_run_progress(struct vid_run *r, double fraction);

#endif
