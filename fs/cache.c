/* fs/cache.c: nodes, listings, TTLs and kernel notifications (see cache.h).
 *
 * One mutex guards every node and table. A node is in the ino table from birth to free; it is
 * "current" while its name in its folder leads to it (dentry table and the folder's child
 * list). A node stops being current when its name leads elsewhere (new ETag, a folder now
 * shadowing it) or nowhere; it is freed once the kernel has forgotten it (nlookup 0). */
#include "cache.h"

#include "blob.h"
#include "blob_name.h"
#include "clock.h"
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Notifications waiting at most; beyond, the kernel's own timeouts bound staleness. */
#define NOTICE_MAX 200000
/* How often, and how long after expiry, nodes the kernel forgot are dropped. */
#define SWEEP_EVERY_S 30
#define SWEEP_GRACE_S 60
/* Names a listing that resolves one name asks for: a few, whatever the folder holds. */
#define LOOKUP_PAGE 8

struct dir {
    struct node *first, *last; /* current children, in the order they were linked */
    double listed;             /* end of the last complete listing; 0: never */
    bool complete;             /* the children are exactly what the service holds */
    bool busy;                 /* a listing is running */
    bool kernel_cached;        /* the kernel may hold a copy of the contents */
    uint64_t pass;             /* number of the latest listing */
    uint64_t version;          /* bumped whenever the set of children changes */
    uint64_t kernel_version;   /* the version the kernel's copy shows */
    time_t mtime;
};

struct node {
    uint64_t ino, parent;  /* parent 0: the root */
    char *name, *path;     /* leaf name; full blob name ("" or "a/b") */
    struct blob_attr attr; /* files */
    struct dir *dir;       /* folders */
    bool current, changed;
    uint64_t nlookup;
    double expires; /* monotonic seconds */
    uint64_t seen;  /* the listing pass that last saw it */
    struct node *next_ino, *next_dent, *prev_sib, *next_sib;
};

struct notice {
    struct notice *next;
    uint64_t parent, ino; /* with a name: the node that left it (0: any); else the inode */
    bool has_name;
    char name[];
};

struct table {
    struct node **slot;
    size_t cap, count;
};

struct cache {
    struct cache_opts o; /* o.root points at root_path */
    char *root_path;
    struct blob_client *blob;
    pthread_mutex_t lock;  /* guards everything below */
    pthread_cond_t listed; /* a folder listing ended */
    pthread_cond_t wake;   /* notices queued, or stopping */
    struct table inos, dents;
    uint64_t next_ino;
    struct node *root;
    struct notice *head, *tail;
    size_t queued;
    bool stopping, started;
    pthread_t thread;
    cache_notify_fn notify;
    void *notify_arg;
};

/* ---- tables ---- */

static size_t dent_hash(uint64_t parent, const char *name)
{
    uint64_t h = 1469598103934665603ull ^ parent;

    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return (size_t)h;
}

static struct node **chain(struct table *t, size_t hash)
{
    return &t->slot[hash & (t->cap - 1)];
}

static struct node *ino_find(struct cache *c, uint64_t ino)
{
    struct node *n = *chain(&c->inos, (size_t)ino);

    while (n && n->ino != ino)
        n = n->next_ino;
    return n;
}

static struct node *dent_find(struct cache *c, uint64_t parent, const char *name)
{
    struct node *n = *chain(&c->dents, dent_hash(parent, name));

    while (n && (n->parent != parent || strcmp(n->name, name) != 0))
        n = n->next_dent;
    return n;
}

/* Double a table when it is full; on allocation failure it just stays longer-chained. */
static void grow(struct table *t, bool by_ino)
{
    size_t cap = t->cap * 2;
    struct node **slot = calloc(cap, sizeof(*slot));

    if (!slot)
        return;
    for (size_t i = 0; i < t->cap; i++) {
        struct node *n = t->slot[i], *next;
        for (; n; n = next) {
            struct node **link = by_ino ? &n->next_ino : &n->next_dent;
            size_t h = by_ino ? (size_t)n->ino : dent_hash(n->parent, n->name);
            next = *link;
            *link = slot[h & (cap - 1)];
            slot[h & (cap - 1)] = n;
        }
    }
    free(t->slot);
    t->slot = slot;
    t->cap = cap;
}

static void ino_insert(struct cache *c, struct node *n)
{
    if (c->inos.count >= c->inos.cap)
        grow(&c->inos, true);
    struct node **head = chain(&c->inos, (size_t)n->ino);
    n->next_ino = *head;
    *head = n;
    c->inos.count++;
}

static void ino_remove(struct cache *c, struct node *n)
{
    struct node **link = chain(&c->inos, (size_t)n->ino);

    while (*link != n)
        link = &(*link)->next_ino;
    *link = n->next_ino;
    c->inos.count--;
}

static void dent_insert(struct cache *c, struct node *n)
{
    if (c->dents.count >= c->dents.cap)
        grow(&c->dents, false);
    struct node **head = chain(&c->dents, dent_hash(n->parent, n->name));
    n->next_dent = *head;
    *head = n;
    c->dents.count++;
}

static void dent_remove(struct cache *c, struct node *n)
{
    struct node **link = chain(&c->dents, dent_hash(n->parent, n->name));

    while (*link != n)
        link = &(*link)->next_dent;
    *link = n->next_dent;
    c->dents.count--;
}

static int table_init(struct table *t)
{
    t->cap = 1024;
    t->count = 0;
    t->slot = calloc(t->cap, sizeof(*t->slot));
    return t->slot ? 0 : -ENOMEM;
}

/* ---- notices ---- */

static void queue_notice(struct cache *c, uint64_t parent, const char *name, uint64_t ino)
{
    size_t len = name ? strlen(name) + 1 : 1;

    if (!c->started || c->queued >= NOTICE_MAX)
        return;
    struct notice *q = malloc(sizeof(*q) + len);
    if (!q)
        return;
    q->next = NULL;
    q->parent = parent;
    q->ino = ino;
    q->has_name = name != NULL;
    memcpy(q->name, name ? name : "", len);
    if (c->tail)
        c->tail->next = q;
    else
        c->head = q;
    c->tail = q;
    c->queued++;
    pthread_cond_signal(&c->wake);
}

/* ---- nodes ---- */

static char *join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *s = malloc(a + b + 2);

    if (!s)
        return NULL;
    memcpy(s, dir, a);
    if (a)
        s[a++] = '/';
    memcpy(s + a, name, b + 1);
    return s;
}

/* The listing prefix of a folder: "" for a root at the container's root, else "path/". */
static char *list_prefix(const struct node *d)
{
    return d->path[0] ? join(d->path, "") : strdup("");
}

static void node_free(struct cache *c, struct node *n)
{
    ino_remove(c, n);
    free(n->dir);
    free(n->name);
    free(n->path);
    free(n);
}

static struct node *node_new(struct cache *c, const struct node *parent, const char *name,
                             bool is_dir)
{
    struct node *n = calloc(1, sizeof(*n));

    if (!n)
        return NULL;
    n->name = strdup(name);
    n->path = parent ? join(parent->path, name) : strdup(c->o.root);
    n->dir = is_dir ? calloc(1, sizeof(*n->dir)) : NULL;
    if (!n->name || !n->path || (is_dir && !n->dir)) {
        free(n->dir);
        free(n->name);
        free(n->path);
        free(n);
        return NULL;
    }
    if (n->dir)
        n->dir->mtime = c->o.mount_time;
    n->ino = c->next_ino++;
    n->parent = parent ? parent->ino : 0;
    ino_insert(c, n);
    return n;
}

static void touch_dir(struct node *d)
{
    d->dir->version++;
    if (d->dir->listed)
        d->dir->mtime = time(NULL);
}

/* Link n into folder d after sibling prev (NULL: first), so a listing keeps its order. */
static void link_child(struct cache *c, struct node *d, struct node *n, struct node *prev)
{
    struct node *next = prev ? prev->next_sib : d->dir->first;

    dent_insert(c, n);
    n->prev_sib = prev;
    n->next_sib = next;
    if (prev)
        prev->next_sib = n;
    else
        d->dir->first = n;
    if (next)
        next->prev_sib = n;
    else
        d->dir->last = n;
    n->current = true;
    touch_dir(d);
}

static void unlink_child(struct cache *c, struct node *d, struct node *n)
{
    dent_remove(c, n);
    if (n->prev_sib)
        n->prev_sib->next_sib = n->next_sib;
    else
        d->dir->first = n->next_sib;
    if (n->next_sib)
        n->next_sib->prev_sib = n->prev_sib;
    else
        d->dir->last = n->prev_sib;
    n->prev_sib = n->next_sib = NULL;
    n->current = false;
    touch_dir(d);
}

/* n's name no longer leads to it. The kernel is told (when it knows the name), the subtree
 * of a folder goes with it, and n is freed unless the kernel still holds it. */
static void retire(struct cache *c, struct node *d, struct node *n, bool tell)
{
    unlink_child(c, d, n);
    n->changed = true;
    if (tell && n->nlookup > 0)
        queue_notice(c, d->ino, n->name, n->ino);
    while (n->dir && n->dir->first)
        retire(c, n, n->dir->first, false);
    if (n->nlookup == 0)
        node_free(c, n);
}

static bool same_version(const struct node *n, const struct blob_attr *a)
{
    return strcmp(n->attr.etag, a->etag) == 0 && n->attr.size == a->size;
}

/* Make name in folder d lead to a folder or to the version attr of a blob, reusing the node
 * when nothing changed. Returns the node, or NULL when out of memory. */
static struct node *apply(struct cache *c, struct node *d, const char *name, bool is_dir,
                          const struct blob_attr *attr, double expires)
{
    struct node *n = dent_find(c, d->ino, name);

    if (n && !n->dir == !is_dir && (is_dir || same_version(n, attr))) {
        n->expires = expires;
        n->changed = false;
        return n;
    }
    struct node *prev = n ? n->prev_sib : d->dir->last;
    if (n)
        retire(c, d, n, true);
    n = node_new(c, d, name, is_dir);
    if (!n)
        return NULL;
    if (!is_dir)
        n->attr = *attr;
    n->expires = expires;
    link_child(c, d, n, prev);
    return n;
}

static void fill(const struct node *n, double now, struct cache_entry *out)
{
    out->ino = n->ino;
    out->is_dir = n->dir != NULL;
    out->size = n->dir ? 0 : n->attr.size;
    out->mtime = n->dir ? n->dir->mtime : n->attr.mtime;
    out->timeout = n->current && n->expires > now ? n->expires - now : 0;
}

static int take(struct node *n, bool ref, double now, struct cache_entry *out)
{
    if (ref)
        n->nlookup++;
    fill(n, now, out);
    return 0;
}

/* Free a node the kernel no longer holds; a folder's children go first. */
static void drop(struct cache *c, struct node *n)
{
    while (n->dir && n->dir->first)
        retire(c, n, n->dir->first, false);
    node_free(c, n);
}

/* ---- listing a folder ---- */

/* A blob met while a folder of the same name, seen by an earlier listing, has not yet been
 * seen by this one: which one shows is decided at the end of the listing. */
struct held {
    char name[BLOB_NAME_LEAF_MAX + 1];
    struct blob_attr attr;
};

struct pass {
    struct cache *c;
    uint64_t dir_ino, number;
    char *prefix;
    size_t prefix_len;
    bool first; /* the folder's first listing: hidden names are logged */
    double expires;
    struct held *held;
    size_t nheld, cap;
};

static int pass_init(struct cache *c, struct node *d, struct pass *p)
{
    memset(p, 0, sizeof(*p));
    p->c = c;
    p->dir_ino = d->ino;
    p->number = ++d->dir->pass;
    p->first = d->dir->listed == 0;
    p->expires = clock_now_s() + c->o.attr_timeout;
    p->prefix = list_prefix(d);
    if (!p->prefix)
        return -ENOMEM;
    p->prefix_len = strlen(p->prefix);
    return 0;
}

static void pass_release(struct pass *p)
{
    free(p->prefix);
    free(p->held);
}

static void hold(struct pass *p, const char *name, const struct blob_attr *attr)
{
    if (p->nheld == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 8;
        struct held *h = reallocarray(p->held, cap, sizeof(*h));
        if (!h)
            return;
        p->held = h;
        p->cap = cap;
    }
    snprintf(p->held[p->nheld].name, sizeof(p->held[0].name), "%s", name);
    p->held[p->nheld++].attr = *attr;
}

static void log_shadowed(const struct pass *p, const char *blob)
{
    if (p->first)
        log_warn("hiding blob '%s': a folder has the same name", blob);
}

static void to_attr(const struct blob_item *it, struct blob_attr *a)
{
    a->size = it->size;
    a->mtime = it->mtime;
    a->is_folder = it->is_folder;
    memcpy(a->etag, it->etag, sizeof(a->etag));
}

/* The name of an item relative to the folder, in leaf; false when it is none (the folder's
 * own marker "dir/") or cannot be a file name (logged once). */
static bool item_leaf(const struct pass *p, const struct blob_item *it, char *leaf)
{
    size_t len = strlen(it->name);

    if (len < p->prefix_len || memcmp(it->name, p->prefix, p->prefix_len) != 0)
        return false;
    const char *rest = it->name + p->prefix_len;
    len -= p->prefix_len;
    if (len == 0)
        return false;
    if (it->is_prefix && rest[len - 1] == '/')
        len--;
    if (!blob_name_is_leaf(rest, len)) {
        if (p->first)
            log_warn("hiding '%s': it cannot be a file name", it->name);
        return false;
    }
    memcpy(leaf, rest, len);
    leaf[len] = '\0';
    return true;
}

static void pass_item(struct pass *p, struct node *d, const struct blob_item *it)
{
    char leaf[BLOB_NAME_LEAF_MAX + 1];
    struct blob_attr attr;

    if (!item_leaf(p, it, leaf))
        return;
    bool is_dir = it->is_prefix || (it->is_folder && it->size == 0);
    to_attr(it, &attr);
    struct node *n = dent_find(p->c, d->ino, leaf);
    if (n && n->seen == p->number) { /* the same name twice: a folder and a blob */
        if (!n->dir && is_dir)
            log_shadowed(p, n->path);
        else if (n->dir && !is_dir)
            log_shadowed(p, it->name);
        if (!is_dir || n->dir)
            return;
    } else if (n && n->dir && !is_dir) {
        hold(p, leaf, &attr);
        return;
    }
    n = apply(p->c, d, leaf, is_dir, &attr, p->expires);
    if (n)
        n->seen = p->number;
}

static int on_page(void *arg, const struct blob_page *page)
{
    struct pass *p = arg;

    pthread_mutex_lock(&p->c->lock);
    struct node *d = ino_find(p->c, p->dir_ino);
    int err = d && d->dir ? 0 : -ENOENT;
    for (size_t i = 0; !err && i < page->n; i++)
        pass_item(p, d, &page->item[i]);
    pthread_mutex_unlock(&p->c->lock);
    return err;
}

/* The listing ended: settle held blobs, retire what it did not show. */
static void finish_pass(struct cache *c, struct pass *p, struct node *d)
{
    for (size_t i = 0; i < p->nheld; i++) {
        struct node *n = dent_find(c, d->ino, p->held[i].name);
        if (n && n->seen == p->number) {
            if (p->first)
                log_warn("hiding blob '%s%s': a folder has the same name", p->prefix,
                         p->held[i].name);
            continue;
        }
        n = apply(c, d, p->held[i].name, false, &p->held[i].attr, p->expires);
        if (n)
            n->seen = p->number;
    }
    for (struct node *n = d->dir->first, *next; n; n = next) {
        next = n->next_sib;
        if (n->seen != p->number)
            retire(c, d, n, true);
    }
    d->dir->complete = true;
    d->dir->listed = clock_now_s();
}

static bool listing_fresh(const struct cache *c, const struct node *d, double now)
{
    return d->dir->complete && now - d->dir->listed < c->o.attr_timeout;
}

/* List folder ino unless a fresh listing exists; one listing per folder at a time, the
 * others wait for it. Called and returns with the lock held. */
static int refresh_dir(struct cache *c, uint64_t ino)
{
    struct node *d = ino_find(c, ino);
    struct pass p;

    while (d && d->dir && d->dir->busy) {
        pthread_cond_wait(&c->listed, &c->lock);
        d = ino_find(c, ino);
    }
    if (!d || !d->dir)
        return -ENOENT;
    if (listing_fresh(c, d, clock_now_s()))
        return 0;
    int err = pass_init(c, d, &p);
    if (err)
        return err;
    d->dir->busy = true;
    pthread_mutex_unlock(&c->lock);
    err = blob_list(c->blob, p.prefix, 0, on_page, &p);
    pthread_mutex_lock(&c->lock);
    d = ino_find(c, ino);
    if (d && d->dir) {
        if (!err)
            finish_pass(c, &p, d);
        d->dir->busy = false;
    }
    pthread_cond_broadcast(&c->listed);
    pass_release(&p);
    return err;
}

/* ---- what a flat listing page tells ---- */

/* Where name sorts against the names below path ("path/..."): < 0 before them (as "path"
 * itself, "path-1" or "path.txt" do), 0 among them, > 0 after them. */
static int against_below(const char *name, const char *path, size_t len)
{
    if (strncmp(name, path, len) != 0)
        return strcmp(name, path) < 0 ? -1 : 1;
    unsigned char next = (unsigned char)name[len];
    return next < '/' ? -1 : next == '/' ? 0 : 1;
}

static bool is_marker(const struct blob_item *it)
{
    return it->is_folder && it->size == 0;
}

/* Whether item i of a flat page is certainly a file: no later name lies below it, and one
 * sorts after all that could, or the listing ends there. */
static bool is_known_file(const struct blob_page *pg, size_t i)
{
    const char *name = pg->item[i].name;
    size_t len = strlen(name);

    for (size_t j = i + 1; j < pg->n; j++) {
        int where = against_below(pg->item[j].name, name, len);
        if (where >= 0)
            return where > 0;
    }
    return !pg->next_marker;
}

/* Learn from item i of a flat page what lies below folder d (prefix: its listing prefix):
 * each segment of the name but the last is a folder, the last a file when that is certain,
 * or a folder for a marker. A segment that cannot be a file name ends it (so does the
 * folder's own marker "dir/", whose last segment is empty). */
static void fill_item(struct cache *c, struct node *d, const char *prefix,
                      const struct blob_page *pg, size_t i, double expires)
{
    const struct blob_item *it = &pg->item[i];
    char leaf[BLOB_NAME_LEAF_MAX + 1];
    size_t plen = strlen(prefix);
    struct blob_attr attr;

    if (strncmp(it->name, prefix, plen) != 0)
        return;
    for (const char *rest = it->name + plen;; rest++) {
        size_t seg = strcspn(rest, "/");
        if (!blob_name_is_leaf(rest, seg))
            return;
        memcpy(leaf, rest, seg);
        leaf[seg] = '\0';
        rest += seg;
        if (*rest == '\0')
            break;
        d = apply(c, d, leaf, true, NULL, expires);
        if (!d)
            return;
    }
    to_attr(it, &attr);
    if (is_marker(it) || is_known_file(pg, i))
        apply(c, d, leaf, is_marker(it), &attr, expires);
}

/* Fill the cache below folder ino from flat pages (the lock held). No folder becomes
 * complete this way: only a listing of it says what it does not hold. */
static void fill_pages(struct cache *c, uint64_t ino, const struct blob_page *pg, size_t n)
{
    struct node *d = ino_find(c, ino);
    char *prefix = d && d->dir ? list_prefix(d) : NULL;
    double expires = clock_now_s() + c->o.attr_timeout;

    for (size_t k = 0; prefix && k < n; k++) {
        for (size_t i = 0; i < pg[k].n; i++)
            fill_item(c, d, prefix, &pg[k], i, expires);
    }
    free(prefix);
}

void cache_seed(struct cache *c, const struct blob_page *first)
{
    pthread_mutex_lock(&c->lock);
    fill_pages(c, c->root->ino, first, 1);
    pthread_mutex_unlock(&c->lock);
}

/* ---- resolving one name ---- */

/* What the service says about one name. */
struct found {
    bool exists, is_dir, guessed;
    bool decided; /* the listing said enough */
    struct blob_attr attr;
};

/* Read a flat page of prefix=path: the blob path, names below path (a folder, which wins over
 * the blob), or a name after those, or the end of the listing, settle it. */
static void classify(const struct blob_page *pg, const char *path, struct found *f)
{
    size_t len = strlen(path);

    for (size_t i = 0; i < pg->n && !f->decided; i++) {
        const struct blob_item *it = &pg->item[i];
        int where = against_below(it->name, path, len);
        if (where == 0) {
            f->exists = f->is_dir = f->decided = true;
        } else if (where > 0) {
            f->decided = true; /* past the names below path: there are none */
        } else if (strcmp(it->name, path) == 0) {
            f->exists = true;
            f->is_dir = f->decided = is_marker(it);
            to_attr(it, &f->attr);
        }
    }
    f->decided = f->decided || !pg->next_marker;
}

/* One small flat listing from path on; when the names before "path/..." (siblings such as
 * "path-1") fill it, a second one of "path/" tells whether the folder exists. */
static int remote_list(struct cache *c, const char *path, struct found *f, struct blob_page pg[2])
{
    int err = blob_list_flat(c->blob, path, LOOKUP_PAGE, &pg[0]);

    if (err)
        return err;
    classify(&pg[0], path, f);
    if (f->decided)
        return 0;
    char *below = join(path, "");
    if (!below)
        return -ENOMEM;
    err = blob_list_flat(c->blob, below, LOOKUP_PAGE, &pg[1]);
    free(below);
    if (!err && pg[1].n > 0)
        f->exists = f->is_dir = true;
    return err;
}

/* No-list mode: a name that is no blob is taken for a folder (for a short while). */
static int remote_head(struct cache *c, const char *path, struct found *f)
{
    int err = blob_head(c->blob, path, &f->attr);

    if (err == -ENOENT) {
        f->exists = f->is_dir = f->guessed = true;
        return 0;
    }
    if (err)
        return err;
    f->exists = true;
    f->is_dir = f->attr.is_folder && f->attr.size == 0;
    return 0;
}

static int settle(struct cache *c, uint64_t parent, const char *name, const struct found *f,
                  bool ref, struct cache_entry *out)
{
    double now = clock_now_s();
    struct node *d = ino_find(c, parent);

    if (!d || !d->dir)
        return -ENOENT;
    struct node *n = dent_find(c, parent, name);
    if (!f->exists) {
        if (n)
            retire(c, d, n, true);
        return -ENOENT;
    }
    double ttl = f->guessed ? c->o.negative_timeout : c->o.attr_timeout;
    n = apply(c, d, name, f->is_dir, &f->attr, now + ttl);
    if (!n)
        return -ENOMEM;
    return take(n, ref, now, out);
}

/* Called and returns with the lock held; drops it while asking the service. What the
 * listings show beyond the name (its siblings, the folders and files below it) fills the
 * cache too, so a deep path on a fresh mount often costs one call for all its names. */
static int lookup_locked(struct cache *c, uint64_t parent, const char *name, bool ref,
                         struct cache_entry *out)
{
    double now = clock_now_s();
    struct node *d = ino_find(c, parent);
    struct found f;

    out->timeout = c->o.negative_timeout;
    if (!d)
        return -ENOENT;
    if (!d->dir)
        return -ENOTDIR;
    if (!blob_name_is_leaf(name, strlen(name)))
        return -ENOENT;
    struct node *n = dent_find(c, parent, name);
    if (n && n->expires > now && !n->changed)
        return take(n, ref, now, out);
    if (!n && c->o.can_list && d->dir->complete && now - d->dir->listed < c->o.negative_timeout)
        return -ENOENT;
    char *path = join(d->path, name);
    if (!path)
        return -ENOMEM;
    struct blob_page pg[2] = {{0}};
    memset(&f, 0, sizeof(f));
    pthread_mutex_unlock(&c->lock);
    int err = c->o.can_list ? remote_list(c, path, &f, pg) : remote_head(c, path, &f);
    pthread_mutex_lock(&c->lock);
    free(path);
    if (!err)
        fill_pages(c, parent, pg, 2);
    blob_page_release(&pg[0]);
    blob_page_release(&pg[1]);
    return err ? err : settle(c, parent, name, &f, ref, out);
}

int cache_lookup(struct cache *c, uint64_t parent, const char *name, struct cache_entry *out)
{
    pthread_mutex_lock(&c->lock);
    int err = lookup_locked(c, parent, name, true, out);
    pthread_mutex_unlock(&c->lock);
    return err;
}

void cache_forget(struct cache *c, uint64_t ino, uint64_t n)
{
    pthread_mutex_lock(&c->lock);
    struct node *node = ino_find(c, ino);
    if (node && node != c->root) {
        node->nlookup = node->nlookup > n ? node->nlookup - n : 0;
        if (node->nlookup == 0 && !node->current)
            drop(c, node);
    }
    pthread_mutex_unlock(&c->lock);
}

int cache_getattr(struct cache *c, uint64_t ino, struct cache_entry *out)
{
    pthread_mutex_lock(&c->lock);
    struct node *n = ino_find(c, ino);
    int err = n ? 0 : -ENOENT;
    if (n && !n->dir && n->current && n->expires <= clock_now_s()) {
        struct cache_entry fresh;
        char *name = strdup(n->name);
        err = name ? lookup_locked(c, n->parent, name, false, &fresh) : -ENOMEM;
        free(name);
        n = ino_find(c, ino);
        if (err == -ENOENT || (!err && !n))
            err = n ? 0 : -ENOENT; /* gone: this inode keeps what it was */
    }
    if (!err) {
        fill(n, clock_now_s(), out);
        if (n->dir)
            out->timeout = c->o.attr_timeout;
    }
    pthread_mutex_unlock(&c->lock);
    return err;
}

int cache_open(struct cache *c, uint64_t ino, struct cache_file *out)
{
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&c->lock);
    struct node *n = ino_find(c, ino);
    int err = !n ? -ESTALE : n->dir ? -EISDIR : n->changed ? -ESTALE : 0;
    if (!err) {
        out->ino = ino;
        out->name = strdup(n->path);
        out->size = n->attr.size;
        memcpy(out->etag, n->attr.etag, sizeof(out->etag));
        err = out->name ? 0 : -ENOMEM;
    }
    pthread_mutex_unlock(&c->lock);
    return err;
}

void cache_file_release(struct cache_file *f)
{
    free(f->name);
    f->name = NULL;
}

void cache_stale(struct cache *c, uint64_t ino)
{
    pthread_mutex_lock(&c->lock);
    struct node *n = ino_find(c, ino);
    if (n && !n->dir && !n->changed) {
        log_warn("cannot read '%s': it changed while being read (ETag %s is no longer current); "
                 "the next open reads the new version",
                 n->path, n->attr.etag);
        n->changed = true;
        n->expires = 0;
        if (n->current)
            queue_notice(c, n->parent, n->name, n->ino);
    }
    pthread_mutex_unlock(&c->lock);
}

size_t cache_entries(struct cache *c)
{
    pthread_mutex_lock(&c->lock);
    size_t n = c->inos.count;
    pthread_mutex_unlock(&c->lock);
    return n;
}

void cache_forget_all(struct cache *c)
{
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->inos.cap; i++) {
        for (struct node *n = c->inos.slot[i]; n; n = n->next_ino) {
            if (n == c->root)
                continue;
            n->expires = 0;
            if (n->current && n->nlookup > 0)
                queue_notice(c, n->parent, n->name, 0);
            if (n->dir) {
                n->dir->complete = false;
                n->dir->version++;
            }
        }
    }
    c->root->dir->complete = false;
    c->root->dir->version++;
    queue_notice(c, 0, NULL, c->root->ino);
    pthread_mutex_unlock(&c->lock);
    log_info("forgot all cached metadata");
}

/* ---- folder snapshots ---- */

struct cache_dir {
    uint64_t ino;
    size_t n;
    uint64_t *inos;
    char **names; /* point into arena */
    char *arena;
};

static int snapshot(const struct node *d, struct cache_dir **out)
{
    size_t n = 0, bytes = 0;

    for (const struct node *k = d->dir->first; k; k = k->next_sib) {
        n++;
        bytes += strlen(k->name) + 1;
    }
    struct cache_dir *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->ino = d->ino;
    s->inos = calloc(n + 1, sizeof(*s->inos));
    s->names = calloc(n + 1, sizeof(*s->names));
    s->arena = malloc(bytes + 1);
    if (!s->inos || !s->names || !s->arena) {
        cache_dir_free(s);
        return -ENOMEM;
    }
    char *p = s->arena;
    for (const struct node *k = d->dir->first; k; k = k->next_sib, s->n++) {
        size_t len = strlen(k->name) + 1;
        memcpy(p, k->name, len);
        s->names[s->n] = p;
        s->inos[s->n] = k->ino;
        p += len;
    }
    *out = s;
    return 0;
}

int cache_opendir(struct cache *c, uint64_t ino, struct cache_dir **out, bool *keep_cache)
{
    pthread_mutex_lock(&c->lock);
    struct node *d = ino_find(c, ino);
    int err = !d ? -ENOENT : !d->dir ? -ENOTDIR : !c->o.can_list ? -EACCES : 0;
    if (!err && !listing_fresh(c, d, clock_now_s()))
        err = refresh_dir(c, ino);
    d = ino_find(c, ino);
    if (!err && !d)
        err = -ENOENT;
    if (!err)
        err = snapshot(d, out);
    if (!err) {
        *keep_cache = d->dir->kernel_cached && d->dir->kernel_version == d->dir->version;
        d->dir->kernel_cached = true;
        d->dir->kernel_version = d->dir->version;
    }
    pthread_mutex_unlock(&c->lock);
    return err;
}

size_t cache_dir_size(const struct cache_dir *d)
{
    return d->n;
}

int cache_dir_entry(struct cache *c, const struct cache_dir *d, size_t i, bool ref,
                    const char **name, struct cache_entry *out)
{
    if (i >= d->n)
        return -ENOENT;
    *name = d->names[i];
    pthread_mutex_lock(&c->lock);
    struct node *n = ino_find(c, d->inos[i]);
    if (!n || !n->current || n->parent != d->ino)
        n = dent_find(c, d->ino, d->names[i]);
    int err = n ? take(n, ref, clock_now_s(), out) : -ENOENT;
    pthread_mutex_unlock(&c->lock);
    return err;
}

void cache_dir_free(struct cache_dir *d)
{
    if (!d)
        return;
    free(d->inos);
    free(d->names);
    free(d->arena);
    free(d);
}

/* ---- the cache's thread ---- */

/* Drop nodes the kernel forgot: at once when superseded, after a grace when expired. */
static void sweep(struct cache *c)
{
    double now = clock_now_s();

    for (size_t i = 0; i < c->inos.cap; i++) {
        for (struct node *n = c->inos.slot[i], *next; n; n = next) {
            next = n->next_ino;
            if (n == c->root || n->nlookup > 0)
                continue;
            struct node *d = n->current ? ino_find(c, n->parent) : NULL;
            if (n->current && (!d || n->expires + SWEEP_GRACE_S > now ||
                               (n->dir && (n->dir->first || n->dir->busy))))
                continue;
            if (d) {
                d->dir->complete = false;
                unlink_child(c, d, n);
            }
            node_free(c, n);
        }
    }
}

/* Whether a name's notice, queued when node q->ino left the name, is moot: the kernel has
 * looked the name up since and holds its next node. Notices go out late, and dropping that
 * entry would drop the new version's cached pages with it (FUSE evicts an inode as soon as no
 * entry or open file refers to it): a warm re-read would cost the whole blob again. */
static bool superseded(struct cache *c, const struct notice *q)
{
    if (!q->has_name || !q->ino)
        return false;
    pthread_mutex_lock(&c->lock);
    struct node *n = dent_find(c, q->parent, q->name);
    bool moot = n && n->ino != q->ino && n->nlookup > 0;
    pthread_mutex_unlock(&c->lock);
    return moot;
}

static void deliver(struct cache *c, struct notice *q)
{
    while (q) {
        struct notice *next = q->next;
        if (!superseded(c, q))
            c->notify(c->notify_arg, q->parent, q->has_name ? q->name : NULL,
                      q->has_name ? 0 : q->ino);
        free(q);
        q = next;
    }
}

static void *run(void *arg)
{
    struct cache *c = arg;
    double next_sweep = clock_now_s() + SWEEP_EVERY_S;

    pthread_mutex_lock(&c->lock);
    while (!c->stopping) {
        if (c->head) {
            struct notice *q = c->head;
            c->head = c->tail = NULL;
            c->queued = 0;
            pthread_mutex_unlock(&c->lock);
            deliver(c, q);
            pthread_mutex_lock(&c->lock);
            continue;
        }
        if (clock_now_s() >= next_sweep) {
            sweep(c);
            next_sweep = clock_now_s() + SWEEP_EVERY_S;
        }
        struct timespec ts = clock_deadline_ms(1000);
        pthread_cond_timedwait(&c->wake, &c->lock, &ts);
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

static int init_sync(struct cache *c)
{
    pthread_condattr_t attr;

    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->listed, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&c->wake, &attr);
    pthread_condattr_destroy(&attr);
    return 0;
}

struct cache *cache_new(const struct cache_opts *o, struct blob_client *blob)
{
    struct cache *c = calloc(1, sizeof(*c));

    if (!c)
        return NULL;
    c->o = *o;
    c->blob = blob;
    c->next_ino = CACHE_ROOT_INO;
    c->root_path = strdup(o->root);
    c->o.root = c->root_path;
    init_sync(c);
    if (!c->root_path || table_init(&c->inos) || table_init(&c->dents))
        goto out_free;
    c->root = node_new(c, NULL, "", true);
    if (!c->root)
        goto out_free;
    c->root->current = true;
    c->root->nlookup = 1;
    c->root->expires = 1e18;
    return c;
out_free:
    cache_free(c);
    return NULL;
}

int cache_start(struct cache *c, cache_notify_fn fn, void *arg)
{
    c->notify = fn;
    c->notify_arg = arg;
    c->started = true;
    int err = pthread_create(&c->thread, NULL, run, c);
    if (err)
        c->started = false;
    return -err;
}

void cache_free(struct cache *c)
{
    if (!c)
        return;
    if (c->started) {
        pthread_mutex_lock(&c->lock);
        c->stopping = true;
        pthread_cond_signal(&c->wake);
        pthread_mutex_unlock(&c->lock);
        pthread_join(c->thread, NULL);
    }
    for (struct notice *q = c->head, *next; q; q = next) {
        next = q->next;
        free(q);
    }
    for (size_t i = 0; c->inos.slot && i < c->inos.cap; i++) {
        for (struct node *n = c->inos.slot[i], *next; n; n = next) {
            next = n->next_ino;
            free(n->dir);
            free(n->name);
            free(n->path);
            free(n);
        }
    }
    free(c->inos.slot);
    free(c->dents.slot);
    pthread_cond_destroy(&c->wake);
    pthread_cond_destroy(&c->listed);
    pthread_mutex_destroy(&c->lock);
    free(c->root_path);
    free(c);
}
