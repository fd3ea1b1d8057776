//! ext2/ext3/ext4 (and ext4dev, jbd) superblock: util-linux `libblkid/src/superblocks/ext.c`.
//!
//! The type is chosen from the feature words exactly as blkid's probers do, in its order
//! (ext4dev, ext4, ext3, ext2, jbd):
//! * journal device (incompat JOURNAL_DEV) → jbd;
//! * `s_flags` TEST_FILESYS → ext4dev;
//! * a feature ext3 does not know (ro_compat beyond sparse_super/large_file/btree_dir, incompat
//!   beyond filetype/recover/meta_bg) → ext4, with or without a journal;
//! * otherwise a journal → ext3, no journal → ext2.

use super::{FsInfo, Usage};
use crate::error::FormatError;
use crate::formats::bytes;

/// Superblock offset on the device (`EXT_SB_OFF`).
pub const SB_OFFSET: u64 = 0x400;
/// Bytes read (blkid reads 0x200 of the 1024-byte superblock; every field used is inside).
pub const SB_READ: usize = 0x200;

const S_MAGIC: usize = 0x38;
const S_MINOR_REV_LEVEL: usize = 0x3E;
const S_REV_LEVEL: usize = 0x4C;
const S_FEATURE_COMPAT: usize = 0x5C;
const S_FEATURE_INCOMPAT: usize = 0x60;
const S_FEATURE_RO_COMPAT: usize = 0x64;
const S_UUID: usize = 0x68;
const S_VOLUME_NAME: usize = 0x78;
const S_FLAGS: usize = 0x160;

/// `EXT_SB_MAGIC` "\123\357".
const EXT_SB_MAGIC: u16 = 0xEF53;
const EXT2_FLAGS_TEST_FILESYS: u32 = 0x0004;
const EXT3_FEATURE_COMPAT_HAS_JOURNAL: u32 = 0x0004;
const EXT3_FEATURE_INCOMPAT_JOURNAL_DEV: u32 = 0x0008;
/// `EXT2_FEATURE_RO_COMPAT_SUPP` (= `EXT3_FEATURE_RO_COMPAT_SUPP`): sparse_super, large_file,
/// btree_dir.
const EXT3_FEATURE_RO_COMPAT_SUPP: u32 = 0x0001 | 0x0002 | 0x0004;
/// `EXT2_FEATURE_INCOMPAT_SUPP`: filetype, meta_bg.
const EXT2_FEATURE_INCOMPAT_SUPP: u32 = 0x0002 | 0x0010;
/// `EXT3_FEATURE_INCOMPAT_SUPP`: filetype, recover, meta_bg.
const EXT3_FEATURE_INCOMPAT_SUPP: u32 = 0x0002 | 0x0004 | 0x0010;

/// Parses the superblock start read at [`SB_OFFSET`]. `Ok(None)`: no ext magic. There is no
/// error case: like blkid, any feature combination names some ext type.
pub fn parse(sb: &[u8; SB_READ]) -> Result<Option<FsInfo>, FormatError> {
    if bytes::le16(sb, S_MAGIC) != Some(EXT_SB_MAGIC) {
        return Ok(None);
    }
    let fc = bytes::le32(sb, S_FEATURE_COMPAT).unwrap_or(0);
    let fi = bytes::le32(sb, S_FEATURE_INCOMPAT).unwrap_or(0);
    let frc = bytes::le32(sb, S_FEATURE_RO_COMPAT).unwrap_or(0);
    let flags = bytes::le32(sb, S_FLAGS).unwrap_or(0);
    let journal = fc & EXT3_FEATURE_COMPAT_HAS_JOURNAL != 0;
    let beyond_ext3 =
        frc & !EXT3_FEATURE_RO_COMPAT_SUPP != 0 || fi & !EXT3_FEATURE_INCOMPAT_SUPP != 0;
    let beyond_ext2 =
        frc & !EXT3_FEATURE_RO_COMPAT_SUPP != 0 || fi & !EXT2_FEATURE_INCOMPAT_SUPP != 0;
    let (fstype, usage) = if fi & EXT3_FEATURE_INCOMPAT_JOURNAL_DEV != 0 {
        ("jbd", Usage::Other)
    } else if flags & EXT2_FLAGS_TEST_FILESYS != 0 {
        ("ext4dev", Usage::Filesystem)
    } else if beyond_ext3 {
        ("ext4", Usage::Filesystem)
    } else if journal {
        ("ext3", Usage::Filesystem)
    } else if !beyond_ext2 {
        ("ext2", Usage::Filesystem)
    } else {
        // No journal, only ext3 features (e.g. needs_recovery without a journal): no blkid
        // ext prober accepts it (ext2 rejects the feature, ext3 wants a journal, ext4 wants
        // more than ext3 knows).
        return Ok(None);
    };
    let mut info = FsInfo::new(fstype, usage);
    if bytes::u8_at(sb, S_VOLUME_NAME).is_some_and(|c| c != 0) {
        info.label = super::label(sb.get(S_VOLUME_NAME..S_VOLUME_NAME + 16).unwrap_or(&[]));
    }
    info.uuid = bytes::arr::<16>(sb, S_UUID).and_then(|u| super::uuid(&u));
    info.version = Some(format!(
        "{}.{}",
        bytes::le32(sb, S_REV_LEVEL).unwrap_or(0),
        bytes::le16(sb, S_MINOR_REV_LEVEL).unwrap_or(0)
    ));
    Ok(Some(info))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sb(fc: u32, fi: u32, frc: u32, flags: u32) -> [u8; SB_READ] {
        let mut s = [0u8; SB_READ];
        s[S_MAGIC..S_MAGIC + 2].copy_from_slice(&EXT_SB_MAGIC.to_le_bytes());
        s[S_FEATURE_COMPAT..S_FEATURE_COMPAT + 4].copy_from_slice(&fc.to_le_bytes());
        s[S_FEATURE_INCOMPAT..S_FEATURE_INCOMPAT + 4].copy_from_slice(&fi.to_le_bytes());
        s[S_FEATURE_RO_COMPAT..S_FEATURE_RO_COMPAT + 4].copy_from_slice(&frc.to_le_bytes());
        s[S_FLAGS..S_FLAGS + 4].copy_from_slice(&flags.to_le_bytes());
        s
    }

    fn ty(s: [u8; SB_READ]) -> Option<&'static str> {
        parse(&s).unwrap().map(|i| i.fstype)
    }

    #[test]
    fn type_rules() {
        assert_eq!(ty(sb(0, 0x2, 0x1, 0)), Some("ext2"));
        assert_eq!(ty(sb(4, 0x2, 0x1, 0)), Some("ext3"));
        assert_eq!(ty(sb(4, 0x6, 0x3, 0)), Some("ext3"), "recover is ext3");
        assert_eq!(ty(sb(4, 0x42, 0x1, 0)), Some("ext4"), "extents");
        assert_eq!(
            ty(sb(0, 0x2, 0x8, 0)),
            Some("ext4"),
            "huge_file without journal"
        );
        assert_eq!(ty(sb(0, 0x2, 0x1, 4)), Some("ext4dev"));
        assert_eq!(ty(sb(0, 0x8, 0, 0)), Some("jbd"));
        assert_eq!(ty(sb(0, 0x4, 0, 0)), None, "recover without a journal");
        let mut s = sb(0, 0, 0, 0);
        s[S_MAGIC] = 0;
        assert_eq!(ty(s), None);
    }
}
