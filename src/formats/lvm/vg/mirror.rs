//! Legacy `mirror` segments, also what pvmove writes (`lib/mirror/mirrored.c`:
//! `_mirrored_text_import`).

use super::fields::{area_count, opt_u32};
use super::{Area, Importer, Pv, SegCtx, SegRef, VgError};

/// Legacy `mirror` (and pvmove).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mirror {
    /// `mirror_count` (= `images.len()`).
    pub mirror_count: u32,
    pub region_size: Option<u32>,
    pub log: Option<String>,
    /// `extents_moved` of a pvmove.
    pub extents_moved: Option<u32>,
    pub images: Vec<Area>,
}

impl Mirror {
    pub(super) fn read(
        imp: &mut Importer<'_>,
        c: &SegCtx<'_>,
        extent_count: u64,
        pvs: &[Pv],
    ) -> Result<Mirror, VgError> {
        let sn = c.sec;
        let count = area_count(sn, "mirror_count", &c.path, c.offset)?;
        let extents_moved = opt_u32(sn, "extents_moved", &c.path)?;
        let region_size = opt_u32(sn, "region_size", &c.path)?;
        let log = imp.opt_lv(c, "mirror_log")?;
        let images = imp.areas(c, "mirrors", count, extent_count, pvs)?;
        Ok(Mirror {
            mirror_count: u32::try_from(count).unwrap_or(u32::MAX),
            region_size,
            log,
            extents_moved,
            images,
        })
    }

    pub fn references(&self) -> Vec<SegRef> {
        let mut v: Vec<SegRef> = self.images.iter().map(Area::reference).collect();
        v.extend(self.log.iter().map(|l| SegRef::Lv(l.clone())));
        v
    }
}
