#!/bin/bash
# `make test`: every suite in order, each one's output shown, then one summary line
# "N passed, N failed" counting suites. A suite that fails does not stop the others.
#   unit       cargo test (parsers, golden real-tool fixtures, mutate-one-field, plan, engine)
#   md-data    whole MD arrays made by mdadm in a VM, read through our RAID mapping: sha256
#   luks-data  LUKS volumes made by cryptsetup in a VM: unlocked to cryptsetup's volume key,
#              our dm-crypt tables equal to the ones cryptsetup loaded, the data area
#              decrypted in user space equal to the kernel's mapping
#   discovery  scan/plan on the scenario images vs lvm2's tables, lvs/pvs, mdadm --detail
#              (LUKS scenarios read through with their passphrase)
#   vm         real-kernel activation vs mdadm + lvm2 + kpartx (+ cryptsetup) in the same boot
#   exec-vm    the executor's own kernel tests (conflicts, failures, cleanup, deactivation)
#   package    make install/uninstall into scratch trees; make deb through lintian
#   boot-test  our binary as the only program in the initramfs: root on GPT, RAID5+LVM, MD
#              partitions, degraded, hot-plug, missing root; initramfs-tools, dracut and
#              mkinitcpio images; the Debian package installed in a chroot, its image booted;
#              LUKS roots with the passphrase typed on the console, a key file, wrong
#              passphrases, the founding stack, a systemd root taking the volume over
#   fuzz-smoke every cargo-fuzz target briefly from the real-tool seeds (crash regressions)
set -uo pipefail
cd "$(dirname "$0")/.."
suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(unit md-data luks-data vm discovery exec-vm package boot-test fuzz-smoke)
pass=0 fail=0 failed=()
start=$(date +%s)
for s in "${suites[@]}"; do
  t0=$(date +%s)
  echo "=== suite $s"
  if make --no-print-directory "$s"; then
    pass=$((pass + 1))
    echo "=== suite $s: ok ($(( $(date +%s) - t0 )) s)"
  else
    fail=$((fail + 1))
    failed+=("$s")
    echo "=== suite $s: FAILED ($(( $(date +%s) - t0 )) s)"
  fi
done
echo "=== total $(( $(date +%s) - start )) s${failed:+; failed: ${failed[*]}}"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
