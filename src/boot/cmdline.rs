//! Kernel command line → [`BootSpec`]: pure, no globals (booster's `parseParams` resets package
//! globals before each test; we return a value instead).
//!
//! [`BootSpec::parse`] splits the line exactly as the kernel does ([`split`], a port of
//! `lib/cmdline.c` `next_arg`), then interprets the parameters this program acts on. Everything
//! it does not understand is kept (`other`) and never an error; mistakes that would silently
//! change the boot (an `rd.lvm.lv` without its VG, an unknown `evms.*` key, a malformed UUID, a
//! `root=` the kernel itself would not accept) become [`Warning`]s that the caller logs.
//!
//! `root=` and `resume=` become a [`DeviceRef`]: every form the kernel (`block/early-lookup.c`
//! `name_to_dev_t`), dracut and udev's `/dev/disk/by-*` links use.

use std::fmt;
use std::time::Duration;

use crate::ids::MdUuid;

/// How the command line names a block device (`root=`, `resume=`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceRef {
    /// `/dev/NAME` that is none of the forms below: a kernel device name (`/dev/vda1`,
    /// `/dev/dm-0`, `/dev/cciss/c0d0p1`) or a link only udev would make (`/dev/disk/by-id/…`).
    Path(String),
    /// `UUID=…` or `/dev/disk/by-uuid/…`: a filesystem (or LUKS, swap) UUID as blkid prints it.
    /// blkid prints lowercase for most formats, uppercase for vfat/NTFS: compare without case.
    Uuid(String),
    /// `LABEL=…` or `/dev/disk/by-label/…` (udev's `\x2f` escapes decoded).
    Label(String),
    /// `PARTUUID=…` (GPT partition GUID, or MBR `SSSSSSSS-PP`), with the kernel's
    /// `/PARTNROFF=n`: the partition `n` numbers after the one with that UUID.
    PartUuid { uuid: String, partnroff: i32 },
    /// `PARTLABEL=…` or `/dev/disk/by-partlabel/…`: the GPT partition name.
    PartLabel(String),
    /// `MAJ:MIN` (decimal) or the kernel's hexadecimal `new_encode_dev` form (`fe01`).
    Devno { major: u32, minor: u32 },
    /// `/dev/mapper/NAME` that does not decode as an LVM `VG-LV` name.
    DmName(String),
    /// `/dev/VG/LV`, or `/dev/mapper/VG-LV` decoded as lvm2's `dm_split_lvm_name` does
    /// (hyphens inside VG and LV doubled). [`DeviceRef::dm_name`] gives the DM name back, so
    /// a non-LVM device that happens to be called `A-B` still matches by name.
    Lv { vg: String, lv: String },
    /// `/dev/md/NAME` or `/dev/mdN`.
    Md(MdRef),
    /// `/dev/evms/…`: the path below /dev/evms (`lvm2/vg/lv`, `md/NAME`, `sda1`).
    Evms(String),
}

/// An MD array as `root=` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MdRef {
    /// `/dev/md/NAME`: mdadm's name (from the superblock, homehost rules applied).
    Name(String),
    /// `/dev/mdN`: the kernel's array number.
    Number(u32),
}

impl DeviceRef {
    /// The device-mapper name this reference asks for, if it is one (`DmName`, `Lv`).
    pub fn dm_name(&self) -> Option<String> {
        match self {
            DeviceRef::DmName(n) => Some(n.clone()),
            DeviceRef::Lv { vg, lv } => Some(format!(
                "{}-{}",
                vg.replace('-', "--"),
                lv.replace('-', "--")
            )),
            _ => None,
        }
    }
}

impl fmt::Display for DeviceRef {
    /// The canonical command-line spelling (used in messages).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceRef::Path(p) => f.write_str(p),
            DeviceRef::Uuid(u) => write!(f, "UUID={u}"),
            DeviceRef::Label(l) => write!(f, "LABEL={l}"),
            DeviceRef::PartUuid { uuid, partnroff: 0 } => write!(f, "PARTUUID={uuid}"),
            DeviceRef::PartUuid { uuid, partnroff } => {
                write!(f, "PARTUUID={uuid}/PARTNROFF={partnroff}")
            }
            DeviceRef::PartLabel(l) => write!(f, "PARTLABEL={l}"),
            DeviceRef::Devno { major, minor } => write!(f, "{major}:{minor}"),
            DeviceRef::DmName(n) => write!(f, "/dev/mapper/{n}"),
            DeviceRef::Lv { vg, lv } => write!(f, "/dev/{vg}/{lv}"),
            DeviceRef::Md(MdRef::Name(n)) => write!(f, "/dev/md/{n}"),
            DeviceRef::Md(MdRef::Number(n)) => write!(f, "/dev/md{n}"),
            DeviceRef::Evms(p) => write!(f, "/dev/evms/{p}"),
        }
    }
}

/// `evms.activate=`: what to activate besides what root needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActivateScope {
    /// Only the chain that root (and `resume=`, `rd.lvm.*`, `rd.md.uuid`) needs. Default: the
    /// real system's own tools activate the rest after switch_root.
    Root,
    /// Every volume found (subject to `evms.include`/`evms.exclude`).
    All,
}

/// `evms.degraded=`: when an array missing members may be started degraded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DegradedPolicy {
    /// After this long with root still missing and no new block device appearing (the
    /// grace period restarts when a device appears, like mdadm's last-resort timer).
    Wait(Duration),
    /// Never: a missing member is an error that ends in the emergency path.
    Never,
    /// At once: do not wait for missing members at all.
    Immediately,
}

/// The grace period when neither `evms.degraded=` nor `rd.retry=` says otherwise. Long enough
/// for a slow disk controller to show its last disk, short enough to stay under the 30 s wait.
pub const DEFAULT_DEGRADED_GRACE: Duration = Duration::from_secs(10);

/// How long to wait for root when nothing on the command line says (see
/// [`BootSpec::root_timeout`]). dracut waits forever by default; a wrong `root=` then looks
/// like a hang, so we give up after this long and print what we found.
pub const DEFAULT_ROOT_TIMEOUT: Duration = Duration::from_secs(30);

/// dracut break points (`rd.break=NAME`; bare `rd.break` = `pre-pivot`), mapped onto our run:
/// see `boot::run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakPoint {
    Cmdline,
    PreUdev,
    PreTrigger,
    Initqueue,
    PreMount,
    Mount,
    PrePivot,
    Cleanup,
}

impl BreakPoint {
    fn parse(s: &str) -> Option<BreakPoint> {
        Some(match s {
            "cmdline" => BreakPoint::Cmdline,
            "pre-udev" => BreakPoint::PreUdev,
            "pre-trigger" => BreakPoint::PreTrigger,
            "initqueue" => BreakPoint::Initqueue,
            "pre-mount" => BreakPoint::PreMount,
            "mount" => BreakPoint::Mount,
            "pre-pivot" => BreakPoint::PrePivot,
            "cleanup" => BreakPoint::Cleanup,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            BreakPoint::Cmdline => "cmdline",
            BreakPoint::PreUdev => "pre-udev",
            BreakPoint::PreTrigger => "pre-trigger",
            BreakPoint::Initqueue => "initqueue",
            BreakPoint::PreMount => "pre-mount",
            BreakPoint::Mount => "mount",
            BreakPoint::PrePivot => "pre-pivot",
            BreakPoint::Cleanup => "cleanup",
        }
    }
}

/// `rootwait` (kernel): wait for root forever, or (`rootwait=N`, Linux 6.5+) for N seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootWait {
    Forever,
    For(Duration),
}

/// Everything from the command line that the boot acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootSpec {
    pub root: Option<DeviceRef>,
    pub rootfstype: Option<String>,
    /// `rootflags=` as given; `mount::MountOptions::parse` splits it.
    pub rootflags: Option<String>,
    /// The kernel mounts root read-only unless `rw` is given (`root_mountflags` starts with
    /// MS_RDONLY); the real init remounts per fstab.
    pub read_only: bool,
    /// `init=`: the program to run in the new root.
    pub init: Option<String>,
    pub rootwait: Option<RootWait>,
    /// `rootdelay=N` seconds.
    pub rootdelay: Option<u32>,
    /// `panic=N` (kernel): N > 0 reboot after N seconds, N < 0 at once, 0 never.
    pub panic: Option<i64>,
    pub resume: Option<DeviceRef>,
    /// `noresume`: resume= is still activated (it may be swap) but no image is restored.
    pub noresume: bool,
    /// `rd.lvm=0` turns LVM activation off.
    pub lvm_enabled: bool,
    /// `rd.lvm.vg=VG`: activate these VGs (all their LVs).
    pub lvm_vgs: Vec<String>,
    /// `rd.lvm.lv=VG/LV`: activate these LVs.
    pub lvm_lvs: Vec<(String, String)>,
    /// `rd.md=0` turns MD assembly off.
    pub md_enabled: bool,
    /// `rd.md.uuid=U`: assemble these arrays.
    pub md_uuids: Vec<MdUuid>,
    /// `rd.auto`: activate every RAID/LVM found (dracut), like `evms.activate=all`.
    pub auto: bool,
    /// `rd.timeout=N` seconds (0: forever).
    pub timeout: Option<u32>,
    /// `rd.retry=N` seconds: dracut starts degraded arrays after 2/3 of it.
    pub retry: Option<u32>,
    /// `rd.shell`: a shell (if the initramfs has one) on failure.
    pub shell: bool,
    pub breaks: Vec<BreakPoint>,
    pub activate: ActivateScope,
    /// `evms.include=GLOB[,GLOB…]` (repeatable).
    pub include: Vec<String>,
    /// `evms.exclude=GLOB[,GLOB…]` (repeatable).
    pub exclude: Vec<String>,
    /// `evms.degraded=`; `None` = not given (see [`BootSpec::degraded_policy`]).
    pub degraded: Option<DegradedPolicy>,
    /// `evms.debug` (or the kernel's `debug`): log at debug level.
    pub debug: bool,
    /// `evms.modules=serial`: load modules one at a time even with several CPUs (the
    /// default, `parallel`, loads independent ones side by side).
    pub serial_modules: bool,
    /// `loglevel=N` (kernel console log level).
    pub loglevel: Option<u8>,
    /// `rd.luks*` / `luks*` (systemd-cryptsetup-generator's and dracut's LUKS options).
    pub luks: LuksSpec,
    /// Words after `--`: the kernel passes them to init unchanged.
    pub init_args: Vec<String>,
    /// Parameters this program does not interpret, in order (`quiet`, `console=…`, module
    /// parameters, other `rd.*`). The kernel already passed the bare words and `k=v` ones it
    /// did not know to us as argv/envp; exec keeps our argv (see `switch_root`).
    pub other: Vec<Param>,
}

impl Default for BootSpec {
    fn default() -> Self {
        BootSpec {
            root: None,
            rootfstype: None,
            rootflags: None,
            read_only: true,
            init: None,
            rootwait: None,
            rootdelay: None,
            panic: None,
            resume: None,
            noresume: false,
            lvm_enabled: true,
            lvm_vgs: Vec::new(),
            lvm_lvs: Vec::new(),
            md_enabled: true,
            md_uuids: Vec::new(),
            auto: false,
            timeout: None,
            retry: None,
            shell: false,
            breaks: Vec::new(),
            activate: ActivateScope::Root,
            include: Vec::new(),
            exclude: Vec::new(),
            degraded: None,
            debug: false,
            serial_modules: false,
            loglevel: None,
            luks: LuksSpec::default(),
            init_args: Vec::new(),
            other: Vec::new(),
        }
    }
}

/// The LUKS options of the command line, in systemd's spellings (`rd.luks.*` in the initramfs,
/// `luks.*` everywhere; both are read): see systemd-cryptsetup-generator(8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LuksSpec {
    /// `rd.luks=0` / `luks=no`: no LUKS volume is opened.
    pub enabled: bool,
    /// `rd.luks.crypttab=0`: the initramfs' /etc/crypttab is not read.
    pub crypttab: bool,
    /// `rd.luks.uuid=UUID` (a `luks-` prefix is dropped; lower case): open these volumes, and
    /// only those (with `rd.luks.name=`).
    pub uuids: Vec<String>,
    /// `rd.luks.name=UUID=NAME`: open this volume under NAME.
    pub names: Vec<(String, String)>,
    /// `rd.luks.key=[UUID=]KEYFILE[:KEYDEV]`: a key file for one volume, or (no UUID) for
    /// every volume. The value after `UUID=` as written.
    pub keys: Vec<(Option<String>, String)>,
    /// `rd.luks.options=[UUID=]OPTIONS`: crypttab options for one volume, or (no UUID) for
    /// those named on the command line without their own.
    pub options: Vec<(Option<String>, String)>,
}

impl Default for LuksSpec {
    fn default() -> Self {
        LuksSpec {
            enabled: true,
            crypttab: true,
            uuids: Vec::new(),
            names: Vec::new(),
            keys: Vec::new(),
            options: Vec::new(),
        }
    }
}

/// A LUKS UUID as the command line gives it: `luks-` prefix dropped (dracut writes
/// `rd.luks.uuid=luks-<UUID>`), lower case; `None` when it is not hex digits and dashes.
fn luks_uuid(v: &str) -> Option<String> {
    let u = v.strip_prefix("luks-").unwrap_or(v).to_ascii_lowercase();
    (!u.is_empty() && u.len() <= 64 && u.bytes().all(|c| c.is_ascii_hexdigit() || c == b'-'))
        .then_some(u)
}

/// `UUID=REST` where the part before the first `=` is a LUKS UUID; else (None, whole).
fn luks_uuid_prefixed(v: &str) -> (Option<String>, String) {
    if let Some((a, b)) = v.split_once('=') {
        if let Some(u) = luks_uuid(a).filter(|u| u.contains('-') || u.len() == 32) {
            return (Some(u), b.to_string());
        }
    }
    (None, v.to_string())
}

/// One `param[=value]` of the command line, quotes removed as the kernel removes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    pub name: String,
    pub value: Option<String>,
}

/// A parameter that was probably meant differently than it will act.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The parameter as written (`name=value`).
    pub param: String,
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.param, self.message)
    }
}

/// The `evms.*` keys, for the "unknown key" warning.
const EVMS_KEYS: &[&str] = &[
    "evms.activate",
    "evms.include",
    "evms.exclude",
    "evms.degraded",
    "evms.debug",
    "evms.modules",
];

/// Splits a command line the way the kernel does: `lib/cmdline.c` `next_arg` (whitespace
/// separates unless inside double quotes; a quote opening the parameter or the value is
/// removed together with the one closing it; quotes elsewhere stay), and `init/main.c`: `--`
/// ends the kernel's parameters, the rest goes to init. Returns (parameters, init words).
pub fn split(line: &str) -> (Vec<Param>, Vec<String>) {
    let mut params = Vec::new();
    let mut rest: &[u8] = skip_spaces(line.as_bytes());
    let mut after_dashes = false;
    let mut init_words = Vec::new();
    while !rest.is_empty() {
        let (arg, next) = next_arg(rest);
        rest = next;
        if after_dashes {
            // init/main.c set_init_arg: everything after "--" is a word for init
            // ("k=v" put back together by repair_env_string).
            init_words.push(match arg.value {
                Some(v) => format!("{}={}", arg.name, v),
                None => arg.name,
            });
        } else if arg.value.is_none() && arg.name == "--" {
            after_dashes = true;
        } else {
            params.push(arg);
        }
    }
    (params, init_words)
}

fn is_space(c: u8) -> bool {
    // The kernel's isspace(): space, \t \n \v \f \r (and 0xa0 in its Latin-1 ctype table,
    // which never appears in a UTF-8 command line on its own).
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn skip_spaces(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|&&c| is_space(c)).count();
    s.get(n..).unwrap_or(&[])
}

/// One step of `next_arg` (lib/cmdline.c), on bytes; returns the parameter and the rest.
fn next_arg(args: &[u8]) -> (Param, &[u8]) {
    let mut s = args;
    let mut in_quote = false;
    let mut quoted = false;
    if s.first() == Some(&b'"') {
        s = s.get(1..).unwrap_or(&[]);
        in_quote = true;
        quoted = true;
    }
    let mut equals: Option<usize> = None;
    let mut i = 0;
    while let Some(&c) = s.get(i) {
        if is_space(c) && !in_quote {
            break;
        }
        if equals.is_none() && c == b'=' {
            equals = Some(i);
        }
        if c == b'"' {
            in_quote = !in_quote;
        }
        i += 1;
    }
    let token = s.get(..i).unwrap_or(&[]);
    let rest = skip_spaces(s.get(i..).unwrap_or(&[]));
    // The kernel NUL-terminates in place: `args[i-1] = '\0'` removes a closing quote at the
    // end of the token, either because the value started with a quote or the whole
    // parameter did. Both cut the same byte, so remove it at most once.
    let ends_with_quote = token.last() == Some(&b'"');
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let param = match equals {
        None => {
            let mut name = token;
            if quoted && ends_with_quote {
                name = name.get(..name.len().saturating_sub(1)).unwrap_or(&[]);
            }
            Param {
                name: text(name),
                value: None,
            }
        }
        Some(eq) => {
            let name = token.get(..eq).unwrap_or(&[]);
            let mut value = token.get(eq.saturating_add(1)..).unwrap_or(&[]);
            let mut cut_end = quoted && ends_with_quote;
            if value.first() == Some(&b'"') {
                value = value.get(1..).unwrap_or(&[]);
                cut_end |= ends_with_quote;
            }
            if cut_end && !value.is_empty() {
                value = value.get(..value.len().saturating_sub(1)).unwrap_or(&[]);
            }
            Param {
                name: text(name),
                value: Some(text(value)),
            }
        }
    };
    (param, rest)
}

impl BootSpec {
    /// Parses `/proc/cmdline` (trailing newline allowed). Never fails: problems are warnings.
    pub fn parse(line: &str) -> (BootSpec, Vec<Warning>) {
        let (params, init_args) = split(line);
        let mut spec = BootSpec {
            init_args,
            ..BootSpec::default()
        };
        let mut warnings = Vec::new();
        for p in params {
            spec.apply(p, &mut warnings);
        }
        (spec, warnings)
    }

    fn apply(&mut self, p: Param, w: &mut Vec<Warning>) {
        let written = match &p.value {
            Some(v) => format!("{}={}", p.name, v),
            None => p.name.clone(),
        };
        let mut warn = |message: String| {
            w.push(Warning {
                param: written.clone(),
                message,
            })
        };
        let name = p.name.as_str();
        let value = p.value.as_deref();
        // Parameters that take a value but were given none.
        let needs_value = matches!(
            name,
            "root"
                | "rootfstype"
                | "rootflags"
                | "init"
                | "rootdelay"
                | "panic"
                | "resume"
                | "rd.lvm.vg"
                | "rd.lvm.lv"
                | "rd.md.uuid"
                | "rd.timeout"
                | "rd.retry"
                | "evms.activate"
                | "evms.include"
                | "evms.exclude"
                | "evms.degraded"
                | "evms.modules"
                | "loglevel"
                | "rd.luks.uuid"
                | "luks.uuid"
                | "rd.luks.name"
                | "luks.name"
                | "rd.luks.key"
                | "luks.key"
                | "rd.luks.options"
                | "luks.options"
        );
        let v = match value {
            Some(v) => v,
            None if needs_value => {
                warn(format!("needs a value ({name}=…); ignored"));
                return;
            }
            None => "",
        };
        match name {
            "root" => match parse_device_ref(v) {
                Ok((r, notes)) => {
                    notes.into_iter().for_each(&mut warn);
                    self.root = Some(r);
                }
                Err(msg) => {
                    warn(msg);
                    self.root = None;
                }
            },
            "resume" => match parse_device_ref(v) {
                Ok((r, notes)) => {
                    notes.into_iter().for_each(&mut warn);
                    self.resume = Some(r);
                }
                Err(msg) => warn(msg),
            },
            "rootfstype" => self.rootfstype = non_empty(v),
            "rootflags" => self.rootflags = non_empty(v),
            "ro" if value.is_none() => self.read_only = true,
            "rw" if value.is_none() => self.read_only = false,
            "init" => self.init = non_empty(v),
            "rootwait" => match value {
                None => self.rootwait = Some(RootWait::Forever),
                Some(s) => match s.parse::<u32>() {
                    Ok(n) => self.rootwait = Some(RootWait::For(Duration::from_secs(n.into()))),
                    Err(_) => warn("expected seconds (rootwait=N) or bare rootwait".into()),
                },
            },
            "rootdelay" => match v.parse::<u32>() {
                Ok(n) => self.rootdelay = Some(n),
                Err(_) => warn("expected whole seconds".into()),
            },
            "panic" => match v.parse::<i64>() {
                Ok(n) => self.panic = Some(n),
                Err(_) => warn("expected seconds (negative: reboot at once)".into()),
            },
            "loglevel" => match v.parse::<u8>() {
                Ok(n) => self.loglevel = Some(n),
                Err(_) => warn("expected a number 0-8".into()),
            },
            "debug" if value.is_none() => self.debug = true,
            "noresume" if value.is_none() => self.noresume = true,
            "rd.lvm" => match bool_value(value) {
                Some(b) => self.lvm_enabled = b,
                None => warn("expected rd.lvm=0 or rd.lvm=1".into()),
            },
            "rd.lvm.vg" => {
                if v.contains('/') {
                    warn(format!(
                        "rd.lvm.vg takes a VG name; for one LV use rd.lvm.lv={v}"
                    ));
                } else if !is_lvm_name(v) {
                    warn(format!("'{v}' is not a valid LVM VG name"));
                } else {
                    self.lvm_vgs.push(v.to_string());
                }
            }
            "rd.lvm.lv" => match v.split_once('/') {
                Some((vg, lv)) if is_lvm_name(vg) && is_lvm_name(lv) => {
                    self.lvm_lvs.push((vg.to_string(), lv.to_string()))
                }
                Some(_) => warn("expected VG/LV with valid LVM names".into()),
                None => warn(format!(
                    "an LV needs its VG: rd.lvm.lv=VG/{v} (dracut also accepts only VG/LV)"
                )),
            },
            "rd.md" => match bool_value(value) {
                Some(b) => self.md_enabled = b,
                None => warn("expected rd.md=0 or rd.md=1".into()),
            },
            "rd.md.uuid" => match MdUuid::parse(v) {
                Some(u)
                    if v.bytes()
                        .all(|c| c.is_ascii_hexdigit() || b":-. ".contains(&c)) =>
                {
                    self.md_uuids.push(u)
                }
                _ => warn(
                    "not an MD array UUID: expected 32 hex digits as mdadm prints them \
                     (e.g. 2b8e0a3c:5d1f4e6a:9c7b1d2e:3f4a5b6c)"
                        .into(),
                ),
            },
            "rd.auto" => match bool_value(value) {
                Some(b) => self.auto = b,
                None => warn("expected rd.auto or rd.auto=0/1".into()),
            },
            "rd.timeout" => match v.parse::<u32>() {
                Ok(n) => self.timeout = Some(n),
                Err(_) => warn("expected whole seconds (0: wait forever)".into()),
            },
            "rd.retry" => match v.parse::<u32>() {
                Ok(n) => self.retry = Some(n),
                Err(_) => warn("expected whole seconds".into()),
            },
            "rd.shell" => match bool_value(value) {
                Some(b) => self.shell = b,
                None => warn("expected rd.shell or rd.shell=0/1".into()),
            },
            "rd.break" => match value {
                None => self.breaks.push(BreakPoint::PrePivot),
                Some(s) => match BreakPoint::parse(s) {
                    Some(b) => self.breaks.push(b),
                    None => warn(
                        "unknown break point; one of cmdline, pre-udev, pre-trigger, \
                         initqueue, pre-mount, mount, pre-pivot, cleanup"
                            .into(),
                    ),
                },
            },
            "rd.luks" | "luks" => match bool_value(value) {
                Some(b) => self.luks.enabled = b,
                None => warn(format!("expected {name}=0 or {name}=1")),
            },
            "rd.luks.crypttab" | "luks.crypttab" => match bool_value(value) {
                Some(b) => self.luks.crypttab = b,
                None => warn(format!("expected {name}=0 or {name}=1")),
            },
            "rd.luks.uuid" | "luks.uuid" => match luks_uuid(v) {
                Some(u) => {
                    if !self.luks.uuids.contains(&u) {
                        self.luks.uuids.push(u)
                    }
                }
                None => warn("not a LUKS UUID (hex digits and dashes, as blkid prints it)".into()),
            },
            "rd.luks.name" | "luks.name" => match luks_uuid_prefixed(v) {
                (Some(u), n) if !n.is_empty() && !n.contains('/') => self.luks.names.push((u, n)),
                _ => warn(format!("expected {name}=UUID=NAME")),
            },
            "rd.luks.key" | "luks.key" => {
                let (u, k) = luks_uuid_prefixed(v);
                if k.is_empty() {
                    warn(format!("expected {name}=KEYFILE or {name}=UUID=KEYFILE"));
                } else {
                    self.luks.keys.push((u, k));
                }
            }
            "rd.luks.options" | "luks.options" => {
                let (u, o) = luks_uuid_prefixed(v);
                self.luks.options.push((u, o));
            }
            "evms.activate" => match v {
                "root" => self.activate = ActivateScope::Root,
                "all" => self.activate = ActivateScope::All,
                _ => warn("expected evms.activate=root or evms.activate=all".into()),
            },
            "evms.include" => push_globs(&mut self.include, v, &mut warn),
            "evms.exclude" => push_globs(&mut self.exclude, v, &mut warn),
            "evms.degraded" => match parse_degraded(v) {
                Some(d) => self.degraded = Some(d),
                None => {
                    warn("expected seconds to wait, 'never' or 'now' (evms.degraded=10)".into())
                }
            },
            "evms.debug" => match bool_value(value) {
                Some(b) => self.debug = b,
                None => warn("expected evms.debug or evms.debug=0/1".into()),
            },
            "evms.modules" => match v {
                "serial" => self.serial_modules = true,
                "parallel" => self.serial_modules = false,
                _ => warn("expected evms.modules=parallel or evms.modules=serial".into()),
            },
            _ if name.starts_with("evms.") => warn(format!(
                "unknown evms option (known: {}); ignored",
                EVMS_KEYS.join(", ")
            )),
            _ => self.other.push(p),
        }
    }

    /// How long to wait for root before the emergency path; `None` = forever.
    ///
    /// First of: `rd.timeout=N` (0 = forever, as dracut); `rootwait=N`; `rootdelay=N`;
    /// bare `rootwait` = forever (kernel semantics); otherwise [`DEFAULT_ROOT_TIMEOUT`].
    /// While waiting forever, what is missing is still printed periodically.
    pub fn root_timeout(&self) -> Option<Duration> {
        let secs = |n: u32| Duration::from_secs(n.into());
        if let Some(t) = self.timeout {
            return if t == 0 { None } else { Some(secs(t)) };
        }
        match (self.rootwait, self.rootdelay) {
            (Some(RootWait::For(d)), _) => Some(d),
            (_, Some(n)) => Some(secs(n)),
            (Some(RootWait::Forever), None) => None,
            (None, None) => Some(DEFAULT_ROOT_TIMEOUT),
        }
    }

    /// `evms.degraded=` if given; else 2/3 of `rd.retry=` (when dracut's initqueue starts
    /// degraded arrays); else [`DEFAULT_DEGRADED_GRACE`].
    pub fn degraded_policy(&self) -> DegradedPolicy {
        if let Some(d) = self.degraded {
            return d;
        }
        match self.retry {
            Some(r) => DegradedPolicy::Wait(Duration::from_secs(u64::from(r) * 2 / 3)),
            None => DegradedPolicy::Wait(DEFAULT_DEGRADED_GRACE),
        }
    }

    /// Debug logging: `evms.debug`, the kernel's `debug`, or `loglevel=8` and above (the
    /// console would show debug messages).
    pub fn log_debug(&self) -> bool {
        self.debug || self.loglevel.is_some_and(|l| l >= 8)
    }

    /// Whether `rd.break` asked to stop at `point`.
    pub fn breaks_at(&self, point: BreakPoint) -> bool {
        self.breaks.contains(&point)
    }
}

fn non_empty(v: &str) -> Option<String> {
    (!v.is_empty()).then(|| v.to_string())
}

/// dracut's getargbool: bare = true, 0/no/off/false = false, 1/yes/on/true = true.
fn bool_value(v: Option<&str>) -> Option<bool> {
    match v {
        None | Some("1" | "yes" | "y" | "on" | "true") => Some(true),
        Some("0" | "no" | "n" | "off" | "false") => Some(false),
        Some(_) => None,
    }
}

fn push_globs(list: &mut Vec<String>, v: &str, warn: &mut impl FnMut(String)) {
    for g in v.split(',') {
        if g.is_empty() {
            warn("empty pattern between commas; ignored".into());
        } else {
            list.push(g.to_string());
        }
    }
}

fn parse_degraded(v: &str) -> Option<DegradedPolicy> {
    match v {
        "never" | "no" => Some(DegradedPolicy::Never),
        "now" | "immediately" | "0" => Some(DegradedPolicy::Immediately),
        _ => {
            let n: u32 = v.strip_suffix('s').unwrap_or(v).parse().ok()?;
            Some(DegradedPolicy::Wait(Duration::from_secs(n.into())))
        }
    }
}

/// lvm2's `validate_name`: `[a-zA-Z0-9+_.-]`, not starting with `-`, not `.`/`..`.
pub fn is_lvm_name(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('-')
        && s != "."
        && s != ".."
        && s.len() <= 127
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"+_.-".contains(&c))
}

/// lvm2 `dm_split_lvm_name` (`libdm/libdm-string.c` `_unquote`): the first single `-` splits
/// VG from LV (a doubled one is a literal `-`), a further single `-` starts a layer
/// (`-real`, `-cow`). Returns (vg, lv) only for a plain LV name: both parts non-empty, no
/// layer.
pub fn split_lvm_dm_name(name: &str) -> Option<(String, String)> {
    fn unquote(s: &[u8]) -> (Vec<u8>, Option<&[u8]>) {
        let mut out = Vec::with_capacity(s.len());
        let mut i = 0;
        while let Some(&c) = s.get(i) {
            // A '-' with something after it: doubled = literal, single = separator. A
            // trailing '-' is literal (the `*(c + 1)` test in _unquote).
            if c == b'-' && i.saturating_add(1) < s.len() {
                if s.get(i.saturating_add(1)) == Some(&b'-') {
                    i = i.saturating_add(1);
                } else {
                    return (out, Some(s.get(i.saturating_add(1)..).unwrap_or(&[])));
                }
            }
            out.push(c);
            i = i.saturating_add(1);
        }
        (out, None)
    }
    let (vg, rest) = unquote(name.as_bytes());
    let (lv, layer) = unquote(rest?);
    if vg.is_empty() || lv.is_empty() || layer.is_some() {
        return None;
    }
    Some((String::from_utf8(vg).ok()?, String::from_utf8(lv).ok()?))
}

/// Directories below /dev that hold kernel device names or other non-LVM things, so
/// `/dev/X/Y` under them is not a `/dev/VG/LV` path.
const DEV_SUBDIRS: &[&str] = &[
    "block",
    "bsg",
    "bus",
    "cciss",
    "char",
    "cpu",
    "disk",
    "dri",
    "hugepages",
    "i2o",
    "ida",
    "input",
    "mqueue",
    "net",
    "pts",
    "rd",
    "shm",
    "snd",
    "usb",
    "vfio",
];

/// udev's `\xHH` escapes in /dev/disk/by-label and by-partlabel link names.
fn udev_unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'\\' && b.get(i.saturating_add(1)) == Some(&b'x') {
            let hex = b
                .get(i.saturating_add(2)..i.saturating_add(4))
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(x) = hex {
                out.push(x);
                i = i.saturating_add(4);
                continue;
            }
        }
        out.push(c);
        i = i.saturating_add(1);
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX` in hex.
fn is_dashed_uuid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

fn check_fs_uuid(u: &str, notes: &mut Vec<String>) {
    if u.is_empty() {
        notes.push("empty UUID".into());
    } else if !u.bytes().all(|c| c.is_ascii_hexdigit() || c == b'-') {
        notes.push(format!(
            "'{u}' is not a UUID (hex digits and '-' only, as blkid prints it)"
        ));
    } else if u.bytes().filter(|&c| c == b'-').count() == 4 && !is_dashed_uuid(u) {
        notes.push(format!(
            "malformed UUID '{u}': expected 8-4-4-4-12 hex digits"
        ));
    } else if u.len() == 32 && !u.contains('-') {
        notes.push(format!(
            "UUID '{u}' has no dashes; blkid prints 8-4-4-4-12, this will not match"
        ));
    }
}

fn check_part_uuid(u: &str, notes: &mut Vec<String>) {
    // GPT: a GUID; MBR: disk signature and partition number, SSSSSSSS-PP.
    let mbr = u.len() == 11
        && u.bytes().enumerate().all(|(i, c)| match i {
            8 => c == b'-',
            _ => c.is_ascii_hexdigit(),
        });
    if !is_dashed_uuid(u) && !mbr {
        notes.push(format!(
            "malformed PARTUUID '{u}': expected a GPT GUID (8-4-4-4-12 hex) or MBR SSSSSSSS-PP"
        ));
    }
}

/// Parses the kernel's devno forms: `MAJ:MIN`, `MAJ:MIN:OFFSET` (offset ignored, as the
/// kernel ignores it for whole numbers), or hex `new_encode_dev` (`fe01` = 254:1).
fn parse_devno(s: &str) -> Option<(u32, u32)> {
    if let Some((maj, rest)) = s.split_once(':') {
        let min = rest.split(':').next()?;
        let (maj, min) = (maj.parse::<u32>().ok()?, min.parse::<u32>().ok()?);
        // MKDEV: 12-bit major, 20-bit minor; the kernel refuses what does not round-trip.
        return (maj < (1 << 12) && min < (1 << 20)).then_some((maj, min));
    }
    if s.is_empty() || !s.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let dev = u32::from_str_radix(s, 16).ok()?;
    // include/linux/kdev_t.h new_decode_dev.
    let major = (dev & 0xfff00) >> 8;
    let minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
    Some((major, minor))
}

/// `root=`/`resume=` value → [`DeviceRef`], plus notes (warnings) for doubtful values.
/// Err: nothing usable (the message says what was expected).
pub fn parse_device_ref(v: &str) -> Result<(DeviceRef, Vec<String>), String> {
    let mut notes = Vec::new();
    // dracut's "block:" prefix.
    let v = v.strip_prefix("block:").unwrap_or(v);
    if let Some(u) = v.strip_prefix("UUID=") {
        check_fs_uuid(u, &mut notes);
        return Ok((DeviceRef::Uuid(u.to_string()), notes));
    }
    if let Some(l) = v.strip_prefix("LABEL=") {
        if l.is_empty() {
            return Err("empty LABEL=".into());
        }
        return Ok((DeviceRef::Label(l.to_string()), notes));
    }
    if let Some(p) = v.strip_prefix("PARTUUID=") {
        // block/early-lookup.c devt_from_partuuid: "UUID/PARTNROFF=%d".
        let (uuid, partnroff) = match p.split_once('/') {
            None => (p, 0),
            Some((u, off)) => match off.strip_prefix("PARTNROFF=").map(str::parse::<i32>) {
                Some(Ok(n)) => (u, n),
                _ => {
                    return Err(format!(
                        "after PARTUUID={u}/ the kernel accepts only PARTNROFF=N"
                    ))
                }
            },
        };
        check_part_uuid(uuid, &mut notes);
        return Ok((
            DeviceRef::PartUuid {
                uuid: uuid.to_string(),
                partnroff,
            },
            notes,
        ));
    }
    if let Some(l) = v.strip_prefix("PARTLABEL=") {
        if l.is_empty() {
            return Err("empty PARTLABEL=".into());
        }
        return Ok((DeviceRef::PartLabel(l.to_string()), notes));
    }
    let Some(rel) = v.strip_prefix("/dev/") else {
        return match parse_devno(v) {
            Some((major, minor)) => Ok((DeviceRef::Devno { major, minor }, notes)),
            None => Err(format!(
                "not understood: root= takes /dev/NAME, UUID=, LABEL=, PARTUUID=, PARTLABEL= \
                 or MAJ:MIN (did you mean /dev/{v}?)"
            )),
        };
    };
    let parts: Vec<&str> = rel.split('/').collect();
    let r = match parts.as_slice() {
        [] | [""] => return Err("empty device name after /dev/".into()),
        ["nfs"] => {
            notes.push("NFS root is not supported by this initramfs".into());
            DeviceRef::Path(v.to_string())
        }
        ["mapper", name] if !name.is_empty() => match split_lvm_dm_name(name) {
            Some((vg, lv)) => DeviceRef::Lv { vg, lv },
            None => DeviceRef::DmName(name.to_string()),
        },
        ["md", name] if !name.is_empty() => DeviceRef::Md(MdRef::Name(name.to_string())),
        ["evms", rest @ ..] if !rest.is_empty() && rest.iter().all(|c| !c.is_empty()) => {
            DeviceRef::Evms(rest.join("/"))
        }
        ["disk", "by-uuid", u] => {
            let u = udev_unescape(u);
            check_fs_uuid(&u, &mut notes);
            DeviceRef::Uuid(u)
        }
        ["disk", "by-label", l] if !l.is_empty() => DeviceRef::Label(udev_unescape(l)),
        ["disk", "by-partuuid", u] => {
            check_part_uuid(u, &mut notes);
            DeviceRef::PartUuid {
                uuid: u.to_string(),
                partnroff: 0,
            }
        }
        ["disk", "by-partlabel", l] if !l.is_empty() => DeviceRef::PartLabel(udev_unescape(l)),
        [name] => match name.strip_prefix("md").map(str::parse::<u32>) {
            Some(Ok(n)) => DeviceRef::Md(MdRef::Number(n)),
            _ => DeviceRef::Path(v.to_string()),
        },
        [vg, lv] if !DEV_SUBDIRS.contains(vg) && is_lvm_name(vg) && is_lvm_name(lv) => {
            DeviceRef::Lv {
                vg: vg.to_string(),
                lv: lv.to_string(),
            }
        }
        _ => DeviceRef::Path(v.to_string()),
    };
    Ok((r, notes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(name: &str, value: Option<&str>) -> Param {
        Param {
            name: name.into(),
            value: value.map(Into::into),
        }
    }

    fn root(v: &str) -> DeviceRef {
        parse_device_ref(v).unwrap().0
    }

    /// systemd-cryptsetup-generator's and dracut's spellings, both the `rd.` and plain forms.
    #[test]
    fn luks_options() {
        let (s, w) = BootSpec::parse(
            "root=/dev/vg0/root rd.luks.uuid=luks-5E0C0000-0000-4000-8000-000000000001 \
             luks.uuid=5e0c0000-0000-4000-8000-000000000001 \
             rd.luks.name=5e0c0000-0000-4000-8000-000000000002=cryptdata \
             rd.luks.key=/etc/keys/all.key \
             luks.key=5e0c0000-0000-4000-8000-000000000002=/k/data.key:/dev/vdz \
             rd.luks.options=discard,tries=1 \
             rd.luks.options=5e0c0000-0000-4000-8000-000000000002=readonly \
             rd.luks.crypttab=0 rd.luks.name=bogus rd.luks.uuid=zz!",
        );
        let l = &s.luks;
        assert!(l.enabled && !l.crypttab);
        assert_eq!(l.uuids, ["5e0c0000-0000-4000-8000-000000000001"]);
        assert_eq!(
            l.names,
            [(
                "5e0c0000-0000-4000-8000-000000000002".to_string(),
                "cryptdata".to_string()
            )]
        );
        assert_eq!(
            l.keys,
            [
                (None, "/etc/keys/all.key".to_string()),
                (
                    Some("5e0c0000-0000-4000-8000-000000000002".to_string()),
                    "/k/data.key:/dev/vdz".to_string()
                )
            ]
        );
        assert_eq!(l.options[0], (None, "discard,tries=1".to_string()));
        assert_eq!(l.options[1].1, "readonly");
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[0].message.contains("UUID=NAME"));
        assert!(w[1].message.contains("not a LUKS UUID"));
        assert!(!BootSpec::parse("rd.luks=0").0.luks.enabled);
        assert!(!BootSpec::parse("luks=no").0.luks.enabled);
        assert!(BootSpec::parse("").0.luks.enabled);
    }

    #[test]
    fn split_like_the_kernel() {
        let (ps, init) = split("  a b=c  \"d=e f\" g=\"h i\" j=k\"l m\"n o\"p q\"\n");
        assert_eq!(
            ps,
            vec![
                p("a", None),
                p("b", Some("c")),
                p("d", Some("e f")),
                p("g", Some("h i")),
                // quotes inside a value stay (next_arg only strips a leading one)
                p("j", Some("k\"l m\"n")),
                p("o\"p q\"", None),
            ]
        );
        assert!(init.is_empty());
    }

    #[test]
    fn split_quoted_param_without_value_and_empty_value() {
        let (ps, _) = split("\"quiet\" x= \"\"");
        assert_eq!(ps, vec![p("quiet", None), p("x", Some("")), p("", None)]);
    }

    #[test]
    fn dashes_end_kernel_params() {
        let (ps, init) = split("root=/dev/vda -- single x=1 \"a b\"");
        assert_eq!(ps, vec![p("root", Some("/dev/vda"))]);
        assert_eq!(init, vec!["single", "x=1", "a b"]);
        let (spec, w) = BootSpec::parse("ro -- -s");
        assert!(w.is_empty());
        assert_eq!(spec.init_args, vec!["-s"]);
    }

    #[test]
    fn root_forms() {
        assert_eq!(root("/dev/vda1"), DeviceRef::Path("/dev/vda1".into()));
        assert_eq!(root("/dev/dm-0"), DeviceRef::Path("/dev/dm-0".into()));
        assert_eq!(
            root("/dev/cciss/c0d0p1"),
            DeviceRef::Path("/dev/cciss/c0d0p1".into())
        );
        assert_eq!(
            root("UUID=0f3b2c1d-aaaa-4bbb-8ccc-0123456789ab"),
            DeviceRef::Uuid("0f3b2c1d-aaaa-4bbb-8ccc-0123456789ab".into())
        );
        assert_eq!(root("LABEL=my root"), DeviceRef::Label("my root".into()));
        assert_eq!(
            root("PARTUUID=0f3b2c1d-aaaa-4bbb-8ccc-0123456789ab/PARTNROFF=-1"),
            DeviceRef::PartUuid {
                uuid: "0f3b2c1d-aaaa-4bbb-8ccc-0123456789ab".into(),
                partnroff: -1
            }
        );
        assert_eq!(
            root("PARTUUID=1234abcd-02"),
            DeviceRef::PartUuid {
                uuid: "1234abcd-02".into(),
                partnroff: 0
            }
        );
        assert_eq!(root("PARTLABEL=root"), DeviceRef::PartLabel("root".into()));
        assert_eq!(root("8:1"), DeviceRef::Devno { major: 8, minor: 1 });
        assert_eq!(
            root("fe01"),
            DeviceRef::Devno {
                major: 254,
                minor: 1
            }
        );
        // new_encode_dev(259:300): the minor's high bits sit above the major
        assert_eq!(
            root("11032c"),
            DeviceRef::Devno {
                major: 259,
                minor: 300
            }
        );
        assert_eq!(
            root("/dev/mapper/cryptroot"),
            DeviceRef::DmName("cryptroot".into())
        );
        assert_eq!(
            root("/dev/mapper/vg--data-root--fs"),
            DeviceRef::Lv {
                vg: "vg-data".into(),
                lv: "root-fs".into()
            }
        );
        // a layer or a UUID-like name is not a plain LV
        assert_eq!(
            root("/dev/mapper/vg-lv-real"),
            DeviceRef::DmName("vg-lv-real".into())
        );
        assert_eq!(
            root("/dev/vg0/root"),
            DeviceRef::Lv {
                vg: "vg0".into(),
                lv: "root".into()
            }
        );
        assert_eq!(
            root("/dev/md/home:raid"),
            DeviceRef::Md(MdRef::Name("home:raid".into()))
        );
        assert_eq!(root("/dev/md127"), DeviceRef::Md(MdRef::Number(127)));
        assert_eq!(root("/dev/md127p1"), DeviceRef::Path("/dev/md127p1".into()));
        assert_eq!(
            root("/dev/evms/lvm2/vg/lv"),
            DeviceRef::Evms("lvm2/vg/lv".into())
        );
        assert_eq!(
            root("/dev/disk/by-label/my\\x20root"),
            DeviceRef::Label("my root".into())
        );
        assert_eq!(
            root("/dev/disk/by-uuid/0f3b2c1d-aaaa-4bbb-8ccc-0123456789ab"),
            DeviceRef::Uuid("0f3b2c1d-aaaa-4bbb-8ccc-0123456789ab".into())
        );
        assert_eq!(
            root("/dev/disk/by-partlabel/EFI\\x20system"),
            DeviceRef::PartLabel("EFI system".into())
        );
        assert_eq!(
            root("/dev/disk/by-id/virtio-abc"),
            DeviceRef::Path("/dev/disk/by-id/virtio-abc".into())
        );
        assert_eq!(root("block:/dev/sda2"), DeviceRef::Path("/dev/sda2".into()));
    }

    #[test]
    fn dm_name_round_trips_lvm_escaping() {
        let r = root("/dev/vg-a/lv-b");
        assert_eq!(r.dm_name().as_deref(), Some("vg--a-lv--b"));
        assert_eq!(root(&format!("/dev/mapper/{}", r.dm_name().unwrap())), r);
        assert_eq!(split_lvm_dm_name("vg-"), None);
        assert_eq!(split_lvm_dm_name("-lv"), None);
        assert_eq!(split_lvm_dm_name("a---b"), Some(("a-".into(), "b".into())));
    }

    #[test]
    fn root_errors_and_notes() {
        let e = parse_device_ref("sda1").unwrap_err();
        assert!(e.contains("did you mean /dev/sda1?"), "{e}");
        assert!(parse_device_ref("PARTUUID=x/OFF=1").is_err());
        assert!(parse_device_ref("8:99999999").is_err());
        let (_, notes) = parse_device_ref("UUID=0f3b2c1d-aaaa-4bbb-8ccc-0123456789zz").unwrap();
        assert_eq!(
            notes,
            vec!["'0f3b2c1d-aaaa-4bbb-8ccc-0123456789zz' is not a UUID (hex digits and '-' only, as blkid prints it)"]
        );
        let (_, notes) = parse_device_ref("UUID=0f3b2c1d-aaaa4-bbb-8ccc-0123456789ab").unwrap();
        assert_eq!(
            notes,
            vec!["malformed UUID '0f3b2c1d-aaaa4-bbb-8ccc-0123456789ab': expected 8-4-4-4-12 hex digits"]
        );
        // vfat and NTFS UUIDs are fine
        assert!(parse_device_ref("UUID=ABCD-1234").unwrap().1.is_empty());
        assert!(parse_device_ref("UUID=0123456789ABCDEF")
            .unwrap()
            .1
            .is_empty());
        let (_, notes) = parse_device_ref("PARTUUID=1234").unwrap();
        assert_eq!(notes.len(), 1);
        assert!(notes[0].starts_with("malformed PARTUUID '1234'"));
    }

    #[test]
    fn full_line() {
        let (s, w) = BootSpec::parse(
            "BOOT_IMAGE=/vmlinuz root=/dev/mapper/vg0-root rootfstype=ext4 \
             rootflags=noatime,data=journal rw init=/lib/systemd/systemd rootwait \
             panic=5 resume=UUID=11111111-2222-3333-4444-555555555555 \
             rd.lvm.vg=vg0 rd.lvm.lv=vg1/home rd.md.uuid=2b8e0a3c:5d1f4e6a:9c7b1d2e:3f4a5b6c \
             rd.timeout=20 rd.shell rd.break=pre-mount rd.break evms.activate=all \
             evms.include=vg0/*,md/* evms.exclude=sdz* evms.degraded=never evms.debug quiet \
             evms.modules=serial console=ttyS0\n",
        );
        assert!(w.is_empty(), "{w:?}");
        assert!(s.serial_modules);
        assert!(!BootSpec::default().serial_modules);
        let (_, w) = BootSpec::parse("evms.modules=both");
        assert_eq!(
            w[0].message,
            "expected evms.modules=parallel or evms.modules=serial"
        );
        assert_eq!(
            s.root,
            Some(DeviceRef::Lv {
                vg: "vg0".into(),
                lv: "root".into()
            })
        );
        assert_eq!(s.rootfstype.as_deref(), Some("ext4"));
        assert_eq!(s.rootflags.as_deref(), Some("noatime,data=journal"));
        assert!(!s.read_only);
        assert_eq!(s.init.as_deref(), Some("/lib/systemd/systemd"));
        assert_eq!(s.rootwait, Some(RootWait::Forever));
        assert_eq!(s.panic, Some(5));
        assert_eq!(
            s.resume,
            Some(DeviceRef::Uuid(
                "11111111-2222-3333-4444-555555555555".into()
            ))
        );
        assert_eq!(s.lvm_vgs, vec!["vg0"]);
        assert_eq!(s.lvm_lvs, vec![("vg1".to_string(), "home".to_string())]);
        assert_eq!(
            s.md_uuids.iter().map(|u| u.to_string()).collect::<Vec<_>>(),
            vec!["2b8e0a3c:5d1f4e6a:9c7b1d2e:3f4a5b6c"]
        );
        assert_eq!(s.timeout, Some(20));
        assert!(s.shell);
        assert_eq!(s.breaks, vec![BreakPoint::PreMount, BreakPoint::PrePivot]);
        assert_eq!(s.activate, ActivateScope::All);
        assert_eq!(s.include, vec!["vg0/*", "md/*"]);
        assert_eq!(s.exclude, vec!["sdz*"]);
        assert_eq!(s.degraded_policy(), DegradedPolicy::Never);
        assert!(s.log_debug());
        assert_eq!(s.root_timeout(), Some(Duration::from_secs(20)));
        assert_eq!(
            s.other,
            vec![
                p("BOOT_IMAGE", Some("/vmlinuz")),
                p("quiet", None),
                p("console", Some("ttyS0"))
            ]
        );
    }

    #[test]
    fn defaults_and_last_one_wins() {
        let (s, w) = BootSpec::parse("root=/dev/sda1 root=/dev/vda ro rw ro");
        assert!(w.is_empty());
        assert_eq!(s.root, Some(DeviceRef::Path("/dev/vda".into())));
        assert!(s.read_only);
        assert!(s.lvm_enabled && s.md_enabled && !s.shell && !s.auto);
        assert_eq!(s.activate, ActivateScope::Root);
        assert_eq!(s.root_timeout(), Some(DEFAULT_ROOT_TIMEOUT));
        assert_eq!(
            s.degraded_policy(),
            DegradedPolicy::Wait(DEFAULT_DEGRADED_GRACE)
        );
        assert!(!s.log_debug());
    }

    #[test]
    fn timeouts() {
        let t = |l: &str| BootSpec::parse(l).0.root_timeout();
        assert_eq!(t("rootwait"), None);
        assert_eq!(t("rootwait=7"), Some(Duration::from_secs(7)));
        assert_eq!(t("rootwait rootdelay=4"), Some(Duration::from_secs(4)));
        assert_eq!(t("rootwait rd.timeout=0"), None);
        assert_eq!(t("rootdelay=4 rd.timeout=9"), Some(Duration::from_secs(9)));
        let d = |l: &str| BootSpec::parse(l).0.degraded_policy();
        assert_eq!(
            d("rd.retry=30"),
            DegradedPolicy::Wait(Duration::from_secs(20))
        );
        assert_eq!(
            d("rd.retry=30 evms.degraded=now"),
            DegradedPolicy::Immediately
        );
        assert_eq!(d("evms.degraded=0"), DegradedPolicy::Immediately);
        assert_eq!(
            d("evms.degraded=45s"),
            DegradedPolicy::Wait(Duration::from_secs(45))
        );
    }

    #[test]
    fn switches() {
        let (s, w) = BootSpec::parse("rd.lvm=0 rd.md=0 rd.auto rd.shell=0 loglevel=8 debug");
        assert!(w.is_empty());
        assert!(!s.lvm_enabled && !s.md_enabled && s.auto && !s.shell);
        assert_eq!(s.loglevel, Some(8));
        assert!(s.debug);
        assert!(BootSpec::parse("loglevel=8").0.log_debug());
        assert!(!BootSpec::parse("loglevel=7").0.log_debug());
        let (s, w) = BootSpec::parse("resume=/dev/vg0/swap noresume");
        assert!(w.is_empty() && s.noresume && s.resume.is_some());
        assert!(!BootSpec::parse("resume=/dev/vg0/swap").0.noresume);
    }

    #[test]
    fn mistakes_are_precise_warnings() {
        let (s, w) = BootSpec::parse(
            "rd.lvm.lv=root rd.lvm.vg=vg0/root evms.actvate=all evms.degraded=soon \
             rd.md.uuid=zz root rd.break=later rootdelay=x root=sda2 evms.include=a,,b",
        );
        let msgs: Vec<String> = w.iter().map(ToString::to_string).collect();
        assert_eq!(
            msgs,
            vec![
                "rd.lvm.lv=root: an LV needs its VG: rd.lvm.lv=VG/root (dracut also accepts only VG/LV)",
                "rd.lvm.vg=vg0/root: rd.lvm.vg takes a VG name; for one LV use rd.lvm.lv=vg0/root",
                "evms.actvate=all: unknown evms option (known: evms.activate, evms.include, evms.exclude, evms.degraded, evms.debug, evms.modules); ignored",
                "evms.degraded=soon: expected seconds to wait, 'never' or 'now' (evms.degraded=10)",
                "rd.md.uuid=zz: not an MD array UUID: expected 32 hex digits as mdadm prints them (e.g. 2b8e0a3c:5d1f4e6a:9c7b1d2e:3f4a5b6c)",
                "root: needs a value (root=…); ignored",
                "rd.break=later: unknown break point; one of cmdline, pre-udev, pre-trigger, initqueue, pre-mount, mount, pre-pivot, cleanup",
                "rootdelay=x: expected whole seconds",
                "root=sda2: not understood: root= takes /dev/NAME, UUID=, LABEL=, PARTUUID=, PARTLABEL= or MAJ:MIN (did you mean /dev/sda2?)",
                "evms.include=a,,b: empty pattern between commas; ignored",
            ]
        );
        assert!(s.lvm_lvs.is_empty() && s.lvm_vgs.is_empty() && s.md_uuids.is_empty());
        assert_eq!(s.root, None);
        assert_eq!(s.include, vec!["a", "b"]);
    }
}
