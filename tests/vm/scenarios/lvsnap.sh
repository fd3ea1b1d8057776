# COW snapshots: origin and snapshot (-real/-cow), a merge pending since the origin was open, an invalid (overflowed) snapshot
# VG vgs on vda (extent size 1 MiB):
#   lv, snap     origin (filled) and a snapshot (chunk 4 KiB); lv's first 64 KiB rewritten
#                after the snapshot, so the two differ
#   lv2, snap2   origin and snapshot (chunk 64 KiB); `lvconvert --merge vgs/snap2` while lv2
#                was open: the merge waits for the next activation, where lvm2 loads
#                snapshot-merge on vgs-lv2 and an error target on vgs-snap2
#   lv3, snap3   a 1-extent snapshot overflowed by writing 2 MiB to lv3: the kernel marked its
#                COW invalid; lvm2 loads it as before and the kernel keeps it invalid
# The oracle is `vgchange -ay --sysinit` (no background merge polling, as an initramfs runs
# it: the polling would rewrite the metadata once the merge ends).
# Cases: all; snap (only vgs/snap: its origin comes with it, as lvm2 requires).
DISKS="48M"

CASES="all snap"
CASE_all_ORACLE=oracle_sysinit
CASE_all_DATA="vgs-lv vgs-snap vgs-lv2 vgs-lv3"
CASE_snap_ARGS="vgs/snap"
CASE_snap_ORACLE=oracle_snap
CASE_snap_DATA="vgs-lv vgs-snap"

oracle_sysinit() { $LVM vgchange -ay --sysinit; }
# lvm2 asks "Change of snapshot vgs/snap will also change its origin vgs/lv. Proceed?": yes
# (-y); stdin from /dev/null so that another question cannot wait for the console.
oracle_snap() { $LVM lvchange -ay -y --sysinit vgs/snap < /dev/null; }

create() {
  pv_create /dev/vda
  run $LVM vgcreate -q -s 1m vgs /dev/vda
  run $LVM lvcreate -q -y -L 8m -n lv vgs
  run $LVM lvcreate -q -y -L 6m -n lv2 vgs
  run $LVM lvcreate -q -y -L 4m -n lv3 vgs
  fill /dev/vgs/lv lvsnap-lv
  fill /dev/vgs/lv2 lvsnap-lv2
  fill /dev/vgs/lv3 lvsnap-lv3
  data_hash vgs-snap /dev/vgs/lv
  run $LVM lvcreate -q -y -s -L 4m -c 4k -n snap vgs/lv
  run $LVM lvcreate -q -y -s -L 4m -c 64k -n snap2 vgs/lv2
  run $LVM lvcreate -q -y -s -l 1 -c 4k -n snap3 vgs/lv3
  dd if=/dev/zero of=/dev/vgs/lv bs=64k count=1 conv=fsync 2>/dev/null
  data_hash vgs-lv /dev/vgs/lv
  dd if=/dev/zero of=/dev/vgs/lv2 bs=64k count=2 conv=fsync 2>/dev/null
  printf '%-511s\n' 'lvsnap-snap2 sector 0' | dd of=/dev/vgs/snap2 bs=512 count=1 conv=notrunc,fsync 2>/dev/null
  # The merged result: lv2 as snap2 shows it.
  data_hash vgs-lv2 /dev/vgs/snap2
  dd if=/dev/zero of=/dev/vgs/lv3 bs=1M count=2 conv=fsync 2>/dev/null
  data_hash vgs-lv3 /dev/vgs/lv3
  run $LVM lvs -a -o+segtype,snap_percent,chunk_size vgs
  # Merge while the origin is open: lvm2 delays it to the next activation (none follows here:
  # the ids are fixed with the VG inactive).
  sleep 30 < /dev/vgs/lv2 &
  holder=$!
  run $LVM lvconvert -y --merge vgs/snap2
  kill $holder
  wait $holder 2>/dev/null || true
  run $LVM lvs -a -o+segtype,snap_percent vgs
  run $LVM vgchange -an vgs
  lvm_fix_ids vgs
}
