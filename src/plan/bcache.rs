//! bcache devices: the register step of a backing device and its cache set (what udev's
//! 69-bcache.rules does with `bcache-register` for every device blkid names bcache), the
//! degraded policy applied to a backing device whose cache set is missing.

use super::{dev_ref, BcacheStep, NodeStep, Selection, Step};
use crate::engine::bcache::Verdict;
use crate::engine::{names, Graph, NodeId};

/// The links udev's 69-bcache.rules makes for a bcache device (from the kernel's
/// CACHED_UUID and CACHED_LABEL, the backing device's UUID and label), relative to /dev. A
/// label that is not a safe single path component gets no link (udev would split one with
/// white space into several).
pub fn udev_links(uuid: &str, label: Option<&str>) -> Vec<String> {
    let mut v = vec![format!("bcache/by-uuid/{uuid}")];
    if let Some(l) = label.filter(|l| names::unsafe_name("bcache label", l).is_none()) {
        v.push(format!("bcache/by-label/{l}"));
    }
    v
}

/// The step for node `id` of bcache device `dev`.
pub(super) fn step(
    g: &Graph,
    id: NodeId,
    dev: usize,
    sel: &Selection,
    planned: &[NodeId],
) -> NodeStep {
    let b = &g.bcache[dev];
    if g.node(id).kernel.is_some() {
        return NodeStep::Active;
    }
    let without_cache = match &b.verdict {
        Verdict::Complete => false,
        Verdict::NoCache { reason } if !sel.degraded => return NodeStep::Skip(reason.clone()),
        Verdict::NoCache { .. } => true,
        Verdict::NotStartable { reason } => {
            return NodeStep::Skip(format!("not startable: {reason}"))
        }
    };
    NodeStep::Step(Step::RegisterBcache(Box::new(BcacheStep {
        key: b.key.clone(),
        devnm: b.devnm.clone(),
        uuid: b.sb.uuid.clone(),
        set_uuid: b.sb.set_uuid.clone(),
        label: b.sb.label.clone(),
        backing: dev_ref(g, b.backing, planned),
        caches: b
            .caches(g)
            .into_iter()
            .map(|c| dev_ref(g, c, planned))
            .collect(),
        state: b.sb.state().word().to_string(),
        cache_mode: b.sb.cache_mode().to_string(),
        without_cache,
        size: g.node(id).size,
        links: udev_links(&b.sb.uuid, b.sb.label.as_deref()),
    })))
}
