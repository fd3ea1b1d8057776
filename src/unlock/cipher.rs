//! Keyslot area decryption: the keyslot's cipher specification (`aes-xts-plain64`,
//! `aes-cbc-essiv:sha256`, `serpent-xts-plain64`, ...) over 512-byte sectors numbered from 0
//! at the start of the area, as cryptsetup's `crypt_storage` does it
//! (`lib/crypto_backend/crypto_storage.c`: one IV per sector, no large IVs).
//!
//! The ciphers are RustCrypto's (aes, serpent, twofish; xts-mode, cbc). cryptsetup itself goes
//! through the kernel's crypto API (AF_ALG); this program must unlock image files without root
//! and in unit tests on machines whose kernel has no AF_ALG (the build machines), so it carries
//! the ciphers LUKS keyslots use and names any other as unsupported.

use crate::formats::luks::spec::CipherSpec;
use crate::formats::luks::Hash;
use cipher::generic_array::GenericArray;
use cipher::{BlockCipher, BlockDecrypt, BlockDecryptMut, BlockEncrypt, InnerIvInit, KeyInit};
use zeroize::Zeroize;

const SECTOR: usize = 512;

/// How each sector's IV is made (`crypt_sector_iv_generate`).
#[derive(Clone, Copy)]
enum Iv {
    /// ECB: none.
    None,
    Null,
    /// 32-bit little-endian sector number.
    Plain,
    Plain64,
    Plain64Be,
    /// The sector number (plain64) encrypted with the cipher keyed by hash(key).
    Essiv(Hash),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Xts,
    Cbc,
    Ecb,
}

/// Decrypts `buf` (whole 512-byte sectors) in place with `spec` and `key`. `Err` names what is
/// not supported or wrong.
pub fn decrypt_area(spec: &str, key: &[u8], buf: &mut [u8]) -> Result<(), String> {
    let s = CipherSpec::parse(spec)
        .ok_or_else(|| format!("keyslot cipher {spec:?}: not a cipher specification"))?;
    if s.capi {
        return Err(format!(
            "keyslot cipher {spec:?}: the kernel crypto API form is not supported for keyslots"
        ));
    }
    if buf.len() % SECTOR != 0 {
        return Err("keyslot area: not whole sectors".into());
    }
    decrypt(spec, &s, key, 0, SECTOR, buf).map_err(|e| format!("keyslot cipher {e}"))
}

/// Decrypts `buf` (whole `sector_size`-byte sectors, 512..=4096) in place as dm-crypt reads a
/// data area: the first sector's IV is `iv_sector`, counted in 512-byte units whatever the
/// sector size (cryptsetup never sets `iv_large_sectors` for LUKS), so each following sector
/// adds `sector_size / 512`. `spec` may be the kernel crypto API form LUKS2 segments use
/// (`capi:xts(aes)-plain64`) when it names a mode and cipher carried here.
pub fn decrypt_data(
    spec: &str,
    key: &[u8],
    iv_sector: u64,
    sector_size: usize,
    buf: &mut [u8],
) -> Result<(), String> {
    let mut s = CipherSpec::parse(spec)
        .ok_or_else(|| format!("data cipher {spec:?}: not a cipher specification"))?;
    if s.capi {
        // `mode(cipher)` with a plain cipher name inside: the same as `cipher-mode-iv`.
        let inner = s
            .cipher
            .strip_suffix(')')
            .and_then(|t| t.split_once('('))
            .filter(|(m, c)| !m.is_empty() && !c.is_empty() && !c.contains(['(', ',']));
        let Some((m, c)) = inner else {
            return Err(format!(
                "data cipher {spec:?}: the crypto API template {} is not supported in user space",
                s.cipher
            ));
        };
        s = CipherSpec {
            cipher: c.to_string(),
            mode: m.to_string(),
            iv: s.iv.clone(),
            capi: false,
        };
    }
    if !(SECTOR..=4096).contains(&sector_size)
        || !sector_size.is_power_of_two()
        || buf.len() % sector_size != 0
    {
        return Err(format!(
            "data cipher {spec:?}: {} bytes are not whole {sector_size}-byte sectors",
            buf.len()
        ));
    }
    decrypt(spec, &s, key, iv_sector, sector_size, buf).map_err(|e| format!("data cipher {e}"))
}

/// The common part: mode, IV generator and cipher from `s`, then the sector loop. Errors start
/// with the quoted specification (the caller says whose cipher it is).
fn decrypt(
    spec: &str,
    s: &CipherSpec,
    key: &[u8],
    iv_sector: u64,
    sector_size: usize,
    buf: &mut [u8],
) -> Result<(), String> {
    let mode = match s.mode.as_str() {
        "xts" => Mode::Xts,
        "cbc" => Mode::Cbc,
        "ecb" => Mode::Ecb,
        m => {
            return Err(format!(
                "{spec:?}: mode {m} is not supported (xts, cbc, ecb are)"
            ))
        }
    };
    let iv = match (mode, s.iv.as_deref()) {
        (Mode::Ecb, None) => Iv::None,
        (Mode::Ecb, Some(_)) | (_, None) => {
            return Err(format!("{spec:?}: an IV is required except with ecb (and only then)"))
        }
        (_, Some(iv)) => match iv.to_ascii_lowercase().as_str() {
            "null" => Iv::Null,
            "plain" => Iv::Plain,
            "plain64" => Iv::Plain64,
            "plain64be" => Iv::Plain64Be,
            e if e.starts_with("essiv:") => {
                let h = &iv["essiv:".len()..];
                Iv::Essiv(Hash::from_name(h).ok_or_else(|| format!("{spec:?}: ESSIV hash {h} is not supported"))?)
            }
            other => return Err(format!("{spec:?}: IV {other} is not supported (plain, plain64, plain64be, null, essiv are)")),
        },
    };
    let loop_ = Sectors {
        alg: &s.cipher,
        mode,
        iv,
        iv_sector,
        sector_size,
    };
    match s.cipher.as_str() {
        "aes" => run::<aes::Aes128, aes::Aes192, aes::Aes256>(spec, &loop_, key, buf),
        "serpent" => {
            run::<serpent::Serpent, serpent::Serpent, serpent::Serpent>(spec, &loop_, key, buf)
        }
        "twofish" => {
            run::<twofish::Twofish, twofish::Twofish, twofish::Twofish>(spec, &loop_, key, buf)
        }
        c => Err(format!(
            "{spec:?}: cipher {c} is not supported (aes, serpent, twofish are)"
        )),
    }
}

/// Dispatches on the key size: AES has one type per key size, serpent and twofish one for all.
fn run<C16, C24, C32>(spec: &str, l: &Sectors<'_>, key: &[u8], buf: &mut [u8]) -> Result<(), String>
where
    C16: Cipher,
    C24: Cipher,
    C32: Cipher,
{
    let part = if l.mode == Mode::Xts {
        key.len() / 2
    } else {
        key.len()
    };
    if l.mode == Mode::Xts && key.len() % 2 != 0 {
        return Err(format!(
            "{spec:?}: XTS needs an even key size, found {} bytes",
            key.len()
        ));
    }
    match part {
        16 => sectors::<C16>(l, key, buf),
        24 => sectors::<C24>(l, key, buf),
        32 => sectors::<C32>(l, key, buf),
        n => {
            return Err(format!(
                "{spec:?}: key of {} bytes ({n} per cipher) is not supported",
                key.len()
            ))
        }
    }
    .map_err(|e| format!("{spec:?}: {e}"))
}

/// What the sector loop needs of a 128-bit block cipher.
pub trait Cipher:
    BlockCipher<BlockSize = cipher::consts::U16> + BlockEncrypt + BlockDecrypt + KeyInit + Clone
{
}
impl<
        T: BlockCipher<BlockSize = cipher::consts::U16>
            + BlockEncrypt
            + BlockDecrypt
            + KeyInit
            + Clone,
    > Cipher for T
{
}

/// The sector loop's parameters: which cipher family (for ESSIV's own cipher), the mode, the
/// IV generator, the first sector's IV number and the sector size.
struct Sectors<'a> {
    alg: &'a str,
    mode: Mode,
    iv: Iv,
    iv_sector: u64,
    sector_size: usize,
}

fn sectors<C: Cipher>(l: &Sectors<'_>, key: &[u8], buf: &mut [u8]) -> Result<(), String> {
    let (alg, mode, iv) = (l.alg, l.mode, l.iv);
    let essiv = match iv {
        Iv::Essiv(h) => {
            let mut k = h.digest(&[key]);
            let c = EssivCipher::new(alg, &k);
            k.zeroize();
            Some(c.ok_or_else(|| {
                format!(
                    "ESSIV with {} gives a {}-byte key the cipher does not take",
                    h.name(),
                    h.size()
                )
            })?)
        }
        _ => None,
    };
    let xts = match mode {
        Mode::Xts => {
            let (k1, k2) = key.split_at(key.len() / 2);
            let c1 = C::new_from_slice(k1).map_err(|_| "invalid key length")?;
            let c2 = C::new_from_slice(k2).map_err(|_| "invalid key length")?;
            Some(xts_mode::Xts128::new(c1, c2))
        }
        _ => None,
    };
    let single = match mode {
        Mode::Xts => None,
        _ => Some(C::new_from_slice(key).map_err(|_| "invalid key length")?),
    };
    // IVs count 512-byte units: a 4096-byte sector advances them by 8.
    let step = (l.sector_size / SECTOR) as u64;
    for (i, sector) in buf.chunks_exact_mut(l.sector_size).enumerate() {
        let n = l.iv_sector.wrapping_add((i as u64).wrapping_mul(step));
        let mut ivb = [0u8; 16];
        match iv {
            Iv::None | Iv::Null => {}
            Iv::Plain => ivb[..4].copy_from_slice(&(n as u32).to_le_bytes()),
            Iv::Plain64 => ivb[..8].copy_from_slice(&n.to_le_bytes()),
            Iv::Plain64Be => ivb[8..].copy_from_slice(&n.to_be_bytes()),
            Iv::Essiv(_) => {
                ivb[..8].copy_from_slice(&n.to_le_bytes());
                if let Some(e) = &essiv {
                    e.encrypt_block(GenericArray::from_mut_slice(&mut ivb));
                }
            }
        }
        match (mode, &xts, &single) {
            (Mode::Xts, Some(x), _) => x.decrypt_sector(sector, ivb),
            (Mode::Cbc, _, Some(c)) => {
                let mut d =
                    cbc::Decryptor::<C>::inner_iv_init(c.clone(), GenericArray::from_slice(&ivb));
                for block in sector.chunks_exact_mut(16) {
                    d.decrypt_block_mut(GenericArray::from_mut_slice(block));
                }
            }
            (Mode::Ecb, _, Some(c)) => {
                for block in sector.chunks_exact_mut(16) {
                    c.decrypt_block(GenericArray::from_mut_slice(block));
                }
            }
            _ => return Err("internal: cipher not keyed".into()),
        }
    }
    Ok(())
}

/// The ESSIV cipher: the same block cipher keyed with the whole hash of the key, as cryptsetup
/// and the kernel do (sha256 makes AES-256 whatever the data key size).
enum EssivCipher {
    Aes128(aes::Aes128),
    Aes192(aes::Aes192),
    Aes256(aes::Aes256),
    Serpent(serpent::Serpent),
    Twofish(twofish::Twofish),
}

impl EssivCipher {
    fn new(alg: &str, k: &[u8]) -> Option<EssivCipher> {
        match (alg, k.len()) {
            ("serpent", _) => serpent::Serpent::new_from_slice(k)
                .ok()
                .map(EssivCipher::Serpent),
            ("twofish", _) => twofish::Twofish::new_from_slice(k)
                .ok()
                .map(EssivCipher::Twofish),
            ("aes", 16) => aes::Aes128::new_from_slice(k).ok().map(EssivCipher::Aes128),
            ("aes", 24) => aes::Aes192::new_from_slice(k).ok().map(EssivCipher::Aes192),
            ("aes", 32) => aes::Aes256::new_from_slice(k).ok().map(EssivCipher::Aes256),
            _ => None,
        }
    }

    fn encrypt_block(&self, b: &mut GenericArray<u8, cipher::consts::U16>) {
        match self {
            EssivCipher::Aes128(c) => c.encrypt_block(b),
            EssivCipher::Aes192(c) => c.encrypt_block(b),
            EssivCipher::Aes256(c) => c.encrypt_block(b),
            EssivCipher::Serpent(c) => c.encrypt_block(b),
            EssivCipher::Twofish(c) => c.encrypt_block(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn xts_aes128_ieee1619_vector_2() {
        // IEEE 1619-2007 XTS-AES-128 vector 2 (data unit 0x3333333333, 32 bytes): the mode as
        // the sector loop uses it, with the tweak laid out as plain64 lays out a sector number.
        let key = unhex("1111111111111111111111111111111122222222222222222222222222222222");
        let pt = unhex("4444444444444444444444444444444444444444444444444444444444444444");
        let ct = unhex("c454185e6a16936e39334038acef838bfb186fff7480adc4289382ecd6d394f0");
        let x = xts_mode::Xts128::new(
            aes::Aes128::new_from_slice(&key[..16]).unwrap(),
            aes::Aes128::new_from_slice(&key[16..]).unwrap(),
        );
        let mut b = ct.clone();
        let mut tweak = [0u8; 16];
        tweak[..5].copy_from_slice(&[0x33; 5]);
        x.decrypt_sector(&mut b, tweak);
        assert_eq!(b, pt);
    }

    #[test]
    fn cbc_essiv_sha256_openssl() {
        // Expected values from the openssl CLI: the ESSIV key is sha256(K); sector 1's IV is
        // `openssl enc -aes-256-ecb -K <ESSIV key> -nopad` of le64(1); the sector is 512 'A'
        // encrypted with `openssl enc -aes-256-cbc -K K -iv <IV> -nopad`. CBC's first two
        // blocks decrypt from the IV and those blocks alone, so only 32 bytes are kept here.
        let key = unhex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
        let mut b = vec![0u8; 1024];
        b[512..544].copy_from_slice(&unhex(
            "c566504e9fd96891b5752e89a66ffefd33b021da6de6c0fa4e13e1ebf0443c73",
        ));
        decrypt_area("aes-cbc-essiv:sha256", &key, &mut b).unwrap();
        assert_eq!(&b[512..544], &[b'A'; 32]);
    }

    #[test]
    fn refuses_what_it_lacks() {
        let mut b = vec![0u8; 512];
        let k = [0u8; 32];
        for (spec, what) in [
            ("camellia-xts-plain64", "cipher camellia"),
            ("aes-lrw-benbi", "mode lrw"),
            ("aes-cbc-lmk", "IV lmk"),
            ("aes-xts", "an IV is required"),
            ("aes-cbc-essiv:whirlpool", "ESSIV hash whirlpool"),
            ("capi:xts(aes)-plain64", "kernel crypto API"),
        ] {
            let e = decrypt_area(spec, &k, &mut b).unwrap_err();
            assert!(e.contains(what), "{spec}: {e}");
        }
        assert!(decrypt_area("aes-xts-plain64", &[0u8; 20], &mut b)
            .unwrap_err()
            .contains("20 bytes"));
        assert!(decrypt_area("aes-xts-plain64", &k, &mut [0u8; 100]).is_err());
    }
}
