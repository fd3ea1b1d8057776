//! The only code that changes kernel state: MD assembly, DM create/load/resume, nodes, links,
//! and the records the booted system needs.
