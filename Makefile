# evms-activate: `make test` and `make demo` work on a fresh Debian 12 machine as root.
SHELL := /bin/bash
export PKG_CONFIG_ALLOW_CROSS := 1
TARGET := x86_64-unknown-linux-musl
BIN := target/$(TARGET)/release/evms-activate
CACHE := $(CURDIR)/.cache
export CACHE

.PHONY: all deps build test unit vm demo bench fuzz clean

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

# Real-kernel activation tests, mdadm/lvm2/kpartx as the oracle (tests/vm/README.md).
vm: build
	tests/vm/run.sh -j 2

clean:
	cargo clean
