# RAID5 with one member missing: not started without --degraded; with it, started degraded
# Small disks: reading a degraded RAID5 reconstructs every third chunk, slow under TCG.
# Created on three GPT partitions (1.2, VG vgd, LV data); tested with the third disk absent.
# Case "nodeg": the oracle is `mdadm --incremental` on every device (as udev rules run it),
# which leaves the array inactive (2 of 3 members); ours must not start it either. (Note that
# `mdadm --assemble --scan` would start it: auto-assembly starts partial arrays.) Case "deg":
# the oracle is `mdadm --assemble --scan --run` + vgchange -ay; ours is `activate --degraded`.
# What the user sees without --degraded (a skip, reported; the exit status is 0):
#   skipped md127: degraded: slot(s) 2 missing; start it with --degraded (evms.degraded= at boot)
#   skipped vgd/data: built on md127, which is not activated

DISKS="16M 16M 16M"
TEST_DISKS="0 1"
SFDISK_EACH='label: gpt
label-id: DE600000-0000-4000-8000-00000000000%d
start=2048, type=A19D880F-05FC-4D3B-A006-743F0F84911E, uuid=DE600001-0000-4000-8000-00000000000%d'

CASES="nodeg deg"
CASE_nodeg_EXPECT=not-started
CASE_nodeg_ORACLE=oracle_incremental
CASE_nodeg_SAYS='^skipped md127: degraded: slot\(s\) 2 missing; start it with --degraded'
CASE_nodeg_SAYS_2='^skipped vgd/data: built on md127, which is not activated'
CASE_deg_DATA="vgd-data"
CASE_deg_ARGS="--degraded"
CASE_deg_ORACLE=oracle_run
oracle_run() {
  $MDADM --assemble --scan --run && $LVM vgchange -ay
}

create() {
  md_create r5 --level=5 --raid-devices=3 --metadata=1.2 /dev/vda1 /dev/vdb1 /dev/vdc1
  pv_create /dev/md/r5
  run $LVM vgcreate -q vgd /dev/md/r5
  run $LVM lvcreate -q -n data -l 100%FREE vgd
  run $LVM vgchange -an vgd
  lvm_fix_ids vgd
  run $LVM vgchange -ay vgd
  fill /dev/vgd/data degraded-data
  data_hash vgd-data /dev/vgd/data
}
