//! Kernel modules without kmod: the text indexes depmod writes (modules.dep, modules.alias,
//! modules.softdep, modules.builtin, modules.builtin.modinfo), name and modalias resolution as
//! modprobe does it, loading with `finit_module`, and coldplug (udev's "load a module for every
//! device's modalias").
//!
//! Call hierarchy:
//! * [`ModuleDb::parse`] / [`ModuleDb::load`]: the indexes, pure once read.
//! * [`ModuleDb::resolve`]: a name or alias (glob patterns as `fnmatch(3)`, [`fnmatch`]) →
//!   modules, in kmod's lookup order (`kmod_module_new_from_lookup`): modules.dep names, then
//!   modules.alias, then builtin aliases (modules.builtin.modinfo), then builtin names.
//! * [`ModuleDb::probe_list`]: one module → the ordered insmod list, a port of kmod's
//!   `__kmod_module_get_probe_list` / `__kmod_module_fill_softdep` (softdep `pre:` before, deps
//!   in reverse modules.dep order, `post:` after). Tested against `modprobe --show-depends`.
//! * [`ModuleLoader::request`]: resolves, loads each step (EEXIST and builtin are fine;
//!   softdep failures are only reported, as kmod ignores them), remembers what is loaded.
//! * [`coldplug`]: every device's MODALIAS (udev's coldplug set of devices), each requested.
//!
//! Names are normalized as kmod does: `-` and `_` are the same in module names and aliases
//! (outside `[...]` in patterns).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::ffi::CString;
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::exec::timing::{self, Call};
use nix::errno::Errno;
use nix::kmod::{finit_module, ModuleInitFlags};

/// `MODULE_INIT_COMPRESSED_FILE` (include/uapi/linux/module.h, Linux 5.17+): the kernel
/// decompresses the file itself (CONFIG_MODULE_DECOMPRESS). Not in the libc crate yet.
const MODULE_INIT_COMPRESSED_FILE: u32 = 4;

/// kmod's `alias_normalize`/`modname_normalize`: `-` → `_`, except inside `[...]`.
pub fn normalize(s: &str) -> String {
    // Most names and aliases have no '-': no per-character copy for them.
    if !s.as_bytes().contains(&b'-') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut in_class = false;
    for c in s.chars() {
        match c {
            '[' => in_class = true,
            ']' => in_class = false,
            '-' if !in_class => {
                out.push('_');
                continue;
            }
            _ => {}
        }
        out.push(c);
    }
    out
}

/// Module name of a modules.dep path: basename without `.ko` and compression suffix.
pub fn name_from_path(path: &str) -> String {
    let base = path.rsplit('/').next().unwrap_or(path);
    let stem = base.split(".ko").next().unwrap_or(base);
    normalize(stem)
}

/// `fnmatch(pattern, s, 0)` as kmod calls it for modalias lookups: `*`, `?`, `[...]` with
/// ranges and `!`/`^` negation, `\` escapes; `*` also matches `/`.
pub fn fnmatch(pat: &str, s: &str) -> bool {
    let (pat, s) = (pat.as_bytes(), s.as_bytes());
    let (mut p, mut i) = (0usize, 0usize);
    // Where to resume after the last '*': (pattern index after it, string index it covers to).
    let mut star: Option<(usize, usize)> = None;
    loop {
        let step = match (pat.get(p), s.get(i)) {
            (Some(b'*'), _) => {
                star = Some((p.saturating_add(1), i));
                p = p.saturating_add(1);
                continue;
            }
            (Some(b'?'), Some(_)) => Some(1),
            (Some(b'['), Some(&c)) => match class_match(pat, p, c) {
                Some((true, len)) => Some(len),
                Some((false, _)) => None,
                // No closing ']': a literal '['.
                None => (c == b'[').then_some(1),
            },
            (Some(b'\\'), Some(&c)) if pat.get(p.saturating_add(1)).is_some() => {
                (pat.get(p.saturating_add(1)) == Some(&c)).then_some(2)
            }
            (Some(&pc), Some(&c)) => (pc == c).then_some(1),
            (None, None) => return true,
            _ => None,
        };
        match step {
            Some(len) => {
                p = p.saturating_add(len);
                i = i.saturating_add(1);
            }
            None => match star {
                // Let the last '*' swallow one more byte and retry.
                Some((sp, si)) if si < s.len() => {
                    star = Some((sp, si.saturating_add(1)));
                    p = sp;
                    i = si.saturating_add(1);
                }
                _ => return false,
            },
        }
    }
}

/// Matches `c` against the bracket expression at `pat[start] == '['`; returns (matched,
/// length of the expression) or None when there is no closing `]`.
fn class_match(pat: &[u8], start: usize, c: u8) -> Option<(bool, usize)> {
    let mut j = start.saturating_add(1);
    let negate = matches!(pat.get(j), Some(b'!' | b'^'));
    if negate {
        j = j.saturating_add(1);
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let &lo = pat.get(j)?;
        if lo == b']' && !first {
            break;
        }
        first = false;
        let is_range = pat.get(j.saturating_add(1)) == Some(&b'-')
            && pat.get(j.saturating_add(2)).is_some_and(|&h| h != b']');
        if is_range {
            let &hi = pat.get(j.saturating_add(2))?;
            matched |= lo <= c && c <= hi;
            j = j.saturating_add(3);
        } else {
            matched |= lo == c;
            j = j.saturating_add(1);
        }
    }
    Some((matched != negate, j.saturating_add(1).saturating_sub(start)))
}

/// A module from modules.dep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModInfo {
    /// Path relative to the modules directory (`kernel/fs/ext4/ext4.ko`).
    pub path: String,
    /// Normalized names of every module it needs, in modules.dep order (depmod writes the
    /// whole closure, last to load first).
    pub deps: Vec<String>,
}

/// `softdep NAME pre: A B post: C` (names or aliases, normalized).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SoftDep {
    pub pre: Vec<String>,
    pub post: Vec<String>,
}

/// Alias patterns bucketed by the text before the first `:` (the bus: `pci`, `virtio`, ...)
/// when that part has no glob characters, so one modalias is matched against its own bus's
/// patterns only; the rest (`acpi*:...`) are tried for every lookup.
#[derive(Debug, Default)]
struct AliasIndex {
    /// (line order, pattern, module).
    by_prefix: HashMap<String, Vec<(usize, String, String)>>,
    other: Vec<(usize, String, String)>,
    count: usize,
}

fn has_glob(s: &str) -> bool {
    s.contains(['*', '?', '[', '\\'])
}

fn alias_prefix(s: &str) -> &str {
    s.split(':').next().unwrap_or(s)
}

impl AliasIndex {
    fn add(&mut self, pattern: String, module: String) {
        let order = self.count;
        self.count = self.count.saturating_add(1);
        let prefix = alias_prefix(&pattern);
        if has_glob(prefix) {
            self.other.push((order, pattern, module));
        } else if let Some(v) = self.by_prefix.get_mut(prefix) {
            v.push((order, pattern, module));
        } else {
            self.by_prefix
                .insert(prefix.to_string(), vec![(order, pattern, module)]);
        }
    }

    /// Modules whose pattern matches `query` (normalized), in file order; a module matched by
    /// two patterns comes twice, as kmod returns it (the loader skips the repeat).
    fn lookup(&self, query: &str) -> Vec<String> {
        let mut hits: Vec<&(usize, String, String)> = self
            .by_prefix
            .get(alias_prefix(query))
            .into_iter()
            .flatten()
            .chain(self.other.iter())
            .filter(|(_, pat, _)| fnmatch(pat, query))
            .collect();
        hits.sort_by_key(|(order, _, _)| *order);
        hits.into_iter().map(|(_, _, m)| m.clone()).collect()
    }
}

/// What a name or alias resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Module(String),
    Builtin(String),
}

/// One line of the insmod list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub name: String,
    /// Relative path; `None` for a builtin.
    pub path: Option<String>,
    /// The requested module or one of its modules.dep dependencies; softdeps (and what they
    /// pull in) are not required: kmod ignores their failures.
    pub required: bool,
}

/// The parsed indexes of one modules directory.
#[derive(Debug, Default)]
pub struct ModuleDb {
    modules: HashMap<String, ModInfo>,
    aliases: AliasIndex,
    softdeps: HashMap<String, SoftDep>,
    /// modules.builtin and modules.builtin.modinfo as read, parsed on the first lookup that
    /// gets that far: a device's modalias never needs them (a builtin driver loads nothing),
    /// a module or alias that matches neither; at boot they usually stay unparsed (the
    /// 46 KB modinfo was most of the index parsing).
    builtin_text: (String, Vec<u8>),
    builtin: std::cell::OnceCell<Builtin>,
}

#[derive(Debug, Default)]
struct Builtin {
    names: HashSet<String>,
    aliases: AliasIndex,
}

impl Builtin {
    fn parse(builtin: &str, builtin_modinfo: &[u8]) -> Builtin {
        let mut b = Builtin::default();
        for line in builtin.lines() {
            let line = line.trim();
            if !line.is_empty() {
                b.names.insert(name_from_path(line));
            }
        }
        for entry in builtin_modinfo.split(|&b| b == 0) {
            let Ok(entry) = std::str::from_utf8(entry) else {
                continue;
            };
            if let Some((m, a)) = entry.split_once(".alias=") {
                b.aliases.add(normalize(a), normalize(m));
            }
        }
        b
    }
}

impl ModuleDb {
    /// Parses the text indexes (any may be empty). `builtin_modinfo` is the NUL-separated
    /// `name.key=value` list from modules.builtin.modinfo (only `alias` keys are used).
    pub fn parse(
        dep: &str,
        alias: &str,
        softdep: &str,
        builtin: &str,
        builtin_modinfo: &[u8],
    ) -> ModuleDb {
        let mut db = ModuleDb::default();
        for line in dep.lines() {
            let Some((path, deps)) = line.split_once(':') else {
                continue;
            };
            let path = path.trim();
            if path.is_empty() {
                continue;
            }
            db.modules.insert(
                name_from_path(path),
                ModInfo {
                    path: path.to_string(),
                    deps: deps.split_ascii_whitespace().map(name_from_path).collect(),
                },
            );
        }
        for line in alias.lines() {
            let mut w = line.split_ascii_whitespace();
            if let (Some("alias"), Some(pat), Some(m)) = (w.next(), w.next(), w.next()) {
                db.aliases.add(normalize(pat), normalize(m));
            }
        }
        for line in softdep.lines() {
            let mut w = line.split_whitespace();
            if w.next() != Some("softdep") {
                continue;
            }
            let Some(m) = w.next() else { continue };
            let entry = db.softdeps.entry(normalize(m)).or_default();
            // kmod config.c: words before the first "pre:"/"post:" are ignored.
            let mut mode = 0u8;
            for t in w {
                match t {
                    "pre:" => mode = 1,
                    "post:" => mode = 2,
                    _ if mode == 1 => entry.pre.push(normalize(t)),
                    _ if mode == 2 => entry.post.push(normalize(t)),
                    _ => {}
                }
            }
        }
        db.builtin_text = (builtin.to_string(), builtin_modinfo.to_vec());
        db
    }

    fn builtin(&self) -> &Builtin {
        self.builtin
            .get_or_init(|| Builtin::parse(&self.builtin_text.0, &self.builtin_text.1))
    }

    /// Reads the indexes from `dir` (/lib/modules/KVER). A missing file counts as empty (an
    /// initramfs for a kernel with everything built in has none); other read errors fail.
    pub fn load(dir: &Path) -> io::Result<ModuleDb> {
        let read = |name: &str| -> io::Result<Vec<u8>> {
            match fs::read(dir.join(name)) {
                Ok(b) => Ok(b),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
                Err(e) => Err(io::Error::new(
                    e.kind(),
                    format!("{}: {e}", dir.join(name).display()),
                )),
            }
        };
        let text = |b: Vec<u8>| String::from_utf8_lossy(&b).into_owned();
        Ok(ModuleDb::parse(
            &text(read("modules.dep")?),
            &text(read("modules.alias")?),
            &text(read("modules.softdep")?),
            &text(read("modules.builtin")?),
            &read("modules.builtin.modinfo")?,
        ))
    }

    pub fn module(&self, name: &str) -> Option<&ModInfo> {
        self.modules.get(&normalize(name))
    }

    pub fn is_builtin(&self, name: &str) -> bool {
        self.builtin().names.contains(&normalize(name))
    }

    /// A name or alias → modules, in kmod's lookup order; empty = not found.
    pub fn resolve(&self, query: &str) -> Vec<Target> {
        let q = normalize(query);
        let m = self.resolve_modules(&q);
        if !m.is_empty() {
            return m;
        }
        let b = self.builtin().aliases.lookup(&q);
        if !b.is_empty() {
            return b.into_iter().map(Target::Builtin).collect();
        }
        if self.builtin().names.contains(&q) {
            return vec![Target::Builtin(q)];
        }
        Vec::new()
    }

    /// [`ModuleDb::resolve`]'s first half (`q` normalized): modules.dep names, then
    /// modules.alias. What it misses can only be builtin or nothing.
    fn resolve_modules(&self, q: &str) -> Vec<Target> {
        if self.modules.contains_key(q) {
            return vec![Target::Module(q.to_string())];
        }
        self.aliases
            .lookup(q)
            .into_iter()
            .map(Target::Module)
            .collect()
    }

    /// The insmod list for one module, duplicates included, exactly as
    /// `modprobe --show-depends NAME` prints it (kmod 30 `libkmod-module.c`).
    pub fn probe_list(&self, module: &str) -> Vec<Step> {
        let module = normalize(module);
        let mut required: HashSet<String> = HashSet::new();
        required.insert(module.clone());
        if let Some(info) = self.modules.get(&module) {
            required.extend(info.deps.iter().cloned());
        }
        let mut visited = HashSet::new();
        let mut out = Vec::new();
        self.get_probe_list(&module, &mut visited, &mut out, 0);
        for s in &mut out {
            s.required = required.contains(&s.name);
        }
        out
    }

    /// `__kmod_module_get_probe_list`: each dependency with its softdeps, then the module with
    /// its own. Depth-bounded: softdeps may form cycles that `visited` alone would also stop,
    /// the bound only guards against pathological index files.
    fn get_probe_list(
        &self,
        m: &str,
        visited: &mut HashSet<String>,
        out: &mut Vec<Step>,
        depth: u32,
    ) {
        if depth > 64 || !visited.insert(m.to_string()) {
            return;
        }
        // kmod_module_get_dependencies: the modules.dep list, reversed (prepended on parse).
        if let Some(info) = self.modules.get(m) {
            for d in info.deps.iter().rev() {
                self.fill_softdep(d, visited, out, depth);
            }
        }
        self.fill_softdep(m, visited, out, depth);
    }

    /// `__kmod_module_fill_softdep`: pre softdeps' probe lists, the module, post softdeps'.
    fn fill_softdep(
        &self,
        m: &str,
        visited: &mut HashSet<String>,
        out: &mut Vec<Step>,
        depth: u32,
    ) {
        let sd = self.softdeps.get(m);
        for name in sd.map(|s| s.pre.as_slice()).unwrap_or_default() {
            for t in self.resolve(name) {
                self.target_probe_list(&t, visited, out, depth.saturating_add(1));
            }
        }
        out.push(self.step(m));
        for name in sd.map(|s| s.post.as_slice()).unwrap_or_default() {
            for t in self.resolve(name) {
                self.target_probe_list(&t, visited, out, depth.saturating_add(1));
            }
        }
    }

    fn target_probe_list(
        &self,
        t: &Target,
        visited: &mut HashSet<String>,
        out: &mut Vec<Step>,
        depth: u32,
    ) {
        match t {
            Target::Module(m) => self.get_probe_list(m, visited, out, depth),
            // Nothing to load, and modprobe --show-depends lists no line for it either.
            Target::Builtin(_) => {}
        }
    }

    fn step(&self, m: &str) -> Step {
        Step {
            name: m.to_string(),
            path: self.modules.get(m).map(|i| i.path.clone()),
            required: false,
        }
    }
}

/// Why a module could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModuleError {
    /// No module, alias or builtin has this name.
    NotFound { query: String, requested_by: String },
    /// modules.dep names it but the file is not in the initramfs.
    Missing {
        module: String,
        path: PathBuf,
        requested_by: String,
    },
    /// A compressed module the kernel cannot decompress.
    Compressed {
        module: String,
        path: PathBuf,
        format: &'static str,
        kernel: Option<String>,
        requested_by: String,
    },
    /// finit_module (or opening the file) failed.
    Load {
        module: String,
        path: PathBuf,
        errno: Errno,
        requested_by: String,
    },
}

impl fmt::Display for ModuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModuleError::NotFound {
                query,
                requested_by,
            } => write!(
                f,
                "no module, alias or builtin named '{query}' (needed by {requested_by}); \
                 add it to the initramfs"
            ),
            ModuleError::Missing {
                module,
                path,
                requested_by,
            } => write!(
                f,
                "module {module} is listed in modules.dep but {} is missing (needed by \
                 {requested_by}); rebuild the initramfs",
                path.display()
            ),
            ModuleError::Compressed {
                module,
                path,
                format,
                kernel,
                requested_by,
            } => {
                write!(
                    f,
                    "Failed to load module {module} ({}, needed by {requested_by}): ",
                    path.display()
                )?;
                match kernel {
                    None => write!(
                        f,
                        "it is {format}-compressed and this kernel cannot decompress modules \
                         (no /sys/module/compression: CONFIG_MODULE_DECOMPRESS is off); \
                         store it uncompressed"
                    ),
                    Some(k) => write!(
                        f,
                        "it is {format}-compressed but this kernel decompresses only {k}; \
                         store it uncompressed or as {k}"
                    ),
                }
            }
            ModuleError::Load {
                module,
                path,
                errno,
                requested_by,
            } => {
                write!(
                    f,
                    "Failed to load module {module} ({}, needed by {requested_by}): {errno}",
                    path.display()
                )?;
                match errno {
                    Errno::ENOENT => write!(f, " (unknown symbol: see dmesg)"),
                    Errno::ENOEXEC => write!(f, " (not a module for this kernel: see dmesg)"),
                    _ => Ok(()),
                }
            }
        }
    }
}

/// The outcome of one request.
#[derive(Debug, Default)]
pub struct LoadReport {
    /// Modules loaded by this request, in order.
    pub loaded: Vec<String>,
    /// Failures of the requested modules or their modules.dep dependencies.
    pub errors: Vec<ModuleError>,
    /// Failures of softdeps (kmod ignores these: a crc32c accelerator refusing a CPU without
    /// the instructions is normal).
    pub ignored: Vec<ModuleError>,
    /// Device modaliases looked at (coldplug only).
    pub modaliases: usize,
}

impl LoadReport {
    /// Adds another report's modules and failures after this one's.
    pub fn append(&mut self, mut other: LoadReport) {
        self.loaded.append(&mut other.loaded);
        self.errors.append(&mut other.errors);
        self.ignored.append(&mut other.ignored);
        self.modaliases += other.modaliases;
    }
}

/// The compression of a module file, from its name.
pub fn compression_of(path: &str) -> Option<&'static str> {
    if path.ends_with(".ko.xz") {
        Some("xz")
    } else if path.ends_with(".ko.zst") {
        Some("zstd")
    } else if path.ends_with(".ko.gz") {
        Some("gzip")
    } else {
        None
    }
}

/// Time with a finit_module in flight so far (the kernel's own work: signature check,
/// relocation, the module's init such as raid6's algorithm benchmark; modules loading side by
/// side count once), for the boot benchmark's stage lines.
pub fn kernel_time() -> Duration {
    timing::wall(Call::FinitModule)
}

/// The CPUs this process may run on (std's available_parallelism also reads cgroup quotas:
/// 12 KB of binary for a number we only compare with 1).
fn cpus() -> usize {
    use nix::sched::{sched_getaffinity, CpuSet};
    sched_getaffinity(nix::unistd::Pid::from_raw(0)).map_or(1, |set| {
        (0..CpuSet::count())
            .filter(|&c| set.is_set(c).unwrap_or(false))
            .count()
    })
}

/// Loads modules from one directory, remembering what is done.
pub struct ModuleLoader {
    db: ModuleDb,
    dir: PathBuf,
    /// /sys/module: loaded modules have `NAME/initstate`; `compression` says what the kernel
    /// decompresses.
    sys_module: PathBuf,
    done: HashSet<String>,
    /// The first failure of each module, repeated instead of retrying the syscall.
    failed: HashMap<String, ModuleError>,
    seen_aliases: HashSet<String>,
    /// Load the modules of [`ModuleLoader::request_many`] side by side when there is more
    /// than one CPU (`evms.modules=serial` turns it off).
    parallel: bool,
}

impl ModuleLoader {
    pub fn new(db: ModuleDb, dir: &Path, sys_module: &Path) -> ModuleLoader {
        ModuleLoader {
            db,
            dir: dir.to_path_buf(),
            sys_module: sys_module.to_path_buf(),
            done: HashSet::new(),
            failed: HashMap::new(),
            seen_aliases: HashSet::new(),
            parallel: true,
        }
    }

    /// Whether [`ModuleLoader::request_many`] may load side by side.
    pub fn set_parallel(&mut self, on: bool) {
        self.parallel = on;
    }

    /// Loads several modules (query, parameters, who needs it), each with its dependencies:
    /// with more than one CPU each in a worker process of its own, as udev does (the kernel
    /// lets finit_module run concurrently; a module two workers need is loaded once, the
    /// other call waiting for it and returning EEXIST, so every module still comes after its
    /// dependencies). raid6's algorithm benchmark or ext4's init then runs while another
    /// module loads. The report lists what each request did, in the order given.
    pub fn request_many(&mut self, queries: &[(String, String, String)]) -> LoadReport {
        let mut total = LoadReport::default();
        if self.parallel && queries.len() > 1 && cpus() > 1 {
            total.loaded = self.load_in_workers(queries);
        }
        // Then in this process, in order: what the workers loaded is found loaded (a stat,
        // no finit_module); what failed fails again here and is reported as it is.
        for (q, params, by) in queries {
            total.append(self.request(q, params, by));
        }
        total
    }

    /// Forks one worker per request; each loads its request's modules and writes back what it
    /// loaded and its time inside finit_module. Processes rather than threads: std's thread
    /// support costs 33 KB of binary, fork a few hundred bytes. Returns the modules loaded.
    fn load_in_workers(&mut self, queries: &[(String, String, String)]) -> Vec<String> {
        use nix::unistd::{fork, pipe, ForkResult};
        use std::io::Read;
        let started = Instant::now();
        let mut workers = Vec::new();
        for (q, params, by) in queries {
            let Ok((rd, wr)) = pipe() else { break };
            // SAFETY: this process runs one thread (PID 1's loop); the child only loads
            // modules, writes to its pipe and leaves with _exit (no destructor, no atexit).
            match unsafe { fork() } {
                Ok(ForkResult::Child) => {
                    drop(rd);
                    let before = timing::spent(Call::FinitModule);
                    let r = self.request(q, params, by);
                    let spent = timing::spent(Call::FinitModule).saturating_sub(before);
                    let msg = format!("{} {}", spent.as_nanos(), r.loaded.join(" "));
                    let _ = nix::unistd::write(&wr, msg.as_bytes());
                    // SAFETY: ends the child at once; nothing of it is needed any more.
                    unsafe { nix::libc::_exit(0) }
                }
                Ok(ForkResult::Parent { child }) => workers.push((child, rd)),
                Err(_) => break,
            }
        }
        let mut loaded = Vec::new();
        let mut spent = Duration::ZERO;
        for (child, rd) in workers {
            let mut msg = String::new();
            let _ = std::fs::File::from(rd).read_to_string(&mut msg);
            let _ = nix::sys::wait::waitpid(child, None);
            let mut words = msg.split_whitespace();
            spent += Duration::from_nanos(words.next().and_then(|n| n.parse().ok()).unwrap_or(0));
            loaded.extend(words.map(str::to_string));
        }
        timing::add(Call::FinitModule, spent, started.elapsed());
        loaded
    }

    pub fn db(&self) -> &ModuleDb {
        &self.db
    }

    /// Loads a module by name or alias (with its dependencies and softdeps); `params` go to
    /// the requested module only. Nothing matching is an error.
    pub fn request(&mut self, query: &str, params: &str, requested_by: &str) -> LoadReport {
        let targets = self.db.resolve(query);
        let mut r = LoadReport::default();
        if targets.is_empty() {
            // A module built in but absent from modules.builtin (hand-made initramfs) still
            // shows up in /sys/module when it has parameters.
            if !self.sys_module.join(normalize(query)).exists() {
                r.errors.push(ModuleError::NotFound {
                    query: query.to_string(),
                    requested_by: requested_by.to_string(),
                });
            }
            return r;
        }
        for t in targets {
            self.load_target(&t, params, requested_by, &mut r);
        }
        r
    }

    /// Loads whatever matches a device's modalias; no match is normal (no driver needed or
    /// none shipped). Each modalias is handled once.
    pub fn request_modalias(&mut self, modalias: &str, requested_by: &str) -> LoadReport {
        let modalias = modalias.trim();
        if modalias.is_empty() || !self.seen_aliases.insert(modalias.to_string()) {
            return LoadReport::default();
        }
        let mut r = LoadReport::default();
        // Builtin drivers load nothing: only modules are looked up.
        for t in self.db.resolve_modules(&normalize(modalias)) {
            self.load_target(&t, "", requested_by, &mut r);
        }
        // A device's driver failing is not fatal to the boot; the caller logs it.
        r.ignored.append(&mut r.errors);
        r
    }

    fn load_target(&mut self, t: &Target, params: &str, requested_by: &str, r: &mut LoadReport) {
        let name = match t {
            Target::Builtin(_) => return,
            Target::Module(m) => m.clone(),
        };
        if self.done.contains(&name) {
            return;
        }
        let mut seen = HashSet::new();
        for step in self.db.probe_list(&name) {
            if !seen.insert(step.name.clone()) || self.done.contains(&step.name) {
                continue;
            }
            let by = if step.name == name {
                requested_by.to_string()
            } else {
                format!("{name} for {requested_by}")
            };
            let p = if step.name == name { params } else { "" };
            // An optional step that already failed was reported then (crc32c_intel on a CPU
            // without SSE4.2 is every checksum user's softdep): not again for each user.
            if !step.required && self.failed.contains_key(&step.name) {
                continue;
            }
            match self.load_step(&step, p, &by) {
                Ok(true) => r.loaded.push(step.name.clone()),
                Ok(false) => {}
                Err(e) if step.required => {
                    r.errors.push(e);
                    // The module needing it cannot load either; kmod stops here too.
                    return;
                }
                Err(e) => r.ignored.push(e),
            }
        }
    }

    /// Ok(true) = loaded now, Ok(false) = already there or builtin.
    fn load_step(
        &mut self,
        step: &Step,
        params: &str,
        requested_by: &str,
    ) -> Result<bool, ModuleError> {
        let Some(rel) = &step.path else {
            self.done.insert(step.name.clone());
            return Ok(false);
        };
        if self.sys_module.join(&step.name).join("initstate").exists() {
            self.done.insert(step.name.clone());
            return Ok(false);
        }
        let path = self.dir.join(rel);
        let load_err = |errno| ModuleError::Load {
            module: step.name.clone(),
            path: path.clone(),
            errno,
            requested_by: requested_by.to_string(),
        };
        if let Some(e) = self.failed.get(&step.name) {
            return Err(e.clone());
        }
        let file = match fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(self.fail(
                    &step.name,
                    ModuleError::Missing {
                        module: step.name.clone(),
                        path,
                        requested_by: requested_by.to_string(),
                    },
                ));
            }
            Err(e) => {
                let err = load_err(Errno::from_raw(e.raw_os_error().unwrap_or(0)));
                return Err(self.fail(&step.name, err));
            }
        };
        let mut flags = ModuleInitFlags::empty();
        if let Some(format) = compression_of(rel) {
            let kernel = fs::read_to_string(self.sys_module.join("compression"))
                .ok()
                .map(|s| s.trim().to_string());
            if kernel.as_deref() != Some(format) {
                return Err(self.fail(
                    &step.name,
                    ModuleError::Compressed {
                        module: step.name.clone(),
                        path,
                        format,
                        kernel,
                        requested_by: requested_by.to_string(),
                    },
                ));
            }
            flags = ModuleInitFlags::from_bits_retain(MODULE_INIT_COMPRESSED_FILE);
        }
        let params = CString::new(params).unwrap_or_default();
        let started = Instant::now();
        let res = timing::timed(Call::FinitModule, || finit_module(&file, &params, flags));
        let spent = started.elapsed();
        log::debug!(
            "finit_module {}: {:.1} ms",
            step.name,
            spent.as_secs_f64() * 1e3
        );
        match res {
            Ok(()) => {
                self.done.insert(step.name.clone());
                Ok(true)
            }
            Err(Errno::EEXIST) => {
                self.done.insert(step.name.clone());
                Ok(false)
            }
            Err(e) => {
                let err = load_err(e);
                Err(self.fail(&step.name, err))
            }
        }
    }

    fn fail(&mut self, name: &str, e: ModuleError) -> ModuleError {
        self.failed.insert(name.to_string(), e.clone());
        e
    }
}

/// Every device's `MODALIAS` (from its `uevent` file), for the devices udev's coldplug
/// (`udevadm trigger`) enumerates: `SYS/bus/*/devices/*` and `SYS/class/*/*`. Walking all of
/// /sys/devices for `modalias` files finds the same set but visits every attribute-group and
/// glue directory too: ~10 times the directories, most of coldplug's time at boot.
/// Paths are as listed (`SYS/bus/pci/devices/0000:00:04.0`), in directory order.
pub fn find_modaliases(sys: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let sorted = |dir: &Path| -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .collect();
        v.sort();
        v
    };
    let lists = sorted(&sys.join("bus"))
        .into_iter()
        .map(|b| b.join("devices"))
        .chain(sorted(&sys.join("class")));
    for list in lists {
        for dev in sorted(&list) {
            // Devices without a modalias (most class devices) have no such line. read_attr:
            // three system calls per device where read_to_string makes six.
            let Some(text) = crate::source::sysfs::read_attr(&dev.join("uevent")) else {
                continue;
            };
            if let Some(a) = text.lines().find_map(|l| l.strip_prefix("MODALIAS=")) {
                let a = a.trim();
                if !a.is_empty() {
                    out.push((dev.clone(), a.to_string()));
                }
            }
        }
    }
    out
}

/// udev coldplug: a module for every device present now (`sys` is /sys). Returns what loaded
/// and what failed (all failures are non-fatal here).
pub fn coldplug(sys: &Path, loader: &mut ModuleLoader) -> LoadReport {
    let mut total = LoadReport::default();
    let t = Instant::now();
    let aliases: BTreeSet<(String, PathBuf)> = find_modaliases(sys)
        .into_iter()
        .map(|(p, a)| (a, p))
        .collect();
    total.modaliases = aliases.len();
    log::debug!(
        "coldplug: {} device modaliases found in {:.1} ms",
        aliases.len(),
        t.elapsed().as_secs_f64() * 1e3
    );
    for (alias, dev) in aliases {
        let by = format!("device {}", dev.display());
        let mut r = loader.request_modalias(&alias, &by);
        total.loaded.append(&mut r.loaded);
        total.ignored.append(&mut r.ignored);
    }
    total
}

/// Lines of /etc/evms/modules (written by the generator): `NAME [PARAMS...]`, `#` comments.
pub fn parse_module_list(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(|l| match l.split_once(char::is_whitespace) {
            Some((n, p)) => (n.to_string(), p.trim().to_string()),
            None => (l.to_string(), String::new()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/boot/modules");

    fn db() -> ModuleDb {
        ModuleDb::load(Path::new(FIX)).unwrap()
    }

    #[test]
    fn globbing() {
        assert!(fnmatch("virtio:d00000002v*", "virtio:d00000002v00001AF4"));
        assert!(!fnmatch("virtio:d00000002v*", "virtio:d00000012v00001AF4"));
        assert!(fnmatch(
            "pci:v00001AF4d*sv*sd*bc*sc*i*",
            "pci:v00001AF4d00001001sv00001AF4sd00000002bc01sc00i00"
        ));
        assert!(fnmatch("a?c", "abc") && !fnmatch("a?c", "ac"));
        assert!(fnmatch("x[0-9a-f]y", "x7y") && fnmatch("x[0-9a-f]y", "xby"));
        assert!(!fnmatch("x[0-9]y", "xay"));
        assert!(fnmatch("x[!0-9]y", "xay") && !fnmatch("x[^0-9]y", "x5y"));
        assert!(fnmatch("x[]]y", "x]y"));
        assert!(fnmatch("a[b", "a[b"), "an unclosed bracket is literal");
        assert!(fnmatch("a\\*b", "a*b") && !fnmatch("a\\*b", "axb"));
        assert!(fnmatch("*", "") && fnmatch("**a*", "xxa") && !fnmatch("*a", "xab"));
        assert!(fnmatch("dmi*:svn*QEMU*:", "dmi:bvnSeaBIOS:svnQEMU:"));
        assert!(fnmatch("*/x", "a/b/x"), "no FNM_PATHNAME");
    }

    #[test]
    fn names() {
        assert_eq!(name_from_path("kernel/lib/crc-t10dif.ko"), "crc_t10dif");
        assert_eq!(name_from_path("kernel/fs/ext4/ext4.ko.zst"), "ext4");
        assert_eq!(normalize("fs-ext4"), "fs_ext4");
        assert_eq!(normalize("pci:v[a-f]-x"), "pci:v[a-f]_x");
        assert_eq!(compression_of("a.ko.xz"), Some("xz"));
        assert_eq!(compression_of("a.ko"), None);
    }

    /// Our probe lists equal `modprobe --show-depends` on the full Debian tree (fixture
    /// generator: tests/fixtures/boot/modules/gen.sh), duplicates and order included.
    #[test]
    fn probe_lists_equal_modprobe() {
        let db = db();
        let expected = fs::read_to_string(Path::new(FIX).join("expected.txt")).unwrap();
        let mut n = 0;
        for block in expected.split("== ").filter(|b| !b.is_empty()) {
            let (query, lines) = block.split_once('\n').unwrap();
            let want: Vec<&str> = lines.lines().filter(|l| !l.is_empty()).collect();
            let mut got = Vec::new();
            for t in db.resolve(query) {
                match t {
                    Target::Builtin(b) => got.push(format!("builtin {b}")),
                    Target::Module(m) => {
                        for s in db.probe_list(&m) {
                            got.push(match s.path {
                                Some(p) => format!("insmod {p}"),
                                None => format!("builtin {}", s.name),
                            });
                        }
                    }
                }
            }
            assert_eq!(got, want, "query {query}");
            n += 1;
        }
        assert!(n >= 15, "only {n} queries in expected.txt");
    }

    #[test]
    fn required_marks() {
        let db = db();
        let steps = db.probe_list("ext4");
        let req: Vec<(&str, bool)> = steps
            .iter()
            .map(|s| (s.name.as_str(), s.required))
            .collect();
        assert_eq!(
            req,
            vec![
                ("crc32c_intel", false),
                ("crc32c_generic", false),
                ("jbd2", true),
                ("mbcache", true),
                ("crc16", true),
                ("ext4", true)
            ]
        );
    }

    #[test]
    fn resolve_order_and_misses() {
        let db = db();
        assert_eq!(db.resolve("md-mod"), vec![Target::Module("md_mod".into())]);
        assert_eq!(
            db.resolve("fs-debugfs"),
            vec![Target::Builtin("debugfs".into())]
        );
        assert_eq!(
            db.resolve("binfmt_elf"),
            vec![Target::Builtin("binfmt_elf".into())]
        );
        assert!(db
            .resolve("pci:v0000FFFFd0000FFFFsv0000FFFFsd0000FFFFbcFFscFFiFF")
            .is_empty());
        assert!(db.resolve("no_such_module").is_empty());
        assert!(db.is_builtin("binfmt-elf"));
    }

    #[test]
    fn loader_reports_missing_files_and_names() {
        let d = std::env::temp_dir().join(format!("evms-mod-{}", std::process::id()));
        fs::create_dir_all(d.join("sysmod")).unwrap();
        let mut l = ModuleLoader::new(db(), &d, &d.join("sysmod"));
        let r = l.request("no-such-thing", "", "rootfstype=foo");
        assert!(r.loaded.is_empty());
        assert_eq!(
            r.errors.iter().map(ToString::to_string).collect::<Vec<_>>(),
            vec!["no module, alias or builtin named 'no-such-thing' (needed by rootfstype=foo); add it to the initramfs"]
        );
        // virtio_blk's first dependency is absent from the (empty) module directory: the
        // error names it and who asked, and the chain stops there.
        let r = l.request("virtio:d00000002v00001AF4", "", "device virtio1");
        assert_eq!(r.errors.len(), 1, "{:?}", r);
        assert_eq!(
            r.errors[0].to_string(),
            format!(
                "module virtio_ring is listed in modules.dep but {}/kernel/drivers/virtio/virtio_ring.ko is missing (needed by virtio_blk for device virtio1); rebuild the initramfs",
                d.display()
            )
        );
        // Builtins need nothing.
        let r = l.request("fs-debugfs", "", "x");
        assert!(r.errors.is_empty() && r.loaded.is_empty());
        // A compressed module with a kernel that cannot decompress.
        let db2 = ModuleDb::parse("kernel/x/zz.ko.zst:\n", "", "", "", b"");
        fs::create_dir_all(d.join("kernel/x")).unwrap();
        fs::write(d.join("kernel/x/zz.ko.zst"), b"x").unwrap();
        let mut l = ModuleLoader::new(db2, &d, &d.join("sysmod"));
        let r = l.request("zz", "", "test");
        assert!(r.errors[0]
            .to_string()
            .contains("it is zstd-compressed and this kernel cannot decompress modules"));
        fs::write(d.join("sysmod/compression"), "xz\n").unwrap();
        let mut l = ModuleLoader::new(
            ModuleDb::parse("kernel/x/zz.ko.zst:\n", "", "", "", b""),
            &d,
            &d.join("sysmod"),
        );
        let r = l.request("zz", "", "test");
        assert!(r.errors[0]
            .to_string()
            .contains("but this kernel decompresses only xz"));
        fs::remove_dir_all(&d).unwrap();
    }

    /// Several requests at once (in worker processes when this machine has CPUs for it, or
    /// one at a time): each request's report in the order given, and what was learnt (a
    /// module found loaded, a failure) kept for later requests.
    #[test]
    fn request_many_reports_in_order() {
        let d = std::env::temp_dir().join(format!("evms-many-{}", std::process::id()));
        fs::create_dir_all(d.join("sysmod/b")).unwrap();
        fs::write(d.join("sysmod/b/initstate"), "live\n").unwrap();
        for parallel in [true, false] {
            let db = ModuleDb::parse(
                "kernel/x/a.ko: kernel/x/b.ko\nkernel/x/b.ko:\nkernel/x/c.ko:\n",
                "",
                "",
                "",
                b"",
            );
            let mut l = ModuleLoader::new(db, &d, &d.join("sysmod"));
            l.set_parallel(parallel);
            let q = |m: &str| (m.to_string(), String::new(), format!("test {m}"));
            let r = l.request_many(&[q("a"), q("c"), q("b")]);
            let modules: Vec<String> = r
                .errors
                .iter()
                .map(|e| match e {
                    ModuleError::Missing { module, .. } => module.clone(),
                    other => panic!("{other}"),
                })
                .collect();
            assert_eq!(modules, ["a", "c"], "parallel {parallel}");
            assert!(r.loaded.is_empty());
            assert!(l.done.contains("b"));
            assert!(l.failed.contains_key("a") && l.failed.contains_key("c"));
        }
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn failed_softdep_reported_once() {
        let d = std::env::temp_dir().join(format!("evms-softdep-{}", std::process::id()));
        fs::create_dir_all(d.join("sysmod")).unwrap();
        let db = ModuleDb::parse(
            "kernel/x/a.ko:\nkernel/x/b.ko:\nkernel/x/s.ko:\n",
            "",
            "softdep a pre: s\nsoftdep b pre: s\n",
            "",
            b"",
        );
        let mut l = ModuleLoader::new(db, &d, &d.join("sysmod"));
        let r = l.request("a", "", "test");
        let names = |v: &[ModuleError]| {
            v.iter()
                .map(|e| e.to_string().split(' ').nth(1).unwrap_or("").to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&r.ignored), vec!["s"]);
        assert_eq!(names(&r.errors), vec!["a"]);
        let r = l.request("b", "", "test");
        assert!(r.ignored.is_empty(), "{r:?}");
        assert_eq!(names(&r.errors), vec!["b"]);
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn modaliases_from_uevents() {
        let d = std::env::temp_dir().join(format!("evms-coldplug-{}", std::process::id()));
        let pci = d.join("devices/pci0000:00/0000:00:04.0");
        let virtio = pci.join("virtio1");
        let input = d.join("devices/platform/i8042/serio0/input/input0");
        let tty = d.join("devices/virtual/tty/tty0");
        for dir in [&virtio, &input, &tty] {
            fs::create_dir_all(dir).unwrap();
        }
        for dir in [
            "bus/pci/devices",
            "bus/virtio/devices",
            "bus/empty/devices",
            "class/input",
            "class/tty",
        ] {
            fs::create_dir_all(d.join(dir)).unwrap();
        }
        fs::create_dir_all(d.join("bus/nodevices")).unwrap();
        fs::write(
            pci.join("uevent"),
            "DRIVER=virtio-pci\nPCI_CLASS=10000\nMODALIAS=pci:v00001AF4d00001001sv00001AF4sd00000002bc01sc00i00\n",
        )
        .unwrap();
        fs::write(
            virtio.join("uevent"),
            "MODALIAS=virtio:d00000002v00001AF4\n",
        )
        .unwrap();
        fs::write(
            input.join("uevent"),
            "PRODUCT=11/1/1/ab41\nMODALIAS=input:b0011v0001p0001eAB41-e0\n",
        )
        .unwrap();
        fs::write(tty.join("uevent"), "MAJOR=4\nMINOR=0\nDEVNAME=tty0\n").unwrap();
        // A modalias file alone (no MODALIAS in uevent) is not what udev loads for.
        fs::write(tty.join("modalias"), "tty:nothing\n").unwrap();
        let link =
            |target: &Path, at: &str| std::os::unix::fs::symlink(target, d.join(at)).unwrap();
        link(&pci, "bus/pci/devices/0000:00:04.0");
        link(&virtio, "bus/virtio/devices/virtio1");
        link(&input, "class/input/input0");
        link(&tty, "class/tty/tty0");
        let found = find_modaliases(&d);
        assert_eq!(
            found
                .iter()
                .map(|(p, a)| (
                    p.strip_prefix(&d).unwrap().display().to_string(),
                    a.as_str()
                ))
                .collect::<Vec<_>>(),
            vec![
                (
                    "bus/pci/devices/0000:00:04.0".to_string(),
                    "pci:v00001AF4d00001001sv00001AF4sd00000002bc01sc00i00"
                ),
                (
                    "bus/virtio/devices/virtio1".to_string(),
                    "virtio:d00000002v00001AF4"
                ),
                (
                    "class/input/input0".to_string(),
                    "input:b0011v0001p0001eAB41-e0"
                ),
            ]
        );
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn module_list_file() {
        assert_eq!(
            parse_module_list(
                "# generated\next4\n  raid456 devices_handle_discard_safely=Y # x\n\n"
            ),
            vec![
                ("ext4".to_string(), String::new()),
                (
                    "raid456".to_string(),
                    "devices_handle_discard_safely=Y".to_string()
                )
            ]
        );
    }
}
