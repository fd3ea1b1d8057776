//! The fuzz harness of evms-activate: how fuzzer bytes become inputs of each reader, and what
//! each target runs. Shared by the cargo-fuzz targets (`fuzz/fuzz_targets/*.rs`, one line
//! each) and by `tests/fuzz_regressions.rs` in the main crate, which includes this file with
//! `#[path]` so that every committed crash input runs through exactly the code path the fuzzer
//! used. It therefore depends on nothing but `evms_activate` and `crc32fast` (a dependency of
//! the main crate).
//!
//! Inputs:
//! * parser targets (`md_v090`, `md_v1`, `lvm_label`, `lvm_mda`, `lvm_text`, `lvm_vg`, `luks`,
//!   `cmdline`, `config`) take the bytes (after a flags byte where noted) as the buffer the
//!   parser gets;
//! * device targets (`mbr`, `gpt`, `fs`, `evms`) take one [`Disk`] in the chunk encoding of
//!   [`decode_disk`], so a disk can be large (a GPT backup at the end, an EBR chain far out, a
//!   0.90 superblock at the end) while the input stays small;
//! * `discover` splits the input into 1–4 disks ([`decode_disks`]) and runs the whole
//!   pipeline: engine discovery over them in memory, plan building, the JSON and text reports.
//!
//! Checksums stop a fuzzer at the first mutation. Where the flags byte asks for it, the harness
//! recomputes them ([`fix_lvm`], [`fix_md`], [`fix_gpt`], [`fix_evms`]) before the reader runs,
//! so mutations reach the checks behind the checksum; without the flag the checksum checks
//! themselves are fuzzed.
//!
//! Every `run_*` function returns a one-line summary of what the reader answered (the error's
//! text for errors): the regression tests assert on it.

use evms_activate::formats::bytes::{lvm_crc, lvm_crc_with, LVM_INITIAL_CRC};
use evms_activate::formats::{evms, lvm, mbr, md};
use evms_activate::source::layout::Src;
use evms_activate::source::ReadAt;
use std::io;
use std::sync::Arc;

/// Every target, in the order `make fuzz` runs them.
pub const TARGETS: &[&str] = &[
    "mbr",
    "gpt",
    "md_v090",
    "md_v1",
    "lvm_label",
    "lvm_mda",
    "lvm_text",
    "lvm_vg",
    "fs",
    "luks",
    "luks1",
    "luks2_pair",
    "luks2_json",
    "evms",
    "cmdline",
    "config",
    "discover",
];

/// Runs target `name` on `data`; `None` for an unknown target name.
pub fn run(name: &str, data: &[u8]) -> Option<String> {
    Some(match name {
        "mbr" => run_mbr(data),
        "gpt" => run_gpt(data),
        "md_v090" => run_md_v090(data),
        "md_v1" => run_md_v1(data),
        "lvm_label" => run_lvm_label(data),
        "lvm_mda" => run_lvm_mda(data),
        "lvm_text" => run_lvm_text(data),
        "lvm_vg" => run_lvm_vg(data),
        "fs" => run_fs(data),
        "luks" => run_luks(data),
        "luks1" => run_luks1(data),
        "luks2_pair" => run_luks2_pair(data),
        "luks2_json" => run_luks2_json(data),
        "evms" => run_evms(data),
        "cmdline" => run_cmdline(data),
        "config" => run_config(data),
        "discover" => run_discover(data),
        _ => return None,
    })
}

// ---------------------------------------------------------------------------------------------
// Disks in the chunk encoding

/// Largest disk a fuzz input may describe (4 TiB): large enough for every offset arithmetic
/// path (0.90 superblocks at the end, GPT backups, EBRs far out), small enough that a
/// `u64` sector count of it never overflows.
pub const MAX_DISK: u64 = 1 << 42;
/// Most chunks one disk may carry (bounds the cost of a read).
pub const MAX_CHUNKS: usize = 512;

/// A sparse disk in memory: chunks of bytes at offsets (later chunks win where they overlap),
/// zeros elsewhere, with a logical block size. Writes (checksum fix-ups) append a chunk.
#[derive(Debug, Clone, Default)]
pub struct Disk {
    size: u64,
    lbs: u32,
    chunks: Vec<(u64, Vec<u8>)>,
}

impl Disk {
    pub fn new(size: u64, lbs: u32) -> Disk {
        Disk {
            size: size.min(MAX_DISK),
            lbs,
            chunks: Vec::new(),
        }
    }

    /// Changes the size (capped at [`MAX_DISK`]); bytes written beyond it are no longer read.
    pub fn set_size(&mut self, size: u64) {
        self.size = size.min(MAX_DISK);
    }

    /// Overwrites `bytes` at `off` (clipped to the disk).
    pub fn write(&mut self, off: u64, bytes: &[u8]) {
        let room = self.size.saturating_sub(off);
        let n = usize::try_from(room).unwrap_or(usize::MAX).min(bytes.len());
        if n > 0 {
            self.chunks.push((off, bytes[..n].to_vec()));
        }
    }

    /// Reads `len` bytes at `off` (zeros where nothing was written); `None` past the end.
    pub fn get(&self, off: u64, len: usize) -> Option<Vec<u8>> {
        let mut v = vec![0u8; len];
        self.read_exact_at(off, &mut v).ok()?;
        Some(v)
    }
}

impl ReadAt for Disk {
    fn read_exact_at(&self, off: u64, buf: &mut [u8]) -> io::Result<()> {
        let len = u64::try_from(buf.len()).unwrap_or(u64::MAX);
        let end = off
            .checked_add(len)
            .filter(|&e| e <= self.size)
            .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "beyond the disk"))?;
        buf.fill(0);
        for (coff, data) in &self.chunks {
            let cend = coff.saturating_add(u64::try_from(data.len()).unwrap_or(u64::MAX));
            let lo = off.max(*coff);
            let hi = end.min(cend);
            if lo >= hi {
                continue;
            }
            // lo - off < buf.len() and lo - coff < data.len(), both usize-sized.
            let (Ok(b), Ok(c), Ok(n)) = (
                usize::try_from(lo - off),
                usize::try_from(lo - coff),
                usize::try_from(hi - lo),
            ) else {
                continue;
            };
            buf[b..b + n].copy_from_slice(&data[c..c + n]);
        }
        Ok(())
    }
    fn size(&self) -> u64 {
        self.size
    }
    fn logical_block_size(&self) -> u32 {
        self.lbs
    }
}

/// Copies the non-zero sectors of any byte source (a real-tool fixture) into a [`Disk`], so
/// tests can mutate it and recompute its checksums with the fix-ups below.
pub fn disk_from(src: &dyn ReadAt) -> Disk {
    let mut d = Disk::new(src.size(), src.logical_block_size());
    let mut buf = vec![0u8; 1 << 16];
    let mut off = 0u64;
    while off < d.size {
        let n = usize::try_from(d.size - off).map_or(buf.len(), |r| r.min(buf.len()));
        if src.read_exact_at(off, &mut buf[..n]).is_err() {
            break;
        }
        for (i, s) in buf[..n].chunks(512).enumerate() {
            if s.iter().any(|&b| b != 0) {
                d.write(off + 512 * i as u64, s);
            }
        }
        off += n as u64;
    }
    d
}

/// Little reader over the fuzzer's bytes: every take is bounded, short input yields zeros.
struct Cursor<'a> {
    b: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn u8(&mut self) -> u8 {
        let v = self.b.first().copied().unwrap_or(0);
        self.b = self.b.get(1..).unwrap_or(&[]);
        v
    }
    fn take(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.b.len());
        let (a, rest) = self.b.split_at(n);
        self.b = rest;
        a
    }
    fn u16(&mut self) -> u16 {
        let mut a = [0u8; 2];
        let t = self.take(2);
        a[..t.len()].copy_from_slice(t);
        u16::from_le_bytes(a)
    }
    fn u32(&mut self) -> u32 {
        let mut a = [0u8; 4];
        let t = self.take(4);
        a[..t.len()].copy_from_slice(t);
        u32::from_le_bytes(a)
    }
    fn u64(&mut self) -> u64 {
        let mut a = [0u8; 8];
        let t = self.take(8);
        a[..t.len()].copy_from_slice(t);
        u64::from_le_bytes(a)
    }
    fn is_empty(&self) -> bool {
        self.b.is_empty()
    }
}

/// Decodes one disk:
///
/// ```text
/// flags:u8   bit 0: logical block size 4096 (else 512)
/// size:u64   bytes (capped at MAX_DISK; grown to hold the chunks)
/// chunk*     off:u64 len:u16 bytes[len]     (at most MAX_CHUNKS)
/// ```
/// `fuzz/seeds.py` writes the real-tool fixtures in this form.
pub fn decode_disk(data: &[u8]) -> Disk {
    let mut c = Cursor { b: data };
    let flags = c.u8();
    let lbs = if flags & 1 != 0 { 4096 } else { 512 };
    let mut d = Disk::new(c.u64(), lbs);
    while !c.is_empty() && d.chunks.len() < MAX_CHUNKS {
        let off = c.u64();
        let len = usize::from(c.u16());
        let bytes = c.take(len);
        let end = off.saturating_add(u64::try_from(bytes.len()).unwrap_or(u64::MAX));
        if end > MAX_DISK {
            continue;
        }
        d.size = d.size.max(end);
        d.write(off, bytes);
    }
    d
}

/// Splits the `discover` input into 1–4 disks:
///
/// ```text
/// flags:u8   bit 0: recompute checksums; bit 1: degraded; bit 2: partial;
///            bit 3: a homehost ("fuzz"); bit 4: a system_id ("fuzz")
/// (len:u32 disk[len])*   at most 4 disks, each in the encoding of decode_disk
/// ```
pub fn decode_disks(data: &[u8]) -> (u8, Vec<Disk>) {
    let mut c = Cursor { b: data };
    let flags = c.u8();
    let mut disks = Vec::new();
    while !c.is_empty() && disks.len() < 4 {
        let len = usize::try_from(c.u32()).unwrap_or(usize::MAX);
        disks.push(decode_disk(c.take(len)));
    }
    (flags, disks)
}

// ---------------------------------------------------------------------------------------------
// Checksum fix-ups (harness only: they make mutations reach the checks behind a checksum)

fn le32_at(b: &[u8], off: usize) -> u32 {
    evms_activate::formats::bytes::le32(b, off).unwrap_or(0)
}
fn le64_at(b: &[u8], off: usize) -> u64 {
    evms_activate::formats::bytes::le64(b, off).unwrap_or(0)
}

/// LVM2: every `LABELONE` sector's `crc_xl`, then for the label's metadata areas the committed
/// text's checksum (`raw_locn[0].checksum`) and the `mda_header` checksum.
pub fn fix_lvm(d: &mut Disk) {
    for s in 0..4u64 {
        let Some(mut sec) = d.get(s * 512, 512) else {
            return;
        };
        if sec.get(..8) == Some(&lvm::label::LABEL_ID[..]) {
            let crc = lvm_crc(&sec[0x14..]);
            sec[0x10..0x14].copy_from_slice(&crc.to_le_bytes());
            d.write(s * 512 + 0x10, &crc.to_le_bytes());
        }
    }
    let Some((label, _)) = lvm_label(d) else {
        return;
    };
    for area in label.metadata_areas.iter().take(4) {
        fix_mda(d, area.offset);
    }
}

/// The disk's LVM label, with the sectors 0-3 it was found in.
pub fn lvm_label(d: &Disk) -> Option<(lvm::label::PvLabel, [u8; lvm::label::LABEL_SCAN_SIZE])> {
    let head = d.get(0, lvm::label::LABEL_SCAN_SIZE)?;
    let first4 = <[u8; lvm::label::LABEL_SCAN_SIZE]>::try_from(head.as_slice()).ok()?;
    let (label, _) = lvm::label::parse_label(&first4).ok()??;
    Some((label, first4))
}

/// Recomputes one `mda_header`'s text checksum and header checksum.
pub fn fix_mda(d: &mut Disk, at: u64) {
    let Some(h) = d.get(at, 512) else { return };
    if h.get(4..20) != Some(&lvm::mda::FMTT_MAGIC[..]) {
        return;
    }
    let header_crc = |h: &[u8]| lvm_crc(&h[4..]);
    let mut h = h;
    let c = header_crc(&h);
    h[0..4].copy_from_slice(&c.to_le_bytes());
    let Ok(buf) = <[u8; 512]>::try_from(h.as_slice()) else {
        return;
    };
    if let Ok(hdr) = lvm::mda::parse_mda_header(&buf, at) {
        if hdr.committed().is_some() {
            if let Ok(pieces) = lvm::mda::text_pieces(&hdr) {
                // Texts beyond 16 MiB keep their checksum (the reader refuses them unread).
                let mut crc = Some(LVM_INITIAL_CRC);
                for (off, len) in pieces {
                    let t = usize::try_from(len)
                        .ok()
                        .filter(|&l| l <= 16 << 20)
                        .and_then(|l| d.get(off, l));
                    crc = crc.zip(t).map(|(c, t)| lvm_crc_with(c, &t));
                }
                if let Some(crc) = crc {
                    h[0x28 + 16..0x28 + 20].copy_from_slice(&crc.to_le_bytes());
                    let c = header_crc(&h);
                    h[0..4].copy_from_slice(&c.to_le_bytes());
                }
            }
        }
    }
    d.write(at, &h);
}

/// MD: the checksum of a superblock at every location mdadm looks at.
pub fn fix_md(d: &mut Disk) {
    for loc in md::superblock_locations(d.size()) {
        let at = loc.sector.saturating_mul(512);
        let Some(mut b) = d.get(at, md::SB_BYTES) else {
            continue;
        };
        match loc.kind {
            md::SbKind::V090 => {
                let be = match (le32_at(&b, 0), u32::from_be_bytes([b[0], b[1], b[2], b[3]])) {
                    (md::MD_SB_MAGIC, _) => false,
                    (_, md::MD_SB_MAGIC) => true,
                    _ => continue,
                };
                fix_md_v090(&mut b, be);
            }
            md::SbKind::V1 { .. } => {
                if le32_at(&b, 0) != md::MD_SB_MAGIC {
                    continue;
                }
                fix_md_v1(&mut b);
            }
        }
        d.write(at, &b);
    }
}

/// 0.90 `sb_csum` in the superblock's byte order (`calc_sb_csum`).
pub fn fix_md_v090(b: &mut [u8], be: bool) {
    let w = |b: &[u8], i: usize| {
        let a = [b[i], b[i + 1], b[i + 2], b[i + 3]];
        u64::from(if be {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        })
    };
    if b.len() < md::SB_BYTES {
        return;
    }
    let sum: u64 = (0..md::SB_BYTES / 4)
        .filter(|&i| i != 0x98 / 4)
        .map(|i| w(b, i * 4))
        .sum();
    let c = fold(sum);
    b[0x98..0x9C].copy_from_slice(&if be { c.to_be_bytes() } else { c.to_le_bytes() });
}

/// 1.x `sb_csum` (`calc_sb_1_csum`).
pub fn fix_md_v1(b: &mut [u8]) {
    if b.len() < md::SB_BYTES {
        return;
    }
    let max_dev = le32_at(b, 0xDC).min(md::MAX_DEV_1);
    let len = 256 + 2 * usize::try_from(max_dev).unwrap_or(0);
    let mut sum = 0u64;
    let mut off = 0;
    while off + 4 <= len {
        if off != 0xD8 {
            sum += u64::from(le32_at(b, off));
        }
        off += 4;
    }
    if len - off == 2 {
        sum += u64::from(u16::from_le_bytes([b[off], b[off + 1]]));
    }
    let c = fold(sum);
    b[0xD8..0xDC].copy_from_slice(&c.to_le_bytes());
}

fn fold(sum: u64) -> u32 {
    let f = (sum & 0xFFFF_FFFF) + (sum >> 32);
    u32::try_from(f & 0xFFFF_FFFF).unwrap_or(0)
}

/// GPT: the entry-array CRC and the header CRC of the primary (LBA 1) and backup (last LBA)
/// headers.
pub fn fix_gpt(d: &mut Disk) {
    let lbs = u64::from(d.logical_block_size());
    let Some(last) = (d.size() / lbs).checked_sub(1) else {
        return;
    };
    for lba in [1, last] {
        let at = lba.saturating_mul(lbs);
        let Some(mut h) = usize::try_from(lbs).ok().and_then(|l| d.get(at, l)) else {
            continue;
        };
        if h.get(..8) != Some(&b"EFI PART"[..]) {
            continue;
        }
        let ent_lba = le64_at(&h, 0x48);
        let n = u64::from(le32_at(&h, 0x50));
        let sz = u64::from(le32_at(&h, 0x54));
        if let Some(ents) = n
            .checked_mul(sz)
            .filter(|&l| l <= 1 << 20)
            .and_then(|l| usize::try_from(l).ok())
            .and_then(|l| d.get(ent_lba.checked_mul(lbs)?, l))
        {
            h[0x58..0x5C].copy_from_slice(&crc32fast::hash(&ents).to_le_bytes());
        }
        let hsz = usize::try_from(le32_at(&h, 0x0C)).unwrap_or(0);
        if (92..=h.len()).contains(&hsz) {
            h[0x10..0x14].fill(0);
            let c = crc32fast::hash(&h[..hsz]);
            h[0x10..0x14].copy_from_slice(&c.to_le_bytes());
        }
        d.write(at, &h);
    }
}

/// EVMS: both feature-header copies at the end of the object.
pub fn fix_evms(d: &mut Disk) {
    let sectors = d.size() / 512;
    for s in [sectors.checked_sub(1), sectors.checked_sub(2)]
        .into_iter()
        .flatten()
    {
        let at = s * 512;
        let Some(mut b) = d.get(at, 512) else {
            continue;
        };
        if le32_at(&b, 0) != evms::EVMS_FEATURE_HEADER_SIGNATURE
            || le32_at(&b, 4) == evms::EVMS_MAGIC_CRC
        {
            continue;
        }
        b[4..8].fill(0);
        let c = evms::evms_crc(&b);
        b[4..8].copy_from_slice(&c.to_le_bytes());
        d.write(at, &b);
    }
}

/// Every fix-up, in the order the structures nest.
pub fn fix_all(d: &mut Disk) {
    fix_gpt(d);
    fix_md(d);
    fix_lvm(d);
    fix_evms(d);
}

// ---------------------------------------------------------------------------------------------
// Targets

fn summary<T, E: std::fmt::Display>(r: &Result<Option<T>, E>, ok: impl Fn(&T) -> String) -> String {
    match r {
        Ok(None) => "none".to_string(),
        Ok(Some(v)) => format!("ok: {}", ok(v)),
        Err(e) => format!("error: {e}"),
    }
}

/// Fixed-size prefix of `data`, zero-padded.
fn fixed<const N: usize>(data: &[u8]) -> [u8; N] {
    let mut a = [0u8; N];
    let n = data.len().min(N);
    a[..n].copy_from_slice(&data[..n]);
    a
}

fn part_summary(t: &evms_activate::formats::part::PartTable) -> String {
    // Formatting every warning exercises the error texts too.
    let w: Vec<String> = t.warnings.iter().map(|w| w.to_string()).collect();
    format!(
        "{:?} {} partitions, {} warnings{}",
        t.kind,
        t.parts.len(),
        w.len(),
        w.first()
            .map(|w| format!(" (first: {w})"))
            .unwrap_or_default()
    )
}

/// `mbr`: sector 0 through `mbr::parse_mbr`, then the whole partition probe (primaries, EBR
/// chains) over the disk.
pub fn run_mbr(data: &[u8]) -> String {
    let d = decode_disk(data);
    if let Some(s0) = d.get(0, mbr::SECTOR_SIZE) {
        let _ = mbr::parse_mbr(&fixed::<{ mbr::SECTOR_SIZE }>(&s0));
    }
    let r = evms_activate::probe::part::probe_partitions("fuzz", &d);
    summary(&r, part_summary)
}

/// `gpt`: the partition probe over a disk whose GPT checksums are recomputed when the first
/// flag bit 1 is set (primary, backup, alternate comparison, entries).
pub fn run_gpt(data: &[u8]) -> String {
    let fix = data.first().is_some_and(|f| f & 2 != 0);
    let mut d = decode_disk(data);
    if fix {
        fix_gpt(&mut d);
    }
    let r = evms_activate::probe::part::probe_partitions("fuzz", &d);
    summary(&r, part_summary)
}

/// Exercises what the engine does with a valid superblock: size check, geometry over member
/// areas (members backed by small zero devices), a read through the assembled array.
fn md_after_parse(sb: &md::MdSuper) -> String {
    let _ = md::check_fits(sb, 1 << 30);
    let _ = sb.raid10_copies();
    let n = usize::try_from(sb.raid_disks).unwrap_or(0).min(64);
    let member: Src = Arc::new(evms_activate::source::MemDev::new(vec![0u8; 64 << 10]));
    let members = (0..n)
        .map(|i| (i % 3 != 2).then(|| md::member_area(sb, member.clone())))
        .collect();
    match md::geom_for(sb, members) {
        Ok(l) => {
            let m = evms_activate::source::layout::Mapped::new(l, 512);
            let mut buf = [0u8; 4096];
            let read = |off: u64, buf: &mut [u8]| match m.read_exact_at(off, buf) {
                Ok(()) => "ok".to_string(),
                Err(e) => format!("error ({e})"),
            };
            let first = read(0, &mut buf);
            let last = read(m.size().saturating_sub(4096), &mut buf);
            format!(
                "{} {} disks, {} bytes; read at 0: {first}; read at the end: {last}",
                sb.version,
                sb.raid_disks,
                m.size()
            )
        }
        Err(e) => format!("{} geometry error: {e}", sb.version),
    }
}

/// `md_v090`: flags byte (bit 0: fix the checksum; bit 1: big-endian checksum), sector u32,
/// then the 4096-byte superblock.
pub fn run_md_v090(data: &[u8]) -> String {
    let mut c = Cursor { b: data };
    let flags = c.u8();
    let sector = u64::from(c.u32());
    let mut b = fixed::<{ md::SB_BYTES }>(c.take(md::SB_BYTES));
    if flags & 1 != 0 {
        fix_md_v090(&mut b, flags & 2 != 0);
    }
    summary(&md::parse_v090(&b, sector), md_after_parse)
}

/// `md_v1`: flags byte (bit 0: fix the checksum; bits 1-2: minor 0..=3), sector u64, then the
/// 4096-byte superblock.
pub fn run_md_v1(data: &[u8]) -> String {
    let mut c = Cursor { b: data };
    let flags = c.u8();
    let minor = (flags >> 1) & 3;
    let sector = c.u64();
    let mut b = fixed::<{ md::SB_BYTES }>(c.take(md::SB_BYTES));
    if flags & 1 != 0 {
        fix_md_v1(&mut b);
    }
    summary(&md::parse_v1(&b, minor, sector), md_after_parse)
}

/// `lvm_label`: flags byte (bit 0: fix the label CRCs), then the first 2048 bytes of a device.
pub fn run_lvm_label(data: &[u8]) -> String {
    let fix = data.first().is_some_and(|f| f & 1 != 0);
    let mut b = fixed::<{ lvm::label::LABEL_SCAN_SIZE }>(data.get(1..).unwrap_or(&[]));
    if fix {
        for s in 0..4 {
            let base = s * 512;
            if b[base..base + 8] == lvm::label::LABEL_ID[..] {
                let crc = lvm_crc(&b[base + 0x14..base + 512]);
                b[base + 0x10..base + 0x14].copy_from_slice(&crc.to_le_bytes());
            }
        }
    }
    let r = lvm::label::parse_label(&b);
    summary(&r, |(l, w)| {
        let _ = l.pe_start_bytes();
        format!(
            "sector {} {} mdas {} warnings",
            l.sector,
            l.metadata_areas.len(),
            w.len()
        )
    })
}

/// `lvm_mda`: flags byte (bit 0: fix the checksums), `start` u64 (the header's device
/// offset), then the metadata area from its header on (512-byte header, then the text
/// buffer). Runs header → committed slot → text pieces → text check, as the probe driver.
pub fn run_lvm_mda(data: &[u8]) -> String {
    let mut c = Cursor { b: data };
    let flags = c.u8();
    let start = c.u64().min(MAX_DISK);
    let area = c.b;
    let mut d = Disk::new(start.saturating_add(1 << 24), 512);
    d.write(start, area);
    if flags & 1 != 0 {
        fix_mda(&mut d, start);
    }
    let Some(h) = d.get(start, 512) else {
        return "none".into();
    };
    let h = match lvm::mda::parse_mda_header(&fixed::<512>(&h), start) {
        Ok(h) => h,
        Err(e) => return format!("error: {e}"),
    };
    if h.committed().is_none() {
        return format!("empty (ignored: {})", h.slot0.ignored());
    }
    let pieces = match lvm::mda::text_pieces(&h) {
        Ok(p) => p,
        Err(e) => return format!("error: {e}"),
    };
    let mut bufs = Vec::new();
    for &(off, len) in &pieces {
        // Only text inside what the input provided (the driver bounds reads by MAX_READ).
        match usize::try_from(len)
            .ok()
            .filter(|&l| l <= 1 << 20)
            .and_then(|l| d.get(off, l))
        {
            Some(b) => bufs.push(b),
            None => return format!("text of {len} bytes not read"),
        }
    }
    let _ = lvm::mda::device_offset(&pieces, h.slot0.size / 2);
    let _ = lvm::mda::device_offset(&pieces, u64::MAX);
    let refs: Vec<&[u8]> = bufs.iter().map(Vec::as_slice).collect();
    match lvm::mda::check_text(&h, &refs) {
        Ok(()) => format!("ok: {} pieces", pieces.len()),
        Err(e) => format!("error: {e}"),
    }
}

/// `lvm_text`: the metadata text grammar.
pub fn run_lvm_text(data: &[u8]) -> String {
    match lvm::text::parse(data) {
        Ok(root) => format!(
            "ok: {} items",
            root.sections().count() + root.values().count()
        ),
        Err(e) => format!("error: {e}"),
    }
}

/// `lvm_vg`: text → VG model, then what the planner asks of every LV (DM names and UUIDs,
/// layers, sizes).
pub fn run_lvm_vg(data: &[u8]) -> String {
    let root = match lvm::text::parse(data) {
        Ok(r) => r,
        Err(e) => return format!("text error: {e}"),
    };
    match lvm::vg::Vg::from_text(&root) {
        Ok(vg) => {
            for lv in &vg.lvs {
                let _ = lvm::names::dm_name(&vg.name, &lv.name, None);
                let _ = lvm::names::lv_dm_uuid(&vg, lv);
                let _ = lvm::names::role_layer(&vg, lv);
                let _ = vg.lv_sectors(lv);
                let _ = format!("{lv:?}");
            }
            format!(
                "ok: VG {} with {} LVs {} PVs",
                vg.name,
                vg.lvs.len(),
                vg.pvs.len()
            )
        }
        Err(e) => format!("error: {e}"),
    }
}

/// `fs`: the whole identification registry over the disk as a whole disk (containers, then
/// every filesystem reader), as `blkid -p` runs it.
pub fn run_fs(data: &[u8]) -> String {
    let d = decode_disk(data);
    let (r, warnings) = evms_activate::probe::fs::identify("fuzz", &d, true);
    let mut out = summary(&r, |f| format!("{f:?}"));
    for w in warnings {
        out.push_str(&format!("\nwarning: {w}"));
    }
    // The whole bcache superblock, as the engine reads it to group backing and cache devices.
    match evms_activate::probe::bcache::read_super("fuzz", &d) {
        Ok(Some(sb)) => out.push_str(&format!("\nbcache: {sb:?}")),
        Ok(None) => {}
        Err(e) => out.push_str(&format!("\nbcache: {e}")),
    }
    out
}

/// `luks`: flags byte (bit 0: read as the secondary header at 0x4000), then the header.
pub fn run_luks(data: &[u8]) -> String {
    let at = if data.first().is_some_and(|f| f & 1 != 0) {
        0x4000
    } else {
        0
    };
    let b = fixed::<{ evms_activate::formats::luks::HDR_READ }>(data.get(1..).unwrap_or(&[]));
    summary(&evms_activate::formats::luks::parse(&b, at), |f| {
        format!("{f:?}")
    })
}

/// `luks1`: the whole LUKS1 header (1024 bytes, zero-padded) on a device of
/// `size` bytes: `size:u64 header`.
pub fn run_luks1(data: &[u8]) -> String {
    let size = u64::from_le_bytes(fixed::<8>(data));
    let b = fixed::<{ evms_activate::formats::luks::v1::PHDR_LEN }>(data.get(8..).unwrap_or(&[]));
    summary(&evms_activate::formats::luks::v1::parse(&b, size), |h| {
        format!(
            "{} {} {} keyslots",
            h.cipher_spec(),
            h.uuid,
            h.keyslots.len()
        )
    })
}

/// `luks2_pair`: one disk (decode_disk) read by `probe::luks::read_header`: both LUKS2 copies,
/// the secondary found at `hdr_size` or by scanning; with flag bit 1 both copies' checksums
/// (sha256) are recomputed first, so mutations reach the JSON.
pub fn run_luks2_pair(data: &[u8]) -> String {
    let fix = data.first().is_some_and(|f| f & 2 != 0);
    let mut d = decode_disk(data);
    if fix {
        fix_luks2(&mut d);
    }
    let r = evms_activate::probe::luks::read_header("fuzz", &d);
    summary(&r, |h| {
        let w: Vec<String> = h.warnings.iter().map(|w| w.to_string()).collect();
        format!(
            "v{} {} {:?} {:?} {:?} {:?} {w:?}",
            h.header.version(),
            h.header.uuid(),
            h.header.cipher_spec(),
            h.header.volume_key_size(),
            h.header.unsupported(),
            evms_activate::plan::crypt::key_description(&h.header),
        )
    })
}

/// LUKS2: the checksum of the copy at 0 and of the one at its `hdr_size`, as sha256.
pub fn fix_luks2(d: &mut Disk) {
    use evms_activate::formats::luks::{v2, Hash};
    let Some(first) = d.get(0, v2::BIN_LEN) else {
        return;
    };
    let hs = evms_activate::formats::bytes::be64(&first, 8).unwrap_or(0);
    if !(v2::HDR_SIZE_MIN..=v2::HDR_SIZE_MAX).contains(&hs) {
        return;
    }
    for at in [0, hs] {
        let (Some(raw), Some(json)) = (
            d.get(at, v2::BIN_LEN),
            d.get(at + v2::BIN_LEN as u64, (hs - v2::BIN_LEN as u64) as usize),
        ) else {
            continue;
        };
        let raw: [u8; v2::BIN_LEN] = raw.try_into().unwrap_or([0; v2::BIN_LEN]);
        let sum = v2::checksum(Hash::Sha256, &raw, &json);
        d.write(at + 448, &sum);
    }
}

/// `luks2_json`: the JSON area reader alone; the input is NUL-padded to the next JSON area size
/// cryptsetup accepts, so that a `config.json_size` matching it is reachable.
pub fn run_luks2_json(data: &[u8]) -> String {
    let mut area = data.to_vec();
    let want = evms_activate::formats::luks::SECONDARY_OFFSETS
        .iter()
        .map(|s| (s - 4096) as usize)
        .find(|&n| n > area.len())
        .unwrap_or(area.len() + 1);
    area.resize(want, 0);
    let r = evms_activate::formats::luks::json::parse(&area, 4096, area.len() as u64 + 4096);
    match r {
        Ok(m) => format!(
            "ok: {} keyslots {} digests {} segments {} tokens",
            m.keyslots.len(),
            m.digests.len(),
            m.segments.len(),
            m.tokens.len()
        ),
        Err(e) => format!("error: {e}"),
    }
}

/// `evms`: both feature-header copies at the end of the disk; with flag bit 1 their CRCs are
/// recomputed.
pub fn run_evms(data: &[u8]) -> String {
    let fix = data.first().is_some_and(|f| f & 2 != 0);
    let mut d = decode_disk(data);
    if fix {
        fix_evms(&mut d);
    }
    let r = evms_activate::probe::fs::probe_evms("fuzz", &d);
    summary(&r, |e| format!("{e:?}"))
}

/// `cmdline`: the kernel command line parser and every `root=` form.
pub fn run_cmdline(data: &[u8]) -> String {
    let line = String::from_utf8_lossy(data);
    let (spec, warnings) = evms_activate::boot::cmdline::BootSpec::parse(&line);
    let _ = spec.root_timeout();
    let _ = spec.degraded_policy();
    if let Some(r) = &spec.root {
        let _ = r.dm_name();
    }
    for w in &warnings {
        let _ = w.to_string();
    }
    let _ = evms_activate::boot::cmdline::parse_device_ref(&line);
    let _ = evms_activate::boot::cmdline::split_lvm_dm_name(&line);
    format!("root {:?}, {} warnings", spec.root, warnings.len())
}

/// `config`: evms.conf, then the filter over names derived from the input; the same text as
/// a crypttab too (its result is not part of the summary, which regression files record).
pub fn run_config(data: &[u8]) -> String {
    let text = String::from_utf8_lossy(data);
    let tab = evms_activate::config::crypttab::Crypttab::parse(&text, "fuzz");
    for e in &tab.entries {
        let _ = e.device.to_string();
    }
    match evms_activate::config::evms::parse(&text) {
        Ok(Some(f)) => {
            let names: Vec<String> = text.split_whitespace().take(16).map(String::from).collect();
            let _ = f.allows(&names);
            format!(
                "ok: {} include {} exclude",
                f.include.len(),
                f.exclude.len()
            )
        }
        Ok(None) => "none".into(),
        Err(e) => format!("error: {e}"),
    }
}

/// `discover`: 1–4 disks through engine discovery (in memory), plan building, the reports.
pub fn run_discover(data: &[u8]) -> String {
    use evms_activate::engine::{self, Inputs, Settings};
    use evms_activate::plan::build::{build, Selection};
    let (flags, disks) = decode_disks(data);
    let inputs: Vec<(String, Src)> = disks
        .into_iter()
        .enumerate()
        .map(|(i, mut d)| {
            if flags & 1 != 0 {
                fix_all(&mut d);
            }
            (format!("d{i}"), Arc::new(d) as Src)
        })
        .collect();
    let settings = Settings {
        homehost: (flags & 8 != 0).then(|| "fuzz".to_string()),
        system_id: (flags & 16 != 0).then(|| "fuzz".to_string()),
        ..Settings::default()
    };
    let g = engine::discover(&Inputs::Mem(inputs), settings);
    let sel = Selection {
        degraded: flags & 2 != 0,
        partial: flags & 4 != 0,
        ..Selection::default()
    };
    let plan = build(&g, &sel);
    use evms_activate::json::JsonExt;
    let _ = evms_activate::report::json(&g).pretty();
    let _ = evms_activate::report::tree(&g);
    let _ = plan.to_json().pretty();
    let _ = plan.to_string();
    format!(
        "{} nodes, {} arrays, {} VGs, {} steps, {} skipped",
        g.nodes.len(),
        g.arrays.len(),
        g.vgs.len(),
        plan.steps.len(),
        plan.skipped.len()
    )
}
