/* httpd/auth.c: see auth.h. */
#include "auth.h"

#include "srv_i.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>

bool auth_same_secret(const void *a, size_t alen, const void *b, size_t blen)
{
    unsigned char da[EVP_MAX_MD_SIZE], db[EVP_MAX_MD_SIZE];
    unsigned int na = 0, nb = 0;

    bool same = EVP_Digest(a, alen, da, &na, EVP_sha256(), NULL) &&
                EVP_Digest(b, blen, db, &nb, EVP_sha256(), NULL) && na == nb &&
                CRYPTO_memcmp(da, db, na) == 0;
    OPENSSL_cleanse(da, sizeof(da));
    OPENSSL_cleanse(db, sizeof(db));
    return same;
}

static void wipe_free(char *s)
{
    if (s) {
        OPENSSL_cleanse(s, strlen(s));
        MHD_free(s);
    }
}

bool auth_key_user(struct srv_key *k, struct MHD_Connection *mhd, bool open_if_none)
{
    char *pass = NULL;
    char *user = MHD_basic_auth_get_username_password(mhd, &pass);

    pthread_rwlock_rdlock(&k->lock);
    bool ok =
        k->len == 0 ? open_if_none : user && auth_same_secret(user, strlen(user), k->bytes, k->len);
    pthread_rwlock_unlock(&k->lock);
    wipe_free(user);
    wipe_free(pass);
    return ok;
}
