#!/bin/bash
# Boot benchmark (part of `make bench`): the kernel's "Run /init" → root mounted ("EXT4-fs
# (dm-N): mounted", both on the kernel log's clock) on the flagship disks (3 x GPT → MD RAID5 →
# LVM vg0 → ext4 root; tests/vm/boot/disks.sh), root=/dev/vg0/root, for
#   ours            only evms-activate as /init and the modules it may need
#                   (tests/vm/mkinitramfs.sh); -smp 1
#   ours-smp2       the same with -smp 2: the modules activation needs (raid456, dm-mod, ext4)
#                   load side by side
#   ours-smp2-serial  -smp 2 with evms.modules=serial (one at a time), to compare (under TCG
#                   the two are close: both vCPUs stop for each module's page flush)
#   busybox         the hand-made baseline: busybox + mdadm + lvm2 (with their libraries) and
#                   the same modules, an /init script that insmods them, runs
#                   `mdadm --assemble --scan` and `lvm vgchange -ay vg0`, mounts root read-only
#   initramfs-tools Debian's mkinitramfs as installed (lvm2's and mdadm's hooks and scripts,
#                   udev), modules list virtio_pci virtio_blk ext4 (+ what the hooks add)
#   dracut          Debian's dracut 059 (dracut-core unpacked into the cache), its lvm and
#                   mdraid modules, systemd + udev; rd.auto (a generic image assembles nothing
#                   by itself otherwise)
#   ours-icount, busybox-icount  ours and busybox again under -icount shift=0,sleep=on (one
#                   vCPU): guest time counts instructions, as in the activation benchmark.
#                   Plain TCG charges the first run of any code for translating it (most of
#                   our part of a plain boot: tens of thousands of blocks run once), which a
#                   CPU does not; icount shows the instructions, and repeats.
# Plain QEMU TCG otherwise (parallel module loading needs two CPUs running at once), the
# images alternating, medians reported. The test root's /sbin/init (tests/vm/boot/root-init.sh)
# dumps the kernel's milestones (disk found, raid6 benchmark done, array started, root mounted)
# and our stage lines: the timeline.
#
# stdout: one line per boot, `boot IMAGE mounted=S in_finit_module=S in_kernel_calls=S
# in_mount=S at:EVENT=S...` (seconds after "Run /init"); a human summary goes to stderr. The images stay
# in .cache/bench-boot for tests/bench/size.sh.
# Usage: tests/bench-boot.sh [RUNS]   (default 3; the generators' images run RUNS-1 times, >= 1)
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
log() { echo "bench-boot: $*" >&2; }
set_dir=$("$ROOT/tests/vm/boot/disks.sh" flagship) || { log "cannot build the flagship disks"; exit 1; }

# --- ours ------------------------------------------------------------------------------------------
"$ROOT/tests/vm/mkinitramfs.sh" "$work/ours.gz" --kver "$KVER" --modules-from "$KROOT" --bin "$BIN" >/dev/null || exit 1

# --- busybox + mdadm + lvm2 ------------------------------------------------------------------------
r=$work/bb
mkdir -p "$r"/{usr/bin,usr/sbin,usr/lib,usr/lib64,etc/lvm,proc,sys,dev,run,sysroot}
ln -s usr/bin "$r/bin"; ln -s usr/sbin "$r/sbin"; ln -s usr/lib "$r/lib"; ln -s usr/lib64 "$r/lib64"
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
for m in proc sys dev run; do /bin/busybox mount --move /$m /sysroot/$m; done
exec /bin/busybox switch_root /sysroot /sbin/init
EOF
chmod +x "$r/init"
(cd "$r" && find . | cpio -o -H newc --quiet | gzip -1) > "$work/busybox.gz"

# --- the distributions' generators -------------------------------------------------------------------
# initramfs-tools: mkinitramfs reads /lib/modules/KVER and /boot/config-KVER only: lend it the
# cached kernel's (symlinks, removed afterwards; so is /lib/modules if it did not exist).
itools() {
  local conf=$work/itools-conf made=() x rc=0 lm_made=
  [ -x /usr/sbin/mkinitramfs ] || { log "initramfs-tools: mkinitramfs not installed"; return 1; }
  [ -e /lib/modules ] || lm_made=y
  for x in "/lib/modules/$KVER:$KROOT/lib/modules/$KVER" "/boot/config-$KVER:$KROOT/boot/config-$KVER"; do
    if [ ! -e "${x%%:*}" ]; then
      mkdir -p "$(dirname "${x%%:*}")" && ln -s "${x#*:}" "${x%%:*}" && made+=("${x%%:*}")
    fi
  done
  rm -rf "$conf" && cp -a /etc/initramfs-tools "$conf" &&
    printf 'MODULES=list\nBUSYBOX=y\nCOMPRESS=gzip\n' > "$conf/initramfs.conf" &&
    printf 'virtio_pci\nvirtio_blk\next4\n' > "$conf/modules" &&
    mkinitramfs -d "$conf" -o "$work/itools.img" "$KVER" > "$work/itools.build.log" 2>&1 || rc=$?
  for x in "${made[@]}"; do rm -f "$x"; done
  [ -n "$lm_made" ] && rmdir /lib/modules
  [ $rc -eq 0 ] || { log "mkinitramfs failed ($work/itools.build.log)"; return 1; }
}
dracut_img() {
  local dr=$CACHE/dracut
  if [ ! -x "$dr/root/usr/bin/dracut" ]; then
    rm -rf "$dr" && mkdir -p "$dr"
    (cd "$dr" && { apt-get download dracut-core >/dev/null 2>&1 ||
      { apt-get update -qq && apt-get download dracut-core >/dev/null 2>&1; }; } &&
      dpkg -x dracut-core_*.deb root) || { log "cannot get Debian's dracut-core package"; return 1; }
  fi
  rm -rf "$work/dracut-base" && cp -a "$dr/root/usr/lib/dracut" "$work/dracut-base" && mkdir -p "$work/dracut-confd" &&
    dracutbasedir=$work/dracut-base bash "$dr/root/usr/bin/dracut" --conf /dev/null --confdir "$work/dracut-confd" \
      --no-hostonly --kver "$KVER" --kmoddir "$KROOT/lib/modules/$KVER" --add "lvm mdraid" \
      --omit "dmraid crypt multipath nvdimm btrfs plymouth kernel-modules kernel-modules-extra qemu" \
      --drivers "virtio_pci virtio_blk ext4" --force "$work/dracut.img" > "$work/dracut.build.log" 2>&1 ||
    { log "dracut failed ($work/dracut.build.log)"; return 1; }
}
images=(ours busybox)
itools && images+=(initramfs-tools)
dracut_img && images+=(dracut)

# --- boots -------------------------------------------------------------------------------------------
# First console/dmesg timestamp of a pattern (the root's dmesg dump holds what the console,
# at loglevel 6, may not).
t_of() { # LOG PATTERN
  { grep -E -- "^EVMS-DMESG .*$2" "$1"; grep -E -- "$2" "$1"; } | head -1 | grep -oE '\[ *[0-9]+\.[0-9]+\]' | head -1 | tr -d '[] '
}
one() { # IMAGE RUN
  local img=$1 n=$2 ir append="no_timer_check root=/dev/vg0/root loglevel=6" smp=1 d=() i lg a b s q=()
  case $img in
    *-icount) q=(--qemu-arg -icount --qemu-arg shift=0,sleep=on) ;;
  esac
  case ${img%-icount} in
    ours) ir=$work/ours.gz; append="$append evms.debug" ;;
    ours-smp2) ir=$work/ours.gz; append="$append evms.debug"; smp=2 ;;
    ours-smp2-serial) ir=$work/ours.gz; append="$append evms.debug evms.modules=serial"; smp=2 ;;
    busybox) ir=$work/busybox.gz ;;
    initramfs-tools) ir=$work/itools.img ;;
    dracut) ir=$work/dracut.img; append="$append rd.auto rd.timeout=60" ;;
  esac
  for i in 1 2 3; do cp --sparse=always "$set_dir/disk$i.img" "$work/d$i.img"; d+=(--disk "$work/d$i.img"); done
  lg=$work/$img.$n.log
  vm_run "$ir" "$lg" --timeout 240 --smp "$smp" --append "$append" "${d[@]}" "${q[@]}" >/dev/null 2>&1
  a=$(t_of "$lg" 'Run /init as init process'); b=$(t_of "$lg" 'EXT4-fs \(dm-[0-9]+\): mounted')
  if [ -z "$a" ] || [ -z "$b" ]; then log "$img run $n: root was not mounted (log: $lg)"; return; fi
  s="boot $img run=$n mounted=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", b - a }')"
  # ours' own accounts at root-mounted: inside finit_module, inside the DM/MD calls, inside
  # mount(2) of root
  s="$s $(sed -n 's/.*stage root-mounted t=[0-9.]* in-finit_module=\([0-9.]*\) in-dm-md=\([0-9.]*\).*/in_finit_module=\1 in_kernel_calls=\2/p' "$lg" | head -1)"
  s="$s $(sed -n 's/.*stage root-mounted .* in-mount=\([0-9.]*\).*/in_mount=\1/p' "$lg" | head -1)"
  local ev pat t
  for ev in "disk:virtio_blk .*\\[vda\\]" "raid6-bench-done:raid6: using" "array-started:md/raid:md[0-9]+: raid level" \
    "modules-loaded:stage modules-loaded" "root-chain-active:stage root-chain-active" "root-mounted:EXT4-fs \\(dm-[0-9]+\\): mounted"; do
    pat=${ev#*:}
    t=$(t_of "$lg" "$pat")
    [ -n "$t" ] && s="$s at:${ev%%:*}=$(awk -v a="$a" -v b="$t" 'BEGIN { printf "%.3f", b - a }')"
  done
  echo "$s"
}
all=()
for n in $(seq "$runs"); do
  for img in "${images[@]}" ours-smp2 ours-smp2-serial ours-icount busybox-icount; do
    case $img in initramfs-tools | dracut) [ "$n" -lt "$runs" ] || [ "$runs" -eq 1 ] || continue ;; esac
    line=$(one "$img" "$n")
    [ -n "$line" ] && { echo "$line"; all+=("$line"); }
  done
done

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "-" }'; }
{
  echo "boot, Run /init → root mounted (guest s, kernel log clock, median; QEMU TCG):"
  for img in "${images[@]}" ours-smp2 ours-smp2-serial ours-icount busybox-icount; do
    m=$(printf '%s\n' "${all[@]}" | awk -v i="$img" '$2 == i' | grep -o 'mounted=[0-9.]*' | cut -d= -f2 | median)
    printf '  %-20s %s\n' "$img" "$m"
  done
} >&2
