//! The driver over the lvm2 fixtures, and mutate-one-field tests through the whole chain,
//! each asserting the error and its absolute offset on the device.

use super::*;
use crate::error::ErrorKind;
use crate::formats::bytes::lvm_crc;
use crate::formats::lvm::fixtures;
use crate::source::sparse::SparseDev;

fn claim(d: &SparseDev) -> PvClaim {
    probe_pv("test", d).unwrap().unwrap()
}

/// Rewrites the committed text of the mda at `mda_at` (slot 0 size and checksum, then the
/// header checksum), as lvm2 would have written it. The new text must fit where the old was.
fn rewrite_text(
    d: &mut SparseDev,
    mda_at: u64,
    edit: impl FnOnce(&str) -> String,
) -> (u64, String) {
    let hb = d.get(mda_at, 512);
    let h = mda::parse_mda_header(&hb.clone().try_into().unwrap(), mda_at).unwrap();
    let pieces = mda::text_pieces(&h).unwrap();
    assert_eq!(pieces.len(), 1, "rewrite_text handles unwrapped text only");
    let (off, len) = pieces[0];
    let old = d.get(off, len as usize);
    let old = String::from_utf8(old[..old.len() - 1].to_vec()).unwrap();
    let new = edit(&old);
    let mut bytes = new.clone().into_bytes();
    bytes.push(0);
    d.patch(off, &bytes);
    let mut hb = hb;
    hb[0x30..0x38].copy_from_slice(&(bytes.len() as u64).to_le_bytes());
    hb[0x38..0x3c].copy_from_slice(&lvm_crc(&bytes).to_le_bytes());
    let c = lvm_crc(&hb[4..]);
    hb[..4].copy_from_slice(&c.to_le_bytes());
    d.patch(mda_at, &hb);
    (off, new)
}

fn only_error(c: &PvClaim) -> &FormatError {
    assert_eq!(c.mdas.len(), 1);
    c.mdas[0].result.as_ref().unwrap_err()
}

#[test]
fn golden_every_fixture_disk() {
    for f in fixtures::all() {
        let vgr = f.vg_row();
        let mut vg_mdas = 0;
        for disk in f.disks() {
            let c = claim(&f.disk(&disk));
            let ctx = format!("{}/{disk}", f.name);
            assert!(c.warnings.is_empty(), "{ctx}: {:?}", c.warnings);
            let pvr = f.pv_row(&disk);
            assert_eq!(c.label.pv_id.to_string(), pvr.get("pv_uuid"), "{ctx}");
            assert_eq!(c.mdas.len() as u64, pvr.num("pv_mda_count"), "{ctx}");
            vg_mdas += c.mdas.len() as u64;
            // pv_mda_size: the smallest area, in sectors; used: areas not ignored.
            let smallest = c.label.metadata_areas.iter().map(|m| m.size / 512).min();
            assert_eq!(smallest.unwrap_or(0), pvr.num("pv_mda_size"), "{ctx}");
            let used = c
                .mdas
                .iter()
                .filter(|m| {
                    !matches!(
                        m.result,
                        Ok(MdaContent {
                            state: MdaState::Ignored,
                            ..
                        })
                    )
                })
                .count();
            assert_eq!(used as u64, pvr.num("pv_mda_used_count"), "{ctx}");
            assert_eq!(c.label.device_size / 512, pvr.num("dev_size"), "{ctx}");
            assert_eq!(
                u64::from(c.label.ext_version),
                pvr.num("pv_ext_vsn"),
                "{ctx}"
            );
            match &c.metadata {
                None => assert_eq!(pvr.num("pv_mda_used_count"), 0, "{ctx}"),
                Some((vg, checksum, size)) => {
                    assert_eq!(vg.name, vgr.get("vg_name"), "{ctx}");
                    assert_eq!(vg.id.to_string(), vgr.get("vg_uuid"), "{ctx}");
                    assert_eq!(vg.seqno, vgr.num("vg_seqno"), "{ctx}");
                    assert!(vg.pv_by_id(&c.label.pv_id).is_some(), "{ctx}");
                    let h = f.headers(&disk);
                    assert_eq!(
                        u64::from(*checksum),
                        h.num("mda_header_1.raw_locn[0].checksum")
                    );
                    assert_eq!(*size, h.num("mda_header_1.raw_locn[0].size"));
                    assert_eq!((vg.checksum, vg.text_size), (*checksum, *size));
                }
            }
            for m in &c.mdas {
                assert!(matches!(
                    m.result,
                    Ok(MdaContent {
                        state: MdaState::Metadata { .. },
                        ..
                    })
                ));
            }
        }
        assert_eq!(vg_mdas, vgr.num("vg_mda_count"), "{}", f.name);
    }
}

#[test]
fn wrap_fixture_is_read_through_the_wrap() {
    let f = fixtures::load("wrap");
    let c = claim(&f.disk("disk"));
    let h = f.headers("disk");
    let text_at = h.num("mda_header_1 at") + h.num("mda_header_1.raw_locn[0].offset");
    match &c.mdas[0].result {
        Ok(MdaContent {
            state:
                MdaState::Metadata {
                    wrapped,
                    text_offset,
                    vg,
                },
            ..
        }) => {
            assert!(wrapped);
            assert_eq!(*text_offset, text_at);
            assert_eq!(vg.name, "wrap-vg");
        }
        r => panic!("{r:?}"),
    }
}

#[test]
fn not_a_pv() {
    let d = SparseDev::from_image(&vec![0u8; 1 << 20]);
    assert!(probe_pv("zero", &d).unwrap().is_none());
    let small = SparseDev::from_image(&[1u8; 1000]);
    assert!(probe_pv("small", &small).unwrap().is_none());
}

#[test]
fn broken_label_is_an_error() {
    let mut d = fixtures::load("whole-disk").disk("disk");
    d.patch(512 + 0x100, &[0xff]);
    let e = probe_pv("sdx", &d).unwrap_err();
    match e {
        ProbeError::Format { device, err } => {
            assert_eq!(device, "sdx");
            assert_eq!(err.offset, 512 + 0x10);
            assert!(matches!(
                err.kind,
                ErrorKind::Checksum {
                    field: "crc_xl",
                    ..
                }
            ));
        }
        other => panic!("{other}"),
    }
}

#[test]
fn bad_mda1_good_mda2() {
    let f = fixtures::load("two-mdas");
    let good = claim(&f.disk("disk"));
    let mda2 = good.label.metadata_areas[1].offset;
    assert_eq!(mda2, 15728640);
    // mda1's magic broken: a warning, metadata from mda2.
    let mut d = f.disk("disk");
    d.patch(4096 + 4, b"X");
    let c = claim(&d);
    let e = c.mdas[0].result.as_ref().unwrap_err();
    assert_eq!(e.offset, 4096 + 4);
    assert!(matches!(
        e.kind,
        ErrorKind::Field {
            field: "mda_header.magic",
            ..
        }
    ));
    assert_eq!(c.warnings, vec![e.clone()]);
    let (vg, _, _) = c.metadata.as_ref().unwrap();
    assert_eq!(vg.name, "vg2");
    assert_eq!(c.metadata, good.metadata);
    // mda1's text corrupted: the checksum fails at the text's offset.
    let mut d = f.disk("disk");
    let h = good.mdas[0].result.as_ref().unwrap().header;
    let text_at = 4096 + h.slot0.offset;
    d.patch(text_at + 3, b"#");
    let c = claim(&d);
    let e = c.mdas[0].result.as_ref().unwrap_err();
    assert_eq!(e.offset, text_at);
    assert!(matches!(e.kind, ErrorKind::Checksum { .. }));
    assert_eq!(c.metadata, good.metadata);
    // Both broken: still a PV (its id is known), without metadata.
    d.patch(mda2 + 4, b"X");
    let c = claim(&d);
    assert!(c.metadata.is_none());
    assert_eq!(c.warnings.len(), 2);
    assert_eq!(c.warnings[1].offset, mda2 + 4);
}

#[test]
fn areas_that_disagree_warn_and_newest_wins() {
    let f = fixtures::load("two-mdas");
    let mut d = f.disk("disk");
    let seqno = f.vg_row().num("vg_seqno");
    rewrite_text(&mut d, 15728640, |t| {
        t.replacen(
            &format!("seqno = {seqno}"),
            &format!("seqno = {}", seqno + 1),
            1,
        )
    });
    let c = claim(&d);
    assert_eq!(c.metadata.as_ref().unwrap().0.seqno, seqno + 1);
    assert_eq!(c.warnings.len(), 1);
    assert_eq!(c.warnings[0].offset, 4096);
    // Same seqno, different text: a checksum warning.
    let mut d = f.disk("disk");
    rewrite_text(&mut d, 15728640, |t| {
        t.replacen("description = \"", "description = \"x", 1)
    });
    let c = claim(&d);
    assert!(
        matches!(
            c.warnings[0].kind,
            ErrorKind::Field {
                field: "mda (checksum)",
                ..
            }
        ),
        "{:?}",
        c.warnings
    );
}

#[test]
fn orphan_and_ignored_areas() {
    let f = fixtures::load("whole-disk");
    let mut d = f.disk("disk");
    let mut hb = d.get(4096, 512);
    hb[0x28 + 20] = 1; // RAW_LOCN_IGNORED
    let c = lvm_crc(&hb[4..]);
    hb[..4].copy_from_slice(&c.to_le_bytes());
    d.patch(4096, &hb);
    let c = claim(&d);
    assert!(matches!(
        c.mdas[0].result,
        Ok(MdaContent {
            state: MdaState::Ignored,
            ..
        })
    ));
    assert!(c.metadata.is_none());
    let mut hb = d.get(4096, 512);
    hb[0x28..0x28 + 24].fill(0);
    let cs = lvm_crc(&hb[4..]);
    hb[..4].copy_from_slice(&cs.to_le_bytes());
    d.patch(4096, &hb);
    let c = claim(&d);
    assert!(matches!(
        c.mdas[0].result,
        Ok(MdaContent {
            state: MdaState::Empty,
            ..
        })
    ));
    assert!(c.warnings.is_empty());
}

#[test]
fn raw_locn_beyond_area_through_the_driver() {
    let mut d = fixtures::load("whole-disk").disk("disk");
    let mut hb = d.get(4096, 512);
    hb[0x28..0x30].copy_from_slice(&2_000_000u64.to_le_bytes());
    let c = lvm_crc(&hb[4..]);
    hb[..4].copy_from_slice(&c.to_le_bytes());
    d.patch(4096, &hb);
    let e = only_error(&claim(&d)).clone();
    assert_eq!(e.offset, 4096 + 0x28);
    assert!(matches!(
        e.kind,
        ErrorKind::Field {
            field: "raw_locn[0].offset",
            ..
        }
    ));
}

#[test]
fn mda_beyond_the_device() {
    let mut d = fixtures::load("whole-disk").disk("disk");
    // Point the label's mda at the last 100 bytes of the 16 MiB device.
    let mut lb = d.get(512, 512);
    lb[0x20 + 40 + 32..0x20 + 40 + 40].copy_from_slice(&(16 * 1024 * 1024 - 100u64).to_le_bytes());
    let c = lvm_crc(&lb[0x14..]);
    lb[0x10..0x14].copy_from_slice(&c.to_le_bytes());
    d.patch(512, &lb);
    let e = only_error(&claim(&d)).clone();
    assert_eq!(e.offset, 16 * 1024 * 1024 - 100);
    assert!(
        matches!(
            e.kind,
            ErrorKind::Truncated {
                field: "mda_header",
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn grammar_errors_carry_device_offsets() {
    let f = fixtures::load("whole-disk");
    // Unterminated string: the error is at the opening quote on the device.
    let mut d = f.disk("disk");
    // Cut the text right inside a quoted string: it runs to the end of the text.
    let (off, text) = rewrite_text(&mut d, 4096, |t| {
        let q = t.find("format = \"").unwrap() + "format = \"".len();
        format!("{}lvm2", &t[..q])
    });
    let e = only_error(&claim(&d)).clone();
    let q = text.find("format = \"").unwrap() + "format = ".len();
    assert_eq!(e.offset, off + q as u64, "{e}");
    assert!(
        matches!(&e.kind, ErrorKind::Field { field: "metadata text", found, .. } if found.contains("unterminated")),
        "{e}"
    );
    // Nesting too deep.
    let mut d = f.disk("disk");
    let deep = "x {".repeat(16) + &"}".repeat(16);
    let (off, text) = rewrite_text(&mut d, 4096, |t| {
        t.replacen("flags = []", &format!("flags = []\n{deep}"), 1)
    });
    let e = only_error(&claim(&d)).clone();
    // The 15th nested key (depth 16 counting the VG and the root) is refused.
    let first = text.find("x {").unwrap();
    assert_eq!(e.offset, off + (first + 14 * 3) as u64, "{e}");
    assert!(
        matches!(&e.kind, ErrorKind::Field { found, .. } if found.contains("deeper")),
        "{e}"
    );
}

#[test]
fn model_errors_carry_device_offsets() {
    let f = fixtures::load("whole-disk");
    // An unknown status word: the offset of that LV's status key.
    let mut d = f.disk("disk");
    let (off, text) = rewrite_text(&mut d, 4096, |t| {
        t.replacen("\"VISIBLE\"]", "\"VISIBLE\", \"BOGUS\"]", 1)
    });
    let e = only_error(&claim(&d)).clone();
    let at = text
        .find("status = [\"READ\", \"WRITE\", \"VISIBLE\", \"BOGUS\"]")
        .unwrap();
    assert_eq!(e.offset, off + at as u64, "{e}");
    assert!(
        matches!(&e.kind, ErrorKind::Field { field: "status", found, .. } if found.contains("BOGUS") && found.contains("vg0/logical_volumes/root")),
        "{e}"
    );
    // A VG without seqno: the offset of the VG section (the start of the text).
    let mut d = f.disk("disk");
    let (off, _) = rewrite_text(&mut d, 4096, |t| t.replacen("seqno = ", "sequence = ", 1));
    let e = only_error(&claim(&d)).clone();
    assert_eq!(e.offset, off);
    assert!(
        matches!(e.kind, ErrorKind::Field { field: "seqno", .. }),
        "{e}"
    );
}

#[test]
fn errors_inside_wrapped_text_map_to_the_second_piece() {
    let f = fixtures::load("wrap");
    let mut d = f.disk("disk");
    // The second piece (right after the header at 4608) holds the end of the text; break
    // `version = 1` there and fix the checksums.
    let c = claim(&d);
    let h = c.mdas[0].result.as_ref().unwrap().header;
    let pieces = mda::text_pieces(&h).unwrap();
    let mut text: Vec<u8> = pieces
        .iter()
        .flat_map(|&(o, l)| d.get(o, l as usize))
        .collect();
    let first = pieces[0].1 as usize;
    let i = text.windows(11).position(|w| w == b"version = 1").unwrap();
    assert!(i > first, "the version line must be in the wrapped part");
    text[i + 10] = b'2';
    d.patch(pieces[0].0, &text[..first]);
    d.patch(pieces[1].0, &text[first..]);
    let mut hb = d.get(4096, 512);
    hb[0x38..0x3c].copy_from_slice(&lvm_crc(&text).to_le_bytes());
    let cs = lvm_crc(&hb[4..]);
    hb[..4].copy_from_slice(&cs.to_le_bytes());
    d.patch(4096, &hb);
    let e = only_error(&claim(&d)).clone();
    assert_eq!(e.offset, 4096 + 512 + (i - first) as u64, "{e}");
    assert!(
        matches!(
            e.kind,
            ErrorKind::Field {
                field: "version",
                ..
            }
        ),
        "{e}"
    );
}

/// Every copy of one VG text (the PVs of a VG, the areas of a PV) is parsed once and shared;
/// a changed text is parsed on its own.
#[test]
fn one_parse_per_metadata_text() {
    let mut shared = 0;
    for f in fixtures::all() {
        let vgs: Vec<Arc<Vg>> = f
            .disks()
            .iter()
            .flat_map(|d| claim(&f.disk(d)).mdas)
            .filter_map(|m| match m.result {
                Ok(MdaContent {
                    state: MdaState::Metadata { vg, .. },
                    ..
                }) => Some(vg),
                _ => None,
            })
            .collect();
        for pair in vgs.windows(2) {
            if (pair[0].checksum, pair[0].text_size) == (pair[1].checksum, pair[1].text_size) {
                assert!(Arc::ptr_eq(&pair[0], &pair[1]), "{}", f.name);
                shared += 1;
            }
        }
    }
    assert!(shared > 0, "no fixture has two copies of one text");
    let f = fixtures::load("whole-disk");
    let mut d = f.disk("disk");
    let before = claim(&d).metadata.unwrap().0;
    let mda_at = claim(&d).mdas[0].offset;
    rewrite_text(&mut d, mda_at, |t| t.replacen("seqno = ", "seqno = 1", 1));
    let after = claim(&d).metadata.unwrap().0;
    assert!(!Arc::ptr_eq(&before, &after));
    assert_eq!(
        after.seqno,
        before.seqno + 10u64.pow(before.seqno.to_string().len() as u32)
    );
}
