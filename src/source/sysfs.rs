//! Typed records of the kernel's block devices, read from a sysfs root given as a parameter
//! (tests point it at captured trees). Only reads attribute files; never opens a device.
//!
//! `/sys/class/block/*` lists disks and partitions alike; a partition is recognised by its
//! `partition` attribute and its parent is the directory its device path sits in.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// A (major, minor) device number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DevNo {
    pub major: u32,
    pub minor: u32,
}

impl DevNo {
    /// Parses "MAJ:MIN" (the sysfs `dev` attribute and the form DM tables use).
    pub fn parse(s: &str) -> Option<DevNo> {
        let (a, b) = s.trim().split_once(':')?;
        Some(DevNo {
            major: a.parse().ok()?,
            minor: b.parse().ok()?,
        })
    }
}

impl std::fmt::Display for DevNo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.major, self.minor)
    }
}

/// MD array facts from `/sys/block/mdN/md/`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MdState {
    pub level: String,
    pub array_state: String,
    pub metadata_version: String,
    pub raid_disks: Option<u32>,
    pub degraded: Option<u32>,
    /// Member kernel names by slot (`md/rdN` links), and all member names (`md/dev-*`).
    pub members: Vec<String>,
}

/// One kernel block device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockDev {
    pub name: String,
    pub devno: DevNo,
    /// Size in bytes (`size` is in 512-byte sectors whatever the block size).
    pub size: u64,
    pub logical_block_size: u32,
    /// Partition number and start (bytes) for partitions.
    pub partition: Option<u32>,
    pub start: Option<u64>,
    /// The disk a partition belongs to.
    pub parent: Option<String>,
    /// The devices under a bcache device (sysfs `slaves`: its backing device); read on
    /// bcache* devices only, the one use (engine/bcache: which bcacheN runs a backing device).
    pub slaves: Vec<String>,
    pub dm_name: Option<String>,
    pub dm_uuid: Option<String>,
    /// Suspended DM device (`dm/suspended` = 1).
    pub dm_suspended: bool,
    pub md: Option<MdState>,
    /// `uevent` PARTNAME (GPT partition name as the kernel saw it), when present.
    pub partname: Option<String>,
}

impl BlockDev {
    pub fn is_partition(&self) -> bool {
        self.partition.is_some()
    }
}

/// A sysfs attribute file's text without the trailing newline; None when unreadable (or not
/// UTF-8). Read with one call into a page-sized buffer (an attribute is at most a page);
/// `fs::read_to_string` also asked for the size and read again for the end: five system
/// calls instead of three, some 35000 more in a discovery of 1000 devices.
pub fn read_attr(path: &Path) -> Option<String> {
    use std::io::Read;
    let mut f = super::open_ro(path).ok()?;
    let mut buf = [0u8; 4096];
    let mut n = f.read(&mut buf).ok()?;
    let mut text = Vec::new();
    while n == buf.len() {
        // Longer than a page (not sysfs as we know it): read to the end.
        text.extend_from_slice(&buf);
        n = f.read(&mut buf).ok()?;
    }
    text.extend_from_slice(buf.get(..n)?);
    let s = String::from_utf8(text).ok()?;
    Some(s.trim_end_matches('\n').to_string())
}

fn attr(dir: &Path, name: &str) -> Option<String> {
    read_attr(&dir.join(name))
}

fn attr_u64(dir: &Path, name: &str) -> Option<u64> {
    attr(dir, name)?.trim().parse().ok()
}

/// The sorted entry names of a sysfs directory; empty when unreadable.
pub fn list_dir(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Devices we never probe: RAM disks and compressed RAM swap hold no volumes, optical drives
/// without media fail every read.
fn ignored(name: &str) -> bool {
    name.starts_with("ram") || name.starts_with("zram") || name.starts_with("sr")
}

/// What the caller already knows of a DM device it has just made: its kernel name (`dm-N`,
/// the key of the map it is passed in), device number, size and DM name and UUID, as the
/// create call returned them and the table gave them. sysfs would only repeat them, at six
/// files per device (a second round over 1000 new LVs spent 0.19 s reading them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Known {
    pub devno: DevNo,
    /// Bytes.
    pub size: u64,
    pub dm_name: Option<String>,
    pub dm_uuid: Option<String>,
}

/// Reads every block device under `<root>/class/block`. Devices of size 0 (empty loop, no
/// media) are left out. Sorted by name for stable output.
pub fn read_block_devices(root: &Path) -> io::Result<Vec<BlockDev>> {
    read_block_devices_knowing(root, &HashMap::new())
}

/// [`read_block_devices`], taking the devices named in `known` from there: only their
/// logical block size is read (the kernel stacks it from the devices below, which the
/// caller does not track). A name in `known` that the listing lacks is gone: left out.
pub fn read_block_devices_knowing(
    root: &Path,
    known: &HashMap<String, Known>,
) -> io::Result<Vec<BlockDev>> {
    let class = root.join("class/block");
    let mut out = Vec::new();
    for name in list_dir(&class) {
        if ignored(&name) {
            continue;
        }
        let dev = match known.get(&name) {
            Some(k) => Some(from_known(&class, &name, k)),
            None => read_one(&class, &name),
        };
        if let Some(d) = dev {
            if d.size > 0 {
                out.push(d);
            }
        }
    }
    // class/block missing altogether means this is not a sysfs.
    if out.is_empty() && !class.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{} is not a sysfs block class", class.display()),
        ));
    }
    Ok(out)
}

/// Reads one device by kernel name (used for the new devices a uevent announces).
pub fn read_block_device(root: &Path, name: &str) -> Option<BlockDev> {
    read_one(&root.join("class/block"), name)
}

/// The record of a DM device the caller made (see [`Known`]): a DM device is never a
/// partition, has no md/ directory, slaves are read on bcache* only, and it was resumed.
fn from_known(class: &Path, name: &str, k: &Known) -> BlockDev {
    let lbs = attr_u64(&class.join(name).join("queue"), "logical_block_size")
        .and_then(|v| u32::try_from(v).ok())
        .unwrap_or(512);
    BlockDev {
        name: name.to_string(),
        devno: k.devno,
        size: k.size,
        logical_block_size: lbs,
        partition: None,
        start: None,
        parent: None,
        slaves: Vec::new(),
        dm_name: k.dm_name.clone(),
        dm_uuid: k.dm_uuid.clone().filter(|u| !u.is_empty()),
        dm_suspended: false,
        md: None,
        partname: None,
    }
}

/// The device directory a `class/block/NAME` entry points to, so that `..` is the parent disk.
/// sysfs's links are relative (`../../devices/...`) and resolved here by their text:
/// `canonicalize` asks the kernel about every component of the path (eight readlink calls
/// per device, a tenth of reading a thousand devices' records).
fn device_dir(class: &Path, link: &Path) -> PathBuf {
    let Ok(target) = fs::read_link(link) else {
        return link.to_path_buf();
    };
    let mut dir = class.to_path_buf();
    for c in target.components() {
        match c {
            std::path::Component::ParentDir => {
                dir.pop();
            }
            std::path::Component::CurDir => {}
            // RootDir makes the path absolute again; Normal adds a name.
            other => dir.push(other),
        }
    }
    dir
}

fn read_one(class: &Path, name: &str) -> Option<BlockDev> {
    let link = class.join(name);
    let mut dir = device_dir(class, &link);
    let dev = match attr(&dir, "dev") {
        Some(d) => d,
        None => {
            // Not what sysfs looks like (a link through other links): ask the kernel.
            dir = fs::canonicalize(&link).unwrap_or(link);
            attr(&dir, "dev")?
        }
    };
    let devno = DevNo::parse(&dev)?;
    let dm = name.starts_with("dm-");
    let sectors = attr_u64(&dir, "size").unwrap_or(0);
    // A DM device (dm-N) is never a partition: the kernel does not partition DM disks (kpartx
    // maps are DM devices of their own). One failed open less for each of a thousand LVs.
    let partition = if dm && name[3..].bytes().all(|c| c.is_ascii_digit()) {
        None
    } else {
        attr_u64(&dir, "partition").and_then(|p| u32::try_from(p).ok())
    };
    let parent = if partition.is_some() {
        dir.parent()
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
    } else {
        None
    };
    let queue_dir = match &parent {
        Some(_) => dir
            .parent()
            .map(|p| p.join("queue"))
            .unwrap_or_else(|| dir.join("queue")),
        None => dir.join("queue"),
    };
    let lbs = attr_u64(&queue_dir, "logical_block_size")
        .and_then(|v| u32::try_from(v).ok())
        .unwrap_or(512);
    // The kernel names its MD devices md* and its DM devices dm-*: only they can have the
    // md/ and dm/ directories (asking every device cost a thousand failed calls per
    // thousand LVs; ro, removable and holders, read for every device once, were never used
    // and went for the same reason; slaves are read on bcache* only).
    let md = (name.starts_with("md") && dir.join("md").is_dir()).then(|| read_md(&dir.join("md")));
    // Only partitions have a PARTNAME.
    let partname = partition.and_then(|_| attr(&dir, "uevent")).and_then(|u| {
        u.lines()
            .find_map(|l| l.strip_prefix("PARTNAME=").map(str::to_string))
    });
    Some(BlockDev {
        name: name.to_string(),
        devno,
        size: sectors.saturating_mul(512),
        logical_block_size: lbs,
        partition,
        start: partition
            .and(attr_u64(&dir, "start"))
            .map(|s| s.saturating_mul(512)),
        parent,
        slaves: if name.starts_with("bcache") {
            list_dir(&dir.join("slaves"))
        } else {
            Vec::new()
        },
        dm_name: dm.then(|| attr(&dir, "dm/name")).flatten(),
        dm_uuid: dm
            .then(|| attr(&dir, "dm/uuid"))
            .flatten()
            .filter(|u| !u.is_empty()),
        dm_suspended: dm && attr(&dir, "dm/suspended").as_deref() == Some("1"),
        md,
        partname,
    })
}

fn read_md(md: &Path) -> MdState {
    let members = list_dir(md)
        .into_iter()
        .filter_map(|n| n.strip_prefix("dev-").map(str::to_string))
        .collect();
    MdState {
        level: attr(md, "level").unwrap_or_default(),
        array_state: attr(md, "array_state").unwrap_or_default(),
        metadata_version: attr(md, "metadata_version").unwrap_or_default(),
        raid_disks: attr_u64(md, "raid_disks").and_then(|v| u32::try_from(v).ok()),
        degraded: attr_u64(md, "degraded").and_then(|v| u32::try_from(v).ok()),
        members,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn w(p: &Path, s: &str) {
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, s).unwrap();
    }

    /// A captured-style tree: vda with partition vda1, md127 over vda1, dm-0 over md127.
    fn tree() -> tempdir::TempDir {
        let t = tempdir::TempDir::new();
        let r = t.path();
        let vda = r.join("devices/pci0000:00/virtio1/block/vda");
        w(&vda.join("dev"), "254:0\n");
        w(&vda.join("size"), "131072\n");
        w(&vda.join("ro"), "0\n");
        w(&vda.join("removable"), "0\n");
        w(&vda.join("queue/logical_block_size"), "4096\n");
        let p1 = vda.join("vda1");
        w(&p1.join("dev"), "254:1\n");
        w(&p1.join("size"), "129024\n");
        w(&p1.join("partition"), "1\n");
        w(&p1.join("start"), "2048\n");
        w(
            &p1.join("uevent"),
            "MAJOR=254\nMINOR=1\nDEVNAME=vda1\nDEVTYPE=partition\nPARTN=1\nPARTNAME=raid-a\n",
        );
        fs::create_dir_all(p1.join("holders/md127")).unwrap();
        let md = r.join("devices/virtual/block/md127");
        w(&md.join("dev"), "9:127\n");
        w(&md.join("size"), "258048\n");
        w(&md.join("md/level"), "raid5\n");
        w(&md.join("md/array_state"), "clean\n");
        w(&md.join("md/metadata_version"), "1.2\n");
        w(&md.join("md/raid_disks"), "3\n");
        fs::create_dir_all(md.join("md/dev-vda1")).unwrap();
        fs::create_dir_all(md.join("slaves/vda1")).unwrap();
        let dm = r.join("devices/virtual/block/dm-0");
        w(&dm.join("dev"), "253:0\n");
        w(&dm.join("size"), "8192\n");
        w(&dm.join("dm/name"), "vg0-root\n");
        w(&dm.join("dm/uuid"), "LVM-abc\n");
        w(&dm.join("dm/suspended"), "0\n");
        w(&dm.join("queue/logical_block_size"), "4096\n");
        let empty = r.join("devices/virtual/block/loop0");
        w(&empty.join("dev"), "7:0\n");
        w(&empty.join("size"), "0\n");
        let class = r.join("class/block");
        fs::create_dir_all(&class).unwrap();
        symlink(&vda, class.join("vda")).unwrap();
        symlink(&p1, class.join("vda1")).unwrap();
        symlink(&md, class.join("md127")).unwrap();
        symlink(&dm, class.join("dm-0")).unwrap();
        symlink(&empty, class.join("loop0")).unwrap();
        t
    }

    #[test]
    fn reads_disks_partitions_md_and_dm() {
        let t = tree();
        let devs = read_block_devices(t.path()).unwrap();
        let names: Vec<&str> = devs.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["dm-0", "md127", "vda", "vda1"]);
        let p1 = &devs[3];
        assert_eq!(
            p1.devno,
            DevNo {
                major: 254,
                minor: 1
            }
        );
        assert_eq!(p1.partition, Some(1));
        assert_eq!(p1.start, Some(2048 * 512));
        assert_eq!(p1.parent.as_deref(), Some("vda"));
        assert_eq!(p1.logical_block_size, 4096);
        assert_eq!(p1.partname.as_deref(), Some("raid-a"));
        let md = &devs[1];
        let st = md.md.as_ref().unwrap();
        assert_eq!((st.level.as_str(), st.raid_disks), ("raid5", Some(3)));
        assert_eq!(st.members, ["vda1"]);
        assert_eq!(devs[0].dm_name.as_deref(), Some("vg0-root"));
        assert_eq!(devs[0].size, 8192 * 512);
        assert!(read_block_devices(&t.path().join("nothing")).is_err());
    }

    /// A device the caller made is taken from what it knows (here a DM name sysfs does not
    /// have, to show nothing else was read) but its block size from sysfs; one that the
    /// listing lacks is gone; the others are read as before.
    #[test]
    fn known_devices_are_not_read_again() {
        let t = tree();
        let plain = read_block_devices(t.path()).unwrap();
        let k = |name: &str| Known {
            devno: DevNo {
                major: 253,
                minor: 0,
            },
            size: 8192 * 512,
            dm_name: Some(name.into()),
            dm_uuid: Some("LVM-abc".into()),
        };
        let known: HashMap<String, Known> = [
            ("dm-0".to_string(), k("vg0-root")),
            ("dm-9".to_string(), k("vg0-gone")),
        ]
        .into();
        assert_eq!(read_block_devices_knowing(t.path(), &known).unwrap(), plain);
        let known: HashMap<String, Known> = [("dm-0".to_string(), k("vg0-told"))].into();
        let devs = read_block_devices_knowing(t.path(), &known).unwrap();
        assert_eq!(devs[0].dm_name.as_deref(), Some("vg0-told"));
        assert_eq!(devs[0].logical_block_size, 4096);
        assert_eq!(devs[1..], plain[1..]);
    }

    /// Minimal temp dir (no tempfile crate).
    mod tempdir {
        pub struct TempDir(std::path::PathBuf);
        impl TempDir {
            pub fn new() -> TempDir {
                use std::sync::atomic::{AtomicUsize, Ordering};
                static N: AtomicUsize = AtomicUsize::new(0);
                let p = std::env::temp_dir().join(format!(
                    "evms-sysfs-{}-{}",
                    std::process::id(),
                    N.fetch_add(1, Ordering::SeqCst)
                ));
                std::fs::create_dir_all(&p).unwrap();
                TempDir(p)
            }
            pub fn path(&self) -> &std::path::Path {
                &self.0
            }
        }
        impl Drop for TempDir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }
}
