/* transform/tr.h: ImageKit-style transformation chains (the language: docs/transformations.md).
 *
 * Text such as "w-300,h-300,c-at_max:rt-90:f-webp" becomes a struct tr_chain in tr_parse()
 * (pure: no allocation, no libvips), and tr_apply() runs a chain on an encoded image
 * (tr_apply.c, the one file that calls libvips). Nothing in this header mentions libvips.
 *
 * Flow in blobhttpd: tr_parse() the path steps, then the query steps, into one chain;
 * tr_sniff() the first bytes of the file; tr_pick_format() with the request's Accept header;
 * tr_canonical() for the cache key and ETag; tr_apply() on a worker thread. */
#ifndef TRANSFORM_TR_H
#define TRANSFORM_TR_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Hard caps: the parser never allocates and never accepts more than this. */
#define TR_MAX_STEPS 8         /* ':'-separated steps in one chain, after n- expansion */
#define TR_MAX_PARAMS 24       /* ','-separated parameters in one step */
#define TR_MAX_TEXT 2048       /* bytes of transformation text given to one tr_parse() call */
#define TR_MAX_EXPR 6          /* operands in one arithmetic expression (iw_div_2_add_10 has 3) */
#define TR_MAX_PATH 512        /* bytes of a di- (default image) path */
#define TR_ERR_LEN 128         /* error messages: "unknown parameter 'wx' (step 2)" */
#define TR_MAX_LAYERS 8        /* layers (l-image, l-text) in one chain, nested ones included */
#define TR_MAX_LAYER_STEPS 8   /* ':'-separated steps inside layers, all layers together */
#define TR_MAX_DEPTH 3         /* layers inside layers: a layer in a layer in a layer */
#define TR_MAX_CONDS 4         /* conditionals (if-...,if-end) in one chain, one per step */
#define TR_MAX_COND_TERMS 3    /* conditions joined by _and_ / _or_ in one if- */
#define TR_MAX_STRINGS 2048    /* bytes of layer inputs (paths, texts) in one chain, decoded */
#define TR_MAX_LAYER_TEXT 1000 /* bytes of one text layer's text, decoded */
#define TR_MAX_FONT_SIZE 1000  /* fs-: px */

/* ---- Numbers ------------------------------------------------------------------------------ */

/* Variables of ImageKit's arithmetic expressions: input image (iw ih iar) and current image
 * (cw ch car) width, height and aspect ratio, taken when the step runs; inside a layer, the
 * base image the layer is drawn on (bw bh bar; outside a layer they are the current image). */
enum tr_var {
    TR_VAR_NONE,
    TR_VAR_IW,
    TR_VAR_IH,
    TR_VAR_IAR,
    TR_VAR_CW,
    TR_VAR_CH,
    TR_VAR_CAR,
    TR_VAR_BW,
    TR_VAR_BH,
    TR_VAR_BAR
};
enum tr_op { TR_OP_ADD, TR_OP_SUB, TR_OP_MUL, TR_OP_DIV, TR_OP_MOD, TR_OP_POW };

enum tr_num_kind {
    TR_NUM_UNSET,   /* not given */
    TR_NUM_LITERAL, /* value[0]; for w/h/x/y a value in (0,1) means a fraction */
    TR_NUM_AUTO,    /* "auto": from a client hint (w-auto, dpr-auto) */
    TR_NUM_EXPR,    /* operand 0, op[0], operand 1, ... with ImageKit's precedence */
};

/* A number or an expression. Operand i is variable var[i], or value[i] when var[i] is
 * TR_VAR_NONE. Small fields (64 bytes in all): a step holds 15 of these, and a chain up to 20
 * steps, on stacks and in every connection's state. */
struct tr_num {
    uint8_t kind;             /* enum tr_num_kind */
    uint8_t nops;             /* operands used: 1 for a literal, 1..TR_MAX_EXPR in an expression */
    uint8_t var[TR_MAX_EXPR]; /* enum tr_var */
    uint8_t op[TR_MAX_EXPR - 1]; /* enum tr_op between operands i and i + 1 */
    double value[TR_MAX_EXPR];
};

/* Values of the variables for tr_num_eval(). */
struct tr_vars {
    double iw, ih, cw, ch;
    double bw, bh; /* 0: the current image (cw, ch) */
};

/* Evaluate n with ImageKit's precedence (mul/div, then add/sub, then mod, then pow).
 * Returns 0, or -EINVAL for an unset or auto number, division or modulo by zero, or a
 * result that is not finite. Pure. */
int tr_num_eval(const struct tr_num *n, const struct tr_vars *v, double *out);

/* ---- One step ----------------------------------------------------------------------------- */

/* Every key a step can hold, in canonical order; bit (1 << key) of tr_step.has says it is set. */
enum tr_key {
    TR_W,
    TR_H,
    TR_AR,
    TR_C,
    TR_CM,
    TR_FO,
    TR_Z,
    TR_X,
    TR_Y,
    TR_XC,
    TR_YC,
    TR_DPR,
    TR_RT,
    TR_FL,
    TR_T,
    TR_BG,
    TR_B,
    TR_R,
    TR_BL,
    TR_O,
    TR_E_GRAYSCALE,
    TR_E_CONTRAST,
    TR_E_SHARPEN,
    TR_E_USM,
    /* video (docs/video.md): each one value for the whole chain */
    TR_SO,
    TR_EO,
    TR_DU,
    TR_VC,
    TR_AC,
    TR_SR,
    TR_PG,
    TR_Q,
    TR_F,
    TR_PR,
    TR_LO,
    TR_MD,
    TR_CP,
    TR_ORIG,
    TR_LX, /* layer keys: only inside l-image,...,l-end or l-text,...,l-end */
    TR_LY,
    TR_LXC,
    TR_LYC,
    TR_LFO,
    TR_AL,
    TR_FS, /* text layer keys */
    TR_FF,
    TR_CO,
    TR_TG,
    TR_IA,
    TR_LH,
    TR_PA,
    TR_KEY_COUNT
};
_Static_assert(TR_KEY_COUNT <= 64, "tr_step.has holds one bit per key");

enum tr_crop {                         /* c- */
               TR_CROP_MAINTAIN_RATIO, /* the default: exact w x h, fill then crop at fo */
               TR_CROP_FORCE,          /* squeeze to w x h */
               TR_CROP_AT_MAX,         /* fit inside, never enlarge */
               TR_CROP_AT_MAX_ENLARGE, /* fit inside, may enlarge */
               TR_CROP_AT_LEAST,       /* cover: one side exact, the other at least as big */
};

enum tr_crop_mode { /* cm- */
                    TR_CM_NONE,
                    TR_CM_PAD_RESIZE,  /* fit inside w x h, pad with bg */
                    TR_CM_EXTRACT,     /* cut a w x h region, no resize */
                    TR_CM_PAD_EXTRACT, /* extract a region larger than the image, padded with bg */
};

enum tr_focus { /* fo- */
                TR_FO_CENTER,
                TR_FO_TOP,
                TR_FO_LEFT,
                TR_FO_BOTTOM,
                TR_FO_RIGHT,
                TR_FO_TOP_LEFT,
                TR_FO_TOP_RIGHT,
                TR_FO_BOTTOM_LEFT,
                TR_FO_BOTTOM_RIGHT,
                TR_FO_AUTO, /* saliency (libvips "attention") */
                TR_FO_FACE, /* no face detector yet: behaves as TR_FO_AUTO */
};

enum tr_format {              /* f- */
                 TR_FMT_AUTO, /* from Accept and the source: tr_pick_format() */
                 TR_FMT_JPEG,
                 TR_FMT_PNG,
                 TR_FMT_WEBP,
                 TR_FMT_AVIF,
                 TR_FMT_GIF,
                 TR_FMT_ORIG, /* the source's own format */
                 TR_FMT_MP4,  /* video: a video or an animated GIF as MP4 */
                 TR_FMT_WEBM, /* video: as WebM */
};

enum tr_flip { TR_FLIP_H = 1, TR_FLIP_V = 2, TR_FLIP_HV = 3 }; /* fl- */

/* Video (docs/video.md): codecs, and the heights of adaptive-streaming renditions. */
enum tr_vcodec { TR_VC_H264, TR_VC_VP9, TR_VC_AV1, TR_VC_NONE }; /* vc- */
enum tr_acodec { TR_AC_AAC, TR_AC_OPUS, TR_AC_NONE };            /* ac- */
#define TR_MAX_RENDITIONS 7 /* ImageKit's heights: 240 360 480 720 1080 1440 2160 */
struct tr_renditions {      /* sr-: ascending, each once */
    int n;
    int height[TR_MAX_RENDITIONS];
};

enum tr_align { TR_ALIGN_LEFT, TR_ALIGN_CENTER, TR_ALIGN_RIGHT }; /* ia- */

enum tr_font { /* ff-: the families the project installs (scripts/setup.sh) */
               TR_FONT_SANS,
               TR_FONT_SERIF,
               TR_FONT_MONO,
               TR_FONT_CJK_SANS,
               TR_FONT_CJK_SERIF,
               TR_FONT_FILE, /* a font file of the endpoint: tr_layer.font_off, font_len */
};

enum tr_typo { TR_TG_BOLD = 1, TR_TG_ITALIC = 2 }; /* tg-b, tg-i, tg-b_i */

struct tr_color {
    uint8_t r, g, b, a; /* a: 255 opaque; ImageKit's RRGGBBAA "AA" is 00-99 opacity */
};

struct tr_step {
    uint64_t has; /* (1 << enum tr_key) for every key given */
    struct tr_num w, h, ar, x, y, xc, yc, dpr, border_width, radius;
    bool radius_max;             /* r-max */
    enum tr_crop crop;           /* c- */
    enum tr_crop_mode crop_mode; /* cm- */
    enum tr_focus focus;         /* fo- */
    double zoom;                 /* z- */
    double rotate;               /* rt-: degrees clockwise in [0, 360): N90 is 270 */
    bool rotate_auto;  /* rt-auto: EXIF orientation, which is always applied: not in has */
    enum tr_flip flip; /* fl- */
    int trim;          /* t-: 1..99 (t-true = 10; t-false sets nothing) */
    struct tr_color bg, border_color; /* bg-, b-<width>_<colour> */
    double blur;                      /* bl-: 1..100 */
    int opacity;                      /* o-: 0..100 */
    double sharpen;                   /* e-sharpen[-n]: above 0, at most 100; bare is 30 */
    double usm[4];                    /* e-usm-<radius>-<sigma>-<amount>-<threshold> */
    int page;                         /* pg-: 1-based frame or page (tr_chain_page()) */
    int quality;                      /* q-: 1..100 */
    enum tr_format format;            /* f- */
    bool progressive, lossless, metadata, color_profile, orig; /* pr lo md cp orig: -true */
    double so, eo, du;       /* so- eo- du-: seconds into a video (start, end, duration) */
    enum tr_vcodec vcodec;   /* vc- */
    enum tr_acodec acodec;   /* ac- */
    struct tr_renditions sr; /* sr- */
    /* layer keys (a layer's first step): where it goes on the image below it */
    struct tr_num lx, ly, lxc, lyc; /* px; negative lx/ly measure from the right/bottom edge */
    enum tr_focus layer_focus;      /* lfo-: center (the default) or one of the 8 positions */
    int alpha;                      /* al-: 1..9, the layer's opacity in tenths */
    /* text layer keys */
    struct tr_num font_size; /* fs-: px */
    enum tr_font font;       /* ff- */
    struct tr_color color;   /* co-: the text's colour, black unless given */
    int typo;                /* tg-: enum tr_typo bits */
    enum tr_align align;     /* ia- */
    int line_height;         /* lh-: px between lines */
    int pad[4];              /* pa-: top right bottom left, px (CSS shorthand) */
    /* what the parser links: not keys */
    uint8_t cond;    /* 0, or 1 + the index of this step's conditional in tr_chain.cond[] */
    uint8_t nlayers; /* layers drawn in this step (tr_chain.layer[] whose owner it is) */
};

/* A key's name as written ("w", "e-usm", "so"), for messages; "?" for no key. (transfer none):
 * static. */
const char *tr_key_name(enum tr_key k);

static inline bool tr_step_has(const struct tr_step *s, enum tr_key k)
{
    return (s->has >> k) & 1;
}

/* ---- A chain ------------------------------------------------------------------------------ */

/* A step is named by an id: 0..TR_MAX_STEPS-1 the chain's own steps (tr_chain.step[]), then
 * TR_STEP_LAYER + j the j-th step inside layers (tr_chain.lstep[]). */
#define TR_STEP_LAYER TR_MAX_STEPS

enum tr_layer_type { TR_LAYER_IMAGE, TR_LAYER_TEXT };

/* Which branch of its owner step's conditional a layer belongs to. */
enum tr_branch { TR_BRANCH_ALWAYS, TR_BRANCH_THEN, TR_BRANCH_ELSE };

/* l-image,i-PATH,...,l-end or l-text,i-TEXT,...,l-end: drawn on its owner step's image, after
 * that step's geometry, in the order given (a branch's layers after the others). */
struct tr_layer {
    enum tr_layer_type type;
    uint8_t owner;  /* the step id it is drawn in */
    uint8_t branch; /* enum tr_branch */
    uint8_t depth;  /* 1 in a step of the chain, 2 in a layer's step, ... */
    uint8_t nsteps; /* its own steps: tr_chain.lstep[step[0]], ... in order */
    uint8_t step[TR_MAX_LAYER_STEPS];
    bool canvas;                 /* i-ik_canvas: a solid block of bg, w x h */
    bool no_trim;                /* t-false: an image layer is trimmed unless this */
    uint16_t in_off, in_len;     /* i-/ie-: tr_chain.strings[in_off ..]: the path ('/') or text */
    uint16_t font_off, font_len; /* ff-PATH (a text layer's font file): in tr_chain.strings */
};

enum tr_cmp { TR_CMP_EQ, TR_CMP_NE, TR_CMP_GT, TR_CMP_GTE, TR_CMP_LT, TR_CMP_LTE };

/* if-PROP_OP_VALUE[_and_|_or_ ...]: PROP is w h ar (the image entering the step: cw ch car) or
 * iw ih iar (the input). The owner step holds what applies when it holds (its keys and the
 * then-branch's), alt the step when it does not (its keys and the else-branch's). */
struct tr_cond {
    unsigned nterms;
    struct {
        enum tr_var prop;
        enum tr_cmp cmp;
        struct tr_num value;
        bool or_next; /* joined to the next term by _or_ (else _and_, which binds first) */
    } term[TR_MAX_COND_TERMS];
    struct tr_step alt;
};

struct tr_chain {
    unsigned nsteps;
    struct tr_step step[TR_MAX_STEPS];
    char default_image[TR_MAX_PATH]; /* di-: '@@' made '/', leading '/' dropped; "" if none */
    unsigned nlsteps, nlayers, nconds, strings_len;
    struct tr_step lstep[TR_MAX_LAYER_STEPS];
    struct tr_layer layer[TR_MAX_LAYERS];
    struct tr_cond cond[TR_MAX_CONDS];
    char strings[TR_MAX_STRINGS]; /* layer inputs, not NUL-terminated: (in_off, in_len) */
};

/* The step of id (TR_STEP_LAYER and up: inside layers); NULL past the end. */
const struct tr_step *tr_chain_step(const struct tr_chain *c, unsigned id);

/* The step that step id runs as for an image entering it: itself, or its conditional's alt
 * when the condition does not hold. v: the image's variables (iw ih cw ch). *taken: which
 * branch. Returns NULL when the condition cannot be evaluated (a division by zero). Pure. */
const struct tr_step *tr_chain_variant(const struct tr_chain *c, unsigned id,
                                       const struct tr_vars *v, enum tr_branch *taken);

/* Whether layer l is drawn when its owner took branch taken. */
static inline bool tr_layer_drawn(const struct tr_layer *l, enum tr_branch taken)
{
    return l->branch == TR_BRANCH_ALWAYS || l->branch == (uint8_t)taken;
}

/* Named transformations from configuration: "n-thumb" expands to value ("w-200,h-200"). */
struct tr_named {
    const char *name;
    const char *value;
};

struct tr_names {
    const struct tr_named *v;
    size_t n;
};

/* An empty chain (no steps, no default image). */
void tr_chain_init(struct tr_chain *c);

/* Parse s[0..len) and append its steps to c; call once for path steps, then for query steps.
 * s is the text after one percent-decoding by the caller. names may be NULL. An n- name
 * expands to its steps (one level: a named transformation cannot name another).
 * Returns 0, or -EINVAL with err set ("unknown parameter 'wx' (step 2)", "q: 0 is out of
 * range 1-100 (step 1)", "l-image: not closed by l-end"); c is then
 * unspecified. Pure. */
int tr_parse(struct tr_chain *c, const char *s, size_t len, const struct tr_names *names,
             char err[TR_ERR_LEN]);

bool tr_chain_is_empty(const struct tr_chain *c);

/* Whether any step says orig-true: deliver the original bytes, ignore everything else. */
bool tr_chain_wants_original(const struct tr_chain *c);

#define TR_QUALITY_DEFAULT 80 /* q- when no step gives it (ImageKit's) */

/* The 1-based page or frame the chain loads: the last step's pg-, 1 when none gives one (pg-1
 * then changes nothing: an animation stays animated). tr_apply() and tr_canonical() both use
 * this rule, so "pg-2:pg-1" is "". */
int tr_chain_page(const struct tr_chain *c);

/* Whether step s changes no pixel: every key it gives is at its default (c-maintain_ratio,
 * o-100) or belongs to the whole chain (q f pr lo md cp pg). tr_apply() skips such a step, as
 * tr_canonical() writes nothing for it: "q-50:w-100" and "w-100,q-50" are one transform. */
bool tr_step_is_noop(const struct tr_step *s);

/* Output settings, resolved over the chain: for f q pr lo md cp the last step that sets a key
 * wins; unset keys take ImageKit's defaults (f auto, q 80, all flags false). */
struct tr_output {
    enum tr_format format;
    int quality;
    bool progressive, lossless, metadata, color_profile;
};
void tr_chain_output(const struct tr_chain *c, struct tr_output *out);

/* A buffer this big always holds the canonical text of a chain. */
#define TR_CANONICAL_MAX 16384

/* Write the canonical text of c to buf (always NUL-terminated): keys in enum tr_key order,
 * numbers normalised, values that change nothing (defaults) left out, output settings once at
 * the end, so two spellings of one transformation ("h-300,w-300,c-maintain_ratio" and
 * "w-300,h-300") give one text: the cache key and ETag input. It says exactly what tr_apply()
 * does with c: equal texts (with equal tr_hint_dpr() and tr_hint_width() for a chain that uses
 * the hints) give equal bytes. Returns its length, or -ENOSPC when cap is too small. Pure. */
int tr_canonical(const struct tr_chain *c, char *buf, size_t cap);

/* The client hints as tr_apply() uses them, so that a cache key made of these values says what
 * it does: Sec-CH-DPR for dpr-auto clamped to 0.1-5 and rounded to 2 decimals (0 when absent:
 * raw 0 or below, or not a number); Sec-CH-Width for w-auto rounded up to the next 100 px, as
 * ImageKit does (0 when absent). Idempotent; tr_apply() applies them itself. Pure. */
double tr_hint_dpr(double raw);
int tr_hint_width(long raw);

/* ---- Formats ------------------------------------------------------------------------------ */

/* What a file is, from its first bytes alone (no decoding). */
enum tr_source_type {
    TR_SRC_UNKNOWN, /* not an image we transform: deliver it as is */
    TR_SRC_JPEG,
    TR_SRC_PNG,
    TR_SRC_GIF,
    TR_SRC_WEBP,
    TR_SRC_AVIF,
    TR_SRC_HEIF,
    TR_SRC_TIFF,
    TR_SRC_SVG,
    TR_SRC_PDF,
};

struct tr_sniff {
    enum tr_source_type type;
    bool alpha;    /* may hold transparency (PNG colour type/tRNS, WebP alpha, GIF) */
    bool animated; /* more than one frame (GIF, animated WebP) as far as the header shows */
};

/* Sniff data[0..len); a prefix of 4 KiB or more is enough. Pure. */
void tr_sniff(const void *data, size_t len, struct tr_sniff *out);

/* Whether the source type is one tr_apply() decodes. */
bool tr_sniff_is_image(const struct tr_sniff *s);

/* The output format for a chain on a source, given the request's Accept header (NULL when
 * absent). Deterministic for a given (chain, source, Accept, avif_auto): an explicit f- wins;
 * f-auto picks AVIF only when avif_auto and accepted, then WebP when accepted, else the
 * source's family, never silently dropping alpha or animation. Never TR_FMT_AUTO. Pure. */
enum tr_format tr_pick_format(const struct tr_chain *c, const struct tr_sniff *src,
                              const char *accept, bool avif_auto);

/* Whether the output format of c depends on Accept (then responses carry Vary: Accept). */
bool tr_format_varies(const struct tr_chain *c);

/* "image/webp" etc., "application/octet-stream" for auto and orig; (transfer none): static. */
const char *tr_format_mime(enum tr_format f);
const char *tr_format_name(enum tr_format f); /* "jpeg", "webp", ... */

/* ---- Running a chain (tr_apply.c, libvips) ------------------------------------------------ */

struct tr_limits {
    uint64_t max_input_pixels;  /* width x height x frames of the decoded source */
    uint64_t max_output_pixels; /* of the encoded result */
    int max_output_dim;         /* longest side of any intermediate or result image */
    size_t max_input_bytes;     /* encoded source size */
    int max_frames;             /* frames kept from an animated source */
    uint64_t max_direct_pixels; /* a JPEG that decodes (after shrink-on-load) to at most this
                                 * many pixels is decoded whole into memory by tr_jpeg.c, which
                                 * is faster than libvips's streaming loader; 0: never */
};

/* ImageKit's limits: 100 MP in and out, 40 MB input; 16383 px (WebP's own cap); 300 frames.
 * Direct JPEG decoding up to 4 MP (12 MB of RGB per request in flight). */
#define TR_LIMITS_DEFAULT                                                                          \
    ((struct tr_limits){100000000u, 100000000u, 16383, 40u * 1024 * 1024, 300, 4000000u})

/* A layer's image decoded once, to be used by many calls at once (blobhttpd keeps them in a
 * small cache keyed by the file's identity). Opaque: tr_layer.c. */
struct tr_source;

/* Decode data[0..len) (any source tr_apply() takes; first frame, EXIF orientation applied,
 * 8-bit sRGB with alpha if it has any) into memory. Limits: lim's input bytes and pixels, and
 * a decoded size of at most TR_MAX_LAYER_PIXELS. Returns 0 with *out (transfer full): free
 * with tr_source_free(); or -EBADMSG (not an image we decode), -E2BIG, -ENOMEM with err. */
#define TR_MAX_LAYER_PIXELS 25000000u
int tr_source_new(const void *data, size_t len, const struct tr_limits *lim, struct tr_source **out,
                  char err[TR_ERR_LEN]);

/* Another reference to s (thread-safe), dropped with tr_source_free(). Returns s. */
struct tr_source *tr_source_ref(struct tr_source *s);

/* Drop a reference; the image goes with the last (calls still using it hold their own).
 * NULL: nothing. */
void tr_source_free(struct tr_source *s);

/* Bytes of decoded pixels held (for a cache's budget), width and height. */
size_t tr_source_size(const struct tr_source *s);
void tr_source_dims(const struct tr_source *s, int *w, int *h);

/* Decoded pixels as a source instead of encoded bytes (a video frame): 8-bit sRGB, 3 bands
 * (RGB) or 4 (RGBA), rows stride bytes apart. (transfer none): read during tr_apply() only. */
struct tr_pixels {
    const uint8_t *data;
    int width, height, bands;
    size_t stride;
};

struct tr_request {
    const struct tr_chain *chain;
    const void *src; /* the encoded source, (transfer none) */
    size_t len;
    enum tr_format format; /* from tr_pick_format(), never TR_FMT_AUTO */
    const struct tr_limits *limits;
    double hint_dpr;                /* Sec-CH-DPR for dpr-auto, 0 when absent */
    int hint_width;                 /* Sec-CH-Width for w-auto, 0 when absent */
    const struct tr_pixels *pixels; /* when set, the source (src and len are ignored) */
    /* Bounds on this one call; 0 / NULL: none.
     * max_mem:     bytes the call may hold -> -E2BIG, refused before the allocation that
     *              would pass it. Counted: every image rendered into memory, the decoded
     *              source when held whole (the direct JPEG decoder's buffer, an animation, a
     *              progressive JPEG's coefficients, a padded tr_pixels copy), one strip of
     *              each image computed in strips, the encoder's own memory (estimated per
     *              pixel and format, measured), the encoded output. libvips's own counters
     *              are process-wide, so these are computed from sizes (tr_bounds.h);
     * deadline_ns: CLOCK_MONOTONIC time in ns -> -ETIMEDOUT past it;
     * cancel:      set by another thread (the client left) -> -ECANCELED.
     * Both stop libvips through its kill flag within about a second; an encoder that
     * nothing can stop once started (AVIF, WebP, palette PNG, GIF, progressive JPEG) then
     * runs on a helper thread, which is left to finish on its own and free what it holds
     * (two at most, process-wide; past that the call waits for its encoder). */
    size_t max_mem;
    uint64_t deadline_ns;
    const atomic_bool *cancel;
    /* Layers: layer_src[i] is chain->layer[i]'s decoded image (an image layer that is not
     * i-ik_canvas), resolved by the caller from i-'s path; NULL otherwise. layer_font[i] is
     * the path of a file holding the font of a text layer with ff-PATH, which fontconfig
     * reads and keeps for the life of the process: a path that stays valid and whose bytes
     * never change (blobhttpd copies the endpoint's file under its identity); NULL
     * otherwise. (transfer none) */
    const struct tr_source *const *layer_src;
    const char *const *layer_font;
};

/* The encoded result. (transfer full): release with tr_image_release(). */
struct tr_image {
    void *data;
    size_t len;
    enum tr_format format;
    int width, height; /* of one frame when animated */
    int load_shrink;   /* shrink-on-load factor used (1: decoded at full size): logs, tests */
    bool load_direct;  /* decoded by tr_jpeg.c (libjpeg on the whole buffer), not by a libvips
                        * loader: logs, tests */
};

/* Once per process, in main() before any thread exists: starts libvips, blocks its untrusted
 * loaders, turns its operation cache off and sets its thread count. Returns 0 or -1. */
int tr_init(const char *argv0, int vips_threads);

/* At the end of main(): waits for the encoders left running by calls that were stopped, then
 * shuts libvips down. */
void tr_shutdown(void);

/* A thread that ran tr_apply() calls this before it exits (libvips per-thread state). */
void tr_thread_done(void);

/* Run rq->chain on rq->src. Returns 0 with out filled, or, with err set:
 * -EBADMSG the source cannot be decoded (truncated, corrupt, not an image);
 * -E2BIG   a limit was exceeded (input bytes or pixels, output size);
 * -EINVAL  the chain cannot apply to this image (an expression divides by zero, an extract
 *          region outside the image, f-gif for a non-GIF source);
 * -ENOMEM  out of memory;
 * -E2BIG   also: rq->max_mem would be exceeded;
 * -ETIMEDOUT / -ECANCELED  rq->deadline_ns passed / *rq->cancel was set. */
int tr_apply(const struct tr_request *rq, struct tr_image *out, char err[TR_ERR_LEN]);

void tr_image_release(struct tr_image *img);

/* What a source is, from its header alone (no pixel is decoded): its type, its size with EXIF
 * orientation applied, its frames. Returns 0, or -EBADMSG / -E2BIG (over limits->
 * max_input_bytes) with err set. Same threads rules as tr_apply(). */
struct tr_info {
    struct tr_sniff sniff;
    int width, height, frames, orientation;
};
int tr_probe(const void *src, size_t len, const struct tr_limits *limits, struct tr_info *out,
             char err[TR_ERR_LEN]);

#endif
