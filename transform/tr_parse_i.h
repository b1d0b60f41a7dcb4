/* transform/tr_parse_i.h: what the parser's files share (tr_parse.c, tr_num.c, tr_color.c,
 * tr_canon.c, tr_words.c, tr_refuse.c, tr_nest.c), the descriptor table of the keys above all. Not
 * an API: other modules include tr.h only. Everything here is pure. */
#ifndef TRANSFORM_TR_PARSE_I_H
#define TRANSFORM_TR_PARSE_I_H

#include "str.h"
#include "tr.h"

#include <stdarg.h>

/* ---- Output for tr_canonical() (tr_canon.c) ----------------------------------------------- */

/* A bounded writer: text that does not fit sets full, and len stops growing. */
struct tr_outbuf {
    char *p;
    size_t cap, len;
    bool full;
};

__attribute__((format(printf, 2, 3))) void tr_out_printf(struct tr_outbuf *o, const char *fmt, ...);

/* Whether a's keys and b's have one canonical text (what the parser links aside). */
bool tr_step_same(const struct tr_step *a, const struct tr_step *b);

/* ---- Words: the names of enumerated values (tr_words.c) ----------------------------------- */

struct tr_word {
    const char *name;
    int value;
};

/* A key's words, NULL-terminated (the first name listed for a value is its canonical
 * spelling), and what a message says of a value that is none of them. */
struct tr_word_set {
    const struct tr_word *words;
    const char *why;
};

/* f-'s words. */
extern const struct tr_word tr_format_words[];

/* The sets of c-, cm-, fo-, fl-, lfo-, tg-, ia-, ff- (its installed families), f-, vc-, ac-. */
extern const struct tr_word_set tr_crops, tr_crop_modes, tr_focuses, tr_flips, tr_layer_focuses,
    tr_typos, tr_aligns, tr_fonts, tr_formats, tr_vcodecs, tr_acodecs;

/* The canonical name of value in words, or "?" if absent. */
const char *tr_word_name(const struct tr_word *words, int value);

/* ---- The descriptor table: one row per key (tr_parse.c) ----------------------------------- */

struct tr_parser; /* tr_parse.c's state while it reads a text */
struct tr_key_def;

/* Read the value v of key d into the step being read: 0, TR_NO_EFFECT when v is valid but sets
 * nothing (t-false, rt-0: the key is then not marked as given), or -EINVAL with the message
 * set. v is empty for a key given bare (e-sharpen). */
typedef int (*tr_value_parse_fn)(struct tr_parser *p, const struct tr_key_def *d, struct str v);
#define TR_NO_EFFECT 1

/* Write the canonical text of key d's value in s, what follows "<key>-"; nothing when the key
 * is written bare (e-grayscale, e-sharpen at its default strength). Its parser reads the text
 * back to the same value. */
typedef void (*tr_value_print_fn)(struct tr_outbuf *o, const struct tr_key_def *d,
                                  const struct tr_step *s);

enum {
    TR_KEY_BARE = 1,      /* may come without a value (e-sharpen, e-usm) */
    TR_KEY_BARE_ONLY = 2, /* never takes one (e-grayscale) */
    TR_KEY_AUTO = 4,      /* takes "auto", from a client hint (w-auto, dpr-auto) */
    TR_KEY_CHAIN = 8,     /* one value for the whole chain, the last step's that gives it; the
                           * canonical text writes it once, at the end (q f pr lo md cp orig) */
    TR_KEY_LAYER = 16,    /* only in a layer's first step: where it goes (lx ly lxc lyc lfo al) */
    TR_KEY_TEXT = 32,     /* only in a text layer's step (fs ff co tg ia lh pa) */
    TR_KEY_TEXT_TOO = 64, /* also in a text layer (w bg r rt fl), where w is the wrap width */
};

struct tr_key_def {
    const char *name; /* as written: "w", "e-usm" */
    size_t field;     /* offsetof(struct tr_step, ...) of the value its parser fills */
    tr_value_parse_fn parse;
    tr_value_print_fn print; /* NULL for chain-level keys (n, di): they print nothing */
    const void *arg;         /* what parse and print share: a range, a set of words */
    const char *dflt;        /* the canonical text of the value that changes nothing ("1" for dpr):
                              * tr_canonical() leaves the key out; NULL when every value does something */
    unsigned flags;          /* TR_KEY_* */
};

/* Every step key, indexed by enum tr_key (the canonical order). */
extern const struct tr_key_def tr_keys[TR_KEY_COUNT];

/* A macro's value as a string literal: TR_STR(TR_QUALITY_DEFAULT) is "80". */
#define TR_STR_(x) #x
#define TR_STR(x) TR_STR_(x)

/* ---- Numbers (tr_num.c) ------------------------------------------------------------------- */

#define TR_NUM_MAX_INT_DIGITS 9   /* digits before the point: up to 999999999 */
#define TR_NUM_MAX_FRAC_DIGITS 12 /* digits after it; the value is rounded to 1e-6 */

/* Why a number did not parse: "<token> <why>" (or <why> alone when token.len is 0). */
struct tr_num_error {
    const char *why;
    struct str token;
};

/* All of s is one decimal, "[N]digits[.digits]", rounded to 1e-6. Returns 0, or -EINVAL with
 * e set. */
int tr_num_decimal(struct str s, double *out, struct tr_num_error *e);

/* All of s is a whole number of at most TR_NUM_MAX_INT_DIGITS digits, no sign. Returns 0 or
 * -EINVAL with e set. */
int tr_num_whole(struct str s, long *out, struct tr_num_error *e);

/* All of s is a literal or an expression "{v}_{op}_{v}..." of at most TR_MAX_EXPR operands.
 * A lone number is TR_NUM_LITERAL, anything else TR_NUM_EXPR (nothing is folded). Returns 0
 * or -EINVAL with e set. */
int tr_num_parse(struct str s, struct tr_num *out, struct tr_num_error *e);

/* Whether n is an expression of literals only (no variable). */
bool tr_num_is_constant(const struct tr_num *n);

/* n as a literal with value v. */
void tr_num_literal(struct tr_num *n, double v);

/* Canonical text: "300", "0.4", "N10", "iw_div_2", "auto". */
void tr_out_decimal(struct tr_outbuf *o, double v);
void tr_out_num(struct tr_outbuf *o, const struct tr_num *n);

/* ---- Colours (tr_color.c) ----------------------------------------------------------------- */

/* RGB, RRGGBB, RRGGBBAA (AA: opacity 00-99) or a CSS colour name, any case. Returns 0, or
 * -EINVAL when s is none of these, -ERANGE when AA is not 00-99. */
int tr_color_parse(struct str s, struct tr_color *out);

/* Canonical text: "FF0000", or "FF000050" when not opaque. */
void tr_out_color(struct tr_outbuf *o, const struct tr_color *c);

/* The CSS colour name table, sorted, for tests: the i-th name (NULL past the end). */
const char *tr_color_name_at(size_t i, uint32_t *rgb);

/* ---- The parser's state (tr_parse.c; layers and conditionals: tr_nest.c) ----------------- */

enum tr_mode { TR_MODE_BOTH, TR_MODE_THEN, TR_MODE_ELSE };

/* One level of nesting: a step of the chain, or a step of the layer being read. */
struct tr_frame {
    struct tr_step step;     /* the step being read; in a conditional, its variant where it holds */
    struct tr_step alt;      /* in a conditional: the variant where it does not */
    uint64_t seen, alt_seen; /* keys given in step and alt, whether they set anything */
    unsigned nparams;
    unsigned id;       /* the step id it will have (see tr.h) */
    int layer;         /* -1: a step of the chain; else the layer (tr_chain.layer[]) it is in */
    unsigned lstep_no; /* 0 in a layer's first step, which alone takes i- and the layer keys */
    int cond;          /* -1, or this step's conditional (tr_chain.cond[]) */
    enum tr_mode mode; /* where params go: both variants, or one branch */
};

struct tr_parser {
    struct tr_chain *chain;
    const struct tr_names *names;
    struct tr_frame fr[TR_MAX_DEPTH + 1]; /* fr[0] the chain's step, fr[depth] the innermost */
    unsigned depth;
    struct tr_step *st; /* the step the value parsers fill: a frame's step or alt */
    unsigned step_no;   /* 1-based, in the text being read: for messages */
    struct str named;   /* the n- name being expanded (len 0 at the top level) */
    char *err;
};

#define TR_SHOW_LEN 28 /* bytes of user text quoted in a message, "..." included */

/* Set p->err to the message, then where: " (step 2)". Returns -EINVAL. */
__attribute__((format(printf, 2, 3))) int tr_parse_fail(struct tr_parser *p, const char *fmt, ...);

/* User text for a message: printable ASCII only, cut with "...". */
const char *tr_parse_show(struct str s, char buf[TR_SHOW_LEN]);

/* A relative path with no empty, "." or ".." segment. */
bool tr_path_is_clean(const char *path, size_t len);

/* An unknown key: the reason ImageKit's key is refused when it is one (tr_refuse.c), else
 * "unknown parameter". Returns -EINVAL. */
int tr_refuse_key(struct tr_parser *p, struct str key);

/* After value v of d failed to parse: the reason ImageKit's value is refused, if it is one.
 * Returns -EINVAL either way; p->err is set only when it is one. */
int tr_refuse_value(struct tr_parser *p, const struct tr_key_def *d, struct str v);

/* A fresh frame for step id. */
void tr_frame_init(struct tr_frame *f, unsigned id, int layer, unsigned lstep_no);

/* tr_nest.c: l-<type> and l-end; if-..., if-else, if-end; i- and ie-; ':' inside a layer; the
 * end of a step with a conditional (its alt stored, or the conditional dropped when it changes
 * nothing). Each returns 0 or -EINVAL with the message set. */
int tr_nest_layer(struct tr_parser *p, struct str v);
int tr_nest_cond(struct tr_parser *p, struct str v);
int tr_nest_input(struct tr_parser *p, struct str key, struct str v);
int tr_nest_next_step(struct tr_parser *p);
int tr_nest_font(struct tr_parser *p, struct str v); /* ff-PATH: a font file of the endpoint */
int tr_nest_end_step(struct tr_parser *p, struct tr_frame *f);

/* Canonical text of a conditional's condition, after "if-"; of bytes as base64. */
void tr_out_cond(struct tr_outbuf *o, const struct tr_cond *c);
void tr_out_base64(struct tr_outbuf *o, const char *s, size_t len);

#endif
