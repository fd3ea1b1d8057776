//! The volume keys of one run (a command, a boot), shared by everything that needs them:
//! discovery reads through unlocked volumes, planning puts the key into the crypt table (LUKS1)
//! or names it (LUKS2), exec hands it to the kernel. Passphrases are handed in by the callers
//! (key files, prompts: `askpass`); one that opened a volume is kept, in memory that is zeroed
//! on drop, and tried first on the next volume (systemd-cryptsetup's and dracut's reuse: four
//! members, one prompt).
//!
//! A volume is identified by its UUID and its digest (the key check): two headers with the same
//! UUID but another volume key (a header restored onto another volume) never share a key.

use super::{open_keyslot, UnlockError, Unlocked};
use crate::formats::luks::{Hash, LuksHeader};
use crate::source::ReadAt;
use std::fmt;
use std::sync::{Arc, Mutex};
use zeroize::Zeroizing;

/// A passphrase or key file's bytes, zeroed on drop, never printed.
#[derive(Clone)]
pub struct Passphrase(Zeroizing<Vec<u8>>);

impl Passphrase {
    pub fn new(bytes: Vec<u8>) -> Passphrase {
        Passphrase(Zeroizing::new(bytes))
    }
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Passphrase(<{} bytes>)", self.0.len())
    }
}

impl PartialEq for Passphrase {
    fn eq(&self, o: &Passphrase) -> bool {
        use subtle::ConstantTimeEq;
        self.0.len() == o.0.len() && bool::from(self.0.ct_eq(&o.0))
    }
}

#[derive(Default)]
struct Inner {
    /// (volume identity, key).
    opened: Vec<(String, Arc<Unlocked>)>,
    /// Passphrases that opened a volume, most recent first.
    reuse: Vec<Passphrase>,
    /// (volume identity, passphrase) pairs known not to open it: not tried again.
    refused: Vec<(String, Passphrase)>,
}

/// The key store; cloning shares it.
#[derive(Clone, Default)]
pub struct Keys {
    inner: Arc<Mutex<Inner>>,
    /// Memory Argon2 may use (bytes): MemAvailable, read by the caller.
    mem_available: u64,
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.lock().opened.len();
        write!(f, "Keys(<{n} volume keys>)")
    }
}

/// The identity of a volume for the store: UUID and a hash of its key check (LUKS1 mk_digest
/// and salt; LUKS2 the default segment's digest).
pub fn volume_id(hdr: &LuksHeader) -> String {
    let check: Vec<u8> = match hdr {
        LuksHeader::V1(h) => [&h.mk_digest[..], &h.mk_digest_salt[..]].concat(),
        LuksHeader::V2(h) => {
            let d = h
                .meta
                .default_segment()
                .and_then(|s| h.meta.digest_by_segment(s.id));
            match d {
                Some(d) => format!(
                    "{}|{}|{}",
                    d.id,
                    d.digest.as_deref().unwrap_or(""),
                    d.salt.as_deref().unwrap_or("")
                )
                .into_bytes(),
                None => Vec::new(),
            }
        }
    };
    let h = Hash::Sha256.digest(&[&check]);
    let hex: String = h[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("{}/{hex}", hdr.uuid())
}

impl Keys {
    /// A store whose Argon2 runs may use `mem_available` bytes.
    pub fn new(mem_available: u64) -> Keys {
        Keys {
            inner: Arc::default(),
            mem_available,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves nothing half-written that matters here.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The key of the volume with this header, when it was opened in this run.
    pub fn get(&self, hdr: &LuksHeader) -> Option<Arc<Unlocked>> {
        let id = volume_id(hdr);
        self.lock()
            .opened
            .iter()
            .find(|(v, _)| *v == id)
            .map(|(_, k)| k.clone())
    }

    /// Passphrases that opened a volume in this run, most recent first.
    pub fn reusable(&self) -> Vec<Passphrase> {
        self.lock().reuse.clone()
    }

    /// Whether `pass` is already known not to open this volume (its KDF is not run again).
    pub fn known_wrong(&self, hdr: &LuksHeader, pass: &Passphrase) -> bool {
        let id = volume_id(hdr);
        self.lock()
            .refused
            .iter()
            .any(|(v, p)| *v == id && p == pass)
    }

    /// Tries `pass` on the volume (`dev` holds the header and keyslot areas; `keyslot` limits
    /// the search, crypttab `key-slot=`). On success the key is kept for the rest of the run
    /// and the passphrase is tried first on the next volume.
    pub fn open(
        &self,
        hdr: &LuksHeader,
        dev: &dyn ReadAt,
        pass: &Passphrase,
        keyslot: Option<u32>,
    ) -> Result<Arc<Unlocked>, UnlockError> {
        if let Some(k) = self.get(hdr) {
            return Ok(k);
        }
        let id = volume_id(hdr);
        match open_keyslot(hdr, dev, pass.as_bytes(), self.mem_available, keyslot) {
            Ok(u) => {
                let u = Arc::new(u);
                let mut g = self.lock();
                g.opened.push((id, u.clone()));
                g.reuse.retain(|p| p != pass);
                g.reuse.insert(0, pass.clone());
                Ok(u)
            }
            Err(e) => {
                if matches!(
                    e,
                    UnlockError::WrongPassphrase { .. } | UnlockError::TokenOnly { .. }
                ) && keyslot.is_none()
                {
                    self.lock().refused.push((id, pass.clone()));
                }
                Err(e)
            }
        }
    }

    /// The memory Argon2 may use (bytes).
    pub fn mem_available(&self) -> u64 {
        self.mem_available
    }
}

/// MemAvailable of a /proc/meminfo text, in bytes (`None` when absent).
pub fn mem_available(meminfo: &str) -> Option<u64> {
    let l = meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = l.split_whitespace().nth(1)?.parse().ok()?;
    kb.checked_mul(1024)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::sparse::SparseDev;

    fn header(name: &str) -> LuksHeader {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/luks")
            .join(name)
            .join("disk.spr");
        let dev = SparseDev::parse(&std::fs::read(p).unwrap()).unwrap();
        crate::probe::luks::read_header("f", &dev)
            .unwrap()
            .unwrap()
            .header
    }

    /// Another volume key under the same UUID (a header restored onto another volume) is
    /// another volume; the store's lookups and its Debug say nothing of keys. (Opening and
    /// reuse need whole volumes: tests/luks_data.rs.)
    #[test]
    fn volumes_are_told_apart_by_their_key_check() {
        for name in ["luks1-sha256", "luks2-sha256"] {
            let h1 = header(name);
            let mut h2 = h1.clone();
            match &mut h2 {
                LuksHeader::V1(h) => h.mk_digest[0] ^= 1,
                LuksHeader::V2(h) => {
                    let d = h.meta.digests.first_mut().unwrap();
                    d.digest = Some(format!("x{}", d.digest.clone().unwrap()));
                }
            }
            assert_ne!(volume_id(&h1), volume_id(&h2), "{name}");
            assert!(volume_id(&h1).starts_with(h1.uuid()));
        }
        let keys = Keys::new(1 << 30);
        assert!(keys.get(&header("luks1-sha256")).is_none());
        assert_eq!(format!("{keys:?}"), "Keys(<0 volume keys>)");
        let p = Passphrase::new(b"secret".to_vec());
        assert_eq!(format!("{p:?}"), "Passphrase(<6 bytes>)");
    }

    #[test]
    fn meminfo() {
        assert_eq!(
            mem_available("MemTotal: 100 kB\nMemAvailable:    2048 kB\n"),
            Some(2 << 20)
        );
        assert_eq!(mem_available("MemTotal: 1 kB\n"), None);
    }
}
