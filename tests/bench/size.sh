#!/bin/bash
# Sizes for `make bench`: the stripped static binary, its sections, cargo bloat's breakdown by
# crate (a build of its own in target/bloat: cargo bloat needs the symbols), and the flagship
# initramfs images that tests/bench-boot.sh left in .cache/bench-boot, each unpacked and
# compressed again with gzip -9, zstd -19 and xz -9 (--check=crc32, as the kernel reads it),
# with the bytes of kernel modules in each; and ours with only the modules the flagship boot
# loaded (a host-only module set). Lines: binary|section|bloat|initramfs|note (report.py).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
: "${CACHE:=$ROOT/.cache}"
BIN=$ROOT/target/x86_64-unknown-linux-musl/release/evms-activate
work=$CACHE/bench-boot
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "binary stripped $(stat -c %s "$BIN") static-pie, musl, opt-level z, LTO, panic=abort"
size -A "$BIN" | awk '$1 ~ /^\.(text|rodata|eh_frame|eh_frame_hdr|rela\.dyn|data\.rel\.ro|gcc_except_table|data|bss)$/ { print "section", $1, $2 }'

if command -v cargo-bloat >/dev/null; then
  (cd "$ROOT" && CARGO_TARGET_DIR=$ROOT/target/bloat cargo bloat --release --target x86_64-unknown-linux-musl \
    --crates -n 12 2>/dev/null) | awk '$NF != "Crate" && $3 ~ /iB$|B$/ && NF == 4 { print "bloat", $4, $3, $2 }'
  # std's share that only a rebuilt std (nightly build-std, panic_immediate_abort) drops: the
  # default panic hook's backtrace printer (gimli, addr2line, miniz_oxide, libunwind) stays
  # linked under panic=abort.
  (cd "$ROOT" && CARGO_TARGET_DIR=$ROOT/target/bloat cargo bloat --release --target x86_64-unknown-linux-musl \
    -n 0 --message-format json 2>/dev/null) | python3 -c '
import json, re, sys
fs = json.load(sys.stdin)["functions"]
b = sum(f["size"] for f in fs if re.search(r"gimli|addr2line|miniz_oxide|backtrace|libunwind|_Unwind|rustc_demangle", f["name"]))
print(f"note Of std and [Unknown], {b / 1024:.1f} KiB is the backtrace printer of the default panic hook, linked even under panic=abort; only a std rebuilt with panic_immediate_abort (nightly) drops it.")
' 2>/dev/null
else
  echo "note cargo-bloat is not installed (cargo install cargo-bloat): no breakdown by crate"
fi

# unpack IMAGE DIR: the cpio stream(s) of an initramfs, whatever the compression
unpack() {
  local img=$1 dir=$2 magic
  mkdir -p "$dir"
  magic=$(od -An -tx1 -N6 "$img" | tr -d ' \n')
  case $magic in
    1f8b*) zcat "$img" ;;
    28b52ffd*) zstd -dc "$img" ;;
    fd377a585a00) xz -dc "$img" ;;
    303730373031*) cat "$img" ;;
    *) echo "size.sh: unknown compression of $img ($magic)" >&2; return 1 ;;
  esac > "$tmp/raw.cpio" && (cd "$dir" && cpio -id --quiet < "$tmp/raw.cpio" 2>/dev/null)
}
measure() { # NAME DIR SHIPPED-IMAGE
  local name=$1 dir=$2 raw g z x mods
  (cd "$dir" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) > "$tmp/$name.cpio"
  raw=$(stat -c %s "$tmp/$name.cpio")
  g=$(gzip -9 -n -c "$tmp/$name.cpio" | wc -c)
  z=$(zstd -19 -q -c "$tmp/$name.cpio" | wc -c)
  x=$(xz -9 --check=crc32 -c "$tmp/$name.cpio" | wc -c)
  mods=$(find "$dir" -name '*.ko*' -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
  echo "initramfs $name raw=$raw gzip=$g zstd=$z xz=$x modules=$mods${3:+ shipped=$(stat -c %s "$3")}"
}
for pair in ours:ours.gz busybox:busybox.gz initramfs-tools:itools.img dracut:dracut.img; do
  name=${pair%%:*} img=$work/${pair#*:}
  [ -f "$img" ] || { echo "note no $name image (tests/bench-boot.sh makes them)"; continue; }
  unpack "$img" "$tmp/$name" && measure "$name" "$tmp/$name" "$img"
done

# Host-only: ours with only the modules a flagship boot loaded (our debug log names them).
if [ -d "$tmp/ours" ]; then
  loaded=$(cat "$work"/ours.*.log 2>/dev/null | sed -n 's/.*evms-activate: loaded module \([^ ]*\).*/\1/p' | tr '-' '_' | sort -u)
  if [ -n "$loaded" ]; then
    cp -a "$tmp/ours" "$tmp/ours-hostonly"
    find "$tmp/ours-hostonly" -name '*.ko*' -type f | while read -r f; do
      m=$(basename "$f"); m=${m%%.ko*}; m=$(tr '-' '_' <<<"$m")
      grep -qx "$m" <<<"$loaded" || rm -f "$f"
    done
    measure ours-hostonly "$tmp/ours-hostonly"
    echo "note host-only = the $(wc -l <<<"$loaded") modules the flagship boot loaded: $(tr '\n' ' ' <<<"$loaded")"
  fi
fi
