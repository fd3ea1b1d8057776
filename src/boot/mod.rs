//! PID 1: early mounts, kernel command line, modules, uevent wait, mount, switch_root.
//!
//! [`run`] is the whole boot, in this order:
//!
//! 1. [`early::run`]: /proc, /sys, /dev, /run mounted; fds 0-2 on the console.
//! 2. [`kmsg::init`]: logging to /dev/kmsg (debug level with `evms.debug`).
//! 3. [`cmdline::BootSpec::parse`] of /proc/cmdline; warnings logged.
//! 4. The uevent socket is opened (before any scan, so nothing is missed), then modules:
//!    coldplug of every device's modalias ([`modules::coldplug`]) and the generator's list
//!    (`/etc/evms/modules`). Stage `modules-loaded`.
//! 5. The wait loop: the [`RootFinder`] is asked with every block device, then again each time
//!    block devices appear or change (kernel uevents; devices needing a driver get their
//!    module loaded from the event's MODALIAS first), and once when the degraded grace period
//!    passes. It answers Found / Waiting / Failed. While waiting, what is missing is printed
//!    every 10 s; at the deadline ([`cmdline::BootSpec::root_timeout`]) the emergency path
//!    runs with the finder's last "waiting for" and the devices present. Stage
//!    `root-chain-active`.
//! 6. Root mounted at the new-root directory ([`mount`]); stage `root-mounted`. The finder's
//!    [`RootFinder::handoff`] writes its records (udev database, /run/mdadm/map).
//! 7. [`switch_root`] (guards, move, delete, chroot, exec); stage `switch-root` is logged just
//!    before the exec.
//!
//! Any failure goes to [`emergency::run`]; when that returns (shell left, Enter pressed) the
//! boot retries from step 5. `rd.break=` points stop with a shell (if there is one) at:
//! cmdline (after 3), pre-udev and pre-trigger (before 4), initqueue (after 5), pre-mount,
//! mount (after 6's mount), pre-pivot (after the hand-off records), cleanup (right before 7).
//!
//! Stage lines (debug level, "stage NAME t=SECONDS", CLOCK_MONOTONIC, for the benchmark; then
//! the time so far inside finit_module, the DM/MD calls and mounting root, and the CPUs' idle
//! time):
//! `start`, `modules-loaded`, `root-chain-active`, `root-mounted`, `switch-root`, and
//! `degraded-grace` when that timer fires.

pub mod cmdline;
pub mod early;
pub mod emergency;
mod env;
pub mod kmsg;
pub mod luks;
pub mod modules;
pub mod mount;
pub mod prompt;
pub mod simple_root;
pub mod switch_root;
pub mod uevent;
pub mod volumes;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use log::LevelFilter;

pub use env::BootEnv;

use cmdline::{BootSpec, BreakPoint, DegradedPolicy};
use modules::{LoadReport, ModuleDb, ModuleLoader};
use uevent::{BlockDevice, UeventSocket, Woken};

/// What the finder needs to decide, each time it is asked.
pub struct Round<'a> {
    pub spec: &'a BootSpec,
    pub env: &'a BootEnv,
    /// Block devices that appeared or changed since the previous call (every device present
    /// on the first call of an attempt); `changed` tells a change event from an add.
    pub new_devices: &'a [BlockDevice],
    /// Every block device known now, sorted by name.
    pub all_devices: &'a [BlockDevice],
    /// Arrays missing members may be started degraded now: `evms.degraded=` said so, or its
    /// grace period passed with root still missing and no new block device appearing for
    /// that long. The finder is always called once at the moment this turns true.
    pub degraded_ok: bool,
    /// Time since this wait began.
    pub waited: Duration,
    /// Loads kernel modules (dm-mod, raid456, ...) on demand.
    pub modules: &'a mut ModuleLoader,
}

impl Round<'_> {
    /// Loads a module by name or alias for `why`; Err joins the failures (already logged).
    pub fn load_module(&mut self, name: &str, why: &str) -> Result<(), String> {
        self.load_modules(&[(name.to_string(), why.to_string())])
    }

    /// Loads modules (name, why), side by side when there are CPUs for it; Err joins the
    /// failures (already logged).
    pub fn load_modules(&mut self, wanted: &[(String, String)]) -> Result<(), String> {
        let queries: Vec<(String, String, String)> = wanted
            .iter()
            .map(|(n, why)| (n.clone(), String::new(), why.clone()))
            .collect();
        let r = self.modules.request_many(&queries);
        log_load_report(&r);
        if r.errors.is_empty() {
            Ok(())
        } else {
            Err(r
                .errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "))
        }
    }
}

/// The root device, once the finder has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundRoot {
    /// The node to mount (`/dev/dm-3`, `/dev/md127`, `/dev/vda1`).
    pub devnode: PathBuf,
    /// The filesystem type if known (probed); else `rootfstype=`, else every block
    /// filesystem the kernel has, as the kernel itself does.
    pub fstype: Option<String>,
    /// Modules to load before mounting (the filesystem's, a checksum driver...).
    pub modules: Vec<String>,
    /// The resume= device once active: (name for the log, "MAJ:MIN" for /sys/power/resume).
    pub resume: Option<(String, String)>,
}

/// The finder's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Discovery {
    Found(FoundRoot),
    /// Not yet: what is awaited, human-readable ("PV 3 of VG vg0 (uuid ...)", "member 2 of
    /// md/home"). Printed while waiting and in the timeout report.
    Waiting {
        what: String,
    },
    /// Will not resolve by waiting: the whole report (found / missing / why).
    Failed {
        report: String,
    },
}

/// Discovery and activation, plugged in by the caller ([`simple_root::SysfsRootFinder`]
/// handles the forms that need no metadata).
pub trait RootFinder {
    /// See [`Round`]. May activate devices (their uevents arrive as new devices later).
    fn discover(&mut self, round: &mut Round<'_>) -> Discovery;

    /// Root is mounted at `env.new_root`, /run is still ours: write what the booted system
    /// needs (udev database entries, /run/mdadm/map). An error is logged and the boot goes on
    /// (the system still boots, only slower); default: nothing to write.
    fn handoff(&mut self, spec: &BootSpec, env: &BootEnv, root: &FoundRoot) -> Result<(), String> {
        let _ = (spec, env, root);
        Ok(())
    }

    /// The boot is tried again after the failure path (Enter on the console, a shell left):
    /// forget what gave up in the previous attempt (a LUKS volume is asked for again).
    fn retry(&mut self) {}
}

/// CLOCK_MONOTONIC in seconds, the clock of the kernel's own log timestamps.
pub(crate) fn monotonic() -> f64 {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
        .map(|t| Duration::from(t).as_secs_f64())
        .unwrap_or(0.0)
}

fn stage(name: &str) {
    // idle: the CPUs' idle time so far (/proc/uptime), so waits show apart from work.
    let idle = std::fs::read_to_string("/proc/uptime")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1).map(str::to_string))
        .unwrap_or_else(|| "?".into());
    let finit = modules::kernel_time();
    let mount = crate::exec::timing::spent(crate::exec::timing::Call::Mount);
    log::debug!(
        "stage {name} t={:.3} in-finit_module={:.3} in-dm-md={:.3} in-mount={:.3} idle={idle}",
        monotonic(),
        finit.as_secs_f64(),
        crate::exec::timing::work()
            .saturating_sub(finit)
            .saturating_sub(mount)
            .as_secs_f64(),
        mount.as_secs_f64()
    );
}

fn log_load_report(r: &LoadReport) {
    for m in &r.loaded {
        log::debug!("loaded module {m}");
    }
    for e in &r.errors {
        log::error!("{e}");
    }
    for e in &r.ignored {
        log::info!("{e} (not needed to boot)");
    }
}

/// `rd.break=point`: a shell if the initramfs has one, else say so and go on.
fn breakpoint(spec: &BootSpec, env: &BootEnv, point: BreakPoint) {
    if !spec.breaks_at(point) {
        return;
    }
    let name = point.name();
    if env.shell.exists() {
        log::warn!(
            "rd.break={name}: starting {}; exit it to continue the boot",
            env.shell.display()
        );
        if let Err(e) = std::process::Command::new(&env.shell).status() {
            log::error!("Failed to start {}: {e}", env.shell.display());
        }
    } else {
        log::warn!(
            "rd.break={name}: there is no shell ({}) in this initramfs; continuing",
            env.shell.display()
        );
    }
}

/// The running state of the boot between steps.
struct Boot<'a> {
    env: &'a BootEnv,
    spec: BootSpec,
    loader: ModuleLoader,
    socket: Option<UeventSocket>,
    known: BTreeMap<String, BlockDevice>,
    /// The descriptor limits before [`early::raise_fd_limit`], given back to the real init.
    fd_limit: Option<(u64, u64)>,
}

/// The whole boot (see the module documentation). Never returns: it execs the real init or
/// stays in the emergency path.
pub fn run(env: BootEnv, finder: &mut dyn RootFinder) -> ! {
    let t_start = monotonic();
    let fd_limit = early::raise_fd_limit();
    let early = early::run(&env);
    kmsg::init(&env.kmsg, &env.printk, LevelFilter::Info);
    let cmdline = match std::fs::read_to_string(&env.cmdline) {
        Ok(s) => s,
        Err(e) => {
            log::error!(
                "Failed to read {}: {e}; booting with defaults",
                env.cmdline.display()
            );
            String::new()
        }
    };
    let (spec, warnings) = BootSpec::parse(&cmdline);
    if spec.log_debug() {
        log::set_max_level(LevelFilter::Debug);
    }
    log::debug!("stage start t={t_start:.3}");
    for m in &early.mounted {
        log::debug!("mounted {m}");
    }
    for e in &early.errors {
        log::error!("{e}");
    }
    for w in &warnings {
        log::warn!("{w}");
    }
    breakpoint(&spec, &env, BreakPoint::Cmdline);
    // Before any scan: every device appearing from now on is an event.
    let socket = match UeventSocket::open() {
        Ok(s) => Some(s),
        Err(e) => {
            log::error!("{e}; new devices will be found by rescanning every second");
            None
        }
    };
    breakpoint(&spec, &env, BreakPoint::PreUdev);
    breakpoint(&spec, &env, BreakPoint::PreTrigger);
    let t = Instant::now();
    let db = ModuleDb::load(&env.modules_dir).unwrap_or_else(|e| {
        log::error!("Failed to read the module indexes: {e}");
        ModuleDb::default()
    });
    log::debug!(
        "module indexes read in {:.1} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    let mut loader = ModuleLoader::new(db, &env.modules_dir, &env.sys_dir.join("module"));
    loader.set_parallel(!spec.serial_modules);
    let mut boot = Boot {
        env: &env,
        spec,
        loader,
        socket,
        known: BTreeMap::new(),
        fd_limit,
    };
    boot.load_initial_modules();
    stage("modules-loaded");
    loop {
        let report = match boot.attempt(finder) {
            Ok(never) => match never {},
            Err(r) => r,
        };
        emergency::run(&boot.spec, &env.shell, &report);
        finder.retry();
        // Retrying: a root mounted by the failed attempt is in the way.
        if early::is_mountpoint(&env.new_root).unwrap_or(false) {
            if let Err(e) = nix::mount::umount2(&env.new_root, nix::mount::MntFlags::MNT_DETACH) {
                log::error!("Failed to unmount {}: {e}", env.new_root.display());
            }
        }
        log::warn!("Retrying the boot");
    }
}

/// The real system's boot: [`BootEnv::system`] and the given finder.
pub fn boot_main_with(finder: &mut dyn RootFinder) -> ! {
    run(BootEnv::system(), finder)
}

/// PID 1 entry: volume discovery and activation find root.
pub fn boot_main() -> ! {
    boot_main_with(&mut volumes::VolumeRootFinder::new())
}

/// How often "still waiting" is repeated.
const NOTICE_EVERY: Duration = Duration::from_secs(10);
/// The first "still waiting" notice.
const FIRST_NOTICE: Duration = Duration::from_secs(5);

impl Boot<'_> {
    fn load_initial_modules(&mut self) {
        let t = Instant::now();
        let r = modules::coldplug(&self.env.sys_dir, &mut self.loader);
        log::debug!(
            "coldplug: {} device modaliases, {} modules loaded in {:.3} s",
            r.modaliases,
            r.loaded.len(),
            t.elapsed().as_secs_f64()
        );
        log_load_report(&r);
        match std::fs::read_to_string(&self.env.module_list) {
            Ok(text) => {
                let by = self.env.module_list.display().to_string();
                let list: Vec<(String, String, String)> = modules::parse_module_list(&text)
                    .into_iter()
                    .map(|(name, params)| (name, params, by.clone()))
                    .collect();
                let r = self.loader.request_many(&list);
                log_load_report(&r);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => log::error!("Failed to read {}: {e}", self.env.module_list.display()),
        }
    }

    /// Reads sysfs; returns devices not known before (or with a new devno), and updates the
    /// known set.
    fn rescan(&mut self) -> Vec<BlockDevice> {
        let mut new = Vec::new();
        for d in uevent::scan_block(&self.env.sys_dir) {
            if self
                .known
                .get(&d.devname)
                .is_none_or(|k| (k.major, k.minor) != (d.major, d.minor))
            {
                new.push(d.clone());
            }
            self.known.insert(d.devname.clone(), d);
        }
        new
    }

    /// Handles events: modules for new devices, block adds and changes into `new`.
    fn handle_events(&mut self, events: &[uevent::Uevent], new: &mut Vec<BlockDevice>) {
        for e in events {
            if e.action == uevent::Action::Add {
                if let Some(alias) = &e.modalias {
                    let r = self
                        .loader
                        .request_modalias(alias, &format!("device {}", e.devpath));
                    log_load_report(&r);
                }
            }
            if e.action == uevent::Action::Remove && e.is_block() {
                if let Some(n) = &e.devname {
                    self.known.remove(n);
                }
            }
            if let Some(d) = BlockDevice::from_uevent(e) {
                let is_new = self
                    .known
                    .get(&d.devname)
                    .is_none_or(|k| (k.major, k.minor) != (d.major, d.minor));
                if is_new || d.changed {
                    log::debug!(
                        "block device {} ({}:{}) {}",
                        d.devname,
                        d.major,
                        d.minor,
                        if d.changed { "changed" } else { "appeared" }
                    );
                    new.retain(|x| x.devname != d.devname);
                    new.push(d.clone());
                }
                self.known.insert(d.devname.clone(), d);
            }
        }
    }

    /// Waits until the next event or `until`; no socket: a rescan after at most a second.
    fn wait(&mut self, until: Option<Instant>) -> Result<Vec<BlockDevice>, String> {
        let mut new = Vec::new();
        match &self.socket {
            Some(s) => match s.wait(until)? {
                Woken::Timeout => {}
                Woken::Events(evs) => self.handle_events(&evs, &mut new),
                Woken::Overflow(evs) => {
                    log::warn!("uevent socket overflowed; rescanning sysfs");
                    self.handle_events(&evs, &mut new);
                    // Lost events may have carried modaliases: coldplug again (cheap: every
                    // alias is handled once).
                    let r = modules::coldplug(&self.env.sys_dir, &mut self.loader);
                    log_load_report(&r);
                    new.extend(self.rescan());
                }
            },
            None => {
                let step = Instant::now() + Duration::from_secs(1);
                let t = until.map_or(step, |u| u.min(step));
                std::thread::sleep(t.saturating_duration_since(Instant::now()));
                new = self.rescan();
            }
        }
        Ok(new)
    }

    fn device_summary(&self) -> String {
        if self.known.is_empty() {
            return "No block device appeared at all: is the disk controller's driver in the \
                    initramfs?"
                .into();
        }
        let list: Vec<String> = self
            .known
            .values()
            .map(|d| format!("{} ({}:{} {})", d.devname, d.major, d.minor, d.devtype))
            .collect();
        format!("Block devices present: {}", list.join(", "))
    }

    /// Steps 5 to 7. Ok never happens (exec); Err is the report for the emergency path.
    fn attempt(&mut self, finder: &mut dyn RootFinder) -> Result<std::convert::Infallible, String> {
        let found = self.wait_for_root(finder)?;
        stage("root-chain-active");
        breakpoint(&self.spec, self.env, BreakPoint::Initqueue);
        self.resume(&found);
        let mounted = self.mount_root(&found)?;
        log::info!(
            "mounted {} ({}, {}) on {}",
            found.devnode.display(),
            mounted.fstype,
            if mounted.read_only { "ro" } else { "rw" },
            self.env.new_root.display()
        );
        stage("root-mounted");
        breakpoint(&self.spec, self.env, BreakPoint::Mount);
        if let Err(e) = finder.handoff(&self.spec, self.env, &found) {
            log::error!(
                "Failed to write the hand-off records: {e}; the system may wait for its devices"
            );
        }
        breakpoint(&self.spec, self.env, BreakPoint::PrePivot);
        let init = switch_root::check(self.env, self.spec.init.as_deref())?;
        breakpoint(&self.spec, self.env, BreakPoint::Cleanup);
        log::info!(
            "switching root to {} and running {init}",
            self.env.new_root.display()
        );
        let fd_limit = self.fd_limit;
        let res = switch_root::switch_root(self.env, &init, &self.env.init_args, &mut |notes| {
            for n in notes {
                log::debug!("switch_root: {n}");
            }
            stage("switch-root");
            early::restore_fd_limit(fd_limit);
        });
        match res {
            Ok(never) => match never {},
            Err(e) => {
                // Mounts may have moved and the initramfs may be gone: nothing to retry with.
                loop {
                    emergency::run(
                        &self.spec,
                        &self.env.shell,
                        &format!("{e}\nThe boot cannot continue."),
                    );
                }
            }
        }
    }

    fn wait_for_root(&mut self, finder: &mut dyn RootFinder) -> Result<FoundRoot, String> {
        let start = Instant::now();
        let deadline = self.spec.root_timeout().map(|d| start + d);
        let policy = self.spec.degraded_policy();
        let mut degraded_ok = policy == DegradedPolicy::Immediately;
        let mut last_new = start;
        let mut next_notice = start + FIRST_NOTICE;
        self.rescan();
        let mut new: Vec<BlockDevice> = self.known.values().cloned().collect();
        loop {
            let all: Vec<BlockDevice> = self.known.values().cloned().collect();
            let mut round = Round {
                spec: &self.spec,
                env: self.env,
                new_devices: &new,
                all_devices: &all,
                degraded_ok,
                waited: start.elapsed(),
                modules: &mut self.loader,
            };
            let what = match finder.discover(&mut round) {
                Discovery::Found(f) => return Ok(f),
                Discovery::Failed { report } => {
                    return Err(format!("{report}\n{}", self.device_summary()))
                }
                Discovery::Waiting { what } => what,
            };
            log::debug!("waiting for {what}");
            new.clear();
            // Sleep until something new, a timer, or the deadline.
            loop {
                let now = Instant::now();
                let grace_at = match policy {
                    DegradedPolicy::Wait(d) if !degraded_ok => Some(last_new + d),
                    _ => None,
                };
                if deadline.is_some_and(|d| now >= d) {
                    let waited = now.duration_since(start).as_secs_f64();
                    return Err(format!(
                        "Gave up after {waited:.1} s waiting for root {}: still missing {what}\n{}",
                        self.spec
                            .root
                            .as_ref()
                            .map_or("(none)".to_string(), |r| r.to_string()),
                        self.device_summary()
                    ));
                }
                if grace_at.is_some_and(|g| now >= g) {
                    degraded_ok = true;
                    stage("degraded-grace");
                    log::info!("No new device for the degraded grace period: arrays missing members may start degraded now");
                    break;
                }
                if now >= next_notice {
                    log::warn!(
                        "Still waiting for {what} ({:.0} s){}",
                        now.duration_since(start).as_secs_f64(),
                        deadline.map_or(String::new(), |d| format!(
                            ", giving up in {:.0} s",
                            d.saturating_duration_since(now).as_secs_f64()
                        ))
                    );
                    next_notice = now + NOTICE_EVERY;
                }
                let wake = [deadline, grace_at, Some(next_notice)]
                    .into_iter()
                    .flatten()
                    .min();
                let got = self.wait(wake)?;
                if !got.is_empty() {
                    last_new = Instant::now();
                    new = got;
                    break;
                }
            }
        }
    }

    /// Hibernation: as initramfs-tools' and dracut's resume scripts, before any filesystem is
    /// mounted, hand the resume= device to the kernel; with an image on it the kernel restores
    /// the saved system and this write never returns, without one it logs "Image not found"
    /// and the boot goes on.
    fn resume(&self, found: &FoundRoot) {
        let Some(wanted) = &self.spec.resume else {
            return;
        };
        let Some((name, devno)) = &found.resume else {
            log::warn!("resume={wanted} was not found: booting without resuming");
            return;
        };
        if self.spec.noresume {
            log::info!("noresume: not resuming from {name}");
            return;
        }
        log::info!("resuming from {name} ({devno}) if it holds a hibernation image");
        let path = self.env.sys_dir.join("power/resume");
        match std::fs::write(&path, devno) {
            Ok(()) => log::info!("no hibernation image on {name}: booting normally"),
            Err(e) => log::warn!("Failed to write {devno} to {}: {e}", path.display()),
        }
    }

    fn mount_root(&mut self, found: &FoundRoot) -> Result<mount::Mounted, String> {
        for m in &found.modules {
            let r = self.loader.request(m, "", "the root device");
            log_load_report(&r);
        }
        let read_fs = |env: &BootEnv| {
            std::fs::read_to_string(env.proc_dir.join("filesystems")).unwrap_or_default()
        };
        let known: Vec<String> = {
            let text = read_fs(self.env);
            text.lines()
                .filter_map(|l| l.split_whitespace().last().map(str::to_string))
                .collect()
        };
        let wanted: Vec<String> = match (&found.fstype, &self.spec.rootfstype) {
            (Some(t), _) => vec![t.clone()],
            (None, Some(list)) => list
                .split(',')
                .filter(|t| !t.is_empty())
                .map(str::to_string)
                .collect(),
            (None, None) => Vec::new(),
        };
        // The kernel would request_module("fs-TYPE") through a modprobe that is not here.
        for t in &wanted {
            if !known.contains(t) {
                let r = self.loader.request(
                    &format!("fs-{t}"),
                    "",
                    &format!("root filesystem type {t}"),
                );
                log_load_report(&r);
            }
        }
        let types = if wanted.is_empty() {
            mount::block_filesystems(&read_fs(self.env))
        } else {
            wanted
        };
        breakpoint(&self.spec, self.env, BreakPoint::PreMount);
        let opts = mount::MountOptions::parse(self.spec.read_only, self.spec.rootflags.as_deref());
        mount::mount_root(&found.devnode, &self.env.new_root, &types, &opts)
    }
}
