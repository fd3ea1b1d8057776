//! EROFS superblock: util-linux `libblkid/src/superblocks/erofs.c`. Little-endian.

use super::{FsInfo, Usage};
use crate::error::FormatError;
use crate::formats::bytes;

/// `EROFS_SUPER_OFFSET`.
pub const SB_OFFSET: u64 = 1024;
/// `struct erofs_super_block` up to `reserved2`: 128 bytes.
pub const SB_READ: usize = 128;

/// `EROFS_SUPER_MAGIC_V1`.
const EROFS_SUPER_MAGIC_V1: [u8; 4] = [0xe2, 0xe1, 0xf5, 0xe0];
const UUID: usize = 0x30;
const VOLUME_NAME: usize = 0x40;

/// Parses the superblock read at [`SB_OFFSET`]: the magic identifies it (blkid checks nothing
/// else).
pub fn parse(sb: &[u8; SB_READ]) -> Result<Option<FsInfo>, FormatError> {
    if bytes::arr::<4>(sb, 0) != Some(EROFS_SUPER_MAGIC_V1) {
        return Ok(None);
    }
    let mut info = FsInfo::new("erofs", Usage::Filesystem);
    if bytes::u8_at(sb, VOLUME_NAME).is_some_and(|c| c != 0) {
        info.label = super::label(sb.get(VOLUME_NAME..VOLUME_NAME + 16).unwrap_or(&[]));
    }
    info.uuid = bytes::arr::<16>(sb, UUID).and_then(|u| super::uuid(&u));
    Ok(Some(info))
}
