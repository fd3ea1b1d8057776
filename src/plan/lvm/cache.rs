//! `cache` segments with a cache pool or a cachevol (lvm2 `lib/cache_segtype/cache.c`
//! `_cache_add_target_line`, libdm `dm_tree_node_add_cache_target`,
//! `_cache_emit_segment_line`):
//!
//! `cache <meta> <data> <origin -real> <chunk> <#features> [metadata2] <mode> <policy>
//! <#args> [args]`: the mode (writethrough, writeback or passthrough; writethrough with the
//! cleaner policy), `metadata2` for metadata format 2, the policy's settings with
//! `migration_threshold` first and only when it is not libdm's 2048 (raised to 8 chunks at
//! least); settings the policy does not know (smq: only migration_threshold) dropped.
//!
//! With a cache pool, mode/policy/settings/chunk come from the pool's segment; its `_cdata`
//! and `_cmeta` are the devices. With a cachevol they come from the cache segment, the
//! devices are `-cmeta`/`-cdata` linears over the cachevol (UUIDs from the segment's
//! `metadata_id`/`data_id`, else the cachevol's id), and the policy name is read, as lvm2
//! 2.03.16 reads it, from the cachevol's first segment, which has none: `mq` (checked: lvm2
//! loads `mq 0` for a cachevol made with `--cachepolicy smq`).

use crate::engine::lvm::{key_from_dm_uuid, VolGroup};
use crate::formats::lvm::names as lvm_names;
use crate::formats::lvm::text::Value;
use crate::formats::lvm::vg::{Cache, CacheParams, Lv};
use crate::ids::LvmId;
use crate::plan::{DevRef, DmStep, Target, TargetLine};

/// Settings lvm2 lets through to each policy (`_accepted` in `_cache_add_target_line`).
const MQ_SETTINGS: &[&str] = &[
    "migration_threshold",
    "sequential_threshold",
    "random_threshold",
    "read_promote_adjustment",
    "write_promote_adjustment",
    "discard_promote_adjustment",
];
const SMQ_SETTINGS: &[&str] = &["migration_threshold"];
/// libdm's default migration threshold (sectors), not written to the table.
const DEFAULT_MIGRATION_THRESHOLD: i64 = 2048;

/// The `-cmeta` / `-cdata` parts over the cachevol `pool` (device `cvol`) of cache LV `lv`
/// (the read-only and udev flags are the cache LV's, as lvm2 passes them).
pub(super) fn cachevol_parts(
    v: &VolGroup,
    lv: &Lv,
    c: &Cache,
    pool: &Lv,
    cvol: &DevRef,
    read_only: bool,
    udev_flags: u16,
) -> Result<[DmStep; 2], String> {
    let p = &c.params;
    let (Some(mlen), Some(dlen)) = (p.metadata_len, p.data_len) else {
        return Err(format!(
            "cache {} on cachevol {} without metadata_len/data_len",
            lv.name, c.pool
        ));
    };
    let id = |s: &Option<String>| -> Result<LvmId, String> {
        match s {
            Some(t) => LvmId::parse(t).ok_or_else(|| format!("bad id {t:?} in cache {}", lv.name)),
            None => Ok(pool.id.clone()),
        }
    };
    let part = |layer: &str, id: LvmId, len: u64, offset: u64| {
        let uuid = lvm_names::dm_uuid(&v.id, &id, Some(layer));
        DmStep {
            key: key_from_dm_uuid(&uuid).unwrap_or_else(|| format!("dm:{uuid}")),
            volume: format!("{}/{}-{layer}", v.name, pool.name),
            name: lvm_names::dm_name(&v.name, &pool.name, Some(layer)),
            uuid,
            read_only,
            table: vec![TargetLine {
                start: 0,
                len,
                target: Target::Linear {
                    dev: cvol.clone(),
                    offset,
                },
            }],
            udev_flags,
            links: vec![],
            visible: false,
            fixed_devno: None,
        }
    };
    // lvm2 maps the metadata at the cachevol's start and the data right after it
    // (`_add_new_lv_to_dtree`), not at metadata_start/data_start.
    Ok([
        part("cmeta", id(&p.metadata_id)?, mlen, 0),
        part("cdata", id(&p.data_id)?, dlen, mlen),
    ])
}

/// The `cache` line over `meta`, `data` (the pool's sub-LVs or the cachevol's parts) and the
/// origin's `-real` device. `setting` holds mode, chunk and settings (the pool's segment, or
/// the cache segment with a cachevol); `pool_params` is what lvm2 reads the policy name from:
/// the pool LV's first segment if it is a cache-pool one.
pub(super) fn cache(
    c: &Cache,
    setting: &CacheParams,
    pool_params: Option<&CacheParams>,
    meta: DevRef,
    data: DevRef,
    origin: DevRef,
) -> Result<Target, String> {
    let chunk = setting
        .chunk_size
        .ok_or_else(|| format!("cache {} without chunk_size", c.origin))?;
    let mut features = Vec::new();
    match setting.metadata_format {
        Some(1) => {}
        Some(2) => features.push("metadata2".to_string()),
        other => return Err(format!("cache metadata format {other:?}: expected 1 or 2")),
    }
    let cleaner = c.params.cleaner;
    features.push(if cleaner {
        "writethrough".to_string()
    } else {
        setting
            .cache_mode
            .clone()
            .unwrap_or_else(|| "writethrough".to_string())
    });
    // The policy name is the pool segment's (a cachevol's first segment has none).
    let policy_name = pool_params.and_then(|p| p.policy.clone());
    let policy = if cleaner {
        "cleaner".to_string()
    } else {
        policy_name.clone().unwrap_or_else(|| "mq".to_string())
    };
    let mut settings: Vec<(String, i64)> = Vec::new();
    if !cleaner {
        for (k, v) in &setting.policy_settings {
            let Value::Int(i) = v else {
                return Err(format!("cache policy setting {k} has no integer value"));
            };
            settings.push((k.clone(), *i));
        }
        // Unknown settings of a known policy are dropped (lvm2 warns).
        let accepted = match policy_name
            .as_deref()
            .map(str::to_ascii_uppercase)
            .as_deref()
        {
            Some("MQ") => Some(MQ_SETTINGS),
            Some("SMQ") => Some(SMQ_SETTINGS),
            _ => None,
        };
        if let Some(acc) = accepted {
            settings.retain(|(k, _)| acc.contains(&k.as_str()));
        }
    }
    let mut mt = DEFAULT_MIGRATION_THRESHOLD;
    settings.retain(|(k, v)| {
        if k == "migration_threshold" {
            mt = *v;
            false
        } else {
            true
        }
    });
    mt = mt.max(i64::from(chunk).saturating_mul(8));
    let mut policy_args = Vec::new();
    if mt != DEFAULT_MIGRATION_THRESHOLD {
        policy_args.push("migration_threshold".to_string());
        policy_args.push(mt.to_string());
    }
    for (k, v) in settings {
        policy_args.push(k);
        policy_args.push(v.to_string());
    }
    Ok(Target::Cache {
        meta,
        data,
        origin,
        block_size: u64::from(chunk),
        features,
        policy,
        policy_args,
    })
}
