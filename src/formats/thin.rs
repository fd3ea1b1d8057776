//! The superblock of a thin pool's metadata device (kernel `dm-thin-metadata.c`,
//! `struct thin_disk_superblock`, at block 0 of `_tmeta`, 4096 bytes, little-endian):
//!
//! | offset | field |
//! |---|---|
//! | 0 | `csum` (le32): `crc32c(~0, bytes 4..4096) ^ 160774`, without the final inversion (`dm_bm_checksum`, `SUPERBLOCK_CSUM_XOR`) |
//! | 4 | `flags` (le32): bit 0 `THIN_METADATA_NEEDS_CHECK_FLAG` |
//! | 8 | `blocknr` (le64): 0 |
//! | 32 | `magic` (le64): 27022010 (`THIN_SUPERBLOCK_MAGIC`) |
//! | 40 | `version` (le32): 1 or 2 |
//! | 48 | `trans_id` (le64) |
//! | 336 | `data_block_size` (le32, sectors) |
//!
//! lvm2 runs `thin_check` on `_tmeta` before it activates a pool and activates the pool anyway,
//! with a warning, when the tool is not installed (`_pool_callback`, `dev_manager.c`); libdm
//! then compares the pool's transaction id with the metadata's (`_thin_pool_node_send_messages`).
//! We run no tool: this reader gives what both decisions need, and an all-zero header is a
//! pool the kernel formats on first load (lvm2 skips the check then too: `skip_zero`).

use crate::formats::bytes;
use std::fmt;

/// `THIN_SUPERBLOCK_MAGIC`.
pub const MAGIC: u64 = 27_022_010;
/// The metadata block size (`THIN_METADATA_BLOCK_SIZE`): the superblock fills one block.
pub const BLOCK: usize = 4096;
/// `SUPERBLOCK_CSUM_XOR`.
const CSUM_XOR: u32 = 160_774;
/// `THIN_METADATA_NEEDS_CHECK_FLAG`.
pub const NEEDS_CHECK: u32 = 1;
/// lvm2's `skip_zero` test: the first 64 bytes all zero means "not formatted yet".
const ZERO_HEADER: usize = 64;

/// What a pool's metadata superblock says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ThinSuper {
    /// The first 64 bytes are zero: the kernel formats the metadata when the pool is loaded.
    Unformatted,
    Formatted {
        flags: u32,
        version: u32,
        transaction_id: u64,
        /// Sectors.
        data_block_size: u32,
    },
}

impl ThinSuper {
    pub fn needs_check(&self) -> bool {
        matches!(self, ThinSuper::Formatted { flags, .. } if flags & NEEDS_CHECK != 0)
    }
}

/// A field that is not what the kernel accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThinSuperError {
    pub offset: usize,
    pub field: &'static str,
    pub found: String,
    pub expected: String,
}

impl fmt::Display for ThinSuperError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "thin metadata superblock at byte {}: {}: found {}, expected {}",
            self.offset, self.field, self.found, self.expected
        )
    }
}

fn err(offset: usize, field: &'static str, found: String, expected: String) -> ThinSuperError {
    ThinSuperError {
        offset,
        field,
        found,
        expected,
    }
}

/// The checksum the kernel stores: `crc32c(~0, data) ^ xor` with no final inversion; the
/// crate computes the standard CRC-32C (with the final inversion), hence the `!`.
pub fn block_checksum(data: &[u8]) -> u32 {
    !crc::Crc::<u32>::new(&crc::CRC_32_ISCSI).checksum(data) ^ CSUM_XOR
}

/// Parses block 0 of a metadata device (at least [`BLOCK`] bytes).
pub fn parse(b: &[u8]) -> Result<ThinSuper, ThinSuperError> {
    if b.len() < BLOCK {
        return Err(err(
            0,
            "length",
            b.len().to_string(),
            format!("{BLOCK} bytes"),
        ));
    }
    // In bounds: the length was checked above.
    let le32 = |o| bytes::le32(b, o).unwrap_or_default();
    let le64 = |o| bytes::le64(b, o).unwrap_or_default();
    if b[..ZERO_HEADER].iter().all(|&x| x == 0) {
        return Ok(ThinSuper::Unformatted);
    }
    let magic = le64(32);
    if magic != MAGIC {
        return Err(err(32, "magic", magic.to_string(), MAGIC.to_string()));
    }
    let stored = le32(0);
    let computed = block_checksum(&b[4..BLOCK]);
    if stored != computed {
        return Err(err(
            0,
            "csum",
            format!("{stored:#010x}"),
            format!("{computed:#010x}"),
        ));
    }
    let blocknr = le64(8);
    if blocknr != 0 {
        return Err(err(8, "blocknr", blocknr.to_string(), "0".into()));
    }
    let version = le32(40);
    if !(1..=2).contains(&version) {
        return Err(err(40, "version", version.to_string(), "1 or 2".into()));
    }
    Ok(ThinSuper::Formatted {
        flags: le32(4),
        version,
        transaction_id: le64(48),
        data_block_size: le32(336),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Block 0 of a pool's `_tmeta` as lvm2 and the kernel wrote it (tests/fixtures/thin).
    fn fixture() -> Vec<u8> {
        std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/thin/pool-tmeta-block0"
        ))
        .unwrap()
    }

    fn reseal(b: &mut [u8]) {
        let c = block_checksum(&b[4..BLOCK]);
        b[..4].copy_from_slice(&c.to_le_bytes());
    }

    #[test]
    fn reads_the_kernel_written_superblock() {
        let sb = parse(&fixture()).unwrap();
        assert_eq!(
            sb,
            ThinSuper::Formatted {
                flags: 0,
                version: 2,
                transaction_id: 2,
                data_block_size: 128,
            }
        );
        assert!(!sb.needs_check());
    }

    #[test]
    fn needs_check_is_bit_0_of_flags() {
        let mut b = fixture();
        b[4] |= 1;
        reseal(&mut b);
        assert!(parse(&b).unwrap().needs_check());
    }

    #[test]
    fn one_changed_byte_fails_the_checksum() {
        let mut b = fixture();
        b[4] |= 1;
        let e = parse(&b).unwrap_err();
        assert_eq!((e.offset, e.field), (0, "csum"));
        assert_eq!(e.found, "0x563d2bca");
        assert!(e.to_string().starts_with(
            "thin metadata superblock at byte 0: csum: found 0x563d2bca, expected 0x"
        ));
    }

    #[test]
    fn bad_fields_are_named() {
        let mut b = fixture();
        b[32] ^= 0xff;
        reseal(&mut b);
        let e = parse(&b).unwrap_err();
        assert_eq!((e.offset, e.field), (32, "magic"));
        let mut b = fixture();
        b[40] = 7;
        reseal(&mut b);
        assert_eq!(parse(&b).unwrap_err().field, "version");
        assert_eq!(parse(&b[..100]).unwrap_err().field, "length");
    }

    #[test]
    fn an_all_zero_header_is_unformatted() {
        let mut b = fixture();
        b[..64].fill(0);
        assert_eq!(parse(&b).unwrap(), ThinSuper::Unformatted);
        assert!(!ThinSuper::Unformatted.needs_check());
    }
}
