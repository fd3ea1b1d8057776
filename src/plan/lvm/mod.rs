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
    let l = match gate(g, vg, lv, sel) {
        Ok(Some(l)) => l,
        Ok(None) => return NodeStep::Nothing,
        Err(why) => return NodeStep::Skip(why),
    };
    let _ = explicit;
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

/// The rules lvm2 applies before it activates any LV, whatever its segment types: every LV
/// step passes here before its family's planner is asked for a table, so a new family cannot
/// bypass them. In lvm2's order (`vg_read`: lock type, system ID, clustered, exported), then
/// the names, missing PVs (lvm2's `activation_mode`) and the activation-skip flag.
/// `Ok(None)`: the VG does not list the LV.
pub(super) fn gate<'a>(
    g: &'a Graph,
    vg: usize,
    lv: &str,
    sel: &Selection,
) -> Result<Option<&'a Lv>, String> {
    let v = &g.vgs[vg];
    let name = &v.name;
    match &v.access {
        Access::Ok => {}
        // lvm2 2.03.16 `_access_vg_lock_type`: without lvmlockd a shared VG cannot be used.
        Access::Shared(lt) => {
            return Err(format!(
                "VG {name} is shared (lock_type {lt}): lvm2 activates it only through lvmlockd \
                 with the {lt} lock manager running and `vgchange --lockstart {name}` done \
                 (lvm: \"Cannot access VG {name} with lock type {lt} that requires \
                 lvmlockd.\"); not activated"
            ))
        }
        Access::Foreign { system_id } => {
            let local = match g.settings.system_id.as_deref() {
                Some(l) => format!("with local system ID {l}"),
                None => "with unknown local system ID".into(),
            };
            return Err(format!(
                "VG {name} belongs to system_id {system_id}, not this host (lvm: \"Cannot \
                 access VG {name} with system ID {system_id} {local}.\"); not activated"
            ));
        }
        Access::Clustered => {
            return Err(format!(
                "VG {name} is clustered (clvmd), which lvm2 2.03 no longer activates (lvm: \
                 \"Skipping clustered VG {name}.\"; lvmlockd(8) says how to make it a shared \
                 VG)"
            ))
        }
        Access::Exported => {
            return Err(format!(
                "VG {name} is exported (lvm: \"Volume group {name} is exported\"): \
                 `vgimport {name}` makes it usable on this host"
            ))
        }
        Access::Inconsistent(why) => return Err(format!("VG {name}: {why}")),
    }
    let Some(l) = v.vg.lv(lv) else {
        return Ok(None);
    };
    // The names become /dev/VG/LV, /dev/evms/lvm2/VG/LV and /dev/mapper/VG-LV.
    if let Some(why) = names::unsafe_vg_name(name).or_else(|| names::unsafe_name("LV name", lv)) {
        return Err(why);
    }
    let dm = names::dm_name(name, lv);
    if !crate::formats::lvm::names::fits_dm_name(&dm) {
        return Err(format!(
            "its DM name {dm:?} is longer than the kernel's {} bytes; not activated",
            names::MAX_NAME
        ));
    }
    match v.lv_info(lv).map(|i| &i.state) {
        Some(LvState::Ok) => {}
        Some(LvState::Partial { missing })
            if !sel.partial && !degraded_activation(g, vg, l, missing) =>
        {
            return Err(format!(
                "uses missing PV(s) {}; activate with --partial",
                missing.join(", ")
            ))
        }
        Some(LvState::Partial { .. }) => {}
        Some(LvState::Unsupported { segtype }) => {
            return Err(crate::engine::lvm::unsupported_text(segtype))
        }
        Some(LvState::Broken(e)) => return Err(format!("metadata problem: {e}")),
        None => return Ok(None),
    }
    // lvm skips these whether named or not (`lvchange -ay` needs -K too).
    if l.activation_skip && !sel.ignore_activation_skip {
        return Err("activation skip flag set (lvm -K to override)".into());
    }
    Ok(Some(l))
}

/// lvm2's default `activation_mode = "degraded"`: an LV with missing PVs is activated without
/// --partial only when its segment type keeps every extent readable without them (RAID1/4/5/6/10
/// with enough legs). The families that can answer so do it here; no family planned today
/// can, so such an LV needs --partial.
fn degraded_activation(g: &Graph, vg: usize, lv: &Lv, missing: &[String]) -> bool {
    let _ = (g, vg, lv, missing);
    false
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
