/* httpd/console_dir.h: one page of a folder as the console shows it.
 *
 * The folder is read in each of an endpoint's origins, opened with origin_open_dir() (so
 * confined exactly as files are); a name in an earlier origin hides the same name in a later
 * one, as for files. Entries come folders first, then by name (bytes), are filtered by a
 * substring (ASCII letters in any case), and paged by offset. Reading is bounded: past
 * CONSOLE_DIR_MAX_NAMES names, or CONSOLE_DIR_MAX_BYTES of them, the rest of the folder is
 * left out and the page says so (truncated).
 *
 * This does file-system I/O: blobhttpd calls it on its origin pool, never on an I/O thread. */
#ifndef HTTPD_CONSOLE_DIR_H
#define HTTPD_CONSOLE_DIR_H

#include "origin.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#define CONSOLE_DIR_MAX_NAMES 100000
#define CONSOLE_DIR_MAX_BYTES (8u << 20)
#define CONSOLE_DIR_MAX_ORIGINS 8

enum console_kind {
    CONSOLE_KIND_DIR,
    CONSOLE_KIND_FILE,
    CONSOLE_KIND_OTHER, /* a symlink, FIFO, socket or device: shown, never served */
};

struct console_entry {
    const char *name; /* (transfer none): valid until console_dir_release() */
    enum console_kind kind;
    bool stat_ok; /* size and mtime are known (the entry was still there) */
    off_t size;
    time_t mtime;
};

/* One page; the caller's, filled by console_dir_read(). */
struct console_page {
    size_t total;   /* entries that match the filter, in the whole (read) folder */
    bool truncated; /* the folder holds more than could be read */
    size_t n;       /* entries on this page */
    struct console_entry *entry;
    char *names;   /* private: the names' storage */
    void *records; /* private */
};

/* What to read: a folder, a filter, a page. */
struct console_query {
    const char *rel;    /* the folder: "" for the top, else checked by route_clean_path() */
    const char *filter; /* NULL or "" for every entry */
    size_t offset, limit;
    size_t max_names; /* names read at most: 0 (or more) is CONSOLE_DIR_MAX_NAMES */
};

/* Read folder q->rel of origins[0..norigins) and fill out with the entries that contain
 * q->filter, from the q->offset-th on, at most q->limit of them.
 * Returns 0; -ENOENT when no origin has such a folder (or only a file of that name); -ENOMEM;
 * or the first origin error that is not "missing" (-EIO, -ELOOP, -EACCES, ...). Release out
 * in every case. */
int console_dir_read(struct origin *const *origins, size_t norigins, const struct console_query *q,
                     struct console_page *out);

/* Free what console_dir_read() filled in. */
void console_dir_release(struct console_page *p);

#endif
