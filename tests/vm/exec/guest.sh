#!/bin/sh
# Guest side of tests/vm/exec/run.sh (runs as /scenario.sh under busybox sh).
#
# 1. The real tools build the scenario: md RAID1 r1 (1.2) on vda+vdb, VG vg0 on md127 + vdc +
#    vdd with LVs lin (linear on md127, ext4), str (striped on vdc/vdd), multi (two segments),
#    ro (read-only, on md127). vde stays blank.
# 2. Oracle: the tools assemble and activate it the way a boot does (mdadm --assemble,
#    vgchange -ay); we record dmsetup table/info (maj:min mapped to names), mdadm --detail,
#    the node modes, the data checksums and /run/mdadm/map; then everything goes down.
# 3. /vm_exec (tests/vm_exec.rs, static) runs one phase at a time; between phases this
#    script compares the kernel and /dev, /run state with the oracle.
export PATH=/sbin:/usr/sbin:/bin:/usr/bin
# mdadm takes the existence of /run/udev (which our udev records create) for a running udev
# and would wait for links nobody makes.
export MDADM_NO_UDEV=1
O=/tmp/oracle
mkdir -p $O /mnt /out/phases
P=0
F=0
pass() { P=$((P + 1)); echo "PASS: $*"; }
fail() { F=$((F + 1)); echo "FAIL: $*"; }
check() { _what=$1; shift; if "$@"; then pass "$_what"; else fail "$_what"; fi; }
same() {
  if cmp -s "$2" "$3"; then pass "$1"; else
    fail "$1"; echo "--- expected ($2)"; cat "$2"; echo "--- got ($3)"; cat "$3"
  fi
}
phase() {
  echo "=== phase $1"
  /vm_exec "$1" --exact --nocapture --test-threads=1 >/out/phases/$1.log 2>&1
  rc=$?
  cat /out/phases/$1.log
  if [ $rc -eq 0 ] && grep -q ' 1 passed' /out/phases/$1.log; then pass "phase $1"; else fail "phase $1 (rc $rc)"; fi
}
# Name of a block device by maj:min: the DM name for DM devices, else the kernel name.
devname() {
  if [ -f "/sys/dev/block/$1/dm/name" ]; then cat "/sys/dev/block/$1/dm/name"
  else basename "$(readlink "/sys/dev/block/$1")"; fi
}
# dmsetup table with every maj:min replaced by the device's name (DM minors differ per run).
dm_table() {
  /sbin/dmsetup table | sort | while read -r line; do
    out=""
    for w in $line; do
      [ -e "/sys/dev/block/$w/dev" ] && w=$(devname "$w")
      out="$out $w"
    done
    echo "$out"
  done
}
dm_info() { /sbin/dmsetup info -c --noheadings -o name,uuid,attr | sort; }
md_health() { /sbin/mdadm --detail /dev/md127 | grep -E 'Raid Level|State :|Active Devices|Working Devices|Failed Devices|Spare Devices|UUID|Name :'; }
lv_sums() { for lv in lin str multi ro; do sha256sum /dev/mapper/vg0-$lv; done; }
nodes() { for lv in lin str multi ro; do stat -c '%n %F %a %u %g' /dev/mapper/vg0-$lv; done; }
# Everything exec may touch, for "changed nothing" comparisons.
state() {
  dm_table
  dm_info
  find /dev /run/udev /run/mdadm 2>/dev/null | sort | while read -r f; do
    printf '%s %s' "$f" "$(stat -c '%F %a %u %g %t:%T' "$f")"
    [ -L "$f" ] && printf ' -> %s' "$(readlink "$f")"
    echo
  done
  cat /run/mdadm/map 2>/dev/null
  for f in /run/udev/data/*; do [ -f "$f" ] && { echo "== $f"; cat "$f"; }; done
}
# Waits (bounded) until a path is gone: the kernel drops a stopped md device asynchronously.
gone() { i=0; while [ -e "$1" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done; [ ! -e "$1" ]; }
# All visible LVs active according to lvm (5th lv_attr character 'a').
lvs_active() {
  n=$(/sbin/lvm lvs --noheadings -o lv_attr vg0 2>/dev/null | awk 'substr($1,5,1)=="a"' | wc -l)
  [ "$n" -eq 4 ]
}

echo "=== scenario: real tools"
set -x
/sbin/mdadm --create /dev/md/r1 --run --metadata=1.2 --level=1 --raid-devices=2 \
  --assume-clean --homehost=evms --name=r1 /dev/vda /dev/vdb
/sbin/lvm pvcreate -q /dev/md127 /dev/vdc /dev/vdd
/sbin/lvm vgcreate -q vg0 /dev/md127 /dev/vdc /dev/vdd
/sbin/lvm lvcreate -q -n lin -L 8M vg0 /dev/md127
/sbin/lvm lvcreate -q -n str -i 2 -I 64k -L 16M vg0 /dev/vdc /dev/vdd
/sbin/lvm lvcreate -q -n multi -L 4M vg0 /dev/vdc
/sbin/lvm lvextend -q -L +4M vg0/multi /dev/vdd
/sbin/lvm lvcreate -q -n ro -L 4M -Zn vg0 /dev/md127
dd if=/dev/urandom of=/dev/vg0/ro bs=64k count=64 2>/dev/null
/sbin/lvm lvchange -q -pr vg0/ro
/sbin/mke2fs -q -t ext4 /dev/vg0/lin
dd if=/dev/urandom of=/dev/vg0/str bs=64k count=256 2>/dev/null
dd if=/dev/urandom of=/dev/vg0/multi bs=64k count=128 2>/dev/null
{
  echo "MD_UUID=$(/sbin/mdadm --detail --export /dev/md127 | sed -n 's/^MD_UUID=//p')"
  echo "VGID=$(/sbin/lvm vgs --noheadings -o vg_uuid vg0 | tr -d ' -')"
  /sbin/lvm lvs --noheadings -o lv_name,lv_uuid vg0 | while read -r n u; do
    echo "LV_$n=$(echo "$u" | tr -d -)"
  done
} >$O/ids.env
/sbin/lvm lvs -o lv_name,seg_start_pe,seg_pe_ranges,lv_attr vg0
/sbin/lvm pvs -o pv_name,pe_start
/sbin/lvm vgchange -an vg0
/sbin/mdadm --stop /dev/md127
# Without udev mdadm leaves /dev/md/r1, and find_free_devnm skips a number that a
# non-standard /dev name still points to.
rm -rf /dev/md /run/mdadm/map

echo "=== oracle: mdadm --assemble + vgchange -ay"
/sbin/mdadm --assemble /dev/md/r1 /dev/vda /dev/vdb
/sbin/lvm vgchange -ay vg0
set +x
cp /run/mdadm/map $O/map
[ "$(readlink -f /dev/md/r1)" = /dev/md127 ] || echo "oracle: mdadm did not pick md127"
cat /sys/block/md127/md/uuid >$O/md-sysfs-uuid 2>/dev/null
dm_table >$O/table
dm_info >$O/info
md_health >$O/md
lv_sums >$O/sums
nodes >$O/nodes
echo "--- oracle"; cat $O/ids.env $O/map $O/table $O/info $O/md $O/nodes
echo "md/uuid: $(cat $O/md-sysfs-uuid 2>/dev/null || echo absent)"
cp -r $O /out/oracle
/sbin/lvm vgchange -an vg0
/sbin/mdadm --stop /dev/md127
rm -rf /dev/md /dev/vg0 /run/mdadm/map
gone /sys/block/md127 || echo "note: md127 still listed in sysfs after mdadm --stop: $(cat /sys/block/md127/md/array_state)"

phase activate
dm_table >/tmp/table; same "dmsetup table equals lvm2's (names for maj:min)" $O/table /tmp/table
dm_info >/tmp/info; same "dmsetup info (name, uuid, attr incl. read-only) equals lvm2's" $O/info /tmp/info
md_health >/tmp/md; same "mdadm --detail equals the mdadm-assembled array" $O/md /tmp/md
check "lvm lvs sees all four LVs active" lvs_active
lv_sums >/tmp/sums; same "LV contents equal" $O/sums /tmp/sums
nodes >/tmp/nodes; same "/dev/mapper nodes: type, mode, owner as lvm2 made them" $O/nodes /tmp/nodes
cp /run/mdadm/map /tmp/map; same "/run/mdadm/map equals mdadm's" $O/map /tmp/map
links_ok() {
  for lv in lin str multi ro; do
    [ "$(readlink /dev/vg0/$lv)" = "../mapper/vg0-$lv" ] || return 1
    [ "$(readlink /dev/evms/lvm2/vg0/$lv)" = "../../../mapper/vg0-$lv" ] || return 1
    [ -b /dev/evms/lvm2/vg0/$lv ] || return 1
  done
  [ "$(readlink /dev/md/r1)" = "../md127" ] && [ "$(readlink /dev/evms/md/r1)" = "../../md127" ]
}
check "links /dev/vg0/*, /dev/md/r1, /dev/evms/... relative and resolving" links_ok
records_ok() {
  for lv in lin str multi ro; do
    hx=$(stat -L -c '%t:%T' /dev/mapper/vg0-$lv)
    dn=$(printf '%d:%d' 0x${hx%%:*} 0x${hx##*:})
    grep -qx 'E:DM_UDEV_PRIMARY_SOURCE_FLAG=1' /run/udev/data/b$dn || return 1
    grep -qx "E:DM_NAME=vg0-$lv" /run/udev/data/b$dn || return 1
  done
  grep -qx 'E:LVM_MD_PV_ACTIVATED=1' /run/udev/data/b9:127
}
check "udev records for every DM device and the PV-holding array" records_ok
echo "--- map: mdadm wrote / we wrote; mdadm -D uuid"
cat $O/map /run/mdadm/map; grep UUID $O/md
state >/tmp/s1

phase rerun
state >/tmp/s2; same "re-execution changed nothing" /tmp/s1 /tmp/s2
phase dry_run
state >/tmp/s3; same "dry run changed nothing" /tmp/s1 /tmp/s3

/sbin/dmsetup create vg0-taken --table "0 8 zero"
phase conflict
dm_table | grep -v 'vg0-taken' >/tmp/t4; same "conflicting plan replaced nothing" /tmp/table /tmp/t4
/sbin/dmsetup remove vg0-taken

phase failures
gone /sys/block/md100
check "dmesg names the reason of the failed load (the hint)" sh -c 'dmesg | grep -q "too small for target"'
state >/tmp/s5; same "failed steps left nothing behind" /tmp/s1 /tmp/s5

mount -t ext4 /dev/vg0/lin /mnt
phase refuse_in_use
check "the mounted LV stays mounted" grep -q ' /mnt ' /proc/mounts
state | grep -v '^/dev/evms\|^/dev/vg0\|^/dev/mapper' >/tmp/s6
umount /mnt
lv_sums >$O/sums-after-mount

phase deactivate_everything
check "md127 is gone" gone /sys/block/md127
check "no DM devices left" sh -c '/sbin/dmsetup ls | grep -q "No devices found"'
dev_clean() {
  [ ! -e /dev/vg0 ] && [ ! -e /dev/md/r1 ] && [ ! -e /dev/evms/lvm2 ] && [ ! -e /dev/evms/md ] &&
    [ "$(ls /dev/mapper)" = "control" ]
}
check "nodes and links removed" dev_clean
check "udev records removed" sh -c '[ -z "$(ls /run/udev/data 2>/dev/null)" ]'
check "map entry removed" sh -c '! grep -q md127 /run/mdadm/map'

echo "=== the tools take over what we left"
/sbin/mdadm --assemble /dev/md/r1 /dev/vda /dev/vdb && /sbin/lvm vgchange -ay vg0
lv_sums >/tmp/sums2; same "tools re-assemble after deactivation, same contents" $O/sums-after-mount /tmp/sums2

cp /tmp/s1 /out/state-after-activate
dmesg >/out/dmesg
echo "$P passed, $F failed" | tee /out/result
