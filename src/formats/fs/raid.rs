//! Firmware RAID members whose arrays mdadm assembles with an mdmon: Intel IMSM
//! (`isw_raid.c`) and SNIA DDF (`ddf_raid.c`), util-linux libblkid. Both keep their anchor in
//! the last sectors of a whole disk. Reported only: activating them needs mdmon, and the first
//! member's start shows the array's own partition table, which must not be taken for the
//! disk's.

use super::{FsInfo, Usage};
use crate::error::FormatError;
use crate::formats::bytes;

const DDF: &str = "ddf_raid_member";

/// IMSM: the anchor is two logical sectors before the end; only whole disks (and image
/// files) are probed.
pub const ISW_MIN_DEVICE_SIZE: u64 = 0x10000;
/// `struct isw_metadata` plus room for blkid's `%6s`, which reads the version string on
/// until a NUL.
pub const ISW_READ: usize = 64;
const ISW_SIGNATURE: &[u8] = b"Intel Raid ISM Cfg Sig. ";

/// Offset of the IMSM anchor on a device of `size` bytes with `sector` byte sectors.
pub fn isw_offset(size: u64, sector: u64) -> Option<u64> {
    (size / sector).checked_sub(2)?.checked_mul(sector)
}

/// Parses the IMSM anchor; VERSION is the text after the signature (blkid's `%6s`: up to a
/// NUL, padded on the left to 6 characters).
pub fn parse_isw(b: &[u8; ISW_READ]) -> Option<FsInfo> {
    if b.get(..ISW_SIGNATURE.len()) != Some(ISW_SIGNATURE) {
        return None;
    }
    let rest = b.get(ISW_SIGNATURE.len()..).unwrap_or(&[]);
    let end = rest.iter().position(|&c| c == 0).unwrap_or(rest.len());
    let v = String::from_utf8_lossy(rest.get(..end).unwrap_or(&[])).into_owned();
    let mut info = FsInfo::new("isw_raid_member", Usage::Raid);
    info.version = Some(format!("{v:>6}"));
    Some(info)
}

/// DDF: the anchor header is in the last sector, or 257 sectors before the end.
pub const DDF_MIN_DEVICE_SIZE: u64 = 0x30000;
/// The anchor header candidates, in sectors before the end.
pub const DDF_ANCHORS: [u64; 2] = [1, 257];
/// `struct ddf_header` up to `primary_lba`.
pub const DDF_READ: usize = 0x68;
const DDF_MAGIC: u32 = 0xDE11_DE11;
const DDF_GUID: usize = 8;
const DDF_REV: usize = 32;
const DDF_PRIMARY_LBA: usize = 0x60;

/// A DDF anchor: the signature's byte order and where the primary header is (`None`: 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DdfAnchor {
    pub big_endian: bool,
    pub primary: Option<u64>,
}

pub fn ddf_anchor(h: &[u8; DDF_READ]) -> Option<DdfAnchor> {
    let big_endian = match bytes::arr::<4>(h, 0)? {
        s if s == DDF_MAGIC.to_be_bytes() => true,
        s if s == DDF_MAGIC.to_le_bytes() => false,
        _ => return None,
    };
    let lba = if big_endian {
        bytes::be64(h, DDF_PRIMARY_LBA)
    } else {
        bytes::le64(h, DDF_PRIMARY_LBA)
    }?;
    Some(DdfAnchor {
        big_endian,
        primary: (lba != 0).then_some(lba),
    })
}

/// The result from the anchor found at `at`, with the 4 bytes read at the primary header's
/// byte offset (`lba * 512`) when the anchor names one. `Err`: those bytes are not the
/// anchor's signature.
pub fn parse_ddf(
    h: &[u8; DDF_READ],
    at: u64,
    primary_sig: Option<(u64, [u8; 4])>,
) -> Result<FsInfo, FormatError> {
    let sig = bytes::arr::<4>(h, 0).unwrap_or_default();
    if let Some((off, found)) = primary_sig {
        if found != sig {
            return Err(FormatError::field(
                DDF,
                off,
                "primary header signature",
                format!("{found:02x?}"),
                format!("{sig:02x?} (as the anchor at byte {at})"),
            ));
        }
    }
    let mut info = FsInfo::new(DDF, Usage::Raid);
    // blkid copies the GUID as text (up to a NUL, trailing blanks trimmed).
    info.uuid = h
        .get(DDF_GUID..DDF_GUID + 24)
        .and_then(|g| super::trimmed(g, false));
    let rev = h.get(DDF_REV..DDF_REV + 8).unwrap_or(&[]);
    let end = rev.iter().position(|&c| c == 0).unwrap_or(rev.len());
    info.version = Some(String::from_utf8_lossy(rev.get(..end).unwrap_or(&[])).into_owned());
    Ok(info)
}
