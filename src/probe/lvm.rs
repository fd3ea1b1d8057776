//! Probing one device for an LVM2 PV: the label, then every metadata area (header, committed
//! slot, text with wrap-around, checksum, grammar, VG model), each area reported on its own.
//! Choosing between PVs' copies (highest seqno across the VG) is the engine's job; this picks
//! only among the areas of one PV, and warns when they disagree.
//!
//! Every error carries the absolute byte offset on the device of what is wrong: a label
//! field, an mda header field, the text start (checksum), or the key in the text that is
//! wrong (grammar and model errors, mapped through the wrap-around).

use super::{format_err, read, read_array};
use crate::error::{FormatError, ProbeError};
use crate::formats::lvm::label::{parse_label, PvLabel, LABEL_SCAN_SIZE};
use crate::formats::lvm::mda::{self, MdaHeader, MDA_HEADER_SIZE};
use crate::formats::lvm::text::TextError;
use crate::formats::lvm::vg::{Vg, VgError};
use crate::formats::lvm::{text, FORMAT};
use crate::source::{ReadAt, MAX_READ};

/// What one metadata area holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MdaState {
    /// The committed slot is marked ignored (`pvchange --metadataignore`): its text is stale
    /// and not read.
    Ignored,
    /// No committed metadata (an orphan PV, or a PV whose VG lives only on other PVs).
    Empty,
    /// A verified copy of the VG metadata.
    Metadata {
        vg: Box<Vg>,
        /// Where the text starts on the device.
        text_offset: u64,
        /// Whether it wraps around the end of the area.
        wrapped: bool,
    },
}

/// A valid metadata area.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MdaContent {
    pub header: MdaHeader,
    pub state: MdaState,
}

/// One metadata area of the label, by its offset on the device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MdaReport {
    pub offset: u64,
    pub result: Result<MdaContent, FormatError>,
}

/// A device that carries a valid LVM2 label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PvClaim {
    pub label: PvLabel,
    pub mdas: Vec<MdaReport>,
    /// The copy with the highest seqno among this PV's good areas: (VG, text checksum, text
    /// size with NUL). `None` when no area holds good metadata.
    pub metadata: Option<(Vg, u32, u64)>,
    /// Broken or extra labels, bad areas, areas that disagree.
    pub warnings: Vec<FormatError>,
}

/// `Ok(None)`: no LVM2 label. `Err`: only broken labels, or the device could not be read.
pub fn probe_pv(name: &str, dev: &dyn ReadAt) -> Result<Option<PvClaim>, ProbeError> {
    let scan = u64::try_from(LABEL_SCAN_SIZE).unwrap_or(u64::MAX);
    if dev.size() < scan {
        return Ok(None);
    }
    let head = read_array::<LABEL_SCAN_SIZE>(name, dev, 0)?;
    let Some((label, mut warnings)) = parse_label(&head).map_err(|e| format_err(name, e))? else {
        return Ok(None);
    };

    let mut mdas = Vec::new();
    for area in &label.metadata_areas {
        let result = read_mda(name, dev, area.offset, area.size, &mut warnings)?;
        if let Err(e) = &result {
            warnings.push(e.clone());
        }
        mdas.push(MdaReport {
            offset: area.offset,
            result,
        });
    }

    let metadata = choose(&mdas, &mut warnings);
    Ok(Some(PvClaim {
        label,
        mdas,
        metadata,
        warnings,
    }))
}

/// The newest good copy; warns when the areas disagree (lvm2 "Inconsistent metadata").
fn choose(mdas: &[MdaReport], warnings: &mut Vec<FormatError>) -> Option<(Vg, u32, u64)> {
    let good: Vec<(u64, &Vg)> = mdas
        .iter()
        .filter_map(|m| match &m.result {
            Ok(MdaContent {
                state: MdaState::Metadata { vg, .. },
                ..
            }) => Some((m.offset, vg.as_ref())),
            _ => None,
        })
        .collect();
    let best = good.iter().max_by_key(|(_, vg)| vg.seqno).copied()?;
    for &(off, vg) in &good {
        if vg.seqno != best.1.seqno || vg.id != best.1.id {
            warnings.push(FormatError::field(
                FORMAT,
                off,
                "mda (seqno)",
                format!("VG {} seqno {}", vg.name, vg.seqno),
                format!(
                    "the same copy as the area at {} (VG {} seqno {})",
                    best.0, best.1.name, best.1.seqno
                ),
            ));
        } else if (vg.checksum, vg.text_size) != (best.1.checksum, best.1.text_size) {
            warnings.push(FormatError::field(
                FORMAT,
                off,
                "mda (checksum)",
                format!("checksum {:#010x} size {}", vg.checksum, vg.text_size),
                format!(
                    "checksum {:#010x} size {} (same seqno {} as the area at {})",
                    best.1.checksum, best.1.text_size, vg.seqno, best.0
                ),
            ));
        }
    }
    let vg = best.1.clone();
    let (checksum, size) = (vg.checksum, vg.text_size);
    Some((vg, checksum, size))
}

/// Reads and checks one metadata area. Read failures are device errors (`Err` of the
/// outer result); everything wrong with the bytes is the inner `Err`.
fn read_mda(
    name: &str,
    dev: &dyn ReadAt,
    offset: u64,
    label_size: u64,
    warnings: &mut Vec<FormatError>,
) -> Result<Result<MdaContent, FormatError>, ProbeError> {
    let dev_size = dev.size();
    if offset
        .checked_add(MDA_HEADER_SIZE)
        .is_none_or(|end| end > dev_size)
    {
        return Ok(Err(FormatError::truncated(
            FORMAT,
            offset,
            "mda_header",
            MDA_HEADER_SIZE,
            dev_size.saturating_sub(offset),
        )));
    }
    let buf = read_array::<512>(name, dev, offset)?;
    let header = match mda::parse_mda_header(&buf, offset) {
        Ok(h) => h,
        Err(e) => return Ok(Err(e)),
    };
    if header.size != label_size {
        warnings.push(FormatError::field(
            FORMAT,
            offset.saturating_add(0x20),
            "mda_header.size",
            header.size,
            format!("{label_size} (the size in the label's disk_locn)"),
        ));
    }
    if header.slot0.ignored() {
        return Ok(Ok(MdaContent {
            header,
            state: MdaState::Ignored,
        }));
    }
    if header.committed().is_none() {
        return Ok(Ok(MdaContent {
            header,
            state: MdaState::Empty,
        }));
    }
    let pieces = match mda::text_pieces(&header) {
        Ok(p) => p,
        Err(e) => return Ok(Err(e)),
    };
    if header.slot0.size > MAX_READ {
        return Ok(Err(FormatError::unsupported(
            FORMAT,
            header.start.saturating_add(header.slot0.offset),
            format!(
                "{} bytes of metadata text (this reader stops at {MAX_READ})",
                header.slot0.size
            ),
        )));
    }
    let mut bufs = Vec::with_capacity(pieces.len());
    for &(off, len) in &pieces {
        if off.checked_add(len).is_none_or(|end| end > dev_size) {
            return Ok(Err(FormatError::truncated(
                FORMAT,
                off,
                "metadata text",
                len,
                dev_size.saturating_sub(off),
            )));
        }
        bufs.push(read(name, dev, off, len)?);
    }
    let refs: Vec<&[u8]> = bufs.iter().map(Vec::as_slice).collect();
    if let Err(e) = mda::check_text(&header, &refs) {
        return Ok(Err(e));
    }
    let text: Vec<u8> = bufs.concat();
    let at = |i: usize| mda::device_offset(&pieces, u64::try_from(i).unwrap_or(u64::MAX));
    let root = match text::parse(&text) {
        Ok(r) => r,
        Err(e) => return Ok(Err(text_error(&e, at(e.offset)))),
    };
    let mut vg = match Vg::from_text(&root) {
        Ok(vg) => vg,
        Err(e) => return Ok(Err(vg_error(&e, at(e.offset)))),
    };
    vg.checksum = header.slot0.checksum;
    vg.text_size = header.slot0.size;
    for w in &vg.warnings {
        warnings.push(vg_error(w, at(w.offset)));
    }
    Ok(Ok(MdaContent {
        header,
        state: MdaState::Metadata {
            vg: Box::new(vg),
            text_offset: pieces.first().map_or(0, |p| p.0),
            wrapped: pieces.len() > 1,
        },
    }))
}

fn text_error(e: &TextError, offset: u64) -> FormatError {
    FormatError::field(
        FORMAT,
        offset,
        "metadata text",
        e,
        "LVM2 metadata grammar (libdm config)",
    )
}

fn vg_error(e: &VgError, offset: u64) -> FormatError {
    FormatError::field(
        FORMAT,
        offset,
        e.field,
        format!("{} at {}", e.found, e.path.escape_debug()),
        &e.expected,
    )
}

#[cfg(test)]
mod tests;

/// The dm-raid superblock at the start of an `_rmeta_` sub-LV read through `dev`, if any.
pub fn raid_super(
    name: &str,
    dev: &dyn ReadAt,
) -> Result<Option<crate::formats::lvm::raid_sb::RaidSuper>, ProbeError> {
    use crate::formats::lvm::raid_sb;
    let b = read_array::<{ raid_sb::SIZE }>(name, dev, 0)?;
    raid_sb::parse(&b).map_err(|e| format_err(name, e))
}
