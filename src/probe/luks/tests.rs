//! Golden tests of the LUKS readers (formats/luks) driven as discovery drives them, over the metadata cut from volumes cryptsetup 2.6 made
//! (tests/fixtures/luks/NAME: `disk.spr`, with cryptsetup's own `luksDump` and, for LUKS2,
//! `luksDump --dump-json-metadata`; made by tests/vm/luks-fixtures.sh), and mutate-one-field
//! tests: one field of such a header changed, the exact error asserted.

use super::{read_header, ReadHeader};
use crate::error::{FormatError, ProbeError};
use crate::formats::luks::json::Kdf;
use crate::formats::luks::*;
use crate::source::sparse::SparseDev;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

fn dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/luks")
        .join(name)
}

fn names() -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/luks"))
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.path().join("disk.spr").exists())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
    v.sort();
    v
}

fn dev(name: &str) -> SparseDev {
    SparseDev::parse(&std::fs::read(dir(name).join("disk.spr")).unwrap()).unwrap()
}

fn read(d: &SparseDev) -> Result<Option<ReadHeader>, ProbeError> {
    read_header("fixture", d)
}

fn header(d: &SparseDev) -> LuksHeader {
    read(d).unwrap().unwrap().header
}

/// `luksDump` as "key: value" pairs; hex values continued on the following lines are joined,
/// and sections ("Key Slot 0: ENABLED", "  0: luks2") prefix the keys of their lines.
fn dump(name: &str) -> BTreeMap<String, String> {
    let t = std::fs::read_to_string(dir(name).join("luksDump")).unwrap();
    let mut m = BTreeMap::new();
    let (mut section, mut last) = (String::new(), String::new());
    for l in t.lines() {
        if l.trim().is_empty() {
            continue;
        }
        let is_hex_cont = (l.starts_with('\t') || l.starts_with(' '))
            && !l.contains(':')
            && l.split_whitespace()
                .all(|w| w.len() == 2 && w.bytes().all(|c| c.is_ascii_hexdigit()));
        if is_hex_cont {
            let v: &mut String = m.get_mut(&last).unwrap();
            v.push(' ');
            v.push_str(l.trim());
            continue;
        }
        if l.starts_with("Key Slot ") {
            let (k, v) = l.split_once(':').unwrap();
            section = k.trim().to_string();
            m.insert(section.clone(), v.trim().to_string());
            continue;
        }
        if l.starts_with("  ")
            && !l.starts_with("\t")
            && l.trim().split(':').next().unwrap().parse::<u32>().is_ok()
        {
            let (k, v) = l.trim().split_once(':').unwrap();
            section = format!("{}{}", section.split('/').next().unwrap_or(""), k);
            section = format!("{}/{k}", section.split('/').next().unwrap());
            m.insert(section.clone(), v.trim().to_string());
            continue;
        }
        if !l.starts_with('\t') && !l.starts_with(' ') && l.trim_end().ends_with(':') {
            section = l.trim_end().trim_end_matches(':').to_string();
            continue;
        }
        if let Some((k, v)) = l.split_once(':') {
            let key = if l.starts_with('\t') {
                format!("{section}.{}", k.trim())
            } else {
                k.trim().to_string()
            };
            last = key.clone();
            m.insert(key, v.trim().to_string());
        }
    }
    m
}

fn hexs(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn json(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir(name).join("luksDump.json")).unwrap())
        .unwrap()
}

#[test]
fn every_fixture_reads_as_cryptsetup_dumped_it() {
    let all = names();
    assert!(all.len() >= 15, "{all:?}");
    for name in &all {
        let d = dev(name);
        let r = read(&d).unwrap_or_else(|e| panic!("{name}: {e}")).unwrap();
        assert!(r.warnings.is_empty(), "{name}: {:?}", r.warnings);
        let m = dump(name);
        let g = |k: &str| {
            m.get(k)
                .unwrap_or_else(|| panic!("{name}: luksDump has no {k}: {m:?}"))
                .clone()
        };
        assert_eq!(r.header.uuid(), g("UUID"), "{name}");
        match &r.header {
            LuksHeader::V1(h) => {
                assert_eq!(g("Version"), "1");
                assert_eq!(h.cipher_name, g("Cipher name"), "{name}");
                assert_eq!(h.cipher_mode, g("Cipher mode"), "{name}");
                assert_eq!(h.hash.name(), g("Hash spec"), "{name}");
                assert_eq!(h.payload_offset.to_string(), g("Payload offset"), "{name}");
                assert_eq!((h.key_bytes * 8).to_string(), g("MK bits"), "{name}");
                assert_eq!(hexs(&h.mk_digest), g("MK digest"), "{name}");
                assert_eq!(hexs(&h.mk_digest_salt), g("MK salt"), "{name}");
                assert_eq!(
                    h.mk_digest_iterations.to_string(),
                    g("MK iterations"),
                    "{name}"
                );
                for (i, k) in h.keyslots.iter().enumerate() {
                    let s = format!("Key Slot {i}");
                    match k.state {
                        v1::SlotState::Active => {
                            assert_eq!(g(&s), "ENABLED", "{name} {s}");
                            assert_eq!(k.iterations.to_string(), g(&format!("{s}.Iterations")));
                            assert_eq!(hexs(&k.salt), g(&format!("{s}.Salt")));
                            assert_eq!(
                                k.key_material_offset.to_string(),
                                g(&format!("{s}.Key material offset"))
                            );
                            assert_eq!(k.stripes.to_string(), g(&format!("{s}.AF stripes")));
                        }
                        _ => assert_eq!(g(&s), "DISABLED", "{name} {s}"),
                    }
                }
            }
            LuksHeader::V2(h) => {
                assert_eq!(g("Version"), "2");
                assert_eq!(h.bin.seqid.to_string(), g("Epoch"), "{name}");
                assert_eq!(
                    format!("{} [bytes]", h.meta.config.metadata_size()),
                    g("Metadata area"),
                    "{name}"
                );
                assert_eq!(
                    format!("{} [bytes]", h.meta.config.keyslots_size),
                    g("Keyslots area"),
                    "{name}"
                );
                let or = |s: &str, none: &str| {
                    if s.is_empty() {
                        none.to_string()
                    } else {
                        s.to_string()
                    }
                };
                assert_eq!(or(&h.bin.label, "(no label)"), g("Label"), "{name}");
                assert_eq!(
                    or(&h.bin.subsystem, "(no subsystem)"),
                    g("Subsystem"),
                    "{name}"
                );
                assert_eq!(
                    or(&h.meta.config.flags.join(" "), "(no flags)"),
                    g("Flags"),
                    "{name}"
                );
                compare_json(name, h, &json(name));
            }
        }
    }
}

/// Our typed LUKS2 metadata against cryptsetup's `--dump-json-metadata`.
fn compare_json(name: &str, h: &v2::Luks2Header, j: &Value) {
    let m = &h.meta;
    let n = |v: &Value| -> u64 {
        v.as_str()
            .map_or_else(|| v.as_u64().unwrap(), |s| s.parse().unwrap())
    };
    let ks = j["keyslots"].as_object().unwrap();
    assert_eq!(ks.len(), m.keyslots.len(), "{name}");
    for k in &m.keyslots {
        let jk = &ks[&k.id.to_string()];
        assert_eq!(jk["type"], k.kind.as_str(), "{name}");
        assert_eq!(n(&jk["key_size"]), u64::from(k.key_size), "{name}");
        assert_eq!(jk["priority"].as_i64().unwrap_or(1), k.priority, "{name}");
        assert_eq!(n(&jk["area"]["offset"]), k.area_offset, "{name}");
        assert_eq!(n(&jk["area"]["size"]), k.area_size, "{name}");
        if let Some(l) = &k.luks2 {
            assert_eq!(jk["af"]["hash"], l.af_hash.as_str());
            assert_eq!(jk["af"]["stripes"].as_i64().unwrap(), l.af_stripes);
            assert_eq!(jk["area"]["encryption"], l.area_encryption.as_str());
            assert_eq!(jk["area"]["key_size"].as_i64().unwrap(), l.area_key_size);
            let kdf = &jk["kdf"];
            assert_eq!(kdf["type"], l.kdf.name(), "{name}");
            match &l.kdf {
                Kdf::Pbkdf2 {
                    hash,
                    iterations,
                    salt,
                } => {
                    assert_eq!(kdf["hash"], hash.as_str());
                    assert_eq!(kdf["iterations"].as_i64().unwrap(), *iterations);
                    assert_eq!(kdf["salt"], salt.as_str());
                }
                Kdf::Argon2 {
                    time,
                    memory,
                    cpus,
                    salt,
                    ..
                } => {
                    assert_eq!(kdf["time"].as_i64().unwrap(), *time);
                    assert_eq!(kdf["memory"].as_i64().unwrap(), *memory);
                    assert_eq!(kdf["cpus"].as_i64().unwrap(), *cpus);
                    assert_eq!(kdf["salt"], salt.as_str());
                }
                Kdf::Other(t) => panic!("{name}: kdf {t}"),
            }
        }
    }
    let segs = j["segments"].as_object().unwrap();
    assert_eq!(segs.len(), m.segments.len(), "{name}");
    for s in &m.segments {
        let js = &segs[&s.id.to_string()];
        assert_eq!(js["type"], s.kind.as_str());
        assert_eq!(n(&js["offset"]), s.offset);
        match s.size {
            None => assert_eq!(js["size"], "dynamic"),
            Some(z) => assert_eq!(n(&js["size"]), z),
        }
        if let Some(c) = &s.crypt {
            assert_eq!(js["encryption"], c.encryption.as_str());
            assert_eq!(n(&js["sector_size"]), u64::from(c.sector_size));
            assert_eq!(n(&js["iv_tweak"]), c.iv_tweak);
            assert_eq!(
                js["integrity"]["type"].as_str(),
                c.integrity.as_deref(),
                "{name}"
            );
        }
    }
    let ds = j["digests"].as_object().unwrap();
    assert_eq!(ds.len(), m.digests.len(), "{name}");
    for d in &m.digests {
        let jd = &ds[&d.id.to_string()];
        assert_eq!(jd["type"], d.kind.as_str());
        let ids = |v: &Value| -> Vec<u32> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap().parse().unwrap())
                .collect()
        };
        assert_eq!(ids(&jd["keyslots"]), d.keyslots, "{name}");
        assert_eq!(ids(&jd["segments"]), d.segments, "{name}");
        assert_eq!(jd["hash"].as_str(), d.hash.as_deref());
        assert_eq!(jd["iterations"].as_i64(), d.iterations);
        assert_eq!(jd["salt"].as_str(), d.salt.as_deref());
        assert_eq!(jd["digest"].as_str(), d.digest.as_deref());
    }
    let ts = j["tokens"].as_object().unwrap();
    assert_eq!(ts.len(), m.tokens.len(), "{name}");
    for t in &m.tokens {
        assert_eq!(ts[&t.id.to_string()]["type"], t.kind.as_str(), "{name}");
    }
    let c = &j["config"];
    assert_eq!(n(&c["json_size"]), m.config.json_size);
    assert_eq!(n(&c["keyslots_size"]), m.config.keyslots_size);
    let strs = |v: &Value| -> Vec<String> {
        v.as_array().map_or(vec![], |a| {
            a.iter().map(|x| x.as_str().unwrap().to_string()).collect()
        })
    };
    assert_eq!(strs(&c["flags"]), m.config.flags, "{name}");
    assert_eq!(
        strs(&c["requirements"]["mandatory"]),
        m.config.requirements,
        "{name}"
    );
}

#[test]
fn identification_matches_blkid_on_every_fixture() {
    for name in names() {
        let info = crate::probe::fs::probe_containers("fixture", &dev(&name), true)
            .unwrap()
            .unwrap();
        let t = std::fs::read_to_string(dir(&name).join("blkid")).unwrap();
        let e: BTreeMap<&str, &str> = t.lines().filter_map(|l| l.split_once('=')).collect();
        assert_eq!(Some(info.fstype), e.get("TYPE").copied(), "{name}");
        assert_eq!(info.uuid.as_deref(), e.get("UUID").copied(), "{name}");
        assert_eq!(info.label.as_deref(), e.get("LABEL").copied(), "{name}");
        assert_eq!(info.version.as_deref(), e.get("VERSION").copied(), "{name}");
    }
}

#[test]
fn what_activation_needs_and_what_is_out_of_reach() {
    let h = header(&dev("luks2-4k-flags"));
    assert_eq!(h.sector_size(), 4096);
    assert_eq!(h.cipher_spec().as_deref(), Some("aes-xts-plain64"));
    assert_eq!(h.volume_key_size(), Some(64));
    assert_eq!(h.unsupported(), None);
    let h = header(&dev("luks1-sha1-essiv"));
    assert_eq!(
        (h.version(), h.sector_size(), h.volume_key_size()),
        (1, 512, Some(32))
    );
    assert_eq!(h.cipher_spec().as_deref(), Some("aes-cbc-essiv:sha256"));
    for (name, what) in [
        ("luks2-integrity", "authenticated encryption"),
        ("luks2-reencrypt", "reencryption in progress"),
    ] {
        let e = header(&dev(name))
            .unsupported()
            .unwrap_or_else(|| panic!("{name}"));
        assert!(e.to_string().contains(what), "{name}: {e}");
        assert!(e.is_unsupported());
    }
}

// ---------------------------------------------------------------------------------------
// Mutations. LUKS1: one big-endian field of the header. LUKS2: the binary header, or the
// JSON text of both copies (replaced in place, NUL-padded) with both checksums re-sealed, so
// that the change reaches the check behind the checksum.

fn err(d: &SparseDev) -> FormatError {
    match read(d) {
        Err(ProbeError::Format { err, .. }) => err,
        other => panic!("expected a format error, got {other:?}"),
    }
}

fn be32_at(d: &mut SparseDev, off: u64, v: u32) {
    d.patch(off, &v.to_be_bytes());
}

#[test]
fn luks1_mutations() {
    let base = dev("luks1-sha256");
    let LuksHeader::V1(h) = header(&base) else {
        panic!()
    };
    let (payload, secs) = (h.payload_offset, h.keyslot_sectors());
    let off1 = h.keyslots[1].key_material_offset;
    let ks = |i: u64, f: u64| 208 + 48 * i + f;
    type Mutation = Box<dyn Fn(&mut SparseDev)>;
    let cases: Vec<(Mutation, FormatError)> = vec![
        (
            Box::new(|d| d.patch(72, b"md5\0")),
            FormatError::field(
                "luks",
                72,
                "hashSpec",
                "\"md5\"",
                "a hash cryptsetup knows (sha1, sha256, ...)",
            ),
        ),
        (
            Box::new(|d| d.patch(72, b"ripemd160\0")),
            FormatError::unsupported(
                "luks",
                72,
                "LUKS1 hashSpec ripemd160 (this program computes sha1 and sha2 only)",
            ),
        ),
        (
            Box::new(|d| be32_at(d, 108, 0)),
            FormatError::field("luks", 108, "keyBytes", "0", "1..=4096"),
        ),
        (
            Box::new(|d| be32_at(d, 108, 4097)),
            FormatError::field("luks", 108, "keyBytes", "4097", "1..=4096"),
        ),
        (
            Box::new(move |d| be32_at(d, ks(3, 44), 3999)),
            FormatError::field("luks", ks(3, 44), "stripes", "3999 (keyslot 3)", "4000"),
        ),
        (
            Box::new(move |d| be32_at(d, ks(0, 40), 1)),
            FormatError::field(
                "luks",
                ks(0, 40),
                "keyMaterialOffset",
                "1 (keyslot 0)",
                "at least 2 (after the header)",
            ),
        ),
        (
            Box::new(move |d| be32_at(d, ks(7, 40), payload - 10)),
            FormatError::field(
                "luks",
                ks(7, 40),
                "keyMaterialOffset",
                format!("{} + {secs} sectors (keyslot 7)", payload - 10),
                format!("ending at or before payloadOffset {payload}"),
            ),
        ),
        (
            Box::new(move |d| be32_at(d, ks(2, 40), off1 + 1)),
            FormatError::field(
                "luks",
                ks(2, 40),
                "keyMaterialOffset",
                format!("{} (keyslot 2 overlaps keyslot 1)", off1 + 1),
                format!("at least {}", u64::from(off1) + secs),
            ),
        ),
    ];
    for (i, (mutate, want)) in cases.into_iter().enumerate() {
        let mut d = base.clone();
        mutate(&mut d);
        assert_eq!(err(&d), want, "case {i}");
    }
    // Another version: not LUKS1, and LUKS2 checks then refuse it.
    let mut d = base.clone();
    d.patch(6, &3u16.to_be_bytes());
    assert_eq!(
        err(&d),
        FormatError::unsupported("luks", 6, "LUKS header version 3")
    );
    // The keyslot material must fit the device (LUKS_check_device_size).
    let small = SparseDev::from_image(&base.get(0, 4096));
    let end = (u64::from(h.keyslots[7].key_material_offset) + h.keyslot_sectors()) * 512;
    assert_eq!(
        err(&small),
        FormatError::truncated("luks", 0, "keyslot material", end, 4096)
    );
    // Not LUKS at all.
    let mut d = base.clone();
    d.patch(0, b"XUKS");
    assert!(read(&d).unwrap().is_none());
}

/// The JSON text of the copy at `at` (up to the first NUL) and its area length.
fn json_text(d: &SparseDev, at: u64) -> (String, usize) {
    let hs = u64::from_be_bytes(d.get(at + 8, 8).try_into().unwrap());
    let area = d.get(at + 4096, (hs - 4096) as usize);
    let n = area.iter().position(|&c| c == 0).unwrap();
    (String::from_utf8(area[..n].to_vec()).unwrap(), area.len())
}

/// Re-seals the checksum of the copy at `at` (the test's own sha256 over the bytes, as
/// cryptsetup's hdr_checksum_calculate).
fn reseal(d: &mut SparseDev, at: u64) {
    let hs = u64::from_be_bytes(d.get(at + 8, 8).try_into().unwrap());
    let raw: [u8; 4096] = d.get(at, 4096).try_into().unwrap();
    let area = d.get(at + 4096, (hs - 4096) as usize);
    let sum = v2::checksum(Hash::Sha256, &raw, &area);
    d.patch(at + 448, &sum);
}

/// Replaces `from` by `to` in the JSON of both copies and re-seals them.
fn edit_json(d: &mut SparseDev, from: &str, to: &str) {
    let hs = u64::from_be_bytes(d.get(8, 8).try_into().unwrap());
    for at in [0, hs] {
        let (t, len) = json_text(d, at);
        assert!(t.contains(from), "{from:?} not in the JSON");
        let mut n = t.replacen(from, to, 1).into_bytes();
        n.resize(len, 0);
        d.patch(at + 4096, &n);
        reseal(d, at);
    }
}

/// Offset of the JSON area of the primary copy.
const JSON_AT: u64 = 4096;

#[test]
fn luks2_binary_header_mutations_and_copy_choice() {
    let base = dev("luks2-sha256");
    let LuksHeader::V2(h) = header(&base) else {
        panic!()
    };
    let hs = h.bin.hdr_size;
    // A damaged primary: the secondary is used and the primary's damage is the warning.
    let mut d = base.clone();
    d.patch(448, &[0xff]);
    let r = read(&d).unwrap().unwrap();
    let LuksHeader::V2(used) = &r.header else {
        panic!()
    };
    assert_eq!(used.bin.copy, v2::Copy::Secondary);
    assert_eq!(r.warnings.len(), 1);
    assert!(matches!(
        &r.warnings[0].kind,
        crate::error::ErrorKind::Field { field: "csum", .. }
    ));
    assert_eq!(r.warnings[0].offset, 448);
    // Damaged secondary: the primary, warning at the secondary's checksum.
    let mut d = base.clone();
    d.patch(hs + 448, &[0xff]);
    let r = read(&d).unwrap().unwrap();
    assert_eq!(r.warnings[0].offset, hs + 448);
    // Both damaged: the primary's error.
    d.patch(448, &[0xff]);
    assert!(matches!(
        err(&d).kind,
        crate::error::ErrorKind::Field { field: "csum", .. }
    ));
    // A newer secondary wins; the older primary is the warning.
    let mut d = base.clone();
    d.patch(hs + 16, &(h.bin.seqid + 1).to_be_bytes());
    reseal(&mut d, hs);
    let r = read(&d).unwrap().unwrap();
    let LuksHeader::V2(used) = &r.header else {
        panic!()
    };
    assert_eq!(
        (used.bin.copy, used.bin.seqid),
        (v2::Copy::Secondary, h.bin.seqid + 1)
    );
    assert_eq!(
        r.warnings,
        vec![FormatError::field(
            "luks",
            16,
            "seqid",
            format!("{} (primary copy is older)", h.bin.seqid),
            h.bin.seqid + 1
        )]
    );
    // Sanity checks before the checksum, each on both copies (else the other copy is used).
    // A version other than 1 and 2 in the primary: cryptsetup reads no further.
    let mut d = base.clone();
    d.patch(6, &3u16.to_be_bytes());
    assert_eq!(
        err(&d),
        FormatError::unsupported("luks", 6, "LUKS header version 3")
    );
    // The secondary copy's version.
    let mut d = base.clone();
    d.patch(hs + 6, &3u16.to_be_bytes());
    assert_eq!(
        read(&d).unwrap().unwrap().warnings,
        vec![FormatError::field("luks", hs + 6, "version", "3", "2")]
    );
    let cases: Vec<(u64, Vec<u8>, FormatError)> = vec![
        (
            256,
            512u64.to_be_bytes().to_vec(),
            FormatError::field("luks", 256, "hdr_offset", "512", "0"),
        ),
        (
            8,
            0x1000u64.to_be_bytes().to_vec(),
            FormatError::field("luks", 8, "hdr_size", "4096", "16384..=4194304"),
        ),
        (
            72,
            b"md5\0".to_vec(),
            FormatError::field(
                "luks",
                72,
                "checksum_alg",
                "\"md5\"",
                "a hash cryptsetup knows (sha256, ...)",
            ),
        ),
        (
            72,
            b"sha3-256\0".to_vec(),
            FormatError::unsupported("luks", 72, "LUKS2 checksum_alg sha3-256"),
        ),
    ];
    for (off, bytes, want) in cases {
        let mut d = base.clone();
        d.patch(off, &bytes);
        let p = read(&d).unwrap().unwrap();
        assert_eq!(p.warnings, vec![want.clone()], "primary at {off}");
        // The same on the secondary too: nothing valid is left. The secondary is then looked
        // for at every known offset (the primary is not sane) or at hdr_size (it is).
        d.patch(hs + off, &bytes);
        let e = err(&d);
        if off == 256 || off == 8 {
            assert_eq!(e, want, "both at {off}");
        } else {
            assert_eq!(e.offset, off, "both at {off}: {e}");
        }
    }
    // A secondary whose hdr_size does not say where it is.
    let mut d = base.clone();
    d.patch(0, b"XXXX");
    d.patch(hs + 8, &0x8000u64.to_be_bytes());
    assert_eq!(
        err(&d),
        FormatError::field(
            "luks",
            hs + 8,
            "hdr_size",
            "32768",
            format!("{hs} (where this secondary copy is)")
        )
    );
    // The device must hold both copies and the keyslots area.
    let small = SparseDev::from_image(&base.get(0, (2 * hs) as usize));
    assert_eq!(
        err(&small),
        FormatError::truncated(
            "luks",
            0,
            "LUKS2 header and keyslot areas",
            h.meta.config.hdr_and_areas_size(),
            2 * hs
        )
    );
}

#[test]
fn luks2_json_mutations() {
    let base = dev("luks2-multi");
    let f = |field: &'static str, found: &str, expected: &str| {
        FormatError::field("luks", JSON_AT, field, found, expected)
    };
    let (t, _) = json_text(&base, 0);
    let cases: Vec<(&str, &str, FormatError)> = vec![
        ("\"key_size\":32,\"af\"", "\"key_size\":\"32\",\"af\"", f("keyslots.key_size", "\"32\" (keyslot 0)", "a JSON integer")),
        ("\"key_size\":32,\"af\"", "\"key_size\":-1,\"af\"", f("keyslots.key_size", "-1 (keyslot 0)", "0..=4294967295")),
        ("\"type\":\"luks2\"", "\"type\":\"\"", f("keyslots.type", "\"\" (keyslot 0)", "a non-empty string")),
        ("\"stripes\":4000", "\"stripes\":\"4000\"", f("keyslots.af.stripes", "\"4000\" (keyslot 0)", "a JSON integer")),
        ("\"type\":\"luks1\"", "\"type\":\"luks9\"", f("keyslots.af.type", "\"luks9\" (keyslot 0)", "\"luks1\"")),
        ("\"type\":\"raw\"", "\"type\":\"rawx\"", f("keyslots.area.type", "\"rawx\" (keyslot 0)", "\"raw\"")),
        ("\"iterations\":1000,\"salt\"", "\"iterations\":1e3,\"salt\"", f("keyslots.kdf.iterations", "1000.0 (keyslot 0)", "a JSON integer")),
        ("\"offset\":\"32768\"", "\"offset\":\"3276x\"", f("keyslots.area.offset", "\"3276x\" (keyslot 0)", "a decimal string of a 64-bit number")),
        ("\"offset\":\"32768\"", "\"offset\":\"16384\"", f("keyslots.area.offset", "16384 (keyslot 0)", "at least 32768 (after both metadata copies)")),
        ("\"size\":\"131072\"", "\"size\":\"0\"", f("keyslots.area.size", "0 (keyslot 0)", "more than 0")),
        ("\"size\":\"131072\"", "\"size\":\"99999999\"", f("keyslots.area.size", "99999999 (keyslot 0)", "an area ending by 1081344 (end of the keyslots area)")),
        ("\"0\":{\"type\":\"luks2\"", "\"40\":{\"type\":\"luks2\"", f("keyslots", "\"40\"", "a decimal id 0..=31")),
        ("\"0\":{\"type\":\"luks2\"", "\"00\":{\"type\":\"luks2\"", f("keyslots", "\"00\"", "a decimal id 0..=31")),
        ("\"sector_size\":512", "\"sector_size\":500", f("segments.sector_size", "500 (segment 0)", "a non-zero multiple of 512")),
        ("\"iv_tweak\":\"0\"", "\"iv_tweak\":\"-0\"", f("segments.iv_tweak", "\"-0\" (segment 0)", "a decimal string of a 64-bit number")),
        ("\"size\":\"dynamic\"", "\"size\":\"0\"", f("segments.size", "\"0\" (segment 0)", "a non-zero size or \"dynamic\"")),
        ("\"offset\":\"2097152\"", "\"offset\":\"2097153\"", f("segments.offset", "2097153 (segment 0)", "a multiple of 512")),
        ("\"json_size\":\"12288\"", "\"json_size\":\"12287\"", f("config.json_size", "12287", "a header size of 16 KiB, 32 KiB, ... 4 MiB less 4096")),
        ("\"keyslots_size\":\"1048576\"", "\"keyslots_size\":\"1048577\"", f("config.keyslots_size", "1048577", "a multiple of 4096 up to 134217728")),
        ("\"keyslots_size\":\"1048576\"", "\"keyslots_size\":\"4194304\"", f("config.keyslots_size", "4194304", "at most 2064384 (data offset 2097152 less both metadata copies)")),
        ("\"segments\":[\"0\"]", "\"segments\":[\"1\"]", f("digests.segments", "\"1\" (digest 0)", "the id of an existing object")),
        ("\"keyslots\":[\"0\",\"1\",\"2\"]", "\"keyslots\":[\"0\",\"1\"]", f("digests.keyslots", "in 0 digests (keyslot 2)", "in exactly one digest")),
        ("\"config\":{", "\"config\":{\"requirements\":{\"mandatory\":[\"online-reencrypt\",\"online-reencrypt-v2\"]},", f("config.requirements.mandatory", "2 online-reencrypt flags", "at most one")),
        ("\"config\":{", "\"config\":{\"flags\":[1],", f("config.flags", "1", "an array of strings")),
    ];
    for (from, to, want) in cases {
        assert!(t.contains(from), "{from}");
        let mut d = base.clone();
        edit_json(&mut d, from, to);
        assert_eq!(err(&d), want, "{from} -> {to}");
    }
    // Shapes serde refuses: the byte where it stopped.
    let mut d = base.clone();
    edit_json(&mut d, "\"af\":{", "\"af\":\"x\",\"afx\":{");
    let e = err(&d);
    assert_eq!(
        e,
        FormatError::field(
            "luks",
            JSON_AT + t.find("\"af\":{").unwrap() as u64 + 7,
            "JSON",
            "invalid type: string \"x\", expected a keyslot af object",
            "the LUKS2 JSON metadata"
        )
    );
    let mut d = base.clone();
    edit_json(&mut d, "\"keyslots\":{", "\"keyslots\":{\"9\":{},\"9\":{},");
    assert!(err(&d).to_string().contains("duplicate key \"9\""));
    // Text after the object, or a first byte other than '{'.
    let mut d = base.clone();
    edit_json(&mut d, t.as_str(), &format!("{t} "));
    assert_eq!(
        err(&d),
        FormatError::field(
            "luks",
            JSON_AT + t.len() as u64,
            "JSON",
            "text after the top-level object",
            "'}' followed by NUL"
        )
    );
    let mut d = base.clone();
    edit_json(&mut d, t.as_str(), &format!(" {}", &t[..t.len()]));
    assert_eq!(err(&d), f("JSON", "first byte 0x20", "'{'"));
    // Unknown fields are ignored, as cryptsetup ignores them.
    let mut d = base.clone();
    edit_json(
        &mut d,
        "\"config\":{",
        "\"config\":{\"future\":{\"x\":[1,2]},",
    );
    assert!(read(&d).is_ok());
    // Out of reach, but valid: read, and reported by unsupported().
    for (from, to, what) in [
        (
            "\"config\":{",
            "\"config\":{\"requirements\":{\"mandatory\":[\"future-feature\"]},",
            "unknown to cryptsetup 2.6",
        ),
        (
            "\"config\":{",
            "\"config\":{\"requirements\":{\"mandatory\":[\"opal\"]},",
            "OPAL",
        ),
        ("\"type\":\"crypt\"", "\"type\":\"hw-opal-crypt\"", "OPAL"),
        (
            "\"type\":\"crypt\"",
            "\"type\":\"linear\"",
            "segment type \"linear\"",
        ),
    ] {
        let mut d = base.clone();
        edit_json(&mut d, from, to);
        let e = header(&d).unsupported().unwrap_or_else(|| panic!("{to}"));
        assert!(e.to_string().contains(what), "{to}: {e}");
    }
}
