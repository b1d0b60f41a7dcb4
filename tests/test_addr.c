/* Unit test of common/addr: the listening addresses the options accept and refuse, and a real
 * socket on port 0 that reports the port it got. */
#include "addr.h"
#include "check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>

static unsigned port_of(const struct sockaddr_storage *ss)
{
    return ss->ss_family == AF_INET6 ? ntohs(((const struct sockaddr_in6 *)ss)->sin6_port)
                                     : ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

int main(void)
{
    struct sockaddr_storage ss;
    char err[ADDR_ERR_LEN], text[ADDR_TEXT_LEN];

    ok(addr_parse_listen("127.0.0.1:9101", &ss, err) == 0 && ss.ss_family == AF_INET &&
           port_of(&ss) == 9101,
       "ADDR:PORT");
    ok(addr_parse_listen("[::1]:8080", &ss, err) == 0 && ss.ss_family == AF_INET6 &&
           port_of(&ss) == 8080,
       "[V6]:PORT");
    ok(addr_parse_listen(":9100", &ss, err) == 0 && port_of(&ss) == 9100, ":PORT");
    ok(addr_parse_listen("9100", &ss, err) == 0 && port_of(&ss) == 9100, "PORT");
    ok(addr_parse_listen("127.0.0.1:", &ss, err) == -EINVAL && strstr(err, "is not ADDR:PORT"),
       "no port: '%s'", err);
    ok(addr_parse_listen("127.0.0.1:http", &ss, err) == -EINVAL && strstr(err, "cannot resolve"),
       "a service name is no port: '%s'", err);
    ok(addr_parse_listen("300.1.1.1:80", &ss, err) == -EINVAL, "no such address");

    ok(addr_parse_listen("127.0.0.1:0", &ss, err) == 0, "port 0");
    int fd = addr_listen(&ss);
    ok(fd >= 0, "listens on a free port");
    ok(addr_local(fd, text) == 0 && strncmp(text, "127.0.0.1:", 10) == 0 &&
           strtoul(text + 10, NULL, 10) > 0,
       "and says which: %s", text);
    struct sockaddr_storage again;
    addr_parse_listen(text, &again, err);
    ok(addr_listen(&again) == -EADDRINUSE, "that port is then in use");
    close(fd);
    return check_done();
}
