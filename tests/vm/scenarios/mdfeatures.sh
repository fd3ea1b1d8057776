# MD features: internal bitmap + spare, write journal, replacement in progress, bad block log
# Four GPT disks, mdadm 4.2, metadata 1.2:
#   bmp  RAID1 vda1 vdb1 with an internal write-intent bitmap and vdc1 as a spare
#   jrn  RAID5 vda2 vdb2 vdc2 with a write journal on vdd1 (consistency policy journal)
#   rpl  RAID1 vda3 vdb3 whose slot 0 was being replaced by vdd2 (mdadm --replace) when the
#        array stopped: vdd2 carries the REPLACEMENT feature and a recovery offset
#   bbl  RAID1 vdb4 vdc4; the kernel recorded a bad block range on vdc4 (sysfs bad_blocks),
#        so vdc4's superblock has a non-empty bad block log (feature BAD_BLOCKS)
# mdadm hands the kernel nothing but the members (SET_ARRAY_INFO with the version,
# ADD_NEW_DISK each, RUN_ARRAY): the kernel reads bitmap, journal, replacement and bad block
# list from the superblocks and resumes the replacement's rebuild. The records are taken once
# every resync/recovery ended (SETTLE), so they do not depend on timing.
# Case "nojournal": the journal's superblock is wiped (a lost journal device); mdadm refuses
# jrn ("Not safe to assemble with missing or stale journal device, consider --force.") and so
# do we, saying why; the other arrays start as usual:
#   skipped md/jrn: not startable: its write journal device is missing or stale: mdadm
#     refuses to start it (...); evms-activate does not force: ...
# Asserted rather than compared: mdadm --assemble --scan tries jrn twice and leaves a
# /run/mdadm/map line, /dev/md124 and a /dev/md/jrn link of the attempts behind, for an
# array that does not run; we leave nothing for it.

DISKS="20M 20M 20M 20M"
SFDISK_EACH='label: gpt
label-id: FEA70000-0000-4000-8000-00000000000%d
start=2048, size=4M, type=A19D880F-05FC-4D3B-A006-743F0F84911E
size=4M, type=A19D880F-05FC-4D3B-A006-743F0F84911E
size=4M, type=A19D880F-05FC-4D3B-A006-743F0F84911E
size=4M, type=A19D880F-05FC-4D3B-A006-743F0F84911E'
SETTLE=md_settle

CASES="features nojournal"
CASE_features_SAYS='write-intent bitmap internal'
CASE_features_DATA="md124=bmp md125=bbl md126=jrn md127=rpl"
CASE_nojournal_DAMAGE=lose_journal
CASE_nojournal_EXPECT=asserted
CASE_nojournal_ACTIVE="md125 md126 md127"
CASE_nojournal_DATA="md125=bmp md126=bbl md127=rpl"
CASE_nojournal_SAYS='^skipped md/jrn: not startable: its write journal device is missing or stale'
CASE_nojournal_ORACLE_SAYS='Not safe to assemble with missing or stale journal device'

md_settle() {
  local m
  for m in /sys/block/md*; do
    [ -e "$m/md/sync_action" ] && $MDADM --wait "/dev/${m##*/}" 2>/dev/null
  done
  return 0
}

# The journal device's superblock (1.2: at 4 KiB) zeroed.
lose_journal() {
  dd if=/dev/zero of=/dev/vdd1 bs=4096 seek=1 count=1 conv=fsync 2>/dev/null
}

create() {
  local m i
  md_create bmp --level=1 --raid-devices=2 --metadata=1.2 --bitmap=internal \
    --spare-devices=1 /dev/vda1 /dev/vdb1 /dev/vdc1
  fill /dev/md/bmp mdfeatures-bmp
  data_hash bmp /dev/md/bmp
  md_create jrn --level=5 --raid-devices=3 --metadata=1.2 --chunk=64 \
    --write-journal /dev/vdd1 /dev/vda2 /dev/vdb2 /dev/vdc2
  fill /dev/md/jrn mdfeatures-jrn
  data_hash jrn /dev/md/jrn
  md_create bbl --level=1 --raid-devices=2 --metadata=1.2 /dev/vdb4 /dev/vdc4
  fill /dev/md/bbl mdfeatures-bbl
  data_hash bbl /dev/md/bbl
  m=$(kname /dev/md/bbl)
  echo "3072 8" > "/sys/block/$m/md/dev-vdc4/bad_blocks"
  # A write elsewhere (a write over the range would clear it) makes the array dirty, so
  # stopping it writes the superblocks and the log.
  dd if=/dev/md/bbl of=/dev/md/bbl bs=4096 count=1 conv=notrunc,fsync 2>/dev/null
  cat "/sys/block/$m/md/dev-vdc4/bad_blocks" "/sys/block/$m/md/dev-vdc4/offset"
  grep -q '^3072 8' "/sys/block/$m/md/dev-vdc4/bad_blocks"
  md_create rpl --level=1 --raid-devices=2 --metadata=1.2 /dev/vda3 /dev/vdb3
  fill /dev/md/rpl mdfeatures-rpl
  data_hash rpl /dev/md/rpl
  # Last: md resyncs arrays sharing a disk one at a time, so a paused recovery would hold
  # back every later array's initial resync. The replacement stops part-way: recovery is
  # held (frozen) while vdd2 is made the replacement, then let go up to sector 1024
  # (md/sync_max), where it waits.
  m=$(kname /dev/md/rpl)
  echo frozen > "/sys/block/$m/md/sync_action"
  run $MDADM /dev/md/rpl --add /dev/vdd2
  run $MDADM /dev/md/rpl --replace /dev/vda3 --with /dev/vdd2
  echo 1024 > "/sys/block/$m/md/sync_max"
  echo idle > "/sys/block/$m/md/sync_action"
  i=0
  while [ "$(cut -d' ' -f1 "/sys/block/$m/md/sync_completed")" != 1024 ] && [ $i -lt 100 ]; do
    sleep 0.2; i=$((i + 1))
  done
  cat "/sys/block/$m/md/dev-vdd2/state" "/sys/block/$m/md/sync_completed"
  grep -q replacement "/sys/block/$m/md/dev-vdd2/state"
  run $MDADM --stop /dev/md/bbl
  run $MDADM --stop /dev/md/rpl
  $MDADM --examine /dev/vdd2 | grep -E 'Recovery Offset|Device Role|Feature Map'
  $MDADM --examine /dev/vdd2 | grep -q 'Replacement device'
  $MDADM --examine-badblocks /dev/vdc4
  $MDADM --examine-badblocks /dev/vdc4 | grep -q 3072
  $MDADM --examine /dev/vdd1 | grep 'Device Role'
}
