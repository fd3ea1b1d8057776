//! Reads every MD array made by `tests/vm/md-fixtures.sh` through our own superblock parser
//! and RAID mapping, and compares the SHA-256 of the whole array with `sha256sum /dev/mdN`
//! taken by the real kernel in the VM. Each redundant array is read again with each member
//! missing in turn (RAID1/10 read other copies, RAID4/5/6 rebuild from parity).
//!
//! Needs the full disk images: run `make md-fixtures` first (root, qemu; a few minutes). This
//! test fails, on purpose, when they are absent. `MD_FIXTURES_DIR` overrides the location
//! (default `.cache/md-fixtures`).

use evms_activate::formats::md::{geom_for, member_area, MdRole, MdSuper, MdVersion};
use evms_activate::probe::md::probe_md;
use evms_activate::source::layout::{Layout, Mapped, Src};
use evms_activate::source::{FileDev, ReadAt};
use std::collections::{BTreeMap, HashMap};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

fn cache() -> PathBuf {
    let dir = std::env::var_os("MD_FIXTURES_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".cache/md-fixtures"));
    assert!(
        dir.join("ready").exists(),
        "MD fixture images missing in {}: run `make md-fixtures` (tests/vm/md-fixtures.sh; root \
         and qemu, a few minutes) before this test",
        dir.display()
    );
    dir
}

struct Member {
    index: usize,
    image: PathBuf,
    start: u64,
    size: u64,
}

fn manifest(dir: &Path) -> BTreeMap<String, Vec<Member>> {
    let mut m: BTreeMap<String, Vec<Member>> = BTreeMap::new();
    let text = std::fs::read_to_string(dir.join("manifest")).expect("manifest");
    for l in text.lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        m.entry(f[0].to_string()).or_default().push(Member {
            index: f[1].parse().unwrap(),
            image: PathBuf::from(f[2]),
            start: f[3].parse().unwrap(),
            size: f[4].parse().unwrap(),
        });
    }
    m
}

fn open_member(image: &Path, start: u64, size: u64) -> Src {
    let file: Src =
        Arc::new(FileDev::open(image, 512).unwrap_or_else(|e| panic!("{}: {e}", image.display())));
    Arc::new(Mapped::new(
        Layout::Slice {
            src: file,
            offset: start,
            len: size,
        },
        512,
    ))
}

/// SHA-256 of a layout's bytes, by the system's sha256sum (no hashing crate is a dependency).
fn sha256(l: &Layout) -> io::Result<String> {
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut stdin = child.stdin.take().expect("stdin");
    let mut buf = vec![0u8; 1 << 20];
    let mut pos = 0u64;
    let len = l.len();
    let res = (|| {
        while pos < len {
            let n = usize::try_from((len - pos).min(buf.len() as u64)).unwrap();
            l.read_exact_at(pos, &mut buf[..n])?;
            stdin.write_all(&buf[..n])?;
            pos += n as u64;
        }
        Ok::<(), io::Error>(())
    })();
    drop(stdin);
    let mut out = String::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut out)?;
    child.wait()?;
    res?;
    Ok(out.split_whitespace().next().unwrap_or("").to_string())
}

fn sysfs_size(dir: &Path) -> u64 {
    let t = std::fs::read_to_string(dir.join("sysfs.txt")).unwrap();
    t.lines()
        .find_map(|l| l.strip_prefix("size="))
        .unwrap()
        .parse()
        .unwrap()
}

fn read_trim(p: &Path) -> String {
    std::fs::read_to_string(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .trim()
        .to_string()
}

/// The freshest superblock and the members by slot, as the engine assembles: members whose
/// events lag (a failed member) and spares are left out.
fn assemble(sbs: &[(MdSuper, Src)]) -> (MdSuper, Vec<Option<Layout>>) {
    let fresh = sbs.iter().map(|(sb, _)| sb.events).max().unwrap();
    let best = sbs
        .iter()
        .find(|(sb, _)| sb.events == fresh)
        .unwrap()
        .0
        .clone();
    let mut slots = vec![None; best.raid_disks as usize];
    for (sb, dev) in sbs {
        if let (MdRole::Active(s), true) = (sb.role, sb.events == fresh) {
            slots[s as usize] = Some(member_area(sb, dev.clone()));
        }
    }
    (best, slots)
}

#[test]
fn md_arrays_read_in_user_space_match_the_kernel() {
    let dir = cache();
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/md/scenarios");
    let mut checked = HashMap::new();
    for (scen, members) in manifest(&dir) {
        let guest = dir.join("guest").join(&scen);
        let want = read_trim(&guest.join("sha256"));
        let sbs: Vec<(MdSuper, Src)> = members
            .iter()
            .map(|m| {
                let dev = open_member(&m.image, m.start, m.size);
                let sb = probe_md(&format!("{scen}/{}", m.index), &*dev)
                    .unwrap()
                    .unwrap_or_else(|| panic!("{scen} member {}: no superblock", m.index));
                (sb, dev)
            })
            .collect();
        let (best, slots) = assemble(&sbs);
        let layout = geom_for(&best, slots.clone()).unwrap_or_else(|e| panic!("{scen}: {e}"));
        assert_eq!(layout.len(), sysfs_size(&guest) * 512, "{scen}: array size");
        assert_eq!(
            sha256(&layout).unwrap(),
            want,
            "{scen}: array data differs from the kernel's"
        );
        // The pattern is deterministic: the committed checksum must not drift. Not for the
        // stale-* arrays: the older superblock written back over their members lies inside
        // the array's data and carries the time it was made, so each regeneration differs.
        let drift_checked = !scen.starts_with("stale-");
        if let (true, Ok(c)) = (
            drift_checked,
            std::fs::read_to_string(committed.join(&scen).join("sha256")),
        ) {
            assert_eq!(
                c.trim(),
                want,
                "{scen}: regenerated fixtures no longer match the committed sha256"
            );
        }
        let mut degraded = 0;
        if matches!(best.level, 1 | 4 | 5 | 6 | 10) {
            let present: Vec<usize> = (0..slots.len()).filter(|&i| slots[i].is_some()).collect();
            // Arrays already missing a member (r5-12-failed) were read degraded above. The
            // stale-* arrays were created with --assume-clean over members whose bytes differ
            // (each keeps its own older superblock) and recorded from their first member
            // alone: their other copy is not expected to match.
            if present.len() == slots.len() && !scen.starts_with("stale-") {
                for &i in &present {
                    let mut s = slots.clone();
                    s[i] = None;
                    let l = geom_for(&best, s).unwrap();
                    assert_eq!(sha256(&l).unwrap(), want, "{scen}: without slot {i}");
                    degraded += 1;
                }
            }
        }
        if best.level == 6 || best.level == 5 {
            // Two members gone: data on them cannot be rebuilt from P alone.
            let mut s = slots.clone();
            s[0] = None;
            s[1] = None;
            let l = geom_for(&best, s).unwrap();
            let err = sha256(&l).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::NotFound, "{scen}: {err}");
        }
        checked.insert(scen, degraded);
    }
    assert!(checked.len() >= 26, "{checked:?}");
    assert_eq!(checked["r5-12-ls"], 3);
    assert_eq!(checked["r10-12-f2"], 3);
}

#[test]
fn big_endian_090_copy_reads_the_same_data() {
    let dir = cache();
    let man = manifest(&dir);
    let sbs: Vec<(MdSuper, Src)> = man["r1-090"]
        .iter()
        .map(|m| {
            let img = dir.join("disks").join(format!("be-{}.img", m.index));
            let dev = open_member(&img, m.start, m.size);
            let sb = probe_md("be", &*dev).unwrap().unwrap();
            assert_eq!(sb.version, MdVersion::V090 { big_endian: true });
            (sb, dev)
        })
        .collect();
    let (best, slots) = assemble(&sbs);
    let layout = geom_for(&best, slots).unwrap();
    assert_eq!(
        sha256(&layout).unwrap(),
        read_trim(&dir.join("guest-be/r1-090-be/sha256"))
    );
}
