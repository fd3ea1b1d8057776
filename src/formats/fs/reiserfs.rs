//! ReiserFS 3.x superblock: util-linux `libblkid/src/superblocks/reiserfs.c` (reiser_idinfo).
//! The magic is looked for where blkid looks, in its order: 3.5 at 8 KiB, then 3.6 ("ReIsEr2Fs"),
//! journal-relocated ("ReIsEr3Fs") and 3.5 at 64 KiB, then the oldest 3.5 layout at 8 KiB + 20.

use super::{FsInfo, Usage};
use crate::error::FormatError;
use crate::formats::bytes;

const FORMAT: &str = "reiserfs";

/// Superblock offsets: blkid's `kboff` 8 and 64.
pub const SB_OFFSETS: [u64; 2] = [8 * 1024, 64 * 1024];
/// `struct reiserfs_super_block`: up to the end of `rs_label`.
pub const SB_READ: usize = 0x74;
/// blkid's `minsz` for reiserfs.
pub const MIN_DEVICE_SIZE: u64 = 128 * 1024;

const JOURNAL_BLOCK: usize = 0x0C;
const BLOCKSIZE: usize = 0x2C;
const MAGIC: usize = 0x34;
const UUID: usize = 0x54;
const LABEL: usize = 0x64;

/// blkid's magic table: (superblock index in [`SB_OFFSETS`], magic offset, magic).
const MAGICS: [(usize, usize, &[u8]); 5] = [
    (0, MAGIC, b"ReIsErFs"),
    (1, MAGIC, b"ReIsEr2Fs"),
    (1, MAGIC, b"ReIsEr3Fs"),
    (1, MAGIC, b"ReIsErFs"),
    (0, 20, b"ReIsErFs"),
];

/// Parses the superblock candidates read at [`SB_OFFSETS`] (`None` where the device is too
/// small). `Err`: a magic whose block size is below 512 or whose superblock lies inside its
/// own journal ("we have the wrong one"), when no other magic matched.
pub fn parse(sbs: [Option<&[u8; SB_READ]>; 2]) -> Result<Option<FsInfo>, FormatError> {
    for (idx, at, magic) in MAGICS {
        let Some(sb) = sbs[idx] else { continue };
        if sb.get(at..at + magic.len()) != Some(magic) {
            continue;
        }
        let base = SB_OFFSETS[idx];
        let blocksize = u32::from(bytes::le16(sb, BLOCKSIZE).unwrap_or(0));
        if blocksize >> 9 == 0 {
            return Err(FormatError::field(
                FORMAT,
                base + BLOCKSIZE as u64,
                "rs_blocksize",
                blocksize,
                "at least 512",
            ));
        }
        let kboff = base / 1024;
        let journal = u64::from(bytes::le32(sb, JOURNAL_BLOCK).unwrap_or(0));
        if kboff / u64::from(blocksize >> 9) > journal / 2 {
            return Err(FormatError::field(
                FORMAT,
                base + JOURNAL_BLOCK as u64,
                "rs_journal_block",
                journal,
                "after the superblock (this one lies inside the journal)",
            ));
        }
        let mut info = FsInfo::new("reiserfs", Usage::Filesystem);
        let v = magic.get(6).copied();
        if matches!(v, Some(b'2' | b'3')) {
            if bytes::u8_at(sb, LABEL).is_some_and(|c| c != 0) {
                info.label = super::label(sb.get(LABEL..LABEL + 16).unwrap_or(&[]));
            }
            info.uuid = bytes::arr::<16>(sb, UUID).and_then(|u| super::uuid(&u));
        }
        info.version = Some(
            match v {
                Some(b'3') => "JR",
                Some(b'2') => "3.6",
                _ => "3.5",
            }
            .into(),
        );
        return Ok(Some(info));
    }
    Ok(None)
}
