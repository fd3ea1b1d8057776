#!/bin/bash
# A minimal initramfs for evms-activate: our static binary as /init and the kernel modules it
# may need, nothing else (no shell, no libc, no udev, no lvm2/mdadm).
#
#   tests/vm/mkinitramfs.sh OUT --kver KVER --modules-from KROOT [options]
#     --kver KVER            kernel release (directory name under lib/modules)
#     --modules-from KROOT   tree holding lib/modules/KVER (an unpacked kernel package, or /)
#     --modules "m1 m2"      extra modules (names or aliases), with their dependencies
#     --preload "m1 m2"      write /etc/evms/modules so /init loads these at start (filesystem
#                            modules when root= gives no type, a driver with no modalias, ...)
#     --file SRC:DST         extra file (repeatable: /etc/mdadm/mdadm.conf, /bin/sh, ...)
#     --bin PATH             the binary (default: target/x86_64-unknown-linux-musl/release/
#                            evms-activate)
#     --compress gzip|zstd|xz|none   (default gzip; the Debian kernel reads all of them)
#
# The default module set covers what root's chain can need on a virtio/SCSI/SATA machine:
# controllers and disks (virtio_pci virtio_blk virtio_scsi sd_mod ahci), device-mapper (dm-mod,
# dm-zero for error/zero targets, dm-raid and dm-mirror for LVM RAID, mirror and pvmove LVs),
# MD (md-mod linear raid0 raid1 raid10 raid456) and ext4 with
# crc32c_generic, which libcrc32c needs first (a softdep: modprobe --show-depends lists it,
# busybox modprobe would not load it; our loader reads modules.softdep and does). Modules the
# kernel has built in are skipped silently; missing ones are an error.
#
# /lib/modules/KVER gets the text indexes our loader reads, made by depmod for exactly the
# modules copied (modules.dep, modules.alias, modules.softdep, modules.builtin,
# modules.builtin.modinfo); the binary indexes are dropped (only kmod reads them).
#
# Prints the image path and its size in bytes on the last line:  OUT SIZE bytes (N files).
set -euo pipefail

die() { echo "mkinitramfs: $*" >&2; exit 1; }

[ $# -ge 1 ] || die "usage: $0 OUT --kver KVER --modules-from KROOT [--modules ...] [--preload ...] [--file SRC:DST]..."
out=$1; shift
top=$(cd "$(dirname "$0")/../.." && pwd)
kver="" kroot="" extra="" preload="" compress=gzip
bin=$top/target/x86_64-unknown-linux-musl/release/evms-activate
files=()
while [ $# -gt 0 ]; do
  case $1 in
    --kver) kver=$2; shift 2 ;;
    --modules-from) kroot=$2; shift 2 ;;
    --modules) extra="$extra $2"; shift 2 ;;
    --preload) preload="$preload $2"; shift 2 ;;
    --file) files+=("$2"); shift 2 ;;
    --bin) bin=$2; shift 2 ;;
    --compress) compress=$2; shift 2 ;;
    *) die "unknown option $1" ;;
  esac
done
[ -n "$kver" ] || die "--kver is required"
[ -n "$kroot" ] || die "--modules-from is required"
moddir=$kroot/lib/modules/$kver
[ -f "$moddir/modules.dep" ] || die "$moddir/modules.dep missing (run depmod -b $kroot $kver)"
[ -x "$bin" ] || die "no binary at $bin (cargo build --release --target x86_64-unknown-linux-musl)"
# A dynamic /init would need a loader and libc in the image: refuse it.
# (ldd, from libc-bin, is on every Debian system; file(1) is not.)
ldd "$bin" 2>&1 | grep -qE 'statically linked|not a dynamic executable' || die "$bin is not statically linked"

modules="virtio_pci virtio_blk virtio_scsi sd_mod ahci dm-mod dm-zero md-mod linear raid0 raid1
  raid10 raid456 dm-raid dm-mirror crc32c_generic ext4 $extra $preload"

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
install -m 755 "$bin" "$root/init"
mkdir -p "$root/lib/modules/$kver"

# Each module with its dependencies and softdeps, as modprobe resolves them (-C /dev/null: the
# tree's own indexes only, not this host's /etc/modprobe.d).
for m in $modules; do
  # A module built into the kernel has no file and nothing to copy.
  if grep -qE "(^|/)$(echo "$m" | sed 's/[-_]/[-_]/g')\.ko" "$moddir/modules.builtin" 2>/dev/null; then
    continue
  fi
  deps=$(modprobe -C /dev/null -d "$kroot" -S "$kver" --show-depends "$m" 2>&1) ||
    die "no module $m for $kver in $kroot ($deps)"
  echo "$deps" | awk '$1 == "insmod" { print $2 }'
done | awk '!seen[$0]++' | while read -r path; do
  rel=${path#"$moddir"/}
  mkdir -p "$root/lib/modules/$kver/$(dirname "$rel")"
  cp "$path" "$root/lib/modules/$kver/$rel"
done

# depmod wants the builtin lists beside the modules (it also writes them into its indexes).
for f in modules.builtin modules.builtin.modinfo modules.order; do
  [ -f "$moddir/$f" ] && cp "$moddir/$f" "$root/lib/modules/$kver/"
done
depmod -b "$root" "$kver"
(cd "$root/lib/modules/$kver" && rm -f ./*.bin modules.symbols modules.devname modules.order)
for f in modules.dep modules.alias modules.softdep modules.builtin modules.builtin.modinfo; do
  [ -f "$root/lib/modules/$kver/$f" ] || die "depmod did not write $f"
done

if [ -n "${preload// /}" ]; then
  mkdir -p "$root/etc/evms"
  for m in $preload; do echo "$m"; done > "$root/etc/evms/modules"
fi
for f in "${files[@]}"; do
  src=${f%%:*} dst=${f#*:}
  [ -e "$src" ] || die "--file: no $src"
  mkdir -p "$root$(dirname "$dst")"
  cp -L "$src" "$root$dst"
done

case $compress in
  gzip) z=(gzip -9 -n) ;;
  zstd) z=(zstd -q -19 -T0) ;;
  xz) z=(xz -q --check=crc32 -T1) ;; # the kernel's xz decoder wants CRC32
  none) z=(cat) ;;
  *) die "unknown --compress $compress" ;;
esac
nfiles=$(cd "$root" && find . -type f | wc -l)
# Sorted names, fixed owners and times: the same inputs give the same image.
find "$root" -mindepth 1 -exec touch -h -d @0 {} +
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
  cpio -o -H newc --quiet --reproducible -R 0:0) | "${z[@]}" > "$out"
size=$(stat -c %s "$out")
echo "$out $size bytes ($nfiles files)"
