//! LVs: the checks every LV passes (VG access, names, missing PVs, activation skip), then one
//! table line per segment from the file of its family, in LV order. A segment family is
//! planned in a file of its own: [`linear`] (linear and striped, with the `--partial`
//! stand-ins for missing PVs, and areas on other LVs), [`raid`] (dm-raid over `_rmeta_`/
//! `_rimage_` sub-LVs), [`mirror`] (dm-mirror, its logs, and pvmove's temporary mirror);
//! thin, snapshot, cache, writecache, integrity each get theirs when they are planned, and a
//! line in [`lv_table`]'s match. Until then the engine reports their LVs "unsupported yet" and
//! they never reach this module.
//!
//! A segment built on other LVs (RAID images, mirror legs and logs, the pvmove LV a locked
//! LV points into) gets their devices first, through [`sub_lv`]: each hidden LV once, with
//! its own table, children before parents, as libdm's deptree loads them.

mod linear;
mod mirror;
mod raid;

use super::{DevRef, DmStep, NodeStep, Selection, Step, TargetLine};
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
        // lvm2's default activation_mode "degraded": a RAID LV that keeps its redundancy
        // without the missing PVs comes up degraded; anything else needs --partial.
        Some(LvState::Partial { missing }) if !sel.partial => {
            match raid::degraded_activation(v, l) {
                raid::Degraded::No => {
                    return NodeStep::Skip(format!(
                        "uses missing PV(s) {}; activate with --partial",
                        missing.join(", ")
                    ))
                }
                raid::Degraded::Lost(why) => {
                    return NodeStep::Skip(format!(
                        "uses missing PV(s) {}: {why}; activate with --partial",
                        missing.join(", ")
                    ))
                }
                raid::Degraded::Yes if sel.hold_degraded => {
                    return NodeStep::Skip(format!(
                    "a RAID image is on missing PV(s) {}: waiting for them, then degraded start",
                    missing.join(", ")
                ))
                }
                raid::Degraded::Yes => {}
            }
        }
        Some(LvState::Partial { .. }) => {}
        Some(LvState::Unsupported { segtype }) => {
            return NodeStep::Skip(format!("unsupported yet: {segtype}"))
        }
        Some(LvState::Broken(e)) => return NodeStep::Skip(format!("metadata problem: {e}")),
        None => return NodeStep::Nothing,
    }
    // lvm skips these whether named or not (`lvchange -ay` needs -K too).
    let _ = explicit;
    if l.activation_skip && !sel.ignore_activation_skip {
        return NodeStep::Skip("activation skip flag set (lvm -K to override)".into());
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
            depth,
        };
        let target = match &seg.kind {
            SegKind::Striped(s) => linear::target(&cx, s, below)?,
            SegKind::Raid(r) => raid::target(&cx, r, below)?,
            SegKind::Raid0(r) => raid::target0(&cx, r, below)?,
            SegKind::Mirror(m) => mirror::target(&cx, m, &mut pvmove_running, below)?,
            _ => return Err(format!("unsupported yet: {}", seg.type_name)),
        };
        out.push(TargetLine { start, len, target });
    }
    Ok(out)
}
