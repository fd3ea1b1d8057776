//! The probe driver: runs the pure parsers of `formats/` over one device through [`ReadAt`],
//! performing the follow-up reads they ask for, and turns read failures into
//! [`ProbeError::Io`] with the device name.

use crate::error::{FormatError, ProbeError};
use crate::source::{self, ReadAt};

pub mod bcache;
pub mod fs;
pub mod luks;
pub mod lvm;
pub mod md;
pub mod part;

/// Reads `len` bytes at `off` of device `name`, bounded by its size and [`source::MAX_READ`].
pub fn read(name: &str, dev: &dyn ReadAt, off: u64, len: u64) -> Result<Vec<u8>, ProbeError> {
    source::read_vec(dev, off, len).map_err(|err| ProbeError::Io {
        device: name.to_string(),
        offset: off,
        len,
        err,
    })
}

/// Reads a fixed-size array at `off` of device `name`.
pub fn read_array<const N: usize>(
    name: &str,
    dev: &dyn ReadAt,
    off: u64,
) -> Result<Box<[u8; N]>, ProbeError> {
    source::read_array::<N>(dev, off).map_err(|err| ProbeError::Io {
        device: name.to_string(),
        offset: off,
        len: u64::try_from(N).unwrap_or(u64::MAX),
        err,
    })
}

/// Wraps a parser error with the device name.
pub fn format_err(name: &str, err: FormatError) -> ProbeError {
    ProbeError::Format {
        device: name.to_string(),
        err,
    }
}

/// What a device holds, as decided by [`probe_device`].
#[derive(Debug, Clone)]
pub enum Content {
    /// Not probed yet, or nothing recognised.
    Unknown,
    PartTable(crate::formats::part::PartTable),
    MdMember(crate::formats::md::MdSuper),
    LvmPv(lvm::PvClaim),
    Fs(crate::formats::fs::FsInfo),
    Evms(crate::formats::evms::EvmsInfo),
    /// Something claimed the device but its metadata is unusable: the error says what.
    Broken(String),
}

impl Content {
    /// Format version where the format has several (blkid VERSION: "1.2", "LVM2 001", "1.0").
    pub fn version(&self) -> Option<String> {
        match self {
            Content::MdMember(sb) => Some(sb.version.to_string()),
            Content::LvmPv(_) => Some("LVM2 001".into()),
            Content::Fs(f) => f.version.clone(),
            _ => None,
        }
    }

    /// Short format name for listings ("gpt", "dos", "md 1.2", "LVM2_member", "ext4", ...).
    pub fn format_name(&self) -> String {
        match self {
            Content::Unknown => String::new(),
            Content::PartTable(pt) => match pt.kind {
                crate::formats::part::PtKind::Gpt => "gpt".into(),
                crate::formats::part::PtKind::Dos => "dos".into(),
            },
            Content::MdMember(_) => "linux_raid_member".into(),
            Content::LvmPv(_) => "LVM2_member".into(),
            Content::Fs(f) => f.fstype.to_string(),
            Content::Evms(_) => "evms".into(),
            Content::Broken(_) => "broken".into(),
        }
    }
}

/// The result of probing one device.
#[derive(Debug)]
pub struct DeviceReport {
    pub content: Content,
    /// Problems that did not decide the content (a bad copy where a good one was used, a
    /// broken structure that lost to another format, ...).
    pub warnings: Vec<ProbeError>,
}

/// True when byte `off` lies inside one of the table's partitions.
fn covered_by_partition(pt: &crate::formats::part::PartTable, off: u64) -> bool {
    pt.parts
        .iter()
        .any(|p| !p.container && p.start <= off && off < p.start.saturating_add(p.size))
}

/// The ordered registry. The order and its reasons (libblkid `superblocks.c`, kernel
/// `check_part[]`):
/// 1. MD superblocks first: RAID members are never read as what they contain. A 1.1/1.2
///    superblock (at the start) decides at once.
/// 2. Containers (IMSM/DDF firmware RAID, bcache, DRBD, LUKS, VDO, BitLocker; the registry's
///    first stage): what they hold is reached only through their own driver, and may show
///    a partition table, a PV label or a filesystem through them (the first IMSM member shows
///    the array's partition table; a DRBD backing device shows the filesystem at 0). A
///    container also wins over an MD superblock at the end, which is then an array built on
///    the container's device, seen through it (blkid names the MD member: a deviation, said
///    in a warning).
/// 3. Partition tables, only on devices that are not partitions themselves (the kernel scans
///    whole disks and MD arrays, kpartx DM devices). GPT before MBR inside `probe_partitions`.
/// 4. A 0.90/1.0 superblock (at the end) on a whole disk whose partition table has a partition
///    covering that spot belongs to that partition (libblkid `linux_raid.c`): the disk is a
///    partitioned disk. Otherwise the device is a member (and its LVM label, if any, is the
///    array's content seen through a member: lvm's md filter does the same).
/// 5. LVM label: a partitioned whole disk is not a PV (lvm's "partitioned" filter).
/// 6. Filesystems (ambiguity between two valid signatures is an error); also on a whole disk
///    whose DOS table has no partition (a filesystem's boot sector, e.g. exFAT's).
/// 7. EVMS feature headers: reported by name, never activated.
pub fn probe_device(name: &str, dev: &dyn ReadAt, whole_disk: bool) -> DeviceReport {
    let prefetched = source::Prefetch::new(dev);
    let dev: &dyn ReadAt = &prefetched;
    let mut warnings = Vec::new();
    let md = match md::probe_md(name, dev) {
        Ok(v) => v,
        Err(e) => {
            warnings.push(e);
            None
        }
    };
    if let Some(sb) = &md {
        if !sb.at_end() {
            return DeviceReport {
                content: Content::MdMember(sb.clone()),
                warnings,
            };
        }
    }
    match fs::probe_containers(name, dev, whole_disk) {
        Ok(Some(c)) => {
            if let Some(sb) = &md {
                warnings.push(format_err(
                    name,
                    FormatError::field(
                        "md",
                        sb.super_offset.saturating_mul(512),
                        "superblock",
                        format!("MD {} superblock at the end", sb.version),
                        format!("none inside a {} device (its array is built on the {} device; blkid names the MD member)", c.fstype, c.fstype),
                    ),
                ));
            }
            warnings.extend(fs::beside_container(name, dev, &c, whole_disk));
            return DeviceReport {
                content: Content::Fs(c),
                warnings,
            };
        }
        Ok(None) => {}
        Err(e) => warnings.push(e),
    }
    let pt = if whole_disk {
        match part::probe_partitions(name, dev) {
            Ok(v) => v,
            Err(e) => {
                warnings.push(e);
                None
            }
        }
    } else {
        None
    };
    if let Some(sb) = md {
        let sb_byte = sb.super_offset.saturating_mul(512);
        match &pt {
            Some(t) if covered_by_partition(t, sb_byte) => {}
            _ => {
                return DeviceReport {
                    content: Content::MdMember(sb),
                    warnings,
                }
            }
        }
    }
    let pv = match lvm::probe_pv(name, dev) {
        Ok(v) => v,
        Err(e) => {
            warnings.push(e);
            None
        }
    };
    if let Some(t) = pt {
        // A DOS signature without a single partition beside a filesystem: the boot sector of
        // a filesystem on the whole disk (exFAT's has 55aa and empty slots). blkid names both
        // (TYPE and PTTYPE); the kernel creates no partition; udev links the filesystem.
        let empty_dos = t.kind == crate::formats::part::PtKind::Dos && t.parts.is_empty();
        if empty_dos && pv.is_none() {
            if let Ok(Some(f)) = fs::probe_filesystem(name, dev) {
                return DeviceReport {
                    content: Content::Fs(f),
                    warnings,
                };
            }
        }
        if pv.is_some() {
            warnings.push(ProbeError::Format {
                device: name.to_string(),
                err: FormatError::field(
                    "LVM2",
                    0,
                    "label",
                    "PV label on a partitioned disk",
                    "no partition table (lvm ignores partitioned disks)",
                ),
            });
        }
        return DeviceReport {
            content: Content::PartTable(t),
            warnings,
        };
    }
    if let Some(c) = pv {
        return DeviceReport {
            content: Content::LvmPv(c),
            warnings,
        };
    }
    match fs::probe_filesystem(name, dev) {
        Ok(Some(f)) => {
            return DeviceReport {
                content: Content::Fs(f),
                warnings,
            }
        }
        Ok(None) => {}
        Err(e) => warnings.push(e),
    }
    match fs::probe_evms(name, dev) {
        Ok(Some(e)) => {
            return DeviceReport {
                content: Content::Evms(e),
                warnings,
            }
        }
        Ok(None) => {}
        Err(e) => warnings.push(e),
    }
    // Nothing valid: the first structure that identified itself but was broken is the verdict.
    let content = match warnings.first() {
        Some(w) => Content::Broken(w.to_string()),
        None => Content::Unknown,
    };
    DeviceReport { content, warnings }
}
