# LVM RAID with a PV missing: lvm2's default activation_mode "degraded" vs --partial
# VG vgd over four whole-disk PVs (extent size 1 MiB); vdc's PV label is wiped before every
# activation (CASE_x_DAMAGE), so lvm2 and ours see PV pv:vdc missing:
#   r1     raid1 on vda + vdc           one image gone: degraded, still redundant
#   r5     raid5 on vda + vdb + vdc     one image gone: degraded (parity)
#   r10    raid10 on vda..vdd           image 2 gone: its mirror group (2,3) keeps a copy
#   r0     raid0 on vda + vdc           lvm2 counts "not all images failed" as redundant
#                                       for raid0 (no parity check): see the oracle
#   r1ok   raid1 on vda + vdb           untouched
#   lin    linear on vdc                needs --partial
# The missing images and metadata LVs are mapped as lvm2 maps them (their areas on the
# missing PV become `error` devices VG-LV_rimage_N-missing_0_0, ...).
# Cases: "deg": plain activate vs vgchange -ay (what the user sees for lin:
#   skipped vgd/lin: uses missing PV(s) pv2; activate with --partial);
#   afterwards vdc's label comes back and lvm2 reassembles r1, r5 and r10 with the returning
#   images: their data is what was created (nothing ours did in degraded mode lost data).
# "partial": activate --partial vs vgchange -ay --activationmode partial.

DISKS="24M 24M 24M 24M"
SYNC_LVS=1
# Degraded arrays and error devices are slow to read under TCG.
TEST_TIMEOUT=2400

CASES="deg partial"
CASE_deg_DAMAGE=damage_vdc
CASE_deg_ORACLE_RC=any
CASE_deg_ORACLE_SAYS='Refusing activation of partial LV vgd/lin'
CASE_deg_SAYS='^skipped vgd/lin: uses missing PV\(s\) pv2; activate with --partial'
CASE_deg_DATA="vgd-r1 vgd-r5 vgd-r10 vgd-r1ok"
CASE_deg_AFTER=after_deg
CASE_deg_AFTER_DATA="vgd-r1 vgd-r5 vgd-r10"
CASE_partial_DAMAGE=damage_vdc
CASE_partial_ARGS="--partial"
CASE_partial_ORACLE=oracle_partial
CASE_partial_ORACLE_RC=any
CASE_partial_DATA="vgd-r1 vgd-r5 vgd-r10 vgd-r1ok"

damage_vdc() { dd if=/dev/zero of=/dev/vdc bs=512 count=8 conv=fsync 2>/dev/null; }
oracle_partial() { $LVM vgchange -ay --activationmode partial vgd; }
# vdc's label back (the pristine copy's first 8 sectors): lvm2 sees all four PVs again.
after_deg() {
  dd if=/tmp/pristine/vdc of=/dev/vdc bs=512 count=8 conv=fsync,notrunc 2>/dev/null
  blockdev --flushbufs /dev/vdc
  $LVM vgchange -ay vgd || return 1
  for lv in r1 r5 r10; do after_hash vgd-$lv /dev/vgd/$lv; done
  $LVM lvs -a -o+devices,sync_percent,lv_health_status vgd
  $LVM vgchange -an vgd
}

create() {
  # Metadata on vda only: the committed fixtures (tests/fixtures/lvm-raid) stay small.
  pv_create /dev/vda
  for d in vdb vdc vdd; do pv_create /dev/$d --pvmetadatacopies 0; done
  run $LVM vgcreate -q -s 1M vgd /dev/vda /dev/vdb /dev/vdc /dev/vdd
  run $LVM lvcreate -q -y --type raid1 -m 1 -l 4 -n r1 vgd /dev/vda /dev/vdc
  run $LVM lvcreate -q -y --type raid5 -i 2 -l 4 -n r5 vgd /dev/vda /dev/vdb /dev/vdc
  run $LVM lvcreate -q -y --type raid10 -i 2 -m 1 -l 4 -n r10 vgd /dev/vda /dev/vdb /dev/vdc /dev/vdd
  run $LVM lvcreate -q -y --type raid0 -i 2 -l 4 -n r0 vgd /dev/vda /dev/vdc
  run $LVM lvcreate -q -y --type raid1 -m 1 -l 4 -n r1ok vgd /dev/vda /dev/vdb
  run $LVM lvcreate -q -y -l 2 -n lin vgd /dev/vdc
  for lv in r1 r5 r10 r0 r1ok; do wait_sync vgd/$lv; done
  run $LVM vgchange -an vgd
  lvm_fix_ids vgd
  run $LVM vgchange -ay vgd
  for lv in r1 r5 r10 r0 r1ok lin; do fill /dev/vgd/$lv "lvraiddeg-$lv"; done
  for lv in r1 r5 r10 r0 r1ok; do wait_sync vgd/$lv; done
  for lv in r1 r5 r10 r0 r1ok lin; do data_hash vgd-$lv /dev/vgd/$lv; done
  run $LVM lvs -a -o+segtype,devices vgd
}
