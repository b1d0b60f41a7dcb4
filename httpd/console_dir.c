/* httpd/console_dir.c: a page of a folder across an endpoint's origins (see console_dir.h). */
#include "console_dir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* One name read, its bytes in the reader's arena. */
struct record {
    uint32_t off;
    uint8_t origin;
    uint8_t kind; /* enum console_kind */
};

struct reader {
    DIR *dir[CONSOLE_DIR_MAX_ORIGINS]; /* NULL: the origin has no such folder */
    size_t ndirs;
    char *arena;
    size_t used, alloc; /* at most CONSOLE_DIR_MAX_BYTES */
    struct record *rec;
    size_t n, nalloc; /* at most max_names */
    size_t max_names;
    bool truncated;
};

/* Open the folder in every origin. Only "missing" (or "not a folder") falls through. */
static int open_all(struct reader *r, struct origin *const *origins, size_t n, const char *rel)
{
    bool found = false;
    struct stat st;

    for (r->ndirs = 0; r->ndirs < n; r->ndirs++) {
        int fd = origin_open_dir(origins[r->ndirs], rel, &st);
        if (fd == -ENOENT || fd == -ENOTDIR)
            continue;
        if (fd < 0)
            return fd;
        r->dir[r->ndirs] = fdopendir(fd);
        if (!r->dir[r->ndirs]) {
            close(fd);
            return -ENOMEM;
        }
        found = true;
    }
    return found ? 0 : -ENOENT;
}

static enum console_kind kind_of(DIR *d, const struct dirent *e)
{
    struct stat st;

    if (e->d_type == DT_DIR)
        return CONSOLE_KIND_DIR;
    if (e->d_type == DT_REG)
        return CONSOLE_KIND_FILE;
    if (e->d_type != DT_UNKNOWN ||
        fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT) != 0)
        return CONSOLE_KIND_OTHER;
    return S_ISDIR(st.st_mode)   ? CONSOLE_KIND_DIR
           : S_ISREG(st.st_mode) ? CONSOLE_KIND_FILE
                                 : CONSOLE_KIND_OTHER;
}

/* Make room for one more record and len bytes of name. Returns 0, -ENOSPC once a cap is
 * reached, or -ENOMEM. */
static int grow(struct reader *r, size_t len)
{
    if (r->n == r->max_names || r->used + len > CONSOLE_DIR_MAX_BYTES)
        return -ENOSPC;
    if (r->n == r->nalloc) {
        size_t want = r->nalloc ? r->nalloc * 2 : 256;
        want = want < r->max_names ? want : r->max_names;
        struct record *p = realloc(r->rec, want * sizeof(*p));
        if (!p)
            return -ENOMEM;
        r->rec = p;
        r->nalloc = want;
    }
    if (r->used + len > r->alloc) {
        size_t want = r->alloc ? r->alloc * 2 : 16384;
        while (want < r->used + len)
            want *= 2;
        want = want < CONSOLE_DIR_MAX_BYTES ? want : CONSOLE_DIR_MAX_BYTES;
        char *p = realloc(r->arena, want);
        if (!p)
            return -ENOMEM;
        r->arena = p;
        r->alloc = want;
    }
    return 0;
}

/* Every entry of origin i's folder, until a cap. Returns 0, or the listing's -errno. */
static int read_one(struct reader *r, size_t i)
{
    DIR *d = r->dir[i];

    for (;;) {
        errno = 0;
        struct dirent *e = readdir(d);
        if (!e)
            return errno ? -errno : 0;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        size_t len = strlen(e->d_name) + 1;
        int rc = grow(r, len);
        if (rc) {
            r->truncated = rc == -ENOSPC;
            return rc == -ENOSPC ? 0 : rc;
        }
        memcpy(r->arena + r->used, e->d_name, len);
        r->rec[r->n++] = (struct record){(uint32_t)r->used, (uint8_t)i, (uint8_t)kind_of(d, e)};
        r->used += len;
    }
}

static int by_name(const void *a, const void *b, void *arena)
{
    const struct record *x = a, *y = b;
    int c = strcmp((const char *)arena + x->off, (const char *)arena + y->off);

    return c ? c : (int)x->origin - (int)y->origin;
}

static int folders_first(const void *a, const void *b, void *arena)
{
    const struct record *x = a, *y = b;
    bool xd = x->kind == CONSOLE_KIND_DIR, yd = y->kind == CONSOLE_KIND_DIR;

    return xd != yd ? (xd ? -1 : 1) : by_name(a, b, arena);
}

/* Sort, and with several origins keep the first origin's entry of each name. */
static void sort_records(struct reader *r)
{
    size_t kept = 0;

    if (r->n == 0)
        return; /* an empty folder: no array at all */
    if (r->ndirs > 1) {
        qsort_r(r->rec, r->n, sizeof(*r->rec), by_name, r->arena);
        for (size_t i = 0; i < r->n; i++) {
            if (kept && strcmp(r->arena + r->rec[kept - 1].off, r->arena + r->rec[i].off) == 0)
                continue;
            r->rec[kept++] = r->rec[i];
        }
        r->n = kept;
    }
    qsort_r(r->rec, r->n, sizeof(*r->rec), folders_first, r->arena);
}

/* An entry of the page, with its size and time when it can still be stat()ed. */
static void fill_entry(struct reader *r, const struct record *rec, struct console_entry *e)
{
    struct stat st;

    e->name = r->arena + rec->off;
    e->kind = (enum console_kind)rec->kind;
    e->stat_ok = fstatat(dirfd(r->dir[rec->origin]), e->name, &st,
                         AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT) == 0;
    e->size = e->stat_ok ? st.st_size : 0;
    e->mtime = e->stat_ok ? st.st_mtim.tv_sec : 0;
}

/* The filter, then the page. */
static int select_page(struct reader *r, const struct console_query *q, struct console_page *out)
{
    const char *filter = q->filter && q->filter[0] ? q->filter : NULL;

    out->entry = calloc(q->limit ? q->limit : 1, sizeof(*out->entry));
    if (!out->entry)
        return -ENOMEM;
    for (size_t i = 0; i < r->n; i++) {
        if (filter && !strcasestr(r->arena + r->rec[i].off, filter))
            continue;
        if (out->total >= q->offset && out->n < q->limit)
            fill_entry(r, &r->rec[i], &out->entry[out->n++]);
        out->total++;
    }
    return 0;
}

int console_dir_read(struct origin *const *origins, size_t norigins, const struct console_query *q,
                     struct console_page *out)
{
    struct reader r = {0};
    int rc = norigins <= CONSOLE_DIR_MAX_ORIGINS ? 0 : -EINVAL;

    memset(out, 0, sizeof(*out));
    r.max_names =
        q->max_names && q->max_names < CONSOLE_DIR_MAX_NAMES ? q->max_names : CONSOLE_DIR_MAX_NAMES;
    if (rc == 0)
        rc = open_all(&r, origins, norigins, q->rel);
    for (size_t i = 0; rc == 0 && i < r.ndirs && !r.truncated; i++)
        rc = r.dir[i] ? read_one(&r, i) : 0;
    if (rc == 0) {
        sort_records(&r);
        rc = select_page(&r, q, out);
    }
    out->truncated = r.truncated;
    out->names = r.arena;
    out->records = r.rec;
    for (size_t i = 0; i < r.ndirs; i++) {
        if (r.dir[i])
            closedir(r.dir[i]);
    }
    return rc;
}

void console_dir_release(struct console_page *p)
{
    free(p->entry);
    free(p->names);
    free(p->records);
    memset(p, 0, sizeof(*p));
}
