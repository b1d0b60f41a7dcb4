/* httpd/http.c: errno -> status, Range, dates, entity tags, MIME types (see http.h). */
#include "http.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

int http_status_for_errno(int err)
{
    switch (-err) {
    case 0:
        return 200;
    case EINVAL:
        return 400;
    case HTTP_ERR_UNSIGNED:
    case HTTP_ERR_EXPIRED:
        return 401;
    case EACCES:
    case EPERM:
    case ELOOP:
    case EXDEV:
        return 403;
    case ENOENT:
    case ENOTDIR:
    case EISDIR:
        return 404;
    case E2BIG:
    case EFBIG:
        return 413;
    case ENAMETOOLONG:
        return 414;
    case EBADMSG:
        return 422;
    case HTTP_ERR_BUSY:
    case ENOMEM:
    case EMFILE:
    case ENFILE:
    case ECANCELED:
    case ESHUTDOWN:
        return 503;
    case ETIMEDOUT:
        return 504;
    case EIO:
    case ENOTCONN:
    case ECONNREFUSED:
    case ECONNRESET:
    case EHOSTUNREACH:
    case ENETDOWN:
    case ENETUNREACH:
    case ESTALE:
    case ENXIO:
    case EREMOTEIO:
        return 502;
    default:
        return 500;
    }
}

const char *http_error_code(int err)
{
    if (err == -E2BIG || err == -EFBIG)
        return "ELIMIT";
    const char *name = strerrorname_np(-err);
    return name ? name : "UNIDENTIFIED";
}

const char *http_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 206:
        return "Partial Content";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 416:
        return "Range Not Satisfiable";
    case 422:
        return "Unprocessable Content";
    case 500:
        return "Internal Server Error";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return "";
    }
}

/* Digits at *pp into *out (no sign, no overflow), advancing *pp; -EINVAL when there are none. */
static int parse_u64(const char **pp, uint64_t *out)
{
    const char *p = *pp;
    uint64_t v = 0;

    if (!isdigit((unsigned char)*p))
        return -EINVAL;
    for (; isdigit((unsigned char)*p); p++) {
        if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, *p - '0', &v))
            return -EINVAL;
    }
    *pp = p;
    *out = v;
    return 0;
}

static const char *skip_ows(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* "first-last", "first-" or "-suffix" with size applied; 0, -EINVAL (ignore) or -ERANGE. */
static int parse_one_range(const char *p, uint64_t size, uint64_t *start, uint64_t *len)
{
    uint64_t first = 0, last = UINT64_MAX;

    if (*p == '-') {
        p++;
        if (parse_u64(&p, &last) || *skip_ows(p))
            return -EINVAL;
        if (last == 0 || size == 0)
            return -ERANGE;
        *len = last < size ? last : size;
        *start = size - *len;
        return 0;
    }
    if (parse_u64(&p, &first) || *p++ != '-')
        return -EINVAL;
    if (*skip_ows(p) && (parse_u64(&p, &last) || *skip_ows(p)))
        return -EINVAL;
    if (last < first)
        return -EINVAL;
    if (first >= size)
        return -ERANGE;
    if (last >= size)
        last = size - 1;
    *start = first;
    *len = last - first + 1;
    return 0;
}

int http_parse_range(const char *hdr, uint64_t size, uint64_t *start, uint64_t *len)
{
    if (!hdr)
        return 0;
    hdr = skip_ows(hdr);
    if (strncasecmp(hdr, "bytes=", 6) != 0 || strchr(hdr, ','))
        return 0;
    int rc = parse_one_range(skip_ows(hdr + 6), size, start, len);
    if (rc == -ERANGE)
        return -ERANGE;
    return rc == 0 ? 1 : 0;
}

/* The next entity tag of a list at *pp without its W/ prefix, quotes included. */
static bool next_etag(const char **pp, const char **tag, size_t *len)
{
    const char *p = *pp;

    while (*p == ' ' || *p == '\t' || *p == ',')
        p++;
    if (!*p)
        return false;
    if (p[0] == 'W' && p[1] == '/')
        p += 2;
    *tag = p;
    if (*p == '"') {
        const char *close = strchr(p + 1, '"');
        p = close ? close + 1 : p + strlen(p);
    } else {
        p += strcspn(p, ", \t");
    }
    *len = (size_t)(p - *tag);
    *pp = p;
    return true;
}

bool http_etag_matches(const char *if_none_match, const char *etag)
{
    const char *p = if_none_match, *tag;
    size_t len, want = strlen(etag);

    if (strcmp(skip_ows(p), "*") == 0)
        return true;
    while (next_etag(&p, &tag, &len)) {
        if (len == want && memcmp(tag, etag, len) == 0)
            return true;
    }
    return false;
}

struct mime {
    const char *ext, *type;
};

/* Web formats; images are sniffed as well (deliver.c), so this only names what a browser needs. */
static const struct mime mimes[] = {
    {"aac", "audio/aac"},
    {"avif", "image/avif"},
    {"bmp", "image/bmp"},
    {"css", "text/css; charset=utf-8"},
    {"csv", "text/csv; charset=utf-8"},
    {"eot", "application/vnd.ms-fontobject"},
    {"flac", "audio/flac"},
    {"gif", "image/gif"},
    {"gz", "application/gzip"},
    {"heic", "image/heic"},
    {"heif", "image/heif"},
    {"htm", "text/html; charset=utf-8"},
    {"html", "text/html; charset=utf-8"},
    {"ico", "image/vnd.microsoft.icon"},
    {"jpeg", "image/jpeg"},
    {"jpg", "image/jpeg"},
    {"js", "text/javascript; charset=utf-8"},
    {"json", "application/json"},
    {"m3u8", "application/vnd.apple.mpegurl"},
    {"m4a", "audio/mp4"},
    {"m4v", "video/mp4"},
    {"map", "application/json"},
    {"md", "text/markdown; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"mov", "video/quicktime"},
    {"mp3", "audio/mpeg"},
    {"mp4", "video/mp4"},
    {"mpd", "application/dash+xml"},
    {"oga", "audio/ogg"},
    {"ogg", "audio/ogg"},
    {"ogv", "video/ogg"},
    {"opus", "audio/opus"},
    {"otf", "font/otf"},
    {"pdf", "application/pdf"},
    {"png", "image/png"},
    {"svg", "image/svg+xml"},
    {"tar", "application/x-tar"},
    {"tif", "image/tiff"},
    {"tiff", "image/tiff"},
    {"ttf", "font/ttf"},
    {"txt", "text/plain; charset=utf-8"},
    {"vtt", "text/vtt; charset=utf-8"},
    {"wasm", "application/wasm"},
    {"wav", "audio/wav"},
    {"webm", "video/webm"},
    {"webmanifest", "application/manifest+json"},
    {"webp", "image/webp"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"xml", "application/xml"},
    {"zip", "application/zip"},
};

const char *http_mime_for_path(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash : path, '.');

    if (!dot)
        return NULL;
    for (size_t i = 0; i < sizeof(mimes) / sizeof(mimes[0]); i++) {
        if (strcasecmp(dot + 1, mimes[i].ext) == 0)
            return mimes[i].type;
    }
    return NULL;
}

bool http_type_is_document(const char *type)
{
    return type && (strstr(type, "html") || strstr(type, "xml"));
}

size_t http_log_escape(const char *in, char *out, size_t cap)
{
    size_t n = 0;

    if (cap == 0)
        return 0;
    for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
        bool plain = *p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\';
        size_t need = plain ? 1 : 4;
        if (n + need >= cap)
            break;
        if (plain)
            out[n++] = (char)*p;
        else
            n += (size_t)snprintf(out + n, cap - n, "\\x%02X", *p);
    }
    out[n] = '\0';
    return n;
}

bool http_request_id_is_sane(const char *s)
{
    size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:+/=@");

    return n > 0 && n <= HTTP_REQUEST_ID_MAX && s[n] == '\0';
}
