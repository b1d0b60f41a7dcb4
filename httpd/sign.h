/* httpd/sign.h: ImageKit signed URLs (ik-s, ik-t), verified exactly as the official SDKs sign
 * them (docs/blobhttpd.md, "Signed URLs"). Pure apart from OpenSSL's HMAC and
 * sign_read_key().
 *
 * The SDKs sign the URL they emit, minus "urlEndpoint/", plus the expiry:
 *     HMAC-SHA1(key, "tr:w-300/a.jpg?x=1" + "1767225600") -> ik-s, lowercase hex
 * so the server hashes the raw request target after the endpoint, never a decoded form. */
#ifndef HTTPD_SIGN_H
#define HTTPD_SIGN_H

#include <stddef.h>
#include <time.h>

#define SIGN_NO_EXPIRY "9999999999" /* what the SDKs sign when a URL never expires */
#define SIGN_HEX_LEN 41             /* 40 hex digits and a NUL */

/* The text the SDKs sign for rest[0..len) (the raw target after "ENDPOINT/"): rest with its
 * ik-s, ik-t, ik-sdk-version and sdk-version query pairs removed (the others kept as sent, in
 * order, and no dangling '?'), then ik-t's value or SIGN_NO_EXPIRY. Written to out (capacity
 * cap, NUL-terminated). Returns the length, or -ENAMETOOLONG. */
int sign_string(const char *rest, size_t len, char *out, size_t cap);

/* Lowercase hex of HMAC-SHA1(key, msg) into out. Returns 0, or -EINVAL if OpenSSL fails. */
int sign_hmac_hex(const void *key, size_t keylen, const char *msg, size_t len,
                  char out[SIGN_HEX_LEN]);

/* Verify the ik-s of rest[0..len) with key at time now (Unix seconds), comparing in constant
 * time. Returns 0; -ENOKEY when the URL carries no ik-s; -EKEYREJECTED when ik-s or ik-t is
 * malformed or the signature does not match; -EKEYEXPIRED when it matches but ik-t is past. */
int sign_verify(const void *key, size_t keylen, const char *rest, size_t len, time_t now);

/* The private key in the file path, as blobhttpd and blobkit-url both read it: its bytes
 * without a trailing newline, into key (capacity cap). Returns its length; -EFBIG when it
 * fills cap, -ENODATA when empty, or -errno. */
int sign_read_key(const char *path, unsigned char *key, size_t cap);

#endif
