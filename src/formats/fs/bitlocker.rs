//! BitLocker (BDE) volume header: util-linux `libblkid/src/superblocks/bitlocker.c`. No Debian
//! tool writes BitLocker: checked against the source only.
//!
//! Vista headers are named on their boot-sector signature alone; Windows 7 and "To Go" headers
//! point at an FVE metadata block that must carry "-FVE-FS-" (a second read, at the offset
//! [`fve_offset`] returns).

use super::{FsInfo, Usage};
use crate::error::FormatError;
use crate::formats::bytes;

const FORMAT: &str = "BitLocker";

pub const HDR_OFFSET: u64 = 0;
/// `BDE_HDR_SIZE`.
pub const HDR_READ: usize = 512;
/// `struct bde_fve_metadata`: signature, size, version.
pub const FVE_READ: usize = 12;

const MAGIC_VISTA: &[u8; 11] = b"\xeb\x52\x90-FVE-FS-";
const MAGIC_WIN7: &[u8; 11] = b"\xeb\x58\x90-FVE-FS-";
const MAGIC_TOGO: &[u8; 11] = b"\xeb\x58\x90MSWIN4.1";
const WIN7_SERIAL: usize = 67;
const WIN7_FVE_OFFSET: usize = 176;
const TOGO_FVE_OFFSET: usize = 440;

/// The header kinds blkid tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Vista,
    Win7,
    ToGo,
}

pub fn kind(hdr: &[u8; HDR_READ]) -> Option<Kind> {
    let sig = bytes::arr::<11>(hdr, 0)?;
    [
        (MAGIC_VISTA, Kind::Vista),
        (MAGIC_WIN7, Kind::Win7),
        (MAGIC_TOGO, Kind::ToGo),
    ]
    .into_iter()
    .find(|(m, _)| **m == sig)
    .map(|(_, k)| k)
}

/// Where the FVE metadata block is (Windows 7 and To Go); `Err` when the header says 0.
pub fn fve_offset(hdr: &[u8; HDR_READ], kind: Kind) -> Result<Option<u64>, FormatError> {
    let at = match kind {
        Kind::Vista => return Ok(None),
        Kind::Win7 => WIN7_FVE_OFFSET,
        Kind::ToGo => TOGO_FVE_OFFSET,
    };
    match bytes::le64(hdr, at).unwrap_or(0) {
        0 => Err(FormatError::field(
            FORMAT,
            at as u64,
            "fve_metadata_offset",
            0,
            "not 0",
        )),
        off => Ok(Some(off)),
    }
}

/// The result from the header and the FVE block read at [`fve_offset`] (`None` for Vista).
/// `Err`: the FVE block lacks its signature. The "UUID" of Windows 7 headers is blkid's
/// `%016d` of the 32-bit volume serial (none when zero).
pub fn parse(
    hdr: &[u8; HDR_READ],
    kind: Kind,
    fve: Option<(&[u8; FVE_READ], u64)>,
) -> Result<FsInfo, FormatError> {
    let mut info = FsInfo::new("BitLocker", Usage::Crypto);
    if let Some((f, at)) = fve {
        if f.get(..8) != Some(b"-FVE-FS-") {
            return Err(FormatError::field(
                FORMAT,
                at,
                "fve signature",
                String::from_utf8_lossy(f.get(..8).unwrap_or(&[])),
                "-FVE-FS-",
            ));
        }
        info.version = Some(bytes::le16(f, 10).unwrap_or(0).to_string());
    }
    if kind == Kind::Win7 {
        let serial = bytes::le32(hdr, WIN7_SERIAL).unwrap_or(0);
        // C's %016d of the value as a signed int: zero-padded to 16, the sign first.
        let v = i64::from(serial as i32);
        info.uuid = (serial != 0).then(|| {
            if v < 0 {
                format!("-{:015}", -v)
            } else {
                format!("{v:016}")
            }
        });
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// From blkid's `bde_header_win7`/`bde_header_togo` (no tool writes BitLocker here).
    #[test]
    fn layout() {
        let mut h = [0u8; HDR_READ];
        assert_eq!(kind(&h), None);
        h[..11].copy_from_slice(MAGIC_VISTA);
        assert_eq!(kind(&h), Some(Kind::Vista));
        assert_eq!(fve_offset(&h, Kind::Vista).unwrap(), None);
        let i = parse(&h, Kind::Vista, None).unwrap();
        assert_eq!(
            (i.fstype, i.usage, i.uuid, i.version),
            ("BitLocker", Usage::Crypto, None, None)
        );
        h[..11].copy_from_slice(MAGIC_WIN7);
        assert_eq!(
            fve_offset(&h, Kind::Win7).unwrap_err().offset,
            WIN7_FVE_OFFSET as u64
        );
        h[WIN7_FVE_OFFSET..WIN7_FVE_OFFSET + 8].copy_from_slice(&0x10000u64.to_le_bytes());
        h[WIN7_SERIAL..WIN7_SERIAL + 4].copy_from_slice(&1234u32.to_le_bytes());
        assert_eq!(fve_offset(&h, Kind::Win7).unwrap(), Some(0x10000));
        let mut f = [0u8; FVE_READ];
        assert!(parse(&h, Kind::Win7, Some((&f, 0x10000))).is_err());
        f[..8].copy_from_slice(b"-FVE-FS-");
        f[10] = 2;
        let i = parse(&h, Kind::Win7, Some((&f, 0x10000))).unwrap();
        assert_eq!(i.uuid.as_deref(), Some("0000000000001234"));
        assert_eq!(i.version.as_deref(), Some("2"));
        // %016d of a negative int.
        h[WIN7_SERIAL..WIN7_SERIAL + 4].copy_from_slice(&(-5i32).to_le_bytes());
        let i = parse(&h, Kind::Win7, Some((&f, 0x10000))).unwrap();
        assert_eq!(i.uuid.as_deref(), Some("-000000000000005"));
    }
}
