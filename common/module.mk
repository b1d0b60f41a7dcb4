# common: the little both programs share (logging, percent-decoding).
COMMON_OBJS := $(O)/common/log.o $(O)/common/pct.o

UNIT_TESTS += test_log test_pct
test_log_OBJS := $(O)/common/log.o
test_pct_OBJS := $(O)/common/pct.o
