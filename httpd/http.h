/* httpd/http.h: the pure HTTP vocabulary of blobhttpd, none of it I/O.
 *
 * libmicrohttpd does the framing and parsing of requests; what is left for us is small and
 * lives here so it can be tested alone: the one errno -> status table, Range and conditional
 * request headers, Content-Type by file extension, and escaping for the access log. */
#ifndef HTTPD_HTTP_H
#define HTTPD_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Errors of our own that have no errno of their own in the table below. */
#define HTTP_ERR_UNSIGNED EKEYREJECTED /* signature missing, malformed or wrong: 401 */
#define HTTP_ERR_EXPIRED EKEYEXPIRED   /* ik-t in the past: 401 */
#define HTTP_ERR_BUSY EBUSY            /* the transform queue is full: 503 */

/* The one errno -> HTTP status table: -ENOENT 404, -EINVAL 400, -EACCES 403, -E2BIG 413,
 * -ENAMETOOLONG 414, -EBADMSG 422 (a source that is not a decodable image), -EKEYREJECTED and
 * -EKEYEXPIRED 401, -EBUSY, -ENOMEM, -EMFILE/-ENFILE (out of descriptors), -ECANCELED and
 * -ESHUTDOWN 503, -ETIMEDOUT 504, failing origins (-EIO, -ENOTCONN, ...) 502, anything else
 * 500. err is a negative errno. */
int http_status_for_errno(int err);

/* The code ImageKit puts first in its ik-error header: "ENOENT", "ELIMIT" (-E2BIG), ...
 * (transfer none): a static string. */
const char *http_error_code(int err);

/* The reason phrase of a status ("Not Found"); (transfer none), "" when unknown. */
const char *http_reason(int status);

/* Parse a Range header against a body of size bytes. Only one "bytes=" range is honoured;
 * several ranges, other units or bad syntax make the header ignored, as RFC 9110 allows.
 * Returns 1 (a range: *start, *len set), 0 (no usable range: send everything) or -ERANGE
 * (unsatisfiable: 416). Pure. */
int http_parse_range(const char *hdr, uint64_t size, uint64_t *start, uint64_t *len);

/* Whether an If-None-Match value ("*", or a list of entity tags, weak or strong) matches etag
 * (a quoted strong tag), by RFC 9110's weak comparison. Pure. */
bool http_etag_matches(const char *if_none_match, const char *etag);

/* Content-Type for a file name, from its extension (case-insensitive); NULL when unknown.
 * (transfer none): a static string. */
const char *http_mime_for_path(const char *path);

/* Whether a browser that opens a body of this Content-Type renders it as a document that can
 * run script (HTML, XHTML, SVG and any other XML); such originals are sandboxed. Pure. */
bool http_type_is_document(const char *type);

/* Copy in to out (capacity cap, always NUL-terminated) for a log line: '"', '\\' and bytes
 * outside printable ASCII become \xHH, as nginx writes them. Returns the length written. */
size_t http_log_escape(const char *in, char *out, size_t cap);

/* The longest X-Request-Id taken from a client. */
#define HTTP_REQUEST_ID_MAX 128

/* Whether a client's X-Request-Id is a sane token to echo and log as it is: 1 to
 * HTTP_REQUEST_ID_MAX of letters, digits and "-_.:+/=@" (UUIDs, base64, trace ids). */
bool http_request_id_is_sane(const char *s);

#endif
