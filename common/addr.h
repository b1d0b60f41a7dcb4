/* common/addr.h: listening addresses as the programs' options spell them ("127.0.0.1:8080",
 * "[::1]:8080", ":8080" for every IPv4 address, port 0 for a free one). */
#ifndef COMMON_ADDR_H
#define COMMON_ADDR_H

#include <stddef.h>
#include <sys/socket.h>

#define ADDR_ERR_LEN 160
#define ADDR_TEXT_LEN 64 /* "[V6]:PORT" */

/* spec into *ss: "ADDR:PORT", "[V6]:PORT", ":PORT" or "PORT"; the port is numeric, the address
 * numeric or a host name. Returns 0, or -EINVAL with err saying why ("'x' is not ADDR:PORT"). */
int addr_parse_listen(const char *spec, struct sockaddr_storage *ss, char err[ADDR_ERR_LEN]);

/* A TCP socket listening on ss (SO_REUSEADDR, close-on-exec). Returns the fd or -errno. */
int addr_listen(const struct sockaddr_storage *ss);

/* The address a socket is bound to, as "ADDR:PORT" or "[V6]:PORT" (the port picked for port 0).
 * Returns 0 or -errno. */
int addr_local(int fd, char out[ADDR_TEXT_LEN]);

#endif
