//! The metadata area: `mda_header` and its `raw_locn` slots (lvm2 `lib/format_text/layout.h`,
//! `format-text.c`), and where the current metadata text lies in the circular buffer
//! (formats.md §1.5–§1.6).
//!
//! The driver reads the 512-byte header at the `disk_locn` offset the label gives, calls
//! [`parse_mda_header`], asks [`text_pieces`] where the committed text is (one piece, or two
//! when it wraps around the end of the area), reads them and verifies them with
//! [`check_text`].

use super::FORMAT;
use crate::error::FormatError;
use crate::formats::bytes::{arr, le32, le64, lvm_crc, lvm_crc_with, LVM_INITIAL_CRC};

/// `MDA_HEADER_SIZE` (`layout.h`).
pub const MDA_HEADER_SIZE: u64 = 512;
/// `FMTT_MAGIC` (`layout.h`).
pub const FMTT_MAGIC: &[u8; 16] = b" LVM2 x[5A%r0N*>";
/// `FMTT_VERSION` (`layout.h`).
pub const FMTT_VERSION: u32 = 1;
/// `RAW_LOCN_IGNORED` (`layout.h`): the mda is ignored (`pvchange --metadataignore`).
pub const RAW_LOCN_IGNORED: u32 = 0x1;

// struct mda_header (layout.h)
const OFF_CHECKSUM: u64 = 0x00;
const OFF_MAGIC: u64 = 0x04;
const OFF_VERSION: u64 = 0x14;
const OFF_START: u64 = 0x18;
const OFF_SIZE: u64 = 0x20;
const OFF_RAW_LOCNS: u64 = 0x28;
const RAW_LOCN_SIZE: u64 = 24;
// struct raw_locn
const RL_OFFSET: u64 = 0;
const RL_SIZE: u64 = 8;
const RL_CHECKSUM: u64 = 16;

/// `struct raw_locn`: where one copy of the metadata text is, relative to the mda start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RawLocn {
    pub offset: u64,
    /// Bytes of text including its trailing NUL.
    pub size: u64,
    pub checksum: u32,
    pub flags: u32,
}

impl RawLocn {
    pub fn ignored(&self) -> bool {
        self.flags & RAW_LOCN_IGNORED != 0
    }

    /// No metadata in this slot (`offset` 0: an orphan PV's mda).
    pub fn is_empty(&self) -> bool {
        self.offset == 0
    }
}

/// A valid `mda_header`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MdaHeader {
    pub checksum: u32,
    /// Byte offset of the header on the PV device.
    pub start: u64,
    /// Size of the whole area in bytes, header included.
    pub size: u64,
    /// Committed metadata (the only slot an activator reads).
    pub slot0: RawLocn,
    /// Precommitted metadata, written but not committed (zero after every commit).
    pub slot1: RawLocn,
}

impl MdaHeader {
    /// The committed slot, unless the area holds no metadata.
    pub fn committed(&self) -> Option<&RawLocn> {
        (!self.slot0.is_empty()).then_some(&self.slot0)
    }

    /// Absolute offset of a field of slot 0 (for error reports).
    fn slot0_field(&self, field: u64) -> u64 {
        self.start
            .saturating_add(OFF_RAW_LOCNS)
            .saturating_add(field)
    }
}

/// Parses the header read at `expected_start` (the offset the label's `disk_locn` gave).
/// Error offsets are absolute: `expected_start` plus the field's offset.
pub fn parse_mda_header(buf: &[u8; 512], expected_start: u64) -> Result<MdaHeader, FormatError> {
    let at = |off: u64| expected_start.saturating_add(off);
    // Every field lies inside the fixed 512-byte buffer, so the readers cannot fail; the
    // fallbacks only keep this free of unwrap.
    let u32_at = |off: u64| le32(buf, usize::try_from(off).unwrap_or(usize::MAX)).unwrap_or(0);
    let u64_at = |off: u64| le64(buf, usize::try_from(off).unwrap_or(usize::MAX)).unwrap_or(0);

    let magic = arr::<16>(buf, 4).unwrap_or([0; 16]);
    if &magic != FMTT_MAGIC {
        return Err(FormatError::field(
            FORMAT,
            at(OFF_MAGIC),
            "mda_header.magic",
            format!("{:?}", String::from_utf8_lossy(&magic)),
            format!("{:?}", String::from_utf8_lossy(FMTT_MAGIC)),
        ));
    }
    let version = u32_at(OFF_VERSION);
    if version != FMTT_VERSION {
        return Err(FormatError::field(
            FORMAT,
            at(OFF_VERSION),
            "mda_header.version",
            version,
            FMTT_VERSION,
        ));
    }
    let checksum = u32_at(OFF_CHECKSUM);
    let crc = lvm_crc(buf.get(4..).unwrap_or(&[]));
    if crc != checksum {
        return Err(FormatError::checksum(
            FORMAT,
            at(OFF_CHECKSUM),
            "mda_header.checksum_xl",
            checksum,
            crc,
        ));
    }
    let start = u64_at(OFF_START);
    if start != expected_start {
        return Err(FormatError::field(
            FORMAT,
            at(OFF_START),
            "mda_header.start",
            start,
            expected_start,
        ));
    }
    let size = u64_at(OFF_SIZE);
    if size <= MDA_HEADER_SIZE {
        return Err(FormatError::field(
            FORMAT,
            at(OFF_SIZE),
            "mda_header.size",
            size,
            format!("more than {MDA_HEADER_SIZE} (the header itself)"),
        ));
    }
    let slot = |i: u64| {
        let b = OFF_RAW_LOCNS + i * RAW_LOCN_SIZE;
        RawLocn {
            offset: u64_at(b + RL_OFFSET),
            size: u64_at(b + RL_SIZE),
            checksum: u32_at(b + RL_CHECKSUM),
            flags: u32_at(b + 20),
        }
    };
    Ok(MdaHeader {
        checksum,
        start,
        size,
        slot0: slot(0),
        slot1: slot(1),
    })
}

/// Where the committed text is: one `(absolute offset, length)` piece, or two when it wraps
/// (the second piece starts right after the header). Applies lvm2's bounds
/// (`read_metadata_location_summary`, formats.md §1.6): the text starts inside the buffer
/// after the header, is not empty, fits in the buffer and in 32 bits. Call only when
/// [`MdaHeader::committed`] is `Some`.
pub fn text_pieces(h: &MdaHeader) -> Result<Vec<(u64, u64)>, FormatError> {
    let r = &h.slot0;
    if r.offset < MDA_HEADER_SIZE || r.offset >= h.size {
        return Err(FormatError::field(
            FORMAT,
            h.slot0_field(RL_OFFSET),
            "raw_locn[0].offset",
            r.offset,
            format!("{MDA_HEADER_SIZE}..{} (inside the metadata area)", h.size),
        ));
    }
    // size > MDA_HEADER_SIZE was checked by parse_mda_header.
    let room = h.size.saturating_sub(MDA_HEADER_SIZE);
    let max = room.min(u64::from(u32::MAX));
    if r.size == 0 || r.size > max {
        return Err(FormatError::field(
            FORMAT,
            h.slot0_field(RL_SIZE),
            "raw_locn[0].size",
            r.size,
            format!("1..={max} (the text buffer of the metadata area)"),
        ));
    }
    let overflow = || {
        FormatError::field(
            FORMAT,
            h.slot0_field(RL_OFFSET),
            "raw_locn[0].offset",
            r.offset,
            "a text location that fits in 64 bits on the device",
        )
    };
    let first_abs = h.start.checked_add(r.offset).ok_or_else(overflow)?;
    let end = r.offset.checked_add(r.size).ok_or_else(overflow)?;
    if end <= h.size {
        return Ok(vec![(first_abs, r.size)]);
    }
    // Wrapped: `wrap` bytes continue after the header. size <= room keeps the second piece
    // clear of the first (wrap <= offset - MDA_HEADER_SIZE).
    let wrap = end - h.size;
    let second_abs = h.start.checked_add(MDA_HEADER_SIZE).ok_or_else(overflow)?;
    Ok(vec![(first_abs, r.size - wrap), (second_abs, wrap)])
}

/// Verifies the text pieces against slot 0: total length and the chained LVM CRC
/// (`config_file_read_fd`). The error offset is where the text starts on the device.
pub fn check_text(h: &MdaHeader, pieces: &[&[u8]]) -> Result<(), FormatError> {
    let r = &h.slot0;
    let text_at = h.start.saturating_add(r.offset);
    let len: u64 = pieces
        .iter()
        .map(|p| u64::try_from(p.len()).unwrap_or(u64::MAX))
        .fold(0u64, u64::saturating_add);
    if len != r.size {
        return Err(FormatError::truncated(
            FORMAT,
            text_at,
            "metadata text",
            r.size,
            len,
        ));
    }
    let crc = pieces
        .iter()
        .fold(LVM_INITIAL_CRC, |c, p| lvm_crc_with(c, p));
    if crc != r.checksum {
        return Err(FormatError::checksum(
            FORMAT,
            text_at,
            "metadata text (raw_locn[0].checksum)",
            r.checksum,
            crc,
        ));
    }
    Ok(())
}

/// Maps a byte index in the concatenated text to its offset on the device.
pub fn device_offset(pieces: &[(u64, u64)], mut index: u64) -> u64 {
    for &(off, len) in pieces {
        if index < len {
            return off.saturating_add(index);
        }
        index -= len;
    }
    pieces
        .last()
        .map_or(0, |&(off, len)| off.saturating_add(len))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::formats::lvm::fixtures;
    use crate::source::sparse::SparseDev;
    use crate::source::ReadAt;

    fn header_at(d: &SparseDev, off: u64) -> [u8; 512] {
        *crate::source::read_array::<512>(d, off).unwrap()
    }

    /// Recomputes the header checksum after a mutation.
    fn fix(buf: &mut [u8; 512]) {
        let c = lvm_crc(&buf[4..]);
        buf[..4].copy_from_slice(&c.to_le_bytes());
    }

    fn read_pieces(d: &SparseDev, pieces: &[(u64, u64)]) -> Vec<Vec<u8>> {
        pieces
            .iter()
            .map(|&(o, l)| {
                let mut v = vec![0u8; l as usize];
                d.read_exact_at(o, &mut v).unwrap();
                v
            })
            .collect()
    }

    /// Every mda header and slot of every fixture against `pvck --dump headers`, and the text
    /// (wrapped or not) against its checksum.
    #[test]
    fn golden_mda_headers() {
        let mut with_text = 0;
        let mut wrapped = 0;
        for f in fixtures::all() {
            for disk in f.disks() {
                let h = f.headers(&disk);
                let d = f.disk(&disk);
                for n in 1..=2 {
                    let key = format!("mda_header_{n}");
                    if !h.has(&format!("{key} at")) {
                        continue;
                    }
                    let at = h.num(&format!("{key} at"));
                    let mh = parse_mda_header(&header_at(&d, at), at).unwrap();
                    let ctx = format!("{}/{disk}/{key}", f.name);
                    assert_eq!(
                        u64::from(mh.checksum),
                        h.num(&format!("{key}.checksum")),
                        "{ctx}"
                    );
                    assert_eq!(mh.start, h.num(&format!("{key}.start")), "{ctx}");
                    assert_eq!(mh.size, h.num(&format!("{key}.size")), "{ctx}");
                    assert_eq!(
                        h.get(&format!("{key}.magic")),
                        "0x204c564d3220785b35412572304e2a3e"
                    );
                    assert_eq!(h.num(&format!("{key}.version")), 1);
                    for (i, s) in [mh.slot0, mh.slot1].iter().enumerate() {
                        let k = format!("{key}.raw_locn[{i}]");
                        assert_eq!(s.offset, h.num(&format!("{k}.offset")), "{ctx}");
                        assert_eq!(s.size, h.num(&format!("{k}.size")), "{ctx}");
                        assert_eq!(
                            u64::from(s.checksum),
                            h.num(&format!("{k}.checksum")),
                            "{ctx}"
                        );
                        assert_eq!(u64::from(s.flags), h.num(&format!("{k}.flags")), "{ctx}");
                    }
                    assert!(mh.slot1.is_empty());
                    let Some(_) = mh.committed() else { continue };
                    let pieces = text_pieces(&mh).unwrap();
                    if pieces.len() == 2 {
                        wrapped += 1;
                    }
                    let bufs = read_pieces(&d, &pieces);
                    let refs: Vec<&[u8]> = bufs.iter().map(Vec::as_slice).collect();
                    check_text(&mh, &refs).unwrap();
                    // The text ends with its NUL (formats.md §1.6 step 5).
                    assert_eq!(bufs.last().unwrap().last(), Some(&0u8), "{ctx}");
                    with_text += 1;
                }
            }
        }
        assert_eq!(wrapped, 1, "the wrap fixture must wrap");
        assert!(with_text >= 7, "{with_text}");
    }

    #[test]
    fn wrapped_text_matches_pvck() {
        let f = fixtures::load("wrap");
        let d = f.disk("disk");
        let mh = parse_mda_header(&header_at(&d, 4096), 4096).unwrap();
        let pieces = text_pieces(&mh).unwrap();
        // From pvck: the first piece runs from the slot's offset to the end of the area, the
        // rest follows the header.
        let h = f.headers("disk");
        let (off, size, area) = (
            h.num("mda_header_1.raw_locn[0].offset"),
            h.num("mda_header_1.raw_locn[0].size"),
            h.num("mda_header_1.size"),
        );
        assert!(off + size > area);
        let first = area - off;
        assert_eq!(
            pieces,
            vec![(4096 + off, first), (4096 + 512, size - first)]
        );
        let mut text: Vec<u8> = read_pieces(&d, &pieces).concat();
        assert_eq!(text.pop(), Some(0));
        // pvck prints the text (without its NUL) between two `---` lines.
        assert_eq!(String::from_utf8(text).unwrap(), f.metadata_text().unwrap());
        assert_eq!(device_offset(&pieces, 0), 4096 + off);
        assert_eq!(device_offset(&pieces, first - 1), 4096 + off + first - 1);
        assert_eq!(device_offset(&pieces, first), 4096 + 512);
        assert_eq!(
            device_offset(&pieces, size - 1),
            4096 + 512 + size - first - 1
        );
    }

    fn whole_disk_header() -> [u8; 512] {
        header_at(&fixtures::load("whole-disk").disk("disk"), 4096)
    }

    #[test]
    fn bad_magic() {
        let mut b = whole_disk_header();
        b[4] = b'X';
        fix(&mut b);
        let e = parse_mda_header(&b, 4096).unwrap_err();
        assert_eq!(e.offset, 4096 + 4);
        assert!(matches!(
            e.kind,
            ErrorKind::Field {
                field: "mda_header.magic",
                ..
            }
        ));
    }

    #[test]
    fn bad_version() {
        let mut b = whole_disk_header();
        b[0x14] = 2;
        fix(&mut b);
        let e = parse_mda_header(&b, 4096).unwrap_err();
        assert_eq!(
            e,
            FormatError::field(FORMAT, 4096 + 0x14, "mda_header.version", 2, 1)
        );
    }

    #[test]
    fn bad_checksum() {
        let mut b = whole_disk_header();
        let stored = u32::from_le_bytes(b[..4].try_into().unwrap());
        b[0x40] ^= 1; // raw_locn[0].size
        let e = parse_mda_header(&b, 4096).unwrap_err();
        assert_eq!(e.offset, 4096);
        assert!(matches!(
            e.kind,
            ErrorKind::Checksum { field: "mda_header.checksum_xl", found, .. } if found == stored
        ));
    }

    #[test]
    fn bad_start() {
        let b = whole_disk_header();
        // The same header found somewhere else: start does not match where it was read.
        let e = parse_mda_header(&b, 8192).unwrap_err();
        assert_eq!(
            e,
            FormatError::field(FORMAT, 8192 + 0x18, "mda_header.start", 4096, 8192)
        );
    }

    #[test]
    fn bad_size() {
        let mut b = whole_disk_header();
        b[0x20..0x28].copy_from_slice(&512u64.to_le_bytes());
        fix(&mut b);
        let e = parse_mda_header(&b, 4096).unwrap_err();
        assert_eq!(e.offset, 4096 + 0x20);
        assert!(matches!(
            e.kind,
            ErrorKind::Field {
                field: "mda_header.size",
                ..
            }
        ));
    }

    fn with_slot0(offset: u64, size: u64) -> MdaHeader {
        let mut h = parse_mda_header(&whole_disk_header(), 4096).unwrap();
        h.slot0.offset = offset;
        h.slot0.size = size;
        h
    }

    #[test]
    fn raw_locn_beyond_area() {
        let h = with_slot0(1044480, 10); // offset == mda size (1044480)
        let e = text_pieces(&h).unwrap_err();
        assert_eq!(e.offset, 4096 + 0x28);
        assert!(
            matches!(
                e.kind,
                ErrorKind::Field {
                    field: "raw_locn[0].offset",
                    ..
                }
            ),
            "{e}"
        );
        let e = text_pieces(&with_slot0(100, 10)).unwrap_err(); // inside the header
        assert!(matches!(
            e.kind,
            ErrorKind::Field {
                field: "raw_locn[0].offset",
                ..
            }
        ));
        let e = text_pieces(&with_slot0(1536, 1044480 - 511)).unwrap_err();
        assert_eq!(e.offset, 4096 + 0x30);
        assert!(
            matches!(
                e.kind,
                ErrorKind::Field {
                    field: "raw_locn[0].size",
                    ..
                }
            ),
            "{e}"
        );
        let e = text_pieces(&with_slot0(1536, 0)).unwrap_err();
        assert!(matches!(
            e.kind,
            ErrorKind::Field {
                field: "raw_locn[0].size",
                ..
            }
        ));
        // The largest text that fits wraps into the buffer right up to its own start.
        let p = text_pieces(&with_slot0(2048, 1044480 - 512)).unwrap();
        assert_eq!(p, vec![(4096 + 2048, 1044480 - 2048), (4096 + 512, 1536)]);
        // Huge values never overflow.
        let mut h = with_slot0(u64::MAX - 1, u64::MAX);
        h.size = u64::MAX;
        assert!(text_pieces(&h).is_err());
        h.start = u64::MAX;
        h.slot0 = RawLocn {
            offset: 512,
            size: 10,
            ..h.slot0
        };
        assert!(text_pieces(&h).is_err());
    }

    #[test]
    fn bad_text_checksum() {
        let f = fixtures::load("whole-disk");
        let d = f.disk("disk");
        let mh = parse_mda_header(&header_at(&d, 4096), 4096).unwrap();
        let pieces = text_pieces(&mh).unwrap();
        let mut bufs = read_pieces(&d, &pieces);
        bufs[0][10] ^= 0x20;
        let refs: Vec<&[u8]> = bufs.iter().map(Vec::as_slice).collect();
        let e = check_text(&mh, &refs).unwrap_err();
        assert_eq!(e.offset, 4096 + mh.slot0.offset);
        assert!(matches!(e.kind, ErrorKind::Checksum { found, .. } if found == mh.slot0.checksum));
        let e = check_text(&mh, &[&bufs[0][..5]]).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Truncated { .. }));
    }

    #[test]
    fn orphan_and_ignored_slots() {
        let mut b = whole_disk_header();
        b[0x28..0x28 + 24].fill(0);
        fix(&mut b);
        let h = parse_mda_header(&b, 4096).unwrap();
        assert!(h.committed().is_none());
        b[0x28 + 20] = 1;
        fix(&mut b);
        let h = parse_mda_header(&b, 4096).unwrap();
        assert!(h.slot0.ignored());
    }
}
