/* libFuzzer target for List Blobs pages and error bodies (fs/blob_xml.c).
 *
 * blob_xml_parse_page() must return 0 or one of its documented errors, leave a refused page
 * empty, and give a page within its caps: every name set, every ETag terminated, no negative
 * size, no empty NextMarker. A page that parses is written out again as Azure would send it
 * (names percent-encoded with Encoded="true", ETags quoted) and must parse to the same page.
 * blob_xml_parse_error() and blob_xml_parse_date() get the same bytes.
 *
 *   make fuzz && build/fuzz/fuzz_blob_xml -dict=tests/fuzz/blob_xml.dict CORPUS \
 *       tests/fuzz/blob_xml */
#include "blob_xml.h"
#include "httpdate.h"

#include <errno.h>
#include <libxml/parser.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static void fail(const char *what)
{
    fprintf(stderr, "invariant broken: %s\n", what);
    abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    xmlInitParser(); /* once, as blobfs's main() does */
    return 0;
}

static void check_page(const struct blob_page *p)
{
    if (p->n > BLOB_XML_MAX_ITEMS || (p->n && !p->item))
        fail("more items than the cap");
    for (size_t i = 0; i < p->n; i++) {
        const struct blob_item *it = &p->item[i];
        if (!it->name || !it->name[0] || it->size < 0 || !memchr(it->etag, '\0', BLOB_ETAG_MAX))
            fail("an item without a name, with a negative size or an open ETag");
    }
    if (p->next_marker && !p->next_marker[0])
        fail("an empty NextMarker is not the end of the listing");
}

/* s with XML's special characters as references; CR too, which a parser would normalise. */
static void put_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (strchr("&<>\"\r", *s))
            fprintf(f, "&#%u;", (unsigned char)*s);
        else
            fputc(*s, f);
    }
}

/* Whether mtime has a Last-Modified Azure could send (a four-digit year from 1900). */
static bool has_date(time_t t, char date[64])
{
    struct tm tm;

    return gmtime_r(&t, &tm) && tm.tm_year >= 0 && tm.tm_year < 8000 &&
           strftime(date, 64, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

static void put_item(FILE *f, const struct blob_item *it)
{
    const char *tag = it->is_prefix ? "BlobPrefix" : "Blob";
    char date[64];

    fprintf(f, "<%s><Name Encoded=\"true\">", tag);
    for (const char *s = it->name; *s; s++)
        fprintf(f, "%%%02X", (unsigned char)*s);
    fprintf(f, "</Name><Properties><Content-Length>%lld</Content-Length><Etag>\"",
            (long long)it->size);
    put_text(f, it->etag);
    fputs("\"</Etag>", f);
    if (has_date(it->mtime, date))
        fprintf(f, "<Last-Modified>%s</Last-Modified>", date);
    fprintf(f, "</Properties><Metadata><hdi_isfolder>%s</hdi_isfolder></Metadata></%s>",
            it->is_folder ? "true" : "false", tag);
}

/* The page as the service would write it. (transfer full): free() it. */
static char *write_page(const struct blob_page *p, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);

    if (!f)
        abort();
    fputs("<?xml version=\"1.0\" encoding=\"utf-8\"?><EnumerationResults><Blobs>", f);
    for (size_t i = 0; i < p->n; i++)
        put_item(f, &p->item[i]);
    fputs("</Blobs>", f);
    if (p->next_marker) {
        fputs("<NextMarker>", f);
        put_text(f, p->next_marker);
        fputs("</NextMarker>", f);
    }
    fputs("</EnumerationResults>", f);
    if (fclose(f))
        abort();
    return buf;
}

static bool same_item(const struct blob_item *a, const struct blob_item *b)
{
    char date[64];

    return strcmp(a->name, b->name) == 0 && a->is_prefix == b->is_prefix &&
           a->is_folder == b->is_folder && a->size == b->size && strcmp(a->etag, b->etag) == 0 &&
           (!has_date(a->mtime, date) || a->mtime == b->mtime);
}

static void check_round_trip(const struct blob_page *p)
{
    struct blob_page again;
    size_t len;
    char *xml = write_page(p, &len);
    int rc = blob_xml_parse_page(xml, len, &again);

    if (rc != 0 || again.n != p->n) {
        fprintf(stderr, "rc %d: %s\n", rc, xml);
        fail("a page written out again does not parse to as many items");
    }
    for (size_t i = 0; i < p->n; i++) {
        if (!same_item(&p->item[i], &again.item[i]))
            fail("an item written out again parses differently");
    }
    if ((p->next_marker == NULL) != (again.next_marker == NULL) ||
        (p->next_marker && strcmp(p->next_marker, again.next_marker) != 0))
        fail("NextMarker written out again parses differently");
    blob_page_release(&again);
    free(xml);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    static const struct blob_page empty;
    struct blob_page page;
    char code[32], *text = malloc(size + 1);
    time_t t;
    int rc = blob_xml_parse_page((const char *)data, size, &page);

    if (rc != 0 && rc != -EPROTO && rc != -E2BIG && rc != -ENOMEM)
        fail("blob_xml_parse_page returned an undocumented error");
    if (rc != 0 && memcmp(&page, &empty, sizeof(page)) != 0)
        fail("a refused page still holds something");
    if (rc == 0) {
        check_page(&page);
        check_round_trip(&page);
        blob_page_release(&page);
    }
    if (blob_xml_parse_error((const char *)data, size, code, 1 + size % sizeof(code)) == 0 &&
        strlen(code) >= 1 + size % sizeof(code))
        fail("an error code past its buffer");
    if (!text)
        abort();
    memcpy(text, data, size);
    text[size] = '\0';
    httpdate_parse(text, &t);
    free(text);
    return 0;
}
