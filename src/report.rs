//! What `scan` prints: the graph as a tree for people (like lsblk: disks → segments → regions
//! → volumes) and as JSON for programs (flat lists, stable keys: documented in the README).

use crate::engine::bcache::Verdict as BcacheVerdict;
use crate::engine::lvm::{Access, LvState};
use crate::engine::md::Verdict;
use crate::engine::{Graph, NodeId, NodeKind};
use crate::json::{self, Json, JsonExt};
use crate::probe::Content;

/// Human size with binary units, one decimal (lsblk style).
pub fn fmt_size(bytes: u64) -> String {
    const U: [&str; 6] = ["B", "K", "M", "G", "T", "P"];
    let mut v = bytes as f64;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < U.len() {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{bytes}B")
    } else if v.fract() == 0.0 {
        format!("{v:.0}{}", U[i])
    } else {
        format!("{v:.1}{}", U[i])
    }
}

/// The UUID a listing shows for a node's content (blkid's UUID for filesystems, the array
/// UUID for members, the PV UUID for PVs, the PTUUID for tables).
pub fn content_uuid(c: &Content) -> Option<String> {
    match c {
        Content::PartTable(t) => Some(t.id.clone()),
        Content::MdMember(sb) => Some(sb.uuid.mdadm_str()),
        Content::LvmPv(p) => Some(p.label.pv_id.to_string()),
        Content::Fs(f) => f.uuid.clone(),
        Content::Evms(_) | Content::Unknown | Content::Broken(_) => None,
    }
}

pub fn content_label(c: &Content) -> Option<String> {
    match c {
        Content::MdMember(sb) if !sb.name.is_empty() => Some(sb.name.clone()),
        Content::Fs(f) => f.label.clone(),
        Content::Evms(e) => Some(if e.volume_name.is_empty() {
            e.object_name.clone()
        } else {
            e.volume_name.clone()
        }),
        _ => None,
    }
}

/// One line of state for a node: what it is to the objects around it and any verdict.
pub fn node_state(g: &Graph, id: NodeId) -> String {
    let n = g.node(id);
    let mut parts: Vec<String> = Vec::new();
    match &n.kind {
        NodeKind::Md { array } => {
            let a = &g.arrays[*array];
            let present = a.sb.raid_disks as usize
                - match &a.verdict {
                    Verdict::Degraded { missing, .. } => missing.len(),
                    _ => 0,
                };
            parts.push(match &a.verdict {
                Verdict::Complete => format!("complete ({present}/{})", a.sb.raid_disks),
                Verdict::Degraded { missing, .. } => format!(
                    "degraded ({present}/{}, slot(s) {} missing)",
                    a.sb.raid_disks,
                    missing
                        .iter()
                        .map(u32::to_string)
                        .collect::<Vec<_>>()
                        .join(",")
                ),
                Verdict::NotStartable { reason } => format!("not startable: {reason}"),
            });
            if let (Some(r), false) = (
                &a.sb.reshape,
                matches!(a.verdict, Verdict::NotStartable { .. }),
            ) {
                parts.push(format!(
                    "reshape at sector {} ({:+} disk(s)): the kernel resumes it when started",
                    r.position, r.delta_disks
                ));
            }
        }
        NodeKind::Lv { vg, lv } => {
            let v = &g.vgs[*vg];
            if let Some(i) = v.lv_info(lv) {
                match &i.state {
                    LvState::Ok => {}
                    LvState::Partial { missing } => {
                        parts.push(format!("partial: missing PV {}", missing.join(", ")))
                    }
                    LvState::Unsupported { segtype } => {
                        parts.push(crate::engine::lvm::unsupported_text(segtype))
                    }
                    LvState::Broken(e) => parts.push(format!("broken: {e}")),
                }
                if let Some(why) = &i.unreadable {
                    parts.push(why.clone());
                }
            }
        }
        NodeKind::Bcache { dev } => {
            let b = &g.bcache[*dev];
            parts.push(match &b.verdict {
                BcacheVerdict::Complete => b.describe(),
                BcacheVerdict::NoCache { reason } => format!("no cache: {reason}"),
                BcacheVerdict::NotStartable { reason } => format!("not startable: {reason}"),
            });
        }
        _ => {}
    }
    // Backing or cache device of a bcache device?
    for b in g.bcache.iter().filter(|b| b.backing == id) {
        parts.push(format!("backing device of {} ({})", b.devnm, b.describe()));
    }
    for (si, s) in g.cache_sets.iter().enumerate() {
        if s.members.iter().any(|(n, _)| *n == id) {
            let users: Vec<&str> = g
                .bcache
                .iter()
                .filter(|b| b.set == Some(si))
                .map(|b| b.devnm.as_str())
                .collect();
            parts.push(if users.is_empty() {
                format!("cache device of set {} (no backing device present)", s.uuid)
            } else {
                format!("cache device of set {} for {}", s.uuid, users.join(", "))
            });
        }
    }
    // Member of an array?
    for a in &g.arrays {
        if let Some(m) = a.members.iter().find(|m| m.node == id) {
            let name = a.link.as_deref().map_or_else(
                || a.devnm.clone(),
                |l| format!("{} (md/{})", a.devnm, l.escape_debug()),
            );
            parts.push(format!("{} of {name}", m.state));
        }
    }
    // A LUKS volume, or the device holding its header?
    if let NodeKind::Crypt { vol } = &n.kind {
        let v = &g.cryptvols[*vol];
        parts.push(format!(
            "LUKS{} on {}: {}",
            v.header.version(),
            g.node(v.header_node).name,
            v.state_text()
        ));
    }
    if let Some(v) = g.cryptvols.iter().find(|v| v.header_node == id) {
        parts.push(format!(
            "{}; opens as {}: {}",
            v.summary(),
            v.name,
            v.state_text()
        ));
    }
    // PV of a VG?
    if let Content::LvmPv(p) = &n.content {
        match g
            .vgs
            .iter()
            .find(|v| v.pvs.iter().any(|x| x.node == Some(id)))
        {
            Some(v) => {
                let key = v
                    .pvs
                    .iter()
                    .find(|x| x.node == Some(id))
                    .map(|x| x.key.clone())
                    .unwrap_or_default();
                parts.push(format!("{key} of VG {}", v.name));
            }
            None if p.metadata.is_none() => {
                parts.push("PV without metadata (orphan or metadata elsewhere)".into())
            }
            None => parts.push("PV not used".into()),
        }
    }
    if let Content::Broken(e) = &n.content {
        parts.push(format!("broken: {e}"));
    }
    // bcache devices are assembled (above); the other containers are only named.
    if let Some(what) = match &n.content {
        Content::Fs(f) if f.fstype != "bcache" => f.reported_only(),
        _ => None,
    } {
        parts.push(format!("reported only: {what}"));
    }
    if n.excluded {
        parts.push("excluded by the device filter: not read".into());
    }
    parts.push(if n.kernel.is_some() {
        "active".into()
    } else if matches!(n.kind, NodeKind::Disk) {
        String::new()
    } else {
        "inactive".into()
    });
    parts.retain(|p| !p.is_empty());
    parts.join("; ")
}

/// Text tree. A node with several parents (an array) is printed under its first parent and
/// referred to under the others.
pub fn tree(g: &Graph) -> String {
    let mut out = String::new();
    let rows = tree_rows(g);
    let w = rows
        .iter()
        .map(|r| r.0.chars().count())
        .max()
        .unwrap_or(4)
        .max(4);
    let fw = rows.iter().map(|r| r.1.len()).max().unwrap_or(6).max(6);
    out.push_str(&format!(
        "{:<w$}  {:<fw$}  {:>7}  {:<36}  {:<16}  {}\n",
        "NAME", "FORMAT", "SIZE", "UUID", "LABEL", "STATE"
    ));
    for (name, format, size, uuid, label, state) in rows {
        out.push_str(
            format!("{name:<w$}  {format:<fw$}  {size:>7}  {uuid:<36}  {label:<16}  {state}")
                .trim_end(),
        );
        out.push('\n');
    }
    let (problems, warnings) = problem_lines(g);
    for p in problems.iter().chain(warnings.iter()) {
        out.push_str(&format!("warning: {p}\n"));
    }
    out
}

type Row = (String, String, String, String, String, String);

fn tree_rows(g: &Graph) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut printed = vec![false; g.nodes.len()];
    let kids = g.children();
    let roots: Vec<NodeId> = (0..g.nodes.len())
        .filter(|&i| g.node(i).parents.is_empty())
        .collect();
    // Roots first; then anything unreachable from a root (cycles) still gets a line.
    for i in roots.into_iter().chain(0..g.nodes.len()) {
        if !printed[i] {
            walk(
                g,
                &kids,
                i,
                String::new(),
                true,
                true,
                &mut printed,
                &mut rows,
            );
        }
    }
    rows
}

#[allow(clippy::too_many_arguments)]
fn walk(
    g: &Graph,
    children: &[Vec<NodeId>],
    id: NodeId,
    prefix: String,
    last: bool,
    root: bool,
    printed: &mut [bool],
    rows: &mut Vec<Row>,
) {
    // Iterative would be overkill: depth is bounded by engine::MAX_DEPTH + partition levels.
    let n = g.node(id);
    let branch = if root {
        String::new()
    } else if last {
        "└─".into()
    } else {
        "├─".into()
    };
    let display = match &n.kind {
        NodeKind::Md { array } => match &g.arrays[*array].link {
            // The name comes from a superblock: escaped, so no control character is printed.
            Some(l) => format!("{} (md/{})", n.name, l.escape_debug()),
            None => n.name.clone(),
        },
        _ => n.name.clone(),
    };
    if printed[id] {
        rows.push((
            format!("{prefix}{branch}{display} (see above)"),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
        ));
        return;
    }
    printed[id] = true;
    rows.push((
        format!("{prefix}{branch}{display}"),
        match &n.content {
            Content::MdMember(sb) => format!("linux_raid_member {}", sb.version),
            c => c.format_name(),
        },
        fmt_size(n.size),
        content_uuid(&n.content).unwrap_or_default(),
        content_label(&n.content).unwrap_or_default(),
        node_state(g, id),
    ));
    let kids = children.get(id).map(Vec::as_slice).unwrap_or(&[]);
    let child_prefix = if root {
        prefix
    } else if last {
        format!("{prefix}  ")
    } else {
        format!("{prefix}│ ")
    };
    for (i, &k) in kids.iter().enumerate() {
        walk(
            g,
            children,
            k,
            child_prefix.clone(),
            i + 1 == kids.len(),
            false,
            printed,
            rows,
        );
    }
}

/// (problems that make the result incomplete or wrong, warnings about devices).
pub fn problem_lines(g: &Graph) -> (Vec<String>, Vec<String>) {
    let mut problems = g.problems.clone();
    for a in &g.arrays {
        // By /dev/md name when there is one: an array that does not start never gets the
        // kernel name it was planned under.
        let name = a
            .link
            .as_ref()
            .map_or_else(|| a.devnm.clone(), |l| format!("md/{l}"));
        problems.extend(a.problems.iter().map(|p| format!("{name}: {p}")));
    }
    for b in &g.bcache {
        problems.extend(b.problems.iter().map(|p| format!("{}: {p}", b.devnm)));
    }
    for s in &g.cache_sets {
        problems.extend(s.problems.iter().cloned());
    }
    for v in &g.vgs {
        problems.extend(v.problems.iter().map(|p| format!("VG {}: {p}", v.name)));
        if let Access::Inconsistent(why) = &v.access {
            problems.push(format!("VG {}: {why}", v.name));
        }
    }
    let mut warnings: Vec<String> = g
        .nodes
        .iter()
        .flat_map(|n| {
            n.warnings
                .iter()
                .map(|w| w.to_string())
                .chain(content_warnings(g, n))
        })
        .collect();
    // A PV's rejected metadata areas (bad checksum, a name lvm2 refuses, ...): without them a
    // PV whose only copy was refused would look like an orphan with no reason given.
    for n in &g.nodes {
        if let Content::LvmPv(c) = &n.content {
            warnings.extend(c.warnings.iter().map(|w| format!("{}: {w}", n.name)));
        }
    }
    (problems, warnings)
}

/// Problems a partition table carries inside it: the primary GPT when the backup was read,
/// hybrid MBRs, truncated partitions. Named by device, format, byte offset and field. (A
/// PV's bad metadata areas are reported just below in problem_lines.)
fn content_warnings(g: &Graph, n: &crate::engine::Node) -> Vec<String> {
    let Content::PartTable(t) = &n.content else {
        return vec![];
    };
    let mut v: Vec<String> = t
        .warnings
        .iter()
        .map(|w| format!("{}: {w}", n.name))
        .collect();
    if t.backup_used {
        let mut line = format!(
            "{}: the primary GPT is unusable (above); the backup GPT at the last LBA is used",
            n.name
        );
        if !t.kernel_sees && g.live {
            line.push_str(
                "; the kernel makes no partitions from it (only when booted with `gpt`), so they are mapped as kpartx does",
            );
        }
        v.push(line);
    }
    v
}

/// True when anything was broken or inconsistent (the exit status of `scan`).
pub fn anything_broken(g: &Graph) -> bool {
    let (p, w) = problem_lines(g);
    !p.is_empty()
        || !w.is_empty()
        || g.nodes
            .iter()
            .any(|n| matches!(n.content, Content::Broken(_)))
}

/// JSON form of the graph.
pub fn json(g: &Graph) -> Json {
    let devices: Vec<Json> = (0..g.nodes.len())
        .map(|id| {
            let n = g.node(id);
            let kind = match &n.kind {
                NodeKind::Disk => "disk",
                NodeKind::Partition { .. } => "partition",
                NodeKind::Md { .. } => "md",
                NodeKind::Lv { .. } => "lv",
                NodeKind::Bcache { .. } => "bcache",
                NodeKind::OtherKernel => "other",
                NodeKind::Crypt { .. } => "crypt",
            };
            let mut j = json::obj()
                .with("name", n.name.as_str())
                .with("key", n.key.as_str())
                .with("kind", kind)
                .with("size", n.size)
                .with("active", n.kernel.is_some())
                .with("kernel_name", n.kernel.as_ref().map(|k| k.name.clone()))
                .with("devno", n.kernel.as_ref().map(|k| k.devno.to_string()))
                .with(
                    "parents",
                    n.parents
                        .iter()
                        .map(|&p| g.node(p).name.clone())
                        .collect::<Vec<_>>(),
                )
                .with("format", n.content.format_name())
                .with("version", n.content.version())
                .with("uuid", content_uuid(&n.content))
                .with("label", content_label(&n.content))
                .with("state", node_state(g, id));
            if let NodeKind::Partition { number, start, .. } = &n.kind {
                let e = n.part_entry.as_ref();
                j.push(
                    "partition",
                    json::obj()
                        .with("number", *number)
                        .with("start", *start)
                        .with("partuuid", e.map(|p| p.uuid.clone()))
                        .with("partlabel", e.and_then(|p| p.name.clone()))
                        .with("type", e.map(|p| p.type_id.clone())),
                );
            }
            if let Content::Broken(e) = &n.content {
                j.push("error", e.as_str());
            }
            j
        })
        .collect();
    let arrays: Vec<Json> = g
        .arrays
        .iter()
        .map(|a| {
            let (verdict, reason, missing) = match &a.verdict {
                Verdict::Complete => ("complete", None, vec![]),
                Verdict::Degraded { missing, .. } => ("degraded", None, missing.clone()),
                Verdict::NotStartable { reason } => ("not-startable", Some(reason.clone()), vec![]),
            };
            json::obj()
                .with("devnm", a.devnm.as_str())
                .with("name", a.link.clone())
                .with("uuid", a.uuid.mdadm_str())
                .with("metadata", a.sb.version.to_string())
                .with("level", a.level_name())
                .with("raid_disks", a.sb.raid_disks)
                .with("events", a.sb.events)
                .with("active", a.is_running(g))
                .with("verdict", verdict)
                .with("reason", reason)
                .with("missing", missing)
                .with(
                    "members",
                    Json::Array(
                        a.members
                            .iter()
                            .map(|m| {
                                json::obj()
                                    .with("device", g.node(m.node).name.clone())
                                    .with("state", m.state.to_string())
                                    .with("events", m.sb.events)
                            })
                            .collect(),
                    ),
                )
        })
        .collect();
    let luks: Vec<Json> = g
        .cryptvols
        .iter()
        .map(|v| {
            let h = &v.header;
            let state = match &v.state {
                crate::engine::crypt::CryptState::Locked => "locked",
                crate::engine::crypt::CryptState::Unlocked { .. } => "unlocked",
                crate::engine::crypt::CryptState::Active => "active",
                crate::engine::crypt::CryptState::Unsupported(_) => "unsupported",
                crate::engine::crypt::CryptState::Broken(_) => "broken",
            };
            json::obj()
                .with("uuid", v.uuid.as_str())
                .with("version", u64::from(h.version()))
                .with("name", v.name.as_str())
                .with("device", g.node(v.header_node).name.clone())
                .with("crypttab", v.entry.is_some())
                .with("state", state)
                .with("reason", v.state_text())
                .with("cipher", h.cipher_spec())
                .with("key_bits", h.volume_key_size().map(|k| u64::from(k) * 8))
                .with("sector_size", u64::from(h.sector_size()))
                .with("data_offset", v.data_offset)
                .with(
                    "keyslots",
                    Json::Array(
                        h.keyslots_in_use()
                            .into_iter()
                            .map(|(i, k)| json::obj().with("id", u64::from(i)).with("kdf", k))
                            .collect(),
                    ),
                )
                .with(
                    "opened_by",
                    v.unlocked.as_ref().map(|u| u64::from(u.keyslot)),
                )
                .with("node", v.node.map(|n| g.node(n).name.clone()))
        })
        .collect();
    let vgs: Vec<Json> = g
        .vgs
        .iter()
        .map(|v| {
            let access = match &v.access {
                Access::Ok => "ok".to_string(),
                Access::Exported => "exported".into(),
                Access::Clustered => "clustered".into(),
                Access::Shared(l) => format!("shared ({l})"),
                Access::Foreign { system_id } => format!("foreign (system_id {system_id})"),
                Access::Inconsistent(w) => format!("inconsistent: {w}"),
            };
            json::obj()
                .with("name", v.name.as_str())
                .with("uuid", v.id.to_string())
                .with("seqno", v.vg.seqno)
                .with("extent_size", v.vg.extent_size)
                .with("access", access)
                .with(
                    "pvs",
                    Json::Array(
                        v.pvs
                            .iter()
                            .map(|p| {
                                json::obj()
                                    .with("key", p.key.as_str())
                                    .with("uuid", p.id.to_string())
                                    .with("device", p.node.map(|n| g.node(n).name.clone()))
                                    .with("pe_start", p.pe_start)
                            })
                            .collect(),
                    ),
                )
                .with(
                    "lvs",
                    Json::Array(
                        v.vg.lvs
                            .iter()
                            .map(|l| {
                                let info = v.lv_info(&l.name);
                                let state = match info.map(|i| &i.state) {
                                    Some(LvState::Ok) | None => "ok".to_string(),
                                    Some(LvState::Partial { missing }) => {
                                        format!("partial: missing {}", missing.join(","))
                                    }
                                    Some(LvState::Unsupported { segtype }) => {
                                        crate::engine::lvm::unsupported_text(segtype)
                                    }
                                    Some(LvState::Broken(e)) => format!("broken: {e}"),
                                };
                                json::obj()
                                    .with("name", l.name.as_str())
                                    .with("uuid", l.id.to_string())
                                    .with("sectors", v.vg.lv_sectors(l))
                                    .with("visible", l.visible)
                                    .with("read_only", l.read_only)
                                    .with("activation_skip", l.activation_skip)
                                    .with(
                                        "segments",
                                        l.segments
                                            .iter()
                                            .map(|s| s.type_name.clone())
                                            .collect::<Vec<_>>(),
                                    )
                                    .with("state", state)
                                    .with(
                                        "device",
                                        info.and_then(|i| i.node).map(|n| g.node(n).name.clone()),
                                    )
                                    .with("not_readable", info.and_then(|i| i.unreadable.clone()))
                            })
                            .collect(),
                    ),
                )
        })
        .collect();
    let bcache: Vec<Json> = g
        .bcache
        .iter()
        .map(|b| {
            let (verdict, reason) = match &b.verdict {
                BcacheVerdict::Complete => ("complete", None),
                BcacheVerdict::NoCache { reason } => ("no-cache", Some(reason.clone())),
                BcacheVerdict::NotStartable { reason } => ("not-startable", Some(reason.clone())),
            };
            json::obj()
                .with("devnm", b.devnm.as_str())
                .with("key", b.key.as_str())
                .with("uuid", b.sb.uuid.as_str())
                .with("set_uuid", b.sb.set_uuid.as_str())
                .with("label", b.sb.label.clone())
                .with("state", b.sb.state().word())
                .with("cache_mode", b.sb.cache_mode().to_string())
                .with("data_offset", b.sb.data_offset)
                .with("active", b.is_running(g))
                .with("verdict", verdict)
                .with("reason", reason)
                .with("backing", g.node(b.backing).name.clone())
                .with(
                    "caches",
                    b.caches(g)
                        .into_iter()
                        .map(|c| g.node(c).name.clone())
                        .collect::<Vec<_>>(),
                )
        })
        .collect();
    let cache_sets: Vec<Json> = g
        .cache_sets
        .iter()
        .map(|s| {
            json::obj()
                .with("uuid", s.uuid.as_str())
                .with("complete", s.complete)
                .with(
                    "members",
                    Json::Array(
                        s.members
                            .iter()
                            .map(|(n, sb)| {
                                json::obj()
                                    .with("device", g.node(*n).name.clone())
                                    .with("uuid", sb.uuid.as_str())
                                    .with("nr_this_dev", sb.nr_this_dev)
                            })
                            .collect(),
                    ),
                )
        })
        .collect();
    let (problems, warnings) = problem_lines(g);
    json::obj()
        .with("devices", Json::Array(devices))
        .with("arrays", Json::Array(arrays))
        .with("vgs", Json::Array(vgs))
        .with("bcache", Json::Array(bcache))
        .with("cache_sets", Json::Array(cache_sets))
        .with("luks", Json::Array(luks))
        .with("problems", problems)
        .with("warnings", warnings)
}

#[cfg(test)]
mod tests {
    use super::{fmt_size, problem_lines};
    use crate::engine::fixtures;
    use crate::plan::build::{build, Selection};

    /// lvmfaults case `mda`: garbage over vda's only metadata area header and over the text
    /// ring of vdb's first area. The VG is read from vdb's second area; each bad copy is
    /// reported with device, format, byte offset and field (the first line exactly as the VM
    /// console showed it).
    #[test]
    fn bad_metadata_copies_are_reported() {
        let mut vda = fixtures::disk("lvmfaults", "vda");
        vda.patch(4096, &fixtures::garbage(1));
        let mut vdb = fixtures::disk("lvmfaults", "vdb");
        vdb.patch(9 * 512, &fixtures::garbage(2039));
        let g = fixtures::graph(vec![("vda", vda), ("vdb", vdb)], &[]);
        let (problems, warnings) = problem_lines(&g);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert_eq!(
            warnings[0],
            r#"vda: lvm2 at byte 4100: mda_header.magic: found "AGE GARBAGE GARB", expected " LVM2 x[5A%r0N*>""#
        );
        assert!(
            warnings[1].starts_with("vdb: lvm2 at byte ")
                && warnings[1].contains(": metadata text (raw_locn[0].checksum): found 0x"),
            "{}",
            warnings[1]
        );
        let plan = build(&g, &Selection::default());
        assert_eq!(plan.steps.len(), 4, "{plan}");
    }

    /// A disk whose primary GPT is gone (lvmfaults/gptbad): the bad header and the fallback
    /// are both said, as the VM console shows them.
    #[test]
    fn backup_gpt_is_reported() {
        use crate::engine::fixtures::{gptbad_system, TempDir};
        let t = TempDir::new();
        let g = crate::engine::discover(
            &gptbad_system(&t, &[], false),
            crate::engine::Settings::default(),
        );
        let (_, warnings) = problem_lines(&g);
        assert_eq!(
            warnings,
            [
                r#"vdd: gpt at byte 512: signature: found "\0\0\0\0\0\0\0\0", expected "EFI PART" (a protective MBR is present)"#,
                "vdd: the primary GPT is unusable (above); the backup GPT at the last LBA is used; the kernel makes no partitions from it (only when booted with `gpt`), so they are mapped as kpartx does",
            ]
        );
    }

    /// bcache: each member says what it is to the bcache device (make-bcache fixtures).
    #[test]
    fn bcache_members_say_what_they_are() {
        use crate::formats::fs::bcache::tests::fixture;
        let g = fixtures::graph(vec![("vda", fixture("wb")), ("vdb", fixture("cache"))], &[]);
        let st = |n: &str| super::node_state(&g, g.by_name(n).unwrap());
        assert_eq!(
            st("vdb"),
            "cache device of set 4e5f6071-8293-4a4b-85c6-d7e8f90a1b2c for bcache0"
        );
        assert_eq!(
            st("vda"),
            "backing device of bcache0 (detached, writeback, cache set 4e5f6071-8293-4a4b-85c6-d7e8f90a1b2c)"
        );
        assert_eq!(
            st("bcache0"),
            "detached, writeback, cache set 4e5f6071-8293-4a4b-85c6-d7e8f90a1b2c; inactive"
        );
        let j = super::json(&g).to_string();
        assert!(j.contains(r#""bcache":[{"devnm":"bcache0""#), "{j}");
    }

    #[test]
    fn sizes() {
        assert_eq!(fmt_size(512), "512B");
        assert_eq!(fmt_size(64 << 20), "64M");
        assert_eq!(fmt_size(1536 << 20), "1.5G");
    }
}
