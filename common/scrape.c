/* common/scrape.c: GET /metrics on a listener of its own (see scrape.h). */
#include "scrape.h"

#include "metrics.h"

#include <microhttpd.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SCRAPE_CONNECTIONS 16
#define SCRAPE_TIMEOUT_S 10
#define SCRAPE_CONN_MEMORY (16 * 1024)

struct scrape {
    struct MHD_Daemon *mhd;
    struct metrics *m;
};

static void free_text(void *text)
{
    metrics_text_free(text);
}

void *scrape_response(struct metrics *m, size_t *len)
{
    char *text;

    if (metrics_render(m, &text, len) != 0)
        return NULL;
    struct MHD_Response *resp =
        MHD_create_response_from_buffer_with_free_callback_cls(*len, text, free_text, text);
    if (!resp) {
        metrics_text_free(text);
        return NULL;
    }
    MHD_add_response_header(resp, "Content-Type", METRICS_CONTENT_TYPE);
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    return resp;
}

static enum MHD_Result answer(struct MHD_Connection *mc, unsigned status, struct MHD_Response *resp)
{
    if (!resp)
        return MHD_NO;
    enum MHD_Result rc = MHD_queue_response(mc, status, resp);
    MHD_destroy_response(resp);
    return rc;
}

static struct MHD_Response *text(const char *body)
{
    return MHD_create_response_from_buffer(strlen(body), (void *)(uintptr_t)body,
                                           MHD_RESPMEM_PERSISTENT);
}

/* libmicrohttpd 0.9.75 closes the connection when the first call for a request queues a
 * response, so the answer waits for the second (the request is then read whole). */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *mc, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls)
{
    static int seen;
    struct scrape *s = cls;

    (void)version;
    (void)upload_data;
    if (!*con_cls || *upload_size) {
        *con_cls = &seen;
        *upload_size = 0;
        return MHD_YES;
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        struct MHD_Response *resp = text("only GET and HEAD\n");
        if (resp)
            MHD_add_response_header(resp, "Allow", "GET, HEAD");
        return answer(mc, 405, resp);
    }
    if (strcmp(url, "/metrics") != 0)
        return answer(mc, 404, text("not found: this listener serves /metrics only\n"));
    size_t len;
    struct MHD_Response *resp = scrape_response(s->m, &len);
    return resp ? answer(mc, 200, resp) : answer(mc, 503, text("cannot render the metrics\n"));
}

struct scrape *scrape_start(int fd, struct metrics *m)
{
    struct scrape *s = calloc(1, sizeof(*s));

    if (!s) {
        close(fd);
        return NULL;
    }
    s->m = m;
    s->mhd = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL, on_request, s,
        MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT, (unsigned)SCRAPE_CONNECTIONS,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)SCRAPE_TIMEOUT_S,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)SCRAPE_CONN_MEMORY, MHD_OPTION_END);
    if (!s->mhd) {
        close(fd);
        free(s);
        return NULL;
    }
    return s;
}

void scrape_stop(struct scrape *s)
{
    if (!s)
        return;
    MHD_stop_daemon(s->mhd);
    free(s);
}
