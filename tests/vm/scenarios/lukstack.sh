# The founding stack: 4 GPT disks → LUKS2 (argon2id) each → MD RAID5 1.2 → LVM vg0 {root: ext4, home}
# EVMS's founding document's example: LVM on RAID5 on four encrypted volumes, one passphrase
# for all four. The oracle opens the four volumes with cryptsetup (luks-UUID), assembles the
# array and activates the VG; ours is `activate --key-file` once. Afterwards cryptsetup opens
# what ours left closed and the data is as created.

DISKS="32M 32M 32M 32M"
SFDISK_EACH='label: gpt
label-id: 5E0C0000-0000-4000-8000-00000000300%d
start=2048, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=5E0C0001-0000-4000-8000-00000000300%d, name=crypt'
LUKS_PASS='one passphrase for four disks'

CASES="all"
CASE_all_ORACLE=oracle_luks
CASE_all_ARGS="--key-file /tmp/luks.pass"
CASE_all_DATA="vg0-root vg0-home"
CASE_all_AFTER=after_stack
CASE_all_AFTER_DATA="vg0-root vg0-home"

after_stack() {
  oracle_luks
  after_hash vg0-root /dev/vg0/root
  after_hash vg0-home /dev/vg0/home
}

create() {
  local d members=""
  for d in vda1 vdb1 vdc1 vdd1; do
    luks_format /dev/$d --type luks2 --pbkdf argon2id --pbkdf-memory 8192 --pbkdf-force-iterations 4 \
      --pbkdf-parallel 1 --luks2-metadata-size 16k --luks2-keyslots-size 1m
    run $CRYPTSETUP open --key-file /tmp/luks.pass /dev/$d "c$d"
    members="$members /dev/mapper/c$d"
  done
  # shellcheck disable=SC2086
  md_create system --level=5 --raid-devices=4 --metadata=1.2 $members
  pv_create /dev/md/system
  run $LVM vgcreate -q vg0 /dev/md/system
  run $LVM lvcreate -q -n root -L 32M vg0
  run $LVM lvcreate -q -n home -l 100%FREE vg0
  run $LVM vgchange -an vg0
  lvm_fix_ids vg0
  run $LVM vgchange -ay vg0
  run $MKE2FS -q -t ext4 -L root -U "$(mkuuid fs:lukstack-root)" -E hash_seed="$(mkuuid hash:lukstack-root)" /dev/vg0/root
  data_hash vg0-root /dev/vg0/root
  fill /dev/vg0/home home
  data_hash vg0-home /dev/vg0/home
}
