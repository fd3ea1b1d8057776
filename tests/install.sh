#!/bin/bash
# `make install` / `make uninstall` into scratch DESTDIRs (PREFIX=/usr and /usr/local):
# exactly the expected files with their modes, the installed binary runs and reads the
# installed /etc/evms.conf, every integration looks for the binary where install put it, and
# uninstall leaves an empty tree. An /etc/evms.conf the admin changed (or had) is kept.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
fails=0
fail() { echo "FAIL install: $*"; fails=$((fails + 1)); }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

expected() { # PREFIX → "MODE PATH" lines, sorted
  local p=${1#/}
  sort <<EOF
755 $p/sbin/evms-activate
644 $p/share/man/man8/evms-activate.8
755 $p/lib/dracut/modules.d/90evms/module-setup.sh
755 $p/lib/dracut/modules.d/90evms/parse-evms.sh
755 $p/lib/dracut/modules.d/90evms/evms-activate-root.sh
755 $p/lib/dracut/modules.d/90evms/evms-md-name.sh
644 $p/lib/dracut/modules.d/90evms/63-evms-md.rules
644 $p/lib/dracut/dracut.conf.d/90-evms.conf
755 $p/share/initramfs-tools/hooks/evms-activate
755 $p/share/initramfs-tools/scripts/local-top/evms-activate
755 $p/share/initramfs-tools/scripts/local-block/evms-activate
644 $p/lib/initcpio/install/evms
644 $p/lib/initcpio/hooks/evms
644 $p/lib/initcpio/udev/63-evms-md.rules
755 $p/lib/initcpio/udev/evms-md-name
644 $p/lib/initcpio/udev/11-evms-db-persist.rules
644 etc/evms.conf
EOF
}
tree() { # DIR → "MODE PATH" of every file and symlink
  (cd "$1" && find . \( -type f -o -type l \) -printf '%m %P\n' | sort)
}

for prefix in /usr /usr/local; do
  d=$tmp/$prefix
  mkdir -p "$d"
  make --no-print-directory install DESTDIR="$d" PREFIX="$prefix" >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log"; fail "make install PREFIX=$prefix failed"; continue; }
  diff <(expected "$prefix") <(tree "$d") >"$tmp/diff" ||
    { cat "$tmp/diff"; fail "PREFIX=$prefix: installed files differ from the expected list (< expected, > installed)"; }
  # The installed binary runs, and the installed example configuration is valid.
  truncate -s 1M "$tmp/empty.img"
  out=$("$d$prefix/sbin/evms-activate" plan --config "$d/etc/evms.conf" --image "$tmp/empty.img" 2>&1) ||
    fail "PREFIX=$prefix: the installed binary with the installed evms.conf: $out"
  cmp -s "$d$prefix/share/man/man8/evms-activate.8" docs/evms-activate.8 || fail "man page differs"
  # Each integration finds the binary in PATH, else at the default install path.
  for f in "$d$prefix/share/initramfs-tools/hooks/evms-activate" "$d$prefix/lib/initcpio/install/evms"; do
    grep -q 'command -v evms-activate\|type -P evms-activate' "$f" && grep -q '/usr/sbin/evms-activate' "$f" ||
      fail "${f#"$d"} does not look for evms-activate in PATH and at /usr/sbin/evms-activate"
  done
  grep -q 'require_binaries evms-activate' "$d$prefix/lib/dracut/modules.d/90evms/module-setup.sh" ||
    fail "dracut module-setup.sh does not require evms-activate in PATH"
  make --no-print-directory uninstall DESTDIR="$d" PREFIX="$prefix" >"$tmp/uninstall.log" 2>&1 ||
    { cat "$tmp/uninstall.log"; fail "make uninstall PREFIX=$prefix failed"; }
  left=$(cd "$d" && find . -mindepth 1)
  [ -z "$left" ] || fail "PREFIX=$prefix: left after uninstall: $left"
done

# An existing /etc/evms.conf is not overwritten; a changed one survives uninstall.
d=$tmp/keep
mkdir -p "$d/etc" && echo 'activate { exclude = [ vdc ] }' >"$d/etc/evms.conf"
make --no-print-directory install DESTDIR="$d" >"$tmp/install.log" 2>&1 || fail "make install (existing evms.conf) failed"
grep -q 'exclude = \[ vdc \]' "$d/etc/evms.conf" || fail "install overwrote an existing evms.conf"
make --no-print-directory uninstall DESTDIR="$d" >"$tmp/uninstall.log" 2>&1 || fail "make uninstall (existing evms.conf) failed"
left=$(cd "$d" && find . -mindepth 1 | sort | paste -sd' ')
[ "$left" = "./etc ./etc/evms.conf" ] || fail "a changed evms.conf: expected only it left, found: $left"

if [ $fails -eq 0 ]; then
  echo "PASS install: $(expected /usr | wc -l) files for PREFIX=/usr and /usr/local, uninstall leaves nothing"
fi
[ $fails -eq 0 ]
