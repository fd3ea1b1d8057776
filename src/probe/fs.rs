//! Identification superblocks on one device: walks the ordered registry
//! `formats::fs::PROBERS`, reads what each probe needs (one fixed region for most; chains for
//! FAT and exFAT directories, ISO 9660 and UDF descriptors, NTFS MFT records; two copies for
//! LUKS2 and NILFS2; the end of the device for DRBD, IMSM, DDF, ZFS) and applies blkid's
//! safeprobe policy: a RAID or crypto signature ends the search, two filesystem signatures are
//! ambiguous unless all are "tolerant" (iso9660, udf). Containers (the registry's first
//! stage) are probed apart, before partition tables (`probe::probe_device`). Also reads the
//! EVMS feature header copies at the end of an object.

use crate::error::{FormatError, ProbeError};
use crate::formats::evms::{self, EvmsInfo};
use crate::formats::fs::{
    bcache, bcachefs, bitlocker, btrfs, cramfs, drbd, erofs, exfat, ext, f2fs, iso9660, jfs, minix,
    nilfs2, ntfs, raid, reiserfs, romfs, squashfs, swap, udf, vdo, vfat, xfs, zfs, FsInfo, Prober,
    Stage, Usage, PROBERS,
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
) -> Result<Option<Box<[u8; N]>>, ProbeError> {
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
            cluster = vfat::VfatBoot::next_cluster(*entry);
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

/// A probe that reads one fixed region and hands it to a pure parser.
fn fixed<const N: usize>(
    name: &str,
    dev: &dyn ReadAt,
    off: u64,
    parse: impl Fn(&[u8; N]) -> Probed,
) -> Result<Probed, ProbeError> {
    Ok(match region::<N>(name, dev, off)? {
        Some(b) => parse(&b).map_err(|e| e.rebase(off)),
        None => Ok(None),
    })
}

fn probe_swap_area(name: &str, dev: &dyn ReadAt, suspend: bool) -> Result<Probed, ProbeError> {
    if dev.size() < swap::MIN_DEVICE_SIZE {
        return Ok(Ok(None));
    }
    let len = dev.size().min(swap::READ_LEN as u64);
    // The magics first: a device without one (nearly all) needs no 64 KiB buffer.
    let mut magic = suspend && len >= 8 && swap::is_toi(&*read_array::<8>(name, dev, 0)?);
    for off in swap::MAGIC_OFFSETS.map(|o| o as u64) {
        if magic || off + 10 > len {
            break;
        }
        magic = swap::magic_at(&*read_array::<10>(name, dev, off)?, suspend);
    }
    if !magic {
        return Ok(Ok(None));
    }
    let buf = read(name, dev, 0, len)?;
    Ok(if suspend {
        swap::parse_swsuspend(&buf)
    } else {
        swap::parse(&buf)
    })
}

fn probe_isw(name: &str, dev: &dyn ReadAt, whole_disk: bool) -> Result<Probed, ProbeError> {
    // blkid: whole disks and image files only.
    if !whole_disk || dev.size() < raid::ISW_MIN_DEVICE_SIZE {
        return Ok(Ok(None));
    }
    let ss = u64::from(dev.logical_block_size().max(512));
    let Some(off) = raid::isw_offset(dev.size(), ss) else {
        return Ok(Ok(None));
    };
    Ok(Ok(match region_vec(name, dev, off, dev.size() - off)? {
        Some(tail) => {
            let mut b = [0u8; raid::ISW_READ];
            let n = tail.len().min(raid::ISW_READ);
            b[..n].copy_from_slice(&tail[..n]);
            raid::parse_isw(&b)
        }
        None => None,
    }))
}

fn probe_ddf(name: &str, dev: &dyn ReadAt) -> Result<Probed, ProbeError> {
    if dev.size() < raid::DDF_MIN_DEVICE_SIZE {
        return Ok(Ok(None));
    }
    for back in raid::DDF_ANCHORS {
        let Some(at) = (dev.size() / 512).checked_sub(back).map(|s| s * 512) else {
            continue;
        };
        let Some(h) = region::<{ raid::DDF_READ }>(name, dev, at)? else {
            return Ok(Ok(None));
        };
        let Some(anchor) = raid::ddf_anchor(&h) else {
            continue;
        };
        let mut primary = None;
        if let Some(lba) = anchor.primary {
            let Some(off) = lba.checked_mul(512) else {
                return Ok(Ok(None));
            };
            match region::<4>(name, dev, off)? {
                Some(sig) => primary = Some((off, *sig)),
                None => return Ok(Ok(None)),
            }
        }
        return Ok(raid::parse_ddf(&h, at, primary).map(Some));
    }
    Ok(Ok(None))
}

fn probe_drbd(name: &str, dev: &dyn ReadAt) -> Result<Probed, ProbeError> {
    if dev.size() < drbd::MIN_DEVICE_SIZE {
        return Ok(Ok(None));
    }
    let off = dev.size() - drbd::MD_OFFSET_FROM_END;
    // The v09 struct reaches beyond the 4 KiB block only on devices under 1136 bytes past it:
    // never here (64 KiB minimum).
    fixed::<{ drbd::MD_READ }>(name, dev, off, drbd::parse)
}

fn probe_bitlocker(name: &str, dev: &dyn ReadAt) -> Result<Probed, ProbeError> {
    let Some(hdr) = region::<{ bitlocker::HDR_READ }>(name, dev, bitlocker::HDR_OFFSET)? else {
        return Ok(Ok(None));
    };
    let Some(kind) = bitlocker::kind(&hdr) else {
        return Ok(Ok(None));
    };
    let fve_at = match bitlocker::fve_offset(&hdr, kind) {
        Ok(v) => v,
        Err(e) => return Ok(Err(e)),
    };
    let fve = match fve_at {
        Some(at) => match region::<{ bitlocker::FVE_READ }>(name, dev, at)? {
            Some(f) => Some((f, at)),
            None => return Ok(Ok(None)),
        },
        None => None,
    };
    Ok(bitlocker::parse(&hdr, kind, fve.as_ref().map(|(f, at)| (&**f, *at))).map(Some))
}

fn probe_reiserfs(name: &str, dev: &dyn ReadAt) -> Result<Probed, ProbeError> {
    if dev.size() < reiserfs::MIN_DEVICE_SIZE {
        return Ok(Ok(None));
    }
    let a = region::<{ reiserfs::SB_READ }>(name, dev, reiserfs::SB_OFFSETS[0])?;
    let b = region::<{ reiserfs::SB_READ }>(name, dev, reiserfs::SB_OFFSETS[1])?;
    Ok(reiserfs::parse([a.as_deref(), b.as_deref()]))
}

fn probe_nilfs2(name: &str, dev: &dyn ReadAt) -> Result<Probed, ProbeError> {
    if dev.size() < nilfs2::MIN_DEVICE_SIZE {
        return Ok(Ok(None));
    }
    let Some(p) = region::<{ nilfs2::SB_READ }>(name, dev, nilfs2::SB_OFFSET)? else {
        return Ok(Ok(None));
    };
    let backup = match nilfs2::backup_offset(dev.size()) {
        Some(at) => region::<{ nilfs2::SB_READ }>(name, dev, at)?.map(|b| (b, at)),
        None => None,
    };
    Ok(nilfs2::parse(
        &p,
        backup.as_ref().map(|(b, at)| (&**b, *at)),
    ))
}

fn probe_zfs(name: &str, dev: &dyn ReadAt) -> Result<Probed, ProbeError> {
    if dev.size() < zfs::MIN_DEVICE_SIZE {
        return Ok(Ok(None));
    }
    let labels = zfs::label_offsets(dev.size());
    // Each label's nvlist first (4 KiB; the first lies in the prefetched head): ZFS reads a
    // label through its nvlist alone and blkid since 2.41 does the same, so a device none of
    // whose labels starts an XDR nvlist is no pool. Only then blkid 2.38's uberblock count
    // (Debian 12's), which reads 128 KiB per label: 512 KiB of every device over 64 MiB.
    let mut nvlists = Vec::with_capacity(4);
    for l in labels {
        let nv = match l.and_then(|l| l.checked_add(zfs::NVLIST_AT)) {
            Some(at) => region_vec(name, dev, at, zfs::NVLIST_LEN as u64)?,
            None => None,
        };
        nvlists.push(nv);
    }
    if !nvlists.iter().flatten().any(|nv| zfs::is_nvlist(nv)) {
        return Ok(Ok(None));
    }
    let mut counts = Vec::with_capacity(4);
    for l in labels {
        let Some(at) = l.and_then(|l| l.checked_add(zfs::UBERBLOCKS_AT)) else {
            return Ok(Ok(None));
        };
        let Some(ubs) = region_vec(name, dev, at, zfs::UBERBLOCKS_LEN as u64)? else {
            return Ok(Ok(None));
        };
        counts.push(zfs::count_uberblocks(&ubs));
        if let Some((i, version)) = zfs::decide(&counts) {
            let nv = nvlists.get(i).and_then(|nv| nv.as_deref());
            return Ok(Ok(Some(zfs::parse(version, nv))));
        }
    }
    Ok(Ok(None))
}

fn probe_exfat(name: &str, dev: &dyn ReadAt) -> Result<Probed, ProbeError> {
    let Some(sb) = region::<{ exfat::SB_READ }>(name, dev, exfat::SB_OFFSET)? else {
        return Ok(Ok(None));
    };
    let Some(boot) = exfat::parse_boot(&sb) else {
        return Ok(Ok(None));
    };
    // The root directory, entry by entry (blkid's find_label); sectors are read once each.
    let mut label = None;
    let mut cluster = boot.rootdir_cluster;
    let mut off = boot.cluster_offset(cluster);
    let mut sector: Option<(u64, Box<[u8; 512]>)> = None;
    for _ in 0..exfat::MAX_ENTRIES {
        let Some(o) = off else { break };
        let base = o - o % 512;
        if sector.as_ref().map(|s| s.0) != Some(base) {
            match region::<512>(name, dev, base)? {
                Some(b) => sector = Some((base, b)),
                None => break,
            }
        }
        let Some((_, buf)) = &sector else { break };
        let i = usize::try_from(o - base).unwrap_or(0);
        let Some(e) = crate::formats::bytes::arr::<{ exfat::ENTRY_SIZE as usize }>(&buf[..], i)
        else {
            // An entry across a sector boundary (only with a misaligned start): as blkid,
            // read it whole.
            match region::<{ exfat::ENTRY_SIZE as usize }>(name, dev, o)? {
                Some(e) => match exfat::entry(&e) {
                    exfat::Entry::End => break,
                    exfat::Entry::Label(l) => {
                        label = l;
                        break;
                    }
                    exfat::Entry::Other => {}
                },
                None => break,
            }
            off = next_entry(&boot, name, dev, o, &mut cluster)?;
            continue;
        };
        match exfat::entry(&e) {
            exfat::Entry::End => break,
            exfat::Entry::Label(l) => {
                label = l;
                break;
            }
            exfat::Entry::Other => {}
        }
        off = next_entry(&boot, name, dev, o, &mut cluster)?;
    }
    Ok(Ok(Some(boot.finish(label))))
}

/// The offset of the directory entry after the one at `o`, following the FAT at a cluster's
/// end; `None` ends the walk.
fn next_entry(
    boot: &exfat::ExfatBoot,
    name: &str,
    dev: &dyn ReadAt,
    o: u64,
    cluster: &mut u32,
) -> Result<Option<u64>, ProbeError> {
    let Some(n) = o.checked_add(exfat::ENTRY_SIZE) else {
        return Ok(None);
    };
    if n % boot.cluster_size != 0 {
        return Ok(Some(n));
    }
    let Some(fo) = boot.fat_entry_offset(*cluster) else {
        return Ok(None);
    };
    let Some(next) = region::<4>(name, dev, fo)?.and_then(|e| exfat::ExfatBoot::next_cluster(*e))
    else {
        return Ok(None);
    };
    *cluster = next;
    Ok(boot.cluster_offset(next))
}

fn probe_ntfs(name: &str, dev: &dyn ReadAt) -> Result<Probed, ProbeError> {
    let Some(sb) = region::<{ ntfs::SB_READ }>(name, dev, ntfs::SB_OFFSET)? else {
        return Ok(Ok(None));
    };
    let boot = match ntfs::parse_boot(&sb) {
        Ok(Some(b)) => b,
        other => return Ok(other.map(|_| None)),
    };
    let len = u64::from(boot.record_size);
    let Some(mft) = region_vec(name, dev, boot.mft_offset, len)? else {
        return Ok(Ok(None));
    };
    let Some(vol) = boot
        .volume_record_offset()
        .map(|at| region_vec(name, dev, at, len))
        .transpose()?
        .flatten()
    else {
        return Ok(Ok(None));
    };
    Ok(ntfs::parse_records(&boot, &mft, &vol).map(Some))
}

fn probe_iso9660(name: &str, dev: &dyn ReadAt) -> Result<Probed, ProbeError> {
    let Some(first) = region::<{ iso9660::VD_READ }>(name, dev, iso9660::VD_OFFSET)? else {
        return Ok(Ok(None));
    };
    match iso9660::magic(&first) {
        None => return Ok(Ok(None)),
        Some(iso9660::Magic::HighSierra) => return Ok(Ok(Some(iso9660::high_sierra(&first)))),
        Some(iso9660::Magic::Iso) => {}
    }
    let mut vds = iso9660::Descriptors::default();
    for i in 0..iso9660::VD_MAX {
        let at = iso9660::VD_OFFSET + i * iso9660::VD_SIZE;
        let Some(d) = region::<{ iso9660::VD_READ }>(name, dev, at)? else {
            break;
        };
        if vds.descriptor(&d) == iso9660::Step::Stop {
            break;
        }
    }
    Ok(Ok(vds.finish()))
}

fn probe_udf(name: &str, dev: &dyn ReadAt) -> Result<Probed, ProbeError> {
    // blkid's magic gate: a recognition-sequence id at 32 KiB + 1.
    let Some(first) = region::<{ udf::VSD_READ }>(name, dev, udf::VRS_OFFSET)? else {
        return Ok(Ok(None));
    };
    if udf::vrs_step(&first) == udf::Vrs::End {
        return Ok(Ok(None));
    }
    let mut vrs_2048: Option<bool> = None;
    let mut found = None;
    'sizes: for bs in udf::block_sizes(dev.logical_block_size().max(512)) {
        let short = bs <= 2048;
        let nsr = match (short, vrs_2048) {
            (true, Some(v)) => v,
            _ => {
                let mut nsr = false;
                for n in 0..udf::VRS_MAX {
                    let Some(v) = region::<{ udf::VSD_READ }>(name, dev, udf::vsd_offset(bs, n))?
                    else {
                        return Ok(Ok(None));
                    };
                    match udf::vrs_step(&v) {
                        udf::Vrs::Nsr => {
                            nsr = true;
                            break;
                        }
                        udf::Vrs::Next => {}
                        udf::Vrs::End => break,
                    }
                }
                if short {
                    vrs_2048 = Some(nsr);
                }
                nsr
            }
        };
        if !nsr {
            continue;
        }
        for block in udf::ANCHOR_BLOCKS {
            let Some(vd) = region::<{ udf::VD_READ }>(name, dev, block * u64::from(bs))? else {
                return Ok(Ok(None));
            };
            if let Some(seq) = udf::anchor(&vd, block, bs) {
                found = Some((bs, seq));
                break 'sizes;
            }
        }
    }
    let Some((bs, (loc, count))) = found else {
        return Ok(Ok(None));
    };
    let mut seq = udf::Sequence::default();
    for b in 0..u64::from(count) {
        let block = loc + b;
        let Some(vd) = region::<{ udf::VD_READ }>(name, dev, block * u64::from(bs))? else {
            return Ok(Ok(None));
        };
        if seq.descriptor(&vd, block) == udf::Step::Stop {
            break;
        }
    }
    if let Some((at, loc)) = seq.lvid_offset(bs) {
        let Some(vd) = region::<{ udf::VD_READ }>(name, dev, at)? else {
            return Ok(Ok(None));
        };
        if let Some(rel) = udf::Sequence::lvidiu_offset(&vd, loc) {
            match at
                .checked_add(rel)
                .map(|o| region::<{ udf::LVIDIU_READ }>(name, dev, o))
            {
                Some(r) => match r? {
                    Some(iu) => seq.lvidiu(&iu),
                    None => return Ok(Ok(None)),
                },
                None => return Ok(Ok(None)),
            }
        }
    }
    Ok(Ok(Some(seq.finish())))
}

fn run(p: Prober, name: &str, dev: &dyn ReadAt, whole_disk: bool) -> Result<Probed, ProbeError> {
    Ok(match p {
        Prober::Ddf => return probe_ddf(name, dev),
        Prober::Isw => return probe_isw(name, dev, whole_disk),
        Prober::Bcache => {
            if dev.size() < bcache::MIN_DEVICE_SIZE {
                return Ok(Ok(None));
            }
            return fixed::<{ bcache::SB_READ }>(name, dev, bcache::SB_OFFSET, bcache::parse);
        }
        Prober::Drbd => return probe_drbd(name, dev),
        Prober::Luks => return probe_luks(name, dev),
        Prober::Vdo => return fixed::<{ vdo::SB_READ }>(name, dev, vdo::SB_OFFSET, vdo::parse),
        Prober::BitLocker => return probe_bitlocker(name, dev),
        Prober::Vfat => return probe_vfat(name, dev),
        Prober::Swsuspend => return probe_swap_area(name, dev, true),
        Prober::Swap => return probe_swap_area(name, dev, false),
        Prober::Xfs => match region::<{ xfs::SB_READ }>(name, dev, xfs::SB_OFFSET)? {
            Some(sb) => xfs::parse(&sb),
            None => Ok(None),
        },
        Prober::Ext => match region::<{ ext::SB_READ }>(name, dev, ext::SB_OFFSET)? {
            Some(sb) => ext::parse(&sb),
            None => Ok(None),
        },
        Prober::Reiserfs => return probe_reiserfs(name, dev),
        Prober::Jfs => {
            if dev.size() < jfs::MIN_DEVICE_SIZE {
                return Ok(Ok(None));
            }
            return fixed::<{ jfs::SB_READ }>(name, dev, jfs::SB_OFFSET, jfs::parse);
        }
        Prober::Udf => return probe_udf(name, dev),
        Prober::Iso9660 => return probe_iso9660(name, dev),
        Prober::Zfs => return probe_zfs(name, dev),
        Prober::Ntfs => return probe_ntfs(name, dev),
        Prober::Cramfs => {
            return fixed::<{ cramfs::SB_READ }>(name, dev, cramfs::SB_OFFSET, cramfs::parse)
        }
        Prober::Romfs => {
            return fixed::<{ romfs::SB_READ }>(name, dev, romfs::SB_OFFSET, romfs::parse)
        }
        Prober::Minix => {
            return fixed::<{ minix::SB_READ }>(name, dev, minix::SB_OFFSET, minix::parse)
        }
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
        Prober::Nilfs2 => return probe_nilfs2(name, dev),
        Prober::Exfat => return probe_exfat(name, dev),
        Prober::F2fs => return fixed::<{ f2fs::SB_READ }>(name, dev, f2fs::SB_OFFSET, f2fs::parse),
        Prober::Bcachefs => {
            if dev.size() < bcachefs::MIN_DEVICE_SIZE {
                return Ok(Ok(None));
            }
            return fixed::<{ bcachefs::SB_READ }>(name, dev, bcachefs::SB_OFFSET, bcachefs::parse);
        }
        Prober::Erofs => match region::<{ erofs::SB_READ }>(name, dev, erofs::SB_OFFSET)? {
            Some(sb) => erofs::parse(&sb),
            None => Ok(None),
        },
    })
}

/// The ambiguity error: several signatures of which at least one is not tolerant.
fn ambiguous(name: &str, found: &[&str]) -> ProbeError {
    format_err(
        name,
        FormatError::field(
            "blkid",
            0,
            "signature",
            format!("{} signatures: {}", found.len(), found.join(", ")),
            "exactly one filesystem signature (blkid: ambivalent result)",
        ),
    )
}

/// The containers stage of the registry (firmware RAID, bcache, DRBD, LUKS, VDO, BitLocker):
/// the first valid one is the device's content. `whole_disk`: a whole disk or an image file
/// (IMSM is looked for only there, as blkid does).
pub fn probe_containers(
    name: &str,
    dev: &dyn ReadAt,
    whole_disk: bool,
) -> Result<Option<FsInfo>, ProbeError> {
    if dev.size() < MIN_DEVICE_SIZE {
        return Ok(None);
    }
    let tiny = dev.size() <= TINY_DEVICE_SIZE;
    let mut broken: Option<FormatError> = None;
    for p in PROBERS.iter().filter(|p| p.stage() == Stage::Container) {
        // blkid: no RAIDs on floppies.
        if tiny && matches!(p, Prober::Ddf | Prober::Isw | Prober::Drbd) {
            continue;
        }
        match run(*p, name, dev, whole_disk)? {
            Ok(Some(info)) => return Ok(Some(info)),
            Ok(None) => {}
            Err(e) => {
                broken.get_or_insert(e);
            }
        }
    }
    broken.map_or(Ok(None), |e| Err(format_err(name, e)))
}

/// Identifies the filesystem on `dev` as `blkid -p` does (the registry's filesystem stage).
/// `Ok(None)`: no signature. `Err(Format)`: a signature whose fields are broken (and no valid
/// one), or two valid filesystem signatures of which one is not "tolerant" (blkid:
/// "ambivalent result"), which must not be guessed between: mounting the wrong one can destroy
/// the other. Several tolerant ones (a UDF bridge disc): the first.
pub fn probe_filesystem(name: &str, dev: &dyn ReadAt) -> Result<Option<FsInfo>, ProbeError> {
    if dev.size() < MIN_DEVICE_SIZE {
        return Ok(None);
    }
    let tiny = dev.size() <= TINY_DEVICE_SIZE;
    let mut found: Vec<(FsInfo, bool)> = Vec::new();
    let mut broken: Option<FormatError> = None;
    for p in PROBERS.iter().filter(|p| p.stage() == Stage::Filesystem) {
        match run(*p, name, dev, false)? {
            Ok(Some(info)) => {
                // safeprobe: on tiny devices the first signature of any kind.
                if tiny && found.is_empty() {
                    return Ok(Some(info));
                }
                found.push((info, p.tolerant()));
            }
            Ok(None) => {}
            Err(e) => {
                broken.get_or_insert(e);
            }
        }
    }
    match found.len() {
        0 => broken.map_or(Ok(None), |e| Err(format_err(name, e))),
        1 => Ok(found.pop().map(|f| f.0)),
        _ if found.iter().all(|f| f.1) => Ok(Some(found.swap_remove(0).0)),
        _ => {
            let names: Vec<&str> = found.iter().map(|f| f.0.fstype).collect();
            Err(ambiguous(name, &names))
        }
    }
}

/// For a container whose blkid USAGE is "other" (bcache, VDO), which does not end blkid's
/// search: another container or a filesystem signature beside it, as the "ambivalent result"
/// blkid would give. The container stays the content (nothing inside it is used).
pub fn beside_container(
    name: &str,
    dev: &dyn ReadAt,
    c: &FsInfo,
    whole_disk: bool,
) -> Option<ProbeError> {
    if c.usage != Usage::Other {
        return None;
    }
    let after = PROBERS.iter().position(|p| p.name() == c.fstype)?;
    let mut other = None;
    for p in PROBERS[after + 1..]
        .iter()
        .filter(|p| p.stage() == Stage::Container)
    {
        if let Ok(Ok(Some(f))) = run(*p, name, dev, whole_disk) {
            other = Some(f);
            break;
        }
    }
    let f = match other {
        Some(f) => f,
        None => probe_filesystem(name, dev).ok()??,
    };
    Some(format_err(
        name,
        FormatError::field(
            "blkid",
            0,
            "signature",
            format!("2 signatures: {}, {}", c.fstype, f.fstype),
            format!(
                "exactly one (blkid: ambivalent result; the {} container is kept, nothing inside it is used)",
                c.fstype
            ),
        ),
    ))
}

/// What `blkid -p` would name on a device that holds no MD, LVM or partition-table
/// signature: the containers stage, then the filesystems. A container whose blkid USAGE is
/// "other" (bcache, VDO) does not end blkid's search: a filesystem signature found beside it
/// makes blkid's answer "ambivalent"; here the container stays the content (nothing inside it
/// is mounted) and the ambiguity is a warning.
pub fn identify(
    name: &str,
    dev: &dyn ReadAt,
    whole_disk: bool,
) -> (Result<Option<FsInfo>, ProbeError>, Vec<ProbeError>) {
    let mut warnings = Vec::new();
    match probe_containers(name, dev, whole_disk) {
        Ok(Some(c)) => {
            warnings.extend(beside_container(name, dev, &c, whole_disk));
            return (Ok(Some(c)), warnings);
        }
        Ok(None) => {}
        Err(e) => warnings.push(e),
    }
    (probe_filesystem(name, dev), warnings)
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
        let b: Box<[u8; evms::HEADER_SIZE]> = read_array(name, dev, at)?;
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

    const FIXTURES: &[(&str, &[u8], &str)] = &[
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
        // The second batch (gen-more.sh; imsm, ddf, swsuspend: tests/vm/ident-fixtures.sh).
        fixture!("iso-plain"),
        fixture!("iso-joliet"),
        fixture!("iso-joliet-long"),
        fixture!("iso-rockridge"),
        fixture!("iso-xorriso"),
        fixture!("iso-udf-bridge"),
        fixture!("udf"),
        fixture!("udf-2048"),
        fixture!("udf-4096"),
        fixture!("f2fs"),
        fixture!("exfat"),
        fixture!("ntfs"),
        fixture!("jfs"),
        fixture!("nilfs2"),
        fixture!("reiserfs"),
        fixture!("minix1"),
        fixture!("minix2"),
        fixture!("minix3"),
        fixture!("cramfs"),
        fixture!("romfs"),
        fixture!("jbd"),
        fixture!("bcache-backing"),
        fixture!("bcache-cache"),
        fixture!("bcache-ext4"),
        fixture!("drbd8"),
        fixture!("drbd9"),
        fixture!("drbd-ext4"),
        fixture!("imsm"),
        fixture!("ddf"),
        fixture!("swsuspend"),
    ];

    fn dev(name: &str) -> SparseDev {
        let f = FIXTURES.iter().find(|f| f.0 == name).unwrap();
        SparseDev::parse(f.1).unwrap()
    }

    /// What blkid -p names on the image (containers, then filesystems); with nothing valid,
    /// the first broken structure (as `probe_device` reports it).
    fn probe(d: &SparseDev) -> Result<Option<FsInfo>, ProbeError> {
        match identify("fixture", d, true) {
            (Ok(None), w) if !w.is_empty() => Err(w.into_iter().next().unwrap()),
            (r, _) => r,
        }
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
            // DDF's GUID is binary after "Linux-MD": blkid prints its raw bytes (not UTF-8, and
            // its escaped form is ambiguous); ours replaces what is not UTF-8. The text part
            // must agree, and both must have something beyond.
            if *name == "ddf" {
                for u in [info.uuid.as_deref(), get("UUID")] {
                    assert!(
                        u.is_some_and(|u| u.starts_with("Linux-MD") && u.len() > 8),
                        "{u:?}"
                    );
                }
            } else {
                assert_eq!(info.uuid.as_deref(), get("UUID"), "{name}");
            }
            assert_eq!(info.label.as_deref(), get("LABEL"), "{name}");
            assert_eq!(info.version.as_deref(), get("VERSION"), "{name}");
            assert_eq!(info.uuid_sub.as_deref(), get("UUID_SUB"), "{name}");
        }
    }

    /// No tool here writes a pool (no ZFS module): labels laid out as ZFS lays them. Uberblocks
    /// alone are no pool; an XDR nvlist in one label lets blkid's uberblock count decide, and a
    /// device without one costs three 4 KiB reads, not four 128 KiB uberblock arrays.
    #[test]
    fn zfs_needs_an_nvlist_before_counting_uberblocks() {
        use crate::source::ReadAt;
        struct Counting<'a>(&'a SparseDev, std::cell::Cell<u64>);
        impl ReadAt for Counting<'_> {
            fn read_exact_at(&self, off: u64, buf: &mut [u8]) -> std::io::Result<()> {
                self.1.set(self.1.get() + buf.len() as u64);
                self.0.read_exact_at(off, buf)
            }
            fn size(&self) -> u64 {
                self.0.size()
            }
        }
        let size = zfs::MIN_DEVICE_SIZE + 100 * 1024;
        let mut d = SparseDev::zeroed(size);
        let labels = zfs::label_offsets(size).map(Option::unwrap);
        for l in labels {
            d.patch(
                l + zfs::UBERBLOCKS_AT + 4096,
                &0x00ba_b10c_u64.to_le_bytes(),
            );
            d.patch(l + zfs::UBERBLOCKS_AT + 4096 + 8, &5000u64.to_le_bytes());
        }
        let run = |d: &SparseDev| {
            let c = Counting(d, std::cell::Cell::new(0));
            let r = probe_zfs("z", &c).unwrap().unwrap();
            (r, c.1.get())
        };
        let (r, read) = run(&d);
        assert!(r.is_none(), "{r:?}");
        assert_eq!(read, 4 * zfs::NVLIST_LEN as u64);
        // The last label's nvlist (labels[3], the fourth): header, version 0, NV_UNIQUE_NAME, then "name" = "tank".
        let mut nv = vec![1u8, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        for w in [24u32, 0, 5] {
            nv.extend_from_slice(&w.to_be_bytes());
        }
        nv.extend_from_slice(b"name\0\0\0\0");
        for w in [9u32, 1, 4] {
            nv.extend_from_slice(&w.to_be_bytes());
        }
        nv.extend_from_slice(b"tank");
        // The pair's size covers its name and value: 12 + 8 + 12 + 4.
        nv[12..16].copy_from_slice(&36u32.to_be_bytes());
        d.patch(labels[3] + zfs::NVLIST_AT, &nv);
        let (r, _) = run(&d);
        // Four uberblocks are reached only in that label, whose nvlist names the pool.
        let r = r.expect("a pool");
        assert_eq!(
            (r.fstype, r.version.as_deref(), r.label.as_deref()),
            ("zfs_member", Some("5000"), Some("tank"))
        );
        // An nvlist but fewer than four uberblocks: no pool.
        d.patch(labels[0] + zfs::UBERBLOCKS_AT + 4096, &[0; 8]);
        assert!(run(&d).0.is_none());
    }

    #[test]
    fn fat_boot_label_is_only_label_fatboot() {
        let d = dev("vfat16-bootlabel");
        let sector: [u8; 512] = *read_array("f", &d, 0).unwrap();
        let boot = vfat::parse_boot(&sector).unwrap();
        let e = &kv_blocks(
            FIXTURES
                .iter()
                .find(|f| f.0 == "vfat16-bootlabel")
                .unwrap()
                .2,
        )[0];
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

    #[test]
    fn whole_disk_is_what_blkid_names() {
        // probe_device on each image as a whole disk: the filesystem or container blkid named
        // (exFAT's boot sector also reads as an empty DOS table, NTFS's is not one).
        for (name, img, expected) in FIXTURES {
            let d = SparseDev::parse(img).unwrap();
            let r = crate::probe::probe_device("disk", &d, true);
            let e = &kv_blocks(expected)[0];
            match &r.content {
                crate::probe::Content::Fs(f) => {
                    assert_eq!(Some(f.fstype), e.get("TYPE").map(|s| s.as_str()), "{name}")
                }
                other => panic!("{name}: {}", other.format_name()),
            }
            assert!(r.warnings.is_empty(), "{name}: {:?}", r.warnings);
        }
    }

    #[test]
    fn containers_hide_what_they_hold() {
        // ext4 written by mke2fs at the bcache backing device's data offset: bcache only.
        let d = dev("bcache-ext4");
        let ext4 = dev("ext4");
        assert!(
            ext4_magic_at(&d, 8192 + 1024),
            "the fixture holds ext4 inside"
        );
        assert_eq!(probe(&d).unwrap().unwrap().fstype, "bcache");
        // ext4 at 0 under DRBD metadata at the end: DRBD (USAGE raid ends blkid's search).
        let d = dev("drbd-ext4");
        assert!(ext4_magic_at(&d, 1024));
        let (r, w) = identify("d", &d, true);
        assert_eq!((r.unwrap().unwrap().fstype, w.len()), ("drbd", 0));
        // A filesystem signature beside bcache (USAGE other): blkid is ambivalent; the
        // container stays, with a warning naming both.
        let mut d = dev("bcache-backing");
        d.patch(1024, &ext4.get(1024, 1024));
        let (r, w) = identify("d", &d, true);
        assert_eq!(r.unwrap().unwrap().fstype, "bcache");
        assert_eq!(w.len(), 1);
        assert!(
            w[0].to_string().contains("2 signatures: bcache, ext4"),
            "{}",
            w[0]
        );
        // bcache and DRBD metadata on one device: ambivalent for blkid too.
        let mut d = dev("bcache-backing");
        let drbd = dev("drbd9");
        let tail = drbd.get(drbd.size() - 4096, 4096);
        d.patch(d.size() - 4096, &tail);
        let (r, w) = identify("d", &d, true);
        assert_eq!(r.unwrap().unwrap().fstype, "bcache");
        assert!(
            w[0].to_string().contains("2 signatures: bcache, drbd"),
            "{w:?}"
        );
        // IMSM only on whole disks and image files, as blkid.
        let d = dev("imsm");
        assert_eq!(identify("p", &d, false).0.unwrap(), None);
    }

    fn ext4_magic_at(d: &SparseDev, sb: u64) -> bool {
        d.get(sb + 0x38, 2) == [0x53, 0xEF]
    }

    #[test]
    fn tolerant_signatures() {
        // A UDF bridge disc (iso9660 + udf, both tolerant): the first, udf.
        let d = dev("iso-udf-bridge");
        assert_eq!(probe(&d).unwrap().unwrap().fstype, "udf");
        // udf beside ext4 (not tolerant): ambiguous (on an 8 MiB image: on a floppy-sized one
        // blkid takes the first signature, ext4).
        let mut d = dev("udf");
        d.patch(1024, &dev("ext4").get(1024, 1024));
        let e = format_error(probe(&d));
        assert_eq!(
            e.kind,
            crate::error::ErrorKind::Field {
                field: "signature",
                found: "2 signatures: ext4, udf".into(),
                expected: "exactly one filesystem signature (blkid: ambivalent result)".into()
            }
        );
    }

    #[test]
    fn new_readers_name_the_broken_field() {
        let field = |e: FormatError| match e.kind {
            crate::error::ErrorKind::Field { field, .. } => (e.offset, field),
            crate::error::ErrorKind::Checksum { field, .. } => (e.offset, field),
            other => panic!("{other:?}"),
        };
        for (name, off, bytes, expected) in [
            (
                "jfs",
                0x8010u64,
                &4000u32.to_le_bytes()[..],
                (0x8010, "js_bsize"),
            ),
            (
                "jfs",
                0x8018,
                &4000u32.to_le_bytes()[..],
                (0x8018, "js_pbsize"),
            ),
            (
                "jfs",
                0x8016,
                &7u16.to_le_bytes()[..],
                (0x8016, "js_l2bfactor"),
            ),
            (
                "reiserfs",
                0x1002C,
                &0u16.to_le_bytes()[..],
                (0x1002C, "rs_blocksize"),
            ),
            (
                "reiserfs",
                0x1000C,
                &2u32.to_le_bytes()[..],
                (0x1000C, "rs_journal_block"),
            ),
            ("minix2", 0x412, &4u16.to_le_bytes()[..], (0x412, "s_state")),
            (
                "minix1",
                0x40A,
                &1u16.to_le_bytes()[..],
                (0x40A, "s_log_zone_size"),
            ),
            (
                "minix3",
                0x400,
                &0u32.to_le_bytes()[..],
                (0x400, "s_ninodes"),
            ),
            (
                "bcache-backing",
                0x1008,
                &9u64.to_le_bytes()[..],
                (0x1008, "offset"),
            ),
            (
                "ntfs",
                0x0B,
                &100u16.to_le_bytes()[..],
                (0x0B, "sector_size"),
            ),
            (
                "ntfs",
                0x0D,
                &3u8.to_le_bytes()[..],
                (0x0D, "sectors_per_cluster"),
            ),
            ("ntfs", 0x10, &2u8.to_le_bytes()[..], (0x10, "fats")),
            (
                "ntfs",
                0x40,
                &3u8.to_le_bytes()[..],
                (0x40, "clusters_per_mft_record"),
            ),
            (
                "ntfs",
                0x30,
                &u64::MAX.to_le_bytes()[..],
                (0x30, "mft_cluster_location"),
            ),
        ] {
            let mut d = dev(name);
            d.patch(off, bytes);
            assert_eq!(
                field(format_error(probe(&d))),
                expected,
                "{name} at {off:#x}"
            );
        }
        // NTFS: $Volume's record without "FILE".
        let mut d = dev("ntfs");
        let b = d.get(0, 84);
        let boot = ntfs::parse_boot(&b.try_into().unwrap()).unwrap().unwrap();
        let vol = boot.volume_record_offset().unwrap();
        d.patch(vol, b"XXXX");
        assert_eq!(field(format_error(probe(&d))), (vol, "$Volume record"));
        // DDF: the primary header the anchor names lacks the signature.
        let mut d = dev("ddf");
        let anchor = d.size() - 512;
        let lba = u64::from_be_bytes(d.get(anchor + 0x60, 8).try_into().unwrap());
        d.patch(lba * 512, &[0; 4]);
        assert_eq!(
            field(format_error(probe(&d))),
            (lba * 512, "primary header signature")
        );
    }

    #[test]
    fn nilfs2_backup_and_checksums() {
        // Primary checksum broken: the backup (valid) answers.
        let mut d = dev("nilfs2");
        let good = probe(&d).unwrap().unwrap();
        d.patch(0x410, &[0x55; 4]);
        assert_eq!(probe(&d).unwrap().unwrap(), good);
        // Both broken: the primary's checksum error.
        let backup = nilfs2::backup_offset(d.size()).unwrap();
        d.patch(backup + 0x10, &[0x55; 4]);
        assert_eq!(format_error(probe(&d)).offset, 0x410);
        // A length beyond the structure in both copies: the primary's s_bytes.
        let mut d = dev("nilfs2");
        d.patch(0x408, &2000u16.to_le_bytes());
        d.patch(backup + 8, &2000u16.to_le_bytes());
        let e = format_error(probe(&d));
        assert!(
            matches!(
                e.kind,
                crate::error::ErrorKind::Field {
                    field: "s_bytes",
                    ..
                }
            ) && e.offset == 0x408,
            "{e}"
        );
    }

    #[test]
    fn swsuspend_and_swap_share_the_header() {
        // The hibernation signature replaced by the swap magic: the same UUID and label, as swap.
        let mut d = dev("swsuspend");
        let sus = probe(&d).unwrap().unwrap();
        d.patch(0xFF6, b"SWAPSPACE2");
        let sw = probe(&d).unwrap().unwrap();
        assert_eq!((sw.fstype, sw.version.as_deref()), ("swap", Some("1")));
        assert_eq!((sw.uuid, sw.label), (sus.uuid, sus.label));
        // TuxOnIce: its magic at 0 and no signature at the magic offsets still reads the
        // 64 KiB (the probe's magic gate looks at offset 0 too).
        let mut d = dev("swsuspend");
        for off in crate::formats::fs::swap::MAGIC_OFFSETS {
            d.patch(off as u64, &[0; 10]);
        }
        assert_eq!(probe(&d).unwrap(), None);
        d.patch(0, &[0xed, 0xc3, 0x02, 0xe9, 0x98, 0x56, 0xe5, 0x0c]);
        let toi = probe(&d).unwrap().unwrap();
        assert_eq!(
            (toi.fstype, toi.version.as_deref()),
            ("swsuspend", Some("tuxonice"))
        );
    }

    #[test]
    fn chains_are_bounded() {
        // ISO 9660: sixteen descriptors of an unknown type after the primary: the walk stops
        // after VD_MAX, the primary's label stays.
        let mut d = dev("iso-joliet");
        for i in 1..20u64 {
            d.patch(0x8000 + i * 0x800, &[3, b'C', b'D', b'0', b'0', b'1', 1]);
        }
        let i = probe(&d).unwrap().unwrap();
        assert_eq!(
            (i.fstype, i.version),
            ("iso9660", None),
            "Joliet is beyond the walk"
        );
        // UDF: an anchor naming a 2^32-byte sequence of valid-looking descriptors is cut at
        // VDS_MAX; a wrong anchor location is not UDF at all.
        let mut d = dev("udf-2048");
        d.patch(256 * 2048 + 16, &u32::MAX.to_le_bytes());
        assert_eq!(probe(&d).unwrap().unwrap().fstype, "udf");
        let mut d = dev("udf-2048");
        d.patch(256 * 2048 + 12, &7u32.to_le_bytes());
        assert_eq!(probe(&d).unwrap(), None);
        // exFAT: a root cluster beyond the device: no label, still exFAT.
        let mut d = dev("exfat");
        d.patch(96, &0x0FFF_FFF0u32.to_le_bytes());
        let i = probe(&d).unwrap().unwrap();
        assert_eq!((i.fstype, i.label), ("exfat", None));
        // NTFS: an attribute length that loops back is a zero-length stop, never a loop.
        let mut d = dev("ntfs");
        let b = d.get(0, 84);
        let boot = ntfs::parse_boot(&b.try_into().unwrap()).unwrap().unwrap();
        let vol = boot.volume_record_offset().unwrap();
        let first = u64::from(u16::from_le_bytes(d.get(vol + 0x14, 2).try_into().unwrap()));
        d.patch(vol + first + 4, &0u32.to_le_bytes());
        assert_eq!(probe(&d).unwrap().unwrap().label, None);
    }
}
