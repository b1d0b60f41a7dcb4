/* Unit tests for video/vid_probe.c and video/vid_thumb.c on clips made here (tests/vid_clip.c):
 * every source kind, exact frames (each frame shows its index), rotation, variable frame
 * rate, bad and hostile inputs, limits, cancellation. */
#include "vid.h"
#include "vid_clip.h"

#include "check.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sys/stat.h>

static char dir[256];

/* A clip of spec in dir, name; exits when it cannot be made (nothing else could be trusted). */
static void make(const char *name, const struct clip_spec *s)
{
    char path[512], err[256];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (clip_make(s, path, err, sizeof(err))) {
        fprintf(stderr, "test setup failed: %s: %s\n", name, err);
        exit(2);
    }
}

static int open_clip(const char *name)
{
    char path[512];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return open(path, O_RDONLY | O_CLOEXEC);
}

/* The thumbnail at so: its index (-1 when unreadable or failed), upright, and its time. */
static int thumb_index(const char *name, double so, bool *upright, double *time, int *rc_out)
{
    struct vid_frame f;
    char err[VID_ERR_LEN];
    int fd = open_clip(name),
        rc = vid_thumbnail(fd, &(struct vid_thumb_req){.so = so}, NULL, &f, err), i = -1;

    close(fd);
    *rc_out = rc;
    if (rc) {
        printf("# %s at %.3f: %s\n", name, so, err);
        return -1;
    }
    i = clip_index_of(f.data, f.width, f.height, f.stride);
    *upright =
        clip_is_upright(f.data, f.width, f.height, f.stride) && f.width == 320 && f.height == 240;
    *time = f.time;
    vid_frame_release(&f);
    return i;
}

static void frame_is(const char *name, double so, int want, const char *what)
{
    bool upright = false;
    double t = -1;
    int rc, i = thumb_index(name, so, &upright, &t, &rc);

    ok(rc == 0 && i == want && upright, "%s: so %.3f is frame %d, upright (%d at %.3f s)%s%s", name,
       so, want, i, t, what[0] ? ": " : "", what);
}

static void test_probe(void)
{
    struct vid_info in;
    char err[VID_ERR_LEN];
    int fd = open_clip("h264.mp4"), rc = vid_probe(fd, NULL, &in, err);

    close(fd);
    ok(rc == 0 && in.container == VID_CT_MP4 && strcmp(in.vcodec, "h264") == 0 &&
           strcmp(in.acodec, "aac") == 0 && in.width == 320 && in.height == 240 &&
           in.rotation == 0 && fabs(in.duration - 2) < 0.05 && fabs(in.fps - 25) < 0.01 &&
           in.has_audio && in.sample_rate == 48000 && in.channels == 2,
       "probe: mp4 h264/aac 320x240 2 s 25 fps, 48 kHz stereo (%s %s/%s %dx%d %.3f s %.2f fps)",
       err, in.vcodec, in.acodec, in.width, in.height, in.duration, in.fps);
    fd = open_clip("rot90.mp4");
    rc = vid_probe(fd, NULL, &in, err);
    close(fd);
    ok(rc == 0 && in.rotation == 90 && in.width == 320 && in.height == 240,
       "probe: a phone's portrait clip is shown 320x240, rotation 90 (%dx%d, %d)", in.width,
       in.height, in.rotation);
    fd = open_clip("audio.m4a");
    rc = vid_probe(fd, NULL, &in, err);
    close(fd);
    ok(rc == 0 && !in.has_video && in.has_audio && strcmp(in.acodec, "aac") == 0,
       "probe: audio only");
}

/* Every source kind: the frame asked for, the right way up. */
static void test_kinds(void)
{
    static const char *const kinds[] = {"h264.mp4", "hevc.mp4",  "av1.mp4",    "mpeg4.mp4",
                                        "h264.mov", "vp8.webm",  "vp9.webm",   "av1.webm",
                                        "h264.mkv", "rot90.mp4", "rot180.mp4", "rot270.mov"};

    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        frame_is(kinds[i], 1.2, 30, "");
}

static void test_exact(void)
{
    struct clip_spec vfr = {.fps = 25, .vfr = true};

    frame_is("h264.mp4", -1, 0, "no so: the first frame");
    frame_is("h264.mp4", 0, 0, "");
    frame_is("h264.mp4", 0.48, 12, "a keyframe");
    frame_is("h264.mp4", 0.52, 13, "just after a keyframe");
    frame_is("h264.mp4", 0.94, 24, "just before a keyframe (a B-frame)");
    frame_is("h264.mp4", 0.5, 13, "between two frames: the next one");
    frame_is("h264.mp4", 1.96, 49, "the last frame");
    frame_is("h264.mp4", 1.99, 49, "within the last frame");
    for (int k = 17; k <= 20; k++)
        frame_is("vfr.mp4", clip_time(&vfr, k), k, "variable frame rate");
    frame_is("vfr.mp4", clip_time(&vfr, 18) + 0.001, 19, "variable frame rate, just after");
}

/* A frame for a caller that resizes it: shrunk by a whole factor, aspect ratio kept exactly. */
static void shrunk_is(const char *name, int fit_w, int fit_h, int w, int h)
{
    struct vid_thumb_req rq = {.so = 1.2, .fit_w = fit_w, .fit_h = fit_h};
    struct vid_frame f;
    char err[VID_ERR_LEN];
    int fd = open_clip(name), rc = vid_thumbnail(fd, &rq, NULL, &f, err), i = -1;

    close(fd);
    if (!rc)
        i = clip_index_of(f.data, f.width, f.height, f.stride);
    ok(rc == 0 && f.width == w && f.height == h && f.full_width == 320 && f.full_height == 240 &&
           i == 30 && clip_is_upright(f.data, f.width, f.height, f.stride),
       "%s for %dx%d: %dx%d of 320x240, frame 30, upright (%dx%d, %d)", name, fit_w, fit_h, w, h,
       rc ? 0 : f.width, rc ? 0 : f.height, i);
    if (!rc)
        vid_frame_release(&f);
}

static void test_shrink(void)
{
    shrunk_is("h264.mp4", 40, 0, 80, 60);
    shrunk_is("h264.mp4", 0, 30, 80, 60);
    shrunk_is("h264.mp4", 40, 40, 160, 120); /* 40/240 decides: 3, which 320 does not take */
    shrunk_is("h264.mp4", 100, 0, 320, 240); /* less than twice: whole */
    shrunk_is("rot90.mp4", 40, 0, 80, 60);   /* rotated after the shrink */
    shrunk_is("h264.mp4", 0, 0, 320, 240);
}

static void fails(const char *name, double so, int want, const char *needle)
{
    struct vid_frame f;
    char err[VID_ERR_LEN] = "";
    int fd = open_clip(name),
        rc = vid_thumbnail(fd, &(struct vid_thumb_req){.so = so}, NULL, &f, err);

    if (fd >= 0)
        close(fd);
    ok(rc == want && strstr(err, needle), "%s at %.2f: %d '%s'", name, so, rc, err);
    if (!rc)
        vid_frame_release(&f);
}

/* A copy of src with only its first part, or with bytes flipped in its middle. */
static void damage(const char *src, const char *dst, double keep, bool flip)
{
    char a[512], b[512], *buf;
    struct stat st;
    int in, out;

    snprintf(a, sizeof(a), "%s/%s", dir, src);
    snprintf(b, sizeof(b), "%s/%s", dir, dst);
    in = open(a, O_RDONLY);
    out = open(b, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0 || fstat(in, &st))
        exit(2);
    buf = malloc((size_t)st.st_size);
    if (!buf || read(in, buf, (size_t)st.st_size) != st.st_size)
        exit(2);
    for (off_t i = st.st_size / 3; flip && i < st.st_size * 2 / 3; i += 7)
        buf[i] ^= 0x5a;
    if (write(out, buf, (size_t)(st.st_size * keep)) < 0)
        exit(2);
    free(buf);
    close(in);
    close(out);
}

static void write_file(const char *name, const char *text)
{
    char path[512];
    int fd;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
        exit(2);
    close(fd);
}

static void test_bad(void)
{
    struct vid_frame f;
    char err[VID_ERR_LEN];
    int fd, rc;

    fails("h264.mp4", 2.5, -EINVAL, "past the end");
    fails("audio.m4a", -1, -EBADMSG, "no video");
    write_file("empty.mp4", "");
    fails("empty.mp4", -1, -EBADMSG, "empty");
    write_file("text.mp4", "this is not a video, whatever its name says\n");
    fails("text.mp4", -1, -EBADMSG, "not a video");
    damage("h264.mp4", "cut.mp4", 0.5, false); /* moov at the end: gone */
    fails("cut.mp4", 1, -EBADMSG, "container");
    damage("faststart.mp4", "cut-fast.mp4", 0.4, false); /* moov first, media cut */
    fails("cut-fast.mp4", 1.9, -EBADMSG, "ends early");
    damage("faststart.mp4", "noise.mp4", 1, true);
    fd = open_clip("noise.mp4");
    rc = vid_thumbnail(fd, &(struct vid_thumb_req){.so = 1.5}, NULL, &f, err);
    close(fd);
    ok(rc == 0 || rc == -EBADMSG, "corrupt media: a frame or -EBADMSG, nothing worse (%d %s)", rc,
       rc ? err : "");
    if (!rc)
        vid_frame_release(&f);
    fails("vp9.webm", 2.5, -EINVAL, "past the end");
}

static int limited(const char *name, double so, const struct vid_limits *lim, char *err)
{
    struct vid_job job = {.limits = lim};
    struct vid_frame f;
    int fd = open_clip(name),
        rc = vid_thumbnail(fd, &(struct vid_thumb_req){.so = so}, &job, &f, err);

    close(fd);
    if (!rc)
        vid_frame_release(&f);
    return rc;
}

static void test_limits(void)
{
    struct vid_limits lim = VID_LIMITS_DEFAULT;
    char err[VID_ERR_LEN];
    int rc;

    lim.max_input_bytes = 1000;
    rc = limited("h264.mp4", 1, &lim, err);
    ok(rc == -E2BIG && strstr(err, "bytes"), "over max_input_bytes: %d '%s'", rc, err);
    lim = VID_LIMITS_DEFAULT;
    lim.max_duration = 1;
    rc = limited("h264.mp4", 1, &lim, err);
    ok(rc == -E2BIG && strstr(err, "lasts"), "over max_duration: %d '%s'", rc, err);
    lim = VID_LIMITS_DEFAULT;
    lim.max_input_dim = 200;
    lim.max_input_pixels = 200 * 200;
    rc = limited("h264.mp4", 1, &lim, err);
    ok(rc == -E2BIG && strstr(err, "320x240"), "over max_input_dim: %d '%s'", rc, err);
    lim = VID_LIMITS_DEFAULT;
    lim.max_frames = 5;
    rc = limited("h264.mp4", 1.5, &lim, err);
    ok(rc == -E2BIG && strstr(err, "frames"), "over max_frames: %d '%s'", rc, err);
}

static void test_stop(void)
{
    atomic_bool cancel = true;
    struct vid_job job = {.cancel = &cancel};
    struct vid_frame f;
    char err[VID_ERR_LEN];
    int fd = open_clip("h264.mp4"),
        rc = vid_thumbnail(fd, &(struct vid_thumb_req){.so = 1}, &job, &f, err);

    ok(rc == -ECANCELED && strstr(err, "cancel"), "a cancelled job stops: %d '%s'", rc, err);
    job = (struct vid_job){.deadline_ns = 1};
    rc = vid_thumbnail(fd, &(struct vid_thumb_req){.so = 1}, &job, &f, err);
    ok(rc == -ETIMEDOUT && strstr(err, "time"), "a job past its deadline stops: %d '%s'", rc, err);
    close(fd);
}

/* A clip of 2 s at 25 fps, 320x240, a keyframe every 12 frames. */
static void clip(const char *name, const char *format, const char *v, const char *a, int rotation,
                 bool vfr, bool faststart)
{
    struct clip_spec s = {.format = format,
                          .vcodec = v,
                          .acodec = a,
                          .width = 320,
                          .height = 240,
                          .fps = 25,
                          .frames = 50,
                          .rotation = rotation,
                          .vfr = vfr,
                          .gop = 12,
                          .faststart = faststart};

    make(name, &s);
}

static void make_clips(void)
{
    clip("h264.mp4", "mp4", "libx264", "aac", 0, false, false);
    clip("faststart.mp4", "mp4", "libx264", "aac", 0, false, true);
    clip("h264.mov", "mov", "libx264", "aac", 0, false, false);
    clip("h264.mkv", "matroska", "libx264", NULL, 0, false, false);
    clip("hevc.mp4", "mp4", "libx265", NULL, 0, false, false);
    clip("av1.mp4", "mp4", "libsvtav1", NULL, 0, false, false);
    clip("mpeg4.mp4", "mp4", "mpeg4", NULL, 0, false, false);
    clip("vp8.webm", "webm", "libvpx", "libopus", 0, false, false);
    clip("vp9.webm", "webm", "libvpx-vp9", "libopus", 0, false, false);
    clip("av1.webm", "webm", "libsvtav1", NULL, 0, false, false);
    clip("rot90.mp4", "mp4", "libx264", NULL, 90, false, false);
    clip("rot180.mp4", "mp4", "libx264", NULL, 180, false, false);
    clip("rot270.mov", "mov", "libx264", NULL, 270, false, false);
    clip("vfr.mp4", "mp4", "libx264", NULL, 0, true, false);
    clip("audio.m4a", "mp4", NULL, "aac", 0, false, false);
}

int main(void)
{
    if (clip_dir_make(dir, sizeof(dir), "test_vid_thumb"))
        return 2;
    log_open("test_vid_thumb", NULL, LOG_LV_WARN);
    vid_init();
    make_clips();
    test_probe();
    test_kinds();
    test_exact();
    test_shrink();
    test_bad();
    test_limits();
    test_stop();
    clip_dir_remove(dir);
    return check_done();
}
