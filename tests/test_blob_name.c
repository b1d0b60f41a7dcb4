/* Unit tests of fs/blob_name.c: URL encoding of names and the file-name rule. */
#include "blob_name.h"

#include "check.h"

#include <errno.h>

static void test_encode(void)
{
    char out[256];
    const char *odd = "a b/x+y%z#?&\xC3\xA9;~._-.txt";

    ok(blob_name_encode_path(odd, strlen(odd), out, sizeof(out)) > 0, "a path encodes");
    ok_str(out, "a%20b/x%2By%25z%23%3F%26%C3%A9%3B~._-.txt",
           "space, + %% # ? & ; and UTF-8 are escaped; / and unreserved are not");
    ok(blob_name_encode_query("a/b c=&+", 8, out, sizeof(out)) > 0, "a query value encodes");
    ok_str(out, "a%2Fb%20c%3D%26%2B", "a query value escapes / = & + too");
    ok(blob_name_encode_path("abc", 3, out, 3) == -ENAMETOOLONG, "no room for the NUL");
    ok(blob_name_encode_path("a b", 3, out, 5) == -ENAMETOOLONG, "no room for an escape");
    ok(blob_name_encode_path("a b", 3, out, 6) == 5, "exactly enough room");
}

static void test_leaf(void)
{
    char long_name[300];

    memset(long_name, 'x', sizeof(long_name));
    ok(blob_name_is_leaf("a b#?&%+\xC3\xA9", 10), "odd characters make a file name");
    ok(blob_name_is_leaf("...", 3), "three dots make a file name");
    ok(blob_name_is_leaf(".hidden", 7), "a dot file");
    ok(!blob_name_is_leaf("", 0), "empty (from //) is no file name");
    ok(!blob_name_is_leaf(".", 1), "'.' is no file name");
    ok(!blob_name_is_leaf("..", 2), "'..' is no file name");
    ok(!blob_name_is_leaf("a/b", 3), "a slash is no file name");
    ok(!blob_name_is_leaf("a\\b", 3), "a backslash is no file name");
    ok(!blob_name_is_leaf("a\0b", 3), "a NUL is no file name");
    ok(blob_name_is_leaf(check_guard(long_name, 255), 255), "255 bytes make a file name");
    ok(!blob_name_is_leaf(check_guard(long_name, 256), 256), "256 bytes are too long");
}

int main(void)
{
    test_encode();
    test_leaf();
    return check_done();
}
