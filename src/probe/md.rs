//! MD superblock probing of one device: reads every candidate location
//! ([`md::superblock_locations`]), parses each, and chooses as mdadm does when several are
//! valid.
//!
//! Call hierarchy: [`probe_md`] → [`probe_md_all`] → `read_array` per location →
//! [`md::parse_v090`] / [`md::parse_v1`] → [`md::check_fits`] → [`choose`].
//!
//! Which superblock wins: mdadm's `guess_super_type` loads every metadata type that it finds
//! and keeps the one with the latest creation time (`info.array.ctime`, compared as 32 bits;
//! on a tie the earlier type in `superlist`, i.e. 0.90 before 1.x); among 1.x, `load_super1`
//! keeps the latest 64-bit `ctime` trying 1.0, 1.1, 1.2 in that order. The kernel has no
//! choice of its own: it loads the version mdadm names. mdadm accepts superblocks this driver
//! rejects (it does not verify checksums when loading), so a broken candidate is reported
//! beside the chosen one and the engine may refuse such a device ([`probe_md_all`]).
//!
//! A 1.x superblock whose `super_offset` names another sector is not this device's: it
//! belongs to a device starting elsewhere (typically a 1.0 member partition that ends where
//! its disk ends, seen through the whole disk). mdadm and libblkid skip it silently; it is
//! kept as [`Outcome::Misplaced`]. For 0.90, which has no such field, libblkid applies the
//! partition-table rule implemented by [`end_superblock_covers`].

use crate::error::{ErrorKind, FormatError, ProbeError};
use crate::formats::md::{self, MdSuper, MdVersion, SbKind, SbLocation, SB_BYTES};
use crate::probe::{format_err, read_array};
use crate::source::ReadAt;

/// What was found at one candidate location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Valid(Box<MdSuper>),
    /// An MD superblock that fails validation.
    Broken(FormatError),
    /// A 1.x superblock recording another `super_offset`: it belongs to another device.
    Misplaced(FormatError),
}

/// One location that held an MD magic number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub location: SbLocation,
    pub outcome: Outcome,
}

/// Everything found on one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MdProbe {
    /// Index into `candidates` of the superblock mdadm would use.
    pub chosen: Option<usize>,
    /// Every location holding an MD magic, in mdadm's order (0.90, 1.0, 1.1, 1.2).
    pub candidates: Vec<Candidate>,
}

impl MdProbe {
    pub fn chosen_super(&self) -> Option<&MdSuper> {
        match self.candidates.get(self.chosen?)?.outcome {
            Outcome::Valid(ref sb) => Some(sb),
            _ => None,
        }
    }
}

/// Reads and parses every candidate location of `dev`. Only read failures are errors here;
/// broken superblocks are reported in the result.
pub fn probe_md_all(name: &str, dev: &dyn ReadAt) -> Result<MdProbe, ProbeError> {
    let size = dev.size();
    let mut candidates = Vec::new();
    for loc in md::superblock_locations(size) {
        let off = loc.sector.saturating_mul(512);
        if off
            .checked_add(SB_BYTES as u64)
            .is_none_or(|end| end > size)
        {
            continue;
        }
        let buf = read_array::<SB_BYTES>(name, dev, off)?;
        let parsed = match loc.kind {
            SbKind::V090 => md::parse_v090(&buf, loc.sector),
            SbKind::V1 { minor } => md::parse_v1(&buf, minor, loc.sector),
        };
        let outcome = match parsed {
            Ok(None) => continue,
            Ok(Some(sb)) => match md::check_fits(&sb, size) {
                Ok(()) => Outcome::Valid(Box::new(sb)),
                Err(e) => Outcome::Broken(e),
            },
            Err(e) if is_misplaced(&e) => Outcome::Misplaced(e),
            Err(e) => Outcome::Broken(e),
        };
        candidates.push(Candidate {
            location: loc,
            outcome,
        });
    }
    let valid: Vec<(usize, &MdSuper)> = candidates
        .iter()
        .enumerate()
        .filter_map(|(i, c)| match &c.outcome {
            Outcome::Valid(sb) => Some((i, &**sb)),
            _ => None,
        })
        .collect();
    let chosen = choose(&valid.iter().map(|&(_, sb)| sb).collect::<Vec<_>>())
        .and_then(|k| valid.get(k))
        .map(|&(i, _)| i);
    Ok(MdProbe { chosen, candidates })
}

fn is_misplaced(e: &FormatError) -> bool {
    matches!(e.kind, ErrorKind::Field { field, .. } if field == md::FIELD_SUPER_OFFSET)
}

/// The MD superblock of `dev` as mdadm would use it: `Ok(None)` when there is none, the
/// chosen one when one or more are valid (the others are logged), else the first broken one
/// in mdadm's order.
pub fn probe_md(name: &str, dev: &dyn ReadAt) -> Result<Option<MdSuper>, ProbeError> {
    let p = probe_md_all(name, dev)?;
    let chosen = p.chosen_super().cloned();
    for (i, c) in p.candidates.iter().enumerate() {
        if Some(i) == p.chosen {
            continue;
        }
        match (&c.outcome, &chosen) {
            (Outcome::Valid(sb), Some(ch)) => log::warn!(
                "{name}: also holds an older MD {} superblock of array {} at sector {} \
                 (using {} {})",
                sb.version,
                sb.uuid,
                c.location.sector,
                ch.version,
                ch.uuid
            ),
            (Outcome::Broken(e), Some(ch)) => log::warn!(
                "{name}: ignoring a broken MD superblock ({e}); using {} {}",
                ch.version,
                ch.uuid
            ),
            (Outcome::Misplaced(e), _) => {
                log::debug!("{name}: MD superblock of another device ({e})")
            }
            _ => {}
        }
    }
    if chosen.is_some() {
        return Ok(chosen);
    }
    match p.candidates.into_iter().find_map(|c| match c.outcome {
        Outcome::Broken(e) => Some(e),
        _ => None,
    }) {
        Some(e) => Err(format_err(name, e)),
        None => Ok(None),
    }
}

/// mdadm's choice among valid superblocks of one device (`guess_super_type`,
/// `load_super1`), given in [`md::superblock_locations`] order: the index of the winner.
pub fn choose(valid: &[&MdSuper]) -> Option<usize> {
    // Best 1.x: latest 64-bit ctime, earlier minor on a tie.
    let mut best_v1: Option<usize> = None;
    for (i, sb) in valid.iter().enumerate() {
        if matches!(sb.version, MdVersion::V1 { .. })
            && best_v1.is_none_or(|b| valid[b].ctime_raw() < sb.ctime_raw())
        {
            best_v1 = Some(i);
        }
    }
    let v090 = valid
        .iter()
        .position(|sb| matches!(sb.version, MdVersion::V090 { .. }));
    match (v090, best_v1) {
        (Some(a), Some(b)) if valid[a].ctime_low32() < valid[b].ctime_low32() => Some(b),
        (Some(a), _) => Some(a),
        (None, b) => b,
    }
}

/// libblkid's rule for a 0.90 superblock found at the end of a whole disk (util-linux
/// `libblkid/src/superblocks/linux_raid.c: probe_raid0` with
/// `partitions/partitions.c: blkid_probe_is_covered_by_pt`): when the disk has a partition
/// table and one partition contains the whole member area the superblock describes — from
/// `size` KiB before the superblock to the end of its 64 KiB reserved block — the superblock
/// is the last partition's (both sit at the same place when the partition ends where the disk
/// ends), and the whole disk is not a RAID member. If any partition extends beyond the disk,
/// libblkid does not trust the table and the rule does not apply.
///
/// `sb` is the superblock read from the whole disk of `disk_size_bytes`; `partitions` are
/// (start, size) in 512-byte sectors, every entry of the table (libblkid counts extended
/// partitions too). Returns true when the whole disk's superblock is to be ignored. 1.x
/// superblocks need no such rule (their `super_offset` tells the devices apart), so this is
/// false for them. libblkid applies it to whole disks and regular files only.
pub fn end_superblock_covers(
    sb: &MdSuper,
    disk_size_bytes: u64,
    partitions: &[(u64, u64)],
) -> bool {
    if !matches!(sb.version, MdVersion::V090 { .. }) || partitions.is_empty() {
        return false;
    }
    let disk_sectors = disk_size_bytes / 512;
    if partitions
        .iter()
        .any(|&(start, len)| start.checked_add(len).is_none_or(|end| end > disk_sectors))
    {
        return false;
    }
    let off = sb.super_offset.saturating_mul(512);
    let size = sb.size.saturating_mul(512);
    let Some(area_start) = off.checked_sub(size) else {
        return false;
    };
    let start = area_start / 512;
    let end = off.saturating_add(64 * 1024) / 512;
    partitions
        .iter()
        .any(|&(pstart, plen)| start >= pstart && end <= pstart.saturating_add(plen))
}

#[cfg(test)]
mod tests {
    //! Golden tests against arrays made by mdadm 4.2 under Linux 6.1 in a VM
    //! (`tests/vm/md-fixtures.sh`): every member's superblock windows are committed, with
    //! mdadm's `--examine` / `--examine --export` of that member, `--detail`, the md sysfs
    //! attributes of the running array and libblkid's view of the MBR disks.
    use super::*;
    use crate::formats::md::{geom_for, member_area, MdRole};
    use crate::ids::uuid_bytes_str;
    use crate::source::sparse::SparseDev;
    use std::collections::HashMap;
    use std::path::{Path, PathBuf};
    use std::sync::Arc;

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/md/scenarios")
    }

    fn read(p: &Path) -> String {
        std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    /// KEY=VALUE lines (`--export`, blkid `-o export`, sysfs.txt).
    fn export(p: &Path) -> HashMap<String, String> {
        read(p)
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// `Key : Value` lines of mdadm --examine.
    fn examine(p: &Path) -> HashMap<String, String> {
        read(p)
            .lines()
            .filter_map(|l| l.split_once(" : "))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect()
    }

    fn first_word(v: &str) -> &str {
        v.split_whitespace().next().unwrap_or("")
    }

    fn scenarios() -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(root())
            .expect("tests/fixtures/md/scenarios")
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_dir())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        assert!(v.len() >= 25, "md scenarios missing: {v:?}");
        v
    }

    /// (index, guest device, start byte on its disk, size in bytes) per member.
    fn members(scen: &str) -> Vec<(usize, String, u64, u64)> {
        read(&root().join(scen).join("members"))
            .lines()
            .map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                (
                    f[0].parse().unwrap(),
                    f[1].to_string(),
                    f[2].parse().unwrap(),
                    f[3].parse().unwrap(),
                )
            })
            .collect()
    }

    fn sparse(scen: &str, file: &str) -> SparseDev {
        let p = root().join(scen).join(file);
        SparseDev::parse(&std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
            .unwrap()
    }

    fn level_name(level: i32) -> &'static str {
        match level {
            -1 => "linear",
            0 => "raid0",
            1 => "raid1",
            4 => "raid4",
            5 => "raid5",
            6 => "raid6",
            10 => "raid10",
            _ => "?",
        }
    }

    /// mdadm's layout names (`maps.c` r0layout/r5layout/r6layout, `print_r10_layout`).
    fn layout_name(sb: &MdSuper) -> String {
        let r5 = [
            "left-asymmetric",
            "right-asymmetric",
            "left-symmetric",
            "right-symmetric",
            "parity-first",
            "parity-last",
        ];
        match (sb.level, sb.layout) {
            (0, 1) => "original".into(),
            (0, 2) => "alternate".into(),
            (4..=6, l @ 0..=5) => r5[l as usize].into(),
            (6, 8) => "ddf-zero-restart".into(),
            (6, 9) => "ddf-N-restart".into(),
            (6, 10) => "ddf-N-continue".into(),
            (6, l @ 16..=20) => format!(
                "{}-6",
                [
                    "left-asymmetric",
                    "right-asymmetric",
                    "left-symmetric",
                    "right-symmetric",
                    "parity-first"
                ][l as usize - 16]
            ),
            (10, _) => {
                let (n, f, o) = sb.raid10_copies().unwrap();
                let mut parts = Vec::new();
                if n != 1 {
                    parts.push(format!("near={n}"));
                }
                if f != 1 {
                    parts.push(format!("{}={f}", if o { "offset" } else { "far" }));
                }
                parts.join(", ")
            }
            (_, l) => format!("?{l}"),
        }
    }

    fn colon_uuid(b: &[u8; 16]) -> String {
        crate::ids::MdUuid(*b).mdadm_str()
    }

    /// Compares a parsed superblock with mdadm's --examine text and --export of the same bytes.
    fn check_against_mdadm(
        what: &str,
        sb: &MdSuper,
        ex: &HashMap<String, String>,
        exp: &HashMap<String, String>,
    ) {
        let get = |k: &str| {
            ex.get(k)
                .map(String::as_str)
                .unwrap_or_else(|| panic!("{what}: no {k} in --examine"))
        };
        assert!(get("Checksum").ends_with("- correct"), "{what}");
        assert_eq!(get("Raid Level"), level_name(sb.level), "{what}");
        assert_eq!(get("Raid Devices"), sb.raid_disks.to_string(), "{what}");
        assert_eq!(get("Events"), sb.events.to_string(), "{what}");
        assert_eq!(exp["MD_LEVEL"], level_name(sb.level), "{what}");
        assert_eq!(exp["MD_DEVICES"], sb.raid_disks.to_string(), "{what}");
        assert_eq!(exp["MD_UUID"], sb.uuid.mdadm_str(), "{what}");
        assert_eq!(exp["MD_EVENTS"], sb.events.to_string(), "{what}");
        if matches!(sb.level, 5 | 6 | 10)
            || (sb.level == 0 && sb.feature_map & md::FEATURE_RAID0_LAYOUT != 0)
        {
            assert_eq!(get("Layout"), layout_name(sb), "{what}");
        }
        let chunk_k = (sb.chunk_sectors / 2).to_string() + "K";
        match sb.level {
            0 | 4 | 5 | 6 | 10 => assert_eq!(get("Chunk Size"), chunk_k, "{what}"),
            -1 => assert_eq!(get("Rounding"), chunk_k, "{what}"),
            _ => {}
        }
        match sb.version {
            MdVersion::V090 { .. } => {
                assert_eq!(get("Version"), "0.90.00", "{what}");
                assert_eq!(get("UUID"), sb.uuid.mdadm_str(), "{what}");
                assert_eq!(
                    get("Preferred Minor"),
                    sb.md_minor.unwrap().to_string(),
                    "{what}"
                );
                assert_eq!(
                    get("State"),
                    if sb.clean { "clean" } else { "active" },
                    "{what}"
                );
                assert_eq!(
                    ex.get("Internal Bitmap").map(String::as_str),
                    sb.bitmap.then_some("present"),
                    "{what}"
                );
                if sb.level > 0 {
                    assert_eq!(
                        first_word(get("Used Dev Size")),
                        (sb.size / 2).to_string(),
                        "{what}"
                    );
                }
                // mdadm's export_examine_super0 prints ctime under this name.
                assert_eq!(exp["MD_UPDATE_TIME"], sb.ctime.to_string(), "{what}");
                assert_eq!(sb.data_offset, 0);
                assert_eq!(sb.dev_number, sb.disks[sb.dev_number as usize].number);
            }
            MdVersion::V1 { minor } => {
                assert_eq!(get("Version"), format!("1.{minor}"), "{what}");
                assert_eq!(
                    get("Feature Map"),
                    format!("{:#x}", sb.feature_map),
                    "{what}"
                );
                assert_eq!(get("Array UUID"), sb.uuid.mdadm_str(), "{what}");
                assert_eq!(get("Name").split("  (").next().unwrap(), sb.name, "{what}");
                assert_eq!(exp["MD_NAME"], sb.name, "{what}");
                assert_eq!(exp["MD_UPDATE_TIME"], sb.utime.to_string(), "{what}");
                let dev_uuid = colon_uuid(&sb.device_uuid.unwrap());
                assert_eq!(get("Device UUID"), dev_uuid, "{what}");
                assert_eq!(exp["MD_DEV_UUID"], dev_uuid, "{what}");
                assert_eq!(
                    first_word(get("Avail Dev Size")),
                    sb.data_size.to_string(),
                    "{what}"
                );
                assert_eq!(
                    first_word(get("Super Offset")),
                    sb.super_offset.to_string(),
                    "{what}"
                );
                assert_eq!(
                    ex.get("Data Offset").map(|v| first_word(v).to_string()),
                    (sb.data_offset != 0).then(|| sb.data_offset.to_string()),
                    "{what}"
                );
                // mdadm compares the level as unsigned: linear prints it too.
                if sb.level != 0 {
                    let used = ex
                        .get("Used Dev Size")
                        .map_or(sb.data_size.to_string(), |v| first_word(v).to_string());
                    assert_eq!(used, sb.size.to_string(), "{what}");
                }
                assert_eq!(
                    get("State"),
                    if sb.clean { "clean" } else { "active" },
                    "{what}"
                );
                assert_eq!(
                    ex.get("Internal Bitmap").map(|v| first_word(v).to_string()),
                    sb.bitmap_offset.map(|o| o.to_string()),
                    "{what}"
                );
                assert_eq!(
                    ex.get("Recovery Offset").map(|v| first_word(v).to_string()),
                    sb.recovery_offset.map(|o| o.to_string()),
                    "{what}"
                );
                let role = match sb.role {
                    MdRole::Active(s) => format!("Active device {s}"),
                    MdRole::Replacement(s) => format!("Replacement device {s}"),
                    MdRole::Spare | MdRole::Faulty => "spare".into(),
                    MdRole::Journal => "Journal".into(),
                };
                assert_eq!(get("Device Role"), role, "{what}");
                let state: String = (0..sb.raid_disks)
                    .map(|slot| {
                        match sb
                            .dev_roles
                            .iter()
                            .filter(|&&r| u32::from(r) == slot)
                            .count()
                        {
                            0 => '.',
                            1 => 'A',
                            2 => 'R',
                            _ => '?',
                        }
                    })
                    .collect();
                assert_eq!(first_word(get("Array State")), state, "{what}");
            }
        }
    }

    #[test]
    fn every_member_matches_mdadm_examine() {
        let mut checked = 0;
        for scen in scenarios() {
            for (k, dev, _, size) in members(&scen) {
                let d = sparse(&scen, &format!("m{k}.spr"));
                assert_eq!(d.size(), size);
                let what = format!("{scen} member {k} ({dev})");
                let sb = probe_md(&dev, &d)
                    .unwrap()
                    .unwrap_or_else(|| panic!("{what}: nothing found"));
                let dir = root().join(&scen);
                check_against_mdadm(
                    &what,
                    &sb,
                    &examine(&dir.join(format!("examine-{k}.txt"))),
                    &export(&dir.join(format!("examine-{k}.export"))),
                );
                checked += 1;
            }
        }
        assert!(checked >= 70, "only {checked} members");
    }

    /// The members of a scenario as the engine would pass them: by slot, fresh ones only.
    fn array_of(
        scen: &str,
    ) -> (
        MdSuper,
        Vec<Option<crate::source::layout::Layout>>,
        Vec<MdSuper>,
    ) {
        let sbs: Vec<(MdSuper, SparseDev)> = members(scen)
            .into_iter()
            .map(|(k, dev, _, _)| {
                let d = sparse(scen, &format!("m{k}.spr"));
                (probe_md(&dev, &d).unwrap().unwrap(), d)
            })
            .collect();
        let fresh = sbs.iter().map(|(sb, _)| sb.events).max().unwrap();
        let best = sbs
            .iter()
            .find(|(sb, _)| sb.events == fresh)
            .unwrap()
            .0
            .clone();
        let mut slots = vec![None; best.raid_disks as usize];
        for (sb, d) in &sbs {
            if let (MdRole::Active(s), true) = (sb.role, sb.events == fresh) {
                slots[s as usize] = Some(member_area(sb, Arc::new(d.clone())));
            }
        }
        (best, slots, sbs.into_iter().map(|(sb, _)| sb).collect())
    }

    #[test]
    fn array_geometry_matches_the_kernel() {
        for scen in scenarios() {
            let sys = export(&root().join(&scen).join("sysfs.txt"));
            let (best, slots, sbs) = array_of(&scen);
            let layout = geom_for(&best, slots).unwrap_or_else(|e| panic!("{scen}: {e}"));
            let size: u64 = sys["size"].parse().unwrap();
            assert_eq!(layout.len(), size * 512, "{scen}: array size");
            if best.level >= 1 {
                assert_eq!(best.array_size, size, "{scen}");
                assert_eq!(sys["component_size"], (best.size / 2).to_string(), "{scen}");
            }
            assert_eq!(sys["level"], level_name(best.level), "{scen}");
            assert_eq!(sys["raid_disks"], best.raid_disks.to_string(), "{scen}");
            assert_eq!(sys["metadata_version"], best.version.to_string(), "{scen}");
            if best.level != 1 {
                assert_eq!(
                    sys["chunk_size"],
                    (u64::from(best.chunk_sectors) * 512).to_string(),
                    "{scen}"
                );
            }
            let detail = export(&root().join(&scen).join("detail.export"));
            assert_eq!(detail["MD_METADATA"], best.version.to_string(), "{scen}");
            assert_eq!(detail["MD_UUID"], best.uuid.mdadm_str(), "{scen}");
            // Per member: the kernel's data offset, size (KiB) and slot.
            for ((_, dev, _, _), sb) in members(&scen).iter().zip(&sbs) {
                let Some(line) = sys
                    .keys()
                    .find(|k| k.starts_with(&format!("dev-{dev} ")))
                    .cloned()
                else {
                    // Failed members leave the array before it is recorded.
                    continue;
                };
                let v = format!("{line}={}", sys[&line]);
                let f: HashMap<&str, &str> = v
                    .split_whitespace()
                    .skip(1)
                    .filter_map(|x| x.split_once('='))
                    .collect();
                assert_eq!(f["offset"], sb.data_offset.to_string(), "{scen} {dev}");
                let sectors = if sb.level <= 0 {
                    sb.component_size
                } else {
                    sb.data_size
                };
                assert_eq!(f["size"], (sectors / 2).to_string(), "{scen} {dev}");
                let slot = match sb.role {
                    MdRole::Active(s) if f["state"] != "faulty" => s.to_string(),
                    _ => "none".into(),
                };
                assert_eq!(f["slot"], slot, "{scen} {dev}");
            }
        }
    }

    #[test]
    fn big_endian_090_matches_mdadm_swap_view() {
        for (k, dev, _, _) in members("r1-090") {
            let le = probe_md(&dev, &sparse("r1-090", &format!("m{k}.spr")))
                .unwrap()
                .unwrap();
            let be = probe_md(&dev, &sparse("r1-090", &format!("m{k}-be.spr")))
                .unwrap()
                .unwrap();
            assert_eq!(le.version, MdVersion::V090 { big_endian: false });
            assert_eq!(be.version, MdVersion::V090 { big_endian: true });
            assert_eq!(
                MdSuper {
                    version: le.version,
                    ..be.clone()
                },
                le
            );
            let dir = root().join("r1-090");
            check_against_mdadm(
                &format!("r1-090 big-endian member {k}"),
                &be,
                &examine(&dir.join(format!("be-examine-{k}.txt"))),
                &export(&dir.join(format!("be-examine-{k}.export"))),
            );
        }
        // mdadm --assemble --update=byteorder of the swapped members gave the same data.
        assert_eq!(
            read(&root().join("r1-090/be-sha256")),
            read(&root().join("r1-090/sha256"))
        );
    }

    #[test]
    fn older_superblock_left_on_a_device_follows_mdadm_choice() {
        for (scen, other_file, other_version) in [
            (
                "stale-090-12",
                "e090",
                MdVersion::V090 { big_endian: false },
            ),
            ("stale-12-090", "e12", MdVersion::V1 { minor: 2 }),
        ] {
            for (k, dev, _, _) in members(scen) {
                let d = sparse(scen, &format!("m{k}.spr"));
                let p = probe_md_all(&dev, &d).unwrap();
                let valid: Vec<&MdSuper> = p
                    .candidates
                    .iter()
                    .filter_map(|c| match &c.outcome {
                        Outcome::Valid(sb) => Some(&**sb),
                        _ => None,
                    })
                    .collect();
                assert_eq!(valid.len(), 2, "{scen} {k}: {p:?}");
                let chosen = p.chosen_super().unwrap();
                // mdadm --examine (no -e) printed the newer one, the chosen one here.
                let ex = examine(&root().join(scen).join(format!("examine-{k}.txt")));
                assert_eq!(ex["Events"], chosen.events.to_string());
                assert_ne!(chosen.version, other_version, "{scen} {k}");
                let other = valid.iter().find(|sb| sb.version == other_version).unwrap();
                assert!(other.ctime < chosen.ctime);
                let exo = examine(
                    &root()
                        .join(scen)
                        .join(format!("examine-{k}-{other_file}.txt")),
                );
                let uuid = exo.get("UUID").or(exo.get("Array UUID")).unwrap();
                assert_eq!(uuid, &other.uuid.mdadm_str(), "{scen} {k}");
                assert_eq!(exo["Events"], other.events.to_string(), "{scen} {k}");
            }
        }
    }

    #[test]
    fn choice_prefers_090_on_equal_ctime_and_latest_1x() {
        let (_, _, sbs) = array_of("stale-090-12");
        let d = sparse("stale-090-12", "m0.spr");
        let p = probe_md_all("x", &d).unwrap();
        let mut v: Vec<MdSuper> = p
            .candidates
            .iter()
            .filter_map(|c| match &c.outcome {
                Outcome::Valid(sb) => Some((**sb).clone()),
                _ => None,
            })
            .collect();
        assert_eq!(v[0].version, MdVersion::V090 { big_endian: false });
        assert_eq!(choose(&[&v[0], &v[1]]), Some(1));
        v[1].ctime = v[0].ctime;
        assert_eq!(choose(&[&v[0], &v[1]]), Some(0));
        v[1].ctime = v[0].ctime + 1;
        let mut w = v[1].clone();
        w.version = MdVersion::V1 { minor: 0 };
        assert_eq!(
            choose(&[&w, &v[1]]),
            Some(0),
            "tie between 1.x: lower minor"
        );
        w.ctime_usec = 1;
        assert_eq!(choose(&[&v[1], &w]), Some(1));
        assert_eq!(choose(&[]), None);
        assert!(!sbs.is_empty());
    }

    #[test]
    fn whole_disk_views_match_libblkid_and_mdadm() {
        for (scen, _) in [("r1-090", ()), ("r1-10-bitmap", ())] {
            for (k, dev, start, size) in members(scen) {
                let disk = sparse(scen, &format!("disk{k}.spr"));
                let whole = dev.trim_end_matches('1');
                let mdadm_whole = export(&root().join(format!("examine-whole-{whole}.export")));
                let blkid_disk = export(&root().join(scen).join(format!("blkid-disk-{k}.export")));
                let blkid_part = export(&root().join(scen).join(format!("blkid-part-{k}.export")));
                assert_eq!(blkid_disk["PTTYPE"], "dos");
                assert!(
                    !blkid_disk.contains_key("TYPE"),
                    "{scen}: libblkid claims the disk"
                );
                assert_eq!(blkid_part["TYPE"], "linux_raid_member");
                let p = probe_md_all(whole, &disk).unwrap();
                let parts = [(start / 512, size / 512)];
                match p.chosen_super() {
                    // 0.90: the same superblock is visible through the whole disk; mdadm
                    // reports it there, libblkid does not because the partition covers it.
                    Some(sb) => {
                        assert_eq!(scen, "r1-090");
                        assert_eq!(mdadm_whole["MD_UUID"], sb.uuid.mdadm_str());
                        assert!(end_superblock_covers(sb, disk.size(), &parts));
                        // Seen through the partition itself there is no table: not covered.
                        let part = sparse(scen, &format!("m{k}.spr"));
                        let psb = probe_md(&dev, &part).unwrap().unwrap();
                        assert!(!end_superblock_covers(&psb, part.size(), &[]));
                        assert_eq!(blkid_part["UUID"], uuid_bytes_str(&psb.uuid.0));
                        // A table whose partition runs past the disk is not trusted.
                        assert!(!end_superblock_covers(
                            sb,
                            disk.size(),
                            &[(start / 512, size / 512 + 1)]
                        ));
                        // A partition ending before the superblock's area does not cover it.
                        assert!(!end_superblock_covers(
                            sb,
                            disk.size(),
                            &[(start / 512, size / 512 - 128)]
                        ));
                    }
                    // 1.0: the partition's superblock records a partition-relative offset,
                    // so neither mdadm nor libblkid takes it for the disk's.
                    None => {
                        assert_eq!(scen, "r1-10-bitmap");
                        assert!(mdadm_whole.is_empty());
                        assert!(
                            matches!(
                                p.candidates[..],
                                [Candidate {
                                    outcome: Outcome::Misplaced(_),
                                    ..
                                }]
                            ),
                            "{p:?}"
                        );
                        assert_eq!(probe_md(whole, &disk).unwrap(), None);
                    }
                }
            }
        }
    }
}
