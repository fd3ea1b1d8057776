//! Mounting root at the new-root directory: `rootflags=` split into MS_* flags and the
//! filesystem's data string as util-linux does (`libmount/src/optmap.c` `linux_flags_map`;
//! userspace-only options such as `defaults`, `nofail`, `x-*` are dropped), and the kernel's own
//! fallbacks (`init/do_mounts.c` `mount_block_root`): an unknown type tries every block
//! filesystem the kernel has, and a read-write mount refused with EACCES/EROFS is retried
//! read-only.

use std::path::Path;

use nix::errno::Errno;
use nix::mount::{mount, MsFlags};

/// Flags and data for mount(2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountOptions {
    pub flags: MsFlags,
    /// Comma-separated options for the filesystem itself (`data=journal,errors=remount-ro`).
    pub data: String,
}

/// util-linux's flag options: (name, flag, set?). The `no` forms clear what the plain form
/// sets, except for the flags whose meaning is itself negative (nosuid, nodev, noexec,
/// noatime, nodiratime).
const FLAG_OPTIONS: &[(&str, MsFlags, bool)] = &[
    ("ro", MsFlags::MS_RDONLY, true),
    ("rw", MsFlags::MS_RDONLY, false),
    ("exec", MsFlags::MS_NOEXEC, false),
    ("noexec", MsFlags::MS_NOEXEC, true),
    ("suid", MsFlags::MS_NOSUID, false),
    ("nosuid", MsFlags::MS_NOSUID, true),
    ("dev", MsFlags::MS_NODEV, false),
    ("nodev", MsFlags::MS_NODEV, true),
    ("sync", MsFlags::MS_SYNCHRONOUS, true),
    ("async", MsFlags::MS_SYNCHRONOUS, false),
    ("dirsync", MsFlags::MS_DIRSYNC, true),
    ("mand", MsFlags::MS_MANDLOCK, true),
    ("nomand", MsFlags::MS_MANDLOCK, false),
    ("atime", MsFlags::MS_NOATIME, false),
    ("noatime", MsFlags::MS_NOATIME, true),
    ("diratime", MsFlags::MS_NODIRATIME, false),
    ("nodiratime", MsFlags::MS_NODIRATIME, true),
    ("relatime", MsFlags::MS_RELATIME, true),
    ("norelatime", MsFlags::MS_RELATIME, false),
    ("strictatime", MsFlags::MS_STRICTATIME, true),
    ("nostrictatime", MsFlags::MS_STRICTATIME, false),
    ("lazytime", MsFlags::MS_LAZYTIME, true),
    ("nolazytime", MsFlags::MS_LAZYTIME, false),
    ("iversion", MsFlags::MS_I_VERSION, true),
    ("noiversion", MsFlags::MS_I_VERSION, false),
    ("silent", MsFlags::MS_SILENT, true),
    ("loud", MsFlags::MS_SILENT, false),
];

/// Options only mount(8) and fstab readers understand; never passed to the kernel.
fn userspace_only(o: &str) -> bool {
    matches!(
        o,
        "defaults"
            | "auto"
            | "noauto"
            | "nofail"
            | "user"
            | "nouser"
            | "users"
            | "owner"
            | "noowner"
            | "group"
            | "nogroup"
            | "_netdev"
    ) || o.starts_with("x-")
        || o.starts_with("X-")
        || o.starts_with("comment=")
}

impl MountOptions {
    /// From the `ro`/`rw` parameters (`read_only`) and `rootflags=`; options in rootflags
    /// win over ro/rw, as util-linux applies them left to right.
    pub fn parse(read_only: bool, rootflags: Option<&str>) -> MountOptions {
        let mut flags = if read_only {
            MsFlags::MS_RDONLY
        } else {
            MsFlags::empty()
        };
        let mut data: Vec<&str> = Vec::new();
        for o in rootflags.unwrap_or("").split(',').filter(|o| !o.is_empty()) {
            if let Some(&(_, f, set)) = FLAG_OPTIONS.iter().find(|(n, _, _)| *n == o) {
                flags.set(f, set);
            } else if !userspace_only(o) {
                data.push(o);
            }
        }
        MountOptions {
            flags,
            data: data.join(","),
        }
    }

    pub fn read_only(&self) -> bool {
        self.flags.contains(MsFlags::MS_RDONLY)
    }
}

/// Block-device filesystems the kernel knows now (/proc/filesystems lines without `nodev`).
pub fn block_filesystems(proc_filesystems: &str) -> Vec<String> {
    proc_filesystems
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            match (w.next(), w.next()) {
                (Some("nodev"), _) => None,
                (Some(t), None) => Some(t.to_string()),
                _ => None,
            }
        })
        .collect()
}

/// How root ended up mounted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mounted {
    pub fstype: String,
    pub read_only: bool,
}

/// Mounts `dev` on `target`, trying `fstypes` in order (a known type, `rootfstype=`'s list,
/// or every block filesystem from /proc/filesystems). Err: what was tried and why it failed.
pub fn mount_root(
    dev: &Path,
    target: &Path,
    fstypes: &[String],
    opts: &MountOptions,
) -> Result<Mounted, String> {
    if fstypes.is_empty() {
        return Err(format!(
            "Failed to mount {} on {}: no filesystem type to try (the kernel lists no block \
             filesystem in /proc/filesystems; give rootfstype= and ship its module)",
            dev.display(),
            target.display()
        ));
    }
    std::fs::create_dir_all(target)
        .map_err(|e| format!("Failed to create directory {}: {e}", target.display()))?;
    let data = (!opts.data.is_empty()).then_some(opts.data.as_str());
    // Several guesses: keep the kernel quiet about the wrong ones, as it does for itself.
    let silent = if fstypes.len() > 1 {
        MsFlags::MS_SILENT
    } else {
        MsFlags::empty()
    };
    let mut tried = Vec::new();
    let mut flags = opts.flags | silent;
    loop {
        for t in fstypes {
            let r = crate::exec::timing::timed(crate::exec::timing::Call::Mount, || {
                mount(Some(dev), target, Some(t.as_str()), flags, data)
            });
            match r {
                Ok(()) => {
                    return Ok(Mounted {
                        fstype: t.clone(),
                        read_only: flags.contains(MsFlags::MS_RDONLY),
                    })
                }
                // Wrong type (EINVAL), or no read-write access: try the next one.
                Err(e @ (Errno::EINVAL | Errno::EACCES | Errno::EROFS | Errno::ENODEV)) => {
                    tried.push(format!("{t}: {e}"))
                }
                Err(e) => {
                    return Err(format!(
                        "Failed to mount {} on {} as {t}: {e}",
                        dev.display(),
                        target.display()
                    ))
                }
            }
        }
        if flags.contains(MsFlags::MS_RDONLY) {
            break;
        }
        flags |= MsFlags::MS_RDONLY;
        tried.push("retrying read-only".into());
    }
    Err(format!(
        "Failed to mount {} on {}: {} (data '{}')",
        dev.display(),
        target.display(),
        tried.join("; "),
        opts.data
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rootflags_split() {
        let o = MountOptions::parse(
            true,
            Some("rw,noatime,nodev,data=journal,defaults,nofail,x-systemd.device-timeout=5,errors=remount-ro,lazytime"),
        );
        assert_eq!(
            o.flags,
            MsFlags::MS_NOATIME | MsFlags::MS_NODEV | MsFlags::MS_LAZYTIME
        );
        assert_eq!(o.data, "data=journal,errors=remount-ro");
        assert!(!o.read_only());
        let o = MountOptions::parse(false, Some("ro,nosuid,noexec,relatime,norelatime,subvol=@"));
        assert_eq!(
            o.flags,
            MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC
        );
        assert_eq!(o.data, "subvol=@");
        let o = MountOptions::parse(true, None);
        assert_eq!(o.flags, MsFlags::MS_RDONLY);
        assert_eq!(o.data, "");
        let o = MountOptions::parse(false, Some(",,exec,suid,dev,async,atime,loud"));
        assert_eq!(o.flags, MsFlags::empty());
    }

    #[test]
    fn proc_filesystems() {
        let text = "nodev\tsysfs\nnodev\ttmpfs\n\text4\nnodev\tproc\n\tvfat\n\txfs\n";
        assert_eq!(block_filesystems(text), vec!["ext4", "vfat", "xfs"]);
    }

    #[test]
    fn no_types_is_a_clear_error() {
        let e = mount_root(
            Path::new("/dev/vda"),
            Path::new("/nonexistent/x"),
            &[],
            &MountOptions::parse(true, None),
        )
        .unwrap_err();
        assert!(
            e.starts_with("Failed to mount /dev/vda on /nonexistent/x: no filesystem type"),
            "{e}"
        );
    }
}
