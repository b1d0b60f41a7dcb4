/* fs/mountopt.h: blobfs's -o, as mount(8) and /etc/fstab hand it over:
 *
 *     media /mnt/media fuse.blobfs
 * ro,account=acct,sas_file=/etc/blobkit/media.sas,allow_other,_netdev 0 0
 *
 * runs "blobfs media /mnt/media -o ro,account=acct,sas_file=...,allow_other,dev,suid" (through
 * mount.fuse). Each comma-separated item is one of:
 *   - blobfs's own long-only option as key=value, the key spelled with '_' or '-'
 *     (sas_file=FILE is --sas-file FILE), or as a bare key for one without argument (debug);
 *   - an option only mount(8) and fstab use (_netdev, nofail, noauto, auto, user, users,
 *     nouser, owner, group, defaults, comment=..., x-...): dropped;
 *   - anything else: a FUSE mount option (allow_other, ro, dev, ...), passed on.
 * A SAS token is never taken this way (sas=...): it would show in ps; use sas_file. */
#ifndef FS_MOUNTOPT_H
#define FS_MOUNTOPT_H

#include <getopt.h>

#define MOUNTOPT_ERR_LEN 200

/* Called for each item to keep: id is a long option's value with value its argument (NULL for
 * a bare key), or 0 for a FUSE mount option with value the item. value points into the text
 * given to mountopt_parse(). Returns 0 or -errno. */
typedef int (*mountopt_set_fn)(void *arg, int id, char *value);

/* Split arg (one -o's text) in place, as strtok would, and hand each item to set: the values
 * point into arg, so it must outlive their use (an argv string does). Keys are looked up in
 * opts (a getopt_long() table; only entries whose val is at least 256, the long-only ones,
 * count). Returns 0, set's error, or -EINVAL with err naming the item (or "" when set
 * reported its error itself). */
int mountopt_parse(char *arg, const struct option *opts, mountopt_set_fn set, void *set_arg,
                   char err[MOUNTOPT_ERR_LEN]);

#endif
