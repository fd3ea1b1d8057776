//! The failure path: say what was found, what is missing and why (the report comes from the
//! caller), then act by policy. Never a silent hang, never a bare kernel panic (an init that
//! exits makes the kernel panic with "Attempted to kill init").
//!
//! Policy ([`decide`]):
//! 1. `rd.shell` and a shell in the initramfs: run it as a child (not exec: when the user
//!    leaves it, PID 1 must still be there), then retry the boot.
//!    `rd.shell` without a shell: a message saying so, then the next rule.
//! 2. `panic=N`, N > 0: reboot after N seconds; N < 0: reboot at once (kernel semantics).
//! 3. Otherwise wait on the console: Enter retries; the report is repeated every
//!    [`REPEAT`] so a console attached later still sees why.

use std::io::BufRead;
use std::os::fd::AsFd;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use super::cmdline::BootSpec;

/// How often the report is repeated while waiting.
pub const REPEAT: Duration = Duration::from_secs(30);

/// What the failure path will do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Run this shell first (then retry).
    pub shell: Option<PathBuf>,
    /// Set when `rd.shell` was asked for but cannot be honoured: the message.
    pub shell_missing: Option<String>,
    /// Without a shell (or none asked for).
    pub then: Then,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Then {
    Reboot(Duration),
    /// Wait on the console; Enter retries.
    Wait,
}

fn is_executable(p: &Path) -> bool {
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The policy for this command line and initramfs.
pub fn decide(spec: &BootSpec, shell: &Path) -> Policy {
    let (shell, shell_missing) = match (spec.shell, is_executable(shell)) {
        (true, true) => (Some(shell.to_path_buf()), None),
        (true, false) => (
            None,
            Some(format!(
                "rd.shell: there is no shell ({}) in this initramfs; add one when generating it",
                shell.display()
            )),
        ),
        (false, _) => (None, None),
    };
    let then = match spec.panic {
        Some(n) if n > 0 => Then::Reboot(Duration::from_secs(n.unsigned_abs())),
        Some(n) if n < 0 => Then::Reboot(Duration::ZERO),
        _ => Then::Wait,
    };
    Policy {
        shell,
        shell_missing,
        then,
    }
}

/// Reports and acts. Returns when the boot should be retried (the shell exited, or Enter was
/// pressed); a reboot does not return.
pub fn run(spec: &BootSpec, shell: &Path, report: &str) {
    for line in report.lines() {
        log::error!("{line}");
    }
    let policy = decide(spec, shell);
    if let Some(msg) = &policy.shell_missing {
        log::error!("{msg}");
    }
    if let Some(sh) = &policy.shell {
        log::error!(
            "Starting {}; leave it (exit) to retry the boot",
            sh.display()
        );
        match std::process::Command::new(sh).status() {
            Ok(_) => return,
            Err(e) => log::error!("Failed to start {}: {e}", sh.display()),
        }
    }
    match policy.then {
        Then::Reboot(after) => {
            log::error!(
                "Rebooting in {} s (panic={})",
                after.as_secs(),
                spec.panic.unwrap_or(0)
            );
            std::thread::sleep(after);
            nix::unistd::sync();
            let Err(e) = nix::sys::reboot::reboot(nix::sys::reboot::RebootMode::RB_AUTOBOOT);
            log::error!("Failed to reboot: {e}");
            wait_on_console(report);
        }
        Then::Wait => wait_on_console(report),
    }
}

/// Waits for Enter on stdin (the console), repeating the report. Returns on Enter. If stdin
/// is closed or not readable, keeps repeating the report forever instead of spinning.
fn wait_on_console(report: &str) {
    let stdin = std::io::stdin();
    let mut stdin_ok = true;
    loop {
        log::error!("Boot stopped: press Enter to retry, or reset the machine");
        let ready = if stdin_ok {
            let mut fds = [PollFd::new(stdin.as_fd(), PollFlags::POLLIN)];
            let t = PollTimeout::try_from(REPEAT).unwrap_or(PollTimeout::MAX);
            matches!(poll(&mut fds, t), Ok(n) if n > 0)
        } else {
            std::thread::sleep(REPEAT);
            false
        };
        if ready {
            let mut line = String::new();
            match stdin.lock().read_line(&mut line) {
                Ok(n) if n > 0 => return,
                // EOF or error: the console cannot give input; never poll it again.
                _ => stdin_ok = false,
            }
        }
        for line in report.lines() {
            log::error!("{line}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies() {
        let d = std::env::temp_dir().join(format!("evms-emerg-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let sh = d.join("sh");
        let spec = |l: &str| BootSpec::parse(l).0;
        let p = decide(&spec("rd.shell panic=5"), &sh);
        assert_eq!(p.shell, None);
        assert_eq!(
            p.shell_missing.as_deref(),
            Some(format!("rd.shell: there is no shell ({}) in this initramfs; add one when generating it", sh.display()).as_str())
        );
        assert_eq!(p.then, Then::Reboot(Duration::from_secs(5)));
        std::fs::write(&sh, "").unwrap();
        // present but not executable is no shell
        assert_eq!(decide(&spec("rd.shell"), &sh).shell, None);
        std::fs::set_permissions(&sh, std::fs::Permissions::from_mode(0o755)).unwrap();
        let p = decide(&spec("rd.shell"), &sh);
        assert_eq!(p.shell, Some(sh.clone()));
        assert_eq!(p.shell_missing, None);
        assert_eq!(p.then, Then::Wait);
        assert_eq!(
            decide(&spec("panic=-1"), &sh).then,
            Then::Reboot(Duration::ZERO)
        );
        assert_eq!(decide(&spec("panic=0"), &sh).then, Then::Wait);
        assert_eq!(
            decide(&spec(""), &sh),
            Policy {
                shell: None,
                shell_missing: None,
                then: Then::Wait
            }
        );
        std::fs::remove_dir_all(&d).unwrap();
    }
}
