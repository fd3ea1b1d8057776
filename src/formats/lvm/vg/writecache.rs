//! dm-writecache: `writecache` segments (`lib/writecache/writecache.c`:
//! `_writecache_text_import`).

use super::fields::{other_values, req_u32};
use super::{Importer, SegCtx, SegRef, VgError};
use crate::formats::lvm::text::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Writecache {
    pub origin: String,
    pub cachevol: String,
    /// Bytes.
    pub block_size: u32,
    /// Optional tunables (`high_watermark`, `writeback_jobs`, ...) as written.
    pub settings: Vec<(String, Value)>,
}

impl Writecache {
    pub(super) fn read(imp: &mut Importer<'_>, c: &SegCtx<'_>) -> Result<Writecache, VgError> {
        let origin = imp.req_lv(c, "origin")?;
        let cachevol = imp.req_lv(c, "writecache")?;
        let block_size = req_u32(c.sec, "writecache_block_size", &c.path, c.offset)?;
        let settings = other_values(c.sec, &["origin", "writecache", "writecache_block_size"]);
        Ok(Writecache {
            origin,
            cachevol,
            block_size,
            settings,
        })
    }

    pub fn references(&self) -> Vec<SegRef> {
        vec![
            SegRef::Lv(self.origin.clone()),
            SegRef::Lv(self.cachevol.clone()),
        ]
    }
}
