#!/bin/bash
# LUKS volumes written by the real cryptsetup (2.6, the host's, copied into the guest with its
# libraries) inside a VM, where the kernel has dm-crypt, dm-integrity, AF_ALG and every cipher
# (the build host has none of them: ../../shared/vm-notes.md), then opened by cryptsetup there to
# record how it activates them.
#
#   tests/vm/luks-fixtures.sh [--update-fixtures] [OUTDIR]      (root; default .cache/luks-fixtures)
#
# Per volume (the VOLUMES table below), OUTDIR/NAME/ keeps:
#   disk.img        the whole volume (header, keyslot areas, a small data area of random bytes)
#   pass, wrong     the passphrase that opens it (cryptsetup's --key-file bytes) and one that
#                   does not; slot: the keyslot cryptsetup reports opening ("Key slot N unlocked")
#   luksDump, luksDump.json   `cryptsetup luksDump` and (LUKS2) `--dump-json-metadata`
#   volume-key      `cryptsetup luksDump --dump-volume-key` (the key the passphrase opens)
#   blkid           `blkid -p -o export` of disk.img (host), DEVNAME dropped
#   options         the crypttab-style options the volume was opened with (one line, may be empty)
#   table, table-hidden, info, devno, sectors   after `cryptsetup open` in the guest:
#                   `dmsetup table --showkeys NAME`, `dmsetup table NAME`,
#                   `dmsetup info -c -o name,uuid --noheadings NAME`, the disk's MAJ:MIN and size
#                   in 512-byte sectors (volumes cryptsetup cannot open say why in open.log)
#   data.sha256     sha256 of the opened mapping (/dev/mapper/NAME): the decrypted data area
#   kind            what the volume is for: `open` (opened by both), `unsupported` (integrity,
#                   reencryption: cryptsetup's records only), `token-only`
# and OUTDIR/fixtures/NAME/: the committable metadata cut (../fixtures/sparsify.py): LUKS1 the
# 1024-byte header; LUKS2 both binary headers and JSON areas; with luksDump, luksDump.json,
# blkid and the key-free activation records (table-hidden, info, devno, sectors, options, kind,
# slot). --update-fixtures copies fixtures/ to tests/fixtures/luks/.
#
# The data area is random, so the keyslot areas are the only incompressible part that matters
# for size: 128-512 KB each. KDF costs are small (PBKDF2 1000 iterations, Argon2 a few MiB) so
# the tests that unlock every volume stay fast.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
UPDATE=0
if [ "${1:-}" = "--update-fixtures" ]; then UPDATE=1; shift; fi
OUT=${1:-$ROOT/.cache/luks-fixtures}
OUT=$(mkdir -p "$OUT" && cd "$OUT" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

# name | image MiB | kind | luksFormat arguments | open options (crypttab words)
# Common to all: --batch-mode, the volume's fixed UUID, --key-file pass. LUKS2 volumes get a
# 16 KiB metadata area and a 1 MiB keyslots area unless they say otherwise.
VOLUMES=(
  "luks1-sha256|4|open|--type luks1 --cipher aes-xts-plain64 --key-size 256 --hash sha256 --pbkdf-force-iterations 1000|"
  "luks1-sha1-essiv|4|open|--type luks1 --cipher aes-cbc-essiv:sha256 --key-size 256 --hash sha1 --pbkdf-force-iterations 1000|discard"
  "luks1-sha512-multi|6|open|--type luks1 --cipher aes-xts-plain64 --key-size 512 --hash sha512 --pbkdf-force-iterations 1000|"
  "luks1-serpent|6|open|--type luks1 --cipher serpent-xts-plain64 --key-size 512 --hash sha256 --pbkdf-force-iterations 1000|"
  "luks2-sha256|4|open|--type luks2 --cipher aes-xts-plain64 --key-size 256 --pbkdf pbkdf2 --hash sha256 --pbkdf-force-iterations 1000 --sector-size 512 --label fixture-label --subsystem fixture-sub|"
  "luks2-sha1|4|open|--type luks2 --cipher aes-xts-plain64 --key-size 256 --pbkdf pbkdf2 --hash sha1 --pbkdf-force-iterations 1000 --sector-size 512|"
  "luks2-sha512-xts512|4|open|--type luks2 --cipher aes-xts-plain64 --key-size 512 --pbkdf pbkdf2 --hash sha512 --pbkdf-force-iterations 1000 --sector-size 512|"
  "luks2-argon2i|4|open|--type luks2 --cipher aes-xts-plain64 --key-size 512 --pbkdf argon2i --pbkdf-memory 4096 --pbkdf-force-iterations 4 --pbkdf-parallel 1 --sector-size 512|"
  "luks2-argon2id|4|open|--type luks2 --cipher aes-xts-plain64 --key-size 512 --pbkdf argon2id --pbkdf-memory 8192 --pbkdf-force-iterations 4 --pbkdf-parallel 4 --sector-size 512|"
  "luks2-essiv|4|open|--type luks2 --cipher aes-cbc-essiv:sha256 --key-size 256 --pbkdf pbkdf2 --hash sha256 --pbkdf-force-iterations 1000 --sector-size 512|"
  "luks2-serpent|4|open|--type luks2 --cipher serpent-xts-plain64 --key-size 512 --pbkdf argon2id --pbkdf-memory 1024 --pbkdf-force-iterations 4 --pbkdf-parallel 1 --sector-size 512|"
  "luks2-capi|4|open|--type luks2 --cipher capi:xts(aes)-plain64 --key-size 256 --pbkdf pbkdf2 --hash sha256 --pbkdf-force-iterations 1000 --sector-size 512|"
  "luks2-4k-flags|8|open|--type luks2 --cipher aes-xts-plain64 --key-size 512 --pbkdf argon2id --pbkdf-memory 1024 --pbkdf-force-iterations 4 --pbkdf-parallel 2 --sector-size 4096|same-cpu-crypt submit-from-crypt-cpus"
  "luks2-multi|4|open|--type luks2 --cipher aes-xts-plain64 --key-size 256 --pbkdf pbkdf2 --hash sha256 --pbkdf-force-iterations 1000 --sector-size 512|"
  "luks2-token|4|open|--type luks2 --cipher aes-xts-plain64 --key-size 256 --pbkdf pbkdf2 --hash sha256 --pbkdf-force-iterations 1000 --sector-size 512|"
  "luks2-token-only|4|token-only|--type luks2 --cipher aes-xts-plain64 --key-size 256 --pbkdf pbkdf2 --hash sha256 --pbkdf-force-iterations 1000 --sector-size 512|"
  "luks2-integrity|16|unsupported|--type luks2 --cipher aes-xts-plain64 --key-size 512 --integrity hmac-sha256 --integrity-no-wipe --pbkdf pbkdf2 --hash sha256 --pbkdf-force-iterations 1000 --sector-size 512|"
  "luks2-reencrypt|8|unsupported|--type luks2 --cipher aes-xts-plain64 --key-size 256 --pbkdf pbkdf2 --hash sha256 --pbkdf-force-iterations 1000 --sector-size 512|"
)
if [ -n "${LUKS_ONLY:-}" ]; then
  kept=()
  for v in "${VOLUMES[@]}"; do [[ ${v%%|*} =~ ^(${LUKS_ONLY})$ ]] && kept+=("$v"); done
  VOLUMES=("${kept[@]}")
fi

uuid_for() { echo -n "$1" | md5sum | sed 's/^\(........\)\(....\).\(...\).\(...\)\(............\).*/\1-\2-4\3-8\4-\5/'; }
letter() { printf "\\x$(printf %x $((97 + $1)))"; }

rm -rf "$OUT/volumes" "$OUT/guest" "$OUT/fixtures" "$OUT/ready" "$OUT"/luks*-*/
mkdir -p "$OUT/volumes"
disk_args=()
guest=$OUT/guest.sh
cat >"$guest" <<'EOF'
export DM_DISABLE_UDEV=1
CS=/sbin/cryptsetup
DS=/sbin/dmsetup
mkdir -p /out /run/cryptsetup
{ uname -r; $CS --version; $DS --version; } > /out/versions 2>&1
keyfile() { printf '%s' "$1" > /tmp/k; echo /tmp/k; }
# record NAME DEV OPTIONS...: open with the passphrase in /out/NAME/pass, record, close.
record() {
  local n=$1 dev=$2 d=/out/$1; shift 2
  local o args=""
  for o in "$@"; do
    case $o in
      discard) args="$args --allow-discards" ;;
      same-cpu-crypt) args="$args --perf-same_cpu_crypt" ;;
      submit-from-crypt-cpus) args="$args --perf-submit_from_crypt_cpus" ;;
      no-read-workqueue) args="$args --perf-no_read_workqueue" ;;
      no-write-workqueue) args="$args --perf-no_write_workqueue" ;;
    esac
  done
  cat /sys/class/block/${dev#/dev/}/dev > $d/devno
  cat /sys/class/block/${dev#/dev/}/size > $d/sectors
  if $CS open -v --type luks $args --key-file $d/pass $dev $n > $d/open.log 2>&1; then
    sed -n 's/^Key slot \([0-9]*\) unlocked.*/\1/p' $d/open.log > $d/slot
    $DS table --showkeys $n > $d/table 2>&1
    $DS table $n > $d/table-hidden 2>&1
    $DS info -c -o name,uuid --noheadings $n > $d/info 2>&1
    # The decrypted data area as the kernel reads it: the user-space reader must agree.
    sha256sum < /dev/mapper/$n | cut -d' ' -f1 > $d/data.sha256
    $CS close $n >> $d/open.log 2>&1
  fi
}
dump() { # NAME DEV
  local d=/out/$1
  $CS luksDump $2 > $d/luksDump 2>&1
  $CS luksDump --dump-json-metadata $2 > $d/luksDump.json 2>/dev/null || rm -f $d/luksDump.json
  $CS luksDump --batch-mode --dump-volume-key --key-file $d/pass $2 > $d/volume-key 2>&1
}
EOF
i=0
for v in "${VOLUMES[@]}"; do
  IFS='|' read -r name mib kind args opts <<<"$v"
  img=$OUT/volumes/$name.img
  truncate -s "${mib}M" "$img"
  disk_args+=(--disk "$img")
  dev=/dev/vd$(letter $i)
  uuid=$(uuid_for "$name")
  extra=""
  case $args in *luks2*) extra="--luks2-metadata-size 16k --luks2-keyslots-size 1m" ;; esac
  # Quoted for the guest shell (capi:xts(aes)-plain64).
  qargs=$(for a in $args $extra; do printf "'%s' " "$a"; done)
  cat >>"$guest" <<EOF
echo "=== $name"
mkdir -p /out/$name
printf '%s' 'pass-$name' > /out/$name/pass
printf '%s' 'not-the-pass' > /out/$name/wrong
echo '$kind' > /out/$name/kind
echo '$opts' > /out/$name/options
head -c $((mib << 20)) /dev/urandom > $dev
if ! \$CS luksFormat --batch-mode --uuid $uuid $qargs--key-file /out/$name/pass $dev > /out/$name/format.log 2>&1; then
  echo "FAILED: format $name"; cat /out/$name/format.log
fi
EOF
  # Per-volume steps after the format.
  case $name in
    luks1-sha512-multi|luks2-multi)
      # Three keyslots; the fixture's passphrase opens the last, so the others are tried first.
      # luks2-multi also makes keyslot 1 "prefer" (tried before 0).
      cat >>"$guest" <<EOF
printf '%s' 'second' > /tmp/k1; printf '%s' 'third' > /tmp/k2
\$CS luksAddKey --batch-mode --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file /out/$name/pass $dev /tmp/k1 >> /out/$name/format.log 2>&1
\$CS luksAddKey --batch-mode --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file /out/$name/pass $dev /tmp/k2 >> /out/$name/format.log 2>&1
cp /tmp/k2 /out/$name/pass
EOF
      [ "$name" = luks2-multi ] && echo "\$CS config --priority prefer --key-slot 1 $dev >> /out/$name/format.log 2>&1" >>"$guest"
      ;;
    luks2-4k-flags)
      # Persistent flags in the header (config.flags), written the way cryptsetup writes them.
      cat >>"$guest" <<EOF
\$CS open --key-file /out/$name/pass $dev tmp-$name >> /out/$name/format.log 2>&1
\$CS refresh --persistent --allow-discards --perf-no_read_workqueue --perf-no_write_workqueue --key-file /out/$name/pass tmp-$name >> /out/$name/format.log 2>&1
\$CS close tmp-$name >> /out/$name/format.log 2>&1
EOF
      ;;
    luks2-token|luks2-token-only)
      # A systemd-tpm2 / systemd-fido2 style token on a keyslot (its secret would come from the
      # TPM/FIDO2 device; here the keyslot simply has a passphrase).
      if [ "$name" = luks2-token ]; then
        tok='{"type":"systemd-tpm2","keyslots":["1"],"tpm2-blob":"AAAA","tpm2-pcrs":[7],"tpm2-pcr-bank":"sha256","tpm2-primary-alg":"ecc","tpm2-pin":false}'
        cat >>"$guest" <<EOF
printf '%s' 'tpm-secret' > /tmp/k1
\$CS luksAddKey --batch-mode --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file /out/$name/pass $dev /tmp/k1 >> /out/$name/format.log 2>&1
printf '%s' '$tok' > /tmp/tok
\$CS token import --json-file /tmp/tok $dev >> /out/$name/format.log 2>&1
EOF
      else
        tok='{"type":"systemd-fido2","keyslots":["0"],"fido2-credential":"AAAA","fido2-salt":"AAAA","fido2-rp":"io.systemd.cryptsetup","fido2-clientPin-required":false}'
        cat >>"$guest" <<EOF
printf '%s' '$tok' > /tmp/tok
\$CS token import --json-file /tmp/tok $dev >> /out/$name/format.log 2>&1
EOF
      fi
      ;;
    luks2-reencrypt)
      # A reencryption initialized and not run: requirement online-reencrypt-v2, a reencrypt
      # keyslot, backup segments.
      cat >>"$guest" <<EOF
\$CS reencrypt --init-only --batch-mode --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file /out/$name/pass $dev >> /out/$name/format.log 2>&1 || echo "FAILED: reencrypt init $name"
EOF
      ;;
  esac
  echo "dump $name $dev" >>"$guest"
  # Every kind is opened by cryptsetup (integrity and reencryption too): its records document
  # what it does with them.
  echo "record $name $dev $opts" >>"$guest"
  i=$((i + 1))
done
echo 'echo "=== volumes done"' >>"$guest"

vm_initramfs "$OUT/initrd.gz" --script "$guest" --tools "cryptsetup dmsetup" \
  --modules "virtio_pci virtio_blk dm-mod dm-crypt dm-integrity xts ecb essiv sha512_generic serpent_generic twofish_generic algif_skcipher algif_hash hmac authenc"
echo "luks-fixtures: one boot (${#VOLUMES[@]} volumes; a few minutes under TCG)"
vm_run "$OUT/initrd.gz" "$OUT/boot.log" "${disk_args[@]}" --out "$OUT/guest" --timeout 3000 --mem 1024
grep -q "=== volumes done" "$OUT/guest/log" || { echo "luks-fixtures: guest did not finish (see $OUT/boot.log)" >&2; exit 1; }
if grep -q FAILED "$OUT/guest/log"; then grep -A3 FAILED "$OUT/guest/log" >&2; exit 1; fi

# --- host side: blkid, the volumes next to their records, the committable metadata cuts
for v in "${VOLUMES[@]}"; do
  IFS='|' read -r name mib kind args opts <<<"$v"
  d=$OUT/$name
  rm -rf "$d"
  cp -r "$OUT/guest/$name" "$d"
  mv "$OUT/volumes/$name.img" "$d/disk.img"
  blkid -p -o export "$d/disk.img" | grep -v '^DEVNAME=' >"$d/blkid" || true
  f=$OUT/fixtures/$name
  mkdir -p "$f"
  cp "$d/luksDump" "$d/blkid" "$f/"
  # cryptsetup's activation without the key (dmsetup hides a hex key; a keyring key is a name).
  for r in table-hidden info devno sectors options kind slot; do [ -f "$d/$r" ] && cp "$d/$r" "$f/"; done
  [ -f "$d/luksDump.json" ] && cp "$d/luksDump.json" "$f/"
  # LUKS1: the header (1024 bytes); LUKS2: both copies (binary header + JSON area each).
  hs=$(python3 -c "
import struct,sys
b=open(sys.argv[1],'rb').read(4096)
print(struct.unpack('>Q',b[8:16])[0] if struct.unpack('>H',b[6:8])[0]==2 else 0)" "$d/disk.img")
  if [ "$hs" = 0 ]; then ranges="0-1K"; else ranges="0-$((2 * hs))"; fi
  python3 "$ROOT/tests/fixtures/sparsify.py" "$d/disk.img" "$f/disk.spr" $ranges
done
{ cat "$OUT/guest/versions"; echo "host: $(blkid --version); $(python3 --version)"; } >"$OUT/fixtures/versions"
touch "$OUT/ready"
if [ $UPDATE = 1 ]; then
  rm -rf "$ROOT/tests/fixtures/luks"
  cp -r "$OUT/fixtures" "$ROOT/tests/fixtures/luks"
  echo "luks-fixtures: updated tests/fixtures/luks"
fi
echo "luks-fixtures: done ($OUT)"
