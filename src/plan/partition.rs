//! Partitions that need a map as kpartx makes it: inside DM devices, and on disks whose table
//! the kernel does not see (a backup GPT). The kernel makes the others itself.

use super::{dev_ref, DmStep, NodeStep, Step, Target, TargetLine};
use crate::engine::{names, Graph, NodeId, NodeKind};

/// The linear map of partition `id`, named and identified as kpartx does.
pub(super) fn step(g: &Graph, id: NodeId, planned: &[NodeId]) -> NodeStep {
    let n = g.node(id);
    let NodeKind::Partition {
        parent,
        number,
        start,
    } = &n.kind
    else {
        return NodeStep::Nothing;
    };
    let p = g.node(*parent);
    // Partitions inside DM devices, and on disks whose table the kernel does not see
    // (a backup GPT), need a map as kpartx makes it; the kernel makes the rest.
    if !crate::engine::partition_needs_map(g, id) {
        return NodeStep::Nothing;
    }
    if n.kernel.is_some() {
        return NodeStep::Active;
    }
    let parent_name = match &p.kind {
        NodeKind::Lv { vg, lv } => names::dm_name(&g.vgs[*vg].name, lv),
        _ => p
            .kernel
            .as_ref()
            .and_then(|k| k.dm_name.clone())
            .unwrap_or_else(|| p.name.clone()),
    };
    let parent_uuid = match &p.kind {
        NodeKind::Lv { vg, lv } => {
            let v = &g.vgs[*vg];
            v.vg.lv(lv)
                .map(|l| crate::formats::lvm::names::dm_uuid(&v.id, &l.id, None))
                .unwrap_or_default()
        }
        // kpartx over a device that is not DM names the parent by device number.
        _ => match p.kernel.as_ref() {
            Some(k) => k
                .dm_uuid
                .clone()
                .unwrap_or_else(|| names::kpartx_nondm_parent(k.devno)),
            None => String::new(),
        },
    };
    let name = names::kpartx_name(&parent_name, *number);
    if let Some(why) = names::unsafe_name("partition name", &name) {
        return NodeStep::Skip(why);
    }
    // A disk's partition gets no /dev/evms link, as kernel-made partitions get none; nor
    // does a map holding a PV: lvm2 names a device by its shortest path and, at equal
    // depth, prefers a symlink (dev-cache.c `_compare_paths`), so /dev/evms/NAME would
    // become the PV's name in `pvs` instead of /dev/mapper/NAME.
    let holds_pv = matches!(n.content, crate::probe::Content::LvmPv(_));
    let links = if holds_pv
        || matches!(p.kind, NodeKind::Disk)
            && p.kernel.as_ref().is_some_and(|k| k.dm_uuid.is_none())
    {
        vec![]
    } else {
        vec![format!("evms/{name}")]
    };
    NodeStep::Step(Step::CreateDm(DmStep {
        key: n.key.clone(),
        name: name.clone(),
        uuid: names::kpartx_uuid(*number, &parent_uuid),
        read_only: false,
        table: vec![TargetLine {
            start: 0,
            len: n.size / 512,
            target: Target::Linear {
                dev: dev_ref(g, *parent, planned),
                offset: start / 512,
            },
        }],
        udev_flags: 0,
        links,
        volume: name,
        visible: true,
        fixed_devno: None,
    }))
}
