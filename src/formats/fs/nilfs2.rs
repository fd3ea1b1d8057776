//! NILFS2 superblocks: util-linux `libblkid/src/superblocks/nilfs.c`. The primary at 1 KiB,
//! the backup in the last 4 KiB-aligned block before the end; each is valid when its magic and
//! its CRC-32 agree (one of the few checksums blkid verifies); the newer valid one (by
//! `s_last_cno`) is reported.

use super::{FsInfo, Usage};
use crate::error::FormatError;
use crate::formats::bytes;

const FORMAT: &str = "nilfs2";

pub const SB_OFFSET: u64 = 0x400;
/// `struct nilfs_super_block`: 1024 bytes.
pub const SB_READ: usize = 1024;
/// blkid's `minsz` for nilfs2.
pub const MIN_DEVICE_SIZE: u64 = 1024 * 1024;

const NILFS_SB_MAGIC: u16 = 0x3434;
const S_REV_LEVEL: usize = 0x00;
const S_MAGIC: usize = 0x06;
const S_BYTES: usize = 0x08;
const S_CRC_SEED: usize = 0x0C;
const S_SUM: usize = 0x10;
const S_LAST_CNO: usize = 0x38;
const S_UUID: usize = 0x98;
const S_VOLUME_NAME: usize = 0xA8;

/// `NILFS_SBB_OFFSET`: the backup superblock's offset on a device of `size` bytes.
pub fn backup_offset(size: u64) -> Option<u64> {
    (size / 0x200).checked_sub(8)?.checked_mul(0x200)
}

/// `nilfs_valid_sb`: `Ok(false)` without the magic, `Err` when the magic is there but the
/// length or the CRC is wrong.
fn valid(sb: &[u8; SB_READ], base: u64) -> Result<bool, FormatError> {
    if bytes::le16(sb, S_MAGIC) != Some(NILFS_SB_MAGIC) {
        return Ok(false);
    }
    let n = usize::from(bytes::le16(sb, S_BYTES).unwrap_or(0));
    let crc_start = S_SUM + 4;
    if n < crc_start || n > SB_READ {
        return Err(FormatError::field(
            FORMAT,
            base + S_BYTES as u64,
            "s_bytes",
            n,
            format!("{crc_start}..={SB_READ}"),
        ));
    }
    let seed = bytes::le32(sb, S_CRC_SEED).unwrap_or(0);
    let mut crc = bytes::crc32_raw(seed, sb.get(..S_SUM).unwrap_or(&[]));
    crc = bytes::crc32_raw(crc, &[0; 4]);
    crc = bytes::crc32_raw(crc, sb.get(crc_start..n).unwrap_or(&[]));
    let stored = bytes::le32(sb, S_SUM).unwrap_or(0);
    if crc != stored {
        return Err(FormatError::checksum(
            FORMAT,
            base + S_SUM as u64,
            "s_sum",
            stored,
            crc,
        ));
    }
    Ok(true)
}

/// Parses the primary (read at [`SB_OFFSET`]) and the backup (at [`backup_offset`], `None`
/// when unreadable). The whole-disk check of blkid (a backup's `s_dev_size` must equal the
/// disk's size) is not made: blkid skips it for partitions and image files too.
pub fn parse(
    primary: &[u8; SB_READ],
    backup: Option<(&[u8; SB_READ], u64)>,
) -> Result<Option<FsInfo>, FormatError> {
    let p = valid(primary, SB_OFFSET);
    let b = match backup {
        Some((sb, at)) => valid(sb, at),
        None => Ok(false),
    };
    let (pv, bv) = (*p.as_ref().unwrap_or(&false), *b.as_ref().unwrap_or(&false));
    if !pv && !bv {
        // The first error found (primary first), else nothing.
        return match (p, b) {
            (Err(e), _) | (_, Err(e)) => Err(e),
            _ => Ok(None),
        };
    }
    let cno = |sb: &[u8; SB_READ]| bytes::le64(sb, S_LAST_CNO).unwrap_or(0);
    let sb = match backup {
        Some((bsb, _)) if bv && (!pv || cno(primary) > cno(bsb)) => bsb,
        _ => primary,
    };
    let mut info = FsInfo::new("nilfs2", Usage::Filesystem);
    if bytes::u8_at(sb, S_VOLUME_NAME).is_some_and(|c| c != 0) {
        info.label = super::label(sb.get(S_VOLUME_NAME..S_VOLUME_NAME + 80).unwrap_or(&[]));
    }
    info.uuid = bytes::arr::<16>(sb, S_UUID).and_then(|u| super::uuid(&u));
    info.version = Some(bytes::le32(sb, S_REV_LEVEL).unwrap_or(0).to_string());
    Ok(Some(info))
}
