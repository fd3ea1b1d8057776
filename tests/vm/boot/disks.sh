#!/bin/bash
# Disk sets for the boot scenarios, written by the real tools and cached.
#
#   tests/vm/boot/disks.sh SET      builds SET once, prints its directory on stdout
#
# The directory ($CACHE/boot-disks/SET-HASH, HASH over this script, its guest half, the test
# root's init and the VM helpers) holds the raw disk images (disk1.img, disk2.img, ...) and
# meta.env: KEY=VALUE lines taken from the tools' own reports (blkid -p -o export, sfdisk
# --json, mdadm --detail --export), which the scenarios use for root= and their assertions.
#
# Every set's root filesystem is made on the host: `mke2fs -t ext4 -d DIR` over a directory
# holding busybox-static (with its applet links) and tests/vm/boot/root-init.sh as /sbin/init.
# Sets:
#   whole     one disk, ext4 LABEL=evmsroot on the whole disk (mke2fs, host).
#   gpt       one disk: GPT (sfdisk, on the host), p1 8 MiB "spare" (vfat), p2 the root
#             filesystem (dd'd into place on the host). root=PARTUUID=.
#   flagship  3 disks, one GPT partition each (sfdisk, host) → in a VM: mdadm RAID5,
#             metadata 1.2, name pv0 → LVM PV → VG vg0 with LVs root (64 MiB) and home
#             (24 MiB, mke2fs LABEL=home) → the root image (LABEL=root) dd'd onto vg0/root.
#   mdpart    2 whole disks → in a VM: mdadm RAID1 metadata 1.2, name sys → sfdisk puts a GPT
#             on the array (the kernel makes md127p1) → the root image dd'd onto p1.
#   lvraid1   2 whole disks → in a VM: LVM PVs → VG vgr with LV root of type raid1 (an
#             rmeta/rimage pair on each disk) → the root image (LABEL=raidroot) dd'd onto
#             vgr/root once lvm2 reports it in sync.
#   luks      an installer's "encrypted LVM": one GPT disk (sfdisk, host), p1 → in a VM:
#             cryptsetup luksFormat (LUKS2, argon2id; passphrase LUKS_PASS, and a second
#             keyslot opened by the key file kept as `keyfile`) → LVM PV → VG vg0 with LVs
#             root (the root image) and swap (mkswap).
#   lukstack  the founding stack: 4 GPT disks → LUKS2 each (one passphrase) → mdadm RAID5 →
#             LVM VG vg0 → root (the root image).
#   luksys    the luks layout with a Debian systemd root (tests/vm/boot/systemd-root.sh, whose
#             crypttab names the volume cryptroot) on vg0/root instead of the busybox one.
#   mdlvm     2 whole disks → in a VM: mdadm RAID1 metadata 1.2, name lvmsys → a GPT on the
#             array (p1 8 MiB, p2 the rest) → LVM PV on md127p2 → VG vgm, LV root (40 MiB) →
#             the root image dd'd onto it (the one-pass case: a VG on a partition inside an
#             array the same activate starts).
#   lvmsnap   one disk → in a VM: LVM VG vgb with a thin pool and thin LV thinroot (the root
#             image dd'd onto it, LABEL=thinroot), and a linear LV base (the root image,
#             LABEL=snaproot) with a COW snapshot snap, after which base is relabelled
#             "origin": the snapshot keeps the root as it was (a rollback target, boom style);
#             and an LV cacheroot (the root image, LABEL=cacheroot) cached by a cache pool
#             (writethrough, smq: lvm2's defaults).
#   bcache    make-bcache (host): disk1 a backing device in writeback mode, disk2 the cache
#             device of its set → in a VM the kernel registers both, and the root image is
#             dd'd onto bcache0 with sequential bypass and background writeback off: at rest
#             the backing device's superblock says dirty and root's blocks are in the cache
#             only (readable through bcache0 alone).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
: "${CACHE:=$top/.cache}"
export CACHE
. "$top/tests/vm/lib.sh"

set_name=${1:?usage: disks.sh whole|gpt|flagship|mdpart|mdlvm|lvmsnap|bcache|lvraid1|luks|lukstack|luksys}
hash=$(cat "$here/disks.sh" "$here/disks-guest.sh" "$here/root-init.sh" "$top/tests/vm/lib.sh" \
  "$top/tests/vm/guest-init.sh" "$here/systemd-root.sh" | sha256sum | cut -c1-12)
dir=$CACHE/boot-disks/$set_name-$hash
if [ -f "$dir/ready" ]; then
  echo "$dir"
  exit 0
fi

tmp=$CACHE/boot-disks/.tmp-$set_name-$$
rm -rf "$tmp"; mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
log() { echo "disks.sh: $*" >&2; }

# The root filesystem image: ext4 with LABEL, busybox and the test init, made by mke2fs -d.
make_rootfs() { # OUT SIZE LABEL
  local out=$1 size=$2 label=$3 r a
  r=$tmp/rootdir
  rm -rf "$r"; mkdir -p "$r"/{bin,sbin,proc,sys,dev,run,tmp,etc,root}
  cp /bin/busybox "$r/bin/busybox"
  for a in $(/bin/busybox --list); do
    [ "$a" = init ] && continue
    [ -e "$r/bin/$a" ] || ln -s busybox "$r/bin/$a"
  done
  install -m 755 "$here/root-init.sh" "$r/sbin/init"
  echo "evms-test-root" > "$r/etc/hostname"
  # systemd's switch-root (dracut's initramfs) refuses a root without os-release.
  printf 'NAME="evms-activate test root"\nID=evms-test\n' > "$r/etc/os-release"
  rm -f "$out"
  mke2fs -q -t ext4 -F -L "$label" -d "$r" "$out" "$size" >&2
  rm -rf "$r"
}

# KEY=VALUE from `blkid -p -o export` of a file, prefixed.
blkid_meta() { # PREFIX FILE
  blkid -p -o export "$2" | grep -E '^(UUID|LABEL|TYPE)=' | sed "s/^/$1_/"
}

# Runs tests/vm/boot/disks-guest.sh SET in a VM with the given disks (the last one carries the
# root image); its /out/meta.env is appended to ours.
create_in_vm() { # SET DISK...
  local set=$1; shift
  local args=() d
  for d in "$@"; do args+=(--disk "$d"); done
  vm_initramfs "$tmp/create.gz" --script "$here/disks-guest.sh" \
    --tools "mdadm lvm sfdisk mke2fs blkid tune2fs cryptsetup mkswap" \
    --modules "virtio_pci virtio_blk crc32c_generic dm-mod md-mod raid1 raid456 dm-raid ext4 dm-thin-pool dm-snapshot dm-cache dm-cache-smq bcache dm-crypt xts algif_skcipher"
  log "creating $set in a VM (mdadm, lvm2, sfdisk, mke2fs)"
  if ! vm_run "$tmp/create.gz" "$tmp/create.log" --out "$tmp/out" --timeout 600 "${args[@]}" \
      --append "no_timer_check evms_set=$set"; then
    log "VM failed; console: $tmp/create.log"; cp "$tmp/create.log" "$CACHE/boot-disks/$set.create.log"; return 1
  fi
  cp "$tmp/create.log" "$tmp/create.console.log"
  grep -q '^CREATE-OK' "$tmp/out/log" 2>/dev/null || {
    log "creation failed; console log kept in $CACHE/boot-disks/$set.create.log"
    cp "$tmp/create.log" "$CACHE/boot-disks/$set.create.log"
    return 1
  }
  cat "$tmp/out/meta.env" >> "$tmp/meta.env"
  [ -f "$tmp/out/keyfile" ] && cp "$tmp/out/keyfile" "$tmp/keyfile"
  cp "$tmp/out/log" "$tmp/create.guest.log"
}

gpt_part() { # DISK PARTNO → "START SIZE" in sectors, from sfdisk --json
  sfdisk --json "$1" | python3 -c '
import json, sys
n = int(sys.argv[1])
t = json.load(sys.stdin)["partitiontable"]
p = t["partitions"][n - 1]
print(p["start"], p["size"], p["uuid"], t["id"])' "$2"
}

case $set_name in
whole)
  make_rootfs "$tmp/disk1.img" 64M evmsroot
  blkid_meta ROOT "$tmp/disk1.img" > "$tmp/meta.env"
  ;;
gpt)
  truncate -s 64M "$tmp/disk1.img"
  sfdisk -q "$tmp/disk1.img" <<'EOF'
label: gpt
label-id: 0B5A1E2C-7D3F-4E5A-9B6C-1D2E3F405162
size=8MiB, type=uefi, name="spare", uuid=5A1F0D4E-2B3C-4D5E-8F60-718293A4B5C6
type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, name="evmsroot", uuid=C0FFEE00-1234-4ABC-9DEF-0123456789AB
EOF
  read -r s1 n1 _ _ < <(gpt_part "$tmp/disk1.img" 1)
  read -r s2 n2 u2 id < <(gpt_part "$tmp/disk1.img" 2)
  truncate -s $((n1 * 512)) "$tmp/p1.img"
  mkfs.vfat -n SPARE "$tmp/p1.img" >/dev/null
  make_rootfs "$tmp/p2.img" $((n2 / 2))k gptroot
  dd if="$tmp/p1.img" of="$tmp/disk1.img" bs=512 seek="$s1" conv=notrunc,sparse status=none
  dd if="$tmp/p2.img" of="$tmp/disk1.img" bs=512 seek="$s2" conv=notrunc,sparse status=none
  { echo "PTUUID=$id"; echo "ROOT_PARTUUID=${u2,,}"; blkid_meta ROOT "$tmp/p2.img"; } > "$tmp/meta.env"
  rm -f "$tmp/p1.img" "$tmp/p2.img"
  ;;
flagship)
  for i in 1 2 3; do
    truncate -s 64M "$tmp/disk$i.img"
    # One partition of type "Linux RAID" per disk, as an installer does it.
    printf 'label: gpt\nsize=+, type=R, name="raid%s"\n' "$i" | sfdisk -q "$tmp/disk$i.img"
  done
  make_rootfs "$tmp/root.img" 64M root
  blkid_meta ROOT "$tmp/root.img" > "$tmp/meta.env"
  create_in_vm flagship "$tmp/disk1.img" "$tmp/disk2.img" "$tmp/disk3.img" "$tmp/root.img"
  rm -f "$tmp/root.img"
  ;;
mdpart)
  for i in 1 2; do truncate -s 64M "$tmp/disk$i.img"; done
  make_rootfs "$tmp/root.img" 32M mdroot
  blkid_meta ROOT "$tmp/root.img" > "$tmp/meta.env"
  create_in_vm mdpart "$tmp/disk1.img" "$tmp/disk2.img" "$tmp/root.img"
  rm -f "$tmp/root.img"
  ;;
lvraid1)
  for i in 1 2; do truncate -s 48M "$tmp/disk$i.img"; done
  make_rootfs "$tmp/root.img" 32M raidroot
  blkid_meta ROOT "$tmp/root.img" > "$tmp/meta.env"
  create_in_vm lvraid1 "$tmp/disk1.img" "$tmp/disk2.img" "$tmp/root.img"
  rm -f "$tmp/root.img"
  ;;
luks)
  truncate -s 128M "$tmp/disk1.img"
  printf 'label: gpt\nlabel-id: 0B5A1E2C-7D3F-4E5A-9B6C-1D2E3F4051AA\nsize=+, type=linux, name="cryptlvm", uuid=C0FFEE00-1234-4ABC-9DEF-0123456789AA\n' |
    sfdisk -q "$tmp/disk1.img"
  make_rootfs "$tmp/root.img" 64M lukroot
  blkid_meta ROOT "$tmp/root.img" > "$tmp/meta.env"
  create_in_vm luks "$tmp/disk1.img" "$tmp/root.img"
  rm -f "$tmp/root.img"
  ;;
luksys)
  # The guest's luks case, with the systemd root image (its size decides the root LV's).
  r=$("$here/systemd-root.sh" 5e0c0000-0000-4000-8000-00000000c0de)
  truncate -s $(( $(stat -c %s "$r") / 1048576 + 64 ))M "$tmp/disk1.img"
  printf 'label: gpt\nlabel-id: 0B5A1E2C-7D3F-4E5A-9B6C-1D2E3F4051AB\nsize=+, type=linux, name="cryptlvm", uuid=C0FFEE00-1234-4ABC-9DEF-0123456789AB\n' |
    sfdisk -q "$tmp/disk1.img"
  cp --sparse=always "$r" "$tmp/root.img"
  blkid_meta ROOT "$tmp/root.img" > "$tmp/meta.env"
  create_in_vm luks "$tmp/disk1.img" "$tmp/root.img"
  rm -f "$tmp/root.img"
  ;;
lukstack)
  for i in 1 2 3 4; do
    truncate -s 48M "$tmp/disk$i.img"
    printf 'label: gpt\nsize=+, type=linux, name="crypt%s"\n' "$i" | sfdisk -q "$tmp/disk$i.img"
  done
  make_rootfs "$tmp/root.img" 64M stackroot
  blkid_meta ROOT "$tmp/root.img" > "$tmp/meta.env"
  create_in_vm lukstack "$tmp/disk1.img" "$tmp/disk2.img" "$tmp/disk3.img" "$tmp/disk4.img" "$tmp/root.img"
  rm -f "$tmp/root.img"
  ;;
mdlvm)
  for i in 1 2; do truncate -s 64M "$tmp/disk$i.img"; done
  make_rootfs "$tmp/root.img" 40M lvmroot
  blkid_meta ROOT "$tmp/root.img" > "$tmp/meta.env"
  create_in_vm mdlvm "$tmp/disk1.img" "$tmp/disk2.img" "$tmp/root.img"
  rm -f "$tmp/root.img"
  ;;
lvmsnap)
  truncate -s 256M "$tmp/disk1.img"
  make_rootfs "$tmp/root.img" 48M root
  create_in_vm lvmsnap "$tmp/disk1.img" "$tmp/root.img"
  ;;
bcache)
  truncate -s 40M "$tmp/disk1.img"
  truncate -s 128M "$tmp/disk2.img"
  make-bcache -B -w 512 --writeback --cset-uuid 0bcac4e0-5e70-4000-8000-00000000b007 "$tmp/disk1.img" >&2
  make-bcache -C -w 512 -b 64k --cset-uuid 0bcac4e0-5e70-4000-8000-00000000b007 "$tmp/disk2.img" >&2
  make_rootfs "$tmp/root.img" 32M bcroot
  { blkid_meta ROOT "$tmp/root.img"; blkid_meta BACKING "$tmp/disk1.img"; } > "$tmp/meta.env"
  create_in_vm bcache "$tmp/disk1.img" "$tmp/disk2.img" "$tmp/root.img"
  rm -f "$tmp/root.img"
  ;;
*) echo "disks.sh: unknown set $set_name" >&2; exit 2 ;;
esac

mkdir -p "$CACHE/boot-disks"
rm -rf "$CACHE/boot-disks/$set_name"-*
rm -rf "$tmp/out" "$tmp/create.gz" "$tmp/create.log"
touch "$tmp/ready"
mv "$tmp" "$dir"
trap - EXIT
log "$set_name ready in $dir"
echo "$dir"
