//! dm-integrity: `integrity` segments (`lib/integrity/integrity.c`: `_integrity_text_import`).

use super::fields::{other_values, req_u64};
use super::{Importer, SegCtx, SegRef, VgError};
use crate::formats::lvm::text::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Integrity {
    pub origin: String,
    /// `None`: internal metadata.
    pub meta_dev: Option<String>,
    pub data_sectors: u64,
    /// `mode`, `tag_size`, `block_size`, `internal_hash`, ... as written.
    pub settings: Vec<(String, Value)>,
}

impl Integrity {
    pub(super) fn read(imp: &mut Importer<'_>, c: &SegCtx<'_>) -> Result<Integrity, VgError> {
        let origin = imp.req_lv(c, "origin")?;
        let meta_dev = imp.opt_lv(c, "meta_dev")?;
        let data_sectors = req_u64(c.sec, "data_sectors", &c.path, c.offset)?;
        let settings = other_values(c.sec, &["origin", "meta_dev", "data_sectors"]);
        Ok(Integrity {
            origin,
            meta_dev,
            data_sectors,
            settings,
        })
    }

    pub fn references(&self) -> Vec<SegRef> {
        std::iter::once(&self.origin)
            .chain(self.meta_dev.iter())
            .map(|n| SegRef::Lv(n.clone()))
            .collect()
    }
}
