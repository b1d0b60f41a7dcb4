/* httpd/auth.h: the private key as HTTP Basic credentials, as ImageKit's API takes it: the key
 * is the user name, the password is empty (and not looked at). Shared by the console and the
 * purge API. */
#ifndef HTTPD_AUTH_H
#define HTTPD_AUTH_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>

struct srv_key;

/* Whether a equals b, in a time that tells nothing about either: both are hashed first, so
 * neither their bytes nor their lengths meet in a comparison that can stop early. */
bool auth_same_secret(const void *a, size_t alen, const void *b, size_t blen);

/* Whether mhd's request carries key k as its Basic user name. Without a key set: open_if_none.
 * The credentials are wiped from memory before returning. */
bool auth_key_user(struct srv_key *k, struct MHD_Connection *mhd, bool open_if_none);

#endif
