//! MD arrays: the assemble step of a startable array (members in mdadm's order, the degraded
//! policy applied).

use super::{dev_ref, MdMember, MdStep, MemberRole, NodeStep, Selection, Step};
use crate::engine::md::{MemberState, Verdict};
use crate::engine::{names, Graph, NodeId};

/// The step for the node `id` of array `array`.
pub(super) fn step(
    g: &Graph,
    id: NodeId,
    array: usize,
    sel: &Selection,
    planned: &[NodeId],
) -> NodeStep {
    let n = g.node(id);
    let a = &g.arrays[array];
    if n.kernel.is_some() {
        return NodeStep::Active;
    }
    // The name becomes /dev/md/NAME, /dev/evms/md/NAME and a /run/mdadm/map line.
    if let Some(why) = a
        .link
        .as_deref()
        .and_then(|l| names::unsafe_name("MD array name", l))
    {
        return NodeStep::Skip(why);
    }
    let degraded = match &a.verdict {
        Verdict::Complete => false,
        Verdict::Degraded { missing, expected } => {
            // An array that last ran degraded starts as it is (mdadm: okcnt >=
            // working_disks); one that lost members since needs the policy.
            if !sel.degraded && !expected {
                return NodeStep::Skip(format!(
                    "degraded: slot(s) {} missing; start it with --degraded (evms.degraded= at boot)",
                    missing.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
                ));
            }
            true
        }
        Verdict::NotStartable { reason } => {
            return NodeStep::Skip(format!("not startable: {reason}"))
        }
    };
    let mut members: Vec<MdMember> = a
        .members
        .iter()
        .filter_map(|m| {
            let role = match m.state {
                MemberState::Active(s) | MemberState::Recovering(s) => MemberRole::Active(s),
                MemberState::Spare => MemberRole::Spare,
                MemberState::Journal => MemberRole::Journal,
                _ => return None,
            };
            Some(MdMember {
                dev: dev_ref(g, m.node, planned),
                role,
                events: m.sb.events,
            })
        })
        .collect();
    // mdadm adds the freshest device last (Assemble.c); stable otherwise.
    members.sort_by_key(|m| m.events);
    let missing = match &a.verdict {
        Verdict::Degraded { missing, .. } => missing.clone(),
        _ => vec![],
    };
    NodeStep::Step(Step::AssembleMd(MdStep {
        key: a.key.clone(),
        uuid: a.uuid,
        metadata: a.sb.version.to_string(),
        devnm: a.devnm.clone(),
        name: a.link.clone(),
        level: a.level_name(),
        raid_disks: a.sb.raid_disks,
        members,
        missing,
        degraded,
        size: n.size,
    }))
}
