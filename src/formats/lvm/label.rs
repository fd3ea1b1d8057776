//! The LVM2 label (`label_header`, lvm2 `lib/label/label.h`, `label.c`) and the `pv_header`
//! that follows it (`lib/format_text/layout.h`, `text_label.c`), formats.md §1.2–§1.3.
//!
//! lvm2 scans sectors 0–3 (`LABEL_SCAN_SECTORS`). A sector is a label when it starts with
//! `LABELONE`, its `sector_xl` names the sector it sits in, its CRC over bytes 0x14..0x200
//! matches, and its type is `LVM2 001`. The first such sector wins; lvm2 ignores later ones
//! with an error, which becomes a warning here. A `LABELONE` sector that fails a check is
//! reported as broken if no valid label follows, and as a warning if one does.

use super::FORMAT;
use crate::error::FormatError;
use crate::formats::bytes::{arr, le32, le64, lvm_crc};
use crate::ids::LvmId;

/// `LABEL_ID` (`label.h`).
pub const LABEL_ID: &[u8; 8] = b"LABELONE";
/// `LVM2_LABEL` (`format-text.h`): the text-format labeller's type.
pub const LVM2_LABEL: &[u8; 8] = b"LVM2 001";
/// `LABEL_SIZE` (`label.h`).
pub const LABEL_SIZE: usize = 512;
/// `LABEL_SCAN_SECTORS` (`label.h`).
pub const LABEL_SCAN_SECTORS: usize = 4;
/// Bytes the label scan reads from the start of the device.
pub const LABEL_SCAN_SIZE: usize = LABEL_SIZE * LABEL_SCAN_SECTORS;
/// `PV_EXT_USED` (`layout.h`): the PV belongs to a VG.
pub const PV_EXT_USED: u32 = 0x1;

// struct label_header (label.h)
const LH_SECTOR_XL: usize = 0x08;
const LH_CRC_XL: usize = 0x10;
const LH_OFFSET_XL: usize = 0x14;
const LH_TYPE: usize = 0x18;
const LABEL_HEADER_SIZE: usize = 0x20;
// struct pv_header (layout.h): pv_uuid[ID_LEN], device_size_xl, disk_areas_xl[]
const PVH_DEVICE_SIZE: usize = 32;
const PVH_DISK_AREAS: usize = 40;
const DISK_LOCN_SIZE: usize = 16;
/// The reader's bound on `offset_xl` (`LABEL_SIZE - sizeof(struct pv_header)`).
const MAX_OFFSET_XL: usize = LABEL_SIZE - PVH_DISK_AREAS;

/// `struct disk_locn`: a byte range on the PV device (`size` 0 = to the end of the device).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskLocn {
    pub offset: u64,
    pub size: u64,
}

/// A valid PV label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PvLabel {
    /// Sector (0–3) the label was found in.
    pub sector: u64,
    pub pv_id: LvmId,
    /// `device_size_xl`, in bytes.
    pub device_size: u64,
    /// Data areas; in practice one, at `pe_start` bytes with size 0.
    pub data_areas: Vec<DiskLocn>,
    /// Metadata areas (mda headers), at most two as lvm2 writes them.
    pub metadata_areas: Vec<DiskLocn>,
    /// `pv_header_extension.version`; 0 when there is no extension.
    pub ext_version: u32,
    pub ext_flags: u32,
    pub bootloader_areas: Vec<DiskLocn>,
}

impl PvLabel {
    /// Start of the first data area in bytes (lvm2 uses it as `pe_start` when the metadata
    /// does not say otherwise).
    pub fn pe_start_bytes(&self) -> Option<u64> {
        self.data_areas.first().map(|d| d.offset)
    }

    /// `PV_EXT_USED`: the PV is a member of a VG (extension version 2 and later).
    pub fn in_use(&self) -> bool {
        self.ext_version >= 2 && self.ext_flags & PV_EXT_USED != 0
    }
}

/// Scans the first four sectors of a device.
///
/// `Ok(None)`: no sector starts with `LABELONE`. `Err`: only broken labels. `Ok(Some((label,
/// warnings)))`: the first valid label, with broken or additional labels as warnings. Error
/// offsets are absolute (the buffer is the start of the device).
pub fn parse_label(
    first4: &[u8; LABEL_SCAN_SIZE],
) -> Result<Option<(PvLabel, Vec<FormatError>)>, FormatError> {
    let mut found: Option<PvLabel> = None;
    let mut first_broken: Option<FormatError> = None;
    let mut warnings = Vec::new();
    for s in 0..LABEL_SCAN_SECTORS {
        let base = s * LABEL_SIZE;
        let Some(sector) = first4.get(base..base + LABEL_SIZE) else {
            break;
        };
        if sector.get(..LABEL_ID.len()) != Some(&LABEL_ID[..]) {
            continue;
        }
        match parse_sector(sector, s) {
            Ok(label) => match &found {
                None => found = Some(label),
                Some(first) => warnings.push(FormatError::field(
                    FORMAT,
                    abs(base),
                    "label_header",
                    format!("another valid label in sector {s}"),
                    format!(
                        "the only label (the one in sector {} is used)",
                        first.sector
                    ),
                )),
            },
            Err(e) => {
                if found.is_none() && first_broken.is_none() {
                    first_broken = Some(e);
                } else {
                    warnings.push(e);
                }
            }
        }
    }
    match (found, first_broken) {
        (Some(label), broken) => {
            if let Some(e) = broken {
                warnings.insert(0, e);
            }
            Ok(Some((label, warnings)))
        }
        (None, Some(e)) => Err(e),
        (None, None) => Ok(None),
    }
}

fn abs(off: usize) -> u64 {
    u64::try_from(off).unwrap_or(u64::MAX)
}

/// Checks one `LABELONE` sector (index `s`) and reads its pv_header.
fn parse_sector(sector: &[u8], s: usize) -> Result<PvLabel, FormatError> {
    let base = s * LABEL_SIZE;
    let at = |off: usize| abs(base + off);
    let short = |off: usize, field| {
        FormatError::truncated(FORMAT, at(off), field, abs(LABEL_SIZE), abs(sector.len()))
    };

    let sector_xl = le64(sector, LH_SECTOR_XL).ok_or_else(|| short(LH_SECTOR_XL, "sector_xl"))?;
    if sector_xl != abs(s) {
        return Err(FormatError::field(
            FORMAT,
            at(LH_SECTOR_XL),
            "sector_xl",
            sector_xl,
            s,
        ));
    }
    let crc_xl = le32(sector, LH_CRC_XL).ok_or_else(|| short(LH_CRC_XL, "crc_xl"))?;
    let covered = sector
        .get(LH_OFFSET_XL..LABEL_SIZE)
        .ok_or_else(|| short(LH_OFFSET_XL, "crc_xl"))?;
    let crc = lvm_crc(covered);
    if crc != crc_xl {
        return Err(FormatError::checksum(
            FORMAT,
            at(LH_CRC_XL),
            "crc_xl",
            crc_xl,
            crc,
        ));
    }
    let offset_xl = le32(sector, LH_OFFSET_XL).ok_or_else(|| short(LH_OFFSET_XL, "offset_xl"))?;
    let pvh = usize::try_from(offset_xl).unwrap_or(usize::MAX);
    if !(LABEL_HEADER_SIZE..=MAX_OFFSET_XL).contains(&pvh) {
        return Err(FormatError::field(
            FORMAT,
            at(LH_OFFSET_XL),
            "offset_xl",
            offset_xl,
            format!("{LABEL_HEADER_SIZE}..={MAX_OFFSET_XL}"),
        ));
    }
    let ty = arr::<8>(sector, LH_TYPE).ok_or_else(|| short(LH_TYPE, "type"))?;
    if &ty != LVM2_LABEL {
        return Err(FormatError::unsupported(
            FORMAT,
            at(LH_TYPE),
            format!(
                "label type {:?} (only the text format \"LVM2 001\" exists in lvm2 2.x)",
                String::from_utf8_lossy(&ty)
            ),
        ));
    }

    let raw_id = arr::<32>(sector, pvh).ok_or_else(|| short(pvh, "pv_uuid"))?;
    let pv_id = LvmId::from_raw(&raw_id).ok_or_else(|| {
        FormatError::field(
            FORMAT,
            at(pvh),
            "pv_uuid",
            format!("{:?}", String::from_utf8_lossy(&raw_id)),
            "32 characters from 0-9a-zA-Z!#",
        )
    })?;
    let device_size = le64(sector, pvh + PVH_DEVICE_SIZE)
        .ok_or_else(|| short(pvh + PVH_DEVICE_SIZE, "device_size_xl"))?;

    let mut pos = pvh + PVH_DISK_AREAS;
    let data_areas = walk_list(sector, base, &mut pos, "disk_areas_xl (data areas)")?;
    let metadata_areas = walk_list(sector, base, &mut pos, "disk_areas_xl (metadata areas)")?;

    // The extension is used only when it fits in the sector (text_label.c).
    let (mut ext_version, mut ext_flags, mut bootloader_areas) = (0, 0, Vec::new());
    if let (Some(version), Some(flags)) = (le32(sector, pos), le32(sector, pos + 4)) {
        if version != 0 {
            ext_version = version;
            ext_flags = flags;
            let mut ba = pos + 8;
            bootloader_areas = walk_list(sector, base, &mut ba, "bootloader_areas_xl")?;
        }
    }

    Ok(PvLabel {
        sector: abs(s),
        pv_id,
        device_size,
        data_areas,
        metadata_areas,
        ext_version,
        ext_flags,
        bootloader_areas,
    })
}

/// Reads a `disk_locn` list ended by an entry with offset 0; the list must end inside the
/// sector (`label_check_pv_layout`). Bounded by the sector size.
fn walk_list(
    sector: &[u8],
    base: usize,
    pos: &mut usize,
    field: &'static str,
) -> Result<Vec<DiskLocn>, FormatError> {
    let mut out = Vec::new();
    loop {
        let (Some(offset), Some(size)) = (le64(sector, *pos), le64(sector, *pos + 8)) else {
            return Err(FormatError::field(
                FORMAT,
                abs(base + (*pos).min(LABEL_SIZE)),
                field,
                "no terminating entry before the end of the label sector",
                "a list ended by an entry with offset 0",
            ));
        };
        *pos += DISK_LOCN_SIZE;
        if offset == 0 {
            return Ok(out);
        }
        out.push(DiskLocn { offset, size });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::formats::lvm::fixtures::{self, Fixture};

    /// Recomputes the label CRC after a mutation, so that only the mutated check fires.
    fn fix_crc(buf: &mut [u8; LABEL_SCAN_SIZE], s: usize) {
        let b = s * LABEL_SIZE;
        let crc = lvm_crc(&buf[b + LH_OFFSET_XL..b + LABEL_SIZE]);
        buf[b + LH_CRC_XL..b + LH_CRC_XL + 4].copy_from_slice(&crc.to_le_bytes());
    }

    fn head(f: &Fixture, disk: &str) -> [u8; LABEL_SCAN_SIZE] {
        let d = f.disk(disk);
        *crate::source::read_array::<LABEL_SCAN_SIZE>(&d, 0).unwrap()
    }

    /// Every field of every fixture's label against `pvck --dump headers`.
    #[test]
    fn golden_labels() {
        let mut checked = 0;
        for f in fixtures::all() {
            for disk in f.disks() {
                let h = f.headers(&disk);
                let (label, warnings) = parse_label(&head(&f, &disk)).unwrap().unwrap();
                assert!(warnings.is_empty(), "{}/{disk}: {warnings:?}", f.name);
                let ctx = format!("{}/{disk}", f.name);
                let lh = h.num("label_header at") / 512;
                assert_eq!(label.sector, lh, "{ctx}");
                assert_eq!(h.num("label_header.sector"), label.sector, "{ctx}");
                assert_eq!(h.get("label_header.id"), "LABELONE");
                assert_eq!(h.get("label_header.type"), "LVM2 001");
                assert_eq!(label.pv_id.as_str(), h.get("pv_header.pv_uuid"), "{ctx}");
                assert_eq!(label.device_size, h.num("pv_header.device_size"), "{ctx}");
                // pvck numbers the locations of both lists (and their terminators) in one run.
                let mut i = 0;
                let mut next = |list: &[DiskLocn]| {
                    for d in list {
                        assert_eq!(d.offset, h.num(&format!("pv_header.disk_locn[{i}].offset")));
                        assert_eq!(d.size, h.num(&format!("pv_header.disk_locn[{i}].size")));
                        i += 1;
                    }
                    assert_eq!(h.num(&format!("pv_header.disk_locn[{i}].offset")), 0);
                    i += 1;
                };
                next(&label.data_areas);
                next(&label.metadata_areas);
                assert_eq!(
                    label.ext_version,
                    h.num("pv_header_extension.version") as u32
                );
                assert_eq!(label.ext_flags, h.num("pv_header_extension.flags") as u32);
                assert!(label.in_use(), "{ctx}");
                assert!(label.bootloader_areas.is_empty());
                assert_eq!(h.num("pv_header_extension.disk_locn[0].offset"), 0);
                let pv = f.pv_row(&disk);
                assert_eq!(
                    label.pe_start_bytes(),
                    Some(pv.num("pe_start") * 512),
                    "{ctx}"
                );
                assert_eq!(
                    label.metadata_areas.len() as u64,
                    pv.num("pv_mda_count"),
                    "{ctx}"
                );
                checked += 1;
            }
        }
        assert!(checked >= 10, "only {checked} disks checked");
    }

    #[test]
    fn no_label_is_not_ours() {
        assert_eq!(parse_label(&[0u8; LABEL_SCAN_SIZE]), Ok(None));
        let mut b = [0u8; LABEL_SCAN_SIZE];
        b[600..608].copy_from_slice(b"LABELONE"); // not at a sector start
        assert_eq!(parse_label(&b), Ok(None));
    }

    #[test]
    fn bad_crc() {
        let f = fixtures::load("whole-disk");
        let mut b = head(&f, "disk");
        let good = u32::from_le_bytes(b[512 + 0x10..512 + 0x14].try_into().unwrap());
        b[512 + 0x100] ^= 0x55; // inside the covered range
        let e = parse_label(&b).unwrap_err();
        assert_eq!(e.offset, 512 + 0x10);
        assert!(
            matches!(e.kind, ErrorKind::Checksum { field: "crc_xl", found, .. } if found == good),
            "{e}"
        );
    }

    #[test]
    fn bad_sector_xl() {
        let f = fixtures::load("whole-disk");
        let mut b = head(&f, "disk");
        b[512 + 8] = 2; // not covered by the CRC
        let e = parse_label(&b).unwrap_err();
        assert_eq!(e, FormatError::field(FORMAT, 520, "sector_xl", 2, 1));
    }

    #[test]
    fn bad_offset_xl() {
        let f = fixtures::load("whole-disk");
        for bad in [0u32, 31, 473, 0xffff_ffff] {
            let mut b = head(&f, "disk");
            b[512 + 0x14..512 + 0x18].copy_from_slice(&bad.to_le_bytes());
            fix_crc(&mut b, 1);
            let e = parse_label(&b).unwrap_err();
            assert_eq!(
                e,
                FormatError::field(FORMAT, 512 + 0x14, "offset_xl", bad, "32..=472")
            );
        }
    }

    #[test]
    fn other_label_type_is_unsupported() {
        let f = fixtures::load("whole-disk");
        let mut b = head(&f, "disk");
        b[512 + 0x18..512 + 0x20].copy_from_slice(b"LVM1 001");
        fix_crc(&mut b, 1);
        let e = parse_label(&b).unwrap_err();
        assert!(e.is_unsupported());
        assert_eq!(e.offset, 512 + 0x18);
    }

    #[test]
    fn bad_pv_uuid() {
        let f = fixtures::load("whole-disk");
        let mut b = head(&f, "disk");
        b[512 + 32 + 5] = b'-';
        fix_crc(&mut b, 1);
        let e = parse_label(&b).unwrap_err();
        assert_eq!(e.offset, 512 + 32);
        assert!(
            matches!(
                e.kind,
                ErrorKind::Field {
                    field: "pv_uuid",
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn unterminated_list() {
        let f = fixtures::load("whole-disk");
        let mut b = head(&f, "disk");
        // Fill every disk_locn from the pv_header's lists to the end of the sector.
        for p in (512 + 32 + 40..1024 - 8).step_by(16) {
            b[p..p + 8].copy_from_slice(&4096u64.to_le_bytes());
        }
        fix_crc(&mut b, 1);
        let e = parse_label(&b).unwrap_err();
        assert_eq!(e.offset, 1016);
        assert!(
            matches!(
                e.kind,
                ErrorKind::Field {
                    field: "disk_areas_xl (data areas)",
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn first_valid_label_wins() {
        let f = fixtures::load("whole-disk");
        let orig = head(&f, "disk");
        // Copy the valid label from sector 1 to sector 3 (with sector_xl 3): a second label.
        let mut b = orig;
        b.copy_within(512..1024, 1536);
        b[1536 + 8] = 3;
        let (label, warnings) = parse_label(&b).unwrap().unwrap();
        assert_eq!(label.sector, 1);
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].offset, 1536);
        // A broken label in sector 0 before the valid one in sector 1: a warning.
        let mut b = orig;
        b.copy_within(512..1024, 0); // sector_xl says 1, found in sector 0
        let (label, warnings) = parse_label(&b).unwrap().unwrap();
        assert_eq!(label.sector, 1);
        assert_eq!(
            warnings,
            vec![FormatError::field(FORMAT, 8, "sector_xl", 1, 0)]
        );
        // The same label moved to sector 0 with sector_xl 0 is valid there.
        let mut b = [0u8; LABEL_SCAN_SIZE];
        b[..512].copy_from_slice(&orig[512..1024]);
        b[8] = 0;
        let (label, _) = parse_label(&b).unwrap().unwrap();
        assert_eq!(label.sector, 0);
    }

    #[test]
    fn extension_that_does_not_fit_is_absent() {
        let f = fixtures::load("whole-disk");
        let mut b = head(&f, "disk");
        // pv_uuid, device_size and both one-entry lists: 104 bytes. At offset_xl 408 they end
        // exactly at the end of the sector, leaving no room for the extension.
        let hdr: Vec<u8> = b[512 + 32..512 + 32 + 104].to_vec();
        b[512 + 32..1024].fill(0);
        b[512 + 408..1024].copy_from_slice(&hdr);
        b[512 + 0x14..512 + 0x18].copy_from_slice(&408u32.to_le_bytes());
        fix_crc(&mut b, 1);
        let (label, _) = parse_label(&b).unwrap().unwrap();
        assert_eq!((label.ext_version, label.ext_flags), (0, 0));
        assert!(!label.in_use());
        assert_eq!(label.metadata_areas.len(), 1);
        // One byte further and the metadata list has no room for its terminator.
        let mut b = head(&f, "disk");
        b[512 + 32..1024].fill(0);
        b[512 + 409..1024].copy_from_slice(&hdr[..103]);
        b[512 + 0x14..512 + 0x18].copy_from_slice(&409u32.to_le_bytes());
        fix_crc(&mut b, 1);
        let e = parse_label(&b).unwrap_err();
        assert!(
            matches!(
                e.kind,
                ErrorKind::Field {
                    field: "disk_areas_xl (metadata areas)",
                    ..
                }
            ),
            "{e}"
        );
    }
}
