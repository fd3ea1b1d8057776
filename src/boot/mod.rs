//! PID 1: early mounts, kernel command line, modules, uevent wait, mount, switch_root.

pub mod cmdline;
