//! bcache superblock (backing and cache devices): util-linux 2.38
//! `libblkid/src/superblocks/bcache.c`. blkid 2.38 checks the magic and that the superblock
//! says it was written where it is (sector 8); it reports the device UUID only (newer blkid
//! also verifies the CRC-64 and reports VERSION and LABEL).

use super::{FsInfo, Usage};
use crate::error::FormatError;
use crate::formats::bytes;

const FORMAT: &str = "bcache";

/// `BCACHE_SB_OFF`.
pub const SB_OFFSET: u64 = 0x1000;
/// blkid's `struct bcache_super_block` (2.38): csum, offset, version, magic, uuid.
pub const SB_READ: usize = 56;
/// blkid's `minsz` for bcache.
pub const MIN_DEVICE_SIZE: u64 = 8192;

const OFFSET: usize = 8;
const MAGIC: usize = 24;
const UUID: usize = 40;
/// `BCACHE_SB_MAGIC`.
pub const BCACHE_MAGIC: [u8; 16] = [
    0xc6, 0x85, 0x73, 0xf6, 0x4e, 0x1a, 0x45, 0xca, 0x82, 0x65, 0xf5, 0x7f, 0x48, 0xba, 0x6d, 0x81,
];

/// Parses the superblock read at [`SB_OFFSET`]. `Err`: the magic with another `offset`.
pub fn parse(sb: &[u8; SB_READ]) -> Result<Option<FsInfo>, FormatError> {
    if bytes::arr::<16>(sb, MAGIC) != Some(BCACHE_MAGIC) {
        return Ok(None);
    }
    let offset = bytes::le64(sb, OFFSET).unwrap_or(0);
    if offset != SB_OFFSET / 512 {
        return Err(FormatError::field(
            FORMAT,
            OFFSET as u64,
            "offset",
            offset,
            SB_OFFSET / 512,
        ));
    }
    let mut info = FsInfo::new("bcache", Usage::Other);
    info.uuid = bytes::arr::<16>(sb, UUID).and_then(|u| super::uuid(&u));
    Ok(Some(info))
}

// ---- The whole superblock, as the kernel reads it to register a device -------------------
//
// `struct cache_sb_disk` (drivers/md/bcache/bcache_ondisk.h, Linux 6.1) and `read_super()` in
// drivers/md/bcache/super.c: what the kernel checks before it registers a device is checked
// here too, so a device the kernel would refuse is reported (device, offset, field) instead
// of being handed to /sys/fs/bcache/register. Checked against `bcache-super-show` of the
// devices make-bcache wrote (tests/fixtures/bcache).

/// `SB_SIZE`: the kernel reads 4 KiB at sector 8.
pub const SB_SIZE: usize = 4096;
/// `SB_JOURNAL_BUCKETS`.
const JOURNAL_BUCKETS: u16 = 256;
/// `BDEV_DATA_START_DEFAULT`: a backing device's data starts at sector 16 (8 KiB) unless the
/// superblock says otherwise (versions 4 and 6).
pub const BDEV_DATA_START_DEFAULT: u64 = 16;

const VERSION: usize = 16;
const SET_UUID: usize = 56;
const LABEL: usize = 72;
/// `SB_LABEL_SIZE`.
const LABEL_SIZE: usize = 32;
const FLAGS: usize = 104;
const SEQ: usize = 112;
const FEATURE_COMPAT: usize = 120;
const FEATURE_INCOMPAT: usize = 128;
const FEATURE_RO_COMPAT: usize = 136;
/// `nbuckets` (cache devices) and `data_offset` (backing devices) share the field.
const NBUCKETS_OR_DATA_OFFSET: usize = 184;
const BLOCK_SIZE: usize = 192;
const BUCKET_SIZE: usize = 194;
const NR_IN_SET: usize = 196;
const NR_THIS_DEV: usize = 198;
const FIRST_BUCKET: usize = 204;
const KEYS: usize = 206;
/// `d[]`, the journal buckets: the checksum covers the bytes from `offset` up to `d[keys]`.
const D: usize = 208;

/// `BCH_FEATURE_INCOMPAT_LOG_LARGE_BUCKET_SIZE`, the one incompatible feature 6.1 knows.
const KNOWN_INCOMPAT: u64 = 1;

/// `bch_crc64`: the kernel's `crc64_be` (ECMA-182 polynomial, not reflected) started at all
/// ones and inverted at the end, which is the catalogue's CRC-64/WE.
pub fn crc64(bytes: &[u8]) -> u64 {
    crc::Crc::<u64>::new(&crc::CRC_64_WE).checksum(bytes)
}

/// What a bcache device is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A backing device: its data, from `data_offset` on, is what /dev/bcacheN shows.
    Backing,
    /// A cache device of a cache set.
    Cache,
}

/// `BDEV_CACHE_MODE` (flags bits 0-3), as sysfs `cache_mode` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheMode {
    Writethrough,
    Writeback,
    Writearound,
    None,
    Unknown(u64),
}

impl std::fmt::Display for CacheMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CacheMode::Writethrough => f.write_str("writethrough"),
            CacheMode::Writeback => f.write_str("writeback"),
            CacheMode::Writearound => f.write_str("writearound"),
            CacheMode::None => f.write_str("none"),
            CacheMode::Unknown(v) => write!(f, "mode {v}"),
        }
    }
}

/// `BDEV_STATE` (flags bits 61-62) of a backing device: whether it was ever attached to a
/// cache set and whether that cache holds data the backing device does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BdevState {
    /// Never attached (or detached): the kernel runs it as soon as it is registered.
    None,
    /// Attached; the backing device holds every block (the cache holds clean copies only).
    Clean,
    /// Attached, and the cache holds blocks not yet written back (writeback mode).
    Dirty,
    /// Run without its cache once (`running` forced): the cache's copy is stale; the kernel
    /// runs it at registration and discards the cache's blocks when they meet again.
    Stale,
}

impl BdevState {
    /// The word bcache-super-show prints for it (`cache_state`).
    pub fn word(&self) -> &'static str {
        match self {
            BdevState::None => "detached",
            BdevState::Clean => "clean",
            BdevState::Dirty => "dirty",
            BdevState::Stale => "inconsistent",
        }
    }

    /// The word sysfs `state` prints for it (`states[]` in drivers/md/bcache/sysfs.c).
    pub fn sysfs_word(&self) -> &'static str {
        match self {
            BdevState::None => "no cache",
            BdevState::Clean => "clean",
            BdevState::Dirty => "dirty",
            BdevState::Stale => "inconsistent",
        }
    }
}

/// The superblock fields the kernel reads (`struct cache_sb`), in the forms it uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BcacheSuper {
    pub version: u64,
    pub role: Role,
    /// The device's UUID (blkid's UUID; for a backing device udev's /dev/bcache/by-uuid name).
    pub uuid: String,
    /// The cache set's UUID: a cache device's own set, a backing device's set once attached
    /// (make-bcache writes the set it was made with).
    pub set_uuid: String,
    /// Up to 32 bytes, NUL-terminated when shorter; None when empty.
    pub label: Option<String>,
    pub flags: u64,
    pub seq: u64,
    /// Sectors.
    pub block_size: u16,
    /// Backing devices: first data sector.
    pub data_offset: u64,
    /// Cache devices.
    pub nbuckets: u64,
    pub bucket_size: u16,
    pub nr_in_set: u16,
    pub nr_this_dev: u16,
    pub first_bucket: u16,
}

impl BcacheSuper {
    pub fn cache_mode(&self) -> CacheMode {
        match self.flags & 0xf {
            0 => CacheMode::Writethrough,
            1 => CacheMode::Writeback,
            2 => CacheMode::Writearound,
            3 => CacheMode::None,
            v => CacheMode::Unknown(v),
        }
    }

    pub fn state(&self) -> BdevState {
        match (self.flags >> 61) & 3 {
            0 => BdevState::None,
            1 => BdevState::Clean,
            2 => BdevState::Dirty,
            _ => BdevState::Stale,
        }
    }

    /// Byte offset of the data a backing device shows as /dev/bcacheN.
    pub fn data_start(&self) -> u64 {
        self.data_offset.saturating_mul(512)
    }
}

/// Parses the 4 KiB read at [`SB_OFFSET`] as the kernel's `read_super()` does. `Ok(None)`: no
/// bcache magic. Errors carry the field's offset in the superblock (the probe rebases them).
pub fn parse_super(sb: &[u8; SB_SIZE]) -> Result<Option<BcacheSuper>, FormatError> {
    let head: &[u8; SB_READ] = match sb.first_chunk() {
        Some(h) => h,
        None => return Ok(None),
    };
    if parse(head)?.is_none() {
        return Ok(None);
    }
    let at = |off: usize| off as u64;
    let bad = |off: usize, field: &'static str, found: String, expected: &str| {
        FormatError::field(FORMAT, at(off), field, found, expected)
    };
    let le16 = |off| bytes::le16(sb, off).unwrap_or(0);
    let le64 = |off| bytes::le64(sb, off).unwrap_or(0);
    let keys = le16(KEYS);
    if keys > JOURNAL_BUCKETS {
        return Err(bad(
            KEYS,
            "keys",
            keys.to_string(),
            "at most 256 journal buckets",
        ));
    }
    let end = D + usize::from(keys) * 8;
    let want = crc64(&sb[OFFSET..end]);
    let csum = le64(0);
    if csum != want {
        return Err(FormatError::field(
            FORMAT,
            0,
            "csum",
            format!("{csum:#018x}"),
            format!("{want:#018x} (CRC-64 of bytes 8..{end})"),
        ));
    }
    let uuid_b = bytes::arr::<16>(sb, UUID).unwrap_or([0; 16]);
    let Some(uuid) = super::uuid(&uuid_b) else {
        return Err(bad(UUID, "uuid", "all zero".into(), "a UUID"));
    };
    let version = le64(VERSION);
    let role = match version {
        0 | 3 | 5 => Role::Cache,
        1 | 4 | 6 => Role::Backing,
        v => {
            return Err(FormatError::unsupported(
                FORMAT,
                at(VERSION),
                format!("superblock version {v} (Linux 6.1 reads 0, 1, 3, 4, 5 and 6)"),
            ))
        }
    };
    if version >= 5 {
        let (c, i, r) = (
            le64(FEATURE_COMPAT),
            le64(FEATURE_INCOMPAT),
            le64(FEATURE_RO_COMPAT),
        );
        let incompat_ok = role == Role::Cache && i & !KNOWN_INCOMPAT == 0 || i == 0;
        if c != 0 || r != 0 || !incompat_ok {
            return Err(FormatError::unsupported(
                FORMAT,
                at(FEATURE_COMPAT),
                format!("feature bits compat {c:#x} incompat {i:#x} ro_compat {r:#x}"),
            ));
        }
    }
    let block_size = le16(BLOCK_SIZE);
    let mut s = BcacheSuper {
        version,
        role,
        uuid,
        set_uuid: crate::ids::uuid_bytes_str(&bytes::arr::<16>(sb, SET_UUID).unwrap_or([0; 16])),
        label: super::label(sb.get(LABEL..LABEL + LABEL_SIZE).unwrap_or(&[])),
        flags: le64(FLAGS),
        seq: le64(SEQ),
        block_size,
        data_offset: 0,
        nbuckets: 0,
        bucket_size: 0,
        nr_in_set: 0,
        nr_this_dev: 0,
        first_bucket: 0,
    };
    if block_size == 0 {
        return Err(bad(
            BLOCK_SIZE,
            "block_size",
            "0".into(),
            "a size in sectors",
        ));
    }
    match role {
        Role::Backing => {
            s.data_offset = if version == 1 {
                BDEV_DATA_START_DEFAULT
            } else {
                le64(NBUCKETS_OR_DATA_OFFSET)
            };
            if s.data_offset < BDEV_DATA_START_DEFAULT {
                return Err(bad(
                    NBUCKETS_OR_DATA_OFFSET,
                    "data_offset",
                    s.data_offset.to_string(),
                    "at least 16 sectors",
                ));
            }
        }
        Role::Cache => {
            s.nbuckets = le64(NBUCKETS_OR_DATA_OFFSET);
            s.bucket_size = le16(BUCKET_SIZE);
            s.nr_in_set = le16(NR_IN_SET);
            s.nr_this_dev = le16(NR_THIS_DEV);
            s.first_bucket = le16(FIRST_BUCKET);
            // read_super wants 128 buckets at least; cache_alloc then refuses 512 or fewer
            // (no bucket left for its moving-GC reserve: EPERM, "cache device is too small").
            if s.nbuckets <= 512 || s.nbuckets > i64::MAX as u64 {
                return Err(bad(
                    NBUCKETS_OR_DATA_OFFSET,
                    "nbuckets",
                    s.nbuckets.to_string(),
                    "513 to 2^63-1",
                ));
            }
            if !block_size.is_power_of_two()
                || block_size > 8
                || !s.bucket_size.is_power_of_two()
                || s.bucket_size < 8
            {
                return Err(bad(
                    BUCKET_SIZE,
                    "block_size/bucket_size",
                    format!("{block_size}/{}", s.bucket_size),
                    "powers of two, block at most a page, bucket at least a page",
                ));
            }
            if s.set_uuid.bytes().all(|c| c == b'0' || c == b'-') {
                return Err(bad(SET_UUID, "set_uuid", "all zero".into(), "a UUID"));
            }
            if s.nr_in_set == 0 || s.nr_this_dev >= s.nr_in_set || s.nr_in_set > 8 {
                return Err(bad(
                    NR_IN_SET,
                    "nr_in_set/nr_this_dev",
                    format!("{}/{}", s.nr_in_set, s.nr_this_dev),
                    "1 to 8 devices, this one among them",
                ));
            }
            for i in 0..keys {
                let d = le64(D + usize::from(i) * 8);
                if d != u64::from(s.first_bucket) + u64::from(i) {
                    return Err(bad(
                        D + usize::from(i) * 8,
                        "d (journal buckets)",
                        d.to_string(),
                        "first_bucket + index (sequential)",
                    ));
                }
            }
            if u64::from(s.first_bucket) + u64::from(keys) > s.nbuckets
                || u64::from(s.first_bucket) * u64::from(s.bucket_size) < 16
            {
                return Err(bad(
                    FIRST_BUCKET,
                    "first_bucket",
                    s.first_bucket.to_string(),
                    "after the superblock, journal inside the device",
                ));
            }
        }
    }
    Ok(Some(s))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::source::sparse::SparseDev;

    /// The committed make-bcache fixtures (tests/fixtures/bcache/gen.sh).
    pub(crate) fn fixture(name: &str) -> SparseDev {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/bcache")
            .join(name)
            .join("disk.spr");
        SparseDev::parse(&std::fs::read(&p).unwrap()).unwrap()
    }

    /// `bcache-super-show` of the fixture: KEY → value (the first word; `[...]` dropped).
    fn super_show(name: &str) -> Vec<(String, String)> {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/bcache")
            .join(name)
            .join("expected.super");
        std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .filter_map(|l| {
                let mut w = l.split_whitespace();
                Some((w.next()?.to_string(), w.next()?.to_string()))
            })
            .collect()
    }

    fn show(v: &[(String, String)], k: &str) -> String {
        v.iter()
            .find(|(a, _)| a == k)
            .map(|(_, b)| b.clone())
            .unwrap_or_else(|| panic!("{k} missing"))
    }

    pub(crate) fn sb_bytes(d: &SparseDev) -> [u8; SB_SIZE] {
        d.get(SB_OFFSET, SB_SIZE).try_into().unwrap()
    }

    /// Sets `flags` as the kernel writes them and re-seals the checksum, as `__write_super`.
    pub(crate) fn set_flags(d: &mut SparseDev, f: impl Fn(u64) -> u64) {
        let mut sb = sb_bytes(d);
        let flags = u64::from_le_bytes(sb[FLAGS..FLAGS + 8].try_into().unwrap());
        sb[FLAGS..FLAGS + 8].copy_from_slice(&f(flags).to_le_bytes());
        reseal(&mut sb);
        d.patch(SB_OFFSET, &sb);
    }

    pub(crate) fn reseal(sb: &mut [u8; SB_SIZE]) {
        let keys = usize::from(u16::from_le_bytes([sb[KEYS], sb[KEYS + 1]]));
        let c = crc64(&sb[OFFSET..D + keys * 8]);
        sb[..8].copy_from_slice(&c.to_le_bytes());
    }

    /// Every field bcache-super-show reports, read as it reads them; the checksum computed
    /// as the kernel does equals the one make-bcache wrote ("[match]").
    #[test]
    fn fixtures_read_as_bcache_super_show_reports() {
        for name in ["cache", "wb", "wt"] {
            let d = fixture(name);
            let sb = sb_bytes(&d);
            let s = parse_super(&sb).unwrap().unwrap();
            let v = super_show(name);
            assert_eq!(s.uuid, show(&v, "dev.uuid"), "{name}");
            assert_eq!(s.set_uuid, show(&v, "cset.uuid"), "{name}");
            assert_eq!(s.version.to_string(), show(&v, "sb.version"), "{name}");
            assert_eq!(
                format!("{:X}", u64::from_le_bytes(sb[..8].try_into().unwrap())),
                show(&v, "sb.csum")
            );
            assert_eq!(s.block_size.to_string(), show(&v, "dev.sectors_per_block"));
            assert_eq!(s.label, None);
            match s.role {
                Role::Backing => {
                    assert_eq!(s.data_offset.to_string(), show(&v, "dev.data.first_sector"));
                    let mode = show(&v, "dev.data.cache_mode");
                    assert_eq!((s.flags & 0xf).to_string(), mode);
                    assert_eq!(
                        s.cache_mode().to_string(),
                        if name == "wb" {
                            "writeback"
                        } else {
                            "writethrough"
                        }
                    );
                    assert_eq!(
                        ((s.flags >> 61) & 3).to_string(),
                        show(&v, "dev.data.cache_state")
                    );
                    assert_eq!(s.state(), BdevState::None);
                    assert_eq!(s.data_start(), 8192);
                }
                Role::Cache => {
                    assert_eq!(name, "cache");
                    assert_eq!(
                        s.bucket_size.to_string(),
                        show(&v, "dev.sectors_per_bucket")
                    );
                    assert_eq!(
                        (s.nbuckets * u64::from(s.bucket_size)).to_string(),
                        show(&v, "dev.cache.total_sectors")
                    );
                    assert_eq!(
                        (u64::from(s.first_bucket) * u64::from(s.bucket_size)).to_string(),
                        show(&v, "dev.cache.first_sector")
                    );
                    assert_eq!((s.nr_in_set, s.nr_this_dev), (1, 0));
                }
            }
        }
    }

    #[test]
    fn states_and_modes_from_the_flags() {
        let mut d = fixture("wt");
        for (bits, state) in [
            (0, BdevState::None),
            (1, BdevState::Clean),
            (2, BdevState::Dirty),
            (3, BdevState::Stale),
        ] {
            set_flags(&mut d, |f| f & !(3 << 61) | bits << 61);
            let s = parse_super(&sb_bytes(&d)).unwrap().unwrap();
            assert_eq!(s.state(), state);
            assert_eq!(s.cache_mode(), CacheMode::Writethrough);
        }
        set_flags(&mut d, |f| f & !0xf | 3);
        let s = parse_super(&sb_bytes(&d)).unwrap().unwrap();
        assert_eq!(s.cache_mode().to_string(), "none");
        assert_eq!(s.state().sysfs_word(), "inconsistent");
    }

    /// One field changed at a time: the error names the field, its offset in the superblock
    /// and what was found against what the kernel expects.
    #[test]
    fn mutated_fields_are_refused_as_the_kernel_refuses_them() {
        let good = sb_bytes(&fixture("wb"));
        let case = |off: usize, bytes: &[u8], seal: bool| {
            let mut sb = good;
            sb[off..off + bytes.len()].copy_from_slice(bytes);
            if seal {
                reseal(&mut sb);
            }
            parse_super(&sb).unwrap_err().to_string()
        };
        let e = case(LABEL, b"x", false);
        assert!(e.starts_with("bcache at byte 0: csum: found 0x"), "{e}");
        assert!(e.ends_with("(CRC-64 of bytes 8..208)"), "{e}");
        let e = case(VERSION, &[2], true);
        assert!(e.contains("superblock version 2"), "{e}");
        let e = case(KEYS, &[1, 1], true);
        assert_eq!(
            e,
            "bcache at byte 206: keys: found 257, expected at most 256 journal buckets"
        );
        let e = case(VERSION, &[4], true); // BDEV_WITH_OFFSET reads data_offset: 0 here
        assert_eq!(
            e,
            "bcache at byte 184: data_offset: found 0, expected at least 16 sectors"
        );
        let e = case(UUID, &[0; 16], true);
        assert_eq!(
            e,
            "bcache at byte 40: uuid: found all zero, expected a UUID"
        );
        // A cache device: too few buckets.
        let mut sb = sb_bytes(&fixture("cache"));
        sb[NBUCKETS_OR_DATA_OFFSET..NBUCKETS_OR_DATA_OFFSET + 8]
            .copy_from_slice(&512u64.to_le_bytes());
        reseal(&mut sb);
        assert_eq!(
            parse_super(&sb).unwrap_err().to_string(),
            "bcache at byte 184: nbuckets: found 512, expected 513 to 2^63-1"
        );
        // A label, as the kernel's sysfs `label` writes it.
        let mut sb = good;
        sb[LABEL..LABEL + 4].copy_from_slice(b"fast");
        reseal(&mut sb);
        assert_eq!(
            parse_super(&sb).unwrap().unwrap().label.as_deref(),
            Some("fast")
        );
    }
}
