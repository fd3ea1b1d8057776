//! Pure planning: the engine's object graph plus a selection → an ordered list of steps.
//! `plan` prints a [`Plan`]; `activate` hands it to `exec/`. Every step says what it needs
//! (devices of earlier steps are [`DevRef::Planned`]), so the order is the dependency order.

pub mod build;
pub mod crypt;
pub mod dm;
mod lvm;
mod md;
mod partition;
#[cfg(test)]
mod tests;

use crate::config::ActivateFilter;
use crate::engine::{names, Graph, NodeId, NodeKind};
use crate::ids::MdUuid;
use crate::json::{self, Json, JsonExt};
pub use dm::{DevRef, Target, TargetLine};
use std::fmt;

/// What to activate and under which policy.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Volumes named by the user (VG, VG/LV, md name/devnm/UUID, /dev path, evms name); empty
    /// means everything eligible.
    pub volumes: Vec<String>,
    /// Include/exclude globs from the command line and evms.conf.
    pub filter: Option<ActivateFilter>,
    /// Start arrays with missing members when their level allows it.
    pub degraded: bool,
    /// Activate LVs with missing PVs (missing areas become `error` targets, as lvm --partial).
    pub partial: bool,
    /// Ignore lvm's activation-skip flag (lvm -K).
    pub ignore_activation_skip: bool,
}

enum NodeStep {
    Nothing,
    Active,
    Step(Step),
    /// Several devices for one node, in order (an LV and the error devices standing in for
    /// its missing areas).
    Steps(Vec<Step>),
    Skip(String),
}

/// How a step refers to a node: its kernel device, a device an earlier step creates, or (image
/// mode) its name.
fn dev_ref(g: &Graph, id: NodeId, planned: &[NodeId]) -> DevRef {
    let n = g.node(id);
    if let Some(k) = &n.kernel {
        return DevRef::Kernel {
            devno: k.devno,
            name: k.name.clone(),
        };
    }
    let name = match &n.kind {
        NodeKind::Md { array } => g.arrays[*array].devnm.clone(),
        NodeKind::Lv { vg, lv } => names::dm_name(&g.vgs[*vg].name, lv),
        _ => n.name.clone(),
    };
    let _ = planned;
    if g.live {
        DevRef::Planned { name }
    } else {
        DevRef::Image { name }
    }
}

/// Role of an MD member in an assembly step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberRole {
    Active(u32),
    Spare,
    Journal,
}

impl fmt::Display for MemberRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MemberRole::Active(s) => write!(f, "slot {s}"),
            MemberRole::Spare => f.write_str("spare"),
            MemberRole::Journal => f.write_str("journal"),
        }
    }
}

/// A member to add to an array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MdMember {
    pub dev: DevRef,
    pub role: MemberRole,
    pub events: u64,
}

/// Assemble an MD array from its members (mdadm `--assemble`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MdStep {
    /// Stable identity of the array ("md:<uuid>").
    pub key: String,
    pub uuid: MdUuid,
    /// Metadata version text as mdadm and the kernel's `md/metadata_version` use ("1.2", "0.90").
    pub metadata: String,
    /// Kernel name mdadm would pick ("md127", or "md0" for a 0.90 preferred minor). Exec
    /// takes it when free, else the next free one as mdadm does.
    pub devnm: String,
    /// `/dev/md/NAME` link name (homehost prefix stripped as mdadm does), if any.
    pub name: Option<String>,
    /// Level as the kernel names it ("raid5", "raid1", "linear", ...).
    pub level: String,
    pub raid_disks: u32,
    /// Members in the order to add them (mdadm adds the freshest last).
    pub members: Vec<MdMember>,
    /// Active slots with no usable member.
    pub missing: Vec<u32>,
    /// True when the array starts with missing members (only with the degraded policy).
    pub degraded: bool,
    /// Size of the assembled array in bytes (for messages and checks).
    pub size: u64,
}

/// Create a DM device, load its table and resume it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DmStep {
    /// Stable identity ("lv:<vgid>/<lvid>[-layer]", "part:<parent key>:<n>").
    pub key: String,
    pub name: String,
    pub uuid: String,
    pub read_only: bool,
    pub table: Vec<TargetLine>,
    /// Flags lvm2 passes to udev in the cookie (libdm DM_UDEV_* bits, unshifted): exec writes
    /// them into the udev database record and the cookie when udev runs.
    pub udev_flags: u16,
    /// Symlinks relative to /dev, e.g. "vg0/root", "evms/lvm2/vg0/root".
    pub links: Vec<String>,
    /// What the user calls the volume ("vg0/root", "vg0/root_rimage_0", "vg0/root1").
    pub volume: String,
    /// A top-level, user-visible LV (or a partition of one).
    pub visible: bool,
    /// Persistent device number (lvm2 FIXED_MINOR), top-level only.
    pub fixed_devno: Option<crate::source::sysfs::DevNo>,
}

impl DmStep {
    /// Sum of target lengths, in sectors.
    pub fn sectors(&self) -> u64 {
        self.table.iter().fold(0u64, |a, t| a.saturating_add(t.len))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    AssembleMd(MdStep),
    CreateDm(DmStep),
}

impl Step {
    pub fn key(&self) -> &str {
        match self {
            Step::AssembleMd(m) => &m.key,
            Step::CreateDm(d) => &d.key,
        }
    }

    /// Name of the device this step creates (MD kernel name or DM name).
    pub fn creates(&self) -> &str {
        match self {
            Step::AssembleMd(m) => &m.devnm,
            Step::CreateDm(d) => &d.name,
        }
    }

    /// Devices this step needs.
    pub fn needs(&self) -> Vec<&DevRef> {
        match self {
            Step::AssembleMd(m) => m.members.iter().map(|x| &x.dev).collect(),
            Step::CreateDm(d) => d.table.iter().flat_map(|t| t.target.devices()).collect(),
        }
    }
}

/// Something the plan leaves out, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub volume: String,
    pub reason: String,
}

/// The ordered steps activation takes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub steps: Vec<Step>,
    pub skipped: Vec<Skipped>,
    /// Volumes already active in the kernel that the selection covers (nothing to do).
    pub active: Vec<String>,
}

impl Plan {
    /// Kernel modules the steps need (dm-mod, md-mod, raid456, dm-raid, ...), deduplicated.
    pub fn modules(&self) -> Vec<&'static str> {
        let mut v: Vec<&'static str> = Vec::new();
        for s in &self.steps {
            match s {
                Step::AssembleMd(m) => {
                    v.push("md-mod");
                    if let Some(module) = md_level_module(&m.level) {
                        v.push(module);
                    }
                }
                Step::CreateDm(d) => v.extend(d.table.iter().map(|t| t.target.module())),
            }
        }
        let mut seen = Vec::new();
        v.retain(|m| {
            let new = !seen.contains(m);
            seen.push(m);
            new
        });
        v
    }

    /// Kernel crypto modules the crypt steps' ciphers need, as names and `crypto-*` aliases
    /// (`crypto-xts(aes)`, `crypto-essiv`, ...; `CipherSpec::kernel_modules`), deduplicated.
    /// dm-crypt is in [`Plan::modules`]. The kernel would request these itself during the
    /// table load, through a modprobe an initramfs without one does not have.
    pub fn crypto_modules(&self) -> Vec<String> {
        let mut v: Vec<String> = Vec::new();
        for s in &self.steps {
            let Step::CreateDm(d) = s else { continue };
            for c in crypt_targets(d) {
                let Some(spec) = crate::formats::luks::spec::CipherSpec::parse(&c.cipher) else {
                    continue;
                };
                for m in spec.kernel_modules() {
                    if m != "dm-crypt" && !v.contains(&m) {
                        v.push(m);
                    }
                }
            }
        }
        v
    }

    pub fn to_json(&self) -> Json {
        let steps: Vec<Json> = self.steps.iter().map(step_json).collect();
        let skipped: Vec<Json> = self
            .skipped
            .iter()
            .map(|s| {
                json::obj()
                    .with("volume", s.volume.as_str())
                    .with("reason", s.reason.as_str())
            })
            .collect();
        json::obj()
            .with("steps", Json::Array(steps))
            .with("skipped", Json::Array(skipped))
            .with("active", self.active.clone())
            .with(
                "modules",
                self.modules()
                    .into_iter()
                    .map(String::from)
                    .collect::<Vec<_>>(),
            )
    }
}

/// The crypt targets of a DM step (a LUKS volume's).
fn crypt_targets(d: &DmStep) -> impl Iterator<Item = &dm::crypt::CryptTarget> {
    d.table.iter().filter_map(|t| match &t.target {
        Target::Crypt(c) => Some(&**c),
        _ => None,
    })
}

/// The md personality module for a kernel level name.
pub fn md_level_module(level: &str) -> Option<&'static str> {
    Some(match level {
        "linear" => "linear",
        "raid0" => "raid0",
        "raid1" => "raid1",
        "raid4" | "raid5" | "raid6" => "raid456",
        "raid10" => "raid10",
        "multipath" => "multipath",
        _ => return None,
    })
}

fn step_json(s: &Step) -> Json {
    match s {
        Step::AssembleMd(m) => json::obj()
            .with("action", "assemble-md")
            .with("key", m.key.as_str())
            .with("devnm", m.devnm.as_str())
            .with("name", m.name.clone())
            .with("uuid", m.uuid.mdadm_str())
            .with("metadata", m.metadata.as_str())
            .with("level", m.level.as_str())
            .with("raid_disks", m.raid_disks)
            .with("size", m.size)
            .with(
                "members",
                Json::Array(
                    m.members
                        .iter()
                        .map(|x| {
                            let role = match x.role {
                                MemberRole::Active(s) => Json::from(s),
                                MemberRole::Spare => Json::from("spare"),
                                MemberRole::Journal => Json::from("journal"),
                            };
                            json::obj()
                                .with("device", x.dev.name())
                                .with("role", role)
                                .with("events", x.events)
                        })
                        .collect(),
                ),
            )
            .with("missing", m.missing.clone())
            .with("degraded", m.degraded),
        Step::CreateDm(d) => json::obj()
            .with("action", "create-dm")
            .with("key", d.key.as_str())
            .with("name", d.name.as_str())
            .with("uuid", d.uuid.as_str())
            .with("volume", d.volume.as_str())
            .with("read_only", d.read_only)
            .with("luks", crypt_targets(d).find_map(|c| c.note.clone()))
            .with(
                "needs_passphrase",
                crypt_targets(d).any(|c| matches!(c.secret, dm::crypt::Secret::Locked)),
            )
            .with(
                "table",
                d.table.iter().map(|t| t.to_string()).collect::<Vec<_>>(),
            )
            .with(
                "links",
                d.links
                    .iter()
                    .map(|l| format!("/dev/{l}"))
                    .collect::<Vec<_>>(),
            ),
    }
}

impl fmt::Display for Plan {
    /// The stable text form printed by `evms-activate plan`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.steps.iter().enumerate() {
            match s {
                Step::AssembleMd(m) => {
                    write!(
                        f,
                        "{:>2}. assemble md {} ({} metadata {}",
                        i + 1,
                        m.devnm,
                        m.level,
                        m.metadata
                    )?;
                    if let Some(n) = &m.name {
                        write!(f, ", /dev/md/{n}")?;
                    }
                    writeln!(f, ", uuid {})", m.uuid)?;
                    for x in &m.members {
                        writeln!(
                            f,
                            "      add {} as {} (events {})",
                            x.dev.name(),
                            x.role,
                            x.events
                        )?;
                    }
                    if !m.missing.is_empty() {
                        let slots: Vec<String> = m.missing.iter().map(u32::to_string).collect();
                        writeln!(
                            f,
                            "      missing slot(s) {}: start degraded",
                            slots.join(", ")
                        )?;
                    }
                }
                Step::CreateDm(d) => {
                    writeln!(
                        f,
                        "{:>2}. create dm {} ({}{})",
                        i + 1,
                        d.name,
                        d.volume,
                        if d.read_only { ", read-only" } else { "" }
                    )?;
                    writeln!(f, "      uuid {}", d.uuid)?;
                    for t in &d.table {
                        writeln!(f, "      table {t}")?;
                    }
                    for c in crypt_targets(d) {
                        if let Some(n) = &c.note {
                            writeln!(f, "      luks {n}")?;
                        }
                        if matches!(c.secret, dm::crypt::Secret::Locked) {
                            writeln!(f, "      needs passphrase")?;
                        }
                    }
                    for l in &d.links {
                        writeln!(f, "      link /dev/{l}")?;
                    }
                }
            }
        }
        for a in &self.active {
            writeln!(f, "    already active: {a}")?;
        }
        for s in &self.skipped {
            writeln!(f, "    skipped {}: {}", s.volume, s.reason)?;
        }
        if self.steps.is_empty() && self.active.is_empty() && self.skipped.is_empty() {
            writeln!(f, "nothing to activate")?;
        }
        Ok(())
    }
}
