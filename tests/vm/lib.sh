# Shared VM helpers (sourced). A Debian kernel under QEMU TCG, a busybox initramfs, disks as
# raw image files, results carried out of the guest on an extra "out" disk as a tar stream.
#
#   vm_kernel                      fetch + unpack the Debian kernel once (cached); sets KVER,
#                                  KROOT (unpacked package), VMLINUZ
#   vm_initramfs OUT [opts]        build a harness initramfs (busybox /init running a script)
#       --script FILE              guest script, run by busybox sh after modules are loaded
#       --tools "mdadm lvm ..."    host binaries copied in with their libraries (the oracle)
#       --modules "dm-mod ..."     kernel modules to load (dependencies resolved on the host)
#       --file SRC:DST             extra file (repeatable)
#   vm_run INITRD LOG [opts]       boot it; --disk IMG (repeatable, vda, vdb, ...),
#       --disk-snapshot IMG        a disk whose writes go to a throw-away overlay (qemu
#                                  snapshot=on): the image file is never modified
#       --out DIR                  where the guest's /out ends up, --timeout S, --append "..."
#       --mem MB, --qmp SOCK       (monitor socket for hot-plug tests)
#       --smp N                    virtual CPUs (default 1)
#       --qemu-arg ARG             one more QEMU argument (repeatable; the benchmark's -icount,
#                                  virtio-scsi disks)
#       --input FIFO               the serial console's input (default /dev/null): a test types
#                                  a passphrase by writing to it
#   VM_CPU=MODEL                   QEMU's -cpu (default: its qemu64)
#
# Facts behind the choices: ../shared/vm-notes.md (KVM hangs here: TCG only; softdeps such as
# crc32c before libcrc32c must be resolved by us; busybox prefers its applets: use full paths).

: "${CACHE:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/.cache}"
VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

vm_kernel() {
  local kdir=$CACHE/kernel pkg
  mkdir -p "$kdir"
  if [ ! -f "$kdir/ready" ]; then
    pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
    [ -n "$pkg" ] || { echo "vm_kernel: cannot resolve linux-image-amd64" >&2; return 1; }
    (cd "$kdir" && rm -rf root ./*.deb && apt-get download "$pkg" 2>/dev/null && dpkg -x ./*.deb root) || return 1
    KVER=$(ls "$kdir/root/lib/modules")
    depmod -b "$kdir/root" "$KVER" || return 1
    touch "$kdir/ready"
  fi
  KROOT=$kdir/root
  KVER=$(ls "$KROOT/lib/modules")
  VMLINUZ=$KROOT/boot/vmlinuz-$KVER
  export KROOT KVER VMLINUZ
}

# Ordered module paths (relative to /lib/modules/KVER) for the given names, deps first.
# (modprobe takes one module per call: further words would be its parameters.)
vm_module_list() {
  local m
  for m in "$@"; do
    modprobe -C /dev/null -d "$KROOT" -S "$KVER" --show-depends "$m" 2>/dev/null ||
      echo "vm_module_list: no module $m" >&2
  done | awk '$1=="insmod"{print $2}' | sed "s|^$KROOT/lib/modules/$KVER/||" | awk '!seen[$0]++'
}

# Copies a dynamically linked binary and the libraries ldd lists into DIR (same paths).
vm_copy_tool() {
  local dir=$1 bin=$2 lib
  mkdir -p "$dir$(dirname "$bin")"
  cp -L "$bin" "$dir$bin"
  for lib in $(ldd "$bin" 2>/dev/null | grep -o '/[^ ]*'); do
    [ -e "$dir$lib" ] && continue
    mkdir -p "$dir$(dirname "$lib")"
    cp -L "$lib" "$dir$lib"
  done
}

vm_initramfs() {
  local out=$1; shift
  local script="" tools="" modules="" files=() root m t
  while [ $# -gt 0 ]; do
    case $1 in
      --script) script=$2; shift 2 ;;
      --tools) tools=$2; shift 2 ;;
      --modules) modules=$2; shift 2 ;;
      --file) files+=("$2"); shift 2 ;;
      *) echo "vm_initramfs: unknown option $1" >&2; return 1 ;;
    esac
  done
  vm_kernel || return 1
  root=$(mktemp -d)
  # usr-merged like the Debian host, so copied tools keep their paths (/sbin/mdadm works).
  mkdir -p "$root"/{usr/bin,usr/sbin,usr/lib,usr/lib64,etc/lvm,proc,sys,dev,run,tmp,out,mnt}
  ln -s usr/bin "$root/bin"; ln -s usr/sbin "$root/sbin"; ln -s usr/lib "$root/lib"; ln -s usr/lib64 "$root/lib64"
  mkdir -p "$root/lib/modules/$KVER"
  cp /bin/busybox "$root/bin/busybox"
  for m in $(vm_module_list $modules); do
    mkdir -p "$root/lib/modules/$KVER/$(dirname "$m")"
    cp "$KROOT/lib/modules/$KVER/$m" "$root/lib/modules/$KVER/$m"
    echo "$m" >> "$root/modules.load"
  done
  for t in $tools; do
    t=$(command -v "$t") || { echo "vm_initramfs: tool not found: $t" >&2; return 1; }
    vm_copy_tool "$root" "$(readlink -f "$t")"
    [ "$(readlink -f "$t")" = "$t" ] || { mkdir -p "$root$(dirname "$t")"; ln -sf "$(readlink -f "$t")" "$root$t"; }
  done
  # lvm2 without udev (vm-notes.md). thin_check/cache_check keep lvm2's defaults: an image
  # that carries them (tests/vm/run.sh) gets lvm2's normal pool checks; one that does not gets
  # lvm2's "Check is skipped, please install recommended missing binary" and the pool anyway.
  cat > "$root/etc/lvm/lvm.conf" <<'EOF'
activation { udev_sync = 0 udev_rules = 0 monitoring = 0 }
devices { obtain_device_list_from_udev = 0 }
global { use_lvmlockd = 0 }
EOF
  for t in "${files[@]}"; do
    mkdir -p "$root$(dirname "${t#*:}")"
    cp -L "${t%%:*}" "$root${t#*:}"
  done
  [ -n "$script" ] && cp "$script" "$root/scenario.sh"
  cp "$VM_DIR/guest-init.sh" "$root/init"
  chmod +x "$root/init"
  (cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$out"
  rm -rf "$root"
}

vm_run() {
  local initrd=$1 log=$2; shift 2
  local disks=() outdir="" timeout=300 append="" mem=1024 qmp="" input=/dev/null outimg letter i=0 rc smp=1 extra=()
  while [ $# -gt 0 ]; do
    case $1 in
      --disk) disks+=("$2"); shift 2 ;;
      --disk-snapshot) disks+=("$2,snapshot=on"); shift 2 ;;
      --out) outdir=$2; shift 2 ;;
      --timeout) timeout=$2; shift 2 ;;
      --append) append=$2; shift 2 ;;
      --mem) mem=$2; shift 2 ;;
      --qmp) qmp=$2; shift 2 ;;
      --smp) smp=$2; shift 2 ;;
      --qemu-arg) extra+=("$2"); shift 2 ;;
      --input) input=$2; shift 2 ;;
      *) echo "vm_run: unknown option $1" >&2; return 1 ;;
    esac
  done
  vm_kernel || return 1
  local args=(-accel tcg -m "$mem" -smp "$smp" -nographic -no-reboot -nic none -kernel "$VMLINUZ" -initrd "$initrd")
  # VM_CPU: a QEMU CPU model (default qemu64; `max` gives TCG's AVX2, for benchmarks).
  [ -n "${VM_CPU:-}" ] && args+=(-cpu "$VM_CPU")
  for d in "${disks[@]}"; do
    args+=(-drive "file=$d,format=raw,if=virtio,cache=unsafe")
    i=$((i + 1))
  done
  if [ -n "$outdir" ]; then
    outimg=$(mktemp --suffix=.out.img)
    truncate -s 64M "$outimg"
    args+=(-drive "file=$outimg,format=raw,if=virtio,cache=unsafe")
    letter=$(printf "\\x$(printf %x $((97 + i)))")
    append="$append vmout=vd$letter"
  fi
  [ -n "$qmp" ] && args+=(-qmp "unix:$qmp,server,nowait")
  args+=("${extra[@]}")
  timeout "$timeout" qemu-system-x86_64 "${args[@]}" \
    -append "console=ttyS0 panic=-1 loglevel=4 $append" <"$input" >"$log" 2>&1
  rc=$?
  tr -d '\r' <"$log" >"$log.tmp" && mv "$log.tmp" "$log"
  if [ -n "$outdir" ]; then
    mkdir -p "$outdir"
    tar -xf "$outimg" -C "$outdir" 2>/dev/null
    rm -f "$outimg"
  fi
  [ $rc -eq 124 ] && echo "vm_run: timed out after ${timeout}s (log: $log)" >&2
  return $rc
}
