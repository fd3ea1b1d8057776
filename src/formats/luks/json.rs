//! The LUKS2 JSON area: parsed with serde_json into typed sections, then checked as
//! cryptsetup's `LUKS2_hdr_validate` (`luks2_json_metadata.c`) and the `luks2` keyslot
//! handler's `validate` (`luks2_keyslot_luks2.c`) check it, in the same order, so a header
//! cryptsetup refuses is refused here, naming the section, object and field.
//!
//! Conventions of the format (as cryptsetup writes it): object keys of `keyslots`, `tokens`,
//! `segments` and `digests` are decimal ids; offsets and sizes are decimal strings (a JSON
//! number cannot hold every u64); key sizes, sector sizes and KDF costs are JSON integers;
//! unknown fields are ignored (cryptsetup's repair drops stray KDF fields in memory and
//! accepts the rest). The order of keyslots and digests in the text is kept: cryptsetup tries
//! keyslots in that order.
//!
//! Ids are bounded as cryptsetup bounds what it can create: keyslots, tokens and segments
//! 0..=31 (`LUKS2_KEYSLOTS_MAX`, `LUKS2_TOKENS_MAX`, `LUKS2_SEGMENT_MAX`), digests 0..=7
//! (`LUKS2_DIGEST_MAX`). Values that cryptsetup only looks at when it opens a keyslot (KDF
//! costs, salts, the digest's own fields) are kept as found and checked by `unlock/`.

use super::FORMAT;
use crate::error::FormatError;
use serde::de::{Deserializer, Error as _, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeSet;
use std::fmt;
use std::marker::PhantomData;

pub const KEYSLOTS_MAX: u32 = 32;
pub const TOKENS_MAX: u32 = 32;
pub const SEGMENTS_MAX: u32 = 32;
pub const DIGESTS_MAX: u32 = 8;
/// `LUKS2_MAX_KEYSLOTS_SIZE`.
pub const KEYSLOTS_SIZE_MAX: u64 = 0x800_0000;
/// `LUKS2_HDR_BIN_LEN`.
const BIN_LEN: u64 = 4096;
/// Metadata sizes cryptsetup accepts (`LUKS2_check_metadata_area_size`, `LUKS2_HDR2_OFFSETS`).
const METADATA_SIZES: [u64; 9] = super::SECONDARY_OFFSETS;

/// Requirement names cryptsetup 2.6 knows (`requirements_flags[]`); any other mandatory
/// requirement makes cryptsetup refuse the device.
pub const KNOWN_REQUIREMENTS: [&str; 4] = [
    "offline-reencrypt",
    "online-reencrypt-v2",
    "online-reencrypt-v3",
    "online-reencrypt",
];

/// The whole JSON area, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Luks2Metadata {
    /// In the order of the text (cryptsetup's order of trying them, within a priority).
    pub keyslots: Vec<Keyslot>,
    pub tokens: Vec<Token>,
    pub segments: Vec<Segment>,
    pub digests: Vec<Digest>,
    pub config: Config,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keyslot {
    pub id: u32,
    /// `type`: "luks2" is a passphrase keyslot; "reencrypt" belongs to a reencryption.
    pub kind: String,
    /// `key_size`: bytes of the key this keyslot holds (the volume key).
    pub key_size: u32,
    /// `priority`: 0 ignore, 1 normal (also when absent), 2 prefer; other values are never
    /// tried (cryptsetup compares for equality).
    pub priority: i64,
    /// For `luks2` keyslots.
    pub luks2: Option<Luks2Keyslot>,
    /// `area` offset and size (bytes, from the start of the header device); every keyslot has
    /// one.
    pub area_offset: u64,
    pub area_size: u64,
}

/// The parts of a `luks2` keyslot that open it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Luks2Keyslot {
    pub kdf: Kdf,
    /// `af.hash`, `af.stripes` (cryptsetup 2.6 merges with 4000 stripes whatever this says).
    pub af_hash: String,
    pub af_stripes: i64,
    /// `area.encryption`, `area.key_size`.
    pub area_encryption: String,
    pub area_key_size: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kdf {
    Pbkdf2 {
        hash: String,
        iterations: i64,
        salt: String,
    },
    /// `argon2i` or `argon2id`.
    Argon2 {
        id: bool,
        time: i64,
        memory: i64,
        cpus: i64,
        salt: String,
    },
    /// A KDF type cryptsetup would fail on when opening the keyslot.
    Other(String),
}

impl Kdf {
    pub fn name(&self) -> &str {
        match self {
            Kdf::Pbkdf2 { .. } => "pbkdf2",
            Kdf::Argon2 { id: false, .. } => "argon2i",
            Kdf::Argon2 { id: true, .. } => "argon2id",
            Kdf::Other(s) => s,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub id: u32,
    /// `type`, e.g. "systemd-tpm2", "systemd-fido2", "luks2-keyring".
    pub kind: String,
    pub keyslots: Vec<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub id: u32,
    /// `type`: "crypt", "linear" (reencryption), "hw-opal", "hw-opal-crypt" (cryptsetup 2.7).
    pub kind: String,
    /// Bytes from the start of the data device.
    pub offset: u64,
    /// Bytes; `None` for "dynamic" (to the end of the device).
    pub size: Option<u64>,
    pub flags: Vec<String>,
    pub crypt: Option<CryptSegment>,
}

impl Segment {
    /// A backup segment of a reencryption (`flags` has "backup-*").
    pub fn is_backup(&self) -> bool {
        self.flags.iter().any(|f| f.starts_with("backup-"))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CryptSegment {
    /// `iv_tweak`: unused by a plain activation (cryptsetup 2.6 loads IV offset 0).
    pub iv_tweak: u64,
    pub encryption: String,
    pub sector_size: u32,
    /// `integrity.type` when the segment has authenticated encryption.
    pub integrity: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    pub id: u32,
    pub kind: String,
    pub keyslots: Vec<u32>,
    pub segments: Vec<u32>,
    /// The pbkdf2 digest's own fields, when present with the expected JSON types.
    pub hash: Option<String>,
    pub iterations: Option<i64>,
    pub salt: Option<String>,
    pub digest: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub json_size: u64,
    pub keyslots_size: u64,
    /// Persistent activation flags (`allow-discards`, `no-read-workqueue`, ...).
    pub flags: Vec<String>,
    /// `requirements.mandatory`.
    pub requirements: Vec<String>,
}

impl Config {
    /// One metadata copy: binary header plus JSON area.
    pub fn metadata_size(&self) -> u64 {
        self.json_size + BIN_LEN
    }
    /// `LUKS2_hdr_and_areas_size`: both copies and the keyslots area.
    pub fn hdr_and_areas_size(&self) -> u64 {
        2 * self.metadata_size() + self.keyslots_size
    }
}

impl Luks2Metadata {
    pub fn keyslot(&self, id: u32) -> Option<&Keyslot> {
        self.keyslots.iter().find(|k| k.id == id)
    }
    pub fn segment(&self, id: u32) -> Option<&Segment> {
        self.segments.iter().find(|s| s.id == id)
    }
    /// `LUKS2_digest_by_keyslot`: the first digest (text order) listing the keyslot.
    pub fn digest_by_keyslot(&self, keyslot: u32) -> Option<&Digest> {
        self.digests.iter().find(|d| d.keyslots.contains(&keyslot))
    }
    /// `LUKS2_digest_by_segment`.
    pub fn digest_by_segment(&self, segment: u32) -> Option<&Digest> {
        self.digests.iter().find(|d| d.segments.contains(&segment))
    }
    /// `LUKS2_get_default_segment`: the "backup-final" segment during a reencryption, else 0.
    pub fn default_segment(&self) -> Option<&Segment> {
        self.segments
            .iter()
            .find(|s| s.flags.iter().any(|f| f == "backup-final"))
            .or_else(|| self.segment(0))
    }
    /// Regular (non-backup) segments.
    pub fn regular_segments(&self) -> impl Iterator<Item = &Segment> {
        self.segments.iter().filter(|s| !s.is_backup())
    }
    /// Tokens that list `keyslot`.
    pub fn tokens_of(&self, keyslot: u32) -> impl Iterator<Item = &Token> {
        self.tokens
            .iter()
            .filter(move |t| t.keyslots.contains(&keyslot))
    }
}

// ---------------------------------------------------------------------------------------
// Raw shapes (serde). Leaves are `Value` so that type errors are ours and name the field.

/// A JSON object whose entries keep their text order; a repeated key is an error.
#[derive(Debug)]
struct Ordered<T>(Vec<(String, T)>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Ordered<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Ordered<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
                let mut seen = BTreeSet::new();
                let mut v = Vec::new();
                while let Some((k, x)) = m.next_entry::<String, T>()? {
                    if !seen.insert(k.clone()) {
                        return Err(A::Error::custom(format!("duplicate key {k:?}")));
                    }
                    v.push((k, x));
                }
                Ok(Ordered(v))
            }
        }
        d.deserialize_map(V(PhantomData))
    }
}

#[derive(Deserialize)]
#[serde(expecting = "the LUKS2 JSON object")]
struct RawHdr {
    keyslots: Option<Ordered<RawKeyslot>>,
    tokens: Option<Ordered<RawToken>>,
    segments: Option<Ordered<RawSegment>>,
    digests: Option<Ordered<RawDigest>>,
    config: Option<RawConfig>,
}

#[derive(Deserialize)]
#[serde(expecting = "a keyslot object")]
struct RawKeyslot {
    #[serde(rename = "type")]
    kind: Option<Value>,
    key_size: Option<Value>,
    priority: Option<Value>,
    kdf: Option<RawKdf>,
    af: Option<RawAf>,
    area: Option<RawArea>,
}

#[derive(Deserialize)]
#[serde(expecting = "a keyslot kdf object")]
struct RawKdf {
    #[serde(rename = "type")]
    kind: Option<Value>,
    hash: Option<Value>,
    iterations: Option<Value>,
    time: Option<Value>,
    memory: Option<Value>,
    cpus: Option<Value>,
    salt: Option<Value>,
}

#[derive(Deserialize)]
#[serde(expecting = "a keyslot af object")]
struct RawAf {
    #[serde(rename = "type")]
    kind: Option<Value>,
    hash: Option<Value>,
    stripes: Option<Value>,
}

#[derive(Deserialize)]
#[serde(expecting = "a keyslot area object")]
struct RawArea {
    #[serde(rename = "type")]
    kind: Option<Value>,
    offset: Option<Value>,
    size: Option<Value>,
    encryption: Option<Value>,
    key_size: Option<Value>,
}

#[derive(Deserialize)]
#[serde(expecting = "a token object")]
struct RawToken {
    #[serde(rename = "type")]
    kind: Option<Value>,
    keyslots: Option<Value>,
}

#[derive(Deserialize)]
#[serde(expecting = "a segment object")]
struct RawSegment {
    #[serde(rename = "type")]
    kind: Option<Value>,
    offset: Option<Value>,
    size: Option<Value>,
    iv_tweak: Option<Value>,
    encryption: Option<Value>,
    sector_size: Option<Value>,
    integrity: Option<RawIntegrity>,
    flags: Option<Value>,
}

#[derive(Deserialize)]
#[serde(expecting = "a segment integrity object")]
struct RawIntegrity {
    #[serde(rename = "type")]
    kind: Option<Value>,
    journal_encryption: Option<Value>,
    journal_integrity: Option<Value>,
}

#[derive(Deserialize)]
#[serde(expecting = "a digest object")]
struct RawDigest {
    #[serde(rename = "type")]
    kind: Option<Value>,
    keyslots: Option<Value>,
    segments: Option<Value>,
    hash: Option<Value>,
    iterations: Option<Value>,
    salt: Option<Value>,
    digest: Option<Value>,
}

#[derive(Deserialize)]
#[serde(expecting = "the config object")]
struct RawConfig {
    json_size: Option<Value>,
    keyslots_size: Option<Value>,
    flags: Option<Value>,
    requirements: Option<RawRequirements>,
}

#[derive(Deserialize)]
#[serde(expecting = "the requirements object")]
struct RawRequirements {
    mandatory: Option<Value>,
}

// ---------------------------------------------------------------------------------------
// Field checks. `at` is the byte offset of the JSON area on the device; errors name the
// field as section.field and the object's id in the found text.

struct Ctx {
    at: u64,
}

impl Ctx {
    fn err(
        &self,
        field: &'static str,
        obj: &str,
        found: impl fmt::Display,
        expected: impl fmt::Display,
    ) -> FormatError {
        let found = if obj.is_empty() {
            found.to_string()
        } else {
            format!("{found} ({obj})")
        };
        FormatError::field(FORMAT, self.at, field, found, expected)
    }

    fn missing(&self, field: &'static str, obj: &str, what: &str) -> FormatError {
        self.err(field, obj, "missing or of another JSON type", what)
    }

    /// `json_contains_string`: present, a string, not empty.
    fn string<'a>(
        &self,
        v: &'a Option<Value>,
        field: &'static str,
        obj: &str,
    ) -> Result<&'a str, FormatError> {
        match v {
            Some(Value::String(s)) if !s.is_empty() => Ok(s),
            Some(Value::String(_)) => Err(self.err(field, obj, "\"\"", "a non-empty string")),
            Some(x) => Err(self.err(field, obj, short(x), "a string")),
            None => Err(self.missing(field, obj, "a string")),
        }
    }

    /// `json_contains(..., json_type_int)`: a JSON integer (any size json-c holds).
    fn int(&self, v: &Option<Value>, field: &'static str, obj: &str) -> Result<i64, FormatError> {
        match v {
            Some(Value::Number(n)) if n.is_i64() => Ok(n.as_i64().unwrap_or(0)),
            Some(Value::Number(n)) if n.is_u64() => Ok(i64::MAX),
            Some(x) => Err(self.err(field, obj, short(x), "a JSON integer")),
            None => Err(self.missing(field, obj, "a JSON integer")),
        }
    }

    /// `validate_json_uint32`.
    fn uint32(
        &self,
        v: &Option<Value>,
        field: &'static str,
        obj: &str,
    ) -> Result<u32, FormatError> {
        let n = self.int(v, field, obj)?;
        u32::try_from(n).map_err(|_| self.err(field, obj, n, "0..=4294967295"))
    }

    /// A decimal string holding a u64 (`numbered` + `json_str_to_uint64`).
    fn num_str(
        &self,
        v: &Option<Value>,
        field: &'static str,
        obj: &str,
    ) -> Result<u64, FormatError> {
        let s = self.string(v, field, obj)?;
        parse_decimal(s).ok_or_else(|| {
            self.err(
                field,
                obj,
                format!("{s:?}"),
                "a decimal string of a 64-bit number",
            )
        })
    }

    /// An array of strings.
    fn strings(
        &self,
        v: &Value,
        field: &'static str,
        obj: &str,
    ) -> Result<Vec<String>, FormatError> {
        let Value::Array(a) = v else {
            return Err(self.err(field, obj, short(v), "an array of strings"));
        };
        a.iter()
            .map(|x| match x {
                Value::String(s) => Ok(s.clone()),
                x => Err(self.err(field, obj, short(x), "an array of strings")),
            })
            .collect()
    }

    /// An object key: a decimal id below `max`.
    fn id(&self, key: &str, field: &'static str, max: u32) -> Result<u32, FormatError> {
        match parse_decimal(key) {
            Some(n) if n < u64::from(max) && n.to_string() == key => Ok(n as u32),
            _ => Err(self.err(
                field,
                "",
                format!("{key:?}"),
                format!("a decimal id 0..={}", max - 1),
            )),
        }
    }

    /// An array of references to ids that must exist in `known`.
    fn refs(
        &self,
        v: &Option<Value>,
        field: &'static str,
        obj: &str,
        known: &BTreeSet<String>,
    ) -> Result<Vec<u32>, FormatError> {
        let Some(v) = v else {
            return Err(self.missing(field, obj, "an array of ids"));
        };
        let list = self.strings(v, field, obj)?;
        list.iter()
            .map(|s| {
                if !known.contains(s) {
                    return Err(self.err(
                        field,
                        obj,
                        format!("{s:?}"),
                        "the id of an existing object",
                    ));
                }
                // Known keys are valid ids (checked before references are).
                Ok(parse_decimal(s).unwrap_or(0) as u32)
            })
            .collect()
    }
}

fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// A short rendering of a JSON value for messages.
fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 40 {
        format!(
            "{}...",
            &s[..s.char_indices().nth(37).map_or(s.len(), |(i, _)| i)]
        )
    } else {
        s
    }
}

/// A serde_json error as a format error at its byte position.
fn serde_err(text: &[u8], at: u64, e: &serde_json::Error) -> FormatError {
    // serde_json counts lines from 1 and columns in bytes from 1.
    let mut off = 0usize;
    for _ in 1..e.line() {
        match text[off..].iter().position(|&c| c == b'\n') {
            Some(p) => off += p + 1,
            None => break,
        }
    }
    let pos = (off + e.column().saturating_sub(1)).min(text.len());
    let msg = e.to_string();
    let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
    FormatError::field(
        FORMAT,
        at + pos as u64,
        "JSON",
        msg,
        "the LUKS2 JSON metadata",
    )
}

/// Parses and validates the JSON area (`area`, read at byte `at`) of a header whose
/// `hdr_size` is given.
pub fn parse(area: &[u8], at: u64, hdr_size: u64) -> Result<Luks2Metadata, FormatError> {
    let cx = Ctx { at };
    // validate_json_area: starts with '{', the text ends at the first NUL, only NULs follow,
    // and at least one does.
    if area.first() != Some(&b'{') {
        return Err(cx.err(
            "JSON",
            "",
            format!("first byte {:#04x}", area.first().copied().unwrap_or(0)),
            "'{'",
        ));
    }
    let len = area.iter().position(|&c| c == 0).ok_or_else(|| {
        cx.err(
            "JSON",
            "",
            "no NUL after the JSON text",
            "a NUL-terminated text within the area",
        )
    })?;
    if let Some(p) = area[len..].iter().position(|&c| c != 0) {
        return Err(FormatError::field(
            FORMAT,
            at + (len + p) as u64,
            "JSON",
            format!("byte {:#04x} after the JSON text", area[len + p]),
            "only NUL bytes",
        ));
    }
    let text = &area[..len];
    let raw: RawHdr = serde_json::from_slice(text).map_err(|e| serde_err(text, at, &e))?;
    // json-c stops after the object: anything but NUL after '}' (even blanks) is refused.
    if text.last() != Some(&b'}') {
        return Err(FormatError::field(
            FORMAT,
            at + len as u64 - 1,
            "JSON",
            "text after the top-level object",
            "'}' followed by NUL",
        ));
    }
    validate(&cx, raw, hdr_size, len as u64)
}

fn keys<T>(o: &Ordered<T>) -> BTreeSet<String> {
    o.0.iter().map(|(k, _)| k.clone()).collect()
}

fn validate(
    cx: &Ctx,
    raw: RawHdr,
    hdr_size: u64,
    text_len: u64,
) -> Result<Luks2Metadata, FormatError> {
    // hdr_validate_requirements
    let config = raw
        .config
        .ok_or_else(|| cx.missing("config", "", "an object"))?;
    let mut requirements = Vec::new();
    if let Some(req) = &config.requirements {
        if let Some(m) = &req.mandatory {
            requirements = cx.strings(m, "config.requirements.mandatory", "")?;
            let reenc = requirements
                .iter()
                .filter(|r| reencrypt_candidate(r))
                .count();
            if reenc > 1 {
                return Err(cx.err(
                    "config.requirements.mandatory",
                    "",
                    format!("{reenc} online-reencrypt flags"),
                    "at most one",
                ));
            }
        }
    }
    let keyslots = raw
        .keyslots
        .ok_or_else(|| cx.missing("keyslots", "", "an object"))?;
    let tokens = raw
        .tokens
        .ok_or_else(|| cx.missing("tokens", "", "an object"))?;
    let segments = raw
        .segments
        .ok_or_else(|| cx.missing("segments", "", "an object"))?;
    let digests = raw
        .digests
        .ok_or_else(|| cx.missing("digests", "", "an object"))?;
    let (ks_keys, seg_keys) = (keys(&keyslots), keys(&segments));
    // Ids first, so that references below are to valid ids.
    for (k, _) in &keyslots.0 {
        cx.id(k, "keyslots", KEYSLOTS_MAX)?;
    }
    for (k, _) in &segments.0 {
        cx.id(k, "segments", SEGMENTS_MAX)?;
    }

    // hdr_validate_tokens
    let mut out_tokens = Vec::new();
    for (k, t) in &tokens.0 {
        let id = cx.id(k, "tokens", TOKENS_MAX)?;
        let obj = format!("token {id}");
        let kind = cx.string(&t.kind, "tokens.type", &obj)?.to_string();
        let ks = cx.refs(&t.keyslots, "tokens.keyslots", &obj, &ks_keys)?;
        out_tokens.push(Token {
            id,
            kind,
            keyslots: ks,
        });
    }

    // hdr_validate_digests
    let mut out_digests = Vec::new();
    for (k, d) in &digests.0 {
        let id = cx.id(k, "digests", DIGESTS_MAX)?;
        let obj = format!("digest {id}");
        let kind = cx.string(&d.kind, "digests.type", &obj)?.to_string();
        let ks = cx.refs(&d.keyslots, "digests.keyslots", &obj, &ks_keys)?;
        let segs = cx.refs(&d.segments, "digests.segments", &obj, &seg_keys)?;
        let s = |v: &Option<Value>| v.as_ref().and_then(Value::as_str).map(str::to_string);
        out_digests.push(Digest {
            id,
            kind,
            keyslots: ks,
            segments: segs,
            hash: s(&d.hash),
            iterations: d.iterations.as_ref().and_then(Value::as_i64),
            salt: s(&d.salt),
            digest: s(&d.digest),
        });
    }

    // hdr_validate_segments
    if segments.0.is_empty() {
        return Err(cx.err("segments", "", "no segment", "at least one"));
    }
    let mut out_segments = Vec::new();
    let mut first_backup: Option<u32> = None;
    for (k, s) in &segments.0 {
        let id = cx.id(k, "segments", SEGMENTS_MAX)?;
        let obj = format!("segment {id}");
        let kind = cx.string(&s.kind, "segments.type", &obj)?.to_string();
        let offset = cx.num_str(&s.offset, "segments.offset", &obj)?;
        let size = match cx.string(&s.size, "segments.size", &obj)? {
            "dynamic" => None,
            _ => match cx.num_str(&s.size, "segments.size", &obj)? {
                0 => {
                    return Err(cx.err(
                        "segments.size",
                        &obj,
                        "\"0\"",
                        "a non-zero size or \"dynamic\"",
                    ))
                }
                n => Some(n),
            },
        };
        if offset % 512 != 0 {
            return Err(cx.err("segments.offset", &obj, offset, "a multiple of 512"));
        }
        if size.unwrap_or(0) % 512 != 0 {
            return Err(cx.err(
                "segments.size",
                &obj,
                size.unwrap_or(0),
                "a multiple of 512",
            ));
        }
        let flags = match &s.flags {
            Some(f) => cx.strings(f, "segments.flags", &obj)?,
            None => Vec::new(),
        };
        let seg = Segment {
            id,
            kind,
            offset,
            size,
            flags,
            crypt: None,
        };
        if seg.is_backup() {
            first_backup = Some(first_backup.map_or(id, |b| b.min(id)));
        } else if let Some(b) = first_backup.filter(|&b| id >= b) {
            return Err(cx.err(
                "segments",
                &obj,
                format!("regular segment after backup segment {b}"),
                "regular segments first",
            ));
        }
        let crypt = if seg.kind == "crypt" {
            let iv = cx.string(&s.iv_tweak, "segments.iv_tweak", &obj)?;
            let iv_tweak = parse_decimal(iv).ok_or_else(|| {
                cx.err(
                    "segments.iv_tweak",
                    &obj,
                    format!("{iv:?}"),
                    "a decimal string of a 64-bit number",
                )
            })?;
            let encryption = cx
                .string(&s.encryption, "segments.encryption", &obj)?
                .to_string();
            let integrity = match &s.integrity {
                Some(i) => {
                    let t = cx
                        .string(&i.kind, "segments.integrity.type", &obj)?
                        .to_string();
                    cx.string(
                        &i.journal_encryption,
                        "segments.integrity.journal_encryption",
                        &obj,
                    )?;
                    cx.string(
                        &i.journal_integrity,
                        "segments.integrity.journal_integrity",
                        &obj,
                    )?;
                    Some(t)
                }
                None => None,
            };
            let sector_size = cx.uint32(&s.sector_size, "segments.sector_size", &obj)?;
            if sector_size == 0 || sector_size % 512 != 0 {
                return Err(cx.err(
                    "segments.sector_size",
                    &obj,
                    sector_size,
                    "a non-zero multiple of 512",
                ));
            }
            if size.unwrap_or(0) % u64::from(sector_size) != 0 {
                return Err(cx.err(
                    "segments.size",
                    &obj,
                    size.unwrap_or(0),
                    format!("a multiple of sector_size {sector_size}"),
                ));
            }
            if !out_digests
                .iter()
                .any(|d: &Digest| d.segments.contains(&id))
            {
                return Err(cx.err(
                    "digests",
                    &obj,
                    "no digest for this crypt segment",
                    "a digest listing it",
                ));
            }
            Some(CryptSegment {
                iv_tweak,
                encryption,
                sector_size,
                integrity,
            })
        } else {
            None
        };
        out_segments.push(Segment { crypt, ..seg });
    }
    let count = out_segments.len() as u32;
    if first_backup == Some(0) {
        return Err(cx.err(
            "segments",
            "",
            "only backup segments",
            "a regular segment 0",
        ));
    }
    // Ids 0..count-1 all present (no gap), regular ones first.
    for id in 0..count {
        if !out_segments.iter().any(|s| s.id == id) {
            return Err(cx.err(
                "segments",
                "",
                format!("no segment {id} among {count}"),
                "ids without gaps",
            ));
        }
    }
    let regular = first_backup.unwrap_or(count);
    for a in out_segments.iter().filter(|s| s.id < regular) {
        if a.size.is_none() && a.id + 1 != regular {
            return Err(cx.err(
                "segments.size",
                &format!("segment {}", a.id),
                "\"dynamic\"",
                "a size (only the last regular segment is dynamic)",
            ));
        }
        for b in out_segments
            .iter()
            .filter(|s| s.id < regular && s.id != a.id)
        {
            let inside = a.offset >= b.offset
                && b.size.is_none_or(|l| a.offset < b.offset.saturating_add(l));
            if b.size.is_some_and(|l| b.offset.checked_add(l).is_none()) || inside {
                return Err(cx.err(
                    "segments.offset",
                    &format!("segment {}", a.id),
                    a.offset,
                    format!("outside segment {}", b.id),
                ));
            }
        }
    }
    if requirements
        .iter()
        .any(|r| r.starts_with("online-reencrypt") && KNOWN_REQUIREMENTS.contains(&r.as_str()))
    {
        for flag in ["backup-final", "backup-previous"] {
            if !out_segments
                .iter()
                .any(|s| s.id >= regular && s.flags.iter().any(|f| f == flag))
            {
                return Err(cx.err(
                    "segments.flags",
                    "",
                    format!("no {flag} segment"),
                    "both backup segments during a reencryption",
                ));
            }
        }
    }

    // hdr_validate_keyslots (generic part)
    let mut out_keyslots = Vec::new();
    for (k, ks) in &keyslots.0 {
        let id = cx.id(k, "keyslots", KEYSLOTS_MAX)?;
        let obj = format!("keyslot {id}");
        let kind = cx.string(&ks.kind, "keyslots.type", &obj)?.to_string();
        let key_size = cx.uint32(&ks.key_size, "keyslots.key_size", &obj)?;
        let priority = match &ks.priority {
            None => 1,
            Some(Value::Number(n)) => n.as_i64().unwrap_or(i64::MAX),
            Some(x) => return Err(cx.err("keyslots.priority", &obj, short(x), "a JSON integer")),
        };
        out_keyslots.push(Keyslot {
            id,
            kind,
            key_size,
            priority,
            luks2: None,
            area_offset: 0,
            area_size: 0,
        });
    }

    // hdr_validate_config
    let json_size = cx.num_str(&config.json_size, "config.json_size", "")?;
    let keyslots_size = cx.num_str(&config.keyslots_size, "config.keyslots_size", "")?;
    let metadata_size = json_size.saturating_add(BIN_LEN);
    if !METADATA_SIZES.contains(&metadata_size) {
        return Err(cx.err(
            "config.json_size",
            "",
            json_size,
            "a header size of 16 KiB, 32 KiB, ... 4 MiB less 4096",
        ));
    }
    if keyslots_size % 4096 != 0 || keyslots_size > KEYSLOTS_SIZE_MAX {
        return Err(cx.err(
            "config.keyslots_size",
            "",
            keyslots_size,
            format!("a multiple of 4096 up to {KEYSLOTS_SIZE_MAX}"),
        ));
    }
    let min_offset = out_segments
        .iter()
        .filter(|s| !s.is_backup())
        .map(|s| s.offset)
        .min()
        .unwrap_or(u64::MAX);
    if min_offset != 0
        && (min_offset < keyslots_size || min_offset - keyslots_size < 2 * metadata_size)
    {
        return Err(cx.err(
            "config.keyslots_size",
            "",
            keyslots_size,
            format!(
                "at most {} (data offset {min_offset} less both metadata copies)",
                min_offset.saturating_sub(2 * metadata_size)
            ),
        ));
    }
    let flags = match &config.flags {
        Some(f) => cx.strings(f, "config.flags", "")?,
        None => Vec::new(),
    };
    let config = Config {
        json_size,
        keyslots_size,
        flags,
        requirements,
    };

    // hdr_validate_areas
    let end = config.hdr_and_areas_size();
    for ((_, ks), out) in keyslots.0.iter().zip(out_keyslots.iter_mut()) {
        let obj = format!("keyslot {}", out.id);
        let area = ks
            .area
            .as_ref()
            .ok_or_else(|| cx.missing("keyslots.area", &obj, "an object"))?;
        cx.string(&area.kind, "keyslots.area.type", &obj)?;
        out.area_offset = cx.num_str(&area.offset, "keyslots.area.offset", &obj)?;
        out.area_size = cx.num_str(&area.size, "keyslots.area.size", &obj)?;
    }
    for a in &out_keyslots {
        let obj = format!("keyslot {}", a.id);
        if a.area_offset < 2 * metadata_size {
            return Err(cx.err(
                "keyslots.area.offset",
                &obj,
                a.area_offset,
                format!(
                    "at least {} (after both metadata copies)",
                    2 * metadata_size
                ),
            ));
        }
        if a.area_size == 0 {
            return Err(cx.err("keyslots.area.size", &obj, 0, "more than 0"));
        }
        match a.area_offset.checked_add(a.area_size) {
            Some(e) if e <= end => {}
            _ => {
                return Err(cx.err(
                    "keyslots.area.size",
                    &obj,
                    a.area_size,
                    format!("an area ending by {end} (end of the keyslots area)"),
                ))
            }
        }
        for b in out_keyslots.iter().filter(|b| b.id != a.id) {
            if a.area_offset >= b.area_offset && a.area_offset < b.area_offset + b.area_size {
                return Err(cx.err(
                    "keyslots.area.offset",
                    &obj,
                    a.area_offset,
                    format!("outside keyslot {}'s area", b.id),
                ));
            }
        }
    }

    // hdr_validate_json_size
    if json_size != hdr_size - BIN_LEN {
        return Err(cx.err("config.json_size", "", json_size, hdr_size - BIN_LEN));
    }
    if text_len > json_size {
        return Err(cx.err(
            "JSON",
            "",
            format!("{text_len} bytes of text"),
            format!("at most json_size {json_size}"),
        ));
    }

    // LUKS2_keyslots_validate: the luks2 handler's fields, one digest per luks2 keyslot, and
    // the reencrypt keyslot's rules.
    let mut reencrypt = 0;
    for ((_, ks), out) in keyslots.0.iter().zip(out_keyslots.iter_mut()) {
        let obj = format!("keyslot {}", out.id);
        match out.kind.as_str() {
            "luks2" => {
                out.luks2 = Some(luks2_keyslot(cx, ks, &obj)?);
                let n = out_digests
                    .iter()
                    .filter(|d| d.keyslots.contains(&out.id))
                    .count();
                if n != 1 {
                    return Err(cx.err(
                        "digests.keyslots",
                        &obj,
                        format!("in {n} digests"),
                        "in exactly one digest",
                    ));
                }
            }
            "reencrypt" => reencrypt += 1,
            _ => {}
        }
    }
    let online = config
        .requirements
        .iter()
        .any(|r| r.starts_with("online-reencrypt") && KNOWN_REQUIREMENTS.contains(&r.as_str()));
    let candidate = config.requirements.iter().any(|r| reencrypt_candidate(r));
    if (online && reencrypt == 0) || (reencrypt > 0 && !candidate) || reencrypt > 1 {
        return Err(cx.err(
            "keyslots",
            "",
            format!("{reencrypt} reencrypt keyslots"),
            if online {
                "exactly one during a reencryption"
            } else {
                "none without a reencryption requirement"
            },
        ));
    }

    Ok(Luks2Metadata {
        keyslots: out_keyslots,
        tokens: out_tokens,
        segments: out_segments,
        digests: out_digests,
        config,
    })
}

/// `luks2_keyslot_validate`.
fn luks2_keyslot(cx: &Ctx, ks: &RawKeyslot, obj: &str) -> Result<Luks2Keyslot, FormatError> {
    let kdf = ks
        .kdf
        .as_ref()
        .ok_or_else(|| cx.missing("keyslots.kdf", obj, "an object"))?;
    let af = ks
        .af
        .as_ref()
        .ok_or_else(|| cx.missing("keyslots.af", obj, "an object"))?;
    let area = ks
        .area
        .as_ref()
        .ok_or_else(|| cx.missing("keyslots.area", obj, "an object"))?;
    let kdf = match cx.string(&kdf.kind, "keyslots.kdf.type", obj)? {
        "pbkdf2" => Kdf::Pbkdf2 {
            hash: cx.string(&kdf.hash, "keyslots.kdf.hash", obj)?.to_string(),
            iterations: cx.int(&kdf.iterations, "keyslots.kdf.iterations", obj)?,
            salt: cx.string(&kdf.salt, "keyslots.kdf.salt", obj)?.to_string(),
        },
        t @ ("argon2i" | "argon2id") => Kdf::Argon2 {
            id: t == "argon2id",
            time: cx.int(&kdf.time, "keyslots.kdf.time", obj)?,
            memory: cx.int(&kdf.memory, "keyslots.kdf.memory", obj)?,
            cpus: cx.int(&kdf.cpus, "keyslots.kdf.cpus", obj)?,
            salt: cx.string(&kdf.salt, "keyslots.kdf.salt", obj)?.to_string(),
        },
        other => Kdf::Other(other.to_string()),
    };
    let af_type = cx.string(&af.kind, "keyslots.af.type", obj)?;
    if af_type != "luks1" {
        return Err(cx.err("keyslots.af.type", obj, format!("{af_type:?}"), "\"luks1\""));
    }
    let af_hash = cx.string(&af.hash, "keyslots.af.hash", obj)?.to_string();
    let af_stripes = cx.int(&af.stripes, "keyslots.af.stripes", obj)?;
    let area_type = cx.string(&area.kind, "keyslots.area.type", obj)?;
    if area_type != "raw" {
        return Err(cx.err(
            "keyslots.area.type",
            obj,
            format!("{area_type:?}"),
            "\"raw\"",
        ));
    }
    let area_encryption = cx
        .string(&area.encryption, "keyslots.area.encryption", obj)?
        .to_string();
    let area_key_size = cx.int(&area.key_size, "keyslots.area.key_size", obj)?;
    Ok(Luks2Keyslot {
        kdf,
        af_hash,
        af_stripes,
        area_encryption,
        area_key_size,
    })
}

/// `reencrypt_candidate_flag`: "online-reencrypt" or "online-reencrypt-v<digits>".
fn reencrypt_candidate(flag: &str) -> bool {
    flag == "online-reencrypt"
        || flag
            .strip_prefix("online-reencrypt-v")
            .is_some_and(|v| !v.is_empty() && v.bytes().all(|c| c.is_ascii_digit()))
}
