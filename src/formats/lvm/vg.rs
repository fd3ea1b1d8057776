//! The VG model: everything activation needs from one copy of the metadata text, checked the
//! way lvm2 checks it on import (`lib/format_text/import_vsn1.c`, the segment types'
//! `text_import` in `lib/*/`, `lib/format_text/flags.c`, `lib/metadata/merge.c`), and
//! stricter where lvm2 would silently truncate or misread (values outside the 32-bit fields
//! lvm2 stores them in, stripes that do not divide a segment, LV references that form a
//! cycle). Field meanings and units: formats.md §1.8, status words: §1.9.
//!
//! [`Vg::from_text`] takes the parsed root section. Every error names the item (a path such as
//! `my-vg/logical_volumes/root/segment1/stripes`) and the byte offset of its key in the text,
//! which the driver turns into a device offset.

use super::text::{Item, Section, Value};
use crate::ids::LvmId;
use std::collections::{HashMap, HashSet};
use std::fmt;

/// `CONTENTS_VALUE` (`import-export.h`).
pub const CONTENTS_VALUE: &str = "Text Format Volume Group";
/// `FORMAT_VERSION_VALUE`.
pub const FORMAT_VERSION_VALUE: i64 = 1;
/// `NAME_LEN` (`lib/misc/lvm-string.h`): names are at most 127 bytes.
pub const NAME_LEN: usize = 128;
/// Bounds on what one VG may hold; metadata claiming more is refused, not allocated.
pub const MAX_PVS: usize = 16384;
pub const MAX_LVS: usize = 16384;
pub const MAX_SEGMENTS_PER_LV: usize = 16384;
/// Areas (stripes, mirror legs, RAID images) in one segment. lvm2 allows at most 128 stripes
/// (`MAX_STRIPES`) and 64 RAID images; the kernel's dm-raid at most 253.
pub const MAX_AREAS: u64 = 256;
/// `DM_THIN_MIN_DATA_BLOCK_SIZE` / `DM_THIN_MAX_DATA_BLOCK_SIZE` (sectors).
pub const THIN_MIN_CHUNK: u32 = 128;
pub const THIN_MAX_CHUNK: u32 = 2_097_152;
/// `DM_THIN_MAX_DEVICE_ID`.
pub const THIN_MAX_DEVICE_ID: u32 = (1 << 24) - 1;
/// Largest minor number the kernel accepts (20 bits, `MINORBITS`).
pub const MAX_MINOR: u32 = 0xF_FFFF;

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
const STATUS: u8 = 1;
const COMPAT: u8 = 2;
const SEGTYPE: u8 = 4;

/// `_vg_flags` (`flags.c`, lvm2 2.03.16).
const VG_WORDS: &[(&str, Flags, u8)] = &[
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
const PV_WORDS: &[(&str, Flags, u8)] = &[
    ("ALLOCATABLE", Flags::ALLOCATABLE, STATUS),
    ("EXPORTED", Flags::EXPORTED, STATUS),
    ("MISSING", Flags::MISSING, STATUS | COMPAT),
];

/// `_lv_flags`. `CACHE_VOL` is read from either array (it was a status word for a while).
const LV_WORDS: &[(&str, Flags, u8)] = &[
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

/// An error in the metadata content: the item's path, the byte offset of its key in the
/// text, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VgError {
    pub path: String,
    pub offset: usize,
    pub field: &'static str,
    pub found: String,
    pub expected: String,
}

impl fmt::Display for VgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The path holds names from the text: escaped, so none reaches a log raw.
        write!(
            f,
            "{}: {}: found {}, expected {}",
            self.path.escape_debug(),
            self.field,
            self.found,
            self.expected
        )
    }
}

impl std::error::Error for VgError {}

/// The VG, as lvm2 imports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vg {
    pub name: String,
    pub id: LvmId,
    pub seqno: u64,
    /// Status words; `WRITE_LOCKED` from `flags` is mapped to `WRITE` here, as lvm2 does.
    pub status: Flags,
    /// Known compatible flags (unknown ones are ignored, as lvm2 does).
    pub flags: Flags,
    /// `system_id`; an empty string is treated as none, as lvm2 does.
    pub system_id: Option<String>,
    pub lock_type: Option<String>,
    pub lock_args: Option<String>,
    /// Sectors per extent.
    pub extent_size: u64,
    pub max_lv: u32,
    pub max_pv: u32,
    pub metadata_copies: Option<u32>,
    pub tags: Vec<String>,
    pub pvs: Vec<Pv>,
    /// In metadata order.
    pub lvs: Vec<Lv>,
    /// Checksum and size (with NUL) of the text this came from; filled in by the driver.
    pub checksum: u32,
    pub text_size: u64,
    /// Things lvm2 accepts with a warning (an unusable fixed minor, say).
    pub warnings: Vec<VgError>,
    lv_index: LvIndex,
}

/// LV name → position in [`Vg::lvs`], made on import: the engine and the plan look LVs up by
/// name for every LV, which a linear search made quadratic in the number of LVs.
/// Sorted by name, for a binary search (a slice keeps the VG, part of every probe result,
/// small).
#[derive(Clone, Default, PartialEq, Eq)]
struct LvIndex(Box<[(String, usize)]>);

impl fmt::Debug for LvIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LvIndex({} names)", self.0.len())
    }
}

/// A PV as the VG metadata lists it (`physical_volumes { pvN { ... } }`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pv {
    /// Section key (`pv0`), the local name `stripes` lists refer to.
    pub key: String,
    pub id: LvmId,
    /// `device`: a hint only; PVs are matched by id.
    pub device_hint: Option<String>,
    pub status: Flags,
    pub flags: Flags,
    /// Sectors.
    pub dev_size: Option<u64>,
    /// Sectors: offset of extent 0 on the PV.
    pub pe_start: u64,
    /// Extents.
    pub pe_count: u64,
    /// Bootloader area (sectors), both or neither.
    pub ba: Option<(u64, u64)>,
    pub tags: Vec<String>,
}

impl Pv {
    /// `MISSING` in `status` or `flags`.
    pub fn missing(&self) -> bool {
        self.status.contains(Flags::MISSING) || self.flags.contains(Flags::MISSING)
    }
}

/// `read_ahead` (`import_vsn1.c`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadAhead {
    /// Not written: the configured default (`activation/readahead`, normally auto).
    Default,
    /// Written as 0.
    Auto,
    /// Written as -1.
    None,
    Sectors(u32),
}

/// An LV.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lv {
    pub name: String,
    pub id: LvmId,
    /// Status words (with `+FLAG` segment type suffixes added, as lvm2 does).
    pub status: Flags,
    pub flags: Flags,
    /// `lv_is_visible()`: the `VISIBLE` flag, except for snapshots (formats.md §1.8).
    pub visible: bool,
    /// No `WRITE` (after mapping `WRITE_LOCKED`): activated read-only.
    pub read_only: bool,
    pub activation_skip: bool,
    pub no_autoactivate: bool,
    /// `(major, minor)` when `FIXED_MINOR` and a usable minor are given; the kernel uses only
    /// the minor (major 0 = lvm2 did not know the device-mapper major when it wrote it).
    pub fixed_minor: Option<(u32, u32)>,
    pub read_ahead: ReadAhead,
    pub tags: Vec<String>,
    pub creation_time: Option<u64>,
    pub creation_host: Option<String>,
    pub lock_args: Option<String>,
    /// In LV extent order, contiguous from extent 0.
    pub segments: Vec<Segment>,
    /// Σ `extent_count`.
    pub extent_count: u64,
}

impl Lv {
    /// The first segment whose type this program does not know (or that carries an unknown
    /// `+FLAG`): the LV is incompatible with this reader, as with an old lvm2.
    pub fn unknown_segment(&self) -> Option<&Segment> {
        self.segments
            .iter()
            .find(|s| matches!(s.kind, SegKind::Unknown { .. }))
    }
}

/// One segment of an LV.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Section key (`segment1`).
    pub key: String,
    pub start_extent: u64,
    pub extent_count: u64,
    /// `type` as written, `+FLAG` suffixes included.
    pub type_name: String,
    /// The suffixes' bits.
    pub type_flags: Flags,
    pub reshape_count: u32,
    pub tags: Vec<String>,
    pub kind: SegKind,
}

/// Where an area's extents are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Area {
    /// `start_extent` on the PV with this section key.
    Pv { pv_key: String, start_extent: u64 },
    /// `start_extent` on another LV of the VG.
    Lv { lv: String, start_extent: u64 },
}

/// `discards` of a thin pool (`set_pool_discards`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Discards {
    /// `"ignore"`, and the value when the key is absent.
    Ignore,
    NoPassdown,
    Passdown,
}

/// A pending thin-pool message (`messageN { create = "lv" }` / `{ delete = id }`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ThinMessage {
    Create(String),
    Delete(u32),
}

/// Cache parameters, on a cache-pool segment or (with a cachevol) on the cache segment.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CacheParams {
    /// Sectors.
    pub chunk_size: Option<u32>,
    pub cache_mode: Option<String>,
    pub policy: Option<String>,
    pub metadata_format: Option<u32>,
    /// `policy_settings { key = value }`.
    pub policy_settings: Vec<(String, Value)>,
    pub cleaner: bool,
    /// Cachevol layout (sectors) and the ids lvm2 gives its two parts.
    pub metadata_start: Option<u64>,
    pub metadata_len: Option<u64>,
    pub data_start: Option<u64>,
    pub data_len: Option<u64>,
    pub metadata_id: Option<String>,
    pub data_id: Option<String>,
}

/// The segment types lvm2 2.03.16 writes, with their parameters (units: sectors unless
/// noted). LV references are LV names of the same VG, checked to exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SegKind {
    /// `striped` (and `linear`): `extent_count / areas.len()` extents per area.
    Striped {
        stripe_size: Option<u64>,
        areas: Vec<Area>,
    },
    /// `raid1`, `raid4`, `raid5*`, `raid6*`, `raid10*`.
    Raid {
        level: String,
        region_size: Option<u32>,
        stripe_size: Option<u32>,
        /// As lvm2 computes it when absent (`lv_raid_data_copies`).
        data_copies: u32,
        writebehind: Option<u32>,
        min_recovery_rate: Option<u32>,
        max_recovery_rate: Option<u32>,
        /// Some(0) when written as 0 (lvm2 keeps "set to 0" apart from "not set").
        data_offset: Option<u32>,
        /// Metadata sub-LV per image, `None` where the image has none.
        metas: Vec<Option<String>>,
        images: Vec<String>,
    },
    /// `raid0` (images only) and `raid0_meta` (with metadata sub-LVs).
    Raid0 {
        level: String,
        stripe_size: Option<u32>,
        metas: Vec<Option<String>>,
        images: Vec<String>,
    },
    /// Legacy `mirror` (and pvmove).
    Mirror {
        /// `mirror_count` (= `images.len()`).
        mirror_count: u32,
        region_size: Option<u32>,
        log: Option<String>,
        /// `extents_moved` of a pvmove.
        extents_moved: Option<u32>,
        images: Vec<Area>,
    },
    ThinPool {
        metadata: String,
        pool: String,
        transaction_id: u64,
        chunk_size: u32,
        discards: Discards,
        zero_new_blocks: bool,
        crop_metadata: Option<u32>,
        messages: Vec<ThinMessage>,
    },
    Thin {
        pool: String,
        transaction_id: u64,
        device_id: u32,
        origin: Option<String>,
        external_origin: Option<String>,
        merge: Option<String>,
    },
    /// Old-style COW snapshot (lives in a hidden `snapshotN` LV).
    Snapshot {
        chunk_size: u32,
        origin: String,
        cow_store: String,
        /// Written as `merging_store`.
        merging: bool,
    },
    Cache {
        /// The cache pool, or the cachevol (`+CACHE_USES_CACHEVOL`).
        pool: String,
        origin: String,
        params: CacheParams,
    },
    CachePool {
        data: String,
        metadata: String,
        params: CacheParams,
    },
    Writecache {
        origin: String,
        cachevol: String,
        /// Bytes.
        block_size: u32,
        /// Optional tunables (`high_watermark`, `writeback_jobs`, ...) as written.
        settings: Vec<(String, Value)>,
    },
    Integrity {
        origin: String,
        /// `None`: internal metadata.
        meta_dev: Option<String>,
        data_sectors: u64,
        /// `mode`, `tag_size`, `block_size`, `internal_hash`, ... as written.
        settings: Vec<(String, Value)>,
    },
    Vdo {
        pool: String,
        vdo_offset: u32,
    },
    VdoPool {
        data: String,
        virtual_extents: u32,
        /// `header_size`, `use_compression`, ... as written.
        settings: Vec<(String, Value)>,
    },
    Error,
    Zero,
    /// A type (or a `+FLAG`) this reader does not know.
    Unknown {
        type_name: String,
    },
}

impl SegKind {
    /// Areas with extents (striped stripes, mirror legs).
    pub fn areas(&self) -> &[Area] {
        match self {
            SegKind::Striped { areas, .. } => areas,
            SegKind::Mirror { images, .. } => images,
            _ => &[],
        }
    }
}

impl Vg {
    /// Imports the VG from parsed metadata text (the first top-level section; `contents` and
    /// `version` must say it is VG metadata).
    pub fn from_text(root: &Section) -> Result<Vg, VgError> {
        check_version(root)?;
        let (name, vgn, vg_off) = root.sections().next().ok_or_else(|| VgError {
            path: "(root)".into(),
            offset: 0,
            field: "volume group section",
            found: "none".into(),
            expected: "one top-level section named after the VG".into(),
        })?;
        Importer::new(name, vgn, vg_off).run()
    }

    pub fn lv(&self, name: &str) -> Option<&Lv> {
        self.lv_position(name).and_then(|i| self.lvs.get(i))
    }

    /// Where LV `name` is in [`Vg::lvs`].
    pub fn lv_position(&self, name: &str) -> Option<usize> {
        let index = &self.lv_index.0;
        index
            .binary_search_by(|(n, _)| n.as_str().cmp(name))
            .ok()
            .and_then(|i| index.get(i))
            .map(|&(_, i)| i)
            .filter(|&i| self.lvs.get(i).is_some_and(|l| l.name == name))
            // `lvs` is public: should it ever change after import, stay right, if slower.
            .or_else(|| self.lvs.iter().position(|l| l.name == name))
    }

    pub fn pv_by_key(&self, key: &str) -> Option<&Pv> {
        self.pvs.iter().find(|p| p.key == key)
    }

    pub fn pv_by_id(&self, id: &LvmId) -> Option<&Pv> {
        self.pvs.iter().find(|p| &p.id == id)
    }

    /// Writable: `WRITE` in status (or `WRITE_LOCKED` in flags).
    pub fn writable(&self) -> bool {
        self.status.contains(Flags::WRITE)
    }

    /// An LV's size in sectors (extents × extent size; checked on import).
    pub fn lv_sectors(&self, lv: &Lv) -> u64 {
        lv.extent_count.saturating_mul(self.extent_size)
    }
}

/// `_vsn1_check_version`: the root's first `contents` and `version` items.
fn check_version(root: &Section) -> Result<(), VgError> {
    let e = |field, offset, found: String, expected: String| VgError {
        path: "(root)".into(),
        offset,
        field,
        found,
        expected,
    };
    match root.get("contents") {
        Some((Item::Value(Value::Str(s)), _)) if s == CONTENTS_VALUE => {}
        Some((item, off)) => {
            return Err(e(
                "contents",
                off,
                describe_item(item),
                format!("{CONTENTS_VALUE:?}"),
            ))
        }
        None => {
            return Err(e(
                "contents",
                0,
                "none".into(),
                format!("{CONTENTS_VALUE:?}"),
            ))
        }
    }
    match root.get("version") {
        Some((Item::Value(Value::Int(FORMAT_VERSION_VALUE)), _)) => Ok(()),
        Some((item, off)) => Err(e("version", off, describe_item(item), "1".into())),
        None => Err(e("version", 0, "none".into(), "1".into())),
    }
}

fn describe_item(item: &Item) -> String {
    match item {
        Item::Section(_) => "a section".into(),
        Item::Value(v) => describe(v),
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.clone(),
        Value::Str(s) => format!("{s:?}"),
        Value::Array(a) if a.is_empty() => "[]".into(),
        Value::Array(a) => format!("an array of {}", a.len()),
    }
}

/// lvm2 `_validate_name` (`lib/misc/lvm-string.c`): 1..=127 bytes of `[a-zA-Z0-9._+-]`, not
/// starting with `-`, not `.` or `..`. VG and LV names become device names and paths under
/// /dev, so this is checked for every one of them.
pub fn valid_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() < NAME_LEN
        && !n.starts_with('-')
        && n != "."
        && n != ".."
        && n.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-' | b'+'))
}

/// Parameters of one segment section, in the order they are read.
struct SegCtx<'a> {
    sec: &'a Section,
    path: String,
    offset: usize,
}

/// An LV reference to resolve once every LV is known: (path, offset, field, name).
type LvRef = (String, usize, &'static str, String);

struct Importer<'a> {
    name: &'a str,
    vgn: &'a Section,
    vg_off: usize,
    /// LV references from segments, checked after all LVs are read.
    refs: Vec<LvRef>,
    /// LV areas to check against their LV's size: (path, offset, LV, first extent, end).
    lv_area_uses: Vec<(String, usize, String, u64, u64)>,
    /// Offset of each LV's section key, for errors found after import.
    lv_offsets: HashMap<String, usize>,
    warnings: Vec<VgError>,
}

impl<'a> Importer<'a> {
    fn new(name: &'a str, vgn: &'a Section, vg_off: usize) -> Self {
        Importer {
            name,
            vgn,
            vg_off,
            refs: Vec::new(),
            lv_area_uses: Vec::new(),
            lv_offsets: HashMap::new(),
            warnings: Vec::new(),
        }
    }

    fn run(mut self) -> Result<Vg, VgError> {
        let vgn = self.vgn;
        let path = self.name.to_string();
        if !valid_name(self.name) {
            return Err(err(
                &path,
                self.vg_off,
                "VG name",
                format!("{:?}", self.name),
                "1..127 characters from a-z A-Z 0-9 . _ + - (not starting with -)",
            ));
        }
        let id = req_id(vgn, &path, self.vg_off)?;
        let seqno = u64::from(req_u32(vgn, "seqno", &path, self.vg_off)?);
        if let Some((v, off)) = vgn.value("format") {
            if v.as_str() != Some("lvm2") {
                return Err(err(&path, off, "format", describe(v), "\"lvm2\""));
            }
        }
        let (mut status, flags) = read_flags(vgn, VG_WORDS, true, &path, self.vg_off)?;
        if flags.contains(Flags::WRITE_LOCKED) {
            status.insert(Flags::WRITE);
        }
        let system_id = opt_str(vgn, "system_id", &path)?.filter(|s| !s.is_empty());
        let lock_type = opt_str(vgn, "lock_type", &path)?;
        let lock_args = opt_str(vgn, "lock_args", &path)?;
        let extent_size = u64::from(req_u32(vgn, "extent_size", &path, self.vg_off)?);
        if extent_size == 0 {
            let off = vgn.value("extent_size").map_or(self.vg_off, |v| v.1);
            return Err(err(&path, off, "extent_size", 0, "at least 1 sector"));
        }
        let max_lv = req_u32(vgn, "max_lv", &path, self.vg_off)?;
        let max_pv = req_u32(vgn, "max_pv", &path, self.vg_off)?;
        let metadata_copies = opt_u32(vgn, "metadata_copies", &path)?;
        let tags = opt_tags(vgn, &path)?;

        let pvs = self.read_pvs(&path, extent_size)?;
        let mut lvs = self.read_lvs(&path, &pvs, extent_size)?;
        self.resolve(&path, &mut lvs)?;
        compute_visibility(&mut lvs);
        let mut names: Vec<(String, usize)> = lvs
            .iter()
            .enumerate()
            .map(|(i, l)| (l.name.clone(), i))
            .collect();
        names.sort_unstable();
        let lv_index = LvIndex(names.into_boxed_slice());

        Ok(Vg {
            name: self.name.to_string(),
            id,
            seqno,
            status,
            flags,
            system_id,
            lock_type,
            lock_args,
            extent_size,
            max_lv,
            max_pv,
            metadata_copies,
            tags,
            pvs,
            lvs,
            checksum: 0,
            text_size: 0,
            warnings: self.warnings,
            lv_index,
        })
    }

    fn read_pvs(&mut self, path: &str, extent_size: u64) -> Result<Vec<Pv>, VgError> {
        let (sec, _) = self.vgn.section("physical_volumes").ok_or_else(|| {
            err(
                path,
                self.vg_off,
                "physical_volumes",
                "none",
                "a physical_volumes section",
            )
        })?;
        let mut pvs: Vec<Pv> = Vec::new();
        let mut seen_ids = HashSet::new();
        for (key, pvn, pv_off) in sec.sections() {
            let p = format!("{path}/physical_volumes/{key}");
            if pvs.len() >= MAX_PVS {
                return Err(err(
                    &p,
                    pv_off,
                    "physical_volumes",
                    "more",
                    format!("at most {MAX_PVS} PVs"),
                ));
            }
            if pvs.iter().any(|q| q.key == key) {
                return Err(err(&p, pv_off, "PV key", key, "unique"));
            }
            let id = req_id(pvn, &p, pv_off)?;
            if !seen_ids.insert(id.clone()) {
                return Err(err(
                    &p,
                    pv_off,
                    "id",
                    id.to_string(),
                    "an id no other PV of the VG has",
                ));
            }
            let device_hint = opt_str(pvn, "device", &p)?;
            let (status, flags) = read_flags(pvn, PV_WORDS, false, &p, pv_off)?;
            let dev_size = opt_u64(pvn, "dev_size", &p)?;
            let pe_start = req_u64(pvn, "pe_start", &p, pv_off)?;
            let pe_count = u64::from(req_u32(pvn, "pe_count", &p, pv_off)?);
            // pe_start + pe_count × extent_size must be a sector number.
            let end = pe_count
                .checked_mul(extent_size)
                .and_then(|s| s.checked_add(pe_start));
            if end.is_none() {
                let o = pvn.value("pe_count").map_or(pv_off, |v| v.1);
                return Err(err(
                    &p,
                    o,
                    "pe_count",
                    pe_count,
                    format!("pe_start + pe_count × {extent_size} within 64 bits"),
                ));
            }
            let ba_start = opt_u64(pvn, "ba_start", &p)?.unwrap_or(0);
            let ba_size = opt_u64(pvn, "ba_size", &p)?.unwrap_or(0);
            let ba = match (ba_start, ba_size) {
                (0, 0) => None,
                (s, z) if s != 0 && z != 0 => Some((s, z)),
                _ => {
                    return Err(err(
                        &p,
                        pv_off,
                        "ba_start/ba_size",
                        format!("{ba_start}/{ba_size}"),
                        "both or neither",
                    ))
                }
            };
            let tags = opt_tags(pvn, &p)?;
            pvs.push(Pv {
                key: key.to_string(),
                id,
                device_hint,
                status,
                flags,
                dev_size,
                pe_start,
                pe_count,
                ba,
                tags,
            });
        }
        Ok(pvs)
    }

    fn read_lvs(&mut self, path: &str, pvs: &[Pv], extent_size: u64) -> Result<Vec<Lv>, VgError> {
        let Some((sec, _)) = self.vgn.section("logical_volumes") else {
            return Ok(Vec::new());
        };
        let mut lvs: Vec<Lv> = Vec::new();
        let mut ids = HashSet::new();
        let mut names = HashSet::new();
        for (name, lvn, lv_off) in sec.sections() {
            let p = format!("{path}/logical_volumes/{name}");
            if lvs.len() >= MAX_LVS {
                return Err(err(
                    &p,
                    lv_off,
                    "logical_volumes",
                    "more",
                    format!("at most {MAX_LVS} LVs"),
                ));
            }
            if !valid_name(name) {
                return Err(err(
                    &p,
                    lv_off,
                    "LV name",
                    format!("{name:?}"),
                    "1..127 characters from a-z A-Z 0-9 . _ + - (not starting with -)",
                ));
            }
            if !names.insert(name) {
                return Err(err(&p, lv_off, "LV name", name, "unique in the VG"));
            }
            let lv = self.read_lv(name, lvn, lv_off, &p, pvs, extent_size)?;
            self.lv_offsets.insert(name.to_string(), lv_off);
            if !ids.insert(lv.id.clone()) {
                return Err(err(
                    &p,
                    lv_off,
                    "id",
                    lv.id.to_string(),
                    "an id no other LV of the VG has",
                ));
            }
            lvs.push(lv);
        }
        Ok(lvs)
    }

    #[allow(clippy::too_many_arguments)]
    fn read_lv(
        &mut self,
        name: &str,
        lvn: &Section,
        lv_off: usize,
        p: &str,
        pvs: &[Pv],
        extent_size: u64,
    ) -> Result<Lv, VgError> {
        let id = req_id(lvn, p, lv_off)?;
        let (mut status, flags) = read_flags(lvn, LV_WORDS, false, p, lv_off)?;
        if flags.contains(Flags::WRITE_LOCKED) {
            status.insert(Flags::WRITE);
        }
        if flags.contains(Flags::CACHE_VOL) {
            status.insert(Flags::CACHE_VOL);
        }
        let creation_time = opt_u64(lvn, "creation_time", p)?;
        let creation_host = opt_str(lvn, "creation_host", p)?;
        if creation_time.is_some() != creation_host.is_some() {
            return Err(err(
                p,
                lv_off,
                "creation_time/creation_host",
                "only one of them",
                "both or neither",
            ));
        }
        let lock_args = opt_str(lvn, "lock_args", p)?;
        let read_ahead = match lvn.value("read_ahead") {
            None => ReadAhead::Default,
            Some((Value::Int(0), _)) => ReadAhead::Auto,
            Some((Value::Int(-1), _)) => ReadAhead::None,
            Some((Value::Int(n), off)) => ReadAhead::Sectors(u32::try_from(*n).map_err(|_| {
                err(
                    p,
                    off,
                    "read_ahead",
                    n,
                    "-1, 0 or a sector count below 2^32",
                )
            })?),
            Some((v, off)) => return Err(err(p, off, "read_ahead", describe(v), "an integer")),
        };
        let tags = opt_tags(lvn, p)?;
        let fixed_minor = if status.contains(Flags::FIXED_MINOR) {
            let minor = req_u32(lvn, "minor", p, lv_off)?;
            let major = opt_u32(lvn, "major", p)?.unwrap_or(0);
            if minor > MAX_MINOR {
                let off = lvn.value("minor").map_or(lv_off, |v| v.1);
                self.warnings.push(err(
                    p,
                    off,
                    "minor",
                    minor,
                    format!("at most {MAX_MINOR}; lvm2 ignores the fixed number"),
                ));
                None
            } else {
                Some((major, minor))
            }
        } else {
            None
        };

        // Every subsection is a segment, whatever its key (`_read_segments`).
        let mut segments = Vec::new();
        for (key, sn, s_off) in lvn.sections() {
            if segments.len() >= MAX_SEGMENTS_PER_LV {
                return Err(err(
                    p,
                    s_off,
                    "segments",
                    "more",
                    format!("at most {MAX_SEGMENTS_PER_LV}"),
                ));
            }
            let ctx = SegCtx {
                sec: sn,
                path: format!("{p}/{key}"),
                offset: s_off,
            };
            let seg = self.read_segment(key, &ctx, pvs)?;
            status.insert(seg.type_flags);
            segments.push(seg);
        }
        let seg_count = req_u32(lvn, "segment_count", p, lv_off)?;
        if u64::from(seg_count) != u64::try_from(segments.len()).unwrap_or(u64::MAX) {
            let off = lvn.value("segment_count").map_or(lv_off, |v| v.1);
            return Err(err(
                p,
                off,
                "segment_count",
                seg_count,
                format!("{} (the number of segment sections)", segments.len()),
            ));
        }
        if segments
            .iter()
            .any(|s| matches!(s.kind, SegKind::Snapshot { .. }))
            && segments.len() > 1
        {
            return Err(err(
                p,
                lv_off,
                "segment_count",
                segments.len(),
                "1 for a snapshot",
            ));
        }
        // In LV order, without gaps or overlaps (`_insert_segment`, `check_lv_segments`).
        let mut sorted = segments;
        sorted.sort_by_key(|s| s.start_extent);
        let mut next = 0u64;
        for s in &sorted {
            let s_off = lvn.section(&s.key).map_or(lv_off, |v| v.1);
            let sp = format!("{p}/{}", s.key);
            if s.start_extent != next {
                let what = if s.start_extent > next {
                    "a gap"
                } else {
                    "an overlap"
                };
                return Err(err(
                    &sp,
                    s_off,
                    "start_extent",
                    s.start_extent,
                    format!("{next} (the end of the previous segment; this leaves {what})"),
                ));
            }
            next = next.checked_add(s.extent_count).ok_or_else(|| {
                err(
                    &sp,
                    s_off,
                    "extent_count",
                    s.extent_count,
                    "a total within 64 bits",
                )
            })?;
        }
        if next.checked_mul(extent_size).is_none() {
            return Err(err(
                p,
                lv_off,
                "extent_count",
                next,
                format!("an LV size (extents × {extent_size} sectors) within 64 bits"),
            ));
        }
        let read_only = !status.contains(Flags::WRITE);
        Ok(Lv {
            name: name.to_string(),
            id,
            status,
            flags,
            visible: status.contains(Flags::VISIBLE),
            read_only,
            activation_skip: flags.contains(Flags::ACTIVATION_SKIP),
            no_autoactivate: flags.contains(Flags::NOAUTOACTIVATE),
            fixed_minor,
            read_ahead,
            tags,
            creation_time,
            creation_host,
            lock_args,
            segments: sorted,
            extent_count: next,
        })
    }

    fn read_segment(&mut self, key: &str, c: &SegCtx<'_>, pvs: &[Pv]) -> Result<Segment, VgError> {
        let sn = c.sec;
        let start_extent = u64::from(req_u32(sn, "start_extent", &c.path, c.offset)?);
        let extent_count = u64::from(req_u32(sn, "extent_count", &c.path, c.offset)?);
        if extent_count == 0 {
            let off = sn.value("extent_count").map_or(c.offset, |v| v.1);
            return Err(err(&c.path, off, "extent_count", 0, "at least 1"));
        }
        let reshape_count = opt_u32(sn, "reshape_count", &c.path)?.unwrap_or(0);
        let type_name = match sn.value("type") {
            Some((Value::Str(s), _)) => s.clone(),
            Some((v, off)) => return Err(err(&c.path, off, "type", describe(v), "a string")),
            None => return Err(err(&c.path, c.offset, "type", "none", "a segment type")),
        };
        let tags = opt_tags(sn, &c.path)?;
        let (base, suffix) = match type_name.split_once('+') {
            Some((b, f)) => (b, Some(f)),
            None => (type_name.as_str(), None),
        };
        let mut type_flags = Flags::empty();
        let mut known_flags = true;
        if let Some(sfx) = suffix {
            for w in sfx.split('+') {
                match LV_WORDS
                    .iter()
                    .find(|(word, _, kind)| *word == w && kind & SEGTYPE != 0)
                {
                    Some((_, f, _)) => type_flags.insert(*f),
                    None => known_flags = false,
                }
            }
        }
        let kind = if known_flags {
            self.read_kind(base, extent_count, c, pvs)?
        } else {
            type_flags = Flags::empty();
            SegKind::Unknown {
                type_name: type_name.clone(),
            }
        };
        Ok(Segment {
            key: key.to_string(),
            start_extent,
            extent_count,
            type_name,
            type_flags,
            reshape_count,
            tags,
            kind,
        })
    }

    /// Records an LV reference to check once all LVs are read.
    fn lv_ref(&mut self, c: &SegCtx<'_>, field: &'static str, name: &str) {
        let off = c.sec.value(field).map_or(c.offset, |v| v.1);
        self.refs
            .push((c.path.clone(), off, field, name.to_string()));
    }

    fn req_lv(&mut self, c: &SegCtx<'_>, field: &'static str) -> Result<String, VgError> {
        let name = req_str(c.sec, field, &c.path, c.offset)?;
        self.lv_ref(c, field, &name);
        Ok(name)
    }

    fn opt_lv(&mut self, c: &SegCtx<'_>, field: &'static str) -> Result<Option<String>, VgError> {
        let name = opt_str(c.sec, field, &c.path)?;
        if let Some(n) = &name {
            self.lv_ref(c, field, n);
        }
        Ok(name)
    }

    fn read_kind(
        &mut self,
        base: &str,
        extent_count: u64,
        c: &SegCtx<'_>,
        pvs: &[Pv],
    ) -> Result<SegKind, VgError> {
        let sn = c.sec;
        Ok(match base {
            "striped" | "linear" => {
                let count = area_count(sn, "stripe_count", &c.path, c.offset)?;
                // lvm2 reads stripe_size only for more than one stripe.
                let stripe_size = if count > 1 {
                    let s = req_u32(sn, "stripe_size", &c.path, c.offset)?;
                    if s == 0 {
                        let off = sn.value("stripe_size").map_or(c.offset, |v| v.1);
                        return Err(err(&c.path, off, "stripe_size", 0, "at least 1 sector"));
                    }
                    Some(u64::from(s))
                } else {
                    None
                };
                if extent_count % count != 0 {
                    let off = sn.value("stripe_count").map_or(c.offset, |v| v.1);
                    return Err(err(
                        &c.path,
                        off,
                        "stripe_count",
                        count,
                        format!("a divisor of extent_count {extent_count}"),
                    ));
                }
                let areas = self.areas(c, "stripes", count, extent_count / count, pvs)?;
                SegKind::Striped { stripe_size, areas }
            }
            "mirror" => {
                let count = area_count(sn, "mirror_count", &c.path, c.offset)?;
                let extents_moved = opt_u32(sn, "extents_moved", &c.path)?;
                let region_size = opt_u32(sn, "region_size", &c.path)?;
                let log = self.opt_lv(c, "mirror_log")?;
                let images = self.areas(c, "mirrors", count, extent_count, pvs)?;
                SegKind::Mirror {
                    mirror_count: u32::try_from(count).unwrap_or(u32::MAX),
                    region_size,
                    log,
                    extents_moved,
                    images,
                }
            }
            level if raid_parity(level).is_some() => self.raid(level, extent_count, c)?,
            "thin-pool" => {
                let metadata = self.req_lv(c, "metadata")?;
                let pool = self.req_lv(c, "pool")?;
                let transaction_id = req_u64(sn, "transaction_id", &c.path, c.offset)?;
                let chunk_size = req_u32(sn, "chunk_size", &c.path, c.offset)?;
                if !(THIN_MIN_CHUNK..=THIN_MAX_CHUNK).contains(&chunk_size) {
                    let off = sn.value("chunk_size").map_or(c.offset, |v| v.1);
                    return Err(err(
                        &c.path,
                        off,
                        "chunk_size",
                        chunk_size,
                        format!("{THIN_MIN_CHUNK}..={THIN_MAX_CHUNK} sectors"),
                    ));
                }
                let discards = match sn.value("discards") {
                    None => Discards::Ignore,
                    Some((Value::Str(s), off)) => match s.as_str() {
                        "ignore" => Discards::Ignore,
                        "nopassdown" => Discards::NoPassdown,
                        "passdown" => Discards::Passdown,
                        _ => {
                            return Err(err(
                                &c.path,
                                off,
                                "discards",
                                format!("{s:?}"),
                                "\"ignore\", \"nopassdown\" or \"passdown\"",
                            ))
                        }
                    },
                    Some((v, off)) => {
                        return Err(err(&c.path, off, "discards", describe(v), "a string"))
                    }
                };
                let zero_new_blocks = opt_u32(sn, "zero_new_blocks", &c.path)?.unwrap_or(0) != 0;
                let crop_metadata = opt_u32(sn, "crop_metadata", &c.path)?;
                // Every subsection of a thin-pool segment is a message (`_thin_pool_text_import`).
                let mut messages = Vec::new();
                for (mkey, msn, m_off) in sn.sections() {
                    let mp = format!("{}/{mkey}", c.path);
                    let mctx = SegCtx {
                        sec: msn,
                        path: mp.clone(),
                        offset: m_off,
                    };
                    if let Some(lv) = opt_str(msn, "create", &mp)? {
                        self.lv_ref(&mctx, "create", &lv);
                        messages.push(ThinMessage::Create(lv));
                    } else if let Some(id) = opt_u32(msn, "delete", &mp)? {
                        messages.push(ThinMessage::Delete(id));
                    } else {
                        return Err(err(
                            &mp,
                            m_off,
                            "message",
                            "neither create nor delete",
                            "create = \"lv\" or delete = id",
                        ));
                    }
                }
                SegKind::ThinPool {
                    metadata,
                    pool,
                    transaction_id,
                    chunk_size,
                    discards,
                    zero_new_blocks,
                    crop_metadata,
                    messages,
                }
            }
            "thin" => {
                let pool = self.req_lv(c, "thin_pool")?;
                let transaction_id = req_u64(sn, "transaction_id", &c.path, c.offset)?;
                let origin = self.opt_lv(c, "origin")?;
                let merge = self.opt_lv(c, "merge")?;
                let device_id = req_u32(sn, "device_id", &c.path, c.offset)?;
                if device_id > THIN_MAX_DEVICE_ID {
                    let off = sn.value("device_id").map_or(c.offset, |v| v.1);
                    return Err(err(
                        &c.path,
                        off,
                        "device_id",
                        device_id,
                        format!("at most {THIN_MAX_DEVICE_ID}"),
                    ));
                }
                let external_origin = self.opt_lv(c, "external_origin")?;
                SegKind::Thin {
                    pool,
                    transaction_id,
                    device_id,
                    origin,
                    external_origin,
                    merge,
                }
            }
            "snapshot" => {
                let chunk_size = req_u32(sn, "chunk_size", &c.path, c.offset)?;
                let merging_store = self.opt_lv(c, "merging_store")?;
                let cow = self.opt_lv(c, "cow_store")?;
                let (cow_store, merging) = match (cow, merging_store) {
                    (Some(c), None) => (c, false),
                    (None, Some(m)) => (m, true),
                    (Some(_), Some(_)) => {
                        return Err(err(
                            &c.path,
                            c.offset,
                            "cow_store",
                            "both cow_store and merging_store",
                            "one of them",
                        ))
                    }
                    (None, None) => {
                        return Err(err(
                            &c.path,
                            c.offset,
                            "cow_store",
                            "none",
                            "cow_store or merging_store",
                        ))
                    }
                };
                let origin = self.req_lv(c, "origin")?;
                SegKind::Snapshot {
                    chunk_size,
                    origin,
                    cow_store,
                    merging,
                }
            }
            "cache" => {
                let pool = self.req_lv(c, "cache_pool")?;
                let origin = self.req_lv(c, "origin")?;
                let params = cache_params(sn, &c.path)?;
                SegKind::Cache {
                    pool,
                    origin,
                    params,
                }
            }
            "cache-pool" => {
                let data = self.req_lv(c, "data")?;
                let metadata = self.req_lv(c, "metadata")?;
                let params = cache_params(sn, &c.path)?;
                SegKind::CachePool {
                    data,
                    metadata,
                    params,
                }
            }
            "writecache" => {
                let origin = self.req_lv(c, "origin")?;
                let cachevol = self.req_lv(c, "writecache")?;
                let block_size = req_u32(sn, "writecache_block_size", &c.path, c.offset)?;
                let settings = other_values(sn, &["origin", "writecache", "writecache_block_size"]);
                SegKind::Writecache {
                    origin,
                    cachevol,
                    block_size,
                    settings,
                }
            }
            "integrity" => {
                let origin = self.req_lv(c, "origin")?;
                let meta_dev = self.opt_lv(c, "meta_dev")?;
                let data_sectors = req_u64(sn, "data_sectors", &c.path, c.offset)?;
                let settings = other_values(sn, &["origin", "meta_dev", "data_sectors"]);
                SegKind::Integrity {
                    origin,
                    meta_dev,
                    data_sectors,
                    settings,
                }
            }
            "vdo" => {
                let pool = self.req_lv(c, "vdo_pool")?;
                let vdo_offset = req_u32(sn, "vdo_offset", &c.path, c.offset)?;
                SegKind::Vdo { pool, vdo_offset }
            }
            "vdo-pool" => {
                let data = self.req_lv(c, "data")?;
                let virtual_extents = req_u32(sn, "virtual_extents", &c.path, c.offset)?;
                let settings = other_values(sn, &["data", "virtual_extents"]);
                SegKind::VdoPool {
                    data,
                    virtual_extents,
                    settings,
                }
            }
            "error" => SegKind::Error,
            "zero" => SegKind::Zero,
            _ => SegKind::Unknown {
                type_name: sn
                    .value("type")
                    .and_then(|v| v.0.as_str())
                    .unwrap_or(base)
                    .to_string(),
            },
        })
    }

    fn raid(&mut self, level: &str, extent_count: u64, c: &SegCtx<'_>) -> Result<SegKind, VgError> {
        let sn = c.sec;
        // Exactly one of device_count and stripe_count (`_raid_text_import_area_count`).
        let count = match (sn.value("device_count"), sn.value("stripe_count")) {
            (Some(_), None) => area_count(sn, "device_count", &c.path, c.offset)?,
            (None, Some(_)) => area_count(sn, "stripe_count", &c.path, c.offset)?,
            (Some(_), Some((_, off))) => {
                return Err(err(
                    &c.path,
                    off,
                    "stripe_count",
                    "both device_count and stripe_count",
                    "only one of them",
                ))
            }
            (None, None) => {
                return Err(err(
                    &c.path,
                    c.offset,
                    "device_count",
                    "none",
                    "device_count or stripe_count",
                ))
            }
        };
        let region_size = opt_u32(sn, "region_size", &c.path)?;
        let stripe_size = opt_u32(sn, "stripe_size", &c.path)?;
        // lvm2 reads a non-integer data_copies or data_offset as 0 rather than failing.
        let lenient = |k| {
            sn.value(k)
                .map(|(v, _)| v.as_int().and_then(|i| u32::try_from(i).ok()).unwrap_or(0))
        };
        let written_copies = lenient("data_copies");
        let data_offset = lenient("data_offset");
        let writebehind = opt_u32(sn, "writebehind", &c.path)?;
        let min_recovery_rate = opt_u32(sn, "min_recovery_rate", &c.path)?;
        let max_recovery_rate = opt_u32(sn, "max_recovery_rate", &c.path)?;
        let raid0 = level == "raid0";
        let list_key = if raid0 { "raid0_lvs" } else { "raids" };
        let (list, list_off) = sn.value(list_key).ok_or_else(|| {
            err(
                &c.path,
                c.offset,
                list_key,
                "none",
                "the list of RAID sub-LVs",
            )
        })?;
        let items = list.as_list();
        let mut metas = Vec::new();
        let mut images = Vec::new();
        let mut it = items.iter();
        let name_of = |v: &Value| -> Result<String, VgError> {
            v.as_str()
                .map(str::to_string)
                .ok_or_else(|| err(&c.path, list_off, list_key, describe(v), "LV names"))
        };
        for _ in 0..count {
            let Some(first) = it.next() else {
                return Err(err(
                    &c.path,
                    list_off,
                    list_key,
                    format!("{} names", items.len()),
                    format!("{count} images"),
                ));
            };
            let mut name = name_of(first)?;
            // "Metadata device comes first": a name with `_rmeta_` is a metadata LV and the
            // next one its image (`_raid_text_import_areas`).
            let meta = if name.contains("_rmeta_") {
                let m = name;
                name = match it.next() {
                    Some(v) => name_of(v)?,
                    None => {
                        return Err(err(
                            &c.path,
                            list_off,
                            list_key,
                            "a metadata LV without its image",
                            "metadata, image pairs",
                        ))
                    }
                };
                Some(m)
            } else {
                None
            };
            if let Some(m) = &meta {
                self.refs
                    .push((c.path.clone(), list_off, "raids", m.clone()));
            }
            self.refs
                .push((c.path.clone(), list_off, "raids", name.clone()));
            metas.push(meta);
            images.push(name);
        }
        if it.next().is_some() {
            return Err(err(
                &c.path,
                list_off,
                list_key,
                format!("{} names", items.len()),
                format!("{count} images"),
            ));
        }
        let parity = raid_parity(level).unwrap_or(0);
        if count <= u64::from(parity) {
            return Err(err(
                &c.path,
                c.offset,
                "device_count",
                count,
                format!("more than {parity} (the parity devices)"),
            ));
        }
        if level.starts_with("raid0") {
            if extent_count % count != 0 {
                return Err(err(
                    &c.path,
                    c.offset,
                    "stripe_count",
                    count,
                    format!("a divisor of extent_count {extent_count}"),
                ));
            }
            return Ok(SegKind::Raid0 {
                level: level.to_string(),
                stripe_size,
                metas,
                images,
            });
        }
        // `lv_raid_data_copies` when fewer than 2 are written.
        let data_copies = match written_copies {
            Some(n) if n >= 2 => n,
            _ if level.starts_with("raid10") => 2,
            _ if level == "raid1" => u32::try_from(count).unwrap_or(u32::MAX),
            _ => parity + 1,
        };
        Ok(SegKind::Raid {
            level: level.to_string(),
            region_size,
            stripe_size,
            data_copies,
            writebehind,
            min_recovery_rate,
            max_recovery_rate,
            data_offset,
            metas,
            images,
        })
    }

    /// `text_import_areas`: `count` (name, extent) pairs, each naming a PV key or an LV.
    fn areas(
        &mut self,
        c: &SegCtx<'_>,
        key: &'static str,
        count: u64,
        area_len: u64,
        pvs: &[Pv],
    ) -> Result<Vec<Area>, VgError> {
        let (list, off) = c
            .sec
            .value(key)
            .ok_or_else(|| err(&c.path, c.offset, key, "none", "the list of areas"))?;
        let items = list.as_list();
        let want = usize::try_from(count)
            .unwrap_or(usize::MAX)
            .saturating_mul(2);
        if items.len() != want {
            return Err(err(
                &c.path,
                off,
                key,
                format!("{} items", items.len()),
                format!("{count} (name, extent) pairs"),
            ));
        }
        let mut out = Vec::new();
        for (i, pair) in items.chunks(2).enumerate() {
            let (Some(Value::Str(name)), Some(Value::Int(ext))) = (pair.first(), pair.get(1))
            else {
                return Err(err(
                    &c.path,
                    off,
                    key,
                    format!("pair {i} is not (\"name\", extent)"),
                    "(\"name\", extent) pairs",
                ));
            };
            let start = u64::from(
                u32::try_from(*ext)
                    .map_err(|_| err(&c.path, off, key, ext, "an extent number below 2^32"))?,
            );
            let end = start
                .checked_add(area_len)
                .ok_or_else(|| err(&c.path, off, key, ext, "an extent range within 64 bits"))?;
            if let Some(pv) = pvs.iter().find(|p| &p.key == name) {
                // PV keys are looked up first, then LV names (lvm2 does the same).
                if end > pv.pe_count {
                    return Err(err(
                        &c.path,
                        off,
                        key,
                        format!("{name} extents {start}..{end}"),
                        format!("a range within the PV's {} extents", pv.pe_count),
                    ));
                }
                out.push(Area::Pv {
                    pv_key: name.clone(),
                    start_extent: start,
                });
            } else {
                self.refs.push((c.path.clone(), off, key, name.clone()));
                self.lv_area_uses
                    .push((c.path.clone(), off, name.clone(), start, end));
                out.push(Area::Lv {
                    lv: name.clone(),
                    start_extent: start,
                });
            }
        }
        Ok(out)
    }

    /// Checks LV references and LV-area ranges once every LV is known, and that LVs do not
    /// stack on themselves.
    fn resolve(&self, path: &str, lvs: &mut [Lv]) -> Result<(), VgError> {
        let index: HashMap<&str, usize> = lvs
            .iter()
            .enumerate()
            .map(|(i, l)| (l.name.as_str(), i))
            .collect();
        for (p, off, field, name) in &self.refs {
            if !index.contains_key(name.as_str()) {
                return Err(err(
                    p,
                    *off,
                    field,
                    format!("{name:?}"),
                    "the name of an LV of this VG (or a PV key)",
                ));
            }
        }
        for (p, off, lv, start, end) in &self.lv_area_uses {
            let Some(target) = index.get(lv.as_str()).and_then(|&t| lvs.get(t)) else {
                continue;
            };
            if *end > target.extent_count {
                return Err(err(
                    p,
                    *off,
                    "area",
                    format!("{lv} extents {start}..{end}"),
                    format!("a range within the LV's {} extents", target.extent_count),
                ));
            }
            if p.starts_with(&format!("{path}/logical_volumes/{lv}/")) {
                return Err(err(
                    p,
                    *off,
                    "area",
                    lv,
                    "another LV (an LV cannot map onto itself)",
                ));
            }
        }
        // Stacking references must not form a cycle (the engine would loop on them).
        let edges: Vec<Vec<usize>> = lvs
            .iter()
            .map(|l| {
                stacking_refs(l)
                    .iter()
                    .filter_map(|n| index.get(n.as_str()).copied())
                    .collect()
            })
            .collect();
        // Iterative DFS with colours: 0 new, 1 on the stack, 2 done.
        let mut colour = vec![0u8; lvs.len()];
        for root in 0..lvs.len() {
            if colour.get(root) != Some(&0) {
                continue;
            }
            let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
            if let Some(c) = colour.get_mut(root) {
                *c = 1;
            }
            while let Some(&mut (node, ref mut next)) = stack.last_mut() {
                let succ = edges.get(node).and_then(|e| e.get(*next)).copied();
                *next += 1;
                match succ {
                    Some(s) => match colour.get(s) {
                        Some(0) => {
                            if let Some(c) = colour.get_mut(s) {
                                *c = 1;
                            }
                            stack.push((s, 0));
                        }
                        Some(1) => {
                            let name = lvs.get(node).map_or("", |l| l.name.as_str());
                            let target = lvs.get(s).map_or("", |l| l.name.as_str());
                            return Err(err(
                                &format!("{path}/logical_volumes/{name}"),
                                self.lv_offsets.get(name).copied().unwrap_or(self.vg_off),
                                "LV reference",
                                format!("{target} (which leads back to {name})"),
                                "LVs that do not stack on themselves",
                            ));
                        }
                        _ => {}
                    },
                    None => {
                        if let Some(c) = colour.get_mut(node) {
                            *c = 2;
                        }
                        stack.pop();
                    }
                }
            }
        }
        Ok(())
    }
}

/// LVs that an LV's devices are built from (areas, sub-LVs, pools, COW stores); a thin LV's
/// `origin` and `merge` only name related LVs and are left out.
fn stacking_refs(lv: &Lv) -> Vec<String> {
    let mut out = Vec::new();
    for s in &lv.segments {
        match &s.kind {
            SegKind::Striped { areas, .. } | SegKind::Mirror { images: areas, .. } => {
                for a in areas {
                    if let Area::Lv { lv, .. } = a {
                        out.push(lv.clone());
                    }
                }
                if let SegKind::Mirror { log: Some(l), .. } = &s.kind {
                    out.push(l.clone());
                }
            }
            SegKind::Raid { metas, images, .. } | SegKind::Raid0 { metas, images, .. } => {
                out.extend(metas.iter().flatten().cloned());
                out.extend(images.iter().cloned());
            }
            SegKind::ThinPool { metadata, pool, .. } => {
                out.push(metadata.clone());
                out.push(pool.clone());
            }
            SegKind::Thin {
                pool,
                external_origin,
                ..
            } => {
                out.push(pool.clone());
                out.extend(external_origin.iter().cloned());
            }
            SegKind::Snapshot {
                origin, cow_store, ..
            } => {
                out.push(origin.clone());
                out.push(cow_store.clone());
            }
            SegKind::Cache { pool, origin, .. } => {
                out.push(pool.clone());
                out.push(origin.clone());
            }
            SegKind::CachePool { data, metadata, .. } => {
                out.push(data.clone());
                out.push(metadata.clone());
            }
            SegKind::Writecache {
                origin, cachevol, ..
            } => {
                out.push(origin.clone());
                out.push(cachevol.clone());
            }
            SegKind::Integrity {
                origin, meta_dev, ..
            } => {
                out.push(origin.clone());
                out.extend(meta_dev.iter().cloned());
            }
            SegKind::Vdo { pool, .. } => out.push(pool.clone()),
            SegKind::VdoPool { data, .. } => out.push(data.clone()),
            SegKind::Error | SegKind::Zero | SegKind::Unknown { .. } => {}
        }
    }
    out
}

/// lvm2 `lv_is_visible()` (`snapshot_manip.c`, formats.md §1.8): an LV with a snapshot segment
/// is never visible; a COW store is visible when its origin is virtual (itself not visible),
/// hidden while merging, and otherwise as visible as its origin; any other LV by its
/// `VISIBLE` flag.
fn compute_visibility(lvs: &mut [Lv]) {
    // cow name -> (origin name, merging)
    let mut cows: HashMap<String, (String, bool)> = HashMap::new();
    for l in lvs.iter() {
        for s in &l.segments {
            if let SegKind::Snapshot {
                origin,
                cow_store,
                merging,
                ..
            } = &s.kind
            {
                cows.insert(cow_store.clone(), (origin.clone(), *merging));
            }
        }
    }
    let flagged: HashMap<String, (bool, bool)> = lvs
        .iter()
        .map(|l| {
            let snap = l
                .segments
                .iter()
                .any(|s| matches!(s.kind, SegKind::Snapshot { .. }));
            (l.name.clone(), (l.status.contains(Flags::VISIBLE), snap))
        })
        .collect();
    fn visible(
        name: &str,
        cows: &HashMap<String, (String, bool)>,
        flagged: &HashMap<String, (bool, bool)>,
        depth: usize,
    ) -> bool {
        let Some(&(flag, snap)) = flagged.get(name) else {
            return false;
        };
        if snap || depth > 8 {
            return false;
        }
        match cows.get(name) {
            Some((origin, merging)) => {
                // The origin is virtual when it was not visible when the snapshot was read.
                let origin_visible = visible(origin, cows, flagged, depth + 1);
                if !origin_visible {
                    true
                } else {
                    !merging
                }
            }
            None => flag,
        }
    }
    for l in lvs.iter_mut() {
        l.visible = visible(&l.name, &cows, &flagged, 0);
    }
}

fn cache_params(sn: &Section, path: &str) -> Result<CacheParams, VgError> {
    let mut policy_settings = Vec::new();
    if let Some((ps, _)) = sn.section("policy_settings") {
        for (k, v, _) in ps.values() {
            policy_settings.push((k.to_string(), v.clone()));
        }
    }
    let cache_mode = opt_str(sn, "cache_mode", path)?;
    if let Some(m) = &cache_mode {
        if !matches!(m.as_str(), "writethrough" | "writeback" | "passthrough") {
            let off = sn.value("cache_mode").map_or(0, |v| v.1);
            return Err(err(
                path,
                off,
                "cache_mode",
                format!("{m:?}"),
                "writethrough, writeback or passthrough",
            ));
        }
    }
    Ok(CacheParams {
        chunk_size: opt_u32(sn, "chunk_size", path)?,
        cache_mode,
        policy: opt_str(sn, "policy", path)?,
        metadata_format: opt_u32(sn, "metadata_format", path)?,
        policy_settings,
        cleaner: opt_u32(sn, "cleaner", path)?.unwrap_or(0) != 0,
        metadata_start: opt_u64(sn, "metadata_start", path)?,
        metadata_len: opt_u64(sn, "metadata_len", path)?,
        data_start: opt_u64(sn, "data_start", path)?,
        data_len: opt_u64(sn, "data_len", path)?,
        metadata_id: opt_str(sn, "metadata_id", path)?,
        data_id: opt_str(sn, "data_id", path)?,
    })
}

/// The segment's values other than the common keys and `used`.
fn other_values(sn: &Section, used: &[&str]) -> Vec<(String, Value)> {
    const COMMON: &[&str] = &[
        "start_extent",
        "extent_count",
        "type",
        "tags",
        "reshape_count",
        "data_copies",
    ];
    sn.values()
        .filter(|(k, _, _)| !COMMON.contains(k) && !used.contains(k))
        .map(|(k, v, _)| (k.to_string(), v.clone()))
        .collect()
}

/// Parity devices of a RAID segment type (`_raid_types`, `lib/raid/raid.c`), `None` if the
/// name is not a RAID type.
fn raid_parity(level: &str) -> Option<u32> {
    Some(match level {
        "raid0" | "raid0_meta" | "raid1" | "raid10" | "raid10_near" => 0,
        "raid4" | "raid5" | "raid5_n" | "raid5_la" | "raid5_ls" | "raid5_ra" | "raid5_rs" => 1,
        "raid6" | "raid6_n_6" | "raid6_nc" | "raid6_nr" | "raid6_zr" | "raid6_ls_6"
        | "raid6_rs_6" | "raid6_la_6" | "raid6_ra_6" => 2,
        _ => return None,
    })
}

fn err(
    path: &str,
    offset: usize,
    field: &'static str,
    found: impl fmt::Display,
    expected: impl fmt::Display,
) -> VgError {
    VgError {
        path: path.to_string(),
        offset,
        field,
        found: found.to_string(),
        expected: expected.to_string(),
    }
}

/// `read_flags` for one object: the `status` array (required; every word must be a known
/// status or segment-type word, else lvm2 rejects the metadata) and the `flags` array
/// (optional; unknown words are ignored). `vg` admits the old `PARTIAL` status word.
fn read_flags(
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

fn req_id(sec: &Section, path: &str, sec_off: usize) -> Result<LvmId, VgError> {
    let s = req_str(sec, "id", path, sec_off)?;
    let off = sec.value("id").map_or(sec_off, |v| v.1);
    LvmId::parse(&s).ok_or_else(|| {
        err(
            path,
            off,
            "id",
            format!("{s:?}"),
            "32 characters from 0-9a-zA-Z!# (dashes ignored)",
        )
    })
}

fn req_str(
    sec: &Section,
    key: &'static str,
    path: &str,
    sec_off: usize,
) -> Result<String, VgError> {
    match sec.value(key) {
        Some((Value::Str(s), _)) => Ok(s.clone()),
        Some((v, off)) => Err(err(path, off, key, describe(v), "a string")),
        None => Err(err(path, sec_off, key, "none", "a string")),
    }
}

fn opt_str(sec: &Section, key: &'static str, path: &str) -> Result<Option<String>, VgError> {
    match sec.value(key) {
        Some((Value::Str(s), _)) => Ok(Some(s.clone())),
        Some((v, off)) => Err(err(path, off, key, describe(v), "a string")),
        None => Ok(None),
    }
}

fn int_in<T: TryFrom<i64>>(
    sec: &Section,
    key: &'static str,
    path: &str,
    expected: &str,
) -> Result<Option<T>, VgError> {
    match sec.value(key) {
        Some((Value::Int(i), off)) => T::try_from(*i)
            .map(Some)
            .map_err(|_| err(path, off, key, i, expected)),
        Some((v, off)) => Err(err(path, off, key, describe(v), "an integer")),
        None => Ok(None),
    }
}

fn opt_u32(sec: &Section, key: &'static str, path: &str) -> Result<Option<u32>, VgError> {
    int_in::<u32>(sec, key, path, "0..=4294967295")
}

fn opt_u64(sec: &Section, key: &'static str, path: &str) -> Result<Option<u64>, VgError> {
    int_in::<u64>(sec, key, path, "a non-negative integer")
}

fn req_u32(sec: &Section, key: &'static str, path: &str, sec_off: usize) -> Result<u32, VgError> {
    opt_u32(sec, key, path)?.ok_or_else(|| err(path, sec_off, key, "none", "an integer"))
}

fn req_u64(sec: &Section, key: &'static str, path: &str, sec_off: usize) -> Result<u64, VgError> {
    opt_u64(sec, key, path)?.ok_or_else(|| err(path, sec_off, key, "none", "an integer"))
}

/// An area count: 1..=[`MAX_AREAS`], checked before anything is allocated for it.
fn area_count(
    sec: &Section,
    key: &'static str,
    path: &str,
    sec_off: usize,
) -> Result<u64, VgError> {
    let n = u64::from(req_u32(sec, key, path, sec_off)?);
    if n == 0 || n > MAX_AREAS {
        let off = sec.value(key).map_or(sec_off, |v| v.1);
        return Err(err(path, off, key, n, format!("1..={MAX_AREAS}")));
    }
    Ok(n)
}

fn opt_tags(sec: &Section, path: &str) -> Result<Vec<String>, VgError> {
    let Some((v, off)) = sec.value("tags") else {
        return Ok(Vec::new());
    };
    v.as_list()
        .iter()
        .map(|t| {
            t.as_str()
                .map(str::to_string)
                .ok_or_else(|| err(path, off, "tags", describe(t), "strings"))
        })
        .collect()
}

#[cfg(test)]
mod tests;
