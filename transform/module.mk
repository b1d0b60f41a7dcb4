# transform: ImageKit-style transformation strings on libvips (issue 3).

# ---- parser (pure: no libvips, no allocation) ----------------------------------------------
TR_PARSE_OBJS := $(O)/transform/tr_parse.o $(O)/transform/tr_num.o $(O)/transform/tr_color.o \
                 $(O)/transform/tr_canon.o

UNIT_TESTS += test_tr_parse
test_tr_parse_OBJS := $(TR_PARSE_OBJS)
test_tr_parse_LIBS := -lm
$(O)/tests/test_tr_parse.o: CPPFLAGS += -Itransform
