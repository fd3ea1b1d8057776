#!/bin/bash
# Real-kernel test of exec/: builds tests/vm_exec.rs static (musl), boots it with mdadm, lvm
# and dmsetup as the oracle (tests/vm/exec/guest.sh) and prints "N passed, N failed".
# Exit status 0 only when every check passed.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
cd "$ROOT"
. tests/vm/lib.sh
export PKG_CONFIG_ALLOW_CROSS=1

bin=$(cargo test --release --target x86_64-unknown-linux-musl --features vm-tests --test vm_exec \
  --no-run --message-format=json |
  jq -r 'select(.reason=="compiler-artifact" and .target.name=="vm_exec") | .executable // empty' |
  tail -n1)
[ -x "$bin" ] || { echo "run.sh: test binary not built" >&2; exit 1; }

work=$CACHE/vm-exec
rm -rf "$work"
mkdir -p "$work"
for d in a b c d; do truncate -s 64M "$work/$d.img"; done
truncate -s 16M "$work/e.img"

vm_initramfs "$work/initrd.gz" --script tests/vm/exec/guest.sh \
  --tools "mdadm lvm dmsetup mke2fs" \
  --modules "virtio_pci virtio_blk crc32c_generic dm-mod dm-zero md-mod raid1 ext4" \
  --file "$bin:/vm_exec"
rc=0
vm_run "$work/initrd.gz" "$work/console.log" --out "$work/out" --timeout 900 \
  --disk "$work/a.img" --disk "$work/b.img" --disk "$work/c.img" --disk "$work/d.img" \
  --disk "$work/e.img" || rc=$?
grep -E '^(PASS|FAIL):' "$work/out/log" 2>/dev/null || true
if [ ! -f "$work/out/result" ]; then
  echo "run.sh: no result from the guest (qemu rc $rc); console: $work/console.log" >&2
  exit 1
fi
cat "$work/out/result"
grep -q ' 0 failed' "$work/out/result"
