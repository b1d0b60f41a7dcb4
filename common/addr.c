/* common/addr.c: listening addresses (see addr.h). */
#include "addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int addr_parse_listen(const char *spec, struct sockaddr_storage *ss, char err[ADDR_ERR_LEN])
{
    char host[256] = "";
    const char *colon = strrchr(spec, ':');
    const char *port = colon ? colon + 1 : spec;
    size_t hlen = colon ? (size_t)(colon - spec) : 0;
    struct addrinfo hints = {.ai_flags = AI_PASSIVE | AI_NUMERICSERV, .ai_socktype = SOCK_STREAM};
    struct addrinfo *ai = NULL;

    if (hlen >= 2 && spec[0] == '[' && spec[hlen - 1] == ']') {
        spec++;
        hlen -= 2;
    }
    if (hlen >= sizeof(host) || !*port) {
        snprintf(err, ADDR_ERR_LEN, "'%.100s' is not ADDR:PORT", spec);
        return -EINVAL;
    }
    memcpy(host, spec, hlen);
    host[hlen] = '\0';
    int rc = getaddrinfo(hlen ? host : NULL, port, &hints, &ai);
    if (rc) {
        snprintf(err, ADDR_ERR_LEN, "cannot resolve '%.100s': %s", spec, gai_strerror(rc));
        return -EINVAL;
    }
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    freeaddrinfo(ai);
    return 0;
}

int addr_listen(const struct sockaddr_storage *ss)
{
    socklen_t len =
        ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    int one = 1, err;
    int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -errno;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (const struct sockaddr *)ss, len) != 0 || listen(fd, 64) != 0) {
        err = -errno;
        close(fd);
        return err;
    }
    return fd;
}

int addr_local(int fd, char out[ADDR_TEXT_LEN])
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    char host[INET6_ADDRSTRLEN];

    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return -errno;
    if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
        snprintf(out, ADDR_TEXT_LEN, "[%s]:%u", host, ntohs(s6->sin6_port));
    } else {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
        snprintf(out, ADDR_TEXT_LEN, "%s:%u", host, ntohs(s4->sin_port));
    }
    return 0;
}
