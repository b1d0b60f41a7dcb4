# transform: ImageKit-style transformation strings on libvips (docs/transformations.md).

# ---- parser (pure: no libvips, no allocation) ----------------------------------------------
TR_PARSE_OBJS := $(O)/transform/tr_parse.o $(O)/transform/tr_num.o $(O)/transform/tr_color.o \
                 $(O)/transform/tr_canon.o $(O)/transform/tr_nest.o $(O)/transform/tr_words.o \
                 $(O)/transform/tr_refuse.o \
                 $(O)/common/pct.o

UNIT_TESTS += test_tr_parse
test_tr_parse_OBJS := $(TR_PARSE_OBJS)
test_tr_parse_LIBS := -lm
$(O)/tests/test_tr_parse.o: CPPFLAGS += -Itransform

# The strings ImageKit's SDKs emit (tests/node/ik-urls.mjs), through the parser.
UNIT_TESTS += test_tr_sdk
test_tr_sdk_OBJS := $(TR_PARSE_OBJS)
test_tr_sdk_LIBS := -lm
$(O)/tests/test_tr_sdk.o: CPPFLAGS += -Itransform

# make fuzz: the parser's libFuzzer target (tests/fuzz/tr/ seeds, tests/fuzz/tr.dict).
FUZZ += fuzz_tr
fuzz_tr_SRCS := tests/fuzz_tr.c $(call fuzz_srcs,$(TR_PARSE_OBJS))
fuzz_tr_DEPS := $(wildcard transform/*.h common/*.h)
fuzz_tr_CPPFLAGS := -Itransform
fuzz_tr_LIBS := -lm

# ---- pipeline: tr_apply.c, tr_step.c, tr_run.c, tr_layer.c (the libvips files: the call, the
# steps, what they all use, the layers), tr_geom.c (pure: the arithmetic of sizes, crops and focus), tr_bounds.c (a call's
# memory, deadline and cancel; a helper thread), tr_jpeg.c (libjpeg alone: the direct JPEG
# decoder), tr_orc.c (the lock around liborc's code memory; every program that runs libvips
# links it), tr_format.c (pure), the CLI ---------------------------------------------------------
TR_APPLY_OBJS := $(O)/transform/tr_apply.o $(O)/transform/tr_step.o $(O)/transform/tr_run.o \
                 $(O)/transform/tr_layer.o \
                 $(O)/transform/tr_geom.o $(O)/transform/tr_bounds.o $(O)/transform/tr_jpeg.o \
                 $(O)/transform/tr_orc.o $(O)/transform/tr_format.o $(O)/common/clock.o \
                 $(TR_PARSE_OBJS)
TR_VIPS_LIBS := $(call pkg_libs,vips) $(call pkg_libs,libjpeg) $(call pkg_libs,fontconfig) -ldl -lm
$(O)/transform/tr_jpeg.o: CPPFLAGS += $(call pkg_cflags,libjpeg)
$(O)/transform/tr_layer.o: CPPFLAGS += $(call pkg_cflags,fontconfig)
$(O)/transform/tr_apply.o $(O)/transform/tr_step.o $(O)/transform/tr_run.o \
    $(O)/transform/tr_layer.o: \
    CPPFLAGS += $(call pkg_cflags,vips)

PROGS += blobkit-transform
VERSIONED += $(O)/transform/cli.o
blobkit-transform_OBJS := $(O)/transform/cli.o $(TR_APPLY_OBJS)
blobkit-transform_LIBS := $(TR_VIPS_LIBS)

# The direct JPEG decoder alone (libjpeg, no libvips): it makes its sources with libjpeg.
UNIT_TESTS += test_tr_jpeg
test_tr_jpeg_OBJS := $(O)/transform/tr_jpeg.o $(O)/transform/tr_bounds.o $(O)/common/clock.o
test_tr_jpeg_LIBS := $(call pkg_libs,libjpeg) -lpthread
$(O)/tests/test_tr_jpeg.o: CPPFLAGS += -Itransform $(call pkg_cflags,libjpeg)

# Threads resizing at once through liborc (tr_orc.c).
UNIT_TESTS += test_tr_orc
test_tr_orc_OBJS := $(TR_APPLY_OBJS)
test_tr_orc_LIBS := $(TR_VIPS_LIBS)
$(O)/tests/test_tr_orc.o: CPPFLAGS += -Itransform $(call pkg_cflags,vips)

# The geometry alone (no libvips), table-driven; chains come from the parser.
UNIT_TESTS += test_tr_geom
test_tr_geom_OBJS := $(O)/transform/tr_geom.o $(TR_PARSE_OBJS)
test_tr_geom_LIBS := -lm
$(O)/tests/test_tr_geom.o: CPPFLAGS += -Itransform

UNIT_TESTS += test_tr_format test_tr_apply test_tr_bounds test_tr_canon test_tr_layer
test_tr_layer_OBJS := $(TR_APPLY_OBJS)
test_tr_layer_LIBS := $(TR_VIPS_LIBS)
$(O)/tests/test_tr_layer.o: CPPFLAGS += -Itransform $(call pkg_cflags,vips)
test_tr_format_OBJS := $(O)/transform/tr_format.o $(TR_PARSE_OBJS)
test_tr_format_LIBS := -lm
test_tr_apply_OBJS := $(TR_APPLY_OBJS)
test_tr_apply_LIBS := $(TR_VIPS_LIBS)
test_tr_bounds_OBJS := $(TR_APPLY_OBJS)
test_tr_bounds_LIBS := $(TR_VIPS_LIBS)
test_tr_canon_OBJS := $(TR_APPLY_OBJS)
test_tr_canon_LIBS := $(TR_VIPS_LIBS)
$(O)/tests/test_tr_format.o: CPPFLAGS += -Itransform
$(O)/tests/test_tr_apply.o: CPPFLAGS += -Itransform $(call pkg_cflags,vips)
$(O)/tests/test_tr_bounds.o: CPPFLAGS += -Itransform $(call pkg_cflags,vips) $(call pkg_cflags,libjpeg)
$(O)/tests/test_tr_canon.o: CPPFLAGS += -Itransform $(call pkg_cflags,vips)

# bench program of scripts/bench-transform.sh (built, not run by make check)
BENCHES += bench_transform
bench_transform_OBJS := $(O)/tests/bench_transform.o $(TR_APPLY_OBJS)
bench_transform_LIBS := $(TR_VIPS_LIBS)
$(O)/tests/bench_transform.o: CPPFLAGS += -Itransform $(call pkg_cflags,vips)

# make fuzz: tr_apply() on small images with random chains (tests/fuzz/tr_apply/ seeds).
FUZZ += fuzz_tr_apply
fuzz_tr_apply_SRCS := tests/fuzz_tr_apply.c $(call fuzz_srcs,$(TR_APPLY_OBJS))
fuzz_tr_apply_DEPS := $(wildcard transform/*.h common/*.h)
fuzz_tr_apply_CPPFLAGS := -Itransform $(call pkg_cflags,vips libjpeg)
fuzz_tr_apply_LIBS := $(TR_VIPS_LIBS)
