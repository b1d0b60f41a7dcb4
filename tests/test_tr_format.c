/* Unit tests for transform/tr_format.c: sniffing real file headers (tests/data/sniff-*, made by
 * tests/data/make-sniff-fixtures.sh with libvips's own encoders) and f-auto's choice. Every
 * prefix of every file is sniffed at the edge of an unreadable page, so an over-read faults. */
#include "tr.h"

#include "check.h"

#include <fcntl.h>

struct fixture {
    const char *file;
    enum tr_source_type type;
    bool alpha, animated, image;
};

static const struct fixture fixtures[] = {
    {"sniff-rgb.jpg", TR_SRC_JPEG, false, false, true},
    {"sniff-rgb.png", TR_SRC_PNG, false, false, true},
    {"sniff-rgba.png", TR_SRC_PNG, true, false, true},
    {"sniff-palette-trns.png", TR_SRC_PNG, true, false, true},
    {"sniff-anim.gif", TR_SRC_GIF, true, true, true}, /* cgif marks unchanged pixels clear */
    /* libvips writes a loop extension even for one frame: "may be animated", so f-auto never
     * picks AVIF for it, which could drop frames it has not seen */
    {"sniff-still.gif", TR_SRC_GIF, true, true, true},
    {"sniff-lossy.webp", TR_SRC_WEBP, false, false, true},
    {"sniff-lossy-alpha.webp", TR_SRC_WEBP, true, false, true},
    {"sniff-lossless-alpha.webp", TR_SRC_WEBP, true, false, true},
    {"sniff-anim.webp", TR_SRC_WEBP, false, true, true},
    {"sniff-rgb.avif", TR_SRC_AVIF, false, false, true},
    {"sniff-rgba.avif", TR_SRC_AVIF, true, false, true},
    {"sniff-rgb.heic", TR_SRC_HEIF, false, false, true},
    {"sniff-rgb.tif", TR_SRC_TIFF, true, false, true}, /* TIFF alpha is not in its first bytes */
    {"sniff.svg", TR_SRC_SVG, true, false, false},
    {"sniff.pdf", TR_SRC_PDF, false, false, false},
    {"sniff.txt", TR_SRC_UNKNOWN, false, false, false},
};

/* The classic smallest GIF: GIF89a, 1x1, no loop extension, one image. */
static const char still_gif[] = "GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00"
                                "\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00\x3b";

static size_t read_fixture(const char *name, char *buf, size_t cap)
{
    char path[256];
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "tests/data/%s", name); /* tests/run.sh runs from the top */
    fd = open(path, O_RDONLY);
    if (fd < 0) {
        printf("# cannot open %s\n", path);
        return 0;
    }
    n = read(fd, buf, cap);
    close(fd);
    return n > 0 ? (size_t)n : 0;
}

static void test_fixture(const struct fixture *f)
{
    static char buf[8192];
    size_t len = read_fixture(f->file, buf, sizeof(buf));
    struct tr_sniff s;
    bool stable = true;

    for (size_t n = 0; n <= len; n++) {
        tr_sniff(check_guard(buf, n), n, &s);
        stable = stable && (n < 16 || s.type == f->type || f->type == TR_SRC_SVG);
    }
    tr_sniff(check_guard(buf, len), len, &s);
    ok(len > 0 && s.type == f->type && s.alpha == f->alpha && s.animated == f->animated,
       "%s: type %d alpha %d animated %d (got %d %d %d)", f->file, f->type, f->alpha, f->animated,
       s.type, s.alpha, s.animated);
    ok(tr_sniff_is_image(&s) == f->image, "%s: %s by tr_apply", f->file,
       f->image ? "decoded" : "not decoded");
    ok(stable, "%s: every prefix from 16 bytes sniffs as the same type", f->file);
}

/* tr_pick_format for text (a transformation) on a source, given Accept and avif_auto. */
static enum tr_format pick(const char *text, enum tr_source_type t, bool alpha, bool animated,
                           const char *accept, bool avif_auto)
{
    struct tr_chain c;
    struct tr_sniff s = {t, alpha, animated};
    char err[TR_ERR_LEN];

    tr_chain_init(&c);
    if (tr_parse(&c, text, strlen(text), NULL, err)) {
        printf("# cannot parse %s: %s\n", text, err);
        return TR_FMT_AUTO;
    }
    return tr_pick_format(&c, &s, accept, avif_auto);
}

static void test_pick(void)
{
    const char *chrome = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8";
    const char *old_safari = "image/png,image/svg+xml,image/*;q=0.8,video/*;q=0.8,*/*;q=0.5";

    ok(pick("f-webp", TR_SRC_JPEG, false, false, NULL, false) == TR_FMT_WEBP, "f-webp wins");
    ok(pick("f-png:w-10", TR_SRC_JPEG, false, false, chrome, true) == TR_FMT_PNG,
       "an explicit f- in any step wins over Accept");
    ok(pick("w-10", TR_SRC_JPEG, false, false, chrome, true) == TR_FMT_AVIF,
       "f-auto: AVIF when configured and accepted");
    ok(pick("w-10", TR_SRC_JPEG, false, false, chrome, false) == TR_FMT_WEBP,
       "f-auto: WebP when AVIF is not configured");
    ok(pick("w-10,f-auto", TR_SRC_PNG, true, false, "image/avif", false) == TR_FMT_PNG,
       "f-auto: PNG with alpha stays PNG without WebP");
    ok(pick("", TR_SRC_JPEG, false, false, old_safari, true) == TR_FMT_JPEG,
       "wildcards do not count as WebP support");
    ok(pick("", TR_SRC_JPEG, false, false, NULL, true) == TR_FMT_JPEG, "no Accept: the family");
    ok(pick("", TR_SRC_JPEG, false, false, "text/html, IMAGE/WEBP ; q=0.5", false) == TR_FMT_WEBP,
       "media types are case-insensitive, with blanks and parameters");
    ok(pick("", TR_SRC_JPEG, false, false, "image/webp;q=0, image/avif;q=0.0", true) == TR_FMT_JPEG,
       "q=0 refuses a type");
    ok(pick("", TR_SRC_JPEG, false, false, "image/webpx,image/avif2", true) == TR_FMT_JPEG,
       "a longer type name is another type");
    ok(pick("", TR_SRC_GIF, true, true, chrome, true) == TR_FMT_WEBP,
       "animated: never AVIF (one frame), WebP keeps the frames");
    ok(pick("", TR_SRC_GIF, true, true, NULL, true) == TR_FMT_GIF, "animated GIF, no WebP: GIF");
    ok(pick("", TR_SRC_WEBP, false, true, NULL, false) == TR_FMT_GIF,
       "animated WebP, no WebP support: GIF");
    ok(pick("", TR_SRC_WEBP, true, false, NULL, false) == TR_FMT_PNG,
       "WebP with alpha, no WebP support: PNG");
    ok(pick("", TR_SRC_WEBP, false, false, NULL, false) == TR_FMT_JPEG,
       "opaque WebP, no WebP support: JPEG");
    ok(pick("", TR_SRC_AVIF, true, false, "image/avif", false) == TR_FMT_PNG,
       "AVIF source, AVIF not configured: PNG for its alpha");
    ok(pick("f-orig", TR_SRC_WEBP, false, false, NULL, false) == TR_FMT_WEBP, "f-orig keeps WebP");
    ok(pick("f-orig", TR_SRC_AVIF, false, false, NULL, false) == TR_FMT_AVIF, "f-orig keeps AVIF");
    ok(pick("f-orig", TR_SRC_TIFF, true, false, NULL, false) == TR_FMT_PNG,
       "f-orig of a TIFF is PNG (no TIFF output)");
    ok(pick("f-orig", TR_SRC_HEIF, false, false, NULL, false) == TR_FMT_JPEG,
       "f-orig of an opaque HEIC is JPEG (no HEVC output)");
}

int main(void)
{
    struct tr_sniff s;

    for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++)
        test_fixture(&fixtures[i]);
    tr_sniff(check_guard(still_gif, sizeof(still_gif) - 1), sizeof(still_gif) - 1, &s);
    ok(s.type == TR_SRC_GIF && !s.animated, "a GIF of one image without a loop is still");
    tr_sniff(check_guard("\xff\xd8", 2), 2, &s);
    ok(s.type == TR_SRC_UNKNOWN, "two bytes of JPEG are not a JPEG");
    tr_sniff(check_guard("  \n<svg>", 8), 8, &s);
    ok(s.type == TR_SRC_SVG, "SVG after blanks");
    tr_sniff(check_guard("RIFF\0\0\0\0WAVEfmt ", 16), 16, &s);
    ok(s.type == TR_SRC_UNKNOWN, "a RIFF that is not WebP");
    test_pick();
    return check_done();
}
