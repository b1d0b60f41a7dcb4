/* httpd/console_url.c: the console's URLs and query parameters (see console_url.h). */
#include "console_url.h"

#include "pct.h"
#include "sign.h"
#include "str.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define SIGN_TEXT_MAX 8192

/* Append s to out at *n; false when it does not fit with its NUL. */
static bool put(char *out, size_t cap, size_t *n, const char *s)
{
    size_t len = strlen(s);

    if (*n + len + 1 > cap)
        return false;
    memcpy(out + *n, s, len + 1);
    *n += len;
    return true;
}

/* Append in, percent-encoded but for keep. */
static bool put_encoded(char *out, size_t cap, size_t *n, const char *in, const char *keep)
{
    ssize_t m = pct_encode(in, strlen(in), keep, out + *n, cap - *n);

    if (m < 0)
        return false;
    *n += (size_t)m;
    return true;
}

/* Append "ik-s=HEX" for out[rest..n): what the SDKs sign is the URL after "PREFIX/". */
static int put_signature(const struct console_url *u, char *out, size_t cap, size_t *n, size_t rest)
{
    char text[SIGN_TEXT_MAX], hex[SIGN_HEX_LEN];
    int len = sign_string(out + rest, *n - rest, text, sizeof(text));

    if (len < 0)
        return len;
    if (sign_hmac_hex(u->key, u->keylen, text, (size_t)len, hex))
        return -EINVAL;
    if (!put(out, cap, n, u->query[0] ? "&ik-s=" : "?ik-s=") || !put(out, cap, n, hex))
        return -ENAMETOOLONG;
    return 0;
}

int console_url_build(const struct console_url *u, char *out, size_t cap)
{
    bool root = strcmp(u->prefix, "/") == 0;
    size_t n = 0;

    if (cap == 0 || !put(out, cap, &n, root ? "/" : u->prefix) ||
        (!root && !put(out, cap, &n, "/")))
        return -ENAMETOOLONG;
    size_t rest = n;
    if (u->chain[0] && (!put(out, cap, &n, "tr:") || !put_encoded(out, cap, &n, u->chain, ",:@") ||
                        !put(out, cap, &n, "/")))
        return -ENAMETOOLONG;
    if (!put_encoded(out, cap, &n, u->path, "/"))
        return -ENAMETOOLONG;
    if (u->query[0] && (!put(out, cap, &n, "?") || !put(out, cap, &n, u->query)))
        return -ENAMETOOLONG;
    int rc = u->keylen ? put_signature(u, out, cap, &n, rest) : 0;
    return rc ? rc : (int)n;
}

ssize_t console_url_param(const char *query, size_t len, const char *name, char *out, size_t cap)
{
    struct str q = {query, len}, pair, key;

    while (q.len) {
        str_cut(&q, '&', &pair);
        bool has_value = str_cut(&pair, '=', &key);
        if (str_eq(key, name))
            return pct_decode(has_value ? pair.p : "", has_value ? pair.len : 0,
                              PCT_FORM | PCT_REJECT_CTRL, out, cap);
    }
    return -ENOENT;
}
