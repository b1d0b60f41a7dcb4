/* transform/tr_format.c: what a source is (from its first bytes) and which format to serve.
 * Pure: no libvips, no allocation. Every reader checks its bounds against len first. */
#include "tr.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static bool starts(const uint8_t *p, size_t len, const char *magic, size_t n)
{
    return len >= n && memcmp(p, magic, n) == 0;
}

/* Whether needle occurs in p[0..len). */
static bool contains(const uint8_t *p, size_t len, const char *needle)
{
    return memmem(p, len, needle, strlen(needle)) != NULL;
}

/* PNG: colour type 4 or 6 has alpha, and so does a tRNS chunk before the first IDAT. An APNG
 * (acTL) counts as one frame: libvips 8.14 decodes only its default image. */
static void sniff_png(const uint8_t *p, size_t len, struct tr_sniff *out)
{
    size_t off = 8;

    out->type = TR_SRC_PNG;
    if (len >= 26 && (p[25] == 4 || p[25] == 6))
        out->alpha = true;
    while (off + 8 <= len) {
        uint32_t n = be32(p + off);

        if (memcmp(p + off + 4, "tRNS", 4) == 0)
            out->alpha = true;
        if (memcmp(p + off + 4, "IDAT", 4) == 0 || n > len)
            break;
        off += 12 + (size_t)n;
    }
}

/* Skip GIF data sub-blocks starting at *off; false when they run past len. */
static bool gif_skip_blocks(const uint8_t *p, size_t len, size_t *off)
{
    while (*off < len) {
        uint8_t n = p[*off];

        *off += 1 + (size_t)n;
        if (n == 0)
            return true;
    }
    return false;
}

/* GIF: walk the blocks in the prefix. A transparent colour in a graphic control extension
 * means alpha; a NETSCAPE2.0 loop extension or a second image means animation. */
static void sniff_gif(const uint8_t *p, size_t len, struct tr_sniff *out)
{
    size_t off = 13;
    int images = 0;

    out->type = TR_SRC_GIF;
    if (len >= 13 && (p[10] & 0x80))
        off += 3u << ((p[10] & 7) + 1);
    while (off + 2 < len && p[off] != 0x3b) {
        if (p[off] == 0x21) {
            if (p[off + 1] == 0xf9 && off + 3 < len && (p[off + 3] & 1))
                out->alpha = true;
            if (p[off + 1] == 0xff && len - off >= 14 &&
                memcmp(p + off + 3, "NETSCAPE2.0", 11) == 0)
                out->animated = true;
            off += 2;
        } else if (p[off] == 0x2c && off + 10 <= len) {
            if (++images > 1)
                out->animated = true;
            off += 10 + ((p[off + 9] & 0x80) ? 3u << ((p[off + 9] & 7) + 1) : 0) + 1;
        } else {
            break;
        }
        if (!gif_skip_blocks(p, len, &off))
            break;
    }
}

/* WebP: VP8X carries alpha and animation flags; VP8L has an alpha hint bit; VP8 has no alpha. */
static void sniff_webp(const uint8_t *p, size_t len, struct tr_sniff *out)
{
    out->type = TR_SRC_WEBP;
    if (len < 21)
        return;
    if (memcmp(p + 12, "VP8X", 4) == 0) {
        out->alpha = (p[20] & 0x10) != 0;
        out->animated = (p[20] & 0x02) != 0;
    } else if (memcmp(p + 12, "VP8L", 4) == 0 && len >= 25) {
        out->alpha = (le32(p + 21) >> 28 & 1) != 0;
    }
}

/* ISO BMFF (HEIF family): the ftyp box's major and compatible brands say AVIF or HEIF; an
 * alpha auxiliary image is announced by its URN in the meta box. */
static void sniff_bmff(const uint8_t *p, size_t len, struct tr_sniff *out)
{
    uint32_t box = be32(p);
    size_t end = box < len ? box : len;
    bool avif = false;

    for (size_t off = 8; off + 4 <= end; off += 4)
        if (off != 12 && (memcmp(p + off, "avif", 4) == 0 || memcmp(p + off, "avis", 4) == 0))
            avif = true;
    out->type = avif ? TR_SRC_AVIF : TR_SRC_HEIF;
    out->alpha = contains(p, len, "auxiliary:alpha") || contains(p, len, "auxid:1");
}

static bool is_heif_brand(const uint8_t *b)
{
    static const char *const brands[] = {"avif", "avis", "heic", "heix", "heim",
                                         "heis", "hevc", "hevx", "mif1", "msf1"};

    for (size_t i = 0; i < sizeof(brands) / sizeof(brands[0]); i++)
        if (memcmp(b, brands[i], 4) == 0)
            return true;
    return false;
}

/* SVG: text (after an optional BOM and blanks) that starts with '<' and names an svg element. */
static bool is_svg(const uint8_t *p, size_t len)
{
    size_t off = starts(p, len, "\xef\xbb\xbf", 3) ? 3 : 0;

    while (off < len && (p[off] == ' ' || p[off] == '\t' || p[off] == '\r' || p[off] == '\n'))
        off++;
    return off < len && p[off] == '<' && contains(p + off, len - off, "<svg");
}

void tr_sniff(const void *data, size_t len, struct tr_sniff *out)
{
    const uint8_t *p = data;

    *out = (struct tr_sniff){TR_SRC_UNKNOWN, false, false};
    if (starts(p, len, "\xff\xd8\xff", 3))
        out->type = TR_SRC_JPEG;
    else if (starts(p, len, "\x89PNG\r\n\x1a\n", 8))
        sniff_png(p, len, out);
    else if (starts(p, len, "GIF87a", 6) || starts(p, len, "GIF89a", 6))
        sniff_gif(p, len, out);
    else if (len >= 16 && starts(p, len, "RIFF", 4) && memcmp(p + 8, "WEBP", 4) == 0)
        sniff_webp(p, len, out);
    else if (len >= 12 && memcmp(p + 4, "ftyp", 4) == 0 && is_heif_brand(p + 8))
        sniff_bmff(p, len, out);
    else if (starts(p, len, "II*\0", 4) || starts(p, len, "MM\0*", 4))
        *out = (struct tr_sniff){TR_SRC_TIFF, true, false}; /* ExtraSamples may be anywhere */
    else if (starts(p, len, "%PDF-", 5))
        out->type = TR_SRC_PDF;
    else if (is_svg(p, len))
        *out = (struct tr_sniff){TR_SRC_SVG, true, false};
}

bool tr_sniff_is_image(const struct tr_sniff *s)
{
    switch (s->type) {
    case TR_SRC_JPEG:
    case TR_SRC_PNG:
    case TR_SRC_GIF:
    case TR_SRC_WEBP:
    case TR_SRC_AVIF:
    case TR_SRC_HEIF:
    case TR_SRC_TIFF:
        return true;
    default: /* SVG and PDF need libvips loaders we keep blocked (untrusted) */
        return false;
    }
}

/* Whether the Accept header names type (e.g. "image/webp") with a non-zero q. Wildcards
 * ("image/​*", "*​/​*") do not count: browsers that cannot show WebP send them too. */
static bool accepts(const char *accept, const char *type)
{
    size_t tlen = strlen(type);

    for (const char *p = accept; p && *p;) {
        p += strspn(p, " \t,");
        if (strncasecmp(p, type, tlen) == 0 && strchr(" \t;,", p[tlen] ? p[tlen] : ',')) {
            const char *end = p + strcspn(p, ",");
            const char *q = strstr(p, "q=");

            return !(q && q < end && strtod(q + 2, NULL) <= 0.0);
        }
        p += strcspn(p, ",");
    }
    return false;
}

/* The format a source is served in when the client's Accept names nothing better: its own,
 * when browsers show it everywhere; else PNG when it may have alpha, GIF when it is animated,
 * JPEG otherwise. */
static enum tr_format family(const struct tr_sniff *src)
{
    switch (src->type) {
    case TR_SRC_JPEG:
        return TR_FMT_JPEG;
    case TR_SRC_PNG:
        return TR_FMT_PNG;
    case TR_SRC_GIF:
        return TR_FMT_GIF;
    default:
        if (src->animated)
            return TR_FMT_GIF;
        return src->alpha ? TR_FMT_PNG : TR_FMT_JPEG;
    }
}

/* f-orig: the source's own format where we can encode it, its family otherwise. */
static enum tr_format original(const struct tr_sniff *src)
{
    switch (src->type) {
    case TR_SRC_WEBP:
        return TR_FMT_WEBP;
    case TR_SRC_AVIF:
        return TR_FMT_AVIF;
    default:
        return family(src);
    }
}

enum tr_format tr_pick_format(const struct tr_chain *c, const struct tr_sniff *src,
                              const char *accept, bool avif_auto)
{
    struct tr_output o;

    tr_chain_output(c, &o);
    if (o.format == TR_FMT_ORIG)
        return original(src);
    if (o.format != TR_FMT_AUTO)
        return o.format;
    if (avif_auto && !src->animated && accepts(accept, "image/avif"))
        return TR_FMT_AVIF;
    if (accepts(accept, "image/webp"))
        return TR_FMT_WEBP;
    return family(src);
}
