/* common/scrape.h: a listener of its own that answers Prometheus's scrapes, GET /metrics,
 * with one registry's text (libmicrohttpd on one internal thread: HTTP parsing, timeouts and
 * connection limits come from the library, and no thread of the program's own serves it).
 *
 *     int fd = addr_listen(&ss);                       // before fork(): errors on stderr
 *     struct scrape *s = scrape_start(fd, metrics);    // after: the thread starts here
 *     ...
 *     scrape_stop(s);
 */
#ifndef COMMON_SCRAPE_H
#define COMMON_SCRAPE_H

#include <stddef.h>

struct metrics;
struct scrape;

/* Answer on the listening socket fd (transfer full: closed by scrape_stop(), or here on
 * failure): GET or HEAD /metrics with m's text, 404 for any other path, 405 for other
 * methods. m (transfer none) must outlive the scrape. Returns (transfer full) a scrape to stop
 * with scrape_stop(), or NULL. */
struct scrape *scrape_start(int fd, struct metrics *m);

/* Stop answering, close the socket and free s. NULL is a no-op. */
void scrape_stop(struct scrape *s);

/* The response to a scrape of m, with the text's length in *len, or NULL when it cannot be made
 * (out of memory, over the cap). (transfer full): a struct MHD_Response for
 * MHD_queue_response(), then MHD_destroy_response(); declared void so that this header needs
 * no libmicrohttpd one. */
void *scrape_response(struct metrics *m, size_t *len);

#endif
