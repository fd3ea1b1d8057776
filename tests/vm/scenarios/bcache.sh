# bcache: writeback (dirty) and writethrough backing devices on one cache set, registered via sysfs
# make-bcache (bcache-tools 1.0.8) makes one cache set (vdc, 64 KiB buckets: the kernel wants
# more than 512) and two backing devices attached
# to it by set UUID: vda in writeback mode, vdb in writethrough mode. The kernel registers
# them, both bcache devices are filled with data (vda's in writethrough mode, so it is on the
# backing device), then a region of vda's is written again in writeback mode with background
# writeback stopped: at rest vda's superblock says dirty (the newest data is in the cache
# only), vdb's clean. The oracle is udev's way (69-bcache.rules): every device blkid names
# bcache is handed to bcache-tools' own bcache-register, which writes it to
# /sys/fs/bcache/register. Records: /sys/block/bcache*/bcache/{state,cache_mode,
# backing_dev_name,...}, the devices the kernel holds, the cache sets, sha256 of each bcacheN.
#
#   all         ours must register the same devices and show the same content (bcache0's
#               hash is the newest data, read through the cache)
#   nocache     the cache device's superblock wiped (its disk missing): the kernel waits for
#               both (attached); ours refuses vda (dirty: its newest data is in the cache)
#               and, without --degraded, vdb, saying why; nothing is registered
#   nocachedeg  the same with --degraded: vdb (clean, writethrough) runs without its cache,
#               as `echo 1 > /sys/block/vdb/bcache/running` does; vda stays refused. The
#               tools would register vda too (it waits): ours is checked against the case
#               (only vdb's bcache device, holding its data as created)

DISKS="24M 24M 64M"
CASES="all nocache nocachedeg"
CASE_all_ORACLE=oracle_bcache
CASE_all_DATA="bcache0=wb bcache1=wt"
CASE_nocache_ORACLE=oracle_bcache
CASE_nocache_DAMAGE=wipe_cache
CASE_nocache_EXPECT=not-started
CASE_nocache_SAYS='^skipped bcache1: not startable: its cache set 4e5f6071-8293-4a4b-85c6-d7e8f90a1b2c is missing, and the cache holds data not yet written back to vda \(state dirty\)'
CASE_nocache_SAYS_2='^skipped bcache0: its cache set 4e5f6071-8293-4a4b-85c6-d7e8f90a1b2c is missing; vdb is clean \(writethrough\), so it can run without the cache: start it with --degraded'
CASE_nocachedeg_ARGS="--degraded"
CASE_nocachedeg_ORACLE=oracle_nocache_run
CASE_nocachedeg_DAMAGE=wipe_cache
CASE_nocachedeg_EXPECT=asserted
CASE_nocachedeg_ACTIVE="bcache0"
CASE_nocachedeg_DATA="bcache0=wt"
CASE_nocachedeg_SAYS='^skipped bcache1: not startable: .*state dirty'
CASE_nocachedeg_SAYS_2='vdb runs without its cache set 4e5f6071-8293-4a4b-85c6-d7e8f90a1b2c'

CSET=4e5f6071-8293-4a4b-85c6-d7e8f90a1b2c

# The cache disk gone: its superblock zeroed (blkid no longer names it bcache).
wipe_cache() { dd if=/dev/zero of=/dev/vdc bs=4096 seek=1 count=1 conv=fsync 2>/dev/null; }

# udev's registration, then the writethrough device run without its cache by hand.
oracle_nocache_run() {
  oracle_bcache
  echo 1 > /sys/block/vdb/bcache/running
}

# The bcache device of backing device $1 (bounded wait: registration may be asynchronous).
bcache_of() {
  local i=0
  while [ ! -e "/sys/block/$1/bcache/dev" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  basename "$(readlink "/sys/block/$1/bcache/dev")"
}

create() {
  run $MAKE_BCACHE -B --writeback --cset-uuid $CSET /dev/vda
  run $MAKE_BCACHE -B --cset-uuid $CSET /dev/vdb
  run $MAKE_BCACHE -C -b 64k --cset-uuid $CSET /dev/vdc
  for d in vdc vda vdb; do run $BCACHE_REGISTER /dev/$d; done
  wb=$(bcache_of vda)
  wt=$(bcache_of vdb)
  [ -b "/dev/$wb" ] && [ -b "/dev/$wt" ]
  # All data on the backing devices first (writethrough), then a newer first MiB of vda's
  # that stays in the cache (writeback, background writeback off).
  echo writethrough > "/sys/block/$wb/bcache/cache_mode"
  fill "/dev/$wb" bcache-wb
  fill "/dev/$wt" bcache-wt
  echo writeback > "/sys/block/$wb/bcache/cache_mode"
  echo 0 > "/sys/block/$wb/bcache/writeback_running"
  # The page cache's flusher, which wrote the big sequential fill, would bypass the cache,
  # and so would any write while the set counts itself congested (TCG's latencies).
  echo 0 > "/sys/block/$wb/bcache/sequential_cutoff"
  echo 0 > "/sys/fs/bcache/$CSET/congested_write_threshold_us"
  echo 0 > "/sys/fs/bcache/$CSET/congested_read_threshold_us"
  awk 'BEGIN { for (i = 0; i < 2048; i++) printf "%-511s\n", "bcache-wb dirty sector " i }' |
    dd of="/dev/$wb" bs=65536 conv=fsync 2>/dev/null
  sync
  cat "/sys/block/$wb/bcache/state" "/sys/block/$wt/bcache/state"
  [ "$(cat "/sys/block/$wb/bcache/state")" = dirty ]
  [ "$(cat "/sys/block/$wt/bcache/state")" = clean ]
  data_hash wb "/dev/$wb"
  data_hash wt "/dev/$wt"
}
