/* fs/blob_sas.h: a Shared Access Signature token as the user gave it (pure, no I/O).
 *
 * The token is kept byte for byte: its values are already URL-encoded, and decoding or
 * re-encoding them would break the signature. Only a leading '?' and surrounding white space
 * (a trailing newline in a file) are dropped. */
#ifndef FS_BLOB_SAS_H
#define FS_BLOB_SAS_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

/* Longest token accepted. */
#define BLOB_SAS_MAX 4096

/* Copy the token in[0..len) into out (capacity cap), without a leading '?' and without white
 * space around it. Returns the length written; -EINVAL when it is empty or holds white space,
 * control bytes, '#' or no "sig=", -E2BIG when it does not fit. */
ssize_t blob_sas_clean(const char *in, size_t len, char *out, size_t cap);

/* The expiry (se=) of a cleaned token, ISO 8601 UTC, ':' plain or as %3A, with or without
 * seconds and fraction, or a bare date. Returns 0, -ENOENT when absent, -EINVAL when malformed. */
int blob_sas_expiry(const char *sas, time_t *out);

#endif
