//! Unlocks every LUKS volume made by `tests/vm/luks-fixtures.sh` (cryptsetup 2.6 in a VM) and
//! checks, per volume, against what cryptsetup itself reported there:
//! * the passphrase opens exactly the volume key `cryptsetup luksDump --dump-volume-key`
//!   printed, through the keyslot `cryptsetup open -v` named ("Key slot N unlocked");
//! * a wrong passphrase is refused (as "wrong passphrase", or for a volume whose only
//!   keyslot belongs to a token, as token-only);
//! * our crypt table, with the key, equals `dmsetup table --showkeys` after cryptsetup opened
//!   the same disk with the same options (the disk's MAJ:MIN recorded there); without the key
//!   it equals `dmsetup table`; the DM UUID equals `dmsetup info`'s;
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
    let info = text(&d.join("info"));
    let (mapped, uuid) = info.split_once(':').ok_or("bad info")?;
    let ours = dm_uuid(hdr, mapped).map_err(|e| e.to_string())?;
    if ours != uuid {
        return Err(format!("DM UUID {ours}, cryptsetup {uuid}"));
    }
    Ok(())
}
