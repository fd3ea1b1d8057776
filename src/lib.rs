//! evms-activate: volume discovery and activation in user space, for the initramfs.
//!
//! The pipeline runs one way (docs/design.md), each arrow a plain value:
//!
//! ```text
//! source/  sysfs + device nodes | image files      → bytes at offsets (read-only)
//! formats/ pure parsers                             → typed superblocks / tables / metadata
//! probe/   drives the parsers over one device       → claims per device
//! engine/  groups claims                            → object graph (disks → segments → regions → volumes)
//! plan/    graph + selection                        → ordered steps (AssembleMd, CreateDm, ...)
//! exec/    the only code that changes kernel state  → new block devices → back to source/
//! boot/    PID 1: early mounts, cmdline, modules, uevent wait, mount, switch_root
//! ```
//!
//! The full order, leaves (`error`, `ids`, `glob`, `json`, `config`) and `report`, `activate`,
//! `cli` included, is written once in tests/layering.rs, which fails on any import against it.

pub mod activate;
pub mod askpass;
pub mod boot;
pub mod cli;
pub mod config;
pub mod engine;
pub mod error;
pub mod exec;
pub mod formats;
pub mod glob;
pub mod ids;
pub mod json;
pub mod plan;
pub mod probe;
pub mod report;
pub mod source;
pub mod unlock;
