//! Linux swap signature: util-linux `libblkid/src/superblocks/swap.c`.
//!
//! The magic sits in the last 10 bytes of the first page, so its offset depends on the page
//! size of the system that ran mkswap (4 KiB to 64 KiB); the header with UUID and label is
//! always at 1024.

use super::{FsInfo, Usage};
use crate::error::FormatError;
use crate::formats::bytes;

const FORMAT: &str = "swap";

/// Bytes read from the start of the device: the largest page (64 KiB).
pub const READ_LEN: usize = 0x10000;
/// blkid's `minsz` for swap: 10 pages of 4 KiB.
pub const MIN_DEVICE_SIZE: u64 = 10 * 4096;
/// Magic offsets (`PAGESIZE_MIN` 0xff6 .. `PAGESIZE_MAX` 0xfff6), in blkid's order.
pub const MAGIC_OFFSETS: [usize; 5] = [0xFF6, 0x1FF6, 0x3FF6, 0x7FF6, 0xFFF6];
/// The two magics (v0 and v1), each 10 bytes at one of [`MAGIC_OFFSETS`].
pub const MAGICS: [&[u8; 10]; 2] = [b"SWAP-SPACE", b"SWAPSPACE2"];

/// `struct swap_header_v1_2` at 1024.
const HDR: usize = 1024;
const VERSION: usize = HDR;
const LASTPAGE: usize = HDR + 4;
const UUID: usize = HDR + 12;
const VOLUME: usize = HDR + 28;
/// `padding[32]` and `padding[33]` (padding starts at HDR + 44).
const PADDING_32: usize = HDR + 44 + 32 * 4;
/// TuxOnIce keeps a valid swap header behind its own magic at 0.
const TOI_MAGIC: [u8; 8] = [0xed, 0xc3, 0x02, 0xe9, 0x98, 0x56, 0xe5, 0x0c];

/// Whether `m`, the 10 bytes at one of [`MAGIC_OFFSETS`], starts a swap magic (or with
/// `suspend`, a hibernation signature): the probe reads [`READ_LEN`] only then.
pub fn magic_at(m: &[u8; 10], suspend: bool) -> bool {
    if suspend {
        SUSPEND_MAGICS.iter().any(|(s, _)| m.starts_with(s))
    } else {
        MAGICS.contains(&m)
    }
}

/// TuxOnIce's magic at offset 0 (a hibernation image whatever the swap magic says).
pub fn is_toi(head: &[u8; 8]) -> bool {
    *head == TOI_MAGIC
}

/// Parses the start of the device (up to [`READ_LEN`] bytes; a shorter buffer is searched as
/// far as it goes). `Ok(None)`: no swap magic (or TuxOnIce); `Err`: "SWAPSPACE2" with a bad
/// version or a zero last page, which blkid rejects.
pub fn parse(buf: &[u8]) -> Result<Option<FsInfo>, FormatError> {
    let mut found = None;
    for off in MAGIC_OFFSETS {
        if let Some(v) =
            bytes::arr::<10>(buf, off).and_then(|m| MAGICS.iter().position(|x| **x == m))
        {
            found = Some((off, v));
            break;
        }
    }
    let Some((_, version)) = found else {
        return Ok(None);
    };
    if bytes::arr::<8>(buf, 0) == Some(TOI_MAGIC) {
        return Ok(None);
    }
    let mut info = FsInfo::new("swap", Usage::Other);
    if version == 0 {
        // "swap v0 doesn't support LABEL or UUID"
        info.version = Some("0".into());
        return Ok(Some(info));
    }
    let raw_version = bytes::le32(buf, VERSION).unwrap_or(0);
    if raw_version != 1 && raw_version.swap_bytes() != 1 {
        return Err(FormatError::field(
            FORMAT,
            VERSION as u64,
            "version",
            raw_version,
            "1 (either byte order)",
        ));
    }
    if bytes::le32(buf, LASTPAGE).unwrap_or(0) == 0 {
        return Err(FormatError::field(
            FORMAT,
            LASTPAGE as u64,
            "lastpage",
            0,
            "not 0",
        ));
    }
    set_info(buf, &mut info, "1");
    Ok(Some(info))
}

/// blkid's `swap_set_info` after its version checks: UUID and label when the padding is clean
/// ("is there any garbage down there?"), and the version.
fn set_info(buf: &[u8], info: &mut FsInfo, version: &str) {
    let clean =
        bytes::le32(buf, PADDING_32) == Some(0) && bytes::le32(buf, PADDING_32 + 4) == Some(0);
    if clean {
        if bytes::u8_at(buf, VOLUME).is_some_and(|c| c != 0) {
            info.label = super::label(buf.get(VOLUME..VOLUME + 16).unwrap_or(&[]));
        }
        info.uuid = bytes::arr::<16>(buf, UUID).and_then(|u| super::uuid(&u));
    }
    info.version = Some(version.into());
}

/// Hibernation signatures (blkid `swsuspend`), in blkid's order per page size.
const SUSPEND_MAGICS: [(&[u8], &str); 4] = [
    (b"S1SUSPEND", "s1suspend"),
    (b"S2SUSPEND", "s2suspend"),
    (b"ULSUSPEND", "ulsuspend"),
    (b"LINHIB0001", "linhib0001"),
];

/// A swap area holding a hibernation image (the kernel's swsusp, uswsusp, TuxOnIce): the swap
/// magic replaced by a suspend signature, the header with UUID and label kept. Same buffer as
/// [`parse`]. `Ok(None)`: no suspend signature.
pub fn parse_swsuspend(buf: &[u8]) -> Result<Option<FsInfo>, FormatError> {
    let version = if bytes::arr::<8>(buf, 0) == Some(TOI_MAGIC) {
        "tuxonice"
    } else {
        let hit = MAGIC_OFFSETS.iter().find_map(|&off| {
            SUSPEND_MAGICS
                .iter()
                .find(|(m, _)| buf.get(off..off + m.len()) == Some(*m))
                .map(|(_, v)| *v)
        });
        match hit {
            Some(v) => v,
            None => return Ok(None),
        }
    };
    let mut info = FsInfo::new("swsuspend", Usage::Other);
    set_info(buf, &mut info, version);
    Ok(Some(info))
}
