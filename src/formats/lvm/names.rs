//! Device-mapper names and UUIDs as lvm2 2.03.16 builds them (formats.md §2.1–§2.2).
//!
//! * Name: libdm `dm_build_dm_name`: VG, LV and layer with every `-` doubled, joined by `-`;
//!   no `-` before a layer that starts with `_`.
//! * UUID: lvm2 `build_dm_uuid` → libdm `dm_build_dm_uuid`: `LVM-` + VG id + LV id (32
//!   characters each, no dashes) + `-layer` when there is a layer. With no explicit layer,
//!   2.03.16 derives one from the LV's role ([`role_layer`]): `real` for cache and writecache
//!   origins, `cdata`/`cmeta` for cache pool sub-LVs, `cvol` for cachevols, `pool` for thin
//!   and VDO pools, `tdata`/`tmeta` for thin pool sub-LVs, `vdata` for VDO pool data. Hidden
//!   RAID images and metadata, mirror images and logs get no suffix in 2.03.16 (lvm2 2.03.36
//!   added `-real` for RAID sub-LVs).

use super::vg::{Flags, Lv, SegKind, Vg};
use crate::ids::LvmId;

/// `DM_NAME_LEN` (`dm-ioctl.h`), including the terminating NUL.
pub const DM_NAME_LEN: usize = 128;
/// `DM_UUID_LEN` (`dm-ioctl.h`), including the terminating NUL.
pub const DM_UUID_LEN: usize = 129;
/// `UUID_PREFIX` (`lib/misc/lvm-string.h`).
pub const UUID_PREFIX: &str = "LVM-";

fn quote_hyphens(out: &mut String, s: &str) {
    for c in s.chars() {
        if c == '-' {
            out.push('-');
        }
        out.push(c);
    }
}

/// `dm_build_dm_name(vg, lv, layer)`.
pub fn dm_name(vg: &str, lv: &str, layer: Option<&str>) -> String {
    let mut out = String::with_capacity(vg.len() + lv.len() + 16);
    quote_hyphens(&mut out, vg);
    out.push('-');
    quote_hyphens(&mut out, lv);
    if let Some(layer) = layer.filter(|l| !l.is_empty()) {
        if !layer.starts_with('_') {
            out.push('-');
        }
        quote_hyphens(&mut out, layer);
    }
    out
}

/// Whether a name fits the kernel's limit (`DM_NAME_LEN` with the NUL).
pub fn fits_dm_name(name: &str) -> bool {
    name.len() < DM_NAME_LEN
}

/// `dm_build_dm_uuid("LVM-", vgid + lvid, layer)`.
pub fn dm_uuid(vg_id: &LvmId, lv_id: &LvmId, layer: Option<&str>) -> String {
    let mut out = format!("{UUID_PREFIX}{}{}", vg_id.as_str(), lv_id.as_str());
    if let Some(layer) = layer.filter(|l| !l.is_empty()) {
        out.push('-');
        out.push_str(layer);
    }
    out
}

/// The suffix lvm2 2.03.16 `build_dm_uuid` gives an LV's own device when no layer is asked
/// for (`lib/misc/lvm-string.c`, checked in that order).
pub fn role_layer(vg: &Vg, lv: &Lv) -> Option<&'static str> {
    let l = &vg.links;
    let name = lv.name.as_str();
    let has = |pred: &dyn Fn(&SegKind) -> bool| lv.segments.iter().any(|s| pred(&s.kind));
    if l.is_cache_origin(name) || l.is_writecache_origin(name) {
        return Some("real");
    }
    if l.is_cache_pool_data(name) {
        return Some("cdata");
    }
    if l.is_cache_pool_meta(name) {
        return Some("cmeta");
    }
    if lv.status.contains(Flags::CACHE_VOL) {
        return Some("cvol");
    }
    if has(&|k| matches!(k, SegKind::ThinPool(_))) {
        return Some("pool");
    }
    if l.is_thin_pool_data(name) {
        return Some("tdata");
    }
    if l.is_thin_pool_meta(name) {
        return Some("tmeta");
    }
    if has(&|k| matches!(k, SegKind::VdoPool(_))) {
        return Some("pool");
    }
    if l.is_vdo_pool_data(name) {
        return Some("vdata");
    }
    None
}

/// The UUID of an LV's own device (no explicit layer).
pub fn lv_dm_uuid(vg: &Vg, lv: &Lv) -> String {
    dm_uuid(&vg.id, &lv.id, role_layer(vg, lv))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::lvm::fixtures;
    use crate::formats::lvm::text;

    #[test]
    fn names_double_hyphens() {
        // formats.md §2.1 examples.
        assert_eq!(dm_name("my-vg", "root", None), "my--vg-root");
        assert_eq!(dm_name("vg", "pool", Some("tpool")), "vg-pool-tpool");
        assert_eq!(dm_name("vg", "lv_rimage_0", None), "vg-lv_rimage_0");
        assert_eq!(dm_name("vg", "lv", Some("_mlog")), "vg-lv_mlog");
        assert_eq!(dm_name("a-b", "c--d", Some("x-y")), "a--b-c----d-x--y");
        assert_eq!(dm_name("vg", "lv", Some("")), "vg-lv");
        assert_eq!(
            dm_name("my-vg", "lin-ear", Some("real")),
            "my--vg-lin--ear-real"
        );
        assert!(fits_dm_name(&"a".repeat(127)));
        assert!(!fits_dm_name(&"a".repeat(128)));
    }

    #[test]
    fn uuid_form() {
        let vg = LvmId::parse("Iw0iHi-xKq3-ccHF-4wyE-9RAN-O12U-lBGpio").unwrap();
        let lv = LvmId::parse("eW35Ai-258j-VV8L-IIrq-31lG-az14-SuT7i3").unwrap();
        let u = dm_uuid(&vg, &lv, None);
        assert_eq!(
            u,
            "LVM-Iw0iHixKq3ccHF4wyE9RANO12UlBGpioeW35Ai258jVV8LIIrq31lGaz14SuT7i3"
        );
        assert_eq!(u.len(), 68);
        assert_eq!(dm_uuid(&vg, &lv, Some("tpool")), format!("{u}-tpool"));
        assert!(dm_uuid(&vg, &lv, Some("cow")).len() < DM_UUID_LEN);
    }

    fn segtypes_vg() -> Vg {
        let f = fixtures::load("segtypes");
        let d = f.disk("vda");
        let mh = crate::formats::lvm::mda::parse_mda_header(
            &crate::source::read_array::<512>(&d, 4096).unwrap(),
            4096,
        )
        .unwrap();
        let pieces = crate::formats::lvm::mda::text_pieces(&mh).unwrap();
        let (off, len) = pieces[0];
        let t = crate::source::read_vec(&d, off, len).unwrap();
        Vg::from_text(&text::parse(&t).unwrap()).unwrap()
    }

    /// Role suffixes for the LVs lvm2 2.03.16 created in the segtypes fixture.
    #[test]
    fn role_layers_2_03_16() {
        let vg = segtypes_vg();
        let layer = |n: &str| role_layer(&vg, vg.lv(n).unwrap());
        assert_eq!(layer("pool"), Some("pool"));
        assert_eq!(layer("pool_tdata"), Some("tdata"));
        assert_eq!(layer("pool_tmeta"), Some("tmeta"));
        assert_eq!(layer("cached_corig"), Some("real"));
        assert_eq!(layer("wcached_wcorig"), Some("real"));
        assert_eq!(layer("cpool_cpool_cdata"), Some("cdata"));
        assert_eq!(layer("cpool_cpool_cmeta"), Some("cmeta"));
        assert_eq!(layer("cvol_cvol"), Some("cvol"));
        assert_eq!(layer("wcvol_cvol"), Some("cvol"));
        // 2.03.16: no suffix on RAID and mirror sub-LVs, nor on ordinary LVs.
        for n in [
            "r1_rimage_0",
            "r1_rmeta_0",
            "mir_mimage_1",
            "mir_mlog",
            "r1",
            "thin1",
            "snap",
            "origin",
            "cached",
        ] {
            assert_eq!(layer(n), None, "{n}");
        }
        let lv = vg.lv("pool").unwrap();
        assert_eq!(
            lv_dm_uuid(&vg, lv),
            format!("LVM-{}{}-pool", vg.id.as_str(), lv.id.as_str())
        );
        assert_eq!(
            dm_name(&vg.name, "pool", Some("tpool")),
            "seg--vg-pool-tpool"
        );
    }
}
