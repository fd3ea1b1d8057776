#!/bin/bash
# `make deb`: target/deb/evms-activate_<version>_amd64.deb from the release binary with
# dpkg-deb. The files are laid out by `make install DESTDIR=... PREFIX=/usr` (one list of
# installed paths for both); Debian's conventions on top: compressed man page and changelog,
# copyright (with the licenses of what is linked into the static binary), README.Debian, the
# lintian overrides, /etc/evms.conf as a conffile, md5sums, and the update-initramfs trigger
# that lvm2, mdadm and cryptsetup-initramfs use (dh_installinitramfs) in place of a postinst.
# Reproducible: file dates are clamped to the last commit's (SOURCE_DATE_EPOCH).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
here=$top/packaging/deb
cd "$top"
BIN=target/x86_64-unknown-linux-musl/release/evms-activate
[ -x "$BIN" ] || { echo "$BIN is missing: run make build first" >&2; exit 1; }
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
# Maintainer: DEB_MAINTAINER, else the author of the last commit.
maintainer=${DEB_MAINTAINER:-$(git log -1 --format='%an <%ae>' 2>/dev/null)}
[ -n "$maintainer" ] || { echo "set DEB_MAINTAINER='Name <address>'" >&2; exit 1; }
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
out=target/deb
root=$out/root
rm -rf "$root" && mkdir -p "$root" && chmod 755 "$root"

make --no-print-directory install DESTDIR="$top/$root" PREFIX=/usr >/dev/null
gzip -9n "$root/usr/share/man/man8/evms-activate.8"
# As dh_strip does: the compiler's .comment note is not needed at run time.
objcopy --remove-section=.comment "$root/usr/sbin/evms-activate"

doc=$root/usr/share/doc/evms-activate
install -d -m 755 "$doc" "$root/usr/share/lintian/overrides"
install -m 644 "$here/README.Debian" "$doc/README.Debian"
install -m 644 "$here/lintian-overrides" "$root/usr/share/lintian/overrides/evms-activate"
# A native package's changelog: one entry for the version, dated by the last commit.
{
  echo "evms-activate ($version) unstable; urgency=medium"
  echo
  echo "  * Built from the evms-activate repository at $(git rev-parse --short HEAD 2>/dev/null || echo unknown)."
  echo
  echo " -- $maintainer  $(date -u -R -d "@$SOURCE_DATE_EPOCH")"
} | gzip -9n >"$doc/changelog.gz"
chmod 644 "$doc/changelog.gz"
# What the static binary contains: ours, the crates (from Cargo.lock), Rust's std and musl.
first=$(git log --max-parents=0 --format=%ad --date=format:%Y 2>/dev/null | tail -1)
last=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y)
{
  years=$last; [ -n "$first" ] && [ "$first" != "$last" ] && years=$first-$last
  sed "s/@YEARS@/$years/" "$here/copyright.in"
  echo
  echo "The static binary /usr/sbin/evms-activate is built with these crates (name version: license):"
  cargo tree -e normal,no-proc-macro --prefix none --format ' {p}: {l}' \
    --target x86_64-unknown-linux-musl --offline 2>/dev/null |
    sed 's/ (\*)$//; s/ (\/[^)]*)//' | grep -v '^ evms-activate ' | sort -u
  echo " Rust's standard library ($(rustc --version | cut -d' ' -f2)): MIT OR Apache-2.0"
  echo " musl libc ($(dpkg-query -W -f='${Version}' musl 2>/dev/null || echo unknown)): MIT"
  echo
  echo "The texts of the MIT, Apache-2.0, BSD-3-Clause, MPL-2.0 and Unlicense licenses are those"
  echo "published with each crate; Apache-2.0, MPL-2.0 and GPL-2 are in /usr/share/common-licenses."
} >"$doc/copyright"
chmod 644 "$doc/copyright"

install -d -m 755 "$root/DEBIAN"
install -m 644 "$here/triggers" "$root/DEBIAN/triggers"
(cd "$root" && find etc -type f | sed 's|^|/|' | sort) >"$root/DEBIAN/conffiles"
chmod 644 "$root/DEBIAN/conffiles"
(cd "$root" && find usr -type f -print0 | sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
chmod 644 "$root/DEBIAN/md5sums"
# Installed-Size as dpkg-gencontrol reckons it: KiB per file rounded up, 1 per directory.
size=$(cd "$root" && find . -path ./DEBIAN -prune -o \( -type f -printf '%s\n' -o -printf '1024\n' \) |
  awk '{ s += int(($1 + 1023) / 1024) } END { print s }')
sed -e "s/@VERSION@/$version/" -e "s/@MAINTAINER@/$maintainer/" -e "s/@SIZE@/$size/" \
  "$here/control.in" >"$root/DEBIAN/control"
chmod 644 "$root/DEBIAN/control"

deb=$out/evms-activate_${version}_amd64.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb: $(stat -c %s "$deb") bytes"
