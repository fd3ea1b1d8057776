//! The `evms-activate` binary: PID 1 → init mode, otherwise the command line.

fn main() {
    std::process::exit(evms_activate::cli::main());
}
