# A RAID5 reshape (3 → 4 disks, new data offset) interrupted half-way, resumed when started
# mdadm 4.2 grows a 1.2 array with room before its data by moving the data offset (no backup
# file: RESHAPE_NO_BACKUP); the create boot holds the reshape part-way (frozen) and stops the
# array, as a shutdown would. At assembly mdadm hands the kernel only the members
# (RUN_ARRAY; Assemble.c start_array) plus stripe_cache_size when the chunk needs it, and the
# kernel resumes the reshape. The VG on the array is found once the array runs (its data lies
# in two geometries until then). Records are taken once the reshape ended (SETTLE): the array
# has 4 members and the LV holds its data as written before the reshape.

DISKS="24M 24M 24M 24M"
SETTLE=md_settle
CASES="resume"
CASE_resume_DATA="vgr-data"
CASE_resume_SAYS='reshape resumes at sector'

md_settle() {
  local m
  for m in /sys/block/md*; do
    [ -e "$m/md/sync_action" ] && $MDADM --wait "/dev/${m##*/}" 2>/dev/null
  done
  return 0
}

create() {
  local m
  md_create grow --level=5 --raid-devices=3 --metadata=1.2 --chunk=64 /dev/vda /dev/vdb /dev/vdc
  pv_create /dev/md/grow
  run $LVM vgcreate -q vgr /dev/md/grow
  run $LVM lvcreate -q -n data -l 100%FREE vgr
  run $LVM vgchange -an vgr
  lvm_fix_ids vgr
  run $LVM vgchange -ay vgr
  fill /dev/vgr/data mdreshape-data
  data_hash vgr-data /dev/vgr/data
  run $LVM vgchange -an vgr
  m=$(kname /dev/md/grow)
  # The reshape crawls (1 KiB/s for this array: a burst, then a pause until the average
  # falls below the limit), so after 45 s it has moved a little and recorded where it is
  # (the kernel writes reshape_position at a checkpoint every 10 s); then it is held
  # (frozen), as when a system goes down mid-way.
  echo 1 > "/sys/block/$m/md/sync_speed_min"
  echo 1 > "/sys/block/$m/md/sync_speed_max"
  run $MDADM /dev/md/grow --add /dev/vdd
  run $MDADM --grow /dev/md/grow --raid-devices=4
  sleep 45
  echo frozen > "/sys/block/$m/md/sync_action"
  cat "/sys/block/$m/md/sync_action" "/sys/block/$m/md/reshape_position" "/sys/block/$m/md/raid_disks"
  [ "$(cat /sys/block/$m/md/reshape_position)" != none ]
  [ "$(cat /sys/block/$m/md/reshape_position)" != 0 ]
  run $MDADM --stop /dev/md/grow
  $MDADM --examine /dev/vdd | grep -E 'Reshape|Delta|New Offset|Feature Map|Device Role'
  $MDADM --examine /dev/vda | grep -q 'New Offset'
  $MDADM --examine /dev/vda | grep -q "Reshape pos'n"
}
