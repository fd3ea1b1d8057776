//! Bounds-checked field readers for parsers. Each returns `None` when the field lies outside
//! the buffer, so a truncated buffer can never panic a parser.

pub fn u8_at(b: &[u8], off: usize) -> Option<u8> {
    b.get(off).copied()
}

pub fn arr<const N: usize>(b: &[u8], off: usize) -> Option<[u8; N]> {
    b.get(off..off.checked_add(N)?)?.try_into().ok()
}

pub fn le16(b: &[u8], off: usize) -> Option<u16> {
    arr::<2>(b, off).map(u16::from_le_bytes)
}
pub fn le32(b: &[u8], off: usize) -> Option<u32> {
    arr::<4>(b, off).map(u32::from_le_bytes)
}
pub fn le64(b: &[u8], off: usize) -> Option<u64> {
    arr::<8>(b, off).map(u64::from_le_bytes)
}
pub fn be16(b: &[u8], off: usize) -> Option<u16> {
    arr::<2>(b, off).map(u16::from_be_bytes)
}
pub fn be32(b: &[u8], off: usize) -> Option<u32> {
    arr::<4>(b, off).map(u32::from_be_bytes)
}
pub fn be64(b: &[u8], off: usize) -> Option<u64> {
    arr::<8>(b, off).map(u64::from_be_bytes)
}

/// A NUL- (and optionally space-) padded text field, trimmed as blkid trims labels.
pub fn padded_str(b: &[u8], off: usize, len: usize) -> Option<String> {
    let f = b.get(off..off.checked_add(len)?)?;
    let end = f.iter().position(|&c| c == 0).unwrap_or(f.len());
    Some(
        String::from_utf8_lossy(&f[..end])
            .trim_end_matches(' ')
            .to_string(),
    )
}

/// LVM2's CRC: reflected CRC-32 (0xEDB88320), initial value 0xF597A6CF, no final xor
/// (lvm2 `lib/misc/crc.c`). `crc32fast` computes the standard CRC, whose pre/post inversion
/// we undo. Chain by passing the previous result as `init`.
pub fn lvm_crc_with(init: u32, buf: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new_with_initial(!init);
    h.update(buf);
    !h.finalize()
}

/// The same raw CRC-32 with any seed: util-linux `ul_crc32` (no inversion before or after).
pub fn crc32_raw(seed: u32, buf: &[u8]) -> u32 {
    lvm_crc_with(seed, buf)
}

pub const LVM_INITIAL_CRC: u32 = 0xF597_A6CF;

pub fn lvm_crc(buf: &[u8]) -> u32 {
    lvm_crc_with(LVM_INITIAL_CRC, buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lvm_crc_check_values() {
        // formats.md §1.4 check values.
        assert_eq!(lvm_crc(b""), 0xF597_A6CF);
        assert_eq!(lvm_crc(b"123456789"), 0x4991_CF02);
        let whole = lvm_crc(b"hello world");
        assert_eq!(lvm_crc_with(lvm_crc(b"hello "), b"world"), whole);
    }

    #[test]
    fn readers_are_bounded() {
        let b = [1u8, 2, 3];
        assert_eq!(le16(&b, 1), Some(0x0302));
        assert_eq!(le32(&b, 0), None);
        assert_eq!(le16(&b, usize::MAX), None);
        assert_eq!(padded_str(b"ab\0\0", 0, 4).as_deref(), Some("ab"));
    }
}
