//! `thin-pool` and `thin` segments (lvm2 `lib/thin/thin.c` `_thin_pool_add_target_line`,
//! `_thin_add_target_line`; libdm `_thin_pool_emit_segment_line`):
//!
//! `thin-pool <_tmeta> <_tdata> <chunk> <low water mark> <#features> [skip_block_zeroing]
//! [ignore_discard] [no_discard_passdown] [error_if_no_space]` — in that order; the low
//! water mark is 0 with lvm2's default `thin_pool_autoextend_threshold = 100` (no lvm.conf is
//! read here), `read_only` is never asked for by lvm2 2.03.16 activation.
//! `thin <VG-POOL-tpool> <device id> [<external origin's -real layer>]`.
//!
//! Before a pool is loaded lvm2 runs `thin_check` on `_tmeta`, and loads the pool anyway when
//! the tool is missing; libdm then checks the kernel's transaction id against the metadata and
//! sends pending messages. We run no tool and send no message: the superblock read by the
//! engine (`formats/thin.rs`) decides. A pool marked needs_check is refused (without
//! thin_check lvm2 would load it and the kernel would keep it read-only until repaired: a root
//! that cannot be written); a transaction id that differs from the metadata's as libdm would
//! refuse it, is refused; pending messages (metadata one transaction ahead) are left to lvm2.

use crate::engine::lvm::VolGroup;
use crate::formats::lvm::vg::{Discards, Flags, Lv, SegKind, Thin, ThinPool};
use crate::formats::thin::ThinSuper;
use crate::plan::{DevRef, Target};

pub(super) fn thin_pool(lv: &Lv) -> Option<&ThinPool> {
    lv.segments.iter().find_map(|s| match &s.kind {
        SegKind::ThinPool(p) => Some(p),
        _ => None,
    })
}

/// lvm2 `lv_is_new_thin_pool`: a pool whose metadata transaction id is still 0.
pub(super) fn new_thin_pool(lv: &Lv) -> bool {
    thin_pool(lv).is_some_and(|p| p.transaction_id == 0)
}

/// The pool's metadata superblock against its metadata: `Err` says why it is not activated.
pub(super) fn check_metadata(v: &VolGroup, lv: &Lv, p: &ThinPool) -> Result<(), String> {
    let who = format!("thin pool {}/{}", v.name, lv.name);
    let Some((_, sb)) = v.thin_meta.iter().find(|(n, _)| *n == lv.name) else {
        // Active in the kernel: it owns the metadata.
        return Ok(());
    };
    let sb = sb
        .as_ref()
        .map_err(|e| format!("{who}: metadata superblock unreadable: {e}"))?;
    let (tid, bs) = match sb {
        ThinSuper::Unformatted if p.transaction_id == 0 => return Ok(()),
        ThinSuper::Unformatted => (0, None),
        ThinSuper::Formatted {
            flags: _,
            transaction_id,
            data_block_size,
            ..
        } => (*transaction_id, Some(*data_block_size)),
    };
    if sb.needs_check() {
        return Err(format!(
            "{who}: its metadata ({}/{}) is marked needs_check: not activated (lvm2 runs \
             thin_check --clear-needs-check-flag first; without it the kernel keeps such a pool \
             read-only); check and repair it with thin_check/lvconvert --repair",
            v.name, p.metadata
        ));
    }
    if let Some(bs) = bs {
        if bs != p.chunk_size {
            return Err(format!(
                "{who}: metadata data_block_size {bs} differs from the VG metadata's chunk_size {}",
                p.chunk_size
            ));
        }
    }
    if tid == p.transaction_id {
        return Ok(());
    }
    if tid.checked_add(1) == Some(p.transaction_id) && !p.messages.is_empty() {
        return Err(format!(
            "{who}: {} thin message(s) pending (metadata transaction {}, pool {tid}): lvm2 \
             sends them on activation; activate it once with lvm2",
            p.messages.len(),
            p.transaction_id
        ));
    }
    Err(format!(
        "{who}: transaction_id is {tid}, while expected {} (refused, as lvm2 refuses it)",
        p.transaction_id
    ))
}

/// The `thin-pool` line of pool `lv` (its `-tpool` layer, or a new pool's own device) over
/// its `_tmeta` and `_tdata` devices.
pub(super) fn pool(lv: &Lv, p: &ThinPool, meta: DevRef, data: DevRef) -> Target {
    let mut features = Vec::new();
    if !p.zero_new_blocks {
        features.push("skip_block_zeroing".to_string());
    }
    match p.discards {
        Discards::Ignore => features.push("ignore_discard".to_string()),
        Discards::NoPassdown => features.push("no_discard_passdown".to_string()),
        Discards::Passdown => {}
    }
    if lv.status.contains(Flags::ERROR_WHEN_FULL) || lv.flags.contains(Flags::ERROR_WHEN_FULL) {
        features.push("error_if_no_space".to_string());
    }
    Target::ThinPool {
        meta,
        data,
        block_size: u64::from(p.chunk_size),
        low_water_mark: 0,
        features,
    }
}

/// The `thin` line: the pool's `-tpool` layer (a new pool's own device), and the external
/// origin's `-real` layer.
pub(super) fn thin(t: &Thin, pool: DevRef, external_origin: Option<DevRef>) -> Target {
    Target::Thin {
        pool,
        dev_id: u64::from(t.device_id),
        external_origin,
    }
}
