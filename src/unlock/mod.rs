//! The only code that sees passphrases and keys: opens a LUKS1 or LUKS2 keyslot with a
//! passphrase and returns the volume key, as cryptsetup 2.6 does it (`LUKS_open_key_with_hdr`,
//! `LUKS2_keyslot_open`): KDF ([`kdf`]: PBKDF2 with sha1/sha2, Argon2i/Argon2id), keyslot area
//! decryption ([`cipher`]), the anti-forensic merge ([`af`]) and the digest check, compared in
//! constant time. Nothing here logs or prints key material; [`VolumeKey`] is zeroed on drop and
//! its `Debug` shows only its length.
//!
//! # API (for discovery, planning and activation)
//!
//! ```text
//! let h = probe::luks::read_header(name, dev)?  // Option<ReadHeader { header, warnings }>
//! h.header.unsupported()                        // Some(err): do not ask for a passphrase
//! unlock::open(&h.header, dev, passphrase, mem_available)
//!     -> Ok(Unlocked { key, keyslot, digest })  // the volume key and what opened it
//!     -> Err(UnlockError::WrongPassphrase {..})  // ask again
//!     -> Err(UnlockError::TokenOnly {..})        // only token keyslots (TPM2, FIDO2) exist
//!     -> Err(UnlockError::NoUsableKeyslot {..})  // nothing a passphrase can open here
//!     -> Err(UnlockError::Unsupported(..) | Io {..})
//! plan::crypt::crypt_table(&h.header, dev_ref, dev_sectors, KeySource::Keyring, &opts)
//!     // LUKS2: the key goes into the kernel keyring as plan::crypt::key_description names
//!     // it; LUKS1: KeySource::Hex(&unlocked.key.to_hex())
//! ```
//!
//! `dev` is the device holding the header and keyslot areas (the LUKS device itself, or a
//! detached header); `mem_available` is the memory Argon2 may use, in bytes (the caller reads
//! MemAvailable from /proc/meminfo): a keyslot whose Argon2 cost exceeds it is skipped with a
//! reason rather than attempted.
//!
//! Order of keyslots, as cryptsetup: LUKS1 0..=7, active ones only; LUKS2 the keyslots of
//! priority "prefer" (2) then "normal" (1, or none given), each in the order of the JSON text,
//! only `luks2` keyslots whose digest is the default segment's; priority "ignore" (0) is never
//! tried. Keyslots bound to a token (systemd-tpm2, systemd-fido2) are tried like the others,
//! as `cryptsetup open` does with a passphrase. Unlike cryptsetup, a keyslot that cannot be
//! used (unsupported cipher, too much memory, broken parameters) does not stop the search: it
//! is skipped with its reason and the next keyslot is tried.

pub mod af;
pub mod cipher;
pub mod kdf;
pub mod keys;
pub mod reader;

pub use keys::{Keys, Passphrase};

use crate::error::FormatError;
use crate::formats::luks::json::{Digest, Kdf, Keyslot, Luks2Keyslot, Luks2Metadata};
use crate::formats::luks::v1::{self, Luks1Header, SlotState};
use crate::formats::luks::{Hash, LuksHeader};
use crate::source::{self, ReadAt};
use base64ct::{Base64, Encoding};
use std::fmt;
use std::io;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// LUKS1 `LUKS_STRIPES`; cryptsetup 2.6 also merges LUKS2 keyslots with 4000 stripes whatever
/// `af.stripes` says.
const STRIPES: usize = 4000;
/// Salt length of keyslots and digests (`LUKS_SALTSIZE`).
const SALT_LEN: usize = 32;
/// Largest volume key accepted (bytes); bounds the keyslot material read (key × 4000).
pub const MAX_KEY_LEN: u32 = v1::MAX_KEY_BYTES;

/// A volume key. Zeroed on drop; never printed.
pub struct VolumeKey(Zeroizing<Vec<u8>>);

impl VolumeKey {
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Lower-case hex, as a dm-crypt table carries a key (LUKS1); zeroed on drop.
    pub fn to_hex(&self) -> Zeroizing<String> {
        let mut s = Zeroizing::new(String::with_capacity(self.0.len() * 2));
        for b in self.0.iter() {
            s.push(char::from(HEX[usize::from(b >> 4)]));
            s.push(char::from(HEX[usize::from(b & 15)]));
        }
        s
    }
    /// Builds one from bytes (tests, and callers holding a key from elsewhere).
    pub fn from_bytes(b: &[u8]) -> VolumeKey {
        VolumeKey(Zeroizing::new(b.to_vec()))
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

impl fmt::Debug for VolumeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VolumeKey(<{} bytes>)", self.0.len())
    }
}

/// What [`open`] found.
#[derive(Debug)]
pub struct Unlocked {
    pub key: VolumeKey,
    /// The keyslot that opened.
    pub keyslot: u32,
    /// LUKS2: the digest that verified the key (it names the key in the kernel keyring:
    /// `cryptsetup:<UUID>-d<digest>`); `None` for LUKS1.
    pub digest: Option<u32>,
}

/// Why a keyslot was not tried, or failed for a reason other than the passphrase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// LUKS1 keyslot state neither enabled nor disabled.
    InvalidState(u32),
    /// LUKS2 priority "ignore" or a value cryptsetup never tries.
    Priority(i64),
    /// LUKS2 keyslot of another type ("reencrypt", unknown types).
    Type(String),
    /// LUKS2 keyslot whose digest is not the default segment's (an unbound key).
    NotForSegment,
    /// Valid, but this program lacks what it needs (cipher, hash, KDF).
    Unsupported(String),
    /// Argon2 needs more memory than is available (bytes).
    Memory { needed: u64, available: u64 },
    /// A parameter cryptsetup would also fail on (named, with the value).
    Broken(String),
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::InvalidState(v) => write!(f, "invalid state {v:#010x}"),
            SkipReason::Priority(p) => write!(f, "priority {p} (never tried)"),
            SkipReason::Type(t) => write!(f, "type {t:?} (not a passphrase keyslot)"),
            SkipReason::NotForSegment => f.write_str("not bound to the data segment"),
            SkipReason::Unsupported(s) => write!(f, "unsupported: {s}"),
            SkipReason::Memory { needed, available } => write!(
                f,
                "argon2 needs {} MiB of memory, {} MiB are available",
                needed >> 20,
                available >> 20
            ),
            SkipReason::Broken(s) => write!(f, "broken: {s}"),
        }
    }
}

/// A keyslot not tried, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub keyslot: u32,
    pub reason: SkipReason,
}

#[derive(Debug)]
pub enum UnlockError {
    /// The header describes what this program does not open (see
    /// [`LuksHeader::unsupported`]).
    Unsupported(FormatError),
    /// The passphrase opened none of the keyslots tried. `skipped`: those not tried.
    WrongPassphrase {
        tried: Vec<u32>,
        skipped: Vec<Skipped>,
    },
    /// The passphrase opened none of the keyslots tried, and each of them is bound to a token
    /// (`tokens`: their types, e.g. "systemd-tpm2"): the volume is meant to be opened by the
    /// token, which this program does not do.
    TokenOnly {
        tried: Vec<u32>,
        tokens: Vec<String>,
        skipped: Vec<Skipped>,
    },
    /// No keyslot could be tried.
    NoUsableKeyslot { skipped: Vec<Skipped> },
    /// Reading a keyslot area failed.
    Io {
        keyslot: u32,
        offset: u64,
        len: u64,
        err: io::Error,
    },
}

impl fmt::Display for UnlockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |f: &mut fmt::Formatter<'_>, skipped: &[Skipped]| -> fmt::Result {
            for s in skipped {
                write!(f, "; keyslot {}: {}", s.keyslot, s.reason)?;
            }
            Ok(())
        };
        match self {
            UnlockError::Unsupported(e) => write!(f, "{e}"),
            UnlockError::WrongPassphrase { tried, skipped } => {
                write!(
                    f,
                    "no key available with this passphrase (keyslots tried: {})",
                    ids(tried)
                )?;
                list(f, skipped)
            }
            UnlockError::TokenOnly {
                tried,
                tokens,
                skipped,
            } => {
                write!(
                    f,
                    "no key available with this passphrase; every keyslot tried ({}) belongs to a token ({}): unlocking through tokens (TPM2, FIDO2, PKCS#11) is not supported, a passphrase or recovery keyslot is needed",
                    ids(tried),
                    tokens.join(", ")
                )?;
                list(f, skipped)
            }
            UnlockError::NoUsableKeyslot { skipped } => {
                f.write_str("no keyslot can be opened with a passphrase")?;
                list(f, skipped)
            }
            UnlockError::Io {
                keyslot,
                offset,
                len,
                err,
            } => {
                write!(
                    f,
                    "keyslot {keyslot}: read of {len} bytes at byte {offset} failed: {err}"
                )
            }
        }
    }
}

impl std::error::Error for UnlockError {}

fn ids(v: &[u32]) -> String {
    v.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
}

/// Opens the volume key of `hdr` with `pass`, trying keyslots in cryptsetup's order. `dev`
/// holds the header and keyslot areas; `mem_available` bounds Argon2 (bytes).
pub fn open(
    hdr: &LuksHeader,
    dev: &dyn ReadAt,
    pass: &[u8],
    mem_available: u64,
) -> Result<Unlocked, UnlockError> {
    open_keyslot(hdr, dev, pass, mem_available, None)
}

/// As [`open`], limited to one keyslot when `only` is given (crypttab `key-slot=`).
pub fn open_keyslot(
    hdr: &LuksHeader,
    dev: &dyn ReadAt,
    pass: &[u8],
    mem_available: u64,
    only: Option<u32>,
) -> Result<Unlocked, UnlockError> {
    if let Some(e) = hdr.unsupported() {
        return Err(UnlockError::Unsupported(e));
    }
    match hdr {
        LuksHeader::V1(h) => open_v1(h, dev, pass, only),
        LuksHeader::V2(h) => open_v2(&h.meta, dev, pass, mem_available, only),
    }
}

/// The outcome of one keyslot.
enum Try {
    Opened(VolumeKey),
    Wrong,
    Skip(SkipReason),
}

fn open_v1(
    h: &Luks1Header,
    dev: &dyn ReadAt,
    pass: &[u8],
    only: Option<u32>,
) -> Result<Unlocked, UnlockError> {
    let (mut tried, mut skipped) = (Vec::new(), Vec::new());
    for (i, ks) in h.keyslots.iter().enumerate() {
        let id = i as u32;
        if only.is_some_and(|o| o != id) {
            continue;
        }
        match ks.state {
            SlotState::Inactive => continue,
            SlotState::Invalid(v) => {
                skipped.push(Skipped {
                    keyslot: id,
                    reason: SkipReason::InvalidState(v),
                });
                continue;
            }
            SlotState::Active => {}
        }
        match try_v1(h, ks, id, dev, pass)? {
            Try::Opened(key) => {
                return Ok(Unlocked {
                    key,
                    keyslot: id,
                    digest: None,
                })
            }
            Try::Wrong => tried.push(id),
            Try::Skip(reason) => skipped.push(Skipped {
                keyslot: id,
                reason,
            }),
        }
    }
    Err(finish(tried, skipped, |_| None))
}

fn try_v1(
    h: &Luks1Header,
    ks: &v1::Keyslot,
    id: u32,
    dev: &dyn ReadAt,
    pass: &[u8],
) -> Result<Try, UnlockError> {
    let key_len = h.key_bytes as usize;
    let mut derived = Zeroizing::new(vec![0u8; key_len]);
    if let Err(e) = kdf::pbkdf2(h.hash, pass, &ks.salt, ks.iterations, &mut derived) {
        return Ok(Try::Skip(SkipReason::Broken(format!("{e}"))));
    }
    let off = u64::from(ks.key_material_offset) * 512;
    let mut area = read_area(dev, id, off, h.keyslot_sectors() * 512)?;
    if let Err(e) = cipher::decrypt_area(&h.cipher_spec(), &derived, &mut area) {
        return Ok(Try::Skip(SkipReason::Unsupported(e)));
    }
    let key = af::merge(&area, key_len, STRIPES, h.hash);
    let mut check = Zeroizing::new([0u8; v1::DIGEST_LEN]);
    if let Err(e) = kdf::pbkdf2(
        h.hash,
        &key,
        &h.mk_digest_salt,
        h.mk_digest_iterations,
        &mut check[..],
    ) {
        return Ok(Try::Skip(SkipReason::Broken(format!(
            "mkDigestIterations: {e}"
        ))));
    }
    let ok = bool::from(check.ct_eq(&h.mk_digest));
    // "Allow only empty passphrase with null cipher" (LUKS_open_key).
    let null_with_pass = h.cipher_name == "cipher_null" && !pass.is_empty();
    if ok && !null_with_pass {
        Ok(Try::Opened(VolumeKey(key)))
    } else {
        Ok(Try::Wrong)
    }
}

fn open_v2(
    m: &Luks2Metadata,
    dev: &dyn ReadAt,
    pass: &[u8],
    mem: u64,
    only: Option<u32>,
) -> Result<Unlocked, UnlockError> {
    let (mut tried, mut skipped) = (Vec::new(), Vec::new());
    let seg_digest = m
        .default_segment()
        .and_then(|s| m.digest_by_segment(s.id))
        .map(|d| d.id);
    for prio in [2i64, 1] {
        for ks in m.keyslots.iter().filter(|k| k.priority == prio) {
            if only.is_some_and(|o| o != ks.id) {
                continue;
            }
            let Some(lk) = ks.luks2.as_ref().filter(|_| ks.kind == "luks2") else {
                skipped.push(Skipped {
                    keyslot: ks.id,
                    reason: SkipReason::Type(ks.kind.clone()),
                });
                continue;
            };
            let digest = m.digest_by_keyslot(ks.id);
            let Some(digest) = digest.filter(|d| Some(d.id) == seg_digest) else {
                skipped.push(Skipped {
                    keyslot: ks.id,
                    reason: SkipReason::NotForSegment,
                });
                continue;
            };
            match try_v2(ks, lk, digest, dev, pass, mem)? {
                Try::Opened(key) => {
                    return Ok(Unlocked {
                        key,
                        keyslot: ks.id,
                        digest: Some(digest.id),
                    })
                }
                Try::Wrong => tried.push(ks.id),
                Try::Skip(reason) => skipped.push(Skipped {
                    keyslot: ks.id,
                    reason,
                }),
            }
        }
    }
    for ks in m
        .keyslots
        .iter()
        .filter(|k| k.priority != 2 && k.priority != 1)
    {
        if only.is_none_or(|o| o == ks.id) {
            skipped.push(Skipped {
                keyslot: ks.id,
                reason: SkipReason::Priority(ks.priority),
            });
        }
    }
    Err(finish(tried, skipped, |id| {
        let t: Vec<String> = m.tokens_of(id).map(|t| t.kind.clone()).collect();
        (!t.is_empty()).then_some(t)
    }))
}

fn finish(
    tried: Vec<u32>,
    skipped: Vec<Skipped>,
    tokens: impl Fn(u32) -> Option<Vec<String>>,
) -> UnlockError {
    if tried.is_empty() {
        return UnlockError::NoUsableKeyslot { skipped };
    }
    let mut kinds = Vec::new();
    for id in &tried {
        match tokens(*id) {
            Some(t) => kinds.extend(t),
            None => return UnlockError::WrongPassphrase { tried, skipped },
        }
    }
    kinds.sort();
    kinds.dedup();
    UnlockError::TokenOnly {
        tried,
        tokens: kinds,
        skipped,
    }
}

fn hash_named(name: &str, field: &str) -> Result<Hash, SkipReason> {
    Hash::from_name(name).ok_or_else(|| {
        if Hash::known_elsewhere(name) {
            SkipReason::Unsupported(format!("{field} {name}"))
        } else {
            SkipReason::Broken(format!("{field} {name:?} is not a hash"))
        }
    })
}

fn salt(b64: &str, field: &str) -> Result<[u8; SALT_LEN], SkipReason> {
    let mut out = [0u8; SALT_LEN];
    match Base64::decode(b64, &mut out) {
        Ok(s) if s.len() == SALT_LEN => Ok(out),
        _ => Err(SkipReason::Broken(format!(
            "{field}: not {SALT_LEN} bytes of base64"
        ))),
    }
}

fn u32_of(v: i64, field: &str) -> Result<u32, SkipReason> {
    u32::try_from(v)
        .ok()
        .filter(|&x| x > 0)
        .ok_or_else(|| SkipReason::Broken(format!("{field}: {v}")))
}

fn try_v2(
    ks: &Keyslot,
    lk: &Luks2Keyslot,
    digest: &Digest,
    dev: &dyn ReadAt,
    pass: &[u8],
    mem: u64,
) -> Result<Try, UnlockError> {
    let (id, key_size) = (ks.id, ks.key_size);
    let prep = (|| -> Result<_, SkipReason> {
        if key_size == 0 || key_size > MAX_KEY_LEN {
            return Err(SkipReason::Broken(format!("key_size: {key_size}")));
        }
        let area_key = usize::try_from(lk.area_key_size)
            .ok()
            .filter(|&k| k > 0 && k <= MAX_KEY_LEN as usize)
            .ok_or_else(|| SkipReason::Broken(format!("area.key_size: {}", lk.area_key_size)))?;
        let af_hash = hash_named(&lk.af_hash, "af.hash")?;
        if digest.kind != "pbkdf2" {
            return Err(SkipReason::Unsupported(format!(
                "digest type {:?}",
                digest.kind
            )));
        }
        Ok((area_key, af_hash))
    })();
    let (area_key, af_hash) = match prep {
        Ok(v) => v,
        Err(r) => return Ok(Try::Skip(r)),
    };
    let mut derived = Zeroizing::new(vec![0u8; area_key]);
    let kdf_run = (|| -> Result<(), SkipReason> {
        match &lk.kdf {
            Kdf::Pbkdf2 {
                hash,
                iterations,
                salt: s,
            } => {
                let h = hash_named(hash, "kdf.hash")?;
                let s = salt(s, "kdf.salt")?;
                let it = u32_of(*iterations, "kdf.iterations")?;
                kdf::pbkdf2(h, pass, &s, it, &mut derived)
                    .map_err(|e| SkipReason::Broken(e.to_string()))
            }
            Kdf::Argon2 {
                id,
                time,
                memory,
                cpus,
                salt: s,
            } => {
                let s = salt(s, "kdf.salt")?;
                let cost = kdf::Argon2Cost {
                    id: *id,
                    time: u32_of(*time, "kdf.time")?,
                    memory: u32_of(*memory, "kdf.memory")?,
                    cpus: u32_of(*cpus, "kdf.cpus")?,
                };
                kdf::argon2(cost, pass, &s, &mut derived, mem).map_err(|e| match e {
                    kdf::KdfError::Memory { needed, available } => {
                        SkipReason::Memory { needed, available }
                    }
                    e => SkipReason::Broken(e.to_string()),
                })
            }
            Kdf::Other(t) => Err(SkipReason::Unsupported(format!("kdf type {t:?}"))),
        }
    })();
    if let Err(r) = kdf_run {
        return Ok(Try::Skip(r));
    }
    let key_len = key_size as usize;
    let mut area = read_area(dev, id, ks.area_offset, v1::af_sectors(key_size) * 512)?;
    if let Err(e) = cipher::decrypt_area(&lk.area_encryption, &derived, &mut area) {
        return Ok(Try::Skip(SkipReason::Unsupported(e)));
    }
    let key = af::merge(&area, key_len, STRIPES, af_hash);
    match verify_pbkdf2_digest(digest, &key) {
        Ok(true) => Ok(Try::Opened(VolumeKey(key))),
        Ok(false) => Ok(Try::Wrong),
        Err(r) => Ok(Try::Skip(r)),
    }
}

/// `PBKDF2_digest_verify`: the digest's hash, iterations, 32-byte salt and 20..=64-byte digest
/// (20 or the hash size), compared in constant time.
fn verify_pbkdf2_digest(d: &Digest, key: &[u8]) -> Result<bool, SkipReason> {
    let broken = |f: &str| SkipReason::Broken(format!("digest {} {f}", d.id));
    let h = hash_named(
        d.hash.as_deref().ok_or_else(|| broken("hash missing"))?,
        "digest hash",
    )?;
    let it = d.iterations.ok_or_else(|| broken("iterations missing"))?;
    let it = u32_of(it, "digest iterations")?;
    let s = salt(
        d.salt.as_deref().ok_or_else(|| broken("salt missing"))?,
        "digest salt",
    )?;
    let mut want = [0u8; 64];
    let n = Base64::decode(
        d.digest
            .as_deref()
            .ok_or_else(|| broken("digest missing"))?,
        &mut want,
    )
    .map_err(|_| broken("digest: not base64 of at most 64 bytes"))?
    .len();
    if n < 20 || (n != 20 && n != h.size()) {
        return Err(broken(&format!("digest of {n} bytes")));
    }
    let mut got = Zeroizing::new([0u8; 64]);
    kdf::pbkdf2(h, key, &s, it, &mut got[..n]).map_err(|e| SkipReason::Broken(e.to_string()))?;
    Ok(bool::from(got[..n].ct_eq(&want[..n])))
}

fn read_area(
    dev: &dyn ReadAt,
    keyslot: u32,
    offset: u64,
    len: u64,
) -> Result<Zeroizing<Vec<u8>>, UnlockError> {
    source::read_vec(dev, offset, len)
        .map(Zeroizing::new)
        .map_err(|err| UnlockError::Io {
            keyslot,
            offset,
            len,
            err,
        })
}
