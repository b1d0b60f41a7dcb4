/* Unit test of httpd/origin: files and folders open beneath the folder and nowhere else, with
 * openat2 and with the per-segment fallback, on a scratch tree with symlinks pointing in and
 * out. */
#include "check.h"
#include "origin.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

static char root[64], outside[64];

static void make_tree(void)
{
    char p[256];

    snprintf(root, sizeof(root), "/tmp/blobkit-origin-XXXXXX");
    snprintf(outside, sizeof(outside), "/tmp/blobkit-outside-XXXXXX");
    if (!mkdtemp(root) || !mkdtemp(outside))
        exit(2);
    snprintf(p, sizeof(p), "%s/secret", outside);
    close(open(p, O_CREAT | O_WRONLY, 0600));
    snprintf(p, sizeof(p), "%s/a", root);
    mkdir(p, 0755);
    snprintf(p, sizeof(p), "%s/a/b.txt", root);
    int fd = open(p, O_CREAT | O_WRONLY, 0644);
    if (fd < 0 || write(fd, "hello", 5) != 5)
        exit(2);
    close(fd);
    snprintf(p, sizeof(p), "%s/out", root);
    if (symlink(outside, p) || (snprintf(p, sizeof(p), "%s/link.txt", root), 0) ||
        symlink("a/b.txt", p) || (snprintf(p, sizeof(p), "%s/fifo", root), 0) || mkfifo(p, 0644))
        exit(2);
}

static void clean_tree(void)
{
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", root, outside);
    if (system(cmd) != 0)
        printf("# cannot remove %s\n", root);
}

int main(void)
{
    struct stat st;
    int err = 0;

    make_tree();
    struct origin *o = origin_new(root, &err);
    ok(o != NULL, "origin opened");
    ok(origin_new("/nonexistent/dir", &err) == NULL && err == -ENOENT, "missing folder: ENOENT");
    int fd = origin_open(o, "a/b.txt", &st);
    ok(fd >= 0 && st.st_size == 5, "a file beneath the origin");
    close(fd);
    ok(origin_open(o, "a/missing", &st) == -ENOENT, "missing file: ENOENT");
    ok(origin_open(o, "a", &st) == -ENOENT, "a folder is no file");
    ok(origin_open(o, "fifo", &st) == -ENOENT, "a FIFO is no file (and does not block)");
    ok(origin_open(o, "out/secret", &st) == -ELOOP, "symlink out of the origin refused");
    ok(origin_open(o, "link.txt", &st) == -ELOOP, "symlink inside refused too");
    ok(origin_open(o, "../etc/passwd", &st) == -EXDEV, "'..' escape refused");
    ok(origin_open(o, "a/b.txt/x", &st) == -ENOTDIR, "a file used as folder");
    ok(origin_open(o, "", &st) == -ENOENT, "the origin folder itself is no file");

    fd = origin_open_dir(o, "a", &st);
    ok(fd >= 0 && S_ISDIR(st.st_mode), "folders: a folder beneath the origin");
    close(fd);
    fd = origin_open_dir(o, "", &st);
    ok(fd >= 0 && S_ISDIR(st.st_mode) && fcntl(fd, F_GETFL) >= 0 && lseek(fd, 0, SEEK_SET) == 0,
       "folders: \"\" is the origin folder, readable");
    close(fd);
    ok(origin_open_dir(o, "a/b.txt", &st) == -ENOTDIR, "folders: a file is no folder");
    ok(origin_open_dir(o, "fifo", &st) == -ENOTDIR, "folders: a FIFO is no folder");
    ok(origin_open_dir(o, "out", &st) == -ELOOP, "folders: symlink out of the origin refused");
    ok(origin_open_dir(o, "..", &st) == -EXDEV, "folders: '..' refused");
    ok(origin_open_dir(o, "a/../..", &st) == -EXDEV, "folders: 'a/../..' refused");
    ok(origin_open_dir(o, "nope", &st) == -ENOENT, "folders: missing");

    int dirfd = open(root, O_PATH | O_DIRECTORY);
    fd = origin_open_walk(dirfd, "a/b.txt");
    ok(fd >= 0, "fallback: a file beneath the origin");
    close(fd);
    ok(origin_open_walk(dirfd, "out/secret") < 0, "fallback: symlink folder refused");
    ok(origin_open_walk(dirfd, "link.txt") == -ELOOP, "fallback: symlink file refused");
    ok(origin_open_walk(dirfd, "../x") == -EXDEV, "fallback: '..' refused");
    ok(origin_open_walk(dirfd, "a/missing") == -ENOENT, "fallback: missing");
    close(dirfd);
    origin_free(o);
    clean_tree();
    return check_done();
}
