//! The only code that reads block devices, image files or sysfs. Everything is opened read-only.
//!
//! * [`ReadAt`]: read exactly n bytes at an offset; implemented for files/devices ([`FileDev`]),
//!   memory ([`MemDev`]) and assembled objects ([`layout::Mapped`]: partition slices, MD arrays,
//!   LVs read in user space from their members).
//! * [`sysfs`]: typed records of the kernel's block devices, from a sysfs root given as a path.

pub mod layout;
pub mod raid;
pub mod sparse;
pub mod sysfs;

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// Largest single read the probe driver will allocate for (LVM metadata text, GPT entry arrays).
/// Anything a disk claims beyond this is reported as corrupt instead of allocated.
pub const MAX_READ: u64 = 16 << 20;

/// Random-access, read-only byte source.
pub trait ReadAt {
    /// Reads exactly `buf.len()` bytes at byte offset `off`, or fails.
    fn read_exact_at(&self, off: u64, buf: &mut [u8]) -> io::Result<()>;
    /// Size in bytes.
    fn size(&self) -> u64;
    /// Logical block size in bytes (512 or 4096); LBAs of partition tables count in these.
    fn logical_block_size(&self) -> u32 {
        512
    }
}

impl<T: ReadAt + ?Sized> ReadAt for &T {
    fn read_exact_at(&self, off: u64, buf: &mut [u8]) -> io::Result<()> {
        (**self).read_exact_at(off, buf)
    }
    fn size(&self) -> u64 {
        (**self).size()
    }
    fn logical_block_size(&self) -> u32 {
        (**self).logical_block_size()
    }
}

impl<T: ReadAt + ?Sized> ReadAt for std::sync::Arc<T> {
    fn read_exact_at(&self, off: u64, buf: &mut [u8]) -> io::Result<()> {
        (**self).read_exact_at(off, buf)
    }
    fn size(&self) -> u64 {
        (**self).size()
    }
    fn logical_block_size(&self) -> u32 {
        (**self).logical_block_size()
    }
}

/// Opens `path` read-only and close-on-exec. Through openat: musl's open() follows every
/// O_CLOEXEC open with an fcntl(F_SETFD) for kernels older than 2.6.23, a system call more per
/// file (a sixth of the calls of reading a thousand devices' sysfs records); openat does not.
pub fn open_ro(path: &Path) -> io::Result<File> {
    use nix::fcntl::{openat, OFlag, AT_FDCWD};
    let fd = openat(
        AT_FDCWD,
        path,
        OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )?;
    Ok(File::from(fd))
}

/// Reads `len` bytes at `off` into a new vector, refusing reads past the end of the source or
/// larger than [`MAX_READ`] before allocating anything.
pub fn read_vec(dev: &dyn ReadAt, off: u64, len: u64) -> io::Result<Vec<u8>> {
    let end = off
        .checked_add(len)
        .ok_or_else(|| out_of_range(off, len, dev.size()))?;
    if end > dev.size() {
        return Err(out_of_range(off, len, dev.size()));
    }
    if len > MAX_READ {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("refusing a {len}-byte read (limit {MAX_READ})"),
        ));
    }
    let n = usize::try_from(len).map_err(|_| out_of_range(off, len, dev.size()))?;
    let mut buf = vec![0u8; n];
    dev.read_exact_at(off, &mut buf)?;
    Ok(buf)
}

/// Reads a fixed-size array at `off`, boxed: probes read dozens of these per device (up to
/// 4 KiB each), and a buffer passed by value is cleared and copied a byte a step at opt-level
/// "z" (`rep stosb`/`movsb`) each time it moves; a box moves as a pointer.
pub fn read_array<const N: usize>(dev: &dyn ReadAt, off: u64) -> io::Result<Box<[u8; N]>> {
    let len = u64::try_from(N).unwrap_or(u64::MAX);
    match off.checked_add(len) {
        Some(end) if end <= dev.size() => {}
        _ => return Err(out_of_range(off, len, dev.size())),
    }
    let mut buf: Box<[u8; N]> = vec![0u8; N]
        .into_boxed_slice()
        .try_into()
        .map_err(|_| out_of_range(off, len, dev.size()))?;
    dev.read_exact_at(off, &mut buf[..])?;
    Ok(buf)
}

fn out_of_range(off: u64, len: u64, size: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        format!("{len} bytes at {off} lie beyond the end ({size} bytes)"),
    )
}

/// One probe's view of a device: its first and last [`Prefetch::WINDOW`] bytes are read once,
/// each with one request, the first time a read falls inside them; every other read goes to
/// the device. Most probes read a few sectors at the very start or end (partition tables, LVM
/// label, MD superblocks, most filesystem superblocks, RAID anchors, EVMS headers); as separate
/// requests that was the largest cost of discovering many small devices in a VM. A failed
/// prefetch is forgotten: the read itself then reports the error at its own offset.
pub struct Prefetch<'a> {
    dev: &'a dyn ReadAt,
    head: std::cell::OnceCell<Option<Vec<u8>>>,
    tail: std::cell::OnceCell<Option<Vec<u8>>>,
}

impl<'a> Prefetch<'a> {
    /// 8 KiB. At the start: MBR, GPT header, LVM label and metadata-area header, MD 1.1/1.2,
    /// LUKS, bcache, ext, xfs, f2fs, erofs. At the end: MD 1.0 on a 4 KiB-aligned end, IMSM and
    /// DDF anchors, DRBD, EVMS. What lies further in (btrfs at 64 KiB, larger-page swap
    /// signatures, LUKS2 secondary headers, MD 0.90) is read where it is. The 68 KiB windows
    /// before read 2.4 times the bytes (331 against 115 KiB per device of the flagship, 160
    /// against 72 KiB per LV at 1000 LVs) for no gain in time (`make bench`: the same, lv1000
    /// 1.23 s then, 1.21 s now).
    pub const WINDOW: u64 = 8 << 10;

    pub fn new(dev: &'a dyn ReadAt) -> Prefetch<'a> {
        Prefetch {
            dev,
            head: std::cell::OnceCell::new(),
            tail: std::cell::OnceCell::new(),
        }
    }

    fn tail_start(&self) -> u64 {
        self.dev.size().saturating_sub(Self::WINDOW)
    }

    fn window(&self, tail: bool) -> Option<&[u8]> {
        let (cell, start) = if tail {
            (&self.tail, self.tail_start())
        } else {
            (&self.head, 0)
        };
        cell.get_or_init(|| {
            let len = usize::try_from(self.dev.size().min(Self::WINDOW)).ok()?;
            let mut buf = SPARE.with(|s| s.borrow_mut().pop()).unwrap_or_default();
            buf.resize(len, 0);
            match self.dev.read_exact_at(start, &mut buf) {
                Ok(()) => Some(buf),
                Err(_) => {
                    spare(buf);
                    None
                }
            }
        })
        .as_deref()
    }
}

thread_local! {
    /// Window buffers of finished probes, reused: a fresh pair per device, zeroed and faulted
    /// in each time, was a fifth of discovering 1000 LVs in a VM.
    static SPARE: std::cell::RefCell<Vec<Vec<u8>>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn spare(buf: Vec<u8>) {
    SPARE.with(|s| {
        let mut s = s.borrow_mut();
        if s.len() < 2 {
            s.push(buf);
        }
    });
}

impl Drop for Prefetch<'_> {
    fn drop(&mut self) {
        for w in [self.head.take(), self.tail.take()]
            .into_iter()
            .flatten()
            .flatten()
        {
            spare(w);
        }
    }
}

impl ReadAt for Prefetch<'_> {
    fn read_exact_at(&self, off: u64, buf: &mut [u8]) -> io::Result<()> {
        let len = u64::try_from(buf.len()).unwrap_or(u64::MAX);
        let end = off.saturating_add(len);
        let from = if end <= Self::WINDOW.min(self.dev.size()) {
            self.window(false).map(|w| (w, off))
        } else if off >= self.tail_start() && end <= self.dev.size() {
            self.window(true).map(|w| (w, off - self.tail_start()))
        } else {
            None
        };
        let slice = from.and_then(|(w, at)| {
            let at = usize::try_from(at).ok()?;
            w.get(at..at.checked_add(buf.len())?)
        });
        match slice {
            Some(bytes) => {
                buf.copy_from_slice(bytes);
                Ok(())
            }
            None => self.dev.read_exact_at(off, buf),
        }
    }
    fn size(&self) -> u64 {
        self.dev.size()
    }
    fn logical_block_size(&self) -> u32 {
        self.dev.logical_block_size()
    }
}

/// A block device or image file, opened read-only.
#[derive(Debug)]
pub struct FileDev {
    file: File,
    size: u64,
    lbs: u32,
}

impl FileDev {
    /// Opens `path` read-only. The size comes from seeking to the end (works for both regular
    /// files and block devices without an ioctl); `lbs` is the logical block size, which the
    /// caller takes from sysfs (`queue/logical_block_size`) or 512 for image files.
    pub fn open(path: &Path, lbs: u32) -> io::Result<FileDev> {
        use std::io::Seek;
        let mut file = open_ro(path)?;
        let size = file.seek(io::SeekFrom::End(0))?;
        // Probes read a few sectors at scattered offsets: without this each one made the
        // kernel read ahead 128 KiB or more (in a VM with 1000 LVs, over 1 GB for discovery,
        // the largest cost of an activation). Large reads (metadata text) are still read
        // whole. Only advice: where it is refused nothing changes but the amount read.
        let _ = nix::fcntl::posix_fadvise(
            &file,
            0,
            0,
            nix::fcntl::PosixFadviseAdvice::POSIX_FADV_RANDOM,
        );
        Ok(FileDev { file, size, lbs })
    }
}

impl ReadAt for FileDev {
    fn read_exact_at(&self, off: u64, buf: &mut [u8]) -> io::Result<()> {
        self.file.read_exact_at(buf, off)
    }
    fn size(&self) -> u64 {
        self.size
    }
    fn logical_block_size(&self) -> u32 {
        self.lbs
    }
}

/// A device node opened on its first read (size and block size from sysfs). A discovery after
/// an activation round already knows what nearly every device holds (engine::discover_again):
/// opening a thousand LVs to read none of them cost four calls each.
pub struct LazyDev {
    path: std::path::PathBuf,
    size: u64,
    lbs: u32,
    file: std::sync::OnceLock<Result<FileDev, (io::ErrorKind, String)>>,
}

impl LazyDev {
    pub fn new(path: &Path, size: u64, lbs: u32) -> LazyDev {
        LazyDev {
            path: path.to_path_buf(),
            size,
            lbs,
            file: std::sync::OnceLock::new(),
        }
    }
}

impl ReadAt for LazyDev {
    fn read_exact_at(&self, off: u64, buf: &mut [u8]) -> io::Result<()> {
        let file = self.file.get_or_init(|| {
            FileDev::open(&self.path, self.lbs).map_err(|e| {
                (
                    e.kind(),
                    format!("cannot open {}: {e}", self.path.display()),
                )
            })
        });
        match file {
            Ok(f) => f.read_exact_at(off, buf),
            Err((kind, msg)) => Err(io::Error::new(*kind, msg.clone())),
        }
    }
    fn size(&self) -> u64 {
        self.size
    }
    fn logical_block_size(&self) -> u32 {
        self.lbs
    }
}

/// An in-memory byte source (tests, fuzzing).
#[derive(Debug, Clone)]
pub struct MemDev {
    data: Vec<u8>,
    lbs: u32,
}

impl MemDev {
    pub fn new(data: Vec<u8>) -> MemDev {
        MemDev { data, lbs: 512 }
    }
    pub fn with_block_size(data: Vec<u8>, lbs: u32) -> MemDev {
        MemDev { data, lbs }
    }
    pub fn bytes(&self) -> &[u8] {
        &self.data
    }
}

impl ReadAt for MemDev {
    fn read_exact_at(&self, off: u64, buf: &mut [u8]) -> io::Result<()> {
        let start = usize::try_from(off).ok();
        let end = start.and_then(|s| s.checked_add(buf.len()));
        match (start, end) {
            (Some(s), Some(e)) if e <= self.data.len() => {
                buf.copy_from_slice(&self.data[s..e]);
                Ok(())
            }
            _ => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "failed to read {} bytes at offset {} from a buffer of length {}",
                    buf.len(),
                    off,
                    self.data.len()
                ),
            )),
        }
    }
    fn size(&self) -> u64 {
        u64::try_from(self.data.len()).unwrap_or(u64::MAX)
    }
    fn logical_block_size(&self) -> u32 {
        self.lbs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts the reads that reach the device.
    struct Counting(MemDev, std::cell::Cell<usize>);
    impl ReadAt for Counting {
        fn read_exact_at(&self, off: u64, buf: &mut [u8]) -> io::Result<()> {
            self.1.set(self.1.get() + 1);
            self.0.read_exact_at(off, buf)
        }
        fn size(&self) -> u64 {
            self.0.size()
        }
    }

    /// Opened at the first read, not before; a missing node is an error at that read.
    #[test]
    fn lazy_dev_opens_on_first_read() {
        let p = std::env::temp_dir().join(format!("evms-lazy-{}", std::process::id()));
        let d = LazyDev::new(&p, 4, 512);
        assert_eq!(d.size(), 4);
        std::fs::write(&p, [1u8, 2, 3, 4]).unwrap();
        let mut b = [0u8; 2];
        d.read_exact_at(2, &mut b).unwrap();
        assert_eq!(b, [3, 4]);
        std::fs::remove_file(&p).unwrap();
        d.read_exact_at(0, &mut b).unwrap(); // still open
        let gone = LazyDev::new(&p, 4, 512);
        let e = gone.read_exact_at(0, &mut b).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert!(e.to_string().starts_with("cannot open "), "{e}");
    }

    /// Reads near either end cost one device read per end and return the device's bytes;
    /// reads in the middle, across a window's edge or past the end go to the device.
    #[test]
    fn prefetch_reads_each_end_once() {
        let data: Vec<u8> = (0..1u32 << 20).map(|i| (i % 251) as u8).collect();
        let dev = Counting(MemDev::new(data.clone()), Default::default());
        let p = Prefetch::new(&dev);
        let w = Prefetch::WINDOW;
        let size = 1u64 << 20;
        for (off, len) in [
            (0, 512),
            (4096, 4096),
            (w - 8, 8),
            (size - 512, 512),
            (size - w, 16),
        ] {
            let mut b = vec![0u8; len];
            p.read_exact_at(off, &mut b).unwrap();
            assert_eq!(b, data[off as usize..off as usize + len], "at {off}");
        }
        assert_eq!(dev.1.get(), 2);
        let mut b = [0u8; 16];
        p.read_exact_at(w - 8, &mut b).unwrap();
        p.read_exact_at(size / 2, &mut b).unwrap();
        assert_eq!(b[..], data[size as usize / 2..size as usize / 2 + 16]);
        assert!(p.read_exact_at(size - 8, &mut b).is_err());
        assert_eq!(dev.1.get(), 5);
        // A device smaller than the window: both ends are the whole device.
        let small = Counting(MemDev::new(data[..1000].to_vec()), Default::default());
        let p = Prefetch::new(&small);
        let mut b = [0u8; 10];
        p.read_exact_at(990, &mut b).unwrap();
        assert_eq!(b[..], data[990..1000]);
        assert!(p.read_exact_at(995, &mut b).is_err());
    }

    #[test]
    fn mem_reads_are_bounded() {
        let d = MemDev::new(vec![1, 2, 3, 4]);
        let mut b = [0u8; 2];
        d.read_exact_at(2, &mut b).unwrap();
        assert_eq!(b, [3, 4]);
        assert!(d.read_exact_at(3, &mut b).is_err());
        assert!(d.read_exact_at(u64::MAX, &mut b).is_err());
        assert!(read_vec(&d, 0, 5).is_err());
        assert!(read_vec(&d, 1, u64::MAX).is_err());
        assert_eq!(read_vec(&d, 1, 3).unwrap(), vec![2, 3, 4]);
        assert_eq!(*read_array::<2>(&d, 0).unwrap(), [1, 2]);
    }
}
