# blobfs: the read-only FUSE filesystem over one Azure Blob container (docs/blobfs.md).
BLOBFS_DEPS := fuse3 libcurl libxml-2.0 libsystemd

PROGS += blobfs
VERSIONED += $(O)/fs/main.o $(O)/fs/blob.o $(O)/fs/fsmetrics.o
blobfs_OBJS := $(addprefix $(O)/fs/,main.o ops.o cache.o prefetch.o blob.o blob_xml.o \
                 blob_name.o blob_sas.o blob_retry.o mountopt.o service.o fsmetrics.o) \
               $(COMMON_OBJS) $(METRICS_OBJS)
# The metrics listener is libmicrohttpd's (common/scrape.c): its one thread answers scrapes, never
# a FUSE thread, and HTTP parsing, timeouts and connection limits are the library's, as in
# blobhttpd. Readiness goes to systemd through libsystemd's sd_notify().
blobfs_LIBS := $(call pkg_libs,$(BLOBFS_DEPS)) $(METRICS_LIBS)

# FUSE_USE_VERSION 312: fuse_loop_cfg (max_threads) for the multi-threaded loop.
$(O)/fs/%.o: CPPFLAGS += -DFUSE_USE_VERSION=312 \
                         $(call pkg_cflags,$(BLOBFS_DEPS))

# Unit tests of the pure modules.
UNIT_TESTS += test_blob_xml test_blob_name test_blob_sas test_blob_retry
test_blob_xml_OBJS := $(O)/fs/blob_xml.o $(O)/fs/blob_name.o $(O)/common/pct.o \
                      $(O)/common/httpdate.o
test_blob_xml_LIBS := $(call pkg_libs,libxml-2.0)
test_blob_name_OBJS := $(O)/fs/blob_name.o
test_blob_sas_OBJS := $(O)/fs/blob_sas.o $(O)/fs/blob_name.o $(O)/common/pct.o
test_blob_retry_OBJS := $(O)/fs/blob_retry.o $(O)/common/httpdate.o
$(O)/tests/test_blob%.o: CPPFLAGS += -Ifs $(call pkg_cflags,libxml-2.0)

# The cache over a stand-in for blob_list, blob_list_flat and blob_head (tests/test_cache.c).
UNIT_TESTS += test_cache
test_cache_OBJS := $(O)/fs/cache.o $(O)/fs/blob_name.o $(O)/fs/blob_xml.o $(COMMON_OBJS)
test_cache_LIBS := $(call pkg_libs,libxml-2.0)
$(O)/tests/test_cache.o: CPPFLAGS += -Ifs

# Read-ahead over a stand-in source (tests/test_prefetch.c).
UNIT_TESTS += test_prefetch
test_prefetch_OBJS := $(O)/fs/prefetch.o $(O)/common/clock.o
$(O)/tests/test_prefetch.o: CPPFLAGS += -Ifs

# make fuzz: the List Blobs page parser's libFuzzer target (tests/fuzz/blob_xml/ seeds).
FUZZ += fuzz_blob_xml
fuzz_blob_xml_SRCS := tests/fuzz_blob_xml.c $(call fuzz_srcs,$(test_blob_xml_OBJS))
fuzz_blob_xml_DEPS := $(wildcard fs/blob_*.h common/*.h)
fuzz_blob_xml_CPPFLAGS := -Ifs $(call pkg_cflags,libxml-2.0)
fuzz_blob_xml_LIBS := $(test_blob_xml_LIBS)

# -o as fstab gives it (pure).
UNIT_TESTS += test_mountopt
test_mountopt_OBJS := $(O)/fs/mountopt.o
$(O)/tests/test_mountopt.o: CPPFLAGS += -Ifs
