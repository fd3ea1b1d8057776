//! Key derivation: PBKDF2-HMAC with the header's hash, and Argon2i/Argon2id with LUKS2's
//! `time` (iterations), `memory` (KiB) and `cpus` (lanes) — RustCrypto's `pbkdf2`, `hmac`,
//! `sha1`/`sha2` and `argon2`. Argon2's memory is checked against what the caller says is
//! available before anything is allocated, and allocated with `try_reserve`, so an oversized
//! cost is refused with a message instead of the process being OOM-killed.

use crate::formats::luks::Hash;
use argon2::{Algorithm, Argon2, Block, Params, Version};
use hmac::Hmac;
use sha1::Sha1;
use sha2::{Sha224, Sha256, Sha384, Sha512};
use std::fmt;
use zeroize::Zeroize;

/// Why a KDF did not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KdfError {
    /// A parameter out of the KDF's range (named, with the value).
    Param(String),
    /// Argon2 needs more memory than is available (bytes).
    Memory { needed: u64, available: u64 },
}

impl fmt::Display for KdfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KdfError::Param(s) => f.write_str(s),
            KdfError::Memory { needed, available } => write!(
                f,
                "argon2 needs {} MiB of memory, {} MiB are available",
                needed >> 20,
                available >> 20
            ),
        }
    }
}

/// PBKDF2-HMAC-`hash` of `pass` with `salt`, `iterations` rounds, filling `out`.
pub fn pbkdf2(
    hash: Hash,
    pass: &[u8],
    salt: &[u8],
    iterations: u32,
    out: &mut [u8],
) -> Result<(), KdfError> {
    if iterations == 0 {
        return Err(KdfError::Param("pbkdf2 iterations: 0".into()));
    }
    // HMAC accepts keys of any length, so the InvalidLength error cannot occur.
    let r = match hash {
        Hash::Sha1 => pbkdf2::pbkdf2::<Hmac<Sha1>>(pass, salt, iterations, out),
        Hash::Sha224 => pbkdf2::pbkdf2::<Hmac<Sha224>>(pass, salt, iterations, out),
        Hash::Sha256 => pbkdf2::pbkdf2::<Hmac<Sha256>>(pass, salt, iterations, out),
        Hash::Sha384 => pbkdf2::pbkdf2::<Hmac<Sha384>>(pass, salt, iterations, out),
        Hash::Sha512 => pbkdf2::pbkdf2::<Hmac<Sha512>>(pass, salt, iterations, out),
    };
    r.map_err(|_| KdfError::Param("pbkdf2: invalid key length".into()))
}

/// Argon2 parameters as a LUKS2 keyslot stores them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Cost {
    pub id: bool,
    pub time: u32,
    /// KiB.
    pub memory: u32,
    pub cpus: u32,
}

impl Argon2Cost {
    fn params(&self, out_len: usize) -> Result<Params, KdfError> {
        Params::new(self.memory, self.time, self.cpus, Some(out_len)).map_err(|e| {
            KdfError::Param(format!(
                "argon2 time {} memory {} cpus {}: {e}",
                self.time, self.memory, self.cpus
            ))
        })
    }

    /// Bytes of memory the computation holds (whole 1 KiB blocks, as libargon2 rounds).
    pub fn memory_bytes(&self) -> Result<u64, KdfError> {
        Ok(self.params(32)?.block_count() as u64 * 1024)
    }
}

/// Argon2 (version 0x13, as libargon2 in cryptsetup) of `pass` with `salt`, filling `out`.
/// `available` is the memory the caller can spare (bytes, e.g. MemAvailable).
pub fn argon2(
    cost: Argon2Cost,
    pass: &[u8],
    salt: &[u8],
    out: &mut [u8],
    available: u64,
) -> Result<(), KdfError> {
    let params = cost.params(out.len())?;
    let n = params.block_count();
    let needed = n as u64 * 1024;
    if needed > available {
        return Err(KdfError::Memory { needed, available });
    }
    let mut blocks: Vec<Block> = Vec::new();
    blocks.try_reserve_exact(n).map_err(|_| KdfError::Memory {
        needed,
        available: 0,
    })?;
    blocks.resize(n, Block::default());
    let alg = if cost.id {
        Algorithm::Argon2id
    } else {
        Algorithm::Argon2i
    };
    let r = Argon2::new(alg, Version::V0x13, params).hash_password_into_with_memory(
        pass,
        salt,
        out,
        &mut blocks,
    );
    blocks.zeroize();
    r.map_err(|e| KdfError::Param(format!("argon2: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn pbkdf2_rfc6070_and_sha256() {
        let mut out = [0u8; 20];
        pbkdf2(Hash::Sha1, b"password", b"salt", 2, &mut out).unwrap();
        assert_eq!(hex(&out), "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957");
        let mut out = [0u8; 32];
        pbkdf2(Hash::Sha256, b"password", b"salt", 1, &mut out).unwrap();
        assert_eq!(
            hex(&out),
            "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b"
        );
        assert!(pbkdf2(Hash::Sha256, b"p", b"s", 0, &mut out).is_err());
    }

    #[test]
    fn argon2_costs_and_memory_refusal() {
        // Deterministic, and different for i and id; memory checked before allocating.
        let c = Argon2Cost {
            id: true,
            time: 1,
            memory: 64,
            cpus: 2,
        };
        let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
        argon2(c, b"pass", &[1u8; 32], &mut a, 1 << 20).unwrap();
        argon2(c, b"pass", &[1u8; 32], &mut b, 1 << 20).unwrap();
        assert_eq!(a, b);
        argon2(
            Argon2Cost { id: false, ..c },
            b"pass",
            &[1u8; 32],
            &mut b,
            1 << 20,
        )
        .unwrap();
        assert_ne!(a, b);
        let big = Argon2Cost {
            memory: 4 << 20,
            ..c
        };
        assert_eq!(
            argon2(big, b"p", &[1u8; 32], &mut a, 1 << 30),
            Err(KdfError::Memory {
                needed: 4 << 30,
                available: 1 << 30
            })
        );
        assert!(argon2(
            Argon2Cost { time: 0, ..c },
            b"p",
            &[1u8; 32],
            &mut a,
            1 << 30
        )
        .is_err());
    }

    #[test]
    fn argon2_reference_vectors() {
        // The reference implementation's CLI (Debian package argon2):
        // `echo -n password | argon2 somesalt -id -t 2 -k 64 -p 1 -l 32 -r` and `-i ... -p 2`.
        let c = Argon2Cost {
            id: true,
            time: 2,
            memory: 64,
            cpus: 1,
        };
        let mut out = [0u8; 32];
        argon2(c, b"password", b"somesalt", &mut out, 1 << 20).unwrap();
        assert_eq!(
            hex(&out),
            "16a1a498734609dd01456da406de9f3d9da93e6c86c300a12fc1465214ce4922"
        );
        let c = Argon2Cost {
            id: false,
            cpus: 2,
            ..c
        };
        argon2(c, b"password", b"somesalt", &mut out, 1 << 20).unwrap();
        assert_eq!(
            hex(&out),
            "bb7102d90a580d2aa1c1a83817f24ab18c7cc810ccd2c2a0d0c80c94ad299167"
        );
    }
}
