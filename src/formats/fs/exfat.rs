//! exFAT boot sector and the root directory's volume-label entry: util-linux
//! `libblkid/src/superblocks/exfat.c`.
//!
//! The label is found by walking root-directory entries (32 bytes each) from the root cluster,
//! following the FAT at each cluster end, for at most [`MAX_ENTRIES`] entries (blkid's bound).
//! The walk is the driver's (`probe::fs`); the steps are here.

use super::{FsInfo, Usage, Utf16};
use crate::formats::bytes;

pub const SB_OFFSET: u64 = 0;
/// `struct exfat_super_block` (113 bytes).
pub const SB_READ: usize = 113;
/// blkid's `max_iter`.
pub const MAX_ENTRIES: usize = 10_000;
pub const ENTRY_SIZE: u64 = 32;

const FAT_BLOCK_START: usize = 80;
const CLUSTER_BLOCK_START: usize = 88;
const ROOTDIR_CLUSTER: usize = 96;
const VOLUME_SERIAL: usize = 100;
const VERMIN: usize = 104;
const VERMAJ: usize = 105;
const BLOCK_BITS: usize = 108;
const BPC_BITS: usize = 109;
const FIRST_DATA_CLUSTER: u32 = 2;
const LAST_DATA_CLUSTER: u32 = 0x0FFF_FFF6;
const ENTRY_EOD: u8 = 0x00;
const ENTRY_LABEL: u8 = 0x83;

/// The boot-sector fields the label walk needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExfatBoot {
    block_bits: u8,
    bpc_bits: u8,
    fat_block_start: u32,
    cluster_block_start: u32,
    pub rootdir_cluster: u32,
    /// `CLUSTER_SIZE`, never 0.
    pub cluster_size: u64,
    serial: [u8; 4],
    version: (u8, u8),
}

/// The boot sector, when it has the magic and a cluster size blkid can compute (its
/// `(1u << block_bits) << bpc_bits` in 32 bits, not 0).
pub fn parse_boot(sb: &[u8; SB_READ]) -> Option<ExfatBoot> {
    if sb.get(3..11) != Some(b"EXFAT   ") {
        return None;
    }
    let block_bits = bytes::u8_at(sb, BLOCK_BITS)?;
    let bpc_bits = bytes::u8_at(sb, BPC_BITS)?;
    let cs = 1u32
        .checked_shl(block_bits.into())?
        .checked_shl(bpc_bits.into())?;
    (cs != 0).then_some(ExfatBoot {
        block_bits,
        bpc_bits,
        fat_block_start: bytes::le32(sb, FAT_BLOCK_START)?,
        cluster_block_start: bytes::le32(sb, CLUSTER_BLOCK_START)?,
        rootdir_cluster: bytes::le32(sb, ROOTDIR_CLUSTER)?,
        cluster_size: cs.into(),
        serial: bytes::arr::<4>(sb, VOLUME_SERIAL)?,
        version: (bytes::u8_at(sb, VERMAJ)?, bytes::u8_at(sb, VERMIN)?),
    })
}

/// What one directory entry says to the walk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    End,
    Label(Option<String>),
    Other,
}

pub fn entry(e: &[u8; ENTRY_SIZE as usize]) -> Entry {
    match e[0] {
        ENTRY_EOD => Entry::End,
        ENTRY_LABEL => {
            let n = (usize::from(e[1]) * 2).min(22);
            Entry::Label(super::decoded_label(
                e.get(2..2 + n).unwrap_or(&[]),
                Some(Utf16::Le),
            ))
        }
        _ => Entry::Other,
    }
}

impl ExfatBoot {
    /// Byte offset of a cluster (blkid subtracts the first data cluster in 32 bits).
    pub fn cluster_offset(&self, cluster: u32) -> Option<u64> {
        let rel = u64::from(cluster.wrapping_sub(FIRST_DATA_CLUSTER))
            .checked_shl(self.bpc_bits.into())?;
        if rel >> self.bpc_bits != u64::from(cluster.wrapping_sub(FIRST_DATA_CLUSTER)) {
            return None;
        }
        let block = u64::from(self.cluster_block_start).checked_add(rel)?;
        self.block_offset(block)
    }

    fn block_offset(&self, block: u64) -> Option<u64> {
        let off = block.checked_shl(self.block_bits.into())?;
        (off >> self.block_bits == block).then_some(off)
    }

    /// Byte offset of a cluster's FAT entry.
    pub fn fat_entry_offset(&self, cluster: u32) -> Option<u64> {
        self.block_offset(self.fat_block_start.into())?
            .checked_add(u64::from(cluster) * 4)
    }

    /// The next cluster of the chain, if the walk may go on there.
    pub fn next_cluster(entry: [u8; 4]) -> Option<u32> {
        let c = u32::from_le_bytes(entry);
        (FIRST_DATA_CLUSTER..=LAST_DATA_CLUSTER)
            .contains(&c)
            .then_some(c)
    }

    /// The result, with the label the walk found.
    pub fn finish(&self, label: Option<String>) -> FsInfo {
        let mut info = FsInfo::new("exfat", Usage::Filesystem);
        info.label = label;
        let s = self.serial;
        info.uuid =
            (s != [0; 4]).then(|| format!("{:02X}{:02X}-{:02X}{:02X}", s[3], s[2], s[1], s[0]));
        info.version = Some(format!("{}.{}", self.version.0, self.version.1));
        info
    }
}
