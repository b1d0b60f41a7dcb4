# blobhttpd: ImageKit-style URLs served from origin folders (docs/blobhttpd.md).
PROGS += blobhttpd
VERSIONED += $(O)/httpd/main.o $(O)/httpd/hmetrics.o

HTTPD_PURE := $(O)/httpd/http.o $(O)/httpd/route.o $(O)/httpd/sign.o $(O)/httpd/imgcache.o \
              $(O)/httpd/conf.o $(O)/httpd/json.o $(O)/httpd/console_url.o
HTTPD_OBJS := $(HTTPD_PURE) $(O)/httpd/origin.o $(O)/httpd/console_dir.o $(O)/httpd/pool.o \
              $(O)/httpd/srv.o $(O)/httpd/deliver.o $(O)/httpd/reply.o $(O)/httpd/guard.o \
              $(O)/httpd/fonts.o \
              $(O)/httpd/main.o $(O)/httpd/console.o $(O)/httpd/console_assets.o \
              $(O)/httpd/accesslog.o $(O)/httpd/hmetrics.o $(O)/httpd/ready.o \
              $(O)/httpd/auth.o $(O)/httpd/purge.o \
              $(O)/httpd/vidurl.o $(O)/httpd/vidcache.o $(O)/httpd/vidjob.o \
              $(O)/httpd/vidserve.o $(O)/httpd/vidserve_job.o

# The console's page, style, script and icon, built in by the assembler (.incbin): rebuilt
# whenever one of them changes. The paths in the .S are relative to the top of the tree.
$(O)/httpd/console_assets.o: httpd/console_assets.S $(wildcard httpd/console/*)
	@mkdir -p $(@D)
	$(CC) -c -o $@ $<

$(O)/httpd/%.o: CPPFLAGS += -Itransform -Ivideo
$(O)/httpd/%.o: CFLAGS += $(call pkg_cflags,libmicrohttpd openssl libsystemd)

# blobhttpd links transform's objects and libraries (TR_APPLY_OBJS, TR_VIPS_LIBS from
# transform/module.mk), video's (VID_OBJS, VID_LIBS from video/module.mk) and common's. These
# two are expanded late (=, not :=), when the link rules are made after every module.mk is read,
# so the order of the includes does not matter.
blobhttpd_OBJS = $(HTTPD_OBJS) $(COMMON_OBJS) $(METRICS_OBJS) $(TR_APPLY_OBJS) $(VID_OBJS) \
                 $(O)/video/vid_chain.o
blobhttpd_LIBS = $(call pkg_libs,libmicrohttpd libcrypto libsystemd libcurl jansson) $(METRICS_LIBS) \
                 $(TR_VIPS_LIBS) $(VID_LIBS)

# Unit tests of the pure modules (and the two small threaded ones), no network, no libvips.
UNIT_TESTS += test_http test_route test_sign test_http_cache test_http_conf test_http_origin \
              test_http_pool test_json test_console_url test_console_dir \
              test_http_accesslog test_http_ready test_http_fonts
test_http_OBJS := $(O)/httpd/http.o
test_route_OBJS := $(O)/httpd/route.o $(O)/common/pct.o
test_sign_OBJS := $(O)/httpd/sign.o
test_sign_LIBS := $(call pkg_libs,libcrypto)
test_http_cache_OBJS := $(O)/httpd/imgcache.o
test_http_cache_LIBS := $(call pkg_libs,libcrypto)
test_http_conf_OBJS := $(O)/httpd/conf.o $(O)/common/log.o
test_http_origin_OBJS := $(O)/httpd/origin.o
test_http_pool_OBJS := $(O)/httpd/pool.o
UNIT_TESTS += test_vidurl test_vidcache test_vidjob
test_vidjob_OBJS := $(O)/httpd/vidjob.o $(O)/httpd/pool.o $(O)/common/clock.o
test_vidcache_OBJS := $(O)/httpd/vidcache.o
test_vidcache_LIBS := $(call pkg_libs,libcrypto)
$(O)/tests/test_vidcache.o $(O)/tests/test_vidjob.o: CPPFLAGS += -Ihttpd
test_vidurl_OBJS := $(O)/httpd/vidurl.o $(O)/httpd/sign.o
test_vidurl_LIBS := $(call pkg_libs,libcrypto)
$(O)/tests/test_vidurl.o: CPPFLAGS += -Ihttpd
test_http_fonts_OBJS := $(O)/httpd/fonts.o
test_json_OBJS := $(O)/httpd/json.o
test_console_url_OBJS := $(O)/httpd/console_url.o $(O)/httpd/sign.o $(O)/httpd/route.o \
                         $(O)/common/pct.o
test_console_url_LIBS := $(call pkg_libs,libcrypto)
test_console_dir_OBJS := $(O)/httpd/console_dir.o $(O)/httpd/origin.o
test_http_accesslog_OBJS := $(O)/httpd/accesslog.o $(O)/httpd/http.o $(O)/common/log.o
test_http_ready_OBJS := $(O)/httpd/ready.o $(O)/httpd/origin.o $(O)/common/clock.o
$(O)/tests/test_http.o $(O)/tests/test_route.o $(O)/tests/test_sign.o $(O)/tests/test_json.o \
$(O)/tests/test_console_url.o $(O)/tests/test_console_dir.o \
$(O)/tests/test_http_%.o: CPPFLAGS += -Ihttpd

# make fuzz: libFuzzer targets of the pure parsers, built from their unit tests' sources
# (seeds in tests/fuzz/NAME/).
HTTPD_FUZZ_DEPS := $(wildcard httpd/*.h common/*.h)
FUZZ += fuzz_route fuzz_http fuzz_sign fuzz_conf fuzz_console fuzz_ikurl
fuzz_route_SRCS := tests/fuzz_route.c $(call fuzz_srcs,$(test_route_OBJS))
fuzz_http_SRCS := tests/fuzz_http.c $(call fuzz_srcs,$(test_http_OBJS) $(O)/common/httpdate.o)
fuzz_sign_SRCS := tests/fuzz_sign.c $(call fuzz_srcs,$(test_sign_OBJS))
fuzz_sign_LIBS := $(test_sign_LIBS)
fuzz_ikurl_SRCS := tests/fuzz_ikurl.c $(call fuzz_srcs,$(O)/httpd/ikurl.o $(O)/httpd/sign.o)
fuzz_ikurl_LIBS := $(test_sign_LIBS)
fuzz_conf_SRCS := tests/fuzz_conf.c $(call fuzz_srcs,$(test_http_conf_OBJS))
fuzz_conf_LIBS := -Wl,--wrap=fopen64 # the target opens its own input only (tests/fuzz_conf.c)
fuzz_console_SRCS := tests/fuzz_console.c $(call fuzz_srcs,$(test_console_url_OBJS) \
                      $(O)/httpd/json.o)
fuzz_console_LIBS := $(test_console_url_LIBS)
$(foreach f,route http sign conf console ikurl,$(eval fuzz_$(f)_DEPS := $(HTTPD_FUZZ_DEPS)))
$(foreach f,route http sign conf console ikurl,$(eval fuzz_$(f)_CPPFLAGS := -Ihttpd))

# blobkit-url: the URLs ImageKit's SDKs build, signed as blobhttpd verifies (httpd/ikurl.h).
PROGS += blobkit-url
VERSIONED += $(O)/httpd/url_cli.o
blobkit-url_OBJS := $(O)/httpd/url_cli.o $(O)/httpd/ikurl.o $(O)/httpd/sign.o
blobkit-url_LIBS := $(call pkg_libs,libcrypto)
