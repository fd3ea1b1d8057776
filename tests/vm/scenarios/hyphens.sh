# VG and LV names with hyphens: DM names double each '-' (my--vg-a--b--c); select one by name
# VG "my-vg" on a GPT partition, LVs "my-lv", "a-b-c" and "x--y". Case "sel" activates
# my-vg/a-b-c only.

DISKS="32M"
SFDISK_0='label: gpt
label-id: 4E1A0000-0000-4000-8000-000000000000
start=2048, type=E6D6D379-F507-44C2-A23C-238F2A3DF928, uuid=4E1A0001-0000-4000-8000-000000000000'

CASES="all sel"
CASE_sel_ARGS="my-vg/a-b-c"
CASE_sel_ORACLE=oracle_sel
oracle_sel() {
  $LVM lvchange -ay my-vg/a-b-c
}

create() {
  pv_create /dev/vda1
  run $LVM vgcreate -q my-vg /dev/vda1
  run $LVM lvcreate -q -n my-lv -L 8M my-vg
  run $LVM lvcreate -q -n a-b-c -L 8M my-vg
  run $LVM lvcreate -q -n x--y -l 100%FREE my-vg
  run $LVM vgchange -an my-vg
  lvm_fix_ids my-vg
  run $LVM vgchange -ay my-vg
  fill /dev/my-vg/my-lv hyphens-my-lv
  fill /dev/my-vg/a-b-c hyphens-a-b-c
  fill /dev/my-vg/x--y hyphens-x--y
}
