//! Thin provisioning: `thin-pool` and `thin` segments (`lib/thin/thin.c`:
//! `_thin_pool_text_import`, `_thin_text_import`).

use super::fields::{describe, err, opt_str, opt_u32, req_u32, req_u64};
use super::{Importer, SegCtx, SegRef, VgError};
use crate::formats::lvm::text::Value;

/// `DM_THIN_MIN_DATA_BLOCK_SIZE` / `DM_THIN_MAX_DATA_BLOCK_SIZE` (sectors).
pub const THIN_MIN_CHUNK: u32 = 128;
pub const THIN_MAX_CHUNK: u32 = 2_097_152;
/// `DM_THIN_MAX_DEVICE_ID`.
pub const THIN_MAX_DEVICE_ID: u32 = (1 << 24) - 1;

/// `discards` of a thin pool (`set_pool_discards`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Discards {
    /// `"ignore"`, and the value when the key is absent.
    Ignore,
    NoPassdown,
    Passdown,
}

/// A pending thin-pool message (`messageN { create = "lv" }` / `{ delete = id }`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ThinMessage {
    Create(String),
    Delete(u32),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThinPool {
    pub metadata: String,
    pub pool: String,
    pub transaction_id: u64,
    pub chunk_size: u32,
    pub discards: Discards,
    pub zero_new_blocks: bool,
    pub crop_metadata: Option<u32>,
    pub messages: Vec<ThinMessage>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thin {
    pub pool: String,
    pub transaction_id: u64,
    pub device_id: u32,
    pub origin: Option<String>,
    pub external_origin: Option<String>,
    pub merge: Option<String>,
}

impl ThinPool {
    pub(super) fn read(imp: &mut Importer<'_>, c: &SegCtx<'_>) -> Result<ThinPool, VgError> {
        let sn = c.sec;
        let metadata = imp.req_lv(c, "metadata")?;
        let pool = imp.req_lv(c, "pool")?;
        let transaction_id = req_u64(sn, "transaction_id", &c.path, c.offset)?;
        let chunk_size = req_u32(sn, "chunk_size", &c.path, c.offset)?;
        if !(THIN_MIN_CHUNK..=THIN_MAX_CHUNK).contains(&chunk_size) {
            let off = sn.value("chunk_size").map_or(c.offset, |v| v.1);
            return Err(err(
                &c.path,
                off,
                "chunk_size",
                chunk_size,
                format!("{THIN_MIN_CHUNK}..={THIN_MAX_CHUNK} sectors"),
            ));
        }
        let discards = match sn.value("discards") {
            None => Discards::Ignore,
            Some((Value::Str(s), off)) => match s.as_str() {
                "ignore" => Discards::Ignore,
                "nopassdown" => Discards::NoPassdown,
                "passdown" => Discards::Passdown,
                _ => {
                    return Err(err(
                        &c.path,
                        off,
                        "discards",
                        format!("{s:?}"),
                        "\"ignore\", \"nopassdown\" or \"passdown\"",
                    ))
                }
            },
            Some((v, off)) => return Err(err(&c.path, off, "discards", describe(v), "a string")),
        };
        let zero_new_blocks = opt_u32(sn, "zero_new_blocks", &c.path)?.unwrap_or(0) != 0;
        let crop_metadata = opt_u32(sn, "crop_metadata", &c.path)?;
        // Every subsection of a thin-pool segment is a message (`_thin_pool_text_import`).
        let mut messages = Vec::new();
        for (mkey, msn, m_off) in sn.sections() {
            let mp = format!("{}/{mkey}", c.path);
            let mctx = SegCtx {
                sec: msn,
                path: mp.clone(),
                offset: m_off,
            };
            if let Some(lv) = opt_str(msn, "create", &mp)? {
                imp.lv_ref(&mctx, "create", &lv);
                messages.push(ThinMessage::Create(lv));
            } else if let Some(id) = opt_u32(msn, "delete", &mp)? {
                messages.push(ThinMessage::Delete(id));
            } else {
                return Err(err(
                    &mp,
                    m_off,
                    "message",
                    "neither create nor delete",
                    "create = \"lv\" or delete = id",
                ));
            }
        }
        Ok(ThinPool {
            metadata,
            pool,
            transaction_id,
            chunk_size,
            discards,
            zero_new_blocks,
            crop_metadata,
            messages,
        })
    }

    pub fn references(&self) -> Vec<SegRef> {
        vec![
            SegRef::Lv(self.metadata.clone()),
            SegRef::Lv(self.pool.clone()),
        ]
    }
}

impl Thin {
    pub(super) fn read(imp: &mut Importer<'_>, c: &SegCtx<'_>) -> Result<Thin, VgError> {
        let sn = c.sec;
        let pool = imp.req_lv(c, "thin_pool")?;
        let transaction_id = req_u64(sn, "transaction_id", &c.path, c.offset)?;
        let origin = imp.opt_lv(c, "origin")?;
        let merge = imp.opt_lv(c, "merge")?;
        let device_id = req_u32(sn, "device_id", &c.path, c.offset)?;
        if device_id > THIN_MAX_DEVICE_ID {
            let off = sn.value("device_id").map_or(c.offset, |v| v.1);
            return Err(err(
                &c.path,
                off,
                "device_id",
                device_id,
                format!("at most {THIN_MAX_DEVICE_ID}"),
            ));
        }
        let external_origin = imp.opt_lv(c, "external_origin")?;
        Ok(Thin {
            pool,
            transaction_id,
            device_id,
            origin,
            external_origin,
            merge,
        })
    }

    /// The pool, the origin and the external origin (`merge` names a related LV only).
    pub fn references(&self) -> Vec<SegRef> {
        std::iter::once(&self.pool)
            .chain(self.origin.iter())
            .chain(self.external_origin.iter())
            .map(|n| SegRef::Lv(n.clone()))
            .collect()
    }

    /// What its device is built from: the pool and an external origin. The `origin` of a
    /// thin snapshot only names a related LV (its blocks are shared inside the pool).
    pub fn built_from(&self) -> Vec<String> {
        std::iter::once(&self.pool)
            .chain(self.external_origin.iter())
            .cloned()
            .collect()
    }
}
