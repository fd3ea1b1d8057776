#!/bin/sh
# Guest side of `make bench` (busybox sh, run by tests/vm/guest-init.sh as /scenario.sh).
# The kernel command line says what to do:
#   bench.case=NAME       case name (for the result lines)
#   bench.steps=S,S,...   in order:
#     bytes   bytes read per device by one discovery, from /sys/block/*/stat before and after,
#             cold (nothing holds a device open, so nothing is cached): ours = `scan`; the
#             tools = blkid -p on every device + mdadm --examine --scan + lvm pvs
#     hold    keep every block device open (its page cache then survives a teardown: each
#             activation after the first reads warm, ours and the tools' alike)
#     o, u    one activation by the tools (oracle) / by evms-activate, timed
#     t       teardown (dmsetup remove_all, mdadm --stop --scan), /dev and /run/mdadm back to
#             their state after boot
#     U       start systemd-udevd (coldplug settled); lvm2 then syncs with udev as installed
#     warm    read what both sides read once (activate --dry-run, mdadm --examine, lvm pvs);
#             lvm2 reads with O_DIRECT, so only our reads and mdadm's are then cached; then
#             time the timer alone (bracket) and our process start-up alone (startup)
#     rec-oracle, rec-ours   record the DM tables of what is active now (maj:min as names),
#             for the host's check that ours equal the tools'
#     strace  one activation each under strace -c -f (ours, then the tools), with teardowns
#   bench.kpartx=A,B      DM devices the oracle runs kpartx -a on (as tests/vm does)
# Result lines go to /out/results: `CASE MODE WHAT VALUE...` (MODE noudev|udev).
export PATH=/sbin:/usr/sbin:/bin:/usr/bin
LVM=/usr/sbin/lvm MDADM=/usr/sbin/mdadm DMSETUP=/usr/sbin/dmsetup KPARTX=/usr/sbin/kpartx
EVMS=/bin/evms-activate DATE=/usr/bin/date BLKID=/usr/sbin/blkid
arg() { sed -n "s/.*bench\.$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
CASE=$(arg case)
STEPS=$(arg steps | tr ',' ' ')
KP=$(arg kpartx | tr ',' ' ')
MODE=noudev
R=/out/results
now() { $DATE +%s.%N; }
span() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f", b - a }'; }
res() { echo "$CASE $MODE $*" >> $R; }

ls /dev > /tmp/dev.baseline
blockdevs() { ls /sys/class/block | grep -Ev '^(loop|ram|dm-|md|zram)'; }
# sectors read per device (field 3 of /sys/block/X/stat; partitions have their own stat)
sectors() { for d in $(blockdevs); do echo "$d $(awk '{print $3}' /sys/class/block/$d/stat)"; done; }
bytes_read() { # LABEL BEFORE AFTER
  awk -v l="$1" 'NR == FNR { b[$1] = $2; next } { d = $2 - b[$1]; t += d; if (d > 0) n++;
    if (d > m) m = d } END { printf "%s %d %d %d\n", l, t * 512, n, m * 512 }' "$2" "$3"
}

oracle() {
  $MDADM --assemble --scan >/dev/null 2>&1
  $LVM vgchange -ay >/dev/null 2>&1
  for k in $KP; do $KPARTX -a "/dev/mapper/$k" >/dev/null 2>&1; done
}

teardown() {
  for k in $KP; do [ -e "/dev/mapper/$k" ] && $KPARTX -d "/dev/mapper/$k" >/dev/null 2>&1; done
  $DMSETUP remove_all >/dev/null 2>&1
  $MDADM --stop --scan >/dev/null 2>&1
  [ "$MODE" = udev ] && udevadm settle 2>/dev/null
  # Without udev the tools and we leave /dev/VG, /dev/md, /dev/evms links behind: put /dev
  # back as it was after boot, so every activation makes the same nodes.
  for e in $(ls /dev); do grep -qx "$e" /tmp/dev.baseline || rm -rf "/dev/$e"; done
  for e in $(ls /dev/mapper 2>/dev/null); do [ "$e" = control ] || rm -f "/dev/mapper/$e"; done
  rm -rf /run/mdadm
  [ -z "$($DMSETUP ls 2>/dev/null | grep -v 'No devices')" ] || echo "bench: teardown left DM devices"
}

count() { # what is active: DM devices and running arrays
  echo "$($DMSETUP ls 2>/dev/null | grep -vc 'No devices') $(grep -c '^md.*: active' /proc/mdstat 2>/dev/null)"
}

step_o() {
  local t0 t1
  t0=$(now); oracle; t1=$(now)
  res oracle "$(span "$t0" "$t1")" $(count)
}

step_u() {
  local t0 t1 rc
  t0=$(now); $EVMS -v -v activate >/tmp/ours.out 2>/tmp/ours.err; rc=$?; t1=$(now)
  # total, kernel-call accounts and peak RSS from our debug summary
  res ours "$(span "$t0" "$t1")" $(count) rc=$rc $(grep -o 'total=.*' /tmp/ours.err | tail -1)
  grep -E 'debug: (discovery|round)' /tmp/ours.err | sed "s/^/$CASE $MODE ours-phase /; s/evms-activate: debug: //" >> $R
  [ $rc -eq 0 ] || { echo "bench: ours exited $rc"; tail -5 /tmp/ours.out /tmp/ours.err; }
}

step_bytes() {
  local a b
  sync; echo 3 > /proc/sys/vm/drop_caches
  sectors > /tmp/s0; $EVMS scan >/dev/null 2>&1; sectors > /tmp/s1
  res bytes $(bytes_read ours /tmp/s0 /tmp/s1)
  sync; echo 3 > /proc/sys/vm/drop_caches
  sectors > /tmp/s0
  for d in $(blockdevs); do $BLKID -p "/dev/$d" >/dev/null 2>&1; done
  sectors > /tmp/s1
  $MDADM --examine --scan >/dev/null 2>&1; sectors > /tmp/s2
  $LVM pvs >/dev/null 2>&1; sectors > /tmp/s3
  res bytes $(bytes_read blkid /tmp/s0 /tmp/s1)
  res bytes $(bytes_read mdadm /tmp/s1 /tmp/s2)
  res bytes $(bytes_read lvm2 /tmp/s2 /tmp/s3)
  res bytes $(bytes_read tools /tmp/s0 /tmp/s3)
  res devices "$(blockdevs | wc -l)"
}

step_hold() {
  local n=10 d
  for d in $(blockdevs); do
    n=$((n + 1))
    eval "exec $n</dev/$d"
  done
}

step_U() {
  cat > /etc/lvm/lvm.conf <<'EOF'
activation { udev_sync = 1 udev_rules = 1 monitoring = 0 }
devices { obtain_device_list_from_udev = 0 }
global { use_lvmlockd = 0 }
EOF
  /lib/systemd/systemd-udevd --daemon >/dev/null 2>&1
  udevadm trigger --type=subsystems --action=add >/dev/null 2>&1
  udevadm trigger --type=devices --action=add >/dev/null 2>&1
  udevadm settle --timeout=120
  MODE=udev
  ls /dev > /tmp/dev.baseline
  [ -e /run/udev/control ] && res udev started || echo "bench: systemd-udevd did not start"
}

step_tables() {
  # dmsetup table with every MAJ:MIN replaced by the device's kernel or DM name
  $DMSETUP table 2>/dev/null | while read -r line; do
    out=""
    for f in $line; do
      case $f in
        *:*[0-9]) if [ -d "/sys/dev/block/$f" ]; then
            n=$(basename "$(readlink "/sys/dev/block/$f")")
            [ -f "/sys/dev/block/$f/dm/name" ] && n=$(cat "/sys/dev/block/$f/dm/name")
            f=$n; fi ;;
      esac
      out="$out $f"
    done
    echo "${out# }"
  done | sort > "/out/tables.$1"
  for m in /sys/block/md*/md; do
    [ -d "$m" ] || continue
    echo "$(basename "$(dirname "$m")") $(cat "$m/level") $(cat "$m/raid_disks") $(cat "$m/array_state") $(ls "$m" | grep '^dev-' | sort | tr '\n' ' ')"
  done >> "/out/tables.$1"
}

# strace -c's table as SYSCALL=CALLS/ERRORS words (a row without errors has five fields).
st_counts() {
  awk '$NF ~ /^(mmap|munmap|brk|open|openat|readlink|pread64|read|ioctl|newfstatat|stat|total)$/ {
    print $NF "=" $4 "/" (NF == 6 ? $5 : 0) }' "$1" | tr '\n' ' '
}

step_strace() {
  strace -f -c -o /tmp/st.ours $EVMS activate >/dev/null 2>&1
  res strace ours $(st_counts /tmp/st.ours)
  teardown
  strace -f -c -o /tmp/st.tools sh -c "$MDADM --assemble --scan; $LVM vgchange -ay" >/dev/null 2>&1
  res strace tools $(st_counts /tmp/st.tools)
  cp /tmp/st.ours /tmp/st.tools /out/ 2>/dev/null
  teardown
}

res started "$(cut -d' ' -f1 /proc/uptime)"
for s in $STEPS; do
  case $s in
    o) step_o ;;
    u) step_u ;;
    t) teardown ;;
    U) step_U ;;
    bytes) step_bytes ;;
    hold) step_hold ;;
    rec-oracle) step_tables oracle ;;
    rec-ours) step_tables ours ;;
    warm) $EVMS activate --dry-run >/dev/null 2>&1; $MDADM --examine --scan >/dev/null 2>&1
      $LVM pvs >/dev/null 2>&1
      # What the two date calls around a command add to every figure (their exec and exit).
      for _ in 1 2 3; do t0=$(now); t1=$(now); res bracket "$(span "$t0" "$t1")"; done
      # Our process start and exit alone (exec of the static binary, its page faults, argument
      # parsing, a usage text): the floor under every `activate` figure.
      for _ in 1 2 3; do t0=$(now); $EVMS --help >/dev/null 2>&1; t1=$(now); res startup "$(span "$t0" "$t1")"; done ;;
    strace) step_strace ;;
    *) echo "bench: unknown step $s" ;;
  esac
done
res done "$(cut -d' ' -f1 /proc/uptime)"
touch /out/bench.done
