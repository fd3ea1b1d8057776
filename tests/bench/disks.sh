#!/bin/bash
# Disk sets of the benchmark's scale cases, written by lvm2 (on the host, loop devices,
# activation off: vm-notes.md) or by mdadm (in a VM): never by our code. Cached in
# .cache/bench/disks/SET/ (keyed by this script); prints that directory.
#
#   tests/bench/disks.sh SET
#
#   lv250, lv500, lv1000  one disk, one VG "big" with N linear LVs of one 4 MiB extent each
#                         (a 4 MiB metadata area: 1000 LVs' text does not fit lvm2's default)
#   history               one disk, VG "hist" with 50 LVs, a 16 MiB metadata area whose ring
#                         holds 2000 older copies (tags added one commit at a time), the
#                         current copy wrapping around the end of the ring
#   stripe64              64 disks, each a PV of VG "wide" (1 MiB extents), 200 LVs each
#                         striped over all 64 PVs (64 KiB stripes)
#   md16                  4 disks with 16 GPT partitions each; 16 MD RAID5 arrays (1.2,
#                         4 members, partition i of every disk), made by mdadm in a VM
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
: "${CACHE:=$ROOT/.cache}"
set=${1:?usage: disks.sh SET}
# The cache key: the set's recipe version below (bump it when a recipe changes; editing one set
# does not rebuild the others, lv1000 takes minutes).
declare -A RECIPE=([lv250]=1 [lv500]=1 [lv1000]=1 [history]=2 [stripe64]=2 [md16]=1)
key=$(printf '%s-%s' "$set" "${RECIPE[$set]:-0}" | sha256sum | cut -c1-12)
dir=$CACHE/bench/disks/$set/$key
if [ -f "$dir/ready" ]; then echo "$dir"; exit 0; fi
rm -rf "$CACHE/bench/disks/$set" && mkdir -p "$dir"
work=$CACHE/bench/disks/lvm-etc
LOOPS=()
cleanup() { local l; for l in "${LOOPS[@]}"; do losetup -d "$l" 2>/dev/null || true; done; }
trap cleanup EXIT
export LVM_SUPPRESS_FD_WARNINGS=1 LVM_SYSTEM_DIR=$work/etc

# lvm.conf admitting only our loop devices; activation off (no DM on the host).
lvm_conf() {
  local f="" d
  for d in "$@"; do f="$f\"a|^$d\$|\", "; done
  mkdir -p "$work/etc" "$work/lock"
  cat > "$work/etc/lvm.conf" <<EOC
global { activation = 0 use_lvmlockd = 0 locking_dir = "$work/lock" }
backup { backup = 0 archive = 0 }
devices { use_devicesfile = 0 obtain_device_list_from_udev = 0 global_filter = [ $f"r|.*|" ] }
activation { udev_sync = 0 udev_rules = 0 monitoring = 0 }
EOC
}
attach() { local l; l=$(losetup -f --show "$1"); LOOPS+=("$l"); echo "$l"; }
# Runs lvm commands read from stdin in one lvm process (its shell), dropping the warnings
# that activation = 0 prints; fails when lvm fails.
lvm_batch() {
  local out rc=0
  out=$(lvm 2>&1) || rc=$?
  if grep -E 'Failed|failed|Insufficient|No space|ERROR|error:' <<<"$out" | grep -v 'not zeroed' | head -5 | grep .; then
    echo "disks.sh: lvm reported errors ($set)" >&2; exit 1
  fi
  [ $rc -eq 0 ] || { echo "disks.sh: lvm exited $rc ($set)" >&2; exit 1; }
}

case $set in
  lv[0-9]*)
    n=${set#lv}
    truncate -s $((n * 4 + 64))M "$dir/disk0.img"
    d=$(attach "$dir/disk0.img"); lvm_conf "$d"
    { echo "pvcreate -q --metadatasize 4m $d"; echo "vgcreate -q big $d"
      for i in $(seq 1 "$n"); do echo "lvcreate -q -an -Zn -l1 -n lv$i big"; done; } | lvm_batch
    [ "$(lvm lvs --noheadings big 2>/dev/null | wc -l)" = "$n" ] || { echo "disks.sh: $set: not $n LVs" >&2; exit 1; }
    echo "virtio disk0.img" > "$dir/disks"
    ;;
  history)
    truncate -s 512M "$dir/disk0.img"
    d=$(attach "$dir/disk0.img"); lvm_conf "$d"
    { echo "pvcreate -q --metadatasize 16m $d"; echo "vgcreate -q hist $d"
      for i in $(seq 1 50); do echo "lvcreate -q -an -Zn -l1 -n lv$i hist"; done
      for i in $(seq 1 2000); do echo "lvchange -q --addtag t$i hist/lv$(( (i % 50) + 1 ))"; done; } | lvm_batch
    # The ring really holds a long history: the copies written (seqno x text size) exceed
    # its size several times, so every byte of it is some older copy.
    h=$(lvm pvck --dump headers "$d" 2>/dev/null)
    ring=$(sed -n 's/.*mda_header_1.size \([0-9]*\).*/\1/p' <<<"$h")
    text=$(sed -n 's/.*mda_header_1.raw_locn\[0\].size \([0-9]*\).*/\1/p' <<<"$h")
    seqno=$(lvm vgs --noheadings -o seqno hist 2>/dev/null | tr -d ' ')
    [ -n "$ring" ] && [ -n "$text" ] && [ "${seqno:-0}" -ge 2000 ] && [ $((seqno * text / 2)) -gt "$ring" ] ||
      { echo "disks.sh: history: the ring ($ring bytes) does not hold a long history (seqno $seqno, text $text)" >&2; exit 1; }
    echo "virtio disk0.img" > "$dir/disks"
    ;;
  stripe64)
    devs=()
    for i in $(seq 0 63); do
      truncate -s 240M "$dir/disk$i.img"
      devs+=("$(attach "$dir/disk$i.img")")
    done
    lvm_conf "${devs[@]}"
    { for d in "${devs[@]}"; do echo "pvcreate -q --metadatasize 2m $d"; done
      # lvm's shell takes at most 64 words per line
      echo "vgcreate -q -s 1m wide ${devs[*]:0:8}"
      for i in 8 16 24 32 40 48 56; do echo "vgextend -q wide ${devs[*]:$i:8}"; done
      for i in $(seq 1 200); do echo "lvcreate -q -an -Zn -i 64 -I 64k -l 64 -n s$i wide"; done; } | lvm_batch
    [ "$(lvm lvs --noheadings wide 2>/dev/null | wc -l)" = 200 ] || { echo "disks.sh: stripe64: not 200 LVs" >&2; exit 1; }
    for i in $(seq 0 63); do echo "scsi disk$i.img"; done > "$dir/disks"
    ;;
  md16)
    . "$ROOT/tests/vm/lib.sh"
    vm_kernel >/dev/null
    script='label: gpt'
    for i in $(seq 1 16); do script="$script
size=3MiB, type=A19D880F-05FC-4D3B-A006-743F0F84911E"; done
    for i in 0 1 2 3; do
      truncate -s 64M "$dir/disk$i.img"
      printf '%s\n' "$script" | sfdisk -q --no-reread --no-tell-kernel "$dir/disk$i.img" >/dev/null
    done
    cat > "$dir/create.sh" <<'EOS'
set -e
for i in $(seq 1 16); do
  /usr/sbin/mdadm --create /dev/md/a$i --run --level=5 --raid-devices=4 --metadata=1.2 \
    --assume-clean /dev/vda$i /dev/vdb$i /dev/vdc$i /dev/vdd$i
done
/usr/sbin/mdadm --stop --scan
ls /sys/block | grep -c '^md' > /out/left || true
touch /out/created
EOS
    vm_initramfs "$dir/create.gz" --script "$dir/create.sh" --tools "mdadm" \
      --modules "virtio_pci virtio_blk md-mod raid456"
    vm_run "$dir/create.gz" "$dir/create.console" --disk "$dir/disk0.img" --disk "$dir/disk1.img" \
      --disk "$dir/disk2.img" --disk "$dir/disk3.img" --out "$dir/create.out" --timeout 600 --append quiet
    [ -f "$dir/create.out/created" ] || { echo "disks.sh: md16: the VM did not create the arrays ($dir/create.console)" >&2; exit 1; }
    rm -f "$dir/create.gz"
    for i in 0 1 2 3; do echo "virtio disk$i.img"; done > "$dir/disks"
    ;;
  *) echo "disks.sh: no set $set" >&2; exit 2 ;;
esac
touch "$dir/ready"
echo "$dir"
