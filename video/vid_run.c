/* video/vid_run.c: limits, stop conditions, errors and progress of one call (vid_run.h). */
#include "vid_run.h"
#include "clock.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include <libavutil/error.h>

void vid_run_init(struct vid_run *r, const struct vid_job *job, char *err)
{
    static const struct vid_job none;
    uint64_t now = clock_now_ns();

    job = job ? job : &none;
    *r = (struct vid_run){
        .lim = job->limits ? *job->limits : VID_LIMITS_DEFAULT,
        .cancel = job->cancel,
        .deadline_ns = job->deadline_ns,
        .progress = job->progress,
        .progress_arg = job->progress_arg,
        .progress_ns = now,
        .err = err,
    };
    if (r->lim.max_job_seconds > 0) {
        uint64_t own = now + (uint64_t)(r->lim.max_job_seconds * 1e9);

        if (!r->deadline_ns || own < r->deadline_ns)
            r->deadline_ns = own;
    }
    if (r->lim.threads < 1)
        r->lim.threads = 1;
    err[0] = '\0';
}

int vid_run_check(struct vid_run *r)
{
    if (r->stop)
        return r->stop;
    if (r->cancel && atomic_load(r->cancel))
        r->stop = vid_fail(r, -ECANCELED, "the job was cancelled");
    else if (r->deadline_ns && clock_now_ns() > r->deadline_ns)
        r->stop = vid_fail(r, -ETIMEDOUT, "the job ran out of time");
    return r->stop;
}

int vid_fail(struct vid_run *r, int rc, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(r->err, VID_ERR_LEN, fmt, ap);
    va_end(ap);
    return rc;
}

/* The stop reason, when our read or interrupt callback told FFmpeg to stop: FFmpeg may report
 * it as anything (a demuxer turns a failed read into "invalid data"), so the run's own state
 * decides. */
static int stopped(struct vid_run *r)
{
    return r->stop ? r->stop : vid_run_check(r);
}

int vid_fail_input(struct vid_run *r, int averr, const char *what)
{
    char text[AV_ERROR_MAX_STRING_SIZE];
    int rc;

    if (stopped(r))
        return r->stop;
    rc = averr == AVERROR(ENOMEM) ? -ENOMEM : averr == AVERROR(EIO) ? -EIO : -EBADMSG;
    av_strerror(averr, text, sizeof(text));
    return vid_fail(r, rc, "%s: %s", what, text);
}

int vid_fail_output(struct vid_run *r, int averr, const char *what)
{
    char text[AV_ERROR_MAX_STRING_SIZE];
    int rc = -EIO;

    if (stopped(r))
        return r->stop;
    if (averr < 0 && averr > -4096)
        rc = averr; /* AVERROR(e) is -e on Linux */
    av_strerror(averr, text, sizeof(text));
    return vid_fail(r, rc, "%s: %s", what, text);
}

void vid_run_progress(struct vid_run *r, double fraction)
{
    uint64_t now;

    if (!r->progress)
        return;
    now = clock_now_ns();
    if (fraction < 1 && now - r->progress_ns < 1000000000u)
        return;
    r->progress_ns = now;
    r->progress(r->progress_arg, fraction < 0 ? 0 : fraction > 1 ? 1 : fraction);
}
