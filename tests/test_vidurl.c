/* Unit tests for httpd/vidurl.c (pure): video URL suffixes, package signatures against
 * OpenSSL's HMAC computed here, and the rewriting of HLS and DASH masters. Inputs sit at the
 * edge of an unreadable page (check_guard). */
#include "vidurl.h"

#include "check.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/hmac.h>

/* path -> "KIND FILE [as_video] [CHAIN NAME dash signed]" */
static void parse_is(const char *path, const char *want)
{
    static const char *const kinds[] = {"none", "video", "thumb", "gif", "hls", "dash", "pkg"};
    struct vidurl u;
    char got[512];
    const char *p = check_guard(path, strlen(path));
    bool found = vidurl_parse(p, strlen(path), &u);
    int n = snprintf(got, sizeof(got), "%s %.*s%s", kinds[u.kind], (int)u.file_len, p,
                     u.as_video ? " as_video" : "");

    if (u.kind == VIDURL_PACKAGE)
        snprintf(got + n, sizeof(got) - (size_t)n, " %.*s %s%s%s", (int)u.chain.len, u.chain.p,
                 u.name, u.dash ? " dash" : "", u.signed_pkg ? " signed" : "");
    ok(found == (u.kind != VIDURL_NONE), "'%s': found says so", path);
    ok_str(got, want, "'%s'", path);
}

static void test_parse(void)
{
    parse_is("video/clip.mp4", "none video/clip.mp4");
    parse_is("video/clip.mp4/ik-thumbnail.jpg", "thumb video/clip.mp4");
    parse_is("clip.mp4/ik-thumbnail.jpg", "thumb clip.mp4");
    parse_is("ik-thumbnail.jpg", "none ik-thumbnail.jpg");
    parse_is("a/ik-thumbnail.jpg.x", "none a/ik-thumbnail.jpg.x");
    parse_is("raw/file/ik-video.mp4", "video raw/file as_video");
    parse_is("raw/file/ik-video.mp4/ik-thumbnail.jpg", "thumb raw/file as_video");
    parse_is("raw/file/ik-video.mp4/ik-master.m3u8", "hls raw/file as_video");
    parse_is("anim.gif/ik-gif-video.mp4", "gif anim.gif");
    parse_is("v.mov/ik-master.m3u8", "hls v.mov");
    parse_is("v.mov/ik-master.mpd", "dash v.mov");
    parse_is("v.mp4/ik-hls/sr-240_360/ik-240p.m3u8", "pkg v.mp4 sr-240_360 ik-240p.m3u8");
    parse_is("v.mp4/ik-hls/sr-240/ik-240p-00001.ts", "pkg v.mp4 sr-240 ik-240p-00001.ts");
    parse_is("d/v.mp4/ik-dash/sr-720/ik-chunk-0-00001.m4s",
             "pkg d/v.mp4 sr-720 ik-chunk-0-00001.m4s dash");
    parse_is("v.mp4/ik-hls/sr-240/ik-sig-1767225600-0123456789abcdef0123456789abcdef01234567/"
             "ik-240p.m3u8",
             "pkg v.mp4 sr-240 ik-240p.m3u8 signed");
    parse_is("raw/ik-video.mp4/ik-dash/sr-240/ik-init-0.m4s",
             "pkg raw as_video sr-240 ik-init-0.m4s dash");
    parse_is("v.mp4/ik-hls/sr-240/x.ts", "none v.mp4/ik-hls/sr-240/x.ts");
    parse_is("v.mp4/ik-hls/sr-240/ik-a b.ts", "none v.mp4/ik-hls/sr-240/ik-a b.ts");
    parse_is("v.mp4/ik-hls/ik-240p.m3u8", "none v.mp4/ik-hls/ik-240p.m3u8");
    parse_is("ik-hls/sr-240/ik-240p.m3u8", "none ik-hls/sr-240/ik-240p.m3u8");
    parse_is("v.mp4/ik-hls/ik-sig-1-2/ik-240p.m3u8", "none v.mp4/ik-hls/ik-sig-1-2/ik-240p.m3u8");
    parse_is("v.mp4/x/sr-240/ik-240p.m3u8", "none v.mp4/x/sr-240/ik-240p.m3u8");
    ok_str(vidurl_package_type("ik-240p.m3u8"), "application/vnd.apple.mpegurl", "m3u8 type");
    ok_str(vidurl_package_type("ik-240p-00000.ts"), "video/mp2t", "ts type");
    ok_str(vidurl_package_type("ik-init-0.m4s"), "video/iso.segment", "m4s type");
    ok(vidurl_package_type("ik-x.exe") == NULL, "no type for other names");
}

/* ---- Signatures: the HMAC worked out here with OpenSSL directly --------------------------- */

static const char key[] = "private_test_key";

static void hmac_hex(const char *msg, char out[41])
{
    unsigned char md[20];
    unsigned len = 0;

    HMAC(EVP_sha1(), key, (int)strlen(key), (const unsigned char *)msg, strlen(msg), md, &len);
    for (unsigned i = 0; i < 20; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static int verify(const char *rest, time_t now)
{
    return vidurl_verify(key, strlen(key), check_guard(rest, strlen(rest)), strlen(rest), now);
}

static void test_signatures(void)
{
    const char prefix[] = "tr:w-1/video/clip%20a.mp4/ik-hls/sr-240_360/";
    char sig[VIDURL_SIG_MAX], want[41], upper[41], url[512];

    ok(vidurl_sign(key, strlen(key), prefix, strlen(prefix), "1767225600", sig) == 0, "sign");
    hmac_hex("tr:w-1/video/clip%20a.mp4/ik-hls/sr-240_360/1767225600", want);
    snprintf(url, sizeof(url), "ik-sig-1767225600-%s/", want);
    ok_str(sig, url, "the segment is HMAC-SHA1 of the prefix and the expiry");
    snprintf(url, sizeof(url), "%s%sik-240p-00003.ts", prefix, sig);
    ok(verify(url, 1767225000) == 0, "a file of the package verifies");
    ok(verify(url, 1767225601) == -EKEYEXPIRED, "and expires at T");
    snprintf(url, sizeof(url), "%s%sik-240p.m3u8?x=1", prefix, sig);
    ok(verify(url, 0) == 0, "any file of it, a query ignored");
    snprintf(url, sizeof(url), "tr:w-1/video/clip%%20a.mp4/ik-hls/sr-240_720/%sik-240p.m3u8", sig);
    ok(verify(url, 0) == -EKEYREJECTED, "another chain is refused");
    snprintf(url, sizeof(url), "tr:w-1/video/clip%%20b.mp4/ik-hls/sr-240_360/%sik-240p.m3u8", sig);
    ok(verify(url, 0) == -EKEYREJECTED, "another video is refused");
    snprintf(url, sizeof(url), "%sik-sig-1767225601-%s/ik-240p.m3u8", prefix, want);
    ok(verify(url, 0) == -EKEYREJECTED, "another expiry is refused");
    for (int i = 0; i < 41; i++)
        upper[i] = (char)toupper((unsigned char)want[i]);
    snprintf(url, sizeof(url), "%sik-sig-1767225600-%s/ik-240p.m3u8", prefix, upper);
    ok(verify(url, 0) == 0, "the hex in capitals too");
    snprintf(url, sizeof(url), "%sik-sig-1767225600-%.39s/ik-240p.m3u8", prefix, want);
    ok(verify(url, 0) == -EKEYREJECTED, "39 hex digits are refused");
    ok(verify("video/clip.mp4/ik-hls/sr-240/ik-240p.m3u8", 0) == -ENOKEY,
       "an unsigned package file has no signature");
    ok(verify("video/clip.mp4?ik-sig-1-2", 0) == -ENOKEY, "nor does another URL");
    ok(verify("ik-hls/sr-240/ik-sig-1-aa/ik-240p.m3u8", 0) == -ENOKEY, "nor a package of no file");
    ok(vidurl_sign(key, strlen(key), prefix, strlen(prefix), NULL, sig) == 0 &&
           strncmp(sig, "ik-sig-9999999999-", 18) == 0,
       "no expiry: the SDKs' 9999999999");
    ok(vidurl_sign(key, strlen(key), prefix, strlen(prefix), "12a", sig) == -EINVAL,
       "an expiry must be digits");
}

/* ---- Manifests ----------------------------------------------------------------------------- */

static const char hls_master[] =
    "#EXTM3U\n#EXT-X-VERSION:3\n"
    "#EXT-X-STREAM-INF:BANDWIDTH=1,RESOLUTION=320x240,CODECS=\"avc1.64000d,mp4a.40.2\"\n"
    "ik-240p.m3u8\n\n"
    "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"a\",URI=\"ik-audio.m3u8\"\n"
    "#EXT-X-STREAM-INF:BANDWIDTH=2,RESOLUTION=480x360\r\nik-360p.m3u8\r\n";

static const char dash_master[] =
    "<?xml version=\"1.0\"?>\n<MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\">\n"
    "\t<ProgramInformation>\n\t</ProgramInformation>\n"
    "\t<Period id=\"0\" start=\"PT0.0S\">\n"
    "\t\t<AdaptationSet id=\"0\"><SegmentTemplate media=\"ik-chunk-$Number$.m4s\"/>"
    "</AdaptationSet>\n\t</Period>\n</MPD>\n";

static void test_manifests(void)
{
    char out[2048];
    int n = vidurl_rewrite_hls(check_guard(hls_master, strlen(hls_master)), strlen(hls_master),
                               "ik-hls/sr-240/", out, sizeof(out));

    ok(n == (int)strlen(out), "HLS master rewritten (%d bytes)", n);
    ok_str(out,
           "#EXTM3U\n#EXT-X-VERSION:3\n"
           "#EXT-X-STREAM-INF:BANDWIDTH=1,RESOLUTION=320x240,CODECS=\"avc1.64000d,mp4a.40.2\"\n"
           "ik-hls/sr-240/ik-240p.m3u8\n\n"
           "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"a\",URI=\"ik-hls/sr-240/ik-audio.m3u8\"\n"
           "#EXT-X-STREAM-INF:BANDWIDTH=2,RESOLUTION=480x360\r\nik-hls/sr-240/ik-360p.m3u8\r\n",
           "  every URI line and URI attribute under the package");
    ok(vidurl_rewrite_hls(hls_master, strlen(hls_master), "ik-hls/sr-240/", out, 100) == -ENOSPC,
       "  too small a buffer is -ENOSPC");
    n = vidurl_rewrite_dash(check_guard(dash_master, strlen(dash_master)), strlen(dash_master),
                            "ik-dash/sr-240/", out, sizeof(out));
    ok(n == (int)strlen(out) && strstr(out, "<Period id=\"0\" start=\"PT0.0S\"><BaseURL>"
                                            "ik-dash/sr-240/</BaseURL>\n\t\t<AdaptationSet"),
       "DASH: a BaseURL first in the Period");
    ok(strstr(out, "<ProgramInformation>\n\t</ProgramInformation>") != NULL,
       "  nothing else changed");
    ok(vidurl_rewrite_dash("<MPD><PeriodX>", 14, "x/", out, sizeof(out)) == -EINVAL,
       "a manifest without a Period is refused");
    ok(vidurl_rewrite_dash(dash_master, strlen(dash_master), "a<b/", out, sizeof(out)) == -EINVAL,
       "a prefix that is not plain text is refused");
}

int main(void)
{
    test_parse();
    test_signatures();
    test_manifests();
    return check_done();
}
