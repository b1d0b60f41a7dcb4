/* video/vid_input.h: a source file opened for demuxing and decoding. Internal: the one header
 * of the module that shows FFmpeg types.
 *
 * The file is read with pread() through a custom AVIOContext (64 KiB buffer): no shared file
 * offset, no mmap, nothing read whole, and every read checks the run's stop conditions. The
 * demuxer is chosen from the sniffed container (mov, matroska, gif, mpeg) and may open no
 * other file or URL. */
#ifndef VIDEO_VID_INPUT_H
#define VIDEO_VID_INPUT_H

#include "vid_run.h"

#include <sys/types.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

struct vid_input {
    struct vid_run *run;
    int fd;
    off_t size;
    int64_t pos; /* where the next read of the AVIOContext starts */
    enum vid_container container;
    AVIOContext *avio;
    AVFormatContext *fmt;
    AVStream *vst, *ast; /* the video and audio streams used; NULL: none */
    AVCodecContext *vdec, *adec;
    int rotation;    /* display rotation, clockwise: 0, 90, 180, 270 */
    int64_t start;   /* the file's start time, AV_TIME_BASE units (0 when unknown) */
    double duration; /* seconds; 0 when unknown */
    int64_t frames;  /* video frames decoded so far */
    int bad_packets; /* packets a decoder rejected */
};

/* Open the source on fd for run r: size limit, sniffing, demuxer, stream selection, duration
 * and resolution limits. find_info: read the first packets too where the container's header
 * says too little (probe); without it, the headers alone (thumbnail, transcode).
 * Returns 0 or -errno with the run's err set; vid_input_close() in every case. */
int vid_input_open(struct vid_input *in, int fd, struct vid_run *r, bool find_info);

/* Keep the video and/or audio stream; the other is discarded unread (vst or ast NULL). */
void vid_input_keep(struct vid_input *in, bool video, bool audio);

/* Open the decoder of the video / audio stream (threads from the run's limits). */
int vid_input_open_video(struct vid_input *in);
int vid_input_open_audio(struct vid_input *in);

void vid_input_close(struct vid_input *in);

/* The next packet of the video or audio stream. Returns 0, 1 at the end of the file, or
 * -errno with err set. */
int vid_input_read(struct vid_input *in, AVPacket *pkt);

/* Give dec one packet (NULL: the end). A packet the decoder rejects is skipped, as players
 * do, until VID_MAX_BAD_PACKETS of them say the source is corrupt. Returns 0 or -errno. */
#define VID_MAX_BAD_PACKETS 32
int vid_input_send(struct vid_input *in, AVCodecContext *dec, const AVPacket *pkt);

/* Count a decoded video frame against the limits (size, frame count). Returns 0 or -E2BIG. */
int vid_input_check_frame(struct vid_input *in, const AVFrame *f);

/* A frame's time in seconds from the start of the file (best-effort timestamp of st). */
double vid_input_seconds(const struct vid_input *in, const AVStream *st, int64_t ts);

/* The timestamp of st at t seconds from the start of the file. */
int64_t vid_input_ts(const struct vid_input *in, const AVStream *st, double t);

/* Seek so that the next packet of st is the keyframe at or before t seconds. */
int vid_input_seek(struct vid_input *in, const AVStream *st, double t);

#endif
