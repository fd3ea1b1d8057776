//! A [`RootFinder`] that needs no metadata: `root=/dev/NAME`, `root=MAJ:MIN`, `/dev/mdN` and
//! device-mapper names (`/dev/mapper/NAME`, `/dev/VG/LV` of an LV something else activated),
//! resolved from the block devices the kernel announced and from sysfs (`size`, `dm/name`).
//! Every other form (UUID=, LABEL=, PARTUUID=, /dev/md/NAME, /dev/evms/...) needs the volume
//! discovery and is reported as such.

use std::path::Path;

use super::cmdline::{DeviceRef, MdRef};
use super::uevent::BlockDevice;
use super::{Discovery, FoundRoot, RootFinder, Round};

/// See the module documentation.
#[derive(Debug, Default)]
pub struct SysfsRootFinder;

/// `SYS/class/block/NAME/size` in 512-byte sectors (sysfs names use `!` for `/`).
fn size_sectors(sys: &Path, devname: &str) -> Option<u64> {
    let p = sys
        .join("class/block")
        .join(devname.replace('/', "!"))
        .join("size");
    std::fs::read_to_string(p).ok()?.trim().parse().ok()
}

fn dm_name(sys: &Path, devname: &str) -> Option<String> {
    let p = sys.join("class/block").join(devname).join("dm/name");
    Some(std::fs::read_to_string(p).ok()?.trim().to_string())
}

impl SysfsRootFinder {
    fn lookup<'d>(
        &self,
        root: &DeviceRef,
        sys: &Path,
        devs: &'d [BlockDevice],
    ) -> Result<Option<&'d BlockDevice>, String> {
        let by_name = |n: &str| devs.iter().find(|d| d.devname == n);
        Ok(match root {
            DeviceRef::Path(p) => match p.strip_prefix("/dev/") {
                Some(n) => by_name(n),
                None => return Err(format!("root={p} is not below /dev")),
            },
            DeviceRef::Devno { major, minor } => {
                devs.iter().find(|d| d.major == *major && d.minor == *minor)
            }
            DeviceRef::Md(MdRef::Number(n)) => by_name(&format!("md{n}")),
            r @ (DeviceRef::DmName(_) | DeviceRef::Lv { .. }) => {
                let want = r.dm_name();
                devs.iter()
                    .filter(|d| d.devname.starts_with("dm-"))
                    .find(|d| dm_name(sys, &d.devname) == want)
            }
            other => {
                return Err(format!(
                    "root={other} needs the volume discovery (this finder resolves only \
                     /dev/NAME, MAJ:MIN, /dev/mdN and device-mapper names)"
                ))
            }
        })
    }
}

impl RootFinder for SysfsRootFinder {
    fn discover(&mut self, round: &mut Round<'_>) -> Discovery {
        let Some(root) = &round.spec.root else {
            return Discovery::Failed {
                report: "No root= on the kernel command line: nothing to mount".into(),
            };
        };
        let sys = &round.env.sys_dir;
        match self.lookup(root, sys, round.all_devices) {
            Err(report) => Discovery::Failed { report },
            Ok(None) => Discovery::Waiting {
                what: format!("block device {root}"),
            },
            Ok(Some(d)) => match size_sectors(sys, &d.devname) {
                // An MD array before it is started, a DM device before its table is loaded,
                // an empty drive: present but not usable yet.
                Some(0) | None => Discovery::Waiting {
                    what: format!("{root} ({}) to have a size", d.devname),
                },
                Some(_) => Discovery::Found(FoundRoot {
                    devnode: round.env.dev_dir.join(&d.devname),
                    fstype: None,
                    modules: Vec::new(),
                    resume: None,
                }),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::boot::cmdline::BootSpec;
    use crate::boot::modules::{ModuleDb, ModuleLoader};
    use crate::boot::BootEnv;
    use std::fs;
    use std::time::Duration;

    fn dev(name: &str, major: u32, minor: u32) -> BlockDevice {
        BlockDevice {
            devname: name.into(),
            major,
            minor,
            devtype: "disk".into(),
            devpath: format!("/devices/virtual/block/{name}"),
            changed: false,
        }
    }

    fn discover(env: &BootEnv, cmdline: &str, devs: &[BlockDevice]) -> Discovery {
        let (spec, _) = BootSpec::parse(cmdline);
        let mut loader = ModuleLoader::new(
            ModuleDb::default(),
            &env.modules_dir,
            &env.sys_dir.join("module"),
        );
        let mut r = Round {
            spec: &spec,
            env,
            new_devices: devs,
            all_devices: devs,
            degraded_ok: false,
            waited: Duration::ZERO,
            modules: &mut loader,
        };
        SysfsRootFinder.discover(&mut r)
    }

    #[test]
    fn finds_by_name_devno_and_dm_name() {
        let d = std::env::temp_dir().join(format!("evms-simple-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        let env = BootEnv::under(&d);
        let cb = env.sys_dir.join("class/block");
        for (n, size) in [("vda", "2048"), ("md0", "0"), ("dm-0", "4096")] {
            fs::create_dir_all(cb.join(n)).unwrap();
            fs::write(cb.join(n).join("size"), size).unwrap();
        }
        fs::create_dir_all(cb.join("dm-0/dm")).unwrap();
        fs::write(cb.join("dm-0/dm/name"), "vg--a-root\n").unwrap();
        let devs = [dev("dm-0", 253, 0), dev("md0", 9, 0), dev("vda", 254, 0)];
        let found = |l: &str| match discover(&env, l, &devs) {
            Discovery::Found(f) => f.devnode,
            other => panic!("{l}: {other:?}"),
        };
        assert_eq!(found("root=/dev/vda"), env.dev_dir.join("vda"));
        assert_eq!(found("root=254:0"), env.dev_dir.join("vda"));
        assert_eq!(found("root=fe00"), env.dev_dir.join("vda"));
        assert_eq!(found("root=/dev/vg-a/root"), env.dev_dir.join("dm-0"));
        assert_eq!(
            found("root=/dev/mapper/vg--a-root"),
            env.dev_dir.join("dm-0")
        );
        assert_eq!(
            discover(&env, "root=/dev/vdb", &devs),
            Discovery::Waiting {
                what: "block device /dev/vdb".into()
            }
        );
        assert_eq!(
            discover(&env, "root=/dev/md0", &devs),
            Discovery::Waiting {
                what: "/dev/md0 (md0) to have a size".into()
            }
        );
        match discover(
            &env,
            "root=UUID=0f3b2c1d-aaaa-4bbb-8ccc-0123456789ab",
            &devs,
        ) {
            Discovery::Failed { report } => {
                assert!(report.contains("needs the volume discovery"), "{report}")
            }
            other => panic!("{other:?}"),
        }
        match discover(&env, "quiet", &devs) {
            Discovery::Failed { report } => assert_eq!(
                report,
                "No root= on the kernel command line: nothing to mount"
            ),
            other => panic!("{other:?}"),
        }
        fs::remove_dir_all(&d).unwrap();
    }
}
