//! dm-cache: `cache` and `cache-pool` segments (`lib/cache_segtype/cache.c`:
//! `_cache_text_import`, `_cache_pool_text_import`, `_settings_text_import`).

use super::fields::{err, opt_str, opt_u32, opt_u64};
use super::{Importer, SegCtx, SegRef, VgError};
use crate::formats::lvm::text::{Section, Value};

/// Cache parameters, on a cache-pool segment or (with a cachevol) on the cache segment.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CacheParams {
    /// Sectors.
    pub chunk_size: Option<u32>,
    pub cache_mode: Option<String>,
    pub policy: Option<String>,
    pub metadata_format: Option<u32>,
    /// `policy_settings { key = value }`.
    pub policy_settings: Vec<(String, Value)>,
    pub cleaner: bool,
    /// Cachevol layout (sectors) and the ids lvm2 gives its two parts.
    pub metadata_start: Option<u64>,
    pub metadata_len: Option<u64>,
    pub data_start: Option<u64>,
    pub data_len: Option<u64>,
    pub metadata_id: Option<String>,
    pub data_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cache {
    /// The cache pool, or the cachevol (`+CACHE_USES_CACHEVOL`).
    pub pool: String,
    pub origin: String,
    pub params: CacheParams,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachePool {
    pub data: String,
    pub metadata: String,
    pub params: CacheParams,
}

impl Cache {
    pub(super) fn read(imp: &mut Importer<'_>, c: &SegCtx<'_>) -> Result<Cache, VgError> {
        let pool = imp.req_lv(c, "cache_pool")?;
        let origin = imp.req_lv(c, "origin")?;
        let params = CacheParams::read(c.sec, &c.path)?;
        Ok(Cache {
            pool,
            origin,
            params,
        })
    }

    pub fn references(&self) -> Vec<SegRef> {
        vec![
            SegRef::Lv(self.pool.clone()),
            SegRef::Lv(self.origin.clone()),
        ]
    }
}

impl CachePool {
    pub(super) fn read(imp: &mut Importer<'_>, c: &SegCtx<'_>) -> Result<CachePool, VgError> {
        let data = imp.req_lv(c, "data")?;
        let metadata = imp.req_lv(c, "metadata")?;
        let params = CacheParams::read(c.sec, &c.path)?;
        Ok(CachePool {
            data,
            metadata,
            params,
        })
    }

    pub fn references(&self) -> Vec<SegRef> {
        vec![
            SegRef::Lv(self.data.clone()),
            SegRef::Lv(self.metadata.clone()),
        ]
    }
}

impl CacheParams {
    fn read(sn: &Section, path: &str) -> Result<CacheParams, VgError> {
        let mut policy_settings = Vec::new();
        if let Some((ps, _)) = sn.section("policy_settings") {
            for (k, v, _) in ps.values() {
                policy_settings.push((k.to_string(), v.clone()));
            }
        }
        let cache_mode = opt_str(sn, "cache_mode", path)?;
        if let Some(m) = &cache_mode {
            if !matches!(m.as_str(), "writethrough" | "writeback" | "passthrough") {
                let off = sn.value("cache_mode").map_or(0, |v| v.1);
                return Err(err(
                    path,
                    off,
                    "cache_mode",
                    format!("{m:?}"),
                    "writethrough, writeback or passthrough",
                ));
            }
        }
        Ok(CacheParams {
            chunk_size: opt_u32(sn, "chunk_size", path)?,
            cache_mode,
            policy: opt_str(sn, "policy", path)?,
            metadata_format: opt_u32(sn, "metadata_format", path)?,
            policy_settings,
            cleaner: opt_u32(sn, "cleaner", path)?.unwrap_or(0) != 0,
            metadata_start: opt_u64(sn, "metadata_start", path)?,
            metadata_len: opt_u64(sn, "metadata_len", path)?,
            data_start: opt_u64(sn, "data_start", path)?,
            data_len: opt_u64(sn, "data_len", path)?,
            metadata_id: opt_str(sn, "metadata_id", path)?,
            data_id: opt_str(sn, "data_id", path)?,
        })
    }
}
