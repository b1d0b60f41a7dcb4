/* Unit tests for video/vid_transcode.c, vid_pipe.c, vid_graph.c, vid_enc.c and vid_package.c
 * on clips made here (tests/vid_clip.c). Outputs are read back with the engine itself
 * (vid_probe, vid_thumbnail): each frame shows its index and which way is up, so cuts, rotations
 * and crops are checked on pixels. ffprobe reads them again in tests/it_video_cli.sh. */
#include "vid.h"
#include "vid_clip.h"

#include "check.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sys/stat.h>

static char dir[256];

static void path_of(const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", dir, name);
}

static void clip(const char *name, const struct clip_spec *s)
{
    char path[512], err[256];

    path_of(name, path, sizeof(path));
    if (clip_make(s, path, err, sizeof(err))) {
        fprintf(stderr, "test setup failed: %s: %s\n", name, err);
        exit(2);
    }
}

static struct clip_spec spec(const char *format, const char *v, const char *a)
{
    return (struct clip_spec){.format = format,
                              .vcodec = v,
                              .acodec = a,
                              .width = 320,
                              .height = 240,
                              .fps = 25,
                              .frames = 50,
                              .gop = 12};
}

/* Transcode src into dst. */
static int transcode(const char *src, const char *dst, const struct vid_params *p,
                     const struct vid_job *job, struct vid_result *res, char *err)
{
    char in[512], out[512];
    int fd, rc;

    path_of(src, in, sizeof(in));
    path_of(dst, out, sizeof(out));
    fd = open(in, O_RDONLY | O_CLOEXEC);
    rc = vid_transcode(fd, p, job, out, res, err);
    close(fd);
    return rc;
}

static int probe(const char *name, struct vid_info *in)
{
    char path[512], err[VID_ERR_LEN];
    int fd, rc;

    path_of(name, path, sizeof(path));
    fd = open(path, O_RDONLY | O_CLOEXEC);
    rc = vid_probe(fd, NULL, in, err);
    if (fd >= 0)
        close(fd);
    if (rc)
        printf("# probe %s: %s\n", name, err);
    return rc;
}

/* A frame of an output: its index (-1 when unreadable), whether upright, its size, and the
 * colour at a few places (fractions of the size). */
struct shot {
    int index, w, h;
    bool upright;
    uint8_t top[3], bottom[3], right[3], corner[3];
};

static void sample(const struct vid_frame *f, double fx, double fy, uint8_t out[3])
{
    int x = (int)(fx * (f->width - 1)), y = (int)(fy * (f->height - 1));

    memcpy(out, f->data + (size_t)y * f->stride + (size_t)x * 3, 3);
}

static int shot_of(const char *name, double so, struct shot *s)
{
    char path[512], err[VID_ERR_LEN];
    struct vid_frame f;
    int fd, rc;

    *s = (struct shot){.index = -1};
    path_of(name, path, sizeof(path));
    fd = open(path, O_RDONLY | O_CLOEXEC);
    rc = vid_thumbnail(fd, &(struct vid_thumb_req){.so = so}, NULL, &f, err);
    close(fd);
    if (rc) {
        printf("# thumbnail of %s at %.2f: %s\n", name, so, err);
        return -1;
    }
    s->index = clip_index_of(f.data, f.width, f.height, f.stride);
    s->upright = clip_is_upright(f.data, f.width, f.height, f.stride);
    s->w = f.width;
    s->h = f.height;
    sample(&f, 0.5, 0.05, s->top);
    sample(&f, 0.5, 0.95, s->bottom);
    sample(&f, 0.95, 0.5, s->right);
    sample(&f, 0.01, 0.01, s->corner);
    vid_frame_release(&f);
    return s->index;
}

static bool near(const uint8_t c[3], int r, int g, int b)
{
    return abs(c[0] - r) < 40 && abs(c[1] - g) < 40 && abs(c[2] - b) < 40;
}

static struct vid_params params(void)
{
    struct vid_params p;

    vid_params_init(&p);
    return p;
}

/* Transcode, then the output's container, codecs, size and duration. */
static void output_is(const char *what, const char *src, const struct vid_params *p, const char *ct,
                      const char *vc, const char *ac, int w, int h, double dur)
{
    struct vid_result r = {0};
    struct vid_info in = {0};
    char err[VID_ERR_LEN] = "", name[64];
    int rc;

    snprintf(name, sizeof(name), "out-%s", what);
    rc = transcode(src, name, p, NULL, &r, err);
    if (rc == 0)
        rc = probe(name, &in);
    ok(rc == 0 && strcmp(vid_container_name(in.container), ct) == 0 && strcmp(in.vcodec, vc) == 0 &&
           strcmp(in.acodec, ac) == 0 && in.width == w && in.height == h &&
           fabs(in.duration - dur) < 0.1 && r.width == w && r.height == h && r.bytes > 0,
       "%s: %s %s/%s %dx%d %.1f s (%s: %s %s/%s %dx%d %.3f s)", what, ct, vc, ac, w, h, dur, err,
       vid_container_name(in.container), in.vcodec, in.acodec, in.width, in.height, in.duration);
}

static void test_outputs(void)
{
    struct vid_params p = params();

    output_is("default", "h264.mp4", &p, "mp4", "h264", "aac", 320, 240, 2);
    p.w = 160;
    output_is("w-160", "h264.mp4", &p, "mp4", "h264", "aac", 160, 120, 2);
    p.format = VID_FMT_WEBM;
    output_is("f-webm", "h264.mp4", &p, "webm", "vp9", "opus", 160, 120, 2);
    p = params();
    p.vcodec = VID_VC_AV1;
    p.h = 120;
    output_is("vc-av1", "h264.mp4", &p, "mp4", "av1", "aac", 160, 120, 2);
    p = params();
    p.vcodec = VID_VC_NONE;
    output_is("vc-none", "h264.mp4", &p, "mp4", "", "aac", 0, 0, 2);
    p = params();
    p.acodec = VID_AC_NONE;
    output_is("ac-none", "h264.mp4", &p, "mp4", "h264", "", 320, 240, 2);
    p = params();
    p.acodec = VID_AC_OPUS;
    output_is("ac-opus in MP4", "vp9.webm", &p, "mp4", "h264", "opus", 320, 240, 2);
    p = params();
    p.w = 100;
    output_is("a GIF as MP4", "anim.gif", &p, "mp4", "h264", "", 100, 74, 2);
}

/* Cuts: the first frame of the output is the one at so, and the length is the cut's. */
static void cut_is(const char *what, double so, double eo, double du, int first, double dur)
{
    struct vid_params p = params();
    struct vid_info in = {0};
    char err[VID_ERR_LEN] = "", name[64];
    struct shot sh = {.index = -1};
    int rc;

    p.so = so;
    p.eo = eo;
    p.du = du;
    snprintf(name, sizeof(name), "cut-%s.mp4", what);
    rc = transcode("h264.mp4", name, &p, NULL, NULL, err);
    if (!rc)
        rc = probe(name, &in);
    if (!rc)
        shot_of(name, -1, &sh);
    ok(rc == 0 && sh.index == first && sh.upright && fabs(in.duration - dur) < 0.08,
       "%s: starts at frame %d, lasts %.2f s (%s: frame %d, %.3f s)", what, first, dur, err,
       sh.index, in.duration);
}

static void test_cuts(void)
{
    cut_is("so-0.4,eo-1.2", 0.4, 1.2, -1, 10, 0.8);
    cut_is("so-1,du-0.6", 1, -1, 0.6, 25, 0.6);
    cut_is("eo-0.8", -1, 0.8, -1, 0, 0.8);
    cut_is("so-1.6", 1.6, -1, -1, 40, 0.4);
    cut_is("so-0.2,eo-1.8,du-0.4", 0.2, 1.8, 0.4, 5, 0.4);
}

/* Pixels of an output's frame: rotations, pads and GIF transparency where they belong. */
static void test_pixels(void)
{
    struct vid_params p = params();
    char err[VID_ERR_LEN] = "";
    struct shot s = {.index = -1};
    int rc;

    rc = transcode("rot90.mp4", "upright.mp4", &p, NULL, NULL, err);
    ok(rc == 0 && shot_of("upright.mp4", 1, &s) == 25 && s.upright && s.w == 320 && s.h == 240,
       "a phone's portrait clip comes out upright, %dx%d", s.w, s.h);
    p.rotate = 180;
    rc = transcode("h264.mp4", "rt180.mp4", &p, NULL, NULL, err);
    shot_of("rt180.mp4", 1, &s);
    ok(rc == 0 && near(s.bottom, 230, 20, 20) && !near(s.top, 230, 20, 20) && s.w == 320,
       "rt-180: the red band at the bottom (%s)", err);
    p.rotate = 90;
    p.w = 160;
    rc = transcode("h264.mp4", "rt90.mp4", &p, NULL, NULL, err);
    shot_of("rt90.mp4", 1, &s);
    ok(rc == 0 && s.w == 120 && s.h == 160 && near(s.right, 230, 20, 20),
       "w-160,rt-90: 120x160, the red band on the right (%dx%d)", s.w, s.h);
    p = params();
    p.w = 320;
    p.h = 320;
    p.crop_mode = VID_CM_PAD_RESIZE;
    p.bg[1] = 255;
    rc = transcode("h264.mp4", "pad.mp4", &p, NULL, NULL, err);
    ok(rc == 0 && shot_of("pad.mp4", 1, &s) == 25 && s.w == 320 && s.h == 320 &&
           near(s.corner, 0, 255, 0) && near(s.bottom, 0, 255, 0),
       "cm-pad_resize,bg-00FF00: 320x320, green above and below (%s)", err);
    p = params();
    p.bg[2] = 255;
    rc = transcode("anim.gif", "gif.mp4", &p, NULL, NULL, err);
    ok(rc == 0 && shot_of("gif.mp4", 1, &s) == 25 && near(s.top, 230, 20, 20) &&
           near(s.bottom, 0, 0, 255),
       "a GIF's transparent pixels over bg (blue), its opaque ones kept (%s)", err);
}

/* Timestamps of a variable frame rate source survive. */
static void test_vfr(void)
{
    struct clip_spec vfr = spec("mp4", "libx264", NULL);
    struct vid_params p = params();
    char err[VID_ERR_LEN] = "";
    struct vid_result r = {0};
    struct shot sh;
    int rc;

    vfr.vfr = true;
    rc = transcode("vfr.mp4", "vfr-out.mp4", &p, NULL, &r, err);
    ok(rc == 0 && r.frames == 50, "VFR: 50 frames in, 50 out (%lld)", (long long)r.frames);
    for (int k = 21; k <= 22; k++)
        ok(shot_of("vfr-out.mp4", clip_time(&vfr, k), &sh) == k, "VFR: frame %d still at %.3f s", k,
           clip_time(&vfr, k));
}

static void fails(const char *what, const char *src, const struct vid_params *p,
                  const struct vid_job *job, int want, const char *needle)
{
    char err[VID_ERR_LEN] = "", out[512];
    struct stat st;
    int rc = transcode(src, "failed.mp4", p, job, NULL, err);

    path_of("failed.mp4", out, sizeof(out));
    ok(rc == want && strstr(err, needle) && stat(out, &st) != 0, "%s: %d '%s', no file left", what,
       rc, err);
}

static void test_errors(void)
{
    struct vid_params p = params();
    struct vid_limits lim = VID_LIMITS_DEFAULT;
    atomic_bool cancel = true;
    struct vid_job job = {.limits = &lim};

    p.format = VID_FMT_WEBM;
    p.vcodec = VID_VC_H264;
    fails("vc-h264 in WebM", "h264.mp4", &p, NULL, -EINVAL, "WebM");
    p = params();
    p.so = 3;
    fails("so past the end", "h264.mp4", &p, NULL, -EINVAL, "past the end");
    p = params();
    p.w = 400;
    p.crop_mode = VID_CM_EXTRACT;
    fails("extract outside", "h264.mp4", &p, NULL, -EINVAL, "does not fit");
    p = params();
    fails("audio only, video asked", "audio.m4a", &p, NULL, -EBADMSG, "no video");
    p.vcodec = VID_VC_NONE;
    fails("vc-none without audio", "anim.gif", &p, NULL, -EINVAL, "no audio");
    p = params();
    lim.max_output_dim = 200;
    fails("over max_output_dim", "h264.mp4", &p, &job, -E2BIG, "limit");
    lim = VID_LIMITS_DEFAULT;
    lim.max_frames = 20;
    fails("over max_frames", "h264.mp4", &p, &job, -E2BIG, "frames");
    job = (struct vid_job){.cancel = &cancel};
    fails("cancelled", "h264.mp4", &p, &job, -ECANCELED, "cancel");
    job = (struct vid_job){.deadline_ns = 1};
    fails("past the deadline", "h264.mp4", &p, &job, -ETIMEDOUT, "time");
}

/* Progress: rises, ends at 1. */
struct progress {
    int calls;
    double last;
    bool rising;
};

static void on_progress(void *arg, double f)
{
    struct progress *pr = arg;

    pr->rising = pr->rising && f >= pr->last;
    pr->last = f;
    pr->calls++;
}

static void test_progress(void)
{
    struct progress pr = {0, 0, true};
    struct vid_job job = {.progress = on_progress, .progress_arg = &pr};
    struct vid_params p = params();
    char err[VID_ERR_LEN];
    int rc = transcode("h264.mp4", "progress.mp4", &p, &job, NULL, err);

    ok(rc == 0 && pr.calls >= 1 && pr.last == 1 && pr.rising, "progress rises to 1 (%d calls)",
       pr.calls);
}

/* HLS and DASH: the manifests name the renditions at or below the source's height. */
static bool file_has(const char *name, const char *needle)
{
    char path[512], buf[16384];
    int fd;
    ssize_t n;

    path_of(name, path, sizeof(path));
    fd = open(path, O_RDONLY);
    n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
    if (fd >= 0)
        close(fd);
    if (n < 0)
        return false;
    buf[n] = '\0';
    return strstr(buf, needle) != NULL;
}

static int package(enum vid_abr_kind kind, const int *heights, int n, char *err)
{
    struct vid_abr abr = {.kind = kind, .n = n};
    char in[512];
    int fd, rc;

    memcpy(abr.heights, heights, sizeof(int) * (size_t)n);
    path_of("h480.mp4", in, sizeof(in));
    fd = open(in, O_RDONLY | O_CLOEXEC);
    rc = vid_package(fd, &abr, NULL, dir, NULL, err);
    close(fd);
    return rc;
}

static void test_package(void)
{
    static const int sr[] = {240, 360, 480, 720};
    struct vid_info in;
    char err[VID_ERR_LEN] = "";
    int rc = package(VID_ABR_HLS, sr, 4, err);

    ok(rc == 0 && file_has("ik-master.m3u8", "RESOLUTION=320x240") &&
           file_has("ik-master.m3u8", "RESOLUTION=480x360") &&
           file_has("ik-master.m3u8", "RESOLUTION=640x480,") &&
           !file_has("ik-master.m3u8", "1280x720") && file_has("ik-master.m3u8", "ik-360p.m3u8") &&
           file_has("ik-360p.m3u8", "ik-360p-00000.ts") &&
           file_has("ik-360p.m3u8", "#EXT-X-ENDLIST"),
       "HLS: 240p, 360p, 480p (not 720p), relative names (%s)", err);
    ok(probe("ik-360p-00000.ts", &in) != 0, "a TS segment is not a source we read (no sniff)");
    rc = package(VID_ABR_DASH, sr, 3, err);
    ok(rc == 0 && file_has("ik-master.mpd", "height=\"480\"") &&
           file_has("ik-master.mpd", "height=\"240\"") &&
           file_has("ik-master.mpd", "contentType=\"audio\"") &&
           file_has("ik-master.mpd", "media=\"ik-chunk-$RepresentationID$"),
       "DASH: three video representations and audio, relative names (%s)", err);
    ok(probe("ik-init-0.m4s", &in) == 0 && in.width == 320 && in.height == 240,
       "DASH: the 240p init segment is 320x240");
    rc = package(VID_ABR_HLS, (const int[]){250}, 1, err);
    ok(rc == -EINVAL && strstr(err, "250"), "sr-250 is not a rendition height: '%s'", err);
}

static void make_clips(void)
{
    struct clip_spec s = spec("mp4", "libx264", "aac");

    clip("h264.mp4", &s);
    s.rotation = 90;
    s.acodec = NULL;
    clip("rot90.mp4", &s);
    s = spec("mp4", "libx264", NULL);
    s.vfr = true;
    clip("vfr.mp4", &s);
    clip("vp9.webm", &(struct clip_spec){.format = "webm",
                                         .vcodec = "libvpx-vp9",
                                         .acodec = "libopus",
                                         .width = 320,
                                         .height = 240,
                                         .fps = 25,
                                         .frames = 50,
                                         .gop = 12});
    clip("audio.m4a",
         &(struct clip_spec){.format = "mp4", .acodec = "aac", .fps = 25, .frames = 50});
    clip("anim.gif", &(struct clip_spec){.format = "gif",
                                         .vcodec = "gif",
                                         .width = 160,
                                         .height = 120,
                                         .fps = 25,
                                         .frames = 50,
                                         .alpha = true});
    s = spec("mp4", "libx264", "aac");
    s.width = 640;
    s.height = 480;
    s.frames = 25;
    clip("h480.mp4", &s);
}

int main(void)
{
    if (clip_dir_make(dir, sizeof(dir), "test_vid_transcode"))
        return 2;
    log_open("test_vid_transcode", NULL, LOG_LV_WARN);
    vid_init();
    make_clips();
    test_outputs();
    test_cuts();
    test_pixels();
    test_vfr();
    test_errors();
    test_progress();
    test_package();
    clip_dir_remove(dir);
    return check_done();
}
