//! Configuration read from the system, below both `cli` and `boot` (nothing imports `cli`):
//!
//! * [`evms`]: `/etc/evms.conf`, the `activate { include exclude }` filter, with the command
//!   line's `--include`/`--exclude` on top;
//! * [`mdadm`]: `mdadm.conf`'s `ARRAY` lines and `HOMEHOST`, with the host name as mdadm's
//!   fallback.
//!
//! Each takes its file or `/etc` directory as a parameter (the boot reads the initramfs'
//! copy, the command line the system's; tests their own).
//! * [`crypttab`]: `/etc/crypttab`: the names LUKS volumes are opened under, their key files
//!   and options.

pub mod crypttab;
pub mod evms;
pub mod mdadm;

pub use evms::ActivateFilter;
