# An interrupted pvmove: the VG with its pvmove0 mirror and LOCKED LVs activates as lvm2 does
# VG vgp over three whole-disk PVs (extent size 1 MiB): on vda, LV a (4 extents), LV b (16
# extents, the bulk of the copy), LV c (2 extents); LV keep on vdb. `pvmove -i 1 /dev/vda
# /dev/vdc` moves a, b and c to vdc; once lvm2 has recorded the first segment as copied
# (extents_moved = its length) it is killed (SIGKILL, as a crash or power loss would), so the
# metadata holds pvmove0 with one segment done, one running and one not started, and a, b, c
# LOCKED with their extents in pvmove0. lvm2 maps them (dev_manager / mirrored.c):
#   vgp-pvmove0: linear on vdc (done) | mirror core 1 <region> 2 vda vdc (running) | linear
#                on vda (not started); vgp-a/b/c: linear into vgp-pvmove0
# The oracle is `vgchange -ay --sysinit` (what dracut runs: no background polling, so the
# move is not resumed; evms-activate never writes). Afterwards lvm2's `pvmove` finishes the
# move and every LV still holds its data.

DISKS="40M 40M 40M"
SYNC_LVS=1

CASES="all"
CASE_all_ORACLE=oracle_sysinit
CASE_all_DATA="vgp-a vgp-b vgp-c vgp-keep"
CASE_all_AFTER=after_finish
CASE_all_AFTER_DATA="vgp-a vgp-b vgp-c"
oracle_sysinit() { $LVM vgchange -ay --sysinit; }
after_finish() {
  $LVM pvmove -i 0 || return 1
  $LVM vgchange -ay vgp || return 1
  for lv in a b c; do after_hash vgp-$lv /dev/vgp/$lv; done
  $LVM lvs -a -o+devices vgp
  $LVM vgchange -an vgp
}

# The segment lengths and extents_moved of pvmove0 in the committed metadata.
moved_state() {
  $LVM vgcfgbackup -q -f /tmp/vgp.state vgp >/dev/null 2>&1 || return 1
  awk '/^[ \t]*pvmove0 \{/ { f = 1 } f && /extent_count =/ { n = $3 } f && /extents_moved =/ { print n, $3 }' /tmp/vgp.state
}

create() {
  # Metadata on vda only: the committed fixtures (tests/fixtures/lvm-raid) stay small.
  pv_create /dev/vda
  for d in vdb vdc; do pv_create /dev/$d --pvmetadatacopies 0; done
  run $LVM vgcreate -q -s 1M vgp /dev/vda /dev/vdb /dev/vdc
  run $LVM lvcreate -q -y -l 4 -n a vgp /dev/vda
  run $LVM lvcreate -q -y -l 16 -n b vgp /dev/vda
  run $LVM lvcreate -q -y -l 2 -n c vgp /dev/vda
  run $LVM lvcreate -q -y -l 4 -n keep vgp /dev/vdb
  run $LVM vgchange -an vgp
  lvm_fix_ids vgp
  run $LVM vgchange -ay vgp
  for lv in a b c keep; do fill /dev/vgp/$lv "pvmove-$lv"; done
  for lv in a b c keep; do data_hash vgp-$lv /dev/vgp/$lv; done
  sync
  echo "+ pvmove -i 1 /dev/vda /dev/vdc (killed once a segment is recorded as done)"
  $LVM pvmove -i 1 /dev/vda /dev/vdc &
  pid=$!
  i=0 done=0
  while [ $i -lt 600 ]; do
    st=$(moved_state)
    if echo "$st" | awk '$1 == $2 && $1 > 0 { d = 1 } END { exit !d }'; then
      kill -9 $pid
      done=1
      break
    fi
    sleep 0.1
    i=$((i + 1))
  done
  wait $pid 2>/dev/null || true   # 137: killed, as intended
  [ $done = 1 ] || { echo "pvmove: no segment was recorded as done"; return 1; }
  st=$(moved_state)
  echo "pvmove0 segments (extent_count extents_moved): $(echo $st)"
  # The state this scenario is about: one segment done, a later one not.
  echo "$st" | awk '$1 == $2 { d = 1 } $1 != $2 { r = 1 } END { exit !(d && r) }' ||
    { echo "pvmove finished before it was interrupted"; return 1; }
  run $LVM lvs -a -o+devices,seg_pe_ranges vgp
  $DMSETUP table
  for lv in a b c keep; do data_hash vgp-$lv /dev/vgp/$lv; done
  run $LVM vgchange -an vgp
  for d in $($DMSETUP ls | awk '/^vgp-pvmove/ { print $1 }'); do run $DMSETUP remove "$d"; done
  # pvmove made pvmove0 with a random id: fixed like the others, so the records repeat.
  lvm_fix_ids vgp
  st=$(moved_state)
  echo "pvmove0 segments after fixing the ids: $(echo $st)"
}
