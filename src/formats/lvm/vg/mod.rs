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
//!
//! This file is the common walk: VG, PVs, LVs, segments in LV order, the LV references every
//! segment makes (resolved once all LVs are known, cycles refused) and visibility. Each
//! segment family lives in a file of its own with its type, its reader and the LVs and PVs it
//! refers to: [`striped`] (linear too), [`mirror`] (pvmove too), [`raid`], [`thin`],
//! [`snapshot`], [`cache`], [`writecache`], [`integrity`], [`vdo`]; [`SegKind`] lists them.
//! [`flags`] holds the status words, [`fields`] the typed value reads they all use.

use super::text::{Item, Section, Value};
use crate::ids::LvmId;
use fields::{
    describe, describe_item, err, opt_str, opt_tags, opt_u32, opt_u64, req_id, req_str, req_u32,
    req_u64,
};
use flags::{read_flags, LV_WORDS, PV_WORDS, SEGTYPE, VG_WORDS};
use std::collections::{HashMap, HashSet};
use std::fmt;

mod cache;
mod fields;
mod flags;
mod integrity;
mod links;
mod mirror;
mod raid;
mod snapshot;
mod striped;
mod thin;
mod vdo;
mod writecache;

pub use cache::{Cache, CacheParams, CachePool};
pub use flags::Flags;
pub use integrity::Integrity;
pub use links::Links;
pub use mirror::Mirror;
pub use raid::{Raid, Raid0};
pub use snapshot::Snapshot;
pub use striped::Striped;
pub use thin::{
    Discards, Thin, ThinMessage, ThinPool, THIN_MAX_CHUNK, THIN_MAX_DEVICE_ID, THIN_MIN_CHUNK,
};
pub use vdo::{Vdo, VdoPool};
pub use writecache::Writecache;

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
/// Largest minor number the kernel accepts (20 bits, `MINORBITS`).
pub const MAX_MINOR: u32 = 0xF_FFFF;
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
    /// Who refers to whom among the LVs (built on import; boxed: a VG travels inside every
    /// PV's probe result).
    pub links: Box<Links>,
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

impl Area {
    pub fn reference(&self) -> SegRef {
        match self {
            Area::Pv { pv_key, .. } => SegRef::Pv(pv_key.clone()),
            Area::Lv { lv, .. } => SegRef::Lv(lv.clone()),
        }
    }
}

/// A reference from a segment to a PV (by section key) or an LV (by name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SegRef {
    Pv(String),
    Lv(String),
}

/// The segment types lvm2 2.03.16 writes, each with its parameters in the type of its family
/// file (units: sectors unless noted). LV references are LV names of the same VG, checked to
/// exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SegKind {
    /// `striped` and `linear`.
    Striped(Striped),
    /// `raid1`, `raid4`, `raid5*`, `raid6*`, `raid10*`.
    Raid(Raid),
    /// `raid0`, `raid0_meta`.
    Raid0(Raid0),
    /// Legacy `mirror` (and pvmove).
    Mirror(Mirror),
    ThinPool(ThinPool),
    Thin(Thin),
    /// Old-style COW snapshot (lives in a hidden `snapshotN` LV).
    Snapshot(Snapshot),
    Cache(Cache),
    CachePool(CachePool),
    Writecache(Writecache),
    Integrity(Integrity),
    Vdo(Vdo),
    VdoPool(VdoPool),
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
            SegKind::Striped(s) => &s.areas,
            SegKind::Mirror(m) => &m.images,
            _ => &[],
        }
    }

    /// Every PV and LV this segment refers to.
    pub fn references(&self) -> Vec<SegRef> {
        match self {
            SegKind::Striped(x) => x.references(),
            SegKind::Raid(x) => x.references(),
            SegKind::Raid0(x) => x.references(),
            SegKind::Mirror(x) => x.references(),
            SegKind::ThinPool(x) => x.references(),
            SegKind::Thin(x) => x.references(),
            SegKind::Snapshot(x) => x.references(),
            SegKind::Cache(x) => x.references(),
            SegKind::CachePool(x) => x.references(),
            SegKind::Writecache(x) => x.references(),
            SegKind::Integrity(x) => x.references(),
            SegKind::Vdo(x) => x.references(),
            SegKind::VdoPool(x) => x.references(),
            SegKind::Error | SegKind::Zero | SegKind::Unknown { .. } => vec![],
        }
    }

    /// LVs the segment's device is built from (areas, sub-LVs, pools, COW stores): the LVs it
    /// refers to, less a thin LV's `origin` ([`Thin::built_from`]).
    pub fn built_from(&self) -> Vec<String> {
        if let SegKind::Thin(t) = self {
            return t.built_from();
        }
        self.references()
            .into_iter()
            .filter_map(|r| match r {
                SegRef::Lv(n) => Some(n),
                SegRef::Pv(_) => None,
            })
            .collect()
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
        match self.links.index(name).and_then(|i| self.lvs.get(i)) {
            Some(l) if l.name == name => Some(l),
            // The list was changed after import (tests): look it up.
            _ => self.lvs.iter().find(|l| l.name == name),
        }
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
pub(super) struct SegCtx<'a> {
    pub(super) sec: &'a Section,
    pub(super) path: String,
    pub(super) offset: usize,
}

/// An LV reference to resolve once every LV is known: (path, offset, field, name).
type LvRef = (String, usize, &'static str, String);

pub(super) struct Importer<'a> {
    name: &'a str,
    vgn: &'a Section,
    vg_off: usize,
    /// LV references from segments, checked after all LVs are read.
    pub(super) refs: Vec<LvRef>,
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
        snapshot::compute_visibility(&mut lvs);

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
            checksum: 0,
            text_size: 0,
            warnings: self.warnings,
            links: Box::new(Links::of(&lvs)),
            lvs,
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
            if lvs.iter().any(|l| l.name == name) {
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
    pub(super) fn lv_ref(&mut self, c: &SegCtx<'_>, field: &'static str, name: &str) {
        let off = c.sec.value(field).map_or(c.offset, |v| v.1);
        self.refs
            .push((c.path.clone(), off, field, name.to_string()));
    }

    pub(super) fn req_lv(
        &mut self,
        c: &SegCtx<'_>,
        field: &'static str,
    ) -> Result<String, VgError> {
        let name = req_str(c.sec, field, &c.path, c.offset)?;
        self.lv_ref(c, field, &name);
        Ok(name)
    }

    pub(super) fn opt_lv(
        &mut self,
        c: &SegCtx<'_>,
        field: &'static str,
    ) -> Result<Option<String>, VgError> {
        let name = opt_str(c.sec, field, &c.path)?;
        if let Some(n) = &name {
            self.lv_ref(c, field, n);
        }
        Ok(name)
    }

    /// The family reader for the segment type `base` (`+FLAG`s removed).
    fn read_kind(
        &mut self,
        base: &str,
        extent_count: u64,
        c: &SegCtx<'_>,
        pvs: &[Pv],
    ) -> Result<SegKind, VgError> {
        Ok(match base {
            "striped" | "linear" => SegKind::Striped(Striped::read(self, c, extent_count, pvs)?),
            "mirror" => SegKind::Mirror(Mirror::read(self, c, extent_count, pvs)?),
            level if raid::parity(level).is_some() => raid::read(self, level, extent_count, c)?,
            "thin-pool" => SegKind::ThinPool(ThinPool::read(self, c)?),
            "thin" => SegKind::Thin(Thin::read(self, c)?),
            "snapshot" => SegKind::Snapshot(Snapshot::read(self, c)?),
            "cache" => SegKind::Cache(Cache::read(self, c)?),
            "cache-pool" => SegKind::CachePool(CachePool::read(self, c)?),
            "writecache" => SegKind::Writecache(Writecache::read(self, c)?),
            "integrity" => SegKind::Integrity(Integrity::read(self, c)?),
            "vdo" => SegKind::Vdo(Vdo::read(self, c)?),
            "vdo-pool" => SegKind::VdoPool(VdoPool::read(self, c)?),
            "error" => SegKind::Error,
            "zero" => SegKind::Zero,
            _ => SegKind::Unknown {
                type_name: c
                    .sec
                    .value("type")
                    .and_then(|v| v.0.as_str())
                    .unwrap_or(base)
                    .to_string(),
            },
        })
    }

    /// `text_import_areas`: `count` (name, extent) pairs, each naming a PV key or an LV.
    pub(super) fn areas(
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
                l.segments
                    .iter()
                    .flat_map(|s| s.kind.built_from())
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

#[cfg(test)]
mod tests;
