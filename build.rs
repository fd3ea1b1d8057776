//! Drops the unwind tables from the release static binary (no-eh-frame.ld says why): a sixth
//! of its size. Only there: the release profile is the one with panic=abort, and a `cargo test
//! --release` unit test (built to unwind) is not a bin, which is all this links.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=no-eh-frame.ld");
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    if var("PROFILE") == "release"
        && var("CARGO_CFG_TARGET_OS") == "linux"
        && var("CARGO_CFG_TARGET_ENV") == "musl"
    {
        let script = std::path::Path::new(&var("CARGO_MANIFEST_DIR")).join("no-eh-frame.ld");
        println!("cargo:rustc-link-arg-bins=-Wl,-T,{}", script.display());
        println!("cargo:rustc-link-arg-bins=-Wl,--no-eh-frame-hdr");
    }
}
