#!/bin/bash
# Installs every system package the build and the tests need on a fresh Debian 12 machine.
set -euo pipefail
pkgs=(
  # build: bindgen needs clang's headers, devicemapper-sys needs libdevmapper's, static musl
  clang libclang-dev libdevmapper-dev pkg-config musl-tools
  # fixtures are written by the real tools
  python3 fdisk gdisk lvm2 mdadm dmsetup kpartx e2fsprogs xfsprogs btrfs-progs dosfstools squashfs-tools
  erofs-utils cryptsetup-bin
  # thin_check/cache_check: lvm2 runs them before it activates a pool (the VM oracle carries them)
  thin-provisioning-tools
  # the second batch of identification fixtures (tests/fixtures/fs/gen-more.sh)
  genisoimage xorriso udftools f2fs-tools exfatprogs ntfs-3g jfsutils nilfs-tools reiserfsprogs
  util-linux-extra genromfs bcache-tools drbd-utils
  # VM tests: a Debian kernel under QEMU, busybox for the harness shell
  qemu-system-x86 qemu-utils cpio busybox-static kmod zstd xz-utils jq
  # the initramfs-hooks/ boot scenario runs Debian's mkinitramfs (for the cached guest kernel
  # only); not on a machine that boots with dracut (they conflict: apt would remove dracut)
  $(dpkg-query -W -f='${Status}' dracut 2>/dev/null | grep -q 'install ok installed' || echo initramfs-tools)
  # the mkinitcpio boot scenarios run Arch's mkinitcpio, which packs images with bsdtar
  libarchive-tools
  # make deb and its checks: lintian; the `deb` boot scenario's Debian chroot
  lintian debootstrap binutils
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if command -v rustup >/dev/null; then
  rustup target list --installed | grep -q x86_64-unknown-linux-musl || rustup target add x86_64-unknown-linux-musl
  # `make fuzz` / `make fuzz-smoke`: cargo-fuzz needs the nightly toolchain (-Z sanitizer
  # flags, libFuzzer's coverage instrumentation).
  rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
  command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
fi
