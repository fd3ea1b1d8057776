#!/bin/bash
# `make bench`: activation time of evms-activate against mdadm + lvm2 on the same disks, in the
# same VM boot (tests/vm/run.sh records guest uptime around each step: CASE/STEP.time).
# The oracle step is `mdadm --assemble --scan` + `lvm vgchange -ay` (or the scenario's own
# oracle command); ours is `evms-activate activate` on the same pristine disks, with the same
# modules already loaded. Prints guest seconds and the ratio oracle/ours per case; no
# thresholds (speed is measured, not asserted).
# Usage: tests/bench.sh [SCENARIO...]   (default: flagship twopv mdlevels lvparts)
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
: "${CACHE:=$ROOT/.cache}"
export CACHE
scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(flagship twopv mdlevels lvparts)
"$ROOT/tests/vm/run.sh" "${scenarios[@]}" >/dev/null 2>&1
rc=$?
[ $rc -eq 0 ] || echo "note: tests/vm/run.sh reported failures (rc $rc); timings below may be partial"
span() { awk '{ printf "%.3f", $2 - $1 }' "$1"; }
printf '%-22s %14s %14s %8s\n' "scenario/case" "mdadm+lvm2 s" "ours s" "ratio"
tot_o=0 tot_u=0
for s in "${scenarios[@]}"; do
  for c in "$CACHE/vm/run/$s/test/cases"/*/; do
    c=${c%/}
    [ -f "$c/oracle.time" ] && [ -f "$c/ours1.time" ] || continue
    o=$(span "$c/oracle.time"); u=$(span "$c/ours1.time")
    printf '%-22s %14s %14s %8s\n' "$s/$(basename "$c")" "$o" "$u" "$(awk -v o="$o" -v u="$u" 'BEGIN { if (u > 0) printf "%.1fx", o / u; else print "-" }')"
    tot_o=$(awk -v a="$tot_o" -v b="$o" 'BEGIN { print a + b }')
    tot_u=$(awk -v a="$tot_u" -v b="$u" 'BEGIN { print a + b }')
  done
done
printf '%-22s %14s %14s %8s\n' "total" "$tot_o" "$tot_u" "$(awk -v o="$tot_o" -v u="$tot_u" 'BEGIN { if (u > 0) printf "%.1fx", o / u; else print "-" }')"
echo "(guest seconds under QEMU TCG on this machine; ratio = mdadm+lvm2 time / evms-activate time)"
