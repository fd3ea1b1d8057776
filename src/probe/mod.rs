//! The probe driver: runs the pure parsers of `formats/` over one device through [`ReadAt`],
//! performing the follow-up reads they ask for, and turns read failures into
//! [`ProbeError::Io`] with the device name.

pub mod md;

use crate::error::{FormatError, ProbeError};
use crate::source::{self, ReadAt};

/// Reads `len` bytes at `off` of device `name`, bounded by its size and [`source::MAX_READ`].
pub fn read(name: &str, dev: &dyn ReadAt, off: u64, len: u64) -> Result<Vec<u8>, ProbeError> {
    source::read_vec(dev, off, len).map_err(|err| ProbeError::Io {
        device: name.to_string(),
        offset: off,
        len,
        err,
    })
}

/// Reads a fixed-size array at `off` of device `name`.
pub fn read_array<const N: usize>(
    name: &str,
    dev: &dyn ReadAt,
    off: u64,
) -> Result<[u8; N], ProbeError> {
    source::read_array::<N>(dev, off).map_err(|err| ProbeError::Io {
        device: name.to_string(),
        offset: off,
        len: u64::try_from(N).unwrap_or(u64::MAX),
        err,
    })
}

/// Wraps a parser error with the device name.
pub fn format_err(name: &str, err: FormatError) -> ProbeError {
    ProbeError::Format {
        device: name.to_string(),
        err,
    }
}
