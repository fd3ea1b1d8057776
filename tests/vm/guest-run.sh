# Guest driver for tests/vm/run.sh (installed as /scenario.sh; the harness /init runs it).
# Kernel command line: vmmode=create|test vmscen=NAME vmdisks=N (data disks vda.., then the
# out disk). Results go to /out, which the harness hands back to the host as a tar.
#   create: build the scenario's layout with the real tools, write data, stop everything.
#   test:   per case: oracle (mdadm/lvm) activation and record; ours; tools' teardown of ours;
#           ours again; ours once more (idempotence); our deactivate. The host compares.
. /vm/guest-lib.sh
. /vm/guest-luks.sh

now() { cut -d' ' -f1 /proc/uptime; }
arg() { sed -n "s/.*[ ]$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
MODE=$(arg vmmode)
SCEN=$(arg vmscen)
NDISKS=$(arg vmdisks)
. "/vm/scenarios/$SCEN.sh"
echo "=== guest-run: $MODE $SCEN at $(now)s"

# The same host name at creation and at assembly: mdadm writes it into 1.x names
# (HOSTNAME:NAME) and treats arrays of another host as foreign. In a real initramfs mdadm takes
# the home host from mdadm.conf's HOMEHOST line, else from the host name; here it is fixed.
hostname evms-vm
# LUKS scenarios: the passphrase file (and crypttab) cryptsetup and ours read.
[ -n "${LUKS_PASS:-}" ] && luks_pass_file

# Wait for the data disks and the out disk (virtio probes asynchronously after insmod).
last=$(printf "\\$(printf %o $((97 + NDISKS)))")
i=0
while [ ! -b "/dev/vd$last" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
sleep 0.2
echo "=== disks ready at $(now)s: $(ls /sys/block | tr '\n' ' ')"
# Fresh arrays resync at speed_limit_min while anything else does I/O; TCG is slow enough
# that the default (1000 KiB/s) makes a 40 MiB RAID5 take most of a minute.
echo 200000 > /proc/sys/dev/raid/speed_limit_min

# Is any MD array or DM device present? Prints what is there. An md device counts when it has
# members or a state other than "clear" (opening /dev/mdN creates an empty "clear" shell).
residue() {
  local d st
  for d in /sys/block/md*; do
    [ -d "$d/md" ] || continue
    st=$(cat "$d/md/array_state" 2>/dev/null)
    if [ "$st" != clear ] || ls "$d/md" | grep -q '^dev-'; then echo "md ${d##*/} $st"; fi
  done
  for d in /sys/block/dm-*; do
    [ -d "$d/dm" ] && echo "dm $(cat "$d/dm/name")"
  done
  # bcache: devices the kernel holds (registered backing or cache devices, running bcacheN)
  # and cache sets.
  for d in /sys/block/*/bcache; do
    [ -e "$d" ] && echo "bcache ${d%/bcache}" | sed 's|/sys/block/||'
  done
  for d in /sys/fs/bcache/*-*; do
    [ -d "$d" ] && echo "bcache-set ${d##*/}"
  done
  return 0
}

# bcache teardown as its sysfs files offer it: every registered backing device (running or
# waiting for its cache) is stopped, then every cache set (never `unregister`, which would
# detach the backing devices for good). The kernel finishes asynchronously: bounded wait.
bcache_teardown() {
  local f i=0
  for f in /sys/block/*/bcache/stop; do
    [ -e "$f" ] && echo 1 > "$f"
  done
  while ls -d /sys/block/bcache* >/dev/null 2>&1 && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  for f in /sys/fs/bcache/*-*/stop; do
    [ -e "$f" ] && echo 1 > "$f"
  done
  i=0
  while ls -d /sys/fs/bcache/*-* /sys/block/*/bcache >/dev/null 2>&1 && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  return 0
}

# The tools' teardown: kpartx mappings on LVs (scenario KPARTX list), all VGs, kpartx
# mappings on disks (scenario KPARTX_DISKS: partitions the kernel did not create), all arrays.
tools_teardown() {
  local m
  for m in $KPARTX_ON; do
    [ -e "/dev/mapper/$m" ] && $KPARTX -d "/dev/mapper/$m"
  done
  $LVM vgchange -an >/dev/null 2>&1
  crypt_close_all
  for m in $KPARTX_DISKS; do
    $KPARTX -d "$m"
  done
  $MDADM --stop --scan 2>/dev/null
  bcache_teardown
  # Arrays stacked on arrays and LUKS volumes on arrays or in LVs need more passes, and a VG on
  # a kpartx map of another VG's LV holds that map until its own vgchange -an: then kpartx -d
  # again.
  [ -n "$(residue)" ] && { $LVM vgchange -an >/dev/null 2>&1; crypt_close_all; $MDADM --stop --scan 2>/dev/null; }
  [ -n "$(residue)" ] && { $LVM vgchange -an >/dev/null 2>&1; crypt_close_all; $MDADM --stop --scan 2>/dev/null; }
  if [ -n "$(residue)" ] && [ -n "$KPARTX_ON" ]; then
    for m in $KPARTX_ON; do
      [ -e "/dev/mapper/$m" ] && $KPARTX -d "/dev/mapper/$m"
    done
    $LVM vgchange -an >/dev/null 2>&1
    crypt_close_all
    $MDADM --stop --scan 2>/dev/null
  fi
  return 0
}

# Default oracle: what mdadm and lvm2 do in an initramfs without configuration.
# mdadm --assemble --scan with no mdadm.conf: DEVICE partitions, HOMEHOST <system>, every array
# found. Its exit status is not used: it is 1 when there is no array at all; the records show
# what it did. Note that in this auto-assembly mode mdadm starts an array with members
# missing (Assemble.c: start_partial_ok), like `--run`. Then vgchange -ay (every VG; LVs with
# the activation-skip flag stay down), then kpartx -a on the DM devices listed in KPARTX_ON.
oracle_default() {
  local rc=0 m
  $MDADM --assemble --scan
  $LVM vgchange -ay || rc=$?
  for m in $KPARTX_ON; do
    if [ -e "/dev/mapper/$m" ]; then $KPARTX -a -s "/dev/mapper/$m" || rc=$?; fi
  done
  return $rc
}

# bcache as udev does it (69-bcache.rules): every block device blkid names bcache is handed
# to bcache-tools' bcache-register, in the order of /sys/class/block (coldplug's).
oracle_bcache() {
  local d n
  for d in /sys/class/block/*; do
    n=${d##*/}
    [ "$($BLKID -p -s TYPE -o value "/dev/$n" 2>/dev/null)" = bcache ] || continue
    echo "bcache-register /dev/$n"
    $BCACHE_REGISTER "/dev/$n"
  done
}

# The udev-driven way (dracut, systemd hosts): `mdadm --incremental` per block device, without
# --run: an array starts only when all its members are there; otherwise it stays assembled but
# inactive. This is the oracle for "must not start without --degraded".
oracle_incremental() {
  local d
  for d in /sys/class/block/*; do
    $MDADM --incremental "/dev/${d##*/}" 2>&1 | grep -v 'not a md component\|no RAID superblock\|Cannot read superblock'
  done
  $LVM vgchange -ay
}

# /dev as it was after boot: taken once, restored between phases. mdadm --stop (no udev)
# leaves /dev/md/NAME and /dev/mdN behind, and a stale /dev/md/NAME makes the next
# `mdadm --assemble` pick another name; a fresh boot would have neither.
dev_baseline() { find /dev -mindepth 1 | sort > /tmp/dev.baseline; }
dev_new() { find /dev -mindepth 1 | sort | grep -vxF -f /tmp/dev.baseline; }
dev_restore() {
  dev_new | sort -r | while read -r p; do
    if [ -d "$p" ] && [ ! -L "$p" ]; then rmdir "$p" 2>/dev/null; else rm -f "$p"; fi
  done
  rm -rf /run/mdadm
}

# Pristine disks for every phase. Activation writes to the members (the kernel bumps MD event
# counts; mdadm rewrites e.g. a 0.90 superblock's preferred minor), so without this, ours would
# run on disks the oracle had changed. The data disks are copied to tmpfs once, after boot,
# and written back (whole, ~1 s per 100 MiB) while nothing is active, if a step ran since.
DIRTY=0
DATADISKS=""
i=0
while [ $i -lt "$NDISKS" ]; do
  DATADISKS="$DATADISKS vd$(printf "\\$(printf %o $((97 + i)))")"
  i=$((i + 1))
done
disks_save() {
  local d
  mkdir -p /tmp/pristine
  for d in $DATADISKS; do dd if="/dev/$d" of="/tmp/pristine/$d" bs=1M 2>/dev/null; done
}
disks_restore() {
  local d
  [ $DIRTY = 1 ] || return 0
  DIRTY=0
  for d in $DATADISKS; do dd if="/tmp/pristine/$d" of="/dev/$d" bs=1M conv=fsync 2>/dev/null; done
  # A damaged partition table made the kernel drop partitions: have it read the good one.
  if [ $DAMAGED = 1 ]; then
    DAMAGED=0
    for d in $DATADISKS; do blockdev --rereadpt "/dev/$d" 2>/dev/null; done
  fi
}

# Pristine disks, then the case's damage (CASE_x_DAMAGE, a function of the scenario: dd over a
# metadata area, a cloned disk, ...), done again before every activation of the case. The
# kernel re-reads the partition tables afterwards, as it would at boot with such disks.
DAMAGED=0
disks_prepare() {
  local d
  disks_restore
  [ -n "$1" ] || return 0
  echo "=== damage: $1"
  DIRTY=1 DAMAGED=1
  ("$1") 2>&1 | sed 's/^/    /'
  sync
  for d in $DATADISKS; do blockdev --rereadpt "/dev/$d" 2>/dev/null; done
  return 0
}

# Creation-time content of a volume, kept with the images (data-hashes), so that every test
# can check that the intact volumes still hold exactly what was written. NAME is free (the
# last hash given for a NAME counts); a case's DATA list maps it to a record name
# (`md127=fresh-vdb`) unless it is the record name itself (DM names).
data_hash() {
  local h
  h=$(sha256sum < "$(readlink -f "$2")" | cut -d' ' -f1)
  grep -v "^$1 " /out/data-hashes > /tmp/data-hashes 2>/dev/null || true
  echo "$1 $h" >> /tmp/data-hashes
  cp /tmp/data-hashes /out/data-hashes
}

# In a case's AFTER function (run once our binary is done and everything is stopped, on the
# disks as ours left them): the content of a volume the tools can reach, to compare with its
# creation-time hash (nothing ours did or refused lost data).
after_hash() {
  echo "$1 $(timeout 120 sha256sum < "$(readlink -f "$2")" | cut -d' ' -f1)" >> "$AFTER_OUT"
}

# In a case's WRITE function (run after ours3, while our devices are active): new content
# written through our devices, read back through them; CASE_x_AFTER must then find exactly
# this once lvm2 has assembled the volume again.
written_hash() {
  echo "$1 $(timeout 120 sha256sum < "$(readlink -f "$2")" | cut -d' ' -f1)" >> "$WRITTEN_OUT"
}

# ---- recording -------------------------------------------------------------------------

# "MAJ:MIN NAME" for every block device: DM devices by DM name, others by kernel name.
devmap() {
  local f n
  for f in /sys/class/block/*; do
    n=${f##*/}
    [ -f "$f/dm/name" ] && n=$(cat "$f/dm/name")
    echo "$(cat "$f/dev") $n"
  done
}

# Replaces every MAJ:MIN token (a whole field) with the device's stable name.
normalize() {
  awk 'NR == FNR { m[$1] = $2; next }
       { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+:[0-9]+$/) $i = ($i in m) ? m[$i] : "?" $i; print }' /tmp/devmap -
}

# Stable name of a block node: by its MAJ:MIN.
nodename() {
  local mm
  mm=$(stat -L -c '%t %T' "$1" 2>/dev/null) || { echo "?"; return; }
  set -- $mm
  mm="$(printf %d "0x$1"):$(printf %d "0x$2")"
  awk -v k="$mm" '$1 == k { print $2; f = 1 } END { if (!f) print "?" k }' /tmp/devmap
}

# md arrays that exist (not the empty shells that opening /dev/mdN creates).
md_arrays() {
  local d st
  for d in /sys/block/md*; do
    [ -d "$d/md" ] || continue
    st=$(cat "$d/md/array_state" 2>/dev/null)
    if [ "$st" != clear ] || ls "$d/md" | grep -q '^dev-'; then echo "${d##*/}"; fi
  done
}

# record_sync DIR: lvm2's view of every RAID and mirror LV's synchronisation (lvm-sync), once
# it has settled (bounded: 60 s): no RAID resyncs or recovers and nothing changed since the
# last look. A mirror with a core log and a RAID image marked for rebuild resync after every
# activation, and the record must not depend on how far the kernel got.
record_sync() {
  local i=0 cur prev=""
  while [ $i -lt 120 ]; do
    cur=$($LVM lvs -a --noheadings --separator ' ' -o sync_percent,raid_sync_action 2>/dev/null)
    if [ "$cur" = "$prev" ] && ! printf '%s\n' "$cur" | grep -qE ' (resync|recover|reshape)$'; then
      break
    fi
    prev=$cur
    sleep 0.5
    i=$((i + 1))
  done
  $LVM lvs -a --reportformat json -o vg_name,lv_name,sync_percent,raid_sync_action 2>/dev/null > "$1/lvm-sync"
}

# record DIR: the facts compared between the oracle and ours (see README.md, "Records").
record() {
  local dir=$1 m a f d
  mkdir -p "$dir"
  devmap > /tmp/devmap
  # Device-mapper: tables (MAJ:MIN -> names; lines of one device keep their order) and info.
  # --showkeys: a LUKS1 crypt table's key (LUKS2 names its keyring key either way).
  $DMSETUP table --showkeys 2>/dev/null | grep -v '^No devices found' | normalize |
    awk '{ k = $1; n[k]++; print k, n[k], $0 }' | sort -k1,1 -k2,2n | cut -d' ' -f3- > "$dir/dm-table"
  $DMSETUP info -c --noheadings --separator ' ' -o name,uuid,attr,open,segments 2>/dev/null |
    grep -v '^No devices found' | sort > "$dir/dm-info"
  # MD: sysfs facts per array, mdadm's reports, the map file.
  : > "$dir/md"; : > "$dir/md-detail"
  for m in $(md_arrays); do
    d=/sys/block/$m
    {
      printf '%s size=%s ro=%s' "$m" "$(cat $d/size)" "$(cat $d/ro)"
      for a in level raid_disks array_state metadata_version chunk_size layout degraded sync_action resync_start; do
        [ -e "$d/md/$a" ] && printf ' %s=%s' "$a" "$(cat $d/md/$a 2>/dev/null | tr ' ' _)"
      done
      echo
      # Features, only when in use (arrays without them record as before): the bitmap, the
      # consistency policy when it is not plain resync, a reshape, a non-default stripe cache.
      a=$(cat "$d/md/bitmap/location" 2>/dev/null)
      [ -n "$a" ] && [ "$a" != none ] &&
        echo "$m bitmap location=$a chunksize=$(cat $d/md/bitmap/chunksize) space=$(cat $d/md/bitmap/space 2>/dev/null)"
      a=$(cat "$d/md/consistency_policy" 2>/dev/null)
      case $a in bitmap|journal|ppl) echo "$m consistency_policy=$a journal_mode=$(cat $d/md/journal_mode 2>/dev/null | tr ' ' _)" ;; esac
      a=$(cat "$d/md/reshape_position" 2>/dev/null)
      [ -n "$a" ] && [ "$a" != none ] && echo "$m reshape_position=$a"
      a=$(cat "$d/md/stripe_cache_size" 2>/dev/null)
      [ -n "$a" ] && [ "$a" != 256 ] && echo "$m stripe_cache_size=$a"
      for f in "$d"/md/dev-*; do
        [ -d "$f" ] || continue
        # A DM member (a LUKS volume) by its DM name: dm-N numbers differ between runs.
        a=${f##*/dev-}
        [ -f "/sys/class/block/$a/dm/name" ] && a=$(cat "/sys/class/block/$a/dm/name")
        printf '%s member %s' "$m" "$a"
        for a in slot state offset size; do printf ' %s=%s' "$a" "$(cat $f/$a 2>/dev/null | tr ' ' _)"; done
        echo
        a=$(cat "$f/bad_blocks" 2>/dev/null | tr '\n' ,)
        [ -n "$a" ] && echo "$m member ${f##*/dev-} bad_blocks=$a"
      done
      ls "$d" | grep "^${m}p[0-9]" | sed "s/^/$m partition /"
    } >> "$dir/md"
    $MDADM --detail --export "/dev/$m" 2>&1 | sort | sed "s/^/$m /" >> "$dir/md-detail"
    $MDADM --detail "/dev/$m" 2>&1 |
      grep -Ev '^ *(Creation Time|Update Time|Events) :' | sed "s/^/$m /" >> "$dir/md-detail"
  done
  sort /run/mdadm/map 2>/dev/null > "$dir/md-map"
  # New /dev entries since boot. /dev/dm-N carries a kernel-chosen number: left out.
  # /dev/evms is ours only (the EVMS namespace): recorded apart, in info.
  : > "$dir/devnodes"; : > "$dir/info"
  for f in $(dev_new); do
    case $f in /dev/dm-[0-9]*) continue ;; /dev/evms | /dev/evms/*) echo "evms $f -> $(nodename "$f")" >> "$dir/info"; continue ;; esac
    # udev's links (69-bcache.rules); no udev here, so only ours makes them: kept apart.
    case $f in /dev/bcache | /dev/bcache/*) [ -L "$f" ] && echo "bcache $f -> $(nodename "$f")" >> "$dir/info"; continue ;; esac
    if [ -L "$f" ]; then
      echo "$f -> $(nodename "$f")"
    elif [ -b "$f" ]; then
      echo "$f block $(nodename "$f")"
      echo "mode $f $(stat -c '%a %u:%g' "$f")" >> "$dir/info"
    elif [ -d "$f" ]; then
      echo "$f dir"
    else
      echo "$f other"
    fi >> "$dir/devnodes"
  done
  # bcache: what the kernel says of each running device, the devices it holds, its sets.
  : > "$dir/bcache"
  for f in /sys/block/bcache*; do
    [ -d "$f/bcache" ] || continue
    printf '%s size=%s' "${f##*/}" "$(cat "$f/size")"
    for a in state cache_mode backing_dev_name label; do
      printf ' %s=%s' "$a" "$(cat "$f/bcache/$a" 2>/dev/null | tr ' ' _)"
    done
    printf ' set=%s\n' "$(basename "$(readlink "$f/bcache/cache" 2>/dev/null)" 2>/dev/null)"
    # make-bcache cannot choose device UUIDs: not comparable across image re-creations.
    echo "bcache-uuid ${f##*/} $(cat "$f/bcache/backing_dev_uuid")" >> "$dir/info"
  done >> "$dir/bcache"
  for f in /sys/block/*/bcache; do
    case $f in /sys/block/bcache*) continue ;; esac
    [ -e "$f" ] || continue
    f=${f%/bcache}
    if [ -e "$f/bcache/set" ]; then echo "registered ${f##*/} cache"; else echo "registered ${f##*/} backing"; fi
  done >> "$dir/bcache"
  for f in /sys/fs/bcache/*-*; do
    [ -d "$f" ] && echo "cache-set ${f##*/} $(ls "$f" | grep -c '^bdev') backing $(ls "$f" | grep -c '^cache[0-9]') cache"
  done >> "$dir/bcache"
  # What lvm2 reports about the active LVs (must say active/open the same way for ours).
  $LVM lvs -a --reportformat json --units s -o vg_name,lv_name,lv_attr,lv_size,lv_active,lv_health_status,devices 2>/dev/null > "$dir/lvm-lvs"
  $LVM vgs --reportformat json --units s -o vg_name,vg_attr,pv_count,lv_count,vg_size,vg_free 2>/dev/null > "$dir/lvm-vgs"
  $LVM pvs --reportformat json --units s -o pv_name,vg_name,pv_attr,pv_size,pv_uuid 2>/dev/null > "$dir/lvm-pvs"
  # Scenarios with RAID or mirror LVs (SYNC_LVS=1): their sync state once no resync runs.
  [ -n "${SYNC_LVS:-}" ] && record_sync "$dir"
  # Informational only: read-ahead of each DM/MD device.
  for f in /sys/class/block/dm-* /sys/class/block/md*; do
    [ -e "$f/dev" ] || continue
    n=$(awk -v k="$(cat "$f/dev")" '$1 == k { print $2 }' /tmp/devmap)
    [ -e "$f/queue/read_ahead_kb" ] && echo "read_ahead_kb $n $(cat "$f/queue/read_ahead_kb")" >> "$dir/info"
  done
  # Content: sha256 of every DM and MD device (MD partitions included).
  : > "$dir/hashes"
  # A suspended DM device would block the read for ever: it is named, not read; any read is
  # also bounded in time.
  for f in /sys/class/block/dm-* /sys/class/block/md* /sys/class/block/bcache*; do
    [ -e "$f/dev" ] || continue
    n=$(awk -v k="$(cat "$f/dev")" '$1 == k { print $2 }' /tmp/devmap)
    if [ "$(cat "$f/size")" = 0 ]; then
      echo "$n empty"
    elif [ "$(cat "$f/dm/suspended" 2>/dev/null)" = 1 ]; then
      echo "$n suspended"
    elif case " $HASH_VOLATILE " in *" $n "*) true ;; *) false ;; esac; then
      # A cache's own devices change when the cached LV is read (blocks are promoted), and
      # the order devices are read in follows kernel minors: named, not hashed.
      echo "$n volatile"
    else
      echo "$n $(timeout 120 /usr/bin/sha256sum < "/dev/${f##*/}" | cut -d' ' -f1)"
    fi >> "$dir/hashes"
  done
  sort -o "$dir/hashes" "$dir/hashes"
  sort -o "$dir/info" "$dir/info"
}

# ---- steps -----------------------------------------------------------------------------

# step DIR NAME CMD...: runs CMD (a command or a shell function), keeping its output, exit
# status and time. Our binary runs under a time limit so that a hang costs one step, not the
# boot's records.
step() {
  local dir=$1 name=$2 t0 rc
  shift 2
  echo "=== step $name: $*"
  DIRTY=1
  t0=$(now)
  if [ "$1" = "$EVMS" ]; then
    timeout 120 "$@" > "$dir/$name.log" 2>&1
  else
    ("$@") > "$dir/$name.log" 2>&1
  fi
  rc=$?
  echo "$rc" > "$dir/$name.rc"
  echo "$t0 $(now)" > "$dir/$name.time"
  sed 's/^/    /' "$dir/$name.log" | head -40
  echo "    exit $rc"
}

# The scenario's SETTLE function (if any) after an activation, before its record: e.g. wait
# for a resumed reshape or recovery to end, so the record does not depend on timing.
settle() {
  [ -n "${SETTLE:-}" ] || return 0
  echo "=== settle: $SETTLE"
  ("$SETTLE") 2>&1 | sed 's/^/    /'
  return 0
}

teardown_step() {
  local dir=$1 name=$2
  tools_teardown > "$dir/$name.log" 2>&1
  residue > "$dir/$name.residue"
  dev_restore
}

run_case() {
  local c=$1 d=/out/cases/$1 oracle args expect damage after write
  mkdir -p "$d"
  eval "oracle=\${CASE_${c}_ORACLE:-oracle_default}"
  eval "args=\${CASE_${c}_ARGS:-}"
  eval "expect=\${CASE_${c}_EXPECT:-equal}"
  eval "damage=\${CASE_${c}_DAMAGE:-}"
  eval "after=\${CASE_${c}_AFTER:-}"
  eval "write=\${CASE_${c}_WRITE:-}"
  echo "$expect" > "$d/expect"
  echo "=== case $c (oracle: $oracle; ours: activate $args; expect $expect${damage:+; damage $damage})"
  disks_prepare "$damage"
  step "$d" oracle $oracle
  settle
  record "$d/oracle"
  teardown_step "$d" oracle-teardown
  disks_prepare "$damage"
  # Ours. $args is split on purpose (volume names and flags).
  # shellcheck disable=SC2086
  step "$d" ours1 $EVMS activate $args
  settle
  record "$d/ours1"
  if [ "$expect" != not-started ]; then
    # lvm2 and mdadm must be able to tear down what we built.
    teardown_step "$d" tools-teardown
    disks_prepare "$damage"
    step "$d" ours2 $EVMS activate $args
    settle
    record "$d/ours2"
    step "$d" ours3 $EVMS activate $args
    settle
    record "$d/ours3"
    if [ -n "$write" ]; then
      WRITTEN_OUT=$d/written-hashes
      : > "$WRITTEN_OUT"
      step "$d" write "$write"
    fi
  fi
  step "$d" deactivate $EVMS deactivate
  residue > "$d/deactivate.residue"
  teardown_step "$d" final-teardown
  if [ -n "$after" ]; then
    # The disks as ours left them (no restore): can the tools still reach the data?
    AFTER_OUT=$d/after-hashes
    : > "$AFTER_OUT"
    step "$d" after "$after"
    teardown_step "$d" after-teardown
  fi
}

# Issue 5's read-only proof in a real kernel: scan, plan and activate --dry-run on the live
# disks, then every data disk compared byte for byte with its copy taken just before (page
# cache dropped, so the bytes come from the disk) and nothing left active.
readonly_check() {
  local d
  {
    for c in scan plan "activate --dry-run"; do
      echo "\$ evms-activate $c"
      # shellcheck disable=SC2086
      timeout 120 $EVMS $c
      echo "exit $?"
    done
  } > /out/readonly.log 2>&1
  sync
  echo 3 > /proc/sys/vm/drop_caches
  for d in $DATADISKS; do
    if cmp -s "/dev/$d" "/tmp/pristine/$d"; then echo "$d unchanged"; else echo "$d CHANGED"; fi
  done > /out/readonly
  residue | sed 's/^/active /' >> /out/readonly
}

case $MODE in
create)
  dev_baseline
  echo "=== create $SCEN"
  t0=$(now)
  : > /out/data-hashes
  (set -e; create) > /out/create.log 2>&1
  rc=$?
  cat /out/create.log
  sync
  if [ $rc = 0 ]; then
    tools_teardown
    r=$(residue)
    if [ -n "$r" ]; then
      echo "create: still active after teardown: $r"
    else
      echo "$t0 $(now)" > /out/create.ok
    fi
  else
    echo "create: FAILED (exit $rc)"
  fi
  # At-rest facts of the created disks (informational; the host keeps them with the images).
  for f in /sys/block/vd*; do
    n=${f##*/}
    [ "$n" = "vd$last" ] && continue
    for p in /dev/$n /dev/$n[0-9]*; do
      [ -b "$p" ] && $MDADM --examine --export "$p" 2>/dev/null | sed "s|^|${p#/dev/} |"
    done
  done > /out/examine
  ;;
test)
  dev_baseline
  disks_save
  readonly_check
  for c in ${CASES:-all}; do
    run_case "$c"
  done
  echo "$(now)" > /out/test.done
  ;;
*)
  echo "guest-run: unknown vmmode '$MODE'"
  ;;
esac
