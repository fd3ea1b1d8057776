//! Grouping and choice, read-only: devices and what the probes found on them → an object graph
//! of disks → segments (partitions) → regions (MD arrays, LVs) → volumes (what they hold).
//!
//! Call hierarchy:
//! ```text
//! discover(inputs)
//!   ├─ add_base_nodes        live: sysfs records (+ /dev nodes to read); images: files
//!   └─ loop until nothing new (bounded):
//!        probe_new_nodes     probe::probe_device on each new node (the ordered registry)
//!        partitions          image/DM nodes: slices for each table entry (kernel disks have
//!                            their own partitions in sysfs; those get the table's PARTUUIDs)
//!        md::group           members by array UUID → arrays with member states and verdicts;
//!                            startable arrays get a node (the kernel's if running, else one
//!                            read in user space through source::layout)
//!        bcache::group       backing devices with their cache sets → bcache devices; runnable
//!                            ones get a node (the kernel's bcacheN, else the backing
//!                            device's data read in user space)
//!        lvm::group          PVs by VG id → newest metadata, missing PVs, LV states; usable LVs
//!                            get a node the same way
//!        crypt::group        LUKS headers → volumes (named as crypttab or systemd names them);
//!                            the kernel's device when open, else read in user space once the
//!                            run holds the key, else a locked node
//! ```
//! Nodes are keyed by a stable identity ("dev:vda", "md:<uuid>", "lv:<vgid>/<lvid>",
//! "<parent key>:p<N>") so a kernel device and the object it realises are one node, and a
//! second discovery of the same thing adds nothing: that is what bounds stacking and makes
//! cycles (a PV inside its own LV) terminate.

pub mod bcache;
pub mod crypt;
pub mod lvm;
pub mod md;
pub mod names;

use crate::error::ProbeError;
use crate::formats::part::PartTable;
use crate::probe::{self, Content};
use crate::source::layout::{Layout, Mapped, Src};
use crate::source::sysfs::{self, BlockDev, DevNo};
use crate::source::{FileDev, LazyDev, ReadAt};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Index of a node in [`Graph::nodes`].
pub type NodeId = usize;

/// Upper bounds that keep discovery finite on hostile input (documented in the README).
pub const MAX_NODES: usize = 4096;
pub const MAX_ROUNDS: usize = 32;
/// Deepest stack of objects read through one another in user space.
pub const MAX_DEPTH: usize = 16;

/// A kernel block device a node corresponds to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelDev {
    pub name: String,
    pub devno: DevNo,
    pub dm_name: Option<String>,
    pub dm_uuid: Option<String>,
}

impl KernelDev {
    /// The kernel name and DM name, each bare and as a /dev path.
    pub fn names(&self) -> Vec<String> {
        let mut v = vec![self.name.clone(), format!("/dev/{}", self.name)];
        if let Some(d) = &self.dm_name {
            v.push(d.clone());
            v.push(format!("/dev/mapper/{d}"));
        }
        v
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeKind {
    /// A whole disk (kernel disk or image file).
    Disk,
    /// A partition of `parent`: kernel-made (live disks, MD arrays) or a slice we read (images,
    /// partitions inside DM devices, arrays not running yet).
    Partition {
        parent: NodeId,
        number: u32,
        start: u64,
    },
    /// The object of an MD array (index into [`Graph::arrays`]).
    Md { array: usize },
    /// An LV of a VG (index into [`Graph::vgs`]).
    Lv { vg: usize, lv: String },
    /// A bcache device (index into [`Graph::bcache`]).
    Bcache { dev: usize },
    /// A DM or MD device in the kernel that no metadata we read explains (plain dm-crypt,
    /// multipath...).
    OtherKernel,
    /// A LUKS volume's decrypted device (index into [`Graph::cryptvols`]).
    Crypt { vol: usize },
}

/// One device or assembled object.
pub struct Node {
    pub key: String,
    /// Display name: kernel name, image name, "md127", "vg0/root".
    pub name: String,
    pub kind: NodeKind,
    pub size: u64,
    pub lbs: u32,
    /// Set when the object exists in the kernel.
    pub kernel: Option<KernelDev>,
    /// Objects this one is built from (members, PVs, the parent disk).
    pub parents: Vec<NodeId>,
    pub content: Content,
    /// Problems found while probing it (a bad copy where a good one was used, ...).
    pub warnings: Vec<ProbeError>,
    /// Partition-table entry facts for partitions (PARTUUID, PARTLABEL, type).
    pub part_entry: Option<crate::formats::part::Partition>,
    /// Depth of user-space stacking (0 for devices read directly).
    pub depth: usize,
    /// Left unread because the device filter ([`Settings::exclude`]) names it or what it is
    /// built on: nothing on it takes part in grouping.
    pub excluded: bool,
    reader: Option<Src>,
    probed: bool,
}

impl Node {
    pub fn reader(&self) -> Option<&Src> {
        self.reader.as_ref()
    }
    pub fn is_active(&self) -> bool {
        self.kernel.is_some()
    }
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("key", &self.key)
            .field("name", &self.name)
            .field("kind", &self.kind)
            .finish()
    }
}

/// Where devices come from.
#[derive(Clone)]
pub enum Inputs {
    /// The running system: `sys` is the sysfs root, `dev` the device-node directory.
    Live { sys: PathBuf, dev: PathBuf },
    /// Image files as whole disks: (name, path).
    Images(Vec<(String, PathBuf)>),
    /// In-memory byte sources as whole disks, discovered exactly like image files (the
    /// multi-disk fuzz target and tests that build disks in memory).
    Mem(Vec<(String, Src)>),
}

impl std::fmt::Debug for Inputs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Inputs::Live { sys, dev } => f
                .debug_struct("Live")
                .field("sys", sys)
                .field("dev", dev)
                .finish(),
            Inputs::Images(v) => f.debug_tuple("Images").field(v).finish(),
            Inputs::Mem(v) => {
                let sizes: Vec<(&str, u64)> =
                    v.iter().map(|(n, s)| (n.as_str(), s.size())).collect();
                f.debug_tuple("Mem").field(&sizes).finish()
            }
        }
    }
}

/// Site settings that influence names and choices.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// mdadm's homehost (mdadm.conf HOMEHOST, else the host name).
    pub homehost: Option<String>,
    /// ARRAY lines of mdadm.conf: uuid → device name.
    pub md_arrays: Vec<(crate::ids::MdUuid, String)>,
    /// lvm's local system id (none configured means VGs with a system_id are foreign).
    pub system_id: Option<String>,
    /// Device filter: globs (`--exclude`, evms.conf `exclude`) naming devices that are not
    /// read at all, with everything on them (a disk's partitions). Unlike the plan's volume
    /// filter it acts before grouping, so it is how a duplicate (a cloned PV, a split-off
    /// mirror half) is set aside: lvm's `devices/filter` and mdadm's DEVICE line do the same.
    pub exclude: Vec<String>,
    /// crypttab entries (and the boot command line's `rd.luks.*` volumes): the names LUKS
    /// volumes are opened under and their options.
    pub crypttab: Vec<crate::config::crypttab::Entry>,
    /// Volume keys opened in this run: volumes whose key is here are read through.
    pub keys: crate::unlock::Keys,
}

/// The object graph.
#[derive(Default)]
pub struct Graph {
    pub nodes: Vec<Node>,
    pub arrays: Vec<md::Array>,
    pub vgs: Vec<lvm::VolGroup>,
    pub cryptvols: Vec<crypt::CryptVol>,
    /// Problems not tied to one node (duplicates, limits reached).
    pub problems: Vec<String>,
    by_key: HashMap<String, NodeId>,
    pub settings: Settings,
    /// Live mode (kernel devices) rather than image files.
    pub live: bool,
    /// Live md devices: node → member kernel names (from sysfs `md/dev-*`).
    pub md_members: HashMap<NodeId, Vec<String>>,
    /// bcache devices (one per backing device) and cache sets.
    pub bcache: Vec<bcache::BcacheDev>,
    pub cache_sets: Vec<bcache::CacheSet>,
    /// Whole bcache superblocks of the devices blkid named bcache (None: unusable, warned).
    pub(crate) bcache_sb: HashMap<NodeId, Option<crate::formats::fs::bcache::BcacheSuper>>,
    /// Live devices stacked on others: node → kernel names of sysfs `slaves` (bcacheN's
    /// backing device).
    pub slaves: HashMap<NodeId, Vec<String>>,
    /// What an earlier discovery in the same activation found on each object, by key (see
    /// [`discover_again`]); taken by `probe_new` instead of reading the object again.
    known: HashMap<String, Known>,
}

/// An object's size and probe result, carried from one activation round to the next.
struct Known {
    size: u64,
    content: Content,
    warnings: Vec<ProbeError>,
}

impl Graph {
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id]
    }

    pub fn by_key(&self, key: &str) -> Option<NodeId> {
        self.by_key.get(key).copied()
    }

    pub fn by_name(&self, name: &str) -> Option<NodeId> {
        self.nodes.iter().position(|n| n.name == name)
    }

    /// Every node's children (the nodes built directly on it, in node order), from one pass
    /// over the parent lists: a walk that asked node by node was quadratic (a million parent
    /// lookups to print a VG of 1000 LVs).
    pub fn children(&self) -> Vec<Vec<NodeId>> {
        let mut kids: Vec<Vec<NodeId>> = vec![Vec::new(); self.nodes.len()];
        for (c, n) in self.nodes.iter().enumerate() {
            for &p in &n.parents {
                if let Some(k) = kids.get_mut(p) {
                    if k.last() != Some(&c) {
                        k.push(c);
                    }
                }
            }
        }
        kids
    }

    /// Every node `id` is built from, transitively (bounded; cycles cannot loop).
    pub fn ancestors(&self, id: NodeId) -> Vec<NodeId> {
        let mut seen = vec![false; self.nodes.len()];
        let mut stack = self.nodes[id].parents.clone();
        let mut out = Vec::new();
        while let Some(p) = stack.pop() {
            if p >= seen.len() || seen[p] {
                continue;
            }
            seen[p] = true;
            out.push(p);
            stack.extend(self.nodes[p].parents.iter().copied());
        }
        out
    }

    /// Adds a node unless one with the same key exists; returns its id and whether it is new.
    fn add(&mut self, mut node: Node) -> Option<(NodeId, bool)> {
        if let Some(&id) = self.by_key.get(&node.key) {
            return Some((id, false));
        }
        if self.nodes.len() >= MAX_NODES {
            self.problems.push(format!(
                "more than {MAX_NODES} objects: {} and what follows it were not examined",
                node.name
            ));
            return None;
        }
        if node.lbs == 0 {
            node.lbs = 512;
        }
        let id = self.nodes.len();
        self.by_key.insert(node.key.clone(), id);
        self.nodes.push(node);
        Some((id, true))
    }

    /// Builds a node for an object read in user space.
    fn add_mapped(
        &mut self,
        key: String,
        name: String,
        kind: NodeKind,
        parents: Vec<NodeId>,
        layout: Layout,
    ) -> Option<(NodeId, bool)> {
        if let Some(&id) = self.by_key.get(&key) {
            return Some((id, false));
        }
        let depth = parents
            .iter()
            .map(|&p| self.nodes[p].depth)
            .max()
            .unwrap_or(0)
            + 1;
        let lbs = parents
            .iter()
            .map(|&p| self.nodes[p].lbs)
            .max()
            .unwrap_or(512);
        if depth > MAX_DEPTH {
            self.problems.push(format!(
                "{name}: stacked more than {MAX_DEPTH} levels deep; not examined"
            ));
            return None;
        }
        let size = layout.len();
        let reader: Src = Arc::new(Mapped::new(layout, lbs));
        self.add(Node {
            key,
            name,
            kind,
            size,
            lbs,
            kernel: None,
            parents,
            content: Content::Unknown,
            warnings: Vec::new(),
            part_entry: None,
            depth,
            excluded: false,
            reader: Some(reader),
            probed: false,
        })
    }
}

impl Graph {
    /// A node for an object that exists on paper but cannot be read (an LV with missing PVs).
    fn add_unreadable(
        &mut self,
        key: String,
        name: String,
        kind: NodeKind,
        parents: Vec<NodeId>,
        size: u64,
    ) -> Option<(NodeId, bool)> {
        self.add(Node {
            key,
            name,
            kind,
            size,
            lbs: 512,
            kernel: None,
            parents,
            content: Content::Unknown,
            warnings: Vec::new(),
            part_entry: None,
            depth: 0,
            excluded: false,
            reader: None,
            probed: true,
        })
    }

    /// Gives node `id` a new identity (a kernel md device recognised as an array).
    fn rekey(&mut self, id: NodeId, key: String) {
        self.by_key.retain(|_, v| *v != id);
        self.by_key.insert(key.clone(), id);
        self.nodes[id].key = key;
    }
}

/// Runs discovery to a fixed point.
pub fn discover(inputs: &Inputs, settings: Settings) -> Graph {
    discover_with(inputs, settings, HashMap::new(), &HashMap::new())
}

/// Discovery again after an activation round of the same run: the system is read as
/// [`discover`] does (sysfs, kernel devices, grouping), but an object `prev` already probed
/// (read in user space before its kernel device existed, or read in the kernel) is not read
/// again: activation writes nothing that a probe sees there, and what the kernel device
/// shows is what the user-space layout showed (the MD, striped and linear mappings the
/// md-data and vm suites compare with the kernel's). MD members are read again (starting an
/// array updates their superblocks), and so is anything whose probe failed or whose size
/// differs. Reading every new LV a second time was half of an activation at 1000 LVs.
///
/// `made` holds the DM devices the rounds so far created, by kernel name: their sysfs
/// records are taken from there (see [`sysfs::read_block_devices_knowing`]); what they
/// hold is still read (or carried over) as for any device.
pub fn discover_again(
    inputs: &Inputs,
    settings: Settings,
    prev: Graph,
    made: &HashMap<String, sysfs::Known>,
) -> Graph {
    discover_with(inputs, settings, carried_over(prev), made)
}

/// What a later round may take from `prev` without reading again: every probed object except
/// MD members (their superblocks change as arrays start), broken or unreadable ones, and
/// objects nothing could read (a thin LV, a snapshot: no reader, so no content was seen; once
/// the kernel's device exists it must be read).
fn carried_over(prev: Graph) -> HashMap<String, Known> {
    let mut known = HashMap::new();
    for n in prev.nodes {
        if !n.probed
            || n.reader.is_none()
            || n.excluded
            || matches!(n.content, Content::MdMember(_) | Content::Broken(_))
            || n.warnings
                .iter()
                .any(|w| matches!(w, ProbeError::Io { .. }))
        {
            continue;
        }
        known.insert(
            n.key,
            Known {
                size: n.size,
                content: n.content,
                warnings: n.warnings,
            },
        );
    }
    known
}

fn discover_with(
    inputs: &Inputs,
    settings: Settings,
    known: HashMap<String, Known>,
    made: &HashMap<String, sysfs::Known>,
) -> Graph {
    let mut g = Graph {
        settings,
        known,
        ..Graph::default()
    };
    match inputs {
        Inputs::Live { sys, dev } => {
            g.live = true;
            add_live(&mut g, sys, dev, made);
        }
        Inputs::Images(files) => {
            for (name, path) in files {
                add_image(&mut g, name, path);
            }
        }
        Inputs::Mem(disks) => {
            for (name, src) in disks {
                add_disk(&mut g, name, src.clone());
            }
        }
    }
    for _round in 0..MAX_ROUNDS {
        let before = g.nodes.len();
        probe_new(&mut g);
        add_partitions(&mut g);
        md::group(&mut g);
        bcache::group(&mut g);
        lvm::group(&mut g);
        crypt::group(&mut g);
        if g.nodes.len() == before && g.nodes.iter().all(|n| n.probed) {
            g.known.clear();
            return g;
        }
    }
    g.problems.push(format!(
        "discovery did not settle after {MAX_ROUNDS} rounds; the result may be incomplete"
    ));
    g.known.clear();
    g
}

fn add_image(g: &mut Graph, name: &str, path: &Path) {
    match FileDev::open(path, 512) {
        Ok(f) => add_disk(g, name, Arc::new(f)),
        Err(err) => {
            g.problems
                .push(format!("{name}: cannot open {}: {err}", path.display()));
        }
    }
}

/// A whole disk read through `src` (an image file or a source in memory).
fn add_disk(g: &mut Graph, name: &str, src: Src) {
    g.add(Node {
        key: format!("img:{name}"),
        name: name.to_string(),
        kind: NodeKind::Disk,
        size: src.size(),
        lbs: src.logical_block_size(),
        kernel: None,
        parents: vec![],
        content: Content::Unknown,
        warnings: vec![],
        part_entry: None,
        depth: 0,
        excluded: false,
        reader: Some(src),
        probed: false,
    });
}

/// Adds the kernel's block devices: disks and partitions first (partitions point at their
/// disk), then MD and DM devices, keyed by what they realise when we can tell.
fn add_live(g: &mut Graph, sys: &Path, dev: &Path, made: &HashMap<String, sysfs::Known>) {
    let devs = match sysfs::read_block_devices_knowing(sys, made) {
        Ok(d) => d,
        Err(e) => {
            g.problems.push(format!(
                "cannot read block devices from {}: {e}",
                sys.display()
            ));
            return;
        }
    };
    // Parents before children so a partition can refer to its disk's node, and DM devices
    // last: a kpartx map over a disk names its parent by device number.
    let is_dm = |d: &&BlockDev| d.dm_uuid.is_some() || d.dm_name.is_some();
    let devs: Vec<&BlockDev> = devs.iter().filter(|d| worth_reading(d)).collect();
    let mut order: Vec<&BlockDev> = devs
        .iter()
        .copied()
        .filter(|d| !d.is_partition() && !is_dm(d))
        .collect();
    order.extend(devs.iter().filter(|d| d.is_partition() && !is_dm(d)));
    order.extend(devs.iter().filter(|d| is_dm(d)));
    for d in order {
        add_kernel_dev(g, d, dev);
    }
}

/// Floppy drives (major 2) are never read, as udev's 60-persistent-storage.rules never probes
/// `fd*`: opening an empty drive blocks for seconds and finds nothing. Disks of size 0 (an
/// empty card reader or CD drive, an unbound loop device) hold nothing to read either; MD and DM
/// devices of size 0 are kept (an inactive array being assembled, a DM device without a table:
/// activation must see them).
fn worth_reading(d: &BlockDev) -> bool {
    const FLOPPY_MAJOR: u32 = 2;
    let stacked = d.md.is_some() || d.dm_uuid.is_some() || d.dm_name.is_some();
    d.devno.major != FLOPPY_MAJOR && (d.size > 0 || stacked)
}

/// The key a kernel device realises: LVs by DM UUID, arrays are keyed later by their members'
/// UUID (see md::group), partitions by their parent's key.
fn kernel_key(g: &Graph, d: &BlockDev) -> String {
    if let Some(u) = &d.dm_uuid {
        if let Some(k) = lvm::key_from_dm_uuid(u) {
            return k;
        }
        if let Some((n, parent_uuid)) = names::kpartx_uuid_parts(u) {
            if let Some(pk) = lvm::key_from_dm_uuid(parent_uuid) {
                return format!("{pk}:p{n}");
            }
            if let Some(id) = kpartx_disk_parent(g, u) {
                return format!("{}:p{n}", g.nodes[id].key);
            }
        }
        if let Some(k) = crypt::key_from_dm_uuid(u) {
            return k;
        }
        return format!("dm:{u}");
    }
    if let (Some(n), Some(parent)) = (d.partition, &d.parent) {
        let pk = by_kernel_name(g, parent)
            .map(|p| g.nodes[p].key.clone())
            .unwrap_or_else(|| format!("dev:{parent}"));
        return format!("{pk}:p{n}");
    }
    format!("dev:{}", d.name)
}

/// The node of kernel device `name` (a partition's parent): a plain disk by its key, in
/// constant time (asked for every partition, a search of all nodes made discovering hundreds
/// of partitioned disks quadratic); an array or DM device, which carries another key, by name.
fn by_kernel_name(g: &Graph, name: &str) -> Option<NodeId> {
    g.by_key(&format!("dev:{name}"))
        .filter(|&i| g.nodes[i].name == name)
        .or_else(|| g.by_name(name))
}

/// The disk node a kpartx map over a non-DM device belongs to (`part<n>-devnode_MAJ:MIN_...`).
fn kpartx_disk_parent(g: &Graph, dm_uuid: &str) -> Option<NodeId> {
    let (_, parent) = names::kpartx_uuid_parts(dm_uuid)?;
    let devno = names::parse_kpartx_nondm_parent(parent)?;
    g.nodes
        .iter()
        .position(|n| n.kernel.as_ref().is_some_and(|k| k.devno == devno))
}

/// Adds (or refreshes) one kernel device; returns its node.
pub fn add_kernel_dev(g: &mut Graph, d: &BlockDev, dev_dir: &Path) -> Option<NodeId> {
    let key = kernel_key(g, d);
    let kernel = KernelDev {
        name: d.name.clone(),
        devno: d.devno,
        dm_name: d.dm_name.clone(),
        dm_uuid: d.dm_uuid.clone(),
    };
    if let Some(id) = g.by_key(&key) {
        // The object we read in user space now exists in the kernel: read it there from now on.
        let n = &mut g.nodes[id];
        if n.kernel.is_none() {
            n.kernel = Some(kernel);
            // Opened on its first read: a later round takes what it holds from this one, so
            // most such devices (every LV just activated) are never read again.
            n.reader = Some(Arc::new(LazyDev::new(
                &dev_dir.join(&d.name),
                d.size,
                d.logical_block_size,
            )));
        }
        return Some(id);
    }
    let mut parent = d.parent.as_ref().and_then(|p| by_kernel_name(g, p));
    // A kpartx map of a disk's partition (ours or kpartx's): the partition of that disk. Its
    // start is taken from the disk's table in add_partitions.
    let kpartx_part = d.dm_uuid.as_deref().and_then(|u| {
        let (n, _) = names::kpartx_uuid_parts(u)?;
        Some((n, kpartx_disk_parent(g, u)?))
    });
    if let Some((_, disk)) = kpartx_part {
        parent = Some(disk);
    }
    let kind = match (d.partition, parent, kpartx_part) {
        (_, _, Some((number, disk))) => NodeKind::Partition {
            parent: disk,
            number,
            start: 0,
        },
        (Some(number), Some(parent), None) => NodeKind::Partition {
            parent,
            number,
            start: d.start.unwrap_or(0),
        },
        _ if d.dm_uuid.is_some() || d.md.is_some() => NodeKind::OtherKernel,
        _ => NodeKind::Disk,
    };
    let path = dev_dir.join(&d.name);
    let known = g.known.get(&key).is_some_and(|k| k.size == d.size);
    let reader: Option<Src> = if known {
        // Its probe result carries over: opened only if something reads through it.
        Some(Arc::new(LazyDev::new(&path, d.size, d.logical_block_size)))
    } else {
        match FileDev::open(&path, d.logical_block_size) {
            Ok(f) => Some(Arc::new(f)),
            // No medium in the drive: nothing to read, nothing wrong.
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(nix::libc::ENOMEDIUM) | Some(nix::libc::ENXIO)
                ) =>
            {
                log::debug!("{}: no medium ({e})", d.name);
                None
            }
            Err(e) => {
                g.problems
                    .push(format!("{}: cannot open {}: {e}", d.name, path.display()));
                None
            }
        }
    };
    let name = match &d.dm_name {
        Some(n) => n.clone(),
        None => d.name.clone(),
    };
    let parents = parent.into_iter().collect();
    let md_members = d.md.as_ref().map(|m| m.members.clone());
    let slaves = d.slaves.clone();
    let added = g.add(Node {
        key,
        name,
        kind,
        size: d.size,
        lbs: d.logical_block_size,
        kernel: Some(kernel),
        parents,
        content: Content::Unknown,
        warnings: vec![],
        part_entry: None,
        depth: 0,
        excluded: false,
        reader,
        probed: false,
    });
    if let (Some((id, _)), Some(m)) = (added, md_members) {
        g.md_members.insert(id, m);
    }
    if let (Some((id, true)), false) = (added, slaves.is_empty()) {
        g.slaves.insert(id, slaves);
    }
    added.map(|(id, _)| id)
}

/// The names the device filter matches a node by: its name, its kernel name and DM name,
/// each bare and as a /dev path.
fn device_names(n: &Node) -> Vec<String> {
    let mut v = vec![n.name.clone(), format!("/dev/{}", n.name)];
    if let Some(k) = &n.kernel {
        v.extend(k.names());
    }
    v
}

/// Whether the device filter leaves node `id` unread: it is named, or built on a node that is.
fn excluded_by_filter(g: &Graph, id: NodeId) -> bool {
    let pats = &g.settings.exclude;
    if pats.is_empty() {
        return false;
    }
    g.nodes[id].parents.iter().any(|&p| g.nodes[p].excluded)
        || device_names(&g.nodes[id])
            .iter()
            .any(|n| pats.iter().any(|p| crate::glob::matches(p, n)))
}

fn probe_new(g: &mut Graph) {
    // Partitions after the rest: a partition's treatment depends on its parent's content.
    let is_part = |g: &Graph, i: NodeId| matches!(g.nodes[i].kind, NodeKind::Partition { .. });
    let order: Vec<NodeId> = (0..g.nodes.len())
        .filter(|&i| !is_part(g, i))
        .chain((0..g.nodes.len()).filter(|&i| is_part(g, i)))
        .collect();
    for id in order {
        if g.nodes[id].probed {
            continue;
        }
        g.nodes[id].probed = true;
        if excluded_by_filter(g, id) {
            g.nodes[id].excluded = true;
            continue;
        }
        // Parts of LVs (lvm2's stand-ins for missing areas, RAID images, mirror legs, the
        // pvmove LV, layers): what they hold is the LV's, read through the LV (lvm2 keeps
        // udev's probes off them too). A RAID1 image holds the same filesystem as its LV.
        if g.nodes[id].kernel.as_ref().is_some_and(|k| {
            let (Some(n), Some(u)) = (k.dm_name.as_deref(), k.dm_uuid.as_deref()) else {
                return false;
            };
            crate::formats::lvm::names::private_device(n, u)
        }) {
            continue;
        }
        if let Some(k) = g.known.remove(&g.nodes[id].key) {
            if k.size == g.nodes[id].size {
                let n = &mut g.nodes[id];
                n.content = k.content;
                n.warnings = k.warnings;
                continue;
            }
        }
        // A partition the kernel made from what a container's device shows (the first IMSM
        // member shows the array's partition table; a DRBD backing device its data's): the
        // container's own driver is the way in, so nothing in it is read or used.
        if let NodeKind::Partition { parent, .. } = g.nodes[id].kind {
            if let Content::Fs(c) = &g.nodes[parent].content {
                if let Some(what) = c.reported_only() {
                    let err = crate::error::FormatError::field(
                        c.fstype,
                        0,
                        "partition",
                        format!("a partition of {}, which is {what}", g.nodes[parent].name),
                        "none: what the container holds is reached through its driver (not read)",
                    );
                    let name = g.nodes[id].name.clone();
                    g.nodes[id].warnings = vec![probe::format_err(&name, err)];
                    continue;
                }
            }
        }
        let Some(reader) = g.nodes[id].reader.clone() else {
            continue;
        };
        // Partition tables are read on anything that is not itself a partition: disks, MD
        // arrays (the kernel scans them), LVs and other DM devices (kpartx's job, ours here).
        let whole_disk = !matches!(g.nodes[id].kind, NodeKind::Partition { .. });
        let rep = probe::probe_device(&g.nodes[id].name, &*reader, whole_disk);
        let n = &mut g.nodes[id];
        n.content = rep.content;
        n.warnings = rep.warnings;
    }
}

/// Whether partition node `id` needs a DM map to exist as a device (kpartx's job): inside a
/// DM device, or on a live disk whose table the kernel does not see. False for kernel-made
/// partitions and for image files.
pub fn partition_needs_map(g: &Graph, id: NodeId) -> bool {
    let NodeKind::Partition { parent, .. } = g.nodes[id].kind else {
        return false;
    };
    let p = &g.nodes[parent];
    if matches!(p.kind, NodeKind::Lv { .. } | NodeKind::Crypt { .. })
        || p.kernel.as_ref().is_some_and(|k| k.dm_uuid.is_some())
    {
        return true;
    }
    if !g.live
        || g.nodes[id]
            .kernel
            .as_ref()
            .is_some_and(|k| k.dm_uuid.is_none())
    {
        return false;
    }
    matches!(p.kind, NodeKind::Disk)
        && p.kernel.is_some()
        && matches!(&p.content, Content::PartTable(t) if !t.kernel_sees)
}

/// Partition naming as the kernel does it (`disk_name()`): a 'p' goes between a name ending
/// in a digit and the number.
pub fn partition_name(parent: &str, number: u32) -> String {
    if parent.ends_with(|c: char| c.is_ascii_digit()) {
        format!("{parent}p{number}")
    } else {
        format!("{parent}{number}")
    }
}

/// For each node holding a partition table: kernel partitions get the table's entry facts;
/// where the kernel makes no partitions (images, DM devices, arrays we read in user space),
/// slices are added as nodes.
fn add_partitions(g: &mut Graph) {
    for id in 0..g.nodes.len() {
        let Content::PartTable(pt) = &g.nodes[id].content else {
            continue;
        };
        let pt: PartTable = pt.clone();
        let parent_key = g.nodes[id].key.clone();
        let parent_name = g.nodes[id].name.clone();
        let parent_size = g.nodes[id].size;
        let kernel_parts = kernel_partitions_expected(g, id);
        for p in pt.parts.iter().filter(|p| !p.container) {
            let key = format!("{parent_key}:p{}", p.number);
            if let Some(existing) = g.by_key(&key) {
                let n = &mut g.nodes[existing];
                n.part_entry = Some(p.clone());
                // A kpartx map knows its start only from the table it was made from.
                if let NodeKind::Partition { start, .. } = &mut n.kind {
                    if n.kernel.as_ref().is_some_and(|k| k.dm_uuid.is_some()) {
                        *start = p.start;
                    }
                }
                continue;
            }
            if kernel_parts {
                // A live disk or running array: the kernel creates its partitions; one that
                // is absent from sysfs was rejected by the kernel or is not scanned yet.
                continue;
            }
            let Some(end) = p.start.checked_add(p.size).filter(|&e| e <= parent_size) else {
                g.problems.push(format!(
                    "{parent_name}: partition {} lies beyond the end of the device",
                    p.number
                ));
                continue;
            };
            let _ = end;
            let Some(src) = g.nodes[id].reader.clone() else {
                continue;
            };
            let layout = Layout::Slice {
                src,
                offset: p.start,
                len: p.size,
            };
            let name = partition_name(&display_base(g, id), p.number);
            if let Some((pid, true)) = g.add_mapped(
                key,
                name,
                NodeKind::Partition {
                    parent: id,
                    number: p.number,
                    start: p.start,
                },
                vec![id],
                layout,
            ) {
                g.nodes[pid].part_entry = Some(p.clone());
            }
        }
    }
}

/// Whether the kernel itself creates partitions for node `id`: live whole disks and running MD
/// arrays do (kernel partition scan); DM devices do not (kpartx's job), image files have no
/// kernel, and an array not started yet has no kernel device: its partitions are read in user
/// space so root= can name one before the array runs.
/// Nor does the kernel for a table it cannot see ([`PartTable::kernel_sees`]: a GPT read from
/// its backup header, a misplaced protective MBR): those partitions are ours to map.
fn kernel_partitions_expected(g: &Graph, id: NodeId) -> bool {
    let n = &g.nodes[id];
    if !g.live {
        return false;
    }
    if let Content::PartTable(t) = &n.content {
        if !t.kernel_sees {
            return false;
        }
    }
    match &n.kind {
        NodeKind::Disk => n.kernel.as_ref().is_some_and(|k| k.dm_uuid.is_none()),
        NodeKind::Md { .. } | NodeKind::Bcache { .. } => n.kernel.is_some(),
        NodeKind::OtherKernel => n.kernel.as_ref().is_some_and(|k| k.dm_uuid.is_none()),
        NodeKind::Partition { .. } | NodeKind::Lv { .. } | NodeKind::Crypt { .. } => false,
    }
}

/// The name partitions are derived from: the kernel name for disks and arrays (md127 →
/// md127p1), the DM name for LVs (vg0-data → vg0-data1, as kpartx does).
fn display_base(g: &Graph, id: NodeId) -> String {
    let n = &g.nodes[id];
    match &n.kind {
        NodeKind::Lv { vg, lv } => names::dm_name(&g.vgs[*vg].name, lv),
        NodeKind::Md { array } => g.arrays[*array].devnm.clone(),
        NodeKind::Bcache { dev } => g.bcache[*dev].devnm.clone(),
        _ => n.kernel.as_ref().map_or_else(
            || n.name.clone(),
            |k| k.dm_name.clone().unwrap_or_else(|| k.name.clone()),
        ),
    }
}

/// The fault scenarios' disks (tests/fixtures/faults, made by mdadm and lvm2 in the VM:
/// tests/vm/scenarios/splitbrain.sh and lvmfaults.sh) as graphs, for the engine, plan and
/// report tests.
#[cfg(test)]
pub(crate) mod fixtures {
    use super::{discover, Graph, Inputs, Settings};
    use crate::source::layout::Src;
    use crate::source::sparse::SparseDev;
    use crate::source::ReadAt;
    use std::fs;
    use std::os::unix::fs::symlink;
    use std::path::{Path, PathBuf};
    use std::sync::Arc;

    pub(crate) fn read(rel: &str) -> Vec<u8> {
        let p = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(rel);
        std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    /// Disk `file` of scenario `scen` (`lvmfaults/vda`).
    pub(crate) fn disk(scen: &str, file: &str) -> SparseDev {
        SparseDev::parse(&read(&format!("faults/{scen}/{file}.spr"))).unwrap()
    }

    /// `count` sectors of the damage the scenarios write (`garbage` in lvmfaults.sh): 64-byte
    /// lines "GARBAGE GARBAGE ... GARBAGE\n".
    pub(crate) fn garbage(count: usize) -> Vec<u8> {
        "GARBAGE GARBAGE GARBAGE GARBAGE GARBAGE GARBAGE GARBAGE GARBAGE\n"
            .repeat(count * 8)
            .into_bytes()
    }

    /// Image-mode discovery over (name, disk) pairs with the scenarios' homehost.
    pub(crate) fn graph(devs: Vec<(&str, SparseDev)>, exclude: &[&str]) -> Graph {
        let settings = Settings {
            homehost: Some("evms-vm".into()),
            exclude: exclude.iter().map(|s| s.to_string()).collect(),
            ..Settings::default()
        };
        let disks = devs
            .into_iter()
            .map(|(n, d)| (n.to_string(), Arc::new(d) as Src))
            .collect();
        discover(&Inputs::Mem(disks), settings)
    }

    /// Disks of an LVM segment scenario (tests/fixtures/lvm-raid/SCEN: lvraid, lvraiddeg,
    /// lvmirror, pvmove), those named; a left-out disk is a missing PV.
    pub(crate) fn lvm_raid(scen: &str, names: &[&str]) -> Graph {
        graph(
            names
                .iter()
                .map(|&n| {
                    let d = SparseDev::parse(&read(&format!("lvm-raid/{scen}/{n}.spr"))).unwrap();
                    (n, d)
                })
                .collect(),
            &[],
        )
    }

    /// lvmfaults disks by name, undamaged.
    pub(crate) fn lvmfaults(names: &[&str], exclude: &[&str]) -> Graph {
        graph(
            names.iter().map(|&n| (n, disk("lvmfaults", n))).collect(),
            exclude,
        )
    }

    pub(crate) struct TempDir(PathBuf);
    impl TempDir {
        pub(crate) fn new() -> TempDir {
            use std::sync::atomic::{AtomicUsize, Ordering};
            static N: AtomicUsize = AtomicUsize::new(0);
            let p = std::env::temp_dir().join(format!(
                "evms-engine-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::SeqCst)
            ));
            fs::create_dir_all(&p).unwrap();
            TempDir(p)
        }
        pub(crate) fn path(&self) -> &Path {
            &self.0
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn w(p: &Path, s: &str) {
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, s).unwrap();
    }

    /// vdd's bytes with its primary GPT header zeroed (the case's damage).
    fn damaged_vdd() -> Vec<u8> {
        let mut d = disk("lvmfaults", "vdd");
        d.patch(512, &[0u8; 512]);
        let mut b = vec![0u8; usize::try_from(d.size()).unwrap()];
        d.read_exact_at(0, &mut b).unwrap();
        b
    }

    /// A disk whose primary GPT is gone, as the lvmfaults/gptbad VM case has it (vdd, 254:48,
    /// with VG gp on partition 1): sysfs with vdd (and `extra` devices: a kernel partition of
    /// vdd, or with `kpartx_map` the map kpartx makes), /dev with their contents, in `t`.
    pub(crate) fn gptbad_system(
        t: &TempDir,
        extra: &[(&str, &str, u64, u64)],
        kpartx_map: bool,
    ) -> Inputs {
        let (sys, dev) = (t.path().join("sys"), t.path().join("dev"));
        let disk = sys.join("devices/pci0000:00/virtio4/block/vdd");
        w(&disk.join("dev"), "254:48\n");
        w(&disk.join("size"), "16384\n");
        w(&disk.join("queue/logical_block_size"), "512\n");
        fs::create_dir_all(sys.join("class/block")).unwrap();
        symlink(&disk, sys.join("class/block/vdd")).unwrap();
        let bytes = damaged_vdd();
        w(&dev.join("vdd"), "");
        fs::write(dev.join("vdd"), &bytes).unwrap();
        // (name, dev, start sector, sectors): a kernel partition of vdd, or the kpartx map.
        for &(name, devno, start, len) in extra {
            let dir = if kpartx_map {
                let d = sys.join("devices/virtual/block").join(name);
                w(&d.join("dm/name"), "vdd1\n");
                w(&d.join("dm/uuid"), "part1-devnode_254:48_Wh5pYvM\n");
                d
            } else {
                let d = disk.join(name);
                w(&d.join("partition"), "1\n");
                w(&d.join("start"), &format!("{start}\n"));
                d
            };
            w(&dir.join("dev"), &format!("{devno}\n"));
            w(&dir.join("size"), &format!("{len}\n"));
            symlink(&dir, sys.join("class/block").join(name)).unwrap();
            let (a, b) = (start as usize * 512, (start + len) as usize * 512);
            fs::write(dev.join(name), &bytes[a..b]).unwrap();
        }
        Inputs::Live { sys, dev }
    }
}

#[cfg(test)]
mod tests {
    //! A disk whose primary GPT is gone (the lvmfaults/gptbad VM case): the kernel makes no
    //! vdd1, so vdd1 is a partition that needs a map (plan/partition.rs maps it as kpartx
    //! does). Live discovery over a sysfs tree and device files in a temporary directory.
    use super::fixtures::{gptbad_system, TempDir};
    use super::*;

    #[test]
    fn backup_gpt_partitions_need_a_map() {
        let t = TempDir::new();
        let g = discover(&gptbad_system(&t, &[], false), Settings::default());
        let vdd = g.by_name("vdd").unwrap();
        let Content::PartTable(pt) = &g.nodes[vdd].content else {
            panic!("{:?}", g.nodes[vdd].content)
        };
        assert!(pt.backup_used && !pt.kernel_sees);
        let p = g.by_key("dev:vdd:p1").unwrap();
        assert!(partition_needs_map(&g, p));
    }

    /// Once the map exists (ours or kpartx's) it is that partition.
    #[test]
    fn an_existing_kpartx_map_is_the_partition() {
        let t = TempDir::new();
        let g = discover(
            &gptbad_system(&t, &[("dm-0", "253:0", 2048, 12288)], true),
            Settings::default(),
        );
        let p = g.by_key("dev:vdd:p1").unwrap();
        assert_eq!(g.nodes[p].name, "vdd1");
        assert!(matches!(
            g.nodes[p].kind,
            NodeKind::Partition {
                number: 1,
                start: 1048576,
                ..
            }
        ));
        assert!(g.nodes[p].kernel.is_some());
    }

    /// An LV whose content could not be read in user space (a thin LV: its blocks are mapped
    /// by the pool's b-tree) is not carried over to the next round, which must read the
    /// kernel's device (root=LABEL= on a thin LV is found only then).
    #[test]
    fn unread_objects_are_not_carried_over() {
        use crate::source::sparse::SparseDev;
        let d = SparseDev::parse(&fixtures::read("lvm/segfam/lvthin.spr")).unwrap();
        let g = fixtures::graph(vec![("vda", d)], &[]);
        let thin = g.by_name("vgt/thin1").expect("vgt/thin1 in the graph");
        assert!(g.node(thin).reader().is_none());
        let key = g.node(thin).key.clone();
        let ext = g.node(g.by_name("vgt/ext").unwrap()).key.clone();
        let known = carried_over(g);
        assert!(!known.contains_key(&key));
        assert!(
            known.contains_key(&ext),
            "a linear LV read in user space is carried over"
        );
    }

    /// A later activation round takes what the previous one read (a wiped PV label on the
    /// new source is not seen: nothing was read again), except MD members, which are read
    /// again (a wiped superblock is seen).
    #[test]
    fn discover_again_reads_only_md_members_again() {
        use crate::source::layout::Src;
        use crate::source::sparse::SparseDev;
        let settings = Settings {
            homehost: Some("evms-vm".into()),
            ..Settings::default()
        };
        let mem = |devs: Vec<(&str, SparseDev)>| {
            Inputs::Mem(
                devs.into_iter()
                    .map(|(n, d)| (n.to_string(), Arc::new(d) as Src))
                    .collect(),
            )
        };
        let disks = || {
            vec![
                ("vdf", fixtures::disk("lvmfaults", "vdf")),
                ("vda", fixtures::disk("splitbrain", "vda")),
                ("vdb", fixtures::disk("splitbrain", "vdb")),
            ]
        };
        let first = discover(&mem(disks()), settings.clone());
        let vgs = |g: &Graph| g.vgs.iter().map(|v| v.name.clone()).collect::<Vec<_>>();
        assert_eq!(vgs(&first), ["loop"]);
        assert!(matches!(
            first.nodes[first.by_name("vda").unwrap()].content,
            Content::MdMember(_)
        ));
        let wiped = || {
            let mut d = disks();
            d[0].1.patch(512, &[0; 8]); // LABELONE
            d[1].1.patch(4096, &[0; 4]); // md 1.2 magic
            d
        };
        assert!(vgs(&discover(&mem(wiped()), settings.clone())).is_empty());
        let again = discover_again(&mem(wiped()), settings, first, &HashMap::new());
        assert_eq!(vgs(&again), ["loop"]);
        assert!(matches!(
            again.nodes[again.by_name("vdf").unwrap()].content,
            Content::LvmPv(_)
        ));
        assert!(!matches!(
            again.nodes[again.by_name("vda").unwrap()].content,
            Content::MdMember(_)
        ));
    }
}
