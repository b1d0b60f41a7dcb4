/* video/vid_sniff.c: what a file is, from its first bytes (pure; see vid.h). */
#include "vid.h"

#include <string.h>

/* ISO base media brands of still images (HEIF family): the image engine's, not ours. */
static bool brand_is_image(const unsigned char *b)
{
    static const char *const still[] = {"avif", "avis", "heic", "heix", "heim", "heis",
                                        "mif1", "msf1", "hevc", "hevx", "jpeg", "avci"};

    for (size_t i = 0; i < sizeof(still) / sizeof(still[0]); i++)
        if (memcmp(b, still[i], 4) == 0)
            return true;
    return false;
}

/* "ftyp" at 4: the major brand says QuickTime, an image, or ISO video (everything else that
 * has a well-formed box: 3gp, mp4, m4v, dash, iso* ...). */
static enum vid_container sniff_ftyp(const unsigned char *p, size_t len)
{
    unsigned size = (unsigned)p[0] << 24 | (unsigned)p[1] << 16 | (unsigned)p[2] << 8 | p[3];

    if (len < 12 || size < 16 || size > 4096 || size % 4)
        return VID_CT_UNKNOWN;
    if (memcmp(p + 8, "qt  ", 4) == 0)
        return VID_CT_MOV;
    return brand_is_image(p + 8) ? VID_CT_UNKNOWN : VID_CT_MP4;
}

/* Old QuickTime files have no ftyp: they begin with one of these atoms. */
static bool is_qt_atom(const unsigned char *p, size_t len)
{
    static const char *const atoms[] = {"moov", "mdat", "wide", "pnot", "skip", "free"};
    unsigned size;

    if (len < 8)
        return false;
    size = (unsigned)p[0] << 24 | (unsigned)p[1] << 16 | (unsigned)p[2] << 8 | p[3];
    if (size < 8 && size != 0 && size != 1)
        return false;
    for (size_t i = 0; i < sizeof(atoms) / sizeof(atoms[0]); i++)
        if (memcmp(p + 4, atoms[i], 4) == 0)
            return true;
    return false;
}

/* EBML header: the DocType element (ID 0x4282) names webm or matroska. */
static enum vid_container sniff_ebml(const unsigned char *p, size_t len)
{
    size_t end = len < 4096 ? len : 4096;

    for (size_t i = 4; i + 3 <= end; i++) {
        size_t n;

        if (p[i] != 0x42 || p[i + 1] != 0x82 || !(p[i + 2] & 0x80))
            continue;
        n = p[i + 2] & 0x7f;
        if (i + 3 + n > end)
            break;
        if (n >= 4 && memcmp(p + i + 3, "webm", 4) == 0)
            return VID_CT_WEBM;
        if (n >= 8 && memcmp(p + i + 3, "matroska", 8) == 0)
            return VID_CT_MATROSKA;
        break;
    }
    return VID_CT_UNKNOWN;
}

enum vid_container vid_sniff(const void *data, size_t len)
{
    const unsigned char *p = data;

    if (len >= 8 && memcmp(p + 4, "ftyp", 4) == 0)
        return sniff_ftyp(p, len);
    if (len >= 4 && memcmp(p, "\x1a\x45\xdf\xa3", 4) == 0)
        return sniff_ebml(p, len);
    if (len >= 6 && (memcmp(p, "GIF87a", 6) == 0 || memcmp(p, "GIF89a", 6) == 0))
        return VID_CT_GIF;
    if (len >= 5 && memcmp(p, "\x00\x00\x01\xba", 4) == 0 &&
        ((p[4] & 0xc0) == 0x40 || (p[4] & 0xf0) == 0x20)) /* MPEG-2, MPEG-1 pack header */
        return VID_CT_MPEG_PS;
    if (is_qt_atom(p, len))
        return VID_CT_MOV;
    return VID_CT_UNKNOWN;
}

bool vid_container_is_video(enum vid_container c)
{
    return c != VID_CT_UNKNOWN && c != VID_CT_GIF;
}

const char *vid_container_name(enum vid_container c)
{
    static const char *const names[] = {
        [VID_CT_UNKNOWN] = "unknown", [VID_CT_MP4] = "mp4",           [VID_CT_MOV] = "mov",
        [VID_CT_WEBM] = "webm",       [VID_CT_MATROSKA] = "matroska", [VID_CT_GIF] = "gif",
        [VID_CT_MPEG_PS] = "mpeg-ps",
    };

    return (unsigned)c < sizeof(names) / sizeof(names[0]) ? names[c] : "unknown";
}
