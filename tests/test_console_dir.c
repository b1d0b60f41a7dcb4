/* Unit test of httpd/console_dir on scratch folders: two origins merged (the first one's entry
 * of a name wins), folders first then by name, the filter, paging and totals, symlinks shown
 * but not followed, confinement, and a folder past the name cap read up to it (truncated). */
#include "check.h"
#include "console_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

static char top[64];

static void put_file(const char *rel, size_t size)
{
    char p[256];

    snprintf(p, sizeof(p), "%s/%s", top, rel);
    int fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd < 0 || ftruncate(fd, (off_t)size) != 0)
        exit(2);
    close(fd);
}

static void put_dir(const char *rel)
{
    char p[256];

    snprintf(p, sizeof(p), "%s/%s", top, rel);
    if (mkdir(p, 0755) != 0)
        exit(2);
}

static void make_tree(void)
{
    char p[256];

    snprintf(top, sizeof(top), "/tmp/blobkit-console-dir-XXXXXX");
    if (!mkdtemp(top))
        exit(2);
    put_dir("one");
    put_dir("two");
    put_dir("one/photos");
    put_dir("one/Zeta");
    put_file("one/b.txt", 1);
    put_file("one/A.JPG", 2);
    put_file("one/<x>&\"'.jpg", 3);
    put_dir("two/photos");
    put_dir("two/more");
    put_file("two/b.txt", 100);
    put_file("two/c.txt", 4);
    put_file("two/one.txt", 5);
    put_dir("one/big");
    snprintf(p, sizeof(p), "%s/one/link", top);
    if (symlink("/etc", p) != 0)
        exit(2);
}

/* "name/ name ..." of a page, folders marked with a slash, symlinks with '@'. */
static const char *names(const struct console_page *pg)
{
    static char out[512];
    size_t n = 0;

    out[0] = '\0';
    for (size_t i = 0; i < pg->n && n < sizeof(out) - 1; i++) {
        const struct console_entry *e = &pg->entry[i];
        const char *mark = e->kind == CONSOLE_KIND_DIR     ? "/"
                           : e->kind == CONSOLE_KIND_OTHER ? "@"
                                                           : "";
        n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%s%s", i ? " " : "", e->name, mark);
    }
    return out;
}

static int read_page(struct origin *const *o, const char *rel, const char *filter, size_t offset,
                     size_t limit, struct console_page *pg)
{
    struct console_query q = {rel, filter, offset, limit, 1000};

    return console_dir_read(o, 2, &q, pg);
}

static void merged(struct origin *const *o)
{
    struct console_page pg;

    int rc = read_page(o, "", NULL, 0, 100, &pg);
    ok(rc == 0 && pg.total == 10 && !pg.truncated, "the top of two origins: %zu entries", pg.total);
    ok_str(names(&pg), "Zeta/ big/ more/ photos/ <x>&\"'.jpg A.JPG b.txt c.txt link@ one.txt",
           "folders first, then by name; a name in both origins once");
    for (size_t i = 0; i < pg.n; i++) {
        if (strcmp(pg.entry[i].name, "b.txt") == 0)
            ok(pg.entry[i].stat_ok && pg.entry[i].size == 1, "b.txt is the first origin's");
        if (strcmp(pg.entry[i].name, "c.txt") == 0)
            ok(pg.entry[i].stat_ok && pg.entry[i].size == 4 && pg.entry[i].mtime > 0,
               "c.txt comes from the second");
    }
    console_dir_release(&pg);
    ok(read_page(o, "", NULL, 3, 4, &pg) == 0 && pg.total == 10 && pg.n == 4,
       "a page: offset 3, 4 entries of 10");
    ok_str(names(&pg), "photos/ <x>&\"'.jpg A.JPG b.txt", "the right four");
    console_dir_release(&pg);
    ok(read_page(o, "", NULL, 10, 4, &pg) == 0 && pg.total == 10 && pg.n == 0,
       "past the end: no entries, the total still said");
    console_dir_release(&pg);
    ok(read_page(o, "", "a.jp", 0, 100, &pg) == 0 && pg.total == 1, "the filter ignores case");
    ok_str(names(&pg), "A.JPG", "and finds A.JPG");
    console_dir_release(&pg);
}

static void refused(struct origin *const *o)
{
    struct console_page pg;

    ok(read_page(o, "photos", NULL, 0, 10, &pg) == 0 && pg.total == 0,
       "a folder in both origins, empty in both");
    console_dir_release(&pg);
    ok(read_page(o, "more", NULL, 0, 10, &pg) == 0, "a folder of the second origin");
    console_dir_release(&pg);
    ok(read_page(o, "nope", NULL, 0, 10, &pg) == -ENOENT, "a missing folder: ENOENT");
    console_dir_release(&pg);
    ok(read_page(o, "b.txt", NULL, 0, 10, &pg) == -ENOENT, "a file is no folder");
    console_dir_release(&pg);
    ok(read_page(o, "link", NULL, 0, 10, &pg) == -ELOOP, "a symlink is not followed");
    console_dir_release(&pg);
    ok(read_page(o, "..", NULL, 0, 10, &pg) == -EXDEV, "'..' is refused");
    console_dir_release(&pg);
}

/* 1005 names with a cap of 1000 (the default cap works the same, 100 times slower to set up):
 * the page says truncated. */
static void capped(struct origin *const *o)
{
    struct console_page pg;
    char rel[64];

    for (int i = 0; i < 1005; i++) {
        snprintf(rel, sizeof(rel), "one/big/%06d", i);
        put_file(rel, 0);
    }
    int rc = read_page(o, "big", NULL, 0, 10, &pg);
    ok(rc == 0 && pg.truncated && pg.total == 1000 && pg.n == 10,
       "past the cap: %zu names, truncated", pg.total);
    console_dir_release(&pg);
}

int main(void)
{
    char p[256];
    int err = 0;

    make_tree();
    snprintf(p, sizeof(p), "%s/one", top);
    struct origin *o[2] = {origin_new(p, &err), NULL};
    snprintf(p, sizeof(p), "%s/two", top);
    o[1] = origin_new(p, &err);
    if (!o[0] || !o[1])
        return 2;
    merged(o);
    refused(o);
    capped(o);
    origin_free(o[0]);
    origin_free(o[1]);
    snprintf(p, sizeof(p), "rm -rf '%s'", top);
    if (system(p) != 0)
        printf("# cannot remove %s\n", top);
    return check_done();
}
