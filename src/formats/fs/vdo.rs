//! VDO volume: util-linux `libblkid/src/superblocks/vdo.c` ("dmvdo001" at 0 and the UUID
//! after it). No Debian tool writes VDO (vdo/kvdo are not packaged): checked against the
//! source only.

use super::{FsInfo, Usage};
use crate::error::FormatError;
use crate::formats::bytes;

pub const SB_OFFSET: u64 = 0;
/// `struct vdo_super_block` as blkid declares it: magic, 32 unused bytes, UUID.
pub const SB_READ: usize = 56;

const SB_UUID: usize = 40;

pub fn parse(sb: &[u8; SB_READ]) -> Result<Option<FsInfo>, FormatError> {
    if bytes::arr::<8>(sb, 0).as_ref() != Some(b"dmvdo001") {
        return Ok(None);
    }
    let mut info = FsInfo::new("vdo", Usage::Other);
    info.uuid = bytes::arr::<16>(sb, SB_UUID).and_then(|u| super::uuid(&u));
    Ok(Some(info))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// From blkid's `struct vdo_super_block` (no tool writes VDO here).
    #[test]
    fn layout() {
        let mut sb = [0u8; SB_READ];
        assert_eq!(parse(&sb).unwrap(), None);
        sb[..8].copy_from_slice(b"dmvdo001");
        assert_eq!(parse(&sb).unwrap().unwrap().uuid, None);
        sb[SB_UUID + 15] = 1;
        assert_eq!(
            parse(&sb).unwrap().unwrap().uuid.as_deref(),
            Some("00000000-0000-0000-0000-000000000001")
        );
    }
}
