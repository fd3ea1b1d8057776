//! MD RAID superblocks: version 0.90 (either byte order) and 1.0/1.1/1.2, and the geometry to
//! read an assembled array in user space.
//!
//! Sources: kernel `include/uapi/linux/raid/md_p.h` (layout), `drivers/md/md.c`
//! (`super_90_load`, `super_1_load`, `super_1_validate`: what the kernel accepts),
//! `raid0.c`/`raid5.c`/`raid10.c`/`md-linear.c` (sizes); mdadm `super0.c`, `super1.c`,
//! `util.c` (`guess_super_type`). See formats.md §3.
//!
//! Call hierarchy: [`superblock_locations`] says where to read (4096 bytes each); the driver
//! (`probe/md.rs`) reads and calls [`parse_v090`] / [`parse_v1`], then [`check_fits`] with the
//! device size; the engine later calls [`member_area`] per member and [`geom_for`] to get a
//! [`Layout`] of the whole array.
//!
//! Error offsets are absolute byte offsets on the probed device (the parsers are told the
//! sector they were read from), so the driver does not rebase them.

use super::bytes::{be32, be64, le16, le32, le64, u8_at};
use crate::error::FormatError;
use crate::ids::MdUuid;
use crate::source::layout::{Layout, Mapped};
use crate::source::raid::Raid10;
use crate::source::raid::{RaidGeom, RaidLevel};
use std::fmt;
use std::sync::Arc;

/// Field name of the 1.x `super_offset` check, which the driver treats as "another device's
/// superblock" rather than a broken one.
pub const FIELD_SUPER_OFFSET: &str = "super_offset";

/// `MD_SB_MAGIC` (md_p.h); a 0.90 superblock stores it in the writer's byte order.
pub const MD_SB_MAGIC: u32 = 0xA92B_4EFC;
/// Bytes read for one superblock candidate (`MD_SB_BYTES`; 1.x reads 4 KiB too).
pub const SB_BYTES: usize = 4096;
/// `MD_RESERVED_SECTORS`: a 0.90 superblock lives in the last 64 KiB-aligned 64 KiB block.
const MD_RESERVED_SECTORS: u64 = 128;
/// `MD_SB_DISKS`: descriptors in a 0.90 superblock.
pub const MD_SB_DISKS: usize = 27;
/// `(4096 - 256) / 2`: the most `dev_roles` a 1.x superblock can hold (`super_1_load`).
pub const MAX_DEV_1: u32 = 1920;

// 1.x feature_map bits (md_p.h).
pub const FEATURE_BITMAP_OFFSET: u32 = 1;
pub const FEATURE_RECOVERY_OFFSET: u32 = 2;
pub const FEATURE_RESHAPE_ACTIVE: u32 = 4;
pub const FEATURE_BAD_BLOCKS: u32 = 8;
pub const FEATURE_REPLACEMENT: u32 = 16;
pub const FEATURE_RESHAPE_BACKWARDS: u32 = 32;
pub const FEATURE_NEW_OFFSET: u32 = 64;
pub const FEATURE_RECOVERY_BITMAP: u32 = 128;
pub const FEATURE_CLUSTERED: u32 = 256;
pub const FEATURE_JOURNAL: u32 = 512;
pub const FEATURE_PPL: u32 = 1024;
pub const FEATURE_MULTIPLE_PPLS: u32 = 2048;
pub const FEATURE_RAID0_LAYOUT: u32 = 4096;
/// `MD_FEATURE_ALL`: the kernel refuses any other bit.
pub const FEATURE_ALL: u32 = 0x1FFF;

// 1.x dev_roles values (md_p.h).
const ROLE_SPARE: u16 = 0xFFFF;
const ROLE_FAULTY: u16 = 0xFFFE;
const ROLE_JOURNAL: u16 = 0xFFFD;
/// `MD_DISK_ROLE_MAX`: roles below are slot numbers.
const ROLE_MAX: u16 = 0xFF00;

// 0.90 mdp_disk_t state bits and superblock state bits (md_p.h).
pub const DISK_FAULTY: u32 = 1 << 0;
pub const DISK_ACTIVE: u32 = 1 << 1;
pub const DISK_SYNC: u32 = 1 << 2;
pub const DISK_REMOVED: u32 = 1 << 3;
pub const DISK_WRITEMOSTLY: u32 = 1 << 9;
pub const DISK_FAILFAST: u32 = 1 << 10;
const SB_CLEAN: u32 = 1 << 0;
const SB_BITMAP_PRESENT: u32 = 1 << 8;

// RAID levels (md_p.h / md_u.h LEVEL_*).
pub const LEVEL_LINEAR: i32 = -1;
pub const LEVEL_MULTIPATH: i32 = -4;
pub const LEVEL_FAULTY: i32 = -5;

/// RAID0 layouts (kernel `raid0.h` `enum r0layout`); they differ only with several zones.
pub const RAID0_ORIG_LAYOUT: u32 = 1;
pub const RAID0_ALT_MULTIZONE_LAYOUT: u32 = 2;

/// Superblock format version, as mdadm names it (`MD_METADATA`, map file, `--metadata`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MdVersion {
    /// 0.90, host-endian: `big_endian` records the writer's byte order. (A 0.91 superblock,
    /// written during a reshape, is this version too; see [`MdSuper::reshape`].)
    V090 { big_endian: bool },
    /// 1.x, little-endian; `minor` is where the superblock sits: 0 at the end, 1 at sector 0,
    /// 2 at sector 8.
    V1 { minor: u8 },
}

impl fmt::Display for MdVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MdVersion::V090 { .. } => f.write_str("0.90"),
            MdVersion::V1 { minor } => write!(f, "1.{minor}"),
        }
    }
}

/// Where a superblock of some version would be on a device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SbKind {
    V090,
    V1 { minor: u8 },
}

/// One place to read [`SB_BYTES`] bytes and try a parser.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SbLocation {
    pub kind: SbKind,
    /// 512-byte sector of the superblock.
    pub sector: u64,
}

/// What this member is to the array.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MdRole {
    /// Holds slot n (possibly still recovering: see [`MdSuper::recovery_offset`]).
    Active(u32),
    Spare,
    Faulty,
    /// Write journal of a RAID4/5/6 array.
    Journal,
    /// Rebuilding a copy of slot n while the old device is still in use (1.x REPLACEMENT).
    Replacement(u32),
}

/// A reshape in progress (1.x RESHAPE_ACTIVE, 0.91).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reshape {
    /// Array sector up to which the new geometry applies.
    pub position: u64,
    pub new_level: i32,
    pub delta_disks: i32,
    pub new_layout: u32,
    pub new_chunk_sectors: u32,
    /// 1.x NEW_OFFSET: sectors added to `data_offset` in the new geometry.
    pub new_offset: Option<i32>,
    pub backwards: bool,
}

/// A 0.90 `mdp_disk_t` descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct DiskDesc {
    pub number: u32,
    pub major: u32,
    pub minor: u32,
    pub raid_disk: u32,
    pub state: u32,
}

/// A validated MD superblock of one member device. Sizes and offsets are 512-byte sectors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MdSuper {
    pub version: MdVersion,
    /// Array UUID; `mdadm_str()` prints mdadm's `MD_UUID` (for 0.90 the four host-order words).
    pub uuid: MdUuid,
    /// 1.x `set_name` up to its first NUL (mdadm writes `homehost:name`); empty for 0.90.
    pub name: String,
    /// 0.90 preferred minor (`md_minor`).
    pub md_minor: Option<u32>,
    pub level: i32,
    pub layout: u32,
    /// Chunk in sectors (0.90 `chunk_size` is bytes: converted here).
    pub chunk_sectors: u32,
    pub raid_disks: u32,
    pub events: u64,
    /// Creation time, seconds (1.x: the low 40 bits of `ctime`).
    pub ctime: u64,
    /// Microseconds part of 1.x `ctime` (its top 24 bits); 0 for 0.90.
    pub ctime_usec: u32,
    /// Last update, seconds.
    pub utime: u64,
    pub role: MdRole,
    /// 1.x `dev_number` (index into `dev_roles`), 0.90 `this_disk.number`.
    pub dev_number: u32,
    pub device_uuid: Option<[u8; 16]>,
    pub super_offset: u64,
    pub data_offset: u64,
    /// Sectors of this device usable for data (kernel `rdev->sectors` before any rounding).
    pub data_size: u64,
    /// The superblock's `size` field in sectors (0.90: KiB × 2). mdadm writes 0 for 1.x RAID0
    /// and linear, whose members are used up to `data_size`.
    pub size: u64,
    /// Sectors of this member the array uses: `size` for redundant levels; for RAID0 and
    /// linear `data_size` rounded down to the chunk (kernel `create_strip_zones`,
    /// `linear_conf`), which differs between members.
    pub component_size: u64,
    /// Array size in sectors, as the kernel computes it for the level. For RAID0 and linear it
    /// is `raid_disks × component_size`, exact only when all members are the same size: the
    /// exact size is the sum over members, which [`geom_for`] computes.
    pub array_size: u64,
    pub feature_map: u32,
    /// An internal write-intent bitmap is present.
    pub bitmap: bool,
    /// Bitmap start relative to the superblock, sectors (1.x `bitmap_offset`; 0.90: 8).
    pub bitmap_offset: Option<i32>,
    pub reshape: Option<Reshape>,
    /// 1.x RECOVERY_OFFSET: this member is in sync only below this sector.
    pub recovery_offset: Option<u64>,
    /// 1.x `resync_offset` when not all-ones (the array needs a resync from there).
    pub resync_offset: Option<u64>,
    pub clean: bool,
    pub write_mostly: bool,
    pub failfast: bool,
    /// 1.x roles of every device of the array, indexed by `dev_number`.
    pub dev_roles: Vec<u16>,
    /// 0.90 descriptors `disks[0..27]`.
    pub disks: Vec<DiskDesc>,
}

impl MdSuper {
    /// True for the formats whose superblock sits at the end of the device (0.90, 1.0): the
    /// data starts at sector 0, so the device also looks like what the array holds.
    pub fn at_end(&self) -> bool {
        matches!(
            self.version,
            MdVersion::V090 { .. } | MdVersion::V1 { minor: 0 }
        )
    }

    /// `ctime` as mdadm compares it when several superblocks are found on one device
    /// (`guess_super_type` keeps `info.array.ctime`, an int: the low 32 bits).
    pub fn ctime_low32(&self) -> u32 {
        u32::try_from(self.ctime & 0xFFFF_FFFF).unwrap_or(u32::MAX)
    }

    /// The 64-bit 1.x `ctime` as stored (seconds | µs << 40); what `load_super1` compares.
    pub fn ctime_raw(&self) -> u64 {
        self.ctime | (u64::from(self.ctime_usec) << 40)
    }

    /// Near copies, far copies and the offset flag of a RAID10 layout.
    pub fn raid10_copies(&self) -> Option<(u32, u32, bool)> {
        (self.level == 10).then_some((
            self.layout & 0xFF,
            (self.layout >> 8) & 0xFF,
            self.layout & (1 << 16) != 0,
        ))
    }
}

/// The candidate locations in mdadm's order (`superlist`: 0.90 before 1.x; `load_super1` tries
/// 1.0, 1.1, 1.2). A location is listed only if the device is large enough for that version
/// (mdadm: 0.90 needs `MD_RESERVED_SECTORS`, 1.x needs 24 sectors) and the 4 KiB read fits.
pub fn superblock_locations(dev_size_bytes: u64) -> Vec<SbLocation> {
    let s = dev_size_bytes / 512;
    let mut v = Vec::with_capacity(4);
    if s >= MD_RESERVED_SECTORS {
        // MD_NEW_SIZE_SECTORS: the last 64 KiB-aligned 64 KiB block.
        v.push(SbLocation {
            kind: SbKind::V090,
            sector: (s & !(MD_RESERVED_SECTORS - 1)) - MD_RESERVED_SECTORS,
        });
    }
    if s >= 24 {
        v.push(SbLocation {
            kind: SbKind::V1 { minor: 0 },
            sector: (s - 16) & !7,
        });
        v.push(SbLocation {
            kind: SbKind::V1 { minor: 1 },
            sector: 0,
        });
        v.push(SbLocation {
            kind: SbKind::V1 { minor: 2 },
            sector: 8,
        });
    }
    v
}

/// A 0.90 superblock read in its writer's byte order.
struct Sb0<'a> {
    b: &'a [u8; SB_BYTES],
    be: bool,
}

impl Sb0<'_> {
    fn w(&self, off: usize) -> u32 {
        // Offsets used below are constants inside the 4096-byte buffer.
        if self.be {
            be32(self.b, off).unwrap_or(0)
        } else {
            le32(self.b, off).unwrap_or(0)
        }
    }
    /// A u64 in host order: the struct orders its 32-bit halves by host endianness, so reading
    /// the 8 bytes as one native integer gives the value (md_p.h `events_hi/lo`).
    fn q(&self, off: usize) -> u64 {
        if self.be {
            be64(self.b, off).unwrap_or(0)
        } else {
            le64(self.b, off).unwrap_or(0)
        }
    }
    fn desc(&self, off: usize) -> DiskDesc {
        DiskDesc {
            number: self.w(off),
            major: self.w(off + 4),
            minor: self.w(off + 8),
            raid_disk: self.w(off + 12),
            state: self.w(off + 16),
        }
    }
}

/// Sum of 32-bit words folded to 32 bits (`calc_sb_csum`, mdadm `calc_csum`).
fn fold_csum(sum: u64) -> u32 {
    let folded = (sum & 0xFFFF_FFFF) + (sum >> 32);
    u32::try_from(folded & 0xFFFF_FFFF).unwrap_or(0)
}

/// Parses a 0.90 superblock read at `at_sector` (which must be the 0.90 location). Accepts
/// either byte order. Checks what `super_90_load` checks (version, `raid_disks`, checksum,
/// component size) with the full 32-bit checksum (Linux and mdadm write it unfolded), plus the
/// bounds this parser relies on (`raid_disks` and `this_disk.number` below `MD_SB_DISKS`,
/// level, chunk).
pub fn parse_v090(buf: &[u8; SB_BYTES], at_sector: u64) -> Result<Option<MdSuper>, FormatError> {
    const F: &str = "md 0.90";
    let base = at_sector.saturating_mul(512);
    let at = |off: u64| base.saturating_add(off);
    let be = match (le32(buf, 0), be32(buf, 0)) {
        (Some(MD_SB_MAGIC), _) => false,
        (_, Some(MD_SB_MAGIC)) => true,
        _ => return Ok(None),
    };
    let sb = Sb0 { b: buf, be };
    let major_version = sb.w(0x04);
    let minor_version = sb.w(0x08);
    if major_version != 0 {
        return Err(FormatError::field(
            F,
            at(0x04),
            "major_version",
            major_version,
            0,
        ));
    }
    if !(90..=91).contains(&minor_version) {
        return Err(FormatError::field(
            F,
            at(0x08),
            "minor_version",
            minor_version,
            "90 or 91",
        ));
    }
    let raid_disks = sb.w(0x28);
    if raid_disks == 0 || raid_disks > 27 {
        return Err(FormatError::field(
            F,
            at(0x28),
            "raid_disks",
            raid_disks,
            "1..=27 (MD_SB_DISKS)",
        ));
    }
    let stored = sb.w(0x98);
    let mut sum = 0u64;
    for i in 0..SB_BYTES / 4 {
        if i != 0x98 / 4 {
            sum += u64::from(sb.w(i * 4));
        }
    }
    let csum = fold_csum(sum);
    if csum != stored {
        return Err(FormatError::checksum(F, at(0x98), "sb_csum", stored, csum));
    }
    let level = i32::from_ne_bytes(sb.w(0x1C).to_ne_bytes());
    check_level(F, at(0x1C), level)?;
    let size_kib = sb.w(0x20);
    let md_minor = sb.w(0x2C);
    let ctime = u64::from(sb.w(0x18));
    let utime = u64::from(sb.w(0x80));
    let state = sb.w(0x84);
    let events = sb.q(0x9C);
    let layout = sb.w(0x100);
    let chunk_size = sb.w(0x104);
    if chunk_size % 512 != 0 {
        return Err(FormatError::field(
            F,
            at(0x104),
            "chunk_size",
            chunk_size,
            "a multiple of 512 bytes",
        ));
    }
    let chunk_sectors = chunk_size / 512;
    let uuid_words = [sb.w(0x14), sb.w(0x34), sb.w(0x38), sb.w(0x3C)];
    let mut uuid = [0u8; 16];
    for (dst, w) in uuid.chunks_exact_mut(4).zip(uuid_words) {
        dst.copy_from_slice(&w.to_be_bytes());
    }
    let disks: Vec<DiskDesc> = (0..MD_SB_DISKS).map(|i| sb.desc(0x200 + i * 128)).collect();
    let this_disk = sb.desc(0xF80);
    let dev_number = this_disk.number;
    // The kernel takes the role from disks[this_disk.number] (super_90_validate).
    let desc = usize::try_from(dev_number)
        .ok()
        .and_then(|i| disks.get(i))
        .copied()
        .ok_or_else(|| {
            FormatError::field(
                F,
                at(0xF80),
                "this_disk.number",
                dev_number,
                "below 27 (MD_SB_DISKS)",
            )
        })?;
    // 0.91 with a reshape position other than all-ones (mdadm getinfo_super0).
    let reshape = (minor_version >= 91 && sb.q(0xB0) != u64::MAX).then(|| {
        let delta_disks = i32::from_ne_bytes(sb.w(0xBC).to_ne_bytes());
        Reshape {
            position: sb.q(0xB0),
            new_level: i32::from_ne_bytes(sb.w(0xB8).to_ne_bytes()),
            delta_disks,
            new_layout: sb.w(0xC0),
            new_chunk_sectors: sb.w(0xC4) / 512,
            new_offset: None,
            backwards: delta_disks < 0,
        }
    });
    let role = if desc.state & DISK_FAULTY != 0 {
        MdRole::Faulty
    } else if desc.state & DISK_SYNC != 0 || (desc.state & DISK_ACTIVE != 0 && reshape.is_some()) {
        MdRole::Active(desc.raid_disk)
    } else {
        MdRole::Spare
    };
    if let MdRole::Active(slot) = role {
        check_slot(F, at(0xF80 + 12), slot, raid_disks, reshape.as_ref())?;
    }
    // rdev->sectors = sb_start; limited to 2^32 KiB - 1 KiB for levels that record a size.
    let mut data_size = at_sector;
    if level >= 1 {
        data_size = data_size.min((2u64 << 32) - 2);
    }
    let size = u64::from(size_kib) * 2;
    if level >= 1 && size > data_size {
        return Err(FormatError::field(
            F,
            at(0x20),
            "size",
            format!("{size_kib} KiB"),
            format!(
                "at most {} KiB (the space before the superblock)",
                data_size / 2
            ),
        ));
    }
    let geo = Geometry {
        format: F,
        level,
        layout,
        chunk_sectors,
        raid_disks,
        layout_at: at(0x100),
        chunk_at: at(0x104),
        disks_at: at(0x28),
    };
    let (component_size, array_size) = geo.sizes(if level >= 1 { size } else { data_size })?;
    Ok(Some(MdSuper {
        version: MdVersion::V090 { big_endian: be },
        uuid: MdUuid(uuid),
        name: String::new(),
        md_minor: Some(md_minor),
        level,
        layout,
        chunk_sectors,
        raid_disks,
        events,
        ctime,
        ctime_usec: 0,
        utime,
        role,
        dev_number,
        device_uuid: None,
        super_offset: at_sector,
        data_offset: 0,
        data_size,
        size,
        component_size,
        array_size,
        feature_map: 0,
        bitmap: state & SB_BITMAP_PRESENT != 0,
        // mdadm and the kernel put the 0.90 bitmap 4 KiB after the superblock.
        bitmap_offset: (state & SB_BITMAP_PRESENT != 0).then_some(8),
        reshape,
        recovery_offset: None,
        resync_offset: None,
        clean: state & SB_CLEAN != 0,
        write_mostly: desc.state & DISK_WRITEMOSTLY != 0,
        failfast: desc.state & DISK_FAILFAST != 0,
        dev_roles: Vec::new(),
        disks,
    }))
}

/// 1.x `sb_csum` (`calc_sb_1_csum`): LE u32 words over 256 + 2·max_dev bytes with `sb_csum`
/// taken as 0, a trailing u16 added alone, folded to 32 bits. `max_dev` must be checked first.
fn csum_v1(buf: &[u8; SB_BYTES], max_dev: u32) -> u32 {
    let len = 256 + 2 * usize::try_from(max_dev.min(MAX_DEV_1)).unwrap_or(0);
    let mut sum = 0u64;
    let mut off = 0;
    while off + 4 <= len {
        if off != 0xD8 {
            sum += u64::from(le32(buf, off).unwrap_or(0));
        }
        off += 4;
    }
    if len - off == 2 {
        sum += u64::from(le16(buf, off).unwrap_or(0));
    }
    fold_csum(sum)
}

/// Parses a 1.x superblock read at `at_sector` from the location of `minor` (0: end, 1: sector
/// 0, 2: sector 8). Checks what `super_1_load` and `super_1_validate` check: magic, major
/// version, `max_dev`, `super_offset == at_sector`, feature bits (unknown ones are
/// Unsupported), checksum, `data_size`, `pad0`/`pad3` (non-zero padding is a feature this
/// kernel does not know: Unsupported), the data offset behind the superblock, the bad-block
/// log, feature combinations, the data area below a 1.0 superblock; plus the level, roles and
/// geometry this program needs. The device size is checked separately by [`check_fits`].
///
/// A `super_offset` that names another sector is reported as a `super_offset` field error;
/// mdadm and libblkid treat such a superblock as absent (it belongs to a device that starts
/// elsewhere, e.g. a 1.0 member partition ending where its disk ends).
pub fn parse_v1(
    buf: &[u8; SB_BYTES],
    minor: u8,
    at_sector: u64,
) -> Result<Option<MdSuper>, FormatError> {
    let f: &'static str = match minor {
        0 => "md 1.0",
        1 => "md 1.1",
        2 => "md 1.2",
        _ => "md 1.x",
    };
    let base = at_sector.saturating_mul(512);
    let at = |off: u64| base.saturating_add(off);
    let r32 = |off: usize| le32(buf, off).unwrap_or(0);
    let r64 = |off: usize| le64(buf, off).unwrap_or(0);
    let s32 = |off: usize| i32::from_ne_bytes(r32(off).to_ne_bytes());
    if r32(0x00) != MD_SB_MAGIC {
        return Ok(None);
    }
    if minor > 2 {
        return Err(FormatError::unsupported(
            f,
            at(0),
            format!("1.{minor} superblock"),
        ));
    }
    let major_version = r32(0x04);
    if major_version != 1 {
        return Err(FormatError::field(
            f,
            at(0x04),
            "major_version",
            major_version,
            1,
        ));
    }
    let max_dev = r32(0xDC);
    if max_dev > MAX_DEV_1 {
        return Err(FormatError::field(
            f,
            at(0xDC),
            "max_dev",
            max_dev,
            format!("at most {MAX_DEV_1}"),
        ));
    }
    let super_offset = r64(0x90);
    if super_offset != at_sector {
        return Err(FormatError::field(
            f,
            at(0x90),
            FIELD_SUPER_OFFSET,
            super_offset,
            at_sector,
        ));
    }
    let feature_map = r32(0x08);
    if feature_map & !FEATURE_ALL != 0 {
        return Err(FormatError::unsupported(
            f,
            at(0x08),
            format!(
                "feature_map bits {:#x} unknown to this program (and to the kernel)",
                feature_map & !FEATURE_ALL
            ),
        ));
    }
    let stored = r32(0xD8);
    let csum = csum_v1(buf, max_dev);
    if csum != stored {
        return Err(FormatError::checksum(f, at(0xD8), "sb_csum", stored, csum));
    }
    let data_size = r64(0x88);
    if data_size < 10 {
        return Err(FormatError::field(
            f,
            at(0x88),
            "data_size",
            data_size,
            "at least 10",
        ));
    }
    if r32(0x0C) != 0 {
        return Err(FormatError::unsupported(
            f,
            at(0x0C),
            format!("pad0 = {:#x} (padding in use: a newer format)", r32(0x0C)),
        ));
    }
    if let Some(i) = (0xE0..0x100).find(|&i| u8_at(buf, i) != Some(0)) {
        return Err(FormatError::unsupported(
            f,
            at(u64::try_from(i).unwrap_or(0)),
            "pad3 is not zero (padding in use: a newer format)",
        ));
    }
    let data_offset = r64(0x80);
    // The superblock occupies 256 + 2·max_dev bytes rounded up to a sector (the kernel rounds
    // to the logical block size, which a pure parser does not know: 512 is the least).
    let sb_sectors = u64::from(256 + 2 * max_dev).div_ceil(512);
    let reshape_active = feature_map & FEATURE_RESHAPE_ACTIVE != 0;
    let new_offset = (reshape_active && feature_map & FEATURE_NEW_OFFSET != 0).then(|| s32(0x7C));
    if minor != 0 {
        let min = super_offset.saturating_add(sb_sectors);
        if data_offset < min {
            return Err(FormatError::field(
                f,
                at(0x80),
                "data_offset",
                data_offset,
                format!("at least {min} (behind the superblock)"),
            ));
        }
        if let Some(delta) = new_offset {
            let new = data_offset.checked_add_signed(i64::from(delta));
            if new.is_none_or(|n| n < min) {
                return Err(FormatError::field(
                    f,
                    at(0x7C),
                    "new_offset",
                    delta,
                    format!("a new data offset of at least {min}"),
                ));
            }
        }
    }
    if feature_map & FEATURE_BAD_BLOCKS != 0 {
        let bblog_size = le16(buf, 0xBA).unwrap_or(0);
        if bblog_size > 8 {
            return Err(FormatError::field(
                f,
                at(0xBA),
                "bblog_size",
                bblog_size,
                "at most 8 sectors (one page)",
            ));
        }
        if r32(0xBC) == 0 {
            return Err(FormatError::field(
                f,
                at(0xBC),
                "bblog_offset",
                0,
                "non-zero",
            ));
        }
    }
    let level = s32(0x48);
    if feature_map & FEATURE_RAID0_LAYOUT != 0 && level != 0 {
        return Err(FormatError::field(
            f,
            at(0x08),
            "feature_map",
            format!("RAID0_LAYOUT with level {level}"),
            "RAID0_LAYOUT only with level 0",
        ));
    }
    let ppl = feature_map & (FEATURE_PPL | FEATURE_MULTIPLE_PPLS);
    if ppl != 0 && feature_map & (FEATURE_BITMAP_OFFSET | FEATURE_JOURNAL) != 0 {
        return Err(FormatError::field(
            f,
            at(0x08),
            "feature_map",
            format!("{feature_map:#x}"),
            "PPL without a bitmap or journal",
        ));
    }
    if ppl == FEATURE_PPL | FEATURE_MULTIPLE_PPLS {
        return Err(FormatError::field(
            f,
            at(0x08),
            "feature_map",
            format!("{feature_map:#x}"),
            "PPL or MULTIPLE_PPLS, not both",
        ));
    }
    if minor == 0 && data_size > super_offset {
        return Err(FormatError::field(
            f,
            at(0x88),
            "data_size",
            data_size,
            format!("at most {super_offset} (the data ends before the superblock)"),
        ));
    }
    check_level(f, at(0x48), level)?;
    let raid_disks = r32(0x5C);
    if raid_disks == 0 || raid_disks > MAX_DEV_1 {
        return Err(FormatError::field(
            f,
            at(0x5C),
            "raid_disks",
            raid_disks,
            format!("1..={MAX_DEV_1}"),
        ));
    }
    let reshape = reshape_active.then(|| Reshape {
        position: r64(0x68),
        new_level: s32(0x64),
        delta_disks: s32(0x70),
        new_layout: r32(0x74),
        new_chunk_sectors: r32(0x78),
        new_offset,
        backwards: s32(0x70) < 0
            || (s32(0x70) == 0 && feature_map & FEATURE_RESHAPE_BACKWARDS != 0),
    });
    let dev_roles: Vec<u16> = (0..usize::try_from(max_dev).unwrap_or(0))
        .map(|i| le16(buf, 0x100 + 2 * i).unwrap_or(ROLE_SPARE))
        .collect();
    let dev_number = r32(0xA0);
    // super_1_validate: a dev_number outside dev_roles is a spare.
    let raw_role = usize::try_from(dev_number)
        .ok()
        .and_then(|i| dev_roles.get(i))
        .copied()
        .unwrap_or(ROLE_SPARE);
    let role_at = at(0x100 + 2 * u64::from(dev_number.min(MAX_DEV_1)));
    let role = match raw_role {
        ROLE_SPARE => MdRole::Spare,
        ROLE_FAULTY => MdRole::Faulty,
        ROLE_JOURNAL => {
            if feature_map & FEATURE_JOURNAL == 0 {
                return Err(FormatError::field(
                    f,
                    role_at,
                    "dev_roles[dev_number]",
                    "journal",
                    "a journal role only with the JOURNAL feature",
                ));
            }
            MdRole::Journal
        }
        r if r < ROLE_MAX => {
            let slot = u32::from(r);
            check_slot(f, role_at, slot, raid_disks, reshape.as_ref())?;
            if feature_map & FEATURE_REPLACEMENT != 0 {
                MdRole::Replacement(slot)
            } else {
                MdRole::Active(slot)
            }
        }
        r => {
            return Err(FormatError::field(
                f,
                role_at,
                "dev_roles[dev_number]",
                format!("{r:#06x}"),
                "a slot below 0xff00, 0xfffd, 0xfffe or 0xffff",
            ))
        }
    };
    let size = r64(0x50);
    if level >= 1 && size > data_size {
        return Err(FormatError::field(
            f,
            at(0x50),
            "size",
            size,
            format!("at most data_size ({data_size})"),
        ));
    }
    let layout = r32(0x4C);
    let chunk_sectors = r32(0x58);
    let geo = Geometry {
        format: f,
        level,
        layout,
        chunk_sectors,
        raid_disks,
        layout_at: at(0x4C),
        chunk_at: at(0x58),
        disks_at: at(0x5C),
    };
    let (component_size, array_size) = geo.sizes(if level >= 1 { size } else { data_size })?;
    let mut uuid = [0u8; 16];
    uuid.copy_from_slice(buf.get(0x10..0x20).unwrap_or(&[0u8; 16]));
    let mut device_uuid = [0u8; 16];
    device_uuid.copy_from_slice(buf.get(0xA8..0xB8).unwrap_or(&[0u8; 16]));
    let name_bytes = buf.get(0x20..0x40).unwrap_or(&[]);
    let name_end = name_bytes
        .iter()
        .position(|&c| c == 0)
        .unwrap_or(name_bytes.len());
    let ctime_raw = r64(0x40);
    let resync_offset = r64(0xD0);
    let devflags = u8_at(buf, 0xB8).unwrap_or(0);
    let bitmap = feature_map & FEATURE_BITMAP_OFFSET != 0;
    Ok(Some(MdSuper {
        version: MdVersion::V1 { minor },
        uuid: MdUuid(uuid),
        name: String::from_utf8_lossy(name_bytes.get(..name_end).unwrap_or(&[])).into_owned(),
        md_minor: None,
        level,
        layout,
        chunk_sectors,
        raid_disks,
        events: r64(0xC8),
        ctime: ctime_raw & 0xFF_FFFF_FFFF,
        ctime_usec: u32::try_from(ctime_raw >> 40).unwrap_or(0),
        utime: r64(0xC0) & 0xFF_FFFF_FFFF,
        role,
        dev_number,
        device_uuid: Some(device_uuid),
        super_offset,
        data_offset,
        data_size,
        size,
        component_size,
        array_size,
        feature_map,
        bitmap,
        bitmap_offset: bitmap.then(|| s32(0x60)),
        reshape,
        recovery_offset: (feature_map & FEATURE_RECOVERY_OFFSET != 0).then(|| r64(0x98)),
        resync_offset: (resync_offset != u64::MAX).then_some(resync_offset),
        clean: resync_offset == u64::MAX,
        write_mostly: devflags & 1 != 0,
        failfast: devflags & 2 != 0,
        dev_roles,
        disks: Vec::new(),
    }))
}

/// The kernel's size check that needs the device size (`super_1_load`, mdadm `load_super1`):
/// for 1.1/1.2 the data area `data_offset + data_size` must lie within the device. (1.0 and
/// 0.90 keep their data before the superblock, which [`parse_v1`]/[`parse_v090`] check.)
pub fn check_fits(sb: &MdSuper, dev_size_bytes: u64) -> Result<(), FormatError> {
    let MdVersion::V1 { minor } = sb.version else {
        return Ok(());
    };
    if minor == 0 {
        return Ok(());
    }
    let dev_sectors = dev_size_bytes / 512;
    let need = sb.data_offset.saturating_add(sb.data_size);
    if need > dev_sectors {
        let f = if minor == 1 { "md 1.1" } else { "md 1.2" };
        return Err(FormatError::truncated(
            f,
            sb.super_offset.saturating_mul(512).saturating_add(0x88),
            "data_offset + data_size",
            need.saturating_mul(512),
            dev_size_bytes,
        ));
    }
    Ok(())
}

fn check_level(f: &'static str, at: u64, level: i32) -> Result<(), FormatError> {
    match level {
        LEVEL_LINEAR | 0 | 1 | 4 | 5 | 6 | 10 => Ok(()),
        LEVEL_MULTIPATH => Err(FormatError::unsupported(f, at, "level multipath (-4)")),
        LEVEL_FAULTY => Err(FormatError::unsupported(f, at, "level faulty (-5)")),
        _ => Err(FormatError::field(
            f,
            at,
            "level",
            level,
            "-1 (linear), 0, 1, 4, 5, 6 or 10",
        )),
    }
}

fn check_slot(
    f: &'static str,
    at: u64,
    slot: u32,
    raid_disks: u32,
    reshape: Option<&Reshape>,
) -> Result<(), FormatError> {
    // While a reshape removes devices, slots up to the old count are still in use.
    let shrink = reshape.map_or(0, |r| r.delta_disks.min(0).unsigned_abs());
    let limit = raid_disks.saturating_add(shrink);
    if slot >= limit {
        return Err(FormatError::field(
            f,
            at,
            "role",
            format!("slot {slot}"),
            format!("a slot below raid_disks ({limit})"),
        ));
    }
    Ok(())
}

/// Level, layout and chunk as the personalities check them, and the sizes they derive.
struct Geometry {
    format: &'static str,
    level: i32,
    layout: u32,
    chunk_sectors: u32,
    raid_disks: u32,
    layout_at: u64,
    chunk_at: u64,
    disks_at: u64,
}

impl Geometry {
    fn field(
        &self,
        at: u64,
        field: &'static str,
        found: impl fmt::Display,
        exp: &str,
    ) -> FormatError {
        FormatError::field(self.format, at, field, found, exp)
    }

    /// (component_size, array_size) in sectors from `dev_sectors` (the superblock size for
    /// redundant levels, the data area for RAID0 and linear).
    fn sizes(&self, dev_sectors: u64) -> Result<(u64, u64), FormatError> {
        let n = u64::from(self.raid_disks);
        let chunk = u64::from(self.chunk_sectors);
        let overflow = || {
            self.field(
                self.chunk_at,
                "size",
                "overflow",
                "an array size below 2^64",
            )
        };
        match self.level {
            LEVEL_LINEAR => {
                // md-linear.c: each member rounded down to the chunk ("rounding") when set.
                let c = dev_sectors
                    .checked_div(chunk)
                    .map_or(dev_sectors, |q| q * chunk);
                Ok((c, c.checked_mul(n).ok_or_else(overflow)?))
            }
            0 => {
                if chunk == 0 {
                    return Err(self.field(self.chunk_at, "chunk", 0, "a chunk size for RAID0"));
                }
                let c = dev_sectors / chunk * chunk;
                Ok((c, c.checked_mul(n).ok_or_else(overflow)?))
            }
            1 => Ok((dev_sectors, dev_sectors)),
            4..=6 => {
                // raid5.c: a power of two, and whole pages (4 KiB).
                if !self.chunk_sectors.is_power_of_two() || chunk < 8 {
                    return Err(self.field(
                        self.chunk_at,
                        "chunk",
                        format!("{chunk} sectors"),
                        "a power of two of at least 8 sectors",
                    ));
                }
                let parity: u64 = if self.level == 6 { 2 } else { 1 };
                if n <= parity {
                    return Err(self.field(
                        self.disks_at,
                        "raid_disks",
                        n,
                        if parity == 2 {
                            "at least 3 for RAID6"
                        } else {
                            "at least 2"
                        },
                    ));
                }
                let c = dev_sectors / chunk * chunk;
                Ok((c, c.checked_mul(n - parity).ok_or_else(overflow)?))
            }
            10 => {
                let g = Raid10::new(self.layout, self.chunk_sectors, self.raid_disks).map_err(
                    |(what, found, exp)| {
                        let at = if what == "chunk" {
                            self.chunk_at
                        } else {
                            self.layout_at
                        };
                        self.field(at, what, found, &exp)
                    },
                )?;
                Ok((dev_sectors, g.array_sectors(dev_sectors)))
            }
            _ => Err(self.field(self.layout_at, "level", self.level, "a known level")),
        }
    }
}

/// The data area of one member as a [`Layout`]: `data_size` sectors from `data_offset`, read
/// from `dev` (the member device). Build it from that member's own superblock.
pub fn member_area(sb: &MdSuper, dev: crate::source::layout::Src) -> Layout {
    Layout::Slice {
        src: dev,
        offset: sb.data_offset.saturating_mul(512),
        len: sb.data_size.saturating_mul(512),
    }
}

/// `len` bytes from the start of `l`.
fn truncate(l: Layout, len: u64) -> Layout {
    match l {
        Layout::Slice { src, offset, .. } => Layout::Slice { src, offset, len },
        other => Layout::Slice {
            src: Arc::new(Mapped::new(other, 512)),
            offset: 0,
            len,
        },
    }
}

/// The [`Layout`] that reads the assembled array described by `sb` (the freshest superblock of
/// the array), from `members` indexed by slot (role), each that member's [`member_area`] or
/// `None` when missing. Linear becomes a [`Layout::Concat`], the other levels a
/// [`Layout::Raid`]. Reads that need a missing member fail with `NotFound` (RAID1/10 read
/// another copy; RAID4/5/6 rebuild one missing data chunk from parity).
pub fn geom_for(sb: &MdSuper, members: Vec<Option<Layout>>) -> Result<Layout, FormatError> {
    let f = match sb.version {
        MdVersion::V090 { .. } => "md 0.90",
        MdVersion::V1 { .. } => "md 1.x",
    };
    let at = sb.super_offset.saturating_mul(512);
    if let Some(r) = &sb.reshape {
        return Err(FormatError::unsupported(
            f,
            at,
            format!(
                "reading an array during a reshape (position {}): its data lies in two geometries",
                r.position
            ),
        ));
    }
    if members.len() != usize::try_from(sb.raid_disks).unwrap_or(usize::MAX) {
        return Err(FormatError::field(
            f,
            at,
            "members",
            members.len(),
            format!("raid_disks ({})", sb.raid_disks),
        ));
    }
    let chunk = u64::from(sb.chunk_sectors) * 512;
    let component = sb.component_size.saturating_mul(512);
    let missing = |i: usize| {
        FormatError::field(
            f,
            at,
            "members",
            format!("slot {i} missing"),
            "every member of a linear array",
        )
    };
    match sb.level {
        LEVEL_LINEAR => {
            let mut parts = Vec::with_capacity(members.len());
            for (i, m) in members.into_iter().enumerate() {
                let m = m.ok_or_else(|| missing(i))?;
                let len = m.len().checked_div(chunk).map_or(m.len(), |q| q * chunk);
                parts.push(truncate(m, len));
            }
            Ok(Layout::Concat(parts))
        }
        0 => {
            if chunk == 0 {
                return Err(FormatError::field(
                    f,
                    at,
                    "chunk",
                    0,
                    "a chunk size for RAID0",
                ));
            }
            // Zones come from each member's own data size rounded to the chunk
            // (create_strip_zones); a missing member is assumed as large as this one.
            let sizes: Vec<u64> = members
                .iter()
                .map(|m| m.as_ref().map_or(component, |l| l.len() / chunk * chunk))
                .collect();
            let size = sizes
                .iter()
                .try_fold(0u64, |a, &s| a.checked_add(s))
                .ok_or_else(|| {
                    FormatError::field(f, at, "size", "overflow", "an array size below 2^64")
                })?;
            let zoned = sizes.iter().any(|&s| Some(&s) != sizes.first());
            let level = if !zoned {
                RaidLevel::Raid0
            } else if sb.feature_map & FEATURE_RAID0_LAYOUT == 0 {
                return Err(FormatError::unsupported(
                    f,
                    at,
                    "RAID0 with members of different sizes and no recorded layout (the kernel \
                     needs raid0.default_layout=1 or 2 to start it)",
                ));
            } else if sb.layout == RAID0_ORIG_LAYOUT {
                RaidLevel::Raid0
            } else if sb.layout == RAID0_ALT_MULTIZONE_LAYOUT {
                RaidLevel::Raid0AltMultizone
            } else {
                return Err(FormatError::unsupported(
                    f,
                    at,
                    format!("RAID0 layout {}", sb.layout),
                ));
            };
            Ok(Layout::Raid(Box::new(RaidGeom {
                level,
                chunk,
                members,
                member_size: component,
                size,
            })))
        }
        1 | 4 | 5 | 6 | 10 => {
            for (i, m) in members.iter().enumerate() {
                if let Some(l) = m {
                    if l.len() < component {
                        return Err(FormatError::field(
                            f,
                            at,
                            "members",
                            format!("slot {i}: {} bytes of data", l.len()),
                            format!("at least the component size ({component} bytes)"),
                        ));
                    }
                }
            }
            let level = match sb.level {
                1 => RaidLevel::Raid1,
                4 => RaidLevel::Raid4,
                5 if sb.layout <= 5 => RaidLevel::Raid5 {
                    algorithm: sb.layout,
                },
                6 if matches!(sb.layout, 0..=5 | 8..=10 | 16..=20) => RaidLevel::Raid6 {
                    algorithm: sb.layout,
                },
                10 => RaidLevel::Raid10 { layout: sb.layout },
                l => {
                    return Err(FormatError::unsupported(
                        f,
                        at,
                        format!("RAID{l} layout (algorithm) {}", sb.layout),
                    ))
                }
            };
            Ok(Layout::Raid(Box::new(RaidGeom {
                level,
                chunk: if sb.level == 1 { 0 } else { chunk },
                members,
                member_size: component,
                size: sb.array_size.saturating_mul(512),
            })))
        }
        l => Err(FormatError::unsupported(
            f,
            at,
            format!("reading level {l}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    //! Mutate-one-field tests on superblocks written by mdadm 4.2 / Linux 6.1
    //! (`tests/vm/md-fixtures.sh`): each validation branch, with the exact error.
    use super::*;
    use crate::error::ErrorKind;
    use crate::source::sparse::SparseDev;
    use crate::source::ReadAt;
    use std::path::Path;

    fn fixture(scen: &str, file: &str) -> SparseDev {
        let p = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/md/scenarios")
            .join(scen)
            .join(file);
        SparseDev::parse(&std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
            .unwrap()
    }

    /// The 4 KiB superblock at `kind`'s location of a fixture member, and its sector.
    fn window(scen: &str, file: &str, kind: SbKind) -> ([u8; SB_BYTES], u64) {
        let d = fixture(scen, file);
        let loc = superblock_locations(d.size())
            .into_iter()
            .find(|l| l.kind == kind)
            .unwrap();
        let mut b = [0u8; SB_BYTES];
        d.read_exact_at(loc.sector * 512, &mut b).unwrap();
        (b, loc.sector)
    }

    /// A RAID5 1.2 member: sector 8.
    fn v12() -> [u8; SB_BYTES] {
        window("r5-12-ls", "m0.spr", SbKind::V1 { minor: 2 }).0
    }

    fn put32(b: &mut [u8], off: usize, v: u32) {
        b[off..off + 4].copy_from_slice(&v.to_le_bytes());
    }
    fn put64(b: &mut [u8], off: usize, v: u64) {
        b[off..off + 8].copy_from_slice(&v.to_le_bytes());
    }
    /// Rewrites the 1.x checksum so that a later check is reached.
    fn fix1(b: &mut [u8; SB_BYTES]) {
        let max_dev = le32(b, 0xDC).unwrap();
        let c = csum_v1(b, max_dev);
        put32(b, 0xD8, c);
    }
    fn p12(b: &[u8; SB_BYTES]) -> Result<Option<MdSuper>, FormatError> {
        parse_v1(b, 2, 8)
    }
    fn field_err(
        at: u64,
        field: &'static str,
        found: impl fmt::Display,
        expected: impl fmt::Display,
    ) -> FormatError {
        FormatError::field("md 1.2", 4096 + at, field, found, expected)
    }
    fn unsupported(e: &FormatError) -> (&'static str, u64) {
        assert!(e.is_unsupported(), "{e}");
        (e.format, e.offset)
    }

    #[test]
    fn v1_real_superblock_parses() {
        let sb = p12(&v12()).unwrap().unwrap();
        assert_eq!(sb.version, MdVersion::V1 { minor: 2 });
        assert_eq!(sb.version.to_string(), "1.2");
        assert_eq!((sb.level, sb.layout, sb.raid_disks), (5, 2, 3));
        assert_eq!(sb.name, "evmshost:r5-12-ls");
        assert_eq!(sb.role, MdRole::Active(0));
        assert_eq!(sb.super_offset, 8);
        assert_eq!(
            sb.data_offset % u64::from(sb.chunk_sectors),
            0,
            "mdadm aligns it to the chunk"
        );
        assert_eq!(sb.array_size, sb.component_size * 2);
        assert!(sb.clean && !sb.bitmap && sb.reshape.is_none());
    }

    #[test]
    fn v1_magic_absent_is_not_ours() {
        let mut b = v12();
        b[0] ^= 1;
        assert_eq!(p12(&b), Ok(None));
        // A big-endian magic is a 0.90 matter, not 1.x.
        let mut b = v12();
        b[0..4].copy_from_slice(&MD_SB_MAGIC.to_be_bytes());
        assert_eq!(p12(&b), Ok(None));
    }

    #[test]
    fn v1_header_checks() {
        let mut b = v12();
        put32(&mut b, 0x04, 2);
        assert_eq!(p12(&b), Err(field_err(0x04, "major_version", 2, 1)));

        let mut b = v12();
        put32(&mut b, 0xDC, 1921);
        assert_eq!(
            p12(&b),
            Err(field_err(0xDC, "max_dev", 1921, "at most 1920"))
        );

        let mut b = v12();
        put64(&mut b, 0x90, 9);
        assert_eq!(p12(&b), Err(field_err(0x90, FIELD_SUPER_OFFSET, 9, 8)));
        // The same bytes read at another place belong to another device.
        assert_eq!(
            parse_v1(&v12(), 1, 0),
            Err(FormatError::field("md 1.1", 0x90, FIELD_SUPER_OFFSET, 8, 0))
        );

        let mut b = v12();
        put32(&mut b, 0x08, 0x2000);
        let e = p12(&b).unwrap_err();
        assert_eq!(unsupported(&e), ("md 1.2", 4096 + 0x08));
        assert!(e.to_string().contains("0x2000"), "{e}");

        assert_eq!(
            unsupported(&parse_v1(&v12(), 3, 8).unwrap_err()),
            ("md 1.x", 4096)
        );
    }

    #[test]
    fn v1_checksum() {
        let mut b = v12();
        let stored = le32(&b, 0xD8).unwrap();
        b[0x20] ^= 0x20; // one letter of set_name
        let e = p12(&b).unwrap_err();
        assert_eq!(
            e,
            FormatError::checksum(
                "md 1.2",
                4096 + 0xD8,
                "sb_csum",
                stored,
                stored.wrapping_sub(0x20)
            )
        );
        // An odd max_dev adds the last role as one u16 (calc_sb_1_csum).
        let mut b = v12();
        put32(&mut b, 0xDC, 3);
        fix1(&mut b);
        assert!(p12(&b).unwrap().is_some());
    }

    #[test]
    fn v1_padding_and_sizes() {
        let mut b = v12();
        put64(&mut b, 0x88, 9);
        fix1(&mut b);
        assert_eq!(p12(&b), Err(field_err(0x88, "data_size", 9, "at least 10")));

        let mut b = v12();
        put32(&mut b, 0x0C, 1);
        fix1(&mut b);
        assert_eq!(unsupported(&p12(&b).unwrap_err()), ("md 1.2", 4096 + 0x0C));

        let mut b = v12();
        b[0xE5] = 1;
        fix1(&mut b);
        assert_eq!(unsupported(&p12(&b).unwrap_err()), ("md 1.2", 4096 + 0xE5));

        let mut b = v12();
        put64(&mut b, 0x80, 8);
        fix1(&mut b);
        assert_eq!(
            p12(&b),
            Err(field_err(
                0x80,
                "data_offset",
                8,
                "at least 9 (behind the superblock)"
            ))
        );

        let mut b = v12();
        let data_size = le64(&b, 0x88).unwrap();
        put64(&mut b, 0x50, data_size + 1);
        fix1(&mut b);
        assert_eq!(
            p12(&b),
            Err(field_err(
                0x50,
                "size",
                data_size + 1,
                format!("at most data_size ({data_size})")
            ))
        );
    }

    #[test]
    fn v1_feature_combinations() {
        let mut b = v12();
        put32(&mut b, 0x08, FEATURE_BAD_BLOCKS);
        b[0xBA..0xBC].copy_from_slice(&9u16.to_le_bytes());
        fix1(&mut b);
        assert_eq!(
            p12(&b),
            Err(field_err(
                0xBA,
                "bblog_size",
                9,
                "at most 8 sectors (one page)"
            ))
        );
        let mut b = v12();
        put32(&mut b, 0x08, FEATURE_BAD_BLOCKS);
        put32(&mut b, 0xBC, 0);
        fix1(&mut b);
        assert_eq!(p12(&b), Err(field_err(0xBC, "bblog_offset", 0, "non-zero")));

        let mut b = v12();
        put32(&mut b, 0x08, FEATURE_RAID0_LAYOUT);
        fix1(&mut b);
        assert_eq!(
            p12(&b),
            Err(field_err(
                0x08,
                "feature_map",
                "RAID0_LAYOUT with level 5",
                "RAID0_LAYOUT only with level 0"
            ))
        );

        let mut b = v12();
        put32(&mut b, 0x08, FEATURE_PPL | FEATURE_BITMAP_OFFSET);
        fix1(&mut b);
        assert_eq!(
            p12(&b),
            Err(field_err(
                0x08,
                "feature_map",
                "0x401",
                "PPL without a bitmap or journal"
            ))
        );
        let mut b = v12();
        put32(&mut b, 0x08, FEATURE_PPL | FEATURE_MULTIPLE_PPLS);
        fix1(&mut b);
        assert_eq!(
            p12(&b),
            Err(field_err(
                0x08,
                "feature_map",
                "0xc00",
                "PPL or MULTIPLE_PPLS, not both"
            ))
        );

        let mut b = v12();
        let back = -i32::try_from(le64(&b, 0x80).unwrap()).unwrap();
        put32(&mut b, 0x08, FEATURE_RESHAPE_ACTIVE | FEATURE_NEW_OFFSET);
        put32(&mut b, 0x7C, back as u32);
        fix1(&mut b);
        assert_eq!(
            p12(&b),
            Err(field_err(
                0x7C,
                "new_offset",
                back,
                "a new data offset of at least 9"
            ))
        );
        // A reshape with a valid new offset parses; reading waits for the reshape to end.
        let mut b = v12();
        put32(&mut b, 0x08, FEATURE_RESHAPE_ACTIVE | FEATURE_NEW_OFFSET);
        put32(&mut b, 0x7C, (-1024i32) as u32);
        fix1(&mut b);
        let r = p12(&b).unwrap().unwrap().reshape.unwrap();
        assert_eq!(r.new_offset, Some(-1024));
    }

    #[test]
    fn v1_level_and_disks() {
        let mut b = v12();
        put32(&mut b, 0x48, 7);
        fix1(&mut b);
        assert_eq!(
            p12(&b),
            Err(field_err(
                0x48,
                "level",
                7,
                "-1 (linear), 0, 1, 4, 5, 6 or 10"
            ))
        );
        let mut b = v12();
        put32(&mut b, 0x48, (-4i32) as u32);
        fix1(&mut b);
        assert_eq!(unsupported(&p12(&b).unwrap_err()), ("md 1.2", 4096 + 0x48));

        for n in [0u32, 1921] {
            let mut b = v12();
            put32(&mut b, 0x5C, n);
            fix1(&mut b);
            assert_eq!(p12(&b), Err(field_err(0x5C, "raid_disks", n, "1..=1920")));
        }
        // RAID5 needs two devices.
        let mut b = v12();
        put32(&mut b, 0x5C, 1);
        fix1(&mut b);
        assert_eq!(p12(&b), Err(field_err(0x5C, "raid_disks", 1, "at least 2")));
    }

    #[test]
    fn v1_roles() {
        let sb = p12(&v12()).unwrap().unwrap();
        let role_at = 0x100 + 2 * sb.dev_number as usize;
        let set_role = |r: u16, features: u32| {
            let mut b = v12();
            b[role_at..role_at + 2].copy_from_slice(&r.to_le_bytes());
            put32(&mut b, 0x08, features);
            fix1(&mut b);
            b
        };
        let at = role_at as u64;
        assert_eq!(
            p12(&set_role(0xFFFF, 0)).unwrap().unwrap().role,
            MdRole::Spare
        );
        assert_eq!(
            p12(&set_role(0xFFFE, 0)).unwrap().unwrap().role,
            MdRole::Faulty
        );
        assert_eq!(
            p12(&set_role(0xFFFD, 0)),
            Err(field_err(
                at,
                "dev_roles[dev_number]",
                "journal",
                "a journal role only with the JOURNAL feature"
            ))
        );
        assert_eq!(
            p12(&set_role(0xFFFD, FEATURE_JOURNAL))
                .unwrap()
                .unwrap()
                .role,
            MdRole::Journal
        );
        assert_eq!(
            p12(&set_role(0xFF00, 0)),
            Err(field_err(
                at,
                "dev_roles[dev_number]",
                "0xff00",
                "a slot below 0xff00, 0xfffd, 0xfffe or 0xffff"
            ))
        );
        assert_eq!(
            p12(&set_role(3, 0)),
            Err(field_err(
                at,
                "role",
                "slot 3",
                "a slot below raid_disks (3)"
            ))
        );
        assert_eq!(
            p12(&set_role(2, FEATURE_REPLACEMENT))
                .unwrap()
                .unwrap()
                .role,
            MdRole::Replacement(2)
        );
        // Recovering: in the array, in sync only below recovery_offset.
        let mut b = v12();
        put32(&mut b, 0x08, FEATURE_RECOVERY_OFFSET);
        put64(&mut b, 0x98, 1234);
        fix1(&mut b);
        let r = p12(&b).unwrap().unwrap();
        assert_eq!((r.role, r.recovery_offset), (MdRole::Active(0), Some(1234)));
        // A dev_number outside dev_roles is a spare (super_1_validate).
        let mut b = v12();
        put32(&mut b, 0xA0, 500);
        fix1(&mut b);
        assert_eq!(p12(&b).unwrap().unwrap().role, MdRole::Spare);
    }

    #[test]
    fn v1_geometry_checks() {
        let mut b = v12();
        put32(&mut b, 0x58, 12);
        fix1(&mut b);
        assert_eq!(
            p12(&b),
            Err(field_err(
                0x58,
                "chunk",
                "12 sectors",
                "a power of two of at least 8 sectors"
            ))
        );
        let mut b = v12();
        put32(&mut b, 0x48, 0);
        put32(&mut b, 0x58, 0);
        fix1(&mut b);
        assert_eq!(
            p12(&b),
            Err(field_err(0x58, "chunk", 0, "a chunk size for RAID0"))
        );
        for (layout, found) in [
            (0x100u32, "0x100 (near 0, far 1) on 3 devices"),
            (0x104, "0x104 (near 4, far 1) on 3 devices"),
        ] {
            let mut b = v12();
            put32(&mut b, 0x48, 10);
            put32(&mut b, 0x4C, layout);
            fix1(&mut b);
            assert_eq!(
                p12(&b),
                Err(field_err(0x4C, "layout", found, "2 to raid_disks copies"))
            );
        }
        let mut b = v12();
        put32(&mut b, 0x48, 10);
        put32(&mut b, 0x4C, 1 << 19 | 0x102);
        fix1(&mut b);
        assert_eq!(
            p12(&b),
            Err(field_err(0x4C, "layout", "0x80102", "no bits above 18"))
        );
    }

    #[test]
    fn v10_and_v11_locations() {
        let (b, at) = window("r1-10-bitmap", "m0.spr", SbKind::V1 { minor: 0 });
        let sb = parse_v1(&b, 0, at).unwrap().unwrap();
        assert_eq!(sb.version.to_string(), "1.0");
        assert!(sb.bitmap && sb.bitmap_offset.is_some_and(|o| o < 0));
        // The data of a 1.0 member ends before its superblock.
        let mut b2 = b;
        put64(&mut b2, 0x88, at + 1);
        fix1(&mut b2);
        assert_eq!(
            parse_v1(&b2, 0, at),
            Err(FormatError::field(
                "md 1.0",
                at * 512 + 0x88,
                "data_size",
                at + 1,
                format!("at most {at} (the data ends before the superblock)")
            ))
        );
        let (b, at) = window("r0-11-zones", "m0.spr", SbKind::V1 { minor: 1 });
        assert_eq!(at, 0);
        let sb = parse_v1(&b, 1, 0).unwrap().unwrap();
        assert_eq!(
            (sb.level, sb.layout, sb.feature_map),
            (0, RAID0_ORIG_LAYOUT, FEATURE_RAID0_LAYOUT)
        );
        assert_eq!(sb.size, 0);
        assert_eq!(sb.component_size, sb.data_size / 128 * 128);
    }

    #[test]
    fn check_fits_needs_the_data_area_on_the_device() {
        let sb = p12(&v12()).unwrap().unwrap();
        let need = (sb.data_offset + sb.data_size) * 512;
        assert_eq!(check_fits(&sb, need), Ok(()));
        assert_eq!(
            check_fits(&sb, need - 512),
            Err(FormatError::truncated(
                "md 1.2",
                4096 + 0x88,
                "data_offset + data_size",
                need,
                need - 512
            ))
        );
    }

    // --- 0.90

    fn v090(file: &str) -> ([u8; SB_BYTES], u64) {
        window("r1-090", file, SbKind::V090)
    }
    /// Rewrites the 0.90 checksum in the superblock's own byte order.
    fn fix0(b: &mut [u8; SB_BYTES]) {
        let be = be32(b, 0) == Some(MD_SB_MAGIC);
        let rd = |b: &[u8; SB_BYTES], o| {
            if be {
                be32(b, o).unwrap()
            } else {
                le32(b, o).unwrap()
            }
        };
        let sum: u64 = (0..1024)
            .filter(|&i| i != 0x98 / 4)
            .map(|i| u64::from(rd(b, i * 4)))
            .sum();
        let c = fold_csum(sum);
        b[0x98..0x9C].copy_from_slice(&if be { c.to_be_bytes() } else { c.to_le_bytes() });
    }
    fn put(b: &mut [u8; SB_BYTES], off: usize, v: u32) {
        let be = be32(b, 0) == Some(MD_SB_MAGIC);
        b[off..off + 4].copy_from_slice(&if be { v.to_be_bytes() } else { v.to_le_bytes() });
    }
    fn f0(
        at: u64,
        o: u64,
        field: &'static str,
        found: impl fmt::Display,
        exp: impl fmt::Display,
    ) -> FormatError {
        FormatError::field("md 0.90", at * 512 + o, field, found, exp)
    }

    #[test]
    fn v090_both_byte_orders() {
        for file in ["m0.spr", "m0-be.spr"] {
            let (b, at) = v090(file);
            let sb = parse_v090(&b, at).unwrap().unwrap();
            assert_eq!(
                sb.version,
                MdVersion::V090 {
                    big_endian: file.contains("be")
                }
            );
            assert_eq!((sb.level, sb.raid_disks, sb.md_minor), (1, 2, Some(0)));
            assert_eq!(sb.role, MdRole::Active(0));
            assert_eq!(sb.uuid.mdadm_str(), "8431c32e:f72e48f0:c06c2d44:3dd60693");

            let mut x = b;
            x[0] ^= 0xFF;
            assert_eq!(parse_v090(&x, at), Ok(None), "{file}");

            let mut x = b;
            put(&mut x, 0x04, 1);
            assert_eq!(
                parse_v090(&x, at),
                Err(f0(at, 0x04, "major_version", 1, 0)),
                "{file}"
            );
            let mut x = b;
            put(&mut x, 0x08, 92);
            assert_eq!(
                parse_v090(&x, at),
                Err(f0(at, 0x08, "minor_version", 92, "90 or 91")),
                "{file}"
            );
            for n in [0, 28] {
                let mut x = b;
                put(&mut x, 0x28, n);
                assert_eq!(
                    parse_v090(&x, at),
                    Err(f0(at, 0x28, "raid_disks", n, "1..=27 (MD_SB_DISKS)"))
                );
            }

            let mut x = b;
            let stored = if file.contains("be") {
                be32(&x, 0x98)
            } else {
                le32(&x, 0x98)
            }
            .unwrap();
            put(&mut x, 0x80, sb.utime as u32 + 1);
            assert_eq!(
                parse_v090(&x, at),
                Err(FormatError::checksum(
                    "md 0.90",
                    at * 512 + 0x98,
                    "sb_csum",
                    stored,
                    stored.wrapping_add(1)
                ))
            );

            let mut x = b;
            put(&mut x, 0x1C, 7);
            fix0(&mut x);
            assert_eq!(
                parse_v090(&x, at),
                Err(f0(at, 0x1C, "level", 7, "-1 (linear), 0, 1, 4, 5, 6 or 10"))
            );
            let mut x = b;
            put(&mut x, 0x104, 1000);
            fix0(&mut x);
            assert_eq!(
                parse_v090(&x, at),
                Err(f0(at, 0x104, "chunk_size", 1000, "a multiple of 512 bytes"))
            );
            let mut x = b;
            put(&mut x, 0xF80, 27);
            fix0(&mut x);
            assert_eq!(
                parse_v090(&x, at),
                Err(f0(
                    at,
                    0xF80,
                    "this_disk.number",
                    27,
                    "below 27 (MD_SB_DISKS)"
                ))
            );
            let mut x = b;
            put(&mut x, 0x20, u32::try_from(at / 2 + 1).unwrap());
            fix0(&mut x);
            assert_eq!(
                parse_v090(&x, at),
                Err(f0(
                    at,
                    0x20,
                    "size",
                    format!("{} KiB", at / 2 + 1),
                    format!("at most {} KiB (the space before the superblock)", at / 2)
                ))
            );
            // The role comes from disks[this_disk.number]: faulty there means faulty.
            let mut x = b;
            put(&mut x, 0x200 + 16, DISK_FAULTY);
            fix0(&mut x);
            assert_eq!(parse_v090(&x, at).unwrap().unwrap().role, MdRole::Faulty);
            let mut x = b;
            put(&mut x, 0x200 + 16, 0);
            fix0(&mut x);
            assert_eq!(parse_v090(&x, at).unwrap().unwrap().role, MdRole::Spare);
            // 0.91: a reshape in progress; readable only after it completes.
            let mut x = b;
            put(&mut x, 0x08, 91);
            fix0(&mut x);
            let r = parse_v090(&x, at).unwrap().unwrap();
            assert!(r.reshape.is_some());
            let e = geom_for(&r, vec![None, None]).err().unwrap();
            assert!(e.is_unsupported(), "{e}");
        }
    }

    #[test]
    fn locations_follow_mdadm() {
        let l = superblock_locations(16 << 20);
        let s = (16u64 << 20) / 512;
        assert_eq!(
            l,
            vec![
                SbLocation {
                    kind: SbKind::V090,
                    sector: s - 128
                },
                SbLocation {
                    kind: SbKind::V1 { minor: 0 },
                    sector: s - 16
                },
                SbLocation {
                    kind: SbKind::V1 { minor: 1 },
                    sector: 0
                },
                SbLocation {
                    kind: SbKind::V1 { minor: 2 },
                    sector: 8
                },
            ]
        );
        // Odd sizes: 0.90 in the last 64 KiB-aligned block, 1.0 4 KiB-aligned 8-12 KiB before
        // the end.
        let l = superblock_locations((1000 << 9) + 100);
        assert_eq!(l[0].sector, 1000 / 128 * 128 - 128);
        assert_eq!(l[1].sector, (1000 - 16) & !7);
        assert_eq!(superblock_locations(23 * 512), vec![]);
        assert_eq!(superblock_locations(127 * 512).len(), 3);
    }

    #[test]
    fn geom_for_refuses_what_it_cannot_read() {
        let sb = p12(&v12()).unwrap().unwrap();
        let e = geom_for(&sb, vec![None]).err().unwrap();
        assert_eq!(
            e,
            FormatError::field("md 1.x", 4096, "members", 1, "raid_disks (3)")
        );
        let short = Layout::Slice {
            src: Arc::new(crate::source::MemDev::new(vec![0; 512])),
            offset: 0,
            len: 512,
        };
        let e = geom_for(&sb, vec![Some(short), None, None]).err().unwrap();
        assert!(
            matches!(
                e.kind,
                ErrorKind::Field {
                    field: "members",
                    ..
                }
            ),
            "{e}"
        );
        let mut odd = sb.clone();
        odd.layout = 7;
        assert!(geom_for(&odd, vec![None, None, None])
            .err()
            .unwrap()
            .is_unsupported());
        let mut r6 = sb.clone();
        r6.level = 6;
        r6.layout = 11;
        assert!(geom_for(&r6, vec![None, None, None])
            .err()
            .unwrap()
            .is_unsupported());
        // RAID0 with members of different sizes needs the recorded layout.
        let mut r0 = sb.clone();
        r0.level = 0;
        r0.feature_map = 0;
        let mem = |n: usize| {
            Some(Layout::Slice {
                src: Arc::new(crate::source::MemDev::new(vec![0; n])),
                offset: 0,
                len: n as u64,
            })
        };
        let e = geom_for(&r0, vec![mem(1 << 20), mem(2 << 20), mem(1 << 20)])
            .err()
            .unwrap();
        assert!(e.is_unsupported(), "{e}");
        r0.feature_map = FEATURE_RAID0_LAYOUT;
        r0.layout = RAID0_ALT_MULTIZONE_LAYOUT;
        let l = geom_for(&r0, vec![mem(1 << 20), mem(2 << 20), mem(1 << 20)]).unwrap();
        assert_eq!(l.len(), 4 << 20);
        // Linear needs every member.
        let mut lin = sb;
        lin.level = LEVEL_LINEAR;
        lin.chunk_sectors = 0;
        let e = geom_for(&lin, vec![mem(4096), None, mem(4096)])
            .err()
            .unwrap();
        assert_eq!(
            e,
            FormatError::field(
                "md 1.x",
                4096,
                "members",
                "slot 1 missing",
                "every member of a linear array"
            )
        );
    }
}
