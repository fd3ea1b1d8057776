//! GUID Partition Table: header and entry array with CRC32 checks, backup fallback.
