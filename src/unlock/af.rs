//! The anti-forensic merge (cryptsetup `lib/luks1/af.c`, `AF_merge`): the keyslot material is
//! `stripes` blocks of the key's size; all but the last are XORed into a buffer, which is
//! diffused after each; the last block XOR the buffer is the key. Diffusion hashes each
//! digest-sized piece of the buffer as hash(be32(index) || piece), the trailing shorter piece
//! keeping that many bytes of its hash.

use crate::formats::luks::Hash;
use sha1::Sha1;
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};
use zeroize::{Zeroize, Zeroizing};

/// Merges `src` (at least `key_len * stripes` bytes) into a key of `key_len` bytes.
pub fn merge(src: &[u8], key_len: usize, stripes: usize, hash: Hash) -> Zeroizing<Vec<u8>> {
    match hash {
        Hash::Sha1 => merge_with::<Sha1>(src, key_len, stripes),
        Hash::Sha224 => merge_with::<Sha224>(src, key_len, stripes),
        Hash::Sha256 => merge_with::<Sha256>(src, key_len, stripes),
        Hash::Sha384 => merge_with::<Sha384>(src, key_len, stripes),
        Hash::Sha512 => merge_with::<Sha512>(src, key_len, stripes),
    }
}

fn merge_with<D: Digest>(src: &[u8], key_len: usize, stripes: usize) -> Zeroizing<Vec<u8>> {
    let mut buf = Zeroizing::new(vec![0u8; key_len]);
    if stripes == 0 || src.len() < key_len * stripes {
        return buf;
    }
    for block in src.chunks_exact(key_len).take(stripes - 1) {
        xor(&mut buf, block);
        diffuse::<D>(&mut buf);
    }
    xor(&mut buf, &src[(stripes - 1) * key_len..stripes * key_len]);
    buf
}

fn xor(dst: &mut [u8], src: &[u8]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d ^= s;
    }
}

fn diffuse<D: Digest>(buf: &mut [u8]) {
    let ds = <D as Digest>::output_size();
    for (i, piece) in buf.chunks_mut(ds).enumerate() {
        let mut h = D::new();
        h.update((i as u32).to_be_bytes());
        h.update(&*piece);
        let mut out = h.finalize();
        let n = piece.len();
        piece.copy_from_slice(&out[..n]);
        out.as_mut_slice().zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AF_split as af.c does it, with given "random" blocks: the test's own inverse.
    fn split(key: &[u8], stripes: usize, hash: Hash, random: &[u8]) -> Vec<u8> {
        let n = key.len();
        let mut out = random[..n * (stripes - 1)].to_vec();
        let mut buf = vec![0u8; n];
        for i in 0..stripes - 1 {
            xor(&mut buf, &random[i * n..(i + 1) * n]);
            match hash {
                Hash::Sha256 => diffuse::<Sha256>(&mut buf),
                Hash::Sha1 => diffuse::<Sha1>(&mut buf),
                _ => unreachable!(),
            }
        }
        xor(&mut buf, key);
        out.extend_from_slice(&buf);
        out
    }

    #[test]
    fn merge_inverts_split() {
        let key: Vec<u8> = (0..64u8).collect();
        let random: Vec<u8> = (0..64 * 40).map(|i| (i * 7 + 3) as u8).collect();
        for h in [Hash::Sha256, Hash::Sha1] {
            for len in [16usize, 32, 33, 64] {
                let s = split(&key[..len], 40, h, &random);
                assert_eq!(&merge(&s, len, 40, h)[..], &key[..len]);
                // One flipped bit anywhere changes the key.
                let mut t = s.clone();
                t[5] ^= 1;
                assert_ne!(&merge(&t, len, 40, h)[..], &key[..len]);
            }
        }
        assert_eq!(&merge(&[1, 2], 2, 1, Hash::Sha1)[..], [1, 2]);
    }
}
