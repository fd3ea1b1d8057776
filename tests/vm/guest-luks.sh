# Guest-side LUKS helpers for tests/vm scenarios (busybox ash; sourced by guest-run.sh after
# guest-lib.sh). cryptsetup is the host's 2.6, copied in with its libraries. The image cache key
# of a scenario that sets LUKS_PASS covers this file too (run.sh: image_key).
#
# Scenarios with LUKS volumes set LUKS_PASS (the passphrase of every volume) and, optionally,
# CRYPTTAB (an /etc/crypttab text, written to /tmp/crypttab.tab for the cases that use it;
# an oracle copies it to /tmp/crypttab, which luks_name and luks_opts read). The
# passphrase is kept in /tmp/luks.pass: cryptsetup's and our --key-file read its exact bytes.
CRYPTSETUP=/usr/sbin/cryptsetup

luks_pass_file() {
  printf '%s' "$LUKS_PASS" > /tmp/luks.pass
  [ -n "${CRYPTTAB:-}" ] && printf '%s\n' "$CRYPTTAB" > /tmp/crypttab.tab
  mkdir -p /run/cryptsetup
  return 0
}

# luks_format DEV LUKSFORMAT-ARGS...: a LUKS volume with a UUID and a volume key derived from
# the device name (reproducible records: the DM UUID, and a LUKS1 key in `dmsetup table
# --showkeys`), small KDF costs unless the arguments say otherwise, and (LUKS2) a small
# metadata and keyslots area so the disks stay small.
luks_format() {
  local dev=$1 key hex; shift
  luks_pass_file
  hex=$(printf '%s' "vk:${dev#/dev/}" | sha512sum | cut -c1-128)
  printf "$(echo "$hex" | sed 's/../\\x&/g')" > /tmp/vk
  key=512
  case " $* " in *" --key-size "*) key="" ;; esac
  run $CRYPTSETUP luksFormat --batch-mode --uuid "$(mkuuid "luks:${dev#/dev/}")" \
    --key-file /tmp/luks.pass --volume-key-file /tmp/vk ${key:+--key-size $key} "$@" "$dev"
}

# luks_name UUID DEV: the name a volume gets: its crypttab name (/tmp/crypttab, by UUID= or
# device path) or luks-UUID, as systemd-cryptsetup-generator names it.
luks_name() {
  local u=$1 n=""
  [ -f /tmp/crypttab ] && n=$(awk -v u="UUID=$u" -v d="$2" '$2 == u || $2 == d { print $1; exit }' /tmp/crypttab)
  echo "${n:-luks-$u}"
}

# luks_opts UUID DEV: the cryptsetup options of its crypttab entry (discard, readonly).
luks_opts() {
  local u=$1 o=""
  [ -f /tmp/crypttab ] && o=$(awk -v u="UUID=$u" -v d="$2" '$2 == u || $2 == d { print $4; exit }' /tmp/crypttab)
  case ",$o," in *,discard,*) printf ' --allow-discards' ;; esac
  case ",$o," in *,readonly,* | *,read-only,*) printf ' --readonly' ;; esac
  return 0
}

# luks_open_all: opens every LUKS volume on a block device not yet open (cryptsetup open,
# named as luks_name says), as systemd-cryptsetup would with every volume in crypttab.
luks_open_all() {
  local d u open
  open=$($DMSETUP info -c --noheadings -o uuid 2>/dev/null)
  for d in /sys/class/block/*; do
    d=/dev/${d##*/}
    [ -f "/sys/class/block/${d#/dev/}/dm/uuid" ] && case $(cat "/sys/class/block/${d#/dev/}/dm/uuid") in CRYPT-*) continue ;; esac
    $CRYPTSETUP isLuks "$d" 2>/dev/null || continue
    u=$($CRYPTSETUP luksUUID "$d")
    echo "$open" | grep -q "^CRYPT-LUKS.-$(echo "$u" | tr -d -)-" && continue
    # shellcheck disable=SC2046
    $CRYPTSETUP open --key-file /tmp/luks.pass $(luks_opts "$u" "$d") "$d" "$(luks_name "$u" "$d")" || return 1
  done
  return 0
}

# The tools' activation of a stack with LUKS volumes: open, assemble, vgchange, and again (a
# volume inside an LV or an array), as the udev-driven boot of a Debian system does it.
oracle_luks() {
  local rc=0
  luks_open_all || rc=1
  $MDADM --assemble --scan 2>/dev/null
  $LVM vgchange -ay || rc=$?
  luks_open_all || rc=1
  $MDADM --assemble --scan 2>/dev/null
  $LVM vgchange -ay || rc=$?
  return $rc
}

# Closes every crypt device not in use (cryptsetup close); those held by another device stay.
crypt_close_all() {
  local n
  [ -x $CRYPTSETUP ] || return 0
  for n in $($DMSETUP info -c --noheadings --separator ' ' -o name,uuid 2>/dev/null | awk '$2 ~ /^CRYPT-/ { print $1 }'); do
    $CRYPTSETUP close "$n" 2>/dev/null
  done
  return 0
}
