//! Partition tables on one device: reads sector 0, then either the GPT (primary header and its
//! entry array, the backup when the primary is bad) or the DOS table with its EBR chains, and
//! hands every sector to the pure parsers of `formats::{mbr, gpt}`.
//!
//! ```text
//! probe_partitions
//!   ├─ mbr::parse_mbr(sector 0) ── None ──────────────► Ok(None)
//!   ├─ Protective ─► gpt_table: primary (LBA 1) ─ bad ─► backup (last LBA) ─ bad ─► Err(primary)
//!   └─ Dos ───────► dos_table: primaries + EbrChain per extended partition
//! ```

use crate::error::{FormatError, ProbeError};
use crate::formats::gpt::{self, GptHeader};
use crate::formats::mbr::{self, EbrChain, Mbr, MbrKind};
use crate::formats::part::{self, PartTable, Partition, PtKind};
use crate::probe::{format_err, read, read_array};
use crate::source::ReadAt;

/// Reads the partition table of `dev`. `Ok(None)`: no partition table (also for a FAT boot
/// sector or an MBR with a bad boot indicator, which the kernel does not take as a table).
/// `Err(Format)`: a protective MBR whose GPT is bad in both copies (the primary's problem is
/// named), or a logical block size no partition table can use.
pub fn probe_partitions(name: &str, dev: &dyn ReadAt) -> Result<Option<PartTable>, ProbeError> {
    let lbs = dev.logical_block_size();
    if !(lbs.is_power_of_two() && (512..=65536).contains(&lbs)) {
        return Err(format_err(
            name,
            FormatError::unsupported("gpt", 0, format!("logical block size {lbs}")),
        ));
    }
    if dev.size() < 512 {
        return Ok(None);
    }
    let s0: Box<[u8; mbr::SECTOR_SIZE]> = read_array(name, dev, 0)?;
    match mbr::parse_mbr(&s0).map_err(|e| format_err(name, e))? {
        None => Ok(None),
        Some(MbrKind::Dos(m)) => dos_table(name, dev, &m, lbs).map(Some),
        Some(MbrKind::Protective {
            mbr: m,
            ee_slot,
            hybrid,
            kernel_valid,
        }) => {
            let mut t = gpt_table(name, dev, lbs)?;
            if hybrid {
                t.warnings.extend(mbr::hybrid_warnings(&m));
            }
            if !kernel_valid {
                let e = m.entries.get(ee_slot).copied().unwrap_or_default();
                t.warnings.push(FormatError::field(
                    "mbr",
                    mbr::entry_offset(ee_slot).saturating_add(8),
                    "start_sect",
                    format!("{} (0xee record)", e.start_sect),
                    "1; the kernel ignores this disk's partitions",
                ));
                t.kernel_sees = false;
            }
            Ok(Some(t))
        }
    }
}

/// One GPT copy: header, then its entry array.
type GptCopy = (GptHeader, Vec<Partition>, Vec<FormatError>);

fn read_gpt_copy(
    name: &str,
    dev: &dyn ReadAt,
    lba: u64,
    lbs: u32,
    last_lba: u64,
) -> Result<Result<Option<GptCopy>, FormatError>, ProbeError> {
    let lbs64 = u64::from(lbs);
    let block = read(name, dev, lba.saturating_mul(lbs64), lbs64)?;
    let hdr = match gpt::parse_header(&block, lba, lbs, last_lba) {
        Ok(Some(h)) => h,
        Ok(None) => return Ok(Ok(None)),
        Err(e) => return Ok(Err(e)),
    };
    let (off, len) = hdr.entries_region();
    let ents = read(name, dev, off, len)?;
    Ok(gpt::parse_entries(&hdr, &ents, lbs, last_lba).map(|(p, w)| Some((hdr, p, w))))
}

fn gpt_table(name: &str, dev: &dyn ReadAt, lbs: u32) -> Result<PartTable, ProbeError> {
    let blocks = dev.size() / u64::from(lbs);
    if blocks < 3 {
        return Err(format_err(
            name,
            FormatError::truncated("gpt", 0, "device", 3 * u64::from(lbs), dev.size()),
        ));
    }
    let last_lba = blocks - 1;
    let primary = read_gpt_copy(
        name,
        dev,
        gpt::GPT_PRIMARY_PARTITION_TABLE_LBA,
        lbs,
        last_lba,
    )?;
    let primary_err = match primary {
        Ok(Some((hdr, parts, mut warnings))) => {
            // As compare_gpts: the alternate header is only checked and reported.
            match check_alternate(name, dev, &hdr, lbs, last_lba)? {
                Ok(w) => warnings.extend(w),
                Err(e) => warnings.push(e),
            }
            return Ok(finish_gpt(&hdr, parts, warnings, false, dev.size()));
        }
        Ok(None) => {
            let found = read(name, dev, u64::from(lbs), 8)?;
            FormatError::field(
                "gpt",
                u64::from(lbs),
                "signature",
                format!("{:?}", String::from_utf8_lossy(&found)),
                "\"EFI PART\" (a protective MBR is present)",
            )
        }
        Err(e) => e,
    };
    match read_gpt_copy(name, dev, last_lba, lbs, last_lba)? {
        Ok(Some((hdr, parts, w))) => {
            let mut warnings = vec![primary_err];
            warnings.extend(w);
            Ok(finish_gpt(&hdr, parts, warnings, true, dev.size()))
        }
        Ok(None) | Err(_) => Err(format_err(name, primary_err)),
    }
}

/// Reads the header at the primary's `alternate_lba` and compares it (no entry array read).
fn check_alternate(
    name: &str,
    dev: &dyn ReadAt,
    p: &GptHeader,
    lbs: u32,
    last_lba: u64,
) -> Result<Result<Vec<FormatError>, FormatError>, ProbeError> {
    let lbs64 = u64::from(lbs);
    let field_off = lbs64.saturating_add(0x20);
    if p.alternate_lba > last_lba || p.alternate_lba == p.lba {
        return Ok(Err(FormatError::field(
            "gpt",
            field_off,
            "alternate_lba",
            p.alternate_lba,
            format!("another LBA up to {last_lba} (backup header)"),
        )));
    }
    let block = read(name, dev, p.alternate_lba.saturating_mul(lbs64), lbs64)?;
    Ok(
        match gpt::parse_header(&block, p.alternate_lba, lbs, last_lba) {
            Ok(Some(a)) => Ok(gpt::compare_headers(p, &a, lbs, last_lba)),
            Ok(None) => Err(FormatError::field(
                "gpt",
                p.alternate_lba.saturating_mul(lbs64),
                "signature",
                "none (backup header missing)",
                "\"EFI PART\"",
            )),
            Err(e) => Err(e),
        },
    )
}

fn finish_gpt(
    hdr: &GptHeader,
    mut parts: Vec<Partition>,
    mut warnings: Vec<FormatError>,
    backup_used: bool,
    dev_size: u64,
) -> PartTable {
    part::clip_to_device("gpt", &mut parts, dev_size, &mut warnings);
    PartTable {
        kind: PtKind::Gpt,
        id: hdr.ptuuid(),
        parts,
        warnings,
        backup_used,
        kernel_sees: !backup_used,
    }
}

fn dos_table(name: &str, dev: &dyn ReadAt, m: &Mbr, lbs: u32) -> Result<PartTable, ProbeError> {
    let (mut parts, extended) = mbr::primaries(m, lbs);
    let mut warnings = Vec::new();
    // msdos.c: state->next = 5 before the primaries are walked; each extended partition's
    // logicals continue the numbering in slot order.
    let mut next_number = 5;
    for (start, size) in extended {
        let mut chain = EbrChain::new(start, size, next_number, m.disk_sig, lbs);
        while let Some(lba) = chain.next_read() {
            let off = lba.checked_mul(u64::from(lbs));
            let inside = off
                .and_then(|o| o.checked_add(512))
                .is_some_and(|end| end <= dev.size());
            match (inside, off) {
                (true, Some(o)) => {
                    let s: Box<[u8; mbr::SECTOR_SIZE]> = read_array(name, dev, o)?;
                    chain.feed(Some(&s));
                }
                _ => chain.feed(None),
            }
        }
        next_number = chain.next_number();
        parts.append(&mut chain.parts);
        warnings.append(&mut chain.warnings);
    }
    parts.sort_by_key(|p| p.number);
    part::clip_to_device("mbr", &mut parts, dev.size(), &mut warnings);
    Ok(PartTable {
        kind: PtKind::Dos,
        // libblkid sets no PTUUID for a zero disk signature.
        id: if m.disk_sig == 0 {
            String::new()
        } else {
            m.ptuuid()
        },
        parts,
        warnings,
        backup_used: false,
        kernel_sees: true,
    })
}

/// Golden-file helpers shared by the partition and filesystem tests: the expected files are
/// written by the real tools (`blkid -p -o export`, `sfdisk --json`), parsed here without
/// serde.
#[cfg(test)]
pub(crate) mod golden {
    use std::collections::BTreeMap;

    /// Undoes blkid's export escaping: `\x` for shell-special characters and cat -v style
    /// `M-x`, `M-^x`, `^x` for bytes it does not print.
    pub fn unescape(v: &str) -> String {
        let b = v.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'\\' if i + 1 < b.len() => {
                    out.push(b[i + 1]);
                    i += 2;
                }
                b'M' if b.get(i + 1) == Some(&b'-') && i + 2 < b.len() => {
                    if b[i + 2] == b'\\' && i + 3 < b.len() {
                        // M- then a backslash-escaped character (0xa4 prints as "M-\$").
                        out.push(b[i + 3] | 0x80);
                        i += 4;
                    } else if b[i + 2] == b'^' && i + 3 < b.len() {
                        out.push((b[i + 3] ^ 0x40) | 0x80);
                        i += 4;
                    } else {
                        out.push(b[i + 2] | 0x80);
                        i += 3;
                    }
                }
                b'^' if i + 1 < b.len() => {
                    out.push(b[i + 1] ^ 0x40);
                    i += 2;
                }
                c => {
                    out.push(c);
                    i += 1;
                }
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    /// KEY=VALUE lines; blank lines separate blocks.
    pub fn kv_blocks(text: &str) -> Vec<BTreeMap<String, String>> {
        let mut blocks = vec![BTreeMap::new()];
        for line in text.lines() {
            if line.trim().is_empty() {
                if blocks.last().is_some_and(|b| !b.is_empty()) {
                    blocks.push(BTreeMap::new());
                }
                continue;
            }
            let (k, v) = line.split_once('=').expect("KEY=VALUE line");
            blocks
                .last_mut()
                .unwrap()
                .insert(k.to_string(), unescape(v));
        }
        blocks.retain(|b| !b.is_empty());
        blocks
    }

    /// A JSON value, enough for `sfdisk --json`.
    #[derive(Debug, Clone, PartialEq)]
    pub enum J {
        Null,
        Bool(bool),
        Num(i128),
        Str(String),
        Arr(Vec<J>),
        Obj(Vec<(String, J)>),
    }

    impl J {
        pub fn get(&self, k: &str) -> Option<&J> {
            match self {
                J::Obj(o) => o.iter().find(|(kk, _)| kk == k).map(|(_, v)| v),
                _ => None,
            }
        }
        pub fn str(&self, k: &str) -> Option<&str> {
            match self.get(k) {
                Some(J::Str(s)) => Some(s),
                _ => None,
            }
        }
        pub fn num(&self, k: &str) -> Option<i128> {
            match self.get(k) {
                Some(J::Num(n)) => Some(*n),
                _ => None,
            }
        }
        pub fn arr(&self, k: &str) -> &[J] {
            match self.get(k) {
                Some(J::Arr(a)) => a,
                _ => &[],
            }
        }
    }

    pub fn json(text: &str) -> J {
        let mut p = P {
            s: text.as_bytes(),
            i: 0,
        };
        let v = p.value();
        p.ws();
        assert_eq!(p.i, p.s.len(), "trailing JSON");
        v
    }

    struct P<'a> {
        s: &'a [u8],
        i: usize,
    }

    impl P<'_> {
        fn ws(&mut self) {
            while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
                self.i += 1;
            }
        }
        fn eat(&mut self, c: u8) {
            self.ws();
            assert_eq!(self.s[self.i], c, "JSON at {}", self.i);
            self.i += 1;
        }
        fn value(&mut self) -> J {
            self.ws();
            match self.s[self.i] {
                b'{' => {
                    self.i += 1;
                    let mut o = Vec::new();
                    self.ws();
                    if self.s[self.i] == b'}' {
                        self.i += 1;
                        return J::Obj(o);
                    }
                    loop {
                        self.ws();
                        let J::Str(k) = self.value() else {
                            panic!("JSON key")
                        };
                        self.eat(b':');
                        o.push((k, self.value()));
                        self.ws();
                        self.i += 1;
                        if self.s[self.i - 1] == b'}' {
                            return J::Obj(o);
                        }
                    }
                }
                b'[' => {
                    self.i += 1;
                    let mut a = Vec::new();
                    self.ws();
                    if self.s[self.i] == b']' {
                        self.i += 1;
                        return J::Arr(a);
                    }
                    loop {
                        a.push(self.value());
                        self.ws();
                        self.i += 1;
                        if self.s[self.i - 1] == b']' {
                            return J::Arr(a);
                        }
                    }
                }
                b'"' => {
                    self.i += 1;
                    let mut out = String::new();
                    loop {
                        let c = self.s[self.i];
                        self.i += 1;
                        match c {
                            b'"' => return J::Str(out),
                            b'\\' => {
                                let e = self.s[self.i];
                                self.i += 1;
                                match e {
                                    b'n' => out.push('\n'),
                                    b't' => out.push('\t'),
                                    b'u' => {
                                        let h = std::str::from_utf8(&self.s[self.i..self.i + 4])
                                            .unwrap();
                                        self.i += 4;
                                        out.push(
                                            char::from_u32(u32::from_str_radix(h, 16).unwrap())
                                                .unwrap(),
                                        );
                                    }
                                    other => out.push(char::from(other)),
                                }
                            }
                            _ => {
                                // Copy one UTF-8 sequence.
                                let start = self.i - 1;
                                let len = match c {
                                    0xF0..=0xFF => 4,
                                    0xE0..=0xEF => 3,
                                    0xC0..=0xDF => 2,
                                    _ => 1,
                                };
                                self.i = start + len;
                                out.push_str(std::str::from_utf8(&self.s[start..self.i]).unwrap());
                            }
                        }
                    }
                }
                b't' => {
                    self.i += 4;
                    J::Bool(true)
                }
                b'f' => {
                    self.i += 5;
                    J::Bool(false)
                }
                b'n' => {
                    self.i += 4;
                    J::Null
                }
                _ => {
                    let start = self.i;
                    while self.i < self.s.len()
                        && (self.s[self.i] == b'-' || self.s[self.i].is_ascii_digit())
                    {
                        self.i += 1;
                    }
                    J::Num(
                        std::str::from_utf8(&self.s[start..self.i])
                            .unwrap()
                            .parse()
                            .unwrap(),
                    )
                }
            }
        }
    }

    #[test]
    fn parsers() {
        assert_eq!(unescape(r"root\ donnM-CM-)es"), "root données");
        let b = kv_blocks("A=1\nB=x\\ y\n\nA=2\n\n");
        assert_eq!(b.len(), 2);
        assert_eq!(b[0]["B"], "x y");
        let j = json(r#"{"a": [1, {"b": "c\u00e9"}], "t": true, "n": -5}"#);
        assert_eq!(j.arr("a")[1].str("b"), Some("cé"));
        assert_eq!(j.num("n"), Some(-5));
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::golden::{json, kv_blocks};
    use super::*;
    use crate::error::ErrorKind;
    use crate::source::sparse::SparseDev;

    /// A fixture device with a given logical block size (SparseDev alone is 512).
    struct Lbs<'a>(&'a SparseDev, u32);
    impl ReadAt for Lbs<'_> {
        fn read_exact_at(&self, off: u64, buf: &mut [u8]) -> std::io::Result<()> {
            self.0.read_exact_at(off, buf)
        }
        fn size(&self) -> u64 {
            self.0.size()
        }
        fn logical_block_size(&self) -> u32 {
            self.1
        }
    }

    struct Fixture {
        disk: &'static [u8],
        sfdisk: &'static str,
        blkid: &'static str,
        parts: &'static str,
        /// What the real kernel created (kernel.sh), for the 512-byte fixtures.
        kernel: Option<&'static str>,
    }

    macro_rules! fixture {
        ($d:literal) => {
            Fixture {
                disk: include_bytes!(concat!("../../tests/fixtures/part/", $d, "/disk.spr")),
                sfdisk: include_str!(concat!(
                    "../../tests/fixtures/part/",
                    $d,
                    "/expected.sfdisk.json"
                )),
                blkid: include_str!(concat!("../../tests/fixtures/part/", $d, "/expected.blkid")),
                parts: include_str!(concat!("../../tests/fixtures/part/", $d, "/expected.parts")),
                kernel: Some(include_str!(concat!(
                    "../../tests/fixtures/part/",
                    $d,
                    "/expected.kernel"
                ))),
            }
        };
    }

    macro_rules! fixture_no_kernel {
        ($d:literal) => {
            Fixture {
                disk: include_bytes!(concat!("../../tests/fixtures/part/", $d, "/disk.spr")),
                sfdisk: include_str!(concat!(
                    "../../tests/fixtures/part/",
                    $d,
                    "/expected.sfdisk.json"
                )),
                blkid: include_str!(concat!("../../tests/fixtures/part/", $d, "/expected.blkid")),
                parts: include_str!(concat!("../../tests/fixtures/part/", $d, "/expected.parts")),
                kernel: None,
            }
        };
    }

    const DOS: Fixture = fixture!("dos");
    const GPT: Fixture = fixture!("gpt");
    const GPT_BAD: Fixture = fixture!("gpt-primary-bad");
    const GPT_HYBRID: Fixture = fixture!("gpt-hybrid");
    const GPT_4K: Fixture = fixture_no_kernel!("gpt-4k");

    fn dev(f: &Fixture) -> SparseDev {
        SparseDev::parse(f.disk).unwrap()
    }

    fn probe(d: &SparseDev, lbs: u32) -> Result<Option<PartTable>, ProbeError> {
        probe_partitions("fixture", &Lbs(d, lbs))
    }

    fn format_error(r: Result<Option<PartTable>, ProbeError>) -> FormatError {
        match r {
            Err(ProbeError::Format { err, .. }) => err,
            other => panic!("expected a format error, got {other:?}"),
        }
    }

    /// Compares every field with blkid's and sfdisk's reports.
    fn check_golden(f: &Fixture, lbs: u32) -> PartTable {
        let t = probe(&dev(f), lbs).unwrap().unwrap();
        let whole = &kv_blocks(f.blkid)[0];
        assert_eq!(t.kind.as_str(), whole["PTTYPE"]);
        assert_eq!(t.id, whole["PTUUID"]);
        let sf = json(f.sfdisk);
        let table = sf.get("partitiontable").unwrap();
        assert_eq!(table.num("sectorsize"), Some(i128::from(lbs)));
        let expected = kv_blocks(f.parts);
        assert_eq!(t.parts.len(), expected.len(), "{:#?}", t.parts);
        assert_eq!(table.arr("partitions").len(), expected.len());
        for ((p, e), s) in t.parts.iter().zip(&expected).zip(table.arr("partitions")) {
            let sector = |k: &str| e[k].parse::<u64>().unwrap() * 512;
            assert_eq!(p.number.to_string(), e["PART_ENTRY_NUMBER"]);
            assert_eq!(e["PART_ENTRY_SCHEME"], t.kind.as_str());
            assert_eq!(p.uuid, e["PART_ENTRY_UUID"]);
            assert_eq!(p.type_id, e["PART_ENTRY_TYPE"]);
            assert_eq!(
                p.name.as_deref(),
                e.get("PART_ENTRY_NAME").map(|s| s.as_str())
            );
            let flags = e.get("PART_ENTRY_FLAGS").map_or(0, |f| {
                u64::from_str_radix(f.trim_start_matches("0x"), 16).unwrap()
            });
            assert_eq!(p.flags, flags);
            assert_eq!(p.start, sector("PART_ENTRY_OFFSET"));
            assert_eq!(p.start, sector("SYSFS_START"));
            // The kernel-side size (the extended stub) is what sysfs shows; blkid's
            // PART_ENTRY_SIZE is the whole extended area.
            assert_eq!(p.size, sector("SYSFS_SIZE"));
            if !p.container {
                assert_eq!(p.size, sector("PART_ENTRY_SIZE"));
            }
            // sfdisk counts logical blocks and names the node by number.
            let lbs = u64::from(lbs);
            assert_eq!(s.num("start").unwrap() as u64 * lbs, p.start);
            assert!(s.str("node").unwrap().ends_with(&format!("p{}", p.number)));
            if !p.container {
                assert_eq!(s.num("size").unwrap() as u64 * lbs, p.size);
            }
            if let Some(u) = s.str("uuid") {
                assert_eq!(u.to_lowercase(), p.uuid);
            }
            if let Some(ty) = s.str("type").filter(|_| t.kind == PtKind::Gpt) {
                assert_eq!(ty.to_lowercase(), p.type_id);
            }
        }
        // The real kernel: the same partition devices (numbers, start, size in 512-byte
        // sectors, PARTNAME), or none at all when kernel_sees is false.
        if let Some(k) = f.kernel {
            let k = kv_blocks(k);
            if !t.kernel_sees {
                assert!(k.is_empty(), "the kernel created {k:?}");
            } else {
                assert_eq!(k.len(), t.parts.len());
                for (p, e) in t.parts.iter().zip(&k) {
                    assert_eq!(p.number.to_string(), e["KERNEL_PARTITION"]);
                    assert_eq!(
                        p.start.to_string(),
                        (e["KERNEL_START"].parse::<u64>().unwrap() * 512).to_string()
                    );
                    assert_eq!(p.size, e["KERNEL_SIZE"].parse::<u64>().unwrap() * 512);
                    assert_eq!(
                        p.kernel_name.as_deref(),
                        e.get("PARTNAME").map(|s| s.as_str())
                    );
                }
            }
        }
        t
    }

    #[test]
    fn golden_dos() {
        let t = check_golden(&DOS, 512);
        assert!(t.warnings.is_empty(), "{:?}", t.warnings);
        let nums: Vec<u32> = t.parts.iter().map(|p| p.number).collect();
        assert_eq!(nums, vec![1, 2, 4, 5, 6, 7]);
        assert!(t.parts[2].container && t.parts.iter().filter(|p| p.container).count() == 1);
        assert!(t.kernel_sees && !t.backup_used);
    }

    #[test]
    fn golden_gpt() {
        let t = check_golden(&GPT, 512);
        assert!(t.warnings.is_empty(), "{:?}", t.warnings);
        assert_eq!(t.parts[1].name.as_deref(), Some("root données"));
        assert!(t.kernel_sees && !t.backup_used);
    }

    #[test]
    fn golden_gpt_4k() {
        let t = check_golden(&GPT_4K, 4096);
        assert!(t.warnings.is_empty(), "{:?}", t.warnings);
        // The same bytes read as a 512-byte device: LBA 1 holds no GPT header, and the backup
        // is not at the 512-byte last LBA either.
        let e = format_error(probe(&dev(&GPT_4K), 512));
        assert_eq!(e.offset, 512);
        assert!(matches!(
            e.kind,
            ErrorKind::Field {
                field: "signature",
                ..
            }
        ));
    }

    #[test]
    fn golden_hybrid() {
        let t = check_golden(&GPT_HYBRID, 512);
        // sgdisk copied partitions 1 and 2 into MBR slots 2 and 3 (0xef, 0x83).
        assert_eq!(t.warnings.len(), 2, "{:?}", t.warnings);
        assert_eq!(t.warnings[0].offset, 0x1CE + 4);
        assert_eq!(t.warnings[1].offset, 0x1DE + 4);
        assert!(t.kernel_sees);
    }

    #[test]
    fn golden_primary_bad_uses_backup() {
        let t = check_golden(&GPT_BAD, 512);
        assert!(t.backup_used && !t.kernel_sees);
        // gen.sh damaged byte 0x38 of the primary header: its CRC no longer matches.
        let w = &t.warnings[0];
        assert_eq!((w.format, w.offset), ("gpt", 512 + 0x10));
        assert!(matches!(
            w.kind,
            ErrorKind::Checksum {
                field: "header_crc32",
                ..
            }
        ));
        assert_eq!(t.warnings.len(), 1);
        // Booted with `gpt`, the real kernel reads the same backup and creates these.
        let k = kv_blocks(include_str!(
            "../../tests/fixtures/part/gpt-primary-bad/expected.kernel-gpt-option"
        ));
        let kernel: Vec<(String, u64, u64)> = k
            .iter()
            .map(|e| {
                let n = |key: &str| e[key].parse::<u64>().unwrap() * 512;
                (
                    e["KERNEL_PARTITION"].clone(),
                    n("KERNEL_START"),
                    n("KERNEL_SIZE"),
                )
            })
            .collect();
        let ours: Vec<(String, u64, u64)> = t
            .parts
            .iter()
            .map(|p| (p.number.to_string(), p.start, p.size))
            .collect();
        assert_eq!(ours, kernel);
    }

    #[test]
    fn vfat_and_empty_are_not_tables() {
        for img in [
            &include_bytes!("../../tests/fixtures/fs/vfat12/disk.spr")[..],
            &include_bytes!("../../tests/fixtures/fs/vfat16/disk.spr")[..],
            &include_bytes!("../../tests/fixtures/fs/vfat32/disk.spr")[..],
            &include_bytes!("../../tests/fixtures/fs/ext4/disk.spr")[..],
        ] {
            let d = SparseDev::parse(img).unwrap();
            assert_eq!(probe(&d, 512).unwrap(), None);
        }
    }

    // ---- mutate one field of a real fixture, assert the exact outcome ----

    const LBA1: u64 = 512;
    const LAST: u64 = 64 * 1024 * 1024 - 512;

    /// Rewrites the header CRC after a mutation (so that the field check itself is reached).
    fn fix_header_crc(d: &mut SparseDev, at: u64) {
        let size = u64::from(crate::formats::bytes::le32(&d.get(at + 12, 4), 0).unwrap());
        let mut h = d.get(at, usize::try_from(size.min(512)).unwrap());
        h[0x10..0x14].fill(0);
        d.patch(at + 0x10, &crc32fast::hash(&h).to_le_bytes());
    }

    fn both_headers(f: &Fixture, off: usize, bytes: &[u8], fix_crc: bool) -> FormatError {
        let mut d = dev(f);
        for at in [LBA1, LAST] {
            d.patch(at + off as u64, bytes);
            if fix_crc {
                fix_header_crc(&mut d, at);
            }
        }
        format_error(probe(&d, 512))
    }

    #[test]
    fn gpt_header_checks_name_the_primary_field() {
        let field = |e: &FormatError| match &e.kind {
            ErrorKind::Field { field, .. } | ErrorKind::Checksum { field, .. } => *field,
            other => panic!("{other:?}"),
        };
        let e = both_headers(&GPT, 0x0C, &91u32.to_le_bytes(), true);
        assert_eq!((e.offset, field(&e)), (LBA1 + 0x0C, "header_size"));
        let e = both_headers(&GPT, 0x0C, &513u32.to_le_bytes(), false);
        assert_eq!((e.offset, field(&e)), (LBA1 + 0x0C, "header_size"));
        let e = both_headers(&GPT, 0x14, &[1], false);
        assert_eq!((e.offset, field(&e)), (LBA1 + 0x10, "header_crc32"));
        let e = both_headers(&GPT, 0x18, &7u64.to_le_bytes(), true);
        assert_eq!(e, FormatError::field("gpt", LBA1 + 0x18, "my_lba", 7, 1));
        let e = both_headers(&GPT, 0x28, &200_000u64.to_le_bytes(), true);
        assert_eq!((e.offset, field(&e)), (LBA1 + 0x28, "first_usable_lba"));
        let e = both_headers(&GPT, 0x30, &1000u64.to_le_bytes(), true);
        assert_eq!((e.offset, field(&e)), (LBA1 + 0x30, "last_usable_lba"));
        let e = both_headers(&GPT, 0x30, &200_000u64.to_le_bytes(), true);
        assert_eq!((e.offset, field(&e)), (LBA1 + 0x30, "last_usable_lba"));
        let e = both_headers(&GPT, 0x54, &256u32.to_le_bytes(), true);
        assert_eq!(
            e,
            FormatError::field("gpt", LBA1 + 0x54, "sizeof_partition_entry", 256, 128)
        );
        let e = both_headers(&GPT, 0x50, &0u32.to_le_bytes(), true);
        assert_eq!(
            (e.offset, field(&e)),
            (LBA1 + 0x50, "num_partition_entries")
        );
        // 2^25 entries of 128 bytes: refused before anything is read.
        let e = both_headers(&GPT, 0x50, &(1u32 << 25).to_le_bytes(), true);
        assert_eq!(
            (e.offset, field(&e)),
            (LBA1 + 0x50, "num_partition_entries")
        );
        let e = both_headers(&GPT, 0x48, &131_070u64.to_le_bytes(), true);
        assert_eq!((e.offset, field(&e)), (LBA1 + 0x48, "partition_entry_lba"));
        let e = both_headers(&GPT, 0x58, &[0x12], true);
        assert_eq!(
            (e.offset, field(&e)),
            (LBA1 + 0x58, "partition_entry_array_crc32")
        );
        // The primary inside its own usable range (libblkid's check); the backup at the last
        // LBA stays outside it, so it is used.
        let mut d = dev(&GPT);
        d.patch(LBA1 + 0x28, &0u64.to_le_bytes());
        fix_header_crc(&mut d, LBA1);
        let t = probe(&d, 512).unwrap().unwrap();
        assert!(t.backup_used);
        assert_eq!(
            (t.warnings[0].offset, field(&t.warnings[0])),
            (LBA1 + 0x18, "my_lba")
        );
        let e = both_headers(&GPT, 0, b"EFI PARX", false);
        assert_eq!((e.offset, field(&e)), (LBA1, "signature"));
    }

    #[test]
    fn primary_fault_falls_back_with_that_fault_named() {
        // Damage only the primary entry array: the backup (with its own array) is used.
        let mut d = dev(&GPT);
        d.patch(1024 + 0x38, &[0x41]);
        let t = probe(&d, 512).unwrap().unwrap();
        assert!(t.backup_used);
        assert_eq!(t.warnings[0].offset, LBA1 + 0x58);
        assert_eq!(t.parts.len(), 5);
        // A good primary with a damaged backup: primary used, backup reported.
        let mut d = dev(&GPT);
        d.patch(LAST + 0x38, &[0x41]);
        let t = probe(&d, 512).unwrap().unwrap();
        assert!(!t.backup_used && t.kernel_sees);
        assert_eq!(t.warnings.len(), 1);
        assert!(matches!(
            t.warnings[0].kind,
            ErrorKind::Checksum {
                field: "header_crc32",
                ..
            }
        ));
        assert_eq!(t.warnings[0].offset, LAST + 0x10);
    }

    #[test]
    fn gpt_entry_beyond_the_disk_is_skipped() {
        let mut d = dev(&GPT);
        // Entry 6 (index 5) ends past the last LBA in both arrays; fix both array CRCs.
        let backup_entries = LAST - 32 * 512;
        for (hdr, ents) in [(LBA1, 1024), (LAST, backup_entries)] {
            d.patch(ents + 5 * 128 + 0x28, &200_000u64.to_le_bytes());
            let crc = crc32fast::hash(&d.get(ents, 128 * 128));
            d.patch(hdr + 0x58, &crc.to_le_bytes());
            fix_header_crc(&mut d, hdr);
        }
        let t = probe(&d, 512).unwrap().unwrap();
        assert_eq!(t.parts.len(), 4);
        assert_eq!(t.warnings.len(), 1);
        assert_eq!(
            t.warnings[0],
            FormatError::field(
                "gpt",
                1024 + 5 * 128 + 0x28,
                "ending_lba",
                "200000 (partition 6)",
                "at most the last LBA 131071; partition skipped"
            )
        );
    }

    #[test]
    fn pmbr_without_gpt_is_an_error() {
        let mut d = dev(&GPT);
        d.patch(LBA1, &[0; 8]);
        d.patch(LAST, &[0; 8]);
        let e = format_error(probe(&d, 512));
        assert_eq!((e.format, e.offset), ("gpt", LBA1));
        // Without the 0xEE record the same bytes are a DOS table with one partition... no:
        // sector 0 then holds an empty DOS table (the pMBR record becomes type 0x83).
        d.patch(0x1BE + 4, &[0x83]);
        let t = probe(&d, 512).unwrap().unwrap();
        assert_eq!(t.kind, PtKind::Dos);
        assert_eq!(t.parts.len(), 1);
        assert_eq!(t.parts[0].start, 512);
    }

    #[test]
    fn pmbr_not_at_lba1_is_flagged_for_the_kernel() {
        let mut d = dev(&GPT);
        d.patch(0x1BE + 8, &2u32.to_le_bytes());
        let t = probe(&d, 512).unwrap().unwrap();
        assert!(!t.kernel_sees);
        assert_eq!(t.warnings.last().unwrap().offset, 0x1BE + 8);
    }

    #[test]
    fn dos_boot_flag_and_extended_types() {
        let mut d = dev(&DOS);
        d.patch(0x1CE, &[0x01]);
        assert_eq!(probe(&d, 512).unwrap(), None, "boot_ind 0x01 in slot 2");
        let mut d = dev(&DOS);
        d.patch(0x1FE, &[0x55, 0xAB]);
        assert_eq!(probe(&d, 512).unwrap(), None, "no 55 AA");
        // A zero disk signature: no PTUUID (blkid), the kernel's PARTUUID form stays.
        let mut d = dev(&DOS);
        d.patch(0x1B8, &[0; 4]);
        let t = probe(&d, 512).unwrap().unwrap();
        assert_eq!(
            (t.id.as_str(), t.parts[0].uuid.as_str()),
            ("", "00000000-01")
        );
        for ty in [0x0F, 0x85] {
            let mut d = dev(&DOS);
            d.patch(0x1EE + 4, &[ty]);
            let t = probe(&d, 512).unwrap().unwrap();
            assert_eq!(t.parts.len(), 6);
            assert_eq!(t.parts[2].type_id, format!("{ty:#x}"));
            assert!(t.parts[2].container);
        }
        // Not extended any more: slot 4 is a plain partition and no logicals are found.
        let mut d = dev(&DOS);
        d.patch(0x1EE + 4, &[0x83]);
        let t = probe(&d, 512).unwrap().unwrap();
        assert_eq!(t.parts.len(), 3);
        assert_eq!(t.parts[2].size, 88064 * 512);
    }

    #[test]
    fn ebr_chain_damage_ends_with_a_warning() {
        let ext = 43008u64 * 512;
        // First EBR's link points back to itself: a cycle after partition 5.
        let mut d = dev(&DOS);
        d.patch(ext + 0x1CE + 8, &0u32.to_le_bytes());
        let t = probe(&d, 512).unwrap().unwrap();
        let nums: Vec<u32> = t.parts.iter().map(|p| p.number).collect();
        assert_eq!(nums, vec![1, 2, 4, 5]);
        assert_eq!(t.warnings.len(), 1);
        assert_eq!(t.warnings[0].offset, ext);
        assert!(matches!(
            t.warnings[0].kind,
            ErrorKind::Field {
                field: "ebr link",
                ..
            }
        ));
        // Second EBR without its signature.
        let second = (43008u64 + 12288) * 512;
        let mut d = dev(&DOS);
        d.patch(second + 510, &[0, 0]);
        let t = probe(&d, 512).unwrap().unwrap();
        assert_eq!(t.parts.len(), 4);
        assert_eq!(t.warnings[0].offset, second + 510);
        // A link beyond the end of the disk.
        let mut d = dev(&DOS);
        d.patch(ext + 0x1CE + 8, &0x0100_0000u32.to_le_bytes());
        let t = probe(&d, 512).unwrap().unwrap();
        assert_eq!(t.parts.len(), 4);
        assert!(matches!(
            t.warnings[0].kind,
            ErrorKind::Field {
                field: "ebr link",
                ..
            }
        ));
    }

    /// A small deterministic generator for the damage test (no rand crate).
    pub(crate) fn xorshift(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn random_damage_never_panics() {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        for f in [&DOS, &GPT, &GPT_HYBRID, &GPT_4K] {
            let clean = dev(f);
            // The metadata sectors of each fixture: sector 0, the GPT headers and entries,
            // the EBRs.
            let hot = [
                0u64,
                512,
                1024,
                4096,
                8192,
                43008 * 512,
                55296 * 512,
                LAST,
                LAST - 16384,
            ];
            for _ in 0..400 {
                let mut d = clean.clone();
                for _ in 0..1 + xorshift(&mut seed) % 8 {
                    let base = hot[usize::try_from(xorshift(&mut seed) % 9).unwrap()];
                    let off = base + xorshift(&mut seed) % 512;
                    d.patch(off, &[u8::try_from(xorshift(&mut seed) & 0xFF).unwrap()]);
                }
                for lbs in [512, 4096] {
                    let _ = probe(&d, lbs);
                }
            }
        }
    }

    #[test]
    fn dos_partition_past_the_end_is_truncated() {
        let mut d = dev(&DOS);
        d.patch(0x1CE + 12, &200_000u32.to_le_bytes());
        let t = probe(&d, 512).unwrap().unwrap();
        assert_eq!(t.parts[1].size, 64 * 1024 * 1024 - 22528 * 512);
        assert_eq!(t.warnings[0].offset, 0x1CE);
    }
}
