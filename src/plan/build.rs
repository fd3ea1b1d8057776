//! Graph + selection → Plan. Pure: reads the engine's graph, writes nothing.
//!
//! Eligible by default, as `mdadm --assemble --scan` followed by `vgchange -ay` would do:
//! every startable array (degraded ones only with the degraded policy), every visible LV of an
//! accessible VG that is complete, supported and not activation-skip, and partitions inside DM
//! devices (kpartx). A named volume brings its whole dependency chain and nothing else; an
//! include/exclude filter (evms.conf, CLI) drops what it excludes and everything built on it.
//!
//! This file is the common walk: targets, dependency order, what is blocked or filtered, and
//! notes for what has no node. Each kind of node is planned in its own file: `partition.rs`
//! (kpartx maps), `md.rs` (arrays), `lvm/` (LVs, one file per segment family).

pub use super::Selection;
use super::{NodeStep, Plan, Skipped};
use crate::engine::lvm::{Access, LvState};
use crate::engine::md::Verdict;
use crate::engine::{names, Graph, NodeId, NodeKind};

/// The names a node answers to (for selection and filters).
pub fn node_names(g: &Graph, id: NodeId) -> Vec<String> {
    let n = g.node(id);
    let mut v = vec![n.name.clone(), n.key.clone()];
    if let Some(k) = &n.kernel {
        v.extend(k.names());
    }
    match &n.kind {
        NodeKind::Lv { vg, lv } => {
            let vgn = &g.vgs[*vg].name;
            v.push(format!("{vgn}/{lv}"));
            v.push(format!("/dev/{vgn}/{lv}"));
            v.push(names::dm_name(vgn, lv));
            v.push(format!("/dev/mapper/{}", names::dm_name(vgn, lv)));
        }
        NodeKind::Crypt { vol } => {
            let c = &g.cryptvols[*vol];
            v.push(c.name.clone());
            v.push(format!("/dev/mapper/{}", c.name));
            v.push(format!("luks-{}", c.uuid));
            v.push(c.uuid.clone());
            v.push(format!("UUID={}", c.uuid));
        }
        NodeKind::Md { array } => {
            let a = &g.arrays[*array];
            v.push(a.devnm.clone());
            v.push(format!("/dev/{}", a.devnm));
            v.push(a.uuid.mdadm_str());
            if let Some(l) = &a.link {
                v.push(l.clone());
                v.push(format!("md/{l}"));
                v.push(format!("/dev/md/{l}"));
            }
        }
        NodeKind::Bcache { dev } => {
            let b = &g.bcache[*dev];
            v.push(b.devnm.clone());
            v.push(format!("/dev/{}", b.devnm));
            v.push(b.sb.uuid.clone());
            for l in super::bcache::udev_links(&b.sb.uuid, b.sb.label.as_deref()) {
                v.push(format!("/dev/{l}"));
                v.push(l);
            }
        }
        _ => {}
    }
    for e in names::evms_names(g, id) {
        v.push(format!("/dev/{e}"));
        v.push(e);
    }
    v.dedup();
    v
}

/// Nodes a user word names. A VG name selects all its LVs; the device holding a LUKS header
/// selects its volume too (as `cryptsetup open DEVICE` names it).
pub fn resolve(g: &Graph, word: &str) -> Vec<NodeId> {
    let w = word.trim_end_matches('/');
    if let Some(vg) = g.vgs.iter().position(|v| v.name == w) {
        return g.vgs[vg].lvs.iter().filter_map(|l| l.node).collect();
    }
    let mut found: Vec<NodeId> = (0..g.nodes.len())
        .filter(|&id| node_names(g, id).iter().any(|n| n == w))
        .collect();
    for c in &g.cryptvols {
        if let Some(n) = c
            .node
            .filter(|n| found.contains(&c.header_node) && !found.contains(n))
        {
            found.push(n);
        }
    }
    found
}

/// Builds the plan.
pub fn build(g: &Graph, sel: &Selection) -> Plan {
    let mut plan = Plan::default();
    // Targets: named volumes, or every eligible top object.
    let mut targets: Vec<NodeId> = Vec::new();
    if sel.volumes.is_empty() {
        targets.extend(0..g.nodes.len());
    } else {
        for w in &sel.volumes {
            let found = resolve(g, w);
            if found.is_empty() {
                plan.skipped.push(Skipped {
                    volume: w.clone(),
                    reason: "no such volume was found".into(),
                });
            }
            targets.extend(found);
        }
    }
    // Dependency order: parents before children (post-order DFS over `parents`).
    let mut order: Vec<NodeId> = Vec::new();
    let mut state = vec![0u8; g.nodes.len()]; // 0 new, 1 in progress, 2 done
    for &t in &targets {
        visit(g, t, &mut state, &mut order, &mut plan);
    }
    let explicit = !sel.volumes.is_empty();
    let mut planned: Vec<NodeId> = Vec::new();
    let mut blocked: Vec<NodeId> = Vec::new();
    // Names of the devices the steps make.
    let mut made: std::collections::HashSet<String> = std::collections::HashSet::new();
    for id in order {
        let n = g.node(id);
        let blockers: Vec<&str> = n
            .parents
            .iter()
            .filter(|p| blocked.contains(p))
            .map(|&p| g.node(p).name.as_str())
            .collect();
        if !blockers.is_empty() {
            // Said for arrays and LVs, so that a skipped array does not silently take the
            // volumes on it along.
            if is_object(g, id) && n.kernel.is_none() {
                plan.skipped.push(Skipped {
                    volume: n.name.clone(),
                    reason: format!("built on {}, which is not activated", blockers.join(", ")),
                });
            }
            blocked.push(id);
            continue;
        }
        if let Some(f) = &sel.filter {
            if !matches!(n.kind, NodeKind::Disk) && !f.allows(&node_names(g, id)) {
                // Excluded: skip it and whatever is built on it.
                if is_object(g, id) {
                    plan.skipped.push(Skipped {
                        volume: n.name.clone(),
                        reason: "excluded by the include/exclude filter".into(),
                    });
                }
                blocked.push(id);
                continue;
            }
        }
        match node_step(g, id, sel, explicit, &planned) {
            NodeStep::Nothing => {}
            NodeStep::Active => plan.active.push(n.name.clone()),
            NodeStep::Step(s) => {
                made.insert(s.creates().to_string());
                plan.steps.push(s);
                planned.push(id);
            }
            NodeStep::Steps(v) => {
                // Devices several LVs share (a thin pool's, an origin's) are made once.
                for s in v {
                    if made.insert(s.creates().to_string()) {
                        plan.steps.push(s);
                    }
                }
                planned.push(id);
            }
            NodeStep::Skip(reason) => {
                plan.skipped.push(Skipped {
                    volume: n.name.clone(),
                    reason,
                });
                blocked.push(id);
            }
        }
    }
    add_group_notes(g, sel, &targets, &mut plan);
    plan
}

fn visit(g: &Graph, id: NodeId, state: &mut [u8], order: &mut Vec<NodeId>, plan: &mut Plan) {
    // Iterative post-order so deep stacks cannot overflow the stack.
    let mut stack: Vec<(NodeId, usize)> = vec![(id, 0)];
    while let Some((n, i)) = stack.pop() {
        if i == 0 {
            match state[n] {
                2 => continue,
                1 => {
                    plan.skipped.push(Skipped {
                        volume: g.node(n).name.clone(),
                        reason: "it is built on itself (a dependency cycle); not activated".into(),
                    });
                    continue;
                }
                _ => state[n] = 1,
            }
        }
        let parents = &g.node(n).parents;
        if let Some(&p) = parents.get(i) {
            stack.push((n, i + 1));
            if state[p] == 1 {
                plan.skipped.push(Skipped {
                    volume: g.node(n).name.clone(),
                    reason: format!(
                        "it is built on itself through {} (a dependency cycle); not activated",
                        g.node(p).name
                    ),
                });
                continue;
            }
            stack.push((p, 0));
        } else {
            state[n] = 2;
            order.push(n);
        }
    }
}

/// Arrays, LVs, bcache devices and LUKS volumes are objects users name; disks and kernel
/// partitions are not planned.
fn is_object(g: &Graph, id: NodeId) -> bool {
    matches!(
        g.node(id).kind,
        NodeKind::Md { .. }
            | NodeKind::Lv { .. }
            | NodeKind::Bcache { .. }
            | NodeKind::Crypt { .. }
    )
}

fn node_step(
    g: &Graph,
    id: NodeId,
    sel: &Selection,
    explicit: bool,
    planned: &[NodeId],
) -> NodeStep {
    match &g.node(id).kind {
        NodeKind::Disk | NodeKind::OtherKernel => NodeStep::Nothing,
        NodeKind::Crypt { vol } => super::crypt::step(g, id, *vol, explicit, planned),
        NodeKind::Partition { .. } => super::partition::step(g, id, planned),
        NodeKind::Md { array } => super::md::step(g, id, *array, sel, planned),
        NodeKind::Lv { vg, lv } => super::lvm::step(g, id, *vg, lv, sel, explicit, planned),
        NodeKind::Bcache { dev } => super::bcache::step(g, id, *dev, sel, planned),
    }
}

/// Notes for what the graph knows but no node stands for: arrays that could not start and
/// inaccessible VGs (their LVs have no nodes when nothing could be read through them).
fn add_group_notes(g: &Graph, sel: &Selection, targets: &[NodeId], plan: &mut Plan) {
    let all = sel.volumes.is_empty();
    for a in &g.arrays {
        if a.node.is_none() && (all || a.members.iter().any(|m| targets.contains(&m.node))) {
            let name = a
                .link
                .clone()
                .map(|l| format!("md/{}", l.escape_debug()))
                .unwrap_or_else(|| a.devnm.clone());
            let reason = match &a.verdict {
                Verdict::NotStartable { reason } => format!("not startable: {reason}"),
                Verdict::Degraded { .. } => "degraded and cannot be read in user space".into(),
                Verdict::Complete => "cannot be read in user space".into(),
            };
            if !plan.skipped.iter().any(|s| s.volume == name) {
                plan.skipped.push(Skipped {
                    volume: name,
                    reason,
                });
            }
        }
    }
    // Firmware RAID members (IMSM, DDF): external metadata, which mdadm assembles as a
    // container plus member arrays and hands to mdmon, the daemon that keeps that metadata
    // up to date while the arrays run; without mdmon the first write would block (the kernel
    // waits for user space to record the array dirty). Never assembled here.
    for (id, n) in g.nodes.iter().enumerate() {
        let crate::probe::Content::Fs(f) = &n.content else {
            continue;
        };
        if !matches!(f.fstype, "isw_raid_member" | "ddf_raid_member")
            || n.excluded
            || !(all || targets.contains(&id))
        {
            continue;
        }
        let what = f.not_mountable().unwrap_or("a firmware RAID member");
        let format = if f.fstype == "isw_raid_member" {
            "imsm"
        } else {
            "ddf"
        };
        plan.skipped.push(Skipped {
            volume: n.name.clone(),
            reason: format!(
                "{what}: external metadata ({format}{}); mdadm assembles its container and \
                 member arrays and starts mdmon to manage the metadata while they run \
                 (`mdadm --assemble --scan` with mdmon in the initramfs); evms-activate does \
                 not assemble external metadata",
                f.version
                    .as_deref()
                    .map(|v| format!(" version {}", v.trim()))
                    .unwrap_or_default()
            ),
        });
    }
    for v in &g.vgs {
        for l in &v.lvs {
            if l.node.is_some() {
                continue;
            }
            let Some(lv) = v.vg.lv(&l.name) else { continue };
            if !lv.visible || !all {
                continue;
            }
            let volume = format!("{}/{}", v.name, l.name);
            let reason = match (&v.access, &l.state) {
                (Access::Inconsistent(why), _) => format!("VG {}: {why}", v.name),
                (_, LvState::Partial { missing }) => format!(
                    "uses missing PV(s) {}; activate with --partial",
                    missing.join(", ")
                ),
                (_, LvState::Unsupported { segtype }) => {
                    crate::engine::lvm::unsupported_text(segtype)
                }
                (_, LvState::Broken(e)) => format!("metadata problem: {e}"),
                (_, LvState::Ok) => continue,
            };
            if !plan.skipped.iter().any(|s| s.volume == volume) {
                plan.skipped.push(Skipped { volume, reason });
            }
        }
    }
}
