//! LUKS at boot: which volumes may be opened, under which names, with which keys, and when the
//! boot gives up on one.
//!
//! * Names and options: the initramfs' `/etc/crypttab` (unless `rd.luks.crypttab=0`), and the
//!   command line's `rd.luks.uuid=` / `rd.luks.name=UUID=NAME` volumes (`luks-UUID` unless
//!   named; a crypttab line for the same UUID keeps its name), with `rd.luks.key=` and
//!   `rd.luks.options=` for one UUID or for the command line's volumes without their own
//!   (systemd-cryptsetup-generator's rules).
//! * Which volumes: none with `rd.luks=0`; with `rd.luks.uuid=`/`rd.luks.name=`, those only;
//!   else, when the initramfs has a crypttab, its volumes (not `noauto`); else every LUKS
//!   volume found (dracut's default). They are opened one at a time until root= (and
//!   resume=) resolve: the others are not asked for (askpass::unlock_until).
//! * Keys: a volume's own key file (crypttab, `rd.luks.key=UUID=`), the command line's key
//!   file for every volume (`rd.luks.key=FILE`), passphrases that opened another volume, then
//!   the console prompt (boot::prompt), `tries=` times (3).
//! * Failure: a volume whose passphrases all failed is not asked for again in this attempt;
//!   when root is not found and such a volume (not `nofail`) remains, the boot takes its
//!   failure path (rd.shell, panic=, or a wait on the console: Enter retries, and asks again).

use super::cmdline::{BootSpec, LuksSpec};
use super::BootEnv;
use crate::askpass::{self, Failure, Sources, UnlockReport};
use crate::config::crypttab::{Crypttab, DeviceSpec, Entry, KeyFile, Options};
use crate::engine::crypt::{CryptState, CryptVol};
use crate::engine::{Graph, Inputs, Settings};
use crate::unlock::Keys;

/// What the boot keeps between rounds.
#[derive(Debug, Default)]
pub struct LuksState {
    keys: Option<Keys>,
    /// Volumes that did not open in this attempt (not asked for again until a retry).
    failed: Vec<Failure>,
    /// crypttab and command-line warnings already logged.
    warned: Vec<String>,
}

/// A key file spec of the command line: `FILE[:KEYDEV]`.
fn key_file(spec: &str) -> KeyFile {
    match spec.rsplit_once(':') {
        Some((p, d)) if !p.is_empty() && (d.starts_with('/') || d.contains('=')) => KeyFile {
            path: p.to_string(),
            device: Some(d.to_string()),
        },
        _ => KeyFile {
            path: spec.to_string(),
            device: None,
        },
    }
}

/// The crypttab entries the engine names volumes by, and whether the initramfs' crypttab had
/// any (then it says which volumes to open). Warnings for the log.
pub fn entries(spec: &LuksSpec, etc: &std::path::Path) -> (Vec<Entry>, bool, Vec<String>) {
    let mut warnings = Vec::new();
    let mut tab = if spec.crypttab {
        Crypttab::read(&etc.join("crypttab")).unwrap_or_else(|e| {
            warnings.push(e);
            Crypttab::default()
        })
    } else {
        Crypttab::default()
    };
    warnings.append(&mut tab.warnings);
    let from_file = !tab.entries.is_empty();
    let per = |list: &[(Option<String>, String)], u: &str| {
        list.iter()
            .rev()
            .find(|(x, _)| x.as_deref() == Some(u))
            .map(|(_, v)| v.clone())
    };
    let global = |list: &[(Option<String>, String)]| {
        list.iter()
            .rev()
            .find(|(x, _)| x.is_none())
            .map(|(_, v)| v.clone())
    };
    let mut named: Vec<String> = spec.uuids.clone();
    for (u, _) in &spec.names {
        if !named.contains(u) {
            named.push(u.clone());
        }
    }
    for u in &named {
        let key = per(&spec.keys, u);
        let opts = per(&spec.options, u);
        let existing = tab
            .entries
            .iter_mut()
            .find(|e| matches!(&e.device, DeviceSpec::Uuid(x) if x.eq_ignore_ascii_case(u)));
        match existing {
            Some(e) => {
                if let Some(k) = key {
                    e.keyfile = Some(key_file(&k));
                }
                if let Some(o) = opts {
                    e.options = Options::parse(&o);
                }
            }
            None => {
                let name = spec
                    .names
                    .iter()
                    .rev()
                    .find(|(x, _)| x == u)
                    .map_or_else(|| format!("luks-{u}"), |(_, n)| n.clone());
                let options =
                    Options::parse(&opts.or_else(|| global(&spec.options)).unwrap_or_default());
                if !options.unknown.is_empty() {
                    warnings.push(format!(
                        "rd.luks.options: unknown option(s) {} for {name}: ignored",
                        options.unknown.join(", ")
                    ));
                }
                tab.entries.push(Entry {
                    name,
                    device: DeviceSpec::Uuid(u.clone()),
                    keyfile: key.map(|k| key_file(&k)),
                    options,
                    line: 0,
                });
            }
        }
    }
    (tab.entries, from_file, warnings)
}

impl LuksState {
    /// The key store of this boot (created once, sized by MemAvailable).
    fn keys(&mut self, env: &BootEnv) -> Keys {
        self.keys
            .get_or_insert_with(|| {
                let mem = std::fs::read_to_string(env.proc_dir.join("meminfo"))
                    .ok()
                    .and_then(|m| crate::unlock::keys::mem_available(&m))
                    .unwrap_or(256 << 20);
                Keys::new(mem)
            })
            .clone()
    }

    fn warn_once(&mut self, w: String) {
        if !self.warned.contains(&w) {
            log::warn!("{w}");
            self.warned.push(w);
        }
    }

    /// Fills the LUKS part of the settings (crypttab entries, the key store) and returns the
    /// passphrase sources; the bool: the initramfs' crypttab lists volumes.
    pub fn configure(
        &mut self,
        spec: &BootSpec,
        env: &BootEnv,
        st: &mut Settings,
    ) -> (Sources, bool) {
        let (entries, from_file, warnings) = entries(&spec.luks, &env.initramfs_root.join("etc"));
        for w in warnings {
            self.warn_once(w);
        }
        st.crypttab = entries;
        st.keys = self.keys(env);
        let mut src = Sources {
            root: env.initramfs_root.clone(),
            ..Sources::default()
        };
        for (u, k) in &spec.luks.keys {
            if u.is_some() {
                continue;
            }
            let kf = key_file(k);
            if let Some(d) = &kf.device {
                self.warn_once(format!(
                    "rd.luks.key={k}: key files on another device ({d}) are not supported; asking for passphrases instead"
                ));
                continue;
            }
            let p = env.initramfs_root.join(kf.path.trim_start_matches('/'));
            match askpass::read_key_file(&p, 0, None) {
                Ok(pass) => src.key_files.push((kf.path.clone(), pass)),
                Err(e) => self.warn_once(format!("rd.luks.key: {e}")),
            }
        }
        (src, from_file)
    }

    /// Whether `v` may be opened at this boot.
    fn candidate(&self, spec: &LuksSpec, from_file: bool, v: &CryptVol) -> bool {
        if !spec.enabled || self.failed.iter().any(|f| f.key == v.key) {
            return false;
        }
        let u = v.uuid.to_ascii_lowercase();
        if !spec.uuids.is_empty() || !spec.names.is_empty() {
            return spec.uuids.contains(&u) || spec.names.iter().any(|(x, _)| *x == u);
        }
        if from_file {
            return v
                .entry
                .as_ref()
                .is_some_and(|e| e.line > 0 && !e.options.noauto);
        }
        true
    }

    /// Opens locked volumes until root (and resume=) resolve with nothing locked under them;
    /// everything allowed when `all` (rd.auto). Returns the last discovery.
    /// `wanted`: root (and resume=) resolve with nothing locked under them.
    #[allow(clippy::too_many_arguments)]
    pub fn open(
        &mut self,
        inputs: &Inputs,
        st: &Settings,
        g: Graph,
        spec: &BootSpec,
        env: &BootEnv,
        src: &Sources,
        from_file: bool,
        all: bool,
        wanted: &dyn Fn(&Graph) -> bool,
    ) -> Graph {
        let locked = g
            .cryptvols
            .iter()
            .any(|v| v.state == CryptState::Locked && self.candidate(&spec.luks, from_file, v));
        if !locked || (!all && wanted(&g)) {
            return g;
        }
        let mut prompter = super::prompt::ConsolePrompter::open(env);
        let mut rep = UnlockReport::default();
        let candidate = |_: &Graph, v: &CryptVol| self.candidate(&spec.luks, from_file, v);
        let done = |g: &Graph| !all && wanted(g);
        let g = askpass::unlock_until(
            inputs,
            st,
            g,
            &candidate,
            &done,
            src,
            prompter.as_mut().map(|p| p as &mut dyn askpass::Prompter),
            &mut rep,
        );
        for l in &rep.lines {
            log::info!("{l}");
        }
        for f in rep.failed {
            log::error!(
                "Cannot open LUKS volume {}: {}{}",
                f.what,
                f.reason,
                if f.nofail {
                    " (nofail: the boot goes on)"
                } else {
                    ""
                }
            );
            self.failed.push(f);
        }
        g
    }

    /// The failure report when root is not found and a volume it may be inside did not open.
    pub fn failure(&self, g: &Graph) -> Option<String> {
        let fatal: Vec<&Failure> = self.failed.iter().filter(|f| !f.nofail).collect();
        if fatal.is_empty() {
            return None;
        }
        // While other candidates are still locked, root may yet be in one of them.
        if g.cryptvols
            .iter()
            .any(|v| v.state == CryptState::Locked && !self.failed.iter().any(|f| f.key == v.key))
        {
            return None;
        }
        let what: Vec<String> = fatal
            .iter()
            .map(|f| format!("{}: {}", f.what, f.reason))
            .collect();
        Some(format!(
            "Cannot open the LUKS volume(s) root may be inside: {}",
            what.join("; ")
        ))
    }

    /// A new attempt after the failure path (Enter on the console): ask again.
    pub fn retry(&mut self) {
        self.failed.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The command line's volumes join the initramfs' crypttab: a crypttab line for the same
    /// UUID keeps its name and takes the command line's key and options; the others are named
    /// `luks-UUID` or as rd.luks.name says, with the global options.
    #[test]
    fn crypttab_and_command_line() {
        let d = std::env::temp_dir().join(format!("evms-boot-luks-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(
            d.join("crypttab"),
            "cryptroot UUID=5e0c0000-0000-4000-8000-000000000001 none luks,discard\n",
        )
        .unwrap();
        let (spec, _) = BootSpec::parse(
            "rd.luks.uuid=5E0C0000-0000-4000-8000-000000000001 \
             rd.luks.uuid=5e0c0000-0000-4000-8000-000000000003 \
             rd.luks.name=5e0c0000-0000-4000-8000-000000000002=data \
             rd.luks.key=5e0c0000-0000-4000-8000-000000000001=/k/root.key \
             rd.luks.options=readonly,bogus",
        );
        let (e, from_file, w) = entries(&spec.luks, &d);
        assert!(from_file);
        let names: Vec<&str> = e.iter().map(|x| x.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "cryptroot",
                "luks-5e0c0000-0000-4000-8000-000000000003",
                "data"
            ]
        );
        assert_eq!(e[0].keyfile.as_ref().unwrap().path, "/k/root.key");
        assert_eq!(e[0].options.activation, ["discard"]);
        assert_eq!(e[1].options.activation, ["readonly"]);
        assert_eq!(e[2].line, 0);
        assert_eq!(w.len(), 2, "{w:?}");
        let (spec, _) = BootSpec::parse("rd.luks.crypttab=0");
        assert!(entries(&spec.luks, &d).0.is_empty());
        assert_eq!(
            key_file("/k:/dev/vdb"),
            KeyFile {
                path: "/k".into(),
                device: Some("/dev/vdb".into())
            }
        );
        std::fs::remove_dir_all(&d).unwrap();
    }
}
