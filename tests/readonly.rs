//! Read-only proof, host part: the real binary runs `scan`, `scan --json`, `plan`,
//! `plan --json` over disk images, and `activate --dry-run` over the same images presented as
//! the block devices of a fake sysfs tree; every image keeps its bytes (CRC-32 of the whole
//! file), size, mtime and ctime, and the dry run writes nothing under its /dev and /run.
//! Images are the committed real-tool fixtures decoded to sparse files in a temp directory.
//! (Real activation on live devices is the VM part.)

use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_evms-activate");

/// Decodes a `.spr` fixture (tests/fixtures/sparsify.py) into a sparse image file.
fn decode(spr: &Path, out: &Path) {
    let b = fs::read(spr).unwrap();
    assert_eq!(&b[..8], b"EVMSSPR1");
    let size = u64::from_le_bytes(b[8..16].try_into().unwrap());
    let count = u32::from_le_bytes(b[20..24].try_into().unwrap()) as usize;
    let mut f = File::create(out).unwrap();
    for i in 0..count {
        let o = 24 + i * 520;
        let idx = u64::from_le_bytes(b[o..o + 8].try_into().unwrap());
        f.seek(SeekFrom::Start(idx * 512)).unwrap();
        f.write_all(&b[o + 8..o + 520]).unwrap();
    }
    f.set_len(size).unwrap();
}

/// What must not change: bytes (CRC-32 of the whole file), size, mtime, ctime.
#[derive(Debug, PartialEq, Eq)]
struct Seal {
    crc: u32,
    len: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

fn seal(p: &Path) -> Seal {
    let m = fs::metadata(p).unwrap();
    let mut h = crc32fast::Hasher::new();
    let mut f = File::open(p).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Seal {
        crc: h.finalize(),
        len: m.len(),
        mtime: (m.mtime(), m.mtime_nsec()),
        ctime: (m.ctime(), m.ctime_nsec()),
    }
}

/// Every file below `dir` with its seal.
fn tree(dir: &Path) -> Vec<(PathBuf, Option<Seal>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let mut entries: Vec<_> = fs::read_dir(&d)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        entries.sort();
        for p in entries {
            let m = fs::symlink_metadata(&p).unwrap();
            if m.is_dir() {
                out.push((p.clone(), None));
                stack.push(p);
            } else {
                out.push((p.clone(), m.is_file().then(|| seal(&p))));
            }
        }
    }
    out
}

fn run(args: &[&str]) -> (i32, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

/// A fake sysfs with one whole disk per image (`vdX`, 252:N), and a /dev directory holding
/// the images under those names, so live discovery reads them as block devices.
fn fake_system(root: &Path, images: &[(String, PathBuf)]) -> (PathBuf, PathBuf, PathBuf) {
    let (sys, dev, run) = (root.join("sys"), root.join("dev"), root.join("run"));
    for d in [&sys, &dev, &run] {
        fs::create_dir_all(d).unwrap();
    }
    for (i, (_, img)) in images.iter().enumerate() {
        let name = format!("vd{}", (b'a' + i as u8) as char);
        let dir = sys.join("class/block").join(&name);
        fs::create_dir_all(dir.join("queue")).unwrap();
        fs::write(dir.join("dev"), format!("252:{}\n", i * 16)).unwrap();
        let size = fs::metadata(img).unwrap().len();
        fs::write(dir.join("size"), format!("{}\n", size / 512)).unwrap();
        fs::write(dir.join("queue/logical_block_size"), "512\n").unwrap();
        fs::write(dir.join("ro"), "0\n").unwrap();
        fs::write(dir.join("removable"), "0\n").unwrap();
        fs::rename(img, dev.join(&name)).unwrap();
    }
    (sys, dev, run)
}

#[test]
fn scan_plan_and_dry_run_leave_images_untouched() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let groups: &[(&str, &[&str])] = &[
        ("lvm-multi", &["lvm/multi/pv1.spr", "lvm/multi/pv2.spr"]),
        (
            "lvm-segtypes",
            &[
                "lvm/segtypes/vda.spr",
                "lvm/segtypes/vdb.spr",
                "lvm/segtypes/vdc.spr",
                "lvm/segtypes/vdd.spr",
                "lvm/segtypes/vde.spr",
            ],
        ),
        ("lvm-wrap", &["lvm/wrap/disk.spr", "lvm/two-mdas/disk.spr"]),
        (
            "md-r5",
            &[
                "md/scenarios/r5-12-ls/m0.spr",
                "md/scenarios/r5-12-ls/m1.spr",
                "md/scenarios/r5-12-ls/m2.spr",
            ],
        ),
        (
            "md-090",
            &["md/scenarios/r1-090/m0.spr", "md/scenarios/r1-090/m1.spr"],
        ),
        (
            "md-stale",
            &[
                "md/scenarios/stale-090-12/m0.spr",
                "md/scenarios/stale-090-12/m1.spr",
            ],
        ),
        (
            "part-fs",
            &[
                "part/gpt/disk.spr",
                "part/dos/disk.spr",
                "fs/ext4/disk.spr",
                "fs/luks2/disk.spr",
            ],
        ),
    ];
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR")).join("readonly");
    let _ = fs::remove_dir_all(&tmp);
    for (group, files) in groups {
        let dir = tmp.join(group);
        fs::create_dir_all(dir.join("img")).unwrap();
        let images: Vec<(String, PathBuf)> = files
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let p = dir.join("img").join(format!("d{i}.img"));
                decode(&fixtures.join(f), &p);
                (format!("d{i}"), p)
            })
            .collect();
        let before = tree(&dir.join("img"));
        let img_args: Vec<String> = images
            .iter()
            .flat_map(|(n, p)| ["--image".to_string(), format!("{n}={}", p.display())])
            .collect();
        let img_args: Vec<&str> = img_args.iter().map(String::as_str).collect();
        let none = dir.join("no-evms.conf");
        let none = none.to_str().unwrap();
        let mut outputs = Vec::new();
        for cmd in [
            &["scan"][..],
            &["scan", "--json"],
            &["plan", "--config", none],
            &["plan", "--json", "--config", none],
            &["plan", "--degraded", "--partial", "-K", "--config", none],
        ] {
            let args: Vec<&str> = cmd.iter().chain(img_args.iter()).copied().collect();
            let (code, out) = run(&args);
            assert!(
                code == 0 || code == 1,
                "{group} {cmd:?}: exit {code}\n{out}"
            );
            outputs.push(out);
        }
        assert_eq!(
            tree(&dir.join("img")),
            before,
            "{group}: scan/plan changed an image"
        );
        // Something was found: the run read the images (not an empty success).
        assert!(
            outputs[0].lines().count() > files.len(),
            "{group}: {}",
            outputs[0]
        );

        // activate --dry-run, the same images as the block devices of a fake system.
        let (sys, dev, runp) = fake_system(&dir.join("system"), &images);
        let before = tree(&dev);
        let (code, out) = run(&[
            "activate",
            "--dry-run",
            "--sysfs",
            sys.to_str().unwrap(),
            "--dev",
            dev.to_str().unwrap(),
            "--run",
            runp.to_str().unwrap(),
            "--config",
            none,
            "--degraded",
        ]);
        assert!(
            code == 0 || code == 1,
            "{group} activate: exit {code}\n{out}"
        );
        let after = tree(&dev);
        let renamed = |t: Vec<(PathBuf, Option<Seal>)>| -> Vec<(String, Option<Seal>)> {
            t.into_iter()
                .map(|(p, s)| (p.file_name().unwrap().to_string_lossy().into_owned(), s))
                .collect()
        };
        assert_eq!(
            renamed(after),
            renamed(before),
            "{group}: activate --dry-run changed /dev\n{out}"
        );
        assert!(
            tree(&runp).is_empty(),
            "{group}: activate --dry-run wrote under /run"
        );
        eprintln!("== {group}\n{}\n{out}", outputs[2]);
    }
    let _ = fs::remove_dir_all(&tmp);
}
