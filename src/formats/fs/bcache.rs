//! bcache superblock (backing and cache devices): util-linux 2.38
//! `libblkid/src/superblocks/bcache.c`. blkid 2.38 checks the magic and that the superblock
//! says it was written where it is (sector 8); it reports the device UUID only (newer blkid
//! also verifies the CRC-64 and reports VERSION and LABEL).

use super::{FsInfo, Usage};
use crate::error::FormatError;
use crate::formats::bytes;

const FORMAT: &str = "bcache";

/// `BCACHE_SB_OFF`.
pub const SB_OFFSET: u64 = 0x1000;
/// blkid's `struct bcache_super_block` (2.38): csum, offset, version, magic, uuid.
pub const SB_READ: usize = 56;
/// blkid's `minsz` for bcache.
pub const MIN_DEVICE_SIZE: u64 = 8192;

const OFFSET: usize = 8;
const MAGIC: usize = 24;
const UUID: usize = 40;
/// `BCACHE_SB_MAGIC`.
pub const BCACHE_MAGIC: [u8; 16] = [
    0xc6, 0x85, 0x73, 0xf6, 0x4e, 0x1a, 0x45, 0xca, 0x82, 0x65, 0xf5, 0x7f, 0x48, 0xba, 0x6d, 0x81,
];

/// Parses the superblock read at [`SB_OFFSET`]. `Err`: the magic with another `offset`.
pub fn parse(sb: &[u8; SB_READ]) -> Result<Option<FsInfo>, FormatError> {
    if bytes::arr::<16>(sb, MAGIC) != Some(BCACHE_MAGIC) {
        return Ok(None);
    }
    let offset = bytes::le64(sb, OFFSET).unwrap_or(0);
    if offset != SB_OFFSET / 512 {
        return Err(FormatError::field(
            FORMAT,
            OFFSET as u64,
            "offset",
            offset,
            SB_OFFSET / 512,
        ));
    }
    let mut info = FsInfo::new("bcache", Usage::Other);
    info.uuid = bytes::arr::<16>(sb, UUID).and_then(|u| super::uuid(&u));
    Ok(Some(info))
}
