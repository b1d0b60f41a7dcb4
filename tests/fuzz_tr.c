/* libFuzzer target for the transformation parser. Any input must parse or fail with a
 * message, never crash or read past its end; a chain that parses must have a canonical text
 * that parses back to the same text, and its numbers must evaluate or fail cleanly.
 *
 *   make fuzz && build/fuzz/fuzz_tr -dict=tests/fuzz/tr.dict CORPUS tests/fuzz/tr */
#include "tr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static const struct tr_named named_list[] = {
    {"thumb", "w-200,h-200"},
    {"two", "w-100:rt-90,q-50"},
    {"bad", "q-0"},
};
static const struct tr_names names = {named_list, 3};

static void eval_all(const struct tr_chain *c)
{
    const struct tr_vars v = {.iw = 4000, .ih = 3000, .cw = 800, .ch = 0};
    double out;

    for (unsigned i = 0; i < c->nsteps; i++) {
        const struct tr_step *s = &c->step[i];
        const struct tr_num *n[] = {&s->w,  &s->h,   &s->ar,           &s->x,     &s->y, &s->xc,
                                    &s->yc, &s->dpr, &s->border_width, &s->radius};

        for (size_t k = 0; k < sizeof(n) / sizeof(n[0]); k++)
            tr_num_eval(n[k], &v, &out);
    }
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    static struct tr_chain c;
    static char first[TR_CANONICAL_MAX], second[TR_CANONICAL_MAX];
    char err[TR_ERR_LEN];
    int len;

    tr_chain_init(&c);
    if (tr_parse(&c, (const char *)data, size, &names, err)) {
        if (err[0] == '\0' || strlen(err) >= TR_ERR_LEN)
            abort();
        return 0;
    }
    eval_all(&c);
    tr_chain_output(&c, &(struct tr_output){0});
    len = tr_canonical(&c, first, sizeof(first));
    if (len < 0)
        abort();
    tr_chain_init(&c);
    if (tr_parse(&c, first, (size_t)len, &names, err) ||
        tr_canonical(&c, second, sizeof(second)) != len || strcmp(first, second) != 0) {
        fprintf(stderr, "round trip: '%s' -> '%s' (%s)\n", first, second, err);
        abort();
    }
    return 0;
}
