//! The [`RootFinder`] that does the real work at boot: discovery over the kernel's devices,
//! root= resolved against what discovery found (filesystem UUID/LABEL, PARTUUID/PARTLABEL,
//! LVM and MD names, /dev/evms names, kernel names), then root's chain (plus resume= and the
//! rd.lvm/rd.md lists, or everything with rd.auto / evms.activate=all) planned and executed,
//! loading the modules the plan needs first.
//!
//! Each call looks at the whole system again; a call happens only when a block device
//! appeared or changed (uevent) or a policy timer fired, so nothing polls.

use super::cmdline::{ActivateScope, BootSpec, DeviceRef, MdRef};
use super::{Discovery, FoundRoot, RootFinder, Round};
use crate::config::ActivateFilter;
use crate::engine::{self, Graph, Inputs, NodeId, NodeKind, Settings};
use crate::exec::{ExecEnv, ExecOptions};
use crate::plan::build::{build, node_names, Selection};
use crate::probe::Content;

/// See the module documentation.
#[derive(Debug, Default)]
pub struct VolumeRootFinder {
    /// Modules already requested (so each is loaded once).
    loaded: Vec<String>,
    /// Problems already logged: every round rediscovers every device, a bad superblock is
    /// said once.
    warned: std::collections::BTreeSet<String>,
    /// LUKS: the key store, volumes that did not open (boot/luks.rs).
    luks: super::luks::LuksState,
}

impl VolumeRootFinder {
    pub fn new() -> Self {
        Self::default()
    }
}

/// Finds the node root= names. Err when the reference names something that can never be a
/// root filesystem (a PV, an array member, a LUKS header, swap, a container such as bcache or
/// an IMSM member): precise, so the user can fix it.
pub fn resolve_root(g: &Graph, r: &DeviceRef) -> Result<Option<NodeId>, String> {
    resolve(g, r, true)
}

/// Finds the node resume= names: swap space or a hibernation image (swsuspend), which root=
/// refuses.
pub fn resolve_resume(g: &Graph, r: &DeviceRef) -> Option<NodeId> {
    resolve(g, r, false).ok()?
}

fn resolve(g: &Graph, r: &DeviceRef, for_root: bool) -> Result<Option<NodeId>, String> {
    let fs_match =
        |pred: &dyn Fn(&Content) -> bool| (0..g.nodes.len()).find(|&i| pred(&g.node(i).content));
    let found = match r {
        DeviceRef::Uuid(u) => {
            let u_l = u.to_ascii_lowercase();
            let hit = fs_match(
                &|c| matches!(c, Content::Fs(f) if f.uuid.as_deref().map(str::to_ascii_lowercase) == Some(u_l.clone())),
            );
            if let Some(i) = hit.filter(|_| for_root) {
                if let Content::Fs(f) = &g.node(i).content {
                    if f.fstype == "crypto_LUKS" {
                        return Err(format!(
                            "root=UUID={u} is the LUKS header on {}, not a filesystem: root= names the filesystem inside the volume (its UUID, LABEL or /dev/mapper/NAME)",
                            g.node(i).name
                        ));
                    }
                    if f.fstype == "swap" {
                        return Err(format!(
                            "root=UUID={u} is swap space on {}, not a filesystem",
                            g.node(i).name
                        ));
                    }
                }
            }
            // Common mistakes: a PV or an array UUID.
            for (i, n) in g.nodes.iter().enumerate().filter(|_| hit.is_none()) {
                match &n.content {
                    Content::LvmPv(p)
                        if p.label.pv_id.to_string().eq_ignore_ascii_case(u)
                            || p.label.pv_id.as_str().eq_ignore_ascii_case(u) =>
                    {
                        return Err(format!("root=UUID={u} names the LVM PV on {}, not a filesystem: use the UUID of the filesystem on the LV (or root=/dev/VG/LV)", g.node(i).name));
                    }
                    Content::MdMember(sb)
                        if crate::ids::MdUuid::parse(u).is_some_and(|x| x == sb.uuid) =>
                    {
                        return Err(format!("root=UUID={u} names MD array {}, not a filesystem: use the filesystem's UUID (blkid) or root=/dev/md/NAME", sb.uuid));
                    }
                    _ => {}
                }
            }
            hit
        }
        DeviceRef::Label(l) => {
            fs_match(&|c| matches!(c, Content::Fs(f) if f.label.as_deref() == Some(l.as_str())))
        }
        DeviceRef::PartUuid { uuid, partnroff } => {
            let u = uuid.to_ascii_lowercase();
            let base = (0..g.nodes.len()).find(|&i| {
                g.node(i)
                    .part_entry
                    .as_ref()
                    .is_some_and(|p| p.uuid.to_ascii_lowercase() == u)
            });
            match base {
                Some(b) if *partnroff != 0 => {
                    let NodeKind::Partition { parent, number, .. } = g.node(b).kind else {
                        return Ok(None);
                    };
                    let want = i64::from(number) + i64::from(*partnroff);
                    (0..g.nodes.len()).find(|&i| matches!(g.node(i).kind, NodeKind::Partition { parent: p, number: n, .. } if p == parent && i64::from(n) == want))
                }
                other => other,
            }
        }
        DeviceRef::PartLabel(l) => (0..g.nodes.len()).find(|&i| {
            g.node(i)
                .part_entry
                .as_ref()
                .is_some_and(|p| p.name.as_deref() == Some(l.as_str()))
        }),
        DeviceRef::Devno { major, minor } => (0..g.nodes.len()).find(|&i| {
            g.node(i)
                .kernel
                .as_ref()
                .is_some_and(|k| k.devno.major == *major && k.devno.minor == *minor)
        }),
        DeviceRef::Path(p) => by_names(g, &[p.clone(), p.trim_start_matches("/dev/").to_string()]),
        DeviceRef::DmName(n) => by_names(g, &[format!("/dev/mapper/{n}")]),
        DeviceRef::Lv { vg, lv } => by_names(g, &[format!("{vg}/{lv}")]),
        DeviceRef::Md(MdRef::Name(n)) => by_names(g, &[format!("/dev/md/{n}")]),
        DeviceRef::Md(MdRef::Number(n)) => by_names(g, &[format!("/dev/md{n}")]),
        DeviceRef::Evms(p) => by_names(g, &[format!("/dev/evms/{p}")]),
    };
    if let Some(i) = found {
        match &g.node(i).content {
            Content::LvmPv(_) => {
                return Err(format!(
                    "root= names {}, which is an LVM PV, not a filesystem",
                    g.node(i).name
                ))
            }
            Content::MdMember(_) => {
                return Err(format!(
                    "root= names {}, which is an MD array member, not a filesystem",
                    g.node(i).name
                ))
            }
            Content::Fs(f) if for_root => {
                if let Some(what) = f.not_mountable() {
                    return Err(format!(
                        "root= names {}, which is {what}, not a filesystem to mount",
                        g.node(i).name
                    ));
                }
            }
            _ => {}
        }
    }
    Ok(found)
}

fn by_names(g: &Graph, want: &[String]) -> Option<NodeId> {
    (0..g.nodes.len()).find(|&i| {
        let names = node_names(g, i);
        want.iter().any(|w| names.iter().any(|n| n == w))
    })
}

/// bcache devices that can run but whose content cannot be read before they do (the cache
/// holds dirty data): their keys.
fn unread_bcache(g: &Graph) -> Vec<String> {
    g.bcache
        .iter()
        .filter(|b| b.verdict == engine::bcache::Verdict::Complete && !b.readable_without_cache())
        .filter_map(|b| b.node)
        .filter(|&n| g.node(n).kernel.is_none())
        .map(|n| g.node(n).key.clone())
        .collect()
}

/// Loads a cipher module of a crypt table: there is no modprobe for the kernel to call during
/// the table load, so it is loaded first. An alias several drivers answer (crypto-aes:
/// aesni_intel, which needs AES-NI) may fail for some of them; the table load names a cipher
/// really missing, so failures are only logged at debug level.
fn load_cipher(round: &mut Round, loaded: &mut Vec<String>, m: &str) {
    loaded.push(m.to_string());
    let r = round.modules.request(m, "", "a LUKS volume's cipher");
    for l in &r.loaded {
        log::debug!("loaded module {l}");
    }
    for e in r.errors.iter().chain(&r.ignored) {
        log::debug!("{e}");
    }
}

/// The volumes to activate besides root's chain: resume=, rd.lvm.vg/lv, rd.md.uuid.
fn extra_volumes(g: &Graph, spec: &BootSpec) -> Vec<String> {
    let mut v = Vec::new();
    if let Some(r) = &spec.resume {
        if let Some(i) = resolve_resume(g, r) {
            v.push(g.node(i).key.clone());
        }
    }
    if spec.lvm_enabled {
        v.extend(spec.lvm_vgs.iter().cloned());
        v.extend(spec.lvm_lvs.iter().map(|(vg, lv)| format!("{vg}/{lv}")));
    }
    if spec.md_enabled {
        v.extend(spec.md_uuids.iter().map(|u| u.mdadm_str()));
    }
    v
}

/// What was found, what is missing, and why: for the waiting notice and the failure report
/// (printed after "waiting for root R: still missing ..."). One line: the kernel log takes
/// one record per line and a console attached later sees the whole story in it.
pub fn explain(g: &Graph, spec: &BootSpec) -> String {
    let root = spec
        .root
        .as_ref()
        .map_or_else(|| "(no root=)".to_string(), |r| r.to_string());
    let mut s =
        format!("{root} (no disk, partition, array, logical volume or filesystem matches it yet)");
    let mut why = Vec::new();
    for a in &g.arrays {
        let name = a
            .link
            .as_deref()
            .map_or_else(|| a.devnm.clone(), |l| format!("md/{l}"));
        match &a.verdict {
            engine::md::Verdict::Complete => {}
            engine::md::Verdict::Degraded { missing, .. } => why.push(format!(
                "{name} ({}) is missing slot(s) {}: waiting for them, then degraded start per evms.degraded=",
                a.level_name(),
                missing.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
            )),
            engine::md::Verdict::NotStartable { reason } => why.push(format!("{name} cannot start: {reason}")),
        }
    }
    for b in &g.bcache {
        match &b.verdict {
            engine::bcache::Verdict::Complete => {}
            engine::bcache::Verdict::NoCache { reason } => why.push(format!(
                "{} (backing device {}): {reason}; waiting for the cache, then per evms.degraded=",
                b.devnm,
                g.node(b.backing).name
            )),
            engine::bcache::Verdict::NotStartable { reason } => why.push(format!(
                "{} (backing device {}) cannot start: {reason}",
                b.devnm,
                g.node(b.backing).name
            )),
        }
    }
    for v in &g.vgs {
        for pv in v.missing_pvs() {
            why.push(format!(
                "VG {} needs PV {} ({}), not seen",
                v.name, pv.id, pv.key
            ));
        }
    }
    for v in &g.cryptvols {
        if v.state == engine::crypt::CryptState::Locked {
            why.push(format!(
                "LUKS volume {} is locked",
                crate::askpass::describe(g, v)
            ));
        }
    }
    if !why.is_empty() {
        s.push_str(&format!("; missing: {}", why.join("; ")));
    }
    let seen: Vec<String> = (0..g.nodes.len())
        .filter(|&i| !matches!(g.node(i).content, Content::Unknown))
        .map(|i| seen_entry(g, i))
        .collect();
    if seen.is_empty() {
        s.push_str(". Seen: no volumes on any block device");
    } else {
        s.push_str(&format!(". Seen: {}", seen.join(", ")));
    }
    s
}

/// `vda1 (ext4 LABEL=root UUID=..., active)`: what a device holds, as blkid would name it,
/// and its state.
fn seen_entry(g: &Graph, i: NodeId) -> String {
    let n = g.node(i);
    let mut what = vec![match n.content.version() {
        Some(v) if matches!(n.content, Content::MdMember(_)) => {
            format!("{} {v}", n.content.format_name())
        }
        _ => n.content.format_name(),
    }];
    if let Some(l) = crate::report::content_label(&n.content) {
        what.push(format!("LABEL={l}"));
    }
    if let Some(u) = crate::report::content_uuid(&n.content) {
        what.push(format!("UUID={u}"));
    }
    let state = crate::report::node_state(g, i);
    let mut out = format!("{} ({}", n.name, what.join(" "));
    if !state.is_empty() {
        out.push_str(&format!(", {state}"));
    }
    out.push(')');
    out
}

impl RootFinder for VolumeRootFinder {
    fn retry(&mut self) {
        self.luks.retry();
    }

    fn discover(&mut self, round: &mut Round<'_>) -> Discovery {
        let spec = round.spec;
        let Some(root) = spec.root.clone() else {
            return Discovery::Failed {
                report: "No root= on the kernel command line: nothing to mount".into(),
            };
        };
        let env = round.env;
        let inputs = Inputs::Live {
            sys: env.sys_dir.clone(),
            dev: env.dev_dir.clone(),
        };
        let mut settings = Settings {
            homehost: crate::config::mdadm::homehost(None, &env.initramfs_root.join("etc")),
            md_arrays: crate::config::mdadm::conf_arrays(&env.initramfs_root.join("etc")),
            system_id: None,
            exclude: spec.exclude.clone(),
            ..Settings::default()
        };
        let (luks_src, luks_tab) = self.luks.configure(spec, env, &mut settings);
        // Every round reads every device's metadata again (from the page cache after the
        // first time) instead of keeping probe results: the kernel rewrites MD superblocks
        // when an array starts, and a kept result would be stale. The debug line measures it.
        let t = std::time::Instant::now();
        let g = engine::discover(&inputs, settings.clone());
        log::debug!(
            "discovery: {} objects in {:.1} ms ({} new block devices this round)",
            g.nodes.len(),
            t.elapsed().as_secs_f64() * 1e3,
            round.new_devices.len()
        );
        let (problems, warnings) = crate::report::problem_lines(&g);
        for p in problems.into_iter().chain(warnings) {
            if !self.warned.contains(&p) {
                log::warn!("{p}");
                self.warned.insert(p);
            }
        }
        // Root's chain, or everything when asked to (rd.auto, evms.activate=all).
        let all = spec.auto || matches!(spec.activate, ActivateScope::All);
        // LUKS volumes root (and resume=) may be inside: opened until they resolve.
        let wanted = |g: &Graph| -> bool {
            let ok =
                |found: Option<NodeId>| found.is_some_and(|i| crate::askpass::chain_complete(g, i));
            ok(resolve_root(g, &root).ok().flatten())
                && spec
                    .resume
                    .as_ref()
                    .is_none_or(|r| ok(resolve_resume(g, r)))
        };
        let g = self.luks.open(
            &inputs, &settings, g, spec, env, &luks_src, luks_tab, all, &wanted,
        );
        let target = match resolve_root(&g, &root) {
            Err(report) => return Discovery::Failed { report },
            Ok(t) => t,
        };
        if target.is_none() {
            if let Some(report) = self.luks.failure(&g) {
                return Discovery::Failed { report };
            }
        }
        let mut volumes = Vec::new();
        if !all {
            match target {
                Some(i) => volumes.push(g.node(i).key.clone()),
                None if !unread_bcache(&g).is_empty() => {
                    // Root may be inside a bcache device whose newest data is in its cache
                    // (dirty): only the kernel can read it, so it is registered (as udev
                    // registers every bcache device) and root looked for again.
                    volumes.extend(unread_bcache(&g));
                }
                None => {
                    let extra = extra_volumes(&g, spec);
                    if extra.is_empty() {
                        return Discovery::Waiting {
                            what: explain(&g, spec),
                        };
                    }
                }
            }
            volumes.extend(extra_volumes(&g, spec));
        }
        let filter =
            (!spec.include.is_empty() || !spec.exclude.is_empty()).then(|| ActivateFilter {
                include: if spec.include.is_empty() {
                    vec!["*".into()]
                } else {
                    spec.include.clone()
                },
                exclude: spec.exclude.clone(),
            });
        let sel = Selection {
            volumes,
            filter,
            degraded: round.degraded_ok,
            partial: false,
            ignore_activation_skip: false,
            // LVM RAID LVs missing images wait for the grace period too.
            hold_degraded: !round.degraded_ok,
        };
        let plan = build(&g, &sel);
        // Root resolves after this? The system as activation left it (its last discovery).
        let g2 = if plan.steps.is_empty() {
            g
        } else {
            // The ciphers of crypt tables first (the later rounds' in `load`, below).
            for m in plan.crypto_modules() {
                if !self.loaded.contains(&m) {
                    load_cipher(round, &mut self.loaded, &m);
                }
            }
            // What the first plan needs, and root's filesystem when it was read in user space,
            // load side by side up front (beside raid456 and dm-mod when there are CPUs for
            // it, instead of after); later steps' own modules load as they come (below).
            let fs = target
                .and_then(|i| match &g.node(i).content {
                    Content::Fs(f) if f.usage == crate::formats::fs::Usage::Filesystem => {
                        Some(format!("fs-{}", f.mount_type()))
                    }
                    _ => None,
                })
                .map(|m| (m, "the root filesystem"));
            let mut wanted = Vec::new();
            for (m, why) in plan
                .modules()
                .into_iter()
                .filter(|m| !m.starts_with("crypto-"))
                .map(|m| (m.to_string(), "the volumes root needs"))
                .chain(fs)
            {
                if !self.loaded.contains(&m) {
                    self.loaded.push(m.clone());
                    wanted.push((m, why.to_string()));
                }
            }
            if let Err(e) = round.load_modules(&wanted) {
                log::error!("{e}");
            }
            let exec_env = ExecEnv {
                sys: env.sys_dir.clone(),
                dev: env.dev_dir.clone(),
                run: env.run_dir.clone(),
                proc: env.proc_dir.clone(),
            };
            let opts = ExecOptions {
                udev_records: true,
                ..ExecOptions::default()
            };
            // Its warnings are those of `g`, logged above.
            // Each round's steps name their modules (a later round's, on devices an earlier
            // round made, may need others than the first plan showed).
            let loaded = &mut self.loaded;
            let mut load = |mods: &[&'static str]| {
                for m in mods {
                    if loaded.iter().any(|x| x == m) {
                        continue;
                    }
                    if m.starts_with("crypto-") {
                        load_cipher(round, loaded, m);
                    } else {
                        loaded.push(m.to_string());
                        if let Err(e) = round.load_module(m, "the volumes root needs") {
                            log::error!("{e}");
                        }
                    }
                }
            };
            let out =
                crate::activate::run(&inputs, &settings, g, &sel, &exec_env, &opts, &mut load);
            for l in &out.lines {
                log::info!("{l}");
            }
            out.graph
        };
        match resolve_root(&g2, &root) {
            Err(report) => Discovery::Failed { report },
            Ok(Some(i)) => {
                let n = g2.node(i);
                let Some(k) = &n.kernel else {
                    // Why the plan held it back (an LVM RAID LV waiting for its PVs), if it did.
                    let why = plan
                        .skipped
                        .iter()
                        .find(|s| s.volume == n.name)
                        .map(|s| format!(" ({})", s.reason))
                        .unwrap_or_default();
                    return Discovery::Waiting {
                        what: format!(
                            "{} was planned but is not active yet{why}: {}",
                            n.name,
                            explain(&g2, spec)
                        ),
                    };
                };
                let fstype = match &n.content {
                    Content::Fs(f) => Some(f.mount_type().to_string()),
                    _ => None,
                };
                let module = fstype
                    .as_ref()
                    .map(|t| vec![format!("fs-{t}")])
                    .unwrap_or_default();
                // resume= was activated with root's chain when it was seen (extra_volumes).
                let resume = spec.resume.as_ref().and_then(|r| {
                    let i = resolve_resume(&g2, r)?;
                    let n = g2.node(i);
                    let k = n.kernel.as_ref()?;
                    Some((
                        n.name.clone(),
                        format!("{}:{}", k.devno.major, k.devno.minor),
                    ))
                });
                Discovery::Found(FoundRoot {
                    devnode: env.dev_dir.join(&k.name),
                    fstype,
                    modules: module,
                    resume,
                })
            }
            Ok(None) => Discovery::Waiting {
                what: explain(&g2, spec),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{sparse::SparseDev, ReadAt};

    /// root= by the filesystem inside a bcache device (make-bcache fixtures): found before the
    /// device runs (read through the backing device), so root's chain is the register step;
    /// the backing device's own UUID is refused by name.
    #[test]
    fn root_inside_bcache_resolves_before_it_runs() {
        use crate::engine::bcache::tests::expected;
        use crate::formats::fs::bcache::tests::fixture;
        let g = crate::engine::fixtures::graph(
            vec![("vda", fixture("wb")), ("vdb", fixture("cache"))],
            &[],
        );
        for arg in [
            format!("root=UUID={}", expected("wb", "expected.inside", "UUID")),
            "root=LABEL=bcache-wb".to_string(),
            "root=/dev/bcache0".to_string(),
            format!(
                "root=/dev/bcache/by-uuid/{}",
                expected("wb", "expected.blkid", "UUID")
            ),
        ] {
            let (spec, _) = BootSpec::parse(&arg);
            let id = resolve_root(&g, spec.root.as_ref().unwrap())
                .unwrap()
                .unwrap_or_else(|| panic!("{arg}: not found"));
            assert_eq!(g.node(id).name, "bcache0", "{arg}");
            let plan = build(
                &g,
                &Selection {
                    volumes: vec![g.node(id).key.clone()],
                    ..Selection::default()
                },
            );
            assert!(
                matches!(&plan.steps[..], [crate::plan::Step::RegisterBcache(_)]),
                "{arg}: {plan}"
            );
        }
        let (spec, _) = BootSpec::parse(&format!(
            "root=UUID={}",
            expected("wb", "expected.blkid", "UUID")
        ));
        let e = resolve_root(&g, spec.root.as_ref().unwrap()).unwrap_err();
        assert!(e.contains("a bcache backing or cache device"), "{e}");
        // Dirty: nothing inside can be read before the kernel runs it; boot registers it to
        // look for root there.
        let mut d = fixture("wb");
        crate::engine::bcache::tests::state(&mut d, crate::engine::bcache::tests::DIRTY);
        let g = crate::engine::fixtures::graph(vec![("vda", d), ("vdb", fixture("cache"))], &[]);
        assert_eq!(unread_bcache(&g), [g.bcache[0].key.clone()]);
    }

    /// The sparse fixture written out as a raw image file, as `--image` reads it.
    fn image(spr: &[u8], name: &str) -> std::path::PathBuf {
        let d = SparseDev::parse(spr).unwrap();
        let mut buf = vec![0u8; usize::try_from(d.size()).unwrap()];
        d.read_exact_at(0, &mut buf).unwrap();
        let p = std::env::temp_dir().join(format!("evms-volumes-{}-{name}", std::process::id()));
        std::fs::write(&p, buf).unwrap();
        p
    }

    /// KEY=VALUE lines of a fixture's expected.env.
    fn expected(text: &str, key: &str) -> String {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .unwrap_or_else(|| panic!("{key} missing"))
            .to_string()
    }

    /// A sysfs with the given whole disks (name, maj:min, size) and a /dev holding their
    /// images: discovery's live path on a machine where the kernel has not started anything.
    fn live_tree(disks: &[(&str, &str, &[u8])]) -> (std::path::PathBuf, Inputs) {
        let root = std::env::temp_dir().join(format!("evms-volumes-live-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        for (name, devno, spr) in disks {
            let d = SparseDev::parse(spr).unwrap();
            let dir = root.join(format!("sys/devices/pci0000:00/virtio/block/{name}"));
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("dev"), format!("{devno}\n")).unwrap();
            std::fs::write(dir.join("size"), format!("{}\n", d.size() / 512)).unwrap();
            std::fs::create_dir_all(root.join("sys/class/block")).unwrap();
            std::os::unix::fs::symlink(&dir, root.join("sys/class/block").join(name)).unwrap();
            // Sparse file: only the 1 MiB chunks holding data are written.
            std::fs::create_dir_all(root.join("dev")).unwrap();
            let f = std::fs::File::create(root.join("dev").join(name)).unwrap();
            f.set_len(d.size()).unwrap();
            let mut chunk = vec![0u8; 1 << 20];
            for off in (0..d.size()).step_by(1 << 20) {
                d.read_exact_at(off, &mut chunk).unwrap();
                if chunk.iter().any(|&b| b != 0) {
                    std::os::unix::fs::FileExt::write_all_at(&f, &chunk, off).unwrap();
                }
            }
        }
        let inputs = Inputs::Live {
            sys: root.join("sys"),
            dev: root.join("dev"),
        };
        (root, inputs)
    }

    /// root=PARTUUID= of a partition inside an MD array that is not running yet: the array's
    /// GPT is read in user space through the RAID1 mapping, so root's chain (the array) is
    /// known and planned before the kernel has md127 or md127p1.
    #[test]
    fn partition_inside_md_array_before_it_runs() {
        let exp = include_str!("../../tests/fixtures/boot/md-part/expected.env");
        let (root, inputs) = live_tree(&[
            (
                "vda",
                "254:0",
                include_bytes!("../../tests/fixtures/boot/md-part/disk1.spr"),
            ),
            (
                "vdb",
                "254:16",
                include_bytes!("../../tests/fixtures/boot/md-part/disk2.spr"),
            ),
        ]);
        let g = engine::discover(&inputs, Settings::default());
        let (spec, _) = BootSpec::parse(&format!(
            "root=PARTUUID={}",
            expected(exp, "ROOTPART_PART_ENTRY_UUID")
        ));
        let id = resolve_root(&g, spec.root.as_ref().unwrap())
            .unwrap()
            .expect("root found");
        let n = g.node(id);
        assert_eq!(
            Some(format!("/dev/{}", n.name)),
            Some(expected(exp, "ROOTPART_DEVNAME"))
        );
        assert!(n.kernel.is_none());
        let Content::Fs(f) = &n.content else {
            panic!("not a filesystem: {:?}", n.content)
        };
        assert_eq!(f.fstype.to_string(), expected(exp, "ROOTPART_TYPE"));
        assert_eq!(f.uuid.clone().unwrap(), expected(exp, "ROOTPART_UUID"));
        assert_eq!(f.label.clone().unwrap(), expected(exp, "ROOTPART_LABEL"));
        // Root's chain is the array; the partition is the kernel's to make.
        let plan = build(
            &g,
            &Selection {
                volumes: vec![n.key.clone()],
                ..Selection::default()
            },
        );
        assert_eq!(plan.steps.len(), 1, "{plan}");
        let crate::plan::Step::AssembleMd(m) = &plan.steps[0] else {
            panic!("{plan}")
        };
        assert_eq!(m.uuid.mdadm_str(), expected(exp, "MD_UUID"));
        assert_eq!(m.level, expected(exp, "MD_LEVEL"));
        // The array was made with --homehost='<none>': a name without `host:` is foreign to
        // every host, and mdadm's assembly (-As and -I alike, checked in a VM with mdadm 4.2)
        // links it as /dev/md/NAME_0.
        assert_eq!(
            m.name.as_deref(),
            Some(format!("{}_0", expected(exp, "MD_NAME")).as_str())
        );
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn explain_names_what_was_seen() {
        // mke2fs-made ext4 (tests/fixtures/fs/gen.sh); LABEL and UUID from its expected.blkid.
        let p = image(
            include_bytes!("../../tests/fixtures/fs/ext4/disk.spr"),
            "ext4",
        );
        let g = engine::discover(
            &Inputs::Images(vec![("vda".into(), p.clone())]),
            Settings::default(),
        );
        let (spec, _) = BootSpec::parse("root=/dev/vdb");
        assert_eq!(resolve_root(&g, spec.root.as_ref().unwrap()), Ok(None));
        assert_eq!(
            explain(&g, &spec),
            "/dev/vdb (no disk, partition, array, logical volume or filesystem matches it yet). \
             Seen: vda (ext4 LABEL=ext4 label UUID=0f3e2d1c-0000-4000-8000-000000000004)"
        );
        let (spec, _) = BootSpec::parse("root=/dev/disk/by-label/ext4\\x20label");
        assert_eq!(resolve_root(&g, spec.root.as_ref().unwrap()), Ok(Some(0)));
        std::fs::remove_file(p).unwrap();
    }

    /// root=LABEL=/UUID= over images of the second batch of fixtures (written by genisoimage,
    /// mkudffs, mkntfs, mkfs.exfat, mkfs.f2fs, make-bcache, mdadm's IMSM, a hibernated swap):
    /// the registry's types resolve with no list elsewhere, containers and swap are refused by
    /// name, and resume= finds the hibernation image.
    #[test]
    fn new_types_resolve_through_the_registry() {
        use crate::probe::part::golden::kv_blocks;
        let fx: [(&str, &[u8], &str); 8] = [
            (
                "iso-joliet",
                include_bytes!("../../tests/fixtures/fs/iso-joliet/disk.spr"),
                include_str!("../../tests/fixtures/fs/iso-joliet/expected.blkid"),
            ),
            (
                "udf",
                include_bytes!("../../tests/fixtures/fs/udf/disk.spr"),
                include_str!("../../tests/fixtures/fs/udf/expected.blkid"),
            ),
            (
                "ntfs",
                include_bytes!("../../tests/fixtures/fs/ntfs/disk.spr"),
                include_str!("../../tests/fixtures/fs/ntfs/expected.blkid"),
            ),
            (
                "exfat",
                include_bytes!("../../tests/fixtures/fs/exfat/disk.spr"),
                include_str!("../../tests/fixtures/fs/exfat/expected.blkid"),
            ),
            (
                "f2fs",
                include_bytes!("../../tests/fixtures/fs/f2fs/disk.spr"),
                include_str!("../../tests/fixtures/fs/f2fs/expected.blkid"),
            ),
            (
                "bcache-backing",
                include_bytes!("../../tests/fixtures/fs/bcache-backing/disk.spr"),
                include_str!("../../tests/fixtures/fs/bcache-backing/expected.blkid"),
            ),
            (
                "imsm",
                include_bytes!("../../tests/fixtures/fs/imsm/disk.spr"),
                include_str!("../../tests/fixtures/fs/imsm/expected.blkid"),
            ),
            (
                "swsuspend",
                include_bytes!("../../tests/fixtures/fs/swsuspend/disk.spr"),
                include_str!("../../tests/fixtures/fs/swsuspend/expected.blkid"),
            ),
        ];
        let paths: Vec<_> = fx.iter().map(|(n, spr, _)| image(spr, n)).collect();
        let g = engine::discover(
            &Inputs::Images(
                fx.iter()
                    .zip(&paths)
                    .map(|((n, _, _), p)| (n.to_string(), p.clone()))
                    .collect(),
            ),
            Settings::default(),
        );
        let node = |name: &str| (0..g.nodes.len()).find(|&i| g.node(i).name == name);
        for (name, _, exp) in &fx[..5] {
            let e = &kv_blocks(exp)[0];
            for r in [
                format!("root=UUID={}", e["UUID"]),
                format!(
                    "root=/dev/disk/by-label/{}",
                    e["LABEL"].replace(' ', "\\x20")
                ),
            ] {
                let (spec, _) = BootSpec::parse(&r);
                assert_eq!(
                    resolve_root(&g, spec.root.as_ref().unwrap()),
                    Ok(node(name)),
                    "{r}"
                );
            }
        }
        let e = &kv_blocks(fx[5].2)[0];
        let (spec, _) = BootSpec::parse(&format!("root=UUID={}", e["UUID"]));
        let err = resolve_root(&g, spec.root.as_ref().unwrap()).unwrap_err();
        assert!(err.contains("a bcache backing or cache device"), "{err}");
        let (spec, _) = BootSpec::parse("root=/dev/imsm");
        let err = resolve_root(&g, spec.root.as_ref().unwrap()).unwrap_err();
        assert!(
            err.contains("Intel IMSM RAID member (its arrays need mdadm with mdmon)"),
            "{err}"
        );
        let e = &kv_blocks(fx[7].2)[0];
        let (spec, _) = BootSpec::parse(&format!(
            "root=LABEL={} resume=UUID={}",
            e["LABEL"], e["UUID"]
        ));
        let err = resolve_root(&g, spec.root.as_ref().unwrap()).unwrap_err();
        assert!(err.contains("a hibernation image in swap space"), "{err}");
        assert_eq!(
            resolve_resume(&g, spec.resume.as_ref().unwrap()),
            node("swsuspend")
        );
        for p in paths {
            std::fs::remove_file(p).unwrap();
        }
    }

    /// The kernel's partition of an IMSM member (the array's own table, as the first member
    /// shows it) holds ext4: it is not read, so root= never mounts one RAID member's copy.
    #[test]
    fn partitions_of_a_container_are_not_read() {
        let (root, inputs) = live_tree(&[(
            "vda",
            "254:0",
            include_bytes!("../../tests/fixtures/fs/imsm/disk.spr"),
        )]);
        let ext4 =
            SparseDev::parse(include_bytes!("../../tests/fixtures/fs/ext4/disk.spr")).unwrap();
        let p1 = root.join("sys/devices/pci0000:00/virtio/block/vda/vda1");
        std::fs::create_dir_all(&p1).unwrap();
        for (f, v) in [("dev", "254:1"), ("partition", "1"), ("start", "2048")] {
            std::fs::write(p1.join(f), format!("{v}\n")).unwrap();
        }
        std::fs::write(p1.join("size"), format!("{}\n", ext4.size() / 512)).unwrap();
        std::os::unix::fs::symlink(&p1, root.join("sys/class/block/vda1")).unwrap();
        let mut buf = vec![0u8; usize::try_from(ext4.size()).unwrap()];
        ext4.read_exact_at(0, &mut buf).unwrap();
        std::fs::write(root.join("dev/vda1"), &buf).unwrap();
        let g = engine::discover(&inputs, Settings::default());
        let i = (0..g.nodes.len())
            .find(|&i| g.node(i).name == "vda1")
            .expect("vda1 seen");
        assert!(
            matches!(g.node(i).content, Content::Unknown),
            "{:?}",
            g.node(i).content
        );
        assert!(g.node(i).warnings[0]
            .to_string()
            .contains("a partition of vda, which is an Intel IMSM RAID member"));
        let (spec, _) = BootSpec::parse("root=UUID=0f3e2d1c-0000-4000-8000-000000000004");
        assert_eq!(resolve_root(&g, spec.root.as_ref().unwrap()), Ok(None));
        std::fs::remove_dir_all(root).unwrap();
    }
}
