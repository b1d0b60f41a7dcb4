/* fs/blob_props.h: what Azure tells of a blob beyond its size, mtime and ETag (content type,
 * Content-MD5, cache control, blob type, access tier, user metadata), kept in one compact
 * allocation per blob version, and their view as read-only extended attributes. Pure: no I/O,
 * no locks, no logging (a value refused is noted in the record for the caller to log).
 *
 *     user.blob.etag  user.blob.content_type  user.blob.content_md5  user.blob.cache_control
 *     user.blob.last_modified (RFC 3339, UTC)  user.blob.access_tier  user.blob.type
 *     user.blob.meta.KEY (one per metadata pair)            folders: user.blob.prefix
 *
 * An attribute Azure does not give (no Content-MD5, an empty cache control) is absent. */
#ifndef FS_BLOB_PROPS_H
#define FS_BLOB_PROPS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

/* Caps. Azure allows 8 KiB of metadata per blob, names and values together; the whole record
 * stays below BLOB_PROPS_MAX whatever the service sends. */
#define BLOB_PROPS_MAX (12 * 1024)
#define BLOB_META_MAX 8192
#define BLOB_PROPS_VALUE_MAX 1024 /* content type, cache control */
#define BLOB_PROPS_WORD_MAX 32    /* blob type, access tier, Content-MD5 */
/* The longest metadata key: "user.blob.meta." (15 bytes) and the key fit in an extended
 * attribute's name (XATTR_NAME_MAX, 255). */
#define BLOB_META_KEY_MAX 240
/* The longest note of what was refused. */
#define BLOB_PROPS_NOTE_MAX 128

enum blob_prop {
    BLOB_PROP_CONTENT_TYPE,
    BLOB_PROP_CONTENT_MD5,
    BLOB_PROP_CACHE_CONTROL,
    BLOB_PROP_TYPE,
    BLOB_PROP_TIER,
    BLOB_PROP_META, /* one per metadata pair */
};

struct blob_props;

/* Add one property to *p, making the record when *p is NULL. key is the metadata key
 * (BLOB_PROP_META only, else NULL); value is kept byte for byte. An empty value adds nothing.
 * A value or key that breaks a cap or rule (a metadata key must be 1 to BLOB_META_KEY_MAX
 * bytes of A-Z a-z 0-9 _, as Azure's own names are; a type, tier or MD5 a short word) is not
 * kept: the first is described in the record (blob_props_refused) and the call returns 0.
 * Returns 0, or -ENOMEM (*p is then left as it was). */
int blob_props_add(struct blob_props **p, enum blob_prop kind, const char *key, const char *value);

/* The value of a property (BLOB_PROP_META: of key), or NULL when the blob has none.
 * (transfer none): valid while p lives. p may be NULL. */
const char *blob_props_get(const struct blob_props *p, enum blob_prop kind, const char *key);

/* Whether the blob is in the Archive access tier (its data cannot be read). */
bool blob_props_archived(const struct blob_props *p);

/* What the first refused property was ("metadata key 'caf\xc3\xa9' (not A-Z a-z 0-9 _)"),
 * and how many were refused; NULL when none. (transfer none). */
const char *blob_props_refused(const struct blob_props *p, unsigned *count);

/* An exact-size copy of p, (transfer full) to free with blob_props_free(); NULL when p is NULL
 * or out of memory. */
struct blob_props *blob_props_dup(const struct blob_props *p);

/* Whether a and b hold the same properties (either may be NULL). */
bool blob_props_equal(const struct blob_props *a, const struct blob_props *b);

/* Bytes p takes on the heap (for the figures of docs/blobfs.md). */
size_t blob_props_size(const struct blob_props *p);

void blob_props_free(struct blob_props *p);

/* What the extended attributes of one name are made of; pointers are (transfer none). */
struct blob_xattr {
    bool is_dir;
    const char *prefix; /* folders: the blob name prefix, "photos/" ("" at the container root) */
    const char *etag;   /* files: unquoted */
    time_t mtime;
    const struct blob_props *props; /* files; NULL: none known */
};

/* The attribute names of x, each NUL-terminated, into buf (capacity size), in the order of the
 * list above. Returns the bytes they take (with size 0, only that), or -ERANGE when size is
 * not 0 and too small: listxattr(2)'s protocol. */
ssize_t blob_xattr_list(const struct blob_xattr *x, char *buf, size_t size);

/* The value of attribute name (no NUL added) into buf, by the same protocol. Returns its
 * length, -ERANGE, or -ENODATA when x has no such attribute. */
ssize_t blob_xattr_get(const struct blob_xattr *x, const char *name, char *buf, size_t size);

#endif
