//! Pure parsers, one file per format: bytes in, typed value or typed [`FormatError`] out.
//! No I/O, no logging. When a format needs more bytes (GPT entries, LVM metadata text) the
//! parser says which (offset, length) it needs next; the driver in `probe/` reads them.
//!
//! [`FormatError`]: crate::error::FormatError

pub mod bytes;
pub mod evms;
pub mod fs;
pub mod gpt;
pub mod luks;
pub mod lvm;
pub mod mbr;
pub mod md;
pub mod part;
pub mod thin;
