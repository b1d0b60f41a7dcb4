/* fs/service.c: blobfs's metrics listener and systemd notifications (see service.h). */
#include "service.h"

#include "addr.h"
#include "fsmetrics.h"
#include "log.h"
#include "metrics.h"
#include "scrape.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

struct service {
    struct metrics *metrics; /* NULL: no --metrics-listen */
    struct fsmetrics *fm;
    int fd; /* the bound socket until the scrape listener owns it; -1 */
    struct scrape *scrape;
};

static int open_metrics(struct service *s, const char *listen, char err[SERVICE_ERR_LEN])
{
    struct sockaddr_storage ss;
    char why[ADDR_ERR_LEN];

    if (addr_parse_listen(listen, &ss, why) != 0) {
        snprintf(err, SERVICE_ERR_LEN, "--metrics-listen: %s", why);
        return -EINVAL;
    }
    s->fd = addr_listen(&ss);
    if (s->fd < 0) {
        snprintf(err, SERVICE_ERR_LEN, "--metrics-listen: cannot listen on %.100s: %s", listen,
                 strerror(-s->fd));
        return s->fd;
    }
    s->metrics = metrics_new();
    s->fm = s->metrics ? fsmetrics_new(s->metrics) : NULL;
    if (!s->fm) {
        snprintf(err, SERVICE_ERR_LEN, "out of memory");
        return -ENOMEM;
    }
    return 0;
}

struct service *service_new(const char *listen, char err[SERVICE_ERR_LEN])
{
    struct service *s = calloc(1, sizeof(*s));

    if (!s) {
        snprintf(err, SERVICE_ERR_LEN, "out of memory");
        return NULL;
    }
    s->fd = -1;
    if (listen && open_metrics(s, listen, err) != 0) {
        service_free(s);
        return NULL;
    }
    return s;
}

struct fsmetrics *service_metrics(struct service *s)
{
    return s->fm;
}

int service_start(struct service *s, struct cache *c, struct prefetch_pool *p)
{
    char where[ADDR_TEXT_LEN] = "?";
    int err = 0;

    if (s->fd >= 0) {
        addr_local(s->fd, where);
        fsmetrics_watch(s->fm, c, p);
        s->scrape = scrape_start(s->fd, s->metrics);
        s->fd = -1; /* the listener's now, or closed */
        err = s->scrape ? 0 : -ENOMEM;
        if (err)
            log_error("cannot serve metrics on %s: out of memory", where);
        else
            log_info("serving metrics on http://%s/metrics", where);
    }
    sd_notify(0, "READY=1\nSTATUS=mounted and serving");
    return err;
}

void service_stop(struct service *s)
{
    sd_notify(0, "STOPPING=1");
    scrape_stop(s->scrape);
    s->scrape = NULL;
    fsmetrics_watch(s->fm, NULL, NULL);
}

void service_free(struct service *s)
{
    if (!s)
        return;
    scrape_stop(s->scrape);
    if (s->fd >= 0)
        close(s->fd);
    fsmetrics_free(s->fm);
    metrics_free(s->metrics);
    free(s);
}
