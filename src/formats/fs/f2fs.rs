//! F2FS superblock: util-linux `libblkid/src/superblocks/f2fs.c`. Little-endian.

use super::{FsInfo, Usage, Utf16};
use crate::error::FormatError;
use crate::formats::bytes;

/// `F2FS_SB1_OFF`.
pub const SB_OFFSET: u64 = 0x400;
/// `struct f2fs_super_block` as blkid declares it: up to the end of `volume_name`.
pub const SB_READ: usize = 0x47C;

/// `F2FS_MAGIC` (0xF2F52010 little-endian).
const F2FS_MAGIC: [u8; 4] = [0x10, 0x20, 0xF5, 0xF2];
const MAJOR_VER: usize = 0x04;
const MINOR_VER: usize = 0x06;
const UUID: usize = 0x6C;
const VOLUME_NAME: usize = 0x7C;
/// `F2FS_LABEL_SIZE` UTF-16 units.
const VOLUME_NAME_LEN: usize = 512 * 2;

/// Parses the superblock read at [`SB_OFFSET`]. The magic identifies it; version 1.0 is named
/// without UUID, label or version ("we cannot know the correct sb structure").
pub fn parse(sb: &[u8; SB_READ]) -> Result<Option<FsInfo>, FormatError> {
    if bytes::arr::<4>(sb, 0) != Some(F2FS_MAGIC) {
        return Ok(None);
    }
    let mut info = FsInfo::new("f2fs", Usage::Filesystem);
    let major = bytes::le16(sb, MAJOR_VER).unwrap_or(0);
    let minor = bytes::le16(sb, MINOR_VER).unwrap_or(0);
    if (major, minor) == (1, 0) {
        return Ok(Some(info));
    }
    if bytes::u8_at(sb, VOLUME_NAME).is_some_and(|c| c != 0) {
        let field = sb
            .get(VOLUME_NAME..VOLUME_NAME + VOLUME_NAME_LEN)
            .unwrap_or(&[]);
        info.label = super::decoded_label(field, Some(Utf16::Le));
    }
    info.uuid = bytes::arr::<16>(sb, UUID).and_then(|u| super::uuid(&u));
    info.version = Some(format!("{major}.{minor}"));
    Ok(Some(info))
}
