//! The devices of one LV and everything below it, children first, as lvm2 2.03.16 lays them
//! out (`dev_manager.c`: `_add_new_lv_to_dtree`, `_add_segment_to_dtree`; formats.md §2.4):
//!
//! * a snapshot origin: `VG-LV-real` (its own segments) under `VG-LV` (`snapshot-origin`, or
//!   `snapshot-merge` with the merging snapshot's `-cow` while a merge is pending), then each
//!   snapshot: `VG-SNAP-cow` (the COW LV's segments) under `VG-SNAP` (`snapshot`, or `error`
//!   for the merging one). A COW LV is activated through its origin, as lvm2 does.
//! * a used thin pool and an external origin: a layer (`-tpool`, `-real`) with the segments,
//!   under the LV's own device, a linear over the layer (read-only for the pool);
//!   a new pool (transaction id 0) carries the thin-pool table itself, with the `-tpool` UUID.
//! * a cache pool has no device of its own: its `_cdata`/`_cmeta` are the cache's devices;
//!   a cachevol gets `-cmeta`/`-cdata` linears over it.
//!
//! Names, UUIDs (with lvm2's role suffixes), read-only and the udev flags lvm2 passes follow
//! `dm_build_dm_name`, `build_dm_uuid`, `read_only_lv` and `_get_udev_flags`. A device is added
//! once (by UUID), however many LVs need it.

use super::thin::{new_thin_pool, thin_pool};
use super::{cache, snapshot, thin, writecache, SegCx};
use crate::engine::lvm::key_from_dm_uuid;
use crate::engine::{Graph, NodeId};
use crate::formats::lvm::names as lvm_names;
use crate::formats::lvm::vg::{Cache, Flags, Lv, SegKind, Snapshot, Vg};
use crate::plan::{DevRef, DmStep, Target, TargetLine};
use std::collections::HashMap;

/// libdm `DM_UDEV_DISABLE_*` cookie flags (`libdevmapper.h`).
const DISABLE_SUBSYSTEM_RULES: u16 = 0x0002;
const DISABLE_DISK_RULES: u16 = 0x0004;
const DISABLE_OTHER_RULES: u16 = 0x0008;
const LOW_PRIORITY: u16 = 0x0010;

pub(super) struct Tree<'a> {
    pub g: &'a Graph,
    pub vg: usize,
    pub planned: &'a [NodeId],
    /// Children first; the LV's own device is among them.
    pub steps: Vec<DmStep>,
    /// UUID → DM name of the devices added so far (each is added once).
    pub made: HashMap<String, String>,
}

fn snapshot_seg(l: &Lv) -> Option<&Snapshot> {
    l.segments.iter().find_map(|s| match &s.kind {
        SegKind::Snapshot(sn) => Some(sn),
        _ => None,
    })
}

/// The snapshot segment (of a hidden `snapshotN` LV) whose COW store is `lv`.
pub(super) fn cow_of<'v>(vg: &'v Vg, lv: &Lv) -> Option<(&'v Lv, &'v Snapshot)> {
    let l = vg.lvs.get(vg.links.cow(&lv.name)?)?;
    Some((l, snapshot_seg(l)?))
}

/// The snapshots of origin `lv`, in metadata order.
fn snapshots_of<'v>(vg: &'v Vg, lv: &Lv) -> Vec<(&'v Lv, &'v Snapshot)> {
    vg.links
        .snapshots(&lv.name)
        .iter()
        .filter_map(|&i| {
            let l = vg.lvs.get(i)?;
            Some((l, snapshot_seg(l)?))
        })
        .collect()
}

fn external_origin(vg: &Vg, lv: &Lv) -> bool {
    vg.links.is_external_origin(&lv.name)
}

fn used_cache_pool(vg: &Vg, lv: &Lv) -> bool {
    lv.segments
        .iter()
        .any(|s| matches!(s.kind, SegKind::CachePool(_)))
        && vg.links.is_used_cache_pool(&lv.name)
}

/// lvm2 `lv_layer`: the layer an LV's segments move to when something sits on top.
fn lv_layer(vg: &Vg, lv: &Lv) -> Option<&'static str> {
    if thin_pool(lv).is_some() {
        Some("tpool")
    } else if !snapshots_of(vg, lv).is_empty() || external_origin(vg, lv) {
        Some("real")
    } else {
        None
    }
}

impl<'a> Tree<'a> {
    fn v(&self) -> &'a crate::engine::lvm::VolGroup {
        &self.g.vgs[self.vg]
    }

    fn dev(&self, name: String) -> DevRef {
        if self.g.live {
            DevRef::Planned { name }
        } else {
            DevRef::Image { name }
        }
    }

    fn lv(&self, name: &str) -> Result<&'a Lv, String> {
        self.v()
            .vg
            .lv(name)
            .ok_or_else(|| format!("refers to LV {name}, which does not exist"))
    }

    /// lvm2 `_get_udev_flags` (udev rules on, no noscan/temporary).
    fn udev_flags(&self, lv: &Lv, layer: Option<&str>) -> u16 {
        let vg = &self.v().vg;
        let mut f = if new_thin_pool(lv) {
            DISABLE_DISK_RULES | DISABLE_OTHER_RULES
        } else if layer.is_some() || !lv.visible || thin_pool(lv).is_some() {
            DISABLE_SUBSYSTEM_RULES | DISABLE_DISK_RULES | DISABLE_OTHER_RULES
        } else {
            0
        };
        if cow_of(vg, lv).is_some() {
            f |= LOW_PRIORITY;
        }
        f
    }

    /// Adds a device unless one with its UUID is there; returns a reference to it.
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        lv: &Lv,
        layer: Option<&str>,
        name: String,
        uuid: String,
        read_only: bool,
        table: Vec<TargetLine>,
        udev_flags: u16,
    ) -> DevRef {
        let v = self.v();
        // A visible LV's own device gets /dev/VG/LV, except a used thin pool (lvm2 links
        // only what holds a volume: its `vg-pool` is a read-only placeholder).
        let own = name == lvm_names::dm_name(&v.name, &lv.name, None);
        let linked = own && lv.visible && (thin_pool(lv).is_none() || new_thin_pool(lv));
        let links = if linked {
            vec![
                format!("{}/{}", v.name, lv.name),
                format!("evms/lvm2/{}/{}", v.name, lv.name),
            ]
        } else {
            vec![]
        };
        let volume = match layer {
            Some(l) if !own => format!("{}/{}-{l}", v.name, lv.name),
            _ => format!("{}/{}", v.name, lv.name),
        };
        let key = key_from_dm_uuid(&uuid).unwrap_or_else(|| format!("dm:{uuid}"));
        self.made.insert(uuid.clone(), name.clone());
        self.steps.push(DmStep {
            key,
            name: name.clone(),
            uuid,
            read_only,
            table,
            udev_flags,
            links,
            volume,
            visible: linked,
            fixed_devno: None,
        });
        self.dev(name)
    }

    fn has(&self, uuid: &str) -> Option<DevRef> {
        self.made.get(uuid).map(|n| self.dev(n.clone()))
    }

    /// The device of `lv` with `layer` (`None`: the LV's own) and everything below it.
    /// `None` for a used cache pool, which has no device (its sub-LVs are added).
    pub(super) fn add(
        &mut self,
        lv_name: &str,
        layer: Option<&str>,
    ) -> Result<Option<DevRef>, String> {
        let g = self.g;
        let v = &g.vgs[self.vg];
        let vg = &v.vg;
        let lv = self.lv(lv_name)?;
        if self.steps.len() > vg.lvs.len().saturating_mul(4) + 16 {
            return Err("LV references form a cycle".into());
        }
        if layer.is_none() && used_cache_pool(vg, lv) {
            for s in &lv.segments {
                if let SegKind::CachePool(p) = &s.kind {
                    self.add(&p.data, None)?;
                    self.add(&p.metadata, None)?;
                }
            }
            return Ok(None);
        }
        let name = lvm_names::dm_name(&v.name, &lv.name, layer);
        // A new pool keeps its name but takes the -tpool UUID; a writecache origin has -real
        // (from its role).
        let layer = match layer {
            None if new_thin_pool(lv) => Some("tpool"),
            l => l,
        };
        let uuid = match layer {
            Some(l) => lvm_names::dm_uuid(&vg.id, &lv.id, Some(l)),
            None => lvm_names::lv_dm_uuid(vg, lv),
        };
        if let Some(d) = self.has(&uuid) {
            return Ok(Some(d));
        }
        // lvm2 `read_only_lv`: a COW layer stays writable, a used pool's own device is not.
        let cow = cow_of(vg, lv);
        let read_only = if layer.is_some() && cow.is_some() {
            false
        } else if layer.is_none() && thin_pool(lv).is_some() {
            true
        } else {
            lv.read_only
        };
        let udev = self.udev_flags(lv, layer);
        let size = vg.lv_sectors(lv);
        let line = |target| {
            vec![TargetLine {
                start: 0,
                len: size,
                target,
            }]
        };

        // A cache on a cachevol: the cachevol, then its -cmeta and -cdata parts.
        let mut cachevol_parts = None;
        if layer.is_none() {
            if let Some(c) = lv.segments.iter().find_map(|s| match &s.kind {
                SegKind::Cache(c) => Some(c),
                _ => None,
            }) {
                let pool = self.lv(&c.pool)?;
                if pool.status.contains(Flags::CACHE_VOL) {
                    let cvol = self.add_own(&c.pool)?;
                    let [m, d] = cache::cachevol_parts(v, lv, c, pool, &cvol, read_only, udev)?;
                    cachevol_parts = Some((self.push_part(m), self.push_part(d)));
                }
            }
        }

        if layer.is_none() && !snapshots_of(vg, lv).is_empty() {
            let real = self.add_dev(&lv.name, "real")?;
            let snaps = snapshots_of(vg, lv);
            let target = match snaps.iter().find(|(_, s)| s.merging) {
                Some((_, m)) => {
                    let cow = self.add_dev(&m.cow_store, "cow")?;
                    snapshot::merge(real, cow, m)
                }
                None => Target::SnapshotOrigin { origin: real },
            };
            let me = self.push(lv, layer, name, uuid, read_only, line(target), udev);
            for (_, s) in snaps {
                self.add(&s.cow_store, None)?;
            }
            return Ok(Some(me));
        }
        if let (None, Some((snap_lv, sn))) = (layer, cow) {
            let origin_real = self.dev(lvm_names::dm_name(&v.name, &sn.origin, Some("real")));
            let cow_dev = self.add_dev(&lv.name, "cow")?;
            let len = snap_lv
                .extent_count
                .checked_mul(vg.extent_size)
                .ok_or("snapshot size overflows")?;
            let target = snapshot::snapshot(origin_real, cow_dev, sn);
            let table = vec![TargetLine {
                start: 0,
                len,
                target,
            }];
            return Ok(Some(
                self.push(lv, layer, name, uuid, read_only, table, udev),
            ));
        }
        if layer.is_none()
            && ((thin_pool(lv).is_some() && !new_thin_pool(lv)) || external_origin(vg, lv))
        {
            let l = lv_layer(vg, lv).ok_or("no layer")?;
            let below = self.add_dev(&lv.name, l)?;
            let target = Target::Linear {
                dev: below,
                offset: 0,
            };
            return Ok(Some(self.push(
                lv,
                layer,
                name,
                uuid,
                read_only,
                line(target),
                udev,
            )));
        }
        // The LV's own segments.
        let mut table = Vec::new();
        let ext = vg.extent_size;
        // lvm2 counts the pvmove segments of one LV to run one mirror at a time.
        let mut pvmove_running = 0u32;
        for (segno, seg) in lv.segments.iter().enumerate() {
            let (start, len) = super::span(seg, ext)?;
            let cx = SegCx {
                g,
                vg: self.vg,
                lv,
                planned: self.planned,
                segno,
                seg,
                len,
                depth: 0,
            };
            // Devices the line needs that are not LVs of this tree: `--partial` stand-ins,
            // and the hidden sub-LVs of a RAID or mirror LV under a tree's device (a thin
            // pool's data on raid1, a RAID origin with snapshots).
            let mut below = Vec::new();
            let target = match super::table_family(&cx, &mut pvmove_running, &mut below) {
                Some(t) => t?,
                None => match &seg.kind {
                    SegKind::ThinPool(p) => {
                        thin::check_metadata(v, lv, p)?;
                        let meta = self.add_own(&p.metadata)?;
                        let data = self.add_own(&p.pool)?;
                        thin::pool(lv, p, meta, data)
                    }
                    SegKind::Thin(t) => {
                        let ext = match &t.external_origin {
                            Some(e) => Some(self.add_dev(e, "real")?),
                            None => None,
                        };
                        let pool = if new_thin_pool(self.lv(&t.pool)?) {
                            self.add_own(&t.pool)?
                        } else {
                            self.add_dev(&t.pool, "tpool")?
                        };
                        thin::thin(t, pool, ext)
                    }
                    SegKind::Cache(c) => self.cache(c, cachevol_parts.clone())?,
                    SegKind::Writecache(w) => {
                        let cvol = self.add_own(&w.cachevol)?;
                        let origin = self.add_own(&w.origin)?;
                        writecache::target(w, origin, cvol)?
                    }
                    SegKind::Error => Target::Error,
                    SegKind::Zero => Target::Zero,
                    _ => return Err(crate::engine::lvm::unsupported_text(&seg.type_name)),
                },
            };
            for st in below {
                self.push_part(st);
            }
            table.push(TargetLine { start, len, target });
        }
        Ok(Some(
            self.push(lv, layer, name, uuid, read_only, table, udev),
        ))
    }

    /// [`Tree::add`] for something that must have a device.
    pub(super) fn add_dev(&mut self, lv: &str, layer: &str) -> Result<DevRef, String> {
        self.add(lv, Some(layer))?
            .ok_or_else(|| format!("{lv} has no device of its own"))
    }

    /// [`Tree::add`] of an LV's own device.
    pub(super) fn add_own(&mut self, lv: &str) -> Result<DevRef, String> {
        self.add(lv, None)?
            .ok_or_else(|| format!("{lv} has no device of its own"))
    }

    /// A cache: its pool's sub-LVs (a cache pool has no device) or the cachevol's parts, the
    /// origin, then the line.
    fn cache(&mut self, c: &Cache, cachevol: Option<(DevRef, DevRef)>) -> Result<Target, String> {
        let pool_lv = self.lv(&c.pool)?;
        let pool_params = match pool_lv.segments.first().map(|s| &s.kind) {
            Some(SegKind::CachePool(cp)) => Some(cp),
            _ => None,
        };
        let (meta, data, setting) = match (cachevol, pool_params) {
            (Some((m, d)), _) => (m, d, &c.params),
            (None, Some(cp)) => {
                self.add(&c.pool, None)?;
                let m = self.add_own(&cp.metadata)?;
                let d = self.add_own(&cp.data)?;
                (m, d, &cp.params)
            }
            (None, None) => return Err(format!("cache pool {} has no cache-pool segment", c.pool)),
        };
        let origin = self.add_own(&c.origin)?;
        cache::cache(
            c,
            setting,
            pool_params.map(|p| &p.params),
            meta,
            data,
            origin,
        )
    }

    /// A device that is not an LV's (a cachevol's part), added once.
    pub(super) fn push_part(&mut self, step: DmStep) -> DevRef {
        if let Some(d) = self.has(&step.uuid) {
            return d;
        }
        let name = step.name.clone();
        self.made.insert(step.uuid.clone(), name.clone());
        self.steps.push(step);
        self.dev(name)
    }
}
