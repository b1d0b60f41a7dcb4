/* libFuzzer target for the header parsers of httpd/http.c, Range above all.
 *
 * Input: 8 bytes of body size (little-endian), 1 byte of log buffer size, then the header
 * text. http_parse_range() must return 1, 0 or -ERANGE, a range inside the body, and what a
 * plain reference reading of RFC 9110's one-range grammar (written here) gives. The same text
 * goes through httpdate_parse() (a parsed date formats and parses back to the same time),
 * http_etag_matches(), http_mime_for_path() and http_log_escape() (printable output within
 * its buffer, which unescapes to the input when the buffer is big enough).
 *
 *   make fuzz && build/fuzz/fuzz_http -dict=tests/fuzz/http.dict CORPUS tests/fuzz/http */
#include "http.h"
#include "httpdate.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static void fail(const char *what)
{
    fprintf(stderr, "invariant broken: %s\n", what);
    abort();
}

static const char *ows(const char *p)
{
    return p + strspn(p, " \t");
}

/* Digits at *pp (at least one, no overflow) into *out. */
static bool ref_number(const char **pp, uint64_t *out)
{
    const char *p = *pp;
    uint64_t v = 0;

    if (!isdigit((unsigned char)*p))
        return false;
    for (; isdigit((unsigned char)*p); p++) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *pp = p;
    *out = v;
    return true;
}

/* RFC 9110 section 14: "bytes=" then first-last, first- or -suffix, one range only;
 * anything else is ignored (0); a range that starts past the body is unsatisfiable. */
static int ref_range(const char *hdr, uint64_t size, uint64_t *start, uint64_t *len)
{
    const char *p = ows(hdr);
    uint64_t first, last = UINT64_MAX;

    if (strncasecmp(p, "bytes=", 6) != 0 || strchr(p, ','))
        return 0;
    p = ows(p + 6);
    if (*p == '-') {
        p++;
        if (!ref_number(&p, &last) || *ows(p))
            return 0;
        if (last == 0 || size == 0)
            return -ERANGE;
        *len = last < size ? last : size;
        *start = size - *len;
        return 1;
    }
    if (!ref_number(&p, &first) || *p++ != '-')
        return 0;
    if (*ows(p) && (!ref_number(&p, &last) || *ows(p)))
        return 0;
    if (last < first)
        return 0;
    if (first >= size)
        return -ERANGE;
    *start = first;
    *len = (last < size ? last : size - 1) - first + 1;
    return 1;
}

static void check_range(const char *hdr, uint64_t size)
{
    uint64_t start = 0, len = 0, want_start = 0, want_len = 0;
    int rc = http_parse_range(hdr, size, &start, &len);
    int want = ref_range(hdr, size, &want_start, &want_len);

    if (rc != want || (rc == 1 && (start != want_start || len != want_len)))
        fail("http_parse_range differs from the reference grammar");
    if (rc == 1 && (len == 0 || start >= size || len > size - start))
        fail("a range outside the body");
}

/* A date that parses formats back to text that parses to the same time (years 1970-9999:
 * IMF-fixdate has four digits for the year). */
static void check_date(const char *s)
{
    char text[HTTPDATE_LEN];
    time_t t, again;

    if (httpdate_parse(s, &t) != 0 || t < 0 || t > 253402300799)
        return;
    httpdate_format(t, text);
    if (httpdate_parse(text, &again) != 0 || again != t) {
        fprintf(stderr, "'%s' -> %lld -> '%s'\n", s, (long long)t, text);
        fail("a parsed date does not survive formatting");
    }
}

/* Undo http_log_escape(): \xHH back to its byte. */
static size_t unescape(const char *s, char *out)
{
    size_t n = 0;

    while (*s) {
        if (s[0] == '\\' && s[1] == 'x' && isxdigit((unsigned char)s[2]) &&
            isxdigit((unsigned char)s[3])) {
            char hex[3] = {s[2], s[3], '\0'};
            out[n++] = (char)strtoul(hex, NULL, 16);
            s += 4;
        } else {
            out[n++] = *s++;
        }
    }
    out[n] = '\0';
    return n;
}

static void check_log_escape(const char *in, size_t cap, char *out, char *back)
{
    size_t n = http_log_escape(in, out, cap);

    if (cap == 0)
        return;
    if (n >= cap || strlen(out) != n)
        fail("http_log_escape overran its buffer or miscounted");
    for (size_t i = 0; i < n; i++) {
        if (out[i] < 0x20 || out[i] > 0x7e || out[i] == '"')
            fail("http_log_escape let a byte through that breaks a log line");
    }
    if (cap > 4 * strlen(in) && (unescape(out, back) != strlen(in) || strcmp(back, in) != 0))
        fail("http_log_escape lost or changed a byte");
}

/* The header as If-None-Match against a fixed tag; then a tag made of the header's bytes
 * (quotes left out, as entity tags have none inside) must match itself, weak or in a list. */
static void check_etag(const char *hdr)
{
    char tag[40], other[40], list[100];
    size_t n = 0;

    http_etag_matches(hdr, "\"0x8DA9560DD170CFD\"");
    tag[n++] = '"';
    for (const char *p = hdr; *p && n < sizeof(tag) - 2; p++) {
        if (*p != '"')
            tag[n++] = *p;
    }
    tag[n++] = '"';
    tag[n] = '\0';
    snprintf(list, sizeof(list), "\"x\" ,\tW/%s", tag);
    if (!http_etag_matches(tag, tag) || !http_etag_matches(list, tag))
        fail("an entity tag does not match itself");
    memcpy(other, tag, n + 1);
    other[1] = other[1] == 'a' ? 'b' : 'a';
    if (n > 2 && http_etag_matches(other, tag))
        fail("two different entity tags match");
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    uint64_t body = 0;
    size_t cap = size > 8 ? data[8] : 0, skip = size < 9 ? size : 9;
    char *hdr = malloc(size - skip + 1), *out = malloc(4 * size + 1), *back = malloc(size + 1);

    if (!hdr || !out || !back)
        abort();
    for (size_t i = 0; i < 8 && i < size; i++)
        body |= (uint64_t)data[i] << (8 * i);
    memcpy(hdr, data + skip, size - skip);
    hdr[size - skip] = '\0';
    check_range(hdr, body);
    check_date(hdr);
    check_etag(hdr);
    http_mime_for_path(hdr);
    check_log_escape(hdr, cap, out, back);
    check_log_escape(hdr, 4 * strlen(hdr) + 1, out, back);
    free(hdr);
    free(out);
    free(back);
    return 0;
}
