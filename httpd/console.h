/* httpd/console.h: the console, blobhttpd's pages for people, under the reserved prefix
 * /_blobkit/ (off unless --console on): the endpoints, a folder view of their origins with
 * thumbnails made by the engine itself, and a file's facts beside a playground to try chains
 * on it (docs/blobhttpd.md, "Console").
 *
 * The page, its style and its script are built into the binary (console_assets.S); the rest
 * is a JSON API under /_blobkit/api/. Folder reads and file opens run on the origin pool,
 * probes on the transform workers, never on libmicrohttpd's I/O threads. With a signing key,
 * every request must carry it as the HTTP Basic user name (as ImageKit's API asks for its
 * private key), and the URLs handed to the page are signed here: the key never reaches it. */
#ifndef HTTPD_CONSOLE_H
#define HTTPD_CONSOLE_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>

#define CONSOLE_PREFIX "/_blobkit"

struct conn;
struct srv;
struct console;

/* Whether the raw request target target[0..len) lies under CONSOLE_PREFIX, which is reserved
 * (never an endpoint's file) whether the console is on or off. */
bool console_owns(const char *target, size_t len);

/* The console of server s, once its endpoints, key and pools exist; s must outlive it.
 * Returns: (transfer full) free with console_free(), or NULL when out of memory. */
struct console *console_new(struct srv *s);

/* NULL is a no-op. */
void console_free(struct console *con);

/* Answer a request that console_owns(): 404 when con is NULL (the console is off), 401 without
 * the key, else a page or an API call (which may suspend the connection for a job). */
enum MHD_Result console_handle(struct console *con, struct conn *c);

#endif
