//! How a crypt table's key reaches the kernel, as cryptsetup 2.6 hands it over
//! (`lib/utils_keyring.c`, `LUKS2_activate`):
//!
//! * LUKS1: the key is in the table text (hex); the load carries `DM_SECURE_DATA_FLAG` (libdm's
//!   `dm_task_secure_data`), so the kernel wipes its copy of the ioctl buffer; ours is zeroed
//!   after the load (exec/dm.rs).
//! * LUKS2: the key goes into the calling thread's keyring as a `logon` key named
//!   `cryptsetup:<UUID>-d<digest>` (`add_key(2)`, `KEY_SPEC_THREAD_KEYRING`), the table names it
//!   (`:64:logon:cryptsetup:...`), and dm-crypt's constructor looks it up while DM_TABLE_LOAD
//!   runs, in the same thread. Right after the load, loaded or not, the key is revoked and
//!   unlinked ([`KeyringKeys`]'s drop): cryptsetup leaves it until its process exits; a PID 1
//!   lives on, so it must not stay. Where the kernel has no keyring (`ENOSYS`, `EOPNOTSUPP`) the
//!   key goes into the table in hex instead, cryptsetup's own fallback.
//! * A locked volume (no passphrase opened it) has no key: its step is refused, never loaded.

use crate::plan::dm::crypt::{CryptKey, CryptTarget, HexKey, Secret};
use crate::plan::{Target, TargetLine};
use nix::errno::Errno;
use nix::libc;
use std::ffi::CString;

/// `keyctl.h`: the calling thread's keyring, and the operations used here.
const KEY_SPEC_THREAD_KEYRING: i32 = -1;
const KEYCTL_REVOKE: libc::c_long = 3;
const KEYCTL_UNLINK: libc::c_long = 9;

/// Keys added for one table load; revoked and unlinked when dropped.
#[derive(Default)]
pub(crate) struct KeyringKeys {
    ids: Vec<i32>,
}

impl Drop for KeyringKeys {
    fn drop(&mut self) {
        for &id in &self.ids {
            // SAFETY: plain integer arguments; failures are only logged (a revoked key is
            // unusable whatever unlink says).
            let r = unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_REVOKE, id) };
            if r < 0 {
                log::warn!("revoking keyring key {id} failed: {}", Errno::last());
            }
            let r = unsafe {
                libc::syscall(
                    libc::SYS_keyctl,
                    KEYCTL_UNLINK,
                    id,
                    libc::c_long::from(KEY_SPEC_THREAD_KEYRING),
                )
            };
            if r < 0 {
                log::debug!("unlinking keyring key {id} failed: {}", Errno::last());
            }
        }
    }
}

/// `add_key("logon", desc, key, KEY_SPEC_THREAD_KEYRING)`: the key's serial number.
fn add_logon_key(desc: &str, key: &[u8]) -> Result<i32, Errno> {
    let kind = CString::new("logon").map_err(|_| Errno::EINVAL)?;
    let desc = CString::new(desc).map_err(|_| Errno::EINVAL)?;
    // SAFETY: NUL-terminated strings and a buffer of `key.len()` bytes, alive for the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_add_key,
            kind.as_ptr(),
            desc.as_ptr(),
            key.as_ptr(),
            key.len(),
            libc::c_long::from(KEY_SPEC_THREAD_KEYRING),
        )
    };
    if r < 0 {
        return Err(Errno::last());
    }
    i32::try_from(r).map_err(|_| Errno::ERANGE)
}

/// Why a table cannot be loaded, and the word for the report.
pub(crate) struct Refused {
    pub action: &'static str,
    pub errno: Option<Errno>,
    pub message: String,
}

/// Before DM_TABLE_LOAD: puts every LUKS2 key of `table` into the thread keyring (or, where the
/// kernel has none, its hex into the matching parameter text of `params`), and refuses a locked
/// volume. The returned keys must live until the load returned.
pub(crate) fn prepare(
    table: &[TargetLine],
    params: &mut [(u64, u64, String, String)],
    notes: &mut Vec<String>,
) -> Result<KeyringKeys, Refused> {
    let mut keys = KeyringKeys::default();
    for (i, line) in table.iter().enumerate() {
        let Target::Crypt(c) = &line.target else {
            continue;
        };
        match (&c.secret, &c.key) {
            (Secret::Locked, _) => {
                return Err(locked(table).unwrap_or(Refused {
                    action: "unlock",
                    errno: None,
                    message: String::new(),
                }))
            }
            (Secret::Keyring(u), CryptKey::Keyring { description, .. }) => {
                match add_logon_key(description, u.key.as_bytes()) {
                    Ok(id) => keys.ids.push(id),
                    Err(e @ (Errno::ENOSYS | Errno::EOPNOTSUPP)) => {
                        let hex = u.key.to_hex();
                        let mut t: CryptTarget = (**c).clone();
                        t.key = CryptKey::Hex(HexKey::new(&hex).ok_or_else(|| Refused {
                            action: "add_key",
                            errno: None,
                            message: "empty volume key".into(),
                        })?);
                        if let Some(p) = params.get_mut(i) {
                            zeroize::Zeroize::zeroize(&mut p.3);
                            p.3 = t.text(true);
                        }
                        notes.push(format!(
                            "the kernel keyring is unavailable ({e}): the key goes in the table, as cryptsetup falls back"
                        ));
                    }
                    Err(e) => {
                        return Err(Refused {
                            action: "add_key (logon key for dm-crypt)",
                            errno: Some(e),
                            message: format!("key {description}"),
                        })
                    }
                }
            }
            _ => {}
        }
    }
    Ok(keys)
}

/// A locked volume's table: refused before anything is created.
pub(crate) fn locked(table: &[TargetLine]) -> Option<Refused> {
    table.iter().find_map(|l| match &l.target {
        Target::Crypt(c) if matches!(c.secret, Secret::Locked) => Some(Refused {
            action: "unlock",
            errno: None,
            message: "the LUKS volume is locked: no key file or passphrase opened it".into(),
        }),
        _ => None,
    })
}

/// Whether the table carries a crypt target (its load is marked secure).
pub(crate) fn has_crypt(table: &[TargetLine]) -> bool {
    table.iter().any(|l| matches!(l.target, Target::Crypt(_)))
}

/// A dry run's word on a locked volume.
pub(crate) fn dry_run_notes(table: &[TargetLine], notes: &mut Vec<String>) {
    for l in table {
        if let Target::Crypt(c) = &l.target {
            if matches!(c.secret, Secret::Locked) {
                notes.push(
                    "locked: needs a passphrase (--key-file, or a terminal for the prompt)".into(),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(secret: Secret, key: &str) -> TargetLine {
        let mut t =
            TargetLine::parse(&format!("0 8 crypt aes-xts-plain64 {key} 0 8:0 4096")).unwrap();
        if let Target::Crypt(c) = &mut t.target {
            c.secret = secret;
        }
        t
    }

    #[test]
    fn locked_volumes_are_refused_and_plain_tables_pass() {
        let t = vec![line(Secret::Locked, ":64:logon:cryptsetup:u-d0")];
        let mut p = vec![(0, 8, "crypt".to_string(), String::new())];
        let mut notes = Vec::new();
        let e = prepare(&t, &mut p, &mut notes).err().unwrap();
        assert!(e.message.contains("locked"));
        assert!(locked(&t).is_some());
        let t = vec![line(Secret::None, "00ff")];
        assert!(prepare(&t, &mut p, &mut notes).is_ok());
        assert!(has_crypt(&t));
        dry_run_notes(&[line(Secret::Locked, "00ff")], &mut notes);
        assert_eq!(notes.len(), 1);
    }
}
