# beostat: build, install and package. docs/PACKAGING.md explains the
# layout, the variables and the release tarball; `make help` lists targets.
#
#   make                                  # release build and man pages
#   make install DESTDIR=/tmp/root        # into /usr under DESTDIR
#   make dist                             # beostat-VERSION.tar.gz, crates vendored
#   make rpm                              # the three RPMs from that tarball

CARGO ?= cargo
# Extra cargo flags; the RPM spec builds with --offline --frozen.
CARGO_FLAGS ?=
TARGET_DIR ?= $(or $(CARGO_TARGET_DIR),target)
# Where `install` finds what `build` made, and the generated man pages.
BUILT ?= $(TARGET_DIR)/release
MANBUILD ?= $(TARGET_DIR)/man
INSTALL ?= install
# `make install` strips the programs and the library (a release build keeps
# line tables for the RPM's debuginfo package: Cargo.toml, profile.release).
# INSTALL_STRIP= keeps them, as the spec does so that rpmbuild can split the
# debug information into -debuginfo packages.
STRIP ?= strip
INSTALL_STRIP ?= -s --strip-program=$(STRIP)

PREFIX ?= /usr
# recvstats and sendstats stay in bin, not sbin: the legacy init script
# tests `[ -x /usr/bin/recvstats ]`.
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(BINDIR)
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
DATADIR ?= $(PREFIX)/share
MANDIR ?= $(DATADIR)/man
DOCDIR ?= $(DATADIR)/doc/beostat
LICENSEDIR ?= $(DATADIR)/licenses/beostat
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
# yes: libbeostat.pc names its directories relative to where it is
# (${pcfiledir}), so `PKG_CONFIG_PATH=$DESTDIR/usr/lib/pkgconfig` finds the
# header and library of a DESTDIR tree. The spec sets no: an RPM's files are
# at their final place, and distributions keep .pc paths absolute.
RELOCATABLE_PC ?= yes
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
UNITDIR ?= $(PREFIX)/lib/systemd/system
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
DESTDIR ?=

VERSION := $(shell sed -n 's/^version = "\(.*\)"$$/\1/p' Cargo.toml | head -n 1)
# The C library's ABI version. Its major is the soname build.rs gives
# (libbeostat.so.1); bump the minor when functions are added.
ABI_VERSION := 1.0.0
SONAME := libbeostat.so.$(firstword $(subst ., ,$(ABI_VERSION)))
LIBRARY := libbeostat.so.$(ABI_VERSION)

# Programs installed when they were built. A name in these lists whose
# source (src/bin/NAME.rs) exists must have been built; one without source
# (a command not written yet) is skipped.
DAEMONS := recvstats sendstats beostat-exporter
COMMANDS := beostat beostatus
UNITS := recvstats.service sendstats.service beostat-exporter.service
SYSCONFIG := recvstats sendstats beostat-exporter
# The Prometheus kit (packaging/prometheus, packaging/grafana), installed as
# examples under $(DATADIR)/beostat.
KIT := prometheus/prometheus.yml prometheus/beostat.rules.yml \
    prometheus/beostat.rules.test.yml grafana/beostat-dashboard.json
# What --help and the man pages point readers at, and the licences.
DOCS := README.md docs/COMMANDS.md docs/RECVSTATS.md docs/PROTOCOL.md docs/SHM-LAYOUT.md
LICENSES := COPYING THIRD-PARTY-LICENSES.md

# Man pages carry the date of the last commit (or of the tarball's).
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || cat .source-date-epoch 2>/dev/null)
ifneq ($(SOURCE_DATE_EPOCH),)
export SOURCE_DATE_EPOCH
endif

DIST_NAME := beostat-$(VERSION)
DISTDIR ?= .
DIST_STAGE := $(TARGET_DIR)/dist/$(DIST_NAME)
RPM_TOPDIR ?= $(abspath $(TARGET_DIR))/rpmbuild
# On a system without RPM packages of the build tools (Debian): --nodeps.
RPMBUILD_FLAGS ?=

# This make's variables are its own: they do not reach the programs it runs
# (above all the make of the RPM spec's %build, started by `make rpm`).
# After every default above: GNU make 4.3 takes a variable named by
# `unexport` as defined (and empty), so a later `?=` would not set it.
unexport CARGO CARGO_FLAGS TARGET_DIR BUILT MANBUILD INSTALL INSTALL_STRIP STRIP PREFIX \
    BINDIR SBINDIR LIBDIR INCLUDEDIR DATADIR MANDIR DOCDIR LICENSEDIR PKGCONFIGDIR \
    SYSCONFDIR UNITDIR \
    TMPFILESDIR DESTDIR DISTDIR RPM_TOPDIR RPMBUILD_FLAGS NO_BUILD RELOCATABLE_PC

# The functions of the C API, each of which gets a man3 link to libbeostat(3).
# (A parenthesis inside $(shell) would end it: hence $(paren).)
paren := (
FUNCTIONS = $(shell sed -n 's/^[a-z][a-z_ ]* \**\(beostat_[A-Za-z_]*\)$(paren).*/\1/p' include/sys/beostat.h | sort -u)

.PHONY: all build man install uninstall test dist rpm clean help

# What `make` built, as files make can compare. `install` depends on these,
# not on the phony `build`: after `make`, `sudo make install` (whose PATH,
# reset by sudo, has no cargo) runs no cargo and writes nothing under
# target/ as root. A source newer than the stamp makes install build again.
BUILD_STAMP := $(TARGET_DIR)/release/.make-build-stamp
MAN_STAMP := $(MANBUILD)/.make-man-stamp
SOURCES := Cargo.toml Cargo.lock build.rs $(shell find src -type f 2>/dev/null)

all: build man

help:
	@echo 'make [all]        cargo build --release, then the man pages'
	@echo 'make install      install under DESTDIR (PREFIX=$(PREFIX) LIBDIR=$(LIBDIR) ...)'
	@echo 'make uninstall    remove what install put there'
	@echo 'make test         cargo test'
	@echo 'make dist         $(DIST_NAME).tar.gz with the crates vendored (offline builds)'
	@echo 'make rpm          the RPMs, from that tarball, under $(RPM_TOPDIR)'

build:
	$(CARGO) build --release $(CARGO_FLAGS)
	@touch $(BUILD_STAMP)

$(BUILD_STAMP): $(SOURCES)
	$(CARGO) build --release $(CARGO_FLAGS)
	@touch $@

man: $(MAN_STAMP)

$(MAN_STAMP): $(BUILD_STAMP)
	rm -rf $(MANBUILD)
	$(BUILT)/beostat-mangen $(MANBUILD) >/dev/null
	@touch $@

test:
	$(CARGO) test $(CARGO_FLAGS)

# NO_BUILD=1 installs what is already in $(BUILT) and $(MANBUILD) (the RPM
# spec builds in %build, then installs).
install: $(if $(NO_BUILD),,$(MAN_STAMP))
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(LIBDIR) \
	    $(DESTDIR)$(INCLUDEDIR)/sys $(DESTDIR)$(PKGCONFIGDIR) \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(MANDIR)/man8 \
	    $(DESTDIR)$(SYSCONFDIR)/sysconfig $(DESTDIR)$(UNITDIR) $(DESTDIR)$(TMPFILESDIR) \
	    $(DESTDIR)$(DOCDIR) $(DESTDIR)$(LICENSEDIR)
	$(INSTALL) -m 0644 $(DOCS) $(DESTDIR)$(DOCDIR)/
	$(INSTALL) -m 0644 $(LICENSES) $(DESTDIR)$(LICENSEDIR)/
	@set -e; \
	install_programs() { \
	    directory=$$1; shift; \
	    for program in "$$@"; do \
	        if [ -f "$(BUILT)/$$program" ]; then \
	            echo "$(INSTALL) -m 0755 $(INSTALL_STRIP) $(BUILT)/$$program $(DESTDIR)$$directory/$$program"; \
	            $(INSTALL) -m 0755 $(INSTALL_STRIP) "$(BUILT)/$$program" "$(DESTDIR)$$directory/$$program"; \
	        elif [ -e "src/bin/$$program.rs" ] || [ -e "src/bin/$$program/main.rs" ]; then \
	            echo "$(BUILT)/$$program is missing: run make first" >&2; exit 1; \
	        fi; \
	    done; \
	}; \
	install_programs $(SBINDIR) $(DAEMONS); \
	install_programs $(BINDIR) $(COMMANDS)
	$(INSTALL) -m 0755 $(INSTALL_STRIP) $(BUILT)/libbeostat.so $(DESTDIR)$(LIBDIR)/$(LIBRARY)
	ln -sf $(LIBRARY) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libbeostat.so
	$(INSTALL) -m 0644 include/sys/beostat.h $(DESTDIR)$(INCLUDEDIR)/sys/beostat.h
	@set -e; if [ "$(RELOCATABLE_PC)" = yes ]; then \
	    relative() { echo "\$${pcfiledir}/$$(realpath -m --relative-to='$(PKGCONFIGDIR)' "$$1")"; }; \
	    prefix=$$(relative '$(PREFIX)'); libdir=$$(relative '$(LIBDIR)'); \
	    includedir=$$(relative '$(INCLUDEDIR)'); \
	else prefix='$(PREFIX)'; libdir='$(LIBDIR)'; includedir='$(INCLUDEDIR)'; fi; \
	echo "$(DESTDIR)$(PKGCONFIGDIR)/libbeostat.pc"; \
	sed -e "s|@PREFIX@|$$prefix|g" -e "s|@LIBDIR@|$$libdir|g" \
	    -e "s|@INCLUDEDIR@|$$includedir|g" -e 's|@VERSION@|$(VERSION)|g' \
	    packaging/libbeostat.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/libbeostat.pc
	chmod 0644 $(DESTDIR)$(PKGCONFIGDIR)/libbeostat.pc
	@set -e; for unit in $(UNITS); do \
	    echo "$(DESTDIR)$(UNITDIR)/$$unit"; \
	    sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@BINDIR@|$(BINDIR)|g' \
	        -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	        "packaging/systemd/$$unit.in" > "$(DESTDIR)$(UNITDIR)/$$unit"; \
	    chmod 0644 "$(DESTDIR)$(UNITDIR)/$$unit"; \
	done
	@# An administrator's settings are never overwritten.
	@set -e; for file in $(SYSCONFIG); do \
	    target="$(DESTDIR)$(SYSCONFDIR)/sysconfig/$$file"; \
	    if [ -e "$$target" ]; then echo "$$target exists: kept"; \
	    else $(INSTALL) -m 0644 "packaging/sysconfig/$$file" "$$target"; fi; \
	done
	$(INSTALL) -m 0644 packaging/tmpfiles.d/beostat.conf $(DESTDIR)$(TMPFILESDIR)/beostat.conf
	@set -e; for file in $(KIT); do \
	    $(INSTALL) -d "$(DESTDIR)$(DATADIR)/beostat/$${file%/*}"; \
	    $(INSTALL) -m 0644 "packaging/$$file" "$(DESTDIR)$(DATADIR)/beostat/$$file"; \
	done
	@set -e; for page in $(MANBUILD)/*.1 $(MANBUILD)/*.8; do \
	    [ -f "$$page" ] || continue; \
	    section=$${page##*.}; \
	    $(INSTALL) -m 0644 "$$page" "$(DESTDIR)$(MANDIR)/man$$section/"; \
	done
	$(INSTALL) -m 0644 man/libbeostat.3 $(DESTDIR)$(MANDIR)/man3/libbeostat.3
	@set -e; for function in $(FUNCTIONS); do \
	    printf '.so man3/libbeostat.3\n' > "$(DESTDIR)$(MANDIR)/man3/$$function.3"; \
	    chmod 0644 "$(DESTDIR)$(MANDIR)/man3/$$function.3"; \
	done

uninstall:
	@set -e; for program in $(DAEMONS); do rm -f "$(DESTDIR)$(SBINDIR)/$$program"; done; \
	for program in $(COMMANDS); do rm -f "$(DESTDIR)$(BINDIR)/$$program"; done; \
	for unit in $(UNITS); do rm -f "$(DESTDIR)$(UNITDIR)/$$unit"; done; \
	for file in $(KIT); do rm -f "$(DESTDIR)$(DATADIR)/beostat/$$file"; done; \
	rmdir "$(DESTDIR)$(DATADIR)/beostat/prometheus" "$(DESTDIR)$(DATADIR)/beostat/grafana" \
	    "$(DESTDIR)$(DATADIR)/beostat" 2>/dev/null || true; \
	for function in $(FUNCTIONS); do rm -f "$(DESTDIR)$(MANDIR)/man3/$$function.3"; done; \
	for page in recvstats.8 sendstats.8 beostat-exporter.8 beostat.1 beostatus.1; do \
	    section=$${page##*.}; rm -f "$(DESTDIR)$(MANDIR)/man$$section/$$page"; \
	done; \
	for file in $(notdir $(DOCS)); do rm -f "$(DESTDIR)$(DOCDIR)/$$file"; done; \
	for file in $(LICENSES); do rm -f "$(DESTDIR)$(LICENSEDIR)/$$file"; done; \
	for file in $(SYSCONFIG); do \
	    target="$(DESTDIR)$(SYSCONFDIR)/sysconfig/$$file"; \
	    if [ -e "$$target" ] && ! cmp -s "packaging/sysconfig/$$file" "$$target"; then \
	        echo "$$target was changed: kept"; \
	    else rm -f "$$target"; fi; \
	done
	rm -f $(DESTDIR)$(LIBDIR)/$(LIBRARY) $(DESTDIR)$(LIBDIR)/$(SONAME) \
	    $(DESTDIR)$(LIBDIR)/libbeostat.so $(DESTDIR)$(INCLUDEDIR)/sys/beostat.h \
	    $(DESTDIR)$(PKGCONFIGDIR)/libbeostat.pc $(DESTDIR)$(TMPFILESDIR)/beostat.conf \
	    $(DESTDIR)$(MANDIR)/man3/libbeostat.3

# The release tarball: the files git tracks (as they are in the work tree),
# the crates of Cargo.lock under vendor/ (those no Linux target uses
# emptied: scripts/vendor-trim.sh), and .cargo/config.toml pointing cargo
# at them, so `cargo build --offline --frozen` needs no network.
dist:
	rm -rf $(DIST_STAGE)
	mkdir -p $(DIST_STAGE)/.cargo
	git ls-files -z | tar --null -T - -cf - | tar -xf - -C $(DIST_STAGE)
	git log -1 --format=%ct > $(DIST_STAGE)/.source-date-epoch
	cd $(DIST_STAGE) && $(CARGO) vendor --locked --versioned-dirs vendor > .cargo/config.toml
	cd $(DIST_STAGE) && CARGO='$(CARGO)' sh scripts/vendor-trim.sh vendor
	tar --sort=name --mtime=@$$(cat $(DIST_STAGE)/.source-date-epoch) \
	    --owner=0 --group=0 --numeric-owner \
	    -C $(dir $(DIST_STAGE)) -czf $(DISTDIR)/$(DIST_NAME).tar.gz $(DIST_NAME)
	@echo "$(DISTDIR)/$(DIST_NAME).tar.gz"

rpm: dist
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL rpmbuild -ta $(RPMBUILD_FLAGS) --define "_topdir $(RPM_TOPDIR)" $(DISTDIR)/$(DIST_NAME).tar.gz
	@find $(RPM_TOPDIR)/RPMS $(RPM_TOPDIR)/SRPMS -name '*.rpm' -newer $(DISTDIR)/$(DIST_NAME).tar.gz

clean:
	$(CARGO) clean
	rm -f $(DISTDIR)/$(DIST_NAME).tar.gz
