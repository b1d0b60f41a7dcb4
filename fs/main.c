/* fs/main.c: blobfs, a read-only FUSE mount of one Azure Blob container.
 *
 * Options and token, the mount-time probe, the FUSE session, the daemon, signals: SIGTERM and
 * SIGINT unmount cleanly, SIGHUP re-reads --sas-file and forgets cached metadata. */
#include "blob.h"
#include "blob_name.h"
#include "blob_sas.h"
#include "cache.h"
#include "log.h"
#include "mountopt.h"
#include "ops.h"
#include "prefetch.h"
#include "service.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <getopt.h>
#include <libxml/parser.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define SAS_ENV "AZURE_STORAGE_SAS_TOKEN"

/* Everything the command line and environment say; immutable once parsed. */
struct config {
    const char *account, *container, *endpoint_opt, *log_file, *mountpoint, *metrics_listen;
    char *endpoint, *sas_file, *root, *mount_opts;
    double attr_timeout, negative_timeout;
    double connect_timeout, stall_timeout, retry_timeout;
    double prefetch_mib, read_ahead_kib, parallel, chunk_mib;
    bool foreground, debug;
};

enum opt_id {
    OPT_ACCOUNT = 256,
    OPT_CONTAINER,
    OPT_ENDPOINT,
    OPT_SAS_FILE,
    OPT_PREFIX,
    OPT_ATTR_TIMEOUT,
    OPT_NEGATIVE_TIMEOUT,
    OPT_CONNECT_TIMEOUT,
    OPT_STALL_TIMEOUT,
    OPT_RETRY_TIMEOUT,
    OPT_PREFETCH,
    OPT_PARALLEL,
    OPT_CHUNK,
    OPT_READ_AHEAD,
    OPT_LOG_FILE,
    OPT_DEBUG,
    OPT_METRICS_LISTEN,
};

static const struct option long_opts[] = {
    {"account", required_argument, NULL, OPT_ACCOUNT},
    {"container", required_argument, NULL, OPT_CONTAINER},
    {"endpoint", required_argument, NULL, OPT_ENDPOINT},
    {"sas-file", required_argument, NULL, OPT_SAS_FILE},
    {"prefix", required_argument, NULL, OPT_PREFIX},
    {"attr-timeout", required_argument, NULL, OPT_ATTR_TIMEOUT},
    {"negative-timeout", required_argument, NULL, OPT_NEGATIVE_TIMEOUT},
    {"connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT},
    {"stall-timeout", required_argument, NULL, OPT_STALL_TIMEOUT},
    {"retry-timeout", required_argument, NULL, OPT_RETRY_TIMEOUT},
    {"prefetch-mem", required_argument, NULL, OPT_PREFETCH},
    {"parallel", required_argument, NULL, OPT_PARALLEL},
    {"chunk-mb", required_argument, NULL, OPT_CHUNK},
    {"read-ahead", required_argument, NULL, OPT_READ_AHEAD},
    {"log-file", required_argument, NULL, OPT_LOG_FILE},
    {"debug", no_argument, NULL, OPT_DEBUG},
    {"metrics-listen", required_argument, NULL, OPT_METRICS_LISTEN},
    {"foreground", no_argument, NULL, 'f'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: blobfs [OPTIONS] [CONTAINER] MOUNTPOINT\n"
            "Mount one Azure Blob Storage container read-only (CONTAINER: as --container).\n\n"
            "  --account NAME          storage account (env AZURE_STORAGE_ACCOUNT)\n"
            "  --container NAME        container (env AZURE_STORAGE_ACCOUNT_CONTAINER)\n"
            "  --endpoint URL          blob endpoint (env AZURE_STORAGE_BLOB_ENDPOINT); default\n"
            "                          https://ACCOUNT.blob.core.windows.net; path-style for\n"
            "                          Azurite: http://127.0.0.1:10000/devstoreaccount1\n"
            "  --sas-file FILE         read the SAS token from FILE (re-read on SIGHUP); else\n"
            "                          env " SAS_ENV "; neither: anonymous access\n"
            "  --prefix DIR            mount only the virtual folder DIR of the container\n"
            "  --attr-timeout SEC      trust listings and properties this long (120)\n"
            "  --negative-timeout SEC  remember missing names this long (5)\n"
            "  --connect-timeout SEC   give up connecting after SEC (5)\n"
            "  --stall-timeout SEC     drop a transfer stalled this long (10)\n"
            "  --retry-timeout SEC     give up retrying an operation after SEC (30)\n"
            "  --prefetch-mem MIB      memory for read-ahead, 0 disables it (256)\n"
            "  --parallel N            ranged GETs in flight for read-ahead, all files (8)\n"
            "  --chunk-mb MIB          size of each of those GETs; 0: grows with the read (0)\n"
            "  --read-ahead KIB        kernel read-ahead of the mount, as root; 0 leaves the\n"
            "                          kernel's (16384)\n"
            "  --log-file FILE         log to FILE, or 'syslog' (default: stderr with -f,\n"
            "                          else syslog)\n"
            "  --debug                 log every request\n"
            "  --metrics-listen ADDR:PORT\n"
            "                          serve Prometheus metrics at http://ADDR:PORT/metrics\n"
            "                          (default: off)\n"
            "  -f, --foreground        stay in the foreground\n"
            "  -o OPT[,OPT...]         FUSE mount options (e.g. allow_other; ro is forced),\n"
            "                          and the options above as key=value (sas_file=FILE),\n"
            "                          as /etc/fstab gives them\n"
            "  -h, --help              this help\n"
            "  -V, --version           version\n\n"
            "Unmount with fusermount3 -u MOUNTPOINT, or SIGTERM. SIGHUP re-reads --sas-file\n"
            "and forgets cached metadata.\n");
}

static void version(void)
{
    printf("blobfs %s (libfuse %s, %s, libxml2 %s)\n", BLOBKIT_VERSION, fuse_pkgversion(),
           curl_version(), LIBXML_DOTTED_VERSION);
}

static int parse_number(const char *name, const char *s, double max, double *out)
{
    char *end;

    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= 0 && v <= max)) {
        fprintf(stderr, "blobfs: --%s wants a number from 0 to %.0f, not '%s'\n", name, max, s);
        return -EINVAL;
    }
    *out = v;
    return 0;
}

/* A whole number from 1 to max. */
static int parse_count(const char *name, const char *s, double max, double *out)
{
    char *end;

    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 1 || v > max) {
        fprintf(stderr, "blobfs: --%s wants a whole number from 1 to %.0f, not '%s'\n", name, max,
                s);
        return -EINVAL;
    }
    *out = (double)v;
    return 0;
}

static int add_mount_opt(struct config *cfg, const char *opt)
{
    size_t old = cfg->mount_opts ? strlen(cfg->mount_opts) : 0;
    char *s = realloc(cfg->mount_opts, old + strlen(opt) + 2);

    if (!s)
        return -ENOMEM;
    snprintf(s + old, strlen(opt) + 2, "%s%s", old ? "," : "", opt);
    cfg->mount_opts = s;
    return 0;
}

/* "/photos/2024/" -> "photos/2024"; every segment must be a possible file name. */
static int set_prefix(struct config *cfg, const char *arg)
{
    while (*arg == '/')
        arg++;
    size_t len = strlen(arg);
    while (len > 0 && arg[len - 1] == '/')
        len--;
    for (size_t i = 0; i < len;) {
        size_t seg = strcspn(arg + i, "/");
        if (seg > len - i)
            seg = len - i;
        if (!blob_name_is_leaf(arg + i, seg)) {
            fprintf(stderr, "blobfs: --prefix '%s' is no folder path\n", arg);
            return -EINVAL;
        }
        i += seg + 1;
    }
    free(cfg->root);
    cfg->root = strndup(arg, len);
    return cfg->root ? 0 : -ENOMEM;
}

/* Kept absolute: the daemon runs in "/" and re-reads the file on SIGHUP. */
static int set_sas_file(struct config *cfg, const char *arg)
{
    free(cfg->sas_file);
    cfg->sas_file = realpath(arg, NULL);
    if (!cfg->sas_file) {
        fprintf(stderr, "blobfs: cannot open --sas-file %s: %s\n", arg, strerror(errno));
        return -errno;
    }
    return 0;
}

static int set_option(struct config *cfg, int id, char *arg);

/* -o's items: one of our options, or (id 0) a FUSE mount option. */
static int set_from_mount_option(void *arg, int id, char *value)
{
    return id ? set_option(arg, id, value) : add_mount_opt(arg, value);
}

/* -o OPT[,OPT...], as fstab and mount(8) give it (fs/mountopt.h). */
static int set_mount_options(struct config *cfg, char *arg)
{
    char err[MOUNTOPT_ERR_LEN];
    int rc = mountopt_parse(arg, long_opts, set_from_mount_option, cfg, err);

    if (rc && err[0])
        fprintf(stderr, "blobfs: %s\n", err);
    return rc;
}

static int set_option(struct config *cfg, int id, char *arg)
{
    switch (id) {
    case OPT_ACCOUNT:
        cfg->account = arg;
        return 0;
    case OPT_CONTAINER:
        cfg->container = arg;
        return 0;
    case OPT_ENDPOINT:
        cfg->endpoint_opt = arg;
        return 0;
    case OPT_SAS_FILE:
        return set_sas_file(cfg, arg);
    case OPT_PREFIX:
        return set_prefix(cfg, arg);
    case OPT_ATTR_TIMEOUT:
        return parse_number("attr-timeout", arg, 31536000, &cfg->attr_timeout);
    case OPT_NEGATIVE_TIMEOUT:
        return parse_number("negative-timeout", arg, 31536000, &cfg->negative_timeout);
    case OPT_CONNECT_TIMEOUT:
        return parse_number("connect-timeout", arg, 3600, &cfg->connect_timeout);
    case OPT_STALL_TIMEOUT:
        return parse_number("stall-timeout", arg, 3600, &cfg->stall_timeout);
    case OPT_RETRY_TIMEOUT:
        return parse_number("retry-timeout", arg, 3600, &cfg->retry_timeout);
    case OPT_PREFETCH:
        return parse_number("prefetch-mem", arg, 65536, &cfg->prefetch_mib);
    case OPT_PARALLEL:
        return parse_count("parallel", arg, 64, &cfg->parallel);
    case OPT_CHUNK:
        return parse_number("chunk-mb", arg, 64, &cfg->chunk_mib);
    case OPT_READ_AHEAD:
        return parse_number("read-ahead", arg, 1048576, &cfg->read_ahead_kib);
    case OPT_LOG_FILE:
        cfg->log_file = arg;
        return 0;
    case OPT_DEBUG:
        cfg->debug = true;
        return 0;
    case OPT_METRICS_LISTEN:
        cfg->metrics_listen = arg;
        return 0;
    case 'f':
        cfg->foreground = true;
        return 0;
    case 'o':
        return set_mount_options(cfg, arg);
    default:
        return -EINVAL;
    }
}

/* Azure's rule: 3 to 63 of a-z 0-9 '-'; and the special $root and $web. */
static bool container_is_valid(const char *s)
{
    size_t len = strlen(s);

    if (strcmp(s, "$root") == 0 || strcmp(s, "$web") == 0)
        return true;
    return len >= 3 && len <= 63 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == len;
}

/* Options first, then the environment; the default endpoint comes from the account. */
static int complete_config(struct config *cfg)
{
    if (!cfg->account)
        cfg->account = getenv("AZURE_STORAGE_ACCOUNT");
    if (!cfg->container)
        cfg->container = getenv("AZURE_STORAGE_ACCOUNT_CONTAINER");
    if (!cfg->endpoint_opt)
        cfg->endpoint_opt = getenv("AZURE_STORAGE_BLOB_ENDPOINT");
    if (!cfg->container || !container_is_valid(cfg->container)) {
        fprintf(stderr, "blobfs: %s container name (--container)\n",
                cfg->container ? "invalid" : "missing");
        return -EINVAL;
    }
    if (cfg->endpoint_opt) {
        cfg->endpoint = strdup(cfg->endpoint_opt);
    } else if (cfg->account && strspn(cfg->account, "abcdefghijklmnopqrstuvwxyz0123456789") ==
                                   strlen(cfg->account)) {
        size_t len = strlen(cfg->account) + 40;
        cfg->endpoint = malloc(len);
        if (cfg->endpoint)
            snprintf(cfg->endpoint, len, "https://%s.blob.core.windows.net", cfg->account);
    } else {
        fprintf(stderr, "blobfs: %s account name (--account or --endpoint)\n",
                cfg->account ? "invalid" : "missing");
        return -EINVAL;
    }
    if (!cfg->root)
        cfg->root = strdup("");
    return cfg->endpoint && cfg->root ? 0 : -ENOMEM;
}

/* The operand before the mount point, as mount(8) gives fstab's first field: the container. */
static int set_source(struct config *cfg, const char *source)
{
    if (cfg->container && strcmp(cfg->container, source) != 0) {
        fprintf(stderr, "blobfs: two containers: '%s' and '%s'\n", source, cfg->container);
        return -EINVAL;
    }
    cfg->container = source;
    return 0;
}

/* Returns 0 to go on, 1 when done (help, version), < 0 on a usage error (reported). */
static int parse_args(int argc, char **argv, struct config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->attr_timeout = 120;
    cfg->negative_timeout = 5;
    cfg->connect_timeout = 5;
    cfg->stall_timeout = 10;
    cfg->retry_timeout = 30;
    cfg->prefetch_mib = 256;
    cfg->parallel = 8;
    cfg->read_ahead_kib = 16384;
    for (;;) {
        int id = getopt_long(argc, argv, "fhVo:", long_opts, NULL);
        if (id == -1)
            break;
        if (id == 'h' || id == 'V') {
            id == 'h' ? usage(stdout) : version();
            return 1;
        }
        if (id == '?' || set_option(cfg, id, optarg))
            goto out_usage;
    }
    if (argc - optind < 1 || argc - optind > 2) {
        fprintf(stderr, "blobfs: %s\n", optind < argc ? "one mount point only" : "no mount point");
        goto out_usage;
    }
    if (argc - optind == 2 && set_source(cfg, argv[optind]) != 0)
        goto out_usage;
    cfg->mountpoint = argv[argc - 1];
    return complete_config(cfg);
out_usage:
    fprintf(stderr, "Try 'blobfs --help'.\n");
    return -EINVAL;
}

static void config_release(struct config *cfg)
{
    free(cfg->endpoint);
    free(cfg->sas_file);
    free(cfg->root);
    free(cfg->mount_opts);
}

static int clean_sas(const char *in, size_t len, char **out)
{
    char *sas = malloc(BLOB_SAS_MAX);

    if (!sas)
        return -ENOMEM;
    ssize_t n = blob_sas_clean(in, len, sas, BLOB_SAS_MAX);
    if (n < 0) {
        explicit_bzero(sas, BLOB_SAS_MAX);
        free(sas);
        return (int)n;
    }
    *out = sas;
    return 0;
}

/* Read up to cap bytes of fd. Returns the length, -E2BIG when there is more, or -errno. */
static ssize_t read_all(int fd, char *buf, size_t cap)
{
    size_t len = 0;

    for (;;) {
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return (ssize_t)len;
        len += (size_t)n;
        if (len == cap)
            return -E2BIG;
    }
}

/* Plain read(2) into a buffer of ours, wiped after: stdio would keep a copy in its own. */
static int read_sas_file(const char *path, char **out)
{
    char buf[BLOB_SAS_MAX + 64];
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return -errno;
    ssize_t len = read_all(fd, buf, sizeof(buf));
    close(fd);
    int err = len < 0 ? (int)len : clean_sas(buf, (size_t)len, out);
    explicit_bzero(buf, sizeof(buf));
    return err;
}

/* Free a copy of the token, wiped first. NULL is a no-op. */
static void sas_free(char *sas)
{
    if (sas)
        explicit_bzero(sas, strlen(sas));
    free(sas);
}

/* The token from --sas-file or the environment into *sas (NULL: anonymous; free it with
 * sas_free()). The environment's copy is wiped, so /proc/PID/environ never shows it. */
static int take_sas(const struct config *cfg, char **sas)
{
    char *env = getenv(SAS_ENV);
    int err = 0;

    *sas = NULL;
    if (cfg->sas_file)
        err = read_sas_file(cfg->sas_file, sas);
    else if (env && *env)
        err = clean_sas(env, strlen(env), sas);
    if (env) {
        explicit_bzero(env, strlen(env));
        unsetenv(SAS_ENV);
    }
    if (err)
        fprintf(stderr, "blobfs: unusable SAS token from %s: %s\n",
                cfg->sas_file ? cfg->sas_file : SAS_ENV,
                err == -EINVAL ? "want a query string with sig= and no white space inside"
                               : strerror(-err));
    return err;
}

static void blob_options(const struct config *cfg, struct blob_opts *bo)
{
    memset(bo, 0, sizeof(*bo));
    bo->endpoint = cfg->endpoint;
    bo->container = cfg->container;
    bo->connect_timeout_ms = (long)(cfg->connect_timeout * 1000);
    bo->stall_timeout_s = cfg->stall_timeout < 1 ? 1 : (long)cfg->stall_timeout;
    bo->retry = (struct blob_retry_policy){.base_ms = 200,
                                           .cap_ms = 10000,
                                           .max_attempts = 6,
                                           .budget_ms = (unsigned)(cfg->retry_timeout * 1000)};
}

/* The prefix listings of the mount root use: "" or "dir/". */
static char *root_prefix(const struct config *cfg)
{
    size_t len = strlen(cfg->root);
    char *s = malloc(len + 2);

    if (s)
        snprintf(s, len + 2, "%s%s", cfg->root, len ? "/" : "");
    return s;
}

/* What main() hands the mounted daemon: what the mount-time probe found, and the token until
 * the running client holds its own copy (then it is wiped and freed, so that after a reload
 * no copy of the old token is left). */
struct start {
    bool can_list;
    struct blob_page first;
    char *sas;
};

/* Check endpoint, container and token before mounting anything; one message when wrong. */
static int probe(const struct config *cfg, const struct blob_opts *bo, struct start *st)
{
    char err[BLOB_ERR_LEN] = "out of memory";
    struct blob_client *c = blob_client_new(bo, st->sas);
    char *prefix = root_prefix(cfg);
    int ret = c && prefix ? blob_probe(c, prefix, &st->can_list, &st->first, err) : -ENOMEM;

    if (ret) {
        fprintf(stderr, "blobfs: cannot mount container '%s' of %s: %s\n", cfg->container,
                cfg->endpoint, err);
        if (cfg->log_file)
            log_error("cannot mount container '%s' of %s: %s", cfg->container, cfg->endpoint, err);
    } else if (!st->can_list) {
        log_warn("listing container '%s' is not allowed (SAS token without 'l', or anonymous "
                 "access): mounted without listing, known paths read, folders cannot be listed",
                 cfg->container);
    }
    free(prefix);
    blob_client_free(c);
    return ret;
}

static struct fuse_session *new_session(const struct config *cfg, struct blobfs *fs)
{
    struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
    char opts[512];

    /* Ours come last, so ro wins over a user's rw. */
    int n = snprintf(opts, sizeof(opts),
                     "%s%sro,default_permissions,fsname=blobfs:%s,subtype=blobfs,max_read=%d",
                     cfg->mount_opts ? cfg->mount_opts : "", cfg->mount_opts ? "," : "",
                     cfg->container, OPS_MAX_IO);
    if (n < 0 || (size_t)n >= sizeof(opts)) {
        fprintf(stderr, "blobfs: too many -o options\n");
        return NULL;
    }
    struct fuse_session *se = NULL;
    if (fuse_opt_add_arg(&args, "blobfs") == 0 && fuse_opt_add_arg(&args, "-o") == 0 &&
        fuse_opt_add_arg(&args, opts) == 0)
        se = fuse_session_new(&args, ops_table(), sizeof(struct fuse_lowlevel_ops), fs);
    fuse_opt_free_args(&args);
    return se;
}

/* Ask the kernel for big reads: the bdi read-ahead only root may raise (best effort). It
 * runs on its own thread once the loop serves: stat() of the mount waits for FUSE's INIT,
 * which would otherwise reset the value. */
struct tune {
    const char *mnt;
    unsigned kib;
};

static void *raise_read_ahead(void *arg)
{
    const struct tune *t = arg;
    struct stat st;
    char path[96];

    if (stat(t->mnt, &st) != 0) {
        log_info("cannot raise the read-ahead of %s: %s", t->mnt, strerror(errno));
        return NULL;
    }
    snprintf(path, sizeof(path), "/sys/class/bdi/%u:%u/read_ahead_kb", major(st.st_dev),
             minor(st.st_dev));
    FILE *f = fopen(path, "we");
    bool ok = f && fprintf(f, "%u\n", t->kib) > 0;
    if (f && fclose(f) != 0)
        ok = false;
    if (!ok)
        log_info("cannot raise the read-ahead of %s to %u KiB: %s", t->mnt, t->kib,
                 strerror(errno));
    return NULL;
}

/* What SIGHUP needs. */
struct hup {
    const struct config *cfg;
    struct blob_client *blob;
    struct cache *cache;
};

static void reload(struct hup *h)
{
    char *sas = NULL;

    if (h->cfg->sas_file) {
        int err = read_sas_file(h->cfg->sas_file, &sas);
        if (err || blob_client_set_sas(h->blob, sas) != 0)
            log_error("cannot re-read the SAS token from %s: %s; keeping the old one",
                      h->cfg->sas_file, strerror(err ? -err : ENOMEM));
        else
            log_info("re-read the SAS token from %s", h->cfg->sas_file);
        sas_free(sas);
    }
    cache_forget_all(h->cache);
}

/* SIGHUP and SIGUSR1 are blocked in every thread and taken here; SIGUSR1 ends the thread. */
static void *signal_loop(void *arg)
{
    sigset_t set;
    int sig;

    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1);
    for (;;) {
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig == SIGUSR1)
            return NULL;
        reload(arg);
    }
}

/* The parts of a running mount, made after the fork. */
struct parts {
    struct blob_client *blob;
    struct cache *cache;
    struct prefetch_pool *pool;
    struct hup hup;
    pthread_t signals;
    bool signals_started;
};

static ssize_t source_read(void *arg, const char *name, const char *etag, char *dst, size_t len,
                           off_t off)
{
    return blob_read(arg, name, etag, dst, len, off);
}

static int source_stream(void *arg, const char *name, const char *etag, off_t off, size_t len,
                         blob_sink_fn fn, void *fn_arg)
{
    return blob_stream(arg, name, etag, off, len, fn, fn_arg);
}

static int parts_start(struct parts *p, const struct config *cfg, struct blobfs *fs,
                       struct start *st)
{
    struct cache_opts co = {.attr_timeout = cfg->attr_timeout,
                            .negative_timeout = cfg->negative_timeout,
                            .can_list = st->can_list,
                            .root = cfg->root,
                            .mount_time = time(NULL)};
    struct blob_opts bo;

    blob_options(cfg, &bo);
    bo.metrics = service_metrics(fs->service);
    p->blob = blob_client_new(&bo, st->sas);
    sas_free(st->sas);
    st->sas = NULL;
    p->cache = p->blob ? cache_new(&co, p->blob) : NULL;
    struct prefetch_source src = {.read = source_read, .stream = source_stream, .arg = p->blob};
    struct prefetch_opts po = {.budget = (size_t)(cfg->prefetch_mib * 1048576),
                               .parallel = (unsigned)cfg->parallel,
                               .segment = (size_t)(cfg->chunk_mib * 1048576)};
    p->pool = p->cache ? prefetch_pool_new(&src, &po) : NULL;
    if (!p->pool)
        return -ENOMEM;
    if (st->can_list)
        cache_seed(p->cache, &st->first);
    fs->cache = p->cache;
    fs->prefetch = p->pool;
    p->hup = (struct hup){.cfg = cfg, .blob = p->blob, .cache = p->cache};
    int err = cache_start(p->cache, ops_notify, fs);
    if (!err)
        err = -pthread_create(&p->signals, NULL, signal_loop, &p->hup);
    p->signals_started = !err;
    return err;
}

static void parts_stop(struct parts *p)
{
    if (p->signals_started) {
        pthread_kill(p->signals, SIGUSR1);
        pthread_join(p->signals, NULL);
    }
    prefetch_pool_free(p->pool);
    cache_free(p->cache);
    blob_client_free(p->blob);
}

/* Run the session until unmounted or signalled. Returns 0 or -errno. */
static int serve(struct fuse_session *se, const struct config *cfg, struct blobfs *fs,
                 struct start *st)
{
    struct parts p;

    memset(&p, 0, sizeof(p));
    int err = parts_start(&p, cfg, fs, st);
    if (!err) {
        log_info("mounted container '%s' of %s%s%s on %s", cfg->container, cfg->endpoint,
                 *cfg->root ? ", folder " : "", cfg->root, cfg->mountpoint);
        service_start(fs->service, p.cache, p.pool);
        struct fuse_loop_config *lc = fuse_loop_cfg_create();
        if (lc) {
            fuse_loop_cfg_set_max_threads(lc, 64);
            err = fuse_session_loop_mt(se, lc);
            fuse_loop_cfg_destroy(lc);
        }
        err = !lc ? -ENOMEM : err > 0 ? 0 : err; /* > 0: ended by that signal */
        service_stop(fs->service);
    } else {
        log_error("cannot start: %s", strerror(-err));
    }
    parts_stop(&p);
    log_info("unmounted %s", cfg->mountpoint);
    return err;
}

/* The mounted daemon: SIGHUP and SIGUSR1 are blocked before any thread starts (signal_loop
 * takes them); the read-ahead tuner is joined after the unmount, which ends its stat(). */
static int daemon_main(struct fuse_session *se, const struct config *cfg, struct blobfs *fs,
                       const char *mnt, struct start *st)
{
    struct tune tune = {.mnt = mnt, .kib = (unsigned)cfg->read_ahead_kib};
    pthread_t tuner;
    sigset_t set;

    if (!cfg->foreground && !cfg->log_file)
        log_detach();
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    bool tuning = tune.kib && pthread_create(&tuner, NULL, raise_read_ahead, &tune) == 0;
    int err = serve(se, cfg, fs, st);
    fuse_session_unmount(se);
    if (tuning)
        pthread_join(tuner, NULL);
    return err ? 1 : 0;
}

/* The metrics socket and systemd's notifications, set up before the daemon forks. */
static struct service *start_service(const struct config *cfg)
{
    char err[SERVICE_ERR_LEN];
    struct service *s = service_new(cfg->metrics_listen, err);

    if (!s)
        fprintf(stderr, "blobfs: %s\n", err);
    return s;
}

/* Probe, mount, daemonize, serve. st->sas is wiped and freed on the way. */
static int run(const struct config *cfg, struct start *st)
{
    struct blobfs fs = {.uid = getuid(), .gid = getgid()};
    struct fuse_session *se = NULL;
    struct blob_opts bo;
    int rc = 1;

    blob_options(cfg, &bo);
    char *mnt = realpath(cfg->mountpoint, NULL);
    if (!mnt) {
        fprintf(stderr, "blobfs: bad mount point %s: %s\n", cfg->mountpoint, strerror(errno));
        return 1;
    }
    fs.service = start_service(cfg);
    if (!fs.service || probe(cfg, &bo, st) != 0)
        goto out_free;
    se = new_session(cfg, &fs);
    if (!se)
        goto out_page;
    if (fuse_set_signal_handlers(se) != 0)
        goto out_session;
    if (fuse_session_mount(se, mnt) != 0)
        goto out_signals;
    fs.se = se;
    if (fuse_daemonize(cfg->foreground) == 0)
        rc = daemon_main(se, cfg, &fs, mnt, st);
    else
        fuse_session_unmount(se);
out_signals:
    fuse_remove_signal_handlers(se);
out_session:
    fuse_session_destroy(se);
out_page:
    blob_page_release(&st->first);
out_free:
    service_free(fs.service);
    free(mnt);
    return rc;
}

/* No core dumps: one would hold the SAS token. Not dumpable also makes /proc/PID/mem, environ
 * and the like root's, and forbids other processes of the user to ptrace the daemon. Both
 * carry over to the daemon fuse_daemonize() forks. */
static int forbid_core_dumps(void)
{
    struct rlimit none = {0, 0};

    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 || setrlimit(RLIMIT_CORE, &none) != 0) {
        fprintf(stderr, "blobfs: cannot disable core dumps: %s\n", strerror(errno));
        return -errno;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct start st = {0};
    struct config cfg;
    int rc = 1;

    if (forbid_core_dumps() != 0)
        return 1;
    if (blob_global_init() != 0) {
        fprintf(stderr, "blobfs: cannot set up libcurl\n");
        return 1;
    }
    int parsed = parse_args(argc, argv, &cfg);
    if (parsed != 0) {
        rc = parsed > 0 ? 0 : 2;
        goto out_release;
    }
    rc = 2;
    if (take_sas(&cfg, &st.sas) != 0)
        goto out_release;
    if (log_open("blobfs", cfg.log_file, cfg.debug ? LOG_LV_DEBUG : LOG_LV_INFO) != 0) {
        fprintf(stderr, "blobfs: cannot open the log %s: %s\n", cfg.log_file, strerror(errno));
        goto out_release;
    }
    xmlInitParser();
    rc = run(&cfg, &st);
    xmlCleanupParser();
    log_close();
out_release:
    sas_free(st.sas);
    config_release(&cfg);
    blob_global_cleanup();
    return rc;
}
