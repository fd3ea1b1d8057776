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

use super::SegCx;
use crate::engine::lvm::key_from_dm_uuid;
use crate::engine::{Graph, NodeId};
use crate::formats::lvm::names as lvm_names;
use crate::formats::lvm::vg::{Flags, Lv, SegKind, Snapshot, Vg};
use crate::ids::LvmId;
use crate::plan::{DevRef, DmStep, Target, TargetLine};

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

pub(super) fn thin_pool(lv: &Lv) -> Option<&crate::formats::lvm::vg::ThinPool> {
    lv.segments.iter().find_map(|s| match &s.kind {
        SegKind::ThinPool(p) => Some(p),
        _ => None,
    })
}

/// lvm2 `lv_is_new_thin_pool`: a pool whose metadata transaction id is still 0.
pub(super) fn new_thin_pool(lv: &Lv) -> bool {
    thin_pool(lv).is_some_and(|p| p.transaction_id == 0)
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
        self.steps
            .iter()
            .find(|s| s.uuid == uuid)
            .map(|s| self.dev(s.name.clone()))
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
                    cachevol_parts =
                        Some(super::cache::cachevol_parts(self, lv, c, read_only, udev)?);
                }
            }
        }

        if layer.is_none() && !snapshots_of(vg, lv).is_empty() {
            let real = self.add_dev(&lv.name, "real")?;
            let snaps = snapshots_of(vg, lv);
            let target = match snaps.iter().find(|(_, s)| s.merging) {
                Some((_, m)) => {
                    let cow = self.add_dev(&m.cow_store, "cow")?;
                    super::snapshot::merge(real, cow, m)
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
            let target = super::snapshot::snapshot(origin_real, cow_dev, sn);
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
        for (segno, seg) in lv.segments.iter().enumerate() {
            let start = seg
                .start_extent
                .checked_mul(ext)
                .ok_or("segment start overflows")?;
            let len = seg
                .extent_count
                .checked_mul(ext)
                .ok_or("segment length overflows")?;
            let target = match &seg.kind {
                SegKind::Striped(s) => {
                    let cx = SegCx {
                        g,
                        vg: self.vg,
                        lv,
                        planned: self.planned,
                        segno,
                        seg,
                        len,
                    };
                    let mut fillers = Vec::new();
                    let t = super::linear::target(&cx, s, &mut fillers)?;
                    self.steps.extend(fillers);
                    t
                }
                SegKind::ThinPool(p) => super::thin::pool(self, lv, p, len)?,
                SegKind::Thin(t) => super::thin::thin(self, t)?,
                SegKind::Cache(c) => super::cache::cache(self, c, cachevol_parts.clone())?,
                SegKind::Writecache(w) => super::writecache::target(self, w)?,
                SegKind::Error => Target::Error,
                SegKind::Zero => Target::Zero,
                _ => return Err(crate::engine::lvm::unsupported_text(&seg.type_name)),
            };
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

    /// A device that is not an LV's (a cachevol's part), added once.
    pub(super) fn push_part(&mut self, step: DmStep) -> DevRef {
        if let Some(d) = self.has(&step.uuid) {
            return d;
        }
        let name = step.name.clone();
        self.steps.push(step);
        self.dev(name)
    }

    pub(super) fn vg_id(&self) -> &'a LvmId {
        &self.v().id
    }

    pub(super) fn vg_name(&self) -> &'a str {
        &self.v().name
    }

    pub(super) fn vg_group(&self) -> &'a crate::engine::lvm::VolGroup {
        self.v()
    }

    pub(super) fn find_lv(&self, name: &str) -> Result<&'a Lv, String> {
        self.lv(name)
    }
}
