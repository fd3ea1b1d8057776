#!/bin/bash
# `make bench` (QUICK=1: the small cases only): evms-activate against mdadm + lvm2 in the same
# VM boots, split by who spends the time; boot time; binary and initramfs sizes. Writes
# target/bench/report.md (printed at the end), target/bench/*.svg, and the raw results in
# target/bench/results/. Nothing is asserted: speed is measured, not tested.
#
# Activation cases (tests/bench/guest.sh runs them; disks written by the real tools, cached):
#   flagship twopv mdlevels lvparts   the vm suite's scenarios (tests/vm/run.sh --export-images)
#   lv250 lv500 lv1000 history stripe64 md16   tests/bench/disks.sh
# Every activation case runs under QEMU TCG with -icount shift=0,sleep=on: guest time advances
# one nanosecond per instruction executed, and in real time only while the guest idles
# (waiting for a disk, a timer): the figures repeat on a shared, loaded machine, which wall
# time under TCG does not (2x between runs here). Each side is timed from the guest shell
# (GNU date, nanoseconds); ours also reports the time spent inside the kernel's calls.
#
# Usage: tests/bench.sh [CASE...]      (default: all; QUICK=1 in the environment: small only)
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
: "${CACHE:=$ROOT/.cache}"
export CACHE
. "$ROOT/tests/vm/lib.sh"
vm_kernel || exit 1
OUT=$ROOT/target/bench
RES=$OUT/results
BIN=$ROOT/target/x86_64-unknown-linux-musl/release/evms-activate
SMALL="flagship twopv mdlevels lvparts"
SCALE="lv250 lv500 lv1000 history stripe64 md16"
cases=("$@")
if [ ${#cases[@]} -eq 0 ]; then
  if [ "${QUICK:-0}" = 1 ]; then read -ra cases <<<"$SMALL"; else read -ra cases <<<"$SMALL $SCALE"; fi
fi
t_start=$(date +%s)
(cd "$ROOT" && cargo build --release --target x86_64-unknown-linux-musl --quiet) || exit 1
rm -rf "$RES" && mkdir -p "$RES"
log() { echo "bench: $*" >&2; }

# --- the guest initramfs: tools, modules, udev --------------------------------------------------
ir=$CACHE/bench/initrd.gz
udev_files=()
for r in 50-udev-default 55-dm 56-lvm 60-block 60-persistent-storage 60-persistent-storage-dm \
  63-md-raid-arrays 80-drivers 95-dm-notify; do
  [ -f "/lib/udev/rules.d/$r.rules" ] && udev_files+=(--file "/lib/udev/rules.d/$r.rules:/lib/udev/rules.d/$r.rules")
done
# systemd-udevd is udevadm under another name (a symlink on the host); 69-lvm.rules and
# 64-md-raid-assembly.rules are left out: they would activate on their own while we time.
udev_files+=(--file "$(readlink -f /lib/systemd/systemd-udevd):/lib/systemd/systemd-udevd")
mkdir -p "$CACHE/bench"
vm_initramfs "$ir" --script "$ROOT/tests/bench/guest.sh" \
  --tools "mdadm lvm dmsetup kpartx blkid strace udevadm date" \
  --modules "virtio_pci virtio_blk virtio_scsi sd_mod crc32c_generic dm-mod dm-zero md-mod raid0 raid1 raid10 raid456" \
  --file "$BIN:/bin/evms-activate" "${udev_files[@]}" || { log "cannot build the initramfs"; exit 1; }

# --- disks ---------------------------------------------------------------------------------------
declare -A DIR
small_dir=$CACHE/bench/small
need_small=()
for c in "${cases[@]}"; do
  case " $SMALL " in *" $c "*) [ -f "$small_dir/$c/test-disks" ] || need_small+=("$c") ;; esac
done
if [ ${#need_small[@]} -gt 0 ]; then
  log "exporting the vm suite's images: ${need_small[*]}"
  "$ROOT/tests/vm/run.sh" --export-images "$small_dir" "${need_small[@]}" >&2 || { log "export failed"; exit 1; }
fi
for c in "${cases[@]}"; do
  case " $SMALL " in
    *" $c "*) DIR[$c]=$small_dir/$c
      sed 's/^/virtio /' "$small_dir/$c/test-disks" > "$small_dir/$c/disks" ;;
    *) log "disks for $c"; DIR[$c]=$("$ROOT/tests/bench/disks.sh" "$c") || { log "disks.sh $c failed"; exit 1; } ;;
  esac
done

# --- one boot ------------------------------------------------------------------------------------
# boot CASE TAG STEPS [KPARTX]: results in $RES/CASE.TAG/
boot() {
  local c=$1 tag=$2 steps=$3 kp=${4:-} dir=${DIR[$1]} args=() kind f i=0 t0
  local out=$RES/$c.$tag
  while read -r kind f; do
    case $kind in
      virtio) args+=(--disk-snapshot "$dir/$f") ;;
      scsi)
        [ $i -eq 0 ] && args+=(--qemu-arg -device --qemu-arg virtio-scsi-pci,id=scsi0)
        args+=(--qemu-arg -drive --qemu-arg "file=$dir/$f,if=none,id=s$i,format=raw,snapshot=on,cache=unsafe"
          --qemu-arg -device --qemu-arg "scsi-hd,drive=s$i,bus=scsi0.0,scsi-id=$i,lun=0")
        i=$((i + 1)) ;;
    esac
  done < "$dir/disks"
  t0=$(date +%s)
  vm_run "$ir" "$out.console" "${args[@]}" --out "$out" --timeout 1500 --mem 2048 \
    --qemu-arg -icount --qemu-arg shift=0,sleep=on \
    --append "quiet bench.case=$c bench.steps=$steps ${kp:+bench.kpartx=$kp}" >/dev/null 2>&1
  [ -f "$out/bench.done" ] || log "$c/$tag: the guest did not finish (console: $out.console)"
  log "$c/$tag: $(( $(date +%s) - t0 )) s"
}

reps() { # N STEP...: the steps repeated N times, comma-joined
  local n=$1 s=""; shift
  for _ in $(seq "$n"); do s="$s,$(IFS=,; echo "$*")"; done
  echo "${s#,}"
}

# The boots run BENCH_JOBS at a time (default: one per CPU; each VM is one TCG thread). Under
# -icount guest time counts instructions, so a second VM beside it changes the wall time, not
# the figures; only waits for the disk (lvm2 reads with O_DIRECT) pass in real time.
jobs=${BENCH_JOBS:-$(nproc)}
spawn() { # boot ARGS in the background, at most $jobs at once
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
  boot "$@" &
}
for c in "${cases[@]}"; do
  kp=""; [ "$c" = lvparts ] && kp=vgp-disk,vgp-lv1
  case $c in
    lv500 | lv1000)
      # Tearing down 1000 DM devices takes the kernel ~25 s (RCU grace periods): one
      # activation per boot instead.
      spawn "$c" a "bytes,hold,warm,o,rec-oracle"
      spawn "$c" b "hold,warm,u,rec-ours"
      spawn "$c" c "U,hold,warm,o"
      spawn "$c" d "U,hold,warm,u" ;;
    lv250 | stripe64)
      spawn "$c" a "bytes,hold,warm,o,rec-oracle,t,u,rec-ours,t,U,o,t,u" ;;
    *)
      extra=""; [ "$c" = flagship ] && extra="strace,"
      spawn "$c" a "bytes,hold,warm,o,rec-oracle,t,u,rec-ours,t,${extra}$(reps 3 o t u t),U,$(reps 3 o t u t)" "$kp" ;;
  esac
done
wait

# --- boot and size -------------------------------------------------------------------------------
if [ "${BENCH_BOOT:-1}" = 1 ]; then
  "$ROOT/tests/bench-boot.sh" > "$RES/boot.txt" 2> "$RES/boot.log" || log "bench-boot failed (see $RES/boot.log)"
fi
# cargo bloat (size.sh: the breakdown by crate), installed once into the cache, pinned.
if ! command -v cargo-bloat >/dev/null && [ ! -x "$CACHE/tools/bin/cargo-bloat" ]; then
  cargo install --quiet --locked --root "$CACHE/tools" cargo-bloat@0.12.1 >&2 || log "cannot install cargo-bloat"
fi
PATH=$PATH:$CACHE/tools/bin "$ROOT/tests/bench/size.sh" > "$RES/size.txt" 2> "$RES/size.log" || log "size failed (see $RES/size.log)"

# --- the machine, then the report --------------------------------------------------------------
{
  echo "cpu $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "cpus $(nproc)"
  echo "load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "qemu $(qemu-system-x86_64 --version | head -1)"
  echo "kernel $KVER"
  echo "host $(uname -sr)"
  echo "commit $(cd "$ROOT" && git rev-parse --short HEAD)$(cd "$ROOT" && git diff --quiet HEAD -- src || echo '+changes')"
  echo "wall $(( $(date +%s) - t_start ))"
  echo "quick ${QUICK:-0}"
} > "$RES/machine.txt"
python3 "$ROOT/tests/bench/report.py" "$OUT" || exit 1
cat "$OUT/report.md"
