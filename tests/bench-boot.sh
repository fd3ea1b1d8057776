#!/bin/bash
# Boot benchmark (part of `make bench`): the user-space part of the boot — the kernel's
# "Run /init" → root mounted ("EXT4-fs (dm-0): mounted", both on the kernel's log clock) — on
# the flagship disks (3 x GPT → MD RAID5 → LVM vg0 → ext4 root; tests/vm/boot/disks.sh), for
#   ours      an initramfs holding only evms-activate as /init and the modules it may need
#             (tests/vm/mkinitramfs.sh), root=/dev/vg0/root;
#   busybox   the hand-made baseline: busybox + mdadm + lvm2 (with their libraries) and the same
#             modules, an /init script that insmods them, runs `mdadm --assemble --scan` and
#             `lvm vgchange -ay vg0`, mounts root read-only (as ours does).
# Same kernel, same QEMU settings, alternating runs. Medians are printed with the ratio; nothing
# is asserted. Dracut and initramfs-tools images are not built here (they need the distribution's
# generators installed for the guest kernel): tests/vm/boot/run.sh measures initramfs-tools when
# that package is present.
# Usage: tests/bench-boot.sh [RUNS]   (default 3)
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
: "${CACHE:=$ROOT/.cache}"
export CACHE
. "$ROOT/tests/vm/lib.sh"
vm_kernel || exit 1
runs=${1:-3}
BIN=$ROOT/target/x86_64-unknown-linux-musl/release/evms-activate
[ -x "$BIN" ] || (cd "$ROOT" && cargo build --release --target x86_64-unknown-linux-musl) || exit 1
work=$CACHE/bench-boot
rm -rf "$work" && mkdir -p "$work"
set_dir=$("$ROOT/tests/vm/boot/disks.sh" flagship) || { echo "cannot build the flagship disks"; exit 1; }

# ours
"$ROOT/tests/vm/mkinitramfs.sh" "$work/ours.gz" --kver "$KVER" --modules-from "$KROOT" --bin "$BIN" >/dev/null || exit 1

# baseline: busybox + mdadm + lvm2
r=$work/bb
mkdir -p "$r"/{usr/bin,usr/sbin,usr/lib,usr/lib64,etc/lvm,proc,sys,dev,run,sysroot,lib/modules/"$KVER"}
ln -s usr/bin "$r/bin"; ln -s usr/sbin "$r/sbin"
rmdir "$r/lib/modules/$KVER" "$r/lib/modules" && rmdir "$r/lib" 2>/dev/null; ln -s usr/lib "$r/lib"; ln -s usr/lib64 "$r/lib64"
mkdir -p "$r/lib/modules/$KVER"
cp /bin/busybox "$r/bin/busybox"
for t in mdadm lvm; do vm_copy_tool "$r" "$(readlink -f "$(command -v $t)")"; done
mods="virtio_pci virtio_blk crc32c_generic dm-mod md-mod raid456 ext4"
for m in $(vm_module_list $mods); do
  mkdir -p "$r/lib/modules/$KVER/$(dirname "$m")"
  cp "$KROOT/lib/modules/$KVER/$m" "$r/lib/modules/$KVER/$m"
  echo "$m" >> "$r/modules.load"
done
cat > "$r/etc/lvm/lvm.conf" <<'EOF'
activation { udev_sync = 0 udev_rules = 0 monitoring = 0 }
devices { obtain_device_list_from_udev = 0 }
EOF
cat > "$r/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sys /sys
/bin/busybox mount -t devtmpfs dev /dev
/bin/busybox mount -t tmpfs run /run
while read -r m; do /bin/busybox insmod "/lib/modules/$(/bin/busybox uname -r)/$m"; done < /modules.load
# The disks appear asynchronously after virtio_blk loads: wait for the three partitions.
i=0; while [ ! -b /dev/vdc1 ] && [ $i -lt 500 ]; do /bin/busybox usleep 10000; i=$((i+1)); done
/usr/sbin/mdadm --assemble --scan
/usr/sbin/lvm vgchange -ay vg0
/bin/busybox mount -o ro /dev/mapper/vg0-root /sysroot
# The console shows only up to NOTICE; the full kernel log carries the two timestamps.
/bin/busybox dmesg
/bin/busybox poweroff -f
EOF
chmod +x "$r/init"
(cd "$r" && find . | cpio -o -H newc --quiet | gzip -1) > "$work/busybox.gz"

t() { grep -E -- "$2" "$1" | head -1 | grep -oE '\[ *[0-9]+\.[0-9]+\]' | head -1 | tr -d '[] '; }
one() { # NAME INITRD LOG [EXTRA-ARGS]
  local d=()
  for i in 1 2 3; do cp --sparse=always "$set_dir/disk$i.img" "$work/d$i.img"; d+=(--disk "$work/d$i.img"); done
  vm_run "$2" "$3" --timeout 180 --append "no_timer_check root=/dev/vg0/root loglevel=6 ${4:-}" "${d[@]}" >/dev/null 2>&1
  local a b
  a=$(t "$3" 'Run /init as init process'); b=$(t "$3" 'EXT4-fs \(dm-0\): mounted')
  [ -n "$a" ] && [ -n "$b" ] && awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f\n", b - a }'
}
# Ours logs (debug level, kernel log only) the time spent inside finit_module by the root-mounted
# stage: the kernel's own share (signature checks, relocation, raid6/xor benchmarks at load).
kt() { sed -n 's/.*stage root-mounted t=[0-9.]* in-finit_module=\([0-9.]*\).*/\1/p' "$1" | head -1; }
ours=() bb=() kern=()
for n in $(seq "$runs"); do
  o=$(one ours "$work/ours.gz" "$work/ours$n.log" evms.debug); [ -n "$o" ] && ours+=("$o")
  k=$(kt "$work/ours$n.log"); [ -n "$k" ] && kern+=("$k")
  b=$(one busybox "$work/busybox.gz" "$work/busybox$n.log"); [ -n "$b" ] && bb+=("$b")
done
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "-" }'; }
mo=$(median "${ours[@]}"); mb=$(median "${bb[@]}")
echo "boot, Run /init → root mounted (guest s, kernel log clock, median of $runs; QEMU TCG):"
printf '  %-34s %s   (runs: %s)\n' "evms-activate as /init" "$mo" "${ours[*]}"
printf '  %-34s %s   (runs: %s)\n' "  of which inside finit_module" "$(median "${kern[@]}")" "${kern[*]}"
printf '  %-34s %s   (runs: %s)\n' "busybox + mdadm + lvm2 /init" "$mb" "${bb[*]}"
awk -v o="$mo" -v b="$mb" 'BEGIN { if (o > 0 && b > 0) printf "  ratio busybox+mdadm+lvm2 / ours: %.1fx\n", b / o }'
echo "  initramfs sizes: ours $(stat -c %s "$work/ours.gz") bytes, busybox+mdadm+lvm2 $(stat -c %s "$work/busybox.gz") bytes"
