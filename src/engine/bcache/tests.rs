//! Grouping rules over the devices make-bcache wrote (tests/fixtures/bcache): one cache set,
//! a writeback and a writethrough backing device attached to it by set UUID, each holding an
//! ext4 filesystem written by mke2fs at the data offset. The states the kernel writes
//! (clean once attached, dirty, stale) are set in copies with the checksum re-sealed. What
//! the plan makes of them: plan/bcache_tests.rs; root= inside: boot/volumes.rs.
use super::*;
use crate::engine::fixtures;
use crate::formats::fs::bcache::tests::{fixture, set_flags};
use crate::source::sparse::SparseDev;

/// KEY=VALUE of a fixture's expected file.
pub(crate) fn expected(name: &str, file: &str, key: &str) -> String {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/bcache")
        .join(name)
        .join(file);
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('=').map(str::to_string))
        .unwrap_or_else(|| panic!("{name}/{file}: {key} missing"))
}

/// Sets the backing device state bits as the kernel writes them.
pub(crate) fn state(d: &mut SparseDev, bits: u64) {
    set_flags(d, |f| f & !(3 << 61) | bits << 61);
}

pub(crate) const CLEAN: u64 = 1;
pub(crate) const DIRTY: u64 = 2;
pub(crate) const STALE: u64 = 3;

pub(crate) fn dev<'a>(g: &'a Graph, backing: &str) -> &'a BcacheDev {
    g.bcache
        .iter()
        .find(|b| g.nodes[b.backing].name == backing)
        .unwrap_or_else(|| panic!("no bcache device on {backing}"))
}

fn fs_of(g: &Graph, id: NodeId) -> (String, Option<String>, Option<String>) {
    match &g.nodes[id].content {
        Content::Fs(f) => (f.fstype.to_string(), f.uuid.clone(), f.label.clone()),
        c => panic!("{}: {c:?}", g.nodes[id].name),
    }
}

/// A backing device and the cache device of its set: one bcache device on that set; what is
/// inside is read through the backing device from its data offset: the ext4 blkid finds at
/// 8 KiB (`blkid -O 8192`).
#[test]
fn backing_and_cache_group_by_set_uuid() {
    let g = fixtures::graph(vec![("vda", fixture("wb")), ("vdb", fixture("cache"))], &[]);
    assert!(g.problems.is_empty(), "{:?}", g.problems);
    assert_eq!(g.bcache.len(), 1);
    assert_eq!(g.cache_sets.len(), 1);
    let b = dev(&g, "vda");
    assert_eq!(b.sb.uuid, expected("wb", "expected.blkid", "UUID"));
    assert_eq!(b.key, format!("bcache:{}", b.sb.uuid));
    assert_eq!(g.cache_sets[0].uuid, "4e5f6071-8293-4a4b-85c6-d7e8f90a1b2c");
    assert_eq!(
        g.cache_sets[0].members[0].1.uuid,
        expected("cache", "expected.blkid", "UUID")
    );
    assert_eq!(b.set, Some(0));
    assert_eq!(b.verdict, Verdict::Complete);
    assert_eq!(b.devnm, "bcache0");
    let n = b.node.unwrap();
    assert_eq!(g.nodes[n].name, "bcache0");
    assert_eq!(g.nodes[n].size, 32 * 1024 * 1024 - 8192);
    let (t, u, l) = fs_of(&g, n);
    assert_eq!(t, expected("wb", "expected.inside", "TYPE"));
    assert_eq!(u.unwrap(), expected("wb", "expected.inside", "UUID"));
    assert_eq!(l.unwrap(), expected("wb", "expected.inside", "LABEL"));
    let vdb = g.by_name("vdb").unwrap();
    assert_eq!(g.nodes[n].parents, [g.by_name("vda").unwrap(), vdb]);
}

/// Two backing devices on one cache set: two bcache devices, numbered as the kernel would
/// number them when registered in this order, both with the one cache device.
#[test]
fn two_backing_devices_share_one_cache_set() {
    let g = fixtures::graph(
        vec![
            ("vda", fixture("wb")),
            ("vdb", fixture("wt")),
            ("vdc", fixture("cache")),
        ],
        &[],
    );
    let (a, b) = (dev(&g, "vda"), dev(&g, "vdb"));
    assert_eq!((a.devnm.as_str(), b.devnm.as_str()), ("bcache0", "bcache1"));
    assert_eq!((a.set, b.set), (Some(0), Some(0)));
    let (_, _, l) = fs_of(&g, b.node.unwrap());
    assert_eq!(l.unwrap(), expected("wt", "expected.inside", "LABEL"));
}

/// Never attached (make-bcache's state) or stale: the kernel runs the backing device as
/// soon as it is registered, cache or not; so do we.
#[test]
fn a_detached_or_stale_backing_device_runs_alone() {
    let g = fixtures::graph(vec![("vda", fixture("wb"))], &[]);
    let b = dev(&g, "vda");
    assert_eq!((b.set, &b.verdict), (None, &Verdict::Complete));
    let mut d = fixture("wb");
    state(&mut d, STALE);
    let g = fixtures::graph(vec![("vda", d)], &[]);
    assert_eq!(dev(&g, "vda").verdict, Verdict::Complete);
}

/// Attached, clean, writeback, cache missing: refused, with why. The data of the backing
/// device is still read for scan (it holds every block the superblock knows of).
#[test]
fn writeback_without_its_cache_is_refused() {
    let mut d = fixture("wb");
    state(&mut d, CLEAN);
    let g = fixtures::graph(vec![("vda", d)], &[]);
    let b = dev(&g, "vda");
    let Verdict::NotStartable { reason } = &b.verdict else {
        panic!("{:?}", b.verdict)
    };
    assert_eq!(
        reason,
        "its cache set 4e5f6071-8293-4a4b-85c6-d7e8f90a1b2c is missing, and in writeback mode the cache may hold data not yet written back to vda (the kernel records dirty data in the superblock without waiting for that write); not usable without it"
    );
    assert_eq!(fs_of(&g, b.node.unwrap()).0, "ext4");
}

/// Dirty: the cache holds blocks the backing device lacks. Without the cache it is never
/// used; nothing is read through the backing device either way (its content is stale).
#[test]
fn dirty_data_lives_in_the_cache() {
    let mut d = fixture("wt");
    state(&mut d, DIRTY);
    let g = fixtures::graph(vec![("vda", d.clone())], &[]);
    let b = dev(&g, "vda");
    assert!(
        matches!(&b.verdict, Verdict::NotStartable { reason } if reason.ends_with("(state dirty): not usable without it")),
        "{:?}",
        b.verdict
    );
    let n = b.node.unwrap();
    assert!(g.nodes[n].reader().is_none());
    assert!(matches!(g.nodes[n].content, Content::Unknown));
    let g = fixtures::graph(vec![("vda", d), ("vdb", fixture("cache"))], &[]);
    let b = dev(&g, "vda");
    assert_eq!(b.verdict, Verdict::Complete);
    assert!(g.nodes[b.node.unwrap()].reader().is_none());
}

/// Clean writethrough with its cache missing: left for the degraded policy. It takes its
/// kernel number after the devices that start.
#[test]
fn clean_writethrough_without_its_cache_waits_for_the_policy() {
    let mut d = fixture("wt");
    state(&mut d, CLEAN);
    let g = fixtures::graph(vec![("vdb", d), ("vdc", fixture("wb"))], &[]);
    let b = dev(&g, "vdb");
    assert!(
        matches!(&b.verdict, Verdict::NoCache { reason } if reason.contains("start it with --degraded")),
        "{:?}",
        b.verdict
    );
    assert_eq!(b.devnm, "bcache1");
    assert_eq!(dev(&g, "vdc").devnm, "bcache0");
}

/// The same backing device twice (a cloned disk): not guessed.
#[test]
fn a_cloned_backing_device_is_refused() {
    let g = fixtures::graph(vec![("vda", fixture("wb")), ("vdb", fixture("wb"))], &[]);
    assert_eq!(g.bcache.len(), 1);
    let b = &g.bcache[0];
    assert!(matches!(&b.verdict, Verdict::NotStartable { .. }));
    assert_eq!(b.problems.len(), 1);
    assert!(
        b.problems[0].contains("is on vda and vdb: a duplicate"),
        "{:?}",
        b.problems
    );
    // Filtering one out chooses the other.
    let g = fixtures::graph(
        vec![("vda", fixture("wb")), ("vdb", fixture("wb"))],
        &["vdb"],
    );
    assert_eq!(dev(&g, "vda").verdict, Verdict::Complete);
}

/// A superblock the kernel would refuse (bad checksum): a warning naming device, format,
/// offset and field; no bcache device.
#[test]
fn a_bad_checksum_is_reported_not_registered() {
    let mut d = fixture("wb");
    let mut b = d.get(4096 + 72, 1);
    b[0] ^= 0xff;
    d.patch(4096 + 72, &b);
    let g = fixtures::graph(vec![("vda", d)], &[]);
    assert!(g.bcache.is_empty());
    let n = g.by_name("vda").unwrap();
    let w: Vec<String> = g.nodes[n].warnings.iter().map(|w| w.to_string()).collect();
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].starts_with("vda: bcache at byte 4096: csum: found 0x"),
        "{}",
        w[0]
    );
}
