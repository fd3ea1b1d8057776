#!/bin/bash
# Boot VM test for src/boot (PID 1): an initramfs holding ONLY our static binary as /init and
# the kernel modules it needs (/lib/modules/KVER with depmod's indexes), a whole-disk ext4 root
# on virtio whose /sbin/init is a busybox script that reports and powers off.
#
# Scenarios (each one QEMU boot, TCG):
#   ok        root=/dev/vda rootfstype=ext4: coldplug loads virtio_pci, the virtio device's
#             uevent loads virtio_blk, vda's uevent resolves root, fs-ext4 alias loads ext4,
#             mount, switch_root, exec /sbin/init with the kernel's init arguments.
#   fstype    root=/dev/vda rw, no rootfstype, /etc/evms/modules lists ext4: the generator's
#             module list and the kernel-style "try every block filesystem" mount.
#   missing   root=/dev/vdb rd.timeout=3 panic=5: the diagnostic within timeout + 2 s, then a
#             reboot (QEMU runs with -no-reboot, so it exits).
#   noshell   rd.shell without a shell in the initramfs: a clear message, then panic= policy.
#
# Usage: tests/vm/boot/run.sh [scenario...]   (builds the musl binary if missing)
# Prints guest times (CLOCK_MONOTONIC, from the stage lines) and PASS/FAIL per scenario.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
: "${CACHE:=$top/.cache}"
export CACHE
# The kernel is shared read-only with the main checkout when this tree has none.
if [ ! -e "$CACHE/kernel" ] && [ -d /work/main/.cache/kernel ]; then
  mkdir -p "$CACHE" && ln -s /work/main/.cache/kernel "$CACHE/kernel"
fi
. "$top/tests/vm/lib.sh"
vm_kernel || exit 1

BIN=${BIN:-$top/target/x86_64-unknown-linux-musl/release/evms-activate}
if [ ! -x "$BIN" ]; then
  (cd "$top" && PKG_CONFIG_ALLOW_CROSS=1 cargo build --release --target x86_64-unknown-linux-musl) || exit 1
fi
file "$BIN" | grep -q 'static' || { echo "not a static binary: $BIN" >&2; exit 1; }

work=$CACHE/vm-boot
rm -rf "$work"; mkdir -p "$work"

# --- the initramfs: /init + modules, nothing else -------------------------------------------
make_initramfs() { # OUT [MODULE_LIST_FILE]
  local out=$1 list=${2:-} root m
  root=$(mktemp -d)
  cp "$BIN" "$root/init"
  mkdir -p "$root/lib/modules/$KVER"
  # virtio_pci for the controller, virtio_blk for the disk, ext4 (+ its softdep crc32c).
  for m in $(vm_module_list virtio_pci virtio_blk ext4); do
    mkdir -p "$root/lib/modules/$KVER/$(dirname "$m")"
    cp "$KROOT/lib/modules/$KVER/$m" "$root/lib/modules/$KVER/$m"
  done
  cp "$KROOT/lib/modules/$KVER/modules.builtin" "$KROOT/lib/modules/$KVER/modules.builtin.modinfo" \
     "$KROOT/lib/modules/$KVER/modules.order" "$root/lib/modules/$KVER/"
  depmod -b "$root" "$KVER" || return 1
  # Keep only the text indexes our binary reads.
  (cd "$root/lib/modules/$KVER" && rm -f ./*.bin modules.symbols modules.devname modules.order)
  if [ -n "$list" ]; then
    mkdir -p "$root/etc/evms"
    cp "$list" "$root/etc/evms/modules"
  fi
  (cd "$root" && find . | sort | cpio -o -H newc --quiet | gzip -1) > "$out"
  (cd "$root" && find . -type f | sort) > "$out.files"
  rm -rf "$root"
}

# --- the root disk: ext4 on the whole disk, busybox + /sbin/init script -----------------------
make_rootdisk() { # OUT
  local out=$1 r a
  r=$(mktemp -d)
  mkdir -p "$r"/{bin,sbin,proc,sys,dev,run,tmp,etc}
  cp /bin/busybox "$r/bin/busybox"
  for a in $(/bin/busybox --list); do [ -e "$r/bin/$a" ] || ln -s busybox "$r/bin/$a"; done
  cat > "$r/sbin/init" <<'EOF'
#!/bin/sh
# The "real init" of the test root: prove where we are, then power off.
echo "EVMS-ROOT-OK pid=$$"
echo "EVMS-INIT-ARGS=$*"
echo "EVMS-PROC1=$(tr '\0' ' ' < /proc/1/cmdline)"
while read -r dev mnt type opts _; do
  case $mnt in /|/dev|/proc|/sys|/run) echo "EVMS-MOUNT $mnt $dev $type ${opts%%,*}";; esac
done < /proc/mounts
dmesg | grep -E 'evms-activate|Run /init as init process' | sed 's/^/EVMS-DMESG /'
poweroff -f
EOF
  chmod 755 "$r/sbin/init"
  truncate -s 64M "$out"
  mke2fs -q -t ext4 -F -L evmsroot -d "$r" "$out" || return 1
  rm -rf "$r"
}

make_rootdisk "$work/root.img" || exit 1
make_initramfs "$work/initrd.gz" || exit 1
echo ext4 > "$work/modules.list"
make_initramfs "$work/initrd-list.gz" "$work/modules.list" || exit 1
echo "initramfs contents: $(wc -l < "$work/initrd.gz.files") files, $(du -k "$work/initrd.gz" | cut -f1) KiB gzipped"

fails=0
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; fails=$((fails + 1)); }
need() { # SCEN LOG PATTERN
  grep -qE -- "$3" "$2" || { fail "$1" "no line matching '$3' in $2"; return 1; }
}
# Kernel timestamp (seconds) of the first console line matching PATTERN.
ktime() { grep -E -- "$2" "$1" | head -1 | sed -n 's/^\[ *\([0-9.]*\)\].*/\1/p'; }
# t= of a stage line in the root's dmesg dump.
stage_t() { grep -E "stage $2 t=" "$1" | head -1 | sed -n 's/.*stage [a-z-]* t=\([0-9.]*\).*/\1/p'; }

scen_ok() {
  local log=$work/ok.log
  vm_run "$work/initrd.gz" "$log" --disk "$work/root.img" --timeout 180 \
    --append "root=/dev/vda rootfstype=ext4 rd.timeout=30 evms.debug -- evms-arg1 evms-arg2"
  need ok "$log" 'EVMS-ROOT-OK pid=1$' || return
  need ok "$log" '^EVMS-INIT-ARGS=evms-arg1 evms-arg2$' || return
  need ok "$log" '^EVMS-PROC1=/bin/sh /sbin/init evms-arg1 evms-arg2 $' || return
  need ok "$log" '^EVMS-MOUNT / /dev/vda ext4 ro$' || return
  need ok "$log" '^EVMS-MOUNT /dev devtmpfs devtmpfs' || return
  need ok "$log" '^EVMS-MOUNT /run tmpfs tmpfs' || return
  need ok "$log" '^EVMS-MOUNT /proc proc proc' || return
  need ok "$log" '^EVMS-MOUNT /sys sysfs sysfs' || return
  need ok "$log" 'evms-activate: loaded module virtio_pci' || return
  need ok "$log" 'evms-activate: loaded module virtio_blk' || return
  need ok "$log" 'evms-activate: loaded module ext4' || return
  need ok "$log" 'evms-activate: block device vda \([0-9]+:0\) appeared' || return
  need ok "$log" 'evms-activate: switch_root: deleted [1-9][0-9]* initramfs entries' || return
  local s m c r w
  s=$(stage_t "$log" start); m=$(stage_t "$log" modules-loaded); c=$(stage_t "$log" root-chain-active)
  r=$(stage_t "$log" root-mounted); w=$(stage_t "$log" switch-root)
  [ -n "$s" ] && [ -n "$w" ] || { fail ok "stage lines missing"; return; }
  awk -v s="$s" -v m="$m" -v c="$c" -v r="$r" -v w="$w" 'BEGIN {
    printf "  guest times: /init start t=%.3f; modules-loaded +%.3f s; root-chain-active +%.3f s; root-mounted +%.3f s; switch-root (exec of the real init) +%.3f s\n", s, m-s, c-s, r-s, w-s }'
  # The same span on the kernel's log clock, from the kernel's own "Run /init" line.
  local k0 k1
  k0=$(grep 'EVMS-DMESG.*Run /init as init process' "$log" | sed -n 's/^EVMS-DMESG \[ *\([0-9.]*\)\].*/\1/p')
  k1=$(grep 'EVMS-DMESG.*stage switch-root' "$log" | sed -n 's/^EVMS-DMESG \[ *\([0-9.]*\)\].*/\1/p')
  [ -n "$k0" ] && [ -n "$k1" ] && awk -v a="$k0" -v b="$k1" 'BEGIN { printf "  kernel log clock: Run /init at %.3f, switch-root logged %.3f s later\n", a, b - a }'
  grep -o 'coldplug: .*' "$log" | sed 's/^/  /'
  pass ok
}

scen_fstype() {
  local log=$work/fstype.log
  vm_run "$work/initrd-list.gz" "$log" --disk "$work/root.img" --timeout 180 \
    --append "root=/dev/vda rw evms.debug"
  need fstype "$log" 'EVMS-ROOT-OK pid=1$' || return
  need fstype "$log" '^EVMS-MOUNT / /dev/vda ext4 rw$' || return
  need fstype "$log" 'evms-activate: loaded module ext4' || return
  need fstype "$log" 'evms-activate: mounted /dev/vda \(ext4, rw\) on /sysroot' || return
  pass fstype
}

scen_missing() {
  local log=$work/missing.log t0 t1 start
  start=$(date +%s)
  vm_run "$work/initrd.gz" "$log" --disk "$work/root.img" --timeout 120 \
    --append "root=/dev/vdb rd.timeout=3 panic=5 loglevel=7"
  local rc=$?
  [ $rc -eq 0 ] || { fail missing "QEMU did not end by itself (rc $rc)"; return; }
  need missing "$log" 'evms-activate: Gave up after 3\.[0-9] s waiting for root /dev/vdb: still missing block device /dev/vdb' || return
  need missing "$log" 'evms-activate: Block devices present: vda \([0-9]+:0 disk\)' || return
  need missing "$log" 'evms-activate: Rebooting in 5 s \(panic=5\)' || return
  need missing "$log" 'reboot: Restarting system' || return
  t0=$(ktime "$log" 'Run /init as init process')
  t1=$(ktime "$log" 'evms-activate: Gave up after')
  awk -v a="$t0" -v b="$t1" 'BEGIN { d = b - a; printf "  diagnostic %.2f s after /init started (rd.timeout=3)\n", d; exit !(d <= 5.0) }' ||
    { fail missing "diagnostic later than timeout + 2 s"; return; }
  local tr; tr=$(ktime "$log" 'reboot: Restarting system')
  awk -v a="$t1" -v b="$tr" 'BEGIN { d = b - a; printf "  reboot %.2f s after the diagnostic (panic=5)\n", d; exit !(d >= 4.9 && d < 7) }' ||
    { fail missing "reboot not ~5 s after the diagnostic"; return; }
  echo "  wall: $(( $(date +%s) - start )) s"
  pass missing
}

scen_noshell() {
  local log=$work/noshell.log
  vm_run "$work/initrd.gz" "$log" --disk "$work/root.img" --timeout 120 \
    --append "root=/dev/vdb rd.timeout=2 rd.shell panic=1"
  local rc=$?
  [ $rc -eq 0 ] || { fail noshell "QEMU did not end by itself (rc $rc)"; return; }
  need noshell "$log" 'evms-activate: rd.shell: there is no shell \(/bin/sh\) in this initramfs; add one when generating it' || return
  need noshell "$log" 'evms-activate: Rebooting in 1 s \(panic=1\)' || return
  pass noshell
}

scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(ok fstype missing noshell)
for s in "${scenarios[@]}"; do
  "scen_$s"
done
echo "logs: $work/*.log"
[ $fails -eq 0 ]
