//! Time spent inside the kernel's calls, for the benchmark (`make bench`): how much of an
//! activation is the kernel's own work (DM create/load/resume, the md ioctls and sysfs writes,
//! finit_module, mounting root) and how much is ours (reading, parsing, planning, nodes,
//! records).
//! Process-wide counters (atomics): they only add up durations, nothing reads them to decide.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A kind of kernel call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// `finit_module` (signature check, relocation, the module's init).
    FinitModule,
    /// md: `new_array` and other sysfs writes.
    MdSysfs,
    /// md: SET_ARRAY_INFO, ADD_NEW_DISK, RUN_ARRAY.
    MdIoctl,
    DmCreate,
    DmLoad,
    /// DM_DEV_SUSPEND without the suspend flag (the table goes live; with udev, the wait for
    /// udev's cookie release is included).
    DmResume,
    /// DM status/info/table queries (does it exist, what is loaded): checks, not work.
    DmQuery,
    /// mount(2) of the root filesystem: the filesystem's own work (reading its superblock,
    /// group descriptors and journal), as finit_module is the module's.
    Mount,
}

const CALLS: [(Call, &str); 8] = [
    (Call::FinitModule, "finit_module"),
    (Call::MdSysfs, "md-sysfs"),
    (Call::MdIoctl, "md-ioctl"),
    (Call::DmCreate, "dm-create"),
    (Call::DmLoad, "dm-load"),
    (Call::DmResume, "dm-resume"),
    (Call::DmQuery, "dm-query"),
    (Call::Mount, "mount"),
];

static NANOS: [AtomicU64; 8] = [const { AtomicU64::new(0) }; 8];
static COUNT: [AtomicU64; 8] = [const { AtomicU64::new(0) }; 8];
/// Per kind: calls in flight, since when one was, and the time with at least one in flight.
/// Modules load from several threads at once: their sum exceeds the time that passed.
static WALL: [Mutex<(u32, Option<Instant>, Duration)>; 8] =
    [const { Mutex::new((0, None, Duration::ZERO)) }; 8];

fn index(c: Call) -> usize {
    CALLS.iter().position(|(k, _)| *k == c).unwrap_or(0)
}

/// Runs `f` (one kernel call) and adds its duration to `call`'s account.
pub fn timed<T>(call: Call, f: impl FnOnce() -> T) -> T {
    let i = index(call);
    let start = Instant::now();
    // try_lock: a forked module worker must never wait for a lock its parent's other thread
    // (a test harness has several) held at fork time; at worst one call goes uncounted.
    if let Ok(mut w) = WALL[i].try_lock() {
        if w.0 == 0 {
            w.1 = Some(start);
        }
        w.0 += 1;
    }
    let r = f();
    let ns = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
    NANOS[i].fetch_add(ns, Ordering::Relaxed);
    COUNT[i].fetch_add(1, Ordering::Relaxed);
    if let Ok(mut w) = WALL[i].try_lock() {
        w.0 = w.0.saturating_sub(1);
        if w.0 == 0 {
            if let Some(since) = w.1.take() {
                w.2 += since.elapsed();
            }
        }
    }
    r
}

/// Adds calls made elsewhere (module loads in worker processes): `sum` of their durations,
/// `wall` the time during which any was in flight.
pub fn add(call: Call, sum: Duration, wall: Duration) {
    let i = index(call);
    NANOS[i].fetch_add(
        u64::try_from(sum.as_nanos()).unwrap_or(u64::MAX),
        Ordering::Relaxed,
    );
    if let Ok(mut w) = WALL[i].lock() {
        w.2 += wall;
    }
}

/// Time during which at least one `call` was in flight (equals [`spent`] unless calls ran
/// in several threads at once).
pub fn wall(call: Call) -> Duration {
    WALL[index(call)].lock().map(|w| w.2).unwrap_or_default()
}

/// Time spent in `call` so far.
pub fn spent(call: Call) -> Duration {
    Duration::from_nanos(NANOS[index(call)].load(Ordering::Relaxed))
}

/// Time in the calls that do the kernel's work (every kind but [`Call::DmQuery`]; modules
/// loaded side by side count once, by [`wall`]).
pub fn work() -> Duration {
    CALLS
        .iter()
        .filter(|(c, _)| *c != Call::DmQuery)
        .map(|&(c, _)| {
            if c == Call::FinitModule {
                wall(c)
            } else {
                spent(c)
            }
        })
        .sum()
}

/// One line for the debug log: `kernel-calls work=S dm-create=N/S ...` (seconds; kinds never
/// called are left out). The benchmark reads it.
pub fn summary() -> String {
    let mut s = format!("kernel-calls work={:.6}", work().as_secs_f64());
    for (c, name) in CALLS {
        let n = COUNT[index(c)].load(Ordering::Relaxed);
        if n > 0 {
            s.push_str(&format!(" {name}={n}/{:.6}", spent(c).as_secs_f64()));
        }
    }
    s
}

/// Peak resident set size (`VmHWM` of `<proc>/self/status`), e.g. "7876 kB".
pub fn peak_rss(proc: &std::path::Path) -> String {
    std::fs::read_to_string(proc.join("self/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:").map(|v| v.trim().replace(' ', "")))
        })
        .unwrap_or_else(|| "?".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_add_up() {
        let before = COUNT[index(Call::MdSysfs)].load(Ordering::Relaxed);
        assert_eq!(timed(Call::MdSysfs, || 7), 7);
        assert_eq!(
            COUNT[index(Call::MdSysfs)].load(Ordering::Relaxed),
            before + 1
        );
        assert!(summary().contains(" md-sysfs="));
        assert!(work() >= spent(Call::MdSysfs));
    }
}
