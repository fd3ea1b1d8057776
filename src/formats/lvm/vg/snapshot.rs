//! Old-style COW snapshots: the `snapshot` segment of a hidden `snapshotN` LV
//! (`lib/snapshot/snapshot.c`: `_snap_text_import`), and the visibility rule they bring
//! (`lv_is_visible`).

use super::fields::{err, req_u32};
use super::{Flags, Importer, Lv, SegCtx, SegKind, SegRef, VgError};
use std::collections::HashMap;

/// Old-style COW snapshot (lives in a hidden `snapshotN` LV).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub chunk_size: u32,
    pub origin: String,
    pub cow_store: String,
    /// Written as `merging_store`.
    pub merging: bool,
}

impl Snapshot {
    pub(super) fn read(imp: &mut Importer<'_>, c: &SegCtx<'_>) -> Result<Snapshot, VgError> {
        let sn = c.sec;
        let chunk_size = req_u32(sn, "chunk_size", &c.path, c.offset)?;
        let merging_store = imp.opt_lv(c, "merging_store")?;
        let cow = imp.opt_lv(c, "cow_store")?;
        let (cow_store, merging) = match (cow, merging_store) {
            (Some(c), None) => (c, false),
            (None, Some(m)) => (m, true),
            (Some(_), Some(_)) => {
                return Err(err(
                    &c.path,
                    c.offset,
                    "cow_store",
                    "both cow_store and merging_store",
                    "one of them",
                ))
            }
            (None, None) => {
                return Err(err(
                    &c.path,
                    c.offset,
                    "cow_store",
                    "none",
                    "cow_store or merging_store",
                ))
            }
        };
        let origin = imp.req_lv(c, "origin")?;
        Ok(Snapshot {
            chunk_size,
            origin,
            cow_store,
            merging,
        })
    }

    pub fn references(&self) -> Vec<SegRef> {
        vec![
            SegRef::Lv(self.origin.clone()),
            SegRef::Lv(self.cow_store.clone()),
        ]
    }
}

/// lvm2 `lv_is_visible()` (`snapshot_manip.c`, formats.md §1.8): an LV with a snapshot segment
/// is never visible; a COW store is visible when its origin is virtual (itself not visible),
/// hidden while merging, and otherwise as visible as its origin; any other LV by its
/// `VISIBLE` flag.
pub(super) fn compute_visibility(lvs: &mut [Lv]) {
    // cow name -> (origin name, merging)
    let mut cows: HashMap<String, (String, bool)> = HashMap::new();
    for l in lvs.iter() {
        for s in &l.segments {
            if let SegKind::Snapshot(sn) = &s.kind {
                cows.insert(sn.cow_store.clone(), (sn.origin.clone(), sn.merging));
            }
        }
    }
    let flagged: HashMap<String, (bool, bool)> = lvs
        .iter()
        .map(|l| {
            let snap = l
                .segments
                .iter()
                .any(|s| matches!(s.kind, SegKind::Snapshot(_)));
            (l.name.clone(), (l.status.contains(Flags::VISIBLE), snap))
        })
        .collect();
    fn visible(
        name: &str,
        cows: &HashMap<String, (String, bool)>,
        flagged: &HashMap<String, (bool, bool)>,
        depth: usize,
    ) -> bool {
        let Some(&(flag, snap)) = flagged.get(name) else {
            return false;
        };
        if snap || depth > 8 {
            return false;
        }
        match cows.get(name) {
            Some((origin, merging)) => {
                // The origin is virtual when it was not visible when the snapshot was read.
                let origin_visible = visible(origin, cows, flagged, depth + 1);
                if !origin_visible {
                    true
                } else {
                    !merging
                }
            }
            None => flag,
        }
    }
    for l in lvs.iter_mut() {
        l.visible = visible(&l.name, &cows, &flagged, 0);
    }
}
