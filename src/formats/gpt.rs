//! GUID Partition Table: header and entry array with CRC32 checks, backup fallback.
//!
//! Validation follows the kernel's `block/partitions/efi.c` (`is_gpt_valid`, `is_pte_valid`)
//! and util-linux `libblkid/src/partitions/gpt.c` (`get_gpt_header`, which also rejects a header
//! inside the usable range). Two steps, because the entry array lives elsewhere:
//!
//! ```text
//! parse_header(block at LBA 1) ──► GptHeader::entries_region() ──► driver reads it
//!                                 ──► parse_entries(header, bytes) ──► partitions
//! primary bad ──► the same at the last LBA (the backup; its entries lie just before it)
//! ```
//! LBAs count logical blocks; every error names the absolute byte offset of the field.

use crate::error::FormatError;
use crate::formats::bytes;
use crate::formats::part::{Partition, DISK_MAX_PARTS};
use crate::ids::Guid;

const FORMAT: &str = "gpt";

/// `GPT_HEADER_SIGNATURE` (`efi.h`): "EFI PART" read as a little-endian u64.
pub const GPT_HEADER_SIGNATURE: u64 = 0x5452_4150_2049_4645;
/// `GPT_PRIMARY_PARTITION_TABLE_LBA` (`efi.h`).
pub const GPT_PRIMARY_PARTITION_TABLE_LBA: u64 = 1;
/// `sizeof(gpt_header)`: the smallest allowed `header_size` (`is_gpt_valid`).
pub const GPT_HEADER_SIZE: u32 = 92;
/// `sizeof(gpt_entry)`: the only entry size the kernel accepts.
pub const GPT_ENTRY_SIZE: u32 = 128;
/// Largest entry array accepted before anything is read or allocated (the kernel's bound is
/// KMALLOC_MAX_SIZE; ours is the driver's read limit).
pub const MAX_ENTRY_ARRAY: u64 = crate::source::MAX_READ;

// Header fields (`gpt_header`, efi.h).
const OFF_SIGNATURE: usize = 0x00;
const OFF_REVISION: usize = 0x08;
const OFF_HEADER_SIZE: usize = 0x0C;
const OFF_HEADER_CRC32: usize = 0x10;
const OFF_MY_LBA: usize = 0x18;
const OFF_ALTERNATE_LBA: usize = 0x20;
const OFF_FIRST_USABLE_LBA: usize = 0x28;
const OFF_LAST_USABLE_LBA: usize = 0x30;
const OFF_DISK_GUID: usize = 0x38;
const OFF_PARTITION_ENTRY_LBA: usize = 0x48;
const OFF_NUM_PARTITION_ENTRIES: usize = 0x50;
const OFF_SIZEOF_PARTITION_ENTRY: usize = 0x54;
const OFF_PARTITION_ENTRY_ARRAY_CRC32: usize = 0x58;

// Entry fields (`gpt_entry`).
const E_TYPE_GUID: usize = 0x00;
const E_UNIQUE_GUID: usize = 0x10;
const E_STARTING_LBA: usize = 0x20;
const E_ENDING_LBA: usize = 0x28;
const E_ATTRIBUTES: usize = 0x30;
const E_NAME: usize = 0x38;
/// 36 UTF-16LE code units.
const E_NAME_UNITS: usize = 36;

/// A GPT header that passed every check; its entry array has not been read yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GptHeader {
    /// The LBA it was read from.
    pub lba: u64,
    pub revision: u32,
    pub header_size: u32,
    pub my_lba: u64,
    pub alternate_lba: u64,
    pub first_usable_lba: u64,
    pub last_usable_lba: u64,
    pub disk_guid: Guid,
    pub partition_entry_lba: u64,
    pub num_partition_entries: u32,
    pub sizeof_partition_entry: u32,
    pub partition_entry_array_crc32: u32,
    entries_off: u64,
    entries_len: u64,
}

impl GptHeader {
    /// The entry array to read next: (byte offset, length). Checked by [`parse_header`] to lie
    /// inside the device and within [`MAX_ENTRY_ARRAY`].
    pub fn entries_region(&self) -> (u64, u64) {
        (self.entries_off, self.entries_len)
    }

    /// blkid's PTUUID: the disk GUID in lowercase.
    pub fn ptuuid(&self) -> String {
        self.disk_guid.to_string()
    }

    fn field_off(&self, lbs: u32, field: usize) -> u64 {
        self.lba
            .saturating_mul(u64::from(lbs))
            .saturating_add(u64::try_from(field).unwrap_or(0))
    }
}

/// The standard CRC-32 (IEEE, reflected, init and final XOR ~0): the kernel's `efi_crc32`.
fn efi_crc32(b: &[u8]) -> u32 {
    crc32fast::hash(b)
}

/// Parses and checks the header in `block` (one logical block read at `lba`). `last_lba` is
/// the device's last LBA. `Ok(None)`: no "EFI PART" signature.
pub fn parse_header(
    block: &[u8],
    lba: u64,
    lbs: u32,
    last_lba: u64,
) -> Result<Option<GptHeader>, FormatError> {
    let base = lba.saturating_mul(u64::from(lbs));
    let at = |field: usize| base.saturating_add(u64::try_from(field).unwrap_or(0));
    let have = u64::try_from(block.len()).unwrap_or(u64::MAX);
    if bytes::le64(block, OFF_SIGNATURE) != Some(GPT_HEADER_SIGNATURE) {
        return Ok(None);
    }
    let short = || FormatError::truncated(FORMAT, base, "gpt_header", 92, have);
    let header_size = bytes::le32(block, OFF_HEADER_SIZE).ok_or_else(short)?;
    // "EFI: The HeaderSize must be greater than 92 and must be less than or equal to the
    // logical block size."
    if header_size < GPT_HEADER_SIZE || header_size > lbs || u64::from(header_size) > have {
        return Err(FormatError::field(
            FORMAT,
            at(OFF_HEADER_SIZE),
            "header_size",
            header_size,
            format!("{GPT_HEADER_SIZE}..={lbs}"),
        ));
    }
    let hsz = usize::try_from(header_size).map_err(|_| short())?;
    let mut hdr = block.get(..hsz).ok_or_else(short)?.to_vec();
    let stored = bytes::le32(&hdr, OFF_HEADER_CRC32).ok_or_else(short)?;
    hdr.get_mut(OFF_HEADER_CRC32..OFF_HEADER_CRC32 + 4)
        .ok_or_else(short)?
        .fill(0);
    let crc = efi_crc32(&hdr);
    if crc != stored {
        return Err(FormatError::checksum(
            FORMAT,
            at(OFF_HEADER_CRC32),
            "header_crc32",
            stored,
            crc,
        ));
    }
    let u64f = |off: usize| bytes::le64(block, off).ok_or_else(short);
    let u32f = |off: usize| bytes::le32(block, off).ok_or_else(short);
    let my_lba = u64f(OFF_MY_LBA)?;
    if my_lba != lba {
        return Err(FormatError::field(
            FORMAT,
            at(OFF_MY_LBA),
            "my_lba",
            my_lba,
            lba,
        ));
    }
    let first_usable_lba = u64f(OFF_FIRST_USABLE_LBA)?;
    let last_usable_lba = u64f(OFF_LAST_USABLE_LBA)?;
    if first_usable_lba > last_lba {
        return Err(FormatError::field(
            FORMAT,
            at(OFF_FIRST_USABLE_LBA),
            "first_usable_lba",
            first_usable_lba,
            format!("at most the last LBA {last_lba}"),
        ));
    }
    if last_usable_lba > last_lba || last_usable_lba < first_usable_lba {
        return Err(FormatError::field(
            FORMAT,
            at(OFF_LAST_USABLE_LBA),
            "last_usable_lba",
            last_usable_lba,
            format!("{first_usable_lba}..={last_lba}"),
        ));
    }
    // libblkid: "The header has to be outside usable range".
    if first_usable_lba < lba && lba < last_usable_lba {
        return Err(FormatError::field(
            FORMAT,
            at(OFF_MY_LBA),
            "my_lba",
            format!("{lba} (inside the usable range)"),
            format!("outside {first_usable_lba}..={last_usable_lba}"),
        ));
    }
    let sizeof_partition_entry = u32f(OFF_SIZEOF_PARTITION_ENTRY)?;
    if sizeof_partition_entry != GPT_ENTRY_SIZE {
        return Err(FormatError::field(
            FORMAT,
            at(OFF_SIZEOF_PARTITION_ENTRY),
            "sizeof_partition_entry",
            sizeof_partition_entry,
            GPT_ENTRY_SIZE,
        ));
    }
    let num_partition_entries = u32f(OFF_NUM_PARTITION_ENTRIES)?;
    let entries_len = u64::from(num_partition_entries).saturating_mul(u64::from(GPT_ENTRY_SIZE));
    if num_partition_entries == 0 || entries_len > MAX_ENTRY_ARRAY {
        return Err(FormatError::field(
            FORMAT,
            at(OFF_NUM_PARTITION_ENTRIES),
            "num_partition_entries",
            num_partition_entries,
            format!("1..={}", MAX_ENTRY_ARRAY / u64::from(GPT_ENTRY_SIZE)),
        ));
    }
    let partition_entry_lba = u64f(OFF_PARTITION_ENTRY_LBA)?;
    let dev_end = last_lba
        .checked_add(1)
        .and_then(|n| n.checked_mul(u64::from(lbs)));
    let entries_off = partition_entry_lba.checked_mul(u64::from(lbs));
    let fits = match (entries_off, dev_end) {
        (Some(o), Some(end)) => o.checked_add(entries_len).is_some_and(|e| e <= end),
        _ => false,
    };
    if !fits {
        return Err(FormatError::field(
            FORMAT,
            at(OFF_PARTITION_ENTRY_LBA),
            "partition_entry_lba",
            partition_entry_lba,
            format!("an entry array of {entries_len} bytes ending by the last LBA {last_lba}"),
        ));
    }
    let mut guid = [0u8; 16];
    guid.copy_from_slice(
        block
            .get(OFF_DISK_GUID..OFF_DISK_GUID + 16)
            .ok_or_else(short)?,
    );
    Ok(Some(GptHeader {
        lba,
        revision: u32f(OFF_REVISION)?,
        header_size,
        my_lba,
        alternate_lba: u64f(OFF_ALTERNATE_LBA)?,
        first_usable_lba,
        last_usable_lba,
        disk_guid: Guid(guid),
        partition_entry_lba,
        num_partition_entries,
        sizeof_partition_entry,
        partition_entry_array_crc32: u32f(OFF_PARTITION_ENTRY_ARRAY_CRC32)?,
        entries_off: entries_off.unwrap_or(0),
        entries_len,
    }))
}

/// PARTLABEL: UTF-16LE up to the first NUL, converted to UTF-8 and right-trimmed as blkid's
/// `blkid_partition_set_utf8name` does; `None` when nothing is left.
fn entry_name(e: &[u8]) -> Option<String> {
    let units: Vec<u16> = (0..E_NAME_UNITS)
        .map_while(|i| bytes::le16(e, E_NAME + 2 * i))
        .take_while(|&u| u != 0)
        .collect();
    let s: String = char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect();
    let t = s.trim_end_matches(|c: char| c.is_ascii_whitespace() || c == '\x0b');
    (!t.is_empty()).then(|| t.to_string())
}

/// The kernel's PARTNAME (`utf16_le_to_7bit`): each of the 36 units masked to 7 bits, a
/// non-printable result shown as `!`; the C string ends at the first NUL.
fn kernel_name(e: &[u8]) -> Option<String> {
    let s: String = (0..E_NAME_UNITS)
        .map_while(|i| bytes::le16(e, E_NAME + 2 * i))
        .map(|u| u8::try_from(u & 0x7F).unwrap_or(b'!'))
        .take_while(|&c| c != 0)
        .map(|c| {
            if (0x20..0x7F).contains(&c) {
                char::from(c)
            } else {
                '!'
            }
        })
        .collect();
    (!s.is_empty()).then_some(s)
}

/// Checks the entry array read from [`GptHeader::entries_region`] and returns the partitions
/// (numbered by entry index + 1) and warnings for entries that are skipped: beyond the last
/// LBA (`is_pte_valid`), ending before they start, or past the kernel's partition limit.
/// Entries outside the usable range but on the disk are kept (the kernel creates them) with a
/// warning, since blkid ignores them.
pub fn parse_entries(
    hdr: &GptHeader,
    buf: &[u8],
    lbs: u32,
    last_lba: u64,
) -> Result<(Vec<Partition>, Vec<FormatError>), FormatError> {
    let have = u64::try_from(buf.len()).unwrap_or(u64::MAX);
    if have != hdr.entries_len {
        return Err(FormatError::truncated(
            FORMAT,
            hdr.entries_off,
            "partition entry array",
            hdr.entries_len,
            have,
        ));
    }
    let crc = efi_crc32(buf);
    if crc != hdr.partition_entry_array_crc32 {
        return Err(FormatError::checksum(
            FORMAT,
            hdr.field_off(lbs, OFF_PARTITION_ENTRY_ARRAY_CRC32),
            "partition_entry_array_crc32",
            hdr.partition_entry_array_crc32,
            crc,
        ));
    }
    let lbs64 = u64::from(lbs);
    let mut parts = Vec::new();
    let mut warnings = Vec::new();
    for (i, e) in buf.chunks_exact(128).enumerate() {
        let eoff = hdr
            .entries_off
            .saturating_add(u64::try_from(i).unwrap_or(u64::MAX).saturating_mul(128));
        let type_guid = Guid(bytes::arr::<16>(e, E_TYPE_GUID).unwrap_or([0; 16]));
        if type_guid.is_zero() {
            continue;
        }
        let number = u32::try_from(i).ok().and_then(|i| i.checked_add(1));
        let Some(number) = number.filter(|&n| n < DISK_MAX_PARTS) else {
            warnings.push(FormatError::field(
                FORMAT,
                eoff,
                "partition entry",
                format!("entry {} in use", i + 1),
                "entries 1..=255 only (kernel limit); the rest are ignored",
            ));
            break;
        };
        let starting = bytes::le64(e, E_STARTING_LBA).unwrap_or(0);
        let ending = bytes::le64(e, E_ENDING_LBA).unwrap_or(0);
        if starting > last_lba || ending > last_lba {
            warnings.push(FormatError::field(
                FORMAT,
                eoff.saturating_add(if starting > last_lba { 0x20 } else { 0x28 }),
                if starting > last_lba {
                    "starting_lba"
                } else {
                    "ending_lba"
                },
                format!("{} (partition {number})", starting.max(ending)),
                format!("at most the last LBA {last_lba}; partition skipped"),
            ));
            continue;
        }
        if ending < starting {
            warnings.push(FormatError::field(
                FORMAT,
                eoff.saturating_add(0x28),
                "ending_lba",
                format!("{ending} (partition {number})"),
                format!("at least starting_lba {starting}; partition skipped"),
            ));
            continue;
        }
        if starting < hdr.first_usable_lba || ending > hdr.last_usable_lba {
            warnings.push(FormatError::field(
                FORMAT,
                eoff.saturating_add(0x20),
                "starting_lba",
                format!("{starting}..={ending} (partition {number})"),
                format!(
                    "inside the usable range {}..={} (blkid ignores this partition, the kernel does not)",
                    hdr.first_usable_lba, hdr.last_usable_lba
                ),
            ));
        }
        // ending <= last_lba, so neither product can overflow unless lbs is absurd.
        let (Some(start), Some(size)) = (
            starting.checked_mul(lbs64),
            (ending - starting + 1).checked_mul(lbs64),
        ) else {
            continue;
        };
        parts.push(Partition {
            number,
            start,
            size,
            type_id: type_guid.to_string(),
            uuid: Guid(bytes::arr::<16>(e, E_UNIQUE_GUID).unwrap_or([0; 16])).to_string(),
            name: entry_name(e),
            kernel_name: kernel_name(e),
            container: false,
            flags: bytes::le64(e, E_ATTRIBUTES).unwrap_or(0),
            entry_offset: eoff,
        });
    }
    Ok((parts, warnings))
}

/// The kernel's `compare_gpts`: differences between a good primary and its alternate header,
/// as warnings (the primary is used either way).
pub fn compare_headers(p: &GptHeader, a: &GptHeader, lbs: u32, last_lba: u64) -> Vec<FormatError> {
    let mut w = Vec::new();
    let mut diff = |field: &'static str, off: usize, found: String, expected: String| {
        w.push(FormatError::field(
            FORMAT,
            a.field_off(lbs, off),
            field,
            found,
            expected,
        ));
    };
    if a.alternate_lba != p.my_lba {
        diff(
            "alternate_lba",
            OFF_ALTERNATE_LBA,
            a.alternate_lba.to_string(),
            format!("{} (the primary's my_lba)", p.my_lba),
        );
    }
    if a.first_usable_lba != p.first_usable_lba {
        let (f, e) = (a.first_usable_lba, p.first_usable_lba);
        diff(
            "first_usable_lba",
            OFF_FIRST_USABLE_LBA,
            f.to_string(),
            format!("{e} (primary)"),
        );
    }
    if a.last_usable_lba != p.last_usable_lba {
        let (f, e) = (a.last_usable_lba, p.last_usable_lba);
        diff(
            "last_usable_lba",
            OFF_LAST_USABLE_LBA,
            f.to_string(),
            format!("{e} (primary)"),
        );
    }
    if a.disk_guid != p.disk_guid {
        let (f, e) = (a.disk_guid, p.disk_guid);
        diff(
            "disk_guid",
            OFF_DISK_GUID,
            f.to_string(),
            format!("{e} (primary)"),
        );
    }
    if a.num_partition_entries != p.num_partition_entries {
        let (f, e) = (a.num_partition_entries, p.num_partition_entries);
        let off = OFF_NUM_PARTITION_ENTRIES;
        diff(
            "num_partition_entries",
            off,
            f.to_string(),
            format!("{e} (primary)"),
        );
    }
    if a.partition_entry_array_crc32 != p.partition_entry_array_crc32 {
        let (f, e) = (a.partition_entry_array_crc32, p.partition_entry_array_crc32);
        diff(
            "partition_entry_array_crc32",
            OFF_PARTITION_ENTRY_ARRAY_CRC32,
            format!("{f:#010x}"),
            format!("{e:#010x} (primary)"),
        );
    }
    if a.my_lba != last_lba {
        diff(
            "my_lba",
            OFF_MY_LBA,
            a.my_lba.to_string(),
            format!("{last_lba} (backup header at the end of the disk)"),
        );
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal valid header for a 100-LBA disk with `n` entries at LBA 2.
    fn header(n: u32, entries: &[u8]) -> Vec<u8> {
        let mut h = vec![0u8; 512];
        h[0..8].copy_from_slice(b"EFI PART");
        h[8..12].copy_from_slice(&0x0001_0000u32.to_le_bytes());
        h[12..16].copy_from_slice(&92u32.to_le_bytes());
        h[0x18..0x20].copy_from_slice(&1u64.to_le_bytes());
        h[0x20..0x28].copy_from_slice(&99u64.to_le_bytes());
        h[0x28..0x30].copy_from_slice(&34u64.to_le_bytes());
        h[0x30..0x38].copy_from_slice(&66u64.to_le_bytes());
        h[0x48..0x50].copy_from_slice(&2u64.to_le_bytes());
        h[0x50..0x54].copy_from_slice(&n.to_le_bytes());
        h[0x54..0x58].copy_from_slice(&128u32.to_le_bytes());
        h[0x58..0x5C].copy_from_slice(&crc32fast::hash(entries).to_le_bytes());
        let crc = crc32fast::hash(&h[..92]);
        h[0x10..0x14].copy_from_slice(&crc.to_le_bytes());
        h
    }

    #[test]
    fn entries_past_the_kernel_limit_and_odd_ranges() {
        let mut ents = vec![0u8; 300 * 128];
        let put = |ents: &mut Vec<u8>, i: usize, s: u64, e: u64| {
            let o = i * 128;
            ents[o] = 1;
            ents[o + 0x20..o + 0x28].copy_from_slice(&s.to_le_bytes());
            ents[o + 0x28..o + 0x30].copy_from_slice(&e.to_le_bytes());
        };
        put(&mut ents, 0, 40, 41);
        put(&mut ents, 1, 50, 40); // ends before it starts
        put(&mut ents, 2, 10, 20); // outside the usable range: kept, warned
        put(&mut ents, 3, 90, 120); // beyond the disk
        put(&mut ents, 254, 60, 60); // partition 255: the last the kernel makes
        put(&mut ents, 255, 61, 61); // 256: past the limit
        let h = header(300, &ents);
        let mut dev = h.clone();
        dev.resize(100 * 512, 0);
        let hdr = parse_header(&dev[..512], 1, 512, 99);
        // 300 entries at LBA 2 end at byte 1024 + 38400 = within 51200: fine.
        let hdr = hdr.unwrap().unwrap();
        assert_eq!(hdr.entries_region(), (1024, 38400));
        let (parts, warnings) = parse_entries(&hdr, &ents, 512, 99).unwrap();
        let nums: Vec<u32> = parts.iter().map(|p| p.number).collect();
        assert_eq!(nums, vec![1, 3, 255]);
        assert_eq!(parts[0].size, 1024);
        assert_eq!(warnings.len(), 4);
        assert_eq!(warnings[0].offset, 1024 + 128 + 0x28);
        assert_eq!(warnings[2].offset, 1024 + 3 * 128 + 0x28);
        // The array must be exactly as long as the header says.
        assert!(matches!(
            parse_entries(&hdr, &ents[..128], 512, 99).unwrap_err().kind,
            crate::error::ErrorKind::Truncated { .. }
        ));
    }

    #[test]
    fn entry_array_must_fit_the_disk() {
        let ents = vec![0u8; 128];
        let mut h = header(1, &ents);
        h[0x48..0x50].copy_from_slice(&99u64.to_le_bytes());
        h[0x10..0x14].fill(0);
        let crc = crc32fast::hash(&h[..92]);
        h[0x10..0x14].copy_from_slice(&crc.to_le_bytes());
        // On a 100-LBA disk the one-entry array fits in LBA 99.
        assert!(parse_header(&h, 1, 512, 99).unwrap().is_some());
        // On a 99-LBA disk it does not.
        assert_eq!(
            parse_header(&h, 1, 512, 98).unwrap_err(),
            FormatError::field(
                "gpt",
                512 + 0x48,
                "partition_entry_lba",
                99,
                "an entry array of 128 bytes ending by the last LBA 98"
            )
        );
    }

    #[test]
    fn names() {
        let mut e = vec![0u8; 128];
        for (i, u) in "ab\u{e9}  ".encode_utf16().enumerate() {
            e[0x38 + 2 * i..0x3A + 2 * i].copy_from_slice(&u.to_le_bytes());
        }
        assert_eq!(entry_name(&e).as_deref(), Some("ab\u{e9}"));
        assert_eq!(kernel_name(&e).as_deref(), Some("abi  "));
        assert_eq!(entry_name(&[0u8; 128]), None);
        // 36 units without NUL: all of them.
        let full: Vec<u8> = (0..128)
            .map(|i| if i >= 0x38 && i % 2 == 0 { b'x' } else { 0 })
            .collect();
        assert_eq!(entry_name(&full).unwrap().len(), 36);
    }
}
