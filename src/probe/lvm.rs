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
use std::cell::RefCell;
use std::sync::Arc;

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
        vg: Arc<Vg>,
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
    pub metadata: Option<(Arc<Vg>, u32, u64)>,
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
fn choose(mdas: &[MdaReport], warnings: &mut Vec<FormatError>) -> Option<(Arc<Vg>, u32, u64)> {
    let good: Vec<(u64, &Arc<Vg>)> = mdas
        .iter()
        .filter_map(|m| match &m.result {
            Ok(MdaContent {
                state: MdaState::Metadata { vg, .. },
                ..
            }) => Some((m.offset, vg)),
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
    let vg = Arc::clone(best.1);
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
    let vg = match parsed(&text, header.slot0.checksum, header.slot0.size) {
        Ok(vg) => vg,
        Err(Unparsed::Text(e)) => return Ok(Err(text_error(&e, at(e.offset)))),
        Err(Unparsed::Vg(e)) => return Ok(Err(vg_error(&e, at(e.offset)))),
    };
    for w in &vg.warnings {
        warnings.push(vg_error(w, at(w.offset)));
    }
    Ok(Ok(MdaContent {
        header,
        state: MdaState::Metadata {
            vg,
            text_offset: pieces.first().map_or(0, |p| p.0),
            wrapped: pieces.len() > 1,
        },
    }))
}

enum Unparsed {
    Text(TextError),
    Vg(VgError),
}

thread_local! {
    /// The VGs last parsed, by their exact text. Every PV of a VG carries the same text: a VG
    /// of 64 PVs was parsed 64 times and held 128 copies (stripe64 in `make bench`: 4.4 s of
    /// its 5.4 s activation, 158 MB peak RSS). lvm2 likewise parses one copy per checksum.
    /// Parsing depends on the text alone, so a hit gives what a parse would; positions in
    /// errors and warnings are text offsets, mapped to the device by each caller.
    static PARSED: RefCell<Vec<(Vec<u8>, Arc<Vg>)>> = const { RefCell::new(Vec::new()) };
}

/// How many texts [`PARSED`] keeps (the VGs of one discovery, interleaved by device order).
const PARSED_KEPT: usize = 8;

/// The VG model of a metadata text whose CRC matched the area header's (`checksum` and `size`
/// are the header's: the same for the same text).
fn parsed(text_with_nul: &[u8], checksum: u32, size: u64) -> Result<Arc<Vg>, Unparsed> {
    let hit = PARSED.with(|p| {
        p.borrow()
            .iter()
            .find(|(t, _)| same_bytes(t, text_with_nul))
            .map(|(_, vg)| Arc::clone(vg))
    });
    if let Some(vg) = hit {
        return Ok(vg);
    }
    let root = text::parse(text_with_nul).map_err(Unparsed::Text)?;
    let mut vg = Vg::from_text(&root).map_err(Unparsed::Vg)?;
    drop(root);
    vg.checksum = checksum;
    vg.text_size = size;
    let vg = Arc::new(vg);
    PARSED.with(|p| {
        let mut p = p.borrow_mut();
        if p.len() >= PARSED_KEPT {
            p.remove(0);
        }
        p.push((text_with_nul.to_vec(), Arc::clone(&vg)));
    });
    Ok(vg)
}

/// `a == b` eight bytes a step: slice equality calls musl's memcmp, which compares a byte a
/// step (comparing a VG's text with the cached copy cost 1.5 M instructions per PV).
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let word = |c: &[u8]| crate::formats::bytes::arr::<8>(c, 0).map(u64::from_ne_bytes);
    let (wa, wb) = (a.chunks_exact(8), b.chunks_exact(8));
    a.len() == b.len()
        && wa.remainder() == wb.remainder()
        && wa.zip(wb).all(|(x, y)| word(x) == word(y))
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
