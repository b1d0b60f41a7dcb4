/* httpd/vidurl.h: the URL forms of video (docs/video.md, "URLs"), pure: no I/O, no allocation.
 *
 *   FILE/ik-thumbnail.jpg            one frame, then an image chain
 *   FILE/ik-video.mp4                FILE is a video whatever its name; may be followed by the
 *                                    other suffixes (FILE/ik-video.mp4/ik-thumbnail.jpg)
 *   GIF/ik-gif-video.mp4             an animated GIF as an MP4
 *   FILE/ik-master.m3u8, .mpd        HLS / DASH master manifests (with sr-)
 *   FILE/ik-hls/CHAIN[/ik-sig-T-S]/NAME, FILE/ik-dash/...
 *                                    a file of a package: its media playlists and segments.
 *                                    The masters reference them relatively, so they sit under
 *                                    the video's own URL; CHAIN is the package's canonical
 *                                    chain (sr-240_360), so each URL says what it is part of;
 *                                    ik-sig signs the package's prefix for signed endpoints.
 *
 * A package's prefix is signed as ImageKit's SDKs sign URLs (httpd/sign.h), over the raw
 * target after "ENDPOINT/" up to and including "ik-hls/CHAIN/", plus the expiry T:
 *     S = hex(HMAC-SHA1(key, "video/clip.mp4/ik-hls/sr-240_360/" + T)). */
#ifndef HTTPD_VIDURL_H
#define HTTPD_VIDURL_H

#include "str.h"

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define VIDURL_NAME_MAX 64     /* bytes of a package file's name */
#define VIDURL_SIG_MAX 72      /* "ik-sig-<18 digits>-<40 hex>/" and a NUL */
#define VIDURL_PREFIX_MAX 2304 /* a rewritten manifest's reference prefix: CHAIN and ik-sig */

enum vidurl_kind {
    VIDURL_NONE,      /* no video suffix: the path is the file */
    VIDURL_VIDEO,     /* FILE/ik-video.mp4 */
    VIDURL_THUMB,     /* FILE/ik-thumbnail.jpg */
    VIDURL_GIF_VIDEO, /* GIF/ik-gif-video.mp4 */
    VIDURL_HLS,       /* FILE/ik-master.m3u8 */
    VIDURL_DASH,      /* FILE/ik-master.mpd */
    VIDURL_PACKAGE,   /* FILE/ik-hls/... or FILE/ik-dash/...: a file of a package */
};

struct vidurl {
    enum vidurl_kind kind;
    bool as_video;                  /* "ik-video.mp4" follows FILE */
    bool dash;                      /* VIDURL_PACKAGE: ik-dash (else ik-hls) */
    bool signed_pkg;                /* VIDURL_PACKAGE: an ik-sig segment is there */
    size_t file_len;                /* the source file is path[0..file_len) */
    struct str chain;               /* VIDURL_PACKAGE: the CHAIN segment, in path */
    char name[VIDURL_NAME_MAX + 1]; /* VIDURL_PACKAGE: the file's name, "ik-240p-00001.ts" */
};

/* Read the video suffix of a decoded, confined path ("video/clip.mp4/ik-thumbnail.jpg") into
 * out. Returns whether there is one; a path without one (or with one and nothing before it,
 * or a package path whose name is not "ik-" and [A-Za-z0-9._-]) is VIDURL_NONE with file_len
 * its whole length. Pure. */
bool vidurl_parse(const char *path, size_t len, struct vidurl *out);

/* The Content-Type of a package file by its name's extension: .m3u8, .ts, .mpd, .m4s; NULL
 * for another. (transfer none): static. */
const char *vidurl_package_type(const char *name);

/* The segment that signs a package's files, "ik-sig-T-S/", for the raw prefix[0..len) (what
 * the master's URL says after "ENDPOINT/", up to and including "ik-hls/CHAIN/") and expiry T
 * (digits; NULL: the SDKs' "never", 9999999999). Written to out. Returns 0 or -EINVAL. */
int vidurl_sign(const void *key, size_t keylen, const char *prefix, size_t len, const char *expiry,
                char out[VIDURL_SIG_MAX]);

/* Verify the ik-sig segment of rest[0..len) (a raw target after "ENDPOINT/") at time now, in
 * constant time. Returns 0; -ENOKEY when rest is not a package file with an ik-sig segment;
 * -EKEYREJECTED when the signature is malformed or wrong; -EKEYEXPIRED when it is past T. */
int vidurl_verify(const void *key, size_t keylen, const char *rest, size_t len, time_t now);

/* A master manifest with every reference made relative to the package: prefix (such as
 * "ik-hls/sr-240_360/") put before each URI line and URI="..." attribute of an HLS master, or
 * a <BaseURL>prefix</BaseURL> as the first child of a DASH manifest's Period (the manifests
 * are the packager's own, and their names are relative). in[0..len) into out (capacity cap).
 * Returns the length written, or -ENOSPC, or -EINVAL for a DASH manifest without a Period. */
int vidurl_rewrite_hls(const char *in, size_t len, const char *prefix, char *out, size_t cap);
int vidurl_rewrite_dash(const char *in, size_t len, const char *prefix, char *out, size_t cap);

#endif
