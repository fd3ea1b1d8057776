//! One MD step: assemble an array from the members the plan lists, as mdadm does for native
//! (0.90 and 1.x) metadata (formats.md §3.3, §3.4; mdadm `Assemble.c`, `util.c:
//! set_array_info/add_disk/start_array`, `mdopen.c: create_mddev`):
//!
//! 1. pick the kernel name: the plan's `devnm` when free, else mdadm's `find_free_devnm`;
//! 2. create the md device by writing `mdN` to `/sys/module/md_mod/parameters/new_array`
//!    (what mdadm's `create_named_array` does; it does not depend on `create_on_open`, and the
//!    device it makes is held until STOP_ARRAY, so a failed assembly leaves nothing behind),
//!    falling back to opening the node (`md_probe`) when md_mod has no such parameter;
//! 3. open `/dev/mdN` (devtmpfs makes it synchronously in `device_add`; we mknod it when the
//!    /dev we are given is not a devtmpfs) exclusively, as mdadm's `open_dev_excl`;
//! 4. `SET_ARRAY_INFO` with only `major_version`/`minor_version` (the kernel then reads the
//!    superblocks itself), `ADD_NEW_DISK` per member in plan order (mdadm adds the freshest
//!    last; the plan orders them), `RUN_ARRAY`.
//!
//! Any failure stops the half-built array (`STOP_ARRAY`) and reports the errno. An array that
//! already holds one of the plan's members (sysfs `holders`) and runs is adopted, not rebuilt.

// The steps of `assemble` fail with the Outcome it returns (once per array, so its size does
// not matter).
#![allow(clippy::result_large_err)]

use super::mdmap;
use super::nodes::{self, Change};
use super::{ExecEnv, ExecError, ExecOptions, Outcome};
use crate::ids::{uuid_bytes_str, MdUuid};
use crate::plan::MdStep;
use crate::source::sysfs::DevNo;
use crate::source::sysfs::{list_dir as list, read_attr as attr};
use nix::errno::Errno;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// `MD_MAJOR` (`major.h`): mdN is 9:N.
const MD_MAJOR: u32 = 9;

/// `mdu_array_info_t` (`md_u.h`), 18 × 32-bit, 72 bytes.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
struct MduArrayInfo {
    major_version: i32,
    minor_version: i32,
    patch_version: i32,
    ctime: u32,
    level: i32,
    size: i32,
    nr_disks: i32,
    raid_disks: i32,
    md_minor: i32,
    not_persistent: i32,
    utime: u32,
    state: i32,
    active_disks: i32,
    working_disks: i32,
    failed_disks: i32,
    spare_disks: i32,
    layout: i32,
    chunk_size: i32,
}

/// `mdu_disk_info_t` (`md_u.h`), 20 bytes.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
struct MduDiskInfo {
    number: i32,
    major: i32,
    minor: i32,
    raid_disk: i32,
    state: i32,
}

/// `mdu_param_t` (`md_u.h`), 12 bytes; RUN_ARRAY ignores it (mdadm passes NULL).
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
struct MduParam {
    personality: i32,
    chunk_size: i32,
    max_fault: i32,
}

// md_u.h, generic _IOC encoding (formats.md §3.4 table).
nix::ioctl_write_ptr!(md_set_array_info, MD_MAJOR, 0x23, MduArrayInfo);
nix::ioctl_write_ptr!(md_add_new_disk, MD_MAJOR, 0x21, MduDiskInfo);
nix::ioctl_write_ptr!(md_run_array, MD_MAJOR, 0x30, MduParam);
nix::ioctl_none!(md_stop_array, MD_MAJOR, 0x32);

/// The md kernel name to use: `wanted` when it is a valid `mdN` and free, else the first free
/// one counting down from 127 to 0, then from 511 to 129 (mdadm `find_free_devnm`: its loop
/// stops when it reaches 128, so md128 is never chosen).
pub fn pick_devnm(wanted: &str, busy: &dyn Fn(&str) -> bool) -> Option<String> {
    if md_number(wanted).is_some() && !busy(wanted) {
        return Some(wanted.to_string());
    }
    (0..=127u32)
        .rev()
        .chain((129..=511u32).rev())
        .map(|n| format!("md{n}"))
        .find(|n| !busy(n))
}

/// N of "mdN" (decimal, no sign, no leading zeros beyond "md0").
fn md_number(name: &str) -> Option<u32> {
    let d = name.strip_prefix("md")?;
    if d.is_empty() || !d.bytes().all(|c| c.is_ascii_digit()) || (d.len() > 1 && d.starts_with('0'))
    {
        return None;
    }
    d.parse().ok()
}

/// (major, minor) superblock version from the text form mdadm and sysfs use.
fn parse_metadata(s: &str) -> Option<(i32, i32)> {
    match s {
        "0.90" => Some((0, 90)),
        "1.0" => Some((1, 0)),
        "1.1" => Some((1, 1)),
        "1.2" => Some((1, 2)),
        _ => None,
    }
}

/// An array that runs (or at least exists with a personality): anything but `clear` and
/// `inactive` (`md.c: array_state_show`).
pub(crate) fn is_running(state: &str) -> bool {
    !matches!(state, "" | "clear" | "inactive")
}

/// A kernel md name is busy when the device exists and is more than an empty shell (mdadm's
/// `mddev_busy` looks at /proc/mdstat, which lists only arrays with members or a
/// personality, `md_seq_show`).
fn md_busy(sys: &Path, name: &str) -> bool {
    let dir = sys.join("block").join(name);
    if !dir.exists() {
        return false;
    }
    let state = attr(&dir.join("md/array_state")).unwrap_or_default();
    let members = list(&dir.join("md")).iter().any(|n| n.starts_with("dev-"));
    members || state != "clear"
}

/// The array UUID as the kernel prints it in `md/uuid` (`%pU` of `mddev->uuid`). For 1.x the
/// kernel copies `set_uuid` as is (seen on 6.1: mdadm's `b5dbde55:c872d1e1:...` reads
/// `b5dbde55-c872-d1e1-...`); for 0.90 it copies the four native (little-endian) words,
/// while [`MdUuid`] holds them as mdadm prints them (big-endian), so each word is reversed.
pub(crate) fn sysfs_uuid(uuid: &MdUuid, metadata: &str) -> String {
    let mut b = uuid.0;
    if metadata.starts_with("0.") {
        for w in b.chunks_mut(4) {
            w.reverse();
        }
    }
    uuid_bytes_str(&b)
}

/// `md/uuid` with nothing but zeros: the kernel never filled it in (an empty md device).
fn zero_uuid(u: &str) -> bool {
    u.bytes().all(|c| c == b'0' || c == b'-')
}

/// An md device whose `md/uuid` is `want` (kernels that have the attribute).
fn find_by_uuid(sys: &Path, want: &str) -> Option<String> {
    list(&sys.join("block"))
        .into_iter()
        .filter(|n| n.starts_with("md"))
        .find(|n| {
            attr(&sys.join("block").join(n).join("md/uuid"))
                .is_some_and(|u| !zero_uuid(&u) && u == want)
        })
}

/// Reads the devno of a block device by kernel name.
fn devno_of(sys: &Path, name: &str) -> Option<DevNo> {
    DevNo::parse(&attr(&sys.join("class/block").join(name).join("dev"))?)
}

/// What holds a member: md arrays and anything else (sysfs `holders` of the member).
fn holders_of(sys: &Path, d: DevNo) -> Vec<String> {
    list(&sys.join("dev/block").join(d.to_string()).join("holders"))
}

/// Assembles the array of step `m` (members resolved to kernel devices, in plan order) in four
/// steps: [`check`] the plan, [`find`] an array already running from these members (then
/// [`adopt`] it), else [`create`] an md device and [`run`] the array on it.
pub(crate) fn assemble(
    m: &MdStep,
    members: &[Option<(String, DevNo)>],
    env: &ExecEnv,
    opts: &ExecOptions,
    udev: bool,
    taken: &mut Vec<String>,
    notes: &mut Vec<String>,
) -> Outcome {
    let version = match check(m) {
        Ok(v) => v,
        Err(o) => return o,
    };
    match find(m, members, env) {
        Err(o) => return o,
        Ok(Some(x)) => return adopt(m, &x, env, opts, udev, notes),
        Ok(None) => {}
    }
    let devnm = match pick(m, env, taken, notes) {
        Ok(n) => n,
        Err(o) => return o,
    };
    if opts.dry_run {
        return Outcome::WouldCreate { kernel: devnm };
    }
    let (file, d) = match create(m, &devnm, env, notes) {
        Ok(x) => x,
        Err(o) => return o,
    };
    if let Err(o) = run(m, version, members, &file, &devnm, env, opts, notes) {
        return o;
    }
    drop(file);
    reopen(&devnm, env, notes);
    after_run(m, &devnm, env, notes);
    report_started(m, &devnm, d, members.len(), env, notes);
    make_links(m, &devnm, env, udev, notes);
    Outcome::Created {
        kernel: devnm,
        devno: d,
    }
}

fn fail(m: &MdStep, action: &str, errno: Option<Errno>, msg: String) -> Outcome {
    Outcome::Failed(ExecError::new(&m.devnm, action, errno, msg))
}

/// The plan's metadata version as (major, minor), its members and degraded policy.
fn check(m: &MdStep) -> Result<(i32, i32), Outcome> {
    let Some(version) = parse_metadata(&m.metadata) else {
        return Err(fail(
            m,
            "check plan",
            None,
            format!(
                "metadata {} is not assembled (only native 0.90 and 1.x)",
                m.metadata
            ),
        ));
    };
    if m.members.is_empty() {
        return Err(fail(m, "check plan", None, "no members".into()));
    }
    if !m.missing.is_empty() && !m.degraded {
        return Err(fail(
            m,
            "check plan",
            None,
            format!(
                "slot(s) {:?} have no member but the plan does not allow a degraded start",
                m.missing
            ),
        ));
    }
    Ok(version)
}

/// An array already assembled from these superblocks: one holding one of our members (the
/// plan chose the members by their array UUID), else one running from other copies with our
/// UUID (mdadm's `map_by_uuid`). A member held by something else, or members bound to
/// different arrays, fail.
fn find(
    m: &MdStep,
    members: &[Option<(String, DevNo)>],
    env: &ExecEnv,
) -> Result<Option<String>, Outcome> {
    let mut arrays: Vec<String> = Vec::new();
    for (name, d) in members.iter().flatten() {
        for h in holders_of(&env.sys, *d) {
            if !h.starts_with("md") {
                return Err(fail(
                    m,
                    "check members",
                    None,
                    format!("member {name} is in use by {h}"),
                ));
            }
            if !arrays.contains(&h) {
                arrays.push(h);
            }
        }
    }
    match arrays.as_slice() {
        [] => Ok(find_by_uuid(&env.sys, &sysfs_uuid(&m.uuid, &m.metadata))),
        [x] => Ok(Some(x.clone())),
        many => Err(fail(
            m,
            "check members",
            None,
            format!(
                "the members are bound to different arrays: {}",
                many.join(", ")
            ),
        )),
    }
}

/// The kernel name for a new array (mdadm's rule), taken for the rest of this run.
fn pick(
    m: &MdStep,
    env: &ExecEnv,
    taken: &mut Vec<String>,
    notes: &mut Vec<String>,
) -> Result<String, Outcome> {
    let sys = env.sys.clone();
    let busy = |n: &str| taken.iter().any(|t| t == n) || md_busy(&sys, n);
    let Some(devnm) = pick_devnm(&m.devnm, &busy) else {
        return Err(fail(m, "pick name", None, "no free md device name".into()));
    };
    if devnm != m.devnm {
        notes.push(format!(
            "{} is taken; using {devnm} (mdadm's rule: free numbers from 127 down)",
            m.devnm
        ));
    }
    taken.push(devnm.clone());
    Ok(devnm)
}

/// Creates md device `devnm` (mdadm `create_named_array`), its node, and opens it exclusively.
fn create(
    m: &MdStep,
    devnm: &str,
    env: &ExecEnv,
    notes: &mut Vec<String>,
) -> Result<(File, DevNo), Outcome> {
    let Some(num) = md_number(devnm) else {
        return Err(fail(
            m,
            "pick name",
            None,
            format!("{devnm} is not an mdN name"),
        ));
    };
    // EEXIST: an empty shell already there, which md_busy found free.
    let new_array = env.sys.join("module/md_mod/parameters/new_array");
    match fs::write(&new_array, devnm.as_bytes()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(nix::libc::EEXIST) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => notes.push(format!(
            "{} missing; creating {devnm} by opening its node",
            new_array.display()
        )),
        Err(e) => {
            return Err(fail(
                m,
                "create md device",
                e.raw_os_error().map(Errno::from_raw),
                format!("writing {devnm} to {}", new_array.display()),
            ))
        }
    }
    let d = devno_of(&env.sys, devnm).unwrap_or(DevNo {
        major: MD_MAJOR,
        minor: num,
    });
    let node = env.dev.join(devnm);
    match nodes::ensure_block_node(&node, d, nodes::MD_NODE_MODE, 0, nodes::MD_NODE_GID) {
        Ok(Change::Unchanged) => {
            // devtmpfs made it 0600 root:root; without udev mdadm leaves it as its CREATE
            // defaults say (Debian: 0660 root:disk), as the oracle VM shows.
            if !env.udev_running() {
                use std::os::unix::fs::PermissionsExt;
                let _ = std::fs::set_permissions(
                    &node,
                    std::fs::Permissions::from_mode(nodes::MD_NODE_MODE),
                );
                let _ = std::os::unix::fs::chown(&node, Some(0), Some(nodes::MD_NODE_GID));
            }
        }
        Ok(c) => notes.push(format!("{} {}", super::dm::change_word(c), node.display())),
        Err(e) => {
            return Err(fail(
                m,
                "make node",
                e.raw_os_error().map(Errno::from_raw),
                format!("{}: {e}", node.display()),
            ))
        }
    }
    match OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(nix::libc::O_EXCL)
        .open(&node)
    {
        Ok(f) => Ok((f, d)),
        Err(e) => Err(fail(
            m,
            "open",
            e.raw_os_error().map(Errno::from_raw),
            format!("{}", node.display()),
        )),
    }
}

/// `SET_ARRAY_INFO` with only the version (the kernel then reads the superblocks itself),
/// `ADD_NEW_DISK` per member in plan order, the map entry, `RUN_ARRAY`. A failure stops the
/// half-built array.
#[allow(clippy::too_many_arguments)]
fn run(
    m: &MdStep,
    (major_version, minor_version): (i32, i32),
    members: &[Option<(String, DevNo)>],
    file: &File,
    devnm: &str,
    env: &ExecEnv,
    opts: &ExecOptions,
    notes: &mut Vec<String>,
) -> Result<(), Outcome> {
    let info = MduArrayInfo {
        major_version,
        minor_version,
        ..MduArrayInfo::default()
    };
    // SAFETY: fd is an open md node; the struct has the kernel's layout (size checked in tests).
    if let Err(e) = unsafe { md_set_array_info(file.as_raw_fd(), &info) } {
        return Err(stop_after(file, devnm, "SET_ARRAY_INFO", e, String::new()));
    }
    for (i, mem) in members.iter().enumerate() {
        let Some((name, md)) = mem else {
            return Err(stop_after(
                file,
                devnm,
                "ADD_NEW_DISK",
                Errno::EINVAL,
                format!("member {i} unresolved"),
            ));
        };
        let (Ok(major), Ok(minor)) = (i32::try_from(md.major), i32::try_from(md.minor)) else {
            return Err(stop_after(
                file,
                devnm,
                "ADD_NEW_DISK",
                Errno::EINVAL,
                name.clone(),
            ));
        };
        // Only major/minor matter before the array runs: the kernel reads the member's
        // superblock and checks it against the first member (`md_add_new_disk`).
        let disk = MduDiskInfo {
            major,
            minor,
            ..MduDiskInfo::default()
        };
        // SAFETY: as above.
        if let Err(e) = unsafe { md_add_new_disk(file.as_raw_fd(), &disk) } {
            return Err(stop_after(
                file,
                devnm,
                "ADD_NEW_DISK",
                e,
                format!("member {name} ({md})"),
            ));
        }
    }
    // The map entry goes in before the array starts, as mdadm's Assemble does: udev's
    // 63-md-raid-arrays.rules runs `mdadm --detail --export`, whose MD_DEVNAME (and so
    // /dev/md/NAME) comes from this file.
    let path = mdmap::path(m, devnm);
    let mut map_written = false;
    if !opts.no_records {
        match mdmap::set(env, devnm, &m.metadata, &m.uuid, &path) {
            Ok(()) => {
                map_written = true;
                notes.push(format!("mdadm map: {devnm} → {path}"));
            }
            Err(e) => notes.push(format!("warning: cannot update the mdadm map: {e}")),
        }
    }
    // SAFETY: as above; RUN_ARRAY ignores its argument (mdadm passes NULL).
    if let Err(e) = unsafe { md_run_array(file.as_raw_fd(), std::ptr::null()) } {
        if map_written {
            let _ = mdmap::del(env, devnm);
        }
        return Err(stop_after(file, devnm, "RUN_ARRAY", e, String::new()));
    }
    Ok(())
}

/// mdadm's `reopen_mddev` after `RUN_ARRAY`: the exclusive descriptor is dropped and the
/// device opened again, read-only (`open_dev`). The open makes the kernel read the partition
/// table of the new array (`md_open` → `bdev_check_media_change` sees the change `do_md_run`
/// flagged, and `blkdev_get_whole` scans), so `mdNpM` exist before the next step needs them,
/// with or without udev.
fn reopen(devnm: &str, env: &ExecEnv, notes: &mut Vec<String>) {
    let node = env.dev.join(devnm);
    if let Err(e) = File::open(&node) {
        notes.push(format!(
            "warning: reopening {} failed ({e}): its partitions appear when it is next opened",
            node.display()
        ));
    }
}

/// What mdadm writes to sysfs once the array runs (Assemble.c `start_array`): a reshaping
/// RAID4/5/6 with a large chunk gets a bigger stripe cache.
fn after_run(m: &MdStep, devnm: &str, env: &ExecEnv, notes: &mut Vec<String>) {
    for f in &m.features {
        notes.push(format!("{devnm}: {f}"));
    }
    if let Some(r) = &m.reshape {
        notes.push(format!(
            "{devnm}: reshape resumes at sector {} (to {}, {:+} disk(s)): the kernel goes on \
             with it",
            r.position, r.new_level, r.delta_disks
        ));
    }
    let Some(n) = m.stripe_cache_size else {
        return;
    };
    let path = env
        .sys
        .join("block")
        .join(devnm)
        .join("md/stripe_cache_size");
    match fs::write(&path, format!("{n}\n")) {
        Ok(()) => notes.push(format!(
            "{devnm}: stripe_cache_size {n} (as mdadm sets it for a reshape)"
        )),
        Err(e) => notes.push(format!("warning: cannot write {}: {e}", path.display())),
    }
}

/// What the kernel says of the started array.
fn report_started(
    m: &MdStep,
    devnm: &str,
    d: DevNo,
    members: usize,
    env: &ExecEnv,
    notes: &mut Vec<String>,
) {
    let dir = env.sys.join("block").join(devnm).join("md");
    let state = attr(&dir.join("array_state")).unwrap_or_default();
    let level = attr(&dir.join("level")).unwrap_or_default();
    let degraded = attr(&dir.join("degraded")).unwrap_or_default();
    notes.push(format!(
        "{devnm}: {level}, array_state {state}, degraded {degraded}"
    ));
    if level != m.level {
        notes.push(format!("warning: the plan says level {}", m.level));
    }
    log::info!("assembled {devnm} ({d}) from {members} member(s)");
}

/// Stops the half-built array and reports the failure.
fn stop_after(file: &File, devnm: &str, action: &str, e: Errno, what: String) -> Outcome {
    // SAFETY: fd is an open md node.
    let stopped = unsafe { md_stop_array(file.as_raw_fd()) };
    let mut err = ExecError::new(devnm, action, Some(e), what);
    let tail = match stopped {
        Ok(_) => "the half-built array was stopped".to_string(),
        Err(s) => format!("stopping the half-built array failed too: {}", s.desc()),
    };
    if !err.message.is_empty() {
        err.message.push_str("; ");
    }
    err.message.push_str(&tail);
    err.hint = Some("the kernel log (dmesg) says why md refused".to_string());
    Outcome::Failed(err)
}

/// The array `x` holds our members: adopt it when it runs and is ours.
fn adopt(
    m: &MdStep,
    x: &str,
    env: &ExecEnv,
    opts: &ExecOptions,
    udev: bool,
    notes: &mut Vec<String>,
) -> Outcome {
    let dir = env.sys.join("block").join(x);
    let state = attr(&dir.join("md/array_state")).unwrap_or_default();
    let theirs: Vec<String> = list(&dir.join("md"))
        .into_iter()
        .filter_map(|n| n.strip_prefix("dev-").map(str::to_string))
        .collect();
    let ours: Vec<String> = m.members.iter().map(|x| x.dev.name().to_string()).collect();
    if !is_running(&state) {
        return Outcome::Conflict {
            message: format!(
                "{x} holds members of this array but is {state:?} (partly assembled by \
                 someone else?); stop it first"
            ),
            ours,
            theirs,
        };
    }
    // md/uuid (when the kernel has it) is all zeros for an md device whose mddev->uuid was
    // never filled in; only a real value can contradict us.
    if let Some(k) =
        attr(&dir.join("md/uuid")).filter(|k| k.bytes().any(|c| c != b'0' && c != b'-'))
    {
        let want = sysfs_uuid(&m.uuid, &m.metadata);
        if k != want {
            return Outcome::Conflict {
                message: format!("{x} holds our members but its uuid is {k}, expected {want}"),
                ours,
                theirs,
            };
        }
    }
    let Some(d) = devno_of(&env.sys, x) else {
        return Outcome::Failed(ExecError::new(
            &m.devnm,
            "read sysfs",
            None,
            format!("{x} has no dev attribute"),
        ));
    };
    if x != m.devnm {
        notes.push(format!("running as {x}, the plan says {}", m.devnm));
    }
    if !opts.dry_run {
        make_links(m, x, env, udev, notes);
    }
    Outcome::Present {
        kernel: x.to_string(),
        devno: d,
    }
}

/// `/dev/md/NAME` → `../mdN` (what udev's 63-md-raid-arrays.rules makes; mdadm without udev
/// makes it too) and `/dev/evms/md/NAME` → `../../mdN` (EVMS 2.x named MD regions md/NAME).
fn make_links(m: &MdStep, devnm: &str, env: &ExecEnv, udev: bool, notes: &mut Vec<String>) {
    let evms_name = m.name.clone().unwrap_or_else(|| devnm.to_string());
    let mut links = Vec::new();
    if let (Some(n), false) = (&m.name, udev) {
        links.push(format!("md/{n}"));
    }
    links.push(format!("evms/md/{evms_name}"));
    for l in links {
        match nodes::ensure_symlink(&env.dev, &l, devnm) {
            Ok(Change::Unchanged) => {}
            Ok(c) => notes.push(format!("{} /dev/{l}", super::dm::change_word(c))),
            Err(e) => notes.push(format!("warning: cannot link /dev/{l}: {e}")),
        }
    }
}

/// STOP_ARRAY on `/dev/mdN` (deactivation).
pub(crate) fn stop(node: &Path) -> Result<(), Errno> {
    let f = File::open(node).map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(0)))?;
    // SAFETY: fd is an open md node.
    unsafe { md_stop_array(f.as_raw_fd()) }.map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    // The request type is c_ulong with glibc and c_int with musl: the casts are needed there.
    #[allow(clippy::unnecessary_cast)]
    fn ioctl_layouts_and_numbers_match_md_u_h() {
        assert_eq!(std::mem::size_of::<MduArrayInfo>(), 72);
        assert_eq!(std::mem::size_of::<MduDiskInfo>(), 20);
        assert_eq!(std::mem::size_of::<MduParam>(), 12);
        // formats.md §3.4 numbers (generic encoding).
        assert_eq!(
            nix::request_code_write!(MD_MAJOR, 0x23, 72) as u64,
            0x4048_0923
        );
        assert_eq!(
            nix::request_code_write!(MD_MAJOR, 0x21, 20) as u64,
            0x4014_0921
        );
        assert_eq!(
            nix::request_code_write!(MD_MAJOR, 0x30, 12) as u64,
            0x400C_0930
        );
        assert_eq!(nix::request_code_none!(MD_MAJOR, 0x32) as u64, 0x932);
    }

    #[test]
    fn names_follow_mdadm() {
        let none = |_: &str| false;
        assert_eq!(pick_devnm("md127", &none).as_deref(), Some("md127"));
        // 0.90 preferred minor.
        assert_eq!(pick_devnm("md0", &none).as_deref(), Some("md0"));
        let taken = |n: &str| n == "md0" || n == "md127" || n == "md126";
        assert_eq!(pick_devnm("md0", &taken).as_deref(), Some("md125"));
        assert_eq!(pick_devnm("md127", &taken).as_deref(), Some("md125"));
        // Not an mdN name (e.g. md_home): counted down like any other.
        assert_eq!(pick_devnm("md_home", &none).as_deref(), Some("md127"));
        assert_eq!(pick_devnm("md007", &none).as_deref(), Some("md127"));
        // After md0 comes md511, and md128 is never used (find_free_devnm's loop end).
        let low = |n: &str| md_number(n).is_some_and(|k| k <= 127);
        assert_eq!(pick_devnm("md5", &low).as_deref(), Some("md511"));
        let all_but_128 = |n: &str| n != "md128";
        assert_eq!(pick_devnm("md5", &all_but_128), None);
    }

    #[test]
    fn metadata_versions() {
        assert_eq!(parse_metadata("0.90"), Some((0, 90)));
        assert_eq!(parse_metadata("1.2"), Some((1, 2)));
        assert_eq!(parse_metadata("imsm"), None);
        assert_eq!(parse_metadata("external:/md127/0"), None);
    }

    #[test]
    fn sysfs_uuid_forms() {
        let u = MdUuid::parse("3f5a8b2c:11223344:55667788:99aabbcc").unwrap();
        assert_eq!(
            sysfs_uuid(&u, "1.2"),
            "3f5a8b2c-1122-3344-5566-778899aabbcc"
        );
        assert_eq!(
            sysfs_uuid(&u, "0.90"),
            "2c8b5a3f-4433-2211-8877-6655ccbbaa99"
        );
    }

    #[test]
    fn busy_means_more_than_an_empty_shell() {
        let t = super::super::nodes::tests::TempDir::new();
        let sys = t.path();
        let md = |n: &str, state: &str, dev: Option<&str>| {
            let d = sys.join("block").join(n).join("md");
            fs::create_dir_all(&d).unwrap();
            fs::write(d.join("array_state"), format!("{state}\n")).unwrap();
            if let Some(x) = dev {
                fs::create_dir_all(d.join(format!("dev-{x}"))).unwrap();
            }
        };
        md("md127", "clean", Some("vda"));
        md("md126", "clear", None);
        md("md125", "inactive", Some("vdb"));
        assert!(md_busy(sys, "md127"));
        assert!(!md_busy(sys, "md126"));
        assert!(md_busy(sys, "md125"));
        assert!(!md_busy(sys, "md124"));
        let b = |n: &str| md_busy(sys, n);
        assert_eq!(pick_devnm("md127", &b).as_deref(), Some("md126"));
        // Found by md/uuid; an all-zero md/uuid (empty device) never matches.
        let u = MdUuid::parse("3f5a8b2c:11223344:55667788:99aabbcc").unwrap();
        fs::write(
            sys.join("block/md127/md/uuid"),
            "3f5a8b2c-1122-3344-5566-778899aabbcc\n",
        )
        .unwrap();
        fs::write(
            sys.join("block/md126/md/uuid"),
            "00000000-0000-0000-0000-000000000000\n",
        )
        .unwrap();
        assert_eq!(
            find_by_uuid(sys, &sysfs_uuid(&u, "1.2")).as_deref(),
            Some("md127")
        );
        assert_eq!(find_by_uuid(sys, &sysfs_uuid(&u, "0.90")), None);
        assert_eq!(
            find_by_uuid(sys, "00000000-0000-0000-0000-000000000000"),
            None
        );
    }
}
