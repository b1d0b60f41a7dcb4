/* Unit test of httpd/fonts: a font file is copied once per identity into the server's folder,
 * byte for byte; another identity (a replaced file) is another copy; the count is capped;
 * fonts_free() removes the folder. */
#include "check.h"
#include "fonts.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* A file of n bytes of c under dir; returns its fd (read-only) with its stat. */
static int make_file(const char *dir, const char *name, int c, size_t n, struct stat *st)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    for (size_t i = 0; f && i < n; i++)
        fputc(c, f);
    if (f)
        fclose(f);
    int fd = open(path, O_RDONLY);
    if (fd >= 0)
        fstat(fd, st);
    return fd;
}

static bool holds(const char *path, int c, size_t n)
{
    FILE *f = fopen(path, "r");
    size_t got = 0;
    int ch;
    bool same = f != NULL;

    while (f && (ch = fgetc(f)) != EOF) {
        same = same && ch == c;
        got++;
    }
    if (f)
        fclose(f);
    return same && got == n;
}

int main(void)
{
    char src[] = "/tmp/test_http_fonts.XXXXXX", a[FONTS_PATH_MAX], b[FONTS_PATH_MAX];
    char c2[FONTS_PATH_MAX], dir[FONTS_PATH_MAX];
    struct stat st1, st2;
    int err = 0, rc = 0;
    struct fonts *f = fonts_new(&err);

    if (!mkdtemp(src) || !f)
        return 2;
    int fd1 = make_file(src, "one.ttf", 'x', 100000, &st1);
    int fd2 = make_file(src, "two.ttf", 'y', 10, &st2);
    ok(fonts_path(f, fd1, &st1, 1 << 20, a) == 0 && holds(a, 'x', 100000),
       "a font file is copied whole: %s", a);
    ok(fonts_path(f, fd1, &st1, 1 << 20, b) == 0 && strcmp(a, b) == 0,
       "the same file again: the same copy");
    ok(fonts_path(f, fd2, &st2, 1 << 20, c2) == 0 && strcmp(a, c2) != 0 && holds(c2, 'y', 10),
       "another file: another copy");
    ok(fonts_path(f, fd1, &st1, 1000, b) == -E2BIG, "over the size cap: -E2BIG");
    for (int i = 0; i < FONTS_MAX && rc == 0; i++) {
        struct stat st = st2;

        st.st_ino += 1000 + (ino_t)i; /* as many other identities */
        rc = fonts_path(f, fd2, &st, 1 << 20, b);
    }
    ok(rc == -E2BIG, "past %d files: -E2BIG", FONTS_MAX);
    snprintf(dir, sizeof(dir), "%s", a);
    *strrchr(dir, '/') = '\0';
    fonts_free(f);
    ok(access(dir, F_OK) != 0 && errno == ENOENT, "fonts_free() removes the folder %s", dir);
    fonts_free(NULL);
    close(fd1);
    close(fd2);
    snprintf(a, sizeof(a), "%s/one.ttf", src);
    unlink(a);
    snprintf(a, sizeof(a), "%s/two.ttf", src);
    unlink(a);
    rmdir(src);
    return check_done();
}
