#!/bin/bash
# Boot VM test for src/boot (PID 1): our static binary as the initramfs /init in a real kernel
# (QEMU TCG), the initramfs made by tests/vm/mkinitramfs.sh (the binary, modules, depmod's text
# indexes; nothing else), disks written by the real tools (tests/vm/boot/disks.sh, cached).
# Every root filesystem's /sbin/init is tests/vm/boot/root-init.sh: it prints EVMS-* lines
# (PID, mounts, the device behind /, DM and MD devices with their udev records, nodes and
# links, /run/mdadm/map, our kernel log lines) and powers off; the host asserts them.
#
# Scenarios (each one QEMU boot):
#   ok              whole-disk ext4, root=/dev/vda rootfstype=ext4: coldplug loads virtio_pci,
#                   vda's uevent loads virtio_blk, mount, switch_root, init gets its arguments.
#   fstype          root=/dev/vda rw without rootfstype, /etc/evms/modules lists ext4.
#   gpt             root=PARTUUID= of partition 2 of a GPT disk.
#   flagship-path   3 disks → GPT partitions → MD RAID5 (1.2) → LVM VG vg0 (root, home) →
#   flagship-uuid   ext4 LABEL=root on vg0/root; booted by root=/dev/vg0/root, UUID= and
#   flagship-label  LABEL=: only root's chain is active at switch_root (vg0/home is not),
#                   udev records for the LV and the array, /dev/mapper, /dev/VG, /dev/md links,
#                   /run/mdadm/map as mdadm writes it. Stage times are printed.
#   flagship-all    the same disks with rd.auto: everything is activated, home included.
#   flagship-resume resume=/dev/vg0/home: home's chain too, handed to /sys/power/resume before
#                   root is mounted; the kernel finds no image and the boot goes on.
#   thin-root       root=/dev/vgb/thinroot, a thin LV: the pool's tmeta/tdata/tpool and the thin
#                   LV only (tests/vm/boot/disks.sh set lvmsnap).
#   snap-root       rd.lvm.lv=vgb/snap root=/dev/vgb/snap (boom style): the COW snapshot with its
#                   origin (-real, snapshot-origin, -cow, snapshot); the snapshot's filesystem.
#   cache-root      root=/dev/vgb/cacheroot, an LV cached by a cache pool: cdata, cmeta, corig,
#                   cache; dm-cache and dm-cache-smq loaded by need.
#   mdpart          MD RAID1 over two whole disks, GPT on the array, root=PARTUUID= of md127p1.
#   bcache          root on bcache: the backing device (writeback) on disk 1, the cache on disk 2,
#                   root's blocks dirty in the cache (unreadable in user space): root=LABEL=
#                   makes /init load bcache, register both through /sys/fs/bcache/register and
#                   mount /dev/bcache0; udev's /dev/bcache/by-uuid link is made.
#   degraded        the flagship with disk 3 absent: after the degraded grace period (default
#                   10 s) the array starts degraded and root is mounted.
#   hotplug         no disk at boot; the GPT disk is added through QMP (blockdev-add +
#                   device_add virtio-blk-pci) once /init says it is still waiting.
#   hotplug-garbage a disk of random bytes with LVM and MD magics is hot-plugged first: a
#                   warning naming device, format, offset and field; then the GPT disk boots.
#   lvraid1         root=UUID= of ext4 on an LVM raid1 LV (two whole-disk PVs): the UUID is
#                   found by reading the LV's images in user space; lvm2's devices (rmeta/
#                   rimage pairs, then the raid1) are loaded, each with its udev record.
#   lvraid1-degraded the same with the second disk absent: root's LV waits for its missing
#                   PV through the degraded grace period (as an MD array does), then comes up
#                   degraded as lvm2's default activation_mode does (error devices for the
#                   missing image and metadata LV's areas), and the system boots.
#   missing         root=/dev/vdb rd.timeout=3 panic=5: the diagnostic (what is missing, what
#                   was seen) within timeout + 2 s, then a reboot (QEMU exits: -no-reboot).
#   missing-md      the flagship's disk 1 alone, root=/dev/vg0/root: the diagnostic names the
#                   array that cannot start and the member partition seen.
#   noshell         rd.shell without a shell in the initramfs: a clear message, then panic=.
#   initramfs-tools Debian's mkinitramfs with initramfs-hooks/ (our hook and scripts; lvm2's
#                   and mdadm's activation removed from the image) on the flagship disks;
#                   skipped when initramfs-tools is not installed.
#   initramfs-tools-mdlvm  the same generator (udev running) on the mdlvm disks: root on an
#                   LV whose PV is md127p2, a partition inside an array the same `activate`
#                   starts; the first activate (local-top) must bring root up in one run.
#   initramfs-tools-stepaside  the same with EVMS_ONLY=no: our scripts are not in the image,
#                   lvm2's and mdadm's udev activation is, and activates (vg0/home too).
#   dracut          Debian's dracut 059 (unpacked, not installed) with dracut-module/ and
#                   without its lvm and mdraid modules (systemd + udev image) on the flagship.
#   mkinitcpio      Arch's mkinitcpio 41 (source unpacked into the cache, run on Debian) with
#                   mkinitcpio/ and HOOKS=(base udev modconf block evms filesystems).
#   mkinitcpio-nobin the same without our binary: the build says so, and the boot shows our
#                   message, then mkinitcpio's own failure path (its emergency shell prompt).
#   deb             the Debian package (make deb) installed into a cached Debian chroot with
#                   lvm2 and mdadm: the image its update-initramfs trigger made boots the flagship.
#   luks-root       an installer's encrypted LVM (GPT → LUKS2 → LVM → ext4 root + swap) with
#                   resume= on the swap LV, crypttab in the initramfs: the passphrase is typed on
#                   the serial console at our prompt (no echo); root's chain and the swap come up,
#                   the crypt device as cryptsetup names and identifies it, with its udev record;
#                   no volume key is left in a keyring.
#   luks-keyfile    the same disk, no crypttab: rd.luks.name=UUID=cryptroot and
#                   rd.luks.key=/etc/keys/root.key (a key file in the initramfs): no prompt.
#   luks-wrong      three wrong passphrases: the console says so each time, then the failure
#                   policy (panic=5: a reboot).
#   luks-stack      the founding stack (4 × LUKS2 → MD RAID5 → LVM → root), no crypttab: the
#                   passphrase typed once opens all four (dracut's luks-UUID names).
#   luks-systemd    the luks-root disk with a Debian systemd root whose crypttab names the volume
#                   as the initramfs' does: systemd-cryptsetup finds it active, nothing asks
#                   again, multi-user.target is reached, swap on the LV is used.
#   initramfs-tools-luks, dracut-luks  the luks-root disk through the generators with our hook /
#                   module and the system's crypttab, without cryptsetup in the image: the
#                   passphrase is typed at the prompt each image shows (ours on the console;
#                   systemd's console password agent in dracut's image).
#
# Usage: tests/vm/boot/run.sh [scenario...]   (builds the musl binary if missing)
# Prints the initramfs size, guest times and PASS/FAIL per scenario; exit 0 when all pass.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
: "${CACHE:=$top/.cache}"
export CACHE
. "$top/tests/vm/lib.sh"
vm_kernel || exit 1

BIN=${BIN:-$top/target/x86_64-unknown-linux-musl/release/evms-activate}
if [ ! -x "$BIN" ]; then
  (cd "$top" && PKG_CONFIG_ALLOW_CROSS=1 cargo build --release --target x86_64-unknown-linux-musl) || exit 1
fi

work=$CACHE/vm-boot
# TCG on a loaded host can fail the kernel's IO-APIC timer check ("IO-APIC + timer doesn't
# work!" panic at 0.05 s): skip it.
TIMER=no_timer_check
rm -rf "$work"; mkdir -p "$work"

scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(ok fstype gpt flagship-path flagship-uuid flagship-label
  flagship-all flagship-resume thin-root snap-root cache-root mdpart bcache degraded lvraid1
  lvraid1-degraded hotplug hotplug-garbage missing missing-md noshell initramfs-tools
  initramfs-tools-stepaside initramfs-tools-mdlvm dracut mkinitcpio mkinitcpio-nobin deb
  luks-root luks-keyfile luks-wrong luks-stack luks-systemd initramfs-tools-luks dracut-luks)

# --- initramfs images --------------------------------------------------------------------------
mkir() { # OUT [mkinitramfs options]
  local out=$1; shift
  tests_out=$("$top/tests/vm/mkinitramfs.sh" "$out" --bin "$BIN" --kver "$KVER" --modules-from "$KROOT" "$@") ||
    { echo "mkinitramfs failed" >&2; exit 1; }
  echo "initramfs: $tests_out"
}
mkir "$work/initrd.gz"
mkir "$work/initrd-list.gz" --preload ext4
# With the thin, snapshot and cache targets (loaded by need, from the plan's modules).
mkir "$work/initrd-lvm.gz" --modules "dm-thin-pool dm-snapshot dm-cache dm-cache-smq"

# --- disk sets (cached) -------------------------------------------------------------------------
declare -A SETDIR
disks() { # SET → SETDIR[SET], built once
  [ -n "${SETDIR[$1]:-}" ] && return 0
  # A set that cannot be made fails the scenario that needs it.
  SETDIR[$1]=$("$here/disks.sh" "$1") || { echo "disks.sh $1 failed" >&2; fails=$((fails + 1)); return 1; }
}
meta() { # SET KEY
  sed -n "s/^$2=//p" "${SETDIR[$1]}/meta.env" | head -1
}
# A private copy of a set's disk N for one boot (boots may write: rw mounts, journal replay).
disk() { # SET N SCEN
  local f=$work/$3.disk$2.img
  cp --sparse=always "${SETDIR[$1]}/disk$2.img" "$f" && echo "$f"
}

fails=0
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; fails=$((fails + 1)); }
need() { # SCEN LOG PATTERN
  grep -qE -- "$3" "$2" || { fail "$1" "no line matching '$3' in $2"; return 1; }
}
never() { # SCEN LOG PATTERN
  ! grep -qE -- "$3" "$2" || { fail "$1" "unexpected line matching '$3' in $2"; return 1; }
}
# Kernel timestamp (seconds) of the first console line matching PATTERN.
# (Not anchored: the first line /init prints may follow the kernel's last unterminated one.)
ktime() { grep -E -- "$2" "$1" | head -1 | grep -oE '\[ *[0-9]+\.[0-9]+\]' | head -1 | tr -d '[] '; }
# Kernel timestamp of the first line matching PATTERN in the root's dmesg dump.
dmesg_t() { grep -E -- "^EVMS-DMESG .*$2" "$1" | head -1 | sed -n 's/^EVMS-DMESG \[ *\([0-9.]*\)\].*/\1/p'; }
# t= of a stage line in the root's dmesg dump.
stage_t() { grep -E "stage $2 t=" "$1" | head -1 | sed -n 's/.*stage [a-z-]* t=\([0-9.]*\).*/\1/p'; }
stages() { # LOG: prints the stage times
  local s m c r w
  s=$(stage_t "$1" start); m=$(stage_t "$1" modules-loaded); c=$(stage_t "$1" root-chain-active)
  r=$(stage_t "$1" root-mounted); w=$(stage_t "$1" switch-root)
  [ -n "$s" ] && [ -n "$m" ] && [ -n "$c" ] && [ -n "$r" ] && [ -n "$w" ] || return 1
  awk -v s="$s" -v m="$m" -v c="$c" -v r="$r" -v w="$w" 'BEGIN {
    printf "  stages (guest CLOCK_MONOTONIC): start t=%.3f -> modules-loaded +%.3f s -> root-chain-active +%.3f s -> root-mounted +%.3f s -> switch-root +%.3f s\n", s, m-s, c-s, r-s, w-s }'
  # raid456's init benchmarks the raid6 and xor routines (kernel time, slow under TCG).
  local a b
  a=$(dmesg_t "$1" 'loaded module md_mod'); b=$(dmesg_t "$1" 'loaded module raid456')
  [ -n "$a" ] && [ -n "$b" ] && awk -v a="$a" -v b="$b" 'BEGIN {
    printf "  of which loading raid456 and its dependencies (the kernel benchmarks raid6/xor): %.3f s\n", b - a }'
  return 0
}
# Checks common to every successful boot: PID 1 on the expected device, the early mounts
# moved, every DM device with its udev record, stage lines.
booted() { # SCEN LOG ROOTNAME
  need "$1" "$2" '^EVMS-ROOT-OK pid=1$' || return 1
  need "$1" "$2" "^EVMS-ROOTDEV [0-9]+:[0-9]+ $3( |\$)" || return 1
  need "$1" "$2" '^EVMS-MOUNT /run tmpfs tmpfs' || return 1
  need "$1" "$2" '^EVMS-MOUNT /dev devtmpfs devtmpfs' || return 1
  need "$1" "$2" '^EVMS-ROOT-END$' || return 1
  # lvm2 issue #31: every DM device needs its udev database entry.
  # (A layer's record starts with lvm2's DM_UDEV_DISABLE_* flags, in dmsetup's order.)
  if grep '^EVMS-DM ' "$2" | grep -v 'record=\[\(E:DM_UDEV_[A-Z_]*=1 \)*E:DM_UDEV_PRIMARY_SOURCE_FLAG=1 '; then
    fail "$1" "a DM device without E:DM_UDEV_PRIMARY_SOURCE_FLAG=1"; return 1
  fi
  stages "$2" >/dev/null || { fail "$1" "stage lines missing"; return 1; }
}
boot() { # SCEN INITRD APPEND DISK... → runs QEMU, log in $work/SCEN.log
  local scen=$1 ir=$2 append=$3 args=() d; shift 3
  for d in "$@"; do args+=(--disk "$d"); done
  vm_run "$ir" "$work/$scen.log" --timeout 180 --append "$TIMER $append" "${args[@]}"
}
# mdadm's /run/mdadm/map prints the UUID as four host-endian 32-bit words of the superblock's
# bytes, which for 1.x metadata is --detail's UUID with each word byte-swapped.
map_uuid() {
  echo "$1" | tr ':' '\n' | sed 's/\(..\)\(..\)\(..\)\(..\)/\4\3\2\1/' | paste -sd:
}

# --- scenarios ----------------------------------------------------------------------------------
scen_ok() {
  disks whole || return
  local log=$work/ok.log
  boot ok "$work/initrd.gz" "root=/dev/vda rootfstype=ext4 rd.timeout=30 evms.debug -- evms-arg1 evms-arg2" \
    "$(disk whole 1 ok)"
  booted ok "$log" vda || return
  need ok "$log" '^EVMS-INIT-ARGS=evms-arg1 evms-arg2$' || return
  need ok "$log" '^EVMS-PROC1=/bin/sh /sbin/init evms-arg1 evms-arg2 $' || return
  need ok "$log" '^EVMS-MOUNT / /dev/vda ext4 ro$' || return
  need ok "$log" '^EVMS-MOUNT /proc proc proc' || return
  need ok "$log" '^EVMS-MOUNT /sys sysfs sysfs' || return
  need ok "$log" 'evms-activate: loaded module virtio_pci' || return
  need ok "$log" 'evms-activate: loaded module virtio_blk' || return
  need ok "$log" 'evms-activate: loaded module ext4' || return
  need ok "$log" 'evms-activate: block device vda \([0-9]+:0\) appeared' || return
  need ok "$log" 'evms-activate: switch_root: deleted [1-9][0-9]* initramfs entries' || return
  never ok "$log" '^EVMS-(DM|MD) ' || return
  stages "$log"
  local k0 k1
  k0=$(grep 'EVMS-DMESG.*Run /init as init process' "$log" | sed -n 's/^EVMS-DMESG \[ *\([0-9.]*\)\].*/\1/p')
  k1=$(grep 'EVMS-DMESG.*stage switch-root' "$log" | sed -n 's/^EVMS-DMESG \[ *\([0-9.]*\)\].*/\1/p')
  [ -n "$k0" ] && [ -n "$k1" ] && awk -v a="$k0" -v b="$k1" 'BEGIN { printf "  kernel log clock: Run /init at %.3f, switch-root logged %.3f s later\n", a, b - a }'
  grep -o 'coldplug: .*' "$log" | head -2 | sed 's/^/  /'
  pass ok
}

scen_fstype() {
  disks whole || return
  local log=$work/fstype.log
  boot fstype "$work/initrd-list.gz" "root=/dev/vda rw evms.debug" "$(disk whole 1 fstype)"
  booted fstype "$log" vda || return
  need fstype "$log" '^EVMS-MOUNT / /dev/vda ext4 rw$' || return
  need fstype "$log" 'evms-activate: loaded module ext4' || return
  need fstype "$log" 'evms-activate: mounted /dev/vda \(ext4, rw\) on /sysroot' || return
  pass fstype
}

scen_gpt() {
  disks gpt || return
  local log=$work/gpt.log pu
  pu=$(meta gpt ROOT_PARTUUID)
  boot gpt "$work/initrd.gz" "root=PARTUUID=$pu evms.debug" "$(disk gpt 1 gpt)"
  booted gpt "$log" vda2 || return
  need gpt "$log" '^EVMS-RESUME 0:0$' || return
  need gpt "$log" '^EVMS-MOUNT / /dev/vda2 ext4 ro$' || return
  never gpt "$log" '^EVMS-(DM|MD) ' || return
  need gpt "$log" '^EVMS-MDMAP none$' || return
  stages "$log"
  pass gpt
}

# The flagship: RAID5 → PV → vg0/root. $2: the root= value; $3: extra options.
flagship() { # SCEN ROOT [EXTRA]
  local scen=$1 log=$work/$1.log mdu
  disks flagship || return
  boot "$scen" "$work/initrd.gz" "root=$2 evms.debug ${3:-}" \
    "$(disk flagship 1 "$scen")" "$(disk flagship 2 "$scen")" "$(disk flagship 3 "$scen")"
  booted "$scen" "$log" 'dm-[0-9]+ vg0-root' || return
  need "$scen" "$log" '^EVMS-MOUNT / /dev/dm-[0-9]+ ext4 ro$' || return
  need "$scen" "$log" '^EVMS-DM vg0-root 25[0-9]:[0-9]+ uuid=LVM-[A-Za-z0-9]{64} record=\[E:DM_UDEV_PRIMARY_SOURCE_FLAG=1 E:DM_NAME=vg0-root E:DM_UUID=LVM-' || return
  need "$scen" "$log" '^EVMS-MD md127 9:127 level=raid5 state=clean degraded=0 holders=dm-[0-9,dm-]+ record=\[E:LVM_MD_PV_ACTIVATED=1' || return
  need "$scen" "$log" '^EVMS-NODE /dev/mapper/vg0-root block' || return
  need "$scen" "$log" '^EVMS-NODE /dev/vg0/root -> \.\./mapper/vg0-root \(vg0-root\)$' || return
  need "$scen" "$log" '^EVMS-NODE /dev/md/pv0_0 -> \.\./md127 \(md127\)$' || return
  mdu=$(map_uuid "$(meta flagship MD_UUID)")
  need "$scen" "$log" "^EVMS-MDMAP md127 1\\.2 $mdu /dev/md/pv0_0$" || return
  if [ "${3:-}" = rd.auto ]; then
    # Everything: home too.
    need "$scen" "$log" '^EVMS-DM vg0-home ' || return
    need "$scen" "$log" '^EVMS-NODE /dev/vg0/home -> \.\./mapper/vg0-home' || return
  else
    # Only root's chain: vg0/home stays inactive until the booted system asks for it.
    [ "$(grep -c '^EVMS-DM ' "$log")" = 1 ] || { fail "$scen" "more than root's LV is active"; return; }
    never "$scen" "$log" 'vg0-home' || return
  fi
  stages "$log"
  pass "$scen"
}
scen_flagship-path() { flagship flagship-path /dev/vg0/root; }
scen_flagship-uuid() { disks flagship && flagship flagship-uuid "UUID=$(meta flagship ROOTLV_UUID)"; }
scen_flagship-label() { flagship flagship-label LABEL=root; }
scen_flagship-all() { flagship flagship-all /dev/vg0/root rd.auto; }

# resume= on an LV: activated with root's chain and handed to the kernel before root is mounted
# (vg0/home holds ext4, not a hibernation image: the kernel says so and the boot goes on).
scen_flagship-resume() {
  disks flagship || return
  local scen=flagship-resume log=$work/flagship-resume.log
  boot $scen "$work/initrd.gz" "root=/dev/vg0/root resume=/dev/vg0/home evms.debug" \
    "$(disk flagship 1 $scen)" "$(disk flagship 2 $scen)" "$(disk flagship 3 $scen)"
  booted $scen "$log" 'dm-[0-9]+ vg0-root' || return
  need $scen "$log" '^EVMS-DM vg0-home ' || return
  need $scen "$log" 'evms-activate: resuming from vg0/home \(25[0-9]:[0-9]+\) if it holds a hibernation image' || return
  # The kernel keeps the device it was given (its "Image not found" is a debug message).
  local mm
  mm=$(sed -n 's/.*resuming from vg0\/home (\(25[0-9]:[0-9]*\)).*/\1/p' "$log" | head -1)
  need $scen "$log" "^EVMS-RESUME $mm\$" || return
  need $scen "$log" 'evms-activate: no hibernation image on vg0/home: booting normally' || return
  # The order: resume is tried before root is mounted.
  local a b
  a=$(dmesg_t "$log" 'resuming from vg0/home'); b=$(dmesg_t "$log" 'stage root-mounted')
  awk -v a="$a" -v b="$b" 'BEGIN { exit !(a < b) }' || { fail $scen "resume tried after root was mounted"; return; }
  pass $scen
}

# Root on a thin LV: only its chain is made (the pool's _tmeta, _tdata and -tpool layer, and
# the thin LV), as `lvchange -ay vgb/thinroot` makes it; not the pool's own vgb-pool device,
# not the snapshot's chain.
scen_thin-root() {
  disks lvmsnap || return
  local log=$work/thin-root.log
  boot thin-root "$work/initrd-lvm.gz" "root=/dev/vgb/thinroot evms.debug" "$(disk lvmsnap 1 thin-root)"
  booted thin-root "$log" 'dm-[0-9]+ vgb-thinroot' || return
  need thin-root "$log" '^EVMS-MOUNT / /dev/dm-[0-9]+ ext4 ro$' || return
  need thin-root "$log" 'evms-activate: loaded module dm_thin_pool' || return
  local d
  for d in vgb-pool_tmeta vgb-pool_tdata vgb-pool-tpool vgb-thinroot; do
    need thin-root "$log" "^EVMS-DM $d 25[0-9]:[0-9]+ uuid=LVM-[A-Za-z0-9]{64}(-tmeta|-tdata|-tpool)? record=" || return
  done
  [ "$(grep -c '^EVMS-DM ' "$log")" = 4 ] || { fail thin-root "not exactly root's chain is active: $(grep '^EVMS-DM ' "$log" | cut -d' ' -f2 | tr '\n' ' ')"; return; }
  need thin-root "$log" '^EVMS-NODE /dev/vgb/thinroot -> \.\./mapper/vgb-thinroot \(vgb-thinroot\)$' || return
  stages "$log"
  pass thin-root
}

# Root on a COW snapshot, boom style: `rd.lvm.lv=vgb/snap root=/dev/vgb/snap`. The snapshot
# comes up with its origin (vgb-base-real, vgb-base as snapshot-origin, vgb-snap-cow,
# vgb-snap), as lvm2 activates a snapshot; the root mounted is the snapshot's filesystem
# (LABEL=snaproot; the origin was relabelled after the snapshot was taken).
scen_snap-root() {
  disks lvmsnap || return
  local log=$work/snap-root.log
  boot snap-root "$work/initrd-lvm.gz" "rd.lvm.lv=vgb/snap root=/dev/vgb/snap evms.debug" "$(disk lvmsnap 1 snap-root)"
  booted snap-root "$log" 'dm-[0-9]+ vgb-snap' || return
  need snap-root "$log" 'evms-activate: loaded module dm_snapshot' || return
  need snap-root "$log" 'evms-activate: mounted /dev/[a-z0-9/-]+ \(ext4, ro\) on /sysroot' || return
  local d
  for d in vgb-base-real vgb-base vgb-snap-cow vgb-snap; do
    need snap-root "$log" "^EVMS-DM $d 25[0-9]:[0-9]+ uuid=LVM-[A-Za-z0-9]{64}(-real|-cow)? record=" || return
  done
  [ "$(grep -c '^EVMS-DM ' "$log")" = 4 ] || { fail snap-root "not exactly the snapshot's chain is active: $(grep '^EVMS-DM ' "$log" | cut -d' ' -f2 | tr '\n' ' ')"; return; }
  never snap-root "$log" '^EVMS-DM vgb-(pool|thinroot)' || return
  stages "$log"
  pass snap-root
}

# Root on a cached LV (cache pool, writethrough, smq): the pool's _cdata/_cmeta, the origin's
# _corig (-real) and the cache; dm-cache and its smq policy module loaded by need. (/usr on a
# cached LV, as the issue puts it, is not a boot of ours: our /init mounts root only and
# leaves /usr to the booted system; the activation is the same.)
scen_cache-root() {
  disks lvmsnap || return
  local log=$work/cache-root.log
  boot cache-root "$work/initrd-lvm.gz" "root=/dev/vgb/cacheroot evms.debug" "$(disk lvmsnap 1 cache-root)"
  booted cache-root "$log" 'dm-[0-9]+ vgb-cacheroot' || return
  need cache-root "$log" 'evms-activate: loaded module dm_cache$' || return
  need cache-root "$log" 'evms-activate: loaded module dm_cache_smq' || return
  local d
  for d in vgb-cpool_cpool_cdata vgb-cpool_cpool_cmeta vgb-cacheroot_corig vgb-cacheroot; do
    need cache-root "$log" "^EVMS-DM $d 25[0-9]:[0-9]+ uuid=LVM-[A-Za-z0-9]{64}(-cdata|-cmeta|-real)? record=" || return
  done
  [ "$(grep -c '^EVMS-DM ' "$log")" = 4 ] || { fail cache-root "not exactly root's chain is active: $(grep '^EVMS-DM ' "$log" | cut -d' ' -f2 | tr '\n' ' ')"; return; }
  stages "$log"
  pass cache-root
}

scen_mdpart() {
  disks mdpart || return
  local log=$work/mdpart.log pu mdu
  pu=$(meta mdpart ROOTPART_PART_ENTRY_UUID)
  boot mdpart "$work/initrd.gz" "root=PARTUUID=$pu evms.debug" "$(disk mdpart 1 mdpart)" "$(disk mdpart 2 mdpart)"
  booted mdpart "$log" md127p1 || return
  need mdpart "$log" '^EVMS-MOUNT / /dev/md127p1 ext4 ro$' || return
  need mdpart "$log" '^EVMS-MD md127 9:127 level=raid1 state=clean degraded=0 holders=- ' || return
  need mdpart "$log" '^EVMS-NODE /dev/md/sys_0 -> \.\./md127 \(md127\)$' || return
  mdu=$(map_uuid "$(meta mdpart MD_UUID)")
  need mdpart "$log" "^EVMS-MDMAP md127 1\\.2 $mdu /dev/md/sys_0$" || return
  never mdpart "$log" '^EVMS-DM ' || return
  stages "$log"
  pass mdpart
}

scen_bcache() {
  disks bcache || return
  local log=$work/bcache.log bu
  [ -f "$work/initrd-bcache.gz" ] || mkir "$work/initrd-bcache.gz" --modules bcache
  bu=$(meta bcache BACKING_UUID)
  boot bcache "$work/initrd-bcache.gz" "root=LABEL=$(meta bcache ROOT_LABEL) evms.debug" \
    "$(disk bcache 1 bcache)" "$(disk bcache 2 bcache)"
  booted bcache "$log" bcache0 || return
  need bcache "$log" '^EVMS-MOUNT / /dev/bcache0 ext4 ro$' || return
  need bcache "$log" 'evms-activate: loaded module bcache' || return
  need bcache "$log" 'evms-activate: +registered /dev/vdb$' || return
  need bcache "$log" 'evms-activate: +registered /dev/vda$' || return
  # Writeback of the dirty blocks starts once attached: dirty or already clean.
  need bcache "$log" '^EVMS-BCACHE bcache0 [0-9]+:0 state=(dirty|clean) cache_mode=writethrough_\[writeback\]_writearound_none backing=vda set=0bcac4e0-5e70-4000-8000-00000000b007$' || return
  need bcache "$log" "^EVMS-NODE /dev/bcache/by-uuid/$bu -> \.\./\.\./bcache0 \(bcache0\)$" || return
  never bcache "$log" '^EVMS-(DM|MD) ' || return
  stages "$log"
  pass bcache
}

scen_degraded() {
  disks flagship || return
  local log=$work/degraded.log g
  boot degraded "$work/initrd.gz" "root=/dev/vg0/root evms.debug rd.timeout=60" \
    "$(disk flagship 1 degraded)" "$(disk flagship 2 degraded)"
  booted degraded "$log" 'dm-[0-9]+ vg0-root' || return
  need degraded "$log" '^EVMS-MD md127 9:127 level=raid5 state=clean degraded=1 ' || return
  need degraded "$log" 'evms-activate: stage degraded-grace' || return
  g=$(stage_t "$log" degraded-grace)
  awk -v s="$(stage_t "$log" modules-loaded)" -v g="$g" -v w="$(stage_t "$log" switch-root)" 'BEGIN {
    printf "  degraded start %.1f s after modules-loaded (grace 10 s), switch-root %.2f s after that\n", g - s, w - g }'
  pass degraded
}

# Root on an LVM raid1 LV; $2: how many of its two disks are attached.
lvraid1() { # SCEN NDISKS
  local scen=$1 log=$work/$1.log u i n=0 disks=()
  disks lvraid1 || return
  u=$(meta lvraid1 ROOTLV_UUID)
  for i in $(seq "$2"); do disks+=("$(disk lvraid1 "$i" "$scen")"); done
  boot "$scen" "$work/initrd.gz" "root=UUID=$u evms.debug rd.timeout=90" "${disks[@]}"
  booted "$scen" "$log" 'dm-[0-9]+ vgr-root' || return
  need "$scen" "$log" '^EVMS-MOUNT / /dev/dm-[0-9]+ ext4 ro$' || return
  need "$scen" "$log" 'evms-activate: loaded module dm_raid' || return
  need "$scen" "$log" '^EVMS-DM vgr-root 25[0-9]:[0-9]+ uuid=LVM-[A-Za-z0-9]{64} record=\[E:DM_UDEV_PRIMARY_SOURCE_FLAG=1 E:DM_NAME=vgr-root ' || return
  for i in 0 1; do
    need "$scen" "$log" "^EVMS-DM vgr-root_rimage_$i 25[0-9]:[0-9]+ uuid=LVM-[A-Za-z0-9]{64} record=\[E:DM_UDEV_DISABLE_SUBSYSTEM_RULES_FLAG=1 E:DM_UDEV_DISABLE_DISK_RULES_FLAG=1 E:DM_UDEV_DISABLE_OTHER_RULES_FLAG=1 E:DM_UDEV_PRIMARY_SOURCE_FLAG=1 " || return
    need "$scen" "$log" "^EVMS-DM vgr-root_rmeta_$i " || return
  done
  need "$scen" "$log" '^EVMS-NODE /dev/vgr/root -> \.\./mapper/vgr-root \(vgr-root\)$' || return
  never "$scen" "$log" '^EVMS-NODE /dev/vgr/root_r' || return
  if [ "$2" = 1 ]; then
    need "$scen" "$log" 'a RAID image is on missing PV\(s\) pv1: waiting for them, then degraded start' || return
    need "$scen" "$log" 'evms-activate: stage degraded-grace' || return
    need "$scen" "$log" '^EVMS-DM vgr-root_rimage_1-missing_0_0 ' || return
    need "$scen" "$log" '^EVMS-DM vgr-root_rmeta_1-missing_0_0 ' || return
  else
    never "$scen" "$log" 'stage degraded-grace|missing_' || return
    [ "$(grep -c '^EVMS-DM ' "$log")" = 5 ] || { fail "$scen" "not exactly root's 5 devices are active"; return; }
  fi
  stages "$log"
  pass "$scen"
}
scen_lvraid1() { lvraid1 lvraid1 2; }
scen_lvraid1-degraded() { lvraid1 lvraid1-degraded 1; }

# Boots with no disk and root=PARTUUID= of the gpt set's root; once /init says it is still
# waiting, hot-plugs each IMAGE in turn through QMP (blockdev-add + device_add virtio-blk-pci),
# the next one once the previous one's line (HP_SEEN[i], a console pattern) is in the log.
HP_SEEN=()
hotplug_boot() { # SCEN IMAGE...
  local scen=$1 log=$work/$1.log sock=$work/$1.qmp pu pid i rc n=0 img; shift
  pu=$(meta gpt ROOT_PARTUUID)
  rm -f "$sock"
  vm_run "$work/initrd.gz" "$log" --timeout 180 --qmp "$sock" \
    --append "$TIMER root=PARTUUID=$pu evms.debug rd.timeout=60" &
  pid=$!
  wait_log() { # PATTERN
    for i in $(seq 600); do
      grep -qE -- "$1" "$log" 2>/dev/null && return 0
      kill -0 $pid 2>/dev/null || break
      sleep 0.1
    done
    grep -qE -- "$1" "$log"
  }
  if ! wait_log 'Still waiting for'; then
    kill $pid 2>/dev/null; wait $pid; fail "$scen" "no 'Still waiting for' notice before the disk was added"; return 1
  fi
  for img in "$@"; do
    python3 "$top/tests/vm/qmp.py" "$sock" \
      '{"execute":"blockdev-add","arguments":{"driver":"raw","node-name":"hp'$n'","file":{"driver":"file","filename":"'"$img"'"}}}' \
      '{"execute":"device_add","arguments":{"driver":"virtio-blk-pci","drive":"hp'$n'","id":"hpdisk'$n'"}}' \
      >> "$work/$scen.qmp.log" 2>&1 || { cat "$work/$scen.qmp.log"; kill $pid; wait $pid; fail "$scen" "QMP commands failed"; return 1; }
    n=$((n + 1))
    [ $n -lt $# ] || break
    wait_log "${HP_SEEN[n-1]}" || { kill $pid 2>/dev/null; wait $pid; fail "$scen" "no line matching '${HP_SEEN[n-1]}' after hot-plugging $img"; return 1; }
  done
  wait $pid; rc=$?
  [ $rc -eq 0 ] || { fail "$scen" "QEMU rc $rc"; return 1; }
}

scen_hotplug() {
  disks gpt || return
  local log=$work/hotplug.log
  hotplug_boot hotplug "$(disk gpt 1 hotplug)" || return
  booted hotplug "$log" vda2 || return
  need hotplug "$log" 'evms-activate: block device vda2 \([0-9]+:2\) appeared' || return
  local tw tv tr
  tw=$(dmesg_t "$log" 'Still waiting for')
  tv=$(dmesg_t "$log" 'block device vda \(')
  tr=$(dmesg_t "$log" 'stage switch-root')
  awk -v a="$tw" -v b="$tv" -v c="$tr" 'BEGIN {
    printf "  still waiting at %.2f s; disk appeared at %.2f s (kernel clock); switch-root %.3f s after it appeared\n", a, b, c - b }'
  pass hotplug
}

# Hostile input at boot: a disk of (seeded) random bytes with an LVM label magic in sector 1
# and an MD 1.2 magic at 4 KiB is hot-plugged while /init waits, then the real disk: one
# warning per bad superblock naming the device, format, offset and field; the boot goes on.
scen_hotplug-garbage() {
  disks gpt || return
  local log=$work/hotplug-garbage.log g=$work/garbage.img
  python3 -c '
import random, sys
r = random.Random(20261125)
b = bytearray(r.randbytes(16 << 20))
b[512:520] = b"LABELONE"
b[4096:4100] = bytes.fromhex("fc4e2ba9")
b[4100:4104] = (1).to_bytes(4, "little")
open(sys.argv[1], "wb").write(b)' "$g"
  HP_SEEN=('warning: vda: md 1\.2 at byte')
  hotplug_boot hotplug-garbage "$g" "$(disk gpt 1 hotplug-garbage)" || return
  booted hotplug-garbage "$log" vdb2 || return
  need hotplug-garbage "$log" 'evms-activate: block device vda \([0-9]+:0\) appeared' || return
  need hotplug-garbage "$log" 'evms-activate: warning: vda: md 1\.2 at byte [0-9]+: [a-z_]+: found ' || return
  need hotplug-garbage "$log" 'evms-activate: warning: vda: lvm2 at byte [0-9]+: [a-z_]+: found ' || return
  # Once each, although every round of the wait rediscovers vda.
  [ "$(grep -v '^EVMS-DMESG' "$log" | grep -c 'evms-activate: warning: vda: md 1\.2')" = 1 ] || { fail hotplug-garbage "the md warning is repeated"; return; }
  never hotplug-garbage "$log" 'panicked|Kernel panic' || return
  grep -E 'EVMS-DMESG .*vda: (md [0-9.]+|lvm2) at byte' "$log" | head -2 | sed 's/^EVMS-DMESG /  /'
  pass hotplug-garbage
}

# The failure path: the diagnostic within rd.timeout + 2 s of the wait's start (the stage line
# modules-loaded: rd.timeout counts from there, as dracut's counts from its udev trigger), then
# a reboot after panic= seconds. The time since the kernel started /init is printed too (it
# adds coldplug, which a loaded TCG host slows down).
failure_timing() { # SCEN LOG
  local t0 tm t1 tr
  t0=$(ktime "$2" 'Run /init as init process')
  tm=$(ktime "$2" 'evms-activate: stage modules-loaded')
  t1=$(ktime "$2" 'evms-activate: Gave up after')
  [ -n "$t0" ] && [ -n "$tm" ] && [ -n "$t1" ] || { fail "$1" "timestamps missing (loglevel=8?)"; return 1; }
  awk -v a="$t0" -v m="$tm" -v b="$t1" 'BEGIN { d = b - m; printf "  diagnostic %.2f s after the wait began, %.2f s after /init started (rd.timeout=3)\n", d, b - a; exit !(d <= 5.0) }' ||
    { fail "$1" "diagnostic later than timeout + 2 s"; return 1; }
  tr=$(ktime "$2" 'reboot: Restarting system')
  awk -v a="$t1" -v b="$tr" 'BEGIN { d = b - a; printf "  reboot %.2f s after the diagnostic (panic=5)\n", d; exit !(d >= 4.9 && d < 7) }' ||
    { fail "$1" "reboot not ~5 s after the diagnostic"; return 1; }
}

scen_missing() {
  disks whole || return
  local log=$work/missing.log u
  u=$(meta whole ROOT_UUID)
  boot missing "$work/initrd.gz" "root=/dev/vdb rd.timeout=3 panic=5 loglevel=8" "$(disk whole 1 missing)" ||
    { fail missing "QEMU did not end by itself"; return; }
  need missing "$log" "evms-activate: Gave up after 3\\.[0-9] s waiting for root /dev/vdb: still missing /dev/vdb \\(no disk, partition, array, logical volume or filesystem matches it yet\\)\\. Seen: vda \\(ext4 LABEL=evmsroot UUID=$u, active\\)$" || return
  need missing "$log" 'evms-activate: Block devices present: vda \([0-9]+:0 disk\)' || return
  need missing "$log" 'evms-activate: Rebooting in 5 s \(panic=5\)' || return
  need missing "$log" 'reboot: Restarting system' || return
  failure_timing missing "$log" || return
  pass missing
}

scen_missing-md() {
  disks flagship || return
  local log=$work/missing-md.log
  boot missing-md "$work/initrd.gz" "root=/dev/vg0/root rd.timeout=3 panic=5 loglevel=8" "$(disk flagship 1 missing-md)" ||
    { fail missing-md "QEMU did not end by itself"; return; }
  grep 'evms-activate: Gave up' "$log" | sed 's/^/  /'
  need missing-md "$log" 'evms-activate: Gave up after 3\.[0-9] s waiting for root /dev/vg0/root: still missing /dev/vg0/root \(' || return
  need missing-md "$log" 'Gave up.*md/pv0.*(cannot start|missing slot)' || return
  need missing-md "$log" 'Gave up.*Seen: .*vda1 \(linux_raid_member 1\.2 LABEL=pv0 UUID=' || return
  need missing-md "$log" 'evms-activate: Block devices present: vda \([0-9]+:0 disk\), vda1 \([0-9]+:1 partition\)' || return
  failure_timing missing-md "$log" || return
  pass missing-md
}

# A generator's image (udev running in it) booted the flagship: root on vg0/root, udev wrote
# the LV's database entry from our cookie's flags and made the /dev/VG/LV and /dev/md/NAME
# links, only root's LV is active. Prints the time from /init to root mounted.
generator_booted() { # SCEN LOG WHAT
  local k0 k1
  need "$1" "$2" '^EVMS-ROOT-OK pid=1$' || return
  need "$1" "$2" '^EVMS-ROOTDEV [0-9]+:[0-9]+ dm-[0-9]+ vg0-root$' || return
  need "$1" "$2" '^EVMS-DM vg0-root .*E:DM_UDEV_PRIMARY_SOURCE_FLAG=1 ' || return
  need "$1" "$2" '^EVMS-NODE /dev/vg0/root -> \.\./dm-0' || return
  need "$1" "$2" '^EVMS-NODE /dev/md/pv0_0 -> \.\./md127' || return
  if [ "$(grep -c '^EVMS-DM ' "$2")" != 1 ]; then fail "$1" "more than root's LV is active"; return 1; fi
  k0=$(ktime "$2" 'Run /init as init process'); k1=$(dmesg_t "$2" 'EXT4-fs \(dm-0\): mounted')
  [ -n "$k0" ] && [ -n "$k1" ] && awk -v a="$k0" -v b="$k1" -v w="$3" 'BEGIN { printf "  root mounted %.2f s after the kernel ran /init (%s)\n", b - a, w }'
  return 0
}

# dracut-module/ for real: Debian's dracut 059 (the dracut-core package, downloaded and
# unpacked into the cache, not installed: it conflicts with initramfs-tools) builds a
# systemd-based image for the cached kernel with our module and without its own lvm and
# mdraid modules, booted on the flagship. udev and systemd run in that image: systemd waits
# for root's device unit, which only udev's links make.
# Debian's dracut on this machine (cached, unpacked) builds IMG with our module, without its own
# lvm, mdraid and crypt modules; checks our binary is in and lvm2, mdadm, cryptsetup are not.
dracut_build() { # SCEN IMG
  local scen=$1 img=$2 dr=$CACHE/dracut x
  if [ ! -x "$dr/root/usr/bin/dracut" ]; then
    rm -rf "$dr" && mkdir -p "$dr"
    (cd "$dr" && { apt-get download dracut-core >/dev/null 2>&1 ||
      { apt-get update -qq && apt-get download dracut-core >/dev/null 2>&1; }; } &&
      dpkg -x dracut-core_*.deb root) || { fail $scen "cannot get Debian's dracut-core package"; return 1; }
  fi
  rm -rf "$work/dracut-base" "$work/dracut-bin" && cp -a "$dr/root/usr/lib/dracut" "$work/dracut-base" &&
    cp -r "$top/dracut-module/90evms" "$work/dracut-base/modules.d/" &&
    mkdir -p "$work/dracut-bin" "$work/dracut-confd" && cp "$BIN" "$work/dracut-bin/evms-activate" ||
    { fail $scen "cannot set up dracut"; return 1; }
  # DRACUT_PATH: where dracut (which resets PATH) finds binaries, ours first.
  DRACUT_PATH="$work/dracut-bin /sbin /bin /usr/sbin /usr/bin" dracutbasedir=$work/dracut-base \
    bash "$dr/root/usr/bin/dracut" --conf /dev/null --confdir "$work/dracut-confd" --no-hostonly \
    --kver "$KVER" --kmoddir "$KROOT/lib/modules/$KVER" --add evms \
    --omit "lvm mdraid dmraid crypt multipath nvdimm btrfs plymouth kernel-modules kernel-modules-extra qemu" \
    --drivers "virtio_pci virtio_blk ext4" --force "$img" > "$work/$scen.build.log" 2>&1 ||
    { tail -20 "$work/$scen.build.log"; fail $scen "dracut failed"; return 1; }
  x=$(bash "$dr/root/usr/bin/lsinitrd" "$img" 2>/dev/null)
  grep -q ' usr/sbin/evms-activate$' <<<"$x" || { fail $scen "our binary is not in the image"; return 1; }
  if grep -E ' usr/s?bin/(lvm|mdadm|cryptsetup)$| usr/lib/systemd/systemd-cryptsetup$' <<<"$x"; then
    fail $scen "lvm2, mdadm or cryptsetup is in the image"; return 1
  fi
  DRACUT_LISTING=$x
  echo "  dracut image: $(stat -c %s "$img") bytes (systemd, udev; no lvm2, no mdadm, no cryptsetup)"
}

scen_dracut() {
  local scen=dracut log=$work/dracut.log img=$work/dracut.img
  disks flagship || return
  dracut_build $scen "$img" || return
  boot $scen "$img" "root=/dev/vg0/root rd.timeout=60 systemd.journald.forward_to_console=1" \
    "$(disk flagship 1 $scen)" "$(disk flagship 2 $scen)" "$(disk flagship 3 $scen)"
  need $scen "$log" 'dracut-initqueue\[[0-9]+\]: created md md127 \(md127, 9:127\)' || return
  need $scen "$log" 'dracut-initqueue\[[0-9]+\]: created dm vg0-root' || return
  # lvm2's rules (installed by our module) set the LV's names; our rule made /dev/md/pv0_0.
  need $scen "$log" '^EVMS-DM vg0-root .*E:DM_VG_NAME=vg0 E:DM_LV_NAME=root' || return
  generator_booted $scen "$log" "dracut, systemd, udev" || return
  pass $scen
}

# mkinitcpio/ for real: Arch's mkinitcpio 41 (its source, scripts only: MKINITCPIO_TARBALL,
# default $CACHE/vendor/mkinitcpio-41.tar.gz, checked against its sha256) unpacked into the
# cache and run on Debian. Its build placeholders are filled with Debian's paths (BINDIR: /usr/sbin
# and /usr/bin; udevd and systemd-tmpfiles where Debian's udev and systemd put them), its library,
# hook and install directories with the cache's: so is every /usr/lib/initcpio/ path in the
# hooks, including base's busybox and ours. Two Arch paths of the udev install hook do not exist
# on Debian: libkmod (Debian's is in the multiarch directory) and /etc/udev/hwdb.bin (Debian has
# only /usr/lib/udev/hwdb.bin): the first is pointed at Debian's, the second dropped. Nothing is
# written outside the cache. Sets MKC (its library).
# base's busybox is Debian's `busybox` package (downloaded and unpacked into the cache, not
# installed: it conflicts with busybox-static), not busybox-static: that one's shell runs its own
# applets before PATH (FEATURE_SH_STANDALONE), so /init's `mount`, `modprobe`, `blkid` and
# `switch_root` would be busybox's instead of util-linux's and kmod's that base adds, and busybox
# mount -t auto only tries filesystems already loaded (root's ext4 is a module: the mount fails,
# as the first boot here showed). Arch's mkinitcpio-busybox has no such applets either.
MKINITCPIO_SHA256=625c8801829571c45869e21d46999da58fe83c1fd22fe57f8b0d9266a87263bc
mkinitcpio_setup() { # → MKC, MKC_ETC; fresh each run (our hooks may have changed)
  # The source ships beside the project (../shared/vendor, as the brief names it); a copy in the
  # cache or MKINITCPIO_TARBALL also do.
  local tgz=${MKINITCPIO_TARBALL:-} src=$CACHE/mkinitcpio-41 f kmod cand
  if [ -z "$tgz" ]; then
    for cand in "$top/../shared/vendor" /work/shared/vendor "$CACHE/vendor"; do
      [ -f "$cand/mkinitcpio-41.tar.gz" ] && { tgz=$cand/mkinitcpio-41.tar.gz; break; }
    done
    : "${tgz:=$top/../shared/vendor/mkinitcpio-41.tar.gz}"
  fi
  MKC=$work/mkinitcpio/lib MKC_ETC=$work/mkinitcpio/etc
  if [ ! -f "$src/.sha256" ] || [ "$(cat "$src/.sha256")" != $MKINITCPIO_SHA256 ]; then
    [ -f "$tgz" ] || { echo "no mkinitcpio 41 source at $tgz (set MKINITCPIO_TARBALL)" >&2; return 2; }
    [ "$(sha256sum <"$tgz" | cut -d' ' -f1)" = $MKINITCPIO_SHA256 ] ||
      { echo "$tgz: not mkinitcpio 41 (sha256 differs)" >&2; return 1; }
    rm -rf "$src" && mkdir -p "$src" && tar -xzf "$tgz" -C "$src" --strip-components=1 &&
      echo $MKINITCPIO_SHA256 >"$src/.sha256" || return 1
  fi
  command -v bsdtar >/dev/null || { echo "bsdtar missing (libarchive-tools; tests/deps.sh)" >&2; return 1; }
  kmod=$(ldconfig -p | awk '$1 == "libkmod.so.2" && /x86-64/ { print $NF; exit }')
  [ -n "$kmod" ] || { echo "no libkmod.so.2 (kmod)" >&2; return 1; }
  rm -rf "$work/mkinitcpio" && mkdir -p "$MKC/udev" "$MKC_ETC/initcpio/hooks" "$MKC_ETC/initcpio/install" &&
    cp -r "$src/hooks" "$src/install" "$MKC/" &&
    cp "$src/functions" "$src/init" "$src/init_functions" "$src/shutdown" "$src/mkinitcpio" "$src/lsinitcpio" "$MKC/" &&
    rm -f "$MKC/hooks/meson.build" "$MKC/install/meson.build" &&
    cp "$top/mkinitcpio/install/evms" "$MKC/install/evms" && cp "$top/mkinitcpio/hooks/evms" "$MKC/hooks/evms" &&
    cp "$top/dracut-module/90evms/63-evms-md.rules" "$top/mkinitcpio/udev/11-evms-db-persist.rules" "$MKC/udev/" &&
    install -m 755 "$top/dracut-module/90evms/evms-md-name.sh" "$MKC/udev/evms-md-name" || return 1
  for f in "$MKC"/{functions,init,init_functions,shutdown,mkinitcpio,lsinitcpio} "$MKC"/hooks/* "$MKC"/install/*; do
    sed -i -e "s|@VERSION@|41|g; s|@INITCPIO_LIBDIR@|$MKC|g; s|@INITCPIO_SYSCONFDIR@|$MKC_ETC/initcpio|g" \
      -e "s|@SYSCONFDIR@|$MKC_ETC|g; s|@BINDIR@|/usr/sbin:/usr/bin|g; s|@VCONSOLE_CONF@|/etc/vconsole.conf|g" \
      -e "s|@UDEVD_PATH@|/lib/systemd/systemd-udevd|g; s|@TMPFILES_PATH@|/bin/systemd-tmpfiles|g" \
      -e "s|/usr/lib/initcpio/|$MKC/|g; s|'/usr/lib/libkmod.so.2'|'$kmod'|; \\|^ *'*/etc/udev/hwdb.bin'*\$|d" "$f" || return 1
  done
  if grep -rn '@[A-Z_]*@' "$MKC"; then echo "placeholders left" >&2; return 1; fi
  # The udev install hook's hwdb line ended with the dropped path: keep the list well-formed.
  sed -i 's|^\( *\)/usr/lib/udev/hwdb.bin \\$|\1/usr/lib/udev/hwdb.bin|' "$MKC/install/udev"
  if [ ! -x "$CACHE/busybox-deb/root/bin/busybox" ]; then
    rm -rf "$CACHE/busybox-deb" && mkdir -p "$CACHE/busybox-deb" &&
      (cd "$CACHE/busybox-deb" && { apt-get download busybox >/dev/null 2>&1 ||
        { apt-get update -qq && apt-get download busybox >/dev/null 2>&1; }; } &&
        dpkg -x busybox_*.deb root) || { echo "cannot get Debian's busybox package" >&2; return 1; }
  fi
  cp "$CACHE/busybox-deb/root/bin/busybox" "$MKC/busybox"
}

# Builds an image with HOOKS from the cached kernel; BIN_FOR: our binary, or a missing path.
# Leaves the build log in $work/SCEN.mkinitcpio.log; returns mkinitcpio's status.
mkinitcpio_build() { # SCEN IMG BIN_FOR HOOKS...
  local scen=$1 img=$2 bin=$3; shift 3
  printf 'MODULES=()\nBINARIES=()\nFILES=()\nHOOKS=(%s)\nCOMPRESSION=gzip\n' "$*" >"$work/$scen.mkinitcpio.conf"
  EVMS_ACTIVATE=$bin bash "$MKC/mkinitcpio" -n -c "$work/$scen.mkinitcpio.conf" -k "$KVER" -r "$KROOT" \
    -g "$img" >"$work/$scen.mkinitcpio.log" 2>&1
}

# HOOKS=(base udev modconf block evms filesystems). Left out: autodetect, which keeps only the
# modules of the build host's own hardware and root filesystem (read from this machine's /sys),
# not the QEMU guest's: Arch's fallback image leaves it out too (-S autodetect).
MKC_HOOKS="base udev modconf block evms filesystems"
scen_mkinitcpio() {
  local scen=mkinitcpio log=$work/mkinitcpio.log img=$work/mkinitcpio.img x rc
  disks flagship || return
  mkinitcpio_setup; rc=$?
  if [ $rc = 2 ]; then echo "SKIP mkinitcpio: no mkinitcpio 41 source (MKINITCPIO_TARBALL)"; return; fi
  [ $rc = 0 ] || { fail $scen "cannot set up mkinitcpio"; return; }
  mkinitcpio_build $scen "$img" "$BIN" $MKC_HOOKS ||
    { grep -E 'ERROR|WARNING: errors' "$work/$scen.mkinitcpio.log"; fail $scen "mkinitcpio failed"; return; }
  x=$(bash "$MKC/lsinitcpio" "$img")
  for f in usr/bin/evms-activate hooks/evms usr/lib/udev/rules.d/95-dm-notify.rules usr/lib/udev/rules.d/63-evms-md.rules \
    usr/lib/udev/rules.d/11-evms-db-persist.rules usr/bin/evms-md-name usr/bin/busybox usr/lib/systemd/systemd-udevd; do
    grep -qx "$f" <<<"$x" || { fail $scen "$f is not in the image"; return; }
  done
  if grep -E '(^|/)(lvm|mdadm)$' <<<"$x"; then fail $scen "lvm2 or mdadm is in the image"; return; fi
  echo "  mkinitcpio image: $(stat -c %s "$img") bytes, HOOKS=($MKC_HOOKS) (udev; no lvm2, no mdadm)"
  boot $scen "$img" "root=/dev/vg0/root" \
    "$(disk flagship 1 $scen)" "$(disk flagship 2 $scen)" "$(disk flagship 3 $scen)"
  need $scen "$log" ':: running hook \[evms\]' || return
  need $scen "$log" ":: evms-activate: activating root's chain \\(/dev/vg0/root\\)" || return
  generator_booted $scen "$log" "mkinitcpio, udev" || return
  pass $scen
}

# Boots and waits until PATTERN is on the console, then ends QEMU through QMP (for boots that
# rightly end in an interactive prompt). Fails when QEMU ends by itself first or after 150 s.
boot_until() { # SCEN INITRD APPEND PATTERN DISK...
  local scen=$1 ir=$2 append=$3 pat=$4 log=$work/$1.log sock=$work/$1.qmp pid i args=() d; shift 4
  for d in "$@"; do args+=(--disk "$d"); done
  rm -f "$sock"
  vm_run "$ir" "$log" --timeout 180 --qmp "$sock" --append "$TIMER $append" "${args[@]}" &
  pid=$!
  for i in $(seq 1500); do
    grep -qE -- "$pat" "$log" 2>/dev/null && break
    kill -0 $pid 2>/dev/null || break
    sleep 0.1
  done
  if ! grep -qE -- "$pat" "$log"; then
    kill $pid 2>/dev/null; wait $pid; fail "$scen" "no line matching '$pat' (QEMU ended or 150 s passed)"; return 1
  fi
  python3 "$top/tests/vm/qmp.py" "$sock" '{"execute":"quit"}' >/dev/null 2>&1
  wait $pid
  return 0
}

# The same image without our binary (mkinitcpio run where evms-activate is not installed):
# the build says so and fails (the image is still written, as mkinitcpio does), and the boot
# takes mkinitcpio's normal failure path with our message first: root is not found, the mount
# fails, and its emergency shell prompts on the console (ended here through QMP).
scen_mkinitcpio-nobin() {
  local scen=mkinitcpio-nobin log=$work/mkinitcpio-nobin.log img=$work/mkinitcpio-nobin.img bl rc
  bl=$work/$scen.mkinitcpio.log
  disks flagship || return
  mkinitcpio_setup; rc=$?
  if [ $rc = 2 ]; then echo "SKIP $scen: no mkinitcpio 41 source (MKINITCPIO_TARBALL)"; return; fi
  [ $rc = 0 ] || { fail $scen "cannot set up mkinitcpio"; return; }
  if mkinitcpio_build $scen "$img" "$work/not-installed/evms-activate" $MKC_HOOKS; then
    fail $scen "mkinitcpio succeeded without the binary"; return
  fi
  need $scen "$bl" "ERROR: evms: no evms-activate executable at '$work/not-installed/evms-activate'" || return
  need $scen "$bl" 'WARNING: errors were encountered during the build' || return
  grep -E 'ERROR|WARNING: errors' "$bl" | sed 's/^/  build: /'
  [ -s "$img" ] || { fail $scen "mkinitcpio wrote no image"; return; }
  if bash "$MKC/lsinitcpio" "$img" | grep -qx usr/bin/evms-activate; then fail $scen "the binary is in the image"; return; fi
  boot_until $scen "$img" "root=/dev/vg0/root rootdelay=3" '^\[rootfs [^]]*\]# ' \
    "$(disk flagship 1 $scen)" "$(disk flagship 2 $scen)" "$(disk flagship 3 $scen)" || return
  need $scen "$log" '^ERROR: evms: evms-activate is not in this image: MD arrays and LVM volumes are not activated' || return
  need $scen "$log" "^ERROR: Failed to mount '/dev/vg0/root' on real root" || return
  need $scen "$log" '^You are now being dropped into an emergency shell\.' || return
  never $scen "$log" '^EVMS-ROOT' || return
  grep -E '^(ERROR|You are|Waiting|:: )' "$log" | sed 's/^/  console: /'
  pass $scen
}

# An unpacked initramfs-tools image made with our hook (EVMS_ONLY=yes): our binary and scripts
# are in; lvm2's and mdadm's activation (69-lvm.rules, 64-md-raid-assembly.rules, mdadm's
# local-block script) is not, while lvm and mdadm themselves stay when those packages are
# installed (per ADMINDIR, the dpkg database of the system that made the image). Their ORDER
# files do not name removed scripts.
itools_policy() { # SCEN DIR [ADMINDIR]
  local x
  [ -x "$2/usr/sbin/evms-activate" ] || [ -x "$2/sbin/evms-activate" ] || { fail "$1" "our binary is not in the image"; return 1; }
  [ -x "$2/scripts/local-top/evms-activate" ] && [ -x "$2/scripts/local-block/evms-activate" ] ||
    { fail "$1" "our scripts are not in the image"; return 1; }
  x=$(cd "$2" && find . \( -name 69-lvm.rules -o -name 64-md-raid-assembly.rules -o -path './scripts/local-*/mdadm' \))
  [ -z "$x" ] || { fail "$1" "lvm2's or mdadm's activation is in the image: $x"; return 1; }
  if grep -rl mdadm "$2"/scripts/*/ORDER; then fail "$1" "an ORDER file names mdadm's script"; return 1; fi
  for x in lvm:lvm2 mdadm:mdadm; do
    dpkg-query --admindir="${3:-/var/lib/dpkg}" -W -f='${Status}' "${x#*:}" 2>/dev/null | grep -q 'install ok installed' || continue
    [ -e "$2/usr/sbin/${x%%:*}" ] || [ -e "$2/sbin/${x%%:*}" ] || { fail "$1" "${x%%:*} was taken out of the image"; return 1; }
  done
  echo "  image: our binary and scripts; lvm and mdadm present, their activation rules and scripts left out"
}

# initramfs-hooks/ (Debian initramfs-tools) for real: mkinitramfs with our hook and scripts
# for the cached kernel, lvm2's and mdadm's own activation removed from the image (their hooks
# run too when those packages are installed), booted on the flagship. tests/deps.sh installs
# initramfs-tools; skipped when it is absent (a machine using dracut instead: they conflict).
# Debian's mkinitramfs on this machine with our hook and scripts, for the cached kernel; extra
# lines for conf.d/evms-activate in $3. Unpacks the image into $work/SCEN-root.
itools_build() { # SCEN IMG [CONF.D LINES]
  local scen=$1 img=$2 conf=$work/$1-conf x made=() rc=0 d=$work/$1-root
  [ -n "$KVER" ] && [ -d "$KROOT/lib/modules/$KVER" ] || { fail $scen "no kernel"; return 1; }
  # mkinitramfs reads /lib/modules/KVER and /boot/config-KVER only: lend it the cached kernel's
  # (symlinks, removed afterwards; so is /lib/modules if it did not exist).
  local lm_made=; [ -e /lib/modules ] || lm_made=y
  for x in "/lib/modules/$KVER:$KROOT/lib/modules/$KVER" "/boot/config-$KVER:$KROOT/boot/config-$KVER"; do
    if [ ! -e "${x%%:*}" ]; then
      mkdir -p "$(dirname "${x%%:*}")" && ln -s "${x#*:}" "${x%%:*}" && made+=("${x%%:*}")
    fi
  done
  rm -rf "$conf" && cp -a /etc/initramfs-tools "$conf" &&
    cp -a "$top/initramfs-hooks/hooks/." "$conf/hooks/" &&
    mkdir -p "$conf/scripts" "$conf/conf.d" && cp -a "$top/initramfs-hooks/scripts/." "$conf/scripts/" &&
    printf 'MODULES=list\nBUSYBOX=y\nCOMPRESS=gzip\n' > "$conf/initramfs.conf" &&
    printf 'virtio_pci\nvirtio_blk\next4\n' > "$conf/modules" &&
    { [ -z "${3:-}" ] || echo "$3" > "$conf/conf.d/evms-activate"; } &&
    EVMS_ACTIVATE=$BIN mkinitramfs -d "$conf" -o "$img" "$KVER" > "$work/$scen.mkinitramfs.log" 2>&1 || rc=$?
  for x in "${made[@]}"; do rm -f "$x"; done
  [ -n "$lm_made" ] && rmdir /lib/modules
  [ $rc -eq 0 ] || { cat "$work/$scen.mkinitramfs.log"; fail $scen "mkinitramfs failed"; return 1; }
  rm -rf "$d" && mkdir -p "$d" && (cd "$d" && zcat "$img" | cpio -id --quiet) ||
    { fail $scen "cannot unpack $img"; return 1; }
}

scen_initramfs-tools() {
  local scen=initramfs-tools log=$work/initramfs-tools.log img=$work/itools.img
  if [ ! -x /usr/sbin/mkinitramfs ]; then
    echo "SKIP initramfs-tools: mkinitramfs not installed (apt-get install initramfs-tools)"; return
  fi
  disks flagship || return
  itools_build $scen "$img" || return
  # Our hook took lvm2's and mdadm's activation out of the image (EVMS_ONLY=yes, the default):
  # their udev activation rules and mdadm's local-block script are gone, their binaries and
  # naming rules stay (udev runs in this initramfs, and with udev the links are udev's job).
  itools_policy $scen "$work/$scen-root" || return
  echo "  initramfs-tools image: $(stat -c %s "$img") bytes"
  boot $scen "$img" "root=/dev/vg0/root" \
    "$(disk flagship 1 $scen)" "$(disk flagship 2 $scen)" "$(disk flagship 3 $scen)"
  need $scen "$log" 'evms-activate: activating root.s chain' || return
  need $scen "$log" 'evms-activate: activating .*created md md127 \(md127, 9:127\)' || return
  # Debian's md_mod start_ro=1 starts arrays read-auto (the first write makes them active).
  need $scen "$log" '^EVMS-MD md127 9:127 level=raid5 state=(clean|read-auto) degraded=0 ' || return
  generator_booted $scen "$log" "initramfs-tools, udev" || return
  pass $scen
}

# One `activate` with udev running (initramfs-tools' local-top) for a VG on md127p2 of an
# array it starts: the kernel makes md127p2 once the array is reopened after it runs, and the
# LV step finds it in the same run (no "does not exist", no retry from local-block needed).
scen_initramfs-tools-mdlvm() {
  local scen=initramfs-tools-mdlvm log=$work/initramfs-tools-mdlvm.log img=$work/itools-mdlvm.img
  if [ ! -x /usr/sbin/mkinitramfs ]; then
    echo "SKIP $scen: mkinitramfs not installed (apt-get install initramfs-tools)"; return
  fi
  disks mdlvm || return
  itools_build $scen "$img" || return
  itools_policy $scen "$work/$scen-root" || return
  boot $scen "$img" "root=/dev/vgm/root" "$(disk mdlvm 1 $scen)" "$(disk mdlvm 2 $scen)"
  need $scen "$log" 'evms-activate: activating root.s chain' || return
  need $scen "$log" 'created md md127 \(md127, 9:127\)' || return
  need $scen "$log" 'created dm vgm-root \(dm-0, ' || return
  never $scen "$log" 'FAILED|does not exist and no step|made no partition' || return
  # Created once: local-block (run while root is missing) had nothing left to do.
  [ "$(grep -c 'created dm vgm-root' "$log")" = 1 ] || { fail $scen "vgm-root created more than once"; return; }
  need $scen "$log" '^EVMS-ROOT-OK pid=1$' || return
  need $scen "$log" '^EVMS-ROOTDEV [0-9]+:[0-9]+ dm-[0-9]+ vgm-root$' || return
  need $scen "$log" '^EVMS-NODE /dev/vgm/root -> \.\./dm-0' || return
  pass $scen
}

# EVMS_ONLY=no (conf.d/evms-activate): our scripts step aside, lvm2's and mdadm's activation
# stays in the image and activates as without us: mdadm --incremental assembles the array and
# lvm2's vgchange -aay brings up the whole VG (vg0/home too) during the coldplug.
scen_initramfs-tools-stepaside() {
  local scen=initramfs-tools-stepaside log=$work/initramfs-tools-stepaside.log img=$work/itools-stepaside.img d x
  d=$work/$scen-root
  if [ ! -x /usr/sbin/mkinitramfs ]; then
    echo "SKIP $scen: mkinitramfs not installed (apt-get install initramfs-tools)"; return
  fi
  for x in lvm2 mdadm; do
    dpkg-query -W -f='${Status}' $x 2>/dev/null | grep -q 'install ok installed' || { fail $scen "$x is not installed"; return; }
  done
  disks flagship || return
  itools_build $scen "$img" EVMS_ONLY=no || return
  [ -x "$d/usr/sbin/evms-activate" ] || [ -x "$d/sbin/evms-activate" ] || { fail $scen "the binary is not in the image"; return; }
  x=$(cd "$d" && find . -path './scripts/*/evms-activate')
  [ -z "$x" ] || { fail $scen "our scripts are in the image: $x"; return; }
  for x in 69-lvm.rules 64-md-raid-assembly.rules; do
    [ -n "$(find "$d" -name $x)" ] || { fail $scen "$x is not in the image"; return; }
  done
  [ -x "$d/scripts/local-block/mdadm" ] || { fail $scen "mdadm's local-block script is not in the image"; return; }
  boot $scen "$img" "root=/dev/vg0/root" \
    "$(disk flagship 1 $scen)" "$(disk flagship 2 $scen)" "$(disk flagship 3 $scen)"
  never $scen "$log" 'evms-activate' || return
  need $scen "$log" '^EVMS-ROOT-OK pid=1$' || return
  need $scen "$log" '^EVMS-ROOTDEV [0-9]+:[0-9]+ dm-[0-9]+ vg0-root$' || return
  need $scen "$log" '^EVMS-DM vg0-home ' || return
  need $scen "$log" '^EVMS-NODE /dev/md/pv0_0 -> \.\./md127' || return
  echo "  lvm2 and mdadm activated root and vg0/home; evms-activate did nothing"
  pass $scen
}

# The Debian package (make deb) installed with dpkg into a cached Debian chroot with lvm2 and
# mdadm (tests/deb-chroot.sh): its update-initramfs trigger made the image (our hook took lvm2's
# and mdadm's activation out), which boots the flagship. Removal and purge are checked there.
scen_deb() {
  local scen=deb log=$work/deb.log img=$work/deb.img d=$work/deb-root ver deb
  ver=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$top/Cargo.toml" | head -1)
  deb=$top/target/deb/evms-activate_${ver}_amd64.deb
  [ -f "$deb" ] || { fail $scen "$deb is missing (make deb)"; return; }
  disks flagship || return
  "$top/tests/deb-chroot.sh" "$deb" "$img" || { fail $scen "the package in the chroot"; return; }
  rm -rf "$d" && mkdir -p "$d" && (cd "$d" && unmkinitramfs "$img" .) || { fail $scen "cannot unpack $img"; return; }
  # unmkinitramfs puts an image with an early part (microcode) under main/.
  [ -d "$d/main" ] && d=$d/main
  itools_policy $scen "$d" "$CACHE/deb-chroot/base/var/lib/dpkg" || return
  echo "  image made by the package's trigger: $(stat -c %s "$img") bytes"
  boot $scen "$img" "root=/dev/vg0/root" \
    "$(disk flagship 1 $scen)" "$(disk flagship 2 $scen)" "$(disk flagship 3 $scen)"
  need $scen "$log" "evms-activate: activating root's chain \\(/dev/vg0/root\\)" || return
  need $scen "$log" '(^|evms-activate: activating .*)created md md127 \(md127, 9:127\)' || return
  generator_booted $scen "$log" "initramfs-tools made by the package's trigger, udev" || return
  pass $scen
}

scen_noshell() {
  disks whole || return
  local log=$work/noshell.log
  boot noshell "$work/initrd.gz" "root=/dev/vdb rd.timeout=2 rd.shell panic=1" "$(disk whole 1 noshell)" ||
    { fail noshell "QEMU did not end by itself"; return; }
  need noshell "$log" 'evms-activate: rd.shell: there is no shell \(/bin/sh\) in this initramfs; add one when generating it' || return
  need noshell "$log" 'evms-activate: Rebooting in 1 s \(panic=1\)' || return
  pass noshell
}

# --- LUKS --------------------------------------------------------------------------------------
# The passphrase the disk sets were made with (disks-guest.sh), typed at our prompt; the
# cipher modules a LUKS root needs (aes and sha256 are built into the Debian kernel; aesni_intel
# is there as a distribution's image has it, and fails on TCG's CPU: the generic aes serves).
LUKS_PASS='evms boot passphrase'
LUKS_MODULES="dm-crypt xts essiv aesni_intel"
LUKS_PROMPT='Please enter passphrase for disk'

# Boots with the serial console's input on a FIFO and answers each passphrase prompt: the n-th
# time PATTERN is on the console, ANSWERS' n-th field (| separated) is typed, as a person would.
typed_boot() { # SCEN INITRD APPEND PATTERN ANSWERS DISK...
  local scen=$1 ir=$2 append=$3 pat=$4 answers=$5 log=$work/$1.log fifo=$work/$1.in
  local args=() d pid n=0 seen fd rc ans; shift 5
  for d in "$@"; do args+=(--disk "$d"); done
  IFS='|' read -ra ans <<<"$answers"
  rm -f "$fifo" "$log" && mkfifo "$fifo"
  exec {fd}<>"$fifo"
  vm_run "$ir" "$log" --timeout 240 --input "$fifo" --append "$TIMER $append" "${args[@]}" &
  pid=$!
  while kill -0 $pid 2>/dev/null; do
    seen=$(grep -cE -- "$pat" "$log" 2>/dev/null)
    if [ "${seen:-0}" -gt $n ] && [ $n -lt ${#ans[@]} ]; then
      sleep 0.5
      printf '%s
' "${ans[n]}" >&$fd
      n=$((n + 1))
    fi
    sleep 0.2
  done
  wait $pid; rc=$?
  exec {fd}>&-
  rm -f "$fifo"
  echo "  typed $n answer(s) at the passphrase prompt"
  return $rc
}

# A LUKS root booted: the crypt device as cryptsetup names and identifies it (DM UUID
# CRYPT-LUKS2-<uuid without dashes>-NAME) with its udev record, the LV inside, no volume key
# left in a keyring (a revoked one may still be listed until the kernel collects it).
luks_booted() { # SCEN LOG NAME UUID
  local u
  u=$(echo "$4" | tr -d -)
  need "$1" "$2" "^EVMS-DM $3 25[0-9]:[0-9]+ uuid=CRYPT-LUKS2-$u-$3 record=\[E:DM_UDEV_PRIMARY_SOURCE_FLAG=1 E:DM_NAME=$3 E:DM_UUID=CRYPT-LUKS2-$u-$3\]" || return 1
  need "$1" "$2" "^EVMS-NODE /dev/mapper/$3 block" || return 1
  # /proc/keys: ID FLAGS ...; R in FLAGS: revoked.
  if grep '^EVMS-KEY ' "$2" | awk '$3 !~ /R/ { f = 1; print } END { exit !f }'; then
    fail "$1" "a volume key is still in a keyring"; return 1
  fi
  # The passphrase never reaches the console (no echo, never logged).
  never "$1" "$2" "$LUKS_PASS" || return 1
}

luks_initrd() { # SCEN [mkinitramfs options]: an image with the LUKS modules
  local scen=$1; shift
  mkir "$work/$scen.initrd.gz" --modules "$LUKS_MODULES" "$@" >/dev/null
}

scen_luks-root() {
  local scen=luks-root log=$work/luks-root.log u ct=$work/luks-root.crypttab
  disks luks || return
  u=$(meta luks LUKS_UUID)
  echo "cryptroot UUID=$u none luks,discard" > "$ct"
  luks_initrd $scen --file "$ct:/etc/crypttab"
  typed_boot $scen "$work/$scen.initrd.gz" "root=/dev/vg0/root resume=/dev/vg0/swap evms.debug" \
    "$LUKS_PROMPT" "$LUKS_PASS" "$(disk luks 1 $scen)" || { fail $scen "QEMU failed"; return; }
  booted $scen "$log" 'dm-[0-9]+ vg0-root' || return
  need $scen "$log" "$LUKS_PROMPT vda1 \(cryptroot\): " || return
  [ "$(grep -c "$LUKS_PROMPT" "$log")" = 1 ] || { fail $scen "asked more than once"; return; }
  need $scen "$log" 'evms-activate: opened vda1 \(cryptroot\) with the passphrase given' || return
  luks_booted $scen "$log" cryptroot "$u" || return
  need $scen "$log" '^EVMS-DM vg0-swap ' || return
  need $scen "$log" 'evms-activate: created dm cryptroot ' || return
  local mm
  mm=$(grep '^EVMS-DM vg0-swap ' "$log" | awk '{print $3}')
  need $scen "$log" "^EVMS-RESUME $mm\$" || return
  need $scen "$log" 'evms-activate: resuming from vg0/swap' || return
  stages "$log"
  pass $scen
}

scen_luks-keyfile() {
  local scen=luks-keyfile log=$work/luks-keyfile.log u
  disks luks || return
  u=$(meta luks LUKS_UUID)
  luks_initrd $scen --file "${SETDIR[luks]}/keyfile:/etc/keys/root.key"
  boot $scen "$work/$scen.initrd.gz" \
    "root=UUID=$(meta luks ROOTLV_UUID) rd.luks.name=$u=cryptroot rd.luks.key=/etc/keys/root.key evms.debug" \
    "$(disk luks 1 $scen)"
  booted $scen "$log" 'dm-[0-9]+ vg0-root' || return
  never $scen "$log" "$LUKS_PROMPT" || return
  need $scen "$log" 'evms-activate: opened vda1 \(cryptroot\) with key file /etc/keys/root.key' || return
  luks_booted $scen "$log" cryptroot "$u" || return
  # Only root's chain: the swap LV stays down.
  never $scen "$log" '^EVMS-DM vg0-swap' || return
  pass $scen
}

scen_luks-wrong() {
  local scen=luks-wrong log=$work/luks-wrong.log u ct=$work/luks-wrong.crypttab
  disks luks || return
  u=$(meta luks LUKS_UUID)
  echo "cryptroot UUID=$u none luks" > "$ct"
  luks_initrd $scen --file "$ct:/etc/crypttab"
  typed_boot $scen "$work/$scen.initrd.gz" "root=/dev/vg0/root panic=5 evms.debug" \
    "$LUKS_PROMPT" "wrong one|wrong two|wrong three|must not be asked" "$(disk luks 1 $scen)"
  [ "$(grep -c "$LUKS_PROMPT vda1 (cryptroot)" "$log")" = 3 ] || { fail $scen "not asked exactly 3 times"; return; }
  [ "$(grep -c '^No key available with this passphrase\.$' "$log")" = 2 ] || { fail $scen "no 'No key available' after each of the first two"; return; }
  need $scen "$log" '^No key available with this passphrase\. vda1 \(cryptroot\): giving up after 3 tries\.' || return
  need $scen "$log" 'evms-activate: Cannot open LUKS volume vda1 \(cryptroot\): no key available with the 3 passphrase\(s\) given' || return
  need $scen "$log" 'evms-activate: Cannot open the LUKS volume\(s\) root may be inside' || return
  need $scen "$log" 'evms-activate: Rebooting in 5 s \(panic=5\)' || return
  need $scen "$log" 'reboot: Restarting system' || return
  never $scen "$log" '^EVMS-ROOT' || return
  grep -E '^No key|giving up|Cannot open|Rebooting' "$log" | sed 's/^/  console: /' | head -6
  pass $scen
}

# The hand-off to a systemd root: Debian's systemd 252 with the same crypttab finds cryptroot
# already active (systemd-cryptsetup@cryptroot succeeds without asking), reaches
# multi-user.target with nothing failed, uses the swap LV; one crypt mapping only.
scen_luks-systemd() {
  local scen=luks-systemd log=$work/luks-systemd.log u ct=$work/luks-systemd.crypttab
  disks luksys || return
  u=$(meta luksys LUKS_UUID)
  echo "cryptroot UUID=$u none luks" > "$ct"
  luks_initrd $scen --file "$ct:/etc/crypttab"
  typed_boot $scen "$work/$scen.initrd.gz" "root=/dev/vg0/root resume=/dev/vg0/swap rw" \
    "$LUKS_PROMPT" "$LUKS_PASS" "$(disk luksys 1 $scen)" || { fail $scen "QEMU failed"; return; }
  grep '^EVMS-SD-' "$log" | sed 's/^/  /'
  need $scen "$log" '^EVMS-SD-TARGET active$' || return
  need $scen "$log" '^EVMS-SD-CRYPT success active $' || return
  need $scen "$log" '^EVMS-SD-CRYPTLOG Volume cryptroot already active\.$' || return
  need $scen "$log" '^EVMS-SD-ASKED 0$' || return
  never $scen "$log" '^EVMS-SD-FAILED ' || return
  [ "$(grep -c '^EVMS-SD-DM .* CRYPT-' "$log")" = 1 ] || { fail $scen "not exactly one crypt mapping"; return; }
  need $scen "$log" "^EVMS-SD-DM cryptroot CRYPT-LUKS2-$(echo "$u" | tr -d -)-cryptroot\$" || return
  need $scen "$log" '^EVMS-SD-SWAP /dev/mapper/vg0-swap $' || return
  need $scen "$log" '^EVMS-SD-UNIT dev-mapper-cryptroot.device active$' || return
  need $scen "$log" '^EVMS-SD-UNIT dev-vg0-swap.device active$' || return
  [ "$(grep -c "$LUKS_PROMPT" "$log")" = 1 ] || { fail $scen "asked more than once"; return; }
  need $scen "$log" '^EVMS-SD-END$' || return
  pass $scen
}

# A generator's image on the luks disk: our hook or module, the system's crypttab in the image
# (EVMS_CRYPTTAB), no cryptsetup; the passphrase typed at the prompt the image shows (our console
# prompt in initramfs-tools; systemd's console password agent in dracut's systemd image), udev's
# records for the crypt device and root's LV, nothing else active.
luks_generator_booted() { # SCEN LOG U
  local u
  u=$(echo "$3" | tr -d -)
  need "$1" "$2" '^EVMS-ROOT-OK pid=1$' || return 1
  need "$1" "$2" '^EVMS-ROOTDEV [0-9]+:[0-9]+ dm-[0-9]+ vg0-root$' || return 1
  need "$1" "$2" "^EVMS-DM cryptroot 25[0-9]:[0-9]+ uuid=CRYPT-LUKS2-$u-cryptroot record=\\[.*E:DM_UDEV_PRIMARY_SOURCE_FLAG=1" || return 1
  need "$1" "$2" '^EVMS-DM vg0-root .*E:DM_UDEV_PRIMARY_SOURCE_FLAG=1 ' || return 1
  [ "$(grep -c '^EVMS-DM ' "$2")" = 2 ] || { fail "$1" "more than cryptroot and vg0-root are active"; return 1; }
  [ "$(grep -c "$LUKS_PROMPT" "$2")" = 1 ] || { fail "$1" "not asked exactly once"; return 1; }
  never "$1" "$2" "$LUKS_PASS" || return 1
}

scen_initramfs-tools-luks() {
  local scen=initramfs-tools-luks log=$work/initramfs-tools-luks.log img=$work/itools-luks.img u x
  local ct=$work/$scen.crypttab
  if [ ! -x /usr/sbin/mkinitramfs ]; then
    echo "SKIP $scen: mkinitramfs not installed (apt-get install initramfs-tools)"; return
  fi
  disks luks || return
  u=$(meta luks LUKS_UUID)
  echo "cryptroot UUID=$u none luks" > "$ct"
  export EVMS_CRYPTTAB=$ct
  itools_build $scen "$img"; x=$?
  unset EVMS_CRYPTTAB
  [ $x = 0 ] || return
  itools_policy $scen "$work/$scen-root" || return
  cmp -s "$ct" "$work/$scen-root/etc/crypttab" || { fail $scen "the crypttab is not in the image"; return; }
  x=$(cd "$work/$scen-root" && find . -name 'cryptsetup*' -o -name cryptroot)
  [ -z "$x" ] || { fail $scen "cryptsetup is in the image: $x"; return; }
  typed_boot $scen "$img" "root=/dev/vg0/root" "$LUKS_PROMPT" "$LUKS_PASS" "$(disk luks 1 $scen)" ||
    { fail $scen "QEMU failed"; return; }
  need $scen "$log" "$LUKS_PROMPT vda1 \\(cryptroot\\)" || return
  luks_generator_booted $scen "$log" "$u" || return
  pass $scen
}

scen_dracut-luks() {
  local scen=dracut-luks log=$work/dracut-luks.log img=$work/dracut-luks.img u x ct=$work/dracut-luks.crypttab
  disks luks || return
  u=$(meta luks LUKS_UUID)
  echo "cryptroot UUID=$u none luks" > "$ct"
  export EVMS_CRYPTTAB=$ct
  dracut_build $scen "$img"; x=$?
  unset EVMS_CRYPTTAB
  [ $x = 0 ] || return
  grep -q ' etc/crypttab$' <<<"$DRACUT_LISTING" || { fail $scen "the crypttab is not in the image"; return; }
  typed_boot $scen "$img" "root=/dev/vg0/root rd.timeout=120 systemd.journald.forward_to_console=1" \
    "$LUKS_PROMPT" "$LUKS_PASS" "$(disk luks 1 $scen)" || { fail $scen "QEMU failed"; return; }
  need $scen "$log" 'dracut-initqueue\[[0-9]+\]: opened vda1 \(cryptroot\) with the passphrase given' || return
  luks_generator_booted $scen "$log" "$u" || return
  pass $scen
}

scen_luks-stack() {
  local scen=luks-stack log=$work/luks-stack.log i u
  disks lukstack || return
  luks_initrd $scen
  typed_boot $scen "$work/$scen.initrd.gz" "root=LABEL=stackroot evms.debug" "$LUKS_PROMPT" "$LUKS_PASS" \
    "$(disk lukstack 1 $scen)" "$(disk lukstack 2 $scen)" "$(disk lukstack 3 $scen)" "$(disk lukstack 4 $scen)" ||
    { fail $scen "QEMU failed"; return; }
  booted $scen "$log" 'dm-[0-9]+ vg0-root' || return
  [ "$(grep -c "$LUKS_PROMPT" "$log")" = 1 ] || { fail $scen "not asked exactly once"; return; }
  for i in 1 2 3 4; do
    u=$(meta lukstack "LUKS${i}_UUID")
    luks_booted $scen "$log" "luks-$u" "$u" || return
  done
  [ "$(grep -c 'opened vd[a-d]1 (luks-.*) with the passphrase that opened another volume' "$log")" = 3 ] ||
    { fail $scen "the passphrase was not reused for the three others"; return; }
  need $scen "$log" '^EVMS-MD md127 9:127 level=raid5 state=clean degraded=0 ' || return
  stages "$log"
  pass $scen
}

for s in "${scenarios[@]}"; do
  declare -F "scen_$s" >/dev/null || { fail "$s" "no such scenario"; continue; }
  t=$(date +%s)
  echo "--- $s"
  "scen_$s"
  echo "  wall: $(( $(date +%s) - t )) s"
done
echo "logs: $work/*.log"
[ $fails -eq 0 ]
