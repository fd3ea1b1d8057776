//! Typed device-mapper targets. Each prints the kernel's table syntax (the target's ctr grammar)
//! and parses back what the kernel prints for STATUSTYPE_TABLE, so a table line is a value we
//! can compare with `dmsetup table` (devicemapper-rs `lineardev.rs`; kernel `dm-linear.c`,
//! `dm-stripe.c`, `dm-raid.c`, `dm-thin.c`, `dm-snap.c`).

pub mod crypt;

use crate::source::sysfs::DevNo;
use std::fmt;

/// A device a table refers to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DevRef {
    /// An existing kernel block device.
    Kernel { devno: DevNo, name: String },
    /// A device an earlier step of the same plan creates (MD kernel name or DM name); exec
    /// resolves it to maj:min once that step ran.
    Planned { name: String },
    /// An image file or an object read through one (image mode; never loaded into a kernel).
    Image { name: String },
}

impl DevRef {
    /// The form used in table text: maj:min when known, else the name.
    pub fn table_form(&self) -> String {
        match self {
            DevRef::Kernel { devno, .. } => devno.to_string(),
            DevRef::Planned { name } | DevRef::Image { name } => name.clone(),
        }
    }

    /// Human name (kernel name, planned name or image name).
    pub fn name(&self) -> &str {
        match self {
            DevRef::Kernel { name, .. } | DevRef::Planned { name } | DevRef::Image { name } => name,
        }
    }

    pub(crate) fn parse(s: &str) -> DevRef {
        match DevNo::parse(s) {
            Some(devno) => DevRef::Kernel {
                devno,
                name: String::new(),
            },
            None => DevRef::Planned {
                name: s.to_string(),
            },
        }
    }
}

/// One target of a table, with its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `linear <dev> <offset>`
    Linear { dev: DevRef, offset: u64 },
    /// `striped <#stripes> <chunk sectors> (<dev> <offset>)+`
    Striped {
        chunk: u64,
        stripes: Vec<(DevRef, u64)>,
    },
    /// `error`
    Error,
    /// `zero`
    Zero,
    /// `raid <raid_type> <#params> <chunk> [params] <#devs> (<meta>|- <data>|-)+`
    /// (dm-raid.rst). `params` are the optional key/value words in emitted order.
    Raid {
        raid_type: String,
        chunk: u64,
        params: Vec<String>,
        devs: Vec<(Option<DevRef>, Option<DevRef>)>,
    },
    /// `thin-pool <meta> <data> <block size> <low water mark> <#features> [features]`
    ThinPool {
        meta: DevRef,
        data: DevRef,
        block_size: u64,
        low_water_mark: u64,
        features: Vec<String>,
    },
    /// `thin <pool> <dev id> [<external origin>]`
    Thin {
        pool: DevRef,
        dev_id: u64,
        external_origin: Option<DevRef>,
    },
    /// `snapshot-origin <origin>`
    SnapshotOrigin { origin: DevRef },
    /// `snapshot <origin> <cow> P|N <chunk>` (also `snapshot-merge`)
    Snapshot {
        origin: DevRef,
        cow: DevRef,
        persistent: bool,
        chunk: u64,
        merge: bool,
    },
    /// `crypt <cipher> <key> <iv_offset> <dev> <offset> [<#opt> <opt>...]` (plan/crypt.rs).
    /// `params()` hides a hex key; `kernel_params()` is the text to load.
    Crypt(Box<crypt::CryptTarget>),
    /// `cache <meta> <data> <origin> <block size> <#features> [features] <policy>
    /// <#policy args> [args]` (dm-cache.rst; libdm `_cache_emit_segment_line`)
    Cache {
        meta: DevRef,
        data: DevRef,
        origin: DevRef,
        block_size: u64,
        features: Vec<String>,
        policy: String,
        policy_args: Vec<String>,
    },
    /// `writecache <p|s> <origin> <cache> <block size> <#args> [args]` (dm-writecache.rst;
    /// libdm `_writecache_emit_segment_line`); `block_size` in bytes.
    Writecache {
        pmem: bool,
        origin: DevRef,
        cache: DevRef,
        block_size: u64,
        args: Vec<String>,
    },
}

impl Target {
    /// The kernel target type name.
    pub fn type_name(&self) -> &'static str {
        match self {
            Target::Linear { .. } => "linear",
            Target::Striped { .. } => "striped",
            Target::Error => "error",
            Target::Zero => "zero",
            Target::Raid { .. } => "raid",
            Target::ThinPool { .. } => "thin-pool",
            Target::Thin { .. } => "thin",
            Target::SnapshotOrigin { .. } => "snapshot-origin",
            Target::Snapshot { merge: false, .. } => "snapshot",
            Target::Snapshot { merge: true, .. } => "snapshot-merge",
            Target::Crypt(_) => "crypt",
            Target::Cache { .. } => "cache",
            Target::Writecache { .. } => "writecache",
        }
    }

    /// The kernel module that provides this target.
    pub fn module(&self) -> &'static str {
        match self {
            Target::Linear { .. } | Target::Striped { .. } | Target::Error => "dm-mod",
            // `zero` is its own module (dm-zero.ko); without it the load fails with EINVAL.
            Target::Zero => "dm-zero",
            Target::Raid { .. } => "dm-raid",
            Target::ThinPool { .. } | Target::Thin { .. } => "dm-thin-pool",
            Target::SnapshotOrigin { .. } | Target::Snapshot { .. } => "dm-snapshot",
            Target::Crypt(_) => "dm-crypt",
            Target::Cache { .. } => "dm-cache",
            Target::Writecache { .. } => "dm-writecache",
        }
    }

    /// Every kernel module this target needs, the target's own first: [`Target::module`]
    /// plus what the kernel would otherwise `request_module()` while loading the table (an md
    /// personality, a cache policy, a dirty log, crypto algorithms), which an initramfs
    /// without modprobe cannot satisfy. Keyed by the kernel type name and the parameter text,
    /// so every target type has its list here whichever variant prints it.
    pub fn modules(&self) -> Vec<&'static str> {
        let mut v = vec![self.module()];
        for m in target_modules(self.type_name(), &self.params()) {
            if !v.contains(&m) {
                v.push(m);
            }
        }
        v
    }

    /// Devices this target refers to.
    pub fn devices(&self) -> Vec<&DevRef> {
        match self {
            Target::Linear { dev, .. } => vec![dev],
            Target::Striped { stripes, .. } => stripes.iter().map(|(d, _)| d).collect(),
            Target::Error | Target::Zero => vec![],
            Target::Raid { devs, .. } => devs
                .iter()
                .flat_map(|(m, d)| m.iter().chain(d.iter()))
                .collect(),
            Target::ThinPool { meta, data, .. } => vec![meta, data],
            Target::Thin {
                pool,
                external_origin,
                ..
            } => std::iter::once(pool)
                .chain(external_origin.iter())
                .collect(),
            Target::SnapshotOrigin { origin } => vec![origin],
            Target::Snapshot { origin, cow, .. } => vec![origin, cow],
            Target::Crypt(c) => vec![&c.dev],
            Target::Cache {
                meta, data, origin, ..
            } => vec![meta, data, origin],
            Target::Writecache { origin, cache, .. } => vec![origin, cache],
        }
    }

    /// Mutable access to the device references (exec resolves planned names to maj:min).
    pub fn devices_mut(&mut self) -> Vec<&mut DevRef> {
        match self {
            Target::Linear { dev, .. } => vec![dev],
            Target::Striped { stripes, .. } => stripes.iter_mut().map(|(d, _)| d).collect(),
            Target::Error | Target::Zero => vec![],
            Target::Raid { devs, .. } => devs
                .iter_mut()
                .flat_map(|(m, d)| m.iter_mut().chain(d.iter_mut()))
                .collect(),
            Target::ThinPool { meta, data, .. } => vec![meta, data],
            Target::Thin {
                pool,
                external_origin,
                ..
            } => std::iter::once(pool)
                .chain(external_origin.iter_mut())
                .collect(),
            Target::SnapshotOrigin { origin } => vec![origin],
            Target::Snapshot { origin, cow, .. } => vec![origin, cow],
            Target::Crypt(c) => vec![&mut c.dev],
            Target::Cache {
                meta, data, origin, ..
            } => vec![meta, data, origin],
            Target::Writecache { origin, cache, .. } => vec![origin, cache],
        }
    }

    /// The parameter string to load into the kernel: as [`Target::params`], with a crypt
    /// target's key shown. Only for DM_TABLE_LOAD; never log it.
    pub fn kernel_params(&self) -> String {
        match self {
            Target::Crypt(c) => c.text(true),
            _ => self.params(),
        }
    }

    /// The parameter string in the kernel's syntax (a crypt key hidden, as `dmsetup table`
    /// without `--showkeys`).
    pub fn params(&self) -> String {
        let d = DevRef::table_form;
        match self {
            Target::Linear { dev, offset } => format!("{} {}", d(dev), offset),
            Target::Striped { chunk, stripes } => {
                let mut s = format!("{} {}", stripes.len(), chunk);
                for (dev, off) in stripes {
                    s.push_str(&format!(" {} {}", d(dev), off));
                }
                s
            }
            Target::Error | Target::Zero => String::new(),
            Target::Raid {
                raid_type,
                chunk,
                params,
                devs,
            } => {
                let mut s = format!("{} {} {}", raid_type, params.len() + 1, chunk);
                for p in params {
                    s.push(' ');
                    s.push_str(p);
                }
                s.push_str(&format!(" {}", devs.len()));
                for (m, dv) in devs {
                    let f = |x: &Option<DevRef>| x.as_ref().map_or_else(|| "-".to_string(), d);
                    s.push_str(&format!(" {} {}", f(m), f(dv)));
                }
                s
            }
            Target::ThinPool {
                meta,
                data,
                block_size,
                low_water_mark,
                features,
            } => {
                let mut s = format!(
                    "{} {} {} {} {}",
                    d(meta),
                    d(data),
                    block_size,
                    low_water_mark,
                    features.len()
                );
                for f in features {
                    s.push(' ');
                    s.push_str(f);
                }
                s
            }
            Target::Thin {
                pool,
                dev_id,
                external_origin,
            } => match external_origin {
                Some(o) => format!("{} {} {}", d(pool), dev_id, d(o)),
                None => format!("{} {}", d(pool), dev_id),
            },
            Target::SnapshotOrigin { origin } => d(origin),
            Target::Snapshot {
                origin,
                cow,
                persistent,
                chunk,
                ..
            } => {
                format!(
                    "{} {} {} {}",
                    d(origin),
                    d(cow),
                    if *persistent { "P" } else { "N" },
                    chunk
                )
            }
            Target::Crypt(c) => c.text(false),
            Target::Cache {
                meta,
                data,
                origin,
                block_size,
                features,
                policy,
                policy_args,
            } => {
                let mut s = format!(
                    "{} {} {} {} {}",
                    d(meta),
                    d(data),
                    d(origin),
                    block_size,
                    features.len()
                );
                for f in features {
                    s.push(' ');
                    s.push_str(f);
                }
                s.push_str(&format!(" {policy} {}", policy_args.len()));
                for a in policy_args {
                    s.push(' ');
                    s.push_str(a);
                }
                s
            }
            Target::Writecache {
                pmem,
                origin,
                cache,
                block_size,
                args,
            } => {
                let mut s = format!(
                    "{} {} {} {} {}",
                    if *pmem { "p" } else { "s" },
                    d(origin),
                    d(cache),
                    block_size,
                    args.len()
                );
                for a in args {
                    s.push(' ');
                    s.push_str(a);
                }
                s
            }
        }
    }

    /// Parses a target from its type and parameter string (as `dmsetup table` prints them).
    pub fn parse(ttype: &str, params: &str) -> Result<Target, String> {
        let w: Vec<&str> = params.split_whitespace().collect();
        let num = |i: usize, what: &str| -> Result<u64, String> {
            w.get(i)
                .ok_or_else(|| format!("{ttype}: missing {what}"))?
                .parse::<u64>()
                .map_err(|_| format!("{ttype}: bad {what} '{}'", w[i]))
        };
        let dev = |i: usize, what: &str| -> Result<DevRef, String> {
            w.get(i)
                .map(|s| DevRef::parse(s))
                .ok_or_else(|| format!("{ttype}: missing {what}"))
        };
        let exact = |n: usize| -> Result<(), String> {
            if w.len() == n {
                Ok(())
            } else {
                Err(format!(
                    "{ttype}: expected {n} parameters, found {}",
                    w.len()
                ))
            }
        };
        match ttype {
            "linear" => {
                exact(2)?;
                Ok(Target::Linear {
                    dev: dev(0, "device")?,
                    offset: num(1, "offset")?,
                })
            }
            "striped" => {
                let n = usize::try_from(num(0, "stripe count")?).map_err(|e| e.to_string())?;
                if n == 0 || w.len() != 2 + 2 * n {
                    return Err(format!(
                        "striped: {n} stripes need {} parameters, found {}",
                        2 + 2 * n,
                        w.len()
                    ));
                }
                let chunk = num(1, "chunk size")?;
                let stripes = (0..n)
                    .map(|i| Ok((dev(2 + 2 * i, "device")?, num(3 + 2 * i, "offset")?)))
                    .collect::<Result<_, String>>()?;
                Ok(Target::Striped { chunk, stripes })
            }
            "error" => exact(0).map(|_| Target::Error),
            "zero" => exact(0).map(|_| Target::Zero),
            "raid" => {
                let raid_type = w.first().ok_or("raid: missing type")?.to_string();
                let np = usize::try_from(num(1, "#params")?).map_err(|e| e.to_string())?;
                if np == 0 || w.len() < 2 + np + 1 {
                    return Err(format!("raid: {np} params do not fit {} words", w.len()));
                }
                let chunk = num(2, "chunk size")?;
                let params = w[3..2 + np].iter().map(|s| s.to_string()).collect();
                let nd = usize::try_from(num(2 + np, "#devices")?).map_err(|e| e.to_string())?;
                let base = 3 + np;
                if w.len() != base + 2 * nd {
                    return Err(format!(
                        "raid: {nd} device pairs need {} words, found {}",
                        base + 2 * nd,
                        w.len()
                    ));
                }
                let opt = |s: &str| (s != "-").then(|| DevRef::parse(s));
                let devs = (0..nd)
                    .map(|i| (opt(w[base + 2 * i]), opt(w[base + 2 * i + 1])))
                    .collect();
                Ok(Target::Raid {
                    raid_type,
                    chunk,
                    params,
                    devs,
                })
            }
            "thin-pool" => {
                let nf = usize::try_from(num(4, "#features")?).map_err(|e| e.to_string())?;
                exact(5 + nf)?;
                Ok(Target::ThinPool {
                    meta: dev(0, "metadata device")?,
                    data: dev(1, "data device")?,
                    block_size: num(2, "block size")?,
                    low_water_mark: num(3, "low water mark")?,
                    features: w[5..].iter().map(|s| s.to_string()).collect(),
                })
            }
            "thin" => {
                if w.len() != 2 && w.len() != 3 {
                    return Err(format!(
                        "thin: expected 2 or 3 parameters, found {}",
                        w.len()
                    ));
                }
                Ok(Target::Thin {
                    pool: dev(0, "pool")?,
                    dev_id: num(1, "device id")?,
                    external_origin: if w.len() == 3 {
                        Some(dev(2, "external origin")?)
                    } else {
                        None
                    },
                })
            }
            "snapshot-origin" => {
                exact(1)?;
                Ok(Target::SnapshotOrigin {
                    origin: dev(0, "origin")?,
                })
            }
            "snapshot" | "snapshot-merge" => {
                exact(4)?;
                let persistent = match w[2] {
                    "P" | "p" | "PO" => true,
                    "N" | "n" => false,
                    other => return Err(format!("{ttype}: bad persistence '{other}'")),
                };
                Ok(Target::Snapshot {
                    origin: dev(0, "origin")?,
                    cow: dev(1, "cow")?,
                    persistent,
                    chunk: num(3, "chunk size")?,
                    merge: ttype == "snapshot-merge",
                })
            }
            "crypt" => Ok(Target::Crypt(Box::new(crypt::CryptTarget::parse(params)?))),
            "cache" => {
                let nf = usize::try_from(num(4, "#features")?).map_err(|e| e.to_string())?;
                let p = 5usize.checked_add(nf).ok_or("cache: too many features")?;
                let policy = w.get(p).ok_or("cache: missing policy")?.to_string();
                let na = usize::try_from(num(p + 1, "#policy args")?).map_err(|e| e.to_string())?;
                exact(p + 2 + na)?;
                Ok(Target::Cache {
                    meta: dev(0, "metadata device")?,
                    data: dev(1, "cache device")?,
                    origin: dev(2, "origin device")?,
                    block_size: num(3, "block size")?,
                    features: w[5..p].iter().map(|s| s.to_string()).collect(),
                    policy,
                    policy_args: w[p + 2..].iter().map(|s| s.to_string()).collect(),
                })
            }
            "writecache" => {
                let pmem = match w.first() {
                    Some(&"p") => true,
                    Some(&"s") => false,
                    other => return Err(format!("writecache: bad type {other:?}")),
                };
                let na = usize::try_from(num(4, "#args")?).map_err(|e| e.to_string())?;
                exact(5usize.checked_add(na).ok_or("writecache: too many args")?)?;
                Ok(Target::Writecache {
                    pmem,
                    origin: dev(1, "origin device")?,
                    cache: dev(2, "cache device")?,
                    block_size: num(3, "block size")?,
                    args: w[5..].iter().map(|s| s.to_string()).collect(),
                })
            }
            other => Err(format!("unknown target type '{other}'")),
        }
    }
}

/// The modules a table line of kernel target type `ttype` with parameters `params` needs
/// (Linux 6.1 `drivers/md`, module names as modules.dep has them). Beyond the target's own
/// module: dm-raid asks md for its personality (`md_run` → `request_module("md-level-N")`);
/// dm-cache loads its policy by name (`dm-cache-%s`; smq also registers mq, default and
/// cleaner, so all four are dm-cache-smq); dm-mirror takes its dirty log by name (`core` and
/// `disk` are in dm-log, `userspace` in dm-log-userspace); dm-crypt allocates its cipher
/// through the crypto API (`crypto-<name>` aliases for the cipher, the chaining mode and an
/// ESSIV hash).
pub fn target_modules(ttype: &str, params: &str) -> Vec<&'static str> {
    let w: Vec<&str> = params.split_whitespace().collect();
    match ttype {
        "linear" | "striped" | "error" => vec!["dm-mod"],
        "zero" => vec!["dm-zero"],
        "raid" => {
            let personality = match w.first().copied().unwrap_or("") {
                "raid0" => Some("raid0"),
                "raid1" => Some("raid1"),
                t if t.starts_with("raid10") => Some("raid10"),
                t if t.starts_with("raid4") || t.starts_with("raid5") || t.starts_with("raid6") => {
                    Some("raid456")
                }
                _ => None,
            };
            std::iter::once("dm-raid").chain(personality).collect()
        }
        "thin-pool" | "thin" => vec!["dm-thin-pool"],
        "snapshot" | "snapshot-origin" | "snapshot-merge" => vec!["dm-snapshot"],
        "mirror" => {
            // mirror <log type> <#log args> ...
            let log = match w.first().copied() {
                Some("userspace") => "dm-log-userspace",
                _ => "dm-log",
            };
            vec!["dm-mirror", log]
        }
        "cache" => vec!["dm-cache", "dm-cache-smq"],
        "writecache" => vec!["dm-writecache"],
        "integrity" => vec!["dm-integrity"],
        "era" => vec!["dm-era"],
        "crypt" => {
            let mut v = vec!["dm-crypt"];
            v.extend(crypto_modules(w.first().copied().unwrap_or("")));
            v
        }
        "delay" => vec!["dm-delay"],
        "flakey" => vec!["dm-flakey"],
        "multipath" => vec!["dm-multipath"],
        "verity" => vec!["dm-verity"],
        // Out-of-tree in Linux 6.1 (kvdo).
        "vdo" => vec!["kvdo"],
        _ => vec![],
    }
}

/// `crypto-*` module aliases for a dm-crypt cipher spec: `cipher[:keycount]-mode-iv[:ivopts]`
/// (e.g. `aes-xts-plain64`, `aes-cbc-essiv:sha256`) or `capi:...` (left to the kernel).
fn crypto_modules(spec: &str) -> Vec<&'static str> {
    const KNOWN: [(&str, &str); 14] = [
        ("aes", "crypto-aes"),
        ("serpent", "crypto-serpent"),
        ("twofish", "crypto-twofish"),
        ("camellia", "crypto-camellia"),
        ("cast5", "crypto-cast5"),
        ("cast6", "crypto-cast6"),
        ("xts", "crypto-xts"),
        ("cbc", "crypto-cbc"),
        ("ecb", "crypto-ecb"),
        ("lrw", "crypto-lrw"),
        ("essiv", "crypto-essiv"),
        ("sha256", "crypto-sha256"),
        ("sha1", "crypto-sha1"),
        ("sha512", "crypto-sha512"),
    ];
    if spec.starts_with("capi:") {
        return vec![];
    }
    let mut parts = spec.split('-');
    let cipher = parts.next().unwrap_or("").split(':').next().unwrap_or("");
    let mode = parts.next().unwrap_or("");
    let (iv, ivopts) = parts
        .next()
        .map(|s| s.split_once(':').unwrap_or((s, "")))
        .unwrap_or(("", ""));
    let mut v = Vec::new();
    for name in [cipher, mode, iv, ivopts] {
        if let Some((_, m)) = KNOWN.iter().find(|(n, _)| *n == name) {
            if !v.contains(m) {
                v.push(*m);
            }
        }
    }
    v
}

/// One line of a table: `<start> <length> <type> <params>` (sectors).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetLine {
    pub start: u64,
    pub len: u64,
    pub target: Target,
}

impl TargetLine {
    /// Parses a `dmsetup table` line.
    pub fn parse(line: &str) -> Result<TargetLine, String> {
        let mut it = line.trim().splitn(4, ' ');
        let start = it
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or("missing start")?;
        let len = it
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or("missing length")?;
        let ttype = it.next().ok_or("missing target type")?;
        let params = it.next().unwrap_or("");
        Ok(TargetLine {
            start,
            len,
            target: Target::parse(ttype, params)?,
        })
    }
}

impl fmt::Display for TargetLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self.target.params();
        if p.is_empty() {
            write!(f, "{} {} {}", self.start, self.len, self.target.type_name())
        } else {
            write!(
                f,
                "{} {} {} {}",
                self.start,
                self.len,
                self.target.type_name(),
                p
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt(line: &str) {
        let t = TargetLine::parse(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert_eq!(t.to_string(), line);
    }

    #[test]
    fn round_trips_kernel_syntax() {
        rt("0 8192 linear 9:127 2048");
        rt("0 16384 striped 2 128 254:16 2048 254:32 2048");
        rt("0 100 error");
        rt("0 100 zero");
        // formats.md §2.3 examples, as lvm2 2.03.16 loaded them.
        rt("0 8192 raid raid1 3 0 region_size 4096 2 253:2 253:3 253:4 253:5");
        rt("0 16384 raid raid5_ls 3 128 region_size 4096 3 253:0 253:1 253:2 253:3 253:4 253:5");
        rt("0 8192 raid raid1 3 0 region_size 4096 2 - 253:3 253:4 253:5");
        rt("0 204800 thin-pool 253:1 253:2 128 0 0");
        rt("0 204800 thin-pool 253:1 253:2 128 0 1 skip_block_zeroing");
        rt("0 8192 thin 253:3 1");
        rt("0 8192 snapshot-origin 253:4");
        rt("0 8192 snapshot 253:4 253:5 P 8");
        rt("0 8192 linear vg0-pool-tpool 0");
        // As lvm2 2.03.16 loaded them (tests/fixtures/oracle/lvthin, lvsnap, lvcache).
        rt("0 16384 thin-pool 253:1 253:2 128 0 3 skip_block_zeroing ignore_discard error_if_no_space");
        rt("0 8192 thin 253:3 2 253:7");
        rt("0 16384 cache 253:1 253:2 253:3 128 2 metadata2 writeback mq 0");
        rt("0 16384 cache 253:1 253:2 253:3 128 1 writethrough smq 2 migration_threshold 4096");
        rt("0 16384 writecache s 253:1 253:2 4096 4 high_watermark 80 writeback_jobs 1024");
        rt("0 16384 writecache s 253:1 253:2 4096 0");
        rt("0 8192 snapshot-merge 253:4 253:5 P 128");
    }

    #[test]
    fn cache_targets_need_their_policy_module() {
        let t = TargetLine::parse("0 8 cache 1:1 1:2 1:3 128 1 writethrough smq 0").unwrap();
        assert_eq!(t.target.modules(), ["dm-cache", "dm-cache-smq"]);
        // Linux 6.1 has no dm-cache-cleaner module: dm-cache-policy-smq.c registers the
        // cleaner policy too (with mq and default).
        let t = TargetLine::parse("0 8 cache 1:1 1:2 1:3 128 1 writethrough cleaner 0").unwrap();
        assert_eq!(t.target.modules(), ["dm-cache", "dm-cache-smq"]);
        assert!(TargetLine::parse("0 8 cache 1:1 1:2 1:3 128 1 writethrough smq 2 x").is_err());
        assert!(TargetLine::parse("0 8 writecache x 1:1 1:2 4096 0").is_err());
        assert!(TargetLine::parse("0 8 writecache s 1:1 1:2 4096 2 fua").is_err());
    }

    #[test]
    fn rejects_malformed_params() {
        assert!(TargetLine::parse("0 8 linear 9:1").is_err());
        assert!(TargetLine::parse("0 8 linear 9:1 x").is_err());
        assert!(TargetLine::parse("0 8 striped 2 128 9:1 0").is_err());
        assert!(TargetLine::parse("0 8 striped 0 128").is_err());
        assert!(TargetLine::parse("0 8 raid raid1 3 0 region_size 4096 2 1:1").is_err());
        assert!(TargetLine::parse("0 8 bogus 1").is_err());
        assert!(TargetLine::parse("x 8 zero").is_err());
    }

    #[test]
    fn devices_are_listed_in_order() {
        let t = TargetLine::parse("0 16384 striped 2 128 254:16 2048 254:32 4096").unwrap();
        let d: Vec<String> = t.target.devices().iter().map(|d| d.table_form()).collect();
        assert_eq!(d, ["254:16", "254:32"]);
        assert_eq!(t.target.module(), "dm-mod");
    }

    fn mods(line: &str) -> Vec<&'static str> {
        TargetLine::parse(line).unwrap().target.modules()
    }

    /// The personality dm-raid's `md_run` would request, per raid type lvm2 writes.
    #[test]
    fn raid_lines_name_their_personality() {
        assert_eq!(
            mods("0 8192 raid raid1 3 0 region_size 4096 2 253:2 253:3 253:4 253:5"),
            ["dm-raid", "raid1"]
        );
        for t in [
            "raid4",
            "raid5_ls",
            "raid5_n",
            "raid6_zr",
            "raid6_n_6",
            "raid6_ls_6",
        ] {
            assert_eq!(
                mods(&format!("0 8 raid {t} 1 128 3 - 1:1 - 1:2 - 1:3")),
                ["dm-raid", "raid456"],
                "{t}"
            );
        }
        assert_eq!(
            mods("0 8 raid raid10 3 128 raid10_copies 2 2 - 1:1 - 1:2"),
            ["dm-raid", "raid10"]
        );
        assert_eq!(
            mods("0 8 raid raid0 1 128 2 - 1:1 - 1:2"),
            ["dm-raid", "raid0"]
        );
        assert_eq!(mods("0 8 zero"), ["dm-zero"]);
        assert_eq!(mods("0 8 thin 253:3 1"), ["dm-thin-pool"]);
        assert_eq!(mods("0 8 snapshot-origin 253:4"), ["dm-snapshot"]);
    }

    /// Target types whose variants come with their families, by kernel type name.
    #[test]
    fn every_target_type_has_its_modules() {
        let t = target_modules;
        assert_eq!(
            t("mirror", "core 2 1024 nosync 2 1:1 0 1:2 0"),
            ["dm-mirror", "dm-log"]
        );
        assert_eq!(
            t(
                "mirror",
                "disk 2 253:1 1024 2 253:2 0 253:3 0 1 handle_errors"
            ),
            ["dm-mirror", "dm-log"]
        );
        assert_eq!(
            t(
                "mirror",
                "userspace 4 u clustered-disk 253:1 1024 2 1:1 0 1:2 0"
            ),
            ["dm-mirror", "dm-log-userspace"]
        );
        assert_eq!(
            t(
                "cache",
                "253:1 253:2 253:3 128 2 metadata2 writethrough smq 0"
            ),
            ["dm-cache", "dm-cache-smq"]
        );
        assert_eq!(t("writecache", "s 253:1 253:2 4096 0"), ["dm-writecache"]);
        assert_eq!(t("integrity", "253:1 0 4 J 0"), ["dm-integrity"]);
        assert_eq!(
            t(
                "crypt",
                "aes-xts-plain64 :64:logon:cryptsetup:x 0 253:1 4096"
            ),
            ["dm-crypt", "crypto-aes", "crypto-xts"]
        );
        assert_eq!(
            t("crypt", "aes-cbc-essiv:sha256 0123 0 8:1 0"),
            [
                "dm-crypt",
                "crypto-aes",
                "crypto-cbc",
                "crypto-essiv",
                "crypto-sha256"
            ]
        );
        assert_eq!(t("crypt", "capi:xts(aes)-plain64 k 0 8:1 0"), ["dm-crypt"]);
        assert_eq!(t("vdo", ""), ["kvdo"]);
        assert!(t("no-such-target", "").is_empty());
    }
}
