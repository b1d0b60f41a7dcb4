# make install, make uninstall, make deb (included by the Makefile; docs/operating.md).
#
#   make install [PREFIX=/usr/local] [DESTDIR=]   the programs (blobhttpd in sbin/, the others
#                                                 in bin/), man pages, systemd units, the
#                                                 example configuration and docs
#   make uninstall [PREFIX=...] [DESTDIR=]        remove exactly what install put there; a
#                                                 configuration edited since is kept (said so)
#   make deb                                      build/deb/blobkit_VERSION_ARCH.deb
#
# mount(8) needs nothing more for fstab lines of type fuse.blobfs: it runs /sbin/mount.fuse
# (fuse3's), which runs "blobfs" from /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin,
# so BINDIR must be one of those.

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/blobkit
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
UNITDIR ?= $(PREFIX)/lib/systemd/system
INSTALL ?= install

SBIN_PROGS := blobhttpd
BIN_PROGS = $(filter-out $(SBIN_PROGS),$(PROGS))
MAN_PAGES := $(wildcard man/*.[1-8])
UNITS := blobfs@.service blobfs.target blobhttpd.service
EXAMPLES := deploy/etc/blobhttpd.conf deploy/etc/blobfs-media.conf deploy/etc/fstab.example
DOCS := README.md docs/operating.md docs/blobfs.md docs/blobhttpd.md docs/grafana-blobkit.json

# The units with this install's paths in them, made anew by every install (FORCE): the paths
# may differ from the last one's.
$(O)/deploy/%: deploy/systemd/%.in FORCE
	@mkdir -p $(@D)
	sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SBINDIR@|$(SBINDIR)|g' \
	    -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' -e 's|@DOCDIR@|$(DOCDIR)|g' $< >$@
$(O)/deploy/%: deploy/systemd/% FORCE
	@mkdir -p $(@D)
	cp $< $@

# Only the programs (make deb builds them with Debian's flags, nothing else).
programs: $(PROGS:%=$(BIN)/%)

install: programs $(UNITS:%=$(O)/deploy/%)
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(UNITDIR) \
	    $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(SYSCONFDIR)/blobkit/blobfs
	$(INSTALL) -m 755 $(BIN_PROGS:%=$(BIN)/%) $(DESTDIR)$(BINDIR)
	$(INSTALL) -m 755 $(SBIN_PROGS:%=$(BIN)/%) $(DESTDIR)$(SBINDIR)
	for p in $(MAN_PAGES); do \
	    d=$(DESTDIR)$(MANDIR)/man$${p##*.}; $(INSTALL) -d $$d && $(INSTALL) -m 644 $$p $$d; done
	$(INSTALL) -m 644 $(UNITS:%=$(O)/deploy/%) $(DESTDIR)$(UNITDIR)
	$(INSTALL) -m 644 $(EXAMPLES) $(DESTDIR)$(DOCDIR)/examples
	$(INSTALL) -m 644 $(DOCS) $(DESTDIR)$(DOCDIR)
	test -e $(DESTDIR)$(SYSCONFDIR)/blobkit/blobhttpd.conf || \
	    $(INSTALL) -m 644 deploy/etc/blobhttpd.conf $(DESTDIR)$(SYSCONFDIR)/blobkit/blobhttpd.conf

# What install made, and the folders it made when they are left empty.
uninstall:
	rm -f $(PROGS:%=$(DESTDIR)$(BINDIR)/%) $(PROGS:%=$(DESTDIR)$(SBINDIR)/%)
	for p in $(MAN_PAGES); do rm -f $(DESTDIR)$(MANDIR)/man$${p##*.}/$${p#man/}; done
	rm -f $(UNITS:%=$(DESTDIR)$(UNITDIR)/%)
	rm -f $(patsubst deploy/etc/%,$(DESTDIR)$(DOCDIR)/examples/%,$(EXAMPLES))
	rm -f $(foreach d,$(DOCS),$(DESTDIR)$(DOCDIR)/$(notdir $(d)))
	if cmp -s deploy/etc/blobhttpd.conf $(DESTDIR)$(SYSCONFDIR)/blobkit/blobhttpd.conf; then \
	    rm -f $(DESTDIR)$(SYSCONFDIR)/blobkit/blobhttpd.conf; \
	elif test -e $(DESTDIR)$(SYSCONFDIR)/blobkit/blobhttpd.conf; then \
	    echo "uninstall: kept $(DESTDIR)$(SYSCONFDIR)/blobkit/blobhttpd.conf (edited)"; fi
	-rmdir $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(DOCDIR) \
	    $(DESTDIR)$(SYSCONFDIR)/blobkit/blobfs $(DESTDIR)$(SYSCONFDIR)/blobkit 2>/dev/null

# The Debian package, from its own build with Debian's hardening flags (scripts/mkdeb.sh).
deb:
	scripts/mkdeb.sh

FORCE:
.PHONY: programs install uninstall deb FORCE
