#!/bin/bash
# `make demo`: boot a real Debian kernel (QEMU) whose initramfs holds only evms-activate as
# /init, with root on LVM on MD RAID5 over three GPT disks, all written by the real tools
# (sfdisk, mdadm, lvm2, mke2fs: tests/vm/boot/disks.sh flagship, cached). The console is shown
# live: the kernel, our log lines, then the real root's /sbin/init proving where it runs.
# Ends with a one-line summary; exit 0 when the root's init reported in.
#
# Needs: root, the packages of tests/deps.sh (make demo installs them), a Rust toolchain with
# the x86_64-unknown-linux-musl target. First run: ~1 min for the kernel package and the disks;
# later runs reuse .cache/ and take ~30 s.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
: "${CACHE:=$top/.cache}"
export CACHE
. "$top/tests/vm/lib.sh"
say() { printf '\033[1m== %s\033[0m\n' "$*"; }

BIN=${BIN:-$top/target/x86_64-unknown-linux-musl/release/evms-activate}
if [ ! -x "$BIN" ]; then
  command -v cargo >/dev/null || { echo "demo: no cargo; install Rust (rustup) first" >&2; exit 1; }
  say "building the static binary"
  (cd "$top" && PKG_CONFIG_ALLOW_CROSS=1 cargo build --release --target x86_64-unknown-linux-musl)
fi
say "binary: $BIN ($(stat -c %s "$BIN") bytes, $(ldd "$BIN" 2>&1 | sed 's/^[[:space:]]*//'))"

say "kernel"
vm_kernel
echo "$VMLINUZ ($KVER)"

say "disks: 3 x GPT -> MD RAID5 (mdadm, metadata 1.2) -> LVM vg0 {root, home} -> ext4 LABEL=root"
set_dir=$("$top/tests/vm/boot/disks.sh" flagship)
sed -n 's/^\(MD_LEVEL\|MD_UUID\|MD_NAME\|ROOTLV_UUID\|ROOTLV_LABEL\)=/  \1=/p' "$set_dir/meta.env"
work=$CACHE/demo
rm -rf "$work"; mkdir -p "$work"
disks=()
for i in 1 2 3; do
  cp --sparse=always "$set_dir/disk$i.img" "$work/disk$i.img"
  disks+=(--disk "$work/disk$i.img")
done

say "initramfs: only /init (evms-activate) and kernel modules"
ir=$("$top/tests/vm/mkinitramfs.sh" "$work/initrd.gz" --bin "$BIN" --kver "$KVER" --modules-from "$KROOT")
echo "$ir"
ir_size=$(stat -c %s "$work/initrd.gz")

append="root=/dev/vg0/root evms.debug loglevel=7 no_timer_check"
say "booting: qemu-system-x86_64 -accel tcg ... -append \"$append\""
log=$work/console.log
start=$(date +%s.%N)
vm_run "$work/initrd.gz" "$log" --timeout 180 --append "$append" "${disks[@]}" &
qemu=$!
# Live console. The root's init ends with a dump of our kernel log lines (EVMS-DMESG); of
# those only the stage times are shown, the rest was on the console already.
for _ in $(seq 100); do [ -e "$log" ] && break; sleep 0.05; done
tail -n +1 --pid=$qemu -f "$log" | tr -d '\r' | awk '!/^EVMS-DMESG/ || /stage / { print; fflush() }' || true
rc=0; wait $qemu || rc=$?
wall=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')

t() { grep -E "stage $1 t=" "$log" | head -1 | sed -n 's/.*stage [a-z-]* t=\([0-9.]*\).*/\1/p'; }
if [ $rc -eq 0 ] && grep -q '^EVMS-ROOT-OK pid=1' "$log" && grep -q '^EVMS-ROOTDEV .* vg0-root$' "$log"; then
  stages=$(awk -v s="$(t start)" -v c="$(t root-chain-active)" -v w="$(t switch-root)" \
    'BEGIN { printf "root chain active %.2f s, real init running %.2f s after /init started", c - s, w - s }')
  active=$(grep -c '^EVMS-DM ' "$log")
  echo
  say "demo OK: root=/dev/vg0/root (LVM on MD RAID5, 3 disks) found, assembled and mounted by evms-activate as /init; $stages (guest, TCG); $active DM device active (vg0/home left for the system); udev records and /run/mdadm/map handed over; initramfs $ir_size bytes; $wall s wall"
else
  echo
  say "demo FAILED (qemu rc $rc): the root's init did not report; console log: $log"
  exit 1
fi
