/* httpd/vidurl.c: video URL suffixes, package signatures, manifest rewriting (see vidurl.h). */
#include "vidurl.h"

#include "sign.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define SIG_TAG "ik-sig-"
#define MSG_MAX 4200 /* a raw prefix (at most a request target, 4 KiB) and an expiry */

/* ---- Suffixes ------------------------------------------------------------------------------ */

static const struct {
    const char *name;
    enum vidurl_kind kind;
} suffixes[] = {
    {"ik-thumbnail.jpg", VIDURL_THUMB},     {"ik-video.mp4", VIDURL_VIDEO},
    {"ik-gif-video.mp4", VIDURL_GIF_VIDEO}, {"ik-master.m3u8", VIDURL_HLS},
    {"ik-master.mpd", VIDURL_DASH},
};

/* Up to n segments of path[0..len) from its end: seg[0] the last. Returns how many. */
static int last_segments(const char *path, size_t len, struct str *seg, int n)
{
    int got = 0;
    size_t end = len;

    while (got < n && end > 0) {
        const char *slash = memrchr(path, '/', end);
        size_t start = slash ? (size_t)(slash - path) + 1 : 0;

        seg[got++] = (struct str){path + start, end - start};
        end = start ? start - 1 : 0;
        if (!slash)
            break;
    }
    return got;
}

/* A package file's name: "ik-", then letters, digits, '.', '_', '-', at most 64 bytes. */
static bool is_package_name(struct str s)
{
    if (s.len < 4 || s.len > VIDURL_NAME_MAX || memcmp(s.p, "ik-", 3) != 0)
        return false;
    for (size_t i = 0; i < s.len; i++)
        if (!isalnum((unsigned char)s.p[i]) && !strchr("._-", s.p[i]))
            return false;
    return true;
}

static bool is_sig(struct str s)
{
    return s.len > strlen(SIG_TAG) && memcmp(s.p, SIG_TAG, strlen(SIG_TAG)) == 0;
}

/* "ik-hls/CHAIN[/ik-sig-...]/NAME" at the end of path: the index in seg of "ik-hls", or -1. */
static int package_at(const struct str *seg, int n)
{
    for (int k = 2; k <= 3 && k < n; k++) {
        if (!str_eq(seg[k], "ik-hls") && !str_eq(seg[k], "ik-dash"))
            continue;
        if ((k == 3) != is_sig(seg[1]) || !is_package_name(seg[0]) || is_sig(seg[k - 1]))
            continue;
        return k;
    }
    return -1;
}

/* Where the file ends before segment s (s starts after a '/'). */
static size_t file_before(const char *path, struct str s)
{
    return s.p > path ? (size_t)(s.p - path) - 1 : 0;
}

static void set_package(const char *path, const struct str *seg, int k, struct vidurl *out)
{
    out->kind = VIDURL_PACKAGE;
    out->dash = str_eq(seg[k], "ik-dash");
    out->signed_pkg = k == 3;
    out->chain = seg[k - 1];
    memcpy(out->name, seg[0].p, seg[0].len);
    out->name[seg[0].len] = '\0';
    out->file_len = file_before(path, seg[k]);
}

bool vidurl_parse(const char *path, size_t len, struct vidurl *out)
{
    struct str seg[5];
    int n = last_segments(path, len, seg, (int)COUNT(seg)), k = package_at(seg, n), at = 0;

    *out = (struct vidurl){.kind = VIDURL_NONE, .file_len = len};
    if (k >= 0) {
        set_package(path, seg, k, out);
        at = k;
    }
    for (size_t i = 0; k < 0 && n > 0 && i < COUNT(suffixes); i++) {
        if (str_eq(seg[0], suffixes[i].name)) {
            out->kind = suffixes[i].kind;
            out->file_len = file_before(path, seg[0]);
        }
    }
    if (out->kind == VIDURL_VIDEO) {
        out->as_video = true;
    } else if (out->kind != VIDURL_NONE && at + 1 < n && str_eq(seg[at + 1], "ik-video.mp4")) {
        out->as_video = true;
        out->file_len = file_before(path, seg[at + 1]);
    }
    if (out->kind != VIDURL_NONE && out->file_len == 0)
        *out = (struct vidurl){.kind = VIDURL_NONE, .file_len = len};
    return out->kind != VIDURL_NONE;
}

const char *vidurl_package_type(const char *name)
{
    static const struct {
        const char *ext, *type;
    } types[] = {{".m3u8", "application/vnd.apple.mpegurl"},
                 {".ts", "video/mp2t"},
                 {".mpd", "application/dash+xml"},
                 {".m4s", "video/iso.segment"}};
    const char *dot = strrchr(name, '.');

    for (size_t i = 0; dot && i < COUNT(types); i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return NULL;
}

/* ---- Signatures ---------------------------------------------------------------------------- */

/* hex(HMAC-SHA1(key, prefix + expiry)) into hex. */
static int package_mac(const void *key, size_t keylen, const char *prefix, size_t len,
                       struct str expiry, char hex[SIGN_HEX_LEN])
{
    char msg[MSG_MAX];

    if (len + expiry.len > sizeof(msg))
        return -EINVAL;
    memcpy(msg, prefix, len);
    memcpy(msg + len, expiry.p, expiry.len);
    return sign_hmac_hex(key, keylen, msg, len + expiry.len, hex);
}

static bool all_digits(struct str s)
{
    if (s.len == 0 || s.len > 18)
        return false;
    for (size_t i = 0; i < s.len; i++)
        if (!isdigit((unsigned char)s.p[i]))
            return false;
    return true;
}

int vidurl_sign(const void *key, size_t keylen, const char *prefix, size_t len, const char *expiry,
                char out[VIDURL_SIG_MAX])
{
    struct str t = {expiry ? expiry : SIGN_NO_EXPIRY, strlen(expiry ? expiry : SIGN_NO_EXPIRY)};
    char hex[SIGN_HEX_LEN];

    if (!all_digits(t) || package_mac(key, keylen, prefix, len, t, hex))
        return -EINVAL;
    snprintf(out, VIDURL_SIG_MAX, SIG_TAG "%.*s-%s/", (int)t.len, t.p, hex);
    return 0;
}

/* "ik-sig-T-S": T and S (lowercased into hex). */
static bool split_sig(struct str sig, struct str *t, char hex[SIGN_HEX_LEN])
{
    struct str rest = {sig.p + strlen(SIG_TAG), sig.len - strlen(SIG_TAG)}, s;

    if (!str_cut(&rest, '-', t) || !all_digits(*t))
        return false;
    s = rest;
    if (s.len != SIGN_HEX_LEN - 1)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        if (!isxdigit((unsigned char)s.p[i]))
            return false;
        hex[i] = (char)tolower((unsigned char)s.p[i]);
    }
    hex[s.len] = '\0';
    return true;
}

int vidurl_verify(const void *key, size_t keylen, const char *rest, size_t len, time_t now)
{
    const char *q = memchr(rest, '?', len);
    size_t plen = q ? (size_t)(q - rest) : len;
    char got[SIGN_HEX_LEN], want[SIGN_HEX_LEN];
    struct str seg[4], t;
    long long expiry = 0;

    if (last_segments(rest, plen, seg, 4) != 4 || package_at(seg, 4) != 3 || seg[3].p == rest)
        return -ENOKEY; /* not FILE/ik-hls/CHAIN/ik-sig-.../NAME */
    if (!split_sig(seg[1], &t, got))
        return -EKEYREJECTED;
    if (package_mac(key, keylen, rest, (size_t)(seg[1].p - rest), t, want) ||
        CRYPTO_memcmp(got, want, SIGN_HEX_LEN - 1) != 0)
        return -EKEYREJECTED;
    for (size_t i = 0; i < t.len; i++)
        expiry = expiry * 10 + (t.p[i] - '0');
    return (long long)now > expiry ? -EKEYEXPIRED : 0;
}

/* ---- Manifests ----------------------------------------------------------------------------- */

/* A bounded writer: -ENOSPC once anything did not fit. */
struct out {
    char *p;
    size_t cap, len;
    int err;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->err || o->len + n + 1 > o->cap) {
        o->err = -ENOSPC;
        return;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
    o->p[o->len] = '\0';
}

/* A tag line, with prefix after each URI=". */
static void put_tag(struct out *o, struct str line, const char *prefix)
{
    static const char uri[] = "URI=\"";

    const char *at = memmem(line.p, line.len, uri, sizeof(uri) - 1);

    while (at) {
        size_t n = (size_t)(at - line.p) + sizeof(uri) - 1;

        put(o, line.p, n);
        put(o, prefix, strlen(prefix));
        line = (struct str){line.p + n, line.len - n};
        at = memmem(line.p, line.len, uri, sizeof(uri) - 1);
    }
    put(o, line.p, line.len);
}

int vidurl_rewrite_hls(const char *in, size_t len, const char *prefix, char *out, size_t cap)
{
    struct out o = {out, cap, 0, cap ? 0 : -ENOSPC};
    struct str rest = {in, len}, line;
    bool more = true;

    while (more && rest.len) {
        more = str_cut(&rest, '\n', &line);
        if (line.len && line.p[0] != '#' && line.p[0] != '\r')
            put(&o, prefix, strlen(prefix)); /* a URI line */
        if (line.len && line.p[0] == '#')
            put_tag(&o, line, prefix);
        else
            put(&o, line.p, line.len);
        if (more)
            put(&o, "\n", 1);
    }
    return o.err ? o.err : (int)o.len;
}

int vidurl_rewrite_dash(const char *in, size_t len, const char *prefix, char *out, size_t cap)
{
    struct out o = {out, cap, 0, cap ? 0 : -ENOSPC};
    const char *period = memmem(in, len, "<Period", 7), *end;

    while (period && period + 7 < in + len && period[7] != '>' &&
           !isspace((unsigned char)period[7]))
        period = memmem(period + 7, len - (size_t)(period + 7 - in), "<Period", 7);
    end = period ? memchr(period, '>', len - (size_t)(period - in)) : NULL;
    if (!end || end[-1] == '/' || strpbrk(prefix, "<>&\"'"))
        return -EINVAL;
    put(&o, in, (size_t)(end + 1 - in));
    put(&o, "<BaseURL>", 9);
    put(&o, prefix, strlen(prefix));
    put(&o, "</BaseURL>", 10);
    put(&o, end + 1, len - (size_t)(end + 1 - in));
    return o.err ? o.err : (int)o.len;
}
