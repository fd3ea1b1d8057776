# Partitions inside an MD array: RAID1 (1.2) over two whole disks, GPT inside (md127p1, p2)
# The kernel scans the array's partition table itself when the array starts; the partitions
# are named mdNpM. /dev/md/parts1 etc. are mdadm's links (made only when udev is absent).

DISKS="32M 32M"

create() {
  md_create parts --level=1 --raid-devices=2 --metadata=1.2 /dev/vda /dev/vdb
  printf '%s\n' 'label: gpt' 'label-id: 9A270000-0000-4000-8000-000000000000' \
    'start=2048, size=12M, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=9A270001-0000-4000-8000-000000000000' \
    'type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=9A270002-0000-4000-8000-000000000000' |
    run $SFDISK -q /dev/md/parts
  m=$(kname /dev/md/parts)
  i=0; while [ ! -b "/dev/${m}p2" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  fill "/dev/${m}p1" mdparts-p1
  fill "/dev/${m}p2" mdparts-p2
}
