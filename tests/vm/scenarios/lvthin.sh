# Thin provisioning: pools with every feature lvm2 emits, thin LVs, a thin snapshot (activation skip), an external origin, an unused pool
# VG vgt on vda (extent size 1 MiB):
#   pool   thin pool, chunk 64 KiB, zeroing on, discards nopassdown -> features no_discard_passdown
#   thin1  thin LV on pool (filled); snap1: thin snapshot of thin1 (lvm2 sets activation skip)
#   pool2  thin pool, zeroing off, discards ignore, error when full -> skip_block_zeroing
#          ignore_discard error_if_no_space; thin2 on it (filled)
#   ext    linear, read-only: external origin of extthin (thin on pool2, first sector rewritten)
#   pool3  a pool never used (transaction_id 0: lvm2 loads the thin-pool table on vgt-pool3)
# Cases: all (vgchange -ay), skip (-K: snap1 too), thin1 (only thin1's chain: tmeta, tdata,
# tpool, thin1); in `all` thin1 is written through our devices and read back by lvm2.
# needcheck: pool's metadata superblock marked needs_check (flag bit 0 set, checksum redone,
# as the kernel marks a pool after a metadata error). lvm2 runs thin_check
# --clear-needs-check-flag, which finds the metadata sound, clears the flag and activates.
# We run no check tool and refuse the pool and what is on it, saying:
#   skipped vgt/pool: thin pool vgt/pool: its metadata (vgt/pool_tmeta) is marked needs_check:
#     not activated (lvm2 runs thin_check --clear-needs-check-flag first; ...)
# and activate the rest.
DISKS="64M"

CASES="all skip thin1 needcheck"
CASE_all_DATA="vgt-thin1 vgt-thin2 vgt-extthin vgt-ext"
CASE_all_WRITE=write_thin1
CASE_all_AFTER=after_thin1
CASE_all_AFTER_DATA="vgt-thin1"
CASE_skip_ARGS="-K"
CASE_skip_ORACLE=oracle_skip
CASE_skip_DATA="vgt-thin1 vgt-snap1"
CASE_thin1_ARGS="vgt/thin1"
CASE_thin1_ORACLE=oracle_thin1
CASE_thin1_DATA="vgt-thin1"
CASE_needcheck_DAMAGE=damage_needs_check
CASE_needcheck_EXPECT=asserted
CASE_needcheck_SAYS='^skipped vgt/pool: thin pool vgt/pool: its metadata \(vgt/pool_tmeta\) is marked needs_check: not activated'
CASE_needcheck_SAYS_2='^skipped vgt/thin1: thin pool vgt/pool: its metadata \(vgt/pool_tmeta\) is marked needs_check'
CASE_needcheck_ACTIVE="vgt-ext vgt-ext-real vgt-extthin vgt-pool2 vgt-pool2-tpool vgt-pool2_tdata vgt-pool2_tmeta vgt-pool3 vgt-pool3_tdata vgt-pool3_tmeta vgt-thin2"
CASE_needcheck_DATA="vgt-thin2 vgt-extthin vgt-ext"

oracle_skip() { $LVM vgchange -ay -K; }
oracle_thin1() { $LVM lvchange -ay vgt/thin1; }
write_thin1() {
  fill /dev/vgt/thin1 lvthin-ours
  written_hash vgt-thin1 /dev/vgt/thin1
}
after_thin1() {
  $LVM lvchange -ay vgt/thin1 && after_hash vgt-thin1 /dev/vgt/thin1
}

# Sets THIN_METADATA_NEEDS_CHECK_FLAG in vgt/pool_tmeta's superblock (sector 22528 of vda, the
# oracle's vgt-pool_tmeta table) and redoes its checksum: crc32c(~0, bytes 4..4096) without
# the final inversion, xor 160774 (the kernel's dm_bm_checksum, SUPERBLOCK_CSUM_XOR).
damage_needs_check() {
  set -- $(dd if=/dev/vda bs=512 skip=22528 count=8 2>/dev/null | od -An -v -tu1 | awk '
    BEGIN { for (i = 0; i < 256; i++) { c = i; for (j = 0; j < 8; j++) c = and(c, 1) ? xor(rshift(c, 1), 2197175160) : rshift(c, 1); t[i] = c } }
    { for (k = 1; k <= NF; k++) b[n++] = $k }
    END {
      b[4] = or(b[4], 1); crc = 4294967295
      for (i = 4; i < 4096; i++) crc = xor(t[and(xor(crc, b[i]), 255)], rshift(crc, 8))
      cs = xor(crc, 160774)
      printf "%d %d %d %d %d\n", and(cs, 255), and(rshift(cs, 8), 255), and(rshift(cs, 16), 255), and(rshift(cs, 24), 255), b[4]
    }')
  printf "\\$(printf %o "$1")\\$(printf %o "$2")\\$(printf %o "$3")\\$(printf %o "$4")\\$(printf %o "$5")" |
    dd of=/dev/vda bs=1 seek=$((22528 * 512)) count=5 conv=notrunc 2>/dev/null
  echo "vgt/pool_tmeta superblock: flags byte $5, checksum bytes $1 $2 $3 $4"
}

# vgcfgrestore refuses a VG with thin pools without --force (the pools' kernel metadata is not
# rewritten; only lvm2's LV ids change), so lvm_fix_ids runs lvm through this.
lvm_force() {
  if [ "$1" = vgcfgrestore ]; then shift; /usr/sbin/lvm vgcfgrestore --force "$@"; else /usr/sbin/lvm "$@"; fi
}

create() {
  pv_create /dev/vda
  run $LVM vgcreate -q -s 1m vgt /dev/vda
  run $LVM lvcreate -q -y --type thin-pool -L 8m --poolmetadatasize 2m -c 64k -Zy --discards nopassdown -n pool vgt
  run $LVM lvcreate -q -y -V 6m --thinpool vgt/pool -n thin1
  run $LVM lvcreate -q -y --type thin-pool -L 8m --poolmetadatasize 2m -Zn --discards ignore -n pool2 vgt
  run $LVM lvchange -q --errorwhenfull y vgt/pool2
  run $LVM lvcreate -q -y -V 4m --thinpool vgt/pool2 -n thin2
  run $LVM lvcreate -q -y -L 4m -n ext vgt
  run $LVM lvcreate -q -y --type thin-pool -L 4m --poolmetadatasize 2m -n pool3 vgt
  fill /dev/vgt/thin1 lvthin-thin1
  fill /dev/vgt/thin2 lvthin-thin2
  fill /dev/vgt/ext lvthin-ext
  data_hash vgt-thin1 /dev/vgt/thin1
  data_hash vgt-snap1 /dev/vgt/thin1
  data_hash vgt-thin2 /dev/vgt/thin2
  data_hash vgt-ext /dev/vgt/ext
  run $LVM lvcreate -q -y -s vgt/thin1 -n snap1
  run $LVM lvchange -q -an vgt/ext
  run $LVM lvchange -q -pr vgt/ext
  run $LVM lvcreate -q -y -s --thinpool vgt/pool2 vgt/ext -n extthin
  run $LVM lvchange -q -ay vgt/extthin
  printf '%-511s\n' 'lvthin-extthin sector 0' | dd of=/dev/vgt/extthin bs=512 count=1 conv=notrunc,fsync 2>/dev/null
  data_hash vgt-extthin /dev/vgt/extthin
  run $LVM lvs -a -o+segtype,lv_layout,discards,zero,chunk_size,transaction_id,thin_id vgt
  run $LVM vgchange -an vgt
  LVM=lvm_force
  lvm_fix_ids vgt
  LVM=/usr/sbin/lvm
}
