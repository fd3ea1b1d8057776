//! Identifiers and their text forms, each as the owning tool prints it.

use std::fmt;

/// 16 raw bytes printed 8-4-4-4-12 in byte order (blkid's UUID form for ext4, xfs, btrfs, MD
/// device UUIDs...).
pub fn uuid_bytes_str(b: &[u8; 16]) -> String {
    let mut s = String::with_capacity(36);
    for (i, x) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push_str(&format!("{x:02x}"));
    }
    s
}

/// A GPT GUID as stored on disk (mixed endian: first three fields little-endian).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Guid(pub [u8; 16]);

impl Guid {
    pub fn is_zero(&self) -> bool {
        self.0.iter().all(|&b| b == 0)
    }

    /// Parses the text form (case-insensitive, with dashes) into on-disk byte order.
    pub fn parse(s: &str) -> Option<Guid> {
        let hex: Vec<u8> = s.bytes().filter(|&c| c != b'-').collect();
        if hex.len() != 32 || s.len() != 36 {
            return None;
        }
        let mut be = [0u8; 16];
        for (i, out) in be.iter_mut().enumerate() {
            let pair = std::str::from_utf8(hex.get(i * 2..i * 2 + 2)?).ok()?;
            *out = u8::from_str_radix(pair, 16).ok()?;
        }
        let mut d = be;
        d[0..4].reverse();
        d[4..6].reverse();
        d[6..8].reverse();
        Some(Guid(d))
    }
}

impl fmt::Display for Guid {
    /// Lowercase, as the kernel and blkid print PARTUUID.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = &self.0;
        write!(
            f,
            "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
            d[3], d[2], d[1], d[0], d[5], d[4], d[7], d[6], d[8], d[9], d[10], d[11], d[12], d[13], d[14], d[15]
        )
    }
}

impl fmt::Debug for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Guid({self})")
    }
}

/// An LVM2 PV/VG/LV id: 32 characters from `0-9a-zA-Z!#` (lvm2 `lib/id/id.c`), stored
/// without dashes; printed with dashes after 6-4-4-4-4-4 characters.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LvmId([u8; 32]);

impl LvmId {
    /// Accepts the 32-character form or the dashed 38-character form.
    pub fn parse(s: &str) -> Option<LvmId> {
        let mut out = [0u8; 32];
        let mut n = 0usize;
        for c in s.bytes() {
            if c == b'-' {
                continue;
            }
            if !(c.is_ascii_alphanumeric() || c == b'!' || c == b'#') {
                return None;
            }
            *out.get_mut(n)? = c;
            n += 1;
        }
        (n == 32).then_some(LvmId(out))
    }

    /// From the raw 32 bytes of a pv_header.
    pub fn from_raw(b: &[u8; 32]) -> Option<LvmId> {
        LvmId::parse(std::str::from_utf8(b).ok()?)
    }

    /// The 32 characters without dashes (the form DM UUIDs use).
    pub fn as_str(&self) -> &str {
        // Only ASCII is ever stored (checked in parse).
        std::str::from_utf8(&self.0).unwrap_or("")
    }
}

impl fmt::Display for LvmId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.as_str();
        let cuts = [0usize, 6, 10, 14, 18, 22, 26, 32];
        for w in cuts.windows(2) {
            if w[0] != 0 {
                f.write_str("-")?;
            }
            f.write_str(&s[w[0]..w[1]])?;
        }
        Ok(())
    }
}

impl fmt::Debug for LvmId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LvmId({self})")
    }
}

/// An MD array UUID (16 bytes in superblock order).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct MdUuid(pub [u8; 16]);

impl MdUuid {
    /// mdadm's `-E`/`-D`/`--export` form: the bytes in disk order, `:` after every 4 bytes.
    /// (For 0.90 the parser stores the four native words so that this prints what mdadm does.)
    pub fn mdadm_str(&self) -> String {
        let mut s = String::with_capacity(35);
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 && i % 4 == 0 {
                s.push(':');
            }
            s.push_str(&format!("{b:02x}"));
        }
        s
    }

    /// Parses mdadm's form (also accepts '-', '.' or ' ' as separators, like mdadm).
    pub fn parse(s: &str) -> Option<MdUuid> {
        let hex: Vec<u8> = s.bytes().filter(|c| c.is_ascii_hexdigit()).collect();
        if hex.len() != 32 {
            return None;
        }
        let mut out = [0u8; 16];
        for (i, o) in out.iter_mut().enumerate() {
            *o = u8::from_str_radix(std::str::from_utf8(&hex[i * 2..i * 2 + 2]).ok()?, 16).ok()?;
        }
        Some(MdUuid(out))
    }
}

impl fmt::Display for MdUuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.mdadm_str())
    }
}

impl fmt::Debug for MdUuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MdUuid({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guid_round_trip() {
        let s = "0fc63daf-8483-4772-8e79-3d69d8477de4";
        let g = Guid::parse(s).unwrap();
        assert_eq!(g.0[0], 0xaf);
        assert_eq!(g.to_string(), s);
        assert_eq!(Guid::parse(&s.to_uppercase()).unwrap(), g);
        assert!(Guid::parse("0fc63daf").is_none());
    }

    #[test]
    fn lvm_id_forms() {
        let id = LvmId::parse("Vh0e1Q-9xK2-abcd-efgh-ijkl-mnop-qrstuv").unwrap();
        assert_eq!(id.as_str(), "Vh0e1Q9xK2abcdefghijklmnopqrstuv");
        assert_eq!(id.to_string(), "Vh0e1Q-9xK2-abcd-efgh-ijkl-mnop-qrstuv");
        assert!(LvmId::parse("short").is_none());
        assert!(LvmId::parse("Vh0e1Q-9xK2-abcd-efgh-ijkl-mnop-qrstu/").is_none());
    }

    #[test]
    fn md_uuid_forms() {
        let u = MdUuid::parse("3f5a8b2c:11223344:55667788:99aabbcc").unwrap();
        assert_eq!(u.mdadm_str(), "3f5a8b2c:11223344:55667788:99aabbcc");
        assert_eq!(uuid_bytes_str(&u.0), "3f5a8b2c-1122-3344-5566-778899aabbcc");
    }
}
