/* fs/mountopt.c: -o key=value as fstab gives it (see mountopt.h). */
#include "mountopt.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Options of mount(8) and fstab that reach a helper but mean nothing to FUSE. */
static bool is_mount_only(const char *item)
{
    static const char *const words[] = {"_netdev", "nofail", "noauto", "auto",  "user",
                                        "users",   "nouser", "owner",  "group", "defaults"};

    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        if (strcmp(item, words[i]) == 0)
            return true;
    }
    return strncmp(item, "x-", 2) == 0 || strncmp(item, "comment=", 8) == 0;
}

/* The long-only option of opts that key[0..len) names, '_' standing for '-'; NULL if none. */
static const struct option *find(const struct option *opts, const char *key, size_t len)
{
    for (const struct option *o = opts; o->name; o++) {
        size_t i = 0;
        while (i < len && o->name[i] &&
               (o->name[i] == key[i] || (o->name[i] == '-' && key[i] == '_')))
            i++;
        if (o->val >= 256 && i == len && !o->name[i])
            return o;
    }
    return NULL;
}

/* One item: ours, dropped, or FUSE's. */
static int one(char *item, const struct option *opts, mountopt_set_fn set, void *set_arg,
               char err[MOUNTOPT_ERR_LEN])
{
    char *eq = strchr(item, '=');
    size_t klen = eq ? (size_t)(eq - item) : strlen(item);
    const struct option *o = find(opts, item, klen);

    if (is_mount_only(item))
        return 0;
    if ((klen == 3 && strncmp(item, "sas", 3) == 0) ||
        (klen == 9 && strncmp(item, "sas_token", 9) == 0)) {
        snprintf(err, MOUNTOPT_ERR_LEN,
                 "-o %.*s: the SAS token is not taken as an option (ps and /proc would show "
                 "it): use sas_file=FILE",
                 (int)klen, item);
        return -EINVAL;
    }
    if (!o)
        return set(set_arg, 0, item);
    if ((o->has_arg == required_argument) != (eq != NULL)) {
        snprintf(err, MOUNTOPT_ERR_LEN, "-o %.*s: %s", (int)klen, item,
                 eq ? "takes no value" : "wants a value (key=value)");
        return -EINVAL;
    }
    return set(set_arg, o->val, eq ? eq + 1 : NULL);
}

int mountopt_parse(char *arg, const struct option *opts, mountopt_set_fn set, void *set_arg,
                   char err[MOUNTOPT_ERR_LEN])
{
    int rc = 0;

    err[0] = '\0';
    for (char *item = arg, *next; rc == 0 && item; item = next) {
        next = strchr(item, ',');
        if (next)
            *next++ = '\0';
        if (*item)
            rc = one(item, opts, set, set_arg, err);
    }
    return rc;
}
