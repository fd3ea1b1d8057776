//! Who refers to whom among a VG's LVs, built once per import, so that a question about an
//! LV's role (a snapshot's origin, a pool's data LV, a cache origin, ...) is a lookup and not a
//! walk over every LV: activation asks such questions for every LV, which would otherwise cost
//! the square of the LV count.

use super::{Lv, SegKind};
use std::collections::{HashMap, HashSet};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Links {
    index: HashMap<String, usize>,
    /// Origin → the hidden `snapshotN` LVs of its snapshots, in metadata order.
    snapshots: HashMap<String, Vec<usize>>,
    /// COW store → its `snapshotN` LV.
    cow: HashMap<String, usize>,
    external_origins: HashSet<String>,
    /// Cache pools and cachevols a cache segment uses.
    used_cache_pools: HashSet<String>,
    cache_origins: HashSet<String>,
    writecache_origins: HashSet<String>,
    cache_pool_data: HashSet<String>,
    cache_pool_meta: HashSet<String>,
    thin_pool_data: HashSet<String>,
    thin_pool_meta: HashSet<String>,
    vdo_pool_data: HashSet<String>,
}

impl Links {
    pub(super) fn of(lvs: &[Lv]) -> Links {
        let mut l = Links::default();
        for (i, lv) in lvs.iter().enumerate() {
            l.index.entry(lv.name.clone()).or_insert(i);
            for s in &lv.segments {
                match &s.kind {
                    SegKind::Snapshot(sn) => {
                        l.snapshots.entry(sn.origin.clone()).or_default().push(i);
                        l.cow.entry(sn.cow_store.clone()).or_insert(i);
                    }
                    SegKind::Thin(t) => {
                        if let Some(e) = &t.external_origin {
                            l.external_origins.insert(e.clone());
                        }
                    }
                    SegKind::Cache(c) => {
                        l.used_cache_pools.insert(c.pool.clone());
                        l.cache_origins.insert(c.origin.clone());
                    }
                    SegKind::Writecache(w) => {
                        l.writecache_origins.insert(w.origin.clone());
                    }
                    SegKind::CachePool(p) => {
                        l.cache_pool_data.insert(p.data.clone());
                        l.cache_pool_meta.insert(p.metadata.clone());
                    }
                    SegKind::ThinPool(p) => {
                        l.thin_pool_data.insert(p.pool.clone());
                        l.thin_pool_meta.insert(p.metadata.clone());
                    }
                    SegKind::VdoPool(p) => {
                        l.vdo_pool_data.insert(p.data.clone());
                    }
                    _ => {}
                }
            }
        }
        l
    }

    /// Position of the LV named `name` in the VG's LV list.
    pub fn index(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    /// The `snapshotN` LVs (positions) whose snapshot has origin `name`.
    pub fn snapshots(&self, name: &str) -> &[usize] {
        self.snapshots.get(name).map_or(&[], Vec::as_slice)
    }

    /// The `snapshotN` LV (position) whose COW store is `name`.
    pub fn cow(&self, name: &str) -> Option<usize> {
        self.cow.get(name).copied()
    }

    pub fn is_external_origin(&self, name: &str) -> bool {
        self.external_origins.contains(name)
    }

    /// A cache pool or cachevol some cache segment uses.
    pub fn is_used_cache_pool(&self, name: &str) -> bool {
        self.used_cache_pools.contains(name)
    }

    pub fn is_cache_origin(&self, name: &str) -> bool {
        self.cache_origins.contains(name)
    }

    pub fn is_writecache_origin(&self, name: &str) -> bool {
        self.writecache_origins.contains(name)
    }

    pub fn is_cache_pool_data(&self, name: &str) -> bool {
        self.cache_pool_data.contains(name)
    }

    pub fn is_cache_pool_meta(&self, name: &str) -> bool {
        self.cache_pool_meta.contains(name)
    }

    pub fn is_thin_pool_data(&self, name: &str) -> bool {
        self.thin_pool_data.contains(name)
    }

    pub fn is_thin_pool_meta(&self, name: &str) -> bool {
        self.thin_pool_meta.contains(name)
    }

    pub fn is_vdo_pool_data(&self, name: &str) -> bool {
        self.vdo_pool_data.contains(name)
    }
}
