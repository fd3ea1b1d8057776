# Guest-side creation helpers for tests/vm scenarios (busybox ash; sourced by guest-run.sh,
# used by the scenario files' create() functions). Everything here runs inside the VM.
# The image cache key covers this file and the scenario file: change either and the images
# are re-created.
#
# Busybox runs its own applet in preference to PATH for names it knows (mke2fs, fdisk, ...),
# so the real tools are called through these variables, by full path.
MDADM=/usr/sbin/mdadm
LVM=/usr/sbin/lvm
DMSETUP=/usr/sbin/dmsetup
KPARTX=/usr/sbin/kpartx
SFDISK=/usr/sbin/sfdisk
MKE2FS=/usr/sbin/mke2fs
MAKE_BCACHE=/usr/sbin/make-bcache
BLKID=/usr/sbin/blkid
# bcache-tools' udev helper: writes its argument to /sys/fs/bcache/register.
BCACHE_REGISTER=/usr/lib/udev/bcache-register
EVMS=/bin/evms-activate
# libdm (dmsetup, kpartx) creates /dev/mapper nodes itself instead of waiting for udev.
export DM_DISABLE_UDEV=1
# mke2fs: fixed timestamps, so a re-created image has the same superblock times.
export E2FSPROGS_FAKE_TIME=1700000000

log() { echo "--- $*"; }

# Runs a command, echoing it first; a failure ends the current phase (create fails loudly).
run() {
  echo "+ $*"
  "$@" || { echo "FAILED ($?): $*"; return 1; }
}

# mkid TEXT: a deterministic LVM-style id (32 chars as 6-4-4-4-4-4-6) derived from TEXT.
# LVM ids use [0-9a-zA-Z!#]; lowercase hex is a subset, so lvm accepts these.
mkid() {
  local h
  h=$(printf '%s' "$1" | sha256sum | cut -c1-32)
  echo "$h" | sed 's/^\(......\)\(....\)\(....\)\(....\)\(....\)\(....\)\(......\)$/\1-\2-\3-\4-\5-\6-\7/'
}

# mkuuid TEXT: a deterministic RFC 4122-shaped UUID derived from TEXT (mke2fs -U, sfdisk).
mkuuid() {
  printf '%s' "$1" | sha256sum | sed 's/^\(........\)\(....\)\(....\)\(....\)\(............\).*/\1-\2-\3-\4-\5/'
}

# mdid TEXT: a deterministic mdadm --uuid value (four 8-hex-digit words joined by ':').
mdid() {
  printf '%s' "$1" | sha256sum | sed 's/^\(........\)\(........\)\(........\)\(........\).*/\1:\2:\3:\4/'
}

devsize() { cat "/sys/class/block/${1#/dev/}/size" 2>/dev/null || blockdev --getsz "$1"; }

# fill DEV TAG: writes a position-dependent pattern over the whole device: sector N holds
# "TAG sector N" padded to 512 bytes. A wrong offset, chunk order or stripe mapping changes
# the device's sha256, which an all-zero or constant pattern would hide.
fill() {
  local dev=$1 tag=$2 n
  dev=$(readlink -f "$dev")
  n=$(devsize "$dev")
  echo "+ fill $dev ($n sectors) with '$tag'"
  awk -v n="$n" -v t="$tag" 'BEGIN { for (i = 0; i < n; i++) printf "%-511s\n", t " sector " i }' |
    dd of="$dev" bs=65536 conv=fsync 2>/dev/null
}

# lvm_fix_ids VG: rewrites the VG id and every LV id with ids derived from the names, through
# vgcfgbackup/vgcfgrestore (lvm has no option to choose them at creation). PV ids are chosen
# with `pvcreate --uuid`. With fixed ids the DM UUIDs, hence the committed oracle records, are
# the same every time the images are re-created. The VG must be inactive.
lvm_fix_ids() {
  local vg=$1
  run $LVM vgcfgbackup -q -f /tmp/vg.cfg "$vg" || return 1
  awk -v vg="$vg" '
    function id(t,   cmd, h) {
      cmd = "printf %s \"" t "\" | sha256sum"; cmd | getline h; close(cmd)
      h = substr(h, 1, 32)
      return substr(h,1,6) "-" substr(h,7,4) "-" substr(h,11,4) "-" substr(h,15,4) "-" substr(h,19,4) "-" substr(h,23,4) "-" substr(h,27,6)
    }
    /^[ \t]*[^ \t#]+ \{[ \t]*$/ { d++; s = $1; path[d] = s; print; next }
    /^[ \t]*\}/ { d--; print; next }
    /^[ \t]*id = "/ {
      if (d == 1) { sub(/".*"/, "\"" id("vg:" vg) "\""); }
      else if (d == 3 && path[2] == "logical_volumes") { sub(/".*"/, "\"" id("lv:" vg "/" path[3]) "\""); }
    }
    { print }' /tmp/vg.cfg > /tmp/vg.new || return 1
  run $LVM vgcfgrestore -q -f /tmp/vg.new "$vg"
}

# pv_create DEV: pvcreate with a PV id derived from the device name.
pv_create() {
  run $LVM pvcreate -q --uuid "$(mkid "pv:${1#/dev/}")" --norestorefile "$@"
}

# md_create NAME MDADM-ARGS...: mdadm --create /dev/md/NAME with a UUID derived from NAME,
# then waits for the initial resync so the array is at rest (clean) when the image is cached.
md_create() {
  local name=$1; shift
  run $MDADM --create "/dev/md/$name" --run --uuid="$(mdid "md:$name")" "$@" || return 1
  $MDADM --wait "/dev/md/$name" 2>/dev/null || true
  return 0
}

# md_create_090 MINOR MDADM-ARGS...: a 0.90 array /dev/mdMINOR. mdadm makes the last two words
# of a 0.90 UUID from SHA-1 of the home host (super0.c init_super) and later calls the array
# local only if the bytes of set_uuid2..3 equal the hash's first 8 bytes (match_home0). A
# fully chosen --uuid would make it foreign, so only the first two words are derived from the
# name; --uuid parses each word as a number, stored little-endian, hence the byte swap.
md_create_090() {
  local minor=$1 u h; shift
  u=$(mdid "md:$minor" | cut -d: -f1-2)
  h=$(printf '%s' "$(hostname)" | sha1sum |
    sed 's/^\(..\)\(..\)\(..\)\(..\)\(..\)\(..\)\(..\)\(..\).*/\4\3\2\1:\8\7\6\5/')
  run $MDADM --create "/dev/md$minor" --run --metadata=0.90 --uuid="$u:$h" "$@" || return 1
  $MDADM --wait "/dev/md$minor" 2>/dev/null || true
  return 0
}

# Kernel name of a device path (/dev/md/root -> md127).
kname() { basename "$(readlink -f "$1")"; }

# wait_sync VG/LV: until lvm2 reports a RAID or mirror LV in sync (no sync state, as raid0
# has, counts as in sync; bounded: two minutes).
wait_sync() {
  local i=0 p
  while [ $i -lt 240 ]; do
    p=$($LVM lvs --noheadings -o sync_percent "$1" | tr -d ' ')
    case $p in "" | 100.00) return 0 ;; esac
    sleep 0.5
    i=$((i + 1))
  done
  echo "wait_sync $1: still at $p"
  return 1
}
