# One VG over a whole-disk PV and an MBR-partition PV: two-segment, striped, read-only, skip LVs
# VG "data" on /dev/vda (no partition table) and /dev/vdb1 (MBR type 8e). LV span: 2 extents
# on vda, then 2 on vdb1 (two segments, two table lines); stripe: 2 stripes of 64 KiB over both
# PVs; ro: permission r (activated read-only); skip: activation skip flag (vgchange -ay
# leaves it alone).

DISKS="32M 32M"
SFDISK_1='label: dos
label-id: 0x7e0b0001
start=2048, type=8e'

create() {
  pv_create /dev/vda
  pv_create /dev/vdb1
  run $LVM vgcreate -q data /dev/vda /dev/vdb1
  run $LVM lvcreate -q -n span -l 2 data /dev/vda
  run $LVM lvcreate -q -n stripe -i 2 -I 64 -l 4 data /dev/vda /dev/vdb1
  run $LVM lvextend -q -l +2 data/span /dev/vdb1
  run $LVM lvcreate -q -n ro -l 1 data /dev/vdb1
  run $LVM lvcreate -q -n skip -l 1 -ky data /dev/vda
  run $LVM vgchange -an data
  lvm_fix_ids data
  run $LVM vgchange -ay -K data
  fill /dev/data/span twopv-span
  fill /dev/data/stripe twopv-stripe
  fill /dev/data/ro twopv-ro
  fill /dev/data/skip twopv-skip
  run $LVM vgchange -an data
  run $LVM lvchange -q -pr data/ro
}
