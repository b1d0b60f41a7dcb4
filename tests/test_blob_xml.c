/* Unit tests of fs/blob_xml.c: List Blobs pages and error bodies, every input ending at the
 * edge of an unreadable page. */
#include "blob_xml.h"

#include "check.h"

#include <errno.h>

static int parse(const char *xml, struct blob_page *page)
{
    return blob_xml_parse_page(check_guard(xml, strlen(xml)), strlen(xml), page);
}

#define HEAD "<?xml version=\"1.0\" encoding=\"utf-8\"?><EnumerationResults ContainerName=\"c\">"

static void test_interleaved(void)
{
    struct blob_page p;
    const char *xml =
        HEAD "<Prefix>d/</Prefix><Delimiter>/</Delimiter><Blobs>"
             "<Blob><Name>d/a</Name><Properties><Last-Modified>Tue, 13 Sep 2022 08:20:48 GMT"
             "</Last-Modified><Etag>0x8DA9560DD170CFD</Etag><Content-Length>19</Content-Length>"
             "</Properties></Blob>"
             "<BlobPrefix><Name>d/a-1/</Name></BlobPrefix>"
             "<Blob><Name>d/b &amp; c</Name><Properties><Etag>\"0x1\"</Etag>"
             "<Content-Length>0</Content-Length></Properties>"
             "<Metadata><HDI_isfolder>True</HDI_isfolder></Metadata></Blob>"
             "<BlobPrefix><Name>d/e/</Name></BlobPrefix>"
             "</Blobs><NextMarker>2!92!MDAw</NextMarker></EnumerationResults>";

    ok(parse(xml, &p) == 0, "an interleaved page parses");
    ok(p.n == 4, "four entries in document order");
    ok_str(p.item[0].name, "d/a", "blob name");
    ok(!p.item[0].is_prefix && p.item[0].size == 19, "blob size");
    ok(p.item[0].mtime == 1663057248, "Last-Modified");
    ok_str(p.item[0].etag, "0x8DA9560DD170CFD", "etag");
    ok(p.item[1].is_prefix, "a prefix between blobs");
    ok_str(p.item[1].name, "d/a-1/", "prefix name");
    ok_str(p.item[2].name, "d/b & c", "entities of XML itself are decoded");
    ok(p.item[2].is_folder, "hdi_isfolder, any case");
    ok_str(p.item[2].etag, "0x1", "quotes around an ETag are dropped");
    ok(p.item[3].is_prefix, "the last prefix");
    ok_str(p.next_marker, "2!92!MDAw", "NextMarker");
    blob_page_release(&p);
}

static void test_bom_encoded_last(void)
{
    struct blob_page p;
    const char *xml =
        "\xEF\xBB\xBF" HEAD "<Blobs><Blob><Name Encoded=\"true\">a%20b%2F%26c%EF%BF%BE"
        "</Name><Properties><Content-Length>5</Content-Length></Properties></Blob>"
        "<Blob><Name>\xC3\xA9t\xC3\xA9 #?%+.txt</Name><Properties><ResourceType>"
        "directory</ResourceType></Properties></Blob>"
        "</Blobs><NextMarker/></EnumerationResults>";

    ok(parse(xml, &p) == 0, "a page with a UTF-8 BOM parses");
    ok(p.n == 2, "two entries");
    ok_str(p.item[0].name, "a b/&c\xEF\xBF\xBE", "an Encoded name is percent-decoded whole");
    ok_str(p.item[1].name, "\xC3\xA9t\xC3\xA9 #?%+.txt", "a plain name is kept as is");
    ok(p.item[1].is_folder, "an HNS directory is a folder");
    ok(p.next_marker == NULL, "an empty NextMarker ends the listing");
    blob_page_release(&p);
    ok(parse(HEAD "<Blobs/></EnumerationResults>", &p) == 0 && p.n == 0, "an empty page");
    blob_page_release(&p);
}

static void test_refused(void)
{
    struct blob_page p;
    const char *lol = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">"
                      "<!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">"
                      "<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">]>"
                      "<EnumerationResults><Blobs><Blob><Name>&lol3;</Name></Blob></Blobs>"
                      "</EnumerationResults>";
    const char *xxe = "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x SYSTEM "
                      "\"file:///etc/passwd\">]><EnumerationResults><Blobs><Blob><Name>&x;</Name>"
                      "</Blob></Blobs></EnumerationResults>";
    const char *dtd = "<?xml version=\"1.0\"?><!DOCTYPE r SYSTEM \"http://127.0.0.1:9/x.dtd\">"
                      "<EnumerationResults/>";

    ok(parse(lol, &p) == -EPROTO, "entity expansion (billion laughs) is refused");
    ok(parse(xxe, &p) == -EPROTO, "an external entity is refused");
    ok(parse(dtd, &p) == -EPROTO, "an external DTD is refused");
    ok(parse(HEAD "<Blobs><Blob><Name>a&undefined;</Name></Blob></Blobs></EnumerationResults>",
             &p) == -EPROTO,
       "an undefined entity is refused");
    ok(parse("<Error><Code>x</Code></Error>", &p) == -EPROTO, "another document is refused");
    ok(parse(HEAD "<Blobs><Blob><Name>a", &p) == -EPROTO, "a truncated page is refused");
    ok(parse("", &p) == -EPROTO, "an empty body is refused");
    ok(parse("<html><body>502</body></html>", &p) == -EPROTO, "HTML is refused");
    ok(parse(HEAD "<Blobs><Blob><Properties/></Blob></Blobs></EnumerationResults>", &p) == -EPROTO,
       "a blob without a name is refused");
    ok(parse(HEAD "<Blobs><Blob><Name Encoded=\"true\">a%00b</Name></Blob></Blobs>"
                  "</EnumerationResults>",
             &p) == -EPROTO,
       "an encoded NUL is refused");
    ok(parse(HEAD "<Blobs><Blob><Name>a</Name><Properties><Content-Length>-1</Content-Length>"
                  "</Properties></Blob></Blobs></EnumerationResults>",
             &p) == -EPROTO,
       "a negative size is refused");
    ok(p.item == NULL && p.n == 0, "a refused page holds nothing");
}

/* A page as Azure sends it for include=metadata: every property element, empty ones
 * self-closed, metadata in the case it was set with, a value with XML entities. */
static void test_properties(void)
{
    struct blob_page p;
    const char *xml =
        HEAD "<Blobs><Blob><Name>img/a.jpg</Name><Properties>"
             "<Creation-Time>Tue, 13 Sep 2022 08:20:48 GMT</Creation-Time>"
             "<Last-Modified>Tue, 13 Sep 2022 08:20:48 GMT</Last-Modified>"
             "<Etag>0x8DA9560DD170CFD</Etag><Content-Length>19</Content-Length>"
             "<Content-Type>image/jpeg</Content-Type><Content-Encoding />"
             "<Content-Language /><Content-CRC64 />"
             "<Content-MD5>1B2M2Y8AsgTpgAmY7PhCfg==</Content-MD5>"
             "<Cache-Control>public, max-age=60</Cache-Control><Content-Disposition />"
             "<BlobType>BlockBlob</BlobType><AccessTier>Archive</AccessTier>"
             "<ArchiveStatus>rehydrate-pending-to-hot</ArchiveStatus>"
             "<AccessTierInferred>false</AccessTierInferred>"
             "<LeaseStatus>unlocked</LeaseStatus><LeaseState>available</LeaseState>"
             "<ServerEncrypted>true</ServerEncrypted></Properties>"
             "<Metadata><Author>Zo&#235; &amp; &lt;co&gt;</Author><camera>X100</camera>"
             "<bad-key>1</bad-key></Metadata>"
             "<OrMetadata /></Blob>"
             "<Blob><Name>img/b</Name><Properties><Content-Length>0</Content-Length>"
             "<Content-Type /><BlobType>AppendBlob</BlobType></Properties><Metadata /></Blob>"
             "</Blobs><NextMarker /></EnumerationResults>";
    const struct blob_props *a;
    unsigned n;

    ok(parse(xml, &p) == 0 && p.n == 2, "a page with all properties parses");
    a = p.item[0].props;
    ok_str(blob_props_get(a, BLOB_PROP_CONTENT_TYPE, NULL), "image/jpeg", "Content-Type");
    ok_str(blob_props_get(a, BLOB_PROP_CONTENT_MD5, NULL),
           "1B2M2Y8AsgTpgAmY7PhCfg==", "Content-MD5");
    ok_str(blob_props_get(a, BLOB_PROP_CACHE_CONTROL, NULL), "public, max-age=60", "Cache-Control");
    ok_str(blob_props_get(a, BLOB_PROP_TYPE, NULL), "BlockBlob", "BlobType");
    ok_str(blob_props_get(a, BLOB_PROP_TIER, NULL), "Archive", "AccessTier");
    ok(blob_props_archived(a), "an Archive blob is offline");
    ok_str(blob_props_get(a, BLOB_PROP_META, "Author"), "Zo\xc3\xab & <co>",
           "a metadata value with entities, key in its case");
    ok_str(blob_props_get(a, BLOB_PROP_META, "camera"), "X100", "a second pair");
    ok(blob_props_refused(a, &n) && n == 1, "the hostile key is refused, once");
    ok(!p.item[0].is_folder, "metadata is no folder marker");
    ok(blob_props_get(p.item[1].props, BLOB_PROP_CONTENT_TYPE, NULL) == NULL,
       "an empty element is no property");
    ok_str(blob_props_get(p.item[1].props, BLOB_PROP_TYPE, NULL), "AppendBlob", "append blob");
    blob_page_release(&p);
}

static void test_caps(void)
{
    size_t n = BLOB_XML_MAX_ITEMS + 1, cap = n * 64 + 256, len = 0;
    char *xml = malloc(cap);
    struct blob_page p;

    len += (size_t)snprintf(xml + len, cap - len, "%s<Blobs>", HEAD);
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(xml + len, cap - len, "<BlobPrefix><Name>p%zu/</Name></BlobPrefix>",
                                i);
    len += (size_t)snprintf(xml + len, cap - len, "</Blobs></EnumerationResults>");
    ok(blob_xml_parse_page(xml, len, &p) == -E2BIG, "more than %d entries is refused",
       BLOB_XML_MAX_ITEMS);
    free(xml);
}

static void test_error(void)
{
    char code[64];
    const char *body = "\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>"
                       "AuthenticationFailed</Code><Message>Server failed</Message>"
                       "<AuthenticationErrorDetail>Signed expiry time</AuthenticationErrorDetail>"
                       "</Error>";

    ok(blob_xml_parse_error(check_guard(body, strlen(body)), strlen(body), code, sizeof(code)) == 0,
       "an error body parses");
    ok_str(code, "AuthenticationFailed", "its code");
    ok(blob_xml_parse_error(check_guard("<html/>", 7), 7, code, sizeof(code)) == -EPROTO,
       "an HTML error page has no code");
    ok(blob_xml_parse_error(check_guard("", 0), 0, code, sizeof(code)) == -EPROTO,
       "an empty body has no code");
}

int main(void)
{
    test_interleaved();
    test_bom_encoded_last();
    test_refused();
    test_properties();
    test_caps();
    test_error();
    return check_done();
}
