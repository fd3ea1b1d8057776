//! The first thing PID 1 does: mount /proc, /sys, /dev (devtmpfs) and /run (tmpfs, 0755), and
//! make sure fds 0, 1, 2 are the console. Idempotent: a target that is already a mount point
//! is left alone, so running twice (or under a harness that mounted them) changes nothing.
//!
//! /run must be a tmpfs that later moves into the new root: systemd keeps a mounted /run, and
//! mounts a fresh one over a plain directory, losing the udev records we write there
//! (design.md "The hand-off, measured"). No logging here: /dev/kmsg does not exist until
//! devtmpfs is mounted, so the caller logs the returned [`EarlyReport`].

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use nix::mount::{mount, MsFlags};

use super::BootEnv;

/// One early mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EarlyMount {
    pub target: PathBuf,
    pub fstype: &'static str,
    pub flags: MsFlags,
    pub data: Option<&'static str>,
}

/// What the early stage did, for the log once kmsg works.
#[derive(Debug, Default)]
pub struct EarlyReport {
    pub mounted: Vec<String>,
    pub skipped: Vec<String>,
    pub errors: Vec<String>,
}

/// Discovery keeps every device it reads open (objects stacked on it read through it): the
/// soft limit of 1024 descriptors ran out with 1000 LVs active. Raised to the hard limit
/// (4096 for PID 1, often more elsewhere) as systemd does; `engine::MAX_NODES` is 4096.
/// Returns the limits it replaced, for [`restore_fd_limit`].
pub fn raise_fd_limit() -> Option<(u64, u64)> {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).ok()?;
    (soft < hard && setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok()).then_some((soft, hard))
}

/// Puts back what [`raise_fd_limit`] changed (before the real init runs).
pub fn restore_fd_limit(old: Option<(u64, u64)>) {
    if let Some((soft, hard)) = old {
        let _ =
            nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE, soft, hard);
    }
}

/// The mounts, in order (/dev before /run only matters for humans; each is independent).
/// Flags as systemd's `mount_table` in `src/shared/mount-setup.c` uses for them.
pub fn early_mounts(env: &BootEnv) -> Vec<EarlyMount> {
    let nosuid_nodev_noexec = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    vec![
        EarlyMount {
            target: env.proc_dir.clone(),
            fstype: "proc",
            flags: nosuid_nodev_noexec,
            data: None,
        },
        EarlyMount {
            target: env.sys_dir.clone(),
            fstype: "sysfs",
            flags: nosuid_nodev_noexec,
            data: None,
        },
        EarlyMount {
            target: env.dev_dir.clone(),
            fstype: "devtmpfs",
            flags: MsFlags::MS_NOSUID,
            data: Some("mode=0755"),
        },
        EarlyMount {
            target: env.run_dir.clone(),
            fstype: "tmpfs",
            flags: MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
            data: Some("mode=0755"),
        },
    ]
}

/// Whether `p` is a mount point: its device differs from its parent's (the root directory
/// counts as one). A bind mount of the same filesystem is not detected; none exist this early.
pub fn is_mountpoint(p: &Path) -> std::io::Result<bool> {
    let me = fs::symlink_metadata(p)?;
    let parent = fs::symlink_metadata(p.join(".."))?;
    Ok(me.dev() != parent.dev() || me.ino() == parent.ino())
}

/// Mounts what is not mounted yet, then fixes fds 0-2. Never fails: problems are in the
/// report (a missing /proc is survivable; the caller decides).
pub fn run(env: &BootEnv) -> EarlyReport {
    let mut r = EarlyReport::default();
    for m in early_mounts(env) {
        let what = format!("{} on {}", m.fstype, m.target.display());
        if let Err(e) = fs::create_dir_all(&m.target) {
            r.errors.push(format!(
                "Failed to create directory {}: {e}",
                m.target.display()
            ));
            continue;
        }
        match is_mountpoint(&m.target) {
            Ok(true) => {
                r.skipped.push(format!("{what} (already mounted)"));
                continue;
            }
            Ok(false) => {}
            Err(e) => {
                r.errors
                    .push(format!("Failed to stat {}: {e}", m.target.display()));
                continue;
            }
        }
        match mount(Some(m.fstype), &m.target, Some(m.fstype), m.flags, m.data) {
            Ok(()) => r.mounted.push(what),
            Err(e) => r.errors.push(format!("Failed to mount {what}: {e}")),
        }
    }
    if let Err(e) = console_fds(env) {
        r.errors.push(e);
    }
    r
}

/// The kernel opens /dev/console as fds 0-2 before running /init when the initramfs has that
/// node (`console_on_rootfs`). Ours may not, so fill in whichever is missing from the
/// devtmpfs console.
fn console_fds(env: &BootEnv) -> Result<(), String> {
    let fd_dir = env.proc_dir.join("self/fd");
    if !fd_dir.is_dir() {
        // No /proc: cannot tell which are open; leave them.
        return Ok(());
    }
    let missing: Vec<u8> = (0u8..3)
        .filter(|n| fs::symlink_metadata(fd_dir.join(n.to_string())).is_err())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let console_path = env.dev_dir.join("console");
    let console = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&console_path)
        .map_err(|e| format!("Failed to open {}: {e}", console_path.display()))?;
    for n in missing {
        let res = match n {
            0 => nix::unistd::dup2_stdin(&console),
            1 => nix::unistd::dup2_stdout(&console),
            _ => nix::unistd::dup2_stderr(&console),
        };
        res.map_err(|e| format!("Failed to attach fd {n} to {}: {e}", console_path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let env = BootEnv::under(Path::new("/x"));
        let m = early_mounts(&env);
        let v: Vec<(String, &str, Option<&str>)> = m
            .iter()
            .map(|m| (m.target.display().to_string(), m.fstype, m.data))
            .collect();
        assert_eq!(
            v,
            vec![
                ("/x/proc".to_string(), "proc", None),
                ("/x/sys".to_string(), "sysfs", None),
                ("/x/dev".to_string(), "devtmpfs", Some("mode=0755")),
                ("/x/run".to_string(), "tmpfs", Some("mode=0755")),
            ]
        );
        assert!(m[3].flags.contains(MsFlags::MS_NODEV));
        assert!(
            !m[2].flags.contains(MsFlags::MS_NODEV),
            "devtmpfs needs device nodes"
        );
    }

    #[test]
    fn mountpoints() {
        assert!(is_mountpoint(Path::new("/")).unwrap());
        assert!(is_mountpoint(Path::new("/proc")).unwrap());
        let d = std::env::temp_dir().join(format!("evms-early-{}", std::process::id()));
        fs::create_dir_all(d.join("a")).unwrap();
        assert!(!is_mountpoint(&d.join("a")).unwrap());
        assert!(is_mountpoint(&d.join("nope")).is_err());
        fs::remove_dir_all(&d).unwrap();
    }
}
