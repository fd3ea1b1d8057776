//! LVs: the checks every LV passes (VG access, names, missing PVs, activation skip), then the
//! LV's devices. An LV that is one table over PVs (linear, striped, with the `--partial`
//! stand-ins: [`linear`]) is one step; any other (thin pools and thin LVs, snapshot origins
//! and COW stores, external origins, cache, writecache, error, zero) is planned by [`tree`]
//! as lvm2's deptree lays it out, with one file per family for its target line ([`thin`],
//! [`snapshot`], [`cache`], [`writecache`]). raid and mirror get theirs (`raid.rs`,
//! `mirror.rs`) when they are planned; until then the engine reports their LVs "unsupported
//! yet" and they never reach this module.

mod cache;
mod linear;
mod snapshot;
mod thin;
mod tree;
mod writecache;

use super::{DmStep, NodeStep, Selection, Step, TargetLine};
use crate::engine::lvm::{Access, LvState};
use crate::engine::{names, Graph, NodeId};
use crate::formats::lvm::vg::{Lv, SegKind, Segment};

/// The step(s) for the node `id` of LV `lv` in VG number `vg`: the LV's device, after the
/// devices its table needs.
pub(super) fn step(
    g: &Graph,
    id: NodeId,
    vg: usize,
    lv: &str,
    sel: &Selection,
    explicit: bool,
    planned: &[NodeId],
) -> NodeStep {
    let n = g.node(id);
    let v = &g.vgs[vg];
    if n.kernel.is_some() {
        return NodeStep::Active;
    }
    match &v.access {
        Access::Ok => {}
        Access::Foreign { system_id } => {
            return NodeStep::Skip(format!(
                "VG {} belongs to system_id {system_id}, not this host (lvm: foreign VG)",
                v.name
            ))
        }
        Access::Exported => {
            return NodeStep::Skip(format!("VG {} is exported (vgimport it first)", v.name))
        }
        Access::Clustered => {
            return NodeStep::Skip(format!(
                "VG {} is clustered (clvmd), skipped as lvm 2.03 does",
                v.name
            ))
        }
        Access::Shared(lt) => {
            return NodeStep::Skip(format!(
                "VG {} is shared (lock_type {lt}): lvmlockd is needed",
                v.name
            ))
        }
        Access::Inconsistent(why) => return NodeStep::Skip(format!("VG {}: {why}", v.name)),
    }
    let Some(l) = v.vg.lv(lv) else {
        return NodeStep::Nothing;
    };
    // The names become /dev/VG/LV, /dev/evms/lvm2/VG/LV and /dev/mapper/VG-LV.
    if let Some(why) = names::unsafe_vg_name(&v.name).or_else(|| names::unsafe_name("LV name", lv))
    {
        return NodeStep::Skip(why);
    }
    let dm = names::dm_name(&v.name, lv);
    if !crate::formats::lvm::names::fits_dm_name(&dm) {
        return NodeStep::Skip(format!(
            "its DM name {dm:?} is longer than the kernel's {} bytes; not activated",
            names::MAX_NAME
        ));
    }
    match v.lv_info(lv).map(|i| &i.state) {
        Some(LvState::Ok) => {}
        Some(LvState::Partial { missing }) if !sel.partial => {
            return NodeStep::Skip(format!(
                "uses missing PV(s) {}; activate with --partial",
                missing.join(", ")
            ))
        }
        Some(LvState::Partial { .. }) => {}
        Some(LvState::Unsupported { segtype }) => {
            return NodeStep::Skip(crate::engine::lvm::unsupported_text(segtype))
        }
        Some(LvState::Broken(e)) => return NodeStep::Skip(format!("metadata problem: {e}")),
        None => return NodeStep::Nothing,
    }
    // lvm skips these whether named or not (`lvchange -ay` needs -K too).
    let _ = explicit;
    if l.activation_skip && !sel.ignore_activation_skip {
        return NodeStep::Skip("activation skip flag set (lvm -K to override)".into());
    }
    if needs_tree(&v.vg, l) {
        return tree_steps(g, id, vg, l, planned);
    }
    match lv_table(g, vg, l, planned) {
        Ok((table, fillers)) => NodeStep::Steps(
            fillers
                .into_iter()
                .map(Step::CreateDm)
                .chain(std::iter::once(Step::CreateDm(DmStep {
                    key: n.key.clone(),
                    name: names::dm_name(&v.name, lv),
                    uuid: crate::formats::lvm::names::dm_uuid(&v.id, &l.id, None),
                    read_only: l.read_only,
                    table,
                    udev_flags: 0,
                    links: vec![
                        format!("{}/{}", v.name, lv),
                        format!("evms/lvm2/{}/{}", v.name, lv),
                    ],
                    volume: format!("{}/{}", v.name, lv),
                    visible: l.visible,
                    fixed_devno: None,
                })))
                .collect(),
        ),
        Err(e) => NodeStep::Skip(e),
    }
}

/// LVs whose devices are more than one table over PVs: other segment families, snapshot
/// origins and COW stores, external origins ([`tree`]).
fn needs_tree(vg: &crate::formats::lvm::vg::Vg, lv: &Lv) -> bool {
    !lv.segments
        .iter()
        .all(|s| matches!(s.kind, SegKind::Striped(_)))
        || !crate::engine::lvm::device_deps(vg, lv).is_empty()
        || vg.links.is_external_origin(&lv.name)
}

/// The devices of the LV of node `id` and below it, children first; a snapshot's COW LV
/// comes up through its origin (with all the origin's snapshots), as lvm2 activates it.
fn tree_steps(g: &Graph, id: NodeId, vg: usize, l: &Lv, planned: &[NodeId]) -> NodeStep {
    let v = &g.vgs[vg];
    let root = match tree::cow_of(&v.vg, l) {
        Some((_, sn)) => sn.origin.as_str(),
        None => l.name.as_str(),
    };
    let mut t = tree::Tree {
        g,
        vg,
        planned,
        steps: Vec::new(),
        made: Default::default(),
    };
    if let Err(e) = t.add(root, None) {
        return NodeStep::Skip(e);
    }
    let own = names::dm_name(&v.name, &l.name);
    let mut steps = t.steps;
    if let Some(s) = steps.iter_mut().find(|s| s.name == own) {
        s.key = g.node(id).key.clone();
    }
    NodeStep::Steps(steps.into_iter().map(Step::CreateDm).collect())
}

/// What a segment family's planner gets: the graph, the LV, the segment and where its line
/// goes.
pub(super) struct SegCx<'a> {
    pub g: &'a Graph,
    /// VG number in the graph.
    pub vg: usize,
    pub lv: &'a Lv,
    pub planned: &'a [NodeId],
    /// Segment number in the LV (lvm2's layer names count them).
    pub segno: usize,
    pub seg: &'a Segment,
    /// Sectors.
    pub len: u64,
}

/// One table line per segment at `start_extent × extent_size` (lvm2 `_emit_segment_line`,
/// formats.md §2.3), each from its family's planner; the devices the lines need (e.g. the
/// `--partial` stand-ins) are returned beside the table and must be created first.
fn lv_table(
    g: &Graph,
    vg: usize,
    lv: &Lv,
    planned: &[NodeId],
) -> Result<(Vec<TargetLine>, Vec<DmStep>), String> {
    let ext = g.vgs[vg].vg.extent_size;
    let mut out = Vec::new();
    let mut below = Vec::new();
    for (segno, seg) in lv.segments.iter().enumerate() {
        let start = seg
            .start_extent
            .checked_mul(ext)
            .ok_or("segment start overflows")?;
        let len = seg
            .extent_count
            .checked_mul(ext)
            .ok_or("segment length overflows")?;
        let cx = SegCx {
            g,
            vg,
            lv,
            planned,
            segno,
            seg,
            len,
        };
        let target = match &seg.kind {
            SegKind::Striped(s) => linear::target(&cx, s, &mut below)?,
            _ => return Err(format!("unsupported yet: {}", seg.type_name)),
        };
        out.push(TargetLine { start, len, target });
    }
    Ok((out, below))
}
