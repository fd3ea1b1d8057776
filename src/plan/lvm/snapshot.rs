//! COW snapshots (lvm2 `_add_snapshot_target_to_dtree`, `_add_snapshot_merge_target_to_dtree`,
//! `_add_origin_target_to_dtree`): `snapshot <origin-real> <cow> P <chunk>` (lvm2 always
//! asks for a persistent store), `snapshot-origin <origin-real>`; while a merge is pending
//! (`lvconvert --merge` of an open origin waits for the next activation) the origin carries
//! `snapshot-merge <origin-real> <cow> P <chunk>` and the merging snapshot's own device an
//! `error` target, so the kernel merges as soon as it is loaded, as after lvm2's activation.
//! An invalid (overflowed) snapshot is loaded like any other: the kernel reads the COW
//! header's invalid mark and keeps it invalid, as with lvm2.

use crate::formats::lvm::vg::Snapshot;
use crate::plan::{DevRef, Target};

pub(super) fn snapshot(origin_real: DevRef, cow: DevRef, s: &Snapshot) -> Target {
    if s.merging {
        return Target::Error;
    }
    Target::Snapshot {
        origin: origin_real,
        cow,
        persistent: true,
        chunk: u64::from(s.chunk_size),
        merge: false,
    }
}

pub(super) fn merge(origin_real: DevRef, cow: DevRef, s: &Snapshot) -> Target {
    Target::Snapshot {
        origin: origin_real,
        cow,
        persistent: true,
        chunk: u64::from(s.chunk_size),
        merge: true,
    }
}
