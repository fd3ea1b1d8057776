//! The LUKS1 header (`struct luks_phdr`, cryptsetup `lib/luks1/luks.h`): 1024 bytes at the start
//! of the device, big-endian, with its 8 keyslots; checked as `LUKS_read_phdr` checks it
//! (`_check_and_convert_hdr`, `LUKS_check_keyslots`, `LUKS_check_device_size` in
//! `keymanage.c`). Values only used when a keyslot is opened (iterations, salts, the keyslot
//! state) are kept as read and checked by `unlock/`, as cryptsetup checks them at open time.

use super::{cstr, Hash, FORMAT};
use crate::error::FormatError;
use crate::formats::bytes;

/// `sizeof(struct luks_phdr)`: the fields (592 bytes) padded to 1024.
pub const PHDR_LEN: usize = 1024;
/// `LUKS_NUMKEYS`.
pub const NUM_KEYS: usize = 8;
/// `LUKS_STRIPES`: the only stripe count cryptsetup accepts.
pub const STRIPES: u32 = 4000;
/// `LUKS_KEY_ENABLED` / `LUKS_KEY_DISABLED`.
pub const KEY_ENABLED: u32 = 0x00AC_71F3;
pub const KEY_DISABLED: u32 = 0x0000_DEAD;
/// Largest volume key accepted (bytes). cryptsetup has no bound at read time; this keeps the
/// keyslot material (`key_bytes` × 4000) within one bounded read (16 MB, cryptsetup's
/// `LUKS_MAX_KEYSLOT_SIZE` for 32768-bit keys).
pub const MAX_KEY_BYTES: u32 = 4096;
/// `LUKS_DIGESTSIZE`, `LUKS_SALTSIZE`.
pub const DIGEST_LEN: usize = 20;
pub const SALT_LEN: usize = 32;

const VERSION: usize = 6;
const CIPHER_NAME: usize = 8;
const CIPHER_MODE: usize = 40;
const HASH_SPEC: usize = 72;
const NAME_LEN: usize = 32;
const PAYLOAD_OFFSET: usize = 104;
const KEY_BYTES: usize = 108;
const MK_DIGEST: usize = 112;
const MK_DIGEST_SALT: usize = 132;
const MK_DIGEST_ITER: usize = 164;
const UUID: usize = 168;
const UUID_LEN: usize = 40;
const KEYBLOCK: usize = 208;
const KEYBLOCK_LEN: usize = 48;
const KB_ACTIVE: usize = 0;
const KB_ITER: usize = 4;
const KB_SALT: usize = 8;
const KB_OFFSET: usize = 40;
const KB_STRIPES: usize = 44;

/// A keyslot's state word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotState {
    Active,
    Inactive,
    /// Neither value: cryptsetup calls the keyslot invalid and never opens it.
    Invalid(u32),
}

/// One of the 8 LUKS1 keyslots (`keyblock[i]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keyslot {
    pub state: SlotState,
    pub iterations: u32,
    pub salt: [u8; SALT_LEN],
    /// `keyMaterialOffset`, in 512-byte sectors from the start of the header device.
    pub key_material_offset: u32,
    pub stripes: u32,
}

/// A LUKS1 header whose structure cryptsetup would accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Luks1Header {
    pub cipher_name: String,
    pub cipher_mode: String,
    /// `hashSpec`: PBKDF2's hash, also the AF diffusion hash.
    pub hash: Hash,
    /// `payloadOffset`, in 512-byte sectors (0: detached header).
    pub payload_offset: u32,
    /// `keyBytes`: the volume key size.
    pub key_bytes: u32,
    pub mk_digest: [u8; DIGEST_LEN],
    pub mk_digest_salt: [u8; SALT_LEN],
    pub mk_digest_iterations: u32,
    pub uuid: String,
    pub keyslots: [Keyslot; NUM_KEYS],
}

impl Luks1Header {
    /// Sectors of keyslot material per keyslot (`AF_split_sectors(keyBytes, 4000)`).
    pub fn keyslot_sectors(&self) -> u64 {
        af_sectors(self.key_bytes)
    }

    /// `cipherName-cipherMode`, the cipher specification of the dm-crypt table.
    pub fn cipher_spec(&self) -> String {
        format!("{}-{}", self.cipher_name, self.cipher_mode)
    }
}

/// `AF_split_sectors(key_bytes, 4000)`.
pub fn af_sectors(key_bytes: u32) -> u64 {
    (u64::from(key_bytes) * u64::from(STRIPES)).div_ceil(512)
}

/// Parses the 1024-byte header at byte 0 of a device of `dev_size` bytes. `Ok(None)`: no LUKS
/// magic or another version (the identification reader reports those).
pub fn parse(b: &[u8; PHDR_LEN], dev_size: u64) -> Result<Option<Luks1Header>, FormatError> {
    if b[..6] != super::LUKS_MAGIC[..] || bytes::be16(b, VERSION) != Some(1) {
        return Ok(None);
    }
    let be32 = |off: usize| bytes::be32(b, off).unwrap_or(0);
    let field = |off: usize, name: &'static str, found: String, expected: &str| {
        FormatError::field(FORMAT, off as u64, name, found, expected)
    };
    // cryptsetup terminates each string at its last byte; the rest after a NUL is ignored.
    let hash_name = cstr(&b[HASH_SPEC..HASH_SPEC + NAME_LEN]);
    let hash = match Hash::from_name(&hash_name) {
        Some(h) => h,
        None if Hash::known_elsewhere(&hash_name) => {
            return Err(FormatError::unsupported(
                FORMAT,
                HASH_SPEC as u64,
                format!("LUKS1 hashSpec {hash_name} (this program computes sha1 and sha2 only)"),
            ))
        }
        None => {
            return Err(field(
                HASH_SPEC,
                "hashSpec",
                format!("{hash_name:?}"),
                "a hash cryptsetup knows (sha1, sha256, ...)",
            ))
        }
    };
    let key_bytes = be32(KEY_BYTES);
    if key_bytes == 0 || key_bytes > MAX_KEY_BYTES {
        return Err(field(
            KEY_BYTES,
            "keyBytes",
            key_bytes.to_string(),
            &format!("1..={MAX_KEY_BYTES}"),
        ));
    }
    let payload_offset = be32(PAYLOAD_OFFSET);
    let keyslots: [Keyslot; NUM_KEYS] = std::array::from_fn(|i| {
        let kb = KEYBLOCK + i * KEYBLOCK_LEN;
        Keyslot {
            state: match be32(kb + KB_ACTIVE) {
                KEY_ENABLED => SlotState::Active,
                KEY_DISABLED => SlotState::Inactive,
                v => SlotState::Invalid(v),
            },
            iterations: be32(kb + KB_ITER),
            salt: bytes::arr(b, kb + KB_SALT).unwrap_or([0; SALT_LEN]),
            key_material_offset: be32(kb + KB_OFFSET),
            stripes: be32(kb + KB_STRIPES),
        }
    });
    check_keyslots(&keyslots, payload_offset, key_bytes)?;
    let hdr = Luks1Header {
        cipher_name: cstr(&b[CIPHER_NAME..CIPHER_NAME + NAME_LEN]),
        cipher_mode: cstr(&b[CIPHER_MODE..CIPHER_MODE + NAME_LEN]),
        hash,
        payload_offset,
        key_bytes,
        mk_digest: bytes::arr(b, MK_DIGEST).unwrap_or([0; DIGEST_LEN]),
        mk_digest_salt: bytes::arr(b, MK_DIGEST_SALT).unwrap_or([0; SALT_LEN]),
        mk_digest_iterations: be32(MK_DIGEST_ITER),
        uuid: cstr(&b[UUID..UUID + UUID_LEN]),
        keyslots,
    };
    // LUKS_check_device_size: the last keyslot's material must fit the device.
    let end = hdr
        .keyslots
        .iter()
        .map(|k| u64::from(k.key_material_offset) + hdr.keyslot_sectors())
        .max()
        .unwrap_or(0)
        * 512;
    if end > dev_size {
        return Err(FormatError::truncated(
            FORMAT,
            0,
            "keyslot material",
            end,
            dev_size,
        ));
    }
    Ok(Some(hdr))
}

/// `LUKS_check_keyslots`: every keyslot (active or not) has 4000 stripes, starts after the
/// header, ends before the payload (unless the header is detached) and does not overlap the
/// next one in offset order.
fn check_keyslots(
    ks: &[Keyslot; NUM_KEYS],
    payload: u32,
    key_bytes: u32,
) -> Result<(), FormatError> {
    let secs = af_sectors(key_bytes);
    let at = |i: usize, f: usize| (KEYBLOCK + i * KEYBLOCK_LEN + f) as u64;
    for (i, k) in ks.iter().enumerate() {
        if k.stripes != STRIPES {
            return Err(FormatError::field(
                FORMAT,
                at(i, KB_STRIPES),
                "stripes",
                format!("{} (keyslot {i})", k.stripes),
                STRIPES,
            ));
        }
        let off = u64::from(k.key_material_offset);
        if off * 512 < PHDR_LEN as u64 {
            return Err(FormatError::field(
                FORMAT,
                at(i, KB_OFFSET),
                "keyMaterialOffset",
                format!("{off} (keyslot {i})"),
                "at least 2 (after the header)",
            ));
        }
        if payload != 0 && u64::from(payload) < off + secs {
            return Err(FormatError::field(
                FORMAT,
                at(i, KB_OFFSET),
                "keyMaterialOffset",
                format!("{off} + {secs} sectors (keyslot {i})"),
                format!("ending at or before payloadOffset {payload}"),
            ));
        }
    }
    // Stable sort by offset, as LUKS_sort_keyslots' insertion sort.
    let mut order: Vec<usize> = (0..NUM_KEYS).collect();
    order.sort_by_key(|&i| ks[i].key_material_offset);
    for w in order.windows(2) {
        let (prev, next) = (w[0], w[1]);
        let end = u64::from(ks[prev].key_material_offset) + secs;
        if u64::from(ks[next].key_material_offset) < end {
            return Err(FormatError::field(
                FORMAT,
                at(next, KB_OFFSET),
                "keyMaterialOffset",
                format!(
                    "{} (keyslot {next} overlaps keyslot {prev})",
                    ks[next].key_material_offset
                ),
                format!("at least {end}"),
            ));
        }
    }
    Ok(())
}
