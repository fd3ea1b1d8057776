# evms-activate: `make test` and `make demo` work on a fresh Debian 12 machine as root.
SHELL := /bin/bash
export PKG_CONFIG_ALLOW_CROSS := 1
TARGET := x86_64-unknown-linux-musl
BIN := target/$(TARGET)/release/evms-activate
CACHE := $(CURDIR)/.cache
export CACHE

.PHONY: all deps build test unit vm faults exec-vm discovery demo boot-test bench fuzz fuzz-smoke fuzz-build clean md-fixtures md-data \
	install uninstall install-test deb package \
	luks-fixtures luks-data

all: build

# System packages: build (clang/bindgen, libdevmapper headers, musl), fixtures (the real tools),
# VM tests (qemu, busybox, cpio, kmod). Installed once per machine (stamp in the cache).
deps: $(CACHE)/deps.stamp
$(CACHE)/deps.stamp: tests/deps.sh
	tests/deps.sh
	@mkdir -p $(CACHE) && touch $@

build: deps
	cargo build --release --target $(TARGET)

unit: deps
	cargo test --quiet
	# --all-features: tests/vm_exec.rs (feature vm-tests) compiles here too, not only in exec-vm.
	cargo clippy --quiet --all-targets --all-features -- -D warnings

# Every suite, with a summary line at the end (tests/run-all.sh lists them).
test: build
	tests/run-all.sh

# scan/plan on image files vs the real tools' records (tests/discovery.sh).
discovery: build
	tests/discovery.sh

# The executor's own real-kernel tests (tests/vm/exec/run.sh).
exec-vm: build
	tests/vm/exec/run.sh

# MD arrays made by mdadm and the kernel md driver in a VM (root, qemu; a few minutes once):
# full disk images in .cache/md-fixtures, read back by tests/md_data.rs. The stamp is remade
# when the generator changes. `tests/vm/md-fixtures.sh --update-fixtures` also refreshes the
# committed superblock fixtures (tests/fixtures/md/scenarios).
md-fixtures: $(CACHE)/md-fixtures/ready
$(CACHE)/md-fixtures/ready: tests/vm/md-fixtures.sh tests/vm/lib.sh tests/vm/guest-init.sh
	tests/vm/md-fixtures.sh $(CACHE)/md-fixtures

# Whole arrays read through our parser and RAID mapping vs. the kernel's sha256 (not part of a
# plain `cargo test`: it needs the images above).
md-data: deps md-fixtures
	MD_FIXTURES_DIR=$(CACHE)/md-fixtures cargo test --quiet --test md_data

# LUKS1/LUKS2 volumes made by cryptsetup in a VM, opened there by cryptsetup to record its
# dm-crypt tables (root, qemu; a few minutes once): .cache/luks-fixtures, read by
# tests/luks_data.rs. `tests/vm/luks-fixtures.sh --update-fixtures` also refreshes the committed
# metadata cuts (tests/fixtures/luks).
luks-fixtures: $(CACHE)/luks-fixtures/ready
$(CACHE)/luks-fixtures/ready: tests/vm/luks-fixtures.sh tests/vm/lib.sh tests/vm/guest-init.sh
	tests/vm/luks-fixtures.sh $(CACHE)/luks-fixtures

# Every volume unlocked to the key cryptsetup reports, a wrong passphrase refused, our crypt
# table equal to the one cryptsetup loaded (not part of a plain `cargo test`).
luks-data: deps luks-fixtures
	LUKS_FIXTURES_DIR=$(CACHE)/luks-fixtures cargo test --quiet --test luks_data

# Real-kernel activation tests, mdadm/lvm2/kpartx as the oracle (tests/vm/README.md).
vm: build
	tests/vm/run.sh -j 2

# Activation against mdadm + lvm2 in the same VM boots (split into the kernel's work and ours;
# 250/500/1000 LVs, 64 PVs, 16 arrays, a long metadata history; with and without udev), bytes
# read, boot time against busybox + mdadm + lvm2, initramfs-tools and dracut, sizes, and LUKS
# unlock time against cryptsetup open on the same headers, per KDF. Writes
# target/bench/report.md and SVG charts (docs/benchmarks.md). QUICK=1: the small cases only.
# Nothing is asserted.
bench: build
	tests/bench.sh
	tests/bench-luks.sh

# Boots a real kernel (QEMU) with only our binary as /init and root on LVM on MD RAID5 over
# three GPT disks written by the real tools; shows the console and a one-line summary.
demo: build
	tests/vm/demo.sh

# Every boot scenario (tests/vm/boot/run.sh: GPT, RAID5+LVM flagship, partitioned MD, degraded,
# hot-plug, missing root, the three generators, the Debian package in a chroot, ...): ~20 QEMU
# boots; disk sets and the chroot cached in .cache/.
boot-test: build deb
	tests/vm/boot/run.sh

# Fuzzing (cargo-fuzz on the nightly toolchain, both installed by tests/deps.sh). One target
# per reader plus the whole discovery pipeline (fuzz/src/lib.rs). Seeds are cut from the
# real-tool fixtures by fuzz/seeds.py; the committed crash inputs
# (tests/fixtures/fuzz-regressions/<target>) are replayed first. `make fuzz` keeps what it
# finds in fuzz/corpus/<target> between runs; `make fuzz-smoke` starts from the seeds each
# time, so its duration does not grow. No sanitizer: the code is safe Rust, what we look for
# are panics (overflow checks are on), hangs (-timeout) and memory blow-ups (-rss_limit_mb).
# A crash leaves its input in fuzz/artifacts/<target>/: commit it under
# tests/fixtures/fuzz-regressions/<target>/ with a .expected file (tests/fuzz_regressions.rs).
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 1
FUZZ_TARGETS := mbr gpt md_v090 md_v1 lvm_label lvm_mda lvm_text lvm_vg fs luks luks1 luks2_pair luks2_json evms cmdline \
	config discover
FUZZ_FLAGS := -timeout=10 -rss_limit_mb=2048 -print_final_stats=0
FUZZ_SEEDS := $(CACHE)/fuzz-seeds
FUZZ_REGRESSIONS := tests/fixtures/fuzz-regressions

fuzz-build: deps
	cargo +nightly fuzz build -s none

$(FUZZ_SEEDS)/.done: fuzz/seeds.py $(wildcard tests/fixtures/*/*/*.spr tests/fixtures/md/scenarios/*/*.spr)
	rm -rf $(FUZZ_SEEDS) && python3 fuzz/seeds.py $(FUZZ_SEEDS) && touch $@

# $(1): corpus directory written by libFuzzer; $(2): seconds per target; $(3): log prefix.
define fuzz_all
	@mkdir -p $(CACHE); failed=""; for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(1)/$$t; log=$(CACHE)/$(3)-$$t.log; \
	  regs=$(FUZZ_REGRESSIONS)/$$t; [ -d $$regs ] || regs=; \
	  cargo +nightly fuzz run -s none $$t $(1)/$$t $(FUZZ_SEEDS)/$$t $$regs -- \
	    $(FUZZ_FLAGS) -max_total_time=$(2) >$$log 2>&1 || { failed="$$failed $$t"; tail -40 $$log; }; \
	  grep -h 'DONE' $$log | sed "s/^/$$t: /"; \
	done; \
	if [ -n "$$failed" ]; then echo "crashes in:$$failed (inputs in fuzz/artifacts/)"; exit 1; fi
endef

# Each target for FUZZ_SECONDS; every target runs, the failures are listed at the end.
fuzz: fuzz-build $(FUZZ_SEEDS)/.done
	$(call fuzz_all,fuzz/corpus,$(FUZZ_SECONDS),fuzz)

# FUZZ_SMOKE_SECONDS per target from a fresh corpus (for `make test`).
fuzz-smoke: fuzz-build $(FUZZ_SEEDS)/.done
	rm -rf $(CACHE)/fuzz-smoke
	$(call fuzz_all,$(CACHE)/fuzz-smoke,$(FUZZ_SMOKE_SECONDS),fuzz-smoke)

# The fault matrix in a real kernel (tests/vm/README.md): damaged or missing members, split
# mirrors, bad metadata copies, cloned PVs, a bad primary GPT, foreign and self-stacked VGs.
faults: build
	tests/vm/run.sh -j 2 degraded stale splitbrain lvmfaults

clean:
	cargo clean

# --- install -------------------------------------------------------------------------------------
# `make build && make install [DESTDIR=...] [PREFIX=/usr]`: the static binary, the man page, an
# /etc/evms.conf example (only when none exists) and each generator's integration where that
# generator looks for it. The generators read only their own directories under /usr (dracut
# /usr/lib/dracut, initramfs-tools /usr/share/initramfs-tools, mkinitcpio /usr/lib/initcpio),
# so with another PREFIX set those variables too or the integrations stay unused. Each
# integration finds the binary through PATH, else at $(SBINDIR)/evms-activate's default
# /usr/sbin/evms-activate. `make uninstall` with the same variables removes exactly these files
# (/etc/evms.conf only while it is still the example) and the directories left empty.
PREFIX ?= /usr
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
DRACUTDIR ?= $(PREFIX)/lib/dracut
INITRAMFSTOOLSDIR ?= $(PREFIX)/share/initramfs-tools
INITCPIODIR ?= $(PREFIX)/lib/initcpio
D := $(DESTDIR)

# SOURCE:DESTINATION:MODE, one line per installed file (evms.conf is handled on its own).
INSTALL_FILES := \
	$(BIN):$(SBINDIR)/evms-activate:755 \
	docs/evms-activate.8:$(MANDIR)/man8/evms-activate.8:644 \
	dracut-module/90evms/module-setup.sh:$(DRACUTDIR)/modules.d/90evms/module-setup.sh:755 \
	dracut-module/90evms/parse-evms.sh:$(DRACUTDIR)/modules.d/90evms/parse-evms.sh:755 \
	dracut-module/90evms/evms-activate-root.sh:$(DRACUTDIR)/modules.d/90evms/evms-activate-root.sh:755 \
	dracut-module/90evms/evms-md-name.sh:$(DRACUTDIR)/modules.d/90evms/evms-md-name.sh:755 \
	dracut-module/90evms/63-evms-md.rules:$(DRACUTDIR)/modules.d/90evms/63-evms-md.rules:644 \
	dracut-module/90-evms.conf:$(DRACUTDIR)/dracut.conf.d/90-evms.conf:644 \
	initramfs-hooks/hooks/evms-activate:$(INITRAMFSTOOLSDIR)/hooks/evms-activate:755 \
	initramfs-hooks/scripts/local-top/evms-activate:$(INITRAMFSTOOLSDIR)/scripts/local-top/evms-activate:755 \
	initramfs-hooks/scripts/local-block/evms-activate:$(INITRAMFSTOOLSDIR)/scripts/local-block/evms-activate:755 \
	mkinitcpio/install/evms:$(INITCPIODIR)/install/evms:644 \
	mkinitcpio/hooks/evms:$(INITCPIODIR)/hooks/evms:644 \
	dracut-module/90evms/63-evms-md.rules:$(INITCPIODIR)/udev/63-evms-md.rules:644 \
	dracut-module/90evms/evms-md-name.sh:$(INITCPIODIR)/udev/evms-md-name:755 \
	mkinitcpio/udev/11-evms-db-persist.rules:$(INITCPIODIR)/udev/11-evms-db-persist.rules:644

install:
	@test -x $(BIN) || { echo "$(BIN) is missing: run make build first" >&2; exit 1; }
	@set -e; for f in $(INSTALL_FILES); do \
	  src=$${f%%:*} rest=$${f#*:}; dst=$${rest%:*} mode=$${rest##*:}; \
	  install -D -m $$mode $$src "$(D)$$dst"; echo "  $(D)$$dst"; \
	done
	@if [ -e "$(D)$(SYSCONFDIR)/evms.conf" ]; then \
	  echo "  $(D)$(SYSCONFDIR)/evms.conf exists: kept (example: docs/evms.conf)"; \
	else install -D -m 644 docs/evms.conf "$(D)$(SYSCONFDIR)/evms.conf"; echo "  $(D)$(SYSCONFDIR)/evms.conf"; fi

uninstall:
	@for f in $(INSTALL_FILES); do rest=$${f#*:}; dst=$${rest%:*}; rm -fv "$(D)$$dst"; done
	@if cmp -s docs/evms.conf "$(D)$(SYSCONFDIR)/evms.conf"; then rm -fv "$(D)$(SYSCONFDIR)/evms.conf"; \
	elif [ -e "$(D)$(SYSCONFDIR)/evms.conf" ]; then echo "  $(D)$(SYSCONFDIR)/evms.conf differs from the example: kept"; fi
	@# The directories these files were in, bottom-up, while empty (never DESTDIR itself).
	@for f in $(INSTALL_FILES) :$(SYSCONFDIR)/evms.conf:; do rest=$${f#*:}; dst=$${rest%:*}; \
	  d=$$(dirname "$$dst"); while [ "$$d" != / ] && rmdir "$(D)$$d" 2>/dev/null; do d=$$(dirname "$$d"); done; \
	done; true

# install + uninstall into a scratch DESTDIR: every file where it belongs, nothing left after.
install-test: build
	tests/install.sh

# Debian package (packaging/deb/build.sh): target/deb/evms-activate_<version>_amd64.deb.
deb: build
	packaging/deb/build.sh

# install/uninstall (tests/install.sh) and the package through lintian (tests/package.sh: its
# remaining tags are overridden with the reason in packaging/deb/lintian-overrides, so any new
# one fails). The package's install into a Debian chroot and the boot of the image its
# update-initramfs trigger makes: boot scenario `deb` (in boot-test).
package: deb
	tests/package.sh
