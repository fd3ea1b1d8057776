//! Every input a fuzz target ever crashed on, run through the same harness code the fuzzer
//! used (`fuzz/src/lib.rs`, included here so a plain `cargo test` needs neither nightly nor
//! cargo-fuzz). Inputs live in `tests/fixtures/fuzz-regressions/<target>/<name>`; beside each,
//! `<name>.expected` holds the text the harness summary must contain (the error the reader
//! now reports instead of panicking, or looping).

#[allow(dead_code)]
#[path = "../fuzz/src/lib.rs"]
mod harness;

use std::path::Path;
use std::time::{Duration, Instant};

/// A regression input must be answered quickly: several were unbounded loops.
const BUDGET: Duration = Duration::from_secs(20);

#[test]
fn fuzz_regressions() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz-regressions");
    let mut ran = 0;
    for target in harness::TARGETS {
        let dir = root.join(target);
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut inputs: Vec<_> = rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_none_or(|e| e != "expected"))
            .collect();
        inputs.sort();
        for input in inputs {
            let data = std::fs::read(&input).unwrap();
            let expected_file = input.with_extension("expected");
            let expected = std::fs::read_to_string(&expected_file)
                .unwrap_or_else(|_| panic!("{} has no .expected file", input.display()));
            let t = Instant::now();
            let got = harness::run(target, &data).unwrap();
            let took = t.elapsed();
            assert!(
                got.contains(expected.trim_end()),
                "{}: got {got:?}, expected it to contain {:?}",
                input.display(),
                expected.trim_end()
            );
            assert!(took < BUDGET, "{}: took {took:?}", input.display());
            ran += 1;
        }
    }
    // The directory exists once the first crash is committed; every target is listed.
    assert!(harness::TARGETS
        .iter()
        .all(|t| harness::run(t, &[]).is_some()));
    eprintln!("{ran} fuzz regression inputs");
}

/// Every target answers the empty input and a single byte (the smallest inputs a fuzzer
/// starts from) without panicking.
#[test]
fn targets_accept_tiny_inputs() {
    for target in harness::TARGETS {
        for data in [&[][..], &[0u8][..], &[0xFFu8; 3][..]] {
            assert!(harness::run(target, data).is_some(), "{target}");
        }
    }
}

/// Seeds of `fuzz/seeds.py` reach past the magic numbers (a corpus that only ever says "none"
/// would fuzz nothing): with FUZZ_SEEDS=DIR, print every seed's summary.
#[test]
fn show_seeds() {
    let Some(dir) = std::env::var_os("FUZZ_SEEDS") else {
        return;
    };
    for target in harness::TARGETS {
        let Ok(rd) = std::fs::read_dir(Path::new(&dir).join(target)) else {
            continue;
        };
        let mut v: Vec<_> = rd.flatten().map(|e| e.path()).collect();
        v.sort();
        for p in v {
            let data = std::fs::read(&p).unwrap();
            let s = harness::run(target, &data).unwrap();
            println!(
                "{target} {}: {}",
                p.file_name().unwrap().to_string_lossy(),
                s.chars().take(200).collect::<String>()
            );
        }
    }
}
