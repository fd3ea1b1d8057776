# LVM RAID (dm-raid): raid0, raid0_meta, raid1, raid4, raid5 and raid6 in every layout, raid10; lvm2's flags
# VG vgr over five whole-disk PVs (extent size 512 KiB), one LV per segment type and layout, each
# made by lvcreate and filled with its own pattern:
#   r1       raid1, 2 images                  r1x3     raid1, 3 images, region size 256 KiB
#   r1ns     raid1 --nosync, min/max recovery rate 1 MiB/s and 4 MiB/s
#   r1wm     raid1 with image 1 write-mostly (lvchange --writemostly) and writebehind 64
#   r1rb     raid1 whose image 1 carries REBUILD (as an interrupted lvconvert --replace leaves
#            it; set through vgcfgbackup/vgcfgrestore): lvm2 passes `rebuild 1`
#   r0       raid0, 2 stripes of 128 KiB (no metadata sub-LVs)
#   r0m      raid0_meta, 3 stripes
#   r4       raid4;  r5 raid5 (= raid5_ls);  r5la r5ra r5rs r5n: raid5_la/_ra/_rs/_n
#   r6       raid6 (= raid6_zr);  r6nr r6nc r6ls r6rs r6la r6ra r6n: raid6_nr/_nc/_ls_6/_rs_6/
#            _la_6/_ra_6/_n_6
#   r10      raid10, 2 stripes x 2 copies
# Every LV is left in sync (create waits), so the records say in sync after any activation.
# Case "all": vgchange -ay; case "r5": only vgr/r5, then a new pattern is written through
# our vgr-r5 (CASE_r5_WRITE) and read back through lvm2's activation (CASE_r5_AFTER) on the
# disks as ours left them.

DISKS="32M 32M 32M 32M 32M"
SYNC_LVS=1
# 22 LVs and their 156 sub-LVs are recorded and hashed four times.
TEST_TIMEOUT=2400

CASES="all r5"
CASE_all_DATA="vgr-r1 vgr-r1x3 vgr-r1ns vgr-r1wm vgr-r1rb vgr-r0 vgr-r0m vgr-r4 vgr-r5 vgr-r5la vgr-r5ra vgr-r5rs vgr-r5n vgr-r6 vgr-r6nr vgr-r6nc vgr-r6ls vgr-r6rs vgr-r6la vgr-r6ra vgr-r6n vgr-r10"
CASE_r5_ARGS="vgr/r5"
CASE_r5_ORACLE=oracle_r5
CASE_r5_DATA="vgr-r5"
CASE_r5_WRITE=write_r5
CASE_r5_AFTER=after_r5
CASE_r5_AFTER_DATA="r5-written"
oracle_r5() { $LVM lvchange -ay vgr/r5; }
# Through our device: a pattern the image does not hold, so reading it back proves the write.
write_r5() {
  fill /dev/mapper/vgr-r5 r5-written-by-ours
  written_hash r5-written /dev/mapper/vgr-r5
}
after_r5() {
  $LVM lvchange -ay vgr/r5 || return 1
  after_hash r5-written /dev/vgr/r5
  $LVM lvchange -an vgr/r5
}

# pattern_hash NAME SECTORS TAG: the hash `fill` would give a device of SECTORS sectors.
pattern_hash() {
  awk -v n="$2" -v t="$3" 'BEGIN { for (i = 0; i < n; i++) printf "%-511s\n", t " sector " i }' > /tmp/pattern
  data_hash "$1" /tmp/pattern
  rm -f /tmp/pattern
}

LVS_RAID="r1 r1x3 r1ns r1wm r1rb r0 r0m r4 r5 r5la r5ra r5rs r5n r6 r6nr r6nc r6ls r6rs r6la r6ra r6n r10"

create() {
  # Metadata on vda only: the committed fixtures (tests/fixtures/lvm-raid) stay small.
  pv_create /dev/vda
  for d in vdb vdc vdd vde; do pv_create /dev/$d --pvmetadatacopies 0; done
  run $LVM vgcreate -q -s 512k vgr /dev/vda /dev/vdb /dev/vdc /dev/vdd /dev/vde
  run $LVM lvcreate -q -y --type raid1 -m 1 -l 4 -n r1 vgr
  run $LVM lvcreate -q -y --type raid1 -m 2 -l 2 -R 256k -n r1x3 vgr
  run $LVM lvcreate -q -y --type raid1 -m 1 -l 2 --nosync --minrecoveryrate 1m --maxrecoveryrate 4m -n r1ns vgr
  run $LVM lvcreate -q -y --type raid1 -m 1 -l 2 -n r1wm vgr /dev/vda /dev/vdb
  run $LVM lvchange -q -y --writemostly /dev/vdb --writebehind 64 vgr/r1wm
  run $LVM lvcreate -q -y --type raid1 -m 1 -l 2 -n r1rb vgr /dev/vdc /dev/vdd
  run $LVM lvcreate -q -y --type raid0 -i 2 -I 128k -l 4 -n r0 vgr
  run $LVM lvcreate -q -y --type raid0_meta -i 3 -l 3 -n r0m vgr
  run $LVM lvcreate -q -y --type raid4 -i 2 -l 4 -n r4 vgr
  run $LVM lvcreate -q -y --type raid5 -i 2 -l 4 -n r5 vgr
  run $LVM lvcreate -q -y --type raid5_la -i 2 -l 4 -n r5la vgr
  run $LVM lvcreate -q -y --type raid5_ra -i 3 -l 3 -n r5ra vgr
  run $LVM lvcreate -q -y --type raid5_rs -i 2 -I 32k -l 4 -n r5rs vgr
  run $LVM lvcreate -q -y --type raid5_n -i 2 -l 4 -n r5n vgr
  run $LVM lvcreate -q -y --type raid6 -i 3 -l 3 -n r6 vgr
  run $LVM lvcreate -q -y --type raid6_nr -i 3 -l 3 -n r6nr vgr
  run $LVM lvcreate -q -y --type raid6_nc -i 3 -l 3 -n r6nc vgr
  run $LVM lvcreate -q -y --type raid6_ls_6 -i 3 -l 3 -n r6ls vgr
  run $LVM lvcreate -q -y --type raid6_rs_6 -i 3 -l 3 -n r6rs vgr
  run $LVM lvcreate -q -y --type raid6_la_6 -i 3 -l 3 -n r6la vgr
  run $LVM lvcreate -q -y --type raid6_ra_6 -i 3 -l 3 -n r6ra vgr
  run $LVM lvcreate -q -y --type raid6_n_6 -i 3 -l 3 -n r6n vgr
  run $LVM lvcreate -q -y --type raid10 -i 2 -m 1 -l 4 -n r10 vgr
  for lv in $LVS_RAID; do wait_sync vgr/$lv; done
  run $LVM vgchange -an vgr
  lvm_fix_ids vgr
  # r1rb: image 1 to be rebuilt, as lvconvert --replace writes it before the rebuild.
  run $LVM vgcfgbackup -q -f /tmp/vgr.cfg vgr
  awk '/^[ \t]*r1rb_rimage_1 \{/ { f = 1 }
    f && /status = \[/ { sub(/\]/, ", \"REBUILD\"]"); f = 0 }
    { print }' /tmp/vgr.cfg > /tmp/vgr.new
  grep -A3 'r1rb_rimage_1 {' /tmp/vgr.new
  run $LVM vgcfgrestore -q -f /tmp/vgr.new vgr
  run $LVM vgchange -ay vgr
  for lv in $LVS_RAID; do wait_sync vgr/$lv; done
  for lv in $LVS_RAID; do fill /dev/vgr/$lv "lvraid-$lv"; done
  for lv in $LVS_RAID; do wait_sync vgr/$lv; done
  for lv in $LVS_RAID; do data_hash vgr-$lv /dev/vgr/$lv; done
  pattern_hash r5-written "$(devsize /dev/vgr/r5)" r5-written-by-ours
  run $LVM lvs -a -o+segtype,devices,sync_percent,raid_write_behind,raid_min_recovery_rate,raid_max_recovery_rate vgr
  # The line lvm2 hands the kernel for the write-behind LV (the kernel prints back another
  # max_write_behind: tests/fixtures/oracle/lvraid/all/dm-table).
  run $LVM lvchange -an vgr/r1wm
  $LVM lvchange -ay -vvvv vgr/r1wm 2>&1 | grep -E 'Adding target to \(.*raid raid1|raid raid1 ' | head -3
  $DMSETUP table
}
