//! MD arrays: the assemble step of a startable array (members in mdadm's order, the degraded
//! policy applied), with what the kernel takes from the superblocks itself: internal bitmap,
//! write journal, bad block logs, a reshape to resume (mdadm 4.2 `Assemble.c`: native
//! metadata is `SET_ARRAY_INFO` with the version only, `ADD_NEW_DISK` per device, `RUN_ARRAY`;
//! `md.c` `super_1_validate` reads the rest).

use super::{dev_ref, MdMember, MdReshape, MdStep, MemberRole, NodeStep, Selection, Step};
use crate::engine::md::{level_name, Array, Member, MemberState, Verdict};
use crate::engine::{names, Graph, NodeId};
use crate::formats::md::{
    MdSuper, FEATURE_BAD_BLOCKS, FEATURE_JOURNAL, FEATURE_MULTIPLE_PPLS, FEATURE_PPL,
};

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
    let members: Vec<MdMember> = mdadm_order(a)
        .into_iter()
        .filter_map(|m| {
            Some(MdMember {
                dev: dev_ref(g, m.node, planned),
                role: role_of(&m.state)?,
                events: m.sb.events,
            })
        })
        .collect();
    let missing = match &a.verdict {
        Verdict::Degraded { missing, .. } => missing.clone(),
        _ => vec![],
    };
    let reshape = a.sb.reshape.map(|r| MdReshape {
        position: r.position,
        new_level: level_name(r.new_level),
        delta_disks: r.delta_disks,
        new_layout: r.new_layout,
        new_chunk_sectors: r.new_chunk_sectors,
        new_offset: r.new_offset.unwrap_or(0),
        backwards: r.backwards,
    });
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
        features: features(g, a),
        stripe_cache_size: stripe_cache_size(&a.sb),
        reshape,
    }))
}

fn role_of(s: &MemberState) -> Option<MemberRole> {
    Some(match *s {
        MemberState::Active(s) | MemberState::Recovering(s) => MemberRole::Active(s),
        MemberState::Replacement { slot, .. } => MemberRole::Replacement(slot),
        MemberState::Spare => MemberRole::Spare,
        MemberState::Journal => MemberRole::Journal,
        _ => return None,
    })
}

/// The members to add, in mdadm's order (Assemble.c `start_array`): by their place in `best`
/// (slot n at 2n, its replacement at 2n+1, spares and the journal after all slots in the order
/// found), except the chosen drive (the first slot's member with the newest events, whose
/// superblock mdadm loads as the array's), which goes last.
fn mdadm_order(a: &Array) -> Vec<&Member> {
    let slots = u64::from(crate::engine::md::effective_raid_disks(&a.sb));
    let index = |m: &Member| match m.state {
        MemberState::Active(s) | MemberState::Recovering(s) => 2 * u64::from(s),
        MemberState::Replacement { slot, .. } => 2 * u64::from(slot) + 1,
        _ => 2 * slots,
    };
    let mut v: Vec<&Member> = a
        .members
        .iter()
        .filter(|m| role_of(&m.state).is_some())
        .collect();
    // Stable: members of the same index (spares) keep the engine's order.
    v.sort_by_key(|m| index(m));
    let newest = v.iter().map(|m| m.sb.events).max().unwrap_or(0);
    if let Some(c) = v
        .iter()
        .position(|m| index(m) % 2 == 0 && index(m) < 2 * slots && m.sb.events >= newest)
    {
        let chosen = v.remove(c);
        v.push(chosen);
    }
    v
}

/// What the kernel takes from the superblocks besides the data, for the plan's text.
fn features(g: &Graph, a: &Array) -> Vec<String> {
    let sb = &a.sb;
    let mut v = Vec::new();
    if let Some(off) = sb.bitmap_offset.filter(|_| sb.bitmap) {
        v.push(format!(
            "write-intent bitmap internal, {off:+} sectors from the superblock (the kernel loads it)"
        ));
    }
    if sb.feature_map & FEATURE_JOURNAL != 0 {
        let on: Vec<&str> = a
            .members
            .iter()
            .filter(|m| matches!(m.state, MemberState::Journal))
            .map(|m| g.node(m.node).name.as_str())
            .collect();
        v.push(format!(
            "write journal on {} (the kernel replays it)",
            on.join(", ")
        ));
    }
    if sb.feature_map & (FEATURE_PPL | FEATURE_MULTIPLE_PPLS) != 0 {
        v.push("partial parity log (the kernel recovers from it)".into());
    }
    for m in &a.members {
        if m.sb.feature_map & FEATURE_BAD_BLOCKS != 0 && role_of(&m.state).is_some() {
            v.push(format!(
                "bad block list on {} (the kernel loads it)",
                g.node(m.node).name
            ));
        }
    }
    v
}

/// Assemble.c `start_array`: for a reshaping RAID4/5/6 whose chunk (old or new, bytes) needs
/// more than the default 256 stripes, mdadm writes `4 × chunk / 4096 + 1`.
fn stripe_cache_size(sb: &MdSuper) -> Option<u32> {
    let r = sb.reshape.as_ref()?;
    if !(4..=6).contains(&sb.level) {
        return None;
    }
    let chunk = u64::from(sb.chunk_sectors.max(r.new_chunk_sectors)) * 512;
    (256 < 4 * (chunk.saturating_add(4065) / 4096))
        .then(|| u32::try_from(4 * chunk / 4096 + 1).ok())
        .flatten()
}
