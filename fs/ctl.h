/* fs/ctl.h: blobfs's control socket (--control-socket PATH): a Unix stream socket, mode 0600,
 * outside the mount, on which a local process (blobhttpd's purge) tells the mount to forget
 * cached metadata. The mount stays read-only: nothing on it is written, and the container
 * never is. One line per request, one line per answer:
 *
 *     forget PATH       ->  ok N            (N cached names covered)
 *     forget PREFIX*    ->  ok N            (every name that begins with PREFIX)
 *     anything else     ->  error WHY
 *
 * PATH is below the mount root ("photos/cat.jpg"), or absolute: a path under the mount point
 * ("/mnt/media/photos/cat.jpg"), whose mount point part is dropped; an absolute path outside
 * the mount answers "ok 0" (not ours), so a client can tell every mount it knows. The answer
 * comes once the kernel has been told to drop its entries, so the next lookup asks Azure.
 * Lines are at most CTL_MAX_LINE bytes; a client that says nothing for a few seconds is
 * dropped.
 *
 *     ctl = ctl_open(path, mountpoint, err);   // before the daemon forks: errors on stderr
 *     ctl_start(ctl, cache);                   // the mount serves
 *     ctl_free(ctl);                           // the thread stops, the socket is removed
 */
#ifndef FS_CTL_H
#define FS_CTL_H

#define CTL_ERR_LEN 256
#define CTL_MAX_LINE 4096

struct cache;
struct ctl;

/* Bind and listen on path, refusing a path inside mountpoint (the realpath of the mount) and
 * any existing file but a socket (a stale one is replaced). Returns (transfer full) a control
 * to free with ctl_free(), or NULL with err set. */
struct ctl *ctl_open(const char *path, const char *mountpoint, char err[CTL_ERR_LEN]);

/* Answer requests on a thread of its own, forgetting in c (transfer none: must outlive the
 * control's thread, which ctl_free() joins). Returns 0 or -errno. */
int ctl_start(struct ctl *ctl, struct cache *c);

/* Stop the thread, close and remove the socket. NULL is a no-op. */
void ctl_free(struct ctl *ctl);

#endif
