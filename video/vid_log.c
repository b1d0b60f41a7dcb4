/* video/vid_log.c: FFmpeg's log into ours (common/log.h). FFmpeg writes to stderr by default,
 * and a damaged stream makes a decoder complain about every frame; here its errors become info
 * lines and its warnings debug lines (the caller reports the job's own error), its chatter is
 * dropped, and at most LINES_PER_SECOND lines a second pass, whichever job they come from. */
#include "vid.h"

#include "log.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libavutil/avutil.h>
#include <libavutil/log.h>

#define LINES_PER_SECOND 10

/* The current second and the lines let through in it, shared by all threads. */
static atomic_llong window_second;
static atomic_int window_lines;

static bool within_rate(void)
{
    long long now = (long long)time(NULL), was = atomic_load(&window_second);

    if (now != was && atomic_compare_exchange_strong(&window_second, &was, now))
        atomic_store(&window_lines, 0);
    return atomic_fetch_add(&window_lines, 1) < LINES_PER_SECOND;
}

static void route(void *avcl, int level, const char *fmt, va_list vl)
{
    static _Thread_local int print_prefix = 1;
    enum log_level ours = level <= AV_LOG_ERROR ? LOG_LV_INFO : LOG_LV_DEBUG;
    char line[512];
    size_t n;

    if (level > AV_LOG_WARNING || !log_enabled(ours) || !within_rate())
        return;
    av_log_format_line2(avcl, level, fmt, vl, line, sizeof(line), &print_prefix);
    n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    if (n)
        log_msg(ours, "ffmpeg: %s", line);
}

void vid_init(void)
{
    setenv("SVT_LOG", "1", 0); /* SVT-AV1 prints a banner on stderr per encoder: errors only */
    av_log_set_level(AV_LOG_WARNING);
    av_log_set_callback(route);
}

const char *vid_library_versions(void)
{
    return av_version_info();
}
