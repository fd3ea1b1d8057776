//! `writecache` segments (lvm2 `lib/writecache/writecache.c` `_writecache_add_target_line`,
//! libdm `_writecache_emit_segment_line`): `writecache s <origin -real> <cachevol -cvol>
//! <block size> <#args> [args]`, the settings in libdm's fixed order whatever their order in
//! the metadata. `s` (SSD): lvm2 says `p` only for a cachevol on persistent memory, which it
//! tells from the device's DAX attribute; we never see such a device and say `s`.

use crate::formats::lvm::text::Value;
use crate::formats::lvm::vg::Writecache;
use crate::plan::{DevRef, Target};

/// The line over the origin's `-real` device and the cachevol's.
pub(super) fn target(w: &Writecache, origin: DevRef, cache: DevRef) -> Result<Target, String> {
    let get = |k: &str| w.settings.iter().find(|(n, _)| n == k).map(|(_, v)| v);
    let int = |k: &str| -> Result<Option<i64>, String> {
        match get(k) {
            None => Ok(None),
            Some(Value::Int(i)) => Ok(Some(*i)),
            Some(_) => Err(format!("writecache setting {k} is not a number")),
        }
    };
    let mut args = Vec::new();
    for k in [
        "high_watermark",
        "low_watermark",
        "writeback_jobs",
        "autocommit_blocks",
        "autocommit_time",
    ] {
        if let Some(v) = int(k)? {
            args.push(k.to_string());
            args.push(v.to_string());
        }
    }
    for k in ["fua", "nofua"] {
        if get(k).is_some() {
            args.push(k.to_string());
        }
    }
    if int("cleaner")?.unwrap_or(0) != 0 {
        args.push("cleaner".to_string());
    }
    if let Some(v) = int("max_age")? {
        args.push("max_age".to_string());
        args.push(v.to_string());
    }
    if let (Some(Value::Str(k)), Some(Value::Str(v))) =
        (get("writecache_setting_key"), get("writecache_setting_val"))
    {
        args.push(k.clone());
        args.push(v.clone());
    }
    let block_size = match w.block_size {
        0 => 4096,
        b => u64::from(b),
    };
    Ok(Target::Writecache {
        pmem: false,
        origin,
        cache,
        block_size,
        args,
    })
}
