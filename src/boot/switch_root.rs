//! The hand-off to the real init, guarded as booster (`init/main.go` `switchRoot`,
//! `deleteRamfs`) and systemd (`src/shared/switch-root.c`) guard it, because this is the one
//! place where a mistake deletes data:
//!
//! 1. [`check`]: we are PID 1; the initramfs root is ramfs or tmpfs (statfs magic); the new
//!    root is a different filesystem (st_dev); the init program exists in the new root and is
//!    executable (absolute symlinks resolved inside the new root, not in the initramfs).
//! 2. [`switch_root`]: every mount private (MS_REC|MS_PRIVATE: the kernel refuses MS_MOVE of
//!    shared mounts); /dev /proc /sys /run moved into the new root (unmounted when the new root
//!    has no directory for them); the initramfs emptied without crossing a mount point;
//!    chdir, `mount(".", "/", MS_MOVE)`, chroot("."), chdir("/") (pivot_root does not work on
//!    the initramfs rootfs); exec init with the arguments the kernel gave us.
//!
//! Every failure reads "Failed to <verb> <object>: <errno>".

use std::convert::Infallible;
use std::ffi::{CString, OsString};
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::unistd::{chdir, chroot, execv, getpid};

use super::BootEnv;

/// `include/uapi/linux/magic.h`.
const RAMFS_MAGIC: u64 = 0x8584_58f6;
const TMPFS_MAGIC: u64 = 0x0102_1994;

/// The kernel's own order when no `init=` is given (`init/main.c` `kernel_init`).
pub const DEFAULT_INITS: &[&str] = &["/sbin/init", "/etc/init", "/bin/init", "/bin/sh"];

/// Resolves `path` (absolute, as seen from inside the new root) to a host path below `root`,
/// following symlinks as the new root would see them: an absolute target restarts at `root`,
/// `..` never climbs above it. At most 40 links (the kernel's MAXSYMLINKS).
pub fn resolve_in_root(root: &Path, path: &str) -> Result<PathBuf, String> {
    let mut pending: Vec<OsString> = components(Path::new(path));
    pending.reverse();
    let mut cur: Vec<OsString> = Vec::new();
    let mut links = 0u32;
    while let Some(c) = pending.pop() {
        if c == ".." {
            cur.pop();
            continue;
        }
        let mut candidate = root.to_path_buf();
        candidate.extend(cur.iter());
        candidate.push(&c);
        match fs::symlink_metadata(&candidate) {
            Ok(m) if m.file_type().is_symlink() => {
                links = links.saturating_add(1);
                if links > 40 {
                    return Err(format!("Failed to resolve {path}: too many symbolic links"));
                }
                let target = fs::read_link(&candidate)
                    .map_err(|e| format!("Failed to read link {}: {e}", candidate.display()))?;
                if target.is_absolute() {
                    cur.clear();
                }
                let mut t = components(&target);
                t.reverse();
                pending.extend(t);
            }
            Ok(_) => cur.push(c),
            Err(e) => {
                return Err(format!("Failed to find {path} in {}: {e}", root.display()));
            }
        }
    }
    let mut out = root.to_path_buf();
    out.extend(cur.iter());
    Ok(out)
}

fn components(p: &Path) -> Vec<OsString> {
    p.components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_os_string()),
            Component::ParentDir => Some(OsString::from("..")),
            _ => None,
        })
        .collect()
}

/// The init to run: `init=` or the kernel's default list; the first that resolves to an
/// executable regular file in the new root. Returns its path as seen from inside.
pub fn find_init(new_root: &Path, init: Option<&str>) -> Result<String, String> {
    let candidates: Vec<&str> = match init {
        Some(i) => vec![i],
        None => DEFAULT_INITS.to_vec(),
    };
    let mut why = Vec::new();
    for c in &candidates {
        if !c.starts_with('/') {
            why.push(format!("{c}: not an absolute path"));
            continue;
        }
        match resolve_in_root(new_root, c) {
            Ok(p) => match fs::metadata(&p) {
                Ok(m) if m.is_file() && m.permissions().mode() & 0o111 != 0 => {
                    return Ok((*c).to_string())
                }
                Ok(m) if m.is_file() => why.push(format!("{c}: not executable")),
                Ok(_) => why.push(format!("{c}: not a regular file")),
                Err(e) => why.push(format!("{c}: {e}")),
            },
            Err(e) => why.push(e),
        }
    }
    Err(format!(
        "No init to run in the new root {} ({}); give init= or fix the root filesystem",
        new_root.display(),
        why.join("; ")
    ))
}

/// The guards, in the order booster checks them. Returns the init path to exec.
pub fn check(env: &BootEnv, init: Option<&str>) -> Result<String, String> {
    let pid = getpid();
    if pid.as_raw() != 1 {
        return Err(format!("Refusing to switch root: not PID 1 (pid {pid})"));
    }
    let st = nix::sys::statfs::statfs(&env.initramfs_root)
        .map_err(|e| format!("Failed to statfs {}: {e}", env.initramfs_root.display()))?;
    let magic: u64 = st.filesystem_type().0.try_into().unwrap_or(0);
    if magic != RAMFS_MAGIC && magic != TMPFS_MAGIC {
        return Err(format!(
            "Refusing to switch root: {} is not ramfs or tmpfs (magic {magic:#x}), so it is not \
             an initramfs that may be emptied",
            env.initramfs_root.display()
        ));
    }
    let old_dev = fs::metadata(&env.initramfs_root)
        .map_err(|e| format!("Failed to stat {}: {e}", env.initramfs_root.display()))?
        .dev();
    let new_dev = fs::metadata(&env.new_root)
        .map_err(|e| format!("Failed to stat {}: {e}", env.new_root.display()))?
        .dev();
    if old_dev == new_dev {
        return Err(format!(
            "Refusing to switch root: {} is not a mounted filesystem (same device as {})",
            env.new_root.display(),
            env.initramfs_root.display()
        ));
    }
    find_init(&env.new_root, init)
}

/// What deleting the initramfs did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Deleted {
    pub removed: u64,
    /// Entries left because they are on another filesystem (mount points).
    pub skipped_mounts: Vec<PathBuf>,
    pub errors: Vec<String>,
}

/// Deletes everything below `dir` that lives on device `dev`, never entering a directory of
/// another device (a mount point: the new root, anything not moved). `dir` itself stays.
/// Depth-bounded; symlinks are removed, never followed.
pub fn delete_tree(dir: &Path, dev: u64) -> Deleted {
    let mut d = Deleted::default();
    delete_children(dir, dev, 0, &mut d);
    d
}

fn delete_children(dir: &Path, dev: u64, depth: u32, d: &mut Deleted) {
    if depth > 64 {
        d.errors.push(format!(
            "Failed to delete {}: nested too deep",
            dir.display()
        ));
        return;
    }
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) => {
            d.errors
                .push(format!("Failed to read directory {}: {e}", dir.display()));
            return;
        }
    };
    for e in rd.flatten() {
        let p = e.path();
        let m = match fs::symlink_metadata(&p) {
            Ok(m) => m,
            Err(err) => {
                d.errors
                    .push(format!("Failed to stat {}: {err}", p.display()));
                continue;
            }
        };
        if m.dev() != dev {
            d.skipped_mounts.push(p);
            continue;
        }
        let res = if m.is_dir() {
            delete_children(&p, dev, depth.saturating_add(1), d);
            fs::remove_dir(&p)
        } else {
            fs::remove_file(&p)
        };
        match res {
            Ok(()) => d.removed = d.removed.saturating_add(1),
            // A directory holding a mount point cannot go; that is expected.
            Err(err) if m.is_dir() && d.skipped_mounts.iter().any(|s| s.starts_with(&p)) => {
                let _ = err;
            }
            Err(err) => d
                .errors
                .push(format!("Failed to delete {}: {err}", p.display())),
        }
    }
}

/// What happened to one API filesystem.
#[derive(Debug, PartialEq, Eq)]
pub enum Moved {
    Moved(PathBuf),
    /// The new root has no directory for it: unmounted (lazily) instead.
    Unmounted(PathBuf),
    /// It was not a mount point here (e.g. its early mount failed).
    NotMounted(PathBuf),
}

/// Moves /dev /proc /sys /run into the new root. Order as systemd's `transfer_table`.
pub fn move_api_mounts(env: &BootEnv) -> Result<Vec<Moved>, String> {
    let mut out = Vec::new();
    for src in [&env.dev_dir, &env.proc_dir, &env.sys_dir, &env.run_dir] {
        let rel = src.strip_prefix(&env.initramfs_root).unwrap_or(src);
        let dst = env.new_root.join(rel);
        if !super::early::is_mountpoint(src).unwrap_or(false) {
            out.push(Moved::NotMounted(src.clone()));
            continue;
        }
        if dst.is_dir() {
            mount(
                Some(src),
                &dst,
                None::<&str>,
                MsFlags::MS_MOVE,
                None::<&str>,
            )
            .map_err(|e| {
                format!(
                    "Failed to move mount {} to {}: {e}",
                    src.display(),
                    dst.display()
                )
            })?;
            out.push(Moved::Moved(dst));
        } else {
            umount2(src, MntFlags::MNT_DETACH)
                .map_err(|e| format!("Failed to unmount {}: {e}", src.display()))?;
            out.push(Moved::Unmounted(src.clone()));
        }
    }
    Ok(out)
}

/// Progress of [`switch_root`], for the log (it cannot log itself once /dev moved without
/// the logger's open fd; the caller logs these before the exec).
pub type Notes = Vec<String>;

/// Does the switch. Returns only on failure; `init` comes from [`check`], `args` are passed
/// after argv[0]. `before_exec` runs last (logging the final stage line).
pub fn switch_root(
    env: &BootEnv,
    init: &str,
    args: &[OsString],
    before_exec: &mut dyn FnMut(&Notes),
) -> Result<Infallible, String> {
    let mut notes = Notes::new();
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(|e| format!("Failed to make mounts private: {e}"))?;
    nix::unistd::sync();
    for m in move_api_mounts(env)? {
        notes.push(format!("{m:?}"));
    }
    let root_dev = fs::symlink_metadata(&env.initramfs_root)
        .map_err(|e| format!("Failed to stat {}: {e}", env.initramfs_root.display()))?
        .dev();
    let d = delete_tree(&env.initramfs_root, root_dev);
    notes.push(format!(
        "deleted {} initramfs entries, kept mount points {:?}",
        d.removed, d.skipped_mounts
    ));
    // Not fatal: leftovers only cost memory.
    notes.extend(d.errors);
    chdir(&env.new_root).map_err(|e| {
        format!(
            "Failed to change directory to {}: {e}",
            env.new_root.display()
        )
    })?;
    mount(Some("."), "/", None::<&str>, MsFlags::MS_MOVE, None::<&str>)
        .map_err(|e| format!("Failed to move {} to /: {e}", env.new_root.display()))?;
    chroot(".").map_err(|e| format!("Failed to change root to {}: {e}", env.new_root.display()))?;
    chdir("/").map_err(|e| format!("Failed to change directory to /: {e}"))?;
    let argv0 = CString::new(init).map_err(|_| format!("Failed to execute {init}: NUL in path"))?;
    let mut argv = vec![argv0.clone()];
    for a in args {
        argv.push(
            CString::new(a.as_bytes())
                .map_err(|_| "Failed to execute init: NUL in an argument".to_string())?,
        );
    }
    before_exec(&notes);
    match execv(&argv0, &argv) {
        Ok(never) => match never {},
        Err(e) => Err(format!("Failed to execute {init}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("evms-sr-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    fn exe(p: &Path) {
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, "#!/bin/sh\n").unwrap();
        fs::set_permissions(p, fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[test]
    fn symlinks_resolve_inside_the_new_root() {
        let r = tmp("resolve");
        exe(&r.join("lib/systemd/systemd"));
        fs::create_dir_all(r.join("sbin")).unwrap();
        // Absolute target: must land in r/lib/..., not in the host's /lib.
        symlink("/lib/systemd/systemd", r.join("sbin/init")).unwrap();
        symlink("../lib", r.join("sbin/lib")).unwrap();
        symlink("/../../lib", r.join("escape")).unwrap();
        assert_eq!(
            resolve_in_root(&r, "/sbin/init").unwrap(),
            r.join("lib/systemd/systemd")
        );
        assert_eq!(
            resolve_in_root(&r, "/sbin/lib/systemd/systemd").unwrap(),
            r.join("lib/systemd/systemd")
        );
        assert_eq!(
            resolve_in_root(&r, "/escape/systemd/systemd").unwrap(),
            r.join("lib/systemd/systemd")
        );
        symlink("loop2", r.join("loop1")).unwrap();
        symlink("loop1", r.join("loop2")).unwrap();
        assert_eq!(
            resolve_in_root(&r, "/loop1").unwrap_err(),
            "Failed to resolve /loop1: too many symbolic links"
        );
        assert!(resolve_in_root(&r, "/nope")
            .unwrap_err()
            .starts_with("Failed to find /nope in "));
        fs::remove_dir_all(&r).unwrap();
    }

    #[test]
    fn init_choice() {
        let r = tmp("init");
        let e = find_init(&r, None).unwrap_err();
        assert!(e.contains("Failed to find /sbin/init in "), "{e}");
        assert!(
            e.ends_with("; give init= or fix the root filesystem"),
            "{e}"
        );
        exe(&r.join("bin/sh"));
        assert_eq!(find_init(&r, None).unwrap(), "/bin/sh");
        fs::create_dir_all(r.join("sbin")).unwrap();
        fs::write(r.join("sbin/init"), "x").unwrap();
        // not executable: skipped, the next default wins
        assert_eq!(find_init(&r, None).unwrap(), "/bin/sh");
        let e = find_init(&r, Some("/sbin/init")).unwrap_err();
        assert!(e.contains("/sbin/init: not executable"), "{e}");
        assert!(find_init(&r, Some("sbin/init"))
            .unwrap_err()
            .contains("not an absolute path"));
        fs::remove_dir_all(&r).unwrap();
    }

    #[test]
    fn delete_stays_on_its_device() {
        let r = tmp("delete");
        exe(&r.join("init"));
        fs::create_dir_all(r.join("lib/modules/6.1/kernel")).unwrap();
        fs::write(r.join("lib/modules/6.1/modules.dep"), "").unwrap();
        symlink("/etc/passwd", r.join("link")).unwrap();
        fs::create_dir_all(r.join("sysroot")).unwrap();
        let dev = fs::metadata(&r).unwrap().dev();
        // A different device number stands for "everything is a mount point": nothing goes.
        let d = delete_tree(&r, dev.wrapping_add(1));
        assert_eq!(d.removed, 0);
        assert_eq!(d.skipped_mounts.len(), 4);
        assert!(r.join("init").exists());
        let d = delete_tree(&r, dev);
        assert!(d.errors.is_empty(), "{:?}", d.errors);
        assert_eq!(d.removed, 8);
        assert_eq!(fs::read_dir(&r).unwrap().count(), 0);
        assert!(
            Path::new("/etc/passwd").exists(),
            "a symlink is removed, not followed"
        );
        fs::remove_dir_all(&r).unwrap();
    }

    #[test]
    fn guards_refuse_outside_pid1() {
        let env = BootEnv::under(&tmp("guard"));
        let e = check(&env, None).unwrap_err();
        assert!(
            e.starts_with("Refusing to switch root: not PID 1 (pid "),
            "{e}"
        );
    }
}
