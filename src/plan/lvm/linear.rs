//! `linear` and `striped` segments (lvm2 `_striped_add_target_line`, formats.md §2.3):
//! `linear` for one stripe (lvm's default `use_linear_target`), else `striped`; PV offsets
//! `pe_start + pe × extent_size`.
//!
//! With `--partial`, an area on a missing PV is mapped as lvm2 2.03 maps it with its default
//! `missing_stripe_filler = "error"` (`dev_manager.c`, `_add_error_area`): a device
//! `VG-LV-missing_<segment>_<area>` (UUID `LVM-<vg id><lv id>-missing_<segment>_<area>`)
//! holding one `error` target as long as the whole segment (`_seg_len`), referred to at
//! offset `extent_size × seg_le` — 0 for a PV area, whose `le` lvm2 never sets.

use super::SegCx;
use crate::engine::lvm::lv_key;
use crate::formats::lvm::names as lvm_names;
use crate::formats::lvm::vg::{Area, Striped};
use crate::plan::{dev_ref, DevRef, DmStep, Target, TargetLine};

/// The segment's target; stand-ins for areas on missing PVs go to `below`.
pub(super) fn target(
    cx: &SegCx<'_>,
    s: &Striped,
    below: &mut Vec<DmStep>,
) -> Result<Target, String> {
    let (g, lv, len) = (cx.g, cx.lv, cx.len);
    let v = &g.vgs[cx.vg];
    let ext = v.vg.extent_size;
    let mut stripes = Vec::new();
    for (area_no, a) in s.areas.iter().enumerate() {
        let Area::Pv {
            pv_key,
            start_extent,
        } = a
        else {
            return Err(format!("unsupported yet: {} on an LV", cx.seg.type_name));
        };
        let pv = v
            .pvs
            .iter()
            .find(|p| &p.key == pv_key)
            .ok_or_else(|| format!("unknown PV {pv_key}"))?;
        let off = pv
            .pe_start
            .checked_add(
                start_extent
                    .checked_mul(ext)
                    .ok_or("extent offset overflows")?,
            )
            .ok_or("extent offset overflows")?;
        match pv.node {
            Some(node) => stripes.push((dev_ref(g, node, cx.planned), off)),
            None => {
                let layer = format!("missing_{}_{area_no}", cx.segno);
                let name = lvm_names::dm_name(&v.name, &lv.name, Some(&layer));
                below.push(DmStep {
                    key: format!("{}-{layer}", lv_key(&v.id, &lv.id)),
                    name: name.clone(),
                    uuid: lvm_names::dm_uuid(&v.id, &lv.id, Some(&layer)),
                    read_only: false,
                    table: vec![TargetLine {
                        start: 0,
                        len,
                        target: Target::Error,
                    }],
                    udev_flags: 0,
                    links: vec![],
                    volume: format!("{}/{}-{layer}", v.name, lv.name),
                    visible: false,
                    fixed_devno: None,
                });
                let dev = if g.live {
                    DevRef::Planned { name }
                } else {
                    DevRef::Image { name }
                };
                stripes.push((dev, 0));
            }
        }
    }
    Ok(if stripes.len() == 1 {
        let (dev, offset) = stripes.remove(0);
        Target::Linear { dev, offset }
    } else {
        Target::Striped {
            chunk: s.stripe_size.ok_or("striped segment without stripe_size")?,
            stripes,
        }
    })
}
