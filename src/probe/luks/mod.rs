//! Reads a whole LUKS header (for unlocking and activation; identification is
//! `probe::fs`): the LUKS1 header, or both LUKS2 copies with their JSON areas, performing the
//! reads the pure readers in `formats::luks` ask for, in cryptsetup's order
//! (`LUKS2_disk_hdr_read`): the primary binary header; its JSON area only if the binary header
//! is sane; the secondary copy at the primary's `hdr_size`, or, when the primary is not sane,
//! at the first of the known offsets whose binary header and checksum are.

use super::read;
use crate::error::{FormatError, ProbeError};
use crate::formats::luks::{v1, v2, LuksHeader, LUKS_MAGIC, SECONDARY_OFFSETS};
use crate::source::ReadAt;

/// A header that was read, and what is wrong with the copy not used (LUKS2).
#[derive(Debug, Clone)]
pub struct ReadHeader {
    pub header: LuksHeader,
    pub warnings: Vec<FormatError>,
}

/// Reads the LUKS header of device `name`. `Ok(None)`: no LUKS magic at 0 nor a LUKS2
/// secondary header at any known offset.
pub fn read_header(name: &str, dev: &dyn ReadAt) -> Result<Option<ReadHeader>, ProbeError> {
    let fmt = |err: FormatError| ProbeError::Format {
        device: name.to_string(),
        err,
    };
    let size = dev.size();
    let first = if size >= v2::BIN_LEN as u64 {
        read(name, dev, 0, v2::BIN_LEN as u64)?
    } else if size >= v1::PHDR_LEN as u64 {
        read(name, dev, 0, v1::PHDR_LEN as u64)?
    } else {
        return Ok(None);
    };
    let primary_magic = first.get(..6) == Some(&LUKS_MAGIC[..]);
    let version = first
        .get(6..8)
        .map_or(0, |v| u16::from_be_bytes([v[0], v[1]]));
    if primary_magic && version == 1 {
        let b: &[u8; v1::PHDR_LEN] = first[..v1::PHDR_LEN].try_into().expect("1024 bytes read");
        return match v1::parse(b, size).map_err(fmt)? {
            Some(h) => Ok(Some(ReadHeader {
                header: LuksHeader::V1(h),
                warnings: vec![],
            })),
            None => Ok(None),
        };
    }
    if primary_magic && version != 2 {
        return Err(fmt(FormatError::unsupported(
            "luks",
            6,
            format!("LUKS header version {version}"),
        )));
    }
    // LUKS2, or a damaged primary: both copies.
    let primary = copy_at(name, dev, 0)?;
    let sane_size = match &primary {
        Copy::Sane { bin, .. } => Some(bin.hdr_size),
        _ => None,
    };
    let secondary = match sane_size {
        Some(at) => copy_at(name, dev, at)?,
        None => {
            // The first sane copy with a good checksum; failing that, the first copy found at
            // all, so that its damage is reported rather than "no header".
            let mut first: Option<Copy> = None;
            let mut found = None;
            for at in SECONDARY_OFFSETS {
                match copy_at(name, dev, at)? {
                    c @ Copy::Sane {
                        checksum_ok: true, ..
                    } => {
                        found = Some(c);
                        break;
                    }
                    Copy::Absent(_) => {}
                    c => {
                        first.get_or_insert(c);
                    }
                }
            }
            found
                .or(first)
                .unwrap_or(Copy::Absent(SECONDARY_OFFSETS[0]))
        }
    };
    if matches!(primary, Copy::Absent(_)) && matches!(secondary, Copy::Absent(_)) {
        return Ok(None);
    }
    // With no primary at all, the secondary's own damage is the error to report.
    let primary_absent = matches!(primary, Copy::Absent(_));
    let (p, s) = (primary.finish(), secondary.finish());
    let (header, warning) = if primary_absent {
        v2::choose(s, p, size)
    } else {
        v2::choose(p, s, size)
    }
    .map_err(fmt)?;
    Ok(Some(ReadHeader {
        header: LuksHeader::V2(header),
        warnings: warning.into_iter().collect(),
    }))
}

/// One LUKS2 copy as read.
enum Copy {
    /// No magic at this offset.
    Absent(u64),
    /// The binary header failed its sanity checks.
    Insane(FormatError),
    Sane {
        bin: v2::BinHeader,
        raw: Box<[u8; v2::BIN_LEN]>,
        json: Vec<u8>,
        checksum_ok: bool,
    },
}

impl Copy {
    fn finish(self) -> Result<v2::Luks2Copy, FormatError> {
        match self {
            Copy::Absent(at) => Err(FormatError::field(
                "luks",
                at,
                "magic",
                "none",
                if at == 0 {
                    "a LUKS2 header (\"LUKS\\xba\\xbe\")"
                } else {
                    "a secondary LUKS2 header (\"SKUL\\xba\\xbe\")"
                },
            )),
            Copy::Insane(e) => Err(e),
            Copy::Sane { bin, raw, json, .. } => v2::check_copy(bin, &raw, &json),
        }
    }
}

fn copy_at(name: &str, dev: &dyn ReadAt, at: u64) -> Result<Copy, ProbeError> {
    let end = at.checked_add(v2::BIN_LEN as u64);
    if end.is_none_or(|e| e > dev.size()) {
        return Ok(Copy::Absent(at));
    }
    let b = read(name, dev, at, v2::BIN_LEN as u64)?;
    let raw: Box<[u8; v2::BIN_LEN]> = b.into_boxed_slice().try_into().expect("4096 bytes read");
    let bin = match v2::parse_bin(&raw, at) {
        Ok(Some(bin)) => bin,
        Ok(None) => return Ok(Copy::Absent(at)),
        Err(e) => return Ok(Copy::Insane(e)),
    };
    let json_at = at + v2::BIN_LEN as u64;
    if json_at
        .checked_add(bin.json_len())
        .is_none_or(|e| e > dev.size())
    {
        return Ok(Copy::Insane(FormatError::truncated(
            "luks",
            json_at,
            "JSON area",
            bin.json_len(),
            dev.size().saturating_sub(json_at),
        )));
    }
    let json = read(name, dev, json_at, bin.json_len())?;
    let checksum_ok = v2::verify_checksum(&bin, &raw, &json).is_ok();
    Ok(Copy::Sane {
        bin,
        raw,
        json,
        checksum_ok,
    })
}

#[cfg(test)]
mod tests;
