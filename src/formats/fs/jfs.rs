//! JFS superblock: util-linux `libblkid/src/superblocks/jfs.c`. Little-endian.

use super::{FsInfo, Usage};
use crate::error::FormatError;
use crate::formats::bytes;

const FORMAT: &str = "jfs";

/// The superblock is at 32 KiB.
pub const SB_OFFSET: u64 = 0x8000;
/// `struct jfs_super_block` up to the end of `js_loguuid`.
pub const SB_READ: usize = 0xA8;
/// blkid's `minsz` for jfs.
pub const MIN_DEVICE_SIZE: u64 = 16 * 1024 * 1024;

const BSIZE: usize = 0x10;
const L2BSIZE: usize = 0x14;
const L2BFACTOR: usize = 0x16;
const PBSIZE: usize = 0x18;
const L2PBSIZE: usize = 0x1C;
const UUID: usize = 0x88;
const LABEL: usize = 0x98;

/// Parses the superblock read at [`SB_OFFSET`]. `Err`: "JFS1" whose block sizes disagree with
/// their logarithms (blkid's three checks).
pub fn parse(sb: &[u8; SB_READ]) -> Result<Option<FsInfo>, FormatError> {
    if bytes::arr::<4>(sb, 0).as_ref() != Some(b"JFS1") {
        return Ok(None);
    }
    let bsize = bytes::le32(sb, BSIZE).unwrap_or(0);
    let l2bsize = bytes::le16(sb, L2BSIZE).unwrap_or(0);
    let pbsize = bytes::le32(sb, PBSIZE).unwrap_or(0);
    let l2pbsize = bytes::le16(sb, L2PBSIZE).unwrap_or(0);
    let l2bfactor = bytes::le16(sb, L2BFACTOR).unwrap_or(0);
    // blkid shifts `1U << l2bsize`, which C leaves undefined from 32 on: no such power matches.
    let pow = |l: u16| 1u32.checked_shl(u32::from(l));
    if pow(l2bsize) != Some(bsize) {
        return Err(FormatError::field(
            FORMAT,
            BSIZE as u64,
            "js_bsize",
            bsize,
            format!("1 << js_l2bsize ({l2bsize})"),
        ));
    }
    if pow(l2pbsize) != Some(pbsize) {
        return Err(FormatError::field(
            FORMAT,
            PBSIZE as u64,
            "js_pbsize",
            pbsize,
            format!("1 << js_l2pbsize ({l2pbsize})"),
        ));
    }
    // blkid computes the difference in int (l2bsize - l2pbsize may be negative) and compares it
    // with the unsigned factor.
    if i32::from(l2bsize) - i32::from(l2pbsize) != i32::from(l2bfactor) {
        return Err(FormatError::field(
            FORMAT,
            L2BFACTOR as u64,
            "js_l2bfactor",
            l2bfactor,
            format!(
                "js_l2bsize - js_l2pbsize ({})",
                i32::from(l2bsize) - i32::from(l2pbsize)
            ),
        ));
    }
    let mut info = FsInfo::new("jfs", Usage::Filesystem);
    if bytes::u8_at(sb, LABEL).is_some_and(|c| c != 0) {
        info.label = super::label(sb.get(LABEL..LABEL + 16).unwrap_or(&[]));
    }
    info.uuid = bytes::arr::<16>(sb, UUID).and_then(|u| super::uuid(&u));
    Ok(Some(info))
}
