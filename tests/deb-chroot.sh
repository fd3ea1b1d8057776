#!/bin/bash
# The Debian package as a user gets it: installed with dpkg into a Debian chroot (this
# machine's release, minbase + initramfs-tools + lvm2 + mdadm + the test kernel), where its
# update-initramfs trigger must rebuild the initramfs with our hook and scripts, and without
# lvm2's and mdadm's activation; removing it must rebuild the image without ours and with
# theirs back; purging it removes /etc/evms.conf. Writes the image made while the package was
# installed to OUT (the boot scenario `deb` boots it).
#
# The chroot is built once with debootstrap from the archive this machine's apt uses and kept
# in $CACHE/deb-chroot/base (~5 min the first time); every run works on an overlay of it,
# thrown away afterwards, so the cached tree stays as debootstrap and the kernel left it.
#
# Usage: tests/deb-chroot.sh DEB OUT
set -euo pipefail
deb=$(readlink -f "$1") out=$2
top=$(cd "$(dirname "$0")/.." && pwd)
: "${CACHE:=$top/.cache}"
. "$top/tests/vm/lib.sh"
vm_kernel
base=$CACHE/deb-chroot/base
say() { echo "  deb-chroot: $*"; }
die() { echo "  deb-chroot: $*" >&2; exit 1; }

# --- the cached chroot -----------------------------------------------------------------------
if [ ! -f "$base/.ready" ]; then
  command -v debootstrap >/dev/null || die "debootstrap is missing (tests/deps.sh)"
  . /etc/os-release
  mirror=$(apt-get indextargets --format '$(REPO_URI)' 'Identifier: Packages' "Release: $VERSION_CODENAME" \
    'Component: main' | head -1)
  [ -n "$mirror" ] || die "no $VERSION_CODENAME main archive in this machine's apt sources"
  # A run that died half-way may have left mounts under it: never delete through them.
  awk -v b="$base/" 'index($2, b) == 1 { print $2 }' /proc/mounts | sort -r | xargs -r -n1 umount
  if awk -v b="$base/" 'index($2, b) == 1 { f = 1 } END { exit !f }' /proc/mounts; then die "mounts left under $base"; fi
  rm -rf "$base" && mkdir -p "$base"
  t0=$(date +%s)
  say "debootstrap $VERSION_CODENAME (minbase, initramfs-tools, lvm2, mdadm) into $base"
  DEBIAN_FRONTEND=noninteractive debootstrap --variant=minbase \
    --include=initramfs-tools,zstd,linux-base,kmod,udev,lvm2,mdadm \
    "$VERSION_CODENAME" "$base" "$mirror" >"$CACHE/deb-chroot/debootstrap.log" 2>&1 ||
    { tail -20 "$CACHE/deb-chroot/debootstrap.log"; die "debootstrap failed"; }
  # The test kernel, installed as a user has it (its postinst makes the first initramfs).
  cp "$(ls "$CACHE"/kernel/linux-image-*.deb | head -1)" "$base/tmp/kernel.deb"
  mount -t proc proc "$base/proc"
  rc=0
  chroot "$base" env DEBIAN_FRONTEND=noninteractive dpkg -i /tmp/kernel.deb \
    >"$CACHE/deb-chroot/kernel.log" 2>&1 || rc=$?
  umount "$base/proc"
  rm -f "$base/tmp/kernel.deb"
  [ $rc = 0 ] || { tail -20 "$CACHE/deb-chroot/kernel.log"; die "installing the kernel failed"; }
  [ -f "$base/boot/initrd.img-$KVER" ] || die "the kernel's postinst made no initramfs"
  touch "$base/.ready"
  say "chroot ready in $(( $(date +%s) - t0 )) s ($(du -sm "$base" | cut -f1) MB)"
fi

# --- a throw-away overlay of it ---------------------------------------------------------------
w=$CACHE/deb-chroot/run
root=$w/merged
cleanup() {
  local m
  for m in "$root/proc" "$root"; do if mountpoint -q "$m"; then umount "$m"; fi; done
  # Deleting through a mount would reach the cached chroot or /proc: only when nothing is left.
  if mountpoint -q "$root" || mountpoint -q "$root/proc"; then echo "  deb-chroot: $root still mounted" >&2; return 1; fi
  rm -rf "$w"
}
cleanup
trap cleanup EXIT
mkdir -p "$w/upper" "$w/work" "$root"
mount -t overlay overlay -o "lowerdir=$base,upperdir=$w/upper,workdir=$w/work" "$root"
mount -t proc proc "$root/proc"
in_root() { chroot "$root" env DEBIAN_FRONTEND=noninteractive PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }
img=/boot/initrd.img-$KVER
listing() { # the image's file list (initramfs-tools' lsinitramfs)
  in_root lsinitramfs "$img" | sort
}
before=$(stat -c %Y "$root$img")
sleep 1

# Install: the trigger runs update-initramfs -u, once, at the end of the dpkg run.
cp "$deb" "$root/tmp/evms-activate.deb"
in_root dpkg -i /tmp/evms-activate.deb >"$w/../install.log" 2>&1 || { cat "$w/../install.log"; die "dpkg -i failed"; }
sed 's/^/    /' "$w/../install.log"
grep -q "^Processing triggers for initramfs-tools" "$w/../install.log" || die "no initramfs-tools trigger ran"
grep -q "^update-initramfs: Generating $img" "$w/../install.log" || die "update-initramfs -u did not run"
[ "$(stat -c %Y "$root$img")" -gt "$before" ] || die "$img was not rebuilt"
l=$(listing)
for f in sbin/evms-activate scripts/local-top/evms-activate scripts/local-block/evms-activate etc/evms.conf; do
  grep -qE "(^|/)$f\$" <<<"$l" || die "$f is not in the image made by the trigger"
done
if grep -E '(^|/)(69-lvm\.rules|64-md-raid-assembly\.rules)$|^scripts/local-block/mdadm$' <<<"$l"; then
  die "lvm2's or mdadm's activation is in the image"
fi
grep -qE '(^|/)sbin/lvm$' <<<"$l" && grep -qE '(^|/)sbin/mdadm$' <<<"$l" || die "lvm or mdadm was taken out of the image"
say "installed: the trigger rebuilt $img with our hook and scripts, without lvm2's and mdadm's activation"
cp "$root$img" "$out"

# Remove: rebuilt again, ours out, theirs back.
before=$(stat -c %Y "$root$img")
sleep 1
in_root dpkg -r evms-activate >"$w/../remove.log" 2>&1 || { cat "$w/../remove.log"; die "dpkg -r failed"; }
grep -q "^update-initramfs: Generating $img" "$w/../remove.log" || die "removing did not rebuild the initramfs"
[ "$(stat -c %Y "$root$img")" -gt "$before" ] || die "$img was not rebuilt on removal"
l=$(listing)
if grep -E 'evms-activate' <<<"$l"; then die "our files are still in the image after removal"; fi
grep -qE '(^|/)69-lvm\.rules$' <<<"$l" && grep -qx scripts/local-block/mdadm <<<"$l" ||
  die "lvm2's and mdadm's activation did not come back after removal"
[ -f "$root/etc/evms.conf" ] || die "removal (not purge) deleted the conffile /etc/evms.conf"
in_root dpkg --purge evms-activate >"$w/../purge.log" 2>&1 || { cat "$w/../purge.log"; die "dpkg --purge failed"; }
[ ! -e "$root/etc/evms.conf" ] || die "purge left /etc/evms.conf"
left=$(cd "$w/upper" && find usr etc -path etc/ld.so.cache -prune -o -name '*evms*' -print 2>/dev/null || true)
[ -z "$left" ] || die "left after purge: $left"
say "removed: rebuilt without ours, lvm2's and mdadm's activation back; purge removed /etc/evms.conf"
