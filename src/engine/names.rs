//! Names as the owning tools make them, so the booted system's tools recognise our devices.
//! LVM: `formats::lvm::names` (lvm2 `dm_build_dm_name`/`build_dm_uuid`). MD: mdadm
//! `Assemble.c`/`mdopen.c` (homehost trust, `find_free_devnm`). kpartx: partition maps.

use super::{Graph, NodeKind};
use crate::formats::md::{MdSuper, MdVersion};

/// Longest name that may become one path component under /dev: lvm2's `NAME_LEN` and the
/// kernel's `DM_NAME_LEN` both leave 127 bytes for the name.
pub const MAX_NAME: usize = 127;

/// Directories of /dev that belong to other namespaces: a VG of that name would put its
/// `/dev/VG/LV` links among DM nodes, MD links, our EVMS links or udev's by-* links. lvm2
/// refuses to create a VG named like an existing /dev entry (`validate_new_vg_name`); names
/// read from disk never passed that check, so these are refused by name.
pub const RESERVED_VG_NAMES: &[&str] = &["mapper", "md", "evms", "disk"];

/// Why `name`, read from disk (VG, LV, MD array or partition name), cannot be used as one
/// path component under /dev (`/dev/mapper/NAME`, `/dev/VG/LV`, `/dev/md/NAME`,
/// `/dev/evms/...`), or `None` when it can. Refused: empty, `.`, `..`, `/`, NUL and every
/// other control character (a newline would also forge lines of `/run/mdadm/map` and udev
/// records), white space, and more than [`MAX_NAME`] bytes. `what` names the field in the
/// message, which quotes the name escaped.
pub fn unsafe_name(what: &str, name: &str) -> Option<String> {
    let why = if name.is_empty() {
        "it is empty"
    } else if name == "." || name == ".." {
        "it names a directory (\".\" or \"..\")"
    } else if name.contains('/') {
        "it contains '/'"
    } else if name.chars().any(char::is_control) {
        "it contains a control character"
    } else if name.chars().any(char::is_whitespace) {
        "it contains white space"
    } else if name.len() > MAX_NAME {
        "it is longer than 127 bytes"
    } else {
        return None;
    };
    let shown: String = name.chars().take(64).collect();
    let more = if shown.len() < name.len() { "..." } else { "" };
    Some(format!(
        "{what} {shown:?}{more} is not a safe device name ({why}); not activated"
    ))
}

/// [`unsafe_name`] for a VG, which also becomes the directory /dev/VG: the names of
/// [`RESERVED_VG_NAMES`] are refused too.
pub fn unsafe_vg_name(name: &str) -> Option<String> {
    if let Some(e) = unsafe_name("VG name", name) {
        return Some(e);
    }
    RESERVED_VG_NAMES.contains(&name).then(|| {
        format!(
            "VG name {name:?} is not a safe device name (/dev/{name} belongs to another \
             namespace); not activated"
        )
    })
}

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
    fn hostile_names_are_refused() {
        for bad in [
            "../../etc",
            "a/b",
            "\n",
            "x\ny",
            "nul\0",
            "tab\there",
            "a b",
            ".",
            "..",
        ] {
            assert!(unsafe_name("LV name", bad).is_some(), "{bad:?}");
        }
        let long = "a".repeat(200);
        let e = unsafe_name("LV name", &long).unwrap();
        assert!(e.contains("longer than 127 bytes"), "{e}");
        assert!(e.len() < 200, "the message shows a prefix only: {e}");
        assert!(unsafe_name("LV name", &"a".repeat(127)).is_none());
        assert_eq!(
            unsafe_name("MD array name", "x\ny").unwrap(),
            "MD array name \"x\\ny\" is not a safe device name (it contains a control \
             character); not activated"
        );
        // Every name lvm2's charset allows, and mdadm's usual names, pass.
        for good in [
            "vg0",
            "root",
            "my-vg",
            "a+b.c_d-e",
            "...",
            "home",
            "md-r1",
            "0",
        ] {
            assert!(unsafe_name("name", good).is_none(), "{good:?}");
            assert!(unsafe_vg_name(good).is_none(), "{good:?}");
        }
        for reserved in RESERVED_VG_NAMES {
            assert!(unsafe_vg_name(reserved)
                .unwrap()
                .contains("another namespace"));
        }
    }

    #[test]
    fn kpartx_forms() {
        assert_eq!(kpartx_uuid(1, "LVM-abc"), "part1-LVM-abc");
        assert_eq!(kpartx_uuid_parts("part12-LVM-abc"), Some((12, "LVM-abc")));
        assert_eq!(kpartx_uuid_parts("LVM-abc"), None);
        assert_eq!(kpartx_name("vg0-data", 1), "vg0-data1");
        assert_eq!(kpartx_name("vg0-data2", 1), "vg0-data2p1");
    }
}
