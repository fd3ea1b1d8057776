//! Kernel uevents without udev: a NETLINK_KOBJECT_UEVENT socket (the kernel's multicast
//! group 1, the one udev itself listens to), a pure parser for its messages, and the same
//! KEY=VALUE records read from sysfs `uevent` files for devices that already exist.
//!
//! Waiting is `poll(2)` with a deadline: no sleeps, no polling loops. The socket is opened
//! before the first sysfs scan so that nothing appearing in between is lost; a device seen
//! both ways is deduplicated by the caller. If the socket buffer overflows (ENOBUFS) the
//! caller is told to rescan sysfs, which is the truth anyway.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{
    bind, recvfrom, setsockopt, socket, sockopt, AddressFamily, NetlinkAddr, SockFlag,
    SockProtocol, SockType,
};

/// `ACTION=` of a uevent (`lib/kobject_uevent.c` `kobject_actions`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Add,
    Remove,
    Change,
    Move,
    Online,
    Offline,
    Bind,
    Unbind,
    Other(String),
}

impl Action {
    fn parse(s: &str) -> Action {
        match s {
            "add" => Action::Add,
            "remove" => Action::Remove,
            "change" => Action::Change,
            "move" => Action::Move,
            "online" => Action::Online,
            "offline" => Action::Offline,
            "bind" => Action::Bind,
            "unbind" => Action::Unbind,
            o => Action::Other(o.to_string()),
        }
    }
}

/// One kernel uevent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uevent {
    pub action: Action,
    /// Below /sys, starting with `/devices/...`.
    pub devpath: String,
    pub subsystem: Option<String>,
    /// Below /dev (`vda1`, `mapper/control`, `cciss/c0d0`).
    pub devname: Option<String>,
    pub devtype: Option<String>,
    pub major: Option<u32>,
    pub minor: Option<u32>,
    pub modalias: Option<String>,
    pub seqnum: Option<u64>,
}

impl Uevent {
    fn from_pairs<'a>(
        action: Option<&str>,
        pairs: impl Iterator<Item = (&'a str, &'a str)>,
    ) -> Uevent {
        let mut e = Uevent {
            action: Action::parse(action.unwrap_or("")),
            devpath: String::new(),
            subsystem: None,
            devname: None,
            devtype: None,
            major: None,
            minor: None,
            modalias: None,
            seqnum: None,
        };
        for (k, v) in pairs {
            match k {
                "ACTION" => e.action = Action::parse(v),
                "DEVPATH" => e.devpath = v.to_string(),
                "SUBSYSTEM" => e.subsystem = Some(v.to_string()),
                "DEVNAME" => e.devname = Some(v.to_string()),
                "DEVTYPE" => e.devtype = Some(v.to_string()),
                "MAJOR" => e.major = v.parse().ok(),
                "MINOR" => e.minor = v.parse().ok(),
                "MODALIAS" => e.modalias = Some(v.to_string()),
                "SEQNUM" => e.seqnum = v.parse().ok(),
                _ => {}
            }
        }
        e
    }

    /// Parses a kernel netlink message: `ACTION@DEVPATH\0KEY=VALUE\0...`. Messages from udev
    /// (`libudev\0` header, multicast group 2) and anything malformed give None.
    pub fn parse(msg: &[u8]) -> Option<Uevent> {
        let mut parts = msg.split(|&b| b == 0);
        let header = std::str::from_utf8(parts.next()?).ok()?;
        let (action, devpath) = header.split_once('@')?;
        let pairs = parts
            .filter_map(|p| std::str::from_utf8(p).ok())
            .filter_map(|p| p.split_once('='));
        let mut e = Uevent::from_pairs(Some(action), pairs);
        if e.devpath.is_empty() {
            e.devpath = devpath.to_string();
        }
        (!e.devpath.is_empty()).then_some(e)
    }

    /// A sysfs `uevent` file (KEY=VALUE lines, no ACTION) of the device at `devpath`.
    pub fn from_sysfs_file(devpath: &str, text: &str) -> Uevent {
        let mut e = Uevent::from_pairs(Some("add"), text.lines().filter_map(|l| l.split_once('=')));
        e.devpath = devpath.to_string();
        e
    }

    pub fn is_block(&self) -> bool {
        self.subsystem.as_deref() == Some("block")
    }
}

/// A block device as the boot loop tracks it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct BlockDevice {
    /// Path below /dev (`vda1`, `dm-0`, `cciss/c0d0p1`).
    pub devname: String,
    pub major: u32,
    pub minor: u32,
    /// `disk` or `partition`.
    pub devtype: String,
    /// Below /sys (`/devices/pci0000:00/.../block/vda/vda1`).
    pub devpath: String,
    /// Seen as an add (or at the first scan) vs. a change (DM resume, MD array start,
    /// media change, partition table re-read).
    pub changed: bool,
}

impl BlockDevice {
    /// The block device a uevent describes (add/change only).
    pub fn from_uevent(e: &Uevent) -> Option<BlockDevice> {
        if !e.is_block() || !matches!(e.action, Action::Add | Action::Change) {
            return None;
        }
        Some(BlockDevice {
            devname: e.devname.clone()?,
            major: e.major?,
            minor: e.minor?,
            devtype: e.devtype.clone().unwrap_or_default(),
            devpath: e.devpath.clone(),
            changed: e.action == Action::Change,
        })
    }
}

/// Every block device in sysfs now (`SYS/class/block/*/uevent`), sorted by name.
pub fn scan_block(sys: &Path) -> Vec<BlockDevice> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(sys.join("class/block")) else {
        return out;
    };
    for e in rd.flatten() {
        let link = e.path();
        let Ok(text) = std::fs::read_to_string(link.join("uevent")) else {
            continue;
        };
        // class/block/NAME is a symlink to ../../devices/...; DEVPATH is its target below SYS.
        let devpath = std::fs::canonicalize(&link)
            .ok()
            .and_then(|p| {
                let sys = std::fs::canonicalize(sys).ok()?;
                p.strip_prefix(&sys)
                    .ok()
                    .map(|r| format!("/{}", r.display()))
            })
            .unwrap_or_default();
        let mut ev = Uevent::from_sysfs_file(&devpath, &text);
        ev.subsystem = Some("block".into());
        if let Some(d) = BlockDevice::from_uevent(&ev) {
            out.push(d);
        }
    }
    out.sort();
    out
}

/// What one wait produced.
#[derive(Debug, PartialEq, Eq)]
pub enum Woken {
    /// Events arrived (at least one).
    Events(Vec<Uevent>),
    /// The deadline passed with nothing.
    Timeout,
    /// The socket overflowed: events were lost, rescan sysfs. Carries what was read.
    Overflow(Vec<Uevent>),
}

/// A bound NETLINK_KOBJECT_UEVENT socket.
pub struct UeventSocket {
    fd: OwnedFd,
}

/// Receive buffer asked for: coldplug of a large machine emits thousands of events at once.
const RCVBUF: usize = 8 << 20;

impl UeventSocket {
    /// Opens and binds the socket to the kernel's uevent group.
    pub fn open() -> Result<UeventSocket, String> {
        let fd = socket(
            AddressFamily::Netlink,
            SockType::Datagram,
            SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
            SockProtocol::NetlinkKObjectUEvent,
        )
        .map_err(|e| format!("Failed to create uevent socket: {e}"))?;
        // SO_RCVBUFFORCE needs CAP_NET_ADMIN (PID 1 has it); fall back to the capped one.
        if setsockopt(&fd, sockopt::RcvBufForce, &RCVBUF).is_err() {
            let _ = setsockopt(&fd, sockopt::RcvBuf, &RCVBUF);
        }
        bind(fd.as_raw_fd(), &NetlinkAddr::new(0, 1))
            .map_err(|e| format!("Failed to bind uevent socket: {e}"))?;
        Ok(UeventSocket { fd })
    }

    /// Waits until events arrive or `deadline` passes (None: forever), then returns every
    /// event queued at that moment.
    pub fn wait(&self, deadline: Option<Instant>) -> Result<Woken, String> {
        loop {
            let timeout = match deadline {
                None => PollTimeout::NONE,
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        // Still drain what is queued: a deadline reached while events wait
                        // should not hide them.
                        return self.drain().map(|w| match w {
                            Woken::Events(v) if v.is_empty() => Woken::Timeout,
                            other => other,
                        });
                    }
                    poll_timeout(left)
                }
            };
            let mut fds = [PollFd::new(self.fd.as_fd(), PollFlags::POLLIN)];
            match poll(&mut fds, timeout) {
                Ok(0) => continue, // re-check the deadline (poll rounds to ms)
                Ok(_) => {
                    let w = self.drain()?;
                    if w != Woken::Events(Vec::new()) {
                        return Ok(w);
                    }
                    // Only non-kernel or unparsable messages: keep waiting.
                }
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(format!("Failed to poll uevent socket: {e}")),
            }
        }
    }

    /// Reads every queued message without blocking.
    fn drain(&self) -> Result<Woken, String> {
        let mut buf = vec![0u8; 16 * 1024];
        let mut events = Vec::new();
        loop {
            match recvfrom::<NetlinkAddr>(self.fd.as_raw_fd(), &mut buf) {
                Ok((n, from)) => {
                    // Only the kernel (port id 0) is trusted; anyone may send to a netlink
                    // socket's unicast address.
                    if from.map(|a| a.pid()) != Some(0) {
                        continue;
                    }
                    if let Some(e) = buf.get(..n).and_then(Uevent::parse) {
                        events.push(e);
                    }
                }
                Err(Errno::EAGAIN) => return Ok(Woken::Events(events)),
                Err(Errno::EINTR) => continue,
                Err(Errno::ENOBUFS) => return Ok(Woken::Overflow(events)),
                Err(e) => return Err(format!("Failed to read uevent socket: {e}")),
            }
        }
    }
}

/// `left` in whole milliseconds, rounded up so a sub-millisecond remainder does not spin.
fn poll_timeout(left: Duration) -> PollTimeout {
    let ms = left.as_micros().div_ceil(1000);
    PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX)
}

/// Sysfs path of a uevent's device.
pub fn sysfs_path(sys: &Path, devpath: &str) -> PathBuf {
    sys.join(devpath.trim_start_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(parts: &[&str]) -> Vec<u8> {
        let mut v = Vec::new();
        for p in parts {
            v.extend_from_slice(p.as_bytes());
            v.push(0);
        }
        v
    }

    #[test]
    fn parse_kernel_block_add() {
        // As `udevadm monitor --kernel --property` shows a virtio disk appearing.
        let m = msg(&[
            "add@/devices/pci0000:00/0000:00:04.0/virtio1/block/vda",
            "ACTION=add",
            "DEVPATH=/devices/pci0000:00/0000:00:04.0/virtio1/block/vda",
            "SUBSYSTEM=block",
            "MAJOR=254",
            "MINOR=0",
            "DEVNAME=vda",
            "DEVTYPE=disk",
            "DISKSEQ=1",
            "SEQNUM=1203",
        ]);
        let e = Uevent::parse(&m).unwrap();
        assert_eq!(e.action, Action::Add);
        assert_eq!(
            e.devpath,
            "/devices/pci0000:00/0000:00:04.0/virtio1/block/vda"
        );
        assert_eq!(e.seqnum, Some(1203));
        let d = BlockDevice::from_uevent(&e).unwrap();
        assert_eq!(
            d,
            BlockDevice {
                devname: "vda".into(),
                major: 254,
                minor: 0,
                devtype: "disk".into(),
                devpath: "/devices/pci0000:00/0000:00:04.0/virtio1/block/vda".into(),
                changed: false
            }
        );
    }

    #[test]
    fn parse_modalias_event_and_rejects() {
        let m = msg(&[
            "add@/devices/pci0000:00/0000:00:04.0/virtio1",
            "ACTION=add",
            "DEVPATH=/devices/pci0000:00/0000:00:04.0/virtio1",
            "SUBSYSTEM=virtio",
            "MODALIAS=virtio:d00000002v00001AF4",
            "SEQNUM=1190",
        ]);
        let e = Uevent::parse(&m).unwrap();
        assert_eq!(e.modalias.as_deref(), Some("virtio:d00000002v00001AF4"));
        assert_eq!(BlockDevice::from_uevent(&e), None);
        // udev's own messages start with "libudev\0" and a binary header.
        assert_eq!(Uevent::parse(b"libudev\0\xfe\xed\xca\xfe"), None);
        assert_eq!(Uevent::parse(b""), None);
        assert_eq!(Uevent::parse(b"add@\0"), None);
        let rm = msg(&[
            "remove@/devices/virtual/block/dm-0",
            "ACTION=remove",
            "SUBSYSTEM=block",
            "DEVNAME=dm-0",
            "MAJOR=253",
            "MINOR=0",
        ]);
        let e = Uevent::parse(&rm).unwrap();
        assert_eq!(e.action, Action::Remove);
        assert_eq!(BlockDevice::from_uevent(&e), None);
        let ch = msg(&[
            "change@/devices/virtual/block/dm-0",
            "ACTION=change",
            "SUBSYSTEM=block",
            "DEVNAME=dm-0",
            "DEVTYPE=disk",
            "MAJOR=253",
            "MINOR=0",
        ]);
        assert!(
            BlockDevice::from_uevent(&Uevent::parse(&ch).unwrap())
                .unwrap()
                .changed
        );
    }

    #[test]
    fn sysfs_scan() {
        let d = std::env::temp_dir().join(format!("evms-uevent-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        let dev = d.join("devices/pci0000:00/0000:00:04.0/virtio1/block/vda");
        std::fs::create_dir_all(dev.join("vda1")).unwrap();
        std::fs::create_dir_all(d.join("class/block")).unwrap();
        std::fs::write(
            dev.join("uevent"),
            "MAJOR=254\nMINOR=0\nDEVNAME=vda\nDEVTYPE=disk\nDISKSEQ=1\n",
        )
        .unwrap();
        std::fs::write(
            dev.join("vda1/uevent"),
            "MAJOR=254\nMINOR=1\nDEVNAME=vda1\nDEVTYPE=partition\nPARTN=1\n",
        )
        .unwrap();
        std::os::unix::fs::symlink(
            "../../devices/pci0000:00/0000:00:04.0/virtio1/block/vda",
            d.join("class/block/vda"),
        )
        .unwrap();
        std::os::unix::fs::symlink(
            "../../devices/pci0000:00/0000:00:04.0/virtio1/block/vda/vda1",
            d.join("class/block/vda1"),
        )
        .unwrap();
        let got = scan_block(&d);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].devname, "vda");
        assert_eq!(got[1].devname, "vda1");
        assert_eq!((got[1].major, got[1].minor), (254, 1));
        assert_eq!(got[1].devtype, "partition");
        assert_eq!(
            got[1].devpath,
            "/devices/pci0000:00/0000:00:04.0/virtio1/block/vda/vda1"
        );
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn poll_rounding() {
        assert_eq!(i32::from(poll_timeout(Duration::from_micros(1))), 1);
        assert_eq!(i32::from(poll_timeout(Duration::from_millis(1500))), 1500);
        assert_eq!(
            poll_timeout(Duration::from_secs(u64::MAX)),
            PollTimeout::MAX
        );
    }

    /// The real socket: a short deadline returns on time (events from the host are fine).
    #[test]
    fn socket_wait_respects_deadline() {
        // Binding to the kernel's uevent group needs no privilege.
        let s = UeventSocket::open().unwrap();
        let start = Instant::now();
        let r = s.wait(Some(start + Duration::from_millis(80))).unwrap();
        let took = start.elapsed();
        match r {
            Woken::Timeout => assert!(took >= Duration::from_millis(80), "{took:?}"),
            Woken::Events(v) | Woken::Overflow(v) => {
                assert!(!v.is_empty() || took >= Duration::from_millis(80))
            }
        }
        assert!(took < Duration::from_secs(2), "{took:?}");
    }
}
