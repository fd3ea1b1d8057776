//! RAID segments through dm-raid (lvm2 `lib/raid/raid.c: _raid_add_target_line`, libdm
//! `_raid_emit_segment_line`; kernel `dm-raid.c`, formats.md §2.3):
//!
//! `raid <type> <#params> <chunk> [rebuild i]* [min_recovery_rate n] [max_recovery_rate n]
//! [write_mostly i]* [max_write_behind n] [region_size n] [raid10_copies n] [delta_disks n]
//! [data_offset n] <#images> (<rmeta> <rimage>)+`
//!
//! in the order dm-raid ≥ 1.11 documents (and lvm2 emits for it). The type is the kernel's:
//! `raid5` is `raid5_ls`, `raid6` is `raid6_zr`, `raid10_near` is `raid10`, `raid0_meta` is
//! `raid0`. Rebuild, recovery rates, region size and reshape parameters are not given to
//! raid0; write-mostly and write-behind only to raid1. lvm2 adds `nosync` only while creating
//! an LV (`mirror_in_sync()`), never on activation, so neither does this. Each image's
//! metadata and data sub-LVs are devices of their own, built first and kept writable; a `-`
//! stands for an image without metadata LV, and `- -` for an image split off with
//! `--trackchanges` (visible, not writable), which is not brought up.
//!
//! With images on missing PVs, lvm2's default activation_mode "degraded" activates the LV
//! when it keeps enough redundancy ([`degraded_activation`]), the missing areas of its
//! sub-LVs mapped to `error` stand-ins as with `--partial` (linear.rs).

use super::{sub_lv, SegCx};
use crate::engine::lvm::{lv_pvs, VolGroup};
use crate::formats::lvm::vg::{Flags, Lv, Raid, Raid0, SegKind};
use crate::plan::{DevRef, DmStep, Target};

/// `DEFAULT_RAID_MAX_IMAGES`: dm-raid's limit (253 devices).
const MAX_IMAGES: usize = 253;

/// The kernel's raid type for an lvm2 segment type (libdm `_dm_segtypes`, with its aliases).
pub(super) fn kernel_type(segtype: &str) -> Option<&'static str> {
    Some(match segtype {
        "raid0" | "raid0_meta" => "raid0",
        "raid1" => "raid1",
        "raid10" | "raid10_near" => "raid10",
        "raid4" => "raid4",
        "raid5" | "raid5_ls" => "raid5_ls",
        "raid5_la" => "raid5_la",
        "raid5_ra" => "raid5_ra",
        "raid5_rs" => "raid5_rs",
        "raid5_n" => "raid5_n",
        "raid6" | "raid6_zr" => "raid6_zr",
        "raid6_nr" => "raid6_nr",
        "raid6_nc" => "raid6_nc",
        "raid6_n_6" => "raid6_n_6",
        "raid6_ls_6" => "raid6_ls_6",
        "raid6_rs_6" => "raid6_rs_6",
        "raid6_la_6" => "raid6_la_6",
        "raid6_ra_6" => "raid6_ra_6",
        _ => return None,
    })
}

fn lookup<'a>(cx: &'a SegCx<'_>, name: &str) -> Result<&'a Lv, String> {
    cx.g.vgs[cx.vg]
        .vg
        .lv(name)
        .ok_or_else(|| format!("refers to LV {name}, which does not exist"))
}

/// An image split off and tracked (`lvconvert --splitmirrors --trackchanges`): visible and
/// not writable; lvm2 passes `- -` for it and leaves it alone.
fn tracked(img: &Lv) -> bool {
    img.status.contains(Flags::VISIBLE) && !img.status.contains(Flags::WRITE)
}

/// An image's metadata and data devices in the table (`-` for none).
type Pair = (Option<DevRef>, Option<DevRef>);

/// Metadata and data devices of every image, built into `below`.
fn devices(
    cx: &SegCx<'_>,
    metas: &[Option<String>],
    images: &[String],
    below: &mut Vec<DmStep>,
) -> Result<Vec<Pair>, String> {
    if images.len() > MAX_IMAGES {
        return Err(format!(
            "{} RAID images; dm-raid takes at most {MAX_IMAGES}",
            images.len()
        ));
    }
    let mut devs = Vec::new();
    for (i, name) in images.iter().enumerate() {
        if tracked(lookup(cx, name)?) {
            devs.push((None, None));
            continue;
        }
        let meta = match metas.get(i).and_then(Option::as_ref) {
            Some(m) => Some(sub_lv(cx, m, true, below)?),
            None => None,
        };
        let data = sub_lv(cx, name, true, below)?;
        devs.push((meta, Some(data)));
    }
    Ok(devs)
}

/// raid1, raid4, raid5_*, raid6_*, raid10.
pub(super) fn target(cx: &SegCx<'_>, r: &Raid, below: &mut Vec<DmStep>) -> Result<Target, String> {
    let raid_type = kernel_type(&r.level)
        .ok_or_else(|| format!("unsupported RAID segment type {}", r.level))?;
    let region = r
        .region_size
        .filter(|&n| n > 0)
        .ok_or("RAID segment without region_size (lvm2 refuses it too)")?;
    let images: Vec<&Lv> = r
        .images
        .iter()
        .map(|n| lookup(cx, n))
        .collect::<Result<_, _>>()?;
    let raid1 = raid_type == "raid1";
    let mut params = Vec::new();
    for (i, img) in images.iter().enumerate() {
        if img.status.contains(Flags::REBUILD) {
            params.push(format!("rebuild {i}"));
        }
    }
    if let Some(n) = r.min_recovery_rate.filter(|&n| n > 0) {
        params.push(format!("min_recovery_rate {n}"));
    }
    if let Some(n) = r.max_recovery_rate.filter(|&n| n > 0) {
        params.push(format!("max_recovery_rate {n}"));
    }
    if raid1 {
        for (i, img) in images.iter().enumerate() {
            if img.status.contains(Flags::WRITEMOSTLY) {
                params.push(format!("write_mostly {i}"));
            }
        }
        if let Some(n) = r.writebehind.filter(|&n| n > 0) {
            params.push(format!("max_write_behind {n}"));
        }
    }
    params.push(format!("region_size {region}"));
    if raid_type == "raid10" && r.data_copies > 1 {
        params.push(format!("raid10_copies {}", r.data_copies));
    }
    // A reshape that adds or removes images: lvm2 counts the images flagged for it.
    let plus = images
        .iter()
        .filter(|i| i.status.contains(Flags::RESHAPE_DELTA_DISKS_PLUS))
        .count();
    let minus = images
        .iter()
        .filter(|i| {
            !i.status.contains(Flags::RESHAPE_DELTA_DISKS_PLUS)
                && i.status.contains(Flags::RESHAPE_DELTA_DISKS_MINUS)
        })
        .count();
    if plus > 0 && minus > 0 {
        return Err("RAID images flagged both to be added and removed by a reshape".into());
    }
    if plus > 0 {
        params.push(format!("delta_disks {plus}"));
    } else if minus > 0 {
        params.push(format!("delta_disks -{minus}"));
    }
    // lvm2 stores a written 0 as 1 and hands the kernel 0 for it.
    match r.data_offset {
        Some(0 | 1) => params.push("data_offset 0".into()),
        Some(n) => params.push(format!("data_offset {n}")),
        None => {}
    }
    let params = params
        .iter()
        .flat_map(|p| p.split(' ').map(str::to_string))
        .collect();
    Ok(Target::Raid {
        raid_type: raid_type.into(),
        chunk: u64::from(r.stripe_size.unwrap_or(0)),
        params,
        devs: devices(cx, &r.metas, &r.images, below)?,
    })
}

/// raid0 and raid0_meta: the chunk and the images only.
pub(super) fn target0(
    cx: &SegCx<'_>,
    r: &Raid0,
    below: &mut Vec<DmStep>,
) -> Result<Target, String> {
    Ok(Target::Raid {
        raid_type: "raid0".into(),
        chunk: u64::from(r.stripe_size.unwrap_or(0)),
        params: Vec::new(),
        devs: devices(cx, &r.metas, &r.images, below)?,
    })
}

/// Whether an LV with parts on missing PVs comes up in lvm2's default activation_mode
/// "degraded" (`_lv_activate`, `partial_raid_lv_supports_degraded_activation`,
/// `_partial_raid_lv_is_redundant` in `raid_manip.c`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Degraded {
    /// Not a RAID LV (or one with integrity): only `--partial` activates it.
    No,
    /// A RAID LV that lost too much: the reason, as lvm2's verbose log gives it.
    Lost(String),
    /// Activated degraded.
    Yes,
}

/// lvm2's `_sublv_is_degraded`: gone, on a missing PV (`lv_is_partial`), or an `error`/
/// `zero` stand-in left by a repair (`lv_is_virtual`).
fn sub_degraded(v: &VolGroup, name: Option<&str>) -> bool {
    let Some(l) = name.and_then(|n| v.vg.lv(n)) else {
        return true;
    };
    l.segments
        .iter()
        .any(|s| matches!(s.kind, SegKind::Error | SegKind::Zero))
        || lv_pvs(&v.vg, l).map_or(true, |keys| keys.iter().any(|k| v.pv_node(k).is_none()))
}

pub(super) fn degraded_activation(v: &VolGroup, lv: &Lv) -> Degraded {
    let Some(seg) = lv.segments.first() else {
        return Degraded::No;
    };
    let (level, metas, images) = match &seg.kind {
        SegKind::Raid(r) => (r.level.as_str(), &r.metas, &r.images),
        SegKind::Raid0(r) => (r.level.as_str(), &r.metas, &r.images),
        _ => return Degraded::No,
    };
    // "Integrity must be removed before degraded or partial activation of raid."
    let integrity = images.iter().any(|n| {
        v.vg.lv(n).is_some_and(|l| {
            l.segments
                .iter()
                .any(|s| matches!(s.kind, SegKind::Integrity(_)))
        })
    });
    if integrity {
        return Degraded::No;
    }
    let meta = |s: usize| metas.get(s).and_then(|m| m.as_deref());
    let failed = |s: usize| {
        sub_degraded(v, images.get(s).map(String::as_str))
            || (metas.iter().any(Option::is_some) && sub_degraded(v, meta(s)))
    };
    let n = images.len();
    if level.starts_with("raid10") {
        // lvm2 walks the images two by two (2-way mirrors only), wrapping around.
        let mut in_group = 0;
        for i in 0..n.saturating_mul(2) {
            let s = i % n;
            if i % 2 == 0 {
                in_group = 0;
            }
            if sub_degraded(v, images.get(s).map(String::as_str)) || sub_degraded(v, meta(s)) {
                in_group += 1;
            }
            if in_group >= 2 {
                return Degraded::Lost("an entire mirror group has failed".into());
            }
        }
        return Degraded::Yes;
    }
    let lost = (0..n).filter(|&s| failed(s)).count();
    if lost == n {
        return Degraded::Lost("all its images are on missing PVs".into());
    }
    let parity = crate::formats::lvm::vg::raid_parity(level).unwrap_or(0);
    if parity > 0 && lost > usize::try_from(parity).unwrap_or(usize::MAX) {
        return Degraded::Lost(format!(
            "{lost} of its images are on missing PVs, more than {level}'s {parity} parity"
        ));
    }
    Degraded::Yes
}
