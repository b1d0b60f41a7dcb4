/* httpd/vidserve_job.c: the work of a video job, on the video pool (see vidserve_i.h): a
 * thumbnail (vid_thumbnail, then the image chain by tr_apply on the frame), a transcode
 * (vid_transcode) or a package (vid_package), written under the cache's tmp/ and committed
 * whole; the job's time and the server's memory at its end go to the log. */
#include "vidserve_i.h"

#include "clock.h"
#include "log.h"
#include "vid_chain.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void vidserve_work_release(void *arg)
{
    struct vidwork *w = arg;

    if (w->fd >= 0)
        close(w->fd);
    free(w);
}

static int write_all(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    const char *p = data;
    int rc = fd < 0 ? -errno : 0;

    while (rc == 0 && len > 0) {
        ssize_t n = write(fd, p, len);

        rc = n < 0 ? -errno : 0;
        p += n > 0 ? n : 0;
        len -= n > 0 ? (size_t)n : 0;
    }
    if (fd >= 0 && close(fd) && rc == 0)
        rc = -errno;
    return rc;
}

/* The frame at w->so through w's image chain, into the file path. */
static int make_thumbnail(struct vidwork *w, const struct vid_job *job, const char *path,
                          char msg[VIDJOB_MSG_LEN])
{
    struct vid_thumb_req rq = {.so = w->so};
    struct vid_frame f;
    struct tr_image img;
    char err[TR_ERR_LEN];

    vid_chain_fit(&w->chain, &rq);
    int rc = vid_thumbnail(w->fd, &rq, job, &f, msg);
    if (rc)
        return rc;
    struct tr_pixels px = {f.data, f.width, f.height, 3, f.stride};
    struct tr_request trq = {.chain = &w->chain,
                             .format = w->image,
                             .limits = &w->v->tr_limits,
                             .pixels = &px,
                             .max_mem = (size_t)w->v->conf->max_transform_mb << 20,
                             .deadline_ns = job->deadline_ns,
                             .cancel = job->cancel};
    rc = tr_apply(&trq, &img, err);
    vid_frame_release(&f);
    if (rc) {
        snprintf(msg, VIDJOB_MSG_LEN, "%s", err);
        return rc;
    }
    rc = write_all(path, img.data, img.len);
    tr_image_release(&img);
    if (rc)
        snprintf(msg, VIDJOB_MSG_LEN, "cannot write the thumbnail: %s", strerror(-rc));
    return rc;
}

/* The video's parameters on the source (its size for expressions), then the file path. */
static int make_transcode(struct vidwork *w, const struct vid_job *job, const char *path,
                          char msg[VIDJOB_MSG_LEN])
{
    struct vid_info info;
    struct vid_params p;
    int rc = vid_probe(w->fd, job, &info, msg);

    if (rc == 0)
        rc = vid_chain_params(&w->chain, info.width, info.height, &p, msg);
    if (rc == 0) {
        p.format = w->format;
        rc = vid_params_check(&p, msg);
    }
    return rc ? rc : vid_transcode(w->fd, &p, job, path, NULL, msg);
}

static int make_package(struct vidwork *w, const struct vid_job *job, const char *dir,
                        char msg[VIDJOB_MSG_LEN])
{
    struct vid_abr abr;
    int rc = vid_chain_abr(&w->chain, w->abr, &abr, msg);

    return rc ? rc : vid_package(w->fd, &abr, job, dir, NULL, msg);
}

/* The server's resident and peak memory in MiB (/proc/self/status), for the log. */
static void memory_mb(unsigned long *rss, unsigned long *peak)
{
    char line[128];
    FILE *f = fopen("/proc/self/status", "re");

    *rss = *peak = 0;
    while (f && fgets(line, sizeof(line), f)) {
        if (strncmp(line, "VmRSS:", 6) == 0)
            *rss = strtoul(line + 6, NULL, 10) / 1024;
        else if (strncmp(line, "VmHWM:", 6) == 0)
            *peak = strtoul(line + 6, NULL, 10) / 1024;
    }
    if (f)
        fclose(f);
}

/* How a job's error is answered: a job over its time is over a limit of the source (413, as
 * the others), not a failing server. */
static int limit_error(struct vidwork *w, int rc, char msg[VIDJOB_MSG_LEN])
{
    if (rc == -ETIMEDOUT) {
        snprintf(msg, VIDJOB_MSG_LEN, "the video job took longer than %u s (--video-timeout)",
                 w->v->conf->video_timeout);
        return -E2BIG;
    }
    if (rc == -ECANCELED)
        snprintf(msg, VIDJOB_MSG_LEN, "the server is stopping");
    else if (!msg[0])
        snprintf(msg, VIDJOB_MSG_LEN, "%s", strerror(-rc));
    return rc == -ECANCELED ? -ESHUTDOWN : rc;
}

static void log_end(const struct vidwork *w, int rc, uint64_t t0, const char *msg)
{
    unsigned long rss, peak;
    double s = (double)(clock_now_ns() - t0) / 1e9;

    memory_mb(&rss, &peak);
    if (rc == 0)
        log_info("video job %.12s: %s done in %.2f s (server rss %lu MB, peak %lu MB)", w->res,
                 w->what, s, rss, peak);
    else
        log_info("video job %.12s: %s failed in %.2f s: %s", w->res, w->what, s, msg);
}

int vidserve_work_run(void *arg, const atomic_bool *cancel, char msg[VIDJOB_MSG_LEN])
{
    struct vidwork *w = arg;
    uint64_t t0 = clock_now_ns();
    struct vid_job job = {.limits = &w->v->limits,
                          .cancel = cancel,
                          .deadline_ns = t0 + (uint64_t)w->v->conf->video_timeout * 1000000000u};
    char tmp[VIDCACHE_PATH_MAX];
    int rc = atomic_load(cancel) ? -ECANCELED : 0;
    bool begun = false;

    if (rc == 0) {
        log_info("video job %.12s: %s started", w->res, w->what);
        rc = vidcache_begin(w->v->cache, w->op == VID_OP_PACKAGE, "part", tmp);
        begun = rc == 0;
    }
    if (rc == 0 && w->op == VID_OP_THUMB)
        rc = make_thumbnail(w, &job, tmp, msg);
    else if (rc == 0 && w->op == VID_OP_TRANSCODE)
        rc = make_transcode(w, &job, tmp, msg);
    else if (rc == 0)
        rc = make_package(w, &job, tmp, msg);
    if (rc == 0)
        rc = vidcache_commit(w->v->cache, tmp, w->res); /* which removes tmp if it fails */
    else if (begun)
        vidcache_abort(w->v->cache, tmp);
    rc = rc ? limit_error(w, rc, msg) : 0;
    log_end(w, rc, t0, msg);
    return rc;
}
