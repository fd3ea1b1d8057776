//! The whole bcache superblock of a device blkid already named `bcache`: what the engine
//! groups backing and cache devices by, checked as the kernel checks it before registering.

use crate::error::{FormatError, ProbeError};
use crate::formats::fs::bcache::{self, BcacheSuper, Role};
use crate::probe::{format_err, read_array};
use crate::source::ReadAt;

/// Reads and checks the superblock at 4 KiB. `Ok(None)`: no bcache magic there.
pub fn read_super(name: &str, dev: &dyn ReadAt) -> Result<Option<BcacheSuper>, ProbeError> {
    let need = bcache::SB_OFFSET + bcache::SB_SIZE as u64;
    if dev.size() < need {
        return Ok(None);
    }
    let sb = read_array::<{ bcache::SB_SIZE }>(name, dev, bcache::SB_OFFSET)?;
    let Some(s) =
        bcache::parse_super(&sb).map_err(|e| format_err(name, e.rebase(bcache::SB_OFFSET)))?
    else {
        return Ok(None);
    };
    // The kernel: "Invalid superblock: device too small" (cache), and a backing device whose
    // data would start beyond its end has nothing to show.
    let sectors = dev.size() / 512;
    let (field, end, fits) = match s.role {
        Role::Cache => {
            let end = s.nbuckets.saturating_mul(u64::from(s.bucket_size));
            ("nbuckets * bucket_size", end, end <= sectors)
        }
        Role::Backing => ("data_offset", s.data_offset, s.data_offset < sectors),
    };
    if !fits {
        return Err(format_err(
            name,
            FormatError::field(
                "bcache",
                bcache::SB_OFFSET + 184,
                field,
                format!("{end} sectors"),
                format!("within the device ({sectors} sectors)"),
            ),
        ));
    }
    Ok(Some(s))
}
