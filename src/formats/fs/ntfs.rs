//! NTFS: util-linux `libblkid/src/superblocks/ntfs.c`. The boot sector's BIOS parameter block
//! is checked as blkid checks it; MFT records 0 ($MFT) and 3 ($Volume) must start with "FILE";
//! the label is the $VOLUME_NAME attribute of record 3 (UTF-16LE), found by walking the
//! record's attributes (bounded by the record size). Records are read raw, without the update
//! sequence fix-up, as blkid reads them.

use super::{FsInfo, Usage, Utf16};
use crate::error::FormatError;
use crate::formats::bytes;

const FORMAT: &str = "ntfs";

pub const SB_OFFSET: u64 = 0;
/// `struct ntfs_super_block`: 84 bytes.
pub const SB_READ: usize = 84;

const SECTOR_SIZE: usize = 0x0B;
const SECTORS_PER_CLUSTER: usize = 0x0D;
const RESERVED_SECTORS: usize = 0x0E;
const FATS: usize = 0x10;
const ROOT_ENTRIES: usize = 0x11;
const SECTORS: usize = 0x13;
const SECTORS_PER_FAT: usize = 0x16;
const LARGE_SECTORS: usize = 0x20;
const NUMBER_OF_SECTORS: usize = 0x28;
const MFT_CLUSTER: usize = 0x30;
const MFT_MIRROR_CLUSTER: usize = 0x38;
const CLUSTERS_PER_MFT_RECORD: usize = 0x40;
const VOLUME_SERIAL: usize = 0x48;
const MAX_CLUSTER_SIZE: u32 = 2 * 1024 * 1024;
const MFT_RECORD_VOLUME: u64 = 3;
const ATTR_VOLUME_NAME: u32 = 0x60;
const ATTR_END: u32 = 0xFFFF_FFFF;
/// `struct file_attribute`: 22 bytes.
const ATTR_HDR: u64 = 22;

/// The boot sector's answer: where the two MFT records are and how long they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NtfsBoot {
    pub mft_offset: u64,
    pub record_size: u32,
    serial: u64,
}

impl NtfsBoot {
    /// Offset of $Volume's record.
    pub fn volume_record_offset(&self) -> Option<u64> {
        self.mft_offset
            .checked_add(MFT_RECORD_VOLUME * u64::from(self.record_size))
    }
}

/// [`parse_boot`] on a whole first sector (the DOS partition-table probe's NTFS check).
pub fn parse_boot_sector(sector: &[u8; 512]) -> Result<Option<NtfsBoot>, FormatError> {
    let mut sb = [0u8; SB_READ];
    sb.copy_from_slice(&sector[..SB_READ]);
    parse_boot(&sb)
}

/// Checks the boot sector. `Ok(None)`: no "NTFS    " OEM id. `Err`: the id with a BIOS
/// parameter block blkid rejects (the field named).
pub fn parse_boot(sb: &[u8; SB_READ]) -> Result<Option<NtfsBoot>, FormatError> {
    if sb.get(3..11) != Some(b"NTFS    ") {
        return Ok(None);
    }
    let bad = |off: usize, field: &'static str, found: u64, expected: &str| {
        Err(FormatError::field(
            FORMAT, off as u64, field, found, expected,
        ))
    };
    let sector_size = bytes::le16(sb, SECTOR_SIZE).unwrap_or(0);
    if !(256..=4096).contains(&sector_size) {
        return bad(SECTOR_SIZE, "sector_size", sector_size.into(), "256..=4096");
    }
    let spc_raw = bytes::u8_at(sb, SECTORS_PER_CLUSTER).unwrap_or(0);
    let spc: u32 = match spc_raw {
        1 | 2 | 4 | 8 | 16 | 32 | 64 | 128 => spc_raw.into(),
        240..=249 => 1 << (256 - u32::from(spc_raw)),
        _ => {
            return bad(
                SECTORS_PER_CLUSTER,
                "sectors_per_cluster",
                spc_raw.into(),
                "a power of two up to 128, or 240..=249",
            )
        }
    };
    if u32::from(sector_size) * spc > MAX_CLUSTER_SIZE {
        return bad(
            SECTORS_PER_CLUSTER,
            "sectors_per_cluster",
            spc_raw.into(),
            "a cluster of at most 2 MiB",
        );
    }
    for (off, field, v) in [
        (
            RESERVED_SECTORS,
            "reserved_sectors",
            u64::from(bytes::le16(sb, RESERVED_SECTORS).unwrap_or(0)),
        ),
        (
            ROOT_ENTRIES,
            "root_entries",
            u64::from(bytes::le16(sb, ROOT_ENTRIES).unwrap_or(0)),
        ),
        (
            SECTORS,
            "sectors",
            u64::from(bytes::le16(sb, SECTORS).unwrap_or(0)),
        ),
        (
            SECTORS_PER_FAT,
            "sectors_per_fat",
            u64::from(bytes::le16(sb, SECTORS_PER_FAT).unwrap_or(0)),
        ),
        (
            LARGE_SECTORS,
            "large_sectors",
            u64::from(bytes::le32(sb, LARGE_SECTORS).unwrap_or(0)),
        ),
        (FATS, "fats", u64::from(bytes::u8_at(sb, FATS).unwrap_or(0))),
    ] {
        if v != 0 {
            return bad(off, field, v, "0");
        }
    }
    let cpm = bytes::u8_at(sb, CLUSTERS_PER_MFT_RECORD).unwrap_or(0);
    let record_size: u64 = match cpm {
        1 | 2 | 4 | 8 | 16 | 32 | 64 => u64::from(cpm) * u64::from(spc) * u64::from(sector_size),
        0xE1..=0xF7 => 1u64 << (256 - u32::from(cpm)),
        _ => {
            return bad(
                CLUSTERS_PER_MFT_RECORD,
                "clusters_per_mft_record",
                cpm.into(),
                "1..=64 (a power of two) or -31..=-9",
            )
        }
    };
    let nr_clusters = bytes::le64(sb, NUMBER_OF_SECTORS).unwrap_or(0) / u64::from(spc);
    let mft = bytes::le64(sb, MFT_CLUSTER).unwrap_or(0);
    let mirror = bytes::le64(sb, MFT_MIRROR_CLUSTER).unwrap_or(0);
    if mft > nr_clusters {
        return bad(
            MFT_CLUSTER,
            "mft_cluster_location",
            mft,
            format!("at most the cluster count {nr_clusters}").as_str(),
        );
    }
    if mirror > nr_clusters {
        return bad(
            MFT_MIRROR_CLUSTER,
            "mft_mirror_cluster_location",
            mirror,
            format!("at most the cluster count {nr_clusters}").as_str(),
        );
    }
    let Some(mft_offset) = mft.checked_mul(u64::from(sector_size) * u64::from(spc)) else {
        return bad(
            MFT_CLUSTER,
            "mft_cluster_location",
            mft,
            "an offset below 2^64",
        );
    };
    // 0x80000000 (a record size of -31) does not fit blkid's uint32_t either way: its read
    // fails; here too, the driver bounds every read.
    let record_size = u32::try_from(record_size).unwrap_or(u32::MAX);
    Ok(Some(NtfsBoot {
        mft_offset,
        record_size,
        serial: bytes::le64(sb, VOLUME_SERIAL).unwrap_or(0),
    }))
}

/// The result from the two MFT records ($MFT at [`NtfsBoot::mft_offset`], $Volume at
/// [`NtfsBoot::volume_record_offset`], each `record_size` bytes). `Err`: a record without
/// "FILE".
pub fn parse_records(boot: &NtfsBoot, mft: &[u8], volume: &[u8]) -> Result<FsInfo, FormatError> {
    for (rec, at, name) in [
        (mft, boot.mft_offset, "$MFT record"),
        (
            volume,
            boot.volume_record_offset().unwrap_or(u64::MAX),
            "$Volume record",
        ),
    ] {
        if rec.get(..4) != Some(b"FILE") {
            return Err(FormatError::field(
                FORMAT,
                at,
                name,
                format!("{:02x?}", rec.get(..4).unwrap_or(&[])),
                "\"FILE\"",
            ));
        }
    }
    let mut info = FsInfo::new("ntfs", Usage::Filesystem);
    info.label = volume_name(volume);
    info.uuid = (boot.serial != 0).then(|| format!("{:016X}", boot.serial));
    Ok(info)
}

/// Walks the attributes of $Volume's record for $VOLUME_NAME. Each step moves forward by a
/// non-zero length inside the record, so the walk ends.
fn volume_name(rec: &[u8]) -> Option<String> {
    let size = rec.len() as u64;
    let allocated = u64::from(bytes::le32(rec, 0x1C)?);
    let mut at = u64::from(bytes::le16(rec, 0x14)?);
    while at + ATTR_HDR <= size && at <= allocated {
        let a = usize::try_from(at).ok()?;
        let ty = bytes::le32(rec, a)?;
        let len = u64::from(bytes::le32(rec, a + 4)?);
        if len == 0 || ty == ATTR_END {
            return None;
        }
        if ty == ATTR_VOLUME_NAME {
            let val_len = u64::from(bytes::le32(rec, a + 16)?);
            let val_off = u64::from(bytes::le16(rec, a + 20)?);
            if at + val_off + val_len > size {
                return None;
            }
            let v = usize::try_from(at + val_off).ok()?;
            let field = rec.get(v..v + usize::try_from(val_len).ok()?)?;
            return super::decoded_label(field, Some(Utf16::Le));
        }
        at += len;
    }
    None
}
