/* fs/blob_xml.c: List Blobs pages and error bodies, read in one streaming pass with libxml2's
 * xmlReader (see blob_xml.h). */
#include "blob_xml.h"

#include "blob_name.h"
#include "httpdate.h"
#include "pct.h"

#include <errno.h>
#include <libxml/xmlreader.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Deepest element the listing schema needs: EnumerationResults/Blobs/Blob/Properties/x. */
enum { MAX_DEPTH = 6 };

struct walk {
    xmlTextReaderPtr r;
    struct blob_page *out;
    size_t cap;
    struct blob_item *cur; /* the Blob or BlobPrefix being read; NULL outside one */
    const char *path[MAX_DEPTH];
    bool root_seen;
};

static bool is(const char *a, const char *b)
{
    return strcmp(a, b) == 0;
}

/* No network access and no entity substitution, whatever the document asks (blob_xml.h). */
static xmlTextReaderPtr open_reader(const char *xml, size_t len)
{
    if (len > BLOB_XML_MAX_BYTES || len > INT_MAX)
        return NULL;
    return xmlReaderForMemory(xml, (int)len, NULL, NULL,
                              XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
}

/* The text of the current element, "" when empty. Returns NULL only when out of memory. */
static char *read_text(xmlTextReaderPtr r)
{
    xmlChar *t = xmlTextReaderReadString(r);
    char *s = strdup(t ? (const char *)t : "");

    xmlFree(t);
    return s;
}

static int parse_size(const char *s, off_t *out)
{
    char *end;

    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < 0)
        return -EPROTO;
    *out = (off_t)v;
    return 0;
}

static int copy_etag(const char *s, char *etag)
{
    size_t len = strlen(s);

    if (len >= 2 && s[0] == '"' && s[len - 1] == '"') {
        s++;
        len -= 2;
    }
    if (len >= BLOB_ETAG_MAX)
        return -EPROTO;
    memcpy(etag, s, len);
    etag[len] = '\0';
    return 0;
}

/* The properties kept in the blob's record (blob_props.h), by their element names. */
static const struct {
    const char *element;
    enum blob_prop kind;
} kept[] = {
    {"Content-Type", BLOB_PROP_CONTENT_TYPE},
    {"Content-MD5", BLOB_PROP_CONTENT_MD5},
    {"Cache-Control", BLOB_PROP_CACHE_CONTROL},
    {"BlobType", BLOB_PROP_TYPE},
    {"AccessTier", BLOB_PROP_TIER},
};

static int read_kept(struct walk *w, enum blob_prop kind)
{
    char *text = read_text(w->r);

    if (!text)
        return -ENOMEM;
    int err = blob_props_add(&w->cur->props, kind, NULL, text);
    free(text);
    return err;
}

static int read_property(struct walk *w, const char *name)
{
    for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
        if (is(name, kept[i].element))
            return read_kept(w, kept[i].kind);
    }
    bool wanted = is(name, "Content-Length") || is(name, "Last-Modified") || is(name, "Etag") ||
                  is(name, "ResourceType");
    if (!wanted)
        return 0;
    char *text = read_text(w->r);
    if (!text)
        return -ENOMEM;

    int err = 0;
    if (is(name, "Content-Length"))
        err = parse_size(text, &w->cur->size);
    else if (is(name, "Last-Modified"))
        err = httpdate_parse(text, &w->cur->mtime) ? -EPROTO : 0;
    else if (is(name, "Etag"))
        err = copy_etag(text, w->cur->etag);
    else if (is(text, "directory"))
        w->cur->is_folder = true; /* HNS: a real directory listed as a blob */
    free(text);
    return err;
}

/* One metadata pair: the element's full name is the key (a prefixed name is refused by the
 * key rule, never taken apart). hdi_isfolder=true also makes the blob a folder marker. */
static int read_meta(struct walk *w)
{
    const char *key = (const char *)xmlTextReaderConstName(w->r);
    char *text = read_text(w->r);

    if (!text || !key) {
        free(text);
        return -ENOMEM;
    }
    if (strcasecmp(key, "hdi_isfolder") == 0)
        w->cur->is_folder = strcasecmp(text, "true") == 0;
    int err = blob_props_add(&w->cur->props, BLOB_PROP_META, key, text);
    free(text);
    return err;
}

/* <Name Encoded="true"> holds the whole name percent-encoded, separators included. */
static int read_name(struct walk *w)
{
    xmlChar *encoded = xmlTextReaderGetAttribute(w->r, (const xmlChar *)"Encoded");
    bool decode = encoded && strcasecmp((const char *)encoded, "true") == 0;
    char *text = read_text(w->r);

    xmlFree(encoded);
    if (!text)
        return -ENOMEM;
    if (decode) {
        size_t len = strlen(text);
        ssize_t n = pct_decode(text, len, 0, text, len + 1);
        if (n < 0) {
            free(text);
            return -EPROTO;
        }
    }
    free(w->cur->name);
    w->cur->name = text;
    return 0;
}

static int start_item(struct walk *w, const char *name)
{
    struct blob_page *p = w->out;

    w->cur = NULL;
    if (!is(name, "Blob") && !is(name, "BlobPrefix"))
        return 0;
    if (p->n == BLOB_XML_MAX_ITEMS)
        return -E2BIG;
    if (p->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 64;
        struct blob_item *item = reallocarray(p->item, cap, sizeof(*item));
        if (!item)
            return -ENOMEM;
        p->item = item;
        w->cap = cap;
    }
    w->cur = &p->item[p->n++];
    memset(w->cur, 0, sizeof(*w->cur));
    w->cur->is_prefix = is(name, "BlobPrefix");
    return 0;
}

static int read_marker(struct walk *w)
{
    char *text = read_text(w->r);

    if (!text)
        return -ENOMEM;
    free(w->out->next_marker);
    w->out->next_marker = NULL;
    if (*text)
        w->out->next_marker = text;
    else
        free(text);
    return 0;
}

/* One element start at depth; path[] holds the names of its ancestors. */
static int on_element(void *arg, int depth, const char *name)
{
    struct walk *w = arg;

    w->path[depth] = name;
    if (depth == 0) {
        w->root_seen = true;
        return is(name, "EnumerationResults") ? 0 : -EPROTO;
    }
    if (depth == 1) {
        w->cur = NULL;
        return is(name, "NextMarker") ? read_marker(w) : 0;
    }
    if (depth == 2)
        return is(w->path[1], "Blobs") ? start_item(w, name) : 0;
    if (!w->cur)
        return 0;
    if (depth == 3)
        return is(name, "Name") ? read_name(w) : 0;
    if (depth == 4 && is(w->path[3], "Properties"))
        return read_property(w, name);
    if (depth == 4 && is(w->path[3], "Metadata"))
        return read_meta(w);
    return 0;
}

/* Walk every node in document order. A DTD or an entity is refused outright. */
static int walk_nodes(xmlTextReaderPtr r, int (*fn)(void *, int, const char *), void *arg)
{
    for (;;) {
        int ret = xmlTextReaderRead(r);
        if (ret == 0)
            return 0;
        if (ret < 0)
            return -EPROTO;
        int type = xmlTextReaderNodeType(r);
        if (type == XML_READER_TYPE_DOCUMENT_TYPE || type == XML_READER_TYPE_ENTITY ||
            type == XML_READER_TYPE_ENTITY_REFERENCE)
            return -EPROTO;
        int depth = xmlTextReaderDepth(r);
        if (type != XML_READER_TYPE_ELEMENT || depth < 0 || depth >= MAX_DEPTH)
            continue;
        int err = fn(arg, depth, (const char *)xmlTextReaderConstLocalName(r));
        if (err)
            return err;
    }
}

int blob_xml_parse_page(const char *xml, size_t len, struct blob_page *out)
{
    struct walk w = {.out = out};

    memset(out, 0, sizeof(*out));
    w.r = open_reader(xml, len);
    if (!w.r)
        return len > BLOB_XML_MAX_BYTES ? -E2BIG : -EPROTO;
    int err = walk_nodes(w.r, on_element, &w);
    xmlFreeTextReader(w.r);
    if (!err && !w.root_seen)
        err = -EPROTO;
    for (size_t i = 0; !err && i < out->n; i++) {
        if (!out->item[i].name || !out->item[i].name[0])
            err = -EPROTO;
    }
    if (err)
        blob_page_release(out);
    return err;
}

void blob_page_release(struct blob_page *page)
{
    for (size_t i = 0; i < page->n; i++) {
        free(page->item[i].name);
        blob_props_free(page->item[i].props);
    }
    free(page->item);
    free(page->next_marker);
    memset(page, 0, sizeof(*page));
}

struct error_walk {
    xmlTextReaderPtr r;
    char *code;
    size_t cap;
    bool root_ok, found;
};

static int error_element(void *arg, int depth, const char *name)
{
    struct error_walk *w = arg;

    if (depth == 0) {
        w->root_ok = is(name, "Error");
        return w->root_ok ? 0 : -EPROTO;
    }
    if (depth != 1 || !is(name, "Code") || w->found)
        return 0;
    char *text = read_text(w->r);
    if (!text)
        return -ENOMEM;
    snprintf(w->code, w->cap, "%s", text);
    w->found = true;
    free(text);
    return 0;
}

int blob_xml_parse_error(const char *xml, size_t len, char *code, size_t cap)
{
    struct error_walk w = {.code = code, .cap = cap};

    w.r = open_reader(xml, len);
    if (!w.r)
        return -EPROTO;
    int err = walk_nodes(w.r, error_element, &w);
    xmlFreeTextReader(w.r);
    return err ? err : w.found ? 0 : -EPROTO;
}
