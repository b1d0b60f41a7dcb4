# common: the little both programs share (logging, percent-decoding, HTTP dates, the monotonic
# clock, listening addresses; str.h is header only).
COMMON_OBJS := $(O)/common/log.o $(O)/common/pct.o $(O)/common/httpdate.o $(O)/common/clock.o \
               $(O)/common/addr.o

UNIT_TESTS += test_log test_pct test_httpdate test_clock test_str test_addr
test_addr_OBJS := $(O)/common/addr.o
test_log_OBJS := $(O)/common/log.o
test_pct_OBJS := $(O)/common/pct.o
test_httpdate_OBJS := $(O)/common/httpdate.o
test_clock_OBJS := $(O)/common/clock.o
test_str_OBJS :=

# Metrics in Prometheus's text format (metrics.c, lock-free updates) and the listener that
# answers scrapes on libmicrohttpd (scrape.c); programs that serve them link METRICS_OBJS and
# METRICS_LIBS.
METRICS_OBJS := $(O)/common/metrics.o $(O)/common/scrape.o
METRICS_LIBS := $(call pkg_libs,libmicrohttpd) -lm
$(O)/common/scrape.o: CFLAGS += $(call pkg_cflags,libmicrohttpd)
UNIT_TESTS += test_metrics
test_metrics_OBJS := $(O)/common/metrics.o
test_metrics_LIBS := -lm

# The process_* metrics, from /proc (procstat.c).
METRICS_OBJS += $(O)/common/procstat.o
UNIT_TESTS += test_procstat
test_procstat_OBJS := $(O)/common/procstat.o $(O)/common/metrics.o
test_procstat_LIBS := -lm
