/* video/vid_params.c: defaults and the checks that need no source (pure; see vid.h). */
#include "vid.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>

__attribute__((format(printf, 2, 3))) static int invalid(char *err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, VID_ERR_LEN, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

void vid_params_init(struct vid_params *p)
{
    *p = (struct vid_params){.so = -1, .eo = -1, .du = -1};
}

/* WebM holds VP8/VP9/AV1 and Vorbis/Opus only; MP4 holds all of ours. */
static int check_codecs(const struct vid_params *p, char *err)
{
    if ((unsigned)p->format > VID_FMT_WEBM || (unsigned)p->vcodec > VID_VC_NONE ||
        (unsigned)p->acodec > VID_AC_NONE)
        return invalid(err, "f, vc or ac: unknown value");
    if (p->format == VID_FMT_WEBM && p->vcodec == VID_VC_H264)
        return invalid(err, "vc-h264 cannot go into WebM (f-webm): use vc-vp9 or vc-av1");
    if (p->format == VID_FMT_WEBM && p->acodec == VID_AC_AAC)
        return invalid(err, "ac-aac cannot go into WebM (f-webm): use ac-opus");
    if (p->vcodec == VID_VC_NONE && p->acodec == VID_AC_NONE)
        return invalid(err, "vc-none with ac-none leaves nothing to encode");
    return 0;
}

/* so, eo, du: finite, not negative when given, and a cut that ends after it starts. */
static int check_times(const struct vid_params *p, char *err)
{
    if (!isfinite(p->so) || !isfinite(p->eo) || !isfinite(p->du))
        return invalid(err, "so, eo, du: not a number of seconds");
    if (p->eo >= 0 && p->so >= 0 && p->eo <= p->so)
        return invalid(err, "eo (%.3f s) is not after so (%.3f s)", p->eo, p->so);
    if (p->du >= 0 && !(p->du > 0))
        return invalid(err, "du: a cut of 0 s is empty");
    return 0;
}

int vid_params_check(const struct vid_params *p, char err[VID_ERR_LEN])
{
    int rc = check_codecs(p, err);

    if (rc)
        return rc;
    if (!(p->w >= 0) || !(p->h >= 0) || !(p->ar >= 0) || !isfinite(p->w) || !isfinite(p->h) ||
        !isfinite(p->ar))
        return invalid(err, "w, h, ar: not a size");
    if (p->quality < 0 || p->quality > 100)
        return invalid(err, "q: %d is out of range 1-100", p->quality);
    if (p->rotate != 0 && p->rotate != 90 && p->rotate != 180 && p->rotate != 270)
        return invalid(err, "rt: %d is not a multiple of 90 in 0-270", p->rotate);
    if ((unsigned)p->crop > VID_CROP_AT_LEAST || (unsigned)p->crop_mode > VID_CM_PAD_EXTRACT ||
        (unsigned)p->focus > VID_FO_BOTTOM_RIGHT)
        return invalid(err, "c, cm or fo: unknown value");
    return check_times(p, err);
}

const char *vid_params_mime(const struct vid_params *p)
{
    if (p->vcodec == VID_VC_NONE)
        return p->format == VID_FMT_WEBM ? "audio/webm" : "audio/mp4";
    return p->format == VID_FMT_WEBM ? "video/webm" : "video/mp4";
}
