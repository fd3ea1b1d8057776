//! `striped` and `linear` segments (`lib/striped/striped.c`: `_striped_text_import`).

use super::fields::{area_count, err, req_u32};
use super::{Area, Importer, Pv, SegCtx, SegRef, VgError};

/// `striped` (and `linear`): `extent_count / areas.len()` extents per area.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Striped {
    /// Sectors; only written (and read) for more than one stripe.
    pub stripe_size: Option<u64>,
    pub areas: Vec<Area>,
}

impl Striped {
    pub(super) fn read(
        imp: &mut Importer<'_>,
        c: &SegCtx<'_>,
        extent_count: u64,
        pvs: &[Pv],
    ) -> Result<Striped, VgError> {
        let sn = c.sec;
        let count = area_count(sn, "stripe_count", &c.path, c.offset)?;
        // lvm2 reads stripe_size only for more than one stripe.
        let stripe_size = if count > 1 {
            let s = req_u32(sn, "stripe_size", &c.path, c.offset)?;
            if s == 0 {
                let off = sn.value("stripe_size").map_or(c.offset, |v| v.1);
                return Err(err(&c.path, off, "stripe_size", 0, "at least 1 sector"));
            }
            Some(u64::from(s))
        } else {
            None
        };
        if extent_count % count != 0 {
            let off = sn.value("stripe_count").map_or(c.offset, |v| v.1);
            return Err(err(
                &c.path,
                off,
                "stripe_count",
                count,
                format!("a divisor of extent_count {extent_count}"),
            ));
        }
        let areas = imp.areas(c, "stripes", count, extent_count / count, pvs)?;
        Ok(Striped { stripe_size, areas })
    }

    pub fn references(&self) -> Vec<SegRef> {
        self.areas.iter().map(Area::reference).collect()
    }
}
