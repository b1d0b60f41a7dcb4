/* Unit tests for the transformation parser (transform/tr_parse.c, tr_num.c, tr_color.c,
 * tr_canon.c): every parameter with good and bad values and the exact message, chains, named
 * transformations, expressions and their evaluation, canonical texts, caps. Every input sits
 * at the end of a readable page (check_guard), so a parser that reads past len faults. */
#include "tr.h"
#include "tr_parse_i.h"

#include "check.h"

#include <errno.h>
#include <math.h>

static const struct tr_named named_list[] = {
    {"thumb", "w-200,h-200"},
    {"two", "w-100:rt-90"},
    {"bad", "w-10:q-0"},
    {"nested", "n-thumb"},
    {"empty", ""},
    {"with-di", "di-@@fallback@@x.jpg,w-50"},
    {"a-rather-long-name-for-a-transformation", "c-a-rather-long-value-for-a-crop"},
};
static const struct tr_names names = {named_list, sizeof(named_list) / sizeof(named_list[0])};

/* Parse one text into a fresh chain, from a guarded copy; returns tr_parse()'s result. */
static int parse(const char *s, struct tr_chain *c, char err[TR_ERR_LEN])
{
    tr_chain_init(c);
    return tr_parse(c, check_guard(s, strlen(s)), strlen(s), &names, err);
}

static const char *canonical(const struct tr_chain *c)
{
    static char buf[TR_CANONICAL_MAX];

    if (tr_canonical(c, buf, sizeof(buf)) < 0)
        return "(does not fit)";
    return buf;
}

/* ---- Good values: text -> canonical text ---------------------------------------------------- */

static const struct {
    const char *in, *canon;
} goods[] = {
    /* w, h: px, fractions, expressions, auto (w only); rounding; the 65535 px cap */
    {"w-300", "w-300"},
    {"h-300", "h-300"},
    {"w-1", "w-1"},
    {"w-65535", "w-65535"},
    {"w-300.4", "w-300"},
    {"w-300.5", "w-301"},
    {"w-0.4", "w-0.4"},
    {"h-0.40", "h-0.4"},
    {"w-0.000001", "w-0.000001"},
    {"w-0.9999999", "w-1"},
    {"w-00300", "w-300"},
    {"w-auto", "w-auto"},
    {"w-iw", "w-iw"},
    {"w-iw_div_2", "w-iw_div_2"},
    {"h-ih_mul_0.5_add_N10", "h-ih_mul_0.5_add_N10"},
    {"w-100_mul_2", "w-200"},
    {"w-1_div_2", "w-0.5"},
    {"w-2_pow_3_pow_2", "w-64"},
    {"w-1_div_3", "w-0.333333"},
    {"w-cw_sub_ch_add_car_mod_3_pow_iar", "w-cw_sub_ch_add_car_mod_3_pow_iar"},
    /* ar: W-H, W_H, a number, expressions */
    {"ar-4-3", "ar-4-3"},
    {"ar-8-6", "ar-4-3"},
    {"ar-16_9", "ar-16-9"},
    {"ar-4_div_3", "ar-4-3"},
    {"ar-1.5", "ar-1.5-1"},
    {"ar-1.5-1", "ar-1.5-1"},
    {"ar-3-1", "ar-3-1"},
    {"ar-2_mul_3", "ar-6-1"},
    {"ar-1_div_3_mul_4", "ar-1.333333-1"},
    {"ar-iar", "ar-iar"},
    {"ar-iar_div_2", "ar-iar_div_2"},
    {"ar-1.91-1", "ar-1.91-1"},
    /* c, cm, fo, z */
    {"c-maintain_ratio", ""},
    {"c-force", "c-force"},
    {"c-at_max", "c-at_max"},
    {"c-at_max_enlarge", "c-at_max_enlarge"},
    {"c-at_least", "c-at_least"},
    {"cm-pad_resize", "cm-pad_resize"},
    {"cm-extract", "cm-extract"},
    {"cm-pad_extract", "cm-pad_extract"},
    {"fo-center", ""},
    {"fo-top", "fo-top"},
    {"fo-left", "fo-left"},
    {"fo-bottom", "fo-bottom"},
    {"fo-right", "fo-right"},
    {"fo-top_left", "fo-top_left"},
    {"fo-top_right", "fo-top_right"},
    {"fo-bottom_left", "fo-bottom_left"},
    {"fo-bottom_right", "fo-bottom_right"},
    {"fo-auto", "fo-auto"},
    {"fo-face", "fo-face"},
    {"z-1", ""},
    {"z-1.5", "z-1.5"},
    {"z-0.5", "z-0.5"},
    {"z-10", "z-10"},
    /* x y xc yc */
    {"x-0", "x-0"},
    {"x-10,y-20", "x-10,y-20"},
    {"xc-0.5,yc-0.25", "xc-0.5,yc-0.25"},
    {"x-iw_div_4", "x-iw_div_4"},
    {"y-65535", "y-65535"},
    /* dpr */
    {"dpr-1", ""},
    {"dpr-2", "dpr-2"},
    {"dpr-0.1", "dpr-0.1"},
    {"dpr-5", "dpr-5"},
    {"dpr-2.50", "dpr-2.5"},
    {"dpr-auto", "dpr-auto"},
    /* rt fl t */
    {"rt-90", "rt-90"},
    {"rt-N90", "rt-270"},
    {"rt-360", ""},
    {"rt-0", ""},
    {"rt-N360", ""},
    {"rt-45.5", "rt-45.5"},
    {"rt-N0.000001", "rt-359.999999"},
    {"rt-auto", ""},
    {"rt-auto,w-10", "w-10"},
    {"fl-h", "fl-h"},
    {"fl-v", "fl-v"},
    {"fl-h_v", "fl-h_v"},
    {"fl-v_h", "fl-h_v"},
    {"t-true", "t-10"},
    {"t-10", "t-10"},
    {"t-1", "t-1"},
    {"t-99", "t-99"},
    {"t-false", ""},
    /* bg b r bl o */
    {"bg-FF0000", "bg-FF0000"},
    {"bg-ff0000", "bg-FF0000"},
    {"bg-F00", "bg-FF0000"},
    {"bg-red", "bg-FF0000"},
    {"bg-RED", "bg-FF0000"},
    {"bg-RebeccaPurple", "bg-663399"},
    {"bg-FF000050", "bg-FF000050"},
    {"bg-FF000099", "bg-FF0000"},
    {"bg-00000000", "bg-00000000"},
    {"b-5_FF0000", "b-5_FF0000"},
    {"b-5_red", "b-5_FF0000"},
    {"b-cw_mul_0.05_yellow", "b-cw_mul_0.05_FFFF00"},
    {"b-ih_div_20_FF00FF", "b-ih_div_20_FF00FF"},
    {"b-2_FF000050", "b-2_FF000050"},
    {"r-20", "r-20"},
    {"r-max", "r-max"},
    {"bl-1", "bl-1"},
    {"bl-100", "bl-100"},
    {"o-0", "o-0"},
    {"o-50", "o-50"},
    {"o-100", ""},
    /* effects */
    {"e-grayscale", "e-grayscale"},
    {"e-grayscale-true", "e-grayscale"},
    {"e-contrast", "e-contrast"},
    {"e-sharpen", "e-sharpen"},
    {"e-sharpen-true", "e-sharpen"},
    {"e-sharpen-10", "e-sharpen-10"},
    {"e-sharpen-30", "e-sharpen"},
    {"e-sharpen-01", "e-sharpen-1"},
    {"e-sharpen-0.5", "e-sharpen-0.5"},
    {"e-usm", "e-usm-2-2-0.8-0.024"},
    {"e-usm-true", "e-usm-2-2-0.8-0.024"},
    {"e-usm-2-2-0.8-0.024", "e-usm-2-2-0.8-0.024"},
    {"e-usm-1.5-1-2-0", "e-usm-1.5-1-2-0"},
    /* pg q f */
    {"pg-1", ""},
    {"pg-2", "pg-2"},
    {"pg-2:pg-1", ""},
    {"pg-2:w-10", "w-10,pg-2"},
    {"pg-3:w-10:pg-2", "w-10,pg-2"},
    {"q-50:w-10", "w-10,q-50"},
    {"q-1", "q-1"},
    {"q-80", ""},
    {"q-100", "q-100"},
    {"f-auto", ""},
    {"f-jpg", "f-jpeg"},
    {"f-jpeg", "f-jpeg"},
    {"f-png", "f-png"},
    {"f-webp", "f-webp"},
    {"f-avif", "f-avif"},
    {"f-gif", "f-gif"},
    {"f-orig", "f-orig"},
    {"f-mp4", "f-mp4"},
    {"f-webm", "f-webm"},
    /* video: so eo du vc ac sr, each one value for the whole chain, written last */
    {"so-5", "so-5"},
    {"so-0", "so-0"},
    {"so-2.5", "so-2.5"},
    {"so-02.50", "so-2.5"},
    {"so-10_div_4", "so-2.5"},
    {"so-1_add_1_mul_2", "so-3"},
    {"so-0.0000004", "so-0"},
    {"so-86400", "so-86400"},
    {"eo-7", "eo-7"},
    {"du-0.5", "du-0.5"},
    {"so-2,eo-5,du-1", "so-2,eo-5,du-1"},
    {"du-1,so-2", "so-2,du-1"},
    {"so-1:so-3", "so-3"},
    {"so-3,w-300", "w-300,so-3"},
    {"w-300:so-3,q-50", "w-300,so-3,q-50"},
    {"vc-h264", "vc-h264"},
    {"vc-vp9,f-webm", "vc-vp9,f-webm"},
    {"vc-av1", "vc-av1"},
    {"vc-none", "vc-none"},
    {"ac-aac", "ac-aac"},
    {"ac-opus", "ac-opus"},
    {"ac-none", "ac-none"},
    {"ac-opus,vc-vp9", "vc-vp9,ac-opus"},
    {"sr-240", "sr-240"},
    {"sr-240_360_480_720_1080", "sr-240_360_480_720_1080"},
    {"sr-1080_240_720", "sr-240_720_1080"},
    {"sr-360_360", "sr-360"},
    {"sr-2160_1440", "sr-1440_2160"},
    {"sr-0240", "sr-240"},
    {"rt-90,so-1", "rt-90,so-1"},
    /* pr lo md cp orig */
    {"pr-true", "pr-true"},
    {"pr-false", ""},
    {"lo-true", "lo-true"},
    {"md-true", "md-true"},
    {"cp-true", "cp-true"},
    {"orig-true", "orig-true"},
    {"orig-false", ""},
    {"orig-true,w-100:rt-90,q-50", "orig-true"},
    /* di: '@@' is '/', a leading '@@' or '/' is dropped */
    {"di-img.jpg", "di-img.jpg"},
    {"di-@@path@@to@@img.jpg", "di-path@@to@@img.jpg"},
    {"di-folder@@def.jpg", "di-folder@@def.jpg"},
    {"di-/a/b.jpg", "di-a@@b.jpg"},
    {"di-a@b.jpg", "di-a@b.jpg"},
    {"di-x@@@y", "di-x@@@y"},
    {"w-100,di-d.png", "w-100:di-d.png"},
    /* chains */
    {"w-300,h-300,c-at_max:rt-90:f-webp", "w-300,h-300,c-at_max:rt-90,f-webp"},
    {"h-300,w-300", "w-300,h-300"},
    {"q-50,w-300", "w-300,q-50"},
    {"q-50:w-300", "w-300,q-50"},
    {"w-300:q-50", "w-300,q-50"},
    {"f-png:w-10:f-webp", "w-10,f-webp"},
    {"q-50:q-80", ""},
    {"pr-true:pr-false", ""},
    {"w-100:c-maintain_ratio:h-100", "w-100:h-100"},
    {"w-100:fo-center,q-50", "w-100,q-50"},
    {"", ""},
    {":", ""},
    {"::w-1::", "w-1"},
    {"w-1:", "w-1"},
    {":w-1", "w-1"},
    {"t-false:w-1", "w-1"},
    /* named transformations, read in place */
    {"n-thumb", "w-200,h-200"},
    {"n-thumb,q-50", "w-200,h-200,q-50"},
    {"q-50,n-thumb", "w-200,h-200,q-50"},
    {"n-two,q-50", "w-100:rt-90,q-50"},
    {"rt-180:n-two:bl-5", "rt-180:w-100:rt-90:bl-5"},
    {"n-empty", ""},
    {"n-empty,w-5", "w-5"},
    {"n-with-di", "w-50:di-fallback@@x.jpg"},
    /* layers: each key, inputs, nesting, steps inside a layer */
    {"l-image,i-logo.png,l-end", "l-image,i-logo.png,l-end"},
    {"l-image,i-@@a@@logo.png,l-end", "l-image,i-a@@logo.png,l-end"},
    {"l-image,i-/a/logo.png,l-end", "l-image,i-a@@logo.png,l-end"},
    {"l-image,ie-YS9sb2dvLnBuZw==,l-end", "l-image,i-a@@logo.png,l-end"},
    {"l-image,ie-YS9sb2dvLnBuZw,l-end", "l-image,i-a@@logo.png,l-end"},
    {"l-image,i-a%40b.png,l-end", "l-image,ie-YUBiLnBuZw==,l-end"},
    {"l-image,i-a%2540b.png,l-end", "l-image,ie-YSU0MGIucG5n,l-end"},
    {"l-image,i-ik_canvas,bg-FF0000,w-100,h-50,l-end",
     "l-image,i-ik_canvas,w-100,h-50,bg-FF0000,l-end"},
    {"l-image,ie-aWtfY2FudmFz,l-end", "l-image,ie-aWtfY2FudmFz,l-end"},
    {"l-image,i-a.png,t-false,l-end", "l-image,i-a.png,t-false,l-end"},
    {"l-image,i-a.png,t-5,l-end", "l-image,i-a.png,t-5,l-end"},
    {"l-image,i-a.png,lx-10,ly-20,l-end", "l-image,i-a.png,lx-10,ly-20,l-end"},
    {"l-image,i-a.png,lx-N10,ly-N0020,l-end", "l-image,i-a.png,lx-N10,ly-N20,l-end"},
    {"l-image,i-a.png,lx-bw_div_2,ly-bh_sub_10,l-end",
     "l-image,i-a.png,lx-bw_div_2,ly-bh_sub_10,l-end"},
    {"l-image,i-a.png,lxc-50,lyc-60,l-end", "l-image,i-a.png,lxc-50,lyc-60,l-end"},
    {"l-image,i-a.png,lfo-bottom_right,l-end", "l-image,i-a.png,lfo-bottom_right,l-end"},
    {"l-image,i-a.png,lfo-center,l-end", "l-image,i-a.png,l-end"},
    {"l-image,i-a.png,al-5,l-end", "l-image,i-a.png,al-5,l-end"},
    {"l-image,i-a.png,w-bw_mul_0.2,rt-90,o-50,e-grayscale,r-max,l-end",
     "l-image,i-a.png,w-bw_mul_0.2,rt-90,r-max,o-50,e-grayscale,l-end"},
    {"l-image,i-a.png,w-10:rt-90,l-end", "l-image,i-a.png,w-10:rt-90,l-end"},
    {"l-image,i-a.png,c-maintain_ratio:rt-90,l-end", "l-image,i-a.png:rt-90,l-end"},
    {"l-image,i-a.png,l-image,i-b.png,l-image,i-c.png,l-end,l-end,l-end",
     "l-image,i-a.png,l-image,i-b.png,l-image,i-c.png,l-end,l-end,l-end"},
    {"w-300,l-image,i-a.png,l-end,l-image,i-b.png,l-end,rt-90",
     "w-300,rt-90,l-image,i-a.png,l-end,l-image,i-b.png,l-end"},
    {"l-image,i-a.png,l-end:l-image,i-b.png,l-end", "l-image,i-a.png,l-end:l-image,i-b.png,l-end"},
    {"l-text,i-Hi,l-end", "l-text,i-Hi,l-end"},
    {"l-text,i-Hello%20World,l-end", "l-text,i-Hello World,l-end"},
    {"l-text,ie-SGVsbG8gV29ybGQh,l-end", "l-text,ie-SGVsbG8gV29ybGQh,l-end"},
    {"l-text,ie-SGVsbG8gV29ybGQh%3D,l-end", "l-text,ie-SGVsbG8gV29ybGQh,l-end"},
    {"l-text,ie-w6lsw6h2ZQ==,l-end", "l-text,ie-w6lsw6h2ZQ==,l-end"},
    {"l-text,i-Hi,fs-20,co-red,bg-FFFFFF80,pa-5,l-end",
     "l-text,i-Hi,bg-FFFFFF80,fs-20,co-FF0000,pa-5,l-end"},
    {"l-text,i-Hi,fs-bh_div_10,l-end", "l-text,i-Hi,fs-bh_div_10,l-end"},
    {"l-text,i-Hi,pa-1_2,l-end", "l-text,i-Hi,pa-1_2,l-end"},
    {"l-text,i-Hi,pa-1_2_1_2,l-end", "l-text,i-Hi,pa-1_2,l-end"},
    {"l-text,i-Hi,pa-1_2_3,l-end", "l-text,i-Hi,pa-1_2_3,l-end"},
    {"l-text,i-Hi,pa-1_2_3_4,l-end", "l-text,i-Hi,pa-1_2_3_4,l-end"},
    {"l-text,i-Hi,pa-0_0,l-end", "l-text,i-Hi,l-end"},
    {"l-text,i-Hi,ff-dejavuserif,l-end", "l-text,i-Hi,ff-DejaVuSerif,l-end"},
    {"l-text,i-Hi,ff-DejaVuSans,l-end", "l-text,i-Hi,l-end"},
    {"l-text,i-Hi,fs-20,ff-fonts@@Brand.TTF,l-end", "l-text,i-Hi,ff-fonts@@Brand.TTF,fs-20,l-end"},
    {"l-text,i-Hi,ff-/fonts/b.otf,l-end", "l-text,i-Hi,ff-fonts@@b.otf,l-end"},
    {"l-text,i-Hi,tg-i_b,l-end", "l-text,i-Hi,tg-b_i,l-end"},
    {"l-text,i-Hi,ia-center,l-end", "l-text,i-Hi,l-end"},
    {"l-text,i-Hi,ia-right,lh-30,l-end", "l-text,i-Hi,ia-right,lh-30,l-end"},
    {"l-text,i-Hi,w-200,rt-N90,r-10,fl-h,l-end", "l-text,i-Hi,w-200,rt-270,fl-h,r-10,l-end"},
    {"l-text,i-Hi,co-000000,l-end", "l-text,i-Hi,l-end"},
    /* conditionals */
    {"if-w_gt_300,w-300,if-end", "if-w_gt_300,w-300,if-else,if-end"},
    {"if-w_gt_300,w-300,if-else,w-100,if-end,h-50", "h-50,if-w_gt_300,w-300,if-else,w-100,if-end"},
    {"if-w_gt_10,w-10,if-else,w-10,if-end", "w-10"},
    {"if-w_gt_10,c-maintain_ratio,if-end", ""},
    {"if-ar_lt_4-3,w-10,if-end", "if-ar_lt_4-3,w-10,if-else,if-end"},
    {"if-iar_gte_1.50,w-10,if-end", "if-iar_gte_1.5,w-10,if-else,if-end"},
    {"if-cw_lte_iw_div_2,w-10,if-end", "if-w_lte_iw_div_2,w-10,if-else,if-end"},
    {"if-h_eq_100_mul_2,w-10,if-end", "if-h_eq_200,w-10,if-else,if-end"},
    {"if-w_ne_1_and_h_lt_2_or_iw_gt_3,w-10,if-end",
     "if-w_ne_1_and_h_lt_2_or_iw_gt_3,w-10,if-else,if-end"},
    {"if-w_gt_1,l-image,i-a.png,l-end,if-end", "if-w_gt_1,l-image,i-a.png,l-end,if-else,if-end"},
    {"l-image,i-a.png,if-iw_gt_1,w-10,if-end,l-end",
     "l-image,i-a.png,if-iw_gt_1,w-10,if-else,if-end,l-end"},
    {"if-w_gt_1,if-else,l-text,i-Hi,l-end,if-end:w-5",
     "if-w_gt_1,if-else,l-text,i-Hi,l-end,if-end:w-5"},
};

static void test_goods(void)
{
    struct tr_chain c;
    char err[TR_ERR_LEN];

    for (size_t i = 0; i < sizeof(goods) / sizeof(goods[0]); i++) {
        if (!ok(parse(goods[i].in, &c, err) == 0, "parses '%s'", goods[i].in)) {
            printf("#   error: %s\n", err);
            continue;
        }
        ok_str(canonical(&c), goods[i].canon, "canonical of '%s'", goods[i].in);
    }
}

/* ---- Bad values: text -> the exact message --------------------------------------------------- */

static const struct {
    const char *in, *err;
} bads[] = {
    /* structure */
    {"w-100,,h-100", "empty parameter (step 1)"},
    {",w-100", "empty parameter (step 1)"},
    {"w-100,", "empty parameter (step 1)"},
    {"w-100,:h-1", "empty parameter (step 1)"},
    {"w-1:h-1,", "empty parameter (step 2)"},
    {",", "empty parameter (step 1)"},
    {"w-300,w-200", "w: given twice in one step (step 1)"},
    {"w-300,h-2:h-3,h-4", "h: given twice in one step (step 2)"},
    {"t-false,t-5", "t: given twice in one step (step 1)"},
    {"w", "w: missing value (step 1)"},
    {"w-", "w: missing value (step 1)"},
    {"e-sharpen-", "e-sharpen: missing value (step 1)"},
    {"wx-3", "unknown parameter 'wx' (step 1)"},
    {"w-1:W-1", "unknown parameter 'W' (step 2)"},
    {"e", "unknown parameter 'e' (step 1)"},
    {"e-foo", "unknown parameter 'e-foo' (step 1)"},
    {"ik-t-1", "unknown parameter 'ik' (step 1)"},
    {" w-1", "unknown parameter ' w' (step 1)"},
    {"w-1\n", "control character 0x0a at byte 3 (step 1)"},
    {"w-1\x7f", "control character 0x7f at byte 3 (step 1)"},
    {"\xc3\xa9-1", "unknown parameter '?\?' (step 1)"},
    {"averyveryveryveryverylongkeyname-1",
     "unknown parameter 'averyveryveryveryverylon...' (step 1)"},
    /* numbers */
    {"w-0", "w: '0' is out of range (a fraction below 1, or 1-65535 px) (step 1)"},
    {"w-65536", "w: '65536' is out of range (a fraction below 1, or 1-65535 px) (step 1)"},
    {"h-70000", "h: '70000' is out of range (a fraction below 1, or 1-65535 px) (step 1)"},
    {"w-0.0000001", "w: '0.0000001' is out of range (a fraction below 1, or 1-65535 px) (step 1)"},
    {"w-N100", "w: 'N100' is out of range (a fraction below 1, or 1-65535 px) (step 1)"},
    {"w--5", "w: '-5' is not a number (negatives are written N5) (step 1)"},
    {"w-abc", "w: 'abc' is not a number or a variable (iw ih iar cw ch car bw bh bar) (step 1)"},
    {"w-1.", "w: '1.' is not a number or a variable (iw ih iar cw ch car bw bh bar) (step 1)"},
    {"w-.5", "w: '.5' is not a number or a variable (iw ih iar cw ch car bw bh bar) (step 1)"},
    {"w-1e3", "w: '1e3' is not a number or a variable (iw ih iar cw ch car bw bh bar) (step 1)"},
    {"w-+5", "w: '+5' is not a number or a variable (iw ih iar cw ch car bw bh bar) (step 1)"},
    {"w-1234567890", "w: '1234567890' is too long a number (9 digits before the point, 12 "
                     "after) (step 1)"},
    {"w-0.1234567890123", "w: '0.1234567890123' is too long a number (9 digits before the "
                          "point, 12 after) (step 1)"},
    {"h-auto", "h: 'auto' is not a number or a variable (iw ih iar cw ch car bw bh bar) (step 1)"},
    {"w-1_div_0", "w: '1_div_0' divides by zero or overflows (step 1)"},
    {"w-5_mod_0", "w: '5_mod_0' divides by zero or overflows (step 1)"},
    {"w-10_pow_400", "w: '10_pow_400' divides by zero or overflows (step 1)"},
    {"w-100_sub_100", "w: '100_sub_100' is out of range (a fraction below 1, or 1-65535 px) "
                      "(step 1)"},
    {"w-3_pow_N30", "w: '3_pow_N30' is out of range (a fraction below 1, or 1-65535 px) (step 1)"},
    {"w-1_mul_2_mul_3_mul_4_mul_5_mul_6_pow_7", "w: expression has more than 6 operands (step 1)"},
    {"w-iw_div", "w: expression ends with an operator (step 1)"},
    {"w-iw_div_", "w: expression has an empty operand (step 1)"},
    {"w-iw__2", "w: expression has an empty operator (step 1)"},
    {"w-_iw", "w: expression has an empty operand (step 1)"},
    {"w-iw_plus_2", "w: 'plus' is not an operator (add sub mul div mod pow) (step 1)"},
    {"w-iw_div_2_2", "w: '2' is not an operator (add sub mul div mod pow) (step 1)"},
    {"w-1_add_2_add_3_add_4_add_5_add_6_add_7", "w: expression has more than 6 operands (step 1)"},
    {"x-N1", "x: 'N1' is out of range (a fraction below 1, or 0-65535 px) (step 1)"},
    {"yc-65536", "yc: '65536' is out of range (a fraction below 1, or 0-65535 px) (step 1)"},
    /* ar */
    {"ar-4-0", "ar: '4-0' needs a width and a height above 0 (step 1)"},
    {"ar-N4-3", "ar: 'N4-3' needs a width and a height above 0 (step 1)"},
    {"ar-4-3-2", "ar: '4-3-2' is not W-H (ar-4-3) or an expression (step 1)"},
    {"ar-4:3", "unknown parameter '3' (step 2)"},
    {"ar-x-3", "ar: 'x-3' is not W-H (ar-4-3) or an expression (step 1)"},
    {"ar-0", "ar: '0' is out of range (1-65535 to 65535-1) (step 1)"},
    {"ar-1-70000", "ar: '1-70000' is out of range (1-65535 to 65535-1) (step 1)"},
    {"ar-1_div_65535_mul_1", "ar: '1_div_65535_mul_1' is out of range (1-65535 to 65535-1) "
                             "(step 1)"},
    {"ar-4_div_0", "ar: '4_div_0' needs a width and a height above 0 (step 1)"},
    {"ar-1_div_0_add_1", "ar: '1_div_0_add_1' divides by zero or overflows (step 1)"},
    /* words */
    {"c-fit", "c: 'fit' is not a crop (maintain_ratio force at_max at_max_enlarge at_least) "
              "(step 1)"},
    {"c-maintain_ratio_no_enlarge", "c: 'maintain_ratio_no_enlarge' is not supported yet (step "
                                    "1)"},
    {"cm-pad", "cm: 'pad' is not a crop mode (pad_resize extract pad_extract) (step 1)"},
    {"cm-pad_resize_no_enlarge", "cm: 'pad_resize_no_enlarge' is not supported yet (step 1)"},
    {"cm-pad_extract_no_shrink", "cm: 'pad_extract_no_shrink' is not supported yet (step 1)"},
    {"fo-car", "fo: 'car' is not a supported focus (a position such as top_left, auto or face) "
               "(step 1)"},
    {"fo-custom", "fo: 'custom' needs a focus area stored with the file, not supported (step 1)"},
    {"fo-Top", "fo: 'Top' is not a supported focus (a position such as top_left, auto or face) "
               "(step 1)"},
    {"fl-x", "fl: 'x' is not a flip (h v h_v v_h) (step 1)"},
    {"f-bmp", "f: 'bmp' is not a format (auto jpg jpeg png webp avif gif orig, or mp4 webm) "
              "(step 1)"},
    {"f-svg", "f: 'svg' is not supported: output is raster only (step 1)"},
    {"pr-yes", "pr: 'yes' is not true or false (step 1)"},
    {"orig-1", "orig: '1' is not true or false (step 1)"},
    /* whole numbers */
    {"q-0", "q: 0 is out of range 1-100 (step 1)"},
    {"q-101", "q: 101 is out of range 1-100 (step 1)"},
    {"q-50.5", "q: '50.5' is not a whole number (step 1)"},
    {"q-N5", "q: 'N5' is not a whole number (step 1)"},
    {"q-9999999999", "q: '9999999999' is too long a number (step 1)"},
    {"o-101", "o: 101 is out of range 0-100 (step 1)"},
    {"bl-0", "bl: 0 is out of range 1-100 (step 1)"},
    {"bl-101", "bl: 101 is out of range 1-100 (step 1)"},
    {"t-0", "t: 0 is out of range 1-99 (step 1)"},
    {"t-100", "t: 100 is out of range 1-99 (step 1)"},
    {"t-yes", "t: 'yes' is not a whole number (step 1)"},
    {"pg-0", "pg: 0 is out of range 1-10000 (step 1)"},
    {"pg-2-4", "pg: '2-4' is a page range, list or name, not supported (step 1)"},
    {"pg-1_3_5", "pg: '1_3_5' is a page range, list or name, not supported (step 1)"},
    {"r-0", "r: 0 is out of range 1-65535 (step 1)"},
    {"r-10_20_30_40",
     "r: '10_20_30_40' is per-corner radii or an expression, not supported yet (step 1)"},
    {"r-iw_div_2",
     "r: 'iw_div_2' is per-corner radii or an expression, not supported yet (step 1)"},
    {"r-circle", "r: 'circle' is not a whole number (step 1)"},
    /* decimals */
    {"z-0", "z: '0' is out of range 0-10 (above 0) (step 1)"},
    {"z-11", "z: '11' is out of range 0-10 (above 0) (step 1)"},
    {"dpr-0.05", "dpr: '0.05' is out of range 0.1-5 (step 1)"},
    {"dpr-6", "dpr: '6' is out of range 0.1-5 (step 1)"},
    {"rt-361", "rt: '361' is out of range N360-360 (step 1)"},
    {"rt-N400", "rt: 'N400' is out of range N360-360 (step 1)"},
    {"rt--90", "rt: '-90' is not a number (negatives are written N5) (step 1)"},
    {"rt-left", "rt: 'left' is not a number (step 1)"},
    {"e-sharpen-0", "e-sharpen: '0' is out of range 0-100 (above 0) (step 1)"},
    {"e-sharpen-101", "e-sharpen: '101' is out of range 0-100 (above 0) (step 1)"},
    {"e-usm-2-2-0.8", "e-usm: '2-2-0.8' is not <radius>-<sigma>-<amount>-<threshold> (step 1)"},
    {"e-usm-2-2-0.8-0.024-1", "e-usm: '2-2-0.8-0.024-1' is not <radius>-<sigma>-<amount>-<thres"
                              "hold> (step 1)"},
    {"e-usm-0-2-0.8-0.024", "e-usm: '0' is out of range 0-100 (above 0) (step 1)"},
    {"e-usm-2-2-0.8-2", "e-usm: '2' is out of range 0-1 (step 1)"},
    {"e-grayscale-5", "e-grayscale takes no value (step 1)"},
    {"e-contrast-false", "e-contrast takes no value (step 1)"},
    /* colours */
    {"bg-GG0000", "bg: 'GG0000' is not a colour (RRGGBB, RRGGBBAA, RGB or a CSS colour name) "
                  "(step 1)"},
    {"bg-FF00", "bg: 'FF00' is not a colour (RRGGBB, RRGGBBAA, RGB or a CSS colour name) (step "
                "1)"},
    {"bg-FF0000AF", "bg: 'FF0000AF' has an opacity (last two digits) outside 00-99 (step 1)"},
    {"bg-transparent", "bg: 'transparent' is not a colour (RRGGBB, RRGGBBAA, RGB or a CSS colour "
                       "name) (step 1)"},
    {"bg-blurred", "bg: 'blurred' is a blurred background, not supported yet (step 1)"},
    {"bg-blurred_25_N15", "bg: 'blurred_25_N15' is a blurred background, not supported yet (step "
                          "1)"},
    {"bg-dominant", "bg: 'dominant' is a dominant-colour background, not supported yet (step 1)"},
    {"bg-gradient_dominant_2", "bg: 'gradient_dominant_2' is a gradient background, not "
                               "supported yet (step 1)"},
    {"bg-genfill", "bg: 'genfill' is an AI transformation, not supported (step 1)"},
    {"bg-genfill-prompt-snow", "bg: 'genfill-prompt-snow' is an AI transformation, not supported "
                               "(step 1)"},
    {"b-5", "b: '5' is not <width>_<colour> (b-5_FF0000) (step 1)"},
    {"b-5_", "b: '' is not a colour (RRGGBB, RRGGBBAA, RGB or a CSS colour name) (step 1)"},
    {"b-0_red", "b: '0' is out of range 1-65535 px (step 1)"},
    {"b-_red", "b: expression has an empty operand (step 1)"},
    {"b-iw_div_2", "b: '2' is not a colour (RRGGBB, RRGGBBAA, RGB or a CSS colour name) (step 1)"},
    /* refused keys */
    /* layers: where keys may stand, inputs, nesting, pools */
    {"lx-10", "lx: only inside a layer (l-image or l-text ... l-end) (step 1)"},
    {"fs-20", "fs: only inside a layer (l-image or l-text ... l-end) (step 1)"},
    {"ie-SGk=", "ie: only inside a layer (l-image or l-text) (step 1)"},
    {"i-a.png", "i: only inside a layer (l-image or l-text) (step 1)"},
    {"l-end", "l-end without l-image or l-text (step 1)"},
    {"l-", "l: missing value (step 1)"},
    {"l", "l: missing value (step 1)"},
    {"l-video,i-a.mp4,l-end", "l-video: video layers are not supported (step 1)"},
    {"l-photo,i-a.png,l-end", "l: 'photo' is not a layer type (image text) (step 1)"},
    {"l-image,i-a.png", "l-image: not closed by l-end (step 1)"},
    {"l-text,i-Hi:w-10", "l-text: a text layer has one step (no ':' inside) (step 1)"},
    {"l-image,w-10,l-end", "l-image: needs its input, i- or ie- (step 1)"},
    {"l-image,i-a.png,i-b.png,l-end", "i: the layer's input is given twice (step 1)"},
    {"l-image,i-a.png:i-b.png,l-end", "i: only in a layer's first step (step 2)"},
    {"l-image,i-a.png:lx-10,l-end", "lx: only in a layer's first step (step 2)"},
    {"l-image,i-a.png,fs-10,l-end", "fs: only in a text layer (step 1)"},
    {"l-text,i-Hi,e-grayscale,l-end", "e-grayscale: not in a text layer (step 1)"},
    {"l-image,i-a.png,q-50,l-end", "q: applies to the whole image, not inside a layer (step 1)"},
    {"l-image,i-a.png,di-b.jpg,l-end", "di: not inside a layer or a conditional (step 1)"},
    {"l-image,i-a.png,n-thumb,l-end", "n: not inside a layer or a conditional (step 1)"},
    {"l-image,i-../a.png,l-end",
     "i-: the layer's image is not a clean relative path of at most 511 bytes (step 1)"},
    {"l-image,ie-!!,l-end",
     "ie-: not base64, or longer than the room left for inputs (2048 bytes) (step 1)"},
    {"l-text,ie-/w==,l-end", "i-: a text layer's text is UTF-8 text of 1-1000 bytes (step 1)"},
    {"l-text,i-%01,l-end", "i-: a text layer's text is UTF-8 text of 1-1000 bytes (step 1)"},
    {"l-text,i-%zz,l-end", "i-: a bad percent escape (step 1)"},
    {"l-image,i-ik_canvas,w-10,l-end",
     "i-ik_canvas: needs w- and h- in the layer's first step (step 1)"},
    {"l-text,i-Hi,l-image,i-a.png,l-end,l-end", "l-: a text layer cannot hold layers (step 1)"},
    {"l-image,i-a,l-image,i-b,l-image,i-c,l-image,i-d,l-end,l-end,l-end,l-end",
     "l-: layers nest at most 3 deep (step 1)"},
    {"l-text,i-Hi,lx-a,l-end", "lx: 'a' is not a number or a variable (iw ih iar cw ch car bw bh "
                               "bar) (step 1)"},
    {"l-text,i-Hi,lx-N65536,l-end", "lx: 'N65536' is out of range N65535-65535 px (step 1)"},
    {"l-text,i-Hi,fs-0,l-end", "fs: '0' is out of range 1-1000 px (step 1)"},
    {"l-text,i-Hi,fs-1001,l-end", "fs: '1001' is out of range 1-1000 px (step 1)"},
    {"l-text,i-Hi,al-10,l-end", "al: 10 is out of range 1-9 (step 1)"},
    {"l-text,i-Hi,al-0,l-end", "al: 0 is out of range 1-9 (step 1)"},
    {"l-text,i-Hi,lfo-auto,l-end", "lfo: 'auto' is not a layer position (center top left bottom "
                                   "right top_left top_right bottom_left bottom_right) (step 1)"},
    {"l-text,i-Hi,tg-u,l-end", "tg: 'u' is not a typography (b i b_i) (step 1)"},
    {"l-text,i-Hi,ia-justify,l-end",
     "ia: 'justify' is not an alignment (left center right) (step 1)"},
    {"l-text,i-Hi,ff-Roboto,l-end", "ff: 'Roboto' is not an installed font (DejaVuSans DejaVuSerif "
                                    "DejaVuSansMono NotoSansCJK NotoSerifCJK) (step 1)"},
    {"l-text,i-Hi,ff-a.txt,l-end", "ff: a font file is a clean relative path to a .ttf, .otf or "
                                   ".ttc file (step 1)"},
    {"l-text,i-Hi,ff-..@@a.ttf,l-end", "ff: a font file is a clean relative path to a .ttf, .otf "
                                       "or .ttc file (step 1)"},
    {"l-text,i-Hi,ff-a%20b.ttf,l-end",
     "ff: a font file's path takes letters, digits, . _ - and @@ only (step 1)"},
    {"l-text,i-Hi,if-w_gt_1,ff-a.ttf,if-end,l-end",
     "ff: a font file is not taken inside a conditional (step 1)"},
    {"l-text,i-Hi,ff-a.ttf,ff-b.ttf,l-end", "ff: given twice in one step (step 1)"},
    {"l-text,i-Hi,pa-1_2_3_4_5,l-end",
     "pa: '1_2_3_4_5' has more than 4 values (top right bottom left) (step 1)"},
    {"l-text,i-Hi,pa-1001,l-end", "pa: 1001 is out of range 0-1000 (step 1)"},
    {"l-text,i-Hi,co-nope,l-end",
     "co: 'nope' is not a colour (RRGGBB, RRGGBBAA, RGB or a CSS colour name) (step 1)"},
    {"l-text,i-Hi,lh-N1,l-end", "lh: 'N1' is not a whole number (step 1)"},
    {"l-image,i-a.png,lap-center,l-end", "lap is not supported (step 1)"},
    {"l-image,i-a.png,lso-5,l-end", "lso is a video layer parameter, not supported (step 1)"},
    /* conditionals */
    {"if-w_gt_400,w-300", "if-: not closed by if-end (step 1)"},
    {"if-w_gt_400,w-300:h-10", "if-: not closed by if-end (step 1)"},
    {"if-else", "if-else without if- (step 1)"},
    {"if-end", "if-end without if- (step 1)"},
    {"if-w_gt_1,if-else,if-else,if-end", "if-else without if- (step 1)"},
    {"if-w_gt_1,if-h_gt_1,if-end,if-end",
     "if-: one conditional per step (this one has one) (step 1)"},
    {"if-w_gt_1,if-end,if-h_gt_1,if-end",
     "if-: one conditional per step (this one has one) (step 1)"},
    {"if-x_gt_1,if-end", "if-: 'x' is not a property (w h ar iw ih iar) (step 1)"},
    {"if-w_gtx_1,if-end", "if-: 'gtx' is not a comparison (eq ne gt gte lt lte) (step 1)"},
    {"if-w_gt,if-end", "if-: a condition without a value (step 1)"},
    {"if-w_gt_abc,if-end",
     "if-: 'abc' is not a number or a variable (iw ih iar cw ch car bw bh bar) (step 1)"},
    {"if-ar_lt_4-0,if-end", "if-: '4-0' is not W-H (ar_lt_4-3) (step 1)"},
    {"if-w_gt_1_and_h_gt_1_and_w_gt_2_and_h_gt_2,if-end",
     "if-: more than 3 conditions joined (step 1)"},
    {"w-10,if-w_gt_1,w-20,if-end", "w: given twice in one step (step 1)"},
    {"if-w_gt_1,w-20,if-end,w-10", "w: given twice in one step (step 1)"},
    {"if-w_gt_1,q-50,if-end", "q: applies to the whole image, not inside a conditional (step 1)"},
    {"if-w_gt_1,di-a.jpg,if-end", "di: not inside a layer or a conditional (step 1)"},
    {"if-w_gt_1,l-image,i-a.png,if-end,l-end", "if-end without if- (step 1)"},
    {"if-w_gt_1,l-image,i-a.png,l-end", "if-: not closed by if-end (step 1)"},
    {"h-50,if-w_gt_300,h-50,if-end", "h: given twice in one step (step 1)"},
    {"e-bgremove", "e-bgremove is an AI transformation, not supported (step 1)"},
    {"e-removedotbg", "e-removedotbg is an AI transformation, not supported (step 1)"},
    {"e-changebg-prompt-snow", "e-changebg is an AI transformation, not supported (step 1)"},
    {"e-edit-prompt-x", "e-edit is an AI transformation, not supported (step 1)"},
    {"e-dropshadow", "e-dropshadow is an AI transformation, not supported (step 1)"},
    {"e-retouch", "e-retouch is an AI transformation, not supported (step 1)"},
    {"e-upscale", "e-upscale is an AI transformation, not supported (step 1)"},
    {"e-genvar", "e-genvar is an AI transformation, not supported (step 1)"},
    {"e-shadow", "e-shadow is not supported (step 1)"},
    {"e-shadow-bl-15_st-40_x-10_y-N5", "e-shadow is not supported (step 1)"},
    {"e-gradient", "e-gradient is not supported (step 1)"},
    {"e-distort-a-30", "e-distort is not supported (step 1)"},
    {"e-colorize-co-red", "e-colorize is not supported (step 1)"},
    {"cr-red", "cr (colour replace) is not supported (step 1)"},
    {"dn-300", "dn (vector density) is not supported (step 1)"},
    /* video */
    {"so-N1", "so: 'N1' is out of range 0-86400 s (step 1)"},
    {"so-86401", "so: '86401' is out of range 0-86400 s (step 1)"},
    {"so-abc", "so: 'abc' is not a number of seconds (step 1)"},
    {"so-iw_div_2", "so: 'iw_div_2' is not a number of seconds (step 1)"},
    {"so-1_div_0", "so: '1_div_0' divides by zero or overflows (step 1)"},
    {"so-", "so: missing value (step 1)"},
    {"so-1,so-2", "so: given twice in one step (step 1)"},
    {"eo-0", "eo: '0' is out of range 0-86400 s (above 0) (step 1)"},
    {"du-0", "du: '0' is out of range 0-86400 s (above 0) (step 1)"},
    {"du-N5", "du: 'N5' is out of range 0-86400 s (above 0) (step 1)"},
    {"vc-h265", "vc: 'h265' is not a video codec (h264 vp9 av1 none) (step 1)"},
    {"ac-mp3", "ac: 'mp3' is not an audio codec (aac opus none) (step 1)"},
    {"sr-250", "sr: '250' is not a rendition height (240 360 480 720 1080 1440 2160) (step 1)"},
    {"sr-240_", "sr: '240_' has an empty height (step 1)"},
    {"sr-240__360", "sr: '240__360' has an empty height (step 1)"},
    {"sr-240_x", "sr: 'x' is not a whole number (step 1)"},
    {"sr-N240", "sr: 'N240' is not a whole number (step 1)"},
    {"f-mkv", "f: 'mkv' is not a format (auto jpg jpeg png webp avif gif orig, or mp4 webm) "
              "(step 1)"},
    {"oi-logo.png", "oi is a removed ImageKit overlay parameter: use l-image,i-PATH,...,l-end or "
                    "l-text,i-TEXT,...,l-end (step 1)"},
    {"ot-hello", "ot is a removed ImageKit overlay parameter: use l-image,i-PATH,...,l-end or "
                 "l-text,i-TEXT,...,l-end (step 1)"},
    /* default image */
    {"di-", "di: missing value (step 1)"},
    {"di-@@", "di: '@@' is not a clean relative path (step 1)"},
    {"di-a@@..@@b", "di: 'a@@..@@b' is not a clean relative path (step 1)"},
    {"di-..", "di: '..' is not a clean relative path (step 1)"},
    {"di-a/./b", "di: 'a/./b' is not a clean relative path (step 1)"},
    {"di-a@@@@b", "di: 'a@@@@b' is not a clean relative path (step 1)"},
    {"di-a@@", "di: 'a@@' is not a clean relative path (step 1)"},
    {"di-a@/b", "di: 'a@/b' is not a clean relative path (step 1)"},
    {"di-a.jpg:di-b.jpg", "di: a default image is given twice (step 2)"},
    /* named */
    {"n-unknown", "n: 'unknown' is not a known named transformation (step 1)"},
    {"n-", "n: missing value (step 1)"},
    {"n-bad", "q: 0 is out of range 1-100 (step 2 of n-bad)"},
    {"n-nested", "n: 'thumb' is named inside a named transformation, which is not allowed (step 1 "
                 "of n-nested)"},
    {"n-thumb,w-300", "w: given twice in one step (step 1)"},
    {"w-300,n-thumb", "w: given twice in one step (step 1 of n-thumb)"},
    {"w-1:n-with-di,di-x.jpg", "di: a default image is given twice (step 2)"},
};

/* s with control and non-ASCII bytes as \xNN, for test names (TAP lines stay lines). */
static const char *esc(const char *s)
{
    static char buf[256];
    size_t n = 0;

    for (; *s && n + 5 < sizeof(buf); s++) {
        unsigned char c = (unsigned char)*s;

        if (c < 0x20 || c >= 0x7f)
            n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\\x%02x", c);
        else
            buf[n++] = (char)c;
    }
    buf[n] = '\0';
    return buf;
}

static void test_bads(void)
{
    struct tr_chain c;
    char err[TR_ERR_LEN];

    for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
        ok(parse(bads[i].in, &c, err) == -EINVAL, "refuses '%s'", esc(bads[i].in));
        ok_str(err, bads[i].err, "message for '%s'", esc(bads[i].in));
    }
}

/* ---- Round trip: the canonical text parses back to itself ------------------------------------ */

static void test_round_trip(void)
{
    struct tr_chain c;
    char err[TR_ERR_LEN], first[TR_CANONICAL_MAX];
    int failed = 0;

    for (size_t i = 0; i < sizeof(goods) / sizeof(goods[0]); i++) {
        if (parse(goods[i].in, &c, err))
            continue;
        snprintf(first, sizeof(first), "%s", canonical(&c));
        if (parse(first, &c, err) || strcmp(canonical(&c), first) != 0) {
            printf("#   '%s' -> '%s' -> '%s'\n", goods[i].in, first, err[0] ? err : canonical(&c));
            failed++;
        }
    }
    ok(failed == 0, "every canonical text parses back to itself (%d failed)", failed);
}

/* Every order of the params of a step gives one canonical text (Heap's algorithm). */
static void test_permutations(void)
{
    const char *param[] = {"w-300", "h-200", "c-at_least", "fo-top", "q-50", "bg-red", "r-20"};
    enum { N = sizeof(param) / sizeof(param[0]) };
    const char *want = "w-300,h-200,c-at_least,fo-top,bg-FF0000,r-20,q-50";
    unsigned cnt[N] = {0}, i = 0, perms = 1, same = 0;
    char text[256], err[TR_ERR_LEN];
    struct tr_chain c;

    do {
        text[0] = '\0';
        for (unsigned k = 0; k < N; k++)
            snprintf(text + strlen(text), sizeof(text) - strlen(text), "%s%s", k ? "," : "",
                     param[k]);
        same += parse(text, &c, err) == 0 && strcmp(canonical(&c), want) == 0;
        while (i < N && cnt[i] >= i)
            cnt[i++] = 0;
        if (i < N) {
            const char *t = param[i % 2 ? cnt[i] : 0];

            param[i % 2 ? cnt[i] : 0] = param[i];
            param[i] = t;
            cnt[i]++;
            i = 0;
            perms++;
        }
    } while (i < N);
    ok(perms == 5040 && same == perms, "all %u orders of 7 params give '%s' (%u did)", perms, want,
       same);
}

/* ---- Struct contents ------------------------------------------------------------------------- */

static const struct tr_step *step1(const char *in, struct tr_chain *c)
{
    char err[TR_ERR_LEN];
    static const struct tr_step none;

    if (parse(in, c, err) || c->nsteps < 1) {
        printf("#   '%s': %s\n", in, err);
        return &none;
    }
    return &c->step[0];
}

static void test_fields(void)
{
    struct tr_chain c;
    const struct tr_step *s;

    s = step1("w-0.4,h-iw_div_2", &c);
    ok(s->w.kind == TR_NUM_LITERAL && s->w.nops == 1 && s->w.value[0] == 0.4,
       "w-0.4 is the literal fraction 0.4");
    ok(s->h.kind == TR_NUM_EXPR && s->h.nops == 2 && s->h.var[0] == TR_VAR_IW &&
           s->h.op[0] == TR_OP_DIV && s->h.value[1] == 2,
       "h-iw_div_2 is iw div 2");
    ok(tr_step_has(s, TR_W) && tr_step_has(s, TR_H) && !tr_step_has(s, TR_AR) &&
           s->has == ((1u << TR_W) | (1u << TR_H)),
       "has says w and h only");
    s = step1("w-auto,dpr-auto", &c);
    ok(s->w.kind == TR_NUM_AUTO && s->dpr.kind == TR_NUM_AUTO, "w-auto and dpr-auto are auto");
    s = step1("ar-4-3,w-10", &c);
    ok(s->ar.kind == TR_NUM_EXPR && s->ar.value[0] == 4 && s->ar.op[0] == TR_OP_DIV &&
           s->ar.value[1] == 3,
       "ar-4-3 is 4 div 3");
    s = step1("c-at_max_enlarge,cm-pad_extract,fo-face,fl-v_h,f-jpg", &c);
    ok(s->crop == TR_CROP_AT_MAX_ENLARGE && s->crop_mode == TR_CM_PAD_EXTRACT &&
           s->focus == TR_FO_FACE && s->flip == TR_FLIP_HV && s->format == TR_FMT_JPEG,
       "words map to their enums");
    s = step1("rt-N90,t-true,o-30,bl-7,pg-3,q-55,z-1.25", &c);
    ok(s->rotate == 270 && s->trim == 10 && s->opacity == 30 && s->blur == 7 && s->page == 3 &&
           s->quality == 55 && s->zoom == 1.25,
       "numbers land in their fields");
    s = step1("rt-auto,w-1", &c);
    ok(s->rotate_auto && !tr_step_has(s, TR_RT), "rt-auto changes nothing: not marked as given");
    s = step1("t-false,w-1", &c);
    ok(!tr_step_has(s, TR_T), "t-false sets nothing");
    s = step1("bg-FF000050,b-3_0000FF", &c);
    ok(s->bg.r == 255 && s->bg.g == 0 && s->bg.b == 0 && s->bg.a == 129,
       "bg-FF000050: red at 50%% opacity is alpha 129");
    ok(s->border_width.value[0] == 3 && s->border_color.b == 255 && s->border_color.a == 255,
       "b-3_0000FF: 3 px of opaque blue");
    s = step1("r-max,e-sharpen,e-usm", &c);
    ok(s->radius_max && s->radius.kind == TR_NUM_UNSET && s->sharpen == 30,
       "r-max, e-sharpen bare (strength 30)");
    ok(s->usm[0] == 2 && s->usm[1] == 2 && s->usm[2] == 0.8 && s->usm[3] == 0.024,
       "bare e-usm takes 2-2-0.8-0.024");
    s = step1("e-usm-1.5-0.5-3-0.1,r-12", &c);
    ok(s->usm[0] == 1.5 && s->usm[1] == 0.5 && s->usm[2] == 3 && s->usm[3] == 0.1 &&
           s->radius.value[0] == 12,
       "e-usm-1.5-0.5-3-0.1 and r-12");
    s = step1("pr-true,lo-true,md-true,cp-true", &c);
    ok(s->progressive && s->lossless && s->metadata && s->color_profile, "flags true");
    s = step1("di-@@a@@b@@c.jpg,w-5", &c);
    ok_str(c.default_image, "a/b/c.jpg", "di: '@@' made '/', leading one dropped");
    ok(c.nsteps == 1, "a step with only di- adds no step");
}

/* ---- Expressions ----------------------------------------------------------------------------- */

static void test_eval(void)
{
    static const struct {
        const char *expr;
        double want; /* NAN: -EINVAL */
    } t[] = {
        {"iw", 1000},
        {"iw_div_2", 500},
        {"iw_add_ih_mul_2", 2000},  /* mul before add */
        {"iw_sub_ih_div_5", 900},   /* div before sub */
        {"iw_sub_ih_sub_100", 400}, /* left to right */
        {"iw_div_2_div_5", 100},    /* left to right */
        {"iw_mod_300_add_4", 88},   /* add before mod: 1000 mod 304 */
        {"ch_pow_1_add_1", 40000},  /* add before pow: 200^2 */
        {"cw_pow_2_mod_3", 160000}, /* mod before pow: 400^(2 mod 3)... */
        {"iw_mod_7_pow_2", 36},     /* ...(1000 mod 7)^2 */
        {"iar_mul_100", 200},       /* 1000/500 */
        {"car_mul_ch", 400},        /* 2*200 */
        {"iw_add_N10", 990},        /* N is a negative literal */
        {"iw_mul_0.5_add_ih_div_4_sub_cw", 225},
        {"iw_div_0", NAN},
        {"iw_mod_0", NAN},
        {"iw_sub_ih_div_ch_sub_ch_div_ch", 996.5},
        {"iw_sub_2000_pow_0.5", NAN}, /* the square root of -1000 */
        {"iw_pow_iw", NAN},           /* overflows */
    };
    const struct tr_vars v = {.iw = 1000, .ih = 500, .cw = 400, .ch = 200};
    const struct tr_vars zero = {.iw = 1000, .ih = 0, .cw = 400, .ch = 0};
    struct tr_chain c;
    char in[64], err[TR_ERR_LEN];
    double got;

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        snprintf(in, sizeof(in), "w-%s", t[i].expr);
        if (!ok(parse(in, &c, err) == 0, "parses %s", in))
            continue;
        if (isnan(t[i].want))
            ok(tr_num_eval(&c.step[0].w, &v, &got) == -EINVAL, "%s fails to evaluate", t[i].expr);
        else
            ok(tr_num_eval(&c.step[0].w, &v, &got) == 0 && fabs(got - t[i].want) < 1e-9,
               "%s = %g (got %g)", t[i].expr, t[i].want, got);
    }
    parse("w-iar_mul_2,h-car", &c, err);
    ok(tr_num_eval(&c.step[0].w, &zero, &got) == -EINVAL, "iar with ih 0 fails to evaluate");
    ok(tr_num_eval(&c.step[0].h, &zero, &got) == -EINVAL, "car with ch 0 fails to evaluate");
    ok(tr_num_eval(&c.step[0].ar, &v, &got) == -EINVAL, "an unset number fails to evaluate");
    parse("w-auto", &c, err);
    ok(tr_num_eval(&c.step[0].w, &v, &got) == -EINVAL, "auto fails to evaluate");
    parse("w-0.25", &c, err);
    ok(tr_num_eval(&c.step[0].w, NULL, &got) == 0 && got == 0.25, "a literal needs no variables");
    parse("w-1_add_2_add_3_add_4_add_5_add_6", &c, err);
    ok_str(canonical(&c), "w-21", "6 operands are allowed, and computed when constant");
}

/* ---- Caps ------------------------------------------------------------------------------------ */

/* n copies of unit joined by sep, into buf. */
static const char *repeat(char *buf, size_t cap, const char *unit, char sep, unsigned n)
{
    size_t len = 0;

    buf[0] = '\0';
    for (unsigned i = 0; i < n && len + strlen(unit) + 2 < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%s", i ? (char[2]){sep, 0} : "", unit);
    return buf;
}

static void test_caps_counts(void)
{
    static char text[TR_MAX_TEXT + 64];
    static const char *const keys[] = {
        "w-1",     "h-1",  "ar-1-1", "c-force", "cm-extract",  "fo-top",     "z-2",       "x-1",
        "y-1",     "xc-1", "yc-1",   "dpr-2",   "rt-1",        "fl-h",       "t-5",       "bg-red",
        "b-1_red", "r-1",  "bl-1",   "o-1",     "e-grayscale", "e-contrast", "e-sharpen", "e-usm"};
    struct tr_chain c;
    char err[TR_ERR_LEN];

    ok(parse(repeat(text, sizeof(text), "rt-90", ':', TR_MAX_STEPS), &c, err) == 0 &&
           c.nsteps == TR_MAX_STEPS,
       "%d steps are allowed", TR_MAX_STEPS);
    ok(parse(repeat(text, sizeof(text), "rt-90", ':', TR_MAX_STEPS + 1), &c, err) == -EINVAL,
       "%d steps are not", TR_MAX_STEPS + 1);
    ok_str(err, "more than 8 steps (step 9)", "message for too many steps");
    ok(parse(repeat(text, sizeof(text), "n-two", ':', 5), &c, err) == -EINVAL,
       "named transformations count after expansion");
    ok_str(err, "more than 8 steps (step 1 of n-two)", "message for too many expanded steps");
    ok(parse(repeat(text, sizeof(text), "", ':', 100), &c, err) == 0 && c.nsteps == 0,
       "empty steps do not count");

    text[0] = '\0';
    for (unsigned i = 0; i < TR_MAX_PARAMS; i++)
        snprintf(text + strlen(text), sizeof(text) - strlen(text), "%s%s", i ? "," : "", keys[i]);
    ok(parse(text, &c, err) == 0 && c.step[0].has == (UINT64_C(1) << (TR_E_USM + 1)) - 1,
       "%d params in one step are allowed: %s", TR_MAX_PARAMS, err);
    snprintf(text + strlen(text), sizeof(text) - strlen(text), ",pg-2");
    ok(parse(text, &c, err) == -EINVAL, "%d are not", TR_MAX_PARAMS + 1);
    ok_str(err, "more than 24 parameters in one step (step 1)", "message for too many params");
}

static void test_caps_sizes(void)
{
    static char text[TR_MAX_TEXT + 64];
    const char *head = "c: 'a-rather-long-value-for-...' is not a crop";
    const char *tail = " (step 1 of n-a-rather-long-name-for-a...)";
    struct tr_chain c;
    char err[TR_ERR_LEN];
    size_t len;

    /* TR_MAX_TEXT bytes exactly: "w-1" then ":" padding; one more byte is refused */
    memset(text, ':', TR_MAX_TEXT);
    memcpy(text, "w-1", 3);
    text[TR_MAX_TEXT] = '\0';
    ok(parse(text, &c, err) == 0 && c.nsteps == 1, "%d bytes are allowed", TR_MAX_TEXT);
    text[TR_MAX_TEXT] = ':';
    text[TR_MAX_TEXT + 1] = '\0';
    ok(parse(text, &c, err) == -EINVAL, "%d bytes are not", TR_MAX_TEXT + 1);
    ok_str(err, "transformation is longer than 2048 bytes", "message for too long a text");

    /* di: 511 bytes of path fit TR_MAX_PATH with its NUL, 512 do not */
    memset(text, 'a', sizeof(text));
    memcpy(text, "di-", 3);
    text[3 + TR_MAX_PATH - 1] = '\0';
    ok(parse(text, &c, err) == 0 && strlen(c.default_image) == TR_MAX_PATH - 1,
       "a %d-byte default image path is allowed", TR_MAX_PATH - 1);
    text[3 + TR_MAX_PATH - 1] = 'a';
    text[3 + TR_MAX_PATH] = '\0';
    ok(parse(text, &c, err) == -EINVAL && strstr(err, "is longer than 511 bytes (step 1)"),
       "a %d-byte one is not: %s", TR_MAX_PATH, err);

    /* the longest messages are cut before the place, which always shows */
    ok(parse("n-a-rather-long-name-for-a-transformation", &c, err) == -EINVAL,
       "a bad value in a long-named transformation is refused");
    len = strlen(err);
    ok(len == TR_ERR_LEN - 1 && strcmp(err + len - strlen(tail), tail) == 0 &&
           strncmp(err, head, strlen(head)) == 0,
       "a long message fits TR_ERR_LEN, its place intact: %s", err);
}

/* ---- Inputs are views: never read past len --------------------------------------------------- */

static void test_lengths(void)
{
    static const char *const cut[] = {
        "w-",      "w-1.",   "e-",       "e",      "di-@",     "b-5_",    "ar-4-",
        "bg-FF00", "w-iw_d", "n-",       "n-thum", "e-usm-2-", "rt-N",    "q-",
        "fo-top_", "f-jp",   "w-1:h-1,", "l-",     "t-tru",    "di-a@@b", "w-0.",
    };
    const char *full = "w-300,h-200:rt-90";
    struct tr_chain c;
    char err[TR_ERR_LEN];
    int rc;

    for (size_t i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
        rc = parse(cut[i], &c, err);
        ok(rc == 0 || (rc == -EINVAL && err[0]), "'%s' at the page edge: %s", cut[i],
           rc ? err : "ok");
    }
    tr_chain_init(&c);
    ok(tr_parse(&c, check_guard(full, 5), 5, NULL, err) == 0 && c.nsteps == 1 &&
           strcmp(canonical(&c), "w-300") == 0,
       "only len bytes are read: '%s'", canonical(&c));
    tr_chain_init(&c);
    ok(tr_parse(&c, full, 0, NULL, err) == 0 && tr_chain_is_empty(&c), "len 0 is an empty chain");
    tr_chain_init(&c);
    ok(tr_parse(&c, NULL, 0, NULL, err) == 0 && tr_chain_is_empty(&c), "NULL, 0 is too");
    tr_chain_init(&c);
    ok(tr_parse(&c, check_guard("n-thumb", 7), 7, NULL, err) == -EINVAL &&
           strcmp(err, "n: 'thumb' is not a known named transformation (step 1)") == 0,
       "without names, n- is unknown: %s", err);
}

/* ---- The chain API --------------------------------------------------------------------------- */

static void test_chain(void)
{
    struct tr_chain c;
    struct tr_output out;
    char err[TR_ERR_LEN];

    tr_chain_init(&c);
    ok(tr_chain_is_empty(&c) && !tr_chain_wants_original(&c), "a new chain is empty");
    tr_chain_output(&c, &out);
    ok(out.format == TR_FMT_AUTO && out.quality == 80 && !out.progressive && !out.lossless &&
           !out.metadata && !out.color_profile,
       "defaults: f-auto, q-80, flags false");
    ok(tr_format_varies(&c), "f-auto varies with Accept");

    parse("q-50,f-png,pr-true:w-10,q-60:pr-false,lo-true", &c, err);
    tr_chain_output(&c, &out);
    ok(out.format == TR_FMT_PNG && out.quality == 60 && !out.progressive && out.lossless,
       "the last step that sets a key wins");
    ok(!tr_format_varies(&c) && !tr_chain_is_empty(&c), "an explicit f- does not vary");

    parse("f-orig", &c, err);
    ok(!tr_format_varies(&c), "f-orig does not vary");
    parse("w-10:orig-true", &c, err);
    ok(tr_chain_wants_original(&c) && !tr_format_varies(&c), "orig-true wants the original");
    parse("orig-false", &c, err);
    ok(!tr_chain_wants_original(&c) && tr_chain_is_empty(&c), "orig-false does not");
    parse("di-x.jpg", &c, err);
    ok(!tr_chain_is_empty(&c) && c.nsteps == 0, "a default image alone is not empty");

    /* path steps, then query steps, into one chain */
    tr_chain_init(&c);
    ok(tr_parse(&c, "w-100,h-100", 11, &names, err) == 0 &&
           tr_parse(&c, "rt-90,q-40", 10, &names, err) == 0 && c.nsteps == 2,
       "a second call appends its steps");
    ok_str(canonical(&c), "w-100,h-100:rt-90,q-40", "path then query");
    ok(tr_parse(&c, "di-a.jpg", 8, NULL, err) == 0 && tr_parse(&c, "di-b.jpg", 8, NULL, err) < 0,
       "one default image per chain, across calls: %s", err);

    ok_str(tr_format_name(TR_FMT_JPEG), "jpeg", "format name");
    ok_str(tr_format_name(TR_FMT_AUTO), "auto", "format name of auto");
    ok_str(tr_format_mime(TR_FMT_WEBP), "image/webp", "mime of webp");
    ok_str(tr_format_mime(TR_FMT_AVIF), "image/avif", "mime of avif");
    ok_str(tr_format_mime(TR_FMT_JPEG), "image/jpeg", "mime of jpeg");
    ok_str(tr_format_mime(TR_FMT_PNG), "image/png", "mime of png");
    ok_str(tr_format_mime(TR_FMT_GIF), "image/gif", "mime of gif");
    ok_str(tr_format_mime(TR_FMT_ORIG), "application/octet-stream", "mime of orig");
}

/* ---- Colours --------------------------------------------------------------------------------- */

static void test_colors(void)
{
    struct tr_color col;
    struct str s;
    const char *name, *prev = "";
    uint32_t rgb;
    size_t n = 0;
    int wrong = 0, alpha_wrong = 0;
    char buf[16];
    struct tr_outbuf o;

    for (name = tr_color_name_at(0, &rgb); name; name = tr_color_name_at(++n, &rgb)) {
        s = (struct str){check_guard(name, strlen(name)), strlen(name)};
        if (strcmp(prev, name) >= 0 || tr_color_parse(s, &col) ||
            (uint32_t)(col.r << 16 | col.g << 8 | col.b) != rgb || col.a != 255)
            wrong++;
        prev = name;
    }
    ok(n == 148 && wrong == 0, "148 CSS colour names, sorted, each parses (%d wrong)", wrong);
    for (int aa = 0; aa <= 99; aa++) {
        char in[24], want[24];

        snprintf(in, sizeof(in), "123456%02d", aa);
        snprintf(want, sizeof(want), aa == 99 ? "123456" : "123456%02d", aa);
        s = (struct str){check_guard(in, 8), 8};
        o = (struct tr_outbuf){buf, sizeof(buf), 0, false};
        if (tr_color_parse(s, &col)) {
            alpha_wrong++;
            continue;
        }
        tr_out_color(&o, &col);
        alpha_wrong += strcmp(buf, want) != 0;
    }
    ok(alpha_wrong == 0, "every opacity 00-99 maps to an alpha and back (%d wrong)", alpha_wrong);
}

/* ---- Canonical text bounds ------------------------------------------------------------------- */

static void fill_num(struct tr_num *n)
{
    n->kind = TR_NUM_EXPR;
    n->nops = TR_MAX_EXPR;
    for (unsigned i = 0; i < TR_MAX_EXPR; i++)
        n->value[i] = -999999999.999999;
    for (unsigned i = 0; i + 1 < TR_MAX_EXPR; i++)
        n->op[i] = TR_OP_MUL;
}

static void test_canonical_bounds(void)
{
    static struct tr_chain c;
    static char big[TR_CANONICAL_MAX];
    char small[8];
    int len;

    for (unsigned i = 0; i < TR_MAX_STEPS; i++) {
        struct tr_step *s = &c.step[i];

        s->has = ((uint64_t)1 << TR_ORIG) - 1;
        fill_num(&s->w), fill_num(&s->h), fill_num(&s->ar), fill_num(&s->x), fill_num(&s->y);
        fill_num(&s->xc), fill_num(&s->yc), fill_num(&s->dpr), fill_num(&s->border_width);
        fill_num(&s->radius);
        s->crop = TR_CROP_AT_MAX_ENLARGE, s->crop_mode = TR_CM_PAD_EXTRACT;
        s->focus = TR_FO_BOTTOM_RIGHT, s->zoom = s->rotate = s->blur = s->sharpen = 99.999999;
        s->usm[0] = s->usm[1] = s->usm[2] = 99.999999, s->usm[3] = 0.999999;
        s->flip = TR_FLIP_HV, s->trim = 99, s->opacity = 99, s->page = 10000, s->quality = 99;
        s->bg = s->border_color = (struct tr_color){1, 2, 3, 4};
        s->format = TR_FMT_JPEG, s->progressive = s->lossless = s->metadata = true;
        s->color_profile = true;
    }
    c.nsteps = TR_MAX_STEPS;
    memset(c.default_image, '/', TR_MAX_PATH - 1);
    len = tr_canonical(&c, big, sizeof(big));
    ok(len > 0 && (size_t)len == strlen(big) && len < TR_CANONICAL_MAX,
       "the largest chain's canonical text (%d bytes) fits TR_CANONICAL_MAX", len);
    ok(tr_canonical(&c, small, sizeof(small)) == -ENOSPC && strlen(small) < sizeof(small),
       "a small buffer gives -ENOSPC, NUL-terminated");
    ok(tr_canonical(&c, small, 0) == -ENOSPC, "so does an empty one");
}

/* The descriptor table: one complete row per key, no name twice, and every row's default is
 * a value its parser takes and that leaves the canonical text empty. */
static void test_table(void)
{
    int incomplete = 0, twice = 0, dflt_wrong = 0;
    struct tr_chain c;
    char err[TR_ERR_LEN], text[64];

    for (int k = 0; k < TR_KEY_COUNT; k++) {
        const struct tr_key_def *d = &tr_keys[k];

        incomplete += !d->name || !d->parse || !d->print;
        for (int j = 0; d->name && j < k; j++)
            twice += tr_keys[j].name && strcmp(tr_keys[j].name, d->name) == 0;
        if (!d->name || !d->dflt)
            continue;
        bool in_layer = d->flags & (TR_KEY_LAYER | TR_KEY_TEXT);

        snprintf(text, sizeof(text), in_layer ? "l-text,i-a,%s-%s,l-end" : "w-10,%s-%s", d->name,
                 d->dflt);
        if (parse(text, &c, err) ||
            strcmp(canonical(&c), in_layer ? "l-text,i-a,l-end" : "w-10") != 0) {
            printf("# %s: %s\n", text, err[0] ? err : canonical(&c));
            dflt_wrong++;
        }
    }
    ok(incomplete == 0, "every key has a name, a parser and a printer (%d not)", incomplete);
    ok(twice == 0, "no key name is in the table twice (%d)", twice);
    ok(dflt_wrong == 0, "every default parses and is left out of the canonical text (%d not)",
       dflt_wrong);
}

int main(void)
{
    test_table();
    test_goods();
    test_bads();
    test_round_trip();
    test_permutations();
    test_fields();
    test_eval();
    test_caps_counts();
    test_caps_sizes();
    test_lengths();
    test_chain();
    test_colors();
    test_canonical_bounds();
    return check_done();
}
