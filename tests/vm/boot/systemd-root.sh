#!/bin/bash
# A Debian systemd root filesystem for the LUKS hand-off boot (scenario luks-systemd): this
# machine's release, debootstrap minbase with systemd, udev and lvm2 (dmsetup and its udev
# rules come with it; systemd-cryptsetup and its generator are part of Debian 12's systemd), and
#   /etc/crypttab   cryptroot UUID=<the luks set's LUKS UUID> none luks
#   /etc/fstab      / on /dev/vg0/root, swap on /dev/vg0/swap
#   evms-check.service (multi-user.target): prints EVMS-SD-* lines on the console (the state of
#                   systemd-cryptsetup@cryptroot.service and what it logged, failed units, the
#                   DM devices, swap, whether anything asked for a passphrase), then powers off.
# No kernel modules: the initramfs loaded what the boot needs.
#
#   tests/vm/boot/systemd-root.sh LUKS_UUID     prints the path of the ext4 image (cached;
#                                               debootstrap runs once, ~5 min)
set -euo pipefail
uuid=${1:?usage: systemd-root.sh LUKS_UUID}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
: "${CACHE:=$top/.cache}"
base=$CACHE/systemd-root/base
hash=$( { cat "$0"; echo "$uuid"; } | sha256sum | cut -c1-12)
img=$CACHE/systemd-root/root-$hash.img
log() { echo "systemd-root.sh: $*" >&2; }
if [ -f "$img" ]; then echo "$img"; exit 0; fi

if [ ! -f "$base/.ready" ]; then
  . /etc/os-release
  mirror=$(apt-get indextargets --format '$(REPO_URI)' 'Identifier: Packages' "Release: $VERSION_CODENAME" \
    'Component: main' | head -1)
  [ -n "$mirror" ] || { log "no $VERSION_CODENAME main archive in this machine's apt sources"; exit 1; }
  rm -rf "$base" && mkdir -p "$base"
  log "debootstrap $VERSION_CODENAME (minbase, systemd, udev, lvm2) into $base"
  DEBIAN_FRONTEND=noninteractive debootstrap --variant=minbase \
    --include=systemd,systemd-sysv,udev,lvm2,dmsetup,kmod,util-linux \
    "$VERSION_CODENAME" "$base" "$mirror" >"$CACHE/systemd-root/debootstrap.log" 2>&1 ||
    { tail -20 "$CACHE/systemd-root/debootstrap.log" >&2; log "debootstrap failed"; exit 1; }
  rm -rf "$base/var/cache/apt/archives/"*.deb "$base/var/lib/apt/lists/"*
  touch "$base/.ready"
fi

work=$CACHE/systemd-root/tree
rm -rf "$work" && cp -a "$base" "$work" && rm -f "$work/.ready"
echo evms-sd > "$work/etc/hostname"
cat > "$work/etc/crypttab" <<EOF
cryptroot UUID=$uuid none luks
EOF
cat > "$work/etc/fstab" <<'EOF'
/dev/vg0/root / ext4 defaults 0 1
/dev/vg0/swap none swap sw 0 0
EOF
# No getty or console login in the way of the check's lines.
rm -f "$work/etc/systemd/system/getty.target.wants/"* 2>/dev/null || true
ln -sf /dev/null "$work/etc/systemd/system/serial-getty@ttyS0.service"
cat > "$work/usr/local/sbin/evms-check" <<'EOF'
#!/bin/sh
# What the booted system's systemd and udev made of the initramfs' LUKS volume.
exec >/dev/console 2>&1
echo
echo "EVMS-SD-TARGET $(systemctl is-active multi-user.target)"
echo "EVMS-SD-CRYPT $(systemctl show -p ActiveState -p Result --value systemd-cryptsetup@cryptroot.service | tr '\n' ' ')"
journalctl -b -o cat -u systemd-cryptsetup@cryptroot.service --no-pager | sed 's/^/EVMS-SD-CRYPTLOG /'
systemctl --failed --no-legend --plain | sed 's/^/EVMS-SD-FAILED /'
dmsetup info -c --noheadings --separator ' ' -o name,uuid | sed 's/^/EVMS-SD-DM /'
echo "EVMS-SD-SWAP $(swapon --show=NAME --noheadings | tr '\n' ' ')"
echo "EVMS-SD-ROOTDEV $(findmnt -n -o SOURCE /)"
echo "EVMS-SD-ASKED $(journalctl -b -o cat --no-pager | grep -c 'Please enter passphrase')"
for u in dev-mapper-cryptroot.device dev-vg0-root.device dev-vg0-swap.device; do
  echo "EVMS-SD-UNIT $u $(systemctl is-active "$u")"
done
echo "EVMS-SD-END"
systemctl poweroff --no-block
EOF
chmod 755 "$work/usr/local/sbin/evms-check"
cat > "$work/etc/systemd/system/evms-check.service" <<'EOF'
[Unit]
Description=evms-activate hand-off check
After=multi-user.target

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/evms-check

[Install]
WantedBy=multi-user.target
EOF
mkdir -p "$work/etc/systemd/system/multi-user.target.wants"
ln -sf /etc/systemd/system/evms-check.service "$work/etc/systemd/system/multi-user.target.wants/evms-check.service"
size=$(( $(du -sm "$work" | cut -f1) * 13 / 10 + 64 ))
mkdir -p "$(dirname "$img")"
rm -f "$CACHE/systemd-root/"root-*.img
mke2fs -q -t ext4 -F -L sdroot -d "$work" "$img" "${size}M" >&2
rm -rf "$work"
log "root image $img (${size} MiB)"
echo "$img"
