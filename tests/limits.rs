//! Resource bounds on hostile input (docs/limits.md): every case answers with an error (or a
//! bounded result with the limit named) within a time budget, without allocating what the
//! disk claims. Real-tool fixtures are mutated (checksums recomputed by the fuzz harness) or,
//! where a structure must repeat thousands of times, generated here.

#[allow(dead_code)]
#[path = "../fuzz/src/lib.rs"]
mod harness;

use evms_activate::engine::{self, Graph, Inputs, Settings, MAX_DEPTH, MAX_NODES};
use evms_activate::formats::lvm::{self, vg::Vg};
use evms_activate::plan::build::{build, Selection};
use evms_activate::probe;
use evms_activate::source::layout::Src;
use evms_activate::source::sparse::SparseDev;
use evms_activate::source::ReadAt;
use harness::Disk;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Generous: these run in the debug profile on a shared machine. docs/limits.md records what
/// they took.
const BUDGET: Duration = Duration::from_secs(30);

fn timed<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let t = Instant::now();
    let r = f();
    let took = t.elapsed();
    eprintln!("{what}: {took:?}");
    assert!(took < BUDGET, "{what} took {took:?}");
    r
}

fn fixture(rel: &str) -> Disk {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel);
    harness::disk_from(&SparseDev::parse(&std::fs::read(p).unwrap()).unwrap())
}

fn discover(disks: Vec<Disk>) -> Graph {
    let inputs = disks
        .into_iter()
        .enumerate()
        .map(|(i, d)| (format!("d{i}"), Arc::new(d) as Src))
        .collect();
    engine::discover(&Inputs::Mem(inputs), Settings::default())
}

fn problems(g: &Graph) -> String {
    let (p, w) = evms_activate::report::problem_lines(g);
    format!("{p:?} {w:?}")
}

fn le32(v: u32) -> [u8; 4] {
    v.to_le_bytes()
}
fn le64(v: u64) -> [u8; 8] {
    v.to_le_bytes()
}

// ---------------------------------------------------------------------------------------------
// Partition tables

#[test]
fn gpt_entry_array_count_times_size_huge() {
    // num_partition_entries 0xFFFFFFFF (× 128 bytes = 512 GiB) in both headers of a real GPT.
    let mut d = fixture("part/gpt/disk.spr");
    let last = d.size() - 512;
    for at in [512, last] {
        d.write(at + 0x50, &le32(u32::MAX));
    }
    harness::fix_gpt(&mut d);
    let r = timed("gpt 2^32 entries", || {
        probe::part::probe_partitions("d", &d)
    });
    let e = r.unwrap_err().to_string();
    assert!(e.contains("num_partition_entries"), "{e}");
    assert!(e.contains("1..=131072"), "{e}");
}

/// An MBR with one extended partition at LBA 2048 covering the disk, and `n` EBRs built by
/// `ebr(k)` at LBA 2048 + 2k.
fn dos_with_ebrs(n: u64, ebr: impl Fn(u64) -> [u8; 512]) -> Disk {
    let mut d = Disk::new(1 << 30, 512);
    let mut mbr = [0u8; 512];
    mbr[446 + 4] = 0x05; // extended
    mbr[446 + 8..446 + 12].copy_from_slice(&le32(2048));
    mbr[446 + 12..446 + 16].copy_from_slice(&le32((1 << 21) - 2048));
    mbr[510] = 0x55;
    mbr[511] = 0xAA;
    d.write(0, &mbr);
    for k in 0..n {
        d.write((2048 + 2 * k) * 512, &ebr(k));
    }
    d
}

/// An EBR: a data partition of one sector right after it (when `data`), and a link to the
/// EBR at extended-relative LBA `next` (when given).
fn ebr(data: bool, next: Option<u64>) -> [u8; 512] {
    let mut s = [0u8; 512];
    if data {
        s[446 + 4] = 0x83;
        s[446 + 8..446 + 12].copy_from_slice(&le32(1));
        s[446 + 12..446 + 16].copy_from_slice(&le32(1));
    }
    if let Some(n) = next {
        s[462 + 4] = 0x05;
        s[462 + 8..462 + 12].copy_from_slice(&le32(u32::try_from(n).unwrap()));
        s[462 + 12..462 + 16].copy_from_slice(&le32(2));
    }
    s[510] = 0x55;
    s[511] = 0xAA;
    s
}

#[test]
fn ebr_chain_loops_and_lengths() {
    // A loop: the second EBR links back to the first.
    let d = dos_with_ebrs(2, |k| ebr(true, Some(if k == 0 { 2 } else { 0 })));
    let t = timed("ebr loop", || probe::part::probe_partitions("d", &d))
        .unwrap()
        .unwrap();
    assert_eq!(t.parts.iter().filter(|p| p.number >= 5).count(), 2);
    assert!(format!("{:?}", t.warnings).contains("visited twice"));

    // 1000 EBRs each with a partition: the kernel stops at partition 255 (DISK_MAX_PARTS).
    let d = dos_with_ebrs(1000, |k| ebr(true, Some(2 * k + 2)));
    let t = timed("1000 logical partitions", || {
        probe::part::probe_partitions("d", &d)
    })
    .unwrap()
    .unwrap();
    assert_eq!(t.parts.iter().map(|p| p.number).max(), Some(255));
    assert!(format!("{:?}", t.warnings).contains("below 256"));

    // 1000 EBRs without data partitions: the kernel gives up after 100 empty links.
    let d = dos_with_ebrs(1000, |k| ebr(false, Some(2 * k + 2)));
    let t = timed("1000 empty EBR links", || {
        probe::part::probe_partitions("d", &d)
    })
    .unwrap()
    .unwrap();
    assert!(t.parts.iter().all(|p| p.number < 5));
    assert!(format!("{:?}", t.warnings).contains("within 100 links"));
}

// ---------------------------------------------------------------------------------------------
// LVM2 metadata areas and text

/// (mda offset, label disk_locn size offset) of the PV's first metadata area.
fn mda_of(d: &Disk) -> (u64, u64) {
    let (label, head) = harness::lvm_label(d).expect("an LVM label");
    let at = label.metadata_areas[0].offset;
    // pv_header: data areas, a zero entry, then the metadata areas (disk_locn: offset, size).
    let s = label.sector;
    let pvh = s * 512
        + u64::from(u32::from_le_bytes(
            head[s as usize * 512 + 0x14..][..4].try_into().unwrap(),
        ));
    let mut e = pvh + 40;
    while d.get(e, 8).unwrap() != le64(at) {
        e += 16;
    }
    (at, e + 8)
}

#[test]
fn metadata_text_larger_than_its_area() {
    let mut d = fixture("lvm/whole-disk/disk.spr");
    let (at, _) = mda_of(&d);
    let area = u64::from_le_bytes(d.get(at + 0x20, 8).unwrap().try_into().unwrap());
    d.write(at + 0x28 + 8, &le64(area));
    harness::fix_lvm(&mut d);
    let c = timed("text larger than the area", || {
        probe::lvm::probe_pv("d", &d)
    })
    .unwrap()
    .unwrap();
    let e = format!("{:?}", c.mdas[0].result);
    assert!(e.contains("raw_locn[0].size"), "{e}");
    assert!(c.metadata.is_none());
}

#[test]
fn metadata_text_beyond_the_read_limit() {
    // A 64 MiB metadata area whose committed text claims 17 MiB: refused before reading.
    let mut d = fixture("lvm/whole-disk/disk.spr");
    d.set_size(1 << 30);
    let (at, locn_size) = mda_of(&d);
    d.write(locn_size, &le64(64 << 20));
    d.write(at + 0x20, &le64(64 << 20));
    d.write(at + 0x28 + 8, &le64(17 << 20));
    harness::fix_lvm(&mut d);
    let c = timed("17 MiB text", || probe::lvm::probe_pv("d", &d))
        .unwrap()
        .unwrap();
    let e = format!("{:?}", c.mdas[0].result);
    assert!(e.contains("this reader stops at 16777216"), "{e}");
}

#[test]
fn text_nesting_and_node_count() {
    let deep = "a {\n".repeat(10_000) + &"}\n".repeat(10_000);
    let e = timed("10000 nested sections", || {
        lvm::text::parse(deep.as_bytes())
    })
    .unwrap_err()
    .to_string();
    assert!(e.contains("nested deeper than 16"), "{e}");
    let many: String = (0..(lvm::text::MAX_NODES + 1))
        .map(|i| format!("k{i} = {i}\n"))
        .collect();
    let e = timed("MAX_NODES+1 values", || lvm::text::parse(many.as_bytes()))
        .unwrap_err()
        .to_string();
    assert!(e.contains("more than 262144 keys and values"), "{e}");
}

/// LVs as (name, segments as (start_extent, extent_count, PV extent)).
type Lvs = Vec<(String, Vec<(u64, u64, u64)>)>;

/// Metadata text of VG "big" on one PV of `pe_count` extents (1 MiB each), with `lvs` (name,
/// segments as (start_extent, extent_count, pv extent)) as lvm2 writes them.
fn vg_text(pe_count: u64, lvs: &Lvs) -> String {
    let mut t = String::from(
        "big {\nid = \"z8rn7T-WGoJ-QqPR-MTSQ-OOMb-U4ay-inxkaD\"\nseqno = 2\nformat = \"lvm2\"\n\
         status = [\"RESIZEABLE\", \"READ\", \"WRITE\"]\nflags = []\nextent_size = 2048\n\
         max_lv = 0\nmax_pv = 0\nmetadata_copies = 0\n\nphysical_volumes {\n\npv0 {\n\
         id = \"W0001a-aaaa-bbbb-cccc-dddd-eeee-ffffff\"\ndevice = \"/dev/loop0\"\n\n\
         status = [\"ALLOCATABLE\"]\nflags = []\n",
    );
    t += &format!(
        "dev_size = {}\npe_start = 2048\npe_count = {pe_count}\n}}\n}}\n\nlogical_volumes {{\n",
        (pe_count + 2) * 2048
    );
    for (i, (name, segs)) in lvs.iter().enumerate() {
        t += &format!(
            "\n{name} {{\nid = \"OA6pbT-1Fjo-3ukp-FVeP-hDdS-iI7n-{:06}\"\n\
             status = [\"READ\", \"WRITE\", \"VISIBLE\"]\nflags = []\nsegment_count = {}\n",
            i % 1_000_000,
            segs.len()
        );
        for (k, (start, count, pe)) in segs.iter().enumerate() {
            t += &format!(
                "\nsegment{} {{\nstart_extent = {start}\nextent_count = {count}\n\n\
                 type = \"striped\"\nstripe_count = 1\n\nstripes = [\n\"pv0\", {pe}\n]\n}}\n",
                k + 1
            );
        }
        t += "}\n";
    }
    t += "}\n\n}\n# Generated by LVM2 version 2.03.16(2) (2022-05-18)\n\n\
          contents = \"Text Format Volume Group\"\nversion = 1\n\ndescription = \"\"\n\n\
          creation_host = \"vm\"\ncreation_time = 1795619670\n";
    t
}

/// `n` LVs of one extent each (LV ids must be unique: the 6-character tail carries `i`).
fn one_extent_lvs(n: u64) -> Lvs {
    (0..n)
        .map(|i| (format!("lv{i}"), vec![(0, 1, i)]))
        .collect()
}

fn import(text: &str) -> Result<Vg, String> {
    let root = lvm::text::parse(text.as_bytes()).map_err(|e| e.to_string())?;
    Vg::from_text(&root).map_err(|e| e.to_string())
}

#[test]
fn extent_counts_that_overflow() {
    let cases = [
        // u32 fields that do not fit.
        ("extent_count = 1", "extent_count = 4294967296"),
        ("start_extent = 0", "start_extent = 18446744073709551615"),
        ("\"pv0\", 0", "\"pv0\", 9223372036854775807"),
        // Extents past the PV: 2^32-1 extents at extent 0.
        ("extent_count = 1", "extent_count = 4294967295"),
    ];
    let base = vg_text(4, &one_extent_lvs(1));
    import(&base).unwrap();
    for (from, to) in cases {
        let t = base.replacen(from, to, 1);
        assert_ne!(t, base);
        let e = timed(to, || import(&t)).unwrap_err();
        eprintln!("  {e}");
    }
    // The largest extent size the text allows (2^32-1 sectors) is valid metadata: sizes are
    // u64 products of u32 fields and cannot overflow; the PV is then far smaller than its
    // extents, which discovery reports instead of reading beyond the device.
    let t = base.replacen("extent_size = 2048", "extent_size = 4294967295", 1);
    let vg = import(&t).unwrap();
    assert_eq!(vg.lv_sectors(&vg.lvs[0]), 4294967295);
    let g = timed("LV beyond its PV", || {
        discover(vec![pv_with_text(&t, 16 << 20)])
    });
    let p = build(&g, &Selection::default());
    assert!(p.steps.is_empty(), "{p}");
    eprintln!("  {}\n  {p}", problems(&g));
}

/// MAX_LVS is not reached: a minimal striped LV takes 22 keys and values in the text (lvm2
/// writes 26 with creation_time and creation_host), so the text node limit (2^18) stops a VG
/// at about 11900 such LVs (about 10000 as lvm2 writes them) first.
#[test]
fn many_lvs_near_and_beyond_the_limit() {
    let n = 11_000;
    let t = vg_text(n + 1, &one_extent_lvs(n));
    eprintln!("text of {n} LVs: {} bytes", t.len());
    let vg = timed("11000 LVs", || import(&t)).unwrap();
    assert_eq!(vg.lvs.len() as u64, n);
    let n = lvm::vg::MAX_LVS as u64 + 1;
    let t = vg_text(n + 1, &one_extent_lvs(n));
    let e = timed("MAX_LVS+1 LVs", || import(&t)).unwrap_err();
    assert!(e.contains("more than 262144 keys and values"), "{e}");
}

#[test]
fn many_segments_near_and_beyond_the_limit() {
    let n = lvm::vg::MAX_SEGMENTS_PER_LV as u64;
    let segs = |n: u64| vec![("lv".to_string(), (0..n).map(|k| (k, 1, k)).collect())];
    let vg = timed("MAX_SEGMENTS_PER_LV segments", || {
        import(&vg_text(n + 1, &segs(n)))
    })
    .unwrap();
    assert_eq!(vg.lvs[0].segments.len(), lvm::vg::MAX_SEGMENTS_PER_LV);
    let e = timed("MAX_SEGMENTS_PER_LV+1 segments", || {
        import(&vg_text(n + 2, &segs(n + 1)))
    })
    .unwrap_err();
    assert!(e.contains("16384"), "{e}");
}

/// The whole-disk PV with its metadata replaced by `text` (a metadata area grown to hold it,
/// the device grown to hold every extent).
fn pv_with_text(text: &str, dev_size: u64) -> Disk {
    let mut d = fixture("lvm/whole-disk/disk.spr");
    d.set_size(dev_size);
    let (at, locn_size) = mda_of(&d);
    let area = (text.len() as u64 + (1 << 20)).next_multiple_of(1 << 20);
    d.write(locn_size, &le64(area));
    d.write(at + 0x20, &le64(area));
    let off = u64::from_le_bytes(d.get(at + 0x28, 8).unwrap().try_into().unwrap());
    let mut t = text.as_bytes().to_vec();
    t.push(0);
    d.write(at + off, &t);
    d.write(at + 0x28 + 8, &le64(t.len() as u64));
    harness::fix_lvm(&mut d);
    d
}

#[test]
fn many_lvs_through_discovery_and_planning() {
    // Below the engine's object limit: every LV is planned.
    let n = (MAX_NODES - 8) as u64;
    let d = pv_with_text(&vg_text(n, &one_extent_lvs(n)), (n + 2) << 20);
    let g = timed("discover MAX_NODES-8 LVs", || discover(vec![d]));
    assert_eq!(g.vgs[0].lvs.len() as u64, n, "{}", problems(&g));
    let p = timed("plan MAX_NODES-8 LVs", || build(&g, &Selection::default()));
    assert_eq!(p.steps.len() as u64, n);
    // Beyond it: the limit is named and what fits is still planned.
    let n = (MAX_NODES + 100) as u64;
    let d = pv_with_text(&vg_text(n, &one_extent_lvs(n)), (n + 2) << 20);
    let g = timed("discover MAX_NODES+100 LVs", || discover(vec![d]));
    assert!(
        problems(&g).contains("more than 4096 objects"),
        "{}",
        problems(&g)
    );
    let p = timed("plan MAX_NODES+100 LVs", || {
        build(&g, &Selection::default())
    });
    assert!(p.steps.len() < n as usize && p.steps.len() > 4000);
}

// ---------------------------------------------------------------------------------------------
// Stacking

#[test]
fn lv_whose_pv_is_itself() {
    // The PV's first MiB (label, metadata) copied to pe_start: LV vg0/root, read in user
    // space, holds the very PV it is built on.
    let mut d = fixture("lvm/whole-disk/disk.spr");
    let head = d.get(0, 1 << 20).unwrap();
    d.write(1 << 20, &head);
    let g = timed("PV inside its own LV", || discover(vec![d]));
    // The copy is found once (nodes are keyed by identity, the LV is read once) and is a
    // duplicate of the PV it lives on: the VG is not activated, nothing is guessed.
    assert_eq!(g.nodes.len(), 2, "{}", evms_activate::report::tree(&g));
    assert!(problems(&g).contains("duplicate PV"), "{}", problems(&g));
    let p = timed("plan it", || build(&g, &Selection::default()));
    assert!(p.steps.is_empty(), "{p}");
    assert!(p.skipped[0].reason.contains("duplicate PV"), "{p}");
}

/// A real MD 1.2 superblock (md/r1-12-bitmap member 0: RAID1 of 2, the other member absent)
/// with a UUID of its own and sizes fitted to a device of `size` bytes.
fn md_level(sb: &[u8], k: u8, size: u64) -> Option<(Vec<u8>, u64)> {
    let mut b = sb.to_vec();
    b[0x10] = k; // set_uuid: one array per level
    b[0x08..0x0C].copy_from_slice(&le32(0)); // feature_map: no bitmap (not copied)
    let data_offset = u64::from_le_bytes(b[0x80..0x88].try_into().unwrap());
    let data_size = (size / 512).checked_sub(data_offset)?.checked_sub(8)?;
    if data_size < 2048 {
        return None;
    }
    b[0x88..0x90].copy_from_slice(&le64(data_size));
    b[0x50..0x58].copy_from_slice(&le64(data_size));
    harness::fix_md_v1(&mut b);
    Some((b, data_offset * 512))
}

#[test]
fn deep_nesting_md_and_partitions() {
    // MD RAID1 → DOS partition → MD RAID1 → partition → ... 40 levels, each a real
    // superblock moved inward, each level's device the previous level's content.
    let m0 = fixture("md/scenarios/r1-12-bitmap/m0.spr");
    let sb = m0.get(8 * 512, 4096).unwrap();
    let mut d = Disk::new(1 << 36, 512);
    let (mut base, mut size) = (0u64, d.size());
    for level in 0..40u8 {
        if level % 2 == 0 {
            let Some((b, inner)) = md_level(&sb, level, size) else {
                break;
            };
            d.write(base + 8 * 512, &b);
            base += inner;
            size = u64::from_le_bytes(b[0x50..0x58].try_into().unwrap()) * 512;
        } else {
            let mut mbr = [0u8; 512];
            mbr[446 + 4] = 0x83;
            mbr[446 + 8..446 + 12].copy_from_slice(&le32(8));
            let n = u32::try_from(size / 512 - 8).unwrap_or(u32::MAX);
            mbr[446 + 12..446 + 16].copy_from_slice(&le32(n));
            mbr[510] = 0x55;
            mbr[511] = 0xAA;
            d.write(base, &mbr);
            base += 8 * 512;
            size = u64::from(n) * 512;
        }
    }
    let g = timed("40 levels of MD and partitions", || discover(vec![d]));

    let deepest = g.nodes.iter().map(|n| n.depth).max().unwrap();
    eprintln!("{} nodes, depth {deepest}", g.nodes.len());
    assert_eq!(deepest, MAX_DEPTH);
    assert!(
        problems(&g).contains("stacked more than 16 levels deep"),
        "{}",
        problems(&g)
    );
    timed("plan them", || build(&g, &Selection::default()));
}
