//! Names read from disk never become paths outside /dev/mapper, /dev/VG, /dev/md, /dev/evms:
//! real-tool fixtures with one name made hostile (checksums recomputed, so only the name is
//! wrong) go through discovery and planning; the volume with the bad name is left out with a
//! clear reason (or, for LVM, its VG is refused as lvm2's `vg_validate` refuses it), and
//! everything else is still planned.

#[allow(dead_code)]
#[path = "../fuzz/src/lib.rs"]
mod harness;

use evms_activate::engine::{self, Graph, Inputs, Settings};
use evms_activate::formats::lvm;
use evms_activate::plan::build::{build, Selection};
use evms_activate::plan::{Plan, Step};
use evms_activate::source::layout::Src;
use evms_activate::source::sparse::SparseDev;
use evms_activate::source::ReadAt;
use harness::Disk;
use std::path::Path;
use std::sync::Arc;

fn fixture(rel: &str) -> Disk {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel);
    harness::disk_from(&SparseDev::parse(&std::fs::read(p).unwrap()).unwrap())
}

fn discover(disks: Vec<Disk>, settings: Settings) -> Graph {
    let inputs = disks
        .into_iter()
        .enumerate()
        .map(|(i, d)| (format!("d{i}"), Arc::new(d) as Src))
        .collect();
    engine::discover(&Inputs::Mem(inputs), settings)
}

fn plan(g: &Graph) -> Plan {
    build(g, &Selection::default())
}

fn created(p: &Plan) -> Vec<String> {
    p.steps
        .iter()
        .map(|s| match s {
            Step::AssembleMd(m) => format!("md {} {:?}", m.devnm, m.name),
            Step::CreateDm(d) => format!("dm {} {:?}", d.name, d.links),
            Step::RegisterBcache(b) => format!("bcache {} {:?}", b.devnm, b.links),
        })
        .collect()
}

fn skip_reason<'a>(p: &'a Plan, what: &str) -> &'a str {
    p.skipped
        .iter()
        .find(|s| s.reason.contains(what))
        .map(|s| s.reason.as_str())
        .unwrap_or_else(|| panic!("no skip mentioning {what:?} in {:?}", p.skipped))
}

/// The members of md/r1-12-bitmap (1.2, name "evmshost:r1-12-bitmap") with `name` written
/// into both superblocks' `set_name`.
fn r1_named(name: &[u8]) -> Vec<Disk> {
    ["m0", "m1"]
        .iter()
        .map(|m| {
            let mut d = fixture(&format!("md/scenarios/r1-12-bitmap/{m}.spr"));
            let mut field = [0u8; 32];
            field[..name.len()].copy_from_slice(name);
            d.write(8 * 512 + 0x20, &field);
            harness::fix_md(&mut d);
            d
        })
        .collect()
}

/// md/r0-12-eq, untouched: it must still be planned next to the hostile one.
fn r0_intact() -> Vec<Disk> {
    ["m0", "m1"]
        .iter()
        .map(|m| fixture(&format!("md/scenarios/r0-12-eq/{m}.spr")))
        .collect()
}

fn home() -> Settings {
    Settings {
        homehost: Some("evmshost".into()),
        ..Settings::default()
    }
}

#[test]
fn md_names_from_superblocks() {
    // mdadm's own mapping turns '/' into '-': "evmshost:../../etc" is the local array
    // "..-..-etc", a plain name; mdadm makes /dev/md/..-..-etc too.
    let mut disks = r1_named(b"evmshost:../../etc");
    disks.extend(r0_intact());
    let p = plan(&discover(disks, home()));
    let c = created(&p);
    assert!(c.iter().any(|s| s.contains("Some(\"..-..-etc\")")), "{c:?}");
    for (name, why) in [
        (&b"evmshost:.."[..], "names a directory"),
        (b"evmshost:\n", "control character"),
        (b"evmshost:a\nmd1 1.2 x /dev/sda", "control character"),
        (b"evmshost:a\x1b[2Jb", "control character"),
    ] {
        let mut disks = r1_named(name);
        disks.extend(r0_intact());
        let p = plan(&discover(disks, home()));
        let reason = skip_reason(&p, "MD array name");
        assert!(reason.contains(why), "{reason}");
        assert!(reason.contains("not activated"), "{reason}");
        // The other array is planned, with its own name.
        let c = created(&p);
        assert_eq!(c.len(), 1, "{c:?}");
        assert!(c[0].contains("Some(\"r0-12-eq\")"), "{c:?}");
    }
}

#[test]
fn md_names_from_mdadm_conf() {
    let g = discover(r1_named(b"evmshost:r1-12-bitmap"), home());
    let uuid = g.arrays[0].uuid;
    for (dev, why) in [
        ("/dev/md/../../etc".to_string(), "contains '/'"),
        ("/dev/md/a/b".to_string(), "contains '/'"),
        (
            format!("/dev/md/{}", "a".repeat(200)),
            "longer than 127 bytes",
        ),
    ] {
        let mut disks = r1_named(b"evmshost:r1-12-bitmap");
        disks.extend(r0_intact());
        let settings = Settings {
            md_arrays: vec![(uuid, dev.clone())],
            ..home()
        };
        let p = plan(&discover(disks, settings));
        assert!(skip_reason(&p, "MD array name").contains(why), "{dev}");
        assert_eq!(created(&p).len(), 1, "{dev}");
    }
}

/// Rewrites the committed metadata text of the PV's first metadata area with `edit` (slot 0
/// size updated, checksums recomputed).
fn edit_lvm_text(d: &mut Disk, edit: impl Fn(&str) -> String) {
    let (label, _) = harness::lvm_label(d).expect("an LVM label");
    let at = label.metadata_areas[0].offset;
    let h: [u8; 512] = d.get(at, 512).unwrap().try_into().unwrap();
    let hdr = lvm::mda::parse_mda_header(&h, at).unwrap();
    let pieces = lvm::mda::text_pieces(&hdr).unwrap();
    assert_eq!(pieces.len(), 1, "fixture text does not wrap");
    let (off, len) = pieces[0];
    let text = d.get(off, len as usize).unwrap();
    let text = String::from_utf8(text).unwrap();
    let mut new = edit(text.trim_end_matches('\0')).into_bytes();
    assert_ne!(
        new,
        text.trim_end_matches('\0').as_bytes(),
        "edit changed nothing"
    );
    new.push(0);
    d.write(off, &new);
    d.write(at + 0x28 + 8, &(new.len() as u64).to_le_bytes());
    harness::fix_lvm(d);
}

/// lvm/whole-disk (VG vg0, LV root) with its text edited, next to lvm/wrap (VG wrap-vg,
/// LV keep) untouched.
fn lvm_pair(edit: impl Fn(&str) -> String) -> (Graph, Plan) {
    let mut d = fixture("lvm/whole-disk/disk.spr");
    edit_lvm_text(&mut d, edit);
    let g = discover(vec![d, fixture("lvm/wrap/disk.spr")], Settings::default());
    let p = plan(&g);
    (g, p)
}

fn wrap_vg_still_planned(p: &Plan) {
    let c = created(p);
    assert!(
        c.iter()
            .any(|s| s.starts_with("dm wrap--vg-keep") && s.contains("wrap-vg/keep")),
        "{c:?}"
    );
}

#[test]
fn lvm_names_the_format_refuses() {
    // Names outside lvm2's charset (lvm2 `_validate_name`): the VG is refused as a whole, as
    // lvm2's vg_validate refuses it ("LV name has invalid form"); the other VG activates.
    let long = "a".repeat(200);
    for bad in [
        "\"../../etc\"",
        "\"a/b\"",
        "\"\\n\"",
        "\"\n\"",
        "\"a\x1b[2Jb\"",
        long.as_str(),
    ] {
        let (g, p) = lvm_pair(|t| t.replacen("root {", &format!("{bad} {{"), 1));
        assert!(
            !created(&p).iter().any(|s| s.contains("vg0")),
            "{bad}: {:?}",
            created(&p)
        );
        let problems = evms_activate::report::problem_lines(&g);
        let all = problems.0.join("|") + &problems.1.join("|");
        assert!(
            all.contains("LV name") || all.contains("lvm2"),
            "{bad}: no clear error in {all}"
        );
        // Names are quoted with escapes in messages: no raw control character reaches a log.
        assert!(!all.contains(['\n', '\x1b']), "{bad}: {all:?}");
        wrap_vg_still_planned(&p);
    }
}

#[test]
fn lvm_vg_named_like_a_dev_namespace() {
    // "mapper" passes lvm2's charset, but /dev/mapper/root would sit among the DM nodes.
    for reserved in ["mapper", "md", "evms", "disk"] {
        let (_, p) = lvm_pair(|t| t.replacen("vg0 {", &format!("{reserved} {{"), 1));
        let reason = skip_reason(&p, "VG name");
        assert!(reason.contains("another namespace"), "{reason}");
        let c = created(&p);
        assert!(!c.iter().any(|s| s.contains("-root")), "{c:?}");
        wrap_vg_still_planned(&p);
    }
}

#[test]
fn lvm_dm_name_too_long_for_the_kernel() {
    // 127-byte VG and LV names pass lvm2's charset, but "VG-LV" exceeds DM_NAME_LEN.
    let vg = "v".repeat(100);
    let lv = "l".repeat(100);
    let (_, p) = lvm_pair(|t| {
        t.replacen("vg0 {", &format!("{vg} {{"), 1)
            .replacen("root {", &format!("{lv} {{"), 1)
    });
    assert!(skip_reason(&p, "DM name").contains("longer than the kernel's 127 bytes"));
    wrap_vg_still_planned(&p);
}

#[test]
fn untouched_fixtures_plan_as_before() {
    let g = discover(
        vec![
            fixture("lvm/whole-disk/disk.spr"),
            fixture("lvm/wrap/disk.spr"),
        ],
        Settings::default(),
    );
    let c = created(&plan(&g));
    assert!(c.iter().any(|s| s.starts_with("dm vg0-root")), "{c:?}");
    wrap_vg_still_planned(&plan(&g));
    let d = fixture("lvm/wrap/disk.spr");
    assert!(d.size() > 0);
}
