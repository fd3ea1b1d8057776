//! [`BootEnv`]: every path the boot touches, so tests point the same code at a temp tree.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The paths PID 1 works with (design.md: no global state, every system path a parameter).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootEnv {
    /// The initramfs root (`/`): emptied before switch_root.
    pub initramfs_root: PathBuf,
    /// Mount point of proc (`/proc`).
    pub proc_dir: PathBuf,
    /// Mount point of sysfs (`/sys`).
    pub sys_dir: PathBuf,
    /// Mount point of devtmpfs (`/dev`).
    pub dev_dir: PathBuf,
    /// Mount point of the /run tmpfs (`/run`), moved into the new root.
    pub run_dir: PathBuf,
    /// The kernel command line (`/proc/cmdline`).
    pub cmdline: PathBuf,
    /// The kernel log device (`/dev/kmsg`).
    pub kmsg: PathBuf,
    /// `/proc/sys/kernel/printk` (console log level).
    pub printk: PathBuf,
    /// `/lib/modules/$(uname -r)`.
    pub modules_dir: PathBuf,
    /// Modules the generator wants loaded at start (`/etc/evms/modules`).
    pub module_list: PathBuf,
    /// Where root is mounted (`/sysroot`).
    pub new_root: PathBuf,
    /// The emergency shell (`/bin/sh`), used only if present and `rd.shell` is given.
    pub shell: PathBuf,
    /// Our argv after argv[0], as the kernel gave it: passed on to the real init unchanged.
    pub init_args: Vec<OsString>,
}

impl BootEnv {
    /// The real system: paths under `/`, the running kernel's module directory, our argv.
    pub fn system() -> BootEnv {
        let mut env = BootEnv::under(Path::new("/"));
        env.init_args = std::env::args_os().skip(1).collect();
        env
    }

    /// Every path below `root` (tests use a temp dir); no init arguments.
    pub fn under(root: &Path) -> BootEnv {
        let kver = nix::sys::utsname::uname()
            .map(|u| u.release().to_string_lossy().into_owned())
            .unwrap_or_default();
        let p = |rel: &str| root.join(rel);
        BootEnv {
            initramfs_root: root.to_path_buf(),
            proc_dir: p("proc"),
            sys_dir: p("sys"),
            dev_dir: p("dev"),
            run_dir: p("run"),
            cmdline: p("proc/cmdline"),
            kmsg: p("dev/kmsg"),
            printk: p("proc/sys/kernel/printk"),
            modules_dir: p("lib/modules").join(kver),
            module_list: p("etc/evms/modules"),
            new_root: p("sysroot"),
            shell: p("bin/sh"),
            init_args: Vec::new(),
        }
    }
}
