//! LUKS1/LUKS2 headers.
//!
//! * Identification ([`parse`]): type, UUID, LABEL, as util-linux
//!   `libblkid/src/superblocks/luks.c` reports them: TYPE crypto_LUKS, USAGE crypto, VERSION
//!   (the header version), UUID (an ASCII string field, used as is), LABEL (LUKS2 only). A
//!   LUKS2 device whose primary header is damaged is still found through its secondary header
//!   ("SKUL\xba\xbe"), which sits at one of [`SECONDARY_OFFSETS`]; the driver tries them in
//!   order.
//! * The whole header, for unlocking and activation, checked as cryptsetup 2.6 checks it
//!   (`lib/luks1`, `lib/luks2`): [`v1`] (the LUKS1 header and its 8 keyslots), [`v2`] (the two
//!   LUKS2 binary headers, checksums, the choice of copy) and [`json`] (the LUKS2 JSON area).
//!   [`LuksHeader`] is either, with what activation needs ([`LuksHeader::unsupported`] names
//!   what this program does not activate). The driver is `probe::luks`; keys are `unlock/`'s.
//! * [`spec`]: cipher specifications (`aes-xts-plain64`, `capi:xts(aes)-plain64`).

pub mod hash;
pub mod json;
pub mod spec;
pub mod v1;
pub mod v2;

pub use hash::Hash;

use crate::error::FormatError;
use crate::formats::bytes;
use crate::formats::fs::{FsInfo, Usage};

pub(crate) const FORMAT: &str = "luks";

/// Bytes read at each candidate offset (`struct luks2_phdr` is 512 bytes; the LUKS1
/// `luks_phdr` fields used end at 208).
pub const HDR_READ: usize = 512;
/// `LUKS2_HDR2_OFFSETS`: where a secondary LUKS2 header may start.
pub const SECONDARY_OFFSETS: [u64; 9] = [
    0x04000, 0x008000, 0x010000, 0x020000, 0x40000, 0x080000, 0x100000, 0x200000, 0x400000,
];

/// `LUKS_MAGIC`.
pub(crate) const LUKS_MAGIC: &[u8; 6] = b"LUKS\xba\xbe";
/// `LUKS_MAGIC_2` (secondary LUKS2 header).
pub(crate) const LUKS_MAGIC_2: &[u8; 6] = b"SKUL\xba\xbe";

const VERSION: usize = 6;
/// LUKS2 `label[48]`.
const LABEL: usize = 0x18;
const LABEL_LEN: usize = 48;
/// `uuid[40]` (LUKS1 and LUKS2 alike).
const UUID: usize = 0xA8;
const UUID_LEN: usize = 40;
/// LUKS2 `hdr_offset` (big-endian u64): must equal where the header was found.
const HDR_OFFSET: usize = 0x100;

/// Parses a header read at byte `at` of the device: at 0 the primary magic is expected,
/// elsewhere the secondary one. `Ok(None)`: no such magic. `Err`: the magic is there but a
/// LUKS2 header says it belongs elsewhere (`hdr_offset`), which blkid does not accept.
pub fn parse(hdr: &[u8; HDR_READ], at: u64) -> Result<Option<FsInfo>, FormatError> {
    let magic = if at == 0 { LUKS_MAGIC } else { LUKS_MAGIC_2 };
    if bytes::arr::<6>(hdr, 0).as_ref() != Some(magic) {
        return Ok(None);
    }
    let version = bytes::be16(hdr, VERSION).unwrap_or(0);
    if version == 2 {
        let hdr_offset = bytes::be64(hdr, HDR_OFFSET).unwrap_or(0);
        if hdr_offset != at {
            return Err(FormatError::field(
                FORMAT,
                at.saturating_add(HDR_OFFSET as u64),
                "hdr_offset",
                hdr_offset,
                at,
            ));
        }
    }
    let mut info = FsInfo::new("crypto_LUKS", Usage::Crypto);
    info.version = Some(version.to_string());
    if version == 1 || version == 2 {
        // blkid_probe_strncpy_uuid: the string up to NUL, right-trimmed; none when empty.
        info.uuid = crate::formats::fs::label(hdr.get(UUID..UUID + UUID_LEN).unwrap_or(&[]));
    }
    if version == 2 {
        info.label = crate::formats::fs::label(hdr.get(LABEL..LABEL + LABEL_LEN).unwrap_or(&[]));
    }
    Ok(Some(info))
}

/// A C string field: the bytes up to the first NUL (cryptsetup terminates each field at its
/// last byte), lossily as UTF-8.
pub(crate) fn cstr(b: &[u8]) -> String {
    let b = &b[..b.len().saturating_sub(1)];
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

/// A LUKS header cryptsetup would load.
#[derive(Debug, Clone, PartialEq, Eq)]
// One per LUKS device, read once: the size difference of the variants does not matter.
#[allow(clippy::large_enum_variant)]
pub enum LuksHeader {
    V1(v1::Luks1Header),
    V2(v2::Luks2Header),
}

impl LuksHeader {
    pub fn version(&self) -> u16 {
        match self {
            LuksHeader::V1(_) => 1,
            LuksHeader::V2(_) => 2,
        }
    }

    /// The UUID string as stored (cryptsetup's `crypt_get_uuid`).
    pub fn uuid(&self) -> &str {
        match self {
            LuksHeader::V1(h) => &h.uuid,
            LuksHeader::V2(h) => &h.bin.uuid,
        }
    }

    /// The segment's cipher specification (`crypt_get_cipher_spec`); LUKS2: the default
    /// segment's `encryption`.
    pub fn cipher_spec(&self) -> Option<String> {
        match self {
            LuksHeader::V1(h) => Some(h.cipher_spec()),
            LuksHeader::V2(h) => h
                .meta
                .default_segment()
                .and_then(|s| s.crypt.as_ref())
                .map(|c| c.encryption.clone()),
        }
    }

    /// Start of the encrypted data in 512-byte sectors (`crypt_get_data_offset`): LUKS1
    /// `payloadOffset`, LUKS2 the lowest regular segment offset.
    pub fn data_offset_sectors(&self) -> u64 {
        match self {
            LuksHeader::V1(h) => u64::from(h.payload_offset),
            LuksHeader::V2(h) => h
                .meta
                .regular_segments()
                .map(|s| s.offset >> 9)
                .min()
                .unwrap_or(0),
        }
    }

    /// The encryption sector size in bytes (512 for LUKS1).
    pub fn sector_size(&self) -> u32 {
        match self {
            LuksHeader::V1(_) => 512,
            LuksHeader::V2(h) => h
                .meta
                .default_segment()
                .and_then(|s| s.crypt.as_ref())
                .map_or(512, |c| c.sector_size),
        }
    }

    /// The volume key size in bytes (`crypt_get_volume_key_size`): LUKS2 takes the first
    /// keyslot of the default segment's digest.
    pub fn volume_key_size(&self) -> Option<u32> {
        match self {
            LuksHeader::V1(h) => Some(h.key_bytes),
            LuksHeader::V2(h) => {
                let seg = h.meta.default_segment()?;
                let d = h.meta.digest_by_segment(seg.id)?;
                h.meta.keyslot(*d.keyslots.first()?).map(|k| k.key_size)
            }
        }
    }

    /// The LUKS2 label (empty for LUKS1).
    pub fn label(&self) -> &str {
        match self {
            LuksHeader::V1(_) => "",
            LuksHeader::V2(h) => &h.bin.label,
        }
    }

    /// The data segment's size in 512-byte sectors when the header fixes it (a LUKS2 segment
    /// whose `size` is not "dynamic"); `None`: to the end of the device.
    pub fn fixed_data_sectors(&self) -> Option<u64> {
        match self {
            LuksHeader::V1(_) => None,
            LuksHeader::V2(h) => h
                .meta
                .default_segment()
                .and_then(|s| s.size)
                .map(|b| b >> 9),
        }
    }

    /// The keyslots a passphrase may open, with their KDF, as `luksDump` names them:
    /// (keyslot, "pbkdf2-sha256" / "argon2id" / "reencrypt" ...). LUKS1: the enabled keyslots
    /// (PBKDF2 with the header's hash).
    pub fn keyslots_in_use(&self) -> Vec<(u32, String)> {
        match self {
            LuksHeader::V1(h) => h
                .keyslots
                .iter()
                .enumerate()
                .filter(|(_, k)| k.state == v1::SlotState::Active)
                .map(|(i, _)| (i as u32, format!("pbkdf2-{}", h.hash.name())))
                .collect(),
            LuksHeader::V2(h) => h
                .meta
                .keyslots
                .iter()
                .map(|k| {
                    let kdf = match k.luks2.as_ref().map(|l| &l.kdf) {
                        Some(json::Kdf::Pbkdf2 { hash, .. }) => format!("pbkdf2-{hash}"),
                        Some(kdf) => kdf.name().to_string(),
                        None => k.kind.clone(),
                    };
                    (k.id, kdf)
                })
                .collect(),
        }
    }

    /// What keeps this program from unlocking and activating the volume as cryptsetup 2.6
    /// would, named with what it needs; `None` when nothing does. LUKS2 only: unknown or
    /// reencryption requirements, OPAL, segments other than one plain crypt segment,
    /// authenticated encryption.
    pub fn unsupported(&self) -> Option<FormatError> {
        let LuksHeader::V2(h) = self else {
            return None;
        };
        let at = h.bin.offset + v2::BIN_LEN as u64;
        let u = |what: String| Some(FormatError::unsupported(FORMAT, at, what));
        if let Some(r) = h.meta.config.requirements.first() {
            if r == "opal" {
                return u("OPAL self-encrypting drive (LUKS2 requirement \"opal\"): needs the drive unlocked through its OPAL locking range (cryptsetup 2.7)".into());
            }
            if json::KNOWN_REQUIREMENTS.contains(&r.as_str()) {
                return u(format!("LUKS2 reencryption in progress (requirement {r:?}): finish it with `cryptsetup reencrypt --resume-only` first"));
            }
            return u(format!("LUKS2 requirement {r:?}, unknown to cryptsetup 2.6 too: needs the cryptsetup that wrote it"));
        }
        let regular: Vec<&json::Segment> = h.meta.regular_segments().collect();
        if regular.len() != 1 || h.meta.segments.len() != 1 {
            return u(format!(
                "LUKS2 with {} segments (a reencryption's layout): needs cryptsetup",
                h.meta.segments.len()
            ));
        }
        let seg = regular[0];
        match seg.kind.as_str() {
            "crypt" => {}
            "hw-opal" | "hw-opal-crypt" => {
                return u(format!("OPAL self-encrypting drive (segment type {:?}): needs the drive unlocked through its OPAL locking range (cryptsetup 2.7)", seg.kind))
            }
            other => return u(format!("LUKS2 segment type {other:?}: needs cryptsetup")),
        }
        if let Some(i) = seg.crypt.as_ref().and_then(|c| c.integrity.as_ref()) {
            return u(format!("LUKS2 authenticated encryption (integrity {i:?}): needs a dm-integrity device under the dm-crypt one (cryptsetup)"));
        }
        None
    }
}
