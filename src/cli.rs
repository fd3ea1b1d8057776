//! Command line (argh): scan, plan, activate, deactivate, init.

/// Entry point for the binary; returns the exit status.
pub fn main() -> i32 {
    eprintln!("evms-activate: not wired up yet");
    2
}
