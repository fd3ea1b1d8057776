//! The records the booted system needs when we activated without udev (design.md "The
//! hand-off, measured"; lvm2 issue #31; systemd issue #38758):
//!
//! * `<run>/udev/data/b<maj>:<min>` for every DM device: after switch_root, udev's coldplug
//!   (`udevadm trigger --action=add`) runs 55-dm.rules (upstream 10-dm.rules) on an "add"
//!   event that carries no `DM_COOKIE`. The rules then `IMPORT{db}` the `DM_UDEV_*` flags and,
//!   unless `DM_UDEV_PRIMARY_SOURCE_FLAG` is 1, take the `dm_disable` path: no
//!   /dev/mapper link, no /dev/VG/LV link (56-lvm.rules / 11-dm-lvm.rules), no
//!   /dev/disk/by-* links (60-persistent-storage-dm.rules / 13-dm-disk.rules) and systemd
//!   waits for the device units until it gives up. One line is enough to avoid that; we also
//!   write the flags lvm2 put in its cookie, so that hidden sub-LVs stay hidden exactly as
//!   after an lvm2 activation with udev.
//! * the same file for an MD array that holds a PV, with `LVM_MD_PV_ACTIVATED=1`: 69-lvm.rules
//!   imports it from the database on "add" and otherwise sets `SYSTEMD_READY=0` for the array.
//! * the `<run>/mdadm/map` entries of arrays found running without one ([`super::mdmap`]).

use super::mdmap;
use super::{ExecEnv, ExecReport, Outcome, StepKind};
use crate::plan::{DmStep, Plan, Step};
use crate::source::sysfs::DevNo;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

/// libdm cookie flag names as `dmsetup udevflags` prints them for bits 0-7 (`dmsetup.c:
/// _udevflags`), which is how they reach the udev environment and database.
const DM_FLAG_NAMES: [&str; 8] = [
    "DM_UDEV_DISABLE_DM_RULES_FLAG",
    "DM_UDEV_DISABLE_SUBSYSTEM_RULES_FLAG",
    "DM_UDEV_DISABLE_DISK_RULES_FLAG",
    "DM_UDEV_DISABLE_OTHER_RULES_FLAG",
    "DM_UDEV_LOW_PRIORITY_FLAG",
    "DM_UDEV_DISABLE_LIBRARY_FALLBACK_FLAG",
    "DM_UDEV_PRIMARY_SOURCE_FLAG",
    "DM_UDEV_FLAG7",
];

/// `DM_UDEV_PRIMARY_SOURCE_FLAG` (`libdevmapper.h`).
const PRIMARY_SOURCE: u16 = 0x40;
/// `DM_UDEV_DISABLE_DM_RULES_FLAG`: lvm2 sets it only when configured with udev_rules = 0.
const DISABLE_DM_RULES: u16 = 0x01;

/// The udev database entry of one DM device, one `E:` (property) line each:
///
/// * `DM_UDEV_PRIMARY_SOURCE_FLAG=1`: always; libdm puts it in every cookie it sends for a
///   resume. 55-dm.rules imports it from the database on coldplug and only then sets
///   `DM_ACTIVATION=1` and goes on; 69-lvm.rules needs it to scan a DM device that is a PV.
/// * `DM_UDEV_DISABLE_{SUBSYSTEM,DISK,OTHER}_RULES_FLAG=1`, `DM_UDEV_LOW_PRIORITY_FLAG=1`,
///   `DM_UDEV_DISABLE_LIBRARY_FALLBACK_FLAG=1`: the bits lvm2's `_get_udev_flags`
///   (`dev_manager.c`) set for this LV (the plan's `udev_flags`), as `dmsetup udevflags` names
///   them and udev stored them; 55-dm.rules imports each from the database on coldplug.
///   Hidden and layer LVs carry SUBSYSTEM|DISK|OTHER: no /dev/VG/LV link (56-lvm.rules), no
///   /dev/disk/by-* (60-persistent-storage-dm.rules), no pvscan (69-lvm.rules). The
///   DISABLE_DM_RULES bit is left out: with it no /dev/mapper link would ever be made, and
///   lvm2 sets it only for udev_rules = 0, which is not how the booted system runs.
/// * `DM_NAME`, `DM_UUID`: the identity, so readers of the database (`udevadm info`,
///   systemd before the coldplug) see what the device is; the rules recompute both from
///   `dm/name` and `dm/uuid` on the next event.
///
/// The subsystem bits (8-15, lvm2's "noscan") are per-event and not imported from the
/// database, so they are not written.
pub fn dm_udev_record(step: &DmStep) -> String {
    let flags = (step.udev_flags | PRIMARY_SOURCE) & 0xff & !DISABLE_DM_RULES;
    let mut s = String::new();
    for (bit, name) in DM_FLAG_NAMES.iter().enumerate() {
        if flags & (1 << bit) != 0 {
            s.push_str(&format!("E:{name}=1\n"));
        }
    }
    s.push_str(&format!("E:DM_NAME={}\n", step.name));
    s.push_str(&format!("E:DM_UUID={}\n", step.uuid));
    s
}

/// The database entry of an MD array holding an LVM PV (69-lvm.rules: `IMPORT{db}=
/// "LVM_MD_PV_ACTIVATED"`; `ACTION=="add", ENV{LVM_MD_PV_ACTIVATED}=="1"` → pvscan and
/// `SYSTEMD_READY=1`). 63-md-raid-arrays.rules imports nothing from the database.
pub(crate) const MD_PV_RECORD: &str = "E:LVM_MD_PV_ACTIVATED=1\n";

pub(crate) fn udev_record_path(env: &ExecEnv, d: DevNo) -> PathBuf {
    env.run.join(format!("udev/data/b{}:{}", d.major, d.minor))
}

/// Writes a database entry unless one exists (one written by udev or by an earlier run is
/// never overwritten). Returns whether it wrote.
///
/// Written to a temporary name and renamed without replacing (RENAME_NOREPLACE): the entry
/// appears whole, and one that exists is kept, with no stat before and no directory check
/// (they were three of seven calls per record, a thousand records per 1000 LVs).
fn write_record(env: &ExecEnv, d: DevNo, text: &str) -> io::Result<Option<PathBuf>> {
    let p = udev_record_path(env, d);
    let tmp = p.with_extension("evms-new");
    let open = || {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o644)
            .open(&tmp)
    };
    let mut f = match open() {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if let Some(parent) = p.parent() {
                fs::create_dir_all(parent)?;
            }
            open()?
        }
        r => r?,
    };
    f.write_all(text.as_bytes())?;
    drop(f);
    match rename_noreplace(&tmp, &p) {
        Ok(()) => Ok(Some(p)),
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            match e.raw_os_error() {
                Some(nix::libc::EEXIST) => Ok(None),
                // A file system without RENAME_NOREPLACE: look, then rename.
                Some(nix::libc::EINVAL) | Some(nix::libc::ENOSYS) if !p.exists() => {
                    fs::write(&tmp, text)?;
                    fs::rename(&tmp, &p)?;
                    Ok(Some(p))
                }
                Some(nix::libc::EINVAL) | Some(nix::libc::ENOSYS) => Ok(None),
                _ => Err(e),
            }
        }
    }
}

/// `renameat2(from, to, RENAME_NOREPLACE)` (through syscall(2): older musl has no wrapper).
fn rename_noreplace(from: &std::path::Path, to: &std::path::Path) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &std::path::Path| {
        std::ffi::CString::new(p.as_os_str().as_bytes())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))
    };
    let (a, b) = (c(from)?, c(to)?);
    // SAFETY: both are NUL-terminated strings that outlive the call.
    let r = unsafe {
        nix::libc::syscall(
            nix::libc::SYS_renameat2,
            nix::libc::AT_FDCWD,
            a.as_ptr(),
            nix::libc::AT_FDCWD,
            b.as_ptr(),
            nix::libc::RENAME_NOREPLACE,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// True when an LVM DM device (a PV's LV) sits on `d` (sysfs holders).
fn holds_lvm(env: &ExecEnv, d: DevNo) -> bool {
    let holders = env
        .sys
        .join("dev/block")
        .join(d.to_string())
        .join("holders");
    fs::read_dir(holders)
        .map(|rd| {
            rd.flatten().any(|h| {
                fs::read_to_string(h.path().join("dm/uuid"))
                    .map(|u| u.starts_with("LVM-"))
                    .unwrap_or(false)
            })
        })
        .unwrap_or(false)
}

/// After the steps ran: udev records (only when udev does not run: otherwise udev keeps its
/// own) for the DM devices and the PV-holding MD arrays of the plan, created or found
/// present, and map entries for arrays found present without one.
/// `skip_udev`: udev is running (it keeps its own database) or the caller asked for no udev
/// records; map entries are written either way.
pub(crate) fn write_all(plan: &Plan, env: &ExecEnv, skip_udev: bool, report: &mut ExecReport) {
    let udev = skip_udev;
    let mut written = Vec::new();
    let mut warnings = Vec::new();
    for (step, r) in plan.steps.iter().zip(report.steps.iter()) {
        let Some((kernel, d)) = r.outcome.device() else {
            continue;
        };
        match (step, r.kind) {
            (Step::CreateDm(s), StepKind::Dm) if !udev => {
                match write_record(env, d, &dm_udev_record(s)) {
                    Ok(Some(p)) => written.push(p),
                    Ok(None) => {}
                    Err(e) => warnings.push(format!("udev record for {} ({d}): {e}", s.name)),
                }
            }
            (Step::AssembleMd(m), StepKind::Md) => {
                if !udev && holds_lvm(env, d) {
                    match write_record(env, d, MD_PV_RECORD) {
                        Ok(Some(p)) => written.push(p),
                        Ok(None) => {}
                        Err(e) => warnings.push(format!("udev record for {kernel} ({d}): {e}")),
                    }
                }
                if matches!(r.outcome, Outcome::Present { .. }) && !mdmap::has(env, kernel) {
                    let path = mdmap::path(m, kernel);
                    match mdmap::set(env, kernel, &m.metadata, &m.uuid, &path) {
                        Ok(()) => written.push(env.run.join("mdadm/map")),
                        Err(e) => warnings.push(format!("mdadm map entry for {kernel}: {e}")),
                    }
                }
            }
            _ => {}
        }
    }
    report.records.extend(written);
    report.warnings.extend(warnings);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(flags: u16) -> DmStep {
        DmStep {
            key: "lv:x".into(),
            name: "vg0-root".into(),
            uuid: "LVM-0123456789abcdefghijABCDEFGHIJ0123456789abcdefghijABCDEFGHIJ".into(),
            read_only: false,
            table: vec![],
            udev_flags: flags,
            links: vec![],
            volume: "vg0/root".into(),
            visible: true,
            fixed_devno: None,
        }
    }

    /// A record is written whole where none is, and one that exists (udev's, an earlier
    /// run's) is kept as it is; no temporary file is left either way.
    #[test]
    fn records_are_written_once_and_never_replaced() {
        let t = crate::exec::nodes::tests::TempDir::new();
        let env = ExecEnv::under(t.path());
        let d = DevNo {
            major: 253,
            minor: 7,
        };
        let p = write_record(&env, d, "E:A=1\n").unwrap().unwrap();
        assert_eq!(p, env.run.join("udev/data/b253:7"));
        assert_eq!(fs::read_to_string(&p).unwrap(), "E:A=1\n");
        assert_eq!(write_record(&env, d, "E:B=1\n").unwrap(), None);
        assert_eq!(fs::read_to_string(&p).unwrap(), "E:A=1\n");
        let names: Vec<_> = fs::read_dir(env.run.join("udev/data"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["b253:7"]);
    }

    #[test]
    fn dm_records_carry_lvm_flags() {
        // Visible LV activated by lvm2 with udev: DISABLE_LIBRARY_FALLBACK only.
        assert_eq!(
            dm_udev_record(&step(0x20)),
            "E:DM_UDEV_DISABLE_LIBRARY_FALLBACK_FLAG=1\n\
             E:DM_UDEV_PRIMARY_SOURCE_FLAG=1\n\
             E:DM_NAME=vg0-root\n\
             E:DM_UUID=LVM-0123456789abcdefghijABCDEFGHIJ0123456789abcdefghijABCDEFGHIJ\n"
        );
        // Hidden sub-LV: SUBSYSTEM|DISK|OTHER; noscan (subsystem flag 0) and DM_RULES dropped.
        let r = dm_udev_record(&step(0x0001 | 0x0002 | 0x0004 | 0x0008 | 0x0020 | 0x0100));
        assert_eq!(
            r.lines().collect::<Vec<_>>()[..4],
            [
                "E:DM_UDEV_DISABLE_SUBSYSTEM_RULES_FLAG=1",
                "E:DM_UDEV_DISABLE_DISK_RULES_FLAG=1",
                "E:DM_UDEV_DISABLE_OTHER_RULES_FLAG=1",
                "E:DM_UDEV_DISABLE_LIBRARY_FALLBACK_FLAG=1",
            ]
        );
        assert!(!r.contains("DM_UDEV_DISABLE_DM_RULES_FLAG"));
        assert!(!r.contains("SUBSYSTEM_UDEV_FLAG"));
        // Nothing set: the one line the hand-off needs, plus identity.
        assert!(dm_udev_record(&step(0)).starts_with("E:DM_UDEV_PRIMARY_SOURCE_FLAG=1\nE:DM_NAME="));
    }
}
