# evms-activate: `make test` and `make demo` work on a fresh Debian 12 machine as root.
SHELL := /bin/bash
export PKG_CONFIG_ALLOW_CROSS := 1
TARGET := x86_64-unknown-linux-musl
BIN := target/$(TARGET)/release/evms-activate
CACHE := $(CURDIR)/.cache
export CACHE

.PHONY: all deps build test unit vm exec-vm discovery demo boot-test bench fuzz clean md-fixtures md-data

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
	cargo clippy --quiet --all-targets -- -D warnings

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

# Real-kernel activation tests, mdadm/lvm2/kpartx as the oracle (tests/vm/README.md).
vm: build
	tests/vm/run.sh -j 2

# Activation time against mdadm + lvm2 in the same VM run (ratios; nothing asserted).
bench: build
	tests/bench.sh

# Boots a real kernel (QEMU) with only our binary as /init and root on LVM on MD RAID5 over
# three GPT disks written by the real tools; shows the console and a one-line summary.
demo: build
	tests/vm/demo.sh

# Every boot scenario (tests/vm/boot/run.sh: GPT, RAID5+LVM flagship, partitioned MD, degraded,
# hot-plug, missing root, ...): ~13 QEMU boots, a few minutes; disk sets cached in .cache/.
boot-test: build
	tests/vm/boot/run.sh

clean:
	cargo clean
