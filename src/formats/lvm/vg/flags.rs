//! lvm2 status and flag words (`lib/format_text/flags.c`, formats.md §1.9): the bits, which
//! words each object may carry in `status` and `flags`, and reading them.

use super::fields::{describe, err};
use super::VgError;
use crate::formats::lvm::text::{Section, Value};
use std::fmt;

/// A set of lvm2 status bits (`metadata-exported.h`), for VGs, PVs and LVs alike.
#[derive(Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Flags(u64);

impl Flags {
    pub const READ: Flags = Flags(1 << 0);
    pub const WRITE: Flags = Flags(1 << 1);
    pub const WRITE_LOCKED: Flags = Flags(1 << 2);
    pub const RESIZEABLE: Flags = Flags(1 << 3);
    pub const EXPORTED: Flags = Flags(1 << 4);
    pub const CLUSTERED: Flags = Flags(1 << 5);
    pub const SHARED: Flags = Flags(1 << 6);
    pub const PVMOVE: Flags = Flags(1 << 7);
    /// VG `PARTIAL`, only found in old backup files.
    pub const PARTIAL: Flags = Flags(1 << 8);
    pub const NOAUTOACTIVATE: Flags = Flags(1 << 9);
    pub const ALLOCATABLE: Flags = Flags(1 << 10);
    pub const MISSING: Flags = Flags(1 << 11);
    pub const FIXED_MINOR: Flags = Flags(1 << 12);
    pub const VISIBLE: Flags = Flags(1 << 13);
    pub const LOCKED: Flags = Flags(1 << 14);
    pub const NOTSYNCED: Flags = Flags(1 << 15);
    pub const REBUILD: Flags = Flags(1 << 16);
    pub const WRITEMOSTLY: Flags = Flags(1 << 17);
    pub const ACTIVATION_SKIP: Flags = Flags(1 << 18);
    pub const ERROR_WHEN_FULL: Flags = Flags(1 << 19);
    pub const CACHE_VOL: Flags = Flags(1 << 20);
    pub const RESHAPE: Flags = Flags(1 << 21);
    pub const RESHAPE_DATA_OFFSET: Flags = Flags(1 << 22);
    pub const RESHAPE_DELTA_DISKS_PLUS: Flags = Flags(1 << 23);
    pub const RESHAPE_DELTA_DISKS_MINUS: Flags = Flags(1 << 24);
    pub const REMOVE_AFTER_RESHAPE: Flags = Flags(1 << 25);
    pub const METADATA_FORMAT: Flags = Flags(1 << 26);
    pub const CROP_METADATA: Flags = Flags(1 << 27);
    pub const CACHE_USES_CACHEVOL: Flags = Flags(1 << 28);

    pub const fn empty() -> Flags {
        Flags(0)
    }

    pub fn contains(self, f: Flags) -> bool {
        self.0 & f.0 == f.0
    }

    pub fn insert(&mut self, f: Flags) {
        self.0 |= f.0;
    }

    pub fn remove(&mut self, f: Flags) {
        self.0 &= !f.0;
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The lvm2 words for the bits set, in table order.
    pub fn words(self) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = Vec::new();
        for (w, f, _) in VG_WORDS.iter().chain(PV_WORDS).chain(LV_WORDS) {
            if self.contains(*f) && !out.contains(w) {
                out.push(w);
            }
        }
        out
    }
}

impl fmt::Debug for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Flags({})", self.words().join("|"))
    }
}

/// Which array a word may appear in (`flags.c`: `STATUS_FLAG`, `COMPATIBLE_FLAG`,
/// `SEGTYPE_FLAG`).
pub(super) const STATUS: u8 = 1;
pub(super) const COMPAT: u8 = 2;
pub(super) const SEGTYPE: u8 = 4;

/// `_vg_flags` (`flags.c`, lvm2 2.03.16).
pub(super) const VG_WORDS: &[(&str, Flags, u8)] = &[
    ("EXPORTED", Flags::EXPORTED, STATUS),
    ("RESIZEABLE", Flags::RESIZEABLE, STATUS),
    ("PVMOVE", Flags::PVMOVE, STATUS),
    ("READ", Flags::READ, STATUS),
    ("WRITE", Flags::WRITE, STATUS),
    ("WRITE_LOCKED", Flags::WRITE_LOCKED, COMPAT),
    ("NOAUTOACTIVATE", Flags::NOAUTOACTIVATE, COMPAT),
    ("CLUSTERED", Flags::CLUSTERED, STATUS),
    ("SHARED", Flags::SHARED, STATUS),
];

/// `_pv_flags`.
pub(super) const PV_WORDS: &[(&str, Flags, u8)] = &[
    ("ALLOCATABLE", Flags::ALLOCATABLE, STATUS),
    ("EXPORTED", Flags::EXPORTED, STATUS),
    ("MISSING", Flags::MISSING, STATUS | COMPAT),
];

/// `_lv_flags`. `CACHE_VOL` is read from either array (it was a status word for a while).
pub(super) const LV_WORDS: &[(&str, Flags, u8)] = &[
    ("READ", Flags::READ, STATUS),
    ("WRITE", Flags::WRITE, STATUS),
    ("WRITE_LOCKED", Flags::WRITE_LOCKED, COMPAT),
    ("FIXED_MINOR", Flags::FIXED_MINOR, STATUS),
    ("VISIBLE", Flags::VISIBLE, STATUS),
    ("PVMOVE", Flags::PVMOVE, STATUS),
    ("LOCKED", Flags::LOCKED, STATUS),
    ("NOTSYNCED", Flags::NOTSYNCED, STATUS),
    ("REBUILD", Flags::REBUILD, STATUS),
    ("RESHAPE", Flags::RESHAPE, SEGTYPE),
    ("RESHAPE_DATA_OFFSET", Flags::RESHAPE_DATA_OFFSET, SEGTYPE),
    (
        "RESHAPE_DELTA_DISKS_PLUS",
        Flags::RESHAPE_DELTA_DISKS_PLUS,
        SEGTYPE,
    ),
    (
        "RESHAPE_DELTA_DISKS_MINUS",
        Flags::RESHAPE_DELTA_DISKS_MINUS,
        SEGTYPE,
    ),
    ("REMOVE_AFTER_RESHAPE", Flags::REMOVE_AFTER_RESHAPE, SEGTYPE),
    ("WRITEMOSTLY", Flags::WRITEMOSTLY, STATUS),
    ("ACTIVATION_SKIP", Flags::ACTIVATION_SKIP, COMPAT),
    ("ERROR_WHEN_FULL", Flags::ERROR_WHEN_FULL, COMPAT),
    ("METADATA_FORMAT", Flags::METADATA_FORMAT, SEGTYPE),
    ("CROP_METADATA", Flags::CROP_METADATA, SEGTYPE),
    ("CACHE_VOL", Flags::CACHE_VOL, STATUS | COMPAT),
    ("CACHE_USES_CACHEVOL", Flags::CACHE_USES_CACHEVOL, SEGTYPE),
    ("NOAUTOACTIVATE", Flags::NOAUTOACTIVATE, COMPAT),
];

/// `read_flags` for one object: the `status` array (required; every word must be a known
/// status or segment-type word, else lvm2 rejects the metadata) and the `flags` array
/// (optional; unknown words are ignored). `vg` admits the old `PARTIAL` status word.
pub(super) fn read_flags(
    sec: &Section,
    table: &[(&str, Flags, u8)],
    vg: bool,
    path: &str,
    sec_off: usize,
) -> Result<(Flags, Flags), VgError> {
    let (sv, s_off) = sec
        .value("status")
        .ok_or_else(|| err(path, sec_off, "status", "none", "a status array"))?;
    let mut status = Flags::empty();
    for w in sv.as_list() {
        let Value::Str(w) = w else {
            return Err(err(path, s_off, "status", describe(w), "strings"));
        };
        match table
            .iter()
            .find(|(word, _, kind)| word == w && kind & (STATUS | SEGTYPE) != 0)
        {
            Some((_, f, _)) => status.insert(*f),
            None if vg && w == "PARTIAL" => status.insert(Flags::PARTIAL),
            None => {
                return Err(err(
                    path,
                    s_off,
                    "status",
                    format!("{w:?}"),
                    "known status words (lib/format_text/flags.c)",
                ))
            }
        }
    }
    let mut flags = Flags::empty();
    if let Some((fv, f_off)) = sec.value("flags") {
        for w in fv.as_list() {
            let Value::Str(w) = w else {
                return Err(err(path, f_off, "flags", describe(w), "strings"));
            };
            if let Some((_, f, _)) = table
                .iter()
                .find(|(word, _, kind)| word == w && kind & COMPAT != 0)
            {
                flags.insert(*f);
            }
        }
    }
    Ok((status, flags))
}
