#!/bin/sh
# /sbin/init of the test root filesystems (tests/vm/boot/disks.sh puts it there with busybox):
# the "real init" our /init hands over to. It proves where it runs and what the initramfs left
# behind for the booted system, one EVMS-* line per fact for the host to assert, then powers
# off. Busybox only: no udev, no lvm2, no mdadm here either.
export PATH=/bin:/sbin
# The console line may still hold the kernel's last words (no newline after them).
echo
echo "EVMS-ROOT-OK pid=$$"
echo "EVMS-INIT-ARGS=$*"
# The device handed to the kernel for resuming from hibernation (0:0 when none was).
echo "EVMS-RESUME $(cat /sys/power/resume 2>/dev/null || echo unreadable)"
echo "EVMS-PROC1=$(tr '\0' ' ' < /proc/1/cmdline)"
while read -r dev mnt type opts _; do
  case $mnt in /|/dev|/proc|/sys|/run) echo "EVMS-MOUNT $mnt $dev $type ${opts%%,*}" ;; esac
done < /proc/mounts

# The device / is mounted from, by maj:min (not by the name in /proc/mounts, which is only
# what the mount call was given).
d=$(stat -c %d /)
rootdev=$(( ((d >> 8) & 0xfff) | ((d >> 32) & ~0xfff) )):$(( (d & 0xff) | ((d >> 12) & ~0xff) ))
rootname=$(basename "$(readlink "/sys/dev/block/$rootdev")")
echo "EVMS-ROOTDEV $rootdev $rootname $(cat "/sys/dev/block/$rootdev/dm/name" 2>/dev/null || echo -)"

# udev database records (what systemd's udev reads at coldplug after switch_root).
record() { tr '\n' ' ' < "/run/udev/data/b$1" 2>/dev/null | sed 's/ $//'; }
for d in /sys/block/dm-*; do
  [ -e "$d/dm/name" ] || continue
  dev=$(cat "$d/dev")
  echo "EVMS-DM $(cat "$d/dm/name") $dev uuid=$(cat "$d/dm/uuid") record=[$(record "$dev")]"
done
for d in /sys/block/md*; do
  [ -e "$d/md/level" ] || continue
  dev=$(cat "$d/dev")
  holders=$(ls "$d/holders" | tr '\n' ',' | sed 's/,$//')
  echo "EVMS-MD $(basename "$d") $dev level=$(cat "$d/md/level") state=$(cat "$d/md/array_state") degraded=$(cat "$d/md/degraded" 2>/dev/null || echo -) holders=${holders:--} record=[$(record "$dev")]"
done
for d in /sys/block/bcache*; do
  [ -e "$d/bcache/state" ] || continue
  echo "EVMS-BCACHE $(basename "$d") $(cat "$d/dev") state=$(cat "$d/bcache/state") cache_mode=$(cat "$d/bcache/cache_mode" | tr ' ' _) backing=$(cat "$d/bcache/backing_dev_name") set=$(basename "$(readlink "$d/bcache/cache")")"
done
# Nodes and links made without udev.
find /dev -mindepth 2 \( -type l -o -type b \) | sort | while read -r f; do
  case $f in /dev/mapper/control|/dev/pts/*|/dev/char/*|/dev/block/*|/dev/disk/*|/dev/fd|/dev/fd/*) continue ;; esac
  if [ -L "$f" ]; then
    echo "EVMS-NODE $f -> $(readlink "$f") ($(basename "$(readlink -f "$f")"))"
  else
    echo "EVMS-NODE $f block $(stat -c '%t:%T' "$f")"
  fi
done
# Keys left in the kernel's keyrings by the initramfs (a LUKS2 volume key is added for the table
# load and revoked right after; a revoked key may show until the kernel collects it).
grep 'cryptsetup:' /proc/keys 2>/dev/null | sed 's/^/EVMS-KEY /'
if [ -f /run/mdadm/map ]; then
  sed 's/^/EVMS-MDMAP /' /run/mdadm/map
else
  echo "EVMS-MDMAP none"
fi
# (also the kernel's own milestones, for the boot benchmark's timeline)
dmesg | grep -E 'evms-activate|Run /init as init process|EXT4-fs .*mounted|virtio_blk .*\[vda\]|raid6: using|md/raid:md[0-9]+: raid level' |
  sed 's/^/EVMS-DMESG /'
echo "EVMS-ROOT-END"
poweroff -f
