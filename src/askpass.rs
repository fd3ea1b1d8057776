//! Where passphrases come from, and the order LUKS volumes are opened in. Shared by the
//! command line (`--key-file`, a terminal prompt) and the boot (crypttab key files in the
//! initramfs, `rd.luks.key=`, a prompt on the consoles).
//!
//! For one volume ([`open_volume`]), in this order, as systemd-cryptsetup and cryptsetup do:
//! 1. its own key file (crypttab's third field or `rd.luks.key=`; `keyfile-offset=` and
//!    `keyfile-size=`), the exact bytes; if it does not open the volume, that is said and a
//!    passphrase is asked for (systemd falls back the same way);
//! 2. the key files given for every volume (`activate --key-file`);
//! 3. passphrases that opened another volume in this run, most recent first (four members,
//!    one prompt);
//! 4. the empty passphrase when crypttab says `try-empty-password`;
//! 5. the prompt, `tries=` times (3 by default), saying which volume; after a wrong answer
//!    "No key available with this passphrase." and the next try.
//!
//! Steps 1-4 are quiet: [`unlock_until`] tries them on every candidate volume before it asks
//! anyone, so one answer opens all volumes sharing a passphrase. It stops as soon as what the
//! caller wants is found (root at boot, the named volumes on the command line), so volumes
//! nothing needs are not asked for.
//!
//! Nothing here writes to a LUKS header; passphrases live in [`Passphrase`] (zeroed on drop).

use crate::config::crypttab::Entry;
use crate::engine::crypt::{CryptState, CryptVol};
use crate::engine::{self, Graph, Inputs, Settings};
use crate::unlock::{Passphrase, UnlockError};
use std::io::Read;
use std::path::{Path, PathBuf};

/// cryptsetup's default limit on key file size (`DEFAULT_KEYFILE_SIZE_MAXKB`, 8 MiB).
pub const MAX_KEYFILE: u64 = 8 << 20;

/// Whoever can answer a passphrase prompt (a terminal, the boot consoles).
pub trait Prompter {
    /// Shows `prompt` and reads one answer without echo (the line, without its newline);
    /// `None`: nobody can answer (no terminal, end of input).
    fn ask(&mut self, prompt: &str) -> Option<Passphrase>;
    /// Tells the person at the prompt something (a wrong passphrase, giving up).
    fn say(&mut self, msg: &str);
}

/// The passphrase sources of a run besides the prompt.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// Key files given for every volume (`--key-file`), their bytes.
    pub key_files: Vec<(String, Passphrase)>,
    /// Where crypttab's key file paths are looked up (`/`; tests: a scratch tree).
    pub root: PathBuf,
}

/// Reads a key file as cryptsetup `--key-file` does: the exact bytes (no newline processing),
/// after `offset` bytes, `size` bytes when given (it must hold that many) else all of it up to
/// 8 MiB. `-` reads standard input.
pub fn read_key_file(path: &Path, offset: u64, size: Option<u64>) -> Result<Passphrase, String> {
    let name = path.display();
    let limit = size.unwrap_or(MAX_KEYFILE);
    if limit > MAX_KEYFILE {
        return Err(format!(
            "key file {name}: keyfile-size {limit} is larger than the {MAX_KEYFILE}-byte limit"
        ));
    }
    let mut r: Box<dyn Read> = if path == Path::new("-") {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(path).map_err(|e| format!("key file {name}: {e}"))?)
    };
    if offset > 0 {
        let skipped = std::io::copy(&mut (&mut r).take(offset), &mut std::io::sink())
            .map_err(|e| format!("key file {name}: {e}"))?;
        if skipped < offset {
            return Err(format!(
                "key file {name}: keyfile-offset {offset} is past its end ({skipped} bytes)"
            ));
        }
    }
    let mut buf = zeroize::Zeroizing::new(Vec::new());
    // One byte more than allowed tells a file that is too large from one that fits.
    (&mut r)
        .take(limit + u64::from(size.is_none()))
        .read_to_end(&mut buf)
        .map_err(|e| format!("key file {name}: {e}"))?;
    let got = buf.len() as u64;
    match size {
        Some(s) if got < s => Err(format!(
            "key file {name}: keyfile-size {s}, but only {got} bytes after offset {offset}"
        )),
        None if got > MAX_KEYFILE => Err(format!(
            "key file {name}: larger than {MAX_KEYFILE} bytes (give keyfile-size=)"
        )),
        _ => Ok(Passphrase::new(std::mem::take(&mut *buf))),
    }
}

/// Longest passphrase read from a prompt (cryptsetup's interactive limit is 512 characters;
/// more is refused rather than cut).
pub const MAX_TYPED: usize = 4096;

/// Shows `prompt` on every terminal in `ttys` with echo off and returns the first line any of
/// them completes (its newline and a carriage return before it removed): several consoles, the
/// first answer wins. `Ok(None)`: every one of them reached end of input. Echo is restored on
/// all of them whatever happens; the typed newline is echoed (ECHONL), the rest is not.
pub fn ask_ttys(ttys: &[std::fs::File], prompt: &str) -> std::io::Result<Option<Passphrase>> {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use nix::sys::termios::{tcgetattr, tcsetattr, LocalFlags, SetArg};
    use std::io::Write;
    use std::os::fd::AsFd;
    // Echo off where the file is a terminal (a pipe in tests has no termios).
    let saved: Vec<Option<nix::sys::termios::Termios>> = ttys
        .iter()
        .map(|t| {
            let old = tcgetattr(t.as_fd()).ok()?;
            let mut new = old.clone();
            new.local_flags.remove(LocalFlags::ECHO);
            new.local_flags
                .insert(LocalFlags::ICANON | LocalFlags::ECHONL);
            tcsetattr(t.as_fd(), SetArg::TCSAFLUSH, &new).ok()?;
            Some(old)
        })
        .collect();
    for mut t in ttys {
        let _ = t.write_all(prompt.as_bytes());
        let _ = t.flush();
    }
    let mut bufs: Vec<zeroize::Zeroizing<Vec<u8>>> = ttys
        .iter()
        .map(|_| zeroize::Zeroizing::new(Vec::new()))
        .collect();
    let mut open: Vec<bool> = vec![true; ttys.len()];
    let result = loop {
        let idx: Vec<usize> = (0..ttys.len()).filter(|&i| open[i]).collect();
        if idx.is_empty() {
            break Ok(None);
        }
        let mut fds: Vec<PollFd<'_>> = idx
            .iter()
            .map(|&i| PollFd::new(ttys[i].as_fd(), PollFlags::POLLIN))
            .collect();
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => break Err(std::io::Error::from(e)),
        }
        let ready: Vec<(usize, PollFlags)> = idx
            .iter()
            .zip(fds.iter())
            .map(|(&i, f)| (i, f.revents().unwrap_or(PollFlags::empty())))
            .collect();
        drop(fds);
        let mut done = None;
        for (i, ev) in ready {
            if ev.is_empty() {
                continue;
            }
            let mut chunk = zeroize::Zeroizing::new([0u8; 512]);
            let n = match std::io::Read::read(&mut &ttys[i], &mut chunk[..]) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => 0,
            };
            if n == 0 {
                open[i] = false;
                continue;
            }
            bufs[i].extend_from_slice(&chunk[..n]);
            if let Some(nl) = bufs[i].iter().position(|&c| c == b'\n') {
                let mut line = bufs[i][..nl].to_vec();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                done = Some(line);
                break;
            }
            if bufs[i].len() > MAX_TYPED {
                bufs[i].clear();
                let _ = (&ttys[i]).write_all(
                    format!("\npassphrase longer than {MAX_TYPED} bytes: ignored\n").as_bytes(),
                );
            }
        }
        if let Some(line) = done {
            break Ok(Some(Passphrase::new(line)));
        }
    };
    for (t, old) in ttys.iter().zip(saved) {
        if let Some(old) = old {
            let _ = tcsetattr(t.as_fd(), SetArg::TCSAFLUSH, &old);
        }
    }
    result
}

/// systemd's password agents (systemd's "Password Agents" specification), as
/// systemd-cryptsetup asks for a passphrase: a datagram socket and an `ask.*` file in
/// `/run/systemd/ask-password/`; whichever agent runs (the console agent, plymouth, a wall
/// agent) shows the message and sends `+PASSPHRASE\0` (or `-`, cancelled) to the socket. Only
/// an answer from root or our own user (SO_PASSCRED) is taken, as systemd takes it.
pub struct AgentPrompter {
    dir: PathBuf,
    id: String,
    n: u32,
}

impl AgentPrompter {
    /// Agents answer in `dir` (`/run/systemd/ask-password`); `None` when it does not exist
    /// (systemd is not running).
    pub fn new(dir: &Path, id: &str) -> Option<AgentPrompter> {
        dir.is_dir().then(|| AgentPrompter {
            dir: dir.to_path_buf(),
            id: id.to_string(),
            n: 0,
        })
    }

    fn ask_agents(&mut self, prompt: &str) -> std::io::Result<Option<Passphrase>> {
        use nix::sys::socket::{
            bind, recvmsg, setsockopt, socket, sockopt, AddressFamily, ControlMessageOwned,
            MsgFlags, SockFlag, SockType, UnixAddr,
        };
        use std::io::Write;
        use std::os::fd::AsRawFd;
        use std::os::unix::fs::PermissionsExt;
        self.n += 1;
        let tag = format!("evms-{}-{}", std::process::id(), self.n);
        let sck = self.dir.join(format!("sck.{tag}"));
        let ask = self.dir.join(format!("ask.{tag}"));
        let tmp = self.dir.join(format!(".ask.{tag}"));
        let _ = std::fs::remove_file(&sck);
        let fd = socket(
            AddressFamily::Unix,
            SockType::Datagram,
            SockFlag::SOCK_CLOEXEC,
            None,
        )?;
        bind(fd.as_raw_fd(), &UnixAddr::new(&sck)?)?;
        let cleanup = |files: &[&Path]| {
            for f in files {
                let _ = std::fs::remove_file(f);
            }
        };
        let res = (|| {
            std::fs::set_permissions(&sck, std::fs::Permissions::from_mode(0o600))?;
            setsockopt(&fd, sockopt::PassCred, &true)?;
            let text = format!(
                "[Ask]\nPID={}\nSocket={}\nAcceptCached=0\nEcho=0\nNotAfter=0\nMessage={}\nIcon=drive-harddisk\nId=evms-activate:{}\n",
                std::process::id(),
                sck.display(),
                prompt.trim_end().replace('\n', " "),
                self.id
            );
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(text.as_bytes())?;
            drop(f);
            std::fs::rename(&tmp, &ask)?;
            loop {
                let mut buf = zeroize::Zeroizing::new(vec![0u8; MAX_TYPED + 2]);
                let mut cmsg = nix::cmsg_space!(nix::sys::socket::UnixCredentials);
                let mut iov = [std::io::IoSliceMut::new(&mut buf[..])];
                let (n, uid) = {
                    let m = recvmsg::<()>(
                        fd.as_raw_fd(),
                        &mut iov,
                        Some(&mut cmsg),
                        MsgFlags::empty(),
                    )?;
                    let uid = m.cmsgs()?.find_map(|c| match c {
                        ControlMessageOwned::ScmCredentials(u) => Some(u.uid()),
                        _ => None,
                    });
                    (m.bytes, uid)
                };
                let me = nix::unistd::getuid().as_raw();
                if uid != Some(0) && uid != Some(me) {
                    log::warn!("ignoring a password agent's answer from another user");
                    continue;
                }
                // `+` and the passwords, each followed by a NUL (systemd's agents send one
                // or more); `-`: cancelled. The first one is the answer.
                return Ok(match buf.first() {
                    Some(b'+') if n >= 1 => {
                        let body = &buf[1..n];
                        let end = body.iter().position(|&c| c == 0).unwrap_or(body.len());
                        Some(Passphrase::new(body[..end].to_vec()))
                    }
                    _ => None,
                });
            }
        })();
        cleanup(&[&ask, &tmp, &sck]);
        res
    }
}

impl Prompter for AgentPrompter {
    fn ask(&mut self, prompt: &str) -> Option<Passphrase> {
        match self.ask_agents(prompt) {
            Ok(p) => p,
            Err(e) => {
                log::error!("asking systemd's password agents failed: {e}");
                None
            }
        }
    }
    fn say(&mut self, msg: &str) {
        log::warn!("{msg}");
    }
}

/// The outcome for one volume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened {
    /// Opened (by what: "key file X", "the passphrase that opened Y", "the passphrase given").
    Yes(String),
    /// Not opened; the reason for the log. `asked`: a prompt was shown.
    No { reason: String, asked: bool },
}

/// A volume's key file (crypttab or `rd.luks.key=`), read; Err: why it was not usable.
fn entry_key_file(e: &Entry, root: &Path) -> Option<Result<Passphrase, String>> {
    let k = e.keyfile.as_ref()?;
    if let Some(dev) = &k.device {
        return Some(Err(format!(
            "key file {} on device {dev}: key files on another device are not supported",
            k.path
        )));
    }
    let p = if k.path == "-" {
        PathBuf::from("-")
    } else {
        root.join(k.path.trim_start_matches('/'))
    };
    Some(read_key_file(
        &p,
        e.options.keyfile_offset,
        e.options.keyfile_size,
    ))
}

/// How a volume is named to the person at the prompt: its header device and the name it
/// opens under (`vda2 (cryptroot)`).
pub fn describe(g: &Graph, v: &CryptVol) -> String {
    format!("{} ({})", g.node(v.header_node).name, v.name)
}

/// Tries one passphrase on volume `v`; `Some(Ok)` opened, `Some(Err)` a reason other than a
/// wrong passphrase (the search for this volume stops), `None` wrong.
fn try_one(
    g: &Graph,
    v: &CryptVol,
    settings: &Settings,
    pass: &Passphrase,
) -> Option<Result<(), String>> {
    let keys = &settings.keys;
    if keys.known_wrong(&v.header, pass) {
        return None;
    }
    let dev = g.node(v.header_node).reader()?;
    let slot = v.entry.as_ref().and_then(|e| e.options.key_slot);
    match keys.open(&v.header, &**dev, pass, slot) {
        Ok(_) => Some(Ok(())),
        Err(UnlockError::WrongPassphrase { skipped, .. }) if skipped.is_empty() => None,
        Err(e @ UnlockError::WrongPassphrase { .. }) => {
            // Keyslots were left out (memory, unsupported KDF): say why once the prompt ends.
            log::info!("{}: {e}", describe(g, v));
            None
        }
        Err(e @ UnlockError::TokenOnly { .. }) => Some(Err(e.to_string())),
        Err(e) => Some(Err(e.to_string())),
    }
}

/// Steps 1-4 of the module documentation: opens `v` without asking anyone, if it can.
pub fn open_quietly(g: &Graph, v: &CryptVol, settings: &Settings, src: &Sources) -> Option<Opened> {
    if let Some(e) = &v.entry {
        match entry_key_file(e, &src.root) {
            Some(Ok(p)) => match try_one(g, v, settings, &p) {
                Some(Ok(())) => {
                    return Some(Opened::Yes(format!(
                        "key file {}",
                        e.keyfile.as_ref().map_or("", |k| k.path.as_str())
                    )))
                }
                Some(Err(why)) => {
                    return Some(Opened::No {
                        reason: why,
                        asked: false,
                    })
                }
                None => log::warn!(
                    "{}: key file {} does not open it; asking for a passphrase",
                    describe(g, v),
                    e.keyfile.as_ref().map_or("", |k| k.path.as_str())
                ),
            },
            Some(Err(why)) => log::warn!("{}: {why}; asking for a passphrase", describe(g, v)),
            None => {}
        }
    }
    for (name, p) in &src.key_files {
        match try_one(g, v, settings, p) {
            Some(Ok(())) => return Some(Opened::Yes(format!("key file {name}"))),
            Some(Err(why)) => {
                return Some(Opened::No {
                    reason: why,
                    asked: false,
                })
            }
            None => {}
        }
    }
    for p in settings.keys.reusable() {
        if let Some(Ok(())) = try_one(g, v, settings, &p) {
            return Some(Opened::Yes(
                "the passphrase that opened another volume".into(),
            ));
        }
    }
    if v.entry
        .as_ref()
        .is_some_and(|e| e.options.try_empty_password)
    {
        if let Some(Ok(())) = try_one(g, v, settings, &Passphrase::new(Vec::new())) {
            return Some(Opened::Yes("the empty passphrase".into()));
        }
    }
    None
}

/// Opens `v`: quietly if it can, else by asking `prompter` (`tries=` times).
pub fn open_volume<'p>(
    g: &Graph,
    v: &CryptVol,
    settings: &Settings,
    src: &Sources,
    prompter: Option<&mut (dyn Prompter + 'p)>,
) -> Opened {
    if let Some(o) = open_quietly(g, v, settings, src) {
        return o;
    }
    let opts = v
        .entry
        .as_ref()
        .map(|e| e.options.clone())
        .unwrap_or_default();
    if let Some(t) = opts.tokens.first() {
        log::warn!(
            "{}: crypttab {t}: unlocking through tokens (TPM2, FIDO2, PKCS#11) is not supported; asking for a passphrase",
            describe(g, v)
        );
    }
    let Some(prompter) = prompter.filter(|_| !opts.headless) else {
        return Opened::No {
            reason: "no key file opens it and there is no terminal to ask for a passphrase".into(),
            asked: false,
        };
    };
    let what = describe(g, v);
    let mut n = 0u32;
    loop {
        n += 1;
        let prompt = format!("Please enter passphrase for disk {what}: ");
        let Some(p) = prompter.ask(&prompt) else {
            return Opened::No {
                reason: "no passphrase was given".into(),
                asked: true,
            };
        };
        match try_one(g, v, settings, &p) {
            Some(Ok(())) => return Opened::Yes("the passphrase given".into()),
            Some(Err(why)) => {
                prompter.say(&format!("{what}: {why}"));
                return Opened::No {
                    reason: why,
                    asked: true,
                };
            }
            None => {}
        }
        if opts.tries != 0 && n >= opts.tries {
            let why = format!("no key available with the {n} passphrase(s) given");
            prompter.say(&format!(
                "No key available with this passphrase. {what}: giving up after {n} tries."
            ));
            return Opened::No {
                reason: why,
                asked: true,
            };
        }
        prompter.say("No key available with this passphrase.");
    }
}

/// The locked LUKS volumes (indexes into `g.cryptvols`) among the nodes `ids` and everything
/// they are built from.
pub fn locked_in_chain(g: &Graph, ids: &[engine::NodeId]) -> Vec<usize> {
    let mut out = Vec::new();
    for &id in ids {
        for n in std::iter::once(id).chain(g.ancestors(id)) {
            if let engine::NodeKind::Crypt { vol } = g.node(n).kind {
                if g.cryptvols[vol].state == CryptState::Locked && !out.contains(&vol) {
                    out.push(vol);
                }
            }
        }
    }
    out
}

/// Whether node `id` is whole: nothing it is built on is a locked LUKS volume, an array
/// missing members or an LV missing PVs. While it is not, a locked volume may be the missing
/// piece (the fourth member of an array over four LUKS volumes), so opening goes on.
pub fn chain_complete(g: &Graph, id: engine::NodeId) -> bool {
    use crate::engine::lvm::LvState;
    use crate::engine::md::Verdict;
    if !locked_in_chain(g, &[id]).is_empty() {
        return false;
    }
    std::iter::once(id)
        .chain(g.ancestors(id))
        .all(|n| match &g.node(n).kind {
            engine::NodeKind::Md { array } => {
                g.node(n).is_active() || matches!(g.arrays[*array].verdict, Verdict::Complete)
            }
            engine::NodeKind::Lv { vg, lv } => !matches!(
                g.vgs[*vg].lv_info(lv).map(|i| &i.state),
                Some(LvState::Partial { .. })
            ),
            _ => true,
        })
}

/// A volume that was tried and did not open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The volume's key (`luks:<uuid>`).
    pub key: String,
    /// `vda2 (cryptroot)`.
    pub what: String,
    pub reason: String,
    /// crypttab `nofail`: its failure fails nothing else.
    pub nofail: bool,
}

/// What [`unlock_until`] did.
#[derive(Debug, Default)]
pub struct UnlockReport {
    /// "opened vda2 (cryptroot) with key file /k": for the log.
    pub lines: Vec<String>,
    pub failed: Vec<Failure>,
}

/// Opens locked volumes until `done(graph)` holds or no candidate is left: every candidate
/// (`candidate(graph, volume)`) is first tried quietly, and only when none opens that way is
/// the first one not yet tried asked for. After each volume opened, discovery runs again (what
/// it holds may be another volume). Returns the last discovery. Each volume is asked for at
/// most once, so the loop ends.
#[allow(clippy::too_many_arguments)]
pub fn unlock_until<'p>(
    inputs: &Inputs,
    settings: &Settings,
    mut g: Graph,
    candidate: &dyn Fn(&Graph, &CryptVol) -> bool,
    done: &dyn Fn(&Graph) -> bool,
    src: &Sources,
    mut prompter: Option<&mut (dyn Prompter + 'p)>,
    report: &mut UnlockReport,
) -> Graph {
    let mut asked: Vec<String> = Vec::new();
    let mut quiet_failed: Vec<String> = Vec::new();
    for _ in 0..engine::MAX_NODES {
        if done(&g) {
            return g;
        }
        let locked: Vec<usize> = (0..g.cryptvols.len())
            .filter(|&i| {
                let v = &g.cryptvols[i];
                v.state == CryptState::Locked && candidate(&g, v) && !asked.contains(&v.key)
            })
            .collect();
        if locked.is_empty() {
            return g;
        }
        let mut opened = false;
        for &i in &locked {
            let v = &g.cryptvols[i];
            if quiet_failed.contains(&v.key) {
                continue;
            }
            match open_quietly(&g, v, settings, src) {
                Some(Opened::Yes(by)) => {
                    report
                        .lines
                        .push(format!("opened {} with {by}", describe(&g, v)));
                    opened = true;
                    break;
                }
                Some(Opened::No { reason, .. }) => {
                    fail(report, &g, v, reason);
                    asked.push(v.key.clone());
                }
                None => quiet_failed.push(v.key.clone()),
            }
        }
        if !opened {
            let Some(&i) = locked
                .iter()
                .find(|&&i| !asked.contains(&g.cryptvols[i].key))
            else {
                continue;
            };
            let v = &g.cryptvols[i];
            asked.push(v.key.clone());
            match open_volume(&g, v, settings, src, prompter.as_deref_mut()) {
                Opened::Yes(by) => {
                    report
                        .lines
                        .push(format!("opened {} with {by}", describe(&g, v)));
                    opened = true;
                }
                Opened::No { reason, .. } => fail(report, &g, v, reason),
            }
        }
        if opened {
            quiet_failed.clear();
            g = engine::discover(inputs, settings.clone());
        }
    }
    g
}

fn fail(report: &mut UnlockReport, g: &Graph, v: &CryptVol, reason: String) {
    report.failed.push(Failure {
        key: v.key.clone(),
        what: describe(g, v),
        reason,
        nofail: v.entry.as_ref().is_some_and(|e| e.options.nofail),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_read_as_cryptsetup_reads_them() {
        let dir = std::env::temp_dir().join(format!("evms-askpass-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("k");
        std::fs::write(&f, b"secret\n\x00tail").unwrap();
        // Exact bytes: the newline and the NUL are part of the key.
        assert_eq!(
            read_key_file(&f, 0, None).unwrap().as_bytes(),
            b"secret\n\x00tail"
        );
        assert_eq!(read_key_file(&f, 7, Some(2)).unwrap().as_bytes(), b"\x00t");
        assert!(read_key_file(&f, 7, Some(20))
            .unwrap_err()
            .contains("only 5 bytes after offset 7"));
        assert!(read_key_file(&f, 100, None)
            .unwrap_err()
            .contains("past its end"));
        assert!(read_key_file(&dir.join("none"), 0, None).is_err());
        assert!(read_key_file(&f, 0, Some(MAX_KEYFILE + 1)).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[cfg(test)]
mod tty_tests {
    use super::*;
    use std::io::Write;

    /// The ask-password protocol as systemd's agents speak it: the ask file names the socket
    /// and says no echo; the answer `+PASSPHRASE` is the passphrase; files are removed after.
    #[test]
    fn systemd_password_agents_answer() {
        let dir = std::env::temp_dir().join(format!("evms-ask-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let d2 = dir.clone();
        let agent = std::thread::spawn(move || loop {
            let ask = std::fs::read_dir(&d2)
                .unwrap()
                .flatten()
                .find(|e| e.file_name().to_string_lossy().starts_with("ask."));
            let Some(ask) = ask else {
                std::thread::yield_now();
                continue;
            };
            let text = std::fs::read_to_string(ask.path()).unwrap();
            let sock = text
                .lines()
                .find_map(|l| l.strip_prefix("Socket="))
                .unwrap()
                .to_string();
            let u = std::os::unix::net::UnixDatagram::unbound().unwrap();
            // As systemd's agents send it: each password NUL-terminated.
            u.send_to(b"+s3cret\0", &sock).unwrap();
            return text;
        });
        let mut p = AgentPrompter::new(&dir, "vda2").unwrap();
        let got = p
            .ask("Please enter passphrase for disk vda2 (c): ")
            .unwrap();
        assert_eq!(got.as_bytes(), b"s3cret");
        let text = agent.join().unwrap();
        assert!(text.starts_with("[Ask]\nPID="), "{text}");
        assert!(text.contains("\nEcho=0\n"));
        assert!(text.contains("\nMessage=Please enter passphrase for disk vda2 (c):\n"));
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(AgentPrompter::new(&dir, "x").is_none());
    }

    /// Two "consoles" (pipes here: no termios): the first one to complete a line wins; a
    /// carriage return before the newline is not part of the passphrase.
    /// On a real terminal (a pty): the prompt is shown, what is typed is not echoed (only its
    /// newline), and the terminal's echo is back afterwards.
    #[test]
    fn a_terminal_shows_the_prompt_and_not_the_passphrase() {
        use std::io::Read;
        let pty = nix::pty::openpty(None, None).unwrap();
        let mut master = std::fs::File::from(pty.master);
        let slave = std::fs::File::from(pty.slave);
        let slave2 = slave.try_clone().unwrap();
        let t = std::thread::spawn(move || ask_ttys(&[slave2], "Passphrase for vda2: ").unwrap());
        let mut seen = Vec::new();
        let mut b = [0u8; 256];
        while !String::from_utf8_lossy(&seen).contains("Passphrase for vda2: ") {
            let n = master.read(&mut b).unwrap();
            seen.extend_from_slice(&b[..n]);
        }
        master.write_all(b"s3cret\n").unwrap();
        assert_eq!(t.join().unwrap().unwrap().as_bytes(), b"s3cret");
        // Everything the terminal showed up to a marker written after the answer was read.
        (&slave).write_all(b"END\n").unwrap();
        while !String::from_utf8_lossy(&seen).contains("END") {
            let n = master.read(&mut b).unwrap();
            seen.extend_from_slice(&b[..n]);
        }
        let shown = String::from_utf8_lossy(&seen).into_owned();
        assert!(!shown.contains("s3cret"), "{shown:?}");
        assert_eq!(shown, "Passphrase for vda2: \r\nEND\r\n");
        let t = nix::sys::termios::tcgetattr(&slave).unwrap();
        assert!(t.local_flags.contains(nix::sys::termios::LocalFlags::ECHO));
    }

    #[test]
    fn first_answer_wins() {
        let (r1, mut w1) = nix::unistd::pipe()
            .map(|(r, w)| (std::fs::File::from(r), std::fs::File::from(w)))
            .unwrap();
        let (r2, mut w2) = nix::unistd::pipe()
            .map(|(r, w)| (std::fs::File::from(r), std::fs::File::from(w)))
            .unwrap();
        w1.write_all(b"part").unwrap();
        w2.write_all(b"secret\r\nnext\n").unwrap();
        let got = ask_ttys(&[r1, r2], "").unwrap().unwrap();
        assert_eq!(got.as_bytes(), b"secret");
        drop(w1);
        let (r3, w3) = nix::unistd::pipe()
            .map(|(r, w)| (std::fs::File::from(r), std::fs::File::from(w)))
            .unwrap();
        drop(w3);
        assert!(ask_ttys(&[r3], "").unwrap().is_none());
    }
}
