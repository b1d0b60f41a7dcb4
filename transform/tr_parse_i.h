/* transform/tr_parse_i.h: what the parser's files share (tr_parse.c, tr_num.c, tr_color.c,
 * tr_canon.c). Not an API: other modules include tr.h only. Everything here is pure. */
#ifndef TRANSFORM_TR_PARSE_I_H
#define TRANSFORM_TR_PARSE_I_H

#include "str.h"
#include "tr.h"

#include <stdarg.h>

/* ---- Output for tr_canonical() (tr_canon.c) ----------------------------------------------- */

/* A bounded writer: text that does not fit sets full, and len stops growing. */
struct outbuf {
    char *p;
    size_t cap, len;
    bool full;
};

__attribute__((format(printf, 2, 3))) void out_printf(struct outbuf *o, const char *fmt, ...);

/* ---- Words: the names of enumerated values (tr_parse.c) ----------------------------------- */

struct tr_word {
    const char *name;
    int value;
};

/* NULL-terminated tables; the first name listed for a value is its canonical spelling. */
extern const struct tr_word tr_crop_words[], tr_crop_mode_words[], tr_focus_words[],
    tr_flip_words[], tr_format_words[];

/* The canonical name of value in words, or "?" if absent. */
const char *tr_word_name(const struct tr_word *words, int value);

/* ---- Numbers (tr_num.c) ------------------------------------------------------------------- */

#define TR_NUM_MAX_INT_DIGITS 9   /* digits before the point: up to 999999999 */
#define TR_NUM_MAX_FRAC_DIGITS 12 /* digits after it; the value is rounded to 1e-6 */

/* Why a number did not parse: "<token> <why>" (or <why> alone when token.len is 0). */
struct num_error {
    const char *why;
    struct str token;
};

/* All of s is one decimal, "[N]digits[.digits]", rounded to 1e-6. Returns 0, or -EINVAL with
 * e set. */
int num_decimal(struct str s, double *out, struct num_error *e);

/* All of s is a whole number of at most TR_NUM_MAX_INT_DIGITS digits, no sign. Returns 0 or
 * -EINVAL with e set. */
int num_whole(struct str s, long *out, struct num_error *e);

/* All of s is a literal or an expression "{v}_{op}_{v}..." of at most TR_MAX_EXPR operands.
 * A lone number is TR_NUM_LITERAL, anything else TR_NUM_EXPR (nothing is folded). Returns 0
 * or -EINVAL with e set. */
int num_parse(struct str s, struct tr_num *out, struct num_error *e);

/* Whether n is an expression of literals only (no variable). */
bool num_is_constant(const struct tr_num *n);

/* n as a literal with value v. */
void num_literal(struct tr_num *n, double v);

/* Canonical text: "300", "0.4", "N10", "iw_div_2", "auto". */
void out_num(struct outbuf *o, double v);
void out_tr_num(struct outbuf *o, const struct tr_num *n);

/* ---- Colours (tr_color.c) ----------------------------------------------------------------- */

/* RGB, RRGGBB, RRGGBBAA (AA: opacity 00-99) or a CSS colour name, any case. Returns 0, or
 * -EINVAL when s is none of these, -ERANGE when AA is not 00-99. */
int color_parse(struct str s, struct tr_color *out);

/* Canonical text: "FF0000", or "FF000050" when not opaque. */
void out_color(struct outbuf *o, const struct tr_color *c);

/* The CSS colour name table, sorted, for tests: the i-th name (NULL past the end). */
const char *color_name_at(size_t i, uint32_t *rgb);

#endif
