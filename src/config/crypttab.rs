//! `/etc/crypttab` (crypttab(5), systemd 252 and Debian's cryptsetup 2.6 spellings): one volume
//! per line, `NAME DEVICE [KEYFILE [OPTIONS]]`, fields separated by white space, `#` comments.
//!
//! * NAME: the DM name the volume is opened under (`/dev/mapper/NAME`).
//! * DEVICE: `UUID=` (the LUKS header's UUID), `PARTUUID=`, `LABEL=` (a LUKS2 label),
//!   `PARTLABEL=`, or a path (`/dev/vda2`, `/dev/disk/by-uuid/...`, `/dev/mapper/vg-lv`).
//! * KEYFILE: a file whose exact bytes are the passphrase (`FILE:DEVICE` as systemd reads it:
//!   a file on another device, not supported here), or `none` / `-` / absent: ask.
//! * OPTIONS: comma-separated. Read here: the dm-crypt flags (`discard`, `same-cpu-crypt`,
//!   `submit-from-crypt-cpus`, `no-read-workqueue`, `no-write-workqueue`, `readonly` /
//!   `read-only`, `sector-size=`), `key-slot=` (also Debian's `keyslot=`), `keyfile-offset=`,
//!   `keyfile-size=`, `tries=`, `noauto`, `nofail`, `try-empty-password`, `headless`, `header=`.
//!   Refused with the reason (the volume is not opened): `keyscript=` (no scripts run here),
//!   `plain`, `tcrypt`, `bitlk`, `veracrypt`, `swap`, `tmp` (not LUKS volumes). Token options
//!   (`tpm2-device=`, `fido2-device=`, `pkcs11-uri=`) are noted and a passphrase is asked
//!   instead; options without effect here (`luks`, `initramfs`, `x-initrd.attach`, `timeout=`,
//!   ...) are accepted silently, unknown ones are listed in a warning (systemd ignores them
//!   too).
//!
//! Pure: text in, typed entries and warnings out. Which crypttab is read (the initramfs' copy at
//! boot, the running system's from the command line) is the caller's parameter.

use std::path::Path;

/// Where the volume is, as crypttab's second field names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceSpec {
    Uuid(String),
    PartUuid(String),
    Label(String),
    PartLabel(String),
    /// A path; `/dev/disk/by-uuid/X` and friends are turned into the tag forms above.
    Path(String),
}

impl DeviceSpec {
    /// Parses crypttab's device field (also `rd.luks.*` values).
    pub fn parse(s: &str) -> DeviceSpec {
        let tag = |p: &str| s.strip_prefix(p).map(str::to_string);
        if let Some(v) = tag("UUID=") {
            return DeviceSpec::Uuid(strip_quotes(&v));
        }
        if let Some(v) = tag("PARTUUID=") {
            return DeviceSpec::PartUuid(strip_quotes(&v));
        }
        if let Some(v) = tag("LABEL=") {
            return DeviceSpec::Label(strip_quotes(&v));
        }
        if let Some(v) = tag("PARTLABEL=") {
            return DeviceSpec::PartLabel(strip_quotes(&v));
        }
        for (dir, mk) in [
            (
                "/dev/disk/by-uuid/",
                DeviceSpec::Uuid as fn(String) -> DeviceSpec,
            ),
            ("/dev/disk/by-partuuid/", DeviceSpec::PartUuid),
            ("/dev/disk/by-label/", DeviceSpec::Label),
            ("/dev/disk/by-partlabel/", DeviceSpec::PartLabel),
        ] {
            if let Some(v) = s.strip_prefix(dir) {
                return mk(unescape_udev(v));
            }
        }
        DeviceSpec::Path(s.to_string())
    }
}

impl std::fmt::Display for DeviceSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeviceSpec::Uuid(u) => write!(f, "UUID={u}"),
            DeviceSpec::PartUuid(u) => write!(f, "PARTUUID={u}"),
            DeviceSpec::Label(l) => write!(f, "LABEL={l}"),
            DeviceSpec::PartLabel(l) => write!(f, "PARTLABEL={l}"),
            DeviceSpec::Path(p) => f.write_str(p),
        }
    }
}

fn strip_quotes(v: &str) -> String {
    let t = v
        .strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .unwrap_or(v);
    t.to_string()
}

/// udev's `\x20` escapes in /dev/disk/by-label names.
fn unescape_udev(s: &str) -> String {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && b.get(i + 1) == Some(&b'x') {
            if let Some(v) = s
                .get(i + 2..i + 4)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A key file named by crypttab's third field or `rd.luks.key=`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFile {
    pub path: String,
    /// systemd's `FILE:DEVICE`: the file lies on another device (not supported here; the
    /// passphrase is asked instead, with a note).
    pub device: Option<String>,
}

/// The options of one entry (or `rd.luks.options=`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Activation flags for the dm-crypt table and the DM read-only flag, as written
    /// (`discard`, `same-cpu-crypt`, `readonly`, `sector-size=4096`, ...).
    pub activation: Vec<String>,
    /// `key-slot=N` / `keyslot=N`: only this keyslot is tried.
    pub key_slot: Option<u32>,
    /// `keyfile-offset=`: bytes of the key file skipped.
    pub keyfile_offset: u64,
    /// `keyfile-size=`: bytes of the key file used (default: all of it, up to 8 MiB).
    pub keyfile_size: Option<u64>,
    /// `tries=`: prompts before giving up (3 by default; 0: no limit).
    pub tries: u32,
    /// `noauto`: not opened unless something asks for it by name.
    pub noauto: bool,
    /// `nofail`: failing to open it fails nothing else.
    pub nofail: bool,
    /// `try-empty-password`: the empty passphrase is tried first.
    pub try_empty_password: bool,
    /// `headless`: never prompt.
    pub headless: bool,
    /// `header=`: a detached LUKS header.
    pub header: Option<String>,
    /// Why the volume is not opened at all (`keyscript=`, a non-LUKS type).
    pub refused: Option<String>,
    /// Token options (`tpm2-device=`, `fido2-device=`, `pkcs11-uri=`): unlocking through them
    /// is not supported; a passphrase is asked for instead.
    pub tokens: Vec<String>,
    /// Options not known at all (warned about and ignored).
    pub unknown: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            activation: Vec::new(),
            key_slot: None,
            keyfile_offset: 0,
            keyfile_size: None,
            tries: 3,
            noauto: false,
            nofail: false,
            try_empty_password: false,
            headless: false,
            header: None,
            refused: None,
            tokens: Vec::new(),
            unknown: Vec::new(),
        }
    }
}

/// Options accepted without effect here: they concern when the system's own tools attach a
/// volume, how they ask, or checks they run afterwards.
const NO_EFFECT: &[&str] = &[
    "luks",
    "initramfs",
    "noearly",
    "x-initrd.attach",
    "_netdev",
    "loud",
    "quiet",
    "verify",
    "keyfile-erase",
    "link-volume-key",
    "silent",
];
const NO_EFFECT_PREFIX: &[&str] = &[
    "timeout=",
    "token-timeout=",
    "password-echo=",
    "check=",
    "checkargs=",
    "x-systemd.",
    "keyfile-timeout=",
    "tpm2-pcrs=",
    "tpm2-signature=",
    "tpm2-public-key",
    "tpm2-measure",
    "fido2-cid=",
    "fido2-rp=",
];

impl Options {
    /// Parses a comma-separated option list.
    pub fn parse(s: &str) -> Options {
        let mut o = Options::default();
        for w in s.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            o.apply(w);
        }
        o
    }

    /// Applies one option word.
    pub fn apply(&mut self, w: &str) {
        let (k, v) = match w.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (w, None),
        };
        let num = |v: Option<&str>| v.and_then(|v| v.trim().parse::<u64>().ok());
        match (k, v) {
            (
                "discard" | "allow-discards" | "same-cpu-crypt" | "submit-from-crypt-cpus"
                | "no-read-workqueue" | "no-write-workqueue" | "readonly" | "read-only",
                None,
            ) => self.activation.push(k.to_string()),
            ("sector-size", Some(_)) => self.activation.push(w.to_string()),
            ("key-slot" | "keyslot", v) => match num(v).and_then(|n| u32::try_from(n).ok()) {
                Some(n) => self.key_slot = Some(n),
                None => self.unknown.push(w.to_string()),
            },
            ("keyfile-offset", v) => match num(v) {
                Some(n) => self.keyfile_offset = n,
                None => self.unknown.push(w.to_string()),
            },
            ("keyfile-size", v) => match num(v) {
                Some(n) => self.keyfile_size = Some(n),
                None => self.unknown.push(w.to_string()),
            },
            ("tries", v) => match num(v).and_then(|n| u32::try_from(n).ok()) {
                Some(n) => self.tries = n,
                None => self.unknown.push(w.to_string()),
            },
            ("noauto", None) => self.noauto = true,
            ("auto", None) => self.noauto = false,
            ("nofail", None) => self.nofail = true,
            ("fail", None) => self.nofail = false,
            ("try-empty-password", v) => self.try_empty_password = v != Some("false") && v != Some("no"),
            ("headless", v) => self.headless = v != Some("false") && v != Some("no"),
            ("header", Some(h)) => self.header = Some(h.to_string()),
            ("keyscript", _) => {
                self.refused = Some(format!(
                    "crypttab option {w}: key scripts are not run by evms-activate (it runs no programs); give a key file or let it prompt"
                ))
            }
            ("plain" | "tcrypt" | "bitlk" | "veracrypt" | "swap" | "tmp", _) => {
                self.refused = Some(format!(
                    "crypttab option {w}: not a LUKS volume; evms-activate opens LUKS1 and LUKS2 only (cryptsetup opens this one)"
                ))
            }
            ("tpm2-device" | "fido2-device" | "pkcs11-uri", _) => self.tokens.push(w.to_string()),
            _ if NO_EFFECT.contains(&k) || NO_EFFECT_PREFIX.iter().any(|p| w.starts_with(p)) => {}
            ("cipher" | "size" | "hash" | "offset" | "skip" | "key-size", Some(_)) => {
                // Plain-mode parameters: a LUKS header carries its own.
            }
            _ => self.unknown.push(w.to_string()),
        }
    }
}

/// One crypttab line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub device: DeviceSpec,
    pub keyfile: Option<KeyFile>,
    pub options: Options,
    /// 1-based line number, for messages.
    pub line: usize,
}

/// A parsed crypttab.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Crypttab {
    pub entries: Vec<Entry>,
    /// Lines that could not be used, and unknown options (by line).
    pub warnings: Vec<String>,
}

/// Longest crypttab read (a bound on hostile input; real ones are a few lines).
const MAX_LEN: u64 = 1 << 20;

impl Crypttab {
    /// Parses crypttab text; `origin` names the file in warnings.
    pub fn parse(text: &str, origin: &str) -> Crypttab {
        let mut t = Crypttab::default();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 2 {
                t.warnings.push(format!(
                    "{origin}:{}: a volume needs a name and a device, found {line:?}; line ignored",
                    i + 1
                ));
                continue;
            }
            if f.len() > 4 {
                t.warnings.push(format!(
                    "{origin}:{}: {} fields, expected at most 4 (name device keyfile options); the rest is ignored",
                    i + 1,
                    f.len()
                ));
            }
            let keyfile = f
                .get(2)
                .filter(|k| !matches!(**k, "none" | "-" | ""))
                .map(|k| {
                    // systemd: FILE:DEVICE (the colon form only when the part after it is a device
                    // spec or an absolute path).
                    match k.rsplit_once(':') {
                        Some((p, d))
                            if !p.is_empty() && (d.starts_with('/') || d.contains('=')) =>
                        {
                            KeyFile {
                                path: p.to_string(),
                                device: Some(d.to_string()),
                            }
                        }
                        _ => KeyFile {
                            path: k.to_string(),
                            device: None,
                        },
                    }
                });
            let options = Options::parse(f.get(3).copied().unwrap_or(""));
            if let Some(h) = &options.header {
                t.warnings.push(format!(
                    "{origin}:{}: {}: header={h}: detached LUKS headers are not supported (the device holds no header to find); cryptsetup opens this volume",
                    i + 1,
                    f[0]
                ));
            }
            if !options.unknown.is_empty() {
                t.warnings.push(format!(
                    "{origin}:{}: unknown option(s) {} for {}: ignored",
                    i + 1,
                    options.unknown.join(", "),
                    f[0]
                ));
            }
            t.entries.push(Entry {
                name: f[0].to_string(),
                device: DeviceSpec::parse(f[1]),
                keyfile,
                options,
                line: i + 1,
            });
        }
        t
    }

    /// Reads and parses `path`; a missing file is an empty crypttab.
    pub fn read(path: &Path) -> Result<Crypttab, String> {
        use std::io::Read;
        let f = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Crypttab::default()),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        let mut text = String::new();
        f.take(MAX_LEN)
            .read_to_string(&mut text)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Crypttab::parse(&text, &path.display().to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian_and_systemd_lines() {
        let t = Crypttab::parse(
            "# comment\n\
             cryptroot UUID=5e0c0000-0000-4000-8000-000000000001 none luks,discard,key-slot=1\n\
             \n\
             data /dev/disk/by-partuuid/abcd /etc/keys/data.key keyfile-offset=16,keyfile-size=32,nofail,tries=5\n\
             swap /dev/vdb2 /dev/urandom swap,cipher=aes-xts-plain64,size=256\n\
             odd\n\
             home LABEL=home - keyscript=/lib/cryptsetup/scripts/passdev,bogus=1\n\
             usb PARTUUID=1234 /key.bin:UUID=ffff tpm2-device=auto,noauto,x-initrd.attach\n\
             ext /dev/vdc none luks,header=/boot/ext.hdr\n",
            "crypttab",
        );
        assert_eq!(t.entries.len(), 6);
        let e = &t.entries[0];
        assert_eq!(e.name, "cryptroot");
        assert_eq!(
            e.device,
            DeviceSpec::Uuid("5e0c0000-0000-4000-8000-000000000001".into())
        );
        assert_eq!(e.keyfile, None);
        assert_eq!(e.options.activation, ["discard"]);
        assert_eq!(e.options.key_slot, Some(1));
        assert_eq!(e.options.tries, 3);
        let d = &t.entries[1];
        assert_eq!(d.device, DeviceSpec::PartUuid("abcd".into()));
        assert_eq!(d.keyfile.as_ref().unwrap().path, "/etc/keys/data.key");
        assert_eq!(
            (
                d.options.keyfile_offset,
                d.options.keyfile_size,
                d.options.nofail,
                d.options.tries
            ),
            (16, Some(32), true, 5)
        );
        assert!(t.entries[2]
            .options
            .refused
            .as_ref()
            .unwrap()
            .contains("not a LUKS volume"));
        let h = &t.entries[3];
        assert!(h
            .options
            .refused
            .as_ref()
            .unwrap()
            .contains("keyscript=/lib/cryptsetup/scripts/passdev"));
        assert_eq!(h.keyfile, None);
        assert_eq!(h.options.unknown, ["bogus=1"]);
        let u = &t.entries[4];
        assert_eq!(
            u.keyfile,
            Some(KeyFile {
                path: "/key.bin".into(),
                device: Some("UUID=ffff".into())
            })
        );
        assert!(u.options.noauto && u.options.tokens == ["tpm2-device=auto"]);
        assert_eq!(t.warnings.len(), 3, "{:?}", t.warnings);
        assert!(t.warnings[0].starts_with("crypttab:6: a volume needs a name and a device"));
        assert!(t.warnings[1].contains("unknown option(s) bogus=1 for home"));
        assert!(t.warnings[2]
            .contains("ext: header=/boot/ext.hdr: detached LUKS headers are not supported"));
    }

    #[test]
    fn device_forms() {
        assert_eq!(
            DeviceSpec::parse("/dev/disk/by-label/my\\x20disk"),
            DeviceSpec::Label("my disk".into())
        );
        assert_eq!(
            DeviceSpec::parse("UUID=\"ab\""),
            DeviceSpec::Uuid("ab".into())
        );
        assert_eq!(
            DeviceSpec::parse("/dev/mapper/vg-lv"),
            DeviceSpec::Path("/dev/mapper/vg-lv".into())
        );
        assert_eq!(DeviceSpec::parse("PARTLABEL=x").to_string(), "PARTLABEL=x");
    }

    #[test]
    fn option_values_are_checked() {
        let o = Options::parse("key-slot=x,tries=0,keyslot=2,sector-size=4096,read-only");
        assert_eq!(o.unknown, ["key-slot=x"]);
        assert_eq!((o.tries, o.key_slot), (0, Some(2)));
        assert_eq!(o.activation, ["sector-size=4096", "read-only"]);
    }
}
