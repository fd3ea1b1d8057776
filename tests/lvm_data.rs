//! Reads every LV of the LVM segment scenarios (tests/vm/scenarios: lvraid, lvraiddeg,
//! lvmirror, pvmove) from their disk images in user space — dm-raid's data mapping over the
//! `_rimage_` LVs, a mirror's leg, pvmove's source or destination per segment — and compares
//! the SHA-256 of the whole LV with `sha256sum` of the LV lvm2 activated in the VM (the oracle
//! record's `hashes`, kept with the images). Read through the kernel and in user space, an LV
//! must hold the same bytes: this is what makes a filesystem or PV inside such an LV visible
//! to `scan --image` and to root=UUID= before anything is activated.
//!
//! Needs the exported scenario images: `tests/discovery.sh` makes them (in
//! `.cache/discovery`, or `LVM_DATA_DIR`) and then runs this test; it fails, on purpose, when
//! they are absent.

use evms_activate::engine::{self, Inputs, NodeKind, Settings};
use evms_activate::source::ReadAt;
use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const SCENARIOS: [(&str, &str); 4] = [
    ("lvraid", "all"),
    ("lvraiddeg", "deg"),
    ("lvmirror", "all"),
    ("pvmove", "all"),
];

fn dir() -> PathBuf {
    std::env::var_os("LVM_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".cache/discovery"))
}

/// SHA-256 of `len` bytes of `r`, by the system's sha256sum (no hashing crate is a dependency).
fn sha256(r: &dyn ReadAt, len: u64) -> io::Result<String> {
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut stdin = child.stdin.take().expect("stdin");
    let mut buf = vec![0u8; 1 << 20];
    let mut pos = 0u64;
    let res = (|| {
        while pos < len {
            let n = usize::try_from((len - pos).min(buf.len() as u64)).unwrap();
            r.read_exact_at(pos, &mut buf[..n])?;
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

#[test]
fn lvs_read_in_user_space_match_the_kernel() {
    let base = dir();
    for (scen, case) in SCENARIOS {
        let d = base.join(scen);
        let disks = std::fs::read_to_string(d.join("test-disks")).unwrap_or_else(|e| {
            panic!(
                "{}: {e}: run tests/discovery.sh (it exports the scenario images, then runs this test)",
                d.display()
            )
        });
        let images: Vec<(String, PathBuf)> = disks
            .lines()
            .enumerate()
            .map(|(i, f)| {
                let name = format!("vd{}", char::from(b'a' + u8::try_from(i).unwrap()));
                (name, d.join(f))
            })
            .collect();
        // DM name → sha256 of the device lvm2 activated.
        let hashes: BTreeMap<String, String> =
            std::fs::read_to_string(d.join("oracle").join(case).join("hashes"))
                .unwrap_or_else(|e| {
                    panic!("{scen}/{case}: no oracle hashes ({e}): run tests/vm/run.sh {scen}")
                })
                .lines()
                .filter_map(|l| {
                    let (n, h) = l.split_once(' ')?;
                    Some((n.to_string(), h.to_string()))
                })
                .collect();
        let settings = Settings {
            homehost: Some("evms-vm".into()),
            ..Settings::default()
        };
        let mut g = engine::discover(&Inputs::Images(images.clone()), settings.clone());
        if scen == "lvraiddeg" {
            // The case's damage: vdc's PV label wiped (lvm2 sees the PV missing).
            let (name, path) = &images[2];
            let copy = std::env::temp_dir().join(format!("evms-lvm-data-{}", std::process::id()));
            std::fs::copy(path, &copy).unwrap();
            let f = std::fs::OpenOptions::new().write(true).open(&copy).unwrap();
            use std::os::unix::fs::FileExt;
            f.write_all_at(&[0u8; 4096], 0).unwrap();
            let mut imgs = images.clone();
            imgs[2] = (name.clone(), copy.clone());
            g = engine::discover(&Inputs::Images(imgs), settings);
            let _ = std::fs::remove_file(&copy);
        }
        let mut checked = 0;
        for v in &g.vgs {
            for l in &v.lvs {
                let dm = engine::names::dm_name(&v.name, &l.name);
                // Visible LVs with a hash (a device read with errors, e.g. a raid0 missing
                // an image, has none).
                let Some(want) = hashes
                    .get(&dm)
                    .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
                else {
                    continue;
                };
                if !v.vg.lv(&l.name).is_some_and(|x| x.visible) {
                    continue;
                }
                let id = l.node.unwrap_or_else(|| {
                    panic!(
                        "{scen}: {dm} active under lvm2 but not read here ({:?})",
                        l.state
                    )
                });
                let n = g.node(id);
                assert!(matches!(n.kind, NodeKind::Lv { .. }));
                let r = n
                    .reader()
                    .unwrap_or_else(|| panic!("{scen}: {dm} has no reader ({:?})", l.state));
                assert_eq!(
                    &sha256(&**r, n.size).unwrap_or_else(|e| panic!("{scen}: {dm}: {e}")),
                    want,
                    "{scen}: {dm} read in user space differs from lvm2's device"
                );
                checked += 1;
            }
        }
        assert!(checked > 0, "{scen}: no LV checked");
        eprintln!("{scen}: {checked} LVs equal to lvm2's");
    }
}
