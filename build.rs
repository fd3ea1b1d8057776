//! Link options of the static musl binary. Only bins: a `cargo test --release` test (built to
//! unwind) is not one.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=no-eh-frame.ld");
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    if var("CARGO_CFG_TARGET_OS") != "linux" || var("CARGO_CFG_TARGET_ENV") != "musl" {
        return;
    }
    // The static-pie's relative relocations packed as DT_RELR (musl's start code applies them
    // since 1.2.4): 51 KB of .rela.dyn become a few hundred bytes.
    println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    // No unwind tables (no-eh-frame.ld says why): a ninth of the binary. Only in the release
    // profile, the one with panic=abort.
    if var("PROFILE") == "release" {
        let script = std::path::Path::new(&var("CARGO_MANIFEST_DIR")).join("no-eh-frame.ld");
        println!("cargo:rustc-link-arg-bins=-Wl,-T,{}", script.display());
        println!("cargo:rustc-link-arg-bins=-Wl,--no-eh-frame-hdr");
    }
}
