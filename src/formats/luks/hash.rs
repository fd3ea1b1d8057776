//! The hash names LUKS headers carry (LUKS1 `hashSpec`, LUKS2 `checksum_alg`, keyslot `af.hash`,
//! `kdf.hash`, digest `hash`, the `essiv:` IV hash), as cryptsetup's crypto backend spells
//! them. Names are matched exactly: cryptsetup writes them in lower case (its LUKS1 repair
//! lowercases an old header's hash rather than accepting it).
//!
//! ripemd160 and whirlpool (accepted by cryptsetup's OpenSSL backend) are named so that a
//! header using them is reported as unsupported by name; sha3 and the other hashes likewise.

use sha1::Sha1;
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};

/// A hash function this program computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hash {
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

/// Hash names cryptsetup knows that we do not compute: reported as such, not as garbage.
const KNOWN_ELSEWHERE: &[&str] = &[
    "ripemd160",
    "whirlpool",
    "sha3-224",
    "sha3-256",
    "sha3-384",
    "sha3-512",
    "sm3",
    "stribog256",
    "stribog512",
    "blake2b-512",
    "blake2s-256",
];

impl Hash {
    /// The hash for a name as cryptsetup spells it; `None` for anything else.
    pub fn from_name(name: &str) -> Option<Hash> {
        Some(match name {
            "sha1" => Hash::Sha1,
            "sha224" => Hash::Sha224,
            "sha256" => Hash::Sha256,
            "sha384" => Hash::Sha384,
            "sha512" => Hash::Sha512,
            _ => return None,
        })
    }

    /// Whether `name` is a hash cryptsetup accepts but this program does not compute.
    pub fn known_elsewhere(name: &str) -> bool {
        KNOWN_ELSEWHERE.contains(&name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Hash::Sha1 => "sha1",
            Hash::Sha224 => "sha224",
            Hash::Sha256 => "sha256",
            Hash::Sha384 => "sha384",
            Hash::Sha512 => "sha512",
        }
    }

    /// Output size in bytes.
    pub fn size(self) -> usize {
        match self {
            Hash::Sha1 => 20,
            Hash::Sha224 => 28,
            Hash::Sha256 => 32,
            Hash::Sha384 => 48,
            Hash::Sha512 => 64,
        }
    }

    /// The hash of the concatenation of `parts`.
    pub fn digest(self, parts: &[&[u8]]) -> Vec<u8> {
        fn run<D: Digest>(parts: &[&[u8]]) -> Vec<u8> {
            let mut h = D::new();
            for p in parts {
                h.update(p);
            }
            h.finalize().to_vec()
        }
        match self {
            Hash::Sha1 => run::<Sha1>(parts),
            Hash::Sha224 => run::<Sha224>(parts),
            Hash::Sha256 => run::<Sha256>(parts),
            Hash::Sha384 => run::<Sha384>(parts),
            Hash::Sha512 => run::<Sha512>(parts),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sizes_and_values() {
        for n in ["sha1", "sha224", "sha256", "sha384", "sha512"] {
            let h = Hash::from_name(n).unwrap();
            assert_eq!(h.name(), n);
            assert_eq!(h.digest(&[b"ab", b"c"]).len(), h.size());
        }
        // FIPS 180 "abc" test vectors.
        assert_eq!(
            Hash::Sha1.digest(&[b"abc"]),
            [
                0xa9, 0x99, 0x3e, 0x36, 0x47, 0x06, 0x81, 0x6a, 0xba, 0x3e, 0x25, 0x71, 0x78, 0x50,
                0xc2, 0x6c, 0x9c, 0xd0, 0xd8, 0x9d
            ]
        );
        assert_eq!(
            Hash::Sha256.digest(&[b"a", b"bc"])[..4],
            [0xba, 0x78, 0x16, 0xbf]
        );
        assert_eq!(Hash::from_name("SHA256"), None);
        assert!(Hash::known_elsewhere("ripemd160"));
        assert!(!Hash::known_elsewhere("md5"));
    }
}
