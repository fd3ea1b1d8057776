//! Whole plans over the real tools' fixtures, by what they exercise: the walk (order,
//! blocking, filters), selection, and each kind of node (partition, md, lvm). A plan spans
//! files (an LV on a kpartx map, stand-ins before their LV), so these tests sit above them all.

mod walk {
    use crate::engine::fixtures;
    use crate::plan::build::*;
    use crate::plan::Skipped;
    use crate::plan::Step;

    /// Table lines as `dmsetup table` prints them, `NAME: START LEN TARGET ARGS`, in the
    /// records' order (by name, a device's lines in table order).
    pub(super) fn table_lines(plan: &crate::plan::Plan, prefix: &str) -> Vec<String> {
        let mut v: Vec<(String, usize, String)> = Vec::new();
        for s in &plan.steps {
            if let Step::CreateDm(d) = s {
                for (i, t) in d.table.iter().enumerate() {
                    if d.name.starts_with(prefix) {
                        v.push((format!("{}:", d.name), i, format!("{}: {t}", d.name)));
                    }
                }
            }
        }
        v.sort();
        v.into_iter().map(|x| x.2).collect()
    }

    /// What is built on a skipped object is named, not dropped silently: VG gp's LV on the
    /// GPT partition vdd1, with vdd1 left out by the volume filter.
    #[test]
    fn dependents_of_a_skipped_object_are_named() {
        let g = fixtures::lvmfaults(&["vdd"], &[]);
        let sel = |exclude: &str| Selection {
            filter: Some(crate::config::ActivateFilter {
                include: vec!["*".into()],
                exclude: vec![exclude.into()],
            }),
            ..Selection::default()
        };
        let plan = build(&g, &sel("nothing"));
        assert_eq!(table_lines(&plan, "gp-"), ["gp-l: 0 4096 linear vdd1 2048"]);
        let plan = build(&g, &sel("vdd1"));
        assert!(plan.steps.is_empty(), "{plan}");
        assert_eq!(
            plan.skipped,
            [Skipped {
                volume: "gp/l".into(),
                reason: "built on vdd1, which is not activated".into()
            }]
        );
    }
}

mod selection {
    //! Selection and filters over the lvm2-made `multi` fixture (tests/fixtures/lvm/gen.sh:
    //! VG my-vg over two PVs with LVs fixed, lin-ear, no-auto, read-only, skip-me, str-iped).
    use crate::config::ActivateFilter;
    use crate::engine::fixtures::graph;
    use crate::plan::build::*;
    use crate::plan::Plan;
    use crate::plan::Step;
    use crate::source::sparse::SparseDev;

    fn multi() -> crate::engine::Graph {
        let pv = |f: &str| {
            let p = format!(
                "{}/tests/fixtures/lvm/multi/{f}.spr",
                env!("CARGO_MANIFEST_DIR")
            );
            SparseDev::parse(&std::fs::read(p).unwrap()).unwrap()
        };
        graph(vec![("vda", pv("pv1")), ("vdb", pv("pv2"))], &[])
    }

    fn created(p: &Plan) -> Vec<String> {
        let mut v: Vec<String> = p
            .steps
            .iter()
            .filter_map(|s| match s {
                Step::CreateDm(d) => Some(d.volume.clone()),
                _ => None,
            })
            .collect();
        v.sort();
        v
    }

    #[test]
    fn everything_eligible_by_default() {
        let p = build(&multi(), &Selection::default());
        assert_eq!(
            created(&p),
            [
                "my-vg/fixed",
                "my-vg/lin-ear",
                "my-vg/no-auto",
                "my-vg/read-only",
                "my-vg/str-iped"
            ]
        );
        let skip = p
            .skipped
            .iter()
            .find(|s| s.volume == "my-vg/skip-me")
            .expect("skip-me is reported");
        assert!(skip.reason.contains("activation skip"), "{}", skip.reason);
        let ro = p.steps.iter().find_map(|s| match s {
            Step::CreateDm(d) if d.volume == "my-vg/read-only" => Some(d.read_only),
            _ => None,
        });
        assert_eq!(ro, Some(true));
    }

    #[test]
    fn named_volume_brings_only_its_chain() {
        let p = build(
            &multi(),
            &Selection {
                volumes: vec!["my-vg/lin-ear".into()],
                ..Selection::default()
            },
        );
        assert_eq!(created(&p), ["my-vg/lin-ear"]);
        let p = build(
            &multi(),
            &Selection {
                volumes: vec!["/dev/mapper/my--vg-str--iped".into()],
                ..Selection::default()
            },
        );
        assert_eq!(created(&p), ["my-vg/str-iped"]);
        let p = build(
            &multi(),
            &Selection {
                volumes: vec!["nosuch/lv".into()],
                ..Selection::default()
            },
        );
        assert!(p.steps.is_empty());
        assert_eq!(p.skipped[0].reason, "no such volume was found");
    }

    #[test]
    fn evms_conf_include_and_exclude() {
        // EVMS 2.4: the include list first, then exclude removes (globs on any of the names).
        let filter = |inc: &[&str], exc: &[&str]| Selection {
            filter: Some(ActivateFilter {
                include: inc.iter().map(|s| s.to_string()).collect(),
                exclude: exc.iter().map(|s| s.to_string()).collect(),
            }),
            ..Selection::default()
        };
        let p = build(
            &multi(),
            &filter(&["*"], &["my-vg/lin*", "/dev/evms/lvm2/my-vg/fixed"]),
        );
        assert_eq!(
            created(&p),
            ["my-vg/no-auto", "my-vg/read-only", "my-vg/str-iped"]
        );
        for v in ["my-vg/lin-ear", "my-vg/fixed"] {
            let s = p
                .skipped
                .iter()
                .find(|s| s.volume == v)
                .unwrap_or_else(|| panic!("{v} not reported"));
            assert!(s.reason.contains("excluded"), "{}", s.reason);
        }
        let p = build(&multi(), &filter(&["/dev/my-vg/str-iped"], &[]));
        assert_eq!(created(&p), ["my-vg/str-iped"]);
    }
}

mod partition {
    //! The lvmfaults/gptbad VM case (engine::fixtures::gptbad_system): vdd's primary GPT is
    //! gone, so the kernel makes no vdd1 unless booted with `gpt`.
    use crate::engine::fixtures::{gptbad_system, TempDir};
    use crate::engine::{discover, Graph, Settings};
    use crate::plan::build::{build, Selection};
    use crate::plan::Step;

    fn dm_steps(g: &Graph) -> Vec<(String, String, Vec<String>, Vec<String>)> {
        build(g, &Selection::default())
            .steps
            .iter()
            .filter_map(|s| match s {
                Step::CreateDm(d) => Some((
                    d.name.clone(),
                    d.uuid.clone(),
                    d.table.iter().map(|t| t.to_string()).collect(),
                    d.links.clone(),
                )),
                _ => None,
            })
            .collect()
    }

    /// The map kpartx made in the VM (oracle record lvmfaults/gptbad: `vdd1: 0 12288 linear
    /// vdd 2048`, UUID `part1-devnode_254:48_Wh5pYvM`), then the LV on it.
    #[test]
    fn backup_gpt_partitions_are_mapped_as_kpartx_does() {
        let t = TempDir::new();
        let g = discover(&gptbad_system(&t, &[], false), Settings::default());
        assert_eq!(
            dm_steps(&g),
            [
                (
                    "vdd1".to_string(),
                    "part1-devnode_254:48_Wh5pYvM".to_string(),
                    vec!["0 12288 linear 254:48 2048".to_string()],
                    vec![]
                ),
                (
                    "gp-l".to_string(),
                    "LVM-12d9388e44990fa5bc8fc1ea5e28efb2b0aaf84070d95559132e533d33c504aa"
                        .to_string(),
                    vec!["0 4096 linear vdd1 2048".to_string()],
                    vec!["gp/l".to_string(), "evms/lvm2/gp/l".to_string()]
                )
            ]
        );
    }

    /// Once the map exists (ours or kpartx's) it is that partition: nothing to create for it,
    /// and the LV is built on it.
    #[test]
    fn an_existing_kpartx_map_is_the_partition() {
        let t = TempDir::new();
        let g = discover(
            &gptbad_system(&t, &[("dm-0", "253:0", 2048, 12288)], true),
            Settings::default(),
        );
        let plan = build(&g, &Selection::default());
        assert_eq!(plan.active, ["vdd1"]);
        assert_eq!(
            dm_steps(&g)
                .iter()
                .map(|s| (s.0.as_str(), s.2.clone()))
                .collect::<Vec<_>>(),
            [("gp-l", vec!["0 4096 linear 253:0 2048".to_string()])]
        );
    }

    /// Booted with `gpt`, the kernel makes vdd1 from the backup itself: no map.
    #[test]
    fn a_kernel_partition_needs_no_map() {
        let t = TempDir::new();
        let g = discover(
            &gptbad_system(&t, &[("vdd1", "254:49", 2048, 12288)], false),
            Settings::default(),
        );
        assert_eq!(
            dm_steps(&g)
                .iter()
                .map(|s| (s.0.as_str(), s.2.clone()))
                .collect::<Vec<_>>(),
            [("gp-l", vec!["0 4096 linear 254:49 2048".to_string()])]
        );
    }
}

mod md {
    //! Halves of RAID1 arrays that ran apart (tests/fixtures/faults/splitbrain, made by
    //! tests/vm/scenarios/splitbrain.sh; the engine's verdicts are tested in engine/md.rs).
    use crate::engine::{fixtures, Graph};
    use crate::plan::build::{build, Selection};
    use crate::plan::{MdStep, MemberRole, Step};

    fn halves() -> Graph {
        let devs = ["vda", "vdb", "vdc", "vdd"]
            .iter()
            .map(|&n| (n, fixtures::disk("splitbrain", n)))
            .collect();
        fixtures::graph(devs, &[])
    }

    /// `fresh` starts from vdb alone, without --degraded (vdb's own superblock counts one
    /// working device); `even` (equal events, each half recording the other as failed) is
    /// skipped with the engine's reason.
    #[test]
    fn the_fresher_half_is_assembled_and_equal_halves_are_skipped() {
        let plan = build(&halves(), &Selection::default());
        let steps: Vec<&MdStep> = plan
            .steps
            .iter()
            .filter_map(|s| match s {
                Step::AssembleMd(m) => Some(m),
                _ => None,
            })
            .collect();
        assert_eq!(steps.len(), 1, "{plan}");
        assert_eq!(steps[0].name.as_deref(), Some("fresh"));
        assert!(steps[0].degraded && steps[0].missing == [0]);
        let members: Vec<(&str, MemberRole)> = steps[0]
            .members
            .iter()
            .map(|m| (m.dev.name(), m.role))
            .collect();
        assert_eq!(members, [("vdb", MemberRole::Active(1))]);
        assert!(plan.skipped.iter().any(|s| s.volume == "md/even"
            && s.reason == "not startable: split brain between vdc and vdd (see problems)"));
    }
}

mod lvm {
    //! VGs of tests/vm/scenarios/lvmfaults.sh as lvm2 2.03.16 wrote them
    //! (tests/fixtures/faults/lvmfaults): `two` on vda and vdb, `loop` on vdf with a PV inside
    //! its own LV `outer`.
    use super::walk::table_lines;
    use crate::engine::{fixtures, Graph};
    use crate::plan::build::{build, Selection};
    use crate::plan::Step;

    fn created(g: &Graph, sel: &Selection) -> Vec<String> {
        build(g, sel)
            .steps
            .iter()
            .map(|s| match s {
                Step::CreateDm(d) => d.name.clone(),
                Step::AssembleMd(m) => m.devnm.clone(),
                Step::RegisterBcache(b) => b.devnm.clone(),
            })
            .collect()
    }

    /// VG two of lvmfaults with vdb gone: with --partial, exactly the devices and tables lvm2
    /// 2.03.16 loaded with `--activationmode partial` (the committed oracle record of the
    /// lvmfaults/partial VM case); without it, the LVs on vdb are skipped with the reason.
    #[test]
    fn partial_areas_as_lvm2_maps_them() {
        let g = fixtures::lvmfaults(&["vda"], &[]);
        let partial = build(
            &g,
            &Selection {
                partial: true,
                ..Selection::default()
            },
        );
        let oracle =
            String::from_utf8(fixtures::read("oracle/lvmfaults/partial/dm-table")).unwrap();
        let want: Vec<String> = oracle
            .lines()
            .filter(|l| l.starts_with("two-"))
            .map(|l| l.trim_end().to_string())
            .collect();
        assert_eq!(table_lines(&partial, "two-"), want);
        // The stand-ins come before the LV that uses them, and are hidden sub-devices.
        let order: Vec<&str> = partial.steps.iter().map(Step::creates).collect();
        let pos = |n: &str| order.iter().position(|x| *x == n).unwrap();
        assert!(pos("two-st-missing_0_1") < pos("two-st"));
        let Step::CreateDm(m) = &partial.steps[pos("two-b-missing_0_0")] else {
            panic!()
        };
        assert_eq!(
            m.uuid,
            "LVM-b9c18e2a2bc01cbb9d88cd18aee5eb1ade6a675a908b0bd1ce839fcc010f3d11-missing_0_0"
        );
        assert!(!m.visible && m.links.is_empty());

        let plain = build(&g, &Selection::default());
        assert_eq!(
            table_lines(&plain, "two-"),
            ["two-a: 0 4096 linear vda 2048"]
        );
        for lv in ["two/b", "two/ab", "two/st"] {
            assert!(
                plain.skipped.iter().any(|s| s.volume == lv
                    && s.reason == "uses missing PV(s) pv1; activate with --partial"),
                "{lv}: {plain}"
            );
        }
    }

    /// LVs on the PV found inside the VG's own LV are not activated, not even with
    /// --partial; the rest of the VG is.
    #[test]
    fn lvs_on_a_pv_inside_their_own_vg_are_skipped() {
        let g = fixtures::lvmfaults(&["vdf"], &[]);
        for partial in [false, true] {
            let sel = Selection {
                partial,
                ..Selection::default()
            };
            assert_eq!(created(&g, &sel), ["loop-outer"]);
            assert!(build(&g, &sel)
                .skipped
                .iter()
                .any(|s| s.volume == "loop/inner"
                    && s.reason
                        .starts_with("metadata problem: its PV pv1 lies on loop/outer")));
        }
    }

    /// A cloned PV: nothing is activated from a guess; once the filter sets the clone aside,
    /// the whole VG is.
    #[test]
    fn a_cloned_pv_blocks_its_vg_until_one_is_excluded() {
        let devs = |ex: &[&str]| {
            fixtures::graph(
                vec![
                    ("vda", fixtures::disk("lvmfaults", "vda")),
                    ("vdb", fixtures::disk("lvmfaults", "vdb")),
                    ("vdc", fixtures::disk("lvmfaults", "vda")),
                ],
                ex,
            )
        };
        assert!(created(&devs(&[]), &Selection::default()).is_empty());
        assert_eq!(
            created(&devs(&["/dev/vdc"]), &Selection::default()),
            ["two-a", "two-b", "two-ab", "two-st"]
        );
    }

    /// A locked volume is planned with its table (key hidden), crypttab's name and options, the
    /// DM UUID cryptsetup gives it, and "needs passphrase"; exec refuses to load it.
    #[test]
    fn locked_volumes_are_planned_and_marked() {
        use crate::config::crypttab::Crypttab;
        use crate::engine::{discover, Inputs, Settings};
        use crate::source::layout::Src;
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/luks");
        let fx = root.join("luks2-4k-flags");
        let dev: Src = std::sync::Arc::new(
            crate::source::sparse::SparseDev::parse(&std::fs::read(fx.join("disk.spr")).unwrap())
                .unwrap(),
        );
        let r = |f: &str| {
            std::fs::read_to_string(fx.join(f))
                .unwrap()
                .trim()
                .to_string()
        };
        let tab = format!(
            "cryptsetup-name /dev/vda none {},luks",
            r("options")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(",")
        );
        let settings = Settings {
            crypttab: Crypttab::parse(&tab, "t").entries,
            ..Settings::default()
        };
        let g = discover(&Inputs::Mem(vec![("vda".into(), dev)]), settings);
        let plan = crate::plan::build::build(&g, &crate::plan::Selection::default());
        let [crate::plan::Step::CreateDm(d)] = &plan.steps[..] else {
            panic!("{plan}")
        };
        // cryptsetup's table for the same header and options, its device written as plan
        // writes an image's.
        let want = r("table-hidden").replace(&format!(" {} ", r("devno")), " vda ");
        assert_eq!(d.table[0].to_string(), want);
        assert_eq!(d.name, "cryptsetup-name");
        let info = r("info");
        assert_eq!(
            d.uuid,
            info.split_once(':')
                .unwrap()
                .1
                .replace("luks2-4k-flags", "cryptsetup-name")
        );
        let text = plan.to_string();
        assert!(text.contains("      luks LUKS2 aes-xts-plain64 512-bit key, 4096-byte sectors; keyslot 0 argon2id\n      needs passphrase\n"), "{text}");
        let crate::plan::Target::Crypt(c) = &d.table[0].target else {
            panic!()
        };
        assert!(matches!(c.secret, crate::plan::dm::crypt::Secret::Locked));
        assert!(plan
            .to_json()
            .to_string()
            .contains("\"needs_passphrase\":true"));
        // crypttab noauto: left out unless named.
        let dev: Src = std::sync::Arc::new(
            crate::source::sparse::SparseDev::parse(&std::fs::read(fx.join("disk.spr")).unwrap())
                .unwrap(),
        );
        let settings = Settings {
            crypttab: Crypttab::parse("c /dev/vda none noauto", "t").entries,
            ..Settings::default()
        };
        let g = discover(&Inputs::Mem(vec![("vda".into(), dev)]), settings);
        let plan = crate::plan::build::build(&g, &crate::plan::Selection::default());
        assert!(plan.steps.is_empty());
        assert_eq!(
            plan.skipped[0].reason,
            "locked; crypttab says noauto: opened only when named"
        );
        let sel = crate::plan::Selection {
            volumes: vec!["c".into()],
            ..Default::default()
        };
        assert_eq!(crate::plan::build::build(&g, &sel).steps.len(), 1);
    }
}

mod families {
    //! Thin, snapshot, cache, writecache, error and zero LVs over the metadata of the VM
    //! scenarios lvthin, lvsnap and lvcache (lvm2 2.03.16 and the kernel wrote them;
    //! tests/fixtures/lvm/segfam/cut.py), planned and compared with what lvm2 loaded for the
    //! same disks: the committed oracle records tests/fixtures/oracle/S/CASE/{dm-table,dm-info}.
    use super::walk::table_lines;
    use crate::engine::fixtures::{graph, read};
    use crate::engine::Graph;
    use crate::plan::build::*;
    use crate::plan::{Plan, Step};
    use crate::source::sparse::SparseDev;

    fn disk(scen: &str) -> SparseDev {
        SparseDev::parse(&read(&format!("lvm/segfam/{scen}.spr"))).unwrap()
    }

    fn oracle(scen: &str, case: &str, file: &str) -> Vec<String> {
        String::from_utf8(read(&format!("oracle/{scen}/{case}/{file}")))
            .unwrap()
            .lines()
            // `dmsetup table` prints "error " / "zero " with a trailing blank.
            .map(|l| l.trim_end().to_string())
            .collect()
    }

    /// `NAME UUID r|w` of every DM step, sorted: the oracle's dm-info without its counts.
    fn info(p: &Plan) -> Vec<String> {
        let mut v: Vec<String> = p
            .steps
            .iter()
            .filter_map(|s| match s {
                Step::CreateDm(d) => Some(format!(
                    "{} {} {}",
                    d.name,
                    d.uuid,
                    if d.read_only { 'r' } else { 'w' }
                )),
                _ => None,
            })
            .collect();
        v.sort();
        v
    }

    fn oracle_info(scen: &str, case: &str) -> Vec<String> {
        oracle(scen, case, "dm-info")
            .iter()
            .map(|l| {
                let f: Vec<&str> = l.split(' ').collect();
                format!("{} {} {}", f[0], f[1], &f[2][3..4])
            })
            .collect()
    }

    fn check(g: &Graph, sel: &Selection, scen: &str, case: &str) -> Plan {
        let p = build(g, sel);
        assert_eq!(
            table_lines(&p, ""),
            oracle(scen, case, "dm-table"),
            "{scen}/{case}:\n{p}"
        );
        assert_eq!(info(&p), oracle_info(scen, case), "{scen}/{case}");
        p
    }

    fn named(v: &str) -> Selection {
        Selection {
            volumes: vec![v.into()],
            ..Selection::default()
        }
    }

    /// Pools with every feature word, a new pool, thin LVs, an external origin; the thin
    /// snapshot's activation skip; one thin LV alone brings only its pool's layers.
    #[test]
    fn thin_as_lvm2_activates_it() {
        let g = graph(vec![("vda", disk("lvthin"))], &[]);
        let p = check(&g, &Selection::default(), "lvthin", "all");
        assert!(p
            .skipped
            .iter()
            .any(|s| s.volume == "vgt/snap1" && s.reason.starts_with("activation skip")));
        // The links lvm2 made: visible LVs, not the used pools' placeholders.
        let mut links: Vec<&str> = p
            .steps
            .iter()
            .filter_map(|s| match s {
                Step::CreateDm(d) => d.links.first().map(String::as_str),
                _ => None,
            })
            .collect();
        links.sort();
        assert_eq!(
            links,
            [
                "vgt/ext",
                "vgt/extthin",
                "vgt/pool3",
                "vgt/thin1",
                "vgt/thin2"
            ]
        );
        let k = Selection {
            ignore_activation_skip: true,
            ..Selection::default()
        };
        check(&g, &k, "lvthin", "skip");
        check(&g, &named("vgt/thin1"), "lvthin", "thin1");
        let mut m = p.modules();
        m.sort();
        assert_eq!(m, ["dm-mod", "dm-thin-pool"]);
    }

    /// A pool whose metadata superblock says needs_check is refused with the reason; what
    /// does not use it is planned as before.
    #[test]
    fn a_pool_marked_needs_check_is_refused() {
        let mut d = disk("lvthin");
        // vgt-pool_tmeta starts at sector 22528 of vda (the oracle's table).
        let off = 22528 * 512;
        let mut b = d.get(off, crate::formats::thin::BLOCK);
        b[4] |= 1;
        let c = crate::formats::thin::block_checksum(&b[4..]);
        b[..4].copy_from_slice(&c.to_le_bytes());
        d.patch(off, &b);
        let g = graph(vec![("vda", d)], &[]);
        let p = build(&g, &Selection::default());
        let why = |v: &str| {
            p.skipped
                .iter()
                .find(|s| s.volume == v)
                .map(|s| s.reason.clone())
                .unwrap_or_default()
        };
        let want = "thin pool vgt/pool: its metadata (vgt/pool_tmeta) is marked needs_check: not activated";
        assert!(why("vgt/pool").starts_with(want), "{}", why("vgt/pool"));
        assert!(why("vgt/thin1").starts_with(want), "{}", why("vgt/thin1"));
        let t = table_lines(&p, "");
        assert!(t
            .iter()
            .all(|l| !l.starts_with("vgt-pool:") && !l.starts_with("vgt-thin1:")));
        assert!(t.iter().any(|l| l.starts_with("vgt-thin2: ")));
        // A transaction id that is not the metadata's is refused as libdm refuses it.
        let mut d = disk("lvthin");
        let mut b = d.get(off, crate::formats::thin::BLOCK);
        b[48] = 7;
        let c = crate::formats::thin::block_checksum(&b[4..]);
        b[..4].copy_from_slice(&c.to_le_bytes());
        d.patch(off, &b);
        let p = build(&graph(vec![("vda", d)], &[]), &named("vgt/thin1"));
        assert_eq!(
            p.skipped[0].reason,
            "thin pool vgt/pool: transaction_id is 7, while expected 2 (refused, as lvm2 refuses it)"
        );
        assert!(p.steps.is_empty());
    }

    /// Origins under snapshot-origin with their -real layer, snapshots over -cow, the merge
    /// pending since `lvconvert --merge` of an open origin resumed as snapshot-merge with the
    /// merging snapshot on error, an invalid snapshot loaded as any; a snapshot named alone
    /// brings its origin.
    #[test]
    fn snapshots_as_lvm2_activates_them() {
        let g = graph(vec![("vda", disk("lvsnap"))], &[]);
        let p = check(&g, &Selection::default(), "lvsnap", "all");
        assert_eq!(p.modules(), ["dm-mod", "dm-snapshot"]);
        check(&g, &named("vgs/snap"), "lvsnap", "snap");
    }

    /// Cache pools (writethrough, passthrough), a cachevol (writeback; lvm2 2.03.16 loads
    /// policy `mq` for it), writecache with settings, error and zero.
    #[test]
    fn cache_as_lvm2_activates_it() {
        let g = graph(vec![("vda", disk("lvcache"))], &[]);
        let p = check(&g, &Selection::default(), "lvcache", "all");
        let mut m = p.modules();
        m.sort();
        assert_eq!(
            m,
            [
                "dm-cache",
                "dm-cache-smq",
                "dm-mod",
                "dm-writecache",
                "dm-zero"
            ]
        );
        check(&g, &named("vgc/cached"), "lvcache", "cached");
    }
}

mod vg_access {
    //! VGs lvm2 refuses (tests/fixtures/lvm/gen.sh `access`, made by lvm2 2.03.16): `expvg`
    //! exported, `shrvg` shared (lock_type dlm). Our reasons quote what lvm2 says of each
    //! (`expected.messages`, `vgchange -ay` there) and say what lvm2 would need.
    use crate::engine::fixtures::graph;
    use crate::engine::lvm::Access;
    use crate::plan::build::*;
    use crate::source::sparse::SparseDev;

    fn access() -> (crate::engine::Graph, Vec<String>) {
        let path = |f: &str| {
            format!(
                "{}/tests/fixtures/lvm/access/{f}",
                env!("CARGO_MANIFEST_DIR")
            )
        };
        let pv = |f: &str| SparseDev::parse(&std::fs::read(path(f)).unwrap()).unwrap();
        let said = std::fs::read_to_string(path("expected.messages")).unwrap();
        (
            graph(vec![("vda", pv("pv1.spr")), ("vdb", pv("pv2.spr"))], &[]),
            said.lines().map(|l| l.trim().to_string()).collect(),
        )
    }

    #[test]
    fn exported_and_shared_vgs_are_refused_as_lvm2_refuses_them() {
        let (g, said) = access();
        let vg = |n: &str| g.vgs.iter().find(|v| v.name == n).unwrap();
        assert_eq!(vg("expvg").access, Access::Exported);
        assert_eq!(vg("shrvg").access, Access::Shared("dlm".into()));
        for volumes in [vec![], vec!["expvg".to_string(), "shrvg/data".to_string()]] {
            let plan = build(
                &g,
                &Selection {
                    volumes,
                    ..Selection::default()
                },
            );
            assert!(plan.steps.is_empty(), "{plan}");
            let reason = |v: &str| {
                plan.skipped
                    .iter()
                    .find(|s| s.volume == v)
                    .map(|s| s.reason.clone())
                    .unwrap_or_else(|| panic!("{v} not skipped: {plan}"))
            };
            let exp = reason("expvg/data");
            assert!(
                exp.contains(&format!("\"{}\"", said[0])),
                "{exp} / {}",
                said[0]
            );
            assert!(exp.contains("vgimport expvg"), "{exp}");
            let shr = reason("shrvg/data");
            assert!(
                shr.contains(&format!("\"{}\"", said[1])),
                "{shr} / {}",
                said[1]
            );
            assert!(shr.contains("lvmlockd") && shr.contains("vgchange --lockstart shrvg"));
        }
    }
}

mod modules {
    //! The kernel modules each step names (text and JSON), over lvm2- and mdadm-made
    //! fixtures; the per-target lists are tested in plan/dm.rs.
    use crate::engine::fixtures;
    use crate::plan::build::{build, Selection};
    use crate::plan::{MdReshape, MdStep, Step};

    /// Every step says what it needs, and the plan's list is their union in step order.
    #[test]
    fn every_step_names_its_modules() {
        let devs = ["vda", "vdb"]
            .iter()
            .map(|&n| (n, fixtures::disk("splitbrain", n)))
            .collect();
        let g = fixtures::graph(devs, &[]);
        let plan = build(&g, &Selection::default());
        let md = plan
            .steps
            .iter()
            .find_map(|s| match s {
                Step::AssembleMd(m) => Some(m),
                _ => None,
            })
            .expect("an md step");
        assert_eq!(md.modules(), ["md-mod", "raid1"]);
        let text = plan.to_string();
        assert!(text.contains("\n      modules md-mod raid1\n"), "{text}");
        let json = plan.to_json();
        assert_eq!(
            json["steps"][0]["modules"],
            serde_json::json!(["md-mod", "raid1"])
        );
        let g = fixtures::lvmfaults(&["vda", "vdb"], &[]);
        let plan = build(&g, &Selection::default());
        assert!(!plan.steps.is_empty());
        for s in &plan.steps {
            assert_eq!(s.modules(), ["dm-mod"], "{s:?}");
        }
        assert!(plan.to_string().contains("      modules dm-mod\n"));
        assert_eq!(plan.modules(), ["dm-mod"]);
    }

    /// A reshape to another level needs that level's personality too.
    #[test]
    fn a_reshape_names_the_new_level() {
        let mut m = MdStep {
            key: "md:x".into(),
            uuid: crate::ids::MdUuid([1; 16]),
            metadata: "1.2".into(),
            devnm: "md127".into(),
            name: None,
            level: "raid1".into(),
            raid_disks: 2,
            members: vec![],
            missing: vec![],
            degraded: false,
            size: 0,
            features: vec![],
            reshape: None,
            stripe_cache_size: None,
        };
        assert_eq!(m.modules(), ["md-mod", "raid1"]);
        m.level = "raid5".into();
        m.reshape = Some(MdReshape {
            position: 0,
            new_level: "raid6".into(),
            delta_disks: 1,
            new_layout: 18,
            new_chunk_sectors: 128,
            new_offset: -2048,
            backwards: false,
        });
        assert_eq!(m.modules(), ["md-mod", "raid456"]);
        m.level = "raid10".into();
        m.reshape.as_mut().unwrap().new_level = "raid0".into();
        assert_eq!(m.modules(), ["md-mod", "raid10", "raid0"]);
    }
}

mod external_md {
    //! IMSM and DDF members as mdadm 4.2 wrote them in the VM (tests/vm/ident-fixtures.sh):
    //! reported with what assembling them takes, never planned.
    use crate::engine::fixtures::{graph, read};
    use crate::plan::build::{build, Selection};
    use crate::source::sparse::SparseDev;

    #[test]
    fn firmware_raid_members_are_reported_with_what_they_need() {
        let disk = |f: &str| SparseDev::parse(&read(&format!("fs/{f}/disk.spr"))).unwrap();
        let g = graph(vec![("vda", disk("imsm")), ("vdb", disk("ddf"))], &[]);
        for sel in [
            Selection::default(),
            Selection {
                volumes: vec!["vda".into(), "vdb".into()],
                ..Selection::default()
            },
        ] {
            let plan = build(&g, &sel);
            assert!(plan.steps.is_empty(), "{plan}");
            let reason = |v: &str| {
                plan.skipped
                    .iter()
                    .find(|s| s.volume == v)
                    .map(|s| s.reason.clone())
                    .unwrap_or_else(|| panic!("{v}: {plan}"))
            };
            let imsm = reason("vda");
            assert!(
                imsm.starts_with("an Intel IMSM RAID member (its arrays need mdadm with mdmon): external metadata (imsm version 1.1.00)"),
                "{imsm}"
            );
            assert!(imsm.contains("starts mdmon") && imsm.contains("does not assemble"));
            let ddf = reason("vdb");
            assert!(ddf.starts_with("a DDF RAID member"), "{ddf}");
            assert!(ddf.contains("external metadata (ddf"), "{ddf}");
        }
        // Named by something else: not reported.
        let plan = build(
            &g,
            &Selection {
                volumes: vec!["vdb".into()],
                ..Selection::default()
            },
        );
        assert!(!plan.skipped.iter().any(|s| s.volume == "vda"), "{plan}");
    }
}

mod md_features {
    //! Assembly steps for the VM scenarios mdfeatures and mdreshape (tests/fixtures/md/features):
    //! roles, mdadm's member order, what the kernel takes from the superblocks, the reshape.
    use crate::engine::md::features::graph;
    use crate::plan::build::{build, Selection};
    use crate::plan::{MdStep, MemberRole, Plan, Step};

    fn md_steps(p: &Plan) -> Vec<&MdStep> {
        p.steps
            .iter()
            .filter_map(|s| match s {
                Step::AssembleMd(m) => Some(m),
                _ => None,
            })
            .collect()
    }

    fn members(m: &MdStep) -> Vec<(&str, MemberRole)> {
        m.members.iter().map(|x| (x.dev.name(), x.role)).collect()
    }

    fn step<'a>(p: &'a Plan, name: &str) -> &'a MdStep {
        md_steps(p)
            .into_iter()
            .find(|m| m.name.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("no step for {name}: {p}"))
    }

    /// Each member with its role, in mdadm's order (a replacement after the slot it
    /// replaces, spares and journal after the slots, the chosen drive last), and what the
    /// kernel takes from the superblocks said in the plan.
    #[test]
    fn features_are_planned_as_mdadm_assembles_them() {
        let plan = build(&graph("mdfeatures", &[]), &Selection::default());
        assert_eq!(md_steps(&plan).len(), 4, "{plan}");
        assert_eq!(
            members(step(&plan, "bmp")),
            [
                ("vdb1", MemberRole::Active(1)),
                ("vdc1", MemberRole::Spare),
                ("vda1", MemberRole::Active(0)),
            ]
        );
        assert_eq!(
            members(step(&plan, "jrn")),
            [
                ("vdb2", MemberRole::Active(1)),
                ("vdc2", MemberRole::Active(2)),
                ("vdd1", MemberRole::Journal),
                ("vda2", MemberRole::Active(0)),
            ]
        );
        assert_eq!(
            members(step(&plan, "rpl")),
            [
                ("vdd2", MemberRole::Replacement(0)),
                ("vdb3", MemberRole::Active(1)),
                ("vda3", MemberRole::Active(0)),
            ]
        );
        assert_eq!(
            step(&plan, "bmp").features,
            ["write-intent bitmap internal, +8 sectors from the superblock (the kernel loads it)"]
        );
        assert_eq!(
            step(&plan, "jrn").features,
            ["write journal on vdd1 (the kernel replays it)"]
        );
        assert_eq!(
            step(&plan, "bbl").features,
            ["bad block list on vdc4 (the kernel loads it)"]
        );
        assert!(step(&plan, "rpl").features.is_empty());
        let text = plan.to_string();
        assert!(
            text.contains("      add vdd2 as replacement for slot 0 (events "),
            "{text}"
        );
        let json = plan.to_json();
        let rpl = json["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == "rpl")
            .unwrap();
        assert_eq!(rpl["members"][0]["role"], "replacement");
        assert_eq!(rpl["members"][0]["replaces"], 0);
    }

    /// The reshape resumes: the step carries what the superblocks record and nothing for
    /// exec to do but run the array (a 64 KiB chunk needs no bigger stripe cache); members
    /// in mdadm's order, slot 0 (the chosen drive) last.
    #[test]
    fn a_reshape_is_handed_to_the_kernel() {
        let plan = build(&graph("mdreshape", &[]), &Selection::default());
        let m = md_steps(&plan);
        assert_eq!(m.len(), 1, "{plan}");
        let r = m[0].reshape.as_ref().expect("a reshape");
        assert_eq!(
            (
                r.position,
                r.delta_disks,
                r.new_offset,
                r.new_level.as_str()
            ),
            (1920, 1, -384, "raid5")
        );
        assert_eq!(m[0].stripe_cache_size, None);
        assert_eq!(
            members(m[0]),
            [
                ("vdb", MemberRole::Active(1)),
                ("vdc", MemberRole::Active(2)),
                ("vdd", MemberRole::Active(3)),
                ("vda", MemberRole::Active(0)),
            ]
        );
        assert!(plan.to_string().contains(
            "      reshape resumes at sector 1920 (to raid5, +1 disk(s), layout 2, chunk 64 KiB, data offset -384 sectors)\n"
        ));
    }
}

mod segments {
    //! The LVM segment scenarios (tests/vm/scenarios/lvraid.sh, lvraiddeg.sh, lvmirror.sh,
    //! pvmove.sh): their metadata as lvm2 2.03.16 wrote it (tests/fixtures/lvm-raid), planned
    //! and compared with what lvm2 loaded for the same disks in the VM (the committed oracle
    //! records: `dmsetup table` with devices by name, `dmsetup info` names, UUIDs and
    //! read-only flags).
    use super::walk::table_lines;
    use crate::engine::{fixtures, Graph};
    use crate::plan::build::{build, Selection};
    use crate::plan::dm::comparable;
    use crate::plan::{Plan, Step};

    fn oracle(scen: &str, case: &str, file: &str) -> Vec<String> {
        String::from_utf8(fixtures::read(&format!("oracle/{scen}/{case}/{file}")))
            .unwrap()
            .lines()
            .map(|l| l.trim_end().to_string())
            .collect()
    }

    /// Every table line, name, UUID and read-only flag of the plan equals the record's; the
    /// devices a table refers to come before it.
    fn same_as_oracle(plan: &Plan, scen: &str, case: &str) {
        let want = oracle(scen, case, "dm-table");
        let got = table_lines(plan, "");
        assert_eq!(
            comparable_named(&got),
            comparable_named(&want),
            "{scen}/{case}: {plan}"
        );
        let mut info: Vec<String> = plan
            .steps
            .iter()
            .filter_map(|s| match s {
                Step::CreateDm(d) => Some(format!(
                    "{} {} {}",
                    d.name,
                    d.uuid,
                    if d.read_only { "r" } else { "w" }
                )),
                _ => None,
            })
            .collect();
        info.sort();
        let want: Vec<String> = oracle(scen, case, "dm-info")
            .iter()
            .map(|l| {
                let f: Vec<&str> = l.split(' ').collect();
                format!("{} {} {}", f[0], f[1], &f[2][3..])
            })
            .collect();
        assert_eq!(info, want, "{scen}/{case}: names, UUIDs, read-only");
        let order: Vec<&str> = plan.steps.iter().map(Step::creates).collect();
        for (i, s) in plan.steps.iter().enumerate() {
            for d in s.needs() {
                if let Some(j) = order.iter().position(|n| *n == d.name()) {
                    assert!(j < i, "{scen}/{case}: {} before {}", order[i], d.name());
                }
            }
        }
    }

    /// `NAME: LINE` with the line made comparable (dm-raid's write-behind).
    fn comparable_named(lines: &[String]) -> Vec<String> {
        lines
            .iter()
            .map(|l| {
                let (n, t) = l.split_once(": ").unwrap();
                format!("{n}: {}", comparable(&[t.to_string()])[0])
            })
            .collect()
    }

    fn lvraid() -> Graph {
        fixtures::lvm_raid("lvraid", &["vda", "vdb", "vdc", "vdd", "vde"])
    }

    /// raid0, raid0_meta, raid1 (with region size, recovery rates, write-mostly and
    /// write-behind, rebuild), raid4, raid5 and raid6 in every layout, raid10: exactly the
    /// devices and tables lvm2 made for `vgchange -ay`.
    #[test]
    fn raid_lvs_as_lvm2_loads_them() {
        let plan = build(&lvraid(), &Selection::default());
        same_as_oracle(&plan, "lvraid", "all");
        assert!(plan.skipped.is_empty(), "{plan}");
        // Sub-LVs: hidden, no /dev/VG link, lvm2's udev flags for them.
        for s in &plan.steps {
            let Step::CreateDm(d) = s else { continue };
            let sub = d.name.contains("_rimage_") || d.name.contains("_rmeta_");
            assert_eq!(d.visible, !sub, "{}", d.name);
            assert_eq!(d.links.is_empty(), sub, "{}", d.name);
            assert_eq!(d.udev_flags, if sub { 0x0e } else { 0 }, "{}", d.name);
        }
    }

    /// The modules a plan names: dm-raid with the MD personalities its arrays run on (no
    /// modprobe in the initramfs to load them on the kernel's request), dm-mirror with dm-log.
    #[test]
    fn modules_for_raid_and_mirror() {
        let m = build(&lvraid(), &Selection::default()).modules();
        assert_eq!(
            m,
            ["dm-mod", "dm-raid", "raid1", "raid0", "raid456", "raid10"]
        );
        let r5 = build(
            &lvraid(),
            &Selection {
                volumes: vec!["vgr/r5".into()],
                ..Selection::default()
            },
        );
        assert_eq!(r5.modules(), ["dm-mod", "dm-raid", "raid456"]);
        let g = fixtures::lvm_raid("lvmirror", &["vda", "vdb", "vdc", "vdd"]);
        assert_eq!(
            build(&g, &Selection::default()).modules(),
            ["dm-mod", "dm-mirror", "dm-log"]
        );
    }

    /// One LV named: its own sub-LVs and nothing else (lvraid/r5: `lvchange -ay vgr/r5`).
    #[test]
    fn one_raid_lv_brings_its_sub_lvs_only() {
        let plan = build(
            &lvraid(),
            &Selection {
                volumes: vec!["vgr/r5".into()],
                ..Selection::default()
            },
        );
        same_as_oracle(&plan, "lvraid", "r5");
    }

    /// The raid line of `lv` planned from lvraid's metadata after `edit` changed it: the
    /// parameters lvm2 emits only in states no VM scenario leaves behind (a reshape, an
    /// image split off with --trackchanges), built as `_raid_add_target_line` and
    /// `_raid_emit_segment_line` build them.
    fn edited_line(lv: &str, edit: impl Fn(&mut crate::formats::lvm::vg::Vg)) -> String {
        let mut g = lvraid();
        edit(std::sync::Arc::make_mut(&mut g.vgs[0].vg));
        let plan = build(
            &g,
            &Selection {
                volumes: vec![format!("vgr/{lv}")],
                ..Selection::default()
            },
        );
        line_of(&plan, lv)
    }

    fn line_of(plan: &Plan, lv: &str) -> String {
        let want = format!("vgr-{lv}: ");
        table_lines(plan, "")
            .into_iter()
            .filter(|l| l.starts_with(&want))
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn image_flag(vg: &mut crate::formats::lvm::vg::Vg, name: &str, f: crate::formats::lvm::Flags) {
        let l = vg.lvs.iter_mut().find(|l| l.name == name).unwrap();
        l.status.insert(f);
    }

    #[test]
    fn reshape_and_tracking_parameters() {
        use crate::formats::lvm::vg::SegKind;
        use crate::formats::lvm::Flags;
        // Two images being added by a reshape.
        let l = edited_line("r5", |vg| {
            image_flag(vg, "r5_rimage_1", Flags::RESHAPE_DELTA_DISKS_PLUS);
            image_flag(vg, "r5_rimage_2", Flags::RESHAPE_DELTA_DISKS_PLUS);
        });
        assert!(
            l.contains(" raid5_ls 5 128 region_size 4096 delta_disks 2 3 "),
            "{l}"
        );
        let l = edited_line("r5", |vg| {
            image_flag(vg, "r5_rimage_2", Flags::RESHAPE_DELTA_DISKS_MINUS)
        });
        assert!(
            l.contains(" raid5_ls 5 128 region_size 4096 delta_disks -1 3 "),
            "{l}"
        );
        // data_offset as written: 0 (stored as 1 by lvm2) and 1 both give 0.
        for (written, want) in [(0, 0), (1, 0), (4096, 4096)] {
            let l = edited_line("r5", |vg| {
                let lv = vg.lvs.iter_mut().find(|l| l.name == "r5").unwrap();
                let SegKind::Raid(r) = &mut lv.segments[0].kind else {
                    panic!()
                };
                r.data_offset = Some(written);
            });
            assert!(
                l.contains(&format!(
                    " raid5_ls 5 128 region_size 4096 data_offset {want} 3 "
                )),
                "{l}"
            );
        }
        // An image split off and tracked: `- -`, and not brought up.
        let mut g = lvraid();
        let img = std::sync::Arc::make_mut(&mut g.vgs[0].vg)
            .lvs
            .iter_mut()
            .find(|l| l.name == "r1_rimage_1")
            .unwrap();
        img.status.insert(Flags::VISIBLE);
        img.status.remove(Flags::WRITE);
        let plan = build(
            &g,
            &Selection {
                volumes: vec!["vgr/r1".into()],
                ..Selection::default()
            },
        );
        let l = line_of(&plan, "r1");
        assert!(l.ends_with(" 2 vgr-r1_rmeta_0 vgr-r1_rimage_0 - -"), "{l}");
        assert!(!plan.steps.iter().any(|s| s.creates() == "vgr-r1_rimage_1"));
        // Both kinds of reshape flags at once: refused, as lvm2 does.
        let mut g = lvraid();
        image_flag(
            std::sync::Arc::make_mut(&mut g.vgs[0].vg),
            "r5_rimage_1",
            Flags::RESHAPE_DELTA_DISKS_PLUS,
        );
        image_flag(
            std::sync::Arc::make_mut(&mut g.vgs[0].vg),
            "r5_rimage_2",
            Flags::RESHAPE_DELTA_DISKS_MINUS,
        );
        let plan = build(
            &g,
            &Selection {
                volumes: vec!["vgr/r5".into()],
                ..Selection::default()
            },
        );
        assert!(plan.skipped.iter().any(|s| s.volume == "vgr/r5"
            && s.reason == "RAID images flagged both to be added and removed by a reshape"));
    }

    fn lvraiddeg(with_vdc: bool) -> Graph {
        let names: &[&str] = if with_vdc {
            &["vda", "vdb", "vdc", "vdd"]
        } else {
            &["vda", "vdb", "vdd"]
        };
        fixtures::lvm_raid("lvraiddeg", names)
    }

    /// PV vdc missing: lvm2's default "degraded" mode brings up the RAID LVs that keep
    /// their redundancy, with the missing images' areas mapped to error devices, and refuses
    /// the linear LV; `--partial` maps everything.
    #[test]
    fn degraded_raid_as_lvm2_activates_it() {
        let g = lvraiddeg(false);
        let plan = build(&g, &Selection::default());
        same_as_oracle(&plan, "lvraiddeg", "deg");
        assert!(plan.skipped.iter().any(|s| s.volume == "vgd/lin"
            && s.reason == "uses missing PV(s) pv2; activate with --partial"));
        let partial = build(
            &g,
            &Selection {
                partial: true,
                ..Selection::default()
            },
        );
        same_as_oracle(&partial, "lvraiddeg", "partial");
    }

    /// Too much lost for lvm2's degraded mode: a raid10 mirror group (images 2 and 3 on vdc
    /// and vdd), a raid5 with two images gone (vdb and vdc); what keeps a copy still starts.
    #[test]
    fn degraded_mode_refuses_what_lost_its_redundancy() {
        let skipped = |names: &[&str]| {
            let plan = build(
                &fixtures::lvm_raid("lvraiddeg", names),
                &Selection::default(),
            );
            let mut v: Vec<String> = plan
                .skipped
                .iter()
                .map(|s| format!("{}: {}", s.volume, s.reason))
                .collect();
            v.sort();
            (v, plan)
        };
        let (v, plan) = skipped(&["vda", "vdb"]);
        assert_eq!(
            v,
            [
                "vgd/lin: uses missing PV(s) pv2; activate with --partial",
                "vgd/r10: uses missing PV(s) pv3, pv2: an entire mirror group has failed; activate with --partial",
            ],
            "{plan}"
        );
        let (v, plan) = skipped(&["vda", "vdd"]);
        assert_eq!(
            v,
            [
                "vgd/lin: uses missing PV(s) pv2; activate with --partial",
                "vgd/r5: uses missing PV(s) pv2, pv1: 2 of its images are on missing PVs, more than raid5's 1 parity; activate with --partial",
            ],
            "{plan}"
        );
        assert!(plan.steps.iter().any(|s| s.creates() == "vgd-r10"));
    }

    /// At boot, within the degraded grace period, the RAID LVs missing images wait (as MD
    /// arrays do); the intact one comes up.
    #[test]
    fn degraded_raid_waits_while_boot_holds_it() {
        let plan = build(
            &lvraiddeg(false),
            &Selection {
                hold_degraded: true,
                ..Selection::default()
            },
        );
        for lv in ["vgd/r1", "vgd/r5", "vgd/r10"] {
            assert!(
                plan.skipped.iter().any(|s| s.volume == lv
                    && s.reason == "a RAID image is on missing PV(s) pv2: waiting for them, then degraded start"),
                "{lv}: {plan}"
            );
        }
        assert!(plan.steps.iter().any(|s| s.creates() == "vgd-r1ok"));
        // With every PV there, nothing is held.
        let all = build(
            &lvraiddeg(true),
            &Selection {
                hold_degraded: true,
                ..Selection::default()
            },
        );
        assert!(all.skipped.is_empty(), "{all}");
    }

    /// Disk, core and mirrored logs, 3 legs, --nosync, read-only: as lvm2 loads them.
    #[test]
    fn mirrors_as_lvm2_loads_them() {
        let g = fixtures::lvm_raid("lvmirror", &["vda", "vdb", "vdc", "vdd"]);
        same_as_oracle(&build(&g, &Selection::default()), "lvmirror", "all");
        let one = build(
            &g,
            &Selection {
                volumes: vec!["vgm/mmir".into()],
                ..Selection::default()
            },
        );
        same_as_oracle(&one, "lvmirror", "mmir");
    }

    /// An interrupted pvmove: pvmove0 with a copied, a running and a waiting segment, the
    /// locked LVs on it, as `vgchange -ay --sysinit` loads them.
    #[test]
    fn interrupted_pvmove_as_lvm2_loads_it() {
        let g = fixtures::lvm_raid("pvmove", &["vda", "vdb", "vdc"]);
        let plan = build(&g, &Selection::default());
        same_as_oracle(&plan, "pvmove", "all");
        // pvmove0 once, although three LVs use it.
        assert_eq!(
            plan.steps
                .iter()
                .filter(|s| s.creates() == "vgp-pvmove0")
                .count(),
            1
        );
    }
}
