//! exec/ against a real kernel. Built only with `--features vm-tests` (host `cargo test`
//! compiles this file to nothing) and run inside the VM by tests/vm/exec/run.sh: each test is
//! one phase, started by name by the guest script, which compares the kernel state with what
//! mdadm and lvm2 made from the same disks (the oracle) between phases.
//!
//! The scenario (tests/vm/exec/guest.sh) made, with the real tools:
//!   vda + vdb  → md RAID1 "r1" (metadata 1.2), assembled by mdadm as md127
//!   md127, vdc, vdd → PVs of vg0 (4 MiB extents, data at sector 2048)
//!   vg0/lin    8 MiB linear on md127, PE 0-1            (ext4)
//!   vg0/str   16 MiB striped -i2 -I64k on vdc, vdd, PE 0-1 each
//!   vg0/multi  8 MiB: 4 MiB on vdc PE 2, then 4 MiB on vdd PE 2
//!   vg0/ro     4 MiB linear on md127 PE 2, read-only (lvcreate -pr)
//!   vde        blank 16 MiB disk
//! The plans below are written by hand from that layout; only the random ids (array UUID,
//! VG and LV ids) come from the tools, through /tmp/oracle/ids.env.
#![cfg(feature = "vm-tests")]

use evms_activate::exec::{
    all_ours, deactivate, deactivate_all_ours, execute, DeactOutcome, ExecEnv, ExecOptions,
    ExecReport, Outcome,
};
use evms_activate::ids::MdUuid;
use evms_activate::plan::{DevRef, DmStep, MdMember, MdStep, MemberRole, Plan, Step, TargetLine};
use evms_activate::source::sysfs::DevNo;
use nix::errno::Errno;
use std::collections::HashMap;
use std::fs;
use std::path::Path;

/// Extent size and PV data start of the scenario, in sectors.
const EXTENT: u64 = 8192;
const PE_START: u64 = 2048;
/// lvm2's cookie flags for a visible LV when it relies on udev (DISABLE_LIBRARY_FALLBACK).
const VISIBLE_FLAGS: u16 = 0x20;

fn ids() -> HashMap<String, String> {
    fs::read_to_string("/tmp/oracle/ids.env")
        .expect("ids.env written by the scenario")
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect()
}

fn kernel(name: &str) -> DevRef {
    let s = fs::read_to_string(format!("/sys/class/block/{name}/dev")).unwrap();
    DevRef::Kernel {
        devno: DevNo::parse(&s).unwrap(),
        name: name.to_string(),
    }
}

fn md_step(ids: &HashMap<String, String>) -> MdStep {
    let uuid = MdUuid::parse(&ids["MD_UUID"]).unwrap();
    MdStep {
        key: format!("md:{uuid}"),
        uuid,
        metadata: "1.2".into(),
        devnm: "md127".into(),
        name: Some("r1".into()),
        level: "raid1".into(),
        raid_disks: 2,
        members: vec![
            MdMember {
                dev: kernel("vda"),
                role: MemberRole::Active(0),
                events: 0,
            },
            MdMember {
                dev: kernel("vdb"),
                role: MemberRole::Active(1),
                events: 0,
            },
        ],
        missing: vec![],
        degraded: false,
        size: 0,
        features: vec![],
        reshape: None,
        stripe_cache_size: None,
    }
}

/// A table line with `{vdc}`-style placeholders replaced by maj:min; `md127` stays a
/// planned reference.
fn line(s: &str) -> TargetLine {
    let mut t = s.to_string();
    for d in ["vda", "vdb", "vdc", "vdd", "vde"] {
        let pat = format!("{{{d}}}");
        if t.contains(&pat) {
            t = t.replace(&pat, &kernel(d).table_form());
        }
    }
    TargetLine::parse(&t).unwrap()
}

fn lv(ids: &HashMap<String, String>, lv: &str, ro: bool, table: &[String]) -> DmStep {
    DmStep {
        key: format!("lv:vg0/{lv}"),
        name: format!("vg0-{lv}"),
        // Test-only LVs (not in the VG) get a made-up id.
        uuid: format!(
            "LVM-{}{}",
            ids["VGID"],
            ids.get(&format!("LV_{lv}"))
                .cloned()
                .unwrap_or_else(|| format!("evmstest{lv}"))
        ),
        read_only: ro,
        table: table.iter().map(|s| line(s)).collect(),
        udev_flags: VISIBLE_FLAGS,
        links: vec![format!("vg0/{lv}"), format!("evms/lvm2/vg0/{lv}")],
        volume: format!("vg0/{lv}"),
        visible: true,
        fixed_devno: None,
    }
}

fn pe(n: u64) -> u64 {
    PE_START + n * EXTENT
}

/// The whole stack: the array, then the four LVs on it and on vdc/vdd.
fn plan() -> Plan {
    let ids = ids();
    let e = EXTENT;
    Plan {
        steps: vec![
            Step::AssembleMd(md_step(&ids)),
            Step::CreateDm(lv(
                &ids,
                "lin",
                false,
                &[format!("0 {} linear md127 {}", 2 * e, pe(0))],
            )),
            Step::CreateDm(lv(
                &ids,
                "str",
                false,
                &[format!(
                    "0 {} striped 2 128 {{vdc}} {} {{vdd}} {}",
                    4 * e,
                    pe(0),
                    pe(0)
                )],
            )),
            Step::CreateDm(lv(
                &ids,
                "multi",
                false,
                &[
                    format!("0 {e} linear {{vdc}} {}", pe(2)),
                    format!("{e} {e} linear {{vdd}} {}", pe(2)),
                ],
            )),
            Step::CreateDm(lv(
                &ids,
                "ro",
                true,
                &[format!("0 {e} linear md127 {}", pe(2))],
            )),
        ],
        ..Plan::default()
    }
}

fn run(plan: &Plan, dry_run: bool) -> ExecReport {
    // The boot hand-off's options: udev records too.
    let opts = ExecOptions {
        dry_run,
        udev_records: true,
        ..ExecOptions::default()
    };
    let r = execute(plan, &ExecEnv::system(), &opts);
    print!("{r}");
    r
}

fn dm_exists(name: &str) -> bool {
    fs::read_dir("/sys/block").unwrap().flatten().any(|e| {
        fs::read_to_string(e.path().join("dm/name"))
            .map(|n| n.trim() == name)
            .unwrap_or(false)
    })
}

/// Phase 1: everything is created; names, numbers and records as the plan says.
#[test]
fn activate() {
    let r = run(&plan(), false);
    assert!(r.ok(), "report not ok");
    assert_eq!(r.created().count(), 5);
    let md = &r.steps[0];
    assert_eq!(
        md.outcome,
        Outcome::Created {
            kernel: "md127".into(),
            devno: DevNo {
                major: 9,
                minor: 127
            }
        }
    );
    // The LVs on the array got the array's number, resolved from the planned name "md127".
    let holders = fs::read_dir("/sys/block/md127/holders").unwrap().count();
    assert_eq!(holders, 2, "vg0-lin and vg0-ro sit on md127");
    // The array holds a PV: it gets its LVM_MD_PV_ACTIVATED record.
    assert_eq!(
        fs::read_to_string("/run/udev/data/b9:127").unwrap(),
        "E:LVM_MD_PV_ACTIVATED=1\n"
    );
    assert_eq!(r.new_devices().len(), 5);
}

/// Phase 2: the same plan again changes nothing.
#[test]
fn rerun() {
    let r = run(&plan(), false);
    assert!(r.ok());
    assert_eq!(
        r.present().count(),
        5,
        "every step finds its device present"
    );
    for s in &r.steps {
        assert!(
            s.notes
                .iter()
                .all(|n| !n.starts_with("made") && !n.starts_with("replaced")),
            "{}: {:?}",
            s.name,
            s.notes
        );
    }
    assert!(r.records.is_empty(), "no record rewritten: {:?}", r.records);
}

/// Phase 3: a dry run looks without touching: present devices are found present, a new one
/// would be created, nothing appears.
#[test]
fn dry_run() {
    let ids = ids();
    let mut p = plan();
    p.steps.push(Step::CreateDm(lv(
        &ids,
        "new",
        false,
        &[format!("0 {} linear {{vdc}} {}", EXTENT, pe(5))],
    )));
    let r = run(&p, true);
    assert!(r.ok());
    assert_eq!(r.present().count(), 5);
    assert!(matches!(
        &r.steps[5].outcome,
        Outcome::WouldCreate { kernel } if kernel == "vg0-new"
    ));
    assert!(!dm_exists("vg0-new"));
    assert!(!Path::new("/dev/mapper/vg0-new").exists());
}

/// Phase 4: a different table under an existing UUID, and a name held by a device without
/// our UUID (made by the script: `dmsetup create vg0-taken`), are reported, not replaced.
#[test]
fn conflict() {
    let ids = ids();
    let mut p = plan();
    if let Step::CreateDm(d) = &mut p.steps[1] {
        d.table = vec![line(&format!("0 {} linear md127 {}", 2 * EXTENT, pe(7)))];
    }
    let taken = lv(&ids, "taken", false, &["0 8 zero".to_string()]);
    p.steps.push(Step::CreateDm(taken));
    let r = run(&p, false);
    assert!(!r.ok());
    match &r.steps[1].outcome {
        Outcome::Conflict { ours, theirs, .. } => {
            assert_eq!(ours.len(), 1);
            assert!(ours[0].ends_with(&format!(" {}", pe(7))), "{ours:?}");
            assert!(theirs[0].ends_with(&format!(" {}", pe(0))), "{theirs:?}");
            assert!(theirs[0].starts_with("0 16384 linear 9:127 "), "{theirs:?}");
        }
        o => panic!("expected a conflict, got {o:?}"),
    }
    match &r.steps[5].outcome {
        Outcome::Conflict { message, .. } => {
            assert!(message.contains("name is taken"), "{message}")
        }
        o => panic!("expected a name conflict, got {o:?}"),
    }
    // The other steps are untouched.
    assert_eq!(r.present().count(), 4);
}

/// Phase 5: failures are reported with errno and table, leave nothing behind, block only
/// their dependents.
#[test]
fn failures() {
    let ids = ids();
    let vdc_sectors: u64 = fs::read_to_string("/sys/class/block/vdc/size")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // Beyond the end of vdc.
    let bad = lv(
        &ids,
        "bad",
        false,
        &[format!(
            "0 {} linear {{vdc}} {}",
            2 * EXTENT,
            vdc_sectors - EXTENT
        )],
    );
    let top = lv(&ids, "top", false, &["0 8 linear vg0-bad 0".to_string()]);
    // Independent, with a persistent minor (lvm2 FIXED_MINOR).
    let mut indep = lv(&ids, "indep", false, &["0 2048 zero".to_string()]);
    let dm_major = match kernel("dm-0") {
        DevRef::Kernel { devno, .. } => devno.major,
        _ => unreachable!(),
    };
    indep.fixed_devno = Some(DevNo {
        major: dm_major,
        minor: 200,
    });
    // An "array" whose only member carries no superblock.
    let mut bogus = md_step(&ids);
    // Another UUID: one equal to r1's would (rightly) find r1 running and adopt it.
    bogus.uuid = MdUuid([0x5a; 16]);
    bogus.key = "md:bogus".into();
    bogus.devnm = "md100".into();
    bogus.name = Some("bogus".into());
    bogus.raid_disks = 1;
    bogus.members = vec![MdMember {
        dev: kernel("vde"),
        role: MemberRole::Active(0),
        events: 0,
    }];
    let p = Plan {
        steps: vec![
            Step::CreateDm(bad),
            Step::CreateDm(top),
            Step::CreateDm(indep),
            Step::AssembleMd(bogus),
        ],
        ..Plan::default()
    };
    let r = run(&p, false);
    assert!(!r.ok());
    match &r.steps[0].outcome {
        Outcome::Failed(e) => {
            assert_eq!(e.action, "DM_TABLE_LOAD");
            assert_eq!(e.errno, Some(Errno::EINVAL));
            assert_eq!(e.table.len(), 1);
            assert!(e.table[0].starts_with("0 16384 linear "), "{:?}", e.table);
            assert!(e.message.contains("removed"), "{}", e.message);
            assert!(e.hint.is_some());
        }
        o => panic!("expected a failed load, got {o:?}"),
    }
    assert!(!dm_exists("vg0-bad"), "the failed device was not removed");
    assert!(!Path::new("/dev/mapper/vg0-bad").exists());
    assert_eq!(
        r.steps[1].outcome,
        Outcome::Skipped {
            reason: "needs vg0-bad: its step failed".into()
        }
    );
    match &r.steps[2].outcome {
        Outcome::Created { devno, .. } => assert_eq!(devno.minor, 200),
        o => panic!("expected the independent step to run, got {o:?}"),
    }
    match &r.steps[3].outcome {
        Outcome::Failed(e) => {
            assert_eq!(e.action, "ADD_NEW_DISK");
            assert!(e.errno.is_some());
            assert!(e.message.contains("stopped"), "{}", e.message);
        }
        o => panic!("expected a failed assembly, got {o:?}"),
    }
    assert!(!Path::new("/sys/block/md100/md/dev-vde").exists());
    assert!(!fs::read_to_string("/run/mdadm/map")
        .unwrap_or_default()
        .contains("md100"));
    // Take the independent one down again.
    let d = deactivate(
        &["vg0-indep".to_string()],
        &ExecEnv::system(),
        &ExecOptions::default(),
    );
    print!("{d}");
    assert!(d.ok());
    assert_eq!(d.items[0].outcome, DeactOutcome::Removed);
    assert!(!dm_exists("vg0-indep"));
    assert!(!Path::new("/dev/mapper/vg0-indep").exists());
    assert!(!Path::new("/dev/evms/lvm2/vg0/indep").exists());
    assert!(!Path::new(&format!("/run/udev/data/b{dm_major}:200")).exists());
}

/// Phase 6 (the script mounted /dev/vg0/lin on /mnt): in-use devices are refused.
#[test]
fn refuse_in_use() {
    let env = ExecEnv::system();
    let d = deactivate(&["vg0-lin".to_string()], &env, &ExecOptions::default());
    print!("{d}");
    assert!(!d.ok());
    assert!(
        matches!(&d.items[0].outcome, DeactOutcome::Refused(w) if w.contains("mounted at /mnt"))
    );
    assert!(dm_exists("vg0-lin"));
    let d = deactivate(&["md127".to_string()], &env, &ExecOptions::default());
    print!("{d}");
    assert!(matches!(&d.items[0].outcome, DeactOutcome::Refused(w) if w.contains("held by")));
    // Everything at once, as a dry run: the mounted LV and the array under it are refused,
    // the three others would go.
    let d = deactivate_all_ours(
        &env,
        &ExecOptions {
            dry_run: true,
            ..ExecOptions::default()
        },
    );
    print!("{d}");
    let by: HashMap<&str, &DeactOutcome> = d
        .items
        .iter()
        .map(|i| (i.name.as_str(), &i.outcome))
        .collect();
    assert_eq!(by.len(), 5, "{:?}", all_ours(&env));
    let lin_kernel = d
        .items
        .iter()
        .find(|i| matches!(&i.outcome, DeactOutcome::Refused(w) if w.contains("mounted")))
        .map(|i| i.name.clone())
        .expect("the mounted LV is refused");
    assert!(lin_kernel.starts_with("dm-"));
    assert!(matches!(by["md127"], DeactOutcome::Refused(w) if w.contains("held by")));
    assert_eq!(
        d.items
            .iter()
            .filter(|i| i.outcome == DeactOutcome::WouldRemove)
            .count(),
        3
    );
}

/// Phase 7 (after umount): everything goes, holders first.
#[test]
fn deactivate_everything() {
    let env = ExecEnv::system();
    let d = deactivate_all_ours(&env, &ExecOptions::default());
    print!("{d}");
    assert!(d.ok());
    let order: Vec<&str> = d.items.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(
        order.last(),
        Some(&"md127"),
        "the array goes last: {order:?}"
    );
    assert_eq!(
        d.items
            .iter()
            .filter(|i| i.outcome == DeactOutcome::Removed)
            .count(),
        4
    );
    assert_eq!(d.items[4].outcome, DeactOutcome::Stopped);
    for lv in ["lin", "str", "multi", "ro"] {
        assert!(!dm_exists(&format!("vg0-{lv}")));
    }
}
