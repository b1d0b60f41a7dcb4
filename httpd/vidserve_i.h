/* httpd/vidserve_i.h: what vidserve.c (requests and answers) and vidserve_job.c (the work of a
 * job, on the video pool) share. Internal to blobhttpd's video. */
#ifndef HTTPD_VIDSERVE_I_H
#define HTTPD_VIDSERVE_I_H

#include "vidcache.h"
#include "vidjob.h"
#include "vidserve.h"
#include "vidurl.h"

#include "tr.h"
#include "vid.h"

#include <stdatomic.h>

#define VIDSERVE_VERSION                                                                           \
    "blobkit-video-1" /* part of every key and ETag: bump when output changes */

/* What the video engine makes for a request. */
enum vid_op {
    VID_OP_THUMB,     /* one frame through an image chain */
    VID_OP_TRANSCODE, /* a video (or audio) file */
    VID_OP_PACKAGE,   /* an HLS or DASH package: a folder */
};

struct vidserve {
    const struct conf *conf;
    struct vidcache *cache;
    struct vidjobs *jobs;
    struct vid_limits limits;          /* each job's */
    struct tr_limits tr_limits;        /* a thumbnail's image chain */
    atomic_uint_fast64_t hits, misses; /* requests answered from the cache, or not */
};

/* One job's work: built on the origin thread, run on the video pool, then released. */
struct vidwork {
    struct vidserve *v;
    enum vid_op op;
    int fd;                         /* the source, a descriptor of its own */
    struct tr_chain chain;          /* the image chain of a thumbnail, else the video's */
    double so;                      /* a thumbnail's time; -1: the first frame */
    enum tr_format image;           /* a thumbnail's format */
    enum vid_format format;         /* a transcode's container */
    enum vid_abr_kind abr;          /* a package's kind */
    char res[VIDCACHE_NAME_LEN];    /* the result's name in the cache */
    char what[ROUTE_MAX_PATH + 64]; /* for the log: "thumbnail of video/clip.mp4" */
};

/* Run w (vidjob_run_fn): make the result under tmp/, commit it to the cache. */
int vidserve_work_run(void *w, const atomic_bool *cancel, char msg[VIDJOB_MSG_LEN]);

/* Close w's source and free it (vidjob_spec.release). */
void vidserve_work_release(void *w);

#endif
