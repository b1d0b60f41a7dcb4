/* tests/vid_clip.h: test clips made with FFmpeg's libraries (the ones the engine uses), so the
 * tests need no shipped media. Each frame shows what a test can read back after any resize:
 *
 *   - a red band over the top quarter, a blue band down the left eighth (orientation);
 *   - the frame's index in 8 bits, as black/white cells across the third quarter of the height
 *     (most significant bit left), so an exact frame is told from its neighbours;
 *   - mid grey elsewhere (transparent in a GIF's transparent mode).
 *
 * A clip with a display rotation stores its frames turned the other way, so that a player that
 * honours the rotation shows the frame above. */
#ifndef TESTS_VID_CLIP_H
#define TESTS_VID_CLIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct clip_spec {
    const char *format; /* muxer: mp4 mov webm matroska gif */
    const char *vcodec; /* encoder: libx264 libx265 libsvtav1 mpeg4 libvpx libvpx-vp9 gif; NULL */
    const char *acodec; /* aac libopus; NULL: no audio */
    int width, height;  /* of the displayed frame */
    int fps, frames;
    int rotation;    /* display rotation, clockwise: 0 90 180 270 */
    bool vfr;        /* frame durations alternate between 0.5 and 1.5 frame periods */
    bool alpha;      /* GIF: the grey background is transparent */
    int gop;         /* frames between keyframes; 0: the encoder's default */
    bool faststart;  /* MP4/MOV: the index (moov) before the media */
    bool late_audio; /* all the video first in the file, then all the audio (not interleaved) */
};

/* Write the clip to path. Returns 0, or -1 with a message in err. */
int clip_make(const struct clip_spec *s, const char *path, char *err, size_t errlen);

/* The displayed frame i as RGB. */
void clip_draw(int i, int w, int h, uint8_t *rgb, size_t stride);

/* The index shown by an RGB image of the clip's frame (any size), or -1 when a cell is neither
 * black nor white enough. */
int clip_index_of(const uint8_t *rgb, int w, int h, size_t stride);

/* Whether the image is the right way up: red at the top middle, blue at the left middle. */
bool clip_is_upright(const uint8_t *rgb, int w, int h, size_t stride);

/* The time of frame i in seconds (variable when vfr). */
double clip_time(const struct clip_spec *s, int i);

/* A fresh folder for a test's clips, under $TMPDIR or /tmp, named after the test, into dir
 * (cap bytes). Returns 0 or -1. */
int clip_dir_make(char *dir, size_t cap, const char *test);

/* Remove the folder and the files in it (unless BLOBKIT_KEEP=1 asks to keep them). */
void clip_dir_remove(const char *dir);

/* Read back the first frame at or after t seconds of any file FFmpeg decodes (a video, a
 * PNG, a JPEG) as RGB, without our engine: plain decoding from the start, no rotation applied.
 * Returns 0 with *rgb malloc'ed (w * 3 bytes a row), or -1 with a message in err. */
int clip_read_frame(const char *path, double t, uint8_t **rgb, int *w, int *h, char *err,
                    size_t errlen);

#endif
