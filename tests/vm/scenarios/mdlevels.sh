# MD RAID1 1.0 (PV inside), RAID1 0.90 (ext4), RAID0 1.1 (foreign host), RAID10 near-2 on 3
# Metadata at the end (1.0, 0.90) leaves the member's start identical to the array's start:
# the PV label and the ext4 superblock are visible on each member too, which an activator must
# not take for duplicate PVs or filesystems. The 0.90 array is local (the last 8 bytes of its
# UUID are the SHA-1 of the host name, as mdadm makes them; md_create_090) and is named by its
# preferred minor. The RAID0 was made on host "elsewhere": mdadm treats it as foreign when
# naming it.

DISKS="40M 40M 40M"
SFDISK_EACH='label: gpt
label-id: 3D1E0000-0000-4000-8000-00000000000%d
start=2048, size=8M, type=A19D880F-05FC-4D3B-A006-743F0F84911E, uuid=3D1E0001-0000-4000-8000-00000000000%d
size=8M, type=A19D880F-05FC-4D3B-A006-743F0F84911E, uuid=3D1E0002-0000-4000-8000-00000000000%d
size=8M, type=A19D880F-05FC-4D3B-A006-743F0F84911E, uuid=3D1E0003-0000-4000-8000-00000000000%d
type=A19D880F-05FC-4D3B-A006-743F0F84911E, uuid=3D1E0004-0000-4000-8000-00000000000%d'

create() {
  md_create boot --level=1 --raid-devices=2 --metadata=1.0 /dev/vda1 /dev/vdb1
  md_create_090 0 --level=1 --raid-devices=2 /dev/vdb2 /dev/vdc2
  md_create stripe --homehost=elsewhere --level=0 --raid-devices=2 --metadata=1.1 --chunk=64 /dev/vda3 /dev/vdc3
  md_create r10 --level=10 --layout=n2 --raid-devices=3 --metadata=1.2 --chunk=64 /dev/vda4 /dev/vdb4 /dev/vdc4
  pv_create /dev/md/boot
  run $LVM vgcreate -q vgm /dev/md/boot
  run $LVM lvcreate -q -n lv -l 100%FREE vgm
  run $LVM vgchange -an vgm
  lvm_fix_ids vgm
  run $LVM vgchange -ay vgm
  fill /dev/vgm/lv mdlevels-lv
  run $MKE2FS -q -t ext4 -L old -U "$(mkuuid fs:old)" -E hash_seed="$(mkuuid hash:old)" /dev/md0
  fill /dev/md/stripe mdlevels-raid0
  fill /dev/md/r10 mdlevels-raid10
}
