//! Sparse images: only the non-zero 512-byte sectors of a disk image, as cut by
//! `tests/fixtures/sparsify.py` from images the real tools wrote. Keeps committed fixtures a few
//! KB without a compression crate. Also the input form of the multi-disk fuzz target.

use super::ReadAt;
use std::collections::BTreeMap;
use std::io;

const MAGIC: &[u8; 8] = b"EVMSSPR1";
const SECTOR: usize = 512;

/// A disk image of `size` bytes whose stored sectors are kept in memory; every other byte reads
/// as zero.
#[derive(Debug, Clone)]
pub struct SparseDev {
    size: u64,
    sectors: BTreeMap<u64, Box<[u8; SECTOR]>>,
}

/// Little-endian fields of the header (source/ reads no on-disk format: formats::bytes is a
/// layer above).
fn le64(b: &[u8], off: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        b.get(off..off.checked_add(8)?)?.try_into().ok()?,
    ))
}

fn le32(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        b.get(off..off.checked_add(4)?)?.try_into().ok()?,
    ))
}

impl SparseDev {
    /// Parses the sparse format. Sector indexes past the image size are rejected.
    pub fn parse(b: &[u8]) -> io::Result<SparseDev> {
        let bad =
            |m: &str| io::Error::new(io::ErrorKind::InvalidData, format!("sparse image: {m}"));
        if b.get(..8) != Some(&MAGIC[..]) {
            return Err(bad("bad magic"));
        }
        let size = le64(b, 8).ok_or_else(|| bad("short header"))?;
        let ss = le32(b, 16).ok_or_else(|| bad("short header"))?;
        let count = le32(b, 20).ok_or_else(|| bad("short header"))?;
        if ss != 512 {
            return Err(bad("sector size is not 512"));
        }
        let mut sectors = BTreeMap::new();
        let mut off = 24usize;
        for _ in 0..count {
            let idx = le64(b, off).ok_or_else(|| bad("truncated"))?;
            let data: [u8; SECTOR] = off
                .checked_add(8)
                .and_then(|s| b.get(s..s.checked_add(SECTOR)?))
                .and_then(|x| x.try_into().ok())
                .ok_or_else(|| bad("truncated"))?;
            if idx.checked_mul(512).is_none_or(|o| o >= size) {
                return Err(bad("sector beyond the image size"));
            }
            sectors.insert(idx, Box::new(data));
            off += 8 + SECTOR;
        }
        Ok(SparseDev { size, sectors })
    }

    /// An image of `size` zero bytes, to be patched (tests of formats no tool here writes).
    pub fn zeroed(size: u64) -> SparseDev {
        SparseDev {
            size,
            sectors: BTreeMap::new(),
        }
    }

    /// Builds one from a full image held in memory (tests).
    pub fn from_image(img: &[u8]) -> SparseDev {
        let mut sectors = BTreeMap::new();
        for (i, c) in img.chunks(SECTOR).enumerate() {
            if c.iter().any(|&x| x != 0) {
                let mut s = [0u8; SECTOR];
                s[..c.len()].copy_from_slice(c);
                sectors.insert(i as u64, Box::new(s));
            }
        }
        SparseDev {
            size: img.len() as u64,
            sectors,
        }
    }

    /// Overwrites bytes (tests mutate one field of a real fixture).
    pub fn patch(&mut self, off: u64, data: &[u8]) {
        for (i, &v) in data.iter().enumerate() {
            let pos = off + i as u64;
            let s = self
                .sectors
                .entry(pos / 512)
                .or_insert_with(|| Box::new([0u8; SECTOR]));
            s[(pos % 512) as usize] = v;
        }
    }

    /// Reads bytes as a Vec (tests).
    pub fn get(&self, off: u64, len: usize) -> Vec<u8> {
        let mut v = vec![0u8; len];
        let _ = self.read_exact_at(off, &mut v);
        v
    }
}

impl ReadAt for SparseDev {
    fn read_exact_at(&self, off: u64, buf: &mut [u8]) -> io::Result<()> {
        let len = buf.len() as u64;
        if off.checked_add(len).is_none_or(|e| e > self.size) {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "{len} bytes at {off} lie beyond the end ({} bytes)",
                    self.size
                ),
            ));
        }
        let mut done = 0usize;
        while done < buf.len() {
            let pos = off + done as u64;
            let within = (pos % 512) as usize;
            let n = (SECTOR - within).min(buf.len() - done);
            match self.sectors.get(&(pos / 512)) {
                Some(s) => buf[done..done + n].copy_from_slice(&s[within..within + n]),
                None => buf[done..done + n].fill(0),
            }
            done += n;
        }
        Ok(())
    }
    fn size(&self) -> u64 {
        self.size
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_zeros() {
        let mut img = vec![0u8; 4096];
        img[600] = 7;
        img[4095] = 9;
        let d = SparseDev::from_image(&img);
        assert_eq!(d.sectors.len(), 2);
        let mut b = vec![1u8; 4096];
        d.read_exact_at(0, &mut b).unwrap();
        assert_eq!(b, img);
        assert!(d.read_exact_at(4095, &mut [0u8; 2]).is_err());
        let mut enc = Vec::from(&MAGIC[..]);
        enc.extend_from_slice(&4096u64.to_le_bytes());
        enc.extend_from_slice(&512u32.to_le_bytes());
        enc.extend_from_slice(&1u32.to_le_bytes());
        enc.extend_from_slice(&1u64.to_le_bytes());
        enc.extend_from_slice(&img[512..1024]);
        let p = SparseDev::parse(&enc).unwrap();
        assert_eq!(p.get(600, 1), vec![7]);
        enc[24] = 200; // sector 200 is beyond a 4096-byte image
        assert!(SparseDev::parse(&enc).is_err());
        assert!(SparseDev::parse(&enc[..30]).is_err());
    }
}
