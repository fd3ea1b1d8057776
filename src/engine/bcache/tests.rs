//! Grouping rules over the devices make-bcache wrote (tests/fixtures/bcache): one cache set,
//! a writeback and a writethrough backing device attached to it by set UUID, each holding an
//! ext4 filesystem written by mke2fs at the data offset. The states the kernel writes
//! (clean once attached, dirty, stale) are set in copies with the checksum re-sealed.
use super::*;
use crate::engine::fixtures;
use crate::formats::fs::bcache::tests::{fixture, set_flags};
use crate::plan::build::{build, Selection};
use crate::plan::Step;
use crate::source::sparse::SparseDev;

/// KEY=VALUE of a fixture's expected file.
fn expected(name: &str, file: &str, key: &str) -> String {
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

fn state(d: &mut SparseDev, bits: u64) {
    set_flags(d, |f| f & !(3 << 61) | bits << 61);
}

const CLEAN: u64 = 1;
const DIRTY: u64 = 2;
const STALE: u64 = 3;

fn dev<'a>(g: &'a Graph, backing: &str) -> &'a BcacheDev {
    g.bcache
        .iter()
        .find(|b| g.nodes[b.backing].name == backing)
        .unwrap_or_else(|| panic!("no bcache device on {backing}"))
}

fn steps(g: &Graph, degraded: bool) -> crate::plan::Plan {
    build(
        g,
        &Selection {
            degraded,
            ..Selection::default()
        },
    )
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
    // The plan: register the cache, then the backing device; udev's link by backing UUID.
    let plan = steps(&g, false);
    assert_eq!(plan.steps.len(), 1, "{plan}");
    let Step::RegisterBcache(s) = &plan.steps[0] else {
        panic!("{plan}")
    };
    assert_eq!(s.backing.name(), "vda");
    assert_eq!(
        s.caches.iter().map(|c| c.name()).collect::<Vec<_>>(),
        ["vdb"]
    );
    assert!(!s.without_cache);
    assert_eq!(s.links, [format!("bcache/by-uuid/{}", b.sb.uuid)]);
    assert_eq!(plan.modules(), ["bcache"]);
    // The cache device says what it is for.
    let st = crate::report::node_state(&g, vdb);
    assert!(
        st.starts_with("cache device of set 4e5f6071-8293-4a4b-85c6-d7e8f90a1b2c for bcache0"),
        "{st}"
    );
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
    assert_eq!(steps(&g, false).steps.len(), 2);
}

/// Never attached (make-bcache's state): the kernel runs the backing device as soon as it is
/// registered, cache or not; so do we.
#[test]
fn a_detached_backing_device_runs_alone() {
    let g = fixtures::graph(vec![("vda", fixture("wb"))], &[]);
    let b = dev(&g, "vda");
    assert_eq!((b.set, &b.verdict), (None, &Verdict::Complete));
    let plan = steps(&g, false);
    let Step::RegisterBcache(s) = &plan.steps[0] else {
        panic!("{plan}")
    };
    assert!(s.caches.is_empty() && !s.without_cache);
    // Stale (run without its cache once): the kernel runs it at registration too.
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
    for degraded in [false, true] {
        let plan = steps(&g, degraded);
        assert!(plan.steps.is_empty(), "{plan}");
        assert_eq!(plan.skipped.len(), 1);
        assert_eq!(plan.skipped[0].volume, "bcache0");
        assert!(plan.skipped[0]
            .reason
            .starts_with("not startable: its cache set"));
    }
    assert_eq!(fs_of(&g, b.node.unwrap()).0, "ext4");
}

/// Dirty: the cache holds blocks the backing device lacks. Without the cache it is never
/// used, and nothing is read through the backing device (its content would be stale); with
/// the cache it is registered (the kernel reads the dirty blocks from the cache).
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
    assert!(steps(&g, true).steps.is_empty());
    let g = fixtures::graph(vec![("vda", d), ("vdb", fixture("cache"))], &[]);
    let b = dev(&g, "vda");
    assert_eq!(b.verdict, Verdict::Complete);
    assert!(g.nodes[b.node.unwrap()].reader().is_none());
    let plan = steps(&g, false);
    assert!(
        matches!(&plan.steps[..], [Step::RegisterBcache(s)] if s.caches.len() == 1),
        "{plan}"
    );
}

/// Clean writethrough with its cache missing: left for the degraded policy, which runs it
/// without the cache (`running`), as the kernel allows.
#[test]
fn clean_writethrough_runs_without_its_cache_only_degraded() {
    let mut d = fixture("wt");
    state(&mut d, CLEAN);
    let g = fixtures::graph(vec![("vda", d)], &[]);
    let b = dev(&g, "vda");
    assert!(
        matches!(&b.verdict, Verdict::NoCache { .. }),
        "{:?}",
        b.verdict
    );
    let plan = steps(&g, false);
    assert!(plan.steps.is_empty());
    assert!(
        plan.skipped[0].reason.contains("start it with --degraded"),
        "{}",
        plan.skipped[0].reason
    );
    let plan = steps(&g, true);
    let Step::RegisterBcache(s) = &plan.steps[0] else {
        panic!("{plan}")
    };
    assert!(s.without_cache && s.caches.is_empty());
    assert!(plan
        .to_string()
        .contains("run without its cache set (degraded)"));
}

/// The same backing device twice (a cloned disk): not guessed.
#[test]
fn a_cloned_backing_device_is_refused() {
    let g = fixtures::graph(vec![("vda", fixture("wb")), ("vdb", fixture("wb"))], &[]);
    assert_eq!(g.bcache.len(), 1);
    let b = &g.bcache[0];
    assert!(matches!(&b.verdict, Verdict::NotStartable { .. }));
    let (problems, _) = crate::report::problem_lines(&g);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("is on vda and vdb: a duplicate")),
        "{problems:?}"
    );
    assert!(steps(&g, true).steps.is_empty());
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
    let (_, warnings) = crate::report::problem_lines(&g);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].starts_with("vda: bcache at byte 4096: csum: found 0x"),
        "{}",
        warnings[0]
    );
}

/// root= by the filesystem inside: found on the bcache device before it runs, so root's chain
/// (the register step) is planned; the backing device's own UUID is refused by name.
#[test]
fn root_inside_bcache_resolves_before_it_runs() {
    use crate::boot::cmdline::BootSpec;
    use crate::boot::volumes::resolve_root;
    let g = fixtures::graph(vec![("vda", fixture("wb")), ("vdb", fixture("cache"))], &[]);
    for arg in [
        format!("root=UUID={}", expected("wb", "expected.inside", "UUID")),
        "root=LABEL=bcache-wb".to_string(),
        "root=/dev/bcache0".to_string(),
        format!(
            "root=/dev/bcache/by-uuid/{}",
            expected("wb", "expected.blkid", "UUID")
        ),
    ] {
        let (spec, _) = BootSpec::parse(&arg);
        let id = resolve_root(&g, spec.root.as_ref().unwrap())
            .unwrap()
            .unwrap_or_else(|| panic!("{arg}: not found"));
        assert_eq!(g.nodes[id].name, "bcache0", "{arg}");
        let plan = build(
            &g,
            &Selection {
                volumes: vec![g.nodes[id].key.clone()],
                ..Selection::default()
            },
        );
        assert!(
            matches!(&plan.steps[..], [Step::RegisterBcache(_)]),
            "{arg}: {plan}"
        );
    }
    let (spec, _) = BootSpec::parse(&format!(
        "root=UUID={}",
        expected("wb", "expected.blkid", "UUID")
    ));
    let e = resolve_root(&g, spec.root.as_ref().unwrap()).unwrap_err();
    assert!(e.contains("a bcache backing or cache device"), "{e}");
}
