//! Device nodes and symlinks under /dev, made the way libdm, lvm2 and mdadm make them when no
//! udev runs, but with relative link targets as udev makes them (so the links stay valid
//! when /dev is moved into the new root).

use crate::source::sysfs::DevNo;
use nix::sys::stat::{makedev, mknod, Mode, SFlag};
use std::fs;
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Mode, owner and group of `/dev/mapper/NAME` when libdm makes the node itself. Debian's lvm2
/// is configured `--with-device-uid=0 --with-device-gid=6 --with-device-mode=0660`
/// (libdm `_add_dev_node`, `libdm-common.c`; upstream's default is 0600 root:root).
pub(crate) const DM_NODE_MODE: u32 = 0o660;
pub(crate) const DM_NODE_UID: u32 = 0;
pub(crate) const DM_NODE_GID: u32 = 6;

/// Mode of `/dev/mdN` when mdadm makes it (`create_mddev`, `mdopen.c`: `S_IFBLK|0600`, then
/// the mdadm.conf CREATE mode; Debian ships `CREATE owner=root group=disk mode=0660`).
pub(crate) const MD_NODE_MODE: u32 = 0o660;
pub(crate) const MD_NODE_GID: u32 = 6;

/// What an `ensure_*` call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    Unchanged,
    Created,
    /// A stale node or link (other device, other target) was replaced.
    Replaced,
}

/// A path relative to /dev that may name a link: no leading `/`, every component
/// [`valid_component`]. Plan data must not escape /dev, and a link made inside a directory
/// (`md/NAME`, `VG/LV`) stays in it. The plan already refuses unsafe names read from disk
/// (`engine::names::unsafe_name`); this is the second guard, at the only code that writes.
pub(crate) fn valid_rel_path(p: &str) -> bool {
    !p.is_empty() && !p.starts_with('/') && p.split('/').all(valid_component)
}

/// One path component under /dev: not empty, `.` or `..`, no `/`, no NUL or other control
/// character, at most NAME_MAX (255) bytes.
pub(crate) fn valid_component(c: &str) -> bool {
    !c.is_empty()
        && c != "."
        && c != ".."
        && c.len() <= 255
        && !c.contains('/')
        && !c.chars().any(char::is_control)
}

/// The relative target for a link at `link` pointing to `target`, both relative to /dev:
/// `vg0/root` → `mapper/vg0-root` gives `../mapper/vg0-root`.
pub(crate) fn relative_target(link: &str, target: &str) -> Option<String> {
    if !valid_rel_path(link) || !valid_rel_path(target) {
        return None;
    }
    let depth = link.split('/').count() - 1;
    Some(format!("{}{}", "../".repeat(depth), target))
}

/// Creates `dev/link` → `target` (relative, as computed by [`relative_target`]), making the
/// directories on the way. An existing link with the same target is left alone; a link with
/// another target is replaced (what lvm2's `_mk_link` does with a stale link); anything that
/// is not a link is never touched.
pub(crate) fn ensure_symlink(dev: &Path, link: &str, target_in_dev: &str) -> io::Result<Change> {
    let target = relative_target(link, target_in_dev).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("link {link} → {target_in_dev}: not a plain path inside /dev"),
        )
    })?;
    let path = dev.join(link);
    // Made first, looked at only when something is there: on a fresh /dev (every LV of a
    // boot) the lstat before it found nothing, one call per link.
    match in_new_dirs(&path, || std::os::unix::fs::symlink(&target, &path)) {
        Ok(()) => return Ok(Change::Created),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    match fs::symlink_metadata(&path) {
        Ok(m) if m.file_type().is_symlink() => {
            if fs::read_link(&path)? == Path::new(&target) {
                return Ok(Change::Unchanged);
            }
            fs::remove_file(&path)?;
            std::os::unix::fs::symlink(&target, &path)?;
            Ok(Change::Replaced)
        }
        Ok(_) => Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{} exists and is not a symlink", path.display()),
        )),
        // Removed since symlink() found it: make it again.
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            in_new_dirs(&path, || std::os::unix::fs::symlink(&target, &path))?;
            Ok(Change::Created)
        }
        Err(e) => Err(e),
    }
}

/// Runs `make` (which creates `path`); when the directories on the way are missing, makes them
/// and runs it again. Asking first cost two calls per node or link (mkdir, stat), made once.
fn in_new_dirs(path: &Path, make: impl Fn() -> io::Result<()>) -> io::Result<()> {
    match make() {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent)?;
            }
            make()
        }
        r => r,
    }
}

pub(crate) fn devno_of_rdev(rdev: u64) -> DevNo {
    DevNo {
        major: nix::sys::stat::major(rdev) as u32,
        minor: nix::sys::stat::minor(rdev) as u32,
    }
}

fn rdev_of(devno: DevNo) -> nix::libc::dev_t {
    makedev(u64::from(devno.major), u64::from(devno.minor))
}

/// True when `path` (following links) is the block device `devno`.
pub(crate) fn is_node_of(path: &Path, devno: DevNo) -> bool {
    fs::metadata(path)
        .map(|m| m.file_type().is_block_device() && devno_of_rdev(m.rdev()) == devno)
        .unwrap_or(false)
}

/// Makes the block node `path` for `devno` with exactly `mode`, `uid`, `gid` (umask does not
/// apply). A node or link already resolving to `devno` is left alone; a stale block node or
/// link for another device is replaced (libdm `_add_dev_node` does the same); a regular file
/// or directory is never touched.
pub(crate) fn ensure_block_node(
    path: &Path,
    devno: DevNo,
    mode: u32,
    uid: u32,
    gid: u32,
) -> io::Result<Change> {
    // Made first, looked at only when something is there (EEXIST): the stat and lstat before
    // it found nothing for every node of a boot, two calls per DM device.
    let make = || {
        mknod(
            path,
            SFlag::S_IFBLK,
            Mode::from_bits_truncate(mode),
            rdev_of(devno),
        )
        .map_err(io::Error::from)
    };
    match in_new_dirs(path, make) {
        Ok(()) => return finish_node(path, mode, uid, gid, Change::Created),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    if is_node_of(path, devno) {
        return Ok(Change::Unchanged);
    }
    let mut change = Change::Created;
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() || m.file_type().is_block_device() => {
            fs::remove_file(path)?;
            change = Change::Replaced;
        }
        Ok(_) => {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} exists and is not a device node", path.display()),
            ))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    in_new_dirs(path, make)?;
    finish_node(path, mode, uid, gid, change)
}

/// Mode exactly `mode` (mknod's is masked by the umask), then owner and group.
fn finish_node(path: &Path, mode: u32, uid: u32, gid: u32, change: Change) -> io::Result<Change> {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
    std::os::unix::fs::chown(path, Some(uid), Some(gid))?;
    Ok(change)
}

/// Removes `path` when it is a block node or a link that resolves to `devno`, or a dangling
/// link whose target names `target_hint` (what is left of our links once the device went).
pub(crate) fn remove_if_ours(path: &Path, devno: DevNo, target_hint: Option<&str>) -> bool {
    let Ok(m) = fs::symlink_metadata(path) else {
        return false;
    };
    let ours = if is_node_of(path, devno) {
        m.file_type().is_symlink() || m.file_type().is_block_device()
    } else if m.file_type().is_symlink() && !path.exists() {
        match (fs::read_link(path), target_hint) {
            (Ok(t), Some(h)) => t.file_name().is_some_and(|n| n == h),
            _ => false,
        }
    } else {
        false
    };
    ours && fs::remove_file(path).is_ok()
}

/// Every symlink below `root` (at most `depth` levels) that resolves to block device `devno`.
pub(crate) fn links_to(root: &Path, devno: DevNo, depth: u32) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = fs::read_dir(root) else {
        return out;
    };
    let mut entries: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        let Ok(m) = fs::symlink_metadata(&p) else {
            continue;
        };
        if m.file_type().is_symlink() {
            if is_node_of(&p, devno) {
                out.push(p);
            }
        } else if m.is_dir() && depth > 0 {
            out.extend(links_to(&p, devno, depth - 1));
        }
    }
    out
}

/// Removes the now empty directories from `dir` up to (not including) `stop`, as lvm2 removes
/// an empty /dev/VG (`fs.c: _rm_dir`).
pub(crate) fn remove_empty_dirs(dir: &Path, stop: &Path) {
    let mut d = dir.to_path_buf();
    while d != stop && d.starts_with(stop) {
        if fs::remove_dir(&d).is_err() {
            break;
        }
        match d.parent() {
            Some(p) => d = p.to_path_buf(),
            None => break,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Minimal temp dir (no tempfile crate).
    pub(crate) struct TempDir(PathBuf);
    impl TempDir {
        pub(crate) fn new() -> TempDir {
            use std::sync::atomic::{AtomicUsize, Ordering};
            static N: AtomicUsize = AtomicUsize::new(0);
            let p = std::env::temp_dir().join(format!(
                "evms-exec-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::SeqCst)
            ));
            fs::create_dir_all(&p).unwrap();
            TempDir(p)
        }
        pub(crate) fn path(&self) -> &Path {
            &self.0
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn link_targets_are_relative_to_the_link() {
        assert_eq!(
            relative_target("vg0/root", "mapper/vg0-root").as_deref(),
            Some("../mapper/vg0-root")
        );
        assert_eq!(
            relative_target("evms/lvm2/vg0/root", "mapper/vg0-root").as_deref(),
            Some("../../../mapper/vg0-root")
        );
        assert_eq!(
            relative_target("md/home", "md127").as_deref(),
            Some("../md127")
        );
        assert_eq!(relative_target("../etc/x", "md127"), None);
        assert_eq!(relative_target("/etc/x", "md127"), None);
        assert_eq!(relative_target("vg0//root", "md127"), None);
        assert_eq!(relative_target("vg0/root", ""), None);
        assert_eq!(relative_target("md/..", "md127"), None);
        assert_eq!(relative_target("md/a\nb", "md127"), None);
        assert_eq!(relative_target("md/a\0b", "md127"), None);
        assert_eq!(
            relative_target(&format!("md/{}", "a".repeat(256)), "md127"),
            None
        );
        assert_eq!(relative_target("vg0/root", "mapper/../../etc"), None);
        assert!(!valid_component("a/b"));
        assert!(valid_component("vg0-root"));
    }

    #[test]
    fn symlinks_are_idempotent_and_never_clobber_files() {
        let t = TempDir::new();
        let dev = t.path();
        assert_eq!(
            ensure_symlink(dev, "evms/lvm2/vg0/root", "mapper/vg0-root").unwrap(),
            Change::Created
        );
        assert_eq!(
            fs::read_link(dev.join("evms/lvm2/vg0/root")).unwrap(),
            Path::new("../../../mapper/vg0-root")
        );
        assert_eq!(
            ensure_symlink(dev, "evms/lvm2/vg0/root", "mapper/vg0-root").unwrap(),
            Change::Unchanged
        );
        assert_eq!(
            ensure_symlink(dev, "evms/lvm2/vg0/root", "mapper/vg0-other").unwrap(),
            Change::Replaced
        );
        fs::write(dev.join("evms/file"), b"x").unwrap();
        let e = ensure_symlink(dev, "evms/file", "md127").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(dev.join("evms/file")).unwrap(), b"x");
        // Empty directories go, up to the stop directory.
        fs::remove_file(dev.join("evms/lvm2/vg0/root")).unwrap();
        remove_empty_dirs(&dev.join("evms/lvm2/vg0"), &dev.join("evms"));
        assert!(!dev.join("evms/lvm2").exists());
        assert!(dev.join("evms").exists());
    }

    /// Needs root for mknod (the project's tests run as root; otherwise EPERM is the expected
    /// answer and is checked as such).
    #[test]
    fn block_nodes_get_exact_mode_owner_and_number() {
        let t = TempDir::new();
        let p = t.path().join("mapper/vg0-root");
        let d = DevNo {
            major: 253,
            minor: 4,
        };
        let r = ensure_block_node(&p, d, DM_NODE_MODE, DM_NODE_UID, DM_NODE_GID);
        if !nix::unistd::geteuid().is_root() {
            assert_eq!(r.unwrap_err().raw_os_error(), Some(nix::libc::EPERM));
            return;
        }
        assert_eq!(r.unwrap(), Change::Created);
        let m = fs::symlink_metadata(&p).unwrap();
        assert!(m.file_type().is_block_device());
        assert_eq!(m.mode() & 0o7777, 0o660);
        assert_eq!((m.uid(), m.gid()), (0, 6));
        assert_eq!(devno_of_rdev(m.rdev()), d);
        assert_eq!(
            ensure_block_node(&p, d, DM_NODE_MODE, 0, 6).unwrap(),
            Change::Unchanged
        );
        let d2 = DevNo {
            major: 253,
            minor: 5,
        };
        assert_eq!(
            ensure_block_node(&p, d2, DM_NODE_MODE, 0, 6).unwrap(),
            Change::Replaced
        );
        // Links resolving to the node are found; removal takes node and links.
        ensure_symlink(t.path(), "vg0/root", "mapper/vg0-root").unwrap();
        let links = links_to(t.path(), d2, 3);
        assert_eq!(links, [t.path().join("vg0/root")]);
        assert!(remove_if_ours(&t.path().join("vg0/root"), d2, None));
        assert!(!remove_if_ours(&p, d, None));
        assert!(remove_if_ours(&p, d2, None));
        assert!(!p.exists());
        // A dangling link to the removed node is recognised by its target name.
        ensure_symlink(t.path(), "vg0/root", "mapper/vg0-root").unwrap();
        assert!(!remove_if_ours(
            &t.path().join("vg0/root"),
            d2,
            Some("vg0-other")
        ));
        assert!(remove_if_ours(
            &t.path().join("vg0/root"),
            d2,
            Some("vg0-root")
        ));
    }
}
