//! The dm-raid superblock at the start of each `_rmeta_` sub-LV (kernel `dm-raid.c`:
//! `struct dm_raid_superblock`, little endian, packed; written by the kernel, never by lvm2).
//! Only what reading an LV's data in user space needs: where the data starts in the images
//! (`data_offset`, kept there since dm-raid 1.9 for out-of-place reshapes) and whether a
//! reshape is half done (then the layout is two layouts and is not read).
//!
//! ```text
//! 0x00 magic "DmRd" (0x64526D44)   0x04 compat_features (1: v1.9.0 fields present)
//! 0x08 num_devices  0x0C array_position  0x10 events (u64)  0x18 failed_devices (u64)
//! 0x20 disk_recovery_offset  0x28 array_resync_offset (u64 each)
//! 0x30 level  0x34 layout  0x38 stripe_sectors  0x3C flags (1: reshape active)
//! 0x40 reshape_position (u64)  0x48 new_level  0x4C new_layout  0x50 new_stripe_sectors
//! 0x54 delta_disks  0x58 array_sectors (u64)  0x60 data_offset (u64)  0x68 new_data_offset
//! 0x70 sectors (u64)  0x78 extended_failed_devices[3]  0x90 incompat_features
//! ```

use super::FORMAT;
use crate::error::FormatError;
use crate::formats::bytes::{le32, le64};

/// `DM_RAID_MAGIC`.
pub const MAGIC: u32 = 0x6452_6D44;
/// `FEATURE_FLAG_SUPPORTS_V190`.
const V190: u32 = 1;
/// `SB_FLAG_RESHAPE_ACTIVE`.
const RESHAPE_ACTIVE: u32 = 1;
/// Bytes read and parsed.
pub const SIZE: usize = 0x94;

/// The fields a reader of the data needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaidSuper {
    pub num_devices: u32,
    pub array_position: u32,
    pub level: u32,
    pub layout: u32,
    pub stripe_sectors: u32,
    /// Sectors into each image where the data starts (0 before dm-raid 1.9 metadata).
    pub data_offset: u64,
    /// A reshape was interrupted (`flags` bit 0 with the v1.9.0 fields).
    pub reshaping: bool,
}

/// `Ok(None)`: no dm-raid superblock (never activated, or not a metadata LV).
pub fn parse(b: &[u8; SIZE]) -> Result<Option<RaidSuper>, FormatError> {
    let g32 = |o| le32(b, o).unwrap_or(0);
    let g64 = |o| le64(b, o).unwrap_or(0);
    if g32(0) != MAGIC {
        return Ok(None);
    }
    let v190 = g32(4) & V190 != 0;
    let incompat = g32(0x90);
    if v190 && incompat != 0 {
        return Err(FormatError::field(
            FORMAT,
            0x90,
            "dm-raid superblock incompat_features",
            format!("{incompat:#x}"),
            "0 (no feature this reader knows)",
        ));
    }
    Ok(Some(RaidSuper {
        num_devices: g32(8),
        array_position: g32(12),
        level: g32(0x30),
        layout: g32(0x34),
        stripe_sectors: g32(0x38),
        data_offset: if v190 { g64(0x60) } else { 0 },
        reshaping: v190 && g32(0x3C) & RESHAPE_ACTIVE != 0,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sb(compat: u32, flags: u32, data_offset: u64) -> [u8; SIZE] {
        let mut b = [0u8; SIZE];
        b[0..4].copy_from_slice(&MAGIC.to_le_bytes());
        b[4..8].copy_from_slice(&compat.to_le_bytes());
        b[8..12].copy_from_slice(&3u32.to_le_bytes());
        b[12..16].copy_from_slice(&1u32.to_le_bytes());
        b[0x30..0x34].copy_from_slice(&5u32.to_le_bytes());
        b[0x34..0x38].copy_from_slice(&2u32.to_le_bytes());
        b[0x38..0x3C].copy_from_slice(&128u32.to_le_bytes());
        b[0x3C..0x40].copy_from_slice(&flags.to_le_bytes());
        b[0x60..0x68].copy_from_slice(&data_offset.to_le_bytes());
        b
    }

    #[test]
    fn reads_the_fields() {
        let s = parse(&sb(1, 0, 2048)).unwrap().unwrap();
        assert_eq!(
            s,
            RaidSuper {
                num_devices: 3,
                array_position: 1,
                level: 5,
                layout: 2,
                stripe_sectors: 128,
                data_offset: 2048,
                reshaping: false,
            }
        );
        assert!(parse(&sb(1, 1, 0)).unwrap().unwrap().reshaping);
        // Without the v1.9.0 fields nothing past stripe_sectors counts.
        let old = parse(&sb(0, 1, 2048)).unwrap().unwrap();
        assert_eq!((old.data_offset, old.reshaping), (0, false));
        assert_eq!(parse(&[0u8; SIZE]).unwrap(), None);
    }

    #[test]
    fn unknown_incompatible_features_are_refused() {
        let mut b = sb(1, 0, 0);
        b[0x90] = 2;
        let e = parse(&b).unwrap_err();
        assert_eq!(
            e.to_string(),
            "lvm2 at byte 144: dm-raid superblock incompat_features: found 0x2, expected 0 (no feature this reader knows)"
        );
    }
}
