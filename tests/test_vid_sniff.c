/* Unit tests for video/vid_sniff.c: container headers as FFmpeg, phones and cameras write them,
 * the image formats that share ISO's ftyp box (tests/data/sniff-*.avif, .heic), and every prefix
 * of each at the edge of an unreadable page, so an over-read faults. */
#include "vid.h"

#include "check.h"

#include <fcntl.h>

struct header {
    const char *name;
    const char *bytes;
    size_t len;
    enum vid_container want;
};

#define H(name, lit, want)                                                                         \
    {                                                                                              \
        name, lit, sizeof(lit) - 1, want                                                           \
    }

static const struct header headers[] = {
    H("ffmpeg mp4 (isom)",
      "\0\0\0\x20"
      "ftypisom\0\0\x02\0isomiso2avc1mp41\0\0\0\x08"
      "free",
      VID_CT_MP4),
    H("mp42 camera",
      "\0\0\0\x18"
      "ftypmp42\0\0\0\0mp42isom",
      VID_CT_MP4),
    H("3gp phone",
      "\0\0\0\x18"
      "ftyp3gp4\0\0\0\0isom3gp4",
      VID_CT_MP4),
    H("iTunes m4v",
      "\0\0\0\x1c"
      "ftypM4V \0\0\0\x01M4V M4A mp42",
      VID_CT_MP4),
    H("DASH segment",
      "\0\0\0\x18"
      "ftypdash\0\0\0\0iso6mp41",
      VID_CT_MP4),
    H("iPhone mov",
      "\0\0\0\x14"
      "ftypqt  \0\0\0\0qt  ",
      VID_CT_MOV),
    H("old QuickTime, moov first", "\0\0\x10\0moov\0\0\0\x6cmvhd", VID_CT_MOV),
    H("old QuickTime, mdat first", "\0\0\0\x08mdat", VID_CT_MOV),
    H("old QuickTime, wide atom", "\0\0\0\x08wide\0\x10\0\0mdat", VID_CT_MOV),
    H("ffmpeg webm",
      "\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3"
      "\x81\x08\x42\x82\x84webm\x42\x87\x81\x04\x42\x85\x81\x02",
      VID_CT_WEBM),
    H("ffmpeg mkv",
      "\x1a\x45\xdf\xa3\xa3\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3"
      "\x81\x08\x42\x82\x88matroska\x42\x87\x81\x04\x42\x85\x81\x02",
      VID_CT_MATROSKA),
    H("EBML of another kind", "\x1a\x45\xdf\xa3\x8c\x42\x82\x84wxyz\x42\x87\x81\x01",
      VID_CT_UNKNOWN),
    H("EBML without a DocType", "\x1a\x45\xdf\xa3\x84\x42\x86\x81\x01", VID_CT_UNKNOWN),
    H("gif89a", "GIF89a\x01\0\x01\0\x80\0\0", VID_CT_GIF),
    H("gif87a", "GIF87a\x01\0\x01\0\x80\0\0", VID_CT_GIF),
    H("MPEG-2 program stream", "\0\0\x01\xba\x44\0\x04\0\x04\x01\x01\x89\xc3\xf8", VID_CT_MPEG_PS),
    H("MPEG-1 program stream", "\0\0\x01\xba\x21\0\x01\0\x01\x80\x1b\x91", VID_CT_MPEG_PS),
    H("AVIF still image",
      "\0\0\0\x1c"
      "ftypavif\0\0\0\0avifmif1miaf",
      VID_CT_UNKNOWN),
    H("HEIC photo",
      "\0\0\0\x18"
      "ftypheic\0\0\0\0mif1heic",
      VID_CT_UNKNOWN),
    H("HEIF mif1",
      "\0\0\0\x18"
      "ftypmif1\0\0\0\0mif1heic",
      VID_CT_UNKNOWN),
    H("ftyp box too small",
      "\0\0\0\x04"
      "ftypisom",
      VID_CT_UNKNOWN),
    H("ftyp box absurdly large",
      "\x7f\0\0\0"
      "ftypisom\0\0\0\0",
      VID_CT_UNKNOWN),
    H("JPEG", "\xff\xd8\xff\xe0\0\x10JFIF\0", VID_CT_UNKNOWN),
    H("PNG", "\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR", VID_CT_UNKNOWN),
    H("text", "hello, world, this is not a video\n", VID_CT_UNKNOWN),
    H("MPEG-TS (not read)", "\x47\x40\x00\x10\x00\x00\xb0\x0d", VID_CT_UNKNOWN),
};

/* A prefix of a real container may sniff as unknown, never as another container. */
static void test_header(const struct header *h)
{
    enum vid_container got = vid_sniff(check_guard(h->bytes, h->len), h->len);
    bool prefixes_ok = true;

    ok(got == h->want, "%s: %s (got %s)", h->name, vid_container_name(h->want),
       vid_container_name(got));
    for (size_t n = 0; n < h->len; n++) {
        enum vid_container p = vid_sniff(check_guard(h->bytes, n), n);

        prefixes_ok = prefixes_ok && (p == VID_CT_UNKNOWN || p == h->want);
    }
    ok(prefixes_ok, "%s: every prefix is unknown or the same, never read past its end", h->name);
}

/* The image engine's fixtures: ISO-based images are not video, a GIF is what gif2mp4 takes. */
static void test_image_file(const char *name, enum vid_container want)
{
    static char buf[8192];
    char path[256];
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "tests/data/%s", name);
    fd = open(path, O_RDONLY);
    n = fd < 0 ? -1 : read(fd, buf, sizeof(buf));
    if (fd >= 0)
        close(fd);
    ok(n > 0 && vid_sniff(check_guard(buf, (size_t)n), (size_t)n) == want, "%s sniffs as %s", name,
       vid_container_name(want));
}

int main(void)
{
    for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++)
        test_header(&headers[i]);
    test_image_file("sniff-rgb.avif", VID_CT_UNKNOWN);
    test_image_file("sniff-rgb.heic", VID_CT_UNKNOWN);
    test_image_file("sniff-anim.gif", VID_CT_GIF);
    test_image_file("sniff-rgb.jpg", VID_CT_UNKNOWN);
    ok(vid_sniff(check_guard("", 0), 0) == VID_CT_UNKNOWN, "zero bytes: unknown");
    ok(vid_container_is_video(VID_CT_MP4) && vid_container_is_video(VID_CT_WEBM) &&
           vid_container_is_video(VID_CT_MPEG_PS) && !vid_container_is_video(VID_CT_GIF) &&
           !vid_container_is_video(VID_CT_UNKNOWN),
       "GIF and unknown are not video; the containers are");
    ok_str(vid_container_name(VID_CT_MATROSKA), "matroska", "container names");
    ok_str(vid_container_name((enum vid_container)99), "unknown", "a bad value is unknown");
    return check_done();
}
