/* transform/tr_refuse.c: ImageKit's keys and values that blobkit knows and refuses, each with
 * the reason a 400 gives (AI transformations, video layers, the removed overlay keys...), so a
 * URL written for ImageKit fails with a message that says why, not "unknown parameter". */
#include "tr_parse_i.h"

#include <errno.h>
#include <string.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ImageKit keys we know and refuse: each of names (space-separated) gets "<key><why>". */
static const struct refused_key {
    const char *names, *why;
} refused[] = {
    {"lap lm fol fsh", " is not supported"},
    {"lso leo ldu", " is a video layer parameter, not supported"},
    {"e-bgremove e-removedotbg e-changebg e-edit e-dropshadow e-retouch e-upscale e-genvar",
     " is an AI transformation, not supported"},
    {"e-shadow e-gradient e-distort e-colorize", " is not supported"},
    {"cr", " (colour replace) is not supported"},
    {"dn", " (vector density) is not supported"},
    {"oi ox oy ow oh ot ots otc otf oa obg ofo oiar oic oicm oifo ote otw otbg otp otia or ott",
     " is a removed ImageKit overlay parameter: use l-image,i-PATH,...,l-end or "
     "l-text,i-TEXT,...,l-end"},
};

/* Values ImageKit has and we refuse, by key: exact, or any value starting so when prefix.
 * None of them parses, so they are looked up only to explain a failure. */
static const struct refused_value {
    const char *key, *value;
    bool prefix;
    const char *why;
} refused_values[] = {
    {"c", "maintain_ratio_no_enlarge", false, "is not supported yet"},
    {"cm", "pad_resize_no_enlarge", false, "is not supported yet"},
    {"cm", "pad_extract_no_shrink", false, "is not supported yet"},
    {"fo", "custom", false, "needs a focus area stored with the file, not supported"},
    {"f", "svg", false, "is not supported: output is raster only"},
    {"bg", "blurred", true, "is a blurred background, not supported yet"},
    {"bg", "dominant", false, "is a dominant-colour background, not supported yet"},
    {"bg", "gradient_dominant", true, "is a gradient background, not supported yet"},
    {"bg", "genfill", true, "is an AI transformation, not supported"},
};

/* Whether key is one of the space-separated words of list. */
static bool is_listed(struct str key, const char *list)
{
    struct str rest = {list, strlen(list)}, word;
    bool more = true;

    while (more) {
        more = str_cut(&rest, ' ', &word);
        if (word.len == key.len && memcmp(word.p, key.p, key.len) == 0)
            return true;
    }
    return false;
}

int tr_refuse_key(struct tr_parser *p, struct str key)
{
    char buf[TR_SHOW_LEN];

    for (size_t i = 0; i < COUNT(refused); i++)
        if (is_listed(key, refused[i].names))
            return tr_parse_fail(p, "%s%s", tr_parse_show(key, buf), refused[i].why);
    return tr_parse_fail(p, "unknown parameter '%s'", tr_parse_show(key, buf));
}

int tr_refuse_value(struct tr_parser *p, const struct tr_key_def *d, struct str v)
{
    char buf[TR_SHOW_LEN];

    for (size_t i = 0; i < COUNT(refused_values); i++) {
        const struct refused_value *r = &refused_values[i];
        size_t n = strlen(r->value);

        if (strcmp(r->key, d->name) == 0 && v.len >= n && memcmp(v.p, r->value, n) == 0 &&
            (v.len == n || r->prefix))
            return tr_parse_fail(p, "%s: '%s' %s", d->name, tr_parse_show(v, buf), r->why);
    }
    return -EINVAL;
}
