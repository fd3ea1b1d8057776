//! The only code that changes kernel state: MD assembly, DM create/load/resume, device nodes,
//! links, and the records the booted system needs (udev database entries, `/run/mdadm/map`).
//!
//! [`execute`] runs a [`Plan`] step by step, in order. A step's references to devices made by
//! earlier steps ([`DevRef::Planned`]) are resolved to the `major:minor` of the device that step
//! actually produced (the MD kernel name may differ from the planned one when it is taken). A
//! failing step is reported with the device, the kernel call, the errno and the exact table;
//! every step that needs its device is skipped with the reason, independent steps still run.
//! Nothing that already exists is replaced: a device with the same identity and the same table
//! is left alone ("present"), one with a different table or a clashing name is reported.
//! Running the same plan twice is therefore a no-op the second time.
//!
//! Every system path is a field of [`ExecEnv`] so tests can point them elsewhere. Two
//! exceptions are outside our control: the devicemapper crate opens `/dev/mapper/control` and
//! checks `/run/udev/control` itself (`core/dm.rs`, `core/dm_udev_sync.rs`).

mod bcache;
mod crypt;
mod deactivate;
mod dm;
mod md;
mod mdmap;
mod nodes;
mod records;
pub mod timing;

pub use deactivate::{
    all_ours, deactivate, deactivate_all_ours, DeactOutcome, DeactivateItem, DeactivateReport,
};
pub use md::pick_devnm;
pub use mdmap::{map_line, map_remove, map_update};
pub use records::dm_udev_record;

use crate::json::{self, Json, JsonExt};
use crate::plan::{DevRef, Plan, Step, TargetLine};
use crate::source::sysfs::DevNo;
use nix::errno::Errno;
use std::collections::HashMap;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

/// Where the system's trees are mounted. Tests point these at scratch trees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecEnv {
    /// sysfs root (`/sys`): device numbers, holders, md state, `new_array`.
    pub sys: PathBuf,
    /// device directory (`/dev`): md nodes to open, `/dev/mapper` nodes, links.
    pub dev: PathBuf,
    /// runtime directory (`/run`): `udev/control`, `udev/data`, `mdadm/map`.
    pub run: PathBuf,
    /// procfs root (`/proc`): `self/mountinfo` for the mounted check of deactivation.
    pub proc: PathBuf,
}

impl ExecEnv {
    /// The running system's paths.
    pub fn system() -> ExecEnv {
        ExecEnv::under(Path::new("/"))
    }

    /// The trees as `sys`, `dev`, `run` and `proc` below `root` (a scratch tree in tests).
    pub(crate) fn under(root: &Path) -> ExecEnv {
        ExecEnv {
            sys: root.join("sys"),
            dev: root.join("dev"),
            run: root.join("run"),
            proc: root.join("proc"),
        }
    }

    /// udev runs when its control socket exists (the test libdm's
    /// `udev_queue_get_udev_is_active` and the devicemapper crate's `udev_running` make). When it runs,
    /// udev makes `/dev/mapper/NAME`, `/dev/VG/LV`, `/dev/md/NAME` and its own database;
    /// otherwise (our initramfs) we do.
    pub fn udev_running(&self) -> bool {
        self.run.join("udev/control").exists()
    }
}

/// What `execute` may do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecOptions {
    /// Only look: check what exists, print what would be created, change nothing.
    pub dry_run: bool,
    /// Do not write udev database entries or `/run/mdadm/map` (rescue use on a running
    /// system whose udev keeps its own records).
    pub no_records: bool,
    /// Also write udev database entries (`/run/udev/data`): the boot hand-off does, so the
    /// booted system's udev treats our DM devices as its own. A command-line run does not:
    /// mdadm and libdm take an existing `/run/udev` as "udev is running" and would then wait
    /// for udev in a rescue shell that has none.
    pub udev_records: bool,
}

/// Which kind of step a report line is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepKind {
    Md,
    Dm,
    Bcache,
}

impl StepKind {
    fn word(&self) -> &'static str {
        match self {
            StepKind::Md => "md",
            StepKind::Dm => "dm",
            StepKind::Bcache => "bcache",
        }
    }
}

/// A failed kernel call or file operation, with everything needed to understand it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecError {
    /// The device the step creates (planned MD kernel name or DM name).
    pub device: String,
    /// What failed: the ioctl (`DM_TABLE_LOAD`, `ADD_NEW_DISK`, ...) or operation.
    pub action: String,
    pub errno: Option<Errno>,
    pub message: String,
    /// The exact table lines loaded (DM steps).
    pub table: Vec<String>,
    /// Where to look next.
    pub hint: Option<String>,
}

impl ExecError {
    fn new(device: &str, action: &str, errno: Option<Errno>, message: impl Into<String>) -> Self {
        ExecError {
            device: device.to_string(),
            action: action.to_string(),
            errno,
            message: message.into(),
            table: Vec::new(),
            hint: None,
        }
    }
}

impl fmt::Display for ExecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} failed", self.device, self.action)?;
        if let Some(e) = self.errno {
            // Errno displays as "EINVAL: Invalid argument".
            write!(f, ": {e}")?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        for t in &self.table {
            write!(f, "\n    table: {t}")?;
        }
        if let Some(h) = &self.hint {
            write!(f, "\n    hint: {h}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ExecError {}

/// What became of one step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Made by this run. `kernel` is the kernel name (`md127`, `dm-3`).
    Created {
        kernel: String,
        devno: DevNo,
    },
    /// Already there with the same identity and content; left alone.
    Present {
        kernel: String,
        devno: DevNo,
    },
    /// Dry run: would be created under this kernel name (MD) or DM name.
    WouldCreate {
        kernel: String,
    },
    /// Something with the same identity or name exists and differs; never replaced.
    Conflict {
        message: String,
        ours: Vec<String>,
        theirs: Vec<String>,
    },
    Failed(ExecError),
    /// Not attempted: a device it needs is missing.
    Skipped {
        reason: String,
    },
}

impl Outcome {
    /// The device the step stands for, when it exists now.
    pub fn device(&self) -> Option<(&str, DevNo)> {
        match self {
            Outcome::Created { kernel, devno } | Outcome::Present { kernel, devno } => {
                Some((kernel, *devno))
            }
            _ => None,
        }
    }

    /// Created, present or (dry run) creatable.
    pub fn is_ok(&self) -> bool {
        matches!(
            self,
            Outcome::Created { .. } | Outcome::Present { .. } | Outcome::WouldCreate { .. }
        )
    }
}

/// One step's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepReport {
    pub key: String,
    pub kind: StepKind,
    /// The name the plan gave the device (MD kernel name or DM name).
    pub name: String,
    pub outcome: Outcome,
    /// Side effects and remarks: nodes and links made, name differences, records written.
    pub notes: Vec<String>,
}

/// The result of [`execute`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecReport {
    pub dry_run: bool,
    pub steps: Vec<StepReport>,
    /// Files written for the booted system (udev records, map file).
    pub records: Vec<PathBuf>,
    /// Problems that do not fail a step (a record or link that could not be written).
    pub warnings: Vec<String>,
}

impl ExecReport {
    /// True when every step ended with its device in place (or creatable, in a dry run):
    /// the exit status of `activate`.
    pub fn ok(&self) -> bool {
        self.steps.iter().all(|s| s.outcome.is_ok())
    }

    pub fn created(&self) -> impl Iterator<Item = &StepReport> {
        self.steps
            .iter()
            .filter(|s| matches!(s.outcome, Outcome::Created { .. }))
    }

    pub fn present(&self) -> impl Iterator<Item = &StepReport> {
        self.steps
            .iter()
            .filter(|s| matches!(s.outcome, Outcome::Present { .. }))
    }

    /// Failed and conflicting steps.
    pub fn failed(&self) -> impl Iterator<Item = &StepReport> {
        self.steps
            .iter()
            .filter(|s| matches!(s.outcome, Outcome::Failed(_) | Outcome::Conflict { .. }))
    }

    pub fn skipped(&self) -> impl Iterator<Item = &StepReport> {
        self.steps
            .iter()
            .filter(|s| matches!(s.outcome, Outcome::Skipped { .. }))
    }

    /// Kernel names of the devices this run created: what `source/` rescans for stacking.
    pub fn new_devices(&self) -> Vec<(String, DevNo)> {
        self.created()
            .filter_map(|s| s.outcome.device())
            .map(|(k, d)| (k.to_string(), d))
            .collect()
    }

    pub fn to_json(&self) -> Json {
        let steps = self
            .steps
            .iter()
            .map(|s| {
                let mut o = json::obj()
                    .with("key", s.key.as_str())
                    .with("kind", s.kind.word())
                    .with("name", s.name.as_str());
                match &s.outcome {
                    Outcome::Created { kernel, devno } | Outcome::Present { kernel, devno } => {
                        let what = if matches!(s.outcome, Outcome::Created { .. }) {
                            "created"
                        } else {
                            "present"
                        };
                        o.push("result", what);
                        o.push("kernel", kernel.as_str());
                        o.push("devno", devno.to_string());
                    }
                    Outcome::WouldCreate { kernel } => {
                        o.push("result", "would-create");
                        o.push("kernel", kernel.as_str());
                    }
                    Outcome::Conflict {
                        message,
                        ours,
                        theirs,
                    } => {
                        o.push("result", "conflict");
                        o.push("message", message.as_str());
                        o.push("ours", ours.clone());
                        o.push("theirs", theirs.clone());
                    }
                    Outcome::Failed(e) => {
                        o.push("result", "failed");
                        o.push("action", e.action.as_str());
                        o.push("errno", e.errno.map(|e| e.to_string()));
                        o.push("message", e.message.as_str());
                        o.push("table", e.table.clone());
                    }
                    Outcome::Skipped { reason } => {
                        o.push("result", "skipped");
                        o.push("reason", reason.as_str());
                    }
                }
                o.with("notes", s.notes.clone())
            })
            .collect();
        json::obj()
            .with("ok", self.ok())
            .with("dry_run", self.dry_run)
            .with("steps", Json::Array(steps))
            .with(
                "records",
                self.records
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>(),
            )
            .with("warnings", self.warnings.clone())
    }
}

impl fmt::Display for ExecReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for s in &self.steps {
            let kind = s.kind.word();
            match &s.outcome {
                Outcome::Created { kernel, devno } => {
                    writeln!(f, "created {kind} {} ({kernel}, {devno})", s.name)?
                }
                Outcome::Present { kernel, devno } => writeln!(
                    f,
                    "already active {kind} {} ({kernel}, {devno}), left alone",
                    s.name
                )?,
                Outcome::WouldCreate { kernel } => {
                    writeln!(f, "would create {kind} {} as {kernel}", s.name)?
                }
                Outcome::Conflict {
                    message,
                    ours,
                    theirs,
                } => {
                    writeln!(f, "CONFLICT {kind} {}: {message}", s.name)?;
                    for t in ours {
                        writeln!(f, "    plan:   {t}")?;
                    }
                    for t in theirs {
                        writeln!(f, "    kernel: {t}")?;
                    }
                }
                Outcome::Failed(e) => writeln!(f, "FAILED {kind} {e}")?,
                Outcome::Skipped { reason } => writeln!(f, "skipped {kind} {}: {reason}", s.name)?,
            }
            for n in &s.notes {
                writeln!(f, "    {n}")?;
            }
        }
        for r in &self.records {
            writeln!(f, "wrote {}", r.display())?;
        }
        for w in &self.warnings {
            writeln!(f, "warning: {w}")?;
        }
        Ok(())
    }
}

/// Finds existing devices by name, for references to devices no step of this plan creates
/// (made by an earlier run, or by someone else). The real one reads sysfs.
pub trait Lookup {
    /// `major:minor` of the block device with this kernel name (`md127`, `dm-3`, `vda1`) or
    /// DM name (`vg0-root`).
    fn devno(&self, name: &str) -> Option<DevNo>;

    /// `major:minor` of the kernel's partition `number` of the whole device `parent`, which an
    /// earlier step made: `(kernel name, devno)`, once the kernel has scanned the device's
    /// partition table.
    fn partition(&self, parent: DevNo, number: u32) -> Option<(String, DevNo)> {
        let _ = (parent, number);
        None
    }
}

/// [`Lookup`] over a sysfs tree, with the device directory to open new devices in.
pub struct SysLookup<'a> {
    pub sys: &'a Path,
    pub dev: &'a Path,
}

/// How long a partition of a device made by this run may take to show up once its table has
/// been scanned: only a concurrent re-scan (udev's `watch` after a write) removes and re-adds
/// partitions; the scan itself is synchronous.
const PARTITION_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

impl SysLookup<'_> {
    fn class_devno(&self, name: &str) -> Option<DevNo> {
        DevNo::parse(&fs::read_to_string(self.sys.join("class/block").join(name).join("dev")).ok()?)
    }
}

impl Lookup for SysLookup<'_> {
    fn devno(&self, name: &str) -> Option<DevNo> {
        if !name.contains('/') && !name.is_empty() {
            if let Some(d) = self.class_devno(name) {
                return Some(d);
            }
        }
        dm_by_name(self.sys, name).map(|(_, d)| d)
    }

    /// The kernel creates a device's partitions when it scans its table: on the first open
    /// after the device changed (a new md array, `md_open`), or on `BLKRRPART`, as `blockdev
    /// --rereadpt` and mdadm's partition code ask for it; both are synchronous (sysfs and the
    /// devtmpfs node exist when the call returns). Tried in that order; then a bounded wait
    /// covers a concurrent re-scan by someone else.
    fn partition(&self, parent: DevNo, number: u32) -> Option<(String, DevNo)> {
        let link = fs::read_link(self.sys.join("dev/block").join(parent.to_string())).ok()?;
        let kname = link.file_name()?.to_str()?.to_string();
        let pname = crate::engine::partition_name(&kname, number);
        if let Some(d) = self.class_devno(&pname) {
            return Some((pname, d));
        }
        let node = self.dev.join(&kname);
        let f = fs::File::open(&node).ok();
        if let Some(d) = self.class_devno(&pname) {
            log::info!("{pname} appeared when {kname} was opened (partition scan)");
            return Some((pname, d));
        }
        if let Some(f) = &f {
            use std::os::fd::AsRawFd;
            // SAFETY: f is an open block device; BLKRRPART takes no argument.
            let r = unsafe { blkrrpart(f.as_raw_fd()) };
            log::info!("BLKRRPART on {kname}: {r:?}");
        }
        let t0 = std::time::Instant::now();
        loop {
            if let Some(d) = self.class_devno(&pname) {
                return Some((pname, d));
            }
            if t0.elapsed() >= PARTITION_WAIT {
                return None;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

// linux/fs.h: BLKRRPART _IO(0x12, 95).
nix::ioctl_none!(blkrrpart, 0x12, 95);

/// A planned name that is a kernel partition of a device another step makes: (that step's
/// name, partition number), as the kernel names partitions (`md127p2`, `vdb1`).
fn partition_of_planned<'a>(
    name: &'a str,
    producers: &HashMap<String, usize>,
) -> Option<(&'a str, u32)> {
    let digits = name.len() - name.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    let (head, num) = name.split_at(name.len() - digits);
    let number: u32 = num.parse().ok().filter(|&n| n > 0)?;
    [head, head.strip_suffix('p').unwrap_or("")]
        .into_iter()
        .find(|base| {
            !base.is_empty()
                && producers.contains_key(*base)
                && crate::engine::partition_name(base, number) == name
        })
        .map(|base| (base, number))
}

/// Finds a DM device by its DM name in sysfs: (kernel name, devno).
pub(crate) fn dm_by_name(sys: &Path, dm_name: &str) -> Option<(String, DevNo)> {
    let rd = fs::read_dir(sys.join("block")).ok()?;
    for e in rd.flatten() {
        let k = e.file_name().to_string_lossy().into_owned();
        if !k.starts_with("dm-") {
            continue;
        }
        let dir = e.path();
        let n = fs::read_to_string(dir.join("dm/name")).unwrap_or_default();
        if n.trim_end_matches('\n') == dm_name {
            let d = DevNo::parse(&fs::read_to_string(dir.join("dev")).ok()?)?;
            return Some((k, d));
        }
    }
    None
}

/// What a planned device turned into, as far as later steps are concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Avail {
    Dev(DevNo),
    /// Dry run: would exist; references stay names.
    Dry,
    /// The step producing it did not succeed; the reason is what dependents report.
    Missing(String),
}

/// Why a reference cannot be resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unresolved {
    /// Skip the step: a device it needs was not produced.
    Blocked(String),
    /// Fail the step: the reference cannot be honoured at all.
    Invalid(String),
}

/// Resolves one reference of step `index`: `Some(devno)`, or `None` in a dry run for a device
/// not made yet. `producers` maps planned names to the index of the step creating them; `done`
/// holds what earlier steps produced.
pub(crate) fn resolve_ref(
    r: &DevRef,
    index: usize,
    producers: &HashMap<String, usize>,
    done: &HashMap<String, Avail>,
    lookup: &dyn Lookup,
) -> Result<Option<DevNo>, Unresolved> {
    match r {
        DevRef::Kernel { devno, .. } => Ok(Some(*devno)),
        DevRef::Image { name } => Err(Unresolved::Invalid(format!(
            "{name} is an image-mode reference; image plans are never executed"
        ))),
        DevRef::Planned { name } => match producers.get(name) {
            Some(&p) if p >= index => Err(Unresolved::Invalid(format!(
                "{name} is created by step {} which comes later (plan order)",
                p + 1
            ))),
            Some(_) => match done.get(name) {
                Some(Avail::Dev(d)) => Ok(Some(*d)),
                Some(Avail::Dry) => Ok(None),
                Some(Avail::Missing(why)) => {
                    Err(Unresolved::Blocked(format!("needs {name}: {why}")))
                }
                None => Err(Unresolved::Blocked(format!(
                    "needs {name}, which was not produced"
                ))),
            },
            // A partition the kernel makes once an earlier step's device is scanned
            // (partitions inside a new array): of the device that step really made (md126
            // when md127 was taken), never a namesake.
            None => match partition_of_planned(name, producers) {
                Some((base, number)) => match done.get(base) {
                    Some(Avail::Dev(d)) => match lookup.partition(*d, number) {
                        Some((_, p)) => Ok(Some(p)),
                        None => Err(Unresolved::Invalid(format!(
                            "{name}: the kernel made no partition {number} of {base} ({d}) \
                             when its partition table was scanned"
                        ))),
                    },
                    Some(Avail::Dry) => Ok(None),
                    Some(Avail::Missing(why)) => {
                        Err(Unresolved::Blocked(format!("needs {base}: {why}")))
                    }
                    None => Err(Unresolved::Blocked(format!(
                        "needs {base}, which was not produced"
                    ))),
                },
                None => match lookup.devno(name) {
                    Some(d) => Ok(Some(d)),
                    None => Err(Unresolved::Invalid(format!(
                        "{name} does not exist and no step of the plan creates it"
                    ))),
                },
            },
        },
    }
}

/// Resolves every reference of a table: resolved ones become `Kernel` references (printed as
/// maj:min); in a dry run unresolved planned ones keep their names.
pub(crate) fn resolve_table(
    table: &[TargetLine],
    index: usize,
    producers: &HashMap<String, usize>,
    done: &HashMap<String, Avail>,
    lookup: &dyn Lookup,
) -> Result<Vec<TargetLine>, Unresolved> {
    let mut out = table.to_vec();
    for line in &mut out {
        for r in line.target.devices_mut() {
            if let Some(devno) = resolve_ref(r, index, producers, done, lookup)? {
                let name = r.name().to_string();
                *r = DevRef::Kernel { devno, name };
            }
        }
    }
    Ok(out)
}

/// Runs the plan. Never panics on kernel or plan content; every problem ends up in the report.
pub fn execute(plan: &Plan, env: &ExecEnv, opts: &ExecOptions) -> ExecReport {
    let lookup = SysLookup {
        sys: &env.sys,
        dev: &env.dev,
    };
    let mut report = ExecReport {
        dry_run: opts.dry_run,
        ..ExecReport::default()
    };
    let mut producers: HashMap<String, usize> = HashMap::new();
    for (i, s) in plan.steps.iter().enumerate() {
        producers.entry(s.creates().to_string()).or_insert(i);
    }
    let mut done: HashMap<String, Avail> = HashMap::new();
    let mut dmctl: Option<Result<dm::DmCtl, String>> = None;
    let mut taken_md: Vec<String> = Vec::new();
    let udev = env.udev_running();

    for (i, step) in plan.steps.iter().enumerate() {
        let (kind, name) = match step {
            Step::AssembleMd(m) => (StepKind::Md, m.devnm.clone()),
            Step::CreateDm(d) => (StepKind::Dm, d.name.clone()),
            Step::RegisterBcache(b) => (StepKind::Bcache, b.devnm.clone()),
        };
        let mut notes = Vec::new();
        let outcome = match step {
            Step::RegisterBcache(b) => {
                let mut devs = Vec::new();
                let mut stop = None;
                for r in b.caches.iter().chain([&b.backing]) {
                    match resolve_ref(r, i, &producers, &done, &lookup) {
                        Ok(d) => devs.push(d),
                        Err(Unresolved::Blocked(why)) => {
                            stop = Some(Outcome::Skipped { reason: why });
                            break;
                        }
                        Err(Unresolved::Invalid(why)) => {
                            stop = Some(Outcome::Failed(ExecError::new(
                                &b.devnm, "resolve", None, why,
                            )));
                            break;
                        }
                    }
                }
                match (stop, devs.split_last()) {
                    (Some(o), _) => o,
                    // Dry run over devices not made yet: nothing to look at.
                    (None, Some((None, _))) => Outcome::WouldCreate {
                        kernel: b.devnm.clone(),
                    },
                    (None, Some((Some(bk), caches))) if caches.iter().all(Option::is_some) => {
                        let caches: Vec<DevNo> = caches.iter().flatten().copied().collect();
                        bcache::register(b, *bk, &caches, env, opts, udev, &mut notes)
                    }
                    (None, _) => Outcome::WouldCreate {
                        kernel: b.devnm.clone(),
                    },
                }
            }
            Step::AssembleMd(m) => {
                let mut members = Vec::new();
                let mut stop = None;
                for x in &m.members {
                    match resolve_ref(&x.dev, i, &producers, &done, &lookup) {
                        Ok(Some(d)) => members.push(Some((x.dev.name().to_string(), d))),
                        Ok(None) => members.push(None),
                        Err(Unresolved::Blocked(why)) => {
                            stop = Some(Outcome::Skipped { reason: why });
                            break;
                        }
                        Err(Unresolved::Invalid(why)) => {
                            stop = Some(Outcome::Failed(ExecError::new(
                                &m.devnm, "resolve", None, why,
                            )));
                            break;
                        }
                    }
                }
                match stop {
                    Some(o) => o,
                    None => md::assemble(m, &members, env, opts, udev, &mut taken_md, &mut notes),
                }
            }
            Step::CreateDm(d) => match resolve_table(&d.table, i, &producers, &done, &lookup) {
                Err(Unresolved::Blocked(why)) => Outcome::Skipped { reason: why },
                Err(Unresolved::Invalid(why)) => {
                    Outcome::Failed(ExecError::new(&d.name, "resolve", None, why))
                }
                Ok(table) => {
                    let ctl = dmctl.get_or_insert_with(|| {
                        dm::DmCtl::open()
                            .map_err(|e| format!("cannot open the DM control node: {e}"))
                    });
                    match ctl {
                        Ok(ctl) => dm::create(ctl, d, &table, env, opts, udev, &mut notes),
                        Err(e) if opts.dry_run => {
                            notes.push(format!("not checked against the kernel: {e}"));
                            Outcome::WouldCreate {
                                kernel: d.name.clone(),
                            }
                        }
                        Err(e) => Outcome::Failed(ExecError::new(
                            &d.name,
                            "open /dev/mapper/control",
                            None,
                            e.clone(),
                        )),
                    }
                }
            },
        };
        match &outcome {
            Outcome::Failed(e) => log::error!("{e}"),
            Outcome::Conflict { message, .. } => log::warn!("{name}: {message}"),
            Outcome::Skipped { reason } => log::warn!("{name}: skipped: {reason}"),
            _ => {}
        }
        let avail = match &outcome {
            Outcome::Created { devno, .. } | Outcome::Present { devno, .. } => Avail::Dev(*devno),
            Outcome::WouldCreate { .. } => Avail::Dry,
            Outcome::Failed(_) => Avail::Missing("its step failed".into()),
            Outcome::Conflict { .. } => Avail::Missing("its step found a conflict".into()),
            Outcome::Skipped { .. } => Avail::Missing("its step was skipped".into()),
        };
        done.entry(step.creates().to_string()).or_insert(avail);
        report.steps.push(StepReport {
            key: step.key().to_string(),
            kind,
            name,
            outcome,
            notes,
        });
    }

    if !opts.dry_run && !opts.no_records {
        records::write_all(plan, env, udev || !opts.udev_records, &mut report);
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{DmStep, MdMember, MdStep, MemberRole};

    struct Fake(Vec<(&'static str, DevNo)>);
    impl Lookup for Fake {
        fn devno(&self, name: &str) -> Option<DevNo> {
            self.0.iter().find(|(n, _)| *n == name).map(|(_, d)| *d)
        }
    }

    fn dn(major: u32, minor: u32) -> DevNo {
        DevNo { major, minor }
    }

    fn planned(n: &str) -> DevRef {
        DevRef::Planned { name: n.into() }
    }

    #[test]
    fn references_resolve_to_what_earlier_steps_made() {
        let producers: HashMap<String, usize> =
            [("md127".to_string(), 0), ("vg0-pool_tdata".to_string(), 1)].into();
        let mut done = HashMap::new();
        // The md step got md126 because md127 was taken: its devno is what counts.
        done.insert("md127".to_string(), Avail::Dev(dn(9, 126)));
        let fake = Fake(vec![("vg0-old", dn(253, 7))]);
        assert_eq!(
            resolve_ref(&planned("md127"), 2, &producers, &done, &fake),
            Ok(Some(dn(9, 126)))
        );
        assert_eq!(
            resolve_ref(&planned("vg0-old"), 2, &producers, &done, &fake),
            Ok(Some(dn(253, 7)))
        );
        assert!(matches!(
            resolve_ref(&planned("vg0-gone"), 2, &producers, &done, &fake),
            Err(Unresolved::Invalid(m)) if m.contains("does not exist")
        ));
        // A reference to a later step is a plan bug, not a skip.
        assert!(matches!(
            resolve_ref(&planned("vg0-pool_tdata"), 0, &producers, &done, &fake),
            Err(Unresolved::Invalid(m)) if m.contains("later")
        ));
        done.insert(
            "vg0-pool_tdata".to_string(),
            Avail::Missing("its step failed".into()),
        );
        assert_eq!(
            resolve_ref(&planned("vg0-pool_tdata"), 2, &producers, &done, &fake),
            Err(Unresolved::Blocked(
                "needs vg0-pool_tdata: its step failed".into()
            ))
        );
        let img = DevRef::Image {
            name: "a.img".into(),
        };
        assert!(matches!(
            resolve_ref(&img, 2, &producers, &done, &fake),
            Err(Unresolved::Invalid(_))
        ));
        let k = DevRef::Kernel {
            devno: dn(254, 16),
            name: "vdb".into(),
        };
        assert_eq!(
            resolve_ref(&k, 0, &producers, &done, &fake),
            Ok(Some(dn(254, 16)))
        );
    }

    /// A planned name that is a kernel partition of a device another step makes.
    #[test]
    fn partitions_of_planned_devices_are_recognised() {
        let producers: HashMap<String, usize> = [
            ("md127".to_string(), 0),
            ("vg0-disk".to_string(), 1),
            ("md1".to_string(), 2),
        ]
        .into();
        assert_eq!(
            partition_of_planned("md127p2", &producers),
            Some(("md127", 2))
        );
        assert_eq!(
            partition_of_planned("md1p12", &producers),
            Some(("md1", 12))
        );
        // md12 is made by no step; md1 + "2" is not how the kernel names md1's partition 2.
        assert_eq!(partition_of_planned("md12", &producers), None);
        assert_eq!(partition_of_planned("md127p0", &producers), None);
        assert_eq!(partition_of_planned("md127", &producers), None);
        // A name ending in a letter gets no 'p' (vdb1); DM devices get kpartx steps instead.
        assert_eq!(
            partition_of_planned("vg0-disk1", &producers),
            Some(("vg0-disk", 1))
        );
        assert_eq!(partition_of_planned("vg0-diskp1", &producers), None);
    }

    struct Parts(Vec<(DevNo, u32, &'static str, DevNo)>);
    impl Lookup for Parts {
        fn devno(&self, name: &str) -> Option<DevNo> {
            // A namesake of the planned partition exists: it belongs to another array.
            (name == "md127p2").then(|| dn(259, 9))
        }
        fn partition(&self, parent: DevNo, number: u32) -> Option<(String, DevNo)> {
            self.0
                .iter()
                .find(|(p, n, _, _)| *p == parent && *n == number)
                .map(|(_, _, k, d)| (k.to_string(), *d))
        }
    }

    /// md127p2 of an array this run started as md126 (md127 was taken): the partition of the
    /// device the step made, never the namesake; in a dry run it stays a name; when the array
    /// step failed, dependents are skipped; a partition the kernel did not make fails.
    #[test]
    fn partitions_inside_a_new_array_resolve_through_its_step() {
        let producers: HashMap<String, usize> = [("md127".to_string(), 0)].into();
        let mut done = HashMap::new();
        done.insert("md127".to_string(), Avail::Dev(dn(9, 126)));
        let look = Parts(vec![(dn(9, 126), 2, "md126p2", dn(259, 3))]);
        let r = planned("md127p2");
        assert_eq!(
            resolve_ref(&r, 1, &producers, &done, &look),
            Ok(Some(dn(259, 3)))
        );
        assert!(matches!(
            resolve_ref(&planned("md127p3"), 1, &producers, &done, &look),
            Err(Unresolved::Invalid(m)) if m.contains("made no partition 3 of md127 (9:126)")
        ));
        done.insert("md127".to_string(), Avail::Dry);
        assert_eq!(resolve_ref(&r, 1, &producers, &done, &look), Ok(None));
        done.insert(
            "md127".to_string(),
            Avail::Missing("its step failed".into()),
        );
        assert_eq!(
            resolve_ref(&r, 1, &producers, &done, &look),
            Err(Unresolved::Blocked("needs md127: its step failed".into()))
        );
    }

    /// The sysfs side: the partition is found once it is there (here from the start; the
    /// open and BLKRRPART that make the kernel scan need a kernel).
    #[test]
    fn sys_lookup_finds_a_partition_by_its_parent() {
        let t = nodes::tests::TempDir::new();
        let sys = t.path().join("sys");
        let class = sys.join("class/block");
        fs::create_dir_all(&class).unwrap();
        fs::create_dir_all(sys.join("dev/block")).unwrap();
        for (name, d) in [("md126", "9:126"), ("md126p2", "259:3")] {
            let dir = sys.join("devices/virtual/block").join(name);
            fs::create_dir_all(&dir).unwrap();
            fs::write(dir.join("dev"), format!("{d}\n")).unwrap();
            std::os::unix::fs::symlink(&dir, class.join(name)).unwrap();
            std::os::unix::fs::symlink(&dir, sys.join("dev/block").join(d)).unwrap();
        }
        let dev = t.path().join("dev");
        let look = SysLookup {
            sys: &sys,
            dev: &dev,
        };
        assert_eq!(
            look.partition(dn(9, 126), 2),
            Some(("md126p2".to_string(), dn(259, 3)))
        );
        assert_eq!(look.partition(dn(9, 125), 2), None);
    }

    #[test]
    fn tables_print_resolved_numbers() {
        let producers: HashMap<String, usize> = [("md127".to_string(), 0)].into();
        let mut done = HashMap::new();
        done.insert("md127".to_string(), Avail::Dev(dn(9, 126)));
        let t = vec![
            TargetLine::parse("0 8192 linear md127 2048").unwrap(),
            TargetLine::parse("8192 8192 striped 2 128 md127 10240 254:32 2048").unwrap(),
        ];
        let r = resolve_table(&t, 1, &producers, &done, &Fake(vec![])).unwrap();
        let s: Vec<String> = r.iter().map(|l| l.to_string()).collect();
        assert_eq!(
            s,
            [
                "0 8192 linear 9:126 2048",
                "8192 8192 striped 2 128 9:126 10240 254:32 2048"
            ]
        );
        done.insert("md127".to_string(), Avail::Dry);
        let r = resolve_table(&t, 1, &producers, &done, &Fake(vec![])).unwrap();
        assert_eq!(r[0].to_string(), "0 8192 linear md127 2048");
    }

    /// A dry run over a fake tree: no DM driver is needed to plan, dependents of a failed
    /// step are skipped, independent steps go on.
    #[test]
    fn dry_run_skips_dependents_of_failures_only() {
        let t = nodes::tests::TempDir::new();
        let env = ExecEnv::under(t.path());
        fs::create_dir_all(env.sys.join("block")).unwrap();
        let md = MdStep {
            key: "md:x".into(),
            uuid: crate::ids::MdUuid([1; 16]),
            metadata: "1.2".into(),
            devnm: "md127".into(),
            name: Some("r1".into()),
            level: "raid1".into(),
            raid_disks: 2,
            // A member that does not exist in the system and is made by no step.
            members: vec![MdMember {
                dev: planned("vdz"),
                role: MemberRole::Active(0),
                events: 1,
            }],
            missing: vec![],
            degraded: false,
            size: 0,
            features: vec![],
            reshape: None,
            stripe_cache_size: None,
        };
        let dm = |name: &str, table: &str| DmStep {
            key: format!("lv:{name}"),
            name: name.into(),
            uuid: format!("LVM-{name}"),
            read_only: false,
            table: vec![TargetLine::parse(table).unwrap()],
            udev_flags: 0,
            links: vec![],
            volume: name.into(),
            visible: true,
            fixed_devno: None,
        };
        let plan = Plan {
            steps: vec![
                Step::AssembleMd(md),
                Step::CreateDm(dm("vg0-a", "0 8 linear md127 2048")),
                Step::CreateDm(dm("vg0-b", "0 8 zero")),
                Step::CreateDm(dm("vg0-c", "0 8 linear vg0-a 0")),
            ],
            ..Plan::default()
        };
        let opts = ExecOptions {
            dry_run: true,
            ..ExecOptions::default()
        };
        let r = execute(&plan, &env, &opts);
        let o: Vec<&Outcome> = r.steps.iter().map(|s| &s.outcome).collect();
        assert!(matches!(o[0], Outcome::Failed(e) if e.action == "resolve"));
        assert!(
            matches!(o[1], Outcome::Skipped { reason } if reason == "needs md127: its step failed")
        );
        assert!(matches!(o[2], Outcome::WouldCreate { .. }));
        assert!(matches!(o[3], Outcome::Skipped { reason } if reason.starts_with("needs vg0-a")));
        assert!(!r.ok());
        assert_eq!(r.failed().count(), 1);
        assert_eq!(r.skipped().count(), 2);
        // Nothing was written in a dry run.
        assert!(!env.run.exists() && !env.dev.exists());
    }
}
