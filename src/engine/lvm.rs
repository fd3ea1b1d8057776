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
use crate::source::layout::{Layout, Mapped, Src};
use crate::source::raid::{RaidGeom, RaidLevel};
use crate::source::ReadAt;
use std::collections::BTreeMap;
use std::sync::Arc;

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
    /// Shared: discovery regroups every round, and cloning a VG of 1000 LVs each time (three
    /// times a round) was a tenth of discovering it.
    pub vg: Arc<Vg>,
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
        // `lvs` follows the metadata's LV order (evaluate_lvs): the VG's index finds it.
        self.vg
            .lv_position(name)
            .and_then(|i| self.lvs.get(i))
            .filter(|l| l.name == name)
            .or_else(|| self.lvs.iter().find(|l| l.name == name))
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
    // Per VG id: (node, seqno, text checksum, text size) of each copy.
    let mut copies: BTreeMap<String, Vec<(NodeId, u64, u32, u64)>> = BTreeMap::new();
    for (id, n) in g.nodes.iter().enumerate() {
        if let Content::LvmPv(c) = &n.content {
            labels.push((id, c.label.pv_id.clone()));
            if let Some((vg, csum, size)) = &c.metadata {
                copies
                    .entry(vg.id.as_str().to_string())
                    .or_default()
                    .push((id, vg.seqno, *csum, *size));
            }
        }
    }
    for (vgid, cs) in copies {
        let newest = cs.iter().map(|c| c.1).max().unwrap_or(0);
        let best: Vec<&(NodeId, u64, u32, u64)> = cs.iter().filter(|c| c.1 == newest).collect();
        // The copy chosen in an earlier round, when it is still the newest one.
        let kept = g.vgs.iter().find(|v| {
            v.id.as_str() == vgid
                && v.vg.seqno == newest
                && (v.vg.checksum, v.vg.text_size) == (best[0].2, best[0].3)
        });
        let vg = match (kept, &g.nodes[best[0].0].content) {
            (Some(v), _) => v.vg.clone(),
            (None, Content::LvmPv(c)) => match &c.metadata {
                Some((vg, _, _)) => Arc::clone(vg),
                None => continue,
            },
            (None, _) => continue,
        };
        let mut problems = Vec::new();
        let mut access = Access::Ok;
        if best.iter().any(|c| c.2 != best[0].2 || c.3 != best[0].3) {
            let names: Vec<String> = best.iter().map(|c| g.nodes[c.0].name.clone()).collect();
            access = Access::Inconsistent(format!(
                "metadata copies with seqno {newest} differ between {}; run vgck on the booted system",
                names.join(", ")
            ));
        }
        for c in cs.iter().filter(|c| c.1 < newest) {
            problems.push(format!(
                "inconsistent metadata: {} holds seqno {}, newest is {newest}; using the newest",
                g.nodes[c.0].name, c.1
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
    // Short lists are searched; a set beside the list once it grows (an LV striped over 64
    // PVs asked the list 64 times per area). Asked twice per LV per grouping: the set and
    // the copies of names it took were a third of grouping 1000 linear LVs.
    const SEARCHED: usize = 8;
    let mut out: Vec<String> = Vec::new();
    let mut listed: std::collections::HashSet<String> = Default::default();
    let mut stack = vec![lv.name.clone()];
    let mut seen: Vec<String> = Vec::new();
    while let Some(name) = stack.pop() {
        if seen.contains(&name) {
            continue;
        }
        if seen.len() > vg.lvs.len() {
            return Err("LV references form a cycle".into());
        }
        let l = vg
            .lv(&name)
            .ok_or_else(|| format!("refers to LV {name}, which does not exist"))?;
        seen.push(name);
        for seg in &l.segments {
            for r in seg.kind.references() {
                match r {
                    SegRef::Pv(k) if out.len() < SEARCHED => {
                        if !out.contains(&k) {
                            out.push(k);
                        }
                    }
                    SegRef::Pv(k) => {
                        if listed.is_empty() {
                            listed.extend(out.iter().cloned());
                        }
                        if listed.insert(k.clone()) {
                            out.push(k);
                        }
                    }
                    SegRef::Lv(n) => stack.push(n),
                }
            }
        }
    }
    Ok(out)
}

/// Whether the segments can be planned (linear, striped, raid*, mirror, pvmove, thin,
/// snapshot, cache, writecache, error, zero), for the LV and every LV its device is built from; the first segment type
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
                // Areas on PVs or on other LVs (pvmove's layering); raid*, mirror and pvmove
                // over the sub-LVs they are built from.
                SegKind::Striped(_)
                | SegKind::Raid(_)
                | SegKind::Raid0(_)
                | SegKind::Mirror(_)
                | SegKind::ThinPool(_)
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
    for (pos, lv) in vg.lvs.iter().enumerate() {
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
        // The previous round's entry: at the same position unless the metadata changed.
        let old = &g.vgs[idx].lvs;
        let node = old
            .get(pos)
            .filter(|l| l.name == lv.name)
            .or_else(|| old.iter().find(|l| l.name == lv.name))
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
            let unread = n.reader().is_none() && n.kernel.is_none();
            g.vgs[idx].lvs[i].node = Some(id);
            // A RAID LV left unread in an earlier round: its reason again (each round
            // starts the VG's problems afresh).
            if unread && g.vgs[idx].lvs[i].state == LvState::Ok && is_raid(lv) {
                if let Err(e) = lv_layout(g, idx, lv) {
                    g.vgs[idx].problems.push(not_read(&vg, lv, &e));
                }
            }
            continue;
        }
        if !lv.visible {
            continue;
        }
        if let LvState::Partial { .. } = g.vgs[idx].lvs[i].state {
            let disp = format!("{}/{}", vg.name, name);
            // A RAID LV still holds its data on the images left (raid1, raid4/5/6 within
            // their parity, raid10 with a copy of each chunk): read it there.
            if is_raid(lv) {
                if let Ok(layout) = lv_layout(g, idx, lv) {
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
                    continue;
                }
            }
            // No bytes to read, but --partial may still activate it (missing areas → error).
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
            // The kernel maps a RAID LV whatever its images hold (a reshape half done, a
            // superblock this reader does not know): it is activated, only not read here.
            Err(e) if is_raid(lv) => {
                let disp = format!("{}/{}", vg.name, name);
                g.vgs[idx].problems.push(not_read(&vg, lv, &e));
                let size = vg.lv_sectors(lv).saturating_mul(512);
                let kind = NodeKind::Lv {
                    vg: idx,
                    lv: name.clone(),
                };
                if let Some((id, _)) = g.add_unreadable(key, disp, kind, parents, size) {
                    g.vgs[idx].lvs[i].node = Some(id);
                }
            }
            Err(e) => {
                g.vgs[idx].lvs[i].state = LvState::Broken(e);
            }
        }
    }
}

fn is_raid(lv: &Lv) -> bool {
    matches!(
        lv.segments.first().map(|s| &s.kind),
        Some(SegKind::Raid(_) | SegKind::Raid0(_))
    )
}

fn not_read(vg: &Vg, lv: &Lv, why: &str) -> String {
    format!("{}/{}: not read in user space: {why}", vg.name, lv.name)
}

/// The LV's bytes as a layout over its PVs, through the LVs it is built from; a
/// writethrough/passthrough cache is read as its origin (the cache holds no block the origin
/// lacks; writeback caches are not read, see `not_readable`).
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
            return LayoutCx { g, idx }.lv(origin, 0);
        }
    }
    LayoutCx { g, idx }.lv(lv, 0)
}

/// Sub-LVs nested deeper than this are not read (plan refuses them too).
const MAX_LAYOUT_DEPTH: usize = 16;

struct LayoutCx<'a> {
    g: &'a Graph,
    idx: usize,
}

impl LayoutCx<'_> {
    fn vgrp(&self) -> &VolGroup {
        &self.g.vgs[self.idx]
    }

    fn lbs(&self) -> u32 {
        self.vgrp()
            .pvs
            .iter()
            .filter_map(|p| p.node)
            .map(|n| self.g.nodes[n].lbs)
            .max()
            .unwrap_or(512)
    }

    fn sub(&self, name: &str, depth: usize) -> Result<(Layout, Src), String> {
        if depth >= MAX_LAYOUT_DEPTH {
            return Err(format!(
                "sub-LV {name} is nested more than {MAX_LAYOUT_DEPTH} LVs deep"
            ));
        }
        let l = self
            .vgrp()
            .vg
            .lv(name)
            .ok_or_else(|| format!("refers to LV {name}, which does not exist"))?;
        let layout = self.lv(l, depth + 1)?;
        let src: Src = Arc::new(Mapped::new(layout.clone(), self.lbs()));
        Ok((layout, src))
    }

    fn ext_bytes(&self) -> Result<u64, String> {
        self.vgrp()
            .vg
            .extent_size
            .checked_mul(512)
            .ok_or_else(|| "extent size overflows".to_string())
    }

    /// `len` bytes of an area starting at its first extent: a PV's extents or another LV's.
    fn area(&self, a: &Area, len: u64, depth: usize) -> Result<Layout, String> {
        let v = self.vgrp();
        let ext = self.ext_bytes()?;
        match a {
            Area::Pv {
                pv_key,
                start_extent,
            } => {
                let pv = v
                    .pvs
                    .iter()
                    .find(|p| &p.key == pv_key)
                    .ok_or_else(|| format!("unknown PV {pv_key}"))?;
                let node = pv.node.ok_or_else(|| format!("PV {pv_key} is missing"))?;
                let src = self.g.nodes[node]
                    .reader()
                    .cloned()
                    .ok_or_else(|| format!("PV {pv_key} cannot be read"))?;
                let offset = pv
                    .pe_start
                    .checked_mul(512)
                    .and_then(|p| start_extent.checked_mul(ext)?.checked_add(p))
                    .ok_or("extent offset overflows")?;
                if offset
                    .checked_add(len)
                    .is_none_or(|e| e > self.g.nodes[node].size)
                {
                    return Err(format!(
                        "extents on PV {pv_key} lie beyond the end of {}",
                        self.g.nodes[node].name
                    ));
                }
                Ok(Layout::Slice { src, offset, len })
            }
            Area::Lv {
                lv: name,
                start_extent,
            } => {
                let (layout, src) = self.sub(name, depth)?;
                let offset = start_extent
                    .checked_mul(ext)
                    .ok_or("extent offset overflows")?;
                if offset.checked_add(len).is_none_or(|e| e > layout.len()) {
                    return Err(format!("extents of LV {name} lie beyond its end"));
                }
                Ok(Layout::Slice { src, offset, len })
            }
        }
    }

    fn lv(&self, lv: &Lv, depth: usize) -> Result<Layout, String> {
        let ext = self.ext_bytes()?;
        let mut parts = Vec::new();
        for seg in &lv.segments {
            let seg_len = seg
                .extent_count
                .checked_mul(ext)
                .ok_or("segment size overflows")?;
            let part = match &seg.kind {
                SegKind::Striped(striped) => self.striped(striped, seg, depth)?,
                SegKind::Raid(r) => {
                    let level = raid_level(&r.level, r.data_copies)?;
                    self.raid(level, r.stripe_size, &r.metas, &r.images, seg_len, depth)?
                }
                SegKind::Raid0(r) => self.raid(
                    RaidLevel::Raid0,
                    r.stripe_size,
                    &r.metas,
                    &r.images,
                    seg_len,
                    depth,
                )?,
                SegKind::Mirror(m) => self.mirror(m, seg, seg_len, depth)?,
                _ => {
                    return Err(format!(
                        "segment type {} cannot be read in user space yet",
                        seg.type_name
                    ))
                }
            };
            parts.push(part);
        }
        Ok(if parts.len() == 1 {
            parts.pop().ok_or("no segment")?
        } else {
            Layout::Concat(parts)
        })
    }

    fn striped(
        &self,
        striped: &crate::formats::lvm::vg::Striped,
        seg: &crate::formats::lvm::vg::Segment,
        depth: usize,
    ) -> Result<Layout, String> {
        let ext = self.ext_bytes()?;
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
            stripes.push(self.area(a, per, depth)?);
        }
        Ok(if stripes.len() == 1 {
            stripes.pop().ok_or("no stripe")?
        } else {
            let chunk = striped
                .stripe_size
                .ok_or("striped segment without stripe_size")?
                .checked_mul(512)
                .ok_or("stripe size overflows")?;
            Layout::Striped { chunk, stripes }
        })
    }

    /// A legacy mirror reads from one leg: the first present one; pvmove's from the
    /// destination once the segment is copied, else from the source (as dm-mirror and lvm2's
    /// completed/disabled segments do).
    fn mirror(
        &self,
        m: &crate::formats::lvm::vg::Mirror,
        seg: &crate::formats::lvm::vg::Segment,
        len: u64,
        depth: usize,
    ) -> Result<Layout, String> {
        if let Some(moved) = m.extents_moved {
            let i = usize::from(u64::from(moved) == seg.extent_count && m.images.len() > 1);
            let a = m.images.get(i).ok_or("mirror segment without areas")?;
            return self.area(a, len, depth);
        }
        let mut last = Err("mirror segment without legs".to_string());
        for a in &m.images {
            last = self.area(a, len, depth);
            if last.is_ok() {
                break;
            }
        }
        last
    }

    /// dm-raid's data mapping: MD's for the same level and layout over the images, each
    /// from the data offset its metadata LV's superblock gives (0 without one). Images on
    /// missing PVs are missing members.
    fn raid(
        &self,
        level: RaidLevel,
        stripe_size: Option<u32>,
        metas: &[Option<String>],
        images: &[String],
        size: u64,
        depth: usize,
    ) -> Result<Layout, String> {
        let v = self.vgrp();
        let n = u64::try_from(images.len()).map_err(|_| "too many images")?;
        let data_disks = match level {
            RaidLevel::Raid1 => 1,
            RaidLevel::Raid0 | RaidLevel::Raid0AltMultizone => n,
            RaidLevel::Raid4 | RaidLevel::Raid5 { .. } => n.saturating_sub(1),
            RaidLevel::Raid6 { .. } => n.saturating_sub(2),
            RaidLevel::Raid10 { layout } => {
                let copies = u64::from(layout & 0xff).max(1);
                if n % copies != 0 {
                    return Err(format!(
                        "{n} RAID10 images do not hold {copies} copies evenly"
                    ));
                }
                n / copies
            }
        };
        if data_disks == 0 || size % data_disks != 0 {
            return Err(format!(
                "{size} bytes do not divide into {data_disks} data images"
            ));
        }
        let member_size = size / data_disks;
        // The data offset from the first readable superblock (all images carry the same).
        let mut data_offset = 0u64;
        for m in metas.iter().flatten() {
            let Ok((_, src)) = self.sub(m, depth) else {
                continue;
            };
            match crate::probe::lvm::raid_super(&format!("{}/{m}", v.name), &*src) {
                Ok(Some(sb)) if sb.reshaping => {
                    return Err("a reshape is in progress (two layouts at once)".into())
                }
                Ok(Some(sb)) => {
                    data_offset = sb
                        .data_offset
                        .checked_mul(512)
                        .ok_or("data offset overflows")?;
                    break;
                }
                Ok(None) => {}
                Err(e) => return Err(e.to_string()),
            }
        }
        let mut members = Vec::new();
        for name in images {
            members.push(match self.sub(name, depth) {
                Ok((layout, src)) => {
                    if data_offset
                        .checked_add(member_size)
                        .is_none_or(|e| e > layout.len())
                    {
                        return Err(format!(
                            "RAID image {name} is smaller than its data ({member_size} bytes from byte {data_offset})"
                        ));
                    }
                    Some(Layout::Slice {
                        src,
                        offset: data_offset,
                        len: member_size,
                    })
                }
                Err(_) => None,
            });
        }
        let missing = members.iter().filter(|m| m.is_none()).count();
        let tolerated = match level {
            RaidLevel::Raid1 => members.len().saturating_sub(1),
            RaidLevel::Raid4 | RaidLevel::Raid5 { .. } | RaidLevel::Raid6 { .. } => 1,
            RaidLevel::Raid10 { layout } => usize::try_from(layout & 0xff)
                .unwrap_or(1)
                .saturating_sub(1),
            RaidLevel::Raid0 | RaidLevel::Raid0AltMultizone => 0,
        };
        if missing > tolerated {
            return Err(format!(
                "{missing} of its {} images are on missing PVs",
                members.len()
            ));
        }
        let chunk = u64::from(stripe_size.unwrap_or(0))
            .checked_mul(512)
            .ok_or("stripe size overflows")?;
        Ok(Layout::Raid(Box::new(RaidGeom {
            level,
            chunk,
            members,
            member_size,
            size,
        })))
    }
}

/// The MD level and layout dm-raid runs an lvm2 RAID segment type as (`dm-raid.c`
/// `raid_types`): raid4 is RAID5 with parity on the first image, raid10 is near copies.
fn raid_level(segtype: &str, data_copies: u32) -> Result<RaidLevel, String> {
    // raid5.h ALGORITHM_* values.
    Ok(match segtype {
        "raid1" => RaidLevel::Raid1,
        "raid4" => RaidLevel::Raid5 { algorithm: 4 },
        "raid5_la" => RaidLevel::Raid5 { algorithm: 0 },
        "raid5_ra" => RaidLevel::Raid5 { algorithm: 1 },
        "raid5" | "raid5_ls" => RaidLevel::Raid5 { algorithm: 2 },
        "raid5_rs" => RaidLevel::Raid5 { algorithm: 3 },
        "raid5_n" => RaidLevel::Raid5 { algorithm: 5 },
        "raid6" | "raid6_zr" => RaidLevel::Raid6 { algorithm: 8 },
        "raid6_nr" => RaidLevel::Raid6 { algorithm: 9 },
        "raid6_nc" => RaidLevel::Raid6 { algorithm: 10 },
        "raid6_n_6" => RaidLevel::Raid6 { algorithm: 5 },
        "raid6_la_6" => RaidLevel::Raid6 { algorithm: 16 },
        "raid6_ra_6" => RaidLevel::Raid6 { algorithm: 17 },
        "raid6_ls_6" => RaidLevel::Raid6 { algorithm: 18 },
        "raid6_rs_6" => RaidLevel::Raid6 { algorithm: 19 },
        // raid10_format_to_md_layout: near copies, one far copy.
        "raid10" | "raid10_near" => RaidLevel::Raid10 {
            layout: (1 << 8) | data_copies.clamp(2, 255),
        },
        other => return Err(format!("RAID type {other} cannot be read in user space")),
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

    /// A RAID LV whose images this reader cannot map (here a dm-raid superblock saying a
    /// reshape is half done, written over lvraid's vgr/r5_rmeta_0 at vda sector 23552, the
    /// offset lvm2 loaded) is still activated, only not read in user space; the others are
    /// read.
    #[test]
    fn raid_lv_not_readable_is_still_planned() {
        use crate::formats::lvm::raid_sb;
        use crate::source::sparse::SparseDev;
        let disk = |n: &str| {
            SparseDev::parse(&fixtures::read(&format!("lvm-raid/lvraid/{n}.spr"))).unwrap()
        };
        let mut vda = disk("vda");
        let mut sb = [0u8; raid_sb::SIZE];
        sb[0..4].copy_from_slice(&raid_sb::MAGIC.to_le_bytes());
        sb[4] = 1; // v1.9.0 fields
        sb[0x3C] = 1; // reshape active
        vda.patch(23552 * 512, &sb);
        let names = ["vdb", "vdc", "vdd", "vde"];
        let mut devs = vec![("vda", vda)];
        devs.extend(names.iter().map(|&n| (n, disk(n))));
        let g = fixtures::graph(devs, &[]);
        let v = vg(&g, "vgr");
        assert_eq!(
            v.problems,
            ["vgr/r5: not read in user space: a reshape is in progress (two layouts at once)"]
        );
        let r5 = v.lv_info("r5").unwrap();
        assert_eq!(r5.state, LvState::Ok);
        assert!(g.node(r5.node.unwrap()).reader().is_none());
        let r4 = v.lv_info("r4").unwrap();
        assert!(g.node(r4.node.unwrap()).reader().is_some());
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
