/* video/vid.h: ImageKit-style video on FFmpeg's libraries, in-process (docs/video.md).
 *
 * Sources are read from a file descriptor with pread() (a file on a FUSE mount: seekable,
 * never read whole, never mapped). Five operations:
 *   vid_sniff()      what a file is, from its first bytes (pure);
 *   vid_probe()      container, codecs, display size, duration, frame rate, audio;
 *   vid_thumbnail()  the exact frame at a time, as 8-bit RGB in memory (quick: the caller
 *                    passes it to the image engine, tr_apply() with tr_request.pixels);
 *   vid_transcode()  resize/crop/pad, rotate, trim, re-encode into one file at a given path
 *                    (MP4 or WebM, or audio only); an animated GIF becomes an MP4 this way;
 *   vid_package()    HLS or DASH renditions into a given folder.
 * Transcoding and packaging are jobs: they take seconds to minutes, report progress, stop on
 * a cancel flag or a deadline, and run on the caller's thread (blobhttpd's pool). Every call
 * is independent: any number may run at once on different threads, on one fd or several.
 *
 * Nothing in this header mentions FFmpeg. Errors are 0 / -errno, with a message in err:
 *   -EBADMSG   the source cannot be read as video (truncated, corrupt, not a video, no video
 *              stream where one is needed, a codec we cannot decode);
 *   -E2BIG     a limit was exceeded (bytes, duration, resolution, frames);
 *   -EINVAL    the parameters cannot apply to this source (so past the end, an extract
 *              region outside the frame, a codec the container cannot hold);
 *   -ETIMEDOUT / -ECANCELED   the deadline passed / the cancel flag was set;
 *   -ENOTSUP   an encoder this build of FFmpeg lacks;
 *   -ENOMEM, -EIO (reading the source), other -errno (writing the output). */
#ifndef VIDEO_VID_H
#define VIDEO_VID_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Error messages: "so 12.000 s is past the end of the video (10.000 s)". */
#define VID_ERR_LEN 192

/* Once per process, in main() before any thread exists: routes FFmpeg's log to common/log.h
 * (FFmpeg's warnings at debug level, its errors at info, at most a few lines a second). */
void vid_init(void);

/* The version of FFmpeg's libraries linked at run time ("5.1.8-0+deb12u1"), for --version.
 * (transfer none): static. */
const char *vid_library_versions(void);

/* ---- Sniffing ----------------------------------------------------------------------------- */

enum vid_container {
    VID_CT_UNKNOWN,  /* not a container we read */
    VID_CT_MP4,      /* ISO base media: ftyp isom, mp41, mp42, avc1, M4V, 3gp, dash ... */
    VID_CT_MOV,      /* QuickTime: ftyp qt, or a bare moov/mdat/wide atom first */
    VID_CT_WEBM,     /* EBML with DocType webm */
    VID_CT_MATROSKA, /* EBML with DocType matroska */
    VID_CT_GIF,      /* GIF87a / GIF89a: an image, which vid_transcode() turns into video */
    VID_CT_MPEG_PS,  /* MPEG-1/2 program stream (pack header) */
};

/* What data[0..len) is, from its first bytes alone; 64 bytes are enough for MP4/MOV, 4 KiB
 * find Matroska's DocType. ISO files whose brand is an image (avif, heic, mif1) are not video.
 * Pure. */
enum vid_container vid_sniff(const void *data, size_t len);

/* Whether the container is one of video (everything known but GIF). */
bool vid_container_is_video(enum vid_container c);

/* "mp4", "mov", "webm", "matroska", "gif", "mpeg-ps", "unknown"; (transfer none): static. */
const char *vid_container_name(enum vid_container c);

/* ---- Limits and jobs ---------------------------------------------------------------------- */

struct vid_limits {
    uint64_t max_input_bytes;   /* size of the source file */
    double max_duration;        /* seconds of source */
    int max_input_dim;          /* longest side of a decoded source frame */
    uint64_t max_input_pixels;  /* width x height of a decoded source frame */
    int max_output_dim;         /* longest side of the encoded result */
    uint64_t max_output_pixels; /* width x height of the encoded result */
    int64_t max_frames;         /* video frames decoded by one job */
    double max_job_seconds;     /* wall-clock time of one call; 0: none */
    int threads;                /* codec threads: the decoder's, and each encoder's */
};

/* ImageKit's 300 MB input; an hour of video; up to 8K in (7680x4320), 4K out (3840x2160,
 * 4096 a side); 216,000 frames (an hour at 60 fps); 30 minutes a job; 2 threads. */
#define VID_LIMITS_DEFAULT                                                                         \
    ((struct vid_limits){300u * 1000 * 1000, 3600, 7680, 7680u * 4320, 4096, 3840u * 2160, 216000, \
                         1800, 2})

/* Called from the job's own thread, at most about once a second and once at the end (1.0):
 * fraction of the output's expected duration written so far. */
typedef void (*vid_progress_fn)(void *arg, double fraction);

/* How one call runs. Every field may be 0 / NULL. */
struct vid_job {
    const struct vid_limits *limits; /* NULL: VID_LIMITS_DEFAULT */
    const atomic_bool *cancel;       /* set by another thread -> -ECANCELED between frames */
    uint64_t deadline_ns;            /* CLOCK_MONOTONIC ns -> -ETIMEDOUT (with max_job_seconds,
                                      * the earlier wins) */
    vid_progress_fn progress;
    void *progress_arg;
};

/* ---- Probe -------------------------------------------------------------------------------- */

struct vid_info {
    enum vid_container container;
    char vcodec[24], acodec[24]; /* FFmpeg's codec names ("h264", "vp9", "aac"); "" if none */
    bool has_video, has_audio;
    int width, height; /* displayed size: the rotation below applied */
    int rotation;      /* the source's display rotation, clockwise: 0, 90, 180, 270 */
    double duration;   /* seconds; 0 when unknown */
    double fps;        /* frame rate as FFmpeg guesses it (nominal, else average); 0: unknown */
    int sample_rate, channels;
    int64_t bit_rate; /* bits/s of the whole file; 0 when unknown */
};

/* Read the headers of the source on fd (and the first packets where the container says too
 * little). Returns 0, or -errno with err set. fd stays open and its offset is untouched. */
int vid_probe(int fd, const struct vid_job *job, struct vid_info *out, char err[VID_ERR_LEN]);

/* ---- Thumbnail ---------------------------------------------------------------------------- */

/* One decoded frame as 8-bit RGB, rows stride bytes apart, the source's rotation applied.
 * (transfer full): release with vid_frame_release(). For the image engine it is
 * struct tr_pixels {data, width, height, 3, stride}. */
struct vid_frame {
    uint8_t *data;
    int width, height; /* as delivered: full_width / k x full_height / k */
    size_t stride;
    int full_width, full_height; /* the displayed frame before any shrink */
    double time;                 /* seconds from the start of the video */
};

/* A thumbnail: when, and what the caller will make of the frame. */
struct vid_thumb_req {
    double so; /* seconds; < 0: the first frame */
    /* The caller resizes the frame to this width and/or height (0: not given), as an image
     * chain's first step does. The frame may then come shrunk by a whole factor k that keeps
     * its aspect ratio exactly and leaves it at least twice what that resize needs (as JPEG
     * shrink-on-load does for images): converting and resizing 2 MP costs more than the rest
     * of a thumbnail. 0, 0: the whole frame. */
    int fit_w, fit_h;
};

/* The frame shown at rq->so seconds: the first frame whose time is at or after so (the last
 * frame when so falls within the last frame's duration); the first frame when so < 0. Seeks
 * to the keyframe before so, decodes forward to that exact frame. Returns 0, or -EBADMSG (no
 * video stream, nothing decodable), -EINVAL (so past the end), ... with err set. */
int vid_thumbnail(int fd, const struct vid_thumb_req *rq, const struct vid_job *job,
                  struct vid_frame *out, char err[VID_ERR_LEN]);

void vid_frame_release(struct vid_frame *f);

/* ---- Transcoding -------------------------------------------------------------------------- */

enum vid_crop {                          /* c-, as for images (docs/transformations.md) */
                VID_CROP_MAINTAIN_RATIO, /* the default: exact w x h, fill then crop at fo */
                VID_CROP_FORCE,          /* squeeze to w x h */
                VID_CROP_AT_MAX,         /* fit inside, never enlarge */
                VID_CROP_AT_MAX_ENLARGE, /* fit inside, may enlarge */
                VID_CROP_AT_LEAST,       /* cover: one side exact, the other at least as big */
};

enum vid_crop_mode { /* cm- */
                     VID_CM_NONE,
                     VID_CM_PAD_RESIZE,  /* fit inside w x h, pad with bg at fo */
                     VID_CM_EXTRACT,     /* cut a w x h region at fo, no resize */
                     VID_CM_PAD_EXTRACT, /* a w x h region at fo, padded with bg where the frame is
                                            smaller */
};

enum vid_focus { /* fo-: fo-auto and fo-face have no detector for video: the caller maps them
                  * to centre (docs/video.md) */
                 VID_FO_CENTER,
                 VID_FO_TOP,
                 VID_FO_LEFT,
                 VID_FO_BOTTOM,
                 VID_FO_RIGHT,
                 VID_FO_TOP_LEFT,
                 VID_FO_TOP_RIGHT,
                 VID_FO_BOTTOM_LEFT,
                 VID_FO_BOTTOM_RIGHT,
};

enum vid_format { VID_FMT_MP4, VID_FMT_WEBM };
enum vid_vcodec { VID_VC_DEFAULT, VID_VC_H264, VID_VC_VP9, VID_VC_AV1, VID_VC_NONE };
enum vid_acodec { VID_AC_DEFAULT, VID_AC_AAC, VID_AC_OPUS, VID_AC_NONE };

/* ImageKit's video parameters, numbers already resolved (the chain parser fills this). */
struct vid_params {
    double w, h; /* pixels; a value in (0, 1) is that fraction of the source; 0: not given */
    double ar;   /* width / height with one of w, h; ignored when both are given; 0: none */
    enum vid_crop crop;
    enum vid_crop_mode crop_mode;
    enum vid_focus focus;
    uint8_t bg[3]; /* pad colour, RGB; black by default */
    int quality;   /* q-: 1..100; 0: 80, the default */
    enum vid_format format;
    enum vid_vcodec vcodec; /* DEFAULT: H.264 in MP4, VP9 in WebM */
    enum vid_acodec acodec; /* DEFAULT: AAC in MP4, Opus in WebM */
    double so, eo, du;      /* seconds: start, end, duration of the cut; < 0: not given */
    int rotate;             /* rt-: 0, 90, 180, 270 clockwise, after resizing */
};

/* Defaults: nothing given, MP4 (H.264 + AAC), so/eo/du unset. */
void vid_params_init(struct vid_params *p);

/* Check what needs no source: ranges, codec and container pairs (H.264 and AAC do not go into
 * WebM), vc-none with ac-none. Returns 0 or -EINVAL with err set. Pure. */
int vid_params_check(const struct vid_params *p, char err[VID_ERR_LEN]);

/* "video/mp4", "video/webm", or "audio/mp4", "audio/webm" for vc-none; (transfer none). */
const char *vid_params_mime(const struct vid_params *p);

/* What a transcode wrote. */
struct vid_result {
    int width, height;           /* of the video; 0 for audio only */
    double duration;             /* seconds */
    int64_t frames;              /* video frames encoded */
    uint64_t bytes;              /* total size of the files written */
    char vcodec[24], acodec[24]; /* encoder names ("libx264", "aac"); "" if none */
};

/* Transcode the source on fd into the file path (created or truncated, mode 0644): the caller
 * writes to a temporary name and renames it. On failure the file is removed. out may be NULL.
 * Returns 0 or -errno with err set. */
int vid_transcode(int fd, const struct vid_params *p, const struct vid_job *job, const char *path,
                  struct vid_result *out, char err[VID_ERR_LEN]);

/* ---- Adaptive streaming ------------------------------------------------------------------- */

#define VID_MAX_RENDITIONS 7

enum vid_abr_kind { VID_ABR_HLS, VID_ABR_DASH };

/* sr-240_360_480_720_1080: the heights asked for. Each must be one of ImageKit's rendition
 * heights, 240 360 480 720 1080 1440 2160; those above the source's height are left out (when
 * all are, one rendition at the source's own height is made). */
struct vid_abr {
    enum vid_abr_kind kind;
    int heights[VID_MAX_RENDITIONS];
    int n;
};

/* Encode the renditions (H.264 + AAC, segments of 4 s starting on aligned keyframes) into the
 * folder dir, which exists: a master manifest "ik-master.m3u8" (HLS) or "ik-master.mpd"
 * (DASH), and the playlists and segments it references by relative names, all "ik-*". The
 * muxers write manifests while the job runs, so dir should be a temporary folder the caller
 * renames once this returns 0. On failure the "ik-*" files are removed. out (may be NULL)
 * gets the largest rendition's size. Returns 0 or -errno with err set. */
int vid_package(int fd, const struct vid_abr *abr, const struct vid_job *job, const char *dir,
                struct vid_result *out, char err[VID_ERR_LEN]);

/* The name of the master manifest in dir: "ik-master.m3u8" or "ik-master.mpd". */
const char *vid_abr_master(enum vid_abr_kind kind);

#endif
