//! A `log` backend for PID 1: each line goes to /dev/kmsg as `<N>evms-activate: msg` (N the
//! syslog level, so `dmesg` and the journal after switch_root show it with its severity), and
//! warnings and errors also go to the console (our stderr, which the kernel opened on
//! /dev/console) when the kernel itself will not print them there. Without /dev/kmsg every
//! line goes to stderr.
//!
//! Two kernel facts shape it (`kernel/printk/printk.c`):
//! * `devkmsg_write` rate-limits each open file to 10 records per 5 s by default
//!   (`printk.devkmsg=ratelimit`) and drops the rest; a debug boot writes more than that, so
//!   the file is reopened every [`REOPEN_EVERY`] records (each open gets a fresh limit).
//! * A record reaches the console when its level is below `console_loglevel` (first field of
//!   /proc/sys/kernel/printk); we echo to stderr only the ones that do not, so nothing shows
//!   twice.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use log::{Level, LevelFilter, Log, Metadata, Record};

/// Records per open file before reopening (`DEFAULT_RATELIMIT_BURST` is 10).
pub const REOPEN_EVERY: u32 = 9;

/// `LOG_LINE_MAX` is 1024 minus the prefix room (`PREFIX_MAX` 32); longer writes are refused
/// with EINVAL, so lines are cut below it.
const MAX_LINE: usize = 960;

const TAG: &str = "evms-activate";

/// The syslog level (`<sys/syslog.h>`) for a `log` level.
pub fn syslog_level(l: Level) -> u8 {
    match l {
        Level::Error => 3,                // LOG_ERR
        Level::Warn => 4,                 // LOG_WARNING
        Level::Info => 6,                 // LOG_INFO
        Level::Debug | Level::Trace => 7, // LOG_DEBUG
    }
}

/// The kmsg records for one message: one per line (a record is one write), each cut to fit.
pub fn records(level: Level, msg: &str) -> Vec<String> {
    let n = syslog_level(level);
    msg.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| format!("<{n}>{TAG}: {}\n", cut(line, MAX_LINE)))
        .collect()
}

/// The level a record is written with: libraries' informational chatter (the devicemapper
/// crate logs every create and resume at info, repeating our own "created ..." lines with
/// Debug-formatted values) is kept for `evms.debug`; their warnings and errors stay as they are.
pub fn effective_level(target: &str, level: Level) -> Level {
    if level > Level::Warn && !target.starts_with(env!("CARGO_CRATE_NAME")) {
        Level::Debug
    } else {
        level
    }
}

fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end = end.saturating_sub(1);
    }
    s.get(..end).unwrap_or("")
}

/// First field of /proc/sys/kernel/printk (`console_loglevel`).
pub fn parse_console_loglevel(printk: &str) -> Option<u8> {
    printk.split_whitespace().next()?.parse().ok()
}

struct State {
    kmsg: Option<File>,
    writes: u32,
}

pub struct KmsgLogger {
    path: PathBuf,
    /// `console_loglevel` when known; `None` = echo every warning and error.
    console_loglevel: Option<u8>,
    state: Mutex<State>,
}

impl KmsgLogger {
    /// A logger writing to `kmsg` (normally /dev/kmsg); `printk` is /proc/sys/kernel/printk.
    pub fn new(kmsg: &Path, printk: &Path) -> KmsgLogger {
        let console_loglevel = std::fs::read_to_string(printk)
            .ok()
            .and_then(|s| parse_console_loglevel(&s));
        KmsgLogger {
            path: kmsg.to_path_buf(),
            console_loglevel,
            state: Mutex::new(State {
                kmsg: open(kmsg),
                writes: 0,
            }),
        }
    }

    /// Whether /dev/kmsg is open (else everything goes to stderr).
    pub fn has_kmsg(&self) -> bool {
        self.state.lock().map(|s| s.kmsg.is_some()).unwrap_or(false)
    }

    fn echo_to_console(&self, level: Level, wrote_kmsg: bool) -> bool {
        if !wrote_kmsg {
            return true;
        }
        if level > Level::Warn {
            return false;
        }
        // The kernel prints the record itself when its level is below console_loglevel.
        match self.console_loglevel {
            Some(c) => syslog_level(level) >= c,
            None => true,
        }
    }

    fn write_kmsg(&self, level: Level, msg: &str) -> bool {
        let Ok(mut st) = self.state.lock() else {
            return false;
        };
        let mut ok = st.kmsg.is_some();
        for rec in records(level, msg) {
            if st.writes >= REOPEN_EVERY {
                // Keep the old file if the path is gone (between moving /dev into the new
                // root and chroot): rate-limited beats lost.
                if let Some(f) = open(&self.path) {
                    st.kmsg = Some(f);
                }
                st.writes = 0;
            }
            let Some(f) = st.kmsg.as_mut() else {
                return false;
            };
            // One write per record: /dev/kmsg takes each write() as one message.
            ok &= f.write_all(rec.as_bytes()).is_ok();
            st.writes = st.writes.saturating_add(1);
        }
        ok
    }
}

fn open(path: &Path) -> Option<File> {
    OpenOptions::new().append(true).open(path).ok()
}

impl Log for KmsgLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record<'_>) {
        let level = effective_level(record.target(), record.level());
        if level > log::max_level() {
            return;
        }
        let msg = record.args().to_string();
        let wrote = self.write_kmsg(level, &msg);
        if self.echo_to_console(level, wrote) {
            let prefix = match level {
                Level::Error => "error: ",
                Level::Warn => "warning: ",
                _ => "",
            };
            let mut err = std::io::stderr().lock();
            for line in msg.lines() {
                let _ = writeln!(err, "{TAG}: {prefix}{line}");
            }
        }
    }

    fn flush(&self) {}
}

static LOGGER: OnceLock<KmsgLogger> = OnceLock::new();

/// Installs the logger once (later calls only change the level) and returns it.
pub fn init(kmsg: &Path, printk: &Path, level: LevelFilter) -> &'static KmsgLogger {
    let mut first = false;
    let logger = LOGGER.get_or_init(|| {
        first = true;
        KmsgLogger::new(kmsg, printk)
    });
    if first {
        // Fails only if another logger was installed first; ours then stays unused.
        let _ = log::set_logger(logger);
    }
    log::set_max_level(level);
    logger
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn tmpdir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("evms-kmsg-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn record_format_and_levels() {
        assert_eq!(
            records(Level::Error, "root not found\n\n  on vda\n"),
            vec![
                "<3>evms-activate: root not found\n",
                "<3>evms-activate:   on vda\n"
            ]
        );
        assert_eq!(records(Level::Warn, "w"), vec!["<4>evms-activate: w\n"]);
        assert_eq!(records(Level::Info, "i"), vec!["<6>evms-activate: i\n"]);
        assert_eq!(records(Level::Trace, "t"), vec!["<7>evms-activate: t\n"]);
        let long = "é".repeat(600);
        let r = records(Level::Info, &long);
        assert!(r[0].len() <= MAX_LINE + 30);
        assert!(r[0].ends_with("é\n"));
    }

    #[test]
    fn library_info_is_debug() {
        assert_eq!(
            effective_level("devicemapper::core::dm", Level::Info),
            Level::Debug
        );
        assert_eq!(
            effective_level("devicemapper::core::dm", Level::Warn),
            Level::Warn
        );
        assert_eq!(effective_level("devicemapper", Level::Error), Level::Error);
        assert_eq!(
            effective_level("evms_activate::boot", Level::Info),
            Level::Info
        );
        assert_eq!(effective_level("evms_activate", Level::Debug), Level::Debug);
    }

    #[test]
    fn console_loglevel() {
        assert_eq!(parse_console_loglevel("4\t4\t1\t7\n"), Some(4));
        assert_eq!(parse_console_loglevel(""), None);
    }

    #[test]
    fn writes_and_reopens() {
        let d = tmpdir("w");
        let kmsg = d.join("kmsg");
        fs::write(&kmsg, "").unwrap();
        fs::write(d.join("printk"), "7 4 1 7\n").unwrap();
        let l = KmsgLogger::new(&kmsg, &d.join("printk"));
        assert!(l.has_kmsg());
        for i in 0..25 {
            assert!(l.write_kmsg(Level::Info, &format!("m{i}")));
        }
        let text = fs::read_to_string(&kmsg).unwrap();
        assert_eq!(text.lines().count(), 25);
        assert!(text.starts_with("<6>evms-activate: m0\n"));
        // console_loglevel 7: the kernel prints warnings itself
        assert!(!l.echo_to_console(Level::Warn, true));
        assert!(!l.echo_to_console(Level::Info, true));
        assert!(l.echo_to_console(Level::Info, false));
        let quiet = d.join("printk-quiet");
        fs::write(&quiet, "4 4 1 7\n").unwrap();
        let l = KmsgLogger::new(&kmsg, &quiet);
        assert!(l.echo_to_console(Level::Warn, true));
        assert!(!l.echo_to_console(Level::Error, true));
    }

    #[test]
    fn missing_kmsg_falls_back() {
        let d = tmpdir("m");
        let l = KmsgLogger::new(&d.join("nope"), &d.join("nope2"));
        assert!(!l.has_kmsg());
        assert!(!l.write_kmsg(Level::Info, "x"));
        assert!(l.echo_to_console(Level::Debug, false));
    }
}
