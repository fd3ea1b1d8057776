//! Names as the owning tools make them, so the booted system's tools recognise our devices.
//! LVM: `formats::lvm::names` (lvm2 `dm_build_dm_name`/`build_dm_uuid`). MD: mdadm
//! `Assemble.c`/`mdopen.c` (homehost trust, `find_free_devnm`). kpartx: partition maps.

use super::{Graph, NodeKind};
use crate::formats::md::{MdSuper, MdVersion};

/// lvm2's DM name of a top-level LV (`dm_build_dm_name` without a layer).
pub fn dm_name(vg: &str, lv: &str) -> String {
    crate::formats::lvm::names::dm_name(vg, lv, None)
}

/// kpartx's DM UUID for partition `n` of the DM device with UUID `parent`: "part<n>-<parent>".
pub fn kpartx_uuid(n: u32, parent_uuid: &str) -> String {
    format!("part{n}-{parent_uuid}")
}

/// Splits a kpartx UUID into (partition number, parent UUID).
pub fn kpartx_uuid_parts(uuid: &str) -> Option<(u32, &str)> {
    let rest = uuid.strip_prefix("part")?;
    let (n, parent) = rest.split_once('-')?;
    Some((n.parse().ok()?, parent))
}

/// kpartx's DM name for partition `n` of DM device `parent`: a 'p' between a name ending in
/// a digit and the number (kpartx `set_delimiter`), like the kernel's own partition names.
pub fn kpartx_name(parent: &str, n: u32) -> String {
    super::partition_name(parent, n)
}

/// The `/dev/md/NAME` name mdadm's assembly chooses for this superblock (Assemble.c): the
/// array is LOCAL when its name's `host:` prefix is our homehost (or it is listed in
/// mdadm.conf), and then the prefix is dropped; a foreign array keeps `host:name` (mdadm's
/// default `require_homehost`). `/`, space and tab become `-`, `_`, `_` (mdopen.c). 0.90
/// arrays carry no name: mdadm uses the preferred minor.
pub fn md_link(settings: &super::Settings, sb: &MdSuper) -> Option<String> {
    if let Some((_, dev)) = settings.md_arrays.iter().find(|(u, _)| *u == sb.uuid) {
        let n = dev
            .strip_prefix("/dev/md/")
            .or_else(|| dev.strip_prefix("/dev/"))
            .unwrap_or(dev);
        return Some(n.to_string());
    }
    if matches!(sb.version, MdVersion::V090 { .. }) {
        return None;
    }
    let name = sb.name.as_str();
    if name.is_empty() {
        return None;
    }
    let local = match (name.split_once(':'), settings.homehost.as_deref()) {
        (Some((host, _)), Some(home)) => host == home,
        (Some(_), None) => false,
        (None, _) => true,
    };
    let chosen = if local {
        name.split_once(':').map_or(name, |(_, n)| n)
    } else {
        name
    };
    Some(
        chosen
            .chars()
            .map(|c| match c {
                '/' => '-',
                ' ' | '\t' => '_',
                c => c,
            })
            .collect(),
    )
}

/// The kernel name mdadm would give the array: a 0.90 array its preferred minor when free, a
/// LOCAL numeric name that number, else the first free of md127, md126, ..., md0, md511, ...,
/// md128 (mdopen.c `find_free_devnm`), skipping names running arrays and earlier plans hold.
pub fn md_devnm(g: &Graph, idx: usize) -> String {
    let taken = |name: &str| {
        g.nodes
            .iter()
            .any(|n| n.kernel.as_ref().is_some_and(|k| k.name == name))
            || g.arrays
                .iter()
                .enumerate()
                .any(|(i, a)| i != idx && a.devnm == name)
    };
    let a = &g.arrays[idx];
    if let (MdVersion::V090 { .. }, Some(minor)) = (&a.sb.version, a.sb.md_minor) {
        let n = format!("md{minor}");
        if !taken(&n) {
            return n;
        }
    }
    if let Some(link) = &a.link {
        let n2 = link.strip_prefix("md").unwrap_or(link);
        if let Ok(num) = n2.parse::<u32>() {
            let n = format!("md{num}");
            if !taken(&n) {
                return n;
            }
        }
    }
    (0..=127u32)
        .rev()
        .chain((128..=511u32).rev())
        .map(|num| format!("md{num}"))
        .find(|n| !taken(n))
        .unwrap_or_else(|| "md511".to_string())
}

/// The EVMS-style names of a node (/dev/evms/...), for links and include/exclude matching.
pub fn evms_names(g: &Graph, id: usize) -> Vec<String> {
    let n = &g.nodes[id];
    match &n.kind {
        NodeKind::Lv { vg, lv } => vec![format!("evms/lvm2/{}/{}", g.vgs[*vg].name, lv)],
        NodeKind::Md { array } => {
            let a = &g.arrays[*array];
            vec![format!(
                "evms/md/{}",
                a.link.clone().unwrap_or_else(|| a.devnm.clone())
            )]
        }
        _ => vec![format!("evms/{}", n.name)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kpartx_forms() {
        assert_eq!(kpartx_uuid(1, "LVM-abc"), "part1-LVM-abc");
        assert_eq!(kpartx_uuid_parts("part12-LVM-abc"), Some((12, "LVM-abc")));
        assert_eq!(kpartx_uuid_parts("LVM-abc"), None);
        assert_eq!(kpartx_name("vg0-data", 1), "vg0-data1");
        assert_eq!(kpartx_name("vg0-data2", 1), "vg0-data2p1");
    }
}
