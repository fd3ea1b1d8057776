# Partitions inside LVs, mapped as kpartx names them (vgp-disk1, vgp-lv1p1: 'p' after a digit)
# VG "vgp" on the whole disk; LV "disk" holds an MBR with two partitions, LV "lv1" a GPT with
# one. The oracle is vgchange -ay followed by `kpartx -a` on both LVs (KPARTX_ON); kpartx
# appends the partition number to the DM name, with a 'p' between when the name ends in a
# digit (kpartx.c set_delimiter), and sets DM UUID "partN-<parent uuid>".

DISKS="40M"
KPARTX_ON="vgp-disk vgp-lv1"

create() {
  pv_create /dev/vda
  run $LVM vgcreate -q vgp /dev/vda
  run $LVM lvcreate -q -n disk -L 16M vgp
  run $LVM lvcreate -q -n lv1 -L 12M vgp
  run $LVM vgchange -an vgp
  lvm_fix_ids vgp
  run $LVM vgchange -ay vgp
  printf '%s\n' 'label: dos' 'label-id: 0x1f0a0001' 'start=2048, size=6M, type=83' 'type=83' |
    run $SFDISK -q --no-reread --no-tell-kernel /dev/vgp/disk
  printf '%s\n' 'label: gpt' 'label-id: 1F0A0000-0000-4000-8000-000000000000' \
    'start=2048, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=1F0A0001-0000-4000-8000-000000000000' |
    run $SFDISK -q --no-reread --no-tell-kernel /dev/vgp/lv1
  run $KPARTX -a -s /dev/mapper/vgp-disk
  run $KPARTX -a -s /dev/mapper/vgp-lv1
  fill /dev/mapper/vgp-disk1 lvparts-disk1
  fill /dev/mapper/vgp-disk2 lvparts-disk2
  fill /dev/mapper/vgp-lv1p1 lvparts-lv1p1
}
