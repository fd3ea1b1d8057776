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
                Step::AssembleMd(_) => None,
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
                Step::CreateDm(_) => None,
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
