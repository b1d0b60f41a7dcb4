/* Unit test of httpd/conf: options from the command line and config files alike. */
#include "check.h"
#include "conf.h"

#include <errno.h>
#include <fcntl.h>

static char err[CONF_ERR_LEN];

static int set(struct conf *c, const char *name, const char *value)
{
    err[0] = '\0';
    return conf_set(c, name, value, err);
}

static void test_endpoints(void)
{
    struct conf c;

    conf_init(&c);
    ok(set(&c, "endpoint", "/demo=/mnt/a,/mnt/b") == 0, "endpoint with two origins");
    ok(c.nendpoints == 1 && !c.endpoint[0].host && strcmp(c.endpoint[0].prefix, "/demo") == 0,
       "prefix /demo, any host");
    ok(c.endpoint[0].norigins == 2 && strcmp(c.endpoint[0].origin[1], "/mnt/b") == 0,
       "ordered origins");
    ok(set(&c, "endpoint", "Static.Example.com/=/srv") == 0, "host-bound endpoint");
    ok_str(c.endpoint[1].host, "static.example.com", "host lowercased");
    ok_str(c.endpoint[1].prefix, "/", "prefix /");
    ok(set(&c, "public-endpoint", "/pub/=/srv") == 0 && c.endpoint[2].public, "public endpoint");
    ok(!c.endpoint[2].trusted_documents && set(&c, "trusted-documents", "/pub") == 0 &&
           c.endpoint[2].trusted_documents && !c.endpoint[1].trusted_documents,
       "trusted-documents marks the endpoint named before it");
    ok(set(&c, "trusted-documents", "/nowhere") == -EINVAL, "trusted-documents of no endpoint");
    ok(set(&c, "trusted-documents", "nohost") == -EINVAL, "trusted-documents without a prefix");
    ok_str(c.endpoint[2].prefix, "/pub", "trailing slash dropped");
    ok(set(&c, "endpoint", "/demo=/other") == -EINVAL, "duplicate refused: %s", err);
    static const char *const bad[] = {"demo=/x",      "/demo",
                                      "/a/../b=/x",   "/a//b=/x",
                                      "/a=",          "/a=/x,",
                                      "/a=,/x",       "/a?b=/x",
                                      "bad host/=/x", "/a=1,2,3,4,5,6,7,8,9"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ok(set(&c, "endpoint", bad[i]) == -EINVAL && strstr(err, "endpoint"), "refused %s: %s",
           bad[i], err);
    ok(c.nendpoints == 3, "refusals added nothing");
    conf_release(&c);
}

static void test_values(void)
{
    struct conf c;

    conf_init(&c);
    ok(c.cache_mb == 256 && c.auto_optimize && !c.avif_auto && !c.console, "defaults");
    ok(c.workers == (unsigned)sysconf(_SC_NPROCESSORS_ONLN) + 1 &&
           c.io_threads == (unsigned)sysconf(_SC_NPROCESSORS_ONLN),
       "a worker per core plus one (%u), an I/O thread per core (%u)", c.workers, c.io_threads);
    ok(c.header_timeout == 10 && c.max_connections_per_ip == 256 && c.origin_threads == 32 &&
           c.origin_queue == 256 && c.recheck == 5 && c.max_transform_mb == 512 &&
           c.transform_timeout == 30,
       "hardening defaults: header 10 s, 256 per IP, 32 origin threads, 256 queued, recheck 5 s, "
       "512 MiB and 30 s per transform");
    ok(set(&c, "header-timeout", "2") == 0 && c.header_timeout == 2, "header-timeout");
    ok(set(&c, "header-timeout", "0") == -EINVAL, "header-timeout 0 refused: %s", err);
    ok(set(&c, "max-connections-per-ip", "3") == 0 && c.max_connections_per_ip == 3, "per-IP");
    ok(set(&c, "origin-threads", "0") == -EINVAL, "0 origin threads refused");
    ok(set(&c, "recheck", "0") == 0 && c.recheck == 0, "recheck 0: always check the origin");
    ok(set(&c, "max-transform-mb", "64") == 0 && c.max_transform_mb == 64, "max-transform-mb");
    ok(set(&c, "transform-timeout", "5") == 0 && c.transform_timeout == 5, "transform-timeout");
    ok(set(&c, "cache-mb", "0") == 0 && c.cache_mb == 0, "cache off");
    ok(set(&c, "cache-mb", "-1") == -EINVAL, "negative refused: %s", err);
    ok(set(&c, "workers", "0") == -EINVAL, "0 workers refused");
    ok(set(&c, "workers", "4x") == -EINVAL, "junk refused");
    ok(set(&c, "auto-optimize", "off") == 0 && !c.auto_optimize, "bool off");
    ok(set(&c, "avif-auto", "maybe") == -EINVAL, "bad bool refused: %s", err);
    ok(set(&c, "console", "on") == 0 && c.console, "console on");
    ok(set(&c, "cache-control", "public, max-age=60") == 0 &&
           strcmp(c.cache_control, "public, max-age=60") == 0,
       "string value");
    ok(set(&c, "cache-control", "no-store") == 0 && strcmp(c.cache_control, "no-store") == 0,
       "string replaced");
    ok(set(&c, "named", "n-thumb=w-200,h-200") == 0 && strcmp(c.named[0].name, "thumb") == 0 &&
           strcmp(c.named[0].value, "w-200,h-200") == 0,
       "named, n- prefix optional");
    ok(set(&c, "named", "thumb") == -EINVAL, "named without chain refused");
    ok(set(&c, "named", "a:b=w-1") == -EINVAL, "named with ':' refused");
    ok(set(&c, "log-level", "debug") == 0 && c.log_level == LOG_LV_DEBUG, "log level");
    ok(!c.access_log_json && set(&c, "access-log-format", "json") == 0 && c.access_log_json,
       "access-log-format json (combined by default)");
    ok(set(&c, "access-log-format", "combined") == 0 && !c.access_log_json, "and back");
    ok(set(&c, "access-log-format", "common") == -EINVAL && strstr(err, "combined or json"),
       "another format refused: %s", err);
    ok(!c.metrics_listen && set(&c, "metrics-listen", "127.0.0.1:9102") == 0 &&
           strcmp(c.metrics_listen, "127.0.0.1:9102") == 0,
       "metrics-listen (none by default)");
    ok(set(&c, "nope", "1") == -EINVAL && strstr(err, "nope"), "unknown option: %s", err);
    ok(conf_check(&c, err) == -EINVAL, "no endpoint: %s", err);
    set(&c, "named", "thumb=w-1");
    set(&c, "endpoint", "/x=/y");
    ok(conf_check(&c, err) == -EINVAL && strstr(err, "twice"), "duplicate name: %s", err);
    conf_release(&c);
}

static void test_file(void)
{
    char path[] = "/tmp/blobkit-conf-XXXXXX";
    int fd = mkstemp(path);
    static const char text[] = "# blobhttpd config\n"
                               "\n"
                               "listen 127.0.0.1:9000\n"
                               "endpoint = /demo=/mnt/media\n"
                               "  cache-control   public, max-age=5  \n"
                               "named thumb=w-200,h-200\n";
    struct conf c;

    ok(fd >= 0 && write(fd, text, sizeof(text) - 1) == (ssize_t)sizeof(text) - 1, "config file");
    close(fd);
    conf_init(&c);
    ok(set(&c, "config", path) == 0, "read: %s", err);
    ok_str(c.listen, "127.0.0.1:9000", "name value");
    ok(c.nendpoints == 1 && strcmp(c.endpoint[0].origin[0], "/mnt/media") == 0, "name = value");
    ok_str(c.cache_control, "public, max-age=5", "value with spaces, trimmed");
    ok(c.nnamed == 1, "named");
    fd = open(path, O_WRONLY | O_TRUNC);
    ok(fd >= 0 && write(fd, "# x\nworkers lots\n", 17) == 17, "a file with a bad line");
    close(fd);
    ok(set(&c, "config", path) == -EINVAL && strstr(err, ":2:") && strstr(err, "workers"),
       "error names file, line and option: %s", err);
    ok(set(&c, "config", "/nonexistent/x.conf") == -ENOENT, "missing file: %s", err);
    conf_release(&c);
    unlink(path);
}

int main(void)
{
    test_endpoints();
    test_values();
    test_file();
    return check_done();
}
