/* Unit tests for httpd/vidcache.c, on a real folder under a mkdtemp() one: results written under
 * tmp/ and renamed into place, opened again, files of a package folder, the lock (one server
 * per folder), least recently used out first past the budget, the totals after a restart, a
 * crashed server's temporary files removed, a private folder removed at the end. */
#include "vidcache.h"

#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

static char root[] = "/tmp/test_vidcache.XXXXXX";
static char dir[256];

/* A result named for key, of size bytes of c, committed; its mtime set hours_ago in the past. */
static void put(struct vidcache *vc, const char *key, size_t size, char ch, int hours_ago)
{
    char tmp[VIDCACHE_PATH_MAX], name[VIDCACHE_NAME_LEN], path[512], buf[4096];
    struct timespec t[2];

    memset(buf, ch, sizeof(buf));
    vidcache_name(key, strlen(key), "mp4", name);
    ok(vidcache_begin(vc, false, "mp4", tmp) == 0, "%s: a temporary file", key);
    int fd = open(tmp, O_WRONLY);
    ok(fd >= 0 && write(fd, buf, size) == (ssize_t)size, "  written");
    close(fd);
    ok(vidcache_commit(vc, tmp, name) == 0, "  committed");
    ok(access(tmp, F_OK) != 0, "  no longer under tmp/");
    clock_gettime(CLOCK_REALTIME, &t[0]);
    t[0].tv_sec -= hours_ago * 3600;
    t[1] = t[0];
    snprintf(path, sizeof(path), "%s/res/%s", dir, name);
    utimensat(AT_FDCWD, path, t, 0);
}

/* Whether the result of key is there, holding its size bytes of ch. */
static bool has(struct vidcache *vc, const char *key, size_t size, char ch)
{
    char name[VIDCACHE_NAME_LEN], buf[4096];
    struct stat st;

    vidcache_name(key, strlen(key), "mp4", name);
    int fd = vidcache_open(vc, name, NULL, &st);
    bool good = fd >= 0 && (size_t)st.st_size == size && read(fd, buf, size) == (ssize_t)size &&
                buf[0] == ch && buf[size - 1] == ch;
    if (fd >= 0)
        close(fd);
    return good;
}

static void test_results(void)
{
    char err[VIDCACHE_ERR_LEN], name[VIDCACHE_NAME_LEN];
    struct vidcache_stats s;
    struct stat st;
    struct vidcache *vc = vidcache_new(dir, 1000, err);

    ok(vc != NULL, "a cache in a new folder: %s", vc ? "" : err);
    ok(vidcache_new(dir, 1000, err) == NULL && strstr(err, "in use by another blobhttpd"),
       "a second server cannot use the folder: %s", err);
    vidcache_name("k", 1, "mp4", name);
    ok_str(name, "8254c329a92850f6d539dd376f4816ee2764517da5e0235514af433164480d7a.mp4",
           "a result's name is the key's SHA-256");
    ok(vidcache_open(vc, name, NULL, &st) == -ENOENT, "no result yet: -ENOENT");
    put(vc, "a", 400, 'a', 3);
    put(vc, "b", 400, 'b', 2);
    vidcache_get_stats(vc, &s);
    ok(s.bytes == 800 && s.entries == 2 && s.evicted == 0, "800 bytes in 2 results");
    ok(has(vc, "a", 400, 'a'), "a reads back (and is now the most recently used)");
    put(vc, "c", 400, 'c', 0); /* 1200 > 1000: down to 900, the least recently used first */
    vidcache_get_stats(vc, &s);
    ok(s.bytes == 800 && s.entries == 2 && s.evicted == 1, "past the budget, one evicted");
    ok(!has(vc, "b", 400, 'b') && has(vc, "a", 400, 'a') && has(vc, "c", 400, 'c'),
       "the least recently used one (b: a was read since)");
    vidcache_free(vc);
}

static void test_restart_and_packages(void)
{
    char err[VIDCACHE_ERR_LEN], tmp[VIDCACHE_PATH_MAX], path[VIDCACHE_PATH_MAX + 32];
    struct vidcache_stats s;
    struct stat st;
    struct vidcache *vc;

    snprintf(path, sizeof(path), "%s/tmp/crashed.mp4", dir);
    close(open(path, O_WRONLY | O_CREAT, 0644));
    vc = vidcache_new(dir, 1000, err);
    vidcache_get_stats(vc, &s);
    ok(vc && s.bytes == 800 && s.entries == 2, "after a restart the results are counted again");
    ok(access(path, F_OK) != 0, "  and a crashed server's temporary file is gone");
    ok(has(vc, "a", 400, 'a') && has(vc, "c", 400, 'c'), "  and read back");
    ok(vidcache_begin(vc, true, "hls", tmp) == 0, "a temporary folder for a package");
    snprintf(path, sizeof(path), "%s/ik-master.m3u8", tmp);
    int fd = open(path, O_WRONLY | O_CREAT, 0644);
    ok(fd >= 0 && write(fd, "#EXTM3U\n", 8) == 8, "  a file in it");
    close(fd);
    ok(vidcache_commit(vc, tmp, "p.hls") == 0, "  committed");
    fd = vidcache_open(vc, "p.hls", "ik-master.m3u8", &st);
    ok(fd >= 0 && st.st_size == 8, "a file of the package opens");
    close(fd);
    ok(vidcache_open(vc, "p.hls", "ik-none.ts", &st) == -ENODATA, "a missing one is -ENODATA");
    ok(vidcache_open(vc, "q.hls", "ik-master.m3u8", &st) == -ENOENT, "a missing package -ENOENT");
    ok(vidcache_open(vc, "p.hls", NULL, &st) == -ENOENT, "the folder is no file");
    ok(vidcache_begin(vc, false, "mp4", tmp) == 0, "a temporary file");
    vidcache_abort(vc, tmp);
    ok(access(tmp, F_OK) != 0, "  removed by abort");
    ok(vidcache_commit(vc, "/etc/passwd", "x.mp4") == -EINVAL, "only our temporary files commit");
    vidcache_free(vc);
}

static void test_private(void)
{
    char err[VIDCACHE_ERR_LEN], tmp[VIDCACHE_PATH_MAX], top[VIDCACHE_PATH_MAX];
    struct vidcache *vc;

    setenv("TMPDIR", root, 1);
    vc = vidcache_new(NULL, 1000, err);
    ok(vc && vidcache_begin(vc, false, "jpg", tmp) == 0 && vidcache_commit(vc, tmp, "x.jpg") == 0,
       "a private folder takes results");
    snprintf(top, sizeof(top), "%s", tmp);
    *strrchr(top, '/') = '\0'; /* TOP/tmp/NAME */
    *strrchr(top, '/') = '\0';
    ok(strncmp(top, root, strlen(root)) == 0, "  under $TMPDIR: %s", top);
    vidcache_free(vc);
    ok(access(top, F_OK) != 0, "  and is gone with the server");
}

int main(void)
{
    if (!mkdtemp(root))
        return 2;
    snprintf(dir, sizeof(dir), "%s/cache", root);
    test_results();
    test_restart_and_packages();
    test_private();
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    ok(system(cmd) == 0, "cleaned up");
    return check_done();
}
