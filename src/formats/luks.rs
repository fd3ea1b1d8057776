//! LUKS1/LUKS2 headers: type, UUID, LABEL (identification only), as util-linux
//! `libblkid/src/superblocks/luks.c` reports them: TYPE crypto_LUKS, USAGE crypto, VERSION
//! (the header version), UUID (an ASCII string field, used as is), LABEL (LUKS2 only).
//!
//! The primary header is at 0. A LUKS2 device whose primary header is damaged is still found
//! through its secondary header ("SKUL\xba\xbe"), which sits at one of
//! [`SECONDARY_OFFSETS`]; the driver tries them in order.

use crate::error::FormatError;
use crate::formats::bytes;
use crate::formats::fs::{FsInfo, Usage};

const FORMAT: &str = "luks";

/// Bytes read at each candidate offset (`struct luks2_phdr` is 512 bytes; the LUKS1
/// `luks_phdr` fields used end at 208).
pub const HDR_READ: usize = 512;
/// `LUKS2_HDR2_OFFSETS`: where a secondary LUKS2 header may start.
pub const SECONDARY_OFFSETS: [u64; 9] = [
    0x04000, 0x008000, 0x010000, 0x020000, 0x40000, 0x080000, 0x100000, 0x200000, 0x400000,
];

/// `LUKS_MAGIC`.
const LUKS_MAGIC: &[u8; 6] = b"LUKS\xba\xbe";
/// `LUKS_MAGIC_2` (secondary LUKS2 header).
const LUKS_MAGIC_2: &[u8; 6] = b"SKUL\xba\xbe";

const VERSION: usize = 6;
/// LUKS2 `label[48]`.
const LABEL: usize = 0x18;
const LABEL_LEN: usize = 48;
/// `uuid[40]` (LUKS1 and LUKS2 alike).
const UUID: usize = 0xA8;
const UUID_LEN: usize = 40;
/// LUKS2 `hdr_offset` (big-endian u64): must equal where the header was found.
const HDR_OFFSET: usize = 0x100;

/// Parses a header read at byte `at` of the device: at 0 the primary magic is expected,
/// elsewhere the secondary one. `Ok(None)`: no such magic. `Err`: the magic is there but a
/// LUKS2 header says it belongs elsewhere (`hdr_offset`), which blkid does not accept.
pub fn parse(hdr: &[u8; HDR_READ], at: u64) -> Result<Option<FsInfo>, FormatError> {
    let magic = if at == 0 { LUKS_MAGIC } else { LUKS_MAGIC_2 };
    if bytes::arr::<6>(hdr, 0).as_ref() != Some(magic) {
        return Ok(None);
    }
    let version = bytes::be16(hdr, VERSION).unwrap_or(0);
    if version == 2 {
        let hdr_offset = bytes::be64(hdr, HDR_OFFSET).unwrap_or(0);
        if hdr_offset != at {
            return Err(FormatError::field(
                FORMAT,
                at.saturating_add(HDR_OFFSET as u64),
                "hdr_offset",
                hdr_offset,
                at,
            ));
        }
    }
    let mut info = FsInfo::new("crypto_LUKS", Usage::Crypto);
    info.version = Some(version.to_string());
    if version == 1 || version == 2 {
        // blkid_probe_strncpy_uuid: the string up to NUL, right-trimmed; none when empty.
        info.uuid = crate::formats::fs::label(hdr.get(UUID..UUID + UUID_LEN).unwrap_or(&[]));
    }
    if version == 2 {
        info.label = crate::formats::fs::label(hdr.get(LABEL..LABEL + LABEL_LEN).unwrap_or(&[]));
    }
    Ok(Some(info))
}
