//! The passphrase prompt at boot: on every console the kernel writes to
//! (`/sys/class/tty/console/active`: `tty0 ttyS0`, ...), else on `/dev/console`, as systemd's
//! console password agent asks. The prompt names the volume; nothing typed is echoed; the first
//! console to complete a line answers (askpass::ask_ttys).

use super::BootEnv;
use crate::askpass::{self, Prompter};
use crate::unlock::Passphrase;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;

/// The consoles, opened for a prompt.
pub struct ConsolePrompter {
    ttys: Vec<File>,
    names: Vec<String>,
}

/// The console names of `/sys/class/tty/console/active` (`tty0 ttyS0` → both).
pub fn active_consoles(text: &str) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    for w in text.split_whitespace() {
        // Names only: nothing from sysfs becomes a path outside /dev.
        if !w.is_empty() && !w.contains('/') && w != "." && w != ".." && !v.iter().any(|x| x == w) {
            v.push(w.to_string());
        }
    }
    v
}

impl ConsolePrompter {
    /// Opens the active consoles (read and write, not as the controlling terminal); `None`
    /// when not even /dev/console opens.
    pub fn open(env: &BootEnv) -> Option<ConsolePrompter> {
        let active = std::fs::read_to_string(env.sys_dir.join("class/tty/console/active"))
            .map(|t| active_consoles(&t))
            .unwrap_or_default();
        let open = |name: &str| {
            OpenOptions::new()
                .read(true)
                .write(true)
                .custom_flags(nix::libc::O_NOCTTY)
                .open(env.dev_dir.join(name))
        };
        let mut p = ConsolePrompter {
            ttys: Vec::new(),
            names: Vec::new(),
        };
        for n in active {
            match open(&n) {
                Ok(f) => {
                    p.ttys.push(f);
                    p.names.push(n);
                }
                Err(e) => log::debug!("console {n}: {e}"),
            }
        }
        if p.ttys.is_empty() {
            match open("console") {
                Ok(f) => {
                    p.ttys.push(f);
                    p.names.push("console".into());
                }
                Err(e) => {
                    log::error!("Failed to open a console for the passphrase prompt: {e}");
                    return None;
                }
            }
        }
        log::debug!("passphrase prompt on {}", p.names.join(", "));
        Some(p)
    }
}

impl Prompter for ConsolePrompter {
    fn ask(&mut self, prompt: &str) -> Option<Passphrase> {
        // On a line of its own: the console may hold the kernel's last unterminated words.
        match askpass::ask_ttys(&self.ttys, &format!("\n{prompt}")) {
            Ok(p) => p,
            Err(e) => {
                log::error!("Failed to read a passphrase from the console: {e}");
                None
            }
        }
    }

    fn say(&mut self, msg: &str) {
        for t in &mut self.ttys {
            let _ = writeln!(t, "{msg}");
        }
        // In the kernel log too, below the console's level: the console has it already.
        log::info!("{msg}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consoles_from_sysfs() {
        assert_eq!(active_consoles("tty0 ttyS0\n"), ["tty0", "ttyS0"]);
        assert_eq!(active_consoles("ttyS0 ttyS0 ../x .\n"), ["ttyS0"]);
        assert!(active_consoles("").is_empty());
    }
}
