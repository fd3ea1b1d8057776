//! What the plan makes of bcache devices (the make-bcache fixtures; grouping itself is
//! tested in engine/bcache/tests.rs).
use crate::engine::bcache::tests::{dev, state, CLEAN, DIRTY};
use crate::engine::fixtures;
use crate::formats::fs::bcache::tests::fixture;
use crate::plan::build::{build, Selection};
use crate::plan::{Plan, Step};

fn plan(g: &crate::engine::Graph, degraded: bool) -> Plan {
    build(
        g,
        &Selection {
            degraded,
            ..Selection::default()
        },
    )
}

/// Register the cache, then the backing device; udev's link by backing UUID; module bcache.
#[test]
fn register_step_names_cache_then_backing() {
    let g = fixtures::graph(vec![("vda", fixture("wb")), ("vdb", fixture("cache"))], &[]);
    let p = plan(&g, false);
    assert_eq!(p.steps.len(), 1, "{p}");
    let Step::RegisterBcache(s) = &p.steps[0] else {
        panic!("{p}")
    };
    let uuid = &dev(&g, "vda").sb.uuid;
    assert_eq!(s.backing.name(), "vda");
    assert_eq!(
        s.caches.iter().map(|c| c.name()).collect::<Vec<_>>(),
        ["vdb"]
    );
    assert!(!s.without_cache);
    assert_eq!(s.links, [format!("bcache/by-uuid/{uuid}")]);
    assert_eq!(p.modules(), ["bcache"]);
    assert_eq!(
        p.to_string(),
        format!(
            " 1. register bcache bcache0 (backing vda: detached, writeback)\n      uuid {uuid}, cache set 4e5f6071-8293-4a4b-85c6-d7e8f90a1b2c\n      register vdb (cache)\n      register vda (backing)\n      link /dev/bcache/by-uuid/{uuid}\n      modules bcache\n"
        )
    );
    // Two backing devices: one step each.
    let g = fixtures::graph(
        vec![
            ("vda", fixture("wb")),
            ("vdb", fixture("wt")),
            ("vdc", fixture("cache")),
        ],
        &[],
    );
    assert_eq!(plan(&g, false).steps.len(), 2);
}

/// Detached: registered alone, as the kernel runs it.
#[test]
fn a_detached_backing_device_is_registered_alone() {
    let g = fixtures::graph(vec![("vda", fixture("wb"))], &[]);
    let p = plan(&g, false);
    let Step::RegisterBcache(s) = &p.steps[0] else {
        panic!("{p}")
    };
    assert!(s.caches.is_empty() && !s.without_cache);
}

/// Writeback or dirty without the cache: skipped with the reason, degraded or not; dirty
/// with the cache: registered.
#[test]
fn refused_devices_are_skipped_with_the_reason() {
    let mut d = fixture("wb");
    state(&mut d, CLEAN);
    let g = fixtures::graph(vec![("vda", d)], &[]);
    for degraded in [false, true] {
        let p = plan(&g, degraded);
        assert!(p.steps.is_empty(), "{p}");
        assert_eq!(p.skipped.len(), 1);
        assert_eq!(p.skipped[0].volume, "bcache0");
        assert!(p.skipped[0]
            .reason
            .starts_with("not startable: its cache set"));
    }
    let mut d = fixture("wt");
    state(&mut d, DIRTY);
    let g = fixtures::graph(vec![("vda", d.clone())], &[]);
    assert!(plan(&g, true).steps.is_empty());
    let g = fixtures::graph(vec![("vda", d), ("vdb", fixture("cache"))], &[]);
    let p = plan(&g, false);
    assert!(
        matches!(&p.steps[..], [Step::RegisterBcache(s)] if s.caches.len() == 1),
        "{p}"
    );
}

/// Clean writethrough without the cache: only with the degraded policy, and then `running`.
#[test]
fn clean_writethrough_runs_without_its_cache_only_degraded() {
    let mut d = fixture("wt");
    state(&mut d, CLEAN);
    let g = fixtures::graph(vec![("vda", d)], &[]);
    let p = plan(&g, false);
    assert!(p.steps.is_empty());
    assert!(
        p.skipped[0].reason.contains("start it with --degraded"),
        "{}",
        p.skipped[0].reason
    );
    let p = plan(&g, true);
    let Step::RegisterBcache(s) = &p.steps[0] else {
        panic!("{p}")
    };
    assert!(s.without_cache && s.caches.is_empty());
    assert!(p
        .to_string()
        .contains("run without its cache set (degraded)"));
}
