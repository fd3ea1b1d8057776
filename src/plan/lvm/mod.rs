//! LVs: the checks every LV passes (VG access, names, missing PVs, activation skip), then the
//! LV's devices. An LV that is tables over PVs and hidden sub-LVs (linear, striped with the
//! `--partial` stand-ins and areas on other LVs: [`linear`]; dm-raid over `_rmeta_`/`_rimage_`
//! sub-LVs and lvm2's degraded activation: [`raid`]; dm-mirror, its logs and pvmove's
//! temporary mirror: [`mirror`]) is planned here, its sub-LVs first through [`sub_lv`], each
//! hidden LV once, children before parents, as libdm's deptree loads them. Any other (thin
//! pools and thin LVs, snapshot origins and COW stores, external origins, cache, writecache,
//! error, zero) is planned by [`tree`] as lvm2's deptree lays it out, with one file per family
//! for its target line ([`thin`], [`snapshot`], [`cache`], [`writecache`]); a tree reaching a
//! RAID or mirror LV (a thin pool's data on raid1) asks the same family files.

mod cache;
mod linear;
mod mirror;
mod raid;
mod snapshot;
mod thin;
mod tree;
mod writecache;

use super::{DevRef, DmStep, NodeStep, Selection, Step, Target, TargetLine};
use crate::engine::lvm::{lv_key, Access, LvState};
use crate::engine::{names, Graph, NodeId};
use crate::formats::lvm::names as lvm_names;
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
        // lvm2's default activation_mode "degraded": a RAID LV that keeps its redundancy
        // without the missing PVs comes up degraded; anything else needs --partial.
        Some(LvState::Partial { missing }) if !sel.partial => match raid::degraded_activation(v, l)
        {
            raid::Degraded::No => {
                return Err(format!(
                    "uses missing PV(s) {}; activate with --partial",
                    missing.join(", ")
                ))
            }
            raid::Degraded::Lost(why) => {
                return Err(format!(
                    "uses missing PV(s) {}: {why}; activate with --partial",
                    missing.join(", ")
                ))
            }
            raid::Degraded::Yes if sel.hold_degraded => {
                return Err(format!(
                    "a RAID image is on missing PV(s) {}: waiting for them, then degraded start",
                    missing.join(", ")
                ))
            }
            raid::Degraded::Yes => {}
        },
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

/// LVs whose devices are more than tables over PVs and hidden sub-LVs: other segment
/// families, snapshot origins and COW stores, external origins ([`tree`]).
fn needs_tree(vg: &crate::formats::lvm::vg::Vg, lv: &Lv) -> bool {
    !lv.segments.iter().all(|s| {
        matches!(
            s.kind,
            SegKind::Striped(_) | SegKind::Raid(_) | SegKind::Raid0(_) | SegKind::Mirror(_)
        )
    }) || vg.links.cow(&lv.name).is_some()
        || !vg.links.snapshots(&lv.name).is_empty()
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
    /// How many LVs deep below the planned LV this one is (0 for the LV itself).
    pub depth: usize,
}

/// Sub-LVs nested deeper than this are refused (a mirrored log inside a mirror inside a
/// pvmove is 3; hostile metadata could chain thousands).
const MAX_SUB_LV_DEPTH: usize = 16;

/// libdm `DM_UDEV_DISABLE_SUBSYSTEM_RULES_FLAG | DM_UDEV_DISABLE_DISK_RULES_FLAG |
/// DM_UDEV_DISABLE_OTHER_RULES_FLAG`: what lvm2's `_get_udev_flags` gives a hidden LV's
/// device (no /dev/VG link, no blkid, no pvscan).
pub(super) const UDEV_HIDDEN: u16 = 0x0002 | 0x0004 | 0x0008;

/// The device of hidden LV `name` (a RAID image or metadata LV, a mirror leg or log, the
/// pvmove LV) with everything below it, added to `below` once (a pvmove LV serves every LV it
/// moves); returns how a table refers to it. RAID sub-LVs stay writable whatever their flags
/// (`read_only_lv`: `writable`); others are read-only without `WRITE`, as their parent is.
pub(super) fn sub_lv(
    cx: &SegCx<'_>,
    name: &str,
    writable: bool,
    below: &mut Vec<DmStep>,
) -> Result<DevRef, String> {
    let (g, vg) = (cx.g, cx.vg);
    let v = &g.vgs[vg];
    let l =
        v.vg.lv(name)
            .ok_or_else(|| format!("refers to LV {name}, which does not exist"))?;
    let dm = lvm_names::dm_name(&v.name, name, None);
    let dev = if g.live {
        DevRef::Planned { name: dm.clone() }
    } else {
        DevRef::Image { name: dm.clone() }
    };
    let key = lv_key(&v.id, &l.id);
    if below.iter().any(|s| s.key == key) {
        return Ok(dev);
    }
    if cx.depth >= MAX_SUB_LV_DEPTH {
        return Err(format!(
            "sub-LV {name} is nested more than {MAX_SUB_LV_DEPTH} LVs deep"
        ));
    }
    if !lvm_names::fits_dm_name(&dm) {
        return Err(format!(
            "the DM name {dm:?} of its sub-LV is longer than the kernel's {} bytes",
            names::MAX_NAME
        ));
    }
    let table = segments_table(g, vg, l, cx.planned, cx.depth + 1, below)?;
    below.push(DmStep {
        key,
        name: dm,
        uuid: lvm_names::lv_dm_uuid(&v.vg, l),
        read_only: !writable && l.read_only,
        table,
        udev_flags: UDEV_HIDDEN,
        links: vec![],
        volume: format!("{}/{name}", v.name),
        visible: false,
        fixed_devno: None,
    });
    Ok(dev)
}

/// One table line per segment at `start_extent × extent_size` (lvm2 `_emit_segment_line`,
/// formats.md §2.3), each from its family's planner; the devices the lines need (e.g. the
/// `--partial` stand-ins, sub-LVs) are returned beside the table and must be created first.
fn lv_table(
    g: &Graph,
    vg: usize,
    lv: &Lv,
    planned: &[NodeId],
) -> Result<(Vec<TargetLine>, Vec<DmStep>), String> {
    let mut below = Vec::new();
    let table = segments_table(g, vg, lv, planned, 0, &mut below)?;
    Ok((table, below))
}

/// The lines of `lv`'s own table; what they need goes to `below`.
fn segments_table(
    g: &Graph,
    vg: usize,
    lv: &Lv,
    planned: &[NodeId],
    depth: usize,
    below: &mut Vec<DmStep>,
) -> Result<Vec<TargetLine>, String> {
    let ext = g.vgs[vg].vg.extent_size;
    let mut out = Vec::new();
    // lvm2 counts the pvmove segments of one LV to run one mirror at a time.
    let mut pvmove_running = 0u32;
    for (segno, seg) in lv.segments.iter().enumerate() {
        let (start, len) = span(seg, ext)?;
        let cx = SegCx {
            g,
            vg,
            lv,
            planned,
            segno,
            seg,
            len,
            depth,
        };
        let target = table_family(&cx, &mut pvmove_running, below)
            .unwrap_or_else(|| Err(crate::engine::lvm::unsupported_text(&seg.type_name)))?;
        out.push(TargetLine { start, len, target });
    }
    Ok(out)
}

/// A segment's start and length in sectors (lvm2 `_emit_segment_line`: extents × extent size).
pub(super) fn span(seg: &Segment, extent_size: u64) -> Result<(u64, u64), String> {
    let start = seg
        .start_extent
        .checked_mul(extent_size)
        .ok_or("segment start overflows")?;
    let len = seg
        .extent_count
        .checked_mul(extent_size)
        .ok_or("segment length overflows")?;
    Ok((start, len))
}

/// The line of a segment whose family is tables over PVs and hidden sub-LVs (linear/striped,
/// raid*, mirror and pvmove), its sub-LVs and stand-ins added to `below`; `None` for other
/// families ([`tree`] plans those). `pvmove_running` counts one LV's running pvmove segments.
pub(super) fn table_family(
    cx: &SegCx<'_>,
    pvmove_running: &mut u32,
    below: &mut Vec<DmStep>,
) -> Option<Result<Target, String>> {
    Some(match &cx.seg.kind {
        SegKind::Striped(s) => linear::target(cx, s, below),
        SegKind::Raid(r) => raid::target(cx, r, below),
        SegKind::Raid0(r) => raid::target0(cx, r, below),
        SegKind::Mirror(m) => mirror::target(cx, m, pvmove_running, below),
        _ => return None,
    })
}
