/* Unit test of common/str.h: equality and cutting, at a guarded page edge. */
#include "check.h"
#include "str.h"

static struct str guarded(const char *s)
{
    return (struct str){check_guard(s, strlen(s)), strlen(s)};
}

int main(void)
{
    struct str s = guarded("w-300");
    struct str head;

    ok(str_eq(s, "w-300"), "equal");
    ok(!str_eq(s, "w-30"), "a prefix is not equal");
    ok(!str_eq(s, "w-3000"), "a longer literal is not equal");
    ok(str_eq((struct str){NULL, 0}, ""), "the empty view equals \"\"");

    s = guarded("a,bc,");
    ok(str_cut(&s, ',', &head) && str_eq(head, "a") && str_eq(s, "bc,"), "cut at the first sep");
    ok(str_cut(&s, ',', &head) && str_eq(head, "bc") && s.len == 0, "cut at a trailing sep");
    ok(!str_cut(&s, ',', &head) && head.len == 0 && s.len == 0, "nothing left to cut");

    s = guarded("no-sep");
    ok(!str_cut(&s, ',', &head) && str_eq(head, "no-sep") && s.len == 0,
       "no sep: all of it is the head, without reading past the end");
    return check_done();
}
