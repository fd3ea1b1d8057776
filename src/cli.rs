//! Command line (argh): `scan`, `plan`, `activate`, `deactivate`, `init`. Thin: every command
//! calls the same library functions `init` uses, with paths from options.

use crate::askpass::{self, Sources};
use crate::config::{evms, mdadm, ActivateFilter};
use crate::engine::{self, Inputs, Settings};
use crate::json::JsonExt;
use crate::plan::build::{build, Selection};
use argh::FromArgs;
use std::path::{Path, PathBuf};

/// Native volume discovery and activation: GPT/MBR, MD RAID, LVM2, filesystems, LUKS.
#[derive(FromArgs, Debug)]
pub struct Cli {
    #[argh(subcommand)]
    pub cmd: Command,
    /// more output (-v -v: debug, -v -v -v: the libraries' debug messages too)
    #[argh(switch, short = 'v')]
    pub verbose: u8,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
pub enum Command {
    Scan(ScanCmd),
    Plan(PlanCmd),
    Activate(ActivateCmd),
    Deactivate(DeactivateCmd),
    Init(InitCmd),
}

#[derive(FromArgs, Debug, Default)]
#[argh(subcommand, name = "scan")]
/// Show every disk, partition, array, volume group and volume found, with states and reasons.
pub struct ScanCmd {
    /// read this disk image file instead of the system's devices (repeatable; NAME=FILE names it)
    #[argh(option)]
    pub image: Vec<String>,
    /// print JSON (documented in the README)
    #[argh(switch)]
    pub json: bool,
    /// sysfs root (default /sys)
    #[argh(option, default = "PathBuf::from(\"/sys\")")]
    pub sysfs: PathBuf,
    /// device node directory (default /dev)
    #[argh(option, default = "PathBuf::from(\"/dev\")")]
    pub dev: PathBuf,
    /// mdadm homehost (default: mdadm.conf HOMEHOST, else the host name)
    #[argh(option)]
    pub homehost: Option<String>,
    /// lvm local system id (default: none, so VGs with a system_id are foreign)
    #[argh(option)]
    pub system_id: Option<String>,
    /// a file whose exact bytes are tried as the passphrase of every LUKS volume (repeatable;
    /// - reads standard input): what the volumes hold is then read through them
    #[argh(option)]
    pub key_file: Vec<PathBuf>,
    /// crypttab naming LUKS volumes (default: /etc/crypttab on the running system, none for
    /// image files)
    #[argh(option)]
    pub crypttab: Option<PathBuf>,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "plan")]
/// Print the steps activation would take: arrays with members, DM devices with their tables.
pub struct PlanCmd {
    /// volumes to plan for (VG, VG/LV, md name or UUID, /dev path); default: everything
    #[argh(positional)]
    pub volumes: Vec<String>,
    /// read this disk image file instead of the system's devices (repeatable; NAME=FILE names it)
    #[argh(option)]
    pub image: Vec<String>,
    /// print JSON
    #[argh(switch)]
    pub json: bool,
    /// only volumes matching this glob (repeatable)
    #[argh(option)]
    pub include: Vec<String>,
    /// leave out volumes matching this glob and what is built on them (repeatable)
    #[argh(option)]
    pub exclude: Vec<String>,
    /// start arrays with missing members when their level allows it
    #[argh(switch)]
    pub degraded: bool,
    /// activate LVs with missing PVs (missing parts read as errors)
    #[argh(switch)]
    pub partial: bool,
    /// ignore the LV activation-skip flag
    #[argh(switch, short = 'K')]
    pub ignore_activation_skip: bool,
    /// sysfs root (default /sys)
    #[argh(option, default = "PathBuf::from(\"/sys\")")]
    pub sysfs: PathBuf,
    /// device node directory (default /dev)
    #[argh(option, default = "PathBuf::from(\"/dev\")")]
    pub dev: PathBuf,
    /// configuration file (default /etc/evms.conf)
    #[argh(option, default = "PathBuf::from(\"/etc/evms.conf\")")]
    pub config: PathBuf,
    /// mdadm homehost
    #[argh(option)]
    pub homehost: Option<String>,
    /// lvm local system id
    #[argh(option)]
    pub system_id: Option<String>,
    /// a file whose exact bytes are tried as the passphrase of every LUKS volume (repeatable;
    /// - reads standard input)
    #[argh(option)]
    pub key_file: Vec<PathBuf>,
    /// crypttab naming LUKS volumes (default: /etc/crypttab on the running system, none for
    /// image files)
    #[argh(option)]
    pub crypttab: Option<PathBuf>,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "activate")]
/// Assemble arrays and load DM tables for the selected volumes (all eligible by default).
pub struct ActivateCmd {
    /// volumes to activate with their whole chain (VG, VG/LV, md name or UUID, /dev path)
    #[argh(positional)]
    pub volumes: Vec<String>,
    /// also the volume a root= value names, with its chain: UUID=, LABEL=, PARTUUID=,
    /// PARTLABEL=, /dev/VG/LV, /dev/mapper/.., /dev/md/.., maj:min (initramfs scripts pass
    /// root= here); exit status 1 while it is not found
    #[argh(option)]
    pub root: Option<String>,
    /// only volumes matching this glob (repeatable)
    #[argh(option)]
    pub include: Vec<String>,
    /// leave out volumes matching this glob and what is built on them (repeatable)
    #[argh(option)]
    pub exclude: Vec<String>,
    /// start arrays with missing members when their level allows it
    #[argh(switch)]
    pub degraded: bool,
    /// activate LVs with missing PVs (missing parts read as errors)
    #[argh(switch)]
    pub partial: bool,
    /// ignore the LV activation-skip flag
    #[argh(switch, short = 'K')]
    pub ignore_activation_skip: bool,
    /// print what would be done, change nothing
    #[argh(switch)]
    pub dry_run: bool,
    /// a file whose exact bytes are tried as the passphrase of every LUKS volume to open
    /// (repeatable; - reads standard input); without one, the terminal is asked
    #[argh(option)]
    pub key_file: Vec<PathBuf>,
    /// crypttab naming LUKS volumes, with their key files and options (default /etc/crypttab)
    #[argh(option)]
    pub crypttab: Option<PathBuf>,
    /// where a passphrase is asked for: tty (the controlling terminal; the default), console
    /// (every console the kernel writes to, as the boot asks), systemd (systemd's password
    /// agents), none
    #[argh(option, default = "String::from(\"tty\")")]
    pub prompt: String,
    /// sysfs root (default /sys)
    #[argh(option, default = "PathBuf::from(\"/sys\")")]
    pub sysfs: PathBuf,
    /// device node directory (default /dev)
    #[argh(option, default = "PathBuf::from(\"/dev\")")]
    pub dev: PathBuf,
    /// run-time state directory (default /run)
    #[argh(option, default = "PathBuf::from(\"/run\")")]
    pub run: PathBuf,
    /// configuration file (default /etc/evms.conf)
    #[argh(option, default = "PathBuf::from(\"/etc/evms.conf\")")]
    pub config: PathBuf,
    /// mdadm homehost
    #[argh(option)]
    pub homehost: Option<String>,
    /// lvm local system id
    #[argh(option)]
    pub system_id: Option<String>,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "deactivate")]
/// Tear down the selected volumes top-down (all of ours by default); refuses while in use.
pub struct DeactivateCmd {
    /// volumes to deactivate with everything built on them
    #[argh(positional)]
    pub volumes: Vec<String>,
    /// sysfs root (default /sys)
    #[argh(option, default = "PathBuf::from(\"/sys\")")]
    pub sysfs: PathBuf,
    /// device node directory (default /dev)
    #[argh(option, default = "PathBuf::from(\"/dev\")")]
    pub dev: PathBuf,
    /// run-time state directory (default /run)
    #[argh(option, default = "PathBuf::from(\"/run\")")]
    pub run: PathBuf,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "init")]
/// Run as the initramfs /init: find root=, activate its chain, mount it and switch_root.
pub struct InitCmd {}

/// Entry point for the binary; returns the exit status.
pub fn main() -> i32 {
    if nix::unistd::getpid().as_raw() == 1 {
        crate::boot::boot_main();
    }
    let args: Vec<String> = std::env::args().collect();
    let strs: Vec<&str> = args.iter().map(String::as_str).collect();
    let prog = Path::new(strs.first().copied().unwrap_or("evms-activate"))
        .file_name()
        .and_then(|s| s.to_str())
        .unwrap_or("evms-activate")
        .to_string();
    let cli = match Cli::from_args(&[&prog], strs.get(1..).unwrap_or(&[])) {
        Ok(c) => c,
        Err(e) => {
            if e.status.is_ok() {
                print!("{}", e.output);
                return 0;
            }
            eprint!("{}", e.output);
            return 2;
        }
    };
    StderrLogger::init(cli.verbose);
    crate::boot::early::raise_fd_limit();
    match cli.cmd {
        Command::Scan(c) => scan(&c),
        Command::Plan(c) => plan(&c),
        Command::Activate(c) => activate(&c),
        Command::Deactivate(c) => deactivate(&c),
        Command::Init(_) => crate::boot::boot_main(),
    }
}

/// `--image NAME=FILE` or `--image FILE` (named by its file name).
fn parse_images(images: &[String]) -> Vec<(String, PathBuf)> {
    images
        .iter()
        .map(|s| match s.split_once('=') {
            Some((n, f)) if !n.is_empty() && !n.contains('/') => (n.to_string(), PathBuf::from(f)),
            _ => {
                let p = PathBuf::from(s);
                let n = p
                    .file_name()
                    .map_or_else(|| s.clone(), |n| n.to_string_lossy().into_owned());
                (n, p)
            }
        })
        .collect()
}

fn inputs(images: &[String], sysfs: &Path, dev: &Path) -> Inputs {
    if images.is_empty() {
        Inputs::Live {
            sys: sysfs.to_path_buf(),
            dev: dev.to_path_buf(),
        }
    } else {
        Inputs::Images(parse_images(images))
    }
}

fn settings(
    homehost_opt: Option<&str>,
    system_id: Option<&str>,
    live: bool,
    filter: Option<&ActivateFilter>,
) -> Settings {
    let etc = Path::new("/etc");
    Settings {
        homehost: mdadm::homehost(homehost_opt, etc),
        md_arrays: if live {
            mdadm::conf_arrays(etc)
        } else {
            vec![]
        },
        system_id: system_id.map(str::to_string),
        exclude: filter.map(|f| f.exclude.clone()).unwrap_or_default(),
        ..Settings::default()
    }
}

/// The LUKS side of the settings: crypttab (the given one; else /etc/crypttab for the running
/// system), a key store sized by MemAvailable, and the key files' bytes. Err: a usage error.
fn luks_settings(
    st: &mut Settings,
    crypttab: Option<&Path>,
    live: bool,
    key_files: &[PathBuf],
) -> Result<Sources, String> {
    let ct = match crypttab {
        Some(p) if !p.exists() => return Err(format!("{}: no such file", p.display())),
        Some(p) => Some(p.to_path_buf()),
        None if live => Some(PathBuf::from("/etc/crypttab")),
        None => None,
    };
    if let Some(p) = ct {
        let t = crate::config::crypttab::Crypttab::read(&p)?;
        for w in &t.warnings {
            log::warn!("{w}");
        }
        st.crypttab = t.entries;
    }
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| crate::unlock::keys::mem_available(&m))
        .unwrap_or(1 << 30);
    st.keys = crate::unlock::Keys::new(mem);
    let mut src = Sources {
        root: PathBuf::from("/"),
        ..Sources::default()
    };
    for f in key_files {
        let p = askpass::read_key_file(f, 0, None)?;
        src.key_files.push((f.display().to_string(), p));
    }
    Ok(src)
}

/// Discovery, with every LUKS volume the key files open read through (no prompt).
fn discover_with_keys(inp: &Inputs, st: &Settings, src: &Sources) -> engine::Graph {
    let g = engine::discover(inp, st.clone());
    if src.key_files.is_empty() {
        return g;
    }
    let mut rep = askpass::UnlockReport::default();
    let g = askpass::unlock_until(inp, st, g, &|_, _| true, &|_| false, src, None, &mut rep);
    for l in &rep.lines {
        log::info!("{l}");
    }
    g
}

/// What scan, plan and activate share: [`settings`] with the LUKS side ([`luks_settings`]),
/// the options naming the same fields in each command. Err: a usage error, already printed;
/// the command exits 2.
fn command_settings(
    homehost: Option<&str>,
    system_id: Option<&str>,
    live: bool,
    filter: Option<&ActivateFilter>,
    crypttab: Option<&Path>,
    key_files: &[PathBuf],
) -> Result<(Settings, Sources), i32> {
    let mut st = settings(homehost, system_id, live, filter);
    match luks_settings(&mut st, crypttab, live, key_files) {
        Ok(src) => Ok((st, src)),
        Err(e) => {
            eprintln!("evms-activate: {e}");
            Err(2)
        }
    }
}

fn scan(c: &ScanCmd) -> i32 {
    let inp = inputs(&c.image, &c.sysfs, &c.dev);
    let live = matches!(inp, Inputs::Live { .. });
    let (st, src) = match command_settings(
        c.homehost.as_deref(),
        c.system_id.as_deref(),
        live,
        None,
        c.crypttab.as_deref(),
        &c.key_file,
    ) {
        Ok(v) => v,
        Err(code) => return code,
    };
    let g = discover_with_keys(&inp, &st, &src);
    if c.json {
        print!("{}", crate::report::json(&g).pretty());
    } else {
        print!("{}", crate::report::tree(&g));
    }
    i32::from(crate::report::anything_broken(&g))
}

fn plan(c: &PlanCmd) -> i32 {
    let inp = inputs(&c.image, &c.sysfs, &c.dev);
    let live = matches!(inp, Inputs::Live { .. });
    let filt = match evms::activate_filter(&c.config, &c.include, &c.exclude) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("evms-activate: {e}");
            return 2;
        }
    };
    let (st, src) = match command_settings(
        c.homehost.as_deref(),
        c.system_id.as_deref(),
        live,
        filt.as_ref(),
        c.crypttab.as_deref(),
        &c.key_file,
    ) {
        Ok(v) => v,
        Err(code) => return code,
    };
    let g = discover_with_keys(&inp, &st, &src);
    let sel = Selection {
        volumes: c.volumes.clone(),
        filter: filt,
        degraded: c.degraded,
        partial: c.partial,
        ignore_activation_skip: c.ignore_activation_skip,
        hold_degraded: false,
    };
    let p = build(&g, &sel);
    if c.json {
        print!("{}", p.to_json().pretty());
    } else {
        print!("{p}");
        let (problems, warnings) = crate::report::problem_lines(&g);
        for w in problems.iter().chain(warnings.iter()) {
            println!("warning: {w}");
        }
    }
    i32::from(
        crate::report::anything_broken(&g)
            || p.skipped
                .iter()
                .any(|s| s.reason.starts_with("no such volume")),
    )
}

fn activate(c: &ActivateCmd) -> i32 {
    let filt = match evms::activate_filter(&c.config, &c.include, &c.exclude) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("evms-activate: {e}");
            return 2;
        }
    };
    let inp = inputs(&[], &c.sysfs, &c.dev);
    let (st, src) = match command_settings(
        c.homehost.as_deref(),
        c.system_id.as_deref(),
        true,
        filt.as_ref(),
        c.crypttab.as_deref(),
        &c.key_file,
    ) {
        Ok(v) => v,
        Err(code) => return code,
    };
    let root_ref = match c
        .root
        .as_deref()
        .map(crate::boot::cmdline::parse_device_ref)
    {
        Some(Err(e)) => {
            eprintln!(
                "evms-activate: root={}: {e}",
                c.root.as_deref().unwrap_or("")
            );
            return 2;
        }
        Some(Ok((r, _))) => Some(r),
        None => None,
    };
    // LUKS volumes: those the named volumes (or root=) are built on, found by opening locked
    // volumes until they resolve; with nothing named, every volume crypttab does not mark
    // noauto. Key files and reused passphrases first, then the terminal.
    let mut prompter: Option<Box<dyn askpass::Prompter>> = match c.prompt.as_str() {
        "tty" => TtyPrompter::open().map(|t| Box::new(t) as Box<dyn askpass::Prompter>),
        "console" => crate::boot::prompt::ConsolePrompter::open(&crate::boot::BootEnv::system())
            .map(|t| Box::new(t) as Box<dyn askpass::Prompter>),
        "systemd" => {
            askpass::AgentPrompter::new(Path::new("/run/systemd/ask-password"), "activate")
                .map(|t| Box::new(t) as Box<dyn askpass::Prompter>)
        }
        "none" => None,
        other => {
            eprintln!("evms-activate: --prompt {other}: expected tty, console, systemd or none");
            return 2;
        }
    };
    let started = std::time::Instant::now();
    let g = engine::discover(&inp, st.clone());
    log::debug!("discovery: {:.6}", started.elapsed().as_secs_f64());
    let mut rep = askpass::UnlockReport::default();
    let named = !c.volumes.is_empty() || root_ref.is_some();
    let resolved = |g: &engine::Graph| -> (Vec<engine::NodeId>, bool) {
        let mut ids = Vec::new();
        let mut all = true;
        for w in &c.volumes {
            let f = crate::plan::build::resolve(g, w);
            all &= !f.is_empty();
            ids.extend(f);
        }
        if let Some(r) = &root_ref {
            match crate::boot::volumes::resolve_root(g, r) {
                Ok(Some(i)) => ids.push(i),
                _ => all = false,
            }
        }
        (ids, all)
    };
    let done = |g: &engine::Graph| {
        let (ids, all) = resolved(g);
        named && all && ids.iter().all(|&i| askpass::chain_complete(g, i))
    };
    let candidate = |g: &engine::Graph, v: &engine::crypt::CryptVol| {
        let noauto = v.entry.as_ref().is_some_and(|e| e.options.noauto);
        if !named {
            return !noauto;
        }
        // The volumes under what is named; any other while something named is not found or
        // not whole yet (it may be the missing array member).
        let (ids, all) = resolved(g);
        let chain = askpass::locked_in_chain(g, &ids);
        let whole = all && ids.iter().all(|&i| askpass::chain_complete(g, i));
        g.cryptvols
            .iter()
            .position(|x| x.key == v.key)
            .is_some_and(|i| chain.contains(&i))
            || (!whole && !noauto)
    };
    let g = askpass::unlock_until(
        &inp,
        &st,
        g,
        &candidate,
        &done,
        &src,
        prompter.as_deref_mut(),
        &mut rep,
    );
    for l in &rep.lines {
        println!("{l}");
    }
    let mut luks_failed = false;
    for f in &rep.failed {
        let nofail = if f.nofail { " (nofail)" } else { "" };
        println!("cannot open {}: {}{nofail}", f.what, f.reason);
        luks_failed |= !f.nofail;
    }
    let mut volumes = c.volumes.clone();
    if let Some(r) = &c.root {
        match root_volume_in(&g, r) {
            Ok(key) => volumes.push(key),
            Err(e) => {
                eprintln!("evms-activate: {e}");
                return 1;
            }
        }
    }
    let sel = Selection {
        volumes,
        filter: filt,
        degraded: c.degraded,
        partial: c.partial,
        ignore_activation_skip: c.ignore_activation_skip,
        hold_degraded: false,
    };
    let env = crate::exec::ExecEnv {
        sys: c.sysfs.clone(),
        dev: c.dev.clone(),
        run: c.run.clone(),
        proc: PathBuf::from("/proc"),
    };
    let opts = crate::exec::ExecOptions {
        dry_run: c.dry_run,
        ..Default::default()
    };
    let mut modules = CliModules::default();
    let outcome = crate::activate::run(&inp, &st, g, &sel, &env, &opts, &mut |m| modules.load(m));
    // For the benchmark (tests/bench.sh): the whole run, the kernel's share, peak memory.
    log::debug!(
        "total={:.6} {} peak-rss={}",
        started.elapsed().as_secs_f64(),
        crate::exec::timing::summary(),
        crate::exec::timing::peak_rss(&env.proc)
    );
    for w in &outcome.warnings {
        println!("warning: {w}");
    }
    for line in &outcome.lines {
        println!("{line}");
    }
    i32::from(!outcome.ok || luks_failed)
}

/// The controlling terminal, for passphrase prompts (none in scripts and initramfs hooks).
struct TtyPrompter {
    tty: std::fs::File,
}

impl TtyPrompter {
    fn open() -> Option<TtyPrompter> {
        let tty = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/tty")
            .ok()?;
        nix::unistd::isatty(&tty)
            .unwrap_or(false)
            .then_some(TtyPrompter { tty })
    }
}

impl askpass::Prompter for TtyPrompter {
    fn ask(&mut self, prompt: &str) -> Option<crate::unlock::Passphrase> {
        askpass::ask_ttys(std::slice::from_ref(&self.tty), prompt)
            .ok()
            .flatten()
    }
    fn say(&mut self, msg: &str) {
        use std::io::Write;
        let _ = writeln!(self.tty, "{msg}");
    }
}

/// Loads the kernel modules each round's steps need (dm-mod, md-mod, raid456, dm targets, a
/// cache policy, ...) from /lib/modules/$(uname -r) as the boot does, so `activate` works
/// where nothing has loaded them (initramfs scripts, rescue shells, where the kernel's own
/// `request_module` finds no modprobe). Failures are warnings: the step that needs the module
/// reports the real error.
#[derive(Default)]
struct CliModules {
    /// Opened on first use; `None` inside when the indexes cannot be read (said once).
    loader: Option<Option<crate::boot::modules::ModuleLoader>>,
}

impl CliModules {
    fn load(&mut self, wanted: &[&'static str]) {
        use crate::boot::modules::{ModuleDb, ModuleLoader};
        let loader = self.loader.get_or_insert_with(|| {
            let u = nix::sys::utsname::uname().ok()?;
            let dir = Path::new("/lib/modules").join(u.release());
            // mkinitcpio keeps only kmod's binary indexes (modules.dep.bin), which we do not
            // read: there the kernel loads what the steps need on demand (kmod's modprobe is
            // in the image).
            if !dir.join("modules.dep").exists() && dir.join("modules.dep.bin").exists() {
                log::info!(
                    "{}: no modules.dep, only kmod's binary indexes: modules are left to the kernel",
                    dir.display()
                );
                return None;
            }
            match ModuleDb::load(&dir) {
                Ok(db) => Some(ModuleLoader::new(db, &dir, Path::new("/sys/module"))),
                Err(e) => {
                    log::warn!("cannot read the module indexes in {}: {e}", dir.display());
                    None
                }
            }
        });
        let Some(loader) = loader else { return };
        for m in wanted {
            let r = loader.request(m, "", "activate");
            for l in &r.loaded {
                log::info!("loaded module {l}");
            }
            for e in &r.errors {
                log::warn!("{e}");
            }
        }
    }
}

/// The graph key of the volume a root= value names (resolved as the boot resolves it), for
/// `activate --root`.
#[cfg(test)]
fn root_volume(inp: &Inputs, st: &Settings, root: &str) -> Result<String, String> {
    root_volume_in(&engine::discover(inp, st.clone()), root)
}

fn root_volume_in(g: &engine::Graph, root: &str) -> Result<String, String> {
    let (r, _notes) = crate::boot::cmdline::parse_device_ref(root)?;
    match crate::boot::volumes::resolve_root(g, &r)? {
        Some(i) => Ok(g.node(i).key.clone()),
        None => Err(format!(
            "root={root}: no disk, partition, array, logical volume or filesystem matches it yet"
        )),
    }
}

fn deactivate(c: &DeactivateCmd) -> i32 {
    let env = crate::exec::ExecEnv {
        sys: c.sysfs.clone(),
        dev: c.dev.clone(),
        run: c.run.clone(),
        proc: PathBuf::from("/proc"),
    };
    let inp = inputs(&[], &c.sysfs, &c.dev);
    let outcome =
        crate::activate::deactivate(&inp, &settings(None, None, true, None), &env, &c.volumes);
    for line in &outcome.lines {
        println!("{line}");
    }
    i32::from(!outcome.ok)
}

/// Messages to stderr for the command line (the boot path logs to /dev/kmsg instead).
struct StderrLogger {
    level: log::LevelFilter,
    /// Debug messages of other crates too (the devicemapper crate logs two per DM device).
    all_debug: bool,
}

impl log::Log for StderrLogger {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.level() <= self.level
            && (m.level() < log::Level::Debug
                || self.all_debug
                || m.target().starts_with("evms_activate"))
    }
    fn log(&self, r: &log::Record<'_>) {
        if self.enabled(r.metadata()) {
            eprintln!(
                "evms-activate: {}: {}",
                r.level().as_str().to_lowercase(),
                r.args()
            );
        }
    }
    fn flush(&self) {}
}

impl StderrLogger {
    fn init(verbose: u8) {
        let level = match verbose {
            0 => log::LevelFilter::Warn,
            1 => log::LevelFilter::Info,
            _ => log::LevelFilter::Debug,
        };
        let _ = log::set_boxed_logger(Box::new(StderrLogger {
            level,
            all_debug: verbose > 2,
        }));
        log::set_max_level(level);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{sparse::SparseDev, ReadAt};

    /// `activate --root` resolves every root= form the boot does; here on an image of a real
    /// mke2fs ext4 (tests/fixtures/fs/gen.sh, values from its expected.blkid).
    #[test]
    fn root_volume_forms() {
        let d = SparseDev::parse(include_bytes!("../tests/fixtures/fs/ext4/disk.spr")).unwrap();
        let mut buf = vec![0u8; usize::try_from(d.size()).unwrap()];
        d.read_exact_at(0, &mut buf).unwrap();
        let p = std::env::temp_dir().join(format!("evms-cli-root-{}", std::process::id()));
        std::fs::write(&p, buf).unwrap();
        let inp = Inputs::Images(vec![("vda".into(), p.clone())]);
        let st = Settings::default();
        let uuid = "UUID=0f3e2d1c-0000-4000-8000-000000000004";
        assert_eq!(root_volume(&inp, &st, uuid), Ok("img:vda".to_string()));
        assert_eq!(
            root_volume(&inp, &st, "block:/dev/disk/by-label/ext4\\x20label"),
            Ok("img:vda".to_string())
        );
        assert_eq!(
            root_volume(&inp, &st, "LABEL=other"),
            Err("root=LABEL=other: no disk, partition, array, logical volume or filesystem matches it yet".to_string())
        );
        assert!(root_volume(&inp, &st, "LABEL=").is_err());
        std::fs::remove_file(p).unwrap();
    }
}
