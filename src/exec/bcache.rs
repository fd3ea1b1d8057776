//! bcache registration and teardown through sysfs, as bcache-tools does it: udev's
//! 69-bcache.rules runs `bcache-register DEVNODE` for every device blkid names bcache, which
//! writes the node's path to /sys/fs/bcache/register; the kernel reads the superblock and
//! creates /dev/bcacheN once the backing device can run (alone, or with its cache set
//! registered too). Stopping: `bcache/stop` of the bcache device, then `stop` of its cache
//! set (never `unregister`, which detaches the backing devices from the set for good).
//!
//! Registration is synchronous in Debian's kernel (CONFIG_BCACHE_ASYNC_REGISTRATION unset):
//! bcacheN exists when the last write returns, and nothing waits. With asynchronous
//! registration it comes later, and stopping always finishes in a kernel worker: there sysfs
//! is looked at again every 10 ms, bounded by [`WAIT`] (exec has no uevent socket of its own:
//! the boot loop's is above it, and a cache set has no device whose events could be awaited).

// Outcome and ExecError are what every exec step reports; boxing them here alone would only
// make this file differ (exec/md.rs allows the same).
#![allow(clippy::result_large_err)]

use super::nodes::{self, Change};
use super::{ExecEnv, ExecError, ExecOptions, Outcome};
use crate::plan::BcacheStep;
use crate::source::sysfs::{list_dir, read_attr, DevNo};
use nix::errno::Errno;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The longest wait for the kernel to create or remove a bcache device or cache set.
pub(crate) const WAIT: Duration = Duration::from_secs(10);

/// The kernel name of block device `d` (`/sys/dev/block/MAJ:MIN` links to its directory).
fn kname(sys: &Path, d: DevNo) -> Option<String> {
    let link = fs::read_link(sys.join("dev/block").join(d.to_string())).ok()?;
    Some(link.file_name()?.to_string_lossy().into_owned())
}

/// The bcache device running on backing device `backing` (its `bcache/dev` link).
fn running_on(sys: &Path, backing: &str) -> Option<(String, DevNo)> {
    let link = fs::read_link(sys.join("class/block").join(backing).join("bcache/dev")).ok()?;
    let name = link.file_name()?.to_string_lossy().into_owned();
    let d = DevNo::parse(&read_attr(
        &sys.join("class/block").join(&name).join("dev"),
    )?)?;
    Some((name, d))
}

/// A device the kernel's bcache holds (registered as backing or cache device).
fn registered(sys: &Path, kernel: &str) -> bool {
    sys.join("class/block").join(kernel).join("bcache").exists()
}

fn fail(b: &BcacheStep, action: &str, errno: Option<Errno>, msg: String) -> Outcome {
    let mut e = ExecError::new(&b.devnm, action, errno, msg);
    e.hint = Some("the kernel log (dmesg) says why bcache refused".into());
    Outcome::Failed(e)
}

/// Registers the step's cache devices, then its backing device (so the backing device
/// attaches at once rather than running uncached for a moment), each unless the kernel holds
/// it already; forces the run without the cache when the plan says so; reports the bcache
/// device the kernel made. `backing` and `caches` are resolved device numbers.
pub(crate) fn register(
    b: &BcacheStep,
    backing: DevNo,
    caches: &[DevNo],
    env: &ExecEnv,
    opts: &ExecOptions,
    udev: bool,
    notes: &mut Vec<String>,
) -> Outcome {
    let mut members = Vec::new();
    for (d, role) in caches
        .iter()
        .map(|d| (*d, "cache"))
        .chain([(backing, "backing")])
    {
        match kname(&env.sys, d) {
            Some(k) => members.push((k, role)),
            None => {
                return fail(
                    b,
                    "resolve",
                    None,
                    format!("no block device {d} in {}", env.sys.display()),
                )
            }
        }
    }
    let bk = members.last().map(|(k, _)| k.clone()).unwrap_or_default();
    if let Some((name, d)) = running_on(&env.sys, &bk) {
        let missing: Vec<&str> = members
            .iter()
            .filter(|(k, _)| !registered(&env.sys, k))
            .map(|(k, _)| k.as_str())
            .collect();
        if !missing.is_empty() && !opts.dry_run {
            // Running alone (never attached): its cache set attaches once registered.
            if let Err(o) = write_register(b, &missing, env, notes) {
                return o;
            }
        }
        if name != b.devnm {
            notes.push(format!("running as {name}, the plan says {}", b.devnm));
        }
        if !opts.dry_run {
            report_state(&name, env, notes);
            make_links(b, &name, env, udev, notes);
        }
        return Outcome::Present {
            kernel: name,
            devno: d,
        };
    }
    let register_file = env.sys.join("fs/bcache/register");
    if opts.dry_run {
        if !register_file.exists() {
            notes.push(format!(
                "{} is missing: the bcache module is not loaded yet",
                register_file.display()
            ));
        }
        return Outcome::WouldCreate {
            kernel: b.devnm.clone(),
        };
    }
    if !register_file.exists() {
        return fail(
            b,
            "register",
            None,
            format!(
                "{} is missing: the bcache module is not loaded",
                register_file.display()
            ),
        );
    }
    let todo: Vec<&str> = members
        .iter()
        .filter(|(k, _)| {
            let held = registered(&env.sys, k);
            if held {
                notes.push(format!("{k} is registered already"));
            }
            !held
        })
        .map(|(k, _)| k.as_str())
        .collect();
    if let Err(o) = write_register(b, &todo, env, notes) {
        return o;
    }
    if b.without_cache && running_on(&env.sys, &bk).is_none() {
        let running = env.sys.join("class/block").join(&bk).join("bcache/running");
        if let Err(e) = fs::write(&running, "1") {
            return fail(
                b,
                "run without cache",
                e.raw_os_error().map(Errno::from_raw),
                format!("writing 1 to {}", running.display()),
            );
        }
        notes.push(format!(
            "{bk} runs without its cache set {} (the kernel marks it stale)",
            b.set_uuid
        ));
    }
    let found = if wait_until(&|| running_on(&env.sys, &bk).is_some()) {
        running_on(&env.sys, &bk)
    } else {
        None
    };
    let Some((name, d)) = found else {
        return fail(
            b,
            "register",
            None,
            format!(
                "{} registered, but the kernel made no bcache device within {} s (waiting for cache set {}?)",
                members
                    .iter()
                    .map(|(k, r)| format!("{k} ({r})"))
                    .collect::<Vec<_>>()
                    .join(", "),
                WAIT.as_secs(),
                b.set_uuid
            ),
        );
    };
    if name != b.devnm {
        notes.push(format!(
            "the kernel named it {name}, the plan says {}",
            b.devnm
        ));
    }
    report_state(&name, env, notes);
    make_links(b, &name, env, udev, notes);
    log::info!("registered {bk} as {name} ({d})");
    Outcome::Created {
        kernel: name,
        devno: d,
    }
}

/// Writes each device's node path to /sys/fs/bcache/register (`bcache-register`).
fn write_register(
    b: &BcacheStep,
    kernels: &[&str],
    env: &ExecEnv,
    notes: &mut Vec<String>,
) -> Result<(), Outcome> {
    let file = env.sys.join("fs/bcache/register");
    for k in kernels {
        let node = env.dev.join(k);
        if let Err(e) = fs::write(&file, node.as_os_str().as_encoded_bytes()) {
            return Err(fail(
                b,
                "register",
                e.raw_os_error().map(Errno::from_raw),
                format!("writing {} to {}", node.display(), file.display()),
            ));
        }
        notes.push(format!("registered {}", node.display()));
    }
    Ok(())
}

/// What the kernel says of the device: sysfs `state` and `cache_mode`.
fn report_state(name: &str, env: &ExecEnv, notes: &mut Vec<String>) {
    let dir = env.sys.join("block").join(name).join("bcache");
    let state = read_attr(&dir.join("state")).unwrap_or_default();
    let mode = read_attr(&dir.join("cache_mode")).unwrap_or_default();
    notes.push(format!("{name}: state {state}, cache_mode {mode}"));
}

/// udev's /dev/bcache/by-uuid and by-label links (when udev does not run) and the EVMS
/// name /dev/evms/bcacheN.
fn make_links(b: &BcacheStep, name: &str, env: &ExecEnv, udev: bool, notes: &mut Vec<String>) {
    let mut links: Vec<String> = if udev { Vec::new() } else { b.links.clone() };
    links.push(format!("evms/{name}"));
    for l in links {
        match nodes::ensure_symlink(&env.dev, &l, name) {
            Ok(Change::Unchanged) => {}
            Ok(c) => notes.push(format!("{} /dev/{l}", super::dm::change_word(c))),
            Err(e) => notes.push(format!("warning: cannot link /dev/{l}: {e}")),
        }
    }
}

/// The cache set directory a bcache device is attached to (`bcache/cache` link), if any.
pub(crate) fn cache_set_of(dev_dir: &Path) -> Option<PathBuf> {
    fs::canonicalize(dev_dir.join("bcache/cache")).ok()
}

/// Stops bcache device `kernel` (`bcache/stop`) and waits (bounded) until the kernel removed
/// it; then stops its cache set when no other bcache device uses it, which releases the cache
/// device. Returns notes; Err: the failure.
pub(crate) fn stop(
    kernel: &str,
    dir: &Path,
    env: &ExecEnv,
    notes: &mut Vec<String>,
) -> Result<(), ExecError> {
    let set = cache_set_of(dir);
    let backing = read_attr(&dir.join("bcache/backing_dev_name")).unwrap_or_default();
    let stop = dir.join("bcache/stop");
    fs::write(&stop, "1").map_err(|e| {
        ExecError::new(
            kernel,
            "stop",
            e.raw_os_error().map(Errno::from_raw),
            format!("writing 1 to {}", stop.display()),
        )
    })?;
    let gone = || !env.sys.join("class/block").join(kernel).exists();
    if !wait_until(&gone) {
        return Err(ExecError::new(
            kernel,
            "stop",
            None,
            format!(
                "the kernel did not remove {kernel} within {} s",
                WAIT.as_secs()
            ),
        ));
    }
    notes.push(format!("backing device {backing} released"));
    let Some(set) = set else { return Ok(()) };
    // Other bcache devices still on the set (`bdevN` links): it stays.
    let users: Vec<String> = list_dir(&set)
        .into_iter()
        .filter(|n| n.starts_with("bdev"))
        .collect();
    let uuid = set
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !users.is_empty() {
        notes.push(format!(
            "cache set {uuid} stays: other bcache devices use it ({})",
            users.join(", ")
        ));
        return Ok(());
    }
    let caches: Vec<String> = list_dir(&set)
        .into_iter()
        .filter(|n| {
            n.strip_prefix("cache")
                .is_some_and(|i| !i.is_empty() && i.bytes().all(|c| c.is_ascii_digit()))
        })
        .filter_map(|n| {
            let p = fs::canonicalize(set.join(n)).ok()?;
            Some(p.parent()?.file_name()?.to_string_lossy().into_owned())
        })
        .collect();
    let file = set.join("stop");
    fs::write(&file, "1").map_err(|e| {
        ExecError::new(
            kernel,
            "stop cache set",
            e.raw_os_error().map(Errno::from_raw),
            format!("writing 1 to {}", file.display()),
        )
    })?;
    if !wait_until(&|| !set.exists()) {
        return Err(ExecError::new(
            kernel,
            "stop cache set",
            None,
            format!(
                "cache set {uuid} still present {} s after stop",
                WAIT.as_secs()
            ),
        ));
    }
    notes.push(format!(
        "stopped cache set {uuid} (cache device {} released)",
        caches.join(", ")
    ));
    Ok(())
}

/// Whether `done` holds now or within [`WAIT`] (looked at every 10 ms).
fn wait_until(done: &dyn Fn() -> bool) -> bool {
    let deadline = Instant::now() + WAIT;
    loop {
        if done() {
            return true;
        }
        let now = Instant::now();
        if now >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10).min(deadline - now));
    }
}
