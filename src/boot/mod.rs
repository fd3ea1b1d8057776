//! PID 1: early mounts, kernel command line, modules, uevent wait, mount, switch_root.

pub mod cmdline;
pub mod early;
pub mod emergency;
mod env;
pub mod kmsg;
pub mod modules;
pub mod mount;
pub mod switch_root;
pub mod uevent;

pub use env::BootEnv;
