/* Tests for transform/tr_geom.c, the arithmetic of a step's geometry, table-driven: a chain
 * (parsed by the real parser), the size of the image entering it, client hints, and what the
 * plan must be, worked out by hand from the mode's definition (docs/transformations.md). No
 * libvips. */
#include "tr.h"
#include "tr_geom.h"

#include "check.h"

#include <errno.h>

#define KEEP TR_GEOM_KEEP
#define CROP TR_GEOM_CROP
#define SMART TR_GEOM_SMART
#define PAD TR_GEOM_PAD

struct plan_case {
    const char *text; /* one step */
    int cw, ch;       /* the image entering it (also the source: iw ih) */
    double dpr;       /* Sec-CH-DPR, 0: none */
    int width;        /* Sec-CH-Width, 0: none */
    int rc;
    struct tr_geom want; /* when rc is 0 */
};

static const struct plan_case plans[] = {
    /* one side: the other follows the ratio, nothing is cropped */
    {"w-200", 400, 300, 0, 0, 0, {200, 150, 200, 150, KEEP, 0, 0}},
    {"h-100", 400, 300, 0, 0, 0, {133, 100, 133, 100, KEEP, 0, 0}},
    {"w-0.5", 400, 300, 0, 0, 0, {200, 150, 200, 150, KEEP, 0, 0}},
    {"w-iw_div_4", 400, 300, 0, 0, 0, {100, 75, 100, 75, KEEP, 0, 0}},
    {"w-800,c-at_max", 400, 300, 0, 0, 0, {400, 300, 400, 300, KEEP, 0, 0}},
    {"h-600,c-at_max_enlarge", 400, 300, 0, 0, 0, {800, 600, 800, 600, KEEP, 0, 0}},
    /* both sides: cover and crop at fo (halves of the free room), force, fit, cover */
    {"w-200,h-200", 400, 300, 0, 0, 0, {267, 200, 200, 200, CROP, 33, 0}},
    {"w-200,h-200,fo-left", 400, 300, 0, 0, 0, {267, 200, 200, 200, CROP, 0, 0}},
    {"w-200,h-200,fo-right", 400, 300, 0, 0, 0, {267, 200, 200, 200, CROP, 67, 0}},
    {"w-300,h-100,fo-bottom", 400, 300, 0, 0, 0, {300, 225, 300, 100, CROP, 0, 125}},
    {"w-300,h-100,fo-top_right", 400, 300, 0, 0, 0, {300, 225, 300, 100, CROP, 0, 0}},
    {"w-200,h-200,fo-auto", 400, 300, 0, 0, 0, {267, 200, 200, 200, SMART, 33, 0}},
    {"w-200,h-200,fo-face", 400, 300, 0, 0, 0, {267, 200, 200, 200, SMART, 33, 0}},
    {"w-200,h-200,c-force", 400, 300, 0, 0, 0, {200, 200, 200, 200, KEEP, 0, 0}},
    {"w-200,h-200,c-at_max", 400, 300, 0, 0, 0, {200, 150, 200, 150, KEEP, 0, 0}},
    {"w-800,h-800,c-at_max", 400, 300, 0, 0, 0, {400, 300, 400, 300, KEEP, 0, 0}},
    {"w-800,h-800,c-at_max_enlarge", 400, 300, 0, 0, 0, {800, 600, 800, 600, KEEP, 0, 0}},
    {"w-200,h-200,c-at_least", 400, 300, 0, 0, 0, {267, 200, 267, 200, KEEP, 0, 0}},
    /* pad: fit inside, the padding placed by fo */
    {"w-200,h-200,cm-pad_resize", 400, 300, 0, 0, 0, {200, 150, 200, 200, PAD, 0, 25}},
    {"w-200,h-200,cm-pad_resize,fo-top", 400, 300, 0, 0, 0, {200, 150, 200, 200, PAD, 0, 0}},
    {"w-200,h-200,cm-pad_resize,fo-bottom", 400, 300, 0, 0, 0, {200, 150, 200, 200, PAD, 0, 50}},
    {"w-800,h-800,cm-pad_resize,c-at_max", 400, 300, 0, 0, 0, {800, 600, 800, 800, PAD, 0, 100}},
    /* extract: x/y, xc/yc, or fo; outside the image is an error; pad_extract may overhang */
    {"w-100,h-50,cm-extract,x-10,y-20", 400, 300, 0, 0, 0, {0, 0, 100, 50, CROP, 10, 20}},
    {"w-100,h-50,cm-extract,xc-200,yc-150", 400, 300, 0, 0, 0, {0, 0, 100, 50, CROP, 150, 125}},
    {"w-100,h-50,cm-extract", 400, 300, 0, 0, 0, {0, 0, 100, 50, CROP, 150, 125}},
    {"w-100,h-50,cm-extract,fo-bottom_right", 400, 300, 0, 0, 0, {0, 0, 100, 50, CROP, 300, 250}},
    {"w-100,h-50,cm-extract,fo-auto", 400, 300, 0, 0, 0, {0, 0, 100, 50, SMART, 150, 125}},
    {"w-100,h-50,cm-extract,x-0.5,y-0.5", 400, 300, 0, 0, 0, {0, 0, 100, 50, CROP, 200, 150}},
    {"w-100,cm-extract", 400, 300, 0, 0, 0, {0, 0, 100, 300, CROP, 150, 0}},
    {"w-100,h-50,cm-extract,x-350", 400, 300, 0, 0, -EINVAL, {0}},
    {"w-500,h-100,cm-pad_extract", 400, 300, 0, 0, 0, {0, 0, 500, 100, PAD, 50, -100}},
    /* ar, dpr, client hints */
    {"w-200,ar-2-1", 400, 300, 0, 0, 0, {200, 150, 200, 100, CROP, 0, 25}},
    {"w-200,h-50,ar-1-1", 400, 300, 0, 0, 0, {200, 150, 200, 50, CROP, 0, 50}},
    {"w-100,dpr-2", 400, 300, 0, 0, 0, {200, 150, 200, 150, KEEP, 0, 0}},
    {"w-3000,dpr-2", 400, 300, 0, 0, 0, {3000, 2250, 3000, 2250, KEEP, 0, 0}},
    {"w-100,dpr-auto", 400, 300, 1.5, 0, 0, {150, 113, 150, 113, KEEP, 0, 0}},
    {"w-100,dpr-auto", 400, 300, 0, 0, 0, {100, 75, 100, 75, KEEP, 0, 0}},
    {"w-auto", 400, 300, 0, 250, 0, {300, 225, 300, 225, KEEP, 0, 0}},
    {"w-auto", 400, 300, 0, 0, 0, {0, 0, 400, 300, KEEP, 0, 0}},
    {"rt-90", 400, 300, 0, 0, 0, {0, 0, 400, 300, KEEP, 0, 0}},
    /* sizes that cannot be */
    {"w-iw_sub_400", 400, 300, 0, 0, -EINVAL, {0}},
    {"w-iw_div_ih_sub_1", 300, 300, 0, 0, -EINVAL, {0}},
    {"w-20000", 400, 300, 0, 0, -E2BIG, {0}},
    {"w-16383,h-16383,c-force", 400, 300, 0, 0, -E2BIG, {0}},
    /* extremes: nothing overflows on the way to a clean error (the sanitizer build aborts on a
     * signed overflow), and what fits still plans */
    {"w-16383,h-1,fo-bottom", 1, 70000, 0, 0, -E2BIG, {0}},
    {"w-16383,h-1,fo-top", 1, 70000, 0, 0, -E2BIG, {0}},
    {"w-16383,h-1,fo-auto", 1, 70000, 0, 0, -E2BIG, {0}},
    {"w-1,h-16383,fo-right", 70000, 1, 0, 0, -E2BIG, {0}},
    {"w-16383,h-16383,c-at_least", 1, 70000, 0, 0, -E2BIG, {0}},
    {"w-16383", 1, 70000, 0, 0, -E2BIG, {0}},
    {"h-16383", 70000, 1, 0, 0, -E2BIG, {0}},
    {"w-16383,h-1,c-force", 1, 70000, 0, 0, 0, {16383, 1, 16383, 1, KEEP, 0, 0}},
    {"w-16383,h-1,cm-pad_resize,fo-bottom", 1, 70000, 0, 0, 0, {1, 1, 16383, 1, PAD, 8191, 0}},
    {"w-16383,h-1,c-at_max", 1, 70000, 0, 0, 0, {1, 1, 1, 1, KEEP, 0, 0}},
    {"w-16383,h-16383,cm-pad_extract", 1, 70000, 0, 0, -E2BIG, {0}},
    {"w-16383,h-6000,cm-pad_extract,fo-bottom",
     1,
     70000,
     0,
     0,
     0,
     {0, 0, 16383, 6000, PAD, 8191, -64000}},
    {"w-0.5", 1, 70000, 0, 0, -E2BIG, {0}},
    {"w-16383,dpr-5", 400, 300, 0, 0, -E2BIG, {0}}, /* dpr ignored; 16383x12287 > 100 MP */
    {"w-16383,h-6000,dpr-5,c-force", 400, 300, 0, 0, 0, {16383, 6000, 16383, 6000, KEEP, 0, 0}},
    {"w-1000,dpr-5", 400, 300, 0, 0, 0, {5000, 3750, 5000, 3750, KEEP, 0, 0}},
    {"w-16383,h-16383,dpr-5,c-force", 400, 300, 0, 0, -E2BIG, {0}},
    {"w-100,dpr-auto", 400, 300, 1e300, 0, 0, {500, 375, 500, 375, KEEP, 0, 0}},
    {"w-auto", 400, 300, 0, 2000000000, -E2BIG, {0}},
    {"w-16383,ar-1-65535", 400, 300, 0, 0, -E2BIG, {0}},
    {"h-1,ar-65535-1", 400, 300, 0, 0, -E2BIG, {0}},
    {"w-iw_mul_1000000", 400, 300, 0, 0, -E2BIG, {0}},
    {"w-iw_pow_100", 400, 300, 0, 0, -E2BIG, {0}},
    {"w-iw_pow_200", 400, 300, 0, 0, -EINVAL, {0}},
    {"w-iw_pow_N100", 400, 300, 0, 0, -EINVAL, {0}},
    {"w-iw_sub_1000", 400, 300, 0, 0, -EINVAL, {0}},
    {"w-iw_div_0", 400, 300, 0, 0, -EINVAL, {0}},
    {"w-iw_mod_0", 400, 300, 0, 0, -EINVAL, {0}},
    {"w-100,ar-iar_sub_iar", 400, 300, 0, 0, -EINVAL, {0}},
    {"w-100,dpr-iw_sub_iw", 400, 300, 0, 0, -EINVAL, {0}},
    {"w-100,dpr-iw_pow_1000", 400, 300, 0, 0, -EINVAL, {0}},
    {"w-100,dpr-iw_pow_100", 400, 300, 0, 0, 0, {100, 75, 100, 75, KEEP, 0, 0}},
    {"w-10,h-10,cm-extract,x-65535", 400, 300, 0, 0, -EINVAL, {0}},
    {"w-10,h-10,cm-extract,x-iw_pow_20", 400, 300, 0, 0, -EINVAL, {0}},
    {"w-10,h-10,cm-extract,yc-ih_pow_N20", 400, 300, 0, 0, -EINVAL, {0}},
    {"w-10,h-10,cm-extract,x-iw_sub_1000", 400, 300, 0, 0, -EINVAL, {0}},
    {"w-10,h-10,cm-extract,x-iw_sub_10,y-ih_sub_10",
     400,
     300,
     0,
     0,
     0,
     {0, 0, 10, 10, CROP, 390, 290}},
    {"w-10,h-10,cm-extract,x-iw_sub_9", 400, 300, 0, 0, -EINVAL, {0}},
    {"w-100,z-10", 400, 300, 0, 0, 0, {100, 75, 100, 75, KEEP, 0, 0}},
};

static bool same_plan(const struct tr_geom *a, const struct tr_geom *b)
{
    return a->rw == b->rw && a->rh == b->rh && a->ow == b->ow && a->oh == b->oh && a->op == b->op &&
           a->x == b->x && a->y == b->y;
}

static void test_plans(void)
{
    const struct tr_limits lim = TR_LIMITS_DEFAULT;

    for (size_t i = 0; i < sizeof(plans) / sizeof(plans[0]); i++) {
        const struct plan_case *t = &plans[i];
        char err[TR_ERR_LEN] = "";
        struct tr_geom_ctx c = {&lim, t->cw, t->ch, 1, t->dpr, t->width, 0, 0, err};
        struct tr_geom g = {0};
        struct tr_chain chain;
        int rc;

        tr_chain_init(&chain);
        rc = tr_parse(&chain, t->text, strlen(t->text), NULL, err);
        if (rc == 0)
            rc = tr_geom_plan(&c, chain.nsteps ? &chain.step[0] : &(struct tr_step){0}, t->cw,
                              t->ch, &g);
        if (!ok(rc == t->rc && (rc != 0 || same_plan(&g, &t->want)) && (rc == 0) == !err[0],
                "%s on %dx%d (dpr %g, width %d): %d", t->text, t->cw, t->ch, t->dpr, t->width,
                t->rc))
            printf("#   got %d '%s': resize %dx%d, out %dx%d, op %d at %d,%d\n", rc, err, g.rw,
                   g.rh, g.ow, g.oh, (int)g.op, g.x, g.y);
    }
}

/* Shrink-on-load: the largest factor that keeps the decode at least as big as the resize. */
static void test_shrink(void)
{
    static const struct {
        enum tr_source_type type;
        int iw, ih, rw, rh, want;
    } cases[] = {
        {TR_SRC_JPEG, 6000, 4000, 300, 200, 8}, {TR_SRC_JPEG, 1920, 1080, 400, 300, 2},
        {TR_SRC_JPEG, 1920, 1080, 960, 540, 2}, {TR_SRC_JPEG, 1920, 1080, 961, 541, 1},
        {TR_SRC_JPEG, 4000, 3000, 0, 0, 1},     {TR_SRC_WEBP, 4000, 3000, 300, 225, 13},
        {TR_SRC_WEBP, 400, 300, 300, 225, 1},   {TR_SRC_PNG, 4000, 3000, 300, 225, 1},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct tr_geom g = {cases[i].rw, cases[i].rh, cases[i].rw, cases[i].rh, KEEP, 0, 0};
        int got = tr_geom_shrink(cases[i].type, cases[i].iw, cases[i].ih, &g);

        ok(got == cases[i].want, "shrink-on-load of %dx%d (type %d) to %dx%d: %d (got %d)",
           cases[i].iw, cases[i].ih, (int)cases[i].type, cases[i].rw, cases[i].rh, cases[i].want,
           got);
    }
}

static void test_blur_shrink(void)
{
    ok(tr_geom_blur_shrink(2, 4000, 3000) == 1, "a narrow blur runs at full size");
    ok(tr_geom_blur_shrink(50, 4000, 3000) == 12, "sigma 50 runs shrunk 12 times");
    ok(tr_geom_blur_shrink(50, 40, 30) == 1, "not on an image too small to shrink");
}

static void test_limits(void)
{
    struct tr_limits lim = TR_LIMITS_DEFAULT;
    char err[TR_ERR_LEN] = "";
    struct tr_geom_ctx c = {&lim, 10, 10, 3, 0, 0, 0, 0, err};

    ok(tr_geom_check_size(&c, 16383, 1) == 0, "16383 px a side fits");
    ok(tr_geom_check_size(&c, 16384, 1) == -E2BIG && strstr(err, "16383"), "16384 px does not: %s",
       err);
    lim.max_output_pixels = 300;
    ok(tr_geom_check_size(&c, 10, 10) == 0, "3 frames of 10x10 fit 300 pixels");
    ok(tr_geom_check_size(&c, 10, 11) == -E2BIG && strstr(err, "x 3 frames"),
       "3 frames of 10x11 do not: %s", err);
}

/* Where a layer goes: its first step's lx ly lxc lyc lfo, on a 300x200 base. */
static const struct place_case {
    const char *layer; /* the keys of the layer's first step */
    int lw, lh, x, y;
} places[] = {
    {"", 50, 40, 125, 80}, /* lfo-center by default */
    {"lx-10,ly-20", 50, 40, 10, 20},
    {"lx-0,ly-0", 50, 40, 0, 0},
    {"lx-N10,ly-N20", 50, 40, 240, 140}, /* right edge 10 px in, bottom edge 20 px in */
    {"lx-N0", 50, 40, 0, 80},            /* N0 is 0: the left edge */
    {"lx-10", 50, 40, 10, 80},           /* the other axis keeps lfo's place */
    {"ly-N5,lfo-right", 50, 40, 250, 155},
    {"lfo-top_left", 50, 40, 0, 0},
    {"lfo-top", 50, 40, 125, 0},
    {"lfo-top_right", 50, 40, 250, 0},
    {"lfo-left", 50, 40, 0, 80},
    {"lfo-right", 50, 40, 250, 80},
    {"lfo-bottom_left", 50, 40, 0, 160},
    {"lfo-bottom", 50, 40, 125, 160},
    {"lfo-bottom_right", 50, 40, 250, 160},
    {"lfo-bottom_right,lx-5", 50, 40, 5, 160}, /* lx wins over lfo, on its axis */
    {"lxc-100,lyc-50", 50, 40, 75, 30},
    {"lxc-0,lyc-0", 51, 41, -25, -20},
    {"lx-bw_div_2,ly-bh_sub_40", 50, 40, 150, 160},
    {"lx-cw_sub_60", 50, 40, 240, 80},     /* cw is the base too */
    {"lx-400,ly-N400", 50, 40, 400, -240}, /* off the base: cut off when drawn */
    {"lfo-center", 301, 201, -1, -1},      /* larger than the base: centred, rounded down */
    {"lx-N10", 400, 40, -110, 80},
};

static void test_places(void)
{
    const struct tr_limits lim = TR_LIMITS_DEFAULT;

    for (size_t i = 0; i < sizeof(places) / sizeof(places[0]); i++) {
        const struct place_case *t = &places[i];
        char err[TR_ERR_LEN] = "", text[128];
        struct tr_geom_ctx c = {&lim, 1000, 800, 1, 0, 0, 300, 200, err};
        struct tr_chain chain;
        int x = -999, y = -999, rc;

        snprintf(text, sizeof(text), "l-image,i-a.png%s%s,l-end", t->layer[0] ? "," : "", t->layer);
        tr_chain_init(&chain);
        rc = tr_parse(&chain, text, strlen(text), NULL, err);
        if (rc == 0)
            rc = tr_geom_place(&c, &chain.lstep[0], 300, 200, t->lw, t->lh, &x, &y);
        ok(rc == 0 && x == t->x && y == t->y, "%s: a %dx%d layer at %d,%d (got %d,%d %s)", t->layer,
           t->lw, t->lh, t->x, t->y, x, y, err);
    }
}

int main(void)
{
    test_places();
    test_plans();
    test_shrink();
    test_blur_shrink();
    test_limits();
    return check_done();
}
