//! ISO 9660 (with Joliet; High Sierra): util-linux `libblkid/src/superblocks/iso9660.c`.
//!
//! The volume descriptors from 32 KiB on are walked (at most [`VD_MAX`], until the terminator
//! or the first unreadable one); the walk is the driver's, each step is [`descriptor`]. LABEL
//! is exactly blkid's choice: with a Joliet supplementary descriptor, its UTF-16 volume id (16
//! characters at most) completed from the primary's 32-character one when the Joliet id is a
//! prefix of it (`merge_utf16be_ascii`), else the Joliet id alone; without Joliet the
//! primary's id. Rock Ridge names files, not the volume: it does not change the label. UUID
//! is the primary's modification date (else its creation date) as blkid prints it.

use super::{FsInfo, Usage, Utf16};

/// The first volume descriptor.
pub const VD_OFFSET: u64 = 0x8000;
pub const VD_SIZE: u64 = 0x800;
/// `ISO_VD_MAX`.
pub const VD_MAX: u64 = 16;
/// blkid reads `struct iso_volume_descriptor` (847 bytes) of each descriptor.
pub const VD_READ: usize = 847;

const VD_BOOT_RECORD: u8 = 0;
const VD_PRIMARY: u8 = 1;
const VD_SUPPLEMENTARY: u8 = 2;
const VD_END: u8 = 0xFF;
const VOLUME_ID: usize = 40;
const ESCAPE_SEQUENCES: usize = 88;
const CREATED: usize = 813;
const MODIFIED: usize = 830;
/// High Sierra: "CDROM" at 9 of the first descriptor, the volume id at 48.
const HS_MAGIC: usize = 9;
const HS_VOLUME_ID: usize = 48;

/// What the probe starts from: the first descriptor's magic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Magic {
    Iso,
    HighSierra,
}

pub fn magic(first: &[u8; VD_READ]) -> Option<Magic> {
    if first.get(1..6) == Some(b"CD001") {
        Some(Magic::Iso)
    } else if first.get(HS_MAGIC..HS_MAGIC + 5) == Some(b"CDROM") {
        Some(Magic::HighSierra)
    } else {
        None
    }
}

/// The High Sierra result (blkid: label and version only).
pub fn high_sierra(first: &[u8; VD_READ]) -> FsInfo {
    let mut info = FsInfo::new("iso9660", Usage::Filesystem);
    info.version = Some("High Sierra".into());
    info.label = super::label(first.get(HS_VOLUME_ID..HS_VOLUME_ID + 32).unwrap_or(&[]));
    info
}

/// The descriptors blkid keeps: the first of each kind.
#[derive(Debug, Clone, Default)]
pub struct Descriptors {
    primary: Option<Box<[u8; VD_READ]>>,
    joliet: Option<Box<[u8; VD_READ]>>,
    boot: bool,
}

/// What the walk does after one descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Next,
    Stop,
}

impl Descriptors {
    /// Takes descriptor number `i`; the walk stops at the terminator or once a boot record,
    /// a primary and a Joliet descriptor are all seen.
    pub fn descriptor(&mut self, d: &[u8; VD_READ]) -> Step {
        match d[0] {
            VD_END => return Step::Stop,
            VD_BOOT_RECORD if !self.boot => self.boot = true,
            VD_PRIMARY if self.primary.is_none() => self.primary = Some(Box::new(*d)),
            VD_SUPPLEMENTARY if self.joliet.is_none() => {
                let esc = d.get(ESCAPE_SEQUENCES..ESCAPE_SEQUENCES + 3);
                if matches!(esc, Some(b"%/@") | Some(b"%/C") | Some(b"%/E")) {
                    self.joliet = Some(Box::new(*d));
                }
            }
            _ => {}
        }
        if self.boot && self.primary.is_some() && self.joliet.is_some() {
            Step::Stop
        } else {
            Step::Next
        }
    }

    /// The result; `None` without a primary descriptor (not iso9660 for blkid).
    pub fn finish(&self) -> Option<FsInfo> {
        let pvd = self.primary.as_deref()?;
        let mut info = FsInfo::new("iso9660", Usage::Filesystem);
        info.uuid = date_uuid(pvd, MODIFIED).unwrap_or_else(|| date_uuid(pvd, CREATED).flatten());
        let ascii = pvd.get(VOLUME_ID..VOLUME_ID + 32).unwrap_or(&[]);
        info.label = match self.joliet.as_deref() {
            Some(j) => {
                info.version = Some("Joliet Extension".into());
                let utf16 = j.get(VOLUME_ID..VOLUME_ID + 32).unwrap_or(&[]);
                match merge_utf16be_ascii(utf16, ascii) {
                    Some(m) => super::decoded_label(&m, Some(Utf16::Be)),
                    None => super::decoded_label(utf16, Some(Utf16::Be)),
                }
            }
            None => super::label(ascii),
        };
        Some(info)
    }
}

/// blkid's `probe_iso9660_set_uuid`: `None` when the date is unset (all sixteen digits '0'
/// and a zero offset: try the next date), `Some(uuid)` otherwise (no UUID when the digits are
/// all NUL bytes).
fn date_uuid(pvd: &[u8], at: usize) -> Option<Option<String>> {
    let d = pvd.get(at..at + 17)?;
    let digits = d.get(..16)?;
    if digits.iter().all(|&c| c == b'0') && d[16] == 0 {
        return None;
    }
    if digits.iter().all(|&c| c == 0) {
        return Some(None);
    }
    let s = |r: std::ops::Range<usize>| {
        String::from_utf8_lossy(digits.get(r).unwrap_or(&[])).into_owned()
    };
    Some(Some(format!(
        "{}-{}-{}-{}-{}-{}-{}",
        s(0..4),
        s(4..6),
        s(6..8),
        s(8..10),
        s(10..12),
        s(12..14),
        s(14..16)
    )))
}

/// blkid's `merge_utf16be_ascii`: when the UTF-16 id is the ASCII id (ignoring case and the
/// '_' that stands for characters ASCII cannot hold), the UTF-16 characters followed by the
/// rest of the ASCII id, as UTF-16BE; `None` when they differ.
fn merge_utf16be_ascii(utf16: &[u8], ascii: &[u8]) -> Option<Vec<u8>> {
    let len = ascii.len().min(utf16.len());
    let mut out = Vec::with_capacity(2 * len + 4);
    let (mut a, mut u) = (0usize, 0usize);
    let up = |c: u8| c.to_ascii_uppercase();
    while u + 1 < len && a < len {
        if (0xD8..=0xDB).contains(&utf16[u]) && u + 3 < len && (0xDC..=0xDF).contains(&utf16[u + 2])
        {
            out.extend_from_slice(&utf16[u..u + 2]);
            u += 2;
        }
        let (hi, lo, c) = (utf16[u], utf16[u + 1], ascii[a]);
        if c == b'_' {
            out.extend_from_slice(&[hi, lo]);
        } else if hi == 0 && lo == b'_' {
            out.extend_from_slice(&[0, c]);
        } else if hi == 0 && up(c) == up(lo) {
            out.extend_from_slice(&[0, if c.is_ascii_uppercase() { lo } else { c }]);
        } else {
            return None;
        }
        a += 1;
        u += 2;
    }
    for &c in ascii.get(a..len).unwrap_or(&[]) {
        out.extend_from_slice(&[0, c]);
    }
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn be(s: &str, n: usize) -> Vec<u8> {
        let mut v: Vec<u8> = s.encode_utf16().flat_map(|c| c.to_be_bytes()).collect();
        v.resize(n, 0);
        v
    }

    #[test]
    fn merge_rules() {
        let ascii = b"A_LONG_VOLUME_LABEL_WITH_32_CHRS";
        let m = merge_utf16be_ascii(&be("a long volume la", 32), ascii).unwrap();
        assert_eq!(
            super::super::decoded_label(&m, Some(Utf16::Be)).as_deref(),
            Some("a long volume laBEL_WITH_32_CHRS")
        );
        assert_eq!(merge_utf16be_ascii(&be("different", 32), ascii), None);
        // '_' in the primary stands for a character it cannot hold: the UTF-16 one is kept.
        let m = merge_utf16be_ascii(&be("Ä ", 4), b"_ ").unwrap();
        assert_eq!(m, vec![0x00, 0xC4, 0x00, b' ']);
    }
}
