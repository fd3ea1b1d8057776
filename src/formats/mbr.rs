//! MBR (DOS) partition table with the EBR chain; protective/hybrid MBR detection.
//!
//! Follows the kernel's `block/partitions/msdos.c` (`msdos_partition`, `parse_extended`) for
//! what becomes a partition and how it is numbered, and util-linux
//! `libblkid/src/partitions/dos.c` for what is not a table at all (a FAT boot sector) and for
//! the text forms (PTUUID, PART_ENTRY_TYPE, PART_ENTRY_UUID).
//!
//! ```text
//! parse_mbr(sector 0) ─┬─ Protective  → GPT (gpt.rs)
//!                      └─ Dos(Mbr)    → primaries() + one EbrChain per extended primary:
//!                                         next_read() → driver reads that sector → feed()
//! ```
//! All LBAs here count logical blocks of the device; byte offsets are LBA × block size.

use crate::error::FormatError;
use crate::formats::bytes;
use crate::formats::part::{Partition, DISK_MAX_PARTS};
use std::collections::BTreeSet;

const FORMAT: &str = "mbr";

/// Size of the MBR / EBR sector that is read (the kernel's `read_part_sector` reads 512 bytes
/// also on 4Kn devices).
pub const SECTOR_SIZE: usize = 512;
/// Disk signature (`msdos.c`: `data + 0x1b8`).
const DISK_SIG_OFF: usize = 0x1B8;
/// First of the four partition records (`msdos.c`: `data + 0x1be`).
const TABLE_OFF: usize = 0x1BE;
const ENTRY_SIZE: usize = 16;
/// `MSDOS_LABEL_MAGIC1/2` at 510.
const MAGIC_OFF: usize = 0x1FE;

/// `EFI_PMBR_OSTYPE_EFI_GPT` (`efi.h`).
pub const EFI_PMBR_OSTYPE_EFI_GPT: u8 = 0xEE;
/// `DOS_EXTENDED_PARTITION`, `WIN98_EXTENDED_PARTITION`, `LINUX_EXTENDED_PARTITION`
/// (`include/linux/msdos_partition.h`).
pub const EXTENDED_TYPES: [u8; 3] = [0x05, 0x0F, 0x85];
/// `parse_extended`: "number of links followed without finding a data partition" limit.
pub const MAX_EMPTY_LINKS: u32 = 100;

/// One of the four 16-byte partition records (`struct msdos_partition`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MbrEntry {
    /// 0x00 or 0x80 (`boot_ind`).
    pub boot_ind: u8,
    /// Partition type (`sys_ind`).
    pub sys_ind: u8,
    /// First LBA (`start_sect`): absolute in the MBR; in an EBR relative to the EBR for a data
    /// entry, relative to the primary extended partition for a link entry.
    pub start_sect: u32,
    /// Size in LBAs (`nr_sects`).
    pub nr_sects: u32,
}

impl MbrEntry {
    fn parse(sector: &[u8; SECTOR_SIZE], slot: usize) -> MbrEntry {
        let off = TABLE_OFF + slot * ENTRY_SIZE;
        MbrEntry {
            boot_ind: bytes::u8_at(sector, off).unwrap_or(0),
            sys_ind: bytes::u8_at(sector, off + 4).unwrap_or(0),
            start_sect: bytes::le32(sector, off + 8).unwrap_or(0),
            nr_sects: bytes::le32(sector, off + 12).unwrap_or(0),
        }
    }

    /// `is_extended_partition` (`msdos.c`).
    pub fn is_extended(&self) -> bool {
        EXTENDED_TYPES.contains(&self.sys_ind)
    }
}

/// Byte offset of slot `slot`'s record within its sector.
pub fn entry_offset(slot: usize) -> u64 {
    u64::try_from(TABLE_OFF + slot * ENTRY_SIZE).unwrap_or(u64::MAX)
}

/// A DOS partition table sector (MBR or EBR).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mbr {
    /// The disk signature at 0x1B8 (PTUUID and the base of every PARTUUID).
    pub disk_sig: u32,
    pub entries: [MbrEntry; 4],
}

impl Mbr {
    fn parse(sector: &[u8; SECTOR_SIZE]) -> Mbr {
        Mbr {
            disk_sig: bytes::le32(sector, DISK_SIG_OFF).unwrap_or(0),
            entries: [0, 1, 2, 3].map(|slot| MbrEntry::parse(sector, slot)),
        }
    }

    /// blkid's PTUUID for a DOS table.
    pub fn ptuuid(&self) -> String {
        format!("{:08x}", self.disk_sig)
    }
}

/// What sector 0 holds, when it is a partition table at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MbrKind {
    /// A plain DOS table.
    Dos(Mbr),
    /// A protective MBR: a 0xEE record is present, so the GPT decides (GPT wins over MBR, as
    /// in the kernel's `check_part[]` order and libblkid's `dos.c` "probably GPT -- ignore").
    Protective {
        mbr: Mbr,
        /// Slot of the first 0xEE record.
        ee_slot: usize,
        /// Other non-zero types beside 0xEE: a hybrid MBR (`is_pmbr_valid`: GPT_MBR_HYBRID).
        hybrid: bool,
        /// The 0xEE record starts at LBA 1, which the kernel's `pmbr_part_valid` requires;
        /// without it the kernel finds neither GPT nor MBR partitions (libblkid still reads
        /// the GPT).
        kernel_valid: bool,
    },
}

/// Classifies sector 0. `Ok(None)`: not a partition table (no 55 AA, a FAT boot sector, or a
/// boot indicator other than 0x00/0x80 in any slot, which the kernel takes as "not a table").
/// Never an error: every malformed MBR is simply not a table, as for the kernel.
pub fn parse_mbr(sector: &[u8; SECTOR_SIZE]) -> Result<Option<MbrKind>, FormatError> {
    if bytes::arr::<2>(sector, MAGIC_OFF) != Some([0x55, 0xAA]) {
        return Ok(None);
    }
    let mbr = Mbr::parse(sector);
    // The protective MBR is checked first: the kernel tries efi_partition before
    // msdos_partition, and is_pmbr_valid looks only at the signature and the types.
    if let Some(ee_slot) = mbr
        .entries
        .iter()
        .position(|e| e.sys_ind == EFI_PMBR_OSTYPE_EFI_GPT)
    {
        let hybrid = mbr
            .entries
            .iter()
            .any(|e| e.sys_ind != EFI_PMBR_OSTYPE_EFI_GPT && e.sys_ind != 0);
        // pmbr_part_valid: any 0xEE record with starting_lba == 1 makes it protective.
        let kernel_valid = mbr
            .entries
            .iter()
            .any(|e| e.sys_ind == EFI_PMBR_OSTYPE_EFI_GPT && e.start_sect == 1);
        return Ok(Some(MbrKind::Protective {
            mbr,
            ee_slot,
            hybrid,
            kernel_valid,
        }));
    }
    // libblkid dos.c: "Now that the 55aa signature is present, this is probably either the boot
    // sector of a FAT filesystem or a DOS-type partition table" -- a valid FAT boot sector wins.
    if crate::formats::fs::vfat::is_fat_boot_sector(sector) {
        return Ok(None);
    }
    // "Another false positive is NTFS" (dos.c). blkid also reads the first MFT records; the
    // boot sector's parameter block alone decides here (this parser sees sector 0 only).
    if matches!(
        crate::formats::fs::ntfs::parse_boot_sector(sector),
        Ok(Some(_))
    ) {
        return Ok(None);
    }
    if mbr
        .entries
        .iter()
        .any(|e| e.boot_ind != 0 && e.boot_ind != 0x80)
    {
        return Ok(None);
    }
    Ok(Some(MbrKind::Dos(mbr)))
}

/// Warnings for the records of a hybrid MBR that the GPT overrides.
pub fn hybrid_warnings(mbr: &Mbr) -> Vec<FormatError> {
    mbr.entries
        .iter()
        .enumerate()
        .filter(|(_, e)| e.sys_ind != EFI_PMBR_OSTYPE_EFI_GPT && e.sys_ind != 0)
        .map(|(slot, e)| {
            FormatError::field(
                FORMAT,
                entry_offset(slot).saturating_add(4),
                "sys_ind",
                format!("{:#04x} in slot {} (hybrid MBR)", e.sys_ind, slot + 1),
                "0x00 or 0xee; the GPT is used, as by the kernel",
            )
        })
        .collect()
}

/// The kernel's `sector_size` factor: logical block size in 512-byte units.
fn factor(lbs: u32) -> u64 {
    u64::from(lbs / 512).max(1)
}

fn dos_part(
    number: u32,
    start_lba: u64,
    size_lba: u64,
    e: &MbrEntry,
    disk_sig: u32,
    lbs: u32,
    entry_offset: u64,
) -> Option<Partition> {
    let lbs64 = u64::from(lbs);
    Some(Partition {
        number,
        start: start_lba.checked_mul(lbs64)?,
        size: size_lba.checked_mul(lbs64)?,
        type_id: format!("{:#x}", e.sys_ind),
        uuid: format!("{disk_sig:08x}-{number:02x}"),
        name: None,
        kernel_name: None,
        container: false,
        flags: u64::from(e.boot_ind),
        entry_offset,
    })
}

/// The primary partitions of a DOS table (`msdos_partition` first pass): slot `i` becomes
/// partition `i + 1`; empty slots (`nr_sects == 0`) keep their number unused. An extended
/// partition is registered as a stub of `min(size, max(lbs/512, 2))` 512-byte sectors and
/// marked as container. Returns the extended records to walk, as (start LBA, size in LBAs).
pub fn primaries(mbr: &Mbr, lbs: u32) -> (Vec<Partition>, Vec<(u64, u64)>) {
    let mut parts = Vec::new();
    let mut extended = Vec::new();
    for (slot, e) in mbr.entries.iter().enumerate() {
        if e.nr_sects == 0 {
            continue;
        }
        let number = u32::try_from(slot + 1).unwrap_or(u32::MAX);
        let start = u64::from(e.start_sect);
        let size = u64::from(e.nr_sects);
        let Some(mut p) = dos_part(
            number,
            start,
            size,
            e,
            mbr.disk_sig,
            lbs,
            entry_offset(slot),
        ) else {
            continue;
        };
        if e.is_extended() {
            // msdos.c: n = min(size, max(sector_size, 2)) in 512-byte sectors.
            let f = factor(lbs);
            let stub_sectors = size.saturating_mul(f).min(f.max(2));
            p.size = stub_sectors.saturating_mul(512);
            p.container = true;
            extended.push((start, size));
        }
        parts.push(p);
    }
    (parts, extended)
}

/// Walks one EBR chain as `parse_extended` does, one sector at a time: the driver asks
/// [`EbrChain::next_read`] which LBA to read and hands the sector to [`EbrChain::feed`].
///
/// Bounds: the kernel's 100 links without a data partition, the partition-number limit
/// ([`DISK_MAX_PARTS`]), and (beyond the kernel, which would loop until the number limit) an
/// EBR visited twice ends the chain. Each abnormal end is a warning, never an error: the
/// partitions found so far stay.
#[derive(Debug)]
pub struct EbrChain {
    lbs: u32,
    disk_sig: u32,
    first: u64,
    first_size: u64,
    this: u64,
    this_size: u64,
    next_number: u32,
    loopct: u32,
    visited: BTreeSet<u64>,
    done: bool,
    pub parts: Vec<Partition>,
    pub warnings: Vec<FormatError>,
}

impl EbrChain {
    /// A chain for the extended partition at `start` LBA of `size` LBAs; logical partitions
    /// are numbered from `next_number` (5 for the first extended partition).
    pub fn new(start: u64, size: u64, next_number: u32, disk_sig: u32, lbs: u32) -> EbrChain {
        EbrChain {
            lbs,
            disk_sig,
            first: start,
            first_size: size,
            this: start,
            this_size: size,
            next_number,
            loopct: 0,
            visited: BTreeSet::new(),
            done: false,
            parts: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// The number the next logical partition (of a following extended partition) gets.
    pub fn next_number(&self) -> u32 {
        self.next_number
    }

    fn byte_offset(&self, lba: u64) -> u64 {
        lba.saturating_mul(u64::from(self.lbs))
    }

    fn stop(&mut self, field: &'static str, found: String, expected: &str) {
        let off = self.byte_offset(self.this);
        self.warnings
            .push(FormatError::field(FORMAT, off, field, found, expected));
        self.done = true;
    }

    /// The LBA of the EBR to read next, or `None` when the chain has ended.
    pub fn next_read(&mut self) -> Option<u64> {
        if self.done {
            return None;
        }
        self.loopct = self.loopct.saturating_add(1);
        if self.loopct > MAX_EMPTY_LINKS {
            let n = MAX_EMPTY_LINKS;
            self.stop(
                "ebr chain",
                format!("{n} links without a data partition"),
                "a data partition within 100 links (kernel limit); chain ignored from here",
            );
            return None;
        }
        if self.next_number >= DISK_MAX_PARTS {
            self.stop(
                "ebr chain",
                format!("partition number {}", self.next_number),
                "below 256 (kernel limit); chain ignored from here",
            );
            return None;
        }
        if !self.visited.insert(self.this) {
            self.stop(
                "ebr link",
                format!("EBR at LBA {} visited twice", self.this),
                "a chain without cycles; chain ignored from here",
            );
            return None;
        }
        Some(self.this)
    }

    /// The EBR read at the LBA [`next_read`](Self::next_read) returned; `None` when that LBA
    /// lies beyond the device (the kernel's read fails and the chain ends).
    pub fn feed(&mut self, sector: Option<&[u8; SECTOR_SIZE]>) {
        let Some(sector) = sector else {
            self.stop(
                "ebr link",
                format!("LBA {} beyond the device", self.this),
                "an EBR inside the device",
            );
            return;
        };
        if bytes::arr::<2>(sector, MAGIC_OFF) != Some([0x55, 0xAA]) {
            let found = bytes::arr::<2>(sector, MAGIC_OFF).unwrap_or([0, 0]);
            self.warnings.push(FormatError::field(
                FORMAT,
                self.byte_offset(self.this).saturating_add(MAGIC_OFF as u64),
                "ebr signature",
                format!("{:02x}{:02x}", found[0], found[1]),
                "55aa; chain ignored from here",
            ));
            self.done = true;
            return;
        }
        let ebr = Mbr::parse(sector);
        // First the data partition(s).
        for (i, e) in ebr.entries.iter().enumerate() {
            if e.nr_sects == 0 || e.is_extended() {
                continue;
            }
            let offs = u64::from(e.start_sect);
            let size = u64::from(e.nr_sects);
            let Some(next) = self.this.checked_add(offs) else {
                continue;
            };
            // "Check the 3rd and 4th entries - these sometimes contain random garbage"
            if i >= 2 {
                let inside_ebr = offs.saturating_add(size) <= self.this_size;
                let after_first = next >= self.first;
                let before_end =
                    next.saturating_add(size) <= self.first.saturating_add(self.first_size);
                if !(inside_ebr && after_first && before_end) {
                    continue;
                }
            }
            let eoff = self.byte_offset(self.this).saturating_add(entry_offset(i));
            if let Some(p) = dos_part(
                self.next_number,
                next,
                size,
                e,
                self.disk_sig,
                self.lbs,
                eoff,
            ) {
                self.parts.push(p);
            }
            self.loopct = 0;
            self.next_number = self.next_number.saturating_add(1);
            if self.next_number >= DISK_MAX_PARTS {
                self.stop(
                    "ebr chain",
                    format!("partition number {}", self.next_number),
                    "below 256 (kernel limit); chain ignored from here",
                );
                return;
            }
        }
        // Then the (first) link to the next EBR, relative to the primary extended partition.
        let Some(link) = ebr
            .entries
            .iter()
            .find(|e| e.nr_sects != 0 && e.is_extended())
        else {
            self.done = true;
            return;
        };
        match self.first.checked_add(u64::from(link.start_sect)) {
            Some(next) => {
                self.this = next;
                self.this_size = u64::from(link.nr_sects);
            }
            None => self.done = true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(sector: &mut [u8; 512], slot: usize, boot: u8, ty: u8, start: u32, size: u32) {
        let off = TABLE_OFF + slot * ENTRY_SIZE;
        sector[off] = boot;
        sector[off + 4] = ty;
        sector[off + 8..off + 12].copy_from_slice(&start.to_le_bytes());
        sector[off + 12..off + 16].copy_from_slice(&size.to_le_bytes());
    }

    fn signed() -> [u8; 512] {
        let mut s = [0u8; 512];
        s[510] = 0x55;
        s[511] = 0xAA;
        s
    }

    #[test]
    fn not_a_table() {
        let mut s = [0u8; 512];
        assert_eq!(parse_mbr(&s).unwrap(), None);
        s = signed();
        entry(&mut s, 2, 0x01, 0x83, 2048, 100);
        assert_eq!(parse_mbr(&s).unwrap(), None, "boot indicator 0x01");
    }

    #[test]
    fn protective_and_hybrid() {
        let mut s = signed();
        entry(&mut s, 0, 0, 0xEE, 1, 0xFFFF_FFFF);
        match parse_mbr(&s).unwrap() {
            Some(MbrKind::Protective {
                hybrid,
                kernel_valid,
                ee_slot,
                ..
            }) => {
                assert!(!hybrid && kernel_valid);
                assert_eq!(ee_slot, 0);
            }
            other => panic!("{other:?}"),
        }
        // A bad boot indicator does not matter for a protective MBR (is_pmbr_valid).
        entry(&mut s, 1, 0x7F, 0x83, 2048, 100);
        entry(&mut s, 0, 0, 0xEE, 2, 0xFFFF_FFFF);
        match parse_mbr(&s).unwrap() {
            Some(MbrKind::Protective {
                hybrid,
                kernel_valid,
                mbr,
                ..
            }) => {
                assert!(hybrid && !kernel_valid);
                let w = hybrid_warnings(&mbr);
                assert_eq!(w.len(), 1);
                assert_eq!(w[0].offset, 0x1CE + 4);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn extended_stub_follows_block_size() {
        let mut s = signed();
        entry(&mut s, 1, 0, 0x85, 100, 1000);
        let Some(MbrKind::Dos(mbr)) = parse_mbr(&s).unwrap() else {
            panic!()
        };
        let (p, ext) = primaries(&mbr, 512);
        assert_eq!((p[0].number, p[0].size, p[0].container), (2, 1024, true));
        assert_eq!(ext, vec![(100, 1000)]);
        let (p, _) = primaries(&mbr, 4096);
        assert_eq!((p[0].start, p[0].size), (409_600, 4096));
        // A one-sector extended partition keeps its size.
        entry(&mut s, 1, 0, 0x0F, 100, 1);
        let Some(MbrKind::Dos(mbr)) = parse_mbr(&s).unwrap() else {
            panic!()
        };
        assert_eq!(primaries(&mbr, 512).0[0].size, 512);
    }

    /// An EBR chain of `n` EBRs spaced 10 LBAs apart, each with an empty data slot, the last one
    /// linking back to the first when `cycle`.
    fn run_chain(ebrs: &dyn Fn(u64) -> Option<[u8; 512]>) -> EbrChain {
        let mut c = EbrChain::new(1000, 100_000, 5, 0xabcd, 512);
        while let Some(lba) = c.next_read() {
            let s = ebrs(lba);
            c.feed(s.as_ref());
        }
        c
    }

    #[test]
    fn chain_bounds() {
        // Every EBR links to the next without data: the kernel gives up after 100 links.
        let c = run_chain(&|lba| {
            let mut s = signed();
            entry(
                &mut s,
                1,
                0,
                0x05,
                u32::try_from(lba - 1000 + 10).unwrap(),
                10,
            );
            Some(s)
        });
        assert!(c.parts.is_empty());
        assert_eq!(c.warnings.len(), 1);
        assert_eq!(c.warnings[0].offset, (1000 + 100 * 10) * 512);
        // A data partition in every EBR and a link back to itself: a cycle, seen at once.
        let c = run_chain(&|_| {
            let mut s = signed();
            entry(&mut s, 0, 0, 0x83, 1, 5);
            entry(&mut s, 1, 0, 0x05, 0, 10);
            Some(s)
        });
        assert_eq!(c.parts.len(), 1);
        assert!(matches!(
            &c.warnings[0].kind,
            crate::error::ErrorKind::Field {
                field: "ebr link",
                ..
            }
        ));
        // Data in every EBR, each linking further: numbers stop below 256.
        let c = run_chain(&|lba| {
            let mut s = signed();
            entry(&mut s, 0, 0, 0x83, 1, 5);
            entry(
                &mut s,
                1,
                0,
                0x05,
                u32::try_from(lba - 1000 + 10).unwrap(),
                10,
            );
            Some(s)
        });
        assert_eq!(c.parts.len(), 251);
        assert_eq!(c.parts.last().unwrap().number, 255);
        assert_eq!(c.next_number(), 256);
        // A link beyond the device, and an EBR without signature.
        let c = run_chain(&|lba| {
            (lba == 1000).then(|| {
                let mut s = signed();
                entry(&mut s, 0, 0, 0x83, 1, 5);
                entry(&mut s, 1, 0, 0x05, 50, 10);
                s
            })
        });
        assert_eq!((c.parts.len(), c.warnings.len()), (1, 1));
        let c = run_chain(&|_| Some([0u8; 512]));
        assert!(c.parts.is_empty());
        assert_eq!(c.warnings[0].offset, 1000 * 512 + 510);
    }

    #[test]
    fn third_and_fourth_entries_must_fit() {
        let c = run_chain(&|lba| {
            (lba == 1000).then(|| {
                let mut s = signed();
                entry(&mut s, 2, 0, 0x83, 1, 5); // inside: kept
                entry(&mut s, 3, 0, 0x83, 1, 200_000); // beyond the EBR range: garbage
                s
            })
        });
        assert_eq!(c.parts.len(), 1);
        assert_eq!(c.parts[0].start, 1001 * 512);
        assert_eq!(c.parts[0].uuid, "0000abcd-05");
    }
}
