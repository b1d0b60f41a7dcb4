/* Unit test of httpd/json: escaping (quotes, control bytes, HTML's <>&, U+2028), invalid UTF-8
 * made U+FFFD, numbers, and the cap: a text that would pass it fails as a whole. Inputs sit at
 * the edge of an unreadable page. */
#include "check.h"
#include "json.h"

#include <errno.h>

/* s[0..len) through json_str(), returned as a C string (static; "(failed)" on error). */
static const char *str_of(const char *s, size_t len)
{
    static char out[512];
    struct json j;
    size_t n;

    json_init(&j, sizeof(out));
    json_str(&j, check_guard(s, len), len);
    char *text = json_take(&j, &n);
    snprintf(out, sizeof(out), "%s", text ? text : "(failed)");
    free(text);
    return out;
}

#define STR(lit) str_of(lit, sizeof(lit) - 1)

int main(void)
{
    ok_str(STR("cat.jpg"), "\"cat.jpg\"", "plain text is quoted");
    ok_str(STR("a\"b\\c"), "\"a\\\"b\\\\c\"", "quote and backslash escaped");
    ok_str(STR("<img src=x onerror=alert(1)>&"),
           "\"\\u003cimg src=x onerror=alert(1)\\u003e\\u0026\"", "< > & escaped");
    ok_str(STR("t\tn\n\x01\x7f"), "\"t\\u0009n\\u000a\\u0001\\u007f\"", "control bytes escaped");
    ok_str(STR("été 漢字 🎉"), "\"été 漢字 🎉\"", "valid UTF-8 kept as it is");
    ok_str(STR("a\xe2\x80\xa8z"), "\"a\\u2028z\"", "U+2028 escaped");
    ok_str(STR("a\xff"
               "b"),
           "\"a\\ufffdb\"", "a stray byte becomes U+FFFD");
    ok_str(STR("\xc3"), "\"\\ufffd\"", "a truncated sequence at the end becomes U+FFFD");
    ok_str(STR("\xc0\xaf"), "\"\\ufffd\\ufffd\"", "an overlong '/' is refused");
    ok_str(STR("\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\"", "a surrogate is refused");
    ok_str(STR("\xf4\x90\x80\x80"), "\"\\ufffd\\ufffd\\ufffd\\ufffd\"", "past U+10FFFF refused");
    ok_str(str_of("a\0b", 3), "\"a\\u0000b\"", "NUL escaped");

    struct json j;
    size_t n;
    json_init(&j, 64);
    json_raw(&j, "{\"n\":");
    json_u64(&j, 18446744073709551615u);
    json_raw(&j, ",\"m\":");
    json_i64(&j, -42);
    json_raw(&j, ",\"s\":");
    json_cstr(&j, NULL);
    json_raw(&j, "}");
    char *text = json_take(&j, &n);
    ok_str(text, "{\"n\":18446744073709551615,\"m\":-42,\"s\":null}", "numbers and null");
    ok(text && n == strlen(text), "the length is the text's");
    free(text);

    json_init(&j, 16);
    ok(json_raw(&j, "0123456789") == 0, "under the cap");
    ok(json_raw(&j, "0123456789") == -E2BIG, "past the cap: -E2BIG");
    ok(json_raw(&j, "") == -E2BIG, "and sticky");
    ok(json_take(&j, &n) == NULL && n == 0, "a failed text is not handed out");

    json_init(&j, 1 << 20);
    for (int i = 0; i < 20000; i++)
        json_raw(&j, "abcdefgh");
    text = json_take(&j, &n);
    ok(text && n == 160000 && text[n] == '\0', "grows past its first allocation");
    free(text);
    json_init(&j, 8);
    text = json_take(&j, &n);
    ok(text && n == 0 && text[0] == '\0', "an empty text is an empty string");
    free(text);
    return check_done();
}
