//! Taking devices down again, top-down: a device goes only after every device stacked on it
//! (sysfs `holders`) in the same request went. Nothing in use is touched: a DM device that is
//! open (`open_count`), mounted (`/proc/self/mountinfo`) or held by another device is refused
//! with the reason, and so is an MD array (STOP_ARRAY itself also refuses an array that is
//! open elsewhere). What exec made for a device goes with it: `/dev/mapper/NAME` (when udev
//! does not run), the /dev/VG/LV, /dev/md/NAME and /dev/evms links, its udev record and its
//! map entry.

use super::dm::{errno_of, short, DmCtl};
use super::mdmap;
use super::nodes;
use super::records;
use super::{dm_by_name, ExecEnv, ExecError, ExecOptions};
use crate::source::sysfs::DevNo;
use crate::source::sysfs::{list_dir as list, read_attr as attr};
use devicemapper::{DevId, DmName, DmOptions};
use nix::errno::Errno;
use std::collections::HashMap;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

/// What became of one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeactOutcome {
    /// DM device removed.
    Removed,
    /// MD array stopped (the kernel drops the empty md device shortly after).
    Stopped,
    /// Dry run: would be removed or stopped.
    WouldRemove,
    /// No such device (already gone): nothing to do.
    Absent,
    /// In use; left alone.
    Refused(String),
    Failed(ExecError),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeactivateItem {
    /// The name as asked for (kernel name or DM name).
    pub name: String,
    /// Kernel name (`dm-3`, `md127`) when the device exists.
    pub kernel: Option<String>,
    pub outcome: DeactOutcome,
    /// Nodes, links and records removed.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeactivateReport {
    pub dry_run: bool,
    pub items: Vec<DeactivateItem>,
}

impl DeactivateReport {
    /// Everything asked for is gone (or would go, or was not there).
    pub fn ok(&self) -> bool {
        self.items.iter().all(|i| {
            !matches!(
                i.outcome,
                DeactOutcome::Refused(_) | DeactOutcome::Failed(_)
            )
        })
    }
}

impl fmt::Display for DeactivateReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for i in &self.items {
            let k = i
                .kernel
                .as_deref()
                .map(|k| format!(" ({k})"))
                .unwrap_or_default();
            match &i.outcome {
                DeactOutcome::Removed => writeln!(f, "removed {}{k}", i.name)?,
                DeactOutcome::Stopped => writeln!(f, "stopped {}{k}", i.name)?,
                DeactOutcome::WouldRemove => writeln!(f, "would take down {}{k}", i.name)?,
                DeactOutcome::Absent => writeln!(f, "{}: not active", i.name)?,
                DeactOutcome::Refused(why) => writeln!(f, "REFUSED {}{k}: {why}", i.name)?,
                DeactOutcome::Failed(e) => writeln!(f, "FAILED {e}")?,
            }
            for n in &i.notes {
                writeln!(f, "    {n}")?;
            }
        }
        Ok(())
    }
}

/// The devices exec's kind of activation makes: every DM device with an lvm2 UUID (`LVM-`,
/// and kpartx partitions of those, `partN-LVM-`), kpartx partitions of disks whose table the
/// kernel does not see (`partN-devnode_MAJ:MIN_Wh5pYvM`), every LUKS volume cryptsetup's way
/// (`CRYPT-LUKS1-`, `CRYPT-LUKS2-`: removing one is `cryptsetup close`; the kernel wipes the
/// key with the table) and every md array. Kernel names, sorted.
pub fn all_ours(env: &ExecEnv) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(rd) = fs::read_dir(env.sys.join("block")) else {
        return out;
    };
    for e in rd.flatten() {
        let k = e.file_name().to_string_lossy().into_owned();
        let dir = e.path();
        if k.starts_with("dm-") {
            let uuid = attr(&dir.join("dm/uuid")).unwrap_or_default();
            if is_lvm_uuid(&uuid) || crate::engine::crypt::key_from_dm_uuid(&uuid).is_some() {
                out.push(k);
            }
        } else if k.starts_with("bcache") && dir.join("bcache").is_dir() {
            out.push(k);
        } else if k.starts_with("md") && dir.join("md").is_dir() {
            let state = attr(&dir.join("md/array_state")).unwrap_or_default();
            if super::md::is_running(&state) || has_md_members(&dir) {
                out.push(k);
            }
        }
    }
    out.sort();
    out
}

fn is_lvm_uuid(u: &str) -> bool {
    if u.starts_with("LVM-") {
        return true;
    }
    // kpartx: "part<N>-<parent uuid>", the parent an LV or a disk (kpartx's "devnode_" form)
    u.strip_prefix("part")
        .and_then(|r| r.split_once('-'))
        .is_some_and(|(n, rest)| {
            !n.is_empty()
                && n.bytes().all(|c| c.is_ascii_digit())
                && (rest.starts_with("LVM-")
                    || crate::engine::names::parse_kpartx_nondm_parent(rest).is_some())
        })
}

/// [`deactivate`] of [`all_ours`].
pub fn deactivate_all_ours(env: &ExecEnv, opts: &ExecOptions) -> DeactivateReport {
    deactivate(&all_ours(env), env, opts)
}

fn has_md_members(dir: &Path) -> bool {
    list(&dir.join("md")).iter().any(|n| n.starts_with("dev-"))
}

/// lvm2's `dm_split_lvm_name`: `VG-LV[-LAYER]` with every `-` inside a part doubled.
pub(crate) fn split_dm_name(name: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut it = name.chars().peekable();
    while let Some(c) = it.next() {
        if c == '-' {
            if it.peek() == Some(&'-') {
                it.next();
                if let Some(p) = parts.last_mut() {
                    p.push('-');
                }
            } else {
                parts.push(String::new());
            }
        } else if let Some(p) = parts.last_mut() {
            p.push(c);
        }
    }
    parts
}

/// Mounted block devices (`major:minor` → mount point) from `mountinfo` text.
pub(crate) fn mounts(mountinfo: &str) -> HashMap<DevNo, String> {
    let mut m = HashMap::new();
    for line in mountinfo.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        if let (Some(dev), Some(point)) = (f.get(2), f.get(4)) {
            if let Some(d) = DevNo::parse(dev) {
                m.entry(d).or_insert_with(|| (*point).to_string());
            }
        }
    }
    m
}

struct Target {
    name: String,
    kernel: String,
    devno: DevNo,
    dir: PathBuf,
}

fn find(env: &ExecEnv, name: &str) -> Option<Target> {
    let class = env.sys.join("class/block");
    let kernel = if !name.contains('/') && class.join(name).join("dev").exists() {
        name.to_string()
    } else {
        dm_by_name(&env.sys, name)?.0
    };
    let dir = class.join(&kernel);
    let devno = DevNo::parse(&attr(&dir.join("dev"))?)?;
    Some(Target {
        name: name.to_string(),
        kernel,
        devno,
        dir,
    })
}

/// Kernel names of the partitions of a device (their holders and mounts count too).
fn partitions(t: &Target) -> Vec<(String, DevNo)> {
    list(&t.dir)
        .into_iter()
        .filter(|n| t.dir.join(n).join("partition").exists())
        .filter_map(|n| {
            let d = DevNo::parse(&attr(&t.dir.join(&n).join("dev"))?)?;
            Some((n, d))
        })
        .collect()
}

/// Takes down the named devices (kernel names like `dm-3`/`md127`, or DM names), holders
/// first. Devices not named are never touched; a named device something else still holds is
/// refused.
pub fn deactivate(names: &[String], env: &ExecEnv, opts: &ExecOptions) -> DeactivateReport {
    let mut report = DeactivateReport {
        dry_run: opts.dry_run,
        items: Vec::new(),
    };
    let mut todo: Vec<Target> = Vec::new();
    for n in names {
        match find(env, n) {
            Some(t) if todo.iter().any(|x| x.kernel == t.kernel) => {}
            Some(t) => todo.push(t),
            None => report.items.push(DeactivateItem {
                name: n.clone(),
                kernel: None,
                outcome: DeactOutcome::Absent,
                notes: vec![],
            }),
        }
    }
    let mounted = mounts(&fs::read_to_string(env.proc.join("self/mountinfo")).unwrap_or_default());
    let udev = env.udev_running();
    let mut dmctl: Option<Result<DmCtl, String>> = None;
    let mut gone: Vec<String> = Vec::new();
    let mut blocked: Vec<String> = Vec::new();

    // Top-down: repeatedly take a device none of whose remaining holders is in the request.
    while !todo.is_empty() {
        let pending: Vec<String> = todo.iter().map(|t| t.kernel.clone()).collect();
        let idx = todo
            .iter()
            .position(|t| {
                list(&t.dir.join("holders"))
                    .iter()
                    .all(|h| !pending.contains(h) || h == &t.kernel)
            })
            .unwrap_or(0);
        let t = todo.remove(idx);
        let mut notes = Vec::new();
        let outcome = take_down(
            &t, env, opts, udev, &mounted, &mut dmctl, &gone, &blocked, &mut notes,
        );
        match outcome {
            DeactOutcome::Removed | DeactOutcome::Stopped | DeactOutcome::WouldRemove => {
                gone.push(t.kernel.clone())
            }
            DeactOutcome::Refused(_) | DeactOutcome::Failed(_) => blocked.push(t.kernel.clone()),
            _ => {}
        }
        report.items.push(DeactivateItem {
            name: t.name.clone(),
            kernel: Some(t.kernel.clone()),
            outcome,
            notes,
        });
    }
    report
}

#[allow(clippy::too_many_arguments)]
fn take_down(
    t: &Target,
    env: &ExecEnv,
    opts: &ExecOptions,
    udev: bool,
    mounted: &HashMap<DevNo, String>,
    dmctl: &mut Option<Result<DmCtl, String>>,
    gone: &[String],
    blocked: &[String],
    notes: &mut Vec<String>,
) -> DeactOutcome {
    // In a dry run the holders taken down before are still there: discount them.
    let holders: Vec<String> = list(&t.dir.join("holders"))
        .into_iter()
        .filter(|h| !(opts.dry_run && gone.contains(h)))
        .collect();
    if !holders.is_empty() {
        let why = if holders.iter().any(|h| blocked.contains(h)) {
            "which could not be taken down"
        } else {
            "still active"
        };
        return DeactOutcome::Refused(format!("held by {} ({why})", holders.join(", ")));
    }
    let mut devs = vec![(t.kernel.clone(), t.devno)];
    devs.extend(partitions(t));
    for (k, d) in &devs {
        if let Some(p) = mounted.get(d) {
            return DeactOutcome::Refused(format!("{k} is mounted at {p}"));
        }
        if k != &t.kernel {
            let h = list(&t.dir.join(k).join("holders"));
            if !h.is_empty() {
                return DeactOutcome::Refused(format!("partition {k} is held by {}", h.join(", ")));
            }
        }
    }
    if t.dir.join("dm").is_dir() {
        take_down_dm(t, env, opts, udev, dmctl, notes)
    } else if t.dir.join("md").is_dir() {
        take_down_md(t, env, opts, udev, notes)
    } else if t.dir.join("bcache").is_dir() {
        take_down_bcache(t, env, opts, notes)
    } else {
        DeactOutcome::Refused("neither a DM device, an md array nor a bcache device".into())
    }
}

fn take_down_dm(
    t: &Target,
    env: &ExecEnv,
    opts: &ExecOptions,
    udev: bool,
    dmctl: &mut Option<Result<DmCtl, String>>,
    notes: &mut Vec<String>,
) -> DeactOutcome {
    let dm_name = attr(&t.dir.join("dm/name")).unwrap_or_default();
    let uuid = attr(&t.dir.join("dm/uuid")).unwrap_or_default();
    let fail = |action: &str, errno: Option<Errno>, msg: String| {
        DeactOutcome::Failed(ExecError::new(&dm_name, action, errno, msg))
    };
    let ctl = match dmctl.get_or_insert_with(DmCtl::open) {
        Ok(c) => c,
        Err(e) => return fail("open /dev/mapper/control", None, e.clone()),
    };
    let Ok(name) = DmName::new(&dm_name) else {
        return fail("read sysfs", None, format!("bad DM name {dm_name:?}"));
    };
    let id = DevId::Name(name);
    match ctl.dm().device_info(&id) {
        Ok(i) if i.open_count() > 0 => {
            return DeactOutcome::Refused(format!(
                "open (open count {}): mounted in another namespace or used by a process",
                i.open_count()
            ))
        }
        Ok(_) => {}
        Err(e) => return fail("DM_DEV_STATUS", errno_of(&e), short(&e)),
    }
    if opts.dry_run {
        return DeactOutcome::WouldRemove;
    }
    // Links to remove, found while the device still exists.
    let mut links = nodes::links_to(&env.dev.join("evms"), t.devno, 8);
    let parts = split_dm_name(&dm_name);
    let lvm_link = (uuid.starts_with("LVM-") && parts.len() == 2)
        .then(|| env.dev.join(&parts[0]).join(&parts[1]));
    if let (Some(l), false) = (&lvm_link, udev) {
        if nodes::is_node_of(l, t.devno) {
            links.push(l.clone());
        }
    }
    if let Err(e) = ctl.dm().device_remove(&id, DmOptions::default()) {
        return fail("DM_DEV_REMOVE", errno_of(&e), short(&e));
    }
    let mapper = env.dev.join("mapper").join(&dm_name);
    if !udev && nodes::remove_if_ours(&mapper, t.devno, None) {
        notes.push(format!("removed {}", mapper.display()));
    }
    remove_links(&links, env, notes);
    remove_record(env, t.devno, udev, notes);
    DeactOutcome::Removed
}

fn take_down_md(
    t: &Target,
    env: &ExecEnv,
    opts: &ExecOptions,
    udev: bool,
    notes: &mut Vec<String>,
) -> DeactOutcome {
    if opts.dry_run {
        return DeactOutcome::WouldRemove;
    }
    let mut links = nodes::links_to(&env.dev.join("evms"), t.devno, 8);
    if !udev {
        links.extend(nodes::links_to(&env.dev.join("md"), t.devno, 1));
    }
    let node = env.dev.join(&t.kernel);
    if !nodes::is_node_of(&node, t.devno) {
        return DeactOutcome::Failed(ExecError::new(
            &t.kernel,
            "STOP_ARRAY",
            None,
            format!("{} is not the node of {}", node.display(), t.devno),
        ));
    }
    if let Err(e) = super::md::stop(&node) {
        let mut err = ExecError::new(&t.kernel, "STOP_ARRAY", Some(e), String::new());
        if e == Errno::EBUSY {
            err.message = "the array is in use (open by a process or another device)".into();
        }
        return DeactOutcome::Failed(err);
    }
    remove_links(&links, env, notes);
    remove_record(env, t.devno, udev, notes);
    match mdmap::del(env, &t.kernel) {
        Ok(true) => notes.push(format!("removed {} from the mdadm map", t.kernel)),
        Ok(false) => {}
        Err(e) => notes.push(format!("warning: mdadm map: {e}")),
    }
    DeactOutcome::Stopped
}

/// A bcache device: stopped, then its cache set when nothing else uses it (exec/bcache.rs);
/// its /dev/bcache/by-* links (when udev does not run) and /dev/evms link go with it.
fn take_down_bcache(
    t: &Target,
    env: &ExecEnv,
    opts: &ExecOptions,
    notes: &mut Vec<String>,
) -> DeactOutcome {
    if opts.dry_run {
        return DeactOutcome::WouldRemove;
    }
    let mut links = nodes::links_to(&env.dev.join("evms"), t.devno, 1);
    if !env.udev_running() {
        links.extend(nodes::links_to(&env.dev.join("bcache"), t.devno, 1));
    }
    if let Err(e) = super::bcache::stop(&t.kernel, &t.dir, env, notes) {
        return DeactOutcome::Failed(e);
    }
    remove_links(&links, env, notes);
    DeactOutcome::Stopped
}

fn remove_links(links: &[PathBuf], env: &ExecEnv, notes: &mut Vec<String>) {
    for l in links {
        if fs::remove_file(l).is_ok() {
            notes.push(format!("removed {}", l.display()));
            if let Some(p) = l.parent() {
                nodes::remove_empty_dirs(p, &env.dev);
            }
        }
    }
}

fn remove_record(env: &ExecEnv, d: DevNo, udev: bool, notes: &mut Vec<String>) {
    if udev {
        return;
    }
    let p = records::udev_record_path(env, d);
    if fs::remove_file(&p).is_ok() {
        notes.push(format!("removed {}", p.display()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dm_names_split_like_lvm() {
        assert_eq!(split_dm_name("vg0-root"), ["vg0", "root"]);
        assert_eq!(split_dm_name("my--vg-lv--x"), ["my-vg", "lv-x"]);
        assert_eq!(split_dm_name("vg-pool-tpool"), ["vg", "pool", "tpool"]);
        assert_eq!(split_dm_name("vg-lv_rimage_0"), ["vg", "lv_rimage_0"]);
    }

    #[test]
    fn mountinfo_maps_devices_to_mount_points() {
        let m = mounts(
            "22 1 254:3 / / rw,relatime shared:1 - ext4 /dev/mapper/vg0-root rw\n\
             23 22 0:21 / /proc rw shared:2 - proc proc rw\n\
             40 22 9:127 / /mnt/a\\040b rw - ext4 /dev/md127 rw\n",
        );
        assert_eq!(
            m.get(&DevNo {
                major: 254,
                minor: 3
            })
            .map(String::as_str),
            Some("/")
        );
        assert_eq!(
            m.get(&DevNo {
                major: 9,
                minor: 127
            })
            .map(String::as_str),
            Some("/mnt/a\\040b")
        );
        assert_eq!(m.len(), 3);
    }

    #[test]
    fn ours_are_lvm_devices_and_md_arrays() {
        assert!(is_lvm_uuid("LVM-abc"));
        assert!(is_lvm_uuid("part1-LVM-abc"));
        assert!(is_lvm_uuid("part1-devnode_254:32_Wh5pYvM"));
        assert!(!is_lvm_uuid("part1-devnode_254:32_other"));
        assert!(!is_lvm_uuid("CRYPT-LUKS2-abc"));
        assert!(!is_lvm_uuid("partx-LVM-abc"));
        assert!(!is_lvm_uuid(""));
        let t = super::super::nodes::tests::TempDir::new();
        let sys = t.path().join("sys");
        let w = |p: &str, s: &str| {
            let p = sys.join(p);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, s).unwrap();
        };
        w("block/dm-0/dm/uuid", "LVM-x\n");
        w("block/dm-1/dm/uuid", "CRYPT-LUKS2-y\n");
        w("block/md127/md/array_state", "clean\n");
        w("block/md126/md/array_state", "clear\n");
        w("block/vda/size", "8\n");
        let env = ExecEnv::under(t.path());
        assert_eq!(all_ours(&env), ["dm-0", "md127"]);
    }
}
