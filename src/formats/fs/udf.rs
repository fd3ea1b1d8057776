//! UDF: util-linux `libblkid/src/superblocks/udf.c` (live media, DVD/BD images, disks).
//!
//! The walk is the driver's (`probe::fs`), in blkid's steps:
//! 1. for each candidate block size ([`block_sizes`]): the volume recognition sequence from
//!    32 KiB (at most [`VRS_MAX`] descriptors, [`vrs_step`]) must reach an NSR02/NSR03
//!    descriptor; then an anchor (AVDP) at block 256, else 512, whose tag names its own
//!    location ([`anchor`]) fixes the block size;
//! 2. the main volume descriptor sequence named by the anchor, descriptor by descriptor
//!    ([`Sequence::descriptor`], at most [`VDS_MAX`]: blkid walks the whole extent, up to 2^32
//!    bytes of it; real sequences hold a handful), until a terminating descriptor or a tag that
//!    does not name its own location;
//! 3. the first logical volume integrity descriptor, for the UDF revision.
//!
//! LABEL is the logical volume identifier (UTF-16 or 8-bit "OSTA compressed unicode"); UUID is
//! blkid's reading of the volume set identifier's first 16 characters; VERSION the highest of
//! the LVD's and the LVID's revisions.

use super::{FsInfo, Usage, Utf16};
use crate::formats::bytes;

/// Where the volume recognition sequence starts.
pub const VRS_OFFSET: u64 = 0x8000;
/// blkid scans 64 volume structure descriptors at most.
pub const VRS_MAX: u64 = 64;
/// `struct volume_structure_descriptor`.
pub const VSD_READ: usize = 7;
/// blkid reads `struct volume_descriptor` (440 bytes) for every tag.
pub const VD_READ: usize = 440;
/// Our bound on the descriptors of the volume descriptor sequence.
pub const VDS_MAX: u32 = 1024;
/// `struct logical_vol_integ_descriptor_imp_use`.
pub const LVIDIU_READ: usize = 46;
/// The anchor's block numbers.
pub const ANCHOR_BLOCKS: [u64; 2] = [256, 512];

const TAG_ID_PVD: u16 = 1;
const TAG_ID_AVDP: u16 = 2;
const TAG_ID_IUVD: u16 = 4;
const TAG_ID_LVD: u16 = 6;
const TAG_ID_TD: u16 = 8;
const TAG_ID_LVID: u16 = 9;

/// The block sizes blkid tries, in order: the device's sector size, then 512 to 4096
/// (each once).
pub fn block_sizes(sector: u32) -> Vec<u32> {
    let mut v = vec![sector];
    for b in [512, 1024, 2048, 4096] {
        if b != sector {
            v.push(b);
        }
    }
    v
}

/// Where volume structure descriptor `n` is for a block size (2048-byte descriptors, or a
/// block each above 2048).
pub fn vsd_offset(block: u32, n: u64) -> u64 {
    VRS_OFFSET + n * u64::from(block.max(2048))
}

/// One step of the volume recognition sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vrs {
    /// NSR02/NSR03: a UDF volume.
    Nsr,
    /// BEA01, BOOT2, CD001, CDW02, TEA01: go on.
    Next,
    /// An empty or unknown descriptor ends the sequence without NSR.
    End,
}

pub fn vrs_step(vsd: &[u8; VSD_READ]) -> Vrs {
    let id = &vsd[1..6];
    if id[0] == 0 {
        Vrs::End
    } else if id == b"NSR02" || id == b"NSR03" {
        Vrs::Nsr
    } else if [&b"BEA01"[..], b"BOOT2", b"CD001", b"CDW02", b"TEA01"].contains(&id) {
        Vrs::Next
    } else {
        Vrs::End
    }
}

fn tag_id(vd: &[u8]) -> u16 {
    bytes::le16(vd, 0).unwrap_or(0)
}

fn tag_location(vd: &[u8]) -> u64 {
    u64::from(bytes::le32(vd, 12).unwrap_or(0))
}

/// The main volume descriptor sequence an anchor names: (first block, length in blocks).
/// `None`: the descriptor read at block `block` is not an anchor that says it is there.
pub fn anchor(vd: &[u8; VD_READ], block: u64, block_size: u32) -> Option<(u64, u32)> {
    if tag_location(vd) != block || tag_id(vd) != TAG_ID_AVDP {
        return None;
    }
    let len = bytes::le32(vd, 16)?;
    let loc = bytes::le32(vd, 20)?;
    Some((u64::from(loc), (len / block_size).min(VDS_MAX)))
}

/// `is_charset_udf`: charspec type 0 with "OSTA Compressed Unicode".
fn charset_udf(cs: &[u8]) -> bool {
    // strncmp over the 63-byte info: equal up to the NUL that ends the name.
    cs.first() == Some(&0) && strncmp_eq(cs.get(1..64).unwrap_or(&[]), b"OSTA Compressed Unicode")
}

/// A dstring's characters (`c[..clen-1]`) and their encoding (`cid` 8: Latin-1, 16:
/// UTF-16BE; `None` for any other).
fn dstring(d: &[u8]) -> Option<(&[u8], Option<Utf16>)> {
    let cap = d.len().checked_sub(2)?;
    let cid = *d.first()?;
    let clen = usize::from(*d.last()?).saturating_sub(1).min(cap);
    let enc = match cid {
        8 => None,
        16 => Some(Utf16::Be),
        _ => return None,
    };
    Some((d.get(1..1 + clen)?, enc))
}

/// What the sequence walk does after one descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Next,
    Stop,
}

/// The values blkid collects from the sequence, and the flags that end its walk early.
#[derive(Debug, Clone, Default)]
pub struct Sequence {
    label: Option<String>,
    uuid: Option<String>,
    udf_rev: u16,
    lvid: Option<(u32, u32)>,
    have_label: bool,
    have_uuid: bool,
    have_volid: bool,
    have_volsetid: bool,
    have_logvolid: bool,
    have_appid: bool,
    have_publisher: bool,
}

impl Sequence {
    /// Takes the descriptor read at block `block` (the `n`th of the sequence).
    pub fn descriptor(&mut self, vd: &[u8; VD_READ], block: u64) -> Step {
        let ty = tag_id(vd);
        if ty == 0 || tag_location(vd) != block || ty == TAG_ID_TD {
            return Step::Stop;
        }
        match ty {
            TAG_ID_PVD => self.primary(vd),
            TAG_ID_LVD => self.logical(vd),
            TAG_ID_IUVD => {
                let lvi_id = vd.get(21..44).unwrap_or(&[]);
                if !self.have_publisher
                    && strncmp_eq(lvi_id, b"*UDF LV Info")
                    && charset_udf(vd.get(52..116).unwrap_or(&[]))
                {
                    self.have_publisher = dstring(vd.get(244..280).unwrap_or(&[])).is_some();
                }
            }
            _ => {}
        }
        let all = self.have_volid
            && self.have_uuid
            && self.have_volsetid
            && self.have_logvolid
            && self.have_label
            && self.lvid.is_some()
            && self.have_appid
            && self.have_publisher;
        if all {
            Step::Stop
        } else {
            Step::Next
        }
    }

    fn primary(&mut self, vd: &[u8; VD_READ]) {
        let udf = charset_udf(vd.get(200..264).unwrap_or(&[]));
        if !self.have_volid && udf {
            self.have_volid = dstring(vd.get(24..56).unwrap_or(&[])).is_some();
        }
        let volset = vd.get(72..200).unwrap_or(&[]);
        if !self.have_uuid && udf {
            if let Some(u) = volset_uuid(volset) {
                self.uuid = Some(u);
                self.have_uuid = true;
            }
        }
        if !self.have_volsetid && udf {
            self.have_volsetid = dstring(volset).is_some();
        }
        if !self.have_appid {
            let id = |r: std::ops::Range<usize>| {
                let f = vd.get(r).unwrap_or(&[]);
                let f = f
                    .get(..f.iter().position(|&c| c == 0).unwrap_or(f.len()))
                    .unwrap_or(&[]);
                f.strip_prefix(b"*").unwrap_or(f).to_vec()
            };
            let mut app = id(345..368);
            if app.is_empty() {
                app = id(389..412);
            }
            // blkid_probe_set_id_label succeeds even when trimming leaves nothing.
            self.have_appid = !app.is_empty();
        }
    }

    fn logical(&mut self, vd: &[u8; VD_READ]) {
        if self.lvid.is_none() && bytes::le32(vd, 268).unwrap_or(0) != 0 {
            let (len, loc) = (
                bytes::le32(vd, 432).unwrap_or(0),
                bytes::le32(vd, 436).unwrap_or(0),
            );
            if len != 0 && loc != 0 {
                self.lvid = Some((len, loc));
            }
        }
        if self.udf_rev == 0 && strncmp_eq(vd.get(217..240).unwrap_or(&[]), b"*OSTA UDF Compliant")
        {
            self.udf_rev = bytes::le16(vd, 240).unwrap_or(0);
        }
        if (!self.have_logvolid || !self.have_label) && charset_udf(vd.get(20..84).unwrap_or(&[])) {
            if let Some((c, enc)) = dstring(vd.get(84..212).unwrap_or(&[])) {
                if !self.have_label {
                    self.label = super::decoded_label(c, enc);
                    self.have_label = true;
                }
                self.have_logvolid = true;
            }
        }
    }

    /// The logical volume integrity descriptor's byte offset, when the LVD named one blkid
    /// reads (its length at least a whole descriptor).
    pub fn lvid_offset(&self, block_size: u32) -> Option<(u64, u64)> {
        let (len, loc) = self.lvid?;
        (len as usize >= VD_READ).then(|| (u64::from(loc) * u64::from(block_size), u64::from(loc)))
    }

    /// From the LVID read at [`Sequence::lvid_offset`]: where its implementation-use area
    /// (with the revisions) is, relative to the LVID, if blkid reads it.
    pub fn lvidiu_offset(vd: &[u8; VD_READ], loc: u64) -> Option<u64> {
        if tag_id(vd) != TAG_ID_LVID || tag_location(vd) != loc {
            return None;
        }
        let parts = u64::from(bytes::le32(vd, 72)?);
        let iu_len = bytes::le32(vd, 76)?;
        (iu_len as usize >= LVIDIU_READ).then(|| 80 + 8 * parts)
    }

    /// Takes the LVID's implementation-use area: the minimum read and write revisions count
    /// towards VERSION.
    pub fn lvidiu(&mut self, iu: &[u8; LVIDIU_READ]) {
        for at in [40, 42] {
            let r = bytes::le16(iu, at).unwrap_or(0);
            if r != 0 && self.udf_rev < r {
                self.udf_rev = r;
            }
        }
    }

    pub fn finish(self) -> FsInfo {
        let mut info = FsInfo::new("udf", Usage::Filesystem);
        info.label = self.label;
        info.uuid = self.uuid;
        if self.udf_rev != 0 {
            info.version = Some(format!(
                "{:x}.{:02x}",
                self.udf_rev >> 8,
                self.udf_rev & 0xFF
            ));
        }
        info
    }
}

/// `strncmp(field, s, sizeof(field)) == 0` for a shorter `s`: equal up to s's end, which must
/// be followed by a NUL.
fn strncmp_eq(field: &[u8], s: &[u8]) -> bool {
    field.get(..s.len()) == Some(s) && field.get(s.len()).is_none_or(|&c| c == 0)
}

/// blkid's `gen_uuid_from_volset_id`: the first 16 bytes of the UTF-8 form of the volume set
/// identifier; all hex digits: lower-cased; the first 8 hex digits and then other bytes: those
/// 8 lower-cased and the next 4 bytes in hex; else the first 8 bytes in hex.
fn volset_uuid(volset: &[u8]) -> Option<String> {
    let (c, enc) = dstring(volset)?;
    // ul_encode_to_utf8 into a 17-byte buffer: 16 bytes at most, whole characters only.
    let mut buf: Vec<u8> = Vec::with_capacity(16);
    let text = decode_all(c, enc);
    for ch in text.chars() {
        let mut tmp = [0u8; 4];
        let e = ch.encode_utf8(&mut tmp).as_bytes();
        if buf.len() + e.len() >= 17 {
            break;
        }
        buf.extend_from_slice(e);
    }
    if buf.len() < 8 {
        return None;
    }
    buf.resize(16, 0);
    let nonhex = buf
        .iter()
        .position(|c| !c.is_ascii_hexdigit())
        .unwrap_or(16);
    let lower = |b: &[u8]| String::from_utf8_lossy(&b.to_ascii_lowercase()).into_owned();
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    Some(if nonhex < 8 {
        hex(&buf[..8])
    } else if nonhex < 16 {
        format!("{}{}", lower(&buf[..8]), hex(&buf[8..12]))
    } else {
        lower(&buf)
    })
}

/// The characters of a dstring up to the first NUL (no trimming), for the UUID.
fn decode_all(c: &[u8], enc: Option<Utf16>) -> String {
    let units: Vec<u32> = match enc {
        None => c.iter().map(|&x| u32::from(x)).collect(),
        Some(_) => c
            .chunks_exact(2)
            .map(|p| u32::from(p[0]) << 8 | u32::from(p[1]))
            .collect(),
    };
    let mut s = String::new();
    let mut i = 0;
    while let Some(&u) = units.get(i) {
        i += 1;
        let mut cp = u;
        if enc.is_some() && (0xD800..=0xDBFF).contains(&u) {
            if let Some(&lo) = units.get(i) {
                if (0xDC00..=0xDFFF).contains(&lo) {
                    cp = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
                    i += 1;
                }
            }
        }
        if cp == 0 {
            break;
        }
        s.push(char::from_u32(cp).unwrap_or('\u{FFFD}'));
    }
    s
}
