# dm-cache (cache pool and cachevol), dm-writecache, and the error and zero segment types
# VG vgc on vda (extent size 1 MiB):
#   cached   cache pool cpool, writethrough, smq, metadata format 2 (lvm2 defaults)
#   cached2  cachevol cvol, writeback, smq with migration_threshold=2048
#   cached3  cache pool cpool3, passthrough
#   wcached  writecache on cachevol wcvol, high_watermark=80 writeback_jobs=1024
#   err, zer error and zero segments
# Cases: all; cached (only vgc/cached's chain).
DISKS="80M"
# The caches' own devices: their content follows the reads through the cached LVs.
HASH_VOLATILE="vgc-cpool_cpool_cdata vgc-cpool_cpool_cmeta vgc-cpool3_cpool_cdata vgc-cpool3_cpool_cmeta vgc-cvol_cvol vgc-cvol_cvol-cdata vgc-cvol_cvol-cmeta vgc-wcvol_cvol"

CASES="all cached"
CASE_all_DATA="vgc-cached vgc-cached2 vgc-cached3 vgc-wcached"
CASE_cached_ARGS="vgc/cached"
CASE_cached_ORACLE=oracle_cached
CASE_cached_DATA="vgc-cached"

oracle_cached() { $LVM lvchange -ay vgc/cached; }

# A cachevol's two parts get their own ids (metadata_id, data_id; their DM UUIDs use them):
# fixed here like lvm_fix_ids fixes the LV ids. The VG must be inactive.
fix_cachevol_ids() {
  run $LVM vgcfgbackup -q -f /tmp/vgc.cfg vgc || return 1
  sed -e "s/metadata_id = \".*\"/metadata_id = \"$(mkid cmeta:vgc)\"/" \
      -e "s/data_id = \".*\"/data_id = \"$(mkid cdata:vgc)\"/" /tmp/vgc.cfg > /tmp/vgc.new
  run $LVM vgcfgrestore -q -f /tmp/vgc.new vgc
}

create() {
  pv_create /dev/vda
  run $LVM vgcreate -q -s 1m vgc /dev/vda
  run $LVM lvcreate -q -y -L 8m -n cached vgc
  run $LVM lvcreate -q -y -L 8m -n cached2 vgc
  run $LVM lvcreate -q -y -L 8m -n cached3 vgc
  run $LVM lvcreate -q -y -L 8m -n wcached vgc
  run $LVM lvcreate -q -y --type error -L 2m -n err vgc
  run $LVM lvcreate -q -y --type zero -L 2m -n zer vgc
  fill /dev/vgc/cached lvcache-cached
  fill /dev/vgc/cached2 lvcache-cached2
  fill /dev/vgc/cached3 lvcache-cached3
  fill /dev/vgc/wcached lvcache-wcached
  for l in cached cached2 cached3 wcached; do data_hash vgc-$l /dev/vgc/$l; done
  run $LVM lvcreate -q -y --type cache-pool -L 4m -n cpool vgc
  run $LVM lvconvert -q -y --type cache --cachepool vgc/cpool --cachemode writethrough vgc/cached
  run $LVM lvcreate -q -y -L 4m -n cvol vgc
  run $LVM lvconvert -q -y --type cache --cachevol vgc/cvol --cachemode writeback --cachepolicy smq --cachesettings migration_threshold=2048 vgc/cached2
  run $LVM lvcreate -q -y --type cache-pool -L 4m -n cpool3 vgc
  run $LVM lvconvert -q -y --type cache --cachepool vgc/cpool3 --cachemode passthrough vgc/cached3
  run $LVM lvcreate -q -y -L 4m -n wcvol vgc
  run $LVM lvchange -q -an vgc/wcvol
  run $LVM lvconvert -q -y --type writecache --cachevol vgc/wcvol --cachesettings 'high_watermark=80 writeback_jobs=1024' vgc/wcached
  run $LVM lvs -a -o+segtype,cache_mode,cache_policy,cache_settings,chunk_size vgc
  run $LVM vgchange -an vgc
  lvm_fix_ids vgc
  fix_cachevol_ids
}
