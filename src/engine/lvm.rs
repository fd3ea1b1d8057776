//! LVM volume groups from PV labels and metadata, choosing as lvm2 does (formats.md §1.10):
//! PVs grouped by VG id, the copy with the highest seqno wins (equal seqno with different text
//! is a mismatch we refuse), PVs listed there but not seen are missing, a device whose PV id the
//! newest copy does not list is outdated, the same PV id on two devices is a duplicate we never
//! guess about. Access rules: exported, clustered, shared/lock_type, foreign system_id.

use super::{Graph, NodeId, NodeKind};
use crate::formats::lvm::vg::{Area, Lv, SegKind, Vg};
use crate::ids::LvmId;
use crate::probe::Content;
use crate::source::layout::Layout;
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
                Some((vg, _, _)) => Arc::new(vg.clone()),
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

fn access_of(vg: &Vg, local_system_id: Option<&str>) -> Access {
    use crate::formats::lvm::vg::Flags;
    if vg.status.contains(Flags::EXPORTED) {
        return Access::Exported;
    }
    if vg.status.contains(Flags::CLUSTERED) {
        return Access::Clustered;
    }
    if let Some(lt) = vg.lock_type.as_deref().filter(|l| *l != "none") {
        return Access::Shared(lt.to_string());
    }
    if let Some(sid) = vg.system_id.as_deref().filter(|s| !s.is_empty()) {
        if local_system_id != Some(sid) {
            return Access::Foreign {
                system_id: sid.to_string(),
            };
        }
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

/// A reference from a segment to a PV or an LV.
pub enum SegRef {
    Pv(String),
    Lv(String),
}

impl SegKind {
    /// Every PV and LV this segment refers to.
    pub fn references(&self) -> Vec<SegRef> {
        let area = |a: &Area| match a {
            Area::Pv { pv_key, .. } => SegRef::Pv(pv_key.clone()),
            Area::Lv { lv, .. } => SegRef::Lv(lv.clone()),
        };
        let lvs = |names: Vec<&String>| {
            names
                .into_iter()
                .map(|n| SegRef::Lv(n.clone()))
                .collect::<Vec<_>>()
        };
        match self {
            SegKind::Striped { areas, .. } => areas.iter().map(area).collect(),
            SegKind::Mirror { images, log, .. } => {
                let mut v: Vec<SegRef> = images.iter().map(area).collect();
                v.extend(lvs(log.iter().collect()));
                v
            }
            SegKind::Raid { metas, images, .. } | SegKind::Raid0 { metas, images, .. } => {
                lvs(metas.iter().flatten().chain(images.iter()).collect())
            }
            SegKind::ThinPool { metadata, pool, .. } => lvs(vec![metadata, pool]),
            SegKind::Thin {
                pool,
                origin,
                external_origin,
                ..
            } => lvs(std::iter::once(pool)
                .chain(origin.iter())
                .chain(external_origin.iter())
                .collect()),
            SegKind::Snapshot {
                origin, cow_store, ..
            } => lvs(vec![origin, cow_store]),
            SegKind::Cache { pool, origin, .. } => lvs(vec![pool, origin]),
            SegKind::CachePool { data, metadata, .. } => lvs(vec![data, metadata]),
            SegKind::Writecache {
                origin, cachevol, ..
            } => lvs(vec![origin, cachevol]),
            SegKind::Integrity {
                origin, meta_dev, ..
            } => lvs(std::iter::once(origin).chain(meta_dev.iter()).collect()),
            SegKind::Vdo { pool, .. } => lvs(vec![pool]),
            SegKind::VdoPool { data, .. } => lvs(vec![data]),
            SegKind::Error | SegKind::Zero | SegKind::Unknown { .. } => vec![],
        }
    }
}

/// Whether the segments can be planned today (linear and striped; other types come with the
/// segment-types work and are reported "unsupported yet").
fn unsupported_segtype(vg: &Vg, lv: &Lv) -> Option<String> {
    lv.segments
        .iter()
        .find_map(|s| match &s.kind {
            SegKind::Striped { areas, .. }
                if areas.iter().all(|a| matches!(a, Area::Pv { .. })) =>
            {
                None
            }
            _ => Some(s.type_name.clone()),
        })
        .or_else(|| (lv.segments.is_empty() || vg.extent_size == 0).then(|| "empty".to_string()))
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
        infos.push(LvInfo {
            name: lv.name.clone(),
            state,
            node,
        });
    }
    g.vgs[idx].lvs = infos;
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

/// The LV's bytes as a layout over its PVs (linear and striped segments).
fn lv_layout(g: &Graph, idx: usize, lv: &Lv) -> Result<Layout, String> {
    let v = &g.vgs[idx];
    let ext =
        v.vg.extent_size
            .checked_mul(512)
            .ok_or("extent size overflows")?;
    let mut parts = Vec::new();
    for seg in &lv.segments {
        let SegKind::Striped { stripe_size, areas } = &seg.kind else {
            return Err(format!(
                "segment type {} cannot be read in user space yet",
                seg.type_name
            ));
        };
        let n = u64::try_from(areas.len()).map_err(|_| "too many stripes")?;
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
        for a in areas {
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
            let chunk = stripe_size
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
    use crate::plan::build::{build, Selection};
    use crate::plan::Step;

    fn vg<'a>(g: &'a Graph, name: &str) -> &'a VolGroup {
        g.vgs.iter().find(|v| v.name == name).unwrap()
    }

    fn created(g: &Graph, sel: &Selection) -> Vec<String> {
        build(g, sel)
            .steps
            .iter()
            .map(|s| match s {
                Step::CreateDm(d) => d.name.clone(),
                Step::AssembleMd(m) => m.devnm.clone(),
            })
            .collect()
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
        for partial in [false, true] {
            let sel = Selection {
                partial,
                ..Selection::default()
            };
            assert_eq!(created(&g, &sel), ["loop-outer"]);
            assert!(build(&g, &sel)
                .skipped
                .iter()
                .any(|s| s.volume == "loop/inner"
                    && s.reason
                        .starts_with("metadata problem: its PV pv1 lies on loop/outer")));
        }
    }

    /// vda cloned onto a second disk: the VG is not activated from a guess, the message names
    /// both devices and how to choose; the device filter makes the choice.
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
        assert!(created(&g, &Selection::default()).is_empty());
        let g = devs(&["/dev/vdc"]);
        assert_eq!(vg(&g, "two").access, Access::Ok);
        assert_eq!(
            created(&g, &Selection::default()),
            ["two-a", "two-b", "two-ab", "two-st"]
        );
        let g = devs(&["vda"]);
        assert_eq!(vg(&g, "two").access, Access::Ok);
        assert_eq!(vg(&g, "two").pvs[0].node, g.by_name("vdc"));
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
