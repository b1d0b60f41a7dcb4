# video: ImageKit-style video on FFmpeg's libraries (docs/video.md).

# ---- pure: sniffing, parameters, geometry (no FFmpeg) ------------------------------------------
VID_PURE_OBJS := $(O)/video/vid_sniff.o $(O)/video/vid_params.o $(O)/video/vid_geom.o

# Pure parts: sniffing (at the edge of an unreadable page), parameters and geometry.
UNIT_TESTS += test_vid_sniff test_vid_geom
test_vid_sniff_OBJS := $(O)/video/vid_sniff.o
test_vid_geom_OBJS := $(O)/video/vid_geom.o $(O)/video/vid_params.o
test_vid_geom_LIBS := -lm
$(O)/tests/test_vid_%.o: CPPFLAGS += -Ivideo
