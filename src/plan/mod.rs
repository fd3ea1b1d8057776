//! Pure planning: the engine's object graph plus a selection → an ordered list of steps.
//! `plan` prints a [`Plan`]; `activate` hands it to `exec/`. Every step says what it needs
//! (devices of earlier steps are [`DevRef::Planned`]), so the order is the dependency order.

pub mod bcache;
#[cfg(test)]
mod bcache_tests;
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
    /// Hold back LVM RAID LVs with images on missing PVs, which lvm2 (activation_mode
    /// "degraded", its default) and `activate` start degraded at once: boot waits for the
    /// missing PVs through its degraded grace period first, as it does for MD arrays.
    pub hold_degraded: bool,
}

// One per node while the plan is built, moved into the plan: the size does not matter.
#[allow(clippy::large_enum_variant)]
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
        NodeKind::Bcache { dev } => g.bcache[*dev].devnm.clone(),
        _ => n.name.clone(),
    };
    let _ = planned;
    if g.live {
        DevRef::Planned { name }
    } else {
        DevRef::Image { name }
    }
}

/// Role of an MD member in an assembly step. The kernel takes the role from the member's own
/// superblock (`ADD_NEW_DISK` before `RUN_ARRAY` passes only the device); the plan says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberRole {
    Active(u32),
    Spare,
    Journal,
    /// Rebuilding a copy of slot n beside the device still holding it (1.x REPLACEMENT).
    Replacement(u32),
}

impl fmt::Display for MemberRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MemberRole::Active(s) => write!(f, "slot {s}"),
            MemberRole::Spare => f.write_str("spare"),
            MemberRole::Journal => f.write_str("journal"),
            MemberRole::Replacement(s) => write!(f, "replacement for slot {s}"),
        }
    }
}

/// A reshape recorded in the superblocks, which the kernel resumes when the array runs
/// (mdadm hands it nothing more: `RUN_ARRAY`, Assemble.c `start_array`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MdReshape {
    /// Array sector reached (`reshape_position`).
    pub position: u64,
    /// Level as the kernel names it after the reshape ("raid5", "raid6", ...).
    pub new_level: String,
    pub delta_disks: i32,
    pub new_layout: u32,
    pub new_chunk_sectors: u32,
    /// Sectors the data offset moves by (1.x NEW_OFFSET): no backup file needed.
    pub new_offset: i32,
    pub backwards: bool,
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
    /// What the kernel takes from the superblocks besides the data (for the plan's text):
    /// "bitmap internal", "journal", "bad block log", ...
    pub features: Vec<String>,
    /// A reshape the kernel resumes when the array runs.
    pub reshape: Option<MdReshape>,
    /// `md/stripe_cache_size` mdadm writes after starting a reshaping RAID4/5/6 whose chunk
    /// needs more than the default 256 (Assemble.c `start_array`).
    pub stripe_cache_size: Option<u32>,
}

impl MdStep {
    /// md-mod and the personality of the level (and of the level a reshape leads to): the
    /// kernel asks for them by `request_module("md-level-N")` when the array runs.
    pub fn modules(&self) -> Vec<&'static str> {
        let mut v = vec!["md-mod"];
        let levels = std::iter::once(&self.level).chain(self.reshape.iter().map(|r| &r.new_level));
        for m in levels.filter_map(|l| md_level_module(l)) {
            if !v.contains(&m) {
                v.push(m);
            }
        }
        v
    }
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
    /// Every module the table's targets need, in table order.
    pub fn modules(&self) -> Vec<&'static str> {
        let mut v: Vec<&'static str> = Vec::new();
        for m in self.table.iter().flat_map(|t| t.target.modules()) {
            if !v.contains(&m) {
                v.push(m);
            }
        }
        v
    }

    /// Sum of target lengths, in sectors.
    pub fn sectors(&self) -> u64 {
        self.table.iter().fold(0u64, |a, t| a.saturating_add(t.len))
    }
}

/// Register a bcache backing device and its cache set with the kernel (udev's
/// `bcache-register`), which then creates /dev/bcacheN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BcacheStep {
    /// Stable identity ("bcache:<backing device UUID>").
    pub key: String,
    /// The kernel name expected (`bcache0`); exec reports the one the kernel gave.
    pub devnm: String,
    /// The backing device's UUID (udev's CACHED_UUID) and its cache set's.
    pub uuid: String,
    pub set_uuid: String,
    pub label: Option<String>,
    pub backing: DevRef,
    /// The cache devices of its set (none when it runs alone).
    pub caches: Vec<DevRef>,
    /// The backing device's superblock state and cache mode ("clean", "writeback").
    pub state: String,
    pub cache_mode: String,
    /// Its cache set is missing and the degraded policy runs it without (sysfs `running`).
    pub without_cache: bool,
    /// Bytes.
    pub size: u64,
    /// Links relative to /dev that udev makes (`bcache/by-uuid/U`, `bcache/by-label/L`);
    /// exec makes them when udev does not run.
    pub links: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    AssembleMd(MdStep),
    CreateDm(DmStep),
    /// Boxed: two device references and its strings would double the size of every step.
    RegisterBcache(Box<BcacheStep>),
}

impl Step {
    pub fn key(&self) -> &str {
        match self {
            Step::AssembleMd(m) => &m.key,
            Step::CreateDm(d) => &d.key,
            Step::RegisterBcache(b) => &b.key,
        }
    }

    /// Name of the device this step creates (MD kernel name or DM name).
    pub fn creates(&self) -> &str {
        match self {
            Step::AssembleMd(m) => &m.devnm,
            Step::CreateDm(d) => &d.name,
            Step::RegisterBcache(b) => &b.devnm,
        }
    }

    /// Kernel modules this step needs (loaded before it runs: boot and `activate` do).
    pub fn modules(&self) -> Vec<&'static str> {
        match self {
            Step::AssembleMd(m) => m.modules(),
            Step::CreateDm(d) => d.modules(),
            Step::RegisterBcache(_) => vec!["bcache"],
        }
    }

    /// Devices this step needs.
    pub fn needs(&self) -> Vec<&DevRef> {
        match self {
            Step::AssembleMd(m) => m.members.iter().map(|x| &x.dev).collect(),
            Step::CreateDm(d) => d.table.iter().flat_map(|t| t.target.devices()).collect(),
            Step::RegisterBcache(b) => b.caches.iter().chain([&b.backing]).collect(),
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
    /// Kernel modules the steps need (dm-mod, md-mod, raid456, dm-raid, ...), in step order,
    /// deduplicated.
    pub fn modules(&self) -> Vec<&'static str> {
        let mut v: Vec<&'static str> = Vec::new();
        for m in self.steps.iter().flat_map(Step::modules) {
            if !v.contains(&m) {
                v.push(m);
            }
        }
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
                                MemberRole::Replacement(_) => Json::from("replacement"),
                            };
                            let mut o = json::obj()
                                .with("device", x.dev.name())
                                .with("role", role)
                                .with("events", x.events);
                            if let MemberRole::Replacement(s) = x.role {
                                o.push("replaces", s);
                            }
                            o
                        })
                        .collect(),
                ),
            )
            .with("missing", m.missing.clone())
            .with("degraded", m.degraded)
            .with("features", m.features.clone())
            .with(
                "reshape",
                m.reshape.as_ref().map(|r| {
                    json::obj()
                        .with("position", r.position)
                        .with("new_level", r.new_level.as_str())
                        .with("delta_disks", r.delta_disks)
                        .with("new_layout", r.new_layout)
                        .with("new_chunk_sectors", r.new_chunk_sectors)
                        .with("new_offset", r.new_offset)
                        .with("backwards", r.backwards)
                }),
            )
            .with("modules", strings(&m.modules())),
        Step::RegisterBcache(b) => json::obj()
            .with("action", "register-bcache")
            .with("key", b.key.as_str())
            .with("devnm", b.devnm.as_str())
            .with("uuid", b.uuid.as_str())
            .with("set_uuid", b.set_uuid.as_str())
            .with("label", b.label.clone())
            .with("state", b.state.as_str())
            .with("cache_mode", b.cache_mode.as_str())
            .with("backing", b.backing.name())
            .with(
                "caches",
                b.caches
                    .iter()
                    .map(|c| c.name().to_string())
                    .collect::<Vec<_>>(),
            )
            .with("without_cache", b.without_cache)
            .with("size", b.size)
            .with(
                "links",
                b.links
                    .iter()
                    .map(|l| format!("/dev/{l}"))
                    .collect::<Vec<_>>(),
            )
            .with("modules", strings(&s.modules())),
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
            )
            .with("modules", strings(&d.modules())),
    }
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
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
                    for x in &m.features {
                        writeln!(f, "      {x}")?;
                    }
                    if let Some(r) = &m.reshape {
                        writeln!(
                            f,
                            "      reshape resumes at sector {} (to {}, {:+} disk(s), layout {}, chunk {} KiB, data offset {:+} sectors{})",
                            r.position,
                            r.new_level,
                            r.delta_disks,
                            r.new_layout,
                            r.new_chunk_sectors / 2,
                            r.new_offset,
                            if r.backwards { ", backwards" } else { "" }
                        )?;
                    }
                    writeln!(f, "      modules {}", m.modules().join(" "))?;
                }
                Step::RegisterBcache(b) => {
                    writeln!(
                        f,
                        "{:>2}. register bcache {} (backing {}: {}, {})",
                        i + 1,
                        b.devnm,
                        b.backing.name(),
                        b.state,
                        b.cache_mode
                    )?;
                    writeln!(f, "      uuid {}, cache set {}", b.uuid, b.set_uuid)?;
                    for c in &b.caches {
                        writeln!(f, "      register {} (cache)", c.name())?;
                    }
                    writeln!(f, "      register {} (backing)", b.backing.name())?;
                    if b.without_cache {
                        writeln!(
                            f,
                            "      run without its cache set (degraded): the kernel marks {} stale",
                            b.backing.name()
                        )?;
                    }
                    for l in &b.links {
                        writeln!(f, "      link /dev/{l}")?;
                    }
                    writeln!(f, "      modules {}", s.modules().join(" "))?;
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
                    writeln!(f, "      modules {}", d.modules().join(" "))?;
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
