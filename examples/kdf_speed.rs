//! KDF speed of the release build, in the form `cryptsetup benchmark` prints it, for comparing
//! the two on one machine (the unlock time is the KDF's):
//!
//! ```text
//! cargo run --release --example kdf_speed [argon2id|argon2i TIME MEMORY_KIB CPUS]
//! cargo run --release --example kdf_speed unlock IMAGE KEYFILE
//! cryptsetup benchmark --pbkdf pbkdf2 --hash sha256
//! time cryptsetup open --test-passphrase --key-file KEYFILE IMAGE
//! ```
//!
//! `unlock` times the whole unlock of an image (header read, KDF, keyslot decryption, AF
//! merge, digest), the operation `cryptsetup open --test-passphrase` performs.
//!
//! PBKDF2: iterations per second for a 256-bit key (2 s of work per hash). Argon2: the time one
//! derivation of a 256-bit key takes with the given cost (default: cryptsetup's benchmark
//! result on the build machine, 4 iterations, 254696 KiB, 4 lanes).

use evms_activate::formats::luks::Hash;
use evms_activate::unlock::kdf::{argon2, pbkdf2, Argon2Cost};
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "unlock") {
        let dev =
            evms_activate::source::FileDev::open(std::path::Path::new(&args[1]), 512).unwrap();
        let pass = std::fs::read(&args[2]).unwrap();
        let t = Instant::now();
        let h = evms_activate::probe::luks::read_header("image", &dev)
            .unwrap()
            .unwrap();
        let r = evms_activate::unlock::open(&h.header, &dev, &pass, u64::MAX);
        println!(
            "unlock: {:.3} s ({})",
            t.elapsed().as_secs_f64(),
            match &r {
                Ok(u) => format!("keyslot {}", u.keyslot),
                Err(e) => e.to_string(),
            }
        );
        return;
    }
    let num = |i: usize, d: u32| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(d);
    if args.is_empty() {
        for h in [Hash::Sha1, Hash::Sha256, Hash::Sha512] {
            let mut out = [0u8; 32];
            let mut n = 1000u32;
            // Grow until a run takes at least 0.5 s, then measure over ~2 s.
            loop {
                let t = Instant::now();
                pbkdf2(h, b"passphrase", &[7u8; 32], n, &mut out).unwrap();
                let e = t.elapsed();
                if e >= Duration::from_millis(500) {
                    let m = (u64::from(n) as f64 * 2.0 / e.as_secs_f64()) as u32;
                    let t = Instant::now();
                    pbkdf2(h, b"passphrase", &[7u8; 32], m, &mut out).unwrap();
                    let rate = f64::from(m) / t.elapsed().as_secs_f64();
                    println!(
                        "PBKDF2-{:<7} {:>10.0} iterations per second for 256-bit key",
                        h.name(),
                        rate
                    );
                    break;
                }
                n = n.saturating_mul(2);
            }
        }
    }
    let id = args.first().is_none_or(|a| a != "argon2i");
    let cost = Argon2Cost {
        id,
        time: num(1, 4),
        memory: num(2, 254_696),
        cpus: num(3, 4),
    };
    let mut out = [0u8; 32];
    let t = Instant::now();
    argon2(cost, b"passphrase", &[7u8; 32], &mut out, u64::MAX).unwrap();
    println!(
        "{} {} iterations, {} memory, {} lanes: {:.3} s",
        if id { "argon2id" } else { "argon2i" },
        cost.time,
        cost.memory,
        cost.cpus,
        t.elapsed().as_secs_f64()
    );
}
