#!/bin/bash
# Discovery on image files — no root, no kernel DM/MD — against the real tools' own records.
#
# The disk images are the activation scenarios' (tests/vm/scenarios: written by sfdisk, mdadm,
# lvm2, mke2fs in a VM; cached under .cache/vm). For each scenario whose oracle has an "all" case:
#   * `plan --image` must print, for every DM device, exactly the table lines lvm2/kpartx loaded
#     (`dmsetup table` in the VM, maj:min mapped to names: tests/fixtures/oracle/S/all/dm-table),
#     and the arrays with the members and slots the kernel reported (…/md);
#   * `scan --image --json` must report every LV `lvs` reported (name, size, active unless
#     lvm2 skipped it), every PV `pvs` reported (UUID), every array `mdadm --detail --export`
#     reported (UUID, level, metadata, /dev/md name).
# Scenarios with LUKS volumes (LUKS_PASS set) are planned with their passphrase as --key-file:
# what the volumes hold is read through them in user space, the whole stack in one plan.
# Image names follow the kernel's (vda, vdb, ...) so the names in tables match.
# Usage: tests/discovery.sh [SCENARIO...]   Prints "N passed, N failed".
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
: "${CACHE:=$ROOT/.cache}"
export CACHE
BIN=${BIN:-$ROOT/target/x86_64-unknown-linux-musl/release/evms-activate}
[ -x "$BIN" ] || (cd "$ROOT" && cargo build --release --target x86_64-unknown-linux-musl) || exit 1
ORACLE=$ROOT/tests/fixtures/oracle
OUT=$CACHE/discovery
HOMEHOST=evms-vm   # the scenarios' mdadm homehost (tests/vm/guest-lib.sh)

scenarios=("$@")
if [ ${#scenarios[@]} -eq 0 ]; then
  for d in "$ORACLE"/*/all; do scenarios+=("$(basename "$(dirname "$d")")"); done
fi
"$ROOT/tests/vm/run.sh" --export-images "$OUT" "${scenarios[@]}" >/dev/null || { echo "cannot export the scenario images"; exit 1; }

pass=0 fail=0
for s in "${scenarios[@]}"; do
  dir=$OUT/$s
  args=() i=0
  while read -r img; do
    args+=(--image "vd$(printf "\\x$(printf %x $((97 + i)))")=$dir/$img")
    i=$((i + 1))
  done < "$dir/test-disks"
  problems=()
  # LUKS scenarios: their one passphrase as a key file; every volume is read through.
  luks_pass=$(bash -c ". '$ROOT/tests/vm/scenarios/$s.sh' >/dev/null 2>&1; printf %s \"\${LUKS_PASS:-}\"")
  if [ -n "$luks_pass" ]; then
    printf '%s' "$luks_pass" > "$OUT/$s.pass"
    args+=(--key-file "$OUT/$s.pass")
  fi
  plan=$("$BIN" plan --json --homehost "$HOMEHOST" "${args[@]}")
  scan=$("$BIN" scan --json --homehost "$HOMEHOST" "${args[@]}")

  # DM tables, line for line (a LUKS1 key, which `dmsetup table --showkeys` printed, as plan
  # prints it: hidden). dm-raid prints max_write_behind back from MD's bitmap, not as given
  # (plan/dm comparable); dmsetup prints a target without parameters, `error`, `zero`, with a
  # trailing blank.
  mask='s/ max_write_behind [0-9]+ / max_write_behind * /'
  want=$(sed -E "s/ *$//; $mask" "$ORACLE/$s/all/dm-table" |
    awk '$4 == "crypt" && $6 ~ /^[0-9a-f]+$/ { gsub(/./, "0", $6) } { print }' | sort)
  got=$(jq -r '.steps[] | select(.action=="create-dm") | .name as $n | .table[] | "\($n): \(.)"' <<<"$plan" | sed -E "$mask" | sort)
  [ "$want" = "$got" ] || problems+=("DM tables differ:"$'\n'"$(diff <(echo "$want") <(echo "$got") | sed 's/^/      /')")

  # Arrays: kernel name, level, metadata, members and slots.
  want=$(awk '$2=="member"{print $1, $3, $4} $2 ~ /^size=/ {for(i=2;i<=NF;i++) if ($i ~ /^(level|metadata_version)=/) printf "%s %s\n", $1, $i}' "$ORACLE/$s/all/md" 2>/dev/null | sort)
  got=$(jq -r '.steps[] | select(.action=="assemble-md") | . as $m |
      ("\($m.devnm) level=\($m.level)", "\($m.devnm) metadata_version=\($m.metadata)"),
      (.members[] | select(.role|type=="number") | "\($m.devnm) \(.device) slot=\(.role)")' <<<"$plan" | sort)
  [ "$want" = "$got" ] || problems+=("arrays differ:"$'\n'"$(diff <(echo "$want") <(echo "$got") | sed 's/^/      /')")

  # LVs: every visible LV lvs lists, with its size (`lvs -a` also lists the hidden ones in
  # brackets, [pool_tdata]; scan's list is of visible LVs).
  want=$(jq -r '.report[0].lv[] | select(.lv_name|startswith("[")|not) | "\(.vg_name)/\(.lv_name) \(.lv_size|rtrimstr("S"))"' "$ORACLE/$s/all/lvm-lvs" | sort -u)
  got=$(jq -r '.vgs[] | .name as $v | .lvs[] | select(.visible) | "\($v)/\(.name) \(.sectors)"' <<<"$scan" | sort -u)
  [ "$want" = "$got" ] || problems+=("LVs differ from lvs:"$'\n'"$(diff <(echo "$want") <(echo "$got") | sed 's/^/      /')")

  # PVs by UUID.
  want=$(jq -r '.report[0].pv[] | select(.vg_name!="") | .pv_uuid' "$ORACLE/$s/all/lvm-pvs" | sort)
  got=$(jq -r '.vgs[].pvs[] | select(.device!=null) | .uuid' <<<"$scan" | sort)
  [ "$want" = "$got" ] || problems+=("PVs differ from pvs:"$'\n'"$(diff <(echo "$want") <(echo "$got") | sed 's/^/      /')")

  # Arrays by mdadm --detail --export: UUID, level, metadata, /dev/md name.
  want=$(awk '$2 ~ /^MD_(UUID|LEVEL|METADATA|DEVNAME)=/ {print $2}' "$ORACLE/$s/all/md-detail" 2>/dev/null | sort)
  got=$(jq -r '.arrays[] | "MD_UUID=\(.uuid)", "MD_LEVEL=\(.level)", "MD_METADATA=\(.metadata)", (select(.name!=null) | "MD_DEVNAME=\(.name)")' <<<"$scan" | sort)
  [ "$want" = "$got" ] || problems+=("arrays differ from mdadm --detail --export:"$'\n'"$(diff <(echo "$want") <(echo "$got") | sed 's/^/      /')")

  if [ ${#problems[@]} -eq 0 ]; then
    echo "PASS $s"
    pass=$((pass + 1))
  else
    echo "FAIL $s"
    printf '    %s\n' "${problems[@]}"
    fail=$((fail + 1))
  fi
done
# LVs of the segment scenarios read in user space (RAID, mirror, pvmove) vs lvm2's devices.
lvm_data=()
for s in "${scenarios[@]}"; do
  case $s in lvraid | lvraiddeg | lvmirror | pvmove) lvm_data+=("$s") ;; esac
done
if [ ${#lvm_data[@]} -gt 0 ]; then
  # lvraiddeg has no "all" case: exported here for its degraded reads.
  "$ROOT/tests/vm/run.sh" --export-images "$OUT" lvraid lvraiddeg lvmirror pvmove >/dev/null || true
  if (cd "$ROOT" && LVM_DATA_DIR=$OUT cargo test --quiet --test lvm_data 2>&1); then
    echo "PASS lvm-data (RAID, mirror and pvmove LVs read in user space = lvm2's devices)"
    pass=$((pass + 1))
  else
    echo "FAIL lvm-data"
    fail=$((fail + 1))
  fi
fi
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
