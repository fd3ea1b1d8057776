# One activate for devices the kernel or kpartx make only after an earlier step
# RAID1 (1.2) over two whole disks with a GPT inside; md127p2 is the PV of VG vgo (LVs lv and
# disk). LV disk holds an MBR whose partition (kpartx: vgo-disk1) is the PV of VG vgi (LV
# inner). The kernel reads the new array's partition table only when the array is opened
# after it runs (mdadm reopens it: reopen_mddev), so activating vgo in the same run that
# starts the array needs md127p2 right after RUN_ARRAY; vgi needs the kpartx map of an LV
# made in the same run. `evms-activate activate` does it all in one invocation, without udev.
# The oracle needs two lvm passes around kpartx.

DISKS="40M 40M"
KPARTX_ON="vgo-disk"
CASES="all vg"
CASE_all_ORACLE=oracle_twice
CASE_all_DATA="vgo-lv vgi-inner"
CASE_vg_ARGS="vgi"
CASE_vg_ORACLE=oracle_vgi
CASE_vg_DATA="vgi-inner"
oracle_twice() {
  $MDADM --assemble --scan
  $LVM vgchange -ay vgo || return 1
  $KPARTX -a -s /dev/mapper/vgo-disk || return 1
  $LVM vgchange -ay vgi
}
# vgi's chain only: the array, vgo/disk, its map, vgi.
oracle_vgi() {
  $MDADM --assemble --scan
  $LVM lvchange -ay vgo/disk || return 1
  $KPARTX -a -s /dev/mapper/vgo-disk || return 1
  $LVM vgchange -ay vgi
}

create() {
  local m i
  md_create op --level=1 --raid-devices=2 --metadata=1.2 /dev/vda /dev/vdb
  printf '%s\n' 'label: gpt' 'label-id: 0BE90000-0000-4000-8000-000000000000' \
    'start=2048, size=4M, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=0BE90001-0000-4000-8000-000000000000' \
    'type=E6D6D379-F507-44C2-A23C-238F2A3DF928, uuid=0BE90002-0000-4000-8000-000000000000' |
    run $SFDISK -q /dev/md/op
  m=$(kname /dev/md/op)
  i=0; while [ ! -b "/dev/${m}p2" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  fill "/dev/${m}p1" onepass-p1
  pv_create "/dev/${m}p2"
  run $LVM vgcreate -q vgo "/dev/${m}p2"
  run $LVM lvcreate -q -n lv -L 8M vgo
  run $LVM lvcreate -q -n disk -l 100%FREE vgo
  run $LVM vgchange -an vgo
  lvm_fix_ids vgo
  run $LVM vgchange -ay vgo
  fill /dev/vgo/lv onepass-lv
  data_hash vgo-lv /dev/vgo/lv
  printf '%s\n' 'label: dos' 'label-id: 0x0be90003' 'start=2048, type=8e' |
    run $SFDISK -q /dev/mapper/vgo-disk
  run $KPARTX -a -s /dev/mapper/vgo-disk
  pv_create /dev/mapper/vgo-disk1
  run $LVM vgcreate -q vgi /dev/mapper/vgo-disk1
  run $LVM lvcreate -q -n inner -l 100%FREE vgi
  run $LVM vgchange -an vgi
  lvm_fix_ids vgi
  run $LVM vgchange -ay vgi
  fill /dev/vgi/inner onepass-inner
  data_hash vgi-inner /dev/vgi/inner
  run $LVM vgchange -an vgi
}
