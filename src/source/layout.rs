//! Reading through assembled objects in user space: partition slices, concatenations (MD
//! linear, multi-segment LVs), stripes (LVM striped) and MD RAID geometries.
//!
//! Only geometry lives here. The engine turns its MD arrays and LVs into [`Layout`] values;
//! this module never imports the engine, so data flows one way (design.md).

use super::raid::{self, RaidGeom};
use super::ReadAt;
use std::io;
use std::sync::Arc;

/// A shared byte source.
pub type Src = Arc<dyn ReadAt + Send + Sync>;

/// How the bytes of an assembled object map onto its sources.
#[derive(Clone)]
pub enum Layout {
    /// `len` bytes of `src` starting at `offset`.
    Slice { src: Src, offset: u64, len: u64 },
    /// Pieces back to back (MD linear; an LV's segments in LV order).
    Concat(Vec<Layout>),
    /// Round-robin chunks over stripes of equal length (lvm2 `striped`, dm-stripe).
    Striped { chunk: u64, stripes: Vec<Layout> },
    /// An MD RAID array (also lvm2 raid LVs, which use the same mapping).
    Raid(Box<RaidGeom<Layout>>),
}

impl Layout {
    /// Total length in bytes.
    pub fn len(&self) -> u64 {
        match self {
            Layout::Slice { len, .. } => *len,
            Layout::Concat(parts) => parts.iter().fold(0u64, |a, p| a.saturating_add(p.len())),
            Layout::Striped { stripes, .. } => {
                let n = u64::try_from(stripes.len()).unwrap_or(0);
                stripes.first().map_or(0, |s| s.len().saturating_mul(n))
            }
            Layout::Raid(g) => g.size,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Reads exactly `buf.len()` bytes at `off`, splitting the request at piece boundaries.
    pub fn read_exact_at(&self, off: u64, buf: &mut [u8]) -> io::Result<()> {
        let want = u64::try_from(buf.len()).map_err(|_| eof(off, u64::MAX, self.len()))?;
        let end = off
            .checked_add(want)
            .ok_or_else(|| eof(off, want, self.len()))?;
        if end > self.len() {
            return Err(eof(off, want, self.len()));
        }
        let mut done = 0usize;
        while done < buf.len() {
            let pos = off + u64::try_from(done).unwrap_or(0);
            let (target, target_off, run) = self.locate(pos)?;
            let left = buf.len() - done;
            let n = usize::try_from(run).map_or(left, |r| r.min(left));
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "layout maps a zero-length run",
                ));
            }
            target.read_exact_at(target_off, &mut buf[done..done + n])?;
            done += n;
        }
        Ok(())
    }

    /// Maps byte `pos` (< len) to (source layout or reader, offset there, contiguous bytes).
    fn locate(&self, pos: u64) -> io::Result<(Target<'_>, u64, u64)> {
        match self {
            Layout::Slice { src, offset, len } => {
                let o = offset.checked_add(pos).ok_or_else(|| eof(pos, 1, *len))?;
                Ok((Target::Src(src), o, len - pos))
            }
            Layout::Concat(parts) => {
                // Saturating as `len` is: pieces past u64::MAX bytes (lengths taken from disk
                // metadata) are unreachable rather than an overflow.
                let mut base = 0u64;
                for p in parts {
                    let end = base.saturating_add(p.len());
                    if pos < end {
                        return Ok((Target::Layout(p), pos - base, end - pos));
                    }
                    base = end;
                }
                Err(eof(pos, 1, base))
            }
            Layout::Striped { chunk, stripes } => {
                let n = u64::try_from(stripes.len()).unwrap_or(0);
                if *chunk == 0 || n == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "striped layout without chunk or stripes",
                    ));
                }
                let k = pos / chunk;
                let within = pos % chunk;
                let stripe = usize::try_from(k % n).unwrap_or(0);
                let soff = (k / n) * chunk + within;
                Ok((Target::Layout(&stripes[stripe]), soff, chunk - within))
            }
            Layout::Raid(g) => {
                let (m, moff, run) = raid::locate(g.as_ref(), pos)?;
                match g.members.get(m).and_then(Option::as_ref) {
                    Some(l) => Ok((Target::Layout(l), moff, run)),
                    // RAID4/5/6: rebuilt from the other members (the offset is the array's).
                    None if raid::can_rebuild(g.as_ref()) => Ok((Target::Rebuild(g), pos, run)),
                    None => Err(io::Error::new(
                        io::ErrorKind::NotFound,
                        format!("data at array byte {pos} lies on missing member {m}"),
                    )),
                }
            }
        }
    }
}

/// RAID members are layouts of their data areas.
impl ReadAt for Layout {
    fn read_exact_at(&self, off: u64, buf: &mut [u8]) -> io::Result<()> {
        Layout::read_exact_at(self, off, buf)
    }
    fn size(&self) -> u64 {
        self.len()
    }
}

enum Target<'a> {
    Src(&'a Src),
    Layout(&'a Layout),
    /// A chunk on a missing RAID4/5/6 member, read at an array offset by parity.
    Rebuild(&'a RaidGeom<Layout>),
}

impl Target<'_> {
    fn read_exact_at(&self, off: u64, buf: &mut [u8]) -> io::Result<()> {
        match self {
            Target::Src(s) => s.read_exact_at(off, buf),
            Target::Layout(l) => l.read_exact_at(off, buf),
            Target::Rebuild(g) => raid::reconstruct(g, off, buf),
        }
    }
}

fn eof(off: u64, len: u64, size: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        format!("{len} bytes at {off} lie beyond the end ({size} bytes)"),
    )
}

/// An assembled object readable like a device.
#[derive(Clone)]
pub struct Mapped {
    layout: Layout,
    lbs: u32,
}

impl Mapped {
    pub fn new(layout: Layout, lbs: u32) -> Mapped {
        Mapped { layout, lbs }
    }
    pub fn layout(&self) -> &Layout {
        &self.layout
    }
}

impl ReadAt for Mapped {
    fn read_exact_at(&self, off: u64, buf: &mut [u8]) -> io::Result<()> {
        self.layout.read_exact_at(off, buf)
    }
    fn size(&self) -> u64 {
        self.layout.len()
    }
    fn logical_block_size(&self) -> u32 {
        self.lbs
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::MemDev;

    fn src(bytes: Vec<u8>) -> Src {
        Arc::new(MemDev::new(bytes))
    }

    #[test]
    fn slice_and_concat() {
        let a = src((0u8..100).collect());
        let l = Layout::Concat(vec![
            Layout::Slice {
                src: a.clone(),
                offset: 50,
                len: 10,
            },
            Layout::Slice {
                src: a,
                offset: 0,
                len: 5,
            },
        ]);
        assert_eq!(l.len(), 15);
        let mut b = [0u8; 15];
        l.read_exact_at(0, &mut b).unwrap();
        assert_eq!(b, [50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 0, 1, 2, 3, 4]);
        assert!(l.read_exact_at(14, &mut [0u8; 2]).is_err());
    }

    /// Fuzz regression (md_v1/concat-length-overflow): pieces whose lengths add up past
    /// u64::MAX made `locate` overflow ("attempt to add with overflow").
    #[test]
    fn concat_longer_than_u64_saturates() {
        let a = src(vec![7u8; 16]);
        let l = Layout::Concat(vec![
            Layout::Slice {
                src: a.clone(),
                offset: 0,
                len: u64::MAX - 4,
            },
            Layout::Slice {
                src: a,
                offset: 0,
                len: 16,
            },
        ]);
        assert_eq!(l.len(), u64::MAX);
        let mut b = [0u8; 3];
        l.read_exact_at(u64::MAX - 4, &mut b).unwrap();
        assert_eq!(b, [7, 7, 7]);
        assert!(l.read_exact_at(u64::MAX - 8, &mut b).is_err());
    }

    #[test]
    fn striped_round_robin() {
        let s0 = src(vec![0, 0, 2, 2]);
        let s1 = src(vec![1, 1, 3, 3]);
        let l = Layout::Striped {
            chunk: 2,
            stripes: vec![
                Layout::Slice {
                    src: s0,
                    offset: 0,
                    len: 4,
                },
                Layout::Slice {
                    src: s1,
                    offset: 0,
                    len: 4,
                },
            ],
        };
        let mut b = [9u8; 8];
        l.read_exact_at(0, &mut b).unwrap();
        assert_eq!(b, [0, 0, 1, 1, 2, 2, 3, 3]);
        let mut c = [9u8; 3];
        l.read_exact_at(3, &mut c).unwrap();
        assert_eq!(c, [1, 2, 2]);
    }

    /// A RAID5 array read through layouts (members are layouts, one missing and rebuilt).
    #[test]
    fn raid_members_are_layouts() {
        use crate::source::raid::RaidLevel;
        // Left-symmetric on 3 members, chunk 2: stripe 0 = D0 on 0, D1 on 1, P on 2.
        let d0 = [1u8, 2];
        let d1 = vec![4u8, 8];
        let p: Vec<u8> = d0.iter().zip(&d1).map(|(a, b)| a ^ b).collect();
        let member = |b: Vec<u8>| Layout::Slice {
            src: src(b),
            offset: 0,
            len: 2,
        };
        let l = Layout::Raid(Box::new(RaidGeom {
            level: RaidLevel::Raid5 { algorithm: 2 },
            chunk: 2,
            members: vec![None, Some(member(d1)), Some(member(p))],
            member_size: 2,
            size: 4,
        }));
        let mut b = [0u8; 4];
        l.read_exact_at(0, &mut b).unwrap();
        assert_eq!(b, [1, 2, 4, 8]);
    }
}
