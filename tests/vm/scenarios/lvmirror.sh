# Legacy LVM mirrors (dm-mirror): disk log, core log, mirrored log, 3 legs, --nosync, read-only
# VG vgm over four whole-disk PVs (extent size 1 MiB), each LV made by lvcreate --type mirror:
#   mdisk   2 legs (vda, vdb), disk log on vdc           -> vgm-mdisk_mimage_0/1, vgm-mdisk_mlog
#   mcore   2 legs, log in memory (--mirrorlog core): resynchronised at every activation
#   mmir    2 legs, the log itself mirrored (--mirrorlog mirrored): vgm-mmir_mlog is a mirror
#           with a core log over vgm-mmir_mlog_mimage_0/1
#   m3      3 legs, disk log
#   mns     2 legs, created --nosync (NOTSYNCED: lvm2 does not pass nosync on activation)
#   mro     2 legs, then lvchange -pr: read-only
# Case "all": vgchange -ay (lvm2 gives handle_errors unless --monitor n); case "mmir": only
# vgm/mmir, with its mirrored log.

DISKS="24M 24M 24M 24M"
SYNC_LVS=1

CASES="all mmir"
CASE_all_DATA="vgm-mdisk vgm-mcore vgm-mmir vgm-m3 vgm-mns vgm-mro"
CASE_mmir_ARGS="vgm/mmir"
CASE_mmir_ORACLE=oracle_mmir
CASE_mmir_DATA="vgm-mmir"
oracle_mmir() { $LVM lvchange -ay vgm/mmir; }

LVS_MIRROR="mdisk mcore mmir m3 mns mro"

create() {
  # Metadata on vda only: the committed fixtures (tests/fixtures/lvm-raid) stay small.
  pv_create /dev/vda
  for d in vdb vdc vdd; do pv_create /dev/$d --pvmetadatacopies 0; done
  run $LVM vgcreate -q -s 1M vgm /dev/vda /dev/vdb /dev/vdc /dev/vdd
  run $LVM lvcreate -q -y --type mirror -m 1 --mirrorlog disk -l 4 -n mdisk vgm /dev/vda /dev/vdb /dev/vdc
  run $LVM lvcreate -q -y --type mirror -m 1 --mirrorlog core -l 4 -n mcore vgm /dev/vda /dev/vdb
  # lvm2 2.03 makes new mirrored logs only when allowed (DEPRECATED); older systems have them
  # and it still activates them.
  run $LVM lvcreate -q -y --config 'global { support_mirrored_mirror_log = 1 }' --type mirror -m 1 \
    --mirrorlog mirrored -l 4 -n mmir vgm /dev/vda /dev/vdb /dev/vdc /dev/vdd
  run $LVM lvcreate -q -y --type mirror -m 2 --mirrorlog disk -l 2 -n m3 vgm /dev/vda /dev/vdb /dev/vdc /dev/vdd
  run $LVM lvcreate -q -y --type mirror -m 1 --nosync -l 2 -n mns vgm /dev/vda /dev/vdb /dev/vdc
  run $LVM lvcreate -q -y --type mirror -m 1 -l 2 -n mro vgm /dev/vda /dev/vdb /dev/vdc
  for lv in $LVS_MIRROR; do wait_sync vgm/$lv; done
  run $LVM vgchange -an vgm
  lvm_fix_ids vgm
  run $LVM vgchange -ay vgm
  for lv in $LVS_MIRROR; do wait_sync vgm/$lv; done
  for lv in $LVS_MIRROR; do fill /dev/vgm/$lv "lvmirror-$lv"; done
  for lv in $LVS_MIRROR; do wait_sync vgm/$lv; done
  for lv in $LVS_MIRROR; do data_hash vgm-$lv /dev/vgm/$lv; done
  run $LVM vgchange -an vgm
  run $LVM lvchange -q -pr vgm/mro
  run $LVM lvs -a -o+segtype,devices,sync_percent vgm
}
