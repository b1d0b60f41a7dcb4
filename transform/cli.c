/* transform/cli.c: blobkit-transform, the transformation engine on the command line, for
 * scripts and tests. It runs exactly what blobhttpd runs: tr_parse(), tr_pick_format(),
 * tr_apply(), with the same limits. */
#include "clock.h"
#include "tr.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
    "usage: blobkit-transform [OPTIONS] TRANSFORMATION IN OUT\n"
    "       blobkit-transform --info [--json] IN\n"
    "\n"
    "Run ImageKit-style transformation steps on IN and write the result to OUT\n"
    "(\"-\": stdin, stdout). TRANSFORMATION is e.g. 'w-300,h-300:rt-90' ('' for none).\n"
    "The output format is the chain's f-, else OUT's extension (.jpg .jpeg .png .webp .avif\n"
    ".gif), else what f-auto picks for --accept.\n"
    "\n"
    "  --accept TYPES         the Accept header f-auto sees (\"image/avif,image/webp\")\n"
    "  --avif                 let f-auto pick AVIF (blobhttpd's avif_auto setting)\n"
    "  --dpr N, --width N     client hints for dpr-auto and w-auto\n"
    "  --json                 print the result (format, size, bytes) as JSON\n"
    "  --info                 print what IN is (type, size, frames) and stop\n"
    "  --threads N            libvips threads (default 1)\n"
    "  --max-input-bytes N    limits (defaults as ImageKit: 41943040 bytes,\n"
    "  --max-input-pixels N     100000000 pixels in and out, 16383 px a side,\n"
    "  --max-output-pixels N    300 frames)\n"
    "  --max-output-dim N\n"
    "  --max-frames N\n"
    "  --max-direct-pixels N  decode a JPEG whole with libjpeg when shrink-on-load leaves at\n"
    "                         most N pixels (default 4000000; 0: always libvips's loader)\n"
    "  --max-mem-mb N         memory the transform may hold, in MiB (default 512, as\n"
    "                         blobhttpd; 0: no limit)\n"
    "  --timeout S            seconds the transform may take (default 30, as blobhttpd;\n"
    "                         0: no limit)\n"
    "  --root DIR             where layer images (l-image,i-PATH) are found (default: IN's\n"
    "                         folder)\n"
    "  --help                 this text\n"
    "  --version              print the version\n";

struct opts {
    const char *accept;
    bool avif, json, info;
    int threads;
    double dpr;
    int width;
    struct tr_limits lim;
    unsigned long long max_mem_mb;
    double timeout;   /* seconds */
    const char *root; /* layer images' folder; NULL: IN's */
};

/* A whole number in [min, max] from s, or -EINVAL. */
static int parse_u64(const char *s, unsigned long long min, unsigned long long max,
                     unsigned long long *out)
{
    char *end;

    errno = 0;
    *out = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || *out < min || *out > max)
        return -EINVAL;
    return 0;
}

static int parse_int(const char *s, int min, int max, int *out)
{
    unsigned long long v;
    int rc = parse_u64(s, (unsigned long long)min, (unsigned long long)max, &v);

    *out = rc ? 0 : (int)v;
    return rc;
}

/* One option that takes a number; returns 0 or -EINVAL. */
static int set_number(struct opts *o, int key, const char *arg)
{
    unsigned long long v = 0;
    char *end;

    switch (key) {
    case 'd':
        o->dpr = strtod(arg, &end);
        return *end || !(o->dpr > 0 && o->dpr <= 5) ? -EINVAL : 0;
    case 'w':
        return parse_int(arg, 1, 65535, &o->width);
    case 't':
        return parse_int(arg, 1, 64, &o->threads);
    case 'B':
        return parse_u64(arg, 1, SIZE_MAX / 2, &v) ? -EINVAL : (o->lim.max_input_bytes = v, 0);
    case 'I':
        return parse_u64(arg, 1, UINT64_MAX, &v) ? -EINVAL : (o->lim.max_input_pixels = v, 0);
    case 'O':
        return parse_u64(arg, 1, UINT64_MAX, &v) ? -EINVAL : (o->lim.max_output_pixels = v, 0);
    case 'D':
        return parse_int(arg, 1, 65535, &o->lim.max_output_dim);
    case 'F':
        return parse_int(arg, 1, 100000, &o->lim.max_frames);
    case 'P':
        return parse_u64(arg, 0, UINT64_MAX, &v) ? -EINVAL : (o->lim.max_direct_pixels = v, 0);
    case 'M':
        return parse_u64(arg, 0, SIZE_MAX >> 21, &o->max_mem_mb);
    case 'T':
        o->timeout = strtod(arg, &end);
        return *end || !(o->timeout >= 0 && o->timeout <= 86400) ? -EINVAL : 0;
    }
    return -EINVAL;
}

/* Options into o; returns the index of the first operand, 0 when --help or --version answered,
 * or -1 after printing why not. */
static int parse_options(int argc, char **argv, struct opts *o)
{
    static const struct option longopts[] = {
        {"accept", required_argument, NULL, 'a'},
        {"avif", no_argument, NULL, 'A'},
        {"json", no_argument, NULL, 'j'},
        {"info", no_argument, NULL, 'i'},
        {"dpr", required_argument, NULL, 'd'},
        {"width", required_argument, NULL, 'w'},
        {"threads", required_argument, NULL, 't'},
        {"max-input-bytes", required_argument, NULL, 'B'},
        {"max-input-pixels", required_argument, NULL, 'I'},
        {"max-output-pixels", required_argument, NULL, 'O'},
        {"max-output-dim", required_argument, NULL, 'D'},
        {"max-frames", required_argument, NULL, 'F'},
        {"max-direct-pixels", required_argument, NULL, 'P'},
        {"max-mem-mb", required_argument, NULL, 'M'},
        {"timeout", required_argument, NULL, 'T'},
        {"root", required_argument, NULL, 'R'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    int key, at = 0;

    while ((key = getopt_long(argc, argv, "", longopts, &at)) != -1) {
        if (key == 'a' || key == 'R')
            *(key == 'a' ? &o->accept : &o->root) = optarg;
        else if (key == 'A' || key == 'j' || key == 'i')
            *(key == 'A' ? &o->avif : key == 'j' ? &o->json : &o->info) = true;
        else if (key == 'h' || key == 'V') {
            if (key == 'h')
                fputs(usage, stdout);
            else
                printf("blobkit-transform %s\n", BLOBKIT_VERSION);
            return 0;
        } else if (key == '?' || set_number(o, key, optarg)) {
            if (key != '?')
                fprintf(stderr, "blobkit-transform: bad value '%s' for --%s\n", optarg,
                        longopts[at].name);
            fputs(usage, stderr);
            return -1;
        }
    }
    if (argc - optind != (o->info ? 1 : 3)) {
        fputs(usage, stderr);
        return -1;
    }
    return optind;
}

/* Read path ("-": stdin) whole, up to cap + 1 bytes so that tr_apply() can refuse a source over
 * the limit. Returns 0 with *buf malloc'ed, or -errno. */
static int read_all(const char *path, size_t cap, char **buf, size_t *len)
{
    int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    size_t size = 1 << 16;
    ssize_t n = 1;
    int rc = 0;

    *len = 0;
    *buf = fd < 0 ? NULL : malloc(size);
    if (!*buf)
        return fd < 0 ? -errno : -ENOMEM;
    while (*len <= cap && n > 0) {
        if (*len == size) {
            char *p = size > cap ? NULL : realloc(*buf, size *= 2);

            if (!p)
                break;
            *buf = p;
        }
        n = read(fd, *buf + *len, size - *len);
        rc = n < 0 ? -errno : 0;
        *len += n > 0 ? (size_t)n : 0;
    }
    if (fd != STDIN_FILENO)
        close(fd);
    return rc;
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

/* The format OUT's extension names, or TR_FMT_AUTO. */
static enum tr_format format_of_name(const char *path)
{
    static const struct {
        const char *ext;
        enum tr_format f;
    } exts[] = {{".jpg", TR_FMT_JPEG},  {".jpeg", TR_FMT_JPEG}, {".png", TR_FMT_PNG},
                {".webp", TR_FMT_WEBP}, {".avif", TR_FMT_AVIF}, {".gif", TR_FMT_GIF}};
    const char *dot = strrchr(path, '.');

    for (size_t i = 0; dot && i < sizeof(exts) / sizeof(exts[0]); i++)
        if (strcasecmp(dot, exts[i].ext) == 0)
            return exts[i].f;
    return TR_FMT_AUTO;
}

/* The chain's f- when a step gives one (f-auto included), else OUT's extension, else f-auto. */
static enum tr_format pick_format(const struct opts *o, const struct tr_chain *c, const void *src,
                                  size_t len, const char *out_path)
{
    struct tr_sniff sn;
    enum tr_format ext = format_of_name(out_path);
    bool given = false;

    for (unsigned i = 0; i < c->nsteps; i++)
        given = given || tr_step_has(&c->step[i], TR_F);
    tr_sniff(src, len, &sn);
    if (!given && ext != TR_FMT_AUTO)
        return ext;
    return tr_pick_format(c, &sn, o->accept, o->avif);
}

static void print_result(const struct opts *o, const struct tr_image *img, const char *out_path)
{
    FILE *f = strcmp(out_path, "-") == 0 ? stderr : stdout;

    if (!o->json)
        return;
    fprintf(f,
            "{\"format\":\"%s\",\"mime\":\"%s\",\"width\":%d,\"height\":%d,\"bytes\":%zu,"
            "\"load_shrink\":%d,\"load_direct\":%s}\n",
            tr_format_name(img->format), tr_format_mime(img->format), img->width, img->height,
            img->len, img->load_shrink, img->load_direct ? "true" : "false");
}

/* The deadline, timeout seconds from now (0: none). */
static uint64_t deadline_in(double timeout)
{
    if (timeout <= 0)
        return 0;
    return clock_now_ns() + (uint64_t)(timeout * 1e9);
}

/* The layers' files: decoded images, and font files' paths. */
struct layer_files {
    struct tr_source *src[TR_MAX_LAYERS];
    const char *font[TR_MAX_LAYERS];
    char font_path[TR_MAX_LAYERS][4096 + TR_MAX_PATH];
};

/* One tr_apply() of chain on src with the layers' sources, into out_path. */
static int run(const struct opts *o, const struct tr_chain *chain, const char *src, size_t len,
               const struct layer_files *lf, const char *out_path)
{
    struct tr_request rq = {.chain = chain,
                            .src = src,
                            .len = len,
                            .format = pick_format(o, chain, src, len, out_path),
                            .limits = &o->lim,
                            .hint_dpr = o->dpr,
                            .hint_width = o->width,
                            .max_mem = (size_t)o->max_mem_mb << 20,
                            .deadline_ns = deadline_in(o->timeout),
                            .layer_src = (const struct tr_source *const *)lf->src,
                            .layer_font = lf->font};
    struct tr_image img;
    char err[TR_ERR_LEN];
    int rc;

    if (tr_chain_wants_original(chain))
        return write_all(out_path, src, len);
    rc = tr_apply(&rq, &img, err);
    if (rc) {
        fprintf(stderr, "blobkit-transform: %s\n", err);
        return rc;
    }
    rc = write_all(out_path, img.data, img.len);
    if (rc)
        fprintf(stderr, "blobkit-transform: cannot write %s: %s\n", out_path, strerror(-rc));
    else
        print_result(o, &img, out_path);
    tr_image_release(&img);
    return rc;
}

/* Layer l's image, from root/PATH, decoded. Returns 0, or -errno after saying why. */
static int load_layer(const struct opts *o, const struct tr_chain *c, const struct tr_layer *l,
                      const char *root, struct tr_source **out)
{
    char path[4096 + TR_MAX_PATH], err[TR_ERR_LEN], *buf;
    size_t len;
    int rc;

    snprintf(path, sizeof(path), "%.4095s/%.*s", root, (int)l->in_len % TR_MAX_PATH,
             c->strings + l->in_off);
    rc = read_all(path, o->lim.max_input_bytes, &buf, &len);
    if (rc) {
        fprintf(stderr, "blobkit-transform: layer %s: %s\n", path, strerror(-rc));
        return rc;
    }
    rc = tr_source_new(buf, len, &o->lim, out, err);
    free(buf);
    if (rc)
        fprintf(stderr, "blobkit-transform: layer %s: %s\n", path, err);
    return rc;
}

/* Every image layer's source; root: --root, else in_path's folder. */
static int load_layers(const struct opts *o, const struct tr_chain *c, const char *in_path,
                       struct layer_files *lf)
{
    char dir[4096];
    const char *slash = strrchr(in_path, '/');
    int rc = 0;

    if (o->root)
        snprintf(dir, sizeof(dir), "%s", o->root);
    else
        snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - in_path) : 1,
                 slash ? in_path : ".");
    for (unsigned i = 0; i < c->nlayers && !rc; i++) {
        const struct tr_layer *l = &c->layer[i];

        if (l->type == TR_LAYER_IMAGE && !l->canvas)
            rc = load_layer(o, c, l, dir[0] ? dir : "/", &lf->src[i]);
        if (!rc && l->font_len) { /* fontconfig reads it by its path */
            snprintf(lf->font_path[i], sizeof(lf->font_path[i]), "%.4095s/%.*s", dir,
                     (int)l->font_len % TR_MAX_PATH, c->strings + l->font_off);
            lf->font[i] = lf->font_path[i];
            if (access(lf->font[i], R_OK) && (rc = -errno))
                fprintf(stderr, "blobkit-transform: font %s: %s\n", lf->font[i], strerror(-rc));
        }
    }
    return rc;
}

static int transform(const struct opts *o, const struct tr_chain *chain, const char *src,
                     size_t len, const char *in_path, const char *out_path)
{
    static struct layer_files lf; /* 36 KB of paths: not on the stack */
    int rc = load_layers(o, chain, in_path, &lf);

    if (!rc)
        rc = run(o, chain, src, len, &lf, out_path);
    for (unsigned i = 0; i < TR_MAX_LAYERS; i++)
        tr_source_free(lf.src[i]);
    return rc;
}

static int info(const struct opts *o, const char *src, size_t len)
{
    static const char *const types[] = {"unknown", "jpeg", "png",  "gif", "webp",
                                        "avif",    "heif", "tiff", "svg", "pdf"};
    struct tr_info in;
    char err[TR_ERR_LEN];
    int rc = tr_probe(src, len, &o->lim, &in, err);

    if (rc) {
        fprintf(stderr, "blobkit-transform: %s\n", err);
        return rc;
    }
    printf(o->json ? "{\"type\":\"%s\",\"width\":%d,\"height\":%d,\"frames\":%d,"
                     "\"alpha\":%s,\"animated\":%s,\"orientation\":%d}\n"
                   : "%s %dx%d frames=%d alpha=%s animated=%s orientation=%d\n",
           types[in.sniff.type], in.width, in.height, in.frames, in.sniff.alpha ? "true" : "false",
           in.sniff.animated ? "true" : "false", in.orientation);
    return 0;
}

/* The transformation text into c: a bad one is reported before any file is read. */
static int parse(const char *text, struct tr_chain *c)
{
    char err[TR_ERR_LEN];

    tr_chain_init(c);
    if (tr_parse(c, text, strlen(text), NULL, err) == 0)
        return 0;
    fprintf(stderr, "blobkit-transform: %s\n", err);
    return -EINVAL;
}

int main(int argc, char **argv)
{
    struct opts o = {.threads = 1, .lim = TR_LIMITS_DEFAULT, .max_mem_mb = 512, .timeout = 30};
    struct tr_chain chain;
    const char *in_path;
    char *src;
    size_t len;
    int first = parse_options(argc, argv, &o), rc;

    if (first <= 0)
        return first < 0 ? 2 : 0;
    if (!o.info && parse(argv[first], &chain))
        return 1;
    in_path = argv[first + (o.info ? 0 : 1)];
    rc = read_all(in_path, o.lim.max_input_bytes, &src, &len);
    if (rc) {
        fprintf(stderr, "blobkit-transform: cannot read %s: %s\n", in_path, strerror(-rc));
        return 1;
    }
    if (tr_init(argv[0], o.threads)) {
        fprintf(stderr, "blobkit-transform: cannot start libvips\n");
        free(src);
        return 1;
    }
    rc = o.info ? info(&o, src, len) : transform(&o, &chain, src, len, in_path, argv[first + 2]);
    tr_shutdown();
    free(src);
    return rc ? 1 : 0;
}
