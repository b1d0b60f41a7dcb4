/* Unit tests of fs/blob_props.c: the record of a blob's properties, its caps and refusals, and
 * the extended attributes made of it (the size protocol of listxattr and getxattr). */
#include "blob_props.h"

#include "check.h"

#include <errno.h>

static struct blob_props *sample(void)
{
    struct blob_props *p = NULL;

    blob_props_add(&p, BLOB_PROP_CONTENT_TYPE, NULL, "image/jpeg");
    blob_props_add(&p, BLOB_PROP_CONTENT_MD5, NULL, "1B2M2Y8AsgTpgAmY7PhCfg==");
    blob_props_add(&p, BLOB_PROP_CACHE_CONTROL, NULL, "");
    blob_props_add(&p, BLOB_PROP_TYPE, NULL, "BlockBlob");
    blob_props_add(&p, BLOB_PROP_TIER, NULL, "Cool");
    blob_props_add(&p, BLOB_PROP_META, "author", "Zo\xc3\xab \"x\"\n\ty");
    blob_props_add(&p, BLOB_PROP_META, "Camera_2", "X100");
    return p;
}

static void test_record(void)
{
    struct blob_props *p = sample(), *q;

    ok_str(blob_props_get(p, BLOB_PROP_CONTENT_TYPE, NULL), "image/jpeg", "content type kept");
    ok(blob_props_get(p, BLOB_PROP_CACHE_CONTROL, NULL) == NULL, "an empty value adds nothing");
    ok_str(blob_props_get(p, BLOB_PROP_META, "author"), "Zo\xc3\xab \"x\"\n\ty",
           "a metadata value byte for byte");
    ok(blob_props_get(p, BLOB_PROP_META, "camera_2") == NULL, "keys are matched exactly");
    ok(!blob_props_archived(p), "Cool is online");
    ok(blob_props_refused(p, NULL) == NULL, "nothing refused");
    q = blob_props_dup(p);
    ok(blob_props_equal(p, q), "a copy is equal");
    ok(blob_props_size(q) < blob_props_size(p), "a copy is exact-size");
    blob_props_add(&q, BLOB_PROP_META, "extra", "1");
    ok(!blob_props_equal(p, q), "one more pair is not equal");
    ok(blob_props_equal(NULL, NULL) && !blob_props_equal(p, NULL), "NULL is the empty record");
    blob_props_free(q);
    blob_props_free(p);
    p = NULL;
    blob_props_add(&p, BLOB_PROP_TIER, NULL, "Archive");
    ok(blob_props_archived(p), "the Archive tier is offline");
    blob_props_free(p);
}

static void test_refused(void)
{
    struct blob_props *p = NULL;
    char big[BLOB_META_MAX + 2];
    unsigned n;

    blob_props_add(&p, BLOB_PROP_META, "caf\xc3\xa9", "x");
    blob_props_add(&p, BLOB_PROP_META, "a.b", "x");
    blob_props_add(&p, BLOB_PROP_META, "ok", "1");
    blob_props_add(&p, BLOB_PROP_META, "ok", "2");
    blob_props_add(&p, BLOB_PROP_TIER, NULL, "Hot; rm");
    const char *why = blob_props_refused(p, &n);
    ok(why && strstr(why, "caf\\xc3\\xa9") && strstr(why, "not A-Z"),
       "the first refusal is described, unprintable bytes escaped: %s", why ? why : "");
    ok(n == 4, "four refused (odd key, dotted key, twice, a tier that is no word): %u", n);
    ok_str(blob_props_get(p, BLOB_PROP_META, "ok"), "1", "the first of a key given twice wins");
    ok(blob_props_get(p, BLOB_PROP_TIER, NULL) == NULL, "a bad tier is not kept");
    memset(big, 'v', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    blob_props_add(&p, BLOB_PROP_META, "big", big);
    ok(blob_props_get(p, BLOB_PROP_META, "big") == NULL, "metadata over 8 KiB is refused");
    memset(big, 'k', BLOB_META_KEY_MAX + 1);
    big[BLOB_META_KEY_MAX + 1] = '\0';
    blob_props_add(&p, BLOB_PROP_META, big, "v");
    ok(blob_props_get(p, BLOB_PROP_META, big) == NULL, "a key over the cap is refused");
    blob_props_refused(p, &n);
    ok(n == 6, "six refused in all");
    ok(blob_props_size(p) <= sizeof(size_t) * 4 + BLOB_PROPS_MAX, "the record stays bounded");
    blob_props_free(p);
}

static void test_list(void)
{
    struct blob_props *p = sample();
    struct blob_xattr x = {.etag = "0x8DA", .mtime = 1663057248, .props = p};
    const char want[] = "user.blob.etag\0user.blob.content_type\0user.blob.content_md5\0"
                        "user.blob.last_modified\0user.blob.access_tier\0user.blob.type\0"
                        "user.blob.meta.author\0user.blob.meta.Camera_2";
    char buf[512];

    ssize_t n = blob_xattr_list(&x, NULL, 0);
    ok(n == (ssize_t)sizeof(want), "size 0 asks for the length: %zd", n);
    ok(blob_xattr_list(&x, buf, (size_t)n - 1) == -ERANGE, "one byte short is ERANGE");
    ok(blob_xattr_list(&x, buf, sizeof(buf)) == n && memcmp(buf, want, sizeof(want)) == 0,
       "the names in order, each NUL-terminated");
    x = (struct blob_xattr){.is_dir = true, .prefix = "photos/"};
    ok(blob_xattr_list(&x, buf, sizeof(buf)) == sizeof("user.blob.prefix") &&
           strcmp(buf, "user.blob.prefix") == 0,
       "a folder has its prefix only");
    blob_props_free(p);
}

static void test_get(void)
{
    struct blob_props *p = sample();
    struct blob_xattr x = {.etag = "0x8DA", .mtime = 1663057248, .props = p};
    char buf[64];

    ok(blob_xattr_get(&x, "user.blob.last_modified", NULL, 0) == 20, "RFC 3339 is 20 bytes");
    ok(blob_xattr_get(&x, "user.blob.last_modified", buf, sizeof(buf)) == 20 &&
           memcmp(buf, "2022-09-13T08:20:48Z", 20) == 0,
       "last_modified in UTC");
    ok(blob_xattr_get(&x, "user.blob.etag", buf, 4) == -ERANGE, "a short buffer is ERANGE");
    ok(blob_xattr_get(&x, "user.blob.meta.author", buf, sizeof(buf)) == 11 &&
           memcmp(buf, "Zo\xc3\xab \"x\"\n\ty", 11) == 0,
       "metadata byte for byte, no NUL added");
    ok(blob_xattr_get(&x, "user.blob.access_tier", buf, sizeof(buf)) == 4, "the tier");
    ok(blob_xattr_get(&x, "user.blob.cache_control", buf, sizeof(buf)) == -ENODATA,
       "an attribute Azure did not give is ENODATA");
    ok(blob_xattr_get(&x, "user.blob.meta.", buf, sizeof(buf)) == -ENODATA, "an empty key");
    ok(blob_xattr_get(&x, "user.blob.meta.authorx", buf, sizeof(buf)) == -ENODATA, "a longer key");
    ok(blob_xattr_get(&x, "user.blob.prefix", buf, sizeof(buf)) == -ENODATA,
       "a file has no prefix");
    ok(blob_xattr_get(&x, "security.selinux", buf, sizeof(buf)) == -ENODATA, "other names");
    x = (struct blob_xattr){.etag = "0x1"};
    ok(blob_xattr_get(&x, "user.blob.etag", buf, sizeof(buf)) == 3, "a blob without props");
    x = (struct blob_xattr){.is_dir = true, .prefix = ""};
    ok(blob_xattr_get(&x, "user.blob.prefix", buf, sizeof(buf)) == 0, "the root's empty prefix");
    blob_props_free(p);
}

int main(void)
{
    test_record();
    test_refused();
    test_list();
    test_get();
    return check_done();
}
