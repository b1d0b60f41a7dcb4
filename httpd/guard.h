/* httpd/guard.h: one thread that watches every connection for what libmicrohttpd does not.
 *
 * - A request head must arrive whole within header_timeout seconds of the connection opening,
 *   or of the previous response on it. libmicrohttpd's own timeout is an idle timeout that each
 *   byte resets, so a client trickling a byte every few seconds would hold its socket forever;
 *   past the deadline the guard shuts the socket down and libmicrohttpd closes the connection.
 * - libmicrohttpd does not poll a suspended connection's socket, so it cannot see a client
 *   that hangs up while its transform runs. The guard peeks at the sockets of connections
 *   suspended on a transform (recv MSG_PEEK, non-blocking) and calls deliver_client_left()
 *   when the peer closed.
 *
 * A connection is in the guard's list from NOTIFY_STARTED to NOTIFY_CLOSED; libmicrohttpd
 * calls the latter before it closes the socket, and the guard touches a socket only with its
 * lock held and the connection in the list, so it never acts on a closed or reused fd. */
#ifndef HTTPD_GUARD_H
#define HTTPD_GUARD_H

#include <stdbool.h>

struct conn;
struct guard;

/* Start the thread. Returns: (transfer full) free with guard_free(), or NULL. */
struct guard *guard_new(unsigned header_timeout_s);

/* Stop the thread and free g. Every connection must have been removed. NULL is a no-op. */
void guard_free(struct guard *g);

/* A new connection (its c->sock set): its first request head is due. */
void guard_add(struct guard *g, struct conn *c);

/* The connection is closing (its socket is still open): forget it. */
void guard_remove(struct guard *g, struct conn *c);

/* The request head arrived (head false), or a response is done and the next head is due
 * (head true). */
void guard_expect_head(struct guard *g, struct conn *c, bool head);

/* Watch the suspended connection for a hang-up while it waits on a transform (on true), or
 * stop before it is resumed (on false). After guard_watch(false) returns, the guard no longer
 * touches c's socket or calls deliver_client_left() for it. */
void guard_watch(struct guard *g, struct conn *c, bool on);

#endif
