//! EVMS 2.x feature header: recognized and reported by name, never activated.
//!
//! EVMS marks every object that belongs to an EVMS volume (as opposed to a "compatibility
//! volume", a plain partition or LV) with a 512-byte feature header in the object's last
//! sector, and a second copy in the sector before it. Sources (no real EVMS tool exists today,
//! so this layout is taken from the EVMS code, not from a fixture):
//! * EVMS 2.x `include/common.h`: `evms_feature_header_t` (packed, 512 bytes, little-endian
//!   on disk), `EVMS_FEATURE_HEADER_SIGNATURE 0x54414546` ("FEAT"), `EVMS_MAGIC_CRC
//!   0x31415926`, `EVMS_INITIAL_CRC 0xFFFFFFFF`, `EVMS_FEATURE_HEADER_MAJOR 3`,
//!   `EVMS_VOLUME_NAME_SIZE 127` (names are 128-byte NUL-terminated fields).
//! * EVMS kernel code `evms.c` `edef_load_feature_header`: primary copy at
//!   `total_vsectors - 1`, secondary one sector before; a copy is valid with the signature and
//!   either the magic CRC (checking disabled) or a CRC over the whole header with the crc field
//!   zeroed; the copy with the higher `sequence_number` wins, the primary on a tie.
//! * `evms_cs_calculate_crc`: reflected CRC-32 (polynomial 0xEDB88320) started at
//!   0xFFFFFFFF, without a final XOR, i.e. the bitwise NOT of the standard CRC-32.
//!
//! The signature is "FEAT", not "EVMS": the value 0x45564D53 ("EVMS") does not appear in the
//! EVMS headers read.

use crate::error::FormatError;
use crate::formats::bytes;

const FORMAT: &str = "evms";

/// `sizeof(evms_feature_header_t)` = `EVMS_FEATURE_HEADER_SECTORS` × 512.
pub const HEADER_SIZE: usize = 512;
/// `EVMS_FEATURE_HEADER_SIGNATURE` ("FEAT" read as a little-endian u32).
pub const EVMS_FEATURE_HEADER_SIGNATURE: u32 = 0x5441_4546;
/// `EVMS_MAGIC_CRC`: a header with this CRC is not checksummed.
pub const EVMS_MAGIC_CRC: u32 = 0x3141_5926;
/// `EVMS_FEATURE_HEADER_MAJOR`: the only structure major version.
pub const EVMS_FEATURE_HEADER_MAJOR: u32 = 3;
/// `EVMS_VOLUME_DATA_OBJECT`: the object is an EVMS volume's data object.
pub const EVMS_VOLUME_DATA_OBJECT: u32 = 1 << 16;
/// `EVMS_VOLUME_DATA_STOP`: stop-data marker (the object is not exported).
pub const EVMS_VOLUME_DATA_STOP: u32 = 1 << 17;

const CRC: usize = 4;
const VERSION: usize = 8;
const ENGINE_VERSION: usize = 20;
const FLAGS: usize = 32;
const FEATURE_ID: usize = 36;
const SEQUENCE_NUMBER: usize = 40;
const FEATURE_DATA1_START_LSN: usize = 56;
const FEATURE_DATA1_SIZE: usize = 64;
const FEATURE_DATA2_START_LSN: usize = 72;
const FEATURE_DATA2_SIZE: usize = 80;
const VOLUME_SERIAL_NUMBER: usize = 88;
const VOLUME_SYSTEM_ID: usize = 96;
const OBJECT_DEPTH: usize = 100;
const OBJECT_NAME: usize = 104;
const VOLUME_NAME: usize = 232;
const NAME_LEN: usize = 128;

/// Which copy was used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Copy {
    /// The last sector of the object.
    Primary,
    /// The sector before it.
    Secondary,
}

/// An EVMS feature header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvmsInfo {
    /// `object_name`: the EVMS object this header sits on.
    pub object_name: String,
    /// `volume_name`: the EVMS volume the object belongs to (e.g. "/dev/evms/home").
    pub volume_name: String,
    /// `feature_id`: plug-in id, `(oem << 16) | (type << 12) | id` (`SetPluginID`).
    pub feature_id: u32,
    pub flags: u32,
    pub sequence_number: u64,
    /// Structure version (major, minor, patchlevel).
    pub version: (u32, u32, u32),
    /// Version of the EVMS engine that wrote it.
    pub engine_version: (u32, u32, u32),
    pub volume_serial_number: u64,
    /// `volume_system_id`: the minor number EVMS gave the volume.
    pub volume_system_id: u32,
    /// Depth of the object in the volume tree.
    pub object_depth: u32,
    /// Feature metadata: (start LSN, size in sectors) of the first and second copy.
    pub feature_data1: (u64, u64),
    pub feature_data2: (u64, u64),
    /// The CRC was the magic "not checksummed" value.
    pub crc_disabled: bool,
    pub copy: Copy,
    /// The other copy's problem or a sequence-number disagreement.
    pub warnings: Vec<FormatError>,
}

/// `evms_cs_calculate_crc(EVMS_INITIAL_CRC, ...)`.
pub fn evms_crc(buf: &[u8]) -> u32 {
    bytes::lvm_crc_with(0xFFFF_FFFF, buf)
}

fn name(b: &[u8; HEADER_SIZE], off: usize) -> String {
    let f = b.get(off..off + NAME_LEN).unwrap_or(&[]);
    let end = f.iter().position(|&c| c == 0).unwrap_or(f.len());
    String::from_utf8_lossy(f.get(..end).unwrap_or(&[])).into_owned()
}

fn version(b: &[u8; HEADER_SIZE], off: usize) -> (u32, u32, u32) {
    let v = |o: usize| bytes::le32(b, off + o).unwrap_or(0);
    (v(0), v(4), v(8))
}

/// Parses one copy read at byte `at` of the object. `Ok(None)`: no "FEAT" signature.
/// `Err`: the signature is there but the CRC or the structure major version is wrong.
pub fn parse_feature_header(
    b: &[u8; HEADER_SIZE],
    at: u64,
    copy: Copy,
) -> Result<Option<EvmsInfo>, FormatError> {
    if bytes::le32(b, 0) != Some(EVMS_FEATURE_HEADER_SIGNATURE) {
        return Ok(None);
    }
    let stored = bytes::le32(b, CRC).unwrap_or(0);
    let crc_disabled = stored == EVMS_MAGIC_CRC;
    if !crc_disabled {
        let mut z = *b;
        z[CRC..CRC + 4].fill(0);
        let crc = evms_crc(&z);
        if crc != stored {
            return Err(FormatError::checksum(
                FORMAT,
                at.saturating_add(CRC as u64),
                "crc",
                stored,
                crc,
            ));
        }
    }
    let v = version(b, VERSION);
    if v.0 != EVMS_FEATURE_HEADER_MAJOR {
        return Err(FormatError::unsupported(
            FORMAT,
            at.saturating_add(VERSION as u64),
            format!("feature header version {}.{}.{}", v.0, v.1, v.2),
        ));
    }
    let u64f = |o: usize| bytes::le64(b, o).unwrap_or(0);
    let u32f = |o: usize| bytes::le32(b, o).unwrap_or(0);
    Ok(Some(EvmsInfo {
        object_name: name(b, OBJECT_NAME),
        volume_name: name(b, VOLUME_NAME),
        feature_id: u32f(FEATURE_ID),
        flags: u32f(FLAGS),
        sequence_number: u64f(SEQUENCE_NUMBER),
        version: v,
        engine_version: version(b, ENGINE_VERSION),
        volume_serial_number: u64f(VOLUME_SERIAL_NUMBER),
        volume_system_id: u32f(VOLUME_SYSTEM_ID),
        object_depth: u32f(OBJECT_DEPTH),
        feature_data1: (u64f(FEATURE_DATA1_START_LSN), u64f(FEATURE_DATA1_SIZE)),
        feature_data2: (u64f(FEATURE_DATA2_START_LSN), u64f(FEATURE_DATA2_SIZE)),
        crc_disabled,
        copy,
        warnings: Vec::new(),
    }))
}

/// Chooses between the two copies as `edef_load_feature_header` does: both valid → the higher
/// sequence number (primary on a tie, a mismatch is warned); one valid → it, with the other's
/// problem as a warning; none valid → the primary's error (or the secondary's when the primary
/// has no signature), `Ok(None)` when neither has a signature.
pub fn choose(
    primary: Result<Option<EvmsInfo>, FormatError>,
    secondary: Result<Option<EvmsInfo>, FormatError>,
) -> Result<Option<EvmsInfo>, FormatError> {
    match (primary, secondary) {
        (Ok(Some(mut p)), Ok(Some(s))) => {
            if p.sequence_number == s.sequence_number {
                return Ok(Some(p));
            }
            let warn = FormatError::field(
                FORMAT,
                0,
                "sequence_number",
                format!(
                    "primary {} secondary {}",
                    p.sequence_number, s.sequence_number
                ),
                "equal in both copies; the higher one is used",
            );
            if s.sequence_number > p.sequence_number {
                let mut s = s;
                s.warnings.push(warn);
                Ok(Some(s))
            } else {
                p.warnings.push(warn);
                Ok(Some(p))
            }
        }
        (Ok(Some(mut p)), Err(e)) => {
            p.warnings.push(e);
            Ok(Some(p))
        }
        (Err(e), Ok(Some(mut s))) => {
            s.warnings.push(e);
            Ok(Some(s))
        }
        (Ok(Some(p)), Ok(None)) => Ok(Some(p)),
        (Ok(None), Ok(Some(s))) => Ok(Some(s)),
        (Err(e), _) | (Ok(None), Err(e)) => Err(e),
        (Ok(None), Ok(None)) => Ok(None),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A header built from the documented layout (there is no EVMS tool to write one).
    pub(crate) fn header(object: &str, volume: &str, seq: u64, checksum: bool) -> [u8; 512] {
        let mut b = [0u8; 512];
        b[0..4].copy_from_slice(&EVMS_FEATURE_HEADER_SIGNATURE.to_le_bytes());
        b[VERSION..VERSION + 4].copy_from_slice(&3u32.to_le_bytes());
        b[ENGINE_VERSION..ENGINE_VERSION + 4].copy_from_slice(&2u32.to_le_bytes());
        b[ENGINE_VERSION + 4..ENGINE_VERSION + 8].copy_from_slice(&5u32.to_le_bytes());
        b[FLAGS..FLAGS + 4].copy_from_slice(&EVMS_VOLUME_DATA_OBJECT.to_le_bytes());
        b[FEATURE_ID..FEATURE_ID + 4]
            .copy_from_slice(&((8112u32 << 16) | (4 << 12) | 1).to_le_bytes());
        b[SEQUENCE_NUMBER..SEQUENCE_NUMBER + 8].copy_from_slice(&seq.to_le_bytes());
        b[FEATURE_DATA1_START_LSN..FEATURE_DATA1_START_LSN + 8]
            .copy_from_slice(&10u64.to_le_bytes());
        b[FEATURE_DATA1_SIZE..FEATURE_DATA1_SIZE + 8].copy_from_slice(&2u64.to_le_bytes());
        b[VOLUME_SERIAL_NUMBER..VOLUME_SERIAL_NUMBER + 8]
            .copy_from_slice(&0xfeed_u64.to_le_bytes());
        b[VOLUME_SYSTEM_ID..VOLUME_SYSTEM_ID + 4].copy_from_slice(&3u32.to_le_bytes());
        b[OBJECT_DEPTH..OBJECT_DEPTH + 4].copy_from_slice(&1u32.to_le_bytes());
        b[OBJECT_NAME..OBJECT_NAME + object.len()].copy_from_slice(object.as_bytes());
        b[VOLUME_NAME..VOLUME_NAME + volume.len()].copy_from_slice(volume.as_bytes());
        let crc = if checksum {
            evms_crc(&b)
        } else {
            EVMS_MAGIC_CRC
        };
        b[CRC..CRC + 4].copy_from_slice(&crc.to_le_bytes());
        b
    }

    #[test]
    fn crc_is_the_inverted_standard_crc() {
        // evms_cs_calculate_crc over "123456789" from 0xFFFFFFFF, no final XOR.
        assert_eq!(evms_crc(b"123456789"), !0xCBF4_3926);
    }

    #[test]
    fn parse_and_validate() {
        let h = header("sda5", "/dev/evms/home", 7, true);
        let i = parse_feature_header(&h, 1000, Copy::Primary)
            .unwrap()
            .unwrap();
        assert_eq!(i.object_name, "sda5");
        assert_eq!(i.volume_name, "/dev/evms/home");
        assert_eq!(i.version, (3, 0, 0));
        assert_eq!(i.engine_version, (2, 5, 0));
        assert_eq!(i.feature_data1, (10, 2));
        assert_eq!(i.volume_serial_number, 0xfeed);
        assert!(!i.crc_disabled);
        let h2 = header("sda5", "/dev/evms/home", 7, false);
        assert!(
            parse_feature_header(&h2, 0, Copy::Primary)
                .unwrap()
                .unwrap()
                .crc_disabled
        );
        let mut bad = h;
        bad[VOLUME_NAME] = b'X';
        let e = parse_feature_header(&bad, 1000, Copy::Primary).unwrap_err();
        assert_eq!(e.offset, 1004);
        assert!(matches!(
            e.kind,
            crate::error::ErrorKind::Checksum { field: "crc", .. }
        ));
        let mut v4 = header("a", "b", 1, false);
        v4[VERSION] = 4;
        assert!(parse_feature_header(&v4, 0, Copy::Primary)
            .unwrap_err()
            .is_unsupported());
        assert_eq!(
            parse_feature_header(&[0u8; 512], 0, Copy::Primary).unwrap(),
            None
        );
    }
}
