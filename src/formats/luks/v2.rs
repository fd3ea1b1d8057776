//! The LUKS2 binary headers (`struct luks2_hdr_disk`, cryptsetup `lib/luks2/luks2.h`) and the
//! choice between the two copies, as `LUKS2_disk_hdr_read` (`luks2_disk_metadata.c`) makes it:
//!
//! 1. [`parse_bin`]: the 4096-byte binary header read at `at`, sanity-checked before anything
//!    else is read (magic of the primary or secondary copy, version 2, `hdr_offset` equal to
//!    `at`, `hdr_size` within 16 KiB ..= 4 MiB, a secondary copy sits at `hdr_size`). It says
//!    how many JSON bytes follow ([`BinHeader::json_len`]); the driver reads them.
//! 2. [`check_copy`]: the checksum (`checksum_alg` over the binary header with `csum` zeroed
//!    and the whole JSON area), then the JSON area ([`super::json`]).
//! 3. [`choose`]: the valid copy with the higher `seqid` wins (the primary on a tie); the other
//!    copy's damage or staleness comes back as a warning. cryptsetup would rewrite that copy;
//!    we never write.
//!
//! Where the secondary copy is: at the primary's `hdr_size` when the primary passed step 1,
//! else the first of [`super::SECONDARY_OFFSETS`] where steps 1 and the checksum pass.

use super::json::{self, Luks2Metadata};
use super::{cstr, Hash, FORMAT, LUKS_MAGIC, LUKS_MAGIC_2};
use crate::error::FormatError;
use crate::formats::bytes;

/// `LUKS2_HDR_BIN_LEN`.
pub const BIN_LEN: usize = 4096;
/// `LUKS2_HDR_16K_LEN`, `LUKS2_HDR_OFFSET_MAX`: bounds of `hdr_size`.
pub const HDR_SIZE_MIN: u64 = 0x4000;
pub const HDR_SIZE_MAX: u64 = 0x40_0000;

const VERSION: usize = 6;
const HDR_SIZE: usize = 8;
const SEQID: usize = 16;
const LABEL: usize = 24;
const LABEL_LEN: usize = 48;
const CSUM_ALG: usize = 72;
const CSUM_ALG_LEN: usize = 32;
const SALT: usize = 104;
const UUID: usize = 168;
const UUID_LEN: usize = 40;
const SUBSYSTEM: usize = 208;
const HDR_OFFSET: usize = 256;
const CSUM: usize = 448;
const CSUM_LEN: usize = 64;

/// Which copy of the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Copy {
    Primary,
    Secondary,
}

impl Copy {
    pub fn name(self) -> &'static str {
        match self {
            Copy::Primary => "primary",
            Copy::Secondary => "secondary",
        }
    }
}

/// The binary header fields, after the pre-checksum sanity checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinHeader {
    pub copy: Copy,
    /// Byte offset of this copy on the device (`hdr_offset`).
    pub offset: u64,
    /// `hdr_size`: binary header plus JSON area.
    pub hdr_size: u64,
    pub seqid: u64,
    pub label: String,
    pub subsystem: String,
    pub checksum_alg: String,
    pub uuid: String,
    pub salt: [u8; 64],
}

impl BinHeader {
    /// Bytes of JSON area following the binary header.
    pub fn json_len(&self) -> u64 {
        self.hdr_size - BIN_LEN as u64
    }
}

/// One copy that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Luks2Copy {
    pub bin: BinHeader,
    pub meta: Luks2Metadata,
}

/// A LUKS2 header: the copy in use and its metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Luks2Header {
    pub bin: BinHeader,
    pub meta: Luks2Metadata,
}

/// Step 1: the binary header read at byte `at` (0 for the primary copy). `Ok(None)`: not the
/// expected magic there.
pub fn parse_bin(b: &[u8; BIN_LEN], at: u64) -> Result<Option<BinHeader>, FormatError> {
    let copy = if at == 0 {
        Copy::Primary
    } else {
        Copy::Secondary
    };
    let magic = if at == 0 { LUKS_MAGIC } else { LUKS_MAGIC_2 };
    if b[..6] != magic[..] {
        return Ok(None);
    }
    let field = |off: usize, name: &'static str, found: String, expected: String| {
        FormatError::field(FORMAT, at + off as u64, name, found, expected)
    };
    let version = bytes::be16(b, VERSION).unwrap_or(0);
    if version != 2 {
        return Err(field(VERSION, "version", version.to_string(), "2".into()));
    }
    let hdr_offset = bytes::be64(b, HDR_OFFSET).unwrap_or(0);
    if hdr_offset != at {
        return Err(field(
            HDR_OFFSET,
            "hdr_offset",
            hdr_offset.to_string(),
            at.to_string(),
        ));
    }
    let hdr_size = bytes::be64(b, HDR_SIZE).unwrap_or(0);
    if !(HDR_SIZE_MIN..=HDR_SIZE_MAX).contains(&hdr_size) {
        return Err(field(
            HDR_SIZE,
            "hdr_size",
            hdr_size.to_string(),
            format!("{HDR_SIZE_MIN}..={HDR_SIZE_MAX}"),
        ));
    }
    if copy == Copy::Secondary && hdr_size != at {
        return Err(field(
            HDR_SIZE,
            "hdr_size",
            hdr_size.to_string(),
            format!("{at} (where this secondary copy is)"),
        ));
    }
    Ok(Some(BinHeader {
        copy,
        offset: at,
        hdr_size,
        seqid: bytes::be64(b, SEQID).unwrap_or(0),
        label: cstr(&b[LABEL..LABEL + LABEL_LEN]),
        subsystem: cstr(&b[SUBSYSTEM..SUBSYSTEM + LABEL_LEN]),
        checksum_alg: cstr(&b[CSUM_ALG..CSUM_ALG + CSUM_ALG_LEN]),
        uuid: cstr(&b[UUID..UUID + UUID_LEN]),
        salt: bytes::arr(b, SALT).unwrap_or([0; 64]),
    }))
}

/// The header checksum `checksum_alg` names, over `raw` (the binary header as read) with
/// `csum` zeroed and the JSON area.
pub fn checksum(hash: Hash, raw: &[u8; BIN_LEN], json_area: &[u8]) -> Vec<u8> {
    let mut zeroed = *raw;
    zeroed[CSUM..CSUM + CSUM_LEN].fill(0);
    hash.digest(&[&zeroed, json_area])
}

/// Step 2a: the checksum of one copy. `raw` is the binary header `bin` came from, `json_area`
/// the [`BinHeader::json_len`] bytes after it.
pub fn verify_checksum(
    bin: &BinHeader,
    raw: &[u8; BIN_LEN],
    json_area: &[u8],
) -> Result<(), FormatError> {
    let at = bin.offset;
    if json_area.len() as u64 != bin.json_len() {
        return Err(FormatError::truncated(
            FORMAT,
            at + BIN_LEN as u64,
            "JSON area",
            bin.json_len(),
            json_area.len() as u64,
        ));
    }
    let hash = match Hash::from_name(&bin.checksum_alg) {
        Some(h) => h,
        None if Hash::known_elsewhere(&bin.checksum_alg) => {
            return Err(FormatError::unsupported(
                FORMAT,
                at + CSUM_ALG as u64,
                format!("LUKS2 checksum_alg {}", bin.checksum_alg),
            ))
        }
        None => {
            return Err(FormatError::field(
                FORMAT,
                at + CSUM_ALG as u64,
                "checksum_alg",
                format!("{:?}", bin.checksum_alg),
                "a hash cryptsetup knows (sha256, ...)",
            ))
        }
    };
    let want = checksum(hash, raw, json_area);
    let have = &raw[CSUM..CSUM + hash.size()];
    if want[..] != *have {
        return Err(FormatError::field(
            FORMAT,
            at + CSUM as u64,
            "csum",
            hex(have),
            hex(&want),
        ));
    }
    Ok(())
}

/// Step 2: checksum and JSON of one copy.
pub fn check_copy(
    bin: BinHeader,
    raw: &[u8; BIN_LEN],
    json_area: &[u8],
) -> Result<Luks2Copy, FormatError> {
    verify_checksum(&bin, raw, json_area)?;
    let meta = json::parse(json_area, bin.offset + BIN_LEN as u64, bin.hdr_size)?;
    Ok(Luks2Copy { bin, meta })
}

/// Step 3: the copy to use, and a warning about the other one (damaged, missing or older).
/// `dev_size` is checked against the header and keyslot areas (`device_check_size`).
pub fn choose(
    primary: Result<Luks2Copy, FormatError>,
    secondary: Result<Luks2Copy, FormatError>,
    dev_size: u64,
) -> Result<(Luks2Header, Option<FormatError>), FormatError> {
    let (used, warning) = match (primary, secondary) {
        (Ok(p), Ok(s)) => {
            if s.bin.seqid > p.bin.seqid {
                let w = stale(&p, &s);
                (s, Some(w))
            } else if p.bin.seqid > s.bin.seqid {
                let w = stale(&s, &p);
                (p, Some(w))
            } else {
                (p, None)
            }
        }
        (Ok(p), Err(e)) | (Err(e), Ok(p)) => (p, Some(e)),
        (Err(e), Err(_)) => return Err(e),
    };
    let need = used.meta.config.hdr_and_areas_size();
    if need > dev_size {
        return Err(FormatError::truncated(
            FORMAT,
            0,
            "LUKS2 header and keyslot areas",
            need,
            dev_size,
        ));
    }
    Ok((
        Luks2Header {
            bin: used.bin,
            meta: used.meta,
        },
        warning,
    ))
}

fn stale(old: &Luks2Copy, new: &Luks2Copy) -> FormatError {
    FormatError::field(
        FORMAT,
        old.bin.offset + SEQID as u64,
        "seqid",
        format!("{} ({} copy is older)", old.bin.seqid, old.bin.copy.name()),
        new.bin.seqid,
    )
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
