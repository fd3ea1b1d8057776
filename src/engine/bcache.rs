//! bcache devices from their superblocks, choosing as the kernel does when devices are
//! registered (drivers/md/bcache/super.c, Linux 6.1): a backing device belongs to the cache
//! set whose UUID its superblock records (`set_uuid`), a cache device to its own set. Whether
//! /dev/bcacheN can exist follows from the backing device's state:
//!
//! - never attached (`none`) or run without its cache once (`stale`): the kernel runs it as
//!   soon as it is registered, and attaches the set's cache when that is registered too;
//! - attached (`clean`, `dirty`): the kernel waits for the cache set. Without it, `dirty`
//!   is never usable (the cache holds blocks the backing device lacks); `clean` in writeback
//!   mode is refused too (the kernel sets `dirty` in the superblock without waiting for the
//!   write, so `clean` may lag behind the cache after a crash); `clean` in writethrough,
//!   writearound or none mode may run without the cache under the degraded policy, as
//!   `echo 1 > /sys/block/DEV/bcache/running` does (the kernel marks it `stale` then and
//!   drops the cache's copy when they meet again).
//!
//! The bcache device's node is the kernel's `bcacheN` when it runs (found by its `slaves`),
//! else, unless the cache holds dirty data, the backing device read in user space from its
//! data offset: what is inside (a filesystem, a PV, a partition table) is discovered as on
//! any other layer.

use super::{Graph, NodeId, NodeKind};
use crate::formats::fs::bcache::{BcacheSuper, BdevState, CacheMode, Role};
use crate::probe::Content;
use crate::source::layout::Layout;

/// Whether a bcache device can run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// It runs with what is present: its cache set (`BcacheDev::set`) or, never attached or
    /// stale, alone.
    Complete,
    /// Attached to a cache set that is missing; clean and not in writeback mode, so it may run
    /// without the cache under the degraded policy (which marks it stale).
    NoCache {
        reason: String,
    },
    NotStartable {
        reason: String,
    },
}

/// The cache devices sharing one set UUID.
#[derive(Debug, Clone)]
pub struct CacheSet {
    pub uuid: String,
    pub members: Vec<(NodeId, BcacheSuper)>,
    /// `nr_in_set` of the members (make-bcache makes one cache device per set).
    pub nr_in_set: u16,
    /// Every member present once.
    pub complete: bool,
    pub problems: Vec<String>,
}

/// One backing device and the bcache device it becomes.
#[derive(Debug, Clone)]
pub struct BcacheDev {
    /// "bcache:<backing device UUID>".
    pub key: String,
    pub backing: NodeId,
    pub sb: BcacheSuper,
    /// Index into [`Graph::cache_sets`] of the set it is (or gets) attached to, when present.
    pub set: Option<usize>,
    pub verdict: Verdict,
    pub node: Option<NodeId>,
    /// Kernel name: the running device's, else the one the kernel would give it next
    /// (`bcache` + the lowest free index; a backing device registered elsewhere and waiting
    /// holds an index we cannot see, so exec reports the name the kernel gave).
    pub devnm: String,
    pub problems: Vec<String>,
}

impl BcacheDev {
    pub fn is_running(&self, g: &Graph) -> bool {
        self.node.is_some_and(|n| g.nodes[n].kernel.is_some())
    }

    /// The cache devices of its set, when the set is present.
    pub fn caches(&self, g: &Graph) -> Vec<NodeId> {
        self.set
            .map(|s| g.cache_sets[s].members.iter().map(|(n, _)| *n).collect())
            .unwrap_or_default()
    }

    /// The backing device's data can be read without the cache: it holds every block.
    pub fn readable_without_cache(&self) -> bool {
        self.sb.state() != BdevState::Dirty
    }

    /// One line: superblock state, cache mode and set ("clean, writeback, cache set U").
    pub fn describe(&self) -> String {
        let set = match self.set {
            Some(_) => format!("cache set {}", self.sb.set_uuid),
            None if matches!(self.sb.state(), BdevState::Clean | BdevState::Dirty) => {
                format!("cache set {} missing", self.sb.set_uuid)
            }
            None => "without cache".into(),
        };
        format!(
            "{}, {}, {set}",
            self.sb.state().word(),
            self.sb.cache_mode()
        )
    }
}

/// Regroups every bcache device in the graph; keeps indices stable across rounds.
pub fn group(g: &mut Graph) {
    read_superblocks(g);
    let mut backing: Vec<(NodeId, BcacheSuper)> = Vec::new();
    let mut caches: Vec<(NodeId, BcacheSuper)> = Vec::new();
    for (&id, sb) in &g.bcache_sb {
        let Some(sb) = sb else { continue };
        if g.nodes[id].excluded {
            continue;
        }
        match sb.role {
            Role::Backing => backing.push((id, sb.clone())),
            Role::Cache => caches.push((id, sb.clone())),
        }
    }
    // Stable order (node ids follow discovery order), so names and messages are too.
    backing.sort_by_key(|(id, _)| *id);
    caches.sort_by_key(|(id, _)| *id);
    group_sets(g, caches);
    for (id, sb) in &backing {
        // Every device carrying this backing device's UUID (itself included), in node order.
        let same: Vec<String> = backing
            .iter()
            .filter(|(_, s)| s.uuid == sb.uuid)
            .map(|(o, _)| g.nodes[*o].name.clone())
            .collect();
        let idx = match g.bcache.iter().position(|b| b.sb.uuid == sb.uuid) {
            Some(i) => i,
            None => {
                g.bcache.push(BcacheDev {
                    key: format!("bcache:{}", sb.uuid),
                    backing: *id,
                    sb: sb.clone(),
                    set: None,
                    verdict: Verdict::Complete,
                    node: None,
                    devnm: String::new(),
                    problems: Vec::new(),
                });
                g.bcache.len() - 1
            }
        };
        let set = g
            .cache_sets
            .iter()
            .position(|s| s.uuid == sb.set_uuid && s.complete);
        let mut problems = Vec::new();
        let verdict = if same.len() > 1 {
            problems.push(format!(
                "backing device UUID {} is on {}: a duplicate (cloned disk?); not guessing — remove or filter one",
                sb.uuid,
                same.join(" and ")
            ));
            Verdict::NotStartable {
                reason: "duplicate backing device (see problems)".into(),
            }
        } else {
            verdict(g, *id, sb, set)
        };
        let b = &mut g.bcache[idx];
        b.backing = *id;
        b.sb = sb.clone();
        b.set = set;
        b.verdict = verdict;
        b.problems = problems;
    }
    name_devices(g);
    for idx in 0..g.bcache.len() {
        attach_node(g, idx);
    }
}

/// The superblock of every device blkid named bcache, read once per discovery.
fn read_superblocks(g: &mut Graph) {
    for id in 0..g.nodes.len() {
        if g.bcache_sb.contains_key(&id) {
            continue;
        }
        let is_bcache = matches!(&g.nodes[id].content, Content::Fs(f) if f.fstype == "bcache");
        let Some(reader) = g.nodes[id].reader().cloned().filter(|_| is_bcache) else {
            continue;
        };
        let name = g.nodes[id].name.clone();
        let sb = match crate::probe::bcache::read_super(&name, &*reader) {
            Ok(s) => s,
            Err(e) => {
                g.nodes[id].warnings.push(e);
                None
            }
        };
        g.bcache_sb.insert(id, sb);
    }
}

fn group_sets(g: &mut Graph, caches: Vec<(NodeId, BcacheSuper)>) {
    for s in &mut g.cache_sets {
        s.members.clear();
        s.problems.clear();
        s.complete = false;
    }
    for (id, sb) in caches {
        let idx = match g.cache_sets.iter().position(|s| s.uuid == sb.set_uuid) {
            Some(i) => i,
            None => {
                g.cache_sets.push(CacheSet {
                    uuid: sb.set_uuid.clone(),
                    members: Vec::new(),
                    nr_in_set: sb.nr_in_set,
                    complete: false,
                    problems: Vec::new(),
                });
                g.cache_sets.len() - 1
            }
        };
        g.cache_sets[idx].members.push((id, sb));
    }
    let node_names: Vec<String> = g.nodes.iter().map(|n| n.name.clone()).collect();
    for s in &mut g.cache_sets {
        let n = usize::from(s.nr_in_set);
        let mut seen = vec![0usize; n];
        for (_, sb) in &s.members {
            if let Some(c) = seen.get_mut(usize::from(sb.nr_this_dev)) {
                *c += 1;
            }
        }
        let names = |s: &CacheSet| {
            s.members
                .iter()
                .map(|(id, _)| node_names[*id].clone())
                .collect::<Vec<_>>()
                .join(", ")
        };
        if seen.iter().any(|&c| c > 1) {
            s.problems.push(format!(
                "cache set {}: cache device {} found more than once ({}): a duplicate (cloned disk?); not guessing — remove or filter one",
                s.uuid,
                seen.iter().position(|&c| c > 1).unwrap_or(0),
                names(s)
            ));
        } else if s.nr_in_set != 1 {
            s.problems.push(format!(
                "cache set {}: {} cache devices per set; not supported (make-bcache makes one, and Linux 6.1 runs one)",
                s.uuid, s.nr_in_set
            ));
        } else {
            s.complete = seen.iter().all(|&c| c == 1);
        }
    }
}

/// See the module documentation.
fn verdict(g: &Graph, id: NodeId, sb: &BcacheSuper, set: Option<usize>) -> Verdict {
    let name = &g.nodes[id].name;
    if let CacheMode::Unknown(v) = sb.cache_mode() {
        return Verdict::NotStartable {
            reason: format!("{name}: unknown cache mode {v} in its superblock"),
        };
    }
    match (sb.state(), set) {
        (BdevState::None | BdevState::Stale, _) | (_, Some(_)) => Verdict::Complete,
        (BdevState::Dirty, None) => Verdict::NotStartable {
            reason: format!(
                "its cache set {} is missing, and the cache holds data not yet written back to {name} (state dirty): not usable without it",
                sb.set_uuid
            ),
        },
        (BdevState::Clean, None) if sb.cache_mode() == CacheMode::Writeback => {
            Verdict::NotStartable {
                reason: format!(
                    "its cache set {} is missing, and in writeback mode the cache may hold data not yet written back to {name} (the kernel records dirty data in the superblock without waiting for that write); not usable without it",
                    sb.set_uuid
                ),
            }
        }
        (BdevState::Clean, None) => Verdict::NoCache {
            reason: format!(
                "its cache set {} is missing; {name} is clean ({}), so it can run without the cache: start it with --degraded (evms.degraded= at boot); the kernel then marks it stale and drops the cache's copy when the cache returns",
                sb.set_uuid,
                sb.cache_mode()
            ),
        },
    }
}

/// The running device of each backing device (the kernel's bcacheN whose slave it is), and
/// the names the kernel would give the others: `bcache%i` with the lowest free index.
fn name_devices(g: &mut Graph) {
    for idx in 0..g.bcache.len() {
        let backing = g.bcache[idx].backing;
        let Some(bk) = g.nodes[backing].kernel.as_ref().map(|k| k.name.clone()) else {
            continue;
        };
        let running = g.slaves.iter().find_map(|(&id, slaves)| {
            let k = g.nodes[id].kernel.as_ref()?;
            (k.name.starts_with("bcache") && slaves.contains(&bk)).then_some((id, k.name.clone()))
        });
        if let Some((id, name)) = running {
            g.bcache[idx].devnm = name;
            if g.bcache[idx].node != Some(id) {
                let key = g.bcache[idx].key.clone();
                g.rekey(id, key);
                g.bcache[idx].node = Some(id);
            }
        }
    }
    // The kernel numbers devices as they are registered: those that start come first (a
    // device that cannot start is never registered by us, so it takes no number).
    let rank = |v: &Verdict| match v {
        Verdict::Complete => 0,
        Verdict::NoCache { .. } => 1,
        Verdict::NotStartable { .. } => 2,
    };
    let mut order: Vec<usize> = (0..g.bcache.len()).collect();
    order.sort_by_key(|&i| (rank(&g.bcache[i].verdict), g.bcache[i].backing));
    for idx in order {
        if g.bcache[idx].is_running(g) || !g.bcache[idx].devnm.is_empty() {
            continue;
        }
        let busy = |g: &Graph, n: &str| {
            g.nodes
                .iter()
                .any(|x| x.kernel.as_ref().is_some_and(|k| k.name == n))
                || g.bcache.iter().any(|b| b.devnm == n)
        };
        let Some(name) = (0..1024u32)
            .map(|i| format!("bcache{i}"))
            .find(|n| !busy(g, n))
        else {
            continue;
        };
        g.bcache[idx].devnm = name;
    }
}

/// The node of bcache device `idx`: the kernel's when running (given its identity, members
/// as parents), else the backing device's data read in user space, or (dirty) a node that
/// cannot be read.
fn attach_node(g: &mut Graph, idx: usize) {
    let b = &g.bcache[idx];
    let mut parents = vec![b.backing];
    parents.extend(b.caches(g));
    if let Some(id) = b.node {
        if g.nodes[id].kernel.is_some() {
            g.nodes[id].kind = NodeKind::Bcache { dev: idx };
            g.nodes[id].parents = parents;
        }
        return;
    }
    let (key, name) = (b.key.clone(), b.devnm.clone());
    let start = b.sb.data_start();
    let size = g.nodes[b.backing].size.saturating_sub(start);
    let reader = g.nodes[b.backing].reader().cloned();
    let kind = NodeKind::Bcache { dev: idx };
    let added = match reader.filter(|_| b.readable_without_cache()) {
        Some(src) => g.add_mapped(
            key,
            name,
            kind,
            parents,
            Layout::Slice {
                src,
                offset: start,
                len: size,
            },
        ),
        None => g.add_unreadable(key, name, kind, parents, size),
    };
    if let Some((id, _)) = added {
        g.bcache[idx].node = Some(id);
    }
}

#[cfg(test)]
pub(crate) mod tests;
