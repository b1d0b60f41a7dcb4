/* The canonical text (with the client hints as tr_hint_dpr() and tr_hint_width() give them, as
 * blobhttpd's cache key has them) says exactly what tr_apply() does: for each pair of chains
 * below, the two keys are equal if and only if the two outputs are the same bytes. Pairs cover
 * every kind of field that reaches the key: later steps overriding earlier ones, steps that
 * do nothing, expressions, fractions, colours, decimals, words, hints. */
#include "tr.h"

#include "check.h"

#include <errno.h>

#include <vips/vips.h>

/* An encoded source, g_malloc'ed. */
struct src {
    void *data;
    size_t len;
};

/* A chain on a source with client hints (0: absent). */
struct req {
    const char *text;
    double dpr;
    int width;
};

struct pair {
    struct req a, b;
    bool same; /* one transform: same key and same bytes; else both differ */
    bool gif;  /* on the animated GIF, else on the photo-like JPEG */
};

#define R(text)                                                                                    \
    {                                                                                              \
        text, 0, 0                                                                                 \
    }
#define H(text, dpr, width)                                                                        \
    {                                                                                              \
        text, dpr, width                                                                           \
    }

static const struct pair pairs[] = {
    /* a later step overrides an earlier one in both */
    {R("pg-2:pg-1"), R("pg-2"), false, true},
    {R("pg-2:pg-1"), R(""), true, true},
    {R("pg-1"), R(""), true, true},
    {R("pg-3:w-30:pg-2"), R("w-30,pg-2"), true, true},
    {R("pg-2,f-png"), R("pg-3,f-png"), false, true},
    {R("q-50:q-80,w-100"), R("w-100"), true, false},
    {R("w-100:f-png"), R("w-100,f-png"), true, false},
    /* a step that does nothing is skipped by both (the first step is what shrinks on load) */
    {R("q-50:w-100"), R("w-100,q-50"), true, false},
    {R("f-jpg:w-100"), R("w-100,f-jpg"), true, false},
    {R("c-maintain_ratio,fo-center:w-100"), R("w-100"), true, false},
    {R("rt-auto:w-100"), R("w-100"), true, false},
    {R("t-false,o-100,w-100"), R("w-100"), true, false},
    {R("rt-90:w-100"), R("w-100:rt-90"), false, false},
    /* layers and conditionals: only what changes the output */
    {R("w-100,l-image,i-ik_canvas,bg-red,w-10,h-10,lfo-center,l-end"),
     R("w-100,l-image,i-ik_canvas,w-10,h-10,bg-FF0000,l-end"), true, false},
    {R("w-100,l-image,i-ik_canvas,bg-red,w-10,h-10,lx-N5,l-end"),
     R("w-100,l-image,i-ik_canvas,bg-red,w-10,h-10,lx-5,l-end"), false, false},
    {R("w-100,l-text,i-Hi,fs-20,l-end"), R("w-100,l-text,ie-SGk=,fs-20,ff-dejavusans,l-end"), true,
     false},
    {R("w-100,l-text,i-Hi,fs-20,l-end"), R("w-100,l-text,i-Hi,fs-21,l-end"), false, false},
    {R("w-100,l-text,i-Hi,pa-4_4_4_4,l-end"), R("w-100,l-text,i-Hi,pa-4,l-end"), true, false},
    {R("if-w_gt_1,w-100,if-else,w-100,if-end"), R("w-100"), true, false},
    {R("if-w_gt_1,w-100,if-end"), R("if-w_lt_1,w-100,if-end"), false, false},
    {R("if-ar_gt_1,w-100,if-else,w-50,if-end"), R("if-ar_gt_1,w-101,if-else,w-50,if-end"), false,
     false},
    /* numbers, expressions, fractions, ratios, words, colours, decimals */
    {R("w-100"), R("w-101"), false, false},
    {R("w-100.4"), R("w-100"), true, false},
    {R("w-100_mul_2"), R("w-200"), true, false},
    {R("w-iw_div_4"), R("w-iw_div_5"), false, false},
    {R("w-0.25"), R("w-0.250000001"), true, false},
    {R("w-0.25"), R("w-0.26"), false, false},
    {R("w-100,ar-8-6"), R("w-100,ar-4-3"), true, false},
    {R("w-100,ar-4_div_3"), R("w-100,ar-4-3"), true, false},
    {R("w-100,ar-4-3"), R("w-100,ar-3-2"), false, false},
    {R("w-100,h-100,fo-left"), R("w-100,h-100,fo-right"), false, false},
    {R("fl-h_v,w-50"), R("fl-v_h,w-50"), true, false},
    {R("f-jpg,w-50"), R("f-jpeg,w-50"), true, false},
    {R("w-50,h-50,cm-pad_resize,bg-red"), R("w-50,h-50,cm-pad_resize,bg-FF0000"), true, false},
    {R("w-50,h-50,cm-pad_resize,bg-red"), R("w-50,h-50,cm-pad_resize,bg-blue"), false, false},
    {R("w-50,b-3_F00"), R("w-50,b-3_red"), true, false},
    {R("w-50,r-10,f-png"), R("w-50,r-11,f-png"), false, false},
    {R("rt-N90,w-50"), R("rt-270,w-50"), true, false},
    {R("rt-45.0000001,w-50"), R("rt-45,w-50"), true, false},
    {R("rt-45.1,w-50"), R("rt-45,w-50"), false, false},
    {R("bl-3,w-50"), R("bl-4,w-50"), false, false},
    {R("e-sharpen,w-50"), R("e-sharpen-30,w-50"), true, false},
    {R("e-sharpen-100,w-50,f-png"), R("e-sharpen-30,w-50,f-png"), false, false},
    {R("e-usm,w-50"), R("e-usm-2-2-0.8-0.024,w-50"), true, false},
    {R("e-usm-2-2-0.8-0.024,w-50"), R("e-usm-2-2-0.9-0.024,w-50"), false, false},
    {R("w-50,o-50,f-png"), R("w-50,o-51,f-png"), false, false},
    {R("w-50,q-50"), R("w-50,q-51"), false, false},
    {R("w-100,dpr-1.5"), R("w-100,dpr-1.500000001"), true, false},
    /* client hints: what the key holds is what the transform uses */
    {H("w-101,dpr-auto", 1.4999998, 0), H("w-101,dpr-auto", 1.5, 0), true, false},
    {H("w-101,dpr-auto", 1.004, 0), H("w-101,dpr-auto", 1.0, 0), true, false},
    {H("w-100,dpr-auto", 1.5, 0), H("w-100,dpr-auto", 1.6, 0), false, false},
    {H("w-auto", 0, 250), H("w-auto", 0, 300), true, false},
    {H("w-auto", 0, 301), H("w-auto", 0, 300), false, false},
};

static void check_setup(int rc, const char *what)
{
    if (rc) {
        fprintf(stderr, "test setup failed: %s: %s\n", what, vips_error_buffer());
        exit(2);
    }
}

/* A photo-like 800x600 JPEG: gradients, noise and hard vertical edges every 100 px, so that
 * decoders, resizes and sharpening show. */
static struct src photo(void)
{
    VipsImage *xyz = NULL, *x = NULL, *m = NULL, *e = NULL, *n = NULL, *g = NULL, *sum = NULL;
    VipsImage *u = NULL;
    struct src s = {NULL, 0};

    check_setup(vips_xyz(&xyz, 800, 600, NULL), "xyz");
    check_setup(vips_extract_band(xyz, &x, 0, NULL), "band");
    check_setup(vips_remainder_const1(x, &m, 100, NULL), "remainder");
    check_setup(vips_more_const1(m, &e, 49, NULL), "more");
    check_setup(vips_gaussnoise(&n, 800, 600, "sigma", 20.0, NULL), "noise");
    check_setup(vips_bandjoin2(xyz, n, &g, NULL), "bandjoin");
    check_setup(vips_add(g, e, &sum, NULL), "add");
    check_setup(vips_cast_uchar(sum, &u, NULL), "cast");
    u->Type = VIPS_INTERPRETATION_sRGB;
    check_setup(vips_image_write_to_buffer(u, ".jpg[Q=90]", &s.data, &s.len, NULL), "jpeg");
    g_object_unref(xyz), g_object_unref(x), g_object_unref(m), g_object_unref(e);
    g_object_unref(n), g_object_unref(g), g_object_unref(sum), g_object_unref(u);
    return s;
}

/* Three 60x40 frames, red, green, blue. */
static struct src animation(void)
{
    VipsImage *f[3] = {NULL}, *strip = NULL, *copy = NULL;
    struct src s = {NULL, 0};

    for (int i = 0; i < 3; i++) {
        VipsImage *black = NULL;
        double add[3] = {i == 0 ? 255 : 0, i == 1 ? 255 : 0, i == 2 ? 255 : 0}, mul[3] = {1, 1, 1};

        check_setup(vips_black(&black, 60, 40, "bands", 3, NULL), "black");
        check_setup(vips_linear(black, &f[i], mul, add, 3, "uchar", TRUE, NULL), "linear");
        g_object_unref(black);
    }
    check_setup(vips_arrayjoin(f, &strip, 3, "across", 1, NULL), "arrayjoin");
    check_setup(vips_copy(strip, &copy, NULL), "copy");
    vips_image_set_int(copy, VIPS_META_PAGE_HEIGHT, 40);
    check_setup(vips_image_write_to_buffer(copy, ".gif", &s.data, &s.len, NULL), "gif");
    for (int i = 0; i < 3; i++)
        g_object_unref(f[i]);
    g_object_unref(strip), g_object_unref(copy);
    return s;
}

/* The cache key of q on s (as blobhttpd makes it: hints, then the canonical text) into key,
 * and tr_apply()'s output into img (given the hints as they came). */
static int transform(const struct req *q, struct src s, char *key, size_t cap, struct tr_image *img)
{
    const struct tr_limits lim = TR_LIMITS_DEFAULT;
    char err[TR_ERR_LEN];
    struct tr_chain c;
    struct tr_sniff sn;
    int n, rc;

    tr_chain_init(&c);
    if (tr_parse(&c, q->text, strlen(q->text), NULL, err))
        return printf("# %s: %s\n", q->text, err), -EINVAL;
    tr_sniff(s.data, s.len, &sn);
    struct tr_request rq = {.chain = &c,
                            .src = s.data,
                            .len = s.len,
                            .format = tr_pick_format(&c, &sn, NULL, false),
                            .limits = &lim,
                            .hint_dpr = q->dpr,
                            .hint_width = q->width};
    n = snprintf(key, cap, "%s|%g|%d|", tr_format_name(rq.format), tr_hint_dpr(q->dpr),
                 tr_hint_width(q->width));
    if (tr_canonical(&c, key + n, cap - (size_t)n) < 0)
        return -ENOSPC;
    rc = tr_apply(&rq, img, err);
    if (rc)
        printf("# %s: %s\n", q->text, err);
    return rc;
}

static void test_pairs(struct src jpeg, struct src gif)
{
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        const struct pair *p = &pairs[i];
        static char ka[TR_CANONICAL_MAX + 64], kb[TR_CANONICAL_MAX + 64];
        struct tr_image a = {0}, b = {0};
        struct src s = p->gif ? gif : jpeg;
        int rc = transform(&p->a, s, ka, sizeof(ka), &a) || transform(&p->b, s, kb, sizeof(kb), &b);
        bool same_key = strcmp(ka, kb) == 0;
        bool same_bytes = a.len == b.len && memcmp(a.data, b.data, a.len) == 0;

        if (!ok(rc == 0 && same_key == p->same && same_bytes == p->same,
                "'%s' (%g, %d) and '%s' (%g, %d): %s", p->a.text, p->a.dpr, p->a.width, p->b.text,
                p->b.dpr, p->b.width, p->same ? "one key, one output" : "two of each"))
            printf("#   keys '%s' and '%s'%s; outputs %zu and %zu bytes%s\n", ka, kb,
                   same_key ? " (equal)" : "", a.len, b.len, same_bytes ? " (equal)" : "");
        tr_image_release(&a);
        tr_image_release(&b);
    }
}

int main(int argc, char **argv)
{
    (void)argc;
    if (tr_init(argv[0], 1))
        return 2;
    struct src jpeg = photo(), gif = animation();

    test_pairs(jpeg, gif);
    g_free(jpeg.data);
    g_free(gif.data);
    tr_shutdown();
    return check_done();
}
