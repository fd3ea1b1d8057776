//! ZFS vdev labels: util-linux `libblkid/src/superblocks/zfs.c`. No Debian (main) tool writes a
//! pool without the ZFS kernel module: checked against the source only.
//!
//! A device is a zfs_member when its four labels (two at the start, two at the end, 256 KiB
//! each) hold at least four uberblock magics in total (counted label by label, in blkid's
//! order, stopping once four are seen). The pool name (LABEL), pool GUID (UUID) and vdev GUID
//! (UUID_SUB) come from the first 4 KiB of that label's nvlist (XDR-encoded, big-endian).
//! The uberblocks are counted only on a device where some label starts an XDR nvlist
//! ([`is_nvlist`]): blkid 2.41 and ZFS itself decide by the nvlist alone.

use super::{FsInfo, Usage};
use crate::formats::bytes;

/// blkid's `minsz` for zfs.
pub const MIN_DEVICE_SIZE: u64 = 64 * 1024 * 1024;
pub const LABEL_SIZE: u64 = 256 * 1024;
/// The uberblock array inside a label: 128 slots of 1 KiB from 128 KiB.
pub const UBERBLOCKS_AT: u64 = 128 * 1024;
pub const UBERBLOCKS_LEN: usize = 128 * 1024;
const UBERBLOCK_SIZE: usize = 1024;
/// The nvlist inside a label, of which blkid reads 4 KiB.
pub const NVLIST_AT: u64 = 16 * 1024;
pub const NVLIST_LEN: usize = 4096;
const UBERBLOCK_MAGIC: u64 = 0x00ba_b10c;
const WANT: usize = 4;
const DATA_TYPE_UINT64: u32 = 8;
const DATA_TYPE_STRING: u32 = 9;
const DATA_TYPE_DIRECTORY: u32 = 19;
/// Bound on nvpairs walked: each is at least 12 bytes of the 4 KiB.
const MAX_PAIRS: usize = NVLIST_LEN / 8;

/// Whether `nv` starts as ZFS packs a label's nvlist: nvs_header_t (encoding XDR, an endian
/// byte of 0 or 1, two reserved zero bytes), then the XDR nvlist version, 0 (libnvpair's
/// `nvs_operation`, `nvs_xdr_nvl_fini`; `nvlist_unpack` refuses anything else).
pub fn is_nvlist(nv: &[u8]) -> bool {
    const NV_ENCODE_XDR: u8 = 1;
    matches!(nv.get(..4), Some([NV_ENCODE_XDR, 0 | 1, 0, 0])) && bytes::be32(nv, 4) == Some(0)
}

/// The four label offsets on a device of `size` bytes, in blkid's order.
pub fn label_offsets(size: u64) -> [Option<u64>; 4] {
    let align = size % LABEL_SIZE;
    let end = |n: u64| size.checked_sub(n * LABEL_SIZE)?.checked_sub(align);
    [Some(0), Some(LABEL_SIZE), end(2), end(1)]
}

/// Counts the uberblock magics in one label's uberblock array; with the version (in the
/// magic's byte order) of the last one seen.
pub fn count_uberblocks(ubs: &[u8]) -> (usize, Option<u64>) {
    let mut n = 0;
    let mut version: Option<u64> = None;
    for ub in ubs.chunks_exact(UBERBLOCK_SIZE) {
        let m = bytes::le64(ub, 0).unwrap_or(0);
        if m == UBERBLOCK_MAGIC {
            n += 1;
            version = bytes::le64(ub, 8);
        }
        if m == UBERBLOCK_MAGIC.swap_bytes() {
            n += 1;
            version = bytes::be64(ub, 8);
        }
    }
    (n, version)
}

/// Whether the per-label counts reach blkid's four; with the index of the label where they did
/// (whose nvlist is read) and the version.
pub fn decide(counts: &[(usize, Option<u64>)]) -> Option<(usize, Option<u64>)> {
    let mut total = 0;
    for (i, &(n, v)) in counts.iter().enumerate() {
        total += n;
        // The label that reaches four has uberblocks of its own: its last one gives VERSION.
        if n > 0 && total >= WANT {
            return Some((i, v));
        }
    }
    None
}

/// The result: VERSION from the uberblock, the rest from the label's nvlist (4 KiB).
pub fn parse(version: Option<u64>, nvlist: Option<&[u8]>) -> FsInfo {
    let mut info = FsInfo::new("zfs_member", Usage::Filesystem);
    info.version = version.map(|v| v.to_string());
    if let Some(nv) = nvlist {
        walk_nvlist(nv, &mut info);
    }
    info
}

/// blkid's `zfs_extract_guid_name`: nvpairs after a 12-byte header; nested lists (type
/// "directory") are stepped over, only top-level name, guid and pool_guid are used.
fn walk_nvlist(nv: &[u8], info: &mut FsInfo) {
    let mut at = 12usize;
    let mut level = 0u32;
    for _ in 0..MAX_PAIRS {
        let left = nv.len().saturating_sub(at);
        if left <= 12 {
            break;
        }
        let size = bytes::be32(nv, at).unwrap_or(0);
        let mut step = size as usize;
        if size == 0 {
            if level == 0 {
                break;
            }
            level -= 1;
            step = 8;
        } else {
            let namelen = bytes::be32(nv, at + 8).unwrap_or(0) as usize;
            let namesize = (namelen as u64 + 3) & !3;
            if size as usize > left || namesize + 12 > u64::from(size) {
                break;
            }
            let name_at = at + 12;
            let value_at = name_at + namesize as usize;
            let max_value = size as usize - 12 - namesize as usize;
            let name = nv.get(name_at..name_at + namelen.min(left)).unwrap_or(&[]);
            if max_value >= 16 && bytes::be32(nv, value_at) == Some(DATA_TYPE_DIRECTORY) {
                step = 12 + namesize as usize + 16;
                level += 1;
            } else if level == 0 {
                value(
                    name,
                    nv.get(value_at..value_at + max_value).unwrap_or(&[]),
                    info,
                );
            }
        }
        if step > left || step == 0 {
            break;
        }
        at += step;
    }
}

/// blkid compares names with `strncmp(name, "guid", namelen)`: a prefix of the key matches.
fn is(name: &[u8], key: &str) -> bool {
    let n = name.iter().position(|&c| c == 0).unwrap_or(name.len());
    let name = name.get(..n).unwrap_or(&[]);
    key.as_bytes().starts_with(name) && (name.len() == key.len() || name.len() < key.len())
}

fn value(name: &[u8], v: &[u8], info: &mut FsInfo) {
    let u64_value = || {
        (v.len() >= 16 && bytes::be32(v, 0) == Some(DATA_TYPE_UINT64))
            .then(|| bytes::be64(v, 8).unwrap_or(0))
    };
    if is(name, "name") && v.len() >= 12 {
        let len = bytes::be32(v, 8).unwrap_or(0) as usize;
        if bytes::be32(v, 0) == Some(DATA_TYPE_STRING) && len + 12 <= v.len() {
            info.label = super::label(v.get(12..12 + len).unwrap_or(&[]));
        }
    } else if is(name, "guid") {
        if let Some(g) = u64_value() {
            info.uuid_sub = Some(g.to_string());
        }
    } else if is(name, "pool_guid") {
        if let Some(g) = u64_value() {
            info.uuid = (g != 0).then(|| g.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(name: &str, value: &[u8]) -> Vec<u8> {
        let namelen = name.len() + 1;
        let namesize = (namelen + 3) & !3;
        let size = 12 + namesize + value.len();
        let mut v = Vec::new();
        v.extend_from_slice(&(size as u32).to_be_bytes());
        v.extend_from_slice(&0u32.to_be_bytes());
        v.extend_from_slice(&(namelen as u32).to_be_bytes());
        let mut n = name.as_bytes().to_vec();
        n.resize(namesize, 0);
        v.extend_from_slice(&n);
        v.extend_from_slice(value);
        v
    }

    fn u64v(x: u64) -> Vec<u8> {
        [
            DATA_TYPE_UINT64.to_be_bytes().to_vec(),
            1u32.to_be_bytes().to_vec(),
            x.to_be_bytes().to_vec(),
        ]
        .concat()
    }

    /// From blkid's nvlist walk (no tool writes a pool here without the ZFS module).
    #[test]
    fn uberblocks_and_nvlist() {
        let mut ubs = vec![0u8; UBERBLOCKS_LEN];
        ubs[4 * 1024..4 * 1024 + 8].copy_from_slice(&UBERBLOCK_MAGIC.to_le_bytes());
        ubs[4 * 1024 + 8..4 * 1024 + 16].copy_from_slice(&5000u64.to_le_bytes());
        let one = count_uberblocks(&ubs);
        assert_eq!(one, (1, Some(5000)));
        assert_eq!(decide(&[one, one, one]), None);
        assert_eq!(
            decide(&[one, (0, None), one, one, one]),
            Some((4, Some(5000)))
        );
        let mut s = vec![0u8; 12];
        let name = [
            DATA_TYPE_STRING.to_be_bytes().to_vec(),
            1u32.to_be_bytes().to_vec(),
            5u32.to_be_bytes().to_vec(),
            b"rpool\0\0\0".to_vec(),
        ]
        .concat();
        // A nested list first: its pairs are not the pool's.
        let dir = [DATA_TYPE_DIRECTORY.to_be_bytes().to_vec(), vec![0; 12]].concat();
        s.extend(pair("vdev_tree", &dir));
        s.extend(pair("guid", &u64v(1)));
        s.extend_from_slice(&[0; 8]);
        s.extend(pair("name", &name));
        s.extend(pair("guid", &u64v(42)));
        s.extend(pair("pool_guid", &u64v(7)));
        s.resize(NVLIST_LEN, 0);
        let i = parse(Some(5000), Some(&s));
        assert_eq!(i.label.as_deref(), Some("rpool"));
        assert_eq!(i.uuid.as_deref(), Some("7"));
        assert_eq!(i.uuid_sub.as_deref(), Some("42"));
        assert_eq!(i.version.as_deref(), Some("5000"));
        // A pair claiming more than is left ends the walk.
        let mut bad = vec![0u8; 12];
        bad.extend_from_slice(&u32::MAX.to_be_bytes());
        bad.resize(64, 0);
        assert_eq!(parse(None, Some(&bad)).label, None);
    }
}
