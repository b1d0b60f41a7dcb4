/* fs/blob_name.h: blob names as URLs and as file names (pure, no I/O).
 *
 * A blob name is any UTF-8 string of up to 1024 characters; '/' separates virtual folders.
 * In a URL every byte but the unreserved ones is percent-encoded, so space, '%', '+', '#',
 * '?', '&' and non-ASCII round-trip exactly (space is never '+'). A name is shown as a file
 * only when each of its segments can be a Linux file name (blob_name_is_leaf). */
#ifndef FS_BLOB_NAME_H
#define FS_BLOB_NAME_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Longest file name a segment may have (Linux NAME_MAX). */
#define BLOB_NAME_LEAF_MAX 255

/* Percent-encode s[0..len) for a URL path into out (capacity cap, NUL-terminated): every byte
 * except A-Z a-z 0-9 - . _ ~ and '/' becomes %XX. Returns the length written, or
 * -ENAMETOOLONG when out is too small. */
ssize_t blob_name_encode_path(const char *s, size_t len, char *out, size_t cap);

/* The same for a query value: '/' is encoded too. */
ssize_t blob_name_encode_query(const char *s, size_t len, char *out, size_t cap);

/* Whether s[0..len) can be one file name: not empty, not "." or "..", at most
 * BLOB_NAME_LEAF_MAX bytes, and free of NUL, '/' and '\' (Azure turns '\' into '/'). */
bool blob_name_is_leaf(const char *s, size_t len);

#endif
