//! bcachefs superblock, from util-linux's newer `libblkid/src/superblocks/bcache.c`
//! (`probe_bcachefs`; util-linux 2.38, the oracle of every other reader here, does not know
//! bcachefs, and Debian 12 has no bcachefs-tools): checked against the source only.
//!
//! Kept minimal: the primary superblock at 4 KiB with the bcachefs magic, its self-offset,
//! device index and size-field checks; TYPE, UUID (the user-visible UUID), LABEL and VERSION.
//! Not done (said so): the superblock checksum (crc32c/crc64/xxhash; newer blkid verifies
//! it), the copies at other offsets, the old layout that used bcache's magic, and UUID_SUB /
//! LABEL_SUB from the member and disk-group fields.

use super::{FsInfo, Usage};
use crate::error::FormatError;
use crate::formats::bytes;

const FORMAT: &str = "bcachefs";

pub const SB_OFFSET: u64 = 0x1000;
/// Up to `layout.sb_max_size_bits`.
pub const SB_READ: usize = 0x102;
/// blkid's `minsz`: 256 sectors.
pub const MIN_DEVICE_SIZE: u64 = 256 * 512;

const VERSION: usize = 16;
const MAGIC: usize = 24;
const USER_UUID: usize = 56;
const LABEL: usize = 72;
const OFFSET: usize = 104;
const DEV_IDX: usize = 122;
const NR_DEVICES: usize = 123;
const U64S: usize = 124;
const SB_MAX_SIZE_BITS: usize = 257;
/// `offsetof(struct bcachefs_super_block, _start)`.
const FIELDS_OFF: u64 = 0x2F0;
const MAX_SIZE_SHIFT: u8 = 16;
const BCACHEFS_MAGIC: [u8; 16] = [
    0xc6, 0x85, 0x73, 0xf6, 0x66, 0xce, 0x90, 0xa9, 0xd9, 0x6a, 0x60, 0xcf, 0x80, 0x3d, 0xf7, 0xef,
];

pub fn parse(sb: &[u8; SB_READ]) -> Result<Option<FsInfo>, FormatError> {
    if bytes::arr::<16>(sb, MAGIC) != Some(BCACHEFS_MAGIC) {
        return Ok(None);
    }
    let field = |off: usize, name: &'static str, found: u64, expected: String| {
        Err(FormatError::field(
            FORMAT, off as u64, name, found, expected,
        ))
    };
    let offset = bytes::le64(sb, OFFSET).unwrap_or(0);
    if offset != SB_OFFSET / 512 {
        return field(OFFSET, "offset", offset, (SB_OFFSET / 512).to_string());
    }
    let nr = bytes::u8_at(sb, NR_DEVICES).unwrap_or(0);
    let idx = bytes::u8_at(sb, DEV_IDX).unwrap_or(0);
    if nr == 0 {
        return field(NR_DEVICES, "nr_devices", 0, "at least 1".into());
    }
    if idx >= nr {
        return field(
            DEV_IDX,
            "dev_idx",
            idx.into(),
            format!("below nr_devices ({nr})"),
        );
    }
    let bits = bytes::u8_at(sb, SB_MAX_SIZE_BITS).unwrap_or(0);
    if bits > MAX_SIZE_SHIFT {
        return field(
            SB_MAX_SIZE_BITS,
            "layout.sb_max_size_bits",
            bits.into(),
            format!("at most {MAX_SIZE_SHIFT}"),
        );
    }
    let size = FIELDS_OFF + u64::from(bytes::le32(sb, U64S).unwrap_or(0)) * 8;
    let max = 512u64 << bits;
    if size > max {
        return field(
            U64S,
            "u64s",
            size,
            format!("a superblock of at most {max} bytes"),
        );
    }
    let mut info = FsInfo::new("bcachefs", Usage::Filesystem);
    info.uuid = bytes::arr::<16>(sb, USER_UUID).and_then(|u| super::uuid(&u));
    info.label = super::label(sb.get(LABEL..LABEL + 32).unwrap_or(&[]));
    let v = bytes::le16(sb, VERSION).unwrap_or(0);
    info.version = Some(format!("{}.{}", v >> 10, v & 0x3FF));
    Ok(Some(info))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// From the newer blkid's `struct bcachefs_super_block` (no tool writes bcachefs here).
    #[test]
    fn layout() {
        let mut sb = [0u8; SB_READ];
        assert_eq!(parse(&sb).unwrap(), None);
        sb[MAGIC..MAGIC + 16].copy_from_slice(&BCACHEFS_MAGIC);
        sb[OFFSET..OFFSET + 8].copy_from_slice(&8u64.to_le_bytes());
        assert_eq!(parse(&sb).unwrap_err().offset, NR_DEVICES as u64);
        sb[NR_DEVICES] = 1;
        assert_eq!(
            parse(&sb).unwrap_err().offset,
            U64S as u64,
            "752 bytes > 512 << 0"
        );
        sb[SB_MAX_SIZE_BITS] = 3;
        sb[USER_UUID] = 0xab;
        sb[LABEL..LABEL + 4].copy_from_slice(b"data");
        sb[VERSION..VERSION + 2].copy_from_slice(&((1u16 << 10) | 3).to_le_bytes());
        let i = parse(&sb).unwrap().unwrap();
        assert_eq!(
            i.uuid.as_deref(),
            Some("ab000000-0000-0000-0000-000000000000")
        );
        assert_eq!(
            (i.label.as_deref(), i.version.as_deref()),
            (Some("data"), Some("1.3"))
        );
        sb[DEV_IDX] = 1;
        assert_eq!(parse(&sb).unwrap_err().offset, DEV_IDX as u64);
        sb[DEV_IDX] = 0;
        sb[U64S..U64S + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(parse(&sb).unwrap_err().offset, U64S as u64);
    }
}
