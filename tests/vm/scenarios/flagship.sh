# GPT -> MD RAID5 (1.2) -> LVM vg0 {root: ext4 LABEL=root, home}; and activating only vg0/home
# The flagship: three disks with one GPT partition each, a RAID5 over the partitions,
# one PV on the array, VG vg0 with two linear LVs; ext4 with a label on root, a data pattern
# on home. Case "home" selects one volume: only its chain (the array and vg0-home) comes up.

DISKS="40M 40M 40M"
SFDISK_EACH='label: gpt
label-id: 5E0C0000-0000-4000-8000-00000000000%d
start=2048, type=A19D880F-05FC-4D3B-A006-743F0F84911E, uuid=5E0C0001-0000-4000-8000-00000000000%d, name=raid'

CASES="all home"
CASE_home_ARGS="vg0/home"
CASE_home_ORACLE=oracle_home
oracle_home() {
  $MDADM --assemble --scan && $LVM lvchange -ay vg0/home
}

create() {
  md_create system --level=5 --raid-devices=3 --metadata=1.2 /dev/vda1 /dev/vdb1 /dev/vdc1
  pv_create /dev/md/system
  run $LVM vgcreate -q vg0 /dev/md/system
  run $LVM lvcreate -q -n root -L 32M vg0
  run $LVM lvcreate -q -n home -l 100%FREE vg0
  run $LVM vgchange -an vg0
  lvm_fix_ids vg0
  run $LVM vgchange -ay vg0
  run $MKE2FS -q -t ext4 -L root -U "$(mkuuid fs:root)" -E hash_seed="$(mkuuid hash:root)" /dev/vg0/root
  fill /dev/vg0/home home
}
