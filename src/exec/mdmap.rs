//! `<run>/mdadm/map`, exactly as mdadm writes it (`mapfile.c`), so `mdadm --incremental`
//! (64-md-raid-assembly.rules, on the members' coldplug events) and `mdadm --detail --export`
//! (63-md-raid-arrays.rules: `MD_DEVNAME`, hence /dev/md/NAME) know our arrays. The one home of
//! the file: its lines, mdadm's list order, the lock protocol and the path an array is recorded
//! under; assembly, the records pass and deactivation call it.

use super::nodes;
use super::ExecEnv;
use crate::ids::MdUuid;
use crate::plan::MdStep;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

/// `/dev/md/NAME` when the plan names the array, else `/dev/mdN`: the path mdadm records in
/// the map (`create_mddev`'s `chosen`).
pub(crate) fn path(m: &MdStep, devnm: &str) -> String {
    match &m.name {
        // A name that is no plain component (a newline would forge map lines) is not used.
        Some(n) if nodes::valid_component(n) && !n.contains(char::is_whitespace) => {
            format!("/dev/md/{n}")
        }
        _ => format!("/dev/{devnm}"),
    }
}

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
pub(crate) fn set(
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
pub(crate) fn del(env: &ExecEnv, devnm: &str) -> io::Result<bool> {
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
pub(crate) fn has(env: &ExecEnv, devnm: &str) -> bool {
    fs::read_to_string(env.run.join("mdadm/map"))
        .map(|t| map_read(&t).iter().any(|e| e.devnm == devnm))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The second guard behind the plan: a name that is no plain path component never
    /// reaches a /run/mdadm/map line (a newline would forge one).
    #[test]
    fn map_path_refuses_unsafe_names() {
        let step = |name: Option<&str>| MdStep {
            key: "md:x".into(),
            uuid: MdUuid([1; 16]),
            metadata: "1.2".into(),
            devnm: "md127".into(),
            name: name.map(str::to_string),
            level: "raid1".into(),
            raid_disks: 2,
            members: vec![],
            missing: vec![],
            degraded: false,
            size: 0,
            features: vec![],
            reshape: None,
            stripe_cache_size: None,
        };
        assert_eq!(path(&step(Some("home")), "md127"), "/dev/md/home");
        assert_eq!(path(&step(None), "md127"), "/dev/md127");
        for bad in ["a\nmd0 1.2 x /dev/sda", "../x", "..", "a b", ""] {
            assert_eq!(path(&step(Some(bad)), "md126"), "/dev/md126", "{bad:?}");
        }
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
        let env = ExecEnv::under(t.path());
        let u = MdUuid([0xab; 16]);
        set(&env, "md127", "1.2", &u, "/dev/md/x").unwrap();
        let dir = env.run.join("mdadm");
        assert_eq!(
            fs::read_to_string(dir.join("map")).unwrap(),
            "md127 1.2 abababab:abababab:abababab:abababab /dev/md/x\n"
        );
        assert!(!dir.join("map.new").exists() && !dir.join("map.lock").exists());
        assert_eq!(fs::metadata(dir.join("map")).unwrap().mode() & 0o777, 0o600);
        assert!(has(&env, "md127"));
        assert!(!del(&env, "md126").unwrap());
        assert!(del(&env, "md127").unwrap());
        assert_eq!(fs::read_to_string(dir.join("map")).unwrap(), "");
    }
}
