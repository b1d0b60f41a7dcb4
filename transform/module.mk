# transform: ImageKit-style transformation strings on libvips (issue 3).

# ---- parser (pure: no libvips, no allocation) ----------------------------------------------
TR_PARSE_OBJS := $(O)/transform/tr_parse.o $(O)/transform/tr_num.o $(O)/transform/tr_color.o \
                 $(O)/transform/tr_canon.o

UNIT_TESTS += test_tr_parse
test_tr_parse_OBJS := $(TR_PARSE_OBJS)
test_tr_parse_LIBS := -lm
$(O)/tests/test_tr_parse.o: CPPFLAGS += -Itransform

# ---- pipeline: tr_apply.c (the one libvips file), tr_format.c (pure), the CLI --------------
TR_APPLY_OBJS := $(O)/transform/tr_apply.o $(O)/transform/tr_format.o $(TR_PARSE_OBJS)
TR_VIPS_LIBS := $(call pkg_libs,vips) -lm
$(O)/transform/tr_apply.o: CPPFLAGS += $(call pkg_cflags,vips)

PROGS += blobkit-transform
blobkit-transform_OBJS := $(O)/transform/cli.o $(TR_APPLY_OBJS)
blobkit-transform_LIBS := $(TR_VIPS_LIBS)
