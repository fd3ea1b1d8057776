//! The partition-table value shared by GPT and MBR: what the kernel would create (numbers, byte
//! ranges) and what blkid reports for each partition (PARTUUID, PARTLABEL, type), so that
//! `root=PARTUUID=`/`PARTLABEL=` resolve exactly as they do with udev.

use crate::error::FormatError;

/// The kernel's `DISK_MAX_PARTS` (include/linux/blkdev.h): partition numbers stay below it.
/// `efi_partition` stops at entry index `limit - 1`, `parse_extended` when `next == limit`.
pub const DISK_MAX_PARTS: u32 = 256;

/// Partition table scheme, as blkid's PTTYPE names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PtKind {
    Gpt,
    Dos,
}

impl PtKind {
    /// blkid's PTTYPE / PART_ENTRY_SCHEME value.
    pub fn as_str(&self) -> &'static str {
        match self {
            PtKind::Gpt => "gpt",
            PtKind::Dos => "dos",
        }
    }
}

/// A partition table read from one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartTable {
    pub kind: PtKind,
    /// PTUUID exactly as `blkid -p` prints it: the GPT disk GUID in lowercase, the DOS disk
    /// signature as `%08x` (empty for a zero signature, for which blkid prints no PTUUID).
    pub id: String,
    /// In partition-number order.
    pub parts: Vec<Partition>,
    /// Problems that did not stop the table from being used: the primary GPT header's error
    /// when the backup was used, a hybrid MBR, a broken EBR chain, an entry beyond the disk.
    pub warnings: Vec<FormatError>,
    /// GPT only: the primary header (or its entry array) is bad and the backup at the last LBA
    /// was used; `warnings[0]` says what is wrong with the primary.
    pub backup_used: bool,
    /// Whether the Linux kernel creates these partition devices itself. False when it does not
    /// (a booted system then has no /dev/sdXN for them, only user space can map them): the
    /// kernel reads a GPT backup header only when booted with `gpt` (`find_valid_gpt`), and it
    /// rejects a protective MBR whose 0xEE record does not start at LBA 1 (`pmbr_part_valid`).
    pub kernel_sees: bool,
}

/// One partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    /// As the kernel numbers it: GPT entry index + 1; DOS primaries 1-4 by slot, logicals from
    /// 5 in EBR-chain order.
    pub number: u32,
    /// Start on the device, in bytes (LBA × logical block size).
    pub start: u64,
    /// Size in bytes. For a DOS extended partition this is the kernel's stub, not the whole
    /// extended area (see [`Partition::container`]).
    pub size: u64,
    /// blkid's PART_ENTRY_TYPE: the GPT type GUID in lowercase, or the DOS type as `0x%x`
    /// (`0x83`, and `0x5` for an extended partition, as blkid prints it).
    pub type_id: String,
    /// PARTUUID as blkid prints it (PART_ENTRY_UUID): the GPT unique GUID in lowercase, or
    /// `%08x-%02x` of the DOS disk signature and the partition number. (With a zero DOS disk
    /// signature blkid prints none, while the kernel still matches `root=PARTUUID=00000000-NN`;
    /// this field keeps the kernel's form.)
    pub uuid: String,
    /// PARTLABEL (GPT only): the UTF-16LE name converted to UTF-8 and right-trimmed as blkid
    /// does (udev's ID_PART_ENTRY_NAME, /dev/disk/by-partlabel); `None` when empty.
    pub name: Option<String>,
    /// The kernel's PARTNAME (GPT only): the low 7 bits of each UTF-16 unit, non-printable
    /// characters as `!` (`efi.c` `utf16_le_to_7bit`). The kernel itself matches
    /// `root=PARTLABEL=` against this form, which differs from [`Partition::name`] for
    /// non-ASCII names ("données" becomes "donnies").
    pub kernel_name: Option<String>,
    /// A DOS extended partition: the kernel registers only a 1-2 sector stub for it (room for
    /// LILO, and so that nobody runs mkfs on the whole area); never probed for content.
    pub container: bool,
    /// blkid's PART_ENTRY_FLAGS: the DOS boot indicator (0x80) or the GPT attribute bits.
    pub flags: u64,
    /// Absolute byte offset of the on-disk entry that describes this partition (MBR or EBR
    /// slot, GPT entry), for messages.
    pub entry_offset: u64,
}

/// Applies the kernel's end-of-device rule (`block/partitions/core.c`, `blk_add_partition`):
/// a partition starting at or beyond the end of the device is not created, one extending past
/// the end is truncated. Each case is recorded as a warning naming the entry.
pub fn clip_to_device(
    format: &'static str,
    parts: &mut Vec<Partition>,
    dev_size: u64,
    warnings: &mut Vec<FormatError>,
) {
    parts.retain_mut(|p| {
        if p.start >= dev_size {
            warnings.push(FormatError::field(
                format,
                p.entry_offset,
                "partition start",
                format!("byte {} (partition {})", p.start, p.number),
                format!("below the device size {dev_size}; partition skipped"),
            ));
            return false;
        }
        let room = dev_size.saturating_sub(p.start);
        if p.size > room {
            warnings.push(FormatError::field(
                format,
                p.entry_offset,
                "partition size",
                format!("{} bytes (partition {})", p.size, p.number),
                format!("at most {room} (end of device); truncated"),
            ));
            p.size = room;
        }
        true
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(number: u32, start: u64, size: u64) -> Partition {
        Partition {
            number,
            start,
            size,
            type_id: "0x83".into(),
            uuid: String::new(),
            name: None,
            kernel_name: None,
            container: false,
            flags: 0,
            entry_offset: 446,
        }
    }

    #[test]
    fn end_of_device_rule() {
        let mut parts = vec![part(1, 512, 1024), part(2, 1024, 4096), part(3, 8192, 10)];
        let mut w = Vec::new();
        clip_to_device("mbr", &mut parts, 4096, &mut w);
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].size, 1024);
        assert_eq!(parts[1].size, 3072);
        assert_eq!(w.len(), 2);
        assert_eq!(w[0].offset, 446);
        assert!(matches!(
            &w[1].kind,
            crate::error::ErrorKind::Field {
                field: "partition start",
                ..
            }
        ));
    }
}
