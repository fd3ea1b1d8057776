//! RAID segments (`lib/raid/raid.c`: `_raid_text_import`, `_raid_text_import_areas`,
//! `_raid_types`): raid1, raid4, raid5*, raid6*, raid10*, and raid0 / raid0_meta.

use super::fields::{area_count, describe, err, opt_u32};
use super::{Importer, SegCtx, SegKind, SegRef, VgError};
use crate::formats::lvm::text::Value;

/// `raid1`, `raid4`, `raid5*`, `raid6*`, `raid10*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Raid {
    pub level: String,
    pub region_size: Option<u32>,
    pub stripe_size: Option<u32>,
    /// As lvm2 computes it when absent (`lv_raid_data_copies`).
    pub data_copies: u32,
    pub writebehind: Option<u32>,
    pub min_recovery_rate: Option<u32>,
    pub max_recovery_rate: Option<u32>,
    /// Some(0) when written as 0 (lvm2 keeps "set to 0" apart from "not set").
    pub data_offset: Option<u32>,
    /// Metadata sub-LV per image, `None` where the image has none.
    pub metas: Vec<Option<String>>,
    pub images: Vec<String>,
}

/// `raid0` (images only) and `raid0_meta` (with metadata sub-LVs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Raid0 {
    pub level: String,
    pub stripe_size: Option<u32>,
    pub metas: Vec<Option<String>>,
    pub images: Vec<String>,
}

/// Metadata sub-LVs (where present) then images.
fn sub_lvs(metas: &[Option<String>], images: &[String]) -> Vec<SegRef> {
    metas
        .iter()
        .flatten()
        .chain(images)
        .map(|n| SegRef::Lv(n.clone()))
        .collect()
}

impl Raid {
    pub fn references(&self) -> Vec<SegRef> {
        sub_lvs(&self.metas, &self.images)
    }
}

impl Raid0 {
    pub fn references(&self) -> Vec<SegRef> {
        sub_lvs(&self.metas, &self.images)
    }
}

/// `raidN` segments other than raid0 read as [`Raid`], raid0 and raid0_meta as [`Raid0`].
pub(super) fn read(
    imp: &mut Importer<'_>,
    level: &str,
    extent_count: u64,
    c: &SegCtx<'_>,
) -> Result<SegKind, VgError> {
    let sn = c.sec;
    // Exactly one of device_count and stripe_count (`_raid_text_import_area_count`).
    let count = match (sn.value("device_count"), sn.value("stripe_count")) {
        (Some(_), None) => area_count(sn, "device_count", &c.path, c.offset)?,
        (None, Some(_)) => area_count(sn, "stripe_count", &c.path, c.offset)?,
        (Some(_), Some((_, off))) => {
            return Err(err(
                &c.path,
                off,
                "stripe_count",
                "both device_count and stripe_count",
                "only one of them",
            ))
        }
        (None, None) => {
            return Err(err(
                &c.path,
                c.offset,
                "device_count",
                "none",
                "device_count or stripe_count",
            ))
        }
    };
    let region_size = opt_u32(sn, "region_size", &c.path)?;
    let stripe_size = opt_u32(sn, "stripe_size", &c.path)?;
    // lvm2 reads a non-integer data_copies or data_offset as 0 rather than failing.
    let lenient = |k| {
        sn.value(k)
            .map(|(v, _)| v.as_int().and_then(|i| u32::try_from(i).ok()).unwrap_or(0))
    };
    let written_copies = lenient("data_copies");
    let data_offset = lenient("data_offset");
    let writebehind = opt_u32(sn, "writebehind", &c.path)?;
    let min_recovery_rate = opt_u32(sn, "min_recovery_rate", &c.path)?;
    let max_recovery_rate = opt_u32(sn, "max_recovery_rate", &c.path)?;
    let raid0 = level == "raid0";
    let list_key = if raid0 { "raid0_lvs" } else { "raids" };
    let (list, list_off) = sn.value(list_key).ok_or_else(|| {
        err(
            &c.path,
            c.offset,
            list_key,
            "none",
            "the list of RAID sub-LVs",
        )
    })?;
    let items = list.as_list();
    let mut metas = Vec::new();
    let mut images = Vec::new();
    let mut it = items.iter();
    let name_of = |v: &Value| -> Result<String, VgError> {
        v.as_str()
            .map(str::to_string)
            .ok_or_else(|| err(&c.path, list_off, list_key, describe(v), "LV names"))
    };
    for _ in 0..count {
        let Some(first) = it.next() else {
            return Err(err(
                &c.path,
                list_off,
                list_key,
                format!("{} names", items.len()),
                format!("{count} images"),
            ));
        };
        let mut name = name_of(first)?;
        // "Metadata device comes first": a name with `_rmeta_` is a metadata LV and the
        // next one its image (`_raid_text_import_areas`).
        let meta = if name.contains("_rmeta_") {
            let m = name;
            name = match it.next() {
                Some(v) => name_of(v)?,
                None => {
                    return Err(err(
                        &c.path,
                        list_off,
                        list_key,
                        "a metadata LV without its image",
                        "metadata, image pairs",
                    ))
                }
            };
            Some(m)
        } else {
            None
        };
        if let Some(m) = &meta {
            imp.refs
                .push((c.path.clone(), list_off, "raids", m.clone()));
        }
        imp.refs
            .push((c.path.clone(), list_off, "raids", name.clone()));
        metas.push(meta);
        images.push(name);
    }
    if it.next().is_some() {
        return Err(err(
            &c.path,
            list_off,
            list_key,
            format!("{} names", items.len()),
            format!("{count} images"),
        ));
    }
    let parity = parity(level).unwrap_or(0);
    if count <= u64::from(parity) {
        return Err(err(
            &c.path,
            c.offset,
            "device_count",
            count,
            format!("more than {parity} (the parity devices)"),
        ));
    }
    if level.starts_with("raid0") {
        if extent_count % count != 0 {
            return Err(err(
                &c.path,
                c.offset,
                "stripe_count",
                count,
                format!("a divisor of extent_count {extent_count}"),
            ));
        }
        return Ok(SegKind::Raid0(Raid0 {
            level: level.to_string(),
            stripe_size,
            metas,
            images,
        }));
    }
    // `lv_raid_data_copies` when fewer than 2 are written.
    let data_copies = match written_copies {
        Some(n) if n >= 2 => n,
        _ if level.starts_with("raid10") => 2,
        _ if level == "raid1" => u32::try_from(count).unwrap_or(u32::MAX),
        _ => parity + 1,
    };
    Ok(SegKind::Raid(Raid {
        level: level.to_string(),
        region_size,
        stripe_size,
        data_copies,
        writebehind,
        min_recovery_rate,
        max_recovery_rate,
        data_offset,
        metas,
        images,
    }))
}

/// Parity devices of a RAID segment type (`_raid_types`, `lib/raid/raid.c`), `None` if the
/// name is not a RAID type.
pub(super) fn parity(level: &str) -> Option<u32> {
    Some(match level {
        "raid0" | "raid0_meta" | "raid1" | "raid10" | "raid10_near" => 0,
        "raid4" | "raid5" | "raid5_n" | "raid5_la" | "raid5_ls" | "raid5_ra" | "raid5_rs" => 1,
        "raid6" | "raid6_n_6" | "raid6_nc" | "raid6_nr" | "raid6_zr" | "raid6_ls_6"
        | "raid6_rs_6" | "raid6_la_6" | "raid6_ra_6" => 2,
        _ => return None,
    })
}
