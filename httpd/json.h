/* httpd/json.h: a bounded writer of JSON text, for blobhttpd's small JSON answers (the
 * console's API). Pure.
 *
 *     struct json j;
 *     json_init(&j, 1 << 20);               // the cap: past it every call fails
 *     json_raw(&j, "{\"name\":");
 *     json_str(&j, name, strlen(name));     // quoted and escaped, always valid UTF-8
 *     json_raw(&j, "}");
 *     char *text = json_take(&j, &len);     // NULL after any failure
 *     json_release(&j);
 *
 * Errors are sticky: after the first failure (-E2BIG past the cap, -ENOMEM) every call does
 * nothing and returns it, so a builder checks once at the end. */
#ifndef HTTPD_JSON_H
#define HTTPD_JSON_H

#include <stddef.h>
#include <stdint.h>

struct json {
    char *buf;
    size_t len, alloc, max;
    int err; /* 0, or the first failure */
};

/* An empty text that may grow to max bytes. */
void json_init(struct json *j, size_t max);

/* Free the text (unless taken). The struct may be initialised again. */
void json_release(struct json *j);

/* Append s as it is (structure: braces, keys, commas). Returns 0 or the sticky error. */
int json_raw(struct json *j, const char *s);

/* Append s[0..len) as a JSON string: quotes, backslashes and control bytes escaped, and
 * '<', '>', '&', U+2028 and U+2029 too, so the text is safe wherever it lands. Bytes that are
 * not valid UTF-8 become U+FFFD. Returns 0 or the sticky error. */
int json_str(struct json *j, const char *s, size_t len);

/* Append a C string as json_str() does, or null for NULL. */
int json_cstr(struct json *j, const char *s);

/* Append a number. */
int json_u64(struct json *j, uint64_t v);
int json_i64(struct json *j, int64_t v);

/* The text, NUL-terminated, with its length in *len. Returns: (transfer full), free with
 * free(); NULL when a call failed (j keeps nothing either way). */
char *json_take(struct json *j, size_t *len);

#endif
