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

pub mod btrfs;
pub mod erofs;
pub mod ext;
pub mod squashfs;
pub mod swap;
pub mod vfat;
pub mod xfs;

/// blkid's USAGE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    Filesystem,
    Crypto,
    /// swap, external journals.
    Other,
}

impl Usage {
    pub fn as_str(&self) -> &'static str {
        match self {
            Usage::Filesystem => "filesystem",
            Usage::Crypto => "crypto",
            Usage::Other => "other",
        }
    }
}

/// What blkid reports about one identification superblock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsInfo {
    /// blkid TYPE: ext2/ext3/ext4 (also ext4dev, jbd), xfs, btrfs, vfat, swap, squashfs
    /// (squashfs3), erofs, crypto_LUKS.
    pub fstype: &'static str,
    pub usage: Usage,
    pub uuid: Option<String>,
    pub label: Option<String>,
    pub version: Option<String>,
    /// UUID_SUB: the btrfs device UUID.
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
}

/// One entry of the registry; the driver knows how to read each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prober {
    Luks,
    Vfat,
    Swap,
    Xfs,
    Ext,
    Squashfs,
    Btrfs,
    Erofs,
}

/// The probe order, blkid's `idinfos[]` order (`superblocks.c`) restricted to what we read:
/// * LUKS first, with the other "RAIDs and crypto": blkid's safeprobe returns the first crypto
///   signature without looking for filesystems, so a LUKS header wins over any leftover
///   filesystem signature in the encrypted area.
/// * then the filesystems in blkid's order (vfat, swap, xfs, ext4, ext3, ext2, squashfs,
///   btrfs, erofs). Among filesystems the order only decides which one is named first: two
///   valid filesystem signatures are ambiguous, as blkid's safeprobe reports them.
///
/// MD and LVM members are not here: they are probed before this registry (their own modules),
/// like blkid's RAID entries that come before every filesystem.
pub const PROBERS: [Prober; 8] = [
    Prober::Luks,
    Prober::Vfat,
    Prober::Swap,
    Prober::Xfs,
    Prober::Ext,
    Prober::Squashfs,
    Prober::Btrfs,
    Prober::Erofs,
];

impl Prober {
    pub fn name(&self) -> &'static str {
        match self {
            Prober::Luks => "crypto_LUKS",
            Prober::Vfat => "vfat",
            Prober::Swap => "swap",
            Prober::Xfs => "xfs",
            Prober::Ext => "ext",
            Prober::Squashfs => "squashfs",
            Prober::Btrfs => "btrfs",
            Prober::Erofs => "erofs",
        }
    }
}

/// blkid's `blkid_probe_set_label`: the field up to its first NUL, trailing white space
/// removed; `None` when empty. Bytes that are not UTF-8 are replaced (labels are meant to be
/// text; blkid passes raw bytes through).
pub(crate) fn label(field: &[u8]) -> Option<String> {
    let end = field.iter().position(|&c| c == 0).unwrap_or(field.len());
    let s = String::from_utf8_lossy(field.get(..end).unwrap_or(&[])).into_owned();
    let t = s.trim_end_matches(|c: char| c.is_ascii_whitespace() || c == '\x0b');
    (!t.is_empty()).then(|| t.to_string())
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
