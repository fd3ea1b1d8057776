//! Minix v1/v2/v3 superblock: util-linux `libblkid/src/superblocks/minix.c` (fsck.minix's
//! sanity checks, and an ext magic at the same place rules it out).

use super::{FsInfo, Usage};
use crate::error::FormatError;
use crate::formats::bytes;

const FORMAT: &str = "minix";

pub const SB_OFFSET: u64 = 1024;
/// `struct minix3_super_block` (the larger) is 31 bytes; read up to the ext magic at 0x38.
pub const SB_READ: usize = 0x3A;

const MINIX_SUPER_MAGIC: u16 = 0x137F;
const MINIX_SUPER_MAGIC2: u16 = 0x138F;
const MINIX2_SUPER_MAGIC: u16 = 0x2468;
const MINIX2_SUPER_MAGIC2: u16 = 0x2478;
const MINIX3_SUPER_MAGIC: u16 = 0x4D5A;
const MINIX_VALID_FS: u16 = 1;
const MINIX_ERROR_FS: u16 = 2;
const MINIX_BLOCK_SIZE: u64 = 1024;
/// Offsets of `struct minix_super_block` (v1/v2).
const S_MAGIC: usize = 0x10;
/// `struct minix3_super_block`'s magic.
const S3_MAGIC: usize = 0x18;
/// The ext magic (`s_magic` at 0x38 of its superblock at 1024).
const EXT_MAGIC: usize = 0x38;

fn version_of(m: u16) -> Option<u8> {
    match m {
        MINIX_SUPER_MAGIC | MINIX_SUPER_MAGIC2 => Some(1),
        MINIX2_SUPER_MAGIC | MINIX2_SUPER_MAGIC2 => Some(2),
        _ => None,
    }
}

/// Parses the superblock read at [`SB_OFFSET`]. The version comes from the v1/v2 magic in
/// either byte order, else the v3 magic (blkid reads it in host order only, so a
/// big-endian v3 is not recognised by blkid on a little-endian machine, nor here).
/// `Err`: a minix magic whose counts fail fsck.minix's checks.
pub fn parse(sb: &[u8; SB_READ]) -> Result<Option<FsInfo>, FormatError> {
    let m = bytes::le16(sb, S_MAGIC).unwrap_or(0);
    let m3 = bytes::le16(sb, S3_MAGIC).unwrap_or(0);
    let (version, swab) = match (version_of(m), version_of(m.swap_bytes())) {
        (Some(v), _) => (v, false),
        (None, _) if m3 == MINIX3_SUPER_MAGIC => (3, false),
        (None, Some(v)) => (v, true),
        (None, None) => return Ok(None),
    };
    let r16 = |off: usize| {
        let v = bytes::le16(sb, off).unwrap_or(0);
        u64::from(if swab { v.swap_bytes() } else { v })
    };
    let r32 = |off: usize| {
        let v = bytes::le32(sb, off).unwrap_or(0);
        u64::from(if swab { v.swap_bytes() } else { v })
    };
    let (zones, ninodes, imaps, zmaps, firstz, log_zone) = if version == 3 {
        (
            r32(0x14),
            r32(0x00),
            r16(0x06),
            r16(0x08),
            r16(0x0A),
            r16(0x0C),
        )
    } else {
        let state = r16(0x12);
        if state & u64::from(MINIX_VALID_FS | MINIX_ERROR_FS) != state {
            return Err(FormatError::field(
                FORMAT,
                0x12,
                "s_state",
                state,
                "valid and/or error flags only",
            ));
        }
        let zones = if version == 2 { r32(0x14) } else { r16(0x02) };
        (zones, r16(0x00), r16(0x04), r16(0x06), r16(0x08), r16(0x0A))
    };
    let bad = |off: usize, field: &'static str, found: u64, expected: &str| {
        Err(FormatError::field(
            FORMAT, off as u64, field, found, expected,
        ))
    };
    if log_zone != 0 {
        return bad(
            if version == 3 { 0x0C } else { 0x0A },
            "s_log_zone_size",
            log_zone,
            "0",
        );
    }
    if ninodes == 0 || ninodes == u64::from(u32::MAX) {
        return bad(0, "s_ninodes", ninodes, "neither 0 nor 0xffffffff");
    }
    let bits = MINIX_BLOCK_SIZE * 8;
    if imaps * bits < ninodes + 1 {
        return bad(
            if version == 3 { 0x06 } else { 0x04 },
            "s_imap_blocks",
            imaps,
            "enough bits for every inode",
        );
    }
    if firstz > zones {
        return bad(
            if version == 3 { 0x0A } else { 0x08 },
            "s_firstdatazone",
            firstz,
            format!("at most the zone count {zones}").as_str(),
        );
    }
    if zmaps * bits < zones - firstz + 1 {
        return bad(
            if version == 3 { 0x08 } else { 0x06 },
            "s_zmap_blocks",
            zmaps,
            "enough bits for every data zone",
        );
    }
    if bytes::arr::<2>(sb, EXT_MAGIC) == Some([0x53, 0xEF]) {
        return Ok(None);
    }
    let mut info = FsInfo::new("minix", Usage::Filesystem);
    info.version = Some(version.to_string());
    Ok(Some(info))
}
