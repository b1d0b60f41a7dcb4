/* tests/vid_mkclip.c: a test clip on the command line (tests/vid_clip.h), for the integration
 * tests.
 *
 *   vid_mkclip OUT [format=mp4] [v=libx264|none] [a=aac|libopus|none] [size=320x240] [fps=25]
 *              [frames=50] [rotate=0|90|180|270] [gop=N] [vfr] [alpha] [faststart]
 *              [late_audio]
 *
 * Or, to read a frame back (of a video, or an image such as a thumbnail):
 *
 *   vid_mkclip --frame FILE [SECONDS [X,Y ...]]
 *
 * prints the index the frame shows, whether it is upright, its size and the colour at each
 * X,Y: "12 upright 320x240 230,20,20". The index is -1 when it cannot be read.
 *
 *   vid_mkclip --mad FILE1 FILE2    the mean absolute difference of two images of one size */
#include "vid_clip.h"

#include <libavutil/log.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int number(const char *s, int *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 0 || v > 100000)
        return -1;
    *out = (int)v;
    return 0;
}

static int size(const char *s, int *w, int *h)
{
    char buf[32];
    char *x;

    if (strlen(s) >= sizeof(buf))
        return -1;
    memcpy(buf, s, strlen(s) + 1);
    x = strchr(buf, 'x');
    if (!x)
        return -1;
    *x = '\0';
    return number(buf, w) || number(x + 1, h) ? -1 : 0;
}

static const char *codec(const char *v)
{
    return strcmp(v, "none") == 0 ? NULL : v;
}

static int arg(const char *a, struct clip_spec *s)
{
    const char *eq = strchr(a, '=');
    const char *v = eq ? eq + 1 : "";
    size_t k = eq ? (size_t)(eq - a) : strlen(a);

    if (k == 6 && strncmp(a, "format", k) == 0)
        s->format = v;
    else if (k == 1 && a[0] == 'v')
        s->vcodec = codec(v);
    else if (k == 1 && a[0] == 'a')
        s->acodec = codec(v);
    else if (k == 4 && strncmp(a, "size", k) == 0)
        return size(v, &s->width, &s->height);
    else if (k == 3 && strncmp(a, "fps", k) == 0)
        return number(v, &s->fps);
    else if (k == 6 && strncmp(a, "frames", k) == 0)
        return number(v, &s->frames);
    else if (k == 6 && strncmp(a, "rotate", k) == 0)
        return number(v, &s->rotation);
    else if (k == 3 && strncmp(a, "gop", k) == 0)
        return number(v, &s->gop);
    else if (strcmp(a, "vfr") == 0)
        s->vfr = true;
    else if (strcmp(a, "alpha") == 0)
        s->alpha = true;
    else if (strcmp(a, "faststart") == 0)
        s->faststart = true;
    else if (strcmp(a, "late_audio") == 0)
        s->late_audio = true;
    else
        return -1;
    return 0;
}

/* " R,G,B" of the pixel "X,Y" names. */
static int print_pixel(const char *xy, const uint8_t *rgb, int w, int h)
{
    int x, y;
    char tail;

    if (sscanf(xy, "%d,%d%c", &x, &y, &tail) != 2 || x < 0 || y < 0 || x >= w || y >= h)
        return -1;
    rgb += ((size_t)y * (size_t)w + (size_t)x) * 3;
    printf(" %d,%d,%d", rgb[0], rgb[1], rgb[2]);
    return 0;
}

static int read_frame(int argc, char **argv)
{
    char err[256], *end = NULL;
    double t = argc > 3 ? strtod(argv[3], &end) : 0;
    uint8_t *rgb;
    int w, h, rc = 0;

    if ((end && *end) || clip_read_frame(argv[2], t, &rgb, &w, &h, err, sizeof(err))) {
        fprintf(stderr, "vid_mkclip: %s\n", end && *end ? "bad time" : err);
        return 1;
    }
    printf("%d %s %dx%d", clip_index_of(rgb, w, h, (size_t)w * 3),
           clip_is_upright(rgb, w, h, (size_t)w * 3) ? "upright" : "turned", w, h);
    for (int i = 4; i < argc && !rc; i++)
        rc = print_pixel(argv[i], rgb, w, h);
    printf("\n");
    free(rgb);
    return rc ? 2 : 0;
}

static int mean_difference(const char *a, const char *b)
{
    uint8_t *p = NULL, *q = NULL;
    int w, h, w2, h2, rc;
    char err[256];
    double sum = 0;

    rc = clip_read_frame(a, 0, &p, &w, &h, err, sizeof(err)) ||
         clip_read_frame(b, 0, &q, &w2, &h2, err, sizeof(err)) || w != w2 || h != h2;
    for (size_t i = 0; !rc && i < (size_t)w * (size_t)h * 3; i++)
        sum += abs(p[i] - q[i]);
    if (!rc)
        printf("%.3f\n", sum / ((double)w * h * 3));
    else
        fprintf(stderr, "vid_mkclip: cannot compare %s and %s\n", a, b);
    free(p);
    free(q);
    return rc;
}

int main(int argc, char **argv)
{
    struct clip_spec s = {.format = "mp4",
                          .vcodec = "libx264",
                          .acodec = "aac",
                          .width = 320,
                          .height = 240,
                          .fps = 25,
                          .frames = 50};
    char err[256];

    av_log_set_level(AV_LOG_ERROR);
    setenv("SVT_LOG", "1", 0); /* SVT-AV1's banner: errors only */
    if (argc >= 3 && strcmp(argv[1], "--frame") == 0)
        return read_frame(argc, argv);
    if (argc == 4 && strcmp(argv[1], "--mad") == 0)
        return mean_difference(argv[2], argv[3]);
    if (argc < 2) {
        fprintf(stderr, "usage: vid_mkclip OUT [key=value ...]\n");
        return 2;
    }
    for (int i = 2; i < argc; i++)
        if (arg(argv[i], &s)) {
            fprintf(stderr, "vid_mkclip: bad argument '%s'\n", argv[i]);
            return 2;
        }
    if (clip_make(&s, argv[1], err, sizeof(err))) {
        fprintf(stderr, "vid_mkclip: %s\n", err);
        return 1;
    }
    return 0;
}
