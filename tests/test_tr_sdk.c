/* The transformation strings ImageKit's own SDKs emit, parsed: tests/node/ik-urls.mjs builds
 * URLs with npm imagekit 6 and @imagekit/nodejs 7 (checked in as tests/data/ik-urls.tsv, which
 * must be what the script prints today), in the path form (/tr:.../file) and the
 * query form (?tr=..., legacy %2C-encoded or literal), and says what each must parse to. This
 * program takes the transformation out of each URL the way blobhttpd will (one percent- or
 * form-decoding), parses it from a guarded copy, and checks the canonical text or the error.
 * Run from the repository root (tests/run.sh does). */
#include "pct.h"
#include "tr.h"

#include "check.h"

#include <errno.h>

#define SCRIPT "node tests/node/ik-urls.mjs"
#define FIXTURE "tests/data/ik-urls.tsv"

static const struct tr_named named_list[] = {{"thumb", "w-200,h-200"}};
static const struct tr_names names = {named_list, 1};

/* Decode s[0..len) once into out, as blobhttpd does: '+' as a space when form. */
static void decode(const char *s, size_t len, bool form, char *out, size_t cap)
{
    if (pct_decode(s, len, form ? PCT_FORM : 0, out, cap) < 0)
        out[0] = '\0';
}

/* The transformation text of url: the /tr: path segment, or the tr= query value. */
static bool extract(const char *url, char *out, size_t cap)
{
    const char *q = strchr(url, '?'), *seg = strstr(url, "/tr:"), *p;

    if (seg && (!q || seg < q)) {
        seg += 4;
        decode(seg, strcspn(seg, "/?"), false, out, cap);
        return true;
    }
    for (p = q; p; p = strchr(p + 1, '&')) {
        if (strncmp(p + 1, "tr=", 3) == 0) {
            decode(p + 4, strcspn(p + 4, "&#"), true, out, cap);
            return true;
        }
    }
    return false;
}

/* One line: CASE EXPECT FORM URL. */
static void check_line(char *line, char *prev_text, char *prev_key)
{
    char *name = strtok_r(line, "\t\n", &line), *expect = strtok_r(NULL, "\t\n", &line);
    char *form = strtok_r(NULL, "\t\n", &line), *url = strtok_r(NULL, "\t\n", &line);
    char text[TR_MAX_TEXT + 1], key[256], err[TR_ERR_LEN], canon[TR_CANONICAL_MAX];
    struct tr_chain c;
    int rc;

    if (!ok(name && expect && form && url && extract(url, text, sizeof(text)),
            "a transformation in the URL of %s %s", name, form))
        return;
    tr_chain_init(&c);
    rc = tr_parse(&c, check_guard(text, strlen(text)), strlen(text), &names, err);
    if (expect[0] == '!') {
        if (!ok(rc == -EINVAL && strstr(err, expect + 1), "%s %s '%s' is refused: %s", name, form,
                text, rc ? err : "parsed"))
            printf("#   want a message with '%s'\n", expect + 1);
    } else if (ok(rc == 0, "%s %s '%s' parses%s%s", name, form, text, rc ? ": " : "", err)) {
        tr_canonical(&c, canon, sizeof(canon));
        ok_str(canon, expect, "%s %s canonical", name, form);
    }
    /* the path and the query form of one SDK carry the same text once decoded */
    snprintf(key, sizeof(key), "%s %.2s", name, form);
    if (strcmp(key, prev_key) == 0)
        ok_str(text, prev_text, "%s: %s decodes to the path form's text", name, form);
    snprintf(prev_key, 256, "%s", key);
    snprintf(prev_text, TR_MAX_TEXT + 1, "%s", text);
}

int main(void)
{
    static char line[8192], prev_text[TR_MAX_TEXT + 1], prev_key[256];
    FILE *f = fopen(FIXTURE, "r");
    int lines = 0, status;

    if (!f) {
        perror(FIXTURE);
        return 2;
    }
    while (fgets(line, sizeof(line), f)) {
        if (!strchr(line, '\t')) {
            printf("# %s", line);
            continue;
        }
        check_line(line, prev_text, prev_key);
        lines++;
    }
    fclose(f);
    ok(lines >= 150, "the SDKs built %d URLs", lines);
    status = system(SCRIPT " | cmp -s - " FIXTURE);
    ok(status == 0, FIXTURE " is what the SDKs build today (%s > " FIXTURE " renews it)", SCRIPT);
    return check_done();
}
