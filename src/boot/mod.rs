//! PID 1: early mounts, kernel command line, modules, uevent wait, mount, switch_root.

pub mod cmdline;
pub mod early;
mod env;
pub mod kmsg;
pub mod modules;
pub mod uevent;

pub use env::BootEnv;
