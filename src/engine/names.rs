//! Names as the owning tools make them, so the booted system's tools recognise our devices.
//! LVM: `formats::lvm::names` (lvm2 `dm_build_dm_name`/`build_dm_uuid`). MD: mdadm
//! `Assemble.c`/`mdopen.c` (homehost trust, `find_free_devnm`). kpartx: partition maps.

use super::{Graph, NodeKind};
use crate::formats::md::{MdSuper, MdVersion};
use crate::source::sysfs::DevNo;

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

/// The parent part of a kpartx UUID for a map over a device that is not a DM device:
/// `devnode_<major>:<minor>_Wh5pYvM` (multipath-tools `kpartx/devmapper.h`, `NONDM_UUID_PREFIX`
/// and `NONDM_UUID_SUFFIX`, "shouldn't be changed between kpartx releases"). The whole UUID is
/// then `part<n>-devnode_<major>:<minor>_Wh5pYvM`, as kpartx 0.9.4 makes it for /dev/vdd.
pub fn kpartx_nondm_parent(devno: DevNo) -> String {
    format!("devnode_{}:{}_Wh5pYvM", devno.major, devno.minor)
}

/// The device number in a [`kpartx_nondm_parent`] string.
pub fn parse_kpartx_nondm_parent(s: &str) -> Option<DevNo> {
    let mm = s.strip_prefix("devnode_")?.strip_suffix("_Wh5pYvM")?;
    DevNo::parse(mm)
}

/// kpartx's DM name for partition `n` of DM device `parent`: a 'p' between a name ending in
/// a digit and the number (kpartx `set_delimiter`), like the kernel's own partition names.
pub fn kpartx_name(parent: &str, n: u32) -> String {
    super::partition_name(parent, n)
}

/// mdadm's trust in an array's name (`Assemble.c`): LOCAL when listed in mdadm.conf or when
/// the superblock matches our homehost, FOREIGN otherwise (mdadm's default
/// `require_homehost` keeps a foreign name foreign).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    Local,
    Foreign,
}

/// mdadm's `match_home`: 1.x `set_name` starts with `<homehost>:`; 0.90 carries the first 8
/// bytes of SHA1(homehost) in `set_uuid2..3` (`match_home0`; our [`MdUuid`] holds the words as
/// mdadm prints them, so each word's bytes are reversed against the disk).
///
/// [`MdUuid`]: crate::ids::MdUuid
pub fn matches_home(sb: &MdSuper, homehost: &str) -> bool {
    match sb.version {
        MdVersion::V090 { .. } => {
            let h = <sha1::Sha1 as sha1::Digest>::digest(homehost.as_bytes());
            let u = &sb.uuid.0;
            let disk: Vec<u8> = u[8..12]
                .iter()
                .rev()
                .chain(u[12..16].iter().rev())
                .copied()
                .collect();
            !homehost.is_empty() && disk == h[..8]
        }
        MdVersion::V1 { .. } => {
            let l = homehost.len();
            l > 0
                && l < 32
                && sb.name.len() > l
                && sb.name.as_bytes()[l] == b':'
                && sb.name.starts_with(homehost)
        }
    }
}

/// What mdadm's assembly would call the array: the `/dev/md/NAME` link name and, for a LOCAL
/// numeric name, the kernel number it asks for (mdadm `Assemble.c` + `mdopen.c:create_mddev`).
/// `taken` holds link names of arrays assembled before this one (mdadm's map file): a LOCAL
/// name, or a FOREIGN one with a `host:` prefix, gets a `_N` suffix only on conflict; any other
/// FOREIGN name always does.
pub fn md_identity(
    settings: &super::Settings,
    sb: &MdSuper,
    taken: &[String],
) -> (Option<String>, Option<u32>) {
    // mdadm.conf ARRAY lines name the device outright (and are trusted).
    if let Some((_, dev)) = settings.md_arrays.iter().find(|(u, _)| *u == sb.uuid) {
        if let Some(n) = dev.strip_prefix("/dev/md/") {
            return (Some(n.to_string()), numeric_name(n));
        }
        let n = dev.strip_prefix("/dev/").unwrap_or(dev);
        return (None, numeric_name(n));
    }
    let name = match sb.version {
        // getinfo_super0 names a 0.90 array by its preferred minor.
        MdVersion::V090 { .. } => sb.md_minor.map(|m| m.to_string()).unwrap_or_default(),
        MdVersion::V1 { .. } => sb.name.clone(),
    };
    if name.is_empty() {
        return (None, None);
    }
    let local = settings
        .homehost
        .as_deref()
        .is_some_and(|h| matches_home(sb, h))
        || matches_home(sb, "any");
    let trust = if local { Trust::Local } else { Trust::Foreign };
    let name = match (trust, name.split_once(':')) {
        (Trust::Local, Some((_, n))) => n.to_string(),
        _ => name,
    };
    let mut cname: String = name
        .chars()
        .take(200)
        .map(|c| match c {
            '/' => '-',
            ' ' | '\t' => '_',
            c => c,
        })
        .collect();
    let mut conflict = !(trust == Trust::Local || cname.contains(':')) || taken.contains(&cname);
    let base = cname.clone();
    let mut unum = 0u32;
    while conflict && unum < 1024 {
        cname = format!("{base}_{unum}");
        unum += 1;
        conflict = taken.contains(&cname);
    }
    let num = if trust == Trust::Local {
        numeric_name(&name)
    } else {
        None
    };
    (Some(cname), num)
}

/// A numeric array name ("0", "md0", "/dev/md0", "md/0") selects that kernel number.
fn numeric_name(n: &str) -> Option<u32> {
    let n = n.strip_prefix("/dev/").unwrap_or(n);
    let n = n.strip_prefix("md").unwrap_or(n);
    let n = n.strip_prefix('/').unwrap_or(n);
    n.parse().ok()
}

/// The kernel name: `num` when free, else the first free of md127, md126, ..., md0, md511,
/// ..., md129 (mdopen.c `find_free_devnm`; md128 is never chosen).
pub fn md_devnm(num: Option<u32>, busy: &dyn Fn(&str) -> bool) -> String {
    if let Some(n) = num {
        let d = format!("md{n}");
        if !busy(&d) {
            return d;
        }
    }
    (0..=127u32)
        .rev()
        .chain((129..=511u32).rev())
        .map(|n| format!("md{n}"))
        .find(|n| !busy(n))
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

    /// 0.90 carries SHA1(homehost)'s first 8 bytes in `set_uuid2..3` (each word as mdadm
    /// prints it, i.e. byte-reversed against [`MdUuid`]'s copy of the disk). SHA1("evms-vm")
    /// starts fa8b3f5e c2d1de31 (python3 hashlib).
    #[test]
    fn homehost_of_a_090_array() {
        let d = crate::source::sparse::SparseDev::parse(include_bytes!(
            "../../tests/fixtures/md/scenarios/r1-090/m0.spr"
        ))
        .unwrap();
        let mut sb = crate::probe::md::probe_md("m0", &d).unwrap().unwrap();
        assert!(matches!(sb.version, MdVersion::V090 { .. }));
        sb.uuid.0[8..].copy_from_slice(&[0x5e, 0x3f, 0x8b, 0xfa, 0x31, 0xde, 0xd1, 0xc2]);
        assert!(matches_home(&sb, "evms-vm"));
        assert!(!matches_home(&sb, "evms-vn"));
        assert!(!matches_home(&sb, ""));
    }

    #[test]
    fn kpartx_forms() {
        assert_eq!(kpartx_uuid(1, "LVM-abc"), "part1-LVM-abc");
        assert_eq!(kpartx_uuid_parts("part12-LVM-abc"), Some((12, "LVM-abc")));
        assert_eq!(kpartx_uuid_parts("LVM-abc"), None);
        assert_eq!(kpartx_name("vg0-data", 1), "vg0-data1");
        assert_eq!(kpartx_name("vg0-data2", 1), "vg0-data2p1");
    }

    /// As kpartx 0.9.4 named the map of /dev/vdc (254:32) partition 1 in the VM
    /// (tests/vm/scenarios/lvmfaults.sh, case gptbad): `vdc1`, `part1-devnode_254:32_Wh5pYvM`.
    #[test]
    fn kpartx_nondm_forms() {
        let d = DevNo {
            major: 254,
            minor: 32,
        };
        let u = kpartx_uuid(1, &kpartx_nondm_parent(d));
        assert_eq!(u, "part1-devnode_254:32_Wh5pYvM");
        let (n, parent) = kpartx_uuid_parts(&u).unwrap();
        assert_eq!((n, parse_kpartx_nondm_parent(parent)), (1, Some(d)));
        assert_eq!(parse_kpartx_nondm_parent("devnode_254:32_other"), None);
        assert_eq!(kpartx_name("vdc", 1), "vdc1");
        assert_eq!(kpartx_name("nvme0n1", 2), "nvme0n1p2");
    }
}
