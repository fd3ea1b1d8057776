//! MD RAID data mapping, as the kernel personalities do it: array byte → (member slot, byte in
//! that member's data area, bytes that stay contiguous from there).
//!
//! * RAID0: `raid0.c` `create_strip_zones` / `find_zone` / `map_sector`, both multi-zone
//!   layouts (`RAID0_ORIG_LAYOUT`, `RAID0_ALT_MULTIZONE_LAYOUT`).
//! * RAID1: every member holds the whole array.
//! * RAID4/5/6: `raid5.c: raid5_compute_sector`, every algorithm of `raid5.h`.
//! * RAID10: `raid10.c: __raid10_find_phys` with `setup_geo`/`calc_sectors` (near, far, offset,
//!   far sets).
//!
//! Data only. A missing member is `None` in [`RaidGeom::members`]: RAID1 and RAID10 read
//! another copy; RAID4/5/6 rebuild one missing chunk from the other members and P
//! ([`reconstruct`]); anything else is left to the caller (`NotFound`).

use super::ReadAt;
use std::io;

/// MD RAID level with its layout parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RaidLevel {
    /// Striping; with members of different sizes, zones as `RAID0_ORIG_LAYOUT` (kernels before
    /// 3.14; the only layout with one zone). Zones come from each member's length rounded down
    /// to the chunk.
    Raid0,
    /// Striping over zones as `RAID0_ALT_MULTIZONE_LAYOUT` (Linux 3.14 and later).
    Raid0AltMultizone,
    Raid1,
    /// Dedicated parity on the last member.
    Raid4,
    /// `algorithm` as MD's `layout` field (ALGORITHM_* in the kernel's raid5.h).
    Raid5 {
        algorithm: u32,
    },
    Raid6 {
        algorithm: u32,
    },
    /// `layout` as MD's raid10 layout word (near copies bits 0-7, far copies 8-15, bit 16 offset).
    Raid10 {
        layout: u32,
    },
}

/// Geometry of a RAID array: members by role (slot), each a reader of the member's data area
/// (already starting at its data offset: a [`super::layout::Layout`] when the array is read
/// through layouts); `None` for a missing member.
#[derive(Clone)]
pub struct RaidGeom<M> {
    pub level: RaidLevel,
    /// Chunk size in bytes (ignored for RAID1).
    pub chunk: u64,
    pub members: Vec<Option<M>>,
    /// Bytes of each member used for data.
    pub member_size: u64,
    /// Array size in bytes.
    pub size: u64,
}

/// Maps array byte `pos` to (member slot, offset in that member's data area, bytes that stay
/// contiguous from there). For RAID1/10 the slot is the first present copy (or the first copy
/// when none is present); for RAID4/5/6 it is the data member even when missing (see
/// [`can_rebuild`]).
pub fn locate<M: ReadAt>(g: &RaidGeom<M>, pos: u64) -> io::Result<(usize, u64, u64)> {
    if pos >= g.size {
        return Err(bad(format!(
            "array byte {pos} is beyond the array size {}",
            g.size
        )));
    }
    let n = g.members.len();
    if n == 0 {
        return Err(bad("RAID geometry without members".into()));
    }
    match g.level {
        RaidLevel::Raid1 => {
            let m = g.members.iter().position(Option::is_some).unwrap_or(0);
            Ok((m, pos, g.size - pos))
        }
        RaidLevel::Raid0 => raid0(g, pos, false),
        RaidLevel::Raid0AltMultizone => raid0(g, pos, true),
        RaidLevel::Raid4 | RaidLevel::Raid5 { .. } | RaidLevel::Raid6 { .. } => {
            let s = stripe_of(g, pos)?;
            Ok((s.dd, s.member_off, s.run))
        }
        RaidLevel::Raid10 { layout } => {
            let (copies, run) = raid10_copies(g, layout, pos)?;
            let first = copies
                .first()
                .copied()
                .ok_or_else(|| bad("no copies".into()))?;
            let (m, off) = copies
                .iter()
                .copied()
                .find(|&(m, _)| g.members.get(m).is_some_and(Option::is_some))
                .unwrap_or(first);
            Ok((m, off, run))
        }
    }
}

/// Whether a chunk on a missing member can be rebuilt from the others ([`reconstruct`]).
pub fn can_rebuild<M>(g: &RaidGeom<M>) -> bool {
    matches!(
        g.level,
        RaidLevel::Raid4 | RaidLevel::Raid5 { .. } | RaidLevel::Raid6 { .. }
    )
}

/// Reads `buf.len()` array bytes at `pos` (within one chunk) whose member is missing, as the
/// XOR of the same bytes on every other member except Q: the data chunks and P of a stripe XOR
/// to zero in RAID4/5/6 (P is the plain XOR syndrome in every RAID6 layout, DDF ones included).
pub fn reconstruct<M: ReadAt>(g: &RaidGeom<M>, pos: u64, buf: &mut [u8]) -> io::Result<()> {
    if !can_rebuild(g) {
        return Err(not_found(format!(
            "array byte {pos} lies on a missing member and {:?} has no parity",
            g.level
        )));
    }
    let s = stripe_of(g, pos)?;
    let len = u64::try_from(buf.len()).unwrap_or(u64::MAX);
    if len > s.run {
        return Err(bad(format!(
            "rebuild of {len} bytes at array byte {pos} crosses a chunk boundary"
        )));
    }
    buf.fill(0);
    let mut tmp = vec![0u8; buf.len()];
    for (i, m) in g.members.iter().enumerate() {
        if i == s.dd || Some(i) == s.qd {
            continue;
        }
        let Some(l) = m else {
            return Err(not_found(format!(
                "array byte {pos} lies on missing member {} and member {i} is missing too",
                s.dd
            )));
        };
        l.read_exact_at(s.member_off, &mut tmp)?;
        for (b, t) in buf.iter_mut().zip(&tmp) {
            *b ^= t;
        }
    }
    Ok(())
}

fn raid0<M: ReadAt>(g: &RaidGeom<M>, pos: u64, alternate: bool) -> io::Result<(usize, u64, u64)> {
    let c = g.chunk;
    if c == 0 {
        return Err(bad("RAID0 without a chunk size".into()));
    }
    // rdev->sectors rounded down to the chunk; a missing member counts as member_size.
    let sizes: Vec<u64> = g
        .members
        .iter()
        .map(|m| m.as_ref().map_or(g.member_size, |l| l.size()) / c * c)
        .collect();
    let within = pos % c;
    let mut dev_start = 0u64;
    let mut zone_start = 0u64;
    // Each zone ends at the next larger member size, so there are at most n zones.
    for _ in 0..sizes.len() {
        let devs: Vec<usize> = (0..sizes.len()).filter(|&i| sizes[i] > dev_start).collect();
        let Some(smallest) = devs.iter().map(|&i| sizes[i]).min() else {
            break;
        };
        let nb = u64::try_from(devs.len()).unwrap_or(u64::MAX);
        let zone_len = (smallest - dev_start).saturating_mul(nb);
        if pos - zone_start < zone_len {
            let zpos = pos - zone_start;
            let chunk_in_dev = zpos / c.saturating_mul(nb);
            // The original layout picks the device from the array chunk number, the
            // alternate one (Linux 3.14+) from the chunk number within the zone.
            let idx = (if alternate { zpos } else { pos }) / c % nb;
            let dev = usize::try_from(idx)
                .ok()
                .and_then(|i| devs.get(i))
                .copied()
                .ok_or_else(|| bad(format!("RAID0 zone index {idx} out of range")))?;
            let off = dev_start
                .saturating_add(chunk_in_dev.saturating_mul(c))
                .saturating_add(within);
            return Ok((dev, off, c - within));
        }
        zone_start = zone_start.saturating_add(zone_len);
        dev_start = smallest;
    }
    Err(bad(format!(
        "array byte {pos} lies beyond the RAID0 zones ({zone_start} bytes)"
    )))
}

/// Where a RAID4/5/6 array chunk lives: data member, parity members, stripe.
struct Stripe {
    dd: usize,
    qd: Option<usize>,
    member_off: u64,
    run: u64,
}

fn stripe_of<M: ReadAt>(g: &RaidGeom<M>, pos: u64) -> io::Result<Stripe> {
    let c = g.chunk;
    if c == 0 {
        return Err(bad("RAID4/5/6 without a chunk size".into()));
    }
    let n = u64::try_from(g.members.len()).unwrap_or(u64::MAX);
    let (level, algorithm) = match g.level {
        RaidLevel::Raid4 => (4, 0),
        RaidLevel::Raid5 { algorithm } => (5, algorithm),
        RaidLevel::Raid6 { algorithm } => (6, algorithm),
        other => return Err(bad(format!("{other:?} is not RAID4/5/6"))),
    };
    let within = pos % c;
    let (dd, _pd, qd, stripe) = compute_sector(level, algorithm, n, pos / c)?;
    Ok(Stripe {
        dd: usize::try_from(dd).unwrap_or(usize::MAX),
        qd: qd.and_then(|q| usize::try_from(q).ok()),
        member_off: stripe.saturating_mul(c).saturating_add(within),
        run: c - within,
    })
}

/// `raid5_compute_sector` for array chunk `chunk_number` on `n` devices: (data device, P
/// device, Q device, stripe number = chunk on every device). Algorithms are `raid5.h`'s
/// `ALGORITHM_*` values.
fn compute_sector(
    level: u8,
    algorithm: u32,
    n: u64,
    chunk_number: u64,
) -> io::Result<(u64, u64, Option<u64>, u64)> {
    let max_degraded = if level == 6 { 2 } else { 1 };
    if n <= max_degraded {
        return Err(bad(format!("RAID{level} with {n} members")));
    }
    let data_disks = n - max_degraded;
    let stripe = chunk_number / data_disks;
    let mut dd = chunk_number % data_disks;
    let s2 = stripe;
    let pd;
    let mut qd = None;
    // P before Q at the end ("Q D D D P" when P is last), used by several RAID6 layouts.
    let pq_asym = |pd: u64, dd: &mut u64| -> u64 {
        if pd == n - 1 {
            *dd += 1;
            0
        } else {
            if *dd >= pd {
                *dd += 2;
            }
            pd + 1
        }
    };
    match (level, algorithm) {
        (4, _) => pd = data_disks,
        // ALGORITHM_LEFT_ASYMMETRIC
        (5, 0) => {
            pd = data_disks - s2 % n;
            if dd >= pd {
                dd += 1;
            }
        }
        // ALGORITHM_RIGHT_ASYMMETRIC
        (5, 1) => {
            pd = s2 % n;
            if dd >= pd {
                dd += 1;
            }
        }
        // ALGORITHM_LEFT_SYMMETRIC
        (5, 2) => {
            pd = data_disks - s2 % n;
            dd = (pd + 1 + dd) % n;
        }
        // ALGORITHM_RIGHT_SYMMETRIC
        (5, 3) => {
            pd = s2 % n;
            dd = (pd + 1 + dd) % n;
        }
        // ALGORITHM_PARITY_0
        (5, 4) => {
            pd = 0;
            dd += 1;
        }
        // ALGORITHM_PARITY_N
        (5, 5) => pd = data_disks,
        // ALGORITHM_LEFT_ASYMMETRIC
        (6, 0) => {
            pd = n - 1 - s2 % n;
            qd = Some(pq_asym(pd, &mut dd));
        }
        // ALGORITHM_RIGHT_ASYMMETRIC, and ALGORITHM_ROTATING_ZERO_RESTART (the same data
        // placement; only the order of blocks in Q differs)
        (6, 1) | (6, 8) => {
            pd = s2 % n;
            qd = Some(pq_asym(pd, &mut dd));
        }
        // ALGORITHM_LEFT_SYMMETRIC
        (6, 2) => {
            pd = n - 1 - s2 % n;
            qd = Some((pd + 1) % n);
            dd = (pd + 2 + dd) % n;
        }
        // ALGORITHM_RIGHT_SYMMETRIC
        (6, 3) => {
            pd = s2 % n;
            qd = Some((pd + 1) % n);
            dd = (pd + 2 + dd) % n;
        }
        // ALGORITHM_PARITY_0
        (6, 4) => {
            pd = 0;
            qd = Some(1);
            dd += 2;
        }
        // ALGORITHM_PARITY_N
        (6, 5) => {
            pd = data_disks;
            qd = Some(data_disks + 1);
        }
        // ALGORITHM_ROTATING_N_RESTART: left-asymmetric starting one stripe later
        (6, 9) => {
            pd = n - 1 - (s2 + 1) % n;
            qd = Some(pq_asym(pd, &mut dd));
        }
        // ALGORITHM_ROTATING_N_CONTINUE: left-symmetric with Q before P
        (6, 10) => {
            pd = n - 1 - s2 % n;
            qd = Some((pd + n - 1) % n);
            dd = (pd + 1 + dd) % n;
        }
        // ALGORITHM_LEFT_ASYMMETRIC_6 (RAID5 left-asymmetric, Q on the last device)
        (6, 16) => {
            pd = data_disks - s2 % (n - 1);
            if dd >= pd {
                dd += 1;
            }
            qd = Some(n - 1);
        }
        // ALGORITHM_RIGHT_ASYMMETRIC_6
        (6, 17) => {
            pd = s2 % (n - 1);
            if dd >= pd {
                dd += 1;
            }
            qd = Some(n - 1);
        }
        // ALGORITHM_LEFT_SYMMETRIC_6
        (6, 18) => {
            pd = data_disks - s2 % (n - 1);
            dd = (pd + 1 + dd) % (n - 1);
            qd = Some(n - 1);
        }
        // ALGORITHM_RIGHT_SYMMETRIC_6
        (6, 19) => {
            pd = s2 % (n - 1);
            dd = (pd + 1 + dd) % (n - 1);
            qd = Some(n - 1);
        }
        // ALGORITHM_PARITY_0_6
        (6, 20) => {
            pd = 0;
            dd += 1;
            qd = Some(n - 1);
        }
        (l, a) => {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!("RAID{l} algorithm {a} is unknown"),
            ))
        }
    }
    Ok((dd, pd, qd, stripe))
}

/// Every copy of array byte `pos`: (member, byte offset) in the kernel's slot order, and the
/// bytes left in its chunk.
fn raid10_copies<M: ReadAt>(
    g: &RaidGeom<M>,
    layout: u32,
    pos: u64,
) -> io::Result<(Vec<(usize, u64)>, u64)> {
    let n = u32::try_from(g.members.len()).unwrap_or(u32::MAX);
    let chunk_sectors = u32::try_from(g.chunk / 512).unwrap_or(0);
    if g.chunk % 512 != 0 {
        return Err(bad(format!("RAID10 chunk of {} bytes", g.chunk)));
    }
    let geo = Raid10::new(layout, chunk_sectors, n)
        .map_err(|(what, found, exp)| bad(format!("RAID10 {what} {found}: expected {exp}")))?;
    let c = g.chunk;
    let disks = geo.disks;
    let stride = geo.stride(g.member_size / 512).saturating_mul(512);
    let within = pos % c;
    let chunk = (pos / c).saturating_mul(geo.near);
    let mut stripe = chunk / disks;
    let mut dev = chunk % disks;
    if geo.offset {
        stripe = stripe.saturating_mul(geo.far);
    }
    let mut off = stripe.saturating_mul(c).saturating_add(within);
    let fss = geo.far_set_size;
    let last_far_set_start = (disks / fss).saturating_sub(1) * fss;
    let last_far_set_size = fss + disks % fss;
    let mut copies = Vec::new();
    for _ in 0..geo.near {
        let mut d = dev;
        let mut s = off;
        copies.push((d, s));
        for _ in 1..geo.far {
            let set = d / fss;
            d += geo.near;
            if disks % fss != 0 && d > last_far_set_start {
                d -= last_far_set_start;
                d %= last_far_set_size;
                d += last_far_set_start;
            } else {
                d %= fss;
                d += fss * set;
            }
            s = s.saturating_add(stride);
            copies.push((d, s));
        }
        dev += 1;
        if dev >= disks {
            dev = 0;
            off = off.saturating_add(c);
        }
    }
    let copies = copies
        .into_iter()
        .map(|(d, s)| (usize::try_from(d).unwrap_or(usize::MAX), s))
        .collect();
    Ok((copies, c - within))
}

/// RAID10 geometry parameters as `raid10.c: setup_geo` derives them from the layout word.
#[derive(Clone, Copy, Debug)]
pub struct Raid10 {
    pub near: u64,
    pub far: u64,
    pub offset: bool,
    /// Devices in a "far set" (layout bits 17-18).
    pub far_set_size: u64,
    pub disks: u64,
    pub chunk: u64,
}

impl Raid10 {
    /// Validates like `setup_geo` + `setup_conf`; the error is (field, found, expected).
    pub fn new(
        layout: u32,
        chunk_sectors: u32,
        raid_disks: u32,
    ) -> Result<Raid10, (&'static str, String, String)> {
        if layout >> 19 != 0 {
            return Err(("layout", format!("{layout:#x}"), "no bits above 18".into()));
        }
        if chunk_sectors < 8 || !chunk_sectors.is_power_of_two() {
            return Err((
                "chunk",
                format!("{chunk_sectors} sectors"),
                "a power of two of at least 8 sectors".into(),
            ));
        }
        let nc = u64::from(layout & 0xFF);
        let fc = u64::from((layout >> 8) & 0xFF);
        let disks = u64::from(raid_disks);
        let copies = nc * fc;
        if nc == 0 || fc == 0 || copies < 2 || copies > disks {
            return Err((
                "layout",
                format!("{layout:#x} (near {nc}, far {fc}) on {disks} devices"),
                "2 to raid_disks copies".into(),
            ));
        }
        let far_set_size = match layout >> 17 {
            0 => disks,
            1 => disks / fc,
            2 => fc * nc,
            _ => {
                return Err((
                    "layout",
                    format!("{layout:#x}"),
                    "far-set mode (bits 17-18) 0, 1 or 2".into(),
                ))
            }
        };
        if far_set_size == 0 {
            return Err((
                "layout",
                format!("{layout:#x}"),
                "a far set of at least one device".into(),
            ));
        }
        Ok(Raid10 {
            near: nc,
            far: fc,
            offset: layout & (1 << 16) != 0,
            far_set_size,
            disks,
            chunk: u64::from(chunk_sectors),
        })
    }

    /// Per-device sectors after `calc_sectors` rounds `size` (kernel `conf->dev_sectors`).
    pub fn dev_sectors(&self, size: u64) -> u64 {
        let array_chunks = (size / self.chunk / self.far).saturating_mul(self.disks) / self.near;
        let per_dev = array_chunks
            .saturating_mul(self.near * self.far)
            .div_ceil(self.disks);
        per_dev.saturating_mul(self.chunk)
    }

    /// `raid10_size` over the rounded per-device size.
    pub fn array_sectors(&self, size: u64) -> u64 {
        let dev_chunks = self.dev_sectors(size) / self.chunk;
        // Saturating as dev_sectors is: a component size near 2^64 sectors (from disk) must
        // not overflow here.
        ((dev_chunks / self.far).saturating_mul(self.disks) / self.near).saturating_mul(self.chunk)
    }

    /// Distance between far copies on a device, sectors (`geo->stride`).
    pub fn stride(&self, size: u64) -> u64 {
        if self.offset {
            self.chunk
        } else {
            self.dev_sectors(size) / self.chunk / self.far * self.chunk
        }
    }
}

fn bad(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

fn not_found(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, msg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::MemDev;

    /// Data device per chunk for the first stripes, against the kernel's documented pictures
    /// (raid5.h comments and mdadm's layout diagrams).
    fn first_stripes(level: u8, algorithm: u32, n: u64, stripes: u64) -> Vec<Vec<u64>> {
        let data = n - if level == 6 { 2 } else { 1 };
        (0..stripes)
            .map(|s| {
                (0..data)
                    .map(|k| compute_sector(level, algorithm, n, s * data + k).unwrap().0)
                    .collect()
            })
            .collect()
    }

    /// Fuzz regression (md_v1/raid10-array-size-overflow): a RAID10 superblock (near 1, far 2,
    /// far sets of 2, 11 devices) with a component size near 2^62 sectors made
    /// `array_sectors` panic with "attempt to multiply with overflow".
    #[test]
    fn raid10_sizes_saturate() {
        let g = Raid10::new(0x40201, 128, 11).unwrap();
        let dev = g.dev_sectors(3_385_018_069_922_363_392);
        assert_eq!(g.array_sectors(dev), u64::MAX);
    }

    #[test]
    fn raid5_left_symmetric_rotates_data_after_parity() {
        // 4 devices: P on 3,2,1,0; data starts right after P and wraps.
        assert_eq!(
            first_stripes(5, 2, 4, 4),
            vec![vec![0, 1, 2], vec![3, 0, 1], vec![2, 3, 0], vec![1, 2, 3]]
        );
        let p: Vec<u64> = (0..4)
            .map(|s| compute_sector(5, 2, 4, s * 3).unwrap().1)
            .collect();
        assert_eq!(p, vec![3, 2, 1, 0]);
    }

    #[test]
    fn raid5_asymmetric_and_fixed_parity() {
        assert_eq!(
            first_stripes(5, 0, 4, 4),
            vec![vec![0, 1, 2], vec![0, 1, 3], vec![0, 2, 3], vec![1, 2, 3]]
        );
        assert_eq!(
            first_stripes(5, 1, 4, 2),
            vec![vec![1, 2, 3], vec![0, 2, 3]]
        );
        assert_eq!(first_stripes(5, 4, 3, 2), vec![vec![1, 2], vec![1, 2]]);
        assert_eq!(first_stripes(5, 5, 3, 2), vec![vec![0, 1], vec![0, 1]]);
        assert_eq!(first_stripes(4, 0, 3, 2), vec![vec![0, 1], vec![0, 1]]);
    }

    fn mem_member(bytes: Vec<u8>) -> Option<MemDev> {
        Some(MemDev::new(bytes))
    }

    /// Reads array bytes as the layout reader does: each run from its member, or rebuilt.
    fn read(g: &RaidGeom<MemDev>, pos: u64, buf: &mut [u8]) -> io::Result<()> {
        let mut done = 0usize;
        while done < buf.len() {
            let at = pos + done as u64;
            let (m, off, run) = locate(g, at)?;
            let n = (run as usize).min(buf.len() - done);
            let part = &mut buf[done..done + n];
            match &g.members[m] {
                Some(d) => d.read_exact_at(off, part)?,
                None if can_rebuild(g) => reconstruct(g, at, part)?,
                None => return Err(not_found(format!("member {m} missing"))),
            }
            done += n;
        }
        Ok(())
    }

    fn geom(
        level: RaidLevel,
        chunk: u64,
        members: Vec<Option<MemDev>>,
        member_size: u64,
        size: u64,
    ) -> RaidGeom<MemDev> {
        RaidGeom {
            level,
            chunk,
            members,
            member_size,
            size,
        }
    }

    #[test]
    fn raid0_zones_original_and_alternate() {
        // Members of 1, 3 and 3 chunks: zone 0 stripes over all three, zone 1 over the two
        // larger ones from their second chunk on.
        let c = 4096u64;
        let members = || {
            vec![
                mem_member(vec![0; 4096]),
                mem_member(vec![0; 3 * 4096]),
                mem_member(vec![0; 3 * 4096 + 100]),
            ]
        };
        let orig = geom(RaidLevel::Raid0, c, members(), 0, 7 * c);
        let alt = geom(RaidLevel::Raid0AltMultizone, c, members(), 0, 7 * c);
        let map = |g: &RaidGeom<MemDev>| -> Vec<(usize, u64)> {
            (0..7)
                .map(|k| {
                    let (m, o, run) = locate(g, k * c + 10).unwrap();
                    assert_eq!(run, c - 10);
                    (m, (o - 10) / c)
                })
                .collect()
        };
        assert_eq!(
            map(&orig),
            vec![(0, 0), (1, 0), (2, 0), (2, 1), (1, 1), (2, 2), (1, 2)]
        );
        assert_eq!(
            map(&alt),
            vec![(0, 0), (1, 0), (2, 0), (1, 1), (2, 1), (1, 2), (2, 2)]
        );
        assert!(locate(&orig, 7 * c).is_err());
    }

    #[test]
    fn raid10_copies_near_far_offset() {
        let c = 4096u64;
        let copies = |layout: u32, n: usize, size: u64, k: u64| {
            let g = geom(
                RaidLevel::Raid10 { layout },
                c,
                vec![None; n],
                size,
                1 << 40,
            );
            raid10_copies(&g, layout, k * c)
                .unwrap()
                .0
                .into_iter()
                .map(|(d, o)| (d, o / c))
                .collect::<Vec<_>>()
        };
        // near=2 on 3 devices: chunks 0,1,2 as (0,1) (2,0') (1',2') (md(4) "near" picture).
        assert_eq!(copies(0x102, 3, 8 * c, 0), vec![(0, 0), (1, 0)]);
        assert_eq!(copies(0x102, 3, 8 * c, 1), vec![(2, 0), (0, 1)]);
        assert_eq!(copies(0x102, 3, 8 * c, 2), vec![(1, 1), (2, 1)]);
        // far=2 on 3 devices with 8 chunks per device: RAID0 over the first half, the second
        // copy in the second half shifted by one device.
        assert_eq!(copies(0x201, 3, 8 * c, 0), vec![(0, 0), (1, 4)]);
        assert_eq!(copies(0x201, 3, 8 * c, 4), vec![(1, 1), (2, 5)]);
        assert_eq!(copies(0x201, 3, 8 * c, 5), vec![(2, 1), (0, 5)]);
        // offset=2: each stripe is followed by its copy shifted by one device.
        assert_eq!(copies(0x10201, 3, 8 * c, 0), vec![(0, 0), (1, 1)]);
        assert_eq!(copies(0x10201, 3, 8 * c, 2), vec![(2, 0), (0, 1)]);
        assert_eq!(copies(0x10201, 3, 8 * c, 3), vec![(0, 2), (1, 3)]);
    }

    /// A RAID4/5/6 array of random data members and consistent P (and random Q), read whole,
    /// then with each member missing: the rebuilt bytes must equal the originals.
    fn degraded_reads_match(level: RaidLevel, n: usize) {
        let c = 4096u64;
        let rows = 6u64;
        let mut seed = 0x1234_5678_9abc_def0u64;
        let mut rnd = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 24) as u8
        };
        let mut devs: Vec<Vec<u8>> = (0..n)
            .map(|_| (0..rows * c).map(|_| rnd()).collect())
            .collect();
        let (lv, alg) = match level {
            RaidLevel::Raid4 => (4, 0),
            RaidLevel::Raid5 { algorithm } => (5, algorithm),
            RaidLevel::Raid6 { algorithm } => (6, algorithm),
            _ => unreachable!(),
        };
        let data = n as u64 - if lv == 6 { 2 } else { 1 };
        for row in 0..rows {
            let (_, pd, qd, stripe) = compute_sector(lv, alg, n as u64, row * data).unwrap();
            assert_eq!(stripe, row);
            let r = (row * c) as usize..((row + 1) * c) as usize;
            let mut p = vec![0u8; c as usize];
            for (i, d) in devs.iter().enumerate() {
                if i as u64 != pd && Some(i as u64) != qd {
                    for (x, y) in p.iter_mut().zip(&d[r.clone()]) {
                        *x ^= y;
                    }
                }
            }
            devs[pd as usize][r].copy_from_slice(&p);
        }
        let size = rows * c * data;
        let members: Vec<Option<MemDev>> = devs.into_iter().map(mem_member).collect();
        let full = geom(level, c, members.clone(), rows * c, size);
        let mut want = vec![0u8; size as usize];
        read(&full, 0, &mut want).unwrap();
        for i in 0..n {
            let mut m = members.clone();
            m[i] = None;
            let l = geom(level, c, m, rows * c, size);
            let mut got = vec![0u8; size as usize];
            read(&l, 0, &mut got).unwrap();
            assert!(got == want, "{level:?} without member {i}");
            let mut part = vec![0u8; 100];
            read(&l, c + 7, &mut part).unwrap();
            assert_eq!(part[..], want[(c + 7) as usize..(c + 107) as usize]);
        }
        // Two data members of the first stripe gone: P alone cannot give them back.
        let d0 = compute_sector(lv, alg, n as u64, 0).unwrap().0 as usize;
        let d1 = compute_sector(lv, alg, n as u64, 1).unwrap().0 as usize;
        let mut m = members;
        m[d0] = None;
        m[d1] = None;
        let l = geom(level, c, m, rows * c, size);
        let mut all = vec![0u8; size as usize];
        assert_eq!(
            read(&l, 0, &mut all).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
    }

    #[test]
    fn raid456_rebuild_one_missing_member() {
        degraded_reads_match(RaidLevel::Raid4, 3);
        for algorithm in 0..=5 {
            degraded_reads_match(RaidLevel::Raid5 { algorithm }, 4);
        }
        for algorithm in [0, 1, 2, 3, 4, 5, 8, 9, 10, 16, 17, 18, 19, 20] {
            degraded_reads_match(RaidLevel::Raid6 { algorithm }, 5);
        }
    }

    #[test]
    fn raid6_layouts_never_put_data_on_p_or_q() {
        for alg in [0u32, 1, 2, 3, 4, 5, 8, 9, 10, 16, 17, 18, 19, 20] {
            for n in 4u64..8 {
                for chunk in 0..(n * 12) {
                    let (dd, pd, qd, _) = compute_sector(6, alg, n, chunk).unwrap();
                    let qd = qd.unwrap();
                    assert!(dd < n && pd < n && qd < n, "alg {alg} n {n}");
                    assert!(
                        dd != pd && dd != qd && pd != qd,
                        "alg {alg} n {n} chunk {chunk}"
                    );
                }
            }
        }
        assert!(compute_sector(6, 7, 4, 0).is_err());
    }
}
