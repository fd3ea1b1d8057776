//! One DM step: create, load, resume through the devicemapper crate (`DM::device_create`,
//! `table_load`, `device_suspend` without `DM_SUSPEND` = resume), the way libdm's deptree
//! activates a node (formats.md §2.5, §5). An existing device is never replaced: same UUID
//! and same table → left alone; same UUID and another table, or the name held by a device
//! with another UUID → reported with both tables.
//!
//! Without udev we make `/dev/mapper/NAME` and the plan's links ourselves (libdm
//! `_add_dev_node`, lvm2 `fs.c`); with udev the cookie carries lvm2's flags and the crate
//! waits on the SysV semaphore that `95-dm-notify.rules` releases (`dm_udev_sync.rs`), as
//! libdm's `dm_udev_wait` does, so the nodes exist when we return. DM devices exist
//! synchronously after resume; nothing here sleeps.

use super::nodes::{self, Change};
use super::timing::{timed, Call};
use super::{ExecEnv, ExecError, ExecOptions, Outcome};
use crate::plan::{DmStep, TargetLine};
use crate::source::sysfs::DevNo;
use devicemapper::{
    errors, DevId, DeviceInfo, DmError, DmFlags, DmName, DmOptions, DmUdevFlags, DmUuid, DM,
};
use nix::errno::Errno;
use std::fs::File;
use std::os::fd::AsRawFd;

/// libdm `DM_UDEV_DISABLE_LIBRARY_FALLBACK` (`libdevmapper.h`): lvm2 sets it whenever it
/// relies on udev for nodes (`_get_udev_flags`, `dev_manager.c`).
const DM_UDEV_DISABLE_LIBRARY_FALLBACK: u16 = 0x0020;

const DM_LOAD_HINT: &str = "the kernel log (dmesg) names the target's reason (device too \
                            small, target module missing, bad parameter)";

/// The DM control node, opened once per run.
pub(crate) struct DmCtl {
    dm: DM,
}

impl DmCtl {
    pub(crate) fn open() -> Result<DmCtl, String> {
        DM::new().map(|dm| DmCtl { dm }).map_err(|e| e.to_string())
    }

    pub(crate) fn dm(&self) -> &DM {
        &self.dm
    }
}

/// The errno of a failed ioctl, when the error is one.
pub(crate) fn errno_of(e: &DmError) -> Option<Errno> {
    match e {
        DmError::Core(errors::Error::Ioctl(_, _, _, err)) => Some(**err),
        _ => None,
    }
}

/// Short message for a DM error: the crate's ioctl errors carry both headers, too much for a
/// report line.
pub(crate) fn short(e: &DmError) -> String {
    match errno_of(e) {
        Some(_) => String::new(),
        None => e.to_string(),
    }
}

fn devno(info: &DeviceInfo) -> DevNo {
    let d = info.device();
    DevNo {
        major: d.major,
        minor: d.minor,
    }
}

/// DM names its block devices `dm-<minor>` (`dm.c: alloc_dev`).
pub(crate) fn kernel_name(d: DevNo) -> String {
    format!("dm-{}", d.minor)
}

/// Kernel table tuples as lines, normalised through [`TargetLine`] so that they compare with
/// ours; a line we cannot parse is kept verbatim (and then differs, which is reported).
pub(crate) fn table_lines(tuples: &[(u64, u64, String, String)]) -> Vec<String> {
    tuples
        .iter()
        .map(|(s, l, t, p)| {
            let line = if p.trim().is_empty() {
                format!("{s} {l} {t}")
            } else {
                format!("{s} {l} {t} {}", p.trim())
            };
            TargetLine::parse(&line)
                .map(|x| x.to_string())
                .unwrap_or(line)
        })
        .collect()
}

pub(crate) fn active_table(dm: &DM, id: &DevId<'_>) -> Result<Vec<String>, DmError> {
    let (_, t) = timed(Call::DmQuery, || {
        dm.table_status(id, DmOptions::default().set_flags(DmFlags::DM_STATUS_TABLE))
    })?;
    Ok(table_lines(&t))
}

fn fail(step: &DmStep, action: &str, e: &DmError, table: &[String]) -> Outcome {
    let mut err = ExecError::new(&step.name, action, errno_of(e), short(e));
    err.table = table.to_vec();
    Outcome::Failed(err)
}

/// Cookie flags for the resume: lvm2's flags for this LV, plus the library-fallback flag
/// when udev makes the nodes (as lvm2 sets it then).
fn udev_flags(step: &DmStep, udev: bool) -> DmUdevFlags {
    let mut f = step.udev_flags;
    if udev {
        f |= DM_UDEV_DISABLE_LIBRARY_FALLBACK;
    }
    // Subsystem flags (bits 8-15, lvm2 uses FLAG0 for "noscan") have no names in the
    // crate's bitflags; keep them.
    DmUdevFlags::from_bits_retain(u32::from(f))
}

/// Runs one DM step; `table` has every reference resolved (maj:min), except in a dry run.
pub(crate) fn create(
    ctl: &DmCtl,
    step: &DmStep,
    table: &[TargetLine],
    env: &ExecEnv,
    opts: &ExecOptions,
    udev: bool,
    notes: &mut Vec<String>,
) -> Outcome {
    let ours: Vec<String> = table.iter().map(|t| t.to_string()).collect();
    // The name becomes /dev/mapper/NAME: one plain component (second guard behind the plan).
    if !nodes::valid_component(&step.name) {
        return Outcome::Failed(ExecError::new(
            &step.name.escape_debug().to_string(),
            "check name",
            None,
            "refusing a DM name that is not one plain path component under /dev/mapper",
        ));
    }
    let (name, uuid) = match (DmName::new(&step.name), DmUuid::new(&step.uuid)) {
        (Ok(n), Ok(u)) => (n, u),
        (Err(e), _) | (_, Err(e)) => {
            return Outcome::Failed(ExecError::new(
                &step.name,
                "check name",
                None,
                format!("invalid DM name or uuid ({}): {e}", step.uuid),
            ))
        }
    };
    let dm = ctl.dm();
    // A device with this UUID (compared, never replaced) or this name (reported)?
    let taken = |notes: &mut Vec<String>| -> Option<Outcome> {
        match timed(Call::DmQuery, || dm.device_info(&DevId::Uuid(uuid))) {
            Ok(info) => {
                return Some(existing(
                    dm, step, uuid, &ours, &info, env, opts, udev, notes,
                ))
            }
            Err(e) if errno_of(&e) == Some(Errno::ENXIO) => {}
            Err(e) => return Some(fail(step, "DM_DEV_STATUS (by uuid)", &e, &[])),
        }
        match timed(Call::DmQuery, || dm.device_info(&DevId::Name(name))) {
            Ok(info) => {
                let theirs = active_table(dm, &DevId::Name(name)).unwrap_or_default();
                let their_uuid = info
                    .uuid()
                    .map(|u| format!("uuid {u}"))
                    .unwrap_or_else(|| "no uuid".to_string());
                Some(Outcome::Conflict {
                    message: format!(
                        "the name is taken by {} with {their_uuid} (plan uuid {}); left as it is",
                        kernel_name(devno(&info)),
                        step.uuid
                    ),
                    ours: ours.clone(),
                    theirs,
                })
            }
            Err(e) if errno_of(&e) == Some(Errno::ENXIO) => None,
            Err(e) => Some(fail(step, "DM_DEV_STATUS (by name)", &e, &[])),
        }
    };
    if opts.dry_run {
        super::crypt::dry_run_notes(table, notes);
        return taken(notes).unwrap_or_else(|| Outcome::WouldCreate {
            kernel: step.name.clone(),
        });
    }

    let ro = if step.read_only {
        DmFlags::DM_READONLY
    } else {
        DmFlags::empty()
    };
    if let Some(r) = super::crypt::locked(table) {
        let mut err = ExecError::new(&step.name, r.action, None, r.message);
        err.table = ours;
        return Outcome::Failed(err);
    }
    // 1. DM_DEV_CREATE: the device starts suspended, without a table.
    let created = match step.fixed_devno {
        Some(fixed) => create_persistent(dm.file(), &step.name, &step.uuid, fixed, step.read_only)
            .map_err(|e| {
                let mut err = ExecError::new(
                    &step.name,
                    "DM_DEV_CREATE (persistent minor)",
                    Some(e),
                    format!("minor {} requested", fixed.minor),
                );
                err.table = ours.clone();
                err
            }),
        None => timed(Call::DmCreate, || {
            dm.device_create(name, Some(uuid), DmOptions::default().set_flags(ro))
        })
        .map(|i| devno(&i))
        .map_err(|e| {
            let mut err = ExecError::new(&step.name, "DM_DEV_CREATE", errno_of(&e), short(&e));
            err.table = ours.clone();
            err
        }),
    };
    let d = match created {
        Ok(d) => d,
        // The kernel refuses a name or UUID it has (EBUSY; also a fixed minor in use): only
        // then look at what is there. Asking first cost two ioctls per device, a fifth of the
        // kernel time of activating 1000 LVs.
        Err(e) if e.errno == Some(Errno::EBUSY) => {
            return taken(notes).unwrap_or(Outcome::Failed(e))
        }
        Err(e) => return Outcome::Failed(e),
    };
    // 2. DM_TABLE_LOAD into the inactive slot, read-only again when asked (formats.md §2.6).
    // A crypt table's parameters carry a LUKS1 key: zeroed once loaded (or refused).
    let mut tuples: Vec<(u64, u64, String, String)> = table
        .iter()
        .map(|t| {
            (
                t.start,
                t.len,
                t.target.type_name().to_string(),
                t.target.kernel_params(),
            )
        })
        .collect();
    // A LUKS2 key goes into the thread keyring for the load and is revoked right after
    // (exec/crypt.rs); a table with a key is loaded with DM_SECURE_DATA, as libdm does.
    let keys = match super::crypt::prepare(table, &mut tuples, notes) {
        Ok(k) => k,
        Err(r) => {
            for t in &mut tuples {
                zeroize::Zeroize::zeroize(&mut t.3);
            }
            let mut err = ExecError::new(&step.name, r.action, r.errno, r.message);
            err.table = ours.clone();
            let mut o = Outcome::Failed(err);
            undo(dm, uuid, &mut o);
            return o;
        }
    };
    let secure = if super::crypt::has_crypt(table) {
        DmFlags::DM_SECURE_DATA
    } else {
        DmFlags::empty()
    };
    let loaded = timed(Call::DmLoad, || {
        dm.table_load(
            &DevId::Uuid(uuid),
            &tuples,
            DmOptions::default().set_flags(ro | secure),
        )
    });
    drop(keys);
    for t in &mut tuples {
        zeroize::Zeroize::zeroize(&mut t.3);
    }
    if let Err(e) = loaded {
        let mut o = fail(step, "DM_TABLE_LOAD", &e, &ours);
        undo(dm, uuid, &mut o);
        return o;
    }
    // 3. Resume: the table goes live; with udev the cookie carries the flags.
    if let Err(e) = timed(Call::DmResume, || {
        dm.device_suspend(
            &DevId::Uuid(uuid),
            DmOptions::default().set_udev_flags(udev_flags(step, udev)),
        )
    }) {
        let mut o = fail(step, "DM_DEV_SUSPEND (resume)", &e, &ours);
        undo(dm, uuid, &mut o);
        return o;
    }
    log::info!("created {} ({}, {d})", step.name, kernel_name(d));
    make_nodes(step, d, env, udev, notes);
    Outcome::Created {
        kernel: kernel_name(d),
        devno: d,
    }
}

/// Removes the device this step created after a failed load or resume, and says so.
fn undo(dm: &DM, uuid: &DmUuid, o: &mut Outcome) {
    let r = dm.device_remove(&DevId::Uuid(uuid), DmOptions::default());
    if let Outcome::Failed(err) = o {
        err.hint = Some(DM_LOAD_HINT.to_string());
        let what = match r {
            Ok(_) => "the half-made device was removed".to_string(),
            Err(e) => format!(
                "removing the half-made device failed too: {}",
                errno_of(&e).map_or_else(|| e.to_string(), |n| n.desc().to_string())
            ),
        };
        if !err.message.is_empty() {
            err.message.push_str("; ");
        }
        err.message.push_str(&what);
    }
}

/// A device with the step's UUID exists: compare, never replace.
#[allow(clippy::too_many_arguments)]
fn existing(
    dm: &DM,
    step: &DmStep,
    uuid: &DmUuid,
    ours: &[String],
    info: &DeviceInfo,
    env: &ExecEnv,
    opts: &ExecOptions,
    udev: bool,
    notes: &mut Vec<String>,
) -> Outcome {
    let d = devno(info);
    let kernel = kernel_name(d);
    let their_name = info.name().map(|n| n.to_string()).unwrap_or_default();
    if !info.flags().contains(DmFlags::DM_ACTIVE_PRESENT) {
        return Outcome::Conflict {
            message: format!(
                "{their_name} ({kernel}) has this uuid but no active table (an interrupted \
                 activation?); left as it is"
            ),
            ours: ours.to_vec(),
            theirs: Vec::new(),
        };
    }
    let theirs = match active_table(dm, &DevId::Uuid(uuid)) {
        Ok(t) => t,
        Err(e) => return fail(step, "DM_TABLE_STATUS", &e, ours),
    };
    if crate::plan::dm::comparable(&theirs) != crate::plan::dm::comparable(ours) {
        return Outcome::Conflict {
            message: format!(
                "{their_name} ({kernel}) has this uuid and a different table; not replaced"
            ),
            ours: ours.to_vec(),
            theirs,
        };
    }
    if their_name != step.name {
        notes.push(format!(
            "active under the name {their_name}, the plan says {}",
            step.name
        ));
    }
    let is_ro = info.flags().contains(DmFlags::DM_READONLY);
    if is_ro != step.read_only {
        notes.push(format!(
            "active {}, the plan says {}",
            if is_ro { "read-only" } else { "writable" },
            if step.read_only {
                "read-only"
            } else {
                "writable"
            }
        ));
    }
    if info.flags().contains(DmFlags::DM_SUSPEND) {
        notes.push("the device is suspended".to_string());
    }
    if !opts.dry_run && their_name == step.name {
        make_nodes(step, d, env, udev, notes);
    }
    Outcome::Present { kernel, devno: d }
}

/// `/dev/mapper/NAME` (no udev) and the plan's links. With udev, udev makes the node and the
/// `/dev/VG/LV` links from its rules; only our own `/dev/evms` namespace is ours to make.
fn make_nodes(step: &DmStep, d: DevNo, env: &ExecEnv, udev: bool, notes: &mut Vec<String>) {
    let mapper = format!("mapper/{}", step.name);
    if !udev {
        match nodes::ensure_block_node(
            &env.dev.join(&mapper),
            d,
            nodes::DM_NODE_MODE,
            nodes::DM_NODE_UID,
            nodes::DM_NODE_GID,
        ) {
            Ok(Change::Unchanged) => {}
            Ok(c) => notes.push(format!("{} /dev/{mapper}", change_word(c))),
            Err(e) => notes.push(format!("warning: cannot make /dev/{mapper}: {e}")),
        }
    }
    for l in &step.links {
        if udev && !l.starts_with("evms/") {
            continue;
        }
        match nodes::ensure_symlink(&env.dev, l, &mapper) {
            Ok(Change::Unchanged) => {}
            Ok(c) => notes.push(format!("{} /dev/{l}", change_word(c))),
            Err(e) => notes.push(format!("warning: cannot link /dev/{l}: {e}")),
        }
    }
}

pub(crate) fn change_word(c: Change) -> &'static str {
    match c {
        Change::Unchanged => "kept",
        Change::Created => "made",
        Change::Replaced => "replaced stale",
    }
}

/// Size of `struct dm_ioctl` (`dm-ioctl.h`; formats.md §5).
const DM_IOCTL_SIZE: usize = 312;
/// Buffer libdm uses for create (`libdm-iface.c`).
const DM_BUF_SIZE: usize = 16 * 1024;
/// `DM_DEV_CREATE` command number and flags (`dm-ioctl.h`).
const DM_DEV_CREATE_CMD: u8 = 3;
const DM_READONLY_FLAG: u32 = 1 << 0;
const DM_PERSISTENT_DEV_FLAG: u32 = 1 << 3;

/// The kernel's "huge" dev_t encoding used in `dm_ioctl.dev` (`kdev_t.h: new_encode_dev`).
pub(crate) fn huge_encode(d: DevNo) -> u64 {
    u64::from(d.minor & 0xff) | (u64::from(d.major) << 8) | (u64::from(d.minor & !0xff) << 12)
}

pub(crate) fn huge_decode(v: u64) -> DevNo {
    let v = v as u32;
    DevNo {
        major: (v & 0xfff00) >> 8,
        minor: (v & 0xff) | ((v >> 12) & 0xfff00),
    }
}

#[repr(C, align(8))]
struct IoBuf([u8; DM_BUF_SIZE]);

/// `DM_DEV_CREATE` with `DM_PERSISTENT_DEV_FLAG` and `dev` set (lvm2 FIXED_MINOR): the
/// devicemapper crate has no way to fill `dev`, so this one ioctl is issued here, with the
/// header laid out as formats.md §5 gives it. Only the minor is used by the kernel
/// (`dm-ioctl.c: dev_create`).
fn create_persistent(
    ctl: &File,
    name: &str,
    uuid: &str,
    fixed: DevNo,
    read_only: bool,
) -> Result<DevNo, Errno> {
    if name.len() >= 128 || uuid.len() >= 129 {
        return Err(Errno::EINVAL);
    }
    let mut b = Box::new(IoBuf([0u8; DM_BUF_SIZE]));
    let buf = &mut b.0;
    let put32 = |buf: &mut [u8; DM_BUF_SIZE], off: usize, v: u32| {
        buf[off..off + 4].copy_from_slice(&v.to_ne_bytes())
    };
    // version {4, 0, 0}: the oldest interface with create (what libdm sends).
    put32(buf, 0, 4);
    put32(buf, 12, DM_BUF_SIZE as u32);
    put32(buf, 16, DM_IOCTL_SIZE as u32);
    let mut flags = DM_PERSISTENT_DEV_FLAG;
    if read_only {
        flags |= DM_READONLY_FLAG;
    }
    put32(buf, 28, flags);
    buf[40..48].copy_from_slice(&huge_encode(fixed).to_ne_bytes());
    buf[48..48 + name.len()].copy_from_slice(name.as_bytes());
    buf[176..176 + uuid.len()].copy_from_slice(uuid.as_bytes());
    let req = nix::request_code_readwrite!(0xfd, DM_DEV_CREATE_CMD, DM_IOCTL_SIZE);
    // SAFETY: the buffer is DM_BUF_SIZE bytes, as data_size tells the kernel, and outlives
    // the call.
    let r = timed(Call::DmCreate, || unsafe {
        nix::libc::ioctl(ctl.as_raw_fd(), req, buf.as_mut_ptr())
    });
    Errno::result(r)?;
    let mut dev = [0u8; 8];
    dev.copy_from_slice(&buf[40..48]);
    Ok(huge_decode(u64::from_ne_bytes(dev)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_tables_normalise_for_comparison() {
        let k = vec![
            (0, 16384, "linear".to_string(), "9:127 2048".to_string()),
            (
                16384,
                8192,
                "striped".to_string(),
                "2 128 254:32 2048 254:48 2048 ".to_string(),
            ),
            (24576, 8, "error".to_string(), String::new()),
            (24584, 8, "weird".to_string(), "a  b".to_string()),
        ];
        assert_eq!(
            table_lines(&k),
            [
                "0 16384 linear 9:127 2048",
                "16384 8192 striped 2 128 254:32 2048 254:48 2048",
                "24576 8 error",
                "24584 8 weird a  b",
            ]
        );
    }

    #[test]
    // The request type is c_ulong with glibc and c_int with musl: the cast is needed there.
    #[allow(clippy::unnecessary_cast)]
    fn dev_t_huge_encoding_round_trips() {
        // formats.md §5: MKDEV/makedev give the same value for normal numbers.
        let d = DevNo {
            major: 253,
            minor: 200,
        };
        assert_eq!(huge_encode(d), makedev(253, 200));
        let big = DevNo {
            major: 253,
            minor: 70000,
        };
        assert_eq!(huge_decode(huge_encode(big)), big);
        assert_eq!(huge_encode(big) as u32 as u64, huge_encode(big));
        assert_eq!(
            nix::request_code_readwrite!(0xfd, DM_DEV_CREATE_CMD, DM_IOCTL_SIZE) as u64,
            0xC138_FD03
        );
    }

    fn makedev(ma: u64, mi: u64) -> u64 {
        nix::sys::stat::makedev(ma, mi)
    }

    #[test]
    fn cookie_flags_keep_lvm_subsystem_bits() {
        let mut s = DmStep {
            key: String::new(),
            name: "vg0-lv_rimage_0".into(),
            uuid: "LVM-x".into(),
            read_only: false,
            table: vec![],
            // DISABLE_SUBSYSTEM|DISK|OTHER rules + DM_SUBSYSTEM_UDEV_FLAG0 (noscan)
            udev_flags: 0x0002 | 0x0004 | 0x0008 | 0x0100,
            links: vec![],
            volume: String::new(),
            visible: false,
            fixed_devno: None,
        };
        assert_eq!(udev_flags(&s, false).bits(), 0x010e);
        assert_eq!(udev_flags(&s, true).bits(), 0x012e);
        s.udev_flags = 0;
        assert_eq!(udev_flags(&s, true).bits(), 0x0020);
    }
}
