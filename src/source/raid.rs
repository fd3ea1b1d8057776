//! MD RAID data mapping (kernel `raid0.c`, `raid1.c`, `raid5.c: raid5_compute_sector`,
//! `raid10.c: raid10_find_phys`): array byte → (member slot, member byte, contiguous run).

use super::layout::{RaidGeom, RaidLevel};
use std::io;

/// Maps array byte `pos` to (member slot, offset in that member's data area, bytes that stay
/// contiguous from there).
pub fn locate(g: &RaidGeom, pos: u64) -> io::Result<(usize, u64, u64)> {
    if pos >= g.size {
        return Err(bad(format!(
            "array byte {pos} is beyond the array size {}",
            g.size
        )));
    }
    let n = g.members.len();
    match g.level {
        RaidLevel::Raid1 => {
            // Any present member holds all data; prefer the first present one.
            let m = g.members.iter().position(Option::is_some).unwrap_or(0);
            Ok((m, pos, g.size - pos))
        }
        RaidLevel::Raid0 => {
            if g.chunk == 0 || n == 0 {
                return Err(bad("raid0 without chunk size or members".into()));
            }
            let n64 = n as u64;
            let k = pos / g.chunk;
            let within = pos % g.chunk;
            Ok((
                (k % n64) as usize,
                (k / n64) * g.chunk + within,
                g.chunk - within,
            ))
        }
        other => Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!("reading through {other:?} in user space is not implemented yet"),
        )),
    }
}

fn bad(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}
