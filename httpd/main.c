/* httpd/main.c: blobhttpd's options, startup and signal handling.
 *
 *     blobhttpd --listen 127.0.0.1:8080 --endpoint /demo=/mnt/media
 *
 * main() fills the one struct conf (command line and --config files), reads the signing key
 * from its file, starts libvips and the server, then waits for signals in sigtimedwait():
 * signals are blocked in every thread, so no handler runs anywhere. SIGTERM/SIGINT stop;
 * SIGHUP reopens the logs and re-reads the signing key (docs/blobhttpd.md, "Reload"). systemd
 * hears READY=1 once the server listens (Type=notify), RELOADING=1 around a reload and
 * STOPPING=1 at the end (libsystemd's sd_notify(); nothing without $NOTIFY_SOCKET). */
#include "conf.h"
#include "log.h"
#include "sign.h"
#include "srv.h"
#include "tr.h"
#include "vid.h"

#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#define MAX_OPTIONS 64
#define KEY_MAX 1024
#define MALLOC_ARENAS 2    /* glibc's default is 8 per core: each grows on its own */
#define TRIM_INTERVAL_S 10 /* hand freed heap memory back to the kernel this often */

enum { OPT_HELP = 1000, OPT_VERSION };

static void usage(FILE *out)
{
    fprintf(out, "usage: blobhttpd [OPTIONS] --endpoint [HOST]/PREFIX=DIR[,DIR...] ...\n\n"
                 "Serve files from origin folders (blobfs mounts or any folder) with "
                 "ImageKit-style URLs:\n"
                 "  GET /PREFIX/tr:w-300,h-300/path/to/image.jpg\n"
                 "  GET /PREFIX/path/to/image.jpg?tr=w-300,h-300\n\n"
                 "Options (each also works as a \"name value\" line in a --config file):\n");
    conf_usage(out);
    fprintf(out, "  %-28s %s\n  %-28s %s\n", "--help", "this text", "--version",
            "print the version");
}

/* Options in getopt_long's terms: every conf option takes an argument, and getopt_long()
 * returns its index. Returns the number of conf options. */
static int build_longopts(struct option *lo)
{
    int n = 0;

    for (const char *name; n < MAX_OPTIONS - 3 && (name = conf_option_name((size_t)n)); n++)
        lo[n] = (struct option){name, required_argument, NULL, n};
    lo[n] = (struct option){"help", no_argument, NULL, OPT_HELP};
    lo[n + 1] = (struct option){"version", no_argument, NULL, OPT_VERSION};
    lo[n + 2] = (struct option){NULL, 0, NULL, 0};
    return n;
}

/* Returns 0 to run, 1 when --help/--version answered, -1 on a bad option (reported). */
static int parse_args(struct conf *conf, int argc, char **argv)
{
    struct option lo[MAX_OPTIONS];
    char err[CONF_ERR_LEN];
    int nopts = build_longopts(lo), opt;

    while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        if (opt == OPT_HELP || opt == OPT_VERSION) {
            if (opt == OPT_HELP)
                usage(stdout);
            else
                printf("blobhttpd %s\n", BLOBKIT_VERSION);
            return 1;
        }
        bool known = opt >= 0 && opt < nopts;
        if (!known || conf_set(conf, lo[opt].name, optarg, err)) {
            if (known)
                fprintf(stderr, "blobhttpd: %s\n", err);
            fprintf(stderr, "try 'blobhttpd --help'\n");
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "blobhttpd: unexpected argument '%s'\ntry 'blobhttpd --help'\n",
                argv[optind]);
        return -1;
    }
    return 0;
}

/* Wait for SIGTERM, SIGINT or SIGHUP; meanwhile, every TRIM_INTERVAL_S, give the memory freed after
 * a burst of large images back to the kernel (malloc_trim: what imgproxy does for libvips). */
static int wait_for_signal(const sigset_t *set)
{
    struct timespec interval = {TRIM_INTERVAL_S, 0};

    for (;;) {
        int sig = sigtimedwait(set, NULL, &interval);
        if (sig > 0)
            return sig;
        malloc_trim(0);
    }
}

/* Memory under libvips: glibc gives every thread that allocates its own arena (up to 8 per
 * core), and each keeps its high-water mark, so RSS creeps up with every new peak. Two arenas
 * stay flat (docs/blobhttpd.md, "Memory"). MALLOC_ARENA_MAX in the environment still wins. */
static void tune_malloc(void)
{
    if (!getenv("MALLOC_ARENA_MAX"))
        mallopt(M_ARENA_MAX, MALLOC_ARENAS);
}

/* Block the signals we wait for in every thread to come, and ignore SIGPIPE. */
static void block_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* SIGHUP: reopen both logs (after rotation) and re-read the signing key file. A key that
 * cannot be read keeps the old one. Nothing else reloads: options need a restart. */
static void reload(const struct conf *conf, struct srv *s)
{
    unsigned char key[KEY_MAX];
    int rc = log_reopen();

    if (rc)
        log_error("cannot reopen log %s: %s", conf->log, strerror(-rc));
    rc = srv_reopen_access_log(s);
    if (rc)
        log_error("cannot reopen access log %s: %s", conf->access_log, strerror(-rc));
    if (conf->sign_key_file) {
        rc = sign_read_key(conf->sign_key_file, key, sizeof(key));
        if (rc > 0)
            srv_set_key(s, key, (size_t)rc);
        else
            log_error("cannot read signing key %s: %s (the old key stays)", conf->sign_key_file,
                      rc == -ENODATA ? "file is empty" : strerror(-rc));
        explicit_bzero(key, sizeof(key));
    }
    log_info("SIGHUP: logs reopened%s", conf->sign_key_file ? ", signing key re-read" : "");
}

/* After the drain: free everything, unless jobs are still stuck on a hung origin, which
 * pool_stop() would wait for without end; then leave at once, as --shutdown-timeout says. */
static void finish(struct srv *s, long left)
{
    if (left && srv_busy(s)) {
        log_warn("%ld request(s) still in flight at shutdown, some stuck on an origin: exiting "
                 "without waiting for them",
                 left);
        log_close();
        _exit(0);
    }
    if (left)
        log_warn("%ld request(s) still in flight at shutdown", left);
    srv_free(s);
}

static int serve(const struct conf *conf, const unsigned char *key, size_t keylen,
                 const char *argv0)
{
    char err[SRV_ERR_LEN];
    sigset_t set;
    int sig = 0;

    block_signals(&set);
    vid_init();
    if (tr_init(argv0, (int)conf->vips_threads) != 0) {
        log_error("cannot start libvips");
        return 1;
    }
    struct srv *s = srv_new(conf, key, keylen, err);
    if (!s) {
        log_error("%s", err);
        tr_shutdown();
        return 1;
    }
    log_info("listening on %s (port %u), %zu endpoint(s), %u transform workers",
             conf->listen ? conf->listen : "127.0.0.1:8080", srv_port(s), conf->nendpoints,
             conf->workers);
    sd_notify(0, "READY=1\nSTATUS=listening");
    while ((sig = wait_for_signal(&set)) == SIGHUP) {
        sd_notify(0, "RELOADING=1");
        reload(conf, s);
        sd_notify(0, "READY=1");
    }
    sd_notify(0, "STOPPING=1");
    log_info("signal %d: stopping (waiting up to %us for requests in flight)", sig,
             conf->shutdown_timeout);
    finish(s, srv_drain(s));
    tr_shutdown();
    log_info("stopped");
    return 0;
}

/* Descriptors: each connection and each origin file being served holds one, so start with
 * the most the hard limit allows rather than the usual soft 1024. */
static void raise_nofile(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* A core dump would hold the signing key and clients' requests: none, and no ptrace by other
 * processes of the same user either. */
static void no_core_dumps(void)
{
    struct rlimit none = {0, 0};

    setrlimit(RLIMIT_CORE, &none);
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

int main(int argc, char **argv)
{
    struct conf conf;
    char err[CONF_ERR_LEN];
    unsigned char key[KEY_MAX];
    int keylen = 0, rc = 2;

    tune_malloc();
    no_core_dumps();
    raise_nofile();
    conf_init(&conf);
    int parsed = parse_args(&conf, argc, argv);
    if (parsed != 0) {
        conf_release(&conf);
        return parsed > 0 ? 0 : 2;
    }
    if (conf_check(&conf, err)) {
        fprintf(stderr, "blobhttpd: %s\ntry 'blobhttpd --help'\n", err);
        goto out_conf;
    }
    if (conf.sign_key_file)
        keylen = sign_read_key(conf.sign_key_file, key, sizeof(key));
    if (keylen < 0) {
        fprintf(stderr, "blobhttpd: cannot read signing key %s: %s\n", conf.sign_key_file,
                keylen == -ENODATA ? "file is empty" : strerror(-keylen));
        goto out_conf;
    }
    int lrc = log_open("blobhttpd", conf.log, conf.log_level);
    if (lrc) {
        fprintf(stderr, "blobhttpd: cannot open log %s: %s\n", conf.log, strerror(-lrc));
        goto out_conf;
    }
    rc = serve(&conf, key, (size_t)keylen, argv[0]);
    log_close();
out_conf:
    explicit_bzero(key, sizeof(key));
    conf_release(&conf);
    return rc;
}
