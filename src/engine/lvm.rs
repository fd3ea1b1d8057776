//! LVM volume groups from PV labels and metadata, choosing as lvm2 does (formats.md §1.10):
//! PVs grouped by VG id, the copy with the highest seqno wins (equal seqno with different text
//! is a mismatch we refuse), PVs listed there but not seen are missing, a device whose PV id the
//! newest copy does not list is outdated, the same PV id on two devices is a duplicate we never
//! guess about. Access rules: exported, clustered, shared/lock_type, foreign system_id.

use super::{Graph, NodeId, NodeKind};
use crate::formats::lvm::vg::{Area, Lv, SegKind, SegRef, Vg};
use crate::formats::thin::{self, ThinSuper};
use crate::ids::LvmId;
use crate::probe::Content;
use crate::source::layout::Layout;
use crate::source::ReadAt;
use std::collections::BTreeMap;

/// Why a VG may not be activated at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    Ok,
    Exported,
    Clustered,
    /// lvmlockd (sanlock/dlm/idm) is needed.
    Shared(String),
    /// Owned by another host.
    Foreign {
        system_id: String,
    },
    /// Copies with equal seqno but different contents, or duplicate PVs.
    Inconsistent(String),
}

/// One PV of the chosen metadata and where it was found.
#[derive(Debug, Clone)]
pub struct VgPv {
    pub key: String,
    pub id: LvmId,
    pub node: Option<NodeId>,
    pub pe_start: u64,
    /// The PV was found on an LV of this same VG (or on something built on one): the VG
    /// would be built on itself, so the PV is not used (`node` stays `None`). The LV's name.
    pub on_own_lv: Option<String>,
}

/// What can be done with an LV.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LvState {
    /// All its PVs are present and its segment types are supported.
    Ok,
    /// Uses missing PVs (activation only with --partial).
    Partial { missing: Vec<String> },
    /// A segment type not supported yet.
    Unsupported { segtype: String },
    /// Refers to something that does not exist (metadata inconsistent).
    Broken(String),
}

#[derive(Debug, Clone)]
pub struct LvInfo {
    pub name: String,
    pub state: LvState,
    pub node: Option<NodeId>,
    /// Planned and activated, but its content is not read in user space (a thin LV, a
    /// snapshot, a writeback cache): why.
    pub unreadable: Option<String>,
}

#[derive(Debug, Clone)]
pub struct VolGroup {
    pub key: String,
    pub name: String,
    pub id: LvmId,
    pub vg: Vg,
    pub pvs: Vec<VgPv>,
    pub lvs: Vec<LvInfo>,
    pub access: Access,
    pub problems: Vec<String>,
    /// Thin pools by name: their metadata superblock as read from `_tmeta` (read only while
    /// the pool is inactive), or why it could not be read.
    pub thin_meta: Vec<(String, Result<ThinSuper, String>)>,
}

impl VolGroup {
    pub fn pv_node(&self, key: &str) -> Option<NodeId> {
        self.pvs.iter().find(|p| p.key == key).and_then(|p| p.node)
    }
    pub fn missing_pvs(&self) -> Vec<&VgPv> {
        self.pvs
            .iter()
            .filter(|p| p.node.is_none() && p.on_own_lv.is_none())
            .collect()
    }
    pub fn lv_info(&self, name: &str) -> Option<&LvInfo> {
        self.lvs.iter().find(|l| l.name == name)
    }
}

/// "lv:<vgid>/<lvid>[-layer]" from a DM UUID "LVM-<vgid><lvid>[-layer]".
pub fn key_from_dm_uuid(uuid: &str) -> Option<String> {
    let rest = uuid.strip_prefix("LVM-")?;
    let ids = rest.get(..64)?;
    let suffix = rest.get(64..).unwrap_or("");
    Some(format!("lv:{}/{}{}", &ids[..32], &ids[32..], suffix))
}

pub fn lv_key(vg: &LvmId, lv: &LvmId) -> String {
    format!("lv:{}/{}", vg.as_str(), lv.as_str())
}

/// Regroups every PV in the graph; VG indices stay stable across rounds.
pub fn group(g: &mut Graph) {
    // Every PV label seen: node, pv id, and the metadata copy it carries (if any).
    let mut labels: Vec<(NodeId, LvmId)> = Vec::new();
    let mut copies: BTreeMap<String, Vec<(NodeId, Vg, u32, u64)>> = BTreeMap::new();
    for (id, n) in g.nodes.iter().enumerate() {
        if let Content::LvmPv(c) = &n.content {
            labels.push((id, c.label.pv_id.clone()));
            if let Some((vg, csum, size)) = &c.metadata {
                copies.entry(vg.id.as_str().to_string()).or_default().push((
                    id,
                    vg.clone(),
                    *csum,
                    *size,
                ));
            }
        }
    }
    for (vgid, cs) in copies {
        let newest = cs.iter().map(|c| c.1.seqno).max().unwrap_or(0);
        let best: Vec<&(NodeId, Vg, u32, u64)> =
            cs.iter().filter(|c| c.1.seqno == newest).collect();
        let vg = best[0].1.clone();
        let mut problems = Vec::new();
        let mut access = Access::Ok;
        if best.iter().any(|c| c.2 != best[0].2 || c.3 != best[0].3) {
            let names: Vec<String> = best.iter().map(|c| g.nodes[c.0].name.clone()).collect();
            access = Access::Inconsistent(format!(
                "metadata copies with seqno {newest} differ between {}; run vgck on the booted system",
                names.join(", ")
            ));
        }
        for c in cs.iter().filter(|c| c.1.seqno < newest) {
            problems.push(format!(
                "inconsistent metadata: {} holds seqno {}, newest is {newest}; using the newest",
                g.nodes[c.0].name, c.1.seqno
            ));
        }
        // PVs of the newest copy → devices, by PV id.
        let mut pvs = Vec::new();
        for pv in &vg.pvs {
            let found: Vec<NodeId> = labels
                .iter()
                .filter(|(_, id)| *id == pv.id)
                .map(|(n, _)| *n)
                .collect();
            let node = match found.as_slice() {
                [] => None,
                [one] => Some(*one),
                many => {
                    let names: Vec<String> =
                        many.iter().map(|&n| g.nodes[n].name.clone()).collect();
                    let choose: Vec<String> = names
                        .iter()
                        .map(|n| format!("--exclude /dev/{n}"))
                        .collect();
                    access = Access::Inconsistent(format!(
                        "duplicate PV {} on {}: not guessing which is real; exclude all but one ({}, or an evms.conf exclude)",
                        pv.id,
                        names.join(" and "),
                        choose.join(" or ")
                    ));
                    None
                }
            };
            if found.is_empty() {
                problems.push(format!(
                    "PV {} ({}) is missing{}",
                    pv.key,
                    pv.id,
                    pv.device_hint
                        .as_deref()
                        .map(|d| format!(" (last seen as {d})"))
                        .unwrap_or_default()
                ));
            }
            // A PV inside one of this VG's own LVs: lvm2 never sees it (it does not scan LVs
            // unless scan_lvs is set, and vgextend refuses such a PV); we do read LVs, and
            // stop here so that the VG is not stacked on itself.
            let on_own_lv = node.and_then(|n| own_lv_under(g, n, &vg));
            if let Some(lv) = &on_own_lv {
                problems.push(format!(
                    "PV {} ({}) lies on {}/{lv}, an LV of the same VG: the VG would be built on itself; not used",
                    pv.key, pv.id, vg.name
                ));
            }
            pvs.push(VgPv {
                key: pv.key.clone(),
                id: pv.id.clone(),
                node: if on_own_lv.is_some() { None } else { node },
                pe_start: pv.pe_start,
                on_own_lv,
            });
        }
        // Devices claiming this VG with an id the newest copy does not list are outdated.
        for c in &cs {
            if let Content::LvmPv(claim) = &g.nodes[c.0].content {
                if !vg.pvs.iter().any(|p| p.id == claim.label.pv_id) {
                    problems.push(format!(
                        "{}: outdated PV of {} (not in the newest metadata); ignored",
                        g.nodes[c.0].name, vg.name
                    ));
                }
            }
        }
        if access == Access::Ok {
            access = access_of(&vg, g.settings.system_id.as_deref());
        }
        let idx = match g.vgs.iter().position(|v| v.id.as_str() == vgid) {
            Some(i) => i,
            None => {
                g.vgs.push(VolGroup {
                    key: format!("vg:{vgid}"),
                    name: vg.name.clone(),
                    id: vg.id.clone(),
                    vg: vg.clone(),
                    pvs: vec![],
                    lvs: vec![],
                    access: Access::Ok,
                    problems: vec![],
                    thin_meta: vec![],
                });
                g.vgs.len() - 1
            }
        };
        let v = &mut g.vgs[idx];
        v.name = vg.name.clone();
        v.vg = vg;
        v.pvs = pvs;
        v.access = access;
        v.problems = problems;
        evaluate_lvs(g, idx);
    }
}

/// The LV of `vg` that node `id` is, or is built on (through partitions, arrays, other LVs),
/// by the LV ids in the nodes' keys ("lv:<vg id>/<lv id>").
fn own_lv_under(g: &Graph, id: NodeId, vg: &Vg) -> Option<String> {
    let prefix = format!("lv:{}/", vg.id.as_str());
    std::iter::once(id)
        .chain(g.ancestors(id))
        .find_map(|n| {
            let lvid = g.nodes[n].key.strip_prefix(&prefix)?;
            let lvid = lvid.get(..32).unwrap_or(lvid);
            vg.lvs.iter().find(|l| l.id.as_str() == lvid)
        })
        .map(|l| l.name.clone())
}

/// The first rule that refuses the VG, in lvm2 2.03.16's order (`vg_read`: lock type, system
/// ID, clustered, exported), so the reason given is the one lvm2 gives.
fn access_of(vg: &Vg, local_system_id: Option<&str>) -> Access {
    use crate::formats::lvm::vg::Flags;
    // `vg_is_shared`/`is_lockd_type`: dlm, sanlock and idm need lvmlockd; "clvm" comes with
    // the CLUSTERED flag, "none" is local.
    if let Some(lt) = vg
        .lock_type
        .as_deref()
        .filter(|l| matches!(*l, "dlm" | "sanlock" | "idm"))
    {
        return Access::Shared(lt.to_string());
    }
    if let Some(sid) = vg.system_id.as_deref().filter(|s| !s.is_empty()) {
        if local_system_id != Some(sid) {
            return Access::Foreign {
                system_id: sid.to_string(),
            };
        }
    }
    if vg.status.contains(Flags::CLUSTERED) {
        return Access::Clustered;
    }
    if vg.status.contains(Flags::EXPORTED) {
        return Access::Exported;
    }
    Access::Ok
}

/// PV keys an LV's data lives on, following sub-LVs (bounded by the LV count: a cycle of LVs
/// referring to each other cannot loop).
pub fn lv_pvs(vg: &Vg, lv: &Lv) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut stack = vec![lv.name.clone()];
    let mut seen: Vec<String> = Vec::new();
    while let Some(name) = stack.pop() {
        if seen.contains(&name) {
            continue;
        }
        if seen.len() > vg.lvs.len() {
            return Err("LV references form a cycle".into());
        }
        seen.push(name.clone());
        let l = vg
            .lv(&name)
            .ok_or_else(|| format!("refers to LV {name}, which does not exist"))?;
        for seg in &l.segments {
            for r in seg.kind.references() {
                match r {
                    SegRef::Pv(k) => {
                        if !out.contains(&k) {
                            out.push(k)
                        }
                    }
                    SegRef::Lv(n) => stack.push(n),
                }
            }
        }
    }
    Ok(out)
}

/// Whether the segments can be planned (linear, striped, thin, snapshot, cache, writecache,
/// error, zero), for the LV and every LV its device is built from; the first segment type
/// that cannot be, by name.
fn unsupported_segtype(vg: &Vg, lv: &Lv) -> Option<String> {
    if vg.extent_size == 0 {
        return Some("empty".to_string());
    }
    let mut stack = vec![lv.name.as_str()];
    let mut seen: Vec<&str> = Vec::new();
    while let Some(name) = stack.pop() {
        // Bounded: each LV once (the metadata reader refused reference cycles).
        if seen.contains(&name) || seen.len() > vg.lvs.len() {
            continue;
        }
        seen.push(name);
        let Some(l) = vg.lv(name) else { continue };
        if l.segments.is_empty() {
            return Some("empty".to_string());
        }
        for s in &l.segments {
            let ok = match &s.kind {
                SegKind::Striped(st) => st.areas.iter().all(|a| matches!(a, Area::Pv { .. })),
                SegKind::ThinPool(_)
                | SegKind::Thin(_)
                | SegKind::Snapshot(_)
                | SegKind::Cache(_)
                | SegKind::CachePool(_)
                | SegKind::Writecache(_)
                | SegKind::Error
                | SegKind::Zero => true,
                _ => false,
            };
            if !ok {
                return Some(s.type_name.clone());
            }
        }
        stack.extend(device_deps(vg, l));
    }
    None
}

/// LVs whose devices come up with `lv`'s (lvm2 `_add_new_lv_to_dtree`): what its segments
/// are built from, and for a snapshot's COW store the origin (the COW is activated with its
/// origin), for an origin its snapshots' COW stores.
pub fn device_deps<'a>(vg: &'a Vg, lv: &Lv) -> Vec<&'a str> {
    let mut out = Vec::new();
    for s in &lv.segments {
        for n in s.kind.built_from() {
            if let Some(l) = vg.lv(&n) {
                out.push(l.name.as_str());
            }
        }
    }
    let snaps = vg.links.cow(&lv.name).into_iter();
    for i in snaps.chain(vg.links.snapshots(&lv.name).iter().copied()) {
        let Some(l) = vg.lvs.get(i) else { continue };
        out.push(l.name.as_str());
        for s in &l.segments {
            if let SegKind::Snapshot(sn) = &s.kind {
                for n in [&sn.origin, &sn.cow_store] {
                    if let Some(x) = vg.lv(n) {
                        out.push(x.name.as_str());
                    }
                }
            }
        }
    }
    out
}

/// The text for an LV whose segment type cannot be activated.
pub fn unsupported_text(segtype: &str) -> String {
    match segtype {
        "vdo" | "vdo-pool" => format!(
            "unsupported: {segtype} needs kvdo (the kernel's dm-vdo target, not in Linux 6.1; \
             lvm2 cannot activate it without it either)"
        ),
        _ => format!("unsupported yet: {segtype}"),
    }
}

/// Why an activatable LV's content is not read in user space, if it is not; `None` when its
/// bytes are its segments' (or, for a writethrough/passthrough cache, its origin's).
fn not_readable(vg: &Vg, lv: &Lv) -> Option<String> {
    let snaps = vg.links.cow(&lv.name).into_iter();
    for i in snaps.chain(vg.links.snapshots(&lv.name).iter().copied()) {
        let Some(l) = vg.lvs.get(i) else { continue };
        for s in &l.segments {
            if let SegKind::Snapshot(sn) = &s.kind {
                if sn.cow_store == lv.name {
                    return Some(format!(
                        "a snapshot of {}: its origin plus the COW exception store; not read in user space",
                        sn.origin
                    ));
                }
                if sn.origin == lv.name && sn.merging {
                    return Some(format!(
                        "snapshot {} is merging into it: its origin plus that COW store until the merge ends; not read in user space",
                        sn.cow_store
                    ));
                }
            }
        }
    }
    for s in &lv.segments {
        match &s.kind {
            SegKind::Thin(_) => {
                return Some(
                    "a thin LV: its blocks are mapped by the pool's metadata b-tree; not read in user space"
                        .into(),
                )
            }
            SegKind::ThinPool(_) => {
                return Some("a thin pool: it holds thin LVs, no data of its own".into())
            }
            SegKind::Cache(c) => {
                let mode = c.params.cache_mode.clone().or_else(|| match vg.lv(&c.pool) {
                    Some(p) => p.segments.iter().find_map(|ps| match &ps.kind {
                        SegKind::CachePool(cp) => cp.params.cache_mode.clone(),
                        _ => None,
                    }),
                    None => None,
                });
                if mode.as_deref() == Some("writeback") {
                    return Some(
                        "a writeback cache: blocks may be dirty in the cache; not read in user space"
                            .into(),
                    );
                }
            }
            SegKind::Writecache(_) => {
                return Some(
                    "a writecache: blocks may be dirty in the cache; not read in user space".into(),
                )
            }
            SegKind::Error | SegKind::Zero => {
                return Some(format!("{} segment: nothing on disk to read", s.type_name))
            }
            _ => {}
        }
    }
    None
}

/// Block 0 of every inactive thin pool's metadata LV (`_tmeta`), read through its PVs.
fn read_thin_meta(g: &Graph, idx: usize) -> Vec<(String, Result<ThinSuper, String>)> {
    let v = &g.vgs[idx];
    let mut out = Vec::new();
    for lv in &v.vg.lvs {
        let Some(pool) = lv.segments.iter().find_map(|s| match &s.kind {
            SegKind::ThinPool(p) => Some(p),
            _ => None,
        }) else {
            continue;
        };
        let Some(meta) = v.vg.lv(&pool.metadata) else {
            continue;
        };
        let tpool = format!("{}-tpool", lv_key(&v.id, &lv.id));
        let active = |k: &str| g.by_key(k).is_some_and(|n| g.nodes[n].kernel.is_some());
        if active(&tpool) || active(&lv_key(&v.id, &lv.id)) {
            // The kernel owns the metadata now; nothing is planned for it.
            continue;
        }
        let r = lv_layout(g, idx, meta).and_then(|layout| {
            let mut b = vec![0u8; thin::BLOCK];
            crate::source::layout::Mapped::new(layout, 512)
                .read_exact_at(0, &mut b)
                .map_err(|e| format!("reading {}: {e}", meta.name))?;
            thin::parse(&b).map_err(|e| format!("{}/{}: {e}", v.name, meta.name))
        });
        out.push((lv.name.clone(), r));
    }
    out
}

fn evaluate_lvs(g: &mut Graph, idx: usize) {
    let vg = g.vgs[idx].vg.clone();
    let mut infos = Vec::new();
    for lv in &vg.lvs {
        let state = match lv_pvs(&vg, lv) {
            Err(e) => LvState::Broken(e),
            Ok(keys) => {
                let own = keys.iter().find_map(|k| {
                    let p = g.vgs[idx].pvs.iter().find(|p| &p.key == k)?;
                    Some((k, p.on_own_lv.as_ref()?))
                });
                let missing: Vec<String> = keys
                    .iter()
                    .filter(|k| g.vgs[idx].pv_node(k).is_none())
                    .cloned()
                    .collect();
                if let Some((k, on)) = own {
                    LvState::Broken(format!(
                        "its PV {k} lies on {}/{on}, an LV of the same VG (the VG would be built on itself)",
                        vg.name
                    ))
                } else if !missing.is_empty() {
                    LvState::Partial { missing }
                } else if let Some(segtype) = unsupported_segtype(&vg, lv) {
                    LvState::Unsupported { segtype }
                } else {
                    LvState::Ok
                }
            }
        };
        let node = g.vgs[idx]
            .lvs
            .iter()
            .find(|l| l.name == lv.name)
            .and_then(|l| l.node);
        let unreadable = (state == LvState::Ok)
            .then(|| not_readable(&vg, lv))
            .flatten();
        infos.push(LvInfo {
            name: lv.name.clone(),
            state,
            node,
            unreadable,
        });
    }
    g.vgs[idx].lvs = infos;
    g.vgs[idx].thin_meta = read_thin_meta(g, idx);
    // Objects for usable top-level LVs: the kernel's device when active, else read in user space.
    if g.vgs[idx].access != Access::Ok && !matches!(g.vgs[idx].access, Access::Foreign { .. }) {
        // Inconsistent/exported/shared VGs are not even read through: nothing to stack on.
        if matches!(g.vgs[idx].access, Access::Inconsistent(_)) {
            return;
        }
    }
    for i in 0..g.vgs[idx].lvs.len() {
        let name = g.vgs[idx].lvs[i].name.clone();
        let Some(lv) = vg.lv(&name) else { continue };
        let key = lv_key(&vg.id, &lv.id);
        let parents: Vec<NodeId> = lv_pvs(&vg, lv)
            .unwrap_or_default()
            .iter()
            .filter_map(|k| g.vgs[idx].pv_node(k))
            .collect();
        if let Some(id) = g.by_key(&key) {
            // Active in the kernel (keyed by its DM UUID) or added in an earlier round.
            let n = &mut g.nodes[id];
            n.kind = NodeKind::Lv {
                vg: idx,
                lv: name.clone(),
            };
            if n.parents.is_empty() {
                n.parents = parents;
            }
            n.name = format!("{}/{}", vg.name, name);
            g.vgs[idx].lvs[i].node = Some(id);
            continue;
        }
        if !lv.visible {
            continue;
        }
        if let LvState::Partial { .. } = g.vgs[idx].lvs[i].state {
            // No bytes to read, but --partial may still activate it (missing areas → error).
            let disp = format!("{}/{}", vg.name, name);
            let size = lv
                .segments
                .iter()
                .fold(0u64, |a, s| a.saturating_add(s.extent_count))
                .saturating_mul(vg.extent_size)
                .saturating_mul(512);
            if let Some((id, _)) = g.add_unreadable(
                key,
                disp,
                NodeKind::Lv {
                    vg: idx,
                    lv: name.clone(),
                },
                parents,
                size,
            ) {
                g.vgs[idx].lvs[i].node = Some(id);
            }
            continue;
        }
        if g.vgs[idx].lvs[i].state != LvState::Ok {
            continue;
        }
        if g.vgs[idx].lvs[i].unreadable.is_some() {
            // Planned all the same; scan says why there is nothing to show inside.
            let disp = format!("{}/{}", vg.name, name);
            let size = vg.lv_sectors(lv).saturating_mul(512);
            let kind = NodeKind::Lv {
                vg: idx,
                lv: name.clone(),
            };
            if let Some((id, _)) = g.add_unreadable(key, disp, kind, parents, size) {
                g.vgs[idx].lvs[i].node = Some(id);
            }
            continue;
        }
        match lv_layout(g, idx, lv) {
            Ok(layout) => {
                let disp = format!("{}/{}", vg.name, name);
                if let Some((id, _)) = g.add_mapped(
                    key,
                    disp,
                    NodeKind::Lv {
                        vg: idx,
                        lv: name.clone(),
                    },
                    parents,
                    layout,
                ) {
                    g.vgs[idx].lvs[i].node = Some(id);
                }
            }
            Err(e) => {
                g.vgs[idx].lvs[i].state = LvState::Broken(e);
            }
        }
    }
}

/// The LV's bytes as a layout over its PVs: linear and striped segments, and a
/// writethrough/passthrough cache read as its origin (the cache holds no block the origin
/// lacks).
fn lv_layout(g: &Graph, idx: usize, lv: &Lv) -> Result<Layout, String> {
    if let [seg] = lv.segments.as_slice() {
        if let SegKind::Cache(c) = &seg.kind {
            let origin = g.vgs[idx]
                .vg
                .lv(&c.origin)
                .ok_or_else(|| format!("cache origin {} does not exist", c.origin))?;
            if origin
                .segments
                .iter()
                .any(|s| matches!(s.kind, SegKind::Cache(_)))
            {
                return Err("a cache on a cache cannot be read in user space".into());
            }
            return lv_layout(g, idx, origin);
        }
    }
    striped_layout(g, idx, lv)
}

fn striped_layout(g: &Graph, idx: usize, lv: &Lv) -> Result<Layout, String> {
    let v = &g.vgs[idx];
    let ext =
        v.vg.extent_size
            .checked_mul(512)
            .ok_or("extent size overflows")?;
    let mut parts = Vec::new();
    for seg in &lv.segments {
        let SegKind::Striped(striped) = &seg.kind else {
            return Err(format!(
                "segment type {} cannot be read in user space yet",
                seg.type_name
            ));
        };
        let n = u64::try_from(striped.areas.len()).map_err(|_| "too many stripes")?;
        if n == 0 || seg.extent_count % n != 0 {
            return Err(format!(
                "{} extents do not divide into {n} stripes",
                seg.extent_count
            ));
        }
        let per = (seg.extent_count / n)
            .checked_mul(ext)
            .ok_or("segment size overflows")?;
        let mut stripes = Vec::new();
        for a in &striped.areas {
            let Area::Pv {
                pv_key,
                start_extent,
            } = a
            else {
                return Err("striped segment on an LV cannot be read in user space yet".into());
            };
            let pv = v
                .pvs
                .iter()
                .find(|p| &p.key == pv_key)
                .ok_or_else(|| format!("unknown PV {pv_key}"))?;
            let node = pv.node.ok_or_else(|| format!("PV {pv_key} is missing"))?;
            let src = g.nodes[node]
                .reader()
                .cloned()
                .ok_or_else(|| format!("PV {pv_key} cannot be read"))?;
            let offset = pv
                .pe_start
                .checked_add(
                    start_extent
                        .checked_mul(v.vg.extent_size)
                        .ok_or("extent offset overflows")?,
                )
                .and_then(|s| s.checked_mul(512))
                .ok_or("extent offset overflows")?;
            if offset
                .checked_add(per)
                .is_none_or(|e| e > g.nodes[node].size)
            {
                return Err(format!(
                    "extents on PV {pv_key} lie beyond the end of {}",
                    g.nodes[node].name
                ));
            }
            stripes.push(Layout::Slice {
                src,
                offset,
                len: per,
            });
        }
        if stripes.len() == 1 {
            parts.push(stripes.pop().ok_or("no stripe")?);
        } else {
            let chunk = striped
                .stripe_size
                .ok_or("striped segment without stripe_size")?
                .checked_mul(512)
                .ok_or("stripe size overflows")?;
            parts.push(Layout::Striped { chunk, stripes });
        }
    }
    Ok(if parts.len() == 1 {
        parts.pop().ok_or("no segment")?
    } else {
        Layout::Concat(parts)
    })
}

#[cfg(test)]
mod tests {
    //! VGs of tests/vm/scenarios/lvmfaults.sh as lvm2 2.03.16 wrote them
    //! (tests/fixtures/faults/lvmfaults): `two` on vda and vdb, `loop` on vdf with a PV inside
    //! its own LV `outer`.
    use super::*;
    use crate::engine::{fixtures, Graph};

    fn vg<'a>(g: &'a Graph, name: &str) -> &'a VolGroup {
        g.vgs.iter().find(|v| v.name == name).unwrap()
    }

    /// The PV made on loop/outer is found once outer is read, and is refused: LVs on it are
    /// not activated (not even with --partial), the rest of the VG is.
    #[test]
    fn vg_on_its_own_lv() {
        let g = fixtures::lvmfaults(&["vdf"], &[]);
        let v = vg(&g, "loop");
        let pv1 = v.pvs.iter().find(|p| p.key == "pv1").unwrap();
        assert_eq!(pv1.on_own_lv.as_deref(), Some("outer"));
        assert_eq!(pv1.node, None);
        assert!(v.missing_pvs().is_empty());
        assert_eq!(
            v.lv_info("inner").unwrap().state,
            LvState::Broken(
                "its PV pv1 lies on loop/outer, an LV of the same VG (the VG would be built on itself)"
                    .into()
            )
        );
        assert_eq!(v.lv_info("outer").unwrap().state, LvState::Ok);
        assert_eq!(
            v.problems,
            ["PV pv1 (684617-da16-250a-0a46-621f-73c0-aede6f) lies on loop/outer, an LV of the same VG: the VG would be built on itself; not used"]
        );
    }

    /// vda cloned onto a second disk: the VG is refused rather than read from a guess, the
    /// message names both devices and how to choose; the device filter makes the choice.
    #[test]
    fn cloned_pv_needs_a_choice() {
        let devs = |ex: &[&str]| {
            fixtures::graph(
                vec![
                    ("vda", fixtures::disk("lvmfaults", "vda")),
                    ("vdb", fixtures::disk("lvmfaults", "vdb")),
                    ("vdc", fixtures::disk("lvmfaults", "vda")),
                ],
                ex,
            )
        };
        let g = devs(&[]);
        let want = "duplicate PV 52d30b-6ccd-4acd-f80d-458e-0978-c6dcf7 on vda and vdc: not guessing which is real; exclude all but one (--exclude /dev/vda or --exclude /dev/vdc, or an evms.conf exclude)";
        assert_eq!(vg(&g, "two").access, Access::Inconsistent(want.into()));
        let g = devs(&["/dev/vdc"]);
        assert_eq!(vg(&g, "two").access, Access::Ok);
        assert!(vg(&g, "two").lvs.iter().all(|l| l.state == LvState::Ok));
        let g = devs(&["vda"]);
        assert_eq!(vg(&g, "two").access, Access::Ok);
        assert_eq!(vg(&g, "two").pvs[0].node, g.by_name("vdc"));
    }

    /// VDO LVs cannot be activated without kvdo: said so, for the LV and for what uses it.
    /// (No lvm2-written VDO fixture exists: Debian's 6.1 kernel has no kvdo. The segtypes VG's
    /// zero and error LVs become a vdo-pool and a vdo LV on it, with the keys lvm2's
    /// `lib/vdo/vdo.c` writes.)
    #[test]
    fn vdo_needs_kvdo() {
        use crate::formats::lvm::{fixtures, mda, text};
        use crate::source::ReadAt;
        let d = fixtures::load("segtypes").disk("vda");
        let mut b = [0u8; 512];
        d.read_exact_at(4096, &mut b).unwrap();
        let h = mda::parse_mda_header(&b, 4096).unwrap();
        let mut t = Vec::new();
        for (off, len) in mda::text_pieces(&h).unwrap() {
            let mut v = vec![0u8; usize::try_from(len).unwrap()];
            d.read_exact_at(off, &mut v).unwrap();
            t.extend(v);
        }
        t.pop();
        let t = String::from_utf8(t).unwrap();
        let t = t
            .replacen(
                "type = \"zero\"",
                "type = \"vdo-pool\"\ndata = \"extorig\"\nheader_size = 512\nvirtual_extents = 4",
                1,
            )
            .replacen(
                "type = \"error\"",
                "type = \"vdo\"\nvdo_pool = \"zer\"\nvdo_offset = 0",
                1,
            );
        let vg = Vg::from_text(&text::parse(t.as_bytes()).unwrap()).unwrap();
        let err = vg.lv("err").unwrap();
        let seg = unsupported_segtype(&vg, err).unwrap();
        assert_eq!(seg, "vdo");
        assert_eq!(
            unsupported_text(&seg),
            "unsupported: vdo needs kvdo (the kernel's dm-vdo target, not in Linux 6.1; lvm2 cannot activate it without it either)"
        );
        assert_eq!(
            unsupported_segtype(&vg, vg.lv("zer").unwrap()).unwrap(),
            "vdo-pool"
        );
        assert_eq!(unsupported_text("raid1"), "unsupported yet: raid1");
        // Thin, snapshot and cache LVs of the same VG are supported.
        for lv in [
            "thin1", "snap", "cached", "cached2", "wcached", "origin", "extthin",
        ] {
            assert_eq!(unsupported_segtype(&vg, vg.lv(lv).unwrap()), None, "{lv}");
        }
    }

    /// A missing PV is named with its id and last device, as lvm2 does.
    #[test]
    fn missing_pv_is_named() {
        let g = fixtures::lvmfaults(&["vda"], &[]);
        let v = vg(&g, "two");
        assert_eq!(
            v.problems,
            ["PV pv1 (246629-61ba-2a5a-4a4d-23e7-418b-0fe6fc) is missing (last seen as /dev/vdb)"]
        );
        assert_eq!(v.missing_pvs().len(), 1);
        assert_eq!(v.lv_info("a").unwrap().state, LvState::Ok);
        assert_eq!(
            v.lv_info("ab").unwrap().state,
            LvState::Partial {
                missing: vec!["pv1".into()]
            }
        );
    }
}
