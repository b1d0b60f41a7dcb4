/* httpd/ikurl.h: the URLs ImageKit's SDKs build (@imagekit/nodejs 7's buildSrc, the legacy
 * imagekit 6's url), byte for byte, for blobkit-url. Pure but for OpenSSL's HMAC (sign.h).
 *
 * The SDKs join the endpoint's path, "tr:CHAIN" (path position) and the file's path, collapse
 * repeated slashes, and set the result as a WHATWG URL's pathname: tabs and newlines vanish,
 * a backslash is a slash, "." and ".." segments are resolved, and control bytes, space,
 * " # < > ? ` { } and all non-ASCII bytes are percent-encoded ('%' itself is kept). The chain
 * goes in unencoded, in the path or as "?tr=CHAIN". A signed URL adds ik-t (with an expiry)
 * and ik-s, the HMAC-SHA1 of the URL after "ENDPOINT/" and the expiry (docs/blobhttpd.md). */
#ifndef HTTPD_IKURL_H
#define HTTPD_IKURL_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define IKURL_MAX 8192    /* the longest URL built, NUL included */
#define IKURL_WHY_MAX 160 /* the longest reason for a refusal */

struct ikurl_opts {
    const char *endpoint; /* "https://ik.example.com/demo": see ikurl_check_endpoint() */
    const char *tr;       /* "w-300,h-300:rt-90", or NULL or "" for none */
    bool in_path;         /* "tr:CHAIN/" in the path, not "?tr=CHAIN" */
    const void *key;      /* the private key (NULL: unsigned) */
    size_t keylen;
    time_t expires; /* Unix time of ik-t; 0: a signature that never expires */
};

/* Whether endpoint is one the SDKs keep as written (so that the signed text starts right
 * after it): http or https, a lowercase host name or a dotted IPv4 address, a port other than
 * the scheme's default, a path without "." or ".." segments, "//" or bytes to encode, and no
 * query or fragment. Returns 0, or -EINVAL with the reason in why. */
int ikurl_check_endpoint(const char *endpoint, char *why, size_t cap);

/* Whether tr is a chain the SDKs would emit as is: printable ASCII but for space " # & / < >
 * ? [ \ ] ^ ` { | }, and no empty step. Returns 0, or -EINVAL with the reason in why. */
int ikurl_check_chain(const char *tr, char *why, size_t cap);

/* The URL of path under o into out (capacity cap, NUL-terminated), o checked as above.
 * Returns its length; -EINVAL when path is empty; -EILSEQ when it is not UTF-8; -EXDEV when a ".."
 * would climb out of path into the endpoint or the chain (the SDKs would drop them); -ENAMETOOLONG;
 * -EINVAL when signing fails; -ENOMEM. */
int ikurl_build(const struct ikurl_opts *o, const char *path, char *out, size_t cap);

#endif
