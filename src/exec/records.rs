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
//! * `<run>/mdadm/map`, exactly as mdadm writes it (`mapfile.c`), so `mdadm --incremental`
//!   (64-md-raid-assembly.rules, on the members' coldplug events) and `mdadm --detail --export`
//!   (63-md-raid-arrays.rules: `MD_DEVNAME`, hence /dev/md/NAME) know our arrays.

use super::{ExecEnv, ExecReport, Outcome, StepKind};
use crate::ids::MdUuid;
use crate::plan::{DmStep, Plan, Step};
use crate::source::sysfs::DevNo;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

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

/// The UUID words mdadm keeps in `struct map_ent` (`int uuid[4]`), printed `%08x`: for 1.x
/// `getinfo_super1` copies `set_uuid` into the ints, so each word is the native-endian
/// reading of 4 superblock bytes; for 0.90 the words are `set_uuid0..3` themselves, which
/// [`MdUuid`] holds big-endian (as mdadm prints them).
pub(crate) fn map_words(uuid: &MdUuid, metadata: &str) -> [u32; 4] {
    let mut w = [0u32; 4];
    for (i, c) in uuid.0.chunks_exact(4).enumerate() {
        let b = [c[0], c[1], c[2], c[3]];
        w[i] = if metadata.starts_with("0.") {
            u32::from_be_bytes(b)
        } else {
            u32::from_ne_bytes(b)
        };
    }
    w
}

/// One map entry, as mdadm's `map_write` prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct MapEnt {
    devnm: String,
    metadata: String,
    uuid: [u32; 4],
    path: String,
}

impl MapEnt {
    fn line(&self) -> String {
        let u = self.uuid;
        format!(
            "{} {} {:08x}:{:08x}:{:08x}:{:08x} {}\n",
            self.devnm, self.metadata, u[0], u[1], u[2], u[3], self.path
        )
    }
}

/// The map line for an array: `<devnm> <metadata> <uuid words> <path>\n`.
pub fn map_line(devnm: &str, metadata: &str, uuid: &MdUuid, path: &str) -> String {
    MapEnt {
        devnm: devnm.into(),
        metadata: metadata.into(),
        uuid: map_words(uuid, metadata),
        path: path.into(),
    }
    .line()
}

/// mdadm's `map_read`: `sscanf(buf, " %s %s %x:%x:%x:%x %200s", ...) >= 7`, each entry
/// pushed to the front of the list (so the list is in reverse file order). Lines that do
/// not scan (including those without a path) are dropped.
fn map_read(text: &str) -> Vec<MapEnt> {
    let mut list = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (Some(devnm), Some(meta), Some(uuid), Some(path)) =
            (f.first(), f.get(1), f.get(2), f.get(3))
        else {
            continue;
        };
        let words: Vec<Option<u32>> = uuid
            .split(':')
            .map(|x| u32::from_str_radix(x.trim_start_matches("0x"), 16).ok())
            .collect();
        let [Some(a), Some(b), Some(c), Some(d)] = words[..] else {
            continue;
        };
        let path: String = path.chars().take(200).collect();
        list.insert(
            0,
            MapEnt {
                devnm: (*devnm).into(),
                metadata: (*meta).into(),
                uuid: [a, b, c, d],
                path,
            },
        );
    }
    list
}

fn map_text(list: &[MapEnt]) -> String {
    list.iter().map(MapEnt::line).collect()
}

/// The new map after mdadm's `map_update`: the entry for `devnm` is replaced in place, or
/// a new one goes first; the rest keeps mdadm's (reversed) list order.
pub fn map_update(
    existing: &str,
    devnm: &str,
    metadata: &str,
    uuid: &MdUuid,
    path: &str,
) -> String {
    let mut list = map_read(existing);
    let ent = MapEnt {
        devnm: devnm.into(),
        metadata: metadata.into(),
        uuid: map_words(uuid, metadata),
        path: path.into(),
    };
    match list.iter_mut().find(|e| e.devnm == devnm) {
        Some(e) => *e = ent,
        None => list.insert(0, ent),
    }
    map_text(&list)
}

/// The new map after mdadm's `map_remove`.
pub fn map_remove(existing: &str, devnm: &str) -> String {
    let mut list = map_read(existing);
    list.retain(|e| e.devnm != devnm);
    map_text(&list)
}

/// Runs `f` on the map directory under mdadm's lock protocol (`map_lock`: flock on
/// `map.lock`, retried when the holder unlinked it; the holder unlinks it before unlocking).
fn with_map_lock<T>(env: &ExecEnv, f: impl FnOnce(&Path) -> io::Result<T>) -> io::Result<T> {
    let dir = env.run.join("mdadm");
    fs::create_dir_all(&dir)?;
    let lock_path = dir.join("map.lock");
    let mut lock = None;
    for _ in 0..16 {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&lock_path)?;
        let l = nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive)
            .map_err(|(_, e)| io::Error::from(e))?;
        if l.metadata()?.nlink() > 0 {
            lock = Some(l);
            break;
        }
    }
    let Some(lock) = lock else {
        return Err(io::Error::new(
            io::ErrorKind::WouldBlock,
            "cannot take the mdadm map lock",
        ));
    };
    let r = f(&dir);
    let _ = fs::remove_file(&lock_path);
    drop(lock);
    r
}

/// Writes `map.new` (mode 0600) and renames it over `map`, as `map_write` does.
fn map_replace(dir: &Path, edit: impl FnOnce(&str) -> String) -> io::Result<()> {
    let map = dir.join("map");
    let old = match fs::read_to_string(&map) {
        Ok(s) => s,
        Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e),
    };
    let new = edit(&old);
    let tmp = dir.join("map.new");
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(new.as_bytes())?;
    f.sync_all()?;
    fs::rename(&tmp, &map)
}

/// Sets the map entry of `devnm`.
pub(crate) fn map_set(
    env: &ExecEnv,
    devnm: &str,
    metadata: &str,
    uuid: &MdUuid,
    path: &str,
) -> io::Result<()> {
    with_map_lock(env, |dir| {
        map_replace(dir, |old| map_update(old, devnm, metadata, uuid, path))
    })
}

/// Removes the map entry of `devnm`; false when there was none (nothing is written then).
pub(crate) fn map_del(env: &ExecEnv, devnm: &str) -> io::Result<bool> {
    let map = env.run.join("mdadm/map");
    let has = |t: &str| map_read(t).iter().any(|e| e.devnm == devnm);
    match fs::read_to_string(&map) {
        Ok(t) if has(&t) => {}
        Ok(_) => return Ok(false),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    }
    with_map_lock(env, |dir| map_replace(dir, |old| map_remove(old, devnm)))?;
    Ok(true)
}

/// True when the map has an entry for `devnm`.
fn map_has(env: &ExecEnv, devnm: &str) -> bool {
    fs::read_to_string(env.run.join("mdadm/map"))
        .map(|t| map_read(&t).iter().any(|e| e.devnm == devnm))
        .unwrap_or(false)
}

pub(crate) fn udev_record_path(env: &ExecEnv, d: DevNo) -> PathBuf {
    env.run.join(format!("udev/data/b{}:{}", d.major, d.minor))
}

/// Writes a database entry unless one exists (one written by udev or by an earlier run is
/// never overwritten). Returns whether it wrote.
fn write_record(env: &ExecEnv, d: DevNo, text: &str) -> io::Result<Option<PathBuf>> {
    let p = udev_record_path(env, d);
    if p.exists() {
        return Ok(None);
    }
    if let Some(parent) = p.parent() {
        fs::create_dir_all(parent)?;
    }
    let tmp = p.with_extension("evms-new");
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .open(&tmp)?;
    f.write_all(text.as_bytes())?;
    fs::rename(&tmp, &p)?;
    Ok(Some(p))
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
                if matches!(r.outcome, Outcome::Present { .. }) && !map_has(env, kernel) {
                    let path = super::md::map_path(m, kernel);
                    match map_set(env, kernel, &m.metadata, &m.uuid, &path) {
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

    #[test]
    fn map_lines_print_native_words() {
        let u = MdUuid::parse("3f5a8b2c:11223344:55667788:99aabbcc").unwrap();
        // 1.x on a little-endian host: each 4-byte group reversed against mdadm -D.
        #[cfg(target_endian = "little")]
        assert_eq!(
            map_line("md127", "1.2", &u, "/dev/md/r1"),
            "md127 1.2 2c8b5a3f:44332211:88776655:ccbbaa99 /dev/md/r1\n"
        );
        // 0.90: the words are set_uuid0..3, printed as mdadm -D does.
        assert_eq!(
            map_line("md0", "0.90", &u, "/dev/md/0"),
            "md0 0.90 3f5a8b2c:11223344:55667788:99aabbcc /dev/md/0\n"
        );
    }

    #[test]
    fn map_updates_follow_mdadm_list_order() {
        let a = MdUuid([0x11; 16]);
        let b = MdUuid([0x22; 16]);
        let c = MdUuid([0x33; 16]);
        let m = map_update("", "md127", "1.2", &a, "/dev/md/a");
        assert_eq!(
            m,
            "md127 1.2 11111111:11111111:11111111:11111111 /dev/md/a\n"
        );
        let m = map_update(&m, "md126", "1.2", &b, "/dev/md/b");
        let m = map_update(&m, "md125", "1.2", &c, "/dev/md/c");
        // map_read prepends (reverse file order), map_add prepends the new entry.
        assert_eq!(
            m.lines().map(|l| &l[..5]).collect::<Vec<_>>(),
            ["md125", "md127", "md126"]
        );
        // Updating in place keeps the slot, in the reversed order.
        let m2 = map_update(&m, "md127", "1.2", &a, "/dev/md/a2");
        assert_eq!(
            m2.lines().collect::<Vec<_>>(),
            [
                "md126 1.2 22222222:22222222:22222222:22222222 /dev/md/b",
                "md127 1.2 11111111:11111111:11111111:11111111 /dev/md/a2",
                "md125 1.2 33333333:33333333:33333333:33333333 /dev/md/c",
            ]
        );
        let m3 = map_remove(&m2, "md127");
        assert_eq!(
            m3.lines().map(|l| &l[..5]).collect::<Vec<_>>(),
            ["md125", "md126"]
        );
        // Lines that mdadm's sscanf rejects (no path, bad uuid) are dropped.
        assert_eq!(
            map_remove(
                "md1 1.2 1:2:3:4\nmd2 1.2 x:2:3:4 /dev/md2\nmd3 1.2 1:2:3:4 /p\n",
                "x"
            ),
            "md3 1.2 00000001:00000002:00000003:00000004 /p\n"
        );
    }

    #[test]
    fn map_file_is_replaced_atomically_and_locked() {
        let t = super::super::nodes::tests::TempDir::new();
        let env = ExecEnv {
            sys: t.path().join("sys"),
            dev: t.path().join("dev"),
            run: t.path().join("run"),
            proc: t.path().join("proc"),
        };
        let u = MdUuid([0xab; 16]);
        map_set(&env, "md127", "1.2", &u, "/dev/md/x").unwrap();
        let dir = env.run.join("mdadm");
        assert_eq!(
            fs::read_to_string(dir.join("map")).unwrap(),
            "md127 1.2 abababab:abababab:abababab:abababab /dev/md/x\n"
        );
        assert!(!dir.join("map.new").exists() && !dir.join("map.lock").exists());
        assert_eq!(fs::metadata(dir.join("map")).unwrap().mode() & 0o777, 0o600);
        assert!(map_has(&env, "md127"));
        assert!(!map_del(&env, "md126").unwrap());
        assert!(map_del(&env, "md127").unwrap());
        assert_eq!(fs::read_to_string(dir.join("map")).unwrap(), "");
    }
}
