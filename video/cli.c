/* video/cli.c: blobkit-video, the video engine on the command line, for scripts, tests and the
 * benchmark. It runs what blobhttpd runs: vid_probe(), vid_thumbnail() then tr_apply() on the
 * frame, vid_transcode(), vid_package(), with the same limits. The video parameters are read
 * here from ImageKit's "key-value" text (w-640,h-360,f-webm,so-2); blobhttpd takes them from
 * its URL parser instead. */
#include "vid.h"
#include "vid_chain.h"

#include "log.h"
#include "tr.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const char usage[] =
    "usage: blobkit-video probe [--json] IN\n"
    "       blobkit-video thumbnail [--so S] [--tr CHAIN] IN OUT\n"
    "       blobkit-video transcode [--tr PARAMS] IN OUT\n"
    "       blobkit-video gif2mp4 [--tr PARAMS] IN OUT\n"
    "       blobkit-video hls|dash --tr sr-240_360_480 IN DIR\n"
    "\n"
    "  probe       what IN holds: container, codecs, displayed size, duration, frame rate\n"
    "  thumbnail   the frame at S seconds (the first by default), then the image\n"
    "              transformation CHAIN (w-300,h-200,...) into OUT: the chain's f-, else\n"
    "              OUT's extension (.jpg .png .webp .avif), else JPEG (\"-\": stdout)\n"
    "  transcode   PARAMS: w h ar c cm fo bg q f vc ac so eo du rt, ImageKit's spelling\n"
    "              (w-640,h-360,c-at_max,f-webm,so-2,du-3); the format is f-, else OUT's\n"
    "              extension (.mp4 .webm), else MP4\n"
    "  gif2mp4     an animated GIF as an H.264 MP4 (PARAMS as for transcode)\n"
    "  hls, dash   renditions of the heights sr-... into the folder DIR (ik-master.m3u8,\n"
    "              ik-master.mpd and the files they name)\n"
    "\n"
    "  --json               print the result as JSON on stdout\n"
    "  --progress           print \"progress F\" lines on stderr while a job runs\n"
    "  --threads N          codec threads (default 2)\n"
    "  --max-bytes N        limits (defaults: 300000000 bytes, 3600 s, 7680 px a side in,\n"
    "  --max-duration S       4096 out, 216000 frames, 1800 s a job)\n"
    "  --max-input-dim N\n"
    "  --max-output-dim N\n"
    "  --max-frames N\n"
    "  --max-seconds S\n"
    "  --log-level L        error, warn (default), info, debug\n"
    "  --help, --version    print this, or the version, and exit\n"
    "\n"
    "Exit status: 0 done; 1 the source or the parameters cannot be used; 2 usage; 3 over a\n"
    "limit; 4 out of time; 5 anything else (reading, writing, memory, a missing encoder).\n";

enum cmd { CMD_PROBE, CMD_THUMB, CMD_TRANSCODE, CMD_GIF2MP4, CMD_HLS, CMD_DASH };

struct opts {
    enum cmd cmd;
    const char *tr;
    double so;
    bool json, progress;
    enum log_level level;
    struct vid_limits lim;
};

/* ---- Options ------------------------------------------------------------------------------ */

static int parse_cmd(const char *s, enum cmd *out)
{
    static const char *const names[] = {"probe",   "thumbnail", "transcode",
                                        "gif2mp4", "hls",       "dash"};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (enum cmd)i;
            return 0;
        }
    return -EINVAL;
}

/* A number in [min, max] from all of s, or -EINVAL. */
static int parse_num(const char *s, double min, double max, double *out)
{
    char *end;

    errno = 0;
    *out = strtod(s, &end);
    if (errno || end == s || *end || !(*out >= min && *out <= max))
        return -EINVAL;
    return 0;
}

static int set_number(struct opts *o, int key, const char *arg)
{
    double v;
    int rc = parse_num(arg, 0, 1e15, &v);

    if (rc || (key != 'S' && key != 'd' && key != 's' && v != floor(v)))
        return -EINVAL;
    switch (key) {
    case 's':
        o->so = v;
        return 0;
    case 't':
        o->lim.threads = (int)v;
        return v >= 1 && v <= 16 ? 0 : -EINVAL;
    case 'B':
        o->lim.max_input_bytes = (uint64_t)v;
        return 0;
    case 'd':
        o->lim.max_duration = v;
        return 0;
    case 'I':
        o->lim.max_input_dim = v <= 65535 ? (int)v : 65535;
        o->lim.max_input_pixels = (uint64_t)o->lim.max_input_dim * (uint64_t)o->lim.max_input_dim;
        return 0;
    case 'O':
        o->lim.max_output_dim = v <= 65535 ? (int)v : 65535;
        return 0;
    case 'F':
        o->lim.max_frames = (int64_t)v;
        return 0;
    case 'S':
        o->lim.max_job_seconds = v;
        return 0;
    }
    return -EINVAL;
}

static const struct option longopts[] = {
    {"tr", required_argument, NULL, 'r'},
    {"so", required_argument, NULL, 's'},
    {"json", no_argument, NULL, 'j'},
    {"progress", no_argument, NULL, 'p'},
    {"threads", required_argument, NULL, 't'},
    {"max-bytes", required_argument, NULL, 'B'},
    {"max-duration", required_argument, NULL, 'd'},
    {"max-input-dim", required_argument, NULL, 'I'},
    {"max-output-dim", required_argument, NULL, 'O'},
    {"max-frames", required_argument, NULL, 'F'},
    {"max-seconds", required_argument, NULL, 'S'},
    {"log-level", required_argument, NULL, 'l'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int one_option(struct opts *o, int key, int at)
{
    int rc = 0;

    if (key == 'r')
        o->tr = optarg;
    else if (key == 'j' || key == 'p')
        *(key == 'j' ? &o->json : &o->progress) = true;
    else if (key == 'l')
        rc = log_parse_level(optarg, &o->level);
    else if (key == 'h' || key == '?')
        rc = -EINVAL;
    else
        rc = set_number(o, key, optarg);
    if (rc && key != 'h' && key != '?')
        fprintf(stderr, "blobkit-video: bad value '%s' for --%s\n", optarg, longopts[at].name);
    if (rc)
        fputs(usage, key == 'h' ? stdout : stderr);
    return rc;
}

/* Options into o; returns the index of the first operand, 0 when --help or --version
 * answered, or -1 after printing why not. */
static int parse_options(int argc, char **argv, struct opts *o)
{
    int key, at = 0, want;

    if (argc == 2 && strcmp(argv[1], "--help") == 0) {
        fputs(usage, stdout);
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        printf("blobkit-video %s (FFmpeg %s)\n", BLOBKIT_VERSION, vid_library_versions());
        return 0;
    }
    if (argc < 2 || parse_cmd(argv[1], &o->cmd)) {
        fputs(usage, stderr);
        return -1;
    }
    optind = 2;
    while ((key = getopt_long(argc, argv, "", longopts, &at)) != -1)
        if (one_option(o, key, at))
            return -1;
    want = o->cmd == CMD_PROBE ? 1 : 2;
    if (argc - optind != want) {
        fprintf(stderr, "blobkit-video: %s takes %d operand%s\n", argv[1], want,
                want > 1 ? "s" : "");
        return -1;
    }
    return optind;
}

/* ---- Video parameters: "w-640,h-360,f-webm" ------------------------------------------------ */

/* The index of s[0..len) in names, or -1. */
static int lookup(const char *s, size_t len, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (strlen(names[i]) == len && strncmp(s, names[i], len) == 0)
            return i;
    return -1;
}

#define LOOKUP(s, len, names) lookup(s, len, names, (int)(sizeof(names) / sizeof(names[0])))

static const char *const crops[] = {"maintain_ratio", "force", "at_max", "at_max_enlarge",
                                    "at_least"};
static const char *const modes[] = {"", "pad_resize", "extract", "pad_extract"};
static const char *const focus[] = {"center",       "top",      "left",      "bottom",
                                    "right",        "top_left", "top_right", "bottom_left",
                                    "bottom_right", "auto",     "face"};
static const char *const formats[] = {"mp4", "webm"};
static const char *const vcodecs[] = {"", "h264", "vp9", "av1", "none"};
static const char *const acodecs[] = {"", "aac", "opus", "none"};

/* A number value; N for negative is refused (no parameter here takes one but rt). */
static int num_value(const char *v, size_t len, double min, double max, double *out)
{
    char buf[32];

    if (len == 0 || len >= sizeof(buf))
        return -EINVAL;
    memcpy(buf, v, len);
    buf[len] = '\0';
    return parse_num(buf, min, max, out);
}

/* ar-W-H as W / H. */
static int ratio_value(const char *v, size_t len, double *out)
{
    const char *dash = memchr(v, '-', len);
    double w, h;

    if (!dash || num_value(v, (size_t)(dash - v), 0.001, 1e5, &w) ||
        num_value(dash + 1, len - (size_t)(dash - v) - 1, 0.001, 1e5, &h))
        return -EINVAL;
    *out = w / h;
    return 0;
}

static int color_value(const char *v, size_t len, uint8_t out[3])
{
    char buf[7];
    char *end;
    unsigned long rgb;

    if (len != 6)
        return -EINVAL;
    memcpy(buf, v, 6);
    buf[6] = '\0';
    rgb = strtoul(buf, &end, 16);
    if (*end)
        return -EINVAL;
    out[0] = (uint8_t)(rgb >> 16);
    out[1] = (uint8_t)(rgb >> 8);
    out[2] = (uint8_t)rgb;
    return 0;
}

/* rt-90, rt-N90 (anticlockwise), rt-360. */
static int rotate_value(const char *v, size_t len, int *out)
{
    bool neg = len > 0 && v[0] == 'N';
    double d;

    if (num_value(v + neg, len - neg, 0, 360, &d) || fmod(d, 90) != 0)
        return -EINVAL;
    *out = ((neg ? 360 - (int)d : (int)d) % 360 + 360) % 360;
    return 0;
}

/* sr-240_360_480 */
static int heights_value(const char *v, size_t len, struct vid_abr *abr)
{
    abr->n = 0;
    while (len > 0 && abr->n < VID_MAX_RENDITIONS) {
        const char *us = memchr(v, '_', len);
        size_t n = us ? (size_t)(us - v) : len;
        double h;

        if (num_value(v, n, 1, 4320, &h) || h != floor(h))
            return -EINVAL;
        abr->heights[abr->n++] = (int)h;
        v += n + (us ? 1 : 0);
        len -= n + (us ? 1 : 0);
    }
    return len == 0 && abr->n > 0 ? 0 : -EINVAL;
}

static int quality_value(const char *v, size_t len, int *out)
{
    double q = 0;

    if (num_value(v, len, 1, 100, &q) || q != floor(q))
        return -EINVAL;
    *out = (int)q;
    return 0;
}

static int enum_value(int i, int *out)
{
    if (i < 0)
        return -EINVAL;
    *out = i;
    return 0;
}

/* One key-value pair into p (or abr for sr). */
static int set_param(const char *k, size_t klen, const char *v, size_t vlen, struct vid_params *p,
                     struct vid_abr *abr)
{
    int i = -1;

#define KEY(name) (klen == sizeof(name) - 1 && strncmp(k, name, klen) == 0)
    if (KEY("w") || KEY("h"))
        return num_value(v, vlen, 0.0001, 65535, KEY("w") ? &p->w : &p->h);
    if (KEY("ar"))
        return ratio_value(v, vlen, &p->ar);
    if (KEY("so") || KEY("eo") || KEY("du"))
        return num_value(v, vlen, 0, 1e7, KEY("so") ? &p->so : KEY("eo") ? &p->eo : &p->du);
    if (KEY("q"))
        return quality_value(v, vlen, &p->quality);
    if (KEY("bg"))
        return color_value(v, vlen, p->bg);
    if (KEY("rt"))
        return rotate_value(v, vlen, &p->rotate);
    if (KEY("sr"))
        return heights_value(v, vlen, abr);
    if (KEY("c"))
        return enum_value(LOOKUP(v, vlen, crops), (int *)&p->crop);
    if (KEY("cm"))
        return enum_value(LOOKUP(v, vlen, modes), (int *)&p->crop_mode);
    if (KEY("f"))
        return enum_value(LOOKUP(v, vlen, formats), (int *)&p->format);
    if (KEY("vc"))
        return enum_value(LOOKUP(v, vlen, vcodecs), (int *)&p->vcodec);
    if (KEY("ac"))
        return enum_value(LOOKUP(v, vlen, acodecs), (int *)&p->acodec);
    if (KEY("fo")) {
        i = LOOKUP(v, vlen, focus);
        return enum_value(i > VID_FO_BOTTOM_RIGHT ? VID_FO_CENTER : i, (int *)&p->focus);
    }
#undef KEY
    return -ENOENT;
}

/* The whole text: comma-separated pairs, the key before the first '-'. Says what is wrong. */
static int parse_params(const char *text, struct vid_params *p, struct vid_abr *abr, bool *has_f)
{
    const char *s = text ? text : "";

    while (*s) {
        size_t len = strcspn(s, ",");
        const char *dash = memchr(s, '-', len);
        size_t klen = dash ? (size_t)(dash - s) : len;
        int rc = dash ? set_param(s, klen, dash + 1, len - klen - 1, p, abr) : -EINVAL;

        if (rc) {
            fprintf(stderr, "blobkit-video: %s parameter '%.*s'\n",
                    rc == -ENOENT ? "unknown" : "bad value in", (int)len, s);
            return -EINVAL;
        }
        *has_f = *has_f || (klen == 1 && s[0] == 'f');
        s += len + (s[len] == ',');
    }
    return 0;
}

/* ---- Commands ----------------------------------------------------------------------------- */

static int exit_code(int rc)
{
    switch (rc) {
    case 0:
        return 0;
    case -EBADMSG:
    case -EINVAL:
        return 1;
    case -E2BIG:
        return 3;
    case -ETIMEDOUT:
    case -ECANCELED:
        return 4;
    }
    return 5;
}

/* Run a command's call on the opened input and report its error. */
static int report(int rc, const char *err)
{
    if (rc)
        fprintf(stderr, "blobkit-video: %s\n", err);
    return exit_code(rc);
}

static int probe(const struct opts *o, int fd, const struct vid_job *job)
{
    struct vid_info i;
    char err[VID_ERR_LEN];
    int rc = vid_probe(fd, job, &i, err);

    if (rc)
        return report(rc, err);
    printf(o->json ? "{\"container\":\"%s\",\"video\":\"%s\",\"audio\":\"%s\",\"width\":%d,"
                     "\"height\":%d,\"rotation\":%d,\"duration\":%.3f,\"fps\":%.3f,"
                     "\"sample_rate\":%d,\"channels\":%d,\"bit_rate\":%lld}\n"
                   : "%s video=%s audio=%s %dx%d rotation=%d duration=%.3f fps=%.3f "
                     "sample_rate=%d channels=%d bit_rate=%lld\n",
           vid_container_name(i.container), i.vcodec, i.acodec, i.width, i.height, i.rotation,
           i.duration, i.fps, i.sample_rate, i.channels, (long long)i.bit_rate);
    return 0;
}

static int write_all(const char *path, const void *data, size_t len)
{
    int fd = strcmp(path, "-") == 0 ? STDOUT_FILENO
                                    : open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    const char *p = data;
    int rc = fd < 0 ? -errno : 0;

    while (!rc && len > 0) {
        ssize_t n = write(fd, p, len);

        rc = n < 0 ? -errno : 0;
        p += n > 0 ? n : 0;
        len -= n > 0 ? (size_t)n : 0;
    }
    if (fd > STDOUT_FILENO && close(fd) && !rc)
        rc = -errno;
    return rc;
}

/* The chain's f- when it names one, else OUT's extension, else JPEG. */
static enum tr_format image_format(const struct tr_chain *c, const char *path)
{
    static const struct {
        const char *ext;
        enum tr_format f;
    } exts[] = {{".jpg", TR_FMT_JPEG},
                {".jpeg", TR_FMT_JPEG},
                {".png", TR_FMT_PNG},
                {".webp", TR_FMT_WEBP},
                {".avif", TR_FMT_AVIF}};
    const char *dot = strrchr(path, '.');
    struct tr_output out;

    tr_chain_output(c, &out);
    if (out.format != TR_FMT_AUTO && out.format != TR_FMT_ORIG && out.format != TR_FMT_GIF)
        return out.format;
    for (size_t i = 0; dot && i < sizeof(exts) / sizeof(exts[0]); i++)
        if (strcasecmp(dot, exts[i].ext) == 0)
            return exts[i].f;
    return TR_FMT_JPEG;
}

/* The frame through the image engine into path. */
static int frame_to_image(const struct opts *o, const struct vid_frame *f, const struct tr_chain *c,
                          const char *path)
{
    struct tr_limits lim = TR_LIMITS_DEFAULT;
    struct tr_pixels px = {f->data, f->width, f->height, 3, f->stride};
    struct tr_request rq = {
        .chain = c, .format = image_format(c, path), .limits = &lim, .pixels = &px};
    struct tr_image img;
    char err[TR_ERR_LEN];
    int rc = tr_apply(&rq, &img, err);

    if (rc) {
        fprintf(stderr, "blobkit-video: %s\n", err);
        return exit_code(rc);
    }
    rc = write_all(path, img.data, img.len);
    if (rc)
        fprintf(stderr, "blobkit-video: cannot write %s: %s\n", path, strerror(-rc));
    else if (o->json)
        printf("{\"time\":%.3f,\"frame_width\":%d,\"frame_height\":%d,\"format\":\"%s\","
               "\"width\":%d,\"height\":%d,\"bytes\":%zu}\n",
               f->time, f->width, f->height, tr_format_name(img.format), img.width, img.height,
               img.len);
    tr_image_release(&img);
    return rc ? 5 : 0;
}

static int thumbnail(const struct opts *o, int fd, const struct vid_job *job, const char *out)
{
    struct vid_thumb_req rq = {.so = o->so};
    struct tr_chain chain;
    struct vid_frame f;
    char err[VID_ERR_LEN > TR_ERR_LEN ? VID_ERR_LEN : TR_ERR_LEN];
    int rc;

    tr_chain_init(&chain);
    if (o->tr && tr_parse(&chain, o->tr, strlen(o->tr), NULL, err)) {
        fprintf(stderr, "blobkit-video: %s\n", err);
        return 1;
    }
    vid_chain_fit(&chain, &rq);
    rc = vid_thumbnail(fd, &rq, job, &f, err);
    if (rc)
        return report(rc, err);
    if (tr_init("blobkit-video", 1)) {
        fprintf(stderr, "blobkit-video: cannot start libvips\n");
        rc = 5;
    } else {
        rc = frame_to_image(o, &f, &chain, out);
        tr_shutdown();
    }
    vid_frame_release(&f);
    return rc;
}

static void print_result(const struct opts *o, const char *mime, const struct vid_result *r)
{
    if (o->json)
        printf("{\"mime\":\"%s\",\"width\":%d,\"height\":%d,\"duration\":%.3f,\"frames\":%lld,"
               "\"bytes\":%llu,\"vcodec\":\"%s\",\"acodec\":\"%s\"}\n",
               mime, r->width, r->height, r->duration, (long long)r->frames,
               (unsigned long long)r->bytes, r->vcodec, r->acodec);
}

/* f- when given, else the output's extension. */
static void output_format(struct vid_params *p, bool has_f, const char *path)
{
    const char *dot = strrchr(path, '.');

    if (!has_f && dot && strcasecmp(dot, ".webm") == 0)
        p->format = VID_FMT_WEBM;
}

static int transcode(const struct opts *o, int fd, const struct vid_job *job, const char *out)
{
    struct vid_params p;
    struct vid_abr abr = {0};
    struct vid_result r;
    char err[VID_ERR_LEN];
    bool has_f = false;
    int rc;

    vid_params_init(&p);
    if (parse_params(o->tr, &p, &abr, &has_f))
        return 1;
    if (abr.n) {
        fprintf(stderr, "blobkit-video: sr- is for hls and dash\n");
        return 1;
    }
    output_format(&p, has_f, out);
    if (o->cmd == CMD_GIF2MP4 && (p.format != VID_FMT_MP4 || p.vcodec > VID_VC_H264)) {
        fprintf(stderr, "blobkit-video: gif2mp4 makes H.264 MP4 only\n");
        return 1;
    }
    rc = vid_transcode(fd, &p, job, out, &r, err);
    if (!rc)
        print_result(o, vid_params_mime(&p), &r);
    return report(rc, err);
}

static int package(const struct opts *o, int fd, const struct vid_job *job, const char *dir)
{
    struct vid_params p;
    struct vid_abr abr = {.kind = o->cmd == CMD_DASH ? VID_ABR_DASH : VID_ABR_HLS};
    struct vid_result r;
    char err[VID_ERR_LEN];
    bool has_f = false;
    int rc;

    vid_params_init(&p);
    if (parse_params(o->tr, &p, &abr, &has_f))
        return 1;
    if (abr.n == 0) {
        fprintf(stderr, "blobkit-video: %s needs the renditions: --tr sr-240_360_480\n",
                o->cmd == CMD_DASH ? "dash" : "hls");
        return 1;
    }
    rc = vid_package(fd, &abr, job, dir, &r, err);
    if (!rc)
        print_result(
            o, o->cmd == CMD_DASH ? "application/dash+xml" : "application/vnd.apple.mpegurl", &r);
    return report(rc, err);
}

static void on_progress(void *arg, double fraction)
{
    (void)arg;
    fprintf(stderr, "progress %.3f\n", fraction);
}

static int run(const struct opts *o, int fd, char **operands)
{
    struct vid_job job = {.limits = &o->lim, .progress = o->progress ? on_progress : NULL};

    switch (o->cmd) {
    case CMD_PROBE:
        return probe(o, fd, &job);
    case CMD_THUMB:
        return thumbnail(o, fd, &job, operands[1]);
    case CMD_TRANSCODE:
    case CMD_GIF2MP4:
        return transcode(o, fd, &job, operands[1]);
    default:
        return package(o, fd, &job, operands[1]);
    }
}

int main(int argc, char **argv)
{
    struct opts o = {.so = -1, .level = LOG_LV_WARN, .lim = VID_LIMITS_DEFAULT};
    int first = parse_options(argc, argv, &o), fd, rc;

    if (first <= 0)
        return first < 0 ? 2 : 0;
    log_open("blobkit-video", NULL, o.level);
    vid_init();
    fd = open(argv[first], O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "blobkit-video: cannot open %s: %s\n", argv[first], strerror(errno));
        return 1;
    }
    rc = run(&o, fd, argv + first);
    close(fd);
    return rc;
}
