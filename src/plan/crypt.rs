//! The dm-crypt target, as cryptsetup 2.6 loads it for a LUKS volume (`LUKS1_activate`,
//! `LUKS2_activate`, `get_dm_crypt_params` in `lib/libdevmapper.c`) and as the kernel prints it
//! back (`crypt_status`, drivers/md/dm-crypt.c):
//!
//! ```text
//! crypt <cipher> <key> <iv_offset> <device> <offset> [<#opt_params> <opt_params>]
//! ```
//!
//! * cipher: the header's specification as written (`aes-xts-plain64`, or LUKS2's
//!   `capi:xts(aes)-plain64` form unchanged);
//! * key: LUKS1 hex in the table; LUKS2 through the kernel keyring,
//!   `:<key bytes>:logon:cryptsetup:<UUID>-d<digest>` ([`key_description`]);
//! * iv_offset 0 (cryptsetup's `crypt_get_iv_offset` is 0 for LUKS; `iv_tweak` is for
//!   reencryption only); offset: the data offset in 512-byte sectors; length: the device less
//!   the offset;
//! * optional parameters in the kernel's order: allow_discards, same_cpu_crypt,
//!   submit_from_crypt_cpus, no_read_workqueue, no_write_workqueue, integrity:N:type,
//!   sector_size:N, iv_large_sectors. (cryptsetup writes iv_large_sectors and sector_size in
//!   the other order; the kernel accepts either and prints this one, which `dmsetup table`
//!   shows.) The flags come from the LUKS2 header's `config.flags` and from the caller's
//!   crypttab options ([`CryptOptions`]).
//!
//! The key is hidden in normal printing ([`CryptTarget`]'s part of `Target::params`: the hex
//! digits replaced by zeros, as `dmsetup table` shows a table without `--showkeys`) and shown
//! only by `Target::kernel_params` (the text loaded into the kernel).

use super::dm::crypt::{CryptKey, CryptParams, CryptTarget, HexKey, Secret};
use super::dm::{DevRef, Target, TargetLine};
use super::{dev_ref, DmStep, NodeStep, Step};
use crate::engine::crypt::CryptState;
use crate::engine::{names, Graph, NodeId};
use crate::error::FormatError;
use crate::formats::luks::spec::CipherSpec;
use crate::formats::luks::LuksHeader;

/// The step for node `id` of LUKS volume `vol`: its dm-crypt device, named, identified and
/// loaded as `cryptsetup open` does (LUKS1 key in the table; LUKS2 key through the kernel
/// keyring). A locked volume is planned too, marked: its table cannot be loaded until a
/// passphrase opens it (exec refuses it; `plan` shows "needs passphrase").
/// `explicit`: the volume (or something on it) was named; a locked crypttab `noauto` or
/// `nofail` volume that was not is left out with the reason instead of failing the run.
pub(super) fn step(
    g: &Graph,
    id: NodeId,
    vol: usize,
    explicit: bool,
    planned: &[NodeId],
) -> NodeStep {
    let n = g.node(id);
    let v = &g.cryptvols[vol];
    if n.kernel.is_some() {
        return NodeStep::Active;
    }
    if v.state == CryptState::Locked && !explicit {
        match v.entry.as_ref().map(|e| &e.options) {
            Some(o) if o.noauto => {
                return NodeStep::Skip(
                    "locked; crypttab says noauto: opened only when named".into(),
                )
            }
            Some(o) if o.nofail => {
                return NodeStep::Skip("locked (crypttab nofail): not opened".into())
            }
            _ => {}
        }
    }
    match &v.state {
        CryptState::Unsupported(why) => return NodeStep::Skip(why.clone()),
        CryptState::Broken(why) => return NodeStep::Skip(format!("broken: {why}")),
        CryptState::Active | CryptState::Locked | CryptState::Unlocked { .. } => {}
    }
    if let Some(why) = names::unsafe_name("crypttab name", &v.name) {
        return NodeStep::Skip(why);
    }
    let mut opts = CryptOptions::default();
    if let Some(e) = &v.entry {
        for w in &e.options.activation {
            opts.apply(w);
        }
    }
    let hdr = &*v.header;
    let hex;
    let (key, secret) = match (&v.unlocked, hdr) {
        (Some(u), LuksHeader::V1(_)) => {
            hex = u.key.to_hex();
            (KeySource::Hex(&hex), Secret::None)
        }
        (Some(u), LuksHeader::V2(_)) => (KeySource::Keyring, Secret::Keyring(u.clone())),
        (None, LuksHeader::V1(h)) => {
            hex = zeroize::Zeroizing::new("00".repeat(h.key_bytes as usize));
            (KeySource::Hex(&hex), Secret::Locked)
        }
        (None, LuksHeader::V2(_)) => (KeySource::Keyring, Secret::Locked),
    };
    let dev = dev_ref(g, v.header_node, planned);
    let dev_sectors = g.node(v.header_node).size / 512;
    let mut line = match crypt_table(hdr, dev, dev_sectors, key, &opts) {
        Ok(l) => l,
        Err(e) => return NodeStep::Skip(e.to_string()),
    };
    if let Target::Crypt(c) = &mut line.target {
        c.secret = secret;
        let mut note = v.summary();
        if let Some(u) = &v.unlocked {
            note.push_str(&format!("; opened by keyslot {}", u.keyslot));
        }
        c.note = Some(note);
    }
    let uuid = match dm_uuid(hdr, &v.name) {
        Ok(u) => u,
        Err(e) => return NodeStep::Skip(e.to_string()),
    };
    NodeStep::Step(Step::CreateDm(DmStep {
        key: v.key.clone(),
        name: v.name.clone(),
        uuid,
        read_only: opts.readonly,
        table: vec![line],
        // cryptsetup's cookie carries DM_UDEV_DISABLE_LIBRARY_FALLBACK only, which exec adds
        // whenever udev runs (as for LVs).
        udev_flags: 0,
        links: vec![],
        volume: format!("LUKS{} on {}", hdr.version(), g.node(v.header_node).name),
        visible: true,
        fixed_devno: None,
    }))
}

/// Activation options from crypttab (systemd-cryptsetup's names) or the command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CryptOptions {
    /// `discard` / `allow-discards`.
    pub allow_discards: bool,
    pub same_cpu_crypt: bool,
    pub submit_from_crypt_cpus: bool,
    pub no_read_workqueue: bool,
    pub no_write_workqueue: bool,
    /// `readonly` / `read-only`: a DM flag (read-only device), not a table parameter.
    pub readonly: bool,
}

impl CryptOptions {
    /// Applies one crypttab option word; `false` when it is not one of the activation options
    /// handled here (the caller decides about the others). `sector-size=` is accepted and has
    /// no effect: for LUKS the sector size is the header's (systemd-cryptsetup uses it for
    /// plain mode only).
    pub fn apply(&mut self, word: &str) -> bool {
        match word {
            "discard" | "allow-discards" => self.allow_discards = true,
            "same-cpu-crypt" => self.same_cpu_crypt = true,
            "submit-from-crypt-cpus" => self.submit_from_crypt_cpus = true,
            "no-read-workqueue" => self.no_read_workqueue = true,
            "no-write-workqueue" => self.no_write_workqueue = true,
            "readonly" | "read-only" => self.readonly = true,
            w if w.starts_with("sector-size=") => {}
            _ => return false,
        }
        true
    }
}

/// The key of a crypt table being built: the volume key in hex (LUKS1; LUKS2 only where the
/// kernel keyring cannot be used, as cryptsetup falls back), or the keyring key (LUKS2, as
/// cryptsetup does whenever the kernel has keyring support).
pub enum KeySource<'a> {
    Hex(&'a str),
    Keyring,
}

/// The keyring description cryptsetup gives a LUKS2 volume key
/// (`get_key_description_by_digest`): `cryptsetup:<UUID>-d<digest>`, the digest being the
/// default segment's. `None` for LUKS1 (its key goes into the table).
pub fn key_description(hdr: &LuksHeader) -> Option<String> {
    let LuksHeader::V2(h) = hdr else {
        return None;
    };
    let seg = h.meta.default_segment()?;
    let d = h.meta.digest_by_segment(seg.id)?;
    Some(format!("cryptsetup:{}-d{}", h.bin.uuid, d.id))
}

/// The DM UUID cryptsetup gives the mapping (`dm_prepare_uuid`):
/// `CRYPT-LUKS<n>-<UUID without dashes>-<name>`, cut to 128 characters. `Err` when the header
/// UUID is not a standard UUID (cryptsetup then refuses to activate).
pub fn dm_uuid(hdr: &LuksHeader, name: &str) -> Result<String, FormatError> {
    let u = hdr.uuid();
    let standard = u.len() == 36
        && u.char_indices().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        });
    if !standard {
        return Err(FormatError::field(
            "luks",
            0xA8,
            "uuid",
            format!("{u:?}"),
            "a standard UUID (cryptsetup cannot name the mapping otherwise)",
        ));
    }
    let mut s = format!("CRYPT-LUKS{}-{}-{name}", hdr.version(), u.replace('-', ""));
    // DM_UUID_LEN 129 with the NUL; cryptsetup truncates (and says so).
    let mut cut = 128.min(s.len());
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    s.truncate(cut);
    Ok(s)
}

/// The crypt table of `hdr` on `dev` (`dev_sectors` long), as cryptsetup 2.6 loads it.
/// `key`: the LUKS1 key in hex, or `KeySource::Keyring` for LUKS2 (the key itself goes into
/// the kernel keyring under [`key_description`] before the table is loaded).
pub fn crypt_table(
    hdr: &LuksHeader,
    dev: DevRef,
    dev_sectors: u64,
    key: KeySource<'_>,
    opts: &CryptOptions,
) -> Result<TargetLine, FormatError> {
    if let Some(e) = hdr.unsupported() {
        return Err(e);
    }
    let cipher = hdr
        .cipher_spec()
        .ok_or_else(|| FormatError::unsupported("luks", 0, "no crypt segment"))?;
    let spec = CipherSpec::parse(&cipher).ok_or_else(|| {
        FormatError::field("luks", 0, "cipher", format!("{cipher:?}"), "cipher-mode-iv")
    })?;
    let key_size = hdr.volume_key_size().unwrap_or(0);
    let key = match (hdr, key) {
        _ if spec.cipher == "cipher_null" => CryptKey::None,
        // LUKS2 too when the kernel keyring cannot be used (cryptsetup's fallback).
        (_, KeySource::Hex(h)) => CryptKey::Hex(HexKey::new(h).ok_or_else(|| {
            FormatError::field(
                "luks",
                0,
                "volume key",
                "not hex",
                "the unlocked key in hex",
            )
        })?),
        (LuksHeader::V2(_), KeySource::Keyring) => CryptKey::Keyring {
            size: key_size,
            kind: "logon".into(),
            description: key_description(hdr).unwrap_or_default(),
        },
        _ => {
            return Err(FormatError::unsupported(
                "luks",
                0,
                "a LUKS1 key goes in the table: cryptsetup never uses the keyring for LUKS1",
            ))
        }
    };
    let sector_size = hdr.sector_size();
    if !(512..=4096).contains(&sector_size) || !sector_size.is_power_of_two() {
        return Err(FormatError::unsupported(
            "luks",
            0,
            format!("sector size {sector_size} (dm-crypt takes 512..=4096, a power of two)"),
        ));
    }
    let offset = hdr.data_offset_sectors();
    // A LUKS2 segment of fixed size is loaded with that size (cryptsetup's
    // `LUKS2_get_data_size`), provided the device holds it; "dynamic" runs to the end.
    let avail = match hdr.fixed_data_sectors() {
        Some(s) if offset.checked_add(s).is_some_and(|e| e <= dev_sectors) => offset + s,
        Some(s) => {
            return Err(FormatError::truncated(
                "luks",
                offset * 512,
                "data segment",
                s.saturating_mul(512),
                dev_sectors.saturating_sub(offset).saturating_mul(512),
            ))
        }
        None => dev_sectors,
    };
    let len = avail
        .checked_sub(offset)
        .filter(|&l| l > 0)
        .ok_or_else(|| {
            FormatError::truncated(
                "luks",
                offset * 512,
                "data area",
                offset * 512 + 1,
                dev_sectors * 512,
            )
        })?;
    // dm-crypt refuses a length that is not whole encryption sectors.
    if len % u64::from(sector_size / 512) != 0 {
        return Err(FormatError::field(
            "luks",
            offset * 512,
            "data area",
            format!("{len} sectors"),
            format!("a multiple of the {sector_size}-byte encryption sector"),
        ));
    }
    let persistent = |f: &str| match hdr {
        LuksHeader::V2(h) => h.meta.config.flags.iter().any(|x| x == f),
        LuksHeader::V1(_) => false,
    };
    let params = CryptParams {
        allow_discards: opts.allow_discards || persistent("allow-discards"),
        same_cpu_crypt: opts.same_cpu_crypt || persistent("same-cpu-crypt"),
        submit_from_crypt_cpus: opts.submit_from_crypt_cpus || persistent("submit-from-crypt-cpus"),
        no_read_workqueue: opts.no_read_workqueue || persistent("no-read-workqueue"),
        no_write_workqueue: opts.no_write_workqueue || persistent("no-write-workqueue"),
        integrity: None,
        sector_size,
        iv_large_sectors: false,
    };
    Ok(TargetLine {
        start: 0,
        len,
        target: Target::Crypt(Box::new(CryptTarget {
            cipher,
            key,
            iv_offset: 0,
            dev,
            offset,
            params,
            secret: Default::default(),
            note: None,
        })),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt(line: &str) {
        let t = TargetLine::parse(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert_eq!(
            t.target.kernel_params(),
            line.splitn(4, ' ').nth(3).unwrap()
        );
    }

    #[test]
    fn round_trips_kernel_syntax_and_hides_keys() {
        rt("0 8192 crypt aes-xts-plain64 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff 0 254:16 4096");
        rt("0 8192 crypt aes-xts-plain64 :64:logon:cryptsetup:9d8c7b6a-5948-4372-a610-0f1e2d3c4b5b-d0 0 254:16 32768 3 allow_discards no_read_workqueue sector_size:4096");
        rt("0 8 crypt capi:xts(aes)-plain64 :32:logon:cryptsetup:u-d1 0 8:0 4096 8 allow_discards same_cpu_crypt submit_from_crypt_cpus no_read_workqueue no_write_workqueue integrity:28:aead sector_size:4096 iv_large_sectors");
        rt("0 8 crypt cipher_null-ecb - 0 8:0 0");
        let t = TargetLine::parse("0 8 crypt aes-cbc-essiv:sha256 0a0B 0 8:0 4096").unwrap();
        assert_eq!(
            t.to_string(),
            "0 8 crypt aes-cbc-essiv:sha256 0000 0 8:0 4096"
        );
        assert_eq!(
            t.target.kernel_params(),
            "aes-cbc-essiv:sha256 0a0b 0 8:0 4096"
        );
        assert!(!format!("{t:?}").contains("0a0b"));
        // The kernel accepts the options in any order; the table keeps its own.
        let a = TargetLine::parse(
            "0 8 crypt aes-xts-plain64 - 0 8:0 0 2 iv_large_sectors sector_size:4096",
        )
        .unwrap();
        assert_eq!(
            a.target.kernel_params(),
            "aes-xts-plain64 - 0 8:0 0 2 sector_size:4096 iv_large_sectors"
        );
        for bad in [
            "0 8 crypt aes-xts-plain64 zz 0 8:0 0",
            "0 8 crypt aes-xts-plain64 - 0 8:0",
            "0 8 crypt aes-xts-plain64 - 0 8:0 0 2 allow_discards",
            "0 8 crypt aes-xts-plain64 - 0 8:0 0 1 bogus",
            "0 8 crypt aes-xts-plain64 :64:logon: 0 8:0 0",
        ] {
            assert!(TargetLine::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(t.target.module(), "dm-crypt");
    }

    /// Every committed fixture: our table (key hidden) and DM UUID equal what cryptsetup
    /// loaded in the VM for the same header, disk and options (tests/fixtures/luks/NAME:
    /// table-hidden, info, devno, sectors, options; tests/vm/luks-fixtures.sh). The table with
    /// the key is checked against `dmsetup table --showkeys` by tests/luks_data.rs.
    #[test]
    fn tables_as_cryptsetup_loaded_them() {
        use crate::source::sparse::SparseDev;
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/luks");
        let mut n = 0;
        for e in std::fs::read_dir(&root).unwrap().flatten() {
            let d = e.path();
            let Ok(table) = std::fs::read_to_string(d.join("table-hidden")) else {
                continue;
            };
            let name = e.file_name().to_string_lossy().into_owned();
            let r = |f: &str| {
                std::fs::read_to_string(d.join(f))
                    .unwrap()
                    .trim()
                    .to_string()
            };
            let dev = SparseDev::parse(&std::fs::read(d.join("disk.spr")).unwrap()).unwrap();
            let hdr = crate::probe::luks::read_header("f", &dev)
                .unwrap()
                .unwrap()
                .header;
            let mut opts = CryptOptions::default();
            for w in r("options").split_whitespace() {
                assert!(opts.apply(w));
            }
            let devno = crate::source::sysfs::DevNo::parse(&r("devno")).unwrap();
            let dev_ref = DevRef::Kernel {
                devno,
                name: "d".into(),
            };
            let sectors: u64 = r("sectors").parse().unwrap();
            let zeros = "00".repeat(hdr.volume_key_size().unwrap() as usize);
            let key = match hdr {
                LuksHeader::V1(_) => KeySource::Hex(&zeros),
                LuksHeader::V2(_) => KeySource::Keyring,
            };
            let got = crypt_table(&hdr, dev_ref, sectors, key, &opts);
            if r("kind") == "unsupported" {
                assert!(got.unwrap_err().is_unsupported(), "{name}");
            } else {
                assert_eq!(got.unwrap().to_string(), table.trim(), "{name}");
                let (mapped, uuid) = r("info")
                    .split_once(':')
                    .map(|(a, b)| (a.to_string(), b.to_string()))
                    .unwrap();
                assert_eq!(dm_uuid(&hdr, &mapped).unwrap(), uuid, "{name}");
            }
            n += 1;
        }
        assert!(n >= 15, "{n} fixtures with tables");
    }

    #[test]
    fn uuid_and_key_rules() {
        let dev = crate::source::sparse::SparseDev::parse(
            &std::fs::read(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("tests/fixtures/luks/luks1-sha256/disk.spr"),
            )
            .unwrap(),
        )
        .unwrap();
        let mut hdr = crate::probe::luks::read_header("f", &dev)
            .unwrap()
            .unwrap()
            .header;
        let d = DevRef::Image { name: "x".into() };
        // LUKS1 never goes through the keyring.
        assert!(crypt_table(
            &hdr,
            d.clone(),
            1 << 20,
            KeySource::Keyring,
            &CryptOptions::default()
        )
        .is_err());
        let long = "n".repeat(200);
        assert_eq!(dm_uuid(&hdr, &long).unwrap().len(), 128);
        if let LuksHeader::V1(h) = &mut hdr {
            h.uuid = "not-a-uuid".into();
        }
        assert!(dm_uuid(&hdr, "x").is_err());
        // The data area must exist.
        assert!(crypt_table(&hdr, d, 100, KeySource::Hex("00"), &CryptOptions::default()).is_err());
    }

    #[test]
    fn crypttab_words() {
        let mut o = CryptOptions::default();
        for w in [
            "discard",
            "same-cpu-crypt",
            "submit-from-crypt-cpus",
            "no-read-workqueue",
            "no-write-workqueue",
            "read-only",
            "sector-size=4096",
        ] {
            assert!(o.apply(w), "{w}");
        }
        assert!(!o.apply("keyscript=/bin/x"));
        assert!(o.allow_discards && o.readonly && o.no_write_workqueue);
    }
}
