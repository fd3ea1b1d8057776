//! cramfs superblock: util-linux `libblkid/src/superblocks/cramfs.c` (2.38: the magic in either
//! byte order, and the 16-byte name as LABEL; nothing else is checked).

use super::{FsInfo, Usage};
use crate::error::FormatError;
use crate::formats::bytes;

pub const SB_OFFSET: u64 = 0;
/// `struct cramfs_super`: 64 bytes.
pub const SB_READ: usize = 64;

const NAME: usize = 0x30;

pub fn parse(sb: &[u8; SB_READ]) -> Result<Option<FsInfo>, FormatError> {
    match bytes::arr::<4>(sb, 0) {
        Some([0x45, 0x3d, 0xcd, 0x28]) | Some([0x28, 0xcd, 0x3d, 0x45]) => {}
        _ => return Ok(None),
    }
    let mut info = FsInfo::new("cramfs", Usage::Filesystem);
    info.label = super::label(sb.get(NAME..NAME + 16).unwrap_or(&[]));
    Ok(Some(info))
}
