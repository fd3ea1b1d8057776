//! Errors shared by every layer.
//!
//! Three kinds are kept apart (design.md "Errors"): the device failed (`Io`), the bytes are
//! wrong (`Corrupt`: format, offset, field, found vs expected), or the bytes are valid but not
//! handled (`Unsupported`). Parsers in `formats/` only ever produce [`FormatError`]; the probe
//! driver adds the device name and turns read failures into [`ProbeError::Io`].

use std::fmt;

/// What is wrong with the bytes of one on-disk structure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// A field holds a value the format does not allow.
    Field {
        field: &'static str,
        found: String,
        expected: String,
    },
    /// A checksum does not match.
    Checksum {
        field: &'static str,
        found: u32,
        expected: u32,
    },
    /// The structure claims more bytes than the device or area holds.
    Truncated {
        field: &'static str,
        need: u64,
        have: u64,
    },
    /// Valid, but something this program does not handle (named).
    Unsupported { what: String },
}

/// An error from a pure parser: the format, the absolute byte offset on the device being probed
/// (of the structure or of the field when known), and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatError {
    pub format: &'static str,
    pub offset: u64,
    pub kind: ErrorKind,
}

impl FormatError {
    pub fn field(
        format: &'static str,
        offset: u64,
        field: &'static str,
        found: impl fmt::Display,
        expected: impl fmt::Display,
    ) -> Self {
        FormatError {
            format,
            offset,
            kind: ErrorKind::Field {
                field,
                found: found.to_string(),
                expected: expected.to_string(),
            },
        }
    }

    pub fn checksum(
        format: &'static str,
        offset: u64,
        field: &'static str,
        found: u32,
        expected: u32,
    ) -> Self {
        FormatError {
            format,
            offset,
            kind: ErrorKind::Checksum {
                field,
                found,
                expected,
            },
        }
    }

    pub fn truncated(
        format: &'static str,
        offset: u64,
        field: &'static str,
        need: u64,
        have: u64,
    ) -> Self {
        FormatError {
            format,
            offset,
            kind: ErrorKind::Truncated { field, need, have },
        }
    }

    pub fn unsupported(format: &'static str, offset: u64, what: impl Into<String>) -> Self {
        FormatError {
            format,
            offset,
            kind: ErrorKind::Unsupported { what: what.into() },
        }
    }

    /// Parsers that were given a buffer read at `base` report offsets relative to that buffer;
    /// the driver calls this to make them absolute on the device.
    #[must_use]
    pub fn rebase(mut self, base: u64) -> Self {
        self.offset = self.offset.saturating_add(base);
        self
    }

    pub fn is_unsupported(&self) -> bool {
        matches!(self.kind, ErrorKind::Unsupported { .. })
    }
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}: ", self.format, self.offset)?;
        match &self.kind {
            ErrorKind::Field {
                field,
                found,
                expected,
            } => {
                write!(f, "{field}: found {found}, expected {expected}")
            }
            ErrorKind::Checksum {
                field,
                found,
                expected,
            } => {
                write!(f, "{field}: found {found:#010x}, expected {expected:#010x}")
            }
            ErrorKind::Truncated { field, need, have } => {
                write!(f, "{field}: needs {need} bytes, only {have} available")
            }
            ErrorKind::Unsupported { what } => write!(f, "unsupported: {what}"),
        }
    }
}

impl std::error::Error for FormatError {}

/// An error while probing one device: the device's name plus either a read failure or a
/// format error.
#[derive(Debug)]
pub enum ProbeError {
    Io {
        device: String,
        offset: u64,
        len: u64,
        err: std::io::Error,
    },
    Format {
        device: String,
        err: FormatError,
    },
}

impl ProbeError {
    pub fn device(&self) -> &str {
        match self {
            ProbeError::Io { device, .. } | ProbeError::Format { device, .. } => device,
        }
    }
}

impl fmt::Display for ProbeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProbeError::Io {
                device,
                offset,
                len,
                err,
            } => {
                write!(
                    f,
                    "{device}: read of {len} bytes at byte {offset} failed: {err}"
                )
            }
            ProbeError::Format { device, err } => write!(f, "{device}: {err}"),
        }
    }
}

impl std::error::Error for ProbeError {}
