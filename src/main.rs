//! The `evms-activate` binary: PID 1 → init mode (so it can be /init itself), otherwise the
//! command line (`cli::main` checks the PID).

fn main() {
    std::process::exit(evms_activate::cli::main());
}

/// musl's malloc returns freed memory to the kernel at once: an activation made an mmap/munmap
/// pair every few allocations (issue 13 counted 493/489 for the flagship), with the page
/// faults and zeroing that fresh pages bring. dlmalloc (the Rust port std uses on wasm) keeps
/// freed memory for reuse: +13 KB of binary, against +125 KB and twice the peak memory for
/// mimalloc.
#[global_allocator]
static GLOBAL: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;
