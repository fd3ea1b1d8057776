//! The `evms-activate` binary: PID 1 → init mode (so it can be /init itself), otherwise the
//! command line (`cli::main` checks the PID).

fn main() {
    std::process::exit(evms_activate::cli::main());
}
