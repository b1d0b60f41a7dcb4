/* fs/blob_xml.h: the XML bodies of the Blob service as plain structs (pure: libxml2 only).
 *
 * blob_xml_parse_page() reads one List Blobs page (delimiter "/", include=metadata) in
 * document order, with each blob's properties and metadata (blob_props.h), so Blob and BlobPrefix
 * elements may interleave as they do on Azure. The parser never loads anything from the network
 * (XML_PARSE_NONET), never substitutes entities, and refuses any document with a DTD: the service
 * never sends one. */
#ifndef FS_BLOB_XML_H
#define FS_BLOB_XML_H

#include "blob_props.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

/* Caps on what one page may hold (Azure sends at most 5000 entries). */
#define BLOB_XML_MAX_BYTES (64u << 20)
#define BLOB_XML_MAX_ITEMS 20000
/* An ETag, unquoted ("0x8DA9560DD170CFD"), NUL-terminated. */
#define BLOB_ETAG_MAX 96

/* One entry of a listing. */
struct blob_item {
    char *name;     /* full name, decoded when Encoded="true"; a prefix ends in '/' */
    bool is_prefix; /* a BlobPrefix: a virtual folder */
    bool is_folder; /* a folder marker blob (metadata hdi_isfolder=true) */
    off_t size;
    time_t mtime; /* Last-Modified */
    char etag[BLOB_ETAG_MAX];
    struct blob_props *props; /* content type, MD5, tier, metadata...; NULL: none given */
};

/* One page: the items in service order and the marker of the next page. */
struct blob_page {
    struct blob_item *item;
    size_t n;
    char *next_marker; /* NULL on the last page */
};

/* Parse one List Blobs page into *out (zeroed first). Returns 0, -EPROTO when the document
 * is malformed, hostile (DTD, entities) or not a listing, -E2BIG past the caps, -ENOMEM.
 * On success out owns its memory: release it with blob_page_release(). */
int blob_xml_parse_page(const char *xml, size_t len, struct blob_page *out);

/* Free what a page holds and zero it. A zeroed page is fine. */
void blob_page_release(struct blob_page *page);

/* Copy the <Code> of an error body (<Error><Code>...</Code>...) into code (capacity cap).
 * Returns 0, or -EPROTO when the body is no such document (HTML, empty, ...). */
int blob_xml_parse_error(const char *xml, size_t len, char *code, size_t cap);

#endif
