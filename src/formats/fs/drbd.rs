//! DRBD internal metadata (v08 and v09) at the end of the backing device: util-linux
//! `libblkid/src/superblocks/drbd.c`. Big-endian. The data area starts at 0, so whatever the
//! DRBD device holds shows at the start of the backing device: blkid's USAGE raid ends the
//! search before any filesystem is looked at, and so does our registry.

use super::{FsInfo, Usage};
use crate::error::FormatError;
use crate::formats::bytes;

/// The metadata block starts this far before the end of the device.
pub const MD_OFFSET_FROM_END: u64 = 4096;
/// Read: `struct meta_data_on_disk_9` (1136 bytes; the v08 struct is shorter).
pub const MD_READ: usize = 1136;
/// "Small devices cannot be drbd".
pub const MIN_DEVICE_SIZE: u64 = 0x10000;

const DRBD_MAGIC: u32 = 0x8374_0267;
const MD_MAGIC_08: u32 = DRBD_MAGIC + 4;
const MD_MAGIC_84_UNCLEAN: u32 = DRBD_MAGIC + 5;
const MD_MAGIC_09: u32 = DRBD_MAGIC + 6;
/// `magic` sits at the same place in both structs.
const MAGIC: usize = 60;
const DEVICE_UUID_08: usize = 40;
const DEVICE_UUID_09: usize = 48;

/// Parses the metadata block read [`MD_OFFSET_FROM_END`] before the end. DRBD's "UUID" is a
/// 64-bit number, printed in hex without leading zeros (none when zero).
pub fn parse(md: &[u8; MD_READ]) -> Result<Option<FsInfo>, FormatError> {
    let magic = bytes::be32(md, MAGIC).unwrap_or(0);
    let (version, uuid_at) = match magic {
        MD_MAGIC_08 | MD_MAGIC_84_UNCLEAN => ("v08", DEVICE_UUID_08),
        MD_MAGIC_09 => ("v09", DEVICE_UUID_09),
        _ => return Ok(None),
    };
    let mut info = FsInfo::new("drbd", Usage::Raid);
    let uuid = bytes::be64(md, uuid_at).unwrap_or(0);
    info.uuid = (uuid != 0).then(|| format!("{uuid:x}"));
    info.version = Some(version.into());
    Ok(Some(info))
}
