/* httpd/fonts.h: the font files of text layers (ff-PATH), copied from the endpoint into a folder
 * of the server's own under their identity.
 *
 * fontconfig, under Pango under libvips's text, reads a font by its path and keeps it for the
 * life of the process: the path it is given must stay valid and its bytes must never change.
 * An origin's file does neither (a blob replaced on the mount keeps its path), so each
 * version is copied once, named by its identity (device, inode, size, mtime), into a folder
 * made at startup (mkdtemp in $TMPDIR) and removed at exit. fontconfig never forgets a font,
 * so a process takes at most FONTS_MAX distinct files. */
#ifndef HTTPD_FONTS_H
#define HTTPD_FONTS_H

#include <stddef.h>
#include <sys/stat.h>

#define FONTS_MAX 64       /* distinct font files one process takes */
#define FONTS_PATH_MAX 256 /* a copy's path */

struct fonts;

/* Make the folder. Returns: (transfer full) free with fonts_free(), or NULL with *err set. */
struct fonts *fonts_new(int *err);

/* Remove the folder and its copies, then free f. NULL: nothing. */
void fonts_free(struct fonts *f);

/* The path of the copy of fd's file (identity st, at most cap bytes long) into out: copied
 * now unless an earlier request did. Returns 0, -E2BIG (over cap, or a FONTS_MAX-th + 1 file),
 * or the read's or the write's -errno. Thread-safe; does file I/O: never on an I/O thread. */
int fonts_path(struct fonts *f, int fd, const struct stat *st, size_t cap,
               char out[FONTS_PATH_MAX]);

#endif
