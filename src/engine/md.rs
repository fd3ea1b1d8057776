//! MD arrays from member superblocks, choosing as mdadm's `Assemble.c` does: members grouped by
//! array UUID, the freshest by events, up to date when `events + 1 >= fresh` (the kernel's
//! margin), one member per slot, and whether the level can start with what is present
//! (mdadm `util.c: enough()`).

use super::{Graph, KernelDev, NodeId, NodeKind};
use crate::formats::md::{MdRole, MdSuper, MdVersion, FEATURE_CLUSTERED, FEATURE_JOURNAL};
use crate::ids::MdUuid;
use crate::probe::Content;
use crate::source::layout::Layout;
use std::collections::BTreeMap;

/// What a member is to its array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberState {
    /// In sync, holding `slot`.
    Active(u32),
    Spare,
    Journal,
    /// Marked faulty in its own superblock.
    Faulty,
    /// Older than the freshest member (events `events`, freshest `fresh`): never added.
    Stale {
        events: u64,
        fresh: u64,
    },
    /// Another up-to-date member holds the same slot.
    Conflict {
        slot: u32,
        other: String,
    },
    /// Partly rebuilt (recovery_offset set): mdadm adds it and the kernel resumes recovery;
    /// we add it the same way.
    Recovering(u32),
    /// Its own superblock records the freshest member (`fresh`, holding `slot`) as failed or
    /// removed: it ran without it (a split-off half). mdadm: "ignoring X as it reports Y as
    /// failed"; never added.
    SplitOff {
        fresh: String,
        slot: u32,
    },
    /// A replacement for `slot` (1.x REPLACEMENT), added beside the device it replaces; the
    /// kernel goes on rebuilding it (`in_sync` false: recovery_offset set) and swaps it in
    /// when done. A complete replacement serves the slot when its original is absent (mdadm
    /// counts it then).
    Replacement {
        slot: u32,
        in_sync: bool,
    },
}

impl std::fmt::Display for MemberState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MemberState::Active(s) => write!(f, "active slot {s}"),
            MemberState::Spare => f.write_str("spare"),
            MemberState::Journal => f.write_str("journal"),
            MemberState::Faulty => f.write_str("faulty"),
            MemberState::Stale { events, fresh } => {
                write!(f, "stale (events {events}, array at {fresh})")
            }
            MemberState::Conflict { slot, other } => {
                write!(f, "conflict: slot {slot} also claimed by {other}")
            }
            MemberState::Recovering(s) => write!(f, "recovering slot {s}"),
            MemberState::SplitOff { fresh, slot } => write!(
                f,
                "left out: it records {fresh} (slot {slot}) as failed, so it ran without it"
            ),
            MemberState::Replacement { slot, in_sync } => write!(
                f,
                "replacement for slot {slot}{}",
                if *in_sync {
                    " (rebuilt)"
                } else {
                    " (rebuilding)"
                }
            ),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Member {
    pub node: NodeId,
    pub sb: MdSuper,
    pub state: MemberState,
}

/// Whether the array can run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Complete,
    /// Startable with these slots missing. `expected`: the freshest superblock already counts
    /// them out (the array last ran degraded), so mdadm starts it without `--run`
    /// (`okcnt >= working_disks`); otherwise only with the degraded policy.
    Degraded {
        missing: Vec<u32>,
        expected: bool,
    },
    NotStartable {
        reason: String,
    },
}

#[derive(Debug, Clone)]
pub struct Array {
    pub key: String,
    pub uuid: MdUuid,
    /// The freshest member's superblock: the array's identity and geometry.
    pub sb: MdSuper,
    pub members: Vec<Member>,
    pub verdict: Verdict,
    /// The array's object: the kernel's device when running, else one read in user space.
    pub node: Option<NodeId>,
    /// Kernel name: the running array's, else the one mdadm would pick.
    pub devnm: String,
    /// `/dev/md/NAME` name mdadm would create.
    pub link: Option<String>,
    pub problems: Vec<String>,
}

impl Array {
    pub fn is_running(&self, g: &Graph) -> bool {
        self.node.is_some_and(|n| g.nodes[n].kernel.is_some())
    }

    pub fn level_name(&self) -> String {
        level_name(self.sb.level)
    }
}

pub fn level_name(level: i32) -> String {
    match level {
        -1 => "linear".into(),
        -4 => "multipath".into(),
        -5 => "faulty".into(),
        l => format!("raid{l}"),
    }
}

/// mdadm `util.c: enough()`: can an array of this level and layout run with `avail` slots?
pub fn enough(level: i32, raid_disks: u32, layout: u32, avail: &[bool]) -> bool {
    let n = raid_disks as usize;
    let have = avail.iter().take(n).filter(|&&a| a).count();
    match level {
        10 => {
            let near = (layout & 0xff) as usize;
            let far = ((layout >> 8) & 0xff) as usize;
            let copies = near.saturating_mul(far);
            if n == 0 || near == 0 || copies == 0 {
                return false;
            }
            // Every set of `copies` consecutive slots starting at multiples of `near` must have
            // one member (mdadm walks `first` around the ring until it returns to 0).
            let mut first = 0usize;
            for _ in 0..n.max(1) {
                let cnt = (0..copies)
                    .filter(|k| avail.get((first + k) % n).copied().unwrap_or(false))
                    .count();
                if cnt == 0 {
                    return false;
                }
                first = (first + near) % n;
                if first == 0 {
                    break;
                }
            }
            true
        }
        1 => have >= 1,
        4 | 5 => have + 1 >= n,
        6 => have + 2 >= n,
        -1 | 0 => have == n,
        _ => false,
    }
}

/// Regroups every MD member in the graph; keeps array indices stable across rounds.
pub fn group(g: &mut Graph) {
    let mut by_uuid: BTreeMap<MdUuid, Vec<(NodeId, MdSuper)>> = BTreeMap::new();
    for (id, n) in g.nodes.iter().enumerate() {
        if let Content::MdMember(sb) = &n.content {
            by_uuid.entry(sb.uuid).or_default().push((id, sb.clone()));
        }
    }
    for (uuid, found) in by_uuid {
        let idx = match g.arrays.iter().position(|a| a.uuid == uuid) {
            Some(i) => i,
            None => {
                let sb = found[0].1.clone();
                g.arrays.push(Array {
                    key: format!("md:{}", uuid.mdadm_str()),
                    uuid,
                    sb,
                    members: vec![],
                    verdict: Verdict::NotStartable {
                        reason: "not examined".into(),
                    },
                    node: None,
                    devnm: String::new(),
                    link: None,
                    problems: vec![],
                });
                g.arrays.len() - 1
            }
        };
        evaluate(g, idx, found);
    }
    name_arrays(g);
    for idx in 0..g.arrays.len() {
        attach_node(g, idx);
    }
}

/// Position of a node in /proc/partitions order (registration order: disks in order, each
/// followed by its partitions; stacked devices after all disks).
fn proc_order(g: &Graph, id: NodeId) -> (usize, usize, u32) {
    match &g.nodes[id].kind {
        NodeKind::Disk => (0, id, 0),
        NodeKind::Partition { parent, number, .. } => {
            let (a, b, _) = proc_order(g, *parent);
            (a, b, *number)
        }
        _ => (1, id, 0),
    }
}

/// Names arrays not yet named, in the order `mdadm --assemble --scan` assembles them: it walks
/// /proc/partitions from the end, so the array of the last-registered device comes first and
/// gets md127 (observed with mdadm 4.2: tests/fixtures/oracle/mdlevels). An array that cannot
/// start comes last: mdadm gives up on it and frees its number before the next array is
/// assembled, so it takes no number a started array would have had.
fn name_arrays(g: &mut Graph) {
    let mut taken: Vec<String> = g.arrays.iter().filter_map(|a| a.link.clone()).collect();
    let mut order: Vec<usize> = (0..g.arrays.len())
        .filter(|&i| g.arrays[i].devnm.is_empty())
        .collect();
    let key = |g: &Graph, i: usize| {
        g.arrays[i]
            .members
            .iter()
            .map(|m| proc_order(g, m.node))
            .max()
    };
    let startable =
        |g: &Graph, i: usize| !matches!(g.arrays[i].verdict, Verdict::NotStartable { .. });
    order.sort_by_key(|&i| std::cmp::Reverse((startable(g, i), key(g, i))));
    for idx in order {
        let (link, num) = super::names::md_identity(&g.settings, &g.arrays[idx].sb, &taken);
        let busy = |n: &str| {
            g.nodes
                .iter()
                .any(|x| x.kernel.as_ref().is_some_and(|k| k.name == n))
                || g.arrays.iter().any(|a| a.devnm == n)
        };
        let devnm = super::names::md_devnm(num, &busy);
        if let Some(l) = &link {
            taken.push(l.clone());
        }
        g.arrays[idx].link = link;
        g.arrays[idx].devnm = devnm;
    }
}

fn is_active_role(r: &MdRole) -> Option<u32> {
    match r {
        MdRole::Active(s) => Some(*s),
        _ => None,
    }
}

/// Member states and the verdict, as mdadm's Assemble.c decides.
fn evaluate(g: &mut Graph, idx: usize, mut found: Vec<(NodeId, MdSuper)>) {
    // Stable order: by node name, so messages and plans do not depend on probe order.
    found.sort_by(|a, b| g.nodes[a.0].name.cmp(&g.nodes[b.0].name));
    let mut problems = Vec::new();
    // The freshest among active members (mdadm: most_recent over ACTIVE|SYNC devices).
    let fresh = found
        .iter()
        .filter(|(_, sb)| is_active_role(&sb.role).is_some())
        .max_by_key(|(_, sb)| sb.events)
        .or_else(|| found.iter().max_by_key(|(_, sb)| sb.events))
        .map(|(_, sb)| sb.clone());
    let Some(fresh) = fresh else { return };
    // Members must describe the same array (mdadm compare_super: ctime, level, layout, size,
    // chunk, raid_disks for 1.x); a device that disagrees is reported and left out.
    let mut members: Vec<Member> = Vec::new();
    for (node, sb) in found {
        let name = g.nodes[node].name.clone();
        if sb.level != fresh.level
            || sb.raid_disks != fresh.raid_disks
            || sb.chunk_sectors != fresh.chunk_sectors
            || sb.layout != fresh.layout
        {
            problems.push(format!(
                "{name}: superblock disagrees with the freshest member on the array's shape (level {} raid_disks {} layout {} chunk {}): left out",
                sb.level, sb.raid_disks, sb.layout, sb.chunk_sectors
            ));
            continue;
        }
        let up_to_date = sb.events.saturating_add(1) >= fresh.events && sb.events <= fresh.events;
        // mdadm takes spares whatever their events; journals, replacements and active
        // members only within the kernel's margin of one event.
        let state = match &sb.role {
            MdRole::Faulty => MemberState::Faulty,
            MdRole::Spare => MemberState::Spare,
            _ if !up_to_date => MemberState::Stale {
                events: sb.events,
                fresh: fresh.events,
            },
            // A journal the array does not record needing: mdadm marks it faulty.
            MdRole::Journal if fresh.feature_map & FEATURE_JOURNAL == 0 => MemberState::Faulty,
            MdRole::Journal => MemberState::Journal,
            MdRole::Active(s) => match sb.recovery_offset {
                // During a reshape mdadm counts a partly recovered member as in sync when its
                // doubled slot index reaches raid_disks - delta_disks (Assemble.c compares
                // its `best` index, two per slot, with that count): the added devices.
                Some(_) if !reshape_counts_in_sync(&fresh, *s) => MemberState::Recovering(*s),
                _ => MemberState::Active(*s),
            },
            MdRole::Replacement(s) => MemberState::Replacement {
                slot: *s,
                in_sync: sb.recovery_offset.is_none(),
            },
        };
        members.push(Member { node, sb, state });
    }
    // One member per slot: the one with more events; equal events on two devices is a
    // duplicate we refuse to guess about.
    for i in 0..members.len() {
        let Some(slot) = slot_of(&members[i].state) else {
            continue;
        };
        for j in (i + 1)..members.len() {
            if slot_of(&members[j].state) != Some(slot) {
                continue;
            }
            let (a, b) = (members[i].sb.events, members[j].sb.events);
            let (ni, nj) = (
                g.nodes[members[i].node].name.clone(),
                g.nodes[members[j].node].name.clone(),
            );
            if a == b {
                members[i].state = MemberState::Conflict {
                    slot,
                    other: nj.clone(),
                };
                members[j].state = MemberState::Conflict {
                    slot,
                    other: ni.clone(),
                };
                problems.push(format!(
                    "slot {slot} is claimed by both {ni} and {nj} with equal events {a}: a duplicate (cloned disk or multipath?); not guessing — remove or filter one"
                ));
            } else if a > b {
                members[j].state = MemberState::Stale {
                    events: b,
                    fresh: a,
                };
            } else {
                members[i].state = MemberState::Stale {
                    events: a,
                    fresh: b,
                };
            }
        }
    }
    // Halves that ran apart (mdadm Assemble.c: a device whose superblock does not count the
    // most recent device's slot as working "reports it as failed" and is ignored). With one
    // freshest member, the others that record it as failed are left out, as mdadm does.
    // With several equally fresh members that record each other as failed, mdadm takes the
    // first it happens to scan; we refuse to guess.
    let split = split_brain(&members);
    if let Some((a, b)) = split {
        let (na, nb) = (
            g.nodes[members[a].node].name.clone(),
            g.nodes[members[b].node].name.clone(),
        );
        problems.push(format!(
            "split brain: {na} and {nb} each record the other as failed (each half ran without the other) and both have events {}; not guessing which half is current: start the one you want by excluding the other (--exclude /dev/{nb} or --exclude /dev/{na}, or evms.conf exclude)",
            members[a].sb.events
        ));
    } else if let Some(m) = freshest_active(&members) {
        let (mname, mslot) = (g.nodes[members[m].node].name.clone(), members[m].sb.role);
        if let MdRole::Active(slot) = mslot {
            for (j, member) in members.iter_mut().enumerate() {
                // Every member mdadm sees as active: slots, replacements and journals (not
                // spares), Assemble.c's devmap test.
                if j != m
                    && matches!(
                        member.sb.role,
                        MdRole::Active(_) | MdRole::Replacement(_) | MdRole::Journal
                    )
                    && !reports_working(&member.sb, slot)
                {
                    member.state = MemberState::SplitOff {
                        fresh: mname.clone(),
                        slot,
                    };
                }
            }
        }
    }
    // While a reshape removes devices, mdadm counts the old number (getinfo_super1).
    let raid_disks = effective_raid_disks(&fresh);
    let n = raid_disks as usize;
    let mut avail = vec![false; n];
    for m in &members {
        if let MemberState::Active(s) = m.state {
            if let Some(a) = avail.get_mut(s as usize) {
                *a = true;
            }
        }
    }
    // A rebuilt replacement stands in for an absent original (mdadm: `if (!avail[i/2])`).
    for m in &members {
        if let MemberState::Replacement {
            slot,
            in_sync: true,
        } = m.state
        {
            if let Some(a) = avail.get_mut(slot as usize) {
                *a = true;
            }
        }
    }
    let missing: Vec<u32> = (0..raid_disks)
        .filter(|&s| !avail.get(s as usize).copied().unwrap_or(false))
        .collect();
    let journal_ok = members
        .iter()
        .any(|m| matches!(m.state, MemberState::Journal));
    let conflict = members
        .iter()
        .any(|m| matches!(m.state, MemberState::Conflict { .. }));
    let verdict = if let Some((a, b)) = split {
        Verdict::NotStartable {
            reason: format!(
                "split brain between {} and {} (see problems)",
                g.nodes[members[a].node].name, g.nodes[members[b].node].name
            ),
        }
    } else if conflict {
        Verdict::NotStartable {
            reason: "duplicate members (see problems)".into(),
        }
    } else if let Some(why) = not_startable_feature(&fresh) {
        Verdict::NotStartable { reason: why }
    } else if fresh.feature_map & FEATURE_JOURNAL != 0 && !journal_ok {
        // Assemble.c start_array: journal_device_required && !journal_clean.
        Verdict::NotStartable {
            reason: "its write journal device is missing or stale: mdadm refuses to start it \
                     (\"Not safe to assemble with missing or stale journal device, consider \
                     --force.\"; forced, it starts the array read-only); evms-activate does \
                     not force: use mdadm --assemble --force if the journal is lost"
                .into(),
        }
    } else if missing.is_empty() {
        Verdict::Complete
    } else if enough(fresh.level, raid_disks, fresh.layout, &avail) {
        let ok = avail.iter().filter(|&&a| a).count();
        Verdict::Degraded {
            missing: missing.clone(),
            expected: ok >= working_disks(&fresh),
        }
    } else {
        let stale: Vec<String> = members
            .iter()
            .filter(|m| matches!(m.state, MemberState::Stale { .. }))
            .map(|m| g.nodes[m.node].name.clone())
            .collect();
        let mut reason = format!(
            "{} of {} members present; {} cannot start with slot(s) {} missing",
            n - missing.len(),
            n,
            level_name(fresh.level),
            missing
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        );
        if !stale.is_empty() {
            reason.push_str(&format!(" (stale: {})", stale.join(", ")));
        }
        Verdict::NotStartable { reason }
    };
    let a = &mut g.arrays[idx];
    a.sb = fresh;
    a.members = members;
    a.verdict = verdict;
    a.problems = problems;
}

/// The slot count mdadm works with: `raid_disks`, plus the devices a shrinking reshape is
/// still removing (`getinfo_super1`: `raid_disks -= delta_disks` when it is negative).
pub fn effective_raid_disks(sb: &MdSuper) -> u32 {
    let shrink = sb
        .reshape
        .map_or(0, |r| r.delta_disks.min(0).unsigned_abs());
    sb.raid_disks.saturating_add(shrink)
}

/// Assemble.c: during a reshape a member still recovering is counted as in sync when
/// `i >= raid_disks - delta_disks`, `i` being its index in `best` (two per slot).
fn reshape_counts_in_sync(fresh: &MdSuper, slot: u32) -> bool {
    let Some(r) = &fresh.reshape else {
        return false;
    };
    let raid_disks = i64::from(effective_raid_disks(fresh));
    2 * i64::from(slot) >= raid_disks - i64::from(r.delta_disks)
}

/// Whether mdadm's RAID5/6 reshape needs no backup: 1.x NEW_OFFSET with a non-zero
/// `new_offset` (`getinfo_super1` sets RESHAPE_NO_BACKUP): the reshape writes the new
/// geometry beside the old data, so nothing is overwritten in place.
pub fn reshape_without_backup(sb: &MdSuper) -> bool {
    sb.reshape
        .as_ref()
        .is_some_and(|r| r.new_offset.is_some_and(|o| o != 0))
}

/// Superblock states mdadm assembles only with help we do not give, and why.
fn not_startable_feature(sb: &MdSuper) -> Option<String> {
    if sb.feature_map & FEATURE_CLUSTERED != 0 {
        return Some(
            "a clustered array (md-cluster): mdadm assembles it only with the cluster's \
             locking (corosync and dlm, cluster name in mdadm.conf); not done by evms-activate"
                .into(),
        );
    }
    let r = sb.reshape.as_ref()?;
    if reshape_without_backup(sb) {
        return None;
    }
    // Assemble.c: without RESHAPE_NO_BACKUP mdadm first restores the critical section
    // (Grow_restart: --backup-file, /run/mdadm/backup_file-mdN, or the end of the devices
    // being added), rewriting superblocks; a reshape that does not grow the array then needs
    // --backup-file to go on (start_array, Grow_continue with mdadm watching).
    let change = match r.delta_disks {
        0 => "same disks, new level, layout or chunk".to_string(),
        d if d < 0 => format!("{} disk(s) fewer", d.unsigned_abs()),
        d => format!("{d} disk(s) more"),
    };
    Some(format!(
        "a reshape is in progress (position {}, {change}) that rewrites data in place \
         (no new data offset{}): mdadm first restores its critical section from a backup \
         (--backup-file, /run/mdadm/backup_file-mdN or the added devices) and {}; \
         evms-activate does not restore reshape backups: assemble it with mdadm",
        r.position,
        if matches!(sb.version, MdVersion::V090 { .. }) {
            ", as every 0.90 reshape"
        } else {
            ""
        },
        if r.delta_disks <= 0 {
            "needs --backup-file to continue it"
        } else {
            "lets the kernel continue"
        }
    ))
}

/// mdadm's `working_disks` of a superblock: 1.x counts `dev_roles` entries holding a slot
/// (`getinfo_super1`); 0.90 counts descriptors that are active and in sync, not faulty.
pub fn working_disks(sb: &MdSuper) -> usize {
    match sb.version {
        crate::formats::md::MdVersion::V1 { .. } => sb
            .dev_roles
            .iter()
            .filter(|&&r| u32::from(r) < effective_raid_disks(sb))
            .count(),
        crate::formats::md::MdVersion::V090 { .. } => sb
            .disks
            .iter()
            .filter(|d| d.state & 0b111 == 0b110 && d.raid_disk < sb.raid_disks)
            .count(),
    }
}

/// mdadm's `devmap` entry (`getinfo_super1`/`getinfo_super0` with a map): whether a member's
/// own superblock counts `slot` as a working device. 1.x: some `dev_roles` entry holds the
/// slot; 0.90: descriptor `slot` is active, in sync and not faulty (mdadm indexes the map by
/// descriptor, and descriptor n holds raid_disk n in arrays mdadm and the kernel write).
pub fn reports_working(sb: &MdSuper, slot: u32) -> bool {
    use crate::formats::md::{DISK_ACTIVE, DISK_FAULTY, DISK_SYNC};
    if slot >= effective_raid_disks(sb) {
        return false;
    }
    match sb.version {
        MdVersion::V1 { .. } => sb.dev_roles.iter().any(|&r| u32::from(r) == slot),
        MdVersion::V090 { .. } => usize::try_from(slot)
            .ok()
            .and_then(|i| sb.disks.get(i))
            .is_some_and(|d| {
                d.state & (DISK_ACTIVE | DISK_SYNC) == DISK_ACTIVE | DISK_SYNC
                    && d.state & DISK_FAULTY == 0
                    && d.raid_disk < sb.raid_disks
            }),
    }
}

/// The members with an active role and the highest event count (mdadm's `most_recent`
/// candidates: `disk.state == 6`).
fn freshest_candidates(members: &[Member]) -> Vec<usize> {
    let active = |m: &Member| matches!(m.sb.role, MdRole::Active(_));
    let Some(max) = members
        .iter()
        .filter(|m| active(m))
        .map(|m| m.sb.events)
        .max()
    else {
        return vec![];
    };
    (0..members.len())
        .filter(|&i| active(&members[i]) && members[i].sb.events == max)
        .collect()
}

/// The most recent member when it is unambiguous (one candidate, or candidates that agree).
fn freshest_active(members: &[Member]) -> Option<usize> {
    freshest_candidates(members).first().copied()
}

/// Two equally fresh members of which one records the other's slot as failed: halves of an
/// array that ran apart with the same number of updates.
fn split_brain(members: &[Member]) -> Option<(usize, usize)> {
    let c = freshest_candidates(members);
    for (x, &a) in c.iter().enumerate() {
        for &b in c.iter().skip(x + 1) {
            let (MdRole::Active(sa), MdRole::Active(sb)) = (members[a].sb.role, members[b].sb.role)
            else {
                continue;
            };
            if sa != sb
                && (!reports_working(&members[a].sb, sb) || !reports_working(&members[b].sb, sa))
            {
                return Some((a, b));
            }
        }
    }
    None
}

/// Sectors a reshaping array presents when it starts: the kernel sizes RAID4/5/6 by the smaller
/// of the old and new disk counts until the reshape ends (`raid5_size`), RAID10 likewise.
fn reshape_array_size(sb: &MdSuper) -> u64 {
    let Some(r) = &sb.reshape else {
        return sb.array_size;
    };
    let new = i64::from(sb.raid_disks);
    let old = new - i64::from(r.delta_disks);
    let disks = u64::try_from(new.min(old).max(0)).unwrap_or(0);
    let parity = match sb.level {
        4 | 5 => 1,
        6 => 2,
        _ => return sb.array_size,
    };
    sb.component_size
        .saturating_mul(disks.saturating_sub(parity))
}

fn slot_of(s: &MemberState) -> Option<u32> {
    match s {
        MemberState::Active(x) | MemberState::Recovering(x) => Some(*x),
        _ => None,
    }
}

/// Finds or makes the array's object: the kernel's running array (adopted, and re-keyed to the
/// array's identity) or, when it can start, one read through its members in user space.
fn attach_node(g: &mut Graph, idx: usize) {
    let member_names: Vec<String> = g.arrays[idx]
        .members
        .iter()
        .filter_map(|m| g.nodes[m.node].kernel.as_ref().map(|k| k.name.clone()))
        .collect();
    // A running array: an md device in the kernel whose members are ours.
    if g.arrays[idx].node.is_none() && g.live && !member_names.is_empty() {
        let running = (0..g.nodes.len()).find(|&id| {
            let n = &g.nodes[id];
            matches!(n.kind, NodeKind::OtherKernel)
                && n.kernel.as_ref().is_some_and(|k| k.name.starts_with("md"))
                && g.md_members
                    .get(&id)
                    .is_some_and(|ms| ms.iter().any(|m| member_names.contains(m)))
        });
        if let Some(id) = running {
            let key = g.arrays[idx].key.clone();
            g.rekey(id, key);
            g.nodes[id].kind = NodeKind::Md { array: idx };
            g.nodes[id].parents = g.arrays[idx].members.iter().map(|m| m.node).collect();
            g.arrays[idx].node = Some(id);
            g.arrays[idx].devnm = g.nodes[id]
                .kernel
                .as_ref()
                .map(|k: &KernelDev| k.name.clone())
                .unwrap_or_default();
        }
    }
    if g.arrays[idx].node.is_some() || matches!(g.arrays[idx].verdict, Verdict::NotStartable { .. })
    {
        return;
    }
    // A reshape in progress: its data lies in two geometries, which we do not read in user
    // space; the array is planned (the kernel resumes the reshape) and what it holds is read
    // once it runs.
    if g.arrays[idx].sb.reshape.is_some() {
        let a = &g.arrays[idx];
        let parents: Vec<NodeId> = a
            .members
            .iter()
            .filter(|m| slot_of(&m.state).is_some())
            .map(|m| m.node)
            .collect();
        let size = reshape_array_size(&a.sb).saturating_mul(512);
        let (key, name) = (a.key.clone(), a.devnm.clone());
        if let Some((id, _)) =
            g.add_unreadable(key, name, NodeKind::Md { array: idx }, parents, size)
        {
            g.arrays[idx].node = Some(id);
        }
        return;
    }
    // Read it in user space: members by slot, each from its data offset.
    let a = &g.arrays[idx];
    let n = a.sb.raid_disks as usize;
    let mut by_slot: Vec<Option<Layout>> = vec![None; n];
    let mut parents = Vec::new();
    for m in &a.members {
        let Some(slot) = slot_of(&m.state) else {
            continue;
        };
        let Some(src) = g.nodes[m.node].reader().cloned() else {
            continue;
        };
        let offset = m.sb.data_offset.saturating_mul(512);
        let len = a.sb.component_size.saturating_mul(512);
        if let Some(s) = by_slot.get_mut(slot as usize) {
            *s = Some(Layout::Slice { src, offset, len });
            parents.push(m.node);
        }
    }
    let layout = match crate::formats::md::geom_for(&a.sb, by_slot) {
        Ok(l) => l,
        Err(e) => {
            let msg = format!("{}: cannot read the array in user space: {e}", a.devnm);
            g.arrays[idx].problems.push(msg);
            return;
        }
    };
    let key = a.key.clone();
    let name = a.devnm.clone();
    if let Some((id, _)) = g.add_mapped(key, name, NodeKind::Md { array: idx }, parents, layout) {
        g.arrays[idx].node = Some(id);
    }
}

#[cfg(test)]
mod tests {
    //! Halves of RAID1 arrays that ran apart, as mdadm 4.2 and Linux 6.1 left them
    //! (tests/fixtures/faults/splitbrain, made by tests/vm/scenarios/splitbrain.sh): `fresh`
    //! over vda (events 19) and vdb (21), `even` over vdc and vdd (19 each); every half's
    //! superblock records the other as failed ("Array State : A." / ".A").
    use super::*;
    use crate::engine::{fixtures, Graph};
    use crate::source::sparse::SparseDev;

    fn halves(exclude: &[&str]) -> Graph {
        let devs = ["vda", "vdb", "vdc", "vdd"]
            .iter()
            .map(|&n| (n, fixtures::disk("splitbrain", n)))
            .collect();
        fixtures::graph(devs, exclude)
    }

    fn array<'a>(g: &'a Graph, name: &str) -> &'a Array {
        g.arrays
            .iter()
            .find(|a| a.link.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("no array {name}: {:?}", g.arrays))
    }

    fn state_of(g: &Graph, a: &Array, dev: &str) -> MemberState {
        a.members
            .iter()
            .find(|m| g.nodes[m.node].name == dev)
            .map(|m| m.state.clone())
            .unwrap()
    }

    /// The superblocks read as mdadm reported them (`examine.export`).
    #[test]
    fn fixture_events_as_mdadm_reports() {
        let g = halves(&[]);
        let export = String::from_utf8(fixtures::read("faults/splitbrain/examine.export")).unwrap();
        for dev in ["vda", "vdb", "vdc", "vdd"] {
            let want = export
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{dev} MD_EVENTS=")))
                .unwrap();
            let n = g.by_name(dev).unwrap();
            let Content::MdMember(sb) = &g.nodes[n].content else {
                panic!("{dev}: {:?}", g.nodes[n].content)
            };
            assert_eq!(sb.events.to_string(), want, "{dev}");
        }
    }

    /// mdadm: "ignoring /dev/vda as it reports /dev/vdb as failed"; fresh starts from vdb
    /// alone, without --degraded (vdb's own superblock counts one working device).
    #[test]
    fn fresher_half_wins() {
        let g = halves(&[]);
        let a = array(&g, "fresh");
        assert_eq!(
            state_of(&g, a, "vda"),
            MemberState::SplitOff {
                fresh: "vdb".into(),
                slot: 1
            }
        );
        assert_eq!(state_of(&g, a, "vdb"), MemberState::Active(1));
        assert_eq!(
            a.verdict,
            Verdict::Degraded {
                missing: vec![0],
                expected: true
            }
        );
        // The array that cannot start takes no number: fresh is md127, as mdadm would name
        // it if it refused `even` too.
        assert_eq!(a.devnm, "md127");
    }

    /// Equal events, each half recording the other as failed: refused with the reason and
    /// how to choose (mdadm would start the half it scans first).
    #[test]
    fn equal_halves_are_refused() {
        let g = halves(&[]);
        let a = array(&g, "even");
        let Verdict::NotStartable { reason } = &a.verdict else {
            panic!("{:?}", a.verdict)
        };
        assert_eq!(reason, "split brain between vdc and vdd (see problems)");
        assert_eq!(
            a.problems,
            ["split brain: vdc and vdd each record the other as failed (each half ran without the other) and both have events 19; not guessing which half is current: start the one you want by excluding the other (--exclude /dev/vdd or --exclude /dev/vdc, or evms.conf exclude)"]
        );
    }

    /// The device filter sets one half aside before grouping: the other starts as mdadm
    /// starts a half it was given alone.
    #[test]
    fn excluding_a_half_chooses_the_other() {
        let g = halves(&["/dev/vdc"]);
        assert!(g.nodes[g.by_name("vdc").unwrap()].excluded);
        let a = array(&g, "even");
        assert_eq!(a.members.len(), 1);
        assert_eq!(state_of(&g, a, "vdd"), MemberState::Active(1));
        assert_eq!(
            a.verdict,
            Verdict::Degraded {
                missing: vec![0],
                expected: true
            }
        );
        assert!(a.problems.is_empty(), "{:?}", a.problems);
    }

    fn super_of(scen: &str, member: &str) -> MdSuper {
        let d = SparseDev::parse(&fixtures::read(&format!(
            "md/scenarios/{scen}/{member}.spr"
        )))
        .unwrap();
        crate::probe::md::probe_md(member, &d).unwrap().unwrap()
    }

    /// Reshapes as mdadm's Assemble.c sorts them: a new data offset (RESHAPE_NO_BACKUP)
    /// starts; in place (1.x without it, every 0.90 one) is refused with what mdadm would do.
    /// Superblocks of mdadm-made arrays (tests/fixtures/md) given a reshape record.
    #[test]
    fn reshapes_that_need_a_backup_are_refused() {
        let mut sb = super_of("r5-12-ls", "m0");
        assert_eq!(not_startable_feature(&sb), None);
        let grow = crate::formats::md::Reshape {
            position: 3072,
            new_level: 5,
            delta_disks: 1,
            new_layout: 2,
            new_chunk_sectors: sb.chunk_sectors,
            new_offset: Some(-384),
            backwards: false,
        };
        sb.reshape = Some(grow);
        assert!(reshape_without_backup(&sb));
        assert_eq!(not_startable_feature(&sb), None);
        sb.reshape = Some(crate::formats::md::Reshape {
            new_offset: None,
            ..grow
        });
        let why = not_startable_feature(&sb).unwrap();
        assert!(
            why.starts_with("a reshape is in progress (position 3072, 1 disk(s) more) that rewrites data in place (no new data offset)"),
            "{why}"
        );
        assert!(why.contains("lets the kernel continue") && why.contains("assemble it with mdadm"));
        sb.reshape = Some(crate::formats::md::Reshape {
            new_offset: None,
            delta_disks: -1,
            backwards: true,
            ..grow
        });
        let why = not_startable_feature(&sb).unwrap();
        assert!(
            why.contains("1 disk(s) fewer") && why.contains("needs --backup-file"),
            "{why}"
        );
        // A zero new_offset is no new offset (getinfo_super1: `sb->new_offset != 0`).
        sb.reshape = Some(crate::formats::md::Reshape {
            new_offset: Some(0),
            ..grow
        });
        assert!(!reshape_without_backup(&sb));
        let mut old = super_of("r5-090", "m0");
        old.reshape = Some(crate::formats::md::Reshape {
            new_offset: None,
            ..grow
        });
        assert!(not_startable_feature(&old)
            .unwrap()
            .contains("no new data offset, as every 0.90 reshape"));
        let mut c = super_of("r1-12-bitmap", "m0");
        assert_eq!(not_startable_feature(&c), None);
        c.feature_map |= FEATURE_CLUSTERED;
        assert!(not_startable_feature(&c)
            .unwrap()
            .starts_with("a clustered array"));
    }

    /// While a reshape removes devices mdadm counts the old number; a recovering member of an
    /// added slot counts as in sync as mdadm's doubled index makes it.
    #[test]
    fn reshape_slot_counting_follows_mdadm() {
        let mut sb = super_of("r5-12-ra", "m0");
        assert_eq!(effective_raid_disks(&sb), 4);
        let r = crate::formats::md::Reshape {
            position: 0,
            new_level: 5,
            delta_disks: -1,
            new_layout: 2,
            new_chunk_sectors: 128,
            new_offset: Some(-384),
            backwards: true,
        };
        sb.raid_disks = 3;
        sb.reshape = Some(r);
        assert_eq!(effective_raid_disks(&sb), 4);
        // 3 → 4: raid_disks 4, delta 1: 2·slot ≥ 3 for slots 2 and 3.
        sb.raid_disks = 4;
        sb.reshape = Some(crate::formats::md::Reshape {
            delta_disks: 1,
            ..r
        });
        let counted: Vec<u32> = (0..4).filter(|&s| reshape_counts_in_sync(&sb, s)).collect();
        assert_eq!(counted, [2, 3]);
        sb.reshape = None;
        assert!(!reshape_counts_in_sync(&sb, 3));
    }

    /// 0.90: mdadm's map is by descriptor; a member of a healthy RAID1 counts both.
    #[test]
    fn reports_working_090() {
        let d = SparseDev::parse(&fixtures::read("md/scenarios/r1-090/m0.spr")).unwrap();
        let sb = crate::probe::md::probe_md("m0", &d).unwrap().unwrap();
        assert!(reports_working(&sb, 0) && reports_working(&sb, 1));
        assert!(!reports_working(&sb, 2));
        let mut failed = sb.clone();
        failed.disks[1].state |= crate::formats::md::DISK_FAULTY;
        assert!(!reports_working(&failed, 1));
    }
}

#[cfg(test)]
pub(crate) mod features {
    //! Superblocks of the VM scenarios mdfeatures and mdreshape (tests/fixtures/md/features,
    //! made by mdadm 4.2 under Linux 6.1: internal bitmap + spare, write journal, replacement
    //! in progress, bad block log; a RAID5 reshape 3 → 4 held mid-way), read as `mdadm
    //! --examine` reports them and grouped as mdadm assembles them.
    use super::*;
    use crate::engine::{fixtures, Graph};
    use crate::formats::md::FEATURE_BAD_BLOCKS;
    use crate::source::sparse::SparseDev;
    use std::collections::BTreeMap;

    pub(crate) fn graph(scen: &str, exclude: &[&str]) -> Graph {
        let devs = ["vda", "vdb", "vdc", "vdd"]
            .iter()
            .map(|&n| {
                let b = fixtures::read(&format!("md/features/{scen}/{n}.spr"));
                (n, SparseDev::parse(&b).unwrap())
            })
            .collect();
        fixtures::graph(devs, exclude)
    }

    /// `== NAME` blocks of `mdadm --examine` + `--examine-badblocks`: "Key : value" pairs
    /// (trimmed), and the bad-block lines under "bad-blocks".
    fn examine(scen: &str) -> BTreeMap<String, BTreeMap<String, String>> {
        let text =
            String::from_utf8(fixtures::read(&format!("md/features/{scen}/examine.txt"))).unwrap();
        let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        let mut cur = String::new();
        for l in text.lines() {
            if let Some(n) = l.strip_prefix("== ") {
                cur = n.to_string();
                out.entry(cur.clone()).or_default();
            } else if let Some((k, v)) = l.split_once(" : ") {
                out.get_mut(&cur)
                    .unwrap()
                    .insert(k.trim().to_string(), v.trim().to_string());
            } else if l.trim().contains(" for ") && l.trim().ends_with("sectors") {
                let e = out.get_mut(&cur).unwrap().entry("bad-blocks".into());
                e.or_default().push_str(l.trim());
            }
        }
        out
    }

    fn num(v: &str) -> u64 {
        v.split_whitespace().next().unwrap().parse().unwrap()
    }

    fn sb<'a>(g: &'a Graph, name: &str) -> &'a MdSuper {
        match &g.nodes[g.by_name(name).unwrap_or_else(|| panic!("{name}"))].content {
            Content::MdMember(sb) => sb,
            c => panic!("{name}: {c:?}"),
        }
    }

    /// Every member's superblock as mdadm --examine reports it: events, features, role,
    /// offsets, bitmap, recovery offset, reshape, bad block log.
    #[test]
    fn superblocks_read_as_mdadm_examines_them() {
        for scen in ["mdfeatures", "mdreshape"] {
            let g = graph(scen, &[]);
            let ex = examine(scen);
            assert!(ex.len() >= 4, "{scen}: {ex:?}");
            for (name, kv) in &ex {
                let Some(role) = kv.get("Device Role") else {
                    continue; // not a member (an unused partition)
                };
                let sb = sb(&g, name);
                let at = format!("{scen}/{name}");
                assert_eq!(sb.events, num(&kv["Events"]), "{at}");
                let fm = u32::from_str_radix(kv["Feature Map"].trim_start_matches("0x"), 16);
                assert_eq!(sb.feature_map, fm.unwrap(), "{at}");
                assert_eq!(sb.data_offset, num(&kv["Data Offset"]), "{at}");
                let want = match role.as_str() {
                    "spare" => MdRole::Spare,
                    "Journal" => MdRole::Journal,
                    r => {
                        let n: u32 = r.rsplit(' ').next().unwrap().parse().unwrap();
                        if r.starts_with("Replacement device") {
                            MdRole::Replacement(n)
                        } else {
                            MdRole::Active(n)
                        }
                    }
                };
                assert_eq!(sb.role, want, "{at}");
                assert_eq!(
                    sb.bitmap_offset.map(i64::from),
                    kv.get("Internal Bitmap").map(|v| num(v) as i64),
                    "{at}"
                );
                assert_eq!(
                    sb.recovery_offset,
                    kv.get("Recovery Offset").map(|v| num(v)),
                    "{at}"
                );
                match (&sb.reshape, kv.get("Reshape pos'n")) {
                    (None, None) => {}
                    (Some(r), Some(pos)) => {
                        // mdadm prints the position in KiB.
                        assert_eq!(r.position, 2 * num(pos), "{at}");
                        let delta = kv["Delta Devices"].split_whitespace().next().unwrap();
                        assert_eq!(r.delta_disks.to_string(), delta, "{at}");
                        let new = sb
                            .data_offset
                            .checked_add_signed(i64::from(r.new_offset.unwrap()))
                            .unwrap();
                        assert_eq!(new, num(&kv["New Offset"]), "{at}");
                    }
                    (r, p) => panic!("{at}: reshape {r:?} vs mdadm {p:?}"),
                }
                assert_eq!(
                    sb.feature_map & FEATURE_BAD_BLOCKS != 0,
                    kv.get("Bad Block Log")
                        .is_some_and(|v| v.ends_with("bad blocks present.")),
                    "{at}"
                );
                assert_eq!(
                    sb.feature_map & FEATURE_BAD_BLOCKS != 0,
                    kv.contains_key("bad-blocks"),
                    "{at}"
                );
            }
        }
    }

    fn state(g: &Graph, a: &Array, dev: &str) -> MemberState {
        a.members
            .iter()
            .find(|m| g.nodes[m.node].name == dev)
            .map(|m| m.state.clone())
            .unwrap_or_else(|| panic!("{dev} not a member"))
    }

    fn array<'a>(g: &'a Graph, name: &str) -> &'a Array {
        g.arrays
            .iter()
            .find(|a| a.link.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("no array {name}"))
    }

    /// Bitmap + spare, journal, replacement in progress, bad block log: all startable as
    /// they are, each member in the role mdadm adds it with, under the names mdadm gave
    /// them (the committed oracle record /run/mdadm/map of the scenario).
    #[test]
    fn features_group_as_mdadm_assembles_them() {
        let g = graph("mdfeatures", &[]);
        for a in &g.arrays {
            assert_eq!(a.verdict, Verdict::Complete, "{:?}", a.link);
            assert!(a.problems.is_empty(), "{:?}", a.problems);
        }
        let bmp = array(&g, "bmp");
        assert!(bmp.sb.bitmap && bmp.sb.bitmap_offset == Some(8));
        assert_eq!(state(&g, bmp, "vdc1"), MemberState::Spare);
        let jrn = array(&g, "jrn");
        assert_eq!(state(&g, jrn, "vdd1"), MemberState::Journal);
        let rpl = array(&g, "rpl");
        assert_eq!(state(&g, rpl, "vda3"), MemberState::Active(0));
        assert_eq!(
            state(&g, rpl, "vdd2"),
            MemberState::Replacement {
                slot: 0,
                in_sync: false
            }
        );
        let bbl = array(&g, "bbl");
        assert_eq!(state(&g, bbl, "vdc4"), MemberState::Active(1));
        let map = String::from_utf8(fixtures::read("oracle/mdfeatures/features/md-map")).unwrap();
        for l in map.lines() {
            let w: Vec<&str> = l.split_whitespace().collect();
            let name = w[3].strip_prefix("/dev/md/").unwrap();
            assert_eq!(array(&g, name).devnm, w[0], "{l}");
        }
    }

    /// Without its journal (the device filtered out, as lost), jrn is refused with mdadm's
    /// words; the other arrays are not affected.
    #[test]
    fn a_missing_journal_is_refused_with_mdadms_words() {
        let g = graph("mdfeatures", &["vdd1"]);
        let Verdict::NotStartable { reason } = &array(&g, "jrn").verdict else {
            panic!("{:?}", array(&g, "jrn").verdict)
        };
        assert!(
            reason.contains(
                "\"Not safe to assemble with missing or stale journal device, consider --force.\""
            ),
            "{reason}"
        );
        for n in ["bmp", "rpl", "bbl"] {
            assert_eq!(array(&g, n).verdict, Verdict::Complete, "{n}");
        }
    }

    /// The reshape held at sector 1920 with a new data offset: startable (mdadm: RUN_ARRAY,
    /// the kernel resumes), read only once it runs, so nothing on it is seen yet.
    #[test]
    fn a_reshape_with_a_new_offset_starts_unread() {
        let g = graph("mdreshape", &[]);
        assert_eq!(g.arrays.len(), 1);
        let a = &g.arrays[0];
        assert_eq!(a.verdict, Verdict::Complete);
        assert!(reshape_without_backup(&a.sb));
        let states: Vec<MemberState> = a.members.iter().map(|m| m.state.clone()).collect();
        assert_eq!(states, (0..4).map(MemberState::Active).collect::<Vec<_>>());
        let n = g.node(a.node.expect("a node"));
        assert!(n.reader().is_none(), "read in user space during a reshape");
        assert!(g.vgs.is_empty(), "nothing on the array is read yet");
        // During the reshape the kernel presents the old size: 2 data disks.
        assert_eq!(n.size, a.sb.component_size * 2 * 512);
        assert!(a.problems.is_empty(), "{:?}", a.problems);
    }
}
