#!/bin/sh
# Guest half of tests/vm/boot/disks.sh (runs as /scenario.sh in the harness VM): the real
# mdadm, lvm2, sfdisk, mke2fs and blkid build a set on the given disks; the last disk carries
# the root filesystem image made on the host, copied with dd. Writes /out/meta.env (the tools'
# own reports) and prints CREATE-OK when everything succeeded.
export PATH=/sbin:/usr/sbin:/bin:/usr/bin
# No udev here: mdadm must not wait for links nobody makes.
export MDADM_NO_UDEV=1
set -e
set_name=$(sed -n 's/.*evms_set=\([a-z0-9]*\).*/\1/p' /proc/cmdline)
echo "=== creating $set_name"
/usr/sbin/mdadm --version 2>&1
/usr/sbin/lvm version | head -1
meta=/out/meta.env
: > $meta
# KEY=VALUE from the real tools, prefixed.
export_to_meta() { # PREFIX COMMAND... (an empty PREFIX keeps the tool's own keys)
  p=$1; shift
  "$@" | grep -E '^[A-Z_]+=' | sed "s/^/${p:+${p}_}/" >> $meta
}
md_dev() { # NAME → mdN (mdadm made /dev/md/NAME at creation)
  basename "$(readlink -f /dev/md/$1)"
}
# LUKS sets: the passphrase the boot scenarios type (tests/vm/boot/run.sh LUKS_PASS), a key
# file of fixed bytes (no newline: a key file is used byte for byte), cryptsetup without udev.
LUKS_UUID=5e0c0000-0000-4000-8000-00000000c0de
luks_common() {
  export DM_DISABLE_UDEV=1
  mkdir -p /run/cryptsetup
  printf '%s' 'evms boot passphrase' > /tmp/pass
  printf 'evms-activate boot test key file: 0123456789abcdef' > /out/keyfile
  echo "LUKS_UUID=$LUKS_UUID" >> $meta
}

case $set_name in
flagship)
  /usr/sbin/mdadm --create /dev/md/pv0 --run --level=5 --raid-devices=3 --metadata=1.2 \
    --homehost='<none>' --name=pv0 /dev/vda1 /dev/vdb1 /dev/vdc1
  /usr/sbin/mdadm --wait /dev/md/pv0 || true # exits 1 when nothing was left to wait for
  cat /proc/mdstat
  export_to_meta '' /usr/sbin/mdadm --detail --export /dev/md/pv0
  /usr/sbin/lvm pvcreate /dev/md/pv0
  /usr/sbin/lvm vgcreate vg0 /dev/md/pv0
  /usr/sbin/lvm lvcreate -n root -L 64M vg0
  /usr/sbin/lvm lvcreate -n home -L 24M vg0
  dd if=/dev/vdd of=/dev/vg0/root bs=1M
  /usr/sbin/mke2fs -q -t ext4 -L home /dev/vg0/home
  export_to_meta ROOTLV /usr/sbin/blkid -p -o export /dev/vg0/root
  export_to_meta HOMELV /usr/sbin/blkid -p -o export /dev/vg0/home
  /usr/sbin/lvm lvs -o lv_name,vg_name,lv_size,lv_uuid,devices vg0
  /usr/sbin/lvm vgchange -an vg0
  /usr/sbin/mdadm --stop /dev/md/pv0
  ;;
mdpart)
  /usr/sbin/mdadm --create /dev/md/sys --run --level=1 --raid-devices=2 --metadata=1.2 \
    --homehost='<none>' --name=sys /dev/vda /dev/vdb
  /usr/sbin/mdadm --wait /dev/md/sys || true
  md=$(md_dev sys)
  export_to_meta '' /usr/sbin/mdadm --detail --export /dev/md/sys
  # A partition table on the array itself; sfdisk's re-read makes the kernel add ${md}p1.
  /usr/sbin/sfdisk /dev/md/sys <<'EOF'
label: gpt
type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, name="mdroot", uuid=0DDBA11E-5EED-4B0B-8A55-C0DEC0DE0001
EOF
  i=0; while [ ! -b /dev/${md}p1 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  dd if=/dev/vdc of=/dev/${md}p1 bs=1M
  export_to_meta ROOTPART /usr/sbin/blkid -p -o export /dev/${md}p1
  /usr/sbin/mdadm --stop /dev/md/sys
  ;;
lvraid1)
  /usr/sbin/lvm pvcreate /dev/vda /dev/vdb
  /usr/sbin/lvm vgcreate -s 1M vgr /dev/vda /dev/vdb
  /usr/sbin/lvm lvcreate -y --type raid1 -m 1 -L 32M -n root vgr
  i=0
  while [ "$(/usr/sbin/lvm lvs --noheadings -o sync_percent vgr/root | tr -d ' ')" != 100.00 ]; do
    [ $i -lt 600 ] || { echo "vgr/root never got in sync"; exit 1; }
    sleep 0.5; i=$((i + 1))
  done
  dd if=/dev/vdc of=/dev/vgr/root bs=1M
  export_to_meta ROOTLV /usr/sbin/blkid -p -o export /dev/vgr/root
  /usr/sbin/lvm lvs -a -o lv_name,lv_uuid,lv_attr,sync_percent,devices vgr
  /usr/sbin/lvm vgchange -an vgr
  ;;
luks)
  # An installer's "encrypted LVM": LUKS2 on the partition (argon2id at a cost a TCG guest
  # opens in seconds), a second keyslot for the key file, LVM inside with root and swap.
  luks_common
  /usr/sbin/cryptsetup luksFormat --batch-mode --type luks2 --uuid "$LUKS_UUID" \
    --pbkdf argon2id --pbkdf-memory 65536 --pbkdf-force-iterations 4 --pbkdf-parallel 1 \
    --key-file /tmp/pass /dev/vda1
  /usr/sbin/cryptsetup luksAddKey --batch-mode --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
    --key-file /tmp/pass /dev/vda1 /out/keyfile
  /usr/sbin/cryptsetup open --key-file /tmp/pass /dev/vda1 cryptroot
  /usr/sbin/lvm pvcreate /dev/mapper/cryptroot
  /usr/sbin/lvm vgcreate vg0 /dev/mapper/cryptroot
  /usr/sbin/lvm lvcreate -n root -L "$(( $(blockdev --getsize64 /dev/vdb) / 1048576 ))m" vg0
  /usr/sbin/lvm lvcreate -n swap -L 16M vg0
  dd if=/dev/vdb of=/dev/vg0/root bs=1M
  /usr/sbin/mkswap -L swap /dev/vg0/swap
  export_to_meta LUKS /usr/sbin/blkid -p -o export /dev/vda1
  export_to_meta ROOTLV /usr/sbin/blkid -p -o export /dev/vg0/root
  export_to_meta SWAPLV /usr/sbin/blkid -p -o export /dev/vg0/swap
  /usr/sbin/cryptsetup luksDump /dev/vda1
  /usr/sbin/lvm vgchange -an vg0
  /usr/sbin/cryptsetup close cryptroot
  ;;
lukstack)
  # Four LUKS2 volumes, one passphrase, an MD RAID5 over them, LVM on the array.
  luks_common
  i=1
  for d in vda1 vdb1 vdc1 vdd1; do
    /usr/sbin/cryptsetup luksFormat --batch-mode --type luks2 --uuid "5e0c0000-0000-4000-8000-00000000c00$i" \
      --pbkdf argon2id --pbkdf-memory 32768 --pbkdf-force-iterations 4 --pbkdf-parallel 1 \
      --luks2-metadata-size 16k --luks2-keyslots-size 1m --key-file /tmp/pass /dev/$d
    /usr/sbin/cryptsetup open --key-file /tmp/pass /dev/$d c$d
    echo "LUKS${i}_UUID=5e0c0000-0000-4000-8000-00000000c00$i" >> $meta
    i=$((i + 1))
  done
  /usr/sbin/mdadm --create /dev/md/pv0 --run --level=5 --raid-devices=4 --metadata=1.2 \
    --homehost='<none>' --name=pv0 /dev/mapper/cvda1 /dev/mapper/cvdb1 /dev/mapper/cvdc1 /dev/mapper/cvdd1
  /usr/sbin/mdadm --wait /dev/md/pv0 || true
  export_to_meta '' /usr/sbin/mdadm --detail --export /dev/md/pv0
  /usr/sbin/lvm pvcreate /dev/md/pv0
  /usr/sbin/lvm vgcreate vg0 /dev/md/pv0
  /usr/sbin/lvm lvcreate -n root -L 64M vg0
  dd if=/dev/vde of=/dev/vg0/root bs=1M
  export_to_meta ROOTLV /usr/sbin/blkid -p -o export /dev/vg0/root
  /usr/sbin/lvm vgchange -an vg0
  /usr/sbin/mdadm --stop /dev/md/pv0
  for d in vda1 vdb1 vdc1 vdd1; do /usr/sbin/cryptsetup close c$d; done
  ;;
mdlvm)
  /usr/sbin/mdadm --create /dev/md/lvmsys --run --level=1 --raid-devices=2 --metadata=1.2 \
    --homehost='<none>' --name=lvmsys /dev/vda /dev/vdb
  /usr/sbin/mdadm --wait /dev/md/lvmsys || true
  md=$(md_dev lvmsys)
  export_to_meta '' /usr/sbin/mdadm --detail --export /dev/md/lvmsys
  /usr/sbin/sfdisk /dev/md/lvmsys <<'EOF'
label: gpt
size=8MiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="spare", uuid=0DDBA11E-5EED-4B0B-8A55-C0DEC0DE0011
type=E6D6D379-F507-44C2-A23C-238F2A3DF928, name="pv", uuid=0DDBA11E-5EED-4B0B-8A55-C0DEC0DE0012
EOF
  i=0; while [ ! -b /dev/${md}p2 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  /usr/sbin/lvm pvcreate /dev/${md}p2
  /usr/sbin/lvm vgcreate vgm /dev/${md}p2
  /usr/sbin/lvm lvcreate -n root -L 40M vgm
  dd if=/dev/vdc of=/dev/vgm/root bs=1M
  export_to_meta ROOTLV /usr/sbin/blkid -p -o export /dev/vgm/root
  /usr/sbin/lvm lvs -o lv_name,vg_name,lv_size,devices vgm
  /usr/sbin/lvm vgchange -an vgm
  /usr/sbin/mdadm --stop /dev/md/lvmsys
  ;;
lvmsnap)
  /usr/sbin/lvm pvcreate /dev/vda
  /usr/sbin/lvm vgcreate vgb /dev/vda
  /usr/sbin/lvm lvcreate -y --type thin-pool -L 64M -n pool vgb
  /usr/sbin/lvm lvcreate -y -V 48M --thinpool vgb/pool -n thinroot
  dd if=/dev/vdb of=/dev/vgb/thinroot bs=1M
  /usr/sbin/tune2fs -L thinroot /dev/vgb/thinroot
  /usr/sbin/lvm lvcreate -y -L 48M -n base vgb
  dd if=/dev/vdb of=/dev/vgb/base bs=1M
  /usr/sbin/tune2fs -L snaproot /dev/vgb/base
  /usr/sbin/lvm lvcreate -y -s -L 16M -n snap vgb/base
  /usr/sbin/tune2fs -L origin /dev/vgb/base
  /usr/sbin/lvm lvcreate -y -L 48M -n cacheroot vgb
  dd if=/dev/vdb of=/dev/vgb/cacheroot bs=1M
  /usr/sbin/tune2fs -L cacheroot /dev/vgb/cacheroot
  /usr/sbin/lvm lvcreate -y --type cache-pool -L 8M -n cpool vgb
  /usr/sbin/lvm lvconvert -y --type cache --cachepool vgb/cpool vgb/cacheroot
  export_to_meta THIN /usr/sbin/blkid -p -o export /dev/vgb/thinroot
  export_to_meta SNAP /usr/sbin/blkid -p -o export /dev/vgb/snap
  export_to_meta BASE /usr/sbin/blkid -p -o export /dev/vgb/base
  /usr/sbin/lvm lvs -a -o lv_name,lv_attr,lv_size,origin,pool_lv,devices vgb
  /usr/sbin/lvm vgchange -an vgb
  ;;
bcache)
  # As udev would: the cache device and the backing device handed to the kernel.
  echo /dev/vdb > /sys/fs/bcache/register
  echo /dev/vda > /sys/fs/bcache/register
  i=0; while [ ! -e /sys/block/vda/bcache/dev ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  b=$(basename "$(readlink /sys/block/vda/bcache/dev)")
  # Every write to the cache (no sequential bypass), none written back: root's blocks are
  # dirty in the cache when the set is stopped.
  echo 0 > /sys/block/$b/bcache/sequential_cutoff
  for f in /sys/fs/bcache/*-*/congested_*_threshold_us; do echo 0 > "$f"; done
  echo 0 > /sys/block/$b/bcache/writeback_running
  dd if=/dev/vdc of=/dev/$b bs=1M
  sync
  echo "$b: state $(cat /sys/block/$b/bcache/state), dirty_data $(cat /sys/block/$b/bcache/dirty_data)"
  [ "$(cat /sys/block/$b/bcache/state)" = dirty ]
  echo "BCACHE_DEV=$b" >> $meta
  export_to_meta ROOTBC /usr/sbin/blkid -p -o export /dev/$b
  echo 1 > /sys/block/$b/bcache/stop
  i=0; while [ -e /sys/block/$b ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  for f in /sys/fs/bcache/*-*/stop; do echo 1 > "$f"; done
  i=0; while ls -d /sys/fs/bcache/*-* >/dev/null 2>&1 && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  ;;
*)
  echo "unknown set '$set_name'"; exit 1 ;;
esac
sync
echo "--- meta.env"
cat $meta
echo CREATE-OK
