#!/bin/bash
# Identification fixtures that only a real kernel can write, made inside a VM (the build host
# has no md driver, and hibernating it is out of the question: ../../shared/vm-notes.md).
#
#   tests/vm/ident-fixtures.sh [--update-fixtures] [OUTDIR]    (root; default .cache/ident-fixtures)
#
# One boot:
#   imsm      two whole disks: `IMSM_NO_PLATFORM=1 mdadm --create -e imsm` (a container), then a
#             RAID1 volume in it (mdadm starts mdmon); both stopped, `mdadm --examine` recorded.
#   ddf       the same with `-e ddf`.
#   swsuspend mkswap with a fixed UUID and label, swapon, then the kernel hibernates to it
#             (`echo disk > /sys/power/state`): the swap header then carries the kernel's
#             S1SUSPEND signature. The machine powers off inside the hibernation, so /out is
#             written to the out disk before it.
# On the host, `blkid -p -o export` of each image is the oracle; the images are cut with
# ../fixtures/sparsify.py to the sectors blkid reads (IMSM/DDF: the last 1 MiB; swap: the first
# page; DDF: also the primary header the anchor names) and --update-fixtures copies them to tests/fixtures/fs/<name>/.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
UPDATE=0
if [ "${1:-}" = "--update-fixtures" ]; then UPDATE=1; shift; fi
OUT=${1:-$ROOT/.cache/ident-fixtures}
OUT=$(mkdir -p "$OUT" && cd "$OUT" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

rm -rf "$OUT/disks" "$OUT/guest"
mkdir -p "$OUT/disks"
for d in imsm-0 imsm-1 ddf-0 ddf-1 swsuspend; do
  truncate -s 64M "$OUT/disks/$d.img"
done

cat >"$OUT/guest.sh" <<'EOF'
mkdir -p /out /run/mdadm
{ uname -r; /sbin/mdadm --version 2>&1; } > /out/versions
export IMSM_NO_PLATFORM=1 IMSM_DEVNAME_AS_SERIAL=1
container() { # name metadata dev dev
  local n=$1 e=$2; shift 2
  mkdir -p /out/$n
  /sbin/mdadm --create /dev/md/$n -e $e -n 2 --run "$@" > /out/$n/create.log 2>&1 || echo "FAILED: $n container"
  /sbin/mdadm --create /dev/md/${n}vol -l 1 -n 2 --size=16M --run /dev/md/$n >> /out/$n/create.log 2>&1 || echo "FAILED: $n volume"
  sleep 2
  /sbin/mdadm --stop --scan >> /out/$n/create.log 2>&1
  sleep 1
  local k=0 dev
  for dev in "$@"; do
    /sbin/mdadm --examine $dev > /out/$n/examine-$k.txt 2>&1
    /sbin/mdadm --examine --export $dev > /out/$n/examine-$k.export 2>&1
    k=$((k + 1))
  done
}
container imsm imsm /dev/vda /dev/vdb
container ddf ddf /dev/vdc /dev/vdd
mkdir -p /out/swsuspend
/sbin/mkswap -U 7b6a5948-3726-4150-8f9e-8d7c6b5a493a -L hibernated /dev/vde > /out/swsuspend/mkswap.log 2>&1
/sbin/swapon /dev/vde >> /out/swsuspend/mkswap.log 2>&1 || echo "FAILED: swapon"
echo shutdown > /sys/power/disk
echo "=== before hibernation"
outdev=$(sed -n 's/.*vmout=\([a-z0-9]*\).*/\1/p' /proc/cmdline)
cp /tmp/log /out/log 2>/dev/null || true
tar -cf "/dev/$outdev" -C /out .
sync
echo disk > /sys/power/state
echo "FAILED: hibernation returned ($?)"
EOF

vm_initramfs "$OUT/initrd.gz" --script "$OUT/guest.sh" --tools "mdadm mdmon mkswap swapon" \
  --modules "crc32c_generic virtio_pci virtio_blk md-mod raid1"
echo "ident-fixtures: one boot (IMSM, DDF, then hibernation)"
vm_run "$OUT/initrd.gz" "$OUT/boot.log" \
  --disk "$OUT/disks/imsm-0.img" --disk "$OUT/disks/imsm-1.img" \
  --disk "$OUT/disks/ddf-0.img" --disk "$OUT/disks/ddf-1.img" \
  --disk "$OUT/disks/swsuspend.img" --out "$OUT/guest" --timeout 900 --mem 512 || true
grep -q "=== before hibernation" "$OUT/boot.log" || { echo "ident-fixtures: guest did not finish (see $OUT/boot.log)" >&2; exit 1; }
if grep -q FAILED "$OUT/boot.log"; then grep FAILED "$OUT/boot.log" >&2; exit 1; fi

# --- the oracle and the committable cut
mkdir -p "$OUT/fixtures"
cut() { # scenario image range...
  local name=$1 img=$2 d=$OUT/fixtures/$1
  shift 2
  mkdir -p "$d"
  blkid -p -o export "$img" | grep -v '^DEVNAME=' >"$d/expected.blkid"
  python3 "$ROOT/tests/fixtures/sparsify.py" "$img" "$d/disk.spr" "$@"
  echo "$name: $(stat -c %s "$d/disk.spr") bytes, $(tr '\n' ' ' <"$d/expected.blkid")"
}
cut imsm "$OUT/disks/imsm-0.img" -1M-
# DDF: the anchor in the last sector and the primary header it names (its primary_lba).
ddf_primary=$(python3 -c 'import os,struct,sys; f=open(sys.argv[1],"rb"); f.seek(os.path.getsize(sys.argv[1])-512); print(struct.unpack_from(">Q",f.read(0x70),0x60)[0]*512)' "$OUT/disks/ddf-0.img")
cut ddf "$OUT/disks/ddf-0.img" "$ddf_primary-$((ddf_primary + 512))" -4K-
cut swsuspend "$OUT/disks/swsuspend.img" 0-4K
cp "$OUT/guest/imsm/examine-0.export" "$OUT/fixtures/imsm/mdadm-examine.export"
cp "$OUT/guest/ddf/examine-0.export" "$OUT/fixtures/ddf/mdadm-examine.export"
grep -q '^TYPE=swsuspend$' "$OUT/fixtures/swsuspend/expected.blkid" ||
  { echo "ident-fixtures: the swap disk carries no hibernation signature" >&2; exit 1; }
{
  echo "# written in a VM by tests/vm/ident-fixtures.sh"
  echo "kernel $(head -1 "$OUT/guest/versions")"
  sed -n 2p "$OUT/guest/versions"
  blkid -V
} >"$OUT/fixtures/tools-vm.txt"
if [ $UPDATE = 1 ]; then
  for n in imsm ddf swsuspend; do
    rm -rf "$ROOT/tests/fixtures/fs/$n"
    cp -r "$OUT/fixtures/$n" "$ROOT/tests/fixtures/fs/$n"
  done
  cp "$OUT/fixtures/tools-vm.txt" "$ROOT/tests/fixtures/fs/tools-vm.txt"
fi
