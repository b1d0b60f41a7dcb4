# video: ImageKit-style video on FFmpeg's libraries (docs/video.md).

VID_FF_PKGS := libavformat libavcodec libavfilter libswscale libswresample libavutil

# ---- pure: sniffing, parameters, geometry (no FFmpeg) ------------------------------------------
VID_PURE_OBJS := $(O)/video/vid_sniff.o $(O)/video/vid_params.o $(O)/video/vid_geom.o

# ---- the engine ---------------------------------------------------------------------------------
VID_OBJS := $(VID_PURE_OBJS) $(O)/video/vid_run.o $(O)/video/vid_log.o $(O)/video/vid_input.o \
            $(O)/video/vid_probe.o $(O)/video/vid_thumb.o $(O)/video/vid_graph.o \
            $(O)/video/vid_enc.o $(O)/video/vid_pipe.o $(O)/video/vid_transcode.o \
            $(O)/video/vid_package.o $(O)/common/clock.o
VID_LIBS := $(call pkg_libs,$(VID_FF_PKGS)) -lm
$(O)/video/%.o: CPPFLAGS += $(call pkg_cflags,$(VID_FF_PKGS))

# The CLI: thumbnails go through the image engine (tr_apply on the decoded frame).
PROGS += blobkit-video
VERSIONED += $(O)/video/cli.o
blobkit-video_OBJS := $(O)/video/cli.o $(O)/video/vid_chain.o $(VID_OBJS) $(O)/common/log.o \
                      $(TR_APPLY_OBJS)
blobkit-video_LIBS := $(VID_LIBS) $(TR_VIPS_LIBS)
$(O)/video/cli.o $(O)/video/vid_chain.o: CPPFLAGS += -Itransform

# ---- tests --------------------------------------------------------------------------------------
# Pure parts: sniffing (at the edge of an unreadable page), parameters and geometry.
UNIT_TESTS += test_vid_sniff test_vid_geom
test_vid_sniff_OBJS := $(O)/video/vid_sniff.o
test_vid_geom_OBJS := $(O)/video/vid_geom.o $(O)/video/vid_params.o
test_vid_geom_LIBS := -lm
$(O)/tests/test_vid_%.o: CPPFLAGS += -Ivideo

# What an image chain lets a thumbnail's frame be shrunk to (the image engine's parser).
UNIT_TESTS += test_vid_chain
test_vid_chain_OBJS := $(O)/video/vid_chain.o $(TR_PARSE_OBJS)
test_vid_chain_LIBS := -lm
$(O)/tests/test_vid_chain.o: CPPFLAGS += -Itransform

# The engine on clips made with the same libraries (tests/vid_clip.c).
VID_CLIP_OBJS := $(O)/tests/vid_clip.o
$(O)/tests/vid_clip.o $(O)/tests/test_vid_%.o: CPPFLAGS += -Ivideo $(call pkg_cflags,$(VID_FF_PKGS))
UNIT_TESTS += test_vid_thumb test_vid_transcode
test_vid_thumb_OBJS := $(VID_OBJS) $(VID_CLIP_OBJS) $(O)/common/log.o
test_vid_thumb_LIBS := $(VID_LIBS)
test_vid_transcode_OBJS := $(VID_OBJS) $(VID_CLIP_OBJS) $(O)/common/log.o
test_vid_transcode_LIBS := $(VID_LIBS)

# The same clips on the command line, for tests/it_video_cli.sh.
TOOLS += vid_mkclip
vid_mkclip_OBJS := $(O)/tests/vid_mkclip.o $(VID_CLIP_OBJS)
vid_mkclip_LIBS := $(VID_LIBS)
$(O)/tests/vid_mkclip.o: CPPFLAGS += $(call pkg_cflags,$(VID_FF_PKGS))

# scripts/bench-video.sh's in-process thumbnail loop (built, not run by make check).
BENCHES += bench_video
bench_video_OBJS := $(O)/tests/bench_video.o $(O)/video/vid_chain.o $(VID_OBJS) $(O)/common/log.o \
                    $(TR_APPLY_OBJS)
bench_video_LIBS := $(VID_LIBS) $(TR_VIPS_LIBS)
$(O)/tests/bench_video.o: CPPFLAGS += -Ivideo -Itransform $(call pkg_cflags,$(VID_FF_PKGS))
