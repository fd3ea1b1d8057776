//! The dm-crypt target's typed form: what the kernel's `crypt` constructor takes and what it
//! prints back (`crypt_status`, drivers/md/dm-crypt.c):
//!
//! ```text
//! crypt <cipher> <key> <iv_offset> <device> <offset> [<#opt_params> <opt_params>]
//! ```
//!
//! The key is hidden in normal printing (the hex digits replaced by zeros, as `dmsetup table`
//! shows a table without `--showkeys`) and shown only by `Target::kernel_params` (the text
//! loaded into the kernel). How a LUKS header becomes such a target: plan/crypt.rs.
use super::DevRef;
use crate::unlock::Unlocked;
use std::fmt;
use std::sync::Arc;
use zeroize::Zeroizing;

/// A key in hex, as a LUKS1 table carries it. Its `Debug` does not show it.
#[derive(Clone)]
pub struct HexKey(Zeroizing<String>);

impl HexKey {
    /// From hex text (as parsed from a table, or `VolumeKey::to_hex`).
    pub fn new(hex: &str) -> Option<HexKey> {
        (!hex.is_empty() && hex.len() % 2 == 0 && hex.bytes().all(|c| c.is_ascii_hexdigit()))
            .then(|| HexKey(Zeroizing::new(hex.to_ascii_lowercase())))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// Key size in bytes.
    pub fn len(&self) -> usize {
        self.0.len() / 2
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for HexKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HexKey(<{} bytes>)", self.len())
    }
}

impl PartialEq for HexKey {
    fn eq(&self, o: &HexKey) -> bool {
        use subtle::ConstantTimeEq;
        self.0.len() == o.0.len() && bool::from(self.0.as_bytes().ct_eq(o.0.as_bytes()))
    }
}
impl Eq for HexKey {}

/// How the table names the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CryptKey {
    /// The key itself (LUKS1).
    Hex(HexKey),
    /// `:<size>:<type>:<description>`: a key the kernel takes from the keyring (LUKS2:
    /// type `logon`).
    Keyring {
        size: u32,
        kind: String,
        description: String,
    },
    /// `-`: no key (cipher_null).
    None,
}

/// Optional parameters (dm-crypt.rst).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CryptParams {
    pub allow_discards: bool,
    pub same_cpu_crypt: bool,
    pub submit_from_crypt_cpus: bool,
    pub no_read_workqueue: bool,
    pub no_write_workqueue: bool,
    /// `integrity:<tag bytes>:<type>` (only parsed back; never built for activation here).
    pub integrity: Option<(u32, String)>,
    pub sector_size: u32,
    pub iv_large_sectors: bool,
}

impl Default for CryptParams {
    fn default() -> Self {
        CryptParams {
            allow_discards: false,
            same_cpu_crypt: false,
            submit_from_crypt_cpus: false,
            no_read_workqueue: false,
            no_write_workqueue: false,
            integrity: None,
            sector_size: 512,
            iv_large_sectors: false,
        }
    }
}

impl CryptParams {
    fn words(&self) -> Vec<String> {
        let mut w = Vec::new();
        let mut flag = |on: bool, s: &str| {
            if on {
                w.push(s.to_string());
            }
        };
        flag(self.allow_discards, "allow_discards");
        flag(self.same_cpu_crypt, "same_cpu_crypt");
        flag(self.submit_from_crypt_cpus, "submit_from_crypt_cpus");
        flag(self.no_read_workqueue, "no_read_workqueue");
        flag(self.no_write_workqueue, "no_write_workqueue");
        if let Some((n, t)) = &self.integrity {
            w.push(format!("integrity:{n}:{t}"));
        }
        if self.sector_size != 512 {
            w.push(format!("sector_size:{}", self.sector_size));
        }
        if self.iv_large_sectors {
            w.push("iv_large_sectors".into());
        }
        w
    }
}

/// What loading the table needs beyond its text. Not part of the table: two targets with the
/// same text are equal whatever their secrets.
#[derive(Debug, Clone, Default)]
pub enum Secret {
    /// Nothing (a table read back from the kernel; a LUKS1 key is in the text itself).
    #[default]
    None,
    /// The volume key the kernel takes from the keyring (LUKS2: exec adds it as a `logon` key
    /// under the table's description just before the load, and revokes it right after).
    Keyring(Arc<Unlocked>),
    /// The volume is locked: no passphrase opened it, so the table cannot be loaded.
    Locked,
}

/// `crypt` target parameters.
#[derive(Debug, Clone)]
pub struct CryptTarget {
    pub cipher: String,
    pub key: CryptKey,
    pub iv_offset: u64,
    pub dev: DevRef,
    /// Start of the encrypted data on `dev`, in 512-byte sectors.
    pub offset: u64,
    pub params: CryptParams,
    pub secret: Secret,
    /// What `plan` says about the volume beside the table (its header: version, cipher,
    /// keyslots and KDFs, the keyslot that opened it). Not part of the table either.
    pub note: Option<String>,
}

impl PartialEq for CryptTarget {
    fn eq(&self, o: &CryptTarget) -> bool {
        self.cipher == o.cipher
            && self.key == o.key
            && self.iv_offset == o.iv_offset
            && self.dev == o.dev
            && self.offset == o.offset
            && self.params == o.params
    }
}
impl Eq for CryptTarget {}

impl CryptTarget {
    /// The parameter text; the key in hex only when `show_key`.
    pub fn text(&self, show_key: bool) -> String {
        let key = match &self.key {
            CryptKey::Hex(k) if show_key => k.as_str().to_string(),
            CryptKey::Hex(k) => "0".repeat(k.as_str().len()),
            CryptKey::Keyring {
                size,
                kind,
                description,
            } => format!(":{size}:{kind}:{description}"),
            CryptKey::None => "-".into(),
        };
        let mut s = format!(
            "{} {} {} {} {}",
            self.cipher,
            key,
            self.iv_offset,
            self.dev.table_form(),
            self.offset
        );
        let w = self.params.words();
        if !w.is_empty() {
            s.push_str(&format!(" {} {}", w.len(), w.join(" ")));
        }
        s
    }

    /// Parses the kernel's (or our) parameter text.
    pub fn parse(params: &str) -> Result<CryptTarget, String> {
        let w: Vec<&str> = params.split_whitespace().collect();
        if w.len() < 5 {
            return Err(format!(
                "crypt: expected at least 5 parameters, found {}",
                w.len()
            ));
        }
        let num = |i: usize, what: &str| -> Result<u64, String> {
            w[i].parse::<u64>()
                .map_err(|_| format!("crypt: bad {what} '{}'", w[i]))
        };
        let key = if w[1] == "-" {
            CryptKey::None
        } else if let Some(rest) = w[1].strip_prefix(':') {
            let mut it = rest.splitn(3, ':');
            let size = it
                .next()
                .and_then(|s| s.parse().ok())
                .ok_or("crypt: bad keyring key size")?;
            let kind = it
                .next()
                .ok_or("crypt: keyring key without type")?
                .to_string();
            let description = it
                .next()
                .filter(|d| !d.is_empty())
                .ok_or("crypt: keyring key without description")?
                .to_string();
            CryptKey::Keyring {
                size,
                kind,
                description,
            }
        } else {
            CryptKey::Hex(
                HexKey::new(w[1]).ok_or("crypt: key is neither hex, '-' nor :size:type:desc")?,
            )
        };
        let mut params = CryptParams::default();
        if w.len() > 5 {
            let n = usize::try_from(num(5, "#opt_params")?).map_err(|e| e.to_string())?;
            if w.len() != 6 + n {
                return Err(format!(
                    "crypt: {n} optional parameters need {} words, found {}",
                    6 + n,
                    w.len()
                ));
            }
            for o in &w[6..] {
                match *o {
                    "allow_discards" => params.allow_discards = true,
                    "same_cpu_crypt" => params.same_cpu_crypt = true,
                    "submit_from_crypt_cpus" => params.submit_from_crypt_cpus = true,
                    "no_read_workqueue" => params.no_read_workqueue = true,
                    "no_write_workqueue" => params.no_write_workqueue = true,
                    "iv_large_sectors" => params.iv_large_sectors = true,
                    o if o.starts_with("sector_size:") => {
                        params.sector_size = o["sector_size:".len()..]
                            .parse()
                            .map_err(|_| format!("crypt: bad {o}"))?
                    }
                    o if o.starts_with("integrity:") => {
                        let (n, t) = o["integrity:".len()..]
                            .split_once(':')
                            .ok_or_else(|| format!("crypt: bad {o}"))?;
                        params.integrity = Some((
                            n.parse().map_err(|_| format!("crypt: bad {o}"))?,
                            t.to_string(),
                        ));
                    }
                    o => return Err(format!("crypt: unknown optional parameter '{o}'")),
                }
            }
        }
        Ok(CryptTarget {
            cipher: w[0].to_string(),
            key,
            iv_offset: num(2, "iv_offset")?,
            dev: DevRef::parse(w[3]),
            offset: num(4, "offset")?,
            params,
            secret: Secret::None,
            note: None,
        })
    }
}
