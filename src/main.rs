//! The `evms-activate` binary: PID 1 → init mode, otherwise the command line.

fn main() {
    if nix::unistd::getpid().as_raw() == 1 {
        evms_activate::boot::boot_main();
    }
    std::process::exit(evms_activate::cli::main());
}
