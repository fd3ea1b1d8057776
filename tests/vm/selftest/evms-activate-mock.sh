#!/bin/sh
# Harness self-test, NOT the product: a stand-in for /bin/evms-activate that does its work with
# mdadm, lvm2 and kpartx, so that `tests/vm/run.sh --ours tests/vm/selftest/evms-activate-mock.sh`
# shows the runner passing a scenario when "ours" behaves like the tools (and failing where it
# does not). Implements the CLI contract's activate/deactivate only.
. /vm/guest-lib.sh
SCEN=$(sed -n 's/.*[ ]vmscen=\([^ ]*\).*/\1/p' /proc/cmdline)
. "/vm/scenarios/$SCEN.sh"
cmd=$1; shift
degraded=0 vols=""
for a in "$@"; do
  case $a in --degraded) degraded=1 ;; --*) ;; *) vols="$vols $a" ;; esac
done
case $cmd in
activate)
  # --no-degraded: start an array only when every device its freshest superblock expects is
  # there (a stale member the others recorded as gone is not expected).
  if [ $degraded = 1 ]; then $MDADM --assemble --scan --run; else $MDADM --assemble --scan --no-degraded; fi
  if [ -n "$vols" ]; then
    # shellcheck disable=SC2086
    $LVM lvchange -ay $vols || exit 1
  else
    $LVM vgchange -ay || exit 1
  fi
  for m in $KPARTX_ON; do
    if [ -e "/dev/mapper/$m" ]; then $KPARTX -a -s "/dev/mapper/$m" || exit 1; fi
  done
  exit 0 ;;
deactivate)
  for m in $KPARTX_ON; do
    if [ -e "/dev/mapper/$m" ]; then $KPARTX -d "/dev/mapper/$m"; fi
  done
  $LVM vgchange -an || exit 1
  $MDADM --stop --scan
  exit 0 ;;
*)
  echo "mock: $cmd not implemented" >&2
  exit 2 ;;
esac
