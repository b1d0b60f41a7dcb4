/* httpd/console_url.h: the URLs the console hands to its page, built on the server so that the
 * page never holds the signing key, and the values of its API's query parameters. Pure but for
 * OpenSSL's HMAC.
 *
 *     /demo/tr:w-160,h-160/photos/caf%C3%A9.jpg?ik-s=5f0c...
 *      ^^^^ endpoint prefix
 *           ^^^^^^^^^^^^^^ the chain, percent-encoded but for ',' ':' '@'
 *                          ^^^^^^^^^^^^^^^^^^^^ the file, percent-encoded but for '/'
 *                                               ^^^^^^^^^^^ signed as ImageKit's SDKs sign,
 *                                                           when a key is set */
#ifndef HTTPD_CONSOLE_URL_H
#define HTTPD_CONSOLE_URL_H

#include <stddef.h>
#include <sys/types.h>

struct console_url {
    const char *prefix; /* the endpoint's: "/" or "/name" (transfer none) */
    const char *chain;  /* decoded transformation text; "" for none */
    const char *path;   /* decoded file path, already clean (route_clean_path()) */
    const char *query;  /* raw query without '?' ("tr=orig-true"); "" for none */
    const void *key;    /* the signing key; keylen 0: the URL is not signed */
    size_t keylen;
};

/* Write the URL of u into out (capacity cap, NUL-terminated): path form, "PREFIX/tr:CHAIN/PATH"
 * (no tr: segment for an empty chain), then "?QUERY", then ik-s when a key is given, over the
 * text after "PREFIX/" with no expiry, exactly as sign_verify() checks it. Returns the length,
 * -ENAMETOOLONG, or -EINVAL when the HMAC fails. */
int console_url_build(const struct console_url *u, char *out, size_t cap);

/* The value of parameter name in query[0..len) (raw, after '?'), percent-decoded once ('+' is
 * a space; NUL and control bytes refused) into out (capacity cap). The first one wins.
 * Returns its length; -ENOENT when absent; -EINVAL for a bad escape; -ENAMETOOLONG. */
ssize_t console_url_param(const char *query, size_t len, const char *name, char *out, size_t cap);

#endif
