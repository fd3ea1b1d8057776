//! romfs superblock: util-linux `libblkid/src/superblocks/romfs.c` (the magic, and the volume
//! name as LABEL).

use super::{FsInfo, Usage};
use crate::error::FormatError;
use crate::formats::bytes;

pub const SB_OFFSET: u64 = 0;
/// `struct romfs_super_block`: 32 bytes.
pub const SB_READ: usize = 32;

const VOLUME: usize = 0x10;

pub fn parse(sb: &[u8; SB_READ]) -> Result<Option<FsInfo>, FormatError> {
    if bytes::arr::<8>(sb, 0).as_ref() != Some(b"-rom1fs-") {
        return Ok(None);
    }
    let mut info = FsInfo::new("romfs", Usage::Filesystem);
    if bytes::u8_at(sb, VOLUME).is_some_and(|c| c != 0) {
        info.label = super::label(sb.get(VOLUME..VOLUME + 16).unwrap_or(&[]));
    }
    Ok(Some(info))
}
