/* httpd/origin.h: an origin folder (usually a blobfs mount) and safe opens beneath it.
 *
 * The folder is opened once, at startup (lwan's document root), and every file is opened
 * relative to it with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS): no "..", absolute path
 * or symlink can lead outside, whatever the URL said. Kernels without openat2 get a walk of
 * openat(O_NOFOLLOW) per segment, which refuses the same things. When the folder's mount went
 * away under us (ENOTCONN: blobfs died), every request tries to open the folder again, until
 * it is a mount point again: a lazily unmounted folder is never taken for an empty origin. */
#ifndef HTTPD_ORIGIN_H
#define HTTPD_ORIGIN_H

#include <stdbool.h>
#include <sys/stat.h>

struct origin;

/* Open the folder at path. Returns: (transfer full) free with origin_free(), or NULL with
 * *err set to -errno. */
struct origin *origin_new(const char *path, int *err);
void origin_free(struct origin *o);

/* (transfer none) The folder's path as configured. */
const char *origin_path(const struct origin *o);

/* Open the regular file rel ("a/b.jpg", already checked by route_clean_path()) read-only,
 * with its attributes in *st.
 * Returns an fd, or -ENOENT (missing, or not a regular file), -ELOOP (a symlink on the way),
 * -EXDEV (escapes the folder), -EACCES, or the mount's error (-EIO, -ETIMEDOUT, -ENOTCONN). */
int origin_open(struct origin *o, const char *rel, struct stat *st);

/* Open the folder rel ("a/b", checked by route_clean_path(); "" is the origin folder itself)
 * for reading its entries (fdopendir), confined exactly as origin_open(), with its attributes
 * in *st. Returns an fd, or -ENOTDIR (a file or anything else that is no folder), -ENOENT,
 * -ELOOP, -EXDEV, -EACCES, or the mount's error. */
int origin_open_dir(struct origin *o, const char *rel, struct stat *st);

/* Whether the folder answers: a stat of its path, and, when it was a mount point at startup,
 * still one (not the empty folder under a mount that went away). Returns 0, -ENOTCONN for a
 * mount that died or is gone, or the stat's -errno. It blocks as long as the stat does. */
int origin_check(struct origin *o);

/* origin_open() without openat2, as on kernels before 5.6; exposed for the unit test. */
int origin_open_walk(int dirfd, const char *rel);

#endif
