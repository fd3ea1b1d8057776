#!/bin/bash
# MD RAID fixtures written by the real mdadm and the real kernel md driver, inside a VM (the
# build host has no md driver: ../../shared/vm-notes.md).
#
#   tests/vm/md-fixtures.sh [--update-fixtures] [OUTDIR]      (root; default OUTDIR .cache/md-fixtures)
#
# Boot 1 creates every array of the SCENARIOS table below with fixed --uuid, --name and
# --homehost, writes a deterministic pattern through /dev/mdN (pattern.img, generated here),
# and records mdadm's own reports: `mdadm --examine [--export]` of every member (after the array
# was stopped, so they describe the bytes left on disk), `mdadm --detail [--export]`, the md
# sysfs attributes, and `sha256sum /dev/mdN`.
# On the host, `blkid -p -o export` (util-linux) of the MBR disks and of their partitions records
# libblkid's view of a superblock at the end of a whole disk.
# Boot 2 checks the big-endian 0.90 copies (made here by swapping every 32-bit word as mdadm's
# super0_swap_endian does; no big-endian machine is at hand): `mdadm --examine -e 0.swap` must
# call their checksum correct and `mdadm --assemble --update=byteorder` must start the array
# with the same sha256.
#
# OUTDIR keeps the full disk images (read by tests/md_data.rs), `manifest` (one line per
# member: scenario index image start_byte size_byte guest_device) and `fixtures/`, the small
# part worth committing: per member only the 4 KiB windows that hold an MD superblock (or a
# bitmap superblock), cut with tests/fixtures/sparsify.py. --update-fixtures copies `fixtures/`
# to tests/fixtures/md/.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
UPDATE=0
if [ "${1:-}" = "--update-fixtures" ]; then UPDATE=1; shift; fi
OUT=${1:-$ROOT/.cache/md-fixtures}
OUT=$(mkdir -p "$OUT" && cd "$OUT" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

HOMEHOST=evmshost
MIB=$((1 << 20))

# name | mdN | placement | member sizes (MiB, or KiB with a K suffix for whole disks) | mdadm
# --create arguments
#   gpt:   members are partitions spread over six shared GPT disks
#   mbr:   each member is the only partition of its own MBR disk, reaching the disk's end
#          (so a 0.90/1.0 superblock at the partition's end is also at the disk's end)
#   whole: each member is a whole disk without a partition table
SCENARIOS=(
  "r1-090|md0|mbr|16,16|-e 0.90 -l 1 -n 2"
  "r1-10-bitmap|md1|mbr|16,16|-e 1.0 -l 1 -n 2 --bitmap=internal"
  # Multi-zone RAID0: the first member holds an odd number of chunks (8256 KiB less the 1 MiB
  # data offset), so zone 1 starts at an odd array chunk and the two layouts place it apart.
  "r0-11-zones|md2|whole|8256K,12,16|-e 1.1 -l 0 -n 3 --chunk=64"
  "r0-12-alt|md3|whole|8256K,12,10|-e 1.2 -l 0 -n 3 --chunk=64 --layout=alternate"
  "r0-12-eq|md4|gpt|8,8|-e 1.2 -l 0 -n 2 --chunk=64"
  # (mdadm 4.2 refuses 0.90 RAID0: "0.90 metadata does not support layouts for RAID0")
  "linear-090|md5|gpt|8,12|-e 0.90 -l linear -n 2"
  "r5-12-ls|md6|gpt|8,8,8|-e 1.2 -l 5 -n 3"
  "r5-12-la|md7|gpt|8,8,8|-e 1.2 -l 5 -n 3 --layout=left-asymmetric --chunk=64"
  "r5-12-ra|md8|gpt|8,8,8,8|-e 1.2 -l 5 -n 4 --layout=right-asymmetric --chunk=64"
  "r5-12-rs|md9|gpt|8,8,8,8|-e 1.2 -l 5 -n 4 --layout=right-symmetric --chunk=16"
  "r5-12-p0|md10|gpt|8,8,8|-e 1.2 -l 5 -n 3 --layout=parity-first --chunk=64"
  "r5-12-pn|md11|gpt|8,8,8|-e 1.2 -l 5 -n 3 --layout=parity-last --chunk=64"
  "r4-12|md12|gpt|8,8,8|-e 1.2 -l 4 -n 3 --chunk=64"
  "r6-12-ls|md13|gpt|8,8,8,8|-e 1.2 -l 6 -n 4 --chunk=64"
  "r6-12-zr|md14|gpt|8,8,8,8,8|-e 1.2 -l 6 -n 5 --layout=ddf-zero-restart --chunk=64"
  "r6-12-ra6|md15|gpt|8,8,8,8|-e 1.2 -l 6 -n 4 --layout=right-asymmetric-6 --chunk=64"
  "r10-12-n2|md16|gpt|8,8,8|-e 1.2 -l 10 -n 3 --layout=n2 --chunk=64"
  "r10-12-f2|md17|gpt|8,8,8|-e 1.2 -l 10 -n 3 --layout=f2 --chunk=64"
  "r10-12-o2|md18|gpt|8,8,8,8|-e 1.2 -l 10 -n 4 --layout=o2 --chunk=64"
  "linear-12|md19|gpt|8,12|-e 1.2 -l linear -n 2"
  "r5-12-spare|md20|gpt|8,8,8,8|-e 1.2 -l 5 -n 3 -x 1 --chunk=64"
  "r1-12-bitmap|md21|gpt|8,8|-e 1.2 -l 1 -n 2 --bitmap=internal"
  "r5-090|md22|gpt|8,8,8|-e 0.90 -l 5 -n 3 --chunk=64"
  "r5-12-failed|md23|gpt|8,8,8|-e 1.2 -l 5 -n 3 --chunk=64"
  "stale-090-12|md24|gpt|8,8|-l 1 -n 2"
  "stale-12-090|md25|gpt|8,8|-l 1 -n 2"
)
NSHARED=6
# MD_ONLY=REGEX keeps only the matching scenarios (for debugging this script; r1-090 is always
# kept because boot 2 needs it).
if [ -n "${MD_ONLY:-}" ]; then
  kept=()
  for spec in "${SCENARIOS[@]}"; do
    [[ ${spec%%|*} =~ ^(${MD_ONLY}|r1-090)$ ]] && kept+=("$spec")
  done
  SCENARIOS=("${kept[@]}")
fi

# A fixed array UUID per scenario (and a second one for the stale scenarios' second array).
uuid_for() { echo -n "$1" | md5sum | sed 's/^\(........\)\(........\)\(........\)\(........\).*/\1:\2:\3:\4/'; }
letter() { printf "\\x$(printf %x $((97 + $1)))"; }

rm -rf "$OUT/disks" "$OUT/guest" "$OUT/guest-be" "$OUT/fixtures" "$OUT/manifest" "$OUT/ready"
mkdir -p "$OUT/disks"

# --- the deterministic pattern written through every array (64 MiB of SHA-256 counter blocks)
python3 - "$OUT/pattern.img" <<'EOF'
import hashlib, sys
with open(sys.argv[1], 'wb') as f:
    for i in range(64 * 1024 * 1024 // 32):
        f.write(hashlib.sha256(b'evms-md-pattern:%d' % i).digest())
EOF

# --- place members on disks
shared_parts=()   # per shared disk: space-separated sizes (MiB)
special_disks=()  # "kind:sizeMiB" for mbr/whole disks, in guest order after the shared ones
for ((d = 0; d < NSHARED; d++)); do shared_parts[d]=""; done
: >"$OUT/manifest.tmp"
s=0
for spec in "${SCENARIOS[@]}"; do
  IFS='|' read -r name md place sizes args <<<"$spec"
  k=0
  for sz in ${sizes//,/ }; do
    case $place in
      gpt)
        d=$(( (k + s) % NSHARED ))
        shared_parts[d]="${shared_parts[d]} $sz"
        n=$(wc -w <<<"${shared_parts[d]}")
        echo "$name $k disk$d $n $sz gpt" >>"$OUT/manifest.tmp" ;;
      mbr|whole)
        i=${#special_disks[@]}
        special_disks+=("$place:$sz")
        echo "$name $k disk$((NSHARED + i)) $place $sz $place" >>"$OUT/manifest.tmp" ;;
    esac
    k=$((k + 1))
  done
  s=$((s + 1))
done

# --- build the disk images (sfdisk writes the tables on the host)
disk_args=()
for ((d = 0; d < NSHARED; d++)); do
  img=$OUT/disks/disk$d.img
  total=2
  script="label: gpt"$'\n'
  for sz in ${shared_parts[d]}; do
    total=$((total + sz))
    script+="size=${sz}MiB, type=A19D880F-05FC-4D3B-A006-743F0F84911E"$'\n'
  done
  truncate -s "${total}M" "$img"
  sfdisk -q "$img" <<<"$script"
  disk_args+=(--disk "$img")
done
i=0
for sd in "${special_disks[@]}"; do
  img=$OUT/disks/disk$((NSHARED + i)).img
  sz=${sd#*:}
  case $sz in *K) truncate -s "$sz" "$img" ;; *) truncate -s "${sz}M" "$img" ;; esac
  if [ "${sd%%:*}" = mbr ]; then
    sfdisk -q "$img" <<<$'label: dos\nstart=2048, type=fd'
  fi
  disk_args+=(--disk "$img")
  i=$((i + 1))
done
ndisks=$((NSHARED + ${#special_disks[@]}))
patdev=vd$(letter "$ndisks")

# --- manifest: scenario index image start size guest-device (partition offsets from sfdisk)
: >"$OUT/manifest"
while read -r name k disk n sz kind; do
  img=$OUT/disks/$disk.img
  dn=${disk#disk}
  dev=vd$(letter "$dn")
  case $kind in
    gpt|mbr)
      [ "$kind" = mbr ] && n=1
      start=$(sfdisk -J "$img" | python3 -c "import json,sys; p=json.load(sys.stdin)['partitiontable']['partitions'][$n-1]; print(p['start']*512, p['size']*512)")
      echo "$name $k $img $start $dev$n" >>"$OUT/manifest" ;;
    whole)
      echo "$name $k $img 0 $(stat -c %s "$img") $dev" >>"$OUT/manifest" ;;
  esac
done <"$OUT/manifest.tmp"
rm -f "$OUT/manifest.tmp"

# --- the guest script
guest=$OUT/guest.sh
cat >"$guest" <<EOF
PAT=/dev/$patdev
HOMEHOST=$HOMEHOST
EOF
cat >>"$guest" <<'EOF'
echo 200000 > /proc/sys/dev/raid/speed_limit_min
mkdir -p /out
{ uname -r; /sbin/mdadm --version 2>&1; } > /out/versions
record() { # dir md dev...: detail, sysfs, sha256 while running; stop; examine every member
  local d=$1 md=$2 k dev r f; shift 2
  /sbin/mdadm --detail /dev/$md > $d/detail.txt 2>&1
  /sbin/mdadm --detail --export /dev/$md > $d/detail.export 2>&1
  { echo "size=$(cat /sys/block/$md/size)"
    for f in level layout chunk_size raid_disks component_size metadata_version array_state; do
      echo "$f=$(cat /sys/block/$md/md/$f 2>/dev/null)"
    done
    for r in /sys/block/$md/md/dev-*; do
      echo "$(basename $r) slot=$(cat $r/slot) offset=$(cat $r/offset) size=$(cat $r/size) state=$(cat $r/state)"
    done; } > $d/sysfs.txt
  sha256sum /dev/$md | cut -d' ' -f1 > $d/sha256
  /sbin/mdadm --stop /dev/$md >> $d/create.log 2>&1
  k=0
  for dev in "$@"; do
    /sbin/mdadm --examine --export $dev > $d/examine-$k.export 2>&1
    /sbin/mdadm --examine $dev > $d/examine-$k.txt 2>&1
    k=$((k + 1))
  done
}
fill() { # md: the pattern over the whole array
  local bytes=$(( $(cat /sys/block/$1/size) * 512 ))
  head -c $bytes $PAT > /dev/$1
  sync
}
create() { # dir md uuid args... devs...
  local cd=$1 cmd=$2 cuuid=$3; shift 3
  echo "mdadm --create /dev/$cmd --run --uuid=$cuuid --homehost=$HOMEHOST $*" >> $cd/create.log
  /sbin/mdadm --create /dev/$cmd --run --uuid=$cuuid --homehost=$HOMEHOST "$@" >> $cd/create.log 2>&1 || { echo "FAILED: $cd"; return 1; }
  /sbin/mdadm --wait /dev/$cmd >/dev/null 2>&1
  return 0
}
sb_sector() { # dev 090|12: sector of that superblock
  case $2 in
    090) echo $(( ($(cat /sys/class/block/${1#/dev/}/size) & ~127) - 128 )) ;;
    12) echo 8 ;;
  esac
}
save_sb() { # devs... kind: keep each device's superblock window in /tmp
  local kind dev
  eval kind=\${$#}
  for dev in "$@"; do
    [ "$dev" = "$kind" ] && continue
    dd if=$dev of=/tmp/sb-${dev#/dev/} bs=512 skip=$(sb_sector $dev $kind) count=8 2>/dev/null
    echo $(sb_sector $dev $kind) > /tmp/sb-${dev#/dev/}.at
  done
}
restore_sb() { # devs...
  local dev
  for dev in "$@"; do
    dd if=/tmp/sb-${dev#/dev/} of=$dev bs=512 seek=$(cat /tmp/sb-${dev#/dev/}.at) count=8 conv=notrunc 2>/dev/null
  done
  sync
}
scenario() { # name md uuid uuid2 "args" devs...
  local name=$1 md=$2 uuid=$3 uuid2=$4 args=$5 d nm k dev; shift 5
  d=/out/$name; mkdir -p $d
  echo "$*" > $d/devices
  nm=""
  case " $args " in *" -e 0.90 "*) ;; *) nm="--name=$name" ;; esac
  case $name in
    # mdadm --create wipes every older superblock it finds (Kill() in write_init_super), so the
    # older array's superblock window is saved with dd and written back afterwards: the state
    # of a disk reused by a tool that does not wipe. The newer array is then assembled again
    # (mdadm picks the newer superblock) from its first member alone and recorded: created
    # with --assume-clean over members whose bytes differ, its copies do not agree, and reads
    # from the whole array would mix them.
    stale-090-12)
      create $d $md $uuid2 -e 0.90 $args "$@" || return
      head -c 1048576 $PAT > /dev/$md; sync
      /sbin/mdadm --stop /dev/$md >> $d/create.log 2>&1
      save_sb "$@" 090
      sleep 2
      create $d $md $uuid -e 1.2 --name=$name --assume-clean $args "$@" || return
      head -c 1048576 $PAT > /dev/$md; sync
      /sbin/mdadm --stop /dev/$md >> $d/create.log 2>&1
      restore_sb "$@"
      /sbin/mdadm --assemble --run /dev/$md $1 >> $d/create.log 2>&1 || { echo "FAILED: $d"; return; } ;;
    stale-12-090)
      create $d $md $uuid2 -e 1.2 --name=$name $args "$@" || return
      head -c 1048576 $PAT > /dev/$md; sync
      /sbin/mdadm --stop /dev/$md >> $d/create.log 2>&1
      save_sb "$@" 12
      sleep 2
      create $d $md $uuid -e 0.90 --assume-clean $args "$@" || return
      /sbin/mdadm --stop /dev/$md >> $d/create.log 2>&1
      restore_sb "$@"
      /sbin/mdadm --assemble --run /dev/$md $1 >> $d/create.log 2>&1 || { echo "FAILED: $d"; return; } ;;
    r5-12-failed)
      create $d $md $uuid $nm $args "$@" || return
      fill $md
      /sbin/mdadm /dev/$md --fail $2 >> $d/create.log 2>&1
      dd if=$PAT of=/dev/$md bs=65536 skip=100 count=64 2>/dev/null; sync ;;
    *)
      create $d $md $uuid $nm $args "$@" || return
      fill $md ;;
  esac
  record $d $md "$@"
  case $name in
    stale-*)
      k=0
      for dev in "$@"; do
        /sbin/mdadm --examine -e 0.90 $dev > $d/examine-$k-e090.txt 2>&1
        /sbin/mdadm --examine -e 1.2 $dev > $d/examine-$k-e12.txt 2>&1
        k=$((k + 1))
      done ;;
  esac
}
EOF
for spec in "${SCENARIOS[@]}"; do
  IFS='|' read -r name md place sizes args <<<"$spec"
  devs=$(awk -v n="$name" '$1==n{print "/dev/" $6}' "$OUT/manifest" | tr '\n' ' ')
  echo "scenario $name $md $(uuid_for "$name") $(uuid_for "$name-first") \"$args\" $devs" >>"$guest"
done
cat >>"$guest" <<'EOF'
# mdadm does not apply libblkid's partition rule: its view of the MBR disks' whole devices.
for dev in $(cat /out/r1-090/devices /out/r1-10-bitmap/devices); do
  whole=${dev%1}
  /sbin/mdadm --examine --export $whole > /out/examine-whole-${whole#/dev/}.export 2>&1
done
echo "=== scenarios done"
EOF

vm_initramfs "$OUT/initrd.gz" --script "$guest" --tools "mdadm" \
  --modules "crc32c_generic virtio_pci virtio_blk md-mod linear raid0 raid1 raid10 raid456"
truncate -s 64M "$OUT/pattern-disk.img"
dd if="$OUT/pattern.img" of="$OUT/pattern-disk.img" conv=notrunc status=none
echo "md-fixtures: boot 1 ($ndisks disks; several minutes under TCG)"
vm_run "$OUT/initrd.gz" "$OUT/boot1.log" "${disk_args[@]}" --disk "$OUT/pattern-disk.img" \
  --out "$OUT/guest" --timeout 3000 --mem 1024
grep -q "=== scenarios done" "$OUT/guest/log" || { echo "md-fixtures: guest did not finish (see $OUT/boot1.log)" >&2; exit 1; }
if grep -q FAILED "$OUT/guest/log"; then grep FAILED "$OUT/guest/log" >&2; exit 1; fi

# --- libblkid's view of the MBR disks: the whole disk, and the partition (probed at its offset
# with its size). Both are regular files here, which libblkid treats like whole disks when it
# checks whether a partition table covers a 0.90 superblock (linux_raid.c, probe_raid0).
while read -r name k img start size dev; do
  case $name in r1-090|r1-10-bitmap) ;; *) continue ;; esac
  blkid -p -o export "$img" | grep -v '^DEVNAME=' >"$OUT/guest/$name/blkid-disk-$k.export" || true
  blkid -p -o export -O "$start" -S "$size" "$img" | grep -v '^DEVNAME=' >"$OUT/guest/$name/blkid-part-$k.export" || true
done <"$OUT/manifest"

# --- big-endian copies of the 0.90 RAID1 members (whole MBR disks), checked by mdadm in boot 2
be_args=()
while read -r name k img start size dev; do
  [ "$name" = r1-090 ] || continue
  be=$OUT/disks/be-$k.img
  cp --sparse=always "$img" "$be"
  python3 - "$be" "$start" "$size" <<'EOF'
import struct, sys
path, start, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
off = start + ((size // 512) & ~127) * 512 - 65536   # MD_NEW_SIZE_SECTORS
with open(path, 'r+b') as f:
    f.seek(off); sb = bytearray(f.read(4096))
    assert sb[:4] == b'\xfc\x4e\x2b\xa9', 'no little-endian 0.90 superblock'
    words = list(struct.unpack('<1024I', sb))
    # super0_swap_endian: every u32 in the other order, then events_hi/lo and cp_events_hi/lo
    # exchanged (they are ordered by host endianness in md_p.h).
    for a, b in ((0x9C // 4, 0xA0 // 4), (0xA4 // 4, 0xA8 // 4)):
        words[a], words[b] = words[b], words[a]
    f.seek(off); f.write(struct.pack('>1024I', *words))
EOF
  cp --sparse=always "$be" "$be.boot2"
  be_args+=(--disk "$be.boot2")
done <"$OUT/manifest"
cat >"$OUT/guest-be.sh" <<'EOF'
mkdir -p /out/r1-090-be
k=0
for dev in vda1 vdb1; do
  /sbin/mdadm --examine -e 0.swap /dev/$dev > /out/r1-090-be/examine-$k.txt 2>&1
  /sbin/mdadm --examine --export -e 0.swap /dev/$dev > /out/r1-090-be/examine-$k.export 2>&1
  k=$((k + 1))
done
/sbin/mdadm --assemble /dev/md0 --update=byteorder /dev/vda1 /dev/vdb1 > /out/r1-090-be/assemble.log 2>&1
sha256sum /dev/md0 | cut -d' ' -f1 > /out/r1-090-be/sha256
/sbin/mdadm --stop /dev/md0 >> /out/r1-090-be/assemble.log 2>&1
echo "=== be done"
EOF
vm_initramfs "$OUT/initrd-be.gz" --script "$OUT/guest-be.sh" --tools "mdadm" \
  --modules "crc32c_generic virtio_pci virtio_blk md-mod raid1"
echo "md-fixtures: boot 2 (big-endian 0.90 check)"
vm_run "$OUT/initrd-be.gz" "$OUT/boot2.log" "${be_args[@]}" --out "$OUT/guest-be" --timeout 600
rm -f "$OUT"/disks/*.boot2
grep -q "=== be done" "$OUT/guest-be/log" || { echo "md-fixtures: boot 2 did not finish" >&2; exit 1; }
cmp -s "$OUT/guest-be/r1-090-be/sha256" "$OUT/guest/r1-090/sha256" ||
  { echo "md-fixtures: byte-swapped 0.90 array does not assemble to the same data" >&2; exit 1; }
grep -q "Checksum : .* - correct" "$OUT/guest-be/r1-090-be/examine-0.txt" ||
  { echo "md-fixtures: mdadm does not accept the byte-swapped checksum" >&2; exit 1; }

# --- the committable part: superblock windows of every member, plus the reports
python3 - "$OUT" "$ROOT/tests/fixtures/sparsify.py" <<'EOF'
import os, shutil, struct, subprocess, sys, tempfile
out, sparsify = sys.argv[1], sys.argv[2]
fix = os.path.join(out, 'fixtures')
MAGIC = (b'\xfc\x4e\x2b\xa9', b'\xa9\x2b\x4e\xfc')

def windows(img, start, size):
    """4 KiB windows holding an MD superblock (1.1 @0, 1.2 @4K, 1.0 and 0.90 at the end) or a
    bitmap superblock; offsets relative to the member."""
    s = size // 512
    cands = [0, 8 * 512, ((s - 16) & ~7) * 512, ((s & ~127) - 128) * 512]
    keep = []
    with open(img, 'rb') as f:
        for c in cands:
            f.seek(start + c); b = f.read(4096)
            if b[:4] not in MAGIC:
                continue
            keep.append(c)
            if b[:4] == MAGIC[0] and struct.unpack_from('<I', b, 4)[0] == 1:
                fm, bmo = struct.unpack_from('<Ii', b, 8)[0], struct.unpack_from('<i', b, 0x60)[0]
                if fm & 1:
                    keep.append(c + bmo * 512)
            elif struct.unpack_from('<I' if b[:4] == MAGIC[0] else '>I', b, 0x84)[0] & (1 << 8):
                keep.append(c + 4096)
    return sorted(set(keep))

def cut(img, start, size, dst, wins):
    with tempfile.NamedTemporaryFile(dir=out) as t:
        with open(img, 'rb') as f:
            t.truncate(size)
            for w in wins:
                f.seek(start + w); t.seek(w); t.write(f.read(min(4096, size - w)))
        t.flush()
        subprocess.check_call([sys.executable, sparsify, t.name, dst] +
                              ['%d-%d' % (w, min(w + 4096, size)) for w in wins])

for line in open(os.path.join(out, 'manifest')):
    name, k, img, start, size, dev = line.split()
    start, size = int(start), int(size)
    d = os.path.join(fix, name)
    if not os.path.isdir(d):
        shutil.copytree(os.path.join(out, 'guest', name), d)
    cut(img, start, size, os.path.join(d, 'm%s.spr' % k), windows(img, start, size))
    with open(os.path.join(d, 'members'), 'a') as m:
        m.write('%s %s %d %d\n' % (k, dev, start, size))
    if name == 'r1-090':
        be = os.path.join(out, 'disks', 'be-%s.img' % k)
        cut(be, start, size, os.path.join(d, 'm%s-be.spr' % k), windows(be, start, size))
    if name in ('r1-090', 'r1-10-bitmap'):
        # the whole MBR disk: its table and the superblock window at the disk's end
        dsize = os.path.getsize(img)
        w = [0] + [start + x for x in windows(img, start, size)]
        with tempfile.NamedTemporaryFile(dir=out) as t:
            t.truncate(dsize)
            with open(img, 'rb') as f:
                for x in w:
                    f.seek(x); t.seek(x); t.write(f.read(4096))
            t.flush()
            subprocess.check_call([sys.executable, sparsify, t.name,
                                   os.path.join(d, 'disk%s.spr' % k)] +
                                  ['%d-%d' % (x, x + 4096) for x in w])
be = os.path.join(fix, 'r1-090')
for f in os.listdir(os.path.join(out, 'guest-be', 'r1-090-be')):
    shutil.copy(os.path.join(out, 'guest-be', 'r1-090-be', f), os.path.join(be, 'be-' + f))
for f in ('versions',) + tuple(x for x in os.listdir(os.path.join(out, 'guest')) if x.startswith('examine-whole')):
    shutil.copy(os.path.join(out, 'guest', f), os.path.join(fix, f))
EOF
{ echo "host: $(sfdisk --version); $(blkid --version); $(python3 --version)"; } >>"$OUT/fixtures/versions"

touch "$OUT/ready"
if [ $UPDATE = 1 ]; then
  rm -rf "$ROOT/tests/fixtures/md/scenarios"
  mkdir -p "$ROOT/tests/fixtures/md"
  cp -r "$OUT/fixtures" "$ROOT/tests/fixtures/md/scenarios"
  echo "md-fixtures: updated tests/fixtures/md/scenarios"
fi
echo "md-fixtures: done ($OUT)"
