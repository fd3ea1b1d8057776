# evms-activate: `make test` and `make demo` work on a fresh Debian 12 machine as root.
SHELL := /bin/bash
export PKG_CONFIG_ALLOW_CROSS := 1
TARGET := x86_64-unknown-linux-musl
BIN := target/$(TARGET)/release/evms-activate
CACHE := $(CURDIR)/.cache
export CACHE

.PHONY: all deps build test unit demo boot-test bench fuzz clean md-fixtures md-data

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

test: build unit

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
