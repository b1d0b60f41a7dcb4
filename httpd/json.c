/* httpd/json.c: a bounded JSON writer (see json.h). */
#include "json.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_FIRST_ALLOC 4096

void json_init(struct json *j, size_t max)
{
    *j = (struct json){.max = max};
}

void json_release(struct json *j)
{
    free(j->buf);
    *j = (struct json){.max = j->max};
}

/* Make room for n more bytes and a NUL: doubling, never past max. */
static int reserve(struct json *j, size_t n)
{
    if (j->err)
        return j->err;
    if (n > j->max || j->len + n > j->max - 1) {
        j->err = -E2BIG;
        return j->err;
    }
    if (j->len + n + 1 <= j->alloc)
        return 0;
    size_t want = j->alloc ? j->alloc : JSON_FIRST_ALLOC;
    while (want < j->len + n + 1)
        want *= 2;
    want = want < j->max ? want : j->max;
    char *p = realloc(j->buf, want);
    if (!p) {
        j->err = -ENOMEM;
        return j->err;
    }
    j->buf = p;
    j->alloc = want;
    return 0;
}

static int append(struct json *j, const char *s, size_t n)
{
    int rc = reserve(j, n);

    if (rc)
        return rc;
    memcpy(j->buf + j->len, s, n);
    j->len += n;
    j->buf[j->len] = '\0';
    return 0;
}

int json_raw(struct json *j, const char *s)
{
    return append(j, s, strlen(s));
}

/* The length of the valid UTF-8 sequence at s[0..len) (1 to 4), or 0 when it is not one:
 * truncated, a stray continuation byte, overlong, a surrogate or past U+10FFFF. */
static size_t utf8_len(const unsigned char *s, size_t len)
{
    size_t n = s[0] < 0x80                    ? 1
               : s[0] >= 0xc2 && s[0] <= 0xdf ? 2
               : (s[0] & 0xf0) == 0xe0        ? 3
               : s[0] >= 0xf0 && s[0] <= 0xf4 ? 4
                                              : 0;
    if (n == 0 || n > len)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    }
    if (n == 3 && ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0)))
        return 0; /* overlong, or a surrogate */
    if (n == 4 && ((s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90)))
        return 0; /* overlong, or past U+10FFFF */
    return n;
}

/* The escape for the character at s (n bytes), or NULL when it goes out as it is. */
static const char *escape_for(const unsigned char *s, size_t n, char buf[8])
{
    if (n == 3 && s[0] == 0xe2 && s[1] == 0x80 && (s[2] == 0xa8 || s[2] == 0xa9))
        return s[2] == 0xa8 ? "\\u2028" : "\\u2029";
    if (n != 1)
        return NULL;
    switch (s[0]) {
    case '"':
        return "\\\"";
    case '\\':
        return "\\\\";
    case '<':
    case '>':
    case '&':
        break;
    default:
        if (s[0] >= 0x20 && s[0] != 0x7f)
            return NULL;
    }
    snprintf(buf, 8, "\\u%04x", s[0]);
    return buf;
}

int json_str(struct json *j, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    char buf[8];

    append(j, "\"", 1);
    for (size_t i = 0; i < len && !j->err;) {
        size_t n = utf8_len(p + i, len - i);
        if (n == 0) {
            append(j, "\\ufffd", 6);
            i++;
            continue;
        }
        const char *esc = escape_for(p + i, n, buf);
        append(j, esc ? esc : s + i, esc ? strlen(esc) : n);
        i += n;
    }
    return append(j, "\"", 1);
}

int json_cstr(struct json *j, const char *s)
{
    return s ? json_str(j, s, strlen(s)) : json_raw(j, "null");
}

int json_u64(struct json *j, uint64_t v)
{
    char buf[24];
    int n = snprintf(buf, sizeof(buf), "%" PRIu64, v);

    return append(j, buf, (size_t)n);
}

int json_i64(struct json *j, int64_t v)
{
    char buf[24];
    int n = snprintf(buf, sizeof(buf), "%" PRId64, v);

    return append(j, buf, (size_t)n);
}

char *json_take(struct json *j, size_t *len)
{
    char *text = j->err ? NULL : j->buf;

    if (!j->err && !text)
        text = calloc(1, 1);
    *len = text ? j->len : 0;
    if (text == j->buf)
        j->buf = NULL;
    json_release(j);
    return text;
}
