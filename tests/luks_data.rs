//! Unlocks every LUKS volume made by `tests/vm/luks-fixtures.sh` (cryptsetup 2.6 in a VM) and
//! checks, per volume, against what cryptsetup itself reported there:
//! * the passphrase opens exactly the volume key `cryptsetup luksDump --dump-volume-key`
//!   printed, through the keyslot `cryptsetup open -v` named ("Key slot N unlocked");
//! * a wrong passphrase is refused (as "wrong passphrase", or for a volume whose only
//!   keyslot belongs to a token, as token-only);
//! * our crypt table, with the key, equals `dmsetup table --showkeys` after cryptsetup opened
//!   the same disk with the same options (the disk's MAJ:MIN recorded there); without the key
//!   it equals `dmsetup table`; the DM UUID equals `dmsetup info`'s;
//! * the data area decrypted in user space (the reader discovery uses on images) hashes as the
//!   kernel's mapping did (`sha256sum /dev/mapper/NAME` after `cryptsetup open`);
//! * volumes cryptsetup opens with more than dm-crypt (integrity, reencryption) are reported
//!   unsupported, before any passphrase is asked for.
//!
//! Needs the images: run `make luks-fixtures` first (root, qemu; a few minutes). This test
//! fails, on purpose, when they are absent. `LUKS_FIXTURES_DIR` overrides the location
//! (default `.cache/luks-fixtures`).

use evms_activate::formats::luks::LuksHeader;
use evms_activate::plan::crypt::{crypt_table, dm_uuid, CryptOptions, KeySource};
use evms_activate::plan::DevRef;
use evms_activate::probe::luks::read_header;
use evms_activate::source::sysfs::DevNo;
use evms_activate::source::FileDev;
use evms_activate::source::ReadAt;
use evms_activate::unlock::reader::CryptReader;
use evms_activate::unlock::{self, UnlockError};
use std::path::{Path, PathBuf};

fn cache() -> PathBuf {
    let dir = std::env::var_os("LUKS_FIXTURES_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".cache/luks-fixtures"));
    assert!(
        dir.join("ready").exists(),
        "LUKS fixture volumes missing in {}: run `make luks-fixtures` (tests/vm/luks-fixtures.sh; \
         root and qemu, a few minutes) before this test",
        dir.display()
    );
    dir
}

fn text(p: &Path) -> String {
    std::fs::read_to_string(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .trim()
        .to_string()
}

/// The "MK dump:" hex bytes of `cryptsetup luksDump --dump-volume-key`.
fn volume_key(p: &Path) -> String {
    let t = text(p);
    let start = t
        .find("MK dump:")
        .unwrap_or_else(|| panic!("{}: no MK dump", p.display()));
    t[start + "MK dump:".len()..]
        .split_whitespace()
        .take_while(|w| w.len() == 2 && w.bytes().all(|c| c.is_ascii_hexdigit()))
        .collect()
}

const MEM: u64 = 1 << 30;

#[test]
fn every_volume_unlocks_and_activates_as_cryptsetup() {
    let dir = cache();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("disk.img").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(
        names.len() >= 10,
        "only {} volumes in {}",
        names.len(),
        dir.display()
    );
    let mut failures = Vec::new();
    for name in &names {
        if let Err(e) = check(&dir.join(name), name) {
            failures.push(format!("{name}: {e}"));
        } else {
            eprintln!("ok {name}");
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} volumes:\n{}",
        failures.len(),
        names.len(),
        failures.join("\n")
    );
}

fn check(d: &Path, name: &str) -> Result<(), String> {
    let kind = text(&d.join("kind"));
    let dev = FileDev::open(&d.join("disk.img"), 512).map_err(|e| e.to_string())?;
    let read = read_header(name, &dev)
        .map_err(|e| format!("header: {e}"))?
        .ok_or("no LUKS header found")?;
    if !read.warnings.is_empty() {
        return Err(format!(
            "warnings on a pristine header: {:?}",
            read.warnings
        ));
    }
    let hdr = &read.header;
    let pass = std::fs::read(d.join("pass")).map_err(|e| e.to_string())?;
    let wrong = std::fs::read(d.join("wrong")).map_err(|e| e.to_string())?;
    if kind == "unsupported" {
        let u = hdr.unsupported().ok_or("not reported unsupported")?;
        eprintln!("  {name}: {u}");
        return match unlock::open(hdr, &dev, &pass, MEM) {
            Err(UnlockError::Unsupported(_)) => Ok(()),
            other => Err(format!("unlock of an unsupported volume: {other:?}")),
        };
    }
    if let Some(u) = hdr.unsupported() {
        return Err(format!("reported unsupported: {u}"));
    }
    // The passphrase: the key cryptsetup dumped, through the keyslot it opened.
    let got = unlock::open(hdr, &dev, &pass, MEM).map_err(|e| format!("unlock: {e}"))?;
    let want = volume_key(&d.join("volume-key"));
    if *got.key.to_hex() != want {
        return Err(format!(
            "volume key differs from luksDump --dump-volume-key (keyslot {})",
            got.keyslot
        ));
    }
    let slot: u32 = text(&d.join("slot"))
        .parse()
        .map_err(|_| "no slot recorded")?;
    if got.keyslot != slot {
        return Err(format!(
            "opened keyslot {}, cryptsetup opened {slot}",
            got.keyslot
        ));
    }
    // A wrong passphrase.
    match (unlock::open(hdr, &dev, &wrong, MEM), kind.as_str()) {
        (Err(UnlockError::WrongPassphrase { .. }), "open") => {}
        (Err(UnlockError::TokenOnly { .. }), "token-only") => {}
        (other, _) => return Err(format!("wrong passphrase gave {other:?}")),
    }
    // The table cryptsetup loaded.
    let devno = DevNo::parse(&text(&d.join("devno"))).ok_or("bad devno")?;
    let sectors: u64 = text(&d.join("sectors"))
        .parse()
        .map_err(|_| "bad sectors")?;
    let mut opts = CryptOptions::default();
    for w in text(&d.join("options")).split_whitespace() {
        assert!(opts.apply(w), "{name}: option {w}");
    }
    let hex = got.key.to_hex();
    let key = match hdr {
        LuksHeader::V1(_) => KeySource::Hex(&hex),
        LuksHeader::V2(_) => KeySource::Keyring,
    };
    let dev_ref = DevRef::Kernel {
        devno,
        name: "disk".into(),
    };
    let line = crypt_table(hdr, dev_ref, sectors, key, &opts).map_err(|e| format!("table: {e}"))?;
    let shown = format!(
        "{} {} {} {}",
        line.start,
        line.len,
        line.target.type_name(),
        line.target.kernel_params()
    );
    if shown != text(&d.join("table")) {
        return Err(format!(
            "table differs:\n  ours:   {}\n  oracle: {}",
            line,
            text(&d.join("table-hidden"))
        ));
    }
    if line.to_string() != text(&d.join("table-hidden")) {
        return Err(format!(
            "hidden table differs:\n  ours:   {line}\n  oracle: {}",
            text(&d.join("table-hidden"))
        ));
    }
    // The decrypted data area read in user space equals what the kernel's mapping read.
    if let Ok(want) = std::fs::read_to_string(d.join("data.sha256")) {
        let src: evms_activate::source::layout::Src = std::sync::Arc::new(
            FileDev::open(&d.join("disk.img"), 512).map_err(|e| e.to_string())?,
        );
        let r = CryptReader::new(
            src,
            hdr.data_offset_sectors() * 512,
            line.len * 512,
            hdr.sector_size(),
            &hdr.cipher_spec().ok_or("no cipher")?,
            std::sync::Arc::new(got),
        )
        .map_err(|e| format!("reader: {e}"))?;
        let mut all = vec![0u8; (line.len * 512) as usize];
        r.read_exact_at(0, &mut all).map_err(|e| e.to_string())?;
        let h: String = Hash::Sha256
            .digest(&[&all])
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        if h != want.trim() {
            return Err(format!(
                "decrypted data sha256 {h}, the kernel's mapping {}",
                want.trim()
            ));
        }
        // Reads at odd offsets and lengths agree with the whole.
        for (off, len) in [(1u64, 700usize), (4095, 9000), (line.len * 512 - 513, 513)] {
            let mut b = vec![0u8; len];
            r.read_exact_at(off, &mut b).map_err(|e| e.to_string())?;
            if b[..] != all[off as usize..off as usize + len] {
                return Err(format!("read of {len} bytes at {off} differs"));
            }
        }
    } else {
        return Err("no data.sha256 (re-run make luks-fixtures)".into());
    }
    let info = text(&d.join("info"));
    let (mapped, uuid) = info.split_once(':').ok_or("bad info")?;
    let ours = dm_uuid(hdr, mapped).map_err(|e| e.to_string())?;
    if ours != uuid {
        return Err(format!("DM UUID {ours}, cryptsetup {uuid}"));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Fields read only when a keyslot is opened: one changed in a copy of a whole volume, the
// exact outcome asserted. LUKS2 JSON edits go into both copies, checksums re-sealed.

use evms_activate::formats::luks::{v2, Hash};
use evms_activate::source::MemDev;
use evms_activate::unlock::{SkipReason, Skipped};

fn image(name: &str) -> Vec<u8> {
    std::fs::read(cache().join(name).join("disk.img")).unwrap()
}

fn pass(name: &str) -> Vec<u8> {
    std::fs::read(cache().join(name).join("pass")).unwrap()
}

fn open(img: Vec<u8>, pass: &[u8], mem: u64) -> Result<u32, UnlockError> {
    let dev = MemDev::new(img);
    let h = read_header("m", &dev).unwrap().unwrap();
    unlock::open(&h.header, &dev, pass, mem).map(|u| u.keyslot)
}

fn skipped(r: Result<u32, UnlockError>) -> Vec<Skipped> {
    match r {
        Err(UnlockError::NoUsableKeyslot { skipped }) => skipped,
        other => panic!("expected no usable keyslot, got {other:?}"),
    }
}

fn edit_json(img: &mut [u8], from: &str, to: &str) {
    let hs = u64::from_be_bytes(img[8..16].try_into().unwrap()) as usize;
    for at in [0, hs] {
        let area = &mut img[at + 4096..at + hs];
        let n = area.iter().position(|&c| c == 0).unwrap();
        let t = String::from_utf8(area[..n].to_vec()).unwrap();
        assert!(t.contains(from), "{from:?}");
        let mut new = t.replacen(from, to, 1).into_bytes();
        new.resize(area.len(), 0);
        area.copy_from_slice(&new);
        let raw: [u8; 4096] = img[at..at + 4096].try_into().unwrap();
        let sum = v2::checksum(Hash::Sha256, &raw, &img[at + 4096..at + hs]);
        img[at + 448..at + 448 + 32].copy_from_slice(&sum);
    }
}

#[test]
fn luks1_keyslot_fields() {
    let name = "luks1-sha256";
    let (img, p) = (image(name), pass(name));
    assert_eq!(open(img.clone(), &p, MEM).unwrap(), 0);
    // passwordIterations 0: cryptsetup fails the KDF; here the keyslot is skipped, named.
    let mut m = img.clone();
    m[208 + 4..208 + 8].copy_from_slice(&0u32.to_be_bytes());
    assert_eq!(
        skipped(open(m, &p, MEM)),
        [Skipped {
            keyslot: 0,
            reason: SkipReason::Broken("pbkdf2 iterations: 0".into())
        }]
    );
    // A salt byte, a key material byte, the digest: the passphrase no longer opens it.
    for off in [208 + 8, 4096 + 100, 112] {
        let mut m = img.clone();
        m[off] ^= 1;
        assert!(
            matches!(open(m, &p, MEM), Err(UnlockError::WrongPassphrase { ref tried, .. }) if tried == &[0]),
            "{off}"
        );
    }
    // A keyslot state neither enabled nor disabled.
    let mut m = img.clone();
    m[208..212].copy_from_slice(&0x1234u32.to_be_bytes());
    assert_eq!(
        skipped(open(m, &p, MEM)),
        [Skipped {
            keyslot: 0,
            reason: SkipReason::InvalidState(0x1234)
        }]
    );
    // A cipher this program lacks.
    let mut m = img.clone();
    m[8..40].copy_from_slice(&[0; 32]);
    m[8..16].copy_from_slice(b"camellia");
    let s = skipped(open(m, &p, MEM));
    assert!(
        matches!(&s[0].reason, SkipReason::Unsupported(e) if e.contains("cipher camellia")),
        "{s:?}"
    );
}

#[test]
fn luks2_keyslot_fields() {
    let name = "luks2-argon2id";
    let (img, p) = (image(name), pass(name));
    assert_eq!(open(img.clone(), &p, MEM).unwrap(), 0);
    // Argon2 memory beyond what is available: refused before allocating.
    assert_eq!(
        skipped(open(img.clone(), &p, 1 << 20)),
        [Skipped {
            keyslot: 0,
            reason: SkipReason::Memory {
                needed: 8192 << 10,
                available: 1 << 20
            }
        }]
    );
    let mut m = img.clone();
    edit_json(&mut m, "\"memory\":8192", "\"memory\":4194304");
    assert_eq!(
        skipped(open(m, &p, MEM)),
        [Skipped {
            keyslot: 0,
            reason: SkipReason::Memory {
                needed: 4 << 30,
                available: MEM
            }
        }]
    );
    let cases = [
        (
            "\"cpus\":1",
            "\"cpus\":0",
            SkipReason::Broken("kdf.cpus: 0".into()),
        ),
        (
            "\"salt\":\"",
            "\"salt\":\"!",
            SkipReason::Broken("kdf.salt: not 32 bytes of base64".into()),
        ),
        (
            "\"hash\":\"sha256\"",
            "\"hash\":\"whirlpool\"",
            SkipReason::Unsupported("af.hash whirlpool".into()),
        ),
        (
            "\"type\":\"argon2id\"",
            "\"type\":\"scrypt\"",
            SkipReason::Unsupported("kdf type \"scrypt\"".into()),
        ),
    ];
    for (from, to, want) in cases {
        let mut m = img.clone();
        edit_json(&mut m, from, to);
        assert_eq!(
            skipped(open(m, &p, MEM)),
            [Skipped {
                keyslot: 0,
                reason: want
            }],
            "{to}"
        );
    }
    // Priority "ignore": never tried.
    let mut m = img.clone();
    edit_json(
        &mut m,
        "\"type\":\"luks2\",",
        "\"type\":\"luks2\",\"priority\":0,",
    );
    assert_eq!(
        skipped(open(m, &p, MEM)),
        [Skipped {
            keyslot: 0,
            reason: SkipReason::Priority(0)
        }]
    );
    // The digest's iterations (a digit put in front): the key no longer verifies.
    let name = "luks2-sha256";
    let (img, p) = (image(name), pass(name));
    let mut m = img.clone();
    let digest = "\"segments\":[\"0\"],\"hash\":\"sha256\",\"iterations\":";
    edit_json(&mut m, digest, &format!("{digest}1"));
    assert!(matches!(
        open(m, &p, MEM),
        Err(UnlockError::WrongPassphrase { .. })
    ));
    // An area cipher this program lacks.
    let mut m = img.clone();
    edit_json(
        &mut m,
        "\"encryption\":\"aes-xts-plain64\",\"key_size\"",
        "\"encryption\":\"camellia-xts-plain64\",\"key_size\"",
    );
    let s = skipped(open(m, &p, MEM));
    assert!(
        matches!(&s[0].reason, SkipReason::Unsupported(e) if e.contains("cipher camellia")),
        "{s:?}"
    );
}

/// The run's key store: a wrong passphrase is remembered per volume (its KDF is not run
/// again), one that opened a volume is offered first for the next, a key is found again by
/// its header.
#[test]
fn keys_are_kept_and_passphrases_reused() {
    use evms_activate::unlock::{Keys, Passphrase};
    let keys = Keys::new(MEM);
    let vol = |name: &str| {
        let d = cache().join(name);
        let dev = FileDev::open(&d.join("disk.img"), 512).unwrap();
        let h = read_header(name, &dev).unwrap().unwrap().header;
        (h, dev, Passphrase::new(pass(name)))
    };
    let (h1, d1, p1) = vol("luks1-sha256");
    let (h2, d2, p2) = vol("luks2-argon2id");
    let wrong = Passphrase::new(b"nope".to_vec());
    assert!(matches!(
        keys.open(&h1, &d1, &wrong, None),
        Err(UnlockError::WrongPassphrase { .. })
    ));
    assert!(keys.known_wrong(&h1, &wrong));
    assert!(!keys.known_wrong(&h2, &wrong));
    let k = keys.open(&h1, &d1, &p1, None).unwrap();
    assert!(std::sync::Arc::ptr_eq(&k, &keys.get(&h1).unwrap()));
    // key-slot= limits the search: keyslot 1 is empty.
    assert!(keys.open(&h2, &d2, &p2, Some(1)).is_err());
    keys.open(&h2, &d2, &p2, Some(0)).unwrap();
    assert_eq!(keys.reusable(), vec![p2, p1]);
}
