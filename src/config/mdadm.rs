//! `mdadm.conf` (`<etc>/mdadm/mdadm.conf`, else `<etc>/mdadm.conf`, as Debian's mdadm looks):
//! the `HOMEHOST` that decides whether an array's name is local (`/dev/md/NAME`) or foreign,
//! and the `ARRAY` lines that name arrays by UUID.

use crate::ids::MdUuid;
use std::path::Path;

/// The text of the first mdadm.conf found under `etc`.
fn read_conf(etc: &Path) -> Option<String> {
    ["mdadm/mdadm.conf", "mdadm.conf"]
        .iter()
        .find_map(|p| std::fs::read_to_string(etc.join(p)).ok())
}

/// mdadm's homehost: the option, else `HOMEHOST` of mdadm.conf (`<system>` means the host name,
/// `<none>` none), else the host name.
pub fn homehost(opt: Option<&str>, etc: &Path) -> Option<String> {
    if let Some(h) = opt {
        return Some(h.to_string());
    }
    match conf_homehost(read_conf(etc).as_deref().unwrap_or_default()) {
        ConfHomehost::None => None,
        ConfHomehost::Name(h) => Some(h),
        ConfHomehost::System => nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .filter(|h| !h.is_empty() && h != "(none)"),
    }
}

/// What the `HOMEHOST` line says.
#[derive(Debug, PartialEq, Eq)]
enum ConfHomehost {
    /// `<none>`.
    None,
    /// No line, `<system>` or `<ignore>`: the host name.
    System,
    Name(String),
}

fn conf_homehost(conf: &str) -> ConfHomehost {
    let Some(line) = conf
        .lines()
        .find(|l| l.trim_start().starts_with("HOMEHOST"))
    else {
        return ConfHomehost::System;
    };
    match line.split_whitespace().nth(1) {
        Some("<none>") => ConfHomehost::None,
        Some("<system>" | "<ignore>") | None => ConfHomehost::System,
        Some(h) => ConfHomehost::Name(h.to_string()),
    }
}

/// `ARRAY /dev/md/NAME ... UUID=...` lines of mdadm.conf.
pub fn conf_arrays(etc: &Path) -> Vec<(MdUuid, String)> {
    arrays(read_conf(etc).as_deref().unwrap_or_default())
}

fn arrays(conf: &str) -> Vec<(MdUuid, String)> {
    conf.lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            if w.next()? != "ARRAY" {
                return None;
            }
            let dev = w.next()?.to_string();
            let uuid = l
                .split_whitespace()
                .find_map(|x| x.strip_prefix("UUID=").or_else(|| x.strip_prefix("uuid=")))?;
            Some((MdUuid::parse(uuid)?, dev))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn homehost_line() {
        assert_eq!(conf_homehost(""), ConfHomehost::System);
        assert_eq!(
            conf_homehost("DEVICE partitions\nHOMEHOST <system>\n"),
            ConfHomehost::System
        );
        assert_eq!(conf_homehost("HOMEHOST <ignore>"), ConfHomehost::System);
        assert_eq!(conf_homehost("  HOMEHOST <none>"), ConfHomehost::None);
        assert_eq!(
            conf_homehost("HOMEHOST evms-vm\n"),
            ConfHomehost::Name("evms-vm".into())
        );
        assert_eq!(
            homehost(Some("given"), Path::new("/nonexistent")).as_deref(),
            Some("given")
        );
    }

    #[test]
    fn array_lines() {
        let conf = "# mdadm.conf\nARRAY /dev/md/home metadata=1.2 UUID=3f5a8b2c:11223344:55667788:99aabbcc name=h:home\n\
                    ARRAY /dev/md0 uuid=00000001:00000002:00000003:00000004\nARRAY /dev/md1 devices=/dev/vda\n";
        let a = arrays(conf);
        assert_eq!(
            a,
            [
                (
                    MdUuid::parse("3f5a8b2c:11223344:55667788:99aabbcc").unwrap(),
                    "/dev/md/home".to_string()
                ),
                (
                    MdUuid::parse("00000001:00000002:00000003:00000004").unwrap(),
                    "/dev/md0".to_string()
                )
            ]
        );
    }
}
