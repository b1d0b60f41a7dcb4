/* transform/tr_words.c: the names of the enumerated values of the keys (c-, cm-, fo-, f-, ...)
 * and what a message says when a value is none of them; the descriptor table (tr_parse.c)
 * points at these sets. Pure data, and one lookup. */
#include "tr_parse_i.h"

#include <stddef.h>

static const struct tr_word crop_words[] = {
    {"maintain_ratio", TR_CROP_MAINTAIN_RATIO},
    {"force", TR_CROP_FORCE},
    {"at_max", TR_CROP_AT_MAX},
    {"at_max_enlarge", TR_CROP_AT_MAX_ENLARGE},
    {"at_least", TR_CROP_AT_LEAST},
    {NULL, 0},
};

static const struct tr_word crop_mode_words[] = {
    {"pad_resize", TR_CM_PAD_RESIZE},
    {"extract", TR_CM_EXTRACT},
    {"pad_extract", TR_CM_PAD_EXTRACT},
    {NULL, 0},
};

static const struct tr_word focus_words[] = {
    {"center", TR_FO_CENTER},
    {"top", TR_FO_TOP},
    {"left", TR_FO_LEFT},
    {"bottom", TR_FO_BOTTOM},
    {"right", TR_FO_RIGHT},
    {"top_left", TR_FO_TOP_LEFT},
    {"top_right", TR_FO_TOP_RIGHT},
    {"bottom_left", TR_FO_BOTTOM_LEFT},
    {"bottom_right", TR_FO_BOTTOM_RIGHT},
    {"auto", TR_FO_AUTO},
    {"face", TR_FO_FACE},
    {NULL, 0},
};

static const struct tr_word flip_words[] = {
    {"h", TR_FLIP_H}, {"v", TR_FLIP_V}, {"h_v", TR_FLIP_HV}, {"v_h", TR_FLIP_HV}, {NULL, 0},
};

const struct tr_word tr_format_words[] = {
    {"auto", TR_FMT_AUTO},
    {"jpeg", TR_FMT_JPEG},
    {"jpg", TR_FMT_JPEG},
    {"png", TR_FMT_PNG},
    {"webp", TR_FMT_WEBP},
    {"avif", TR_FMT_AVIF},
    {"gif", TR_FMT_GIF},
    {"orig", TR_FMT_ORIG},
    {"mp4", TR_FMT_MP4},
    {"webm", TR_FMT_WEBM},
    {NULL, 0},
};

/* lfo-: the positions of fo- (not auto or face: a layer has no content to look at). */
static const struct tr_word layer_focus_words[] = {
    {"center", TR_FO_CENTER},
    {"top", TR_FO_TOP},
    {"left", TR_FO_LEFT},
    {"bottom", TR_FO_BOTTOM},
    {"right", TR_FO_RIGHT},
    {"top_left", TR_FO_TOP_LEFT},
    {"top_right", TR_FO_TOP_RIGHT},
    {"bottom_left", TR_FO_BOTTOM_LEFT},
    {"bottom_right", TR_FO_BOTTOM_RIGHT},
    {NULL, 0},
};

static const struct tr_word typo_words[] = {
    {"b", TR_TG_BOLD},
    {"i", TR_TG_ITALIC},
    {"b_i", TR_TG_BOLD | TR_TG_ITALIC},
    {"i_b", TR_TG_BOLD | TR_TG_ITALIC},
    {NULL, 0},
};

static const struct tr_word align_words[] = {
    {"center", TR_ALIGN_CENTER},
    {"left", TR_ALIGN_LEFT},
    {"right", TR_ALIGN_RIGHT},
    {NULL, 0},
};

/* ff-: the families scripts/setup.sh installs (fonts-dejavu-core, fonts-noto-cjk), by the
 * names written in URLs; fontconfig's own names are in tr_layer.c. */
static const struct tr_word font_words[] = {
    {"DejaVuSans", TR_FONT_SANS},        {"DejaVuSerif", TR_FONT_SERIF},
    {"DejaVuSansMono", TR_FONT_MONO},    {"NotoSansCJK", TR_FONT_CJK_SANS},
    {"NotoSerifCJK", TR_FONT_CJK_SERIF}, {NULL, 0},
};

/* vc-, ac- (docs/video.md) */
static const struct tr_word vcodec_words[] = {
    {"h264", TR_VC_H264}, {"vp9", TR_VC_VP9}, {"av1", TR_VC_AV1}, {"none", TR_VC_NONE}, {NULL, 0},
};
static const struct tr_word acodec_words[] = {
    {"aac", TR_AC_AAC},
    {"opus", TR_AC_OPUS},
    {"none", TR_AC_NONE},
    {NULL, 0},
};
const struct tr_word_set tr_crops = {
    crop_words, "is not a crop (maintain_ratio force at_max at_max_enlarge at_least)"};
const struct tr_word_set tr_crop_modes = {crop_mode_words,
                                          "is not a crop mode (pad_resize extract pad_extract)"};
const struct tr_word_set tr_focuses = {
    focus_words, "is not a supported focus (a position such as top_left, auto or face)"};
const struct tr_word_set tr_flips = {flip_words, "is not a flip (h v h_v v_h)"};
const struct tr_word_set tr_layer_focuses = {
    layer_focus_words, "is not a layer position (center top left bottom right top_left top_right "
                       "bottom_left bottom_right)"};
const struct tr_word_set tr_typos = {typo_words, "is not a typography (b i b_i)"};
const struct tr_word_set tr_aligns = {align_words, "is not an alignment (left center right)"};
const struct tr_word_set tr_fonts = {
    font_words,
    "is not an installed font (DejaVuSans DejaVuSerif DejaVuSansMono NotoSansCJK NotoSerifCJK)"};
const struct tr_word_set tr_formats = {
    tr_format_words, "is not a format (auto jpg jpeg png webp avif gif orig, or mp4 webm)"};

const struct tr_word_set tr_vcodecs = {vcodec_words, "is not a video codec (h264 vp9 av1 none)"};
const struct tr_word_set tr_acodecs = {acodec_words, "is not an audio codec (aac opus none)"};

const char *tr_word_name(const struct tr_word *words, int value)
{
    for (; words->name; words++)
        if (words->value == value)
            return words->name;
    return "?";
}
