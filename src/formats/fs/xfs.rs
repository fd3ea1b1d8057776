//! XFS superblock: util-linux `libblkid/src/superblocks/xfs.c` (`xfs_verify_sb`). Big-endian.

use super::{FsInfo, Usage};
use crate::error::FormatError;
use crate::formats::bytes;

const FORMAT: &str = "xfs";

/// The superblock is the first sector of the device.
pub const SB_OFFSET: u64 = 0;
pub const SB_READ: usize = 512;

/// `XFS_SB_MAGIC` "XFSB".
const XFS_SB_MAGIC: &[u8; 4] = b"XFSB";

const SB_BLOCKSIZE: usize = 0x04;
const SB_DBLOCKS: usize = 0x08;
const SB_UUID: usize = 0x20;
const SB_REXTSIZE: usize = 0x50;
const SB_AGBLOCKS: usize = 0x54;
const SB_AGCOUNT: usize = 0x58;
const SB_SECTSIZE: usize = 0x66;
const SB_INODESIZE: usize = 0x68;
const SB_FNAME: usize = 0x6C;
const SB_BLOCKLOG: usize = 0x78;
const SB_SECTLOG: usize = 0x79;
const SB_INODELOG: usize = 0x7A;
const SB_INOPBLOG: usize = 0x7B;
const SB_IMAX_PCT: usize = 0x7F;

// xfs.c limits.
const XFS_MIN_BLOCKSIZE_LOG: u8 = 9;
const XFS_MAX_BLOCKSIZE_LOG: u8 = 16;
const XFS_MIN_SECTORSIZE_LOG: u8 = 9;
const XFS_MAX_SECTORSIZE_LOG: u8 = 15;
const XFS_DINODE_MIN_LOG: u8 = 8;
const XFS_DINODE_MAX_LOG: u8 = 11;
const XFS_MAX_RTEXTSIZE: u64 = 1024 * 1024 * 1024;
const XFS_MIN_RTEXTSIZE: u64 = 4 * 1024;
const XFS_MIN_AG_BLOCKS: u64 = 64;

/// Parses sector 0. `Ok(None)`: no "XFSB"; `Err`: the magic is there but a field fails one of
/// blkid's sanity checks (blkid then reports nothing; we name the field).
pub fn parse(sb: &[u8; SB_READ]) -> Result<Option<FsInfo>, FormatError> {
    if bytes::arr::<4>(sb, 0).as_ref() != Some(XFS_SB_MAGIC) {
        return Ok(None);
    }
    let u8f = |o| bytes::u8_at(sb, o).unwrap_or(0);
    let u16f = |o| bytes::be16(sb, o).unwrap_or(0);
    let u32f = |o| bytes::be32(sb, o).unwrap_or(0);
    let u64f = |o| bytes::be64(sb, o).unwrap_or(0);
    let bad = |off: usize, field: &'static str, found: String, expected: String| {
        FormatError::field(
            FORMAT,
            SB_OFFSET.saturating_add(off as u64),
            field,
            found,
            expected,
        )
    };
    // A power of two whose log lies in [min, max] and matches the stored log.
    let pow2 = |off: usize, field: &'static str, v: u64, log: u8, min: u8, max: u8| {
        if log < min || log > max || v != 1u64 << log {
            Err(bad(
                off,
                field,
                format!("{v} (log {log})"),
                format!("2^{min}..=2^{max} matching its log"),
            ))
        } else {
            Ok(())
        }
    };
    let agcount = u64::from(u32f(SB_AGCOUNT));
    if agcount == 0 {
        return Err(bad(
            SB_AGCOUNT,
            "sb_agcount",
            "0".into(),
            "at least 1".into(),
        ));
    }
    let sectsize = u64::from(u16f(SB_SECTSIZE));
    let sectlog = u8f(SB_SECTLOG);
    pow2(
        SB_SECTSIZE,
        "sb_sectsize",
        sectsize,
        sectlog,
        XFS_MIN_SECTORSIZE_LOG,
        XFS_MAX_SECTORSIZE_LOG,
    )?;
    let blocksize = u64::from(u32f(SB_BLOCKSIZE));
    let blocklog = u8f(SB_BLOCKLOG);
    pow2(
        SB_BLOCKSIZE,
        "sb_blocksize",
        blocksize,
        blocklog,
        XFS_MIN_BLOCKSIZE_LOG,
        XFS_MAX_BLOCKSIZE_LOG,
    )?;
    let inodesize = u64::from(u16f(SB_INODESIZE));
    let inodelog = u8f(SB_INODELOG);
    pow2(
        SB_INODESIZE,
        "sb_inodesize",
        inodesize,
        inodelog,
        XFS_DINODE_MIN_LOG,
        XFS_DINODE_MAX_LOG,
    )?;
    let inopblog = u8f(SB_INOPBLOG);
    if blocklog.checked_sub(inodelog) != Some(inopblog) {
        return Err(bad(
            SB_INOPBLOG,
            "sb_inopblog",
            inopblog.to_string(),
            format!(
                "sb_blocklog - sb_inodelog = {}",
                i32::from(blocklog) - i32::from(inodelog)
            ),
        ));
    }
    let rext = u64::from(u32f(SB_REXTSIZE)).saturating_mul(blocksize);
    if !(XFS_MIN_RTEXTSIZE..=XFS_MAX_RTEXTSIZE).contains(&rext) {
        return Err(bad(
            SB_REXTSIZE,
            "sb_rextsize",
            format!("{rext} bytes"),
            format!("{XFS_MIN_RTEXTSIZE}..={XFS_MAX_RTEXTSIZE} bytes"),
        ));
    }
    let imax = u8f(SB_IMAX_PCT);
    if imax > 100 {
        return Err(bad(
            SB_IMAX_PCT,
            "sb_imax_pct",
            imax.to_string(),
            "0..=100".into(),
        ));
    }
    let dblocks = u64f(SB_DBLOCKS);
    let agblocks = u64::from(u32f(SB_AGBLOCKS));
    let max = agcount.saturating_mul(agblocks);
    let min = (agcount - 1)
        .saturating_mul(agblocks)
        .saturating_add(XFS_MIN_AG_BLOCKS);
    if dblocks == 0 || dblocks > max || dblocks < min {
        return Err(bad(
            SB_DBLOCKS,
            "sb_dblocks",
            dblocks.to_string(),
            format!("{min}..={max}"),
        ));
    }
    let mut info = FsInfo::new("xfs", Usage::Filesystem);
    if bytes::u8_at(sb, SB_FNAME).is_some_and(|c| c != 0) {
        info.label = super::label(sb.get(SB_FNAME..SB_FNAME + 12).unwrap_or(&[]));
    }
    info.uuid = bytes::arr::<16>(sb, SB_UUID).and_then(|u| super::uuid(&u));
    Ok(Some(info))
}
