# blobkit: one non-recursive Makefile. Each directory adds its programs and unit tests
# in its own module.mk; the rules below build them all the same way.
#
#   make            bin/blobfs, bin/blobhttpd, bin/blobkit-transform, bin/blobkit-video,
#                   bin/blobkit-url
#   make SAN=1      the same with ASan + UBSan, into build/san/bin/
#   make WERROR=0   warnings do not stop the build (default 1: they do)
#   make test       install what is missing (scripts/setup.sh), then run every test
#   make check      run every test on a machine that is already set up
#   make demo       the one-command demo (README.md)
#   make cluster    three nodes behind the cache tier, on the demo's media (docs/scale-out.md)
#   make install | uninstall | deb   PREFIX, DESTDIR (deploy/install.mk, docs/operating.md)
#   make fmt | fmt-check | lint | clean
#   make fuzz       libFuzzer targets (clang), into build/fuzz/
#   make fuzz-smoke each fuzz target for 30 s (tests/fuzz_smoke.sh); check runs it with clang

# Module files define rules of their own; plain 'make' still means 'all'.
.DEFAULT_GOAL := all

ifdef SAN
O   := build/san
BIN := build/san/bin
else
O   := build/rel
BIN := bin
endif

# WERROR=0 builds with the same warnings but does not stop on them (for packagers, whose
# compilers may warn about things ours does not); tests and CI build with the default, 1.
WERROR ?= 1
WARN := -std=c11 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
        -Wmissing-prototypes -Wold-style-definition -Wformat=2 -Wwrite-strings -Wcast-qual \
        -Wvla -Wundef -Wimplicit-fallthrough -Wnull-dereference -fno-common
ifeq ($(WERROR),1)
WARN += -Werror
endif
CPPFLAGS += -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -Icommon

# The one version of blobkit: VERSION, printed by every program's --version and put in the
# Debian package's name. The files that name it (BLOBKIT_VERSION) are listed in VERSIONED by
# their module.mk, and are rebuilt when it changes.
VERSION := $(shell cat VERSION)
ifdef SAN
CFLAGS  := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
else
CFLAGS  ?= -O2 -g
endif
CFLAGS += $(WARN) -pthread -MMD -MP
LDFLAGS += -pthread

# Library flags come from pkg-config; headers are -isystem so theirs never trip our warnings.
pkg_cflags = $(patsubst -I%,-isystem %,$(shell pkg-config --cflags $(1) 2>/dev/null))
pkg_libs = $(shell pkg-config --libs $(1) 2>/dev/null)

PROGS :=
VERSIONED :=
UNIT_TESTS :=
BENCHES :=
TOOLS :=
FUZZ :=
# The sources of an object list ($(O)/x/y.o -> x/y.c): a fuzz target builds from the same files
# as the unit test or program of its module, so a module's new file reaches both.
fuzz_srcs = $(patsubst $(O)/%.o,%.c,$(filter-out $(O)/tests/%,$(1)))
include common/module.mk
include fs/module.mk
include transform/module.mk
include httpd/module.mk
include video/module.mk
include deploy/install.mk

all: $(PROGS:%=$(BIN)/%) $(UNIT_TESTS:%=$(O)/tests/%) $(BENCHES:%=$(O)/bench/%) \
     $(TOOLS:%=$(O)/tools/%)

$(VERSIONED): CPPFLAGS += -DBLOBKIT_VERSION='"$(VERSION)"'
$(VERSIONED): VERSION

# The programs, one a line (tests go through every one: man pages, --version).
progs:
	@printf '%s\n' $(PROGS)

$(O)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# A program, unit test or bench program links the objects and libraries its module.mk names
# for it: NAME_OBJS and NAME_LIBS. A unit test's own source is tests/NAME.c. Bench programs
# (BENCHES, into $(O)/bench/) are built with everything but only scripts/bench-*.sh run them;
# test tools (TOOLS, into $(O)/tools/) are helpers the integration tests run.
define link_rule
$(1): $$($(2)_OBJS)
	@mkdir -p $$(@D)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$($(2)_LIBS)
endef
$(foreach p,$(PROGS),$(eval $(call link_rule,$(BIN)/$(p),$(p))))
$(foreach t,$(UNIT_TESTS),$(eval $(t)_OBJS += $(O)/tests/$(t).o))
$(foreach t,$(UNIT_TESTS),$(eval $(call link_rule,$(O)/tests/$(t),$(t))))
$(foreach b,$(BENCHES),$(eval $(call link_rule,$(O)/bench/$(b),$(b))))
$(foreach t,$(TOOLS),$(eval $(call link_rule,$(O)/tools/$(t),$(t))))
$(O)/tests/%.o: CPPFLAGS += -Itests

# The test command of README.md: set the machine up, then run everything.
test:
	scripts/setup.sh
	$(MAKE) --no-print-directory check

# Unit tests run in both builds; integration tests run the sanitizer build's programs; with
# clang, the fuzz targets are built and tests/run.sh runs the fuzz smoke too.
# The builds use every core (JOBS, default nproc).
HAVE_CLANG := $(shell command -v clang 2>/dev/null)
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
check:
	$(MAKE) -j$(JOBS) all
	$(MAKE) -j$(JOBS) SAN=1 all
	$(if $(HAVE_CLANG),$(MAKE) -j$(JOBS) fuzz)
	tests/run.sh

# libFuzzer targets (clang): a module.mk adds FUZZ += fuzz_x with fuzz_x_SRCS (all the .c
# files, tests/fuzz_x.c first), fuzz_x_DEPS (headers), fuzz_x_CPPFLAGS and fuzz_x_LIBS. Seeds
# are in tests/fuzz/x/, a dictionary in tests/fuzz/x.dict (docs/testing.md, "Fuzzing").
FUZZ_CFLAGS := -std=c11 -g -O1 -Wall -Wextra -Werror -fsanitize=fuzzer,address,undefined \
               -fno-sanitize-recover=all
fuzz: $(FUZZ:%=build/fuzz/%)
define fuzz_rule
build/fuzz/$(1): $$($(1)_SRCS) $$($(1)_DEPS)
	@mkdir -p $$(@D)
	clang $$(CPPFLAGS) $$($(1)_CPPFLAGS) $$(FUZZ_CFLAGS) -o $$@ $$($(1)_SRCS) $$($(1)_LIBS)
endef
$(foreach f,$(FUZZ),$(eval $(call fuzz_rule,$(f))))

# Every fuzz target for FUZZ_SECONDS (30), two at a time; fails on a crash, leak or timeout.
fuzz-smoke: fuzz
	tests/fuzz_smoke.sh

demo:
	scripts/setup.sh
	$(MAKE) all
	scripts/demo.sh

# A cluster killed hard is stopped by down first (by PID, names checked), then started anew.
cluster:
	scripts/setup.sh
	$(MAKE) all
	scripts/cluster.sh down --dir tmp/cluster
	scripts/cluster.sh up --nodes 3 --dir tmp/cluster --wait

SRCS := $(wildcard common/*.[ch] fs/*.[ch] transform/*.[ch] httpd/*.[ch] video/*.[ch] tests/*.[ch])
fmt:
	clang-format -i $(SRCS)
fmt-check:
	clang-format --dry-run -Werror $(SRCS)

# Functions curl's checksrc bans, and #ifdef outside headers (kernel style ch. 21).
BANNED := \b(strcpy|strcat|sprintf|vsprintf|strtok|atoi|atol|gets|strncpy)[[:space:]]*\(
lint:
	@! grep -nE '$(BANNED)' $(filter %.c %.h,$(SRCS)) || { echo "lint: banned function"; false; }
	@! grep -nE '^[[:space:]]*#[[:space:]]*if(def|ndef)?\b' $(filter %.c,$(SRCS)) \
		|| { echo "lint: #if in a .c file belongs in a header"; false; }
	@echo "lint: clean"

clean:
	rm -rf build bin

.PHONY: all test check demo cluster fmt fmt-check lint clean fuzz fuzz-smoke progs
.DELETE_ON_ERROR:

-include $(shell find $(O) -name '*.d' 2>/dev/null)
