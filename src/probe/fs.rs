//! Identification superblocks on one device: walks the ordered registry
//! `formats::fs::PROBERS`, reads what each probe needs (one fixed region for most; the root
//! directory chain for FAT; the secondary header offsets for LUKS2) and applies blkid's
//! safeprobe policy: a crypto signature ends the search, two filesystem signatures are
//! ambiguous. Also reads the EVMS feature header copies at the end of an object.

use crate::error::{FormatError, ProbeError};
use crate::formats::evms::{self, EvmsInfo};
use crate::formats::fs::{
    btrfs, erofs, ext, squashfs, swap, vfat, xfs, FsInfo, Prober, Usage, PROBERS,
};
use crate::formats::luks;
use crate::probe::{format_err, read, read_array};
use crate::source::ReadAt;

/// blkid ignores devices of 1024 bytes or less (`superblocks_probe`: "Ignore very very small
/// block devices or regular files (e.g. extended partitions)").
const MIN_DEVICE_SIZE: u64 = 1025;
/// blkid's "tiny" devices (floppies, `blkid_probe_is_tiny`): the first signature wins, no
/// ambiguity check.
const TINY_DEVICE_SIZE: u64 = 1440 * 1024;

/// Outcome of one prober on one device.
type Probed = Result<Option<FsInfo>, FormatError>;

/// Reads `N` bytes at `off` when the device is large enough, `None` otherwise (a probe whose
/// region lies beyond the end does not match, as blkid's failed buffer read).
fn region<const N: usize>(
    name: &str,
    dev: &dyn ReadAt,
    off: u64,
) -> Result<Option<[u8; N]>, ProbeError> {
    let fits = off
        .checked_add(u64::try_from(N).unwrap_or(u64::MAX))
        .is_some_and(|end| end <= dev.size());
    if fits {
        read_array::<N>(name, dev, off).map(Some)
    } else {
        Ok(None)
    }
}

/// Like [`region`] for a length known only at run time.
fn region_vec(
    name: &str,
    dev: &dyn ReadAt,
    off: u64,
    len: u64,
) -> Result<Option<Vec<u8>>, ProbeError> {
    let fits = off.checked_add(len).is_some_and(|end| end <= dev.size());
    if fits && len <= crate::source::MAX_READ {
        read(name, dev, off, len).map(Some)
    } else {
        Ok(None)
    }
}

fn probe_luks(name: &str, dev: &dyn ReadAt) -> Result<Probed, ProbeError> {
    let primary = match region::<{ luks::HDR_READ }>(name, dev, 0)? {
        Some(h) => luks::parse(&h, 0),
        None => return Ok(Ok(None)),
    };
    if let Ok(Some(info)) = primary {
        return Ok(Ok(Some(info)));
    }
    for off in luks::SECONDARY_OFFSETS {
        let Some(h) = region::<{ luks::HDR_READ }>(name, dev, off)? else {
            break;
        };
        if let Ok(Some(info)) = luks::parse(&h, off) {
            return Ok(Ok(Some(info)));
        }
    }
    Ok(primary)
}

fn probe_vfat(name: &str, dev: &dyn ReadAt) -> Result<Probed, ProbeError> {
    let Some(sector) = region::<{ vfat::BOOT_READ }>(name, dev, 0)? else {
        return Ok(Ok(None));
    };
    let Some(boot) = vfat::parse_boot(&sector) else {
        return Ok(Ok(None));
    };
    let mut label = None;
    if let Some((off, len)) = boot.root_dir_region() {
        if let Some(dir) = region_vec(name, dev, off, len)? {
            label = vfat::search_label(&dir);
        }
    } else if let Some(mut cluster) = boot.root_cluster() {
        // blkid: while (next && next < entries && --maxloop)
        for _ in 1..vfat::FAT32_MAX_LOOP {
            if !boot.cluster_in_fat(cluster) {
                break;
            }
            let Some((off, len)) = boot.cluster_region(cluster) else {
                break;
            };
            let Some(dir) = region_vec(name, dev, off, len)? else {
                break;
            };
            label = vfat::search_label(&dir);
            if label.is_some() {
                break;
            }
            let Some(entry_off) = boot.fat_entry_offset(cluster) else {
                break;
            };
            let Some(entry) = region::<4>(name, dev, entry_off)? else {
                break;
            };
            cluster = vfat::VfatBoot::next_cluster(entry);
        }
        if let Some(off) = boot.fsinfo_offset() {
            match region::<512>(name, dev, off)? {
                Some(fsinfo) if vfat::VfatBoot::fsinfo_ok(&fsinfo) => {}
                _ => return Ok(Ok(None)),
            }
        }
    }
    Ok(Ok(Some(boot.finish(label))))
}

fn run(p: Prober, name: &str, dev: &dyn ReadAt) -> Result<Probed, ProbeError> {
    Ok(match p {
        Prober::Luks => return probe_luks(name, dev),
        Prober::Vfat => return probe_vfat(name, dev),
        Prober::Swap => {
            if dev.size() < swap::MIN_DEVICE_SIZE {
                return Ok(Ok(None));
            }
            let len = dev.size().min(swap::READ_LEN as u64);
            // The magics first: a device without one (nearly all) needs no 64 KiB buffer.
            let mut magic = false;
            for off in swap::MAGIC_OFFSETS.map(|o| o as u64) {
                if off + 10 > len {
                    break;
                }
                if swap::MAGICS.contains(&&read_array::<10>(name, dev, off)?) {
                    magic = true;
                    break;
                }
            }
            if !magic {
                return Ok(Ok(None));
            }
            let buf = read(name, dev, 0, len)?;
            swap::parse(&buf)
        }
        Prober::Xfs => match region::<{ xfs::SB_READ }>(name, dev, xfs::SB_OFFSET)? {
            Some(sb) => xfs::parse(&sb),
            None => Ok(None),
        },
        Prober::Ext => match region::<{ ext::SB_READ }>(name, dev, ext::SB_OFFSET)? {
            Some(sb) => ext::parse(&sb),
            None => Ok(None),
        },
        Prober::Squashfs => {
            match region::<{ squashfs::SB_READ }>(name, dev, squashfs::SB_OFFSET)? {
                Some(sb) => squashfs::parse(&sb),
                None => Ok(None),
            }
        }
        Prober::Btrfs => {
            if dev.size() < btrfs::MIN_DEVICE_SIZE {
                return Ok(Ok(None));
            }
            match region::<{ btrfs::SB_READ }>(name, dev, btrfs::SB_OFFSET)? {
                Some(sb) => btrfs::parse(&sb),
                None => Ok(None),
            }
        }
        Prober::Erofs => match region::<{ erofs::SB_READ }>(name, dev, erofs::SB_OFFSET)? {
            Some(sb) => erofs::parse(&sb),
            None => Ok(None),
        },
    })
}

/// Identifies the filesystem (or LUKS header) on `dev` as `blkid -p` does. `Ok(None)`: no
/// signature. `Err(Format)`: a signature whose fields are broken (and no valid one), or two
/// valid filesystem signatures (blkid: "ambivalent result"), which must not be guessed
/// between: mounting the wrong one can destroy the other.
pub fn probe_filesystem(name: &str, dev: &dyn ReadAt) -> Result<Option<FsInfo>, ProbeError> {
    if dev.size() < MIN_DEVICE_SIZE {
        return Ok(None);
    }
    let tiny = dev.size() <= TINY_DEVICE_SIZE;
    let mut found: Vec<FsInfo> = Vec::new();
    let mut broken: Option<FormatError> = None;
    for p in PROBERS {
        match run(p, name, dev)? {
            Ok(Some(info)) => {
                // safeprobe: the first crypto (or RAID) signature is the answer; on tiny
                // devices the first signature of any kind.
                if info.usage == Usage::Crypto || (tiny && found.is_empty()) {
                    return Ok(Some(info));
                }
                found.push(info);
            }
            Ok(None) => {}
            Err(e) => {
                broken.get_or_insert(e);
            }
        }
    }
    match found.len() {
        0 => broken.map_or(Ok(None), |e| Err(format_err(name, e))),
        1 => Ok(found.pop()),
        _ => {
            let names: Vec<&str> = found.iter().map(|f| f.fstype).collect();
            Err(format_err(
                name,
                FormatError::field(
                    "blkid",
                    0,
                    "signature",
                    format!("{} signatures: {}", names.len(), names.join(", ")),
                    "exactly one filesystem signature (blkid: ambivalent result)",
                ),
            ))
        }
    }
}

/// Reads the two EVMS feature-header copies at the end of `dev` (an EVMS object: a disk,
/// segment or region). `Ok(None)`: no EVMS feature header.
pub fn probe_evms(name: &str, dev: &dyn ReadAt) -> Result<Option<EvmsInfo>, ProbeError> {
    let hs = evms::HEADER_SIZE as u64;
    let sectors = dev.size() / hs;
    if sectors < 2 {
        return Ok(None);
    }
    let copy = |lba: u64, which| -> Result<Result<Option<EvmsInfo>, FormatError>, ProbeError> {
        let at = lba * hs;
        let b: [u8; evms::HEADER_SIZE] = read_array(name, dev, at)?;
        Ok(evms::parse_feature_header(&b, at, which))
    };
    let primary = copy(sectors - 1, evms::Copy::Primary)?;
    let secondary = copy(sectors - 2, evms::Copy::Secondary)?;
    evms::choose(primary, secondary).map_err(|e| format_err(name, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::part::golden::kv_blocks;
    use crate::source::sparse::SparseDev;
    use crate::source::MemDev;

    macro_rules! fixture {
        ($d:literal) => {
            (
                $d,
                include_bytes!(concat!("../../tests/fixtures/fs/", $d, "/disk.spr")) as &[u8],
                include_str!(concat!("../../tests/fixtures/fs/", $d, "/expected.blkid")),
            )
        };
    }

    const FIXTURES: [(&str, &[u8], &str); 18] = [
        fixture!("ext2"),
        fixture!("ext3"),
        fixture!("ext4"),
        fixture!("ext4-nojournal"),
        fixture!("xfs"),
        fixture!("btrfs"),
        fixture!("vfat12"),
        fixture!("vfat16"),
        fixture!("vfat32"),
        fixture!("vfat16-nolabel"),
        fixture!("vfat16-bootlabel"),
        fixture!("swap"),
        fixture!("swap64k"),
        fixture!("squashfs"),
        fixture!("erofs"),
        fixture!("erofs-label"),
        fixture!("luks1"),
        fixture!("luks2"),
    ];

    fn dev(name: &str) -> SparseDev {
        let f = FIXTURES.iter().find(|f| f.0 == name).unwrap();
        SparseDev::parse(f.1).unwrap()
    }

    fn probe(d: &SparseDev) -> Result<Option<FsInfo>, ProbeError> {
        probe_filesystem("fixture", d)
    }

    fn format_error(r: Result<Option<FsInfo>, ProbeError>) -> FormatError {
        match r {
            Err(ProbeError::Format { err, .. }) => err,
            other => panic!("expected a format error, got {other:?}"),
        }
    }

    #[test]
    fn golden_every_field_matches_blkid() {
        for (name, img, expected) in FIXTURES {
            let d = SparseDev::parse(img).unwrap();
            let info = probe(&d)
                .unwrap()
                .unwrap_or_else(|| panic!("{name}: nothing"));
            let e = &kv_blocks(expected)[0];
            let get = |k: &str| e.get(k).map(|s| s.as_str());
            assert_eq!(Some(info.fstype), get("TYPE"), "{name}");
            assert_eq!(Some(info.usage.as_str()), get("USAGE"), "{name}");
            assert_eq!(info.uuid.as_deref(), get("UUID"), "{name}");
            assert_eq!(info.label.as_deref(), get("LABEL"), "{name}");
            assert_eq!(info.version.as_deref(), get("VERSION"), "{name}");
            assert_eq!(info.uuid_sub.as_deref(), get("UUID_SUB"), "{name}");
        }
    }

    #[test]
    fn fat_boot_label_is_only_label_fatboot() {
        let d = dev("vfat16-bootlabel");
        let sector: [u8; 512] = read_array("f", &d, 0).unwrap();
        let boot = vfat::parse_boot(&sector).unwrap();
        let e = &kv_blocks(FIXTURES[10].2)[0];
        assert_eq!(
            boot.boot_label().as_deref(),
            Some(e["LABEL_FATBOOT"].as_str())
        );
        assert_eq!(probe(&d).unwrap().unwrap().label, None);
    }

    #[test]
    fn magic_removed_is_nothing() {
        for (name, off, len) in [
            ("ext4", 0x438, 2),
            ("xfs", 0, 4),
            ("btrfs", 0x10040, 8),
            ("swap", 0xFF6, 10),
            ("squashfs", 0, 4),
            ("erofs", 1024, 4),
            ("luks1", 0, 6),
        ] {
            let mut d = dev(name);
            d.patch(off, &vec![0u8; len]);
            assert_eq!(probe(&d).unwrap(), None, "{name}");
        }
    }

    #[test]
    fn luks2_secondary_header_is_found() {
        let mut d = dev("luks2");
        d.patch(0, &[0; 6]);
        let info = probe(&d).unwrap().unwrap();
        assert_eq!(
            info.uuid.as_deref(),
            Some("9d8c7b6a-5948-4372-a610-0f1e2d3c4b5b")
        );
        assert_eq!(info.label.as_deref(), Some("luks2-label"));
        // A primary header that claims to be elsewhere, and no secondary: named error.
        let mut d = dev("luks2");
        d.patch(0x100, &4096u64.to_be_bytes());
        assert!(probe(&d).unwrap().is_some(), "the secondary still answers");
        d.patch(0x4000, &[0; 6]);
        assert_eq!(
            format_error(probe(&d)),
            FormatError::field("luks", 0x100, "hdr_offset", 4096, 0)
        );
    }

    #[test]
    fn luks_wins_over_a_filesystem_signature() {
        let mut d = dev("luks1");
        let ext = dev("ext4");
        d.patch(1024, &ext.get(1024, 512));
        assert_eq!(probe(&d).unwrap().unwrap().fstype, "crypto_LUKS");
    }

    #[test]
    fn two_filesystems_are_ambiguous() {
        let e = format_error(probe(&dev_with_swap_and_xfs()));
        assert_eq!(
            e,
            FormatError::field(
                "blkid",
                0,
                "signature",
                "2 signatures: swap, xfs",
                "exactly one filesystem signature (blkid: ambivalent result)"
            )
        );
    }

    /// An xfs fixture with a swap signature written into its first page: both valid.
    fn dev_with_swap_and_xfs() -> SparseDev {
        let mut d = dev("xfs");
        let s = dev("swap");
        d.patch(1024, &s.get(1024, 512));
        d.patch(0xFF6, b"SWAPSPACE2");
        d
    }

    #[test]
    fn swap_field_checks() {
        let mut d = dev("swap");
        d.patch(1024, &2u32.to_le_bytes());
        assert_eq!(
            format_error(probe(&d)),
            FormatError::field("swap", 1024, "version", 2, "1 (either byte order)")
        );
        let mut d = dev("swap");
        d.patch(1028, &0u32.to_le_bytes());
        assert_eq!(
            format_error(probe(&d)),
            FormatError::field("swap", 1028, "lastpage", 0, "not 0")
        );
        // Garbage in padding[32]: type and version stay, UUID and label are not trusted.
        let mut d = dev("swap");
        d.patch(1024 + 44 + 128, &[1]);
        let i = probe(&d).unwrap().unwrap();
        assert_eq!(
            (i.uuid, i.label, i.version.as_deref()),
            (None, None, Some("1"))
        );
    }

    #[test]
    fn xfs_sanity_checks_name_the_field() {
        let field = |e: FormatError| match e.kind {
            crate::error::ErrorKind::Field { field, .. } => (e.offset, field),
            other => panic!("{other:?}"),
        };
        for (off, bytes, expected) in [
            (0x58usize, &0u32.to_be_bytes()[..], (0x58, "sb_agcount")),
            (0x66, &1000u16.to_be_bytes()[..], (0x66, "sb_sectsize")),
            (0x04, &4097u32.to_be_bytes()[..], (0x04, "sb_blocksize")),
            (0x68, &100u16.to_be_bytes()[..], (0x68, "sb_inodesize")),
            (0x7B, &[0u8][..], (0x7B, "sb_inopblog")),
            (0x50, &0u32.to_be_bytes()[..], (0x50, "sb_rextsize")),
            (0x7F, &[101u8][..], (0x7F, "sb_imax_pct")),
            (0x08, &0u64.to_be_bytes()[..], (0x08, "sb_dblocks")),
        ] {
            let mut d = dev("xfs");
            d.patch(off as u64, bytes);
            assert_eq!(field(format_error(probe(&d))), expected);
        }
    }

    #[test]
    fn ext_features_decide_the_type() {
        // ext3 fixture with the extents feature: ext4.
        let mut d = dev("ext3");
        let fi = crate::formats::bytes::le32(&d.get(0x460, 4), 0).unwrap();
        d.patch(0x460, &(fi | 0x40).to_le_bytes());
        assert_eq!(probe(&d).unwrap().unwrap().fstype, "ext4");
        // ext3 fixture without its journal flag: ext2.
        let mut d = dev("ext3");
        let fc = crate::formats::bytes::le32(&d.get(0x45C, 4), 0).unwrap();
        d.patch(0x45C, &(fc & !4).to_le_bytes());
        assert_eq!(probe(&d).unwrap().unwrap().fstype, "ext2");
    }

    #[test]
    fn vfat_checks_and_fat32_fsinfo() {
        // No FAT copies: not FAT at all (blkid's fat_valid_superblock).
        let mut d = dev("vfat16");
        d.patch(0x10, &[0]);
        assert_eq!(probe(&d).unwrap(), None);
        // FAT32 with a garbage FSInfo signature: not FAT for blkid.
        let mut d = dev("vfat32");
        let fsinfo = u64::from(crate::formats::bytes::le16(&d.get(0x30, 2), 0).unwrap()) * 512;
        d.patch(fsinfo, b"XXXX");
        assert_eq!(probe(&d).unwrap(), None);
        // Serial all zero: no UUID.
        let mut d = dev("vfat12");
        d.patch(0x27, &[0; 4]);
        assert_eq!(probe(&d).unwrap().unwrap().uuid, None);
    }

    #[test]
    fn random_damage_never_panics() {
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let next = |s: &mut u64| crate::probe::part::tests::xorshift(s);
        for (name, img, _) in FIXTURES {
            let clean = SparseDev::parse(img).unwrap();
            // Damage only where the probes read: the stored (non-zero) sectors.
            let mut hot = Vec::new();
            let mut off = 0u64;
            while off < clean.size().min(4 << 20) {
                if clean.get(off, 512).iter().any(|&b| b != 0) {
                    hot.push(off);
                }
                off += 512;
            }
            hot.push(0x10000);
            for _ in 0..300 {
                let mut d = clean.clone();
                for _ in 0..1 + next(&mut seed) % 6 {
                    let i = usize::try_from(next(&mut seed) % hot.len() as u64).unwrap();
                    let at = hot[i] + next(&mut seed) % 512;
                    d.patch(at, &[u8::try_from(next(&mut seed) & 0xFF).unwrap()]);
                }
                let _ = probe(&d);
                let _ = probe_evms(name, &d);
            }
        }
    }

    #[test]
    fn small_devices() {
        assert_eq!(
            probe_filesystem("m", &MemDev::new(vec![0; 1024])).unwrap(),
            None
        );
        // A truncated ext4 image (only its first 1500 bytes): the superblock is cut, nothing.
        let d = dev("ext4");
        let m = MemDev::new(d.get(0, 1500));
        assert_eq!(probe_filesystem("m", &m).unwrap(), None);
    }

    #[test]
    fn evms_feature_headers_from_the_documented_layout() {
        use crate::formats::evms::tests::header;
        let size = 64 * 512;
        let mut img = vec![0u8; size];
        assert_eq!(probe_evms("e", &MemDev::new(img.clone())).unwrap(), None);
        img[size - 512..].copy_from_slice(&header("sdb1", "/dev/evms/data", 4, true));
        img[size - 1024..size - 512].copy_from_slice(&header("sdb1", "/dev/evms/data", 3, true));
        let i = probe_evms("e", &MemDev::new(img.clone())).unwrap().unwrap();
        assert_eq!(
            (i.volume_name.as_str(), i.copy),
            ("/dev/evms/data", evms::Copy::Primary)
        );
        assert_eq!(i.warnings.len(), 1, "sequence numbers differ");
        // Primary damaged: the secondary is used, the primary's fault is kept.
        img[size - 512 + 300] ^= 1;
        let i = probe_evms("e", &MemDev::new(img.clone())).unwrap().unwrap();
        assert_eq!(i.copy, evms::Copy::Secondary);
        assert_eq!(i.warnings[0].offset, (size - 512 + 4) as u64);
        // Both damaged: the primary's error.
        img[size - 1024 + 300] ^= 1;
        match probe_evms("e", &MemDev::new(img)) {
            Err(ProbeError::Format { err, .. }) => assert_eq!(err.offset, (size - 512 + 4) as u64),
            other => panic!("{other:?}"),
        }
    }
}
