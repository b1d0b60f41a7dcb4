# common: the little both programs share (logging, percent-decoding, HTTP dates, the monotonic
# clock; str.h is header only).
COMMON_OBJS := $(O)/common/log.o $(O)/common/pct.o $(O)/common/httpdate.o $(O)/common/clock.o

UNIT_TESTS += test_log test_pct test_httpdate test_clock test_str
test_log_OBJS := $(O)/common/log.o
test_pct_OBJS := $(O)/common/pct.o
test_httpdate_OBJS := $(O)/common/httpdate.o
test_clock_OBJS := $(O)/common/clock.o
test_str_OBJS :=

# Metrics in Prometheus's text format (metrics.c, lock-free updates); programs that serve them
# link METRICS_OBJS.
METRICS_OBJS := $(O)/common/metrics.o
UNIT_TESTS += test_metrics
test_metrics_OBJS := $(O)/common/metrics.o
test_metrics_LIBS := -lm

# The process_* metrics, from /proc (procstat.c).
METRICS_OBJS += $(O)/common/procstat.o
UNIT_TESTS += test_procstat
test_procstat_OBJS := $(O)/common/procstat.o $(O)/common/metrics.o
test_procstat_LIBS := -lm
