#!/bin/bash
# dracut module "evms": evms-activate assembles MD arrays and activates LVM LVs for root (and
# resume=) in place of dracut's own lvm and mdraid modules. Install the directory as
# /usr/lib/dracut/modules.d/90evms and see ../README.md (omit lvm and mdraid).

check() {
    require_binaries evms-activate || return 1
    # Not pulled in automatically: add it with add_dracutmodules+=" evms ".
    return 255
}

depends() {
    # dm: device-mapper's udev rules name our devices; rootfs-block: root= handling.
    echo dm rootfs-block
    return 0
}

installkernel() {
    # evms-activate loads what each step of the plan needs from these itself (modules.dep):
    # the targets lvm2 loads, the md personalities, bcache, and for LUKS dm-crypt and the usual
    # ciphers (it loads a volume's before its table).
    hostonly='' instmods dm_mod dm_zero dm_snapshot dm_mirror dm_log dm_thin_pool dm_cache dm_cache_smq dm_writecache dm_integrity dm_raid md_mod linear raid0 raid1 raid10 raid456 bcache \
        dm_crypt xts essiv cbc ecb aesni_intel aes_generic sha256_generic serpent_generic twofish_generic
}

install() {
    inst_binary "$(command -v evms-activate)" /usr/sbin/evms-activate
    inst_script "$moddir/evms-activate-root.sh" /sbin/evms-activate-root
    inst_hook cmdline 30 "$moddir/parse-evms.sh"
    # Under systemd, dracut-initqueue.service runs only when a module asked for it.
    dracut_need_initqueue
    # udev (not we) makes /dev/VG/LV while it runs, and systemd waits for root's device unit,
    # which exists only for links udev made: lvm2's rules name LVs (upstream and Debian names;
    # dracut's lvm module, which we replace, installs the same). The dm module brings dmsetup,
    # which they call.
    inst_rules 11-dm-lvm.rules 56-lvm.rules 60-persistent-storage-lvm.rules
    # /dev/md/NAME from /run/mdadm/map (mdadm's naming rules need mdadm).
    inst_script "$moddir/evms-md-name.sh" /usr/sbin/evms-md-name
    inst_rules "$moddir/63-evms-md.rules"
    [ -f /etc/evms.conf ] && inst_simple /etc/evms.conf
    # LUKS: the system's crypttab names the volumes (EVMS_CRYPTTAB: another file); evms-activate
    # opens them itself (dracut's crypt module and cryptsetup are not needed) and asks through
    # systemd's password agents, as systemd-cryptsetup would.
    local crypttab=${EVMS_CRYPTTAB:-/etc/crypttab}
    [ -s "$crypttab" ] && inst_simple "$crypttab" /etc/crypttab
    # mdadm's HOMEHOST and ARRAY names decide /dev/md/NAME, as for mdadm.
    if [ -f /etc/mdadm.conf ]; then
        inst_simple /etc/mdadm.conf
    elif [ -f /etc/mdadm/mdadm.conf ]; then
        inst_simple /etc/mdadm/mdadm.conf /etc/mdadm.conf
    fi
}
