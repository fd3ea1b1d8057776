//! FAT12/16/32 boot sector and volume label: util-linux `libblkid/src/superblocks/vfat.c`.
//!
//! blkid's LABEL is the volume-label entry of the root directory (attribute 0x08); the
//! boot-sector label is only LABEL_FATBOOT and never becomes LABEL (confirmed with blkid 2.38.1
//! on a FAT16 whose label entry was deleted: tests/fixtures/fs/vfat16-bootlabel). UUID is the
//! volume serial printed `%02X%02X-%02X%02X` from bytes 3, 2, 1, 0 (upper case).
//!
//! Multi-hop, like blkid:
//! ```text
//! parse_boot(sector 0) ─ FAT12/16 ─► root_dir_region() ─► search_label()
//!                      └ FAT32 ────► for cluster in the root chain (at most 99 hops):
//!                                      cluster_region(c) ─► search_label()
//!                                      fat_entry_offset(c) ─► next_cluster()
//!                                    fsinfo_offset() ─► fsinfo_ok()
//!                        finish(label) ─► FsInfo
//! ```
//! Every "not FAT" outcome is `None`, never an error: FAT has no strong magic (a jump
//! instruction and 55 AA), so a sector failing blkid's checks is simply something else.

use super::{FsInfo, Usage};
use crate::formats::bytes;

/// The boot sector.
pub const BOOT_READ: usize = 512;
/// blkid's `maxloop` for the FAT32 root-directory chain (`while (... && --maxloop)`: 99 hops).
pub const FAT32_MAX_LOOP: u32 = 100;

const FAT12_MAX: u32 = 0xFF4;
const FAT16_MAX: u32 = 0xFFF4;
const FAT32_MAX: u32 = 0x0FFF_FFF6;

const FAT_ATTR_VOLUME_ID: u8 = 0x08;
const FAT_ATTR_DIR: u8 = 0x10;
const FAT_ATTR_LONG_NAME: u8 = 0x0F;
const FAT_ATTR_MASK: u8 = 0x3F;
const FAT_ENTRY_FREE: u8 = 0xE5;
const NO_NAME: &[u8; 11] = b"NO NAME    ";

// msdos_super_block / vfat_super_block fields.
const MS_SECTOR_SIZE: usize = 0x0B;
const MS_CLUSTER_SIZE: usize = 0x0D;
const MS_RESERVED: usize = 0x0E;
const MS_FATS: usize = 0x10;
const MS_DIR_ENTRIES: usize = 0x11;
const MS_SECTORS: usize = 0x13;
const MS_MEDIA: usize = 0x15;
const MS_FAT_LENGTH: usize = 0x16;
const MS_TOTAL_SECT: usize = 0x20;
const MS_EXT_BOOT_SIGN: usize = 0x26;
const MS_SERNO: usize = 0x27;
const MS_LABEL: usize = 0x2B;
const MS_MAGIC: usize = 0x36;
const VS_FAT32_LENGTH: usize = 0x24;
const VS_ROOT_CLUSTER: usize = 0x2C;
const VS_FSINFO_SECTOR: usize = 0x30;
const VS_EXT_BOOT_SIGN: usize = 0x42;
const VS_SERNO: usize = 0x43;
const VS_LABEL: usize = 0x47;
const VS_MAGIC: usize = 0x52;
const PMAGIC: usize = 0x1FE;

/// blkid's vfat magics: (offset, bytes). The last three are weak (jump instruction, 55 AA)
/// and need the extra checks of `fat_valid_superblock`.
const MAGICS: [(usize, &[u8]); 9] = [
    (VS_MAGIC, b"MSWIN"),
    (VS_MAGIC, b"FAT32   "),
    (MS_MAGIC, b"MSDOS"),
    (MS_MAGIC, b"FAT16   "),
    (MS_MAGIC, b"FAT12   "),
    (MS_MAGIC, b"FAT     "),
    (0, &[0xEB]),
    (0, &[0xE9]),
    (PMAGIC, &[0x55, 0xAA]),
];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Layout {
    /// FAT12/16: a fixed root directory after the FATs.
    Fixed { root_start: u64, root_entries: u32 },
    /// FAT32: the root directory is a cluster chain.
    Fat32 {
        root_cluster: u32,
        fat32_length: u32,
        fsinfo_sector: u16,
    },
    /// Neither FAT length is set: blkid still says vfat, without label, serial or version.
    Neither,
}

/// A boot sector that passed blkid's checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VfatBoot {
    sector_size: u32,
    cluster_size: u8,
    reserved: u16,
    fat_size: u32,
    cluster_count: u32,
    layout: Layout,
    serno: Option<[u8; 4]>,
    boot_label: Option<[u8; 11]>,
}

fn is_power_of_2(n: u32) -> bool {
    n != 0 && n & (n - 1) == 0
}

/// `fat_valid_superblock`: returns (cluster count, total FAT size in sectors) when valid.
fn valid(sector: &[u8; BOOT_READ]) -> Option<(u32, u32)> {
    let mag = MAGICS
        .iter()
        .find(|(off, m)| sector.get(*off..off + m.len()) == Some(*m))?;
    if mag.1.len() <= 2 {
        // "Old floppies have a valid MBR signature"
        if bytes::arr::<2>(sector, PMAGIC) != Some([0x55, 0xAA]) {
            return None;
        }
        // OS/2 and DFSee put a FAT-like pseudo-superblock on JFS and HPFS.
        let m = bytes::arr::<8>(sector, MS_MAGIC)?;
        if &m == b"JFS     " || &m == b"HPFS    " {
            return None;
        }
    }
    let fats = bytes::u8_at(sector, MS_FATS)?;
    let reserved = bytes::le16(sector, MS_RESERVED)?;
    let media = bytes::u8_at(sector, MS_MEDIA)?;
    let cluster_size = bytes::u8_at(sector, MS_CLUSTER_SIZE)?;
    if fats == 0 || reserved == 0 || !(media >= 0xF8 || media == 0xF0) {
        return None;
    }
    if !is_power_of_2(u32::from(cluster_size)) {
        return None;
    }
    let sector_size = u32::from(bytes::le16(sector, MS_SECTOR_SIZE)?);
    if !is_power_of_2(sector_size) || !(512..=4096).contains(&sector_size) {
        return None;
    }
    let dir_entries = u32::from(bytes::le16(sector, MS_DIR_ENTRIES)?);
    let mut sect_count = u32::from(bytes::le16(sector, MS_SECTORS)?);
    if sect_count == 0 {
        sect_count = bytes::le32(sector, MS_TOTAL_SECT)?;
    }
    let ms_fat_length = bytes::le16(sector, MS_FAT_LENGTH)?;
    let fat32_length = bytes::le32(sector, VS_FAT32_LENGTH)?;
    let fat_length = if ms_fat_length == 0 {
        fat32_length
    } else {
        u32::from(ms_fat_length)
    };
    let fat_size = fat_length.checked_mul(u32::from(fats))?;
    let dir_size = dir_entries.checked_mul(32)?.checked_add(sector_size - 1)? / sector_size;
    // blkid computes this in wrapping u32 arithmetic; a negative data area is not FAT here.
    let meta = u32::from(reserved)
        .checked_add(fat_size)?
        .checked_add(dir_size)?;
    let cluster_count = sect_count.checked_sub(meta)? / u32::from(cluster_size);
    let max_count = if ms_fat_length == 0 && fat32_length != 0 {
        FAT32_MAX
    } else if cluster_count > FAT12_MAX {
        FAT16_MAX
    } else {
        FAT12_MAX
    };
    (cluster_count <= max_count).then_some((cluster_count, fat_size))
}

/// Whether sector 0 is a FAT boot sector by blkid's rules (`blkid_probe_is_vfat`, which the DOS
/// partition-table probe uses to avoid reading a FAT boot sector as an MBR).
pub fn is_fat_boot_sector(sector: &[u8; BOOT_READ]) -> bool {
    valid(sector).is_some()
}

/// Parses the boot sector; `None` when it is not FAT.
pub fn parse_boot(sector: &[u8; BOOT_READ]) -> Option<VfatBoot> {
    let (cluster_count, fat_size) = valid(sector)?;
    let sector_size = u32::from(bytes::le16(sector, MS_SECTOR_SIZE)?);
    let reserved = bytes::le16(sector, MS_RESERVED)?;
    let cluster_size = bytes::u8_at(sector, MS_CLUSTER_SIZE)?;
    let ms_fat_length = bytes::le16(sector, MS_FAT_LENGTH)?;
    let fat32_length = bytes::le32(sector, VS_FAT32_LENGTH)?;
    let mut boot = VfatBoot {
        sector_size,
        cluster_size,
        reserved,
        fat_size,
        cluster_count,
        layout: Layout::Neither,
        serno: None,
        boot_label: None,
    };
    if ms_fat_length != 0 {
        let sign = bytes::u8_at(sector, MS_EXT_BOOT_SIGN)?;
        boot.layout = Layout::Fixed {
            root_start: u64::from(reserved)
                .checked_add(u64::from(fat_size))?
                .checked_mul(u64::from(sector_size))?,
            root_entries: u32::from(bytes::le16(sector, MS_DIR_ENTRIES)?),
        };
        if sign == 0x29 {
            boot.boot_label = bytes::arr::<11>(sector, MS_LABEL);
        }
        if sign == 0x28 || sign == 0x29 {
            boot.serno = bytes::arr::<4>(sector, MS_SERNO);
        }
    } else if fat32_length != 0 {
        boot.layout = Layout::Fat32 {
            root_cluster: bytes::le32(sector, VS_ROOT_CLUSTER)?,
            fat32_length,
            fsinfo_sector: bytes::le16(sector, VS_FSINFO_SECTOR)?,
        };
        if bytes::u8_at(sector, VS_EXT_BOOT_SIGN)? == 0x29 {
            boot.boot_label = bytes::arr::<11>(sector, VS_LABEL);
        }
        boot.serno = bytes::arr::<4>(sector, VS_SERNO);
    }
    Some(boot)
}

/// `search_fat_label`: the first volume-label entry of a directory region, `None` at the end
/// marker or when there is none.
pub fn search_label(dir: &[u8]) -> Option<[u8; 11]> {
    for ent in dir.chunks_exact(32) {
        let first = *ent.first()?;
        if first == 0x00 {
            break;
        }
        let attr = *ent.get(11)?;
        let cluster_high = bytes::le16(ent, 0x14)?;
        let cluster_low = bytes::le16(ent, 0x1A)?;
        if first == FAT_ENTRY_FREE
            || cluster_high != 0
            || cluster_low != 0
            || attr & FAT_ATTR_MASK == FAT_ATTR_LONG_NAME
        {
            continue;
        }
        if attr & (FAT_ATTR_VOLUME_ID | FAT_ATTR_DIR) == FAT_ATTR_VOLUME_ID {
            let mut name = bytes::arr::<11>(ent, 0)?;
            // 0x05 stands for a leading 0xE5 character.
            if name[0] == 0x05 {
                name[0] = 0xE5;
            }
            return Some(name);
        }
    }
    None
}

impl VfatBoot {
    /// FAT12/16: the fixed root directory (offset, length).
    pub fn root_dir_region(&self) -> Option<(u64, u64)> {
        match self.layout {
            Layout::Fixed {
                root_start,
                root_entries,
            } => Some((root_start, u64::from(root_entries).saturating_mul(32))),
            _ => None,
        }
    }

    /// FAT32: the first cluster of the root directory.
    pub fn root_cluster(&self) -> Option<u32> {
        match self.layout {
            Layout::Fat32 { root_cluster, .. } => Some(root_cluster),
            _ => None,
        }
    }

    fn cluster_bytes(&self) -> u64 {
        u64::from(self.cluster_size).saturating_mul(u64::from(self.sector_size))
    }

    /// FAT32: whether `cluster` continues the chain (blkid: `next && next < entries`).
    pub fn cluster_in_fat(&self, cluster: u32) -> bool {
        match self.layout {
            Layout::Fat32 { fat32_length, .. } => {
                let entries =
                    u64::from(fat32_length).saturating_mul(u64::from(self.sector_size)) / 4;
                cluster != 0 && u64::from(cluster) < entries
            }
            _ => false,
        }
    }

    /// FAT32: the directory data of `cluster` (offset, length).
    pub fn cluster_region(&self, cluster: u32) -> Option<(u64, u64)> {
        let rel = u64::from(cluster.checked_sub(2)?).checked_mul(u64::from(self.cluster_size))?;
        let start = u64::from(self.reserved)
            .checked_add(u64::from(self.fat_size))?
            .checked_add(rel)?
            .checked_mul(u64::from(self.sector_size))?;
        Some((start, self.cluster_bytes()))
    }

    /// FAT32: where the FAT entry of `cluster` lies (4 bytes).
    pub fn fat_entry_offset(&self, cluster: u32) -> Option<u64> {
        u64::from(self.reserved)
            .checked_mul(u64::from(self.sector_size))?
            .checked_add(u64::from(cluster).checked_mul(4)?)
    }

    /// FAT32: the next cluster from a FAT entry.
    pub fn next_cluster(entry: [u8; 4]) -> u32 {
        u32::from_le_bytes(entry) & 0x0FFF_FFFF
    }

    /// FAT32: the FSInfo sector to check, if the boot sector names one.
    pub fn fsinfo_offset(&self) -> Option<u64> {
        match self.layout {
            Layout::Fat32 { fsinfo_sector, .. } if fsinfo_sector != 0 => {
                u64::from(fsinfo_sector).checked_mul(u64::from(self.sector_size))
            }
            _ => None,
        }
    }

    /// FAT32 FSInfo signatures ("RRaA"/"RRdA" or zero, then "rrAa" or zero): a FAT32 whose
    /// FSInfo sector holds anything else is not FAT for blkid.
    pub fn fsinfo_ok(fsinfo: &[u8; 512]) -> bool {
        let s1 = bytes::arr::<4>(fsinfo, 0).unwrap_or([1; 4]);
        let s2 = bytes::arr::<4>(fsinfo, 484).unwrap_or([1; 4]);
        (s1 == *b"RRaA" || s1 == *b"RRdA" || s1 == [0; 4]) && (s2 == *b"rrAa" || s2 == [0; 4])
    }

    /// The result, given the label found in the root directory.
    pub fn finish(&self, vol_label: Option<[u8; 11]>) -> FsInfo {
        let mut info = FsInfo::new("vfat", Usage::Filesystem);
        info.label = vol_label.and_then(|l| super::label(&l));
        info.uuid = self
            .serno
            .filter(|s| s.iter().any(|&b| b != 0))
            .map(|s| format!("{:02X}{:02X}-{:02X}{:02X}", s[3], s[2], s[1], s[0]));
        info.version = match self.layout {
            Layout::Fat32 { .. } => Some("FAT32".into()),
            Layout::Fixed { .. } if self.cluster_count < FAT12_MAX => Some("FAT12".into()),
            Layout::Fixed { .. } if self.cluster_count < FAT16_MAX => Some("FAT16".into()),
            _ => None,
        };
        info
    }

    /// blkid's LABEL_FATBOOT: the boot-sector label unless it is "NO NAME" (reported for
    /// information; it is never LABEL).
    pub fn boot_label(&self) -> Option<String> {
        self.boot_label
            .filter(|l| l != NO_NAME)
            .and_then(|l| super::label(&l))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_search() {
        let mut dir = vec![0u8; 32 * 4];
        dir[0..11].copy_from_slice(b"LFN        ");
        dir[11] = 0x0F; // long name entry: skipped
        dir[32..43].copy_from_slice(b"\x05BC        ");
        dir[43] = 0x08;
        assert_eq!(search_label(&dir), Some(*b"\xe5BC        "));
        dir[32 + 0x1A] = 1; // has a cluster: not a label
        assert_eq!(search_label(&dir), None);
    }

    #[test]
    fn an_empty_mbr_is_not_fat() {
        let mut s = [0u8; 512];
        s[510] = 0x55;
        s[511] = 0xAA;
        assert!(!is_fat_boot_sector(&s));
    }
}
