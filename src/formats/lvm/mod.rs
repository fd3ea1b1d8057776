//! LVM2 physical volumes and their metadata (formats.md §1), read the way lvm2 2.03.16 reads
//! them. The pure steps, in the order the driver (`probe::lvm`) calls them:
//!
//! ```text
//! sectors 0-3 ──label::parse_label──► PvLabel (pv id, data areas, metadata areas)
//! each mda header (512 B at the disk_locn offset) ──mda::parse_mda_header──► MdaHeader
//!     ──mda::text_pieces──► 1 or 2 (offset, length) pieces of the committed text
//!     pieces read ──mda::check_text──► checksum verified
//! text ──text::parse──► Section tree ──vg::Vg::from_text──► Vg (PVs, LVs, segments)
//! ```
//!
//! `names` builds the device-mapper names and UUIDs lvm2 gives the LVs.

pub mod label;
pub mod mda;
pub mod names;
pub mod raid_sb;
pub mod text;
pub mod vg;

#[cfg(test)]
pub(crate) mod fixtures;

pub use label::{parse_label, DiskLocn, PvLabel};
pub use mda::{check_text, parse_mda_header, text_pieces, MdaHeader, RawLocn};
pub use text::{parse, Item, Section, TextError, Value};
pub use vg::{Area, Flags, Lv, Pv, SegKind, Segment, Vg, VgError};

/// `FormatError::format` for everything in this module.
pub const FORMAT: &str = "lvm2";
