//! Typed reads of the values of a metadata section, each failure a [`VgError`] naming the item,
//! the offset of its key, what was found and what was expected. Shared by the walk and by
//! every segment family.

use super::{VgError, MAX_AREAS};
use crate::formats::lvm::text::{Item, Section, Value};
use crate::ids::LvmId;
use std::fmt;

pub(super) fn describe_item(item: &Item) -> String {
    match item {
        Item::Section(_) => "a section".into(),
        Item::Value(v) => describe(v),
    }
}

pub(super) fn describe(v: &Value) -> String {
    match v {
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.clone(),
        Value::Str(s) => format!("{s:?}"),
        Value::Array(a) if a.is_empty() => "[]".into(),
        Value::Array(a) => format!("an array of {}", a.len()),
    }
}

/// The segment's values other than the common keys and `used`.
pub(super) fn other_values(sn: &Section, used: &[&str]) -> Vec<(String, Value)> {
    const COMMON: &[&str] = &[
        "start_extent",
        "extent_count",
        "type",
        "tags",
        "reshape_count",
        "data_copies",
    ];
    sn.values()
        .filter(|(k, _, _)| !COMMON.contains(k) && !used.contains(k))
        .map(|(k, v, _)| (k.to_string(), v.clone()))
        .collect()
}

pub(super) fn err(
    path: &str,
    offset: usize,
    field: &'static str,
    found: impl fmt::Display,
    expected: impl fmt::Display,
) -> VgError {
    VgError {
        path: path.to_string(),
        offset,
        field,
        found: found.to_string(),
        expected: expected.to_string(),
    }
}

pub(super) fn req_id(sec: &Section, path: &str, sec_off: usize) -> Result<LvmId, VgError> {
    let s = req_str(sec, "id", path, sec_off)?;
    let off = sec.value("id").map_or(sec_off, |v| v.1);
    LvmId::parse(&s).ok_or_else(|| {
        err(
            path,
            off,
            "id",
            format!("{s:?}"),
            "32 characters from 0-9a-zA-Z!# (dashes ignored)",
        )
    })
}

pub(super) fn req_str(
    sec: &Section,
    key: &'static str,
    path: &str,
    sec_off: usize,
) -> Result<String, VgError> {
    match sec.value(key) {
        Some((Value::Str(s), _)) => Ok(s.clone()),
        Some((v, off)) => Err(err(path, off, key, describe(v), "a string")),
        None => Err(err(path, sec_off, key, "none", "a string")),
    }
}

pub(super) fn opt_str(
    sec: &Section,
    key: &'static str,
    path: &str,
) -> Result<Option<String>, VgError> {
    match sec.value(key) {
        Some((Value::Str(s), _)) => Ok(Some(s.clone())),
        Some((v, off)) => Err(err(path, off, key, describe(v), "a string")),
        None => Ok(None),
    }
}

pub(super) fn int_in<T: TryFrom<i64>>(
    sec: &Section,
    key: &'static str,
    path: &str,
    expected: &str,
) -> Result<Option<T>, VgError> {
    match sec.value(key) {
        Some((Value::Int(i), off)) => T::try_from(*i)
            .map(Some)
            .map_err(|_| err(path, off, key, i, expected)),
        Some((v, off)) => Err(err(path, off, key, describe(v), "an integer")),
        None => Ok(None),
    }
}

pub(super) fn opt_u32(
    sec: &Section,
    key: &'static str,
    path: &str,
) -> Result<Option<u32>, VgError> {
    int_in::<u32>(sec, key, path, "0..=4294967295")
}

pub(super) fn opt_u64(
    sec: &Section,
    key: &'static str,
    path: &str,
) -> Result<Option<u64>, VgError> {
    int_in::<u64>(sec, key, path, "a non-negative integer")
}

pub(super) fn req_u32(
    sec: &Section,
    key: &'static str,
    path: &str,
    sec_off: usize,
) -> Result<u32, VgError> {
    opt_u32(sec, key, path)?.ok_or_else(|| err(path, sec_off, key, "none", "an integer"))
}

pub(super) fn req_u64(
    sec: &Section,
    key: &'static str,
    path: &str,
    sec_off: usize,
) -> Result<u64, VgError> {
    opt_u64(sec, key, path)?.ok_or_else(|| err(path, sec_off, key, "none", "an integer"))
}

/// An area count: 1..=[`MAX_AREAS`], checked before anything is allocated for it.
pub(super) fn area_count(
    sec: &Section,
    key: &'static str,
    path: &str,
    sec_off: usize,
) -> Result<u64, VgError> {
    let n = u64::from(req_u32(sec, key, path, sec_off)?);
    if n == 0 || n > MAX_AREAS {
        let off = sec.value(key).map_or(sec_off, |v| v.1);
        return Err(err(path, off, key, n, format!("1..={MAX_AREAS}")));
    }
    Ok(n)
}

pub(super) fn opt_tags(sec: &Section, path: &str) -> Result<Vec<String>, VgError> {
    let Some((v, off)) = sec.value("tags") else {
        return Ok(Vec::new());
    };
    v.as_list()
        .iter()
        .map(|t| {
            t.as_str()
                .map(str::to_string)
                .ok_or_else(|| err(path, off, "tags", describe(t), "strings"))
        })
        .collect()
}
