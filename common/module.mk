# common: the little both programs share (logging).
COMMON_OBJS := $(O)/common/log.o

UNIT_TESTS += test_log
test_log_OBJS := $(O)/common/log.o
