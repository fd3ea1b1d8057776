# RAID1 member with older events (written while it was absent): never added back
# RAID1 (1.2) over two whole disks, data written, stopped; then started from vda alone
# (--run), written again, stopped. vdb now carries an older event count and the old data.
# mdadm --assemble --scan starts the array from vda alone and leaves vdb out; ours must do
# the same (the data hashes show which member was used).

DISKS="24M 24M"
CASE_all_DATA="md127=mirror-gen2"

create() {
  md_create mirror --level=1 --raid-devices=2 --metadata=1.2 /dev/vda /dev/vdb
  fill /dev/md/mirror stale-gen1
  run $MDADM --stop /dev/md/mirror
  run $MDADM --assemble /dev/md/mirror --run /dev/vda
  fill /dev/md/mirror stale-gen2
  data_hash mirror-gen2 /dev/md/mirror
  run $MDADM --stop /dev/md/mirror
  run $MDADM --examine /dev/vda /dev/vdb
}
