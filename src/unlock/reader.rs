//! Reading through an unlocked LUKS volume in user space: the decrypted view of its data area,
//! sector by sector as dm-crypt computes it ([`cipher::decrypt_data`]: the IV of a sector is
//! its 512-byte sector number from the start of the data area, plus the table's IV offset, 0
//! for LUKS). Discovery reads what lies inside (a PV, an MD member, a filesystem) through it
//! on image files, and on live systems before the kernel device exists, as it reads MD arrays
//! and LVs through their members. The volume key stays in [`Unlocked`], shared and zeroed on
//! drop; decrypted sectors are zeroed after use.

use super::{cipher, Unlocked};
use crate::source::layout::Src;
use crate::source::ReadAt;
use std::io;
use std::sync::Arc;
use zeroize::Zeroize;

/// The decrypted data area of a LUKS volume.
pub struct CryptReader {
    src: Src,
    /// Start of the encrypted data on `src`, bytes.
    start: u64,
    len: u64,
    sector_size: usize,
    spec: String,
    key: Arc<Unlocked>,
}

impl CryptReader {
    /// The data area of `len` bytes at byte `start` of `src`, encrypted with `spec` in
    /// `sector_size`-byte sectors (512..=4096) under `key`. `Err` when the cipher cannot be
    /// computed here (named) or the geometry is not whole sectors.
    pub fn new(
        src: Src,
        start: u64,
        len: u64,
        sector_size: u32,
        spec: &str,
        key: Arc<Unlocked>,
    ) -> Result<CryptReader, String> {
        let ss = sector_size as usize;
        if len % u64::from(sector_size) != 0 || start % 512 != 0 {
            return Err(format!(
                "data area of {len} bytes at {start} is not whole {sector_size}-byte sectors"
            ));
        }
        if start.checked_add(len).is_none_or(|e| e > src.size()) {
            return Err(format!(
                "data area of {len} bytes at {start} lies beyond the device ({} bytes)",
                src.size()
            ));
        }
        // Refused here rather than on the first read: an unsupported cipher is a reason
        // discovery shows, not an I/O error.
        let mut probe = vec![0u8; ss];
        cipher::decrypt_data(spec, key.key.as_bytes(), 0, ss, &mut probe)?;
        Ok(CryptReader {
            src,
            start,
            len,
            sector_size: ss,
            spec: spec.to_string(),
            key,
        })
    }
}

impl ReadAt for CryptReader {
    fn read_exact_at(&self, off: u64, buf: &mut [u8]) -> io::Result<()> {
        let want = buf.len() as u64;
        let end = off
            .checked_add(want)
            .filter(|&e| e <= self.len)
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "{want} bytes at {off} lie beyond the end ({} bytes)",
                        self.len
                    ),
                )
            })?;
        if buf.is_empty() {
            return Ok(());
        }
        let ss = self.sector_size as u64;
        let first = off / ss * ss;
        let last = end.div_ceil(ss) * ss;
        let n = usize::try_from(last - first)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "read too large"))?;
        let mut tmp = vec![0u8; n];
        self.src.read_exact_at(self.start + first, &mut tmp)?;
        let res = cipher::decrypt_data(
            &self.spec,
            self.key.key.as_bytes(),
            first / 512,
            self.sector_size,
            &mut tmp,
        );
        if let Err(e) = res {
            tmp.zeroize();
            return Err(io::Error::new(io::ErrorKind::InvalidData, e));
        }
        let skip = (off - first) as usize;
        buf.copy_from_slice(&tmp[skip..skip + buf.len()]);
        tmp.zeroize();
        Ok(())
    }

    fn size(&self) -> u64 {
        self.len
    }

    /// dm-crypt's logical block size is the encryption sector size when that is larger.
    fn logical_block_size(&self) -> u32 {
        self.src.logical_block_size().max(self.sector_size as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::MemDev;
    use crate::unlock::VolumeKey;
    use ::cipher::KeyInit;

    fn unlocked(key: &[u8]) -> Arc<Unlocked> {
        Arc::new(Unlocked {
            key: VolumeKey::from_bytes(key),
            keyslot: 0,
            digest: None,
        })
    }

    /// The IEEE 1619 XTS-AES-128 vector 1 (key 0, data unit 0, 32 zero bytes → 917cf69e...)
    /// is sector 0's first two blocks under aes-xts-plain64 with an all-zero key; placed at a
    /// data offset of 4096 bytes and read back at odd offsets, across sector boundaries.
    #[test]
    fn reads_decrypt_whole_sectors_at_any_offset() {
        let ct = "917cf69ebd68b2ec9b9fe9a3eadda692cd43d2f59598ed858c02c2652fbf922e";
        let ctb: Vec<u8> = (0..ct.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&ct[i..i + 2], 16).unwrap())
            .collect();
        // Build sector 0 and 1 of plaintext zeros by encrypting with the same construction:
        // the vector fixes the first 32 bytes; the rest of the sectors are encrypted here.
        let k = [0u8; 32];
        let x = xts_mode::Xts128::new(
            aes::Aes128::new_from_slice(&k[..16]).unwrap(),
            aes::Aes128::new_from_slice(&k[16..]).unwrap(),
        );
        let mut data = vec![0u8; 4096 + 1024];
        for s in 0..2u64 {
            let mut t = [0u8; 16];
            t[..8].copy_from_slice(&s.to_le_bytes());
            let a = 4096 + s as usize * 512;
            x.encrypt_sector(&mut data[a..a + 512], t);
        }
        assert_eq!(&data[4096..4128], &ctb[..]);
        let r = CryptReader::new(
            Arc::new(MemDev::new(data)),
            4096,
            1024,
            512,
            "aes-xts-plain64",
            unlocked(&k),
        )
        .unwrap();
        assert_eq!(r.size(), 1024);
        let mut b = [1u8; 700];
        r.read_exact_at(300, &mut b).unwrap();
        assert!(b.iter().all(|&c| c == 0));
        assert!(r.read_exact_at(1000, &mut [0u8; 25]).is_err());
        // A cipher the reader does not carry, and a data area that is not whole sectors.
        let e = CryptReader::new(
            Arc::new(MemDev::new(vec![0u8; 8192])),
            4096,
            4096,
            512,
            "camellia-xts-plain64",
            unlocked(&k),
        )
        .err()
        .unwrap();
        assert!(e.contains("cipher camellia is not supported"), "{e}");
        assert!(CryptReader::new(
            Arc::new(MemDev::new(vec![0u8; 8192])),
            4096,
            4000,
            4096,
            "aes-xts-plain64",
            unlocked(&k)
        )
        .is_err());
    }
}
