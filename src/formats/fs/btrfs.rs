//! btrfs superblock: util-linux `libblkid/src/superblocks/btrfs.c`. Only the primary copy at
//! 64 KiB is read (the mirrors at 64 MiB and 256 GiB serve blkid only when the primary is
//! gone, which a bootable root filesystem does not have).

use super::{FsInfo, Usage};
use crate::error::FormatError;
use crate::formats::bytes;

/// Primary superblock offset (`BTRFS_SUPER_INFO_OFFSET`).
pub const SB_OFFSET: u64 = 0x10000;
/// Bytes read: up to the end of `label`.
pub const SB_READ: usize = 0x22B;
/// blkid's `minsz` for btrfs.
pub const MIN_DEVICE_SIZE: u64 = 1024 * 1024;

const FSID: usize = 0x20;
const MAGIC: usize = 0x40;
const DEV_ITEM_UUID: usize = 0x10B;
const LABEL: usize = 0x12B;
const LABEL_LEN: usize = 256;
/// `BTRFS_MAGIC` "_BHRfS_M".
const BTRFS_MAGIC: &[u8; 8] = b"_BHRfS_M";

/// Parses the superblock read at [`SB_OFFSET`]. `Ok(None)`: no magic. The magic alone
/// identifies it, as for blkid 2.38 (no further field checks, no checksum check).
pub fn parse(sb: &[u8; SB_READ]) -> Result<Option<FsInfo>, FormatError> {
    if bytes::arr::<8>(sb, MAGIC).as_ref() != Some(BTRFS_MAGIC) {
        return Ok(None);
    }
    let mut info = FsInfo::new("btrfs", Usage::Filesystem);
    if bytes::u8_at(sb, LABEL).is_some_and(|c| c != 0) {
        info.label = super::label(sb.get(LABEL..LABEL + LABEL_LEN).unwrap_or(&[]));
    }
    info.uuid = bytes::arr::<16>(sb, FSID).and_then(|u| super::uuid(&u));
    info.uuid_sub = bytes::arr::<16>(sb, DEV_ITEM_UUID).and_then(|u| super::uuid(&u));
    Ok(Some(info))
}
