//! VDO: `vdo` and `vdo-pool` segments (`lib/vdo/vdo.c`: `_vdo_text_import`,
//! `_vdo_pool_text_import`).

use super::fields::{other_values, req_u32};
use super::{Importer, SegCtx, SegRef, VgError};
use crate::formats::lvm::text::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vdo {
    pub pool: String,
    pub vdo_offset: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VdoPool {
    pub data: String,
    pub virtual_extents: u32,
    /// `header_size`, `use_compression`, ... as written.
    pub settings: Vec<(String, Value)>,
}

impl Vdo {
    pub(super) fn read(imp: &mut Importer<'_>, c: &SegCtx<'_>) -> Result<Vdo, VgError> {
        let pool = imp.req_lv(c, "vdo_pool")?;
        let vdo_offset = req_u32(c.sec, "vdo_offset", &c.path, c.offset)?;
        Ok(Vdo { pool, vdo_offset })
    }

    pub fn references(&self) -> Vec<SegRef> {
        vec![SegRef::Lv(self.pool.clone())]
    }
}

impl VdoPool {
    pub(super) fn read(imp: &mut Importer<'_>, c: &SegCtx<'_>) -> Result<VdoPool, VgError> {
        let data = imp.req_lv(c, "data")?;
        let virtual_extents = req_u32(c.sec, "virtual_extents", &c.path, c.offset)?;
        let settings = other_values(c.sec, &["data", "virtual_extents"]);
        Ok(VdoPool {
            data,
            virtual_extents,
            settings,
        })
    }

    pub fn references(&self) -> Vec<SegRef> {
        vec![SegRef::Lv(self.data.clone())]
    }
}
