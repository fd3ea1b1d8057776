//! Identification superblocks (type, UUID, LABEL) for root=UUID=/LABEL= and the mount type.
//!
//! Each module reads the fields util-linux `libblkid/src/superblocks/<fs>.c` reads and prints
//! them in blkid's forms (TYPE, USAGE, UUID, LABEL, VERSION, UUID_SUB), checked against
//! `blkid -p -o export` of images the real mkfs tools wrote (tests/fixtures/fs).
//!
//! Checksums are not verified, as blkid 2.38 does not verify them either: a filesystem whose
//! superblock checksum is bad is still the filesystem blkid (and so udev, and so fstab's
//! UUID=) names; the kernel rejects it at mount time with a precise message. What each probe
//! does check is blkid's magic plus the "sane fields" blkid requires.
//!
//! [`PROBERS`] is the ordered registry the driver (`probe::fs`) walks.

pub mod bcache;
pub mod bcachefs;
pub mod bitlocker;
pub mod btrfs;
pub mod cramfs;
pub mod drbd;
pub mod erofs;
pub mod exfat;
pub mod ext;
pub mod f2fs;
pub mod iso9660;
pub mod jfs;
pub mod minix;
pub mod nilfs2;
pub mod ntfs;
pub mod raid;
pub mod reiserfs;
pub mod romfs;
pub mod squashfs;
pub mod swap;
pub mod udf;
pub mod vdo;
pub mod vfat;
pub mod xfs;
pub mod zfs;

/// blkid's USAGE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    Filesystem,
    /// Firmware/host RAID members and DRBD: what they hold is not this device's content.
    Raid,
    Crypto,
    /// swap, hibernation images, external journals, bcache, VDO.
    Other,
}

impl Usage {
    pub fn as_str(&self) -> &'static str {
        match self {
            Usage::Filesystem => "filesystem",
            Usage::Raid => "raid",
            Usage::Crypto => "crypto",
            Usage::Other => "other",
        }
    }
}

/// What blkid reports about one identification superblock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsInfo {
    /// blkid TYPE (ext4, xfs, iso9660, udf, ntfs, bcache, isw_raid_member, crypto_LUKS, ...).
    pub fstype: &'static str,
    pub usage: Usage,
    pub uuid: Option<String>,
    pub label: Option<String>,
    pub version: Option<String>,
    /// UUID_SUB: the btrfs device UUID, the bcachefs member UUID.
    pub uuid_sub: Option<String>,
}

impl FsInfo {
    /// A result with only type and usage set.
    pub fn new(fstype: &'static str, usage: Usage) -> FsInfo {
        FsInfo {
            fstype,
            usage,
            uuid: None,
            label: None,
            version: None,
            uuid_sub: None,
        }
    }

    /// Why this is not a filesystem root= can mount (`None`: it is one). Containers hold other
    /// data (a filesystem inside them is only reachable through their driver); swap, journals
    /// and hibernation images hold none.
    pub fn not_mountable(&self) -> Option<&'static str> {
        Some(match self.fstype {
            "crypto_LUKS" => "a LUKS header (root= names the filesystem inside the volume)",
            "BitLocker" => "a BitLocker-encrypted volume",
            "swap" => "swap space",
            "swsuspend" => "a hibernation image in swap space",
            "jbd" => "an external ext3/ext4 journal",
            "bcache" => {
                "a bcache backing or cache device (what it holds is reached through /dev/bcacheN)"
            }
            "drbd" => "a DRBD backing device (its data is reached through /dev/drbdN)",
            "vdo" => "a VDO volume (its data is reached through the VDO device)",
            "zfs_member" => "a ZFS pool member (ZFS pools are not supported)",
            "isw_raid_member" => "an Intel IMSM RAID member (its arrays need mdadm with mdmon)",
            "ddf_raid_member" => "a DDF RAID member (its arrays need mdadm with mdmon)",
            _ => return None,
        })
    }

    /// The kernel's filesystem type for mount(2) (and its `fs-TYPE` module alias): blkid's
    /// TYPE, except NTFS, whose kernel driver is ntfs3 (the old read-only `ntfs` driver is
    /// gone from current kernels; ntfs3 answers to "ntfs" only from Linux 6.9 on).
    pub fn mount_type(&self) -> &'static str {
        match self.fstype {
            "ntfs" => "ntfs3",
            t => t,
        }
    }

    /// For a device that holds volumes this program does not assemble (bcache, DRBD, VDO,
    /// ZFS, BitLocker, IMSM and DDF members): what it is, for `scan`'s state ("reported
    /// only"). Nothing inside such a device is read or used.
    pub fn reported_only(&self) -> Option<&'static str> {
        match self.fstype {
            "bcache" | "drbd" | "vdo" | "zfs_member" | "BitLocker" | "isw_raid_member"
            | "ddf_raid_member" => self.not_mountable(),
            _ => None,
        }
    }
}

/// One entry of the registry; the driver (`probe::fs`) knows how to read each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prober {
    Ddf,
    Isw,
    Bcache,
    Drbd,
    Luks,
    Vdo,
    BitLocker,
    Vfat,
    Swsuspend,
    Swap,
    Xfs,
    Ext,
    Reiserfs,
    Jfs,
    Udf,
    Iso9660,
    Zfs,
    Ntfs,
    Cramfs,
    Romfs,
    Minix,
    Squashfs,
    Btrfs,
    Nilfs2,
    Exfat,
    F2fs,
    Bcachefs,
    Erofs,
}

/// Where an entry runs: containers before partition tables and LVM (what they hold may show
/// a partition table or a PV label through them), filesystems last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Container,
    Filesystem,
}

/// The probe order: blkid's `idinfos[]` (`superblocks.c`, util-linux 2.38) restricted to what
/// we read. MD and LVM members are probed by their own modules, before this registry (MD) or
/// between its two stages (LVM), as blkid's linux_raid and lvm2 entries sit among the RAIDs.
pub const PROBERS: [Prober; 28] = [
    // --- containers: blkid's "RAIDs" block, then the others before the filesystems.
    // DDF and IMSM keep their anchors in the last sectors of a whole disk; the member's
    // first sectors show the array's own partition table, so they come before everything.
    Prober::Ddf,
    Prober::Isw,
    // bcache: superblock at 4 KiB, data from 8 KiB on (blkid: after the firmware RAIDs).
    Prober::Bcache,
    // DRBD internal metadata at the end; the data from 0 shows the filesystem it holds, so
    // DRBD (blkid USAGE raid) ends the search before any filesystem is looked at.
    Prober::Drbd,
    // LUKS: a crypto signature ends the search too (safeprobe), whatever leftover signature
    // the encrypted area shows.
    Prober::Luks,
    Prober::Vdo,
    Prober::BitLocker,
    // --- filesystems, in blkid's order. The order only decides which one is named first:
    // two valid signatures are ambiguous unless every one is "tolerant" (iso9660, udf: a
    // UDF bridge disc carries both, and blkid names the first, udf).
    Prober::Vfat,
    // Before swap: a hibernated swap area keeps the swap header but not its magic.
    Prober::Swsuspend,
    Prober::Swap,
    Prober::Xfs,
    // ext4dev, ext4, ext3, ext2, jbd: one reader, blkid's rules between them.
    Prober::Ext,
    Prober::Reiserfs,
    Prober::Jfs,
    Prober::Udf,
    Prober::Iso9660,
    Prober::Zfs,
    Prober::Ntfs,
    Prober::Cramfs,
    Prober::Romfs,
    Prober::Minix,
    Prober::Squashfs,
    Prober::Btrfs,
    Prober::Nilfs2,
    Prober::Exfat,
    Prober::F2fs,
    // Not in util-linux 2.38 (newer blkid has it beside bcache); after every 2.38 entry so
    // it never changes what 2.38 names.
    Prober::Bcachefs,
    Prober::Erofs,
];

impl Prober {
    pub fn name(&self) -> &'static str {
        match self {
            Prober::Ddf => "ddf_raid_member",
            Prober::Isw => "isw_raid_member",
            Prober::Bcache => "bcache",
            Prober::Drbd => "drbd",
            Prober::Luks => "crypto_LUKS",
            Prober::Vdo => "vdo",
            Prober::BitLocker => "BitLocker",
            Prober::Vfat => "vfat",
            Prober::Swsuspend => "swsuspend",
            Prober::Swap => "swap",
            Prober::Xfs => "xfs",
            Prober::Ext => "ext",
            Prober::Reiserfs => "reiserfs",
            Prober::Jfs => "jfs",
            Prober::Udf => "udf",
            Prober::Iso9660 => "iso9660",
            Prober::Zfs => "zfs_member",
            Prober::Ntfs => "ntfs",
            Prober::Cramfs => "cramfs",
            Prober::Romfs => "romfs",
            Prober::Minix => "minix",
            Prober::Squashfs => "squashfs",
            Prober::Btrfs => "btrfs",
            Prober::Nilfs2 => "nilfs2",
            Prober::Exfat => "exfat",
            Prober::F2fs => "f2fs",
            Prober::Bcachefs => "bcachefs",
            Prober::Erofs => "erofs",
        }
    }

    pub fn stage(&self) -> Stage {
        match self {
            Prober::Ddf
            | Prober::Isw
            | Prober::Bcache
            | Prober::Drbd
            | Prober::Luks
            | Prober::Vdo
            | Prober::BitLocker => Stage::Container,
            _ => Stage::Filesystem,
        }
    }

    /// blkid's `BLKID_IDINFO_TOLERANT`: may share a device with another signature.
    pub fn tolerant(&self) -> bool {
        matches!(self, Prober::Udf | Prober::Iso9660)
    }
}

/// C's `isspace` in the C locale, which blkid's trimming uses.
pub(crate) fn c_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Text of bytes as blkid keeps them (raw bytes; replaced where they are not UTF-8).
fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// blkid's `blkid_probe_set_id_label`/`strncpy_uuid` trimming: up to the first NUL, white
/// space removed at the end (and with `left`, at the start); `None` when nothing is left.
pub(crate) fn trimmed(field: &[u8], left: bool) -> Option<String> {
    let end = field.iter().position(|&c| c == 0).unwrap_or(field.len());
    let mut f = field.get(..end).unwrap_or(&[]);
    while let [rest @ .., last] = f {
        if !c_space(*last) {
            break;
        }
        f = rest;
    }
    if left {
        while let [first, rest @ ..] = f {
            if !c_space(*first) {
                break;
            }
            f = rest;
        }
    }
    (!f.is_empty()).then(|| text(f))
}

/// Byte order of a UTF-16 field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Utf16 {
    Le,
    Be,
}

/// util-linux `ul_encode_to_utf8` for UTF-16 (both orders) and Latin-1 (`None`): stops at a
/// NUL character, joins surrogate pairs; a lone surrogate becomes U+FFFD (blkid writes its
/// 3-byte form, which is not UTF-8). Then blkid's label trimming (end only).
pub(crate) fn decoded_label(field: &[u8], enc: Option<Utf16>) -> Option<String> {
    let units: Vec<u32> = match enc {
        None => field.iter().map(|&c| u32::from(c)).collect(),
        Some(e) => field
            .chunks_exact(2)
            .map(|p| {
                let (a, b) = (u32::from(p[0]), u32::from(p[1]));
                match e {
                    Utf16::Le => b << 8 | a,
                    Utf16::Be => a << 8 | b,
                }
            })
            .collect(),
    };
    let mut out = String::new();
    let mut i = 0;
    while let Some(&c) = units.get(i) {
        i += 1;
        let mut cp = c;
        if enc.is_some() && (0xD800..=0xDBFF).contains(&c) {
            if let Some(&lo) = units.get(i) {
                if (0xDC00..=0xDFFF).contains(&lo) {
                    cp = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
                    i += 1;
                }
            }
        }
        if cp == 0 {
            break;
        }
        out.push(char::from_u32(cp).unwrap_or('\u{FFFD}'));
    }
    let t = out.trim_end_matches(|c: char| u8::try_from(c).is_ok_and(c_space));
    (!t.is_empty()).then(|| t.to_string())
}

/// blkid's `blkid_probe_set_label`: the field up to its first NUL, trailing white space
/// removed; `None` when empty. Bytes that are not UTF-8 are replaced (labels are meant to be
/// text; blkid passes raw bytes through).
pub(crate) fn label(field: &[u8]) -> Option<String> {
    let end = field.iter().position(|&c| c == 0).unwrap_or(field.len());
    trimmed(field.get(..end).unwrap_or(&[]), false)
}

/// blkid's `blkid_probe_set_uuid`: 16 bytes printed 8-4-4-4-12 in byte order; nothing for an
/// all-zero UUID.
pub(crate) fn uuid(b: &[u8; 16]) -> Option<String> {
    (b.iter().any(|&x| x != 0)).then(|| crate::ids::uuid_bytes_str(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_forms() {
        assert_eq!(label(b"abc  \0xyz").as_deref(), Some("abc"));
        assert_eq!(label(b"  \0").as_deref(), None);
        assert_eq!(label(b" x").as_deref(), Some(" x"));
        assert_eq!(uuid(&[0; 16]), None);
        let mut u = [0u8; 16];
        u[15] = 1;
        assert_eq!(
            uuid(&u).as_deref(),
            Some("00000000-0000-0000-0000-000000000001")
        );
    }
}
