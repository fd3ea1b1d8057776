//! `mirror` segments through dm-mirror (lvm2 `lib/mirror/mirrored.c:
//! _mirrored_add_target_line`, `_add_log`; libdm `_mirror_emit_segment_line`):
//!
//! * A mirror LV: `mirror core 1 <region>` or, with a log LV, `mirror disk 2 <log> <region>`,
//!   then its `_mimage_N` legs at their `le × extent_size`, then `1 handle_errors`. The log LV
//!   is a device of its own (linear, or itself a mirror for `--mirrorlog mirrored`); lvm2
//!   gives `handle_errors` unless told `--monitor n` (dmeventd absent or monitoring off makes
//!   it "ignore", which still sets it), and never `nosync` on activation. A mirror with one
//!   leg (in the middle of a conversion) is a plain `linear` onto it.
//! * pvmove's temporary mirror (`pvmoveN`, segments with `extents_moved`): per LV, the first
//!   segment not yet copied runs as `mirror core 1 <region> 2 <source> <destination>` with no
//!   features (no `handle_errors`, no sync word); segments before it that are done read from
//!   the destination, those after it from the source, as `linear`. The region is lvm2's
//!   default (2 MiB) unless the segment is smaller: then the largest power of two that fits
//!   (`adjusted_mirror_region_size`).

use super::linear;
use super::{sub_lv, SegCx};
use crate::formats::lvm::vg::{Area, Mirror};
use crate::plan::dm::MirrorSync;
use crate::plan::{DmStep, Target};

/// `DEFAULT_MIRROR_REGION_SIZE` (`activation/mirror_region_size`, 2 MiB) in sectors.
const DEFAULT_REGION: u64 = 4096;

/// `adjusted_mirror_region_size`: the region no larger than the segment.
fn pvmove_region(extent_size: u64, extents: u64) -> u64 {
    let max = extents.saturating_mul(extent_size);
    if max < u64::from(u32::MAX) && DEFAULT_REGION > max && max > 0 {
        1 << (63 - max.leading_zeros())
    } else {
        DEFAULT_REGION
    }
}

/// Legs as (device, offset): mirror images are LVs, pvmove areas are PVs.
fn legs(
    cx: &SegCx<'_>,
    areas: &[(usize, &Area)],
    below: &mut Vec<DmStep>,
) -> Result<Vec<(crate::plan::DevRef, u64)>, String> {
    areas
        .iter()
        .map(|&(i, a)| linear::area(cx, i, a, below))
        .collect()
}

/// The segment's target; `running` counts the pvmove segments of this LV that run as a
/// mirror (one at a time).
pub(super) fn target(
    cx: &SegCx<'_>,
    m: &Mirror,
    running: &mut u32,
    below: &mut Vec<DmStep>,
) -> Result<Target, String> {
    let areas: Vec<(usize, &Area)> = m.images.iter().enumerate().collect();
    let linear_on = |i: usize, below: &mut Vec<DmStep>| -> Result<Target, String> {
        let a = areas
            .get(i)
            .ok_or_else(|| format!("mirror segment without area {i}"))?;
        let (dev, offset) = linear::area(cx, a.0, a.1, below)?;
        Ok(Target::Linear { dev, offset })
    };
    if areas.len() == 1 {
        return linear_on(0, below);
    }
    if let Some(moved) = m.extents_moved {
        if u64::from(moved) == cx.seg.extent_count {
            return linear_on(1, below);
        }
        *running += 1;
        if *running > 1 {
            return linear_on(0, below);
        }
        let ext = cx.g.vgs[cx.vg].vg.extent_size;
        return Ok(Target::Mirror {
            log: None,
            region_size: pvmove_region(ext, cx.seg.extent_count),
            sync: MirrorSync::Default,
            legs: legs(cx, &areas, below)?,
            features: Vec::new(),
        });
    }
    let region_size = m
        .region_size
        .filter(|&r| r > 0)
        .ok_or("mirror segment without region_size (lvm2 refuses it too)")?;
    let log = match &m.log {
        Some(l) => Some(sub_lv(cx, l, false, below)?),
        None => None,
    };
    Ok(Target::Mirror {
        log,
        region_size: u64::from(region_size),
        sync: MirrorSync::Default,
        legs: legs(cx, &areas, below)?,
        features: vec!["handle_errors".into()],
    })
}

#[cfg(test)]
mod tests {
    use super::pvmove_region;

    #[test]
    fn pvmove_region_fits_the_segment() {
        // 1 MiB extents: 4 extents are 8192 sectors, the default fits.
        assert_eq!(pvmove_region(2048, 4), 4096);
        // One 1 MiB extent: 2048 sectors.
        assert_eq!(pvmove_region(2048, 1), 2048);
        // 3 extents of 512 KiB = 3072 sectors: 2048.
        assert_eq!(pvmove_region(1024, 3), 2048);
        assert_eq!(pvmove_region(8, 1), 8);
    }
}
