/* transform/tr_num.c: the numbers of the transformation language. Decimals take ImageKit's
 * "N" prefix for negatives; expressions are "{v}_{op}_{v}..." over literals and the variables
 * iw ih iar cw ch car, evaluated with ImageKit's precedence. Pure: no allocation. */
#include "tr_parse_i.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static const char *const var_names[] = {
    [TR_VAR_IW] = "iw", [TR_VAR_IH] = "ih", [TR_VAR_IAR] = "iar",
    [TR_VAR_CW] = "cw", [TR_VAR_CH] = "ch", [TR_VAR_CAR] = "car",
    [TR_VAR_BW] = "bw", [TR_VAR_BH] = "bh", [TR_VAR_BAR] = "bar",
};

static const char *const op_names[] = {
    [TR_OP_ADD] = "add", [TR_OP_SUB] = "sub", [TR_OP_MUL] = "mul",
    [TR_OP_DIV] = "div", [TR_OP_MOD] = "mod", [TR_OP_POW] = "pow",
};

#define NVARS (sizeof(var_names) / sizeof(var_names[0]))
#define NOPS (sizeof(op_names) / sizeof(op_names[0]))

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int num_fail(struct tr_num_error *e, struct str token, const char *why)
{
    e->token = token;
    e->why = why;
    return -EINVAL;
}

/* Digits at *pp, at most max of them, into *acc; the count in *n. */
static int take_digits(const char **pp, const char *end, int max, uint64_t *acc, int *n)
{
    const char *s = *pp;

    *acc = 0;
    *n = 0;
    while (s < end && is_digit(*s)) {
        if (++*n > max)
            return -ERANGE;
        *acc = *acc * 10 + (uint64_t)(*s - '0');
        s++;
    }
    *pp = s;
    return 0;
}

static int too_long(struct tr_num_error *e, struct str s)
{
    num_fail(e, s, "is too long a number (9 digits before the point, 12 after)");
    return -ERANGE;
}

static int not_a_number(struct tr_num_error *e, struct str s)
{
    if (s.len && s.p[0] == '-')
        return num_fail(e, s, "is not a number (negatives are written N5)");
    return num_fail(e, s, "is not a number");
}

/* Literals are rounded to 1e-6 so that their canonical text (six decimals at most) says
 * exactly what the pipeline computes with. -ERANGE: too many digits; -EINVAL: not a number. */
int tr_num_decimal(struct str s, double *out, struct tr_num_error *e)
{
    const char *p = s.p, *end = s.p + s.len;
    uint64_t ip, fp = 0;
    int nint, nfrac = 0;
    bool neg = p < end && *p == 'N';
    double v;

    p += neg;
    if (take_digits(&p, end, TR_NUM_MAX_INT_DIGITS, &ip, &nint))
        return too_long(e, s);
    if (p < end && *p == '.') {
        p++;
        if (take_digits(&p, end, TR_NUM_MAX_FRAC_DIGITS, &fp, &nfrac))
            return too_long(e, s);
        if (nfrac == 0)
            return not_a_number(e, s);
    }
    if (nint == 0 || p != end)
        return not_a_number(e, s);
    v = round(((double)ip + (double)fp / pow(10, nfrac)) * 1e6) / 1e6;
    *out = neg && v != 0 ? -v : v;
    return 0;
}

int tr_num_whole(struct str s, long *out, struct tr_num_error *e)
{
    const char *p = s.p, *end = s.p + s.len;
    uint64_t v;
    int n;

    if (take_digits(&p, end, TR_NUM_MAX_INT_DIGITS, &v, &n))
        return num_fail(e, s, "is too long a number");
    if (n == 0 || p != end)
        return num_fail(e, s, "is not a whole number");
    *out = (long)v;
    return 0;
}

static int find_name(const char *const *names, size_t n, struct str s)
{
    for (size_t i = 0; i < n; i++)
        if (names[i] && str_eq(s, names[i]))
            return (int)i;
    return -1;
}

/* Operand i of n from tok: a variable or a number. */
static int parse_operand(struct str tok, struct tr_num *n, unsigned i, struct tr_num_error *e)
{
    int var = find_name(var_names, NVARS, tok), rc;

    n->var[i] = TR_VAR_NONE;
    n->value[i] = 0;
    if (var > 0) {
        n->var[i] = (uint8_t)var;
        return 0;
    }
    if (tok.len == 0)
        return num_fail(e, tok, "expression has an empty operand");
    rc = tr_num_decimal(tok, &n->value[i], e);
    if (rc == -EINVAL && tok.p[0] != '-')
        e->why = "is not a number or a variable (iw ih iar cw ch car bw bh bar)";
    return rc ? -EINVAL : 0;
}

int tr_num_parse(struct str s, struct tr_num *out, struct tr_num_error *e)
{
    struct str rest = s, tok;
    bool more;
    int op;

    memset(out, 0, sizeof(*out));
    for (;;) {
        more = str_cut(&rest, '_', &tok);
        if (parse_operand(tok, out, out->nops++, e))
            return -EINVAL;
        if (!more)
            break;
        if (out->nops == TR_MAX_EXPR)
            return num_fail(e, (struct str){0}, "expression has more than 6 operands");
        more = str_cut(&rest, '_', &tok);
        op = find_name(op_names, NOPS, tok);
        if (tok.len == 0)
            return num_fail(e, tok, "expression has an empty operator");
        if (op < 0)
            return num_fail(e, tok, "is not an operator (add sub mul div mod pow)");
        if (!more)
            return num_fail(e, (struct str){0}, "expression ends with an operator");
        out->op[out->nops - 1] = (uint8_t)op;
    }
    out->kind = out->nops == 1 && out->var[0] == TR_VAR_NONE ? TR_NUM_LITERAL : TR_NUM_EXPR;
    return 0;
}

bool tr_num_is_constant(const struct tr_num *n)
{
    for (unsigned i = 0; i < n->nops; i++)
        if (n->var[i] != TR_VAR_NONE)
            return false;
    return n->kind == TR_NUM_LITERAL || n->kind == TR_NUM_EXPR;
}

void tr_num_literal(struct tr_num *n, double v)
{
    memset(n, 0, sizeof(*n));
    n->kind = TR_NUM_LITERAL;
    n->nops = 1;
    n->value[0] = v;
}

/* ---- Evaluation ---------------------------------------------------------------------------- */

/* ImageKit's documented order: mul/div bind first, then add/sub, then mod, then pow. */
static int precedence(enum tr_op op)
{
    switch (op) {
    case TR_OP_MUL:
    case TR_OP_DIV:
        return 3;
    case TR_OP_ADD:
    case TR_OP_SUB:
        return 2;
    case TR_OP_MOD:
        return 1;
    case TR_OP_POW:
        return 0;
    }
    return 0;
}

static int apply(enum tr_op op, double a, double b, double *out)
{
    switch (op) {
    case TR_OP_ADD:
        *out = a + b;
        return 0;
    case TR_OP_SUB:
        *out = a - b;
        return 0;
    case TR_OP_MUL:
        *out = a * b;
        return 0;
    case TR_OP_DIV:
        *out = a / b;
        return b == 0 ? -EINVAL : 0;
    case TR_OP_MOD:
        *out = b == 0 ? 0 : fmod(a, b);
        return b == 0 ? -EINVAL : 0;
    case TR_OP_POW:
        *out = pow(a, b);
        return 0;
    }
    return -EINVAL;
}

/* Operands lo..hi (inclusive) joined by ops of precedence >= level, left to right: split at
 * the ops of this level, evaluate the pieces one level up, fold them. */
static int eval_range(const struct tr_num *n, const double *val, unsigned lo, unsigned hi,
                      int level, double *out)
{
    unsigned start = lo;
    double acc = 0, part;

    if (level > 3) {
        *out = val[lo];
        return 0;
    }
    for (unsigned i = lo; i <= hi; i++) {
        if (i < hi && precedence(n->op[i]) != level)
            continue;
        if (eval_range(n, val, start, i, level + 1, &part))
            return -EINVAL;
        if (start == lo)
            acc = part;
        else if (apply(n->op[start - 1], acc, part, &acc))
            return -EINVAL;
        start = i + 1;
    }
    *out = acc;
    return 0;
}

/* Operand i of n with the variables' values v. */
static double var_value(const struct tr_num *n, unsigned i, const struct tr_vars *v)
{
    switch ((enum tr_var)n->var[i]) {
    case TR_VAR_NONE:
        return n->value[i];
    case TR_VAR_IW:
        return v->iw;
    case TR_VAR_IH:
        return v->ih;
    case TR_VAR_IAR:
        return v->iw / v->ih;
    case TR_VAR_CW:
        return v->cw;
    case TR_VAR_CH:
        return v->ch;
    case TR_VAR_CAR:
        return v->cw / v->ch;
    case TR_VAR_BW:
        return v->bw > 0 ? v->bw : v->cw;
    case TR_VAR_BH:
        return v->bh > 0 ? v->bh : v->ch;
    case TR_VAR_BAR:
        return v->bw > 0 && v->bh > 0 ? v->bw / v->bh : v->cw / v->ch;
    }
    return NAN;
}

int tr_num_eval(const struct tr_num *n, const struct tr_vars *v, double *out)
{
    static const struct tr_vars none;
    double val[TR_MAX_EXPR];

    if ((n->kind != TR_NUM_LITERAL && n->kind != TR_NUM_EXPR) || n->nops == 0 ||
        n->nops > TR_MAX_EXPR)
        return -EINVAL;
    for (unsigned i = 0; i < n->nops; i++)
        val[i] = var_value(n, i, v ? v : &none);
    if (eval_range(n, val, 0, n->nops - 1, 0, out) || !isfinite(*out))
        return -EINVAL;
    return 0;
}

/* ---- Client hints -------------------------------------------------------------------------- */

/* Two decimals: the cache key prints the value with %g, exact for these; and fewer variants. */
double tr_hint_dpr(double raw)
{
    if (!(raw > 0))
        return 0;
    return round(fmin(fmax(raw, 0.1), 5) * 100) / 100;
}

/* Widths above this are over every output limit anyway: the rounding then cannot overflow. */
#define HINT_WIDTH_MAX 100000

int tr_hint_width(long raw)
{
    if (raw <= 0)
        return 0;
    raw = raw < HINT_WIDTH_MAX ? raw : HINT_WIDTH_MAX;
    return (int)((raw + 99) / 100 * 100);
}

/* ---- Canonical text ------------------------------------------------------------------------ */

void tr_out_decimal(struct tr_outbuf *o, double v)
{
    char buf[48];
    int n;

    n = snprintf(buf, sizeof(buf), "%.6f", fabs(v));
    while (n > 1 && buf[n - 1] == '0')
        n--;
    if (buf[n - 1] == '.')
        n--;
    tr_out_printf(o, "%s%.*s", v < 0 && (n > 1 || buf[0] != '0') ? "N" : "", n, buf);
}

void tr_out_num(struct tr_outbuf *o, const struct tr_num *n)
{
    if (n->kind == TR_NUM_AUTO) {
        tr_out_printf(o, "auto");
        return;
    }
    for (unsigned i = 0; i < n->nops && i < TR_MAX_EXPR; i++) {
        if (i > 0)
            tr_out_printf(o, "_%s_", op_names[n->op[i - 1]]);
        if (n->var[i] != TR_VAR_NONE)
            tr_out_printf(o, "%s", var_names[n->var[i]]);
        else
            tr_out_decimal(o, n->value[i]);
    }
}
