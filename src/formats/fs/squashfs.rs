//! squashfs superblock: util-linux `libblkid/src/superblocks/squashfs.c`. squashfs has no UUID
//! and no label; blkid reports TYPE and VERSION only.

use super::{FsInfo, Usage};
use crate::error::FormatError;
use crate::formats::bytes;

pub const SB_OFFSET: u64 = 0;
/// `struct sqsh_super_block` is 96 bytes.
pub const SB_READ: usize = 96;

const VERSION_MAJOR: usize = 0x1C;
const VERSION_MINOR: usize = 0x1E;

/// Parses the superblock. "hsqs" (little-endian) with major version 4 or more is `squashfs`;
/// older versions and the big-endian "sqsh" are blkid's `squashfs3`.
pub fn parse(sb: &[u8; SB_READ]) -> Result<Option<FsInfo>, FormatError> {
    let (fstype, major, minor) = match bytes::arr::<4>(sb, 0).as_ref() {
        Some(b"hsqs") => {
            let major = bytes::le16(sb, VERSION_MAJOR).unwrap_or(0);
            let minor = bytes::le16(sb, VERSION_MINOR).unwrap_or(0);
            (
                if major >= 4 { "squashfs" } else { "squashfs3" },
                major,
                minor,
            )
        }
        Some(b"sqsh") => {
            let major = bytes::be16(sb, VERSION_MAJOR).unwrap_or(0);
            if major > 3 {
                return Ok(None);
            }
            (
                "squashfs3",
                major,
                bytes::be16(sb, VERSION_MINOR).unwrap_or(0),
            )
        }
        _ => return Ok(None),
    };
    let mut info = FsInfo::new(fstype, Usage::Filesystem);
    info.version = Some(format!("{major}.{minor}"));
    Ok(Some(info))
}
