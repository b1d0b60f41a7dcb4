/* common/str.h: a string slice, the zero-copy view every parser of ours passes around
 * (transformation chains, signed URLs). Header only; pure. */
#ifndef COMMON_STR_H
#define COMMON_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* A view into the caller's text, never NUL-terminated: (transfer none), valid while the text
 * is. */
struct str {
    const char *p;
    size_t len;
};

/* Whether s is exactly the C string lit. */
static inline bool str_eq(struct str s, const char *lit)
{
    size_t n = strlen(lit);

    return s.len == n && (n == 0 || memcmp(s.p, lit, n) == 0);
}

/* Cut *s at the first sep (or its end) into head; *s keeps what follows sep. Returns whether
 * sep was found. */
static inline bool str_cut(struct str *s, char sep, struct str *head)
{
    const char *at = s->len ? memchr(s->p, sep, s->len) : NULL;

    head->p = s->p;
    head->len = at ? (size_t)(at - s->p) : s->len;
    s->p += head->len + (at != NULL);
    s->len -= head->len + (at != NULL);
    return at != NULL;
}

#endif
